#!/usr/bin/env bash
# Builds uce-engine and runs every test (all backends available on this machine: reference,
# BLAS, Vulkan on any device incl. Mesa's lavapipe, OpenCL incl. PoCL).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh "$@"
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j"$(nproc)"
