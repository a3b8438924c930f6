// CPU data movement kernels: conversion between dtypes and fills.
#pragma once
#include <cstdint>

#include "../core/dtype.h"

namespace glm::cpu {

// out (n) of dtype outType <- inp (n) of dtype inType.
void convert(void* out, DType outType, const void* inp, DType inType, int64_t n);
// out (n) <- value, in dtype t.
void fill(void* out, DType t, double value, int64_t n);

}  // namespace glm::cpu
