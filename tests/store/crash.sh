#!/usr/bin/env bash
# tests/store/crash.sh: kill -9 a drift store writer mid-flight and check
# the store it leaves behind.
#
# Runs tests/store/crash_writer (built by the Makefile; its path is the
# first argument) on a fresh store, sends it SIGKILL after a random
# 0.5-2 s, then checks with the sqlite3 CLI that
#   - PRAGMA integrity_check says ok,
#   - SUM(count) of drifts equals the last total the writer reported as
#     committed, or the total of the one batch it had started (a commit may
#     land just before the kill, after the writer's last line) - never
#     less, never anything else,
#   - the daily counts add up to the same total (both tables are written in
#     one transaction).
# Repeats RUNS times (default 5). Exits non-zero on any failure.
# Usage: tests/store/crash.sh WRITER [RUNS]
set -u

writer=${1:-}
runs=${2:-5}
if [ -z "$writer" ] || [ ! -x "$writer" ]; then
  echo "usage: $0 WRITER [RUNS]   (WRITER: the crash_writer binary)" >&2
  exit 2
fi
if ! command -v sqlite3 >/dev/null 2>&1; then
  echo "crash.sh: needs the sqlite3 command (Debian package sqlite3, see scripts/deps.sh)" >&2
  exit 2
fi

tmp=$(mktemp -d /tmp/dg-crash-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
failed=0

for run in $(seq 1 "$runs"); do
  db=$tmp/run$run.db
  out=$tmp/run$run.out
  err=$tmp/run$run.err
  "$writer" "$db" "$RANDOM" >"$out" 2>"$err" &
  pid=$!
  ms=$((500 + RANDOM % 1501))
  sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid"
    echo "run $run: FAIL: the writer exited by itself (status $?): $(cat "$err")"
    failed=1
    continue
  fi
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null

  batches=$(grep -c '^committed ' "$out")
  committed=$(grep '^committed ' "$out" | tail -n 1 | cut -d' ' -f2)
  committed=${committed:-0}
  # A "next" line after the last "committed" one: that batch may have landed.
  last=$(tail -n 1 "$out")
  maybe=$committed
  case $last in
    "next "*) maybe=${last#next } ;;
  esac

  if [ "$batches" -eq 0 ]; then
    echo "run $run: FAIL: the writer committed nothing in ${ms} ms: $(cat "$err")"
    failed=1
    continue
  fi
  integrity=$(sqlite3 "$db" 'PRAGMA integrity_check' 2>&1)
  if [ "$integrity" != "ok" ]; then
    echo "run $run: FAIL: integrity_check after kill -9 at ${ms} ms: $integrity"
    failed=1
    continue
  fi
  sum=$(sqlite3 "$db" 'SELECT COALESCE(SUM(count), 0) FROM drifts' 2>&1)
  days=$(sqlite3 "$db" 'SELECT COALESCE(SUM(count), 0) FROM daily_counts' 2>&1)
  if [ "$sum" != "$committed" ] && [ "$sum" != "$maybe" ]; then
    echo "run $run: FAIL: SUM(count) is $sum after kill -9 at ${ms} ms; the writer had" \
         "committed $committed (in $batches batches), next would have been $maybe"
    failed=1
    continue
  fi
  if [ "$days" != "$sum" ]; then
    echo "run $run: FAIL: daily counts add up to $days, drifts to $sum"
    failed=1
    continue
  fi
  landed=""
  [ "$sum" != "$committed" ] && landed=" (the batch in flight had committed)"
  echo "run $run: ok: killed after ${ms} ms, $batches batches committed, SUM(count) = $sum$landed"
done

if [ "$failed" -ne 0 ]; then
  echo "crash.sh: FAILED"
  exit 1
fi
echo "crash.sh: $runs runs ok"
