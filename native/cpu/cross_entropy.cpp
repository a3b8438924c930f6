// CPU fused softmax cross-entropy; see cross_entropy.h.
//
// One read of the logits and one exp per logit. Pass 1 walks a row in L1-sized chunks: the chunk's
// max, then e = exp(x - chunkMax) into a per-thread f32 scratch row (it stays in L2) and the sum of
// e; chunks combine as an online log-sum-exp. Pass 2 turns the scratch row into dlogits =
// e · exp(chunkMax - lse) · scale, so the logits themselves are never read twice from memory. When
// the gradient is bigger than the caches, f32 and not the logits themselves, pass 2 writes it with
// non-temporal stores (no read-for-ownership of lines that are fully overwritten; in place, the
// lines are already cached by pass 1 and plain stores measured faster). Rows are split over the thread pool; the
// loss is summed in double in row order, so it does not depend on the thread count.
#include "cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/error.h"
#include "../core/threadpool.h"
#include "simd_f32.h"

namespace glm::cpu {
namespace {
using namespace simd;

// 2048 f32 logits (8 KB) and their 2048 exps stay in L1 between the max and the exp of a chunk.
constexpr int64_t kChunk = 2048;
// Non-temporal stores pay off only when the gradient would not stay in the caches anyway.
constexpr int64_t kStreamBytes = int64_t(16) << 20;

template <typename T> struct Job {
  T* dlogits;
  const T* logits;
  const int32_t* targets;
  double* rowLoss;
  int64_t V;
  int32_t ignoreIndex;
  float scale;   // d(loss)/d(row loss): 1 / validCount for the mean, else 1
  bool stream;   // non-temporal stores for dlogits
};

template <class Vec, class T> inline float chunkMax(const T* x, int64_t n) {
  constexpr int L = Vec::kLanes;
  Vec m0 = Vec::set1(-kInf), m1 = m0, m2 = m0, m3 = m0;
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    m0 = Vec::max(m0, Vec::load(x + i));
    m1 = Vec::max(m1, Vec::load(x + i + L));
    m2 = Vec::max(m2, Vec::load(x + i + 2 * L));
    m3 = Vec::max(m3, Vec::load(x + i + 3 * L));
  }
  for (; i + L <= n; i += L) m0 = Vec::max(m0, Vec::load(x + i));
  if (i < n) m0 = Vec::max(m0, Vec::loadPartial(x + i, int(n - i), -kInf));
  return Vec::max(Vec::max(m0, m1), Vec::max(m2, m3)).hmax();
}

// Returns the sum of exp(x - m) over the chunk; with kStore, also writes each exp to e.
template <class Vec, bool kStore, class T> inline float chunkExpSum(float* e, const T* x, int64_t n, float m) {
  constexpr int L = Vec::kLanes;
  const Vec vm = Vec::set1(m);
  Vec s0 = Vec::zero(), s1 = Vec::zero();
  int64_t i = 0;
  for (; i + 2 * L <= n; i += 2 * L) {
    const Vec a = Vec::exp(Vec::load(x + i) - vm);
    const Vec b = Vec::exp(Vec::load(x + i + L) - vm);
    if (kStore) {
      a.store(e + i);
      b.store(e + i + L);
    }
    s0 = s0 + a;
    s1 = s1 + b;
  }
  for (; i + L <= n; i += L) {
    const Vec a = Vec::exp(Vec::load(x + i) - vm);
    if (kStore) a.store(e + i);
    s0 = s0 + a;
  }
  if (i < n) {
    const Vec a = Vec::exp(Vec::loadPartial(x + i, int(n - i), -kInf) - vm);  // exp(-inf) = 0 in the unused lanes
    if (kStore) a.storePartial(e + i, int(n - i));
    s0 = s0 + a;
  }
  return (s0 + s1).hsum();
}

// dst (n) = f · e (n); with `stream` (f32 only), the aligned body uses non-temporal stores.
template <class Vec, class T> inline void scaleStore(T* dst, const float* e, int64_t n, float f, bool stream) {
  constexpr int L = Vec::kLanes;
  const Vec vf = Vec::set1(f);
  int64_t i = 0;
  if constexpr (std::is_same_v<T, float> && L > 1) {
    if (stream) {
      const uintptr_t bytes = L * sizeof(float);
      const int64_t head =
          std::min<int64_t>(n, int64_t((bytes - reinterpret_cast<uintptr_t>(dst) % bytes) % bytes / sizeof(float)));
      for (; i < head; i++) dst[i] = e[i] * f;
      for (; i + L <= n; i += L) (Vec::load(e + i) * vf).stream(dst + i);
    }
  }
  for (; i + L <= n; i += L) (Vec::load(e + i) * vf).store(dst + i);
  if (i < n) (Vec::loadPartial(e + i, int(n - i), 0.0f) * vf).storePartial(dst + i, int(n - i));
}

// One counted row: writes its dlogits (when asked) and returns its loss, lse - x[t].
template <class Vec, class T>
inline double countedRow(const Job<T>& j, T* dl, const T* x, int32_t t, float* scratch, float* chunkMaxes) {
  const int64_t V = j.V;
  const float xt = toF32(x[t]);  // read before dl, which may be x itself, is written
  double M = -double(kInf), S = 0.0;
  int64_t k = 0;
  for (int64_t c0 = 0; c0 < V; c0 += kChunk, k++) {
    const int64_t n = std::min(kChunk, V - c0);
    const float cm = chunkMax<Vec>(x + c0, n);
    float cs = 0.0f;
    if (cm == -kInf) {  // a fully masked chunk contributes nothing (and must not compute -inf - -inf)
      if (dl) std::fill(scratch + c0, scratch + c0 + n, 0.0f);
    } else if (dl) {
      cs = chunkExpSum<Vec, true>(scratch + c0, x + c0, n, cm);
    } else {
      cs = chunkExpSum<Vec, false>(nullptr, x + c0, n, cm);
    }
    chunkMaxes[k] = cm;
    // Online log-sum-exp over chunks; a NaN max or sum falls through to the sum and propagates.
    if (cm > M) {
      S = S * std::exp(M - cm) + cs;
      M = cm;
    } else if (cm != -kInf) {
      S += cs * std::exp(cm - M);
    }
  }
  const double logS = std::log(S);
  const double lse = M + logS;
  if (dl) {
    float ft = 0.0f;
    k = 0;
    for (int64_t c0 = 0; c0 < V; c0 += kChunk, k++) {
      const int64_t n = std::min(kChunk, V - c0);
      const float f = chunkMaxes[k] == -kInf ? 0.0f : float(std::exp(double(chunkMaxes[k]) - lse) * j.scale);
      if (t >= c0 && t < c0 + n) ft = f;
      scaleStore<Vec>(dl + c0, scratch + c0, n, f, j.stream);
    }
    if (j.stream) _mm_sfence();  // the streamed row is complete before the target's plain store
    dl[t] = fromF32<T>(scratch[t] * ft - j.scale);
  }
  return (double(M) - xt) + logS;  // the difference first: exact when M and x[t] are huge and close
}

// countedRow for a row of one chunk (V <= kChunk), the common case of small vocabularies, where
// the per-row constant costs dominate: exp(max - lse) is 1 / sum, so no exp of the combination and
// no second pass over chunk maxima.
template <class Vec, class T>
inline double countedSmallRow(const Job<T>& j, T* dl, const T* x, int32_t t, float* scratch, float* chunkMaxes) {
  const int64_t V = j.V;
  const float xt = toF32(x[t]);  // read before dl, which may be x itself, is written
  const float m = chunkMax<Vec>(x, V);
  if (m == -kInf) return countedRow<Vec>(j, dl, x, t, scratch, chunkMaxes);  // a fully masked row
  const float sum = dl ? chunkExpSum<Vec, true>(scratch, x, V, m) : chunkExpSum<Vec, false>(nullptr, x, V, m);
  // f32 log: sum is an f32 value in [1, V], so its log is as exact as the sum itself (~1e-7 relative).
  const double logS = std::log(sum);
  if (dl) {
    const float f = j.scale / sum;
    scaleStore<Vec>(dl, scratch, V, f, j.stream);
    if (j.stream) _mm_sfence();
    dl[t] = fromF32<T>(scratch[t] * f - j.scale);
  }
  return (double(m) - xt) + logS;
}

// Rows of at most kSmallV logits go through smallRows: a block of such rows (all in L1) is taken in
// phases (every row's max, then every row's exps and sum, then the losses, then the gradients), so
// that each phase is a run of independent short rows that the core overlaps, instead of one row's
// chain of dependent reductions (max, then sum, then log) after another.
constexpr int64_t kSmallV = 512;
inline int64_t smallBlockRows(int64_t V) { return std::clamp<int64_t>(4096 / V, 1, 64); }

template <class Vec, class T>
inline void smallRows(const Job<T>& j, int64_t r0, int64_t r1, float* scratch, float* chunkMaxes) {
  const int64_t V = j.V, B = smallBlockRows(V);
  float m[64], sum[64], xt[64];
  bool plain[64];  // a counted row with a finite max: the phases below handle it
  for (int64_t b0 = r0; b0 < r1; b0 += B) {
    const int64_t nb = std::min(B, r1 - b0);
    for (int64_t i = 0; i < nb; i++) {
      const int64_t r = b0 + i;
      const int32_t t = j.targets[r];
      const T* x = j.logits + r * V;
      T* dl = j.dlogits ? j.dlogits + r * V : nullptr;
      plain[i] = false;
      if (t == j.ignoreIndex) {
        if (dl) std::fill(dl, dl + V, fromF32<T>(0.0f));
        j.rowLoss[r] = 0.0;
        continue;
      }
      xt[i] = toF32(x[t]);  // read before dl, which may be x itself, is written
      m[i] = chunkMax<Vec>(x, V);
      if (m[i] == -kInf) {  // a fully masked row: the general path knows what to do
        j.rowLoss[r] = countedRow<Vec>(j, dl, x, t, scratch, chunkMaxes);
        continue;
      }
      plain[i] = true;
    }
    for (int64_t i = 0; i < nb; i++) {
      if (!plain[i]) continue;
      const T* x = j.logits + (b0 + i) * V;
      sum[i] = j.dlogits ? chunkExpSum<Vec, true>(scratch + i * V, x, V, m[i]) : chunkExpSum<Vec, false>(nullptr, x, V, m[i]);
    }
    // f32 log: the sum is an f32 value in [1, V], so its log is as exact as the sum itself.
    for (int64_t i = 0; i < nb; i++)
      if (plain[i]) j.rowLoss[b0 + i] = (double(m[i]) - xt[i]) + std::log(sum[i]);
    if (!j.dlogits) continue;
    for (int64_t i = 0; i < nb; i++) {
      if (!plain[i]) continue;
      const int64_t r = b0 + i;
      const int32_t t = j.targets[r];
      T* dl = j.dlogits + r * V;
      const float f = j.scale / sum[i];  // exp(max - lse) · scale
      const float* e = scratch + i * V;
      scaleStore<Vec>(dl, e, V, f, false);
      dl[t] = fromF32<T>(e[t] * f - j.scale);
    }
  }
}

template <class Vec, class T> inline void rows(const Job<T>& j, int64_t r0, int64_t r1, float* scratch, float* chunkMaxes) {
  const int64_t V = j.V;
  if (V <= kSmallV && !j.stream) {
    smallRows<Vec>(j, r0, r1, scratch, chunkMaxes);
    return;
  }
  for (int64_t r = r0; r < r1; r++) {
    const int32_t t = j.targets[r];
    T* dl = j.dlogits ? j.dlogits + r * V : nullptr;
    if (t == j.ignoreIndex) {
      if (dl) {
        if (std::is_same_v<T, float> && j.stream) {
          // Reuse the streaming writer on a zero source: ignored rows are written like any other.
          std::fill(scratch, scratch + std::min(V, kChunk), 0.0f);
          for (int64_t c0 = 0; c0 < V; c0 += kChunk) scaleStore<Vec>(dl + c0, scratch, std::min(kChunk, V - c0), 0.0f, true);
        } else {
          std::fill(dl, dl + V, fromF32<T>(0.0f));
        }
      }
      j.rowLoss[r] = 0.0;
      continue;
    }
    j.rowLoss[r] = V <= kChunk ? countedSmallRow<Vec>(j, dl, j.logits + r * V, t, scratch, chunkMaxes)
                               : countedRow<Vec>(j, dl, j.logits + r * V, t, scratch, chunkMaxes);
  }
  if (j.stream) _mm_sfence();
}

template <class T>
GLM_SIMD_ENTRY_AVX512 void rowsAvx512(const Job<T>& j, int64_t r0, int64_t r1, float* scratch, float* cm) {
  rows<VecAvx512>(j, r0, r1, scratch, cm);
}
template <class T>
GLM_SIMD_ENTRY_AVX2 void rowsAvx2(const Job<T>& j, int64_t r0, int64_t r1, float* scratch, float* cm) {
  rows<VecAvx2>(j, r0, r1, scratch, cm);
}
template <class T> void rowsScalar(const Job<T>& j, int64_t r0, int64_t r1, float* scratch, float* cm) {
  rows<VecScalar>(j, r0, r1, scratch, cm);
}

}  // namespace

template <typename T>
void softmaxCrossEntropy(float* loss, float* validCount, T* dlogits, const T* logits, const int32_t* targets, int64_t N,
                         int64_t V, int32_t ignoreIndex, bool meanReduction) {
  // Targets are checked here, on the calling thread, before any output is written: a kernel error
  // must not be thrown from a pool worker.
  int64_t valid = 0;
  for (int64_t r = 0; r < N; r++) {
    const int32_t t = targets[r];
    if (t == ignoreIndex) continue;
    GLM_REQUIRE(t >= 0 && t < V, "softmaxCrossEntropy",
                "argument 'targets': expected values in [0, " << V << ") or ignoreIndex " << ignoreIndex << ", got "
                                                              << t << " at row " << r);
    valid++;
  }
  std::vector<double> rowLoss(std::max<int64_t>(N, 1), 0.0);
  Job<T> j{dlogits, logits, targets, rowLoss.data(), V, ignoreIndex,
           meanReduction && valid > 0 ? float(1.0 / double(valid)) : 1.0f, false};
  const int level = cpuLevel();
  j.stream = dlogits && dlogits != logits && std::is_same_v<T, float> && level > 0 &&
             N * V * int64_t(sizeof(T)) >= kStreamBytes;
  const int64_t chunks = (V + kChunk - 1) / kChunk;
  // 16K logits (~20 us on one Zen 3 core with a gradient) per task at least: below that, waking
  // the pool costs more than it saves.
  parallelFor(N, std::max<int64_t>(1, 16384 / V), [&](int64_t r0, int64_t r1) {
    FlushDenormals ftz;
    std::vector<float> scratch(dlogits ? (V <= kSmallV ? smallBlockRows(V) * V : V) : 0), chunkMaxes(chunks);
    if (level >= 2) rowsAvx512(j, r0, r1, scratch.data(), chunkMaxes.data());
    else if (level == 1) rowsAvx2(j, r0, r1, scratch.data(), chunkMaxes.data());
    else rowsScalar(j, r0, r1, scratch.data(), chunkMaxes.data());
  });
  double total = 0.0;
  for (int64_t r = 0; r < N; r++) total += rowLoss[r];
  // With the mean and no counted row the loss is 0, not 0/0 (the gradient is 0 too).
  *loss = float(meanReduction ? (valid > 0 ? total / double(valid) : 0.0) : total);
  *validCount = float(valid);
}

template void softmaxCrossEntropy<float>(float*, float*, float*, const float*, const int32_t*, int64_t, int64_t, int32_t,
                                         bool);
template void softmaxCrossEntropy<bf16>(float*, float*, bf16*, const bf16*, const int32_t*, int64_t, int64_t, int32_t,
                                        bool);

}  // namespace glm::cpu
