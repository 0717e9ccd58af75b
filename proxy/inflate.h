/* proxy/inflate.h: bounded streaming decompression of a response body copy.
 *
 * The client always receives the original compressed bytes; this decoder
 * only feeds the validator. gzip (RFC 1952, including several members),
 * deflate as HTTP means it (zlib-wrapped, RFC 1950) and raw deflate (RFC
 * 1951, which some servers send as "deflate"; detected from the first
 * bytes). Bounds: total inflated bytes and the inflated/compressed ratio
 * (checked once more than 1 MiB has come out), so a decompression bomb costs
 * at most max_out bytes of work and a fixed 64 KiB window of memory: output
 * is handed to the callback in pieces and never accumulated.
 * One object per body, owned by one thread. */
#ifndef DG_PROXY_INFLATE_H
#define DG_PROXY_INFLATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum dg_coding {
    DG_CODING_IDENTITY = 0,
    DG_CODING_GZIP,       /* "gzip", "x-gzip" */
    DG_CODING_DEFLATE,    /* "deflate" */
    DG_CODING_UNSUPPORTED /* anything else ("br", "zstd", stacked codings) */
} dg_coding;

/* Parses a Content-Encoding value (case-insensitive; "identity" or empty is
 * IDENTITY; a list of more than one non-identity coding is UNSUPPORTED). */
dg_coding dg_coding_parse(const char *value, size_t len);

typedef struct dg_inflate dg_inflate;

/* max_out: bound on inflated bytes (0 = 64 MiB); max_ratio: bound on
 * inflated/compressed (0 = 100). Caller owns the result; NULL on ENOMEM.
 * IDENTITY passes bytes through (max_out applies); with UNSUPPORTED, feed
 * and finish return DG_EINVAL. */
dg_inflate *dg_inflate_new(dg_coding coding, uint64_t max_out, unsigned max_ratio);
void dg_inflate_free(dg_inflate *z);

/* Output callback: 0 to go on, negative to stop (returned by feed). */
typedef int (*dg_inflate_cb)(void *ctx, const char *p, size_t n);

/* Feeds compressed bytes. Returns 0, DG_ELIMIT when a bound is hit, DG_EPARSE
 * on corrupt data (err: zlib's message and the compressed byte offset), or
 * the callback's code. Bytes after the end of the (last) stream are an
 * error (DG_EPARSE) unless they are zero padding. */
int dg_inflate_feed(dg_inflate *z, const char *p, size_t n, dg_inflate_cb cb, void *ctx,
                    dg_error *err);
/* At end of body: DG_EPARSE when the compressed stream was truncated (or
 * empty). Errors from feed are sticky and returned again. */
int dg_inflate_finish(dg_inflate *z, dg_error *err);
uint64_t dg_inflate_total_out(const dg_inflate *z);

#endif
