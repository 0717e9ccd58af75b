# bench/proxy/lib.sh: what overhead.sh and analyze.sh share (sourced).
# Expects $tmp (a scratch directory), $WORKERS and $DURATION to be set, and
# appends every background pid it starts to the pids array.

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# nginx_proxy PORT UPSTREAM_PORT: nginx as a plain keep-alive reverse proxy
# with $WORKERS workers (the peer every run is compared with).
nginx_proxy() {
    cat >"$tmp/px.conf" <<EOF2
daemon off; worker_processes $WORKERS; pid $tmp/px.pid; error_log $tmp/px.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  upstream up { server 127.0.0.1:$2; keepalive 64; }
  server { listen 127.0.0.1:$1; location / { proxy_pass http://up; proxy_http_version 1.1;
    proxy_set_header Connection ""; } } }
EOF2
    nginx -c "$tmp/px.conf" & pids+=($!)
}

# wrk's latency figure (us, ms or s) in milliseconds.
ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000} printf "%.2f", v}'; }

# wrk_run URL -> "req/s p50ms p99ms" (wrk -t2 -c32 for $DURATION s)
wrk_run() {
    local out; out=$(wrk -t2 -c32 -d"${DURATION}s" --latency "$1")
    echo "$(echo "$out" | awk '/Requests\/sec/ {print $2}') $(echo "$out" | awk '$1=="50%" {print $2}' | ms) $(echo "$out" | awk '$1=="99%" {print $2}' | ms)"
}

# start_stack CHECK_PATH: the upstream nginx ($tmp/up.conf), nginx as a proxy
# on $NX, driftgate with $tmp/dg0.yaml and $tmp/dg1.yaml (admin $A0, $A1);
# returns when all answer (CHECK_PATH through the nginx proxy).
start_stack() {
    nginx -c "$tmp/up.conf" & pids+=($!)
    nginx_proxy $NX $UP
    "$DG" run --config "$tmp/dg0.yaml" 2>"$tmp/dg0.log" & pids+=($!)
    "$DG" run --config "$tmp/dg1.yaml" 2>"$tmp/dg1.log" & pids+=($!)
    for u in "127.0.0.1:$A0/readyz" "127.0.0.1:$A1/readyz" "127.0.0.1:$NX$1"; do
        for _ in $(seq 1 100); do curl -sf -o /dev/null "http://$u" && break; sleep 0.1; done
    done
}
