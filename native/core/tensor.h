// Storage (a block of device memory) and TensorRef (a typed, shaped, contiguous window on a storage).
// This layer knows nothing of Node: the binding holds TensorRefs, kernels receive raw pointers.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "device.h"
#include "dtype.h"

namespace glm {

using Shape = std::vector<int64_t>;

// Owns a block from the device's caching allocator; the block returns to the cache when the last
// reference (a JS tensor, a view, or an op still queued on the stream) lets go.
class Storage {
 public:
  Storage(Device device, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  Device device() const { return device_; }
  size_t bytes() const { return bytes_; }
  void* data() const { return data_; }

 private:
  Device device_;
  size_t bytes_;
  void* data_;
};

inline int64_t shapeNumel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shapeStr(const Shape& s);

// Tensors are row-major and contiguous; a view is a (shape, element offset) over a shared storage.
struct TensorRef {
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in elements
  DType dtype = DType::F32;
  Shape shape;

  int rank() const { return static_cast<int>(shape.size()); }
  int64_t numel() const { return shapeNumel(shape); }
  int64_t dim(int i) const { return shape[i < 0 ? shape.size() + i : i]; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtypeSize(dtype); }
  Device device() const { return storage->device(); }
  void* raw() const {
    return static_cast<char*>(storage->data()) + offset * static_cast<int64_t>(dtypeSize(dtype));
  }
  template <typename T> T* data() const { return static_cast<T*>(raw()); }
  std::string desc() const;  // "f32[2, 3] on cpu", for error messages
};

// Allocates a new tensor of the given shape on the device (contents undefined).
TensorRef emptyTensor(const Shape& shape, DType dtype, Device device);

}  // namespace glm
