#!/usr/bin/env bash
# On a fresh Debian 12 machine: install dependencies, build, and embed the bundled demo cells.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
mkdir -p out
build/bin/uce-run configs/demo.toml
echo "demo output: out/demo_uce.h5ad (obsm['X_uce']), out/demo_uce.report.html, out/demo_uce.manifest.json"
