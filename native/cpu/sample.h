// Token sampling from logits (one token per row), and the rules that define it. The CPU kernel, the
// CUDA kernel (native/cuda/sample.cu) and the TypeScript reference (test/reference/sample.ts) all
// follow this one definition. Per row b of logits (B, V), in this order (Hugging Face's):
//
//   1. x[v] = f32(logits[b, v]) + bias[v]                 (bias (V) or (B, V), optional); NaN -> -inf
//   2. penalties, for every token v occurring c > 0 times in history[b, :] (ids, -1 = padding):
//        repetition (HF/CTRL):  x = x > 0 ? x / rep : x · rep
//        frequency, presence (OpenAI):  x = x − (freq · c + presence)
//      (each an f32 operation; rep = 1, freq = presence = 0 leave x as it is)
//   3. temperature 0: the token is argmax x, ties to the lowest id. Steps 4-6 are skipped.
//   4. w[v] = x[v] == m ? 1 : exp((x[v] − m) / T)   with m = max x (f32; so w of the top token is 1)
//   5. filters, all over the order "x descending, then id ascending" (the 64-bit key below); each
//      keeps a prefix of that order, so together they keep the shortest of the prefixes:
//        top-k (k > 0):   the first k tokens
//        top-p (p < 1):   the shortest prefix of the top-k set whose mass reaches p · (mass of the top-k set)
//        min-p (q > 0):   tokens with w >= q (i.e. prob >= q · pmax)
//      The top token always survives.
//   6. sample: u in [0, 1) from Philox (below); with the kept tokens in id order and W their total
//      mass, the token is the first kept v whose cumulative mass exceeds u · W (the last kept token
//      if rounding leaves none).
//
// Sums are in double of f32 weights. Paths differ only in the order of those sums (the CPU sums in
// id order and selects top-p by a weighted quickselect; CUDA uses block-wide tree sums and a block
// scan) and in exp's last bit, so CPU and CUDA pick the same token for the same uniform except where
// u · W or the top-p target falls within rounding of a cumulative sum.
//
//   uniform of row b:  Philox-4x32-10 (native/cpu/dropout.h) of counter words
//                      (lo32(offset), hi32(offset), b, 0x73616D70 "samp") under key (lo32(seed), hi32(seed));
//                      u = (w0 · 2^21 + (w1 >> 11)) · 2^-53   (53 random bits)
//   (the fourth word keeps these streams apart from dropout's, whose counter words 2 and 3 are 0)
#pragma once
#include <cstdint>
#include <cstring>

#include "../core/dtype.h"
#include "dropout.h"

#if defined(__CUDACC__)
#define GLM_SAMPLE_HD __host__ __device__ __forceinline__
#else
#define GLM_SAMPLE_HD inline
#endif

namespace glm {

constexpr uint32_t kSampleStreamTag = 0x73616D70u;

struct SampleParams {
  float temperature;        // 0: greedy
  int64_t topK;             // 0: off
  float topP;               // 1: off
  float minP;               // 0: off
  float repetitionPenalty;  // 1: off
  float frequencyPenalty;   // 0: off
  float presencePenalty;    // 0: off
  uint64_t seed;
  uint64_t offset;
};

GLM_SAMPLE_HD double sampleUniform(uint64_t seed, uint64_t offset, uint32_t row) {
  const Philox4 r = philox4x32_10(uint32_t(offset), uint32_t(offset >> 32), row, kSampleStreamTag, uint32_t(seed),
                                  uint32_t(seed >> 32));
  const uint64_t bits = (uint64_t(r.v[0]) << 21) | uint64_t(r.v[1] >> 11);
  return double(bits) * (1.0 / 9007199254740992.0);
}

// f32 bits mapped so that unsigned order is float order (-inf lowest, +inf highest).
GLM_SAMPLE_HD uint32_t orderedBits(float x) {
  uint32_t u;
#if defined(__CUDA_ARCH__)
  u = __float_as_uint(x);
#else
  std::memcpy(&u, &x, 4);
#endif
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

// The sort key of token v: larger = earlier (x descending, then id ascending). All keys differ.
GLM_SAMPLE_HD uint64_t sampleKey(float x, uint32_t v) {
  return (uint64_t(orderedBits(x)) << 32) | uint64_t(0xFFFFFFFFu - v);
}

// The repetition, frequency and presence penalties of a token seen `count` (> 0) times.
GLM_SAMPLE_HD float penalize(float x, int count, const SampleParams& p) {
  if (p.repetitionPenalty != 1.0f) x = x > 0.0f ? x / p.repetitionPenalty : x * p.repetitionPenalty;
  if (p.frequencyPenalty != 0.0f || p.presencePenalty != 0.0f)
    x = x - (p.frequencyPenalty * float(count) + p.presencePenalty);
  return x;
}

}  // namespace glm

namespace glm::cpu {

// out (B) = sampled token ids of logits (B, V) under params (see above). history: (B, L) ids in
// [-1, V) or null (L = 0); bias: (V) when biasRows == 1, (B, V) when biasRows == B, or null.
// An id outside [-1, V) in history is an error naming its index.
template <typename T>
void sampleTokens(int32_t* out, const T* logits, const int32_t* history, const float* bias, int64_t B, int64_t V,
                  int64_t L, int64_t biasRows, SampleParams params);

// out (B, V) = x after steps 1 and 2 (bias and penalties), in f32: what the filters see.
template <typename T>
void sampleLogits(float* out, const T* logits, const int32_t* history, const float* bias, int64_t B, int64_t V,
                  int64_t L, int64_t biasRows, SampleParams params);

}  // namespace glm::cpu
