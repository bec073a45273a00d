#!/usr/bin/python3
"""PyTorch CPU baseline for uce_bench_brain: the SAME UCE-brain folder and sentence
(bench/make_synthetic_brain.py) through torch.nn modules as UCE-brain builds them
(tests/reference/uce_brain_reference.build_modules: nn.TransformerEncoder with batch_first,
post-norm, gelu, boolean src_key_padding_mask), float32, eval, no_grad,
torch.set_num_threads(THREADS).

    /usr/bin/python3 bench/pytorch_brain_baseline.py /tmp/uce-brain-bench [--threads 2] [--cells 4]
                                                     [--batch 1] [--warmup 1] [--device cpu|cuda]
                                                     [--precision fp32|bf16]

--device cuda runs the same on the GPU (TF32 off, so fp32 is true fp32); --precision bf16 wraps
the timed call in bf16 autocast (the GPU comparison for the engine's fp16 paths).

Timed per call (`batch` copies of the sentence, no padding, mask all False): positional encoding,
the encoder on all n rows, the output projector and L2 norm of the CLS row. The token part
(embedding LayerNorm + 5120->512 projector) is computed once beforehand, as the engine does per
run. Prints "RESULT pytorch key=value ..." (per-cell = call / batch).
"""
import argparse
import json
import os
import statistics
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import uce_brain_reference as ref  # noqa: E402
from torch_timing import openblas_core, time_calls  # noqa: E402  (bench/, the script's own folder)


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype="<f4").reshape(v["shape"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cells", type=int, default=4)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    a = ap.parse_args()
    dev = torch.device(a.device)
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    def sync():
        if cuda:
            torch.cuda.synchronize()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(os.path.join(a.model, "config.json")))
    sd = read_safetensors(os.path.join(a.model, "model.safetensors"))
    sentence = np.load(os.path.join(a.model, "sentence.npy"))
    n = sentence.size
    # build_modules builds float64 modules from float64 arrays; convert the tree back to float32.
    m = ref.build_modules(sd, cfg).float().eval().to(dev)

    with torch.no_grad():
        tokens = torch.from_numpy(sentence.astype(np.int64)).to(dev)
        x = m.embedding(tokens)
        x = m.proj(m.layer_norm(x))  # once per run, not timed (the engine caches it too)
        x = x[None].repeat(a.batch, 1, 1).contiguous()
        mask = torch.zeros(a.batch, n, dtype=torch.bool, device=dev)

        def call():
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.precision == "bf16"):
                h = m.encoder(m.pos(x), src_key_padding_mask=mask)
                y = m.out(h[:, 0, :])
            out = F.normalize(y.float(), dim=-1)
            sync()
            return out

        calls = (a.cells + a.batch - 1) // a.batch
        times, cpu, emb = time_calls(call, calls, a.warmup, cells_per_call=a.batch)
    assert torch.isfinite(emb).all()
    print("embedding[0][:6]: " + " ".join(f"{v:.6f}" for v in emb[0, :6].tolist()))
    med = statistics.median(times)
    cpu_cell = cpu / (calls * a.batch)
    d, L, ff = cfg["d_model"], cfg["num_layers"], cfg["dim_feedforward"]
    layer = 2 * n * d * 3 * d + 4 * n * n * d + 2 * n * d * d + 4 * n * d * ff
    gflop = (L * layer + 2 * d * cfg["output_embedding_dim"]) * 1e-9  # all rows in every layer
    print(f"torch {torch.__version__}, {a.threads} threads, OpenBLAS core {openblas_core()}, "
          f"OPENBLAS_CORETYPE {os.environ.get('OPENBLAS_CORETYPE', '(not set)')}")
    print(f"forward: n = {n}, batch {a.batch}, {calls * a.batch} cells: per cell median {med:.4f} s "
          f"(min {min(times):.4f}, max {max(times):.4f}); CPU {cpu_cell:.4f} s/cell; "
          f"{gflop:.2f} GFLOP/cell = {gflop / med:.1f} GFLOP/s")
    print(f"RESULT pytorch device={a.device} precision={a.precision} threads={a.threads} batch={a.batch} cells={calls * a.batch} n={n} "
          f"sec_per_cell_median={med:.6f} sec_per_cell_min={min(times):.6f} sec_per_cell_max={max(times):.6f} "
          f"ms_per_cell={med * 1e3:.2f} cells_per_s={1 / med:.3f} cpu_sec_per_cell={cpu_cell:.6f} "
          f"gflop_per_cell={gflop:.4f} coretype_env={os.environ.get('OPENBLAS_CORETYPE', 'unset')} "
          f"core={openblas_core()}")


if __name__ == "__main__":
    main()
