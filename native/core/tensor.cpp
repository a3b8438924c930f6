// Storage lifetime and the device memory it comes from.
#include "tensor.h"

#include <cstdlib>
#include <sstream>

#include "allocator.h"
#include "cuda_api.h"
#include "error.h"

namespace glm {
namespace {

void* cpuRawAlloc(size_t bytes) { return std::aligned_alloc(64, (bytes + 63) & ~size_t(63)); }
void cpuRawFree(void* p) { std::free(p); }

}  // namespace

CachingAllocator& cpuAllocator() {
  static CachingAllocator* a = new CachingAllocator("cpu", cpuRawAlloc, cpuRawFree);  // leaked: see stream
  return *a;
}

CachingAllocator& allocatorFor(Device device) {
  return device.isCuda() ? cudaAllocator(device.index) : cpuAllocator();
}

Storage::Storage(Device device, size_t bytes) : device_(device), bytes_(bytes) {
  data_ = allocatorFor(device).allocate(bytes);
}

Storage::~Storage() { allocatorFor(device_).free(data_); }

std::string shapeStr(const Shape& s) {
  std::ostringstream ss;
  ss << "[";
  for (size_t i = 0; i < s.size(); i++) ss << (i ? ", " : "") << s[i];
  ss << "]";
  return ss.str();
}

std::string TensorRef::desc() const {
  return std::string(dtypeName(dtype)) + shapeStr(shape) + " on " + device().str();
}

TensorRef emptyTensor(const Shape& shape, DType dtype, Device device) {
  for (int64_t d : shape) GLM_REQUIRE(d >= 0, "empty", "negative dimension in shape " << shapeStr(shape));
  TensorRef t;
  t.dtype = dtype;
  t.shape = shape;
  t.storage = std::make_shared<Storage>(device, t.nbytes());
  return t;
}

bool parseDevice(const std::string& s, Device* out) {
  if (s == "cpu") { *out = Device{DeviceType::CPU, 0}; return true; }
  if (s == "cuda") { *out = Device{DeviceType::CUDA, 0}; return true; }
  if (s.rfind("cuda:", 0) == 0 && s.size() > 5) {
    int idx = 0;
    for (size_t i = 5; i < s.size(); i++) {
      if (s[i] < '0' || s[i] > '9') return false;
      idx = idx * 10 + (s[i] - '0');
      if (idx > 1024) return false;
    }
    *out = Device{DeviceType::CUDA, idx};
    return true;
  }
  return false;
}

}  // namespace glm
