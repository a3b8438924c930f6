// Stand-in for native/cuda/runtime.cu when the addon is built without CUDA: the addon still loads,
// reports no CUDA device, and throws a clear error when asked for one.
#include "cuda_api.h"
#include "error.h"

namespace glm {
namespace {
const char* kNoCuda = "glm-native was built without CUDA (nvcc was not found when it was compiled)";
[[noreturn]] void noCuda(const char* op) { GLM_FAIL(op, kNoCuda); }
}  // namespace

bool cudaCompiled() { return false; }
int cudaDeviceCount() { return 0; }
std::string cudaUnavailableReason() { return kNoCuda; }
CudaDeviceInfo cudaDeviceInfo(int) { noCuda("devices"); }
void cudaRequireDevice(int, const char* op) { noCuda(op); }
CachingAllocator& cudaAllocator(int) { noCuda("alloc"); }
void cudaSetPoison(int, bool) { noCuda("setPoison"); }
Stream& cudaStreamFor(int) { noCuda("stream"); }
void* cudaStreamHandle(int) { noCuda("stream"); }
void cudaSynchronizeAllStreams() {}
void cudaShutdownAllStreams() {}
void cudaCopyTensor(const TensorRef&, const TensorRef&) { noCuda("to"); }
void cudaFill(void*, int, const void*, size_t, size_t) { noCuda("fill"); }
void cudaUpload(void*, int, const void*, size_t) { noCuda("from"); }

}  // namespace glm
