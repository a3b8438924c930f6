// Embedding lookup: out (N, C) = table (V, C)[ids (N)]; backward scatter-adds rows of dout into a
// zeroed dtable (V, C), deterministically (the same result whatever the thread count or id order).
// An id outside [0, V) is an error naming its index. Gradient convention: dtable is assigned (=).
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cpu {

template <typename T>
void embeddingForward(T* out, const T* table, const int32_t* ids, int64_t N, int64_t V, int64_t C);

template <typename T>
void embeddingBackward(T* dtable, const T* dout, const int32_t* ids, int64_t N, int64_t V, int64_t C);

}  // namespace glm::cpu
