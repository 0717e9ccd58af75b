/* proxy/proxy.h: the validating reverse proxy (`driftgate run`).
 *
 * dg_proxy_run starts the workers (one event loop and one SO_REUSEPORT
 * listener per proxy address each), the admin listener and the signal
 * handlers on the calling thread, and returns when the proxy has stopped
 * (SIGTERM/SIGINT: stop accepting, let in-flight exchanges finish within
 * drain_timeout, close). SIGHUP reloads: a new config is loaded and its
 * specs compiled on a separate thread, then published atomically; a config
 * that fails to load or compile is rejected, logged and counted, and the
 * old one keeps serving. SIGUSR1 reopens the log and anomaly files.
 * The proxy does not parse JSON or judge schemas itself: validate/ does. */
#ifndef DG_PROXY_PROXY_H
#define DG_PROXY_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "common/anomaly.h"
#include "policies/policies.h"

/* Produces a config: at start and on every reload (re-reading the file, or
 * rebuilding a quick-start config). Runs on a reload thread: may block. */
typedef int (*dg_config_loader)(void *ctx, dg_config **out, dg_error *errs, size_t max_errs,
                                size_t *n_errs);

typedef struct dg_proxy_opts {
    dg_config_loader load;
    void *load_ctx;
    const char *source;          /* for /status and logs: the config path or "quick start" */
} dg_proxy_opts;

/* Runs until stopped. Takes ownership of cfg. Returns 0 after a clean stop,
 * a negative DG_E* when start-up failed (the reason has been printed / logged). */
int dg_proxy_run(dg_config *cfg, const dg_proxy_opts *opts);

/* ---- the offline judge (`driftgate replay`) ----
 *
 * Judges recorded exchanges exactly as the proxy judges live ones: the same
 * snapshot (every spec compiled with its API's options), the same routing
 * code (match.host, match.path_prefix, strip_prefix; then the operation,
 * HEAD falling back to GET), the same verdict (policies, ignore rules,
 * severities, redaction, gzip/deflate bodies, ndjson/json-seq items,
 * undocumented fields and statuses), and the same anomalies, pushed to the
 * caller's queue and stamped with the exchange's time when it has one.
 *
 * The listener an exchange arrived on is unknown offline, so: a forced API
 * (force_api) is used whatever its match says (its prefix is stripped when
 * the path has it); else when the exchange's host[:port] is a listener's
 * address (a wildcard listener matches its port) that listener routes it as
 * the proxy would; else every listener routes it, and when their choices
 * differ the one API whose spec has an operation for the request wins, or
 * the exchange is unrouted ("ambiguous").
 *
 * Differences from the live proxy, on purpose: sample_rate is not applied
 * (every recorded exchange is judged); enforce changes nothing (there is no
 * response to replace); log lines go through common/log as live (callers
 * that print their own results lower the log level).
 *
 * Uses the proxy's process-wide metrics state (g_px): at most one offline
 * judge per process, never next to a running proxy. One thread. */
typedef struct dg_offline dg_offline;

typedef enum dg_offline_result {
    DG_OFFLINE_VALID = 0,
    DG_OFFLINE_INVALID,           /* at least one error-severity finding */
    DG_OFFLINE_SKIPPED,           /* not validated; reason says why (the proxy's skip reasons,
                                   * plus no_response, body_not_recorded) */
    DG_OFFLINE_ERROR,             /* could not be judged: bad_encoding, spec, memory, internal */
    DG_OFFLINE_UNROUTED           /* reason: no_api, ambiguous, bad_url, no_operation */
} dg_offline_result;
/* "valid" "invalid" "skipped" "error" "unrouted" */
const char *dg_offline_result_name(dg_offline_result r);

/* One recorded exchange (all borrowed for the call). */
typedef struct dg_offline_exchange {
    const char *method;
    const char *url;              /* absolute URL or origin-form path (query ignored) */
    const char *host;             /* host[:port] the request was sent to; NULL = unknown */
    int status;                   /* 0 = no response recorded (skipped: no_response) */
    const char *content_type;     /* NULL = absent */
    const char *content_encoding; /* NULL = absent; gzip/deflate bodies are inflated */
    const char *body;
    size_t body_len;
    int has_body;                 /* 1 body, 0 none, -1 a body the capture did not record
                                   * (the head is judged; skipped: body_not_recorded) */
    int64_t ts_ms;                /* the exchange's time (0 = now) */
    const char *request_id;       /* carried into anomalies; may be NULL */
} dg_offline_exchange;

typedef struct dg_offline_viol {
    const char *pointer;          /* instance pointer ("" = the root) */
    const char *kind;             /* dg_kind_name() */
    const char *severity;         /* "error" | "info" */
    const char *message;          /* never quotes instance values */
    const char *schema;           /* keyword location; may be NULL */
    const char *value;            /* raw value: only when the policy includes values and the
                                   * pointer is not masked; else NULL */
} dg_offline_viol;

/* Everything points into the judge and stays valid until its next call. */
typedef struct dg_offline_verdict {
    dg_offline_result result;
    const char *reason;           /* skip / error / unrouted reason; NULL otherwise */
    char detail[256];             /* unrouted "ambiguous": the APIs that matched */
    const char *api;              /* NULL when no API was chosen */
    const char *operation;        /* operation label; NULL when none matched */
    const char *path;             /* the request path, without query and fragment */
    int status;
    size_t n_err, n_info;         /* findings by severity (also beyond the kept list) */
    int truncated;                /* more findings than kept */
    const dg_offline_viol *viol;  /* the kept findings, in order */
    size_t n_viol;
} dg_offline_verdict;

/* Builds the judge: takes ownership of cfg (also on failure), loads and
 * compiles every spec (errors: up to max_errs in errs, located, *n_errs of
 * them; DG_EINVAL when force_api names no API). q (borrowed, may be NULL)
 * receives the anomalies; it must outlive the judge. */
int dg_offline_new(dg_config *cfg, const char *force_api, dg_anomaly_queue *q, dg_offline **out,
                   dg_error *errs, size_t max_errs, size_t *n_errs);
/* The config the judge runs (owned by the judge). */
const dg_config *dg_offline_config(const dg_offline *o);
/* Judges one exchange; fills *out. Returns 0 (the verdict says the rest). */
int dg_offline_judge(dg_offline *o, const dg_offline_exchange *x, dg_offline_verdict *out);
void dg_offline_free(dg_offline *o);

#endif
