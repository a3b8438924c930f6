// Every device is a stream: ops are submitted in order and run later, so JS never waits on compute
// unless it reads a result. The CPU stream is one native worker thread (which fans out over the
// thread pool), except that small ops run inline on the caller when it is idle (submitSmall); a
// CUDA stream launches at submit time onto a cudaStream_t.
//
// Errors found while an op runs (an out-of-range token id, say) are deferred as on CUDA: the first one
// is kept, later work is skipped, and the next synchronisation point (a read, synchronize) reports it
// and clears it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "device.h"
#include "op_graph.h"

namespace glm {

// The largest estimated cost (nanoseconds of one core) of an op that may run inline (submitSmall).
constexpr int64_t kInlineMaxNanos = 100000;

class Stream {
 public:
  virtual ~Stream() = default;
  // Queues `work`; `op` names it in error messages.
  virtual void submit(const char* op, std::function<void()> work) = 0;
  // Like submit, for an op whose caller estimates it at most kInlineMaxNanos on one core. When nothing
  // is queued or running, the CPU stream runs it at once on the calling thread: handing a few
  // microseconds of work to the worker costs more (two thread wake-ups, ~20-40 us on a VM) than
  // doing it. Order and errors are as for submit: an op never overtakes queued work, and its error
  // is deferred to the next synchronisation point, never thrown here. Streams without the notion
  // (CUDA) just submit.
  virtual void submitSmall(const char* op, std::function<void()> work) { submit(op, std::move(work)); }
  // Blocks until everything submitted has run; throws the deferred error, if any.
  virtual void synchronize() = 0;
  // Calls done(error) from some thread once everything submitted before has run; error is empty
  // on success. The deferred error is handed to done and cleared.
  virtual void whenDone(std::function<void(const std::string& error)> done) = 0;
  // Stops worker threads at process exit (pending work is finished first).
  virtual void shutdown() = 0;

  // Op graphs (op_graph.h). Between beginCapture and endCapture every op submitted to this stream
  // runs as usual and is also recorded. Capture is opened, fed and closed by the one thread that
  // submits ops (the JS thread); one capture at a time per stream.
  void beginCapture(const char* op, Device device);
  std::shared_ptr<OpGraph> endCapture(const char* op);
  bool capturing() const { return capture_ != nullptr; }
  // Queues every op of `graph` again, in order, after what is already queued. Not while capturing.
  virtual void replay(const std::shared_ptr<const OpGraph>& graph) = 0;

 protected:
  // Submit implementations call this first: while capturing, keeps a copy of the op's work.
  void record(const char* op, const std::function<void()>& work) {
    if (capture_) capture_->ops.push_back(RecordedOp{op, work});
  }

 private:
  std::shared_ptr<OpGraph> capture_;
};

// The stream of a device, created on first use.
Stream& streamFor(Device device);
// Synchronises every stream that exists (used before changing the thread pool, and at exit).
void synchronizeAll();
void shutdownAll();

}  // namespace glm
