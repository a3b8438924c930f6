// Test utilities for the emulated kernels (tools/cuda-emu/mma): guard-paged "device" buffers filled
// with 0xFF (NaN) so unwritten outputs fail, random data, norm-wise relative errors, the pass tally.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "emu.h"
#include "native/core/dtype.h"

// A "device" buffer whose end touches a PROT_NONE page, so reading past it faults.
template <typename T>
struct DevBuf {
  T* p = nullptr;
  size_t n = 0;
  void* base = nullptr;
  size_t mapped = 0;
  explicit DevBuf(size_t count, size_t misalignElems = 0) : n(count) {
    const size_t page = sysconf(_SC_PAGESIZE);
    size_t bytes = (count + misalignElems) * sizeof(T);
    size_t dataPages = (bytes + page - 1) / page + 1;
    mapped = (dataPages + 1) * page;
    base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char* guard = static_cast<char*>(base) + dataPages * page;
    mprotect(guard, page, PROT_NONE);
    // End-aligned: the last element ends right at the guard page (rounded down to 16 bytes so
    // that aligned cases stay aligned, then shifted by misalignElems).
    char* start = guard - count * sizeof(T);
    start = reinterpret_cast<char*>(reinterpret_cast<uintptr_t>(start) & ~uintptr_t(15));
    start -= misalignElems * sizeof(T);
    p = reinterpret_cast<T*>(start);
    glm_emu::registerRange(p, count * sizeof(T));
    std::memset(p, 0xff, count * sizeof(T));
  }
  ~DevBuf() {
    glm_emu::unregisterRange(p);
    munmap(base, mapped);
  }
  DevBuf(const DevBuf&) = delete;
};

inline std::mt19937& rng() {
  static std::mt19937 r(12345);
  return r;
}
inline float urand() { return std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng()); }

template <typename T> inline T fromFloat(float v);
template <> inline float fromFloat<float>(float v) { return v; }
template <> inline glm::bf16 fromFloat<glm::bf16>(float v) { return glm::bf16{glm::f32ToBf16(v)}; }
inline double toD(float v) { return v; }
inline double toD(glm::bf16 v) { return glm::bf16ToF32(v.bits); }

// Fills with random values (exactly representable in T) and returns them as doubles.
template <typename T>
std::vector<double> fillRandom(DevBuf<T>& b, float scale = 1.0f) {
  std::vector<double> v(b.n);
  for (size_t i = 0; i < b.n; ++i) {
    b.p[i] = fromFloat<T>(urand() * scale);
    v[i] = toD(b.p[i]);
  }
  return v;
}

struct ErrStats {
  double rel = 0;
  size_t nonFinite = 0;
  size_t worst = 0;
};
template <typename T>
ErrStats compare(const T* got, const std::vector<double>& ref, size_t n) {
  double num = 0, den = 0, worstDiff = -1;
  ErrStats s;
  for (size_t i = 0; i < n; ++i) {
    const double g = toD(got[i]);
    if (!std::isfinite(g) && std::isfinite(ref[i])) {
      s.nonFinite++;
      continue;
    }
    if (std::isinf(ref[i]) && g == ref[i]) continue;
    const double d = g - ref[i];
    num += d * d;
    den += ref[i] * ref[i];
    if (std::fabs(d) > worstDiff) worstDiff = std::fabs(d), s.worst = i;
  }
  s.rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  return s;
}

static int gFailures = 0, gChecks = 0;
inline void report(const char* what, const ErrStats& s, double tol) {
  gChecks++;
  const bool ok = s.nonFinite == 0 && s.rel <= tol;
  if (!ok) gFailures++;
  printf("%s %-70s rel=%.3e nonfinite=%zu (tol %.0e)\n", ok ? "ok  " : "FAIL", what, s.rel, s.nonFinite, tol);
  fflush(stdout);
}
