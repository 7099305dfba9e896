# Cross-compiling for linux-arm64 with Debian's cross toolchain:
#   apt-get install gcc-aarch64-linux-gnu qemu-user-static
#   cmake -S . -B build/native-arm64 -DCMAKE_TOOLCHAIN_FILE=native/cmake/aarch64-linux-gnu.cmake
#   cmake --build build/native-arm64 -j2
#   ctest --test-dir build/native-arm64 --output-on-failure      (runs the tests under qemu)
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(SN_CROSS_PREFIX aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${SN_CROSS_PREFIX}-gcc)
set(CMAKE_CXX_COMPILER ${SN_CROSS_PREFIX}-g++)

# Debian installs the target's libc under /usr/aarch64-linux-gnu.
set(CMAKE_FIND_ROOT_PATH /usr/${SN_CROSS_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# Let ctest run the aarch64 test executables through user-mode qemu when it is installed.
find_program(SN_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(SN_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${SN_QEMU_AARCH64};-L;/usr/${SN_CROSS_PREFIX}")
endif()
