// Shape, dtype and device checks shared by every op's dispatch; each throws a GlmError that names
// the op, the argument, what was expected and what came.
#pragma once
#include <initializer_list>
#include <utility>

#include "../core/cuda_api.h"
#include "../core/error.h"
#include "../core/stream.h"
#include "../core/tensor.h"

namespace glm {

inline void requireDType(const char* op, const char* name, const TensorRef& t,
                         std::initializer_list<DType> allowed) {
  for (DType d : allowed)
    if (t.dtype == d) return;
  std::string list;
  for (DType d : allowed) list += (list.empty() ? "" : " or ") + std::string(dtypeName(d));
  GLM_FAIL(op, "argument '" << name << "': expected dtype " << list << ", got " << dtypeName(t.dtype));
}

inline void requireSameDType(const char* op, const char* name, const TensorRef& t, const TensorRef& ref,
                             const char* refName) {
  GLM_REQUIRE(t.dtype == ref.dtype, op,
              "argument '" << name << "': expected dtype " << dtypeName(ref.dtype) << " (as '" << refName
                           << "'), got " << dtypeName(t.dtype));
}

inline void requireShape(const char* op, const char* name, const TensorRef& t, const Shape& shape) {
  GLM_REQUIRE(t.shape == shape, op,
              "argument '" << name << "': expected shape " << shapeStr(shape) << ", got " << shapeStr(t.shape));
}

inline void requireRank(const char* op, const char* name, const TensorRef& t, int rank) {
  GLM_REQUIRE(t.rank() == rank, op,
              "argument '" << name << "': expected a " << rank << "-D tensor, got shape " << shapeStr(t.shape));
}

inline void requireSameDevice(const char* op, const char* name, const TensorRef& t, Device dev) {
  GLM_REQUIRE(t.device() == dev, op,
              "argument '" << name << "': expected a tensor on " << dev.str() << ", got one on " << t.device().str());
}

// Tensors written by an op must not overlap the ones it reads unless the op says it works in place.
inline bool overlaps(const TensorRef& a, const TensorRef& b) {
  if (a.storage != b.storage) return false;
  const char* a0 = static_cast<const char*>(a.raw());
  const char* b0 = static_cast<const char*>(b.raw());
  return a0 < b0 + b.nbytes() && b0 < a0 + a.nbytes();
}

inline void requireNoOverlap(const char* op, const char* outName, const TensorRef& out, const char* inName,
                             const TensorRef& in) {
  GLM_REQUIRE(!overlaps(out, in), op,
              "argument '" << outName << "' overlaps input '" << inName << "' in memory; this op cannot run in place");
}

}  // namespace glm

#ifdef GLM_WITH_CUDA
// Wraps the CUDA branch of an op, which only exists when CUDA is compiled in.
#define GLM_CUDA_WORK(...) __VA_ARGS__
#else
#define GLM_CUDA_WORK(...) [](void*) {}
#endif

namespace glm {

// Runs an op on its device's stream: cpuWork() on the CPU worker, or cudaWork(cudaStream) launched
// now on the GPU's stream. Both capture their tensors by value, which keeps the memory alive until
// the op has run.
// A rough CPU time (one core) of an op streaming `elements` elements at `nsPerElement` (0.5 ns is
// an elementwise op on f32 in L2 on a ~3 GHz x86 core), for dispatch's inline decision.
inline int64_t streamNanos(int64_t elements, double nsPerElement = 0.5) {
  return int64_t(double(elements) * nsPerElement) + 1000;  // + the op's fixed cost
}

// `cpuNanos` is the op's own rough estimate of its CPU time on one core (-1: unknown); at most
// kInlineMaxNanos lets the CPU stream run it inline when idle (Stream::submitSmall).
template <typename CpuWork, typename CudaWork>
void dispatch(const char* op, Device dev, CpuWork&& cpuWork, CudaWork&& cudaWork, int64_t cpuNanos = -1) {
  if (dev.isCpu()) {
    Stream& s = streamFor(dev);
    if (cpuNanos >= 0 && cpuNanos <= kInlineMaxNanos) s.submitSmall(op, std::forward<CpuWork>(cpuWork));
    else s.submit(op, std::forward<CpuWork>(cpuWork));
  } else {
    cudaRequireDevice(dev.index, op);
    void* s = cudaStreamHandle(dev.index);
    streamFor(dev).submit(op, [w = std::forward<CudaWork>(cudaWork), s]() { w(s); });
  }
}

}  // namespace glm
