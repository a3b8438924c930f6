// Whole-tensor data movement: copy (across devices or dtypes) and fill.
#pragma once
#include "../core/tensor.h"

namespace glm {

// dst and src have the same shape. Across devices the dtypes must match; on one device any of
// f32/bf16/i32 converts to any other (f32 -> bf16 rounds to nearest-even, f32 -> i32 truncates).
void copyTensor(const TensorRef& dst, const TensorRef& src);
void fillTensor(const TensorRef& dst, double value);

}  // namespace glm
