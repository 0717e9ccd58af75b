#!/usr/bin/env node
// Second, independent validator for the Prism false-positive check: ajv 8 +
// ajv-formats (from bench/node_modules) on the same bodies and the same
// response schemas driftgate used.
//
//   node tests/prism/crosscheck.js SPEC.json DIR [INPUT.jsonl OUTPUT.jsonl]
//
// Reads DIR/crosscheck-input.jsonl ({n, ref, file}; written by
// `client.py crossref`) and writes DIR/crosscheck.jsonl ({n, valid, errors}),
// or the given INPUT/OUTPUT (explain.py runs it on mutated specs).
//
// OpenAPI → JSON Schema mapping (the only changes made to the spec for ajv):
//  - 3.0 / Swagger: Ajv (draft-07). `nullable: true` next to `type` becomes a
//    type array (and adds null to an `enum`); `nullable: true` without `type`
//    becomes {anyOf: [{type: null}, <the rest>]} (driftgate's reading:
//    README "nullable accepts null even next to allOf/enum"); boolean
//    `exclusiveMinimum/Maximum` become the numeric form.
//  - 3.1: Ajv2020; a stray boolean `nullable` is dropped (3.1 ignores it); a
//    3.0-style boolean `exclusiveMinimum/Maximum` is applied the 3.0 way (as
//    driftgate does and Prism's http-spec converts it).
//  - `discriminator`, `example`, `xml`, `x-*` ... are ignored (strict: false);
//    formats come from ajv-formats (full mode, incl. int32/int64/float/double/
//    byte); unknown formats pass, and so do ajv-formats' own extras (`url`,
//    `iso-time`, `iso-date-time`, `json-pointer-uri-fragment`), which neither
//    JSON Schema nor the OAS format registry define.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');
const nm = path.join(__dirname, '..', '..', 'bench', 'node_modules', 'noop.js');
const req = createRequire(nm);
const Ajv = req('ajv').default;
const Ajv2020 = req('ajv/dist/2020').default;
const addFormats = req('ajv-formats').default;

const [specFile, dir, inFile, outFile] = process.argv.slice(2);
const doc = JSON.parse(fs.readFileSync(specFile, 'utf8'));
const version = String(doc.openapi || doc.swagger || '');
const is31 = version.startsWith('3.1');

// Maps whose keys are names, not keywords: a member called "example" there is
// a property, not an annotation.
const NAME_MAPS = new Set(['properties', 'patternProperties', 'schemas', 'definitions', '$defs',
  'responses', 'parameters', 'headers', 'content', 'paths', 'securitySchemes', 'requestBodies',
  'links', 'callbacks', 'webhooks', 'pathItems', 'dependentSchemas', 'variables', 'mapping']);
// Annotation values are dropped (ajv would scan them for "$id"s otherwise);
// data values (enum, const, default) are kept as they are.
function walk(node, parentKey, fix) {
  if (Array.isArray(node)) return node.map(x => walk(x, null, fix));
  if (!node || typeof node !== 'object') return node;
  const out = {};
  const names = NAME_MAPS.has(parentKey);
  for (const [k, v] of Object.entries(node)) {
    if (!names && (k === 'example' || k === 'examples')) continue;
    out[k] = (!names && (k === 'enum' || k === 'const' || k === 'default')) ? v : walk(v, names ? null : k, fix);
  }
  return names ? out : fix(out);
}

function fix30(out) {
  for (const k of ['exclusiveMinimum', 'exclusiveMaximum']) {
    if (typeof out[k] === 'boolean') {
      const b = k === 'exclusiveMinimum' ? 'minimum' : 'maximum';
      if (out[k] && typeof out[b] === 'number') { out[k] = out[b]; delete out[b]; } else delete out[k];
    }
  }
  if (out.nullable === true) {
    delete out.nullable;
    if (typeof out.type === 'string') {
      out.type = [out.type, 'null'];
      if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = out.enum.concat([null]);
    } else if (!('$ref' in out)) {
      const rest = out;
      return { anyOf: [{ type: 'null' }, rest] };
    } else {
      const ref = out.$ref; delete out.$ref;
      return { anyOf: [{ type: 'null' }, Object.assign(out, { allOf: [{ $ref: ref }].concat(out.allOf || []) })] };
    }
  } else if (out.nullable === false) {
    delete out.nullable;
  }
  return out;
}

function fix31(out) {
  if (typeof out.nullable === 'boolean') delete out.nullable;
  // a 3.0-style boolean exclusiveMinimum/Maximum in a 3.1 document: applied
  // the 3.0 way, as driftgate does (and as Prism's http-spec converts it)
  for (const k of ['exclusiveMinimum', 'exclusiveMaximum']) {
    if (typeof out[k] === 'boolean') {
      const b = k === 'exclusiveMinimum' ? 'minimum' : 'maximum';
      if (out[k] && typeof out[b] === 'number') { out[k] = out[b]; delete out[b]; } else delete out[k];
    }
  }
  return out;
}

const schemaDoc = walk(doc, null, is31 ? fix31 : fix30);
const opts = { strict: false, allErrors: true, validateSchema: false, logger: false, verbose: true };
const ajv = is31 ? new Ajv2020(opts) : new Ajv(opts);
addFormats(ajv);
// ajv-formats also knows formats that neither JSON Schema nor the OpenAPI
// format registry define (`url` is common in real specs: box uses it);
// like every unknown format they are annotations here, as in driftgate.
for (const f of ['url', 'iso-time', 'iso-date-time', 'json-pointer-uri-fragment']) ajv.addFormat(f, true);
ajv.addSchema(schemaDoc, 'spec.json');

const cache = new Map();
function validator(ref) {
  if (!cache.has(ref)) {
    let v;
    try { v = ajv.compile({ $ref: 'spec.json' + ref }); } catch (e) { v = e; }
    cache.set(ref, v);
  }
  return cache.get(ref);
}

const lines = fs.readFileSync(inFile || path.join(dir, 'crosscheck-input.jsonl'), 'utf8').split('\n').filter(Boolean);
const out = [];
const counts = { valid: 0, invalid: 0, error: 0, skipped: 0 };
for (const line of lines) {
  const r = JSON.parse(line);
  if (!r.ref) { counts.skipped++; out.push(JSON.stringify({ n: r.n, valid: null, why: r.why })); continue; }
  const v = validator(r.ref);
  if (v instanceof Error) { counts.error++; out.push(JSON.stringify({ n: r.n, valid: null, error: v.message })); continue; }
  let body;
  try { body = JSON.parse(fs.readFileSync(r.file, 'utf8')); } catch (e) {
    counts.invalid++; out.push(JSON.stringify({ n: r.n, valid: false, errors: [{ message: 'not JSON: ' + e.message }] }));
    continue;
  }
  const ok = v(body);
  counts[ok ? 'valid' : 'invalid']++;
  out.push(JSON.stringify({
    n: r.n, valid: ok,
    errors: ok ? [] : v.errors.slice(0, 200).map(e => ({
      instancePath: e.instancePath, schemaPath: e.schemaPath, keyword: e.keyword, message: e.message,
      params: e.params,
    })),
  }));
}
fs.writeFileSync(outFile || path.join(dir, 'crosscheck.jsonl'), out.join('\n') + '\n');
if (!outFile) console.log('crosscheck (ajv ' + (is31 ? '2020-12' : 'draft-07') + '): ' + JSON.stringify(counts));
