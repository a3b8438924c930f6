// JS binding of dropout: unpack, then call the dispatch layer. The same native function serves the
// forward (on x) and the backward (on dout, with the same p, seed and offset).
#include <cmath>

#include "../core/error.h"
#include "../cpu/dropout.h"
#include "../ops/dropout.h"
#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// An integer in [0, 2^53): seeds and counters travel as JS numbers, exact up to there.
uint64_t counterArg(const Args& g, size_t i, const char* name) {
  const double d = g.number(i, name);
  GLM_REQUIRE(std::isfinite(d) && std::floor(d) == d && d >= 0 && d <= double(kDropoutMaxCounter), "dropout",
              "argument '" << name << "': expected an integer in [0, 2^53), got " << d);
  return uint64_t(d);
}

// dropout(out, x, p, seed, offset)
Napi::Value Dropout(const Napi::CallbackInfo& info) {
  Args g(info, "dropout");
  dropoutOp("dropout", g.tensor(0, "out"), g.tensor(1, "x"), g.number(2, "p"), counterArg(g, 3, "seed"),
            counterArg(g, 4, "offset"));
  return info.Env().Undefined();
}

GLM_BINDING("dropout", Dropout);

}  // namespace
}  // namespace glm
