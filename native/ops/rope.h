// Dispatch of the rotary position embedding (see native/cpu/rope.h) to the CPU or CUDA kernel.
#pragma once
#include <cstdint>

#include "../core/tensor.h"

namespace glm {

// out = rope(inp) for inp [B, H, T, D] (D even, 2..256) at positions positionOffset + t; with
// `inverse`, the rotation by −angle (the backward, from dout). out has inp's shape and may be inp
// itself. `op` names the caller in errors.
void ropeOp(const char* op, const TensorRef& out, const TensorRef& inp, double base, int64_t positionOffset,
            bool inverse);

// out = rope(inp) with row t of batch item b at positions[b] + t, positions i32 [B] on inp's device,
// read when the op runs (a replayed decode step's cache lengths; an out-of-range position is a
// deferred error of the op). No backward: for decoding.
void ropeAtOp(const TensorRef& out, const TensorRef& inp, double base, const TensorRef& positions);

}  // namespace glm
