#!/usr/bin/env bash
# CLI contract tests for `driftgate replay`: exit codes, summary numbers,
# violation lines, broken entries with their location, the anomalies file,
# and the drift store it writes (checked with the sqlite3 CLI: fingerprints
# are deduplicated, counts add up across runs). Run from the repository
# root; DRIFTGATE names the binary (default build/driftgate).
set -uo pipefail
DG=${DRIFTGATE:-build/driftgate}
FX=tests/cli/fixtures/replay
SHOP=tests/integration/fixtures/shop.yaml
T=$(mktemp -d)
FAKE=
trap '[ -n "$FAKE" ] && kill "$FAKE" 2>/dev/null; rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

sql() { sqlite3 "$1" "$2" 2>&1; }

# ---- usage
$DG replay --help > "$T/o" 2>&1; check "help" 0 $?
contains "help" "$T/o" "usage: driftgate replay"
contains "help names --store" "$T/o" "--store FILE"
$DG replay > "$T/o" 2>&1; check "no arguments" 2 $?
$DG replay --spec $SHOP > "$T/o" 2>&1; check "no file" 2 $?
$DG replay --spec $SHOP --config $FX/replay.yaml $FX/shop.jsonl > "$T/o" 2>&1; check "spec and config" 2 $?
$DG replay --config $FX/replay.yaml --upstream-host x $FX/shop.jsonl > "$T/o" 2>&1
check "upstream-host needs --spec" 2 $?
$DG replay --spec $SHOP --frobnicate $FX/shop.jsonl > "$T/o" 2>&1; check "unknown option" 2 $?
$DG replay --spec $SHOP --format yaml $FX/shop.jsonl > "$T/o" 2>&1; check "bad format" 2 $?
$DG replay --spec "$T/missing.yaml" $FX/shop.jsonl > "$T/o" 2>&1; check "missing spec" 2 $?
$DG replay --config $FX/replay.yaml --api nope $FX/mixed.jsonl > "$T/o" 2>&1; check "unknown --api" 2 $?
contains "unknown --api names the APIs" "$T/o" "shop, partner"
$DG replay --spec $SHOP "$T/missing.jsonl" > "$T/o" 2>&1; check "missing capture" 2 $?
contains "missing capture named" "$T/o" "missing.jsonl"

# ---- JSON lines (quick start): valid, drifted, gzip, deflate, ndjson, undocumented
# status, media type, no operation, broken lines, corrupt gzip
$DG replay --spec $SHOP $FX/shop.jsonl > "$T/o" 2>&1; check "jsonl: invalid entries" 1 $?
contains "jsonl summary" "$T/o" "replay: read 13, validated 9, valid 4, invalid 4, error 1, skipped 1, unrouted 1, broken 2"
contains "jsonl skipped by reason" "$T/o" "skipped: media_type 1"
contains "jsonl unrouted by reason" "$T/o" "unrouted: no_operation 1"
contains "jsonl errors by reason" "$T/o" "error: bad_encoding 1"
contains "jsonl anomalies" "$T/o" "anomalies: 5 (error 5, info 0), drifts 5"
contains "jsonl invalid line" "$T/o" "shop.jsonl line 2: GET /items/2 -> 200 (shop getItem): invalid, 2 violations"
contains "jsonl type violation" "$T/o" "  /price: type: expected number, got string"
contains "jsonl enum violation" "$T/o" "  /currency: enum: value is not one of the enum values"
contains "jsonl gzip drift found" "$T/o" "  /1: required: missing required property \"sku\""
contains "jsonl ndjson item pointer" "$T/o" "  /1/type: enum:"
contains "jsonl undocumented status" "$T/o" "  /: undocumented_status: status 503 is not documented for getItem"
contains "jsonl broken not json located" "$T/o" "broken: $FX/shop.jsonl:9:"
contains "jsonl broken status located" "$T/o" "broken: $FX/shop.jsonl:10:1: at /status:"
contains "jsonl corrupt gzip" "$T/o" "line 11: GET /items/4 -> 200 (shop getItem): error (bad_encoding)"
lacks "no raw values by default" "$T/o" "value="
lacks "no raw values by default (CHF)" "$T/o" "CHF"
lacks "valid lines not listed" "$T/o" "line 1:"

# ---- HAR: base64 text, unrouted host, body not recorded, broken entry, decoded gzip, aborted
$DG replay --spec $SHOP --upstream-host shop.example $FX/shop.har > "$T/o" 2>&1; check "har: invalid" 1 $?
contains "har summary" "$T/o" "replay: read 7, validated 3, valid 2, invalid 1, error 0, skipped 2, unrouted 1, broken 1"
contains "har skipped" "$T/o" "skipped: body_not_recorded 1, no_response 1"
contains "har unrouted host" "$T/o" "unrouted: no_api 1"
contains "har base64 drift" "$T/o" "shop.har entries[1]: GET /items/2 -> 200 (shop getItem): invalid, 1 violation"
contains "har broken located" "$T/o" "broken: $FX/shop.har: at /log/entries/4/response/status:"
$DG replay --spec $SHOP --upstream-host SHOP.example:443 -v $FX/shop.har > "$T/o" 2>&1; check "har: host case, port" 1 $?
contains "har verbose valid" "$T/o" "shop.har entries[5]: GET /items/5 -> 200 (shop getItem): valid"
contains "har verbose unrouted" "$T/o" "shop.har entries[2]: GET /logo.png -> 200: unrouted (no_api)"
contains "har verbose body not recorded" "$T/o" "entries[3]: GET /items/3 -> 200 (shop getItem): skipped (body_not_recorded)"

# ---- config: prefix + strip, host match, third-party info, ignore rule, mode off,
# include_values with redaction
$DG replay --config $FX/replay.yaml $FX/mixed.jsonl > "$T/o" 2>&1; check "config: invalid" 1 $?
contains "config summary" "$T/o" "replay: read 8, validated 5, valid 2, invalid 3, error 0, skipped 2, unrouted 1, broken 0"
contains "config info drift" "$T/o" "anomalies: 5 (error 3, info 2), drifts 5; 1 valid exchange with info-level drift"
contains "config skipped" "$T/o" "skipped: mode_off 1, undocumented_status 1"
contains "config include_values" "$T/o" "  /price: type: expected number, got string value=\"12.50\""
contains "config redacted pointer listed" "$T/o" "  /supplier/email: format:"
lacks "config redacted value hidden" "$T/o" "not-an-email"
contains "config strict extra field" "$T/o" "mixed.jsonl line 8: GET /shop/items/8 -> 200 (shop getItem): invalid, 1 violation"
lacks "config ignore rule" "$T/o" "line 3:"
# --api forces every exchange to one API (the prefix is stripped only where present)
$DG replay --config $FX/replay.yaml --api partner $FX/mixed.jsonl > "$T/o" 2>&1; check "--api" 0 $?
contains "--api routes everything" "$T/o" "read 8, validated 1, valid 1, invalid 0, error 0, skipped 1, unrouted 6"
contains "--api: /shop/... has no operation in partner" "$T/o" "unrouted: no_operation 6"

# ---- APIs on their own listeners: host:port names the listener; else the one
# API whose spec has the operation; else ambiguous
ITEM='{"id":1,"sku":"ABC-1234","name":"n","price":1,"currency":"EUR","status":"available","created_at":"2026-01-02T03:04:05Z","tags":[]}'
{
    printf '{"method":"GET","url":"http://127.0.0.1:18082/items/1","status":200,"body":%s}\n' "$ITEM"
    printf '{"method":"GET","url":"/items/1","status":200,"headers":{"Content-Type":"application/json"},"body":%s}\n' "$ITEM"
    printf '{"method":"GET","url":"/v1/pets","status":200,"headers":{"Content-Type":"application/json"},"body":[]}\n'
    printf '{"method":"GET","url":"/nothing","status":200}\n'
} > "$T/listeners.jsonl"
$DG replay --config $FX/listeners.yaml -v "$T/listeners.jsonl" > "$T/o" 2>&1; check "listeners" 0 $?
contains "listener from host:port" "$T/o" "line 1: GET /items/1 -> 200 (pets): unrouted (no_operation)"
contains "the API with the operation" "$T/o" "line 2: GET /items/1 -> 200 (shop getItem): valid"
contains "the other API with the operation" "$T/o" "line 3: GET /v1/pets -> 200 (pets listPets): valid"
contains "ambiguous" "$T/o" "line 4: GET /nothing -> 200: unrouted (ambiguous: APIs on different listeners match: shop pets (use --api))"

# ---- info-only drift is not invalid: exit 0
grep -iF 'api.partner' $FX/mixed.jsonl > "$T/info.jsonl"
$DG replay --config $FX/replay.yaml "$T/info.jsonl" > "$T/o" 2>&1; check "info only: exit 0" 0 $?
contains "info only counted" "$T/o" "anomalies: 2 (error 0, info 2)"

# ---- --format json: every line parses; invalid and broken entries, then a summary
$DG replay --spec $SHOP --format json $FX/shop.jsonl > "$T/o" 2>"$T/e"; check "json format" 1 $?
n=$((n + 1))
if ! python3 - "$T/o" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
s = lines[-1]["summary"]
assert (s["read"], s["valid"], s["invalid"], s["broken"], s["drifts"]) == (13, 4, 4, 2, 5), s
assert s["skipped_by_reason"] == {"media_type": 1}, s
by = {l["location"]: l for l in lines[:-1]}
assert by["line 2"]["violations"][0]["pointer"] == "/price", by["line 2"]
assert by["line 2"]["violations"][0]["kind"] == "type"
assert "value" not in by["line 2"]["violations"][0]
assert by["line 9"]["result"] == "broken" and "shop.jsonl:9:" in by["line 9"]["error"]
assert by["line 11"]["reason"] == "bad_encoding"
PY
then echo "FAIL json format fields"; fail=$((fail + 1)); fi

# ---- broken entries never abort; all broken = exit 2; empty = exit 0
printf 'nope\n{"method":"GET"}\n' > "$T/allbroken.jsonl"
$DG replay --spec $SHOP "$T/allbroken.jsonl" > "$T/o" 2>&1; check "every entry broken" 2 $?
contains "all broken counted" "$T/o" "broken 2"
: > "$T/empty.jsonl"
$DG replay --spec $SHOP "$T/empty.jsonl" > "$T/o" 2>&1; check "empty capture" 0 $?
contains "empty capture warns" "$T/o" "no entries"
printf '{"method":"GET","url":"/items/1","status":200,"headers":{"Content-Type":"application/json"},"body":{"id":1,"sku":"ABC-1234","name":"n","price":1,"currency":"EUR","status":"available","created_at":"2026-01-02T03:04:05Z","tags":[]}}\n' > "$T/one.jsonl"
$DG replay --spec $SHOP "$T/one.jsonl" > "$T/o" 2>&1; check "one valid exchange" 0 $?
cat "$T/one.jsonl" | $DG replay --spec $SHOP - > "$T/o" 2>&1; check "stdin" 0 $?
contains "stdin read" "$T/o" "read 1, validated 1, valid 1"
python3 -c 'print("{\"method\":\"GET\",\"url\":\"/items/1\",\"status\":200,\"body\":\"" + "x"*5000 + "\"}")' > "$T/long.jsonl"
cat "$T/one.jsonl" >> "$T/long.jsonl"
$DG replay --spec $SHOP --max-bytes 4KiB "$T/long.jsonl" > "$T/o" 2>&1; check "line over --max-bytes" 0 $?
contains "long line broken, next read" "$T/o" "read 2, validated 1, valid 1, invalid 0, error 0, skipped 0, unrouted 0, broken 1"
contains "long line located" "$T/o" "long.jsonl:1:1: line longer than the limit of 4096 bytes"

# ---- the anomalies file, and the drift store
DB="$T/drift.db"
$DG replay --spec $SHOP --store "$DB" --anomalies "$T/anom.jsonl" $FX/shop.jsonl > "$T/o" 2>&1
check "store: first run" 1 $?
contains "store written" "$T/o" "store: $DB: 5 drifts written (5 new)"
same "anomalies file lines" 5 "$(wc -l < "$T/anom.jsonl")"
contains "anomaly carries the capture's time" "$T/anom.jsonl" '"ts":"2026-11-20T10:00:01.000Z"'
contains "anomaly carries its location" "$T/anom.jsonl" '"request_id":"tests/cli/fixtures/replay/shop.jsonl:line 2"'
same "store fingerprints" "5|5" "$(sql "$DB" 'select count(*), sum(count) from drifts')"
same "store keeps the capture's time" "1795168801000" \
    "$(sql "$DB" "select min(first_seen_ms) from drifts")"
$DG replay --spec $SHOP --store "$DB" $FX/shop.jsonl > "$T/o" 2>&1; check "store: second run" 1 $?
contains "second run: nothing new" "$T/o" "5 drifts written (0 new)"
same "twice: counts double, fingerprints do not" "5|10" \
    "$(sql "$DB" 'select count(*), sum(count) from drifts')"
# the anomalies file replayed: the same drifts again (ingested as is)
$DG replay --spec $SHOP --store "$DB" "$T/anom.jsonl" > "$T/o" 2>&1; check "anomaly lines: error drift" 1 $?
contains "anomaly lines counted" "$T/o" "anomaly lines 5"
same "anomaly lines: same fingerprints" "5|15" \
    "$(sql "$DB" 'select count(*), sum(count) from drifts')"
# an unwritable store: exit 2
$DG replay --spec $SHOP --store "$T/nodir/x.db" $FX/shop.jsonl > "$T/o" 2>&1; check "bad store path" 2 $?

# ---- 10,000 violations of 12 distinct drifts: exactly 12 fingerprints
python3 - "$T/many.jsonl" <<'PY'
import json, sys
base = {"id": 1, "sku": "ABC-1234", "name": "Lamp", "price": 1.5, "currency": "EUR",
        "status": "available", "created_at": "2026-01-02T03:04:05Z", "tags": []}
def bad(k):  # one violation each, twelve kinds/places
    b = dict(base)
    if k == 0: b["price"] = "1.5"                       # type
    if k == 1: b["price"] = -1                          # bounds
    if k == 2: b["currency"] = "CHF"                    # enum
    if k == 3: b["status"] = "lost"                     # enum, elsewhere
    if k == 4: b["sku"] = "abc"                         # pattern
    if k == 5: del b["name"]                            # required
    return b
out = open(sys.argv[1], "w")
for i in range(10000):
    k = i % 12
    day = "2026-11-%02d" % (10 + i % 5)
    if k < 6:   # getItem
        body, url = bad(k), "/items/%d" % i
    else:       # listItems: the bad item at a varying index (normalised to /*)
        items = [dict(base) for _ in range(i % 4)] + [bad(k - 6)]
        body, url = items, "/items?n=%d" % i
    out.write(json.dumps({"ts": day + "T12:00:00Z", "method": "GET", "url": url, "status": 200,
                          "headers": {"Content-Type": "application/json"}, "body": body}) + "\n")
PY
MDB="$T/many.db"
$DG replay --spec $SHOP --store "$MDB" "$T/many.jsonl" > "$T/o" 2>&1; check "10,000 violations" 1 $?
contains "10,000 anomalies" "$T/o" "anomalies: 10000 (error 10000, info 0), drifts 12"
same "12 fingerprints" "12|10000" "$(sql "$MDB" 'select count(*), sum(count) from drifts')"
same "daily counts kept" "5" "$(sql "$MDB" 'select count(distinct day) from daily_counts')"

# ---- ... explained with at most ceil(12/N) model requests (N = batch_size = 5),
# each drift once: `driftgate explain` against the fake Gemini API, three runs
# of one batch each explain all 12, a fourth has nothing left to send.
python3 tests/fakes/gemini.py --port 0 > "$T/fake.out" 2> "$T/fake.err" &
FAKE=$!
for _ in $(seq 1 100); do grep -q '^PORT ' "$T/fake.out" 2>/dev/null && break; sleep 0.1; done
FPORT=$(awk '/^PORT /{print $2}' "$T/fake.out")
python3 - "$MDB" "$FPORT" <<'PY'
import json, sqlite3, sys, urllib.request
rows = sqlite3.connect(sys.argv[1]).execute("select fingerprint from drifts").fetchall()
ans = {"explanations": [{"fingerprint": fp, "classification": "provider_type_change", "cause": "c",
                         "evidence": "e", "severity": "low", "confidence": 0.5, "patch": []} for (fp,) in rows]}
req = urllib.request.Request("http://127.0.0.1:%s/_fake/config" % sys.argv[2], method="POST",
                             data=json.dumps({"answer": json.dumps(ans), "api_key": "k-12"}).encode())
urllib.request.urlopen(req, timeout=5).read()
PY
printf 'version: 1\nexplain:\n  backend: gemini\n  endpoint: http://127.0.0.1:%s\n  api_key_env: DG_REPLAY_KEY\n  batch_size: 5\n  requests_per_minute: 0\napis:\n  - name: shop\n    spec: %s\n    upstream: http://127.0.0.1:9\n' \
    "$FPORT" "$PWD/$SHOP" > "$T/explain.yaml"
for run in 1 2 3; do
    DG_REPLAY_KEY=k-12 $DG explain --config "$T/explain.yaml" --store "$MDB" > "$T/o" 2>&1
    check "explain run $run" 0 $?
    if [ $run = 3 ]; then want=2; else want=5; fi
    contains "explain run $run: one request of $want" "$T/o" "1 request, $want drifts explained"
done
DG_REPLAY_KEY=k-12 $DG explain --config "$T/explain.yaml" --store "$MDB" > "$T/o" 2>&1
check "explain run 4" 0 $?
contains "explain run 4: nothing left" "$T/o" "0 requests, 0 drifts"
same "3 model requests for 12 drifts (ceil(12/5))" "3" \
    "$(curl -s "http://127.0.0.1:$FPORT/_fake/requests" | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["method"] == "POST"))')"
same "12 model explanations, none twice" "12|12" \
    "$(sql "$MDB" "select count(*), count(distinct fingerprint) from explanations where source = 'model'")"
DG_REPLAY_KEY=k-12 $DG explain --config "$T/explain.yaml" --store "$MDB" --dry-run > "$T/o" 2>&1
check "explain --dry-run" 0 $?
contains "dry run: nothing pending" "$T/o" "no drift waiting"
kill "$FAKE" 2>/dev/null; wait "$FAKE" 2>/dev/null; FAKE=

echo "replay tests: $((n - fail))/$n passed"
[ $fail -eq 0 ]
