#!/usr/bin/python3
"""PyTorch baseline for the forward-pass benchmark: the SAME checkpoint and sentence as
uce_bench_forward, run with the official module structure (tests/reference/uce_reference.py
UceOriginalModel: nn.TransformerEncoder, seq-first, decoder_hidden 1024), batch size 1, eval,
no_grad, torch.set_num_threads(THREADS).

  /usr/bin/python3 bench/pytorch_baseline.py /tmp/uce-bench [--threads 2] [--cells 4] [--warmup 1]
                                             [--variant official|cached-tokens|both]

Variants (per cell, timed):
  official       what the official run_eval does per cell: pe_embedding gather, L2 normalise, the
                 5120->1280 token encoder on every sentence position, positional encoding, the
                 transformer encoder, the decoder on every position, normalise row 0.
  cached-tokens  the same without the token part: the encoder output of the sentence is computed
                 once beforehand (as the engine does per run), the rest is timed.
Prints one machine-readable line per variant: "RESULT pytorch variant=... key=value ...".
"""
import argparse
import json
import math
import os
import statistics
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import uce_reference as ref  # noqa: E402
from torch_timing import openblas_core, time_calls  # noqa: E402  (bench/, the script's own folder)


def load_model(model_dir, threads):
    meta = json.load(open(os.path.join(model_dir, "meta.json")))
    model = ref.UceOriginalModel(meta["token_dim"], meta["d_model"], meta["heads"], meta["d_ff"], meta["layers"],
                                 meta["output_dim"], meta["table_rows"], decoder_hidden=meta["decoder_hidden"])
    state = torch.load(os.path.join(model_dir, "model.torch"))
    model.load_state_dict(state)
    # The official run_eval sets pe_embedding from all_tokens.torch (its rule picks this file here:
    # its row count is neither the ESM-only nor the full count).
    table = torch.load(os.path.join(model_dir, "all_tokens.torch"))
    model.pe_embedding = nn.Embedding.from_pretrained(table)
    model.eval()
    return model, meta


def official_cell(model, tokens, mask):
    """One cell as the official run_eval does it (tokens [n, 1] seq-first, mask [1, n])."""
    src = nn.functional.normalize(model.pe_embedding(tokens), dim=2)
    _, emb = model(src, mask)
    return emb


def cached_token_cell(model, projected, mask):
    """The same forward from the already-projected tokens (encoder(src) * sqrt(d) cached)."""
    src = model.pos_encoder(projected)
    out = model.transformer_encoder(src, src_key_padding_mask=(1 - mask))
    gene_out = model.decoder(out)
    return nn.functional.normalize(gene_out[0, :, :], dim=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--cells", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--variant", choices=["official", "cached-tokens", "both"], default="both")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model, meta = load_model(a.model_dir, a.threads)
    sentence = np.load(os.path.join(a.model_dir, "sentence.npy"))
    n = len(sentence)
    tokens = torch.as_tensor(sentence, dtype=torch.long).unsqueeze(1)  # [n, 1], seq-first
    mask = torch.ones(1, n)
    core = openblas_core()
    coretype = os.environ.get("OPENBLAS_CORETYPE", "unset")
    print(f"pytorch {torch.__version__}, {torch.get_num_threads()} threads, OpenBLAS core {core}, "
          f"OPENBLAS_CORETYPE {coretype}; model {meta['layers']} layers, n = {n}")

    d, L, ff, td = meta["d_model"], meta["layers"], meta["d_ff"], meta["token_dim"]
    h, o = meta["decoder_hidden"], meta["output_dim"]
    # Matrix-product FLOPs of what PyTorch runs per cell (every layer and the decoder on all n rows).
    layer = 2 * n * d * 3 * d + 4 * n * n * d + 2 * n * d * d + 4 * n * d * ff
    decoder = 2 * n * (d * h + h * o + 2 * o * o)
    flops = {"official": 2 * n * td * d + L * layer + decoder, "cached-tokens": L * layer + decoder}

    variants = ["official", "cached-tokens"] if a.variant == "both" else [a.variant]
    with torch.no_grad():
        projected = model.encoder(nn.functional.normalize(model.pe_embedding(tokens), dim=2)) * math.sqrt(d)
        ref_emb = official_cell(model, tokens, mask)
        assert torch.allclose(ref_emb, cached_token_cell(model, projected, mask), atol=1e-5)
        fns = {"official": lambda: official_cell(model, tokens, mask),
               "cached-tokens": lambda: cached_token_cell(model, projected, mask)}
        for v in variants:
            t, cpu, _ = time_calls(fns[v], a.cells, a.warmup)
            med = statistics.median(t)
            cpu_per_cell = cpu / len(t)
            print(f"{v}: per cell median {med:.4f} s (min {min(t):.4f}, max {max(t):.4f}, {len(t)} cells), "
                  f"{1 / med:.3f} cells/s, {flops[v] * 1e-9:.2f} GFLOP per cell = {flops[v] / med * 1e-9:.1f} GFLOP/s; process CPU time per cell {cpu_per_cell:.4f} s")
            print(f"RESULT pytorch variant={v} core={core} coretype_env={coretype} threads={a.threads} batch=1 "
                  f"cells={len(t)} n={n} sec_per_cell_median={med:.6f} sec_per_cell_min={min(t):.6f} "
                  f"sec_per_cell_max={max(t):.6f} cells_per_s={1 / med:.4f} cpu_sec_per_cell={cpu_per_cell:.6f} gflop_per_cell={flops[v] * 1e-9:.4f} "
                  f"forward_gflops={flops[v] / med * 1e-9:.2f}", flush=True)


if __name__ == "__main__":
    main()
