// Every device is a stream: ops are submitted in order and run later, so JS never waits on compute
// unless it reads a result. The CPU stream is one native worker thread (which fans out over the
// thread pool); a CUDA stream launches at submit time onto a cudaStream_t.
//
// Errors found while an op runs (an out-of-range token id, say) are deferred as on CUDA: the first one
// is kept, later work is skipped, and the next synchronisation point (a read, synchronize) reports it
// and clears it.
#pragma once
#include <functional>
#include <string>

#include "device.h"

namespace glm {

class Stream {
 public:
  virtual ~Stream() = default;
  // Queues `work`; `op` names it in error messages.
  virtual void submit(const char* op, std::function<void()> work) = 0;
  // Blocks until everything submitted has run; throws the deferred error, if any.
  virtual void synchronize() = 0;
  // Calls done(error) from some thread once everything submitted before has run; error is empty
  // on success. The deferred error is handed to done and cleared.
  virtual void whenDone(std::function<void(const std::string& error)> done) = 0;
  // Stops worker threads at process exit (pending work is finished first).
  virtual void shutdown() = 0;
};

// The stream of a device, created on first use.
Stream& streamFor(Device device);
// Synchronises every stream that exists (used before changing the thread pool, and at exit).
void synchronizeAll();
void shutdownAll();

}  // namespace glm
