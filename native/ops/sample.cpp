// Dispatch for token sampling; see sample.h.
#include "sample.h"

#include <cmath>

#include "checks.h"
#include "float_types.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/sample.h"
#endif

namespace glm {
namespace {

struct Inputs {
  int64_t B, V, L, biasRows;
};

Inputs checkInputs(const char* op, const TensorRef& logits, const std::optional<TensorRef>& history,
                   const std::optional<TensorRef>& bias, const SampleParams& p) {
  requireDType(op, "logits", logits, {DType::F32, DType::BF16});
  requireRank(op, "logits", logits, 2);
  const int64_t B = logits.dim(0), V = logits.dim(1);
  GLM_REQUIRE(V >= 1, op, "argument 'logits': expected at least one token per row, got shape " << shapeStr(logits.shape));
  GLM_REQUIRE(V <= int64_t(INT32_MAX), op, "argument 'logits': expected at most " << INT32_MAX << " tokens, got " << V);
  int64_t L = 0, biasRows = 0;
  if (history) {
    requireDType(op, "history", *history, {DType::I32});
    requireRank(op, "history", *history, 2);
    requireSameDevice(op, "history", *history, logits.device());
    GLM_REQUIRE(history->dim(0) == B, op,
                "argument 'history': expected shape [" << B << ", L], got " << shapeStr(history->shape));
    L = history->dim(1);
  }
  if (bias) {
    requireDType(op, "logitBias", *bias, {DType::F32});
    requireSameDevice(op, "logitBias", *bias, logits.device());
    const bool ok = (bias->rank() == 1 && bias->dim(0) == V) || (bias->rank() == 2 && bias->dim(0) == B && bias->dim(1) == V);
    GLM_REQUIRE(ok, op, "argument 'logitBias': expected shape [" << V << "] or [" << B << ", " << V << "], got "
                                                                 << shapeStr(bias->shape));
    biasRows = bias->rank() == 1 ? 1 : B;
  }
  const auto finite = [](float v) { return std::isfinite(v); };
  GLM_REQUIRE(finite(p.temperature) && p.temperature >= 0, op,
              "argument 'temperature': expected a finite number >= 0, got " << p.temperature);
  GLM_REQUIRE(p.topK >= 0, op, "argument 'topK': expected an integer >= 0, got " << p.topK);
  GLM_REQUIRE(p.topP > 0 && p.topP <= 1, op, "argument 'topP': expected a number in (0, 1], got " << p.topP);
  GLM_REQUIRE(p.minP >= 0 && p.minP < 1, op, "argument 'minP': expected a number in [0, 1), got " << p.minP);
  GLM_REQUIRE(finite(p.repetitionPenalty) && p.repetitionPenalty > 0, op,
              "argument 'repetitionPenalty': expected a finite number > 0, got " << p.repetitionPenalty);
  GLM_REQUIRE(finite(p.frequencyPenalty), op, "argument 'frequencyPenalty': expected a finite number, got " << p.frequencyPenalty);
  GLM_REQUIRE(finite(p.presencePenalty), op, "argument 'presencePenalty': expected a finite number, got " << p.presencePenalty);
  GLM_REQUIRE(p.seed <= kDropoutMaxCounter, op, "argument 'seed': expected an integer in [0, 2^53), got " << p.seed);
  GLM_REQUIRE(p.offset <= kDropoutMaxCounter, op, "argument 'offset': expected an integer in [0, 2^53), got " << p.offset);
  GLM_REQUIRE(B <= int64_t(UINT32_MAX), op, "argument 'logits': expected at most 2^32 - 1 rows, got " << B);
  return Inputs{B, V, L, biasRows};
}

}  // namespace

namespace {

// Both ops check the same inputs and call a kernel of the same arguments; only the output differs.
// `kernels(tag)` returns the {cpu, cuda} entry points for logits of type decltype(tag).
template <typename Out, typename Kernels>
void runSample(const char* op, const Inputs& n, const TensorRef& out, const TensorRef& logits,
               const std::optional<TensorRef>& history, const std::optional<TensorRef>& bias, const SampleParams& params,
               Kernels kernels) {
  if (n.B == 0) return;
  const TensorRef h = history ? *history : TensorRef{}, bi = bias ? *bias : TensorRef{};
  const bool hasH = history && n.L > 0, hasB = bias.has_value();
  const SampleParams p = params;
  withFloatType(logits.dtype, op, [&](auto tag) {
    using T = decltype(tag);
    const auto entries = kernels(tag);
    const auto cpuKernel = entries.first;
    const auto cudaKernel = entries.second;
    (void)cudaKernel;  // unused when CUDA is not compiled in
    dispatch(op, logits.device(),
             [=] {
               cpuKernel(out.data<Out>(), logits.data<T>(), hasH ? h.data<int32_t>() : nullptr,
                         hasB ? bi.data<float>() : nullptr, n.B, n.V, n.L, n.biasRows, p);
             },
             GLM_CUDA_WORK([=](void* s) {
               cudaKernel(out.data<Out>(), logits.data<T>(), hasH ? h.data<int32_t>() : nullptr,
                          hasB ? bi.data<float>() : nullptr, n.B, n.V, n.L, n.biasRows, p, s);
             }));
  });
}

#ifdef GLM_WITH_CUDA
#define GLM_SAMPLE_CUDA(fn) &cuda::fn<decltype(tag)>
#else
#define GLM_SAMPLE_CUDA(fn) nullptr
#endif

}  // namespace

void sampleTokensOp(const TensorRef& out, const TensorRef& logits, const std::optional<TensorRef>& history,
                    const std::optional<TensorRef>& bias, const SampleParams& params) {
  const char* op = "sampleTokens";
  const Inputs in = checkInputs(op, logits, history, bias, params);
  requireDType(op, "out", out, {DType::I32});
  requireSameDevice(op, "out", out, logits.device());
  requireShape(op, "out", out, Shape{in.B});
  runSample<int32_t>(op, in, out, logits, history, bias, params, [](auto tag) {
    return std::make_pair(&cpu::sampleTokens<decltype(tag)>, GLM_SAMPLE_CUDA(sampleTokens));
  });
}

void sampleLogitsOp(const TensorRef& out, const TensorRef& logits, const std::optional<TensorRef>& history,
                    const std::optional<TensorRef>& bias, const SampleParams& params) {
  const char* op = "sampleLogits";
  const Inputs in = checkInputs(op, logits, history, bias, params);
  requireDType(op, "out", out, {DType::F32});
  requireSameDevice(op, "out", out, logits.device());
  requireShape(op, "out", out, logits.shape);
  requireNoOverlap(op, "out", out, "logits", logits);
  runSample<float>(op, in, out, logits, history, bias, params, [](auto tag) {
    return std::make_pair(&cpu::sampleLogits<decltype(tag)>, GLM_SAMPLE_CUDA(sampleLogits));
  });
}

}  // namespace glm
