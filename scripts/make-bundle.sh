#!/usr/bin/env bash
# Makes a relocatable bundle of a build: bin/ (uce-run), lib/uce-engine/plugins/, and lib/ with the
# shared libraries that a machine without the -dev packages lacks (oneTBB, HDF5, OpenBLAS, CLBlast,
# ...). Every binary finds them through its $ORIGIN-relative RUNPATH, so the folder can be copied
# anywhere (e.g. to a GPU node with a different distribution) and run in place.
#   scripts/make-bundle.sh [BUILD_DIR=build] [OUT=uce-engine-bundle]
set -euo pipefail
BUILD=${1:-build}
OUT=${2:-uce-engine-bundle}
rm -rf "$OUT"
cmake --install "$BUILD" --prefix "$OUT" >/dev/null
mkdir -p "$OUT/lib"
# Libraries every Linux has (and must come from the host: glibc, the C++ runtime, GPU drivers).
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libresolv\.|libnss_|libutil\.|libanl\.|libstdc\+\+|libgcc_s|libvulkan|libOpenCL|libcuda|libnvidia)'
for f in "$OUT"/bin/* "$OUT"/lib/uce-engine/plugins/*.so; do
  ldd "$f" 2>/dev/null | awk '/=> \// {print $1, $3}' | while read -r name path; do
    if ! [[ $name =~ $skip ]] && [ ! -e "$OUT/lib/$name" ]; then cp -L "$path" "$OUT/lib/$name"; fi
  done
done
# The copied libraries find each other through $ORIGIN too (RUNPATH is not inherited).
if command -v patchelf >/dev/null; then
  for l in "$OUT"/lib/*.so*; do [ -f "$l" ] && patchelf --set-rpath '$ORIGIN' "$l"; done
else
  echo "note: patchelf not installed (apt-get install patchelf): set LD_LIBRARY_PATH=$OUT/lib instead" >&2
fi
echo "bundle: $OUT ($(du -sh "$OUT" | cut -f1)); run $OUT/bin/uce-run CONFIG"
