/* analyze/explain.h: explaining drifts, by rule or by Gemma 4.
 *
 * The heuristic explainer classifies a drift from its kind, its evidence
 * and the spec fragment it broke, and writes the JSON Patch that would make
 * the spec accept what was seen (a new enum value is added to the enum, a
 * field turned nullable gets `nullable: true` in OpenAPI 3.0 or a "null"
 * type in 3.1, ...). Deterministic: the same drift and spec give the same
 * explanation. It is the default, and the fallback when a model fails.
 *
 * For a model, dg_explain_prompt builds one request for a batch: the
 * instructions (system), and the drifts with their evidence and the
 * relevant schema fragments (dereferenced one level, trimmed), fenced and
 * labelled as untrusted data; dg_explain_parse checks the answer against
 * the explanation schema (analyze/explanation.schema.json, embedded) with
 * driftgate's own validator and keeps only explanations of fingerprints
 * that were asked about. The answer is only parsed and stored: nothing in
 * it is ever executed, fetched or used as a file name.
 *
 * What leaves the process: shapes (type, length, number class), kinds,
 * pointers, property names and the spec's own fragments; a raw value only
 * when the drift's example carries one (a policy opted in with
 * include_values and the pointer is not masked). Single-threaded objects. */
#ifndef DG_ANALYZE_EXPLAIN_H
#define DG_ANALYZE_EXPLAIN_H

#include <jansson.h>
#include <stddef.h>

#include "analyze/drift.h"
#include "common/buf.h"
#include "common/error.h"

/* Spec documents loaded on demand, by the file named in a schema pointer. */
typedef struct dg_spec_cache dg_spec_cache;
dg_spec_cache *dg_spec_cache_new(void);
void dg_spec_cache_free(dg_spec_cache *c);

/* The schema object a validator schema pointer
 * ("/abs/shop.yaml#/components/schemas/Item/properties/price/type") points
 * into: the object holding the keyword (or the pointed node itself when it
 * is a schema object), and its JSON pointer in its document. */
typedef struct dg_schema_site {
    json_t *schema;               /* borrowed from the cache; NULL when not found */
    json_t *root;                 /* the document's root (borrowed) */
    char pointer[512];            /* of schema in its document ("" root) */
    char keyword[64];             /* the keyword the violation names ("" none) */
    int oas31;                    /* 1: OpenAPI 3.1 / JSON Schema types; 0: 3.0 (nullable) */
} dg_schema_site;
/* 0, or DG_ENOTFOUND (file gone, pointer absent: site->schema NULL). */
int dg_spec_cache_site(dg_spec_cache *c, const char *schema_pointer, dg_schema_site *site);

/* Fills out (caller clears) with the heuristic explanation of d. c may be
 * NULL (then no patch needs the spec: those that do are left empty). */
int dg_heuristic_explain(const dg_drift *d, dg_spec_cache *c, int64_t now_ms,
                         dg_explanation *out);

/* The embedded explanation schema (analyze/explanation.schema.json). */
extern const char dg_explanation_schema_json[];
extern const size_t dg_explanation_schema_json_len;
/* The same schema with only the keywords Gemini's responseJsonSchema
 * honours (for constrained decoding; the full one is checked afterwards).
 * Caller frees. */
char *dg_explain_model_schema(void);

/* Builds a batch prompt from drifts d[0..n). Drifts are added in order while
 * the estimated prompt tokens (bytes / 4) stay within max_tokens (at least
 * one is always taken); *taken says how many went in. system/user are
 * appended to. */
int dg_explain_prompt(const char *api, const dg_drift *d, size_t n, dg_spec_cache *c,
                      uint64_t max_tokens, dg_buf *system, dg_buf *user, size_t *taken);
/* The repair request after an invalid answer: the original user prompt,
 * then what was wrong. */
int dg_explain_repair_prompt(const char *user, const char *why, dg_buf *out);

/* Parses and validates a model's answer for the batch d[0..n). On success
 * fills out[0..n) (out[i] for d[i]; *got = how many were explained; the
 * others have classification NULL) with source "model", backend, model
 * and created_ms. On failure returns DG_EPARSE / DG_EINVAL with why
 * (pointer: message list, no more than whylen). */
int dg_explain_parse(const char *text, const dg_drift *d, size_t n, const char *backend,
                     const char *model, int64_t now_ms, dg_explanation *out, size_t *got,
                     char *why, size_t whylen);

#endif
