// CPU LayerNorm forward and backward; see layernorm.h.
//
// Rows are independent and split over the thread pool; a row (C ≤ a few thousand) stays in L1 across
// the passes. The forward takes the mean, then the variance around it (two passes, not E[x²] - E[x]²,
// which cancels badly when |mean| ≫ std). The backward's dweight/dbias are sums over rows: each fixed
// block of rows (the blocking depends on N only) accumulates its own partial sums, reduced in block
// order, so the result is the same whatever the thread count.
#include "layernorm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/threadpool.h"
#include "simd_f32.h"

namespace glm::cpu {
namespace {
using namespace simd;

// Partial-sum blocks of the backward: enough for any thread count we run, few enough that the
// partials (2 · kMaxBlocks · C floats) stay small.
constexpr int64_t kMaxBlocks = 64;

template <typename T> struct Fwd {
  T* out;
  float* mean;
  float* rstd;
  const T* inp;
  const T* weight;
  const T* bias;
  int64_t C;
  float eps;
};

template <typename T> struct Bwd {
  T* dinp;
  float* dwPartial;  // (blocks, C)
  float* dbPartial;  // (blocks, C)
  const T* dout;
  const T* inp;
  const T* weight;
  const float* mean;
  const float* rstd;
  int64_t N, C, blocks;
};

template <class Vec, class T> inline float rowSum(const T* x, int64_t C) {
  constexpr int L = Vec::kLanes;
  Vec s0 = Vec::zero(), s1 = s0, s2 = s0, s3 = s0;
  int64_t i = 0;
  for (; i + 4 * L <= C; i += 4 * L) {
    s0 = s0 + Vec::load(x + i);
    s1 = s1 + Vec::load(x + i + L);
    s2 = s2 + Vec::load(x + i + 2 * L);
    s3 = s3 + Vec::load(x + i + 3 * L);
  }
  for (; i + L <= C; i += L) s0 = s0 + Vec::load(x + i);
  if (i < C) s0 = s0 + Vec::loadPartial(x + i, int(C - i), 0.0f);
  return ((s0 + s1) + (s2 + s3)).hsum();
}

// Σ (x - m)²
template <class Vec, class T> inline float rowSqDev(const T* x, int64_t C, float m) {
  constexpr int L = Vec::kLanes;
  const Vec vm = Vec::set1(m);
  Vec s0 = Vec::zero(), s1 = s0;
  int64_t i = 0;
  for (; i + 2 * L <= C; i += 2 * L) {
    const Vec a = Vec::load(x + i) - vm, b = Vec::load(x + i + L) - vm;
    s0 = Vec::fma(a, a, s0);
    s1 = Vec::fma(b, b, s1);
  }
  for (; i + L <= C; i += L) {
    const Vec a = Vec::load(x + i) - vm;
    s0 = Vec::fma(a, a, s0);
  }
  if (i < C) {
    const Vec a = Vec::loadPartial(x + i, int(C - i), m) - vm;  // m - m = 0 in the unused lanes
    s0 = Vec::fma(a, a, s0);
  }
  return (s0 + s1).hsum();
}

template <class Vec, class T> inline void forwardRows(const Fwd<T>& f, int64_t r0, int64_t r1) {
  constexpr int L = Vec::kLanes;
  const int64_t C = f.C;
  for (int64_t r = r0; r < r1; r++) {
    const T* x = f.inp + r * C;
    T* y = f.out + r * C;
    const float m = rowSum<Vec>(x, C) / float(C);
    const float rs = 1.0f / std::sqrt(rowSqDev<Vec>(x, C, m) / float(C) + f.eps);
    if (f.mean) f.mean[r] = m;  // null in inference: nothing saved for a backward
    if (f.rstd) f.rstd[r] = rs;
    const Vec vm = Vec::set1(m), vr = Vec::set1(rs);
    int64_t i = 0;
    for (; i + L <= C; i += L) {
      const Vec b = f.bias ? Vec::load(f.bias + i) : Vec::zero();
      Vec::fma((Vec::load(x + i) - vm) * vr, Vec::load(f.weight + i), b).store(y + i);
    }
    if (i < C) {
      const int n = int(C - i);
      const Vec b = f.bias ? Vec::loadPartial(f.bias + i, n, 0.0f) : Vec::zero();
      Vec::fma((Vec::loadPartial(x + i, n, 0.0f) - vm) * vr, Vec::loadPartial(f.weight + i, n, 0.0f), b)
          .storePartial(y + i, n);
    }
  }
}

// One block of rows: dinp for each row, and the block's partial dweight/dbias.
//   xhat = (x - mean)·rstd, g = dout·weight,
//   dinp = rstd·(g - mean(g) - xhat·mean(g·xhat)), dweight += dout·xhat, dbias += dout.
template <class Vec, class T> inline void backwardBlock(const Bwd<T>& b, int64_t block) {
  constexpr int L = Vec::kLanes;
  const int64_t C = b.C;
  const int64_t r0 = block * b.N / b.blocks, r1 = (block + 1) * b.N / b.blocks;
  float* dw = b.dwPartial + block * C;
  float* db = b.dbPartial + block * C;
  std::fill(dw, dw + C, 0.0f);
  std::fill(db, db + C, 0.0f);
  for (int64_t r = r0; r < r1; r++) {
    const T* x = b.inp + r * C;
    const T* dy = b.dout + r * C;
    T* dx = b.dinp + r * C;
    const Vec vm = Vec::set1(b.mean[r]), vr = Vec::set1(b.rstd[r]);
    Vec s1 = Vec::zero(), s2 = Vec::zero();
    int64_t i = 0;
    for (; i + L <= C; i += L) {
      const Vec xh = (Vec::load(x + i) - vm) * vr, d = Vec::load(dy + i);
      const Vec g = d * Vec::load(b.weight + i);
      s1 = s1 + g;
      s2 = Vec::fma(g, xh, s2);
      Vec::fma(d, xh, Vec::load(dw + i)).store(dw + i);
      (Vec::load(db + i) + d).store(db + i);
    }
    if (i < C) {
      const int n = int(C - i);
      // Zero-filled lanes give xh·0 and 0 contributions.
      const Vec xh = (Vec::loadPartial(x + i, n, b.mean[r]) - vm) * vr, d = Vec::loadPartial(dy + i, n, 0.0f);
      const Vec g = d * Vec::loadPartial(b.weight + i, n, 0.0f);
      s1 = s1 + g;
      s2 = Vec::fma(g, xh, s2);
      Vec::fma(d, xh, Vec::loadPartial(dw + i, n, 0.0f)).storePartial(dw + i, n);
      (Vec::loadPartial(db + i, n, 0.0f) + d).storePartial(db + i, n);
    }
    const Vec c1 = Vec::set1(s1.hsum() / float(C)), c2 = Vec::set1(s2.hsum() / float(C));
    for (i = 0; i + L <= C; i += L) {
      const Vec xh = (Vec::load(x + i) - vm) * vr;
      const Vec g = Vec::load(dy + i) * Vec::load(b.weight + i);
      (vr * (g - c1 - xh * c2)).store(dx + i);
    }
    if (i < C) {
      const int n = int(C - i);
      const Vec xh = (Vec::loadPartial(x + i, n, 0.0f) - vm) * vr;
      const Vec g = Vec::loadPartial(dy + i, n, 0.0f) * Vec::loadPartial(b.weight + i, n, 0.0f);
      (vr * (g - c1 - xh * c2)).storePartial(dx + i, n);
    }
  }
}

template <class T> GLM_SIMD_ENTRY_AVX512 void forwardAvx512(const Fwd<T>& f, int64_t r0, int64_t r1) {
  forwardRows<VecAvx512>(f, r0, r1);
}
template <class T> GLM_SIMD_ENTRY_AVX2 void forwardAvx2(const Fwd<T>& f, int64_t r0, int64_t r1) {
  forwardRows<VecAvx2>(f, r0, r1);
}
template <class T> GLM_SIMD_ENTRY_AVX512 void backwardAvx512(const Bwd<T>& b, int64_t k) { backwardBlock<VecAvx512>(b, k); }
template <class T> GLM_SIMD_ENTRY_AVX2 void backwardAvx2(const Bwd<T>& b, int64_t k) { backwardBlock<VecAvx2>(b, k); }

}  // namespace

template <typename T>
void layernormForward(T* out, float* mean, float* rstd, const T* inp, const T* weight, const T* bias, int64_t N,
                      int64_t C, float eps) {
  const Fwd<T> f{out, mean, rstd, inp, weight, bias, C, eps};
  const int level = cpuLevel();
  parallelFor(N, std::max<int64_t>(1, 32768 / std::max<int64_t>(C, 1)), [&](int64_t r0, int64_t r1) {
    FlushDenormals ftz;
    if (level >= 2) forwardAvx512(f, r0, r1);
    else if (level == 1) forwardAvx2(f, r0, r1);
    else forwardRows<VecScalar>(f, r0, r1);
  });
}

template <typename T>
void layernormBackward(T* dinp, T* dweight, T* dbias, const T* dout, const T* inp, const T* weight, const float* mean,
                       const float* rstd, int64_t N, int64_t C) {
  const int64_t blocks = std::min(N, kMaxBlocks);
  std::vector<float> dwPartial(blocks * C), dbPartial(blocks * C);
  const Bwd<T> b{dinp, dwPartial.data(), dbPartial.data(), dout, inp, weight, mean, rstd, N, C, blocks};
  const int level = cpuLevel();
  const int64_t rowsPerBlock = blocks ? N / blocks : 1;
  parallelFor(blocks, std::max<int64_t>(1, 32768 / std::max<int64_t>(rowsPerBlock * C, 1)), [&](int64_t k0, int64_t k1) {
    FlushDenormals ftz;
    for (int64_t k = k0; k < k1; k++) {
      if (level >= 2) backwardAvx512(b, k);
      else if (level == 1) backwardAvx2(b, k);
      else backwardBlock<VecScalar>(b, k);
    }
  });
  // Partials summed in block order (in double): independent of which thread ran which block.
  parallelFor(C, 4096, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; c++) {
      double w = 0.0, s = 0.0;
      for (int64_t k = 0; k < blocks; k++) {
        w += dwPartial[k * C + c];
        s += dbPartial[k * C + c];
      }
      dweight[c] = fromF32<T>(float(w));
      if (dbias) dbias[c] = fromF32<T>(float(s));
    }
  });
}

#define GLM_INSTANTIATE(T)                                                                                        \
  template void layernormForward<T>(T*, float*, float*, const T*, const T*, const T*, int64_t, int64_t, float); \
  template void layernormBackward<T>(T*, T*, T*, const T*, const T*, const T*, const float*, const float*, int64_t, int64_t);
GLM_INSTANTIATE(float)
GLM_INSTANTIATE(bf16)
#undef GLM_INSTANTIATE

}  // namespace glm::cpu
