// The CPU stream: a worker thread draining a FIFO of ops, and small ops run inline by the submitting
// thread while the worker is idle. See stream.h.
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

#include "cuda_api.h"
#include "error.h"
#include "op_profile.h"
#include "stream.h"

namespace glm {
namespace {

constexpr const char* kReplayOp = "graphReplay";

class CpuStream : public Stream {
 public:
  CpuStream() : worker_([this] { loop(); }) {}

  void submit(const char* op, std::function<void()> work) override {
    record(op, work);
    {
      std::lock_guard<std::mutex> lock(m_);
      GLM_REQUIRE(!stopped_, op, "the cpu stream has been shut down (process exiting)");
      queue_.push_back(Task{op, std::move(work), nullptr});
      pending_++;
    }
    cv_.notify_one();
  }

  void submitSmall(const char* op, std::function<void()> work) override {
    record(op, work);
    {
      std::lock_guard<std::mutex> lock(m_);
      GLM_REQUIRE(!stopped_, op, "the cpu stream has been shut down (process exiting)");
      if (pending_ != 0 || !inlineEnabled_) {
        queue_.push_back(Task{op, std::move(work), nullptr});
        pending_++;
        work = nullptr;
      } else {
        // Counted as pending and flagged so that synchronize() on another thread waits for it
        // and the worker starts nothing submitted meanwhile before it.
        pending_++;
        inline_ = true;
      }
    }
    if (!work) {
      cv_.notify_one();
      return;
    }
    Task task{op, std::move(work), nullptr};
    run(task);
    task = Task{};  // release the captured tensors before reporting idle, as the worker does
    bool queued;
    {
      std::lock_guard<std::mutex> lock(m_);
      pending_--;
      inline_ = false;
      queued = !queue_.empty();
    }
    if (queued) cv_.notify_one();
    else idle_.notify_all();
  }

  // One task that runs the graph's ops back to back on the worker (timed and named one by one), so
  // a decode step costs the submitting thread one call and the pool's threads stay warm throughout.
  void replay(const std::shared_ptr<const OpGraph>& graph) override {
    const char* op = kReplayOp;
    GLM_REQUIRE(!capturing(), op, "cannot replay a graph while a capture is open");
    submit(op, [this, graph] {
      for (const RecordedOp& r : graph->ops) {
        const auto start = profile_.enabled() ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
        try {
          r.work();
        } catch (const GlmError&) {
          throw;
        } catch (const std::exception& e) {
          throw GlmError(std::string(r.op) + ": " + e.what());
        }
        if (profile_.enabled())
          profile_.add(r.op, std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
      }
    });
  }

  void synchronize() override {
    std::unique_lock<std::mutex> lock(m_);
    idle_.wait(lock, [this] { return pending_ == 0; });
    if (!error_.empty()) {
      std::string e = std::move(error_);
      error_.clear();
      throw GlmError(e);
    }
  }

  void whenDone(std::function<void(const std::string&)> done) override {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (stopped_) {
        done("the cpu stream has been shut down (process exiting)");
        return;
      }
      queue_.push_back(Task{"whenDone", nullptr, std::move(done)});
      pending_++;
    }
    cv_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (stopped_) return;
      stopped_ = true;
    }
    cv_.notify_one();
    if (worker_.joinable()) worker_.join();
    profile_.print();
  }

 private:
  struct Task {
    const char* op;
    std::function<void()> work;
    std::function<void(const std::string&)> done;
  };

  void loop() {
    for (;;) {
      Task task;
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [this] { return (!queue_.empty() && !inline_) || (stopped_ && queue_.empty()); });
        if (queue_.empty()) return;  // stopped and drained
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      run(task);
      // Drop the task's captured tensors before reporting idle, so memory stats read after a
      // synchronisation see them released.
      task = Task{};
      {
        std::lock_guard<std::mutex> lock(m_);
        pending_--;
      }
      idle_.notify_all();
    }
  }

  void run(Task& task) {
    if (task.done) {
      std::string err;
      {
        std::lock_guard<std::mutex> lock(m_);
        err = std::move(error_);
        error_.clear();
      }
      task.done(err);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(m_);
      if (!error_.empty()) return;  // an earlier op failed: its outputs are garbage, skip
    }
    std::string failure;
    const auto start = profile_.enabled() ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    try {
      task.work();
    } catch (const GlmError& e) {
      failure = e.what();
    } catch (const std::exception& e) {
      failure = std::string(task.op) + ": " + e.what();
    } catch (...) {
      failure = std::string(task.op) + ": unknown native error";
    }
    if (profile_.enabled() && task.op != kReplayOp)  // a replay times its ops itself
      profile_.add(task.op, std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count());
    if (!failure.empty()) {
      std::lock_guard<std::mutex> lock(m_);
      if (error_.empty()) error_ = failure;
    }
  }

  std::mutex m_;
  std::condition_variable cv_, idle_;
  std::deque<Task> queue_;
  size_t pending_ = 0;
  bool stopped_ = false;
  bool inline_ = false;  // an op is running inline on a submitting thread
  // GLM_CPU_INLINE=0 queues every op (to compare, or to debug with every kernel on the worker).
  const bool inlineEnabled_ = [] {
    const char* env = std::getenv("GLM_CPU_INLINE");
    return !(env && std::string(env) == "0");
  }();
  std::string error_;
  OpProfile profile_;
  std::thread worker_;
};

std::mutex gStreamsMutex;
Stream* gCpuStream = nullptr;  // leaked on purpose; shut down by the binding's exit hook

}  // namespace

Stream& streamFor(Device device) {
  if (device.isCuda()) return cudaStreamFor(device.index);
  std::lock_guard<std::mutex> lock(gStreamsMutex);
  if (!gCpuStream) gCpuStream = new CpuStream();
  return *gCpuStream;
}

void synchronizeAll() {
  Stream* cpu;
  {
    std::lock_guard<std::mutex> lock(gStreamsMutex);
    cpu = gCpuStream;
  }
  if (cpu) cpu->synchronize();
  cudaSynchronizeAllStreams();
}

void shutdownAll() {
  Stream* cpu;
  {
    std::lock_guard<std::mutex> lock(gStreamsMutex);
    cpu = gCpuStream;
  }
  if (cpu) cpu->shutdown();
  cudaShutdownAllStreams();
}

}  // namespace glm
