// Implementation of the fiber-based CUDA emulator (see emu.h).
#include "emu.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cstdarg>
#include <map>
#include <random>

namespace glm_emu {

Runtime& rt() {
  static Runtime r;
  return r;
}

void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "EMU FAILURE: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (block %u,%u,%u)\n", rt().bIdx.x, rt().bIdx.y, rt().bIdx.z);
  va_end(ap);
  abort();
}

struct WarpState {
  int arrived = 0;
  Kind kind = Kind::None;
  LaneIn in[32];
};

struct BlockState {
  std::vector<Fiber> fibers;
  int nThreads = 0;
  int barrierCount = 0;
  unsigned barrierGen = 0;
  std::vector<WarpState> warps;
  ucontext_t mainCtx;
  long progress = 0;
  const std::function<void()>* body = nullptr;
};

static void trampoline() {
  Fiber& f = cur();
  (*rt().block->body)();
  if (!f.pendingGroup.empty()) fail("thread %d exits with uncommitted cp.async", f.linear);
  if (!f.groups.empty()) fail("thread %d exits with cp.async groups not waited for", f.linear);
  f.done = true;
  rt().block->progress++;
  swapcontext(static_cast<ucontext_t*>(f.ctx), &rt().block->mainCtx);
}

void yieldFiber() {
  Fiber& f = cur();
  swapcontext(static_cast<ucontext_t*>(f.ctx), &rt().block->mainCtx);
}

void syncthreads() {
  BlockState& b = *rt().block;
  Fiber& f = cur();
  const unsigned gen = b.barrierGen;
  if (++b.barrierCount == b.nThreads) {
    b.barrierCount = 0;
    b.barrierGen++;
    b.progress++;
  } else {
    while (b.barrierGen == gen) yieldFiber();
  }
  (void)f;
}

static uint16_t smem16(uint32_t addr) {
  if (addr + 2 > rt().smemBytes) fail("shared read out of range at %u", addr);
  uint16_t v;
  std::memcpy(&v, rt().smem + addr, 2);
  return v;
}

static float bf16ToFloat(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

static float tf32Value(uint32_t bits) {
  // The tensor core uses the top 19 bits (sign, 8 exponent, 10 mantissa).
  bits &= 0xffffe000u;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

static void computeWarp(WarpState& w, Fiber* lanes[32]) {
  LaneOut out[32];
  switch (w.kind) {
    case Kind::ShflXor:
      for (int l = 0; l < 32; ++l) out[l].r[0] = w.in[l ^ w.in[l].arg].v;
      break;
    case Kind::ShflIdx:
      for (int l = 0; l < 32; ++l) {
        const int src = w.in[l].arg;
        if (src < 0 || src > 31) fail("shfl source lane %d", src);
        out[l].r[0] = w.in[src].v;
      }
      break;
    case Kind::Ldm:
    case Kind::LdmT: {
      const bool trans = w.kind == Kind::LdmT;
      rt().ldmCalls++;
      for (int i = 0; i < 4; ++i) {
        uint16_t M[8][8];
        bool groups[8] = {};
        int distinct = 0;
        for (int r = 0; r < 8; ++r) {
          const uint32_t addr = w.in[8 * i + r].v;
          if (addr % 16) fail("ldmatrix row address %u not 16-byte aligned", addr);
          for (int c = 0; c < 8; ++c) M[r][c] = smem16(addr + 2 * c);
          const int grp = (addr / 16) % 8;
          if (!groups[grp]) distinct++;
          groups[grp] = true;
        }
        if (distinct < 8) rt().ldmConflictPhases++;
        for (int l = 0; l < 32; ++l) {
          const int g = l >> 2, t = l & 3;
          uint16_t lo, hi;
          if (!trans) {
            lo = M[g][2 * t];
            hi = M[g][2 * t + 1];
          } else {
            lo = M[2 * t][g];
            hi = M[2 * t + 1][g];
          }
          out[l].r[i] = uint32_t(lo) | (uint32_t(hi) << 16);
        }
      }
      break;
    }
    case Kind::MmaBf16: {
      rt().mmaCalls++;
      float A[16][16], B[16][8], C[16][8];
      for (int l = 0; l < 32; ++l) {
        const int g = l >> 2, t = l & 3;
        const LaneIn& x = w.in[l];
        auto lo = [](uint32_t v) { return bf16ToFloat(uint16_t(v & 0xffff)); };
        auto hi = [](uint32_t v) { return bf16ToFloat(uint16_t(v >> 16)); };
        A[g][2 * t] = lo(x.a[0]);
        A[g][2 * t + 1] = hi(x.a[0]);
        A[g + 8][2 * t] = lo(x.a[1]);
        A[g + 8][2 * t + 1] = hi(x.a[1]);
        A[g][2 * t + 8] = lo(x.a[2]);
        A[g][2 * t + 9] = hi(x.a[2]);
        A[g + 8][2 * t + 8] = lo(x.a[3]);
        A[g + 8][2 * t + 9] = hi(x.a[3]);
        B[2 * t][g] = lo(x.b[0]);
        B[2 * t + 1][g] = hi(x.b[0]);
        B[2 * t + 8][g] = lo(x.b[1]);
        B[2 * t + 9][g] = hi(x.b[1]);
        C[g][2 * t] = x.c[0];
        C[g][2 * t + 1] = x.c[1];
        C[g + 8][2 * t] = x.c[2];
        C[g + 8][2 * t + 1] = x.c[3];
      }
      float D[16][8];
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 8; ++j) {
          double s = C[i][j];
          for (int k = 0; k < 16; ++k) s += double(A[i][k]) * double(B[k][j]);
          D[i][j] = float(s);
        }
      for (int l = 0; l < 32; ++l) {
        const int g = l >> 2, t = l & 3;
        out[l].d[0] = D[g][2 * t];
        out[l].d[1] = D[g][2 * t + 1];
        out[l].d[2] = D[g + 8][2 * t];
        out[l].d[3] = D[g + 8][2 * t + 1];
      }
      break;
    }
    case Kind::MmaTf32: {
      rt().mmaCalls++;
      float A[16][8], B[8][8], C[16][8];
      for (int l = 0; l < 32; ++l) {
        const int g = l >> 2, t = l & 3;
        const LaneIn& x = w.in[l];
        A[g][t] = tf32Value(x.a[0]);
        A[g + 8][t] = tf32Value(x.a[1]);
        A[g][t + 4] = tf32Value(x.a[2]);
        A[g + 8][t + 4] = tf32Value(x.a[3]);
        B[t][g] = tf32Value(x.b[0]);
        B[t + 4][g] = tf32Value(x.b[1]);
        C[g][2 * t] = x.c[0];
        C[g][2 * t + 1] = x.c[1];
        C[g + 8][2 * t] = x.c[2];
        C[g + 8][2 * t + 1] = x.c[3];
      }
      for (int l = 0; l < 32; ++l) {
        const int g = l >> 2, t = l & 3;
        const int rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
        for (int q = 0; q < 4; ++q) {
          double s = C[rows[q]][cols[q]];
          for (int k = 0; k < 8; ++k) s += double(A[rows[q]][k]) * double(B[k][cols[q]]);
          out[l].d[q] = float(s);
        }
      }
      break;
    }
    default:
      fail("bad collective");
  }
  for (int l = 0; l < 32; ++l) {
    out[l].ready = true;
    lanes[l]->out = out[l];
  }
}

LaneOut warpCollective(Kind kind, const LaneIn& in) {
  BlockState& b = *rt().block;
  Fiber& f = cur();
  const int warp = f.linear / 32, lane = f.linear % 32;
  WarpState& w = b.warps[warp];
  if (w.arrived > 0 && w.kind != kind) fail("divergent warp collective in warp %d (lane %d)", warp, lane);
  w.kind = kind;
  w.in[lane] = in;
  f.out.ready = false;
  if (++w.arrived == 32) {
    Fiber* lanes[32];
    for (int l = 0; l < 32; ++l) lanes[l] = &b.fibers[warp * 32 + l];
    w.arrived = 0;
    computeWarp(w, lanes);
    b.progress++;
  } else {
    while (!f.out.ready) yieldFiber();
  }
  LaneOut o = f.out;
  f.out.ready = false;
  return o;
}

// ---- global memory registry (for cp.async source checks) ----
static std::map<uintptr_t, size_t>& ranges() {
  static std::map<uintptr_t, size_t> m;
  return m;
}
void registerRange(const void* p, size_t bytes) { ranges()[reinterpret_cast<uintptr_t>(p)] = bytes; }
void unregisterRange(const void* p) { ranges().erase(reinterpret_cast<uintptr_t>(p)); }
static bool inRange(const void* p, size_t bytes) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = ranges().upper_bound(a);
  if (it == ranges().begin()) return false;
  --it;
  return a >= it->first && a + bytes <= it->first + it->second;
}

static void doCopy(const CopyOp& c) {
  if (c.dst % 16) fail("cp.async destination %u not 16-byte aligned", c.dst);
  if (c.dst + 16 > rt().smemBytes) fail("cp.async destination %u out of shared range", c.dst);
  if (c.valid) {
    if (reinterpret_cast<uintptr_t>(c.src) % 16) fail("cp.async source not 16-byte aligned");
    if (!inRange(c.src, 16)) {
      const uintptr_t a = reinterpret_cast<uintptr_t>(c.src);
      auto it = ranges().upper_bound(a);
      long off = 0; size_t sz = 0;
      if (it != ranges().begin()) { --it; off = long(a - it->first); sz = it->second; }
      fail("cp.async source out of every registered buffer: %ld bytes past the start of a %zu-byte buffer", off, sz);
    }
    std::memcpy(rt().smem + c.dst, c.src, 16);
  } else {
    std::memset(rt().smem + c.dst, 0, 16);
  }
}

void cpAsync(uint32_t dst, const void* src, bool valid) {
  CopyOp c{dst, src, valid};
  if (rt().earlyCopy) {
    doCopy(c);
    cur().pendingGroup.push_back(CopyOp{dst, nullptr, false});  // keep group accounting
    cur().pendingGroup.back().src = reinterpret_cast<const void*>(1);  // marker: already done
  } else {
    cur().pendingGroup.push_back(c);
  }
}
void cpCommit() {
  Fiber& f = cur();
  f.groups.push_back(std::move(f.pendingGroup));
  f.pendingGroup.clear();
}
void cpWait(int n) {
  Fiber& f = cur();
  while (static_cast<int>(f.groups.size()) > n) {
    for (const CopyOp& c : f.groups.front())
      if (c.src != reinterpret_cast<const void*>(1)) doCopy(c);
    f.groups.erase(f.groups.begin());
  }
}

void runGrid(dim3 grid, dim3 block, size_t smem, const std::function<void()>& body) {
  Runtime& R = rt();
  static std::vector<unsigned char> smemBuf;
  if (smem > 232448) fail("dynamic shared memory %zu above the sm_90 limit", smem);
  smemBuf.assign(smem + 16, 0xff);
  R.smem = smemBuf.data();
  R.smemBytes = smem;
  R.gDim = grid;
  R.bDim = block;
  const int n = block.x * block.y * block.z;
  if (n % 32) fail("block size %d not a multiple of 32", n);
  static std::mt19937 rng(getenv("EMU_SEED") ? atoi(getenv("EMU_SEED")) : 1);
  const bool randomOrder = getenv("EMU_SEED") != nullptr;
  R.earlyCopy = getenv("EMU_EARLY_COPY") && atoi(getenv("EMU_EARLY_COPY"));
  constexpr size_t kStack = 256 * 1024;
  std::vector<ucontext_t> ctxs(n);
  std::vector<char> stacks(static_cast<size_t>(n) * kStack);
  for (unsigned bz = 0; bz < grid.z; ++bz)
    for (unsigned by = 0; by < grid.y; ++by)
      for (unsigned bx = 0; bx < grid.x; ++bx) {
        R.bIdx = dim3(bx, by, bz);
        std::fill(smemBuf.begin(), smemBuf.end(), 0xff);  // NaN poison
        BlockState b;
        b.nThreads = n;
        b.fibers.resize(n);
        b.warps.resize(n / 32);
        b.body = &body;
        R.block = &b;
        for (int i = 0; i < n; ++i) {
          Fiber& f = b.fibers[i];
          f.linear = i;
          f.tid = dim3(i % block.x, (i / block.x) % block.y, i / (block.x * block.y));
          getcontext(&ctxs[i]);
          ctxs[i].uc_stack.ss_sp = stacks.data() + i * kStack;
          ctxs[i].uc_stack.ss_size = kStack;
          ctxs[i].uc_link = nullptr;
          makecontext(&ctxs[i], trampoline, 0);
          f.ctx = &ctxs[i];
        }
        std::vector<int> order(n);
        for (int i = 0; i < n; ++i) order[i] = i;
        for (;;) {
          bool any = false;
          const long before = b.progress;
          if (randomOrder) std::shuffle(order.begin(), order.end(), rng);
          // Random mode: each pass runs a random subset of warps (biased per block), so that
          // warps drift far apart as they can on hardware; the deadlock check below only counts
          // passes that ran every warp.
          std::vector<char> runWarp(n / 32, 1);
          bool partial = false;
          if (randomOrder && (rng() % 4) != 0) {
            for (auto& w : runWarp) w = (rng() % 3) == 0;
            partial = true;
          }
          for (int i : order) {
            Fiber& f = b.fibers[i];
            if (f.done) continue;
            any = true;
            if (!runWarp[i / 32]) continue;
            R.current = &f;
            swapcontext(&b.mainCtx, static_cast<ucontext_t*>(f.ctx));
          }
          if (!any) break;
          if (b.progress == before && !partial) {
            int done = 0;
            for (auto& f : b.fibers) done += f.done;
            fail("deadlock: %d of %d threads finished, the rest wait on a barrier or collective", done, n);
          }
        }
        R.block = nullptr;
      }
}

}  // namespace glm_emu

// ---- CUDA runtime API stubs (the emulated device: sm_90, 132 SMs, 227 KB shared memory) ----
extern "C" {
cudaError_t cudaGetDevice(int* d) {
  *d = 0;
  return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int* v, cudaDeviceAttr attr, int) {
  switch (attr) {
    case cudaDevAttrComputeCapabilityMajor: *v = getenv("EMU_CC_MAJOR") ? atoi(getenv("EMU_CC_MAJOR")) : 9; break;
    case cudaDevAttrComputeCapabilityMinor: *v = 0; break;
    case cudaDevAttrMultiProcessorCount: *v = 132; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = 232448; break;
    default: *v = 0;
  }
  return cudaSuccess;
}
cudaError_t cudaFuncSetAttribute(const void*, cudaFuncAttribute, int) { return cudaSuccess; }
cudaError_t cudaGetLastError() { return cudaSuccess; }
const char* cudaGetErrorName(cudaError_t) { return "cudaErrorEmulated"; }
const char* cudaGetErrorString(cudaError_t) { return "emulated error"; }
cudaError_t cudaMallocAsync(void** p, size_t bytes, cudaStream_t) {
  *p = malloc(bytes);
  glm_emu::registerRange(*p, bytes);
  return cudaSuccess;
}
cudaError_t cudaMalloc(void** p, size_t bytes) { return cudaMallocAsync(p, bytes, nullptr); }
cudaError_t cudaFree(void* p) { return cudaFreeAsync(p, nullptr); }
cudaError_t cudaFreeAsync(void* p, cudaStream_t) {
  glm_emu::unregisterRange(p);
  free(p);
  return cudaSuccess;
}
}
