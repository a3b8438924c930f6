// JS binding of permute: unpack, then call the dispatch layer.
#include "../ops/layout.h"

#include "../core/error.h"
#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// permute(out, x, perm[])
Napi::Value Permute(const Napi::CallbackInfo& info) {
  const char* op = "permute";
  Args g(info, op);
  TensorRef out = g.tensor(0, "out"), x = g.tensor(1, "x");
  GLM_REQUIRE(info.Length() > 2 && info[2].IsArray(), op, "argument 'perm': expected an array of dims");
  auto arr = info[2].As<Napi::Array>();
  GLM_REQUIRE(arr.Length() <= 6, op, "argument 'perm': expected at most 6 dims, got " << arr.Length());
  std::vector<int> perm(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    GLM_REQUIRE(v.IsNumber(), op, "argument 'perm': element " << k << " is not a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    GLM_REQUIRE(d >= 0 && d < 6 && double(int(d)) == d, op, "argument 'perm': expected dims in [0, 6), got " << d << " at position " << k);
    perm[k] = int(d);
  }
  permuteOp(out, x, perm);
  return info.Env().Undefined();
}

GLM_BINDING("permute", Permute);

}  // namespace
}  // namespace glm
