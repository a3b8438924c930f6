// JS binding of the fused softmax cross-entropy: unpack, then call the dispatch layer.
#include "../ops/cross_entropy.h"

#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// softmaxCrossEntropy(loss, validCount | null, dlogits | null, logits, targets, ignoreIndex, meanReduction)
Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  Args g(info, "softmaxCrossEntropy");
  softmaxCrossEntropyOp(g.tensor(0, "loss"), g.optTensor(1, "validCount"), g.optTensor(2, "dlogits"), g.tensor(3, "logits"),
                        g.tensor(4, "targets"), g.integer(5, "ignoreIndex"), g.boolean(6, "meanReduction"));
  return info.Env().Undefined();
}

GLM_BINDING("softmaxCrossEntropy", SoftmaxCrossEntropy);

}  // namespace
}  // namespace glm
