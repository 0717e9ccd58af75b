/* validate/schemaset_internal.h (private): the schemaset's insides, shared
 * by schemaset.c (registry, $ref resolution) and compile.c (keywords). */
#ifndef DG_VALIDATE_SCHEMASET_INTERNAL_H
#define DG_VALIDATE_SCHEMASET_INTERNAL_H

#include <limits.h>

#include "common/buf.h"
#include "validate/schema_internal.h"

typedef struct dg_doc_entry { dg_doc *doc; char *uri; json_t *root; int owned; } dg_doc_entry;
typedef struct dg_reg { char *uri; json_t *node; dg_doc *doc; char *base; json_t *resource; } dg_reg;
typedef struct dg_map { char *prefix; char *path; } dg_map;
typedef struct dg_dyn {
    const json_t *resource;
    const char *name;
    int32_t node;       /* -1 until compiled */
    json_t *js;
    dg_doc *doc;
    const char *base;
} dg_dyn;
typedef struct dg_memo { const json_t *key; int32_t node; } dg_memo;

struct dg_schemaset {
    dg_compile_opts opts;
    dg_node *nodes;
    size_t n_nodes, cap_nodes;
    dg_doc_entry *docs;
    size_t n_docs, cap_docs;
    dg_reg *reg;
    size_t n_reg, cap_reg;
    dg_map *maps;
    size_t n_maps, cap_maps;
    dg_dyn *dyn;
    size_t n_dyn, cap_dyn;
    dg_lint_item *lint;
    size_t n_lint, cap_lint;
    dg_memo *memo;          /* open addressing, size memo_mask+1 */
    size_t memo_mask, memo_n;
    dg_arena arena;
    json_t **owned;         /* trees built while compiling, released with the set */
    size_t n_owned, cap_owned;
};

typedef struct dg_target {
    json_t *node;
    dg_doc *doc;
    char base[2048];
    char uri[2048];
    json_t *resource;
} dg_target;

int dg__grow(void **arr, size_t *cap, size_t elem);
/* Keeps j (a reference the caller passes on) until the set is freed. */
int dg__own(dg_schemaset *s, json_t *j);
int dg__reg_add(dg_schemaset *s, const char *uri, size_t len, json_t *node, dg_doc *doc,
                const char *base, json_t *resource);
const dg_reg *dg__reg_find(const dg_schemaset *s, const char *uri, size_t len);
int dg__resolve(dg_schemaset *s, const char *base, const char *ref, dg_dialect d,
                dg_target *out, dg_error *err);
int dg__scan(dg_schemaset *s, json_t *node, const char *base, dg_doc *doc, dg_dialect d);
dg_dialect dg__dialect_of(const json_t *schema, dg_dialect dflt);
int dg__schemaset_id_of(const dg_schemaset *s, const json_t *schema);
int dg__compile_at(dg_schemaset *s, json_t *schema, dg_dialect d, const char *pointer, int *id,
                   dg_error *err);
json_t *dg__entry_root(const dg_schemaset *s, const dg_doc *d);
const char *dg__doc_uri(const dg_schemaset *s, const dg_doc *d);
void dg__where(const dg_schemaset *s, const dg_doc *doc, const json_t *node, char *out, size_t n);

#endif
