#!/usr/bin/python3
"""Writes a synthetic original-UCE model for the forward-pass benchmark (not committed).

  /usr/bin/python3 bench/make_synthetic_model.py /tmp/uce-bench [--layers 4|33] [--n 1073]

Files in the folder:
  model.torch        torch.save of the state dict, official key names and the official shapes
                     (token dim 5120, d_model 1280, 20 heads, ff 5120, decoder 1280->1024->1280,
                     output 1280), with a SMALL token table (--table-rows, default 3000 rows):
                     tokens are projected once per run, so the table size does not affect the
                     per-cell speed this benchmark measures.
  all_tokens.torch   the same table as a standalone tensor (its row count is neither the ESM-only
                     nor the full count, so the engine uses this file, as the official rule says).
  sentence.npy       int64 [n]: one realistic cell sentence, n = 1073 by default =
                     CLS + 24 chromosome blocks (chromosome token, genes sorted, close token) holding
                     1024 gene draws, like the official sampler's 1024 samples per cell.
  meta.json          the shapes, ids and seed used.
Weights: realistic magnitudes (tests/reference/uce_reference.py randomize_model): LayerNorm gammas
in [0.5, 1.5], Linear weights ~N(0, 1/fan_in), in_proj std 1/sqrt(d_model).
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import uce_reference as ref  # noqa: E402

TOKEN_DIM, D_MODEL, HEADS, D_FF, OUTPUT, DECODER_HIDDEN = 5120, 1280, 20, 5120, 1280, 1024
PAD, CLOSE, CLS = 0, 2, 3  # official special ids


def make_sentence(rng, n, table_rows, n_chrom):
    """CLS, then n_chrom blocks [chromosome token, sorted gene draws, close]. Gene ids are drawn
    from the rows below the chromosome rows; chromosome tokens are the last n_chrom rows."""
    n_genes = n - 1 - 2 * n_chrom
    if n_genes < n_chrom:
        raise SystemExit(f"--n {n} is too short for {n_chrom} chromosome blocks")
    first_chrom = table_rows - n_chrom
    # Split the gene draws over the chromosomes (every block non-empty), in shuffled chromosome order.
    cuts = np.sort(rng.choice(np.arange(1, n_genes), n_chrom - 1, replace=False))
    sizes = np.diff(np.concatenate([[0], cuts, [n_genes]]))
    out = [CLS]
    for c, size in zip(rng.permutation(n_chrom), sizes):
        genes = np.sort(rng.integers(4, first_chrom, size))  # duplicates kept, adjacent after sort
        out += [first_chrom + int(c)] + [int(g) for g in genes] + [CLOSE]
    assert len(out) == n
    return np.asarray(out, dtype=np.int64)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--n", type=int, default=1073, help="sentence length (CLS included)")
    ap.add_argument("--table-rows", type=int, default=3000)
    ap.add_argument("--chromosomes", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    gen = torch.Generator().manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    torch.set_num_threads(2)
    model = ref.UceOriginalModel(TOKEN_DIM, D_MODEL, HEADS, D_FF, a.layers, OUTPUT, a.table_rows,
                                 decoder_hidden=DECODER_HIDDEN)
    ref.randomize_model(model, gen, in_proj_std_per_layer=[1.0 / math.sqrt(D_MODEL)] * a.layers)
    # ESM-2-like rows (the L2 norm makes the scale irrelevant), chromosome rows ~N(0, 1).
    table = torch.randn(a.table_rows, TOKEN_DIM, generator=gen) * 0.3
    table[a.table_rows - a.chromosomes:] = torch.randn(a.chromosomes, TOKEN_DIM, generator=gen)
    with torch.no_grad():
        model.pe_embedding.weight.copy_(table)
    torch.save(model.state_dict(), os.path.join(a.out_dir, "model.torch"))
    ref.save_tensor(os.path.join(a.out_dir, "all_tokens.torch"), table)

    sentence = make_sentence(rng, a.n, a.table_rows, a.chromosomes)
    np.save(os.path.join(a.out_dir, "sentence.npy"), sentence)
    meta = {"layers": a.layers, "token_dim": TOKEN_DIM, "d_model": D_MODEL, "heads": HEADS, "d_ff": D_FF,
            "decoder_hidden": DECODER_HIDDEN, "output_dim": OUTPUT, "table_rows": a.table_rows,
            "n": a.n, "chromosomes": a.chromosomes, "distinct_tokens": int(len(np.unique(sentence))),
            "ids": {"pad": PAD, "close": CLOSE, "cls": CLS, "first_chromosome": a.table_rows - a.chromosomes},
            "seed": a.seed}
    with open(os.path.join(a.out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"wrote {a.out_dir}: {a.layers} layers, table {a.table_rows} x {TOKEN_DIM}, sentence n = {a.n} "
          f"({meta['distinct_tokens']} distinct tokens)")


if __name__ == "__main__":
    main()
