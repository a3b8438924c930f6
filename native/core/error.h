// The one error type native code throws. Every failure names the op; the binding turns it into a
// JS Error, so native code never aborts the process.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace glm {

class GlmError : public std::runtime_error {
 public:
  explicit GlmError(const std::string& msg) : std::runtime_error(msg) {}
};

}  // namespace glm

// GLM_REQUIRE(cond, op, message-stream): throws "op: message" when cond is false.
// Usage: GLM_REQUIRE(a.rank() == 2, "matmul", "a must be 2-D, got shape " << shapeStr(a.shape));
#define GLM_REQUIRE(cond, op, msg)                        \
  do {                                                    \
    if (!(cond)) {                                        \
      std::ostringstream glm_require_ss_;                 \
      glm_require_ss_ << op << ": " << msg;               \
      throw ::glm::GlmError(glm_require_ss_.str());       \
    }                                                     \
  } while (0)

#define GLM_FAIL(op, msg) GLM_REQUIRE(false, op, msg)
