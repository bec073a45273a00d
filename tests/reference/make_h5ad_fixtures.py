#!/usr/bin/python3
"""Writes the .h5ad fixtures of tests/h5ad (every layout of spec/formats.md + hostile files).

Run once with Debian's python3 (anndata 0.8, h5py, numpy, scipy):
    /usr/bin/python3 tests/reference/make_h5ad_fixtures.py tests/fixtures/h5ad
Writes <name>.h5ad, expected_<name>.npy (the counts as a dense float64 [n_obs, n_var] matrix,
computed here with numpy, NaN included) and fixtures.json describing what the reader must report.
Files written by real anndata are used where anndata can write the layout; older layouts
(anndata < 0.7 compound dataframes, h5sparse attrs, 0.7.0 __categories) are written with h5py by
hand, mimicking those versions.
"""
import json
import os
import sys

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures", "h5ad")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(1234)
N_OBS, N_VAR = 23, 9
STR = h5py.string_dtype("utf-8")


def counts_matrix(n_obs=N_OBS, n_var=N_VAR, nan=False):
    dense = rng.integers(1, 20, size=(n_obs, n_var)).astype(np.float64)
    dense[rng.random((n_obs, n_var)) < 0.6] = 0.0
    dense[3, :] = 0.0  # an empty cell
    dense[:, 4] = 0.0  # a gene never seen
    dense[5, 2] = 2.5  # non-integer: the reader passes it through
    if nan:
        dense[7, 1] = np.nan  # NaN must pass through unchanged
    return dense


OBS_NAMES = [f"cell_{i:02d}-{'ACGT'[i % 4]}" for i in range(N_OBS)]
GENES = ["MT-CO1", "ACTB", "GAPDH", "CD3E", "NEVER", "Xist", "HBB", "LYZ", "S100A8"]
ENSEMBL = [f"ENSG{i:011d}" for i in range(N_VAR)]
CELL_TYPES = ["T", "B", "NK"]


def obs_frame():
    return pd.DataFrame(
        {
            "cell_type": pd.Categorical([CELL_TYPES[i % 3] for i in range(N_OBS)], categories=CELL_TYPES),
            "n_genes": np.arange(N_OBS, dtype=np.int64) * 10,
            "is_doublet": np.array([i % 5 == 0 for i in range(N_OBS)]),
            "batch": [f"b{i % 2}" for i in range(N_OBS)],
            "score": np.linspace(0.0, 1.0, N_OBS).astype(np.float32),
        },
        index=OBS_NAMES,
    )


def var_frame(index=GENES, **columns):
    return pd.DataFrame(dict(columns), index=list(index))


manifest = {"fixtures": []}


def record(name, counts="X", gene_column="", expected=None, genes=GENES, obs=OBS_NAMES,
           gene_source="var index", layout="", error=None, error_at="open"):
    entry = {"file": f"{name}.h5ad", "counts": counts, "gene_column": gene_column,
             "gene_source_contains": gene_source, "layout_contains": layout}
    if expected is not None:
        np.save(os.path.join(OUT, f"expected_{name}.npy"), np.ascontiguousarray(expected, dtype=np.float64))
        entry.update(expected=f"expected_{name}.npy", n_obs=int(expected.shape[0]),
                     n_var=int(expected.shape[1]), var_names=list(genes), obs_names=list(obs))
    if error is not None:
        entry.update(error_contains=error, error_at=error_at)
    manifest["fixtures"].append(entry)


def path(name):
    return os.path.join(OUT, f"{name}.h5ad")


# ---- layouts written by anndata 0.8 -------------------------------------------------------
dense = counts_matrix(nan=True)
a = ad.AnnData(dense.astype(np.float32), dtype=np.float32, obs=obs_frame(),
               var=var_frame(alt_name=[g.lower() for g in GENES]))
a.write_h5ad(path("dense_f32"))
record("dense_f32", expected=dense.astype(np.float32).astype(np.float64), layout="dense float32")
record("dense_f32", gene_column="alt_name", expected=dense.astype(np.float32).astype(np.float64),
       genes=[g.lower() for g in GENES], gene_source="var column alt_name", layout="dense")

dense_i = counts_matrix()
dense_i[5, 2] = 3
a = ad.AnnData(dense_i.astype(np.int64), dtype=np.int64, obs=obs_frame(), var=var_frame())
a.write_h5ad(path("dense_i64"))
record("dense_i64", expected=dense_i, layout="dense int64")

csr = counts_matrix(nan=True)
a = ad.AnnData(sp.csr_matrix(csr.astype(np.float32)), dtype=np.float32, obs=obs_frame(), var=var_frame())
a.write_h5ad(path("csr_i32"))
record("csr_i32", expected=csr.astype(np.float32).astype(np.float64),
       layout="csr_matrix [23 x 9], ")
# Also the writer tests' source: its obs columns are recorded for checking the copies.
manifest["csr_i32_obs"] = {
    "cell_type": [CELL_TYPES[i % 3] for i in range(N_OBS)],
    "n_genes": [i * 10 for i in range(N_OBS)],
    "is_doublet": [i % 5 == 0 for i in range(N_OBS)],
    "batch": [f"b{i % 2}" for i in range(N_OBS)],
}

csr64 = counts_matrix()
a = ad.AnnData(sp.csr_matrix(csr64.astype(np.int32)), dtype=np.int32, obs=obs_frame(), var=var_frame())
a.write_h5ad(path("csr_i64"))
with h5py.File(path("csr_i64"), "r+") as f:  # scipy keeps int32 for small matrices: force int64
    for part in ("indices", "indptr"):
        v = f["X"][part][()].astype(np.int64)
        del f["X"][part]
        f["X"].create_dataset(part, data=v)
csr64[5, 2] = 2  # stored as int32 data
record("csr_i64", expected=csr64, layout="int64 indices, int32 data")

csc = counts_matrix(nan=True)
a = ad.AnnData(sp.csc_matrix(csc), dtype=np.float64, obs=obs_frame(), var=var_frame())
a.write_h5ad(path("csc"))
record("csc", expected=csc, layout="csc_matrix")

# raw/X holds the counts over more genes than X; genes then come from raw/var.
raw_counts = counts_matrix()
raw_genes = GENES
a = ad.AnnData(sp.csr_matrix(raw_counts), dtype=np.float64, obs=obs_frame(), var=var_frame(raw_genes))
a.raw = a
a = a[:, [0, 1, 2]].copy()
a.X = np.log1p(a.X.toarray()).astype(np.float32)
a.write_h5ad(path("raw"))
record("raw", counts="raw/X", expected=raw_counts, genes=raw_genes, layout="raw/X: csr_matrix")

layer_counts = counts_matrix()
a = ad.AnnData(np.zeros((N_OBS, N_VAR), np.float32), dtype=np.float32, obs=obs_frame(), var=var_frame())
a.layers["counts"] = sp.csr_matrix(layer_counts.astype(np.float32))
a.write_h5ad(path("layers"))
record("layers", counts="layers/counts", expected=layer_counts, layout="layers/counts: csr_matrix")

# Ensembl index with a categorical feature_name column (the cellxgene way).
ens = counts_matrix()
a = ad.AnnData(sp.csr_matrix(ens), dtype=np.float64, obs=obs_frame(),
               var=var_frame(ENSEMBL, feature_name=pd.Categorical(GENES)))
a.write_h5ad(path("ensembl"))
record("ensembl", expected=ens, gene_source="var column feature_name")
a = ad.AnnData(sp.csr_matrix(ens), dtype=np.float64, obs=obs_frame(), var=var_frame(ENSEMBL, other=GENES))
a.write_h5ad(path("ensembl_only"))
record("ensembl_only", expected=ens, genes=ENSEMBL, gene_source="var index (Ensembl ids")

# ---- older layouts written by hand -------------------------------------------------------
# anndata < 0.7: obs/var are ONE compound dataset (index first, fixed-width bytes); categorical
# codes with their categories in uns/<col>_categories; no root encoding attributes.
old = counts_matrix()
with h5py.File(path("old_compound"), "w") as f:
    f.create_dataset("X", data=old.astype(np.float32))
    obs_rec = np.rec.fromarrays(
        [np.array(OBS_NAMES, dtype="S"), np.arange(N_OBS, dtype=np.float32),
         np.array([i % 3 for i in range(N_OBS)], dtype=np.int8)],
        names=["index", "n_counts", "cell_type"])
    f.create_dataset("obs", data=obs_rec)
    var_rec = np.rec.fromarrays([np.array(GENES, dtype="S"), np.array(ENSEMBL, dtype="S")],
                                names=["index", "gene_ids"])
    f.create_dataset("var", data=var_rec)
    f.create_dataset("uns/cell_type_categories", data=np.array(CELL_TYPES, dtype="S"))
record("old_compound", expected=old, layout="compound dataset")
record("old_compound", gene_column="gene_ids", expected=old, genes=ENSEMBL, gene_source="var column gene_ids")

# h5sparse attributes on X (no encoding-type), obs as anndata 0.7.0 wrote it (codes dataset +
# __categories/<col>), var with variable-length strings.
h5s = counts_matrix()
m = sp.csr_matrix(h5s)
with h5py.File(path("h5sparse"), "w") as f:
    g = f.create_group("X")
    g.attrs["h5sparse_format"] = np.bytes_("csr")
    g.attrs["h5sparse_shape"] = np.array(m.shape, dtype=np.int64)
    g.create_dataset("data", data=m.data.astype(np.float64))
    g.create_dataset("indices", data=m.indices.astype(np.int32))
    g.create_dataset("indptr", data=m.indptr.astype(np.int64))
    obs = f.create_group("obs")
    obs.attrs["_index"] = "index"
    obs.attrs["column-order"] = np.array(["louvain"], dtype=object)
    obs.attrs["encoding-type"] = "dataframe"
    obs.attrs["encoding-version"] = "0.1.0"
    obs.create_dataset("index", data=np.array(OBS_NAMES, dtype=object), dtype=STR)
    obs.create_dataset("louvain", data=np.array([i % 3 for i in range(N_OBS)], dtype=np.int8))
    obs.create_dataset("__categories/louvain", data=np.array(CELL_TYPES, dtype=object), dtype=STR)
    var = f.create_group("var")
    var.attrs["_index"] = "index"
    var.attrs["column-order"] = np.array([], dtype=np.float64)  # what h5py makes of []
    var.attrs["encoding-type"] = "dataframe"
    var.attrs["encoding-version"] = "0.1.0"
    var.create_dataset("index", data=np.array(GENES, dtype=object), dtype=STR)
record("h5sparse", expected=h5s, layout="h5sparse")

# anndata < 0.7 kept raw at the root as "raw.X" (a sparse group) and "raw.var" (compound).
import shutil
shutil.copy(path("raw"), path("legacy_raw"))
with h5py.File(path("legacy_raw"), "r+") as f:
    f.copy("raw/X", "raw.X")
    del f["raw"]
    f.create_dataset("raw.var", data=np.rec.fromarrays([np.array(raw_genes, dtype="S")], names=["index"]))
record("legacy_raw", counts="raw/X", expected=raw_counts, genes=raw_genes, layout="raw.X: csr_matrix")

# ---- hostile files ------------------------------------------------------------------------
a = ad.AnnData(obs=obs_frame(), var=var_frame())  # no X at all
a.write_h5ad(path("missing_x"))
record("missing_x", error="no dataset or group 'X'")

base = counts_matrix()
ad.AnnData(sp.csr_matrix(base), dtype=np.float64, obs=obs_frame(), var=var_frame()).write_h5ad(path("bad_base"))


def hostile(name, edit, error, error_at="open"):
    import shutil
    shutil.copy(path("bad_base"), path(name))
    with h5py.File(path(name), "r+") as f:
        edit(f)
    record(name, error=error, error_at=error_at)


def not_monotone(f):
    p = f["X/indptr"][()]
    p[10], p[11] = p[11] + 1, p[10]
    f["X/indptr"][...] = p


def past_data(f):
    p = f["X/indptr"][()]
    p[-1] = p[-1] + 5
    f["X/indptr"][...] = p


def index_out_of_range(f):
    i = f["X/indices"][()]
    i[3] = N_VAR + 3
    f["X/indices"][...] = i


def bad_encoding(f):
    f["X"].attrs["encoding-type"] = "coo_matrix"


def shape_mismatch(f):
    f["X"].attrs["shape"] = np.array([N_OBS + 2, N_VAR], dtype=np.int64)


def dense_strings(f):
    del f["X"]
    f.create_dataset("X", data=np.array([["a"] * N_VAR] * N_OBS, dtype=object), dtype=STR)


hostile("indptr_not_monotone", not_monotone, "is not monotone")
hostile("indptr_past_data", past_data, "past the")
hostile("index_out_of_range", index_out_of_range, "X/indices[3] = 12 outside [0, 9)", error_at="read")
hostile("bad_encoding", bad_encoding, "encoding-type 'coo_matrix'")
hostile("shape_mismatch", shape_mismatch, "X/indptr has 24 entries; expected shape[0] + 1 = 26")
hostile("dense_strings", dense_strings, "holds string values")
os.remove(path("bad_base"))

with open(os.path.join(OUT, "fixtures.json"), "w") as fp:
    json.dump(manifest, fp, indent=1, allow_nan=False)
print(f"wrote {len(manifest['fixtures'])} fixture entries to {OUT}")
