#!/usr/bin/env python3
"""cuBLAS through PyTorch at the GEMM shapes of the UCE models (batch 32 of n = 1073 / 1071 rows)
and at 8192^3: the rate the warpgroup tensor-core instructions reach on this GPU, against which
mma_peak (the warp-level instruction Vulkan's cooperative matrices become) and uce_vk_peak are
read. fp16 and bf16 inputs with f32 accumulation (PyTorch's default for both), and fp32 without
TF32. Median of 10 timed calls after 3 warm-up calls, CUDA events.

usage: python3 cublas_peak.py   (needs a CUDA GPU and PyTorch)
"""
import torch
import torch.nn.functional as F

SHAPES = [  # (label, rows, in, out): y[rows, out] = x[rows, in] W[out, in]^T
    ("uce q|k|v", 34336, 1280, 3840),
    ("uce attn.out", 34336, 1280, 1280),
    ("uce ffn.up", 34336, 1280, 5120),
    ("uce ffn.down", 34336, 5120, 1280),
    ("brain q|k|v", 34272, 512, 1536),
    ("brain ffn.up", 34272, 512, 2048),
    ("brain ffn.down", 34272, 2048, 512),
    ("square 8192", 8192, 8192, 8192),
]


def time_ms(fn):
    for _ in range(3):
        fn()
    times = []
    for _ in range(10):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return sorted(times)[len(times) // 2]


def main():
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
    torch.backends.cuda.matmul.allow_bf16_reduced_precision_reduction = False
    print(f"device: {torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    for label, rows, k, n in SHAPES:
        line = f"{label:16s} {rows:6d} x {k:5d} -> {n:5d}"
        for dtype in (torch.float16, torch.bfloat16, torch.float32):
            x = torch.randn(rows, k, device="cuda", dtype=dtype)
            w = torch.randn(n, k, device="cuda", dtype=dtype)
            ms = time_ms(lambda: F.linear(x, w))
            line += f"  {str(dtype).split('.')[-1]} {2.0 * rows * k * n / ms * 1e-9:7.1f} TFLOP/s"
            del x, w
        print(line, flush=True)


if __name__ == "__main__":
    main()
