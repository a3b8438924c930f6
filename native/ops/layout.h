// Layout ops that copy: permute (transpose) of up to 6 dimensions, any dtype.
#pragma once
#include <vector>

#include "../core/tensor.h"

namespace glm {

// out = x with its dims reordered: out dim i is x dim perm[i]; out has x's dtype and device and
// shape x.shape permuted by perm.
void permuteOp(const TensorRef& out, const TensorRef& x, const std::vector<int>& perm);

}  // namespace glm
