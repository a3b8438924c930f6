// Layout ops that copy: permute (transpose) of up to 6 dimensions, any dtype.
#pragma once
#include <vector>

#include "../core/tensor.h"

namespace glm {

// out = x with its dims reordered: out dim i is x dim perm[i]; out has x's dtype and device and
// shape x.shape permuted by perm.
void permuteOp(const TensorRef& out, const TensorRef& x, const std::vector<int>& perm);

// Key/value cache write: src [B, H, T, D] into dst [B, H, L, D] (same dtype and device), row b's
// first count[b] positions going to [start[b], start[b] + count[b]); count[b] <= T, and the
// positions must fit in L.
void cacheWriteOp(const TensorRef& dst, const TensorRef& src, const std::vector<int64_t>& start,
                  const std::vector<int64_t>& count);
// The same with every row writing all T of src's positions, row b from positions[b] (i32 [B] on
// dst's device, read when the op runs: the cache lengths of a replayed op graph). A row whose
// positions do not fit is a deferred error of the op, raised at the next synchronisation point.
void cacheWriteAtOp(const TensorRef& dst, const TensorRef& src, const TensorRef& positions);

}  // namespace glm
