/* validate/format_internal.h (private): what format.c (the format checks)
 * and format_idna.c (host names: IDNA2008 table, Punycode, U-label and Bidi
 * rules) share. The character helpers are static inline so that both files'
 * scanners keep inlining them. */
#ifndef DG_VALIDATE_FORMAT_INTERNAL_H
#define DG_VALIDATE_FORMAT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

static inline int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static inline int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Decodes one UTF-8 sequence (input is valid UTF-8; still bounds-checked). */
static inline uint32_t utf8_cp(const char *s, size_t n, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = n - *i, len = 1;
    uint32_t cp = p[0];
    if (cp >= 0xF0)
        len = 4, cp &= 0x07;
    else if (cp >= 0xE0)
        len = 3, cp &= 0x0F;
    else if (cp >= 0xC0)
        len = 2, cp &= 0x1F;
    if (len > left) {
        *i = n;
        return 0xFFFD;
    }
    for (size_t k = 1; k < len; k++)
        cp = (cp << 6) | (p[k] & 0x3F);
    *i += len;
    return cp;
}

/* RFC 1123 host name (idn = 0) or IDNA2008 idn-hostname (idn = 1) in the
 * UTF-8 bytes s[0..n): 1 valid, 0 not. Used for hostname, idn-hostname and
 * the domain of (idn-)email. */
int dg_format__hostname_ok(const char *s, size_t n, int idn);

#endif
