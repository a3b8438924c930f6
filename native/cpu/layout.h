// Layout changes that copy: permute (transpose) of up to 6 dimensions, e.g. (B, T, 3, H, D) ->
// (3, B, H, T, D) to split fused QKV projections into heads.
#pragma once
#include <cstdint>

namespace glm::cpu {

// out has shape inShape permuted by perm (out dim i = in dim perm[i]); elemSize is 2 or 4 bytes.
void permute(void* out, const void* inp, int64_t elemSize, const int64_t* inShape, const int* perm, int rank);

// A key/value cache write: src [B, H, T, D] into dst [B, H, L, D], row b's first count[b] positions
// going to positions [start[b], start[b] + count[b]) (the caller checked that they fit).
void cacheWrite(void* dst, const void* src, int64_t elemSize, int64_t B, int64_t H, int64_t L, int64_t T, int64_t D,
                const int64_t* start, const int64_t* count);
// The same with every row writing all T positions, from positions[b] (an i32 device array read
// here): a decode step whose cache lengths live on the device (a replayed op graph). Throws, before
// writing anything, unless every row's [positions[b], positions[b] + T) lies in [0, L).
void cacheWriteAt(void* dst, const void* src, int64_t elemSize, int64_t B, int64_t H, int64_t L, int64_t T, int64_t D,
                  const int32_t* positions);

}  // namespace glm::cpu
