/* validate/validator.c: the dg_validator API around the engine — lifecycle,
 * byte input through the tokenizer, jansson tree input, and turning the
 * engine's violation list into a dg_result. The event engine is engine.c. */
#include <stdlib.h>
#include <string.h>

#include "validate/check.h"

void dg_validate_opts_default(dg_validate_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_errors = 100;
    o->direction = DG_DIR_RESPONSE;
    dg_json_limits_default(&o->limits);
    o->max_unique_items = 100000;
}

static int sink(void *ctx, dg_json_ev ev, const dg_json_token *tok)
{
    return dg_validator_event(ctx, ev, tok);
}

dg_validator *dg_validator_new(const dg_schemaset *set, const dg_validate_opts *opts)
{
    dg_validator *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->set = set;
    v->nodes = dg_schemaset_nodes(set);
    if (opts)
        v->opts = *opts;
    else
        dg_validate_opts_default(&v->opts);
    if (!v->opts.max_errors)
        v->opts.max_errors = 100;
    if (!v->opts.max_unique_items)
        v->opts.max_unique_items = 100000;
    dg_json_limits dl;
    dg_json_limits_default(&dl);
    if (!v->opts.limits.max_depth) v->opts.limits.max_depth = dl.max_depth;
    if (!v->opts.limits.max_string) v->opts.limits.max_string = dl.max_string;
    if (!v->opts.limits.max_number) v->opts.limits.max_number = dl.max_number;
    v->undoc_next = v->opts.report_undocumented != 0;
    v->tok = dg_json_tok_new(&v->opts.limits, sink, v);
    if (!v->tok) {
        free(v);
        return NULL;
    }
    return v;
}

static void free_violations(dg_validator *v)
{
    for (size_t i = 0; i < v->nviol; i++) {
        free(v->viol[i].instance_pointer);
        free(v->viol[i].schema_pointer);
        free(v->viol[i].message);
        free(v->viol[i].value);
    }
    v->nviol = 0;
}

static void reset_state(dg_validator *v)
{
    for (uint32_t i = 0; i < v->nev; i++)
        dg__free_eval(v, &v->ev[i]);
    v->nev = 0;
    for (uint32_t i = 0; i < v->nfr; i++) {
        dg_buf_reset(&v->fr[i].key);
        dg_buf_reset(&v->fr[i].keys);
    }
    v->nfr = 0;
    v->npd = 0;
    v->skip = 0;
    v->seq = 0;
    dg__elist_clear(v, &v->out);
    free_violations(v);
    memset(&v->perr, 0, sizeof v->perr);
    v->failed_internal = 0;
}

void dg_validator_free(dg_validator *v)
{
    if (!v)
        return;
    reset_state(v);
    for (uint32_t i = 0; i < v->cfr; i++) {
        dg_buf_free(&v->fr[i].key);
        dg_buf_free(&v->fr[i].keys);
        free(v->fr[i].u_doc.w);
    }
    free(v->fr);
    free(v->ev);
    free(v->pd);
    free(v->viol);
    while (v->free_errs) {
        verr *n = v->free_errs->next;
        free(v->free_errs);
        v->free_errs = n;
    }
    dg_json_tok_free(v->tok);
    free(v);
}

void dg_validator_set_report_undocumented(dg_validator *v, int on)
{
    v->undoc_next = on != 0;
}

int dg_validator_begin(dg_validator *v, int id)
{
    reset_state(v);
    v->undoc = v->undoc_next;
    dg_json_tok_reset(v->tok);
    if (v->npd == v->cpd && dg__add_pend_grow(v))
        return DG_ENOMEM;
    v->pd[v->npd++] = (pend){id, -1, R_ROOT, 0};
    return 0;
}

int dg_validator_feed(dg_validator *v, const char *p, size_t n)
{
    if (v->perr.code)
        return v->perr.code;
    int rc = dg_json_feed(v->tok, p, n, &v->perr);
    if (rc && !v->perr.code)
        v->perr.code = rc;
    return rc;
}

static int build_result(dg_validator *v, dg_result *out)
{
    memset(out, 0, sizeof *out);
    free_violations(v);
    size_t total = v->out.n + v->out.dropped;
    size_t und_total = v->out.und;
    size_t und_kept = 0;
    if (v->perr.code) {
        /* malformed body: one parse violation, located */
        dg__elist_clear(v, &v->out);
        total = 1;
        und_total = 0;
        if (!v->cviol) {
            v->viol = calloc(4, sizeof *v->viol);
            v->cviol = v->viol ? 4 : 0;
        }
        if (v->viol) {
            dg_violation *x = &v->viol[0];
            char msg[700];
            memset(x, 0, sizeof *x);
            x->kind = DG_KIND_PARSE;
            x->instance_pointer = strdup("");
            x->schema_pointer = strdup("");
            if (v->perr.line)
                snprintf(msg, sizeof msg, "invalid JSON at line %u column %u (byte %llu): %s",
                         v->perr.line, v->perr.col, (unsigned long long)v->perr.offset, v->perr.msg);
            else
                snprintf(msg, sizeof msg, "invalid JSON: %s", v->perr.msg);
            x->message = strdup(msg);
            v->nviol = 1;
        }
        out->parse_error = v->perr;
    } else {
        if (v->out.n > v->cviol) {
            dg_violation *nv = realloc(v->viol, v->out.n * sizeof *nv);
            if (!nv)
                return DG_ENOMEM;
            v->viol = nv;
            v->cviol = v->out.n;
        }
        size_t k = 0;
        for (verr *e = v->out.head; e; e = e->next, k++) {
            dg_violation *x = &v->viol[k];
            x->kind = e->kind;
            x->instance_pointer = e->iptr ? e->iptr : strdup("");
            x->schema_pointer = e->sptr ? e->sptr : strdup("");
            x->message = e->msg ? e->msg : dg__verr_message(e);
            x->shape = e->shape;
            x->value = e->value;
            x->undocumented = e->undoc;
            und_kept += e->undoc;
            e->iptr = e->sptr = e->msg = e->value = NULL;
        }
        v->nviol = k;
        dg__elist_clear(v, &v->out);
    }
    out->count = v->nviol;
    out->total = total;
    out->truncated = total > v->nviol;
    out->v = v->viol;
    out->valid = total == und_total;
    out->undocumented = und_kept;
    return 0;
}

int dg_validator_finish(dg_validator *v, dg_result *out)
{
    if (!v->perr.code) {
        int rc = dg_json_finish(v->tok, &v->perr);
        if (rc && !v->perr.code)
            v->perr.code = rc;
    }
    if (v->failed_internal)
        return v->failed_internal;
    return build_result(v, out);
}

static int walk(dg_validator *v, const json_t *j, const dg_doc *doc, unsigned depth)
{
    dg_json_token t;
    memset(&t, 0, sizeof t);
    char num[64];
    if (depth > v->opts.limits.max_depth) {
        dg_error_set(&v->perr, DG_ELIMIT, "nesting depth exceeds %u", v->opts.limits.max_depth);
        return DG_ELIMIT;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        dg_validator_event(v, DG_EV_OBJ_START, &t);
        const char *k;
        size_t kl;
        json_t *x;
        void *tmp;
        json_object_keylen_foreach_safe((json_t *)j, tmp, k, kl, x) {
            t.s = k;
            t.len = kl;
            dg_validator_event(v, DG_EV_KEY, &t);
            if (walk(v, x, doc, depth + 1))
                return DG_ELIMIT;
        }
        memset(&t, 0, sizeof t);
        return dg_validator_event(v, DG_EV_OBJ_END, &t);
    }
    case JSON_ARRAY: {
        dg_validator_event(v, DG_EV_ARR_START, &t);
        size_t i;
        json_t *x;
        json_array_foreach(j, i, x) if (walk(v, x, doc, depth + 1)) return DG_ELIMIT;
        return dg_validator_event(v, DG_EV_ARR_END, &t);
    }
    case JSON_STRING:
        t.s = json_string_value(j);
        t.len = json_string_length(j);
        return dg_validator_event(v, DG_EV_STRING, &t);
    case JSON_INTEGER:
        t.len = (size_t)snprintf(num, sizeof num, "%lld", (long long)json_integer_value(j));
        t.s = num;
        t.i = json_integer_value(j);
        t.num_flags = DG_NUM_I64 | (t.i < 0 ? DG_NUM_NEG : 0);
        return dg_validator_event(v, DG_EV_NUMBER, &t);
    case JSON_REAL: {
        const char *txt = doc ? dg_doc_number_text(doc, j) : NULL;
        if (!txt) {
            snprintf(num, sizeof num, "%.17g", json_real_value(j));
            txt = num;
        }
        t.s = txt;
        t.len = strlen(txt);
        for (size_t i = 0; i < t.len; i++) {
            if (txt[i] == '.') t.num_flags |= DG_NUM_FRAC;
            if (txt[i] == 'e' || txt[i] == 'E') t.num_flags |= DG_NUM_EXP;
            if (txt[i] == '-' && i == 0) t.num_flags |= DG_NUM_NEG;
        }
        return dg_validator_event(v, DG_EV_NUMBER, &t);
    }
    case JSON_TRUE: return dg_validator_event(v, DG_EV_TRUE, &t);
    case JSON_FALSE: return dg_validator_event(v, DG_EV_FALSE, &t);
    case JSON_NULL: return dg_validator_event(v, DG_EV_NULL, &t);
    }
    return 0;
}

int dg_validator_tree(dg_validator *v, int id, const json_t *instance, const dg_doc *doc,
                      dg_result *out)
{
    int rc = dg_validator_begin(v, id);
    if (rc)
        return rc;
    walk(v, instance, doc, 0);
    if (v->failed_internal)
        return v->failed_internal;
    return build_result(v, out);
}
