// Op bindings register themselves here, one static line per function, so adding an op family
// touches only its own files. addon.cpp exports every registered function at load time.
#pragma once
#include <napi.h>

#include <utility>
#include <vector>

namespace glm {

using BindingFn = Napi::Value (*)(const Napi::CallbackInfo&);

struct BindingEntry {
  const char* name;
  BindingFn fn;
};

std::vector<BindingEntry>& bindingRegistry();

inline bool registerBinding(const char* name, BindingFn fn) {
  bindingRegistry().push_back({name, fn});
  return true;
}

}  // namespace glm

#define GLM_BINDING_CAT2(a, b) a##b
#define GLM_BINDING_CAT(a, b) GLM_BINDING_CAT2(a, b)
// GLM_BINDING("opName", Function): exports Function as native.opName.
#define GLM_BINDING(name, fn) \
  static const bool GLM_BINDING_CAT(glm_binding_, __LINE__) = ::glm::registerBinding(name, fn)
