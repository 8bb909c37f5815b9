#!/usr/bin/env bash
# Puts the source of Microsoft SEAL 4.1.2 into the cache and prints its directory (the only line on stdout).
#
#   bash native/fetch-seal.sh <cache dir>
#
# SEAL comes from the PyPI source distribution pinned (version and sha256) in native/seal-source.txt, which
# carries it unmodified under Pyfhel/backend/SEAL. pip downloads the sdist (checking the hash); pip prepares the
# package's metadata in a throw-away isolated environment on the way (its build requirements come as wheels), but
# nothing of Pyfhel is built or kept: only the SEAL folder is extracted. Offline once cached.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${1:?usage: fetch-seal.sh <cache dir>}"
requirement="$here/seal-source.txt"

pin="$(grep -v '^#' "$requirement" | grep -m1 -- '--hash=sha256:')"
name="${pin%%==*}"
version="$(sed -n 's/^[^=]*==\([^ ]*\) .*/\1/p' <<< "$pin")"
sha256="$(sed -n 's/.*--hash=sha256:\([0-9a-f]\{64\}\).*/\1/p' <<< "$pin")"
[ -n "$name" ] && [ -n "$version" ] && [ -n "$sha256" ] || { echo "fetch-seal.sh: cannot read the pin in $requirement" >&2; exit 1; }

sdist="$cache/sdist/$name-$version.tar.gz"
src="$cache/seal-src-${sha256:0:16}"
if [ -f "$src/.complete" ]; then
  echo "$src"
  exit 0
fi

verified() { [ -f "$sdist" ] && [ "$(sha256sum "$sdist" | cut -d' ' -f1)" = "$sha256" ]; }
if ! verified; then
  rm -f "$sdist"
  command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1 \
    || { echo "fetch-seal.sh: python3 with pip is needed to download the SEAL source (apt-get install python3-pip)" >&2; exit 1; }
  echo "[native] downloading the SEAL 4.1.2 source: $name $version sdist from PyPI (sha256 $sha256)" >&2
  mkdir -p "$cache/sdist"
  python3 -m pip download --quiet --no-deps --no-binary "$name" --require-hashes -r "$requirement" \
    -d "$cache/sdist" >&2
  verified || { echo "fetch-seal.sh: $sdist does not have sha256 $sha256" >&2; exit 1; }
fi

echo "[native] extracting $name-$version/Pyfhel/backend/SEAL into $src" >&2
tmp="$(mktemp -d "$cache/.seal-src.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
tar -xzf "$sdist" -C "$tmp" --strip-components=4 "$name-$version/Pyfhel/backend/SEAL"
rm -f "$tmp/.git"   # a submodule pointer into Pyfhel's repository, which is not there
grep -q 'project(SEAL VERSION 4.1.2 ' "$tmp/CMakeLists.txt" \
  || { echo "fetch-seal.sh: $sdist does not carry SEAL 4.1.2" >&2; exit 1; }
touch "$tmp/.complete"
rm -rf "$src"
mv "$tmp" "$src"
trap - EXIT
echo "$src"
