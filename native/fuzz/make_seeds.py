#!/usr/bin/env python3
"""Writes the seed corpus of the harnesses (corpus/<harness>/seed-*): a few valid calls and a few that must fail.
Each seed is the byte sequence the harness reads field by field (see fuzz_input.h: a dimension byte below 224
means 1 + byte % small, a length byte below 160 means "exactly the required length"). Run: python3 make_seeds.py"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = bytes((i * 37 + 11) % 240 for i in range(64))  # finite values

def forward(batch=0, kv=0, g=1, lq=31, lk=63, d=1, fmt=0, flags=0, seg=0, threads=2, bs=0, rows=b"\x00\x00",
            lens=b"\x00\x00\x00\x00", lse=b"\x00", overlap=b"\x00", extra=b""):
    head = bytes([batch, kv, g, lq, lk, d, fmt, flags, 0, threads, seg, bs, 0, 0, 0, 0, 0])
    # rows: one byte per query block row (0 = all columns from 0); then: no corrupted offset, the true column
    # count, non-NULL arrays, a segment-id pattern byte when seg >= 128
    body = rows + b"\x00\x00\x00" + (b"\x05" if seg >= 128 else b"") + lens + lse + TABLE + overlap
    return head + body + extra

SEEDS = {
    "fuzz_forward": {
        "valid-bhsd": forward(),
        "valid-bshd-causal-gqa": forward(fmt=1, flags=1, g=2, kv=1),
        "valid-segments": forward(seg=200),
        "valid-sparse-rows": forward(rows=b"\x41\x02"),
        "fail-short-q": forward(lens=b"\xa0\x00\x00\x00"),
        "fail-out-overlaps-q": forward(overlap=b"\xc8\x04\x00"),
        "fail-huge-heads": forward(kv=227),
        "fail-bad-format": forward(fmt=251, extra=b"\x07\x00\x00\x00"),
    },
    "fuzz_merge": {
        "valid": bytes([0, 1, 7, 7, 0, 0, 0, 0]) + TABLE[:32] + b"\x00",
        "valid-in-place": bytes([1, 2, 3, 15, 1, 0, 0, 0]) + TABLE[:32] + b"\xa0",
        "fail-partial-overlap": bytes([0, 1, 7, 7, 0, 0, 0, 0]) + TABLE[:32] + b"\xe0\x03",
        "fail-short-lse": bytes([0, 1, 7, 7, 0, 0, 0, 0xa0]) + TABLE[:32] + b"\x00",
        "fail-overflow": bytes([227, 227, 227, 227, 0, 0, 0xe2, 0xe2]) + TABLE[:32] + b"\x00",
    },
}
# The CUDA host harness reads the forward harness's inputs (the element type follows the input's length).
SEEDS["fuzz_cuda"] = dict(SEEDS["fuzz_forward"])
SEEDS["fuzz_cuda"]["fail-f16-head-dim"] = forward(d=2, extra=b"\x00")

for harness, seeds in SEEDS.items():
    folder = os.path.join(HERE, "corpus", harness)
    os.makedirs(folder, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(folder, "seed-" + name), "wb") as f:
            f.write(data)
print("wrote", sum(len(s) for s in SEEDS.values()), "seeds under", os.path.join(HERE, "corpus"))
