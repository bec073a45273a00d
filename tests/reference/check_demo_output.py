#!/usr/bin/env python3
"""Checks an uce-run output with anndata (as a user's scanpy session would open it).

usage: check_demo_output.py OUTPUT.h5ad INPUT.h5ad
Asserts: it opens without error; obs names are input cells, in input order; the obs columns of
the input are copied for those cells; obsm["X_uce"] is float32 [cells, k] with unit-norm rows;
the uns metadata names the model, sampler and seed; var holds genes of the input.
"""
import sys
import warnings

import anndata
import numpy as np


def main(out_path, in_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # anndata must open it without warnings
        out = anndata.read_h5ad(out_path)
    src = anndata.read_h5ad(in_path)
    assert out.n_obs > 0, "no cells embedded"
    positions = src.obs_names.get_indexer(out.obs_names)
    assert (positions >= 0).all(), "output cells that are not in the input"
    assert (np.diff(positions) > 0).all(), "output cells are not in input order"
    for col in src.obs.columns:
        assert col in out.obs.columns, f"obs column {col} not copied"
        assert (out.obs[col].astype(str).values == src.obs[col].astype(str).values[positions]).all(), col
    emb = out.obsm["X_uce"]
    assert emb.dtype == np.float32, emb.dtype
    assert emb.shape[0] == out.n_obs and emb.shape[1] > 0
    norms = np.linalg.norm(emb, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5), (norms.min(), norms.max())
    assert len(np.unique(emb.round(6), axis=0)) == out.n_obs, "identical embeddings for different cells"
    for key in ("uce_model", "uce_sampler", "uce_seed", "uce_engine_version"):
        assert key in out.uns, f"uns lacks {key}"
    assert set(out.var_names) <= set(src.var_names), "var holds genes that are not in the input"
    print(f"ok: {out.n_obs} cells x {emb.shape[1]} dims, {out.n_vars} genes, uns {sorted(out.uns.keys())}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
