// Dispatch for LayerNorm; see layernorm.h.
#include "layernorm.h"

#include <cmath>
#include <vector>

#include "../cpu/layernorm.h"
#include "checks.h"
#include "float_types.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/layernorm.h"
#endif

namespace glm {
namespace {

// Checks inp (..., C) and returns C.
int64_t checkInput(const char* op, const TensorRef& inp) {
  requireDType(op, "x", inp, {DType::F32, DType::BF16});
  GLM_REQUIRE(inp.rank() >= 1 && inp.dim(-1) >= 1, op,
              "argument 'x': expected a tensor of shape [..., C] with C >= 1, got shape " << shapeStr(inp.shape));
  return inp.dim(-1);
}

// A per-channel (C) tensor of inp's dtype and device.
void checkChannel(const char* op, const char* name, const TensorRef& t, const TensorRef& inp, int64_t C) {
  requireSameDType(op, name, t, inp, "x");
  requireSameDevice(op, name, t, inp.device());
  requireShape(op, name, t, Shape{C});
}

// A per-row statistic: f32 with N elements.
void checkStat(const char* op, const char* name, const TensorRef& t, const TensorRef& inp, int64_t N) {
  requireDType(op, name, t, {DType::F32});
  requireSameDevice(op, name, t, inp.device());
  GLM_REQUIRE(t.numel() == N, op,
              "argument '" << name << "': expected " << N << " elements (one per row), got shape " << shapeStr(t.shape));
}

// Every written tensor is distinct from every other tensor of the call.
void checkDisjoint(const char* op, const std::vector<std::pair<const char*, const TensorRef*>>& outs,
                   const std::vector<std::pair<const char*, const TensorRef*>>& all) {
  for (const auto& [on, o] : outs)
    for (const auto& [an, a] : all)
      if (o != a) requireNoOverlap(op, on, *o, an, *a);
}

}  // namespace

void layernormForwardOp(const TensorRef& out, const std::optional<TensorRef>& meanArg,
                        const std::optional<TensorRef>& rstdArg, const TensorRef& inp, const TensorRef& weight,
                        const std::optional<TensorRef>& bias, double eps) {
  const char* op = "layerNorm";
  const int64_t C = checkInput(op, inp);
  const int64_t N = inp.numel() / C;
  requireSameDType(op, "out", out, inp, "x");
  requireSameDevice(op, "out", out, inp.device());
  requireShape(op, "out", out, inp.shape);
  checkChannel(op, "weight", weight, inp, C);
  if (bias) checkChannel(op, "bias", *bias, inp, C);
  GLM_REQUIRE(meanArg.has_value() == rstdArg.has_value(), op,
              "arguments 'mean' and 'rstd': expected both (saved for the backward) or neither, got only "
                  << (meanArg ? "'mean'" : "'rstd'"));
  const bool saveStats = meanArg.has_value();
  if (saveStats) {
    checkStat(op, "mean", *meanArg, inp, N);
    checkStat(op, "rstd", *rstdArg, inp, N);
  }
  GLM_REQUIRE(std::isfinite(eps) && eps > 0 && float(eps) > 0 && std::isfinite(float(eps)), op,
              "argument 'eps': expected a finite number > 0, got " << eps);
  std::vector<std::pair<const char*, const TensorRef*>> all = {{"out", &out}, {"x", &inp}, {"weight", &weight}};
  std::vector<std::pair<const char*, const TensorRef*>> outs = {{"out", &out}};
  if (saveStats) {
    all.push_back({"mean", &*meanArg});
    all.push_back({"rstd", &*rstdArg});
    outs.push_back({"mean", &*meanArg});
    outs.push_back({"rstd", &*rstdArg});
  }
  if (bias) all.push_back({"bias", &*bias});
  checkDisjoint(op, outs, all);

  const float e = float(eps);
  withFloatType(inp.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const std::optional<TensorRef> b = bias, mean = meanArg, rstd = rstdArg;  // null pointers: nothing saved
    dispatch(
        op, inp.device(),
        [=] {
          cpu::layernormForward<T>(out.data<T>(), mean ? mean->data<float>() : nullptr, rstd ? rstd->data<float>() : nullptr,
                                   inp.data<T>(), weight.data<T>(), b ? b->data<T>() : nullptr, N, C, e);
        },
        GLM_CUDA_WORK([=](void* s) {
          cuda::layernormForward<T>(out.data<T>(), mean ? mean->data<float>() : nullptr, rstd ? rstd->data<float>() : nullptr,
                                    inp.data<T>(), weight.data<T>(), b ? b->data<T>() : nullptr, N, C, e, s);
        }),
        streamNanos(N * C, 1.0));
  });
}

void layernormBackwardOp(const TensorRef& dinp, const TensorRef& dweight, const std::optional<TensorRef>& dbias,
                         const TensorRef& dout, const TensorRef& inp, const TensorRef& weight, const TensorRef& mean,
                         const TensorRef& rstd) {
  const char* op = "layerNormBackward";
  const int64_t C = checkInput(op, inp);
  const int64_t N = inp.numel() / C;
  for (const auto& [name, t] : {std::pair<const char*, const TensorRef&>{"dx", dinp}, {"dout", dout}}) {
    requireSameDType(op, name, t, inp, "x");
    requireSameDevice(op, name, t, inp.device());
    requireShape(op, name, t, inp.shape);
  }
  checkChannel(op, "weight", weight, inp, C);
  checkChannel(op, "dweight", dweight, inp, C);
  if (dbias) checkChannel(op, "dbias", *dbias, inp, C);
  checkStat(op, "mean", mean, inp, N);
  checkStat(op, "rstd", rstd, inp, N);
  std::vector<std::pair<const char*, const TensorRef*>> all = {
      {"dx", &dinp}, {"dweight", &dweight}, {"dout", &dout}, {"x", &inp}, {"weight", &weight}, {"mean", &mean}, {"rstd", &rstd}};
  std::vector<std::pair<const char*, const TensorRef*>> outs = {{"dx", &dinp}, {"dweight", &dweight}};
  if (dbias) {
    all.push_back({"dbias", &*dbias});
    outs.push_back({"dbias", &*dbias});
  }
  checkDisjoint(op, outs, all);
  withFloatType(inp.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const std::optional<TensorRef> db = dbias;
    dispatch(
        op, inp.device(),
        [=] {
          cpu::layernormBackward<T>(dinp.data<T>(), dweight.data<T>(), db ? db->data<T>() : nullptr, dout.data<T>(),
                                    inp.data<T>(), weight.data<T>(), mean.data<float>(), rstd.data<float>(), N, C);
        },
        GLM_CUDA_WORK([=](void* s) {
          cuda::layernormBackward<T>(dinp.data<T>(), dweight.data<T>(), db ? db->data<T>() : nullptr, dout.data<T>(),
                                     inp.data<T>(), weight.data<T>(), mean.data<float>(), rstd.data<float>(), N, C, s);
        }),
        streamNanos(N * C, 2.0));
  });
}

}  // namespace glm
