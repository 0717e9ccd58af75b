#include "validate/number.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dg_dec_parse(const char *t, size_t len, char *buf, dg_dec *d)
{
    size_t i = 0, n = 0;
    int64_t exp = 0;
    int seen_digit = 0;
    d->neg = 0;
    if (i < len && (t[i] == '-' || t[i] == '+')) {
        d->neg = t[i] == '-';
        i++;
    }
    /* integer part */
    for (; i < len && t[i] >= '0' && t[i] <= '9'; i++) {
        seen_digit = 1;
        if (n == 0 && t[i] == '0')
            continue; /* leading zero */
        buf[n++] = t[i];
    }
    int64_t int_digits = (int64_t)n; /* significant digits before the point */
    int64_t frac_lead_zeros = 0;
    if (i < len && t[i] == '.') {
        i++;
        for (; i < len && t[i] >= '0' && t[i] <= '9'; i++) {
            seen_digit = 1;
            if (n == 0 && t[i] == '0') {
                frac_lead_zeros++;
                continue;
            }
            buf[n++] = t[i];
        }
    }
    if (!seen_digit)
        return -1;
    int64_t e = 0;
    if (i < len && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < len && (t[i] == '+' || t[i] == '-')) {
            eneg = t[i] == '-';
            i++;
        }
        if (i >= len)
            return -1;
        for (; i < len && t[i] >= '0' && t[i] <= '9'; i++) {
            if (e > 1000000000000000LL)
                return -1;
            e = e * 10 + (t[i] - '0');
        }
        if (eneg)
            e = -e;
    }
    if (i != len)
        return -1;
    /* value = 0.[frac zeros][digits] scaled: digits * 10^(int_digits - n) when no leading frac zeros */
    if (n == 0) {
        d->digits = buf;
        d->ndig = 0;
        d->exp = 0;
        d->neg = 0; /* -0 == 0 */
        return 0;
    }
    if (int_digits > 0)
        exp = int_digits - (int64_t)n;
    else
        exp = -frac_lead_zeros - (int64_t)n;
    /* strip trailing zeros */
    while (n > 0 && buf[n - 1] == '0') {
        n--;
        exp++;
    }
    d->digits = buf;
    d->ndig = n;
    d->exp = exp + e;
    return 0;
}

static int cmp_mag(const dg_dec *a, const dg_dec *b)
{
    if (a->ndig == 0 || b->ndig == 0)
        return (a->ndig != 0) - (b->ndig != 0);
    int64_t ma = (int64_t)a->ndig + a->exp, mb = (int64_t)b->ndig + b->exp;
    if (ma != mb)
        return ma < mb ? -1 : 1;
    size_t m = a->ndig < b->ndig ? a->ndig : b->ndig;
    int c = memcmp(a->digits, b->digits, m);
    if (c)
        return c < 0 ? -1 : 1;
    if (a->ndig == b->ndig)
        return 0;
    return a->ndig < b->ndig ? -1 : 1; /* the longer has more non-zero digits */
}

int dg_dec_cmp(const dg_dec *a, const dg_dec *b)
{
    int sa = a->ndig == 0 ? 0 : (a->neg ? -1 : 1);
    int sb = b->ndig == 0 ? 0 : (b->neg ? -1 : 1);
    if (sa != sb)
        return sa < sb ? -1 : 1;
    if (sa == 0)
        return 0;
    int c = cmp_mag(a, b);
    return sa > 0 ? c : -c;
}

int dg_dec_is_integer(const dg_dec *d)
{
    return d->ndig == 0 || d->exp >= 0;
}

static uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m)
{
    return (uint64_t)(((unsigned __int128)a * b) % m);
}

static uint64_t pow10mod(int64_t k, uint64_t m)
{
    uint64_t r = 1 % m, base = 10 % m;
    while (k > 0) {
        if (k & 1)
            r = mulmod(r, base, m);
        base = mulmod(base, base, m);
        k >>= 1;
    }
    return r;
}

int dg_dec_multiple_of(const dg_dec *v, const dg_dec *m)
{
    if (v->ndig == 0)
        return 1;
    if (m->ndig == 0)
        return 0;
    if (m->ndig <= 19) {
        uint64_t D = 0;
        for (size_t i = 0; i < m->ndig; i++)
            D = D * 10 + (uint64_t)(m->digits[i] - '0');
        /* v = V*10^ev, m = D*10^em; V has no trailing zeros. */
        if (m->exp > v->exp) {
            /* need V divisible by D*10^(em-ev): V is not divisible by 10 */
            return 0;
        }
        uint64_t r = 0;
        for (size_t i = 0; i < v->ndig; i++)
            r = (uint64_t)(((unsigned __int128)r * 10 + (uint64_t)(v->digits[i] - '0')) % D);
        r = mulmod(r, pow10mod(v->exp - m->exp, D), D);
        return r == 0;
    }
    /* Very long divisor: approximate. */
    char vb[64], mb[64];
    snprintf(vb, sizeof vb, "%.*se%lld", (int)(v->ndig > 30 ? 30 : v->ndig), v->digits,
             (long long)(v->exp + (int64_t)v->ndig - (int64_t)(v->ndig > 30 ? 30 : v->ndig)));
    snprintf(mb, sizeof mb, "%.*se%lld", (int)(m->ndig > 30 ? 30 : m->ndig), m->digits,
             (long long)(m->exp + (int64_t)m->ndig - (int64_t)(m->ndig > 30 ? 30 : m->ndig)));
    long double a = strtold(vb, NULL), b = strtold(mb, NULL);
    if (!isfinite(a) || !isfinite(b) || b == 0)
        return 0;
    long double q = a / b;
    return isfinite(q) && fabsl(q - roundl(q)) < 1e-9L;
}

int dg_dec_fits_i64(const dg_dec *d, int64_t lo, int64_t hi)
{
    char b1[32], b2[32];
    dg_dec l, h;
    snprintf(b1, sizeof b1, "%lld", (long long)lo);
    snprintf(b2, sizeof b2, "%lld", (long long)hi);
    char d1[32], d2[32];
    dg_dec_parse(b1, strlen(b1), d1, &l);
    dg_dec_parse(b2, strlen(b2), d2, &h);
    return dg_dec_is_integer(d) && dg_dec_cmp(d, &l) >= 0 && dg_dec_cmp(d, &h) <= 0;
}

size_t dg_dec_canonical(const dg_dec *d, char *out, size_t outsz)
{
    if (d->ndig == 0)
        return (size_t)snprintf(out, outsz, "0");
    int w = snprintf(out, outsz, "%s%.*se%lld", d->neg ? "-" : "", (int)d->ndig, d->digits,
                     (long long)d->exp);
    if (w < 0)
        return 0;
    return (size_t)w >= outsz ? outsz - 1 : (size_t)w;
}

const char *dg_dec_class(const dg_dec *d)
{
    if (d->ndig == 0)
        return "zero";
    if (!dg_dec_is_integer(d))
        return "decimal";
    if ((int64_t)d->ndig + d->exp > 18)
        return "big";
    return d->neg ? "negative-int" : "int";
}
