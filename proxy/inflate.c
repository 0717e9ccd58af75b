/* proxy/inflate.c: bounded streaming gzip/deflate decoding (proxy/inflate.h).
 *
 * zlib does the decoding; this file adds what HTTP needs around it:
 *   - "deflate" is detected from its first two bytes: a valid zlib header
 *     (CM 8, CINFO <= 7, FCHECK a multiple of 31) means RFC 1950, anything
 *     else raw RFC 1951. A raw stream whose first two bytes happen to form a
 *     zlib header is misread and reported as corrupt; that needs a stored
 *     first block with non-zero padding bits, which no real encoder emits.
 *   - gzip may carry several members; after a member ends, either another
 *     member (0x1f 0x8b), zero padding up to the end, or nothing may follow.
 *     Anything else is trailing garbage (DG_EPARSE): the validator must not
 *     judge a body that the client may read differently.
 *   - bounds: the output window handed to inflate() never exceeds what is
 *     left of max_out plus one byte, so a bomb is noticed after at most
 *     max_out bytes of work; the ratio is checked after every window once
 *     1 MiB has come out (small bodies compress far beyond any sane ratio).
 * Errors are sticky: after one, feed and finish return the same code.
 *
 * DG_CODING_IDENTITY passes bytes through (max_out still applies), and
 * DG_CODING_UNSUPPORTED makes feed fail with DG_EINVAL, so a caller can use
 * one code path for every body. */
#include "proxy/inflate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define OUT_WINDOW 65536
#define RATIO_AFTER (1u << 20)
#define DEFAULT_MAX_OUT (64ull << 20)
#define DEFAULT_RATIO 100u

enum {
    ST_START,   /* nothing consumed yet (deflate: format not yet known) */
    ST_STREAM,  /* inside a gzip member / zlib / raw stream */
    ST_END,     /* a stream ended; see what follows */
    ST_PADDING  /* only zero bytes may follow */
};

struct dg_inflate {
    z_stream zs;
    int zinit;            /* inflateInit2 done */
    dg_coding coding;
    int state;
    int failed;           /* sticky error code, 0 when fine */
    unsigned char first;  /* deflate: first byte while waiting for the second */
    int have_first;
    uint64_t max_out;
    unsigned max_ratio;
    uint64_t total_in;    /* compressed bytes consumed (including padding) */
    uint64_t total_out;
    uint64_t member_in;   /* bytes consumed by the current gzip member */
    int ended;            /* streams (gzip members) completed */
    unsigned char out[OUT_WINDOW];
};

dg_coding dg_coding_parse(const char *value, size_t len)
{
    dg_coding found = DG_CODING_IDENTITY;
    int n = 0;
    size_t pos = 0;
    if (!len)
        return DG_CODING_IDENTITY;
    while (pos <= len) {
        size_t s = pos;
        while (pos < len && value[pos] != ',')
            pos++;
        size_t e = pos++;
        while (s < e && (value[s] == ' ' || value[s] == '\t'))
            s++;
        while (e > s && (value[e - 1] == ' ' || value[e - 1] == '\t'))
            e--;
        size_t k = e - s;
        const char *el = value + s;
        if (!k || (k == 8 && strncasecmp(el, "identity", 8) == 0))
            continue;
        if (++n > 1)
            return DG_CODING_UNSUPPORTED;
        if ((k == 4 && strncasecmp(el, "gzip", 4) == 0) ||
            (k == 6 && strncasecmp(el, "x-gzip", 6) == 0))
            found = DG_CODING_GZIP;
        else if (k == 7 && strncasecmp(el, "deflate", 7) == 0)
            found = DG_CODING_DEFLATE;
        else
            found = DG_CODING_UNSUPPORTED;
    }
    return found;
}

dg_inflate *dg_inflate_new(dg_coding coding, uint64_t max_out, unsigned max_ratio)
{
    dg_inflate *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->coding = coding;
    z->max_out = max_out ? max_out : DEFAULT_MAX_OUT;
    z->max_ratio = max_ratio ? max_ratio : DEFAULT_RATIO;
    z->state = ST_START;
    if (coding == DG_CODING_GZIP) {
        /* 15 + 16: gzip wrapper only (not zlib auto-detection). */
        if (inflateInit2(&z->zs, 15 + 16) != Z_OK) {
            free(z);
            return NULL;
        }
        z->zinit = 1;
    }
    return z;
}

void dg_inflate_free(dg_inflate *z)
{
    if (!z)
        return;
    if (z->zinit)
        inflateEnd(&z->zs);
    free(z);
}

uint64_t dg_inflate_total_out(const dg_inflate *z)
{
    return z->total_out;
}

__attribute__((format(printf, 5, 6)))
static int z_fail(dg_inflate *z, int code, uint64_t off, dg_error *err, const char *fmt, ...)
{
    z->failed = code;
    if (err) {
        va_list ap;
        memset(err, 0, sizeof *err);
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->offset = off;
        err->has_offset = 1;
    }
    return code;
}

/* A zlib (RFC 1950) header: deflate method, window <= 32K, check bits. */
static int zlib_header(unsigned char b0, unsigned char b1)
{
    return (b0 & 0x0f) == 8 && (b0 >> 4) <= 7 && ((unsigned)b0 << 8 | b1) % 31 == 0;
}

/* Picks zlib or raw deflate; 0 or DG_ENOMEM. */
static int deflate_start(dg_inflate *z, unsigned char b0, unsigned char b1, dg_error *err)
{
    int bits = zlib_header(b0, b1) ? 15 : -15;
    if (inflateInit2(&z->zs, bits) != Z_OK)
        return z_fail(z, DG_ENOMEM, z->total_in, err, "%s", "inflate: out of memory");
    z->zinit = 1;
    return 0;
}

/* Runs inflate over zs's input, delivering output; stops when the input is
 * used up and no output is pending, or a stream ends. */
static int pump(dg_inflate *z, dg_inflate_cb cb, void *ctx, dg_error *err)
{
    for (;;) {
        uint64_t left = z->max_out - z->total_out;
        /* One byte beyond the budget tells "exactly max_out" from "more". */
        uInt cap = left >= OUT_WINDOW ? OUT_WINDOW : (uInt)left + 1;
        uInt avail_in0 = z->zs.avail_in;
        z->zs.next_out = z->out;
        z->zs.avail_out = cap;
        int rc = inflate(&z->zs, Z_NO_FLUSH);
        size_t produced = cap - z->zs.avail_out;
        uint64_t used = avail_in0 - z->zs.avail_in;
        z->total_in += used;
        z->member_in += used;
        if (rc == Z_MEM_ERROR)
            return z_fail(z, DG_ENOMEM, z->total_in, err, "%s", "inflate: out of memory");
        if (rc == Z_NEED_DICT)
            return z_fail(z, DG_EPARSE, z->total_in, err, "%s",
                          "deflate stream needs a preset dictionary");
        if (rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR) {
            /* A second gzip member whose magic is wrong is just junk after
             * the body, not a damaged member. */
            if (z->coding == DG_CODING_GZIP && z->ended && z->member_in <= 2)
                return z_fail(z, DG_EPARSE, z->total_in - z->member_in, err, "%s",
                              "trailing garbage after gzip member");
            return z_fail(z, DG_EPARSE, z->total_in, err, "corrupt compressed body: %s",
                          z->zs.msg ? z->zs.msg : "invalid data");
        }
        if (produced > left)
            return z_fail(z, DG_ELIMIT, z->total_in, err, "%s",
                          "decompressed body exceeds the size limit");
        z->total_out += produced;
        if (z->total_out > RATIO_AFTER && z->total_out / z->max_ratio > z->total_in)
            return z_fail(z, DG_ELIMIT, z->total_in, err, "%s",
                          "decompression ratio exceeds the limit");
        if (produced && cb) {
            int r = cb(ctx, (const char *)z->out, produced);
            if (r < 0) {
                z->failed = r;
                return dg_error_set(err, r, "inflate output callback stopped");
            }
        }
        if (rc == Z_STREAM_END) {
            z->state = ST_END;
            z->ended++;
            return 0;
        }
        /* Z_BUF_ERROR or no room left unused: no progress possible now. */
        if (rc == Z_BUF_ERROR || (z->zs.avail_in == 0 && z->zs.avail_out != 0))
            return 0;
    }
}

int dg_inflate_feed(dg_inflate *z, const char *p, size_t n, dg_inflate_cb cb, void *ctx,
                    dg_error *err)
{
    if (z->failed)
        return dg_error_set(err, z->failed, "decoder already failed");
    if (z->coding == DG_CODING_UNSUPPORTED)
        return z_fail(z, DG_EINVAL, 0, err, "%s", "unsupported content coding");
    if (z->coding == DG_CODING_IDENTITY) {
        if (n > z->max_out - z->total_out)
            return z_fail(z, DG_ELIMIT, z->total_in, err, "%s", "body exceeds the size limit");
        z->total_in += n;
        z->total_out += n;
        if (n && cb) {
            int r = cb(ctx, p, n);
            if (r < 0) {
                z->failed = r;
                return dg_error_set(err, r, "inflate output callback stopped");
            }
        }
        return 0;
    }
    const unsigned char *in = (const unsigned char *)p;
    while (n) {
        switch (z->state) {
        case ST_START:
            if (z->coding == DG_CODING_DEFLATE) {
                /* Two bytes decide the format; keep a lone first byte. */
                if (!z->have_first) {
                    z->first = *in++;
                    n--;
                    z->have_first = 1;
                    continue;
                }
                int r = deflate_start(z, z->first, *in, err);
                if (r)
                    return r;
                z->zs.next_in = &z->first;
                z->zs.avail_in = 1;
                z->state = ST_STREAM;
                if ((r = pump(z, cb, ctx, err)) < 0)
                    return r;
                /* A one-byte input cannot end a stream nor hold output back. */
                continue;
            }
            z->state = ST_STREAM;
            continue;
        case ST_STREAM: {
            /* avail_in is uInt: feed huge inputs in slices. */
            uInt slice = n > (uInt)-1 ? (uInt)-1 : (uInt)n;
            z->zs.next_in = (unsigned char *)in;
            z->zs.avail_in = slice;
            int r = pump(z, cb, ctx, err);
            if (r < 0)
                return r;
            size_t used = slice - z->zs.avail_in;
            /* zlib always makes progress while it has input and room;
             * should it not, fail rather than spin. */
            if (!used && z->state == ST_STREAM)
                return z_fail(z, DG_EPARSE, z->total_in, err, "%s", "inflate made no progress");
            in += used;
            n -= used;
            continue;
        }
        case ST_END:
            if (*in == 0) {
                z->state = ST_PADDING;
            } else if (z->coding == DG_CODING_GZIP && *in == 0x1f) {
                inflateReset(&z->zs);
                z->member_in = 0;
                z->state = ST_STREAM;
            } else {
                return z_fail(z, DG_EPARSE, z->total_in, err, "%s",
                              z->coding == DG_CODING_GZIP ? "trailing garbage after gzip member"
                                                          : "trailing garbage after deflate stream");
            }
            continue;
        case ST_PADDING:
            for (size_t i = 0; i < n; i++)
                if (in[i])
                    return z_fail(z, DG_EPARSE, z->total_in + i, err, "%s",
                                  "trailing garbage after compressed body");
            z->total_in += n;
            n = 0;
            continue;
        default:
            return z_fail(z, DG_EINVAL, z->total_in, err, "%s", "inflate in an invalid state");
        }
    }
    return 0;
}

int dg_inflate_finish(dg_inflate *z, dg_error *err)
{
    if (z->failed)
        return dg_error_set(err, z->failed, "decoder already failed");
    if (z->coding == DG_CODING_IDENTITY)
        return 0;
    if (z->coding == DG_CODING_UNSUPPORTED)
        return z_fail(z, DG_EINVAL, 0, err, "%s", "unsupported content coding");
    if (z->state == ST_END || z->state == ST_PADDING)
        return 0;
    return z_fail(z, DG_EPARSE, z->total_in, err, "%s",
                  z->total_in || z->have_first ? "compressed body is truncated"
                                               : "compressed body is empty");
}
