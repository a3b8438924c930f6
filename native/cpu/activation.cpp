// CPU GELU kernels (see activation.h): memory-bound loops over the whole tensor, split across the
// pool in chunks, vectorised with the exp-based GELU of gelu_simd.h (AVX-512 or AVX2, scalar tails).
// GCC 12 warns about the deliberately undefined upper lanes inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "activation.h"

#include "../core/cpu_features.h"
#include "../core/threadpool.h"
#include "gelu_simd.h"
#include "vec_io.h"

namespace glm::cpu {
namespace {

constexpr int64_t kGrain = 1 << 14;

template <typename T>
void geluRangeScalar(T* out, const T* inp, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; i++) out[i] = fromF32<T>(simd::geluScalar(toF32(inp[i])));
}

template <typename T>
void geluGradRangeScalar(T* dinp, const T* dout, const T* inp, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; i++) dinp[i] = fromF32<T>(toF32(dout[i]) * simd::geluGradScalar(toF32(inp[i])));
}

template <typename T>
GLM_TARGET_AVX512 void geluRange512(T* out, const T* inp, int64_t b, int64_t e) {
  int64_t i = b;
  for (; i + 16 <= e; i += 16) simd::store16(out + i, simd::gelu512(simd::load16(inp + i)));
  if (i < e) {
    const __mmask16 m = __mmask16((1u << (e - i)) - 1);
    simd::store16(out + i, simd::gelu512(simd::load16(inp + i, m)), m);
  }
}

template <typename T>
GLM_TARGET_AVX512 void geluGradRange512(T* dinp, const T* dout, const T* inp, int64_t b, int64_t e) {
  int64_t i = b;
  for (; i + 16 <= e; i += 16)
    simd::store16(dinp + i, _mm512_mul_ps(simd::load16(dout + i), simd::geluGrad512(simd::load16(inp + i))));
  if (i < e) {
    const __mmask16 m = __mmask16((1u << (e - i)) - 1);
    simd::store16(dinp + i, _mm512_mul_ps(simd::load16(dout + i, m), simd::geluGrad512(simd::load16(inp + i, m))), m);
  }
}

template <typename T>
GLM_TARGET_AVX2 void geluRange256(T* out, const T* inp, int64_t b, int64_t e) {
  int64_t i = b;
  for (; i + 8 <= e; i += 8) simd::store8(out + i, simd::gelu256(simd::load8(inp + i)));
  geluRangeScalar(out, inp, i, e);
}

template <typename T>
GLM_TARGET_AVX2 void geluGradRange256(T* dinp, const T* dout, const T* inp, int64_t b, int64_t e) {
  int64_t i = b;
  for (; i + 8 <= e; i += 8)
    simd::store8(dinp + i, _mm256_mul_ps(simd::load8(dout + i), simd::geluGrad256(simd::load8(inp + i))));
  geluGradRangeScalar(dinp, dout, inp, i, e);
}

}  // namespace

template <typename T> void geluForward(T* out, const T* inp, int64_t n) {
  const int level = cpuLevel();
  parallelFor(n, kGrain, [=](int64_t b, int64_t e) {
    if (level >= 2) geluRange512(out, inp, b, e);
    else if (level == 1) geluRange256(out, inp, b, e);
    else geluRangeScalar(out, inp, b, e);
  });
}

template <typename T> void geluBackward(T* dinp, const T* dout, const T* inp, int64_t n) {
  const int level = cpuLevel();
  parallelFor(n, kGrain, [=](int64_t b, int64_t e) {
    if (level >= 2) geluGradRange512(dinp, dout, inp, b, e);
    else if (level == 1) geluGradRange256(dinp, dout, inp, b, e);
    else geluGradRangeScalar(dinp, dout, inp, b, e);
  });
}

template void geluForward<float>(float*, const float*, int64_t);
template void geluForward<bf16>(bf16*, const bf16*, int64_t);
template void geluBackward<float>(float*, const float*, const float*, int64_t);
template void geluBackward<bf16>(bf16*, const bf16*, const bf16*, int64_t);

}  // namespace glm::cpu
