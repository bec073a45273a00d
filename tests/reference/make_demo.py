#!/usr/bin/python3
"""Make demo/: a small synthetic ORIGINAL-UCE model in the official file formats and a small
synthetic count matrix (demo/cells.h5ad) to try `uce-run` on, without downloading anything.

Run once with Debian's python (torch 1.13, numpy 1.24, scipy, anndata 0.8):
    /usr/bin/python3 tests/reference/make_demo.py
Seeded and deterministic. The weights are random: the embeddings mean nothing biologically, but
cells of one type share their highly expressed genes, so their sentences (and embeddings) are alike.
"""
import json
import os
import shutil
import sys

import anndata
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uce_reference as ref  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "demo")

HYPER = dict(token_dim=128, d_model=64, nhead=4, d_hid=128, nlayers=2, decoder_hidden=64,
             output_dim=64, max_len=1536)
BINARY_HIDDEN = (32, 16, 8)
SPECIAL = dict(pad=0, close=2, cls=3)
N_SPECIAL_ROWS = 4
N_MODEL_GENES = 2000
CHROMS = [str(i) for i in range(1, 23)] + ["X", "Y", "MT", "KI270728.1"]
PT_NAME = "Homo_sapiens.GRCh38.gene_symbol_to_embedding_ESM2.pt"

MARKERS = {
    "T cell": ["CD3E", "CD3D", "CD2", "IL7R", "LCK", "CD8A", "GZMK", "TRAC"],
    "B cell": ["MS4A1", "CD79A", "CD79B", "CD19", "PAX5", "BANK1", "CD22"],
    "monocyte": ["CD14", "LYZ", "S100A8", "S100A9", "FCN1", "VCAN", "CSF1R"],
    "NK cell": ["NKG7", "GNLY", "KLRD1", "PRF1", "GZMB", "FCGR3A", "KLRF1"],
    "platelet": ["PPBP", "PF4", "GP9", "ITGA2B", "TUBB1", "GP1BA"],
}
HOUSEKEEPING = ["ACTB", "GAPDH", "B2M", "TMSB4X", "FTL", "FTH1", "EEF1A1", "TPT1", "MT-CO1", "MT-ND1",
                "MT-CYB", "MT-ATP6"]
CELLS_PER_TYPE = {"T cell": 90, "B cell": 55, "monocyte": 70, "NK cell": 45, "platelet": 34}
N_LOW_QUALITY = 6            # cells with < 25 expressed genes: dropped by the default filter


def model_gene_symbols(rng):
    named = [g for genes in MARKERS.values() for g in genes] + HOUSEKEEPING
    families = ([f"RPL{i}" for i in range(3, 41)] + [f"RPS{i}" for i in range(2, 30)] +
                [f"ZNF{100 + i}" for i in range(600)] + [f"SLC{a}A{b}" for a in range(1, 41) for b in range(1, 6)] +
                [f"TMEM{10 + i}" for i in range(350)] + [f"FAM{100 + i}{'ABC'[i % 3]}" for i in range(200)] +
                [f"CCDC{10 + i}" for i in range(150)] + [f"LRRC{i}" for i in range(1, 101)] +
                [f"ANKRD{i}" for i in range(1, 61)] + [f"C{1 + i % 22}orf{50 + i}" for i in range(150)] +
                [f"OR{1 + i % 13}{'ABCDEFGHJKLM'[i % 12]}{i}" for i in range(200)] + [f"KRT{i}" for i in range(1, 81)])
    need = N_MODEL_GENES - len(named)
    pool = list(dict.fromkeys(g for g in families if g not in named))
    picked = [pool[i] for i in sorted(rng.choice(len(pool), size=need, replace=False))]
    syms = named + picked
    assert len(set(s.upper() for s in syms)) == N_MODEL_GENES
    return [syms[i] for i in rng.permutation(len(syms))]       # dict order: not alphabetical


def non_model_symbols():
    return ([f"LINC{i:05d}" for i in range(1, 301)] + [f"MIR{100 + i}HG" for i in range(100)] +
            [f"AC{10000 + 7 * i:06d}.1" for i in range(150)] + ["MALAT1", "NEAT1"] +
            [f"SNORD{i}" for i in range(1, 49)])                  # 600 genes without a protein


def make_expression(rng, genes):
    """Counts [cells, genes] with cell-type programs: each type boosts its markers and ~60 genes
    of its own, on top of a shared log-normal baseline; library sizes ~2,500 UMIs."""
    G = len(genes)
    col = {g: j for j, g in enumerate(genes)}
    base = rng.lognormal(mean=-1.0, sigma=1.6, size=G)
    for g in HOUSEKEEPING + [g for g in genes if g.startswith(("RPL", "RPS"))]:
        if g in col:
            base[col[g]] *= 40.0
    programs = {}
    for t, markers in MARKERS.items():
        boost = np.ones(G)
        boost[rng.choice(G, size=60, replace=False)] = rng.uniform(8, 30, size=60)
        for m in markers:
            boost[col[m]] = rng.uniform(60, 150)
        programs[t] = base * boost / np.sum(base * boost)
    types, rows = [], []
    for t, n in CELLS_PER_TYPE.items():
        for _ in range(n):
            size = rng.lognormal(mean=np.log(2500), sigma=0.35)
            lam = programs[t] * size * rng.gamma(shape=3.0, scale=1 / 3.0, size=G)   # over-dispersion
            rows.append(rng.poisson(lam))
            types.append(t)
    for i in rng.choice(len(rows), size=N_LOW_QUALITY, replace=False):   # damaged cells: few genes
        r = np.zeros(G, dtype=np.int64)
        k = int(rng.integers(8, 20))
        r[rng.choice(G, size=k, replace=False)] = rng.integers(1, 4, size=k)
        rows[i] = r
    order = rng.permutation(len(rows))                                  # interleave the types
    X = np.stack([rows[i] for i in order])
    return X, [types[i] for i in order]


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(77)
    gen = torch.Generator().manual_seed(4321)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "protein_embeddings"))

    # --- model files ------------------------------------------------------------------------
    genes = model_gene_symbols(rng)
    offsets = {"human": N_SPECIAL_ROWS}
    esm_rows = N_SPECIAL_ROWS + len(genes)
    csv_rows = []
    no_csv = set(rng.choice(len(genes), size=40, replace=False).tolist())  # model genes without position
    extra = non_model_symbols()[:200]                                     # csv rows for non-model genes
    starts = rng.choice(np.arange(10_000, 248_000_000, 997), size=len(genes) + len(extra), replace=False)
    chrom_of = list(CHROMS) + [CHROMS[int(c)] for c in rng.integers(0, 24, len(genes) + len(extra) - len(CHROMS))]
    chrom_of = [chrom_of[i] for i in rng.permutation(len(chrom_of))]
    for i, g in enumerate(genes + extra):
        if i < len(genes) and i in no_csv:
            continue
        ch = "MT" if g.startswith("MT-") else chrom_of[i]
        csv_rows.append((g, "human", ch, int(starts[i])))
    csv_rows = [csv_rows[i] for i in rng.permutation(len(csv_rows))]
    cats = ref.chrom_categories(csv_rows)
    full_rows = esm_rows + len(cats)

    table = torch.randn(full_rows, HYPER["token_dim"], generator=gen) * 0.3
    table[esm_rows:] = torch.randn(len(cats), HYPER["token_dim"], generator=gen)
    model = ref.UceOriginalModel(HYPER["token_dim"], HYPER["d_model"], HYPER["nhead"], HYPER["d_hid"],
                                 HYPER["nlayers"], HYPER["output_dim"], full_rows,
                                 decoder_hidden=HYPER["decoder_hidden"], binary_hidden=BINARY_HIDDEN,
                                 max_len=HYPER["max_len"])
    ref.randomize_model(model, gen, in_proj_std_per_layer=[0.025, 0.18])
    model.pe_embedding = torch.nn.Embedding.from_pretrained(table.clone())
    torch.save(model.state_dict(), os.path.join(OUT, "model.torch"))
    ref.save_tensor(os.path.join(OUT, "all_tokens.torch"), table)
    ref.save_protein_embeddings(os.path.join(OUT, "protein_embeddings", PT_NAME),
                                [(g, table[offsets["human"] + i]) for i, g in enumerate(genes)])
    ref.save_offsets(os.path.join(OUT, "species_offsets.pkl"), offsets)
    ref.save_species_chrom(os.path.join(OUT, "species_chrom.csv"), csv_rows)

    # --- cells.h5ad ---------------------------------------------------------------------------
    named = set(g for gs in MARKERS.values() for g in gs) | set(HOUSEKEEPING)
    others = [g for g in genes if g not in named]
    in_var = sorted(named) + [others[i] for i in sorted(rng.choice(len(others), size=1900 - len(named),
                                                                   replace=False))]
    var_genes = in_var + non_model_symbols()
    var_genes = [var_genes[i] for i in rng.permutation(len(var_genes))]
    for m in [g for gs in MARKERS.values() for g in gs] + HOUSEKEEPING:   # markers must be present
        assert m in var_genes, m
    counts, types = make_expression(rng, var_genes)
    X = sp.csr_matrix(counts.astype(np.float32))
    obs = pd.DataFrame({"cell_type": pd.Categorical(types, categories=sorted(CELLS_PER_TYPE)),
                        "n_counts": counts.sum(axis=1).astype(np.float32)},
                       index=[f"cell_{i:04d}" for i in range(counts.shape[0])])
    var = pd.DataFrame(index=pd.Index(var_genes, name=None))
    adata = anndata.AnnData(X=X, obs=obs, var=var)
    adata.write_h5ad(os.path.join(OUT, "cells.h5ad"))

    # --- facts for the README and the manifest --------------------------------------------------
    nnz_genes_per_cell = (counts > 0).sum(axis=1)
    cells_per_gene = (counts > 0).sum(axis=0)
    keep_genes = cells_per_gene >= 10
    # official order (scanpy): filter_genes(min_cells=10), then filter_cells(min_genes=25) on what
    # is left; the demo is built so that counting over all genes gives the same cells
    keep_cells = (counts[:, keep_genes] > 0).sum(axis=1) >= 25
    assert np.array_equal(keep_cells, nnz_genes_per_cell >= 25)
    upper_pt = {g.upper() for g in genes}
    upper_csv = {r[0].upper() for r in csv_rows}
    model_var = [g for g, k in zip(var_genes, keep_genes) if k and g.upper() in upper_pt]
    facts = {
        "cells": int(counts.shape[0]), "genes": int(counts.shape[1]), "nnz": int(X.nnz),
        "cells_dropped_by_filter": [f"cell_{i:04d}" for i in np.where(~keep_cells)[0]],
        "genes_dropped_by_filter": int((~keep_genes).sum()),
        "genes_in_model_after_filter": len(model_var),
        "genes_in_model_without_csv_row_after_filter": int(sum(g.upper() not in upper_csv for g in model_var)),
        "min_genes_per_cell_kept": int(nnz_genes_per_cell[keep_cells].min()),
    }
    manifest = {
        "what": "synthetic original-UCE model (random weights) in the official file formats",
        "generator": "tests/reference/make_demo.py",
        "files": {"model": "model.torch", "token_file": "all_tokens.torch",
                  "species_chrom_csv": "species_chrom.csv", "species_offsets_pkl": "species_offsets.pkl",
                  "protein_embeddings_dir": "protein_embeddings",
                  "protein_embeddings": {"human": "protein_embeddings/" + PT_NAME}},
        "species": "human",
        "hyper": {**HYPER, "head_dim": HYPER["d_model"] // HYPER["nhead"],
                  "binary_decoder_hidden": list(BINARY_HIDDEN)},
        "cls_token": SPECIAL["cls"], "close_token": SPECIAL["close"], "pad_token": SPECIAL["pad"],
        "chrom_token_offset": full_rows - len(cats), "n_chrom_categories": len(cats),
        "esm_rows": esm_rows, "full_rows": full_rows,
        "table_used": "checkpoint (all_tokens.torch has full_rows rows; here it is identical to pe_embedding.weight)",
        "species_offsets": offsets, "sample_size": 1024, "pad_length": 1536,
        "dataset": {"file": "cells.h5ad", **facts},
    }
    with open(os.path.join(OUT, "model_manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    write_readme(manifest, facts, len(genes), len(csv_rows), cats)
    print(json.dumps(facts, indent=1))


def write_readme(manifest, facts, n_genes, n_csv, cats):
    h = manifest["hyper"]
    text = f"""# Demo data (synthetic)

Made by `/usr/bin/python3 tests/reference/make_demo.py` (seeded, deterministic; torch 1.13,
numpy 1.24, anndata 0.8). Nothing here comes from a real model or a real experiment: the model
has RANDOM weights, so the embeddings it gives are only good for trying the tool and its
plumbing (cells of one type share highly expressed genes, so their sentences look alike).

## Model files (official original-UCE formats, read directly by the engine)
| file | content |
|---|---|
| `model.torch` | `torch.save(state_dict)` with the official keys; token_dim {h['token_dim']}, d_model {h['d_model']}, heads {h['nhead']}, feed-forward {h['d_hid']}, {h['nlayers']} layers, decoder hidden {h['decoder_hidden']}, output {h['output_dim']}, max positions {h['max_len']} |
| `all_tokens.torch` | token table float32 [{manifest['full_rows']}, {h['token_dim']}]: rows 0-3 special tokens, rows 4..{manifest['esm_rows'] - 1} the {n_genes} human genes, then {len(cats)} chromosome rows |
| `species_chrom.csv` | {n_csv} rows `gene_symbol,species,chromosome,start` ({len(cats)} chromosome categories incl. MT and a scaffold; 40 model genes have no row, 200 rows are genes without a protein) |
| `species_offsets.pkl` | `{{'human': 4}}` |
| `protein_embeddings/{PT_NAME}` | dict symbol -> tensor[{h['token_dim']}], {n_genes} keys in non-alphabetical order |
| `model_manifest.json` | the values the engine's configuration needs (heads, CLS {manifest['cls_token']}, close {manifest['close_token']}, PAD {manifest['pad_token']}, chrom_token_offset {manifest['chrom_token_offset']}, esm_rows {manifest['esm_rows']}, full_rows {manifest['full_rows']}) and facts about cells.h5ad |

The token file has `full_rows` rows, so by the official rule the checkpoint's own
`pe_embedding.weight` is used (here it is identical to all_tokens.torch).

## cells.h5ad (written with anndata 0.8)
- {facts['cells']} cells x {facts['genes']} genes, X = CSR float32 holding integer counts ({facts['nnz']} non-zeros).
- `var` index = gene symbols: 1900 model genes plus 600 without a protein embedding (LINC*, MIR*HG, AC*.1, SNORD*, MALAT1, NEAT1).
- `obs`: `cell_type` (categorical: {', '.join(sorted(CELLS_PER_TYPE))}) and `n_counts` (float32 total counts).
- Each type has its own program (markers such as CD3E, MS4A1, CD14/LYZ, NKG7/GNLY, PPBP/PF4, plus ~60 boosted genes).
- Default filter (genes in >= 10 cells, then cells with >= 25 genes) drops {len(facts['cells_dropped_by_filter'])} cells
  ({', '.join(facts['cells_dropped_by_filter'])}) and {facts['genes_dropped_by_filter']} genes; after it,
  {facts['genes_in_model_after_filter']} genes match the model ({facts['genes_in_model_without_csv_row_after_filter']} of them have no species_chrom row and are dropped with a log line).
"""
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
