/* validate/schemaset.c: documents, the URI registry and $ref resolution.
 * The keyword compiler is in compile.c. */
#include "validate/schemaset_internal.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/text.h"
#include "validate/uri.h"

const char *dg_dialect_name(dg_dialect d)
{
    switch (d) {
    case DG_DIALECT_DRAFT4: return "draft4";
    case DG_DIALECT_2020_12: return "2020-12";
    case DG_DIALECT_OAS30: return "oas3.0";
    case DG_DIALECT_OAS31: return "oas3.1";
    case DG_DIALECT_SWAGGER2: return "swagger2.0";
    default: return "auto";
    }
}

dg_dialect dg_dialect_parse(const char *s)
{
    static const struct { const char *n; dg_dialect d; } t[] = {
        {"draft4", DG_DIALECT_DRAFT4}, {"draft-04", DG_DIALECT_DRAFT4},
        {"2020-12", DG_DIALECT_2020_12}, {"draft2020-12", DG_DIALECT_2020_12},
        {"oas3.0", DG_DIALECT_OAS30}, {"oas3.1", DG_DIALECT_OAS31},
        {"swagger2.0", DG_DIALECT_SWAGGER2}, {"swagger2", DG_DIALECT_SWAGGER2},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].n))
            return t[i].d;
    return DG_DIALECT_AUTO;
}

const char *dg_kind_name(dg_kind k)
{
    static const char *n[] = {"type", "required", "enum", "format", "pattern", "additional",
                              "bounds", "combinator", "parse", "content_type",
                              "undocumented_status", "other"};
    return (unsigned)k < DG_KIND_COUNT ? n[k] : "other";
}

dg_schemaset *dg_schemaset_new(const dg_compile_opts *opts)
{
    dg_schemaset *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (opts)
        s->opts = *opts;
    else
        s->opts.assert_formats = -1;
    if (s->opts.dialect == DG_DIALECT_AUTO)
        s->opts.dialect = DG_DIALECT_2020_12;
    return s;
}

static void free_node(dg_node *n)
{
    free(n->all_of); free(n->any_of); free(n->one_of);
    if (n->disc) {
        free(n->disc->values); free(n->disc->lens); free(n->disc->branch); free(n->disc);
    }
    free(n->props); free(n->prop_hash);
    for (uint32_t i = 0; i < n->n_pattern_props; i++)
        dg_regex_free(n->pattern_props[i].re);
    free(n->pattern_props);
    for (uint32_t i = 0; i < n->n_dep_required; i++) {
        free(n->dep_required[i].names); free(n->dep_required[i].lens);
    }
    free(n->dep_required); free(n->dep_schemas); free(n->dep_schema_names);
    free(n->prefix);
    dg_regex_free(n->pattern);
    free(n->spattern);
    free(n->minimum.text); free(n->maximum.text); free(n->multiple_of.text);
    free(n->minimum.orig); free(n->maximum.orig); free(n->multiple_of.orig);
    for (uint32_t i = 0; i < n->n_enum; i++)
        free(n->enum_v[i].dec_buf);
    free(n->enum_v);
}

void dg_schemaset_free(dg_schemaset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_nodes; i++)
        free_node(&s->nodes[i]);
    free(s->nodes);
    for (size_t i = 0; i < s->n_docs; i++)
        if (s->docs[i].owned)
            dg_doc_free(s->docs[i].doc);
    free(s->docs);
    free(s->reg);
    free(s->maps);
    free(s->dyn);
    free(s->lint);
    free(s->memo);
    for (size_t i = 0; i < s->n_owned; i++)
        json_decref(s->owned[i]);
    free(s->owned);
    dg_arena_free(&s->arena);
    free(s);
}

const dg_node *dg_schemaset_nodes(const dg_schemaset *s) { return s->nodes; }
size_t dg_schemaset_node_count(const dg_schemaset *s) { return s->n_nodes; }
size_t dg_schemaset_lint_count(const dg_schemaset *s) { return s->n_lint; }
const dg_lint_item *dg_schemaset_lint_get(const dg_schemaset *s, size_t i)
{
    return i < s->n_lint ? &s->lint[i] : NULL;
}

#define GROW(arr, n, cap)                                                      \
    ((n) < (cap) ? 0 : dg__grow((void **)&(arr), &(cap), sizeof *(arr)))

int dg__grow(void **arr, size_t *cap, size_t elem)
{
    size_t nc = *cap ? *cap * 2 : 16;
    if (nc > SIZE_MAX / elem)
        return DG_ENOMEM;
    void *p = realloc(*arr, nc * elem);
    if (!p)
        return DG_ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

int dg__own(dg_schemaset *s, json_t *j)
{
    if (GROW(s->owned, s->n_owned, s->cap_owned)) {
        json_decref(j);
        return DG_ENOMEM;
    }
    s->owned[s->n_owned++] = j;
    return 0;
}

const dg_doc *dg_schemaset_doc_of(const dg_schemaset *s, const json_t *node)
{
    unsigned l, c;
    for (size_t i = 0; i < s->n_docs; i++)
        if (s->docs[i].root == node || dg_doc_root(s->docs[i].doc) == node ||
            dg_doc_loc(s->docs[i].doc, node, &l, &c) == 0)
            return s->docs[i].doc;
    return NULL;
}

const char *dg__doc_uri(const dg_schemaset *s, const dg_doc *d)
{
    for (size_t i = 0; i < s->n_docs; i++)
        if (s->docs[i].doc == d)
            return s->docs[i].uri;
    return "";
}

void dg__where(const dg_schemaset *s, const dg_doc *doc, const json_t *node, char *out, size_t n)
{
    unsigned l = 0, c = 0;
    if (!doc)
        doc = dg_schemaset_doc_of(s, node);
    if (doc && node && dg_doc_loc(doc, node, &l, &c) == 0)
        snprintf(out, n, "%s:%u:%u", dg_doc_name(doc), l, c);
    else
        snprintf(out, n, "%s", doc ? dg_doc_name(doc) : "");
}

void dg_schemaset_lint_add(dg_schemaset *s, const dg_doc *doc, const json_t *node,
                           const char *pointer, const char *fmt, ...)
{
    if (s->n_lint >= 100000 || GROW(s->lint, s->n_lint, s->cap_lint))
        return;
    dg_lint_item *it = &s->lint[s->n_lint++];
    dg__where(s, doc, node, it->where, sizeof it->where);
    snprintf(it->pointer, sizeof it->pointer, "%s", pointer ? pointer : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->message, sizeof it->message, fmt, ap);
    va_end(ap);
}

/* ---- registry ---- */

int dg__reg_add(dg_schemaset *s, const char *uri, size_t len, json_t *node, dg_doc *doc,
                const char *base, json_t *resource)
{
    for (size_t i = 0; i < s->n_reg; i++)
        if (strlen(s->reg[i].uri) == len && !memcmp(s->reg[i].uri, uri, len))
            return 0; /* first wins */
    if (GROW(s->reg, s->n_reg, s->cap_reg))
        return DG_ENOMEM;
    char *u = dg_arena_strndup(&s->arena, uri, len);
    char *b = base ? dg_arena_strndup(&s->arena, base, strlen(base)) : u;
    if (!u || !b)
        return DG_ENOMEM;
    s->reg[s->n_reg++] = (dg_reg){u, node, doc, b, resource ? resource : node};
    return 0;
}

const dg_reg *dg__reg_find(const dg_schemaset *s, const char *uri, size_t len)
{
    for (size_t i = 0; i < s->n_reg; i++)
        if (strlen(s->reg[i].uri) == len && !memcmp(s->reg[i].uri, uri, len))
            return &s->reg[i];
    return NULL;
}

static int is_draft4ish(dg_dialect d)
{
    return d == DG_DIALECT_DRAFT4 || d == DG_DIALECT_OAS30 || d == DG_DIALECT_SWAGGER2;
}

dg_dialect dg__dialect_of(const json_t *schema, dg_dialect dflt)
{
    json_t *sch = json_is_object(schema) ? json_object_get(schema, "$schema") : NULL;
    if (json_is_string(sch)) {
        const char *u = json_string_value(sch);
        if (strstr(u, "draft-04"))
            return DG_DIALECT_DRAFT4;
        if (strstr(u, "2020-12"))
            return dflt == DG_DIALECT_OAS31 ? DG_DIALECT_OAS31 : DG_DIALECT_2020_12;
    }
    return dflt;
}

/* Walks the schema keywords of node, registering $id/$anchor/$dynamicAnchor. */
static int scan(dg_schemaset *s, json_t *node, const char *base, dg_doc *doc, dg_dialect d,
                int depth, json_t *res)
{
    if (!json_is_object(node) || depth > 200)
        return 0;
    d = dg__dialect_of(node, d);
    dg_buf nb = DG_BUF_INIT;
    const char *idkey = is_draft4ish(d) ? "id" : "$id";
    json_t *id = json_object_get(node, idkey);
    int rc = 0;
    if (json_is_string(id) && !json_object_get(node, is_draft4ish(d) ? "$ref" : "\x01")) {
        const char *ids = json_string_value(id);
        if (dg_uri_resolve(base, ids, &nb))
            return DG_ENOMEM;
        size_t nolen = dg_uri_strip_fragment(nb.data);
        if (is_draft4ish(d) && ids[0] == '#') {
            rc = dg__reg_add(s, nb.data, nb.len, node, doc, base, res);
        } else {
            res = node;
            rc = dg__reg_add(s, nb.data, nolen, node, doc, NULL, node);
            nb.len = nolen;
            nb.data[nolen] = '\0';
            base = nb.data;
        }
    }
    const char *anchors[] = {"$anchor", "$dynamicAnchor"};
    for (int k = 0; k < 2 && !rc && !is_draft4ish(d); k++) {
        json_t *a = json_object_get(node, anchors[k]);
        if (json_is_string(a)) {
            dg_buf u = DG_BUF_INIT;
            rc = dg_buf_printf(&u, "%.*s#%s", (int)dg_uri_strip_fragment(base), base,
                               json_string_value(a));
            if (!rc)
                rc = dg__reg_add(s, u.data, u.len, node, doc, base, res);
            if (!rc && k == 1 && s->n_dyn < 100000) {
                if (s->n_dyn >= s->cap_dyn && dg__grow((void **)&s->dyn, &s->cap_dyn, sizeof *s->dyn))
                    rc = DG_ENOMEM;
                else
                    s->dyn[s->n_dyn++] = (dg_dyn){res, dg_arena_strndup(&s->arena, json_string_value(a),
                                                                      json_string_length(a)),
                                                  -1, node, doc,
                                                  dg_arena_strndup(&s->arena, base, strlen(base))};
            }
            dg_buf_free(&u);
        }
    }
    static const char *single[] = {"additionalProperties", "additionalItems", "items", "contains",
                                   "not", "if", "then", "else", "propertyNames",
                                   "unevaluatedProperties", "unevaluatedItems", NULL};
    static const char *arrays[] = {"allOf", "anyOf", "oneOf", "prefixItems", "items", NULL};
    static const char *maps[] = {"properties", "patternProperties", "$defs", "definitions",
                                 "dependentSchemas", "dependencies", NULL};
    for (int i = 0; single[i] && !rc; i++)
        rc = scan(s, json_object_get(node, single[i]), base, doc, d, depth + 1, res);
    for (int i = 0; arrays[i] && !rc; i++) {
        json_t *a = json_object_get(node, arrays[i]);
        size_t j;
        json_t *v;
        if (json_is_array(a))
            json_array_foreach(a, j, v) if (!rc) rc = scan(s, v, base, doc, d, depth + 1, res);
    }
    for (int i = 0; maps[i] && !rc; i++) {
        json_t *m = json_object_get(node, maps[i]);
        const char *k;
        json_t *v;
        if (json_is_object(m))
            json_object_foreach(m, k, v) if (!rc) rc = scan(s, v, base, doc, d, depth + 1, res);
    }
    dg_buf_free(&nb);
    return rc;
}

int dg__scan(dg_schemaset *s, json_t *node, const char *base, dg_doc *doc, dg_dialect d)
{
    return scan(s, node, base, doc, d, 0, node);
}

static int add_entry(dg_schemaset *s, dg_doc *doc, json_t *root, int owned, const char *uri,
                     int root_is_schema, dg_error *err)
{
    char abs[PATH_MAX + 16];
    if (!uri) {
        const char *name = dg_doc_name(doc);
        char rp[PATH_MAX];
        if (realpath(name, rp))
            snprintf(abs, sizeof abs, "file://%s", rp);
        else
            snprintf(abs, sizeof abs, "file://%s", name);
        uri = abs;
    }
    if (GROW(s->docs, s->n_docs, s->cap_docs)) {
        if (owned)
            dg_doc_free(doc);
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    size_t ul = dg_uri_strip_fragment(uri);
    char *u = dg_arena_strndup(&s->arena, uri, ul);
    if (!u) {
        if (owned)
            dg_doc_free(doc);
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    s->docs[s->n_docs++] = (dg_doc_entry){doc, u, root, owned};
    int rc = dg__reg_add(s, u, ul, root, doc, NULL, root);
    if (!rc && root_is_schema)
        rc = scan(s, root, u, doc, dg__dialect_of(root, s->opts.dialect), 0, root);
    if (rc)
        return dg_error_set(err, rc, "out of memory registering %s", u);
    return 0;
}

int dg_schemaset_add_doc(dg_schemaset *s, dg_doc *doc, const char *uri, int root_is_schema,
                         dg_error *err)
{
    return add_entry(s, doc, dg_doc_root(doc), 1, uri, root_is_schema, err);
}

int dg_schemaset_add_root(dg_schemaset *s, const dg_doc *doc, json_t *root, const char *uri,
                          int root_is_schema, dg_error *err)
{
    return add_entry(s, (dg_doc *)doc, root, 0, uri, root_is_schema, err);
}

json_t *dg__entry_root(const dg_schemaset *s, const dg_doc *d)
{
    for (size_t i = 0; i < s->n_docs; i++)
        if (s->docs[i].doc == d)
            return s->docs[i].root;
    return NULL;
}

int dg_schemaset_map(dg_schemaset *s, const char *prefix, const char *path, dg_error *err)
{
    if (GROW(s->maps, s->n_maps, s->cap_maps))
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    char *p = dg_arena_strndup(&s->arena, prefix, strlen(prefix));
    char *q = dg_arena_strndup(&s->arena, path, strlen(path));
    if (!p || !q)
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    s->maps[s->n_maps++] = (dg_map){p, q};
    return 0;
}

/* Makes sure the document for absolute URI `uri` (no fragment) is loaded. */
static const dg_reg *load_external(dg_schemaset *s, const char *uri, size_t len, dg_error *err)
{
    const dg_map *best = NULL;
    for (size_t i = 0; i < s->n_maps; i++) {
        size_t pl = strlen(s->maps[i].prefix);
        if (pl <= len && !memcmp(uri, s->maps[i].prefix, pl) &&
            (!best || pl > strlen(best->prefix)))
            best = &s->maps[i];
    }
    dg_buf path = DG_BUF_INIT;
    if (best) {
        size_t pl = strlen(best->prefix);
        dg_buf_printf(&path, "%s%.*s", best->path, (int)(len - pl), uri + pl);
    } else if (len > 7 && !memcmp(uri, "file://", 7)) {
        dg_buf_append(&path, uri + 7, len - 7);
    } else {
        dg_error_set(err, DG_ESPEC,
                     "cannot resolve remote reference %.*s: driftgate never fetches over the "
                     "network; map it to a file with --ref-map URL=PATH",
                     (int)len, uri);
        return NULL;
    }
    if (!path.data) {
        dg_error_set(err, DG_ENOMEM, "out of memory");
        return NULL;
    }
    dg_doc *doc = NULL;
    int rc = dg_doc_load_file(path.data, DG_DOC_AUTO, &doc, err);
    dg_buf_free(&path);
    if (rc)
        return NULL;
    char *u = strndup(uri, len);
    if (!u) {
        dg_doc_free(doc);
        dg_error_set(err, DG_ENOMEM, "out of memory");
        return NULL;
    }
    int is_oas = json_object_get(dg_doc_root(doc), "openapi") ||
                 json_object_get(dg_doc_root(doc), "swagger");
    rc = dg_schemaset_add_doc(s, doc, u, !is_oas, err);
    free(u);
    if (rc)
        return NULL;
    return dg__reg_find(s, uri, len);
}

int dg__resolve(dg_schemaset *s, const char *base, const char *ref, dg_dialect d,
                dg_target *out, dg_error *err)
{
    dg_buf abs = DG_BUF_INIT, frag = DG_BUF_INIT, nb = DG_BUF_INIT;
    int rc = 0;
    if (dg_uri_resolve(base, ref, &abs)) {
        rc = dg_error_set(err, DG_ENOMEM, "out of memory");
        goto done;
    }
    size_t nolen = dg_uri_strip_fragment(abs.data);
    const char *fr = abs.data[nolen] == '#' ? abs.data + nolen + 1 : "";
    /* plain-name fragment: an anchor */
    if (fr[0] && fr[0] != '/') {
        const dg_reg *r = dg__reg_find(s, abs.data, abs.len);
        if (!r) {
            if (!dg__reg_find(s, abs.data, nolen) && !load_external(s, abs.data, nolen, err)) {
                rc = err ? err->code : DG_ESPEC;
                goto done;
            }
            r = dg__reg_find(s, abs.data, abs.len);
        }
        if (!r) {
            rc = dg_error_set(err, DG_ESPEC, "unresolved reference %s: no such anchor", ref);
            goto done;
        }
        out->node = r->node;
        out->doc = r->doc;
        out->resource = r->resource;
        snprintf(out->base, sizeof out->base, "%s", r->base);
        out->base[dg_uri_strip_fragment(out->base)] = '\0';
        snprintf(out->uri, sizeof out->uri, "%s", abs.data);
        goto done;
    }
    const dg_reg *r = dg__reg_find(s, abs.data, nolen);
    if (!r)
        r = load_external(s, abs.data, nolen, err);
    if (!r) {
        rc = err && err->code ? err->code : DG_ESPEC;
        goto done;
    }
    if (dg_pct_decode(fr, strlen(fr), &frag)) {
        rc = dg_error_set(err, DG_ENOMEM, "out of memory");
        goto done;
    }
    /* Walk the pointer, following $id changes of base on the way. */
    json_t *cur = r->node;
    json_t *res = r->resource;
    dg_buf_printf(&nb, "%s", r->base);
    const char *p = frag.data ? frag.data : "";
    const char *idkey = is_draft4ish(d) ? "id" : "$id";
    while (*p == '/') {
        p++;
        const char *e = strchr(p, '/');
        size_t tl = e ? (size_t)(e - p) : strlen(p);
        dg_buf tok = DG_BUF_INIT;
        for (size_t i = 0; i < tl; i++) {
            if (p[i] == '~' && i + 1 < tl && (p[i + 1] == '0' || p[i + 1] == '1')) {
                dg_buf_putc(&tok, p[i + 1] == '0' ? '~' : '/');
                i++;
            } else {
                dg_buf_putc(&tok, p[i]);
            }
        }
        json_t *next = NULL;
        const char *ts = tok.data ? tok.data : "";
        if (json_is_object(cur)) {
            next = json_object_getn(cur, ts, tok.len);
        } else if (json_is_array(cur)) {
            char *endp;
            unsigned long ix = strtoul(ts, &endp, 10);
            if (tok.len && *endp == '\0' && (ts[0] != '0' || tok.len == 1))
                next = json_array_get(cur, ix);
        }
        dg_buf_free(&tok);
        if (!next) {
            rc = dg_error_set(err, DG_ESPEC, "unresolved reference %s: pointer does not exist",
                              ref);
            goto done;
        }
        cur = next;
        json_t *id = json_is_object(cur) ? json_object_get(cur, idkey) : NULL;
        if (json_is_string(id) && json_string_value(id)[0] != '#') {
            dg_buf t2 = DG_BUF_INIT;
            if (dg_uri_resolve(nb.data, json_string_value(id), &t2) == 0) {
                dg_buf_reset(&nb);
                dg_buf_append(&nb, t2.data, dg_uri_strip_fragment(t2.data));
                res = cur;
            }
            dg_buf_free(&t2);
        }
        p += tl;
    }
    out->node = cur;
    out->resource = res;
    out->doc = r->doc;
    snprintf(out->base, sizeof out->base, "%s", nb.data ? nb.data : "");
    snprintf(out->uri, sizeof out->uri, "%s", abs.data);
done:
    dg_buf_free(&abs);
    dg_buf_free(&frag);
    dg_buf_free(&nb);
    return rc;
}

json_t *dg_schemaset_resolve(dg_schemaset *s, const json_t *where, const char *ref, dg_error *err)
{
    const dg_doc *doc = dg_schemaset_doc_of(s, where);
    const char *base = doc ? dg__doc_uri(s, doc) : (s->n_docs ? s->docs[0].uri : "");
    dg_target t;
    if (dg__resolve(s, base, ref, s->opts.dialect, &t, err))
        return NULL;
    return t.node;
}

int32_t dg_schemaset_dyn_anchor(const dg_schemaset *s, const json_t *resource, const char *name)
{
    for (size_t i = 0; i < s->n_dyn; i++)
        if (s->dyn[i].resource == resource && !strcmp(s->dyn[i].name, name))
            return s->dyn[i].node;
    return -1;
}
