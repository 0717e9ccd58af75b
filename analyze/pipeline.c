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

static void api_clear(api_state *a)
{
    free(a->name);
    dg_llm_conf_clear(&a->conf);
    dg_drifts_free(a->batch, a->n_batch);
    free(a->user);
    free(a->system);
    free(a->schema);
    memset(a, 0, sizeof *a);
}

int dg_pipeline_reconfigure(dg_pipeline *p, const dg_config *cfg, dg_error *err)
{
    /* Keep an API's state (its client, a batch in flight) when its
     * settings did not change; rebuild otherwise. A client cannot be freed
     * on its own (the hub owns it): a replaced one is left idle. */
    api_state *na = calloc(cfg->n_apis ? cfg->n_apis : 1, sizeof *na);
    if (!na)
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    int64_t now = dg__now_ms();
    for (size_t i = 0; i < cfg->n_apis; i++) {
        const dg_api *ca = &cfg->apis[i];
        api_state *old = NULL;
        for (size_t j = 0; j < p->n_apis; j++)
            if (p->apis[j].name && !strcmp(p->apis[j].name, ca->name))
                old = &p->apis[j];
        if (!(na[i].name = strdup(ca->name)) || dg_llm_conf_copy(&na[i].conf, &ca->explain)) {
            for (size_t k = 0; k <= i; k++)
                api_clear(&na[k]);
            free(na);
            return dg_error_set(err, DG_ENOMEM, "out of memory");
        }
        na[i].last_batch_ms = now;
        na[i].p = p;
        if (old && old->conf.backend == ca->explain.backend &&
            !strcmp(old->conf.model ? old->conf.model : "", ca->explain.model ? ca->explain.model : "") &&
            !strcmp(old->conf.endpoint ? old->conf.endpoint : "",
                    ca->explain.endpoint ? ca->explain.endpoint : "")) {
            na[i].client = old->client;
            na[i].last_batch_ms = old->last_batch_ms;
            old->client = NULL;
        }
    }
    for (size_t j = 0; j < p->n_apis; j++) {
        if (p->apis[j].client && dg_llm_busy(p->apis[j].client))
            dg_logf(DG_LOG_WARN, "explain: API \"%s\" changed while a request was in flight: its answer "
                         "is dropped and the drifts are asked about again",
                         p->apis[j].name);
        api_clear(&p->apis[j]);
    }
    free(p->apis);
    p->apis = na;
    p->n_apis = cfg->n_apis;
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
        api_clear(&p->apis[i]);
    free(p->apis);
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
