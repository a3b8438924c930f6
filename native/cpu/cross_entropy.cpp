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
//
// Small vocabularies (V <= kSmallV, e.g. 65 characters) are a different problem: a row is a few
// vectors, so per-row costs (the horizontal max and sum, the log, masked tails) and the latency of
// one row's chain dominate. smallRows takes blocks of rows in phases, 4 rows side by side, with
// overlapping instead of masked tails, a cheaper exp for x - max <= 0, the exps written straight
// into dlogits (f32) and one log per block; see there.
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

// exp(d) for d <= 0 (d = x - the row's max), cheaper than Vec::exp for the small-vocabulary rows,
// where the exps are most of the work: 2^t with t = d·log2(e) = n + f, n = round(t), 2^f from a
// degree-5 minimax polynomial on [-1/2, 1/2] (relative error 2.4e-7 in f32, plus 4e-8·|t| from the
// rounding of t: at most ~1e-6 for the terms that carry the sum), and 2^n added to the exponent
// bits. 6 multiplies/FMAs where Vec::exp has 11. t < -125 (d < -86.6, -inf included) gives exactly 0;
// NaN stays NaN. The AVX-512 variant is the same sequence on 16 lanes.
constexpr float kExp2C0 = 1.00000012f, kExp2C1 = 0.693146944f, kExp2C2 = 0.240221202f, kExp2C3 = 0.0555071309f,
                kExp2C4 = 0.00967554189f, kExp2C5 = 0.00132764713f;

inline VecScalar expNonPositive(VecScalar d) { return {std::exp(d.v)}; }

GLM_SIMD_AVX2 VecAvx2 expNonPositive(VecAvx2 d) {
  const __m256 lo = _mm256_set1_ps(-125.0f);
  const __m256 t0 = _mm256_mul_ps(d.v, _mm256_set1_ps(kLog2e));
  const __m256 t = _mm256_max_ps(lo, t0);  // max returns its second operand for NaN: t0 second, so NaN propagates
  const __m256 n = _mm256_round_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(t, n);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kExp2C5), f, _mm256_set1_ps(kExp2C4));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2C3));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2C2));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2C1));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(kExp2C0));
  const __m256i e = _mm256_slli_epi32(_mm256_cvtps_epi32(n), 23);
  const __m256 y = _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), e));
  return {_mm256_andnot_ps(_mm256_cmp_ps(t0, lo, _CMP_LT_OQ), y)};
}

GLM_SIMD_AVX512 VecAvx512 expNonPositive(VecAvx512 d) {
  const __m512 lo = _mm512_set1_ps(-125.0f);
  const __m512 t0 = _mm512_mul_ps(d.v, _mm512_set1_ps(kLog2e));
  const __m512 t = _mm512_max_ps(lo, t0);
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kExp2C5), f, _mm512_set1_ps(kExp2C4));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2C3));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2C2));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2C1));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kExp2C0));
  const __m512i e = _mm512_slli_epi32(_mm512_cvtps_epi32(n), 23);
  const __m512 y = _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), e));
  return {_mm512_maskz_mov_ps(_mm512_cmp_ps_mask(t0, lo, _CMP_NLT_UQ), y)};
}

// Rows of at most kSmallV logits go through smallRows: a block of such rows (all in L1) is taken in
// phases (every row's max, then every row's exps and sum, then the losses, then the gradients), so
// that each phase is a run of independent short rows, kRowsAtOnce of them interleaved so that the
// core overlaps them, instead of one row's chain of dependent reductions (max, then sum, then log)
// after another. On a Zen 3 core, 768 × 65 with a gradient: 49 us before these changes (one row at a
// time, masked tails, Vec::exp, per-row log), ~33 us after (harness, one thread).
constexpr int64_t kSmallV = 512;
// Rows whose max and exps are computed side by side (WideRow::maxK, expSumK).
constexpr int kRowsAtOnce = 4;
// A power of two, at most 4096 logits (16 KB of f32), at most 64 rows. Blocks start at multiples of
// it from row 0 whatever the thread count (the tasks are made of whole blocks), so that a block's
// loss, which takes one log of its rows' product of sums, does not depend on the thread count.
inline int64_t smallBlockRows(int64_t V) {
  int64_t b = 64;
  while (b > 1 && b * V > 4096) b /= 2;
  return b;
}

// One row of V >= kLanes logits, whose tail (V % kLanes elements) is taken by one full vector that
// ends at the row's end and overlaps the previous one: no masked loads or stores (AMD's masked
// store is microcoded, ~12 cycles each), and the overlapped lanes are recomputed from the same
// inputs, so they are written twice with the same value. Only the sum must count them once: the
// tail's sum is multiplied by a 0/1 lane mask.
alignas(64) constexpr float kTailKeep[32] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                             1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
template <class Vec> struct WideRow {
  static constexpr int L = Vec::kLanes;
  // 16 zeros then 16 ones: the L floats at kTailKeep + 16 - L + rem keep the last rem lanes.
  static const float* keepLast(int64_t rem) { return kTailKeep + 16 - L + rem; }

  template <class T> static float max(const T* x, int64_t V) {
    Vec m0 = Vec::load(x + V - L), m1 = Vec::load(x);  // the overlapping tail counts twice: harmless
    int64_t i = L;
    for (; i + 2 * L <= V; i += 2 * L) {
      m0 = Vec::max(m0, Vec::load(x + i));
      m1 = Vec::max(m1, Vec::load(x + i + L));
    }
    if (i + L <= V) m0 = Vec::max(m0, Vec::load(x + i));
    return Vec::max(m0, m1).hmax();
  }

  // e (V) = exp(x - m) when e is non-null (e may be x itself: every input is loaded before its lane
  // is written); returns the sum of exp(x - m).
  template <class T> static float expSum(float* e, const T* x, int64_t V, float m) {
    const Vec vm = Vec::set1(m);
    const int64_t body = V / L * L, rem = V - body;
    const Vec tail = Vec::load(x + V - L);  // before the body's stores, which it may overlap in place
    Vec s0 = Vec::zero(), s1 = Vec::zero();
    int64_t i = 0;
    for (; i + 2 * L <= body; i += 2 * L) {
      const Vec a = expNonPositive(Vec::load(x + i) - vm);
      const Vec b = expNonPositive(Vec::load(x + i + L) - vm);
      if (e) {
        a.store(e + i);
        b.store(e + i + L);
      }
      s0 = s0 + a;
      s1 = s1 + b;
    }
    if (i < body) {
      const Vec a = expNonPositive(Vec::load(x + i) - vm);
      if (e) a.store(e + i);
      s0 = s0 + a;
    }
    if (rem) {
      const Vec a = expNonPositive(tail - vm);
      if (e) a.store(e + V - L);
      s1 = s1 + a * Vec::load(keepLast(rem));
    }
    return (s0 + s1).hsum();
  }

  // max for K rows at once, their vectors interleaved (see expSumK).
  template <int K, class T> static void maxK(const T* const* x, int64_t V, float* m) {
    Vec a[K];
    for (int k = 0; k < K; k++) a[k] = Vec::load(x[k] + V - L);
    for (int64_t i = 0; i + L <= V; i += L)
      for (int k = 0; k < K; k++) a[k] = Vec::max(a[k], Vec::load(x[k] + i));
    for (int k = 0; k < K; k++) m[k] = a[k].hmax();
  }

  // expSum for K rows at once (x[k], e[k], m[k] -> sum[k]), their vectors interleaved: one short
  // row's exps are a dependent chain (max, exp, sum, horizontal sum) too short for the core to
  // overlap with the next row's by itself, so the rows' chains are put side by side.
  template <int K, class T> static void expSumK(float* const* e, const T* const* x, const float* m, int64_t V, float* sum) {
    const int64_t body = V / L * L, rem = V - body;
    Vec vm[K], tail[K], s[K];
    for (int k = 0; k < K; k++) {
      vm[k] = Vec::set1(m[k]);
      tail[k] = Vec::load(x[k] + V - L);  // before the body's stores, which it may overlap in place
      s[k] = Vec::zero();
    }
    for (int64_t i = 0; i < body; i += L) {
      for (int k = 0; k < K; k++) {
        const Vec a = expNonPositive(Vec::load(x[k] + i) - vm[k]);
        if (e[k]) a.store(e[k] + i);
        s[k] = s[k] + a;
      }
    }
    if (rem) {
      const Vec keep = Vec::load(keepLast(rem));
      for (int k = 0; k < K; k++) {
        const Vec a = expNonPositive(tail[k] - vm[k]);
        if (e[k]) a.store(e[k] + V - L);
        s[k] = s[k] + a * keep;
      }
    }
    for (int k = 0; k < K; k++) sum[k] = s[k].hsum();
  }

  // dl (V) = f · e (V); dl may be e itself (the tail is loaded before the body is scaled).
  template <class T> static void scaleStore(T* dl, const float* e, int64_t V, float f) {
    const Vec vf = Vec::set1(f);
    const Vec tail = Vec::load(e + V - L);
    int64_t i = 0;
    for (; i + 2 * L <= V; i += 2 * L) {
      (Vec::load(e + i) * vf).store(dl + i);
      (Vec::load(e + i + L) * vf).store(dl + i + L);
    }
    if (i + L <= V) (Vec::load(e + i) * vf).store(dl + i);
    (tail * vf).store(dl + V - L);
  }
};

template <class Vec, class T>
inline void smallRows(const Job<T>& j, int64_t r0, int64_t r1, float* scratch, float* chunkMaxes) {
  const int64_t V = j.V, B = smallBlockRows(V);
  // Rows of at least one vector take WideRow, kRowsAtOnce rows side by side; shorter rows the masked
  // one-row functions.
  const bool wide = V >= Vec::kLanes;
  using W = WideRow<Vec>;
  constexpr int K = kRowsAtOnce;
  // f32 exps go straight into dlogits (scaled there in place); bf16 ones into the f32 scratch, so
  // that dlogits is rounded to bf16 once.
  constexpr bool kDirect = std::is_same_v<T, float>;
  // The block's counted rows with a finite max (n of them): row, logits, exps (null without a
  // gradient), target logit, max, sum and target exp.
  int64_t row[64];
  const T* xs[64];
  float* es[64];
  float xt[64], m[64], sum[64], et[64];
  for (int64_t b0 = r0; b0 < r1; b0 += B) {
    const int64_t nb = std::min(B, r1 - b0);
    int64_t n = 0;
    for (int64_t i = 0; i < nb; i++) {
      const int64_t r = b0 + i;
      const int32_t t = j.targets[r];
      if (t == j.ignoreIndex) {
        if (j.dlogits) std::fill(j.dlogits + r * V, j.dlogits + (r + 1) * V, fromF32<T>(0.0f));
        j.rowLoss[r] = 0.0;
        continue;
      }
      row[n] = r;
      xs[n] = j.logits + r * V;
      xt[n] = toF32(xs[n][t]);  // read before dl, which may be x itself, is written
      es[n] = nullptr;
      if (j.dlogits) {
        if constexpr (kDirect) es[n] = j.dlogits + r * V;
        else es[n] = scratch + i * V;
      }
      n++;
    }
    int64_t k = 0;
    if (wide)
      for (; k + K <= n; k += K) W::template maxK<K>(xs + k, V, m + k);
    for (; k < n; k++) m[k] = wide ? W::max(xs[k], V) : chunkMax<Vec>(xs[k], V);
    // A fully masked row (max -inf) goes through the general path, which knows what to do; the
    // others close up.
    int64_t kept = 0;
    for (k = 0; k < n; k++) {
      const int64_t r = row[k];
      if (m[k] == -kInf) {
        // (V floats of scratch: for bf16 the row's own part of the block's, still unused; f32 has only V)
        float* rowScratch = kDirect ? scratch : scratch + (r - b0) * V;
        j.rowLoss[r] = countedRow<Vec>(j, j.dlogits ? j.dlogits + r * V : nullptr, xs[k], j.targets[r], rowScratch, chunkMaxes);
        continue;
      }
      row[kept] = r, xs[kept] = xs[k], es[kept] = es[k], xt[kept] = xt[k], m[kept] = m[k];
      kept++;
    }
    n = kept;
    k = 0;
    if (wide)
      for (; k + K <= n; k += K) W::template expSumK<K>(es + k, xs + k, m + k, V, sum + k);
    for (; k < n; k++)
      sum[k] = wide ? W::expSum(es[k], xs[k], V, m[k])
                    : es[k] ? chunkExpSum<Vec, true>(es[k], xs[k], V, m[k]) : chunkExpSum<Vec, false>(nullptr, xs[k], V, m[k]);
    // Row loss = (max - x[t]) + log(sum): the logs of the block's rows are taken as one log of the
    // product of their sums (each in [1, 512], so at most 2^576 over 64 rows: no overflow), which
    // goes to the block's first counted row.
    double product = 1.0;
    for (k = 0; k < n; k++) {
      j.rowLoss[row[k]] = double(m[k]) - xt[k];
      product *= sum[k];
    }
    if (n) j.rowLoss[row[0]] += std::log(product);
    if (!j.dlogits) continue;
    for (k = 0; k < n; k++) et[k] = es[k][j.targets[row[k]]];
    for (k = 0; k < n; k++) {
      const int64_t r = row[k];
      T* dl = j.dlogits + r * V;
      const float f = j.scale / sum[k];  // exp(max - lse) · scale
      if (wide) W::scaleStore(dl, es[k], V, f);
      else scaleStore<Vec>(dl, es[k], V, f, false);
      dl[j.targets[r]] = fromF32<T>(et[k] * f - j.scale);
    }
  }
}

// Rows [r0, r1); for smallRows, r0 is a multiple of smallBlockRows(V).
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
  const bool small = V <= kSmallV && !j.stream;
  // Rows per unit of work: smallRows' blocks, else single rows.
  const int64_t unit = small ? smallBlockRows(V) : 1;
  const int64_t units = (N + unit - 1) / unit;
  // 16K logits (~10 us on one Zen 3 core with a gradient) at least before the pool is used: below
  // that, waking it costs more than it saves. Above, small rows go in tasks of 8K logits, so that
  // the dynamic split over the threads balances (768 × 65 logits: 8 tasks of 3 blocks).
  const int64_t grain = N * V < 16384 ? units : std::max<int64_t>(1, (small ? 8192 : 16384) / (V * unit));
  parallelFor(units, grain, [&](int64_t u0, int64_t u1) {
    const int64_t r0 = u0 * unit, r1 = std::min(N, u1 * unit);
    FlushDenormals ftz;
    // smallRows keeps a block's exps in scratch for bf16 only (f32 ones go into dlogits).
    const bool blockScratch = V <= kSmallV && !std::is_same_v<T, float>;
    std::vector<float> scratch(dlogits ? (blockScratch ? smallBlockRows(V) * V : V) : 0), chunkMaxes(chunks);
    if (level >= 2) rowsAvx512(j, r0, r1, scratch.data(), chunkMaxes.data());
    else if (level == 1) rowsAvx2(j, r0, r1, scratch.data(), chunkMaxes.data());
    else rowsScalar(j, r0, r1, scratch.data(), chunkMaxes.data());
  });
  double total = 0.0;
  for (int64_t r = 0; r < N; r++) total += rowLoss[r];
  // With the mean and no counted row the loss is 0, not 0/0 (the gradient is 0 too).
  *loss = float(meanReduction ? (valid > 0 ? total / double(valid) : 0.0) : total);
  if (validCount) *validCount = float(valid);
}

template void softmaxCrossEntropy<float>(float*, float*, float*, const float*, const int32_t*, int64_t, int64_t, int32_t,
                                         bool);
template void softmaxCrossEntropy<bf16>(float*, float*, bf16*, const bf16*, const int32_t*, int64_t, int64_t, int32_t,
                                        bool);

}  // namespace glm::cpu
