// JS bindings of the optimizer ops: unpack, then call the dispatch layer.
#include "../ops/optim.h"

#include <string>

#include "../core/error.h"
#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// An array of tensor handles (argument i); elements are named "name[k]" in errors.
std::vector<TensorRef> tensorList(const Args& g, size_t i, const char* op, const char* name) {
  GLM_REQUIRE(i < g.info().Length() && g.info()[i].IsArray(), op, "argument '" << name << "': expected an array of tensors");
  auto arr = g.info()[i].As<Napi::Array>();
  std::vector<TensorRef> out;
  out.reserve(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    const std::string item = std::string(name) + "[" + std::to_string(k) + "]";
    out.push_back(unwrapTensor(arr.Get(k), op, item.c_str()));
  }
  return out;
}

std::vector<float> numberList(const Args& g, size_t i, const char* op, const char* name) {
  GLM_REQUIRE(i < g.info().Length() && g.info()[i].IsArray(), op, "argument '" << name << "': expected an array of numbers");
  auto arr = g.info()[i].As<Napi::Array>();
  std::vector<float> out(arr.Length());
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value v = arr.Get(k);
    GLM_REQUIRE(v.IsNumber(), op, "argument '" << name << "': element " << k << " is not a number");
    out[k] = float(v.As<Napi::Number>().DoubleValue());
  }
  return out;
}

// adamwStep(params[], grads[], m[], v[], weightDecays[], lr, beta1, beta2, eps, step, gradScale | null)
Napi::Value AdamWStep(const Napi::CallbackInfo& info) {
  const char* op = "adamw";
  Args g(info, op);
  AdamWParams hp;
  hp.lr = float(g.finite(5, "lr"));
  hp.beta1 = float(g.finite(6, "beta1"));
  hp.beta2 = float(g.finite(7, "beta2"));
  hp.eps = float(g.finite(8, "eps"));
  hp.step = g.integer(9, "step");
  adamwStepOp(tensorList(g, 0, op, "params"), tensorList(g, 1, op, "grads"), tensorList(g, 2, op, "m"),
              tensorList(g, 3, op, "v"), numberList(g, 4, op, "weightDecays"), hp, g.optTensor(10, "gradScale"));
  return info.Env().Undefined();
}

// sumSquares(sumSq, xs[])
Napi::Value SumSquares(const Napi::CallbackInfo& info) {
  const char* op = "sumSquares";
  Args g(info, op);
  sumSquaresOp(g.tensor(0, "sumSq"), tensorList(g, 1, op, "xs"));
  return info.Env().Undefined();
}

// clipCoefficient(norm, coef, sumSq, maxNorm)
Napi::Value ClipCoefficient(const Napi::CallbackInfo& info) {
  Args g(info, "clipCoefficient");
  clipCoefficientOp(g.tensor(0, "norm"), g.tensor(1, "coef"), g.tensor(2, "sumSq"), float(g.finite(3, "maxNorm")));
  return info.Env().Undefined();
}

GLM_BINDING("adamwStep", AdamWStep);
GLM_BINDING("sumSquares", SumSquares);
GLM_BINDING("clipCoefficient", ClipCoefficient);

}  // namespace
}  // namespace glm
