/* analyze/drift_agg.c: deduplicating anomalies into drifts between flushes.
 *
 * An open-addressing table of indexes into a dense array of drifts. The
 * common case, an anomaly of a drift already pending, costs one FNV-1a
 * hash of the identity (the pointer normalised on the fly) and a
 * comparison, with no allocation; the SHA-256 fingerprint and the owned
 * copy are made only for a drift new to this window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/drift.h"

struct dg_drift_agg {
    dg_drift *d;            /* dense, n of cap */
    uint64_t *key;          /* identity hash of d[i] (parallel to d) */
    size_t n, cap;
    int32_t *slot;          /* -1 empty; index into d */
    size_t nslot;           /* power of two, >= 2 * n */
    size_t max_pending;
    uint64_t anomalies;     /* held since the last take */
    uint64_t dropped;
};

dg_drift_agg *dg_drift_agg_new(size_t max_pending)
{
    dg_drift_agg *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->max_pending = max_pending ? max_pending : 100000;
    return g;
}

void dg_drift_agg_free(dg_drift_agg *g)
{
    if (!g)
        return;
    dg_drifts_free(g->d, g->n);
    free(g->key);
    free(g->slot);
    free(g);
}

size_t dg_drift_agg_pending(const dg_drift_agg *g) { return g->n; }
uint64_t dg_drift_agg_anomalies(const dg_drift_agg *g) { return g->anomalies; }
uint64_t dg_drift_agg_dropped(const dg_drift_agg *g) { return g->dropped; }

/* ---- identity: hashed and compared without building a drift ---- */

#define FNV_OFF 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * FNV_PRIME;
    return (h ^ 0xff) * FNV_PRIME; /* field separator */
}

/* The base-name part of a schema pointer, as dg_schema_loc makes it
 * (borrowed: a suffix of the argument). */
static const char *loc_of(const char *schema_pointer)
{
    if (!schema_pointer)
        return "";
    const char *hash = strchr(schema_pointer, '#');
    const char *end = hash ? hash : schema_pointer + strlen(schema_pointer);
    const char *base = schema_pointer;
    for (const char *q = schema_pointer; q < end; q++)
        if (*q == '/')
            base = q + 1;
    return base;
}

/* Hash of a pointer as dg_pointer_normalise would write it. */
static uint64_t fnv_pointer(uint64_t h, const char *p)
{
    if (!p)
        p = "";
    if (p[0] && p[0] != '/')
        return fnv(h, p, strlen(p));
    while (*p) {
        const char *seg = p + 1;
        const char *end = strchr(seg, '/');
        size_t len = end ? (size_t)(end - seg) : strlen(seg);
        h = (h ^ '/') * FNV_PRIME;
        if (dg_pointer_is_index(seg, len))
            h = (h ^ '*') * FNV_PRIME;
        else
            for (size_t i = 0; i < len; i++)
                h = (h ^ (unsigned char)seg[i]) * FNV_PRIME;
        p = seg + len;
    }
    return (h ^ 0xff) * FNV_PRIME;
}

static const char *nz(const char *s) { return s ? s : ""; }

/* Identity hash: the same for an anomaly and for the drift built from it. */
static uint64_t key_of_anomaly(const dg_anomaly *a)
{
    char st[16];
    int sl = snprintf(st, sizeof st, "%d", a->status);
    uint64_t h = FNV_OFF;
    h = fnv(h, nz(a->api), strlen(nz(a->api)));
    h = fnv(h, nz(a->operation), strlen(nz(a->operation)));
    h = fnv(h, st, (size_t)sl);
    h = fnv_pointer(h, a->instance_pointer);
    const char *loc = loc_of(a->schema_pointer);
    h = fnv(h, loc, strlen(loc));
    const char *kind = a->kind ? a->kind : "other";
    h = fnv(h, kind, strlen(kind));
    return fnv(h, nz(a->shape_type), strlen(nz(a->shape_type)));
}

static uint64_t key_of_drift(const dg_drift *d)
{
    char st[16];
    int sl = snprintf(st, sizeof st, "%d", d->status);
    uint64_t h = FNV_OFF;
    h = fnv(h, nz(d->api), strlen(nz(d->api)));
    h = fnv(h, nz(d->operation), strlen(nz(d->operation)));
    h = fnv(h, st, (size_t)sl);
    h = fnv(h, nz(d->pointer), strlen(nz(d->pointer)));
    h = fnv(h, nz(d->schema_loc), strlen(nz(d->schema_loc)));
    h = fnv(h, nz(d->kind), strlen(nz(d->kind)));
    return fnv(h, nz(d->observed_type), strlen(nz(d->observed_type)));
}

static int same_anomaly(const dg_drift *d, const dg_anomaly *a)
{
    return d->status == a->status && !strcmp(nz(d->api), nz(a->api)) &&
           !strcmp(nz(d->operation), nz(a->operation)) &&
           !strcmp(nz(d->kind), a->kind ? a->kind : "other") &&
           !strcmp(nz(d->observed_type), nz(a->shape_type)) &&
           !strcmp(nz(d->schema_loc), loc_of(a->schema_pointer)) &&
           dg_pointer_same_drift(d->pointer, a->instance_pointer);
}

static int same_drift(const dg_drift *x, const dg_drift *y)
{
    return !memcmp(x->fingerprint, y->fingerprint, DG_FP_LEN);
}

/* Slot for key: *found = index of the matching drift (eq(d, arg)), else -1
 * and the returned slot is the empty one to use. */
static size_t find(const dg_drift_agg *g, uint64_t key, int (*eq)(const dg_drift *, const void *),
                   const void *arg, int *found)
{
    size_t mask = g->nslot - 1;
    size_t i = (size_t)(key ^ (key >> 29)) & mask;
    for (;;) {
        int32_t s = g->slot[i];
        if (s < 0) {
            *found = -1;
            return i;
        }
        if (g->key[s] == key && eq(&g->d[s], arg)) {
            *found = s;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static int eq_anomaly(const dg_drift *d, const void *a) { return same_anomaly(d, a); }
static int eq_drift(const dg_drift *d, const void *o) { return same_drift(d, o); }

static int grow_slots(dg_drift_agg *g)
{
    size_t ns = g->nslot ? g->nslot * 2 : 64;
    int32_t *s = malloc(ns * sizeof *s);
    if (!s)
        return DG_ENOMEM;
    for (size_t i = 0; i < ns; i++)
        s[i] = -1;
    free(g->slot);
    g->slot = s;
    g->nslot = ns;
    size_t mask = ns - 1;
    for (size_t k = 0; k < g->n; k++) {
        size_t i = (size_t)(g->key[k] ^ (g->key[k] >> 29)) & mask;
        while (g->slot[i] >= 0)
            i = (i + 1) & mask;
        g->slot[i] = (int32_t)k;
    }
    return 0;
}

static int add_day(dg_drift *d, int32_t day, uint64_t count)
{
    for (size_t i = d->n_days; i-- > 0;)
        if (d->days[i].day == day) {
            d->days[i].count += count;
            return 0;
        }
    dg_day_count *nd = realloc(d->days, (d->n_days + 1) * sizeof *nd);
    if (!nd)
        return DG_ENOMEM;
    d->days = nd;
    /* keep ascending: days mostly arrive in order */
    size_t i = d->n_days;
    while (i > 0 && d->days[i - 1].day > day) {
        d->days[i] = d->days[i - 1];
        i--;
    }
    d->days[i].day = day;
    d->days[i].count = count;
    d->n_days++;
    return 0;
}

/* Merges src (borrowed) into the pending drift dst with the same fingerprint. */
static int merge(dg_drift *dst, const dg_drift *src)
{
    for (size_t i = 0; i < src->n_days; i++)
        if (add_day(dst, src->days[i].day, src->days[i].count))
            return DG_ENOMEM;
    dst->count += src->count;
    if (src->first_seen_ms < dst->first_seen_ms)
        dst->first_seen_ms = src->first_seen_ms;
    if (src->last_seen_ms >= dst->last_seen_ms) {
        dst->last_seen_ms = src->last_seen_ms;
        /* The latest context wins (the store does the same); skip the copy
         * when nothing that matters changed. */
        if (src->spec_hash && (!dst->spec_hash || strcmp(src->spec_hash, dst->spec_hash) ||
                               (src->example && (!dst->example ||
                                                 strcmp(src->example, dst->example))))) {
            dg_drift tmp;
            if (dg_drift_copy(&tmp, src))
                return DG_ENOMEM;
            tmp.count = dst->count;
            tmp.first_seen_ms = dst->first_seen_ms;
            dg_day_count *days = dst->days;
            size_t n_days = dst->n_days;
            dst->days = NULL;
            dg_drift_clear(dst);
            free(tmp.days);
            *dst = tmp;
            dst->days = days;
            dst->n_days = n_days;
        }
    }
    return 0;
}

/* Room for one more drift (load factor <= 1/2: find() always ends). */
static int reserve(dg_drift_agg *g)
{
    if ((!g->nslot || (g->n + 1) * 2 > g->nslot) && grow_slots(g))
        return DG_ENOMEM;
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 64;
        dg_drift *nd = realloc(g->d, nc * sizeof *nd);
        if (!nd)
            return DG_ENOMEM;
        g->d = nd;
        uint64_t *nk = realloc(g->key, nc * sizeof *nk);
        if (!nk)
            return DG_ENOMEM;
        g->key = nk;
        g->cap = nc;
    }
    return 0;
}

/* Inserts d (moved when own, else copied) or merges it into its pending twin. */
static int put(dg_drift_agg *g, dg_drift *d, int own)
{
    uint64_t key = key_of_drift(d);
    int found = -1;
    size_t i = 0;
    if (reserve(g))
        goto nomem;
    i = find(g, key, eq_drift, d, &found);
    if (found >= 0) {
        if (merge(&g->d[found], d))
            goto nomem;
        g->anomalies += d->count;
        if (own)
            dg_drift_clear(d);
        return 0;
    }
    if (g->n >= g->max_pending) {
        g->dropped += d->count;
        if (own)
            dg_drift_clear(d);
        return DG_ELIMIT;
    }
    if (own) {
        g->d[g->n] = *d;
        memset(d, 0, sizeof *d);
    } else if (dg_drift_copy(&g->d[g->n], d)) {
        goto nomem;
    }
    g->key[g->n] = key;
    g->slot[i] = (int32_t)g->n++;
    g->anomalies += g->d[g->n - 1].count;
    return 0;
nomem:
    g->dropped += d->count;
    if (own)
        dg_drift_clear(d);
    return DG_ENOMEM;
}

int dg_drift_agg_add(dg_drift_agg *g, const dg_anomaly *a)
{
    uint64_t n = a->count ? a->count : 1;
    if (reserve(g)) {
        g->dropped += n;
        return DG_ENOMEM;
    }
    int found;
    uint64_t key = key_of_anomaly(a);
    find(g, key, eq_anomaly, a, &found);
    if (found >= 0) {
        /* the fast path: counts and times only; the context (example,
         * message) stays the window's first unless the spec changed */
        dg_drift *d = &g->d[found];
        int64_t ms = a->ts_ns / 1000000;
        if (ms > d->last_seen_ms)
            d->last_seen_ms = ms;
        if (ms < d->first_seen_ms)
            d->first_seen_ms = ms;
        if (add_day(d, dg_day_of_ms(ms), n)) {
            g->dropped += n;
            return DG_ENOMEM;
        }
        d->count += n;
        g->anomalies += n;
        if (!(a->spec_hash && d->spec_hash && strcmp(a->spec_hash, d->spec_hash)))
            return 0;
        /* a new spec: the latest context goes with it (slow path, rare) */
    }
    dg_drift d;
    if (dg_drift_from_anomaly(a, &d)) {
        g->dropped += n;
        return DG_ENOMEM;
    }
    if (found >= 0) { /* already counted above: only the context */
        d.count = 0;
        d.days[0].count = 0;
    }
    return put(g, &d, 1);
}

int dg_drift_agg_add_drift(dg_drift_agg *g, const dg_drift *d)
{
    return put(g, (dg_drift *)d, 0);
}

dg_drift *dg_drift_agg_take(dg_drift_agg *g, size_t *n)
{
    dg_drift *d = g->d;
    *n = g->n;
    if (!g->n) {
        free(g->d);
        d = NULL;
    }
    g->d = NULL;
    g->n = g->cap = 0;
    g->anomalies = 0;
    for (size_t i = 0; i < g->nslot; i++)
        g->slot[i] = -1;
    return d;
}

void dg_drift_agg_restore(dg_drift_agg *g, dg_drift *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(g, &d[i], 1);
    free(d);
}
