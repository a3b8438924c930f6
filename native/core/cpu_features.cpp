// CPUID probing; see cpu_features.h.
#include "cpu_features.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace glm {

int CpuFeatures::level() const {
  if (avx512f && avx512bw && avx512dq && avx512vl && fma) return 2;
  if (avx2 && fma) return 1;
  return 0;
}

std::string CpuFeatures::str() const {
  std::string s;
  auto add = [&](bool b, const char* n) { if (b) { if (!s.empty()) s += " "; s += n; } };
  add(avx2, "avx2"); add(fma, "fma"); add(avx512f, "avx512f"); add(avx512bw, "avx512bw");
  add(avx512dq, "avx512dq"); add(avx512vl, "avx512vl"); add(avx512bf16, "avx512bf16");
  return s.empty() ? "baseline" : s;
}

const CpuFeatures& cpuFeatures() {
  static const CpuFeatures f = [] {
    CpuFeatures r;
#if defined(__x86_64__) || defined(_M_X64)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return r;
    const bool osxsave = c & (1u << 27);
    r.fma = c & (1u << 12);
    unsigned xcr0lo = 0, xcr0hi = 0;
    if (osxsave) __asm__ volatile("xgetbv" : "=a"(xcr0lo), "=d"(xcr0hi) : "c"(0));
    const bool ymmOs = (xcr0lo & 0x6) == 0x6;
    const bool zmmOs = (xcr0lo & 0xe6) == 0xe6;
    if (!ymmOs) r.fma = false;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
      r.avx2 = ymmOs && (b & (1u << 5));
      r.avx512f = zmmOs && (b & (1u << 16));
      r.avx512dq = zmmOs && (b & (1u << 17));
      r.avx512bw = zmmOs && (b & (1u << 30));
      r.avx512vl = zmmOs && (b & (1u << 31));
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) r.avx512bf16 = zmmOs && (a & (1u << 5));
#endif
    return r;
  }();
  return f;
}

int cpuLevel() {
  static const int level = [] {
    int l = cpuFeatures().level();
    if (const char* env = std::getenv("GLM_CPU_LEVEL")) {
      int cap = l;
      if (!std::strcmp(env, "scalar")) cap = 0;
      else if (!std::strcmp(env, "avx2")) cap = 1;
      else if (!std::strcmp(env, "avx512")) cap = 2;
      if (cap < l) l = cap;
    }
    return l;
  }();
  return level;
}

}  // namespace glm
