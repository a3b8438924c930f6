// JS binding of token sampling: unpack, then call the dispatch layer.
//   sampleTokens(out, logits, history | null, logitBias | null, temperature, topK, topP, minP,
//                repetitionPenalty, frequencyPenalty, presencePenalty, seed, offset)
//   sampleLogits(out, logits, history | null, logitBias | null, <the same numbers>)
#include <cmath>

#include "../core/error.h"
#include "../ops/sample.h"
#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// An integer in [0, 2^53): seeds and counters travel as JS numbers, exact up to there.
uint64_t counterArg(const Args& g, size_t i, const char* op, const char* name) {
  const double d = g.number(i, name);
  GLM_REQUIRE(std::isfinite(d) && std::floor(d) == d && d >= 0 && d <= double(kDropoutMaxCounter), op,
              "argument '" << name << "': expected an integer in [0, 2^53), got " << d);
  return uint64_t(d);
}

SampleParams params(const Args& g, const char* op) {
  SampleParams p{};
  p.temperature = float(g.finite(4, "temperature"));
  const double k = g.number(5, "topK");
  GLM_REQUIRE(std::isfinite(k) && std::floor(k) == k && k >= 0, op, "argument 'topK': expected an integer >= 0, got " << k);
  p.topK = k > 9e18 ? INT64_MAX : int64_t(k);
  p.topP = float(g.number(6, "topP"));
  p.minP = float(g.number(7, "minP"));
  p.repetitionPenalty = float(g.number(8, "repetitionPenalty"));
  p.frequencyPenalty = float(g.number(9, "frequencyPenalty"));
  p.presencePenalty = float(g.number(10, "presencePenalty"));
  p.seed = counterArg(g, 11, op, "seed");
  p.offset = counterArg(g, 12, op, "offset");
  return p;
}

Napi::Value SampleTokens(const Napi::CallbackInfo& info) {
  Args g(info, "sampleTokens");
  sampleTokensOp(g.tensor(0, "out"), g.tensor(1, "logits"), g.optTensor(2, "history"), g.optTensor(3, "logitBias"),
                 params(g, "sampleTokens"));
  return info.Env().Undefined();
}

Napi::Value SampleLogits(const Napi::CallbackInfo& info) {
  Args g(info, "sampleLogits");
  sampleLogitsOp(g.tensor(0, "out"), g.tensor(1, "logits"), g.optTensor(2, "history"), g.optTensor(3, "logitBias"),
                 params(g, "sampleLogits"));
  return info.Env().Undefined();
}

GLM_BINDING("sampleTokens", SampleTokens);
GLM_BINDING("sampleLogits", SampleLogits);

}  // namespace
}  // namespace glm
