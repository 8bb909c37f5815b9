#!/usr/bin/env bash
# Recall@10 with the model's calibrated default window, per encoder, on a real node in gateway mode
# (tools.bench.CalibratedRecall; docs/performance.md "The default window"): build, install the plugin, start a node
# with a throw-away master key, and for each encoder (all-minilm-l6-v2, e5-small-v2-q) embed the SpamAssassin corpus
# (cached), fit a model on the node with every parameter at its default, index through the encrypting pipeline and
# send the held-out queries without k. One row per encoder; the node is stopped at the end.
#   usage: scripts/calibrated-recall.sh [--port 9200] [CalibratedRecall options, e.g. --limit 1500]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
eknn_find_jdk
eknn_require "${EKNN_BUILD_NEEDS[@]}" "${EKNN_RUN_NEEDS[@]}"

port=9200
[ "${1:-}" != --port ] || { port="$2"; shift 2; }
node=calibrated
zip="$(bash "$HERE/build.sh" | tail -n 1)"
cache="$(eknn_cache_dir)"
os() { bash "$HERE/opensearch.sh" "$@"; }
trap 'os stop --name "$node" >/dev/null 2>&1 || true' EXIT

os fetch
os install "$zip"
os stop --name "$node" >/dev/null 2>&1 || true
# the indices and models of this run are rebuilt every time, so a fresh key will do
head -c 32 /dev/urandom | base64 | os keystore-add --name "$node" encrypted_knn.master_key
os start --name "$node" --port "$port"
ENCRYPTED_KNN_CACHE="$cache" "$JAVA_HOME/bin/java" -Xmx3g -cp "$(cat "$HERE/../target/classpath.txt")" \
  org.encryptedknn.tools.bench.CalibratedRecall --url "http://127.0.0.1:$port" "$@"
