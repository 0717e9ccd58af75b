/* analyze/batcher.c: asking a model about drift, one batch per API at a
 * time.
 *
 * A batch is the API's pending drifts (no model explanation for their
 * current spec hash, not deferred), oldest first, sent when batch_size are
 * pending, when the oldest has waited batch_interval, when they already fill
 * the prompt's token estimate, or when forced (`driftgate explain`). An
 * answer that is not valid JSON for the explanation schema gets one repair
 * request; after that, or when the backend fails or refuses (circuit open,
 * token budget spent), the batch's drifts are deferred for
 * retry_failed_after and keep their heuristic explanations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/pipeline_internal.h"
#include "common/log.h"

/* How often an idle API looks at the store for pending drift. */
#define CHECK_EVERY_MS 1000

static void batch_done(api_state *a)
{
    dg_drifts_free(a->batch, a->n_batch);
    a->batch = NULL;
    a->n_batch = 0;
    free(a->user);
    free(a->system);
    a->user = a->system = NULL;
    a->repairing = 0;
    a->repair_why[0] = 0;
}

static void defer_batch(api_state *a, const dg_drift *d, size_t n, int64_t until)
{
    if (!n || !a->p->store)
        return;
    const char **fps = malloc(n * sizeof *fps);
    if (!fps)
        return;
    for (size_t i = 0; i < n; i++)
        fps[i] = d[i].fingerprint;
    dg_error e;
    if (dg_store_defer(a->p->store, fps, n, until, &e))
        dg_logf(DG_LOG_WARN, "explain: API \"%s\": cannot record the deferral: %s", a->name,
                e.msg);
    free((void *)fps);
}

static void fail_batch(api_state *a, const char *why)
{
    dg_pipeline *p = a->p;
    int64_t until = dg__now_ms() + (int64_t)a->conf.retry_failed_after_ms;
    dg_logf(DG_LOG_WARN, "explain: API \"%s\": %s batch of %zu drift%s failed: %s; the heuristic's "
            "explanations stay, asked again in %llu s", a->name,
            dg_llm_backend_name(a->conf.backend), a->n_batch, a->n_batch == 1 ? "" : "s", why,
            (unsigned long long)(a->conf.retry_failed_after_ms / 1000));
    defer_batch(a, a->batch, a->n_batch, until);
    dg__count_expl(p, "model", "failed", a->n_batch);
    a->st.failed += a->n_batch;
    snprintf(a->st.last_error, sizeof a->st.last_error, "%.290s", why);
    batch_done(a);
}

static void on_reply(void *ctx, const dg_llm_reply *r)
{
    api_state *a = ctx;
    dg_pipeline *p = a->p;
    if (!a->batch)
        return;
    if (a->retired) { /* the API changed under the call: nothing is stored */
        batch_done(a);
        return;
    }
    if (r->status != DG_LLM_OK) {
        fail_batch(a, r->error[0] ? r->error : r->outcome);
        return;
    }
    dg_explanation *ex = calloc(a->n_batch, sizeof *ex);
    if (!ex) {
        fail_batch(a, "out of memory");
        return;
    }
    size_t got = 0;
    char why[600];
    int rc = dg_explain_parse(r->text, a->batch, a->n_batch, dg_llm_backend_name(a->conf.backend),
                              r->model[0] ? r->model : a->conf.model, dg__now_ms(), ex, &got, why,
                              sizeof why);
    if (rc) {
        free(ex);
        if (!a->repairing) {
            /* one repair request, sent from the next explain step (not from
             * inside the client's callback) */
            a->repairing = 1;
            snprintf(a->repair_why, sizeof a->repair_why, "%s", why);
            return;
        }
        fail_batch(a, why);
        return;
    }
    size_t stored = 0;
    for (size_t i = 0; i < a->n_batch; i++) {
        if (!ex[i].classification)
            continue;
        dg_error e;
        if (!p->store || dg_store_put_explanation(p->store, &ex[i], &e))
            dg__count_expl(p, "model", "failed", 1);
        else
            stored++;
        dg_explanation_clear(&ex[i]);
    }
    free(ex);
    dg__count_expl(p, "model", "ok", stored);
    a->st.explained += stored;
    /* drifts the answer skipped: asked again later, not at once */
    if (got < a->n_batch) {
        dg_drift *left = calloc(a->n_batch - got, sizeof *left);
        size_t k = 0;
        for (size_t i = 0; left && i < a->n_batch; i++) {
            dg_explanation e;
            dg_error err;
            if (p->store && dg_store_get_explanation(p->store, a->batch[i].fingerprint,
                                                     a->batch[i].spec_hash ? a->batch[i].spec_hash : "",
                                                     &e, &err) == 0) {
                int model = e.source && !strcmp(e.source, "model");
                dg_explanation_clear(&e);
                if (model)
                    continue;
            }
            if (k < a->n_batch - got)
                memcpy(left[k++].fingerprint, a->batch[i].fingerprint, DG_FP_LEN + 1);
        }
        defer_batch(a, left, k, dg__now_ms() + (int64_t)a->conf.retry_failed_after_ms);
        free(left);
    }
    batch_done(a);
}

static int ensure_client(dg_pipeline *p, api_state *a)
{
    if (a->client)
        return 0;
    if (a->client_failed)
        return -1;
    dg_error e;
    if (!p->hub && !(p->hub = dg_llm_hub_new(p->m))) {
        a->client_failed = 1;
        dg_logf(DG_LOG_ERROR, "explain: cannot start the HTTP client (libcurl)");
        return -1;
    }
    if (dg_llm_client_new(p->hub, &a->conf, &a->client, &e)) {
        a->client_failed = 1;
        dg_logf(DG_LOG_ERROR, "explain: API \"%s\": %s backend unusable: %s; the heuristic "
                "explains its drift", a->name, dg_llm_backend_name(a->conf.backend), e.msg);
        return -1;
    }
    return 0;
}

/* Pending drifts of the API (at most batch_size) and, when they are due,
 * the prompt for them. *due = 0 when nothing should be sent yet. */
static int next_batch(dg_pipeline *p, api_state *a, int force, int *due)
{
    *due = 0;
    int64_t now = dg__now_ms();
    dg_drift *d = NULL;
    size_t n = 0;
    dg_error e;
    if (dg_store_pending(p->store, a->name, now, a->conf.batch_size, &d, &n, &e)) {
        dg_logf(DG_LOG_WARN, "explain: API \"%s\": cannot read pending drift: %s", a->name, e.msg);
        return -1;
    }
    if (!n)
        return 0;
    dg_buf sys = DG_BUF_INIT, user = DG_BUF_INIT;
    size_t taken = 0;
    if (dg_explain_prompt(a->name, d, n, p->specs, a->conf.max_prompt_tokens, &sys, &user,
                          &taken)) {
        dg_drifts_free(d, n);
        dg_buf_free(&sys);
        dg_buf_free(&user);
        return DG_ENOMEM;
    }
    *due = force || n >= a->conf.batch_size || taken < n ||
           now - a->last_batch_ms >= (int64_t)a->conf.batch_interval_ms;
    if (!*due) {
        dg_drifts_free(d, n);
        dg_buf_free(&sys);
        dg_buf_free(&user);
        return 0;
    }
    for (size_t i = taken; i < n; i++)
        dg_drift_clear(&d[i]);
    a->batch = d;
    a->n_batch = taken;
    a->system = sys.data;
    a->user = user.data;
    return 0;
}

static void send_batch(dg_pipeline *p, api_state *a)
{
    if (!a->schema && !(a->schema = dg_explain_model_schema()))
        return;
    dg_buf repair = DG_BUF_INIT;
    if (a->repairing && dg_explain_repair_prompt(a->user, a->repair_why, &repair)) {
        fail_batch(a, "out of memory");
        return;
    }
    dg_llm_request rq = {a->system, a->repairing ? repair.data : a->user, a->schema};
    a->last_batch_ms = dg__now_ms();
    if (!a->repairing)
        a->st.batches++;
    int rc = dg_llm_submit(a->client, &rq, on_reply, a);
    dg_buf_free(&repair);
    if (rc)
        fail_batch(a, "the client is busy");
    (void)p;
}

/* `explain` on an API without a model: the heuristic rewrites the
 * explanations of its pending drifts (after a spec change, say). */
static void heuristic_pending(dg_pipeline *p, api_state *a)
{
    dg_drift *d = NULL;
    size_t n = 0;
    dg_error e;
    int64_t now = dg__now_ms();
    if (dg_store_pending(p->store, a->name, now, 100000, &d, &n, &e)) {
        snprintf(a->st.last_error, sizeof a->st.last_error, "%.290s", e.msg);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        dg_explanation x;
        if (dg_heuristic_explain(&d[i], p->specs, now, &x))
            continue;
        if (!dg_store_put_explanation(p->store, &x, &e))
            a->st.heuristic++;
        dg_explanation_clear(&x);
    }
    dg__count_expl(p, "heuristic", "ok", a->st.heuristic);
    dg_drifts_free(d, n);
}

void dg_pipeline_limit_batches(dg_pipeline *p, unsigned per_api)
{
    p->max_batches = per_api;
}

size_t dg_pipeline_api_count(const dg_pipeline *p)
{
    return p->n_apis;
}

void dg_pipeline_api_stats_get(const dg_pipeline *p, size_t i, dg_pipeline_api_stats *out)
{
    const api_state *a = p->apis[i];
    *out = a->st;
    out->api = a->name;
    out->backend = dg_llm_backend_name(a->conf.backend);
    out->model = a->conf.backend == DG_LLM_HEURISTIC ? NULL : a->conf.model;
}

int dg_pipeline_explain(dg_pipeline *p, int force, int timeout_ms)
{
    int64_t now = dg__now_ms();
    int waiting = 0;
    dg__sweep_retired(p, 0);
    for (size_t i = 0; i < p->n_apis && p->store; i++) {
        api_state *a = p->apis[i];
        if (a->conf.backend == DG_LLM_HEURISTIC) {
            if (force)
                heuristic_pending(p, a);
            continue;
        }
        if (ensure_client(p, a))
            continue;
        if (dg_llm_busy(a->client))
            continue;
        if (a->batch && a->repairing && a->repair_why[0]) {
            send_batch(p, a); /* the repair request */
            a->repair_why[0] = 0;
            waiting++;
            continue;
        }
        if (a->batch) /* answered and handled, or refused at submit */
            continue;
        if (p->max_batches && a->st.batches >= p->max_batches)
            continue;
        if (!force && (now < a->next_check_ms || dg_llm_circuit_open(a->client)))
            continue;
        a->next_check_ms = now + CHECK_EVERY_MS;
        int due;
        if (next_batch(p, a, force, &due) || !due)
            continue;
        send_batch(p, a);
    }
    int busy = p->hub ? dg_llm_hub_run(p->hub, timeout_ms) : 0;
    /* a repair decided by a callback just now is sent at the next call */
    for (size_t i = 0; i < p->n_apis; i++)
        waiting += p->apis[i]->batch && p->apis[i]->repair_why[0];
    return busy + waiting;
}

int dg_pipeline_explain_dry_run(dg_pipeline *p, const char *api, dg_buf *out, dg_error *err)
{
    if (!p->store)
        return dg_error_set(err, DG_EINVAL, "no drift store");
    int64_t now = dg__now_ms();
    int any = 0;
    for (size_t i = 0; i < p->n_apis; i++) {
        api_state *a = p->apis[i];
        if (api && strcmp(api, a->name))
            continue;
        any = 1;
        dg_drift *d = NULL;
        size_t n = 0;
        dg_error e;
        if (dg_store_pending(p->store, a->name, now, a->conf.batch_size, &d, &n, &e)) {
            *err = e;
            return e.code ? e.code : DG_EIO;
        }
        if (!n) {
            dg_buf_printf(out, "# API %s: no drift waiting for an explanation\n\n", a->name);
            continue;
        }
        if (a->conf.backend == DG_LLM_HEURISTIC) {
            dg_buf_printf(out, "# API %s: heuristic explainer (no model configured), %zu drift%s:\n",
                          a->name, n, n == 1 ? "" : "s");
            for (size_t k = 0; k < n; k++) {
                dg_explanation x;
                if (dg_heuristic_explain(&d[k], p->specs, now, &x))
                    continue;
                dg_buf_printf(out, "%s %s (confidence %.2f): %s\n  patch: %s\n", x.fingerprint,
                              x.classification, x.confidence, x.cause, x.patch);
                dg_explanation_clear(&x);
            }
            dg_buf_putc(out, '\n');
            dg_drifts_free(d, n);
            continue;
        }
        dg_buf sys = DG_BUF_INIT, user = DG_BUF_INIT;
        size_t taken = 0;
        char *schema = dg_explain_model_schema();
        int rc = schema ? dg_explain_prompt(a->name, d, n, p->specs, a->conf.max_prompt_tokens,
                                            &sys, &user, &taken)
                        : DG_ENOMEM;
        if (!rc && ensure_client(p, a))
            rc = dg_error_set(err, DG_EINVAL, "API \"%s\": the %s backend cannot be used (see the "
                              "log line above)", a->name, dg_llm_backend_name(a->conf.backend));
        if (!rc) {
            dg_llm_request rq = {sys.data, user.data, schema};
            dg_buf_printf(out, "# API %s: %s, %zu of %zu pending drift%s in this request:\n",
                          a->name, dg_llm_backend_name(a->conf.backend), taken, n,
                          n == 1 ? "" : "s");
            rc = dg_llm_render(a->client, &rq, out);
            dg_buf_putc(out, '\n');
        }
        free(schema);
        dg_buf_free(&sys);
        dg_buf_free(&user);
        dg_drifts_free(d, n);
        if (rc)
            return rc;
    }
    if (api && !any)
        return dg_error_set(err, DG_ENOTFOUND, "no API named \"%s\" in the config", api);
    return 0;
}
