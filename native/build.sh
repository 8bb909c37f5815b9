#!/usr/bin/env bash
# Builds libencrypted_knn_seal.so (the C++ shim in native/src over Microsoft SEAL 4.1.2, linked statically) and
# copies it into <outdir>. Maven calls this in generate-resources with <outdir> = target/classes/linux-x86-64
# (JNA's resource prefix), so the library ends up on the class path and in the jar.
#
#   bash native/build.sh <outdir> [sweep] [timing]     # extra names: command-line tools over the C ABI
#
# Cache (ENCRYPTED_KNN_CACHE/native, else native/build): the SEAL source (native/fetch-seal.sh, downloaded once),
# SEAL's static build (once per source hash, SEAL options file and compiler) and the shim's build tree. Needs
# cmake, make, gcc/g++ and, for the first download only, python3 with pip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: build.sh <outdir> [sweep] [timing]}"
shift
cache="${ENCRYPTED_KNN_CACHE:+$ENCRYPTED_KNN_CACHE/native}"
cache="${cache:-$here/build}"
jobs="$(nproc 2>/dev/null || echo 2)"

for tool in cmake make gcc g++; do
  command -v "$tool" >/dev/null || { echo "native/build.sh: $tool not found (apt-get install cmake make gcc g++)" >&2; exit 1; }
done
mkdir -p "$cache" "$out"
# One build at a time per cache (two Maven runs sharing a cache would otherwise race on the SEAL build).
exec 9>"$cache/.lock"
flock 9

src="$(bash "$here/fetch-seal.sh" "$cache")"

# SEAL: configured by native/cmake/seal-options.cmake, built (library target only) and installed once per key.
key="$( { basename "$src"; cat "$here/cmake/seal-options.cmake"; g++ --version | head -n 1; cmake --version | head -n 1; } \
  | sha256sum | cut -c1-16)"
seal="$cache/seal-$key"
if [ ! -f "$seal/.complete" ]; then
  echo "[native] building Microsoft SEAL 4.1.2 (static, Release; once per cache) in $seal" >&2
  rm -rf "$seal"
  started=$SECONDS
  cmake -S "$src" -B "$seal/build" -C "$here/cmake/seal-options.cmake" -DCMAKE_INSTALL_PREFIX="$seal/install" >"$seal.log" 2>&1 \
    && cmake --build "$seal/build" --target seal -j "$jobs" >>"$seal.log" 2>&1 \
    && cmake --install "$seal/build" >>"$seal.log" 2>&1 \
    || { tail -n 40 "$seal.log" >&2; echo "native/build.sh: SEAL build failed (log: $seal.log)" >&2; exit 1; }
  rm -rf "$seal/build"
  touch "$seal/.complete"
  echo "[native] SEAL built in $((SECONDS - started)) s" >&2
fi

# The shim: one build tree per checkout (CMake ties a build tree to its source directory) and SEAL build.
shim="$cache/shim-$( { echo "$here"; echo "$key"; } | sha256sum | cut -c1-16)"
seal_dir="$(ls -d "$seal"/install/lib*/cmake/SEAL-4.1 | head -n 1)"
if [ ! -f "$shim/CMakeCache.txt" ]; then
  cmake -S "$here" -B "$shim" -DCMAKE_BUILD_TYPE=Release -DSEAL_DIR="$seal_dir" >"$shim.log" 2>&1 \
    || { cat "$shim.log" >&2; exit 1; }
fi
cmake --build "$shim" --target encrypted_knn_seal "$@" -j "$jobs" >&2

cp -f "$shim/libencrypted_knn_seal.so" "$out/libencrypted_knn_seal.so"
for tool in "$@"; do
  cp -f "$shim/$tool" "$out/$tool"
done
echo "native/build.sh: $(stat -c %s "$out/libencrypted_knn_seal.so") bytes -> $out/libencrypted_knn_seal.so" >&2
