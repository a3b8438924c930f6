// Fused softmax cross-entropy: the loss and d(loss)/d(logits) in one pass over the logits, never
// materialising the probabilities.
//
// logits (N, V), targets (N) i32. Rows whose target == ignoreIndex do not count.
// loss (1) f32 = mean (meanReduction) or sum over counted rows of logsumexp(row) - row[target].
// validCount (1) f32 = the number of counted rows; optional (null: not written).
// dlogits (N, V), optional (null: loss only) = d(loss)/d(logits) assuming d(loss) = 1, i.e.
// (softmax(row) - onehot(target)) / (meanReduction ? validCount : 1), and 0 on ignored rows. dlogits may
// equal logits (computed in place, saving N·V memory).
// A target outside [0, V) that is not ignoreIndex is an error naming the row.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cpu {

template <typename T>
void softmaxCrossEntropy(float* loss, float* validCount, T* dlogits, const T* logits, const int32_t* targets, int64_t N,
                         int64_t V, int32_t ignoreIndex, bool meanReduction);

}  // namespace glm::cpu
