#!/usr/bin/env bash
# Reliability scenarios of docs/reliability.md against real gateway-mode nodes on 127.0.0.1:
#   crash      kill -9 of the node's JVM mid-ingest, restart on the same data dir, verify (CrashRecovery)
#   snapshot   snapshot index + model registry, restore into fresh nodes with the same / another key (SnapshotRestore)
#   reload     replace the master key and reload_secure_settings while clients query, then back (KeyReload)
#   rotation   _rotate + in-place _update_by_query re-key while 4 clients query, then re-key linkage (OnlineRotation)
#   load       client mode (the node gets no key): 8 clients, bulk ingest + ckks search, 300 s (MixedLoad)
#   migration  an index in record format v1 migrated in place to v2 (_rotate upgrades the model, _update_by_query
#              re-keys) while 4 clients query, with byte scans of the index directory (OnlineRotation --from-v1)
#   nodeview   10^4 default-mode searches, then the node's search slow log scanned for residual query material (NodeView)
#   all        the seven, in this order
#
# usage: scripts/reliability.sh crash|snapshot|reload|rotation|load|migration|nodeview|all [options of the program, not for crash/snapshot/reload]
# The scenarios are programs in tools/src/it/java (org.encryptedknn.tools.reliability), compiled with the tools' tests;
# each phase is driven from here because the nodes are started, stopped and killed between phases.
# Needs `bash scripts/build.sh` first (tools/target/test-classes, tools/target/it-classpath.txt, the plugin zip).
# HTTP ports $EKNN_REL_PORT … +4 (default 9410; transport port + 100); rotation $EKNN_REL_ROTATION_PORT (9460),
# load $EKNN_REL_LOAD_PORT (9461), nodeview $EKNN_REL_NODEVIEW_PORT (9462), migration $EKNN_REL_MIGRATION_PORT (9463). Nodes, data dirs and the snapshot repository
# live under the cache dir ($ENCRYPTED_KNN_CACHE)/reliability/ and are wiped at the start of a scenario. Master keys
# are random, written only to a private temp dir that is removed on exit, and never printed.
# Exit status: non-zero if a scenario's checks fail.
# EKNN_REL_TRANSLOG_DURABILITY=async (crash only): negative control, acknowledged documents may then be lost.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

[ $# -ge 1 ] || { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
SCENARIO="$1"
shift
cd "$ROOT"
eknn_find_jdk
eknn_ensure_user
CACHE="$(eknn_cache_dir)"
OS=(bash "$ROOT/scripts/opensearch.sh")
PORT="${EKNN_REL_PORT:-9410}"
WORK="$CACHE/reliability"
[ -f tools/target/it-classpath.txt ] || eknn_die "run scripts/build.sh first"
CP="tools/target/test-classes:tools/target/classes:$(cat tools/target/it-classpath.txt)"
ZIP="$(ls plugin/target/releases/encrypted-knn-*.zip)"

SECRETS="$(mktemp -d)"
chmod 700 "$SECRETS"
STARTED=()
cleanup() {
  local n
  for n in "${STARTED[@]+"${STARTED[@]}"}"; do "${OS[@]}" stop --name "$n" >/dev/null 2>&1 || true; done
  rm -rf "$SECRETS"
}
trap cleanup EXIT

scenario() { java -Xmx1g -Djna.nosys=true -cp "$CP" "org.encryptedknn.tools.reliability.$@"; }
new_key() { head -c 32 /dev/urandom | base64 > "$SECRETS/$1.key"; }
node_dir() { "${OS[@]}" paths --name "$1" | sed -n 's/^EKNN_NODE_DIR=//p'; }
fresh_dir() { rm -rf "$1"; mkdir -p "$1"; chown -R "$EKNN_USER:" "$1" 2>/dev/null || true; }

# start_node NAME PORT KEY DATA_DIR [extra start options]: keystore holds $SECRETS/KEY.key
start_node() {
  local name="$1" port="$2" key="$3" data="$4"; shift 4
  "${OS[@]}" keystore-add --name "$name" encrypted_knn.master_key < "$SECRETS/$key.key"
  STARTED+=("$name")
  "${OS[@]}" start --name "$name" --port "$port" --data-dir "$data" "$@"
}
stop_node() { "${OS[@]}" stop --name "$1"; }

crash() {
  local name=rel-crash port="$PORT" dir="$WORK/crash"
  fresh_dir "$dir"
  new_key crash
  start_node "$name" "$port" crash "$dir/data"
  # Kill somewhere between 1,000 and 2,499 acknowledged documents (of 5,996).
  local kill_after=$((1000 + RANDOM % 1500)) acked="$dir/acked.txt"
  : > "$acked"
  scenario CrashRecovery ingest --url "http://127.0.0.1:$port" --acked "$acked" \
    --translog-durability "${EKNN_REL_TRANSLOG_DURABILITY:-request}" &
  local ingest=$!
  while kill -0 "$ingest" 2>/dev/null && [ "$(wc -l < "$acked")" -lt "$kill_after" ]; do sleep 0.1; done
  local pid; pid="$(cat "$(node_dir "$name")/opensearch.pid")"
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = java ] || eknn_die "pid $pid of node $name is not a JVM"
  eknn_log "kill -9 $pid (JVM of $name) after $(wc -l < "$acked") acknowledged documents"
  kill -9 "$pid"
  local rc=0; wait "$ingest" || rc=$?
  [ "$rc" -eq 0 ] || eknn_die "ingest exited with $rc (3: it finished before the kill)"
  local t0 t1; t0="$(date +%s.%N)"
  "${OS[@]}" start --name "$name" --port "$port" --data-dir "$dir/data"
  t1="$(date +%s.%N)"
  rc=0
  scenario CrashRecovery verify --url "http://127.0.0.1:$port" --acked "$acked" \
    --restart-seconds "$(awk "BEGIN { print $t1 - $t0 }")" || rc=$?
  stop_node "$name"
  return "$rc"
}

snapshot() {
  local dir="$WORK/snapshot" rc=0
  fresh_dir "$dir"; fresh_dir "$dir/repo"
  new_key snap; new_key other
  local repo="--setting path.repo=$dir/repo"
  start_node rel-snap-a "$((PORT + 1))" snap "$dir/a" $repo
  scenario SnapshotRestore create --url "http://127.0.0.1:$((PORT + 1))" --repo "$dir/repo" --expected "$dir/expected.json" || rc=$?
  stop_node rel-snap-a
  [ "$rc" -eq 0 ] || return "$rc"
  eknn_log "restore into a fresh node with the same master key"
  start_node rel-snap-b "$((PORT + 2))" snap "$dir/b" $repo
  scenario SnapshotRestore restore --key same --url "http://127.0.0.1:$((PORT + 2))" --repo "$dir/repo" --expected "$dir/expected.json" || rc=$?
  stop_node rel-snap-b
  eknn_log "restore into a fresh node with another master key"
  start_node rel-snap-c "$((PORT + 3))" other "$dir/c" $repo
  scenario SnapshotRestore restore --key other --url "http://127.0.0.1:$((PORT + 3))" --repo "$dir/repo" --expected "$dir/expected.json" || rc=$?
  stop_node rel-snap-c
  return "$rc"
}

reload() {
  local name=rel-reload port="$((PORT + 4))" dir="$WORK/reload" rc=0
  fresh_dir "$dir"
  new_key reload; new_key reload-other
  start_node "$name" "$port" reload "$dir/data"
  scenario KeyReload --url "http://127.0.0.1:$port" --name "$name" --key-file "$SECRETS/reload.key" \
    --other-key-file "$SECRETS/reload-other.key" || rc=$?
  stop_node "$name"
  return "$rc"
}

# online_rotation NAME PORT [--from-v1] [OnlineRotation options]: the scenario on its own node; with --from-v1 the
# driver gets the node's key file (only to write the index as the plugin before issue 15 stored it) and data dir
online_rotation() {
  local name="$1" port="$2" dir="$WORK/${1#rel-}" rc=0 extra=()
  shift 2
  fresh_dir "$dir"
  new_key "$name"
  if [ "${1:-}" = --from-v1 ]; then
    shift
    extra=(--from-v1 --key-file "$SECRETS/$name.key" --data-dir "$dir/data")
  fi
  start_node "$name" "$port" "$name" "$dir/data"
  scenario OnlineRotation --url "http://127.0.0.1:$port" "${extra[@]+"${extra[@]}"}" "$@" || rc=$?
  stop_node "$name"
  return "$rc"
}

rotation() { online_rotation rel-rotation "${EKNN_REL_ROTATION_PORT:-9460}" "$@"; }

migration() { online_rotation rel-migration "${EKNN_REL_MIGRATION_PORT:-9463}" --from-v1 "$@"; }

load() {
  local name=rel-load port="${EKNN_REL_LOAD_PORT:-9461}" dir="$WORK/load" rc=0
  fresh_dir "$dir"
  # client mode: the node has no key (a keystore left by an earlier run is removed)
  rm -f "$(node_dir "$name")/config/opensearch.keystore"
  STARTED+=("$name")
  "${OS[@]}" start --name "$name" --port "$port" --data-dir "$dir/data"
  scenario MixedLoad --url "http://127.0.0.1:$port" --pid "$(cat "$(node_dir "$name")/opensearch.pid")" "$@" || rc=$?
  stop_node "$name"
  return "$rc"
}

nodeview() {
  local name=rel-nodeview port="${EKNN_REL_NODEVIEW_PORT:-9462}" dir="$WORK/nodeview" rc=0
  fresh_dir "$dir"
  new_key nodeview
  start_node "$name" "$port" nodeview "$dir/data"
  scenario NodeView --url "http://127.0.0.1:$port" \
    --slowlog "$(node_dir "$name")/logs/eknn-${name}_index_search_slowlog.json" "$@" || rc=$?
  stop_node "$name"
  return "$rc"
}

"${OS[@]}" install "$ZIP" >/dev/null
echo "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/'), $(date -u +%FT%TZ)"
case "$SCENARIO" in
  crash|snapshot|reload|rotation|load|migration|nodeview) "$SCENARIO" "$@" ;;
  all) rc=0; for s in crash snapshot reload rotation load migration nodeview; do bash "$0" "$s" || rc=1; done; exit "$rc" ;;
  *) eknn_die "unknown scenario $SCENARIO (crash|snapshot|reload|rotation|load|migration|nodeview|all)" ;;
esac
