#!/usr/bin/python3
"""Writes a synthetic CSR .h5ad for bench_read_h5ad (issue "single-cell data path"): N cells x G
genes, ~NNZ stored values per cell (sorted random gene indices, float32 counts 1..), int32 indices,
int64 indptr, no compression (the benchmark measures the reader against raw disk speed). anndata 0.8
layout (encoding-type attributes, obs/var dataframes with string _index). Prints the value/index
checksums bench_read_h5ad prints.

--layout batched (default): written with h5py 2,000 cells at a time into growing datasets with
  1 MiB chunks, so memory stays small; data and indices chunks alternate in the file.
--layout anndata: the same matrix (same seed, same values) written by anndata itself
  (AnnData(csr).write_h5ad), as real users' files are: anndata 0.8 writes X/data, X/indices and
  X/indptr each in one H5Dwrite, chunked with h5py's automatic chunk size (maxshape=(None,)),
  each dataset's chunks contiguous in the file; scipy stores indptr as int32 when it fits.
  --compression gzip|lzf passes anndata's compression option. Holds the whole matrix in memory
  (~8 bytes per stored value, twice while anndata writes).
--layout contiguous: the same matrix, each X dataset one contiguous (unchunked) h5py dataset.

usage: /usr/bin/python3 bench/make_bench_h5ad.py OUT.h5ad --cells 50000 [--genes 20000] [--nnz 1500]
       [--layout batched|anndata|contiguous] [--compression gzip|lzf]
"""
import argparse

import h5py
import numpy as np


def string_index(group, name, n, prefix):
    ds = group.create_dataset(name, data=np.array([f"{prefix}{i}" for i in range(n)], dtype=object),
                              dtype=h5py.string_dtype("utf-8"))
    ds.attrs["encoding-type"] = "string-array"
    ds.attrs["encoding-version"] = "0.2.0"


def dataframe(f, name, n, prefix):
    g = f.create_group(name)
    g.attrs["encoding-type"] = "dataframe"
    g.attrs["encoding-version"] = "0.2.0"
    g.attrs["_index"] = "_index"
    g.attrs["column-order"] = np.array([], dtype=object).astype(h5py.string_dtype("utf-8"))
    string_index(g, "_index", n, prefix)


def synthetic_batches(rng, cells, genes, nnz):
    """Yields (first cell, indices, values, stored values per row) 2,000 cells at a time; every
    layout draws the same numbers in the same order, so all layouts hold the same matrix."""
    gap_max = 2 * genes // nnz - 1                          # mean gap ~ genes / nnz
    for b in range(0, cells, 2000):
        e = min(b + 2000, cells)
        pos = np.cumsum(rng.integers(1, gap_max + 1, size=(e - b, nnz)), axis=1) - 1
        keep = pos < genes
        idx = pos[keep].astype(np.int32)                    # row-major: sorted within each row
        val = (1 + rng.negative_binomial(1, 0.4, size=idx.size)).astype(np.float32)
        yield b, idx, val, keep.sum(axis=1)


def csr_group(f, a):
    """The anndata root attributes and an empty X group of a cells x genes CSR matrix."""
    f.attrs["encoding-type"] = "anndata"
    f.attrs["encoding-version"] = "0.1.0"
    X = f.create_group("X")
    X.attrs["encoding-type"] = "csr_matrix"
    X.attrs["encoding-version"] = "0.1.0"
    X.attrs["shape"] = np.array([a.cells, a.genes], dtype=np.int64)
    return X


def obs_var_and_empty_groups(f, a):
    """obs and var dataframes and the empty mapping groups anndata expects beside X."""
    dataframe(f, "obs", a.cells, "cell")
    dataframe(f, "var", a.genes, "GENE")
    for empty in ("obsm", "varm", "obsp", "varp", "layers", "uns"):
        g = f.create_group(empty)
        g.attrs["encoding-type"] = "dict"
        g.attrs["encoding-version"] = "0.1.0"


def write_batched(a, rng):
    """h5py, growing datasets with 1 MiB chunks, 2,000 cells per append (small memory)."""
    value_sum, index_sum, at = 0.0, 0, 0
    with h5py.File(a.out, "w") as f:
        X = csr_group(f, a)
        data = X.create_dataset("data", shape=(0,), maxshape=(None,), dtype=np.float32, chunks=(1 << 18,))
        indices = X.create_dataset("indices", shape=(0,), maxshape=(None,), dtype=np.int32, chunks=(1 << 18,))
        indptr = np.zeros(a.cells + 1, dtype=np.int64)
        for b, idx, val, per_row in synthetic_batches(rng, a.cells, a.genes, a.nnz):
            indptr[b + 1:b + 1 + per_row.size] = at + np.cumsum(per_row)
            data.resize((at + idx.size,))
            indices.resize((at + idx.size,))
            data[at:] = val
            indices[at:] = idx
            at += idx.size
            value_sum += float(val.astype(np.float64).sum())
            index_sum += int(idx.astype(np.int64).sum())
        X.create_dataset("indptr", data=indptr)
        obs_var_and_empty_groups(f, a)
    return at, value_sum, index_sum


def whole_matrix(a, rng):
    idx, val, per_row = [], [], []
    for _, i, v, n in synthetic_batches(rng, a.cells, a.genes, a.nnz):
        idx.append(i)
        val.append(v)
        per_row.append(n)
    indices, data = np.concatenate(idx), np.concatenate(val)
    indptr = np.zeros(a.cells + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.concatenate(per_row))
    return data, indices, indptr


def write_anndata(a, rng):
    """anndata's own writer: what users' files look like."""
    import anndata
    import pandas as pd
    import scipy.sparse as sp
    data, indices, indptr = whole_matrix(a, rng)
    X = sp.csr_matrix((data, indices, indptr), shape=(a.cells, a.genes))
    ad = anndata.AnnData(X, obs=pd.DataFrame(index=[f"cell{i}" for i in range(a.cells)]),
                         var=pd.DataFrame(index=[f"GENE{i}" for i in range(a.genes)]))
    ad.write_h5ad(a.out, compression=a.compression)
    return data.size, float(data.astype(np.float64).sum()), int(indices.astype(np.int64).sum())


def write_contiguous(a, rng):
    """Each X dataset one contiguous h5py dataset (no chunks), written in one call."""
    data, indices, indptr = whole_matrix(a, rng)
    with h5py.File(a.out, "w") as f:
        X = csr_group(f, a)
        X.create_dataset("data", data=data)
        X.create_dataset("indices", data=indices)
        X.create_dataset("indptr", data=indptr)
        obs_var_and_empty_groups(f, a)
    return data.size, float(data.astype(np.float64).sum()), int(indices.astype(np.int64).sum())


def describe_x(path):
    with h5py.File(path, "r") as f:
        for k in ("data", "indices", "indptr"):
            d = f["X"][k]
            print(f"  X/{k}: {d.dtype} {d.shape} chunks={d.chunks} compression={d.compression}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--cells", type=int, required=True)
    ap.add_argument("--genes", type=int, default=20000)
    ap.add_argument("--nnz", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layout", choices=("batched", "anndata", "contiguous"), default="batched")
    ap.add_argument("--compression", choices=("gzip", "lzf"), default=None,
                    help="anndata layout only: anndata's write_h5ad compression")
    a = ap.parse_args()
    if a.compression and a.layout != "anndata":
        ap.error("--compression applies to --layout anndata only")
    rng = np.random.default_rng(a.seed)
    writer = {"batched": write_batched, "anndata": write_anndata, "contiguous": write_contiguous}[a.layout]
    at, value_sum, index_sum = writer(a, rng)
    print(f"{a.out}: {a.cells} cells x {a.genes} genes, {at} stored values ({a.layout} layout); "
          f"checksum: value sum {value_sum:.1f}, index sum {index_sum}")
    describe_x(a.out)


if __name__ == "__main__":
    main()
