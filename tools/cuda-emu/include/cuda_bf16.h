// Emulated cuda_bf16.h for tools/cuda-emu (see emu.h).
#pragma once
#include "../emu.h"
