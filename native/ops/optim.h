// Optimizer ops: the fused multi-tensor AdamW step and the device-side global gradient norm used
// for clipping. Outputs (tensors updated in place) first, then inputs.
#pragma once
#include <optional>
#include <vector>

#include "../core/tensor.h"
#include "../cpu/optim.h"

namespace glm {

// One AdamW step over every tensor in one device op. params, ms, vs are f32; grads f32 or bf16;
// the four lists and weightDecays have the same length, and tensor k of each has params[k]'s shape.
// gradScale: optional f32 scalar on the same device that multiplies every gradient (the clipping
// coefficient from clipCoefficientOp).
void adamwStepOp(const std::vector<TensorRef>& params, const std::vector<TensorRef>& grads,
                 const std::vector<TensorRef>& ms, const std::vector<TensorRef>& vs,
                 const std::vector<float>& weightDecays, const AdamWParams& hp,
                 const std::optional<TensorRef>& gradScale);

// sumSq (f32 scalar) += Σ over xs of Σ x² (each x f32 or bf16, on sumSq's device).
void sumSquaresOp(const TensorRef& sumSq, const std::vector<TensorRef>& xs);

// norm (f32 scalar) = √sumSq; coef (f32 scalar) = min(1, maxNorm / (norm + 1e-6)).
void clipCoefficientOp(const TensorRef& norm, const TensorRef& coef, const TensorRef& sumSq, float maxNorm);

}  // namespace glm
