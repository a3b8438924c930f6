// Fills device memory with a repeated 1-, 2- or 4-byte pattern on a stream (plain C++ header). Used by
// cuda::fill (a value already converted to the tensor's bits on the host, exactly as the CPU does)
// and by cudaFill.
#pragma once
#include <cstdint>

namespace glm::cuda {

// out: `count` elements of `patternBytes` bytes each, all set to the low `patternBytes` bytes of `pattern`.
void fillPattern(void* out, uint32_t pattern, int patternBytes, int64_t count, void* stream);

}  // namespace glm::cuda
