#!/usr/bin/env bash
# Local OpenSearch 3.5.0 nodes for integration tests, the demo and CI.
#
# usage: scripts/opensearch.sh <command> [options]
#   fetch                          download the distribution + opensearch-knn zips (Maven Central, cached)
#                                  and unpack the distribution
#   install <plugin.zip>...        install plugins (reinstalls one whose zip changed); e.g. the
#                                  opensearch-knn zip printed by `paths`, and plugin/target/releases/*.zip of this project
#   install-knn                    install opensearch-knn 3.5.0.0 from the cache
#   start [--port 9200] [--name n1] [--data-dir DIR] [--heap 1g] [--setting key=value]... [--cluster NAME]
#                                  start a node on 127.0.0.1 (as $EKNN_USER when root), wait for yellow;
#                                  --cluster: join cluster eknn-NAME instead of forming a single-node cluster
#                                  (discovery and roles through --setting, e.g. discovery.seed_hosts=[...],
#                                  cluster.initial_cluster_manager_nodes=[...], node.roles=[data]); waits for HTTP
#                                  only, since health answers once enough nodes have joined (scripts/cluster-bench.sh)
#   stop [--name n1] [--timeout 60]
#   status [--name n1]
#   keystore-add [--name n1] <setting>   value read from stdin (e.g. encrypted_knn.master_key)
#   paths [--name n1]              print the directories and files used (shell-sourceable)
#   remove-plugin <name>           uninstall a plugin
#
# Layout under the cache dir ($ENCRYPTED_KNN_CACHE, /var/cache/encrypted-knn as root):
#   dist/                          downloaded zips
#   opensearch-3.5.0/              the distribution (plugins are installed here, shared by all nodes)
#   nodes/<name>/config/           per-node config (opensearch.yml is written by `start`; keystore)
#   nodes/<name>/data|logs/        default data and logs; nodes/<name>/opensearch.pid; nodes/<name>/port
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
. "$SCRIPT_DIR/lib.sh"

OS_VERSION="${EKNN_OPENSEARCH_VERSION:-3.5.0}"
KNN_VERSION="${EKNN_KNN_VERSION:-3.5.0.0}"
DIST_ARTIFACT="org.opensearch.distribution.integ-test-zip:opensearch:${OS_VERSION}:zip"
KNN_ARTIFACT="org.opensearch.plugin:opensearch-knn:${KNN_VERSION}:zip"

usage() { sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//' >&2; exit "${1:-2}"; }

setup() {
  eknn_find_jdk
  eknn_ensure_user
  CACHE="$(eknn_cache_dir)"
  DIST_DIR="$CACHE/dist"
  OS_HOME="$CACHE/opensearch-$OS_VERSION"
  NODES_DIR="$CACHE/nodes"
  DIST_ZIP="$DIST_DIR/opensearch-$OS_VERSION.zip"
  KNN_ZIP="$DIST_DIR/opensearch-knn-$KNN_VERSION.zip"
}

node_paths() {
  local name="$1"
  NODE_DIR="$NODES_DIR/$name"
  NODE_CONF="$NODE_DIR/config"
  NODE_PID="$NODE_DIR/opensearch.pid"
  NODE_PORT_FILE="$NODE_DIR/port"
  NODE_LOGS="$NODE_DIR/logs"
  NODE_CONSOLE="$NODE_DIR/console.log"
}

# Makes $1 (and what is under it) belong to the node user when root.
own() { if eknn_is_root; then chown -R "$EKNN_USER:" "$@"; fi; }

mvn_copy() { # artifact, output dir
  command -v mvn >/dev/null || eknn_die "mvn not found (apt-get install maven)"
  eknn_log "downloading $1 (Maven)"
  local log; log="$(mktemp)"
  if ! mvn -B -q dependency:copy -Dartifact="$1" -DoutputDirectory="$2" -Dmdep.overWriteReleases=false >"$log" 2>&1; then
    grep -v '^WARNING' "$log" | tail -n 30 >&2; rm -f "$log"
    eknn_die "mvn dependency:copy $1 failed"
  fi
  rm -f "$log"
}

cmd_fetch() {
  mkdir -p "$DIST_DIR"
  [ -s "$DIST_ZIP" ] && unzip -qql "$DIST_ZIP" >/dev/null 2>&1 || { rm -f "$DIST_ZIP"; mvn_copy "$DIST_ARTIFACT" "$DIST_DIR"; }
  [ -s "$KNN_ZIP" ] && unzip -qql "$KNN_ZIP" >/dev/null 2>&1 || { rm -f "$KNN_ZIP"; mvn_copy "$KNN_ARTIFACT" "$DIST_DIR"; }
  [ -s "$DIST_ZIP" ] || eknn_die "missing $DIST_ZIP after download"
  [ -s "$KNN_ZIP" ] || eknn_die "missing $KNN_ZIP after download"
  if [ -x "$OS_HOME/bin/opensearch" ]; then
    eknn_log "distribution already unpacked: $OS_HOME"
  else
    command -v unzip >/dev/null || eknn_die "unzip not found (apt-get install unzip)"
    local tmp
    tmp="$(mktemp -d "$CACHE/.unpack.XXXXXX")"
    eknn_log "unpacking $DIST_ZIP"
    unzip -q "$DIST_ZIP" -d "$tmp"
    [ -x "$tmp/opensearch-$OS_VERSION/bin/opensearch" ] || { rm -rf "$tmp"; eknn_die "unexpected zip layout in $DIST_ZIP"; }
    rm -rf "$OS_HOME"
    mv "$tmp/opensearch-$OS_VERSION" "$OS_HOME"
    rm -rf "$tmp"
    own "$OS_HOME"
  fi
  mkdir -p "$NODES_DIR"; own "$NODES_DIR" "$DIST_DIR"
  echo "$OS_HOME"
}

require_home() { [ -x "$OS_HOME/bin/opensearch" ] || eknn_die "no distribution at $OS_HOME: run '$0 fetch' first"; }

plugin_name_of() { # zip -> name from plugin-descriptor.properties
  unzip -p "$1" plugin-descriptor.properties 2>/dev/null | sed -n 's/^name[[:space:]]*=[[:space:]]*//p' | tr -d '\r' | head -n 1
}

os_tool() { # runs a bin/ tool of the distribution as the node user, with the JDK
  local tool="$1"; shift
  eknn_as_user env JAVA_HOME="$JAVA_HOME" OPENSEARCH_JAVA_HOME="$JAVA_HOME" \
    ${OPENSEARCH_PATH_CONF:+OPENSEARCH_PATH_CONF="$OPENSEARCH_PATH_CONF"} "$OS_HOME/bin/$tool" "$@"
}

running_nodes() {
  local d
  for d in "$NODES_DIR"/*/; do
    [ -f "$d/opensearch.pid" ] && kill -0 "$(cat "$d/opensearch.pid")" 2>/dev/null && basename "$d"
  done
  return 0
}

cmd_install() {
  [ $# -ge 1 ] || eknn_die "usage: $0 install <plugin.zip>..."
  require_home
  local running; running="$(running_nodes)"
  [ -z "$running" ] || eknn_log "warning: node(s) running ($running): restart them to load plugin changes"
  local marks="$OS_HOME/.eknn-plugins" staging="$CACHE/plugin-staging"
  mkdir -p "$marks" "$staging"; own "$marks" "$staging"
  local zip name sum staged
  for zip in "$@"; do
    [ -f "$zip" ] || eknn_die "no such plugin zip: $zip"
    name="$(plugin_name_of "$zip")"
    [ -n "$name" ] || eknn_die "$zip has no plugin-descriptor.properties with a name"
    sum="$(sha256sum "$zip" | cut -d' ' -f1)"
    if [ -d "$OS_HOME/plugins/$name" ]; then
      if [ -f "$marks/$name.sha256" ] && [ "$(cat "$marks/$name.sha256")" = "$sum" ]; then
        eknn_log "plugin $name already installed from an identical zip"
        continue
      fi
      eknn_log "plugin $name changed: removing the installed version"
      os_tool opensearch-plugin remove "$name" >&2
    fi
    # The node user must be able to read the zip: stage a copy in the cache.
    staged="$staging/$name.zip"
    cp -f "$zip" "$staged"; own "$staged"
    eknn_log "installing plugin $name from $zip"
    os_tool opensearch-plugin install --batch "file://$staged" >&2
    echo "$sum" > "$marks/$name.sha256"; own "$marks/$name.sha256"
  done
  os_tool opensearch-plugin list
}

cmd_remove_plugin() {
  [ $# -eq 1 ] || eknn_die "usage: $0 remove-plugin <name>"
  require_home
  if [ -d "$OS_HOME/plugins/$1" ]; then os_tool opensearch-plugin remove "$1" >&2; fi
  rm -f "$OS_HOME/.eknn-plugins/$1.sha256"
}

# Per-node config dir: a copy of the distribution's config (files added by plugins included;
# existing files, e.g. the keystore, kept).
prepare_conf() {
  mkdir -p "$NODE_CONF" "$NODE_LOGS"
  cp -rn "$OS_HOME/config/." "$NODE_CONF/"
  own "$NODE_DIR"
}

pid_alive() { [ -f "$NODE_PID" ] && kill -0 "$(cat "$NODE_PID")" 2>/dev/null; }

health() { curl -fsS --max-time 5 "http://127.0.0.1:$1/_cluster/health" 2>/dev/null; }

cmd_start() {
  local name=n1 port=9200 data="" heap="${EKNN_HEAP:-1g}" timeout="${EKNN_START_TIMEOUT:-240}" cluster=""
  local -a settings=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      --name) name="$2"; shift 2 ;;
      --data-dir) data="$2"; shift 2 ;;
      --heap) heap="$2"; shift 2 ;;
      --timeout) timeout="$2"; shift 2 ;;
      --setting) settings+=("$2"); shift 2 ;;
      --cluster) cluster="$2"; shift 2 ;;
      *) eknn_die "start: unknown option $1" ;;
    esac
  done
  [[ "$port" =~ ^[0-9]+$ ]] || eknn_die "bad port $port"
  [[ "$name" =~ ^[A-Za-z0-9_.-]+$ ]] || eknn_die "bad node name $name"
  [[ "$cluster" =~ ^[A-Za-z0-9_.-]*$ ]] || eknn_die "bad cluster name $cluster"
  require_home
  command -v curl >/dev/null || eknn_die "curl not found (apt-get install curl)"
  node_paths "$name"
  if pid_alive; then
    if health "$(cat "$NODE_PORT_FILE" 2>/dev/null || echo "$port")" >/dev/null; then
      eknn_log "node $name already running (pid $(cat "$NODE_PID"), port $(cat "$NODE_PORT_FILE"))"
      return 0
    fi
    eknn_die "node $name has a live pid $(cat "$NODE_PID") but does not answer: '$0 stop --name $name' first"
  fi
  if health "$port" >/dev/null || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    eknn_die "port $port on 127.0.0.1 is already in use"
  fi
  local tport=$((port + 100))
  [ -n "$data" ] || data="$NODE_DIR/data"
  mkdir -p "$data"
  data="$(cd "$data" && pwd -P)"
  prepare_conf
  own "$data"
  {
    echo "# written by scripts/opensearch.sh start; edits are overwritten"
    echo "cluster.name: eknn-${cluster:-$name}"
    echo "node.name: $name"
    echo "network.host: 127.0.0.1"
    echo "http.port: $port"
    echo "transport.port: $tport"
    [ -n "$cluster" ] || echo "discovery.type: single-node"
    echo "path.data: $data"
    echo "path.logs: $NODE_LOGS"
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
    echo "action.auto_create_index: true"
    local s
    for s in "${settings[@]+"${settings[@]}"}"; do
      [[ "$s" == *=* ]] || eknn_die "--setting expects key=value, got $s"
      echo "${s%%=*}: ${s#*=}"
    done
  } > "$NODE_CONF/opensearch.yml"
  own "$NODE_CONF/opensearch.yml"
  echo "$port" > "$NODE_PORT_FILE"
  rm -f "$NODE_PID"
  : > "$NODE_CONSOLE"; own "$NODE_CONSOLE" "$NODE_PORT_FILE"
  eknn_log "starting node $name on 127.0.0.1:$port (transport $tport, heap $heap, data $data)"
  # setsid: the node survives the calling shell; console output (early JVM errors) goes to console.log.
  eknn_as_user env JAVA_HOME="$JAVA_HOME" OPENSEARCH_JAVA_HOME="$JAVA_HOME" OPENSEARCH_PATH_CONF="$NODE_CONF" \
    OPENSEARCH_JAVA_OPTS="-Xms$heap -Xmx$heap ${EKNN_EXTRA_JAVA_OPTS:-}" \
    setsid "$OS_HOME/bin/opensearch" -p "$NODE_PID" >>"$NODE_CONSOLE" 2>&1 < /dev/null &
  local launcher=$! waited=0
  while :; do
    if [ -n "$cluster" ]; then
      curl -fsS --max-time 5 "http://127.0.0.1:$port/" >/dev/null 2>&1 && break
    elif health "$port" | grep -qE '"status":"(green|yellow)"'; then
      break
    fi
    if ! kill -0 "$launcher" 2>/dev/null && ! pid_alive; then
      eknn_log "node $name exited during startup; last log lines:"
      tail -n 40 "$NODE_CONSOLE" >&2 || true
      tail -n 40 "$NODE_LOGS/eknn-$name.log" >&2 2>/dev/null || true
      exit 1
    fi
    if [ "$waited" -ge "$timeout" ]; then
      eknn_log "node $name not healthy after ${timeout}s; last log lines:"
      tail -n 40 "$NODE_LOGS/eknn-$name.log" >&2 2>/dev/null || tail -n 40 "$NODE_CONSOLE" >&2 || true
      cmd_stop --name "$name" >&2 || true
      exit 1
    fi
    sleep 2; waited=$((waited + 2))
  done
  eknn_log "node $name is up (pid $(cat "$NODE_PID" 2>/dev/null || echo '?')): http://127.0.0.1:$port"
}

cmd_stop() {
  local name=n1 timeout=60
  while [ $# -gt 0 ]; do
    case "$1" in
      --name) name="$2"; shift 2 ;;
      --timeout) timeout="$2"; shift 2 ;;
      *) eknn_die "stop: unknown option $1" ;;
    esac
  done
  node_paths "$name"
  if ! pid_alive; then
    eknn_log "node $name is not running"
    rm -f "$NODE_PID"
    return 0
  fi
  local pid waited=0; pid="$(cat "$NODE_PID")"
  eknn_log "stopping node $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge "$timeout" ]; then
      eknn_log "node $name did not stop within ${timeout}s: killing it"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 1
      break
    fi
    sleep 1; waited=$((waited + 1))
  done
  rm -f "$NODE_PID"
  eknn_log "node $name stopped"
}

cmd_status() {
  local name=n1
  [ "${1:-}" = --name ] && name="$2"
  node_paths "$name"
  if pid_alive; then
    local port; port="$(cat "$NODE_PORT_FILE" 2>/dev/null || echo 9200)"
    echo "node $name: running, pid $(cat "$NODE_PID"), http://127.0.0.1:$port"
    health "$port" || echo "(not answering on port $port)"
    echo
  else
    echo "node $name: stopped"
    return 3
  fi
}

cmd_keystore_add() {
  local name=n1
  if [ "${1:-}" = --name ]; then name="$2"; shift 2; fi
  [ $# -eq 1 ] || eknn_die "usage: $0 keystore-add [--name n1] <setting>   (value on stdin)"
  require_home
  node_paths "$name"
  prepare_conf
  local value
  value="$(cat)"
  [ -n "$value" ] || eknn_die "keystore-add: empty value on stdin"
  export OPENSEARCH_PATH_CONF="$NODE_CONF"
  if [ ! -f "$NODE_CONF/opensearch.keystore" ]; then
    os_tool opensearch-keystore create >&2
  fi
  printf '%s' "$value" | os_tool opensearch-keystore add --stdin --force "$1" >&2
  eknn_log "keystore of node $name: $1 set$(pid_alive && echo ' (running node: POST _nodes/reload_secure_settings to apply)')"
}

cmd_paths() {
  local name=n1
  [ "${1:-}" = --name ] && name="$2"
  node_paths "$name"
  cat <<EOF
EKNN_CACHE=$CACHE
EKNN_OPENSEARCH_HOME=$OS_HOME
EKNN_KNN_ZIP=$KNN_ZIP
EKNN_NODE_DIR=$NODE_DIR
EKNN_NODE_CONF=$NODE_CONF
EKNN_NODE_LOGS=$NODE_LOGS
EKNN_USER=$EKNN_USER
JAVA_HOME=$JAVA_HOME
EOF
}

[ $# -ge 1 ] || usage
command="$1"; shift
case "$command" in
  -h|--help|help) usage 0 ;;
esac
setup
case "$command" in
  fetch) cmd_fetch ;;
  install) cmd_install "$@" ;;
  install-knn) [ -f "$KNN_ZIP" ] || cmd_fetch >/dev/null; cmd_install "$KNN_ZIP" ;;
  remove-plugin) cmd_remove_plugin "$@" ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  keystore-add) cmd_keystore_add "$@" ;;
  paths) cmd_paths "$@" ;;
  *) eknn_die "unknown command $command (try --help)" ;;
esac
