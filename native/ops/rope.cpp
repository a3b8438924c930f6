// Dispatch for the rotary position embedding; see rope.h.
#include "rope.h"

#include <cmath>

#include "../cpu/rope.h"
#include "checks.h"
#include "float_types.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/rope.h"
#endif

namespace glm {

void ropeOp(const char* op, const TensorRef& out, const TensorRef& inp, double base, int64_t positionOffset,
            bool inverse) {
  const char* xName = inverse ? "dout" : "x";
  const char* outName = inverse ? "dx" : "out";
  requireDType(op, xName, inp, {DType::F32, DType::BF16});
  requireRank(op, xName, inp, 4);
  const int64_t D = inp.shape[3];
  GLM_REQUIRE(D >= 2 && D <= kRopeMaxHeadDim && D % 2 == 0, op,
              "argument '" << xName << "': expected a last dimension D that is even and in [2, " << kRopeMaxHeadDim
                           << "], got shape " << shapeStr(inp.shape));
  requireSameDType(op, outName, out, inp, xName);
  requireSameDevice(op, outName, out, inp.device());
  requireShape(op, outName, out, inp.shape);
  if (out.raw() != inp.raw()) requireNoOverlap(op, outName, out, xName, inp);
  GLM_REQUIRE(std::isfinite(base) && base > 0.0, op, "argument 'base': expected a finite number > 0, got " << base);
  const int64_t BH = inp.shape[0] * inp.shape[1], seqLen = inp.shape[2];
  GLM_REQUIRE(positionOffset >= 0 && positionOffset <= kRopeMaxPosition - (seqLen > 0 ? seqLen - 1 : 0), op,
              "argument 'positionOffset': expected an integer >= 0 with positionOffset + T - 1 < 2^31, got "
                  << positionOffset << " (T " << seqLen << ")");
  if (inp.numel() == 0) return;
  const RopeFrequencies freqs = ropeFrequencies(D, base);
  withFloatType(inp.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, inp.device(),
             [=] { cpu::ropeForward<T>(out.data<T>(), inp.data<T>(), BH, seqLen, D, freqs, positionOffset, inverse); },
             GLM_CUDA_WORK([=](void* s) {
               cuda::ropeForward<T>(out.data<T>(), inp.data<T>(), BH, seqLen, D, freqs, positionOffset, inverse, s);
             }));
  });
}

}  // namespace glm
