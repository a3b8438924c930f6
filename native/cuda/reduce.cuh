// Deterministic reductions shared by the CUDA kernels (CUDA-only header): a two-stage sum of a
// function of every element of a vector, and a two-stage column sum of an (R, C) matrix. The split of
// the work is fixed by the sizes alone (never by timing or atomics), so results repeat bit for bit;
// partial sums are kept in double.
#pragma once
#include "common.cuh"

namespace glm::cuda {

// ---- whole-vector sums: stage 1 writes one double per block, stage 2 adds them in order ----

constexpr int kReduceThreads = 256;
constexpr int kReduceMaxBlocks = 1024;  // a constant, so the result does not depend on the GPU model

// partials[blockIdx.x] = sum of f(x[i]) over the block's share; 16-byte loads over the aligned middle.
template <typename T, typename F>
__global__ void vectorPartialsKernel(double* partials, const T* x, int64_t n, F f) {
  constexpr int N = kVec<T>;
  const int64_t head = headToAligned16(x) < n ? headToAligned16(x) : n;
  const int64_t vecs = (n - head) / N;
  const T* body = x + head;
  double acc = 0;
  GLM_GRID_STRIDE(i, vecs) {
    Pack<T, N> p = loadPack<N>(body + i * N);
    float part = 0;  // N <= 8 products in f32, then into the double accumulator
#pragma unroll
    for (int k = 0; k < N; k++) part += f(toF(p.v[k]));
    acc += double(part);
  }
  const int64_t tailStart = head + vecs * N;
  const int64_t t = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (t < head) acc += double(f(toF(x[t])));
  if (t < n - tailStart) acc += double(f(toF(x[tailStart + t])));
  const double s = blockSum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = s;
}

// Adds `count` partials in a fixed order and hands the total to fin(total) on thread 0.
template <typename Fin> __global__ void finishSumKernel(const double* partials, int count, Fin fin) {
  double acc = 0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
  const double total = blockSum(acc);
  if (threadIdx.x == 0) fin(total);
}

// Sums f(x[i]) over x (n elements, n > 0) and calls fin(total) on the device.
template <typename T, typename F, typename Fin>
void sumVector(const T* x, int64_t n, F f, Fin fin, cudaStream_t s) {
  int64_t blocks = (n / kVec<T> + kReduceThreads - 1) / kReduceThreads;
  if (blocks > kReduceMaxBlocks) blocks = kReduceMaxBlocks;
  if (blocks < 1) blocks = 1;
  ScratchBuffer partials(sizeof(double) * blocks);
  vectorPartialsKernel<<<unsigned(blocks), kReduceThreads, 0, s>>>(partials.as<double>(), x, n, f);
  finishSumKernel<<<1, 1024, 0, s>>>(partials.as<double>(), int(blocks), fin);
}

// ---- column sums of an (R, C) matrix: K quantities per element, summed over rows ----
// Stage 1: block (32 columns x 8 row lanes) over a tile of columns and one of S fixed row splits,
// writing partials[s][k][c]; stage 2 adds the S splits of each column in order and calls fin.

constexpr int kColTile = 32;
constexpr int kRowLanes = 8;

// f(r, c, acc) adds element (r, c)'s K quantities into acc[0..K).
template <int K, typename F>
__global__ void columnPartialsKernel(double* partials, int64_t R, int64_t C, int64_t rowsPerSplit, F f) {
  __shared__ double tile[K][kRowLanes][kColTile + 1];
  const int64_t c = int64_t(blockIdx.x) * kColTile + threadIdx.x;
  const int64_t s = blockIdx.y;
  const int64_t r0 = s * rowsPerSplit;
  const int64_t r1 = r0 + rowsPerSplit < R ? r0 + rowsPerSplit : R;
  double acc[K];
#pragma unroll
  for (int k = 0; k < K; k++) acc[k] = 0;
  if (c < C)
    for (int64_t r = r0 + threadIdx.y; r < r1; r += kRowLanes) f(r, c, acc);
#pragma unroll
  for (int k = 0; k < K; k++) tile[k][threadIdx.y][threadIdx.x] = acc[k];
  __syncthreads();
  if (threadIdx.y == 0 && c < C) {
#pragma unroll
    for (int k = 0; k < K; k++) {
      double sum = 0;
      for (int y = 0; y < kRowLanes; y++) sum += tile[k][y][threadIdx.x];
      partials[(s * K + k) * C + c] = sum;
    }
  }
}

// fin(c, sums) receives column c's K totals.
template <int K, typename Fin>
__global__ void finishColumnsKernel(const double* partials, int64_t splits, int64_t C, Fin fin) {
  GLM_GRID_STRIDE(c, C) {
    double sums[K];
#pragma unroll
    for (int k = 0; k < K; k++) {
      double acc = 0;
      for (int64_t s = 0; s < splits; s++) acc += partials[(s * K + k) * C + c];
      sums[k] = acc;
    }
    fin(c, sums);
  }
}

// Column sums over R rows for C columns (R, C > 0).
template <int K, typename F, typename Fin> void sumColumns(int64_t R, int64_t C, F f, Fin fin, cudaStream_t s) {
  // Enough splits to give every multiprocessor several blocks, each split at least 64 rows; the
  // count depends on the sizes only.
  const int64_t colTiles = (C + kColTile - 1) / kColTile;
  const int64_t kTargetBlocks = 1024;
  int64_t splits = (kTargetBlocks + colTiles - 1) / colTiles;
  const int64_t maxSplits = (R + 63) / 64;
  if (splits > maxSplits) splits = maxSplits;
  if (splits > 65535) splits = 65535;
  if (splits < 1) splits = 1;
  const int64_t rowsPerSplit = (R + splits - 1) / splits;
  splits = (R + rowsPerSplit - 1) / rowsPerSplit;
  ScratchBuffer partials(sizeof(double) * K * splits * C);
  columnPartialsKernel<K><<<dim3(unsigned(colTiles), unsigned(splits)), dim3(kColTile, kRowLanes), 0, s>>>(
      partials.as<double>(), R, C, rowsPerSplit, f);
  finishColumnsKernel<K><<<gridFor(C, 256, 4), 256, 0, s>>>(partials.as<double>(), splits, C, fin);
}

}  // namespace glm::cuda
