/* analyze/report_render.c: what the three report renderers share: the
 * model's bookkeeping (new / recurring / resolved, window counts, order,
 * totals), dates, escaping for HTML and Markdown, the example and the patch
 * as stored, and spec locations (file:line) with a per-run cache of loaded
 * spec files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/report_internal.h"
#include "validate/doc.h"

/* ---- model bookkeeping ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int dg__rep_classify(dg_rep *r, const char *const *prev, size_t n_prev)
{
    r->resolved = NULL;
    r->n_resolved = 0;
    const char **sp = NULL;
    if (n_prev) {
        sp = malloc(n_prev * sizeof *sp);
        if (!sp)
            return DG_ENOMEM;
        memcpy(sp, prev, n_prev * sizeof *sp);
        qsort(sp, n_prev, sizeof *sp, cmp_str);
    }
    for (size_t i = 0; i < r->n_items; i++) {
        const char *fp = r->items[i].d->fingerprint;
        r->items[i].change =
            sp && bsearch(&fp, sp, n_prev, sizeof *sp, cmp_str) ? DG_REP_RECURRING : DG_REP_NEW;
    }
    /* resolved: listed last time, absent now (each once, in fingerprint order) */
    const char **cur = NULL;
    if (r->n_items) {
        cur = malloc(r->n_items * sizeof *cur);
        if (!cur) {
            free(sp);
            return DG_ENOMEM;
        }
        for (size_t i = 0; i < r->n_items; i++)
            cur[i] = r->items[i].d->fingerprint;
        qsort(cur, r->n_items, sizeof *cur, cmp_str);
    }
    for (size_t i = 0; i < n_prev; i++) {
        if (i && !strcmp(sp[i], sp[i - 1]))
            continue;
        if (cur && bsearch(&sp[i], cur, r->n_items, sizeof *cur, cmp_str))
            continue;
        if (!r->resolved) {
            r->resolved = calloc(n_prev, sizeof *r->resolved);
            if (!r->resolved) {
                free(sp);
                free(cur);
                return DG_ENOMEM;
            }
        }
        dg_rep_resolved *x = &r->resolved[r->n_resolved++];
        snprintf(x->fingerprint, sizeof x->fingerprint, "%s", sp[i]);
        x->d = NULL;
    }
    free(sp);
    free(cur);
    return 0;
}

void dg__rep_series(const dg_drift *d, int32_t first, int32_t last, uint64_t *out)
{
    size_t n = (size_t)(last - first) + 1;
    memset(out, 0, n * sizeof *out);
    for (size_t i = 0; i < d->n_days; i++) {
        int32_t day = d->days[i].day;
        if (day >= first && day <= last)
            out[day - first] += d->days[i].count;
    }
}

void dg__rep_window_counts(dg_rep *r)
{
    int32_t first = dg_day_of_ms(r->since_ms > 0 ? r->since_ms : 0);
    int32_t last = dg_day_of_ms(r->now_ms);
    for (size_t i = 0; i < r->n_items; i++) {
        const dg_drift *d = r->items[i].d;
        uint64_t c = 0;
        for (size_t k = 0; k < d->n_days; k++)
            if (d->days[k].day >= first && d->days[k].day <= last)
                c += d->days[k].count;
        r->items[i].window_count = c;
    }
}

static int cmp_item(const void *a, const void *b)
{
    const dg_rep_item *x = a, *y = b;
    if (x->window_count != y->window_count)
        return x->window_count > y->window_count ? -1 : 1;
    if (x->d->count != y->d->count)
        return x->d->count > y->d->count ? -1 : 1;
    return strcmp(x->d->fingerprint, y->d->fingerprint);
}

void dg__rep_sort(dg_rep *r)
{
    if (r->n_items > 1)
        qsort(r->items, r->n_items, sizeof *r->items, cmp_item);
}

void dg__rep_totals(dg_rep *r)
{
    r->errors = r->info = r->n_new = r->n_recurring = 0;
    r->occurrences = r->occurrences_all_time = r->error_occurrences = r->info_occurrences = 0;
    for (size_t i = 0; i < r->n_items; i++) {
        const dg_rep_item *it = &r->items[i];
        int info = it->d->severity && !strcmp(it->d->severity, "info");
        if (info) {
            r->info++;
            r->info_occurrences += it->window_count;
        } else {
            r->errors++;
            r->error_occurrences += it->window_count;
        }
        if (it->change == DG_REP_NEW)
            r->n_new++;
        else
            r->n_recurring++;
        r->occurrences += it->window_count;
        r->occurrences_all_time += it->d->count;
    }
}

size_t dg__rep_listed(const dg_rep *r)
{
    return r->top < r->n_items ? r->top : r->n_items;
}

/* ---- dates ---- */

void dg__rep_iso(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

void dg__rep_author(const dg_explanation *x, char *out, size_t outsz)
{
    if (!x)
        snprintf(out, outsz, "no explanation yet");
    else if (x->source && !strcmp(x->source, "model"))
        snprintf(out, outsz, "model %s/%s", x->backend && *x->backend ? x->backend : "unknown",
                 x->model && *x->model ? x->model : "unknown");
    else
        snprintf(out, outsz, "heuristic");
}

/* ---- stored JSON texts ---- */

json_t *dg__rep_example(const dg_drift *d)
{
    if (!d->example || !*d->example)
        return NULL;
    json_t *j = json_loads(d->example, JSON_DECODE_ANY, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

char *dg__rep_example_value(const json_t *example)
{
    json_t *v = example ? json_object_get(example, "value") : NULL;
    if (!v)
        return NULL;
    if (json_is_string(v))
        return strndup(json_string_value(v), json_string_length(v));
    return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

int dg__rep_patch_pretty(const char *patch, dg_buf *out)
{
    if (!patch)
        patch = "[]";
    json_t *j = json_loads(patch, JSON_DECODE_ANY, NULL);
    if (!j)
        return dg__rep_utf8(out, patch) ? DG_ENOMEM : -1;
    int has = !json_is_array(j) || json_array_size(j) > 0;
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
    json_decref(j);
    if (!s)
        return DG_ENOMEM;
    int rc = dg_buf_append(out, s, strlen(s));
    free(s);
    return rc ? DG_ENOMEM : has;
}

/* ---- UTF-8 and escaping ---- */

/* Length of the valid UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 when it is not one (overlong, surrogate, beyond U+10FFFF,
 * truncated). */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2, c = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, c = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, c = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

const char *dg__rep_pointer(const char *p)
{
    return p && *p ? p : "(whole body)";
}

const char *dg__rep_fp(const char *fp)
{
    size_t n = 0;
    for (; fp && fp[n]; n++)
        if (!((fp[n] >= '0' && fp[n] <= '9') || (fp[n] >= 'a' && fp[n] <= 'f')))
            return "invalid";
    return n ? fp : "invalid";
}

#define REPLACEMENT "\xEF\xBF\xBD"

int dg__rep_utf8(dg_buf *b, const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_seq((const unsigned char *)s + i, n - i, &cp);
        if (!k) {
            if (dg_buf_append(b, REPLACEMENT, 3))
                return DG_ENOMEM;
            i++;
            continue;
        }
        if (dg_buf_append(b, s + i, k))
            return DG_ENOMEM;
        i += k;
    }
    if (!b->data && dg_buf_reserve(b, 0))
        return DG_ENOMEM;
    return 0;
}

json_t *dg__rep_jstr(const char *s)
{
    if (!s)
        return json_null();
    json_t *j = json_string(s);
    if (j)
        return j;
    dg_buf b = DG_BUF_INIT;
    if (dg__rep_utf8(&b, s)) {
        dg_buf_free(&b);
        return NULL;
    }
    j = json_string(b.data ? b.data : "");
    dg_buf_free(&b);
    return j;
}

int dg__html_esc(dg_buf *b, const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        const unsigned char *p = (const unsigned char *)s + i;
        const char *rep = NULL;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        if (rep) {
            if (dg_buf_append(b, rep, strlen(rep)))
                return DG_ENOMEM;
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_seq(p, n - i, &cp);
        int bad = !k || (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7F ||
                  (cp >= 0x80 && cp < 0xA0);
        if (bad ? dg_buf_append(b, REPLACEMENT, 3) : dg_buf_append(b, s + i, k))
            return DG_ENOMEM;
        i += k ? k : 1;
    }
    return 0;
}

int dg__md_esc(dg_buf *b, const char *s)
{
    if (!s)
        return 0;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        const unsigned char *p = (const unsigned char *)s + i;
        if (strchr("\\`*_[]<>|#~!&", *p) && *p) {
            if (dg_buf_putc(b, '\\') || dg_buf_putc(b, (char)*p))
                return DG_ENOMEM;
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_seq(p, n - i, &cp);
        int rc;
        if (!k)
            rc = dg_buf_append(b, REPLACEMENT, 3);
        else if (cp < 0x20 || cp == 0x7F)
            rc = dg_buf_putc(b, ' ');
        else
            rc = dg_buf_append(b, s + i, k);
        if (rc)
            return DG_ENOMEM;
        i += k ? k : 1;
    }
    return 0;
}

int dg__md_code(dg_buf *b, const char *s, int in_table)
{
    if (!s)
        s = "";
    size_t run = 0, longest = 0, n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        run = s[i] == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    size_t fence = longest + 1;
    /* a space pads content that starts or ends with a backtick (CommonMark
     * strips one such space on each side) */
    int pad = n && (s[0] == '`' || s[n - 1] == '`' || s[0] == ' ');
    for (size_t i = 0; i < fence; i++)
        if (dg_buf_putc(b, '`'))
            return DG_ENOMEM;
    if (pad && dg_buf_putc(b, ' '))
        return DG_ENOMEM;
    for (size_t i = 0; i < n;) {
        const unsigned char *p = (const unsigned char *)s + i;
        uint32_t cp;
        size_t k = utf8_seq(p, n - i, &cp);
        int rc;
        if (!k)
            rc = dg_buf_append(b, REPLACEMENT, 3);
        else if (cp < 0x20 || cp == 0x7F)
            rc = dg_buf_putc(b, ' ');
        else if (cp == '|' && in_table)
            rc = dg_buf_append(b, "\\|", 2);
        else
            rc = dg_buf_append(b, s + i, k);
        if (rc)
            return DG_ENOMEM;
        i += k ? k : 1;
    }
    if (pad && dg_buf_putc(b, ' '))
        return DG_ENOMEM;
    for (size_t i = 0; i < fence; i++)
        if (dg_buf_putc(b, '`'))
            return DG_ENOMEM;
    return 0;
}

/* ---- spec locations ---- */

#define SPEC_CACHE_MAX 64

struct dg_rep_spec_cache {
    char *path[SPEC_CACHE_MAX];
    dg_doc *doc[SPEC_CACHE_MAX];  /* NULL: the file could not be loaded */
    size_t n;
};

dg_rep_spec_cache *dg__rep_spec_cache_new(void)
{
    return calloc(1, sizeof(dg_rep_spec_cache));
}

void dg__rep_spec_cache_free(dg_rep_spec_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->path[i]);
        dg_doc_free(c->doc[i]);
    }
    free(c);
}

/* The file a schema pointer names: "file:///x" and "file:x" lose the scheme. */
static char *pointer_file(const char *sp, size_t len)
{
    if (len >= 7 && !strncmp(sp, "file://", 7))
        sp += 7, len -= 7;
    else if (len >= 5 && !strncmp(sp, "file:", 5))
        sp += 5, len -= 5;
    char *f = malloc(len + 1);
    if (f) {
        memcpy(f, sp, len);
        f[len] = '\0';
    }
    return f;
}

/* Line of the node at ptr or, when it has no location (true/false/null are
 * shared singletons), of the nearest ancestor that has one; 0 when the
 * document has no such node (the spec changed since). */
static unsigned node_line(const dg_doc *doc, const char *ptr, size_t len)
{
    if (!dg_json_pointer_get(dg_doc_root(doc), ptr, len, 1))
        return 0;
    for (;;) {
        json_t *node = dg_json_pointer_get(dg_doc_root(doc), ptr, len, 1);
        unsigned line = 0, col = 0;
        if (node && !dg_doc_loc(doc, node, &line, &col) && line)
            return line;
        if (!len)
            return 0;
        while (len && ptr[len - 1] != '/')
            len--;
        if (len)
            len--; /* drop the '/' too */
    }
}

int dg__rep_spec_location(dg_rep_spec_cache *c, const char *schema_pointer, char *out,
                          size_t outsz)
{
    if (!outsz)
        return DG_EINVAL;
    snprintf(out, outsz, "%s", schema_pointer ? schema_pointer : "");
    if (!schema_pointer || !*schema_pointer)
        return DG_ENOTFOUND;
    const char *hash = strchr(schema_pointer, '#');
    size_t flen = hash ? (size_t)(hash - schema_pointer) : strlen(schema_pointer);
    const char *frag = hash ? hash + 1 : "";
    if (!flen)
        return DG_ENOTFOUND;
    char *file = pointer_file(schema_pointer, flen);
    if (!file)
        return DG_ENOMEM;
    dg_doc *doc = NULL;
    int cached = 0;
    if (c) {
        for (size_t i = 0; i < c->n; i++) {
            if (!strcmp(c->path[i], file)) {
                doc = c->doc[i];
                cached = 1;
                break;
            }
        }
    }
    if (!cached) {
        dg_error err;
        if (dg_doc_load_file(file, DG_DOC_AUTO, &doc, &err))
            doc = NULL;
        if (c && c->n < SPEC_CACHE_MAX) {
            c->path[c->n] = file;
            c->doc[c->n] = doc;
            c->n++;
            cached = 1;
            file = NULL;
        }
    }
    unsigned line = doc ? node_line(doc, frag, strlen(frag)) : 0;
    int rc = DG_ENOTFOUND;
    if (line) {
        snprintf(out, outsz, "%s:%u", dg_doc_name(doc), line);
        rc = 0;
    }
    if (!cached)
        dg_doc_free(doc);
    free(file);
    return rc;
}

int dg_report_spec_location(const char *schema_pointer, char *out, size_t outsz)
{
    return dg__rep_spec_location(NULL, schema_pointer, out, outsz);
}
