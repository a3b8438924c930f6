// CPU data movement kernels; see convert.h.
// GCC 12 warns about the deliberately undefined upper lanes inside its own AVX-512 intrinsics.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "convert.h"

#include <cstring>

#include "../core/cpu_features.h"
#include "../core/threadpool.h"
#include "vec_io.h"

namespace glm::cpu {
namespace {

// f32 <-> bf16 over [b, e) with the vector loads and stores the kernels use (the same rounding as
// f32ToBf16: nearest-even, NaN kept quiet), scalar tails. These run every autocast pass (each f32
// master weight cast to bf16): the generic element loop below, one switch per element, converted
// ~1.2 G elements/s: 80% of a bf16 decode step of the small preset.
template <typename Out, typename In>
GLM_TARGET_AVX512 void convertRange512(Out* out, const In* inp, int64_t b, int64_t e) {
  int64_t i = b;
  for (; i + 16 <= e; i += 16) simd::store16(out + i, simd::load16(inp + i));
  if (i < e) {
    const __mmask16 m = __mmask16((1u << (e - i)) - 1);
    simd::store16(out + i, simd::load16(inp + i, m), m);
  }
}

template <typename Out, typename In>
GLM_TARGET_AVX2 void convertRange256(Out* out, const In* inp, int64_t b, int64_t e) {
  int64_t i = b;
  for (; i + 8 <= e; i += 8) simd::store8(out + i, simd::load8(inp + i));
  for (; i < e; i++) out[i] = fromF32<Out>(toF32(inp[i]));
}

template <typename Out, typename In>
void convertFloats(Out* out, const In* inp, int64_t n) {
  const int level = cpuLevel();
  parallelFor(n, 1 << 16, [=](int64_t b, int64_t e) {
    if (level >= 2) convertRange512(out, inp, b, e);
    else if (level == 1) convertRange256(out, inp, b, e);
    else
      for (int64_t i = b; i < e; i++) out[i] = fromF32<Out>(toF32(inp[i]));
  });
}

float loadF32(const void* p, DType t, int64_t i) {
  switch (t) {
    case DType::F32: return static_cast<const float*>(p)[i];
    case DType::BF16: return bf16ToF32(static_cast<const uint16_t*>(p)[i]);
    case DType::I32: return float(static_cast<const int32_t*>(p)[i]);
  }
  return 0;
}

}  // namespace

void convert(void* out, DType outType, const void* inp, DType inType, int64_t n) {
  if (outType == inType) {
    const size_t es = dtypeSize(outType);
    parallelFor(n, 1 << 18, [&](int64_t b, int64_t e) {
      std::memcpy(static_cast<char*>(out) + b * es, static_cast<const char*>(inp) + b * es, (e - b) * es);
    });
    return;
  }
  if (outType == DType::BF16 && inType == DType::F32)
    return convertFloats(static_cast<bf16*>(out), static_cast<const float*>(inp), n);
  if (outType == DType::F32 && inType == DType::BF16)
    return convertFloats(static_cast<float*>(out), static_cast<const bf16*>(inp), n);
  parallelFor(n, 1 << 16, [&](int64_t b, int64_t e) {
    if (inType == DType::I32 && outType == DType::F32) {
      for (int64_t i = b; i < e; i++) static_cast<float*>(out)[i] = float(static_cast<const int32_t*>(inp)[i]);
      return;
    }
    for (int64_t i = b; i < e; i++) {
      if (outType == DType::I32) {
        if (inType == DType::F32) static_cast<int32_t*>(out)[i] = int32_t(static_cast<const float*>(inp)[i]);
        else static_cast<int32_t*>(out)[i] = int32_t(loadF32(inp, inType, i));
      } else {
        float v = loadF32(inp, inType, i);
        if (outType == DType::F32) static_cast<float*>(out)[i] = v;
        else static_cast<uint16_t*>(out)[i] = f32ToBf16(v);
      }
    }
  });
}

void fill(void* out, DType t, double value, int64_t n) {
  parallelFor(n, 1 << 18, [&](int64_t b, int64_t e) {
    switch (t) {
      case DType::F32: { float v = float(value); float* o = static_cast<float*>(out); for (int64_t i = b; i < e; i++) o[i] = v; break; }
      case DType::BF16: { uint16_t v = f32ToBf16(float(value)); uint16_t* o = static_cast<uint16_t*>(out); for (int64_t i = b; i < e; i++) o[i] = v; break; }
      case DType::I32: { int32_t v = int32_t(value); int32_t* o = static_cast<int32_t*>(out); for (int64_t i = b; i < e; i++) o[i] = v; break; }
    }
  });
}

}  // namespace glm::cpu
