/* validate/doc_internal.h: private parts of the document loader shared by
 * doc.c (public API, side tables, JSON) and doc_yaml.c (YAML).
 *
 * Both side tables are open-addressing hash maps keyed by the json_t pointer:
 * a spec has hundreds of thousands of nodes and every one gets a location, so
 * the map must cost a few nanoseconds per insert and about 16 bytes a node. */
#ifndef DG_VALIDATE_DOC_INTERNAL_H
#define DG_VALIDATE_DOC_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "validate/doc.h"

/* Nesting depth of arrays+objects accepted in either syntax. */
#define DG_DOC_MAX_DEPTH 1000u

/* Alias expansion bound: a YAML document may not stand for more than this
 * many nodes once every alias is expanded ("billion laughs"), nor for more
 * than DG_DOC_EXPAND_FACTOR times its own node count (with a floor so small
 * documents may still reuse anchors freely). */
#define DG_DOC_MAX_EXPANDED 10000000u
#define DG_DOC_EXPAND_FACTOR 100u
#define DG_DOC_EXPAND_FLOOR 100000u

/* Pointer -> 64-bit value. key NULL marks an empty slot. */
typedef struct dg_ptrmap_slot {
    const void *key;
    uint64_t val;
} dg_ptrmap_slot;

typedef struct dg_ptrmap {
    dg_ptrmap_slot *slots;
    size_t cap;    /* power of two, or 0 */
    size_t count;
} dg_ptrmap;

int dg_ptrmap_put(dg_ptrmap *m, const void *key, uint64_t val);  /* 0 or DG_ENOMEM */
int dg_ptrmap_get(const dg_ptrmap *m, const void *key, uint64_t *val); /* 1 found, 0 not */
void dg_ptrmap_del(dg_ptrmap *m, const void *key);
void dg_ptrmap_free(dg_ptrmap *m);

struct dg_doc {
    json_t *root;       /* owned reference */
    char *name;         /* owned */
    dg_ptrmap locs;     /* node -> line << 32 | col */
    dg_ptrmap nums;     /* real node -> char * number text in arena */
    dg_arena arena;     /* number texts */
};

/* Records where node starts (1-based). 0 or DG_ENOMEM. */
int dg_doc__set_loc(dg_doc *d, const json_t *node, unsigned line, unsigned col);

/* Makes a real for a decimal text in JSON number grammar (len bytes, not
 * NUL-terminated) and records the text. Values beyond the double range
 * become +-DBL_MAX (jansson refuses inf); the text stays exact.
 * Returns a new reference or NULL on allocation failure. */
json_t *dg_doc__real_from_text(dg_doc *d, const char *s, size_t len);

/* Drops a reference to a node that was built during loading but is not part
 * of the final tree, first forgetting the side-table entries of every node
 * that the drop frees (so a later node at a reused address cannot inherit a
 * stale location or number text). */
void dg_doc__discard(dg_doc *d, json_t *node);

/* Loads YAML text into d->root, filling d's tables. On error returns a DG_E*
 * code with err filled (file set by the caller). */
int dg_doc__load_yaml(dg_doc *d, const char *p, size_t n, dg_error *err);

/* 1-based line and column (bytes) of byte offset off in p. */
void dg_doc__line_col(const char *p, size_t n, size_t off, unsigned *line, unsigned *col);

#endif
