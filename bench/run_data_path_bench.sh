#!/bin/bash
# Issue "single-cell data path" benchmark, one command:
#   1. uce_bench_sentences: C++ sentence building per core, each sampler mode (writes the cells)
#   2. python_official_sampling.py: the official per-cell code path on the same cells, one core
#   3. uce_bench_read_h5ad on two CSR h5ad files (SMALL and LARGE cells) vs dd of the same file,
#      cold (page cache of the file dropped with posix_fadvise DONTNEED) and warm; peak RSS.
# The big files are deleted at the end. Env: BUILD (build dir), WORK (scratch dir), CELLS,
# PY_CELLS, REPEATS, H5_SMALL, H5_LARGE, NNZ, and BASELINE: a folder holding an earlier build's
# uce_bench_sentences, uce_bench_read_h5ad and uce_stage_h5ad.so; when set, every measurement is
# an A/B: baseline and current binaries run alternately, 3 times each, in the same session.
# H5_LAYOUTS: make_bench_h5ad.py layouts to write and read (default "anndata batched": anndata's
# own writer, as users' files are, then the 2,000-cell batched h5py writer). ONLY_H5=1 skips 1-2.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build-bench-data}
WORK=${WORK:-/tmp/uce-data-path-bench}
CELLS=${CELLS:-2000}; PY_CELLS=${PY_CELLS:-300}; REPEATS=${REPEATS:-5}
H5_SMALL=${H5_SMALL:-25000}; H5_LARGE=${H5_LARGE:-50000}; NNZ=${NNZ:-1500}
H5_LAYOUTS=${H5_LAYOUTS:-anndata batched}
mkdir -p "$WORK"
trap 'rm -f "$WORK"/*.h5ad' EXIT

echo "== machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== date: $(date -u +%F)"
load() { echo "$(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"; }
if [ -z "${ONLY_H5:-}" ]; then
echo "== 1. C++ sentence building (single thread; --threads 2 for all cores)"
if [ -n "${BASELINE:-}" ]; then
  for i in 1 2 3; do
    echo "-- A/B round $i: baseline ($(load))"; "$BASELINE/uce_bench_sentences" --cells "$CELLS" --repeats "$REPEATS"
    echo "-- A/B round $i: current ($(load))"; "$BUILD/bin/uce_bench_sentences" --cells "$CELLS" --repeats "$REPEATS"
  done
fi
"$BUILD/bin/uce_bench_sentences" --cells "$CELLS" --repeats "$REPEATS" --threads "$(nproc)" --data-dir "$WORK"
echo "== 2. Python official per-cell sampling (1 core)"
/usr/bin/python3 "$ROOT/bench/python_official_sampling.py" --data-dir "$WORK" --cells "$PY_CELLS" --repeats 3

fi

drop_cache() {  # drop the file's pages from the page cache (no root needed for clean pages)
  /usr/bin/python3 -c "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED); os.close(fd)" "$1"
}
echo "== 3. h5ad read (CSR, ${NNZ} stored values/cell, 20000 genes)"
for layout in $H5_LAYOUTS; do
for cells in "$H5_SMALL" "$H5_LARGE"; do
  f="$WORK/csr_${layout}_${cells}.h5ad"
  /usr/bin/python3 "$ROOT/bench/make_bench_h5ad.py" "$f" --cells "$cells" --nnz "$NNZ" --layout "$layout"
  sync
  echo "-- $f: $(stat -c %s "$f") bytes"
  drop_cache "$f"; echo -n "dd cold: "; dd if="$f" of=/dev/null bs=4M 2>&1 | tail -1
  echo -n "dd warm: "; dd if="$f" of=/dev/null bs=4M 2>&1 | tail -1
  drop_cache "$f"; echo "reader cold:"; "$BUILD/bin/uce_bench_read_h5ad" "$f"
  for i in 1 2 3; do echo "reader warm #$i:"; "$BUILD/bin/uce_bench_read_h5ad" "$f"; done
  if [ -n "${BASELINE:-}" ]; then
    for i in 1 2 3; do
      drop_cache "$f"; echo -n "A/B $i dd cold: "; dd if="$f" of=/dev/null bs=4M 2>&1 | tail -1
      drop_cache "$f"; echo "A/B $i baseline cold ($(load)):"
      "$BASELINE/uce_bench_read_h5ad" "$f" --plugin "$BASELINE/uce_stage_h5ad.so"
      drop_cache "$f"; echo "A/B $i current cold ($(load)):"; "$BUILD/bin/uce_bench_read_h5ad" "$f"
    done
    for i in 1 2 3; do
      echo "A/B $i baseline warm:"; "$BASELINE/uce_bench_read_h5ad" "$f" --plugin "$BASELINE/uce_stage_h5ad.so"
      echo "A/B $i current warm:"; "$BUILD/bin/uce_bench_read_h5ad" "$f"
    done
  fi
  rm -f "$f"
done
done
