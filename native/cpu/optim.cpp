// CPU optimizer kernels; see optim.h. AdamW is one pass over all tensors' elements, split across the
// thread pool as if the tensors were one flat array, so a model of many small tensors still uses
// every core. The loops are written so that the compiler vectorises them; the AVX2/AVX-512 variants
// are the same loop compiled for wider registers, picked at run time on cpuLevel().
#include "optim.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/threadpool.h"

namespace glm::cpu {
namespace {

// Per-step constants, folded once so the inner loop is multiplies, one sqrt and one divide.
struct AdamWConsts {
  float lr, beta1, beta2, oneMinusBeta1, oneMinusBeta2, eps;
  float invBias1;      // 1 / (1 - β1^t)
  float invSqrtBias2;  // 1 / √(1 - β2^t)
  float gradScale;
};

#define GLM_ADAMW_BODY                                                                  \
  for (int64_t i = 0; i < n; i++) {                                                     \
    const float gi = toF32(g[i]) * c.gradScale;                                         \
    const float mi = c.beta1 * m[i] + c.oneMinusBeta1 * gi;                             \
    const float vi = c.beta2 * v[i] + c.oneMinusBeta2 * (gi * gi);                      \
    m[i] = mi;                                                                          \
    v[i] = vi;                                                                          \
    const float update = (mi * c.invBias1) / (std::sqrt(vi) * c.invSqrtBias2 + c.eps); \
    p[i] = p[i] - c.lr * (update + wd * p[i]);                                          \
  }

template <typename G>
void adamwRangeScalar(float* __restrict p, const G* __restrict g, float* __restrict m, float* __restrict v,
                      int64_t n, float wd, const AdamWConsts& c) {
  GLM_ADAMW_BODY
}

template <typename G>
__attribute__((target("avx2,fma"))) void adamwRangeAvx2(float* __restrict p, const G* __restrict g,
                                                        float* __restrict m, float* __restrict v, int64_t n,
                                                        float wd, const AdamWConsts& c) {
  GLM_ADAMW_BODY
}

template <typename G>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))) void adamwRangeAvx512(
    float* __restrict p, const G* __restrict g, float* __restrict m, float* __restrict v, int64_t n, float wd,
    const AdamWConsts& c) {
  GLM_ADAMW_BODY
}
#undef GLM_ADAMW_BODY

template <typename G>
void adamwRange(int level, float* p, const G* g, float* m, float* v, int64_t n, float wd, const AdamWConsts& c) {
  if (level >= 2) adamwRangeAvx512(p, g, m, v, n, wd, c);
  else if (level == 1) adamwRangeAvx2(p, g, m, v, n, wd, c);
  else adamwRangeScalar(p, g, m, v, n, wd, c);
}

// Squares accumulate in kLanes independent doubles (x² of an f32 is exact in double), summed in a
// fixed order at the end of each block: no reassociation is needed to vectorise it, and the result
// is the same whatever the ISA level or the thread count.
constexpr int kLanes = 16;
constexpr int64_t kSumBlock = 1 << 14;

#define GLM_SUMSQ_BODY                                                   \
  double acc[kLanes] = {};                                              \
  int64_t i = 0;                                                         \
  for (; i + kLanes <= n; i += kLanes)                                   \
    for (int j = 0; j < kLanes; j++) {                                   \
      const double xv = toF32(x[i + j]);                                 \
      acc[j] += xv * xv;                                                 \
    }                                                                    \
  for (int j = 0; i < n; i++, j++) {                                     \
    const double xv = toF32(x[i]);                                       \
    acc[j] += xv * xv;                                                   \
  }                                                                      \
  double s = 0;                                                          \
  for (int j = 0; j < kLanes; j++) s += acc[j];                          \
  return s;

template <typename T> double sumSqBlockScalar(const T* __restrict x, int64_t n) { GLM_SUMSQ_BODY }

template <typename T>
__attribute__((target("avx2,fma"))) double sumSqBlockAvx2(const T* __restrict x, int64_t n) {
  GLM_SUMSQ_BODY
}

template <typename T>
__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma"))) double sumSqBlockAvx512(
    const T* __restrict x, int64_t n) {
  GLM_SUMSQ_BODY
}
#undef GLM_SUMSQ_BODY

template <typename T> double sumSqBlock(int level, const T* x, int64_t n) {
  if (level >= 2) return sumSqBlockAvx512(x, n);
  if (level == 1) return sumSqBlockAvx2(x, n);
  return sumSqBlockScalar(x, n);
}

}  // namespace

void adamwStep(const AdamWTensor* tensors, int count, const AdamWParams& hp, const float* gradScale) {
  if (count <= 0) return;
  AdamWConsts c;
  c.lr = hp.lr;
  c.beta1 = hp.beta1;
  c.beta2 = hp.beta2;
  c.oneMinusBeta1 = float(1.0 - double(hp.beta1));
  c.oneMinusBeta2 = float(1.0 - double(hp.beta2));
  c.eps = hp.eps;
  const double t = double(hp.step);
  c.invBias1 = float(1.0 / (1.0 - std::pow(double(hp.beta1), t)));
  c.invSqrtBias2 = float(1.0 / std::sqrt(1.0 - std::pow(double(hp.beta2), t)));
  c.gradScale = gradScale ? *gradScale : 1.0f;

  // The tensors as one flat range: start[k] is where tensor k begins.
  std::vector<int64_t> start(count + 1, 0);
  for (int k = 0; k < count; k++) start[k + 1] = start[k] + tensors[k].n;
  const int64_t total = start[count];
  const int level = cpuLevel();
  parallelFor(total, 1 << 14, [&](int64_t b, int64_t e) {
    int k = int(std::upper_bound(start.begin(), start.end(), b) - start.begin()) - 1;
    for (; b < e; k++) {
      const AdamWTensor& x = tensors[k];
      const int64_t i0 = b - start[k];
      const int64_t len = std::min(e, start[k + 1]) - b;
      if (len <= 0) continue;  // an empty tensor
      if (x.gradType == DType::BF16)
        adamwRange(level, x.param + i0, static_cast<const bf16*>(x.grad) + i0, x.m + i0, x.v + i0, len,
                   x.weightDecay, c);
      else
        adamwRange(level, x.param + i0, static_cast<const float*>(x.grad) + i0, x.m + i0, x.v + i0, len,
                   x.weightDecay, c);
      b += len;
    }
  });
}

template <typename T> void sumSquares(float* sumSq, const T* x, int64_t n) {
  if (n <= 0) return;
  // Fixed blocks (not per-thread shares) so that the sum does not depend on the thread count.
  const int64_t blocks = (n + kSumBlock - 1) / kSumBlock;
  std::vector<double> partial(blocks, 0.0);
  const int level = cpuLevel();
  parallelFor(blocks, 4, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      const int64_t s = b * kSumBlock;
      partial[b] = sumSqBlock(level, x + s, std::min(n, s + kSumBlock) - s);
    }
  });
  double total = 0;
  for (double p : partial) total += p;
  sumSq[0] = float(double(sumSq[0]) + total);
}

void clipCoefficient(float* norm, float* coef, const float* sumSq, float maxNorm) {
  const double nrm = std::sqrt(double(sumSq[0]));
  norm[0] = float(nrm);
  // A NaN norm gives coef 1 (as fminf does on the GPU); the NaN then shows in the norm and the update.
  coef[0] = std::min(1.0f, float(double(maxNorm) / (nrm + 1e-6)));
}

template void sumSquares<float>(float*, const float*, int64_t);
template void sumSquares<bf16>(float*, const bf16*, int64_t);

}  // namespace glm::cpu
