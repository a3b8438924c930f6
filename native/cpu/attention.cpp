// CPU flash attention: validation of the key lengths, the split of the work into tasks over the
// thread pool, and the deterministic reduction of dq. The per-task math lives in
// attention_kernel.inc, compiled per instruction set and picked here by cpuLevel().
//
// Forward tasks are (head, group of query blocks): each writes its own rows of out and lse.
// Backward tasks are (head, group of key blocks): each writes its own rows of dk and dv (one writer,
// no atomics) and its share of dq. When a head is one group (the usual case: B*H covers the
// threads), that share is dq itself; otherwise the groups' shares go to f32 buffers summed in group
// order. The grouping depends only on the shapes, never on the thread count, so results are the
// same bit for bit on every run and every pool size.
#include <algorithm>
#include <exception>
#include <mutex>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/error.h"
#include "../core/threadpool.h"
#include "attention.h"
#include "attention_isa.h"

namespace glm::cpu {
namespace {

// Enough tasks per call to keep a pool of a few threads busy when B*H alone is small.
constexpr int64_t kMinBackwardTasks = 16;
constexpr int64_t kForwardTasksPerThread = 4;

void checkKeyLengths(const int32_t* keyLengths, const AttentionParams& p) {
  if (!keyLengths) return;
  for (int64_t b = 0; b < p.B; b++)
    GLM_REQUIRE(keyLengths[b] >= 0 && keyLengths[b] <= p.Tk, "attention",
                "keyLengths[" << b << "] = " << keyLengths[b] << " is outside [0, " << p.Tk << "] (the number of keys)");
}

template <typename T> attn::ForwardRowsFn<T> forwardFn() {
  switch (cpuLevel()) {
    case 2: return attn::avx512::forwardRows<T>;
    case 1: return attn::avx2::forwardRows<T>;
    default: return attn::scalar::forwardRows<T>;
  }
}

template <typename T> attn::BackwardKeysFn<T> backwardFn() {
  switch (cpuLevel()) {
    case 2: return attn::avx512::backwardKeys<T>;
    case 1: return attn::avx2::backwardKeys<T>;
    default: return attn::scalar::backwardKeys<T>;
  }
}

// Runs task(t) for t in [0, n) over the pool. An exception (a failed scratch allocation) must not
// escape a pool thread: the first one is kept and rethrown here, on the stream's thread.
template <typename Task> void runTasks(int64_t n, const Task& task) {
  std::exception_ptr error;
  std::mutex m;
  parallelFor(n, 1, [&](int64_t t0, int64_t t1) {
    try {
      for (int64_t t = t0; t < t1; t++) task(t);
    } catch (...) {
      std::lock_guard<std::mutex> lock(m);
      if (!error) error = std::current_exception();
    }
  });
  if (error) std::rethrow_exception(error);
}

// Splits `blocks` blocks into groups of whole blocks so that there are about `wanted` groups.
struct Groups {
  int64_t count, blocksPerGroup;
};
Groups splitBlocks(int64_t blocks, int64_t wanted) {
  wanted = std::clamp<int64_t>(wanted, 1, std::max<int64_t>(blocks, 1));
  const int64_t per = (blocks + wanted - 1) / wanted;
  return {per > 0 ? (blocks + per - 1) / per : 1, std::max<int64_t>(per, 1)};
}

}  // namespace

template <typename T>
void attentionForward(T* out, float* lse, const T* q, const T* k, const T* v, const int32_t* keyLengths,
                      const AttentionParams& p) {
  checkKeyLengths(keyLengths, p);
  const int64_t BH = p.B * p.H;
  if (BH == 0 || p.Tq == 0) return;
  const auto fn = forwardFn<T>();
  const int64_t qBlocks = (p.Tq + attn::kBlockQ - 1) / attn::kBlockQ;
  const Groups g = splitBlocks(qBlocks, (kForwardTasksPerThread * numThreads() + BH - 1) / BH);
  const int64_t rowsPerGroup = g.blocksPerGroup * attn::kBlockQ;
  const int64_t qStride = p.Tq * p.D, kStride = p.Tk * p.D;
  runTasks(BH * g.count, [&](int64_t t) {
    const int64_t bh = t / g.count, i0 = (t % g.count) * rowsPerGroup;
    const int64_t keyLen = keyLengths ? keyLengths[bh / p.H] : p.Tk;
    fn(out + bh * qStride, lse + bh * p.Tq, q + bh * qStride, k + bh * kStride, v + bh * kStride, keyLen, p, i0,
       std::min(p.Tq, i0 + rowsPerGroup));
  });
}

template <typename T>
void attentionBackward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v, const T* out,
                       const float* lse, const int32_t* keyLengths, const AttentionParams& p) {
  checkKeyLengths(keyLengths, p);
  const int64_t BH = p.B * p.H;
  if (BH == 0 || p.Tk == 0) return;
  const auto fn = backwardFn<T>();
  const int64_t kBlocks = (p.Tk + attn::kBlockK - 1) / attn::kBlockK;
  const Groups g = splitBlocks(kBlocks, (kMinBackwardTasks + BH - 1) / BH);
  const int64_t keysPerGroup = g.blocksPerGroup * attn::kBlockK;
  const int64_t qStride = p.Tq * p.D, kStride = p.Tk * p.D;
  std::vector<float> partial(g.count > 1 ? static_cast<size_t>(BH * g.count * qStride) : 0);
  runTasks(BH * g.count, [&](int64_t t) {
    const int64_t bh = t / g.count, j0 = (t % g.count) * keysPerGroup;
    const int64_t keyLen = keyLengths ? keyLengths[bh / p.H] : p.Tk;
    const int64_t qo = bh * qStride, ko = bh * kStride;
    fn(dq + qo, g.count > 1 ? partial.data() + t * qStride : nullptr, dk + ko, dv + ko, dout + qo, q + qo, k + ko,
       v + ko, out + qo, lse + bh * p.Tq, keyLen, p, j0, std::min(p.Tk, j0 + keysPerGroup));
  });
  if (g.count == 1) return;
  // dq = the groups' shares summed in group order.
  parallelFor(BH * p.Tq, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int64_t bh = r / p.Tq, i = r % p.Tq;
      for (int64_t d = 0; d < p.D; d++) {
        float acc = 0.0f;
        for (int64_t gi = 0; gi < g.count; gi++) acc += partial[(bh * g.count + gi) * qStride + i * p.D + d];
        dq[r * p.D + d] = fromF32<T>(acc);
      }
    }
  });
}

#define GLM_INSTANTIATE(T)                                                                                      \
  template void attentionForward<T>(T*, float*, const T*, const T*, const T*, const int32_t*,                 \
                                    const AttentionParams&);                                                   \
  template void attentionBackward<T>(T*, T*, T*, const T*, const T*, const T*, const T*, const T*, const float*, \
                                     const int32_t*, const AttentionParams&);
GLM_INSTANTIATE(float)
GLM_INSTANTIATE(bf16)
#undef GLM_INSTANTIATE

}  // namespace glm::cpu
