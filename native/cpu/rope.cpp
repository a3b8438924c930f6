// CPU rotary position embedding (see rope.h). First a [T, D/2] table of cos and sin in double,
// rounded to f32 (T·D/2 sincos per call, shared by all B·H rows); then one memory-bound pass over the
// rows, split across the pool, vectorised over i with the vector types of simd_f32.h.
#include "rope.h"

#include <algorithm>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/error.h"
#include "../core/threadpool.h"
#include "simd_f32.h"

namespace glm::cpu {
namespace {

using simd::VecAvx2;
using simd::VecAvx512;
using simd::VecScalar;

// Rows [r0, r1) of (rows, D); row r sits at t = r % seqLen. cs holds cos then sin, half values each,
// per t.
template <typename V, typename T>
inline void ropeRows(T* out, const T* inp, int64_t r0, int64_t r1, int64_t seqLen, int64_t D, const float* cs) {
  constexpr int L = V::kLanes;
  const int64_t half = D / 2;
  for (int64_t r = r0; r < r1; r++) {
    const T* x = inp + r * D;
    T* y = out + r * D;
    const float* c = cs + (r % seqLen) * D;
    const float* s = c + half;
    int64_t i = 0;
    for (; i + L <= half; i += L) {
      const V x1 = V::load(x + i), x2 = V::load(x + half + i), cv = V::load(c + i), sv = V::load(s + i);
      (x1 * cv - x2 * sv).store(y + i);
      (x2 * cv + x1 * sv).store(y + half + i);
    }
    if (i < half) {
      const int n = int(half - i);
      const V x1 = V::loadPartial(x + i, n, 0.0f), x2 = V::loadPartial(x + half + i, n, 0.0f);
      const V cv = V::loadPartial(c + i, n, 0.0f), sv = V::loadPartial(s + i, n, 0.0f);
      (x1 * cv - x2 * sv).storePartial(y + i, n);
      (x2 * cv + x1 * sv).storePartial(y + half + i, n);
    }
  }
}

template <typename T>
GLM_SIMD_ENTRY_AVX512 void ropeRows512(T* out, const T* inp, int64_t r0, int64_t r1, int64_t seqLen, int64_t D,
                                       const float* cs) {
  ropeRows<VecAvx512>(out, inp, r0, r1, seqLen, D, cs);
}

template <typename T>
GLM_SIMD_ENTRY_AVX2 void ropeRows256(T* out, const T* inp, int64_t r0, int64_t r1, int64_t seqLen, int64_t D,
                                     const float* cs) {
  ropeRows<VecAvx2>(out, inp, r0, r1, seqLen, D, cs);
}

}  // namespace

template <typename T>
void ropeForward(T* out, const T* inp, int64_t BH, int64_t seqLen, int64_t D, const RopeFrequencies& freqs,
                 int64_t positionOffset, bool inverse) {
  const int64_t half = D / 2;
  std::vector<float> table(size_t(seqLen * D));
  float* cs = table.data();
  const double sign = inverse ? -1.0 : 1.0;
  parallelFor(seqLen, std::max<int64_t>(1, 2048 / half), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++)
      for (int64_t i = 0; i < half; i++) {
        const double angle = double(positionOffset + t) * freqs.theta[i];
        cs[t * D + i] = float(std::cos(angle));
        cs[t * D + half + i] = float(sign * std::sin(angle));
      }
  });
  const int level = cpuLevel();
  parallelFor(BH * seqLen, std::max<int64_t>(1, 16384 / D), [&](int64_t r0, int64_t r1) {
    if (level >= 2) ropeRows512(out, inp, r0, r1, seqLen, D, cs);
    else if (level == 1) ropeRows256(out, inp, r0, r1, seqLen, D, cs);
    else ropeRows<VecScalar>(out, inp, r0, r1, seqLen, D, cs);
  });
}

template <typename T>
void ropeForwardAt(T* out, const T* inp, int64_t B, int64_t H, int64_t seqLen, int64_t D, const RopeFrequencies& freqs,
                   const int32_t* positions) {
  for (int64_t b = 0; b < B; b++)
    GLM_REQUIRE(positions[b] >= 0 && int64_t(positions[b]) + seqLen - 1 <= kRopeMaxPosition, "rope",
                "positions[" << b << "] = " << positions[b] << ": expected >= 0 with position + T - 1 < 2^31 (T " << seqLen << ")");
  // Each batch item is a rope of its own H rows at its own offset.
  const int64_t rows = H * seqLen * D;
  for (int64_t b = 0; b < B; b++) ropeForward(out + b * rows, inp + b * rows, H, seqLen, D, freqs, positions[b], false);
}

template void ropeForward<float>(float*, const float*, int64_t, int64_t, int64_t, const RopeFrequencies&, int64_t, bool);
template void ropeForward<bf16>(bf16*, const bf16*, int64_t, int64_t, int64_t, const RopeFrequencies&, int64_t, bool);
template void ropeForwardAt<float>(float*, const float*, int64_t, int64_t, int64_t, int64_t, const RopeFrequencies&,
                                   const int32_t*);
template void ropeForwardAt<bf16>(bf16*, const bf16*, int64_t, int64_t, int64_t, int64_t, const RopeFrequencies&,
                                  const int32_t*);

}  // namespace glm::cpu
