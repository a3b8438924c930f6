// See op_profile.h.
#include "op_profile.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace glm {

OpProfile::OpProfile() : enabled_(std::getenv("GLM_PROFILE_OPS") != nullptr) {}

void OpProfile::add(const char* op, int64_t nanos) {
  std::lock_guard<std::mutex> lock(m_);
  Entry& e = entries_[op];
  e.calls++;
  e.nanos += nanos;
}

void OpProfile::print() {
  std::lock_guard<std::mutex> lock(m_);
  if (!enabled_ || entries_.empty()) return;
  std::vector<std::pair<std::string, Entry>> rows(entries_.begin(), entries_.end());
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.second.nanos > b.second.nanos; });
  int64_t total = 0;
  for (const auto& r : rows) total += r.second.nanos;
  std::fprintf(stderr, "glm-native cpu stream, time per op (GLM_PROFILE_OPS): %.1f ms in all\n", total / 1e6);
  std::fprintf(stderr, "%-28s %10s %12s %8s %12s\n", "op", "calls", "total ms", "share", "us per call");
  for (const auto& [op, e] : rows)
    std::fprintf(stderr, "%-28s %10lld %12.2f %7.2f%% %12.1f\n", op.c_str(), static_cast<long long>(e.calls),
                 e.nanos / 1e6, 100.0 * double(e.nanos) / double(std::max<int64_t>(total, 1)),
                 e.nanos / 1e3 / double(e.calls));
}

}  // namespace glm
