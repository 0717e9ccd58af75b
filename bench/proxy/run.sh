#!/usr/bin/env bash
# bench/proxy/run.sh: the proxy benchmark (bench/README.md, "Proxy benchmark").
#
# wrk on 127.0.0.1, in one run, one endpoint at a time, against:
#   upstream   nginx serving the bodies as static files (the upstream of the others)
#   nginx      nginx as a plain reverse proxy in front of it (the ceiling)
#   driftgate  driftgate run --mode monitor, validating 100% of the responses
#   prism      Prism's validating proxy (prism proxy --errors)
# on three endpoints whose bodies are valid against proxy/spec.yaml (the
# validator benchmark's schemas): orders_7k (/orders, 7,389 bytes),
# account_10k (/accounts/{id}, 10,398 bytes), events_1m (/events/export,
# 1,000,376 bytes). Then the memory test: 1,000 keep-alive connections
# downloading the 1 MB body through driftgate while its VmRSS/VmHWM is
# sampled every 0.5 s.
#
# Before anything is timed, every target must return each body (byte-exact
# for the three C servers, JSON-equal for Prism, which re-serializes), and
# driftgate's /metrics must count each as valid; an invalid body on the
# account route (negative control) must be counted invalid by driftgate and
# rejected by Prism. During the timed runs driftgate's invalid/skipped/error
# counters must not move, and Prism (--errors) must answer only 2xx.
#
# Environment (all optional):
#   DRIFTGATE   driftgate binary (default ../../build/driftgate). Skipped, with a
#               message, when `$DRIFTGATE run --help` does not exit 0.
#   PRISM       prism CLI (default ../node_modules/.bin/prism); skipped when missing
#   DATA        dir with orders.json account.json events.json (default ../data;
#               generated with ../gen.c when missing)
#   WORKERS     nginx worker_processes and driftgate --workers (default: nproc)
#   DURATION    seconds per timed wrk run (default 10); WARMUP (default 2, discarded)
#   WRK_THREADS (default 2); WRK_TIMEOUT (default 10s)
#   RUNS        "endpoint:connections ..." (default
#               "orders_7k:32 account_10k:32 events_1m:8 events_1m:32")
#   TARGETS     subset of "upstream nginx driftgate prism" (default all)
#   MEM_CONNS (1000), MEM_DURATION (15), MEM_NGINX (1: same load through the
#               nginx proxy, for reference), SKIP_MEM=1 skips the memory test
#   NGINX_PROXY_EXTRA  directives added to the nginx proxy's location (e.g.
#               "proxy_buffering off;"), to try other ceilings
#   KEEP_TMP=1  keep the temporary directory (configs, logs)
#
# Exit status: 0 when every check passed (missing targets are reported, not
# errors), 1 when a check failed (a target returned wrong bodies, driftgate
# counted something other than valid, a server did not start).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
bench=$(cd "$here/.." && pwd)
top=$(cd "$bench/.." && pwd)

DRIFTGATE=${DRIFTGATE:-$top/build/driftgate}
PRISM=${PRISM:-$bench/node_modules/.bin/prism}
DATA=${DATA:-$bench/data}
WORKERS=${WORKERS:-$(nproc)}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
WRK_THREADS=${WRK_THREADS:-2}
WRK_TIMEOUT=${WRK_TIMEOUT:-10s}
RUNS=${RUNS:-"orders_7k:32 account_10k:32 events_1m:8 events_1m:32"}
TARGETS=${TARGETS:-"upstream nginx driftgate prism"}
MEM_CONNS=${MEM_CONNS:-1000}
MEM_DURATION=${MEM_DURATION:-15}
MEM_NGINX=${MEM_NGINX:-1}
SPEC=$here/spec.yaml

ACCOUNT_ID=3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f
BAD_ID=3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3dbad0   # the upstream serves orders.json here: invalid
declare -A EP_PATH=([orders_7k]=/orders [account_10k]=/accounts/$ACCOUNT_ID [events_1m]=/events/export)
declare -A EP_FILE=([orders_7k]=orders.json [account_10k]=account.json [events_1m]=events.json)
declare -A EP_OP=([orders_7k]=listOrders [account_10k]=getAccount [events_1m]=exportEvents)
ENDPOINTS="orders_7k account_10k events_1m"

for tool in nginx wrk curl ss awk sha256sum; do
  command -v $tool >/dev/null || { echo "proxy bench: $tool not found" >&2; exit 1; }
done

# ---- processes: everything started is recorded and stopped on exit ----
tmp=$(mktemp -d /tmp/dg-proxy-bench.XXXXXX)
chmod 755 "$tmp"   # nginx workers run as nobody and need their temp dirs
pids=()
cleanup() {
  local p i
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for i in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "(kept $tmp)" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# File descriptors: 1,000 client connections plus as many upstream ones.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

failed=0
fail() { echo "FAIL: $*"; failed=1; }

declare -A used_port
free_port() {   # below the ephemeral range (32768+), not listening, not handed out
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    [ -n "${used_port[$p]:-}" ] && continue
    ss -Hltn "sport = :$p" 2>/dev/null | grep -q . && continue
    used_port[$p]=1; echo "$p"; return
  done
}

wait_http() {   # URL SECONDS PID: until URL answers 200, or PID dies
  local i
  for i in $(seq 1 $(($2 * 10))); do
    kill -0 "$3" 2>/dev/null || return 1
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1")" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}

children() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' | tr '\n' ' '; }
cpu_ticks() {   # PIDS...: user+system clock ticks, all threads
  local p s=0 t
  for p in "$@"; do
    t=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null) || t=0
    s=$((s + ${t:-0}))
  done
  echo $s
}

# ---- data ----
for e in $ENDPOINTS; do
  f=$DATA/${EP_FILE[$e]}
  [ -s "$f" ] && continue
  echo "generating $f"
  mkdir -p "$DATA"
  [ -x "$tmp/gen" ] || ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -o "$tmp/gen" "$bench/gen.c" || exit 1
  case $e in
    orders_7k) "$tmp/gen" orders 5 >"$f.tmp" ;;
    account_10k) "$tmp/gen" account >"$f.tmp" ;;
    events_1m) "$tmp/gen" events 1000000 >"$f.tmp" ;;
  esac && mv "$f.tmp" "$f" || exit 1
done
declare -A EP_SIZE EP_SHA
for e in $ENDPOINTS; do
  EP_SIZE[$e]=$(stat -c %s "$DATA/${EP_FILE[$e]}")
  EP_SHA[$e]=$(sha256sum <"$DATA/${EP_FILE[$e]}" | cut -d' ' -f1)
done

# ---- which targets can run ----
want() { case " $TARGETS " in *" $1 "*) return 0 ;; esac; return 1; }
have_dg=0
if want driftgate; then
  if [ -x "$DRIFTGATE" ] && "$DRIFTGATE" run --help >/dev/null 2>&1; then
    have_dg=1
  else
    echo "driftgate: SKIPPED: '$DRIFTGATE run --help' does not exit 0 (no proxy in this build yet)"
  fi
fi
have_prism=0
if want prism; then
  if [ -x "$PRISM" ] && command -v node >/dev/null; then
    have_prism=1
  else
    echo "prism: SKIPPED: $PRISM not found (cd bench && npm install --no-audit --no-fund)"
  fi
fi

# ---- servers ----
UP=$(free_port)
nginx_conf() {   # NAME SERVER_BLOCK...: a foreground nginx with everything under $tmp/NAME
  local d=$tmp/$1; shift
  mkdir -p "$d/logs"
  cat >"$d/nginx.conf" <<EOF
worker_processes $WORKERS;
worker_rlimit_nofile 65536;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  default_type application/json;
  types { application/json json; }
  client_body_temp_path $d/client_temp;
  proxy_temp_path $d/proxy_temp;
  fastcgi_temp_path $d/fastcgi_temp;
  uwsgi_temp_path $d/uwsgi_temp;
  scgi_temp_path $d/scgi_temp;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
$*
}
EOF
}
start_nginx() {   # NAME PORT -> sets NGINX_PID[NAME]
  nginx -p "$tmp/$1/" -c "$tmp/$1/nginx.conf" >"$tmp/$1/logs/stdout.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  NGINX_PID[$1]=$pid
  wait_http "http://127.0.0.1:$2/orders" 20 "$pid" ||
    { echo "$1: nginx did not start:"; cat "$tmp/$1/logs/"*.log; exit 1; }
}
declare -A NGINX_PID PORT PID

# a) upstream: static files; the BAD_ID account route serves an invalid body.
nginx_conf upstream "  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.1:$UP;
    root $DATA;
    location = /orders { rewrite ^ /orders.json break; }
    location = /events/export { rewrite ^ /events.json break; }
    location = /accounts/$BAD_ID { rewrite ^ /orders.json break; }
    location /accounts/ { rewrite ^ /account.json break; }
  }"
start_nginx upstream "$UP"
PORT[upstream]=$UP; PID[upstream]=${NGINX_PID[upstream]}

# b) nginx as a plain reverse proxy: HTTP/1.1 and a keep-alive pool upstream;
#    response buffering as nginx ships it (proxy_buffers 8 4k|8k, bodies
#    beyond that go through a temp file under $tmp).
if want nginx; then
  NP=$(free_port)
  nginx_conf nginx "  upstream up {
    server 127.0.0.1:$UP;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NP;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      ${NGINX_PROXY_EXTRA:-}
    }
  }"
  start_nginx nginx "$NP"
  PORT[nginx]=$NP; PID[nginx]=${NGINX_PID[nginx]}
fi

# c) driftgate, monitor mode, every response validated.
if [ $have_dg = 1 ]; then
  DG=$(free_port); AD=$(free_port)
  "$DRIFTGATE" run --spec "$SPEC" --upstream "http://127.0.0.1:$UP" \
    --listen "127.0.0.1:$DG" --admin "127.0.0.1:$AD" --workers "$WORKERS" --mode monitor \
    --log "$tmp/driftgate.log" >"$tmp/driftgate.out" 2>&1 &
  PID[driftgate]=$!; pids+=("${PID[driftgate]}")
  PORT[driftgate]=$DG
  if ! wait_http "http://127.0.0.1:$AD/readyz" 30 "${PID[driftgate]}"; then
    fail "driftgate did not become ready (admin /readyz):"
    tail -20 "$tmp/driftgate.out" "$tmp/driftgate.log" 2>/dev/null
    have_dg=0
  fi
fi

# d) Prism's validating proxy: one Node process; --errors turns a response
#    violation into a 500 problem; logging at warn (info logs every request
#    and costs Prism ~20% of its throughput).
if [ $have_prism = 1 ]; then
  PP=$(free_port)
  "$PRISM" proxy "$SPEC" "http://127.0.0.1:$UP" -h 127.0.0.1 -p "$PP" --errors -v warn \
    >"$tmp/prism.log" 2>&1 &
  PID[prism]=$!; pids+=("${PID[prism]}")
  PORT[prism]=$PP
  if ! wait_http "http://127.0.0.1:$PP/orders" 60 "${PID[prism]}"; then
    fail "prism did not start:"; tail -20 "$tmp/prism.log"; have_prism=0
  fi
fi

active=""
want upstream && active="$active upstream"
want nginx && active="$active nginx"
[ $have_dg = 1 ] && active="$active driftgate"
[ $have_prism = 1 ] && active="$active prism"

# ---- header ----
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$top" status --porcelain -- proxy validate common policies cmd 2>/dev/null | head -1)
echo "== driftgate proxy benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr); wrk, the proxy and the upstream share them"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min load average at start)"
echo "versions: $(nginx -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | awk 'NR==1 {print $1, $2}')," \
  "driftgate $([ $have_dg = 1 ] && echo "$DRIFTGATE, tree $commit${dirty:+ (sources modified)}" || echo "-")," \
  "prism $([ $have_prism = 1 ] && "$PRISM" --version 2>/dev/null || echo "-") on node $(node --version 2>/dev/null || echo -)"
echo "workers:  nginx worker_processes $WORKERS (upstream and proxy), driftgate --workers $WORKERS," \
  "prism: a single Node.js process (it has no worker option)"
echo "method:   wrk -t$WRK_THREADS -d${DURATION}s --latency --timeout $WRK_TIMEOUT, connections per row;" \
  "a ${WARMUP}s warm-up run before each (discarded); one endpoint at a time, all targets back to back"
echo "spec:     ${SPEC#$top/} (schemas from bench/specs/bench.yaml); bodies: $(for e in $ENDPOINTS; do printf '%s %s B; ' "$e" "${EP_SIZE[$e]}"; done)"
echo "targets: $active"
echo

# ---- checks before timing ----
metrics() { curl -s --max-time 5 "http://127.0.0.1:$AD/metrics"; }
# metric FILE NAME OPERATION RESULT: sum of NAME{...operation=OP...result=RESULT...}
metric() {
  awk -v name="$2" -v op="operation=\"$3\"" -v res="result=\"$4\"" '
    index($0, name "{") == 1 && (op == "operation=\"*\"" || index($0, op)) && index($0, res) { s += $NF }
    END { printf "%d\n", s }' "$1"
}
json_equal() {
  node -e 'const fs = require("fs"); const a = JSON.parse(fs.readFileSync(process.argv[1])),
    b = JSON.parse(fs.readFileSync(process.argv[2]));
    process.exit(require("util").isDeepStrictEqual(a, b) ? 0 : 1)' "$1" "$2"
}

echo "Checks before timing (each endpoint once per target; the invalid control is the account route serving orders.json):"
for t in $active; do
  port=${PORT[$t]}
  [ "$t" = driftgate ] && metrics >"$tmp/m0"
  for e in $ENDPOINTS; do
    code=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 30 "http://127.0.0.1:$port${EP_PATH[$e]}")
    size=$(stat -c %s "$tmp/body")
    sha=$(sha256sum <"$tmp/body" | cut -d' ' -f1)
    if [ "$code" != 200 ]; then
      fail "$t $e: HTTP $code"; continue
    fi
    if [ "$sha" = "${EP_SHA[$e]}" ]; then
      how="byte-exact"
    elif [ "$t" = prism ] && json_equal "$tmp/body" "$DATA/${EP_FILE[$e]}"; then
      how="JSON-equal, re-serialized ($size of ${EP_SIZE[$e]} bytes)"
    else
      fail "$t $e: body differs from ${EP_FILE[$e]} ($size bytes)"; continue
    fi
    printf '  %-10s %-12s 200, %s\n' "$t" "$e" "$how"
  done
  code=$(curl -s -o "$tmp/body" -w '%{http_code}' --max-time 30 "http://127.0.0.1:$port/accounts/$BAD_ID")
  case $t in
    upstream | nginx) ;;
    prism)
      if [ "$code" = 500 ] && grep -q 'VIOLATIONS' "$tmp/body"; then
        printf '  %-10s %-12s %s\n' prism control "invalid body rejected: 500 VIOLATIONS"
      else fail "prism: invalid control body answered $code, not 500 VIOLATIONS"; fi ;;
    driftgate)
      metrics >"$tmp/m1"
      for e in $ENDPOINTS; do
        op=${EP_OP[$e]}
        v=$(($(metric "$tmp/m1" driftgate_responses_validated_total "$op" valid) - $(metric "$tmp/m0" driftgate_responses_validated_total "$op" valid)))
        [ "$v" = 1 ] || fail "driftgate $e: valid counter of $op moved by $v, not 1"
      done
      for r in valid invalid skipped error; do
        d=$(($(metric "$tmp/m1" driftgate_responses_validated_total '*' $r) - $(metric "$tmp/m0" driftgate_responses_validated_total '*' $r)))
        eval "d_$r=$d"
      done
      # shellcheck disable=SC2154
      if [ "$code" = 200 ] && [ "$d_valid" = 3 ] && [ "$d_invalid" = 1 ] && [ "$d_skipped" = 0 ] && [ "$d_error" = 0 ]; then
        printf '  %-10s %-12s %s\n' driftgate metrics "validated: 3 valid, 1 invalid (the control, passed through with 200 in monitor mode), 0 skipped, 0 error"
      else
        # shellcheck disable=SC2154
        fail "driftgate metrics after 3 valid + 1 invalid request: valid +$d_valid invalid +$d_invalid skipped +$d_skipped error +$d_error (control HTTP $code)"
      fi ;;
  esac
done
echo
if [ $failed = 1 ]; then
  echo "proxy bench: checks failed, nothing timed (logs: $tmp; KEEP_TMP=1 keeps them)"
  KEEP_TMP=1
  exit 1
fi

# ---- timed runs ----
to_ms() {   # wrk duration (812.00us, 1.23ms, 2.01s, 1.00m) -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.3f", v * 60000 }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "nan" }'
}
# pids whose CPU time counts for a target: the proxy itself (nginx: its workers)
target_pids() {
  case $1 in upstream | nginx) children "${PID[$1]}" ;; *) echo "${PID[$1]}" ;; esac
}
hz=$(getconf CLK_TCK)
results=$tmp/results
: >"$results"
: >"$tmp/dgcheck"
run_wrk() {   # TARGET ENDPOINT CONNS
  local t=$1 e=$2 c=$3 url out load tp t0 t1 rps p50 p99 reqs errs non2xx cpu
  url="http://127.0.0.1:${PORT[$t]}${EP_PATH[$e]}"
  timeout $((WARMUP + 30)) wrk -t"$WRK_THREADS" -c"$c" -d"${WARMUP}s" --timeout "$WRK_TIMEOUT" "$url" >/dev/null 2>&1
  sleep 0.5   # let the warm-up's last responses finish before counters are read
  [ "$t" = driftgate ] && metrics >"$tmp/mb"
  load=$(cut -d' ' -f1 /proc/loadavg)
  tp=$(target_pids "$t")
  # shellcheck disable=SC2086
  t0=$(cpu_ticks $tp)
  out=$tmp/wrk.$t.$e.$c
  timeout $((DURATION + 60)) wrk -t"$WRK_THREADS" -c"$c" -d"${DURATION}s" --latency --timeout "$WRK_TIMEOUT" "$url" >"$out" 2>&1
  # shellcheck disable=SC2086
  t1=$(cpu_ticks $tp)
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  reqs=$(awk '/requests in/ {print $1}' "$out")
  errs=$(awk '/Socket errors:/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$out")
  errs=$(( ${errs:-0} + ${non2xx:-0} ))
  if [ -z "$rps" ] || [ -z "$reqs" ]; then
    fail "$t $e c=$c: wrk gave no result:"; sed 's/^/    /' "$out"; rps=0; reqs=0
  fi
  cpu=$(awk -v a="$t0" -v b="$t1" -v hz="$hz" -v n="$reqs" 'BEGIN { printf "%.0f", (n > 0) ? (b - a) / hz * 1e6 / n : 0 }')
  echo "$e ${EP_SIZE[$e]} $c $t $rps $p50 $p99 $errs $reqs $cpu $load" >>"$results"
  printf '  %-12s c=%-4s %-10s %10.1f req/s  p50 %8.2f ms  p99 %8.2f ms  errors %s\n' "$e" "$c" "$t" "$rps" "$p50" "$p99" "$errs"
  [ "$errs" = 0 ] || fail "$t $e c=$c: $errs errors/non-2xx responses (a 500 from prism is a violation)"
  if [ "$t" = driftgate ]; then
    metrics >"$tmp/ma"
    local op=${EP_OP[$e]} v i s x
    v=$(($(metric "$tmp/ma" driftgate_responses_validated_total "$op" valid) - $(metric "$tmp/mb" driftgate_responses_validated_total "$op" valid)))
    i=$(($(metric "$tmp/ma" driftgate_responses_validated_total '*' invalid) - $(metric "$tmp/mb" driftgate_responses_validated_total '*' invalid)))
    s=$(($(metric "$tmp/ma" driftgate_responses_validated_total '*' skipped) - $(metric "$tmp/mb" driftgate_responses_validated_total '*' skipped)))
    x=$(($(metric "$tmp/ma" driftgate_responses_validated_total '*' error) - $(metric "$tmp/mb" driftgate_responses_validated_total '*' error)))
    echo "$e $c $reqs $v $i $s $x" >>"$tmp/dgcheck"
    # wrk counts completed responses; up to c more were in flight when it
    # stopped (and, on a slow target, up to c of the warm-up's).
    if [ "$i" != 0 ] || [ "$s" != 0 ] || [ "$x" != 0 ] || [ "$v" -lt "$reqs" ] || [ "$v" -gt $((reqs + 2 * c)) ]; then
      fail "driftgate $e c=$c: wrk completed $reqs, driftgate counted valid +$v invalid +$i skipped +$s error +$x"
    fi
  fi
}

echo "Timed runs:"
for r in $RUNS; do
  e=${r%%:*} c=${r##*:}
  [ -n "${EP_PATH[$e]:-}" ] || { echo "unknown endpoint $e in RUNS" >&2; exit 2; }
  for t in $active; do run_wrk "$t" "$e" "$c"; done
done
echo

# ---- memory: 1,000 keep-alive connections downloading 1 MB bodies ----
mem_test() {   # TARGET: prints "peak_rss_kb hwm_kb reqs errs rps established"
  local t=$1 url out sampler est pids_now
  url="http://127.0.0.1:${PORT[$t]}${EP_PATH[events_1m]}"
  out=$tmp/mem.$t
  : >"$out.samples"
  (
    while :; do
      pids_now=$(target_pids "$t")
      # shellcheck disable=SC2046
      awk '/^VmRSS:/ { r += $2 } /^VmHWM:/ { h += $2 } END { print r + 0, h + 0 }' \
        $(for p in $pids_now; do echo "/proc/$p/status"; done) 2>/dev/null >>"$out.samples"
      sleep 0.5
    done
  ) &
  sampler=$!; pids+=("$sampler")
  timeout $((MEM_DURATION + 60)) wrk -t"$WRK_THREADS" -c"$MEM_CONNS" -d"${MEM_DURATION}s" --timeout 30s "$url" >"$out" 2>&1 &
  local wrkpid=$!
  pids+=("$wrkpid")
  sleep $((MEM_DURATION / 2))
  est=$(ss -Htn state established "( sport = :${PORT[$t]} )" 2>/dev/null | wc -l)
  wait "$wrkpid"
  sleep 0.6
  kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null
  awk -v est="$est" -v f="$out" '
    { if ($1 > peak) peak = $1; if ($2 > hwm) hwm = $2 }
    END {
      while ((getline l < f) > 0) {
        if (l ~ /requests in/) { split(l, a, " "); reqs = a[1] }
        if (l ~ /^Requests\/sec:/) { split(l, a, " "); rps = a[2] }
        if (l ~ /Socket errors:/) { gsub(/,/, "", l); split(l, a, " "); errs += a[4] + a[6] + a[8] + a[10] }
        if (l ~ /Non-2xx/) { split(l, a, " "); errs += a[length(a)] }
      }
      printf "%d %d %d %d %s %d\n", peak, hwm, reqs, errs, rps, est
    }' "$out.samples"
}
if [ "${SKIP_MEM:-0}" != 1 ] && [ $have_dg = 1 ]; then
  echo "Memory: wrk -t$WRK_THREADS -c$MEM_CONNS -d${MEM_DURATION}s --timeout 30s on events_1m, RSS sampled every 0.5 s"
  base=$(awk '/^VmRSS:/ {print $2}' "/proc/${PID[driftgate]}/status")
  metrics >"$tmp/mb"
  mem_test driftgate >"$tmp/mem.result"
  read -r mpeak mhwm mreqs merrs mrps mest <"$tmp/mem.result"
  metrics >"$tmp/ma"
  mv_=$(($(metric "$tmp/ma" driftgate_responses_validated_total exportEvents valid) - $(metric "$tmp/mb" driftgate_responses_validated_total exportEvents valid)))
  mi_=$(($(metric "$tmp/ma" driftgate_responses_validated_total '*' invalid) - $(metric "$tmp/mb" driftgate_responses_validated_total '*' invalid)))
  printf '  driftgate: RSS before %d MB; peak VmRSS %.1f MB, VmHWM %.1f MB; %d connections established at mid-run;\n' \
    $((base / 1024)) "$(echo "$mpeak" | awk '{print $1/1024}')" "$(echo "$mhwm" | awk '{print $1/1024}')" "$mest"
  printf '             %d responses of 1 MB in %ss (%s req/s), %d errors; validated valid +%d, invalid +%d\n' \
    "$mreqs" "$MEM_DURATION" "$mrps" "$merrs" "$mv_" "$mi_"
  [ "$merrs" = 0 ] || fail "memory test: $merrs errors"
  [ "$mi_" = 0 ] || fail "memory test: driftgate counted $mi_ invalid"
  [ "$mest" -ge "$MEM_CONNS" ] || echo "  note: only $mest of $MEM_CONNS connections established at mid-run"
  if want nginx && [ "$MEM_NGINX" = 1 ]; then
    mem_test nginx >"$tmp/mem.result"
    read -r npeak nhwm nreqs nerrs nrps nest <"$tmp/mem.result"
    printf '  nginx proxy (reference, sums over its %s workers): peak VmRSS %.1f MB, VmHWM %.1f MB; %d connections established;\n' \
      "$WORKERS" "$(echo "$npeak" | awk '{print $1/1024}')" "$(echo "$nhwm" | awk '{print $1/1024}')" "$nest"
    printf '             %d responses of 1 MB in %ss (%s req/s), %d errors\n' "$nreqs" "$MEM_DURATION" "$nrps" "$nerrs"
  fi
  echo
fi

# ---- tables ----
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (at end)"
echo
echo "Results (latency in ms; cpu us/req = CPU time of the target's own processes, not wrk's or the upstream's, per response; load = 1-min load average at the start of the row):"
awk '
  { n++; e[n] = $1; b[n] = $2; c[n] = $3; t[n] = $4; rps[n] = $5; p50[n] = $6; p99[n] = $7; err[n] = $8; cpu[n] = $10; ld[n] = $11 }
  END {
    printf "%-12s %8s %5s  %-10s %10s %9s %9s %7s %8s %6s\n", "endpoint", "bytes", "conns", "target", "req/s", "p50", "p99", "errors", "cpu us", "load"
    for (i = 1; i <= n; i++) {
      if (i > 1 && (e[i] != e[i-1] || c[i] != c[i-1])) print ""
      printf "%-12s %8d %5d  %-10s %10.1f %9.2f %9.2f %7d %8d %6.2f\n", e[i], b[i], c[i], t[i], rps[i], p50[i], p99[i], err[i], cpu[i], ld[i]
    }
  }' "$results"
echo
if [ $have_dg = 1 ]; then
  echo "Validation during the timed runs (driftgate /metrics deltas; wrk counts completed responses, up to c more were in flight at its end):"
  awk '{ printf "  %-12s c=%-4s wrk completed %8d  valid +%-8d invalid +%d skipped +%d error +%d\n", $1, $2, $3, $4, $5, $6, $7 }' "$tmp/dgcheck"
  echo
  echo "Ratios:"
  awk '
    # has[k, target] says whether a row exists: awk creates array elements on
    # reference, so membership of rps/p99 is not a test for that.
    { k = $1 " " $3; if (!(k in seen)) { seen[k] = 1; order[++n] = k; bytes[k] = $2 }
      rps[k, $4] = $5; p99[k, $4] = $7; has[k, $4] = 1 }
    function r(k, t) { return has[k, t] && rps[k, t] > 0 ? sprintf("%.2fx", rps[k, "driftgate"] / rps[k, t]) : "-" }
    END {
      printf "%-12s %5s  %15s %10s %20s\n", "endpoint", "conns", "dg/nginx-proxy", "dg/prism", "p99 added over nginx"
      for (i = 1; i <= n; i++) {
        k = order[i]; split(k, kk, " ")
        printf "%-12s %5s  %15s %10s %17s ms\n", kk[1], kk[2], r(k, "nginx"), r(k, "prism"),
          has[k, "nginx"] ? sprintf("%+.2f", p99[k, "driftgate"] - p99[k, "nginx"]) : "-"
      }
      printf "\nTargets:\n"
      all08 = "met"; all20 = "met"; h08 = h20 = 0
      for (i = 1; i <= n; i++) {
        k = order[i]
        if (has[k, "nginx"]) { h08 = 1; if (rps[k, "driftgate"] < 0.8 * rps[k, "nginx"]) all08 = "NOT met" }
        if (has[k, "prism"]) { h20 = 1; if (rps[k, "driftgate"] < 20 * rps[k, "prism"]) all20 = "NOT met" }
      }
      printf "  driftgate >= 0.8x nginx-proxy req/s on every row        %s\n", h08 ? all08 : "- (no nginx rows)"
      printf "  driftgate >= 20x prism req/s on every row               %s\n", h20 ? all20 : "- (no prism rows)"
      k = "orders_7k 32"
      if (has[k, "nginx"] && has[k, "driftgate"])
        printf "  p99 added over nginx <= 1 ms, orders_7k at 32 conns     %s (%+.2f ms)\n",
          (p99[k, "driftgate"] - p99[k, "nginx"] <= 1) ? "met" : "NOT met", p99[k, "driftgate"] - p99[k, "nginx"]
    }' "$results"
  if [ -n "${mpeak:-}" ]; then
    printf '  peak RSS < 256 MB, %d conns x 1 MB bodies              %s (%.1f MB peak VmRSS, VmHWM %.1f MB)\n' "$MEM_CONNS" \
      "$([ "$mpeak" -lt $((256 * 1024)) ] && [ "$mhwm" -lt $((256 * 1024)) ] && echo met || echo "NOT met")" \
      "$(echo "$mpeak" | awk '{print $1/1024}')" "$(echo "$mhwm" | awk '{print $1/1024}')"
  fi
  lines=$(wc -l <"$tmp/driftgate.log" 2>/dev/null || echo 0)
  echo "  (driftgate log: $lines lines)"
else
  echo "driftgate was not measured (see above): no ratios."
fi
[ -n "$(grep -v 'Starting Prism' "$tmp/prism.log" 2>/dev/null)" ] && {
  echo; echo "prism log (warn and above, first lines):"; grep -v 'Starting Prism' "$tmp/prism.log" | head -5 | cut -c1-200; }
if [ $failed = 1 ]; then
  echo; echo "proxy bench: some checks FAILED (see FAIL lines above; logs kept in $tmp)"; KEEP_TMP=1; exit 1
fi
exit 0
