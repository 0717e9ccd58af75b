/* proxy/verdict.h: judging one response: which schema applies, feeding the
 * body copy (inflated when compressed, split into items for ndjson /
 * json-seq) to the validator, applying the policy (ignore rules, severities,
 * redaction), and reporting (metrics, log line, anomalies, enforce's problem
 * body). Owned by one exchange on one worker thread. Never fails the proxying:
 * trouble here becomes result "error" or "skipped" with a reason. */
#ifndef DG_PROXY_VERDICT_H
#define DG_PROXY_VERDICT_H

#include "proxy/proxy_internal.h"

typedef struct dg_px_viol {
    dg_kind kind;
    dg_severity sev;
    char *pointer;
    char *schema;
    char *message;
    dg_shape shape;
    char *value;        /* only when the policy allows it and the pointer is not masked */
} dg_px_viol;

typedef struct dg_verdict {
    /* set by the caller before dg_verdict_head */
    dg_snapshot *snap;
    const dg_px_api *api;
    unsigned worker;
    size_t spec_i;                /* which of api's specs matched */
    const dg_route_op *op;        /* NULL when no operation matched */
    const dg_policy *pol;
    dg_arena *arena;              /* the exchange's */
    uint32_t *rng;                /* the worker's sampling state */
    /* decided at the response head */
    int status;
    dg_mode mode;
    char media[128];
    int validating;
    int head_only;                /* no body can follow (HEAD, 204, 304) */
    const char *skip_reason;
    const char *error_reason;
    /* body state */
    dg_validator *v;
    int schema_id;
    int item_mode;                /* 0 whole, 1 lines, 2 json-seq */
    int item_open;
    uint64_t item_index;
    int feed_failed;
    dg_inflate *z;
    uint64_t fed;
    int64_t cpu_ns;
    /* findings */
    dg_px_viol *viol;
    size_t n_viol, cap_viol;
    size_t n_err, n_info;         /* totals (also past the cap) */
    int truncated;
} dg_verdict;

/* Decides what the response must satisfy. ct/ce: Content-Type and
 * Content-Encoding values (may be NULL). has_body: the response carries a
 * body; head_request: the request was HEAD. */
void dg_verdict_head(dg_verdict *vd, int status, const char *ct, size_t ct_len, const char *ce,
                     size_t ce_len, int has_body, int head_request);
/* Feeds decoded-transfer body bytes (still content-encoded). */
void dg_verdict_body(dg_verdict *vd, const char *p, size_t n);
/* Ends the body. upstream_truncated: the body ended early (result error). */
void dg_verdict_finish(dg_verdict *vd, int upstream_truncated);
/* "valid" | "invalid" | "skipped" | "error" */
const char *dg_verdict_result(const dg_verdict *vd);
/* Metrics, the JSON log line, anomalies. */
typedef struct dg_verdict_ctx {
    const char *method;
    int64_t duration_ns;
    const char *request_id;
    const char *traceparent;
} dg_verdict_ctx;
void dg_verdict_report(dg_verdict *vd, const dg_verdict_ctx *ctx);
/* The same, with the anomalies stamped wall_ns (CLOCK_REALTIME ns; 0 = now)
 * instead of now: replay judges recorded exchanges at their recorded time.
 * (A separate function rather than a dg_verdict_ctx field, so the
 * positional initialisers of existing callers stay complete.) */
void dg_verdict_report_at(dg_verdict *vd, const dg_verdict_ctx *ctx, int64_t wall_ns);
/* Enforce's 502 application/problem+json body (no raw values). */
int dg_verdict_problem(const dg_verdict *vd, dg_buf *out);
/* Frees what the verdict owns outside the arena. */
void dg_verdict_free(dg_verdict *vd);
/* Operation label used in metrics ("unmatched" when none). */
const char *dg_verdict_op_label(const dg_route_op *op);

#endif
