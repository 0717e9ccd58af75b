/* validate/format.h: the `format` keyword's string checks.
 *
 * Pure functions on UTF-8 strings, thread-safe, no allocation. Numeric
 * formats (int32, int64, float, double) are checked by the engine on the
 * number's exact text; for them dg_format_check_string returns 1. Unknown
 * formats map to DG_FMT_UNKNOWN and always pass (lint lists them). */
#ifndef DG_VALIDATE_FORMAT_H
#define DG_VALIDATE_FORMAT_H

#include <stddef.h>

typedef enum dg_format {
    DG_FMT_UNKNOWN = 0,
    DG_FMT_DATE_TIME,      /* RFC 3339 date-time (leap second :60 only at 23:59 UTC-adjusted) */
    DG_FMT_DATE,           /* RFC 3339 full-date, real calendar (leap years) */
    DG_FMT_TIME,           /* RFC 3339 full-time (offset required) */
    DG_FMT_DURATION,       /* RFC 3339 appendix A ISO 8601 duration */
    DG_FMT_EMAIL,          /* RFC 5321 Mailbox (incl. quoted local part, IP literals) */
    DG_FMT_IDN_EMAIL,
    DG_FMT_HOSTNAME,       /* RFC 1123 labels, total <= 253 */
    DG_FMT_IDN_HOSTNAME,
    DG_FMT_IPV4,           /* dotted quad, no leading zeros */
    DG_FMT_IPV6,           /* RFC 4291 text forms incl. embedded IPv4, no zone */
    DG_FMT_URI,            /* RFC 3986 absolute URI (scheme required) */
    DG_FMT_URI_REFERENCE,
    DG_FMT_IRI,
    DG_FMT_IRI_REFERENCE,
    DG_FMT_URI_TEMPLATE,   /* RFC 6570 */
    DG_FMT_UUID,           /* 8-4-4-4-12 hex */
    DG_FMT_JSON_POINTER,   /* RFC 6901 */
    DG_FMT_RELATIVE_JSON_POINTER,
    DG_FMT_REGEX,          /* ECMA-262 pattern that compiles (validate/regex.h) */
    DG_FMT_BYTE,           /* OAS: base64 (RFC 4648, padded) */
    DG_FMT_BINARY,         /* OAS: any octets, always passes */
    DG_FMT_PASSWORD,       /* OAS: hint only, always passes */
    DG_FMT_INT32,          /* numeric formats: checked by the engine */
    DG_FMT_INT64,
    DG_FMT_FLOAT,
    DG_FMT_DOUBLE,
    DG_FMT_COUNT
} dg_format;

/* Maps a format name (exact, case-sensitive) to its id; DG_FMT_UNKNOWN when
 * driftgate does not know it. */
dg_format dg_format_lookup(const char *name, size_t len);
const char *dg_format_name(dg_format f);
int dg_format_is_numeric(dg_format f);

/* 1 when the string s (n bytes, valid UTF-8) satisfies f, 0 when not.
 * Formats that do not apply to strings return 1. */
int dg_format_check_string(dg_format f, const char *s, size_t n);

#endif
