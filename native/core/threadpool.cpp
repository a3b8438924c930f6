// Fork-join pool: persistent workers that wait on a generation counter; see threadpool.h.
#include "threadpool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace glm {
namespace {

thread_local bool tInsidePool = false;

class ThreadPool {
 public:
  explicit ThreadPool(int n) : size_(std::max(1, n)) {
    for (int i = 1; i < size_; i++) workers_.emplace_back([this, i] { workerLoop(i); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(m_);
      stop_ = true;
      generation_++;
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int size() const { return size_; }

  // Runs fn(i, size) on every thread and returns when all are done. One job at a time.
  // `helpersOptional`: fn is a loop that takes work from a shared counter until none is left (as
  // parallelFor's is), so once the caller's own fn returns, every piece has been taken: the job is
  // closed, only threads already inside it are waited for, and a thread that wakes up later skips
  // it. This matters when the other cores are busy (the JS thread enqueueing a decode step): the
  // caller then does the work alone instead of waiting for a thread that cannot get a core.
  void run(const std::function<void(int, int)>& fn, bool helpersOptional = false) {
    std::lock_guard<std::mutex> jobLock(jobMutex_);
    if (size_ == 1) {
      runGuarded(fn, 0);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(m_);
      job_ = &fn;
      remaining_ = size_ - 1;
      generation_++;
    }
    cv_.notify_all();
    runGuarded(fn, 0);
    if (helpersOptional) {
      std::unique_lock<std::mutex> lock(m_);
      job_ = nullptr;  // closed: late threads skip it, and only those still inside are waited for
      remaining_ = active_;
      lock.unlock();
    }
    // The other threads usually finish within microseconds of the caller: poll before sleeping.
    spinUntil([this] { return remaining_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lock(m_);
    done_.wait(lock, [this] { return remaining_ == 0; });
    job_ = nullptr;
  }

 private:
  void runGuarded(const std::function<void(int, int)>& fn, int i) {
    bool was = tInsidePool;
    tInsidePool = true;
    fn(i, size_);
    tInsidePool = was;
  }

  // Polls `ready` for up to kSpinMicros before the caller falls back to blocking. Ops arrive back to
  // back in a training step, so a worker that polls a little after each job picks up the next one
  // without a futex wake-up. It yields while polling: on a busy machine the thread it waits for may
  // need this very core.
  template <typename Ready> static void spinUntil(Ready ready) {
    constexpr int kSpinMicros = 100;
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    while (!ready()) {
      std::this_thread::yield();
      if (std::chrono::steady_clock::now() > until) return;
    }
  }

  void workerLoop(int i) {
    uint64_t seen = 0;
    for (;;) {
      const std::function<void(int, int)>* job;
      spinUntil([&] { return generation_.load(std::memory_order_acquire) != seen; });
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return generation_ != seen; });
        seen = generation_;
        if (stop_) return;
        job = job_;
        if (!job) continue;  // an optional-helpers job the caller already closed
        active_++;
      }
      runGuarded(*job, i);
      {
        std::lock_guard<std::mutex> lock(m_);
        // Until an optional job is closed remaining_ counts every thread; closing resets it to
        // the threads still inside (active_), each of which then takes one off as it leaves.
        active_--;
        if (--remaining_ == 0) done_.notify_one();
      }
    }
  }

  int size_;
  std::vector<std::thread> workers_;
  std::mutex jobMutex_;
  std::mutex m_;
  std::condition_variable cv_, done_;
  const std::function<void(int, int)>* job_ = nullptr;
  // Atomic so that spinUntil can poll them without the lock; still written under m_.
  std::atomic<int> remaining_{0};
  int active_ = 0;  // threads inside the current job (under m_)
  std::atomic<uint64_t> generation_{0};
  bool stop_ = false;
};

int defaultThreads() {
  if (const char* env = std::getenv("GLM_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  unsigned hc = std::thread::hardware_concurrency();
  return hc ? static_cast<int>(hc) : 1;
}

std::mutex gPoolMutex;
ThreadPool* gPool = nullptr;  // leaked on purpose: no destructor ordering at process exit

ThreadPool& pool() {
  std::lock_guard<std::mutex> lock(gPoolMutex);
  if (!gPool) gPool = new ThreadPool(defaultThreads());
  return *gPool;
}

}  // namespace

void parallelRun(const std::function<void(int, int)>& fn) {
  if (tInsidePool) {
    fn(0, 1);
    return;
  }
  pool().run(fn);
}

void parallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  if (tInsidePool || n <= grain) {
    fn(0, n);
    return;
  }
  ThreadPool& p = pool();
  const int64_t maxChunks = (n + grain - 1) / grain;
  if (p.size() == 1 || maxChunks == 1) {
    fn(0, n);
    return;
  }
  // Dynamic chunks (several per thread) so that uneven work, e.g. causal attention rows, balances.
  const int64_t chunks = std::min<int64_t>(maxChunks, static_cast<int64_t>(p.size()) * 4);
  const int64_t chunk = (n + chunks - 1) / chunks;
  std::atomic<int64_t> next{0};
  p.run(
      [&](int, int) {
        for (;;) {
          int64_t b = next.fetch_add(chunk);
          if (b >= n) break;
          fn(b, std::min(n, b + chunk));
        }
      },
      /*helpersOptional=*/true);
}

int numThreads() { return pool().size(); }

void setNumThreads(int n) {
  std::lock_guard<std::mutex> lock(gPoolMutex);
  if (gPool && gPool->size() == n) return;
  delete gPool;
  gPool = new ThreadPool(n);
}

}  // namespace glm
