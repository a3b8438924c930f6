// JS bindings of the fused attention op: unpack, then call the dispatch layer.
#include "../ops/attention.h"

#include "args.h"
#include "registry.h"

namespace glm {
namespace {

AttentionOptions options(const Args& g, size_t at) {
  AttentionOptions o;
  o.mask = static_cast<int>(g.integer(at, "mask"));
  o.prefix = g.integer(at + 1, "prefix");
  o.scale = static_cast<float>(g.finite(at + 2, "scale"));
  return o;
}

// attentionForward(out, lse, q, k, v, keyLengths | null, mask, prefix, scale)
Napi::Value AttentionForward(const Napi::CallbackInfo& info) {
  Args g(info, "attention");
  attentionForwardOp(g.tensor(0, "out"), g.tensor(1, "lse"), g.tensor(2, "q"), g.tensor(3, "k"), g.tensor(4, "v"),
                     g.optTensor(5, "keyLengths"), options(g, 6));
  return info.Env().Undefined();
}

// attentionBackward(dq, dk, dv, dout, q, k, v, out, lse, keyLengths | null, mask, prefix, scale)
Napi::Value AttentionBackward(const Napi::CallbackInfo& info) {
  Args g(info, "attentionBackward");
  attentionBackwardOp(g.tensor(0, "dq"), g.tensor(1, "dk"), g.tensor(2, "dv"), g.tensor(3, "dout"), g.tensor(4, "q"),
                      g.tensor(5, "k"), g.tensor(6, "v"), g.tensor(7, "out"), g.tensor(8, "lse"),
                      g.optTensor(9, "keyLengths"), options(g, 10));
  return info.Env().Undefined();
}

GLM_BINDING("attentionForward", AttentionForward);
GLM_BINDING("attentionBackward", AttentionBackward);

}  // namespace
}  // namespace glm
