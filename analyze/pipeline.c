/* analyze/pipeline.c: anomalies -> drifts -> store -> explanations.
 *
 * Single-threaded (the analyzer thread, or a command). The model side runs
 * one request per API at a time through the LLM hub; its callbacks come
 * back on this thread from dg_llm_hub_run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/pipeline_internal.h"
#include "common/log.h"

int64_t dg__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dg__count_expl(dg_pipeline *p, const char *source, const char *result, uint64_t n)
{
    if (!p->explanations || !n)
        return;
    const char *lv[2] = {source, result};
    dg_series_add(dg_metric_series(p->explanations, lv), n);
}

static int metrics_init(dg_pipeline *p)
{
    dg_metrics *m = p->m;
    if (!m)
        return 0;
    static const char *const res[] = {"result"};
    static const char *const sr[] = {"source", "result"};
    p->flushes = dg_metrics_counter(m, "driftgate_drift_flushes_total",
                                    "Writes of pending drift to the store, by result.", res, 1);
    p->pending = dg_metrics_gauge(m, "driftgate_drift_pending",
                                  "Distinct drifts held in memory, not yet stored.", NULL, 0);
    p->fingerprints = dg_metrics_counter(m, "driftgate_drift_fingerprints_total",
                                         "Drifts stored for the first time.", NULL, 0);
    p->analyzed = dg_metrics_counter(m, "driftgate_anomalies_analyzed_total",
                                     "Findings (violations and info drift) aggregated into drifts; an anomaly standing for n identical findings of one response counts n.", NULL, 0);
    p->dropped = dg_metrics_counter(m, "driftgate_drift_dropped_total",
                                    "Anomalies of new drifts dropped because too many distinct "
                                    "drifts were waiting for the store.", NULL, 0);
    p->explanations = dg_metrics_counter(m, "driftgate_explanations_total",
                                         "Drift explanations written, by explainer and result.",
                                         sr, 2);
    return p->flushes && p->pending && p->fingerprints && p->analyzed && p->dropped &&
                   p->explanations
               ? 0
               : DG_ENOMEM;
}

static void api_free(api_state *a)
{
    if (!a)
        return;
    free(a->name);
    dg_llm_conf_clear(&a->conf);
    dg_drifts_free(a->batch, a->n_batch);
    free(a->user);
    free(a->system);
    free(a->schema);
    free(a);
}

void dg__sweep_retired(dg_pipeline *p, int force)
{
    api_state **pp = &p->retired;
    while (*pp) {
        api_state *a = *pp;
        if (force || !a->client || !dg_llm_busy(a->client)) {
            *pp = a->next_retired;
            api_free(a);
        } else {
            pp = &a->next_retired;
        }
    }
}

static int same_backend(const dg_llm_conf *a, const dg_llm_conf *b)
{
    return a->backend == b->backend && !strcmp(a->model ? a->model : "", b->model ? b->model : "") &&
           !strcmp(a->endpoint ? a->endpoint : "", b->endpoint ? b->endpoint : "");
}

int dg_pipeline_reconfigure(dg_pipeline *p, const dg_config *cfg, dg_error *err)
{
    /* An API whose backend (kind, model, endpoint) did not change keeps its
     * state object: its client and a batch in flight carry on, with the new
     * settings for what comes next (the client keeps the ones it was made
     * with). Other states are freed, or retired until their call ends (its
     * answer is dropped; the drifts stay pending). A client cannot be freed
     * on its own (the hub owns it): a replaced one is left idle. Everything
     * that can fail happens before anything changes. */
    size_t n = cfg->n_apis;
    api_state **na = calloc(n ? n : 1, sizeof *na);
    dg_llm_conf *confs = calloc(n ? n : 1, sizeof *confs);
    long *match = calloc(n ? n : 1, sizeof *match);
    int ok = na && confs && match;
    int64_t now = dg__now_ms();
    for (size_t i = 0; ok && i < n; i++) {
        const dg_api *ca = &cfg->apis[i];
        ok = !dg_llm_conf_copy(&confs[i], &ca->explain);
        match[i] = -1;
        for (size_t j = 0; ok && j < p->n_apis && match[i] < 0; j++)
            if (!strcmp(p->apis[j]->name, ca->name) && same_backend(&p->apis[j]->conf, &ca->explain))
                match[i] = (long)j;
        if (ok && match[i] < 0) {
            ok = (na[i] = calloc(1, sizeof *na[i])) && (na[i]->name = strdup(ca->name));
            if (ok) {
                na[i]->last_batch_ms = now;
                na[i]->p = p;
            }
        }
    }
    if (!ok) {
        for (size_t i = 0; i < n; i++) {
            if (na)
                api_free(na[i]);
            if (confs)
                dg_llm_conf_clear(&confs[i]);
        }
        free((void *)na);
        free(confs);
        free(match);
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (match[i] >= 0) {
            na[i] = p->apis[match[i]];
            p->apis[match[i]] = NULL; /* taken */
        }
        dg_llm_conf_clear(&na[i]->conf);
        na[i]->conf = confs[i]; /* moved */
    }
    free(confs);
    free(match);
    for (size_t j = 0; j < p->n_apis; j++) {
        api_state *a = p->apis[j];
        if (!a)
            continue;
        if (a->client && dg_llm_busy(a->client)) {
            dg_logf(DG_LOG_WARN, "explain: API \"%s\" changed while a request was in flight: its "
                    "answer is dropped and the drifts are asked about again", a->name);
            a->retired = 1;
            a->next_retired = p->retired;
            p->retired = a;
        } else {
            api_free(a);
        }
    }
    free((void *)p->apis);
    p->apis = na;
    p->n_apis = n;
    return 0;
}

int dg_pipeline_new(const dg_config *cfg, dg_store *store, dg_metrics *m, dg_pipeline **out,
                    dg_error *err)
{
    *out = NULL;
    dg_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    p->store = store;
    p->m = m;
    p->max_pending = cfg->store.max_pending ? cfg->store.max_pending : 100000;
    int rc = 0;
    if (!(p->agg = dg_drift_agg_new(p->max_pending)) || !(p->specs = dg_spec_cache_new()) ||
        metrics_init(p))
        rc = dg_error_set(err, DG_ENOMEM, "out of memory");
    else
        rc = dg_pipeline_reconfigure(p, cfg, err);
    if (rc) {
        dg_pipeline_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void dg_pipeline_free(dg_pipeline *p)
{
    if (!p)
        return;
    dg_llm_hub_free(p->hub); /* aborts calls in flight: no callback after this */
    for (size_t i = 0; i < p->n_apis; i++)
        api_free(p->apis[i]);
    free((void *)p->apis);
    dg__sweep_retired(p, 1);
    dg_drift_agg_free(p->agg);
    dg_spec_cache_free(p->specs);
    free(p);
}

uint64_t dg_pipeline_dropped(const dg_pipeline *p)
{
    return dg_drift_agg_dropped(p->agg);
}

size_t dg_pipeline_pending(const dg_pipeline *p)
{
    return dg_drift_agg_pending(p->agg);
}

static void sync_gauges(dg_pipeline *p)
{
    if (!p->m)
        return;
    dg_series_gauge_set(dg_metric_series(p->pending, NULL), (int64_t)dg_drift_agg_pending(p->agg));
    uint64_t d = dg_drift_agg_dropped(p->agg);
    if (d > p->dropped_seen)
        dg_series_add(dg_metric_series(p->dropped, NULL), d - p->dropped_seen);
    p->dropped_seen = d;
}

int dg_pipeline_add(dg_pipeline *p, const dg_anomaly *a)
{
    int rc = dg_drift_agg_add(p->agg, a);
    if (!rc && p->analyzed)
        dg_series_add(dg_metric_series(p->analyzed, NULL), a->count ? a->count : 1);
    /* so that "analyzed N and nothing pending" means written, not "not yet counted" */
    sync_gauges(p);
    return rc;
}

/* Heuristic explanations for drifts the store has not explained for their
 * spec hash. A failure here is logged, not fatal: the next sighting of the
 * drift (or `driftgate explain`) tries again. */
static void explain_new(dg_pipeline *p, const dg_drift *d, size_t n, uint64_t *new_drifts)
{
    int64_t now = dg__now_ms();
    for (size_t i = 0; i < n; i++) {
        dg_explanation e;
        dg_error err;
        int rc = dg_store_get_explanation(p->store, d[i].fingerprint,
                                          d[i].spec_hash ? d[i].spec_hash : "", &e, &err);
        if (!rc) {
            dg_explanation_clear(&e);
            continue;
        }
        if (rc != DG_ENOTFOUND)
            return;
        /* first_seen == this delta's first sighting: counted as new */
        (*new_drifts)++;
        if (dg_heuristic_explain(&d[i], p->specs, now, &e)) {
            dg__count_expl(p, "heuristic", "failed", 1);
            continue;
        }
        rc = dg_store_put_explanation(p->store, &e, &err);
        dg__count_expl(p, "heuristic", rc ? "failed" : "ok", 1);
        dg_explanation_clear(&e);
    }
}

int dg_pipeline_flush(dg_pipeline *p, dg_error *err)
{
    size_t n;
    dg_drift *d = dg_drift_agg_take(p->agg, &n);
    if (!n) {
        sync_gauges(p);
        return 0;
    }
    if (!p->store) {
        dg_drifts_free(d, n);
        sync_gauges(p);
        return 0;
    }
    dg_error e;
    int rc = dg_store_write(p->store, d, n, &e);
    const char *lv[1] = {rc ? "error" : "ok"};
    if (p->flushes)
        dg_series_inc(dg_metric_series(p->flushes, lv));
    if (rc) {
        /* keep them for the next flush; log once per kind of failure */
        if (rc != p->last_error_code)
            dg_logf(DG_LOG_ERROR, "drift store: %s (drift is kept in memory and written when the store "
                          "accepts it; up to %llu distinct drifts)",
                          e.msg, (unsigned long long)p->max_pending);
        p->last_error_code = rc;
        dg_drift_agg_restore(p->agg, d, n);
        sync_gauges(p);
        if (err)
            *err = e;
        return rc;
    }
    if (p->last_error_code)
        dg_logf(DG_LOG_INFO, "drift store: writing again");
    p->last_error_code = 0;
    uint64_t fresh = 0;
    explain_new(p, d, n, &fresh);
    if (fresh && p->fingerprints)
        dg_series_add(dg_metric_series(p->fingerprints, NULL), fresh);
    dg_drifts_free(d, n);
    sync_gauges(p);
    return 0;
}
