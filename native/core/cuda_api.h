// The CUDA runtime as the rest of the addon sees it: plain C++, no CUDA headers, so that the same
// code compiles with or without nvcc. native/cuda/runtime.cu implements it when CUDA is compiled in;
// cuda_stub.cpp otherwise, where every call that needs a GPU throws "glm-native was built without CUDA".
#pragma once
#include <cstddef>
#include <string>

#include "allocator.h"
#include "device.h"
#include "stream.h"
#include "tensor.h"

namespace glm {

struct CudaDeviceInfo {
  std::string name;
  size_t totalMemory = 0;
  int major = 0, minor = 0;  // compute capability
  int multiprocessors = 0;
};

// True when the addon was compiled with CUDA kernels.
bool cudaCompiled();
// The number of usable CUDA devices; 0 (never an error, never console noise) when CUDA is not
// compiled in, no driver is installed or no GPU is present.
int cudaDeviceCount();
// Why there is no CUDA device (empty when there is one): "built without CUDA", "no CUDA driver", ...
std::string cudaUnavailableReason();
CudaDeviceInfo cudaDeviceInfo(int index);

// Throws a GlmError naming `op` unless device `index` can be used.
void cudaRequireDevice(int index, const char* op);

CachingAllocator& cudaAllocator(int index);
// Turns NaN-poisoning of new allocations on or off for a GPU (see CachingAllocator::setPoison).
void cudaSetPoison(int index, bool on);
Stream& cudaStreamFor(int index);
// The device's cudaStream_t, as an opaque pointer for the kernel launchers.
void* cudaStreamHandle(int index);
void cudaSynchronizeAllStreams();
void cudaShutdownAllStreams();

// Copies src into dst (same bytes, at least one of them on a GPU), ordered after all work already
// submitted to both devices' streams and before any work submitted later. Called on the JS thread.
void cudaCopyTensor(const TensorRef& dst, const TensorRef& src);
// Fills `bytes` bytes at `dst` (device memory) with a host pattern of `patternBytes` (1, 2 or 4) bytes.
void cudaFill(void* dst, int deviceIndex, const void* pattern, size_t patternBytes, size_t count);
// Host -> device copy of freshly created data (the destination is not yet visible to any op).
void cudaUpload(void* dst, int deviceIndex, const void* src, size_t bytes);

}  // namespace glm
