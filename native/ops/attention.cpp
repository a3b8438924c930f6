// Dispatch for the fused attention op; see attention.h.
#include "attention.h"

#include <cmath>
#include <tuple>
#include <utility>
#include <vector>

#include "../cpu/attention.h"
#include "checks.h"
#include "float_types.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/attention.h"
#endif

namespace glm {
namespace {

constexpr int64_t kMaxHeadDim = 128;

// Checks q, k, v, the key lengths and the options; returns the kernel parameters.
AttentionParams checkInputs(const char* op, const TensorRef& q, const TensorRef& k, const TensorRef& v,
                            const std::optional<TensorRef>& keyLengths, const AttentionOptions& o) {
  requireDType(op, "q", q, {DType::F32, DType::BF16});
  requireSameDType(op, "k", k, q, "q");
  requireSameDType(op, "v", v, q, "q");
  requireSameDevice(op, "k", k, q.device());
  requireSameDevice(op, "v", v, q.device());
  requireRank(op, "q", q, 4);
  requireRank(op, "k", k, 4);
  AttentionParams p;
  p.B = q.dim(0), p.H = q.dim(1), p.Tq = q.dim(2), p.D = q.dim(3), p.Tk = k.dim(2);
  GLM_REQUIRE(p.D >= 1 && p.D <= kMaxHeadDim, op,
              "argument 'q': expected a head dimension (last dim) in [1, " << kMaxHeadDim << "], got " << p.D);
  requireShape(op, "k", k, {p.B, p.H, p.Tk, p.D});
  requireShape(op, "v", v, k.shape);
  GLM_REQUIRE(p.Tq <= p.Tk, op,
              "argument 'q': expected at most as many queries as keys (" << p.Tk << "), got " << p.Tq);
  GLM_REQUIRE(o.mask >= 0 && o.mask <= 2, op, "argument 'mask': expected 0 (none), 1 (causal) or 2 (prefix), got " << o.mask);
  p.mask = static_cast<MaskKind>(o.mask);
  if (p.mask == MaskKind::Prefix)
    GLM_REQUIRE(o.prefix >= 0 && o.prefix <= p.Tk, op,
                "argument 'prefix': expected an integer in [0, " << p.Tk << "], got " << o.prefix);
  p.prefix = p.mask == MaskKind::Prefix ? o.prefix : 0;
  GLM_REQUIRE(std::isfinite(o.scale), op, "argument 'scale': expected a finite number, got " << o.scale);
  p.scale = o.scale;
  if (keyLengths) {
    requireDType(op, "keyLengths", *keyLengths, {DType::I32});
    requireSameDevice(op, "keyLengths", *keyLengths, q.device());
    requireShape(op, "keyLengths", *keyLengths, {p.B});
  }
  return p;
}

}  // namespace

void attentionForwardOp(const TensorRef& out, const TensorRef& lse, const TensorRef& q, const TensorRef& k,
                        const TensorRef& v, const std::optional<TensorRef>& keyLengths, const AttentionOptions& o) {
  const char* op = "attention";
  const AttentionParams p = checkInputs(op, q, k, v, keyLengths, o);
  requireSameDType(op, "out", out, q, "q");
  requireSameDevice(op, "out", out, q.device());
  requireShape(op, "out", out, q.shape);
  requireDType(op, "lse", lse, {DType::F32});
  requireSameDevice(op, "lse", lse, q.device());
  requireShape(op, "lse", lse, {p.B, p.H, p.Tq});
  for (const auto& [name, in] : {std::pair<const char*, const TensorRef*>{"q", &q}, {"k", &k}, {"v", &v}}) {
    requireNoOverlap(op, "out", out, name, *in);
    requireNoOverlap(op, "lse", lse, name, *in);
  }
  if (keyLengths) {
    requireNoOverlap(op, "out", out, "keyLengths", *keyLengths);
    requireNoOverlap(op, "lse", lse, "keyLengths", *keyLengths);
  }
  requireNoOverlap(op, "out", out, "lse", lse);
  if (out.numel() == 0) return;
  const TensorRef kl = keyLengths ? *keyLengths : TensorRef{};
  const bool hasKl = keyLengths.has_value();
  withFloatType(q.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(
        op, q.device(),
        [=] {
          cpu::attentionForward<T>(out.data<T>(), lse.data<float>(), q.data<T>(), k.data<T>(), v.data<T>(),
                                   hasKl ? kl.data<int32_t>() : nullptr, p);
        },
        GLM_CUDA_WORK([=](void* s) {
          cuda::attentionForward<T>(out.data<T>(), lse.data<float>(), q.data<T>(), k.data<T>(), v.data<T>(),
                                    hasKl ? kl.data<int32_t>() : nullptr, p, s);
        }));
  });
}

void attentionBackwardOp(const TensorRef& dq, const TensorRef& dk, const TensorRef& dv, const TensorRef& dout,
                         const TensorRef& q, const TensorRef& k, const TensorRef& v, const TensorRef& out,
                         const TensorRef& lse, const std::optional<TensorRef>& keyLengths, const AttentionOptions& o) {
  const char* op = "attentionBackward";
  const AttentionParams p = checkInputs(op, q, k, v, keyLengths, o);
  for (const auto& [name, t, like] : {std::tuple<const char*, const TensorRef*, const TensorRef*>{"dout", &dout, &q},
                                      {"out", &out, &q}, {"dq", &dq, &q}, {"dk", &dk, &k}, {"dv", &dv, &k}}) {
    requireSameDType(op, name, *t, q, "q");
    requireSameDevice(op, name, *t, q.device());
    requireShape(op, name, *t, like->shape);
  }
  requireDType(op, "lse", lse, {DType::F32});
  requireSameDevice(op, "lse", lse, q.device());
  requireShape(op, "lse", lse, {p.B, p.H, p.Tq});
  const std::pair<const char*, const TensorRef*> outputs[] = {{"dq", &dq}, {"dk", &dk}, {"dv", &dv}};
  std::vector<std::pair<const char*, const TensorRef*>> inputs = {{"dout", &dout}, {"q", &q},     {"k", &k},
                                                                  {"v", &v},       {"out", &out}, {"lse", &lse}};
  if (keyLengths) inputs.push_back({"keyLengths", &*keyLengths});
  for (size_t a = 0; a < 3; a++) {
    for (const auto& [name, in] : inputs) requireNoOverlap(op, outputs[a].first, *outputs[a].second, name, *in);
    for (size_t b = a + 1; b < 3; b++)
      requireNoOverlap(op, outputs[b].first, *outputs[b].second, outputs[a].first, *outputs[a].second);
  }
  if (dk.numel() == 0) return;
  const TensorRef kl = keyLengths ? *keyLengths : TensorRef{};
  const bool hasKl = keyLengths.has_value();
  withFloatType(q.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    dispatch(
        op, q.device(),
        [=] {
          cpu::attentionBackward<T>(dq.data<T>(), dk.data<T>(), dv.data<T>(), dout.data<T>(), q.data<T>(),
                                    k.data<T>(), v.data<T>(), out.data<T>(), lse.data<float>(),
                                    hasKl ? kl.data<int32_t>() : nullptr, p);
        },
        GLM_CUDA_WORK([=](void* s) {
          cuda::attentionBackward<T>(dq.data<T>(), dk.data<T>(), dv.data<T>(), dout.data<T>(), q.data<T>(),
                                     k.data<T>(), v.data<T>(), out.data<T>(), lse.data<float>(),
                                     hasKl ? kl.data<int32_t>() : nullptr, p, s);
        }));
  });
}

}  // namespace glm
