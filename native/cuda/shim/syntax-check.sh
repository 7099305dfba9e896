#!/bin/sh
# Syntax-checks the CUDA sources without a CUDA toolkit: clang compiles them as CUDA for sm_80 and sm_90
# against shim/cuda_shim.h (declarations standing in for the CUDA headers), host and device side, then
# generates device PTX and verifies it: every kernel present, mma.sync / ldmatrix / cp.async emitted, and no
# local-memory stack frame (a register array indexed at run time would silently spill).
# Usage: native/cuda/shim/syntax-check.sh [clang++]    (apt-get install -y clang-16)
# This is NOT a substitute for nvcc + ptxas + running on a GPU: see docs/CUDA.md.
set -eu
CLANGXX=${1:-clang++-16}
HERE=$(cd "$(dirname "$0")" && pwd)
CUDA_DIR=$(dirname "$HERE")
INC="-I$CUDA_DIR/include -I$CUDA_DIR/../include -I$CUDA_DIR/src -I$CUDA_DIR/../src"
FLAGS="-x cuda -std=c++17 -nocudainc -nocudalib -Wall -Wextra -Werror -include $HERE/cuda_shim.h"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
for arch in sm_80 sm_90; do
  for src in snc_api.cu snc_kernel_f32.cu snc_kernel_mma.cu snc_backward_simt.cu; do
    $CLANGXX $FLAGS --cuda-gpu-arch=$arch -fsyntax-only $INC "$CUDA_DIR/src/$src"
  done
  for src in snc_kernel_f32.cu snc_kernel_mma.cu snc_backward_simt.cu; do
    $CLANGXX $FLAGS --cuda-gpu-arch=$arch --cuda-device-only -O2 -S $INC "$CUDA_DIR/src/$src" -o "$TMP/${src%.cu}.$arch.ptx"
  done
  f32="$TMP/snc_kernel_f32.$arch.ptx"; mma="$TMP/snc_kernel_mma.$arch.ptx"
  n_f32=$(grep -c '^\.visible \.entry' "$f32" || true)
  n_mma=$(grep -c '^\.visible \.entry' "$mma" || true)
  bwd="$TMP/snc_backward_simt.$arch.ptx"
  n_bwd=$(grep -c '^\.visible \.entry' "$bwd" || true)
  [ "$n_bwd" -eq 18 ] || { echo "expected 18 backward kernels, found $n_bwd"; exit 1; }
  grep -q 'cvt.rn.f16.f32' "$bwd" && grep -q 'cvt.rn.bf16.f32' "$bwd" && grep -q 'cvt.f32.f16' "$bwd" ||
    { echo "no f16/bf16 conversions in the backward"; exit 1; }
  [ "$n_f32" -eq 14 ] || { echo "expected 14 f32 kernels, found $n_f32"; exit 1; }
  [ "$n_mma" -eq 8 ] || { echo "expected 8 tensor-core kernels, found $n_mma"; exit 1; }
  grep -q 'mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32' "$mma" || { echo "no f16 mma.sync"; exit 1; }
  grep -q 'mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32' "$mma" || { echo "no bf16 mma.sync"; exit 1; }
  grep -q 'ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16' "$mma" || { echo "no ldmatrix"; exit 1; }
  grep -q 'cp.async.cg.shared.global' "$f32" || { echo "no cp.async in the f32 kernel"; exit 1; }
  if grep -q '__local_depot' "$f32" "$mma" "$bwd"; then echo "a kernel uses local memory (spilled register array)"; exit 1; fi
  echo "syntax check $arch: ok ($n_f32 f32 kernels, $n_mma tensor-core kernels, $n_bwd backward kernels, no local memory)"
done
