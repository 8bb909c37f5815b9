#!/usr/bin/env bash
# The test command (README): builds everything (Java, the native SEAL library, the plugin zip),
# starts a real OpenSearch 3.5.0 node with this plugin and opensearch-knn installed, then runs the
# unit tests, the in-process plugin tests and the YAML REST tests against that node, then the framework suite
# (the real Python clients from PyPI, scripts/clients-python.sh), then the docs' code blocks.
#
# OpenSearch and its test framework refuse to run as root: as root, the build runs as root (it may
# install the build's Debian packages) and the node and every test run as the unprivileged user $EKNN_USER.
#
# Extra arguments go to the Maven test run, e.g.  bash scripts/test.sh -Dtest='org.encryptedknn.transform.*Test'
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

eknn_find_jdk
eknn_require "${EKNN_BUILD_NEEDS[@]}" "${EKNN_RUN_NEEDS[@]}"
eknn_log "1/3 build"
ZIP="$(bash "$ROOT/scripts/build.sh" | tail -n 1)"
CACHE="$(eknn_cache_dir)"
M2="$CACHE/m2"
MVN=(mvn -B -ntp -Dmaven.repo.local="$M2")
PORT="${EKNN_TEST_PORT:-9250}"
NODE=it

# The tests run in a copy of the tree owned by the test user when we are root (the clone's parent
# directories need not be reachable by that user).
TREE="$ROOT"
if eknn_is_root; then
  TREE="$CACHE/test-tree"
  rm -rf "$TREE"
  mkdir -p "$TREE"
  tar -C "$ROOT" --exclude=./.git --exclude=./native/build -cf - . | tar -C "$TREE" -xf -
  chown -R "$EKNN_USER:" "$TREE" "$M2"
fi

eknn_log "2/3 start a node on 127.0.0.1:$PORT with encrypted-knn and opensearch-knn"
stop_node() { bash "$ROOT/scripts/opensearch.sh" stop --name "$NODE" >/dev/null 2>&1 || true; }
trap stop_node EXIT
stop_node
bash "$ROOT/scripts/opensearch.sh" fetch
bash "$ROOT/scripts/opensearch.sh" install-knn
bash "$ROOT/scripts/opensearch.sh" install "$ZIP"
rm -rf "$CACHE/it-data"
# Gateway mode needs a master key in the node's keystore: a fresh random one per run, never written anywhere else.
head -c 32 /dev/urandom | base64 | bash "$ROOT/scripts/opensearch.sh" keystore-add --name "$NODE" encrypted_knn.master_key
bash "$ROOT/scripts/opensearch.sh" start --name "$NODE" --port "$PORT" --data-dir "$CACHE/it-data"

eknn_log "3/3 tests (unit, in-process node, REST against 127.0.0.1:$PORT)"
cd "$TREE"
eknn_as_user env JAVA_HOME="$JAVA_HOME" PATH="$PATH" ENCRYPTED_KNN_CACHE="$CACHE" HOME="$(if eknn_is_root; then getent passwd "$EKNN_USER" | cut -d: -f6; else echo "$HOME"; fi)" \
  "${MVN[@]}" -Dnative.skip=true -Dtests.rest.cluster="127.0.0.1:$PORT" "$@" verify

eknn_log "frameworks: LangChain, LlamaIndex and opensearch-py against the same node (scripts/clients-python.sh)"
bash "$TREE/scripts/clients-python.sh" --port "$PORT"

eknn_log "docs: the code blocks of docs/ against the same node (scripts/docs-check.sh)"
bash "$ROOT/scripts/docs-check.sh" --node "$NODE" --port "$PORT"
