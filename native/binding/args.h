// Unpacking of JS arguments for op bindings, with errors that name the op and the argument.
// The TypeScript layer validates first with friendlier messages; this is the native re-check.
#pragma once
#include <napi.h>

#include <optional>
#include <string>

#include "../core/tensor.h"

namespace glm {

// Returns the TensorRef behind a JS native tensor handle; throws if `v` is not one or is disposed.
TensorRef unwrapTensor(const Napi::Value& v, const char* op, const char* name);
// Wraps a TensorRef in a new JS native tensor handle.
Napi::Object wrapTensor(Napi::Env env, TensorRef t);
// A device name ("cpu", "cuda:N") as a Device; a CUDA device must exist.
Device deviceArg(const Napi::Value& v, const char* op);

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* op) : info_(info), op_(op) {}
  TensorRef tensor(size_t i, const char* name) const { return unwrapTensor(at(i, name), op_, name); }
  // null or undefined -> nullopt
  std::optional<TensorRef> optTensor(size_t i, const char* name) const;
  double number(size_t i, const char* name) const;
  // A finite number; NaN or infinity is an error.
  double finite(size_t i, const char* name) const;
  int64_t integer(size_t i, const char* name) const;
  bool boolean(size_t i, const char* name) const;
  std::string string(size_t i, const char* name) const;
  Shape shape(size_t i, const char* name) const;
  Napi::Env env() const { return info_.Env(); }
  const Napi::CallbackInfo& info() const { return info_; }

 private:
  Napi::Value at(size_t i, const char* name) const;
  const Napi::CallbackInfo& info_;
  const char* op_;
};

}  // namespace glm
