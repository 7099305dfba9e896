#!/usr/bin/env bash
# SparseNative's one command for every job. Usage: ./build.sh [build|test|demo|bench|pack|clean] [extra args]
#   build  native library (CMake, Release) + every .NET project (Release)
#   test   build, then CTest (C library), the managed tests (x64, ISA-switch child processes), the NEON tests
#          under qemu (linux-arm64), the packed-package consumer test; ends with "N passed, N failed, N skipped"
#   demo   16k-token BigBird attention: backend, time, density, speedup over dense, error vs the reference
#   bench  the quick benchmark (FMA peak, every backend, ONNX Runtime peers); extra args go to it
#   pack   NuGet packages into artifacts/packages
# Environment: CONFIGURATION (Release), SPARSENATIVE_SKIP_ARM64=1 skips the qemu run (it needs root to apt-get).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
CONFIG=${CONFIGURATION:-Release}
NATIVE_BUILD=$ROOT/build/native
NATIVE_ARM64_BUILD=$ROOT/build/native-arm64
ARTIFACTS=$ROOT/artifacts
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

PASSED=0; FAILED=0; SKIPPED=0; FAILURES=()

log() { printf '\n==> %s\n' "$*"; }

build_native() {
  log "native library (CMake, Release)"
  cmake -S . -B "$NATIVE_BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$NATIVE_BUILD" -j"$(nproc)"
}

build_native_arm64() {
  # The linux-arm64 library for the NuGet package and the qemu test run.
  if ! command -v aarch64-linux-gnu-gcc >/dev/null; then
    log "installing the arm64 cross compiler"
    apt_install gcc-aarch64-linux-gnu
  fi
  log "native library for linux-arm64 (cross-compiled)"
  cmake -S . -B "$NATIVE_ARM64_BUILD" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/native/cmake/aarch64-linux-gnu.cmake" -DSPARSENATIVE_BUILD_TESTS=OFF >/dev/null
  cmake --build "$NATIVE_ARM64_BUILD" -j"$(nproc)"
}

apt_install() {
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

build_managed() {
  log ".NET projects ($CONFIG)"
  dotnet build SparseNative.sln -c "$CONFIG" -nologo -clp:ErrorsOnly
}

# Runs a test command and adds its counts to the totals. It understands the xunit.v3 summary
# ("Total: N, Errors: N, Failed: N, Skipped: N, Not Run: N") and the plain "N passed, N failed, N skipped".
run_xunit() {
  local label=$1; shift
  log "$label"
  local out; out=$(mktemp)
  set +e
  "$@" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  set -e
  local line; line=$(grep -aE 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+' "$out" | tail -n 1 || true)
  if [ -z "$line" ]; then
    # The plain form: "[word:] N passed, N failed[, N skipped]".
    local plain; plain=$(grep -aE '([0-9]+) passed, ([0-9]+) failed' "$out" | tail -n 1 || true)
    if [[ $plain =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
      local p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]} k=${BASH_REMATCH[4]:-0}
      line="Total: $((p + f + k)), Errors: 0, Failed: $f, Skipped: $k, Not Run: 0"
    fi
  fi
  rm -f "$out"
  if [ -z "$line" ]; then
    FAILED=$((FAILED + 1)); FAILURES+=("$label: no test summary (exit code $rc)"); return
  fi
  local total errors failed skipped notrun
  total=$(sed -E 's/.*Total: ([0-9]+).*/\1/' <<<"$line")
  errors=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
  failed=$(sed -E 's/.*Failed: ([0-9]+).*/\1/' <<<"$line")
  skipped=$(sed -E 's/.*Skipped: ([0-9]+).*/\1/' <<<"$line")
  notrun=$(sed -E 's/.*Not Run: ([0-9]+).*/\1/' <<<"$line")
  PASSED=$((PASSED + total - failed - skipped - notrun))
  FAILED=$((FAILED + failed + errors))
  SKIPPED=$((SKIPPED + skipped + notrun))
  if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$errors" -ne 0 ]; then FAILURES+=("$label (exit code $rc)"); fi
}

run_ctest() {
  log "CTest: the C library against its own float64 reference"
  local out; out=$(mktemp)
  set +e
  ctest --test-dir "$NATIVE_BUILD" --output-on-failure 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  set -e
  local line; line=$(grep -aE 'tests passed, [0-9]+ tests failed out of [0-9]+' "$out" | tail -n 1 || true)
  rm -f "$out"
  if [ -z "$line" ]; then FAILED=$((FAILED + 1)); FAILURES+=("ctest: no summary (exit code $rc)"); return; fi
  local failed total
  failed=$(sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* tests failed out of ([0-9]+).*/\1/' <<<"$line")
  PASSED=$((PASSED + total - failed)); FAILED=$((FAILED + failed))
  [ "$rc" -eq 0 ] || FAILURES+=("ctest (exit code $rc)")
}

run_tests() {
  build_native
  build_managed
  run_ctest
  local bin=tests/SparseNative.Tests/bin/$CONFIG/net10.0
  run_xunit "managed tests (linux-x64)" "$bin/SparseNative.Tests"
  # The managed CUDA backend end to end against the CUDA sources compiled for the CPU (native/cuda/emu): no GPU needed.
  local emu="$NATIVE_BUILD/testlib/libsparsenative_cuda_emu.so"
  if [ -f "$emu" ]; then
    SPARSENATIVE_CUDA_PATH="$emu" run_xunit "CUDA backend managed tests on the CPU-emulated CUDA library" \
      "$bin/SparseNative.Tests" -namespace SparseNative.Tests.Cuda
  fi
  if [ -d tests/SparseNative.Cli.Tests ]; then
    run_xunit "command-line tool tests" "tests/SparseNative.Cli.Tests/bin/$CONFIG/net10.0/SparseNative.Cli.Tests"
  fi
  if [ "${SPARSENATIVE_SKIP_ARM64:-0}" = "1" ]; then
    log "linux-arm64 (NEON) tests under qemu: skipped (SPARSENATIVE_SKIP_ARM64=1)"; SKIPPED=$((SKIPPED + 1))
  else
    build_native_arm64
    run_xunit "NEON kernel tests: linux-arm64 under qemu" bash tests/arm64/run-under-qemu.sh
  fi
  pack_all
  run_xunit "package consumer test (fresh project, local feed)" bash tests/consumer/run.sh "$ARTIFACTS/packages"

  echo
  if [ ${#FAILURES[@]} -gt 0 ]; then printf 'FAILED: %s\n' "${FAILURES[@]}"; fi
  echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
  [ "$FAILED" -eq 0 ] && [ ${#FAILURES[@]} -eq 0 ]
}

pack_all() {
  [ -f "$NATIVE_BUILD/lib/libsparsenative.so" ] || build_native
  [ -f "$NATIVE_ARM64_BUILD/lib/libsparsenative.so" ] || build_native_arm64
  log "NuGet packages -> artifacts/packages"
  rm -rf "$ARTIFACTS/packages"
  dotnet pack SparseNative.sln -c "$CONFIG" -nologo -clp:ErrorsOnly -o "$ARTIFACTS/packages" \
    -p:NativeLinuxX64="$NATIVE_BUILD/lib/libsparsenative.so" -p:NativeLinuxArm64="$NATIVE_ARM64_BUILD/lib/libsparsenative.so"
  if [ -f "$NATIVE_BUILD/lib/libsparsenative_cuda.so" ]; then
    dotnet pack interop/SparseNative.Runtime.Cuda -c "$CONFIG" -nologo -clp:ErrorsOnly -o "$ARTIFACTS/packages"
  else
    echo "SparseNative.Runtime.Cuda: not packed (CUDA backend not built: no libsparsenative_cuda.so)"
  fi
  ls -1 "$ARTIFACTS/packages"
}

verb=${1:-test}; [ $# -gt 0 ] && shift
case "$verb" in
  build) build_native; build_managed ;;
  test) run_tests ;;
  demo) build_native; build_managed; dotnet "managed/SparseNative.Cli/bin/$CONFIG/net10.0/SparseNative.Cli.dll" demo "$@" ;;
  bench) build_native; build_managed; dotnet run -c "$CONFIG" --no-build --project bench/SparseNative.Bench -- quick "$@" ;;
  pack) build_native; build_managed; pack_all ;;
  clean) rm -rf build artifacts; dotnet clean SparseNative.sln -nologo -v q >/dev/null || true ;;
  *) echo "usage: $0 [build|test|demo|bench|pack|clean]" >&2; exit 2 ;;
esac
