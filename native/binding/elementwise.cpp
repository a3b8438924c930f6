// JS bindings of the elementwise ops: unpack, then call the dispatch layer.
#include "../ops/elementwise.h"

#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// add(out, a, b, beta)
Napi::Value Add(const Napi::CallbackInfo& info) {
  Args g(info, "add");
  addOp(g.tensor(0, "out"), g.tensor(1, "a"), g.tensor(2, "b"), float(g.finite(3, "beta")));
  return info.Env().Undefined();
}

// mul(out, a, b)
Napi::Value Mul(const Napi::CallbackInfo& info) {
  Args g(info, "mul");
  mulOp(g.tensor(0, "out"), g.tensor(1, "a"), g.tensor(2, "b"));
  return info.Env().Undefined();
}

// scale(out, a, s)
Napi::Value Scale(const Napi::CallbackInfo& info) {
  Args g(info, "scale");
  scaleOp(g.tensor(0, "out"), g.tensor(1, "a"), float(g.finite(2, "s")));
  return info.Env().Undefined();
}

// sumRows(out, a, alpha, beta)
Napi::Value SumRows(const Napi::CallbackInfo& info) {
  Args g(info, "sumRows");
  sumRowsOp(g.tensor(0, "out"), g.tensor(1, "a"), float(g.finite(2, "alpha")), float(g.finite(3, "beta")));
  return info.Env().Undefined();
}

// sumAll(out, a, s)
Napi::Value SumAll(const Napi::CallbackInfo& info) {
  Args g(info, "sum");
  sumAllOp(g.tensor(0, "out"), g.tensor(1, "a"), float(g.finite(2, "s")));
  return info.Env().Undefined();
}

// broadcastScalar(out, g, s)
Napi::Value BroadcastScalar(const Napi::CallbackInfo& info) {
  Args g(info, "broadcastScalar");
  broadcastScalarOp(g.tensor(0, "out"), g.tensor(1, "g"), float(g.finite(2, "s")));
  return info.Env().Undefined();
}

GLM_BINDING("add", Add);
GLM_BINDING("mul", Mul);
GLM_BINDING("scale", Scale);
GLM_BINDING("sumRows", SumRows);
GLM_BINDING("sumAll", SumAll);
GLM_BINDING("broadcastScalar", BroadcastScalar);

}  // namespace
}  // namespace glm
