#!/usr/bin/env bash
# The scale benchmark (docs/performance.md): one gateway-mode node on 127.0.0.1 holding a fresh random master key,
# the plaintext opensearch-knn baseline in the same node, ScaleBench (org.encryptedknn.tools.bench) as the application.
# Prints recall@10, p50/p95/p99 and throughput at 1 and 8 clients, ingest docs/s, size, heap and off-heap memory and
# the load average, for every search mode next to plaintext k-NN.
#   usage: scripts/scale-bench.sh [ScaleBench options, e.g. --vectors 100000 --corpus matched|debian --queries 200]
# Environment: EKNN_SCALE_PORT (HTTP, default 9450; transport +100), EKNN_SCALE_HEAP (node heap, default 2g),
# EKNN_SCALE_CLIENT_HEAP (benchmark JVM, default 4g), EKNN_SCALE_TIMEOUT (seconds the run may take, default 3600).
# The node's data dir (cache dir/nodes/scale/data) is wiped first and a fresh key generated, unless --reuse is given:
# then the indices, the model and the key of the previous run stay, and only the queries run again (at 10^6 the ingest
# takes most of an hour). The key lives only in a private temp dir and the node's keystore, is never printed, and the
# node is stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

PORT="${EKNN_SCALE_PORT:-9450}"
NODE=scale
eknn_find_jdk
eknn_require "${EKNN_RUN_NEEDS[@]}" # npm: the SpamAssassin corpus; xz: the Debian descriptions
CACHE="$(eknn_cache_dir)"
OS=(bash "$ROOT/scripts/opensearch.sh")
[ -f "$ROOT/target/classpath.txt" ] && ls "$ROOT"/target/releases/encrypted-knn-*.zip >/dev/null 2>&1 \
  || bash "$ROOT/scripts/build.sh" >/dev/null
ZIP="$(ls "$ROOT"/target/releases/encrypted-knn-*.zip | head -n 1)"

SECRETS="$(mktemp -d)"
chmod 700 "$SECRETS"
cleanup() { "${OS[@]}" stop --name "$NODE" >/dev/null 2>&1 || true; rm -rf "$SECRETS"; }
trap cleanup EXIT

"${OS[@]}" fetch >/dev/null
"${OS[@]}" install-knn >/dev/null
"${OS[@]}" install "$ZIP" >/dev/null
"${OS[@]}" stop --name "$NODE" >/dev/null 2>&1 || true
REUSE=false
for arg in "$@"; do [ "$arg" = --reuse ] && REUSE=true; done
if [ "$REUSE" = false ]; then
  rm -rf "$CACHE/nodes/$NODE/data"
  head -c 32 /dev/urandom | base64 > "$SECRETS/master.key"
  "${OS[@]}" keystore-add --name "$NODE" encrypted_knn.master_key < "$SECRETS/master.key"
fi
"${OS[@]}" start --name "$NODE" --port "$PORT" --heap "${EKNN_SCALE_HEAP:-2g}"

ENCRYPTED_KNN_CACHE="$CACHE" timeout "${EKNN_SCALE_TIMEOUT:-3600}" "$JAVA_HOME/bin/java" \
  -Xmx"${EKNN_SCALE_CLIENT_HEAP:-4g}" -Djna.nosys=true -cp "$(cat "$ROOT/target/classpath.txt")" \
  org.encryptedknn.tools.bench.ScaleBench --url "http://127.0.0.1:$PORT" "$@"
