/* proxy/http1.c: HTTP/1.1 heads, framing and chunked bodies (proxy/http1.h).
 *
 * The head parser is stateless: every call parses from buf[0], so the caller
 * simply calls again with more bytes (the head is small and bounded by the
 * caller, so re-scanning costs little and there is no state to get wrong).
 * It returns 0 ("need more") only when every byte seen so far can still
 * begin a valid head; a byte that can never be valid fails at once, so a
 * garbage stream is rejected without waiting for a CRLFCRLF that may never
 * come.
 *
 * Strictness (RFC 9112), on purpose, because a proxy that is more lenient
 * than the server behind it or the client in front of it is how requests
 * get smuggled and responses split:
 *   - lines end in CRLF; a bare LF or a CR not followed by LF is an error
 *     (RFC 9112 2.2 allows accepting bare LF; we do not);
 *   - exactly one SP between the parts of the request line;
 *   - no whitespace between a field name and its colon, no obs-fold, no
 *     whitespace-led line right after the start line;
 *   - names and methods are tokens; values are SP/HTAB/VCHAR/obs-text;
 *   - only HTTP/1.0 and HTTP/1.1.
 * Two leniencies that cannot affect framing: a request-target may carry
 * obs-text (raw UTF-8 that some clients fail to percent-encode), and a
 * status line may end right after the code ("HTTP/1.1 200\r\n"), which
 * several servers send. Requests (not responses) may be preceded by empty
 * lines (RFC 9112 2.2). */
#include "proxy/http1.h"

#include <limits.h>
#include <string.h>

#include "common/text.h"

/* tchar (RFC 9110 5.6.2) as a 256-bit set: ALPHA, DIGIT and
 * !#$%&'*+-.^_`|~ (a constant, so there is nothing to initialise or race
 * on). */
static const uint32_t tchar_bits[8] = {
    0x00000000, 0x03ff6cfa, 0xc7fffffe, 0x57ffffff, 0, 0, 0, 0,
};

static int is_tchar(unsigned char c)
{
    return (tchar_bits[c >> 5] >> (c & 31)) & 1;
}

/* field-vchar / reason-phrase octets: HTAB, SP, VCHAR, obs-text. */
static int is_value(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* request-target octets: VCHAR and (leniency, see above) obs-text. */
static int is_target(unsigned char c)
{
    return c > 0x20 && c != 0x7f;
}

#define IS_TCHAR(c) is_tchar((unsigned char)(c))
#define IS_VALUE(c) is_value((unsigned char)(c))

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int ieq(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

static int fail_at(dg_error *err, int code, size_t off, const char *msg)
{
    dg_error_set(err, code, "%s", msg);
    if (err) {
        err->offset = off;
        err->has_offset = 1;
    }
    return code;
}

/* ---- head parser ------------------------------------------------------- */

/* Expects CRLF at *pos. 1 consumed, 0 need more, <0 error. */
static int crlf(const char *b, size_t len, size_t *pos, dg_error *err)
{
    size_t p = *pos;
    if (p >= len)
        return 0;
    if (b[p] == '\n')
        return fail_at(err, DG_EPARSE, p, "bare LF: lines must end in CRLF");
    if (b[p] != '\r')
        return fail_at(err, DG_EPARSE, p, "expected CRLF");
    if (p + 1 >= len)
        return 0;
    if (b[p + 1] != '\n')
        return fail_at(err, DG_EPARSE, p, "bare CR: lines must end in CRLF");
    *pos = p + 2;
    return 1;
}

/* "HTTP/1.0" or "HTTP/1.1" at *pos. 1 ok (minor set), 0 need more, <0. */
static int version(const char *b, size_t len, size_t *pos, int *minor, dg_error *err)
{
    static const char pre[] = "HTTP/";
    size_t p = *pos;
    for (size_t i = 0; i < 5; i++, p++) {
        if (p >= len)
            return 0;
        if (b[p] != pre[i])
            return fail_at(err, DG_EPARSE, p, "malformed HTTP version (expected \"HTTP/1.x\")");
    }
    if (p >= len)
        return 0;
    if (b[p] >= '0' && b[p] <= '9' && b[p] != '1')
        return fail_at(err, DG_EPARSE, p,
                       "unsupported HTTP version (only HTTP/1.0 and HTTP/1.1 are accepted)");
    if (b[p] != '1')
        return fail_at(err, DG_EPARSE, p, "malformed HTTP version (expected \"HTTP/1.x\")");
    if (++p >= len)
        return 0;
    if (b[p] != '.')
        return fail_at(err, DG_EPARSE, p, "malformed HTTP version (expected \"HTTP/1.x\")");
    if (++p >= len)
        return 0;
    if (b[p] >= '2' && b[p] <= '9')
        return fail_at(err, DG_EPARSE, p,
                       "unsupported HTTP version (only HTTP/1.0 and HTTP/1.1 are accepted)");
    if (b[p] != '0' && b[p] != '1')
        return fail_at(err, DG_EPARSE, p, "malformed HTTP version (expected \"HTTP/1.x\")");
    *minor = b[p] - '0';
    *pos = p + 1;
    return 1;
}

/* Field lines from *pos up to and including the empty line. */
static int fields(const char *b, size_t len, size_t pos, dg_http_header *hs, size_t max,
                  dg_http_head *out, dg_error *err)
{
    size_t n = 0;
    for (;;) {
        if (pos >= len)
            return 0;
        char c = b[pos];
        if (c == '\r' || c == '\n') {
            int r = crlf(b, len, &pos, err);
            if (r <= 0)
                return r;
            break;
        }
        if (c == ' ' || c == '\t')
            return fail_at(err, DG_EPARSE, pos,
                           n ? "obsolete line folding is not accepted"
                             : "whitespace before the first header field");
        size_t name = pos;
        while (pos < len && IS_TCHAR(b[pos]))
            pos++;
        if (pos >= len)
            return 0;
        if (b[pos] != ':') {
            if (b[pos] == ' ' || b[pos] == '\t')
                return fail_at(err, DG_EPARSE, pos, "whitespace between field name and colon");
            return fail_at(err, DG_EPARSE, pos,
                           pos == name ? "field line without a name" : "invalid character in field name");
        }
        if (pos == name)
            return fail_at(err, DG_EPARSE, pos, "empty field name");
        if (n == max)
            return fail_at(err, DG_ELIMIT, name, "too many header fields");
        size_t name_len = pos - name;
        pos++;
        while (pos < len && (b[pos] == ' ' || b[pos] == '\t'))
            pos++;
        size_t val = pos;
        while (pos < len && IS_VALUE(b[pos]))
            pos++;
        if (pos >= len)
            return 0;
        if (b[pos] != '\r' && b[pos] != '\n')
            return fail_at(err, DG_EPARSE, pos, "control character in field value");
        size_t end = pos;
        while (end > val && (b[end - 1] == ' ' || b[end - 1] == '\t'))
            end--;
        int r = crlf(b, len, &pos, err);
        if (r <= 0)
            return r;
        hs[n].name = b + name;
        hs[n].name_len = name_len;
        hs[n].value = b + val;
        hs[n].value_len = end - val;
        n++;
    }
    out->headers = hs;
    out->n_headers = n;
    out->head_len = pos;
    return 1;
}

/* The head length as the int result; heads beyond INT_MAX are a limit. */
static int finish_head(int r, size_t len_orig, dg_http_head *out, dg_error *err)
{
    if (r < 0)
        return r;
    if (r == 0)
        return len_orig > INT_MAX ? dg_error_set(err, DG_ELIMIT, "head larger than INT_MAX") : 0;
    return (int)out->head_len;
}

static void head_clear(dg_http_head *out, dg_http_header *hs)
{
    memset(out, 0, sizeof *out);
    out->headers = hs;
}

static int request(const char *b, size_t len, dg_http_header *hs, size_t max, dg_http_head *out,
                   dg_error *err)
{
    size_t pos = 0;
    int r;
    /* RFC 9112 2.2: a server should ignore empty lines before the request. */
    while (pos < len && (b[pos] == '\r' || b[pos] == '\n'))
        if ((r = crlf(b, len, &pos, err)) <= 0)
            return r;
    size_t m = pos;
    while (pos < len && IS_TCHAR(b[pos]))
        pos++;
    if (pos >= len)
        return 0;
    if (b[pos] != ' ' || pos == m)
        return fail_at(err, DG_EPARSE, pos,
                       pos == m ? "missing request method" : "invalid character in method");
    out->method = b + m;
    out->method_len = pos - m;
    size_t t = ++pos;
    while (pos < len && is_target((unsigned char)b[pos]))
        pos++;
    if (pos >= len)
        return 0;
    if (b[pos] != ' ')
        return fail_at(err, DG_EPARSE, pos,
                       b[pos] == '\r' || b[pos] == '\n'
                           ? "request line without HTTP version"
                           : "invalid character in request-target (one SP between parts)");
    if (pos == t)
        return fail_at(err, DG_EPARSE, pos, "empty request-target");
    out->target = b + t;
    out->target_len = pos - t;
    pos++;
    if ((r = version(b, len, &pos, &out->minor_version, err)) <= 0)
        return r;
    if ((r = crlf(b, len, &pos, err)) <= 0)
        return r;
    return fields(b, len, pos, hs, max, out, err);
}

static int response(const char *b, size_t len, dg_http_header *hs, size_t max,
                    dg_http_head *out, dg_error *err)
{
    size_t pos = 0;
    int r;
    if ((r = version(b, len, &pos, &out->minor_version, err)) <= 0)
        return r;
    if (pos >= len)
        return 0;
    if (b[pos] != ' ')
        return fail_at(err, DG_EPARSE, pos, "expected SP after HTTP version");
    pos++;
    int status = 0;
    for (int i = 0; i < 3; i++, pos++) {
        if (pos >= len)
            return 0;
        if (b[pos] < '0' || b[pos] > '9')
            return fail_at(err, DG_EPARSE, pos, "status code must be three digits");
        status = status * 10 + (b[pos] - '0');
    }
    if (pos >= len)
        return 0;
    if (status < 100)
        return fail_at(err, DG_EPARSE, pos - 3, "status code below 100");
    out->status = status;
    out->reason = b + pos;
    if (b[pos] == ' ') {
        size_t rs = ++pos;
        while (pos < len && IS_VALUE(b[pos]))
            pos++;
        if (pos >= len)
            return 0;
        out->reason = b + rs;
        out->reason_len = pos - rs;
    } else if (b[pos] != '\r' && b[pos] != '\n') {
        return fail_at(err, DG_EPARSE, pos,
                       b[pos] >= '0' && b[pos] <= '9' ? "status code must be three digits"
                                                      : "expected SP after status code");
    }
    if (b[pos] != '\r' && b[pos] != '\n')
        return fail_at(err, DG_EPARSE, pos, "control character in reason phrase");
    if ((r = crlf(b, len, &pos, err)) <= 0)
        return r;
    return fields(b, len, pos, hs, max, out, err);
}

int dg_http_parse_request(const char *buf, size_t len, dg_http_header *headers,
                          size_t max_headers, dg_http_head *out, dg_error *err)
{
    head_clear(out, headers);
    size_t n = len > INT_MAX ? INT_MAX : len;
    return finish_head(request(buf, n, headers, max_headers, out, err), len, out, err);
}

int dg_http_parse_response(const char *buf, size_t len, dg_http_header *headers,
                           size_t max_headers, dg_http_head *out, dg_error *err)
{
    head_clear(out, headers);
    size_t n = len > INT_MAX ? INT_MAX : len;
    return finish_head(response(buf, n, headers, max_headers, out, err), len, out, err);
}

/* ---- header helpers ---------------------------------------------------- */

int dg_http_name_is(const dg_http_header *h, const char *name)
{
    return ieq(h->name, h->name_len, name, strlen(name));
}

const dg_http_header *dg_http_find(const dg_http_head *h, const char *name)
{
    size_t nl = strlen(name);
    for (size_t i = 0; i < h->n_headers; i++)
        if (ieq(h->headers[i].name, h->headers[i].name_len, name, nl))
            return &h->headers[i];
    return NULL;
}

/* Next element of a comma-separated list (RFC 9110 5.6.1) starting at *pos,
 * trimmed of OWS; empty elements are returned too (length 0). 0 at end. */
static int list_next(const char *v, size_t n, size_t *pos, const char **el, size_t *el_len)
{
    size_t p = *pos;
    if (p > n)
        return 0;
    size_t s = p;
    while (p < n && v[p] != ',')
        p++;
    size_t e = p;
    while (s < e && (v[s] == ' ' || v[s] == '\t'))
        s++;
    while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
        e--;
    *el = v + s;
    *el_len = e - s;
    *pos = p + 1;
    return 1;
}

static int list_has_n(const char *value, size_t value_len, const char *tok, size_t tok_len)
{
    size_t pos = 0, el_len;
    const char *el;
    while (list_next(value, value_len, &pos, &el, &el_len))
        if (el_len && ieq(el, el_len, tok, tok_len))
            return 1;
    return 0;
}

int dg_http_list_has(const char *value, size_t value_len, const char *token)
{
    return list_has_n(value, value_len, token, strlen(token));
}

/* 1 when any field `name` of h lists token. */
static int any_has(const dg_http_head *h, const char *name, const char *token)
{
    for (size_t i = 0; i < h->n_headers; i++)
        if (dg_http_name_is(&h->headers[i], name) &&
            dg_http_list_has(h->headers[i].value, h->headers[i].value_len, token))
            return 1;
    return 0;
}

/* ---- framing ----------------------------------------------------------- */

/* What the Transfer-Encoding fields (all of them, as one list) say. */
typedef struct te_info {
    int present;
    int codings;       /* non-empty elements */
    int chunked;       /* how many are "chunked" */
    int last_chunked;  /* the final coding is chunked */
} te_info;

static int te_scan(const dg_http_head *h, te_info *te, dg_error *err)
{
    memset(te, 0, sizeof *te);
    for (size_t i = 0; i < h->n_headers; i++) {
        const dg_http_header *f = &h->headers[i];
        if (!dg_http_name_is(f, "transfer-encoding"))
            continue;
        te->present = 1;
        size_t pos = 0, el_len;
        const char *el;
        while (list_next(f->value, f->value_len, &pos, &el, &el_len)) {
            if (!el_len)
                continue;
            /* transfer-coding = token *( OWS ";" OWS transfer-parameter );
             * parameters are not interpreted, only their start checked. */
            size_t k = 0, p = 0;
            while (k < el_len && IS_TCHAR(el[k]))
                k++;
            for (p = k; p < el_len && (el[p] == ' ' || el[p] == '\t'); p++)
                ;
            if (k == 0 || (p < el_len && el[p] != ';'))
                return dg_error_set(err, DG_EPARSE, "malformed Transfer-Encoding \"%.*s\"",
                                    (int)f->value_len, f->value);
            int is_chunked = ieq(el, k, "chunked", 7);
            if (is_chunked && p < el_len)
                return dg_error_set(err, DG_EPARSE, "chunked transfer coding takes no parameters");
            te->codings++;
            te->chunked += is_chunked;
            te->last_chunked = is_chunked;
        }
    }
    if (te->present && !te->codings)
        return dg_error_set(err, DG_EPARSE, "empty Transfer-Encoding");
    return 0;
}

/* Every Content-Length value (fields and list elements) must be digits and
 * all must agree; "5, 5" is one length (RFC 9110 8.6). *present 0 if none. */
static int cl_scan(const dg_http_head *h, int *present, uint64_t *len, dg_error *err)
{
    *present = 0;
    *len = 0;
    for (size_t i = 0; i < h->n_headers; i++) {
        const dg_http_header *f = &h->headers[i];
        if (!dg_http_name_is(f, "content-length"))
            continue;
        size_t pos = 0, el_len;
        const char *el;
        while (list_next(f->value, f->value_len, &pos, &el, &el_len)) {
            uint64_t v = 0;
            if (!el_len)
                return dg_error_set(err, DG_EPARSE, "empty Content-Length");
            for (size_t k = 0; k < el_len; k++) {
                if (el[k] < '0' || el[k] > '9')
                    return dg_error_set(err, DG_EPARSE, "malformed Content-Length \"%.*s\"",
                                        (int)f->value_len, f->value);
                uint64_t d = (uint64_t)(el[k] - '0');
                /* bounded by INT64_MAX so that callers may use off_t */
                if (v > ((uint64_t)INT64_MAX - d) / 10)
                    return dg_error_set(err, DG_EPARSE, "Content-Length too large");
                v = v * 10 + d;
            }
            if (*present && v != *len)
                return dg_error_set(err, DG_EPARSE, "conflicting Content-Length values");
            *present = 1;
            *len = v;
        }
    }
    return 0;
}

/* Fields both directions report. */
static void common_framing(const dg_http_head *h, dg_http_framing *out)
{
    int close = any_has(h, "connection", "close");
    int ka = any_has(h, "connection", "keep-alive");
    out->keep_alive = !close && (h->minor_version >= 1 || ka);
    out->has_upgrade = any_has(h, "connection", "upgrade") || dg_http_find(h, "upgrade");
    int n_ce = 0;
    for (size_t i = 0; i < h->n_headers; i++) {
        const dg_http_header *f = &h->headers[i];
        if (!out->content_type && dg_http_name_is(f, "content-type")) {
            out->content_type = f->value;
            out->content_type_len = f->value_len;
        } else if (dg_http_name_is(f, "content-encoding")) {
            if (n_ce++ == 0) {
                out->content_encoding = f->value;
                out->content_encoding_len = f->value_len;
            } else {
                /* Several field lines form one list that we cannot point to
                 * without copying; a name no coding has makes the decoder
                 * (dg_coding_parse) say "unsupported" rather than decode
                 * only the first coding. */
                out->content_encoding = "multiple";
                out->content_encoding_len = 8;
            }
        }
    }
}

int dg_http_request_framing(const dg_http_head *h, dg_http_framing *out, dg_error *err)
{
    te_info te;
    int has_cl, r;
    uint64_t cl;
    memset(out, 0, sizeof *out);
    if ((r = te_scan(h, &te, err)) < 0 || (r = cl_scan(h, &has_cl, &cl, err)) < 0)
        return r;
    common_framing(h, out);
    out->expect_continue = h->minor_version >= 1 && any_has(h, "expect", "100-continue");
    if (te.present) {
        if (has_cl)
            return dg_error_set(err, DG_EPARSE, "both Transfer-Encoding and Content-Length");
        /* RFC 9112 6.1: an HTTP/1.0 message with TE has faulty framing. */
        if (h->minor_version == 0)
            return dg_error_set(err, DG_EPARSE, "Transfer-Encoding in an HTTP/1.0 request");
        if (te.chunked > 1 || (te.chunked && !te.last_chunked))
            return dg_error_set(err, DG_EPARSE,
                                "chunked must be the final transfer coding, applied once");
        if (te.codings > 1 || !te.last_chunked)
            return dg_error_set(err, DG_EINVAL, "unsupported transfer coding in request");
        out->body = DG_BODY_CHUNKED;
        return 0;
    }
    if (has_cl) {
        out->body = DG_BODY_LENGTH;
        out->length = cl;
    }
    return 0;
}

int dg_http_response_framing(const dg_http_head *h, const char *method, size_t method_len,
                             dg_http_framing *out, dg_error *err)
{
    te_info te;
    int has_cl, r;
    uint64_t cl;
    memset(out, 0, sizeof *out);
    /* Framing fields are checked even when the body cannot exist: a proxy
     * forwards them, and a malformed one means the server is confused. */
    if ((r = te_scan(h, &te, err)) < 0 || (r = cl_scan(h, &has_cl, &cl, err)) < 0)
        return r;
    if (te.present && has_cl)
        return dg_error_set(err, DG_EPARSE, "both Transfer-Encoding and Content-Length");
    common_framing(h, out);
    int st = h->status;
    int is_head = method && method_len == 4 && memcmp(method, "HEAD", 4) == 0;
    int is_connect = method && method_len == 7 && memcmp(method, "CONNECT", 7) == 0;
    if (is_head || (st >= 100 && st < 200) || st == 204 || st == 304 ||
        (is_connect && st >= 200 && st < 300)) {
        out->body = DG_BODY_NONE;
        return 0;
    }
    if (te.present) {
        if (te.last_chunked && te.chunked > 1)
            return dg_error_set(err, DG_EPARSE, "chunked transfer coding applied twice");
        /* HTTP/1.0 + TE: faulty framing (RFC 9112 6.1), read to close. */
        out->body = te.last_chunked && h->minor_version >= 1 ? DG_BODY_CHUNKED : DG_BODY_CLOSE;
    } else if (has_cl) {
        out->body = DG_BODY_LENGTH;
        out->length = cl;
    } else {
        out->body = DG_BODY_CLOSE;
    }
    if (out->body == DG_BODY_CLOSE)
        out->keep_alive = 0;
    return 0;
}

int dg_http_is_hop_by_hop(const dg_http_head *h, const dg_http_header *field)
{
    static const char *const hop[] = {
        "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
    };
    for (size_t i = 0; i < sizeof hop / sizeof hop[0]; i++)
        if (dg_http_name_is(field, hop[i]))
            return 1;
    if (field->name_len >= 6 && ieq(field->name, 6, "proxy-", 6))
        return 1;
    if (!h)
        return 0;
    for (size_t i = 0; i < h->n_headers; i++)
        if (dg_http_name_is(&h->headers[i], "connection") &&
            list_has_n(h->headers[i].value, h->headers[i].value_len, field->name,
                       field->name_len))
            return 1;
    return 0;
}

/* ---- chunked decoder --------------------------------------------------- */

/* States; a negative state is a sticky failure (the code). */
enum {
    CH_SIZE,     /* hex digits of the chunk size */
    CH_SIZE_WS,  /* BWS after the size: only ';' may follow */
    CH_EXT,      /* chunk extension, skipped up to CR */
    CH_SIZE_LF,  /* LF after the size line */
    CH_DATA,     /* chunk payload */
    CH_DATA_CR,  /* CRLF after the payload */
    CH_DATA_LF,
    CH_TR_START, /* start of a trailer line or the final empty line */
    CH_TR_NAME,  /* trailer field name */
    CH_TR_VALUE, /* trailer field value up to CR */
    CH_TR_LF,    /* LF ending a trailer field line */
    CH_END_LF,   /* LF of the final empty line */
    CH_DONE
};

void dg_chunked_init(dg_chunked *c)
{
    memset(c, 0, sizeof *c);
    c->state = CH_SIZE;
}

static ssize_t ch_fail(dg_chunked *c, int code, size_t off, const char *msg, dg_error *err)
{
    c->state = code;
    return fail_at(err, code, off, msg);
}

ssize_t dg_chunked_feed(dg_chunked *c, const char *in, size_t n, dg_chunked_cb cb, void *ctx,
                        dg_error *err)
{
    if (c->state < 0)
        return dg_error_set(err, c->state, "chunked decoder already failed");
    if (n > SSIZE_MAX)
        n = SSIZE_MAX;
    size_t i = 0;
    while (i < n && c->state != CH_DONE) {
        unsigned char ch = (unsigned char)in[i];
        switch (c->state) {
        case CH_SIZE: {
            int d = dg_hexval(ch);
            if (d >= 0) {
                if (c->ndigits == 15)
                    return ch_fail(c, DG_EPARSE, i, "chunk size has more than 15 hex digits", err);
                c->remaining = c->remaining << 4 | (uint64_t)d;
                c->ndigits++;
                c->line_len++;
                i++;
                continue;
            }
            if (!c->ndigits)
                return ch_fail(c, DG_EPARSE, i, "chunk size is not a hex number", err);
            if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch == ';')
                c->state = CH_EXT;
            else if (ch == ' ' || ch == '\t')
                c->state = CH_SIZE_WS;
            else
                return ch_fail(c, DG_EPARSE, i, "invalid character after chunk size", err);
            break;
        }
        case CH_SIZE_WS:
            if (ch == ';')
                c->state = CH_EXT;
            else if (ch != ' ' && ch != '\t')
                return ch_fail(c, DG_EPARSE, i, "whitespace after chunk size", err);
            break;
        case CH_EXT:
            /* Extensions are skipped, but a CR or LF inside one would let
             * peers disagree about where the line ends: no CTLs at all. */
            if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (!is_value(ch))
                return ch_fail(c, DG_EPARSE, i, "control character in chunk extension", err);
            break;
        case CH_SIZE_LF:
            if (ch != '\n')
                return ch_fail(c, DG_EPARSE, i, "chunk size line must end in CRLF", err);
            c->state = c->remaining ? CH_DATA : CH_TR_START;
            c->line_len = 0;
            i++;
            continue;
        case CH_DATA: {
            size_t k = n - i;
            if (k > c->remaining)
                k = (size_t)c->remaining;
            if (cb) {
                int r = cb(ctx, in + i, k);
                if (r < 0) {
                    c->state = r;
                    return dg_error_set(err, r, "chunk payload callback stopped");
                }
            }
            c->remaining -= k;
            c->payload += k;
            i += k;
            if (!c->remaining)
                c->state = CH_DATA_CR;
            continue;
        }
        case CH_DATA_CR:
            if (ch != '\r')
                return ch_fail(c, DG_EPARSE, i, "chunk data not followed by CRLF", err);
            c->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                return ch_fail(c, DG_EPARSE, i, "chunk data not followed by CRLF", err);
            c->state = CH_SIZE;
            c->ndigits = 0;
            c->line_len = 0;
            i++;
            continue;
        case CH_TR_START:
            if (ch == '\r') {
                c->state = CH_END_LF;
                break;
            }
            if (!is_tchar(ch))
                return ch_fail(c, DG_EPARSE, i,
                               ch == ' ' || ch == '\t' ? "obsolete line folding in trailer"
                                                       : "invalid trailer field line", err);
            c->state = CH_TR_NAME;
            break;
        case CH_TR_NAME:
            if (ch == ':')
                c->state = CH_TR_VALUE;
            else if (!is_tchar(ch))
                return ch_fail(c, DG_EPARSE, i, "invalid character in trailer field name", err);
            break;
        case CH_TR_VALUE:
            if (ch == '\r')
                c->state = CH_TR_LF;
            else if (!is_value(ch))
                return ch_fail(c, DG_EPARSE, i, "control character in trailer field value", err);
            break;
        case CH_TR_LF:
            if (ch != '\n')
                return ch_fail(c, DG_EPARSE, i, "trailer field line must end in CRLF", err);
            c->state = CH_TR_START;
            break;
        case CH_END_LF:
            if (ch != '\n')
                return ch_fail(c, DG_EPARSE, i, "chunked body must end in CRLF", err);
            c->state = CH_DONE;
            c->done = 1;
            i++;
            continue;
        default:
            return ch_fail(c, DG_EINVAL, i, "chunked decoder in an invalid state", err);
        }
        /* Every byte that reaches here is part of a size line or the trailer
         * section, both bounded so that a peer cannot make us scan forever. */
        i++;
        if (c->state >= CH_TR_START) {
            if (++c->trailer_bytes > DG_CHUNKED_MAX_TRAILER)
                return ch_fail(c, DG_ELIMIT, i - 1, "chunked trailer section too large", err);
        } else if (++c->line_len > DG_CHUNKED_MAX_LINE) {
            return ch_fail(c, DG_ELIMIT, i - 1, "chunk size line too long", err);
        }
    }
    return (ssize_t)i;
}

/* ---- reason phrases ---------------------------------------------------- */

/* RFC 9110 section 15 plus 103, 429, 431, 451, 511 (their own RFCs). */
static const struct {
    int status;
    const char *text;
} reasons[] = {
    {100, "Continue"}, {101, "Switching Protocols"}, {103, "Early Hints"}, {200, "OK"},
    {201, "Created"}, {202, "Accepted"}, {203, "Non-Authoritative Information"},
    {204, "No Content"}, {205, "Reset Content"}, {206, "Partial Content"},
    {300, "Multiple Choices"}, {301, "Moved Permanently"}, {302, "Found"}, {303, "See Other"},
    {304, "Not Modified"}, {305, "Use Proxy"}, {307, "Temporary Redirect"},
    {308, "Permanent Redirect"}, {400, "Bad Request"}, {401, "Unauthorized"},
    {402, "Payment Required"}, {403, "Forbidden"}, {404, "Not Found"},
    {405, "Method Not Allowed"}, {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"}, {408, "Request Timeout"}, {409, "Conflict"},
    {410, "Gone"}, {411, "Length Required"}, {412, "Precondition Failed"},
    {413, "Content Too Large"}, {414, "URI Too Long"}, {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"}, {417, "Expectation Failed"}, {421, "Misdirected Request"},
    {422, "Unprocessable Content"}, {425, "Too Early"}, {426, "Upgrade Required"},
    {428, "Precondition Required"}, {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"}, {451, "Unavailable For Legal Reasons"},
    {500, "Internal Server Error"}, {501, "Not Implemented"}, {502, "Bad Gateway"},
    {503, "Service Unavailable"}, {504, "Gateway Timeout"}, {505, "HTTP Version Not Supported"},
    {511, "Network Authentication Required"},
};

const char *dg_http_reason(int status)
{
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].status == status)
            return reasons[i].text;
    return "";
}
