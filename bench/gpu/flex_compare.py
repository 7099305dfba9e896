#!/usr/bin/env python3
"""Times SparseNative's CUDA kernel against PyTorch FlexAttention on the SAME block mask, and against dense
scaled_dot_product_attention, on fp16 inputs: seq 8k-64k, head dim 64/128, ~10% and ~50% block density.

Our kernel is called through ctypes on the torch tensors' data_ptr() (no copies), on torch's current stream.
FlexAttention gets the mask as a BlockMask built from the same CSR lists (BlockMask.from_kv_blocks, blocks given as
"full" blocks so that Flex evaluates no mask_mod: its best case), compiled with torch.compile.

TFLOP/s counts 4*d FLOPs per attended (query, key) pair (QK^T and PV, one multiply-add = 2 FLOPs): for the sparse
kernels the pairs of the active blocks, for dense SDPA all L*L pairs. "vs dense" is dense SDPA time / our time.
"ours" is the default 128-row (8-warp) tile; "ours 64-row tile" forces the 4-warp kernel (SNC_MMA_TILE_M=64).
Before timing, each configuration's output is compared with FlexAttention's (max |diff| is printed).

Usage: flex_compare.py --lib build/gpu/lib/libsparsenative_cuda.so --out results.md [--budget-s 300] [--quick]
"""
import argparse
import ctypes
import os
import sys
import time


class SnProblem(ctypes.Structure):
    _fields_ = [("batch", ctypes.c_int32), ("query_heads", ctypes.c_int32), ("kv_heads", ctypes.c_int32),
                ("query_length", ctypes.c_int32), ("key_length", ctypes.c_int32), ("head_dim", ctypes.c_int32),
                ("format", ctypes.c_int32), ("flags", ctypes.c_int32), ("scale", ctypes.c_float),
                ("num_threads", ctypes.c_int32), ("query_segment_ids", ctypes.c_void_p),
                ("key_segment_ids", ctypes.c_void_p)]


class SnLayout(ctypes.Structure):
    _fields_ = [("block_size", ctypes.c_int32), ("query_blocks", ctypes.c_int32), ("key_blocks", ctypes.c_int32),
                ("num_layouts", ctypes.c_int32), ("num_col_indices", ctypes.c_int32), ("reserved", ctypes.c_int32),
                ("row_offsets", ctypes.POINTER(ctypes.c_int32)), ("col_indices", ctypes.POINTER(ctypes.c_int32))]


SNC_DTYPE_F16 = 1
BLOCK = 128


class OurKernel:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        L = self.lib
        L.snc_abi_version.restype = ctypes.c_int32
        L.snc_last_error.restype = ctypes.c_char_p
        L.snc_build_info.restype = ctypes.c_char_p
        L.snc_layout_create.argtypes = [ctypes.POINTER(SnLayout), ctypes.POINTER(ctypes.c_void_p)]
        L.snc_layout_destroy.argtypes = [ctypes.c_void_p]
        L.snc_attention_forward_device.argtypes = [ctypes.POINTER(SnProblem), ctypes.c_void_p, ctypes.c_int32,
                                                   ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                                   ctypes.c_void_p, ctypes.c_void_p]
        if L.snc_abi_version() != 1:
            raise RuntimeError(f"{path}: ABI {L.snc_abi_version()}, expected 1")
        self.build_info = L.snc_build_info().decode()

    def check(self, status, what):
        if status != 0:
            raise RuntimeError(f"{what}: status {status}: {self.lib.snc_last_error().decode()}")

    def upload_layout(self, row_offsets, col_indices, qb, kb, lists):
        rows = (ctypes.c_int32 * len(row_offsets))(*row_offsets)
        cols = (ctypes.c_int32 * max(1, len(col_indices)))(*col_indices)
        lay = SnLayout(BLOCK, qb, kb, lists, len(col_indices), 0, rows, cols)
        handle = ctypes.c_void_p()
        self.check(self.lib.snc_layout_create(ctypes.byref(lay), ctypes.byref(handle)), "snc_layout_create")
        return handle

    def forward(self, problem, layout, q, k, v, out, lse, stream):
        self.check(self.lib.snc_attention_forward_device(ctypes.byref(problem), layout, SNC_DTYPE_F16, q.data_ptr(),
                                                         k.data_ptr(), v.data_ptr(), out.data_ptr(),
                                                         lse.data_ptr() if lse is not None else None, stream),
                   "snc_attention_forward_device")


def random_block_mask(torch, heads, qb, kb, density, seed):
    """[heads, qb, kb] bool: the diagonal block always (no empty rows, so every kernel does the same work), other
    blocks with probability chosen so the total density is close to `density`."""
    g = torch.Generator().manual_seed(seed)
    extra = max(0.0, (density * kb - 1.0) / max(1, kb - 1))
    mask = torch.rand(heads, qb, kb, generator=g) < extra
    idx = torch.arange(min(qb, kb))
    mask[:, idx, idx] = True
    return mask


def to_csr(mask):
    heads, qb, kb = mask.shape
    row_offsets, cols = [], []
    for h in range(heads):
        row_offsets.append(0)
        n = 0
        for r in range(qb):
            c = mask[h, r].nonzero().flatten().tolist()
            cols.extend(c)
            n += len(c)
            row_offsets.append(n)
    return row_offsets, cols


def to_flex_block_mask(torch, BlockMask, mask, batch, device):
    heads, qb, kb = mask.shape
    counts = mask.sum(-1).to(torch.int32)                              # [H, QB]
    order = torch.argsort((~mask).to(torch.int8), dim=-1, stable=True)  # active columns first, ascending
    indices = order.to(torch.int32)                                    # [H, QB, KB]
    counts = counts.unsqueeze(0).expand(batch, -1, -1).contiguous().to(device)
    indices = indices.unsqueeze(0).expand(batch, -1, -1, -1).contiguous().to(device)
    zeros = torch.zeros_like(counts)
    try:  # every active block as a "full" block: no mask_mod evaluated (FlexAttention's fastest case)
        return BlockMask.from_kv_blocks(zeros, indices, counts, indices, BLOCK_SIZE=BLOCK), "full blocks"
    except Exception as e:  # older signature: partial blocks with the no-op mask_mod
        print(f"  from_kv_blocks with full blocks failed ({e}); using partial blocks", flush=True)
        return BlockMask.from_kv_blocks(counts, indices, BLOCK_SIZE=BLOCK), "partial blocks"


def time_ms(torch, fn, min_iters=5, min_seconds=0.3):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    start_all = time.perf_counter()
    while len(times) < min_iters or time.perf_counter() - start_all < min_seconds:
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
        if len(times) >= 50:
            break
    times.sort()
    return times[len(times) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", required=True, help="path to libsparsenative_cuda.so")
    ap.add_argument("--out", required=True, help="Markdown file to write the table to")
    ap.add_argument("--budget-s", type=float, default=300.0, help="start no new configuration after this many seconds")
    ap.add_argument("--quick", action="store_true", help="seq 8k and 16k only")
    ap.add_argument("--heads", type=int, default=16)
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F
    from torch.nn.attention.flex_attention import BlockMask, flex_attention

    dev = torch.device("cuda")
    card = torch.cuda.get_device_name(0)
    ours = OurKernel(args.lib)
    flex = torch.compile(flex_attention, dynamic=False)
    stream = torch.cuda.current_stream().cuda_stream
    t0 = time.perf_counter()
    seqs = [8192, 16384] if args.quick else [8192, 16384, 32768, 65536]
    rows = []
    header = (f"Card: {card}; torch {torch.__version__}; {ours.build_info}\n"
              f"fp16, B=1, H={args.heads}, block {BLOCK}, non-causal, one random layout per head (diagonal always); "
              f"median of CUDA-event timings after 3 warm-up calls.\n\n"
              "| seq | d | density | ours ms | ours TFLOP/s | ours 64-row tile ms | Flex ms | Flex TFLOP/s | dense SDPA ms | dense TFLOP/s | "
              "ours/Flex speed | ours vs dense | max abs diff vs Flex |\n"
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    for d in (128, 64):
        for seq in seqs:
            for density in (0.1, 0.5):
                if time.perf_counter() - t0 > args.budget_s:
                    rows.append(f"| {seq} | {d} | {density:.0%} | skipped: time budget of {args.budget_s:.0f} s used | | | | | | | | | |")
                    continue
                H, B = args.heads, 1
                nb = seq // BLOCK
                mask = random_block_mask(torch, H, nb, nb, density, seed=seq + d)
                pairs = int(mask.sum().item()) * BLOCK * BLOCK * B
                real_density = mask.float().mean().item()
                row_offsets, cols = to_csr(mask)
                layout = ours.upload_layout(row_offsets, cols, nb, nb, H)
                bm, kind = to_flex_block_mask(torch, BlockMask, mask, B, dev)
                q = torch.randn(B, H, seq, d, device=dev, dtype=torch.float16)
                k = torch.randn(B, H, seq, d, device=dev, dtype=torch.float16)
                v = torch.randn(B, H, seq, d, device=dev, dtype=torch.float16)
                out = torch.empty_like(q)
                problem = SnProblem(B, H, H, seq, seq, d, 0, 2, 0.0, 0, None, None)  # BHSD, allow non-finite (no scan)

                def run_ours():
                    ours.forward(problem, layout, q, k, v, out, None, stream)

                def run_flex():
                    return flex(q, k, v, block_mask=bm)

                def run_dense():
                    return F.scaled_dot_product_attention(q, k, v)

                try:
                    run_ours()
                    ref = run_flex()
                    torch.cuda.synchronize()
                    diff = (out.float() - ref.float()).abs().max().item()
                    t_ours = time_ms(torch, run_ours)
                    os.environ["SNC_MMA_TILE_M"] = "64"  # the 4-warp, 64-row kernel (two thread blocks per 128-block)
                    try:
                        t_ours64 = time_ms(torch, run_ours)
                    finally:
                        del os.environ["SNC_MMA_TILE_M"]
                    t_flex = time_ms(torch, run_flex)
                    t_dense = time_ms(torch, run_dense)
                except Exception as e:  # report and go on: one failing shape must not lose the others
                    rows.append(f"| {seq} | {d} | {real_density:.1%} | FAILED: {str(e).splitlines()[0][:200]} | | | | | | | | | |")
                    print(rows[-1], flush=True)
                    ours.lib.snc_layout_destroy(layout)
                    continue
                flops_sparse = 4.0 * d * pairs  # pairs counts every head's active blocks
                flops_dense = 4.0 * d * B * H * seq * seq
                tf = lambda flops, ms: flops / (ms * 1e-3) / 1e12
                rows.append(f"| {seq} | {d} | {real_density:.1%} | {t_ours:.3f} | {tf(flops_sparse, t_ours):.1f} | "
                            f"{t_ours64:.3f} | {t_flex:.3f} | {tf(flops_sparse, t_flex):.1f} | {t_dense:.3f} | {tf(flops_dense, t_dense):.1f} | "
                            f"{t_flex / t_ours:.2f}x | {t_dense / t_ours:.2f}x | {diff:.2e} ({kind}) |")
                print(rows[-1], flush=True)
                ours.lib.snc_layout_destroy(layout)
                del q, k, v, out, ref
                torch.cuda.empty_cache()
    text = header + "\n".join(rows) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
