// JS binding of matmul: unpack, then call the dispatch layer.
#include "../ops/matmul.h"

#include "../core/error.h"
#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// matmul(out, preact | null, a, b, bias | null, transA, transB, alpha, beta, activation: "none" | "gelu")
Napi::Value Matmul(const Napi::CallbackInfo& info) {
  const char* op = "matmul";
  Args g(info, op);
  const std::string act = g.string(9, "activation");
  GLM_REQUIRE(act == "none" || act == "gelu", op,
              "argument 'activation': expected \"none\" or \"gelu\", got \"" << act << "\"");
  matmulOp(g.tensor(0, "out"), g.optTensor(1, "preact"), g.tensor(2, "a"), g.tensor(3, "b"), g.optTensor(4, "bias"),
           g.boolean(5, "transA"), g.boolean(6, "transB"), float(g.finite(7, "alpha")), float(g.finite(8, "beta")),
           act == "gelu" ? Epilogue::Gelu : Epilogue::None);
  return info.Env().Undefined();
}

GLM_BINDING("matmul", Matmul);

}  // namespace
}  // namespace glm
