/* validate/spec.h: an OpenAPI description loaded, resolved and compiled.
 *
 * dg_spec_load reads an OpenAPI 3.0.x / 3.1.x or Swagger 2.0 document (YAML
 * or JSON) plus every file its $refs reach (relative files, or remote URLs
 * mapped to files with ref-map; never the network), builds the router and
 * compiles every response schema (and every component schema, so problems
 * anywhere are found at load). After loading, a dg_spec is immutable and may
 * be shared by threads; each thread validates with its own dg_validator on
 * dg_spec_schemas(). */
#ifndef DG_VALIDATE_SPEC_H
#define DG_VALIDATE_SPEC_H

#include "validate/router.h"
#include "validate/validate.h"

typedef struct dg_spec dg_spec;

typedef struct dg_spec_opts {
    const char *const *ref_map;  /* pairs: URL prefix, local path; n_ref_map pairs */
    size_t n_ref_map;
    int assert_formats;          /* -1 default (yes for OpenAPI) */
    int lint;                    /* keep going after schema errors, collecting them as lint items */
} dg_spec_opts;

/* Loads path. On failure returns DG_EIO/DG_EPARSE/DG_ESPEC/... with err
 * located (file:line:col, pointer). The caller owns *out. */
int dg_spec_load(const char *path, const dg_spec_opts *opts, dg_spec **out, dg_error *err);
void dg_spec_free(dg_spec *s);

const dg_schemaset *dg_spec_schemas(const dg_spec *s);
const dg_router *dg_spec_router(const dg_spec *s);
dg_dialect dg_spec_dialect(const dg_spec *s);
const char *dg_spec_version(const dg_spec *s);  /* "3.0.3", "3.1.0", "2.0" */
const char *dg_spec_hash(const dg_spec *s);
json_t *dg_spec_root(const dg_spec *s);          /* the root document (borrowed, read-only) */     /* sha-256 hex of the root file's bytes */
size_t dg_spec_schema_count(const dg_spec *s);  /* response schemas compiled */

typedef enum dg_spec_finding {
    DG_FIND_NONE = 0,
    DG_FIND_UNDOCUMENTED_STATUS,   /* kind undocumented_status */
    DG_FIND_UNDOCUMENTED_MEDIA,    /* kind content_type */
    DG_FIND_BODY_NOT_DOCUMENTED    /* a body where the response documents none: kind content_type */
} dg_spec_finding;

typedef struct dg_spec_target {
    dg_resp_match match;
    int schema_id;              /* compiled program to validate the body with (with item_mode:
                                 * each item of it), or -1 */
    int item_mode;              /* how the body is framed when schema_id >= 0: 0 one JSON text
                                 * (the whole body); 1 newline-delimited texts (application/
                                 * x-ndjson, jsonl, jsonlines, x-json-stream); 2 RS-delimited
                                 * texts (application/json-seq, RFC 7464). With 1 or 2 the
                                 * proxy validates each text on its own (begin/feed/finish per
                                 * item) against schema_id: the documented schema's `items`
                                 * when it is `type: array` with an `items` schema object,
                                 * else the documented schema itself. Decided by content_type
                                 * (the documented media key when content_type is NULL). */
    dg_spec_finding finding;
    char message[256];          /* human text for the finding */
} dg_spec_target;

/* Decides what a response of op with status and content_type (may be NULL)
 * must satisfy. has_body: whether the response carries a body. Only reads
 * the spec (item schemas are compiled at load): safe from any thread. */
int dg_spec_target_for(const dg_spec *s, const dg_route_op *op, int status,
                       const char *content_type, int has_body, dg_spec_target *out,
                       dg_error *err);

/* Lint problems gathered while loading (schemaset lint + spec-level ones). */
size_t dg_spec_lint_count(const dg_spec *s);
const dg_lint_item *dg_spec_lint_get(const dg_spec *s, size_t i);

#endif
