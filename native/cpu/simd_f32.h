// f32 SIMD vectors, one type per CPU level of core/cpu_features.h (VecAvx512: 16 lanes, VecAvx2: 8,
// VecScalar: 1), so that a kernel body is written once, as a template over the vector type, and
// compiled for every level while the file itself stays baseline x86-64.
//
// Use: write the body as a plain template over V (full vectors, then one loadPartial/storePartial
// for the tail; VecScalar never has a tail). Instantiate it inside an entry function marked
// GLM_SIMD_ENTRY_AVX512 or GLM_SIMD_ENTRY_AVX2: the entry carries the target attribute, and
// `flatten` inlines the body and the vector methods (which carry the same target) into it. Pick the
// entry at run time from cpuLevel(). Keep the entries free of heavy library calls (flatten inlines
// everything it can).
//
// Loads and stores take float or bf16 memory; bf16 is widened exactly and narrowed with
// round-to-nearest-even (NaN stays NaN), as f32ToBf16 does.
#pragma once
// GCC 12 reports -Wmaybe-uninitialized inside many AVX-512 intrinsics once inlined (their
// _mm512_undefined_* operands; GCC bug 105593): silence it for the intrinsics' own lines only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "../core/dtype.h"

#define GLM_SIMD_AVX512_TARGET "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"
#define GLM_SIMD_AVX2_TARGET "avx2,fma"
#define GLM_SIMD_ENTRY_AVX512 __attribute__((flatten, target(GLM_SIMD_AVX512_TARGET)))
#define GLM_SIMD_ENTRY_AVX2 __attribute__((flatten, target(GLM_SIMD_AVX2_TARGET)))
#define GLM_SIMD_AVX512 __attribute__((target(GLM_SIMD_AVX512_TARGET))) inline
#define GLM_SIMD_AVX2 __attribute__((target(GLM_SIMD_AVX2_TARGET))) inline

namespace glm::cpu::simd {

constexpr float kInf = std::numeric_limits<float>::infinity();

// Cephes expf on [-ln2/2, ln2/2] after the reduction x = n·ln2 + r (relative error ~1 ulp).
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kExpP0 = 1.9875691500e-4f, kExpP1 = 1.3981999507e-3f, kExpP2 = 8.3334519073e-3f,
                kExpP3 = 4.1665795894e-2f, kExpP4 = 1.6666665459e-1f, kExpP5 = 5.0000001201e-1f;

// ---------------------------------------------------------------------------------------------
struct VecScalar {
  static constexpr int kLanes = 1;
  float v;

  static VecScalar set1(float x) { return {x}; }
  static VecScalar zero() { return {0.0f}; }
  static VecScalar load(const float* p) { return {*p}; }
  static VecScalar load(const bf16* p) { return {bf16ToF32(p->bits)}; }
  template <typename T> static VecScalar loadPartial(const T* p, int, float) { return load(p); }
  void store(float* p) const { *p = v; }
  void store(bf16* p) const { p->bits = f32ToBf16(v); }
  template <typename T> void storePartial(T* p, int) const { store(p); }
  void stream(float* p) const { *p = v; }

  friend VecScalar operator+(VecScalar a, VecScalar b) { return {a.v + b.v}; }
  friend VecScalar operator-(VecScalar a, VecScalar b) { return {a.v - b.v}; }
  friend VecScalar operator*(VecScalar a, VecScalar b) { return {a.v * b.v}; }
  // a·b + c
  static VecScalar fma(VecScalar a, VecScalar b, VecScalar c) { return {a.v * b.v + c.v}; }
  static VecScalar max(VecScalar a, VecScalar b) { return {a.v > b.v ? a.v : b.v}; }
  static VecScalar exp(VecScalar a) { return {std::exp(a.v)}; }
  float hsum() const { return v; }
  float hmax() const { return v; }
};

// ---------------------------------------------------------------------------------------------
struct VecAvx2 {
  static constexpr int kLanes = 8;
  __m256 v;

  GLM_SIMD_AVX2 static VecAvx2 set1(float x) { return {_mm256_set1_ps(x)}; }
  GLM_SIMD_AVX2 static VecAvx2 zero() { return {_mm256_setzero_ps()}; }
  GLM_SIMD_AVX2 static VecAvx2 load(const float* p) { return {_mm256_loadu_ps(p)}; }
  GLM_SIMD_AVX2 static VecAvx2 load(const bf16* p) {
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return {_mm256_castsi256_ps(_mm256_slli_epi32(w, 16))};
  }
  // Lanes [0, n) set (n < 8): the mask of a partial load or store.
  GLM_SIMD_AVX2 static __m256i tailMask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  // The first n (< 8) elements; the other lanes hold `fill`. f32 uses a masked load: a scalar copy
  // through a stack buffer would stall on store forwarding (~15 cycles) at every row's tail.
  GLM_SIMD_AVX2 static VecAvx2 loadPartial(const float* p, int n, float fill) {
    const __m256i m = tailMask(n);
    return {_mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m))};
  }
  template <typename T> GLM_SIMD_AVX2 static VecAvx2 loadPartial(const T* p, int n, float fill) {
    T buf[kLanes];
    const T f = fromF32<T>(fill);
    for (int i = 0; i < kLanes; i++) buf[i] = i < n ? p[i] : f;
    return load(buf);
  }
  GLM_SIMD_AVX2 void store(float* p) const { _mm256_storeu_ps(p, v); }
  GLM_SIMD_AVX2 void store(bf16* p) const {
    const __m256i u = _mm256_castps_si256(v);
    const __m256i hi = _mm256_srli_epi32(u, 16);
    __m256i r = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), _mm256_and_si256(hi, _mm256_set1_epi32(1))));
    r = _mm256_srli_epi32(r, 16);
    const __m256i nan = _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q));
    r = _mm256_blendv_epi8(r, _mm256_or_si256(hi, _mm256_set1_epi32(0x40)), nan);
    const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), packed);
  }
  GLM_SIMD_AVX2 void storePartial(float* p, int n) const { _mm256_maskstore_ps(p, tailMask(n), v); }
  template <typename T> GLM_SIMD_AVX2 void storePartial(T* p, int n) const {
    T buf[kLanes];
    store(buf);
    for (int i = 0; i < n; i++) p[i] = buf[i];
  }
  // Non-temporal store; p must be 32-byte aligned.
  GLM_SIMD_AVX2 void stream(float* p) const { _mm256_stream_ps(p, v); }

  GLM_SIMD_AVX2 friend VecAvx2 operator+(VecAvx2 a, VecAvx2 b) { return {_mm256_add_ps(a.v, b.v)}; }
  GLM_SIMD_AVX2 friend VecAvx2 operator-(VecAvx2 a, VecAvx2 b) { return {_mm256_sub_ps(a.v, b.v)}; }
  GLM_SIMD_AVX2 friend VecAvx2 operator*(VecAvx2 a, VecAvx2 b) { return {_mm256_mul_ps(a.v, b.v)}; }
  GLM_SIMD_AVX2 static VecAvx2 fma(VecAvx2 a, VecAvx2 b, VecAvx2 c) { return {_mm256_fmadd_ps(a.v, b.v, c.v)}; }
  GLM_SIMD_AVX2 static VecAvx2 max(VecAvx2 a, VecAvx2 b) { return {_mm256_max_ps(a.v, b.v)}; }
  // exp(x) for x <= 88.3; 0 below -87.3 (where the f32 result would be denormal). NaN stays NaN.
  GLM_SIMD_AVX2 static VecAvx2 exp(VecAvx2 a) {
    const __m256 lo = _mm256_set1_ps(-87.3365478515625f);
    // max/min return their second operand when one is NaN: x second, so NaN propagates.
    __m256 x = _mm256_min_ps(_mm256_set1_ps(88.3762626647949f), _mm256_max_ps(lo, a.v));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
    __m256 p = _mm256_set1_ps(kExpP0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kExpP5));
    p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    const __m256 y = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return {_mm256_andnot_ps(_mm256_cmp_ps(a.v, lo, _CMP_LT_OQ), y)};
  }
  GLM_SIMD_AVX2 float hsum() const {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  GLM_SIMD_AVX2 float hmax() const {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

// ---------------------------------------------------------------------------------------------
struct VecAvx512 {
  static constexpr int kLanes = 16;
  __m512 v;

  GLM_SIMD_AVX512 static VecAvx512 set1(float x) { return {_mm512_set1_ps(x)}; }
  GLM_SIMD_AVX512 static VecAvx512 zero() { return {_mm512_setzero_ps()}; }
  GLM_SIMD_AVX512 static VecAvx512 load(const float* p) { return {_mm512_loadu_ps(p)}; }
  GLM_SIMD_AVX512 static VecAvx512 load(const bf16* p) {
    __m512i w = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    return {_mm512_castsi512_ps(_mm512_slli_epi32(w, 16))};
  }
  GLM_SIMD_AVX512 static __mmask16 tailMask(int n) { return static_cast<__mmask16>((1u << n) - 1u); }
  // The first n (< 16) elements; the other lanes hold `fill`.
  GLM_SIMD_AVX512 static VecAvx512 loadPartial(const float* p, int n, float fill) {
    return {_mm512_mask_loadu_ps(_mm512_set1_ps(fill), tailMask(n), p)};
  }
  GLM_SIMD_AVX512 static VecAvx512 loadPartial(const bf16* p, int n, float fill) {
    const __mmask16 m = tailMask(n);
    __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return {_mm512_mask_blend_ps(m, _mm512_set1_ps(fill), _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)))};
  }
  GLM_SIMD_AVX512 __m256i toBf16() const {
    const __m512i u = _mm512_castps_si512(v);
    const __m512i hi = _mm512_srli_epi32(u, 16);
    __m512i r = _mm512_add_epi32(u, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), _mm512_and_si512(hi, _mm512_set1_epi32(1))));
    r = _mm512_srli_epi32(r, 16);
    r = _mm512_mask_mov_epi32(r, _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q), _mm512_or_si512(hi, _mm512_set1_epi32(0x40)));
    return _mm512_cvtepi32_epi16(r);
  }
  GLM_SIMD_AVX512 void store(float* p) const { _mm512_storeu_ps(p, v); }
  GLM_SIMD_AVX512 void store(bf16* p) const { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), toBf16()); }
  GLM_SIMD_AVX512 void storePartial(float* p, int n) const { _mm512_mask_storeu_ps(p, tailMask(n), v); }
  GLM_SIMD_AVX512 void storePartial(bf16* p, int n) const { _mm256_mask_storeu_epi16(p, tailMask(n), toBf16()); }
  // Non-temporal store; p must be 64-byte aligned.
  GLM_SIMD_AVX512 void stream(float* p) const { _mm512_stream_ps(p, v); }

  GLM_SIMD_AVX512 friend VecAvx512 operator+(VecAvx512 a, VecAvx512 b) { return {_mm512_add_ps(a.v, b.v)}; }
  GLM_SIMD_AVX512 friend VecAvx512 operator-(VecAvx512 a, VecAvx512 b) { return {_mm512_sub_ps(a.v, b.v)}; }
  GLM_SIMD_AVX512 friend VecAvx512 operator*(VecAvx512 a, VecAvx512 b) { return {_mm512_mul_ps(a.v, b.v)}; }
  GLM_SIMD_AVX512 static VecAvx512 fma(VecAvx512 a, VecAvx512 b, VecAvx512 c) { return {_mm512_fmadd_ps(a.v, b.v, c.v)}; }
  GLM_SIMD_AVX512 static VecAvx512 max(VecAvx512 a, VecAvx512 b) { return {_mm512_max_ps(a.v, b.v)}; }
  // exp(x) for x <= 88.3; 0 below -87.3 (where the f32 result would be denormal: producing one costs
  // a microcode assist of ~100 cycles). NaN stays NaN.
  GLM_SIMD_AVX512 static VecAvx512 exp(VecAvx512 a) {
    const __m512 lo = _mm512_set1_ps(-87.3365478515625f);
    __m512 x = _mm512_min_ps(_mm512_set1_ps(88.3762626647949f), _mm512_max_ps(lo, a.v));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
    __m512 p = _mm512_set1_ps(kExpP0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kExpP5));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return {_mm512_maskz_scalef_ps(_mm512_cmp_ps_mask(a.v, lo, _CMP_NLT_UQ), p, n)};
  }
  // Fixed-order trees (not _mm512_reduce_*, which trip GCC 12's -Wmaybe-uninitialized).
  GLM_SIMD_AVX512 float hsum() const {
    const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  GLM_SIMD_AVX512 float hmax() const {
    const __m256 h = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
};

// Flushes denormal results and inputs to zero on this thread while alive, then restores MXCSR.
// Denormals carry nothing a softmax or a norm needs, and each one produced costs a microcode assist
// (~100 cycles), which would make a kernel's speed depend on its data.
class FlushDenormals {
 public:
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }  // FTZ | DAZ
  ~FlushDenormals() { _mm_setcsr(saved_); }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  unsigned saved_;
};

}  // namespace glm::cpu::simd
