#!/usr/bin/env bash
# Runs the ```bash blocks of the docs against a running node, so the docs stay true.
#
# usage: scripts/docs-check.sh [--node NAME] [--port PORT] [--keep] [page.md]...
#   --node / --port   the running node (scripts/opensearch.sh start), default it / $EKNN_TEST_PORT or 9250;
#                     it needs encrypted-knn (built from this tree) and opensearch-knn installed
#   --keep            keep the work directory (printed) instead of removing it
#   page.md...        pages to run (default: the pages of docs/index.md, in its order)
#
# The blocks of all pages run in one bash session, in order, as a reader would paste them into one terminal:
# NODE, PORT and URL (the variables the docs use, installation.md) point at the node; the working directory is a
# fresh temporary directory whose bin/, scripts/ and target/ link to this tree. A block is skipped when the line
# just before its fence is
#     <!-- docs-check: skip (why) -->
# (use it sparingly: for building, stopping the node, or a path on the reader's own installation).
# Before the blocks, the relative links of every page of docs/ are checked (file and #heading; Perl).
# A block fails on the first failing command (set -e -o pipefail); curl fails on an HTTP status >= 400 and on a
# 200 that carries an error inside (_bulk "errors": true, _reindex/_update_by_query "failures", a node's
# "reload_exception"). The first failure stops the run with the page and line of its block.
#
# Before the run it deletes what the docs create (indices, pipelines, model ids: DOC_* below), so it can run
# again on the same node; a page that creates a new name adds it there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=lib.sh
. "$ROOT/scripts/lib.sh"

DOC_INDICES=(mail mail-v2 mail-client chat-docs chat-l2)
DOC_INGEST_PIPELINES=(m1-encrypt m1-rekey m1-rekey-from-mail)
DOC_SEARCH_PIPELINES=(m1-search m1-search-ckks chat-own)
DOC_INDEX_TEMPLATES=(encrypted-apps)
DOC_MODELS=(m1)
DOC_FILES=(/tmp/encrypted-knn.key)

NODE=it PORT="${EKNN_TEST_PORT:-9250}" KEEP=0
PAGES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --node) NODE="$2"; shift 2 ;;
    --port) PORT="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
    -*) eknn_die "docs-check: unknown option $1" ;;
    *) PAGES+=("$1"); shift ;;
  esac
done
URL="http://127.0.0.1:$PORT"
# The cache of scripts/opensearch.sh and of the corpus (the node's keystore, the corpus vectors of the tests).
CACHE="$(eknn_cache_dir)"
if [ ${#PAGES[@]} -eq 0 ]; then
  # The pages in the order of docs/index.md's table.
  mapfile -t PAGES < <(sed -n 's/^| \[\([a-z0-9-]*\.md\)\](\1) |.*/docs\/\1/p' "$ROOT/docs/index.md")
fi
# First, without a node: every relative link of docs/ leads to a file, and every #fragment to a heading of it.
(cd "$ROOT/docs" && perl - . *.md) <<'PERL' || eknn_die "docs-check: broken links in docs/ (above)"
# Relative links of the docs: the file exists, and a #fragment names a heading of it (GitHub's anchor rule).
use strict; use warnings; use utf8; use open qw(:std :encoding(UTF-8));
my ($dir, @pages) = @ARGV;
my %anchors;
sub anchors_of {
  my ($file) = @_;
  return $anchors{$file} if $anchors{$file};
  my %a; my $fence = 0;
  open(my $fh, '<', $file) or return undef;
  while (<$fh>) {
    $fence = !$fence if /^```/;
    next if $fence || !/^#{1,6}\s+(.*?)\s*$/;
    my $h = lc $1; $h =~ s/`//g; $h =~ s/[^\w\- ]//g; $h =~ s/ /-/g;
    $a{$h} = 1;
  }
  return $anchors{$file} = \%a;
}
my $bad = 0;
for my $page (@pages) {
  open(my $fh, '<', "$dir/$page") or die "no page $page\n";
  my ($fence, $n) = (0, 0);
  while (my $line = <$fh>) {
    $n++;
    $fence = !$fence if $line =~ /^```/;
    next if $fence;
    while ($line =~ /\]\(([^)\s]+)\)/g) {
      my $target = $1;
      next if $target =~ m{^[a-z]+://|^mailto:};
      my ($file, $frag) = split /#/, $target, 2;
      my $path = $file eq '' ? "$dir/$page" : "$dir/$file";
      if (!-e $path) { print "$page:$n: link to a missing file: $target\n"; $bad++; next; }
      next unless defined $frag && $path =~ /\.md$/;
      my $a = anchors_of($path);
      unless ($a->{$frag}) { print "$page:$n: no heading for the anchor: $target\n"; $bad++; }
    }
  }
}
exit($bad ? 1 : 0);
PERL
curl -fsS --max-time 10 "$URL/_cluster/health" >/dev/null || eknn_die "docs-check: no node answers on $URL"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/docs-check.XXXXXX")"
cleanup() { if [ "$KEEP" = 1 ]; then eknn_log "docs-check: work directory kept: $WORK"; else rm -rf "$WORK"; fi; rm -f "${DOC_FILES[@]}"; }
trap cleanup EXIT
ln -s "$ROOT/bin" "$ROOT/scripts" "$ROOT/target" "$WORK/"

reset_node() {
  local name
  curl -sS -o /dev/null -XDELETE "$URL/$(IFS=,; echo "${DOC_INDICES[*]}")?ignore_unavailable=true"
  for name in "${DOC_INGEST_PIPELINES[@]}"; do curl -sS -o /dev/null -XDELETE "$URL/_ingest/pipeline/$name"; done
  for name in "${DOC_SEARCH_PIPELINES[@]}"; do curl -sS -o /dev/null -XDELETE "$URL/_search/pipeline/$name"; done
  for name in "${DOC_INDEX_TEMPLATES[@]}"; do curl -sS -o /dev/null -XDELETE "$URL/_index_template/$name"; done
  for name in "${DOC_MODELS[@]}"; do curl -sS -o /dev/null -XDELETE "$URL/_plugins/encrypted_knn/models/$name"; done
}
reset_node

# One script: a prologue (variables, the checking curl), then every runnable block, each preceded by the line
# that names it. awk extracts; it records "page:line" of each fence.
SESSION="$WORK/session.sh"
{
  cat <<EOF
set -eEo pipefail
NODE='$NODE' PORT='$PORT' URL='$URL'
export ENCRYPTED_KNN_CACHE='$CACHE'
DOCS_CHECK_AT=
trap 'echo "docs-check: FAILED: \$DOCS_CHECK_AT (exit \$?)" >&2' ERR
EOF
  cat <<'EOF'
# curl as in the docs, but an HTTP error or an error inside a 200 answer fails the block.
curl() {
  local out status=0
  out="$(command curl --fail-with-body "$@")" || status=$?
  [ -z "$out" ] || printf '%s\n' "$out"
  if [ "$status" -ne 0 ]; then return "$status"; fi
  if grep -Eq '"errors" ?: ?true|"failures" ?: ?\[ *(\{|$)|"reload_exception"' <<< "$out"; then
    echo "docs-check: the answer carries an error" >&2
    return 1
  fi
}
EOF
  for page in "${PAGES[@]}"; do
    [ -f "$ROOT/$page" ] || eknn_die "docs-check: no page $page"
    awk -v page="$page" '
      /^<!-- docs-check: skip/ { skip = NR + 1; next }
      inblock && /^```[ \t]*$/ { inblock = 0; if (run) print "echo \"docs-check: ok   " at "\" >&2"; next }
      inblock { if (run) print; next }
      /^```bash[ \t]*$/ {
        inblock = 1; run = (skip != NR); at = page ":" NR
        if (run) { print "DOCS_CHECK_AT=\"" at "\""; print "echo \"docs-check: run  " at "\" >&2" }
        else print "echo \"docs-check: skip " at "\" >&2"
        next
      }
    ' "$ROOT/$page"
  done
} > "$SESSION"

eknn_find_jdk
started=$SECONDS
cd "$WORK"
status=0
bash "$SESSION" > "$WORK/output.log" 2> >(tee "$WORK/progress.log" >&2) || status=$?
# Cache files written by this root run (the corpus, its vectors) stay usable by the node/test user, as in corpus.sh.
if eknn_is_root; then find "$CACHE" -maxdepth 2 -user root -newer "$SESSION" -exec chown "$EKNN_USER:" {} + 2>/dev/null || true; fi
if [ "$status" -eq 0 ]; then
  eknn_log "docs-check: all blocks of ${#PAGES[@]} pages passed in $((SECONDS - started)) s"
else
  eknn_log "docs-check: failed after $((SECONDS - started)) s; the last output:"
  tail -n 40 "$WORK/output.log" >&2
  KEEP=1
  exit 1
fi
