// A fork-join thread pool for the CPU kernels. The caller runs one share of the work itself; nested
// calls run inline, so a kernel may call parallelFor without caring who called it.
#pragma once
#include <cstdint>
#include <functional>

namespace glm {

// Splits [0, n) into chunks of at least `grain` items and runs fn(begin, end) on the pool.
void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// Runs fn(threadIndex, threadCount) once on every thread of the pool (for kernels that partition
// work themselves, such as GEMM).
void parallelRun(const std::function<void(int, int)>& fn);

// Threads in the pool, the caller included. Default: GLM_NUM_THREADS, else the number of cores.
int numThreads();
void setNumThreads(int n);

}  // namespace glm
