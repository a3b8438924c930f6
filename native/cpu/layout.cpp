// CPU permute; see layout.h. The problem is first reduced to its simplest equivalent: size-1 dims
// dropped, dims that stay adjacent and in order merged (so (B, H, T, D) -> (B, T, H, D) becomes a
// 4-D copy of D-runs, and a no-op permutation one memcpy). Then either the innermost input dim is
// still innermost in the output, and rows are copied as contiguous runs, or it moves, and the copy
// goes through small square tiles so that both the reads and the writes stay in cache lines.
#include "layout.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "../core/error.h"
#include "../core/threadpool.h"

namespace glm::cpu {
namespace {

constexpr int kMaxRank = 8;

// A permutation reduced to its simplest form. Output dim i has size outShape[i] and is read with
// element stride inStride[i] in the input; the output is contiguous.
struct Plan {
  int rank = 0;
  int64_t outShape[kMaxRank];
  int64_t inStride[kMaxRank];
};

Plan simplify(const int64_t* inShape, const int* perm, int rank) {
  // Drop size-1 dims, renumbering the rest.
  int newIndex[kMaxRank];
  int64_t shape[kMaxRank];
  int r = 0;
  for (int d = 0; d < rank; d++) {
    newIndex[d] = inShape[d] == 1 ? -1 : r;
    if (inShape[d] != 1) shape[r++] = inShape[d];
  }
  int p[kMaxRank];
  int pr = 0;
  for (int i = 0; i < rank; i++)
    if (newIndex[perm[i]] >= 0) p[pr++] = newIndex[perm[i]];

  // Groups of output dims whose input dims are consecutive and in order: each is one merged dim.
  int groupStart[kMaxRank], groupLen[kMaxRank];
  int groups = 0;
  for (int i = 0; i < pr; i++) {
    if (groups > 0 && p[i] == groupStart[groups - 1] + groupLen[groups - 1]) {
      groupLen[groups - 1]++;
    } else {
      groupStart[groups] = p[i];
      groupLen[groups] = 1;
      groups++;
    }
  }
  // Input strides of the merged dims: a group's stride is that of its last (innermost) input dim.
  int64_t stride[kMaxRank];
  int64_t s = 1;
  for (int d = r - 1; d >= 0; d--) {
    stride[d] = s;
    s *= shape[d];
  }
  Plan plan;
  plan.rank = groups;
  for (int g = 0; g < groups; g++) {
    int64_t size = 1;
    for (int k = 0; k < groupLen[g]; k++) size *= shape[groupStart[g] + k];
    plan.outShape[g] = size;
    plan.inStride[g] = stride[groupStart[g] + groupLen[g] - 1];
  }
  return plan;
}

// The last dim is contiguous in both: copy rows of outShape[rank-1] elements.
template <typename T> void copyRuns(T* out, const T* inp, const Plan& pl) {
  const int r = pl.rank;
  const int64_t run = pl.outShape[r - 1];
  int64_t rows = 1;
  for (int i = 0; i < r - 1; i++) rows *= pl.outShape[i];
  constexpr int64_t kSegment = int64_t(1) << 14;
  if (run > kSegment) {
    // Few long rows (e.g. (2, N) -> swapped leading dims): split each row so every thread gets work.
    const int64_t segs = (run + kSegment - 1) / kSegment;
    parallelFor(rows * segs, 1, [&](int64_t b, int64_t e) {
      for (int64_t u = b; u < e; u++) {
        const int64_t row = u / segs, s0 = (u % segs) * kSegment, len = std::min(run, s0 + kSegment) - s0;
        int64_t rem = row, src = 0;
        for (int i = r - 2; i >= 0; i--) {
          src += (rem % pl.outShape[i]) * pl.inStride[i];
          rem /= pl.outShape[i];
        }
        std::memcpy(out + row * run + s0, inp + src + s0, size_t(len) * sizeof(T));
      }
    });
    return;
  }
  const int64_t grain = std::max<int64_t>(1, kSegment / run);
  parallelFor(rows, grain, [&](int64_t b, int64_t e) {
    // Decode row b into an index over the outer output dims, then step it like an odometer.
    int64_t idx[kMaxRank];
    int64_t rem = b, src = 0;
    for (int i = r - 2; i >= 0; i--) {
      idx[i] = rem % pl.outShape[i];
      rem /= pl.outShape[i];
      src += idx[i] * pl.inStride[i];
    }
    T* dst = out + b * run;
    for (int64_t row = b; row < e; row++, dst += run) {
      if (run >= 16) {
        std::memcpy(dst, inp + src, size_t(run) * sizeof(T));
      } else {
        for (int64_t k = 0; k < run; k++) dst[k] = inp[src + k];
      }
      for (int i = r - 2; i >= 0; i--) {
        src += pl.inStride[i];
        if (++idx[i] < pl.outShape[i]) break;
        src -= idx[i] * pl.inStride[i];
        idx[i] = 0;
      }
    }
  });
}

// The innermost input dim (stride 1) is output dim `a`, and the output's last dim has input stride
// pl.inStride[rank-1] > 1: a batch of 2-D transposes, done in kTile x kTile tiles.
template <typename T> void copyTiles(T* out, const T* inp, const Plan& pl) {
  constexpr int64_t kTile = 32;
  const int r = pl.rank;
  int a = 0;
  while (pl.inStride[a] != 1) a++;
  const int l = r - 1;
  int64_t outStride[kMaxRank];
  int64_t s = 1;
  for (int i = r - 1; i >= 0; i--) {
    outStride[i] = s;
    s *= pl.outShape[i];
  }
  const int64_t na = pl.outShape[a], nl = pl.outShape[l];
  const int64_t tilesA = (na + kTile - 1) / kTile, tilesL = (nl + kTile - 1) / kTile;
  int64_t batch = 1;
  for (int i = 0; i < r; i++)
    if (i != a && i != l) batch *= pl.outShape[i];
  const int64_t inStrideL = pl.inStride[l], outStrideA = outStride[a];
  parallelFor(batch * tilesA * tilesL, 1, [&](int64_t b, int64_t e) {
    for (int64_t unit = b; unit < e; unit++) {
      const int64_t tl = unit % tilesL;
      const int64_t ta = (unit / tilesL) % tilesA;
      int64_t rem = unit / (tilesL * tilesA);
      int64_t src = 0, dst = 0;
      for (int i = r - 1; i >= 0; i--) {
        if (i == a || i == l) continue;
        const int64_t k = rem % pl.outShape[i];
        rem /= pl.outShape[i];
        src += k * pl.inStride[i];
        dst += k * outStride[i];
      }
      const int64_t a0 = ta * kTile, a1 = std::min(na, a0 + kTile);
      const int64_t l0 = tl * kTile, l1 = std::min(nl, l0 + kTile);
      for (int64_t i = a0; i < a1; i++) {
        const T* from = inp + src + i + l0 * inStrideL;
        T* to = out + dst + i * outStrideA + l0;
        for (int64_t j = 0; j < l1 - l0; j++) to[j] = from[j * inStrideL];
      }
    }
  });
}

template <typename T> void permuteTyped(void* out, const void* inp, const Plan& pl, int64_t numel) {
  T* o = static_cast<T*>(out);
  const T* in = static_cast<const T*>(inp);
  if (pl.rank <= 1) {
    parallelFor(numel, 1 << 16, [&](int64_t b, int64_t e) { std::memcpy(o + b, in + b, size_t(e - b) * sizeof(T)); });
  } else if (pl.inStride[pl.rank - 1] == 1) {
    copyRuns(o, in, pl);
  } else {
    copyTiles(o, in, pl);
  }
}

}  // namespace

void cacheWrite(void* dst, const void* src, int64_t elemSize, int64_t B, int64_t H, int64_t L, int64_t T, int64_t D,
                const int64_t* start, const int64_t* count) {
  // One memcpy per (row, head): count[b]·D contiguous elements on both sides. A decode step moves a
  // few KB here, far below what waking the pool would cost.
  auto* out = static_cast<char*>(dst);
  const auto* in = static_cast<const char*>(src);
  for (int64_t b = 0; b < B; b++) {
    if (count[b] == 0) continue;
    const size_t bytes = size_t(count[b] * D * elemSize);
    for (int64_t h = 0; h < H; h++) {
      const int64_t bh = b * H + h;
      std::memcpy(out + ((bh * L + start[b]) * D) * elemSize, in + (bh * T * D) * elemSize, bytes);
    }
  }
}

void cacheWriteAt(void* dst, const void* src, int64_t elemSize, int64_t B, int64_t H, int64_t L, int64_t T, int64_t D,
                  const int32_t* positions) {
  std::vector<int64_t> start(static_cast<size_t>(B)), count(static_cast<size_t>(B), T);
  for (int64_t b = 0; b < B; b++) {
    GLM_REQUIRE(positions[b] >= 0 && positions[b] + T <= L, "cacheWrite",
                "row " << b << " writes positions [" << positions[b] << ", " << positions[b] + T << "), outside the cache's [0, "
                       << L << ")");
    start[size_t(b)] = positions[b];
  }
  cacheWrite(dst, src, elemSize, B, H, L, T, D, start.data(), count.data());
}

void permute(void* out, const void* inp, int64_t elemSize, const int64_t* inShape, const int* perm, int rank) {
  int64_t numel = 1;
  for (int d = 0; d < rank; d++) numel *= inShape[d];
  if (numel == 0) return;
  const Plan pl = simplify(inShape, perm, rank);
  if (elemSize == 2) permuteTyped<uint16_t>(out, inp, pl, numel);
  else permuteTyped<uint32_t>(out, inp, pl, numel);
}

}  // namespace glm::cpu
