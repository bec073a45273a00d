#!/usr/bin/python3
"""Model folders and cell files for the backend shoot-out's end-to-end rows (uce-run), made from
synthetic weights with the official shapes. NOT committed (hundreds of MB); default /tmp/uce-shootout.

  /usr/bin/python3 bench/shootout/make_shootout_data.py DIR --model uce-4layer|uce-33layer|uce-brain
                                                            [--cells N ...]

uce-4layer / uce-33layer (DIR/<model>/): bench/make_synthetic_model.py's folder (model.torch with
  the official shapes, a 3000-row token table all_tokens.torch, sentence.npy, meta.json; needs torch)
  plus what uce-run needs besides: protein_embeddings/Homo_sapiens...pt (gene G<row> -> table row,
  rows 4..2975 in table order), species_offsets.pkl {'human': 4}, species_chrom.csv placing every
  gene on one of 24 chromosomes, so the 24 chromosome tokens are the table's last 24 rows
  (chrom_token_offset 2976, as make_synthetic_model.py lays them out).
uce-brain (DIR/uce-brain/): bench/make_synthetic_brain.py's folder (the pilot's shapes; numpy only)
  plus gene_mapping.json {human: {B<id>: {protein_embedding_id, chromosome_id 1..23, location}}}
  for the gene ids 3..999 that sentence layout uses.
cells_<N>.h5ad in each folder: N cells (h5py, anndata 0.8 layout, CSR float32 counts) over the
  model's genes plus 400 genes unknown to the model; ~60% of the model's genes expressed per cell
  with negative-binomial counts, so every cell gives a full 1024-draw sentence over all chromosomes.
The PyTorch baselines read the same folders (same weights, same sentence.npy).
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
UCE_TABLE_ROWS, UCE_CHROMS, UCE_FIRST_GENE = 3000, 24, 4
PT_NAME = "Homo_sapiens.GRCh38.gene_symbol_to_embedding_ESM2.pt"
CHROM_NAMES = [str(i) for i in range(1, 23)] + ["X", "Y"]
BRAIN_GENES = range(3, 1000)  # make_synthetic_brain.py: gene ids 3..999, chromosomes 1..23


def uce_genes():
    return [f"G{row}" for row in range(UCE_FIRST_GENE, UCE_TABLE_ROWS - UCE_CHROMS)]


def brain_genes():
    return [f"B{i}" for i in BRAIN_GENES]


def make_uce(folder, layers):
    if not os.path.exists(os.path.join(folder, "species_chrom.csv")):
        subprocess.run([sys.executable, os.path.join(BENCH, "make_synthetic_model.py"), folder, "--layers", str(layers),
                        "--table-rows", str(UCE_TABLE_ROWS), "--chromosomes", str(UCE_CHROMS)], check=True)
        import torch
        sys.path.insert(0, os.path.join(BENCH, "..", "tests", "reference"))
        import uce_reference as ref
        table = torch.load(os.path.join(folder, "all_tokens.torch"))
        genes = uce_genes()
        os.makedirs(os.path.join(folder, "protein_embeddings"), exist_ok=True)
        ref.save_protein_embeddings(os.path.join(folder, "protein_embeddings", PT_NAME),
                                    [(g, table[UCE_FIRST_GENE + i]) for i, g in enumerate(genes)])
        ref.save_offsets(os.path.join(folder, "species_offsets.pkl"), {"human": UCE_FIRST_GENE})
        rng = np.random.default_rng(7)
        # Every chromosome gets genes; the 24 categories sort to codes 0..23 -> rows 2976..2999.
        chrom = [CHROM_NAMES[i % UCE_CHROMS] for i in range(len(genes))]
        start = rng.integers(10_000, 200_000_000, len(genes))
        ref.save_species_chrom(os.path.join(folder, "species_chrom.csv"),
                               [(g, "human", c, int(s)) for g, c, s in zip(genes, chrom, start)])
        assert len(ref.chrom_categories([(g, "human", c, 0) for g, c in zip(genes, chrom)])) == UCE_CHROMS
    return uce_genes()


def make_brain(folder):
    if not os.path.exists(os.path.join(folder, "gene_mapping.json")):
        subprocess.run([sys.executable, os.path.join(BENCH, "make_synthetic_brain.py"), folder], check=True)
        rng = np.random.default_rng(11)
        genes = brain_genes()
        chrom = 1 + np.arange(len(genes)) % 23
        loc = rng.integers(1000, 100_000_000, len(genes))
        mapping = {"human": {g: {"protein_embedding_id": str(i), "chromosome_id": str(int(c)), "location": str(int(l))}
                             for g, i, c, l in zip(genes, BRAIN_GENES, chrom, loc)}}
        with open(os.path.join(folder, "gene_mapping.json"), "w") as f:
            json.dump(mapping, f)
    return brain_genes()


def write_cells_h5ad(path, genes, cells, seed=3):
    """CSR counts in the anndata 0.8 layout, written with h5py (no anndata needed)."""
    import h5py
    rng = np.random.default_rng(seed)
    var = genes + [f"NOTAGENE{i}" for i in range(400)]
    G = len(var)
    base = rng.lognormal(0.0, 1.2, G)
    data, indices, indptr = [], [], [0]
    for _ in range(cells):
        expressed = np.flatnonzero(rng.random(G) < 0.6)
        mean = base[expressed] * rng.lognormal(0, 0.3)
        counts = rng.negative_binomial(2, 2 / (2 + mean)) + 1  # >= 1: stored values only
        data.append(counts.astype(np.float32))
        indices.append(expressed.astype(np.int32))
        indptr.append(indptr[-1] + expressed.size)
    str_dt = h5py.string_dtype("utf-8")
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["encoding-type"], f.attrs["encoding-version"] = "anndata", "0.1.0"
        X = f.create_group("X")
        X.attrs["encoding-type"], X.attrs["encoding-version"] = "csr_matrix", "0.1.0"
        X.attrs["shape"] = np.array([cells, G], np.int64)
        X.create_dataset("data", data=np.concatenate(data))
        X.create_dataset("indices", data=np.concatenate(indices))
        X.create_dataset("indptr", data=np.array(indptr, np.int64))
        for name, index in (("obs", [f"cell{i}" for i in range(cells)]), ("var", var)):
            g = f.create_group(name)
            g.attrs["encoding-type"], g.attrs["encoding-version"] = "dataframe", "0.2.0"
            g.attrs["_index"] = "_index"
            g.attrs["column-order"] = np.array([], dtype=object).astype(str_dt)
            ds = g.create_dataset("_index", data=np.array(index, dtype=object), dtype=str_dt)
            ds.attrs["encoding-type"], ds.attrs["encoding-version"] = "string-array", "0.2.0"
        for empty in ("obsm", "varm", "obsp", "varp", "layers", "uns"):
            g = f.create_group(empty)
            g.attrs["encoding-type"], g.attrs["encoding-version"] = "dict", "0.1.0"
    os.replace(tmp, path)


def make(root, model, cell_counts):
    """Makes DIR/<model>/ (if absent) and its cells_<N>.h5ad files; returns the folder."""
    folder = os.path.join(root, model)
    if model == "uce-brain":
        genes = make_brain(folder)
    elif model in ("uce-4layer", "uce-33layer"):
        genes = make_uce(folder, 4 if model == "uce-4layer" else 33)
    else:
        raise SystemExit(f"unknown model '{model}' (expected uce-4layer, uce-33layer or uce-brain)")
    for n in cell_counts:
        path = os.path.join(folder, f"cells_{n}.h5ad")
        if not os.path.exists(path):
            write_cells_h5ad(path, genes, n)
    return folder


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir")
    ap.add_argument("--model", required=True)
    ap.add_argument("--cells", type=int, nargs="*", default=[])
    a = ap.parse_args()
    print(make(a.out_dir, a.model, a.cells))


if __name__ == "__main__":
    main()
