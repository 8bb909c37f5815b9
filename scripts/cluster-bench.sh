#!/usr/bin/env bash
# The cluster run (docs/performance.md): three nodes on 127.0.0.1 in one cluster, eknn-scale-cluster:
#   scale-gw  roles cluster_manager + ingest (no data): the gateway, the only node whose keystore holds the master key;
#             the application talks to it only (ingest pipeline, search pipelines, model registry)
#   scale-d1, scale-d2  roles cluster_manager + data, no key
# then ClusterBench (org.encryptedknn.tools.bench): a one-shard index and a two-shard, one-replica index of the same
# documents, every search mode on both, and a fail-over run that stops scale-d2 a third into it and starts it again at
# two thirds; it checks that no acknowledged document is lost and no query returns a wrong score.
#   usage: scripts/cluster-bench.sh [ClusterBench options, e.g. --vectors 20000 --duration 90]
#          scripts/cluster-bench.sh start-node|stop-node NAME   (used by ClusterBench's stop and restart commands)
# Environment: EKNN_CLUSTER_PORT (first HTTP port, default 9451: gw, d1, d2 on +0, +1, +2; transport +100),
# EKNN_CLUSTER_HEAP (each node's heap, default 1g), EKNN_SCALE_CLIENT_HEAP (benchmark JVM, default 3g),
# EKNN_SCALE_TIMEOUT (seconds the run may take, default 3600). Data dirs are wiped first; the key lives only in a
# private temp dir and scale-gw's keystore, never printed; the nodes are stopped on exit.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

BASE="${EKNN_CLUSTER_PORT:-9451}"
NODES=(scale-gw scale-d1 scale-d2)
eknn_find_jdk
CACHE="$(eknn_cache_dir)"
OS=(bash "$ROOT/scripts/opensearch.sh")

port_of() { case "$1" in scale-gw) echo "$BASE" ;; scale-d1) echo $((BASE + 1)) ;; scale-d2) echo $((BASE + 2)) ;; *) eknn_die "unknown node $1" ;; esac; }
roles_of() { [ "$1" = scale-gw ] && echo '[cluster_manager, ingest]' || echo '[cluster_manager, data]'; }

start_node() {
  local name="$1" seeds="" n
  for n in "${NODES[@]}"; do seeds+="${seeds:+,}\"127.0.0.1:$(( $(port_of "$n") + 100 ))\""; done
  "${OS[@]}" start --cluster scale-cluster --name "$name" --port "$(port_of "$name")" --heap "${EKNN_CLUSTER_HEAP:-1g}" \
    --setting "node.roles=$(roles_of "$name")" --setting "discovery.seed_hosts=[$seeds]" \
    --setting "cluster.initial_cluster_manager_nodes=[scale-gw, scale-d1, scale-d2]"
}

case "${1:-}" in
  start-node) start_node "$2"; exit 0 ;;
  stop-node) "${OS[@]}" stop --name "$2"; exit 0 ;;
esac

[ -f "$ROOT/target/classpath.txt" ] && ls "$ROOT"/target/releases/encrypted-knn-*.zip >/dev/null 2>&1 \
  || bash "$ROOT/scripts/build.sh" >/dev/null
ZIP="$(ls "$ROOT"/target/releases/encrypted-knn-*.zip | head -n 1)"
SECRETS="$(mktemp -d)"
chmod 700 "$SECRETS"
cleanup() {
  local n
  for n in "${NODES[@]}"; do "${OS[@]}" stop --name "$n" >/dev/null 2>&1 || true; done
  rm -rf "$SECRETS"
}
trap cleanup EXIT

"${OS[@]}" fetch >/dev/null
"${OS[@]}" install-knn >/dev/null
"${OS[@]}" install "$ZIP" >/dev/null
for n in "${NODES[@]}"; do
  "${OS[@]}" stop --name "$n" >/dev/null 2>&1 || true
  rm -rf "$CACHE/nodes/$n/data" "$CACHE/nodes/$n/config/opensearch.keystore"
done
head -c 32 /dev/urandom | base64 > "$SECRETS/master.key"
"${OS[@]}" keystore-add --name scale-gw encrypted_knn.master_key < "$SECRETS/master.key"
for n in "${NODES[@]}"; do start_node "$n"; done
curl -fsS --max-time 300 "http://127.0.0.1:$BASE/_cluster/health?wait_for_nodes=3&wait_for_status=green&timeout=240s" >/dev/null \
  || eknn_die "the cluster did not form (3 nodes, green)"

ENCRYPTED_KNN_CACHE="$CACHE" timeout "${EKNN_SCALE_TIMEOUT:-3600}" "$JAVA_HOME/bin/java" \
  -Xmx"${EKNN_SCALE_CLIENT_HEAP:-3g}" -Djna.nosys=true -cp "$(cat "$ROOT/target/classpath.txt")" \
  org.encryptedknn.tools.bench.ClusterBench --url "http://127.0.0.1:$BASE" \
  --stop-command "bash '$ROOT/scripts/cluster-bench.sh' stop-node scale-d2" \
  --restart-command "bash '$ROOT/scripts/cluster-bench.sh' start-node scale-d2" "$@"
