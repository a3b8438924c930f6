// Checks every CUDA kernel under native/cuda (except GEMM and attention) on the CPU emulator
// (emu.h) against the CPU kernels or float64 references, over awkward sizes, unaligned views (one
// element off), in-place calls and deferred device errors. The emulated device has ONE
// multiprocessor, so grid-stride loops always take several turns.
// Build and run: tools/cuda-emu/run.sh
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "native/core/dtype.h"
#include "native/cpu/convert.h"
#include "native/cpu/elementwise.h"
#include "native/cuda/activation.h"
#include "native/cuda/convert.h"
#include "native/cuda/cross_entropy.h"
#include "native/cuda/device_error.cuh"
#include "native/cuda/dropout.h"
#include "native/cuda/elementwise.h"
#include "native/cuda/embedding.h"
#include "native/cuda/layernorm.h"
#include "native/cuda/layout.h"
#include "native/cuda/optim.h"
#include "native/cuda/pattern.h"
#include "native/cuda/rope.h"
#include "native/cuda/runtime_internal.h"

using glm::bf16;

// ---- the emulated runtime: one multiprocessor, scratch filled with 0xFF, one error record ----
namespace {
glm::cuda::DeviceError gRecord;
unsigned gTag = 0;
}  // namespace

namespace glm::cuda {
int currentDeviceSMs() { return 1; }
ScratchBuffer::ScratchBuffer(size_t bytes) : device_(0), ptr_(std::malloc(bytes ? bytes : 1)) {
  std::memset(ptr_, 0xFF, bytes);
}
ScratchBuffer::~ScratchBuffer() { std::free(ptr_); }
ErrorSink errorSinkFor(void*) { return ErrorSink{&gRecord, ++gTag, 7}; }
}  // namespace glm::cuda

namespace {

int gFailures = 0, gChecks = 0;
std::mt19937 gRng(12345);

#define CHECK(cond, ...)                                  \
  do {                                                    \
    gChecks++;                                            \
    if (!(cond)) {                                        \
      gFailures++;                                        \
      std::printf("FAIL %s:%d: ", __FILE__, __LINE__);    \
      std::printf(__VA_ARGS__);                           \
      std::printf("\n");                                  \
    }                                                     \
  } while (0)

std::vector<float> normals(size_t n, float scale = 1.0f) {
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(gRng);
  return v;
}

int randInt(int lo, int hiExclusive) { return std::uniform_int_distribution<int>(lo, hiExclusive - 1)(gRng); }

// A buffer of exactly n elements (so ASan sees overruns), `offset` elements into its allocation
// (offset 1 makes every 16-byte path fall back), filled with NaN bytes.
template <typename T> struct Buf {
  T* base = nullptr;
  T* p = nullptr;
  size_t n = 0;
  Buf(size_t count, int offset = 0) : n(count) {
    base = static_cast<T*>(std::malloc(sizeof(T) * (count + offset) + 1));
    std::memset(base, 0xFF, sizeof(T) * (count + offset));
    p = base + offset;
  }
  ~Buf() { std::free(base); }
  Buf(const Buf&) = delete;
  T& operator[](size_t i) { return p[i]; }
};

template <typename T> float ld(T v);
template <> float ld<float>(float v) { return v; }
template <> float ld<bf16>(bf16 v) { return glm::bf16ToF32(v.bits); }
template <typename T> T st(float v) { return glm::fromF32<T>(v); }
template <typename T> const char* tname();
template <> const char* tname<float>() { return "f32"; }
template <> const char* tname<bf16>() { return "bf16"; }
template <typename T> double tolOf() { return std::is_same<T, float>::value ? 2e-6 : 1e-2; }

template <typename T> void fillFrom(Buf<T>& b, const std::vector<float>& v) {
  for (size_t i = 0; i < b.n; i++) b[i] = st<T>(v[i]);
}

// Norm-wise relative error of got against want; NaN anywhere fails.
template <typename G> double relErr(const G& got, const std::vector<double>& want, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    const double g = got(i);
    if (!std::isfinite(g)) return INFINITY;
    num += (g - want[i]) * (g - want[i]);
    den += want[i] * want[i];
  }
  return std::sqrt(num) / std::max(std::sqrt(den), 1e-30);
}

template <typename T> double relErrBuf(Buf<T>& b, const std::vector<double>& want) {
  return relErr([&](size_t i) { return double(ld(b[i])); }, want, b.n);
}

std::string decodeRecord(const glm::cuda::DeviceError& e) {
  if (e.tag == 0) return "none";
  const unsigned long long key = ~e.invKey;
  char buf[128];
  std::snprintf(buf, sizeof buf, "code %d op %d index %lld value %d limit %lld", e.code, e.op, (long long)(key >> 32),
                int(uint32_t(key & 0xffffffff)), e.limit);
  return buf;
}

const int64_t kSizes[] = {1, 7, 63, 64, 65, 129, 1000, 4099};

// ---------------------------------------------------------------------------------------------
void testConvertAndFill() {
  using glm::DType;
  const DType types[] = {DType::F32, DType::BF16, DType::I32};
  for (int64_t n : kSizes)
    for (int off = 0; off < 2; off++)
      for (DType in : types)
        for (DType out : types) {
          const size_t ib = glm::dtypeSize(in), ob = glm::dtypeSize(out);
          std::vector<uint8_t> src(n * ib);
          std::vector<float> v = normals(n, 300.0f);
          for (int64_t i = 0; i < n; i++) {
            if (in == DType::F32) std::memcpy(&src[i * 4], &v[i], 4);
            else if (in == DType::BF16) { uint16_t h = glm::f32ToBf16(v[i]); std::memcpy(&src[i * 2], &h, 2); }
            else { int32_t k = int32_t(v[i]); std::memcpy(&src[i * 4], &k, 4); }
          }
          Buf<uint8_t> dIn(n * ib + off * ib), dOut(n * ob + off * ob);
          std::memcpy(dIn.p + off * ib, src.data(), n * ib);
          std::vector<uint8_t> want(n * ob);
          glm::cpu::convert(want.data(), out, src.data(), in, n);
          glm::cuda::convert(dOut.p + off * ob, out, dIn.p + off * ib, in, n, nullptr);
          CHECK(std::memcmp(dOut.p + off * ob, want.data(), n * ob) == 0, "convert %s->%s n=%lld off=%d",
                glm::dtypeName(in), glm::dtypeName(out), (long long)n, off);
        }
  for (int64_t n : kSizes)
    for (int off = 0; off < 4; off++)
      for (DType t : types) {
        const size_t b = glm::dtypeSize(t);
        Buf<uint8_t> d(n * b + off * b);
        std::vector<uint8_t> want(n * b);
        glm::cpu::fill(want.data(), t, -2.7183, n);
        glm::cuda::fill(d.p + off * b, t, -2.7183, n, nullptr);
        CHECK(std::memcmp(d.p + off * b, want.data(), n * b) == 0, "fill %s n=%lld off=%d", glm::dtypeName(t),
              (long long)n, off);
        // The bytes around the fill stay untouched.
        if (off > 0) CHECK(d.p[off * b - 1] == 0xFF, "fill wrote before its start");
      }
  for (int64_t n : kSizes)
    for (int off = 0; off < 16; off += 5) {
      Buf<uint8_t> d(n + off);
      glm::cuda::fillPattern(d.p + off, 0xAB, 1, n, nullptr);
      bool ok = true;
      for (int64_t i = 0; i < n; i++) ok &= d.p[off + i] == 0xAB;
      for (int i = 0; i < off; i++) ok &= d.p[i] == 0xFF;
      CHECK(ok, "fillPattern 1 byte n=%lld off=%d", (long long)n, off);
    }
}

// ---------------------------------------------------------------------------------------------
template <typename T> void testElementwise() {
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1}, {7, 7}, {63 * 65, 65}, {3 * 129 * 7, 129 * 7}, {5000, 5000},
                                                {64 * 8, 8}, {64 * 16, 16}, {12 * 32, 32}, {4099, 4099}};
  for (auto [n, n2] : shapes)
    for (int off = 0; off < 2; off++) {
      std::vector<float> av = normals(n), bv = normals(n2);
      Buf<T> a(n, off), b(n2, off), out(n, off);
      fillFrom(a, av);
      fillFrom(b, bv);
      std::vector<T> ca(a.p, a.p + n), cb(b.p, b.p + n2), want(n);
      glm::cpu::add<T>(want.data(), ca.data(), cb.data(), -0.5f, n, n2);
      std::vector<double> w(n);
      for (int64_t i = 0; i < n; i++) w[i] = ld(want[i]);
      glm::cuda::add<T>(out.p, a.p, b.p, -0.5f, n, n2, nullptr);
      CHECK(relErrBuf(out, w) <= tolOf<T>(), "add %s n=%lld n2=%lld off=%d err=%g", tname<T>(), (long long)n,
            (long long)n2, off, relErrBuf(out, w));
      glm::cpu::mul<T>(want.data(), ca.data(), cb.data(), n, n2);
      for (int64_t i = 0; i < n; i++) w[i] = ld(want[i]);
      glm::cuda::mul<T>(out.p, a.p, b.p, n, n2, nullptr);
      CHECK(relErrBuf(out, w) <= tolOf<T>(), "mul %s n=%lld n2=%lld off=%d", tname<T>(), (long long)n, (long long)n2,
            off);
      // In place: out == a.
      glm::cpu::add<T>(want.data(), ca.data(), cb.data(), 2.0f, n, n2);
      for (int64_t i = 0; i < n; i++) w[i] = ld(want[i]);
      glm::cuda::add<T>(a.p, a.p, b.p, 2.0f, n, n2, nullptr);
      CHECK(relErrBuf(a, w) <= tolOf<T>(), "add in place %s n=%lld n2=%lld off=%d", tname<T>(), (long long)n,
            (long long)n2, off);
      fillFrom(a, av);

      glm::cuda::scale<T>(out.p, a.p, 1.5f, n, nullptr);
      for (int64_t i = 0; i < n; i++) w[i] = 1.5 * ld(ca[i]);
      CHECK(relErrBuf(out, w) <= tolOf<T>(), "scale %s n=%lld off=%d", tname<T>(), (long long)n, off);

      // sumRows with beta 0 over a NaN-poisoned out, then with beta != 0.
      Buf<T> rows(n2, off);
      glm::cuda::sumRows<T>(rows.p, a.p, 2.0f, 0.0f, n, n2, nullptr);
      std::vector<double> rs(n2, 0.0);
      for (int64_t i = 0; i < n; i++) rs[i % n2] += ld(ca[i]);
      std::vector<double> w2(n2);
      for (int64_t c = 0; c < n2; c++) w2[c] = 2.0 * rs[c];
      CHECK(relErrBuf(rows, w2) <= tolOf<T>(), "sumRows beta=0 %s n=%lld n2=%lld err=%g", tname<T>(), (long long)n,
            (long long)n2, relErrBuf(rows, w2));
      std::vector<double> prev(n2);
      for (int64_t c = 0; c < n2; c++) prev[c] = ld(rows[c]);
      glm::cuda::sumRows<T>(rows.p, a.p, 1.0f, 0.5f, n, n2, nullptr);
      for (int64_t c = 0; c < n2; c++) w2[c] = 0.5 * prev[c] + rs[c];
      CHECK(relErrBuf(rows, w2) <= tolOf<T>(), "sumRows beta=0.5 %s n=%lld n2=%lld", tname<T>(), (long long)n,
            (long long)n2);

      Buf<float> total(1);
      glm::cuda::sumAll<T>(total.p, a.p, -3.0f, n, nullptr);
      double ts = 0;
      for (int64_t i = 0; i < n; i++) ts += ld(ca[i]);
      CHECK(std::fabs(total[0] - (-3.0 * ts)) <= 1e-5 * std::max(1.0, std::fabs(3.0 * ts)), "sumAll %s n=%lld: %g vs %g",
            tname<T>(), (long long)n, total[0], -3.0 * ts);

      Buf<float> g(1);
      g[0] = 0.25f;
      glm::cuda::broadcastScalar<T>(out.p, g.p, 4.0f, n, nullptr);
      bool ok = true;
      for (int64_t i = 0; i < n; i++) ok &= ld(out[i]) == 1.0f;
      CHECK(ok, "broadcastScalar %s n=%lld off=%d", tname<T>(), (long long)n, off);
    }
  // Empty cases: sumAll of nothing is 0, sumRows over zero rows leaves beta * out.
  Buf<float> total(1);
  glm::cuda::sumAll<T>(total.p, nullptr, 2.0f, 0, nullptr);
  CHECK(total[0] == 0.0f, "sumAll of nothing");
  Buf<T> rows(5);
  glm::cuda::sumRows<T>(rows.p, nullptr, 1.0f, 0.0f, 0, 5, nullptr);
  bool ok = true;
  for (int i = 0; i < 5; i++) ok &= ld(rows[i]) == 0.0f;
  CHECK(ok, "sumRows over zero rows with beta 0");
}

// ---------------------------------------------------------------------------------------------
double geluRef(double x) { return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x))); }

template <typename T> void testGelu() {
  for (int64_t n : kSizes)
    for (int off = 0; off < 2; off++) {
      std::vector<float> xv = normals(n, 2.0f), gv = normals(n);
      Buf<T> x(n, off), g(n, off), out(n, off);
      fillFrom(x, xv);
      fillFrom(g, gv);
      std::vector<double> w(n), wd(n);
      for (int64_t i = 0; i < n; i++) {
        const double xi = ld(x[i]);
        w[i] = geluRef(xi);
        const double h = 1e-5;
        wd[i] = ld(g[i]) * (geluRef(xi + h) - geluRef(xi - h)) / (2 * h);
      }
      glm::cuda::geluForward<T>(out.p, x.p, n, nullptr);
      CHECK(relErrBuf(out, w) <= tolOf<T>() * 5, "gelu %s n=%lld off=%d", tname<T>(), (long long)n, off);
      glm::cuda::geluBackward<T>(out.p, g.p, x.p, n, nullptr);
      CHECK(relErrBuf(out, wd) <= tolOf<T>() * 5, "gelu backward %s n=%lld off=%d err=%g", tname<T>(), (long long)n,
            off, relErrBuf(out, wd));
      glm::cuda::geluForward<T>(x.p, x.p, n, nullptr);  // in place
      CHECK(relErrBuf(x, w) <= tolOf<T>() * 5, "gelu in place %s n=%lld", tname<T>(), (long long)n);
    }
}

// ---------------------------------------------------------------------------------------------
template <typename T> void testLayernorm() {
  for (int64_t N : {1, 7, 65})
    for (int64_t C : {1, 7, 63, 64, 129, 768})
      for (int off = 0; off < 2; off++)
        for (bool withBias : {true, false}) {
          std::vector<float> xv = normals(N * C, 3.0f), wv = normals(C), bv = normals(C), gv = normals(N * C);
          for (auto& x : xv) x += 1.5f;
          Buf<T> x(N * C, off), w(C, off), b(C, off), out(N * C, off), dout(N * C, off), dinp(N * C, off), dw(C, off),
              db(C, off);
          Buf<float> mean(N), rstd(N);
          fillFrom(x, xv);
          fillFrom(w, wv);
          fillFrom(b, bv);
          fillFrom(dout, gv);
          const float eps = 1e-5f;
          std::vector<double> wOut(N * C), wMean(N), wRstd(N), wDinp(N * C), wDw(C, 0), wDb(C, 0);
          for (int64_t r = 0; r < N; r++) {
            double m = 0, v = 0;
            for (int64_t c = 0; c < C; c++) m += ld(x[r * C + c]);
            m /= C;
            for (int64_t c = 0; c < C; c++) v += (ld(x[r * C + c]) - m) * (ld(x[r * C + c]) - m);
            v /= C;
            const double rs = 1 / std::sqrt(v + eps);
            wMean[r] = m;
            wRstd[r] = rs;
            double sg = 0, sgx = 0;
            for (int64_t c = 0; c < C; c++) {
              const double xh = (ld(x[r * C + c]) - m) * rs;
              wOut[r * C + c] = xh * ld(w[c]) + (withBias ? ld(b[c]) : 0.0);
              const double g = double(ld(dout[r * C + c])) * ld(w[c]);
              sg += g;
              sgx += g * xh;
              wDw[c] += ld(dout[r * C + c]) * xh;
              wDb[c] += ld(dout[r * C + c]);
            }
            for (int64_t c = 0; c < C; c++) {
              const double xh = (ld(x[r * C + c]) - m) * rs;
              wDinp[r * C + c] = rs * (double(ld(dout[r * C + c])) * ld(w[c]) - sg / C - xh * sgx / C);
            }
          }
          glm::cuda::layernormForward<T>(out.p, mean.p, rstd.p, x.p, w.p, withBias ? b.p : nullptr, N, C, eps, nullptr);
          // bf16 outputs: about 2^-8 relative per element.
          CHECK(relErrBuf(out, wOut) <= (std::is_same<T, float>::value ? 1e-5 : 1e-2), "layernorm %s N=%lld C=%lld off=%d",
                tname<T>(), (long long)N, (long long)C, off);
          CHECK(relErrBuf(mean, wMean) <= 1e-5 && relErrBuf(rstd, wRstd) <= 1e-5, "layernorm stats N=%lld C=%lld",
                (long long)N, (long long)C);
          glm::cuda::layernormBackward<T>(dinp.p, dw.p, withBias ? db.p : nullptr, dout.p, x.p, w.p, mean.p, rstd.p, N,
                                          C, nullptr);
          const double tol = std::is_same<T, float>::value ? 1e-4 : 2e-2;
          if (C > 1)  // C == 1: dinp is exactly 0 up to rounding, a relative error means nothing
            CHECK(relErrBuf(dinp, wDinp) <= tol, "layernorm dinp %s N=%lld C=%lld off=%d err=%g", tname<T>(),
                  (long long)N, (long long)C, off, relErrBuf(dinp, wDinp));
          if (C > 1 || N > 1)
            CHECK(relErrBuf(dw, wDw) <= tol, "layernorm dweight %s N=%lld C=%lld err=%g", tname<T>(), (long long)N,
                  (long long)C, relErrBuf(dw, wDw));
          if (withBias)
            CHECK(relErrBuf(db, wDb) <= tol, "layernorm dbias %s N=%lld C=%lld", tname<T>(), (long long)N, (long long)C);
        }
}

// ---------------------------------------------------------------------------------------------
template <typename T> void testEmbedding() {
  for (int64_t V : {1, 7, 65})
    for (int64_t C : {1, 7, 64, 129})
      for (int64_t N : {1, 7, 129})
        for (int off = 0; off < 2; off++) {
          std::vector<float> tv = normals(V * C), gv = normals(N * C);
          Buf<T> table(V * C, off), out(N * C, off), dout(N * C, off), dtable(V * C, off);
          Buf<int32_t> ids(N);
          fillFrom(table, tv);
          fillFrom(dout, gv);
          for (int64_t i = 0; i < N; i++) ids[i] = randInt(0, int(std::min<int64_t>(V, 4)));  // many repeats
          gRecord = {};
          glm::cuda::embeddingForward<T>(out.p, table.p, ids.p, N, V, C, nullptr);
          bool ok = true;
          for (int64_t i = 0; i < N; i++)
            for (int64_t c = 0; c < C; c++) ok &= ld(out[i * C + c]) == ld(table[ids[i] * C + c]);
          CHECK(ok && gRecord.tag == 0, "embedding forward %s V=%lld C=%lld N=%lld off=%d", tname<T>(), (long long)V,
                (long long)C, (long long)N, off);
          glm::cuda::embeddingBackward<T>(dtable.p, dout.p, ids.p, N, V, C, nullptr);
          std::vector<double> w(V * C, 0.0);
          for (int64_t i = 0; i < N; i++)
            for (int64_t c = 0; c < C; c++) w[ids[i] * C + c] += ld(dout[i * C + c]);
          CHECK(relErrBuf(dtable, w) <= tolOf<T>(), "embedding backward %s V=%lld C=%lld N=%lld off=%d err=%g",
                tname<T>(), (long long)V, (long long)C, (long long)N, off, relErrBuf(dtable, w));
          bool zeros = true;
          for (int64_t v = 0; v < V; v++) {
            bool used = false;
            for (int64_t i = 0; i < N; i++) used |= ids[i] == v;
            if (!used)
              for (int64_t c = 0; c < C; c++) zeros &= ld(dtable[v * C + c]) == 0.0f;
          }
          CHECK(zeros, "embedding backward: rows of unused ids are zero");
        }
  // Out-of-range ids: the lowest bad index is reported with its value and the bound.
  const int64_t N = 40, V = 65, C = 8;
  Buf<T> table(V * C), out(N * C);
  Buf<int32_t> ids(N);
  for (int64_t i = 0; i < N; i++) ids[i] = int32_t(i % V);
  ids[30] = -1;
  ids[5] = 70000;
  ids[17] = 65;
  fillFrom(table, normals(V * C));
  gRecord = {};
  glm::cuda::embeddingForward<T>(out.p, table.p, ids.p, N, V, C, nullptr);
  CHECK(decodeRecord(gRecord) == "code 1 op 7 index 5 value 70000 limit 65", "embedding error record: %s",
        decodeRecord(gRecord).c_str());
  bool zero = true;
  for (int64_t c = 0; c < C; c++) zero &= ld(out[5 * C + c]) == 0.0f;
  CHECK(zero, "embedding: the row of a bad id is zero");
  // A later launch does not overwrite the first error.
  ids[2] = -7;
  glm::cuda::embeddingForward<T>(out.p, table.p, ids.p, N, V, C, nullptr);
  CHECK(decodeRecord(gRecord) == "code 1 op 7 index 5 value 70000 limit 65", "first error kept: %s",
        decodeRecord(gRecord).c_str());
}

// ---------------------------------------------------------------------------------------------
template <typename T> void testCrossEntropy() {
  const int32_t ignore = -100;
  for (int64_t N : {1, 7, 65})
    for (int64_t V : {1, 7, 63, 129, 1000})
      for (int off = 0; off < 2; off++)
        for (int mode = 0; mode < 3; mode++)  // 0: separate dlogits, 1: in place, 2: loss only
          for (bool mean : {true, false}) {
            std::vector<float> lv = normals(N * V, 3.0f);
            Buf<T> logits(N * V, off), dl(N * V, off);
            Buf<int32_t> targets(N);
            Buf<float> loss(1), count(1);
            fillFrom(logits, lv);
            int valid = 0;
            for (int64_t r = 0; r < N; r++) {
              targets[r] = (r % 3 == 1) ? ignore : randInt(0, int(V));
              valid += targets[r] != ignore;
            }
            std::vector<double> wd(N * V, 0.0);
            double total = 0;
            for (int64_t r = 0; r < N; r++) {
              if (targets[r] == ignore) continue;
              double m = -INFINITY;
              for (int64_t j = 0; j < V; j++) m = std::max(m, double(ld(logits[r * V + j])));
              double s = 0;
              for (int64_t j = 0; j < V; j++) s += std::exp(ld(logits[r * V + j]) - m);
              const double lse = m + std::log(s);
              total += lse - ld(logits[r * V + targets[r]]);
              for (int64_t j = 0; j < V; j++)
                wd[r * V + j] = (std::exp(ld(logits[r * V + j]) - lse) - (j == targets[r])) / (mean ? valid : 1);
            }
            const double wantLoss = mean ? (valid ? total / valid : 0.0) : total;
            T* d = mode == 0 ? dl.p : mode == 1 ? logits.p : nullptr;
            gRecord = {};
            glm::cuda::softmaxCrossEntropy<T>(loss.p, count.p, d, logits.p, targets.p, N, V, ignore, mean, nullptr);
            CHECK(std::fabs(loss[0] - wantLoss) <= 1e-5 * std::max(1.0, std::fabs(wantLoss)) && count[0] == valid &&
                      gRecord.tag == 0,
                  "cross-entropy loss %s N=%lld V=%lld off=%d mode=%d mean=%d: %g vs %g, count %g vs %d", tname<T>(),
                  (long long)N, (long long)V, off, mode, int(mean), loss[0], wantLoss, count[0], valid);
            if (d) {
              Buf<T>& got = mode == 0 ? dl : logits;
              CHECK(relErrBuf(got, wd) <= (std::is_same<T, float>::value ? 1e-5 : 1e-2),
                    "cross-entropy dlogits %s N=%lld V=%lld off=%d mode=%d err=%g", tname<T>(), (long long)N,
                    (long long)V, off, mode, relErrBuf(got, wd));
            }
          }
  // A bad target is reported (the lowest index); ignored rows are not.
  const int64_t N = 9, V = 5;
  Buf<float> logits(N * V), loss(1), count(1);
  Buf<int32_t> targets(N);
  for (int64_t i = 0; i < N * V; i++) logits[i] = float(i % 7);
  for (int64_t r = 0; r < N; r++) targets[r] = int32_t(r % V);
  targets[3] = ignore;
  targets[6] = 5;
  targets[8] = -3;
  gRecord = {};
  glm::cuda::softmaxCrossEntropy<float>(loss.p, count.p, nullptr, logits.p, targets.p, N, V, ignore, true, nullptr);
  CHECK(decodeRecord(gRecord) == "code 2 op 7 index 6 value 5 limit 5", "cross-entropy error record: %s",
        decodeRecord(gRecord).c_str());
  // All rows ignored: loss 0, count 0, dlogits 0.
  for (int64_t r = 0; r < N; r++) targets[r] = ignore;
  Buf<float> dl(N * V);
  gRecord = {};
  glm::cuda::softmaxCrossEntropy<float>(loss.p, count.p, dl.p, logits.p, targets.p, N, V, ignore, true, nullptr);
  bool zero = true;
  for (int64_t i = 0; i < N * V; i++) zero &= dl[i] == 0.0f;
  CHECK(loss[0] == 0.0f && count[0] == 0.0f && zero && gRecord.tag == 0, "cross-entropy with every row ignored");
}

// ---------------------------------------------------------------------------------------------
void testOptim() {
  for (bool withScale : {false, true})
    for (int count : {1, 5, 70, 130}) {
      struct Host {
        std::vector<double> p, m, v, g;
        float wd;
        bool bf;
      };
      std::vector<Host> host(count);
      std::vector<std::unique_ptr<Buf<float>>> P, M, Vv, Gf;
      std::vector<std::unique_ptr<Buf<bf16>>> Gb;
      std::vector<glm::AdamWTensor> list(count);
      const int64_t sizes[] = {0, 1, 7, 1023, 1024, 1025, 5000, 3};
      for (int k = 0; k < count; k++) {
        const int64_t n = sizes[k % 8] + (k / 8) % 3;
        const int off = (k % 3 == 2) ? 1 : 0;
        const bool bf = k % 2 == 1;
        Host& h = host[k];
        h.wd = (k % 4 == 0) ? 0.0f : 0.1f;
        h.bf = bf;
        P.emplace_back(new Buf<float>(n, off));
        M.emplace_back(new Buf<float>(n, off));
        Vv.emplace_back(new Buf<float>(n, off));
        std::vector<float> pv = normals(n), mv = normals(n, 0.1f), vv = normals(n, 0.1f), gv = normals(n);
        for (int64_t i = 0; i < n; i++) {
          (*P.back())[i] = pv[i];
          (*M.back())[i] = mv[i];
          (*Vv.back())[i] = vv[i] * vv[i];
          h.p.push_back(pv[i]);
          h.m.push_back(mv[i]);
          h.v.push_back(double(vv[i]) * vv[i]);
        }
        const void* gptr;
        if (bf) {
          Gb.emplace_back(new Buf<bf16>(n, off));
          Gf.emplace_back(nullptr);
          for (int64_t i = 0; i < n; i++) {
            (*Gb.back())[i] = st<bf16>(gv[i]);
            h.g.push_back(ld((*Gb.back())[i]));
          }
          gptr = Gb.back()->p;
        } else {
          Gf.emplace_back(new Buf<float>(n, off));
          Gb.emplace_back(nullptr);
          for (int64_t i = 0; i < n; i++) {
            (*Gf.back())[i] = gv[i];
            h.g.push_back(gv[i]);
          }
          gptr = Gf.back()->p;
        }
        list[k] = glm::AdamWTensor{P.back()->p, gptr, M.back()->p, Vv.back()->p, n, h.wd,
                                   bf ? glm::DType::BF16 : glm::DType::F32};
      }
      glm::AdamWParams prm;
      prm.lr = 1e-2f;
      prm.beta1 = 0.9f;
      prm.beta2 = 0.95f;
      prm.eps = 1e-8f;
      prm.step = 3;
      Buf<float> scale(1);
      scale[0] = 0.5f;
      glm::cuda::adamwStep(list.data(), count, prm, withScale ? scale.p : nullptr, nullptr);
      const double b1c = 1 - std::pow(0.9, 3), b2c = 1 - std::pow(0.95, 3);
      for (int k = 0; k < count; k++) {
        Host& h = host[k];
        const int64_t n = int64_t(h.p.size());
        std::vector<double> wp(n), wm(n), wv(n);
        for (int64_t i = 0; i < n; i++) {
          const double g = h.g[i] * (withScale ? 0.5 : 1.0);
          wm[i] = 0.9 * h.m[i] + 0.1 * g;
          wv[i] = 0.95 * h.v[i] + 0.05 * g * g;
          wp[i] = h.p[i] - 1e-2 * ((wm[i] / b1c) / (std::sqrt(wv[i] / b2c) + 1e-8) + h.wd * h.p[i]);
        }
        if (n == 0) continue;
        CHECK(relErrBuf(*P[k], wp) <= 1e-5 && relErrBuf(*M[k], wm) <= 1e-5 && relErrBuf(*Vv[k], wv) <= 1e-5,
              "adamw tensor %d of %d (n=%lld bf16 grad=%d scale=%d): p %g m %g v %g", k, count, (long long)n,
              int(h.bf), int(withScale), relErrBuf(*P[k], wp), relErrBuf(*M[k], wm), relErrBuf(*Vv[k], wv));
      }
    }
  for (int64_t n : kSizes)
    for (int off = 0; off < 2; off++) {
      std::vector<float> xv = normals(n);
      Buf<float> x(n, off);
      Buf<bf16> xb(n, off);
      fillFrom(x, xv);
      fillFrom(xb, xv);
      Buf<float> s(1), norm(1), coef(1);
      s[0] = 2.0f;
      glm::cuda::sumSquares<float>(s.p, x.p, n, nullptr);
      glm::cuda::sumSquares<bf16>(s.p, xb.p, n, nullptr);
      double want = 2.0;
      for (int64_t i = 0; i < n; i++) want += double(ld(x[i])) * ld(x[i]) + double(ld(xb[i])) * ld(xb[i]);
      CHECK(std::fabs(s[0] - want) <= 1e-6 * want, "sumSquares n=%lld off=%d: %g vs %g", (long long)n, off, s[0], want);
      glm::cuda::clipCoefficient(norm.p, coef.p, s.p, 1.0f, nullptr);
      const double nrm = std::sqrt(double(s[0]));
      CHECK(std::fabs(norm[0] - nrm) <= 1e-6 * nrm && std::fabs(coef[0] - std::min(1.0, 1.0 / (nrm + 1e-6))) <= 1e-6,
            "clipCoefficient n=%lld", (long long)n);
    }
}

// ---------------------------------------------------------------------------------------------
template <typename E> void permuteRef(E* out, const E* inp, const std::vector<int64_t>& shape, const std::vector<int>& perm) {
  const int r = int(shape.size());
  std::vector<int64_t> inStride(r), outShape(r);
  int64_t n = 1;
  for (int d = r - 1; d >= 0; d--) {
    inStride[d] = n;
    n *= shape[d];
  }
  for (int i = 0; i < r; i++) outShape[i] = shape[perm[i]];
  std::vector<int64_t> idx(r, 0);
  for (int64_t o = 0; o < n; o++) {
    int64_t rest = o, off = 0;
    for (int i = r - 1; i >= 0; i--) {
      const int64_t c = rest % outShape[i];
      rest /= outShape[i];
      off += c * inStride[perm[i]];
    }
    out[o] = inp[off];
  }
}

template <typename E> void testPermuteOnce(const std::vector<int64_t>& shape, const std::vector<int>& perm, int off) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  Buf<E> in(n, off), out(n, off);
  for (int64_t i = 0; i < n; i++) in[i] = E(i * 2654435761u);
  std::vector<E> want(n);
  permuteRef(want.data(), in.p, shape, perm);
  glm::cuda::permute(out.p, in.p, sizeof(E), shape.data(), perm.data(), int(shape.size()), nullptr);
  std::string desc;
  for (auto d : shape) desc += std::to_string(d) + " ";
  desc += "/ perm";
  for (auto p : perm) desc += " " + std::to_string(p);
  CHECK(n == 0 || std::memcmp(out.p, want.data(), sizeof(E) * n) == 0, "permute %d-byte shape %s off=%d",
        int(sizeof(E)), desc.c_str(), off);
}

void testPermute() {
  const int64_t dims[] = {1, 2, 3, 5, 7, 33, 64};
  for (int trial = 0; trial < 300; trial++) {
    const int rank = 1 + trial % 6;
    std::vector<int64_t> shape(rank);
    int64_t n = 1;
    for (int d = 0; d < rank; d++) {
      shape[d] = dims[randInt(0, 7)];
      if (n * shape[d] > 40000) shape[d] = 1;
      n *= shape[d];
    }
    std::vector<int> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    std::shuffle(perm.begin(), perm.end(), gRng);
    testPermuteOnce<uint32_t>(shape, perm, trial % 2);
    testPermuteOnce<uint16_t>(shape, perm, trial % 3 == 0);
  }
  // The attention layouts: (B, T, 3, H, D) -> (3, B, H, T, D) and back, and a plain transpose.
  testPermuteOnce<uint16_t>({2, 65, 3, 4, 64}, {2, 0, 3, 1, 4}, 0);
  testPermuteOnce<uint32_t>({2, 4, 65, 32}, {0, 2, 1, 3}, 0);
  testPermuteOnce<uint32_t>({129, 65}, {1, 0}, 0);
  testPermuteOnce<uint16_t>({129, 65}, {1, 0}, 1);
  testPermuteOnce<uint32_t>({3, 0, 5}, {2, 1, 0}, 0);
}

// ---------------------------------------------------------------------------------------------
// Dropout against the Philox definition of native/cpu/dropout.h (which the CPU kernel and the
// TypeScript reference also follow), bit for bit: counters starting mid-block, the low counter word
// wrapping, seeds with a high word, unaligned views, in place.
template <typename T> void testDropout() {
  const uint64_t offsets[] = {0, 1, 3, 6, (uint64_t(1) << 34) - 13};
  const uint64_t seeds[] = {0, 12345, (uint64_t(7) << 40) + 99};
  for (int64_t n : kSizes)
    for (int off = 0; off < 2; off++)
      for (uint64_t offset : offsets)
        for (uint64_t seed : seeds) {
          const double p = (n % 3 == 0) ? 0.1 : 0.5;
          const glm::DropoutParams prm = glm::dropoutParams(p);
          std::vector<float> v = normals(n);
          Buf<T> in(n, off), out(n, off);
          fillFrom(in, v);
          std::vector<T> want(n);
          for (int64_t j = 0; j < n; j++) {
            const uint64_t c = offset + uint64_t(j);
            const uint32_t w = glm::dropoutBlock(seed, c >> 2).v[c & 3];
            want[j] = st<T>(w >= prm.threshold ? ld(in[j]) * prm.scale : 0.0f);
          }
          glm::cuda::dropoutForward<T>(out.p, in.p, n, seed, offset, prm, nullptr);
          CHECK(std::memcmp(out.p, want.data(), sizeof(T) * n) == 0, "dropout %s n=%lld off=%d offset=%llu seed=%llu",
                tname<T>(), (long long)n, off, (unsigned long long)offset, (unsigned long long)seed);
          glm::cuda::dropoutForward<T>(in.p, in.p, n, seed, offset, prm, nullptr);  // in place
          CHECK(std::memcmp(in.p, want.data(), sizeof(T) * n) == 0, "dropout in place %s n=%lld off=%d", tname<T>(),
                (long long)n, off);
        }
}

// ---------------------------------------------------------------------------------------------
// RoPE against a float64 reference: head dims 2 .. 256, B·H above the rows one thread covers (so
// several grid rows), unaligned views, large positions, forward and inverse, in place.
template <typename T> void testRope() {
  struct Case { int64_t BH, S, D; };
  const Case cases[] = {{1, 1, 2}, {3, 7, 8}, {5, 65, 64}, {2, 7, 256}, {17, 3, 34}, {33, 2, 128}, {1, 129, 2}};
  for (const Case& k : cases)
    for (int off = 0; off < 2; off++)
      for (int64_t pos0 : {int64_t(0), int64_t(1000003)})
        for (bool inverse : {false, true}) {
          const int64_t n = k.BH * k.S * k.D, half = k.D / 2;
          const double base = pos0 ? 500000.0 : 10000.0;
          std::vector<float> v = normals(n);
          Buf<T> in(n, off), out(n, off);
          fillFrom(in, v);
          std::vector<double> want(n);
          for (int64_t r = 0; r < k.BH * k.S; r++)
            for (int64_t i = 0; i < half; i++) {
              const double a = double(pos0 + r % k.S) * std::pow(base, -2.0 * double(i) / double(k.D));
              const double c = std::cos(a), s = inverse ? -std::sin(a) : std::sin(a);
              const double x1 = ld(in[r * k.D + i]), x2 = ld(in[r * k.D + half + i]);
              want[r * k.D + i] = x1 * c - x2 * s;
              want[r * k.D + half + i] = x2 * c + x1 * s;
            }
          const glm::RopeFrequencies f = glm::ropeFrequencies(k.D, base);
          glm::cuda::ropeForward<T>(out.p, in.p, k.BH, k.S, k.D, f, pos0, inverse, nullptr);
          CHECK(relErrBuf(out, want) <= tolOf<T>(), "rope %s BH=%lld T=%lld D=%lld off=%d pos0=%lld inverse=%d err=%g",
                tname<T>(), (long long)k.BH, (long long)k.S, (long long)k.D, off, (long long)pos0, int(inverse),
                relErrBuf(out, want));
          glm::cuda::ropeForward<T>(in.p, in.p, k.BH, k.S, k.D, f, pos0, inverse, nullptr);  // in place
          CHECK(std::memcmp(in.p, out.p, sizeof(T) * n) == 0, "rope in place %s BH=%lld D=%lld off=%d", tname<T>(),
                (long long)k.BH, (long long)k.D, off);
        }
}

}  // namespace

int main() {
  // EMU_ONLY=name runs one family (convert, elementwise, gelu, layernorm, embedding, cross-entropy,
  // optim, permute, dropout, rope).
  const char* only = std::getenv("EMU_ONLY");
  auto run = [&](const char* name, void (*fn)()) {
    if (only && std::strcmp(only, name) != 0) return;
    fn();
    std::printf("%s done (%d checks, %d failures)\n", name, gChecks, gFailures);
  };
  run("convert", testConvertAndFill);
  run("elementwise", [] { testElementwise<float>(); testElementwise<bf16>(); });
  run("gelu", [] { testGelu<float>(); testGelu<bf16>(); });
  run("layernorm", [] { testLayernorm<float>(); testLayernorm<bf16>(); });
  run("embedding", [] { testEmbedding<float>(); testEmbedding<bf16>(); });
  run("cross-entropy", [] { testCrossEntropy<float>(); testCrossEntropy<bf16>(); });
  run("optim", testOptim);
  run("permute", testPermute);
  run("dropout", [] { testDropout<float>(); testDropout<bf16>(); });
  run("rope", [] { testRope<float>(); testRope<bf16>(); });
  std::printf("%d passed, %d failed\n", gChecks - gFailures, gFailures);
  return gFailures ? 1 : 0;
}
