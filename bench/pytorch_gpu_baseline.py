"""GPU PyTorch baseline for the backend shoot-out: the SAME synthetic checkpoint and sentence as
uce_bench_forward (bench/make_synthetic_model.py), run with the official module structure
(tests/reference/uce_reference.py UceOriginalModel: nn.TransformerEncoder, seq-first), on CUDA,
in fp32 (TF32 off, as the issue's 52 TFLOP/s peak) and with bf16 autocast, for several batch sizes
(the batch is B copies of the sentence, so no padding), the token encoder cached as the engine does.

  python3 bench/pytorch_gpu_baseline.py /tmp/uce-bench [--batches 1,8,32] [--cells 64]
Prints "RESULT pytorch-gpu precision=... batch=... cells_per_s=..." lines.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import uce_reference as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--cells", type=int, default=64)
    args = ap.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    meta = json.load(open(os.path.join(args.model_dir, "meta.json")))
    model = ref.UceOriginalModel(meta["token_dim"], meta["d_model"], meta["heads"], meta["d_ff"], meta["layers"],
                                 meta["output_dim"], meta["table_rows"], decoder_hidden=meta["decoder_hidden"])
    model.load_state_dict(torch.load(os.path.join(args.model_dir, "model.torch")))
    table = torch.load(os.path.join(args.model_dir, "all_tokens.torch"))
    model = model.cuda().eval()
    tokens = torch.from_numpy(np.load(os.path.join(args.model_dir, "sentence.npy")).astype(np.int64)).cuda()
    n = tokens.shape[0]
    with torch.no_grad():
        rows = nn.functional.normalize(table.cuda()[tokens], dim=1)
        projected = model.encoder(rows) * np.sqrt(meta["d_model"])  # cached per run, as the engine does
    for precision in ("fp32", "bf16"):
        for b in [int(x) for x in args.batches.split(",")]:
            src0 = projected[:, None, :].expand(n, b, meta["d_model"]).contiguous()
            mask = torch.ones(b, n, device="cuda")

            def step():
                with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
                    src = model.pos_encoder(src0)
                    out = model.transformer_encoder(src, src_key_padding_mask=(1 - mask))
                    z = model.decoder(out[0:1])
                    return nn.functional.normalize(z[0].float(), dim=1)

            step()
            torch.cuda.synchronize()
            iters = max(1, args.cells // b)
            t0 = time.perf_counter()
            for _ in range(iters):
                step()
            torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            print(f"RESULT pytorch-gpu precision={precision} batch={b} n={n} layers={meta['layers']} "
                  f"cells={iters * b} seconds={dt:.4f} cells_per_s={iters * b / dt:.1f}", flush=True)


if __name__ == "__main__":
    main()
