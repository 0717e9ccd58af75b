/* validate/router.h: map an HTTP request to an OpenAPI operation, and a
 * response (status, Content-Type) to the schema it must satisfy.
 *
 * Works on the loaded spec tree (OpenAPI 3.0.x/3.1.x, or Swagger 2.0). It
 * never fetches anything: `$ref`s met on the way (path items, responses,
 * media types) are resolved through the caller's resolver callback.
 * Immutable after dg_router_new; safe to share between threads.
 *
 * Path rules: server base paths (OAS 3 `servers[].url` path parts, Swagger
 * `basePath`) are stripped first (a request outside every base path does not
 * match); the query string is ignored; templates `/pets/{petId}` match one
 * non-empty segment per variable (a variable may be part of a segment:
 * `/files/{name}.json`); a concrete path beats a templated one, and among
 * templates the one with more literal segments earlier wins; percent-encoding
 * is decoded per segment before comparing literals (an encoded '/' stays part
 * of its segment); a trailing slash matches only a template that has one
 * (`/pets/` != `/pets`); methods are case-insensitive.
 *
 * Status rules: exact code ("404") beats range ("4XX", case-insensitive)
 * beats "default". Media-type rules: parameters (charset, ...) ignored, case
 * insensitive; exact type/subtype beats a structured-syntax match (a
 * response `application/problem+json` matches a documented
 * `application/json` only when nothing better matches), beats `type/ *`,
 * beats `* / *` (written without spaces). */
#ifndef DG_VALIDATE_ROUTER_H
#define DG_VALIDATE_ROUTER_H

#include <jansson.h>
#include <stddef.h>

#include "common/error.h"

/* Resolves a `$ref` string found in node `where` (the object holding the
 * $ref). Returns the borrowed target or NULL (then *err says why). */
typedef json_t *(*dg_ref_resolver)(void *ctx, const json_t *where, const char *ref,
                                   dg_error *err);

typedef struct dg_route_op {
    const char *label;          /* operationId, else "GET /pets/{petId}" */
    const char *operation_id;   /* NULL when the spec has none */
    const char *method;         /* upper case: "GET" */
    const char *path_template;  /* as in the spec: "/pets/{petId}" */
    const char *pointer;        /* JSON pointer of the operation: "/paths/~1pets~1{petId}/get" */
    json_t *operation;          /* borrowed (after resolving a path item $ref) */
    int index;                  /* 0 .. dg_router_count()-1 */
} dg_route_op;

typedef struct dg_router dg_router;

/* Builds the routing table from the spec root (borrowed; must outlive the
 * router). resolve may be NULL when the spec has no $ref'd path items.
 * Errors (e.g. duplicate operationId, malformed template "/a/{b") are
 * DG_ESPEC with err->pointer set. The caller owns *out. */
int dg_router_new(json_t *spec_root, dg_ref_resolver resolve, void *resolve_ctx,
                  dg_router **out, dg_error *err);
void dg_router_free(dg_router *r);

size_t dg_router_count(const dg_router *r);
const dg_route_op *dg_router_get(const dg_router *r, size_t i);
const dg_route_op *dg_router_find_operation_id(const dg_router *r, const char *operation_id);

/* Matches method + path (path may include "?query", which is ignored).
 * Returns the operation or NULL when no path/method matches. */
const dg_route_op *dg_router_match(const dg_router *r, const char *method, const char *path,
                                   size_t path_len);

typedef enum dg_resp_result {
    DG_RESP_SCHEMA = 0,          /* a schema applies: out->schema */
    DG_RESP_ANY,                 /* documented without a schema: any body is fine */
    DG_RESP_NO_BODY,             /* documented with no content: a body is a finding */
    DG_RESP_UNDOCUMENTED_STATUS, /* no exact/range/default entry for the status */
    DG_RESP_UNDOCUMENTED_MEDIA   /* status documented, media type not */
} dg_resp_result;

typedef struct dg_resp_match {
    dg_resp_result result;
    json_t *response;       /* the Response Object (resolved), or NULL */
    json_t *schema;         /* the Schema Object (not resolved: may be a $ref), or NULL */
    char status_key[16];    /* which responses key matched: "200", "2XX", "default" */
    char media_key[128];    /* which content key matched ("" for Swagger 2.0 / none) */
    char schema_pointer[512]; /* JSON pointer of schema within its document, best effort */
} dg_resp_match;

/* Selects what the response must satisfy. content_type may be NULL (no
 * Content-Type header). For Swagger 2.0, the response `schema` applies to the
 * operation's (else the spec's) `produces` media types, default
 * application/json. Returns 0, or a negative code when a $ref cannot be
 * resolved (err set). */
int dg_router_select_response(const dg_router *r, const dg_route_op *op, int status,
                              const char *content_type, dg_resp_match *out, dg_error *err);

/* Media type helpers (exposed for the proxy and tests). All ignore
 * parameters and case. 1 when ct is JSON: application/json, any +json
 * suffix, application/x-ndjson or application/json-seq are NOT included here
 * (see dg_media_is_json_seq). */
int dg_media_is_json(const char *ct);
/* 1 when ct is a sequence of JSON texts: application/x-ndjson, jsonl,
 * jsonlines, x-json-stream (newline-delimited) or json-seq (RFC 7464). */
int dg_media_is_json_seq(const char *ct);
/* How a body of media type ct is split into JSON texts: 0 not a sequence,
 * 1 newline-delimited (x-ndjson, jsonl, jsonlines, x-json-stream),
 * 2 RS-delimited (json-seq, RFC 7464). Same values as dg_spec_target.item_mode. */
int dg_media_seq_mode(const char *ct);

#endif
