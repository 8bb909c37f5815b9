#!/usr/bin/env bash
# Builds everything with one Maven command (all modules, the native SEAL library, the plugin zip) and writes
# the tools' class path to target/classpath.txt (tools/target/classes and its runtime dependencies: the CLI, the
# demo, the benchmarks and the audit run from it; the reliability scenarios use tools/target/it-classpath.txt).
#   usage: scripts/build.sh [extra Maven arguments]
# Prints nothing on stdout but the plugin zip's path (target/releases/encrypted-knn-<version>.zip) on its last line.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

eknn_find_jdk
eknn_require "${EKNN_BUILD_NEEDS[@]}"
CACHE="$(eknn_cache_dir)"
M2="$CACHE/m2"
mkdir -p "$M2"
# Speeds up the first run on a machine where root already has a Maven repository; never required.
if eknn_is_root && [ ! -e "$M2/.seeded" ] && [ -d /root/.m2/repository ]; then
  eknn_log "seeding the Maven cache from /root/.m2/repository"
  cp -a /root/.m2/repository/. "$M2/" 2>/dev/null || true
  touch "$M2/.seeded"
fi
# native/build.sh keeps the SEAL source and build under $ENCRYPTED_KNN_CACHE/native.
export ENCRYPTED_KNN_CACHE="$CACHE"

eknn_log "building (Java, native SEAL library, plugin zip)"
(cd "$ROOT" && mvn -B -ntp -Dmaven.repo.local="$M2" -DskipTests "$@" package) >&2
mkdir -p "$ROOT/target"
echo "$ROOT/tools/target/classes:$(cat "$ROOT/tools/target/classpath.txt")" > "$ROOT/target/classpath.txt"
# The zip is built in plugin/target/releases; a copy at the documented place, target/releases.
mkdir -p "$ROOT/target/releases"
cp "$ROOT"/plugin/target/releases/encrypted-knn-*.zip "$ROOT/target/releases/"
ls "$ROOT"/target/releases/encrypted-knn-*.zip
