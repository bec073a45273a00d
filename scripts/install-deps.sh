#!/usr/bin/env bash
# Installs what uce-engine needs to build, test and run, from Debian 12's packages.
#   scripts/install-deps.sh          build + run + test dependencies
#   scripts/install-deps.sh --dev    also PyTorch, for regenerating fixtures and the benchmarks
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
packages=(
  cmake ninja-build g++ pkg-config
  libopenblas-dev libtbb-dev libhdf5-dev libtomlplusplus-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  glslc glslang-tools libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd libclblast-dev
  python3 python3-numpy python3-h5py python3-anndata
)
if [ "${1:-}" = "--dev" ]; then
  packages+=(python3-torch)
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${packages[@]}"
