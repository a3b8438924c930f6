// Deferred errors found by kernels (CUDA-only header). A kernel that validates data (embedding ids,
// cross-entropy targets) cannot throw: it records the problem in a small per-device record in device
// memory, and the runtime copies the record back at the next synchronisation point (synchronize,
// whenDone, a read of a GPU tensor), turns it into a GlmError naming the op and clears it.
//
// The first launch (in stream order) that reports wins the record; within that launch the lowest
// index wins, so the message is the same as the CPU kernel's (which stops at the first bad index).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace glm::cuda {

// What went wrong; runtime.cu turns each code into a sentence.
enum DeviceErrorCode : int {
  kErrIdOutOfRange = 1,      // an embedding id outside [0, limit)
  kErrTargetOutOfRange = 2,  // a cross-entropy target outside [0, limit) that is not the ignore index
  kErrPositionOutOfRange = 3,  // a row's start position outside [0, limit) (cacheWriteAt, ropeAt)
};

// Zero bytes = no error, so the record is cleared with a memset.
struct DeviceError {
  unsigned int tag;  // the launch that owns the record (0: none)
  int code;          // DeviceErrorCode
  int op;            // the op's name, interned by the runtime
  int pad;
  long long limit;                // the bound that was broken
  unsigned long long invKey;      // ~((index << 32) | uint32(value)): atomicMax keeps the lowest index
};

// Where a launch reports: the device's record, a tag unique to the launch, and the op being run.
struct ErrorSink {
  DeviceError* record;
  unsigned int tag;
  int op;
};

// Host: the sink for a launch on `stream` (one of the runtime's device streams), within the op that
// Stream::submit is running. Throws a GlmError for a stream the runtime does not know.
ErrorSink errorSinkFor(void* stream);

// Device: records that element `index` holds the invalid `value` (bound `limit`).
__device__ __forceinline__ void reportDeviceError(const ErrorSink& sink, int code, long long index, int value,
                                                  long long limit) {
  DeviceError* r = sink.record;
  const unsigned prev = atomicCAS(&r->tag, 0u, sink.tag);
  if (prev == 0u) {
    r->code = code;
    r->op = sink.op;
    r->limit = limit;
  }
  if (prev == 0u || prev == sink.tag) {
    // Indexes beyond 2^32 - 1 (four billion rows in one call) are reported as 2^32 - 1.
    const unsigned long long idx = index < 0xffffffffLL ? (unsigned long long)index : 0xffffffffull;
    const unsigned long long key = (idx << 32) | (unsigned long long)(unsigned int)value;
    atomicMax(&r->invKey, ~key);
  }
}

}  // namespace glm::cuda
