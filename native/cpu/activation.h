// GELU (tanh approximation, as GPT-2): gelu(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cpu {

// out (n) = gelu(inp (n)); out may alias inp.
template <typename T> void geluForward(T* out, const T* inp, int64_t n);
// dinp (n) = dout · gelu'(inp); dinp may alias dout. Assigns.
template <typename T> void geluBackward(T* dinp, const T* dout, const T* inp, int64_t n);

}  // namespace glm::cpu
