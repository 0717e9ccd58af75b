/* analyze/llm_internal.h: what the LLM client's files (llm.c: hub, calls,
 * retries, limits; llm_wire.c: per-backend requests and answers;
 * llm_secret.c: defaults, API keys and tokens) share. Not a public header: only
 * analyze/llm*.c and tests/unit/test_llm.c include it.
 *
 * Decisions that llm.h leaves open, made here:
 *   - dg_llm_client_conf() returns the copy with the backend's defaults
 *     filled in (model, endpoint, api_key_env / token_env, location), so
 *     callers can record the model id actually asked.
 *   - A done callback's reply (and its text) is valid during the callback
 *     only; copy what you keep. The client is idle again when the callback
 *     runs, so the callback may submit the next call.
 *   - dg_llm_hub_run returns at once (0) when no call is in progress, and
 *     otherwise when a done callback has been called or timeout_ms passed.
 *   - requests_per_minute spaces attempts evenly: one every 60000/rpm ms
 *     (no bursts), which never exceeds the limit in any 60 s window.
 *   - A server-asked wait (Retry-After, RetryInfo) is capped at
 *     DG_LLM_MAX_SERVER_WAIT_MS so a bogus header cannot park the client
 *     for days.
 *   - The circuit counts failed calls whose last outcome says the backend
 *     is unhealthy or misconfigured; a blocked or truncated answer (the
 *     backend did answer) counts as a success for the circuit, a budget stop
 *     as neither. The gauge driftgate_llm_circuit_open{backend} is the
 *     number of this backend's clients whose circuit is open or half-open.
 *   - Prompt-only JSON (json_mode prompt, or auto after a "not enabled"
 *     400): the schema is appended to the user turn, since the caller
 *     cannot know when the client fell back. The fallback to folding the
 *     system text into the user turn applies to gemini/vertex in auto and
 *     prompt modes (never in schema mode).
 *   - openai endpoints that already end in "/v1" (OpenAI SDK style base URL)
 *     or "/openapi" (Vertex MaaS .../endpoints/openapi) get
 *     "/chat/completions" appended, others "/v1/chat/completions". */
#ifndef DG_ANALYZE_LLM_INTERNAL_H
#define DG_ANALYZE_LLM_INTERNAL_H

#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "analyze/llm.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/metrics.h"
#include "policies/policies.h"

#define DG_LLM_MAX_RESPONSE (8u << 20)          /* bytes; beyond: bad_response */
#define DG_LLM_MAX_SERVER_WAIT_MS (15 * 60 * 1000)
#define DG_LLM_DEFAULT_JITTER_MS 1000
#define DG_LLM_TOKEN_COMMAND_TIMEOUT_MS 30000
#define DG_LLM_MAX_SECRET 65536                 /* bytes of a key file / command output */

enum { DG_LLM_IDLE = 0, DG_LLM_WAITING, DG_LLM_INFLIGHT };
enum { DG_LLM_CLOSED = 0, DG_LLM_OPEN, DG_LLM_HALF_OPEN };

/* One HTTP request as the wire layer builds it. */
typedef struct dg_llm_hdr {
    const char *name;             /* static */
    char *value;                  /* owned, the full value ("Bearer <token>") */
    int secret;                   /* dg_llm_render shows "***" (after "Bearer ") */
} dg_llm_hdr;

typedef struct dg_llm_wire {
    char *url;                    /* owned; never holds a secret */
    dg_llm_hdr hdr[4];
    unsigned n_hdr;
    json_t *body;                 /* owned */
} dg_llm_wire;

/* What one attempt's answer says (the wire layer's verdict). */
typedef struct dg_llm_result {
    const char *outcome;          /* static metric outcome */
    int retriable;
    int not_enabled;              /* gemini/vertex 400 "... is not enabled for models/" */
    char *text;                   /* owned; the answer when outcome is "ok" */
    uint64_t prompt_tokens, output_tokens;
    char model[128];
    char error[512];
    int64_t retry_delay_ms;       /* RetryInfo.retryDelay, -1 when absent */
} dg_llm_result;

/* The call in progress on a client. */
typedef struct dg_llm_call {
    char *system, *user;          /* owned copies (NULL allowed) */
    json_t *schema;               /* parsed schema_json, NULL = free text */
    char *schema_text;            /* compact dump of schema, for prompt-only mode */
    dg_llm_done_fn done;
    void *ctx;
    dg_llm_reply reply;
    unsigned counted;             /* attempts that count against max_attempts */
    int token_refreshed, fell_back;
    int64_t wake_at;              /* monotonic ms: next attempt not before */
    /* the attempt in flight */
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    dg_buf resp;
    int too_large;
    char retry_after[64];         /* Retry-After header value, "" when none */
    char content_type[96];
    char curl_err[CURL_ERROR_SIZE];
} dg_llm_call;

struct dg_llm_client {
    dg_llm_hub *hub;
    dg_llm_client *next;
    dg_llm_conf conf;             /* copy with the backend's defaults filled in */
    char *secret;                 /* API key or access token; NULL when none */
    char secret_source[160];      /* "environment variable X" / "file X" / "token_command" */
    int compat;                   /* prompt-only for good: no JSON mode, system folded in */
    int state;                    /* DG_LLM_IDLE/WAITING/INFLIGHT */
    dg_llm_call call;
    /* limits */
    int64_t paused_until;         /* monotonic ms: a 429 pauses the whole client */
    int64_t next_slot;            /* monotonic ms: requests_per_minute */
    int64_t budget_day;           /* UTC day number of budget_used */
    uint64_t budget_used;         /* prompt + output tokens spent on budget_day */
    /* circuit breaker */
    int circuit;                  /* DG_LLM_CLOSED/OPEN/HALF_OPEN */
    unsigned failures;            /* consecutive failed calls */
    int64_t circuit_until;        /* monotonic ms, while OPEN */
};

struct dg_llm_hub {
    CURLM *multi;
    dg_llm_client *clients;
    dg_metric *m_requests, *m_tokens, *m_circuit;
    int completed;                /* done callbacks called during this run */
    int64_t jitter_max_ms;        /* DG_LLM_DEFAULT_JITTER_MS; tests set 0 */
    uint64_t rng;
    int64_t day_offset;           /* test hook: added to the UTC day number */
};

/* Test hooks (documented; production code never calls them). */
void dg_llm_hub_set_jitter(dg_llm_hub *h, int64_t max_ms);
void dg_llm_hub_add_days(dg_llm_hub *h, int64_t days);

/* llm_wire.c */
/* The request for the next attempt of c's call (system/user/schema as
 * given, c->compat and c->conf.json_mode deciding the JSON mode). */
int dg_llm_wire_build(const dg_llm_client *c, const char *system, const char *user,
                      const json_t *schema, const char *schema_text, dg_llm_wire *w);
void dg_llm_wire_free(dg_llm_wire *w);
/* Judges an HTTP answer (status, body, Content-Type) from c's backend.
 * r is filled (r->text owned by the caller; dg_llm_result_clear). */
void dg_llm_wire_parse(const dg_llm_client *c, long status, const char *body, size_t len,
                       const char *content_type, dg_llm_result *r);
void dg_llm_result_clear(dg_llm_result *r);

/* llm_secret.c */
/* Fills in the backend's defaults (model, endpoint, api_key_env / token_env,
 * location, max_attempts >= 1) and checks what goes into URLs. */
int dg_llm_conf_fill(dg_llm_conf *k, dg_error *err);
/* Reads the secret c's conf names into c->secret / c->secret_source
 * (replacing any previous one). DG_EINVAL naming the variable/file/command
 * (never the value) when missing or unusable. */
int dg_llm_secret_load(dg_llm_client *c, dg_error *err);
/* Frees a secret after overwriting it. */
void dg_llm_secret_free(char *s);
/* Replaces every occurrence of secret in s (NUL-terminated, in place) by
 * "***". */
void dg_llm_scrub(char *s, size_t cap, const char *secret);

#endif
