#!/usr/bin/env bash
# The ONE check of the CUDA backend on a GPU machine (H100/H200 with nvcc, CMake, PyTorch; no .NET, no network),
# sized for a single 10-minute run of the device tool. Every step runs even if an earlier one failed (except
# what needs the build); a summary of PASS/FAIL/SKIP per step and all logs go to $OUT.
#
#   bench/gpu/device-check.sh            run everything (writes into $OUT, default artifacts/device-check)
#   bench/gpu/device-check.sh --dry-run  no GPU, no nvcc: check this script's and flex_compare.py's syntax,
#                                        that every file it needs exists, and print the plan
#
# Steps (time limits in brackets; the whole run stays under ~9.5 minutes):
#   1. environment: nvidia-smi, nvcc, cmake, torch                                          [20 s]
#   2. cmake -DSPARSENATIVE_CUDA=ON (nvcc, sm_80 + sm_90 + PTX) and build                   [300 s]
#   3. CTest: cuda_validation and cuda_vs_cpu (CUDA vs the C CPU library, f32 <= 1e-5, f16/bf16 <= 1e-2)  [150 s]
#   4. managed CUDA tests from the carried self-contained publish (artifacts/gpu-tests)    [90 s]
#   5. compute-sanitizer memcheck + racecheck on a short cuda_vs_cpu run                  [60 s each]
#   6. bench/gpu/flex_compare.py: ours vs FlexAttention (same block mask) vs dense SDPA     [what is left]
#
# The managed tests are published HERE (a machine with .NET) before the run and carried along:
#   dotnet publish tests/SparseNative.Tests -c Release -r linux-x64 --self-contained true \
#     -p:PublishTrimmed=true -p:TrimMode=partial -p:SuppressTrimAnalysisWarnings=true \
#     -p:InvariantGlobalization=true -o artifacts/gpu-tests
# (TrimMode=partial trims only the framework: xunit discovers tests by reflection.) See docs/CUDA.md.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-$ROOT/artifacts/device-check}
BUILD=$ROOT/build/gpu
LIB=$BUILD/lib/libsparsenative_cuda.so
TESTS=$ROOT/artifacts/gpu-tests/SparseNative.Tests
START=$(date +%s)
TOTAL_BUDGET=${DEVICE_CHECK_BUDGET_S:-570}

REQUIRED_FILES=(
  CMakeLists.txt native/CMakeLists.txt native/include/sparse_native.h
  native/cuda/CMakeLists.txt native/cuda/exports.map native/cuda/include/sparse_native_cuda.h
  native/cuda/src/snc_api.cu native/cuda/src/snc_kernel_f32.cu native/cuda/src/snc_kernel_mma.cu
  native/cuda/src/snc_device.cuh native/cuda/src/snc_launch.h native/cuda/src/snc_params.h
  native/cuda/src/snc_validate.c native/cuda/src/snc_validate.h native/cuda/src/snc_error.c native/cuda/src/snc_error.h
  native/cuda/tests/test_cuda_vs_cpu.c native/cuda/tests/test_cuda_validation.c
  native/cuda/tests/half_convert.c native/cuda/tests/half_convert.h
  native/cuda/emu/snc_emu.h native/cuda/emu/snc_emu_runtime.h
  bench/gpu/flex_compare.py
)

plan() {
  cat <<PLAN
device-check plan (root $ROOT, results in $OUT, total budget ${TOTAL_BUDGET} s):
  1. environment      nvidia-smi -L; nvcc --version; cmake --version; python3 -c 'import torch'
  2. build            cmake -S . -B build/gpu -DSPARSENATIVE_CUDA=ON -DCMAKE_BUILD_TYPE=Release; cmake --build build/gpu -j\$(nproc) --target sparsenative sparsenative_cuda test_cuda_vs_cpu test_cuda_validation
  3. ctest            ctest --test-dir build/gpu -R '^cuda_(validation|vs_cpu)\$' --output-on-failure
  4. managed tests    SPARSENATIVE_CUDA_PATH=$LIB $TESTS -class SparseNative.Tests.Cuda.CudaGpuTests -class SparseNative.Tests.Cuda.CudaAvailabilityTests
  5. sanitizers       compute-sanitizer --tool memcheck|racecheck (SNC_TEST_RANDOM_CASES=1) build/gpu/native/cuda/test_cuda_vs_cpu
  6. benchmark        python3 bench/gpu/flex_compare.py --lib $LIB --out \$OUT/flex_compare.md --budget-s <remaining>
  summary             \$OUT/summary.md (PASS/FAIL/SKIP per step), logs \$OUT/*.log
PLAN
}

if [ "${1:-}" = "--dry-run" ]; then
  ok=1
  bash -n "$0" && echo "shell syntax: ok" || { echo "shell syntax: FAILED"; ok=0; }
  # py_compile into a temporary file: no __pycache__ left in the tree.
  python3 -c 'import py_compile, sys, tempfile, os; f = tempfile.mkstemp(suffix=".pyc"); os.close(f[0]); py_compile.compile(sys.argv[1], cfile=f[1], doraise=True); os.remove(f[1])' bench/gpu/flex_compare.py \
    && echo "flex_compare.py: compiles (py_compile)" || { echo "flex_compare.py: FAILED"; ok=0; }
  for f in "${REQUIRED_FILES[@]}"; do
    [ -f "$f" ] || { echo "missing: $f"; ok=0; }
  done
  [ "$ok" = 1 ] && echo "required files: all ${#REQUIRED_FILES[@]} present"
  if [ -x "$TESTS" ]; then
    echo "managed test publish: present ($(du -sm artifacts/gpu-tests | cut -f1) MiB; carry artifacts/gpu-tests)"
  else
    echo "managed test publish: NOT present (step 4 would be skipped); build it with the dotnet publish command in this script's header"
  fi
  command -v nvcc >/dev/null && echo "nvcc: $(command -v nvcc)" || echo "nvcc: not on this machine (expected for a dry run)"
  plan
  [ "$ok" = 1 ] && { echo "dry run: OK"; exit 0; } || { echo "dry run: FAILED"; exit 1; }
fi

mkdir -p "$OUT"
SUMMARY=$OUT/summary.md
echo "# device-check $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$SUMMARY"
RESULTS=()
elapsed() { echo $(( $(date +%s) - START )); }
remaining() { echo $(( TOTAL_BUDGET - $(elapsed) )); }
record() { RESULTS+=("| $1 | $2 | $3 |"); echo "==> $1: $2 ($3) at $(elapsed) s"; }

# step NAME LIMIT_S COMMAND...: runs with a time limit, logs to $OUT/NAME.log, records PASS/FAIL.
step() {
  local name=$1 limit=$2; shift 2
  local t0; t0=$(date +%s)
  echo "==> $name (limit ${limit}s): $*"
  timeout --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  tail -n 40 "$OUT/$name.log"
  local took=$(( $(date +%s) - t0 ))
  if [ $rc -eq 0 ]; then record "$name" PASS "${took} s"
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then record "$name" "FAIL (timed out)" "${took} s"
  else record "$name" "FAIL (rc $rc)" "${took} s"; fi
  return $rc
}

plan
step environment 20 bash -c 'nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; nvcc --version; cmake --version | head -1; python3 -c "import torch; print(\"torch\", torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))"'
CARD=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)

built=0
if step build 300 bash -c "cmake -S . -B '$BUILD' -DSPARSENATIVE_CUDA=ON -DCMAKE_BUILD_TYPE=Release && cmake --build '$BUILD' -j\$(nproc) --target sparsenative sparsenative_cuda test_cuda_vs_cpu test_cuda_validation"; then
  built=1
fi

if [ $built = 1 ]; then
  step ctest 150 ctest --test-dir "$BUILD" -R '^cuda_(validation|vs_cpu)$' --output-on-failure
else
  record ctest SKIP "build failed"
fi

if [ $built = 1 ] && [ -x "$TESTS" ]; then
  step managed 90 env SPARSENATIVE_CUDA_PATH="$LIB" "$TESTS" -class SparseNative.Tests.Cuda.CudaGpuTests -class SparseNative.Tests.Cuda.CudaAvailabilityTests
else
  record managed SKIP "$([ $built = 1 ] && echo "no carried publish at artifacts/gpu-tests" || echo "build failed")"
fi

SAN=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
if [ $built = 1 ] && [ -n "$SAN" ]; then
  step memcheck 60 env SNC_TEST_RANDOM_CASES=1 "$SAN" --tool memcheck --error-exitcode 3 "$BUILD/native/cuda/test_cuda_vs_cpu"
else
  record memcheck SKIP "$([ -z "$SAN" ] && echo "no compute-sanitizer" || echo "build failed")"
fi

if [ $built = 1 ]; then
  left=$(( $(remaining) - 90 ))
  if [ $left -gt 60 ]; then
    step benchmark $(( left + 30 )) python3 bench/gpu/flex_compare.py --lib "$LIB" --out "$OUT/flex_compare.md" --budget-s "$left"
  else
    record benchmark SKIP "only $(remaining) s left"
  fi
else
  record benchmark SKIP "build failed"
fi

if [ $built = 1 ] && [ -n "$SAN" ] && [ "$(remaining)" -gt 70 ]; then
  step racecheck 60 env SNC_TEST_RANDOM_CASES=1 "$SAN" --tool racecheck --error-exitcode 3 "$BUILD/native/cuda/test_cuda_vs_cpu"
else
  record racecheck SKIP "no time, no sanitizer or no build"
fi

{
  echo
  echo "Card: ${CARD:-unknown}"
  echo
  echo "| step | result | time |"
  echo "|---|---|---|"
  printf '%s\n' "${RESULTS[@]}"
  if [ -f "$OUT/flex_compare.md" ]; then echo; cat "$OUT/flex_compare.md"; fi
} >>"$SUMMARY"
cat "$SUMMARY"
printf '%s\n' "${RESULTS[@]}" | grep -q "FAIL" && exit 1
exit 0
