#!/usr/bin/env bash
# bench/run.sh: runs both sides of the validator benchmark and prints the
# comparison table (bench/README.md). Called by bench/Makefile:
#
#   run.sh BENCH_BINARY SPEC_YAML SPEC_JSON CASES DATADIR
#
# Environment: BENCH_SECONDS (per case and side, default 2), BENCH_ITERS
# (cap on validations per case, default 10000000), BENCH_CASE (run one case).
# Exits non-zero when either validator gets a validity check wrong; missing
# the speed targets is reported, not an error.
set -euo pipefail

if [ $# -ne 5 ]; then
  echo "usage: run.sh BENCH_BINARY SPEC_YAML SPEC_JSON CASES DATADIR" >&2
  exit 2
fi
bin=$1 spec_yaml=$2 spec_json=$3 cases=$4 data=$5
here=$(cd "$(dirname "$0")" && pwd)
secs=${BENCH_SECONDS:-2}
iters=${BENCH_ITERS:-10000000}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || true)
commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$here/.." status --porcelain -- validate common 2>/dev/null | head -1)
ajv_v=$(node -p "require('$here/node_modules/ajv/package.json').version")
fmt_v=$(node -p "require('$here/node_modules/ajv-formats/package.json').version")

echo "== driftgate validator benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine:  $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min load average at start)"
echo "versions: driftgate $commit${dirty:+ (validate/ or common/ modified)}," \
  "$(${CC:-gcc} --version | head -1), node $(node --version), ajv $ajv_v, ajv-formats $fmt_v"
echo "method:   ${secs}s per case and side: warm-up, then 10 rounds; best round reported;" \
  "driftgate fed in 64 KiB chunks; ajv timed on Buffer -> JSON.parse -> validate"
echo

log="$(dirname "$bin")/checks.log"
# One case at a time, driftgate then ajv, so that both sides of a row run
# under the same conditions as far as a shared machine allows.
if [ -n "${BENCH_CASE:-}" ]; then
  names=$BENCH_CASE
else
  names=$(awk '$1 == "case" { print $2 }' "$cases")
fi
rc=0
: >"$tmp/dg.out"
: >"$tmp/ajv.out"
for c in $names; do
  "$bin" -t "$secs" -n "$iters" -c "$c" "$spec_yaml" "$cases" "$data" >>"$tmp/dg.out" || rc=$?
  node "$here/ajv_bench.js" -t "$secs" -n "$iters" -c "$c" "$spec_json" "$cases" "$data" \
    >>"$tmp/ajv.out" || rc=$?
  [ "$rc" -eq 0 ] || break
done
grep -hv -e '^RESULT' -e '^CHECK' "$tmp/dg.out" "$tmp/ajv.out" >"$log" || true

# Validity checks side by side: the body must be valid, each mutation
# (bench/cases.txt) invalid, for both validators.
awk '
  $1 == "CHECK" {
    k = $3 SUBSEP $4
    if (!(k in seen)) { seen[k] = 1; order[++n] = k; cs[k] = $3; idx[k] = $4
      what = $0; sub(/^CHECK [^ ]+ [^ ]+ [^ ]+ [^ ]+ /, "", what); wh[k] = what }
    v[k, $2] = $5
  }
  END {
    print "Validity checks (the generated body must be valid, each mutation of it invalid):"
    printf "  %-12s %-58s %-10s %-10s\n", "case", "check", "driftgate", "ajv"
    for (i = 1; i <= n; i++) {
      k = order[i]; want = (idx[k] == 0) ? "valid" : "invalid"
      d = (k SUBSEP "driftgate") in v ? v[k, "driftgate"] : "-"
      a = (k SUBSEP "ajv") in v ? v[k, "ajv"] : "-"
      bad = (d != want || a != want) ? "  <-- WRONG" : ""
      printf "  %-12s %-58s %-10s %-10s%s\n", cs[k], substr(wh[k], 1, 58), d, a, bad
    }
  }
' "$tmp/dg.out" "$tmp/ajv.out"
echo "  (first violation of each, as each validator words it: $log)"
grep -h 'FAIL' "$tmp/dg.out" "$tmp/ajv.out" | sed 's/^/  /' || true
echo
if [ "$rc" -ne 0 ]; then
  echo "bench: FAILED: a validator disagreed with the expected verdict, or could not run (see above)" >&2
  exit 1
fi

echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (at end)"
# Join the two sides' RESULT lines by case name and print the tables.
awk '
  $1 == "RESULT" && $2 == "driftgate" { n++; name[n] = $3; bytes[$3] = $4
    dg[$3] = $5; dgns[$3] = $6; dgcpu[$3] = $8; dgmed[$3] = $9 }
  $1 == "RESULT" && $2 == "ajv" { aj[$3] = $5; ajns[$3] = $6; ajcpu[$3] = $8; ajmed[$3] = $9; ajvo[$3] = $10 }
  function table(title, a, b,   i, c, r) {
    printf "%s\n", title
    printf "%-12s %9s %15s %10s %7s\n", "case", "bytes", "driftgate MB/s", "ajv MB/s", "ratio"
    for (i = 1; i <= n; i++) {
      c = name[i]
      r = (b[c] > 0) ? (a[c] / b[c]) : 0
      printf "%-12s %9d %15.1f %10.1f %6.2fx\n", c, bytes[c], a[c], b[c], r
    }
    printf "\n"
  }
  END {
    if (n == 0) { print "bench: no results" > "/dev/stderr"; exit 1 }
    table("Throughput, best round, wall clock (MB = 10^6 bytes of JSON body per second):", dg, aj)
    table("Throughput, best round, per CPU second (less sensitive to other load):", dgcpu, ajcpu)
    printf "%-12s %10s %10s %16s %10s %16s\n", "case", "dg us/op", "ajv us/op",
           "dg median MB/s", "ajv median", "ajv no-parse MB/s"
    for (i = 1; i <= n; i++) {
      c = name[i]
      printf "%-12s %10.1f %10.1f %16.1f %10.1f %16.1f\n", c, dgns[c] / 1000, ajns[c] / 1000,
             dgmed[c], ajmed[c], ajvo[c]
    }
    printf "\nTargets (wall clock / CPU time):\n"
    for (i = 1; i <= n; i++) {
      c = name[i]
      printf "  driftgate >= 2x ajv on %-12s %s / %s\n", c,
             ((aj[c] > 0 && dg[c] >= 2 * aj[c]) ? "met" : "NOT met"),
             ((ajcpu[c] > 0 && dgcpu[c] >= 2 * ajcpu[c]) ? "met" : "NOT met")
      if (bytes[c] >= 500000)
        printf "  stretch >= 1000 MB/s on %-11s %s / %s\n", c,
               ((dg[c] >= 1000) ? "met" : "NOT met"), ((dgcpu[c] >= 1000) ? "met" : "NOT met")
    }
  }
' "$tmp/dg.out" "$tmp/ajv.out"
