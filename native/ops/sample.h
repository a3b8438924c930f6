// Dispatch of token sampling (rules in native/cpu/sample.h) to the CPU or CUDA kernel.
#pragma once
#include <optional>

#include "../core/tensor.h"
#include "../cpu/sample.h"

namespace glm {

// out (B) i32 = tokens sampled from logits (B, V) f32/bf16. history: (B, L) i32 ids in [-1, V) or
// none; bias: f32 (V) or (B, V) or none; all on logits' device. Hyper-parameters are checked here
// (temperature >= 0, topK >= 0, topP in (0, 1], minP in [0, 1), repetitionPenalty > 0, the others
// finite, seed and offset below 2^53).
void sampleTokensOp(const TensorRef& out, const TensorRef& logits, const std::optional<TensorRef>& history,
                    const std::optional<TensorRef>& bias, const SampleParams& params);

// out (B, V) f32 = logits after bias and penalties (steps 1 and 2): what the filters see.
void sampleLogitsOp(const TensorRef& out, const TensorRef& logits, const std::optional<TensorRef>& history,
                    const std::optional<TensorRef>& bias, const SampleParams& params);

}  // namespace glm
