// CPU token sampling; the rules are in sample.h. Rows run in parallel on the pool, each in its own
// scratch. The row is read once into f32 (bias and NaN handling fused), penalties touch only the
// history's distinct tokens (sorted there, no V-sized count array), and the filters avoid a full
// sort: a first pass gathers the candidates with w >= 2^-10, which hold every kept token whenever
// they number at least k (top-k) and carry the top-p target's mass (top-p alone); otherwise all V
// tokens are candidates. Top-k is an nth_element over the candidates' keys, top-p a weighted
// quickselect (expected linear) that finds the shortest prefix reaching the target.
#include "sample.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "../core/error.h"
#include "../core/threadpool.h"
#include "vec_io.h"

namespace glm::cpu {
namespace {

constexpr float kCandidateFloor = 1.0f / 1024.0f;

// Checked on the stream's thread before any work, so that no pool worker throws.
void checkHistory(const int32_t* history, int64_t B, int64_t L, int64_t V) {
  for (int64_t i = 0; i < B * L; i++)
    GLM_REQUIRE(history[i] >= -1 && history[i] < V, "sampleTokens",
                "argument 'history': expected ids in [-1, " << V << "), got " << history[i] << " at index " << i);
}

// Steps 1 and 2 for row b into x (V).
template <typename T>
void processRow(float* x, const T* logits, const int32_t* history, const float* bias, int64_t b, int64_t V, int64_t L,
                int64_t biasRows, const SampleParams& p, std::vector<int32_t>& ids) {
  const T* row = logits + b * V;
  const float* bi = bias ? bias + (biasRows == 1 ? 0 : b * V) : nullptr;
  for (int64_t v = 0; v < V; v++) {
    float t = toF32(row[v]);
    if (bi) t += bi[v];
    x[v] = std::isnan(t) ? -std::numeric_limits<float>::infinity() : t;
  }
  if (!history || L == 0) return;
  if (p.repetitionPenalty == 1.0f && p.frequencyPenalty == 0.0f && p.presencePenalty == 0.0f) return;
  ids.clear();
  for (int64_t l = 0; l < L; l++)
    if (history[b * L + l] >= 0) ids.push_back(history[b * L + l]);
  std::sort(ids.begin(), ids.end());
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j < ids.size() && ids[j] == ids[i]) j++;
    float& t = x[ids[i]];
    t = penalize(t, int(j - i), p);
    if (std::isnan(t)) t = -std::numeric_limits<float>::infinity();  // inf · 0 and the like
    i = j;
  }
}

struct Cand {
  uint64_t key;
  float w;
};

// Among c[0, n) (any order, n >= 1, target > 0), the length of the shortest prefix of the key order
// (descending) whose mass reaches target (n if rounding leaves it short); c is permuted so that this
// prefix comes first. Expected linear time: each step partitions around a pivot key and keeps the
// side that holds the boundary.
int64_t topPPrefix(Cand* c, int64_t n, double target) {
  // c[0, lo) is the top of the order with mass acc < target; the answer lies in (lo, hi].
  int64_t lo = 0, hi = n;
  double acc = 0;
  uint64_t state = 0x9E3779B97F4A7C15ull;  // a fixed pivot sequence: the same sums every call
  while (hi - lo > 1) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t pivot = c[lo + int64_t((state >> 33) % uint64_t(hi - lo))].key;
    Cand* mid = std::partition(c + lo, c + hi, [pivot](const Cand& e) { return e.key > pivot; });
    const int64_t m = mid - c;
    double above = 0;
    for (int64_t i = lo; i < m; i++) above += c[i].w;
    if (acc + above >= target) {
      hi = m;  // m > lo: an empty side has no mass, and acc < target
      continue;
    }
    acc += above;
    std::swap(*std::find_if(c + m, c + hi, [pivot](const Cand& e) { return e.key == pivot; }), c[m]);
    acc += c[m].w;
    if (acc >= target) return m + 1;
    lo = m + 1;
  }
  return hi;
}

template <typename T>
void sampleRow(int32_t* out, const T* logits, const int32_t* history, const float* bias, int64_t b, int64_t V,
               int64_t L, int64_t biasRows, const SampleParams& p, std::vector<float>& x, std::vector<int32_t>& ids,
               std::vector<Cand>& cand) {
  processRow(x.data(), logits, history, bias, b, V, L, biasRows, p, ids);
  // Greedy, and the max for the weights: the largest key.
  uint64_t best = 0;
  int32_t arg = 0;
  for (int64_t v = 0; v < V; v++) {
    const uint64_t k = sampleKey(x[v], uint32_t(v));
    if (k > best) best = k, arg = int32_t(v);
  }
  if (p.temperature == 0.0f) {
    out[b] = arg;
    return;
  }
  const float m = x[arg];
  // The weights once, into the second half of the scratch.
  float* w = x.data() + V;
  for (int64_t v = 0; v < V; v++) w[v] = x[v] == m ? 1.0f : std::exp((x[v] - m) / p.temperature);
  const bool useK = p.topK > 0 && p.topK < V, useP = p.topP < 1.0f;

  uint64_t cut = 0;  // kept: key >= cut (and w >= minP)
  bool fromCands = false;
  if (useK || useP) {
    cand.clear();
    double all = 0, candMass = 0;
    for (int64_t v = 0; v < V; v++) {
      all += w[v];
      if (w[v] >= kCandidateFloor) {
        cand.push_back({sampleKey(x[v], uint32_t(v)), w[v]});
        candMass += w[v];
      }
    }
    const int64_t k = useK ? p.topK : V;
    // The candidates hold the top-k set when they number k or more, and (without top-k) the top-p
    // prefix when their mass reaches the target (they precede every other token in the order).
    const bool enough = useK ? int64_t(cand.size()) >= k : candMass >= double(p.topP) * all;
    if (!enough) {
      cand.resize(size_t(V));
      for (int64_t v = 0; v < V; v++) cand[size_t(v)] = {sampleKey(x[v], uint32_t(v)), w[v]};
    }
    fromCands = enough;
    int64_t n = int64_t(cand.size());
    if (useK && k < n) {
      std::nth_element(cand.begin(), cand.begin() + (k - 1), cand.end(),
                       [](const Cand& a, const Cand& c) { return a.key > c.key; });
      n = k;
    }
    if (useP) {
      double mass = all;
      if (useK) {
        mass = 0;
        for (int64_t i = 0; i < n; i++) mass += cand[size_t(i)].w;
      }
      n = topPPrefix(cand.data(), n, double(p.topP) * mass);
    }
    cut = ~uint64_t(0);
    for (int64_t i = 0; i < n; i++) cut = std::min(cut, cand[size_t(i)].key);
    // Sorting a few kept ids beats a scan of V; many are better scanned (the sums are the same).
    fromCands = fromCands && n * 16 <= V;
  }
  const double u = sampleUniform(p.seed, p.offset, uint32_t(b));
  auto kept = [&](int64_t v) { return sampleKey(x[v], uint32_t(v)) >= cut && w[v] >= p.minP; };
  if (fromCands) {
    // The kept tokens are among the candidates: id order over them alone.
    ids.clear();
    for (const Cand& c : cand)
      if (c.key >= cut && c.w >= p.minP) ids.push_back(int32_t(0xFFFFFFFFu - uint32_t(c.key)));
    std::sort(ids.begin(), ids.end());
    double total = 0;
    for (int32_t v : ids) total += w[v];
    const double t = u * total;
    double acc = 0;
    int32_t pick = ids.back();
    for (int32_t v : ids) {
      acc += w[v];
      if (acc > t) {
        pick = v;
        break;
      }
    }
    out[b] = pick;
    return;
  }
  double total = 0;
  int32_t last = arg;
  for (int64_t v = 0; v < V; v++) {
    if (kept(v)) total += w[v], last = int32_t(v);
  }
  const double t = u * total;
  double acc = 0;
  int32_t pick = last;
  for (int64_t v = 0; v < V; v++) {
    if (!kept(v)) continue;
    acc += w[v];
    if (acc > t) {
      pick = int32_t(v);
      break;
    }
  }
  out[b] = pick;
}

}  // namespace

template <typename T>
void sampleTokens(int32_t* out, const T* logits, const int32_t* history, const float* bias, int64_t B, int64_t V,
                  int64_t L, int64_t biasRows, SampleParams params) {
  if (history) checkHistory(history, B, L, V);
  parallelFor(B, 1, [=](int64_t b0, int64_t b1) {
    std::vector<float> x(static_cast<size_t>(2 * V));  // logits, then weights
    std::vector<int32_t> ids;
    std::vector<Cand> cand;
    for (int64_t b = b0; b < b1; b++) sampleRow(out, logits, history, bias, b, V, L, biasRows, params, x, ids, cand);
  });
}

template <typename T>
void sampleLogits(float* out, const T* logits, const int32_t* history, const float* bias, int64_t B, int64_t V,
                  int64_t L, int64_t biasRows, SampleParams params) {
  if (history) checkHistory(history, B, L, V);
  parallelFor(B, 1, [=](int64_t b0, int64_t b1) {
    std::vector<int32_t> ids;
    for (int64_t b = b0; b < b1; b++) processRow(out + b * V, logits, history, bias, b, V, L, biasRows, params, ids);
  });
}

#define GLM_INSTANTIATE(T)                                                                                          \
  template void sampleTokens<T>(int32_t*, const T*, const int32_t*, const float*, int64_t, int64_t, int64_t,     \
                                int64_t, SampleParams);                                                            \
  template void sampleLogits<T>(float*, const T*, const int32_t*, const float*, int64_t, int64_t, int64_t, int64_t, \
                                SampleParams);
GLM_INSTANTIATE(float)
GLM_INSTANTIATE(bf16)
#undef GLM_INSTANTIATE

}  // namespace glm::cpu
