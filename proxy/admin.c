/* proxy/admin.c: admin endpoints (see admin.h). */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "proxy/admin.h"
#include "proxy/proxy_internal.h"

struct dg_admin {
    struct evhttp *http;
    const char *source;
    int ready;
    uint64_t anomalies_dropped_seen;
    uint64_t log_dropped_seen;
};

static void reply(struct evhttp_request *req, int code, const char *ctype, const char *body,
                  size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *b = evbuffer_new();
    if (b && body)
        evbuffer_add(b, body, len);
    evhttp_send_reply(req, code, code == 200 ? "OK" : code == 404 ? "Not Found"
                                                  : "Service Unavailable",
                      b);
    if (b)
        evbuffer_free(b);
}

/* Gauges and counters whose source of truth lives elsewhere. */
static void refresh(dg_admin *a)
{
    if (g_px.anomalies) {
        dg_series_gauge_set(dg_metric_series(g_px.anomaly_queue_depth, NULL),
                            (int64_t)dg_px_anomaly_depth());
        uint64_t d = dg_px_anomaly_dropped();
        if (d > a->anomalies_dropped_seen)
            dg_series_add(dg_metric_series(g_px.anomalies_dropped, NULL),
                          d - a->anomalies_dropped_seen);
        a->anomalies_dropped_seen = d;
    }
    uint64_t ld = dg_log_dropped();
    if (ld > a->log_dropped_seen)
        dg_series_add(dg_metric_series(g_px.log_dropped, NULL), ld - a->log_dropped_seen);
    a->log_dropped_seen = ld;
}

static void on_metrics(struct evhttp_request *req, void *arg)
{
    dg_admin *a = arg;
    refresh(a);
    dg_buf b = DG_BUF_INIT;
    if (dg_metrics_expose(g_px.reg, &b)) {
        reply(req, 503, "text/plain", "out of memory\n", 14);
        dg_buf_free(&b);
        return;
    }
    reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    dg_buf_free(&b);
}

static void on_healthz(struct evhttp_request *req, void *arg)
{
    (void)arg;
    reply(req, 200, "text/plain", "ok\n", 3);
}

static void on_readyz(struct evhttp_request *req, void *arg)
{
    dg_admin *a = arg;
    if (a->ready)
        reply(req, 200, "text/plain", "ready\n", 6);
    else
        reply(req, 503, "text/plain", "not ready\n", 10);
}

static json_t *api_json(const dg_px_api *api)
{
    const dg_api *c = api->cfg;
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(c->name));
    json_object_set_new(o, "mode", json_string(dg_mode_name(c->policy.mode)));
    json_object_set_new(o, "profile", json_string(dg_profile_name(c->policy.profile)));
    if (c->listen)
        json_object_set_new(o, "listen", json_string(c->listen));
    if (c->match_host)
        json_object_set_new(o, "match_host", json_string(c->match_host));
    if (c->match_path_prefix)
        json_object_set_new(o, "match_path_prefix", json_string(c->match_path_prefix));
    json_t *ups = json_array();
    for (size_t i = 0; i < c->n_upstreams; i++)
        json_array_append_new(ups, json_string(c->upstreams[i].url));
    json_object_set_new(o, "upstreams", ups);
    json_t *specs = json_array();
    for (size_t i = 0; i < c->n_specs; i++) {
        json_t *s = json_object();
        json_object_set_new(s, "path", json_string(c->specs[i]));
        json_object_set_new(s, "sha256", json_string(dg_spec_hash(api->specs[i])));
        json_object_set_new(s, "openapi", json_string(dg_spec_version(api->specs[i])));
        json_object_set_new(
            s, "operations",
            json_integer((json_int_t)dg_router_count(dg_spec_router(api->specs[i]))));
        json_array_append_new(specs, s);
    }
    json_object_set_new(o, "specs", specs);
    return o;
}

static void on_status(struct evhttp_request *req, void *arg)
{
    dg_admin *a = arg;
    refresh(a);
    dg_snapshot *s = dg_snapshot_acquire();
    json_t *o = json_object();
    json_object_set_new(o, "version", json_string(DG_VERSION));
    json_object_set_new(o, "ready", json_boolean(a->ready));
    json_object_set_new(o, "config_source", json_string(a->source ? a->source : ""));
    if (s) {
        json_object_set_new(o, "config_version", json_integer((json_int_t)s->version));
        dg_buf ts = DG_BUF_INIT;
        dg_log_format_ts(&ts, s->loaded_at_ns);
        json_object_set_new(o, "config_loaded_at", json_string(ts.data ? ts.data : ""));
        dg_buf_free(&ts);
        json_object_set_new(o, "workers", json_integer(s->n_workers));
        json_t *apis = json_array();
        for (size_t i = 0; i < s->n_apis; i++)
            json_array_append_new(apis, api_json(&s->apis[i]));
        json_object_set_new(o, "apis", apis);
    }
    json_t *c = json_object();
    json_object_set_new(c, "requests", json_integer((json_int_t)atomic_load(&g_px.n_requests)));
    json_object_set_new(c, "valid", json_integer((json_int_t)atomic_load(&g_px.n_valid)));
    json_object_set_new(c, "invalid", json_integer((json_int_t)atomic_load(&g_px.n_invalid)));
    json_object_set_new(c, "skipped", json_integer((json_int_t)atomic_load(&g_px.n_skipped)));
    json_object_set_new(c, "error", json_integer((json_int_t)atomic_load(&g_px.n_error)));
    json_object_set_new(c, "reloads_succeeded",
                        json_integer((json_int_t)atomic_load(&g_px.n_reload_ok)));
    json_object_set_new(c, "reloads_failed",
                        json_integer((json_int_t)atomic_load(&g_px.n_reload_fail)));
    if (g_px.anomalies) {
        json_object_set_new(c, "anomaly_queue_depth",
                            json_integer((json_int_t)dg_px_anomaly_depth()));
        json_object_set_new(c, "anomalies_dropped",
                            json_integer((json_int_t)dg_px_anomaly_dropped()));
    }
    json_object_set_new(o, "counters", c);
    dg_snapshot_unref(s);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text) {
        reply(req, 503, "text/plain", "out of memory\n", 14);
        return;
    }
    reply(req, 200, "application/json", text, strlen(text));
    free(text);
}

static void on_other(struct evhttp_request *req, void *arg)
{
    (void)arg;
    static const char msg[] = "not found: try /metrics /healthz /readyz /status\n";
    reply(req, 404, "text/plain", msg, sizeof msg - 1);
}

int dg_admin_start(struct event_base *base, const char *addr, const char *source,
                   dg_admin **out, char *why, size_t why_len)
{
    dg_admin *a = calloc(1, sizeof *a);
    if (!a || !(a->http = evhttp_new(base))) {
        free(a);
        snprintf(why, why_len, "out of memory");
        return DG_ENOMEM;
    }
    a->source = source;
    evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_max_headers_size(a->http, 16384);
    evhttp_set_max_body_size(a->http, 0);
    evhttp_set_timeout(a->http, 10);
    evhttp_set_cb(a->http, "/metrics", on_metrics, a);
    evhttp_set_cb(a->http, "/healthz", on_healthz, a);
    evhttp_set_cb(a->http, "/readyz", on_readyz, a);
    evhttp_set_cb(a->http, "/status", on_status, a);
    evhttp_set_gencb(a->http, on_other, a);
    char host[256];
    const char *colon = strrchr(addr, ':');
    size_t hl = colon ? (size_t)(colon - addr) : 0;
    if (!colon || hl >= sizeof host) {
        snprintf(why, why_len, "cannot parse admin address %s", addr);
        dg_admin_free(a);
        return DG_EINVAL;
    }
    memcpy(host, addr, hl);
    host[hl] = 0;
    char *h = host;
    if (h[0] == '[' && hl >= 2) {
        h[hl - 1] = 0;
        h++;
    }
    if (!evhttp_bind_socket_with_handle(a->http, h, (ev_uint16_t)atoi(colon + 1))) {
        snprintf(why, why_len, "cannot listen on admin address %s", addr);
        dg_admin_free(a);
        return DG_EIO;
    }
    *out = a;
    return 0;
}

void dg_admin_set_ready(dg_admin *a, int ready)
{
    if (a)
        a->ready = ready;
}

void dg_admin_free(dg_admin *a)
{
    if (!a)
        return;
    if (a->http)
        evhttp_free(a->http);
    free(a);
}
