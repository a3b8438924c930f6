// Dispatch for the optimizer ops; see optim.h. Every tensor of an AdamW step is re-validated here
// (dtype, shape, device, aliasing) before one op is queued for the whole list.
#include "optim.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "checks.h"
#include "float_types.h"
#ifdef GLM_WITH_CUDA
#include "../cuda/optim.h"
#endif

namespace glm {
namespace {

std::string item(const char* list, size_t k) { return std::string(list) + "[" + std::to_string(k) + "]"; }

void requireScalarF32(const char* op, const char* name, const TensorRef& t, Device dev) {
  requireDType(op, name, t, {DType::F32});
  requireSameDevice(op, name, t, dev);
  GLM_REQUIRE(t.numel() == 1, op, "argument '" << name << "': expected a one-element tensor, got shape " << shapeStr(t.shape));
}

void checkHyperParams(const char* op, const AdamWParams& hp) {
  GLM_REQUIRE(std::isfinite(hp.lr) && hp.lr >= 0, op, "argument 'lr': expected a finite number >= 0, got " << hp.lr);
  GLM_REQUIRE(hp.beta1 >= 0 && hp.beta1 < 1, op, "argument 'beta1': expected a number in [0, 1), got " << hp.beta1);
  GLM_REQUIRE(hp.beta2 >= 0 && hp.beta2 < 1, op, "argument 'beta2': expected a number in [0, 1), got " << hp.beta2);
  GLM_REQUIRE(std::isfinite(hp.eps) && hp.eps > 0, op, "argument 'eps': expected a finite number > 0, got " << hp.eps);
  GLM_REQUIRE(hp.step >= 1, op, "argument 'step': expected an integer >= 1, got " << hp.step);
}

// The bytes a tensor covers, and which argument it is ("params[3]").
struct ByteRange {
  uintptr_t begin, end;
  const char* list;
  size_t index;
};

ByteRange rangeOf(const TensorRef& t, const char* list, size_t k) {
  const uintptr_t b = reinterpret_cast<uintptr_t>(t.raw());
  return {b, b + t.nbytes(), list, k};
}

// No memory written by the step (params, m, v of every tensor) may be written twice or read as a
// gradient or the gradient scale: the tensors are updated in parallel. O(n log n) over the whole list.
void checkNoCrossOverlap(const char* op, const std::vector<TensorRef>& params, const std::vector<TensorRef>& grads,
                         const std::vector<TensorRef>& ms, const std::vector<TensorRef>& vs,
                         const std::optional<TensorRef>& gradScale) {
  std::vector<ByteRange> written;
  written.reserve(3 * params.size());
  for (size_t k = 0; k < params.size(); k++) {
    if (!params[k].nbytes()) continue;
    written.push_back(rangeOf(params[k], "params", k));
    written.push_back(rangeOf(ms[k], "m", k));
    written.push_back(rangeOf(vs[k], "v", k));
  }
  auto byBegin = [](const ByteRange& a, const ByteRange& b) { return a.begin < b.begin; };
  std::sort(written.begin(), written.end(), byBegin);
  for (size_t i = 1; i < written.size(); i++) {
    const ByteRange &a = written[i - 1], &b = written[i];
    GLM_REQUIRE(b.begin >= a.end, op,
                "argument '" << b.list << "[" << b.index << "]' shares memory with '" << a.list << "[" << a.index
                             << "]'; every tensor the step writes must be distinct (a parameter listed twice?)");
  }
  auto checkRead = [&](const ByteRange& r) {
    if (r.begin == r.end) return;
    // The written range starting last before r ends is the only one that can overlap it.
    auto it = std::lower_bound(written.begin(), written.end(), ByteRange{r.end, r.end, "", 0}, byBegin);
    if (it == written.begin()) return;
    --it;
    GLM_REQUIRE(it->end <= r.begin, op,
                "argument '" << r.list << (r.index == size_t(-1) ? "" : "[" + std::to_string(r.index) + "]")
                             << "' overlaps '" << it->list << "[" << it->index << "]', which the step writes");
  };
  for (size_t k = 0; k < grads.size(); k++) checkRead(rangeOf(grads[k], "grads", k));
  if (gradScale) checkRead(rangeOf(*gradScale, "gradScale", size_t(-1)));
}

}  // namespace

void adamwStepOp(const std::vector<TensorRef>& params, const std::vector<TensorRef>& grads,
                 const std::vector<TensorRef>& ms, const std::vector<TensorRef>& vs,
                 const std::vector<float>& weightDecays, const AdamWParams& hp,
                 const std::optional<TensorRef>& gradScale) {
  const char* op = "adamw";
  const size_t count = params.size();
  GLM_REQUIRE(grads.size() == count && ms.size() == count && vs.size() == count && weightDecays.size() == count, op,
              "expected as many grads, m, v and weight decays as params (" << count << "), got " << grads.size() << ", "
                  << ms.size() << ", " << vs.size() << " and " << weightDecays.size());
  GLM_REQUIRE(count < (size_t(1) << 30), op, "too many tensors: " << count);
  checkHyperParams(op, hp);
  if (count == 0) return;
  const Device dev = params[0].device();
  std::vector<AdamWTensor> list(count);
  std::vector<TensorRef> keep;  // everything the queued op touches stays alive until it has run
  keep.reserve(4 * count + 1);
  for (size_t k = 0; k < count; k++) {
    const std::string pn = item("params", k), gn = item("grads", k), mn = item("m", k), vn = item("v", k);
    const TensorRef &p = params[k], &g = grads[k], &m = ms[k], &v = vs[k];
    requireDType(op, pn.c_str(), p, {DType::F32});
    requireDType(op, gn.c_str(), g, {DType::F32, DType::BF16});
    requireDType(op, mn.c_str(), m, {DType::F32});
    requireDType(op, vn.c_str(), v, {DType::F32});
    requireSameDevice(op, pn.c_str(), p, dev);
    requireSameDevice(op, gn.c_str(), g, dev);
    requireSameDevice(op, mn.c_str(), m, dev);
    requireSameDevice(op, vn.c_str(), v, dev);
    requireShape(op, gn.c_str(), g, p.shape);
    requireShape(op, mn.c_str(), m, p.shape);
    requireShape(op, vn.c_str(), v, p.shape);
    requireNoOverlap(op, pn.c_str(), p, gn.c_str(), g);
    requireNoOverlap(op, pn.c_str(), p, mn.c_str(), m);
    requireNoOverlap(op, pn.c_str(), p, vn.c_str(), v);
    requireNoOverlap(op, mn.c_str(), m, vn.c_str(), v);
    requireNoOverlap(op, mn.c_str(), m, gn.c_str(), g);
    requireNoOverlap(op, vn.c_str(), v, gn.c_str(), g);
    const float wd = weightDecays[k];
    GLM_REQUIRE(std::isfinite(wd) && wd >= 0, op,
                "argument 'weightDecay' of " << pn << ": expected a finite number >= 0, got " << wd);
    list[k] = AdamWTensor{p.data<float>(), g.raw(), m.data<float>(), v.data<float>(), p.numel(), wd, g.dtype};
    keep.insert(keep.end(), {p, g, m, v});
  }
  float* scale = nullptr;
  if (gradScale) {
    requireScalarF32(op, "gradScale", *gradScale, dev);
    scale = gradScale->data<float>();
    keep.push_back(*gradScale);
  }
  checkNoCrossOverlap(op, params, grads, ms, vs, gradScale);
  dispatch(op, dev, [=] { cpu::adamwStep(list.data(), int(list.size()), hp, scale); (void)keep; },
           GLM_CUDA_WORK([=](void* s) { cuda::adamwStep(list.data(), int(list.size()), hp, scale, s); (void)keep; }));
}

void sumSquaresOp(const TensorRef& sumSq, const std::vector<TensorRef>& xs) {
  const char* op = "sumSquares";
  const Device dev = sumSq.device();
  requireScalarF32(op, "sumSq", sumSq, dev);
  for (size_t k = 0; k < xs.size(); k++) {
    const std::string name = item("xs", k);
    requireDType(op, name.c_str(), xs[k], {DType::F32, DType::BF16});
    requireSameDevice(op, name.c_str(), xs[k], dev);
    requireNoOverlap(op, "sumSq", sumSq, name.c_str(), xs[k]);
  }
  if (xs.empty()) return;
  dispatch(op, dev,
           [=] {
             for (const TensorRef& x : xs)
               withFloatType(x.dtype, op, [&](auto tag) {
                 using T = decltype(tag);
                 cpu::sumSquares<T>(sumSq.data<float>(), x.data<T>(), x.numel());
               });
           },
           GLM_CUDA_WORK([=](void* s) {
             for (const TensorRef& x : xs)
               withFloatType(x.dtype, op, [&](auto tag) {
                 using T = decltype(tag);
                 cuda::sumSquares<T>(sumSq.data<float>(), x.data<T>(), x.numel(), s);
               });
           }));
}

void clipCoefficientOp(const TensorRef& norm, const TensorRef& coef, const TensorRef& sumSq, float maxNorm) {
  const char* op = "clipCoefficient";
  const Device dev = sumSq.device();
  requireScalarF32(op, "sumSq", sumSq, dev);
  requireScalarF32(op, "norm", norm, dev);
  requireScalarF32(op, "coef", coef, dev);
  GLM_REQUIRE(std::isfinite(maxNorm) && maxNorm > 0, op, "argument 'maxNorm': expected a finite number > 0, got " << maxNorm);
  requireNoOverlap(op, "norm", norm, "coef", coef);
  requireNoOverlap(op, "norm", norm, "sumSq", sumSq);
  requireNoOverlap(op, "coef", coef, "sumSq", sumSq);
  dispatch(op, dev, [=] { cpu::clipCoefficient(norm.data<float>(), coef.data<float>(), sumSq.data<float>(), maxNorm); },
           GLM_CUDA_WORK([=](void* s) {
             cuda::clipCoefficient(norm.data<float>(), coef.data<float>(), sumSq.data<float>(), maxNorm, s);
           }),
           streamNanos(1));
}

}  // namespace glm
