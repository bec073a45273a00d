#!/usr/bin/python3
"""Make tests/fixtures/sentences/* (cell sentences, gene alignment, filtering) with numpy/pandas.

Run once with Debian's python (numpy 1.24, pandas 1.5):
    /usr/bin/python3 tests/reference/make_sentence_fixtures.py
Everything expected here comes from numpy's own generators and sorts (sentences_numpy.py),
pandas' CSV reader and Categorical (alignment), and plain numpy counting (filtering); the C++
code under test is never run to make these.

Files:
  cells.json            gene table, params, CSR counts, modes with seeds, lengths, tie tokens
  expected_<mode>.npy   int32, all sentences of that mode concatenated (skipped cells: length 0)
  expected_probs.npy    float32, p over each cell's non-zero genes (gene order), concatenated
  alignment/            species_chrom.csv, inputs.json, expected.json
  filter.json           a small count matrix (with non-integer/negative/NaN values) + decisions
"""
import json
import os
import sys

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import sentences_numpy as ref  # noqa: E402

OUT = os.path.join(HERE, "..", "fixtures", "sentences")


def check_spec_golden_values():
    """The golden values of cell-sentences.md §3 hold for this numpy."""
    p = np.array([0.1, 0, 0.25, 0.05, 0.6], dtype=np.float32)
    p = p / sum(p)
    np.random.seed(42)
    assert np.random.choice(5, 12, p=p).tolist() == [3, 4, 4, 4, 2, 2, 0, 4, 4, 4, 0, 4]
    a = np.arange(10)
    np.random.shuffle(a)
    assert a.tolist() == [9, 2, 8, 6, 0, 4, 3, 7, 1, 5]
    g = np.random.default_rng(7)
    assert g.choice(5, 12, p=p).tolist() == [4, 4, 4, 2, 2, 4, 0, 4, 4, 4, 2, 2]
    a = np.arange(10)
    g.shuffle(a)
    assert a.tolist() == [8, 4, 9, 3, 7, 5, 6, 1, 2, 0]


def make_rng_streams():
    """Raw numpy streams beyond the spec's golden values: SeedSequence seeding for large seeds,
    the per-cell derivation, and the 32-bit buffering of Generator draws."""
    rec = {"default_rng": [], "per_cell": [], "generator_mixed": None}
    for seed in [0, 1, 12345, 2**32 - 1, 2**32 + 5, 2**40 + 3, 2**64 - 1]:
        g = np.random.default_rng(seed)
        rec["default_rng"].append({"seed": str(seed),
                                   "raw": [str(int(v)) for v in g.bit_generator.random_raw(3)]})
    for seed, row in [(0, 0), (42, 7), (12345678901, 39), (2**64 - 1, 2**33 + 1)]:
        g = ref.per_cell_generator(seed, row)
        rec["per_cell"].append({"seed": str(seed), "row": str(row),
                                "raw": [str(int(v)) for v in g.bit_generator.random_raw(3)]})
    # Generator: doubles then 32-bit bounded draws (shuffle) then doubles again.
    g = np.random.default_rng(99)
    d1 = g.random(3).tolist()
    a = np.arange(37)
    g.shuffle(a)
    d2 = g.random(2).tolist()
    b = np.arange(5)
    g.shuffle(b)
    rec["generator_mixed"] = {"seed": 99, "d1": d1, "shuffle37": a.tolist(), "d2": d2,
                              "shuffle5": b.tolist()}
    # Legacy: the same, seed 2**32 - 1.
    np.random.seed(2**32 - 1)
    d1 = np.random.random_sample(3).tolist()
    a = np.arange(37)
    np.random.shuffle(a)
    rec["legacy_mixed"] = {"seed": 2**32 - 1, "d1": d1, "shuffle37": a.tolist()}
    with open(os.path.join(OUT, "rng.json"), "w") as f:
        json.dump(rec, f, indent=1)


# ---------------------------------------------------------------------------------------------
# Sentences

def make_gene_table(rng, n_genes=300, n_chroms=12):
    codes = np.sort(rng.choice(np.arange(40), n_chroms, replace=False)).astype(np.int64)
    chroms = codes[rng.integers(0, n_chroms, n_genes)]
    starts = np.zeros(n_genes, dtype=np.int64)
    for c in codes:                      # unique starts within each chromosome ...
        idx = np.nonzero(chroms == c)[0]
        starts[idx] = rng.choice(np.arange(1000, 5_000_000, 97), idx.size, replace=False)
    tokens = rng.choice(np.arange(5, 143574), n_genes, replace=False).astype(np.int64)
    # ... except one deliberate tie: genes 10 and 11 share chromosome and start.
    chroms[11] = chroms[10]
    starts[11] = starts[10]
    return tokens, chroms, starts


def make_counts(rng, n_genes, n_cells=40):
    X = np.zeros((n_cells, n_genes), dtype=np.int64)
    for r in range(n_cells):
        density = rng.uniform(0.02, 0.6)
        mask = rng.random(n_genes) < density
        X[r, mask] = rng.geometric(rng.uniform(0.03, 0.7), mask.sum())
    X[5] = 0                             # all-zero cell: skipped, no randomness consumed
    X[9] = 0
    X[9, 123] = 7                        # a single expressed gene
    X[13, 10] = 40                       # the tie genes, both strongly expressed
    X[13, 11] = 35
    X[21] = rng.integers(1, 60, n_genes)  # every gene expressed
    X[30, :5] = [5000, 1217, 428, 1, 2]  # large counts
    return X


def write_npy(name, array):
    np.save(os.path.join(OUT, name), array)


def make_sentences():
    rng = np.random.default_rng(20240601)
    tokens, chroms, starts = make_gene_table(rng)
    X = make_counts(rng, len(tokens))
    params = {"cls_token": 3, "close_token": 2, "pad_token": 0, "chrom_token_offset": 143574}
    runs = [("legacy_seed42", "numpy-legacy", 42, 1024),
            ("legacy_seed0", "numpy-legacy", 0, 200),
            ("numpy_per_cell", "numpy-per-cell", 0, 1024),
            ("per_cell_seed12345678901", "per-cell", 12345678901, 1024)]
    run_records = []
    for name, mode, seed, size in runs:
        sents = ref.sentences(X, chroms, starts, tokens, mode, seed, sample_size=size,
                              cls_token=params["cls_token"], close_token=params["close_token"],
                              chrom_offset=params["chrom_token_offset"])
        lengths = [0 if s is None else len(s) for s in sents]
        flat = np.array([t for s in sents if s is not None for t in s], dtype=np.int64)
        assert flat.max() < 2**31
        write_npy(f"expected_{name}.npy", flat.astype(np.int32))
        run_records.append({"name": name, "mode": mode, "seed": seed, "sample_size": size,
                            "lengths": lengths})
        # Cross-check against the official torch weights: report, do not fail.
        try:
            off = ref.sentences(X, chroms, starts, tokens, mode, seed, sample_size=size,
                                cls_token=params["cls_token"], close_token=params["close_token"],
                                chrom_offset=params["chrom_token_offset"],
                                weights=lambda c: None if not (c > 0).any() else ref.official_torch_weights(c))
            diff = sum(1 for a, b in zip(sents, off) if a != b)
            print(f"{name}: {diff} of {len(sents)} sentences differ from the official torch weights")
        except ImportError:
            pass
    probs = []
    prob_lengths = []
    for row in X:
        p = ref.probabilities(row)
        nz = np.nonzero(row > 0)[0]
        prob_lengths.append(int(nz.size))
        if p is not None:
            probs.extend(p[nz].tolist())
    write_npy("expected_probs.npy", np.array(probs, dtype=np.float32))
    indptr = [0]
    indices, data = [], []
    for row in X:
        nz = np.nonzero(row)[0]
        indices.extend(int(i) for i in nz)
        data.extend(int(v) for v in row[nz])
        indptr.append(len(indices))
    cells = {
        "genes": {"token": tokens.tolist(), "chrom": chroms.tolist(), "start": starts.tolist()},
        "params": params,
        "counts": {"n_rows": int(X.shape[0]), "indptr": indptr, "indices": indices, "data": data},
        "runs": run_records,
        "prob_lengths": prob_lengths,
        "tie_tokens": [int(tokens[10]), int(tokens[11])],
        "skipped_rows": [5],
    }
    with open(os.path.join(OUT, "cells.json"), "w") as f:
        json.dump(cells, f)


# ---------------------------------------------------------------------------------------------
# Gene alignment (spec §1 steps 2-4), the official pandas way plus the documented drop rules.

CSV_TEXT = (
    'note,start,species,gene_symbol,chromosome\r\n'
    'a,100,human,GENEA,1\r\n'
    'b,250,human,GENEB,1\r\n'
    '"c, with comma",80,human,GENEC,X\r\n'
    '"multi\r\nline",5000,human,GENED,2\r\n'
    'e,42,human,GENEE,MT\r\n'
    'dup,999,human,GENEA,2\r\n'            # repeats GENEA: first row wins
    'f,,human,GENEF,3\r\n'                 # no start: no position
    'g,77,human,Geneg,3\r\n'               # lower-case in the CSV: upper(var) never matches
    'h,123,human,"GENE,H",10\r\n'
    'i,300,human,GENEI,10\r\n'
    'm1,10,mouse,GENEA,1\r\n'
    'm2,20,mouse,GENEZ,Y\r\n'
    'f1,30,frog,GENEB,1\r\n'
    'f2,40,frog,GENEQ,1\r\n'
    'k,55,human,GENEK,1\r\n'
)

SPECIES_KEYS = {
    "human": ["GeneZ", "GENEB", "genea", "GENEC", "GENEA", "GENED", "GENEE", "GENEF", "GENEG",
              "GENE,H", "GENEI", "GENEJ"],   # "genea"/"GENEA" repeat after upper-casing
    "mouse": ["GENEA", "GENEZ"],
}
OFFSETS = {"human": 0, "mouse": 1000, "frog": 2000}
DATASET = ["genea", "GENEB", "GeneC", "GENED", "GENEE", "GENEF", "GENEG", "gene,h", "GENEI",
           "GENEJ", "NOEMB", "GENEA", "GENEB", "GENEK"]
FILTER = [1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1]


def reference_alignment(csv_path, species, keys, offsets, symbols, gene_filter, keep_first):
    df = pd.read_csv(csv_path)
    df["spec_chrom"] = pd.Categorical(df["species"] + "_" + df["chromosome"])
    categories = [str(c) for c in df["spec_chrom"].cat.categories]
    keys_upper = list({k.upper(): None for k in keys}.keys())
    key_set = set(keys_upper)
    spec = df[df["species"] == species].set_index("gene_symbol")
    spec = spec[~spec.index.duplicated(keep="first")]
    out = {"var_index": [], "token": [], "chrom": [], "start": [],
           "filtered": 0, "no_embedding": 0, "no_chromosome": 0, "duplicate": 0,
           "categories": categories}
    kept = set()
    for v, sym in enumerate(symbols):
        up = sym.upper()
        if gene_filter is not None and not gene_filter[v]:
            out["filtered"] += 1
        elif up not in key_set:
            out["no_embedding"] += 1
        elif up not in spec.index or pd.isna(spec.loc[up, "start"]) or spec.loc[up, "spec_chrom"] is np.nan:
            out["no_chromosome"] += 1
        elif keep_first and up in kept:
            out["duplicate"] += 1
        else:
            kept.add(up)
            out["var_index"].append(v)
            out["token"].append(keys_upper.index(up) + offsets[species])
            out["chrom"].append(categories.index(spec.loc[up, "spec_chrom"]))
            out["start"].append(int(spec.loc[up, "start"]))
    return out


def make_alignment():
    d = os.path.join(OUT, "alignment")
    os.makedirs(d, exist_ok=True)
    csv_path = os.path.join(d, "species_chrom.csv")
    with open(csv_path, "w", newline="") as f:
        f.write(CSV_TEXT)
    inputs = {"species_keys": SPECIES_KEYS, "offsets": OFFSETS, "dataset": DATASET,
              "gene_filter": FILTER}
    with open(os.path.join(d, "inputs.json"), "w") as f:
        json.dump(inputs, f, indent=1)
    expected = {
        "human_keep_all_filtered": reference_alignment(csv_path, "human", SPECIES_KEYS["human"],
                                                       OFFSETS, DATASET, FILTER, False),
        "human_keep_first": reference_alignment(csv_path, "human", SPECIES_KEYS["human"], OFFSETS,
                                                DATASET, None, True),
        "mouse_keep_all": reference_alignment(csv_path, "mouse", SPECIES_KEYS["mouse"], OFFSETS,
                                              DATASET, None, False),
    }
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


# ---------------------------------------------------------------------------------------------
# Filtering: scanpy's filter_genes(min_cells) then filter_cells(min_genes), on X > 0.

def make_filter():
    rng = np.random.default_rng(77)
    n_cells, n_genes = 60, 45
    X = np.zeros((n_cells, n_genes))
    for r in range(n_cells):
        m = rng.random(n_genes) < rng.uniform(0.05, 0.5)
        X[r, m] = rng.integers(1, 20, m.sum())
    for g, k in [(40, 0), (41, 1), (42, 3), (43, 5), (44, 5)]:   # rare genes fail min_cells
        X[:, g] = 0
        X[rng.choice(n_cells, k, replace=False), g] = rng.integers(1, 9, k)
    X[3, 4] = 0.5          # non-integer, positive: counts for the filter
    X[7, 8] = -2.0         # negative: not > 0
    X[11, 2] = np.nan      # NaN: not > 0
    X[12, 1] = 3.75
    min_cells, min_genes = 6, 8
    gene_cells = (X > 0).sum(axis=0)
    keep_gene = gene_cells >= min_cells
    cell_genes = (X[:, keep_gene] > 0).sum(axis=1)
    keep_cell = cell_genes >= min_genes
    # The fixture must exercise both filters, and the gene filter must change a cell decision.
    assert 0 < keep_gene.sum() < n_genes and 0 < keep_cell.sum() < n_cells
    assert (((X > 0).sum(axis=1) >= min_genes) != keep_cell).any()
    indptr, indices, data = [0], [], []
    for row in X:
        nz = np.nonzero(row != 0)[0]     # NaN != 0: stored
        indices.extend(int(i) for i in nz)
        data.extend(None if np.isnan(v) else float(v) for v in row[nz])
        indptr.append(len(indices))
    rec = {"n_genes": n_genes, "min_cells": min_cells, "min_genes": min_genes,
           "indptr": indptr, "indices": indices, "data": data,
           "keep_gene": keep_gene.astype(int).tolist(), "keep_cell": keep_cell.astype(int).tolist(),
           "gene_cells": gene_cells.tolist(), "cell_genes": cell_genes.tolist(),
           "non_integer": 2, "negative": 1, "not_finite": 1,
           "truncation": [[2.9999999999, 3], [2.7, 2], [0.5, 0], [16777217.0, 16777216],
                          [-0.5, 0], [7.0, 7]]}
    # The truncation pairs are the official cast: float32 first, then int64.
    for v, want in rec["truncation"]:
        assert int(np.array([v]).astype(np.float32).astype(np.int64)[0]) == want, (v, want)
    with open(os.path.join(OUT, "filter.json"), "w") as f:
        json.dump(rec, f)


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    check_spec_golden_values()
    make_rng_streams()
    make_sentences()
    make_alignment()
    make_filter()
    print("wrote", OUT)
