# Compiler and linker settings shared by every target of the native library.

set(CMAKE_C_STANDARD 11)
set(CMAKE_C_STANDARD_REQUIRED ON)
set(CMAKE_C_EXTENSIONS OFF)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)

option(SPARSENATIVE_WARNINGS_AS_ERRORS "Treat compiler warnings as errors" ON)

if(NOT CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  message(FATAL_ERROR "libsparsenative needs gcc or clang (pthreads, __builtin_cpu_supports); got ${CMAKE_C_COMPILER_ID}")
endif()

# -ffp-contract=fast: -std=c11 (strict ISO mode) turns FMA contraction off in gcc; the kernels want
#   fused multiply-adds (faster and more accurate). No -ffast-math: the kernels rely on -infinity
#   (masking) and IEEE comparisons.
# -fvisibility=hidden: only SN_API functions are exported.
set(SN_COMMON_FLAGS -ffp-contract=fast -fvisibility=hidden)
set(SN_WARNING_FLAGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wpointer-arith)
if(SPARSENATIVE_WARNINGS_AS_ERRORS)
  list(APPEND SN_WARNING_FLAGS -Werror)
endif()

if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(SN_HAVE_X86_VARIANTS ON)
else()
  set(SN_HAVE_X86_VARIANTS OFF)
endif()
# The AVX512_BF16 variant (vdpbf16ps) is built by gcc only: clang 16 crashes compiling sn_kernel.c with
# -mavx512bf16 (segmentation fault in the compiler), so the sanitizer and fuzz builds, which use clang, leave it out
# and their dispatcher tops out at the AVX-512 variant.
if(SN_HAVE_X86_VARIANTS AND CMAKE_C_COMPILER_ID STREQUAL "GNU")
  set(SN_HAVE_AVX512BF16_VARIANT ON)
else()
  set(SN_HAVE_AVX512BF16_VARIANT OFF)
endif()

if(UNIX)
  set(SN_MATH_LIBRARY m)
endif()
if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  # Fail at link time, not at load time, if a symbol is missing.
  set(SN_LINK_FLAGS -Wl,--no-undefined -Wl,--as-needed)
endif()

# Applies the shared settings to one target.
function(sn_configure_target target)
  target_compile_options(${target} PRIVATE ${SN_COMMON_FLAGS} ${SN_WARNING_FLAGS})
  target_compile_definitions(${target} PRIVATE SN_BUILDING_LIBRARY $<$<BOOL:${SN_HAVE_X86_VARIANTS}>:SN_HAVE_X86_VARIANTS>
                             $<$<BOOL:${SN_HAVE_AVX512BF16_VARIANT}>:SN_HAVE_AVX512BF16_VARIANT>)
  target_include_directories(${target} PRIVATE
    "${PROJECT_SOURCE_DIR}/native/include"
    "${PROJECT_SOURCE_DIR}/native/src"
    "${PROJECT_BINARY_DIR}/native/generated")
endfunction()
