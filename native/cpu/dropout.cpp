// CPU dropout (see dropout.h): one pass over the tensor, split across the pool. The AVX2 path (also
// taken at the AVX-512 level) runs eight Philox blocks side by side, one per 32-bit lane, so 32
// elements per step; the scalar path and the ragged ends take one block per four elements. Both give
// the same bits, which the tests check against the TypeScript reference at every CPU level.
#include "dropout.h"

#include <immintrin.h>

#include <algorithm>

#include "../core/cpu_features.h"
#include "../core/threadpool.h"
#include "vec_io.h"

namespace glm::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

// Elements [b, e) one Philox block at a time.
template <typename T>
void dropoutRangeScalar(T* out, const T* inp, int64_t b, int64_t e, uint64_t seed, uint64_t offset, DropoutParams prm) {
  int64_t i = b;
  while (i < e) {
    const uint64_t c = offset + uint64_t(i);
    const Philox4 r = dropoutBlock(seed, c >> 2);
    for (int w = int(c & 3); w < 4 && i < e; w++, i++)
      out[i] = r.v[w] >= prm.threshold ? fromF32<T>(toF32(inp[i]) * prm.scale) : fromF32<T>(0.0f);
  }
}

// Lane-wise 32×32-bit products of a and the constant m: the low and high halves.
GLM_TARGET_AVX2 inline void mulhilo8(__m256i a, __m256i m, __m256i* lo, __m256i* hi) {
  const __m256i even = _mm256_mul_epu32(a, m);                        // products of lanes 0, 2, 4, 6
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);  // lanes 1, 3, 5, 7
  *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  *hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

template <typename T>
GLM_TARGET_AVX2 void dropoutRange256(T* out, const T* inp, int64_t b, int64_t e, uint64_t seed, uint64_t offset,
                                     DropoutParams prm) {
  // Up to the first counter that starts a block, so that each step covers eight whole blocks.
  int64_t i = b;
  const int64_t head = std::min<int64_t>(e - b, int64_t((4 - ((offset + uint64_t(b)) & 3)) & 3));
  dropoutRangeScalar(out, inp, i, i + head, seed, offset, prm);
  i += head;

  uint32_t k0[10], k1[10];  // the round keys
  k0[0] = uint32_t(seed);
  k1[0] = uint32_t(seed >> 32);
  for (int r = 1; r < 10; r++) {
    k0[r] = k0[r - 1] + kPhiloxW0;
    k1[r] = k1[r - 1] + kPhiloxW1;
  }
  const __m256i m0 = _mm256_set1_epi32(int(kPhiloxM0)), m1 = _mm256_set1_epi32(int(kPhiloxM1));
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i signBit = _mm256_set1_epi32(int(0x80000000u));
  const __m256i thr = _mm256_set1_epi32(int(prm.threshold));
  const __m256 scale = _mm256_set1_ps(prm.scale);

  for (; i + 32 <= e; i += 32) {
    const uint64_t block = (offset + uint64_t(i)) >> 2;
    // Counters block + lane, carrying into the high word where the low one wraps.
    const __m256i lo0 = _mm256_set1_epi32(int(uint32_t(block)));
    __m256i c0 = _mm256_add_epi32(lo0, lanes);
    const __m256i wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(lo0, signBit), _mm256_xor_si256(c0, signBit));
    __m256i c1 = _mm256_sub_epi32(_mm256_set1_epi32(int(uint32_t(block >> 32))), wrapped);
    __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
    for (int r = 0; r < 10; r++) {
      __m256i lo0r, hi0r, lo1r, hi1r;
      mulhilo8(c0, m0, &lo0r, &hi0r);
      mulhilo8(c2, m1, &lo1r, &hi1r);
      c0 = _mm256_xor_si256(_mm256_xor_si256(hi1r, c1), _mm256_set1_epi32(int(k0[r])));
      c2 = _mm256_xor_si256(_mm256_xor_si256(hi0r, c3), _mm256_set1_epi32(int(k1[r])));
      c1 = lo1r;
      c3 = lo0r;
    }
    // keep = word >= threshold (unsigned), per word; then from (word, block) order to element order.
    const __m256i w0 = _mm256_cmpeq_epi32(_mm256_max_epu32(c0, thr), c0);
    const __m256i w1 = _mm256_cmpeq_epi32(_mm256_max_epu32(c1, thr), c1);
    const __m256i w2 = _mm256_cmpeq_epi32(_mm256_max_epu32(c2, thr), c2);
    const __m256i w3 = _mm256_cmpeq_epi32(_mm256_max_epu32(c3, thr), c3);
    const __m256i t0 = _mm256_unpacklo_epi32(w0, w1), t1 = _mm256_unpackhi_epi32(w0, w1);
    const __m256i t2 = _mm256_unpacklo_epi32(w2, w3), t3 = _mm256_unpackhi_epi32(w2, w3);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2);  // blocks 0 | 4
    const __m256i u1 = _mm256_unpackhi_epi64(t0, t2);  // blocks 1 | 5
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3);  // blocks 2 | 6
    const __m256i u3 = _mm256_unpackhi_epi64(t1, t3);  // blocks 3 | 7
    const __m256i keep[4] = {_mm256_permute2x128_si256(u0, u1, 0x20), _mm256_permute2x128_si256(u2, u3, 0x20),
                             _mm256_permute2x128_si256(u0, u1, 0x31), _mm256_permute2x128_si256(u2, u3, 0x31)};
    for (int g = 0; g < 4; g++) {
      const __m256 x = simd::load8(inp + i + 8 * g);
      simd::store8(out + i + 8 * g, _mm256_and_ps(_mm256_mul_ps(x, scale), _mm256_castsi256_ps(keep[g])));
    }
  }
  dropoutRangeScalar(out, inp, i, e, seed, offset, prm);
}

}  // namespace

template <typename T>
void dropoutForward(T* out, const T* inp, int64_t n, uint64_t seed, uint64_t offset, DropoutParams params) {
  const int level = cpuLevel();
  parallelFor(n, kGrain, [=](int64_t b, int64_t e) {
    if (level >= 1) dropoutRange256(out, inp, b, e, seed, offset, params);
    else dropoutRangeScalar(out, inp, b, e, seed, offset, params);
  });
}

template void dropoutForward<float>(float*, const float*, int64_t, uint64_t, uint64_t, DropoutParams);
template void dropoutForward<bf16>(bf16*, const bf16*, int64_t, uint64_t, uint64_t, DropoutParams);

}  // namespace glm::cpu
