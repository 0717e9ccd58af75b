/* validate/doc_yaml.c: YAML -> jansson tree through libyaml's event API.
 *
 * Plain scalars are resolved with the YAML 1.2 core schema (not libyaml's
 * 1.1 habits: yes/no/on/off stay strings); quoted, literal and folded
 * scalars are strings unless explicitly tagged. Mapping keys are always the
 * key scalar's text, because JSON keys are strings and `200:` in a spec means
 * the status code "200".
 *
 * Aliases share the anchored node (json_incref), so the tree is a DAG in
 * memory, but consumers walk it as a tree. We therefore count the nodes each
 * alias would expand to and stop with DG_ELIMIT past a bound, which defeats
 * "billion laughs" documents without ever expanding them. An alias to a node
 * that is still open (a cycle) is an error, so the result has no cycles. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "validate/doc_internal.h"

/* Longest numeric scalar we convert, as the JSON tokenizer's default. */
#define MAX_NUMBER_TEXT 4096u

typedef struct anchor {
    char *name;        /* owned */
    json_t *node;      /* owned reference; NULL while the node is still open */
    char *text;        /* scalar source text (owned), so aliases can be keys */
    size_t text_len;
    uint64_t size;     /* nodes the anchored node expands to */
} anchor;

typedef struct yframe {
    json_t *node;       /* borrowed: owned by its parent, the root or a merge list */
    uint64_t size;      /* expanded nodes in this subtree so far, itself included */
    size_t anchor;      /* index + 1 into anchors, 0 = none */
    json_t *merges;     /* owned array of `<<` sources, applied at the end */
    unsigned merge_line, merge_col;
    unsigned char is_map, want_value, merge_value, had_merge;
} yframe;

typedef struct yctx {
    dg_doc *d;
    yframe *stack;
    size_t depth, cap;
    anchor *anchors;
    size_t nanchors, acap;
    size_t *amap;          /* open addressing: name -> index + 1 of latest definition */
    size_t amap_cap, amap_count;
    dg_buf key;            /* pending key of the innermost mapping */
    uint64_t own;          /* nodes written in the document */
    uint64_t extra;        /* further nodes that aliases stand for */
    dg_error *err;
} yctx;

static int yfail(yctx *c, int code, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int yfail(yctx *c, int code, const yaml_mark_t *m, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    dg_error_set(c->err, code, "%s", msg);
    if (m)
        dg_error_locate(c->err, NULL, (unsigned)m->line + 1, (unsigned)m->column + 1, NULL);
    return code;
}

static int nomem(yctx *c)
{
    return yfail(c, DG_ENOMEM, NULL, "out of memory");
}

/* Shows a key or anchor name in a message: escaped and shortened. */
static const char *shown(char *out, size_t outsz, const char *s, size_t n)
{
    dg_buf b = DG_BUF_INIT;
    size_t show = n > 60 ? 60 : n;
    if (dg_buf_append_json_str(&b, s, show))
        snprintf(out, outsz, "?");
    else
        snprintf(out, outsz, "%s%s", b.data, show < n ? "..." : "");
    dg_buf_free(&b);
    return out;
}

/* ---- anchors ------------------------------------------------------------ */

static size_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;  /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

/* Slot for name in amap: holds its index + 1, or 0 where it would go. */
static size_t *amap_slot(yctx *c, const char *name)
{
    size_t mask = c->amap_cap - 1, i = str_hash(name) & mask;
    while (c->amap[i] && strcmp(c->anchors[c->amap[i] - 1].name, name) != 0)
        i = (i + 1) & mask;
    return &c->amap[i];
}

static anchor *anchor_find(yctx *c, const char *name)
{
    if (!c->amap_cap)
        return NULL;
    size_t v = *amap_slot(c, name);
    return v ? &c->anchors[v - 1] : NULL;
}

/* Defines (or redefines: the latest definition wins) an anchor; returns its
 * index + 1, or 0 on allocation failure. */
static size_t anchor_define(yctx *c, const char *name)
{
    if ((c->amap_count + 1) * 2 > c->amap_cap) {
        size_t ncap = c->amap_cap ? c->amap_cap * 2 : 64;
        size_t *nm = calloc(ncap, sizeof *nm);
        if (!nm)
            return 0;
        size_t *old = c->amap, ocap = c->amap_cap;
        c->amap = nm;
        c->amap_cap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i])
                *amap_slot(c, c->anchors[old[i] - 1].name) = old[i];
        free(old);
    }
    if (c->nanchors == c->acap) {
        size_t ncap = c->acap ? c->acap * 2 : 16;
        anchor *na = realloc(c->anchors, ncap * sizeof *na);
        if (!na)
            return 0;
        c->anchors = na;
        c->acap = ncap;
    }
    anchor *a = &c->anchors[c->nanchors];
    memset(a, 0, sizeof *a);
    if (!(a->name = strdup(name)))
        return 0;
    c->nanchors++;
    size_t *slot = amap_slot(c, name);
    if (!*slot)
        c->amap_count++;
    *slot = c->nanchors;
    return c->nanchors;
}

/* ---- scalars ------------------------------------------------------------ */

static int is_digit(char ch) { return ch >= '0' && ch <= '9'; }

static int eq(const char *s, size_t n, const char *lit)
{
    return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static int is_null(const char *s, size_t n)
{
    return n == 0 || eq(s, n, "null") || eq(s, n, "Null") || eq(s, n, "NULL") || eq(s, n, "~");
}

static int is_bool(const char *s, size_t n, int *v)
{
    if (eq(s, n, "true") || eq(s, n, "True") || eq(s, n, "TRUE"))
        return *v = 1, 1;
    if (eq(s, n, "false") || eq(s, n, "False") || eq(s, n, "FALSE"))
        return *v = 0, 1;
    return 0;
}

/* .inf/.nan have no JSON number; such scalars stay strings. */
static int is_inf_nan(const char *s, size_t n)
{
    if (n && (s[0] == '-' || s[0] == '+')) {
        s++;
        n--;
    }
    return eq(s, n, ".inf") || eq(s, n, ".Inf") || eq(s, n, ".INF") || eq(s, n, ".nan") ||
           eq(s, n, ".NaN") || eq(s, n, ".NAN");
}

static int is_dec_int(const char *s, size_t n)
{
    size_t i = n && (s[0] == '-' || s[0] == '+');
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (!is_digit(s[i]))
            return 0;
    return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float(const char *s, size_t n)
{
    size_t i = n && (s[0] == '-' || s[0] == '+'), d = 0;
    while (i < n && is_digit(s[i]))
        i++, d++;
    if (i < n && s[i] == '.') {
        size_t f = 0;
        i++;
        while (i < n && is_digit(s[i]))
            i++, f++;
        if (!d && !f)
            return 0;
    } else if (!d) {
        return 0;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+'))
            i++;
        size_t e = 0;
        while (i < n && is_digit(s[i]))
            i++, e++;
        if (!e)
            return 0;
    }
    return i == n;
}

/* Rewrites a core-schema int/float in JSON number grammar (no '+', no
 * leading zeros, digits on both sides of '.') so dg_doc_number_text always
 * holds JSON text. */
static int json_number_text(dg_buf *b, const char *s, size_t n)
{
    size_t i = 0;
    if (n && (s[0] == '-' || s[0] == '+')) {
        if (s[0] == '-' && dg_buf_putc(b, '-'))
            return DG_ENOMEM;
        i++;
    }
    size_t start = i;
    while (i < n && is_digit(s[i]))
        i++;
    size_t z = start;
    while (z + 1 < i && s[z] == '0')
        z++;
    if (i == start ? dg_buf_putc(b, '0') : dg_buf_append(b, s + z, i - z))
        return DG_ENOMEM;
    if (i < n && s[i] == '.') {
        size_t f = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        if (dg_buf_putc(b, '.') || (i == f ? dg_buf_putc(b, '0') : dg_buf_append(b, s + f, i - f)))
            return DG_ENOMEM;
    }
    return dg_buf_append(b, s + i, n - i);  /* exponent, if any, is already JSON */
}

/* 0o / 0x integers too big for int64: exact decimal text by schoolbook
 * base conversion (bounded by MAX_NUMBER_TEXT). */
static int radix_to_decimal(dg_buf *b, const char *s, size_t n, unsigned base)
{
    size_t cap = n * 2 + 2, len = 0;  /* base <= 16 needs < 1.21 decimal digits per digit */
    unsigned char *dec = calloc(cap, 1);  /* little-endian decimal digits */
    if (!dec)
        return DG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        unsigned carry = is_digit(ch) ? (unsigned)(ch - '0')
                         : (ch >= 'a' && ch <= 'f') ? (unsigned)(ch - 'a' + 10)
                                                    : (unsigned)(ch - 'A' + 10);
        for (size_t k = 0; k < len; k++) {
            unsigned v = dec[k] * base + carry;
            dec[k] = (unsigned char)(v % 10);
            carry = v / 10;
        }
        while (carry) {
            dec[len++] = (unsigned char)(carry % 10);
            carry /= 10;
        }
    }
    if (!len)
        dec[len++] = 0;
    int rc = dg_buf_reserve(b, len);
    for (size_t k = len; !rc && k-- > 0;)
        rc = dg_buf_putc(b, (char)('0' + dec[k]));
    free(dec);
    return rc;
}

enum { NUM_NO = 0, NUM_INT, NUM_FLOAT };

static int num_kind(const char *s, size_t n)
{
    if (n > 2 && s[0] == '0' && s[1] == 'o') {
        for (size_t i = 2; i < n; i++)
            if (s[i] < '0' || s[i] > '7')
                return NUM_NO;
        return NUM_INT;
    }
    if (n > 2 && s[0] == '0' && s[1] == 'x') {
        for (size_t i = 2; i < n; i++)
            if (!is_digit(s[i]) && !((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f'))
                return NUM_NO;
        return NUM_INT;
    }
    if (is_dec_int(s, n))
        return NUM_INT;
    return is_float(s, n) ? NUM_FLOAT : NUM_NO;
}

/* Builds the node for a number already classified by num_kind. */
static int make_number(yctx *c, const char *s, size_t n, int kind, const yaml_mark_t *m,
                       json_t **out)
{
    if (n > MAX_NUMBER_TEXT)
        return yfail(c, DG_ELIMIT, m, "number longer than %u characters", MAX_NUMBER_TEXT);
    dg_buf b = DG_BUF_INIT;
    int rc = 0;
    if (kind == NUM_INT) {
        unsigned base = 10;
        size_t i = 0;
        int neg = 0;
        if (n > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
            base = s[1] == 'o' ? 8 : 16;
            i = 2;
        } else if (s[0] == '-' || s[0] == '+') {
            neg = s[0] == '-';
            i = 1;
        }
        /* Accumulate the magnitude; INT64_MIN's magnitude is one past MAX. */
        uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        int fits = 1;
        for (size_t k = i; k < n && fits; k++) {
            char ch = s[k];
            unsigned dg = is_digit(ch) ? (unsigned)(ch - '0') : (unsigned)((ch | 0x20) - 'a' + 10);
            if (v > (lim - dg) / base)
                fits = 0;
            else
                v = v * base + dg;
        }
        if (fits) {
            json_int_t iv = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(json_int_t)v)
                                : (json_int_t)v;
            *out = json_integer(iv);
            return *out ? 0 : nomem(c);
        }
        rc = base == 10 ? json_number_text(&b, s, n) : radix_to_decimal(&b, s + 2, n - 2, base);
    } else {
        rc = json_number_text(&b, s, n);
    }
    *out = rc ? NULL : dg_doc__real_from_text(c->d, b.data, b.len);
    dg_buf_free(&b);
    return *out ? 0 : nomem(c);
}

#define YTAG "tag:yaml.org,2002:"

/* Resolves a scalar in value position. */
static int make_scalar(yctx *c, const yaml_event_t *ev, json_t **out)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *tag = (const char *)ev->data.scalar.tag;
    const yaml_mark_t *m = &ev->start_mark;
    int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE, b, kind;
    enum { R_AUTO, R_STR, R_NULL, R_BOOL, R_INT, R_FLOAT } want = plain ? R_AUTO : R_STR;

    if (tag) {
        if (strcmp(tag, "!") == 0 || strcmp(tag, YTAG "str") == 0)
            want = R_STR;
        else if (strcmp(tag, YTAG "null") == 0)
            want = R_NULL;
        else if (strcmp(tag, YTAG "bool") == 0)
            want = R_BOOL;
        else if (strcmp(tag, YTAG "int") == 0)
            want = R_INT;
        else if (strcmp(tag, YTAG "float") == 0)
            want = R_FLOAT;
        /* Other tags (!!binary, !!timestamp, application tags) carry no
         * meaning for JSON: resolve by style as if untagged. */
    }
    *out = NULL;
    switch (want) {
    case R_STR:
        break;
    case R_AUTO:
        if (is_null(s, n))
            *out = json_null();
        else if (is_bool(s, n, &b))
            *out = json_boolean(b);
        else if ((kind = num_kind(s, n)) != NUM_NO)
            return make_number(c, s, n, kind, m, out);
        break;
    case R_NULL:
        if (!is_null(s, n))
            return yfail(c, DG_EPARSE, m, "!!null scalar is not null");
        *out = json_null();
        break;
    case R_BOOL:
        if (!is_bool(s, n, &b))
            return yfail(c, DG_EPARSE, m, "!!bool scalar is not true or false");
        *out = json_boolean(b);
        break;
    case R_INT:
        if (num_kind(s, n) != NUM_INT)
            return yfail(c, DG_EPARSE, m, "!!int scalar is not an integer");
        return make_number(c, s, n, NUM_INT, m, out);
    case R_FLOAT:
        if (is_inf_nan(s, n))
            break;  /* stays a string: JSON has no inf/nan */
        if ((kind = num_kind(s, n)) == NUM_NO)
            return yfail(c, DG_EPARSE, m, "!!float scalar is not a number");
        /* an explicit float stays a float even when written as an integer */
        return make_number(c, s, n, NUM_FLOAT, m, out);
    }
    if (!*out)
        *out = json_stringn_nocheck(s, n);  /* libyaml hands out valid UTF-8 */
    return *out ? 0 : nomem(c);
}

/* ---- tree building ------------------------------------------------------ */

static int check_expansion(yctx *c, const yaml_mark_t *m)
{
    uint64_t lim = c->own * DG_DOC_EXPAND_FACTOR;
    if (lim < DG_DOC_EXPAND_FLOOR)
        lim = DG_DOC_EXPAND_FLOOR;
    if (lim > DG_DOC_MAX_EXPANDED)
        lim = DG_DOC_MAX_EXPANDED;
    if (c->extra > lim)
        return yfail(c, DG_ELIMIT, m,
                     "aliases expand to more than %llu nodes (alias bomb?)",
                     (unsigned long long)lim);
    return 0;
}

/* Puts a finished or just-opened value (a new reference, always consumed)
 * where the innermost open node expects it. size is what it adds to the
 * enclosing node's expanded size (containers add theirs when they end). */
static int place(yctx *c, json_t *node, uint64_t size)
{
    if (!c->depth) {
        c->d->root = node;
        return 0;
    }
    yframe *f = &c->stack[c->depth - 1];
    f->size += size;
    if (!f->is_map)
        return json_array_append_new(f->node, node) ? nomem(c) : 0;
    f->want_value = 0;
    if (f->merge_value) {
        f->merge_value = 0;
        if (!f->merges && !(f->merges = json_array())) {
            json_decref(node);
            return nomem(c);
        }
        return json_array_append_new(f->merges, node) ? nomem(c) : 0;
    }
    return json_object_setn_new_nocheck(f->node, c->key.data ? c->key.data : "", c->key.len,
                                        node)
               ? nomem(c)
               : 0;
}

/* A key scalar (or aliased scalar text) for the innermost mapping. */
static int take_key(yctx *c, const char *s, size_t n, int is_merge, const yaml_mark_t *m)
{
    yframe *f = &c->stack[c->depth - 1];
    char buf[200];
    if (is_merge) {
        if (f->had_merge)
            return yfail(c, DG_EPARSE, m, "duplicate key \"<<\"");
        f->had_merge = f->merge_value = 1;
        f->merge_line = (unsigned)m->line + 1;
        f->merge_col = (unsigned)m->column + 1;
    } else if (json_object_getn(f->node, s, n)) {
        return yfail(c, DG_EPARSE, m, "duplicate key \"%s\"", shown(buf, sizeof buf, s, n));
    }
    f->want_value = 1;
    f->size++;
    c->own++;
    dg_buf_reset(&c->key);
    return dg_buf_append(&c->key, s, n) ? nomem(c) : 0;
}

static int on_scalar(yctx *c, const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    const char *anchor_name = (const char *)ev->data.scalar.anchor;
    int is_key = c->depth && c->stack[c->depth - 1].is_map && !c->stack[c->depth - 1].want_value;
    json_t *node = NULL;
    int rc;

    if (is_key) {
        int merge = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                    (!ev->data.scalar.tag ||
                     strcmp((const char *)ev->data.scalar.tag, YTAG "merge") == 0) &&
                    eq(s, n, "<<");
        if ((rc = take_key(c, s, n, merge, &ev->start_mark)))
            return rc;
        if (!anchor_name)
            return 0;
    }
    /* A value, or an anchored key that aliases may later use as a value. */
    if ((rc = make_scalar(c, ev, &node)))
        return rc;
    if (dg_doc__set_loc(c->d, node, (unsigned)ev->start_mark.line + 1,
                        (unsigned)ev->start_mark.column + 1)) {
        json_decref(node);
        return nomem(c);
    }
    if (anchor_name) {
        size_t ai = anchor_define(c, anchor_name);
        anchor *a = ai ? &c->anchors[ai - 1] : NULL;
        if (!a || !(a->text = malloc(n + 1))) {
            json_decref(node);
            return nomem(c);
        }
        memcpy(a->text, s, n);
        a->text[n] = '\0';
        a->text_len = n;
        a->size = 1;
        a->node = json_incref(node);
    }
    if (is_key) {
        json_decref(node);  /* the anchor table keeps it */
        return 0;
    }
    c->own++;
    return place(c, node, 1);
}

static int on_alias(yctx *c, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    const yaml_mark_t *m = &ev->start_mark;
    anchor *a = anchor_find(c, name);
    char buf[200];
    if (!a)
        return yfail(c, DG_EPARSE, m, "unknown anchor \"%s\"",
                     shown(buf, sizeof buf, name, strlen(name)));
    if (!a->node)
        return yfail(c, DG_EPARSE, m, "alias \"%s\" refers to a node that contains it",
                     shown(buf, sizeof buf, name, strlen(name)));
    if (c->depth && c->stack[c->depth - 1].is_map && !c->stack[c->depth - 1].want_value) {
        if (!a->text)
            return yfail(c, DG_EPARSE, m, "mapping key is not a scalar");
        return take_key(c, a->text, a->text_len, 0, m);
    }
    c->own++;
    c->extra += a->size - 1;
    int rc = check_expansion(c, m);
    if (rc)
        return rc;
    return place(c, json_incref(a->node), a->size);
}

static int on_start(yctx *c, const yaml_event_t *ev, int is_map)
{
    const yaml_mark_t *m = &ev->start_mark;
    const char *anchor_name = (const char *)(is_map ? ev->data.mapping_start.anchor
                                                    : ev->data.sequence_start.anchor);
    if (c->depth && c->stack[c->depth - 1].is_map && !c->stack[c->depth - 1].want_value)
        return yfail(c, DG_EPARSE, m, "mapping key is not a scalar");
    if (c->depth >= DG_DOC_MAX_DEPTH)
        return yfail(c, DG_ELIMIT, m, "nesting deeper than %u", DG_DOC_MAX_DEPTH);
    if (c->depth == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 32;
        yframe *ns = realloc(c->stack, ncap * sizeof *ns);
        if (!ns)
            return nomem(c);
        c->stack = ns;
        c->cap = ncap;
    }
    json_t *node = is_map ? json_object() : json_array();
    if (!node)
        return nomem(c);
    if (dg_doc__set_loc(c->d, node, (unsigned)m->line + 1, (unsigned)m->column + 1)) {
        json_decref(node);
        return nomem(c);
    }
    size_t ai = 0;
    if (anchor_name && !(ai = anchor_define(c, anchor_name))) {
        json_decref(node);
        return nomem(c);
    }
    c->own++;
    int rc = place(c, node, 0);  /* borrowed below: the parent holds it */
    if (rc)
        return rc;
    yframe *f = &c->stack[c->depth++];
    memset(f, 0, sizeof *f);
    f->node = node;
    f->size = 1;
    f->anchor = ai;
    f->is_map = (unsigned char)is_map;
    return 0;
}

static int merge_into(json_t *dst, json_t *src)
{
    const char *k;
    size_t kl;
    json_t *v;
    json_object_keylen_foreach(src, k, kl, v)
    {
        if (!json_object_getn(dst, k, kl) && json_object_setn_nocheck(dst, k, kl, v))
            return DG_ENOMEM;
    }
    return 0;
}

/* `<<` semantics: explicit keys win over merged ones (they are all in place
 * when the mapping ends), and earlier sources win over later ones. */
static int apply_merges(yctx *c, yframe *f)
{
    yaml_mark_t m = {0, f->merge_line - 1, f->merge_col - 1};
    size_t i, j;
    json_t *src, *el;
    json_array_foreach(f->merges, i, src)
    {
        if (json_is_object(src)) {
            if (merge_into(f->node, src))
                return nomem(c);
        } else if (json_is_array(src)) {
            json_array_foreach(src, j, el)
            {
                if (!json_is_object(el))
                    return yfail(c, DG_EPARSE, &m, "merge key \"<<\" needs mappings");
                if (merge_into(f->node, el))
                    return nomem(c);
            }
        } else {
            return yfail(c, DG_EPARSE, &m,
                         "merge key \"<<\" needs a mapping or a sequence of mappings");
        }
    }
    return 0;
}

static int on_end(yctx *c)
{
    if (!c->depth)
        return yfail(c, DG_EPARSE, NULL, "unbalanced collection end");
    yframe *f = &c->stack[c->depth - 1];
    int rc = f->merges ? apply_merges(c, f) : 0;
    dg_doc__discard(c->d, f->merges);
    f->merges = NULL;
    if (rc)
        return rc;
    if (f->anchor) {
        anchor *a = &c->anchors[f->anchor - 1];
        a->node = json_incref(f->node);
        a->size = f->size;
    }
    uint64_t size = f->size;
    c->depth--;
    if (c->depth)
        c->stack[c->depth - 1].size += size;
    return 0;
}

static void ctx_free(yctx *c)
{
    for (size_t i = 0; i < c->depth; i++)
        json_decref(c->stack[i].merges);
    for (size_t i = 0; i < c->nanchors; i++) {
        dg_doc__discard(c->d, c->anchors[i].node);
        free(c->anchors[i].name);
        free(c->anchors[i].text);
    }
    free(c->anchors);
    free(c->amap);
    free(c->stack);
    dg_buf_free(&c->key);
}

static int parser_error(yctx *c, const yaml_parser_t *p, const char *src, size_t n)
{
    const char *problem = p->problem ? p->problem : "syntax error";
    if (p->error == YAML_MEMORY_ERROR)
        return nomem(c);
    if (p->error == YAML_READER_ERROR) {
        /* Encoding errors carry a byte offset, not a mark. */
        unsigned line, col;
        dg_doc__line_col(src, n, p->problem_offset, &line, &col);
        dg_error_set(c->err, DG_EPARSE, "%s", problem);
        dg_error_locate(c->err, NULL, line, col, NULL);
        c->err->offset = p->problem_offset;
        c->err->has_offset = 1;
        return DG_EPARSE;
    }
    if (p->context)
        return yfail(c, DG_EPARSE, &p->problem_mark, "%s %s", p->context, problem);
    return yfail(c, DG_EPARSE, &p->problem_mark, "%s", problem);
}

int dg_doc__load_yaml(dg_doc *d, const char *p, size_t n, dg_error *err)
{
    yctx c;
    memset(&c, 0, sizeof c);
    c.d = d;
    c.err = err;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return nomem(&c);
    yaml_parser_set_input_string(&parser, (const unsigned char *)p, n);
    int rc = 0, docs = 0, done = 0;
    while (!rc && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = parser_error(&c, &parser, p, n);
            break;
        }
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (docs++)
                rc = yfail(&c, DG_EPARSE, &ev.start_mark,
                           "more than one document in the stream (a spec is one document)");
            break;
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_SCALAR_EVENT: rc = on_scalar(&c, &ev); break;
        case YAML_ALIAS_EVENT: rc = on_alias(&c, &ev); break;
        case YAML_SEQUENCE_START_EVENT: rc = on_start(&c, &ev, 0); break;
        case YAML_MAPPING_START_EVENT: rc = on_start(&c, &ev, 1); break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT: rc = on_end(&c); break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (!rc && !d->root)
        rc = dg_error_set(err, DG_EPARSE, "empty document");
    ctx_free(&c);
    return rc;
}
