// Op graphs: the ops one piece of host code submits to a device's stream, recorded once and replayed
// as a unit. A decode step submits ~200 small ops; recorded, a replay costs the JS thread one call
// instead of ~200 (which on a 2-core machine took one of the cores the step's GEMMs want).
//
// A recorded op is a copy of the work the op submitted, holding the same tensors (so every buffer
// the graph reads or writes stays allocated, at the same address, for the graph's lifetime) and
// the same scalar arguments. A replay therefore computes what the captured pass computed, on
// whatever those buffers then hold: inputs that change from one replay to the next must be device
// tensors the graph reads (written before the replay with the stream-ordered `upload`), never
// host numbers baked into an op. Host data uploaded while capturing (Tensor.from) is a constant of
// the graph. Reads are not recorded.
//
// The graph is a list in submission order, not a DAG: the streams are in-order queues already.
// On the CPU a replay is one task on the stream worker; on CUDA the ops are launched again in
// order (real CUDA graphs, cudaGraphLaunch, would also save the launch overhead; later).
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "device.h"

namespace glm {

struct RecordedOp {
  const char* op;
  std::function<void()> work;
};

struct OpGraph {
  Device device;
  std::vector<RecordedOp> ops;
};

}  // namespace glm
