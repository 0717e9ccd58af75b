/* proxy/exchange.h: one request/response exchange between a client
 * connection and an upstream, and the client connection itself. Both live
 * on one worker thread. server.c owns the client side (request parsing,
 * routing, driftgate's own answers); exchange.c owns the upstream side
 * (sending, the response head, relaying or holding the body, enforce). */
#ifndef DG_PROXY_EXCHANGE_H
#define DG_PROXY_EXCHANGE_H

#include "proxy/verdict.h"

enum { CC_HEAD = 0, CC_BODY, CC_BUSY, CC_CLOSING };
enum { RS_HEAD = 0, RS_BODY, RS_DONE };

typedef struct dg_exchange dg_exchange;

struct dg_cconn {
    dg_worker *w;
    struct bufferevent *bev;
    const char *listen_addr;     /* the listener's address (runtime-owned) */
    char peer[64];
    int state;
    int close_after;             /* close once the current response is out */
    int head_timer_armed;        /* header timeout (vs keep-alive idle) running */
    int write_armed;             /* EV_WRITE enabled: output waits for the socket */
    struct event *timer;
    dg_exchange *ex;
    uint64_t n_requests;
    dg_cconn *prev, *next;
};

struct dg_exchange {
    dg_cconn *cc;
    dg_worker *w;
    dg_snapshot *snap;           /* reference */
    const dg_px_api *api;
    dg_arena arena;
    /* request */
    char *method;
    int head_req;
    int idempotent;
    int client_minor;
    int client_keepalive;
    char *path;                  /* forwarded path + query (after strip_prefix) */
    char *host;                  /* client's Host, or NULL */
    char *request_id;            /* the client's X-Request-Id, else generated */
    int request_id_generated;    /* then forwarded upstream */
    char *traceparent;
    dg_http_head rq;             /* parsed request head (copied into the arena) */
    dg_http_framing rqf;
    uint64_t req_left;
    dg_chunked req_chunked;
    dg_buf req_body;             /* decoded request body (bounded) */
    dg_buf up_req;               /* what is sent upstream (kept for a retry) */
    int64_t t0, t_up0;
    /* upstream */
    dg_uconn *uc;
    size_t upstream_idx;
    int attempts;
    int got_bytes;               /* any response byte arrived */
    /* response */
    int rstate;
    dg_http_head rs;
    dg_http_framing rf;
    dg_chunked rchunked;
    uint64_t rleft;
    int dechunk;                 /* chunked upstream, HTTP/1.0 client: relay payload only */
    int hold;                    /* enforce: body held until the verdict */
    struct evbuffer *held;
    int head_sent;
    int upstream_paused;
    int finished;                /* response fully handed to the client's output */
    dg_verdict vd;
};

/* server.c */
/* Writes the client output now if the socket takes it; only what it does
 * not take waits for EPOLLOUT (the common case costs no epoll_ctl). */
void dg_cconn_flush(dg_cconn *cc);
void dg_cconn_response_finished(dg_cconn *cc);
void dg_cconn_abort(dg_cconn *cc);
/* Writes a complete driftgate-generated problem+json answer on cc and
 * ends the exchange (if any). close: close the connection afterwards. */
void dg_cconn_problem(dg_cconn *cc, int status, const char *type, const char *title,
                      const char *detail, const char *api, int close);
/* Appends a complete application/problem+json response (head, and body
 * unless head_only); extra: more header lines, each ending in CRLF. */
void dg_problem_write(struct evbuffer *out, int status, const dg_buf *body, const char *extra,
                      int close, int head_only);
void dg_problem_body(dg_buf *b, int status, const char *type, const char *title,
                     const char *detail, const char *api);

/* exchange.c */
void dg_exchange_start(dg_exchange *ex);
void dg_exchange_client_writable(dg_exchange *ex);
void dg_exchange_free(dg_exchange *ex);
void dg_exchange_count_request(dg_exchange *ex, int status);

#endif
