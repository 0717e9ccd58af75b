/* validate/check.c: violations (building, lists) and scalar keywords.
 * Scalars never need streaming state, so every keyword — including the
 * in-place applicators allOf/anyOf/oneOf/not/if/$ref — is evaluated here
 * by direct recursion. */
#include "validate/check.h"
#include "validate/regex_simple.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- error lists ---- */

void dg__verr_free(dg_validator *v, verr *e)
{
    free(e->iptr);
    free(e->sptr);
    free(e->msg);
    free(e->value);
    e->next = v->free_errs;
    v->free_errs = e;
}

void dg__elist_clear(dg_validator *v, elist *l)
{
    if (!l->head) {
        /* nothing kept: n and und_kept are already 0 */
        l->dropped = l->und = 0;
        return;
    }
    verr *e = l->head;
    while (e) {
        verr *n = e->next;
        dg__verr_free(v, e);
        e = n;
    }
    l->head = l->tail = NULL;
    l->n = l->dropped = l->und = l->und_kept = 0;
}

/* Appends e to dst, or drops it (counted) when its class is at the cap. */
static void elist_put(dg_validator *v, elist *dst, verr *e)
{
    uint32_t kept = e->undoc ? dst->und_kept : dst->n - dst->und_kept;
    if (kept >= v->opts.max_errors) {
        dg__verr_free(v, e);
        dst->dropped++;
        return;
    }
    if (dst->tail)
        dst->tail->next = e;
    else
        dst->head = e;
    dst->tail = e;
    dst->n++;
    dst->und_kept += e->undoc;
}

void dg__elist_move(dg_validator *v, elist *dst, elist *src)
{
    while (src->head) {
        verr *e = src->head;
        src->head = e->next;
        e->next = NULL;
        elist_put(v, dst, e);
    }
    dst->dropped += src->dropped;
    dst->und += src->und;
    src->head = src->tail = NULL;
    src->n = src->dropped = src->und = src->und_kept = 0;
}

void dg__elist_keep_undoc(dg_validator *v, elist *dst, elist *src)
{
    uint32_t und_dropped = src->und - src->und_kept;
    while (src->head) {
        verr *e = src->head;
        src->head = e->next;
        e->next = NULL;
        if (e->undoc)
            elist_put(v, dst, e);
        else
            dg__verr_free(v, e);
    }
    dst->dropped += und_dropped;
    dst->und += src->und;
    src->head = src->tail = NULL;
    src->n = src->dropped = src->und = src->und_kept = 0;
}

/* instance pointer of the value at `level` (0 = root), plus an optional
 * extra segment (a member of that value) when key is not NULL. */
static char *make_iptr(dg_validator *v, uint32_t level, const char *key, size_t klen)
{
    dg_buf b = DG_BUF_INIT;
    if (dg_buf_reserve(&b, 64))
        return NULL;
    for (uint32_t i = 0; i < level && i < v->nfr; i++) {
        frame *f = &v->fr[i];
        if (f->is_obj) {
            dg_json_pointer_append(&b, f->key.data ? f->key.data : "", f->key.len);
        } else {
            char d[24];
            int k = 24;
            uint64_t x = f->count ? f->count - 1 : 0;
            do
                d[--k] = (char)('0' + x % 10);
            while ((x /= 10) && k > 1);
            d[--k] = '/';
            dg_buf_append(&b, d + k, (size_t)(24 - k));
        }
    }
    if (key)
        dg_json_pointer_append(&b, key, klen);
    return b.data;
}

/* A violation record on list l (NULL when the list is full: only counted). */
static verr *new_err(dg_validator *v, elist *l, uint32_t level, dg_kind kind, int32_t nid,
                     const char *kw, const dg_shape *shape, const char *raw, size_t rawlen,
                     int undoc, const char *key, size_t klen)
{
    if (v->norecord)
        return NULL; /* only the verdict is wanted */
    l->und += (uint32_t)undoc;
    if ((undoc ? l->und_kept : l->n - l->und_kept) >= v->opts.max_errors) {
        l->dropped++;
        return NULL;
    }
    verr *e = v->free_errs;
    if (e)
        v->free_errs = e->next;
    else
        e = malloc(sizeof *e);
    if (!e) {
        l->dropped++;
        return NULL;
    }
    memset(e, 0, sizeof *e);
    e->kind = kind;
    e->undoc = (uint8_t)undoc;
    e->iptr = make_iptr(v, level, key, klen);
    const dg_node *n = nid >= 0 ? &v->nodes[nid] : NULL;
    dg_buf sp = DG_BUF_INIT;
    if (n) {
        dg_buf_append(&sp, n->loc, strlen(n->loc));
        if (kw) {
            dg_buf_putc(&sp, '/');
            dg_buf_append(&sp, kw, strlen(kw));
        }
    }
    e->sptr = sp.data;
    if (shape)
        e->shape = *shape;
    if (raw && v->opts.include_values) {
        /* JSON text of the value, cut at 256 bytes of content */
        size_t n2 = rawlen > 256 ? 256 : rawlen;
        while (n2 < rawlen && n2 > 0 && ((unsigned char)raw[n2] & 0xC0) == 0x80)
            n2--; /* do not cut inside a UTF-8 sequence */
        if (shape && !strcmp(shape->type, "string")) {
            dg_buf vb = DG_BUF_INIT;
            dg_buf_putc(&vb, '"');
            dg_buf_append_json_str(&vb, raw, n2);
            dg_buf_putc(&vb, '"');
            e->value = vb.data;
        } else {
            e->value = malloc(n2 + 1);
            if (e->value) {
                memcpy(e->value, raw, n2);
                e->value[n2] = '\0';
            }
        }
    }
    if (l->tail)
        l->tail->next = e;
    else
        l->head = e;
    l->tail = e;
    l->n++;
    l->und_kept += (uint32_t)undoc;
    return e;
}

int dg__err(dg_validator *v, elist *l, uint32_t level, dg_kind kind, int32_t nid,
            const char *kw, const dg_shape *shape, const char *raw, size_t rawlen,
            const char *fmt, ...)
{
    verr *e = new_err(v, l, level, kind, nid, kw, shape, raw, rawlen, 0, NULL, 0);
    if (!e)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    e->msg = strdup(msg);
    return 0;
}

/* Type mismatches are by far the most frequent violation inside combinator
 * branches that are then discarded: their text is only made if reported. */
int dg__err_type(dg_validator *v, elist *l, uint32_t level, int32_t nid, uint8_t want,
                 const dg_shape *shape, const char *raw, size_t rawlen)
{
    verr *e = new_err(v, l, level, DG_KIND_TYPE, nid, "type", shape, raw, rawlen, 0, NULL, 0);
    if (e)
        e->want_types = want;
    return 0;
}

void dg__err_undoc(dg_validator *v, elist *l, uint32_t level, int32_t nid, const char *key,
                   size_t klen, uint64_t ord)
{
    verr *e = new_err(v, l, level, DG_KIND_ADDITIONAL, nid, NULL, NULL, NULL, 0, 1, key, klen);
    if (!e)
        return;
    char msg[300];
    if (key)
        snprintf(msg, sizeof msg, "property \"%.*s\" is not documented", (int)(klen > 200 ? 200 : klen),
                 key);
    else
        snprintf(msg, sizeof msg, "property #%llu (name not kept) is not documented",
                 (unsigned long long)ord);
    e->msg = strdup(msg);
}

void dg__type_names(uint8_t t, char *buf, size_t n)
{
    static const char *names[] = {"null", "boolean", "object", "array", "number", "integer", "string"};
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < 7; i++) {
        if (!(t & (1 << i)))
            continue;
        size_t l = strlen(names[i]);
        if (o + l + 2 >= n)
            break;
        if (o)
            buf[o++] = '|';
        memcpy(buf + o, names[i], l + 1);
        o += l;
    }
}

void dg__branch_summary(char *out, size_t n, const uint8_t *kinds, uint32_t nb, int32_t best)
{
    size_t o = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < nb && i < DG_BRANCH_KINDS; i++) {
        if (!kinds[i] || (int32_t)i == best)
            continue;
        int w = snprintf(out + o, n - o, "%s%u %s", o ? ", " : "; others failed on: branch ", i,
                         dg_kind_name((dg_kind)(kinds[i] - 1)));
        if (w < 0 || (size_t)w >= n - o)
            break;
        o += (size_t)w;
    }
}

char *dg__verr_message(const verr *e)
{
    if (e->msg)
        return strdup(e->msg);
    char want[80], msg[160];
    dg__type_names(e->want_types, want, sizeof want);
    snprintf(msg, sizeof msg, "expected %s, got %s", want, e->shape.type);
    return strdup(msg);
}

/* ---- shapes ---- */

static uint64_t utf8_len(const char *s, size_t n)
{
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

void dg__shape_scalar(dg_validator *v, dg_json_ev ev, const dg_json_token *t, dg_shape *sh)
{
    memset(sh, 0, sizeof *sh);
    switch (ev) {
    case DG_EV_NULL: strcpy(sh->type, "null"); break;
    case DG_EV_TRUE: case DG_EV_FALSE: strcpy(sh->type, "boolean"); break;
    case DG_EV_STRING: case DG_EV_KEY:
        strcpy(sh->type, "string");
        sh->length = utf8_len(t->s, t->len);
        break;
    case DG_EV_NUMBER: {
        dg_dec d;
        char *buf = t->len < sizeof v->numbuf ? v->numbuf : NULL;
        strcpy(sh->type, "number");
        if (buf && dg_dec_parse(t->s, t->len, buf, &d) == 0) {
            sh->number_class = dg_dec_class(&d);
            if (dg_dec_is_integer(&d))
                strcpy(sh->type, "integer");
        } else {
            sh->number_class = "big";
        }
        sh->length = t->len;
        break;
    }
    default: break;
    }
}

/* ---- scalar keywords ---- */

const dg_node *dg__follow(const dg_node *nodes, int32_t *nid)
{
    const dg_node *n = &nodes[*nid];
    int guard = 0;
    while ((n->flags & NF_PURE_REF) && guard++ < 64) {
        *nid = n->ref;
        n = &nodes[*nid];
    }
    return n;
}


uint8_t dg__inst_type(const dg_node *n, dg_json_ev ev, const dg_json_token *t, dg_validator *v)
{
    switch (ev) {
    case DG_EV_NULL: return DG_T_NULL;
    case DG_EV_TRUE: case DG_EV_FALSE: return DG_T_BOOL;
    case DG_EV_STRING: return DG_T_STRING;
    case DG_EV_OBJ_START: return DG_T_OBJECT;
    case DG_EV_ARR_START: return DG_T_ARRAY;
    case DG_EV_NUMBER:
        if (t->num_flags & DG_NUM_I64)
            return DG_T_NUMBER | DG_T_INTEGER;
        if (n->flags & NF_DRAFT4_INT)
            return (t->num_flags & (DG_NUM_FRAC | DG_NUM_EXP)) ? DG_T_NUMBER : DG_T_NUMBER | DG_T_INTEGER;
        {
            dg_dec d;
            if (t->len < sizeof v->numbuf && dg_dec_parse(t->s, t->len, v->numbuf, &d) == 0 &&
                dg_dec_is_integer(&d))
                return DG_T_NUMBER | DG_T_INTEGER;
            if (t->len >= sizeof v->numbuf) {
                char *b = malloc(t->len);
                int isint = b && dg_dec_parse(t->s, t->len, b, &d) == 0 && dg_dec_is_integer(&d);
                free(b);
                if (isint)
                    return DG_T_NUMBER | DG_T_INTEGER;
            }
        }
        return DG_T_NUMBER;
    default: return 0;
    }
}

int dg__type_ok(const dg_node *n, uint8_t it)
{
    uint8_t want = n->types;
    if (want & DG_T_NUMBER)
        want |= DG_T_INTEGER;
    return (want & it) != 0;
}

static int value_equal_scalar(const dg_value *m, dg_json_ev ev, const dg_json_token *t,
                              const dg_dec *d)
{
    switch (ev) {
    case DG_EV_NULL: return m->type == DG_T_NULL;
    case DG_EV_TRUE: return m->type == DG_T_BOOL && json_is_true(m->json);
    case DG_EV_FALSE: return m->type == DG_T_BOOL && json_is_false(m->json);
    case DG_EV_STRING: return m->type == DG_T_STRING && m->len == t->len && !memcmp(m->s, t->s, t->len);
    case DG_EV_NUMBER: return m->type == DG_T_NUMBER && d && dg_dec_cmp(&m->dec, d) == 0;
    default: return 0;
    }
}

#define QUICK_RET()                                                           \
    do {                                                                      \
        if (quick)                                                            \
            return 0;                                                         \
    } while (0)

typedef struct lshape {
    dg_validator *v;
    dg_json_ev ev;
    const dg_json_token *t;
    dg_shape sh;
    int have;
} lshape;

/* The shape is only worth computing when a violation is recorded. */
static const dg_shape *lsh(lshape *l)
{
    if (!l->have) {
        dg__shape_scalar(l->v, l->ev, l->t, &l->sh);
        l->have = 1;
    }
    return &l->sh;
}

static int check_num(dg_validator *v, const dg_node *n, int32_t nid, const dg_json_token *t,
                     dg_dec *d, elist *out, uint32_t level, int quick, lshape *ls)
{
    int ok = 1;
    /* fast path: both int64 */
    if (n->minimum.set) {
        int c = (n->minimum.is_i64 && (t->num_flags & DG_NUM_I64))
                    ? (t->i < n->minimum.i ? -1 : t->i > n->minimum.i)
                    : dg_dec_cmp(d, &n->minimum.dec);
        if (c < 0 || (c == 0 && n->minimum.exclusive)) {
            ok = 0;
            dg__err(v, out, level, DG_KIND_BOUNDS, nid,
                    n->minimum.exclusive ? "exclusiveMinimum" : "minimum", lsh(ls), t->s, t->len,
                    "number is %s %s", n->minimum.exclusive ? "<=" : "<", n->minimum.orig);
            QUICK_RET();
        }
    }
    if (n->maximum.set) {
        int c = (n->maximum.is_i64 && (t->num_flags & DG_NUM_I64))
                    ? (t->i < n->maximum.i ? -1 : t->i > n->maximum.i)
                    : dg_dec_cmp(d, &n->maximum.dec);
        if (c > 0 || (c == 0 && n->maximum.exclusive)) {
            ok = 0;
            dg__err(v, out, level, DG_KIND_BOUNDS, nid,
                    n->maximum.exclusive ? "exclusiveMaximum" : "maximum", lsh(ls), t->s, t->len,
                    "number is %s %s", n->maximum.exclusive ? ">=" : ">", n->maximum.orig);
            QUICK_RET();
        }
    }
    if (n->multiple_of.set && !dg_dec_multiple_of(d, &n->multiple_of.dec)) {
        ok = 0;
        dg__err(v, out, level, DG_KIND_BOUNDS, nid, "multipleOf", lsh(ls), t->s, t->len,
                "number is not a multiple of %s", n->multiple_of.orig);
        QUICK_RET();
    }
    if (n->assert_format && dg_format_is_numeric(n->format)) {
        int fok = 1;
        switch (n->format) {
        case DG_FMT_INT32:
            fok = (t->num_flags & DG_NUM_I64) ? (t->i >= INT32_MIN && t->i <= INT32_MAX)
                                              : dg_dec_fits_i64(d, INT32_MIN, INT32_MAX);
            break;
        case DG_FMT_INT64:
            fok = (t->num_flags & DG_NUM_I64) || dg_dec_fits_i64(d, INT64_MIN, INT64_MAX);
            break;
        case DG_FMT_FLOAT: case DG_FMT_DOUBLE: {
            /* representable (finite) in the binary format */
            int64_t mag = d->ndig ? (int64_t)d->ndig + d->exp : 0;
            fok = mag <= (n->format == DG_FMT_FLOAT ? 39 : 309);
            if (fok && mag >= (n->format == DG_FMT_FLOAT ? 38 : 308)) {
                /* t->s is not NUL-terminated: rebuild the value from its digits */
                char nb[64];
                size_t nd = d->ndig > 20 ? 20 : d->ndig;
                snprintf(nb, sizeof nb, "%s0.%.*se%lld", d->neg ? "-" : "", (int)nd, d->digits,
                         (long long)(d->exp + (int64_t)d->ndig));
                double x = strtod(nb, NULL);
                fok = n->format == DG_FMT_FLOAT ? fabs(x) <= 3.4028234663852886e38 : isfinite(x);
            }
            break;
        }
        default: break;
        }
        if (!fok) {
            ok = 0;
            dg__err(v, out, level, DG_KIND_FORMAT, nid, "format", lsh(ls), t->s, t->len,
                    "number does not fit format %s", dg_format_name(n->format));
            QUICK_RET();
        }
    }
    return ok;
}

static int check_str(dg_validator *v, const dg_node *n, int32_t nid, const dg_json_token *t,
                     elist *out, uint32_t level, int quick, lshape *ls)
{
    int ok = 1;
    if (n->min_len >= 0 || n->max_len >= 0) {
        uint64_t len = (uint64_t)t->len;
        /* byte length bounds the code point count from above; count only when needed */
        if ((n->max_len >= 0 && len > (uint64_t)n->max_len) ||
            (n->min_len >= 0 && len >= (uint64_t)n->min_len && len < (uint64_t)n->min_len * 4 + 4))
            len = utf8_len(t->s, t->len);
        if (n->min_len >= 0 && len < (uint64_t)n->min_len) {
            ok = 0;
            dg__err(v, out, level, DG_KIND_BOUNDS, nid, "minLength", lsh(ls), t->s, t->len,
                    "string is shorter than %lld characters", (long long)n->min_len);
            QUICK_RET();
        }
        if (n->max_len >= 0 && len > (uint64_t)n->max_len) {
            ok = 0;
            dg__err(v, out, level, DG_KIND_BOUNDS, nid, "maxLength", lsh(ls), t->s, t->len,
                    "string is longer than %lld characters", (long long)n->max_len);
            QUICK_RET();
        }
    }
    if (n->pattern) {
        int m = n->spattern ? dg_simple_re_match(n->spattern, t->s, t->len)
                            : dg_regex_search(n->pattern, t->s, t->len);
        if (m != 1) {
            ok = 0;
            if (m == 0)
                dg__err(v, out, level, DG_KIND_PATTERN, nid, "pattern", lsh(ls), t->s, t->len,
                        "string does not match pattern %s", dg_regex_source(n->pattern));
            else
                dg__err(v, out, level, DG_KIND_PATTERN, nid, "pattern", lsh(ls), t->s, t->len,
                        "pattern %s could not be evaluated (match limit exceeded)",
                        dg_regex_source(n->pattern));
            QUICK_RET();
        }
    }
    if (n->assert_format && n->format != DG_FMT_UNKNOWN && !dg_format_is_numeric(n->format) &&
        !dg_format_check_string(n->format, t->s, t->len)) {
        ok = 0;
        dg__err(v, out, level, DG_KIND_FORMAT, nid, "format", lsh(ls), t->s, t->len,
                "string is not a valid %s", dg_format_name(n->format));
        QUICK_RET();
    }
    return ok;
}

int32_t dg__resolve_dynref(dg_validator *v, const dg_node *n, const scope *sc, int32_t eval_ix)
{
    if (!n->dynref_anchor)
        return n->dynref;
    /* collect the dynamic scope, innermost first */
    const json_t *res[256];
    int nres = 0;
    for (const scope *s = sc; s && nres < 256; s = s->up) {
        res[nres++] = s->resource;
        if (!s->up)
            eval_ix = s->eval;
    }
    for (int32_t e = eval_ix; e >= 0 && nres < 256; e = v->ev[e].parent)
        res[nres++] = v->nodes[v->ev[e].nid].resource;
    for (int i = nres - 1; i >= 0; i--) {
        if (!res[i])
            continue;
        int32_t t = dg_schemaset_dyn_anchor(v->set, res[i], n->dynref_anchor);
        if (t >= 0)
            return t;
    }
    return n->dynref;
}

/* Result bookkeeping for a failing branch: keep the errors of the most likely one. */
void dg__branch_failed(dg_validator *v, elist *best, uint64_t *best_score, int32_t *best_branch,
                       int32_t branch, uint64_t score, int preferred, elist *errs)
{
    if (preferred)
        score = UINT64_MAX;
    if (*best_branch < 0 || score > *best_score) {
        dg__elist_clear(v, best);
        dg__elist_move(v, best, errs);
        *best_score = score;
        *best_branch = branch;
    } else {
        dg__elist_clear(v, errs);
    }
}

static int disc_lookup(const dg_disc *d, const char *s, size_t n)
{
    for (uint32_t i = 0; i < d->n; i++)
        if (d->lens[i] == n && !memcmp(d->values[i], s, n))
            return d->branch[i];
    return -2;
}

int dg__disc_branch(const dg_disc *d, dg_json_ev ev, const dg_json_token *t)
{
    if (ev != DG_EV_STRING)
        return -3;
    return disc_lookup(d, t->s, t->len);
}

int dg__check_scalar(dg_validator *v, int32_t nid, dg_json_ev ev, const dg_json_token *t,
                     elist *out, uint32_t level, int quick, const scope *up, int32_t eval_ix)
{
    const dg_node *n = dg__follow(v->nodes, &nid);
    if (n->flags & NF_TRUE)
        return 1;
    lshape ls;
    ls.v = v;
    ls.ev = ev;
    ls.t = t;
    ls.have = 0;
#define SH() lsh(&ls)
    if (n->flags & NF_FALSE) {
        dg__err(v, out, level, DG_KIND_OTHER, nid, NULL, SH(), t->s, t->len,
                "no value is allowed here (schema is false)");
        return 0;
    }
    int ok = 1;
    if ((n->flags & (NF_WRITE_ONLY | NF_READ_ONLY)) &&
        ((v->opts.direction == DG_DIR_RESPONSE && (n->flags & NF_WRITE_ONLY)) ||
         (v->opts.direction == DG_DIR_REQUEST && (n->flags & NF_READ_ONLY)))) {
        ok = 0;
        dg__err(v, out, level, DG_KIND_OTHER, nid,
                v->opts.direction == DG_DIR_RESPONSE ? "writeOnly" : "readOnly", SH(), t->s, t->len,
                "%s property must not appear in a %s",
                v->opts.direction == DG_DIR_RESPONSE ? "writeOnly" : "readOnly",
                v->opts.direction == DG_DIR_RESPONSE ? "response" : "request");
        QUICK_RET();
    }
    if (ev == DG_EV_NULL && (n->flags & NF_NULLABLE))
        return ok;
    uint8_t it = dg__inst_type(n, ev, t, v);
    if ((n->flags & NF_TYPE) && !dg__type_ok(n, it)) {
        dg__err_type(v, out, level, nid, n->types, SH(), t->s, t->len);
        return 0; /* other keywords on a wrong type only add noise */
    }
    dg_dec d;
    int have_dec = 0;
    char *bigbuf = NULL;
    int i64 = ev == DG_EV_NUMBER && (t->num_flags & DG_NUM_I64);
    /* exact decimal form only when an int64 fast path cannot decide */
    if (ev == DG_EV_NUMBER && (n->flags & (NF_NUM_KW | NF_ENUM | NF_CONST)) &&
        (!i64 || (n->flags & (NF_ENUM | NF_CONST)) || n->multiple_of.set ||
         (n->minimum.set && !n->minimum.is_i64) || (n->maximum.set && !n->maximum.is_i64) ||
         n->format == DG_FMT_FLOAT || n->format == DG_FMT_DOUBLE)) {
        char *buf = t->len < sizeof v->numbuf ? v->numbuf : (bigbuf = malloc(t->len + 1));
        have_dec = buf && dg_dec_parse(t->s, t->len, buf, &d) == 0;
    }
    if (n->flags & (NF_ENUM | NF_CONST)) {
        int found = 0;
        for (uint32_t i = 0; i < n->n_enum && !found; i++)
            found = value_equal_scalar(&n->enum_v[i], ev, t, have_dec ? &d : NULL);
        if (!found) {
            ok = 0;
            dg__err(v, out, level, DG_KIND_ENUM, nid, (n->flags & NF_CONST) ? "const" : "enum",
                    SH(), t->s, t->len, "%s",
                    (n->flags & NF_CONST) ? "value does not equal the const"
                                          : "value is not one of the enum values");
            if (quick) {
                free(bigbuf);
                return 0;
            }
        }
    }
    if (ev == DG_EV_NUMBER && (n->flags & NF_NUM_KW) && (have_dec || i64) &&
        !check_num(v, n, nid, t, have_dec ? &d : NULL, out, level, quick, &ls)) {
        ok = 0;
        if (quick) {
            free(bigbuf);
            return 0;
        }
    }
    free(bigbuf);
    if (ev == DG_EV_STRING && (n->flags & NF_STR_KW) && !check_str(v, n, nid, t, out, level, quick, &ls)) {
        ok = 0;
        QUICK_RET();
    }
    if (!(n->flags & NF_INPLACE))
        return ok;
    scope sc = {n->resource, up, eval_ix};
    if (n->ref >= 0 && !dg__check_scalar(v, n->ref, ev, t, out, level, quick, &sc, eval_ix)) {
        ok = 0;
        QUICK_RET();
    }
    if (n->dynref >= 0) {
        int32_t target = dg__resolve_dynref(v, n, &sc, eval_ix);
        if (!dg__check_scalar(v, target, ev, t, out, level, quick, &sc, eval_ix)) {
            ok = 0;
            QUICK_RET();
        }
    }
    for (uint32_t i = 0; i < n->n_all_of; i++) {
        if (!dg__check_scalar(v, n->all_of[i], ev, t, out, level, quick, &sc, eval_ix)) {
            ok = 0;
            QUICK_RET();
        }
    }
    for (int which = 0; which < 2; which++) {
        uint32_t nb = which ? n->n_one_of : n->n_any_of;
        int32_t *br = which ? n->one_of : n->any_of;
        if (!nb)
            continue;
        uint32_t passed = 0;
        elist best = {0};
        uint64_t best_score = 0;
        int32_t best_branch = -1;
        /* verdicts first, without building violations: a scalar can simply
         * be checked again when the combinator fails and details are wanted */
        v->norecord++;
        for (uint32_t i = 0; i < nb; i++) {
            elist tmp = {0};
            if (dg__check_scalar(v, br[i], ev, t, &tmp, level, 1, &sc, eval_ix)) {
                passed++;
                if (!which || passed > 1)
                    break; /* anyOf: one is enough; oneOf: two already fail */
            }
        }
        v->norecord--;
        if ((!which && passed == 0) || (which && passed != 1)) {
            ok = 0;
            uint8_t kinds[DG_BRANCH_KINDS] = {0};
            if (passed == 0 && !v->norecord) {
                for (uint32_t i = 0; i < nb; i++) {
                    elist tmp = {0};
                    dg__check_scalar(v, br[i], ev, t, &tmp, level, 1, &sc, eval_ix);
                    if (i < DG_BRANCH_KINDS && tmp.head)
                        kinds[i] = (uint8_t)(tmp.head->kind + 1);
                    dg__branch_failed(v, &best, &best_score, &best_branch, (int32_t)i,
                                      (tmp.head && tmp.head->kind != DG_KIND_TYPE) ? 2 : 1, 0, &tmp);
                }
            }
            char others[200];
            dg__branch_summary(others, sizeof others, kinds, nb, best_branch);
            if (which && passed > 1)
                dg__err(v, out, level, DG_KIND_COMBINATOR, nid, "oneOf", SH(), t->s, t->len,
                        "value matches %u oneOf branches, exactly one expected", passed);
            else
                dg__err(v, out, level, DG_KIND_COMBINATOR, nid, which ? "oneOf" : "anyOf", SH(),
                        t->s, t->len, "value matches none of the %u %s branches; closest is branch %d (its errors follow)%s",
                        nb, which ? "oneOf" : "anyOf", best_branch, others);
            dg__elist_move(v, out, &best);
        }
        dg__elist_clear(v, &best);
        if (!ok)
            QUICK_RET();
    }
    if (n->not_ >= 0) {
        elist tmp = {0};
        v->norecord++;
        int r = dg__check_scalar(v, n->not_, ev, t, &tmp, level, 1, &sc, eval_ix);
        v->norecord--;
        dg__elist_clear(v, &tmp);
        if (r) {
            ok = 0;
            dg__err(v, out, level, DG_KIND_COMBINATOR, nid, "not", SH(), t->s, t->len,
                    "value must not match the schema in \"not\"");
            QUICK_RET();
        }
    }
    if (n->if_ >= 0) {
        elist tmp = {0};
        v->norecord++;
        int r = dg__check_scalar(v, n->if_, ev, t, &tmp, level, 1, &sc, eval_ix);
        v->norecord--;
        dg__elist_clear(v, &tmp);
        int32_t next = r ? n->then_ : n->else_;
        if (next >= 0 && !dg__check_scalar(v, next, ev, t, out, level, quick, &sc, eval_ix)) {
            ok = 0;
            QUICK_RET();
        }
    }
    return ok;
}
#undef SH
