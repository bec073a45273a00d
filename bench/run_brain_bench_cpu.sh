#!/bin/bash
# run_brain_bench_cpu.sh — the UCE-brain forward benchmark on the CPU (issue "UCE-brain models"):
# makes the synthetic pilot-shaped model if absent, then for OPENBLAS_CORETYPE=Haswell (as this
# machine's environment sets it) and unset (OpenBLAS picks its own core): uce_bench_brain on the
# blas backend at each batch size, and the PyTorch baseline (batch 1), for ROUNDS rounds.
# Same script as the session reported in RESULTS.md ("UCE-brain forward pass on the CPU").
#
#   bench/run_brain_bench_cpu.sh 2>&1 | tee /tmp/brain-cpu.log
#
# Environment: BUILD_DIR (build-bench-brain), MODEL_DIR (/tmp/uce-brain-bench), THREADS (2),
# BATCHES ("1 4"), CELLS (8), TORCH_CELLS (2; 0 = no PyTorch), ROUNDS (1).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench-brain}
MODEL_DIR=${MODEL_DIR:-/tmp/uce-brain-bench}
THREADS=${THREADS:-2}
BATCHES=${BATCHES:-"1 4"}
CELLS=${CELLS:-8}
TORCH_CELLS=${TORCH_CELLS:-2}
ROUNDS=${ROUNDS:-1}
PY=/usr/bin/python3
BENCH="$BUILD_DIR/bin/uce_bench_brain"
[ -x "$BENCH" ] || { echo "missing $BENCH: cmake --build $BUILD_DIR -j2 --target uce_bench_brain uce_backend_blas" >&2; exit 1; }
if [ ! -f "$MODEL_DIR/model.safetensors" ] || [ ! -f "$MODEL_DIR/sentence.npy" ]; then
  "$PY" "$HERE/make_synthetic_brain.py" "$MODEL_DIR" || exit 1
fi
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores"
for round in $(seq 1 "$ROUNDS"); do
  echo "# round $round: start $(date -u '+%H:%M:%S') load $(cut -d' ' -f1-3 /proc/loadavg)"
  for core in Haswell unset; do
    if [ "$core" = unset ]; then E=(env -u OPENBLAS_CORETYPE); else E=(env OPENBLAS_CORETYPE=Haswell); fi
    for batch in $BATCHES; do
      echo "== engine $core batch $batch load $(cut -d' ' -f1 /proc/loadavg)"
      "${E[@]}" "$BENCH" --model "$MODEL_DIR" --backend blas --threads "$THREADS" --cells "$CELLS" --batch "$batch"
    done
    if [ "$TORCH_CELLS" -gt 0 ]; then
      echo "== pytorch $core batch 1 load $(cut -d' ' -f1 /proc/loadavg)"
      "${E[@]}" "$PY" "$HERE/pytorch_brain_baseline.py" "$MODEL_DIR" --threads "$THREADS" --cells "$TORCH_CELLS" 2>&1 \
        | grep -v -i "nested"
    fi
  done
  echo "# round $round: end $(date -u '+%H:%M:%S') load $(cut -d' ' -f1-3 /proc/loadavg)"
done
