// JS bindings of LayerNorm: unpack, then call the dispatch layer.
#include "../ops/layernorm.h"

#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// layerNormForward(out, mean | null, rstd | null, x, weight, bias | null, eps)
Napi::Value LayerNormForward(const Napi::CallbackInfo& info) {
  Args g(info, "layerNorm");
  layernormForwardOp(g.tensor(0, "out"), g.optTensor(1, "mean"), g.optTensor(2, "rstd"), g.tensor(3, "x"), g.tensor(4, "weight"),
                     g.optTensor(5, "bias"), g.finite(6, "eps"));
  return info.Env().Undefined();
}

// layerNormBackward(dx, dweight, dbias | null, dout, x, weight, mean, rstd)
Napi::Value LayerNormBackward(const Napi::CallbackInfo& info) {
  Args g(info, "layerNormBackward");
  layernormBackwardOp(g.tensor(0, "dx"), g.tensor(1, "dweight"), g.optTensor(2, "dbias"), g.tensor(3, "dout"),
                      g.tensor(4, "x"), g.tensor(5, "weight"), g.tensor(6, "mean"), g.tensor(7, "rstd"));
  return info.Env().Undefined();
}

GLM_BINDING("layerNormForward", LayerNormForward);
GLM_BINDING("layerNormBackward", LayerNormBackward);

}  // namespace
}  // namespace glm
