// The CPU GEMM driver (see matmul.h): cache blocking, packing, threads, batches; the arithmetic is in
// the micro-kernels (gemm_avx512.cpp, gemm_avx2.cpp, gemm_scalar.cpp).
//
// Loop nest, as in BLIS/OpenBLAS with the roles of A and B exchanged (our kernels broadcast A and
// load B vectors, so C is produced row-major):
//   for jc over M in blocks of mca rows                  A block (mca × kc) lives in L3, shared
//     for pc over K in blocks of kc                        by all threads
//       pack the A block (threads pack disjoint panels; a barrier when threads share them)
//       each thread, over its rectangle of panels:
//         for ic over its columns in blocks of ncb         B block (kc × ncb) lives in its L2
//           pack the B block
//           for each A panel (MR rows, stays in L1)
//             for each B panel (NR columns, streams from L2): micro-kernel
// The thread grid is tm × tn over (A panels × B panels): columns are split when there are enough of
// them (each thread then packs its own part of B and reads the shared A block); otherwise rows are
// split (each thread packs its own rows of A and all of B). Partial sums of earlier K blocks stay in
// C (f32) or in an f32 workspace (bf16); the epilogue runs with the last K block.
#include "matmul.h"

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>
#include <type_traits>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/threadpool.h"
#include "gemm_internal.h"

namespace glm::cpu {
namespace gemm {

extern const LevelInfo kLevelScalar, kLevelAvx2, kLevelAvx512;

const LevelInfo& levelInfo(int level) {
  return level >= 2 ? kLevelAvx512 : level == 1 ? kLevelAvx2 : kLevelScalar;
}

}  // namespace gemm

namespace {
using namespace gemm;

// Cache blocking, tuned on a 2-core Sapphire Rapids (48 KiB L1d, 2 MiB L2 per core).
// GLM_GEMM_BLOCKING="kc,aBlockBytes,bBlockBytes,bf16WorkBytes" overrides it, read once per process:
// the tests shrink every block so that small problems cross all the block boundaries.
struct Blocking {
  int64_t kcMax = 384;              // A panel 14×384×4 = 21 KiB stays in L1
  int64_t aBlockBytes = 8 << 20;    // the shared A block, in L3
  int64_t bBlockBytes = 1 << 20;    // a thread's B block: half of its L2
  int64_t workBytes = 16 << 20;     // f32 partial sums of a bf16 C between K blocks
};

const Blocking& blocking() {
  static const Blocking b = [] {
    Blocking r;
    if (const char* env = std::getenv("GLM_GEMM_BLOCKING")) {
      long long v[4];
      if (std::sscanf(env, "%lld,%lld,%lld,%lld", &v[0], &v[1], &v[2], &v[3]) == 4 && v[0] > 0 && v[1] > 0 &&
          v[2] > 0 && v[3] > 0) {
        r.kcMax = v[0];
        r.aBlockBytes = v[1];
        r.bBlockBytes = v[2];
        r.workBytes = v[3];
      }
    }
    return r;
  }();
  return b;
}

constexpr int64_t kParallelMinMacs = 1 << 17;   // below this, waking the pool costs more than it saves
constexpr int64_t kBatchSplitMacs = 1 << 22;    // batch items smaller than this run one per thread

// A 64-byte aligned scratch buffer that only grows; one per calling thread (the CPU stream's worker
// in practice), so steady-state GEMMs allocate nothing.
struct Arena {
  float* data = nullptr;
  size_t capacity = 0;  // floats
  ~Arena() { std::free(data); }
  float* get(size_t floats) {
    if (floats > capacity) {
      std::free(data);
      data = nullptr;
      capacity = 0;
      const size_t bytes = (floats * sizeof(float) + 63) & ~size_t(63);
      data = static_cast<float*>(std::aligned_alloc(64, bytes));
      if (!data) throw std::bad_alloc();
      capacity = floats;
    }
    return data;
  }
};
thread_local Arena tArena;

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

// A sense-reversing spin barrier for the threads of one parallelRun. Spinning is short (threads
// arrive within one packing step of each other); on an oversubscribed machine it yields.
class SpinBarrier {
 public:
  explicit SpinBarrier(int n) : n_(n) {}
  void wait() {
    const int gen = gen_.load(std::memory_order_acquire);
    if (count_.fetch_add(1, std::memory_order_acq_rel) == n_ - 1) {
      count_.store(0, std::memory_order_relaxed);
      gen_.fetch_add(1, std::memory_order_release);
      return;
    }
    for (int spins = 0; gen_.load(std::memory_order_acquire) == gen; spins++) {
      if (spins < 4000) _mm_pause();
      else std::this_thread::yield();
    }
  }

 private:
  const int n_;
  std::atomic<int> count_{0};
  std::atomic<int> gen_{0};
};

// One (unbatched) GEMM problem: C (M × N) = op(A) · op(B), epilogue included.
template <typename T> struct Problem {
  const T* A;
  const T* B;
  T* C;
  T* pre;
  const float* bias;  // f32, or null
  int64_t M, N, K;
  bool transA, transB;
  float alpha, beta;
  bool gelu;
};

// Block sizes and the thread grid for a problem shape, and the scratch it needs.
struct Plan {
  int mr, nr, vec;
  int64_t kcStep, nK;    // K blocks
  int64_t mca;           // rows of an A block (a multiple of mr unless it is all of M)
  int64_t ncbPanels;     // B panels in a thread's B block
  int threads, tm, tn;   // thread grid
  size_t aFloats;        // one A block buffer (two are used: double buffering)
  size_t bFloats;        // one thread's B block buffer
  size_t workFloats;     // f32 partial sums for bf16 C (0 when not needed)
  size_t totalFloats() const { return 2 * aFloats + size_t(threads) * bFloats + workFloats; }
};

template <typename T>
Plan makePlan(const LevelInfo& L, int64_t M, int64_t N, int64_t K, int threads) {
  Plan p{};
  p.mr = L.mr;
  p.nr = L.nr;
  p.vec = L.vec;
  const Blocking& bl = blocking();
  p.nK = ceilDiv(K, bl.kcMax);
  p.kcStep = ceilDiv(K, p.nK);
  const int64_t kc = p.kcStep;

  int64_t mca = std::max<int64_t>(p.mr, bl.aBlockBytes / (4 * kc) / p.mr * p.mr);
  if (std::is_same_v<T, bf16> && p.nK > 1)
    mca = std::min(mca, std::max<int64_t>(p.mr, bl.workBytes / (4 * N) / p.mr * p.mr));
  if (M <= mca) mca = M;
  else mca = roundUp(ceilDiv(M, ceilDiv(M, mca)), p.mr);  // even blocks
  p.mca = mca;

  const int64_t nPanels = ceilDiv(N, p.nr);
  const int64_t mPanels = ceilDiv(mca, p.mr);
  p.threads = threads;
  p.tn = 1;
  // Split columns across as many threads as keep >= 4 panels each; the rest split rows.
  for (int d = threads; d > 1; d--) {
    if (threads % d == 0 && nPanels >= 4 * d && mPanels >= threads / d) {
      p.tn = d;
      break;
    }
  }
  p.tm = threads / p.tn;
  const int64_t myPanels = ceilDiv(nPanels, p.tn);
  p.ncbPanels = std::max<int64_t>(1, std::min(myPanels, bl.bBlockBytes / (4 * kc * p.nr)));
  // Spread the thread's columns evenly over its B blocks.
  p.ncbPanels = ceilDiv(myPanels, ceilDiv(myPanels, p.ncbPanels));

  p.aFloats = size_t(roundUp(mPanels * p.mr * kc, 16));
  p.bFloats = size_t(roundUp(p.ncbPanels * p.nr * kc, 16));
  p.workFloats = (std::is_same_v<T, bf16> && p.nK > 1) ? size_t(mca * N) : 0;
  return p;
}

// Runs the loop nest for one problem on `threads` virtual threads. `scratch` holds plan.totalFloats().
// When the pool runs it inline (a nested call), one thread walks every virtual thread's share in turn.
template <typename T>
void runGemm(const Problem<T>& pr, const Plan& plan, KernelFn<T> kernel, int level, float* scratch) {
  const int64_t M = pr.M, N = pr.N, K = pr.K;
  const int mr = plan.mr, nr = plan.nr, vec = plan.vec;
  const int64_t lda = pr.transA ? M : K;
  const int64_t ldb = pr.transB ? K : N;
  const int64_t nPanels = ceilDiv(N, nr);
  float* aBuf[2] = {scratch, scratch + plan.aFloats};
  float* bBufs = scratch + 2 * plan.aFloats;
  float* work = bBufs + size_t(plan.threads) * plan.bFloats;
  const int P = plan.threads, tm = plan.tm, tn = plan.tn;
  SpinBarrier barrier(P);

  auto body = [&](int tid, int nth) {
    // nth is P (the pool) or 1 (inline); virtual threads vt = tid, tid + nth, ...
    float* bBuf = bBufs + size_t(tid) * plan.bFloats;
    int iter = 0;
    for (int64_t jc = 0; jc < M; jc += plan.mca) {
      // A smaller last block deals its panels out differently: no thread may start on it (packing
      // A, or using the bf16 workspace) while another still works in the same rows of the last one.
      if (jc > 0 && nth > 1) barrier.wait();
      const int64_t mc = std::min(plan.mca, M - jc);
      const int64_t mPanels = ceilDiv(mc, mr);
      for (int64_t pc = 0; pc < plan.nK; pc++) {
        const int64_t k0 = pc * plan.kcStep;
        const int64_t kc = std::min(plan.kcStep, K - k0);
        float* aBlock = aBuf[iter++ & 1];
        // Pack the A block: with a row split each virtual thread packs the rows it computes (no
        // barrier needed); with a column split the panels are dealt out evenly and shared.
        for (int vt = tid; vt < P; vt += nth) {
          const int64_t parts = tn == 1 ? tm : P;
          const int64_t part = tn == 1 ? vt / tn : vt;
          const int64_t p0 = mPanels * part / parts, p1 = mPanels * (part + 1) / parts;
          for (int64_t p = p0; p < p1; p++) {
            const int rows = int(std::min<int64_t>(mr, mc - p * mr));
            packA(aBlock + p * mr * kc, pr.A, lda, pr.transA, jc + p * mr, rows, k0, kc, mr, level);
          }
        }
        if (tn > 1 && nth > 1) barrier.wait();

        TileOp op;
        op.alpha = pr.alpha;
        op.beta = pr.beta;
        op.first = pc == 0;
        op.last = pc == plan.nK - 1;
        op.gelu = pr.gelu;
        for (int vt = tid; vt < P; vt += nth) {
          const int64_t tmi = vt / tn, tni = vt % tn;
          const int64_t pm0 = mPanels * tmi / tm, pm1 = mPanels * (tmi + 1) / tm;
          const int64_t pn0 = nPanels * tni / tn, pn1 = nPanels * (tni + 1) / tn;
          if (pm0 >= pm1) continue;
          for (int64_t jn = pn0; jn < pn1; jn += plan.ncbPanels) {
            const int64_t jn1 = std::min(pn1, jn + plan.ncbPanels);
            for (int64_t q = jn; q < jn1; q++) {
              const int cols = int(std::min<int64_t>(nr, N - q * nr));
              const int w = cols == nr ? nr : int(roundUp(cols, vec));
              packB(bBuf + (q - jn) * nr * kc, pr.B, ldb, pr.transB, q * nr, cols, k0, kc, w, level);
            }
            for (int64_t p = pm0; p < pm1; p++) {
              const int rows = int(std::min<int64_t>(mr, mc - p * mr));
              const int64_t i = jc + p * mr;
              const float* aPanel = aBlock + p * mr * kc;
              for (int64_t q = jn; q < jn1; q++) {
                const int64_t j = q * nr;
                const int cols = int(std::min<int64_t>(nr, N - j));
                Tile<T> t;
                t.c = pr.C + i * N + j;
                t.ldc = N;
                if constexpr (std::is_same_v<T, float>) {
                  t.acc = t.c;
                } else {
                  t.acc = work ? work + (i - jc) * N + j : nullptr;
                }
                t.ldacc = N;
                t.pre = pr.pre ? pr.pre + i * N + j : nullptr;
                t.bias = pr.bias ? pr.bias + j : nullptr;
                kernel(rows, cols, kc, aPanel, bBuf + (q - jn) * nr * kc, t, op);
              }
            }
          }
        }
      }
    }
  };
  if (P == 1) body(0, 1);
  else parallelRun(body);
}

// K == 0: C = beta·C (+ bias, then GELU) with nothing to multiply.
template <typename T>
void emptyProduct(const Problem<T>& pr) {
  Tile<T> t;
  t.c = pr.C;
  t.ldc = pr.N;
  t.pre = pr.pre;
  t.bias = pr.bias;
  TileOp op;
  op.beta = pr.beta;
  op.gelu = pr.gelu;
  for (int64_t i = 0; i < pr.M; i++)
    for (int64_t j = 0; j < pr.N; j++) storeOne(t, i, j, 0.0f, op);
}

}  // namespace

template <typename T>
void matmul(T* C, T* preact, const T* A, const T* B, const T* bias, const GemmParams& p) {
  if (p.batch <= 0 || p.M <= 0 || p.N <= 0) return;
  const int level = cpuLevel();
  const LevelInfo& L = levelInfo(level);
  const KernelFn<T> kernel = kernelFor<T>(L);

  // bias as f32 (bf16 is widened once here rather than in every tile).
  const float* biasF = nullptr;
  std::vector<float> biasBuf;
  if (bias) {
    if constexpr (std::is_same_v<T, float>) {
      biasF = bias;
    } else {
      biasBuf.resize(size_t(p.N));
      for (int64_t j = 0; j < p.N; j++) biasBuf[j] = toF32(bias[j]);
      biasF = biasBuf.data();
    }
  }
  auto item = [&](int64_t z) {
    Problem<T> pr{A + z * p.strideA, B + z * p.strideB, C + z * p.strideC, preact ? preact + z * p.strideC : nullptr,
                  biasF, p.M, p.N, p.K, p.transA, p.transB, p.alpha, p.beta, p.epilogue == Epilogue::Gelu};
    return pr;
  };
  if (p.K == 0) {
    for (int64_t z = 0; z < p.batch; z++) emptyProduct(item(z));
    return;
  }

  const int64_t macs = p.M * p.N * p.K;
  const int poolThreads = numThreads();
  if (p.batch > 1 && macs < kBatchSplitMacs && poolThreads > 1) {
    // Many small products: one whole product per thread at a time, each with its own scratch.
    const Plan plan = makePlan<T>(L, p.M, p.N, p.K, 1);
    const size_t per = roundUp(int64_t(plan.totalFloats()), 16);
    float* scratch = tArena.get(per * size_t(poolThreads));
    std::atomic<int64_t> next{0};
    parallelRun([&](int tid, int) {
      for (int64_t z; (z = next.fetch_add(1)) < p.batch;) runGemm(item(z), plan, kernel, level, scratch + per * tid);
    });
    return;
  }
  const int threads = macs < kParallelMinMacs ? 1 : poolThreads;
  const Plan plan = makePlan<T>(L, p.M, p.N, p.K, threads);
  float* scratch = tArena.get(plan.totalFloats());
  for (int64_t z = 0; z < p.batch; z++) runGemm(item(z), plan, kernel, level, scratch);
}

template void matmul<float>(float*, float*, const float*, const float*, const float*, const GemmParams&);
template void matmul<bf16>(bf16*, bf16*, const bf16*, const bf16*, const bf16*, const GemmParams&);

}  // namespace glm::cpu
