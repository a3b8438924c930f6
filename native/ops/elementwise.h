// Elementwise ops and reductions: add, mul, scale, sums. Outputs first, then inputs.
#pragma once
#include "../core/tensor.h"

namespace glm {

// out = a + beta * b; b's shape equals a's or is a suffix of it (broadcast over leading dims).
// out may be a or b itself (in place).
void addOp(const TensorRef& out, const TensorRef& a, const TensorRef& b, float beta);
// out = a * b with the same broadcasting as addOp.
void mulOp(const TensorRef& out, const TensorRef& a, const TensorRef& b);
// out = s * a
void scaleOp(const TensorRef& out, const TensorRef& a, float s);
// out (suffix shape of a) = beta * out + alpha * (a summed over its leading dims)
void sumRowsOp(const TensorRef& out, const TensorRef& a, float alpha, float beta);
// out (f32 scalar, shape []) = s * sum(a)
void sumAllOp(const TensorRef& out, const TensorRef& a, float s);
// out = s * g where g is an f32 scalar tensor (the backward of sum/mean)
void broadcastScalarOp(const TensorRef& out, const TensorRef& g, float s);

}  // namespace glm
