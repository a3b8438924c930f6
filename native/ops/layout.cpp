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

}  // namespace glm
