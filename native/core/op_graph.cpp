// Opening and closing a capture on a stream; see op_graph.h. Replay is each stream's own.
#include "op_graph.h"

#include "error.h"
#include "stream.h"

namespace glm {

void Stream::beginCapture(const char* op, Device device) {
  GLM_REQUIRE(!capture_, op, "a capture is already open on " << device.str() << " (captures do not nest)");
  capture_ = std::make_shared<OpGraph>();
  capture_->device = device;
}

std::shared_ptr<OpGraph> Stream::endCapture(const char* op) {
  GLM_REQUIRE(capture_, op, "no capture is open on this device");
  std::shared_ptr<OpGraph> g = std::move(capture_);
  capture_.reset();
  return g;
}

}  // namespace glm
