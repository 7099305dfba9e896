#!/usr/bin/env bash
# Runs the SIMD kernel tests as real linux-arm64 code (the NEON path) on an x86-64 machine, under qemu user-mode
# emulation. Installs qemu and the arm64 C runtime only if missing (Debian/Ubuntu, needs root), publishes the xunit.v3
# test project self-contained for linux-arm64, and runs the kernel test classes with SPARSENATIVE_EXPECT_ISA=neon so
# that NeonPlatformTests and IsaSwitchChildTests fail on a silent fallback. Exit code = pass/fail.
#
# Usage: tests/arm64/run-under-qemu.sh [output-dir [runner options...]]   (default: build/arm64-tests; the options, e.g.
#        -result-junit FILE, go to the xunit.v3 runner)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:-$root/build/arm64-tests}"

need_install=0
command -v qemu-aarch64-static >/dev/null || need_install=1
command -v aarch64-linux-gnu-gcc >/dev/null || need_install=1
[ -e /lib/ld-linux-aarch64.so.1 ] || need_install=1   # libc6:arm64 (multiarch): the loader used below
dpkg -s libstdc++6:arm64 >/dev/null 2>&1 || need_install=1
dpkg -s libssl3:arm64 >/dev/null 2>&1 || need_install=1
if [ "$need_install" = 1 ]; then
  echo "== installing qemu-user-static and the arm64 runtime libraries"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd dpkg --add-architecture arm64
  $sudo_cmd apt-get update -q
  $sudo_cmd apt-get install -y -q qemu-user-static gcc-aarch64-linux-gnu libc6:arm64 libstdc++6:arm64 libssl3:arm64
fi

echo "== publishing the test project for linux-arm64 into $out"
# A separate artifacts directory keeps the x64 build's obj/ and restore state untouched.
dotnet publish "$root/tests/SparseNative.Tests/SparseNative.Tests.csproj" -r linux-arm64 --self-contained true -c Release \
  -p:InvariantGlobalization=true --artifacts-path "$root/build/arm64-artifacts" -o "$out" -v quiet -nologo

echo "== running the kernel tests under qemu-aarch64-static"
export SPARSENATIVE_EXPECT_ISA=neon
unset SPARSENATIVE_BACKEND
# Where qemu finds the arm64 dynamic loader: the multiarch libc6:arm64 in / (the default). Not /usr/aarch64-linux-gnu:
# that loader comes from libc6-arm64-cross (pulled in by gcc-aarch64-linux-gnu, another glibc build), while libc.so.6
# and the rest still resolve from /lib/aarch64-linux-gnu; a mismatched ld.so + libc.so.6 spins forever in the first
# pthread_create (the runtime "hangs" at start-up, no syscalls).
export QEMU_LD_PREFIX="${QEMU_LD_PREFIX:-/}"
# qemu does not see JIT code written through the runtime's separate W^X writable mapping, so reused code memory (e.g. a
# collected reflection InvokeStub) runs stale translations: SIGILL "Illegal instruction" part-way through the tests.
export DOTNET_EnableWriteXorExecute=0
# A small, fixed selection (the JIT itself runs emulated, so every test costs): the platform proof,
# the Auto-vs-reference child checks, exp2 accuracy, the kernel shapes (blocks, tails, causal/cross, Bshd/GQA,
# segments, empty rows, thread determinism) for the Neon and Portable paths, their float16/bfloat16 tensors, a sample of the backward's cases for
# them and for the cross-compiled arm64 C library (NativeCpu, when build/native-arm64 holds it), and every available
# backend against the reference.
k=SparseNative.Tests.Kernels
exec qemu-aarch64-static "$out/SparseNative.Tests" -noColor \
  -method "$k.NeonPlatformTests.*" \
  -method "$k.IsaSwitchChildTests.*" \
  -method "$k.Exp2AccuracyTests.*" \
  -method "$k.SimdKernelTests.EveryBlockSizeWithOddLengths" \
  -method "$k.SimdKernelTests.CausalSelfAndCrossShapes" \
  -method "$k.SimdKernelTests.BshdFormatWithGqaAndPerHeadLayouts" \
  -method "$k.SimdKernelTests.SegmentIdsUniformMixedAndDisjointBlocks" \
  -method "$k.SimdKernelTests.EmptyRowsGiveZerosAndMinusInfinity" \
  -method "$k.SimdKernelTests.ResultsAreBitwiseIdenticalForAnyThreadCount" \
  -method "$k.HalfPrecisionKernelTests.OddSizesGqaAndBothFormats" \
  -method "$k.HalfPrecisionKernelTests.CausalSelfAndCross" \
  -method "$k.HalfPrecisionKernelTests.RowsWithNoKeyGetZerosAndMinusInfinity" \
  -method "$k.SimdBackwardTests.CausalSelfAndCrossShapes" \
  -method "$k.SimdBackwardTests.BshdFormatWithGqaAndPerHeadLayouts" \
  -method "$k.SimdBackwardTests.EmptyRowsAndUnseenKeysGetZeroGradients" \
  -method "$k.SimdBackwardTests.GradientsAreBitwiseIdenticalForAnyThreadCount" \
  -method "SparseNative.Tests.Native.BackendComparisonTests.*" \
  "${@:2}"
