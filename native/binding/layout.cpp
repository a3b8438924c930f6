// JS binding of permute: unpack, then call the dispatch layer.
#include "../ops/layout.h"

#include <vector>

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

// One integer per row (argument i): cache positions and counts, each in [0, 2^31).
std::vector<int64_t> rowIntegers(const Napi::CallbackInfo& info, size_t i, const char* op, const char* name) {
  GLM_REQUIRE(info.Length() > i && info[i].IsArray(), op, "argument '" << name << "': expected an array of integers (one per row)");
  auto arr = info[i].As<Napi::Array>();
  std::vector<int64_t> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    GLM_REQUIRE(v.IsNumber(), op, "argument '" << name << "': element " << k << " is not a number");
    const double d = v.As<Napi::Number>().DoubleValue();
    GLM_REQUIRE(d >= 0 && d < 2147483648.0 && double(int64_t(d)) == d, op,
                "argument '" << name << "': expected integers in [0, 2^31), got " << d << " at position " << k);
    out[k] = int64_t(d);
  }
  return out;
}

// cacheWrite(dst, src, start[], count[])
Napi::Value CacheWrite(const Napi::CallbackInfo& info) {
  const char* op = "cacheWrite";
  Args g(info, op);
  TensorRef dst = g.tensor(0, "dst"), src = g.tensor(1, "src");
  cacheWriteOp(dst, src, rowIntegers(info, 2, op, "start"), rowIntegers(info, 3, op, "count"));
  return info.Env().Undefined();
}

// cacheWriteAt(dst, src, positions)
Napi::Value CacheWriteAt(const Napi::CallbackInfo& info) {
  Args g(info, "cacheWrite");
  cacheWriteAtOp(g.tensor(0, "dst"), g.tensor(1, "src"), g.tensor(2, "positions"));
  return info.Env().Undefined();
}

GLM_BINDING("cacheWrite", CacheWrite);
GLM_BINDING("cacheWriteAt", CacheWriteAt);

}  // namespace
}  // namespace glm
