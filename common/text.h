/* common/text.h: small text helpers shared by the modules: hex digit values
 * and RFC 3986 percent-decoding. Pure functions on caller-owned memory;
 * thread-safe.
 *
 * Percent-decoding here is the lenient kind: a '%' that is not followed by
 * two hex digits is kept as a literal '%'. Callers that must reject such
 * input (JSON pointers in URI fragments, see dg_json_pointer_get) check the
 * escapes themselves. */
#ifndef DG_COMMON_TEXT_H
#define DG_COMMON_TEXT_H

#include <stddef.h>

struct dg_buf;

/* The value of the hex digit c (0..15), or -1 when c is not one. */
static inline int dg_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes src[0..n) into dst, which has room for n bytes (decoding
 * never grows the text). Malformed % escapes are copied literally and set
 * *bad when bad is not NULL (*bad is never cleared). Returns the decoded
 * length; writes no NUL. No allocation. */
size_t dg_pct_decode_into(char *dst, const char *src, size_t n, int *bad);

/* Percent-decodes p[0..n) into out, replacing what it held. Malformed %
 * escapes are copied literally. On success out->data is the decoded text,
 * NUL-terminated (never NULL). 0 or DG_ENOMEM. */
int dg_pct_decode(const char *p, size_t n, struct dg_buf *out);

#endif
