// What the CUDA kernel launchers need from runtime.cu beyond cuda_api.h, in plain C++: the current
// device's multiprocessor count (for grid sizes) and temporary device memory.
//
// Launchers run on the thread that submits the op, with the op's device current (Stream::submit sets
// it), so "the current device" is the op's device.
#pragma once
#include <cstddef>

namespace glm::cuda {

// Multiprocessors of the current device (132 on an H100 SXM), cached per device.
int currentDeviceSMs();

// Temporary device memory for one launch (partial sums, sort buffers), from the current device's
// caching allocator. Freeing it when the launcher returns is safe although the kernels have not run
// yet: every op of a device runs on its one stream, so whoever gets the block next uses it after them.
class ScratchBuffer {
 public:
  explicit ScratchBuffer(size_t bytes);
  ~ScratchBuffer();
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;
  void* data() const { return ptr_; }
  template <typename T> T* as() const { return static_cast<T*>(ptr_); }

 private:
  int device_;
  void* ptr_;
};

}  // namespace glm::cuda
