/* validate/compile_kw.c: compiles the keyword groups of one schema object
 * (numbers and strings, arrays, objects, enum/const values, OpenAPI's
 * discriminator) into a dg_node. Keyword sets follow the frame's dialect. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/compile_internal.h"
#include "validate/regex_simple.h"

static int get_count(cctx *c, json_t *js, frame *f, const char *kw, int64_t *out)
{
    json_t *v = json_object_get(js, kw);
    if (!v)
        return 0;
    double dv = json_is_integer(v) ? (double)json_integer_value(v) : json_is_real(v) ? json_real_value(v) : -1;
    if (!json_is_number(v) || dv < 0 || dv != (double)(int64_t)dv)
        return dg__cfail(c, f->doc, v, f->loc, "%s must be a non-negative integer", kw);
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
        return dg__cfail(c, f->doc, v, f->loc, "%s must be a number", kw);
    size_t n = strlen(t);
    b->text = malloc(n + 1);
    b->orig = strdup(t);
    if (!b->text || !b->orig)
        return dg__cfail(c, f->doc, v, f->loc, "%s", "out of memory");
    if (dg_dec_parse(t, n, b->text, &b->dec))
        return dg__cfail(c, f->doc, v, f->loc, "%s is not a usable number", kw);
    b->set = 1;
    if (json_is_integer(v)) {
        b->is_i64 = 1;
        b->i = json_integer_value(v);
    }
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
    p[n->n_props] = (dg_prop){name, (uint32_t)len, dg_prop_hash(name, len), -1, -1, -1};
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

int32_t *dg__schema_array(cctx *c, json_t *js, frame *f, const char *kw, uint32_t *count)
{
    json_t *a = json_object_get(js, kw);
    if (!json_is_array(a) || json_array_size(a) == 0) {
        dg__cfail(c, f->doc, a, f->loc, "%s must be a non-empty array of schemas", kw);
        return NULL;
    }
    size_t n = json_array_size(a);
    int32_t *ids = malloc(n * sizeof *ids);
    if (!ids) {
        dg__cfail(c, f->doc, a, f->loc, "%s", "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        ids[i] = dg__csub_idx(c, json_array_get(a, i), f, kw, i);
        if (ids[i] < 0) {
            free(ids);
            return NULL;
        }
    }
    *count = (uint32_t)n;
    return ids;
}

int dg__make_value(cctx *c, json_t *v, frame *f, dg_value *out)
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


int dg__compile_discriminator(cctx *c, json_t *js, frame *f, dg_node *nd)
{
    json_t *disc = json_object_get(js, "discriminator");
    json_t *pn = json_is_object(disc) ? json_object_get(disc, "propertyName") : NULL;
    if (!json_is_string(pn)) {
        if (json_is_string(disc)) /* Swagger 2.0: discriminator is the property name; no branches */
            return 0;
        return dg__cfail(c, f->doc, disc, f->loc, "%s", "discriminator needs a string propertyName");
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
        return dg__cfail(c, f->doc, disc, f->loc, "%s", "out of memory");
    nd->disc = d;
    d->prop = dg__cstr(c, json_string_value(pn), json_string_length(pn));
    d->prop_len = (uint32_t)json_string_length(pn);
    d->on_one_of = on_one;
    json_t *mapping = json_object_get(disc, "mapping");
    size_t cap = nb + (json_is_object(mapping) ? json_object_size(mapping) : 0);
    d->values = calloc(cap, sizeof *d->values);
    d->lens = calloc(cap, sizeof *d->lens);
    d->branch = calloc(cap, sizeof *d->branch);
    if (!d->values || !d->lens || !d->branch)
        return dg__cfail(c, f->doc, disc, f->loc, "%s", "out of memory");
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
            d->values[d->n] = dg__cstr(c, k, strlen(k));
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
        d->values[d->n] = dg__cstr(c, name, strlen(name));
        d->lens[d->n] = (uint32_t)strlen(name);
        d->branch[d->n++] = (int32_t)b;
    }
    return 0;
}

int dg__is_known_keyword(const char *k, dg_dialect d)
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

/* Registers property name k in nd's table (k is copied); index or -1. */
static int32_t add_prop(cctx *c, frame *f, dg_node *nd, json_t *at, const char *k)
{
    size_t kl = strlen(k);
    int32_t pi = prop_index(nd, dg__cstr(c, k, kl), kl, 1);
    if (pi < 0)
        return dg__cfail(c, f->doc, at, f->loc, "%s", "out of memory");
    return pi;
}

int dg__compile_object_kw(cctx *c, json_t *js, frame *f, dg_node *nd)
{
    json_t *v;
    const char *k;
    json_t *props = json_object_get(js, "properties");
    if (props) {
        if (!json_is_object(props))
            return dg__cfail(c, f->doc, props, f->loc, "%s", "properties must be an object");
        json_object_foreach(props, k, v) {
            int32_t pi = add_prop(c, f, nd, v, k);
            if (pi < 0)
                return -1;
            int32_t cid = dg__csub(c, v, f, "properties", k);
            if (cid < 0)
                return -1;
            nd->props[pi].node = cid;
        }
        nd->flags |= NF_OBJ_KW | NF_UDECL;
    }
    json_t *req = json_object_get(js, "required");
    if (req) {
        if (!json_is_array(req))
            return dg__cfail(c, f->doc, req, f->loc, "%s", "required must be an array of strings");
        size_t i;
        json_array_foreach(req, i, v) {
            if (!json_is_string(v))
                return dg__cfail(c, f->doc, v, f->loc, "%s", "required must be an array of strings");
            size_t kl = json_string_length(v);
            int32_t pi = prop_index(nd, dg__cstr(c, json_string_value(v), kl), kl, 1);
            if (pi < 0)
                return dg__cfail(c, f->doc, v, f->loc, "%s", "out of memory");
            if (nd->props[pi].req_bit < 0)
                nd->props[pi].req_bit = (int32_t)nd->n_required++;
        }
        nd->flags |= NF_OBJ_KW;
    }
    json_t *pp = dg__draft4ish(f->d) && f->d != DG_DIALECT_DRAFT4 ? NULL : json_object_get(js, "patternProperties");
    if (json_is_object(pp)) {
        nd->pattern_props = calloc(json_object_size(pp) + 1, sizeof *nd->pattern_props);
        if (!nd->pattern_props)
            return dg__cfail(c, f->doc, pp, f->loc, "%s", "out of memory");
        json_object_foreach(pp, k, v) {
            dg_error rerr;
            dg_pattern_prop *p = &nd->pattern_props[nd->n_pattern_props];
            if (dg_regex_compile(k, strlen(k), &p->re, &rerr))
                return dg__cfail(c, f->doc, v, f->loc, "invalid patternProperties regex: %s", rerr.msg);
            nd->n_pattern_props++;
            if ((p->node = dg__csub(c, v, f, "patternProperties", k)) < 0)
                return -1;
        }
        nd->flags |= NF_OBJ_KW | NF_UDECL;
    }
    if ((v = json_object_get(js, "additionalProperties"))) {
        if ((nd->addl = dg__csub(c, v, f, "additionalProperties", NULL)) < 0)
            return -1;
        nd->flags |= NF_OBJ_KW | NF_UCLOSED;
    }
    if (get_count(c, js, f, "minProperties", &nd->min_props) ||
        get_count(c, js, f, "maxProperties", &nd->max_props))
        return -1;
    if (nd->min_props >= 0 || nd->max_props >= 0)
        nd->flags |= NF_OBJ_KW;
    if (f->d != DG_DIALECT_DRAFT4 && !dg__draft4ish(f->d) && (v = json_object_get(js, "propertyNames"))) {
        if ((nd->prop_names = dg__csub(c, v, f, "propertyNames", NULL)) < 0)
            return -1;
        nd->flags |= NF_OBJ_KW;
    }
    if (!dg__draft4ish(f->d) && (v = json_object_get(js, "unevaluatedProperties"))) {
        if ((nd->uneval_props = dg__csub(c, v, f, "unevaluatedProperties", NULL)) < 0)
            return -1;
        nd->flags |= NF_OBJ_KW | NF_UNEVAL | NF_UCLOSED;
    }
    /* dependencies (draft4) / dependentRequired + dependentSchemas (2020-12) */
    const char *dep_kw[4] = {NULL, NULL, NULL, NULL};
    if (f->d == DG_DIALECT_DRAFT4) {
        dep_kw[0] = "dependencies";
    } else if (!dg__draft4ish(f->d)) {
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
            return dg__cfail(c, f->doc, deps, f->loc, "%s must be an object", dep_kw[di]);
        size_t n = json_object_size(deps);
        nd->dep_required = realloc(nd->dep_required, (nd->n_dep_required + n) * sizeof *nd->dep_required);
        nd->dep_schemas = realloc(nd->dep_schemas, (nd->n_dep_schemas + n) * sizeof *nd->dep_schemas);
        nd->dep_schema_names = realloc(nd->dep_schema_names, (nd->n_dep_schemas + n) * sizeof *nd->dep_schema_names);
        if (!nd->dep_required || !nd->dep_schemas || !nd->dep_schema_names)
            return dg__cfail(c, f->doc, deps, f->loc, "%s", "out of memory");
        json_object_foreach(deps, k, v) {
            size_t kl = strlen(k);
            int32_t pi = add_prop(c, f, nd, v, k);
            if (pi < 0)
                return -1;
            if (json_is_array(v) && strcmp(dep_kw[di], "dependentSchemas")) {
                dg_dep_req *dr = &nd->dep_required[nd->n_dep_required];
                memset(dr, 0, sizeof *dr);
                dr->name = nd->props[pi].name;
                dr->len = (uint32_t)kl;
                dr->n = (uint32_t)json_array_size(v);
                dr->names = calloc(dr->n + 1, sizeof *dr->names);
                dr->lens = calloc(dr->n + 1, sizeof *dr->lens);
                if (!dr->names || !dr->lens)
                    return dg__cfail(c, f->doc, v, f->loc, "%s", "out of memory");
                size_t i;
                json_t *s;
                json_array_foreach(v, i, s) {
                    if (!json_is_string(s))
                        return dg__cfail(c, f->doc, s, f->loc, "%s", "dependency names must be strings");
                    dr->names[i] = dg__cstr(c, json_string_value(s), json_string_length(s));
                    dr->lens[i] = (uint32_t)json_string_length(s);
                    /* dependents need a seen-bit too */
                    if (prop_index(nd, dr->names[i], dr->lens[i], 1) < 0)
                        return dg__cfail(c, f->doc, s, f->loc, "%s", "out of memory");
                }
                nd->n_dep_required++;
            } else if (json_is_object(v) || json_is_boolean(v)) {
                int32_t cid = dg__csub(c, v, f, dep_kw[di], k);
                if (cid < 0)
                    return -1;
                nd->dep_schema_names[nd->n_dep_schemas] = nd->props[pi].name;
                nd->props[pi].dep_schema = (int32_t)nd->n_dep_schemas;
                nd->dep_schemas[nd->n_dep_schemas++] = cid;
            } else {
                return dg__cfail(c, f->doc, v, f->loc, "%s", "invalid dependency");
            }
        }
        nd->flags |= NF_OBJ_KW;
    }
    for (uint32_t i = 0; i < nd->n_props && i < 128; i++)
        if (nd->props[i].req_bit >= 0)
            nd->req_mask[i / 64] |= 1ull << (i % 64);
    if (nd->n_props && build_prop_hash(nd))
        return dg__cfail(c, f->doc, js, f->loc, "%s", "out of memory");
    return 0;
}

int dg__compile_array_kw(cctx *c, json_t *js, frame *f, dg_node *nd)
{
    json_t *v;
    int d4 = dg__draft4ish(f->d);
    json_t *items = json_object_get(js, "items");
    if (d4 && json_is_array(items)) {
        nd->prefix = dg__schema_array(c, js, f, "items", &nd->n_prefix);
        if (!nd->prefix && json_array_size(items))
            return -1;
        json_t *ai = json_object_get(js, "additionalItems");
        if (ai && (nd->items = dg__csub(c, ai, f, "additionalItems", NULL)) < 0)
            return -1;
        nd->flags |= NF_ARR_KW;
    } else if (items) {
        if ((nd->items = dg__csub(c, items, f, "items", NULL)) < 0)
            return -1;
        nd->flags |= NF_ARR_KW;
    }
    if (!d4 && (v = json_object_get(js, "prefixItems"))) {
        if (!(nd->prefix = dg__schema_array(c, js, f, "prefixItems", &nd->n_prefix)))
            return -1;
        nd->flags |= NF_ARR_KW;
    }
    if (!d4 && (v = json_object_get(js, "contains"))) {
        if ((nd->contains = dg__csub(c, v, f, "contains", NULL)) < 0)
            return -1;
        if (get_count(c, js, f, "minContains", &nd->min_contains) ||
            get_count(c, js, f, "maxContains", &nd->max_contains))
            return -1;
        if (nd->min_contains < 0)
            nd->min_contains = 1;
        nd->flags |= NF_ARR_KW;
    }
    if (!d4 && (v = json_object_get(js, "unevaluatedItems"))) {
        if ((nd->uneval_items = dg__csub(c, v, f, "unevaluatedItems", NULL)) < 0)
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

/* 2020-12 numeric exclusive bound v next to an inclusive one in *bound:
 * keep the tighter (dir 1: the larger lower bound, -1: the smaller upper). */
static int tighten_bound(cctx *c, json_t *v, frame *f, const char *kw, dg_bound *bound, int dir)
{
    dg_bound b;
    memset(&b, 0, sizeof b);
    if (make_bound(c, v, f, kw, &b))
        return -1;
    b.exclusive = 1;
    if (!bound->set || dg_dec_cmp(&b.dec, &bound->dec) * dir >= 0) {
        free(bound->text);
        free(bound->orig);
        *bound = b;
    } else {
        free(b.text);
        free(b.orig);
    }
    return 0;
}

int dg__compile_scalar_kw(cctx *c, json_t *js, frame *f, dg_node *nd)
{
    json_t *v;
    int d4 = dg__draft4ish(f->d);
    if (get_count(c, js, f, "minLength", &nd->min_len) ||
        get_count(c, js, f, "maxLength", &nd->max_len))
        return -1;
    if (nd->min_len >= 0 || nd->max_len >= 0)
        nd->flags |= NF_STR_KW;
    if ((v = json_object_get(js, "pattern"))) {
        dg_error rerr;
        if (!json_is_string(v))
            return dg__cfail(c, f->doc, v, f->loc, "%s", "pattern must be a string");
        if (dg_regex_compile(json_string_value(v), json_string_length(v), &nd->pattern, &rerr))
            return dg__cfail(c, f->doc, v, f->loc, "invalid pattern: %s", rerr.msg);
        /* most API patterns are anchored character classes: skip PCRE2 for them */
        nd->spattern = malloc(sizeof *nd->spattern);
        if (nd->spattern &&
            dg_simple_re_compile(json_string_value(v), json_string_length(v), nd->spattern)) {
            free(nd->spattern);
            nd->spattern = NULL;
        }
        nd->flags |= NF_STR_KW;
    }
    if (json_is_string(v = json_object_get(js, "format"))) {
        nd->format = dg_format_lookup(json_string_value(v), json_string_length(v));
        if (nd->format == DG_FMT_UNKNOWN && dg__is_oas(f->d))
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
        if (emn && tighten_bound(c, emn, f, "exclusiveMinimum", &nd->minimum, 1))
            return -1;
        if (emx && tighten_bound(c, emx, f, "exclusiveMaximum", &nd->maximum, -1))
            return -1;
    }
    if ((v = json_object_get(js, "multipleOf"))) {
        if (make_bound(c, v, f, "multipleOf", &nd->multiple_of))
            return -1;
        if (nd->multiple_of.dec.ndig == 0 || nd->multiple_of.dec.neg)
            return dg__cfail(c, f->doc, v, f->loc, "%s", "multipleOf must be greater than 0");
    }
    if (nd->minimum.set || nd->maximum.set || nd->multiple_of.set)
        nd->flags |= NF_NUM_KW;
    return 0;
}

