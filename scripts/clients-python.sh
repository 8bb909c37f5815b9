#!/usr/bin/env bash
# The framework suite (clients/python, docs/frameworks.md): the real Python clients from PyPI — opensearch-py,
# LangChain's OpenSearchVectorSearch, LlamaIndex's OpensearchVectorStore — run their documented flows against an
# encrypted index and a plaintext k-NN index on a running node, and compare.
#
# usage: scripts/clients-python.sh [--port PORT] [pytest arguments]
#   --port   the node (scripts/opensearch.sh start; default $EKNN_TEST_PORT or 9250); it needs encrypted-knn with a
#            master key in its keystore and opensearch-knn, and must run on this machine (the suite scans its data path)
#
# Needs a build (scripts/build.sh, or a Maven package of the tools module): the corpus export and the plaintext scan
# run from tools/target. The virtual environment is made once per requirements.txt under the cache dir, with
# `pip install --require-hashes` (every package pinned by version and hash); the corpus (text and MiniLM vector of
# each message) is exported there once. As root, the suite runs as $EKNN_USER like the node.
# Environment: EKNN_DOCS (documents per index, default 2000), EKNN_QUERIES (default 40),
# EKNN_CLIENTS_TIMEOUT (seconds for the whole pytest run, default 1500).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

PORT="${EKNN_TEST_PORT:-9250}"
if [ "${1:-}" = --port ]; then PORT="$2"; shift 2; fi
SUITE="$ROOT/clients/python"
DOCS="${EKNN_DOCS:-2000}"
QUERIES="${EKNN_QUERIES:-40}"

eknn_find_jdk
eknn_require python3:python3 timeout:coreutils
# Debian's Python (the test user cannot reach an interpreter under root's home, e.g. pyenv's).
PYTHON=python3
if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; fi
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || eknn_require "python3-venv-missing:python3-venv"
CACHE="$(eknn_cache_dir)"
WORK="$CACHE/python-clients"
mkdir -p "$WORK"
if eknn_is_root; then chown "$EKNN_USER:" "$WORK"; fi

TOOLS_CP_FILE="$ROOT/tools/target/classpath.txt"
[ -s "$TOOLS_CP_FILE" ] || eknn_die "no $TOOLS_CP_FILE: build first (bash scripts/build.sh)"
TOOLS_CP="$ROOT/tools/target/classes:$(cat "$TOOLS_CP_FILE")"

# One venv per requirements.txt: a changed pin makes a new one.
VENV="$WORK/venv-$(sha256sum "$SUITE/requirements.txt" | cut -c1-12)"
if [ ! -f "$VENV/.installed" ]; then
  eknn_log "creating $VENV (pip install --require-hashes -r clients/python/requirements.txt)"
  rm -rf "$VENV"
  eknn_as_user "$PYTHON" -m venv "$VENV"
  eknn_as_user env PIP_CACHE_DIR="$WORK/pip-cache" PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$VENV/bin/pip" install -q --require-hashes --only-binary :all: -r "$SUITE/requirements.txt" >&2
  eknn_as_user touch "$VENV/.installed"  # an interrupted install is redone
fi

# The corpus as JSON Lines (a margin for the repeated texts the suite skips).
EXPORT_LIMIT=$((DOCS + QUERIES + 200))
CORPUS="$WORK/corpus-$EXPORT_LIMIT.jsonl"
if [ ! -s "$CORPUS" ]; then
  eknn_log "exporting the first $EXPORT_LIMIT corpus messages to $CORPUS"
  eknn_as_user env ENCRYPTED_KNN_CACHE="$CACHE" "$JAVA_HOME/bin/java" -cp "$TOOLS_CP" \
    org.encryptedknn.corpus.CorpusTool export --limit "$EXPORT_LIMIT" "$CORPUS.tmp" >&2
  mv "$CORPUS.tmp" "$CORPUS"
fi

eknn_log "framework suite against http://127.0.0.1:$PORT ($DOCS documents per index, $QUERIES queries)"
cd "$SUITE"
eknn_as_user env EKNN_URL="http://127.0.0.1:$PORT" EKNN_CORPUS="$CORPUS" EKNN_DOCS="$DOCS" EKNN_QUERIES="$QUERIES" \
  EKNN_JAVA="$JAVA_HOME/bin/java" EKNN_TOOLS_CLASSPATH="$TOOLS_CP" ENCRYPTED_KNN_CACHE="$CACHE" \
  PYTHONDONTWRITEBYTECODE=1 \
  timeout --kill-after=30 "${EKNN_CLIENTS_TIMEOUT:-1500}" \
  "$VENV/bin/python" -m pytest -p no:cacheprovider -v -rs --durations=5 "$@"
