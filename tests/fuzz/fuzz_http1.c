/* tests/fuzz/fuzz_http1.c: libFuzzer target for proxy/http1.c (and the
 * small state machine around zlib in proxy/inflate.c).
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *       tests/fuzz/fuzz_http1.c proxy/http1.c proxy/inflate.c common/error.c -lz \
 *       -o fuzz_http1
 *   ./fuzz_http1 tests/fuzz/corpus/http1
 *
 * Input layout: byte 0 picks the header limit, the request method used for
 * response framing and whether the body is also inflated; bytes 1..4 are
 * chunk sizes (0..31, used cyclically; 0 makes an empty feed); the rest is
 * the message.
 *
 * The message is parsed as a request and as a response. A complete head
 * must keep the parser's promises (every name a token, every value free of
 * CTLs and trimmed, everything inside the head), parse the same from an
 * exactly-sized copy, and every proper prefix of it must be "need more";
 * framing and hop-by-hop checks run on it. The body (the bytes after a
 * parsed head, else the whole message) then goes through the
 * chunked decoder whole, in the chunks, and (when short) byte by byte: all
 * runs must agree on the result, the bytes consumed, the payload and the
 * absolute error offset. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http1.h"
#include "proxy/inflate.h"

#include "fuzz_check.h"

#define MAXH 24

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ULL;
}

static int tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int in_head(const char *buf, size_t head_len, const char *p, size_t n)
{
    return p >= buf && p <= buf + head_len && n <= (size_t)(buf + head_len - p);
}

static int parse(int resp, const char *buf, size_t len, dg_http_header *hs, size_t maxh,
                 dg_http_head *h, dg_error *err)
{
    return resp ? dg_http_parse_response(buf, len, hs, maxh, h, err)
                : dg_http_parse_request(buf, len, hs, maxh, h, err);
}

/* Parses msg[0..len) in an exactly-sized copy. */
static int parse_copy(int resp, const uint8_t *msg, size_t len, size_t maxh)
{
    dg_http_header hs[MAXH];
    dg_http_head h;
    dg_error err;
    char *p = malloc(len ? len : 1);
    CHECK(p);
    memcpy(p, msg, len);
    int r = parse(resp, p, len, hs, maxh, &h, &err);
    free(p);
    return r;
}

static void check_head(int resp, const char *buf, size_t len, const dg_http_head *h,
                       const dg_http_header *hs, size_t maxh, int method_pick)
{
    CHECK(h->head_len <= len && h->head_len >= 4);
    CHECK(h->n_headers <= maxh && h->headers == hs);
    CHECK(h->minor_version == 0 || h->minor_version == 1);
    CHECK(memcmp(buf + h->head_len - 4, "\r\n\r\n", 4) == 0);
    if (resp) {
        CHECK(h->status >= 100 && h->status <= 999);
        CHECK(in_head(buf, h->head_len, h->reason, h->reason_len));
    } else {
        CHECK(h->method_len > 0 && in_head(buf, h->head_len, h->method, h->method_len));
        for (size_t k = 0; k < h->method_len; k++)
            CHECK(tchar((unsigned char)h->method[k]));
        CHECK(h->target_len > 0 && in_head(buf, h->head_len, h->target, h->target_len));
        for (size_t k = 0; k < h->target_len; k++)
            CHECK((unsigned char)h->target[k] > 0x20 && h->target[k] != 0x7f);
    }
    for (size_t i = 0; i < h->n_headers; i++) {
        const dg_http_header *f = &hs[i];
        CHECK(f->name_len > 0 && in_head(buf, h->head_len, f->name, f->name_len));
        CHECK(in_head(buf, h->head_len, f->value, f->value_len));
        for (size_t k = 0; k < f->name_len; k++)
            CHECK(tchar((unsigned char)f->name[k]));
        CHECK(f->name[f->name_len] == ':');
        for (size_t k = 0; k < f->value_len; k++) {
            unsigned char c = (unsigned char)f->value[k];
            CHECK(c == '\t' || (c >= 0x20 && c != 0x7f));
        }
        if (f->value_len) {
            CHECK(f->value[0] != ' ' && f->value[0] != '\t');
            CHECK(f->value[f->value_len - 1] != ' ' && f->value[f->value_len - 1] != '\t');
        }
        const dg_http_header *first = dg_http_find(h, "x-a");
        CHECK(!first || (first <= f || !dg_http_name_is(f, "X-A")));
        (void)dg_http_is_hop_by_hop(h, f);
        (void)dg_http_list_has(f->value, f->value_len, "close");
    }

    dg_http_framing fr;
    dg_error err;
    static const char *const methods[] = {"GET", "HEAD", "CONNECT", NULL};
    const char *m = methods[method_pick & 3];
    int r = resp ? dg_http_response_framing(h, m, m ? strlen(m) : 0, &fr, &err)
                 : dg_http_request_framing(h, &fr, &err);
    CHECK(r == 0 || r == DG_EPARSE || (!resp && r == DG_EINVAL));
    if (r == 0) {
        const dg_http_header *te = dg_http_find(h, "transfer-encoding");
        const dg_http_header *cl = dg_http_find(h, "content-length");
        CHECK(!(te && cl));
        if (fr.body == DG_BODY_CHUNKED)
            CHECK(te && h->minor_version == 1);
        if (fr.body == DG_BODY_LENGTH)
            CHECK(cl && fr.length <= (uint64_t)INT64_MAX);
        if (fr.body == DG_BODY_CLOSE)
            CHECK(resp && !fr.keep_alive);
        if (!resp)
            CHECK(fr.body != DG_BODY_CLOSE);
        if (fr.content_encoding)
            (void)dg_coding_parse(fr.content_encoding, fr.content_encoding_len);
    }
}

/* Parses as request or response; returns the head length or 0. */
static size_t fuzz_head(int resp, const uint8_t *msg, size_t len, size_t maxh, int method_pick)
{
    dg_http_header hs[MAXH];
    dg_http_head h;
    dg_error err;
    const char *buf = (const char *)msg;
    int r = parse(resp, buf, len, hs, maxh, &h, &err);
    CHECK(r >= 0 || r == DG_EPARSE || r == DG_ELIMIT);
    CHECK(parse_copy(resp, msg, len, maxh) == r);
    if (r < 0) {
        CHECK(!err.has_offset || err.offset < len);
        return 0;
    }
    if (r == 0) {
        /* "need more" is monotonic: no prefix can be an error or complete */
        CHECK(parse_copy(resp, msg, len / 2, maxh) == 0);
        return 0;
    }
    check_head(resp, buf, len, &h, hs, maxh, method_pick);
    size_t head_len = (size_t)r;
    CHECK(parse_copy(resp, msg, head_len, maxh) == r);
    if (head_len <= 300) {
        for (size_t i = 0; i < head_len; i++)
            CHECK(parse_copy(resp, msg, i, maxh) == 0);
    } else {
        CHECK(parse_copy(resp, msg, head_len - 1, maxh) == 0);
        CHECK(parse_copy(resp, msg, head_len / 2, maxh) == 0);
    }
    return head_len;
}

typedef struct run {
    int64_t rc;       /* total consumed, or the error code */
    uint64_t err_off; /* absolute error offset */
    uint64_t hash, payload;
    int done;
} run;

static int sink(void *ctx, const char *p, size_t n)
{
    run *r = ctx;
    CHECK(n > 0);
    mix(&r->hash, p, n);
    r->payload += n;
    return 0;
}

static void dechunk(const uint8_t *in, size_t len, const uint8_t *sizes, size_t nsizes, run *r)
{
    dg_chunked c;
    dg_error err;
    memset(r, 0, sizeof *r);
    r->hash = 0xcbf29ce484222325ULL;
    dg_chunked_init(&c);
    size_t off = 0, k = 0;
    do {
        size_t n = nsizes ? sizes[k++ % nsizes] : len;
        if (n > len - off)
            n = len - off;
        char *piece = malloc(n ? n : 1);
        CHECK(piece);
        memcpy(piece, in + off, n);
        ssize_t got = dg_chunked_feed(&c, piece, n, sink, r, &err);
        free(piece);
        if (got < 0) {
            CHECK(got == DG_EPARSE || got == DG_ELIMIT);
            CHECK(err.has_offset && err.offset < n);
            r->rc = got;
            r->err_off = off + err.offset;
            /* sticky */
            CHECK(dg_chunked_feed(&c, "0\r\n\r\n", 5, sink, r, &err) == got);
            return;
        }
        CHECK((size_t)got <= n);
        if ((size_t)got < n)
            CHECK(c.done);
        off += (size_t)got;
    } while (!c.done && off < len);
    CHECK(c.payload == r->payload);
    r->rc = (int64_t)off;
    r->done = c.done;
    if (c.done)
        CHECK(dg_chunked_feed(&c, "0\r\n\r\n", 5, sink, r, &err) == 0);
}

static void same(const run *a, const run *b)
{
    CHECK(a->rc == b->rc);
    CHECK(a->done == b->done);
    CHECK(a->payload == b->payload);
    CHECK(a->hash == b->hash);
    if (a->rc < 0)
        CHECK(a->err_off == b->err_off);
}

static int isink(void *ctx, const char *p, size_t n)
{
    run *r = ctx;
    CHECK(n > 0 && n <= 65536);
    mix(&r->hash, p, n);
    r->payload += n;
    return 0;
}

static void do_inflate(dg_coding coding, const uint8_t *in, size_t len, const uint8_t *sizes,
                       size_t nsizes, run *r)
{
    dg_error err;
    memset(r, 0, sizeof *r);
    r->hash = 0xcbf29ce484222325ULL;
    dg_inflate *z = dg_inflate_new(coding, 1u << 20, 0);
    CHECK(z);
    size_t off = 0, k = 0;
    int rc = 0;
    do {
        size_t n = nsizes ? sizes[k++ % nsizes] : len;
        if (n > len - off)
            n = len - off;
        char *piece = malloc(n ? n : 1);
        CHECK(piece);
        memcpy(piece, in + off, n);
        rc = dg_inflate_feed(z, piece, n, isink, r, &err);
        free(piece);
        off += n;
    } while (!rc && off < len);
    if (!rc)
        rc = dg_inflate_finish(z, &err);
    CHECK(rc == 0 || rc == DG_EPARSE || rc == DG_ELIMIT);
    CHECK(dg_inflate_total_out(z) == r->payload && r->payload <= (1u << 20));
    r->rc = rc;
    dg_inflate_free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sizes[4];
    static const uint8_t one = 1;
    if (size < 5)
        return 0;
    static const size_t limits[] = {MAXH, 0, 1, 4};
    size_t maxh = limits[data[0] & 3];
    int method_pick = (data[0] >> 2) & 3;
    int any = 0;
    for (int i = 0; i < 4; i++)
        any |= (sizes[i] = data[1 + i] & 31);
    const uint8_t *msg = data + 5;
    size_t len = size - 5;

    size_t rq_head = fuzz_head(0, msg, len, maxh, method_pick);
    size_t head = fuzz_head(1, msg, len, maxh, method_pick);
    CHECK(!(rq_head && head)); /* no text is both a request and a response */
    if (!head)
        head = rq_head;

    const uint8_t *body = msg + head;
    size_t blen = len - head;
    run whole, chunked, bytes;
    dechunk(body, blen, NULL, 0, &whole);
    dechunk(body, blen, any ? sizes : &one, any ? 4 : 1, &chunked);
    same(&whole, &chunked);
    if (blen <= 512) {
        dechunk(body, blen, &one, 1, &bytes);
        same(&whole, &bytes);
    }

    /* Inflate only the payload-looking inputs the flag selects: the result
     * (output and code) must not depend on how the bytes were split. */
    if (data[0] & 0x10) {
        dg_coding coding = data[0] & 0x20 ? DG_CODING_DEFLATE : DG_CODING_GZIP;
        do_inflate(coding, body, blen, NULL, 0, &whole);
        do_inflate(coding, body, blen, any ? sizes : &one, any ? 4 : 1, &chunked);
        CHECK(whole.rc == chunked.rc);
        /* On success the output is the same; after an error how much came
         * out first depends on the output windows, so only the code is. */
        if (whole.rc == 0)
            CHECK(whole.payload == chunked.payload && whole.hash == chunked.hash);
    }
    return 0;
}
