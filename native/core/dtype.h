// Element types a tensor can hold, their sizes and names, and bf16 <-> f32 conversion.
#pragma once
#include <cstdint>
#include <cstring>
#include <string>

namespace glm {

enum class DType : int { F32 = 0, BF16 = 1, I32 = 2 };

inline size_t dtypeSize(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::BF16: return 2;
    case DType::I32: return 4;
  }
  return 0;
}

inline const char* dtypeName(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::BF16: return "bf16";
    case DType::I32: return "i32";
  }
  return "?";
}

// Returns false when the name is not a dtype we know.
inline bool parseDType(const std::string& s, DType* out) {
  if (s == "f32") { *out = DType::F32; return true; }
  if (s == "bf16") { *out = DType::BF16; return true; }
  if (s == "i32") { *out = DType::I32; return true; }
  return false;
}

// bf16 is the top half of an IEEE f32. Rounding is to nearest-even, as on GPUs; NaN stays NaN
// (a quiet NaN is forced so that truncation cannot turn a NaN payload into infinity).
inline uint16_t f32ToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

inline float bf16ToF32(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// A storage-only bf16 type so that kernels can be templated on the element type.
struct bf16 {
  uint16_t bits;
};

template <typename T> inline float toF32(T v);
template <> inline float toF32<float>(float v) { return v; }
template <> inline float toF32<bf16>(bf16 v) { return bf16ToF32(v.bits); }
template <typename T> inline T fromF32(float v);
template <> inline float fromF32<float>(float v) { return v; }
template <> inline bf16 fromF32<bf16>(float v) { return bf16{f32ToBf16(v)}; }

}  // namespace glm
