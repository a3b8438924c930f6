// JS bindings of the embedding lookup: unpack, then call the dispatch layer.
#include "../ops/embedding.h"

#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// embeddingForward(out, table, ids)
Napi::Value EmbeddingForward(const Napi::CallbackInfo& info) {
  Args g(info, "embedding");
  embeddingForwardOp(g.tensor(0, "out"), g.tensor(1, "table"), g.tensor(2, "ids"));
  return info.Env().Undefined();
}

// embeddingBackward(dtable, dout, ids)
Napi::Value EmbeddingBackward(const Napi::CallbackInfo& info) {
  Args g(info, "embeddingBackward");
  embeddingBackwardOp(g.tensor(0, "dtable"), g.tensor(1, "dout"), g.tensor(2, "ids"));
  return info.Env().Undefined();
}

GLM_BINDING("embeddingForward", EmbeddingForward);
GLM_BINDING("embeddingBackward", EmbeddingBackward);

}  // namespace
}  // namespace glm
