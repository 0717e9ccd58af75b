#!/usr/bin/env node
// bench/ajv_bench.js: the peer of bench.c — ajv 8 (JSON Schema 2020-12, as
// OpenAPI 3.1 uses) with ajv-formats, on the same spec, cases and data.
//
//   node ajv_bench.js [-t SECONDS] [-n MAX_ITERS] [-c CASE] SPEC.json CASES DATADIR
//
// What is timed per iteration is what a Node proxy pays for a response
// body that arrived as bytes: Buffer -> string -> JSON.parse -> validate.
// The validate-only rate (on an already parsed object) is printed as well,
// for reference. Output: human lines, plus machine lines for run.sh:
//   CHECK ajv CASE INDEX valid|invalid WHAT   (INDEX 0: the body, k: mutation k)
//   RESULT ajv CASE BYTES MB_S NS_PER_OP ITERS CPU_MB_S MEDIAN_MB_S VALIDATE_ONLY_MB_S
// MB are 10^6 bytes. MB_S, NS_PER_OP, ITERS: the best round by wall time;
// CPU_MB_S: the best round by the process's CPU time (all its threads: V8's
// GC and compiler threads are part of what Node pays); MEDIAN_MB_S: the
// median round by wall time; VALIDATE_ONLY_MB_S: best round of validate()
// on the already parsed object. Exit 1 when a valid body is rejected or a mutated one
// accepted.
'use strict';

const fs = require('fs');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;

function usage() {
  process.stderr.write('usage: node ajv_bench.js [-t SECONDS] [-n MAX_ITERS] [-c CASE] SPEC.json CASES DATADIR\n');
  process.exit(2);
}

let seconds = 2.0;
let maxIters = 10000000;
let only = null;
const pos = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '-t' && i + 1 < argv.length) seconds = Number(argv[++i]);
  else if (argv[i] === '-n' && i + 1 < argv.length) maxIters = Number(argv[++i]);
  else if (argv[i] === '-c' && i + 1 < argv.length) only = argv[++i];
  else if (argv[i].startsWith('-')) usage();
  else pos.push(argv[i]);
}
if (pos.length !== 3 || !(seconds > 0) || !(maxIters >= 1)) usage();
const [specPath, casesPath, dataDir] = pos;

function fail(msg) {
  process.stdout.write(`ajv: FAIL: ${msg}\n`);
  process.exit(1);
}

// ---- cases (same grammar as bench.c's parse_cases) ----
const cases = [];
for (const [lineNo, raw] of fs.readFileSync(casesPath, 'utf8').split('\n').entries()) {
  const line = raw.trim();
  if (!line || line.startsWith('#')) continue;
  const f = line.split(/\s+/);
  if (f[0] === 'case' && f.length === 4) {
    cases.push({ name: f[1], op: f[2], file: f[3], mutations: [] });
  } else if (f[0] === 'mutate' && f.length >= 6 && (f[2] === 'first' || f[2] === 'last')) {
    const c = cases.find((x) => x.name === f[1]);
    if (!c) fail(`${casesPath}:${lineNo + 1}: mutation for unknown case ${f[1]}`);
    c.mutations.push({ which: f[2], needle: f[3], repl: f[4], what: f.slice(5).join(' ') });
  } else {
    fail(`${casesPath}:${lineNo + 1}: cannot parse: ${line}`);
  }
}

// ---- the spec, as ajv can take it ----
// ajv refuses `discriminator.mapping` ("mapping is not supported"); it picks
// the branch from each branch's `const` tag instead, which in bench.yaml
// names the same branch as the mapping. So the mapping is dropped, nothing
// else is changed, and the whole description is added as one schema
// resource: its "#/components/schemas/..." refs resolve as written.
const SPEC_ID = 'https://bench.driftgate.invalid/spec.json';
const spec = JSON.parse(fs.readFileSync(specPath, 'utf8'));
(function dropMappings(node) {
  if (Array.isArray(node)) node.forEach(dropMappings);
  else if (node && typeof node === 'object') {
    if (node.discriminator && typeof node.discriminator === 'object') delete node.discriminator.mapping;
    Object.values(node).forEach(dropMappings);
  }
})(spec);

const ajv = new Ajv2020({
  discriminator: true,   // OAS discriminator keyword
  allowUnionTypes: true, // type: [string, "null"] is how 3.1 says nullable
  strict: true,
});
addFormats(ajv);
// ajv compiles the document root too (it is the resource the refs point
// into): declare OpenAPI's root fields as annotations so strict mode, which
// stays on for every schema, accepts them.
for (const k of ['openapi', 'info', 'jsonSchemaDialect', 'servers', 'paths', 'webhooks',
  'components', 'security', 'tags', 'externalDocs']) ajv.addKeyword({ keyword: k });
ajv.addSchema(spec, SPEC_ID);

function pointerToken(s) {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function schemaRefFor(opId) {
  for (const [p, item] of Object.entries(spec.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      if (op && op.operationId === opId) {
        const media = op.responses && op.responses['200'] && op.responses['200'].content &&
          op.responses['200'].content['application/json'];
        if (!media || !media.schema) fail(`${opId}: no 200 application/json schema`);
        return `${SPEC_ID}#/paths/${pointerToken(p)}/${method}/responses/200/content/` +
          `${pointerToken('application/json')}/schema`;
      }
    }
  }
  fail(`no operation with operationId ${opId}`);
  return null;
}

function firstError(validate) {
  const e = validate.errors && validate.errors[0];
  return e ? `${e.instancePath || '/'}: ${e.message}` : 'no error reported';
}

function lastIndexOf(buf, needle) {
  return buf.lastIndexOf(needle);
}

function mutate(buf, m) {
  const needle = Buffer.from(m.needle);
  const at = m.which === 'first' ? buf.indexOf(needle) : lastIndexOf(buf, needle);
  if (at < 0) return null;
  return Buffer.concat([buf.subarray(0, at), Buffer.from(m.repl), buf.subarray(at + needle.length)]);
}

// Runs fn() in ROUNDS rounds of seconds/ROUNDS (and maxIters/ROUNDS calls)
// each, after a warm-up that lets V8 optimize. Returns ns per call of the
// best round by wall time (and its call count), of the best round by CPU
// time, and of the median round by wall time. Same protocol as bench.c's
// measure().
const ROUNDS = 10;
function measure(fn) {
  const warmEnd = process.hrtime.bigint() + BigInt(Math.round(Math.min(0.5, seconds / 4) * 1e9));
  while (process.hrtime.bigint() < warmEnd) fn();
  const rounds = [];
  const roundNs = BigInt(Math.round((seconds / ROUNDS) * 1e9));
  const roundMax = Math.max(1, Math.floor(maxIters / ROUNDS));
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let n = 0;
    let t = t0;
    do {
      fn();
      n++;
      t = process.hrtime.bigint();
    } while (t - t0 < roundNs && n < roundMax);
    const c = process.cpuUsage(c0);
    rounds.push({ wall: Number(t - t0) / n, cpu: ((c.user + c.system) * 1e3) / n, iters: n });
  }
  const byWall = [...rounds].sort((x, y) => x.wall - y.wall);
  return {
    bestWall: byWall[0].wall,
    iters: byWall[0].iters,
    bestCpu: Math.min(...rounds.map((x) => x.cpu)),
    medianWall: byWall[Math.floor(ROUNDS / 2)].wall,
  };
}

let failed = false;
for (const c of cases) {
  if (only && c.name !== only) continue;
  const buf = fs.readFileSync(path.join(dataDir, c.file));
  const validate = ajv.compile({ $ref: schemaRefFor(c.op) });

  const bodyOk = validate(JSON.parse(buf.toString('utf8')));
  process.stdout.write(`CHECK ajv ${c.name} 0 ${bodyOk ? 'valid' : 'invalid'} the body as generated\n`);
  if (!bodyOk)
    fail(`${c.name}: ${c.file} is valid but ajv says invalid: ${firstError(validate)}`);
  for (const [k, m] of c.mutations.entries()) {
    const bad = mutate(buf, m);
    if (!bad) fail(`${c.name}: mutation "${m.what}": ${m.needle} not found in ${c.file}`);
    const ok = validate(JSON.parse(bad.toString('utf8')));
    process.stdout.write(`CHECK ajv ${c.name} ${k + 1} ${ok ? 'valid' : 'invalid'} ${m.what}\n`);
    if (ok) {
      process.stdout.write(`ajv: FAIL: ${c.name}: mutated (${m.what}) but ajv says valid\n`);
      failed = true;
    } else {
      process.stdout.write(`ajv: ${c.name}: invalid as expected (${m.what}): ${firstError(validate)}\n`);
    }
  }

  const full = measure(() => {
    if (!validate(JSON.parse(buf.toString('utf8')))) throw new Error('became invalid');
  });
  const parsed = JSON.parse(buf.toString('utf8'));
  const vonly = measure(() => {
    if (!validate(parsed)) throw new Error('became invalid');
  });
  const rate = (nsPerOp) => (buf.length / nsPerOp * 1e3).toFixed(1);
  process.stdout.write(`RESULT ajv ${c.name} ${buf.length} ${rate(full.bestWall)} ` +
    `${full.bestWall.toFixed(0)} ${full.iters} ${rate(full.bestCpu)} ${rate(full.medianWall)} ` +
    `${rate(vonly.bestWall)}\n`);
}
process.exit(failed ? 1 : 0);
