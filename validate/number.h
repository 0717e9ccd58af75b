/* validate/number.h (private): exact decimal arithmetic on JSON number text.
 *
 * JSON Schema compares numbers by value: 1.0 == 1, and bounds such as
 * maximum: 18446744073709551615 or multipleOf: 0.01 must not be judged
 * through a double. A dg_dec is the number text normalised to
 * sign, significant digits (no leading/trailing zeros) and a power of ten:
 * value = (neg ? -1 : 1) * digits * 10^exp. Parsing does not allocate when
 * the caller's digit buffer is large enough. */
#ifndef DG_VALIDATE_NUMBER_H
#define DG_VALIDATE_NUMBER_H

#include <stddef.h>
#include <stdint.h>

typedef struct dg_dec {
    int neg;
    const char *digits;   /* borrowed (buffer passed to dg_dec_parse) */
    size_t ndig;          /* 0 means the value zero */
    int64_t exp;
} dg_dec;

/* Parses JSON number text (already validated by the tokenizer/loader) into d,
 * writing digits to buf (at least len bytes). Returns 0, or -1 if the text is
 * not a number or the exponent is absurd (|exp| > 10^15). */
int dg_dec_parse(const char *text, size_t len, char *buf, dg_dec *d);

/* -1, 0, 1 as a < b, a == b, a > b (exact). */
int dg_dec_cmp(const dg_dec *a, const dg_dec *b);

/* 1 when the value is an integer (mathematically). */
int dg_dec_is_integer(const dg_dec *d);

/* 1 when v is an integer multiple of m (m > 0), 0 when not. Exact when m's
 * digits fit in 19 digits; otherwise falls back to long double. */
int dg_dec_multiple_of(const dg_dec *v, const dg_dec *m);

/* 1 when the value lies in [lo, hi] for int64-style range checks. */
int dg_dec_fits_i64(const dg_dec *d, int64_t lo, int64_t hi);

/* Writes a canonical text ("-123e4", "0") used for hashing/equality. Returns
 * bytes written (truncates at outsz-1). */
size_t dg_dec_canonical(const dg_dec *d, char *out, size_t outsz);

/* Number class for shapes: "zero", "int", "negative-int", "decimal", "big". */
const char *dg_dec_class(const dg_dec *d);

#endif
