// Dropout with a counter-based mask, and the random bits that define the mask. The bits are part of
// the contract: the CPU and CUDA kernels (native/cuda/dropout.cu) and the TypeScript reference
// (test/reference/dropout.ts) all compute them from this one definition, so a mask is a function of
// (seed, counter) alone. The backward recomputes it from (seed, offset) instead of saving it.
//
//   counter of element j:   c = offset + j                      (64-bit)
//   random word of c:       Philox-4x32-10 (Salmon et al., SC'11; Random123's constants) with
//                           counter words (lo32(c >> 2), hi32(c >> 2), 0, 0) and key (lo32(seed),
//                           hi32(seed)); word c & 3 of its four outputs
//   kept:                   word >= threshold,  threshold = floor(p · 2^32)
//   out[j]:                 kept ? x[j] · scale : 0,  scale = f32(1 / (1 − p))
//
// So four consecutive counters share one Philox block, and a call at offset o + n continues the
// stream of a call of n elements at offset o. A dropped element is exactly 0 (a select, not x · 0),
// even where x is infinite or NaN.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

#if defined(__CUDACC__)
#define GLM_DROPOUT_HD __host__ __device__ __forceinline__
#else
#define GLM_DROPOUT_HD inline
#endif

namespace glm {

constexpr uint32_t kPhiloxM0 = 0xD2511F53u, kPhiloxM1 = 0xCD9E8D57u;  // round multipliers
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u, kPhiloxW1 = 0xBB67AE85u;  // key increments (Weyl)

struct Philox4 {
  uint32_t v[4];
};

// Philox-4x32 with 10 rounds of counter (c0, c1, c2, c3) under key (k0, k1).
GLM_DROPOUT_HD Philox4 philox4x32_10(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1) {
  for (int round = 0; round < 10; round++) {
    if (round > 0) {
      k0 += kPhiloxW0;
      k1 += kPhiloxW1;
    }
    const uint64_t p0 = uint64_t(kPhiloxM0) * c0, p1 = uint64_t(kPhiloxM1) * c2;
    const uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0, n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c1 = uint32_t(p1);
    c3 = uint32_t(p0);
    c0 = n0;
    c2 = n2;
  }
  return Philox4{{c0, c1, c2, c3}};
}

// The four random words of counters 4·block .. 4·block + 3.
GLM_DROPOUT_HD Philox4 dropoutBlock(uint64_t seed, uint64_t block) {
  return philox4x32_10(uint32_t(block), uint32_t(block >> 32), 0u, 0u, uint32_t(seed), uint32_t(seed >> 32));
}

// Largest seed and counter the ops accept: 2^53 − 1, so both travel from JavaScript exactly.
constexpr uint64_t kDropoutMaxCounter = (uint64_t(1) << 53) - 1;

struct DropoutParams {
  uint32_t threshold;  // a word below it drops its element
  float scale;         // 1 / (1 − p), rounded to f32
};

// p in [0, 1).
inline DropoutParams dropoutParams(double p) {
  const double t = p * 4294967296.0;  // exact (a power-of-two scaling), < 2^32
  return DropoutParams{uint32_t(t), float(1.0 / (1.0 - p))};
}

}  // namespace glm

namespace glm::cpu {

// out (n) = dropout(inp (n)) for the counters offset .. offset + n − 1 (see above); out may alias
// inp. The backward is the same call on dout with the same seed, offset and params.
template <typename T>
void dropoutForward(T* out, const T* inp, int64_t n, uint64_t seed, uint64_t offset, DropoutParams params);

}  // namespace glm::cpu
