#!/bin/bash
# run_forward_bench.sh — the forward-pass benchmark of the issue "engine core" in one command:
# makes the synthetic model (if absent), then runs the engine (uce_bench_forward) and the PyTorch
# baseline (pytorch_baseline.py) alternately A/B/A/B in the same session, and prints a summary:
# engine/PyTorch cells-per-second ratio (per round and median) and forward GFLOP/s vs sgemm.
#
#   bench/run_forward_bench.sh                     # defaults below
#   ROUNDS=5 ENGINE_CELLS=8 TORCH_CELLS=3 LAYERS=4 bench/run_forward_bench.sh
#
# Environment: MODEL_DIR (/tmp/uce-bench[-<layers>l]), BUILD_DIR (build-bench), BACKEND (blas),
# THREADS (2), ROUNDS (3), ENGINE_CELLS (6), TORCH_CELLS (3), BATCH (1), PROFILE (1: per-op
# profile in round 1), LOG_DIR (a new folder under /tmp). OPENBLAS_CORETYPE is passed through
# unchanged to both sides, so both use the same OpenBLAS kernels (each side prints its core).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
LAYERS=${LAYERS:-4}
if [ "$LAYERS" = 4 ]; then DEFAULT_DIR=/tmp/uce-bench; else DEFAULT_DIR=/tmp/uce-bench-${LAYERS}l; fi
MODEL_DIR=${MODEL_DIR:-$DEFAULT_DIR}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-bench}
BACKEND=${BACKEND:-blas}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
ENGINE_CELLS=${ENGINE_CELLS:-6}
TORCH_CELLS=${TORCH_CELLS:-3}
BATCH=${BATCH:-1}
PROFILE=${PROFILE:-1}
LOG_DIR=${LOG_DIR:-$(mktemp -d /tmp/uce-forward-bench.XXXXXX)}
mkdir -p "$LOG_DIR"
PY=/usr/bin/python3
BENCH="$BUILD_DIR/bin/uce_bench_forward"

[ -x "$BENCH" ] || { echo "missing $BENCH: cmake --build $BUILD_DIR -j2 --target uce_bench_forward uce_backend_blas" >&2; exit 1; }
if [ ! -f "$MODEL_DIR/model.torch" ] || [ ! -f "$MODEL_DIR/sentence.npy" ]; then
  "$PY" "$HERE/make_synthetic_model.py" "$MODEL_DIR" --layers "$LAYERS"
fi

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "OPENBLAS_CORETYPE: ${OPENBLAS_CORETYPE:-(not set)}"
  echo "command: $0 (LAYERS=$LAYERS BACKEND=$BACKEND THREADS=$THREADS ROUNDS=$ROUNDS ENGINE_CELLS=$ENGINE_CELLS TORCH_CELLS=$TORCH_CELLS BATCH=$BATCH)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$LOG_DIR/session.txt"

for round in $(seq 1 "$ROUNDS"); do
  extra=()
  [ "$PROFILE" = 1 ] && [ "$round" = 1 ] && extra=(--profile)
  echo "== round $round/$ROUNDS: engine ($BACKEND) ==  load $(cut -d' ' -f1 /proc/loadavg)"
  "$BENCH" --model "$MODEL_DIR" --backend "$BACKEND" --threads "$THREADS" --cells "$ENGINE_CELLS" \
    --batch "$BATCH" "${extra[@]}" | tee "$LOG_DIR/engine.$round.txt"
  echo "== round $round/$ROUNDS: pytorch ==  load $(cut -d' ' -f1 /proc/loadavg)"
  "$PY" "$HERE/pytorch_baseline.py" "$MODEL_DIR" --threads "$THREADS" --cells "$TORCH_CELLS" \
    | tee "$LOG_DIR/pytorch.$round.txt"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$LOG_DIR/session.txt"

"$PY" "$HERE/summarize_forward_bench.py" "$LOG_DIR" | tee "$LOG_DIR/summary.txt"
echo "logs: $LOG_DIR"
