// GELU (tanh approximation) and the exp it rests on, for one SIMD register at a time: AVX-512,
// AVX2+FMA and scalar. Shared by the standalone GELU kernels (activation.cpp) and the GEMM epilogue
// (gemm_avx512.cpp, gemm_avx2.cpp), so both round the same way.
//
// GELU is evaluated as a sigmoid rather than through tanh, which is the same function:
//   0.5·x·(1 + tanh(u)) = x·σ(2u),  u = √(2/π)·(x + 0.044715·x³),  σ(z) = 1 / (1 + e^(−z)),
// because 1 + tanh(u) cancels catastrophically for u ≪ 0 while x·σ(2u) keeps full relative accuracy
// everywhere. The derivative reuses s = σ(2u) and 1 − s = e^(−2u)·s (again free of cancellation):
//   gelu'(x) = s + 2·x·s·(1 − s)·u'(x),  u'(x) = √(2/π)·(1 + 3·0.044715·x²).
// The exponent −2u is clamped to ±80 so that e^(−2u) and 1/(1 + e^(−2u)) stay finite and normal;
// that changes gelu(x) only where |gelu(x) − max(x, 0)| < 1e-34·|x|.
//
// exp is Cephes' expf scheme: n = round(x·log2 e), r = x − n·ln 2 (in two parts), e^r by a
// degree-7 polynomial (1 + r + r²·P5(r)), times 2^n; about 1 ulp on the clamped range.
#pragma once
#include <immintrin.h>

#include <cmath>

#define GLM_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define GLM_TARGET_AVX2 __attribute__((target("avx2,fma")))

namespace glm::cpu::simd {

constexpr float kGeluC = 0.7978845608028654f;   // √(2/π)
constexpr float kGeluA = 0.044715f;
constexpr float kExpClamp = 80.0f;
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f;           // ln 2 split so that n·kLn2Hi is exact
constexpr float kLn2Lo = -2.12194440e-4f;
constexpr float kExpP0 = 1.9875691500e-4f, kExpP1 = 1.3981999507e-3f, kExpP2 = 8.3334519073e-3f,
                kExpP3 = 4.1665795894e-2f, kExpP4 = 1.6666665459e-1f, kExpP5 = 5.0000001201e-1f;

// ---- scalar ----

inline float geluScalar(float x) {
  const float u = kGeluC * (x + kGeluA * x * x * x);
  const float z = std::fmin(std::fmax(-2.0f * u, -kExpClamp), kExpClamp);
  return x / (1.0f + std::exp(z));
}

inline float geluGradScalar(float x) {
  const float u = kGeluC * (x + kGeluA * x * x * x);
  const float z = std::fmin(std::fmax(-2.0f * u, -kExpClamp), kExpClamp);
  const float e = std::exp(z);
  const float s = 1.0f / (1.0f + e);
  const float du = kGeluC * (1.0f + 3.0f * kGeluA * x * x);
  return s + 2.0f * x * s * (e * s) * du;
}

// ---- AVX-512 ----

// e^x for x already clamped to ±kExpClamp.
GLM_TARGET_AVX512 inline __m512 exp512(__m512 x) {
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kExpP0);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP1));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP2));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP3));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP4));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP5));
  const __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

// 1/d to ~2^-28 relative: the 14-bit estimate and one Newton step (d in [1, e^80]).
GLM_TARGET_AVX512 inline __m512 recip512(__m512 d) {
  const __m512 r = _mm512_rcp14_ps(d);
  return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
}

// e = e^(−2u(x)) and s = σ(2u(x)).
GLM_TARGET_AVX512 inline void geluParts512(__m512 x, __m512* e, __m512* s) {
  const __m512 x2 = _mm512_mul_ps(x, x);
  const __m512 inner = _mm512_fmadd_ps(_mm512_set1_ps(kGeluA), x2, _mm512_set1_ps(1.0f));
  __m512 z = _mm512_mul_ps(_mm512_mul_ps(x, inner), _mm512_set1_ps(-2.0f * kGeluC));
  z = _mm512_min_ps(_mm512_max_ps(z, _mm512_set1_ps(-kExpClamp)), _mm512_set1_ps(kExpClamp));
  *e = exp512(z);
  *s = recip512(_mm512_add_ps(*e, _mm512_set1_ps(1.0f)));
}

GLM_TARGET_AVX512 inline __m512 gelu512(__m512 x) {
  __m512 e, s;
  geluParts512(x, &e, &s);
  return _mm512_mul_ps(x, s);
}

GLM_TARGET_AVX512 inline __m512 geluGrad512(__m512 x) {
  __m512 e, s;
  geluParts512(x, &e, &s);
  const __m512 du = _mm512_fmadd_ps(_mm512_set1_ps(3.0f * kGeluA * kGeluC), _mm512_mul_ps(x, x),
                                    _mm512_set1_ps(kGeluC));
  // s + 2·x·s·(e·s)·du
  const __m512 t = _mm512_mul_ps(_mm512_mul_ps(x, s), _mm512_mul_ps(_mm512_mul_ps(e, s), du));
  return _mm512_fmadd_ps(t, _mm512_set1_ps(2.0f), s);
}

// ---- AVX2 + FMA ----

GLM_TARGET_AVX2 inline __m256 exp256(__m256 x) {
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kExpP0);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP1));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP2));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP3));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP4));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP5));
  const __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n built in the exponent field; |n| <= 116 on the clamped range, so it is a normal number.
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

GLM_TARGET_AVX2 inline __m256 recip256(__m256 d) {
  // The 12-bit estimate needs two Newton steps for ~2^-23.
  __m256 r = _mm256_rcp_ps(d);
  r = _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.0f)));
  return _mm256_mul_ps(r, _mm256_fnmadd_ps(d, r, _mm256_set1_ps(2.0f)));
}

GLM_TARGET_AVX2 inline void geluParts256(__m256 x, __m256* e, __m256* s) {
  const __m256 x2 = _mm256_mul_ps(x, x);
  const __m256 inner = _mm256_fmadd_ps(_mm256_set1_ps(kGeluA), x2, _mm256_set1_ps(1.0f));
  __m256 z = _mm256_mul_ps(_mm256_mul_ps(x, inner), _mm256_set1_ps(-2.0f * kGeluC));
  z = _mm256_min_ps(_mm256_max_ps(z, _mm256_set1_ps(-kExpClamp)), _mm256_set1_ps(kExpClamp));
  *e = exp256(z);
  *s = recip256(_mm256_add_ps(*e, _mm256_set1_ps(1.0f)));
}

GLM_TARGET_AVX2 inline __m256 gelu256(__m256 x) {
  __m256 e, s;
  geluParts256(x, &e, &s);
  return _mm256_mul_ps(x, s);
}

GLM_TARGET_AVX2 inline __m256 geluGrad256(__m256 x) {
  __m256 e, s;
  geluParts256(x, &e, &s);
  const __m256 du = _mm256_fmadd_ps(_mm256_set1_ps(3.0f * kGeluA * kGeluC), _mm256_mul_ps(x, x),
                                    _mm256_set1_ps(kGeluC));
  const __m256 t = _mm256_mul_ps(_mm256_mul_ps(x, s), _mm256_mul_ps(_mm256_mul_ps(e, s), du));
  return _mm256_fmadd_ps(t, _mm256_set1_ps(2.0f), s);
}

}  // namespace glm::cpu::simd
