#!/usr/bin/env bash
# bench/proxy/overhead.sh: where driftgate's time goes, in one run on
# 127.0.0.1: nginx as a plain reverse proxy (the ceiling), driftgate
# proxying without validating (policy sample_rate 0: every response is
# relayed and counted "skipped/sampled_out"), and driftgate validating every
# response; same upstream (nginx serving the benchmark bodies), same worker
# count, wrk -t2 -c32. Prints req/s, p50, p99 and the ratios to nginx.
#
#   bench/proxy/overhead.sh            (after `make bench` made bench/data)
#   DURATION=10 ENDPOINTS="orders account" WORKERS=2 bench/proxy/overhead.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
DG=${DRIFTGATE:-$top/build/driftgate}
DATA=${DATA:-$top/bench/data}
DURATION=${DURATION:-10}
WORKERS=${WORKERS:-$(nproc)}
ENDPOINTS=${ENDPOINTS:-"orders account"}
for f in orders account; do
    [ -s "$DATA/$f.json" ] || { echo "missing $DATA/$f.json: run 'make bench' once"; exit 2; }
done
command -v wrk >/dev/null && command -v nginx >/dev/null || { echo "needs wrk and nginx (scripts/deps.sh)"; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dg-overhead.XXXXXX")
. "$here/lib.sh"
trap cleanup EXIT INT TERM

UP=$(free_port); NX=$(free_port); D0=$(free_port); A0=$(free_port); D1=$(free_port); A1=$(free_port)

cat >"$tmp/up.conf" <<EOF
daemon off; worker_processes 1; pid $tmp/up.pid; error_log $tmp/up.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$UP; default_type application/json;
    location = /orders { alias $DATA/orders.json; }
    location ~ ^/accounts/ { alias $DATA/account.json; } } }
EOF
for rate in 0 1; do
    port=$([ $rate = 0 ] && echo $D0 || echo $D1); adm=$([ $rate = 0 ] && echo $A0 || echo $A1)
    cat >"$tmp/dg$rate.yaml" <<EOF
version: 1
listen: 127.0.0.1:$port
admin: 127.0.0.1:$adm
workers: $WORKERS
log: {level: warn}
apis:
  - name: bench
    spec: $here/spec.yaml
    upstream: http://127.0.0.1:$UP
    policy: {sample_rate: $rate}
EOF
done
start_stack /orders

path_of() { [ "$1" = orders ] && echo /orders || echo /accounts/3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f; }
run() { wrk_run "http://127.0.0.1:$1$2"; } # port path -> "rps p50 p99"
echo "== driftgate overhead, $(date -u '+%Y-%m-%d %H:%M UTC'), workers $WORKERS, wrk -t2 -c32 -d${DURATION}s, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-9s %-26s %10s %8s %8s %8s\n' endpoint target req/s p50ms p99ms vs-nginx
for e in $ENDPOINTS; do
    p=$(path_of "$e")
    read -r n_rps n50 n99 <<<"$(run $NX "$p")"
    read -r z_rps z50 z99 <<<"$(run $D0 "$p")"
    read -r v_rps v50 v99 <<<"$(run $D1 "$p")"
    printf '%-9s %-26s %10s %8s %8s %8s\n' "$e" "nginx proxy" "$n_rps" "$n50" "$n99" "1.00x"
    printf '%-9s %-26s %10s %8s %8s %8s\n' "$e" "driftgate, not validating" "$z_rps" "$z50" "$z99" "$(awk -v a="$z_rps" -v b="$n_rps" 'BEGIN{printf "%.2fx", a/b}')"
    printf '%-9s %-26s %10s %8s %8s %8s\n' "$e" "driftgate, validating all" "$v_rps" "$v50" "$v99" "$(awk -v a="$v_rps" -v b="$n_rps" 'BEGIN{printf "%.2fx", a/b}')"
done
s0=$(curl -s "http://127.0.0.1:$A0/metrics" | awk '/^driftgate_responses_validated_total/ && /result="skipped"/ {s+=$2} END {print s+0}')
v1=$(curl -s "http://127.0.0.1:$A1/metrics" | awk '/^driftgate_responses_validated_total/ && /result="valid"/ {s+=$2} END {print s+0}')
b1=$(curl -s "http://127.0.0.1:$A1/metrics" | awk '/^driftgate_responses_validated_total/ && !/result="valid"/ {s+=$2} END {print s+0}')
echo "check: not-validating instance counted $s0 skipped; validating instance $v1 valid, $b1 other"
[ "$b1" = 0 ] || { echo "FAIL: the validating instance judged responses other than valid"; exit 1; }
