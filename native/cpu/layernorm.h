// LayerNorm over the last dimension: out = (inp - mean) · rstd · weight + bias.
// inp, out, dout, dinp: (N, C); weight, bias, dweight, dbias: (C); mean, rstd: (N) f32 saved for backward.
// bias and dbias may be null; so may mean and rstd in the forward (inference). Gradient convention: dinp, dweight, dbias are assigned (=).
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cpu {

template <typename T>
void layernormForward(T* out, float* mean, float* rstd, const T* inp, const T* weight, const T* bias, int64_t N,
                      int64_t C, float eps);

template <typename T>
void layernormBackward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, const float* mean,
                       const float* rstd, int64_t N, int64_t C);

}  // namespace glm::cpu
