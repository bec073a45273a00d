#!/usr/bin/python3
"""Writes the fixtures of reader_obs_strings (tests/h5ad/test_h5ad_obs_strings.cpp).

Run once with Debian's python3 (anndata 0.8, h5py, numpy, pandas), AFTER make_h5ad_fixtures.py
(it reads some of that script's files):
    /usr/bin/python3 tests/reference/make_h5ad_obs_fixtures.py tests/fixtures/h5ad
Writes obs_strings.h5ad (every obs column kind anndata 0.8 writes: categoricals with a missing
value and with numeric categories, strings, signed/unsigned/huge integers, float32/float64 with
nan/inf/-0, bools, nullable integers/booleans; more rows than the reader's 4096-row read piece)
and obs_strings.json: for each checked file, the obs columns' expected text at chosen rows.
The text is made here from what anndata / h5py read back, with the rules of uce_stage.h:
categoricals by category ("" when missing), floats '%.17g', integers exactly, bools True/False,
pandas NA "".
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
N = 4100  # > 4096: a full-range read crosses the reader's piece boundary


def scalar_text(v):
    if v is pd.NA or v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return "%.17g" % float(v)
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return str(v)


def series_text(s):
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = [scalar_text(c) for c in s.cat.categories]
        return ["" if c < 0 else cats[c] for c in s.cat.codes]
    return [scalar_text(v) for v in s.astype(object)]


def obs_frame():
    i = np.arange(N)
    special = np.array([1 / 3, np.nan, np.inf, -np.inf, -0.0, 1e-300, 123456789.125, 0.1, -2.5e17])
    cell_type = np.array(["T", "B", "NK"], dtype=object)[i % 3]
    cell_type[i % 7 == 3] = np.nan  # pandas writes code -1
    n_nullable = pd.array([None if k % 4 == 1 else k - 7 for k in i], dtype="Int64")
    flag_nullable = pd.array([None if k % 6 == 2 else bool(k % 2) for k in i], dtype="boolean")
    return pd.DataFrame(
        {
            "cell_type": pd.Categorical(cell_type, categories=["T", "B", "NK", "unused"]),
            "batch": [["b0", "b1", "lot ü-2"][k % 3] for k in i],
            "n_genes": (i * 10 - 5).astype(np.int64),
            "big": (np.int64(2**62) + i).astype(np.int64),  # beyond double precision
            "u64": (np.uint64(2**64 - 1) - i.astype(np.uint64)),
            "small": (i % 200 - 100).astype(np.int8),
            "score": np.linspace(0.0, 1.0, N).astype(np.float32),
            "ratio": special[i % len(special)],
            "is_doublet": i % 5 == 0,
            "n_nullable": n_nullable,
            "flag_nullable": flag_nullable,
            "num_cat": pd.Categorical((i % 3 + 1) * 10),  # integer categories
        },
        index=[f"cell_{k:04d}" for k in i],
    )


CHECK_ROWS = list(range(0, 40)) + list(range(4080, N))
expect = {"files": []}

a = ad.AnnData(sp.csr_matrix((N, 2), dtype=np.float32), obs=obs_frame(),
               var=pd.DataFrame(index=["G1", "G2"]), dtype=np.float32)
tmp = os.path.join(OUT, "obs_strings.tmp.h5ad")
a.write_h5ad(tmp, compression="gzip")
back = ad.read_h5ad(tmp)
assert back.obs["cell_type"].cat.codes.min() == -1
assert back.obs["batch"].dtype == "category"  # anndata makes repeated strings categorical
# anndata's variable-length index costs ~25 bytes a row in the file's global heap; copy the file
# with the index as fixed-length strings (compressible; also the fixed-length path of a group
# dataframe). HDF5 never shrinks a file on delete, hence the copy.
with h5py.File(tmp, "r") as src, h5py.File(os.path.join(OUT, "obs_strings.h5ad"), "w") as dst:
    for k, v in src.attrs.items():
        dst.attrs[k] = v
    for key in src:
        if key != "obs":
            src.copy(src[key], dst, key)
    obs = dst.create_group("obs")
    for k, v in src["obs"].attrs.items():
        obs.attrs[k] = v
    for key in src["obs"]:
        if key != "_index":
            src.copy(src["obs"][key], obs, key)
    d = obs.create_dataset("_index", data=np.array(list(src["obs/_index"][()]), dtype="S9"),
                           compression="gzip")
    for k, v in src["obs/_index"].attrs.items():
        d.attrs[k] = v
os.remove(tmp)
back = ad.read_h5ad(os.path.join(OUT, "obs_strings.h5ad"))
expect["files"].append({
    "file": "obs_strings.h5ad", "n_obs": N, "columns_listed": list(back.obs.columns),
    "rows": CHECK_ROWS,
    "columns": {**{c: [series_text(back.obs[c])[r] for r in CHECK_ROWS] for c in back.obs.columns},
                "_index": [back.obs_names[r] for r in CHECK_ROWS]},
})

# The older fixtures of make_h5ad_fixtures.py (all rows): anndata 0.8 reads csr_i32; the hand-made
# old layouts are decoded here with h5py.
back = ad.read_h5ad(os.path.join(OUT, "csr_i32.h5ad"))
rows = list(range(back.n_obs))
expect["files"].append({
    "file": "csr_i32.h5ad", "n_obs": back.n_obs, "columns_listed": list(back.obs.columns), "rows": rows,
    "columns": {**{c: series_text(back.obs[c]) for c in back.obs.columns},
                "_index": list(back.obs_names)},  # a variable-length string dataset, by name
})

with h5py.File(os.path.join(OUT, "old_compound.h5ad"), "r") as f:
    rec = f["obs"][()]
    cats = [c.decode() for c in f["uns/cell_type_categories"][()]]
    expect["files"].append({
        "file": "old_compound.h5ad", "n_obs": len(rec), "columns_listed": ["n_counts", "cell_type"],
        "rows": list(range(len(rec))),
        "columns": {
            "n_counts": [scalar_text(v) for v in rec["n_counts"]],
            "cell_type": ["" if c < 0 else cats[c] for c in rec["cell_type"]],
            "index": [scalar_text(v) for v in rec["index"]],
        },
    })

with h5py.File(os.path.join(OUT, "h5sparse.h5ad"), "r") as f:
    codes = f["obs/louvain"][()]
    cats = [c.decode() for c in f["obs/__categories/louvain"][()]]
    expect["files"].append({
        "file": "h5sparse.h5ad", "n_obs": len(codes), "columns_listed": ["louvain"],
        "rows": list(range(len(codes))),
        "columns": {"louvain": ["" if c < 0 else cats[c] for c in codes]},
    })

with open(os.path.join(OUT, "obs_strings.json"), "w") as fp:
    json.dump(expect, fp, indent=None, ensure_ascii=False, allow_nan=False)
print(f"wrote obs_strings.h5ad and obs_strings.json to {OUT}")
