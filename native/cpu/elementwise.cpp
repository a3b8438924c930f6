// CPU elementwise and reduction kernels; see elementwise.h. Memory-bound loops written so that the
// compiler vectorises them; the f32 paths avoid any per-element conversion.
#include "elementwise.h"

#include <algorithm>
#include <vector>

#include "../core/threadpool.h"

namespace glm::cpu {
namespace {
constexpr int64_t kGrain = 1 << 15;

template <typename T> inline float ld(const T* p, int64_t i) { return toF32(p[i]); }
template <typename T> inline void st(T* p, int64_t i, float v) { p[i] = fromF32<T>(v); }
}  // namespace

template <typename T> void add(T* out, const T* a, const T* b, float beta, int64_t n, int64_t n2) {
  parallelFor(n, kGrain, [=](int64_t s, int64_t e) {
    if (n2 == n) {
      for (int64_t i = s; i < e; i++) st(out, i, ld(a, i) + beta * ld(b, i));
    } else {
      for (int64_t i = s; i < e; i++) st(out, i, ld(a, i) + beta * ld(b, i % n2));
    }
  });
}

template <typename T> void mul(T* out, const T* a, const T* b, int64_t n, int64_t n2) {
  parallelFor(n, kGrain, [=](int64_t s, int64_t e) {
    if (n2 == n) {
      for (int64_t i = s; i < e; i++) st(out, i, ld(a, i) * ld(b, i));
    } else {
      for (int64_t i = s; i < e; i++) st(out, i, ld(a, i) * ld(b, i % n2));
    }
  });
}

template <typename T> void scale(T* out, const T* a, float sc, int64_t n) {
  parallelFor(n, kGrain, [=](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; i++) st(out, i, sc * ld(a, i));
  });
}

template <typename T> void sumRows(T* out, const T* a, float alpha, float beta, int64_t n, int64_t n2) {
  const int64_t rows = n2 ? n / n2 : 0;
  // Columns are split across threads; each thread walks all rows of its column block, so the
  // result does not depend on the thread count.
  parallelFor(n2, 256, [=](int64_t c0, int64_t c1) {
    std::vector<double> acc(c1 - c0, 0.0);
    for (int64_t r = 0; r < rows; r++) {
      const T* row = a + r * n2;
      for (int64_t c = c0; c < c1; c++) acc[c - c0] += ld(row, c);
    }
    for (int64_t c = c0; c < c1; c++) {
      float prev = beta == 0.0f ? 0.0f : beta * ld(out, c);
      st(out, c, prev + alpha * float(acc[c - c0]));
    }
  });
}

template <typename T> void sumAll(float* out, const T* a, float s, int64_t n) {
  // Fixed blocks (not per-thread shares) so the sum is the same whatever the thread count.
  const int64_t block = 1 << 14;
  const int64_t blocks = (n + block - 1) / block;
  std::vector<double> partial(std::max<int64_t>(blocks, 1), 0.0);
  parallelFor(blocks, 1, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      double acc = 0;
      const int64_t e = std::min(n, (b + 1) * block);
      for (int64_t i = b * block; i < e; i++) acc += ld(a, i);
      partial[b] = acc;
    }
  });
  double total = 0;
  for (double p : partial) total += p;
  out[0] = float(total * s);
}

template <typename T> void broadcastScalar(T* out, const float* g, float s, int64_t n) {
  const float v = g[0] * s;
  parallelFor(n, kGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) st(out, i, v);
  });
}

#define GLM_INSTANTIATE(T)                                                            \
  template void add<T>(T*, const T*, const T*, float, int64_t, int64_t);             \
  template void mul<T>(T*, const T*, const T*, int64_t, int64_t);                    \
  template void scale<T>(T*, const T*, float, int64_t);                              \
  template void sumRows<T>(T*, const T*, float, float, int64_t, int64_t);            \
  template void sumAll<T>(float*, const T*, float, int64_t);                         \
  template void broadcastScalar<T>(T*, const float*, float, int64_t);
GLM_INSTANTIATE(float)
GLM_INSTANTIATE(bf16)
#undef GLM_INSTANTIATE

}  // namespace glm::cpu
