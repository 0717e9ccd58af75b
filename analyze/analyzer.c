/* analyze/analyzer.c: the analysis thread behind the proxy.
 *
 * Drains the anomaly queue into the pipeline, flushes every
 * flush_interval, applies retention once an hour, and drives the explain
 * batcher. Waits on the queue with a short timeout while a model request is
 * in flight (so the transfer progresses) and a longer one otherwise. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/analyze.h"
#include "common/log.h"

struct dg_analyzer {
    dg_anomaly_queue *q;
    dg_store *store;
    dg_pipeline *p;
    dg_store_conf sc;
    pthread_t thread;
    atomic_int stop;
    pthread_mutex_t mu;           /* guards next_cfg */
    dg_config *next_cfg;          /* a reload waiting to be applied (owned copy of what matters) */
    atomic_int have_next;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 0, or -1 when it failed (tried again sooner). */
static int retain(dg_analyzer *a)
{
    int32_t cutoff = dg_day_of_ms(wall_ms()) - (int32_t)a->sc.retention_days;
    uint64_t deleted = 0;
    dg_error e;
    if (dg_store_retain(a->store, cutoff, &deleted, &e)) {
        dg_logf(DG_LOG_WARN, "drift store: retention failed: %s", e.msg);
        return -1;
    }
    if (deleted)
        dg_logf(DG_LOG_INFO, "drift store: %llu drift%s not seen for %u days deleted",
                (unsigned long long)deleted, deleted == 1 ? "" : "s", a->sc.retention_days);
    return 0;
}

/* A config copy holding only what the pipeline reads (APIs' names and
 * explain settings), so the proxy's snapshot can go away meanwhile. */
static dg_config *explain_copy(const dg_config *cfg)
{
    dg_config *c = calloc(1, sizeof *c);
    if (!c || !(c->apis = calloc(cfg->n_apis ? cfg->n_apis : 1, sizeof *c->apis)))
        goto fail;
    c->store = cfg->store;
    c->store.url = NULL;
    for (size_t i = 0; i < cfg->n_apis; i++) {
        c->n_apis++;
        if (!(c->apis[i].name = strdup(cfg->apis[i].name)) ||
            dg_llm_conf_copy(&c->apis[i].explain, &cfg->apis[i].explain))
            goto fail;
    }
    return c;
fail:
    dg_config_free(c);
    return NULL;
}

static void apply_reload(dg_analyzer *a)
{
    pthread_mutex_lock(&a->mu);
    dg_config *c = a->next_cfg;
    a->next_cfg = NULL;
    atomic_store(&a->have_next, 0);
    pthread_mutex_unlock(&a->mu);
    if (!c)
        return;
    dg_error e;
    if (dg_pipeline_reconfigure(a->p, c, &e))
        dg_logf(DG_LOG_ERROR, "analyzer: the reloaded explain settings were not applied: %s",
                e.msg);
    dg_config_free(c);
}

static void *run(void *arg)
{
    dg_analyzer *a = arg;
    int64_t next_flush = mono_ms() + (int64_t)a->sc.flush_interval_ms;
    int64_t next_retain = mono_ms();
    int in_flight = 0;
    for (;;) {
        int stopping = atomic_load(&a->stop);
        int64_t now = mono_ms();
        int wait = in_flight ? 20 : 200;
        if (next_flush - now < wait)
            wait = next_flush > now ? (int)(next_flush - now) : 0;
        dg_anomaly *an = dg_anomaly_queue_pop(a->q, stopping ? 0 : wait);
        /* take what is queued without waiting, in bounded bursts */
        for (int k = 0; an && k < 4096; k++) {
            dg_pipeline_add(a->p, an);
            dg_anomaly_free(an);
            an = k + 1 < 4096 ? dg_anomaly_queue_pop(a->q, 0) : NULL;
        }
        dg_anomaly_free(an);
        now = mono_ms();
        if (now >= next_flush || (stopping && !dg_anomaly_queue_depth(a->q))) {
            dg_pipeline_flush(a->p, NULL);
            next_flush = now + (int64_t)a->sc.flush_interval_ms;
            if (stopping && !dg_anomaly_queue_depth(a->q))
                break;
        }
        if (now >= next_retain) {
            next_retain = now + (retain(a) ? 300 : 3600) * 1000;
        }
        if (atomic_load(&a->have_next))
            apply_reload(a);
        in_flight = dg_pipeline_explain(a->p, 0, 0);
    }
    return NULL;
}

int dg_analyzer_start(dg_anomaly_queue *q, const dg_config *cfg, dg_metrics *m,
                      dg_analyzer **out, dg_error *err)
{
    *out = NULL;
    if (!cfg->store.url)
        return dg_error_set(err, DG_EINVAL, "no drift store configured (store.path)");
    dg_analyzer *a = calloc(1, sizeof *a);
    if (!a)
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    a->q = q;
    a->sc = cfg->store;
    a->sc.url = NULL;
    pthread_mutex_init(&a->mu, NULL);
    dg_store_opts so = {0, (unsigned)cfg->store.busy_timeout_ms, 0};
    int rc = dg_store_open(cfg->store.url, &so, &a->store, err);
    if (!rc)
        rc = dg_pipeline_new(cfg, a->store, m, &a->p, err);
    if (!rc) {
        /* Signals stay with the proxy's main thread (a signal landing here
         * would interrupt a store write or a transfer). */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        if (pthread_create(&a->thread, NULL, run, a))
            rc = dg_error_set(err, DG_ENOMEM, "cannot start the analyzer thread");
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (rc) {
        dg_pipeline_free(a->p);
        dg_store_close(a->store);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return rc;
    }
    *out = a;
    return 0;
}

void dg_analyzer_reconfigure(dg_analyzer *a, const dg_config *cfg)
{
    dg_config *c = explain_copy(cfg);
    if (!c) {
        dg_logf(DG_LOG_ERROR, "analyzer: out of memory taking the reloaded explain settings");
        return;
    }
    pthread_mutex_lock(&a->mu);
    dg_config_free(a->next_cfg);
    a->next_cfg = c;
    atomic_store(&a->have_next, 1);
    pthread_mutex_unlock(&a->mu);
}

void dg_analyzer_stop(dg_analyzer *a)
{
    if (!a)
        return;
    atomic_store(&a->stop, 1);
    pthread_join(a->thread, NULL);
    size_t left = dg_pipeline_pending(a->p);
    if (left)
        dg_logf(DG_LOG_ERROR, "drift store: %zu drift%s could not be written at shutdown", left,
                left == 1 ? "" : "s");
    dg_pipeline_free(a->p);
    dg_store_close(a->store);
    dg_config_free(a->next_cfg);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
