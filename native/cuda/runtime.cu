// The CUDA runtime behind cuda_api.h: device discovery (silent when there is no driver or GPU), one
// caching allocator and one non-blocking stream per device, deferred device-side errors, and copies
// between host and device that keep both devices' stream order.
//
// Threads: ops are launched by the thread that submits them (the JS thread). Each device has one
// waiter thread that waits for recorded events in order and then runs what was waiting on them
// (whenDone callbacks, release of pinned staging buffers). Device state is created on first use and
// never destroyed (the process exit tears the driver down; destructors racing it would crash).
#include <cuda_runtime.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/cuda_api.h"
#include "../core/error.h"
#include "device_error.cuh"
#include "pattern.h"
#include "runtime_internal.h"

#ifndef GLM_CUDA_ARCHS
#define GLM_CUDA_ARCHS "?"
#endif

namespace glm {
namespace {

constexpr int kMaxDevices = 64;
// Cached pinned staging memory above this is returned to the system after each transfer.
constexpr size_t kPinnedCacheLimit = size_t(256) << 20;

std::string cudaErrorText(cudaError_t e) {
  return std::string(cudaGetErrorString(e)) + " (" + cudaGetErrorName(e) + ")";
}

// ---------------------------------------------------------------------------------------------
// Discovery

struct Probe {
  int count = 0;
  std::string reason;
};

const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      cudaGetLastError();  // not sticky, but leave nothing behind
      int driver = 0;
      cudaDriverGetVersion(&driver);
      cudaGetLastError();
      if (e == cudaErrorInsufficientDriver && driver == 0) {
        r.reason = "no CUDA driver is installed (libcuda could not be loaded)";
      } else if (e == cudaErrorInsufficientDriver) {
        r.reason = "the CUDA driver (version " + std::to_string(driver / 1000) + "." +
                   std::to_string(driver % 1000 / 10) + ") is older than this build of glm-native needs (CUDA " +
                   std::to_string(CUDART_VERSION / 1000) + "." + std::to_string(CUDART_VERSION % 1000 / 10) + ")";
      } else if (e == cudaErrorNoDevice) {
        r.reason = "no CUDA GPU was found (is CUDA_VISIBLE_DEVICES set?)";
      } else {
        r.reason = "cudaGetDeviceCount failed: " + cudaErrorText(e);
      }
      n = 0;
    } else if (n == 0) {
      r.reason = "no CUDA GPU was found";
    }
    r.count = n;
    return r;
  }();
  return p;
}

void setDevice(int index, const char* op) {
  cudaError_t e = cudaSetDevice(index);
  GLM_REQUIRE(e == cudaSuccess, op, "cannot use cuda:" << index << ": " << cudaErrorText(e));
}

// Throws "op: <what> failed on cuda:N: <error>" when a runtime call did not succeed.
void check(cudaError_t e, const char* op, const char* what, int device) {
  if (e == cudaSuccess) return;
  GLM_FAIL(op, what << " failed on cuda:" << device << ": " << cudaErrorText(e)
                    << (e == cudaErrorIllegalAddress || e == cudaErrorLaunchFailure
                            ? " (the CUDA context is now unusable: restart the process)"
                            : ""));
}

// Asking for this kernel's attributes tells whether the build has code the device can run.
__global__ void probeKernel() {}

// ---------------------------------------------------------------------------------------------
// Op names for device errors: a kernel stores an int, the runtime turns it back into the name.

class OpNames {
 public:
  OpNames() { names_.push_back("cuda"); }
  int intern(const char* op) {
    std::lock_guard<std::mutex> lock(m_);
    auto it = ids_.find(op);
    if (it != ids_.end()) return it->second;
    const int id = int(names_.size());
    names_.push_back(op);
    ids_.emplace(op, id);
    return id;
  }
  std::string name(int id) {
    std::lock_guard<std::mutex> lock(m_);
    return id >= 0 && id < int(names_.size()) ? names_[id] : std::string("cuda");
  }

 private:
  std::mutex m_;
  std::vector<std::string> names_;
  std::unordered_map<std::string, int> ids_;
};

OpNames& opNames() {
  static OpNames* n = new OpNames();  // leaked: waiter threads may format errors during exit
  return *n;
}

thread_local int tCurrentOp = 0;  // the op Stream::submit is running on this thread

std::string formatDeviceError(const cuda::DeviceError& e) {
  if (e.tag == 0) return "";
  const unsigned long long key = ~e.invKey;
  const long long index = (long long)(key >> 32);
  const int value = int(uint32_t(key & 0xffffffffull));
  std::ostringstream ss;
  ss << opNames().name(e.op) << ": ";
  switch (e.code) {
    case cuda::kErrIdOutOfRange:
      ss << "id " << value << " at index " << index << " is out of range [0, " << e.limit << ")";
      break;
    case cuda::kErrTargetOutOfRange:
      ss << "target " << value << " at index " << index << " is out of range [0, " << e.limit
         << ") and is not the ignore index";
      break;
    case cuda::kErrPositionOutOfRange:
      ss << "row " << index << " starts at position " << value << ", outside [0, " << e.limit
         << ") (the positions of its new tokens would not fit)";
      break;
    default:
      ss << "device-side error " << e.code << " at index " << index << " (value " << value << ")";
  }
  return ss.str();
}

// ---------------------------------------------------------------------------------------------
// Pinned host memory for staging transfers, shared by all devices (portable allocations).

void* pinnedRawAlloc(size_t bytes) {
  void* p = nullptr;
  if (cudaHostAlloc(&p, bytes, cudaHostAllocPortable) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  return p;
}
void pinnedRawFree(void* p) {
  cudaFreeHost(p);
  cudaGetLastError();
}

CachingAllocator& pinnedAllocator() {
  static CachingAllocator* a = new CachingAllocator("pinned host memory", pinnedRawAlloc, pinnedRawFree);
  return *a;
}

void releasePinned(void* p) {
  CachingAllocator& a = pinnedAllocator();
  a.free(p);
  if (a.stats().reserved > kPinnedCacheLimit) a.emptyCache();
}

// ---------------------------------------------------------------------------------------------
// Per-device state

class CudaStream;

struct DeviceState {
  int index = 0;
  std::string name;  // "cuda:N"; the allocator keeps a pointer to it
  cudaStream_t stream = nullptr;
  cuda::DeviceError* record = nullptr;    // device memory, zero = no error
  cuda::DeviceError* syncSlot = nullptr;  // pinned; synchronize() copies the record here
  std::mutex syncMutex;
  CachingAllocator* allocator = nullptr;
  CudaStream* streamObj = nullptr;
  std::atomic<unsigned> nextTag{0};

  std::mutex poolMutex;
  std::vector<cudaEvent_t> freeEvents;
  std::vector<cuda::DeviceError*> freeSlots;  // pinned records for whenDone / reads

  cudaEvent_t takeEvent(const char* op) {
    {
      std::lock_guard<std::mutex> lock(poolMutex);
      if (!freeEvents.empty()) {
        cudaEvent_t e = freeEvents.back();
        freeEvents.pop_back();
        return e;
      }
    }
    cudaEvent_t e = nullptr;
    setDevice(index, op);
    check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), op, "cudaEventCreate", index);
    return e;
  }
  void giveEvent(cudaEvent_t e) {
    std::lock_guard<std::mutex> lock(poolMutex);
    freeEvents.push_back(e);
  }
  cuda::DeviceError* takeSlot(const char* op) {
    std::lock_guard<std::mutex> lock(poolMutex);
    if (freeSlots.empty()) {
      const int kChunk = 64;
      void* p = nullptr;
      check(cudaHostAlloc(&p, sizeof(cuda::DeviceError) * kChunk, cudaHostAllocPortable), op, "cudaHostAlloc", index);
      auto* slots = static_cast<cuda::DeviceError*>(p);
      for (int i = 0; i < kChunk; i++) freeSlots.push_back(slots + i);
    }
    cuda::DeviceError* s = freeSlots.back();
    freeSlots.pop_back();
    return s;
  }
  void giveSlot(cuda::DeviceError* s) {
    std::lock_guard<std::mutex> lock(poolMutex);
    freeSlots.push_back(s);
  }

  // Enqueues, on the stream, a copy of the error record into `slot` followed by clearing it: the
  // slot then holds the errors of everything enqueued before.
  cudaError_t snapshotErrors(cuda::DeviceError* slot) {
    cudaError_t e = cudaMemcpyAsync(slot, record, sizeof(cuda::DeviceError), cudaMemcpyDeviceToHost, stream);
    if (e == cudaSuccess) e = cudaMemsetAsync(record, 0, sizeof(cuda::DeviceError), stream);
    return e;
  }
};

std::array<std::atomic<DeviceState*>, kMaxDevices> gDevices{};
std::mutex gCreateMutex;

DeviceState* existing(int index) {
  return index >= 0 && index < kMaxDevices ? gDevices[index].load(std::memory_order_acquire) : nullptr;
}

// Raw allocation for CachingAllocator, which takes plain function pointers: one instance per device.
void* deviceMalloc(int index, size_t bytes) {
  if (cudaSetDevice(index) != cudaSuccess) {
    cudaGetLastError();
    return nullptr;
  }
  void* p = nullptr;
  if (cudaMalloc(&p, bytes) != cudaSuccess) {
    cudaGetLastError();  // out of memory is not sticky: clear it so the next launch check is clean
    return nullptr;
  }
  return p;
}
void deviceFree(int index, void* p) {
  cudaSetDevice(index);
  // A cached block may still be read by ops queued before its tensor was freed: let them finish
  // (cudaFree synchronises too, but says so only for the legacy stream).
  if (DeviceState* s = existing(index)) cudaStreamSynchronize(s->stream);
  cudaFree(p);
  cudaGetLastError();
}
// NaN-poisoning of a new block, in stream order (a block can be reused while earlier ops still run).
void devicePoison(int index, void* p, size_t bytes) {
  DeviceState* s = existing(index);
  if (!s) return;
  cudaSetDevice(index);
  cudaMemsetAsync(p, 0xFF, bytes, s->stream);
}

template <int I> void* rawAllocOn(size_t bytes) { return deviceMalloc(I, bytes); }
template <int I> void rawFreeOn(void* p) { deviceFree(I, p); }
template <int I> void poisonOn(void* p, size_t bytes) { devicePoison(I, p, bytes); }

struct DeviceFns {
  CachingAllocator::RawAlloc alloc;
  CachingAllocator::RawFree free;
  void (*poison)(void*, size_t);
};
template <size_t... Is> constexpr std::array<DeviceFns, sizeof...(Is)> makeDeviceFns(std::index_sequence<Is...>) {
  return {DeviceFns{&rawAllocOn<int(Is)>, &rawFreeOn<int(Is)>, &poisonOn<int(Is)>}...};
}
constexpr std::array<DeviceFns, kMaxDevices> kDeviceFns = makeDeviceFns(std::make_index_sequence<kMaxDevices>{});

// ---------------------------------------------------------------------------------------------
// The waiter: runs callbacks once their event has completed, in the order they were queued.

class Waiter {
 public:
  using Callback = std::function<void(const std::string& cudaError)>;

  explicit Waiter(DeviceState& d) : d_(d), thread_([this] { loop(); }) {}

  // Runs fn after `event` completes; inline (after waiting) once the waiter has been stopped.
  void push(cudaEvent_t event, Callback fn) {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (!stopped_) {
        queue_.push_back(Item{event, std::move(fn)});
        cv_.notify_one();
        return;
      }
    }
    runItem(Item{event, std::move(fn)});
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(m_);
      if (stopped_) return;
      stopped_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  bool stopped() {
    std::lock_guard<std::mutex> lock(m_);
    return stopped_;
  }

 private:
  struct Item {
    cudaEvent_t event;
    Callback fn;
  };

  void loop() {
    cudaSetDevice(d_.index);
    for (;;) {
      Item item;
      {
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [this] { return stopped_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopped and drained
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      runItem(std::move(item));
    }
  }

  void runItem(Item item) {
    cudaError_t e = cudaEventSynchronize(item.event);
    std::string err;
    if (e != cudaSuccess) err = d_.name + ": asynchronous CUDA error: " + cudaErrorText(e);
    d_.giveEvent(item.event);
    try {
      item.fn(err);
    } catch (...) {
      // A callback must not take the waiter down; callbacks report through their own channel.
    }
  }

  DeviceState& d_;
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopped_ = false;
  std::thread thread_;
};

// Records an event now and runs fn on the waiter thread once the stream has passed it.
void afterStreamPoint(DeviceState& d, Waiter& w, const char* op, Waiter::Callback fn);

// ---------------------------------------------------------------------------------------------
// The stream of a device. submit() launches at once; errors the kernels find on the device are
// reported at the next synchronisation point.

class CudaStream : public Stream {
 public:
  explicit CudaStream(DeviceState& d) : d_(d), waiter_(d) {}

  void submit(const char* op, std::function<void()> work) override {
    GLM_REQUIRE(!waiter_.stopped(), op, "the " << d_.name << " stream has been shut down (process exiting)");
    record(op, work);
    setDevice(d_.index, op);
    struct OpScope {
      int saved;
      explicit OpScope(int id) : saved(tCurrentOp) { tCurrentOp = id; }
      ~OpScope() { tCurrentOp = saved; }
    } scope(opNames().intern(op));
    work();
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) check(e, op, "kernel launch", d_.index);
  }

  // Launches the graph's ops again, in order (each one's launches, as when it was captured).
  void replay(const std::shared_ptr<const OpGraph>& graph) override {
    GLM_REQUIRE(!capturing(), "graphReplay", "cannot replay a graph while a capture is open");
    for (const RecordedOp& r : graph->ops) submit(r.op, r.work);
  }

  void synchronize() override {
    std::lock_guard<std::mutex> lock(d_.syncMutex);
    const char* op = "synchronize";
    setDevice(d_.index, op);
    check(d_.snapshotErrors(d_.syncSlot), op, "reading the device error record", d_.index);
    check(cudaStreamSynchronize(d_.stream), op, "a kernel", d_.index);
    std::string err = formatDeviceError(*d_.syncSlot);
    if (!err.empty()) throw GlmError(err);
  }

  void whenDone(std::function<void(const std::string&)> done) override {
    if (waiter_.stopped()) {
      done("the " + d_.name + " stream has been shut down (process exiting)");
      return;
    }
    cuda::DeviceError* slot = nullptr;
    try {
      const char* op = "whenDone";
      slot = d_.takeSlot(op);
      setDevice(d_.index, op);
      check(d_.snapshotErrors(slot), op, "reading the device error record", d_.index);
      DeviceState* d = &d_;
      afterStreamPoint(d_, waiter_, op, [d, slot, done](const std::string& cudaError) {
        std::string err = cudaError.empty() ? formatDeviceError(*slot) : cudaError;
        d->giveSlot(slot);
        done(err);
      });
    } catch (const std::exception& e) {
      // The slot may still be written by a copy that was enqueued: leak it rather than reuse it.
      done(e.what());
    }
  }

  void shutdown() override { waiter_.stop(); }

  Waiter& waiter() { return waiter_; }

 private:
  DeviceState& d_;
  Waiter waiter_;
};

void afterStreamPoint(DeviceState& d, Waiter& w, const char* op, Waiter::Callback fn) {
  cudaEvent_t ev = d.takeEvent(op);
  cudaError_t e = cudaEventRecord(ev, d.stream);
  if (e != cudaSuccess) {
    d.giveEvent(ev);
    check(e, op, "cudaEventRecord", d.index);
  }
  w.push(ev, std::move(fn));
}

// Creates the state of device `index` (which exists); throws when this build cannot run on it.
DeviceState* createDevice(int index, const char* op) {
  setDevice(index, op);
  cudaFuncAttributes attr;
  cudaError_t e = cudaFuncGetAttributes(&attr, probeKernel);
  if (e != cudaSuccess) {
    cudaGetLastError();
    cudaDeviceProp p;
    std::string what = "cuda:" + std::to_string(index);
    if (cudaGetDeviceProperties(&p, index) == cudaSuccess)
      what += " (" + std::string(p.name) + ", compute capability " + std::to_string(p.major) + "." +
              std::to_string(p.minor) + ")";
    cudaGetLastError();
    GLM_FAIL(op, what << " cannot run this build of glm-native, compiled for CUDA architectures " << GLM_CUDA_ARCHS
                      << ": " << cudaErrorText(e));
  }
  auto* d = new DeviceState();  // leaked on purpose, see the file comment
  d->index = index;
  d->name = "cuda:" + std::to_string(index);
  check(cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking), op, "cudaStreamCreate", index);
  void* rec = nullptr;
  check(cudaMalloc(&rec, sizeof(cuda::DeviceError)), op, "allocating the device error record", index);
  d->record = static_cast<cuda::DeviceError*>(rec);
  check(cudaMemsetAsync(d->record, 0, sizeof(cuda::DeviceError), d->stream), op, "cudaMemsetAsync", index);
  void* slot = nullptr;
  check(cudaHostAlloc(&slot, sizeof(cuda::DeviceError), cudaHostAllocPortable), op, "cudaHostAlloc", index);
  d->syncSlot = static_cast<cuda::DeviceError*>(slot);
  std::memset(d->syncSlot, 0, sizeof(cuda::DeviceError));
  d->allocator = new CachingAllocator(d->name.c_str(), kDeviceFns[index].alloc, kDeviceFns[index].free);
  d->streamObj = new CudaStream(*d);
  return d;
}

// The state of a usable device, created on first use.
DeviceState& state(int index, const char* op) {
  const Probe& p = probe();
  GLM_REQUIRE(p.count > 0, op, "no CUDA device: " << p.reason);
  GLM_REQUIRE(index >= 0 && index < p.count, op,
              "cuda:" << index << " does not exist (" << p.count << (p.count == 1 ? " device)" : " devices)"));
  GLM_REQUIRE(index < kMaxDevices, op, "cuda:" << index << " is beyond the " << kMaxDevices << " devices glm-native supports");
  if (DeviceState* s = existing(index)) return *s;
  std::lock_guard<std::mutex> lock(gCreateMutex);
  if (DeviceState* s = existing(index)) return *s;
  DeviceState* s = createDevice(index, op);
  gDevices[index].store(s, std::memory_order_release);
  return *s;
}

std::vector<DeviceState*> allDevices() {
  std::vector<DeviceState*> v;
  for (int i = 0; i < kMaxDevices; i++)
    if (DeviceState* s = existing(i)) v.push_back(s);
  return v;
}

// ---------------------------------------------------------------------------------------------
// Transfers

// Host -> device through pinned staging, so the caller's buffer may change as soon as this returns.
void copyHostToDevice(DeviceState& d, void* dst, const void* src, size_t bytes, const char* op) {
  if (bytes == 0) return;
  void* pinned = pinnedAllocator().allocate(bytes);
  std::memcpy(pinned, src, bytes);
  setDevice(d.index, op);
  cudaError_t e = cudaMemcpyAsync(dst, pinned, bytes, cudaMemcpyHostToDevice, d.stream);
  if (e != cudaSuccess) {
    releasePinned(pinned);
    check(e, op, "cudaMemcpyAsync (host to device)", d.index);
  }
  afterStreamPoint(d, d.streamObj->waiter(), op, [pinned](const std::string&) { releasePinned(pinned); });
}

// The pinned buffer, error slot and event of one device -> host copy. Released once nothing can
// write them any more (the destructor waits for the event if nobody did).
struct DeviceToHost {
  DeviceState& d;
  void* host = nullptr;
  cuda::DeviceError* slot = nullptr;
  cudaEvent_t event = nullptr;
  bool enqueued = false, recorded = false, waited = false;

  explicit DeviceToHost(DeviceState& dev) : d(dev) {}
  ~DeviceToHost() {
    if (enqueued && !waited) {
      cudaSetDevice(d.index);
      if (recorded) cudaEventSynchronize(event);
      else cudaStreamSynchronize(d.stream);
      cudaGetLastError();
    }
    if (event) d.giveEvent(event);
    if (slot) d.giveSlot(slot);
    if (host) releasePinned(host);
  }

  // Waits for the copy; throws the device's asynchronous or deferred error, if any.
  void wait(const char* op) {
    cudaSetDevice(d.index);
    cudaError_t e = cudaEventSynchronize(event);
    waited = true;
    check(e, op, "an earlier kernel or the copy to the host", d.index);
    std::string err = formatDeviceError(*slot);
    if (!err.empty()) throw GlmError(err);
  }
};

void copyDeviceToHost(DeviceState& d, const TensorRef& dst, const TensorRef& src, const char* op) {
  const size_t bytes = src.nbytes();
  auto x = std::make_shared<DeviceToHost>(d);
  x->host = pinnedAllocator().allocate(bytes);
  x->slot = d.takeSlot(op);
  x->event = d.takeEvent(op);
  setDevice(d.index, op);
  x->enqueued = true;
  // Enqueued now, in the GPU's order: later GPU ops cannot change what is read.
  if (bytes) check(cudaMemcpyAsync(x->host, src.raw(), bytes, cudaMemcpyDeviceToHost, d.stream), op,
                   "cudaMemcpyAsync (device to host)", d.index);
  check(d.snapshotErrors(x->slot), op, "reading the device error record", d.index);
  check(cudaEventRecord(x->event, d.stream), op, "cudaEventRecord", d.index);
  x->recorded = true;
  // The CPU side runs in the CPU stream's order: after every CPU op already queued on dst.
  TensorRef out = dst;
  streamFor(dst.device()).submit(op, [x, out, bytes, op] {
    x->wait(op);
    if (bytes) std::memcpy(out.raw(), x->host, bytes);
  });
}

void copyDeviceToDevice(const TensorRef& dst, const TensorRef& src, const char* op) {
  const size_t bytes = src.nbytes();
  DeviceState& sd = state(src.device().index, op);
  DeviceState& dd = state(dst.device().index, op);
  if (bytes == 0) return;
  if (&sd == &dd) {
    setDevice(sd.index, op);
    check(cudaMemcpyAsync(dst.raw(), src.raw(), bytes, cudaMemcpyDeviceToDevice, sd.stream), op, "cudaMemcpyAsync",
          sd.index);
    return;
  }
  // Across GPUs: the destination stream waits for the source's earlier work, and the source stream
  // waits for the copy before it may reuse the source's memory.
  cudaEvent_t ready = sd.takeEvent(op), copied = dd.takeEvent(op);
  setDevice(sd.index, op);
  check(cudaEventRecord(ready, sd.stream), op, "cudaEventRecord", sd.index);
  setDevice(dd.index, op);
  check(cudaStreamWaitEvent(dd.stream, ready, 0), op, "cudaStreamWaitEvent", dd.index);
  check(cudaMemcpyPeerAsync(dst.raw(), dd.index, src.raw(), sd.index, bytes, dd.stream), op, "cudaMemcpyPeerAsync",
        dd.index);
  check(cudaEventRecord(copied, dd.stream), op, "cudaEventRecord", dd.index);
  setDevice(sd.index, op);
  check(cudaStreamWaitEvent(sd.stream, copied, 0), op, "cudaStreamWaitEvent", sd.index);
  // Events go back to their pools once the copy is done; an event may be re-recorded any time, but
  // waiting keeps the pools from growing while copies are in flight.
  DeviceState *from = &sd, *to = &dd;
  afterStreamPoint(dd, dd.streamObj->waiter(), op, [from, ready, to, copied](const std::string&) {
    from->giveEvent(ready);
    to->giveEvent(copied);
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// cuda_api.h

bool cudaCompiled() { return true; }
int cudaDeviceCount() { return probe().count; }
std::string cudaUnavailableReason() { return probe().reason; }

CudaDeviceInfo cudaDeviceInfo(int index) {
  const Probe& p = probe();
  GLM_REQUIRE(index >= 0 && index < p.count, "devices", "cuda:" << index << " does not exist (" << p.count << " devices)");
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, index), "devices", "cudaGetDeviceProperties", index);
  CudaDeviceInfo info;
  info.name = prop.name;
  info.totalMemory = prop.totalGlobalMem;
  info.major = prop.major;
  info.minor = prop.minor;
  info.multiprocessors = prop.multiProcessorCount;
  return info;
}

void cudaRequireDevice(int index, const char* op) { state(index, op); }

CachingAllocator& cudaAllocator(int index) { return *state(index, "alloc").allocator; }

void cudaSetPoison(int index, bool on) {
  DeviceState& d = state(index, "setPoison");
  d.allocator->setPoison(on, kDeviceFns[index].poison);
}

Stream& cudaStreamFor(int index) { return *state(index, "stream").streamObj; }
void* cudaStreamHandle(int index) { return state(index, "stream").stream; }

void cudaSynchronizeAllStreams() {
  std::string first;
  for (DeviceState* d : allDevices()) {
    try {
      d->streamObj->synchronize();
    } catch (const std::exception& e) {
      if (first.empty()) first = e.what();
    }
  }
  if (!first.empty()) throw GlmError(first);
}

void cudaShutdownAllStreams() {
  for (DeviceState* d : allDevices()) d->streamObj->shutdown();
}

void cudaCopyTensor(const TensorRef& dst, const TensorRef& src) {
  const char* op = "copy";
  GLM_REQUIRE(dst.nbytes() == src.nbytes(), op,
              "argument 'dst': expected " << src.nbytes() << " bytes (as 'src'), got " << dst.nbytes());
  const Device dd = dst.device(), sd = src.device();
  if (sd.isCpu() && dd.isCuda()) {
    DeviceState& d = state(dd.index, op);
    streamFor(sd).synchronize();  // src holds what every CPU op queued before has written
    copyHostToDevice(d, dst.raw(), src.raw(), src.nbytes(), op);
  } else if (sd.isCuda() && dd.isCpu()) {
    copyDeviceToHost(state(sd.index, op), dst, src, op);
  } else if (sd.isCuda() && dd.isCuda()) {
    copyDeviceToDevice(dst, src, op);
  } else {
    GLM_FAIL(op, "cudaCopyTensor needs a GPU tensor, got " << dst.desc() << " and " << src.desc());
  }
}

void cudaFill(void* dst, int deviceIndex, const void* pattern, size_t patternBytes, size_t count) {
  const char* op = "fill";
  DeviceState& d = state(deviceIndex, op);
  GLM_REQUIRE(patternBytes == 1 || patternBytes == 2 || patternBytes == 4, op,
              "expected a pattern of 1, 2 or 4 bytes, got " << patternBytes);
  uint32_t bits = 0;
  std::memcpy(&bits, pattern, patternBytes);
  // By value: a capture (op_graph.h) keeps this work and runs it again later.
  cudaStream_t stream = d.stream;
  d.streamObj->submit(op, [=] { cuda::fillPattern(dst, bits, int(patternBytes), int64_t(count), stream); });
}

void cudaUpload(void* dst, int deviceIndex, const void* src, size_t bytes) {
  const char* op = "from";
  copyHostToDevice(state(deviceIndex, op), dst, src, bytes, op);
}

namespace cuda {

ErrorSink errorSinkFor(void* stream) {
  for (int i = 0; i < kMaxDevices; i++) {
    DeviceState* d = existing(i);
    if (d && d->stream == static_cast<cudaStream_t>(stream)) {
      unsigned tag = ++d->nextTag;
      if (tag == 0) tag = ++d->nextTag;
      return ErrorSink{d->record, tag, tCurrentOp};
    }
  }
  GLM_FAIL("cuda", "a kernel was launched on a stream that glm-native did not create");
}

int currentDeviceSMs() {
  static std::array<std::atomic<int>, kMaxDevices> cache{};
  int device = 0;
  cudaGetDevice(&device);
  if (device < 0 || device >= kMaxDevices) return 132;
  int n = cache[device].load(std::memory_order_relaxed);
  if (n == 0) {
    if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device) != cudaSuccess || n <= 0) {
      cudaGetLastError();
      n = 132;
    }
    cache[device].store(n, std::memory_order_relaxed);
  }
  return n;
}

ScratchBuffer::ScratchBuffer(size_t bytes) : device_(0), ptr_(nullptr) {
  cudaGetDevice(&device_);
  ptr_ = cudaAllocator(device_).allocate(bytes);
}

ScratchBuffer::~ScratchBuffer() {
  if (DeviceState* d = existing(device_)) d->allocator->free(ptr_);
}

void fillPattern(void* out, uint32_t pattern, int patternBytes, int64_t count, void* stream);

}  // namespace cuda
}  // namespace glm
