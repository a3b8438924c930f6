// Emulated cub::DeviceRadixSort for tools/cuda-emu: a stable sort on the host, with the same
// two-call protocol (size query, then sort) as CUB.
#pragma once
#include <algorithm>
#include <numeric>
#include <vector>

#include "../../../emu.h"

namespace cub {
struct DeviceRadixSort {
  template <typename K, typename V, typename NumItems>
  static cudaError_t SortPairs(void* temp, size_t& tempBytes, const K* keysIn, K* keysOut, const V* valsIn, V* valsOut,
                               NumItems n, int = 0, int = int(sizeof(K) * 8), cudaStream_t = nullptr) {
    if (!temp) {
      tempBytes = 256;
      return cudaSuccess;
    }
    std::vector<long long> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0LL);
    std::stable_sort(order.begin(), order.end(), [&](long long a, long long b) { return keysIn[a] < keysIn[b]; });
    std::vector<K> k(static_cast<size_t>(n));
    std::vector<V> v(static_cast<size_t>(n));
    for (size_t i = 0; i < size_t(n); i++) {
      k[i] = keysIn[order[i]];
      v[i] = valsIn[order[i]];
    }
    std::copy(k.begin(), k.end(), keysOut);
    std::copy(v.begin(), v.end(), valsOut);
    return cudaSuccess;
  }
};
}  // namespace cub
