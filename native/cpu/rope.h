// Rotary position embedding in the GPT-NeoX / Hugging Face Llama "rotate_half" convention: in each
// row of D values, the pair (i, i + D/2) for i < D/2 is rotated by the angle pos · theta_i, with
//   theta_i = base^(−2i/D),  pos = positionOffset + t  (t the row's index along T),
//   out[i]       = x[i]·cos − x[i + D/2]·sin
//   out[i + D/2] = x[i + D/2]·cos + x[i]·sin.
// The backward is the rotation by −angle (the exact transpose), the same kernel with `inverse`.
//
// Precision: theta_i, the angle and its cos/sin are computed in double (on the CPU once per call
// into a [T, D/2] table; on CUDA per (t, i) by the thread that applies it to many rows), then
// rounded to f32, so a position of 10^6 loses nothing to the f32 rounding of pos · theta that an
// all-f32 table suffers (Hugging Face computes its table in f32). The rotation itself runs in f32.
#pragma once
#include <cmath>
#include <cstdint>

#include "../core/dtype.h"

namespace glm {

constexpr int kRopeMaxHeadDim = 256;
// Positions (positionOffset + t) stay below 2^31.
constexpr int64_t kRopeMaxPosition = (int64_t(1) << 31) - 1;

// The inverse frequencies theta_i = base^(−2i/D), i < D/2, in double; the CPU and CUDA kernels both
// take them from here, so they agree bit for bit.
struct RopeFrequencies {
  double theta[kRopeMaxHeadDim / 2];
};

inline RopeFrequencies ropeFrequencies(int64_t D, double base) {
  RopeFrequencies f{};
  for (int64_t i = 0; i < D / 2; i++) f.theta[i] = std::pow(base, -2.0 * double(i) / double(D));
  return f;
}

}  // namespace glm

namespace glm::cpu {

// out (B·H, T, D) = rope(inp (B·H, T, D)) at positions positionOffset + t; D even, 2..256. With
// `inverse` the rotation is by −angle (the backward: dinp from dout). out may alias inp.
template <typename T>
void ropeForward(T* out, const T* inp, int64_t BH, int64_t seqLen, int64_t D, const RopeFrequencies& freqs,
                 int64_t positionOffset, bool inverse);
// The same for x [B, H, T, D] (B·H = BH) with row t of batch item b at positions[b] + t, positions an
// i32 array of B values read here (a decode step's cache lengths on the device). Throws, before
// writing anything, unless every positions[b] >= 0 with positions[b] + T - 1 < 2^31.
template <typename T>
void ropeForwardAt(T* out, const T* inp, int64_t B, int64_t H, int64_t seqLen, int64_t D, const RopeFrequencies& freqs,
                   const int32_t* positions);

}  // namespace glm::cpu
