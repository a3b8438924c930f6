// CUDA permute: the contract of native/cpu/layout.h, on a stream.
#pragma once
#include <cstdint>

namespace glm::cuda {

void permute(void* out, const void* inp, int64_t elemSize, const int64_t* inShape, const int* perm, int rank,
             void* stream);

// The contract of cpu::cacheWrite (native/cpu/layout.h); start and count are host arrays of B values.
void cacheWrite(void* dst, const void* src, int64_t elemSize, int64_t B, int64_t H, int64_t L, int64_t T, int64_t D,
                const int64_t* start, const int64_t* count, void* stream);
// The contract of cpu::cacheWriteAt; positions is an i32 device array of B values. A row whose
// positions do not fit is not written and is reported as a deferred device error.
void cacheWriteAt(void* dst, const void* src, int64_t elemSize, int64_t B, int64_t H, int64_t L, int64_t T, int64_t D,
                  const int32_t* positions, void* stream);

}  // namespace glm::cuda
