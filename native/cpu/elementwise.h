// CPU elementwise and reduction kernels. T is float or bf16 (computed in f32).
// Broadcasting is by suffix: b has n2 elements and is repeated over the leading n / n2 rows of a.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cpu {

// out (n) = a (n) + beta * b (n2), n % n2 == 0. out may alias a or b exactly.
template <typename T> void add(T* out, const T* a, const T* b, float beta, int64_t n, int64_t n2);
// out (n) = a (n) * b (n2)
template <typename T> void mul(T* out, const T* a, const T* b, int64_t n, int64_t n2);
// out (n) = s * a (n)
template <typename T> void scale(T* out, const T* a, float s, int64_t n);
// out (n2) = beta * out + alpha * sum over the n / n2 rows of a (n). Accumulated in f32 per
// column block, in double across threads.
template <typename T> void sumRows(T* out, const T* a, float alpha, float beta, int64_t n, int64_t n2);
// out (1, f32) = s * sum(a (n)), accumulated in double.
template <typename T> void sumAll(float* out, const T* a, float s, int64_t n);
// out (n) = s * g[0] (g is f32, one element)
template <typename T> void broadcastScalar(T* out, const float* g, float s, int64_t n);

}  // namespace glm::cpu
