// Caching allocator: see allocator.h for the policy.
#include "allocator.h"

#include "error.h"

namespace glm {

CachingAllocator::CachingAllocator(const char* deviceName, RawAlloc rawAlloc, RawFree rawFree)
    : deviceName_(deviceName), rawAlloc_(rawAlloc), rawFree_(rawFree) {}

size_t CachingAllocator::roundSize(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t kSmall = 1 << 20;
  if (bytes <= kSmall) return (bytes + 511) & ~size_t(511);
  // Round up to the next of 8 steps between consecutive powers of two.
  size_t p = 1;
  while ((p << 1) <= bytes) p <<= 1;
  size_t step = p / 8;
  return (bytes + step - 1) / step * step;
}

void* CachingAllocator::allocate(size_t bytes) {
  size_t size = roundSize(bytes);
  std::lock_guard<std::mutex> lock(mutex_);
  void* ptr = nullptr;
  // Best fit within a quarter more than asked: shapes that grow a little every call (a decode that
  // recomputes a window one token longer each step) reuse the blocks the previous call freed instead
  // of taking new memory from the system each time, first-touch page faults included, while the cache
  // kept every old size (exact size-class matches only: 512-byte classes below 1 MiB).
  auto it = freeBlocks_.lower_bound(size);
  if (it != freeBlocks_.end() && it->first <= size + size / 4) {
    size = it->first;
    ptr = it->second;
    freeBlocks_.erase(it);
  } else {
    ptr = rawAlloc_(size);
    if (!ptr) {
      // Out of memory: give the cache back and try once more before failing.
      releaseCacheLocked();
      ptr = rawAlloc_(size);
    }
    GLM_REQUIRE(ptr != nullptr, "alloc",
                "out of memory on " << deviceName_ << ": could not allocate " << size << " bytes ("
                                    << stats_.allocated << " bytes in use, " << stats_.reserved
                                    << " reserved)");
    stats_.reserved += size;
    stats_.systemAllocCount++;
  }
  if (poisonFn_) poisonFn_(ptr, size);
  liveBlocks_[ptr] = size;
  stats_.allocated += size;
  stats_.allocCount++;
  if (stats_.allocated > stats_.peakAllocated) stats_.peakAllocated = stats_.allocated;
  return ptr;
}

void CachingAllocator::setPoison(bool on, void (*poisonFn)(void*, size_t)) {
  std::lock_guard<std::mutex> lock(mutex_);
  poisonFn_ = on ? poisonFn : nullptr;
}

void CachingAllocator::free(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = liveBlocks_.find(ptr);
  if (it == liveBlocks_.end()) return;  // not ours: ignore rather than corrupt the cache
  const size_t size = it->second;
  liveBlocks_.erase(it);
  stats_.allocated -= size;
  freeBlocks_.emplace(size, ptr);
}

void CachingAllocator::releaseCacheLocked() {
  for (auto& kv : freeBlocks_) {
    rawFree_(kv.second);
    stats_.reserved -= kv.first;
  }
  freeBlocks_.clear();
}

void CachingAllocator::emptyCache() {
  std::lock_guard<std::mutex> lock(mutex_);
  releaseCacheLocked();
}

MemoryStats CachingAllocator::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace glm
