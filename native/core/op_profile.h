// Time per op on the CPU stream, for finding where a training or decode step goes: with
// GLM_PROFILE_OPS set, every op the stream runs (queued or inline) is timed by its name, and the
// totals are printed to stderr when the process exits, largest first. Off (one branch per op)
// otherwise.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace glm {

class OpProfile {
 public:
  OpProfile();
  bool enabled() const { return enabled_; }
  void add(const char* op, int64_t nanos);
  // Prints the table to stderr (nothing when disabled or empty).
  void print();

 private:
  struct Entry {
    int64_t calls = 0;
    int64_t nanos = 0;
  };
  const bool enabled_;
  std::mutex m_;
  std::map<std::string, Entry> entries_;
};

}  // namespace glm
