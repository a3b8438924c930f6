// Emulated CUDA runtime for tools/cuda-emu: just enough of the host API and device built-ins for the
// kernels under native/cuda to compile as plain C++ and run on the CPU (see emu.h).
#pragma once
#include "../emu.h"
