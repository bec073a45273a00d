#!/usr/bin/python3
"""Checks an .h5ad written by uce-engine with Debian's anndata (0.8): it must open WITHOUT any
warning, and hold the expected shapes, names and metadata.

    check_output_h5ad.py OUT.h5ad --key X_uce --n-obs N --n-cols C [--unit-norm] [--uns k1,k2]
        [--source SRC.h5ad --rows r1,r2,... [--var-rows g1,g2,...] [--x] [--counts X]]
        [--npy EMB.npy]

With --source: obs names (and every obs column the output has) equal the source's rows, var names
equal the source's var_rows, and with --x the output X equals source X[rows][:, var_rows].
With --npy: that .npy loads with numpy and equals obsm[key].
Exit status 0 = all good; otherwise one line saying what differs.
"""
import argparse
import sys
import warnings

import numpy as np


def fail(msg):
    print(f"check_output_h5ad: FAIL: {msg}")
    sys.exit(1)


def ints(text):
    return [int(x) for x in text.split(",")] if text else []


def main():
    p = argparse.ArgumentParser()
    p.add_argument("output")
    p.add_argument("--key", default="X_uce")
    p.add_argument("--n-obs", type=int, required=True)
    p.add_argument("--n-cols", type=int, required=True)
    p.add_argument("--unit-norm", action="store_true")
    p.add_argument("--uns", default="")
    p.add_argument("--source")
    p.add_argument("--counts", default="X")
    p.add_argument("--rows", default="")
    p.add_argument("--var-rows", default="")
    p.add_argument("--x", action="store_true")
    p.add_argument("--npy")
    a = p.parse_args()

    import anndata as ad

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning while reading is a failure
        try:
            out = ad.read_h5ad(a.output)
        except Warning as w:
            fail(f"reading {a.output} warned: {w}")
    emb = out.obsm.get(a.key) if a.key in out.obsm else None
    if emb is None:
        fail(f"obsm has no {a.key} (has {list(out.obsm.keys())})")
    emb = np.asarray(emb)
    if emb.shape != (a.n_obs, a.n_cols):
        fail(f"obsm[{a.key}] shape {emb.shape}, expected {(a.n_obs, a.n_cols)}")
    if emb.dtype != np.float32:
        fail(f"obsm[{a.key}] dtype {emb.dtype}, expected float32")
    if out.n_obs != a.n_obs:
        fail(f"n_obs {out.n_obs}, expected {a.n_obs}")
    if a.unit_norm:
        norms = np.linalg.norm(emb.astype(np.float64), axis=1)
        if not np.allclose(norms, 1.0, atol=1e-5):
            fail(f"obsm[{a.key}] rows not unit-norm: {norms}")
    for key in filter(None, a.uns.split(",")):
        if key not in out.uns:
            fail(f"uns has no '{key}' (has {list(out.uns.keys())})")
        if not isinstance(out.uns[key], str):
            fail(f"uns['{key}'] is {type(out.uns[key]).__name__}, expected str")

    if a.source:
        rows, var_rows = ints(a.rows), ints(a.var_rows)
        src = ad.read_h5ad(a.source)
        if list(out.obs_names) != list(src.obs_names[rows]):
            fail(f"obs names {list(out.obs_names)} != source rows {list(src.obs_names[rows])}")
        for col in out.obs.columns:
            got, want = out.obs[col].to_numpy(), src.obs[col].to_numpy()[rows]
            if list(got) != list(want):
                fail(f"obs column {col}: {list(got)} != source {list(want)}")
        if len(out.obs.columns) != len(src.obs.columns):
            fail(f"obs columns {list(out.obs.columns)} != source {list(src.obs.columns)}")
        var = src.raw.var if a.counts.startswith("raw/") else src.var
        if list(out.var_names) != list(var.index[var_rows]):
            fail(f"var names {list(out.var_names)} != source {list(var.index[var_rows])}")
        if a.x:
            if out.X is None:
                fail("X missing though --x")
            src_x = src.raw.X if a.counts == "raw/X" else (
                src.layers[a.counts[7:]] if a.counts.startswith("layers/") else src.X)
            src_x = src_x.toarray() if hasattr(src_x, "toarray") else np.asarray(src_x)
            want = src_x[rows][:, var_rows].astype(np.float32)
            got = out.X.toarray() if hasattr(out.X, "toarray") else np.asarray(out.X)
            if got.dtype != np.float32 or not np.array_equal(got, want, equal_nan=True):
                fail(f"X differs from source X[rows][:, var_rows]:\n{got}\n{want}")
    if a.npy:
        arr = np.load(a.npy)
        if arr.dtype != np.float32 or not arr.flags["C_CONTIGUOUS"]:
            fail(f"{a.npy}: dtype {arr.dtype}, expected float32 C order")
        if not np.array_equal(arr, emb):
            fail(f"{a.npy} differs from obsm[{a.key}]")
    print(f"check_output_h5ad: OK {a.output}: {out.n_obs} x {out.n_vars}, obsm[{a.key}] {emb.shape}")


if __name__ == "__main__":
    main()
