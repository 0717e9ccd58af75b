/* validate/compile.c: turns schema objects into dg_nodes (one per schema
 * object, memoised by json_t pointer so cycles and shared $refs compile
 * once). Keyword sets follow the node's dialect. */
#include "validate/compile_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/uri.h"


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

int dg__cfail(cctx *c, dg_doc *doc, const json_t *at, const char *loc, const char *fmt,
                const char *a)
{
    char where[600];
    dg__where(c->s, doc, at, where, sizeof where);
    dg_error_set(c->err, DG_ESPEC, fmt, a);
    const char *h = loc ? strchr(loc, '#') : NULL; /* loc is NULL when memory ran out */
    unsigned l = 0, col = 0;
    if (doc && dg_doc_loc(doc, at, &l, &col) == 0)
        dg_error_locate(c->err, dg_doc_name(doc), l, col, h ? h + 1 : loc);
    else
        dg_error_locate(c->err, doc ? dg_doc_name(doc) : NULL, 0, 0, h ? h + 1 : loc);
    return -1;
}



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

static int32_t compile(cctx *c, json_t *js, frame *f);

const char *dg__cstr(cctx *c, const char *s, size_t n)
{
    return dg_arena_strndup(&c->s->arena, s, n);
}

int32_t dg__csub(cctx *c, json_t *js, frame *f, const char *k1, const char *k2)
{
    frame cf = *f;
    cf.loc = child_loc(c, f->loc, k1, k2);
    if (!cf.loc)
        return dg__cfail(c, f->doc, js, f->loc, "%s", "out of memory");
    return compile(c, js, &cf);
}

int32_t dg__csub_idx(cctx *c, json_t *js, frame *f, const char *k1, size_t i)
{
    char ix[24];
    snprintf(ix, sizeof ix, "%zu", i);
    return dg__csub(c, js, f, k1, ix);
}

/* Resolves a $ref/$dynamicRef value v found in schema js and compiles its
 * target (in its own document, base URI and resource). Returns the node id
 * or -1; *target receives the target schema when asked. */
static int32_t compile_ref(cctx *c, frame *f, json_t *js, json_t *v, const char *kw,
                           json_t **target)
{
    dg_schemaset *s = c->s;
    if (!json_is_string(v))
        return dg__cfail(c, f->doc, v, f->loc, "%s must be a string", kw);
    dg_target t;
    if (dg__resolve(s, f->base, json_string_value(v), f->d, &t, c->err)) {
        char msg[900];
        const char *why = c->err ? c->err->msg : "unresolved reference";
        if (strstr(why, json_string_value(v)))
            snprintf(msg, sizeof msg, "%s", why);
        else
            snprintf(msg, sizeof msg, "%s \"%.300s\": %s", kw, json_string_value(v), why);
        return dg__cfail(c, f->doc, v, f->loc, "%s", msg);
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
        return dg__cfail(c, f->doc, js, f->loc, "%s", "out of memory");
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
        return dg__cfail(c, pf->doc, js, pf->loc, "%s", "missing schema");
    int32_t memo = memo_get(s, js);
    if (memo >= 0)
        return memo;
    if (++c->depth > 2000) {
        c->depth--;
        return dg__cfail(c, pf->doc, js, pf->loc, "%s", "schema nesting too deep");
    }
    frame f = *pf;
    int32_t id = new_node(s);
    if (id < 0 || memo_put(s, js, id)) {
        c->depth--;
        return dg__cfail(c, f.doc, js, f.loc, "%s", "out of memory");
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
        rc = dg__cfail(c, f.doc, js, f.loc, "%s", "a schema must be an object or a boolean");
        goto done;
    }
    json_t *v;
    f.d = dg__dialect_of(js, f.d);
    nd.dialect = f.d;
    if (!dg__draft4ish(f.d) && json_is_string(v = json_object_get(js, "$schema")))
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
            rc = dg__cfail(c, f.doc, js, f.loc, "%s", "out of memory");
            goto done;
        }
        for (int i = 0; vkw[i]; i++)
            json_object_del(copy, vkw[i]);
        js = copy;
    }
    int d4 = dg__draft4ish(f.d);
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
            rc = dg__cfail(c, f.doc, js, f.loc, "%s", "out of memory");
            goto done;
        }
        base.data[dg_uri_strip_fragment(base.data)] = '\0';
        f.base = base.data;
        f.resource = js;
        nd.resource = js;
        nd.flags |= NF_RESOURCE;
    }
    if (!d4 && json_is_string(v = json_object_get(js, "$dynamicAnchor"))) {
        nd.dyn_anchor = dg__cstr(c, json_string_value(v), json_string_length(v));
        int found = 0;
        for (size_t di = 0; di < s->n_dyn; di++)
            if (s->dyn[di].js == js) {
                s->dyn[di].node = id;
                found = 1;
            }
        if (!found) {
            if (s->n_dyn >= s->cap_dyn && dg__grow((void **)&s->dyn, &s->cap_dyn, sizeof *s->dyn)) {
                rc = dg__cfail(c, f.doc, js, f.loc, "%s", "out of memory");
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
            nd.dynref_anchor = dg__cstr(c, fr + 1, strlen(fr + 1));
    }
    /* type */
    if ((v = json_object_get(js, "type"))) {
        uint8_t t = 0;
        if (json_is_string(v)) {
            t = type_bit(json_string_value(v));
            if (!t) {
                rc = dg__cfail(c, f.doc, v, f.loc, "unknown type \"%s\"", json_string_value(v));
                goto done;
            }
        } else if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) {
                uint8_t b = json_is_string(e) ? type_bit(json_string_value(e)) : 0;
                if (!b) {
                    rc = dg__cfail(c, f.doc, e, f.loc, "%s", "type array members must be type names");
                    goto done;
                }
                t |= b;
            }
            if (f.d == DG_DIALECT_OAS30)
                dg_schemaset_lint_add(s, f.doc, v, f.loc, "type arrays are not allowed in OpenAPI 3.0");
        } else {
            rc = dg__cfail(c, f.doc, v, f.loc, "%s", "type must be a string or an array");
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
            rc = dg__cfail(c, f.doc, v, f.loc, "%s", "enum must be an array");
            goto done;
        }
        nd.n_enum = (uint32_t)json_array_size(v);
        nd.enum_v = calloc(nd.n_enum + 1, sizeof *nd.enum_v);
        if (!nd.enum_v) {
            nd.n_enum = 0; /* free_node walks n_enum entries */
            rc = dg__cfail(c, f.doc, v, f.loc, "%s", "out of memory");
            goto done;
        }
        for (uint32_t i = 0; i < nd.n_enum; i++) {
            if (dg__make_value(c, json_array_get(v, i), &f, &nd.enum_v[i])) {
                rc = dg__cfail(c, f.doc, v, f.loc, "%s", "bad enum member");
                goto done;
            }
            if (nd.enum_v[i].type & (DG_T_OBJECT | DG_T_ARRAY))
                nd.flags |= NF_HASH_ENUM;
        }
        nd.flags |= NF_ENUM;
    } else if (!d4 && (v = json_object_get(js, "const"))) {
        nd.enum_v = calloc(1, sizeof *nd.enum_v);
        nd.n_enum = nd.enum_v ? 1 : 0;
        if (!nd.enum_v || dg__make_value(c, v, &f, &nd.enum_v[0])) {
            rc = dg__cfail(c, f.doc, v, f.loc, "%s", "bad const");
            goto done;
        }
        if (nd.enum_v[0].type & (DG_T_OBJECT | DG_T_ARRAY))
            nd.flags |= NF_HASH_ENUM;
        nd.flags |= NF_CONST;
    }
    if (dg__compile_scalar_kw(c, js, &f, &nd) || dg__compile_array_kw(c, js, &f, &nd) ||
        dg__compile_object_kw(c, js, &f, &nd)) {
        rc = -1;
        goto done;
    }
    /* applicators */
    if (json_object_get(js, "allOf") && !(nd.all_of = dg__schema_array(c, js, &f, "allOf", &nd.n_all_of))) { rc = -1; goto done; }
    if (json_object_get(js, "anyOf") && !(nd.any_of = dg__schema_array(c, js, &f, "anyOf", &nd.n_any_of))) { rc = -1; goto done; }
    if (json_object_get(js, "oneOf") && !(nd.one_of = dg__schema_array(c, js, &f, "oneOf", &nd.n_one_of))) { rc = -1; goto done; }
    if ((v = json_object_get(js, "not")) && (nd.not_ = dg__csub(c, v, &f, "not", NULL)) < 0) { rc = -1; goto done; }
    if (!d4 && (v = json_object_get(js, "if"))) {
        if ((nd.if_ = dg__csub(c, v, &f, "if", NULL)) < 0) { rc = -1; goto done; }
        if ((v = json_object_get(js, "then")) && (nd.then_ = dg__csub(c, v, &f, "then", NULL)) < 0) { rc = -1; goto done; }
        if ((v = json_object_get(js, "else")) && (nd.else_ = dg__csub(c, v, &f, "else", NULL)) < 0) { rc = -1; goto done; }
    }
    if (nd.n_all_of || nd.n_any_of || nd.n_one_of || nd.not_ >= 0 || nd.if_ >= 0 ||
        nd.n_dep_schemas)
        nd.flags |= NF_INPLACE;
    if (dg__is_oas(f.d) && json_object_get(js, "discriminator") && dg__compile_discriminator(c, js, &f, &nd)) {
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
    if (dg__is_oas(f.d)) {
        json_object_foreach(js, k, v) {
            if (!dg__is_known_keyword(k, f.d))
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

/* In-place edges of a node: applicators that apply to the same instance. */
static size_t inplace_edges(const dg_node *n, int32_t *out, size_t cap)
{
    size_t k = 0;
#define ADD(x)                                                                 \
    do {                                                                       \
        if ((x) >= 0 && k < cap)                                               \
            out[k++] = (x);                                                    \
    } while (0)
    ADD(n->ref);
    ADD(n->dynref);
    for (uint32_t i = 0; i < n->n_all_of; i++) ADD(n->all_of[i]);
    for (uint32_t i = 0; i < n->n_any_of; i++) ADD(n->any_of[i]);
    for (uint32_t i = 0; i < n->n_one_of; i++) ADD(n->one_of[i]);
    ADD(n->not_);
    ADD(n->if_);
    ADD(n->then_);
    ADD(n->else_);
    for (uint32_t i = 0; i < n->n_dep_schemas; i++) ADD(n->dep_schemas[i]);
#undef ADD
    return k;
}

/* A schema that reaches itself through $ref/allOf/anyOf/... without
 * descending into a property or item would recurse forever on any value:
 * refuse it at compile time (nodes [first, n_nodes) are the new ones; older
 * nodes cannot point at them). Iterative DFS, colours 0 new, 1 open, 2 done. */
static int check_inplace_cycles(cctx *c, size_t first)
{
    dg_schemaset *s = c->s;
    size_t n = s->n_nodes - first;
    if (!n)
        return 0;
    uint8_t *col = calloc(n, 1);
    struct it { int32_t node; uint32_t next; } *st = malloc(n * sizeof *st);
    if (!col || !st) {
        free(col);
        free(st);
        return dg_error_set(c->err, DG_ENOMEM, "out of memory");
    }
    int rc = 0;
    for (size_t root = 0; root < n && !rc; root++) {
        if (col[root])
            continue;
        size_t sp = 0;
        st[sp++] = (struct it){(int32_t)(first + root), 0};
        col[root] = 1;
        while (sp && !rc) {
            struct it *top = &st[sp - 1];
            int32_t e[256];
            size_t ne = inplace_edges(&s->nodes[top->node], e, 256);
            if (top->next >= ne) {
                col[(size_t)top->node - first] = 2;
                sp--;
                continue;
            }
            int32_t to = e[top->next++];
            if ((size_t)to < first)
                continue;
            if (col[(size_t)to - first] == 1) {
                const dg_node *bad = &s->nodes[to];
                const dg_doc *d = dg_schemaset_doc_of(s, bad->src);
                rc = dg__cfail(c, (dg_doc *)d, bad->src, bad->loc, "%s",
                               "circular reference: this schema applies itself to the same value "
                               "(through $ref/allOf/anyOf/oneOf/not/if) without descending into "
                               "a property or item, so it can never be evaluated");
                break;
            }
            if (col[(size_t)to - first] == 0) {
                col[(size_t)to - first] = 1;
                st[sp++] = (struct it){to, 0};
            }
        }
    }
    free(col);
    free(st);
    return rc ? -1 : 0;
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
    char *loc = lb.data ? dg_arena_strndup(&s->arena, lb.data, lb.len) : NULL;
    dg_buf_free(&lb);
    if (!loc)
        return dg_error_set(err, DG_ENOMEM, "out of memory compiling a schema");
    frame f = {(dg_doc *)doc, d, dg__doc_uri(s, doc), NULL, loc, 0, 0};
    f.resource = root;
    size_t first = s->n_nodes;
    int32_t r = compile(&c, schema, &f);
    if (r < 0 || compile_dynamic_anchors(&c) || check_inplace_cycles(&c, first))
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
    char *loc = lb.data ? dg_arena_strndup(&s->arena, lb.data, lb.len) : NULL;
    dg_buf_free(&lb);
    if (!loc)
        return dg_error_set(err, DG_ENOMEM, "out of memory compiling a schema");
    frame f = {(dg_doc *)doc, d, dg__doc_uri(s, doc), NULL, loc, 0, 0};
    f.resource = dg_doc_root(doc);
    size_t first = s->n_nodes;
    int32_t r = compile(&c, schema, &f);
    if (r < 0 || compile_dynamic_anchors(&c) || check_inplace_cycles(&c, first))
        return err && err->code ? err->code : DG_ESPEC;
    *id = r;
    return 0;
}

int dg__schemaset_id_of(const dg_schemaset *s, const json_t *schema)
{
    return memo_get(s, schema);
}
