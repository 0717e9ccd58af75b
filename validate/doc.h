/* validate/doc.h: load a JSON or YAML document into a jansson tree that
 * remembers where each node came from.
 *
 * Specs, schemas and test files are loaded through here so that every error
 * about them can say file:line:col, and so that numbers jansson cannot hold
 * exactly (integers beyond int64, any non-integer) keep their original
 * decimal text for exact comparisons (dg_doc_number_text).
 *
 * JSON is parsed with our own tokenizer (validate/json.h), strictly; YAML
 * through libyaml with the YAML 1.2 core schema (plain true/false/null/~,
 * ints, floats, .inf/.nan; quoted scalars are strings; non-string mapping keys
 * such as `200:` use their source text; anchors/aliases and `<<` merge keys
 * are supported with a bound on total expanded nodes; duplicate keys are an
 * error). A document is immutable once loaded; it may be read from several
 * threads. */
#ifndef DG_VALIDATE_DOC_H
#define DG_VALIDATE_DOC_H

#include <jansson.h>
#include <stddef.h>

#include "common/error.h"

typedef struct dg_doc dg_doc;

typedef enum { DG_DOC_AUTO = 0, DG_DOC_JSON, DG_DOC_YAML } dg_doc_syntax;

/* Largest document file read (specs are a few MiB at most). */
#define DG_DOC_MAX_FILE (256u << 20)

/* Loads path (a regular file of at most DG_DOC_MAX_FILE bytes; devices and
 * FIFOs are refused without blocking). AUTO picks JSON when the first non-whitespace byte is '{' or
 * '[' (or the name ends in .json), YAML otherwise. On error returns
 * DG_EIO/DG_EPARSE/DG_ELIMIT/DG_ENOMEM with err->file/line/col set.
 * The caller owns *out (dg_doc_free). */
int dg_doc_load_file(const char *path, dg_doc_syntax syntax, dg_doc **out, dg_error *err);

/* Same from memory; name is used in locations (copied). */
int dg_doc_load_buffer(const char *name, const char *p, size_t n, dg_doc_syntax syntax,
                       dg_doc **out, dg_error *err);

/* Wraps an existing tree (takes a reference) without locations, e.g. for a
 * schema built in code. */
dg_doc *dg_doc_wrap(const char *name, json_t *root);

json_t *dg_doc_root(const dg_doc *d);   /* borrowed */
const char *dg_doc_name(const dg_doc *d);  /* file path or name given */

/* Location of a node that belongs to this document: 0 and line/col (1-based)
 * set, or DG_ENOTFOUND. For a key's value, the location is the value's.
 * true/false/null are jansson singletons shared by every document, so they
 * have no location: use the enclosing object's. */
int dg_doc_loc(const dg_doc *d, const json_t *node, unsigned *line, unsigned *col);

/* Original decimal text of a number node when it was not an int64
 * integer (e.g. "1.0", "1e2", "18446744073709551616"); NULL otherwise. */
const char *dg_doc_number_text(const dg_doc *d, const json_t *node);

void dg_doc_free(dg_doc *d);

/* RFC 6901 JSON pointer lookup ("" = root). Handles ~0/~1. When
 * uri_fragment is non-zero the pointer is first percent-decoded (as in a URI
 * fragment "#/paths/~1pets/get"). Borrowed result, or NULL. */
json_t *dg_json_pointer_get(json_t *root, const char *ptr, size_t len, int uri_fragment);

/* Appends one reference token to a pointer being built, escaping ~ and /. */
struct dg_buf;
int dg_json_pointer_append(struct dg_buf *b, const char *tok, size_t len);

#endif
