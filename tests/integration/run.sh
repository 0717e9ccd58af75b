#!/usr/bin/env bash
# driftgate integration tests: real servers on 127.0.0.1 (nginx over HTTP and
# HTTPS, a misbehaving Python upstream, Prometheus) with driftgate in front.
# Every server is started here and stopped here; the temp dir is removed at
# the end unless KEEP=1. One line per check, then "N passed, M failed".
#
#   DRIFTGATE=build/driftgate ./tests/integration/run.sh
#   VALGRIND=1 ...   every driftgate instance under valgrind (leak check)
#   ASAN=1 DRIFTGATE=build/asan/driftgate ...   fail on sanitizer reports
#   ONLY=enforce,tls ...   a subset of sections (see SECTIONS in suite.py)
#   KEEP=1 ...   keep the temp dir (logs, configs, nginx access log)
#   SUITE_TIMEOUT=900 ...   hard bound on the whole run (seconds)
set -u
here=$(cd "$(dirname "$0")" && pwd)
dg=${DRIFTGATE:-build/driftgate}
case $dg in /*) ;; *) dg=$PWD/$dg ;; esac
py=/usr/bin/python3
[ -x "$py" ] || py=python3
for tool in nginx openssl curl prometheus promtool; do
    command -v "$tool" >/dev/null 2>&1 || { echo "FAIL - prerequisites: $tool not installed (scripts/deps.sh)"; echo "0 passed, 1 failed"; exit 1; }
done
if [ "${VALGRIND:-0}" != 0 ] && ! command -v valgrind >/dev/null 2>&1; then
    echo "FAIL - prerequisites: valgrind not installed"; echo "0 passed, 1 failed"; exit 1
fi

export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the source tree
tmp=$(mktemp -d "${TMPDIR:-/tmp}/driftgate-integration.XXXXXX")
driver=

cleanup() {
    trap - EXIT INT TERM
    if [ -n "$driver" ] && kill -0 "$driver" 2>/dev/null; then
        kill -TERM "$driver" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$driver" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$driver" 2>/dev/null
    fi
    # leftovers of a suite that died: every live pid it started, with its group
    if [ -f "$tmp/pids" ]; then
        while read -r pid; do
            [ -n "$pid" ] || continue
            kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
        done < "$tmp/pids"
    fi
    if [ "${KEEP:-0}" != 0 ]; then
        echo "# kept $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

SUITE_TMP=$tmp DRIFTGATE=$dg timeout --kill-after=20 "${SUITE_TIMEOUT:-900}" "$py" "$here/suite.py" &
driver=$!
wait "$driver"
rc=$?
driver=
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "FAIL - suite: exceeded SUITE_TIMEOUT=${SUITE_TIMEOUT:-900}s"
    echo "0 passed, 1 failed"
    exit 1
fi
exit "$rc"
