// Embedding ops: validate, then run the CPU or CUDA kernels of embedding.h.
#pragma once
#include "../core/tensor.h"

namespace glm {

// out (..., C) = table (V, C)[ids (...)]; table f32/bf16, ids i32. An id outside [0, V) is a
// deferred error of the device's stream (the ids may not have been computed yet).
void embeddingForwardOp(const TensorRef& out, const TensorRef& table, const TensorRef& ids);

// dtable (V, C) = scatter-add of dout (..., C) rows by ids (...); assigned, deterministic.
void embeddingBackwardOp(const TensorRef& dtable, const TensorRef& dout, const TensorRef& ids);

}  // namespace glm
