/* common/metrics.c: metrics registry, lock-free updates, Prometheus text
 * exposition (format 0.0.4).
 *
 * Layout: the registry keeps families in registration order (a list guarded
 * by the registry mutex, which also serialises exposition). Each family owns
 * a chained hash table of series keyed by label values, guarded by the
 * family's own mutex so that find-or-create on different families never
 * contend. Series are never freed before the registry, which is what lets
 * callers keep dg_series pointers and update them with atomics only. */
#include "common/metrics.h"
#include "common/error.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum mtype { MT_COUNTER, MT_GAUGE, MT_HISTOGRAM };

#define DEFAULT_SERIES_LIMIT 10000
#define OVERFLOW_VALUE "_overflow"

struct dg_series {
    dg_metric *family;
    dg_series *hnext;          /* hash chain, guarded by family->mu */
    uint64_t hash;
    char **values;             /* family->n_labels copies */
    _Atomic uint64_t counter;
    _Atomic int64_t gauge;
    /* The sum is a double kept as its bit pattern and updated by CAS:
     * accumulating doubles gives the same result as a plain `sum += v`
     * (1000 x 0.001 reads 1.0000000000000007, like every Prometheus client),
     * without a 128-bit atomic. */
    _Atomic uint64_t sum_bits;
    /* Histogram: one non-cumulative count per bucket plus a last slot for
     * values above the highest bound. The total count is their sum, so an
     * exposition never shows _count disagreeing with the +Inf bucket. */
    _Atomic uint64_t slots[];
};

struct dg_metric {
    dg_metrics *reg;
    dg_metric *next;           /* registration order, guarded by reg->mu */
    enum mtype type;
    char *name;
    char *help;
    size_t n_labels;
    char *labels[DG_METRICS_MAX_LABELS];
    size_t n_buckets;
    double buckets[DG_METRICS_MAX_BUCKETS];

    pthread_mutex_t mu;        /* guards everything below */
    dg_series **table;
    size_t table_cap;          /* power of two */
    size_t n_series;           /* in the table; the overflow series is not counted */
    size_t limit;
    dg_series *single;         /* the series of a family without labels */
    dg_series *overflow;       /* preallocated so ENOMEM still has somewhere to go */
    int overflow_used;         /* exposed only once handed out */
};

struct dg_metrics {
    pthread_mutex_t mu;
    dg_metric *head, *tail;
};

const double dg_metrics_latency_buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                             0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                             1,      2.5,     5,      10};
const size_t dg_metrics_latency_buckets_n =
    sizeof dg_metrics_latency_buckets / sizeof dg_metrics_latency_buckets[0];

/* ---------------------------------------------------------------- helpers */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static int valid_name(const char *s, int allow_colon)
{
    if (!s || !*s)
        return 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (allow_colon && c == ':') || (p != s && c >= '0' && c <= '9');
        if (!ok)
            return 0;
    }
    return 1;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 when invalid.
 * Prometheus rejects label values that are not UTF-8; we repair them on the
 * way in rather than let one bad value break the whole scrape. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    if (p[0] < 0x80)
        return 1;
    size_t len;
    uint32_t cp;
    if ((p[0] & 0xE0) == 0xC0) {
        len = 2;
        cp = p[0] & 0x1F;
    } else if ((p[0] & 0xF0) == 0xE0) {
        len = 3;
        cp = p[0] & 0x0F;
    } else if ((p[0] & 0xF8) == 0xF0) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static int utf8_valid(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq((const unsigned char *)s + i, n - i);
        if (!l)
            return 0;
        i += l;
    }
    return 1;
}

/* Copy of s with each invalid byte replaced by U+FFFD; NULL on ENOMEM. */
static char *utf8_repair(const char *s)
{
    size_t n = strlen(s);
    if (n > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t l = utf8_seq((const unsigned char *)s + i, n - i);
        if (l) {
            memcpy(out + o, s + i, l);
            o += l;
            i += l;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

static uint64_t hash_values(const char *const *v, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)v[i]; *p; p++) {
            h ^= *p;
            h *= 1099511628211ull;
        }
        h ^= 0xFF; /* separator: ("ab","c") and ("a","bc") differ */
        h *= 1099511628211ull;
    }
    return h;
}

static int values_equal(const dg_series *s, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s->values[i], v[i]) != 0)
            return 0;
    return 1;
}

static void series_free(dg_series *s, size_t n_labels)
{
    if (!s)
        return;
    if (s->values)
        for (size_t i = 0; i < n_labels; i++)
            free(s->values[i]);
    free(s->values);
    free(s);
}

static dg_series *series_new(dg_metric *f, const char *const *v, uint64_t hash)
{
    size_t slots = f->type == MT_HISTOGRAM ? f->n_buckets + 1 : 0;
    dg_series *s = calloc(1, sizeof *s + slots * sizeof s->slots[0]);
    if (!s)
        return NULL;
    s->family = f;
    s->hash = hash;
    atomic_init(&s->counter, 0);
    atomic_init(&s->gauge, 0);
    double zero = 0.0;
    uint64_t zb;
    memcpy(&zb, &zero, sizeof zb);
    atomic_init(&s->sum_bits, zb);
    for (size_t i = 0; i < slots; i++)
        atomic_init(&s->slots[i], 0);
    if (f->n_labels) {
        s->values = calloc(f->n_labels, sizeof *s->values);
        if (!s->values) {
            free(s);
            return NULL;
        }
        for (size_t i = 0; i < f->n_labels; i++) {
            s->values[i] = xstrdup(v[i]);
            if (!s->values[i]) {
                series_free(s, f->n_labels);
                return NULL;
            }
        }
    }
    return s;
}

static void family_free(dg_metric *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->table_cap; i++) {
        dg_series *s = f->table[i];
        while (s) {
            dg_series *next = s->hnext;
            series_free(s, f->n_labels);
            s = next;
        }
    }
    free(f->table);
    series_free(f->single, 0);
    series_free(f->overflow, f->n_labels);
    for (size_t i = 0; i < f->n_labels; i++)
        free(f->labels[i]);
    free(f->name);
    free(f->help);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* ---------------------------------------------------------------- registry */

dg_metrics *dg_metrics_new(void)
{
    dg_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void dg_metrics_free(dg_metrics *m)
{
    if (!m)
        return;
    dg_metric *f = m->head;
    while (f) {
        dg_metric *next = f->next;
        family_free(f);
        f = next;
    }
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static int same_shape(const dg_metric *f, enum mtype type, const char *const *labels,
                      size_t n_labels, const double *buckets, size_t n_buckets)
{
    if (f->type != type || f->n_labels != n_labels)
        return 0;
    for (size_t i = 0; i < n_labels; i++)
        if (strcmp(f->labels[i], labels[i]) != 0)
            return 0;
    if (type == MT_HISTOGRAM) {
        if (f->n_buckets != n_buckets)
            return 0;
        for (size_t i = 0; i < n_buckets; i++)
            if (f->buckets[i] != buckets[i])
                return 0;
    }
    return 1;
}

static int valid_args(enum mtype type, const char *name, const char *const *labels,
                      size_t n_labels, const double *buckets, size_t n_buckets)
{
    if (!valid_name(name, 1) || n_labels > DG_METRICS_MAX_LABELS || (n_labels && !labels))
        return 0;
    for (size_t i = 0; i < n_labels; i++) {
        /* Names starting with "__" are reserved for Prometheus itself; "le"
         * would clash with the bucket label. */
        if (!valid_name(labels[i], 0) || strncmp(labels[i], "__", 2) == 0)
            return 0;
        if (type == MT_HISTOGRAM && strcmp(labels[i], "le") == 0)
            return 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(labels[i], labels[j]) == 0)
                return 0;
    }
    if (type == MT_HISTOGRAM) {
        if (n_buckets > DG_METRICS_MAX_BUCKETS || (n_buckets && !buckets))
            return 0;
        for (size_t i = 0; i < n_buckets; i++) {
            if (!isfinite(buckets[i]) || (i && !(buckets[i] > buckets[i - 1])))
                return 0;
        }
    }
    return 1;
}

static dg_metric *family_new(dg_metrics *m, enum mtype type, const char *name, const char *help,
                             const char *const *labels, size_t n_labels, const double *buckets,
                             size_t n_buckets)
{
    dg_metric *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    if (pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        return NULL;
    }
    f->reg = m;
    f->type = type;
    f->limit = DEFAULT_SERIES_LIMIT;
    f->n_buckets = type == MT_HISTOGRAM ? n_buckets : 0;
    if (f->n_buckets)
        memcpy(f->buckets, buckets, n_buckets * sizeof *buckets);
    f->name = xstrdup(name);
    f->help = xstrdup(help ? help : "");
    if (!f->name || !f->help)
        goto fail;
    for (size_t i = 0; i < n_labels; i++) {
        f->labels[i] = xstrdup(labels[i]);
        if (!f->labels[i])
            goto fail;
        f->n_labels = i + 1;
    }
    if (n_labels == 0) {
        /* A family without labels has exactly one series, alive (and exposed
         * as 0) from registration on. */
        f->single = series_new(f, NULL, 0);
        if (!f->single)
            goto fail;
    } else {
        const char *ov[DG_METRICS_MAX_LABELS];
        for (size_t i = 0; i < n_labels; i++)
            ov[i] = OVERFLOW_VALUE;
        f->overflow = series_new(f, ov, hash_values(ov, n_labels));
        f->table_cap = 16;
        f->table = calloc(f->table_cap, sizeof *f->table);
        if (!f->overflow || !f->table)
            goto fail;
    }
    return f;
fail:
    family_free(f);
    return NULL;
}

static dg_metric *do_register(dg_metrics *m, enum mtype type, const char *name, const char *help,
                              const char *const *labels, size_t n_labels, const double *buckets,
                              size_t n_buckets)
{
    if (!m || !valid_args(type, name, labels, n_labels, buckets, n_buckets))
        return NULL;
    pthread_mutex_lock(&m->mu);
    dg_metric *f;
    for (f = m->head; f; f = f->next) {
        if (strcmp(f->name, name) == 0) {
            if (!same_shape(f, type, labels, n_labels, buckets, n_buckets))
                f = NULL;
            pthread_mutex_unlock(&m->mu);
            return f;
        }
    }
    f = family_new(m, type, name, help, labels, n_labels, buckets, n_buckets);
    if (f) {
        if (m->tail)
            m->tail->next = f;
        else
            m->head = f;
        m->tail = f;
    }
    pthread_mutex_unlock(&m->mu);
    return f;
}

dg_metric *dg_metrics_counter(dg_metrics *m, const char *name, const char *help,
                              const char *const *labels, size_t n_labels)
{
    return do_register(m, MT_COUNTER, name, help, labels, n_labels, NULL, 0);
}

dg_metric *dg_metrics_gauge(dg_metrics *m, const char *name, const char *help,
                            const char *const *labels, size_t n_labels)
{
    return do_register(m, MT_GAUGE, name, help, labels, n_labels, NULL, 0);
}

dg_metric *dg_metrics_histogram(dg_metrics *m, const char *name, const char *help,
                                const char *const *labels, size_t n_labels,
                                const double *buckets, size_t n_buckets)
{
    return do_register(m, MT_HISTOGRAM, name, help, labels, n_labels, buckets, n_buckets);
}

/* ---------------------------------------------------------------- series */

static int table_grow(dg_metric *f)
{
    if (f->table_cap > SIZE_MAX / 2 / sizeof *f->table)
        return DG_ENOMEM;
    size_t cap = f->table_cap * 2;
    dg_series **t = calloc(cap, sizeof *t);
    if (!t)
        return DG_ENOMEM;
    for (size_t i = 0; i < f->table_cap; i++) {
        dg_series *s = f->table[i];
        while (s) {
            dg_series *next = s->hnext;
            size_t b = (size_t)(s->hash & (cap - 1));
            s->hnext = t[b];
            t[b] = s;
            s = next;
        }
    }
    free(f->table);
    f->table = t;
    f->table_cap = cap;
    return 0;
}

static dg_series *overflow_series(dg_metric *f)
{
    f->overflow_used = 1;
    return f->overflow;
}

/* Called with f->mu held; v already UTF-8 clean. */
static dg_series *find_or_create(dg_metric *f, const char *const *v)
{
    int all_overflow = 1;
    for (size_t i = 0; i < f->n_labels && all_overflow; i++)
        all_overflow = strcmp(v[i], OVERFLOW_VALUE) == 0;
    if (all_overflow) /* the overflow series has exactly these values */
        return overflow_series(f);
    uint64_t h = hash_values(v, f->n_labels);
    for (dg_series *s = f->table[h & (f->table_cap - 1)]; s; s = s->hnext)
        if (s->hash == h && values_equal(s, v, f->n_labels))
            return s;
    if (f->n_series >= f->limit)
        return overflow_series(f);
    if (f->n_series >= f->table_cap && table_grow(f) != 0)
        return overflow_series(f);
    dg_series *s = series_new(f, v, h);
    if (!s)
        return overflow_series(f);
    size_t b = (size_t)(h & (f->table_cap - 1));
    s->hnext = f->table[b];
    f->table[b] = s;
    f->n_series++;
    return s;
}

dg_series *dg_metric_series(dg_metric *f, const char *const *values)
{
    if (!f)
        return NULL;
    if (f->n_labels == 0)
        return f->single;
    if (!values) {
        pthread_mutex_lock(&f->mu);
        dg_series *s = overflow_series(f);
        pthread_mutex_unlock(&f->mu);
        return s;
    }
    const char *v[DG_METRICS_MAX_LABELS];
    char *fixed[DG_METRICS_MAX_LABELS] = {0};
    int nomem = 0;
    for (size_t i = 0; i < f->n_labels; i++) {
        v[i] = values[i] ? values[i] : "";
        if (!utf8_valid(v[i])) {
            fixed[i] = utf8_repair(v[i]);
            if (!fixed[i])
                nomem = 1;
            else
                v[i] = fixed[i];
        }
    }
    pthread_mutex_lock(&f->mu);
    dg_series *s = nomem ? overflow_series(f) : find_or_create(f, v);
    pthread_mutex_unlock(&f->mu);
    for (size_t i = 0; i < f->n_labels; i++)
        free(fixed[i]);
    return s;
}

void dg_metric_set_series_limit(dg_metric *f, size_t limit)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    f->limit = limit;
    pthread_mutex_unlock(&f->mu);
}

/* ---------------------------------------------------------------- updates */

void dg_series_inc(dg_series *s)
{
    dg_series_add(s, 1);
}

void dg_series_add(dg_series *s, uint64_t n)
{
    if (s && s->family->type == MT_COUNTER)
        atomic_fetch_add_explicit(&s->counter, n, memory_order_relaxed);
}

void dg_series_gauge_set(dg_series *s, int64_t v)
{
    if (s && s->family->type == MT_GAUGE)
        atomic_store_explicit(&s->gauge, v, memory_order_relaxed);
}

void dg_series_gauge_add(dg_series *s, int64_t delta)
{
    if (s && s->family->type == MT_GAUGE)
        atomic_fetch_add_explicit(&s->gauge, delta, memory_order_relaxed);
}

static double bits_to_double(uint64_t b)
{
    double d;
    memcpy(&d, &b, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

void dg_series_observe(dg_series *s, double v)
{
    if (!s || s->family->type != MT_HISTOGRAM)
        return;
    const dg_metric *f = s->family;
    /* Bounds are inclusive upper limits (v <= le); NaN lands in +Inf, as in
     * the Go client. Binary search: at most 5 steps for 32 buckets. */
    size_t lo = 0, hi = f->n_buckets;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v <= f->buckets[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    uint64_t old = atomic_load_explicit(&s->sum_bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(&s->sum_bits, &old,
                                                  double_to_bits(bits_to_double(old) + v),
                                                  memory_order_relaxed, memory_order_relaxed)) {
    }
    atomic_fetch_add_explicit(&s->slots[lo], 1, memory_order_relaxed);
}

uint64_t dg_series_counter_value(const dg_series *s)
{
    return s ? atomic_load_explicit(&s->counter, memory_order_relaxed) : 0;
}

int64_t dg_series_gauge_value(const dg_series *s)
{
    return s ? atomic_load_explicit(&s->gauge, memory_order_relaxed) : 0;
}

uint64_t dg_series_hist_count(const dg_series *s)
{
    if (!s || s->family->type != MT_HISTOGRAM)
        return 0;
    uint64_t n = 0;
    for (size_t i = 0; i <= s->family->n_buckets; i++)
        n += atomic_load_explicit(&s->slots[i], memory_order_relaxed);
    return n;
}

double dg_series_hist_sum(const dg_series *s)
{
    if (!s)
        return 0.0;
    return bits_to_double(atomic_load_explicit(&s->sum_bits, memory_order_relaxed));
}

/* ---------------------------------------------------------------- exposition */

/* Shortest text that parses back to the same double, so "0.0001" stays
 * "0.0001" and sums keep full precision. Prometheus spells infinities
 * "+Inf"/"-Inf". */
static void format_double(char out[40], double d)
{
    if (isnan(d)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(d)) {
        strcpy(out, d > 0 ? "+Inf" : "-Inf");
        return;
    }
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(out, 40, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            break;
    }
    /* %g switches to an exponent once it exceeds the precision, so the
     * shortest form of 10 is "1e+01": spell values that fit plainly
     * (bucket bounds like 10 or 1048576) without one. */
    double mag = fabs(d);
    if (mag >= 1 && mag < 1e15) {
        int digits = (int)floor(log10(mag)) + 1;
        if (digits > prec)
            prec = digits;
    }
    snprintf(out, 40, "%.*g", prec, d);
}

/* HELP text escapes backslash and newline; label values also the double
 * quote (text format 0.0.4). */
static int append_escaped(dg_buf *out, const char *s, int quote)
{
    size_t start = 0, i = 0;
    for (; s[i]; i++) {
        const char *rep = NULL;
        if (s[i] == '\\')
            rep = "\\\\";
        else if (s[i] == '\n')
            rep = "\\n";
        else if (quote && s[i] == '"')
            rep = "\\\"";
        if (!rep)
            continue;
        if (dg_buf_append(out, s + start, i - start) || dg_buf_append(out, rep, 2))
            return DG_ENOMEM;
        start = i + 1;
    }
    return dg_buf_append(out, s + start, i - start);
}

/* name{l1="v1",...,extra_name="extra_value"} (braces omitted when empty). */
static int append_series_name(dg_buf *out, const dg_metric *f, const char *suffix,
                              const dg_series *s, const char *extra_name, const char *extra_value)
{
    if (dg_buf_append(out, f->name, strlen(f->name)) || dg_buf_append(out, suffix, strlen(suffix)))
        return DG_ENOMEM;
    if (f->n_labels == 0 && !extra_name)
        return 0;
    if (dg_buf_putc(out, '{'))
        return DG_ENOMEM;
    for (size_t i = 0; i < f->n_labels; i++) {
        if (dg_buf_printf(out, "%s%s=\"", i ? "," : "", f->labels[i]) ||
            append_escaped(out, s->values[i], 1) || dg_buf_putc(out, '"'))
            return DG_ENOMEM;
    }
    if (extra_name && dg_buf_printf(out, "%s%s=\"%s\"", f->n_labels ? "," : "", extra_name,
                                    extra_value))
        return DG_ENOMEM;
    return dg_buf_putc(out, '}');
}

static int expose_series(dg_buf *out, const dg_metric *f, const dg_series *s)
{
    char num[40];
    if (f->type == MT_COUNTER) {
        if (append_series_name(out, f, "", s, NULL, NULL) ||
            dg_buf_printf(out, " %llu\n", (unsigned long long)dg_series_counter_value(s)))
            return DG_ENOMEM;
        return 0;
    }
    if (f->type == MT_GAUGE) {
        if (append_series_name(out, f, "", s, NULL, NULL) ||
            dg_buf_printf(out, " %lld\n", (long long)dg_series_gauge_value(s)))
            return DG_ENOMEM;
        return 0;
    }
    uint64_t cum = 0;
    for (size_t i = 0; i <= f->n_buckets; i++) {
        cum += atomic_load_explicit(&s->slots[i], memory_order_relaxed);
        if (i < f->n_buckets)
            format_double(num, f->buckets[i]);
        else
            strcpy(num, "+Inf");
        if (append_series_name(out, f, "_bucket", s, "le", num) ||
            dg_buf_printf(out, " %llu\n", (unsigned long long)cum))
            return DG_ENOMEM;
    }
    format_double(num, dg_series_hist_sum(s));
    if (append_series_name(out, f, "_sum", s, NULL, NULL) || dg_buf_printf(out, " %s\n", num) ||
        append_series_name(out, f, "_count", s, NULL, NULL) ||
        dg_buf_printf(out, " %llu\n", (unsigned long long)cum))
        return DG_ENOMEM;
    return 0;
}

static int cmp_series(const void *a, const void *b)
{
    const dg_series *x = *(dg_series *const *)a, *y = *(dg_series *const *)b;
    for (size_t i = 0; i < x->family->n_labels; i++) {
        int c = strcmp(x->values[i], y->values[i]);
        if (c)
            return c;
    }
    return 0;
}

static int expose_family(dg_buf *out, dg_metric *f)
{
    static const char *const type_name[] = {"counter", "gauge", "histogram"};
    if (dg_buf_printf(out, "# HELP %s ", f->name) || append_escaped(out, f->help, 0) ||
        dg_buf_printf(out, "\n# TYPE %s %s\n", f->name, type_name[f->type]))
        return DG_ENOMEM;
    if (f->n_labels == 0)
        return expose_series(out, f, f->single);

    /* Snapshot the series pointers under the family lock, then format
     * without it: series are never freed while the registry lives, and their
     * values are atomics, so the hot path is never held up by a scrape. */
    pthread_mutex_lock(&f->mu);
    size_t n = f->n_series + (f->overflow_used ? 1 : 0);
    dg_series **v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v) {
        pthread_mutex_unlock(&f->mu);
        return DG_ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < f->table_cap; i++)
        for (dg_series *s = f->table[i]; s; s = s->hnext)
            v[k++] = s;
    if (f->overflow_used)
        v[k++] = f->overflow;
    pthread_mutex_unlock(&f->mu);

    if (n > 1)
        qsort(v, n, sizeof *v, cmp_series);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = expose_series(out, f, v[i]);
    free(v);
    return rc;
}

int dg_metrics_expose(dg_metrics *m, dg_buf *out)
{
    if (!m)
        return 0;
    pthread_mutex_lock(&m->mu);
    int rc = 0;
    for (dg_metric *f = m->head; f && rc == 0; f = f->next)
        rc = expose_family(out, f);
    pthread_mutex_unlock(&m->mu);
    return rc;
}
