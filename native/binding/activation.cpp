// JS bindings of the activation ops: unpack, then call the dispatch layer.
#include "../ops/activation.h"

#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// gelu(out, x)
Napi::Value Gelu(const Napi::CallbackInfo& info) {
  Args g(info, "gelu");
  geluOp(g.tensor(0, "out"), g.tensor(1, "x"));
  return info.Env().Undefined();
}

// geluBackward(dx, dout, x)
Napi::Value GeluBackward(const Napi::CallbackInfo& info) {
  Args g(info, "geluBackward");
  geluBackwardOp(g.tensor(0, "dx"), g.tensor(1, "dout"), g.tensor(2, "x"));
  return info.Env().Undefined();
}

GLM_BINDING("gelu", Gelu);
GLM_BINDING("geluBackward", GeluBackward);

}  // namespace
}  // namespace glm
