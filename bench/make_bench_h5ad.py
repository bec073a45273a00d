#!/usr/bin/python3
"""Writes a synthetic CSR .h5ad for bench_read_h5ad (issue "single-cell data path"): N cells x G
genes, ~NNZ stored values per cell (sorted random gene indices, float32 counts 1..), int32 indices,
int64 indptr, no compression (the benchmark measures the reader against raw disk speed), written
with h5py in row chunks so memory stays small. anndata 0.8 layout (encoding-type attributes,
obs/var dataframes with string _index). Prints the value/index checksums bench_read_h5ad prints.

usage: /usr/bin/python3 bench/make_bench_h5ad.py OUT.h5ad --cells 50000 [--genes 20000] [--nnz 1500]
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--cells", type=int, required=True)
    ap.add_argument("--genes", type=int, default=20000)
    ap.add_argument("--nnz", type=int, default=1500)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    gap_max = 2 * a.genes // a.nnz - 1                      # mean gap ~ genes / nnz
    with h5py.File(a.out, "w") as f:
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
        X = f.create_group("X")
        X.attrs["encoding-type"] = "csr_matrix"
        X.attrs["encoding-version"] = "0.1.0"
        X.attrs["shape"] = np.array([a.cells, a.genes], dtype=np.int64)
        data = X.create_dataset("data", shape=(0,), maxshape=(None,), dtype=np.float32, chunks=(1 << 18,))
        indices = X.create_dataset("indices", shape=(0,), maxshape=(None,), dtype=np.int32, chunks=(1 << 18,))
        indptr = np.zeros(a.cells + 1, dtype=np.int64)
        value_sum, index_sum, at = 0.0, 0, 0
        for b in range(0, a.cells, 2000):
            e = min(b + 2000, a.cells)
            pos = np.cumsum(rng.integers(1, gap_max + 1, size=(e - b, a.nnz)), axis=1) - 1
            keep = pos < a.genes
            idx = pos[keep].astype(np.int32)                    # row-major: sorted within each row
            val = (1 + rng.negative_binomial(1, 0.4, size=idx.size)).astype(np.float32)
            indptr[b + 1:e + 1] = at + np.cumsum(keep.sum(axis=1))
            data.resize((at + idx.size,))
            indices.resize((at + idx.size,))
            data[at:] = val
            indices[at:] = idx
            at += idx.size
            value_sum += float(val.astype(np.float64).sum())
            index_sum += int(idx.astype(np.int64).sum())
        X.create_dataset("indptr", data=indptr)
        dataframe(f, "obs", a.cells, "cell")
        dataframe(f, "var", a.genes, "GENE")
        for empty in ("obsm", "varm", "obsp", "varp", "layers", "uns"):
            g = f.create_group(empty)
            g.attrs["encoding-type"] = "dict"
            g.attrs["encoding-version"] = "0.1.0"
    print(f"{a.out}: {a.cells} cells x {a.genes} genes, {at} stored values; "
          f"checksum: value sum {value_sum:.1f}, index sum {index_sum}")


if __name__ == "__main__":
    main()
