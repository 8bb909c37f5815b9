#!/usr/bin/env bash
# The main job end to end (README): build; fetch OpenSearch 3.5.0 and opensearch-knn from Maven
# Central; install the plugin; start a node on 127.0.0.1 (as an unprivileged user when root);
# put a generated master key in its keystore (gateway mode); create the model, the encrypting ingest
# pipeline, the index and the search pipeline; embed and index the SpamAssassin corpus (and a
# plaintext baseline); run natural-language queries through the pipelines and print the results next
# to the baseline; show what the storage tier holds; stop the node.
# Re-running reuses the cache: downloads, embeddings, the key, the model and the indices.
#   usage: scripts/demo.sh [--port 9200] [query text]...
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

PORT=9200
if [ "${1:-}" = --port ]; then PORT="$2"; shift 2; fi
NODE=demo

eknn_find_jdk
eknn_require "${EKNN_BUILD_NEEDS[@]}" "${EKNN_RUN_NEEDS[@]}"
ZIP="$(bash "$ROOT/scripts/build.sh" | tail -n 1)"
CACHE="$(eknn_cache_dir)"
STATE="$CACHE/demo"
mkdir -p "$STATE"
chmod 0700 "$STATE"

stop_node() { bash "$ROOT/scripts/opensearch.sh" stop --name "$NODE" >/dev/null 2>&1 || true; }
trap stop_node EXIT
bash "$ROOT/scripts/opensearch.sh" fetch
bash "$ROOT/scripts/opensearch.sh" install-knn
bash "$ROOT/scripts/opensearch.sh" install "$ZIP"
# The master key: generated once (root-only file in the demo's state directory, never printed), then
# put into the node's keystore before every start, so the sealed model and the indices stay readable.
KEY_FILE="$STATE/master.key"
if [ ! -s "$KEY_FILE" ]; then
  (umask 077; head -c 32 /dev/urandom | base64 > "$KEY_FILE")
fi
stop_node
bash "$ROOT/scripts/opensearch.sh" keystore-add --name "$NODE" encrypted_knn.master_key < "$KEY_FILE"
bash "$ROOT/scripts/opensearch.sh" start --name "$NODE" --port "$PORT"

# The demo is an unmodified application: plaintext in, exact results out; the node encrypts.
CP="$(cat "$ROOT/target/classpath.txt")"
ENCRYPTED_KNN_CACHE="$CACHE" "$JAVA_HOME/bin/java" -Xmx4g -Djna.nosys=true --enable-native-access=ALL-UNNAMED -cp "$CP" \
  org.encryptedknn.tools.demo.Demo --url "http://127.0.0.1:$PORT" --data-dir "$CACHE/nodes/$NODE/data" "$@"
