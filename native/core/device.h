// A device is where a tensor's memory lives and where its ops run: the CPU or one CUDA GPU.
#pragma once
#include <string>

namespace glm {

enum class DeviceType : int { CPU = 0, CUDA = 1 };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  bool isCpu() const { return type == DeviceType::CPU; }
  bool isCuda() const { return type == DeviceType::CUDA; }
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
  std::string str() const { return isCpu() ? "cpu" : "cuda:" + std::to_string(index); }
};

// Parses "cpu", "cuda" (= cuda:0) or "cuda:N". Returns false on anything else.
bool parseDevice(const std::string& s, Device* out);

}  // namespace glm
