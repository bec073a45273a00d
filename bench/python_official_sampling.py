#!/usr/bin/python3
"""Baseline of the "single-cell data path" benchmark: the OFFICIAL UCE per-cell sampling code path
(eval_data.MultiDatasetSentences.__getitem__ + sample_cell_sentences), on ONE core, over the
synthetic cells that bench_sentences.cpp wrote (--data-dir): cells per second.

The per-cell work is tests/reference/official_run.py's official_weights + official_sentence
(torch log1p / sum on the cell's dense int64 row of all genes, Python's sum renormalisation,
np.random.choice(p=...), argsort by chromosome, np.unique + np.random.shuffle, argsort by start),
imported from there, seeded once with np.random.seed(0) as the official run is. The dense rows
are built BEFORE the clock starts (the official code reads them from an int64 memmap; leaving that
read out favours Python). Timing: CPU seconds of this process (time.process_time) and wall clock,
median over --repeats.

Check: the first cells' sentences must equal the C++ numpy-legacy ones (check_sentences.npy),
token for token, so both sides demonstrably build the same sentences.

usage: /usr/bin/python3 bench/python_official_sampling.py --data-dir DIR [--cells 300] [--repeats 3]
"""
import os

for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
from official_run import official_sentence, official_weights  # noqa: E402

torch.set_num_threads(1)
CLS, CLOSE, CHROM_OFFSET, S = 3, 2, 143574, 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--cells", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    d = lambda name: np.load(os.path.join(a.data_dir, name))  # noqa: E731
    tokens, chroms, starts = d("genes_token.npy"), d("genes_chrom.npy"), d("genes_start.npy")
    indptr, indices, counts = d("cells_indptr.npy"), d("cells_indices.npy"), d("cells_counts.npy")
    n_genes = len(tokens)
    n = min(a.cells, len(indptr) - 1)
    dense = np.zeros((n, n_genes), dtype=np.int64)                  # the official int64 memmap rows
    for r in range(n):
        dense[r, indices[indptr[r]:indptr[r + 1]]] = counts[indptr[r]:indptr[r + 1]]

    # Same sentences as the C++ numpy-legacy mode (seed 0)?
    check, lengths = d("check_sentences.npy"), d("check_lengths.npy")
    k = min(len(lengths), n)
    np.random.seed(0)
    at, same = 0, 0
    for r in range(k):
        sent = official_sentence(official_weights(dense[r]), chroms, starts, tokens, S, CLS, CLOSE, CHROM_OFFSET)
        ref = check[at:at + lengths[r]]
        at += lengths[r]
        same += int(len(sent) == len(ref) and np.array_equal(np.asarray(sent, dtype=np.int64), ref))
    print(f"check: {same} of {k} sentences equal to the C++ numpy-legacy sentences (seed 0)")

    cpu, wall = [], []
    for _ in range(a.repeats):
        np.random.seed(0)
        c0, w0 = time.process_time(), time.perf_counter()
        for r in range(n):
            official_sentence(official_weights(dense[r]), chroms, starts, tokens, S, CLS, CLOSE, CHROM_OFFSET)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    c, w = statistics.median(cpu), statistics.median(wall)
    print(f"python official per-cell sampling: {n} cells x {a.repeats} repeats, torch {torch.__version__}, "
          f"numpy {np.__version__}, torch threads {torch.get_num_threads()}")
    print(f"cells/s/core {n / c:.1f}  cells/s wall {n / w:.1f}  cpu s (med) {c:.3f} (min {min(cpu):.3f} "
          f"max {max(cpu):.3f})  wall s (med) {w:.3f}  us/cell {1e6 * c / n:.0f}")
    return 0 if same == k else 1


if __name__ == "__main__":
    sys.exit(main())
