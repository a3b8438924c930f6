// CPU embedding lookup and its scatter-add backward; see embedding.h.
//
// The forward copies rows (memcpy: the dtype never changes). The backward sorts the positions by id
// (a stable counting sort, so each id's positions stay in increasing order), then each table row is
// owned by one task: it is the sum of its dout rows, added in position order, or zero. No two tasks
// write the same row and the order of additions is fixed, hence deterministic without atomics.
#include "embedding.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/error.h"
#include "../core/threadpool.h"
#include "simd_f32.h"

namespace glm::cpu {
namespace {
using namespace simd;

// Checked on the calling thread, before anything is written: a kernel error must not be thrown
// from a pool worker.
void checkIds(const int32_t* ids, int64_t N, int64_t V) {
  for (int64_t n = 0; n < N; n++)
    GLM_REQUIRE(ids[n] >= 0 && ids[n] < V, "embedding",
                "argument 'ids': expected values in [0, " << V << "), got " << ids[n] << " at index " << n);
}

template <typename T> struct Scatter {
  T* dtable;
  const T* dout;
  const int64_t* start;  // (V + 1): positions of id v are order[start[v] .. start[v + 1])
  const int64_t* order;  // (N)
  int64_t C;
};

template <class Vec, class T> inline void scatterRows(const Scatter<T>& s, int64_t v0, int64_t v1) {
  constexpr int L = Vec::kLanes;
  const int64_t C = s.C;
  for (int64_t v = v0; v < v1; v++) {
    T* dst = s.dtable + v * C;
    const int64_t k0 = s.start[v], k1 = s.start[v + 1];
    if (k0 == k1) {
      std::memset(dst, 0, C * sizeof(T));  // +0.0 is all-zero bits in f32 and bf16
      continue;
    }
    if (k1 - k0 == 1) {
      std::memcpy(dst, s.dout + s.order[k0] * C, C * sizeof(T));
      continue;
    }
    // Repeated id: accumulate in f32 registers, one column block at a time, rows in position order.
    int64_t i = 0;
    for (; i + L <= C; i += L) {
      Vec acc = Vec::load(s.dout + s.order[k0] * C + i);
      for (int64_t k = k0 + 1; k < k1; k++) acc = acc + Vec::load(s.dout + s.order[k] * C + i);
      acc.store(dst + i);
    }
    if (i < C) {
      const int n = int(C - i);
      Vec acc = Vec::loadPartial(s.dout + s.order[k0] * C + i, n, 0.0f);
      for (int64_t k = k0 + 1; k < k1; k++) acc = acc + Vec::loadPartial(s.dout + s.order[k] * C + i, n, 0.0f);
      acc.storePartial(dst + i, n);
    }
  }
}

template <class T> GLM_SIMD_ENTRY_AVX512 void scatterAvx512(const Scatter<T>& s, int64_t v0, int64_t v1) {
  scatterRows<VecAvx512>(s, v0, v1);
}
template <class T> GLM_SIMD_ENTRY_AVX2 void scatterAvx2(const Scatter<T>& s, int64_t v0, int64_t v1) {
  scatterRows<VecAvx2>(s, v0, v1);
}

}  // namespace

template <typename T> void embeddingForward(T* out, const T* table, const int32_t* ids, int64_t N, int64_t V, int64_t C) {
  checkIds(ids, N, V);
  parallelFor(N, std::max<int64_t>(1, 65536 / std::max<int64_t>(C, 1)), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; n++) std::memcpy(out + n * C, table + int64_t(ids[n]) * C, C * sizeof(T));
  });
}

template <typename T> void embeddingBackward(T* dtable, const T* dout, const int32_t* ids, int64_t N, int64_t V, int64_t C) {
  checkIds(ids, N, V);
  std::vector<int64_t> start(V + 1, 0), order(N);
  for (int64_t n = 0; n < N; n++) start[ids[n] + 1]++;
  for (int64_t v = 0; v < V; v++) start[v + 1] += start[v];
  {
    std::vector<int64_t> cursor(start.begin(), start.end() - 1);
    for (int64_t n = 0; n < N; n++) order[cursor[ids[n]]++] = n;
  }
  const Scatter<T> s{dtable, dout, start.data(), order.data(), C};
  const int level = cpuLevel();
  parallelFor(V, std::max<int64_t>(1, 65536 / std::max<int64_t>(C, 1)), [&](int64_t v0, int64_t v1) {
    if (level >= 2) scatterAvx512(s, v0, v1);
    else if (level == 1) scatterAvx2(s, v0, v1);
    else scatterRows<VecScalar>(s, v0, v1);
  });
}

#define GLM_INSTANTIATE(T)                                                                        \
  template void embeddingForward<T>(T*, const T*, const int32_t*, int64_t, int64_t, int64_t); \
  template void embeddingBackward<T>(T*, const T*, const int32_t*, int64_t, int64_t, int64_t);
GLM_INSTANTIATE(float)
GLM_INSTANTIATE(bf16)
#undef GLM_INSTANTIATE

}  // namespace glm::cpu
