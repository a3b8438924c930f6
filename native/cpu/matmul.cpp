// The CPU GEMM driver (see matmul.h): cache blocking, packing, threads, batches; the arithmetic is in
// the micro-kernels (gemm_avx512.cpp, gemm_avx2.cpp, gemm_scalar.cpp).
//
// Loop nest, as in BLIS/OpenBLAS with the roles of A and B exchanged (our kernels broadcast A and
// load B vectors, so C is produced row-major). One operand is "shared": packed once per K block by
// all threads together and read by all; the other is packed per work unit into a thread's own buffer.
// - Column split (enough columns, the usual case): the A block (mca rows × kc, in L3) is shared;
//   a unit is a group of B panels (kc × its columns, in L2) run against every A panel.
// - Row split (few columns): B (kc × N, small) is shared; a unit is a group of A panels.
//   for jc over M in blocks of mca rows
//     for pc over K in blocks of kc                      one "phase"
//       pack the shared operand, panel by panel
//       for each unit: pack its panels of the other operand
//         for each A panel (MR rows, stays in L1)
//           for each B panel (NR columns, streams from L2): micro-kernel
// Threads never wait at a barrier for each other: packing jobs and units are claimed from atomic
// counters, and a thread waits only for work that another thread has claimed and not yet finished.
// So a worker that wakes late (or is descheduled on a busy machine) costs little: whoever is running
// takes what is left. Partial sums of earlier K blocks stay in C (f32) or in an f32 workspace (bf16);
// the epilogue runs with the last K block.
#include "matmul.h"

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <cstdlib>
#include <new>
#include <thread>
#include <type_traits>
#include <unistd.h>
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
// The AVX2 level (6×16 tiles) sizes a thread's B block from this machine's L2 instead: half of it
// (Zen 2/3 and many Intel cores have 256-512 KiB, where 1 MiB of B would stream from L3).
struct Blocking {
  int64_t kcMax = 384;              // A panel 14×384×4 = 21 KiB stays in L1
  int64_t aBlockBytes = 8 << 20;    // the shared A block, in L3
  int64_t bBlockBytes = 1 << 20;    // a thread's B block: half of its L2
  int64_t workBytes = 16 << 20;     // f32 partial sums of a bf16 C between K blocks
  int64_t bBlockBytesAvx2 = 256 << 10;
  // ... and a 2 MiB shared A block: at 2048³ on the Zen 3 VM (a 32 MiB L3 shared with other
  // tenants) 8 MiB ran at 105-133 GFLOP/s on 2 threads, 2 MiB at 140-153.
  int64_t aBlockBytesAvx2 = 2 << 20;
};

const Blocking& blocking() {
  static const Blocking b = [] {
    Blocking r;
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    if (l2 > 0) r.bBlockBytesAvx2 = std::clamp<int64_t>(l2 / 2, 128 << 10, 1 << 20);
    if (const char* env = std::getenv("GLM_GEMM_BLOCKING")) {
      long long v[4];
      if (std::sscanf(env, "%lld,%lld,%lld,%lld", &v[0], &v[1], &v[2], &v[3]) == 4 && v[0] > 0 && v[1] > 0 &&
          v[2] > 0 && v[3] > 0) {
        r.kcMax = v[0];
        r.aBlockBytes = r.aBlockBytesAvx2 = v[1];
        r.bBlockBytes = r.bBlockBytesAvx2 = v[2];
        r.workBytes = v[3];
      }
    }
    return r;
  }();
  return b;
}

constexpr int64_t kParallelMinMacs = 1 << 21;   // below this (~20 us), waking the pool costs more than it saves
constexpr int64_t kBatchSplitMacs = 1 << 22;    // batch items smaller than this run one per thread
// Few-row products are bound by streaming B (a decode step's linears: 0.3-2.4 MB of weights for a
// few hundred thousand MACs), and one core reads from L3 at about half the rate two do: they are
// split across the pool from this much of B on (~5 us of one core's streaming), whatever their MACs.
constexpr int64_t kSmallRowsParallelBytes = 1 << 17;

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

// Work counters of one phase (one K block of one A block), on their own cache lines.
struct alignas(64) PhaseSync {
  std::atomic<int64_t> packNext{0}, packDone{0};
  alignas(64) std::atomic<int64_t> unitNext{0}, unitDone{0};
};

// Waits until `done` reaches `total`: the remaining jobs are claimed and in progress elsewhere.
inline void waitFor(const std::atomic<int64_t>& done, int64_t total) {
  for (int spins = 0; done.load(std::memory_order_acquire) < total; spins++) {
    if (spins < 2000) _mm_pause();
    else std::this_thread::yield();
  }
}

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

// Block sizes and work units for a problem shape, and the scratch it needs.
struct Plan {
  int mr, nr, vec;
  int64_t kcStep, nK;    // K blocks
  int64_t mca;           // rows of an A block (a multiple of mr unless it is all of M)
  bool sharedA;          // column split (else row split)
  int64_t unitPanels;    // panels of the unshared operand per unit
  int64_t aPanelFloats;  // space of one packed A panel
  int threads;
  size_t sharedFloats;   // one buffer of the shared operand (two are used: double buffering)
  size_t ownFloats;      // one thread's buffer for its unit
  size_t workFloats;     // f32 partial sums for bf16 C (0 when not needed)
  size_t totalFloats() const { return 2 * sharedFloats + size_t(threads) * ownFloats + workFloats; }
};

template <typename T>
Plan makePlan(const LevelInfo& L, int64_t M, int64_t N, int64_t K, int threads) {
  const Blocking& bl = blocking();
  Plan p{};
  p.mr = L.mr;
  p.nr = L.nr;
  p.vec = L.vec;
  p.threads = threads;
  p.nK = ceilDiv(K, bl.kcMax);
  p.kcStep = ceilDiv(K, p.nK);
  const int64_t kc = p.kcStep;
  const int64_t nPanels = ceilDiv(N, p.nr);
  // Room for an A panel in either layout, rounded to a cache line.
  p.aPanelFloats = roundUp(p.mr * std::max(kc, L.aRowMajor ? aRowStride(kc) : 0), 16);
  // Units per phase: one per thread would do if threads started together; a few more let whoever
  // runs take over the share of a thread that starts late.
  // AVX2 (6×16 tiles, small L2-sized B blocks) takes 8 per thread: measured ~5% faster at 512³ on a
  // 2-core Zen 3, where the last unit of each phase otherwise leaves one core idle for longer.
  const int64_t unitsWanted = threads == 1 ? 1 : (L.bBlockFromL2 ? 8 : 4) * int64_t(threads);
  p.sharedA = threads == 1 || nPanels >= unitsWanted;

  int64_t mca = M;
  const int64_t aBytes = L.bBlockFromL2 ? bl.aBlockBytesAvx2 : bl.aBlockBytes;
  if (p.sharedA) mca = std::max<int64_t>(p.mr, aBytes / (4 * kc) / p.mr * p.mr);
  if (std::is_same_v<T, bf16> && p.nK > 1)
    mca = std::min(mca, std::max<int64_t>(p.mr, bl.workBytes / (4 * N) / p.mr * p.mr));
  if (M <= mca) mca = M;
  else mca = roundUp(ceilDiv(M, ceilDiv(M, mca)), p.mr);  // even blocks
  p.mca = mca;
  const int64_t mPanels = ceilDiv(mca, p.mr);

  if (p.sharedA) {
    // Units of B panels: at most a B block that fits in L2, and enough of them to share out.
    const int64_t bBytes = L.bBlockFromL2 ? bl.bBlockBytesAvx2 : bl.bBlockBytes;
    const int64_t maxPanels = std::max<int64_t>(1, bBytes / (4 * kc * p.nr));
    const int64_t units = std::max(ceilDiv(nPanels, maxPanels), std::min(nPanels, unitsWanted));
    p.unitPanels = ceilDiv(nPanels, units);
    p.sharedFloats = size_t(mPanels * p.aPanelFloats);
    p.ownFloats = size_t(roundUp(p.unitPanels * p.nr * kc, 16));
  } else {
    p.unitPanels = ceilDiv(mPanels, std::min(mPanels, unitsWanted));
    p.sharedFloats = size_t(roundUp(nPanels * p.nr * kc, 16));
    p.ownFloats = size_t(p.unitPanels * p.aPanelFloats);
  }
  p.workFloats = (std::is_same_v<T, bf16> && p.nK > 1) ? size_t(mca * N) : 0;
  return p;
}

// Whether mr rows of kc floats, lda floats apart, can be broadcast from in place: true when no L1
// set (64 sets of 64-byte lines, 12 ways) would have to hold more than 8 of their lines. Power-of-two
// row strides (K = 1024, say) pile every row onto the same sets; those rows are copied instead.
bool rowsSpreadInL1(int64_t lda, int64_t kc, int mr) {
  int perSet[64] = {};
  const int64_t lines = kc / 16 + 2;  // rows need not start on a line
  for (int r = 0; r < mr; r++) {
    const int64_t first = r * lda / 16;
    for (int64_t l = 0; l < std::min<int64_t>(lines, 64); l++)
      if (++perSet[(first + l) % 64] > 8) return false;
  }
  return true;
}

// Runs the loop nest for one problem on up to plan.threads threads. `scratch` holds
// plan.totalFloats(). Called from inside the pool (a nested call), one thread does everything.
template <typename T>
void runGemm(const Problem<T>& pr, const Plan& plan, const LevelInfo& L, int level, float* scratch) {
  const KernelFn<T> kernel = kernelFor<T>(L), narrow = narrowKernelFor<T>(L);
  const int narrowMax = L.narrowMax;
  const int64_t M = pr.M, N = pr.N, K = pr.K;
  const int mr = plan.mr, nr = plan.nr, vec = plan.vec;
  const int64_t lda = pr.transA ? M : K;
  const int64_t ldb = pr.transB ? K : N;
  const int64_t nPanels = ceilDiv(N, nr);
  float* sharedBuf[2] = {scratch, scratch + plan.sharedFloats};
  float* ownBufs = scratch + 2 * plan.sharedFloats;
  float* work = ownBufs + size_t(plan.threads) * plan.ownFloats;
  const int64_t nBlocks = ceilDiv(M, plan.mca);
  std::vector<PhaseSync> sync(size_t(nBlocks * plan.nK));

  // A not transposed is copied row by row into row-major panels where the kernels take them.
  const bool aRows = L.aRowMajor && !pr.transA;
  // f32 A rows can even be read in place when their stride spreads a panel over the L1 sets.
  const bool aDirect = aRows && std::is_same_v<T, float> && rowsSpreadInL1(lda, plan.kcStep, mr);
  const int64_t aPanel = plan.aPanelFloats;
  // Where A panel p of the block at row jc starts, for K block k0: packed in buf, or A itself.
  auto aAt = [&](const float* buf, int64_t slot, int64_t jc, int64_t p, int64_t k0) -> const float* {
    if constexpr (std::is_same_v<T, float>) {
      if (aDirect) return pr.A + (jc + p * mr) * lda + k0;
    }
    return buf + slot * aPanel;
  };
  auto packAPanel = [&](float* dst, int64_t mc, int64_t jc, int64_t p, int64_t k0, int64_t kc) {
    const int rows = int(std::min<int64_t>(mr, mc - p * mr));
    if (aRows) packARows(dst, pr.A, lda, jc + p * mr, rows, k0, kc, aRowStride(kc));
    else packA(dst, pr.A, lda, pr.transA, jc + p * mr, rows, k0, kc, mr, level);
  };
  auto packBPanel = [&](float* dst, int64_t q, int64_t k0, int64_t kc) {
    const int cols = int(std::min<int64_t>(nr, N - q * nr));
    const int w = cols == nr ? nr : int(roundUp(cols, vec));
    if (aRows && cols <= L.narrowMax) packBColumns(dst, pr.B, ldb, pr.transB, q * nr, cols, k0, kc);
    else packB(dst, pr.B, ldb, pr.transB, q * nr, cols, k0, kc, w, level);
  };
  // The tile of A panel p (rows from i) and B panel q, from packed panels.
  auto tile = [&](const float* aPanel, const float* bPanel, int64_t jc, int64_t mc, int64_t p, int64_t q, int64_t kc,
                  const TileOp& op) {
    const int rows = int(std::min<int64_t>(mr, mc - p * mr));
    const int64_t i = jc + p * mr, j = q * nr;
    const int cols = int(std::min<int64_t>(nr, N - j));
    Tile<T> t;
    t.c = pr.C + i * N + j;
    t.ldc = N;
    if constexpr (std::is_same_v<T, float>) t.acc = t.c;
    else t.acc = work ? work + (i - jc) * N + j : nullptr;
    t.ldacc = N;
    t.pre = pr.pre ? pr.pre + i * N + j : nullptr;
    t.bias = pr.bias ? pr.bias + j : nullptr;
    (cols <= narrowMax ? narrow : kernel)(rows, cols, kc, aPanel, bPanel, t, op);
  };

  auto body = [&](int tid, int) {
    float* own = ownBufs + size_t(tid) * plan.ownFloats;
    for (int64_t jb = 0; jb < nBlocks; jb++) {
      const int64_t jc = jb * plan.mca;
      const int64_t mc = std::min(plan.mca, M - jc);
      const int64_t mPanels = ceilDiv(mc, mr);
      for (int64_t pc = 0; pc < plan.nK; pc++) {
        const int64_t ph = jb * plan.nK + pc;
        PhaseSync& S = sync[size_t(ph)];
        const int64_t k0 = pc * plan.kcStep;
        const int64_t kc = std::min(plan.kcStep, K - k0);
        float* shared = sharedBuf[ph & 1];
        // The shared operand, one panel per job. Its buffer was last read in phase ph - 2, which
        // finished before anyone could start phase ph - 1's units.
        const int64_t nShared = plan.sharedA ? (aDirect ? 0 : mPanels) : nPanels;
        for (int64_t s; (s = S.packNext.fetch_add(1, std::memory_order_relaxed)) < nShared;) {
          if (plan.sharedA) packAPanel(shared + s * aPanel, mc, jc, s, k0, kc);
          else packBPanel(shared + s * nr * kc, s, k0, kc);
          S.packDone.fetch_add(1, std::memory_order_release);
        }
        waitFor(S.packDone, nShared);
        // Units of this phase add to the partial sums of the previous phase's units (same tiles,
        // or the same bf16 workspace rows): those must be complete.
        if (ph > 0) {
          const PhaseSync& prev = sync[size_t(ph - 1)];
          const int64_t prevMc = pc > 0 ? mc : std::min(plan.mca, M - (jb - 1) * plan.mca);
          const int64_t prevUnits = plan.sharedA ? ceilDiv(nPanels, plan.unitPanels)
                                                 : ceilDiv(ceilDiv(prevMc, mr), plan.unitPanels);
          waitFor(prev.unitDone, prevUnits);
        }

        TileOp op;
        op.alpha = pr.alpha;
        op.beta = pr.beta;
        op.first = pc == 0;
        op.last = pc == plan.nK - 1;
        op.gelu = pr.gelu;
        op.aRowStride = aDirect ? lda : aRows ? aRowStride(kc) : 0;
        const int64_t other = plan.sharedA ? nPanels : mPanels;
        const int64_t nUnits = ceilDiv(other, plan.unitPanels);
        for (int64_t u; (u = S.unitNext.fetch_add(1, std::memory_order_relaxed)) < nUnits;) {
          const int64_t u0 = u * plan.unitPanels, u1 = std::min(other, u0 + plan.unitPanels);
          if (plan.sharedA) {
            for (int64_t q = u0; q < u1; q++) packBPanel(own + (q - u0) * nr * kc, q, k0, kc);
            for (int64_t p = 0; p < mPanels; p++)
              for (int64_t q = u0; q < u1; q++)
                tile(aAt(shared, p, jc, p, k0), own + (q - u0) * nr * kc, jc, mc, p, q, kc, op);
          } else {
            if (!aDirect)
              for (int64_t p = u0; p < u1; p++) packAPanel(own + (p - u0) * aPanel, mc, jc, p, k0, kc);
            for (int64_t p = u0; p < u1; p++)
              for (int64_t q = 0; q < nPanels; q++)
                tile(aAt(own, p - u0, jc, p, k0), shared + q * nr * kc, jc, mc, p, q, kc, op);
          }
          S.unitDone.fetch_add(1, std::memory_order_release);
        }
      }
    }
    // parallelRun returns when every thread has returned, so all units are done by then.
  };
  if (plan.threads == 1) body(0, 1);
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

// A product with at most kSmallRowsMax rows (AVX-512) or kSmallRowsMaxAvx2 (AVX2): B is streamed
// unpacked, columns are split across `threads` (1: on the calling thread).
template <typename T>
void smallRows(const Problem<T>& pr, int level, int threads) {
  const int64_t M = pr.M, N = pr.N, K = pr.K;
  const float* a = nullptr;
  thread_local std::vector<float> aBuf;
  if constexpr (std::is_same_v<T, float>) {
    if (!pr.transA) a = pr.A;
  }
  if (!a) {
    aBuf.resize(size_t(M * K));
    for (int64_t i = 0; i < M; i++)
      for (int64_t k = 0; k < K; k++) aBuf[i * K + k] = toF32(pr.transA ? pr.A[k * M + i] : pr.A[i * K + k]);
    a = aBuf.data();
  }
  Tile<T> t;
  t.c = pr.C;
  t.ldc = N;
  t.pre = pr.pre;
  t.bias = pr.bias;
  TileOp op;
  op.alpha = pr.alpha;
  op.beta = pr.beta;
  op.gelu = pr.gelu;
  // Columns per job: a multiple of what one step of the kernel takes (4 dot products along K, or a
  // 64-wide strip of B's rows), about 4 jobs per thread so that a thread the OS takes away for a
  // while does not hold the product up (N = 384 in 256-column jobs left one thread half idle).
  const int64_t step = pr.transB ? 4 : 64;
  const int64_t perJob = threads > 1 ? std::max(step, roundUp(ceilDiv(N, int64_t(threads) * 4), step)) : N;
  const int64_t jobs = ceilDiv(N, perJob);
  auto run = [&](int64_t b, int64_t e) {
    const int64_t j0 = b * perJob, j1 = std::min(N, e * perJob);
    if (level >= 2) smallRows512(a, int(M), pr.B, pr.transB, K, N, j0, j1, t, op);
    else smallRows256(a, int(M), pr.B, pr.transB, K, N, j0, j1, t, op);
  };
  if (threads > 1) parallelFor(jobs, 1, run);
  else run(0, jobs);
}

}  // namespace

template <typename T>
void matmul(T* C, T* preact, const T* A, const T* B, const T* bias, const GemmParams& p) {
  if (p.batch <= 0 || p.M <= 0 || p.N <= 0) return;
  const int level = cpuLevel();
  const LevelInfo& L = levelInfo(level);

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
  if ((level >= 2 && p.M <= kSmallRowsMax) || (level == 1 && p.M <= kSmallRowsMaxAvx2)) {
    const bool split = poolThreads > 1 && (macs >= kParallelMinMacs || p.K * p.N * int64_t(sizeof(T)) >= kSmallRowsParallelBytes);
    for (int64_t z = 0; z < p.batch; z++) smallRows(item(z), level, split ? poolThreads : 1);
    return;
  }
  if (p.batch > 1 && macs < kBatchSplitMacs && macs * p.batch >= kParallelMinMacs && poolThreads > 1) {
    // Many small products: one whole product per thread at a time, each with its own scratch.
    const Plan plan = makePlan<T>(L, p.M, p.N, p.K, 1);
    const size_t per = roundUp(int64_t(plan.totalFloats()), 16);
    float* scratch = tArena.get(per * size_t(poolThreads));
    std::atomic<int64_t> next{0};
    parallelRun([&](int tid, int) {
      for (int64_t z; (z = next.fetch_add(1)) < p.batch;) runGemm(item(z), plan, L, level, scratch + per * tid);
    });
    return;
  }
  const int threads = macs < kParallelMinMacs ? 1 : poolThreads;
  const Plan plan = makePlan<T>(L, p.M, p.N, p.K, threads);
  float* scratch = tArena.get(plan.totalFloats());
  for (int64_t z = 0; z < p.batch; z++) runGemm(item(z), plan, L, level, scratch);
}

template void matmul<float>(float*, float*, const float*, const float*, const float*, const GemmParams&);
template void matmul<bf16>(bf16*, bf16*, const bf16*, const bf16*, const bf16*, const GemmParams&);

}  // namespace glm::cpu
