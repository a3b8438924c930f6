// Runs a templated body with T = float or bf16 according to a tensor's dtype.
#pragma once
#include "../core/dtype.h"
#include "../core/error.h"

namespace glm {

template <typename Fn> void withFloatType(DType t, const char* op, Fn&& fn) {
  if (t == DType::F32) fn(float{});
  else if (t == DType::BF16) fn(bf16{});
  else GLM_FAIL(op, "expected a floating-point tensor (f32 or bf16), got " << dtypeName(t));
}

}  // namespace glm
