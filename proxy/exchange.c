/* proxy/exchange.c: the upstream side of one exchange.
 *
 * The response body's wire bytes are relayed as they are (Content-Length
 * bodies byte for byte, chunked bodies with their chunk framing to HTTP/1.1
 * clients), while the framing is parsed on the side to find the end of the
 * message and to hand the payload to the verdict. monitor streams; enforce
 * holds the body (up to the policy's enforce_max_body) until the verdict.
 * Client output above DG_PX_HIGH_WATER pauses reading from the upstream, so
 * memory per connection stays bounded whatever the body size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "proxy/exchange.h"

static const dg_uconn_ops up_ops;

void dg_exchange_count_request(dg_exchange *ex, int status)
{
    char cls[4] = {(char)('0' + (status / 100) % 10), 'x', 'x', 0};
    const char *v[3] = {ex->api ? ex->api->cfg->name : "none",
                        ex->api ? dg_verdict_op_label(ex->vd.op) : "unmatched", cls};
    dg_series_inc(dg_metric_series(g_px.requests, v));
    atomic_fetch_add(&g_px.n_requests, 1);
}

void dg_exchange_free(dg_exchange *ex)
{
    if (!ex)
        return;
    if (ex->uc)
        dg_upstream_release(ex->uc, 0);
    dg_verdict_free(&ex->vd);
    if (ex->held)
        evbuffer_free(ex->held);
    dg_buf_free(&ex->req_body);
    dg_buf_free(&ex->up_req);
    dg_arena_free(&ex->arena);
    dg_snapshot_unref(ex->snap);
    free(ex);
}

/* Builds the request for upstream u: our own Host, X-Forwarded-*, Via;
 * hop-by-hop fields dropped; the body (already de-chunked) with its
 * Content-Length. */
static int build_request(dg_exchange *ex, size_t u)
{
    const dg_api *a = ex->api->cfg;
    const dg_upstream_url *up = &a->upstreams[u];
    dg_buf *b = &ex->up_req;
    dg_buf_reset(b);
    dg_buf_printf(b, "%s %s%s HTTP/1.1\r\n", ex->method, up->base_path ? up->base_path : "",
                  ex->path);
    const char *host = a->preserve_host && ex->host ? ex->host : ex->api->host_hdr[u];
    dg_buf_printf(b, "Host: %s\r\n", host);
    const char *xff = NULL, *via = NULL;
    size_t xff_len = 0, via_len = 0;
    for (size_t i = 0; i < ex->rq.n_headers; i++) {
        const dg_http_header *h = &ex->rq.headers[i];
        /* replaced by our own below, or handled by driftgate itself */
        if (dg_http_is_hop_by_hop(&ex->rq, h) || dg_http_name_is(h, "Host") ||
            dg_http_name_is(h, "Content-Length") || dg_http_name_is(h, "Expect") ||
            dg_http_name_is(h, "X-Forwarded-Proto") || dg_http_name_is(h, "X-Forwarded-Host"))
            continue;
        if (dg_http_name_is(h, "X-Forwarded-For")) {
            xff = h->value;
            xff_len = h->value_len;
            continue;
        }
        if (dg_http_name_is(h, "Via")) {
            via = h->value;
            via_len = h->value_len;
            continue;
        }
        dg_buf_append(b, h->name, h->name_len);
        dg_buf_append(b, ": ", 2);
        dg_buf_append(b, h->value, h->value_len);
        dg_buf_append(b, "\r\n", 2);
    }
    if (xff)
        dg_buf_printf(b, "X-Forwarded-For: %.*s, %s\r\n", (int)xff_len, xff, ex->cc->peer);
    else
        dg_buf_printf(b, "X-Forwarded-For: %s\r\n", ex->cc->peer);
    dg_buf_printf(b, "X-Forwarded-Proto: http\r\n");
    if (ex->request_id_generated)
        dg_buf_printf(b, "X-Request-Id: %s\r\n", ex->request_id);
    if (ex->host)
        dg_buf_printf(b, "X-Forwarded-Host: %s\r\n", ex->host);
    if (via)
        dg_buf_printf(b, "Via: %.*s, 1.%d driftgate\r\n", (int)via_len, via, ex->client_minor);
    else
        dg_buf_printf(b, "Via: 1.%d driftgate\r\n", ex->client_minor);
    if (ex->rqf.body != DG_BODY_NONE)
        dg_buf_printf(b, "Content-Length: %zu\r\n", ex->req_body.len);
    dg_buf_append(b, "\r\n", 2);
    if (ex->req_body.len)
        dg_buf_append(b, ex->req_body.data, ex->req_body.len);
    return b->data ? 0 : DG_ENOMEM;
}

static void upstream_error_metric(dg_exchange *ex, dg_up_err e)
{
    const char *v[2] = {ex->api->cfg->name, dg_up_err_name(e)};
    dg_series_inc(dg_metric_series(g_px.upstream_errors, v));
}

static void send_request(dg_exchange *ex)
{
    dg_upstream_set_timeouts(ex->uc, &ex->snap->cfg->limits);
    size_t off = 0;
    /* Plain TCP with nothing queued: write now, and let the bufferevent
     * (and EPOLLOUT) carry only what the socket did not take. Errors are
     * left to the bufferevent, which reports them through the usual path. */
    if (!ex->uc->tls && ex->uc->connected &&
        !evbuffer_get_length(bufferevent_get_output(ex->uc->bev))) {
        ssize_t n = send(bufferevent_getfd(ex->uc->bev), ex->up_req.data, ex->up_req.len,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
            off = (size_t)n;
    }
    if (off < ex->up_req.len)
        bufferevent_write(ex->uc->bev, ex->up_req.data + off, ex->up_req.len - off);
}

static void try_upstream(dg_exchange *ex)
{
    const dg_api *a = ex->api->cfg;
    ex->upstream_idx = (size_t)(ex->w->rr++ % a->n_upstreams);
    ex->attempts++;
    ex->got_bytes = 0;
    if (build_request(ex, ex->upstream_idx)) {
        dg_cconn_problem(ex->cc, 502, "upstream-unavailable", "Bad gateway", "out of memory",
                         a->name, 1);
        return;
    }
    char detail[256] = "";
    ex->uc = dg_upstream_get(ex->w, ex->snap, ex->api, ex->upstream_idx, &up_ops, ex, detail,
                             sizeof detail);
    if (!ex->uc) {
        upstream_error_metric(ex, DG_UPERR_CONNECT);
        dg_cconn_problem(ex->cc, 502, "upstream-unavailable", "Bad gateway", detail, a->name,
                         ex->cc->close_after);
        return;
    }
    const char *st[2] = {a->name, ex->uc->reused ? "reused" : "new"};
    dg_series_inc(dg_metric_series(g_px.upstream_conns, st));
    if (ex->uc->reused)
        send_request(ex);
}

void dg_exchange_start(dg_exchange *ex)
{
    ex->t_up0 = dg_px_now_ns();
    /* The operation is known from the request alone. */
    const dg_px_api *api = ex->api;
    for (size_t i = 0; i < api->cfg->n_specs && !ex->vd.op; i++) {
        const dg_router *r = dg_spec_router(api->specs[i]);
        const char *q = strchr(ex->path, '?');
        size_t plen = q ? (size_t)(q - ex->path) : strlen(ex->path);
        const dg_route_op *op = dg_router_match(r, ex->method, ex->path, plen);
        if (!op && ex->head_req)
            op = dg_router_match(r, "GET", ex->path, plen);
        if (op) {
            ex->vd.op = op;
            ex->vd.spec_i = i;
        }
    }
    ex->vd.snap = ex->snap;
    ex->vd.api = api;
    ex->vd.worker = ex->w->id;
    ex->vd.arena = &ex->arena;
    ex->vd.rng = &ex->w->rng;
    ex->vd.pol = ex->vd.op ? dg_policy_for_operation(api->cfg, ex->vd.op->operation_id,
                                                     ex->vd.op->label)
                           : &api->cfg->policy;
    try_upstream(ex);
}

/* ---- response ---- */

static void append_head(dg_exchange *ex, struct evbuffer *out, const char *result)
{
    const dg_http_head *h = &ex->rs;
    evbuffer_add_printf(out, "HTTP/1.1 %d %.*s\r\n", h->status, (int)h->reason_len, h->reason);
    const char *via = NULL;
    size_t via_len = 0;
    for (size_t i = 0; i < h->n_headers; i++) {
        const dg_http_header *f = &h->headers[i];
        if (dg_http_is_hop_by_hop(h, f))
            continue;
        if (dg_http_name_is(f, "Via")) {
            via = f->value;
            via_len = f->value_len;
            continue;
        }
        if (result && dg_http_name_is(f, "X-Driftgate-Result"))
            continue;
        evbuffer_add(out, f->name, f->name_len);
        evbuffer_add(out, ": ", 2);
        evbuffer_add(out, f->value, f->value_len);
        evbuffer_add(out, "\r\n", 2);
    }
    if (via)
        evbuffer_add_printf(out, "Via: %.*s, 1.%d driftgate\r\n", (int)via_len, via,
                            h->minor_version);
    else
        evbuffer_add_printf(out, "Via: 1.%d driftgate\r\n", h->minor_version);
    if (ex->rf.body == DG_BODY_CHUNKED && !ex->dechunk)
        evbuffer_add(out, "Transfer-Encoding: chunked\r\n", 28);
    if (result)
        evbuffer_add_printf(out, "X-Driftgate-Result: %s\r\n", result);
    if (ex->cc->close_after)
        evbuffer_add(out, "Connection: close\r\n", 19);
    else if (ex->client_minor == 0)
        evbuffer_add(out, "Connection: keep-alive\r\n", 24);
    evbuffer_add(out, "\r\n", 2);
}

static void finish_exchange(dg_exchange *ex, int reuse_upstream)
{
    dg_uconn *uc = ex->uc;
    ex->uc = NULL;
    dg_upstream_release(uc, reuse_upstream);
    ex->finished = 1;
    dg_cconn_response_finished(ex->cc);
}

static void report(dg_exchange *ex)
{
    int64_t now = dg_px_now_ns();
    const char *hv[1] = {ex->api->cfg->name};
    dg_series_observe(dg_metric_series(g_px.upstream_seconds, hv),
                      (double)(now - ex->t_up0) / 1e9);
    dg_verdict_ctx ctx = {ex->method, now - ex->t0, ex->request_id, ex->traceparent};
    dg_verdict_report(&ex->vd, &ctx);
}

/* The whole response arrived from the upstream. */
static void response_done(dg_exchange *ex)
{
    ex->rstate = RS_DONE;
    dg_verdict_finish(&ex->vd, 0);
    struct evbuffer *in = bufferevent_get_input(ex->uc->bev);
    int reuse = ex->rf.keep_alive && ex->rf.body != DG_BODY_CLOSE && !evbuffer_get_length(in);
    struct evbuffer *out = bufferevent_get_output(ex->cc->bev);
    if (ex->hold) {
        if (ex->vd.n_err) {
            dg_buf body = DG_BUF_INIT;
            dg_verdict_problem(&ex->vd, &body);
            dg_problem_write(out, 502, &body, "X-Driftgate-Result: invalid\r\nVia: 1.1 driftgate\r\n",
                             ex->cc->close_after, ex->head_req);
            dg_buf_free(&body);
            dg_exchange_count_request(ex, 502);
        } else {
            append_head(ex, out, dg_verdict_result(&ex->vd));
            evbuffer_add_buffer(out, ex->held);
            dg_exchange_count_request(ex, ex->rs.status);
        }
    } else {
        dg_exchange_count_request(ex, ex->rs.status);
    }
    report(ex);
    finish_exchange(ex, reuse);
}

/* Enforce could not hold the body (too large): send what we have and
 * stream the rest, as monitor would. */
static void hold_fallback(dg_exchange *ex)
{
    const char *v[1] = {ex->api->cfg->name};
    dg_series_inc(dg_metric_series(g_px.enforce_fallback, v));
    ex->hold = 0;
    struct evbuffer *out = bufferevent_get_output(ex->cc->bev);
    append_head(ex, out, "unchecked");
    ex->head_sent = 1;
    evbuffer_add_buffer(out, ex->held);
}

static int chunk_payload(void *ctx, const char *p, size_t n)
{
    dg_exchange *ex = ctx;
    dg_verdict_body(&ex->vd, p, n);
    if (ex->dechunk)
        evbuffer_add(ex->hold ? ex->held : bufferevent_get_output(ex->cc->bev), p, n);
    return 0;
}

static void upstream_failed_mid_body(dg_exchange *ex, dg_up_err e, const char *detail)
{
    upstream_error_metric(ex, e);
    dg_verdict_finish(&ex->vd, 1);
    report(ex);
    dg_logf(DG_LOG_WARN, "api %s: upstream failed in the middle of a response body: %s",
            ex->api->cfg->name, detail);
    dg_cconn *cc = ex->cc;
    if (!ex->head_sent) {
        /* Nothing sent yet (enforce): the client gets a clean 502. */
        if (ex->uc) {
            dg_upstream_release(ex->uc, 0);
            ex->uc = NULL;
        }
        ex->finished = 0;
        dg_cconn_problem(cc, 502, "upstream-unavailable", "Bad gateway", detail,
                         ex->api->cfg->name, 1);
        return;
    }
    /* The client already has the head: closing is the only honest signal. */
    dg_exchange_count_request(ex, ex->rs.status);
    dg_cconn_abort(cc);
}

/* Returns 1 when the exchange ended (complete or failed: ex may be gone),
 * 0 while more body is expected. */
static int relay_body(dg_exchange *ex)
{
    struct evbuffer *in = bufferevent_get_input(ex->uc->bev);
    struct evbuffer *out = bufferevent_get_output(ex->cc->bev);
    while (ex->rstate == RS_BODY && evbuffer_get_length(in)) {
        struct evbuffer_iovec v[16];
        int nv = evbuffer_peek(in, -1, NULL, v, 16);
        size_t took = 0;
        int done = 0;
        for (int i = 0; i < nv && !done; i++) {
            const char *p = v[i].iov_base;
            size_t len = v[i].iov_len, use = len;
            if (ex->rf.body == DG_BODY_LENGTH) {
                use = len < ex->rleft ? len : (size_t)ex->rleft;
                dg_verdict_body(&ex->vd, p, use);
                ex->rleft -= use;
                done = ex->rleft == 0;
            } else if (ex->rf.body == DG_BODY_CHUNKED) {
                dg_error err = {0};
                ssize_t r = dg_chunked_feed(&ex->rchunked, p, len, chunk_payload, ex, &err);
                if (r < 0) {
                    char d[600];
                    snprintf(d, sizeof d, "malformed chunked body from the upstream: %s",
                             err.msg);
                    upstream_failed_mid_body(ex, DG_UPERR_BAD_RESPONSE, d);
                    return 1;
                }
                use = (size_t)r;
                done = ex->rchunked.done;
            } else {
                dg_verdict_body(&ex->vd, p, use);
            }
            took += use;
            if (use < len)
                break;
        }
        if (ex->dechunk)
            evbuffer_drain(in, took);
        else
            evbuffer_remove_buffer(in, ex->hold ? ex->held : out, took);
        if (ex->hold && evbuffer_get_length(ex->held) > ex->vd.pol->enforce_max_body)
            hold_fallback(ex);
        if (done) {
            response_done(ex);
            return 1;
        }
    }
    dg_cconn_flush(ex->cc);
    if (!ex->hold && evbuffer_get_length(out) > DG_PX_HIGH_WATER && !ex->upstream_paused) {
        ex->upstream_paused = 1;
        bufferevent_disable(ex->uc->bev, EV_READ);
        bufferevent_setwatermark(ex->cc->bev, EV_WRITE, DG_PX_LOW_WATER, 0);
    }
    return 0;
}

void dg_exchange_client_writable(dg_exchange *ex)
{
    if (ex->upstream_paused && ex->uc &&
        evbuffer_get_length(bufferevent_get_output(ex->cc->bev)) <= DG_PX_LOW_WATER) {
        ex->upstream_paused = 0;
        bufferevent_enable(ex->uc->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_input(ex->uc->bev)))
            relay_body(ex);
    }
}

static void bad_response(dg_exchange *ex, const char *detail)
{
    upstream_error_metric(ex, DG_UPERR_BAD_RESPONSE);
    dg_logf(DG_LOG_WARN, "api %s: bad response from the upstream: %s", ex->api->cfg->name,
            detail);
    dg_upstream_release(ex->uc, 0);
    ex->uc = NULL;
    dg_cconn_problem(ex->cc, 502, "upstream-bad-response", "Bad gateway", detail,
                     ex->api->cfg->name, ex->cc->close_after);
}

/* Parses response heads (skipping or forwarding 1xx) until the final one. */
static void read_head(dg_exchange *ex)
{
    struct evbuffer *in = bufferevent_get_input(ex->uc->bev);
    const dg_limits *lim = &ex->snap->cfg->limits;
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        if (!avail)
            return;
        struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
        if (end.pos < 0) {
            if (avail > lim->max_response_header_bytes)
                bad_response(ex, "response head larger than max_response_header_bytes");
            return;
        }
        size_t head_len = (size_t)end.pos + 4;
        if (head_len > lim->max_response_header_bytes) {
            bad_response(ex, "response head larger than max_response_header_bytes");
            return;
        }
        char *raw = dg_arena_alloc(&ex->arena, head_len + 1);
        dg_http_header *hdrs = dg_arena_alloc(&ex->arena, DG_PX_MAX_HEADERS_RESP * sizeof *hdrs);
        if (!raw || !hdrs) {
            bad_response(ex, "out of memory");
            return;
        }
        evbuffer_remove(in, raw, head_len);
        raw[head_len] = 0;
        dg_error err = {0};
        int rc = dg_http_parse_response(raw, head_len, hdrs, DG_PX_MAX_HEADERS_RESP, &ex->rs,
                                        &err);
        if (rc <= 0) {
            char d[600];
            snprintf(d, sizeof d, "malformed response head: %s", err.msg);
            bad_response(ex, d);
            return;
        }
        int st = ex->rs.status;
        if (st == 101) {
            bad_response(ex, "the upstream switched protocols without being asked");
            return;
        }
        if (st >= 100 && st < 200) {
            /* 100 is ours to answer; other interim responses go to 1.1 clients. */
            if (st != 100 && ex->client_minor >= 1) {
                struct evbuffer *out = bufferevent_get_output(ex->cc->bev);
                evbuffer_add(out, raw, head_len);
                dg_cconn_flush(ex->cc);
            }
            continue;
        }
        if (dg_http_response_framing(&ex->rs, ex->method, strlen(ex->method), &ex->rf, &err)) {
            char d[600];
            snprintf(d, sizeof d, "bad response framing: %s", err.msg);
            bad_response(ex, d);
            return;
        }
        break;
    }
    /* Final head. */
    ex->rstate = RS_BODY;
    int has_body = ex->rf.body != DG_BODY_NONE &&
                   !(ex->rf.body == DG_BODY_LENGTH && ex->rf.length == 0);
    dg_verdict_head(&ex->vd, ex->rs.status, ex->rf.content_type, ex->rf.content_type_len,
                    ex->rf.content_encoding, ex->rf.content_encoding_len, has_body,
                    ex->head_req);
    if (ex->rf.body == DG_BODY_CLOSE || (ex->rf.body == DG_BODY_CHUNKED && ex->client_minor == 0))
        ex->cc->close_after = 1;
    ex->dechunk = ex->rf.body == DG_BODY_CHUNKED && ex->client_minor == 0;
    dg_chunked_init(&ex->rchunked);
    ex->rleft = ex->rf.length;
    int enforce = ex->vd.mode == DG_MODE_ENFORCE;
    if (enforce && (ex->vd.validating || ex->vd.n_err)) {
        ex->hold = 1;
        ex->held = evbuffer_new();
        if (!ex->held)
            ex->hold = 0;
    }
    if (!ex->hold) {
        append_head(ex, bufferevent_get_output(ex->cc->bev),
                    enforce ? dg_verdict_result(&ex->vd) : NULL);
        ex->head_sent = 1;
    }
    if (ex->rf.body == DG_BODY_NONE || (ex->rf.body == DG_BODY_LENGTH && ex->rf.length == 0)) {
        response_done(ex);
        return;
    }
    relay_body(ex);
}

static void up_readable(void *ctx)
{
    dg_exchange *ex = ctx;
    ex->got_bytes = 1;
    if (ex->rstate == RS_HEAD)
        read_head(ex);
    else if (ex->rstate == RS_BODY)
        relay_body(ex);
}

static void up_connected(void *ctx)
{
    dg_exchange *ex = ctx;
    send_request(ex);
}

static void up_failed(void *ctx, dg_up_err e, const char *detail)
{
    dg_exchange *ex = ctx;
    int before_response = ex->rstate == RS_HEAD && !ex->got_bytes;
    int was_reused = ex->uc->reused;
    /* Retry only what is safe: an idempotent request whose connection
     * failed before any response byte (connect failure, or a pooled
     * connection the upstream had closed). */
    if (before_response && ex->idempotent && ex->attempts < 2 &&
        (e == DG_UPERR_CONNECT || (was_reused && e == DG_UPERR_RESET))) {
        dg_upstream_release(ex->uc, 0);
        ex->uc = NULL;
        if (!was_reused)
            upstream_error_metric(ex, e);
        try_upstream(ex);
        return;
    }
    if (ex->rstate == RS_BODY) {
        upstream_failed_mid_body(ex, e, detail);
        return;
    }
    upstream_error_metric(ex, e);
    dg_upstream_release(ex->uc, 0);
    ex->uc = NULL;
    dg_logf(DG_LOG_WARN, "api %s: upstream request failed: %s", ex->api->cfg->name, detail);
    if (e == DG_UPERR_TIMEOUT)
        dg_cconn_problem(ex->cc, 504, "upstream-timeout", "Gateway timeout", detail,
                         ex->api->cfg->name, ex->cc->close_after);
    else
        dg_cconn_problem(ex->cc, 502, "upstream-unavailable", "Bad gateway", detail,
                         ex->api->cfg->name, ex->cc->close_after);
}

static void up_eof(void *ctx)
{
    dg_exchange *ex = ctx;
    if (ex->rstate == RS_BODY) {
        if (relay_body(ex))
            return;
        if (ex->rf.body == DG_BODY_CLOSE)
            response_done(ex);
        else
            upstream_failed_mid_body(ex, DG_UPERR_RESET,
                                     "the upstream closed the connection before the body ended");
        return;
    }
    up_failed(ctx, DG_UPERR_RESET, "the upstream closed the connection before responding");
}

static const dg_uconn_ops up_ops = {up_connected, up_readable, NULL, up_failed, up_eof};
