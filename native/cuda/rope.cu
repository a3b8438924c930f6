// CUDA rotary position embedding; the contract of native/cpu/rope.h. One thread per (t, i) pair:
// it computes cos and sin of pos · theta_i in double once (theta from the host, the CPU kernel's
// values, passed by value in the launch), rounds them to f32 and rotates that pair in up to
// kRowsPerThread rows of B·H, which amortises the double-precision sincos. Threads run along i
// within a row and on into the next t, which is the next row in memory, so accesses coalesce. In
// place is safe: each thread reads both elements of its pair before it writes them.
#include "common.cuh"
#include "device_error.cuh"
#include "rope.h"

namespace glm::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kRowsPerThread = 16;
constexpr int64_t kMaxGridY = 65535;

template <typename T>
__global__ void ropeKernel(T* out, const T* inp, int64_t BH, int64_t seqLen, int64_t half, int64_t rowsPerThread,
                           const __grid_constant__ RopeFrequencies freqs, int64_t positionOffset, float sign) {
  const int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= seqLen * half) return;
  const int64_t t = p / half, i = p - t * half;
  double sd, cd;
  sincos(double(positionOffset + t) * freqs.theta[i], &sd, &cd);
  const float c = float(cd), s = sign * float(sd);
  const int64_t D = 2 * half;
  const int64_t r0 = int64_t(blockIdx.y) * rowsPerThread;
  const int64_t r1 = r0 + rowsPerThread < BH ? r0 + rowsPerThread : BH;
  for (int64_t r = r0; r < r1; r++) {
    const int64_t at = (r * seqLen + t) * D + i;
    const float x1 = toF(inp[at]), x2 = toF(inp[at + half]);
    out[at] = fromF<T>(x1 * c - x2 * s);
    out[at + half] = fromF<T>(x2 * c + x1 * s);
  }
}

// ropeForwardAt: as ropeKernel, the position of row r (of B·H) being positions[r / H] + t. Rows of one
// batch item share an angle, so a thread recomputes sincos only when its rows cross into the next item.
template <typename T>
__global__ void ropeAtKernel(T* out, const T* inp, int64_t BH, int64_t H, int64_t seqLen, int64_t half, int64_t rowsPerThread,
                             const __grid_constant__ RopeFrequencies freqs, const int32_t* positions, ErrorSink sink) {
  const int64_t p = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (p >= seqLen * half) return;
  const int64_t t = p / half, i = p - t * half;
  const int64_t D = 2 * half;
  const int64_t r0 = int64_t(blockIdx.y) * rowsPerThread;
  const int64_t r1 = r0 + rowsPerThread < BH ? r0 + rowsPerThread : BH;
  int64_t item = -1;
  float c = 0.0f, s = 0.0f;
  bool valid = false;
  for (int64_t r = r0; r < r1; r++) {
    if (r / H != item) {
      item = r / H;
      const int32_t start = positions[item];
      valid = start >= 0 && int64_t(start) + seqLen - 1 <= int64_t(2147483647);
      if (!valid) {
        if (t == 0 && i == 0 && r % H == 0) reportDeviceError(sink, kErrPositionOutOfRange, item, start, 2147483647 - seqLen + 2);
      } else {
        double sd, cd;
        sincos(double(int64_t(start) + t) * freqs.theta[i], &sd, &cd);
        c = float(cd);
        s = float(sd);
      }
    }
    if (!valid) continue;
    const int64_t at = (r * seqLen + t) * D + i;
    const float x1 = toF(inp[at]), x2 = toF(inp[at + half]);
    out[at] = fromF<T>(x1 * c - x2 * s);
    out[at + half] = fromF<T>(x2 * c + x1 * s);
  }
}

}  // namespace

template <typename T>
void ropeForwardAt(T* out, const T* inp, int64_t B, int64_t H, int64_t seqLen, int64_t D, const RopeFrequencies& freqs,
                   const int32_t* positions, void* stream) {
  const int64_t BH = B * H;
  if (BH <= 0 || seqLen <= 0) return;
  const int64_t half = D / 2;
  int64_t rows = kRowsPerThread;
  if ((BH + rows - 1) / rows > kMaxGridY) rows = (BH + kMaxGridY - 1) / kMaxGridY;
  const ErrorSink sink = errorSinkFor(stream);
  const dim3 grid(unsigned((seqLen * half + kThreads - 1) / kThreads), unsigned((BH + rows - 1) / rows));
  ropeAtKernel<<<grid, kThreads, 0, asStream(stream)>>>(dev(out), dev(inp), BH, H, seqLen, half, rows, freqs, positions, sink);
}

template void ropeForwardAt<float>(float*, const float*, int64_t, int64_t, int64_t, int64_t, const RopeFrequencies&,
                                   const int32_t*, void*);
template void ropeForwardAt<bf16>(bf16*, const bf16*, int64_t, int64_t, int64_t, int64_t, const RopeFrequencies&,
                                  const int32_t*, void*);

template <typename T>
void ropeForward(T* out, const T* inp, int64_t BH, int64_t seqLen, int64_t D, const RopeFrequencies& freqs,
                 int64_t positionOffset, bool inverse, void* stream) {
  if (BH <= 0 || seqLen <= 0) return;
  const int64_t half = D / 2;
  int64_t rows = kRowsPerThread;
  if ((BH + rows - 1) / rows > kMaxGridY) rows = (BH + kMaxGridY - 1) / kMaxGridY;
  const dim3 grid(unsigned((seqLen * half + kThreads - 1) / kThreads), unsigned((BH + rows - 1) / rows));
  ropeKernel<<<grid, kThreads, 0, asStream(stream)>>>(dev(out), dev(inp), BH, seqLen, half, rows, freqs,
                                                      positionOffset, inverse ? -1.0f : 1.0f);
}

template void ropeForward<float>(float*, const float*, int64_t, int64_t, int64_t, const RopeFrequencies&, int64_t,
                                 bool, void*);
template void ropeForward<bf16>(bf16*, const bf16*, int64_t, int64_t, int64_t, const RopeFrequencies&, int64_t, bool,
                                void*);

}  // namespace glm::cuda
