/* validate/format.c: the `format` keyword's string checks (see format.h).
 *
 * Hand-written scanners, no allocation (except "regex", which compiles the
 * pattern), no regex engine. Strictness follows the RFCs the formats name:
 *   date, time, date-time  RFC 3339 (leap second only at 23:59:60 UTC)
 *   duration               RFC 3339 appendix A
 *   email, idn-email       RFC 5321 Mailbox / RFC 6531 (quoted local parts,
 *                          address literals [IPv4] and [IPv6:...])
 *   hostname, idn-hostname RFC 1123 + IDNA2008 (RFC 5890-5893): A-labels
 *                          (xn--) are decoded and must be canonical valid
 *                          U-labels: PVALID code points, CONTEXTJ/CONTEXTO
 *                          rules, no leading mark, Bidi rule (format_idna.c)
 *   ipv4, ipv6             RFC 2673 dotted quad (no leading zeros), RFC 4291
 *   uri, uri-reference     RFC 3986; iri, iri-reference RFC 3987
 *   uri-template           RFC 6570 (level 4)
 *   json-pointer           RFC 6901; relative-json-pointer (draft)
 *   byte                   RFC 4648 base64, standard alphabet, padded
 * Known leniency: U-labels are not checked for NFC (needs normalization data),
 * and non-zero padding bits in base64 are accepted. */
#include "validate/format.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "validate/format_internal.h"
#include "validate/regex.h"

static const char *const fmt_names[DG_FMT_COUNT] = {
    [DG_FMT_UNKNOWN] = "unknown",
    [DG_FMT_DATE_TIME] = "date-time",
    [DG_FMT_DATE] = "date",
    [DG_FMT_TIME] = "time",
    [DG_FMT_DURATION] = "duration",
    [DG_FMT_EMAIL] = "email",
    [DG_FMT_IDN_EMAIL] = "idn-email",
    [DG_FMT_HOSTNAME] = "hostname",
    [DG_FMT_IDN_HOSTNAME] = "idn-hostname",
    [DG_FMT_IPV4] = "ipv4",
    [DG_FMT_IPV6] = "ipv6",
    [DG_FMT_URI] = "uri",
    [DG_FMT_URI_REFERENCE] = "uri-reference",
    [DG_FMT_IRI] = "iri",
    [DG_FMT_IRI_REFERENCE] = "iri-reference",
    [DG_FMT_URI_TEMPLATE] = "uri-template",
    [DG_FMT_UUID] = "uuid",
    [DG_FMT_JSON_POINTER] = "json-pointer",
    [DG_FMT_RELATIVE_JSON_POINTER] = "relative-json-pointer",
    [DG_FMT_REGEX] = "regex",
    [DG_FMT_BYTE] = "byte",
    [DG_FMT_BINARY] = "binary",
    [DG_FMT_PASSWORD] = "password",
    [DG_FMT_INT32] = "int32",
    [DG_FMT_INT64] = "int64",
    [DG_FMT_FLOAT] = "float",
    [DG_FMT_DOUBLE] = "double",
};

dg_format dg_format_lookup(const char *name, size_t len)
{
    for (int f = 1; f < DG_FMT_COUNT; f++)
        if (strlen(fmt_names[f]) == len && !memcmp(fmt_names[f], name, len))
            return (dg_format)f;
    return DG_FMT_UNKNOWN;
}

const char *dg_format_name(dg_format f)
{
    return (unsigned)f < DG_FMT_COUNT ? fmt_names[f] : "unknown";
}

int dg_format_is_numeric(dg_format f)
{
    return f == DG_FMT_INT32 || f == DG_FMT_INT64 || f == DG_FMT_FLOAT || f == DG_FMT_DOUBLE;
}


/* ---- helpers ------------------------------------------------------------ */

static int is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Two ASCII digits as a number, -1 when not digits. */
static int dig2(const char *s)
{
    if (!is_digit(s[0]) || !is_digit(s[1]))
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* ---- date, time, duration ----------------------------------------------- */

static int date_ok(const char *s)
{
    for (int k = 0; k < 10; k++)
        if (k == 4 || k == 7 ? s[k] != '-' : !is_digit(s[k]))
            return 0;
    int y = dig2(s) * 100 + dig2(s + 2), m = dig2(s + 5), d = dig2(s + 8);
    static const unsigned char mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1)
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

static int time_ok(const char *s, size_t n)
{
    if (n < 9 || s[2] != ':' || s[5] != ':')
        return 0;
    int h = dig2(s), m = dig2(s + 3), sec = dig2(s + 6);
    if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60)
        return 0;
    size_t i = 8;
    if (s[i] == '.') {
        size_t b = ++i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == b)
            return 0;
    }
    if (i >= n)
        return 0;
    int off = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        if (i + 1 != n)
            return 0;
    } else if (s[i] == '+' || s[i] == '-') {
        if (n - i != 6 || s[i + 3] != ':')
            return 0;
        int oh = dig2(s + i + 1), om = dig2(s + i + 4);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return 0;
        off = (s[i] == '+' ? 1 : -1) * (oh * 60 + om);
    } else {
        return 0;
    }
    if (sec == 60) {
        /* A leap second exists only at 23:59:60 UTC. */
        int utc = ((h * 60 + m - off) % 1440 + 1440) % 1440;
        if (utc != 23 * 60 + 59)
            return 0;
    }
    return 1;
}

static int date_time_ok(const char *s, size_t n)
{
    return n >= 20 && date_ok(s) && (s[10] == 'T' || s[10] == 't') && time_ok(s + 11, n - 11);
}

/* RFC 3339 appendix A: P (date [T time] / T time / week). Each part is a
 * contiguous run of Y M D (resp. H M S) in that order. */
static int duration_ok(const char *s, size_t n)
{
    if (n < 3 || s[0] != 'P')
        return 0;
    size_t i = 1;
    const char *units = "YMD";
    int pos = 0, last = -1, in_time = 0, parts = 0;
    while (i < n) {
        if (s[i] == 'T') {
            if (in_time || i + 1 == n)
                return 0;
            in_time = 1, units = "HMS", pos = 0, last = -1;
            i++;
            continue;
        }
        size_t b = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == b || i == n)
            return 0;
        char u = s[i++];
        if (u == 'W') {
            if (parts || in_time || i != n)
                return 0;
            return 1;
        }
        const char *p = strchr(units, u);
        if (!u || !p)
            return 0;
        int k = (int)(p - units);
        if (k < pos || (last >= 0 && k != last + 1))
            return 0;
        last = k, pos = k + 1, parts++;
    }
    /* "P1YT" (T with nothing after) is rejected above; here each of the
     * date and time parts that is present has at least one element. */
    return parts > 0 && !(in_time && last < 0);
}


/* ---- IP addresses ------------------------------------------------------- */

static int ipv4_ok(const char *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part && (i >= n || s[i++] != '.'))
            return 0;
        size_t b = i;
        unsigned v = 0;
        while (i < n && is_digit(s[i]) && i - b < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == b || v > 255 || (s[b] == '0' && i - b > 1))
            return 0;
    }
    return i == n;
}

static int ipv6_ok(const char *s, size_t n)
{
    size_t i = 0;
    int groups = 0, dbl = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        dbl = 1, i = 2;
        if (i == n)
            return 1;
    }
    for (;;) {
        size_t b = i;
        while (i < n && is_hex(s[i]) && i - b < 4)
            i++;
        if (i < n && (s[i] == '.' || is_hex(s[i]))) {
            if (s[i] != '.' || !ipv4_ok(s + b, n - b))
                return 0;
            groups += 2;
            break;
        }
        if (i == b)
            return 0;
        groups++;
        if (i == n)
            break;
        if (s[i++] != ':' || i == n)
            return 0;
        if (s[i] == ':') {
            if (dbl)
                return 0;
            dbl = 1;
            if (++i == n)
                break;
        }
    }
    return dbl ? groups <= 7 : groups == 8;
}

/* ---- e-mail ------------------------------------------------------------- */

static int atext(int c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* RFC 5321 Mailbox; idn: RFC 6531 (UTF8-non-ascii in the local part,
 * U-labels in the domain). */
static int email_ok(const char *s, size_t n, int idn)
{
    size_t i = 0;
    if (n && s[0] == '"') {
        for (i = 1;; i++) {
            if (i >= n)
                return 0;
            unsigned char c = (unsigned char)s[i];
            if (c == '"')
                break;
            if (c == '\\') {
                if (++i >= n || s[i] < 32 || s[i] > 126)
                    return 0;
            } else if (c >= 0x80 ? !idn : (c < 32 || c > 126)) {
                return 0;
            }
        }
        i++;
    } else {
        int prev_dot = 1;
        for (; i < n && s[i] != '@'; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c == '.') {
                if (prev_dot)
                    return 0;
                prev_dot = 1;
            } else if (atext(c) || (idn && c >= 0x80)) {
                prev_dot = 0;
            } else {
                return 0;
            }
        }
        if (prev_dot)
            return 0;  /* empty local part or trailing dot */
    }
    if (i > 64 || i >= n || s[i] != '@')
        return 0;
    const char *d = s + i + 1;
    size_t dn = n - i - 1;
    if (dn && d[0] == '[') {
        if (dn < 3 || d[dn - 1] != ']')
            return 0;
        if (dn > 7 && !strncasecmp(d + 1, "IPv6:", 5))
            return ipv6_ok(d + 6, dn - 7);
        return ipv4_ok(d + 1, dn - 2);
    }
    return dg_format__hostname_ok(d, dn, idn);
}

/* ---- URI, IRI ----------------------------------------------------------- */

enum { U_PCHAR = 1, U_SLASH = 2, U_QMARK = 4, U_COLON = 8, U_PRIVATE = 16 };

static int sub_delim(int c)
{
    return c && strchr("!$&'()*+,;=", c) != NULL;
}

static int ucschar(uint32_t c)
{
    if (c >= 0xA0 && c <= 0xD7FF)
        return 1;
    if ((c >= 0xF900 && c <= 0xFDCF) || (c >= 0xFDF0 && c <= 0xFFEF))
        return 1;
    if (c >= 0x10000 && c <= 0xEFFFD && (c & 0xFFFF) <= 0xFFFD)
        return c < 0xE0000 || c >= 0xE1000;
    return 0;
}

static int iprivate(uint32_t c)
{
    return (c >= 0xE000 && c <= 0xF8FF) ||
           (c >= 0xF0000 && (c & 0xFFFF) <= 0xFFFD && c <= 0x10FFFD);
}

/* Checks that s[b..e) consists of unreserved / pct-encoded / sub-delims plus
 * the characters `allow` selects (U_COLON, U_SLASH, U_QMARK; U_PCHAR =
 * ':' and '@'); iri adds ucschar (and iprivate with U_PRIVATE). */
static int uri_chars(const char *s, size_t b, size_t e, unsigned allow, int iri)
{
    for (size_t i = b; i < e;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            uint32_t cp = utf8_cp(s, e, &i);
            if (!iri || !(ucschar(cp) || ((allow & U_PRIVATE) && iprivate(cp))))
                return 0;
            continue;
        }
        i++;
        if (is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
            sub_delim(c))
            continue;
        if (c == '%') {
            if (i + 2 > e || !is_hex(s[i]) || !is_hex(s[i + 1]))
                return 0;
            i += 2;
            continue;
        }
        if ((c == ':' && (allow & (U_PCHAR | U_COLON))) || (c == '@' && (allow & U_PCHAR)) ||
            (c == '/' && (allow & U_SLASH)) || (c == '?' && (allow & U_QMARK)))
            continue;
        return 0;
    }
    return 1;
}

static int authority_ok(const char *s, size_t b, size_t e, int iri)
{
    size_t at = b;
    while (at < e && s[at] != '@')
        at++;
    if (at < e) {
        if (!uri_chars(s, b, at, U_COLON, iri))
            return 0;
        b = at + 1;
    }
    size_t h = b;
    if (h < e && s[h] == '[') {
        while (h < e && s[h] != ']')
            h++;
        if (h >= e)
            return 0;
        const char *lit = s + b + 1;
        size_t ln = h - b - 1;
        if (ln && lower(lit[0]) == 'v') {
            size_t k = 1;
            while (k < ln && is_hex(lit[k]))
                k++;
            if (k == 1 || k >= ln - 1 || lit[k] != '.' ||
                !uri_chars(lit, k + 1, ln, U_COLON, 0))
                return 0;
        } else if (!ipv6_ok(lit, ln)) {
            return 0;
        }
        h++;
        if (h < e && s[h] != ':')
            return 0;
    } else {
        while (h < e && s[h] != ':')
            h++;
        if (!uri_chars(s, b, h, 0, iri))
            return 0;
    }
    for (size_t k = h + (h < e); k < e; k++)
        if (!is_digit(s[k]))
            return 0;
    return 1;
}

/* RFC 3986 URI / relative-ref (ref), RFC 3987 with iri. */
static int uri_ok(const char *s, size_t n, int iri, int ref)
{
    size_t i = 0, end, q;
    int scheme = 0;
    if (n && is_alpha(s[0])) {
        while (i < n && (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' ||
                         s[i] == '.'))
            i++;
        if (i < n && s[i] == ':')
            scheme = 1, i++;
        else
            i = 0;
    }
    if (!scheme && !ref)
        return 0;
    for (end = i; end < n && s[end] != '?' && s[end] != '#'; end++)
        ;
    size_t p = i;
    if (end - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
        size_t a = i + 2;
        for (p = a; p < end && s[p] != '/'; p++)
            ;
        if (!authority_ok(s, a, p, iri))
            return 0;
    } else if (!scheme) {
        /* path-noscheme: no ':' in the first segment */
        for (size_t k = i; k < end && s[k] != '/'; k++)
            if (s[k] == ':')
                return 0;
    }
    if (!uri_chars(s, p, end, U_PCHAR | U_SLASH, iri))
        return 0;
    if (end < n && s[end] == '?') {
        for (q = end + 1; q < n && s[q] != '#'; q++)
            ;
        if (!uri_chars(s, end + 1, q, U_PCHAR | U_SLASH | U_QMARK | U_PRIVATE, iri))
            return 0;
        end = q;
    }
    if (end < n && !uri_chars(s, end + 1, n, U_PCHAR | U_SLASH | U_QMARK, iri))
        return 0;
    return 1;
}

/* RFC 6570 level 4. */
static int uri_template_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            uint32_t cp = utf8_cp(s, n, &i);
            if (!ucschar(cp) && !iprivate(cp))
                return 0;
            continue;
        }
        if (c == '%') {
            if (i + 3 > n || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                return 0;
            i += 3;
            continue;
        }
        if (c != '{') {
            if (c <= 0x20 || c == 0x7F || strchr("\"<>\\^`|}", c))
                return 0;
            i++;
            continue;
        }
        i++;
        if (i < n && s[i] && strchr("+#./;?&=,!@|", s[i]))
            i++;
        for (;;) {
            /* varname = varchar *(["."] varchar), varchar = ALPHA/DIGIT/_/pct */
            int need = 1;
            size_t b = i;
            while (i < n) {
                if (s[i] == '%') {
                    if (i + 3 > n || !is_hex(s[i + 1]) || !is_hex(s[i + 2]))
                        return 0;
                    i += 3;
                } else if (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '_') {
                    i++;
                } else if (s[i] == '.' && !need) {
                    i++;
                    need = 2;
                    continue;
                } else {
                    break;
                }
                need = 0;
            }
            if (i == b || need)
                return 0;
            if (i < n && s[i] == ':') {
                size_t d = ++i;
                while (i < n && is_digit(s[i]) && i - d < 4)
                    i++;
                if (i == d || s[d] == '0')
                    return 0;
            } else if (i < n && s[i] == '*') {
                i++;
            }
            if (i < n && s[i] == ',') {
                i++;
                continue;
            }
            if (i < n && s[i] == '}') {
                i++;
                break;
            }
            return 0;
        }
    }
    return 1;
}

/* ---- the rest ----------------------------------------------------------- */

static int uuid_ok(const char *s, size_t n)
{
    if (n != 36)
        return 0;
    for (size_t k = 0; k < 36; k++)
        if (k == 8 || k == 13 || k == 18 || k == 23 ? s[k] != '-' : !is_hex(s[k]))
            return 0;
    return 1;
}

static int json_pointer_ok(const char *s, size_t n)
{
    if (n && s[0] != '/')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '~' && (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1')))
            return 0;
    return 1;
}

static int relative_json_pointer_ok(const char *s, size_t n)
{
    size_t i = 0;
    if (n && s[0] == '0')
        i = 1;
    else
        while (i < n && is_digit(s[i]))
            i++;
    if (i == 0)
        return 0;
    if (i < n && s[i] == '#')
        return i + 1 == n;
    return json_pointer_ok(s + i, n - i);
}

static int base64_ok(const char *s, size_t n)
{
    if (n % 4)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (is_alpha(c) || is_digit(c) || c == '+' || c == '/')
            continue;
        if (c == '=' && (i == n - 1 || (i == n - 2 && s[n - 1] == '=')))
            continue;
        return 0;
    }
    return 1;
}

static int regex_ok(const char *s, size_t n)
{
    dg_regex *re;
    if (dg_regex_compile(s, n, &re, NULL) != 0)
        return 0;
    dg_regex_free(re);
    return 1;
}

int dg_format_check_string(dg_format f, const char *s, size_t n)
{
    switch (f) {
    case DG_FMT_DATE_TIME: return date_time_ok(s, n);
    case DG_FMT_DATE: return n == 10 && date_ok(s);
    case DG_FMT_TIME: return time_ok(s, n);
    case DG_FMT_DURATION: return duration_ok(s, n);
    case DG_FMT_EMAIL: return email_ok(s, n, 0);
    case DG_FMT_IDN_EMAIL: return email_ok(s, n, 1);
    case DG_FMT_HOSTNAME: return dg_format__hostname_ok(s, n, 0);
    case DG_FMT_IDN_HOSTNAME: return dg_format__hostname_ok(s, n, 1);
    case DG_FMT_IPV4: return ipv4_ok(s, n);
    case DG_FMT_IPV6: return ipv6_ok(s, n);
    case DG_FMT_URI: return uri_ok(s, n, 0, 0);
    case DG_FMT_URI_REFERENCE: return uri_ok(s, n, 0, 1);
    case DG_FMT_IRI: return uri_ok(s, n, 1, 0);
    case DG_FMT_IRI_REFERENCE: return uri_ok(s, n, 1, 1);
    case DG_FMT_URI_TEMPLATE: return uri_template_ok(s, n);
    case DG_FMT_UUID: return uuid_ok(s, n);
    case DG_FMT_JSON_POINTER: return json_pointer_ok(s, n);
    case DG_FMT_RELATIVE_JSON_POINTER: return relative_json_pointer_ok(s, n);
    case DG_FMT_REGEX: return regex_ok(s, n);
    case DG_FMT_BYTE: return base64_ok(s, n);
    default: return 1;
    }
}
