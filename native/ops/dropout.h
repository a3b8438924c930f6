// Dispatch of dropout (a counter-based Philox mask, see native/cpu/dropout.h) to the CPU or CUDA kernel.
#pragma once
#include <cstdint>

#include "../core/tensor.h"

namespace glm {

// out = dropout(inp) with drop probability p in [0, 1) and the mask of (seed, offset .. offset + n − 1);
// seed < 2^53 and offset + n <= 2^53. out has inp's shape and may be inp itself.
// The backward is the same op applied to dout. `op` names the caller in errors.
void dropoutOp(const char* op, const TensorRef& out, const TensorRef& inp, double p, uint64_t seed, uint64_t offset);

}  // namespace glm
