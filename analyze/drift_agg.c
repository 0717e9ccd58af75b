/* analyze/drift_agg.c: deduplicating anomalies into drifts between flushes.
 *
 * An open-addressing table of indexes into a dense array of drifts, keyed
 * by fingerprint. The common case (a drift already pending) costs one hash
 * and no allocation beyond the normalised pointer. */
#include <stdlib.h>
#include <string.h>

#include "analyze/drift.h"

struct dg_drift_agg {
    dg_drift *d;            /* dense, n of cap */
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
    free(g->slot);
    free(g);
}

size_t dg_drift_agg_pending(const dg_drift_agg *g) { return g->n; }
uint64_t dg_drift_agg_anomalies(const dg_drift_agg *g) { return g->anomalies; }
uint64_t dg_drift_agg_dropped(const dg_drift_agg *g) { return g->dropped; }

static uint64_t fp_hash(const char *fp)
{
    uint64_t h = 0;
    for (int i = 0; i < DG_FP_LEN; i++) {
        char c = fp[i];
        h = h << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return h;
}

static size_t find(const dg_drift_agg *g, const char *fp, int *found)
{
    size_t mask = g->nslot - 1;
    size_t i = (size_t)fp_hash(fp) & mask;
    for (;;) {
        int32_t s = g->slot[i];
        if (s < 0) {
            *found = 0;
            return i;
        }
        if (!memcmp(g->d[s].fingerprint, fp, DG_FP_LEN)) {
            *found = 1;
            return i;
        }
        i = (i + 1) & mask;
    }
}

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
    for (size_t k = 0; k < g->n; k++) {
        int found;
        size_t i = find(g, g->d[k].fingerprint, &found);
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

/* Inserts a copy of d (or merges it). own: d may be moved instead of copied. */
static int put(dg_drift_agg *g, dg_drift *d, int own)
{
    /* load factor <= 1/2, so find() always reaches an empty slot */
    if ((!g->nslot || (g->n + 1) * 2 > g->nslot) && grow_slots(g))
        goto nomem;
    int found;
    size_t i = find(g, d->fingerprint, &found);
    if (found) {
        if (merge(&g->d[g->slot[i]], d))
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
    if (g->n == g->cap) {
        size_t nc = g->cap ? g->cap * 2 : 64;
        dg_drift *nd = realloc(g->d, nc * sizeof *nd);
        if (!nd)
            goto nomem;
        g->d = nd;
        g->cap = nc;
    }
    if (own) {
        g->d[g->n] = *d;
        memset(d, 0, sizeof *d);
    } else if (dg_drift_copy(&g->d[g->n], d)) {
        goto nomem;
    }
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
    dg_drift d;
    if (dg_drift_from_anomaly(a, &d)) {
        g->dropped++;
        return DG_ENOMEM;
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
