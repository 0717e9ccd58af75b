/* analyze/llm.c: the LLM hub and clients (analyze/llm.h): one libcurl multi
 * handle per hub, one easy handle per attempt, and per client the call state
 * machine with its timers (retry backoff, 429 pause, rate-limit slot,
 * circuit cooldown), all on CLOCK_MONOTONIC and driven by dg_llm_hub_run.
 * Wire formats are in llm_wire.c, defaults and secrets in llm_secret.c; the
 * decisions llm.h leaves open are listed in llm_internal.h. */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "analyze/llm_internal.h"
#include "common/log.h"

#ifndef DG_VERSION
#define DG_VERSION "dev"
#endif

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_ready;

static void curl_init_once(void)
{
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *backend(const dg_llm_client *c)
{
    return dg_llm_backend_name(c->conf.backend);
}

/* ---- metrics ---- */

static void count(dg_llm_client *c, const char *outcome)
{
    const char *v[] = {backend(c), outcome};
    dg_series_inc(dg_metric_series(c->hub->m_requests, v));
}

static void count_tokens(dg_llm_client *c, uint64_t prompt, uint64_t output)
{
    const char *p[] = {backend(c), "prompt"}, *o[] = {backend(c), "output"};
    if (prompt)
        dg_series_add(dg_metric_series(c->hub->m_tokens, p), prompt);
    if (output)
        dg_series_add(dg_metric_series(c->hub->m_tokens, o), output);
}

static void circuit_gauge(dg_llm_client *c, int64_t delta)
{
    const char *v[] = {backend(c)};
    dg_series_gauge_add(dg_metric_series(c->hub->m_circuit, v), delta);
}

/* ---- hub ---- */

dg_llm_hub *dg_llm_hub_new(dg_metrics *m)
{
    pthread_once(&curl_once, curl_init_once);
    if (!curl_ready)
        return NULL;
    dg_llm_hub *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    if (!(h->multi = curl_multi_init())) {
        free(h);
        return NULL;
    }
    h->jitter_max_ms = DG_LLM_DEFAULT_JITTER_MS;
    h->rng = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ (uint64_t)(uintptr_t)h;
    if (!h->rng)
        h->rng = 0x9e3779b97f4a7c15ull;
    if (m) {
        static const char *const l_req[] = {"backend", "outcome"};
        static const char *const l_tok[] = {"backend", "direction"};
        static const char *const l_circ[] = {"backend"};
        h->m_requests = dg_metrics_counter(m, "driftgate_llm_requests_total",
                                           "LLM HTTP attempts by outcome, plus calls refused "
                                           "(circuit_open, budget).", l_req, 2);
        h->m_tokens = dg_metrics_counter(m, "driftgate_llm_tokens_total",
                                         "LLM tokens reported by the backend.", l_tok, 2);
        h->m_circuit = dg_metrics_gauge(m, "driftgate_llm_circuit_open",
                                        "1 while the backend's circuit breaker is open.", l_circ,
                                        1);
    }
    return h;
}

void dg_llm_hub_set_jitter(dg_llm_hub *h, int64_t max_ms)
{
    h->jitter_max_ms = max_ms < 0 ? 0 : max_ms;
}

void dg_llm_hub_add_days(dg_llm_hub *h, int64_t days)
{
    h->day_offset += days;
}

/* Ends the attempt in flight (if any): the easy handle and its buffers. */
static void release_attempt(dg_llm_client *c)
{
    dg_llm_call *k = &c->call;
    if (k->easy) {
        curl_multi_remove_handle(c->hub->multi, k->easy);
        curl_easy_cleanup(k->easy);
        k->easy = NULL;
    }
    curl_slist_free_all(k->headers);
    k->headers = NULL;
    dg_llm_secret_free(k->body);   /* bodies hold no secret, but may hold data */
    k->body = NULL;
    dg_buf_free(&k->resp);
    k->too_large = 0;
    k->retry_after[0] = k->content_type[0] = k->curl_err[0] = 0;
}

static void call_clear(dg_llm_client *c)
{
    release_attempt(c);
    dg_llm_call *k = &c->call;
    free(k->system);
    free(k->user);
    free(k->schema_text);
    json_decref(k->schema);
    dg_llm_reply_clear(&k->reply);
    memset(k, 0, sizeof *k);
    c->state = DG_LLM_IDLE;
}

void dg_llm_hub_free(dg_llm_hub *h)
{
    if (!h)
        return;
    dg_llm_client *c = h->clients;
    while (c) {
        dg_llm_client *next = c->next;
        call_clear(c);
        if (c->circuit != DG_LLM_CLOSED)
            circuit_gauge(c, -1);
        dg_llm_secret_free(c->secret);
        dg_llm_conf_clear(&c->conf);
        free(c);
        c = next;
    }
    curl_multi_cleanup(h->multi);
    free(h);
}

/* ---- clients ---- */

int dg_llm_client_new(dg_llm_hub *h, const dg_llm_conf *conf, dg_llm_client **out,
                      dg_error *err)
{
    if (out)
        *out = NULL;
    if (!h || !conf || !out)
        return dg_error_set(err, DG_EINVAL, "dg_llm_client_new: NULL argument");
    if (conf->backend <= DG_LLM_HEURISTIC || conf->backend > DG_LLM_OPENAI)
        return dg_error_set(err, DG_EINVAL, "backend %s does not call a model",
                            dg_llm_backend_name(conf->backend));
    dg_llm_client *c = calloc(1, sizeof *c);
    if (!c)
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    if (dg_llm_conf_copy(&c->conf, conf)) {
        free(c);
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    c->hub = h;
    int rc = dg_llm_conf_fill(&c->conf, err);
    rc = rc ? rc : dg_llm_secret_load(c, err);
    if (rc) {
        dg_llm_secret_free(c->secret);
        dg_llm_conf_clear(&c->conf);
        free(c);
        return rc;
    }
    c->next = h->clients;
    h->clients = c;
    /* the backend's series exist (at 0) from the start: dashboards and
     * alerts see "closed", not "no data" */
    circuit_gauge(c, 0);
    *out = c;
    return 0;
}

const dg_llm_conf *dg_llm_client_conf(const dg_llm_client *c)
{
    return c ? &c->conf : NULL;
}

int dg_llm_busy(const dg_llm_client *c)
{
    return c && c->state != DG_LLM_IDLE;
}

int dg_llm_circuit_open(const dg_llm_client *c)
{
    return c && c->circuit == DG_LLM_OPEN && now_ms() < c->circuit_until;
}

void dg_llm_reply_clear(dg_llm_reply *r)
{
    if (!r)
        return;
    free(r->text);
    memset(r, 0, sizeof *r);
}

/* ---- limits ---- */

static int64_t utc_day(const dg_llm_hub *h)
{
    return (int64_t)time(NULL) / 86400 + h->day_offset;
}

static int budget_exhausted(dg_llm_client *c)
{
    int64_t d = utc_day(c->hub);
    if (d != c->budget_day) {
        c->budget_day = d;
        c->budget_used = 0;
    }
    return c->conf.daily_token_budget && c->budget_used >= c->conf.daily_token_budget;
}

static void budget_spend(dg_llm_client *c, uint64_t n)
{
    budget_exhausted(c);   /* rolls the day over */
    c->budget_used += n;
}

/* The circuit after a call ends (not after a refusal). */
static void circuit_after(dg_llm_client *c, dg_llm_status st, const char *outcome)
{
    if (!strcmp(outcome, "budget"))
        return;   /* the backend was not asked: no news about its health */
    if (st == DG_LLM_OK || !strcmp(outcome, "blocked") || !strcmp(outcome, "truncated")) {
        if (c->circuit != DG_LLM_CLOSED) {
            circuit_gauge(c, -1);
            dg_logf(DG_LOG_INFO, "llm %s: circuit closed", backend(c));
        }
        c->circuit = DG_LLM_CLOSED;
        c->failures = 0;
        return;
    }
    c->failures++;
    if (c->circuit == DG_LLM_HALF_OPEN ||
        (c->conf.circuit_failures && c->failures >= c->conf.circuit_failures)) {
        if (c->circuit == DG_LLM_CLOSED)
            circuit_gauge(c, +1);
        c->circuit = DG_LLM_OPEN;
        c->circuit_until = now_ms() + (int64_t)c->conf.circuit_cooldown_ms;
        dg_logf(DG_LOG_WARN, "llm %s: circuit open for %llu ms after %u consecutive failed calls",
                backend(c), (unsigned long long)c->conf.circuit_cooldown_ms, c->failures);
    }
}

/* Ends the call: the client is idle again, then done is called. */
static void finish(dg_llm_client *c, dg_llm_status st)
{
    dg_llm_call *k = &c->call;
    k->reply.status = st;
    if (st == DG_LLM_OK) {
        k->reply.error[0] = 0;
    } else {
        free(k->reply.text);
        k->reply.text = NULL;
    }
    if (st != DG_LLM_REFUSED)
        circuit_after(c, st, k->reply.outcome);
    dg_llm_reply reply = k->reply;
    memset(&k->reply, 0, sizeof k->reply);
    dg_llm_done_fn done = k->done;
    void *ctx = k->ctx;
    call_clear(c);
    c->hub->completed++;
    if (done)
        done(ctx, &reply);
    dg_llm_reply_clear(&reply);
}

static void stop_for_budget(dg_llm_client *c)
{
    dg_llm_call *k = &c->call;
    snprintf(k->reply.outcome, sizeof k->reply.outcome, "budget");
    snprintf(k->reply.error, sizeof k->reply.error,
             "%s: daily token budget of %llu tokens exhausted (%llu used today, UTC)", backend(c),
             (unsigned long long)c->conf.daily_token_budget,
             (unsigned long long)c->budget_used);
    count(c, "budget");
    finish(c, k->reply.attempts ? DG_LLM_FAILED : DG_LLM_REFUSED);
}

/* ---- attempts ---- */

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    dg_llm_call *k = ud;
    size_t len = sz * n;
    if (k->resp.len + len > DG_LLM_MAX_RESPONSE) {
        k->too_large = 1;
        return 0;
    }
    return dg_buf_append(&k->resp, p, len) ? 0 : len;
}

static void header_value(const char *p, size_t len, size_t name_len, char *out, size_t cap)
{
    p += name_len + 1;
    len -= name_len + 1;
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
        len--;
    if (len >= cap)
        len = cap - 1;
    memcpy(out, p, len);
    out[len] = 0;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    dg_llm_call *k = ud;
    size_t len = sz * n;
    if (len >= 5 && !strncasecmp(p, "HTTP/", 5)) {
        /* a new response (after 100 Continue): forget the last one's */
        k->retry_after[0] = k->content_type[0] = 0;
    } else if (len > 12 && !strncasecmp(p, "retry-after:", 12)) {
        header_value(p, len, 11, k->retry_after, sizeof k->retry_after);
    } else if (len > 13 && !strncasecmp(p, "content-type:", 13)) {
        header_value(p, len, 12, k->content_type, sizeof k->content_type);
    }
    return len;
}

static void transport_fail(dg_llm_client *c, const char *what);

static void start_attempt(dg_llm_client *c)
{
    dg_llm_call *k = &c->call;
    dg_llm_wire w;
    if (dg_llm_wire_build(c, k->system, k->user, k->schema, k->schema_text, &w)) {
        transport_fail(c, "out of memory building the request");
        return;
    }
    CURL *e = curl_easy_init();
    k->body = json_dumps(w.body, JSON_COMPACT);
    struct curl_slist *hl = curl_slist_append(NULL, "Expect:");
    for (unsigned i = 0; hl && i < w.n_hdr; i++) {
        dg_buf line = DG_BUF_INIT;
        struct curl_slist *nl = NULL;
        if (!dg_buf_printf(&line, "%s: %s", w.hdr[i].name, w.hdr[i].value))
            nl = curl_slist_append(hl, line.data);
        if (line.data)
            dg_llm_secret_free(line.data);
        if (!nl) {
            curl_slist_free_all(hl);
            hl = NULL;
        } else {
            hl = nl;
        }
    }
    k->headers = hl;
    int ok = e && k->body && hl;
    if (ok) {
        k->easy = e;
        curl_easy_setopt(e, CURLOPT_URL, w.url);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, k->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(k->body));
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
        curl_easy_setopt(e, CURLOPT_USERAGENT, "driftgate/" DG_VERSION);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, k);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, k);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, k->curl_err);
        curl_easy_setopt(e, CURLOPT_PRIVATE, c);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->conf.connect_timeout_ms);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->conf.timeout_ms);
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
        /* verification is always on; ca_file only replaces the trust store */
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
        if (c->conf.ca_file)
            curl_easy_setopt(e, CURLOPT_CAINFO, c->conf.ca_file);
        ok = curl_multi_add_handle(c->hub->multi, e) == CURLM_OK;
        if (!ok)
            k->easy = NULL;
    }
    dg_llm_wire_free(&w);
    if (!ok) {
        if (e && !k->easy)
            curl_easy_cleanup(e);
        transport_fail(c, "cannot start the transfer");
        return;
    }
    c->state = DG_LLM_INFLIGHT;
}

/* Starts the next attempt when its time, the 429 pause and the rate-limit
 * slot allow; otherwise (re)arms the timer. */
static void try_start(dg_llm_client *c, int64_t now)
{
    dg_llm_call *k = &c->call;
    if (budget_exhausted(c)) {
        stop_for_budget(c);
        return;
    }
    int64_t t = k->wake_at;
    if (c->paused_until > t)
        t = c->paused_until;
    if (c->conf.requests_per_minute && c->next_slot > t)
        t = c->next_slot;
    if (t > now) {
        k->wake_at = t;
        c->state = DG_LLM_WAITING;
        return;
    }
    unsigned rpm = c->conf.requests_per_minute;
    if (rpm)
        c->next_slot = now + (60000 + rpm - 1) / rpm;
    start_attempt(c);
}

static int64_t jitter(dg_llm_hub *h)
{
    if (h->jitter_max_ms <= 0)
        return 0;
    h->rng ^= h->rng << 13;
    h->rng ^= h->rng >> 7;
    h->rng ^= h->rng << 17;
    return (int64_t)(h->rng % (uint64_t)(h->jitter_max_ms + 1));
}

static int64_t backoff(const dg_llm_conf *k, unsigned n)
{
    uint64_t d = k->backoff_initial_ms;
    for (unsigned i = 1; i < n && d < k->backoff_max_ms; i++)
        d *= 2;
    if (d > k->backoff_max_ms)
        d = k->backoff_max_ms;
    return d > (uint64_t)INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)d;
}

static void schedule(dg_llm_client *c, int64_t at)
{
    c->call.wake_at = at;
    c->state = DG_LLM_WAITING;
}

/* After one attempt: the result is counted; then success, an immediate
 * retry (JSON-mode fallback, vertex token refresh), a retry after a wait,
 * or failure. */
static void attempt_done(dg_llm_client *c, long st, dg_llm_result *r, const char *retry_after)
{
    dg_llm_call *k = &c->call;
    dg_llm_reply *rp = &k->reply;
    rp->attempts++;
    rp->http_status = (int)st;
    rp->prompt_tokens += r->prompt_tokens;
    rp->output_tokens += r->output_tokens;
    count_tokens(c, r->prompt_tokens, r->output_tokens);
    budget_spend(c, r->prompt_tokens + r->output_tokens);
    count(c, r->outcome);
    snprintf(rp->outcome, sizeof rp->outcome, "%s", r->outcome);
    if (r->model[0])
        snprintf(rp->model, sizeof rp->model, "%s", r->model);
    dg_llm_scrub(r->error, sizeof r->error, c->secret);
    snprintf(rp->error, sizeof rp->error, "%s", r->error);
    if (!strcmp(r->outcome, "ok")) {
        rp->text = r->text;
        r->text = NULL;
        finish(c, DG_LLM_OK);
        return;
    }
    int64_t now = now_ms();
    if (r->not_enabled && c->conf.json_mode != DG_JSON_MODE_SCHEMA && !c->compat) {
        c->compat = 1;
        k->fell_back = 1;
        dg_logf(DG_LOG_WARN, "llm %s: model %s refused JSON mode or system instructions; "
                "switching to prompt-only JSON", backend(c), c->conf.model);
        schedule(c, now);
        return;
    }
    if (c->conf.backend == DG_LLM_VERTEX && st == 401 && !k->token_refreshed) {
        k->token_refreshed = 1;
        char *old = c->secret;
        c->secret = NULL;
        dg_error e = {0};
        if (dg_llm_secret_load(c, &e)) {
            c->secret = old;
            snprintf(rp->error, sizeof rp->error, "vertex: HTTP 401, and re-reading the token "
                     "failed: %.400s", e.msg);
            finish(c, DG_LLM_FAILED);
            return;
        }
        dg_llm_secret_free(old);
        schedule(c, now);
        return;
    }
    int64_t wait = -1;
    if (r->retriable || st == 429) {
        int64_t server = dg_llm_parse_retry_after(retry_after, (int64_t)time(NULL));
        if (r->retry_delay_ms > server)
            server = r->retry_delay_ms;
        if (server > DG_LLM_MAX_SERVER_WAIT_MS)
            server = DG_LLM_MAX_SERVER_WAIT_MS;
        wait = backoff(&c->conf, k->counted + 1);
        if (server > wait)
            wait = server;
        wait += jitter(c->hub);
        if (st == 429 && now + wait > c->paused_until)
            c->paused_until = now + wait;   /* the whole client waits, not one call */
    }
    k->counted++;
    if (r->retriable && k->counted < c->conf.max_attempts) {
        schedule(c, now + wait);
        return;
    }
    finish(c, DG_LLM_FAILED);
}

static void transport_fail(dg_llm_client *c, const char *what)
{
    release_attempt(c);
    dg_llm_result r;
    memset(&r, 0, sizeof r);
    r.retry_delay_ms = -1;
    r.outcome = "transport_error";
    snprintf(r.error, sizeof r.error, "%s: %s", backend(c), what);
    /* a local failure (out of memory): not retried (r.retriable is 0) */
    attempt_done(c, 0, &r, NULL);
    dg_llm_result_clear(&r);
}

static void on_transfer_done(dg_llm_client *c, CURLcode cc)
{
    dg_llm_call *k = &c->call;
    long st = 0;
    curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &st);
    dg_llm_result r;
    memset(&r, 0, sizeof r);
    r.retry_delay_ms = -1;
    if (cc == CURLE_OK) {
        dg_llm_wire_parse(c, st, k->resp.data, k->resp.len, k->content_type, &r);
    } else if (k->too_large) {
        r.outcome = "bad_response";
        snprintf(r.error, sizeof r.error, "%s: the answer is larger than %u MiB", backend(c),
                 DG_LLM_MAX_RESPONSE >> 20);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        r.outcome = "timeout";
        r.retriable = 1;
        snprintf(r.error, sizeof r.error, "%s: no complete answer within %llu ms%s", backend(c),
                 (unsigned long long)c->conf.timeout_ms,
                 st ? " (headers received)" : "");
    } else {
        r.outcome = "transport_error";
        r.retriable = 1;
        snprintf(r.error, sizeof r.error, "%s: %s%s%s", backend(c), curl_easy_strerror(cc),
                 k->curl_err[0] ? ": " : "", k->curl_err);
    }
    char retry_after[sizeof k->retry_after];
    memcpy(retry_after, k->retry_after, sizeof retry_after);
    release_attempt(c);
    attempt_done(c, st, &r, retry_after);
    dg_llm_result_clear(&r);
}

/* ---- calls ---- */

static void refuse(dg_llm_client *c, const char *outcome)
{
    snprintf(c->call.reply.outcome, sizeof c->call.reply.outcome, "%s", outcome);
    count(c, outcome);
    finish(c, DG_LLM_REFUSED);
}

static char *dup_or_null(const char *s, int *fail)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *fail = 1;
    return d;
}

int dg_llm_submit(dg_llm_client *c, const dg_llm_request *rq, dg_llm_done_fn done, void *ctx)
{
    if (!c || !rq || c->state != DG_LLM_IDLE)
        return DG_EINVAL;
    dg_llm_call *k = &c->call;
    memset(k, 0, sizeof *k);
    if (rq->schema_json) {
        if (!(k->schema = json_loads(rq->schema_json, 0, NULL)))
            return DG_EINVAL;
        if (!(k->schema_text = json_dumps(k->schema, JSON_COMPACT))) {
            call_clear(c);
            return DG_ENOMEM;
        }
    }
    int oom = 0;
    k->system = dup_or_null(rq->system, &oom);
    k->user = dup_or_null(rq->user, &oom);
    if (oom) {
        call_clear(c);
        return DG_ENOMEM;
    }
    k->done = done;
    k->ctx = ctx;
    snprintf(k->reply.model, sizeof k->reply.model, "%s", c->conf.model);
    c->state = DG_LLM_WAITING;
    int64_t now = now_ms();
    if (c->circuit == DG_LLM_OPEN) {
        if (now < c->circuit_until) {
            snprintf(k->reply.error, sizeof k->reply.error,
                     "%s: circuit open after %u consecutive failed calls; next try in %lld ms",
                     backend(c), c->failures, (long long)(c->circuit_until - now));
            refuse(c, "circuit_open");
            return 0;
        }
        c->circuit = DG_LLM_HALF_OPEN;   /* this call is the probe */
    }
    if (budget_exhausted(c)) {
        stop_for_budget(c);
        return 0;
    }
    k->wake_at = now;
    try_start(c, now);
    return 0;
}

/* ---- the loop ---- */

static void run_timers(dg_llm_hub *h)
{
    int64_t now = now_ms();
    for (dg_llm_client *c = h->clients; c; c = c->next)
        if (c->state == DG_LLM_WAITING && c->call.wake_at <= now)
            try_start(c, now);
}

static int64_t next_timer(const dg_llm_hub *h)
{
    int64_t t = -1;
    for (const dg_llm_client *c = h->clients; c; c = c->next)
        if (c->state == DG_LLM_WAITING && (t < 0 || c->call.wake_at < t))
            t = c->call.wake_at;
    return t;
}

static int in_progress(const dg_llm_hub *h)
{
    int n = 0;
    for (const dg_llm_client *c = h->clients; c; c = c->next)
        n += c->state != DG_LLM_IDLE;
    return n;
}

static void read_messages(dg_llm_hub *h)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode cc = msg->data.result;
        dg_llm_client *c = NULL;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&c);
        if (c && c->call.easy == e)
            on_transfer_done(c, cc);
    }
}

int dg_llm_hub_run(dg_llm_hub *h, int timeout_ms)
{
    if (!h)
        return 0;
    h->completed = 0;
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (;;) {
        run_timers(h);
        int running;
        curl_multi_perform(h->multi, &running);
        read_messages(h);
        run_timers(h);   /* immediate retries scheduled just now */
        if (h->completed || !in_progress(h))
            break;
        int64_t now = now_ms();
        if (now >= deadline)
            break;
        int64_t wait = deadline - now, next = next_timer(h);
        if (next >= 0 && next - now < wait)
            wait = next > now ? next - now : 0;
        if (wait > INT_MAX)
            wait = INT_MAX;
        if (wait > 0)
            curl_multi_poll(h->multi, NULL, 0, (int)wait, NULL);
    }
    return in_progress(h);
}

struct complete_box {
    int done;
    dg_llm_reply *out;
};

static void complete_done(void *ctx, const dg_llm_reply *r)
{
    struct complete_box *b = ctx;
    *b->out = *r;
    /* the reply is the hub's local; the text moves to the caller */
    ((dg_llm_reply *)r)->text = NULL;
    b->done = 1;
}

int dg_llm_complete(dg_llm_client *c, const dg_llm_request *rq, dg_llm_reply *out)
{
    if (!out)
        return DG_EINVAL;
    memset(out, 0, sizeof *out);
    struct complete_box b = {0, out};
    int rc = dg_llm_submit(c, rq, complete_done, &b);
    if (rc)
        return rc;
    while (!b.done)
        dg_llm_hub_run(c->hub, 1000);
    return 0;
}
