/* proxy/proxy_internal.h: structures shared by the proxy's files.
 *
 * Threads: one main thread (admin listener, signals, reload coordination),
 * N workers (each an event_base with its own SO_REUSEPORT listeners,
 * client connections, upstream pools and validators), and short-lived
 * reload threads that compile a new snapshot off every event loop.
 *
 * A snapshot (config + compiled specs) is immutable once published. The
 * published pointer changes only under g_snap_lock; every holder (the
 * runtime, each worker's current pointer, each in-flight exchange) owns a
 * reference, and the last release frees it, so in-flight requests finish on
 * the snapshot they started with. */
#ifndef DG_PROXY_INTERNAL_H
#define DG_PROXY_INTERNAL_H

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/anomaly.h"
#include "common/buf.h"
#include "common/metrics.h"
#include "policies/policies.h"
#include "proxy/http1.h"
#include "proxy/inflate.h"
#include "validate/spec.h"

#define DG_PX_MAX_HEADERS_RESP 256
#define DG_PX_HIGH_WATER (64u << 10) /* client output above this pauses the upstream */
#define DG_PX_LOW_WATER (16u << 10)
#define DG_PX_MAX_VIOLATIONS 100      /* kept per response */

/* ---- snapshot ---- */

typedef struct dg_px_api {
    const dg_api *cfg;          /* borrowed from the snapshot's config */
    size_t index;
    dg_spec **specs;            /* cfg->n_specs */
    size_t spec_base;           /* index of specs[0] in the snapshot's flat spec list */
    SSL_CTX *ssl;               /* when an upstream is https */
    char **host_hdr;            /* per upstream: "host[:port]" for the Host header */
    char **pool_key;            /* per upstream: identifies its connection pool */
} dg_px_api;

typedef struct dg_px_listener {
    char *addr;                 /* "127.0.0.1:8080" */
    dg_px_api **apis;           /* candidates, most specific match first */
    size_t n_apis;
} dg_px_listener;

typedef struct dg_snapshot {
    atomic_int refs;
    uint64_t version;
    int64_t loaded_at_ns;
    dg_config *cfg;             /* owned */
    dg_px_api *apis;
    size_t n_apis;
    dg_px_listener *listeners;  /* every proxy listener address */
    size_t n_listeners;
    size_t n_specs;             /* over every API */
    unsigned n_workers;
    struct dg_vpool *vpools;    /* [worker * n_specs + spec]: each touched by one worker only */
} dg_snapshot;

/* Free validators of one spec on one worker: an exchange takes one for the
 * length of its response and gives it back (responses on a worker overlap). */
typedef struct dg_vpool {
    dg_validator **free;
    size_t n, cap;
} dg_vpool;

/* Builds a snapshot from cfg (takes ownership of cfg, also on failure):
 * loads and compiles every spec, checks operation overrides, sets up TLS
 * contexts. Runs on any thread; blocking I/O allowed (never on a loop). */
int dg_snapshot_build(dg_config *cfg, unsigned n_workers, uint64_t version, dg_snapshot **out,
                      dg_error *errs, size_t max_errs, size_t *n_errs);
void dg_snapshot_ref(dg_snapshot *s);
void dg_snapshot_unref(dg_snapshot *s);
/* Published snapshot with a new reference (caller unrefs). */
dg_snapshot *dg_snapshot_acquire(void);
uint64_t dg_snapshot_published_version(void);
/* Publishes s (takes the caller's reference) and drops the old one. */
void dg_snapshot_publish(dg_snapshot *s);
/* A validator for spec i of api on worker w (from the worker's pool, or
 * new); NULL on ENOMEM. Give it back with dg_snapshot_validator_put. */
dg_validator *dg_snapshot_validator_get(dg_snapshot *s, unsigned w, const dg_px_api *api,
                                        size_t i);
void dg_snapshot_validator_put(dg_snapshot *s, unsigned w, const dg_px_api *api, size_t i,
                               dg_validator *v);
/* Same listener address set (reload cannot change listeners). */
int dg_snapshot_same_listeners(const dg_snapshot *a, const dg_snapshot *b, char *why, size_t n);

/* ---- metrics (families registered once, in runtime.c) ---- */

typedef struct dg_px_metrics {
    dg_metrics *reg;
    dg_metric *requests, *validated, *violations, *info_drift, *skipped, *validation_seconds,
        *upstream_seconds, *upstream_errors, *upstream_conns, *enforce_fallback, *client_errors,
        *connections_active, *anomalies_dropped, *anomaly_queue_depth, *config_reloads,
        *build_info, *log_dropped, *config_version;
    dg_anomaly_queue *anomalies;  /* where verdicts push (may be NULL) */
    dg_anomaly_queue *analysis;   /* the analyzer's, when the JSONL writer forwards to it
                                   * (NULL when the analyzer reads `anomalies` itself) */
    /* totals for /status */
    atomic_uint_fast64_t n_requests, n_valid, n_invalid, n_skipped, n_error, n_reload_ok,
        n_reload_fail;
} dg_px_metrics;
extern dg_px_metrics g_px;
/* Registers every proxy metric family in a new registry (g_px.reg). */
int dg_px_metrics_init(void);
/* Anomalies waiting / dropped in the anomaly queue(s) (both stages). */
size_t dg_px_anomaly_depth(void);
uint64_t dg_px_anomaly_dropped(void);

/* ---- worker ---- */

typedef struct dg_cconn dg_cconn;
typedef struct dg_uconn dg_uconn;
typedef struct dg_pool dg_pool;

typedef struct dg_worker {
    unsigned id;
    struct event_base *base;
    struct evdns_base *dns;
    struct evconnlistener **listeners;  /* one per proxy listener address */
    char **listen_addrs;                /* their addresses (runtime-owned) */
    size_t n_listeners;
    dg_snapshot *snap;                  /* current reference */
    dg_pool *pools;                     /* linked list */
    dg_cconn *conns;                    /* every open client connection (list) */
    uint64_t n_conns;
    uint64_t max_conns;                 /* per worker */
    int listeners_paused;
    int draining;
    struct event *drain_ev;             /* activated from the main thread */
    uint32_t rng;                       /* sampling */
    uint64_t rr;                        /* upstream round robin */
} dg_worker;

/* The worker's current snapshot, refreshed when a new one was published. */
dg_snapshot *dg_worker_snapshot(dg_worker *w);
/* Accept callback (server.c). */
void dg_server_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg);
/* Routing (server.c; also used by replay's offline judge): the first of
 * apis (a listener's candidates, most specific first) whose match.host
 * (case-insensitive, port ignored) and match.path_prefix (on a segment
 * boundary) accept the request. *strip = the prefix length to remove
 * (strip_prefix), else 0. NULL when none does. Pure: reads only its
 * arguments. */
const dg_px_api *dg_px_route(dg_px_api *const *apis, size_t n_apis, const char *host,
                             size_t host_len, const char *path, size_t *strip);
/* Drain: closes idle client connections; busy ones close after their
 * response. */
void dg_server_drain(dg_worker *w);
void dg_server_conn_closed(dg_worker *w);

/* ---- upstream connections (upstream.c) ---- */

typedef enum dg_up_err {
    DG_UPERR_NONE = 0,
    DG_UPERR_CONNECT,
    DG_UPERR_DNS,
    DG_UPERR_TLS,
    DG_UPERR_TIMEOUT,
    DG_UPERR_RESET,
    DG_UPERR_BAD_RESPONSE
} dg_up_err;
const char *dg_up_err_name(dg_up_err e);

/* Events delivered to the owner of an upstream connection. */
typedef struct dg_uconn_ops {
    void (*connected)(void *ctx);
    void (*readable)(void *ctx);
    void (*writable)(void *ctx);
    void (*failed)(void *ctx, dg_up_err e, const char *detail);
    void (*eof)(void *ctx);
} dg_uconn_ops;

struct dg_uconn {
    dg_worker *w;
    dg_pool *pool;
    struct bufferevent *bev;
    int connected;
    int reused;                 /* taken from the pool */
    int tls;
    const dg_uconn_ops *ops;
    void *ctx;
    struct event *connect_timer;
    dg_uconn *next_idle;
};

/* Takes an idle connection to api's upstream u (ops->connected is not
 * called) or starts a new one (ops->connected once established). NULL on
 * ENOMEM (then *detail is set). */
dg_uconn *dg_upstream_get(dg_worker *w, dg_snapshot *s, const dg_px_api *api, size_t u,
                          const dg_uconn_ops *ops, void *ctx, char *detail, size_t n);
/* Gives the connection back for reuse, or closes it when reuse is 0. */
void dg_upstream_release(dg_uconn *c, int reuse);
/* Read/write timeouts while a request is in flight. */
void dg_upstream_set_timeouts(dg_uconn *c, const dg_limits *l);
void dg_upstream_free_pools(dg_worker *w);
/* Closes every idle upstream connection (drain). */
void dg_upstream_close_idle(dg_worker *w);
/* Creates the TLS context of an API (system CAs or ca_file, client cert). */
SSL_CTX *dg_upstream_ssl_ctx(const dg_api *api, dg_error *err);

/* ---- monotonic time ---- */
int64_t dg_px_now_ns(void);
int64_t dg_px_wall_ns(void);

#endif
