#!/usr/bin/env bash
# Builds libencrypted_knn_seal.so (Rust cdylib + Microsoft SEAL 4.0, statically linked) and
# copies it into <outdir>. Maven calls this in generate-resources with
# <outdir> = target/classes/linux-x86-64 (JNA's resource prefix), so the library ends up on
# the class path and in the jar.
#
#   bash native/build.sh <outdir>
#
# Offline: SEAL's CMake build never downloads anything (see README.md, "Offline build").
# Crates come from crates.io (or ~/.cargo/registry when already fetched); set
# CARGO_NET_OFFLINE=true to forbid even that.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: build.sh <outdir>}"

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CMAKE_TOOLCHAIN_FILE="$here/cmake/offline-toolchain.cmake"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"

if ! command -v cargo >/dev/null 2>&1; then
  echo "native/build.sh: cargo not found (install Rust, see native/README.md)" >&2
  exit 1
fi

cargo build --release --locked --lib --manifest-path "$here/Cargo.toml"

mkdir -p "$out"
cp -f "$CARGO_TARGET_DIR/release/libencrypted_knn_seal.so" "$out/libencrypted_knn_seal.so"
echo "native/build.sh: $(stat -c %s "$out/libencrypted_knn_seal.so") bytes -> $out/libencrypted_knn_seal.so"
