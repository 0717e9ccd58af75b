#!/usr/bin/env node
// Minimal reproductions of the ways Prism's dynamic mocking (`prism mock -d`)
// generates response bodies that break the schema they were generated from.
//
//   node tests/prism/jsf_evidence.js [N]        (default 300 samples per case)
//
// Each case is a one-operation OpenAPI document whose response schema is cut
// from one of the real specs. It goes through Prism's own pipeline: the
// document → getHttpOperationsFromSpec (@stoplight/http-spec conversion) →
// the mocker's generator (json-schema-faker with Prism's options), N times.
// Every sample is validated with ajv 8 + ajv-formats against the schema as the
// document states it (draft-07 for 3.0, 2020-12 for 3.1) — driftgate is not
// involved. Prints, per case: how many samples ajv rejects, one of them, what
// Prism handed to json-schema-faker, and (for context) the share of samples
// Prism's own response validator flags (`sl-violations`-equivalent).
'use strict';
const path = require('path');
const { createRequire } = require('module');
const req = createRequire(path.join(__dirname, '..', '..', 'bench', 'node_modules', 'noop.js'));
const { getHttpOperationsFromSpec } = req('@stoplight/prism-http');
const { generate } = req('@stoplight/prism-http/dist/mocker/generator/JSONSchema');
const Ajv = req('ajv').default;
const Ajv2020 = req('ajv/dist/2020').default;
const addFormats = req('ajv-formats').default;

const N = Number(process.argv[2] || 300);

const CASES = [
  {
    id: 'enum-beside-allOf',
    from: 'discord TextDisplayComponentResponse.properties.type',
    oas: '3.1.0',
    schema: { type: 'integer', enum: [10], format: 'int32', allOf: [{ $ref: '#/components/schemas/MessageComponentTypes' }] },
    components: {
      MessageComponentTypes: { type: 'integer', oneOf: [{ const: 1 }, { const: 2 }, { const: 6 }, { const: 10 }, { const: 17 }] },
    },
  },
  {
    id: 'enum-beside-allOf (string items)',
    from: 'discord ApplicationOAuth2InstallParamsResponse.properties.scopes',
    oas: '3.1.0',
    schema: {
      type: 'array', uniqueItems: true,
      items: { type: 'string', enum: ['applications.commands', 'bot'], allOf: [{ $ref: '#/components/schemas/OAuth2Scopes' }] },
    },
    components: {
      OAuth2Scopes: { type: 'string', oneOf: [{ const: 'bot' }, { const: 'email' }, { const: 'webhook.incoming' }, { const: 'applications.commands' }] },
    },
  },
  {
    id: 'required-not-in-properties',
    from: 'box File.shared_link: "accessed" is required but has no entry in properties',
    oas: '3.0.2',
    schema: {
      type: 'object', required: ['url', 'accessed'],
      properties: { url: { type: 'string' }, access: { type: 'string', enum: ['open', 'company'] } },
    },
  },
  {
    id: 'nullable-in-3.1',
    from: 'openai RunObject.properties.temperature (a 3.0 keyword in a 3.1 document)',
    oas: '3.1.0',
    schema: { type: 'number', nullable: true },
    // 3.1 has no `nullable` (an unknown keyword is an annotation): ajv is
    // given the schema without it, since ajv itself would honour it
    check: { type: 'number' },
  },
  {
    id: 'maxProperties',
    from: 'openai VectorStoreFileAttributes',
    oas: '3.1.0',
    schema: {
      type: 'object', maxProperties: 16, propertyNames: { type: 'string', maxLength: 64 },
      additionalProperties: { oneOf: [{ type: 'string', maxLength: 512 }, { type: 'number' }, { type: 'boolean' }] },
    },
  },
  {
    id: 'oneOf-overlap',
    from: 'openai ChatkitWorkflow.state_variables values: an integer matches both "integer" and "number"',
    oas: '3.1.0',
    schema: { oneOf: [{ type: 'string' }, { type: 'integer' }, { type: 'boolean' }, { type: 'number' }] },
  },
  {
    id: 'oneOf-overlap (branches without required)',
    from: 'box SignRequestSignerInputValidation: 6 of 11 branches do not require validation_type',
    oas: '3.0.2',
    schema: {
      oneOf: ['email', 'zip', 'number_with_period', 'number_with_comma', 'date_iso'].map((t, i) => (
        i < 2 ? { type: 'object', properties: { validation_type: { type: 'string', enum: [t] } }, required: ['validation_type'] }
          : { type: 'object', properties: { validation_type: { type: 'string', enum: [t] } } })),
    },
  },
  {
    id: 'allOf enums not intersected',
    from: 'openai ComputerToolCallOutputResource: allOf [ComputerToolCallOutput (status enum in_progress|completed|incomplete), {status: ComputerCallOutputStatus (completed|incomplete|failed)}]',
    oas: '3.1.0',
    schema: { allOf: [{ $ref: '#/components/schemas/Out' }, { type: 'object', properties: { status: { $ref: '#/components/schemas/St' } }, required: ['status'] }] },
    components: {
      Out: { type: 'object', properties: { status: { type: 'string', enum: ['in_progress', 'completed', 'incomplete'] } }, required: ['status'] },
      St: { type: 'string', enum: ['completed', 'incomplete', 'failed'] },
    },
  },
  {
    id: 'writeOnly under allOf',
    from: 'box SignRequest.signers.items: allOf [..., SignRequestCreateSigner (password: writeOnly)]',
    oas: '3.0.2',
    schema: { type: 'object', properties: { signers: { type: 'array', items: { allOf: [{ $ref: '#/components/schemas/Signer' }] } } } },
    components: { Signer: { type: 'object', properties: { email: { type: 'string' }, password: { type: 'string', writeOnly: true } } } },
    // ajv treats writeOnly as an annotation: count bodies that carry it instead
    present: body => (body.signers || []).some(s => s && typeof s === 'object' && 'password' in s),
  },
  {
    id: 'exclusiveMinimum (numeric form) ignored',
    from: 'openai FineTuneDPOHyperparameters.beta: a boolean exclusiveMinimum, which http-spec turns into the numeric form',
    oas: '3.1.0',
    schema: { oneOf: [{ type: 'string', enum: ['auto'] }, { type: 'number', minimum: 0, maximum: 2, exclusiveMinimum: true }] },
    // what the document means (and what Prism itself converts it to)
    check: { oneOf: [{ type: 'string', enum: ['auto'] }, { type: 'number', maximum: 2, exclusiveMinimum: 0 }] },
  },
];

const opts = { strict: false, allErrors: true, logger: false };
const ajvs = { '3.0': new Ajv(opts), '3.1': new Ajv2020(opts) };
Object.values(ajvs).forEach(a => addFormats(a));

function doc(c) {
  return {
    openapi: c.oas, info: { title: c.id, version: '1' },
    paths: { '/x': { get: { responses: { 200: { description: 'ok', content: { 'application/json': { schema: c.schema } } } } } } },
    components: { schemas: c.components || {} },
  };
}

(async () => {
  const results = [];
  for (const c of CASES) {
    const d = doc(c);
    const [op] = await getHttpOperationsFromSpec(JSON.parse(JSON.stringify(d)));
    const schema = op.responses[0].contents[0].schema;
    const ajv = ajvs[c.oas.slice(0, 3)];
    const checkDoc = JSON.parse(JSON.stringify(d));
    if (c.check) checkDoc.paths['/x'].get.responses[200].content['application/json'].schema = c.check;
    const id = 'case-' + results.length + '.json';
    ajv.addSchema(checkDoc, id);
    const validate = ajv.compile({ $ref: id + '#/paths/~1x/get/responses/200/content/application~1json/schema' });
    let bad = 0, failed = 0, example, errors = null, got = false;
    for (let i = 0; i < N; i++) {
      const r = generate(op, op.__bundled__, schema);
      if (r._tag !== 'Right') { failed++; continue; }
      if (c.present ? c.present(r.right) : !validate(r.right)) {
        if (c.present) validate.errors = [{ instancePath: '', message: 'carries a writeOnly property' }];
        bad++;
        if (!got) { got = true; example = r.right; errors = validate.errors.slice(0, 3).map(e => `${e.instancePath || '/'} ${e.message}`); }
      }
    }
    const handed = JSON.stringify(schema, (k, v) => (k === '__bundled__' ? undefined : v));
    results.push({ id: c.id, from: c.from, oas: c.oas, samples: N, rejected_by_ajv: bad, generator_errors: failed,
      example, ajv_errors: errors, document_schema: c.schema, prism_schema: JSON.parse(handed) });
    console.log(`${c.id}: ${bad}/${N} generated bodies ${c.present ? 'carry a writeOnly property' : 'invalid'} (OAS ${c.oas}${c.present ? '' : ', ajv'})  [${c.from}]`);
    console.log(`    document schema:   ${JSON.stringify(c.schema)}`);
    console.log(`    handed to jsf:     ${handed.length > 400 ? handed.slice(0, 400) + '…' : handed}`);
    if (got) {
      const s = JSON.stringify(example);
      console.log(`    generated, e.g.:   ${s.length > 300 ? s.slice(0, 300) + '…' : s}`);
      console.log(`    ${c.present ? 'check:             ' : 'ajv says:          '}${errors.join('; ')}`);
    }
  }
  if (process.env.JSF_EVIDENCE_JSON) require('fs').writeFileSync(process.env.JSF_EVIDENCE_JSON, JSON.stringify(results, null, 1));
})().catch(e => { console.error(e); process.exit(2); });
