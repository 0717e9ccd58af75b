#!/usr/bin/env bash
# CLI contract tests for `driftgate validate` and `driftgate lint`: exit
# codes, output formats, located errors, bad input. Scripts call exactly this
# interface, so it is tested as a black box.
set -uo pipefail
DG=${DRIFTGATE:-build/driftgate}
TD=../shared/testdata/openapi
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

PET=$TD/oai-examples/v3.0/petstore.yaml
echo '[{"id":1,"name":"rex"}]' > "$T/ok.json"
echo '[{"id":"1","name":"rex"},{"id":2}]' > "$T/bad.json"
printf '[{"id":1,\n "name": tru}]' > "$T/broken.json"

$DG --help > "$T/o" 2>&1; check "help" 0 $?
contains "help lists validate" "$T/o" "validate"
$DG version > "$T/o" 2>&1; check "version" 0 $?
contains "version" "$T/o" "driftgate "
$DG validate --help > "$T/o" 2>&1; check "validate --help" 0 $?
contains "validate --help" "$T/o" "--operation"
$DG lint --help > "$T/o" 2>&1; check "lint --help" 0 $?
$DG frobnicate > "$T/o" 2>&1; check "unknown command" 2 $?

$DG validate --spec $PET --operation listPets "$T/ok.json" > "$T/o" 2>&1; check "valid body" 0 $?
contains "valid body" "$T/o" "ok.json: valid"
$DG validate --spec $PET --method GET --path /v1/pets "$T/ok.json" > "$T/o" 2>&1; check "method+path" 0 $?
$DG validate --spec $PET --operation listPets "$T/bad.json" > "$T/o" 2>&1; check "invalid body" 1 $?
contains "invalid body pointer" "$T/o" "/0/id: type"
contains "invalid body required" "$T/o" "/1: required"
$DG validate --spec $PET --operation listPets "$T/ok.json" "$T/bad.json" > "$T/o" 2>&1; check "any invalid" 1 $?

$DG validate --spec $PET --operation listPets --format json "$T/bad.json" > "$T/o" 2>&1; check "json format" 1 $?
n=$((n + 1))
if ! python3 - "$T/o" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(lines) == 2, lines
for l in lines:
    for k in ("file", "instance_pointer", "schema_pointer", "kind", "message"):
        assert k in l, (k, l)
assert lines[0]["instance_pointer"] == "/0/id" and lines[0]["kind"] == "type"
assert "value" not in lines[0], "raw values only with --include-values"
PY
then echo "FAIL json format fields"; fail=$((fail + 1)); fi
$DG validate --spec $PET --operation listPets --format json --include-values "$T/bad.json" > "$T/o" 2>&1
contains "include-values" "$T/o" '"value":"\"1\""'

cat "$T/bad.json" | $DG validate --spec $PET --operation listPets - > "$T/o" 2>&1; check "stdin" 1 $?
contains "stdin name" "$T/o" "-: invalid"

$DG validate --spec $PET --operation listPets "$T/broken.json" > "$T/o" 2>&1; check "malformed body" 1 $?
contains "malformed located" "$T/o" "line 2 column"
echo '{"code":418,"message":"teapot"}' > "$T/err.json"
$DG validate --spec $PET --operation listPets --status 418 "$T/err.json" > "$T/o" 2>&1; check "status via default" 0 $?
$DG validate --spec $PET --operation listPets --status 418 "$T/ok.json" > "$T/o" 2>&1; check "default response schema applies" 1 $?
XK=$TD/real-world/apis-guru/xkcd.com/1.0.0/openapi.yaml
$DG validate --spec $XK --method GET --path /info.0.json --status 404 "$T/ok.json" > "$T/o" 2>&1; check "undocumented status" 1 $?
contains "undocumented status kind" "$T/o" "undocumented_status"
$DG validate --spec $PET --operation listPets --content-type text/html "$T/ok.json" > "$T/o" 2>&1; check "undocumented media" 1 $?
contains "undocumented media kind" "$T/o" "content_type"
$DG validate --spec $PET --operation createPets --status 201 "$T/ok.json" > "$T/o" 2>&1; check "body where none documented" 1 $?

$DG validate --spec $PET --operation nope "$T/ok.json" > "$T/o" 2>&1; check "unknown operation" 2 $?
contains "unknown operation msg" "$T/o" "no operation with operationId"
$DG validate --spec $PET --operation listPets "$T/missing.json" > "$T/o" 2>&1; check "missing body file" 2 $?
$DG validate --spec "$T/missing.yaml" --operation x "$T/ok.json" > "$T/o" 2>&1; check "missing spec" 2 $?
$DG validate --operation listPets "$T/ok.json" > "$T/o" 2>&1; check "usage" 2 $?
$DG validate --spec $PET --operation listPets --status 99 "$T/ok.json" > "$T/o" 2>&1; check "bad status" 2 $?

# --schema mode and dialects
echo '{"type":"object","properties":{"n":{"type":"integer","maximum":5}},"required":["n"]}' > "$T/s.json"
echo '{"n":6}' > "$T/i.json"
$DG validate --schema "$T/s.json" "$T/i.json" > "$T/o" 2>&1; check "schema mode invalid" 1 $?
contains "schema mode bound" "$T/o" "/n: bounds"
echo '{"n":5}' > "$T/i2.json"
$DG validate --schema "$T/s.json" --dialect draft4 "$T/i2.json" > "$T/o" 2>&1; check "schema mode valid" 0 $?
$DG validate --schema "$T/s.json" --dialect nonsense "$T/i2.json" > "$T/o" 2>&1; check "bad dialect" 2 $?

# broken specs: located errors, exit 2
printf 'openapi: 3.0.3\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get:\n      responses:\n        "200":\n          description: x\n          content:\n            application/json:\n              schema: {$ref: "#/components/schemas/Nope"}\n' > "$T/brokenref.yaml"
$DG validate --spec "$T/brokenref.yaml" --method GET --path /a "$T/ok.json" > "$T/o" 2>&1; check "broken ref spec" 2 $?
contains "broken ref located" "$T/o" "brokenref.yaml:11:"
printf 'openapi: 3.0.3\npaths: [\n' > "$T/syntax.yaml"
$DG lint "$T/syntax.yaml" > "$T/o" 2>&1; check "lint syntax error" 2 $?
contains "lint syntax located" "$T/o" "syntax.yaml:"
$DG lint "$T/brokenref.yaml" > "$T/o" 2>&1; check "lint finds broken ref" 1 $?
contains "lint broken ref" "$T/o" "brokenref.yaml:11:"
$DG lint $TD/real-world/apis-guru/xkcd.com/1.0.0/openapi.yaml > "$T/o" 2>&1; check "lint clean spec" 0 $?
printf 'openapi: 3.0.3\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get:\n      responses:\n        "200":\n          description: x\n          content:\n            application/json:\n              schema: {type: string, pattern: "(a+"}\n' > "$T/badre.yaml"
$DG lint "$T/badre.yaml" > "$T/o" 2>&1; check "lint bad regex" 1 $?
contains "lint bad regex msg" "$T/o" "pattern"

# a $ref cycle that never descends into the value: refused at load, located
printf 'openapi: 3.0.0\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get:\n      responses:\n        "200":\n          description: c\n          content: {application/json: {schema: {$ref: "#/components/schemas/A"}}}\ncomponents:\n  schemas:\n    A: {$ref: "#/components/schemas/B"}\n    B: {$ref: "#/components/schemas/A"}\n' > "$T/cycle.yaml"
timeout 20 $DG validate --spec "$T/cycle.yaml" --method GET --path /a "$T/ok.json" > "$T/o" 2>&1; check "ref cycle" 2 $?
contains "ref cycle located" "$T/o" "cycle.yaml:12:"

# a $ref to a device is refused without reading (or blocking)
printf '{"$ref":"/dev/zero#/x"}' > "$T/devref.json"
timeout 20 $DG validate --schema "$T/devref.json" "$T/ok.json" > "$T/o" 2>&1; check "ref to a device" 2 $?
contains "ref to a device message" "$T/o" "not a regular file"

# catastrophic regex: a located pattern finding, not a hang
printf '{"type":"string","pattern":"^(a+)+$"}' > "$T/evil.json"
python3 -c 'import json; print(json.dumps("a"*40 + "!"))' > "$T/evil_i.json"
timeout 20 $DG validate --schema "$T/evil.json" "$T/evil_i.json" > "$T/o" 2>&1; check "catastrophic regex" 1 $?
contains "catastrophic regex kind" "$T/o" "pattern"

# remote refs only through --ref-map
printf '{"$ref":"https://schemas.example.com/item.json"}' > "$T/remote.json"
printf '{"type":"integer"}' > "$T/item.json"
echo '"x"' > "$T/str.json"
$DG validate --schema "$T/remote.json" "$T/str.json" > "$T/o" 2>&1; check "remote ref without map" 2 $?
contains "remote ref hint" "$T/o" "--ref-map"
$DG validate --schema "$T/remote.json" --ref-map "https://schemas.example.com/=$T/" "$T/str.json" > "$T/o" 2>&1; check "remote ref mapped" 1 $?

# 100,000-deep nesting and huge numbers
python3 -c 'print("["*100000)' > "$T/deep.json"
$DG validate --schema "$T/s.json" "$T/deep.json" > "$T/o" 2>&1; check "deep nesting" 1 $?
contains "deep nesting msg" "$T/o" "depth"
echo '{"n":1e999999999}' > "$T/hugenum.json"
$DG validate --schema "$T/s.json" "$T/hugenum.json" > "$T/o" 2>&1; check "huge number" 1 $?

if [ -x tests/cli/rss_200mb.sh ]; then
    DRIFTGATE=$DG tests/cli/rss_200mb.sh || { echo "FAIL rss_200mb"; fail=$((fail + 1)); }
fi

if ! DRIFTGATE=$DG tests/cli/check_config.sh; then echo "FAIL check_config.sh"; fail=$((fail + 1)); fi
n=$((n + 1))

if ! DRIFTGATE=$DG tests/cli/replay.sh; then echo "FAIL replay.sh"; fail=$((fail + 1)); fi
n=$((n + 1))

echo "cli tests: $((n - fail))/$n passed"
[ $fail -eq 0 ]
