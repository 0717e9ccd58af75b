/* analyze/pipeline_internal.h: what pipeline.c and batcher.c share. */
#ifndef DG_ANALYZE_PIPELINE_INTERNAL_H
#define DG_ANALYZE_PIPELINE_INTERNAL_H

#include "analyze/analyze.h"
#include "analyze/explain.h"
#include "analyze/llm.h"

typedef struct api_state {
    char *name;
    dg_llm_conf conf;
    dg_llm_client *client;        /* NULL: heuristic only (or the client could not be made) */
    int client_failed;            /* logged once */
    int64_t last_batch_ms;        /* when the last batch was sent (or the pipeline started) */
    /* the batch in flight */
    dg_drift *batch;
    size_t n_batch;
    char *user;                   /* the prompt sent (for the repair request) */
    char *system;
    char *schema;
    int repairing;                /* the repair request is (to be) sent */
    char repair_why[600];         /* set: the repair request is still to be sent */
    int64_t next_check_ms;        /* idle: next look at the store's pending drift */
    dg_pipeline_api_stats st;     /* api/backend/model point into name/conf */
    int retired;                  /* gone from the config while a call was in flight: the
                                   * answer is dropped, the state freed once the call ends */
    struct api_state *next_retired;
    struct dg_pipeline *p;
} api_state;

struct dg_pipeline {
    dg_drift_agg *agg;
    dg_store *store;
    dg_spec_cache *specs;
    dg_llm_hub *hub;
    api_state **apis;             /* one allocation each: an in-flight call's callback
                                   * context stays valid across reloads */
    size_t n_apis;
    api_state *retired;           /* states waiting for their call to end */
    uint64_t max_pending;
    int last_error_code;          /* the last flush error logged (log once per kind) */
    dg_metrics *m;
    dg_metric *flushes, *pending, *fingerprints, *analyzed, *dropped, *explanations;
    uint64_t dropped_seen;
    unsigned max_batches;         /* per API, 0 = no limit */
};

int64_t dg__now_ms(void); /* CLOCK_REALTIME */
/* Frees retired states whose call has ended (all of them when force). */
void dg__sweep_retired(dg_pipeline *p, int force);
void dg__count_expl(dg_pipeline *p, const char *source, const char *result, uint64_t n);

#endif
