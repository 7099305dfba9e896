#!/usr/bin/env python3
"""Projected step time of SparseNative.Distributed for 8-1024 ranks (docs/DISTRIBUTED.md).

Per rank and step: compute = (block pairs of its query blocks) x (time per block pair, --block-us, measured with
the bench); traffic = key/value blocks received x bytes per block (2 tensors x batch x kv heads x block x head dim x 4);
step = max(compute, traffic / link) (the exchange overlaps the compute) for the busiest rank. Layout-aware counts are
the worst rank's; the ring receives every other shard. Usage: project.py [--block-us 40] [--heads 32 --kv-heads 8 ...]
"""
import argparse

p = argparse.ArgumentParser()
p.add_argument("--block-us", type=float, default=None, help="measured time of one (query block, key block) pair, microseconds")
p.add_argument("--block", type=int, default=128)
p.add_argument("--heads", type=int, default=32)
p.add_argument("--kv-heads", type=int, default=8)
p.add_argument("--head-dim", type=int, default=128)
p.add_argument("--window", type=int, default=3, help="sliding window half-width in blocks")
p.add_argument("--globals", type=int, default=2, help="BigBird/Longformer global blocks")
p.add_argument("--random", type=int, default=3, help="BigBird random blocks per row")
a = p.parse_args()
if a.block_us is None:
    raise SystemExit("give --block-us: the bench's distributed section prints the measured time per block pair")

kv_block_bytes = 2 * a.kv_heads * a.block * a.head_dim * 4


def layouts(n_blocks, ranks):
    """(name, block pairs of the busiest rank, blocks the busiest rank receives layout-aware)."""
    local = -(-n_blocks // ranks)
    w, g, r = a.window, a.globals, a.random
    ring = n_blocks - local
    yield "window", local * (2 * w + 1), min(2 * w, ring)
    yield "causal window (zig-zag)", local * (w + 1), min(4 * w, ring)
    # The rank holding the global query blocks attends to every key: it receives the whole sequence.
    yield "BigBird", g * n_blocks + local * (2 * w + 1 + g + r), ring
    yield "Longformer", g * n_blocks + local * (2 * w + 1 + g), ring
    yield "dense", local * n_blocks, ring
    yield "causal (zig-zag)", local * n_blocks // 2, ring


print(f"block {a.block}, {a.heads} query heads, {a.kv_heads} kv heads, d {a.head_dim}, {a.block_us} us per block pair"
      f" per query head, {kv_block_bytes / 2**20:.2f} MiB per key/value block")
print(f"{'tokens':>8} {'ranks':>5} {'layout':<24} {'compute s':>10} {'LA GiB':>8} {'ring GiB':>8}"
      f" {'LA 100G':>8} {'LA 400G':>8} {'ring 100G':>9} {'ring 400G':>9}")
for tokens in (1 << 20, 10 << 20, 100 << 20):
    n_blocks = tokens // a.block
    for ranks in (8, 32, 128, 512, 1024):
        if n_blocks < 2 * ranks:
            continue
        for name, pairs, la_blocks in layouts(n_blocks, ranks):
            compute = pairs * a.heads * a.block_us * 1e-6
            ring_blocks = n_blocks - -(-n_blocks // ranks)
            la, ring = la_blocks * kv_block_bytes, ring_blocks * kv_block_bytes
            cols = []
            for v in (la, ring):
                for gbps in (100, 400):
                    t = max(compute, v * 8 / (gbps * 1e9))
                    cols.append(f"{t:.3f}{'*' if t > compute else ' '}")
            print(f"{tokens >> 20:>7}M {ranks:>5} {name:<24} {compute:>10.3f} {la / 2**30:>8.2f} {ring / 2**30:>8.2f}"
                  f" {cols[0]:>8} {cols[1]:>8} {cols[2]:>9} {cols[3]:>9}")
print("step times in seconds; * = communication dominates (the link, not the kernels, sets the time)")
