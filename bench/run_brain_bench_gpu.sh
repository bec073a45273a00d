#!/bin/bash
# run_brain_bench_gpu.sh — the UCE-brain forward benchmark (issue "UCE-brain models") on a GPU
# machine: makes the synthetic pilot-shaped model there (bench/make_synthetic_brain.py, numpy only),
# then runs uce_bench_brain on vulkan fp32, vulkan fp16 (coopmat) and opencl fp32 at batch 1, 8,
# 32 and 64, and prints one summary line per run (from the RESULT lines).
#
#   bench/run_brain_bench_gpu.sh                          # defaults below
#   BUILD_DIR=/path/to/build CELLS=128 bench/run_brain_bench_gpu.sh
#
# Environment: BUILD_DIR (build: needs bin/uce_bench_brain and the vulkan/opencl plugins;
# configure with -DUCE_VULKAN=ON -DUCE_OPENCL=ON), PLUGIN_DIR (default: the engine's own default
# next to the binary), MODEL_DIR (/tmp/uce-brain-bench), PY (python3), BATCHES ("1 8 32 64"),
# CELLS (256: at least 4 timed calls at batch 64), CONFIGS ("vulkan vulkan-fp16 opencl"),
# LOG (a new file under /tmp). Goals (end to end through uce-run, so these model-only figures are
# an upper bound): >= 500 cells/s fp32 GPU paths, >= 3000 cells/s Vulkan fp16.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
MODEL_DIR=${MODEL_DIR:-/tmp/uce-brain-bench}
PY=${PY:-python3}
BATCHES=${BATCHES:-"1 8 32 64"}
CELLS=${CELLS:-256}
CONFIGS=${CONFIGS:-"vulkan vulkan-fp16 opencl"}
LOG=${LOG:-$(mktemp /tmp/uce-brain-gpu-bench.XXXXXX.log)}
BENCH="$BUILD_DIR/bin/uce_bench_brain"
PLUGIN_ARGS=()
[ -n "${PLUGIN_DIR:-}" ] && PLUGIN_ARGS=(--plugin-dir "$PLUGIN_DIR")

[ -x "$BENCH" ] || { echo "missing $BENCH: cmake --build $BUILD_DIR --target uce_bench_brain uce_backend_vulkan uce_backend_opencl" >&2; exit 1; }
if [ ! -f "$MODEL_DIR/model.safetensors" ] || [ ! -f "$MODEL_DIR/sentence.npy" ]; then
  "$PY" "$HERE/make_synthetic_brain.py" "$MODEL_DIR" || exit 1
fi

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) cores"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  echo "command: $0 (BATCHES='$BATCHES' CELLS=$CELLS CONFIGS='$CONFIGS' MODEL_DIR=$MODEL_DIR)"
} | tee "$LOG"

for config in $CONFIGS; do
  case "$config" in
    vulkan) args=(--backend vulkan) ;;
    vulkan-fp16) args=(--backend vulkan --fp16) ;;
    opencl) args=(--backend opencl) ;;
    opencl-fp16) args=(--backend opencl --fp16) ;;
    *) echo "unknown config '$config'" >&2; exit 2 ;;
  esac
  for batch in $BATCHES; do
    echo "== $config batch $batch ==" | tee -a "$LOG"
    # --no-sgemm: the sgemm probe is for the CPU backend; GPU runs time the forward only.
    "$BENCH" --model "$MODEL_DIR" "${args[@]}" --batch "$batch" --cells "$CELLS" --warmup 2 --no-sgemm \
      "${PLUGIN_ARGS[@]}" 2>&1 | tee -a "$LOG"
  done
done

echo "== summary (cells/s, model only; goals: fp32 >= 500, vulkan fp16 >= 3000) =="
grep '^RESULT brain' "$LOG" | sed -E 's/.*backend=([^ ]+) fp16=([01]).* batch=([0-9]+) .*ms_per_cell=([0-9.]+) cells_per_s=([0-9.]+).*/\1 fp16=\2 batch=\3: \5 cells\/s (\4 ms\/cell)/'
echo "log: $LOG"
