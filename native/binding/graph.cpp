// JS bindings of op graphs (core/op_graph.h): open a capture on a device, close it into a graph
// handle, replay a graph, free it.
#include "../core/error.h"
#include "../core/op_graph.h"
#include "../core/stream.h"
#include "args.h"
#include "registry.h"

namespace glm {
namespace {

// What a JS graph handle (a Napi::External) points at. The tag tells it from other externals.
struct GraphHandle {
  static constexpr uint32_t kTag = 0x676c6d67;  // "glmg"
  uint32_t tag = kTag;
  std::shared_ptr<OpGraph> graph;
};

GraphHandle& unwrapGraph(const Napi::Value& v, const char* op) {
  GLM_REQUIRE(v.IsExternal(), op, "argument 'graph': expected a graph handle from graphEnd");
  auto* h = v.As<Napi::External<GraphHandle>>().Data();
  GLM_REQUIRE(h && h->tag == GraphHandle::kTag, op, "argument 'graph': expected a graph handle from graphEnd");
  return *h;
}

// graphBegin(device): every op submitted to the device from now on is also recorded.
Napi::Value GraphBegin(const Napi::CallbackInfo& info) {
  const char* op = "graphBegin";
  const Device dev = deviceArg(info[0], op);
  streamFor(dev).beginCapture(op, dev);
  return info.Env().Undefined();
}

// graphEnd(device) -> graph handle holding the ops recorded since graphBegin.
Napi::Value GraphEnd(const Napi::CallbackInfo& info) {
  const char* op = "graphEnd";
  const Device dev = deviceArg(info[0], op);
  auto* h = new GraphHandle();
  try {
    h->graph = streamFor(dev).endCapture(op);
  } catch (...) {
    delete h;
    throw;
  }
  return Napi::External<GraphHandle>::New(info.Env(), h, [](Napi::Env, GraphHandle* p) { delete p; });
}

// graphReplay(graph): queues the graph's ops again on its device.
Napi::Value GraphReplay(const Napi::CallbackInfo& info) {
  const char* op = "graphReplay";
  GraphHandle& h = unwrapGraph(info[0], op);
  GLM_REQUIRE(h.graph, op, "argument 'graph': the graph has been disposed");
  streamFor(h.graph->device).replay(h.graph);
  return info.Env().Undefined();
}

// graphDispose(graph): lets go of the graph's ops and so of the tensors they hold (once queued
// replays have run).
Napi::Value GraphDispose(const Napi::CallbackInfo& info) {
  unwrapGraph(info[0], "graphDispose").graph.reset();
  return info.Env().Undefined();
}

// graphOps(graph) -> the number of recorded ops (0 once disposed).
Napi::Value GraphOps(const Napi::CallbackInfo& info) {
  GraphHandle& h = unwrapGraph(info[0], "graphOps");
  return Napi::Number::New(info.Env(), h.graph ? double(h.graph->ops.size()) : 0.0);
}

GLM_BINDING("graphBegin", GraphBegin);
GLM_BINDING("graphEnd", GraphEnd);
GLM_BINDING("graphReplay", GraphReplay);
GLM_BINDING("graphDispose", GraphDispose);
GLM_BINDING("graphOps", GraphOps);

}  // namespace
}  // namespace glm
