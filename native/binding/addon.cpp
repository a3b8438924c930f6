// Module entry: the native tensor handle, tensor creation/reading/copying, devices and memory
// statistics, and the export of every op binding registered with GLM_BINDING.
#include <napi.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "../core/cpu_features.h"
#include "../core/cuda_api.h"
#include "../core/error.h"
#include "../core/stream.h"
#include "../core/tensor.h"
#include "../core/threadpool.h"
#include "../cpu/convert.h"
#include "../ops/tensor_ops.h"
#include "args.h"
#include "registry.h"

namespace glm {

CachingAllocator& cpuAllocator();

std::vector<BindingEntry>& bindingRegistry() {
  static std::vector<BindingEntry> r;
  return r;
}

namespace {

// The JS-visible handle of a tensor. The TypeScript Tensor class wraps one of these.
class NativeTensor : public Napi::ObjectWrap<NativeTensor> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "NativeTensor",
                       {InstanceAccessor<&NativeTensor::shape>("shape"),
                        InstanceAccessor<&NativeTensor::dtype>("dtype"),
                        InstanceAccessor<&NativeTensor::device>("device"),
                        InstanceAccessor<&NativeTensor::disposed>("disposed"),
                        InstanceAccessor<&NativeTensor::nbytes>("nbytes"),
                        InstanceMethod<&NativeTensor::dispose>("dispose")});
  }

  explicit NativeTensor(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeTensor>(info) {}
  ~NativeTensor() override { release(nullptr); }
  // The garbage collector is the safety net, not the plan: dispose() and scopes free deterministically.
  void Finalize(Napi::Env env) override { release(&env); }

  void set(Napi::Env env, TensorRef t) {
    ref_ = std::move(t);
    live_ = true;
    if (ref_.device().isCpu()) {
      external_ = static_cast<int64_t>(ref_.nbytes());
      Napi::MemoryManagement::AdjustExternalMemory(env, external_);
    }
  }
  bool live() const { return live_; }
  const TensorRef& ref() const { return ref_; }

  void release(Napi::Env* env) {
    if (!live_) return;
    live_ = false;
    ref_.storage.reset();
    if (env && external_) Napi::MemoryManagement::AdjustExternalMemory(*env, -external_);
    external_ = 0;
  }

 private:
  Napi::Value shape(const Napi::CallbackInfo& info) {
    auto arr = Napi::Array::New(info.Env(), ref_.shape.size());
    for (size_t i = 0; i < ref_.shape.size(); i++) arr.Set(i, Napi::Number::New(info.Env(), double(ref_.shape[i])));
    return arr;
  }
  Napi::Value dtype(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), dtypeName(ref_.dtype)); }
  Napi::Value device(const Napi::CallbackInfo& info) {
    return live_ ? Napi::String::New(info.Env(), ref_.device().str()) : info.Env().Null();
  }
  Napi::Value disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), !live_); }
  Napi::Value nbytes(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), double(ref_.nbytes())); }
  Napi::Value dispose(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    release(&env);
    return env.Undefined();
  }

  TensorRef ref_;
  bool live_ = false;
  int64_t external_ = 0;
};

struct AddonData {
  Napi::FunctionReference tensorCtor;
};

AddonData& addonData(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Device parseDeviceArg(const Napi::Value& v, const char* op) {
  GLM_REQUIRE(v.IsString(), op, "argument 'device': expected a device name such as \"cpu\" or \"cuda:0\"");
  std::string s = v.As<Napi::String>();
  Device d;
  GLM_REQUIRE(parseDevice(s, &d), op, "argument 'device': expected \"cpu\", \"cuda\" or \"cuda:N\", got \"" << s << "\"");
  if (d.isCuda()) cudaRequireDevice(d.index, op);
  return d;
}

DType parseDTypeArg(const Napi::Value& v, const char* op) {
  GLM_REQUIRE(v.IsString(), op, "argument 'dtype': expected \"f32\", \"bf16\" or \"i32\"");
  std::string s = v.As<Napi::String>();
  DType d;
  GLM_REQUIRE(parseDType(s, &d), op, "argument 'dtype': expected \"f32\", \"bf16\" or \"i32\", got \"" << s << "\"");
  return d;
}

// empty(shape, dtype, device) -> handle (contents undefined)
Napi::Value Empty(const Napi::CallbackInfo& info) {
  Args args(info, "empty");
  Shape shape = args.shape(0, "shape");
  DType dtype = parseDTypeArg(info[1], "empty");
  Device dev = parseDeviceArg(info[2], "empty");
  return wrapTensor(info.Env(), emptyTensor(shape, dtype, dev));
}

// full(shape, dtype, device, value) -> handle with every element `value`. A CPU tensor is filled
// here, on the calling thread: its storage is new, so no queued op can see it yet. Elsewhere the
// fill is queued on the device's stream, as fill() does.
Napi::Value Full(const Napi::CallbackInfo& info) {
  const char* op = "empty";  // the shape, dtype and device are empty()'s, named as Tensor.full's were before
  Args args(info, op);
  Shape shape = args.shape(0, "shape");
  DType dtype = parseDTypeArg(info[1], op);
  Device dev = parseDeviceArg(info[2], op);
  const double value = Args(info, "fill").number(3, "value");
  GLM_REQUIRE(!std::isnan(value) || dtype != DType::I32, "fill", "argument 'value': NaN cannot fill an i32 tensor");
  TensorRef t = emptyTensor(shape, dtype, dev);
  // Through the stream like any op: a large fill run here would make the JS thread queue for the
  // thread pool behind whatever kernel the stream worker is running (tens of milliseconds inside a
  // training step); a small one still runs inline when the stream is idle.
  fillTensor(t, value);
  return wrapTensor(info.Env(), std::move(t));
}

// The bytes of typed array `ta` as n elements of `dtype`: f32 and bf16 take a Float32Array (bf16 is
// rounded to nearest-even) or, for bf16, a Uint16Array of raw bits; i32 takes an Int32Array. Points
// into the array itself unless bf16 had to be converted into `converted`.
const void* typedArrayBytes(const Napi::TypedArray& ta, DType dtype, int64_t n, const char* op, const char* shapeDesc,
                            std::vector<uint8_t>* converted) {
  GLM_REQUIRE(int64_t(ta.ElementLength()) == n, op,
              "argument 'data': expected " << n << " elements for shape " << shapeDesc << ", got " << ta.ElementLength());
  const auto kind = ta.TypedArrayType();
  const uint8_t* src = static_cast<const uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  if (dtype == DType::F32) {
    GLM_REQUIRE(kind == napi_float32_array, op, "argument 'data': expected a Float32Array for dtype f32");
  } else if (dtype == DType::I32) {
    GLM_REQUIRE(kind == napi_int32_array, op, "argument 'data': expected an Int32Array for dtype i32");
  } else if (kind == napi_float32_array) {
    converted->resize(n * 2);
    const float* f = reinterpret_cast<const float*>(src);
    uint16_t* h = reinterpret_cast<uint16_t*>(converted->data());
    for (int64_t i = 0; i < n; i++) h[i] = f32ToBf16(f[i]);
    return converted->data();
  } else {
    GLM_REQUIRE(kind == napi_uint16_array, op,
                "argument 'data': expected a Float32Array (or Uint16Array of raw bits) for dtype bf16");
  }
  return src;
}

// Host data cannot enter a graph being captured (op_graph.h): it would silently become a constant.
void requireNotCapturing(Device dev, const char* op, const char* what) {
  GLM_REQUIRE(!streamFor(dev).capturing(), op,
              what << " while a graph is being captured on " << dev.str()
                   << " (create inputs before the capture and write them with upload before each replay)");
}

// fromData(typedArray, shape, dtype, device) -> handle (the data as for typedArrayBytes).
Napi::Value FromData(const Napi::CallbackInfo& info) {
  const char* op = "from";
  Args args(info, op);
  GLM_REQUIRE(info[0].IsTypedArray(), op, "argument 'data': expected a typed array");
  auto ta = info[0].As<Napi::TypedArray>();
  Shape shape = args.shape(1, "shape");
  DType dtype = parseDTypeArg(info[2], op);
  Device dev = parseDeviceArg(info[3], op);
  requireNotCapturing(dev, op, "a tensor made from host data");
  std::vector<uint8_t> converted;
  const void* bytes = typedArrayBytes(ta, dtype, shapeNumel(shape), op, shapeStr(shape).c_str(), &converted);
  TensorRef t = emptyTensor(shape, dtype, dev);
  if (t.nbytes()) {
    if (dev.isCpu()) std::memcpy(t.raw(), bytes, t.nbytes());  // a new storage: no op can see it yet
    else cudaUpload(t.raw(), dev.index, bytes, t.nbytes());
  }
  return wrapTensor(info.Env(), t);
}

// upload(dst, typedArray): writes host data (as for typedArrayBytes, dst's numel elements) into an
// existing tensor, in stream order: after every op queued before it, before every op after it.
// How a graph's inputs change between replays.
Napi::Value Upload(const Napi::CallbackInfo& info) {
  const char* op = "upload";
  Args args(info, op);
  TensorRef dst = args.tensor(0, "dst");
  GLM_REQUIRE(info[1].IsTypedArray(), op, "argument 'data': expected a typed array");
  const Device dev = dst.device();
  requireNotCapturing(dev, op, "an upload");
  std::vector<uint8_t> converted;
  const void* bytes = typedArrayBytes(info[1].As<Napi::TypedArray>(), dst.dtype, dst.numel(), op, shapeStr(dst.shape).c_str(), &converted);
  const size_t n = dst.nbytes();
  if (n == 0) return info.Env().Undefined();
  if (dev.isCuda()) {
    cudaUpload(dst.raw(), dev.index, bytes, n);  // stream-ordered (a pinned copy, cudaMemcpyAsync)
    return info.Env().Undefined();
  }
  std::vector<uint8_t> data(static_cast<const uint8_t*>(bytes), static_cast<const uint8_t*>(bytes) + n);
  Stream& s = streamFor(dev);
  auto work = [dst, data = std::move(data)] { std::memcpy(dst.raw(), data.data(), data.size()); };
  if (n <= (1u << 20)) s.submitSmall(op, std::move(work));
  else s.submit(op, std::move(work));
  return info.Env().Undefined();
}

// The bytes of a tensor as JS sees them: f32 for f32 and bf16, i32 for i32.
std::vector<uint8_t> hostBytes(const TensorRef& t) {
  const int64_t n = t.numel();
  std::vector<uint8_t> out(n * 4);
  if (t.dtype == DType::BF16) {
    const uint16_t* h = t.data<uint16_t>();
    float* f = reinterpret_cast<float*>(out.data());
    for (int64_t i = 0; i < n; i++) f[i] = bf16ToF32(h[i]);
  } else if (n) {
    std::memcpy(out.data(), t.raw(), n * 4);
  }
  return out;
}

// A CPU tensor with the same contents as `t` (t itself when it is on the CPU), ordered on the streams.
TensorRef onCpu(const TensorRef& t) {
  if (t.device().isCpu()) return t;
  TensorRef host = emptyTensor(t.shape, t.dtype, Device{});
  cudaCopyTensor(host, t);
  return host;
}

Napi::ArrayBuffer toArrayBuffer(Napi::Env env, std::vector<uint8_t>* bytes) {
  auto ab = Napi::ArrayBuffer::New(env, bytes->size());
  if (!bytes->empty()) std::memcpy(ab.Data(), bytes->data(), bytes->size());
  return ab;
}

// readSync(handle) -> ArrayBuffer. Blocks the JS thread: for tests and debugging.
Napi::Value ReadSync(const Napi::CallbackInfo& info) {
  Args args(info, "readSync");
  TensorRef t0 = args.tensor(0, "tensor");
  requireNotCapturing(t0.device(), "readSync", "a read");
  TensorRef t = onCpu(t0);
  streamFor(Device{}).synchronize();
  auto bytes = hostBytes(t);
  return toArrayBuffer(info.Env(), &bytes);
}

struct ReadResult {
  std::vector<uint8_t> bytes;
  std::string error;
};

void resolveRead(Napi::Env env, Napi::Function, Napi::Promise::Deferred* deferred, ReadResult* result) {
  if (env != nullptr) {
    if (result->error.empty()) deferred->Resolve(toArrayBuffer(env, &result->bytes));
    else deferred->Reject(Napi::Error::New(env, "glm-native: " + result->error).Value());
  }
  delete result;
}

using ReadTsfn = Napi::TypedThreadSafeFunction<Napi::Promise::Deferred, ReadResult, resolveRead>;

// read(handle) -> Promise<ArrayBuffer>, resolved once every op before it has run.
Napi::Value Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "read");
  TensorRef t0 = args.tensor(0, "tensor");
  requireNotCapturing(t0.device(), "read", "a read");
  TensorRef t = onCpu(t0);
  auto* deferred = new Napi::Promise::Deferred(env);
  Napi::Promise promise = deferred->Promise();
  // The TSFN keeps the event loop alive until the read resolves; released after its one call.
  ReadTsfn tsfn = ReadTsfn::New(env, "glm-read", 0, 1, deferred,
                                [](Napi::Env, void*, Napi::Promise::Deferred* d) { delete d; });
  streamFor(Device{}).whenDone([tsfn, t](const std::string& error) mutable {
    auto* result = new ReadResult();
    result->error = error;
    if (error.empty()) result->bytes = hostBytes(t);
    if (tsfn.BlockingCall(result) != napi_ok) delete result;
    tsfn.Release();
  });
  return promise;
}

// view(handle, shape, offsetElements) -> a handle sharing the storage.
Napi::Value View(const Napi::CallbackInfo& info) {
  const char* op = "view";
  Args args(info, op);
  TensorRef t = args.tensor(0, "tensor");
  Shape shape = args.shape(1, "shape");
  int64_t offset = args.integer(2, "offset");
  const int64_t avail = int64_t(t.storage->bytes() / dtypeSize(t.dtype));
  GLM_REQUIRE(offset >= 0 && t.offset + offset + shapeNumel(shape) <= avail, op,
              "a view of shape " << shapeStr(shape) << " at offset " << offset << " does not fit in a tensor of shape "
                                 << shapeStr(t.shape));
  TensorRef v = t;
  v.shape = shape;
  v.offset = t.offset + offset;
  return wrapTensor(info.Env(), v);
}

// copy(dst, src): same shape; across devices (same dtype) or across dtypes (same device).
Napi::Value Copy(const Napi::CallbackInfo& info) {
  Args args(info, "copy");
  TensorRef dst = args.tensor(0, "dst"), src = args.tensor(1, "src");
  if (dst.device() != src.device()) {
    requireNotCapturing(dst.device(), "copy", "a copy between devices");
    requireNotCapturing(src.device(), "copy", "a copy between devices");
  }
  copyTensor(dst, src);
  return info.Env().Undefined();
}

// fill(dst, value)
Napi::Value Fill(const Napi::CallbackInfo& info) {
  Args args(info, "fill");
  fillTensor(args.tensor(0, "dst"), args.number(1, "value"));
  return info.Env().Undefined();
}

Napi::Value Synchronize(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && !info[0].IsUndefined()) streamFor(parseDeviceArg(info[0], "synchronize")).synchronize();
  else synchronizeAll();
  return info.Env().Undefined();
}

Napi::Value Devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto arr = Napi::Array::New(env);
  auto cpu = Napi::Object::New(env);
  cpu.Set("name", "cpu");
  cpu.Set("type", "cpu");
  cpu.Set("description", "CPU (" + cpuFeatures().str() + ")");
  cpu.Set("threads", numThreads());
  arr.Set(uint32_t(0), cpu);
  int n = cudaDeviceCount();
  for (int i = 0; i < n; i++) {
    CudaDeviceInfo d = cudaDeviceInfo(i);
    auto o = Napi::Object::New(env);
    o.Set("name", "cuda:" + std::to_string(i));
    o.Set("type", "cuda");
    o.Set("description", d.name);
    o.Set("totalMemory", double(d.totalMemory));
    o.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    o.Set("multiprocessors", d.multiprocessors);
    arr.Set(uint32_t(i + 1), o);
  }
  return arr;
}

Napi::Value Memory(const Napi::CallbackInfo& info) {
  Device dev = parseDeviceArg(info[0], "memory");
  MemoryStats s = dev.isCpu() ? cpuAllocator().stats() : cudaAllocator(dev.index).stats();
  auto o = Napi::Object::New(info.Env());
  o.Set("allocated", double(s.allocated));
  o.Set("reserved", double(s.reserved));
  o.Set("peakAllocated", double(s.peakAllocated));
  o.Set("allocCount", double(s.allocCount));
  o.Set("systemAllocCount", double(s.systemAllocCount));
  return o;
}

Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  Device dev = parseDeviceArg(info[0], "emptyCache");
  streamFor(dev).synchronize();
  (dev.isCpu() ? cpuAllocator() : cudaAllocator(dev.index)).emptyCache();
  return info.Env().Undefined();
}

void cpuPoison(void* p, size_t n) { std::memset(p, 0xFF, n); }

// setPoison(device, on): fill every new allocation with NaN bytes (tests use this).
Napi::Value SetPoison(const Napi::CallbackInfo& info) {
  Device dev = parseDeviceArg(info[0], "setPoison");
  Args args(info, "setPoison");
  bool on = args.boolean(1, "on");
  streamFor(dev).synchronize();
  if (dev.isCpu()) cpuAllocator().setPoison(on, cpuPoison);
  else cudaSetPoison(dev.index, on);
  return info.Env().Undefined();
}

Napi::Value NumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), numThreads()); }

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Args args(info, "setNumThreads");
  int64_t n = args.integer(0, "threads");
  GLM_REQUIRE(n >= 1 && n <= 1024, "setNumThreads", "argument 'threads': expected an integer in [1, 1024], got " << n);
  streamFor(Device{}).synchronize();  // no kernel may be running on the pool being replaced
  setNumThreads(int(n));
  return info.Env().Undefined();
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  auto o = Napi::Object::New(info.Env());
  o.Set("cuda", cudaCompiled());
  o.Set("cudaDevices", cudaDeviceCount());
  o.Set("cudaUnavailableReason", cudaUnavailableReason());
#ifdef GLM_CUDA_ARCHS
  o.Set("cudaArchitectures", GLM_CUDA_ARCHS);
#else
  o.Set("cudaArchitectures", "");
#endif
  o.Set("cpuFeatures", cpuFeatures().str());
  o.Set("cpuLevel", cpuLevel() == 2 ? "avx512" : cpuLevel() == 1 ? "avx2" : "scalar");
  o.Set("napiVersion", NAPI_VERSION);
  return o;
}

// Every exported function goes through here: native errors become JS errors, never aborts.
Napi::Value guarded(const Napi::CallbackInfo& info) {
  auto fn = reinterpret_cast<BindingFn>(info.Data());
  try {
    return fn(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("glm-native: ") + e.what());
  }
}

GLM_BINDING("empty", Empty);
GLM_BINDING("full", Full);
GLM_BINDING("fromData", FromData);
GLM_BINDING("upload", Upload);
GLM_BINDING("readSync", ReadSync);
GLM_BINDING("read", Read);
GLM_BINDING("view", View);
GLM_BINDING("copy", Copy);
GLM_BINDING("fill", Fill);
GLM_BINDING("synchronize", Synchronize);
GLM_BINDING("devices", Devices);
GLM_BINDING("memory", Memory);
GLM_BINDING("emptyCache", EmptyCache);
GLM_BINDING("numThreads", NumThreads);
GLM_BINDING("setNumThreads", SetNumThreads);
GLM_BINDING("buildInfo", BuildInfo);
GLM_BINDING("setPoison", SetPoison);

}  // namespace

TensorRef unwrapTensor(const Napi::Value& v, const char* op, const char* name) {
  Napi::Env env = v.Env();
  bool ok = v.IsObject() && v.As<Napi::Object>().InstanceOf(addonData(env).tensorCtor.Value());
  GLM_REQUIRE(ok, op, "argument '" << name << "': expected a tensor");
  NativeTensor* nt = NativeTensor::Unwrap(v.As<Napi::Object>());
  GLM_REQUIRE(nt->live(), op, "argument '" << name << "': the tensor has been disposed");
  return nt->ref();
}

Napi::Object wrapTensor(Napi::Env env, TensorRef t) {
  Napi::Object obj = addonData(env).tensorCtor.New({});
  NativeTensor::Unwrap(obj)->set(env, std::move(t));
  return obj;
}

Napi::Value Args::at(size_t i, const char* name) const {
  GLM_REQUIRE(i < info_.Length(), op_, "missing argument '" << name << "'");
  return info_[i];
}

std::optional<TensorRef> Args::optTensor(size_t i, const char* name) const {
  if (i >= info_.Length() || info_[i].IsNull() || info_[i].IsUndefined()) return std::nullopt;
  return unwrapTensor(info_[i], op_, name);
}

double Args::number(size_t i, const char* name) const {
  Napi::Value v = at(i, name);
  GLM_REQUIRE(v.IsNumber(), op_, "argument '" << name << "': expected a number");
  return v.As<Napi::Number>().DoubleValue();
}

double Args::finite(size_t i, const char* name) const {
  double d = number(i, name);
  GLM_REQUIRE(std::isfinite(d), op_, "argument '" << name << "': expected a finite number, got " << d);
  return d;
}

int64_t Args::integer(size_t i, const char* name) const {
  double d = number(i, name);
  GLM_REQUIRE(std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.0e15, op_,
              "argument '" << name << "': expected an integer, got " << d);
  return int64_t(d);
}

bool Args::boolean(size_t i, const char* name) const {
  Napi::Value v = at(i, name);
  GLM_REQUIRE(v.IsBoolean(), op_, "argument '" << name << "': expected a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string Args::string(size_t i, const char* name) const {
  Napi::Value v = at(i, name);
  GLM_REQUIRE(v.IsString(), op_, "argument '" << name << "': expected a string");
  return v.As<Napi::String>();
}

Shape Args::shape(size_t i, const char* name) const {
  Napi::Value v = at(i, name);
  GLM_REQUIRE(v.IsArray(), op_, "argument '" << name << "': expected an array of dimensions");
  auto arr = v.As<Napi::Array>();
  GLM_REQUIRE(arr.Length() <= 8, op_, "argument '" << name << "': at most 8 dimensions are supported, got " << arr.Length());
  Shape s;
  int64_t total = 1;
  for (uint32_t k = 0; k < arr.Length(); k++) {
    Napi::Value d = arr.Get(k);
    GLM_REQUIRE(d.IsNumber(), op_, "argument '" << name << "': dimension " << k << " is not a number");
    double x = d.As<Napi::Number>().DoubleValue();
    GLM_REQUIRE(std::isfinite(x) && std::floor(x) == x && x >= 0 && x < 4.0e12, op_,
                "argument '" << name << "': dimension " << k << " must be a non-negative integer, got " << x);
    s.push_back(int64_t(x));
    total *= std::max<int64_t>(1, int64_t(x));
    GLM_REQUIRE(total < (int64_t(1) << 40), op_, "argument '" << name << "': too many elements");
  }
  return s;
}

Device deviceArg(const Napi::Value& v, const char* op) { return parseDeviceArg(v, op); }

}  // namespace glm

static void shutdownStreams(void*) { glm::shutdownAll(); }

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new glm::AddonData();
  Napi::Function ctor = glm::NativeTensor::define(env);
  data->tensorCtor = Napi::Persistent(ctor);
  env.SetInstanceData(data);
  exports.Set("NativeTensor", ctor);
  for (const auto& e : glm::bindingRegistry()) {
    exports.Set(e.name, Napi::Function::New(env, glm::guarded, e.name, reinterpret_cast<void*>(e.fn)));
  }
  napi_add_env_cleanup_hook(env, shutdownStreams, nullptr);
  return exports;
}

NODE_API_MODULE(glm_native, Init)
