// CUDA permute; the contract of native/cpu/layout.h. The permutation is first simplified on the host
// (size-1 dimensions dropped, dimensions that stay adjacent merged), then:
//   - nothing moves: one device-to-device copy;
//   - the last dimension stays last: rows are copied, contiguous on both sides (16-byte accesses
//     when the row length and the pointers allow);
//   - the last dimension moves: 32x32 tiles through shared memory, so that both the reads (along
//     the input's last dimension) and the writes (along the output's) are coalesced.
#include <algorithm>

#include "../core/error.h"
#include "common.cuh"
#include "device_error.cuh"
#include "layout.h"

namespace glm::cuda {
namespace {

constexpr int kMaxRank = 6;

struct Dims {
  int rank = 0;
  int64_t size[kMaxRank];
};

// Output dimension i, walked from the last: its size and the input stride of the dimension it reads.
struct OuterDims {
  int count = 0;
  int64_t size[kMaxRank];
  int64_t inStride[kMaxRank];
};

// Row copy: out rows of `rowUnits` units (of W elements) each; row index -> input offset through the
// output's outer dimensions.
template <typename E, int W>
__global__ void permuteRowsKernel(E* out, const E* inp, int64_t units, int64_t rowUnits, const __grid_constant__ OuterDims outer) {
  GLM_GRID_STRIDE(u, units) {
    int64_t row = u / rowUnits;
    const int64_t col = (u - row * rowUnits) * W;
    int64_t off = 0;
    for (int d = 0; d < outer.count; d++) {  // outer.size[0] is the innermost outer dimension
      const int64_t coord = row % outer.size[d];
      row /= outer.size[d];
      off += coord * outer.inStride[d];
    }
    storePack<W>(out + u * W, loadPack<W>(inp + off + col));
  }
}

struct TileParams {
  int64_t A, B;             // A: the input dimension that becomes the output's last; B: the input's last
  int64_t inStrideA;        // input stride of A (B's is 1)
  int64_t outStrideB;       // output stride of B (A's is 1)
  int64_t batch;            // product of the other dimensions
  OuterDims batchDims;      // their sizes, input strides ...
  int64_t outStride[kMaxRank];  // ... and output strides
};

constexpr int kTile = 32;
constexpr int kTileRows = 8;

template <typename E> __global__ void permuteTileKernel(E* out, const E* inp, const __grid_constant__ TileParams p) {
  __shared__ uint32_t tile[kTile][kTile + 1];  // +1: column reads hit 32 different banks
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t z = blockIdx.z; z < p.batch; z += gridDim.z) {
    int64_t rest = z, inBase = 0, outBase = 0;
    for (int d = 0; d < p.batchDims.count; d++) {
      const int64_t coord = rest % p.batchDims.size[d];
      rest /= p.batchDims.size[d];
      inBase += coord * p.batchDims.inStride[d];
      outBase += coord * p.outStride[d];
    }
    for (int64_t a0 = int64_t(blockIdx.y) * kTile; a0 < p.A; a0 += int64_t(gridDim.y) * kTile) {
      for (int64_t b0 = int64_t(blockIdx.x) * kTile; b0 < p.B; b0 += int64_t(gridDim.x) * kTile) {
        __syncthreads();  // the previous tile has been written out
        const int64_t b = b0 + tx;
        for (int j = ty; j < kTile; j += kTileRows) {
          const int64_t a = a0 + j;
          if (a < p.A && b < p.B) tile[j][tx] = uint32_t(inp[inBase + a * p.inStrideA + b]);
        }
        __syncthreads();
        const int64_t a = a0 + tx;
        for (int j = ty; j < kTile; j += kTileRows) {
          const int64_t bb = b0 + j;
          if (a < p.A && bb < p.B) out[outBase + bb * p.outStrideB + a] = E(tile[tx][j]);
        }
      }
    }
  }
}

template <typename E>
void permuteTyped(void* outRaw, const void* inpRaw, const Dims& in, const int* perm, cudaStream_t s) {
  E* out = static_cast<E*>(outRaw);
  const E* inp = static_cast<const E*>(inpRaw);
  const int r = in.rank;
  int64_t inStride[kMaxRank], outSize[kMaxRank], outStride[kMaxRank];
  int64_t numel = 1;
  for (int d = r - 1; d >= 0; d--) {
    inStride[d] = numel;
    numel *= in.size[d];
  }
  for (int i = 0; i < r; i++) outSize[i] = in.size[perm[i]];
  int64_t acc = 1;
  for (int i = r - 1; i >= 0; i--) {
    outStride[i] = acc;
    acc *= outSize[i];
  }

  if (perm[r - 1] == r - 1) {
    const int64_t L = in.size[r - 1];
    OuterDims outer;
    for (int i = r - 2; i >= 0; i--) {
      outer.size[outer.count] = outSize[i];
      outer.inStride[outer.count] = inStride[perm[i]];
      outer.count++;
    }
    constexpr int W = 16 / int(sizeof(E));
    if (L % W == 0 && aligned16(out) && aligned16(inp)) {
      const int64_t units = numel / W;
      permuteRowsKernel<E, W><<<gridFor(units, 256), 256, 0, s>>>(out, inp, units, L / W, outer);
    } else {
      permuteRowsKernel<E, 1><<<gridFor(numel, 256), 256, 0, s>>>(out, inp, numel, L, outer);
    }
    return;
  }

  TileParams p;
  const int a = perm[r - 1];  // input dimension that ends up last
  int q = 0;                  // output position of the input's last dimension
  for (int i = 0; i < r; i++)
    if (perm[i] == r - 1) q = i;
  p.A = in.size[a];
  p.B = in.size[r - 1];
  p.inStrideA = inStride[a];
  p.outStrideB = outStride[q];
  p.batch = 1;
  for (int i = r - 1; i >= 0; i--) {
    if (i == q || i == r - 1) continue;
    const int d = p.batchDims.count++;
    p.batchDims.size[d] = outSize[i];
    p.batchDims.inStride[d] = inStride[perm[i]];
    p.outStride[d] = outStride[i];
    p.batch *= outSize[i];
  }
  auto capped = [](int64_t n, int64_t cap) { return unsigned(n < cap ? n : cap); };
  const dim3 grid(capped((p.B + kTile - 1) / kTile, 1 << 20), capped((p.A + kTile - 1) / kTile, 65535),
                  capped(p.batch, 65535));
  permuteTileKernel<E><<<grid, dim3(kTile, kTileRows), 0, s>>>(out, inp, p);
}

// Cache write: the rows' starts and counts travel in the kernel's parameters, kCacheRows rows per
// launch (a decode batch is one launch).
constexpr int kCacheRows = 64;
struct CacheRowsParams {
  int64_t start[kCacheRows];
  int64_t count[kCacheRows];
  int64_t H, L, T, D;
};

// One block row per (row, head) of the chunk; threads walk that row's count·D elements.
template <typename E>
__global__ void cacheWriteKernel(E* dst, const E* src, const __grid_constant__ CacheRowsParams p) {
  const int64_t bh = blockIdx.x;
  const int b = int(bh / p.H);
  const int64_t n = p.count[b] * p.D;
  E* out = dst + (bh * p.L + p.start[b]) * p.D;
  const E* in = src + bh * p.T * p.D;
  for (int64_t i = threadIdx.x + int64_t(blockIdx.y) * blockDim.x; i < n; i += int64_t(blockDim.x) * gridDim.y) out[i] = in[i];
}

template <typename E>
void cacheWriteTyped(void* dstRaw, const void* srcRaw, int64_t B, int64_t H, int64_t L, int64_t T, int64_t D,
                     const int64_t* start, const int64_t* count, cudaStream_t s) {
  E* dst = static_cast<E*>(dstRaw);
  const E* src = static_cast<const E*>(srcRaw);
  for (int64_t b0 = 0; b0 < B; b0 += kCacheRows) {
    CacheRowsParams p{};
    const int rows = int(std::min<int64_t>(kCacheRows, B - b0));
    p.H = H;
    p.L = L;
    p.T = T;
    p.D = D;
    int64_t most = 0;
    for (int r = 0; r < rows; r++) {
      p.start[r] = start[b0 + r];
      p.count[r] = count[b0 + r];
      most = std::max(most, p.count[r]);
    }
    if (most == 0) continue;
    const int64_t perRow = most * D;
    const dim3 grid(unsigned(rows * H), unsigned(std::min<int64_t>(64, (perRow + 255) / 256)));
    cacheWriteKernel<E><<<grid, 256, 0, s>>>(dst + b0 * H * L * D, src + b0 * H * T * D, p);
  }
}

// cacheWriteAt: one block row per (row, head); the row's start is read from the device. Every row
// is checked by the blocks of its first head, and a row that does not fit writes nothing.
template <typename E>
__global__ void cacheWriteAtKernel(E* dst, const E* src, const int32_t* positions, int64_t H, int64_t L, int64_t T,
                                   int64_t D, ErrorSink sink) {
  const int64_t bh = blockIdx.x;
  const int64_t b = bh / H;
  const int32_t start = positions[b];
  if (start < 0 || start + T > L) {
    if (bh % H == 0 && blockIdx.y == 0 && threadIdx.x == 0) reportDeviceError(sink, kErrPositionOutOfRange, b, start, L - T + 1);
    return;
  }
  const int64_t n = T * D;
  E* out = dst + (bh * L + start) * D;
  const E* in = src + bh * T * D;
  for (int64_t i = threadIdx.x + int64_t(blockIdx.y) * blockDim.x; i < n; i += int64_t(blockDim.x) * gridDim.y) out[i] = in[i];
}

template <typename E>
void cacheWriteAtTyped(void* dst, const void* src, int64_t B, int64_t H, int64_t L, int64_t T, int64_t D,
                       const int32_t* positions, void* stream) {
  GLM_REQUIRE(B * H <= int64_t(INT32_MAX), "cacheWrite", "at most " << INT32_MAX << " (row, head) pairs on CUDA, got " << B * H);
  const ErrorSink sink = errorSinkFor(stream);
  const dim3 grid(unsigned(B * H), unsigned(std::min<int64_t>(64, (T * D + 255) / 256)));
  cacheWriteAtKernel<E><<<grid, 256, 0, asStream(stream)>>>(static_cast<E*>(dst), static_cast<const E*>(src), positions, H, L, T, D,
                                                             sink);
}

}  // namespace

void cacheWriteAt(void* dst, const void* src, int64_t elemSize, int64_t B, int64_t H, int64_t L, int64_t T, int64_t D,
                  const int32_t* positions, void* stream) {
  GLM_REQUIRE(elemSize == 2 || elemSize == 4, "cacheWrite", "elements of 2 or 4 bytes, got " << elemSize);
  if (B * H * T * D == 0) return;
  if (elemSize == 2) cacheWriteAtTyped<uint16_t>(dst, src, B, H, L, T, D, positions, stream);
  else cacheWriteAtTyped<uint32_t>(dst, src, B, H, L, T, D, positions, stream);
}

void cacheWrite(void* dst, const void* src, int64_t elemSize, int64_t B, int64_t H, int64_t L, int64_t T, int64_t D,
                const int64_t* start, const int64_t* count, void* stream) {
  GLM_REQUIRE(elemSize == 2 || elemSize == 4, "cacheWrite", "elements of 2 or 4 bytes, got " << elemSize);
  if (B * H * D == 0) return;
  cudaStream_t s = asStream(stream);
  if (elemSize == 2) cacheWriteTyped<uint16_t>(dst, src, B, H, L, T, D, start, count, s);
  else cacheWriteTyped<uint32_t>(dst, src, B, H, L, T, D, start, count, s);
}

void permute(void* out, const void* inp, int64_t elemSize, const int64_t* inShape, const int* perm, int rank,
             void* stream) {
  const char* op = "permute";
  GLM_REQUIRE(rank >= 0 && rank <= kMaxRank, op, "at most " << kMaxRank << " dimensions, got " << rank);
  GLM_REQUIRE(elemSize == 2 || elemSize == 4, op, "elements of 2 or 4 bytes, got " << elemSize);
  bool seen[kMaxRank] = {};
  int64_t numel = 1;
  for (int i = 0; i < rank; i++) {
    GLM_REQUIRE(perm[i] >= 0 && perm[i] < rank && !seen[perm[i]], op, "perm is not a permutation of 0.." << rank - 1);
    seen[perm[i]] = true;
    numel *= inShape[i];
  }
  if (numel == 0) return;

  // Simplify: keep the input dimensions of size > 1, then merge runs of output dimensions that read
  // consecutive input dimensions (they are one contiguous dimension on both sides).
  int keptIndex[kMaxRank];  // input dim -> index among kept dims, or -1
  int kept = 0;
  for (int d = 0; d < rank; d++) keptIndex[d] = inShape[d] > 1 ? kept++ : -1;
  int p1[kMaxRank], n1 = 0;
  int64_t size1[kMaxRank];
  for (int d = 0; d < rank; d++)
    if (keptIndex[d] >= 0) size1[keptIndex[d]] = inShape[d];
  for (int i = 0; i < rank; i++)
    if (keptIndex[perm[i]] >= 0) p1[n1++] = keptIndex[perm[i]];
  // Groups of consecutive input dims, in output order: group g covers input dims [first[g], last[g]].
  int first[kMaxRank], last[kMaxRank], groups = 0;
  for (int i = 0; i < n1; i++) {
    if (groups > 0 && p1[i] == last[groups - 1] + 1) {
      last[groups - 1] = p1[i];
    } else {
      first[groups] = last[groups] = p1[i];
      groups++;
    }
  }
  cudaStream_t s = asStream(stream);
  if (groups <= 1) {
    cudaMemcpyAsync(out, inp, size_t(numel) * size_t(elemSize), cudaMemcpyDeviceToDevice, s);
    return;
  }
  // New input dims: the groups ordered by their first input dim; new perm maps output group -> that order.
  Dims in;
  in.rank = groups;
  int newPerm[kMaxRank];
  for (int g = 0; g < groups; g++) {
    int order = 0;
    for (int h = 0; h < groups; h++)
      if (first[h] < first[g]) order++;
    newPerm[g] = order;
    int64_t size = 1;
    for (int d = first[g]; d <= last[g]; d++) size *= size1[d];
    in.size[order] = size;
  }
  if (elemSize == 2) permuteTyped<uint16_t>(out, inp, in, newPerm, s);
  else permuteTyped<uint32_t>(out, inp, in, newPerm, s);
}

}  // namespace glm::cuda
