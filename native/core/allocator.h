// A caching allocator per device, in the manner of PyTorch's: freed blocks go back to free lists keyed
// by a rounded size class, so a training step that frees and re-allocates the same shapes every
// iteration reuses the same blocks instead of calling malloc/cudaMalloc again. A request takes the
// smallest cached block of its class or larger, up to a quarter more than the class (best fit).
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace glm {

struct MemoryStats {
  size_t allocated = 0;      // bytes in blocks handed out and not yet freed (rounded sizes)
  size_t reserved = 0;       // bytes obtained from the system: allocated + cached free blocks
  size_t peakAllocated = 0;  // high-water mark of allocated
  size_t allocCount = 0;     // allocations served
  size_t systemAllocCount = 0;  // allocations that went to the system (cache misses)
};

class CachingAllocator {
 public:
  using RawAlloc = void* (*)(size_t bytes);  // returns nullptr on failure
  using RawFree = void (*)(void* ptr);

  CachingAllocator(const char* deviceName, RawAlloc rawAlloc, RawFree rawFree);

  // Returns a block of at least `bytes` bytes, 64-byte aligned. Throws GlmError when memory runs out
  // even after the cache has been released.
  void* allocate(size_t bytes);
  // When on, every block handed out is first filled with 0xFF bytes (NaN in f32 and bf16, -1 in i32),
  // so a kernel that fails to write part of its output is caught by the tests.
  void setPoison(bool on, void (*poisonFn)(void* ptr, size_t bytes));
  void free(void* ptr);
  // Returns every cached free block to the system.
  void emptyCache();
  MemoryStats stats();

  // The size class a request is rounded to: 512 B granularity below 1 MiB, then 1/8-power-of-two
  // steps, so that a cached block is at most 12.5% larger than what was asked.
  static size_t roundSize(size_t bytes);

 private:
  const char* deviceName_;
  RawAlloc rawAlloc_;
  RawFree rawFree_;
  std::mutex mutex_;
  std::multimap<size_t, void*> freeBlocks_;       // size class -> cached block
  std::unordered_map<void*, size_t> liveBlocks_;  // block -> size class
  MemoryStats stats_;
  void (*poisonFn_)(void*, size_t) = nullptr;

  void releaseCacheLocked();
};

}  // namespace glm
