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
 *                          rules, no leading mark, Bidi rule
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

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Decodes one UTF-8 sequence (input is valid UTF-8; still bounds-checked). */
static uint32_t utf8_cp(const char *s, size_t n, size_t *i)
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

/* ---- IDNA2008 ----------------------------------------------------------- */

/* Per-code-point properties, derived for Unicode 15.0 (ICU 72) by the RFC 5892
 * algorithm (Exceptions, Unassigned, LDH, JoinControl, Unstable = changes
 * under NFKC_Casefold, Default_Ignorable/White_Space/Noncharacter, the three
 * ignorable blocks, old Hangul jamo, then gc in {Ll Lu Lo Nd Lm Mn Mc} ->
 * PVALID). Value 0 = DISALLOWED or UNASSIGNED; otherwise:
 *   bits 0-1   1 PVALID, 2 CONTEXTJ, 3 CONTEXTO
 *   bits 2-3   general category 1 Mn, 2 Mc, 3 Me
 *   bits 4-7   Bidi_Class (BIDI_* below)
 *   bits 8-10  Joining_Type 1 L, 2 R, 3 D, 4 T, 5 C, 6 U
 *   bit  11    Canonical_Combining_Class = Virama (9)
 *   bits 12-14 Script 1 Greek, 2 Hebrew, 3 Hiragana, 4 Katakana, 5 Han
 * idna_runs encodes consecutive runs of equal values from U+0000: each run is
 * one character naming its value (index into idna_props) followed by an
 * optional base-51 length (absent = 1, else value + 2). The alphabet is
 * printable ASCII without " \ ?; the first 40 letters are values, the rest
 * digits. idna_ck gives the start code point and string offset of every 32nd
 * run for a binary search. */
static const uint16_t idna_props[38] = {
    0x0000, 0x0661, 0x0651, 0x0611, 0x0693, 0x0691, 0x04b5, 0x1611,
    0x1693, 0x24b5, 0x2621, 0x2623, 0x0331, 0x0631, 0x0231, 0x0643,
    0x0653, 0x0621, 0x0321, 0x0221, 0x0531, 0x0619, 0x0cb5, 0x0415,
    0x0e19, 0x0311, 0x06a2, 0x05a2, 0x5611, 0x3611, 0x4611, 0x0111,
    0x0121, 0x0131, 0x0641, 0x0c15, 0x5619, 0x0421,
};
static const struct { uint32_t cp, off; } idna_ck[95] = {
    {0x00000,    0}, {0x00114,   42}, {0x00136,   75}, {0x0015a,  110}, {0x0017b,  143},
    {0x001ac,  187}, {0x001e2,  226}, {0x00208,  261}, {0x00228,  293}, {0x002c6,  336},
    {0x003da,  384}, {0x00462,  422}, {0x00482,  454}, {0x004a8,  488}, {0x004c9,  521},
    {0x004ea,  554}, {0x0050a,  586}, {0x0052a,  618}, {0x00622,  665}, {0x006d4,  716},
    {0x0074e,  766}, {0x00841,  822}, {0x008b1,  871}, {0x0098d,  923}, {0x009ff,  976},
    {0x00a66, 1029}, {0x00ad1, 1078}, {0x00b49, 1130}, {0x00bab, 1183}, {0x00c41, 1235},
    {0x00cbc, 1287}, {0x00d3b, 1337}, {0x00dc0, 1389}, {0x00e8b, 1441}, {0x00f35, 1490},
    {0x00f84, 1537}, {0x0104a, 1590}, {0x01250, 1649}, {0x013a0, 1705}, {0x017b6, 1766},
    {0x01927, 1822}, {0x01a63, 1878}, {0x01b6b, 1931}, {0x01cd0, 1989}, {0x01e03, 2040},
    {0x01e23, 2072}, {0x01e43, 2104}, {0x01e63, 2136}, {0x01e83, 2168}, {0x01ea9, 2203},
    {0x01ec9, 2235}, {0x01ee9, 2267}, {0x01f46, 2308}, {0x01fe8, 2356}, {0x02c85, 2404},
    {0x02ca5, 2436}, {0x02cc5, 2468}, {0x02cec, 2502}, {0x02dd8, 2551}, {0x04dc0, 2614},
    {0x0a657, 2662}, {0x0a684, 2697}, {0x0a723, 2738}, {0x0a745, 2771}, {0x0a765, 2803},
    {0x0a790, 2839}, {0x0a7ba, 2874}, {0x0a80b, 2914}, {0x0a952, 2968}, {0x0aa4e, 3022},
    {0x0ab01, 3074}, {0x0fa11, 3134}, {0x101fd, 3192}, {0x10564, 3256}, {0x1089f, 3315},
    {0x10a9d, 3377}, {0x10b8a, 3429}, {0x10f34, 3488}, {0x11047, 3540}, {0x11144, 3595},
    {0x11234, 3646}, {0x11311, 3699}, {0x11435, 3756}, {0x115b2, 3810}, {0x116b8, 3861},
    {0x11915, 3920}, {0x11a00, 3971}, {0x11c30, 4024}, {0x11d44, 4076}, {0x11f12, 4128},
    {0x16a6a, 4201}, {0x16fe2, 4268}, {0x1bc00, 4331}, {0x1e008, 4399}, {0x1e7e8, 4462},
};
static const char idna_runs[] =
    "!w#!K$S!q%d!LR&!q%b!%Q!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!L%!%K!%!%!%!L%!%!"
    "%!%!K%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!K%!%!%!%!K%!%!K%!L%K!M%!K%!L%L!K%!K%!%!"
    "%!K%!%K!%!K%!L%!%!K%L!%P!S%!%!%!%!%!%!%!%K!%!%!%!%!%!%!%!%!%K!M%!L%!%!%!%!%!%!%!%!%!%!%!%!"
    "%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%P!K%!K%K!%!M%!%!%!%!%Lx!R'K%P!M'S%K!d'!%!Z(LV!K(!L(R!(j"
    "!)!)!*!)!L)L![)!e)m!Q)!)!)!)!)!)!%!%!%!%!%!%!%!L)!M)!K)K!}%z!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%"
    "!%!%!(N!L%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!K%!%!%!%!%!%!%K!%!%!%!%!%!%"
    "!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!s%!O%"
    "q!%!Q+w!+!+K!+K!+!Q,e!M,M-K!e(T!N./0M.0.0.N0M.V!.P0.K(_1S!M.K(0L/!M.X0[.p0.K0R.0.0.K0K!0(P"
    "!K(O/K(K!(M0K2S.L/K.!Y0(.L0N.M0.R0.0.0.K0(e!K0.T0L.X0K.M0.0K.L0K.O/p(T/!W3S4k(R3K!P(!K3`(M"
    "3(R3(L3(N![54N5K454S545L(L!M./.M/0.0K!N0]6L./!.N0!R(Q.S0L/0.K0K.O0.X/(b!(j7%LL(7(%7L(Q7M87"
    "K%(P!Q%K(K!K%S!%Y(7K!%Q!K%K!K%`!%P!%!L%M!K(%7L(M!K7K!K7K8%!Q7!Q%K(K!K%U!S%!(!K(K7!%O!M%K!K"
    "%`!%P!%!K%!K%K!K(!7L(K!M(K!K(K8!L(!S%!R%S(K%L(!T(K7!%R!%L!%`!%P!%K!%N!K(%7L(N!(K7!7K8!K%!X"
    "%K(K!K%S!R%(O!(7K!%Q!K%K!K%`!%P!%K!%N!K(%7(7(M!K7K!K7K8!P(K7!P%L(K!K%S!%!Y(%!%O!L%L!%M!L%K"
    "!%!%K!L%K!L%L!L%U!M7K(7K!L7L!7L8!K%!O7!W%S!Y(7L(%Q!%L!%a!%Y!K(%(L7M!(L!(L8!P(K!%L!K%!K%K(K"
    "!K%S!Y%(7K!%Q!%L!%a!%S!%N!K(%797N!97K!7K(8!P7K!O%K!%K(K!K%S!%K7!U(K7K%R!%L!%s8K%7L(M!7L!7L"
    "8%!N%L7!P%L(K!K%S!S%O!(7K!%[!L%b!%R!%!K%P!L8!M7L(L!(!7Q!O%S!K7K!V%z(%!(O8!N%P(Q!%S!q%K!%!%"
    "N!%b!%!%S(%!(O8(K%!K%N!%!(P!%S!M%K!j%!S%!U(K!O%S!T(!(!(!M7K%L!%M!%M!%M!%M!%M!%U!%L!M(K!(!N"
    "(N7(!(K8!(K%N(O!(M!(M!(M!(M!(M!(U!(L!R(!LO%u7K(M7(O78K7K(K%T!O%O7K(K%M(L%7L%K7P%L(M%V(7K(K"
    "7O(%7%S7L(!|%u!K%L!O~%L`!%M!K%P!%!%M!K%s!%M!K%k!%M!K%P!%!%M!K%X!%LO!%M!K%LY!K(L!j%Y!Y%Lm!T"
    "%WQ!K%Z!%d!N%Lb!O%Q!P%[(K8:!R%](K:!T%[(K!U%V!%L!(K!U%~!K7(P7Q(7K(R8(!L%!M%(!K%S!p%S!O;Lp!P"
    "%N(K;l(;!N%L]!S%i!(L7M(K7L!M7K(7O(L!S%r!K%N!T%v!M%d!O%S!p%a(K7K(!M%LK7(7(P!87(7K(Q7O(S!K(%"
    "S!O%S!V%!Q(W!(Y!{(M7%y(7(N7(7N(7:%Q!L%S!Z(R!U(K7%h7(M7K(K:8(K%LN(7(K7L(7(L:K!U%n7Q(Q7K(K!Q"
    "%S!L%{!Li(L!(V7(P%M(%O(%K7(K%!N%p)N%!L%!T%![%!f%V!%l!o(LV!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!"
    "%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!"
    "%!%!%!%!%!%!%!%!%!%!%!%!%!%N!K%K!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%"
    "!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%)Q!Q)O!S)Q!Q)Q!Q)O!S)Q!Q)Q!Q)!)!)!)!)!)!)!})K!M)!X"
    ")!R)L!L)K!Q)L!)M!W)!_<=!QW%!LK%!LMf%z!%!L%K!%!%!%!M%!%K!%O!N%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!"
    "%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%K!P%!%(L!%!U%p!%!N%!K"
    "%LN!a8%a!R%P!%P!%P!%P!%P!%P!%P!%P!(j!y'!TS>%>!l(M!W%!M@Lm!K(K!K@K!KALq&%AK!O%u!MS%j!zAY!UK"
    ">MgV!LV>SNi%bu!LY%x!K%PW!L%f!_%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%K(!M(S!'!%!%!%!"
    "%!%!%!%!%!%!%!%!%!%!%!K(K%L]!S(K!o'R!L%!%!%!%!%!%!%L!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%!%"
    "!%!%!%!%!%!%!%!%!%!%!%!%!%Q!%!%!K%!%!%!%!%'!L%!%K!%!%L!%!%!%!%!%!%!%!%!%!%!N%!N%!%!%!%!%!%"
    "!%!%!M%!%!O%!%!%!%!%!f%K!K%Q(%L8%M(%a7K(K7!M8!];|B%!U7K%|7Y8(!S%S!O([%O!L%!%K(%p(Q!K%a(T7:"
    "!v(L7%y(7K(M7K(K7K:!W%T!O%N(%c!%s(O7K(K7K(K!R%L(%Q(7!K%S!O%a!L%7(7%|(%(L%K(K%N(K%(%!b%L!K%"
    "T7(K7K!K%L78!S%O!K%O!K%O!R%P!%P!%u!N%N)%L!Ln%m7K(7K(7K!78!K%S!O%OZL!N_p>K!>!>K!S>!>!>K!K>L"
    "!Or+!ZM(Y!LY/!Rq%U!%d!%]!%K!%X!K%W!l%M_!PL(!Mf%g!L%{!X(!i%j!V%^!%Q!O%p(N!N%h!K%n!M%Q!Lo%MY"
    "!K%S!x%n!M%r!Q%~!}%T!%X!%P!%K!LY%QN!R%`!S%Q!b%!Mc3O!K3!3v!3K!L3!K3a!S3a!R3i!LW3]!3K!S3`!S3"
    "d!L]3LN!O3K!LV3(L!(K!N(M3M!3L!3g!K(L!M8!j3g!L3g!m4N535!5K3KC5N4MC4N54L53K5(K!c3LL!S3`!S3]!"
    "V4545L4L54K545K45!MQ3L`!MZ3}!VD.k0.(M!QES!Q^3t!(K!L3K!Lb(L3g!S3!Q.L0.Z/(T!i4M5K4U(M!t434K5"
    "L345K4K54K345K4!e3a!R7(7%LK(W8!i%S8%K(K%!R8(K7%w7L(M7K8(!P(!V%c!P%S!O(L%n(N7(O8K!%S!M%7K%!"
    "Q%m(!K%!R(K7%z7L(R7:%M!M(M!7(%T!%!m%[!%c7L(L7K(:(K!O(%K(!LT%P!%!%M!%X!%S!P%y(7L(P8!N%S!O(K"
    "7K!%Q!K%K!K%`!%P!%K!%N!(K%7K(7M!K7K!K7K:!K%!O7!N%N7K!K(P!L(N!Mo%LK7L(Q7K8(K7(%M!N%S!M(%L!h"
    "%z7L(O7(7M(K78(%K!%!Q%S!NV%y7L(M!K7M(K78(!a%M(K!l%z7L(Q7K(78(!L%!T%S!p%u(7(7K(O:(%!P%S!LL%"
    "e!K(L7K(M7(M8!M%S!O%P!Nj%v7L(R78(!Mi%t!_%Q!K%!K%Q!%K!%b7O!7K!K(K:8%7%7(!U%S!L]%Q!K%q7L(M!K"
    "(K7M8%!%7!e%(O9K(K%r(8(M7%(M!Q8!Q%(O7K(L%x(V7(8!L%![%L`!PQ%R!%o7(P!(O7F%!X%S!b%h!K(`!7(P7("
    "K7(K!L`%P!%K!%p(O!L(!(K!(N8K%(!Q%S!O%O!%K!%j7N!(K!7K(78%!P%S!QM%](K7K!R(K%7%V!%l7K(N!L7K(:"
    "8!V%S!Lm%!Lf%^M!Od%Nu!LKm%Lx!X%`~!Y(%O(X!Lgj%V`!N[W%VQ!P%i!%S!O%Lf!%S!O%h!K(N!T%z(P!R%M!U%"
    "S!R%_!N%]!YO%j!Md%Lb!M(%7LM!P(M%V!LV%K!>(!TGK!W%M^Y!Q%dW!t%R!NbSAM!AP!AK!A@PjAL!X@!g@L!KA!"
    "WAM!Q%Rq!yV%MN!N%V!L%R!P%S!L(K!LuV(x!K(a!LMt(LM!M(|!Q(!W(!`(N!(X!ak%i!O%O!OR(P!(Z!K(P!(K!("
    "N!L{(!MS%w!L(P%P!K%S!M%!QX%h(!Z%v(M%S!TT%f(M%S!Yf%P!%M!%K!%X!3Nv!T(P!Lb4l(PH!M3S!MVm>[ak!j"
    ">Lja!O>O[!K>MU|!W>Mxe!L}}>Lyu!N>LkS!QwWP";

enum { IDNA_PVALID = 1, IDNA_CONTEXTJ = 2, IDNA_CONTEXTO = 3 };
enum {
    BIDI_L = 1, BIDI_R, BIDI_AL, BIDI_AN, BIDI_EN, BIDI_ES, BIDI_CS, BIDI_ET, BIDI_ON,
    BIDI_BN, BIDI_NSM, BIDI_OTHER
};
enum { JT_L = 1, JT_R, JT_D, JT_T };
enum { SC_GREEK = 1, SC_HEBREW, SC_HIRAGANA, SC_KATAKANA, SC_HAN };

#define P_IDNA(p) ((p)&3u)
#define P_MARK(p) (((p) >> 2) & 3u)
#define P_BIDI(p) (((p) >> 4) & 15u)
#define P_JT(p) (((p) >> 8) & 7u)
#define P_VIRAMA(p) (((p) >> 11) & 1u)
#define P_SCRIPT(p) (((p) >> 12) & 7u)

static unsigned run_sym(char c)
{
    unsigned v = (unsigned)(c - 0x21);
    return v - (c > '"') - (c > '?') - (c > '\\');
}

static unsigned idna_prop(uint32_t cp)
{
    size_t lo = 0, hi = sizeof idna_ck / sizeof idna_ck[0];
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (idna_ck[mid].cp <= cp)
            lo = mid;
        else
            hi = mid;
    }
    uint32_t start = idna_ck[lo].cp;
    const char *p = idna_runs + idna_ck[lo].off;
    while (*p) {
        unsigned v = run_sym(*p++), len = 1;
        if (*p && run_sym(*p) >= 40) {
            uint32_t d = 0;
            while (*p && run_sym(*p) >= 40)
                d = d * 51 + (run_sym(*p++) - 40);
            len = d + 2;
        }
        if (cp - start < len)
            return idna_props[v];
        start += len;
    }
    return 0;
}

/* RFC 3492 Punycode with the IDNA parameters. */
enum { PUNY_BASE = 36, PUNY_TMIN = 1, PUNY_TMAX = 26, PUNY_SKEW = 38, PUNY_DAMP = 700 };

static uint32_t puny_adapt(uint32_t delta, uint32_t npoints, int first)
{
    uint32_t k = 0;
    delta = first ? delta / PUNY_DAMP : delta / 2;
    delta += delta / npoints;
    while (delta > ((PUNY_BASE - PUNY_TMIN) * PUNY_TMAX) / 2) {
        delta /= PUNY_BASE - PUNY_TMIN;
        k += PUNY_BASE;
    }
    return k + (PUNY_BASE - PUNY_TMIN + 1) * delta / (delta + PUNY_SKEW);
}

static uint32_t puny_t(uint32_t k, uint32_t bias)
{
    return k <= bias ? PUNY_TMIN : k >= bias + PUNY_TMAX ? PUNY_TMAX : k - bias;
}

/* Decodes the Punycode in[0..n) (ASCII letters lowercased) into out. */
static int puny_decode(const char *in, size_t n, uint32_t *out, size_t cap, size_t *outn)
{
    size_t b = 0, len = 0, p;
    for (size_t k = 0; k < n; k++)
        if (in[k] == '-')
            b = k;
    if (b > cap)
        return 0;
    for (size_t k = 0; k < b; k++)
        out[len++] = (uint32_t)lower((unsigned char)in[k]);
    p = b > 0 ? b + 1 : 0;
    uint32_t i = 0, cp = 0x80, bias = 72;
    while (p < n) {
        uint32_t oldi = i, w = 1;
        for (uint32_t k = PUNY_BASE;; k += PUNY_BASE) {
            if (p >= n)
                return 0;
            int c = (unsigned char)in[p++];
            uint32_t digit = is_digit(c) ? (uint32_t)(c - '0' + 26)
                             : is_alpha(c) ? (uint32_t)(lower(c) - 'a') : PUNY_BASE;
            if (digit >= PUNY_BASE || digit > (UINT32_MAX - i) / w)
                return 0;
            i += digit * w;
            uint32_t t = puny_t(k, bias);
            if (digit < t)
                break;
            if (w > UINT32_MAX / (PUNY_BASE - t))
                return 0;
            w *= PUNY_BASE - t;
        }
        bias = puny_adapt(i - oldi, (uint32_t)len + 1, oldi == 0);
        if (i / (len + 1) > 0x10FFFF - cp)
            return 0;
        cp += i / (uint32_t)(len + 1);
        i %= (uint32_t)(len + 1);
        if (cp < 0x80 || (cp >= 0xD800 && cp <= 0xDFFF) || len >= cap)
            return 0;
        memmove(out + i + 1, out + i, (len - i) * sizeof *out);
        out[i++] = cp;
        len++;
    }
    *outn = len;
    return 1;
}

/* Encodes cps as Punycode into out (no "xn--"); 0 when it exceeds cap. */
static int puny_encode(const uint32_t *in, size_t n, char *out, size_t cap, size_t *outn)
{
    size_t len = 0, h, basic = 0;
    for (size_t k = 0; k < n; k++) {
        if (in[k] < 0x80) {
            if (len >= cap)
                return 0;
            out[len++] = (char)in[k];
            basic++;
        }
    }
    h = basic;
    if (basic) {
        if (len >= cap)
            return 0;
        out[len++] = '-';
    }
    uint32_t cp = 0x80, delta = 0, bias = 72;
    while (h < n) {
        uint32_t m = UINT32_MAX;
        for (size_t k = 0; k < n; k++)
            if (in[k] >= cp && in[k] < m)
                m = in[k];
        if ((uint64_t)(m - cp) * (h + 1) > UINT32_MAX - delta)
            return 0;
        delta += (m - cp) * (uint32_t)(h + 1);
        cp = m;
        for (size_t k = 0; k < n; k++) {
            if (in[k] < cp && ++delta == 0)
                return 0;
            if (in[k] != cp)
                continue;
            uint32_t q = delta;
            for (uint32_t kk = PUNY_BASE;; kk += PUNY_BASE) {
                uint32_t t = puny_t(kk, bias);
                if (q < t)
                    break;
                uint32_t d = t + (q - t) % (PUNY_BASE - t);
                if (len >= cap)
                    return 0;
                out[len++] = (char)(d < 26 ? 'a' + d : '0' + d - 26);
                q = (q - t) / (PUNY_BASE - t);
            }
            if (len >= cap)
                return 0;
            out[len++] = (char)(q < 26 ? 'a' + q : '0' + q - 26);
            bias = puny_adapt(delta, (uint32_t)h + 1, h == basic);
            delta = 0;
            h++;
        }
        delta++, cp++;
    }
    *outn = len;
    return 1;
}

/* Properties of a label character. ASCII is answered directly; A-Z is not
 * PVALID but counts as L for the Bidi rule (ASCII labels are case-insensitive). */
static unsigned cp_props(uint32_t cp)
{
    if (cp >= 0x80)
        return idna_prop(cp);
    if (cp >= 'A' && cp <= 'Z')
        return BIDI_L << 4;
    if (is_alpha((int)cp))
        return IDNA_PVALID | BIDI_L << 4;
    return IDNA_PVALID | (is_digit((int)cp) ? BIDI_EN : BIDI_ES) << 4;
}

/* RFC 5893 section 2, for one label of a domain name with RTL labels. */
static int bidi_rule_ok(const unsigned *props, size_t n)
{
    unsigned first = P_BIDI(props[0]), last = 0;
    int rtl = first == BIDI_R || first == BIDI_AL, en = 0, an = 0;
    if (!rtl && first != BIDI_L)
        return 0;
    for (size_t k = 0; k < n; k++) {
        unsigned b = P_BIDI(props[k]);
        if (b == BIDI_R || b == BIDI_AL || b == BIDI_AN) {
            if (!rtl)
                return 0;
        } else if (b == BIDI_L) {
            if (rtl)
                return 0;
        } else if (b != BIDI_EN && b != BIDI_ES && b != BIDI_CS && b != BIDI_ET &&
                   b != BIDI_ON && b != BIDI_BN && b != BIDI_NSM) {
            return 0;
        }
        en |= b == BIDI_EN, an |= b == BIDI_AN;
        if (b != BIDI_NSM)
            last = b;
    }
    if (rtl)
        return (last == BIDI_R || last == BIDI_AL || last == BIDI_EN || last == BIDI_AN) &&
               !(en && an);
    return last == BIDI_L || last == BIDI_EN;
}

static int has_rtl(const unsigned *props, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        unsigned b = P_BIDI(props[k]);
        if (b == BIDI_R || b == BIDI_AL || b == BIDI_AN)
            return 1;
    }
    return 0;
}

/* ZERO WIDTH NON-JOINER (RFC 5892 A.1) joining context. */
static int zwnj_joins(const unsigned *props, size_t n, size_t i)
{
    size_t k = i;
    unsigned jt = 0;
    while (k > 0 && (jt = P_JT(props[--k])) == JT_T)
        ;
    if (k == i || (jt != JT_L && jt != JT_D))
        return 0;
    for (k = i + 1; k < n && (jt = P_JT(props[k])) == JT_T; k++)
        ;
    return k < n && (jt == JT_R || jt == JT_D);
}

/* A U-label (RFC 5891 5.4 without the NFC check); props[k] = cp_props(cp[k]). */
static int ulabel_ok(const uint32_t *cp, const unsigned *props, size_t n)
{
    if (!n || cp[0] == '-' || cp[n - 1] == '-' || (n >= 4 && cp[2] == '-' && cp[3] == '-'))
        return 0;
    if (P_MARK(props[0]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cp[i];
        switch (P_IDNA(props[i])) {
        case IDNA_PVALID:
            break;
        case IDNA_CONTEXTJ:
            if (i > 0 && P_VIRAMA(props[i - 1]))
                break;
            if (c == 0x200C && zwnj_joins(props, n, i))
                break;
            return 0;
        case IDNA_CONTEXTO:
            if (c == 0x00B7) {
                if (!(i > 0 && i + 1 < n && cp[i - 1] == 'l' && cp[i + 1] == 'l'))
                    return 0;
            } else if (c == 0x0375) {
                if (!(i + 1 < n && P_SCRIPT(props[i + 1]) == SC_GREEK))
                    return 0;
            } else if (c == 0x05F3 || c == 0x05F4) {
                if (!(i > 0 && P_SCRIPT(props[i - 1]) == SC_HEBREW))
                    return 0;
            } else if (c == 0x30FB) {
                int ok = 0;
                for (size_t k = 0; k < n && !ok; k++) {
                    unsigned sc = P_SCRIPT(props[k]);
                    ok = sc == SC_HIRAGANA || sc == SC_KATAKANA || sc == SC_HAN;
                }
                if (!ok)
                    return 0;
            } else {
                /* Arabic-Indic digits: 0660-0669 and 06F0-06F9 not mixed. */
                uint32_t other = c <= 0x0669 ? 0x06F0 : 0x0660;
                for (size_t k = 0; k < n; k++)
                    if (cp[k] >= other && cp[k] <= other + 9)
                        return 0;
            }
            break;
        default:
            return 0;
        }
    }
    return 1;
}

#define LABEL_MAX_CPS 64

/* One label of a host name (UTF-8 bytes s[0..n)). Fills the label's code
 * points and their properties (for the Bidi pass) and its length in A-label
 * form. */
static int label_ok(const char *s, size_t n, int idn, uint32_t *cps, unsigned *props,
                    size_t *ncps, size_t *alen)
{
    int ascii = 1;
    for (size_t k = 0; k < n; k++)
        ascii &= (unsigned char)s[k] < 0x80;
    if (ascii) {
        if (n < 1 || n > 63 || s[0] == '-' || s[n - 1] == '-')
            return 0;
        for (size_t k = 0; k < n; k++)
            if (!is_alpha(s[k]) && !is_digit(s[k]) && s[k] != '-')
                return 0;
        *alen = n;
        if (n >= 4 && s[2] == '-' && s[3] == '-') {
            /* Reserved LDH labels other than A-labels: RFC 1123 allows them
             * in host names; IDNA2008 (idn-hostname) does not. */
            if (lower(s[0]) != 'x' || lower(s[1]) != 'n')
                return !idn;
            /* A-label: canonical Punycode of a valid U-label with non-ASCII. */
            char re[64];
            size_t rn;
            if (!puny_decode(s + 4, n - 4, cps, LABEL_MAX_CPS, ncps) || !*ncps)
                return 0;
            int nonascii = 0;
            for (size_t k = 0; k < *ncps; k++)
                nonascii |= cps[k] >= 0x80;
            if (!nonascii || !puny_encode(cps, *ncps, re, sizeof re, &rn) || rn != n - 4)
                return 0;
            for (size_t k = 0; k < rn; k++)
                if (lower(re[k]) != lower(s[4 + k]))
                    return 0;
            for (size_t k = 0; k < *ncps; k++)
                props[k] = cp_props(cps[k]);
            return ulabel_ok(cps, props, *ncps);
        }
        *ncps = n;
        for (size_t k = 0; k < n; k++)
            props[k] = cp_props(cps[k] = (uint32_t)lower(s[k]));
        return 1;
    }
    if (!idn)
        return 0;
    size_t m = 0;
    for (size_t i = 0; i < n; m++) {
        if (m == LABEL_MAX_CPS)
            return 0;
        cps[m] = utf8_cp(s, n, &i);
        props[m] = cp_props(cps[m]);
    }
    *ncps = m;
    char enc[64];
    size_t en;
    if (!puny_encode(cps, m, enc, 59, &en))
        return 0;  /* "xn--" + Punycode must fit in 63 octets */
    *alen = en + 4;
    return ulabel_ok(cps, props, m);
}

/* Label separator at s[i]: its byte length, 0 when none. IDN names also
 * accept the ideographic and fullwidth full stops (RFC 3490 3.1). */
static size_t separator(const char *s, size_t n, size_t i, int idn)
{
    if (s[i] == '.')
        return 1;
    if (!idn || i + 3 > n)
        return 0;
    const unsigned char *p = (const unsigned char *)s + i;
    if ((p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x82) ||   /* U+3002 */
        (p[0] == 0xEF && p[1] == 0xBC && p[2] == 0x8E) ||   /* U+FF0E */
        (p[0] == 0xEF && p[1] == 0xBD && p[2] == 0xA1))     /* U+FF61 */
        return 3;
    return 0;
}

static int hostname_ok(const char *s, size_t n, int idn)
{
    uint32_t cps[LABEL_MAX_CPS];
    unsigned props[LABEL_MAX_CPS];
    size_t total = 0, ncps = 0, alen = 0;
    int rtl = 0;
    if (!n)
        return 0;
    for (int pass = 0; pass < 2; pass++) {
        size_t b = 0;
        for (size_t i = 0;; ) {
            size_t sep = i < n ? separator(s, n, i, idn) : 0;
            if (i < n && !sep) {
                i++;
                continue;
            }
            if (!label_ok(s + b, i - b, idn, cps, props, &ncps, &alen))
                return 0;
            if (pass == 0) {
                total += alen + (i < n);
                rtl |= has_rtl(props, ncps);
            } else if (!bidi_rule_ok(props, ncps)) {
                return 0;
            }
            if (i >= n)
                break;
            i += sep;
            b = i;
            if (i >= n)
                return 0;  /* trailing dot */
        }
        if (total > 253)
            return 0;
        if (!rtl)
            return 1;
    }
    return 1;
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
    return hostname_ok(d, dn, idn);
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
    case DG_FMT_HOSTNAME: return hostname_ok(s, n, 0);
    case DG_FMT_IDN_HOSTNAME: return hostname_ok(s, n, 1);
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
