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

namespace {

// inp [B, H, T, D] (D even, 2..256) and out alike; base finite and > 0.
void checkRope(const char* op, const char* xName, const char* outName, const TensorRef& out, const TensorRef& inp,
               double base) {
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
}

}  // namespace

void ropeAtOp(const TensorRef& out, const TensorRef& inp, double base, const TensorRef& positions) {
  const char* op = "rope";
  checkRope(op, "x", "out", out, inp, base);
  const int64_t B = inp.shape[0], H = inp.shape[1], seqLen = inp.shape[2], D = inp.shape[3];
  requireDType(op, "positions", positions, {DType::I32});
  requireSameDevice(op, "positions", positions, inp.device());
  requireShape(op, "positions", positions, {B});
  requireNoOverlap(op, "out", out, "positions", positions);
  if (inp.numel() == 0) return;
  const RopeFrequencies freqs = ropeFrequencies(D, base);
  withFloatType(inp.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(op, inp.device(),
             [=] { cpu::ropeForwardAt<T>(out.data<T>(), inp.data<T>(), B, H, seqLen, D, freqs, positions.data<int32_t>()); },
             GLM_CUDA_WORK([=](void* s) {
               cuda::ropeForwardAt<T>(out.data<T>(), inp.data<T>(), B, H, seqLen, D, freqs, positions.data<int32_t>(), s);
             }));
  });
}

void ropeOp(const char* op, const TensorRef& out, const TensorRef& inp, double base, int64_t positionOffset,
            bool inverse) {
  const char* xName = inverse ? "dout" : "x";
  const char* outName = inverse ? "dx" : "out";
  checkRope(op, xName, outName, out, inp, base);
  const int64_t BH = inp.shape[0] * inp.shape[1], seqLen = inp.shape[2], D = inp.shape[3];
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
