/* proxy/http1.h: HTTP/1.1 message framing, without I/O.
 *
 * Zero-copy parsing of a request or response head held in one contiguous
 * buffer (picohttpparser style: names and values point into the caller's
 * buffer), the framing rules of RFC 9112 section 6 (Content-Length,
 * Transfer-Encoding, bodies that cannot exist), hop-by-hop header detection,
 * and a resumable chunked-body decoder that reports the payload bytes while
 * telling the caller exactly how many wire bytes belong to the message.
 *
 * Strict where leniency causes request smuggling or response splitting:
 * obsolete line folding, whitespace before the colon, bare CR, control
 * characters in values, conflicting or malformed Content-Length, and
 * Transfer-Encoding together with Content-Length are errors.
 * Pure functions over caller memory; thread-safe. */
#ifndef DG_PROXY_HTTP1_H
#define DG_PROXY_HTTP1_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

typedef struct dg_http_header {
    const char *name;     /* points into the parsed buffer; not NUL-terminated */
    size_t name_len;
    const char *value;    /* leading/trailing spaces and tabs trimmed */
    size_t value_len;
} dg_http_header;

typedef struct dg_http_head {
    /* request line (requests only) */
    const char *method;
    size_t method_len;
    const char *target;   /* request-target as sent: "/pets?limit=2" */
    size_t target_len;
    /* status line (responses only) */
    int status;           /* 100..999 */
    const char *reason;   /* may be empty */
    size_t reason_len;
    int minor_version;    /* HTTP/1.x: 0 or 1 */
    dg_http_header *headers;  /* caller's array */
    size_t n_headers;
    size_t head_len;      /* bytes of the head including the final empty line */
} dg_http_head;

/* Parses a request head from buf[0..len). headers/max_headers: caller array.
 * Returns head_len (> 0) when the head is complete, 0 when more bytes are
 * needed, DG_ELIMIT when there are more than max_headers fields (the caller
 * enforces the byte limit by not offering more than it allows), DG_EPARSE on
 * malformed input (err says what and at which byte offset). Accepts a
 * leading empty line (RFC 9112 2.2). */
int dg_http_parse_request(const char *buf, size_t len, dg_http_header *headers,
                          size_t max_headers, dg_http_head *out, dg_error *err);
/* The same for a response head ("HTTP/1.1 200 OK"). */
int dg_http_parse_response(const char *buf, size_t len, dg_http_header *headers,
                           size_t max_headers, dg_http_head *out, dg_error *err);

/* Case-insensitive header name comparison helpers. */
int dg_http_name_is(const dg_http_header *h, const char *name);
/* First header with that name or NULL. */
const dg_http_header *dg_http_find(const dg_http_head *h, const char *name);
/* 1 when the comma-separated list value contains token (case-insensitive). */
int dg_http_list_has(const char *value, size_t value_len, const char *token);

typedef enum dg_http_body_kind {
    DG_BODY_NONE = 0,     /* no body: HEAD response, 1xx/204/304, request without CL/TE */
    DG_BODY_LENGTH,       /* exactly `length` bytes */
    DG_BODY_CHUNKED,      /* chunked coding (decode with dg_chunked) */
    DG_BODY_CLOSE         /* response delimited by connection close */
} dg_http_body_kind;

typedef struct dg_http_framing {
    dg_http_body_kind body;
    uint64_t length;          /* DG_BODY_LENGTH */
    int keep_alive;           /* persistent per version + Connection tokens */
    int expect_continue;      /* request: "Expect: 100-continue" */
    int has_upgrade;          /* "Connection: upgrade" / Upgrade header present */
    const char *content_type; /* value (not NUL-terminated) or NULL */
    size_t content_type_len;
    const char *content_encoding; /* value or NULL ("gzip", "deflate", "identity", "br", ...);
                                   * "multiple" when several Content-Encoding fields came */
    size_t content_encoding_len;
} dg_http_framing;

/* Request framing (RFC 9112 6.3): TE chunked (the only coding accepted in a
 * request: others are DG_EINVAL -> 501), else Content-Length, else no body.
 * TE with CL, several differing CL values, or a malformed CL is DG_EPARSE;
 * so are chunked not last or applied twice, and TE in an HTTP/1.0 request. */
int dg_http_request_framing(const dg_http_head *h, dg_http_framing *out, dg_error *err);
/* Response framing for a response to request method `method` (HEAD and a 2xx
 * to CONNECT have no body; so do 1xx, 204 and 304). TE whose final coding is
 * chunked -> CHUNKED; TE otherwise -> CLOSE; else CL; else CLOSE. */
int dg_http_response_framing(const dg_http_head *h, const char *method, size_t method_len,
                             dg_http_framing *out, dg_error *err);

/* 1 when the header must not be forwarded by a proxy: Connection, Keep-Alive,
 * Proxy-Connection, Proxy-Authenticate, Proxy-Authorization (request side
 * only when not configured otherwise, still hop-by-hop), TE, Trailer,
 * Transfer-Encoding, Upgrade, any Proxy-* field, and every field named in a
 * Connection header of head h. */
int dg_http_is_hop_by_hop(const dg_http_head *h, const dg_http_header *field);

/* Resumable chunked-body decoder (RFC 9112 7.1): chunk sizes in hex (no
 * sign, no leading/trailing junk, at most 15 hex digits), chunk extensions
 * skipped (bounded), trailer fields skipped (bounded). */
typedef struct dg_chunked {
    int state;            /* internal */
    uint64_t remaining;   /* payload bytes left in the current chunk */
    size_t line_len;      /* bytes of the current size/extension/trailer line */
    size_t trailer_bytes; /* trailer section size so far */
    int ndigits;
    int done;             /* 1 once the last chunk and trailers are consumed */
    uint64_t payload;     /* payload bytes decoded so far */
} dg_chunked;

#define DG_CHUNKED_MAX_LINE 4096      /* size line incl. extensions */
#define DG_CHUNKED_MAX_TRAILER 16384  /* whole trailer section */

void dg_chunked_init(dg_chunked *c);

/* Called for every run of payload bytes, in order. Return 0 to go on, a
 * negative code to stop (dg_chunked_feed then returns that code). */
typedef int (*dg_chunked_cb)(void *ctx, const char *p, size_t n);

/* Consumes wire bytes in[0..n). Stops right after the message's last byte:
 * the return value is the number of bytes that belong to this message (< n
 * when the next message's bytes follow; then c->done is 1). Negative on
 * malformed input (DG_EPARSE, err locates it by offset within this call),
 * DG_ELIMIT past DG_CHUNKED_MAX_LINE / DG_CHUNKED_MAX_TRAILER, or cb's code
 * when cb stopped. Errors are sticky. */
ssize_t dg_chunked_feed(dg_chunked *c, const char *in, size_t n, dg_chunked_cb cb, void *ctx,
                        dg_error *err);

/* Standard reason phrase for a status ("Bad Gateway"), "" when unknown. */
const char *dg_http_reason(int status);

#endif
