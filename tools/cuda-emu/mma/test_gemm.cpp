// Emulated-GPU test of native/cuda/matmul.cu against a float64 reference.
// Usage: test_gemm [quick|odd|full] (built and run by tools/cuda-emu/mma/run.sh); env GLM_CUDA_GEMM /
// GLM_CUDA_TF32 select kernels as in production.
#include "native/cuda/matmul.cu"  // as rewritten by prepare.py

#include "common.h"

using glm::GemmParams;

static double gelu(double x) { return 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))); }

template <typename T>
void runCase(int batch, int M, int N, int K, bool tA, bool tB, float alpha, float beta, bool bias, bool geluOn,
             bool preact, bool broadcastB, int misalign, double tol) {
  const int64_t sA = int64_t(M) * K, sB = broadcastB ? 0 : int64_t(K) * N, sC = int64_t(M) * N;
  DevBuf<T> A(batch * sA + misalign, 0), B((broadcastB ? 1 : batch) * int64_t(K) * N + misalign),
      C(batch * sC), P(batch * sC), Bias(N);
  auto a = fillRandom(A), b = fillRandom(B), bi = fillRandom(Bias);
  std::vector<double> c0(C.n, 0.0);
  if (beta != 0.0f) c0 = fillRandom(C);  // otherwise C stays NaN-poisoned: must not be read
  const T* Ap = A.p + misalign;
  const T* Bp = B.p + misalign;
  GemmParams p;
  p.batch = batch, p.M = M, p.N = N, p.K = K, p.transA = tA, p.transB = tB;
  p.strideA = sA, p.strideB = sB, p.strideC = sC, p.alpha = alpha, p.beta = beta;
  p.epilogue = geluOn ? glm::Epilogue::Gelu : glm::Epilogue::None;
  glm::cuda::matmul<T>(C.p, preact ? P.p : nullptr, Ap, Bp, bias ? Bias.p : nullptr, p, nullptr);

  std::vector<double> ref(C.n), refPre(C.n);
  for (int z = 0; z < batch; ++z)
    for (int m = 0; m < M; ++m)
      for (int n = 0; n < N; ++n) {
        double s = 0;
        for (int k = 0; k < K; ++k) {
          const double x = tA ? a[misalign + z * sA + int64_t(k) * M + m] : a[misalign + z * sA + int64_t(m) * K + k];
          const double y = tB ? b[misalign + z * sB + int64_t(n) * K + k] : b[misalign + z * sB + int64_t(k) * N + n];
          s += x * y;
        }
        const int64_t i = z * sC + int64_t(m) * N + n;
        double v = alpha * s + (beta != 0.0f ? beta * c0[i] : 0.0) + (bias ? bi[n] : 0.0);
        refPre[i] = v;
        ref[i] = geluOn ? gelu(v) : v;
      }
  char what[256];
  snprintf(what, sizeof what, "%s b=%d M=%d N=%d K=%d tA=%d tB=%d a=%.2f beta=%.2f bias=%d gelu=%d bcastB=%d mis=%d",
           sizeof(T) == 4 ? "f32 " : "bf16", batch, M, N, K, tA, tB, alpha, beta, bias, geluOn, broadcastB, misalign);
  report(what, compare(C.p, ref, C.n), tol);
  if (preact) {
    std::string w = std::string(what) + " [preact]";
    report(w.c_str(), compare(P.p, refPre, P.n), tol);
  }
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "quick";
  const bool fastTf32 = getenv("GLM_CUDA_TF32") && !strcmp(getenv("GLM_CUDA_TF32"), "1");
  // f32 3xTF32: ~f32 accuracy (1e-5 leaves room for K-term f32 accumulation); single-pass tf32:
  // inputs rounded to 11 bits, ~2^-11 per product, averaging down over K -> 2e-3.
  const double tolF = fastTf32 ? 2e-3 : 1e-5;
  // bf16 outputs are rounded to 8 bits (2^-9 relative, ~2e-3 rms) after exact f32 accumulation.
  const double tolB = 6e-3;
  struct Shape { int b, M, N, K; };
  std::vector<Shape> shapes;
  if (!strcmp(mode, "quick")) {
    shapes = {{1, 64, 64, 64}, {1, 65, 129, 63}, {2, 7, 130, 72}, {1, 128, 128, 40}, {1, 1, 100, 96}};
  } else if (!strcmp(mode, "odd")) {
    shapes = {{1, 65, 67, 61}, {2, 33, 70, 13}, {1, 130, 66, 7}};
  } else {
    shapes = {{1, 1, 1, 1}, {3, 7, 7, 7}, {1, 63, 65, 129}, {1, 129, 257, 96}, {2, 256, 128, 64}};
  }
  for (auto s : shapes)
    for (int tA = 0; tA < 2; ++tA)
      for (int tB = 0; tB < 2; ++tB) {
        runCase<float>(s.b, s.M, s.N, s.K, tA, tB, 1.0f, 0.0f, false, false, false, false, 0, tolF);
        runCase<glm::bf16>(s.b, s.M, s.N, s.K, tA, tB, 1.0f, 0.0f, false, false, false, false, 0, tolB);
      }
  // Epilogue variants on one shape each.
  const Shape e = shapes[1];
  runCase<float>(e.b, e.M, e.N, e.K, false, true, 0.5f, 0.75f, true, true, true, false, 0, tolF);
  runCase<glm::bf16>(e.b, e.M, e.N, e.K, true, false, -1.25f, 1.0f, true, true, true, false, 0, tolB);
  runCase<glm::bf16>(2, e.M, e.N, e.K, false, false, 1.0f, 0.0f, true, false, true, true, 0, tolB);
  runCase<float>(2, e.M, e.N, e.K, true, true, 1.0f, 0.5f, false, true, false, true, 0, tolF);
  // Misaligned operand bases (guarded loads).
  runCase<glm::bf16>(1, 64, 64, 64, false, false, 1.0f, 0.0f, false, false, false, false, 3, tolB);
  runCase<float>(1, 64, 72, 64, true, true, 1.0f, 0.0f, false, false, false, false, 1, tolF);
  printf("emulated ldmatrix calls %ld, bank-conflicted 8x8 phases %ld; mma calls %ld\n", glm_emu::rt().ldmCalls,
         glm_emu::rt().ldmConflictPhases, glm_emu::rt().mmaCalls);
  printf("%d/%d checks passed\n", gChecks - gFailures, gChecks);
  return gFailures ? 1 : 0;
}
