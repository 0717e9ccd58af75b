/* validate/spec.c: OpenAPI/Swagger documents -> router + compiled schemas. */
#include "validate/spec.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "validate/schemaset_internal.h"

struct dg_spec {
    dg_schemaset *set;
    dg_router *router;
    json_t *root;         /* the root document's (owned by set) */
    dg_dialect dialect;
    char version[32];
    char hash[65];
    size_t n_schemas;
    dg_lint_item *lint;   /* spec-level items (router, unresolved, unreachable) */
    size_t n_lint, cap_lint;
    int lint_mode;
    const json_t **broken;  /* lint mode: response schemas that failed to compile */
    size_t n_broken, cap_broken;
    /* response schemas that are arrays with an `items` schema, and the
     * program of those items (for newline-/RS-delimited sequences): sorted
     * by schema address once loading is done */
    struct item_entry { const json_t *schema; int item_id; } *items;
    size_t n_items, cap_items;
};

static json_t *resolver(void *ctx, const json_t *where, const char *ref, dg_error *err)
{
    return dg_schemaset_resolve(ctx, where, ref, err);
}

static void spec_lint(dg_spec *sp, const dg_error *e)
{
    char m[1200];
    dg_error_format(e, m, sizeof m);
    dg_schemaset_lint_add(sp->set, NULL, NULL, e->pointer, "%s", e->msg);
    /* the schemaset lint item has no location for a NULL node: patch it in */
    size_t n = dg_schemaset_lint_count(sp->set);
    dg_lint_item *it = (dg_lint_item *)dg_schemaset_lint_get(sp->set, n - 1);
    if (it && e->line)
        snprintf(it->where, sizeof it->where, "%s:%u:%u", e->file, e->line, e->col);
    else if (it && e->file[0])
        snprintf(it->where, sizeof it->where, "%s", e->file);
}

static int hash_file(const char *path, char out[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) {
        fclose(f);
        return -1;
    }
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    unsigned char md[32];
    unsigned int ml = 0;
    EVP_DigestFinal_ex(ctx, md, &ml);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* Compiles one schema found at pointer; in lint mode a failure is recorded
 * and loading goes on. */
static int compile_one(dg_spec *sp, json_t *schema, const char *pointer, dg_error *err)
{
    int id;
    dg_error e;
    memset(&e, 0, sizeof e);
    if (!pointer) /* its buffer could not be allocated (ptr_join) */
        return dg_error_set(err, DG_ENOMEM, "out of memory loading the spec");
    if (dg__compile_at(sp->set, schema, sp->dialect, pointer, &id, &e) == 0)
        return 0;
    if (sp->lint_mode) {
        spec_lint(sp, &e);
        if (sp->n_broken == sp->cap_broken) {
            size_t nc = sp->cap_broken ? sp->cap_broken * 2 : 16;
            const json_t **b = realloc(sp->broken, nc * sizeof *b);
            if (!b)
                return DG_ENOMEM;
            sp->broken = b;
            sp->cap_broken = nc;
        }
        sp->broken[sp->n_broken++] = schema;
        return 0;
    }
    if (err)
        *err = e;
    return e.code ? e.code : DG_ESPEC;
}

/* b = base + "/" + escaped tok. When memory runs out b->data may stay NULL
 * (base may be such a NULL too): compile_one refuses a NULL pointer. */
static void ptr_join(dg_buf *b, const char *base, const char *tok)
{
    dg_buf_reset(b);
    if (!base || dg_buf_append(b, base, strlen(base)) ||
        dg_json_pointer_append(b, tok, strlen(tok))) {
        dg_buf_free(b);
        return;
    }
}

/* "type": "array", or (3.1) a list of types that allows arrays and
 * otherwise at most null. */
static int is_array_type(const json_t *t)
{
    if (json_is_string(t))
        return !strcmp(json_string_value(t), "array");
    if (!json_is_array(t))
        return 0;
    size_t i;
    json_t *x;
    int arr = 0;
    json_array_foreach(t, i, x) {
        if (!json_is_string(x))
            return 0;
        if (!strcmp(json_string_value(x), "array"))
            arr = 1;
        else if (strcmp(json_string_value(x), "null"))
            return 0;
    }
    return arr;
}

/* A response schema (already compiled, at pointer) that documents an array
 * of items: remember the items' program, for bodies sent as a sequence of
 * JSON texts (x-ndjson, json-seq) where each text is one item. Everything
 * is compiled here, at load, so the spec stays immutable afterwards. */
static int note_items(dg_spec *sp, json_t *schema, const char *pointer, dg_error *err)
{
    json_t *t = schema;
    for (int guard = 0; json_is_object(t) && guard < 16; guard++) {
        json_t *ref = json_object_get(t, "$ref");
        if (!json_is_string(ref) || json_object_get(t, "type"))
            break;
        dg_error e;
        memset(&e, 0, sizeof e);
        t = dg_schemaset_resolve(sp->set, t, json_string_value(ref), &e);
        if (!t)
            return 0; /* the schema compiled, so this cannot happen; nothing to note */
    }
    if (!json_is_object(t) || !is_array_type(json_object_get(t, "type")))
        return 0;
    json_t *items = json_object_get(t, "items");
    if (!json_is_object(items))
        return 0;
    /* compiled with the array as one of its subschemas */
    int id = dg__schemaset_id_of(sp->set, items);
    if (id < 0) {
        dg_buf p = DG_BUF_INIT;
        dg_buf_printf(&p, "%s/items", pointer);
        int rc = dg__compile_at(sp->set, items, sp->dialect, p.data, &id, err);
        dg_buf_free(&p);
        if (rc)
            return sp->lint_mode ? 0 : rc;
    }
    if (sp->n_items == sp->cap_items) {
        size_t nc = sp->cap_items ? sp->cap_items * 2 : 16;
        struct item_entry *n = realloc(sp->items, nc * sizeof *n);
        if (!n)
            return dg_error_set(err, DG_ENOMEM, "out of memory");
        sp->items = n;
        sp->cap_items = nc;
    }
    sp->items[sp->n_items].schema = schema;
    sp->items[sp->n_items].item_id = id;
    sp->n_items++;
    return 0;
}

static int item_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const struct item_entry *)a)->schema;
    uintptr_t y = (uintptr_t)((const struct item_entry *)b)->schema;
    return x < y ? -1 : x > y;
}

/* Items program of a response schema, or -1 when it is not an array. */
static int item_id_of(const dg_spec *s, const json_t *schema)
{
    struct item_entry key = {schema, -1};
    const struct item_entry *e =
        s->n_items ? bsearch(&key, s->items, s->n_items, sizeof key, item_cmp) : NULL;
    return e ? e->item_id : -1;
}

/* compile_one + note_items, unless the schema is broken (lint mode) */
static int compile_response_schema(dg_spec *sp, json_t *schema, const char *pointer, dg_error *err)
{
    int rc = compile_one(sp, schema, pointer, err);
    if (rc)
        return rc;
    sp->n_schemas++;
    if (sp->n_broken && sp->broken[sp->n_broken - 1] == schema)
        return 0;
    return note_items(sp, schema, pointer, err);
}

static int compile_responses(dg_spec *sp, const dg_route_op *op, dg_error *err)
{
    json_t *responses = json_object_get(op->operation, "responses");
    if (!json_is_object(responses))
        return 0;
    const char *code;
    json_t *resp;
    dg_buf p1 = DG_BUF_INIT, p2 = DG_BUF_INIT;
    int rc = 0;
    json_object_foreach(responses, code, resp) {
        if (!strncmp(code, "x-", 2))
            continue;
        dg_buf base = DG_BUF_INIT;
        dg_buf_printf(&base, "%s/responses", op->pointer);
        ptr_join(&p1, base.data, code);
        dg_buf_free(&base);
        json_t *r = resp;
        int guard = 0;
        while (json_is_object(r) && json_is_string(json_object_get(r, "$ref")) && guard++ < 16) {
            dg_error e;
            memset(&e, 0, sizeof e);
            json_t *t = dg_schemaset_resolve(sp->set, r, json_string_value(json_object_get(r, "$ref")), &e);
            if (!t) {
                dg_error_locate(&e, NULL, 0, 0, p1.data);
                if (!e.file[0]) {
                    const dg_doc *d = dg_schemaset_doc_of(sp->set, r);
                    unsigned l, c;
                    if (d && dg_doc_loc(d, r, &l, &c) == 0)
                        dg_error_locate(&e, dg_doc_name(d), l, c, NULL);
                }
                if (sp->lint_mode) {
                    spec_lint(sp, &e);
                    r = NULL;
                    break;
                }
                e.code = DG_ESPEC; /* e.g. a missing referenced file: the spec is broken */
                if (err)
                    *err = e;
                rc = DG_ESPEC;
                goto out;
            }
            r = t;
        }
        if (!json_is_object(r))
            continue;
        if (sp->dialect == DG_DIALECT_SWAGGER2) {
            json_t *schema = json_object_get(r, "schema");
            if (schema) {
                ptr_join(&p2, p1.data, "schema");
                if ((rc = compile_response_schema(sp, schema, p2.data, err)))
                    goto out;
            }
            continue;
        }
        json_t *content = json_object_get(r, "content");
        const char *mt;
        json_t *media;
        if (json_is_object(content)) {
            json_object_foreach(content, mt, media) {
                json_t *schema = json_is_object(media) ? json_object_get(media, "schema") : NULL;
                if (!schema)
                    continue;
                dg_buf cb = DG_BUF_INIT;
                ptr_join(&cb, p1.data, "content");
                ptr_join(&p2, cb.data, mt);
                dg_buf_free(&cb);
                if (p2.data && dg_buf_append(&p2, "/schema", 7))
                    dg_buf_free(&p2);
                if ((rc = compile_response_schema(sp, schema, p2.data, err)))
                    goto out;
            }
        }
    }
out:
    dg_buf_free(&p1);
    dg_buf_free(&p2);
    return rc;
}

/* OAS 3.0: `nullable` inside allOf branches does not make the parent
 * nullable; flag it so spec owners can fix it. */
static void lint_nullable_allof(dg_spec *sp, json_t *node, const char *ptr, int depth)
{
    if (depth > 64 || !json_is_object(node))
        return;
    json_t *all = json_object_get(node, "allOf");
    if (json_is_array(all) && !json_is_true(json_object_get(node, "nullable"))) {
        size_t i;
        json_t *b;
        json_array_foreach(all, i, b) {
            if (json_is_true(json_object_get(b, "nullable")))
                dg_schemaset_lint_add(sp->set, NULL, b, ptr,
                                      "nullable inside allOf branch %zu does not make the value nullable (OAS 3.0): "
                                      "null fails the other branches; put nullable next to allOf",
                                      i);
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach(node, k, v) {
        if (json_is_object(v) || json_is_array(v)) {
            dg_buf b = DG_BUF_INIT;
            ptr_join(&b, ptr, k);
            if (json_is_array(v)) {
                size_t i;
                json_t *x;
                json_array_foreach(v, i, x) {
                    dg_buf b2 = DG_BUF_INIT;
                    dg_buf_printf(&b2, "%s/%zu", b.data ? b.data : "", i);
                    lint_nullable_allof(sp, x, b2.data, depth + 1);
                    dg_buf_free(&b2);
                }
            } else {
                lint_nullable_allof(sp, v, b.data, depth + 1);
            }
            dg_buf_free(&b);
        }
    }
}

static void lint_unreachable(dg_spec *sp)
{
    size_t n = dg_router_count(sp->router);
    for (size_t i = 0; i < n; i++) {
        const dg_route_op *a = dg_router_get(sp->router, i);
        /* match the operation's own template with variables replaced by a
         * sample value: if a different operation answers, this one can be
         * shadowed for some requests */
        dg_buf p = DG_BUF_INIT;
        for (const char *c = a->path_template; *c; c++) {
            if (*c == '{') {
                const char *e = strchr(c, '}');
                if (!e)
                    break;
                dg_buf_append(&p, "x1", 2);
                c = e;
            } else {
                dg_buf_putc(&p, *c);
            }
        }
        /* base path: try matching with every server prefix the router knows
         * by asking it for the template as is */
        const dg_route_op *m = p.data ? dg_router_match(sp->router, a->method, p.data, p.len) : NULL;
        if (m && m != a && strcmp(m->path_template, a->path_template) &&
            !strchr(a->path_template, '{') == !strchr(m->path_template, '{'))
            dg_schemaset_lint_add(sp->set, NULL, a->operation, a->pointer,
                                  "operation %s (%s %s) is shadowed by %s (%s) for some paths",
                                  a->label, a->method, a->path_template, m->label, m->path_template);
        dg_buf_free(&p);
    }
}

int dg_spec_load(const char *path, const dg_spec_opts *opts, dg_spec **out, dg_error *err)
{
    *out = NULL;
    dg_spec *sp = calloc(1, sizeof *sp);
    if (!sp)
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    sp->lint_mode = opts ? opts->lint : 0;
    dg_doc *doc = NULL;
    int rc = dg_doc_load_file(path, DG_DOC_AUTO, &doc, err);
    if (rc) {
        free(sp);
        return rc;
    }
    json_t *root = dg_doc_root(doc);
    json_t *ver = json_object_get(root, "openapi");
    json_t *sw = json_object_get(root, "swagger");
    if (json_is_string(ver) && !strncmp(json_string_value(ver), "3.0", 3)) {
        sp->dialect = DG_DIALECT_OAS30;
    } else if (json_is_string(ver) && !strncmp(json_string_value(ver), "3.1", 3)) {
        sp->dialect = DG_DIALECT_OAS31;
    } else if (json_is_string(sw) && !strcmp(json_string_value(sw), "2.0")) {
        sp->dialect = DG_DIALECT_SWAGGER2;
    } else {
        dg_doc_free(doc);
        free(sp);
        rc = dg_error_set(err, DG_ESPEC,
                          "not an OpenAPI document: expected \"openapi\": \"3.0.x\"/\"3.1.x\" or \"swagger\": \"2.0\"");
        dg_error_locate(err, path, 0, 0, NULL);
        return rc;
    }
    snprintf(sp->version, sizeof sp->version, "%s",
             json_string_value(ver ? ver : sw));
    hash_file(path, sp->hash);
    dg_compile_opts co = {sp->dialect, opts ? opts->assert_formats : -1};
    sp->set = dg_schemaset_new(&co);
    if (!sp->set) {
        dg_doc_free(doc);
        free(sp);
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; opts && i < opts->n_ref_map; i++)
        dg_schemaset_map(sp->set, opts->ref_map[2 * i], opts->ref_map[2 * i + 1], NULL);
    if ((rc = dg_schemaset_add_doc(sp->set, doc, NULL, 0, err)))
        goto fail;
    sp->root = root;
    /* 3.1 schemas may carry $id/$anchor: register them */
    json_t *comps = sp->dialect == DG_DIALECT_SWAGGER2
                        ? json_object_get(root, "definitions")
                        : json_object_get(json_object_get(root, "components"), "schemas");
    if (sp->dialect == DG_DIALECT_OAS31 && json_is_object(comps)) {
        const char *k;
        json_t *v;
        json_object_foreach(comps, k, v)
            dg__scan(sp->set, v, dg__doc_uri(sp->set, doc), doc, sp->dialect);
    }
    if ((rc = dg_router_new(root, resolver, sp->set, &sp->router, err))) {
        if (!err || !err->file[0]) {
            unsigned l = 0, c = 0;
            json_t *at = err && err->pointer[0] ? dg_json_pointer_get(root, err->pointer, strlen(err->pointer), 0) : NULL;
            if (at)
                dg_doc_loc(doc, at, &l, &c);
            dg_error_locate(err, path, l, c, NULL);
        }
        goto fail;
    }
    size_t n = dg_router_count(sp->router);
    for (size_t i = 0; i < n; i++)
        if ((rc = compile_responses(sp, dg_router_get(sp->router, i), err)))
            goto fail;
    if (json_is_object(comps)) {
        const char *k;
        json_t *v;
        dg_buf p = DG_BUF_INIT;
        json_object_foreach(comps, k, v) {
            ptr_join(&p, sp->dialect == DG_DIALECT_SWAGGER2 ? "/definitions" : "/components/schemas", k);
            if ((rc = compile_one(sp, v, p.data, err))) {
                dg_buf_free(&p);
                goto fail;
            }
        }
        dg_buf_free(&p);
    }
    if (sp->dialect != DG_DIALECT_OAS31)
        lint_nullable_allof(sp, json_object_get(root, "components") ? json_object_get(root, "components")
                                                                      : json_object_get(root, "definitions"),
                            json_object_get(root, "components") ? "/components" : "/definitions", 0);
    lint_unreachable(sp);
    if (sp->n_items > 1)
        qsort(sp->items, sp->n_items, sizeof *sp->items, item_cmp);
    *out = sp;
    return 0;
fail:
    dg_spec_free(sp);
    if (err && err->code == 0)
        err->code = rc;
    return rc;
}

void dg_spec_free(dg_spec *s)
{
    if (!s)
        return;
    dg_router_free(s->router);
    dg_schemaset_free(s->set);
    free(s->lint);
    free(s->broken);
    free(s->items);
    free(s);
}

const dg_schemaset *dg_spec_schemas(const dg_spec *s) { return s->set; }
const dg_router *dg_spec_router(const dg_spec *s) { return s->router; }
dg_dialect dg_spec_dialect(const dg_spec *s) { return s->dialect; }
const char *dg_spec_version(const dg_spec *s) { return s->version; }
json_t *dg_spec_root(const dg_spec *s)
{
    return s->root;
}

const char *dg_spec_hash(const dg_spec *s) { return s->hash; }
size_t dg_spec_schema_count(const dg_spec *s) { return s->n_schemas; }
size_t dg_spec_lint_count(const dg_spec *s) { return dg_schemaset_lint_count(s->set); }
const dg_lint_item *dg_spec_lint_get(const dg_spec *s, size_t i)
{
    return dg_schemaset_lint_get(s->set, i);
}

int dg_spec_target_for(const dg_spec *s, const dg_route_op *op, int status,
                       const char *content_type, int has_body, dg_spec_target *out,
                       dg_error *err)
{
    memset(out, 0, sizeof *out);
    out->schema_id = -1;
    int rc = dg_router_select_response(s->router, op, status, content_type, &out->match, err);
    if (rc)
        return rc;
    switch (out->match.result) {
    case DG_RESP_SCHEMA:
        for (size_t i = 0; i < s->n_broken; i++)
            if (s->broken[i] == out->match.schema)
                return dg_error_set(err, DG_ESPEC, "response schema at %s did not compile (see lint)",
                                    out->match.schema_pointer);
        out->schema_id = dg__schemaset_id_of(s->set, out->match.schema);
        if (out->schema_id < 0)
            return dg_error_set(err, DG_ESPEC, "response schema at %s was not compiled",
                                out->match.schema_pointer);
        /* a sequence of JSON texts: each text is one item of the documented
         * array (or, when the schema is not an array, one instance of it) */
        out->item_mode = dg_media_seq_mode(content_type ? content_type : out->match.media_key);
        if (out->item_mode) {
            int item = item_id_of(s, out->match.schema);
            if (item >= 0)
                out->schema_id = item;
        }
        break;
    case DG_RESP_ANY:
        break;
    case DG_RESP_NO_BODY:
        if (has_body) {
            out->finding = DG_FIND_BODY_NOT_DOCUMENTED;
            snprintf(out->message, sizeof out->message,
                     "response %d of %s documents no body, but one was sent", status, op->label);
        }
        break;
    case DG_RESP_UNDOCUMENTED_STATUS:
        out->finding = DG_FIND_UNDOCUMENTED_STATUS;
        snprintf(out->message, sizeof out->message, "status %d is not documented for %s", status,
                 op->label);
        break;
    case DG_RESP_UNDOCUMENTED_MEDIA:
        out->finding = DG_FIND_UNDOCUMENTED_MEDIA;
        snprintf(out->message, sizeof out->message,
                 "content type \"%.100s\" is not documented for status %d of %s",
                 content_type ? content_type : "(none)", status, op->label);
        break;
    }
    return 0;
}
