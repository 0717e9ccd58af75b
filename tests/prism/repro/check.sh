#!/usr/bin/env bash
# Runs each driftgate bug reproduction found by the Prism false-positive check
# and prints driftgate's verdict next to the expected one and ajv's.
#   tests/prism/repro/check.sh [DRIFTGATE]     exit 0 when driftgate gives every expected verdict
set -uo pipefail
cd "$(dirname "$0")/../../.." || exit 2
DG=${1:-${DRIFTGATE:-build/driftgate}}
R=tests/prism/repro
fail=0
# spec operation body expected
while read -r spec op body expected; do
    [ -z "$spec" ] && continue
    got=$("$DG" validate --spec "$R/$spec" --operation "$op" "$R/$body" > /dev/null 2>&1; echo $?)
    case $got in 0) got=valid ;; 1) got=invalid ;; *) got="error($got)" ;; esac
    ajv=$(node -e '
const path = require("path"), fs = require("fs"), { createRequire } = require("module");
const req = createRequire(path.resolve("bench/node_modules/noop.js"));
const yaml = req("js-yaml"), Ajv2020 = req("ajv/dist/2020").default;
const doc = yaml.load(fs.readFileSync(process.argv[1], "utf8"));
const ajv = new Ajv2020({ strict: false });
ajv.addSchema(doc, "spec");
let ptr = null;
for (const [p, item] of Object.entries(doc.paths)) for (const [m, o] of Object.entries(item))
    if (o.operationId === process.argv[2]) ptr = "#/paths/" + p.replace(/~/g, "~0").replace(/\//g, "~1") + "/" + m + "/responses/200/content/application~1json/schema";
const v = ajv.compile({ $ref: "spec" + ptr });
console.log(v(JSON.parse(fs.readFileSync(process.argv[3], "utf8"))) ? "valid" : "invalid");
' "$R/$spec" "$op" "$R/$body" 2>&1)
    mark=ok
    [ "$got" = "$expected" ] || { mark=BUG; fail=1; }
    printf '%-4s %-40s driftgate %-8s expected %-8s ajv %s\n' "$mark" "$body" "$got" "$expected" "$ajv"
done << 'EOF'
discriminator-unmapped.yaml getCall discriminator-unmapped.custom.json valid
discriminator-unmapped.yaml getCall discriminator-unmapped.function.json valid
discriminator-missing-property.yaml getA discriminator-missing-property.json valid
discriminator-selected-overlap.yaml getA discriminator-selected-overlap.json invalid
EOF
exit $fail
