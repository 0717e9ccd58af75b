/* analyze/llm.h: asking Gemma 4 for one JSON answer, over four wire formats.
 *
 * A dg_llm_hub owns one libcurl multi handle and is driven by one thread (the
 * analyzer's): dg_llm_hub_run performs transfers and timers for at most
 * timeout_ms and returns, so the thread keeps flushing drifts to the store
 * while a request is in flight. Each dg_llm_client is one configured backend
 * (policies.h dg_llm_conf) with at most one call in flight:
 *
 *   - wire formats (../shared/docs/llm-backends.md): gemini
 *     (POST {endpoint}/v1beta/models/{model}:generateContent, x-goog-api-key),
 *     vertex (POST {endpoint}/v1/projects/{p}/locations/{l}/publishers/google/
 *     models/{model}:generateContent, Authorization: Bearer), ollama
 *     (POST {endpoint}/api/chat, stream false, format = schema, options
 *     temperature/num_ctx/num_predict/seed), openai (POST {endpoint}/v1/chat/
 *     completions, response_format json_schema, optional Bearer key;
 *     chat_template_kwargs.enable_thinking false);
 *   - JSON mode: schema-constrained where asked (json_mode schema/auto); in
 *     auto, a gemini/vertex 400 whose message says "is not enabled for
 *     models/" switches the client to prompt-only for good (system text
 *     folded into the user turn, no responseMimeType/schema) and the same
 *     call is retried at once;
 *   - retries: transport errors, 408, 429, 500, 502, 503, 504 (vertex: 401
 *     once, after re-reading the token) up to max_attempts, waiting
 *     max(Retry-After (seconds or HTTP-date), RetryInfo.retryDelay,
 *     backoff_initial * 2^(attempt-1) capped at backoff_max) + up to 1 s
 *     jitter; a 429 pauses the whole client, not one call; never 400/401/
 *     403/404;
 *   - a requests-per-minute limit (an attempt waits for a slot) and a daily
 *     token budget (UTC day; exhausted: calls fail with outcome "budget"
 *     until the next day);
 *   - a circuit breaker: circuit_failures consecutive failed calls open it
 *     for circuit_cooldown; while open, submits fail at once with outcome
 *     "circuit_open"; after the cooldown one call is let through (half-open);
 *   - replies: the answer text (gemini/vertex: candidates[0] parts' text,
 *     thought parts skipped; ollama: message.content; openai:
 *     choices[0].message.content, never reasoning_content), the finish
 *     reason, token counts; a blocked prompt, a safety stop, a truncated
 *     answer (MAX_TOKENS / length) and an error body that is not JSON are
 *     failures with a clear message, never a crash.
 *
 * Metrics (registered on the registry given to the hub):
 *   driftgate_llm_requests_total{backend,outcome}: one per HTTP attempt;
 *     outcome ok | rate_limited | server_error | client_error | auth_error |
 *     timeout | transport_error | blocked | truncated | bad_response, plus
 *     one per refused call: circuit_open | budget
 *   driftgate_llm_tokens_total{backend,direction}: direction prompt | output
 *   driftgate_llm_circuit_open{backend}: 1 while open
 *
 * Secrets (API keys, tokens) are read when the client is made (and the
 * vertex token again on a 401); they never appear in errors, logs or
 * dg_llm_render output (shown as "***"). Not thread-safe: one thread drives
 * a hub and its clients. */
#ifndef DG_ANALYZE_LLM_H
#define DG_ANALYZE_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/metrics.h"
#include "policies/policies.h"

typedef struct dg_llm_hub dg_llm_hub;
typedef struct dg_llm_client dg_llm_client;

/* m may be NULL (no metrics). NULL on ENOMEM / curl failure. */
dg_llm_hub *dg_llm_hub_new(dg_metrics *m);
/* Aborts calls in flight (their callbacks are not called) and frees every
 * client of the hub. */
void dg_llm_hub_free(dg_llm_hub *h);
/* Performs transfers and due timers, calling done callbacks, waiting for
 * activity at most timeout_ms. Returns the number of calls still in
 * progress (including those waiting for a retry or a rate-limit slot). */
int dg_llm_hub_run(dg_llm_hub *h, int timeout_ms);

/* A client for conf (copied). Reads the secret it needs now: a missing key
 * or token is DG_EINVAL with a message naming the variable/file (never the
 * value). Owned by the hub. */
int dg_llm_client_new(dg_llm_hub *h, const dg_llm_conf *conf, dg_llm_client **out,
                      dg_error *err);
const dg_llm_conf *dg_llm_client_conf(const dg_llm_client *c);

typedef struct dg_llm_request {
    const char *system;           /* instructions (system role / systemInstruction) */
    const char *user;             /* the prompt */
    const char *schema_json;      /* JSON Schema text the answer must match (for
                                   * constrained output; NULL = free text) */
} dg_llm_request;

typedef enum dg_llm_status {
    DG_LLM_OK = 0,                /* text holds the answer (finish reason STOP / stop) */
    DG_LLM_FAILED,                /* every attempt failed or the failure is not retriable */
    DG_LLM_REFUSED                /* not sent: circuit open or budget exhausted */
} dg_llm_status;

typedef struct dg_llm_reply {
    dg_llm_status status;
    char *text;                   /* owned; NULL unless OK */
    char outcome[32];             /* last attempt's metric outcome */
    int http_status;              /* last attempt's (0 when none) */
    unsigned attempts;
    uint64_t prompt_tokens, output_tokens; /* summed over attempts */
    char model[128];              /* modelVersion / model reported, else the configured id */
    char error[512];              /* why, when not OK: status, error.status, message (no secrets) */
} dg_llm_reply;
void dg_llm_reply_clear(dg_llm_reply *r);

typedef void (*dg_llm_done_fn)(void *ctx, const dg_llm_reply *reply);

/* Starts a call (the request's strings are copied). done is called from
 * dg_llm_hub_run (or at once, from here, when refused: circuit open or
 * budget). DG_EINVAL when a call is already in progress on c. */
int dg_llm_submit(dg_llm_client *c, const dg_llm_request *rq, dg_llm_done_fn done, void *ctx);
int dg_llm_busy(const dg_llm_client *c);
int dg_llm_circuit_open(const dg_llm_client *c);

/* Blocking convenience: submit, then run the hub until done (used by
 * `driftgate explain` and tests). Fills *out (caller clears). */
int dg_llm_complete(dg_llm_client *c, const dg_llm_request *rq, dg_llm_reply *out);

/* The exact HTTP request a call would send first (method, URL, headers with
 * secrets shown as "***", body pretty-printed), for `explain --dry-run`. */
int dg_llm_render(const dg_llm_client *c, const dg_llm_request *rq, dg_buf *out);

/* Parsing helpers (exposed for tests): Retry-After (delta-seconds or an
 * HTTP-date, relative to now_s) and a protobuf Duration ("53s", "1.5s").
 * Return milliseconds, or -1 when absent/invalid. */
int64_t dg_llm_parse_retry_after(const char *v, int64_t now_s);
int64_t dg_llm_parse_duration(const char *v);

#endif
