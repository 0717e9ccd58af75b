/* proxy/runtime.c: start-up, workers, signals, reload and shutdown. */
#include <errno.h>
#include <event2/dns.h>
#include <event2/thread.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "proxy/admin.h"
#include "proxy/exchange.h"
#include "proxy/proxy.h"
#include "analyze/analyze.h"
#include "proxy/proxy_internal.h"

dg_px_metrics g_px;

typedef struct runtime {
    struct event_base *base;
    dg_worker *workers;
    unsigned n_workers;
    pthread_t *threads;
    char **listen_addrs;
    size_t n_listen;
    const dg_proxy_opts *opts;
    atomic_int reloading;
    atomic_int live_workers;
    int64_t drain_deadline_ns;
    struct event *drain_timer;
    int stopping;
    dg_anomaly_jsonl *jsonl;
    dg_analyzer *analyzer;
    dg_admin *admin;
} runtime;

static runtime R;

int dg_px_metrics_init(void)
{
    dg_metrics *m = dg_metrics_new();
    if (!m)
        return DG_ENOMEM;
    g_px.reg = m;
    static const char *const req[] = {"api", "operation", "status_class"};
    static const char *const val[] = {"api", "operation", "result"};
    static const char *const vio[] = {"api", "operation", "status", "kind"};
    static const char *const api[] = {"api"};
    static const char *const api_reason[] = {"api", "reason"};
    static const char *const api_state[] = {"api", "state"};
    static const char *const reason[] = {"reason"};
    static const char *const result[] = {"result"};
    static const char *const version[] = {"version"};
    g_px.requests = dg_metrics_counter(m, "driftgate_requests_total",
                                       "Requests answered, by API, operation and status class of "
                                       "the response the client got.",
                                       req, 3);
    g_px.validated = dg_metrics_counter(m, "driftgate_responses_validated_total",
                                        "Responses judged, by result (valid, invalid, skipped, "
                                        "error).",
                                        val, 3);
    g_px.violations = dg_metrics_counter(m, "driftgate_violations_total",
                                         "Contract violations found in responses, by kind.", vio, 4);
    g_px.info_drift = dg_metrics_counter(m, "driftgate_info_drift_total",
                                         "Info-level drift (undocumented fields, tolerated "
                                         "statuses) that did not make a response invalid.",
                                         vio, 4);
    g_px.skipped = dg_metrics_counter(m, "driftgate_responses_skipped_total",
                                      "Responses not validated (result skipped or error), by "
                                      "reason.",
                                      api_reason, 2);
    g_px.validation_seconds = dg_metrics_histogram(
        m, "driftgate_validation_duration_seconds",
        "Time spent validating one response body (CPU time on the worker).", api, 1,
        dg_metrics_latency_buckets, dg_metrics_latency_buckets_n);
    g_px.upstream_seconds = dg_metrics_histogram(
        m, "driftgate_upstream_duration_seconds",
        "Time from sending the request upstream to the last byte of its response.", api, 1,
        dg_metrics_latency_buckets, dg_metrics_latency_buckets_n);
    g_px.upstream_errors = dg_metrics_counter(m, "driftgate_upstream_errors_total",
                                              "Upstream failures, by reason (connect, dns, tls, "
                                              "timeout, reset, bad_response).",
                                              api_reason, 2);
    g_px.upstream_conns = dg_metrics_counter(m, "driftgate_upstream_connections_total",
                                             "Upstream connections used, new or reused from the "
                                             "keep-alive pool.",
                                             api_state, 2);
    g_px.enforce_fallback = dg_metrics_counter(m, "driftgate_enforce_fallback_total",
                                               "Enforce-mode responses larger than "
                                               "enforce_max_body, streamed unchecked by enforce.",
                                               api, 1);
    g_px.client_errors = dg_metrics_counter(m, "driftgate_client_errors_total",
                                            "Requests refused or connections closed because of "
                                            "the client, by reason.",
                                            reason, 1);
    g_px.connections_active = dg_metrics_gauge(m, "driftgate_connections_active",
                                               "Open client connections.", NULL, 0);
    g_px.anomalies_dropped = dg_metrics_counter(m, "driftgate_anomalies_dropped_total",
                                                "Anomalies dropped because the queue was full.",
                                                NULL, 0);
    g_px.anomaly_queue_depth = dg_metrics_gauge(m, "driftgate_anomaly_queue_depth",
                                                "Anomalies waiting in the queue.", NULL, 0);
    g_px.config_reloads = dg_metrics_counter(m, "driftgate_config_reloads_total",
                                             "Config reloads, by result (success, failure).",
                                             result, 1);
    g_px.log_dropped = dg_metrics_counter(m, "driftgate_log_lines_dropped_total",
                                          "Log lines dropped because the log queue was full.",
                                          NULL, 0);
    g_px.config_version = dg_metrics_gauge(m, "driftgate_config_version",
                                           "Version of the config in use (1 at start, +1 per "
                                           "successful reload).",
                                           NULL, 0);
    g_px.build_info = dg_metrics_gauge(m, "driftgate_build_info",
                                       "Build information; the value is always 1.", version, 1);
    if (!g_px.requests || !g_px.validated || !g_px.violations || !g_px.info_drift ||
        !g_px.skipped || !g_px.validation_seconds || !g_px.upstream_seconds ||
        !g_px.upstream_errors || !g_px.upstream_conns || !g_px.enforce_fallback ||
        !g_px.client_errors || !g_px.connections_active || !g_px.anomalies_dropped ||
        !g_px.anomaly_queue_depth || !g_px.config_reloads || !g_px.log_dropped ||
        !g_px.config_version || !g_px.build_info)
        return DG_ENOMEM;
    const char *bv[1] = {DG_VERSION};
    dg_series_gauge_set(dg_metric_series(g_px.build_info, bv), 1);
    for (int i = 0; i < 2; i++) {
        const char *rv[1] = {i ? "failure" : "success"};
        dg_metric_series(g_px.config_reloads, rv); /* expose zeros from the start */
    }
    return 0;
}

/* ---- workers ---- */

dg_snapshot *dg_worker_snapshot(dg_worker *w)
{
    if (dg_snapshot_published_version() != w->snap->version) {
        dg_snapshot *s = dg_snapshot_acquire();
        if (s) {
            dg_snapshot_unref(w->snap);
            w->snap = s;
        }
    }
    return w->snap;
}

void dg_server_conn_closed(dg_worker *w)
{
    w->n_conns--;
    dg_series_gauge_add(dg_metric_series(g_px.connections_active, NULL), -1);
    if (w->listeners_paused && !w->draining && w->n_conns < w->max_conns) {
        for (size_t i = 0; i < w->n_listeners; i++)
            evconnlistener_enable(w->listeners[i]);
        w->listeners_paused = 0;
    }
    if (w->draining && w->n_conns == 0)
        event_base_loopexit(w->base, NULL);
}

static void worker_drain(evutil_socket_t fd, short what, void *arg)
{
    dg_worker *w = arg;
    (void)fd;
    (void)what;
    w->draining = 1;
    for (size_t i = 0; i < w->n_listeners; i++) {
        if (w->listeners[i])
            evconnlistener_free(w->listeners[i]);
        w->listeners[i] = NULL;
    }
    w->n_listeners = 0;
    dg_upstream_close_idle(w);
    dg_server_drain(w);
    if (w->n_conns == 0)
        event_base_loopexit(w->base, NULL);
}

static void *worker_main(void *arg)
{
    dg_worker *w = arg;
    event_base_dispatch(w->base);
    /* Forced stop (drain timeout) may leave connections: close them here,
     * on the worker's own thread. */
    while (w->conns)
        dg_cconn_abort(w->conns);
    dg_upstream_free_pools(w);
    atomic_fetch_sub(&R.live_workers, 1);
    return NULL;
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return DG_EINVAL;
    size_t hl = (size_t)(colon - addr);
    memcpy(host, addr, hl);
    host[hl] = 0;
    char *h = host;
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
        h[hl - 1] = 0;
        h++;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(h[0] ? h : NULL, colon + 1, &hints, &res) || !res)
        return DG_EINVAL;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* One SO_REUSEPORT socket per worker per address: the kernel spreads
 * connections over the workers. */
static evutil_socket_t bind_socket(const char *addr, char *why, size_t n)
{
    struct sockaddr_storage ss;
    socklen_t len;
    if (parse_addr(addr, &ss, &len)) {
        snprintf(why, n, "cannot parse listen address %s", addr);
        return -1;
    }
    evutil_socket_t fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, n, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024)) {
        snprintf(why, n, "cannot listen on %s: %s", addr, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static int start_workers(dg_snapshot *s, unsigned n)
{
    R.n_workers = n;
    R.workers = calloc(n, sizeof *R.workers);
    R.threads = calloc(n, sizeof *R.threads);
    R.n_listen = s->n_listeners;
    R.listen_addrs = calloc(s->n_listeners, sizeof *R.listen_addrs);
    if (!R.workers || !R.threads || !R.listen_addrs)
        return DG_ENOMEM;
    for (size_t i = 0; i < s->n_listeners; i++)
        if (!(R.listen_addrs[i] = strdup(s->listeners[i].addr)))
            return DG_ENOMEM;
    uint64_t maxc = s->cfg->limits.max_connections;
    for (unsigned i = 0; i < n; i++) {
        dg_worker *w = &R.workers[i];
        w->id = i;
        w->rng = 0x9e3779b9u * (i + 1);
        w->max_conns = maxc / n ? maxc / n : 1;
        /* The changelist folds the EPOLLOUT add/remove that every response
         * write causes into one epoll_ctl per loop iteration at most. */
        struct event_config *ec = event_config_new();
        if (ec)
            event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        w->base = ec ? event_base_new_with_config(ec) : NULL;
        if (ec)
            event_config_free(ec);
        if (!w->base)
            return DG_ENOMEM;
        w->dns = evdns_base_new(w->base, EVDNS_BASE_INITIALIZE_NAMESERVERS |
                                             EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (!w->dns) /* no resolv.conf: literal addresses still work */
            w->dns = evdns_base_new(w->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        w->drain_ev = event_new(w->base, -1, 0, worker_drain, w);
        w->listeners = calloc(s->n_listeners, sizeof *w->listeners);
        w->listen_addrs = R.listen_addrs;
        if (!w->drain_ev || !w->listeners)
            return DG_ENOMEM;
        dg_snapshot_ref(s);
        w->snap = s;
        for (size_t j = 0; j < s->n_listeners; j++) {
            char why[300];
            evutil_socket_t fd = bind_socket(s->listeners[j].addr, why, sizeof why);
            if (fd < 0) {
                dg_logf(DG_LOG_ERROR, "%s", why);
                fprintf(stderr, "driftgate run: %s\n", why);
                return DG_EIO;
            }
            w->listeners[j] = evconnlistener_new(w->base, dg_server_accept, w,
                                                 LEV_OPT_CLOSE_ON_FREE, -1, fd);
            if (!w->listeners[j]) {
                close(fd);
                return DG_ENOMEM;
            }
            w->n_listeners = j + 1;
        }
    }
    /* Workers never take the process signals: the main loop handles them. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&R.threads[i], NULL, worker_main, &R.workers[i])) {
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            return DG_ENOMEM;
        }
        atomic_fetch_add(&R.live_workers, 1);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return 0;
}

/* ---- reload ---- */

static void log_errors(const char *what, const dg_error *errs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char line[1200];
        dg_error_format(&errs[i], line, sizeof line);
        dg_logf(DG_LOG_ERROR, "%s: %s", what, line);
    }
}

static void *reload_main(void *arg)
{
    (void)arg;
    dg_error errs[20];
    size_t n = 0;
    dg_config *cfg = NULL;
    dg_snapshot *cur = dg_snapshot_acquire();
    int rc = R.opts->load(R.opts->load_ctx, &cfg, errs, 20, &n);
    dg_snapshot *s = NULL;
    if (!rc) {
        if (cfg->workers && cfg->workers != R.n_workers)
            dg_logf(DG_LOG_WARN, "reload: workers changed to %u: takes effect on restart",
                    cfg->workers);
        rc = dg_snapshot_build(cfg, R.n_workers, cur->version + 1, &s, errs, 20, &n);
    }
    char why[300];
    if (!rc && !dg_snapshot_same_listeners(cur, s, why, sizeof why)) {
        dg_error_set(&errs[0], DG_EINVAL, "%s", why);
        n = 1;
        rc = DG_EINVAL;
        dg_snapshot_unref(s);
        s = NULL;
    }
    const char *res[1] = {rc ? "failure" : "success"};
    if (rc) {
        if (!n)
            dg_error_set(&errs[n++], rc, "reload failed (%s)", dg_error_code_name(rc));
        log_errors("reload rejected, the previous config keeps serving", errs, n);
        atomic_fetch_add(&g_px.n_reload_fail, 1);
    } else {
        dg_logf(DG_LOG_INFO, "reload: config version %llu in use (%zu APIs)",
                (unsigned long long)s->version, s->n_apis);
        dg_series_gauge_set(dg_metric_series(g_px.config_version, NULL), (int64_t)s->version);
        dg_snapshot_publish(s);
        if (R.analyzer)
            dg_analyzer_reconfigure(R.analyzer, s->cfg);
        atomic_fetch_add(&g_px.n_reload_ok, 1);
    }
    dg_series_inc(dg_metric_series(g_px.config_reloads, res));
    dg_snapshot_unref(cur);
    atomic_store(&R.reloading, 0);
    return NULL;
}

static void on_sighup(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (R.stopping)
        return;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&R.reloading, &expected, 1)) {
        dg_logf(DG_LOG_WARN, "SIGHUP: a reload is already running; ignored");
        return;
    }
    dg_logf(DG_LOG_INFO, "SIGHUP: reloading %s", R.opts->source);
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    if (pthread_create(&t, &at, reload_main, NULL)) {
        atomic_store(&R.reloading, 0);
        dg_logf(DG_LOG_ERROR, "SIGHUP: cannot start the reload thread");
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&at);
}

static void on_sigusr1(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    dg_log_reopen();
    if (R.jsonl)
        dg_anomaly_jsonl_reopen(R.jsonl);
}

static void drain_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (atomic_load(&R.live_workers) == 0) {
        event_base_loopexit(R.base, NULL);
        return;
    }
    if (dg_px_now_ns() >= R.drain_deadline_ns) {
        dg_logf(DG_LOG_WARN, "drain timeout: closing the remaining connections");
        for (unsigned i = 0; i < R.n_workers; i++)
            event_base_loopbreak(R.workers[i].base);
    }
    struct timeval tv = {0, 50000};
    evtimer_add(R.drain_timer, &tv);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    (void)arg;
    if (R.stopping)
        return;
    R.stopping = 1;
    dg_admin_set_ready(R.admin, 0);
    dg_snapshot *s = dg_snapshot_acquire();
    uint64_t ms = s ? s->cfg->limits.drain_timeout_ms : 15000;
    dg_snapshot_unref(s);
    dg_logf(DG_LOG_INFO, "%s: draining (up to %llu ms)", sig == SIGINT ? "SIGINT" : "SIGTERM",
            (unsigned long long)ms);
    R.drain_deadline_ns = dg_px_now_ns() + (int64_t)ms * 1000000;
    for (unsigned i = 0; i < R.n_workers; i++)
        event_active(R.workers[i].drain_ev, EV_READ, 0);
    R.drain_timer = evtimer_new(R.base, drain_tick, NULL);
    struct timeval tv = {0, 20000};
    if (R.drain_timer)
        evtimer_add(R.drain_timer, &tv);
}

static void cleanup(void)
{
    /* A reload still compiling uses R, the snapshot and the analyzer: wait
     * for it (it clears the flag as its very last step), bounded. */
    for (int i = 0; i < 6000 && atomic_load(&R.reloading); i++)
        usleep(10000);
    if (atomic_load(&R.reloading))
        dg_logf(DG_LOG_ERROR, "a reload is still running after 60 s: stopping anyway");
    for (unsigned i = 0; i < R.n_workers; i++) {
        dg_worker *w = &R.workers[i];
        for (size_t j = 0; j < w->n_listeners; j++)
            if (w->listeners[j])
                evconnlistener_free(w->listeners[j]);
        free(w->listeners);
        if (w->drain_ev)
            event_free(w->drain_ev);
        if (w->dns)
            evdns_base_free(w->dns, 0);
        dg_snapshot_unref(w->snap);
        if (w->base)
            event_base_free(w->base);
    }
    free(R.workers);
    free(R.threads);
    for (size_t i = 0; i < R.n_listen; i++)
        free(R.listen_addrs[i]);
    free(R.listen_addrs);
    if (R.drain_timer)
        event_free(R.drain_timer);
    dg_admin_free(R.admin);
    dg_snapshot_publish(NULL);
    /* The JSONL writer drains first (forwarding to the analyzer's queue),
     * then the analyzer drains and flushes. */
    if (g_px.anomalies)
        dg_anomaly_queue_close(g_px.anomalies);
    if (R.jsonl)
        dg_anomaly_jsonl_stop(R.jsonl);
    if (g_px.analysis)
        dg_anomaly_queue_close(g_px.analysis);
    dg_analyzer_stop(R.analyzer);
    if (g_px.anomalies)
        dg_anomaly_queue_free(g_px.anomalies);
    if (g_px.analysis)
        dg_anomaly_queue_free(g_px.analysis);
    g_px.anomalies = g_px.analysis = NULL;
    if (R.base)
        event_base_free(R.base);
    dg_metrics_free(g_px.reg);
    memset(&g_px, 0, sizeof g_px);
    memset(&R, 0, sizeof R);
}

size_t dg_px_anomaly_depth(void)
{
    return (g_px.anomalies ? dg_anomaly_queue_depth(g_px.anomalies) : 0) +
           (g_px.analysis ? dg_anomaly_queue_depth(g_px.analysis) : 0);
}

uint64_t dg_px_anomaly_dropped(void)
{
    return (g_px.anomalies ? dg_anomaly_queue_dropped(g_px.anomalies) : 0) +
           (g_px.analysis ? dg_anomaly_queue_dropped(g_px.analysis) : 0);
}

/* The anomaly file writer and/or the analyzer (drift store). With both,
 * verdicts push to one queue, the writer writes each anomaly and forwards
 * it to the analyzer's queue. */
static int start_anomaly_consumers(const dg_config *cfg)
{
    char why[300];
    int want_store = cfg->store.url != NULL;
    if (!cfg->anomaly_file && !want_store)
        return 0;
    if (!(g_px.anomalies = dg_anomaly_queue_new(cfg->anomaly_queue_size)))
        return DG_ENOMEM;
    dg_anomaly_queue *aq = g_px.anomalies;
    if (cfg->anomaly_file && want_store &&
        !(aq = g_px.analysis = dg_anomaly_queue_new(cfg->anomaly_queue_size)))
        return DG_ENOMEM;
    if (want_store) {
        dg_error e;
        int rc = dg_analyzer_start(aq, cfg, g_px.reg, &R.analyzer, &e);
        if (rc) {
            char line[1200];
            fprintf(stderr, "driftgate run: drift store: %s\n",
                    dg_error_format(&e, line, sizeof line));
            return rc;
        }
    }
    if (cfg->anomaly_file) {
        if (dg_anomaly_jsonl_start(g_px.anomalies, cfg->anomaly_file, &R.jsonl, why, sizeof why)) {
            fprintf(stderr, "driftgate run: %s\n", why);
            return DG_EIO;
        }
        if (g_px.analysis)
            dg_anomaly_jsonl_forward(R.jsonl, g_px.analysis);
    }
    return 0;
}

static unsigned cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 256 ? (unsigned)n : 1;
}

int dg_proxy_run(dg_config *cfg, const dg_proxy_opts *opts)
{
    memset(&R, 0, sizeof R);
    R.opts = opts;
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    char why[300] = "";
    if (dg_log_start(cfg->log_file, (dg_log_level)cfg->log_level, 0, why, sizeof why)) {
        fprintf(stderr, "driftgate run: %s\n", why);
        dg_config_free(cfg);
        return DG_EIO;
    }
    int rc = dg_px_metrics_init();
    if (rc) {
        dg_config_free(cfg);
        goto out;
    }
    /* Without a consumer a queue would only fill up and count drops. */
    if ((rc = start_anomaly_consumers(cfg))) {
        dg_config_free(cfg);
        goto out;
    }
    unsigned n = cfg->workers ? cfg->workers : cores();
    dg_error errs[20];
    size_t ne = 0;
    dg_snapshot *s = NULL;
    rc = dg_snapshot_build(cfg, n, 1, &s, errs, 20, &ne);
    if (rc) {
        for (size_t i = 0; i < ne; i++) {
            char line[1200];
            fprintf(stderr, "driftgate run: %s\n", dg_error_format(&errs[i], line, sizeof line));
        }
        log_errors("start-up failed", errs, ne);
        goto out;
    }
    dg_snapshot_publish(s); /* the published reference */
    dg_series_gauge_set(dg_metric_series(g_px.config_version, NULL), 1);
    R.base = event_base_new();
    if (!R.base) {
        rc = DG_ENOMEM;
        goto out;
    }
    rc = dg_admin_start(R.base, s->cfg->admin, opts->source, &R.admin, why, sizeof why);
    if (rc) {
        fprintf(stderr, "driftgate run: %s\n", why);
        dg_logf(DG_LOG_ERROR, "%s", why);
        goto out;
    }
    if ((rc = start_workers(s, n))) {
        R.stopping = 1;
        for (unsigned i = 0; i < R.n_workers; i++)
            if (R.workers[i].base)
                event_base_loopbreak(R.workers[i].base);
        goto join;
    }
    struct event *sig[4] = {evsignal_new(R.base, SIGHUP, on_sighup, NULL),
                            evsignal_new(R.base, SIGTERM, on_stop, NULL),
                            evsignal_new(R.base, SIGINT, on_stop, NULL),
                            evsignal_new(R.base, SIGUSR1, on_sigusr1, NULL)};
    for (int i = 0; i < 4; i++)
        if (sig[i])
            evsignal_add(sig[i], NULL);
    for (size_t i = 0; i < s->n_listeners; i++)
        dg_logf(DG_LOG_INFO, "listening on %s (%u workers)", s->listeners[i].addr, n);
    dg_logf(DG_LOG_INFO, "admin on %s; %zu APIs, config version 1", s->cfg->admin, s->n_apis);
    dg_admin_set_ready(R.admin, 1);
    event_base_dispatch(R.base);
    for (int i = 0; i < 4; i++)
        if (sig[i])
            event_free(sig[i]);
    dg_logf(DG_LOG_INFO, "stopped");
join:
    for (unsigned i = 0; i < R.n_workers; i++)
        if (R.threads[i])
            pthread_join(R.threads[i], NULL);
out:
    cleanup();
    dg_log_stop();
    return rc;
}
