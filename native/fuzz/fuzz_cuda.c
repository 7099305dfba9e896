/* libFuzzer harness for the CUDA library's host side (validation, layout upload) on its CPU emulation: the
 * inputs of fuzz_forward.c, the call of fuzz_cuda_hook.h. */
#define SN_FUZZ_FORWARD_HOOK "fuzz_cuda_hook.h"
#include "fuzz_forward.c"
