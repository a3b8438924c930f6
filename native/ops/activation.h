// Dispatch of the activation ops (GELU, tanh approximation) to the CPU or CUDA kernels.
#pragma once
#include "../core/tensor.h"

namespace glm {

// out = gelu(inp); out has inp's shape and may be inp itself.
void geluOp(const TensorRef& out, const TensorRef& inp);
// dinp = dout · gelu'(inp); all three have one shape; dinp may be dout itself.
void geluBackwardOp(const TensorRef& dinp, const TensorRef& dout, const TensorRef& inp);

}  // namespace glm
