// Emulated-GPU test of native/cuda/attention.cu (forward and backward) against a float64 reference.
// Usage: test_attn [quick|full] (built and run by tools/cuda-emu/mma/run.sh); env
// GLM_CUDA_ATTENTION=simple forces the simple kernels.
#include "native/cuda/attention.cu"  // as rewritten by prepare.py

#include "common.h"

using glm::AttentionParams;
using glm::MaskKind;

struct Ref {
  std::vector<double> out, lse, dq, dk, dv;
};

static int visible(const AttentionParams& p, int keyLen, int i) {
  const int64_t qpos = i + p.Tk - p.Tq;
  int64_t n = keyLen;
  if (p.mask == MaskKind::Causal) n = std::min<int64_t>(n, qpos + 1);
  if (p.mask == MaskKind::Prefix) n = std::min<int64_t>(n, std::max<int64_t>(qpos + 1, p.prefix));
  return int(std::max<int64_t>(n, 0));
}

// Direct softmax attention in float64 (the masks written independently of the kernels' helper).
static Ref reference(const AttentionParams& p, const std::vector<double>& q, const std::vector<double>& k,
                     const std::vector<double>& v, const std::vector<double>& dO, const std::vector<int>* keyLens) {
  const int B = p.B, H = p.H, Tq = p.Tq, Tk = p.Tk, D = p.D;
  Ref r;
  r.out.assign(size_t(B) * H * Tq * D, 0);
  r.lse.assign(size_t(B) * H * Tq, 0);
  r.dq.assign(r.out.size(), 0);
  r.dk.assign(size_t(B) * H * Tk * D, 0);
  r.dv.assign(r.dk.size(), 0);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < H; ++h) {
      const size_t bh = size_t(b) * H + h;
      const double* Q = q.data() + bh * Tq * D;
      const double* K = k.data() + bh * Tk * D;
      const double* V = v.data() + bh * Tk * D;
      const double* G = dO.data() + bh * Tq * D;
      const int keyLen = keyLens ? std::min(std::max((*keyLens)[b], 0), Tk) : Tk;
      for (int i = 0; i < Tq; ++i) {
        std::vector<double> s(Tk), P(Tk, 0.0), dP(Tk, 0.0);
        double mx = -INFINITY;
        bool any = false;
        for (int j = 0; j < Tk; ++j) {
          const bool vis = j < keyLen && (p.mask == MaskKind::None || j <= i + Tk - Tq ||
                                          (p.mask == MaskKind::Prefix && j < p.prefix));
          if (!vis) {
            s[j] = -INFINITY;
            continue;
          }
          double d = 0;
          for (int c = 0; c < D; ++c) d += Q[i * D + c] * K[j * D + c];
          s[j] = d * p.scale;
          mx = std::max(mx, s[j]);
          any = true;
        }
        if (visible(p, keyLen, i) != [&] { int n = 0; for (int j = 0; j < Tk; ++j) n += s[j] != -INFINITY; return n; }())
          fprintf(stderr, "reference mask disagrees with the prefix rule\n"), abort();
        const size_t row = bh * Tq + i;
        if (!any) {
          r.lse[row] = -INFINITY;
          continue;
        }
        double sum = 0;
        for (int j = 0; j < Tk; ++j) sum += s[j] == -INFINITY ? 0 : std::exp(s[j] - mx);
        r.lse[row] = mx + std::log(sum);
        for (int j = 0; j < Tk; ++j) P[j] = s[j] == -INFINITY ? 0 : std::exp(s[j] - mx) / sum;
        for (int c = 0; c < D; ++c) {
          double o = 0;
          for (int j = 0; j < Tk; ++j) o += P[j] * V[j * D + c];
          r.out[row * D + c] = o;
        }
        double delta = 0;
        for (int j = 0; j < Tk; ++j) {
          double d = 0;
          for (int c = 0; c < D; ++c) d += G[i * D + c] * V[j * D + c];
          dP[j] = d;
          delta += P[j] * d;
        }
        for (int j = 0; j < Tk; ++j) {
          const double ds = P[j] * (dP[j] - delta);
          for (int c = 0; c < D; ++c) {
            r.dq[row * D + c] += p.scale * ds * K[j * D + c];
            r.dk[(bh * Tk + j) * D + c] += p.scale * ds * Q[i * D + c];
            r.dv[(bh * Tk + j) * D + c] += P[j] * G[i * D + c];
          }
        }
      }
    }
  return r;
}

template <typename T>
void runCase(int B, int H, int Tq, int Tk, int D, MaskKind mask, int prefix, bool useKeyLens, int misalign,
             double tolF, double tolB) {
  AttentionParams p;
  p.B = B, p.H = H, p.Tq = Tq, p.Tk = Tk, p.D = D, p.scale = 1.0f / std::sqrt(float(std::max(D, 1))) * 1.7f;
  p.mask = mask, p.prefix = prefix;
  const size_t nq = size_t(B) * H * Tq * D, nk = size_t(B) * H * Tk * D;
  DevBuf<T> q(nq + misalign), k(nk + misalign), v(nk + misalign), dO(nq), out(nq), dq(nq), dk(nk), dv(nk);
  DevBuf<float> lse(size_t(B) * H * Tq);
  DevBuf<int32_t> kl(B);
  std::vector<double> qd = fillRandom(q, 2.0f), kd = fillRandom(k, 2.0f), vd = fillRandom(v), gd = fillRandom(dO);
  std::vector<int> keyLens(B);
  for (int b = 0; b < B; ++b) keyLens[b] = kl.p[b] = (b == 0 ? Tk : b == 1 ? 0 : int(rng()() % (Tk + 1)));
  auto shift = [&](std::vector<double>& x) { x.erase(x.begin(), x.begin() + misalign); };
  shift(qd), shift(kd), shift(vd);
  const Ref ref = reference(p, qd, kd, vd, gd, useKeyLens ? &keyLens : nullptr);
  const int32_t* klp = useKeyLens ? kl.p : nullptr;
  glm::cuda::attentionForward<T>(out.p, lse.p, q.p + misalign, k.p + misalign, v.p + misalign, klp, p, nullptr);
  glm::cuda::attentionBackward<T>(dq.p, dk.p, dv.p, dO.p, q.p + misalign, k.p + misalign, v.p + misalign, out.p,
                                  lse.p, klp, p, nullptr);
  const double tol = sizeof(T) == 4 ? tolF : tolB;
  char what[256];
  const char* mk = mask == MaskKind::None ? "none" : mask == MaskKind::Causal ? "causal" : "prefix";
  snprintf(what, sizeof what, "%s B=%d H=%d Tq=%d Tk=%d D=%d %s(%d) keyLens=%d mis=%d", sizeof(T) == 4 ? "f32 " : "bf16",
           B, H, Tq, Tk, D, mk, prefix, useKeyLens, misalign);
  auto rep = [&](const char* name, auto* got, const std::vector<double>& r, size_t n, double t) {
    std::string w = std::string(what) + " " + name;
    report(w.c_str(), compare(got, r, n), t);
  };
  rep("out", out.p, ref.out, nq, tol);
  // lse: compare where finite; -inf must match exactly.
  {
    size_t bad = 0;
    for (size_t i = 0; i < lse.n; ++i)
      if (std::isinf(ref.lse[i]) != std::isinf(lse.p[i]) || (std::isinf(ref.lse[i]) && lse.p[i] != ref.lse[i])) bad++;
    std::vector<double> refFinite(ref.lse);
    std::vector<float> gotFinite(lse.p, lse.p + lse.n);
    for (size_t i = 0; i < lse.n; ++i)
      if (std::isinf(ref.lse[i])) refFinite[i] = 0, gotFinite[i] = 0;
    ErrStats s = compare(gotFinite.data(), refFinite, lse.n);
    s.nonFinite += bad;
    std::string w = std::string(what) + " lse";
    report(w.c_str(), s, sizeof(T) == 4 ? tolF : 1e-3);
  }
  rep("dq", dq.p, ref.dq, nq, tol);
  rep("dk", dk.p, ref.dk, nk, tol);
  rep("dv", dv.p, ref.dv, nk, tol);
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "quick";
  // f32 (simple kernels): f32 arithmetic throughout, ~1e-6; 1e-5 leaves room for long sums.
  // bf16: inputs exact, P and dS rounded to bf16 before their products and outputs rounded to bf16:
  // a few 2^-9 relative roundings -> ~5e-3 typical; 2e-2 is the project's bf16 tolerance.
  const double tolF = 1e-5, tolB = 2e-2;
  struct C { int B, H, Tq, Tk, D; MaskKind m; int prefix; bool kl; int mis; };
  std::vector<C> cases;
  if (!strcmp(mode, "quick")) {
    cases = {{1, 2, 65, 65, 64, MaskKind::Causal, 0, false, 0},
             {2, 1, 70, 70, 32, MaskKind::None, 0, false, 0},
             {1, 1, 130, 130, 128, MaskKind::Prefix, 37, false, 0},
             {3, 1, 33, 129, 64, MaskKind::Causal, 0, true, 0},
             {1, 1, 1, 77, 128, MaskKind::Causal, 0, false, 0},
             {1, 2, 40, 20, 48, MaskKind::Causal, 0, false, 0},
             {1, 1, 50, 66, 17, MaskKind::Prefix, 70, false, 0},
             {1, 1, 64, 64, 64, MaskKind::None, 0, false, 3}};
  } else {
    cases = {{1, 1, 1, 1, 1, MaskKind::None, 0, false, 0},
             {1, 1, 7, 7, 8, MaskKind::Causal, 0, false, 0},
             {2, 2, 129, 129, 64, MaskKind::Causal, 0, true, 0},
             {1, 1, 63, 200, 128, MaskKind::None, 0, true, 0},
             {1, 1, 100, 100, 96, MaskKind::Prefix, 64, false, 0},
             {1, 1, 65, 65, 160, MaskKind::Causal, 0, false, 0},
             {1, 1, 130, 5, 32, MaskKind::Causal, 0, false, 0},
             {1, 1, 20, 0, 32, MaskKind::None, 0, false, 0},
             {1, 1, 0, 20, 32, MaskKind::None, 0, false, 0},
             {1, 1, 66, 66, 128, MaskKind::Causal, 0, false, 1},
             {1, 1, 200, 128, 64, MaskKind::Prefix, 1, true, 0}};
  }
  for (const C& c : cases) {
    runCase<float>(c.B, c.H, c.Tq, c.Tk, c.D, c.m, c.prefix, c.kl, c.mis, tolF, tolB);
    runCase<glm::bf16>(c.B, c.H, c.Tq, c.Tk, c.D, c.m, c.prefix, c.kl, c.mis, tolF, tolB);
  }
  printf("emulated ldmatrix calls %ld, bank-conflicted 8x8 phases %ld; mma calls %ld\n", glm_emu::rt().ldmCalls,
         glm_emu::rt().ldmConflictPhases, glm_emu::rt().mmaCalls);
  printf("%d/%d checks passed\n", gChecks - gFailures, gChecks);
  return gFailures ? 1 : 0;
}
