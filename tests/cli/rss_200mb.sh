#!/usr/bin/env bash
# tests/cli/rss_200mb.sh: memory stays bounded whatever the body size.
#
# Streams a ~200 MB valid JSON array (bench/gen.c: audit events, generated
# on the fly, never stored) into `driftgate validate ... -` and asserts that
# the validator says valid (exit 0) and that its maximum resident set size
# stays under 32 MiB. Prints the RSS and the time.
#
# Environment: DRIFTGATE (binary, default build/driftgate), GEN (the
# generator, default build/bench/gen; compiled into a temp dir when absent),
# RSS_BYTES (default 200000000), RSS_LIMIT_KB (default 32768),
# RSS_TIMEOUT (seconds, default 120). Run from anywhere.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
DG=${DRIFTGATE:-build/driftgate}
GEN=${GEN:-build/bench/gen}
BYTES=${RSS_BYTES:-200000000}
LIMIT_KB=${RSS_LIMIT_KB:-32768}
TIMEOUT=${RSS_TIMEOUT:-120}
SPEC=bench/specs/bench.yaml

fail() {
  echo "rss_200mb: FAIL: $*"
  exit 1
}

[ -x "$DG" ] || fail "$DG is not an executable (run make, or set DRIFTGATE)"
[ -x /usr/bin/time ] || fail "/usr/bin/time is missing (Debian package 'time')"
command -v timeout >/dev/null || fail "timeout (coreutils) is missing"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$GEN" ]; then
  ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -o "$tmp/gen" bench/gen.c || fail "cannot build bench/gen.c"
  GEN=$tmp/gen
fi

# timeout signals its whole process group: the generator too.
rc=0
timeout --kill-after=5 "$TIMEOUT" bash -c \
  'set -o pipefail; "$1" events "$2" | /usr/bin/time -v -o "$3" "$4" validate --spec "$5" --operation exportEvents -' \
  rss "$GEN" "$BYTES" "$tmp/time" "$DG" "$SPEC" >"$tmp/out" 2>&1 || rc=$?

if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  fail "did not finish within ${TIMEOUT}s"
fi
if [ "$rc" -ne 0 ]; then
  echo "rss_200mb: driftgate output:"
  head -20 "$tmp/out" | sed 's/^/    /'
  [ -s "$tmp/time" ] && grep -E 'Command exited|Exit status' "$tmp/time" | sed 's/^/    /'
  fail "exit status $rc, expected 0 (the generated body is valid)"
fi
grep -q -- '-: valid' "$tmp/out" || fail "driftgate did not report the body valid: $(head -3 "$tmp/out")"

rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")
wall=$(awk -F': ' '/Elapsed \(wall clock\) time/ {print $2}' "$tmp/time")
user=$(awk -F': ' '/User time \(seconds\)/ {print $2}' "$tmp/time")
sys=$(awk -F': ' '/System time \(seconds\)/ {print $2}' "$tmp/time")
[ -n "$rss" ] || fail "no 'Maximum resident set size' in /usr/bin/time's report"

# Throughput from CPU time: the generator shares the machine, so the wall
# time also includes waiting for it.
mbs=$(awk -v b="$BYTES" -v u="$user" -v s="$sys" 'BEGIN { t = u + s; if (t > 0) printf "%.0f", b / t / 1e6; else print "?" }')
echo "rss_200mb: body >= $BYTES bytes: valid; max RSS ${rss} KB (limit ${LIMIT_KB} KB);" \
  "wall ${wall}, user ${user}s, sys ${sys}s (~${mbs} MB/s per CPU second)"
if [ "$rss" -ge "$LIMIT_KB" ]; then
  fail "max RSS ${rss} KB >= ${LIMIT_KB} KB: memory grows with the body"
fi
echo "rss_200mb: 1 passed, 0 failed"
