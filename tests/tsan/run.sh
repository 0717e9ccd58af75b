#!/usr/bin/env bash
# tests/tsan/run.sh DRIFTGATE_TSAN: data races between driftgate's threads.
# A ThreadSanitizer build (make tsan) runs with every thread busy at once:
# two workers under wrk load with drifted bodies (nginx upstream), the log
# and anomaly-file writers, the analyzer thread flushing to a drift store
# every 300 ms and sending batches to the fake Gemini API, SIGHUP reloads
# (the reload thread) while calls are in flight, then SIGTERM. Fails on any
# ThreadSanitizer report, or when driftgate does not exit 0. Bounded:
# about 20 s; everything started here is stopped here.
set -u
DG=${1:?usage: tests/tsan/run.sh build/tsan/driftgate}
case $DG in /*) ;; *) DG=$PWD/$DG ;; esac
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-tsan.XXXXXX")
chmod 755 "$tmp"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    sleep 0.3
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL - tsan: $*"; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(port); PX=$(port); AD=$(port)

cp "$top/tests/integration/fixtures/body/item-type.json" "$top/tests/integration/fixtures/body/items-drift.json" "$tmp/"
chmod 644 "$tmp"/*.json
cat >"$tmp/up.conf" <<EOF
daemon off; worker_processes 1; pid $tmp/up.pid; error_log $tmp/up.err;
events { worker_connections 256; }
http { access_log off; server { listen 127.0.0.1:$UP; default_type application/json;
  location = /items/2 { alias $tmp/item-type.json; }
  location = /categories/toys/items { alias $tmp/items-drift.json; } } }
EOF
nginx -c "$tmp/up.conf" & pids+=($!)
python3 "$top/tests/fakes/gemini.py" --port 0 >"$tmp/fake.out" 2>"$tmp/fake.err" & pids+=($!)
for _ in $(seq 1 100); do grep -q '^PORT ' "$tmp/fake.out" 2>/dev/null && break; sleep 0.1; done
FK=$(awk '/^PORT /{print $2}' "$tmp/fake.out")
[ -n "$FK" ] || fail "the fake Gemini server did not start"
# the fake answers slowly, so reloads land while a call is in flight
curl -s -X POST -d '{"latency": 0.5}' "http://127.0.0.1:$FK/_fake/config" >/dev/null
cat >"$tmp/c.yaml" <<EOF
version: 1
listen: 127.0.0.1:$PX
admin: 127.0.0.1:$AD
workers: 2
log: {file: $tmp/log, level: info}
anomalies: {file: $tmp/a.jsonl}
store: {path: $tmp/d.db, flush_interval: 300ms}
explain: {backend: gemini, endpoint: "http://127.0.0.1:$FK", api_key_env: DG_TSAN_KEY, batch_interval: 1s, requests_per_minute: 0}
apis:
  - name: shop
    spec: $top/tests/integration/fixtures/shop.yaml
    upstream: http://127.0.0.1:$UP
EOF
TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1" DG_TSAN_KEY=test-key \
    "$DG" run --config "$tmp/c.yaml" 2>"$tmp/tsan.err" & dg=$!
pids+=($dg)
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$AD/readyz" && break; sleep 0.1; done
curl -sf -o /dev/null "http://127.0.0.1:$AD/readyz" || fail "driftgate did not become ready: $(tail -3 "$tmp/tsan.err")"
wrk -t1 -c8 -d6s "http://127.0.0.1:$PX/items/2" >/dev/null & w1=$!
wrk -t1 -c4 -d6s "http://127.0.0.1:$PX/categories/toys/items" >/dev/null & w2=$!
for i in 1 2 3; do sleep 1.5; kill -HUP $dg; done
wait $w1 $w2
sleep 2
m=$(curl -s "http://127.0.0.1:$AD/metrics")
echo "$m" | grep -q '^driftgate_llm_requests_total{backend="gemini"' || fail "no model request was made"
echo "$m" | grep -q '^driftgate_config_reloads_total{result="success"} 3' || fail "the 3 reloads did not succeed"
# a reload still compiling when the stop comes: shutdown must wait for it
kill -HUP $dg
sleep 0.05
kill -TERM $dg
wait $dg
rc=$?
n=$(grep -c "WARNING: ThreadSanitizer" "$tmp/tsan.err")
if [ "$n" != 0 ]; then
    grep -A20 "WARNING: ThreadSanitizer" "$tmp/tsan.err" | head -80
    fail "$n ThreadSanitizer report(s)"
fi
[ $rc = 0 ] || fail "driftgate exited $rc after SIGTERM: $(tail -5 "$tmp/tsan.err")"
echo "ok - tsan: workers, writers, analyzer, model calls, 4 reloads (one during SIGTERM) without a data race"
