/* proxy/server.c: the client side of the proxy: accepting connections,
 * reading request heads and bodies within limits and timeouts, choosing
 * the configured API (never a destination from the Host header), and
 * driftgate's own answers (400/404/408/413/431/501/502/504 as
 * application/problem+json). */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "proxy/exchange.h"

static void cc_read(struct bufferevent *bev, void *arg);
static void cc_write(struct bufferevent *bev, void *arg);
static void cc_event(struct bufferevent *bev, short what, void *arg);

static void client_error(const char *reason)
{
    const char *v[1] = {reason};
    dg_series_inc(dg_metric_series(g_px.client_errors, v));
}

static struct timeval ms_tv(uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

static void cc_free(dg_cconn *cc)
{
    dg_worker *w = cc->w;
    if (cc->ex)
        dg_exchange_free(cc->ex);
    cc->ex = NULL;
    if (cc->prev)
        cc->prev->next = cc->next;
    else
        w->conns = cc->next;
    if (cc->next)
        cc->next->prev = cc->prev;
    if (cc->timer)
        event_free(cc->timer);
    bufferevent_free(cc->bev);
    free(cc);
    dg_server_conn_closed(w);
}

void dg_cconn_abort(dg_cconn *cc) { cc_free(cc); }

/* Arms the connection timer: header timeout while a head is being read,
 * keep-alive idle timeout between requests. */
static void arm_timer(dg_cconn *cc, int for_header)
{
    const dg_limits *l = &cc->w->snap->cfg->limits;
    struct timeval tv = ms_tv(for_header ? l->client_header_timeout_ms : l->keepalive_timeout_ms);
    cc->head_timer_armed = for_header;
    evtimer_add(cc->timer, &tv);
}

static void cc_timer(evutil_socket_t fd, short what, void *arg)
{
    dg_cconn *cc = arg;
    (void)fd;
    (void)what;
    if (cc->state != CC_HEAD)
        return;
    if (cc->head_timer_armed &&
        evbuffer_get_length(bufferevent_get_input(cc->bev)) > 0) {
        client_error("header_timeout");
        dg_cconn_problem(cc, 408, "request-timeout", "Request header timeout",
                         "the request head did not arrive in time", NULL, 1);
        return;
    }
    cc_free(cc); /* idle keep-alive connection */
}

void dg_server_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
    dg_worker *w = arg;
    (void)len;
    dg_cconn *cc = calloc(1, sizeof *cc);
    if (!cc) {
        evutil_closesocket(fd);
        return;
    }
    dg_worker_snapshot(w);
    cc->w = w;
    cc->listen_addr = NULL;
    for (size_t i = 0; i < w->n_listeners; i++)
        if (w->listeners[i] == l)
            cc->listen_addr = w->listen_addrs[i];
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, cc->peer, sizeof cc->peer);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, cc->peer, sizeof cc->peer);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    cc->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    cc->timer = evtimer_new(w->base, cc_timer, cc);
    if (!cc->bev || !cc->timer) {
        if (cc->bev)
            bufferevent_free(cc->bev);
        else
            evutil_closesocket(fd);
        if (cc->timer)
            event_free(cc->timer);
        free(cc);
        return;
    }
    cc->next = w->conns;
    if (w->conns)
        w->conns->prev = cc;
    w->conns = cc;
    w->n_conns++;
    dg_series_gauge_add(dg_metric_series(g_px.connections_active, NULL), 1);
    if (w->n_conns >= w->max_conns && !w->listeners_paused) {
        for (size_t i = 0; i < w->n_listeners; i++)
            evconnlistener_disable(w->listeners[i]);
        w->listeners_paused = 1;
        dg_logf(DG_LOG_WARN, "worker %u: max_connections reached, accepting paused", w->id);
    }
    const dg_limits *lim = &w->snap->cfg->limits;
    struct timeval wt = ms_tv(lim->upstream_read_timeout_ms);
    bufferevent_set_timeouts(cc->bev, NULL, &wt);
    /* Reading stays enabled for the connection's life (toggling it costs
     * two epoll_ctl per request); while a request is in flight, pipelined
     * bytes wait in the input, which this bound keeps small. One byte over
     * the head limit lets an oversized head be recognised. */
    bufferevent_setwatermark(cc->bev, EV_READ, 0, (size_t)lim->max_header_bytes + 1);
    bufferevent_setcb(cc->bev, cc_read, cc_write, cc_event, cc);
    /* Writes go out directly (dg_cconn_flush); EV_WRITE is armed only while
     * the socket lags behind. */
    bufferevent_disable(cc->bev, EV_WRITE);
    bufferevent_enable(cc->bev, EV_READ);
    cc->state = CC_HEAD;
    arm_timer(cc, 1);
}

void dg_problem_body(dg_buf *b, int status, const char *type, const char *title,
                     const char *detail, const char *api)
{
    dg_buf_printf(b, "{\"type\":\"https://driftgate.dev/problems/%s\",\"title\":\"", type);
    dg_buf_append_json_str(b, title, strlen(title));
    dg_buf_printf(b, "\",\"status\":%d", status);
    if (detail) {
        dg_buf_printf(b, ",\"detail\":\"");
        dg_buf_append_json_str(b, detail, strlen(detail));
        dg_buf_putc(b, '"');
    }
    if (api) {
        dg_buf_printf(b, ",\"api\":\"");
        dg_buf_append_json_str(b, api, strlen(api));
        dg_buf_putc(b, '"');
    }
    dg_buf_putc(b, '}');
}

void dg_problem_write(struct evbuffer *out, int status, const dg_buf *body, const char *extra,
                      int close, int head_only)
{
    evbuffer_add_printf(out,
                        "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\n"
                        "Content-Length: %zu\r\nCache-Control: no-store\r\n%s%s\r\n",
                        status, dg_http_reason(status), body->len, extra,
                        close ? "Connection: close\r\n" : "");
    if (!head_only && body->data)
        evbuffer_add(out, body->data, body->len);
}

void dg_cconn_problem(dg_cconn *cc, int status, const char *type, const char *title,
                      const char *detail, const char *api, int close)
{
    /* Answered before the request body was read: its bytes would be
     * taken for the next request, so the connection cannot be reused. */
    if (cc->ex && cc->state != CC_BUSY && cc->ex->rqf.body != DG_BODY_NONE)
        close = 1;
    dg_buf body = DG_BUF_INIT;
    dg_problem_body(&body, status, type, title, detail, api);
    struct evbuffer *out = bufferevent_get_output(cc->bev);
    int head_only = cc->ex && cc->ex->head_req;
    dg_problem_write(out, status, &body, "", close, head_only);
    dg_buf_free(&body);
    if (close)
        cc->close_after = 1;
    if (cc->ex) {
        dg_exchange_count_request(cc->ex, status);
        cc->ex->finished = 1;
    }
    cc->state = close ? CC_CLOSING : CC_BUSY;
    if (!cc->ex && !close)
        cc->state = CC_HEAD;
    dg_cconn_response_finished(cc);
}

const dg_px_api *dg_px_route(dg_px_api *const *apis, size_t n_apis, const char *host,
                             size_t host_len, const char *path, size_t *strip)
{
    /* Host without port, case-insensitive. */
    size_t hl = host_len;
    if (host && hl && host[0] != '[') {
        const char *c = memchr(host, ':', hl);
        if (c)
            hl = (size_t)(c - host);
    } else if (host && hl) {
        const char *c = memchr(host, ']', hl);
        if (c)
            hl = (size_t)(c - host) + 1;
    }
    for (size_t i = 0; i < n_apis; i++) {
        const dg_api *a = apis[i]->cfg;
        if (a->match_host &&
            (!host || strlen(a->match_host) != hl || strncasecmp(a->match_host, host, hl)))
            continue;
        size_t pl = 0;
        if (a->match_path_prefix) {
            pl = strlen(a->match_path_prefix);
            while (pl && a->match_path_prefix[pl - 1] == '/')
                pl--;
            if (strncmp(path, a->match_path_prefix, pl) ||
                (path[pl] && path[pl] != '/' && path[pl] != '?'))
                continue;
        }
        *strip = a->strip_prefix ? pl : 0;
        return apis[i];
    }
    return NULL;
}

/* Picks the API for a request on cc's listener: host and path-prefix
 * matches among the configured APIs only. Sets *strip to the prefix
 * length to remove. */
static const dg_px_api *route_api(const dg_snapshot *s, const char *listen_addr,
                                  const char *host, size_t host_len, const char *path,
                                  size_t *strip)
{
    const dg_px_listener *l = NULL;
    for (size_t i = 0; i < s->n_listeners; i++)
        if (listen_addr && !strcmp(s->listeners[i].addr, listen_addr))
            l = &s->listeners[i];
    if (!l)
        return NULL;
    return dg_px_route(l->apis, l->n_apis, host, host_len, path, strip);
}

static int idempotent_method(const char *m)
{
    static const char *const ok[] = {"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!strcmp(m, ok[i]))
            return 1;
    return 0;
}

static char *arena_hdr(dg_arena *a, const dg_http_head *h, const char *name)
{
    const dg_http_header *f = dg_http_find(h, name);
    return f ? dg_arena_strndup(a, f->value, f->value_len) : NULL;
}

/* The request head is complete in the input: parse it, route it, and
 * either answer it ourselves or start reading the body. Returns 1 when the
 * connection is still usable for reading more now. */
static int handle_head(dg_cconn *cc, size_t head_len)
{
    dg_worker *w = cc->w;
    dg_snapshot *snap = dg_worker_snapshot(w);
    const dg_limits *lim = &snap->cfg->limits;
    struct evbuffer *in = bufferevent_get_input(cc->bev);
    dg_exchange *ex = calloc(1, sizeof *ex);
    if (!ex) {
        cc_free(cc);
        return 0;
    }
    ex->cc = cc;
    ex->w = w;
    ex->snap = snap;
    dg_snapshot_ref(snap);
    ex->t0 = dg_px_now_ns();
    ex->rstate = RS_HEAD;
    cc->ex = ex;
    cc->n_requests++;
    evtimer_del(cc->timer);
    char *raw = dg_arena_alloc(&ex->arena, head_len + 1);
    size_t maxh = lim->max_headers ? lim->max_headers : 100;
    dg_http_header *hdrs = dg_arena_alloc(&ex->arena, maxh * sizeof *hdrs);
    if (!raw || !hdrs) {
        cc_free(cc);
        return 0;
    }
    evbuffer_remove(in, raw, head_len);
    raw[head_len] = 0;
    dg_error err = {0};
    int rc = dg_http_parse_request(raw, head_len, hdrs, maxh, &ex->rq, &err);
    if (rc == DG_ELIMIT) {
        client_error("too_many_headers");
        dg_cconn_problem(cc, 431, "request-header-too-large", "Too many request header fields",
                         err.msg, NULL, 1);
        return 0;
    }
    if (rc <= 0) {
        client_error("bad_request");
        dg_cconn_problem(cc, 400, "bad-request", "Malformed request", err.msg, NULL, 1);
        return 0;
    }
    ex->method = dg_arena_strndup(&ex->arena, ex->rq.method, ex->rq.method_len);
    ex->head_req = !strcmp(ex->method, "HEAD");
    ex->idempotent = idempotent_method(ex->method);
    ex->client_minor = ex->rq.minor_version;
    rc = dg_http_request_framing(&ex->rq, &ex->rqf, &err);
    ex->client_keepalive = ex->rqf.keep_alive;
    if (!ex->client_keepalive || w->draining)
        cc->close_after = 1;
    if (rc == DG_EINVAL) {
        client_error("unsupported_transfer_encoding");
        dg_cconn_problem(cc, 501, "not-implemented", "Transfer-Encoding not supported", err.msg,
                         NULL, 1);
        return 0;
    }
    if (rc) {
        client_error("bad_request");
        dg_cconn_problem(cc, 400, "bad-request", "Malformed request framing", err.msg, NULL, 1);
        return 0;
    }
    if (!strcmp(ex->method, "CONNECT") || ex->rqf.has_upgrade) {
        client_error("method_not_allowed");
        dg_cconn_problem(cc, 405, "method-not-allowed", "Method not supported by driftgate",
                         "CONNECT and protocol upgrades are not proxied", NULL,
                         cc->close_after);
        return 0;
    }
    /* Origin form only; an absolute-form target keeps just its path so a
     * request can never name its own destination. */
    const char *t = ex->rq.target;
    size_t tl = ex->rq.target_len;
    if (tl > 8 && (!strncasecmp(t, "http://", 7) || !strncasecmp(t, "https://", 8))) {
        const char *p = memchr(t + 8, '/', tl - 8);
        tl = p ? tl - (size_t)(p - t) : 1;
        t = p ? p : "/";
    }
    if (!tl || t[0] != '/') {
        client_error("bad_request");
        dg_cconn_problem(cc, 400, "bad-request", "Unsupported request target",
                         "the request target must be an absolute path", NULL, cc->close_after);
        return 0;
    }
    char *path = dg_arena_strndup(&ex->arena, t, tl);
    ex->host = arena_hdr(&ex->arena, &ex->rq, "Host");
    ex->request_id = arena_hdr(&ex->arena, &ex->rq, "X-Request-Id");
    ex->traceparent = arena_hdr(&ex->arena, &ex->rq, "traceparent");
    if (ex->request_id && strlen(ex->request_id) > 128)
        ex->request_id[128] = 0;
    if (!ex->request_id) {
        /* An id to correlate the log line, the anomalies and the upstream's
         * own logs (forwarded as X-Request-Id), as nginx's $request_id. */
        static _Atomic uint64_t seq;
        uint64_t a = (uint64_t)dg_px_wall_ns() ^ ((uint64_t)w->id << 56);
        uint64_t b = atomic_fetch_add(&seq, 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)ex;
        ex->request_id = dg_arena_alloc(&ex->arena, 33);
        if (ex->request_id) {
            snprintf(ex->request_id, 33, "%016llx%016llx", (unsigned long long)a,
                     (unsigned long long)b);
            ex->request_id_generated = 1;
        }
    }
    if (ex->traceparent && strlen(ex->traceparent) > 128)
        ex->traceparent[128] = 0;
    size_t strip = 0;
    ex->api = route_api(snap, cc->listen_addr, ex->host, ex->host ? strlen(ex->host) : 0, path,
                        &strip);
    if (!ex->api) {
        client_error("no_api");
        dg_cconn_problem(cc, 404, "no-api", "No API is configured for this request",
                         "driftgate forwards only to configured upstreams", NULL,
                         cc->close_after);
        return 0;
    }
    ex->path = path + strip;
    if (!ex->path[0] || ex->path[0] == '?') {
        char *p2 = dg_arena_alloc(&ex->arena, strlen(ex->path) + 2);
        if (p2) {
            p2[0] = '/';
            strcpy(p2 + 1, ex->path);
            ex->path = p2;
        }
    }
    if (ex->rqf.body == DG_BODY_LENGTH && ex->rqf.length > lim->max_request_body) {
        client_error("request_body_too_large");
        dg_cconn_problem(cc, 413, "content-too-large", "Request body too large",
                         "the request body exceeds max_request_body", ex->api->cfg->name, 1);
        return 0;
    }
    if (ex->rqf.body == DG_BODY_NONE) {
        cc->state = CC_BUSY;
        dg_exchange_start(ex);
        return 0;
    }
    if (ex->rqf.expect_continue && ex->client_minor >= 1)
    {
        evbuffer_add(bufferevent_get_output(cc->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
        dg_cconn_flush(cc);
    }
    ex->req_left = ex->rqf.length;
    dg_chunked_init(&ex->req_chunked);
    cc->state = CC_BODY;
    struct timeval bt = ms_tv(lim->client_body_timeout_ms);
    struct timeval wt = ms_tv(lim->upstream_read_timeout_ms);
    bufferevent_set_timeouts(cc->bev, &bt, &wt);
    return 1;
}

static int req_payload(void *ctx, const char *p, size_t n)
{
    dg_exchange *ex = ctx;
    if (ex->req_body.len + n > ex->snap->cfg->limits.max_request_body)
        return DG_ELIMIT;
    return dg_buf_append(&ex->req_body, p, n) ? DG_ENOMEM : 0;
}

/* Reads request body bytes; starts the upstream exchange once complete. */
static void read_body(dg_cconn *cc)
{
    dg_exchange *ex = cc->ex;
    struct evbuffer *in = bufferevent_get_input(cc->bev);
    int done = 0;
    while (!done && evbuffer_get_length(in)) {
        struct evbuffer_iovec v[8];
        int nv = evbuffer_peek(in, -1, NULL, v, 8);
        size_t took = 0;
        for (int i = 0; i < nv && !done; i++) {
            const char *p = v[i].iov_base;
            size_t len = v[i].iov_len, use;
            if (ex->rqf.body == DG_BODY_LENGTH) {
                use = len < ex->req_left ? len : (size_t)ex->req_left;
                if (dg_buf_append(&ex->req_body, p, use)) {
                    cc_free(cc);
                    return;
                }
                ex->req_left -= use;
                done = ex->req_left == 0;
            } else {
                dg_error err = {0};
                ssize_t r = dg_chunked_feed(&ex->req_chunked, p, len, req_payload, ex, &err);
                if (r == DG_ELIMIT) {
                    client_error("request_body_too_large");
                    dg_cconn_problem(cc, 413, "content-too-large", "Request body too large",
                                     "the request body exceeds max_request_body",
                                     ex->api->cfg->name, 1);
                    return;
                }
                if (r < 0) {
                    client_error("bad_request");
                    dg_cconn_problem(cc, 400, "bad-request", "Malformed chunked request body",
                                     err.msg, ex->api->cfg->name, 1);
                    return;
                }
                use = (size_t)r;
                done = ex->req_chunked.done;
            }
            took += use;
            if (use < len)
                break;
        }
        evbuffer_drain(in, took);
    }
    if (ex->rqf.body == DG_BODY_LENGTH && ex->req_left == 0)
        done = 1;
    if (!done)
        return;
    const dg_limits *lim = &ex->snap->cfg->limits;
    struct timeval wt = ms_tv(lim->upstream_read_timeout_ms);
    bufferevent_set_timeouts(cc->bev, NULL, &wt);
    cc->state = CC_BUSY;
    dg_exchange_start(ex);
}

static void cc_read(struct bufferevent *bev, void *arg)
{
    dg_cconn *cc = arg;
    (void)bev;
    if (cc->state == CC_BODY) {
        read_body(cc);
        return;
    }
    if (cc->state != CC_HEAD)
        return;
    struct evbuffer *in = bufferevent_get_input(cc->bev);
    const dg_limits *lim = &cc->w->snap->cfg->limits;
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        if (!avail)
            return;
        if (!cc->head_timer_armed)
            arm_timer(cc, 1); /* the first byte of a head starts its timeout */
        /* Empty lines before a request line are allowed (RFC 9112 2.2). */
        unsigned char *lead = evbuffer_pullup(in, avail < 2 ? (ev_ssize_t)avail : 2);
        if (lead && lead[0] == '\r' && (avail < 2 || lead[1] == '\n')) {
            if (avail < 2)
                return;
            evbuffer_drain(in, 2);
            continue;
        }
        struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (end.pos < 0) {
            if (avail > lim->max_header_bytes) {
                client_error("header_too_large");
                dg_cconn_problem(cc, 431, "request-header-too-large",
                                 "Request header fields too large",
                                 "the request head exceeds max_header_bytes", NULL, 1);
            }
            return;
        }
        size_t head_len = (size_t)end.pos + 4;
        if (head_len > lim->max_header_bytes) {
            client_error("header_too_large");
            dg_cconn_problem(cc, 431, "request-header-too-large",
                             "Request header fields too large",
                             "the request head exceeds max_header_bytes", NULL, 1);
            return;
        }
        if (!handle_head(cc, head_len))
            return;
        if (cc->state == CC_BODY) {
            read_body(cc);
            return;
        }
    }
}

void dg_cconn_flush(dg_cconn *cc)
{
    struct evbuffer *out = bufferevent_get_output(cc->bev);
    if (!evbuffer_get_length(out))
        return;
    if (!cc->write_armed) {
        /* A hard error leaves the data queued: the armed write meets the
         * error again and reports it through cc_event. */
        evbuffer_unfreeze(out, 1); /* the bufferevent freezes its output's start */
        evbuffer_write(out, bufferevent_getfd(cc->bev));
        evbuffer_freeze(out, 1);
        if (!evbuffer_get_length(out))
            return;
        cc->write_armed = 1;
        bufferevent_enable(cc->bev, EV_WRITE);
    }
}

/* Never calls back synchronously: callers may still be using the exchange. */
void dg_cconn_response_finished(dg_cconn *cc)
{
    dg_cconn_flush(cc);
    bufferevent_trigger(cc->bev, EV_WRITE, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

/* Between requests: close, or go back to reading the next head. */
static void next_request(dg_cconn *cc)
{
    if (cc->ex)
        dg_exchange_free(cc->ex);
    cc->ex = NULL;
    if (cc->close_after || cc->w->draining) {
        cc_free(cc);
        return;
    }
    cc->state = CC_HEAD;
    bufferevent_setwatermark(cc->bev, EV_WRITE, 0, 0);
    arm_timer(cc, 0);
    if (evbuffer_get_length(bufferevent_get_input(cc->bev)))
        cc_read(cc->bev, cc);
}

static void cc_write(struct bufferevent *bev, void *arg)
{
    dg_cconn *cc = arg;
    struct evbuffer *out = bufferevent_get_output(bev);
    if (cc->write_armed && !evbuffer_get_length(out)) {
        cc->write_armed = 0;
        bufferevent_disable(bev, EV_WRITE);
    }
    if (cc->state == CC_CLOSING) {
        if (evbuffer_get_length(out) == 0)
            cc_free(cc);
        return;
    }
    if (!cc->ex)
        return;
    if (!cc->ex->finished) {
        dg_exchange_client_writable(cc->ex);
        return;
    }
    if (evbuffer_get_length(out) == 0)
        next_request(cc);
}

static void cc_event(struct bufferevent *bev, short what, void *arg)
{
    dg_cconn *cc = arg;
    (void)bev;
    if (what & BEV_EVENT_TIMEOUT) {
        if (cc->state == CC_BODY) {
            client_error("body_timeout");
            bufferevent_set_timeouts(cc->bev, NULL, NULL);
            dg_cconn_problem(cc, 408, "request-timeout", "Request body timeout",
                             "the request body did not arrive in time",
                             cc->ex && cc->ex->api ? cc->ex->api->cfg->name : NULL, 1);
            return;
        }
        client_error("write_timeout");
    } else if (cc->ex && !cc->ex->finished) {
        client_error("client_closed");
    }
    cc_free(cc);
}

void dg_server_drain(dg_worker *w)
{
    dg_cconn *cc = w->conns;
    while (cc) {
        dg_cconn *next = cc->next;
        if (cc->state == CC_HEAD && evbuffer_get_length(bufferevent_get_input(cc->bev)) == 0)
            cc_free(cc);
        else
            cc->close_after = 1;
        cc = next;
    }
}
