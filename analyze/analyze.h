/* analyze/analyze.h: the analysis pipeline.
 *
 * anomalies -> dg_drift_agg (dedupe in memory) -> every flush_interval: one
 * store transaction with the deltas, plus a heuristic explanation for each
 * drift the store had not explained for its spec hash -> per API, the
 * explain batcher (analyze/explain.h) asks the configured Gemma 4 backend
 * about new or changed drifts (or leaves the heuristic's explanation when
 * the API has no backend).
 *
 * dg_pipeline is that pipeline without a thread (replay, explain, tests);
 * dg_analyzer runs one on its own thread, draining the proxy's anomaly
 * queue, so nothing here ever runs on a proxy event loop. A store that
 * cannot be written (read-only, corrupt, disk full, locked) does not stop
 * anything: the deltas are kept and written at the next flush; beyond
 * max_pending distinct drifts new ones are dropped and counted
 * (driftgate_drift_dropped_total); the error is logged
 * once per kind of failure, not once per flush.
 *
 * Metrics (on the registry given):
 *   driftgate_drift_flushes_total{result}        ok | error
 *   driftgate_drift_pending                      distinct drifts not yet stored
 *   driftgate_drift_fingerprints_total           new drifts stored
 *   driftgate_drift_dropped_total                anomalies of new drifts dropped (too many pending)
 *   driftgate_anomalies_analyzed_total           findings aggregated (an anomaly of n counts n)
 *   driftgate_explanations_total{source,result}  heuristic|model, ok|failed
 * plus the LLM client's (analyze/llm.h). */
#ifndef DG_ANALYZE_ANALYZE_H
#define DG_ANALYZE_ANALYZE_H

#include <stdint.h>

#include "analyze/drift.h"
#include "analyze/store.h"
#include "common/anomaly.h"
#include "common/buf.h"
#include "common/metrics.h"
#include "policies/policies.h"

typedef struct dg_pipeline dg_pipeline;

/* cfg is borrowed for the call (the explain settings of its APIs and the
 * store settings are copied). store is borrowed and may be NULL (then flush
 * only counts). m may be NULL. */
int dg_pipeline_new(const dg_config *cfg, dg_store *store, dg_metrics *m, dg_pipeline **out,
                    dg_error *err);
void dg_pipeline_free(dg_pipeline *p);
/* Takes the explain settings of a reloaded config (borrowed for the call). */
int dg_pipeline_reconfigure(dg_pipeline *p, const dg_config *cfg, dg_error *err);
/* Aggregates one anomaly (borrowed). 0, or DG_ELIMIT when dropped. */
int dg_pipeline_add(dg_pipeline *p, const dg_anomaly *a);
/* Writes what is pending (one transaction) and the heuristic explanations
 * of drifts new to the store. On a store error the deltas are kept for the
 * next flush and the error is returned. */
int dg_pipeline_flush(dg_pipeline *p, dg_error *err);
/* Runs due explain batches (model backends): non-blocking, drives the LLM
 * hub for at most timeout_ms. force: run a batch for every API with
 * anything pending now, whatever its size and age (and for an API without a
 * model, rewrite the heuristic explanations of its pending drifts). Returns
 * the number of requests still in flight or waiting (a repair to send). */
int dg_pipeline_explain(dg_pipeline *p, int force, int timeout_ms);
/* `explain --dry-run`: appends, for each API (api NULL = all) with pending
 * drifts, exactly the request its backend would be sent first (secrets
 * shown as "***"), or for an API without a model the explanations the
 * heuristic would write. Nothing is sent or stored. DG_ENOTFOUND: no such
 * API. */
int dg_pipeline_explain_dry_run(dg_pipeline *p, const char *api, dg_buf *out, dg_error *err);
/* At most this many model batches per API from now on (0 = no limit):
 * `driftgate explain` runs one batch now. */
void dg_pipeline_limit_batches(dg_pipeline *p, unsigned per_api);
/* What the explain side did, per API (index in the config's order). */
typedef struct dg_pipeline_api_stats {
    const char *api;
    const char *backend;          /* "heuristic", "gemini", ... */
    const char *model;            /* NULL for heuristic */
    unsigned batches;             /* model requests started (repairs not counted) */
    uint64_t explained;           /* explanations stored by the model */
    uint64_t heuristic;           /* by the heuristic (`explain` on a heuristic API) */
    uint64_t failed;              /* drifts of failed batches (deferred) */
    char last_error[300];
} dg_pipeline_api_stats;
size_t dg_pipeline_api_count(const dg_pipeline *p);
void dg_pipeline_api_stats_get(const dg_pipeline *p, size_t i, dg_pipeline_api_stats *out);
uint64_t dg_pipeline_dropped(const dg_pipeline *p);
size_t dg_pipeline_pending(const dg_pipeline *p);

typedef struct dg_analyzer dg_analyzer;

/* Starts the analyzer thread on q (borrowed: it must outlive the
 * analyzer). Opens the store named by cfg->store (errors: returned, nothing
 * started). */
int dg_analyzer_start(dg_anomaly_queue *q, const dg_config *cfg, dg_metrics *m,
                      dg_analyzer **out, dg_error *err);
/* Passes a reloaded config to the thread (applied before its next batch). */
void dg_analyzer_reconfigure(dg_analyzer *a, const dg_config *cfg);
/* Drains q (the caller has closed it), flushes a last time, stops the
 * thread and frees everything. LLM requests in flight are abandoned (their
 * drifts stay pending in the store). */
void dg_analyzer_stop(dg_analyzer *a);

#endif
