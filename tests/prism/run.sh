#!/usr/bin/env bash
# False-positive check against data no one here wrote (issue 4, "Proof").
#
# For each spec: Prism (`prism mock -d`, dynamic json-schema-faker data) is the
# upstream, `driftgate run` sits in front of it, and tests/prism/client.py
# sends requests to every operation it can fill until COUNT responses (or
# SECONDS) per spec. Then every body is validated again with
# `driftgate validate` (CLI) and with ajv (crosscheck.js, a second validator),
# and every response either rejects is explained by explain.py: a rule Prism's
# generator breaks (reproduced on its own by jsf_evidence.js) or a driftgate
# bug (repro/). When the proxy is not built yet (`driftgate run --help` fails),
# the client talks to Prism directly and only the CLI judges.
#
#   tests/prism/run.sh                      # all four specs, 800 responses each
#   COUNT=200 SPECS="twilio discord" tests/prism/run.sh
#
# Environment: DRIFTGATE (default build/driftgate), WORK (default
# build/prism-fp; wiped per spec), COUNT (responses per spec, default 800),
# SECONDS_PER_SPEC (default 300), TOTAL_SECONDS (whole run, default 2400),
# PORT_BASE (default 21400: below the ephemeral range, so no outgoing
# connection holds it), WORKERS (driftgate workers, default 2),
# SPECS (names from the table below, default all).
#
# Exit status: 0 = every rejected response is explained and none by a
# driftgate bug; 1 = some are unexplained or blamed on driftgate, or the proxy
# and the CLI disagree; 2 = setup failure (missing binary, Prism not starting).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
ROOT=$PWD

if [ -z "${DG_PRISM_INNER:-}" ]; then
    # the whole run is bounded; the trap below stops every child on TERM
    exec timeout --kill-after=15 "${TOTAL_SECONDS:-2400}" env DG_PRISM_INNER=1 "$0" "$@"
fi

DG=${DRIFTGATE:-build/driftgate}
WORK=${WORK:-build/prism-fp}
case $WORK in /*) ;; *) WORK=$ROOT/$WORK ;; esac
COUNT=${COUNT:-800}
SECONDS_PER_SPEC=${SECONDS_PER_SPEC:-300}
PORT_BASE=${PORT_BASE:-21400}
WORKERS=${WORKERS:-2}
PRISM=bench/node_modules/.bin/prism
TD=${TESTDATA:-../shared/testdata/openapi}
HERE=tests/prism

# name -> spec (at least one OpenAPI 3.1: discord, openai)
declare -A SPEC_OF=(
    [discord]=$TD/real-world/discord/openapi.json            # 3.1.0
    [twilio]=$TD/real-world/twilio/twilio_api_v2010.json     # 3.0.1
    [box]=$TD/real-world/box/openapi.json                    # 3.0.2
    [openai]=$TD/real-world/openai/openapi.yaml              # 3.1.0 (YAML)
)
SPECS=${SPECS:-discord twilio box openai}

[ -x "$DG" ] || { echo "run.sh: $DG missing: build it (make, or DRIFTGATE=...)"; exit 2; }
[ -x "$PRISM" ] || { echo "run.sh: $PRISM missing: cd bench && npm install --no-audit --no-fund"; exit 2; }
command -v node > /dev/null || { echo "run.sh: node missing"; exit 2; }

PIDS=()
cleanup() {
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2> /dev/null
    done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2> /dev/null
    done
}
trap cleanup EXIT
trap 'echo "run.sh: stopped (signal)"; exit 2' INT TERM

wait_http() { # url seconds pid -> 0 when it answers (any status), 1 otherwise
    local url=$1 secs=$2 pid=$3 i
    for ((i = 0; i < secs * 5; i++)); do
        kill -0 "$pid" 2> /dev/null || return 1
        curl -s -o /dev/null --max-time 2 "$url" && return 0
        sleep 0.2
    done
    return 1
}

stop_pid() { # pid: TERM, wait up to 20 s
    local p=$1 i
    kill -TERM "$p" 2> /dev/null
    for ((i = 0; i < 100; i++)); do
        kill -0 "$p" 2> /dev/null || break
        sleep 0.2
    done
    kill -KILL "$p" 2> /dev/null
    wait "$p" 2> /dev/null
}

if "$DG" run --help > /dev/null 2>&1; then MODE=proxy; else MODE=cli; fi
echo "run.sh: driftgate $("$DG" version 2>/dev/null) ($DG), mode $MODE, $COUNT responses or ${SECONDS_PER_SPEC}s per spec"
mkdir -p "$WORK"
DIRS=()
i=0
for name in $SPECS; do
    spec=${SPEC_OF[$name]:-}
    [ -n "$spec" ] || { echo "run.sh: unknown spec name $name"; exit 2; }
    D=$WORK/$name
    rm -rf "$D"
    mkdir -p "$D"
    PP=$((PORT_BASE + 3 * i)) LP=$((PORT_BASE + 3 * i + 1)) AP=$((PORT_BASE + 3 * i + 2))
    i=$((i + 1))
    echo "== $name: $spec"
    python3 $HERE/client.py prepare --spec "$spec" --out "$D" || exit 2

    t0=$(date +%s)
    "$PRISM" mock -d -h 127.0.0.1 -p "$PP" "$spec" > "$D/prism.log" 2>&1 &
    prism_pid=$!
    PIDS+=("$prism_pid")
    if ! wait_http "http://127.0.0.1:$PP/" 300 "$prism_pid"; then
        echo "run.sh: Prism did not start for $name (see $D/prism.log)"; tail -5 "$D/prism.log"; exit 2
    fi
    echo "   Prism up on :$PP after $(($(date +%s) - t0)) s"
    python3 $HERE/client.py plan --spec "$D/spec.json" --prism "http://127.0.0.1:$PP" --out "$D" || exit 2

    echo "$MODE" > "$D/mode"
    if [ "$MODE" = proxy ]; then
        # The strict profile as `run --spec` uses it, except that properties a
        # schema does not declare (where it says nothing about
        # additionalProperties) are info-level drift, not errors: JSON Schema
        # allows them, and json-schema-faker adds random ones to nearly every
        # object (fillProperties). They are still counted (info_drift).
        cat > "$D/driftgate.yaml" << EOF
version: 1
listen: 127.0.0.1:$LP
admin: 127.0.0.1:$AP
workers: $WORKERS
log: {file: $D/driftgate.log}
anomalies: {file: $D/anomalies.jsonl}
apis:
  - name: $name
    spec: $D/$name.json
    upstream: http://127.0.0.1:$PP
    profile: strict
    policy:
      undocumented_fields: info
EOF
        "$DG" check-config "$D/driftgate.yaml" || exit 2
        "$DG" run --config "$D/driftgate.yaml" &
        dg_pid=$!
        PIDS+=("$dg_pid")
        for ((k = 0; k < 100; k++)); do
            curl -sf -o /dev/null "http://127.0.0.1:$AP/readyz" && break
            kill -0 "$dg_pid" 2> /dev/null || break
            sleep 0.2
        done
        curl -sf -o /dev/null "http://127.0.0.1:$AP/readyz" || { echo "run.sh: driftgate not ready (see $D/driftgate.log)"; exit 2; }
        python3 $HERE/client.py drive --plan "$D/plan.json" --target "http://127.0.0.1:$LP" \
            --count "$COUNT" --seconds "$SECONDS_PER_SPEC" --out "$D" || exit 2
        sleep 0.5 # the verdict of the last response is recorded when its body ends
        curl -s "http://127.0.0.1:$AP/metrics" > "$D/metrics.txt"
        curl -s "http://127.0.0.1:$AP/status" > "$D/status.json"
        stop_pid "$dg_pid"
    else
        python3 $HERE/client.py drive --plan "$D/plan.json" --target "http://127.0.0.1:$PP" \
            --count "$COUNT" --seconds "$SECONDS_PER_SPEC" --out "$D" || exit 2
    fi
    stop_pid "$prism_pid"

    python3 $HERE/client.py cli-validate --driftgate "$DG" --dgspec "$D/$name.json" --out "$D" || exit 2
    python3 $HERE/client.py crossref --spec "$D/spec.json" --out "$D" || exit 2
    node $HERE/crosscheck.js "$D/spec.json" "$D" || exit 2
    DIRS+=("$D")
done

echo "== explaining every rejected response"
python3 $HERE/explain.py --driftgate "$DG" "${DIRS[@]}" || exit 2
echo "== Prism's generator on its own (jsf_evidence.js)"
JSF_EVIDENCE_JSON=$WORK/jsf_evidence.json node $HERE/jsf_evidence.js 300 | tee "$WORK/jsf_evidence.txt"
echo "== driftgate bug reproductions (repro/)"
$HERE/repro/check.sh "$DG" | tee "$WORK/repro.txt"
echo "== summary ($WORK/summary.json, $WORK/summary.md)"
python3 $HERE/client.py summary "${DIRS[@]}" --json "$WORK/summary.json" --markdown "$WORK/summary.md" || exit 2

python3 - "$WORK/summary.json" << 'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
for c, v in r["causes"].items():
    if v["who"] != "Prism":
        bad.append("%d responses: %s (%s)" % (v["responses"], c, v["what"]))
for s in r["specs"]:
    pc = s.get("proxy_vs_cli")
    if pc and (pc["only_proxy_invalid"] or pc["only_cli_invalid"]):
        bad.append("%s: proxy and CLI verdicts differ: %s" % (s["spec"], pc))
print("RESULT: %d responses, %d violations in %d distinct groups; %s"
      % (r["total"]["responses"], r["total"]["violations"], r["total"]["distinct"],
         "every one explained as Prism generating invalid data" if not bad else "NOT all on Prism:"))
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
EOF
