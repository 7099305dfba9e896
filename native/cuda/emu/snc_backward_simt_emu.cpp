// The CUDA source compiled as C++ for the CPU emulation test (see snc_emu.h); test-only.
#include "../src/snc_backward_simt.cu"
