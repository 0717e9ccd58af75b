/* validate/compile.c: turns schema objects into dg_nodes (one per schema
 * object, memoised by json_t pointer so cycles and shared $refs compile
 * once). Keyword sets follow the node's dialect. */
#include "validate/schemaset_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/uri.h"

typedef struct cctx {
    dg_schemaset *s;
    dg_error *err;
    int assert_formats;
    int depth;
} cctx;

static int draft4ish(dg_dialect d)
{
    return d == DG_DIALECT_DRAFT4 || d == DG_DIALECT_OAS30 || d == DG_DIALECT_SWAGGER2;
}
static int is_oas(dg_dialect d)
{
    return d == DG_DIALECT_OAS30 || d == DG_DIALECT_OAS31 || d == DG_DIALECT_SWAGGER2;
}

static size_t memo_slot(const dg_schemaset *s, const json_t *k)
{
    uintptr_t x = (uintptr_t)k;
    x ^= x >> 17;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 20) & s->memo_mask;
}

static int32_t memo_get(const dg_schemaset *s, const json_t *k)
{
    if (!s->memo)
        return -1;
    for (size_t i = memo_slot(s, k);; i = (i + 1) & s->memo_mask) {
        if (s->memo[i].key == k)
            return s->memo[i].node;
        if (!s->memo[i].key)
            return -1;
    }
}

static int memo_put(dg_schemaset *s, const json_t *k, int32_t id)
{
    if ((s->memo_n + 1) * 2 > s->memo_mask + 1 || !s->memo) {
        size_t ncap = s->memo ? (s->memo_mask + 1) * 2 : 1024;
        dg_memo *old = s->memo;
        size_t oldcap = s->memo ? s->memo_mask + 1 : 0;
        s->memo = calloc(ncap, sizeof *s->memo);
        if (!s->memo) {
            s->memo = old;
            return DG_ENOMEM;
        }
        s->memo_mask = ncap - 1;
        for (size_t i = 0; i < oldcap; i++) {
            if (!old[i].key)
                continue;
            size_t j = memo_slot(s, old[i].key);
            while (s->memo[j].key)
                j = (j + 1) & s->memo_mask;
            s->memo[j] = old[i];
        }
        free(old);
    }
    size_t j = memo_slot(s, k);
    while (s->memo[j].key)
        j = (j + 1) & s->memo_mask;
    s->memo[j] = (dg_memo){k, id};
    s->memo_n++;
    return 0;
}

static int32_t new_node(dg_schemaset *s)
{
    if (s->n_nodes >= (size_t)INT32_MAX - 1)
        return -1;
    if (s->n_nodes >= s->cap_nodes &&
        dg__grow((void **)&s->nodes, &s->cap_nodes, sizeof *s->nodes))
        return -1;
    dg_node *n = &s->nodes[s->n_nodes];
    memset(n, 0, sizeof *n);
    return (int32_t)s->n_nodes++;
}

static void node_defaults(dg_node *n)
{
    memset(n, 0, sizeof *n);
    n->ref = n->dynref = n->not_ = n->if_ = n->then_ = n->else_ = -1;
    n->addl = n->prop_names = n->uneval_props = -1;
    n->items = n->contains = n->uneval_items = -1;
    n->min_props = n->max_props = n->min_items = n->max_items = -1;
    n->min_len = n->max_len = -1;
    n->min_contains = n->max_contains = -1;
    n->types = DG_T_ALL;
}

static int fail(cctx *c, dg_doc *doc, const json_t *at, const char *loc, const char *fmt,
                const char *a)
{
    char where[600];
    dg__where(c->s, doc, at, where, sizeof where);
    dg_error_set(c->err, DG_ESPEC, fmt, a);
    const char *h = strchr(loc, '#');
    unsigned l = 0, col = 0;
    if (doc && dg_doc_loc(doc, at, &l, &col) == 0)
        dg_error_locate(c->err, dg_doc_name(doc), l, col, h ? h + 1 : loc);
    else
        dg_error_locate(c->err, doc ? dg_doc_name(doc) : NULL, 0, 0, h ? h + 1 : loc);
    return -1;
}

typedef struct frame {
    dg_doc *doc;
    dg_dialect d;
    const char *base;
    const json_t *resource;
    const char *loc;    /* "name#/pointer" of this schema */
    int no_validation;  /* the meta-schema leaves out the validation vocabulary */
    int format_assert;  /* 1: the meta-schema uses the format-assertion vocabulary */
} frame;

static int32_t compile(cctx *c, json_t *js, frame *f);

static const char *child_loc(cctx *c, const char *loc, const char *k1, const char *k2)
{
    dg_buf b = DG_BUF_INIT;
    dg_buf_append(&b, loc, strlen(loc));
    if (!strchr(loc, '#'))
        dg_buf_putc(&b, '#');
    dg_json_pointer_append(&b, k1, strlen(k1));
    if (k2)
        dg_json_pointer_append(&b, k2, strlen(k2));
    const char *r = b.data ? dg_arena_strndup(&c->s->arena, b.data, b.len) : NULL;
    dg_buf_free(&b);
    return r;
}

static int32_t sub(cctx *c, json_t *js, frame *f, const char *k1, const char *k2)
{
    frame cf = *f;
    cf.loc = child_loc(c, f->loc, k1, k2);
    if (!cf.loc)
        return fail(c, f->doc, js, f->loc, "%s", "out of memory");
    return compile(c, js, &cf);
}

static int32_t sub_idx(cctx *c, json_t *js, frame *f, const char *k1, size_t i)
{
    char ix[24];
    snprintf(ix, sizeof ix, "%zu", i);
    return sub(c, js, f, k1, ix);
}

static int get_count(cctx *c, json_t *js, frame *f, const char *kw, int64_t *out)
{
    json_t *v = json_object_get(js, kw);
    if (!v)
        return 0;
    double dv = json_is_integer(v) ? (double)json_integer_value(v) : json_is_real(v) ? json_real_value(v) : -1;
    if (!json_is_number(v) || dv < 0 || dv != (double)(int64_t)dv)
        return fail(c, f->doc, v, f->loc, "%s must be a non-negative integer", kw);
    *out = (int64_t)dv;
    return 0;
}

static int number_text(const json_t *v, dg_doc *doc, char *tmp, size_t tmpsz, const char **out)
{
    if (json_is_integer(v)) {
        snprintf(tmp, tmpsz, "%lld", (long long)json_integer_value(v));
        *out = tmp;
        return 0;
    }
    if (!json_is_real(v))
        return -1;
    const char *t = doc ? dg_doc_number_text(doc, v) : NULL;
    if (!t) {
        snprintf(tmp, tmpsz, "%.17g", json_real_value(v));
        t = tmp;
    }
    *out = t;
    return 0;
}

static int make_bound(cctx *c, json_t *v, frame *f, const char *kw, dg_bound *b)
{
    char tmp[64];
    const char *t;
    if (number_text(v, f->doc, tmp, sizeof tmp, &t))
        return fail(c, f->doc, v, f->loc, "%s must be a number", kw);
    size_t n = strlen(t);
    b->text = malloc(n + 1);
    b->orig = strdup(t);
    if (!b->text || !b->orig)
        return fail(c, f->doc, v, f->loc, "%s", "out of memory");
    if (dg_dec_parse(t, n, b->text, &b->dec))
        return fail(c, f->doc, v, f->loc, "%s is not a usable number", kw);
    b->set = 1;
    if (json_is_integer(v)) {
        b->is_i64 = 1;
        b->i = json_integer_value(v);
    }
    return 0;
}

static uint8_t type_bit(const char *t)
{
    if (!strcmp(t, "null")) return DG_T_NULL;
    if (!strcmp(t, "boolean")) return DG_T_BOOL;
    if (!strcmp(t, "object")) return DG_T_OBJECT;
    if (!strcmp(t, "array")) return DG_T_ARRAY;
    if (!strcmp(t, "number")) return DG_T_NUMBER;
    if (!strcmp(t, "integer")) return DG_T_INTEGER;
    if (!strcmp(t, "string")) return DG_T_STRING;
    return 0;
}

static int32_t prop_index(dg_node *n, const char *name, size_t len, int create)
{
    for (uint32_t i = 0; i < n->n_props; i++)
        if (n->props[i].len == len && !memcmp(n->props[i].name, name, len))
            return (int32_t)i;
    if (!create)
        return -1;
    dg_prop *p = realloc(n->props, (n->n_props + 1) * sizeof *p);
    if (!p)
        return -2;
    n->props = p;
    p[n->n_props] = (dg_prop){name, (uint32_t)len, dg_prop_hash(name, len), -1, -1, -1, -1};
    return (int32_t)n->n_props++;
}

static int build_prop_hash(dg_node *n)
{
    if (n->n_props <= 8)
        return 0;
    uint32_t cap = 16;
    while (cap < n->n_props * 2)
        cap *= 2;
    n->prop_hash = calloc(cap, sizeof *n->prop_hash);
    if (!n->prop_hash)
        return DG_ENOMEM;
    n->hash_mask = cap - 1;
    for (uint32_t i = 0; i < n->n_props; i++) {
        uint32_t j = n->props[i].hash & n->hash_mask;
        while (n->prop_hash[j])
            j = (j + 1) & n->hash_mask;
        n->prop_hash[j] = i + 1;
    }
    return 0;
}

static int32_t *schema_array(cctx *c, json_t *js, frame *f, const char *kw, uint32_t *count)
{
    json_t *a = json_object_get(js, kw);
    if (!json_is_array(a) || json_array_size(a) == 0) {
        fail(c, f->doc, a, f->loc, "%s must be a non-empty array of schemas", kw);
        return NULL;
    }
    size_t n = json_array_size(a);
    int32_t *ids = malloc(n * sizeof *ids);
    if (!ids) {
        fail(c, f->doc, a, f->loc, "%s", "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = sub_idx(c, json_array_get(a, i), f, kw, i);
        if (ids[i] < 0) {
            free(ids);
            return NULL;
        }
    }
    *count = (uint32_t)n;
    return ids;
}

static int make_value(cctx *c, json_t *v, frame *f, dg_value *out)
{
    memset(out, 0, sizeof *out);
    out->json = v;
    dg_hash h = dg_hash_json(v, f->doc);
    out->h1 = h.a;
    out->h2 = h.b;
    switch (json_typeof(v)) {
    case JSON_NULL: out->type = DG_T_NULL; break;
    case JSON_TRUE: case JSON_FALSE: out->type = DG_T_BOOL; break;
    case JSON_OBJECT: out->type = DG_T_OBJECT; break;
    case JSON_ARRAY: out->type = DG_T_ARRAY; break;
    case JSON_STRING:
        out->type = DG_T_STRING;
        out->s = json_string_value(v);
        out->len = json_string_length(v);
        break;
    case JSON_INTEGER: case JSON_REAL: {
        char tmp[64];
        const char *t;
        number_text(v, f->doc, tmp, sizeof tmp, &t);
        size_t n = strlen(t);
        out->type = DG_T_NUMBER;
        out->dec_buf = malloc(n + 1);
        if (!out->dec_buf || dg_dec_parse(t, n, out->dec_buf, &out->dec))
            return -1;
        break;
    }
    }
    return 0;
}

static const char *arena_str(cctx *c, const char *s, size_t n)
{
    return dg_arena_strndup(&c->s->arena, s, n);
}

static int compile_discriminator(cctx *c, json_t *js, frame *f, dg_node *nd)
{
    json_t *disc = json_object_get(js, "discriminator");
    json_t *pn = json_is_object(disc) ? json_object_get(disc, "propertyName") : NULL;
    if (!json_is_string(pn)) {
        if (json_is_string(disc)) /* Swagger 2.0: discriminator is the property name; no branches */
            return 0;
        return fail(c, f->doc, disc, f->loc, "%s", "discriminator needs a string propertyName");
    }
    int on_one = nd->n_one_of > 0;
    json_t *arr = json_object_get(js, on_one ? "oneOf" : "anyOf");
    uint32_t nb = on_one ? nd->n_one_of : nd->n_any_of;
    if (!nb) {
        dg_schemaset_lint_add(c->s, f->doc, disc, f->loc,
                              "discriminator without oneOf/anyOf is not used for validation");
        return 0;
    }
    dg_disc *d = calloc(1, sizeof *d);
    if (!d)
        return fail(c, f->doc, disc, f->loc, "%s", "out of memory");
    nd->disc = d;
    d->prop = arena_str(c, json_string_value(pn), json_string_length(pn));
    d->prop_len = (uint32_t)json_string_length(pn);
    d->on_one_of = on_one;
    json_t *mapping = json_object_get(disc, "mapping");
    size_t cap = nb + (json_is_object(mapping) ? json_object_size(mapping) : 0);
    d->values = calloc(cap, sizeof *d->values);
    d->lens = calloc(cap, sizeof *d->lens);
    d->branch = calloc(cap, sizeof *d->branch);
    if (!d->values || !d->lens || !d->branch)
        return fail(c, f->doc, disc, f->loc, "%s", "out of memory");
    /* explicit mapping: value -> $ref; match to the branch whose $ref is the same */
    const char *k;
    json_t *v;
    if (json_is_object(mapping)) {
        json_object_foreach(mapping, k, v) {
            if (!json_is_string(v))
                continue;
            const char *ref = json_string_value(v);
            int found = -1;
            for (uint32_t b = 0; b < nb; b++) {
                json_t *br = json_object_get(json_array_get(arr, b), "$ref");
                if (json_is_string(br) && !strcmp(json_string_value(br), ref))
                    found = (int)b;
                /* a bare schema name maps to #/components/schemas/<name> */
                const char *bs = json_is_string(br) ? strrchr(json_string_value(br), '/') : NULL;
                if (found < 0 && bs && !strchr(ref, '/') && !strcmp(bs + 1, ref))
                    found = (int)b;
            }
            if (found < 0) {
                dg_schemaset_lint_add(c->s, f->doc, v, f->loc,
                                      "discriminator mapping '%s' points to %s, which is not one of the branches",
                                      k, ref);
                continue;
            }
            d->values[d->n] = arena_str(c, k, strlen(k));
            d->lens[d->n] = (uint32_t)strlen(k);
            d->branch[d->n++] = found;
        }
    }
    /* implicit mapping: the component name of each $ref'd branch */
    for (uint32_t b = 0; b < nb; b++) {
        json_t *br = json_object_get(json_array_get(arr, b), "$ref");
        const char *bs = json_is_string(br) ? strrchr(json_string_value(br), '/') : NULL;
        if (!bs)
            continue;
        const char *name = bs + 1;
        int dup = 0;
        for (uint32_t i = 0; i < d->n; i++)
            if (d->lens[i] == strlen(name) && !memcmp(d->values[i], name, d->lens[i]))
                dup = 1;
        if (json_is_object(mapping)) {
            /* with an explicit mapping, implicit names still apply to unmapped branches */
            for (uint32_t i = 0; i < d->n; i++)
                if (d->branch[i] == (int32_t)b)
                    dup = 1;
        }
        if (dup)
            continue;
        d->values[d->n] = arena_str(c, name, strlen(name));
        d->lens[d->n] = (uint32_t)strlen(name);
        d->branch[d->n++] = (int32_t)b;
    }
    return 0;
}

static int is_known_keyword(const char *k, dg_dialect d)
{
    static const char *common[] = {
        "$ref", "$schema", "$id", "id", "$comment", "title", "description", "default",
        "examples", "example", "type", "enum", "const", "multipleOf", "maximum", "minimum",
        "exclusiveMaximum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "format",
        "items", "additionalItems", "maxItems", "minItems", "uniqueItems", "contains",
        "maxContains", "minContains", "prefixItems", "unevaluatedItems", "maxProperties",
        "minProperties", "required", "properties", "patternProperties", "additionalProperties",
        "dependencies", "dependentRequired", "dependentSchemas", "propertyNames",
        "unevaluatedProperties", "allOf", "anyOf", "oneOf", "not", "if", "then", "else",
        "definitions", "$defs", "$anchor", "$dynamicAnchor", "$dynamicRef", "$vocabulary",
        "readOnly", "writeOnly", "deprecated", "contentMediaType", "contentEncoding",
        "contentSchema", "nullable", "discriminator", "xml", "externalDocs", NULL};
    (void)d;
    if (!strncmp(k, "x-", 2))
        return 1;
    for (int i = 0; common[i]; i++)
        if (!strcmp(common[i], k))
            return 1;
    return 0;
}

static int compile_object_kw(cctx *c, json_t *js, frame *f, dg_node *nd)
{
    json_t *v;
    const char *k;
    json_t *props = json_object_get(js, "properties");
    if (props) {
        if (!json_is_object(props))
            return fail(c, f->doc, props, f->loc, "%s", "properties must be an object");
        json_object_foreach(props, k, v) {
            size_t kl = strlen(k);
            int32_t pi = prop_index(nd, arena_str(c, k, kl), kl, 1);
            if (pi < 0)
                return fail(c, f->doc, v, f->loc, "%s", "out of memory");
            int32_t cid = sub(c, v, f, "properties", k);
            if (cid < 0)
                return -1;
            nd->props[pi].node = cid;
        }
        nd->flags |= NF_OBJ_KW;
    }
    json_t *req = json_object_get(js, "required");
    if (req) {
        if (!json_is_array(req))
            return fail(c, f->doc, req, f->loc, "%s", "required must be an array of strings");
        size_t i;
        json_array_foreach(req, i, v) {
            if (!json_is_string(v))
                return fail(c, f->doc, v, f->loc, "%s", "required must be an array of strings");
            size_t kl = json_string_length(v);
            int32_t pi = prop_index(nd, arena_str(c, json_string_value(v), kl), kl, 1);
            if (pi < 0)
                return fail(c, f->doc, v, f->loc, "%s", "out of memory");
            if (nd->props[pi].req_bit < 0)
                nd->props[pi].req_bit = (int32_t)nd->n_required++;
        }
        nd->flags |= NF_OBJ_KW;
    }
    json_t *pp = draft4ish(f->d) && f->d != DG_DIALECT_DRAFT4 ? NULL : json_object_get(js, "patternProperties");
    if (json_is_object(pp)) {
        nd->pattern_props = calloc(json_object_size(pp) + 1, sizeof *nd->pattern_props);
        if (!nd->pattern_props)
            return fail(c, f->doc, pp, f->loc, "%s", "out of memory");
        json_object_foreach(pp, k, v) {
            dg_error rerr;
            dg_pattern_prop *p = &nd->pattern_props[nd->n_pattern_props];
            if (dg_regex_compile(k, strlen(k), &p->re, &rerr))
                return fail(c, f->doc, v, f->loc, "invalid patternProperties regex: %s", rerr.msg);
            nd->n_pattern_props++;
            if ((p->node = sub(c, v, f, "patternProperties", k)) < 0)
                return -1;
        }
        nd->flags |= NF_OBJ_KW;
    }
    if ((v = json_object_get(js, "additionalProperties"))) {
        if ((nd->addl = sub(c, v, f, "additionalProperties", NULL)) < 0)
            return -1;
        nd->flags |= NF_OBJ_KW;
    }
    if (get_count(c, js, f, "minProperties", &nd->min_props) ||
        get_count(c, js, f, "maxProperties", &nd->max_props))
        return -1;
    if (nd->min_props >= 0 || nd->max_props >= 0)
        nd->flags |= NF_OBJ_KW;
    if (f->d != DG_DIALECT_DRAFT4 && !draft4ish(f->d) && (v = json_object_get(js, "propertyNames"))) {
        if ((nd->prop_names = sub(c, v, f, "propertyNames", NULL)) < 0)
            return -1;
        nd->flags |= NF_OBJ_KW;
    }
    if (!draft4ish(f->d) && (v = json_object_get(js, "unevaluatedProperties"))) {
        if ((nd->uneval_props = sub(c, v, f, "unevaluatedProperties", NULL)) < 0)
            return -1;
        nd->flags |= NF_OBJ_KW | NF_UNEVAL;
    }
    /* dependencies (draft4) / dependentRequired + dependentSchemas (2020-12) */
    const char *dep_kw[4] = {NULL, NULL, NULL, NULL};
    if (f->d == DG_DIALECT_DRAFT4) {
        dep_kw[0] = "dependencies";
    } else if (!draft4ish(f->d)) {
        dep_kw[0] = "dependentRequired";
        dep_kw[1] = "dependentSchemas";
        /* draft 7's combined keyword, still common in 2020-12 schemas in the wild */
        if (!json_object_get(js, "dependentRequired") && !json_object_get(js, "dependentSchemas"))
            dep_kw[2] = "dependencies";
    }
    for (int di = 0; di < 3 && dep_kw[di]; di++) {
        json_t *deps = json_object_get(js, dep_kw[di]);
        if (!deps)
            continue;
        if (!json_is_object(deps))
            return fail(c, f->doc, deps, f->loc, "%s must be an object", dep_kw[di]);
        size_t n = json_object_size(deps);
        nd->dep_required = realloc(nd->dep_required, (nd->n_dep_required + n) * sizeof *nd->dep_required);
        nd->dep_schemas = realloc(nd->dep_schemas, (nd->n_dep_schemas + n) * sizeof *nd->dep_schemas);
        nd->dep_schema_names = realloc(nd->dep_schema_names, (nd->n_dep_schemas + n) * sizeof *nd->dep_schema_names);
        if (!nd->dep_required || !nd->dep_schemas || !nd->dep_schema_names)
            return fail(c, f->doc, deps, f->loc, "%s", "out of memory");
        json_object_foreach(deps, k, v) {
            size_t kl = strlen(k);
            int32_t pi = prop_index(nd, arena_str(c, k, kl), kl, 1);
            if (pi < 0)
                return fail(c, f->doc, v, f->loc, "%s", "out of memory");
            if (json_is_array(v) && strcmp(dep_kw[di], "dependentSchemas")) {
                dg_dep_req *dr = &nd->dep_required[nd->n_dep_required];
                memset(dr, 0, sizeof *dr);
                dr->name = nd->props[pi].name;
                dr->len = (uint32_t)kl;
                dr->n = (uint32_t)json_array_size(v);
                dr->names = calloc(dr->n + 1, sizeof *dr->names);
                dr->lens = calloc(dr->n + 1, sizeof *dr->lens);
                if (!dr->names || !dr->lens)
                    return fail(c, f->doc, v, f->loc, "%s", "out of memory");
                size_t i;
                json_t *s;
                json_array_foreach(v, i, s) {
                    if (!json_is_string(s))
                        return fail(c, f->doc, s, f->loc, "%s", "dependency names must be strings");
                    dr->names[i] = arena_str(c, json_string_value(s), json_string_length(s));
                    dr->lens[i] = (uint32_t)json_string_length(s);
                    /* dependents need a seen-bit too */
                    if (prop_index(nd, dr->names[i], dr->lens[i], 1) < 0)
                        return fail(c, f->doc, s, f->loc, "%s", "out of memory");
                }
                nd->props[pi].dep_req = (int32_t)nd->n_dep_required++;
            } else if (json_is_object(v) || json_is_boolean(v)) {
                int32_t cid = sub(c, v, f, dep_kw[di], k);
                if (cid < 0)
                    return -1;
                nd->dep_schema_names[nd->n_dep_schemas] = nd->props[pi].name;
                nd->props[pi].dep_schema = (int32_t)nd->n_dep_schemas;
                nd->dep_schemas[nd->n_dep_schemas++] = cid;
            } else {
                return fail(c, f->doc, v, f->loc, "%s", "invalid dependency");
            }
        }
        nd->flags |= NF_OBJ_KW;
    }
    for (uint32_t i = 0; i < nd->n_props && i < 128; i++)
        if (nd->props[i].req_bit >= 0)
            nd->req_mask[i / 64] |= 1ull << (i % 64);
    if (nd->n_props && build_prop_hash(nd))
        return fail(c, f->doc, js, f->loc, "%s", "out of memory");
    return 0;
}

static int compile_array_kw(cctx *c, json_t *js, frame *f, dg_node *nd)
{
    json_t *v;
    int d4 = draft4ish(f->d);
    json_t *items = json_object_get(js, "items");
    if (d4 && json_is_array(items)) {
        nd->prefix = schema_array(c, js, f, "items", &nd->n_prefix);
        if (!nd->prefix && json_array_size(items))
            return -1;
        json_t *ai = json_object_get(js, "additionalItems");
        if (ai && (nd->items = sub(c, ai, f, "additionalItems", NULL)) < 0)
            return -1;
        nd->flags |= NF_ARR_KW;
    } else if (items) {
        if ((nd->items = sub(c, items, f, "items", NULL)) < 0)
            return -1;
        nd->flags |= NF_ARR_KW;
    }
    if (!d4 && (v = json_object_get(js, "prefixItems"))) {
        if (!(nd->prefix = schema_array(c, js, f, "prefixItems", &nd->n_prefix)))
            return -1;
        nd->flags |= NF_ARR_KW;
    }
    if (!d4 && (v = json_object_get(js, "contains"))) {
        if ((nd->contains = sub(c, v, f, "contains", NULL)) < 0)
            return -1;
        if (get_count(c, js, f, "minContains", &nd->min_contains) ||
            get_count(c, js, f, "maxContains", &nd->max_contains))
            return -1;
        if (nd->min_contains < 0)
            nd->min_contains = 1;
        nd->flags |= NF_ARR_KW;
    }
    if (!d4 && (v = json_object_get(js, "unevaluatedItems"))) {
        if ((nd->uneval_items = sub(c, v, f, "unevaluatedItems", NULL)) < 0)
            return -1;
        nd->flags |= NF_ARR_KW | NF_UNEVAL;
    }
    if (get_count(c, js, f, "minItems", &nd->min_items) ||
        get_count(c, js, f, "maxItems", &nd->max_items))
        return -1;
    if (nd->min_items >= 0 || nd->max_items >= 0)
        nd->flags |= NF_ARR_KW;
    if (json_is_true(json_object_get(js, "uniqueItems")))
        nd->flags |= NF_ARR_KW | NF_UNIQUE;
    return 0;
}

static int compile_scalar_kw(cctx *c, json_t *js, frame *f, dg_node *nd)
{
    json_t *v;
    int d4 = draft4ish(f->d);
    if (get_count(c, js, f, "minLength", &nd->min_len) ||
        get_count(c, js, f, "maxLength", &nd->max_len))
        return -1;
    if (nd->min_len >= 0 || nd->max_len >= 0)
        nd->flags |= NF_STR_KW;
    if ((v = json_object_get(js, "pattern"))) {
        dg_error rerr;
        if (!json_is_string(v))
            return fail(c, f->doc, v, f->loc, "%s", "pattern must be a string");
        if (dg_regex_compile(json_string_value(v), json_string_length(v), &nd->pattern, &rerr))
            return fail(c, f->doc, v, f->loc, "invalid pattern: %s", rerr.msg);
        nd->flags |= NF_STR_KW;
    }
    if (json_is_string(v = json_object_get(js, "format"))) {
        nd->format = dg_format_lookup(json_string_value(v), json_string_length(v));
        if (nd->format == DG_FMT_UNKNOWN && is_oas(f->d))
            dg_schemaset_lint_add(c->s, f->doc, v, f->loc,
                                  "unknown format \"%s\" (not checked)", json_string_value(v));
        nd->assert_format = c->assert_formats >= 0 ? c->assert_formats
                            : f->format_assert ? 1
                                               : (f->d != DG_DIALECT_2020_12);
        if (nd->format != DG_FMT_UNKNOWN && nd->assert_format) {
            if (dg_format_is_numeric(nd->format))
                nd->flags |= NF_NUM_KW;
            else
                nd->flags |= NF_STR_KW;
        }
    }
    json_t *mn = json_object_get(js, "minimum"), *mx = json_object_get(js, "maximum");
    json_t *emn = json_object_get(js, "exclusiveMinimum"), *emx = json_object_get(js, "exclusiveMaximum");
    if (mn && make_bound(c, mn, f, "minimum", &nd->minimum))
        return -1;
    if (mx && make_bound(c, mx, f, "maximum", &nd->maximum))
        return -1;
    if (d4) {
        if (json_is_true(emn))
            nd->minimum.exclusive = 1;
        if (json_is_true(emx))
            nd->maximum.exclusive = 1;
    } else {
        /* 2020-12: numeric exclusive bounds; keep the tighter of the two. OAS
         * 3.1 documents converted from 3.0 often keep the boolean form: honour
         * it the 3.0 way and let lint say so. */
        if (f->d == DG_DIALECT_OAS31 && (json_is_boolean(emn) || json_is_boolean(emx))) {
            dg_schemaset_lint_add(c->s, f->doc, js, f->loc,
                                  "boolean exclusiveMinimum/exclusiveMaximum is OAS 3.0 syntax; OAS 3.1 "
                                  "wants the bound itself (applied the 3.0 way)");
            if (json_is_true(emn))
                nd->minimum.exclusive = 1;
            if (json_is_true(emx))
                nd->maximum.exclusive = 1;
            if (json_is_boolean(emn))
                emn = NULL;
            if (json_is_boolean(emx))
                emx = NULL;
        }
        dg_bound b;
        if (emn) {
            memset(&b, 0, sizeof b);
            if (make_bound(c, emn, f, "exclusiveMinimum", &b))
                return -1;
            b.exclusive = 1;
            if (!nd->minimum.set || dg_dec_cmp(&b.dec, &nd->minimum.dec) >= 0) {
                free(nd->minimum.text);
                free(nd->minimum.orig);
                nd->minimum = b;
            } else {
                free(b.text);
                free(b.orig);
            }
        }
        if (emx) {
            memset(&b, 0, sizeof b);
            if (make_bound(c, emx, f, "exclusiveMaximum", &b))
                return -1;
            b.exclusive = 1;
            if (!nd->maximum.set || dg_dec_cmp(&b.dec, &nd->maximum.dec) <= 0) {
                free(nd->maximum.text);
                free(nd->maximum.orig);
                nd->maximum = b;
            } else {
                free(b.text);
                free(b.orig);
            }
        }
    }
    if ((v = json_object_get(js, "multipleOf"))) {
        if (make_bound(c, v, f, "multipleOf", &nd->multiple_of))
            return -1;
        if (nd->multiple_of.dec.ndig == 0 || nd->multiple_of.dec.neg)
            return fail(c, f->doc, v, f->loc, "%s", "multipleOf must be greater than 0");
    }
    if (nd->minimum.set || nd->maximum.set || nd->multiple_of.set)
        nd->flags |= NF_NUM_KW;
    return 0;
}

/* Resolves a $ref/$dynamicRef value v found in schema js and compiles its
 * target (in its own document, base URI and resource). Returns the node id
 * or -1; *target receives the target schema when asked. */
static int32_t compile_ref(cctx *c, frame *f, json_t *js, json_t *v, const char *kw,
                           json_t **target)
{
    dg_schemaset *s = c->s;
    if (!json_is_string(v))
        return fail(c, f->doc, v, f->loc, "%s must be a string", kw);
    dg_target t;
    if (dg__resolve(s, f->base, json_string_value(v), f->d, &t, c->err)) {
        char msg[600];
        snprintf(msg, sizeof msg, "%s", c->err ? c->err->msg : "unresolved reference");
        return fail(c, f->doc, v, f->loc, "%s", msg);
    }
    frame tf = *f;
    tf.doc = t.doc;
    if (t.doc != f->doc) /* another document: its own dialect */
        tf.d = dg__dialect_of(dg_doc_root(t.doc), f->d);
    tf.base = dg_arena_strndup(&s->arena, t.base, strlen(t.base));
    tf.resource = t.resource;
    const char *h = strchr(t.uri, '#');
    dg_buf lb = DG_BUF_INIT;
    dg_buf_printf(&lb, "%s#%s", dg_doc_name(t.doc), h ? h + 1 : "");
    tf.loc = lb.data ? dg_arena_strndup(&s->arena, lb.data, lb.len) : NULL;
    dg_buf_free(&lb);
    if (!tf.base || !tf.loc)
        return fail(c, f->doc, js, f->loc, "%s", "out of memory");
    if (target)
        *target = t.node;
    return compile(c, t.node, &tf);
}

/* A custom meta-schema whose $vocabulary leaves out the validation
 * vocabulary turns those keywords into annotations. */
static void read_vocabulary(cctx *c, const char *uri, frame *f)
{
    if (!strcmp(uri, "https://json-schema.org/draft/2020-12/schema") || strstr(uri, "draft-04"))
        return;
    dg_target t;
    dg_error e;
    if (dg__resolve(c->s, f->base, uri, f->d, &t, &e))
        return;
    json_t *voc = json_object_get(t.node, "$vocabulary");
    if (!json_is_object(voc))
        return;
    f->no_validation =
        json_object_get(voc, "https://json-schema.org/draft/2020-12/vocab/validation") == NULL;
    if (json_object_get(voc, "https://json-schema.org/draft/2020-12/vocab/format-assertion"))
        f->format_assert = 1;
}

static int32_t compile(cctx *c, json_t *js, frame *pf)
{
    dg_schemaset *s = c->s;
    if (!js)
        return fail(c, pf->doc, js, pf->loc, "%s", "missing schema");
    int32_t memo = memo_get(s, js);
    if (memo >= 0)
        return memo;
    if (++c->depth > 2000) {
        c->depth--;
        return fail(c, pf->doc, js, pf->loc, "%s", "schema nesting too deep");
    }
    frame f = *pf;
    int32_t id = new_node(s);
    if (id < 0 || memo_put(s, js, id)) {
        c->depth--;
        return fail(c, f.doc, js, f.loc, "%s", "out of memory");
    }
    dg_node nd;
    node_defaults(&nd);
    nd.src = js;
    nd.loc = f.loc;
    nd.resource = f.resource;
    int rc = 0;
    dg_buf base = DG_BUF_INIT;
    if (json_is_true(js) || json_is_false(js)) {
        nd.flags = json_is_true(js) ? NF_TRUE : NF_FALSE;
        goto done;
    }
    if (!json_is_object(js)) {
        rc = fail(c, f.doc, js, f.loc, "%s", "a schema must be an object or a boolean");
        goto done;
    }
    json_t *v;
    f.d = dg__dialect_of(js, f.d);
    nd.dialect = f.d;
    if (!draft4ish(f.d) && json_is_string(v = json_object_get(js, "$schema")))
        read_vocabulary(c, json_string_value(v), &f);
    if (f.no_validation) {
        /* compile a copy without the validation vocabulary's keywords */
        static const char *vkw[] = {"type", "enum", "const", "multipleOf", "maximum",
                                    "exclusiveMaximum", "minimum", "exclusiveMinimum",
                                    "maxLength", "minLength", "pattern", "maxItems", "minItems",
                                    "uniqueItems", "maxContains", "minContains", "maxProperties",
                                    "minProperties", "required", "dependentRequired", NULL};
        json_t *copy = json_copy(js);
        if (!copy || dg__own(s, copy)) {
            rc = fail(c, f.doc, js, f.loc, "%s", "out of memory");
            goto done;
        }
        for (int i = 0; vkw[i]; i++)
            json_object_del(copy, vkw[i]);
        js = copy;
    }
    int d4 = draft4ish(f.d);
    if (f.d == DG_DIALECT_DRAFT4 || f.d == DG_DIALECT_OAS30 || f.d == DG_DIALECT_SWAGGER2)
        nd.flags |= NF_DRAFT4_INT;
    const char *k;
    /* identity */
    json_t *idv = json_object_get(js, d4 ? "id" : "$id");
    if (json_is_string(idv) && !(d4 && json_object_get(js, "$ref")) &&
        json_string_value(idv)[0] != '#') {
        /* the scan registered this resource with its canonical URI: use it, so
         * that a relative $id is not applied twice when we arrive via $ref */
        const dg_reg *known = NULL;
        for (size_t ri = s->n_reg; ri-- > 0 && !known;)
            if (s->reg[ri].node == js && !strchr(s->reg[ri].uri, '#'))
                known = &s->reg[ri];
        if (known ? dg_buf_append(&base, known->uri, strlen(known->uri))
                  : dg_uri_resolve(f.base, json_string_value(idv), &base)) {
            rc = fail(c, f.doc, js, f.loc, "%s", "out of memory");
            goto done;
        }
        base.data[dg_uri_strip_fragment(base.data)] = '\0';
        f.base = base.data;
        f.resource = js;
        nd.resource = js;
        nd.flags |= NF_RESOURCE;
    }
    if (!d4 && json_is_string(v = json_object_get(js, "$dynamicAnchor"))) {
        nd.dyn_anchor = arena_str(c, json_string_value(v), json_string_length(v));
        int found = 0;
        for (size_t di = 0; di < s->n_dyn; di++)
            if (s->dyn[di].js == js) {
                s->dyn[di].node = id;
                found = 1;
            }
        if (!found) {
            if (s->n_dyn >= s->cap_dyn && dg__grow((void **)&s->dyn, &s->cap_dyn, sizeof *s->dyn)) {
                rc = fail(c, f.doc, js, f.loc, "%s", "out of memory");
                goto done;
            }
            s->dyn[s->n_dyn++] = (dg_dyn){f.resource, nd.dyn_anchor, id, js, f.doc, f.base};
        }
    }
    /* $ref */
    if ((v = json_object_get(js, "$ref"))) {
        if ((nd.ref = compile_ref(c, &f, js, v, "$ref", NULL)) < 0) {
            rc = -1;
            goto done;
        }
        nd.flags |= NF_INPLACE;
        if (d4) {
            nd.flags |= NF_PURE_REF;
            goto done;
        }
    }
    if (!d4 && (v = json_object_get(js, "$dynamicRef"))) {
        json_t *target = NULL;
        if ((nd.dynref = compile_ref(c, &f, js, v, "$dynamicRef", &target)) < 0) {
            rc = -1;
            goto done;
        }
        nd.flags |= NF_INPLACE;
        const char *fr = strchr(json_string_value(v), '#');
        json_t *da = json_object_get(target, "$dynamicAnchor");
        if (fr && fr[1] && fr[1] != '/' && json_is_string(da) && !strcmp(json_string_value(da), fr + 1))
            nd.dynref_anchor = arena_str(c, fr + 1, strlen(fr + 1));
    }
    /* type */
    if ((v = json_object_get(js, "type"))) {
        uint8_t t = 0;
        if (json_is_string(v)) {
            t = type_bit(json_string_value(v));
            if (!t) {
                rc = fail(c, f.doc, v, f.loc, "unknown type \"%s\"", json_string_value(v));
                goto done;
            }
        } else if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) {
                uint8_t b = json_is_string(e) ? type_bit(json_string_value(e)) : 0;
                if (!b) {
                    rc = fail(c, f.doc, e, f.loc, "%s", "type array members must be type names");
                    goto done;
                }
                t |= b;
            }
            if (f.d == DG_DIALECT_OAS30)
                dg_schemaset_lint_add(s, f.doc, v, f.loc, "type arrays are not allowed in OpenAPI 3.0");
        } else {
            rc = fail(c, f.doc, v, f.loc, "%s", "type must be a string or an array");
            goto done;
        }
        nd.types = t;
        nd.flags |= NF_TYPE;
    }
    json_t *nul = json_object_get(js, f.d == DG_DIALECT_SWAGGER2 ? "x-nullable" : "nullable");
    if (json_is_true(nul)) {
        if (f.d == DG_DIALECT_OAS30 || f.d == DG_DIALECT_SWAGGER2) {
            nd.flags |= NF_NULLABLE;
            if (!json_object_get(js, "type"))
                dg_schemaset_lint_add(s, f.doc, nul, f.loc,
                                      "nullable without type: OAS 3.0.3 gives it no effect; driftgate accepts null here");
        } else if (f.d == DG_DIALECT_OAS31) {
            dg_schemaset_lint_add(s, f.doc, js, f.loc,
                                  "nullable is not an OAS 3.1 keyword (ignored); use type: [..., \"null\"]");
        }
    }
    /* enum / const */
    if ((v = json_object_get(js, "enum"))) {
        if (!json_is_array(v)) {
            rc = fail(c, f.doc, v, f.loc, "%s", "enum must be an array");
            goto done;
        }
        nd.n_enum = (uint32_t)json_array_size(v);
        nd.enum_v = calloc(nd.n_enum + 1, sizeof *nd.enum_v);
        if (!nd.enum_v) {
            rc = fail(c, f.doc, v, f.loc, "%s", "out of memory");
            goto done;
        }
        for (uint32_t i = 0; i < nd.n_enum; i++) {
            if (make_value(c, json_array_get(v, i), &f, &nd.enum_v[i])) {
                rc = fail(c, f.doc, v, f.loc, "%s", "bad enum member");
                goto done;
            }
            if (nd.enum_v[i].type & (DG_T_OBJECT | DG_T_ARRAY))
                nd.flags |= NF_HASH_ENUM;
        }
        nd.flags |= NF_ENUM;
    } else if (!d4 && (v = json_object_get(js, "const"))) {
        nd.n_enum = 1;
        nd.enum_v = calloc(1, sizeof *nd.enum_v);
        if (!nd.enum_v || make_value(c, v, &f, &nd.enum_v[0])) {
            rc = fail(c, f.doc, v, f.loc, "%s", "bad const");
            goto done;
        }
        if (nd.enum_v[0].type & (DG_T_OBJECT | DG_T_ARRAY))
            nd.flags |= NF_HASH_ENUM;
        nd.flags |= NF_CONST;
    }
    if (compile_scalar_kw(c, js, &f, &nd) || compile_array_kw(c, js, &f, &nd) ||
        compile_object_kw(c, js, &f, &nd)) {
        rc = -1;
        goto done;
    }
    /* applicators */
    if (json_object_get(js, "allOf") && !(nd.all_of = schema_array(c, js, &f, "allOf", &nd.n_all_of))) { rc = -1; goto done; }
    if (json_object_get(js, "anyOf") && !(nd.any_of = schema_array(c, js, &f, "anyOf", &nd.n_any_of))) { rc = -1; goto done; }
    if (json_object_get(js, "oneOf") && !(nd.one_of = schema_array(c, js, &f, "oneOf", &nd.n_one_of))) { rc = -1; goto done; }
    if ((v = json_object_get(js, "not")) && (nd.not_ = sub(c, v, &f, "not", NULL)) < 0) { rc = -1; goto done; }
    if (!d4 && (v = json_object_get(js, "if"))) {
        if ((nd.if_ = sub(c, v, &f, "if", NULL)) < 0) { rc = -1; goto done; }
        if ((v = json_object_get(js, "then")) && (nd.then_ = sub(c, v, &f, "then", NULL)) < 0) { rc = -1; goto done; }
        if ((v = json_object_get(js, "else")) && (nd.else_ = sub(c, v, &f, "else", NULL)) < 0) { rc = -1; goto done; }
    }
    if (nd.n_all_of || nd.n_any_of || nd.n_one_of || nd.not_ >= 0 || nd.if_ >= 0 ||
        nd.n_dep_schemas)
        nd.flags |= NF_INPLACE;
    if (is_oas(f.d) && json_object_get(js, "discriminator") && compile_discriminator(c, js, &f, &nd)) {
        rc = -1;
        goto done;
    }
    if (nd.n_pattern_props || nd.prop_names >= 0 || nd.uneval_props >= 0 || nd.disc)
        nd.flags |= NF_KEY_EXTRA;
    if (json_is_true(json_object_get(js, "readOnly")))
        nd.flags |= NF_READ_ONLY;
    if (json_is_true(json_object_get(js, "writeOnly")))
        nd.flags |= NF_WRITE_ONLY;
    /* compile subschemas of $defs/definitions too, so that lint sees them */
    if (is_oas(f.d)) {
        json_object_foreach(js, k, v) {
            if (!is_known_keyword(k, f.d))
                dg_schemaset_lint_add(s, f.doc, json_is_object(v) || json_is_array(v) || json_is_string(v) ? v : js, f.loc, "unknown keyword \"%s\" (ignored)", k);
        }
    }
    /* a node that only delegates: evaluators jump to the target directly */
    if (nd.ref >= 0 && !(nd.flags & (NF_TYPE | NF_NULLABLE | NF_OBJ_KW | NF_ARR_KW | NF_STR_KW |
                                      NF_NUM_KW | NF_ENUM | NF_CONST | NF_RESOURCE |
                                      NF_READ_ONLY | NF_WRITE_ONLY)) &&
        !nd.n_all_of && !nd.n_any_of && !nd.n_one_of && nd.not_ < 0 && nd.if_ < 0 &&
        nd.dynref < 0 && !nd.dyn_anchor && !nd.n_dep_schemas && !s->n_dyn)
        nd.flags |= NF_PURE_REF; /* with $dynamicAnchors around, every resource entered counts */
    /* nothing to check at all */
    if (!(nd.flags & (NF_TYPE | NF_OBJ_KW | NF_ARR_KW | NF_STR_KW | NF_NUM_KW | NF_ENUM |
                      NF_CONST | NF_INPLACE | NF_WRITE_ONLY | NF_READ_ONLY)) &&
        !nd.disc && !nd.dyn_anchor && !(nd.flags & NF_RESOURCE))
        nd.flags |= NF_TRUE;
done:
    if (f.d != DG_DIALECT_AUTO && nd.dialect == DG_DIALECT_AUTO)
        nd.dialect = f.d;
    s->nodes[id] = nd;
    c->depth--;
    if (base.data) {
        /* base was only needed while compiling children */
        dg_buf_free(&base);
    }
    return rc ? -1 : id;
}

/* $dynamicRef may land on any $dynamicAnchor of a resource in the dynamic
 * scope, including ones no static $ref reaches: compile them all. */
static int compile_dynamic_anchors(cctx *c)
{
    dg_schemaset *s = c->s;
    for (size_t k = 0; k < s->n_dyn; k++) {
        if (s->dyn[k].node >= 0)
            continue;
        dg_buf lb = DG_BUF_INIT;
        dg_buf_printf(&lb, "%s#%s", dg_doc_name(s->dyn[k].doc), s->dyn[k].name);
        frame f = {s->dyn[k].doc, dg__dialect_of(s->dyn[k].resource, s->opts.dialect), s->dyn[k].base,
                   s->dyn[k].resource, lb.data ? dg_arena_strndup(&s->arena, lb.data, lb.len) : "", 0, 0};
        dg_buf_free(&lb);
        if (f.d == DG_DIALECT_AUTO || f.d == DG_DIALECT_DRAFT4)
            f.d = DG_DIALECT_2020_12;
        int32_t id = compile(c, s->dyn[k].js, &f);
        if (id < 0)
            return -1;
        s->dyn[k].node = id;
    }
    return 0;
}

int dg_schemaset_compile(dg_schemaset *s, json_t *schema, dg_dialect dialect, int *id,
                         dg_error *err)
{
    cctx c = {s, err, s->opts.assert_formats, 0};
    const dg_doc *doc = dg_schemaset_doc_of(s, schema);
    if (!doc)
        return dg_error_set(err, DG_EINVAL, "schema does not belong to a document of this set");
    dg_dialect d = dialect != DG_DIALECT_AUTO ? dialect : s->opts.dialect;
    json_t *root = dg__entry_root(s, doc);
    d = dg__dialect_of(root, d);
    /* pointer of the schema within its document (best effort: root or unknown) */
    dg_buf lb = DG_BUF_INIT;
    dg_buf_printf(&lb, "%s#", dg_doc_name(doc));
    frame f = {(dg_doc *)doc, d, dg__doc_uri(s, doc), NULL,
               dg_arena_strndup(&s->arena, lb.data, lb.len), 0, 0};
    dg_buf_free(&lb);
    f.resource = root;
    int32_t r = compile(&c, schema, &f);
    if (r < 0 || compile_dynamic_anchors(&c))
        return err && err->code ? err->code : DG_ESPEC;
    if (schema == root)
        s->nodes[r].flags |= NF_RESOURCE;
    *id = r;
    return 0;
}

/* The spec layer compiles schemas at a known pointer; same as above with loc. */
int dg__compile_at(dg_schemaset *s, json_t *schema, dg_dialect d, const char *pointer, int *id,
                   dg_error *err)
{
    cctx c = {s, err, s->opts.assert_formats, 0};
    const dg_doc *doc = dg_schemaset_doc_of(s, schema);
    if (!doc)
        return dg_error_set(err, DG_EINVAL, "schema does not belong to a document of this set");
    dg_buf lb = DG_BUF_INIT;
    dg_buf_printf(&lb, "%s#%s", dg_doc_name(doc), pointer ? pointer : "");
    frame f = {(dg_doc *)doc, d, dg__doc_uri(s, doc), NULL,
               lb.data ? dg_arena_strndup(&s->arena, lb.data, lb.len) : NULL, 0, 0};
    dg_buf_free(&lb);
    f.resource = dg_doc_root(doc);
    int32_t r = compile(&c, schema, &f);
    if (r < 0 || compile_dynamic_anchors(&c))
        return err && err->code ? err->code : DG_ESPEC;
    *id = r;
    return 0;
}

int dg__schemaset_id_of(const dg_schemaset *s, const json_t *schema)
{
    return memo_get(s, schema);
}
