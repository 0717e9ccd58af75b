#!/usr/bin/env bash
# bench/proxy/analyze.sh: what the drift store costs the proxy, in one run on
# 127.0.0.1. The upstream (nginx) serves a drifted list: N items, each with a
# wrong-typed price, so every response carries N violations (N anomalies).
# Measured with wrk -t2 -c32: nginx as a plain reverse proxy (the peer),
# driftgate validating without a store (anomalies counted, then dropped:
# no consumer), and driftgate validating with the SQLite drift store (every
# anomaly aggregated on the analyzer thread, flushed every second). Prints
# req/s, p50, p99, the ratios, and the analyzer's throughput (anomalies
# aggregated per second) and drops, read from /metrics.
#
#   bench/proxy/analyze.sh
#   DURATION=10 ITEMS=20 WORKERS=2 bench/proxy/analyze.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
DG=${DRIFTGATE:-$top/build/driftgate}
DURATION=${DURATION:-10}
WORKERS=${WORKERS:-$(nproc)}
ITEMS=${ITEMS:-20}
SPEC=$top/tests/integration/fixtures/shop.yaml
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (scripts/deps.sh)"; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-analyze-bench.XXXXXX")
chmod 755 "$tmp"   # nginx's workers (nobody) read the body from here
. "$here/lib.sh"
trap cleanup EXIT INT TERM

python3 - "$tmp/items.json" "$ITEMS" <<'PY'
import json, sys
base = {"id": 1, "sku": "ABC-1234", "name": "Lamp", "price": "1.50", "currency": "EUR",
        "status": "available", "created_at": "2026-01-02T03:04:05Z", "tags": []}
items = [dict(base, id=i + 1) for i in range(int(sys.argv[2]))]
open(sys.argv[1], "w").write(json.dumps(items))
PY

UP=$(free_port); NX=$(free_port); D0=$(free_port); A0=$(free_port); D1=$(free_port); A1=$(free_port)

cat >"$tmp/up.conf" <<EOF
daemon off; worker_processes 1; pid $tmp/up.pid; error_log $tmp/up.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$UP; default_type application/json;
    location = /items { alias $tmp/items.json; } } }
EOF
for s in 0 1; do
    port=$([ $s = 0 ] && echo $D0 || echo $D1); adm=$([ $s = 0 ] && echo $A0 || echo $A1)
    store=$([ $s = 1 ] && printf 'store:\n  path: %s/drift.db\n  flush_interval: 1s\n' "$tmp" || true)
    cat >"$tmp/dg$s.yaml" <<EOF
version: 1
listen: 127.0.0.1:$port
admin: 127.0.0.1:$adm
workers: $WORKERS
log: {level: error}
$store
apis:
  - name: bench
    spec: $SPEC
    upstream: http://127.0.0.1:$UP
EOF
done
start_stack /items

run() { wrk_run "http://127.0.0.1:$1/items"; } # port -> "rps p50 p99"
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v n="$2" '$1 == n {print $2}'; }

# sanity: the drifted body arrives (200) and carries ITEMS violations
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$D0/items")
v0=$(curl -s "http://127.0.0.1:$A0/metrics" | awk '/^driftgate_violations_total/ && /kind="type"/ {s+=$2} END {print s+0}')
[ "$code" = 200 ] && [ "$v0" = "$ITEMS" ] || { echo "FAIL: upstream answered $code with $v0 type violations (want 200, $ITEMS)"; exit 1; }
echo "== drift store cost, $(date -u '+%Y-%m-%d %H:%M UTC'), workers $WORKERS, $ITEMS violations per response, wrk -t2 -c32 -d${DURATION}s, load $(cut -d' ' -f1-3 /proc/loadavg)"
read -r n_rps n50 n99 <<<"$(run $NX)"
read -r z_rps z50 z99 <<<"$(run $D0)"
a0=$(metric $A1 driftgate_anomalies_analyzed_total)
t0=$(date +%s.%N)
read -r s_rps s50 s99 <<<"$(run $D1)"
sleep 2   # the last flush
t1=$(date +%s.%N)
a1=$(metric $A1 driftgate_anomalies_analyzed_total)
drop=$(metric $A1 driftgate_anomalies_dropped_total)
viol=$(curl -s "http://127.0.0.1:$A1/metrics" | awk '/^driftgate_violations_total/ {s+=$2} END {print s+0}')
pend=$(metric $A1 driftgate_drift_pending)
printf '%-32s %10s %8s %8s %9s\n' target req/s p50ms p99ms vs-nginx
printf '%-32s %10s %8s %8s %9s\n' "nginx proxy (peer)" "$n_rps" "$n50" "$n99" "1.00x"
printf '%-32s %10s %8s %8s %9s\n' "driftgate, no store" "$z_rps" "$z50" "$z99" "$(awk -v a="$z_rps" -v b="$n_rps" 'BEGIN{printf "%.2fx", a/b}')"
printf '%-32s %10s %8s %8s %9s\n' "driftgate, drift store" "$s_rps" "$s50" "$s99" "$(awk -v a="$s_rps" -v b="$n_rps" 'BEGIN{printf "%.2fx", a/b}')"
echo "store / no store: $(awk -v a="$s_rps" -v b="$z_rps" 'BEGIN{printf "%.2fx", a/b}')"
echo "violations found by the store instance: $viol"
echo "analyzer: $(awk -v a="$a1" -v b="$a0" -v t="$t1" -v s="$t0" 'BEGIN{printf "%.0f", (a-b)/(t-s)}') findings aggregated per second ($((${a1%.*} - ${a0%.*})) in all), queue drops $drop, pending after the run $pend"
rows=$(sqlite3 "$tmp/drift.db" 'select count(*), sum(count) from drifts' 2>/dev/null || echo "?")
echo "store: drifts|occurrences = $rows"
