#!/usr/bin/python3
"""Make tests/fixtures/brain_e2e: a small .h5ad and what `uce-run` with `[model] family = "uce-brain"`
must produce for it, computed here in Python, independently of the C++ code.

Run once with Debian's python (torch 1.13, numpy 1.24, anndata 0.8):
    /usr/bin/python3 tests/reference/make_brain_e2e_fixture.py

Uses the tiny checkpoints of tests/fixtures/uce_brain_tiny (made by make_brain_fixtures.py) and
re-enacts UCE-brain's own inference (uce-brain-notes.md §2-3, uce-models.md §2) end to end:
  * gene alignment: the mapping JSON's symbols, exact (H5ADDataset's default) or case-insensitive
    (upper-case both sides; a dict comprehension over the file's items, so the last entry wins);
    h5ad column order, duplicates kept; no filtering of genes or cells;
  * per cell (row idx): c = counts of the aligned genes as float32; w = log1p(c) / max(sum, 1e-8) in
    torch float32; rng = np.random.default_rng(idx); rng.choice(G, sample_size, p=w, replace=True);
    argsort by chromosome, np.unique, rng.shuffle, per chromosome its genes by location:
    [CLS] (chrom + offset) genes... close ... ; padded to pad_length;
  * embeddings: the float64 forward pass of tests/reference/uce_brain_reference.py over the padded
    sentences (and the same in float32, for scale), from the weights read out of model.safetensors.
The sentences are cross-checked against tests/reference/sentences_numpy.py (mode numpy-per-cell),
whose weights follow cell-sentences.md §2.1 (the extra float32 renormalisation); both must agree
token for token, so no draw of this fixture sits on a probability-rounding bin edge.

Runs (manifest.json "runs"; the e2e test tests/run/test_uce_run.py case brain_numpy_per_cell):
  post_cls  cls readout, token layout from config.json, exact gene matching
  mean_post mean readout (pad rows "zeroed", the engine's auto choice for post-norm), token layout
            given in the run config (its config.json has none), case-insensitive matching
"""
import json
import os
import struct
import sys

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sentences_numpy  # noqa: E402
import uce_brain_reference as ref  # noqa: E402

TINY = os.path.join(HERE, "..", "fixtures", "uce_brain_tiny")
OUT = os.path.join(HERE, "..", "fixtures", "brain_e2e")
N_CELLS = 40
SPECIES = "human"

# What the run config must say for each run; layout keys are absent when config.json gives them.
RUNS = {
    "post_cls": dict(model="post_cls", case_insensitive=False, layout_in_run_config={}),
    "mean_post": dict(model="mean_post", case_insensitive=True,
                      layout_in_run_config=dict(cls_token=1, chrom_token_offset=180, chrom_close_token=2,
                                                pad_token=0, pad_length=64, sample_size=40)),
}


def read_safetensors(path):
    """{name without the "uce." prefix: float64 array}; the format by hand (8-byte LE header length,
    JSON header, raw little-endian data)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32", (name, h["dtype"])
        a, b = h["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype="<f4").reshape(h["shape"])
        key = name[len("uce."):] if name.startswith("uce.") else name
        out[key] = arr.astype(np.float64)
    return out


def load_model(name):
    d = os.path.join(TINY, name)
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    cfg.setdefault("dim_feedforward", cfg["d_model"] * cfg.get("expansion_factor", 4))
    return cfg, read_safetensors(os.path.join(d, "model.safetensors"))


def token_layout(cfg, run):
    """Run config > config.json keys > the pilot's defaults (uce-models.md §2)."""
    pilot = dict(cls_token=1, chrom_token_offset=1000, chrom_close_token=2000, pad_token=0, pad_length=2048,
                 sample_size=1024)
    from_cfg = dict(cls_token="cls_token_idx", chrom_token_offset="chrom_token_offset",
                    chrom_close_token="chrom_token_right_idx", pad_token="pad_token_idx", pad_length="pad_length",
                    sample_size="sample_size")
    lay = {}
    for k, v in pilot.items():
        lay[k] = run["layout_in_run_config"].get(k, cfg.get(from_cfg[k], v))
    return lay


def make_var(mapping, rng):
    """Symbols: mostly known (exact case), a few unknown, a few in another case, one duplicate."""
    human = mapping[SPECIES]
    known = [f"GENE{i}" for i in sorted(rng.choice(100, 46, replace=False))] + ["ACTB", "GAPDH", "HLA-A",
                                                                               "MT-ND1", "C1ORF159"]
    unknown = ["NOTAGENE", "XIST", "FOO-1", "Cd3e", "GENE100"]
    other_case = ["gene200", "Gapdh", "c1orf159", "abc1", "LOWERCASE1", "Gene7"]
    for s in known:
        assert s in human, s
    for s in unknown:
        assert s not in human and s.upper() not in {k.upper() for k in human}, s
    var = known + unknown + other_case + [known[3]]  # a duplicated symbol: kept twice
    order = rng.permutation(len(var))
    var = [var[i] for i in order]
    assert not var[0].startswith("ENS")  # UCE-brain would look for a symbol column instead
    return var


def align(mapping, var, case_insensitive):
    """UCE-brain's gene alignment: kept h5ad columns (in order) and their mapping rows."""
    genes = mapping[SPECIES]
    lookup = {k.upper(): v for k, v in genes.items()} if case_insensitive else dict(genes)
    keys = [s.upper() if case_insensitive else s for s in var]
    kept = [i for i, k in enumerate(keys) if k in lookup]
    rows = [lookup[keys[i]] for i in kept]
    token = np.array([int(r["protein_embedding_id"]) for r in rows], np.int64)
    chrom = np.array([int(r["chromosome_id"]) for r in rows], np.int64)
    start = np.array([int(r["location"]) for r in rows], np.int64)
    return np.array(kept, np.int64), token, chrom, start


def make_counts(rng, n_var):
    """Integer counts, CSR; varied depth and sparsity; one cell with a single gene, large counts too."""
    dense = np.zeros((N_CELLS, n_var), np.int64)
    for i in range(N_CELLS):
        density = rng.uniform(0.05, 0.9)
        mask = rng.random(n_var) < density
        lam = rng.gamma(1.0, 4.0, n_var)
        dense[i, mask] = rng.poisson(lam[mask]) + 1
    dense[5, :] = 0
    dense[5, 7] = 3            # a single expressed column
    dense[11, 2] = 250_000     # beyond any small-count lookup table
    dense[17, :] = 1           # all genes equally likely
    return dense


def uce_brain_sentence(counts_aligned, row, token, chrom, start, lay):
    """UCE-brain's H5ADDataset + sampler for one cell (mask_prop 0)."""
    c = torch.tensor(counts_aligned, dtype=torch.float32)
    w = torch.log1p(c)
    w = w / torch.clamp(w.sum(), min=1e-8)
    rng = np.random.default_rng(row)
    choice = rng.choice(np.arange(len(token)), size=lay["sample_size"], p=w.numpy(), replace=True)
    choice = choice[np.argsort(chrom[choice])]
    chosen_chrom = chrom[choice]
    uq = np.unique(chosen_chrom)
    rng.shuffle(uq)
    out = [lay["cls_token"]]
    for ch in uq:
        out.append(int(ch) + lay["chrom_token_offset"])
        mine = choice[chosen_chrom == ch]
        mine = mine[np.argsort(start[mine])]
        out.extend(int(t) for t in token[mine])
        out.append(lay["chrom_close_token"])
    return out


def check_no_ties(token, chrom, start):
    """Distinct genes sharing (chrom, start) could legitimately come out in either order."""
    seen = {}
    for t, c, s in zip(token, chrom, start):
        assert seen.setdefault((int(c), int(s)), int(t)) == int(t), ("tie", c, s)


def float32_embeddings(sd64, cfg, tokens, lengths, pad_rows):
    """The same reference forward pass with every tensor in float32 (for scale only)."""
    orig = ref._t
    ref._t = lambda a: torch.from_numpy(np.asarray(a, dtype=np.float32))
    try:
        emb, _ = ref.forward_manual(sd64, cfg, tokens, lengths, pad_rows)
    finally:
        ref._t = orig
    return emb.numpy().astype(np.float32)


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(424242)
    with open(os.path.join(TINY, "gene_mapping.json")) as f:
        mapping = json.load(f)
    var = make_var(mapping, rng)
    dense = make_counts(rng, len(var))
    cells = [f"cell{i:02d}-{'ACGT'[i % 4]}" for i in range(N_CELLS)]
    obs = pd.DataFrame({"cell_type": pd.Categorical([["T", "B", "NK"][i % 3] for i in range(N_CELLS)])},
                       index=cells)
    X = sp.csr_matrix(dense.astype(np.int32))

    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):  # fresh outputs; README.md stays
        if f != "README.md":
            os.remove(os.path.join(OUT, f))
    manifest = {"format": "brain_e2e/1", "generator": "tests/reference/make_brain_e2e_fixture.py",
                "torch_version": torch.__version__, "numpy_version": np.__version__,
                "input": "cells.h5ad", "species": SPECIES, "cells": cells, "models_dir": "tests/fixtures/uce_brain_tiny",
                "gene_mapping": "tests/fixtures/uce_brain_tiny/gene_mapping.json", "runs": {}}
    for name, run in RUNS.items():
        cfg, sd = load_model(run["model"])
        lay = token_layout(cfg, run)
        kept, token, chrom, start = align(mapping, var, run["case_insensitive"])
        check_no_ties(token, chrom, start)
        sub = dense[:, kept]
        assert (sub.sum(1) > 0).all(), "every cell must have a count on an aligned gene"
        sents = [uce_brain_sentence(sub[i], i, token, chrom, start, lay) for i in range(N_CELLS)]
        # Cross-check with the sentence-spec reference (its own weights, numpy-per-cell mode).
        alt = sentences_numpy.sentences(sub, chrom, start, token, "numpy-per-cell", 0, sample_size=lay["sample_size"],
                                        cls_token=lay["cls_token"], close_token=lay["chrom_close_token"],
                                        chrom_offset=lay["chrom_token_offset"])
        assert alt == sents, f"{name}: UCE-brain sentences differ from sentences_numpy.py"
        P = lay["pad_length"]
        lengths = np.array([len(s) for s in sents], np.int64)
        assert lengths.max() <= P <= sd["pos_encoder.pe"].shape[0], (lengths.max(), P)
        tokens = np.full((N_CELLS, P), lay["pad_token"], np.int64)
        for i, s in enumerate(sents):
            tokens[i, :len(s)] = s
        assert tokens.max() < sd["embedding_layer.embedding.weight"].shape[0]
        mean = cfg["embedding_reduction"] == "mean"
        pad_rows = "zeroed" if (mean and not cfg.get("norm_first", False)) else "computed"
        emb64, _ = ref.forward_manual(sd, cfg, tokens, lengths, pad_rows)
        emb64 = emb64.numpy()
        emb2 = ref.forward_modules(sd, cfg, tokens, lengths, fast_path=(pad_rows == "zeroed")).numpy()
        assert np.abs(emb64 - emb2).max() < 1e-10, "the two float64 references disagree"
        emb32 = float32_embeddings(sd, cfg, tokens, lengths, pad_rows)
        d32 = float(np.linalg.norm(emb64 - emb32.astype(np.float64), axis=1).max())
        assert d32 < 1e-5, d32
        np.save(os.path.join(OUT, f"{name}_sentences.npy"), tokens)
        np.save(os.path.join(OUT, f"{name}_lengths.npy"), lengths)
        np.save(os.path.join(OUT, f"{name}_embedding64.npy"), emb64)
        np.save(os.path.join(OUT, f"{name}_embedding32.npy"), emb32)
        manifest["runs"][name] = {
            "model": run["model"], "readout": cfg["embedding_reduction"], "pad_rows": pad_rows,
            "case_insensitive": run["case_insensitive"], "layout": lay,
            "layout_in_run_config": run["layout_in_run_config"],
            "genes_used": int(len(kept)), "genes_in_file": len(var),
            "float32_vs_float64_max_l2": d32,
            "sentences": f"{name}_sentences.npy", "lengths": f"{name}_lengths.npy",
            "embedding64": f"{name}_embedding64.npy", "embedding32": f"{name}_embedding32.npy"}
        print(f"{name}: {len(kept)} of {len(var)} genes, lengths {lengths.min()}..{lengths.max()}, "
              f"float32 vs float64 max L2 {d32:.2e}")
    adata = ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=var), dtype=np.int32)
    adata.write_h5ad(os.path.join(OUT, "cells.h5ad"))
    # what anndata reads back is what we computed from
    back = ad.read_h5ad(os.path.join(OUT, "cells.h5ad"))
    assert list(back.var_names) == var and list(back.obs_names) == cells
    assert (back.X.toarray() == dense).all()
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(os.path.getsize(os.path.join(OUT, x)) for x in os.listdir(OUT))
    print(f"wrote {OUT} ({total / 1e3:.0f} KB)")


if __name__ == "__main__":
    main()
