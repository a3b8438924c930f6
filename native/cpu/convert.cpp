// CPU data movement kernels; see convert.h.
#include "convert.h"

#include <cstring>

#include "../core/threadpool.h"

namespace glm::cpu {
namespace {

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
