// JS bindings of the rotary position embedding: unpack, then call the dispatch layer.
#include "../ops/rope.h"

#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// rope(out, x, base, positionOffset)
Napi::Value Rope(const Napi::CallbackInfo& info) {
  Args g(info, "rope");
  ropeOp("rope", g.tensor(0, "out"), g.tensor(1, "x"), g.number(2, "base"), g.integer(3, "positionOffset"), false);
  return info.Env().Undefined();
}

// ropeBackward(dx, dout, base, positionOffset)
Napi::Value RopeBackward(const Napi::CallbackInfo& info) {
  Args g(info, "ropeBackward");
  ropeOp("ropeBackward", g.tensor(0, "dx"), g.tensor(1, "dout"), g.number(2, "base"), g.integer(3, "positionOffset"),
         true);
  return info.Env().Undefined();
}

// ropeAt(out, x, base, positions)
Napi::Value RopeAt(const Napi::CallbackInfo& info) {
  Args g(info, "rope");
  ropeAtOp(g.tensor(0, "out"), g.tensor(1, "x"), g.number(2, "base"), g.tensor(3, "positions"));
  return info.Env().Undefined();
}

GLM_BINDING("rope", Rope);
GLM_BINDING("ropeAt", RopeAt);
GLM_BINDING("ropeBackward", RopeBackward);

}  // namespace
}  // namespace glm
