#!/usr/bin/env bash
# tests/report/run.sh DRIFTGATE_BINARY: `driftgate report` end to end.
#
# 1. The unit test report_e2e::fixture_store writes a drift store (drifts of
#    the last 7 days, explanations from a "model" and the heuristic, a
#    <script> in a cause and in an example value) to $REPORT_STORE_OUT.
#    TEST_REPORT names that test binary (default: next to the driftgate
#    binary, BUILD/tests/test_report).
# 2. `driftgate report` writes HTML, Markdown and JSON reports from it; the
#    JSON files are validated with `driftgate validate --schema
#    analyze/report.schema.json`; a second run sees the drift as recurring.
# 3. Usage and I/O errors exit 2 with a message.
# 4. Headless Chromium renders the HTML report: a screenshot is kept under
#    the artifacts directory (printed at the end), the DOM must hold the
#    summary table, and the browser log must show no console message, no
#    CSP violation and no uncaught error. A control page that breaks the
#    CSP on purpose must be caught, so that a silent log cannot pass.
#
# Run from the repository root. Bounded: every command has a timeout; every
# browser runs in its own process group, which is killed when it is done.
set -u

DG=${1:?usage: tests/report/run.sh DRIFTGATE_BINARY}
DG=$(cd "$(dirname "$DG")" && pwd)/$(basename "$DG")
BUILD_DIR=$(dirname "$DG")
TEST_REPORT=${TEST_REPORT:-$BUILD_DIR/tests/test_report}
ART=${REPORT_ARTIFACTS:-$BUILD_DIR/report-test}
CHROMIUM=${CHROMIUM:-chromium}

pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

[ -x "$DG" ] || { echo "no driftgate binary at $DG"; exit 2; }
[ -x "$TEST_REPORT" ] || { echo "no $TEST_REPORT (make BUILD=$BUILD_DIR $TEST_REPORT)"; exit 2; }
[ -f analyze/report.schema.json ] || { echo "run from the repository root"; exit 2; }

rm -rf "$ART"
mkdir -p "$ART"
STORE=$ART/drift.db
OUT=$ART/reports

# ---- 1. the fixture store ----
if REPORT_STORE_OUT=$STORE timeout 60 "$TEST_REPORT" --filter 'report_e2e/fixture_store' \
    >"$ART/fixture.log" 2>&1 && [ -s "$STORE" ]; then
  ok "fixture store written ($STORE)"
else
  bad "fixture store (see $ART/fixture.log)"
  cat "$ART/fixture.log"
  exit 1
fi

# ---- 2. reports ----
run_dg() { timeout 60 "$DG" "$@"; }

if run_dg report --help >"$ART/help.txt" 2>&1 && grep -q -- '--per-owner' "$ART/help.txt"; then
  ok "report --help"
else
  bad "report --help"
fi

if run_dg report --store "$STORE" --out "$OUT" --since 7d --per-owner >"$ART/run1.txt" 2>&1; then
  ok "report exits 0"
else
  bad "report exit status $? ($(cat "$ART/run1.txt"))"
fi
for f in petstore payments owner-pets-team owner-unowned owner-billing index; do
  for ext in html md json; do
    [ -s "$OUT/$f.$ext" ] || bad "missing $OUT/$f.$ext"
  done
done
ok "reports and indexes written: $(cd "$OUT" && ls | tr '\n' ' ')"

for j in "$OUT"/*.json; do
  if run_dg validate --schema analyze/report.schema.json "$j" >"$ART/validate.txt" 2>&1; then
    ok "$(basename "$j") matches analyze/report.schema.json"
  else
    bad "$(basename "$j") does not match the schema: $(cat "$ART/validate.txt")"
  fi
done

grep -q '"change": "new"' "$OUT/petstore.json" && ok "first run: drifts are new" \
  || bad "first run: no new drift in petstore.json"
grep -q '&lt;script&gt;' "$OUT/petstore.html" && ! grep -q '<script' "$OUT/petstore.html" \
  && ok "HTML escapes <script> from the store" || bad "HTML escaping"
grep -q 'written by <b>model ollama/gemma4:27b</b>' "$OUT/petstore.html" \
  && ok "HTML names the explanation's author" || bad "explanation author missing"
grep -q "petstore.yaml:[0-9]" "$OUT/petstore.md" && ok "spec location as file:line" \
  || bad "no file:line spec location in petstore.md"

if run_dg report --store "sqlite:$STORE" --out "$OUT" --since 7d --format json >"$ART/run2.txt" 2>&1 \
  && grep -q '"change": "recurring"' "$OUT/petstore.json" \
  && grep -q '"previous_report": {' "$OUT/petstore.json"; then
  ok "second run: drifts are recurring"
else
  bad "second run ($(cat "$ART/run2.txt"))"
fi

if run_dg report --store "$STORE" --out "$ART/dry" --since 7d --api nothing-here --no-save \
  >"$ART/run3.txt" 2>&1 && grep -q 'No drift in this window' "$ART/dry/nothing-here.md"; then
  ok "--no-save, an API without drift: \"no drift in this window\""
else
  bad "--api nothing-here --no-save ($(cat "$ART/run3.txt"))"
fi

# ---- 3. errors ----
expect2() {
  local what=$1 pattern=$2
  shift 2
  run_dg "$@" >"$ART/err.txt" 2>&1
  local rc=$?
  if [ $rc -eq 2 ] && grep -q -- "$pattern" "$ART/err.txt"; then
    ok "$what: exit 2, \"$(head -n1 "$ART/err.txt")\""
  else
    bad "$what: exit $rc, $(cat "$ART/err.txt")"
  fi
}
expect2 "no --store" "--store FILE is required" report --out "$OUT"
expect2 "no --out" "--out DIR is required" report --store "$STORE"
expect2 "bad --since" "--since" report --store "$STORE" --out "$OUT" --since 3x
expect2 "bad --format" "--format" report --store "$STORE" --out "$OUT" --format pdf
expect2 "bad --top" "--top" report --store "$STORE" --out "$OUT" --top 0
expect2 "unknown option" "unknown option" report --store "$STORE" --out "$OUT" --colour
expect2 "missing store" "does not exist" report --store "$ART/nope.db" --out "$OUT"
printf 'this is not a database, just some text that is long enough to look like one.%.0s' $(seq 1 100) \
  >"$ART/corrupt.db"
expect2 "corrupt store" "corrupt.db" report --store "$ART/corrupt.db" --out "$OUT"
expect2 "out dir not writable" "cannot" report --store "$STORE" --out "$STORE/sub" --no-save

# ---- 4. the browser ----
if ! command -v "$CHROMIUM" >/dev/null 2>&1; then
  bad "no $CHROMIUM (scripts/deps.sh installs it)"
else
  # chromium_run LOG ARGS...: one headless browser in its own process
  # group, at most 60 s, then the whole group is killed. A background job
  # of a non-interactive script is not a group leader, so setsid execs the
  # browser in place: $! leads the new session and process group.
  chromium_run() {
    local log=$1
    shift
    setsid "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run --disable-breakpad \
      --disable-crash-reporter \
      --user-data-dir="$ART/chromium-profile" --enable-logging=stderr --v=0 \
      --window-size=1280,2000 "$@" >"$log.out" 2>"$log" &
    local pid=$! waited=0
    while kill -0 "$pid" 2>/dev/null && [ $waited -lt 600 ]; do
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "chromium timed out after 60 s" >>"$log"
    fi
    kill -TERM -- "-$pid" 2>/dev/null
    sleep 0.2
    kill -KILL -- "-$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
  }
  # Console messages, CSP violations and uncaught errors in a browser log.
  page_problems() {
    grep -E 'CONSOLE|Content Security Policy|Refused to|Uncaught|timed out' "$1"
  }

  # control: a page that breaks the CSP must be caught
  cat >"$ART/control.html" <<'EOF'
<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>control</title></head><body><p>control</p><script>console.error("x")</script></body></html>
EOF
  chromium_run "$ART/control.log" --screenshot="$ART/control.png" "file://$ART/control.html"
  if page_problems "$ART/control.log" >/dev/null; then
    ok "control page's CSP violation is detected"
  else
    bad "control page's CSP violation went unnoticed: the log check is blind ($ART/control.log)"
  fi

  for page in petstore index owner-pets-team; do
    chromium_run "$ART/$page.log" --screenshot="$ART/$page.png" "file://$OUT/$page.html"
    if [ -s "$ART/$page.png" ]; then
      ok "$page.html rendered: $ART/$page.png"
    else
      bad "$page.html: no screenshot ($(tail -n3 "$ART/$page.log"))"
    fi
    if page_problems "$ART/$page.log" >"$ART/$page.problems"; then
      bad "$page.html: console/CSP problems: $(cat "$ART/$page.problems")"
    else
      ok "$page.html: no console message, CSP violation or uncaught error"
    fi
    chromium_run "$ART/$page.dom.log" --dump-dom "file://$OUT/$page.html"
    mv "$ART/$page.dom.log.out" "$ART/$page.dom.html"
    if grep -q '<table id="summary" class="summary">' "$ART/$page.dom.html"; then
      ok "$page.html: summary table in the DOM"
    else
      bad "$page.html: no summary table in the DOM ($ART/$page.dom.html)"
    fi
    if page_problems "$ART/$page.dom.log" >"$ART/$page.problems"; then
      bad "$page.html (dump-dom): $(cat "$ART/$page.problems")"
    fi
  done
  grep -q '<section class="drift"' "$ART/petstore.dom.html" && grep -q '<svg class="spark"' \
    "$ART/petstore.dom.html" && ok "petstore.html: drift sections and sparklines in the DOM" \
    || bad "petstore.html: drift sections or sparklines missing from the DOM"
  rm -rf "$ART/chromium-profile"
fi

echo
echo "report tests: $pass passed, $fail failed; artifacts in $ART (screenshot: $ART/petstore.png)"
[ $fail -eq 0 ]
