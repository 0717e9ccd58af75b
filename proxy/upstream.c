/* proxy/upstream.c: connections to upstreams: a keep-alive pool per
 * upstream per worker, non-blocking DNS (evdns), TLS with SNI and
 * certificate + host name verification, connect timeout.
 *
 * An idle pooled connection is watched for reads: any byte or EOF from the
 * upstream while idle means it is unusable (closed or protocol garbage), so
 * it is dropped at once rather than handed to the next request. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "proxy/proxy_internal.h"

struct dg_pool {
    char *key;
    dg_uconn *idle;        /* LIFO: the most recently used is warmest */
    size_t n_idle;
    size_t max_idle;
    dg_pool *next;
};

const char *dg_up_err_name(dg_up_err e)
{
    switch (e) {
    case DG_UPERR_CONNECT: return "connect";
    case DG_UPERR_DNS: return "dns";
    case DG_UPERR_TLS: return "tls";
    case DG_UPERR_TIMEOUT: return "timeout";
    case DG_UPERR_RESET: return "reset";
    case DG_UPERR_BAD_RESPONSE: return "bad_response";
    default: return "none";
    }
}

SSL_CTX *dg_upstream_ssl_ctx(const dg_api *api, dg_error *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        dg_error_set(err, DG_ENOMEM, "api \"%s\": cannot create a TLS context", api->name);
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    const dg_tls_opts *t = &api->tls;
    int ok = t->ca_file ? SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL)
                        : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        dg_error_set(err, DG_EIO, "api \"%s\": cannot load CA certificates%s%s", api->name,
                     t->ca_file ? " from " : "", t->ca_file ? t->ca_file : "");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (t->client_cert) {
        if (SSL_CTX_use_certificate_chain_file(ctx, t->client_cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, t->client_key ? t->client_key : t->client_cert,
                                        SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            unsigned long e = ERR_get_error();
            char why[256];
            ERR_error_string_n(e, why, sizeof why);
            dg_error_set(err, DG_EIO, "api \"%s\": client certificate %s: %s", api->name,
                         t->client_cert, why);
            SSL_CTX_free(ctx);
            return NULL;
        }
    }
    SSL_CTX_set_verify(ctx, t->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    ERR_clear_error();
    return ctx;
}

static dg_pool *pool_find(dg_worker *w, const char *key, size_t max_idle)
{
    for (dg_pool *p = w->pools; p; p = p->next)
        if (!strcmp(p->key, key))
            return p;
    dg_pool *p = calloc(1, sizeof *p);
    if (!p || !(p->key = strdup(key))) {
        free(p);
        return NULL;
    }
    p->max_idle = max_idle;
    p->next = w->pools;
    w->pools = p;
    return p;
}

static void uconn_free(dg_uconn *c)
{
    if (!c)
        return;
    if (c->connect_timer)
        event_free(c->connect_timer);
    if (c->bev) {
        SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
        if (ssl)
            SSL_set_shutdown(ssl, SSL_RECEIVED_SHUTDOWN); /* no blocking close_notify dance */
        bufferevent_free(c->bev);
    }
    free(c);
}

static void pool_remove(dg_pool *p, dg_uconn *c)
{
    for (dg_uconn **pp = &p->idle; *pp; pp = &(*pp)->next_idle)
        if (*pp == c) {
            *pp = c->next_idle;
            p->n_idle--;
            return;
        }
}

static void idle_event(struct bufferevent *bev, short what, void *arg)
{
    dg_uconn *c = arg;
    (void)bev;
    (void)what;
    pool_remove(c->pool, c);
    uconn_free(c);
}

static void idle_read(struct bufferevent *bev, void *arg) { idle_event(bev, 0, arg); }

/* libevent 2.1 reads at most 4 KiB per read (EVBUFFER_MAX_READ), which for
 * large bodies means one loop iteration per 4 KiB. After its read, take up
 * to 64 KiB more at once (plain TCP; OpenSSL has its own record loop).
 * Returns 1 when the upstream closed, -1 on a socket error. */
static int slurp(dg_uconn *c)
{
    if (c->tls)
        return 0;
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer_iovec v[2];
    /* The bufferevent keeps its input's end frozen outside its own reads. */
    evbuffer_unfreeze(in, 0);
    int nv = evbuffer_reserve_space(in, 65536, v, 2);
    if (nv <= 0) {
        evbuffer_freeze(in, 0);
        return 0;
    }
    struct iovec iov[2];
    for (int i = 0; i < nv; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len;
    }
    ssize_t n = readv(bufferevent_getfd(c->bev), iov, nv);
    size_t left = n > 0 ? (size_t)n : 0;
    for (int i = 0; i < nv; i++) {
        size_t take = left < v[i].iov_len ? left : v[i].iov_len;
        v[i].iov_len = take;
        left -= take;
    }
    evbuffer_commit_space(in, v, nv);
    evbuffer_freeze(in, 0);
    if (n == 0)
        return 1;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return -1;
    return 0;
}

static void up_read(struct bufferevent *bev, void *arg)
{
    dg_uconn *c = arg;
    (void)bev;
    int r = c->ops ? slurp(c) : 0;
    if (r < 0) {
        char detail[300];
        snprintf(detail, sizeof detail, "connection reset: %s", strerror(errno));
        c->ops->failed(c->ctx, DG_UPERR_RESET, detail);
        return;
    }
    /* r > 0 (closed): what arrived before the close is handled now; the
     * close stays visible to the socket, so libevent reports EOF next. */
    c->ops->readable(c->ctx);
}

static void up_write(struct bufferevent *bev, void *arg)
{
    dg_uconn *c = arg;
    (void)bev;
    if (c->ops->writable)
        c->ops->writable(c->ctx);
}

static dg_up_err classify(dg_uconn *c, short what, char *detail, size_t n)
{
    if (what & BEV_EVENT_TIMEOUT) {
        snprintf(detail, n, "upstream %s timed out", (what & BEV_EVENT_READING) ? "read" : "write");
        return DG_UPERR_TIMEOUT;
    }
    int dns = bufferevent_socket_get_dns_error(c->bev);
    if (dns) {
        snprintf(detail, n, "DNS lookup failed: %s", evutil_gai_strerror(dns));
        return DG_UPERR_DNS;
    }
    unsigned long ssl_err = bufferevent_get_openssl_error(c->bev);
    if (ssl_err) {
        char why[256];
        ERR_error_string_n(ssl_err, why, sizeof why);
        SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
        long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
        if (vr != X509_V_OK)
            snprintf(detail, n, "TLS certificate verification failed: %s",
                     X509_verify_cert_error_string(vr));
        else
            snprintf(detail, n, "TLS error: %s", why);
        while (bufferevent_get_openssl_error(c->bev))
            ;
        return DG_UPERR_TLS;
    }
    int e = EVUTIL_SOCKET_ERROR();
    if (!c->connected) {
        snprintf(detail, n, "connect failed: %s", e ? strerror(e) : "connection closed");
        return DG_UPERR_CONNECT;
    }
    snprintf(detail, n, "connection reset: %s", e ? strerror(e) : "closed");
    return DG_UPERR_RESET;
}

static void up_event(struct bufferevent *bev, short what, void *arg)
{
    dg_uconn *c = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        c->connected = 1;
        if (c->connect_timer)
            event_del(c->connect_timer);
        if (c->ops->connected)
            c->ops->connected(c->ctx);
        return;
    }
    if ((what & BEV_EVENT_EOF) && c->connected) {
        c->ops->eof(c->ctx);
        return;
    }
    char detail[300];
    dg_up_err e = classify(c, what, detail, sizeof detail);
    c->ops->failed(c->ctx, e, detail);
}

static void connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    dg_uconn *c = arg;
    (void)fd;
    (void)what;
    c->ops->failed(c->ctx, DG_UPERR_TIMEOUT, "connect timed out");
}

dg_uconn *dg_upstream_get(dg_worker *w, dg_snapshot *s, const dg_px_api *api, size_t u,
                          const dg_uconn_ops *ops, void *ctx, char *detail, size_t n)
{
    const dg_limits *lim = &s->cfg->limits;
    dg_pool *p = pool_find(w, api->pool_key[u], lim->upstream_pool_size);
    if (!p) {
        snprintf(detail, n, "out of memory");
        return NULL;
    }
    if (p->idle) {
        dg_uconn *c = p->idle;
        p->idle = c->next_idle;
        p->n_idle--;
        c->next_idle = NULL;
        c->reused = 1;
        c->ops = ops;
        c->ctx = ctx;
        /* Still enabled for reading (idle watch); EV_WRITE was never
         * disabled, and enabling it again would only arm a useless
         * EPOLLOUT round trip. */
        bufferevent_setcb(c->bev, up_read, up_write, up_event, c);
        bufferevent_set_timeouts(c->bev, NULL, NULL);
        return c;
    }
    const dg_upstream_url *up = &api->cfg->upstreams[u];
    dg_uconn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(detail, n, "out of memory");
        return NULL;
    }
    c->w = w;
    c->pool = p;
    c->ops = ops;
    c->ctx = ctx;
    int opts = BEV_OPT_CLOSE_ON_FREE;
    c->tls = up->https;
    if (up->https) {
        SSL *ssl = SSL_new(api->ssl);
        if (!ssl) {
            free(c);
            snprintf(detail, n, "cannot create a TLS session");
            return NULL;
        }
        const char *name = api->cfg->tls.server_name ? api->cfg->tls.server_name : up->host;
        struct in6_addr a6;
        struct in_addr a4;
        int is_ip = inet_pton(AF_INET, name, &a4) == 1 || inet_pton(AF_INET6, name, &a6) == 1;
        if (!is_ip)
            SSL_set_tlsext_host_name(ssl, name);
        if (api->cfg->tls.verify) {
            X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
            if (is_ip)
                X509_VERIFY_PARAM_set1_ip_asc(vp, name);
            else
                X509_VERIFY_PARAM_set1_host(vp, name, 0);
        }
        c->bev = bufferevent_openssl_socket_new(w->base, -1, ssl, BUFFEREVENT_SSL_CONNECTING,
                                                opts);
        if (c->bev)
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        else
            SSL_free(ssl);
    } else {
        c->bev = bufferevent_socket_new(w->base, -1, opts);
    }
    if (!c->bev) {
        free(c);
        snprintf(detail, n, "cannot create a connection");
        return NULL;
    }
    bufferevent_setcb(c->bev, up_read, up_write, up_event, c);
    bufferevent_enable(c->bev, EV_READ | EV_WRITE);
    c->connect_timer = evtimer_new(w->base, connect_timeout, c);
    if (c->connect_timer) {
        struct timeval tv = {(time_t)(lim->upstream_connect_timeout_ms / 1000),
                             (suseconds_t)(lim->upstream_connect_timeout_ms % 1000) * 1000};
        evtimer_add(c->connect_timer, &tv);
    }
    /* Literal addresses skip DNS; names go through evdns (never blocking). */
    if (bufferevent_socket_connect_hostname(c->bev, w->dns, AF_UNSPEC, up->host, up->port) < 0) {
        snprintf(detail, n, "connect to %s:%d failed", up->host, up->port);
        uconn_free(c);
        return NULL;
    }
    return c;
}

void dg_upstream_set_timeouts(dg_uconn *c, const dg_limits *l)
{
    struct timeval r = {(time_t)(l->upstream_read_timeout_ms / 1000),
                        (suseconds_t)(l->upstream_read_timeout_ms % 1000) * 1000};
    struct timeval wr = {(time_t)(l->upstream_write_timeout_ms / 1000),
                         (suseconds_t)(l->upstream_write_timeout_ms % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, &r, &wr);
}

void dg_upstream_release(dg_uconn *c, int reuse)
{
    if (!c)
        return;
    dg_pool *p = c->pool;
    if (!reuse || !c->connected || p->n_idle >= p->max_idle || c->w->draining ||
        evbuffer_get_length(bufferevent_get_input(c->bev)) ||
        evbuffer_get_length(bufferevent_get_output(c->bev))) {
        uconn_free(c);
        return;
    }
    c->ops = NULL;
    c->ctx = NULL;
    /* Idle: reads mean close/garbage; the idle timeout closes it too. */
    struct timeval idle = {60, 0};
    bufferevent_setcb(c->bev, idle_read, NULL, idle_event, c);
    bufferevent_set_timeouts(c->bev, &idle, NULL);
    bufferevent_enable(c->bev, EV_READ);
    c->next_idle = p->idle;
    p->idle = c;
    p->n_idle++;
}

void dg_upstream_free_pools(dg_worker *w)
{
    dg_upstream_close_idle(w);
    while (w->pools) {
        dg_pool *p = w->pools;
        w->pools = p->next;
        free(p->key);
        free(p);
    }
}

void dg_upstream_close_idle(dg_worker *w)
{
    for (dg_pool *p = w->pools; p; p = p->next)
        while (p->idle) {
            dg_uconn *c = p->idle;
            p->idle = c->next_idle;
            p->n_idle--;
            uconn_free(c);
        }
}
