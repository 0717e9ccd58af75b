/* validate/validate.h: compiled JSON Schemas and the streaming validator.
 *
 * A dg_schemaset holds loaded documents, the URI registry ($id, $anchor,
 * $dynamicAnchor, ref-map entries) and the compiled program: a flat array
 * of schema nodes. Compile every schema you need up front; after that the set
 * is immutable and may be shared by any number of threads (each thread uses
 * its own dg_validator).
 *
 * A dg_validator checks one JSON value at a time against one compiled node.
 * It is driven by events (validate/json.h): from raw bytes in arbitrary
 * chunks (dg_validator_feed, through our tokenizer) or from a jansson tree
 * (dg_validator_tree). Memory is bounded by nesting depth, the number of
 * combinator branches alive, the error cap, and what a few keywords must
 * remember (uniqueItems hashes, unevaluated* per-member verdicts): never by
 * body size. Violations carry the instance pointer, schema keyword location,
 * kind, message and the offending value's shape, not the value itself unless
 * opts.include_values is set: no message ever quotes an instance value
 * (property names, and the schema's own bounds/patterns/names, only).
 *
 * Undocumented properties (opts.report_undocumented, or per validation
 * dg_validator_set_report_undocumented): a member of an instance object is
 * reported, as an info-level violation that does not make the result
 * invalid, when a schema applied to the object declares `properties` or
 * `patternProperties`, none of the applied schemas documents the member
 * (names it in `properties`, matches it with `patternProperties`), and none
 * has `additionalProperties` or `unevaluatedProperties` with any value.
 * Applied schemas are those reached through $ref, allOf, dependentSchemas
 * and the selected then/else, and the if/anyOf/oneOf branches that passed
 * (`not` never counts); an object that
 * matched no anyOf/oneOf variant is not judged. When several schemas reach
 * the same object from its parent (say two anyOf branches), their union is
 * what is documented. */
#ifndef DG_VALIDATE_VALIDATE_H
#define DG_VALIDATE_VALIDATE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "validate/doc.h"
#include "validate/json.h"

typedef enum dg_dialect {
    DG_DIALECT_AUTO = 0,   /* from $schema, else 2020-12 */
    DG_DIALECT_DRAFT4,
    DG_DIALECT_2020_12,
    DG_DIALECT_OAS30,      /* draft-4 subset + nullable, discriminator, formats asserted */
    DG_DIALECT_OAS31,      /* 2020-12 + discriminator, formats asserted */
    DG_DIALECT_SWAGGER2    /* like OAS30 (x-nullable honoured) */
} dg_dialect;

const char *dg_dialect_name(dg_dialect d);
/* "draft4", "2020-12", "oas3.0", "oas3.1", "swagger2.0"; DG_DIALECT_AUTO when unknown */
dg_dialect dg_dialect_parse(const char *s);

/* Violation kinds (DESIGN.md metric label values). */
typedef enum dg_kind {
    DG_KIND_TYPE = 0,
    DG_KIND_REQUIRED,
    DG_KIND_ENUM,
    DG_KIND_FORMAT,
    DG_KIND_PATTERN,
    DG_KIND_ADDITIONAL,
    DG_KIND_BOUNDS,
    DG_KIND_COMBINATOR,
    DG_KIND_PARSE,
    DG_KIND_CONTENT_TYPE,
    DG_KIND_UNDOCUMENTED_STATUS,
    DG_KIND_OTHER,
    DG_KIND_COUNT
} dg_kind;
const char *dg_kind_name(dg_kind k);

typedef enum dg_direction { DG_DIR_RESPONSE = 0, DG_DIR_REQUEST } dg_direction;

typedef struct dg_compile_opts {
    dg_dialect dialect;        /* default dialect for schemas without $schema */
    int assert_formats;        /* -1 = dialect default (OAS: yes, pure JSON Schema: 2020-12 no, draft4 yes) */
} dg_compile_opts;

typedef struct dg_schemaset dg_schemaset;

/* New empty set. The caller owns it (dg_schemaset_free). NULL on ENOMEM. */
dg_schemaset *dg_schemaset_new(const dg_compile_opts *opts);
void dg_schemaset_free(dg_schemaset *s);

/* Adds a document (the set takes ownership of doc) and registers it under
 * uri (absolute URI or NULL for "file://" + its path made absolute). Scans
 * schema positions for $id/id, $anchor, $dynamicAnchor when root_is_schema. */
int dg_schemaset_add_doc(dg_schemaset *s, dg_doc *doc, const char *uri, int root_is_schema,
                         dg_error *err);

/* Registers a node of a document the caller keeps alive (borrowed, must
 * outlive the set) as the root of a resource under uri, e.g. each schema of
 * a test file. */
int dg_schemaset_add_root(dg_schemaset *s, const dg_doc *doc, json_t *root, const char *uri,
                          int root_is_schema, dg_error *err);

/* ref-map: a reference whose absolute URI starts with prefix is loaded from
 * path + the rest (path may be a file for an exact match, or a directory
 * prefix ending in '/'). No network access ever happens. */
int dg_schemaset_map(dg_schemaset *s, const char *prefix, const char *path, dg_error *err);

/* Compiles the schema `schema` (a node of a document already added; borrowed)
 * and returns its program id in *id. dialect overrides the set's default
 * when not AUTO. Errors (unresolvable $ref, bad regex, invalid keyword
 * value) are DG_ESPEC with file:line:col and pointer. */
int dg_schemaset_compile(dg_schemaset *s, json_t *schema, dg_dialect dialect, int *id,
                         dg_error *err);

/* Problems found while compiling that do not stop validation (unknown
 * format, unknown keyword, nullable in 3.1, ...): for `driftgate lint`. */
typedef struct dg_lint_item {
    char where[512];   /* file:line:col */
    char pointer[512];
    char message[512];
} dg_lint_item;
size_t dg_schemaset_lint_count(const dg_schemaset *s);
const dg_lint_item *dg_schemaset_lint_get(const dg_schemaset *s, size_t i);
/* Adds a lint item (used by the spec layer); where/pointer may be NULL. */
void dg_schemaset_lint_add(dg_schemaset *s, const dg_doc *doc, const json_t *node,
                           const char *pointer, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Document holding node (or NULL); for locations. */
const dg_doc *dg_schemaset_doc_of(const dg_schemaset *s, const json_t *node);
/* Resolves a $ref string found in node `where` to a JSON node (loading mapped
 * files as needed). Borrowed result or NULL with err set. */
json_t *dg_schemaset_resolve(dg_schemaset *s, const json_t *where, const char *ref, dg_error *err);
size_t dg_schemaset_node_count(const dg_schemaset *s);

/* ---- validation ---- */

typedef struct dg_shape {
    char type[8];           /* "object", "array", "string", "number", "integer", "boolean", "null" */
    uint64_t length;        /* string: code points; array: items; object: members */
    const char *number_class; /* "int" "negative-int" "decimal" "big" "zero", NULL if not a number */
} dg_shape;

typedef struct dg_violation {
    dg_kind kind;
    char *instance_pointer;  /* RFC 6901, "" = the root */
    char *schema_pointer;    /* keyword location: "file#/components/schemas/Pet/required" */
    char *message;
    dg_shape shape;
    char *value;             /* raw value (JSON text, truncated) only with include_values */
    int undocumented;        /* 1: info-level "property is not documented" finding
                              * (kind DG_KIND_ADDITIONAL, instance_pointer = the member,
                              * schema_pointer = the object's schema); it does not
                              * make the result invalid. Never set otherwise. */
} dg_violation;

typedef struct dg_result {
    int valid;               /* 1 when no violation other than undocumented findings */
    size_t count;            /* violations recorded in v[] (<= 2 * max_errors: see max_errors) */
    size_t total;            /* violations found, including those past the cap
                              * (undocumented findings included) */
    int truncated;           /* total > count */
    size_t undocumented;     /* how many of v[] are undocumented findings */
    dg_violation *v;         /* owned by the validator; valid until the next begin/free */
    dg_error parse_error;    /* code != 0 when the body was not valid JSON (kind parse) */
} dg_result;

typedef struct dg_validate_opts {
    size_t max_errors;       /* default 100; undocumented findings have their own budget of
                              * max_errors, so they never crowd out a real violation */
    int include_values;      /* put raw offending values in violations (default 0) */
    dg_direction direction;  /* response (default): writeOnly is a finding, readOnly fine */
    dg_json_limits limits;   /* tokenizer limits (0 fields = defaults) */
    size_t max_unique_items; /* uniqueItems beyond this many items: not checked, reported as skipped (default 100000) */
    int report_undocumented; /* report undocumented object members as info-level findings
                              * (default 0; see the top of this header). Off costs nothing. */
} dg_validate_opts;
void dg_validate_opts_default(dg_validate_opts *o);

typedef struct dg_validator dg_validator;

/* The validator borrows set (which must outlive it). NULL on ENOMEM. */
dg_validator *dg_validator_new(const dg_schemaset *set, const dg_validate_opts *opts);
void dg_validator_free(dg_validator *v);

/* Starts a value to be validated against program node `id`. */
int dg_validator_begin(dg_validator *v, int id);
/* Turns undocumented-property findings on (1) or off (0) for the values
 * begun from now on (dg_validator_begin, dg_validator_tree), so that one
 * validator can serve operations with different policies; the value in
 * progress keeps the setting it began with. Starts as
 * opts.report_undocumented. */
void dg_validator_set_report_undocumented(dg_validator *v, int on);
/* Feeds raw bytes (JSON text) of the value. Returns 0, or a negative code
 * when the JSON is malformed / over a limit (then finish reports it as a
 * `parse` violation with its location). */
int dg_validator_feed(dg_validator *v, const char *p, size_t n);
/* Ends the value and fills *out (owned by the validator). Returns 0 when the
 * validation ran (valid or not), negative on internal error. */
int dg_validator_finish(dg_validator *v, dg_result *out);

/* Validates a whole jansson value (numbers use doc's exact text when doc is
 * given). Equivalent to begin + events + finish. */
int dg_validator_tree(dg_validator *v, int id, const json_t *instance, const dg_doc *doc,
                      dg_result *out);

/* Direct event input (for tests/other sources): same contract as the
 * tokenizer sink. Returns 0 or DG_ESTOP on internal error. */
int dg_validator_event(dg_validator *v, dg_json_ev ev, const dg_json_token *tok);

#endif
