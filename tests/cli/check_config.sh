#!/usr/bin/env bash
# CLI contract tests for `driftgate check-config`: exit codes (0 fine, 1
# problems, 2 usage), the file:line:col: pointer: message lines on stderr,
# and the one-line summary. Run from the repository root; DRIFTGATE names
# the binary (default build/driftgate).
set -uo pipefail
DG=${DRIFTGATE:-build/driftgate}
EX=policies/examples
PET=$(cd "$EX/specs" && pwd)/petstore.yaml
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/lib.sh"

$DG check-config --help > "$T/o" 2>&1; check "help" 0 $?
contains "help" "$T/o" "usage: driftgate check-config"
$DG check-config > "$T/o" 2>&1; check "no file" 2 $?
$DG check-config a.yaml b.yaml > "$T/o" 2>&1; check "two files" 2 $?
$DG check-config --frobnicate x.yaml > "$T/o" 2>&1; check "unknown option" 2 $?

# every example passes, with a summary on stdout; --quiet prints nothing
for f in staging-sidecar third-party report-only; do
    $DG check-config "$EX/$f.yaml" > "$T/o" 2>&1; check "example $f" 0 $?
    contains "example $f summary" "$T/o" "$EX/$f.yaml: ok:"
done
contains "listeners" "$T/o" "3 APIs, 3 specs; listeners: 0.0.0.0:8080 (pets, inventory, payments-sandbox); admin 127.0.0.1:9090"
$DG check-config --quiet "$EX/third-party.yaml" > "$T/o" 2>&1; check "quiet" 0 $?
n=$((n + 1))
if [ -s "$T/o" ]; then echo "FAIL quiet printed: $(cat "$T/o")"; fail=$((fail + 1)); fi

# a typo'd key: located at the key, with a suggestion
cat > "$T/typo.yaml" <<YAML
version: 1
apis:
  - name: pets
    spec: $PET
    upstrem: http://127.0.0.1:3000
YAML
$DG check-config "$T/typo.yaml" > "$T/o" 2>&1; check "typo" 1 $?
contains "typo located" "$T/o" "typo.yaml:5:5: /apis/0/upstrem: unknown key \"upstrem\" (did you mean \"upstream\"?)"

# a missing spec file, relative to the config's directory
printf 'version: 1\napis:\n  - name: pets\n    spec: specs/nope.yaml\n    upstream: http://h\n' > "$T/nospec.yaml"
$DG check-config "$T/nospec.yaml" > "$T/o" 2>&1; check "missing spec" 1 $?
contains "missing spec located" "$T/o" "nospec.yaml:4:11: /apis/0/spec: spec file \"$T/specs/nope.yaml\" does not exist"

# several errors in one run, values quoted, enum listed
printf 'version: 1\nadmin: 127.0.0.1:8080\napis:\n  - name: pets\n    spec: %s\n    upstream: ftp://h\n    policy: {mode: enforced}\n' "$PET" > "$T/multi.yaml"
$DG check-config "$T/multi.yaml" > "$T/o" 2>&1; check "schema error" 1 $?
contains "enum listed" "$T/o" "multi.yaml:7:20: /apis/0/policy/mode: \"enforced\" is not one of the allowed values (off, monitor, enforce)"
sed -i 's/enforced/enforce/' "$T/multi.yaml"
$DG check-config "$T/multi.yaml" > "$T/o" 2>&1; check "semantic errors" 1 $?
contains "bad upstream" "$T/o" "multi.yaml:6:15: /apis/0/upstream: upstream URL \"ftp://h\" must start with http:// or https://"
contains "admin clash" "$T/o" "multi.yaml:2:8: /admin: the admin listener 127.0.0.1:8080 must differ"

# a broken spec is reported with the spec's own location
sed 's/type: integer, format: int64, minimum: 1}/type: integr, minimum: 1}/' "$PET" > "$T/broken.yaml"
printf 'version: 1\napis:\n  - name: pets\n    spec: broken.yaml\n    upstream: http://h\n' > "$T/brokenspec.yaml"
$DG check-config "$T/brokenspec.yaml" > "$T/o" 2>&1; check "broken spec" 1 $?
contains "broken spec located" "$T/o" "broken.yaml:"
contains "broken spec names the API" "$T/o" "(spec of API \"pets\")"

# an override naming no operation of the spec
printf 'version: 1\napis:\n  - name: pets\n    spec: %s\n    upstream: http://h\n    operations:\n      listPet: {mode: enforce}\n' "$PET" > "$T/op.yaml"
$DG check-config "$T/op.yaml" > "$T/o" 2>&1; check "unknown operation" 1 $?
contains "unknown operation located" "$T/o" "op.yaml:7:16: /apis/0/operations/listPet: no operation \"listPet\" in the API's spec (did you mean \"listPets\"?)"

# unreadable / malformed files
$DG check-config "$T/absent.yaml" > "$T/o" 2>&1; check "absent file" 1 $?
contains "absent file" "$T/o" "absent.yaml: cannot open"
printf 'version: 1\napis: [\n' > "$T/syntax.yaml"
$DG check-config "$T/syntax.yaml" > "$T/o" 2>&1; check "yaml syntax" 1 $?
contains "yaml syntax located" "$T/o" "syntax.yaml:"
$DG check-config /dev/null > "$T/o" 2>&1; check "device" 1 $?

echo "check-config tests: $((n - fail))/$n passed"
[ $fail -eq 0 ]
