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

# Let ctest run the aarch64 test executables through user-mode qemu when it is installed. With the
# multiarch runtime (dpkg --add-architecture arm64; apt-get install libc6:arm64, as in REFERENCES.md)
# qemu finds the aarch64 loader by itself. Without it, -L points qemu at the cross toolchain's libc;
# note that qemu 7.2 (Debian 12) then hangs in the first pthread_create, so the threaded tests need the
# multiarch runtime.
find_program(SN_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(SN_QEMU_AARCH64)
  if(EXISTS /lib/ld-linux-aarch64.so.1)
    set(CMAKE_CROSSCOMPILING_EMULATOR "${SN_QEMU_AARCH64}")
  else()
    set(CMAKE_CROSSCOMPILING_EMULATOR "${SN_QEMU_AARCH64};-L;/usr/${SN_CROSS_PREFIX}")
  endif()
endif()
