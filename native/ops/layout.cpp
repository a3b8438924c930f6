// Dispatch for permute; see layout.h.
#include "layout.h"

#include "../cpu/layout.h"
#include "checks.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/layout.h"
#endif

namespace glm {

void permuteOp(const TensorRef& out, const TensorRef& x, const std::vector<int>& perm) {
  const char* op = "permute";
  const int rank = x.rank();
  GLM_REQUIRE(rank <= 6, op, "argument 'x': expected at most 6 dimensions, got shape " << shapeStr(x.shape));
  GLM_REQUIRE(int(perm.size()) == rank, op,
              "argument 'perm': expected a permutation of " << rank << " dims, got " << perm.size() << " entries");
  Shape outShape(rank);
  bool seen[6] = {};
  for (int i = 0; i < rank; i++) {
    const int d = perm[i];
    GLM_REQUIRE(d >= 0 && d < rank && !seen[d], op,
                "argument 'perm': expected a permutation of 0.." << rank - 1 << ", got " << d << " at position " << i);
    seen[d] = true;
    outShape[i] = x.shape[d];
  }
  requireSameDType(op, "out", out, x, "x");
  requireSameDevice(op, "out", out, x.device());
  requireShape(op, "out", out, outShape);
  requireNoOverlap(op, "out", out, "x", x);
  if (x.numel() == 0) return;
  const int64_t elemSize = int64_t(dtypeSize(x.dtype));
  // Fixed-size copies of the shape and perm travel with the op (the CUDA side reads them on the host).
  struct Dims {
    int64_t shape[6];
    int perm[6];
  } dims{};
  for (int i = 0; i < rank; i++) {
    dims.shape[i] = x.shape[i];
    dims.perm[i] = perm[i];
  }
  dispatch(op, x.device(), [=] { cpu::permute(out.raw(), x.raw(), elemSize, dims.shape, dims.perm, rank); },
           GLM_CUDA_WORK([=](void* s) { cuda::permute(out.raw(), x.raw(), elemSize, dims.shape, dims.perm, rank, s); }),
           streamNanos(x.numel(), 1.0));
}

namespace {

// dst [B, H, L, D] and src [B, H, T, D] of one dtype and device.
void checkCacheWrite(const char* op, const TensorRef& dst, const TensorRef& src) {
  requireRank(op, "dst", dst, 4);
  requireRank(op, "src", src, 4);
  requireSameDType(op, "src", src, dst, "dst");
  requireSameDevice(op, "src", src, dst.device());
  GLM_REQUIRE(src.shape[0] == dst.shape[0] && src.shape[1] == dst.shape[1] && src.shape[3] == dst.shape[3], op,
              "argument 'src': expected shape [" << dst.shape[0] << ", " << dst.shape[1] << ", T, " << dst.shape[3]
                                                 << "] (dst is " << shapeStr(dst.shape) << "), got " << shapeStr(src.shape));
  requireNoOverlap(op, "dst", dst, "src", src);
}

}  // namespace

void cacheWriteAtOp(const TensorRef& dst, const TensorRef& src, const TensorRef& positions) {
  const char* op = "cacheWrite";
  checkCacheWrite(op, dst, src);
  const int64_t B = dst.shape[0], H = dst.shape[1], L = dst.shape[2], D = dst.shape[3], T = src.shape[2];
  requireDType(op, "positions", positions, {DType::I32});
  requireSameDevice(op, "positions", positions, dst.device());
  requireShape(op, "positions", positions, {B});
  requireNoOverlap(op, "dst", dst, "positions", positions);
  const int64_t elemSize = int64_t(dtypeSize(dst.dtype));
  dispatch(op, dst.device(),
           [=] { cpu::cacheWriteAt(dst.raw(), src.raw(), elemSize, B, H, L, T, D, positions.data<int32_t>()); },
           GLM_CUDA_WORK([=](void* s) {
             cuda::cacheWriteAt(dst.raw(), src.raw(), elemSize, B, H, L, T, D, positions.data<int32_t>(), s);
           }),
           streamNanos(B * H * T * D, 0.25));
}

void cacheWriteOp(const TensorRef& dst, const TensorRef& src, const std::vector<int64_t>& start,
                  const std::vector<int64_t>& count) {
  const char* op = "cacheWrite";
  checkCacheWrite(op, dst, src);
  const int64_t B = dst.shape[0], H = dst.shape[1], L = dst.shape[2], D = dst.shape[3], T = src.shape[2];
  GLM_REQUIRE(int64_t(start.size()) == B, op, "argument 'start': expected " << B << " values (one per row), got " << start.size());
  GLM_REQUIRE(int64_t(count.size()) == B, op, "argument 'count': expected " << B << " values (one per row), got " << count.size());
  for (int64_t b = 0; b < B; b++) {
    GLM_REQUIRE(count[b] >= 0 && count[b] <= T, op,
                "argument 'count': expected values in [0, " << T << "] (src's T), got " << count[b] << " for row " << b);
    GLM_REQUIRE(start[b] >= 0 && start[b] + count[b] <= L, op,
                "argument 'start': row " << b << " writes positions [" << start[b] << ", " << start[b] + count[b]
                                         << "), outside the cache's [0, " << L << ")");
  }
  const int64_t elemSize = int64_t(dtypeSize(dst.dtype));
  int64_t moved = 0;
  for (int64_t c : count) moved += c * H * D;
  dispatch(op, dst.device(), [=] { cpu::cacheWrite(dst.raw(), src.raw(), elemSize, B, H, L, T, D, start.data(), count.data()); },
           GLM_CUDA_WORK([=](void* s) { cuda::cacheWrite(dst.raw(), src.raw(), elemSize, B, H, L, T, D, start.data(), count.data(), s); }),
           streamNanos(moved, 0.25));
}

}  // namespace glm
