// CUDA embedding: the contract of native/cpu/embedding.h, on a stream. Out-of-range ids become a
// deferred error of the stream; the backward is deterministic (no float atomics in arbitrary order).
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cuda {

template <typename T>
void embeddingForward(T* out, const T* table, const int32_t* ids, int64_t N, int64_t V, int64_t C, void* stream);

template <typename T>
void embeddingBackward(T* dtable, const T* dout, const int32_t* ids, int64_t N, int64_t V, int64_t C, void* stream);

}  // namespace glm::cuda
