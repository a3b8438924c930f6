// Optimizer kernels: a fused AdamW step over many tensors at once, and the global gradient norm
// used for clipping, computed on the device so that clipping needs no round trip to JS.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm {

// One parameter tensor of an AdamW step. param, m, v are f32 (master weights and moments); grad is
// f32 or bf16 (gradType).
struct AdamWTensor {
  float* param;
  const void* grad;
  float* m;
  float* v;
  int64_t n;
  float weightDecay;  // decoupled: param -= lr · weightDecay · param (0 for biases, norms, embeddings)
  DType gradType;
};

struct AdamWParams {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  int64_t step = 1;  // 1-based, for bias correction
};

namespace cpu {

// For each tensor: g = grad · (gradScale ? *gradScale : 1); m = β1·m + (1-β1)·g; v = β2·v + (1-β2)·g²;
// param -= lr · (m̂ / (√v̂ + eps) + weightDecay · param), with m̂ = m/(1-β1^step), v̂ = v/(1-β2^step).
// gradScale (1) f32, optional: the clipping coefficient computed by clipCoefficient.
void adamwStep(const AdamWTensor* tensors, int count, const AdamWParams& p, const float* gradScale);

// sumSq (1) f32 += Σ x² over x (n) (accumulated in double inside).
template <typename T> void sumSquares(float* sumSq, const T* x, int64_t n);

// norm (1) = √sumSq; coef (1) = min(1, maxNorm / (norm + 1e-6)).
void clipCoefficient(float* norm, float* coef, const float* sumSq, float maxNorm);

}  // namespace cpu
}  // namespace glm
