#!/usr/bin/env bash
# tests/dashboards/run.sh [DRIFTGATE_BINARY]: checks dashboards/.
#   (a) promtool check rules dashboards/prometheus/rules.yml
#   (b) promtool test rules dashboards/prometheus/rules_test.yml, and the same
#       tests against a copy of the rules with a wrong threshold must fail
#   (c) the Grafana dashboard's structure (check_dashboard.py --self-test)
#   (d) every dashboard and rule expression against a real Prometheus scraping
#       a real driftgate behind nginx (integration.py), bounded by timeout
# Needs promtool, prometheus, nginx, python3 (scripts/deps.sh installs them).
# Exit status 0 when everything passed, 1 otherwise.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
DG=${1:-$top/build/driftgate}
RULES=$top/dashboards/prometheus/rules.yml
RULES_TEST=$top/dashboards/prometheus/rules_test.yml
DASH=$top/dashboards/grafana/driftgate.json
export PYTHONDONTWRITEBYTECODE=1

fails=0
step() {   # step NAME CMD...: runs CMD, shows its output indented as it comes, then ok/FAIL
    local name=$1; shift
    local rc
    "$@" 2>&1 | sed -u 's/^/    /'
    rc=${PIPESTATUS[0]}
    if [ "$rc" -eq 0 ]; then echo "ok - $name"; else echo "FAIL - $name (exit $rc)"; fails=$((fails + 1)); fi
}

for tool in promtool prometheus nginx python3 timeout; do
    command -v $tool >/dev/null || { echo "FAIL - $tool not found (scripts/deps.sh installs it)"; exit 1; }
done
[ -x "$DG" ] || { echo "FAIL - $DG is not an executable driftgate (make)"; exit 1; }

echo "# (a) rules syntax"
step "promtool check rules dashboards/prometheus/rules.yml" promtool check rules "$RULES"

echo "# (b) rules unit tests"
step "promtool test rules dashboards/prometheus/rules_test.yml" timeout 60 promtool test rules "$RULES_TEST"
broken=$(mktemp -d "${TMPDIR:-/tmp}/dg-rules-broken.XXXXXX")
trap 'rm -rf "$broken"' EXIT
sed 's/driftgate:invalid_ratio:rate5m > 0.05/driftgate:invalid_ratio:rate5m > 0.15/' "$RULES" >"$broken/rules.yml"
cp "$RULES_TEST" "$broken/"
if cmp -s "$RULES" "$broken/rules.yml"; then
    echo "FAIL - negative control: could not break the copy of rules.yml"; fails=$((fails + 1))
elif timeout 60 promtool test rules "$broken/rules_test.yml" >"$broken/out" 2>&1; then
    echo "FAIL - negative control: the unit tests pass with the invalid-ratio threshold at 15%"; fails=$((fails + 1))
else
    echo "ok - negative control: the unit tests fail with the invalid-ratio threshold at 15% ($(grep -m1 -o 'alertname: [A-Za-z]*' "$broken/out"))"
fi

echo "# (c) dashboard structure"
step "dashboard JSON structure, variables, datasource, metric names" \
    python3 "$here/check_dashboard.py" --self-test "$DASH" "$RULES" "$top"

echo "# (d) dashboard and rules against Prometheus + driftgate"
step "integration: every expression against a real Prometheus" \
    timeout -k 5 80 python3 "$here/integration.py" "$DG" "$DASH" "$RULES"

if [ $fails -eq 0 ]; then echo "dashboards: all passed"; else echo "dashboards: $fails step(s) failed"; fi
[ $fails -eq 0 ]
