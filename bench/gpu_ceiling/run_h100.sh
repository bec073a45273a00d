#!/bin/sh
# run_h100.sh BUILD [OUT] — the compute ceilings of an NVIDIA GPU, in one run (README.md here):
# the warp-level tensor-core instruction (mma_peak.cu, built here with nvcc), the same through
# Vulkan (BUILD/bin/uce_vk_peak), cuBLAS at the models' GEMM shapes (cublas_peak.py), and the SM
# clock and power sampled every 500 ms meanwhile. Needs nvcc, nvidia-smi, PyTorch, and a Vulkan
# loader that finds the NVIDIA driver (on the H100 machine: bench/shootout/README.md, "On the H100").
set -eu
BUILD=${1:?usage: run_h100.sh BUILD [OUT]}
OUT=${2:-.}
HERE=$(dirname "$0")
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,compute_cap,clocks.max.sm,power.limit --format=csv | tee "$OUT/gpu.txt"
ARCH=sm_$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '.')
nvcc -O3 -arch="$ARCH" -o "$OUT/mma_peak" "$HERE/mma_peak.cu"
nvidia-smi --query-gpu=timestamp,clocks.sm,power.draw,temperature.gpu --format=csv -lms 500 \
  > "$OUT/clocks.csv" &
SAMPLER=$!
status=0
# (no pipefail in sh: each program writes its file, which is then shown, so a failure keeps its status)
"$OUT/mma_peak" > "$OUT/mma_peak.txt" || status=1
cat "$OUT/mma_peak.txt"
"$BUILD/bin/uce_vk_peak" > "$OUT/vk_peak.txt" || status=1
cat "$OUT/vk_peak.txt"
python3 "$HERE/cublas_peak.py" > "$OUT/cublas.txt" || status=1
cat "$OUT/cublas.txt"
kill "$SAMPLER" 2>/dev/null || true
exit $status
