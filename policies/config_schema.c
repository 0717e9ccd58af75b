/* policies/config_schema.c: checks a config document against the embedded
 * JSON Schema (policies/config.schema.json) with our own validator, and
 * turns every violation into a located, readable error.
 *
 * Locations: the document knows where each value starts. Keys have no
 * location of their own, and true/false/null are shared jansson singletons
 * without one, so for "unknown key" errors and for literal values the key is
 * looked up in the file text under its parent mapping; failing that, the
 * nearest located ancestor is reported. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "policies/policies_internal.h"
#include "validate/validate.h"

extern const char dg_config_schema_json[];
extern const size_t dg_config_schema_json_len;

void dg__ptr_key(char out[DG_CFG_PTR], const char *parent, const char *key)
{
    size_t n = (size_t)snprintf(out, DG_CFG_PTR, "%s/", parent);
    for (const char *k = key; *k && n + 3 < DG_CFG_PTR; k++) {
        if (*k == '~' || *k == '/') {
            out[n++] = '~';
            out[n++] = *k == '~' ? '0' : '1';
        } else {
            out[n++] = *k;
        }
    }
    out[n < DG_CFG_PTR ? n : DG_CFG_PTR - 1] = '\0';
}

void dg__ptr_idx(char out[DG_CFG_PTR], const char *parent, size_t i)
{
    snprintf(out, DG_CFG_PTR, "%s/%zu", parent, i);
}

/* Does the text at p start the mapping key `key` (plain or quoted),
 * followed by optional spaces and ':'? */
static int key_at(const char *p, const char *end, const char *key)
{
    size_t kl = strlen(key);
    char q = (*p == '"' || *p == '\'') ? *p : 0;
    if (q)
        p++;
    if ((size_t)(end - p) < kl + (q ? 1u : 0u) || memcmp(p, key, kl))
        return 0;
    p += kl;
    if (q && *p++ != q)
        return 0;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p < end && *p == ':' && (q || p + 1 == end || isspace((unsigned char)p[1]) || p[1] == ',' ||
                                    p[1] == '}');
}

/* Finds key under the mapping that starts at line:col. 1 when found. */
static int find_key(const dg_cfgctx *c, unsigned line, unsigned col, const char *key,
                    unsigned *kl, unsigned *kc)
{
    const char *t = c->text, *end = c->text + c->text_len;
    const char *ls = t;
    for (unsigned l = 1; l < line && ls < end; l++) {
        const char *nl = memchr(ls, '\n', (size_t)(end - ls));
        ls = nl ? nl + 1 : end;
    }
    if (ls >= end || col < 1 || (size_t)(end - ls) < col)
        return 0;
    const char *start = ls + col - 1;
    if (*start == '{') {
        /* Flow mapping (or JSON): the first key token after the brace. */
        unsigned l = line;
        const char *lsx = ls;
        for (const char *p = start + 1; p < end; p++) {
            if (*p == '\n') {
                l++;
                lsx = p + 1;
                continue;
            }
            char prev = p[-1];
            int boundary = prev == '{' || prev == ',' || isspace((unsigned char)prev);
            if (boundary && key_at(p, end, key)) {
                *kl = l;
                *kc = (unsigned)(p - lsx) + 1;
                return 1;
            }
        }
        return 0;
    }
    /* Block mapping: keys sit at the mapping's column on its first line and
     * on following lines indented exactly that far; a line indented less
     * ends the mapping. */
    for (unsigned l = line; ls < end; l++) {
        const char *nl = memchr(ls, '\n', (size_t)(end - ls));
        const char *le = nl ? nl : end;
        const char *p = ls;
        while (p < le && *p == ' ')
            p++;
        unsigned ind = (unsigned)(p - ls) + 1;
        if (l == line) {
            if (key_at(start, le, key)) {
                *kl = l;
                *kc = col;
                return 1;
            }
        } else if (p < le && *p != '#') {
            if (ind < col)
                return 0;
            if (ind == col && key_at(p, le, key)) {
                *kl = l;
                *kc = col;
                return 1;
            }
        }
        ls = nl ? nl + 1 : end;
    }
    return 0;
}

/* Unescapes the last reference token of ptr into out. */
static void last_token(const char *ptr, char *out, size_t n)
{
    const char *s = strrchr(ptr, '/');
    s = s ? s + 1 : ptr;
    size_t o = 0;
    for (; *s && o + 1 < n; s++) {
        if (s[0] == '~' && (s[1] == '0' || s[1] == '1')) {
            out[o++] = s[1] == '0' ? '~' : '/';
            s++;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
}

void dg__cfg_locate(const dg_cfgctx *c, const char *pointer, int at_key, unsigned *line,
                    unsigned *col)
{
    *line = *col = 0;
    if (!c->doc)
        return;
    json_t *root = dg_doc_root(c->doc);
    char p[DG_CFG_PTR];
    snprintf(p, sizeof p, "%s", pointer ? pointer : "");
    json_t *node = dg_json_pointer_get(root, p, strlen(p), 0);
    if (node && !at_key && !dg_doc_loc(c->doc, node, line, col))
        return;
    /* The key, under its parent mapping. */
    char *slash = strrchr(p, '/');
    if (slash && c->text) {
        char key[DG_CFG_PTR];
        last_token(p, key, sizeof key);
        *slash = '\0';
        json_t *parent = dg_json_pointer_get(root, p, strlen(p), 0);
        unsigned pl, pc;
        if (json_is_object(parent) && !dg_doc_loc(c->doc, parent, &pl, &pc) &&
            find_key(c, pl, pc, key, line, col))
            return;
        *slash = '/';
    }
    /* The nearest located ancestor. */
    for (;;) {
        node = dg_json_pointer_get(root, p, strlen(p), 0);
        if (node && !dg_doc_loc(c->doc, node, line, col))
            return;
        slash = strrchr(p, '/');
        if (!slash)
            return;
        *slash = '\0';
    }
}

int dg__cfg_loc(dg_cfgctx *c, const char *pointer, dg_conf_loc *loc)
{
    dg__cfg_locate(c, pointer, 0, &loc->line, &loc->col);
    if (!(loc->pointer = strdup(pointer))) {
        c->nomem = 1;
        return DG_ENOMEM;
    }
    return 0;
}

void dg__cfg_err(dg_cfgctx *c, const char *pointer, int at_key, const char *fmt, ...)
{
    c->total++;
    if (!c->errs || c->n >= c->max)
        return;
    dg_error *e = &c->errs[c->n++];
    memset(e, 0, sizeof *e);
    e->code = DG_EINVAL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    unsigned line, col;
    dg__cfg_locate(c, pointer, at_key, &line, &col);
    dg_error_locate(e, c->file, line, col, pointer);
}

/* ---- violation messages ---- */

/* A short printable rendering of a scalar value for messages ("" when the
 * value is a container). */
static void value_text(const json_t *v, char *out, size_t n)
{
    out[0] = '\0';
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t o = 0;
        out[o++] = '"';
        for (; *s && o + 5 < n && o < 64; s++)
            out[o++] = (unsigned char)*s < ' ' ? '?' : *s;
        if (*s && o + 5 < n)
            o += (size_t)snprintf(out + o, n - o, "...");
        snprintf(out + o, n - o, "\"");
    } else if (json_is_integer(v)) {
        snprintf(out, n, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        snprintf(out, n, "%g", json_real_value(v));
    } else if (json_is_boolean(v)) {
        snprintf(out, n, "%s", json_is_true(v) ? "true" : "false");
    } else if (json_is_null(v)) {
        snprintf(out, n, "null (an empty value)");
    }
}

/* Appends the allowed values of an enum array to b. */
static void list_values(dg_buf *b, const json_t *arr)
{
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x) {
        char t[96];
        value_text(x, t, sizeof t);
        /* strings read better unquoted in the list: (off, monitor, enforce) */
        if (json_is_string(x))
            dg_buf_printf(b, "%s%s", i ? ", " : "", json_string_value(x));
        else
            dg_buf_printf(b, "%s%s", i ? ", " : "", t);
    }
}

/* "unknown key" with the closest allowed key, or the list of allowed ones. */
static void unknown_key(dg_buf *b, const char *key, const json_t *props)
{
    const char *best = NULL, *k;
    size_t bestd = (size_t)-1;
    json_t *x;
    size_t cap = strlen(key) / 3 + 1;
    if (cap > 3)
        cap = 3;
    json_object_foreach((json_t *)props, k, x) {
        size_t d = dg__edit_distance(key, k, cap);
        /* a prefix ("upstream" for "upstreamz") counts as close too */
        if (d > cap && strlen(k) >= 4 && !strncmp(key, k, strlen(k)))
            d = cap;
        if (d <= cap && d < bestd) {
            best = k;
            bestd = d;
        }
    }
    dg_buf_printf(b, "unknown key \"%.100s\"", key);
    if (best) {
        dg_buf_printf(b, " (did you mean \"%s\"?)", best);
    } else if (props) {
        dg_buf_printf(b, "; allowed here:");
        size_t i = 0;
        json_object_foreach((json_t *)props, k, x)
            dg_buf_printf(b, "%s %s", i++ ? "," : "", k);
    }
}

static void bounds_text(dg_buf *b, const char *kw, const json_t *lim, const char *fallback)
{
    char l[64];
    value_text(lim, l, sizeof l);
    long long n = json_is_integer(lim) ? (long long)json_integer_value(lim) : -1;
    if (!strcmp(kw, "minimum"))
        dg_buf_printf(b, "must be at least %s", l);
    else if (!strcmp(kw, "maximum"))
        dg_buf_printf(b, "must be at most %s", l);
    else if (n == 1 && (!strcmp(kw, "minLength") || !strcmp(kw, "minItems") ||
                        !strcmp(kw, "minProperties")))
        dg_buf_printf(b, "must not be empty");
    else if (!strcmp(kw, "minLength") || !strcmp(kw, "maxLength"))
        dg_buf_printf(b, "must be at %s %lld characters long", kw[1] == 'i' ? "least" : "most", n);
    else if (!strcmp(kw, "minItems") || !strcmp(kw, "maxItems"))
        dg_buf_printf(b, "must have at %s %lld items", kw[1] == 'i' ? "least" : "most", n);
    else
        dg_buf_printf(b, "%s", fallback);
}

/* Writes the message for one violation into b. sroot: the schema document;
 * inst: the offending value (may be NULL). */
static void describe(dg_buf *b, json_t *sroot, const dg_violation *v, const json_t *inst)
{
    const char *h = v->schema_pointer ? strchr(v->schema_pointer, '#') : NULL;
    const char *frag = h ? h + 1 : "";
    json_t *kwv = dg_json_pointer_get(sroot, frag, strlen(frag), 1);
    const char *ls = strrchr(frag, '/');
    const char *kw = ls ? ls + 1 : "";
    json_t *parent = ls ? dg_json_pointer_get(sroot, frag, (size_t)(ls - frag), 1) : NULL;
    char val[96];
    value_text(inst, val, sizeof val);
    /* a violation's strings are NULL when the validator ran out of memory */
    const char *msg = v->message ? v->message : "out of memory describing this error";

    if (v->kind == DG_KIND_ADDITIONAL) {
        char key[DG_CFG_PTR];
        last_token(v->instance_pointer ? v->instance_pointer : "", key, sizeof key);
        unknown_key(b, key, parent ? json_object_get(parent, "properties") : NULL);
        return;
    }
    if (v->kind == DG_KIND_REQUIRED) {
        const char *m = msg, *pre = "missing required property ";
        if (!strncmp(m, pre, strlen(pre)))
            dg_buf_printf(b, "missing required key %s", m + strlen(pre));
        else
            dg_buf_printf(b, "%s", m);
        return;
    }
    const char *custom = NULL;
    if (json_is_object(parent)) {
        if (v->kind == DG_KIND_PATTERN)
            custom = json_string_value(json_object_get(parent, "patternErrorMessage"));
        if (!custom)
            custom = json_string_value(json_object_get(parent, "errorMessage"));
    }
    if (custom) {
        /* errorMessages start with "must": prefix the offending scalar */
        if (val[0] && !json_is_null(inst))
            dg_buf_printf(b, "%s %s", val, custom);
        else
            dg_buf_printf(b, "%s", custom);
        return;
    }
    if (v->kind == DG_KIND_ENUM && !strcmp(kw, "enum") && json_is_array(kwv)) {
        if (val[0])
            dg_buf_printf(b, "%s is not one of the allowed values (", val);
        else
            dg_buf_printf(b, "value is not one of the allowed values (");
        list_values(b, kwv);
        dg_buf_printf(b, ")");
        return;
    }
    if (v->kind == DG_KIND_TYPE) {
        /* "expected integer|string, got boolean" -> "... integer or string ..." */
        for (const char *m = msg; *m; m++)
            if (*m == '|')
                dg_buf_printf(b, " or ");
            else
                dg_buf_putc(b, *m);
        if (json_is_null(inst))
            dg_buf_printf(b, " (nothing is written after the key)");
        return;
    }
    if (v->kind == DG_KIND_BOUNDS && kwv) {
        bounds_text(b, kw, kwv, msg);
        if (json_is_number(inst))
            dg_buf_printf(b, " (it is %s)", val);
        return;
    }
    if (v->kind == DG_KIND_PATTERN && val[0]) {
        dg_buf_printf(b, "%s does not match the pattern %s", val,
                      json_is_string(kwv) ? json_string_value(kwv) : "");
        return;
    }
    dg_buf_printf(b, "%s", msg);
}

int dg__cfg_schema_check(dg_cfgctx *c)
{
    dg_error err;
    dg_doc *sd = NULL;
    int rc = dg_doc_load_buffer("config.schema.json", dg_config_schema_json,
                                dg_config_schema_json_len, DG_DOC_JSON, &sd, &err);
    if (rc)
        return rc;
    json_t *sroot = dg_doc_root(sd);
    dg_compile_opts co = {DG_DIALECT_2020_12, 0};
    dg_schemaset *set = dg_schemaset_new(&co);
    if (!set) {
        dg_doc_free(sd);
        return DG_ENOMEM;
    }
    int id = -1;
    if ((rc = dg_schemaset_add_doc(set, sd, "urn:driftgate:config-schema", 1, &err)) ||
        (rc = dg_schemaset_compile(set, sroot, DG_DIALECT_AUTO, &id, &err))) {
        dg_schemaset_free(set);
        return rc;
    }
    dg_validate_opts vo;
    dg_validate_opts_default(&vo);
    vo.max_errors = c->max > c->n ? c->max - c->n : 1;
    dg_validator *v = dg_validator_new(set, &vo);
    if (!v) {
        dg_schemaset_free(set);
        return DG_ENOMEM;
    }
    dg_result r;
    json_t *root = dg_doc_root(c->doc);
    rc = dg_validator_tree(v, id, root, c->doc, &r);
    if (!rc) {
        dg_buf b = DG_BUF_INIT;
        for (size_t i = 0; i < r.count; i++) {
            const dg_violation *x = &r.v[i];
            const char *ip = x->instance_pointer ? x->instance_pointer : "";
            json_t *inst = dg_json_pointer_get(root, ip, strlen(ip), 0);
            dg_buf_reset(&b);
            describe(&b, sroot, x, inst);
            dg__cfg_err(c, ip, x->kind == DG_KIND_ADDITIONAL, "%s",
                        b.data ? b.data : "out of memory");
        }
        /* past the cap: counted, not described */
        c->total += r.total - r.count;
        rc = (int)(r.total > (size_t)0x7fffffff ? 0x7fffffff : r.total);
        dg_buf_free(&b);
    }
    dg_validator_free(v);
    dg_schemaset_free(set);
    return rc;
}
