/* validate/tokenizer.c: the streaming push tokenizer declared in json.h.
 *
 * One pass, no structural index. The grammar ("expect a value", "expect ','
 * or '}'", ...) is a set of labels in run(); the current state lives in a
 * local and is written back to the tokenizer only when the chunk ends or an
 * error occurs. Tokens that lie entirely inside the chunk take straight-line
 * fast paths: strings are scanned 16 bytes at a time (SSE2) for '"', '\\',
 * bytes < 0x20 and bytes >= 0x80 and handed out zero-copy; numbers are
 * checked while their integer value is accumulated; literals are one
 * 4/5-byte compare. The fast paths only ever *accept*. Everything else - a
 * token cut by the chunk end, a string with escapes, any malformed token -
 * goes to byte-at-a-time resumable machines (str_cont, num_cont, lit_cont)
 * that copy the token into the scratch buffer and produce every error about
 * it. Because errors come from one place, a document gives the same events
 * and the same error (message, offset) however it is split into chunks.
 *
 * Line/column: newlines can only occur raw in whitespace (inside strings
 * they are an error), so only the whitespace skipper counts them.
 *
 * Limits given as 0 (max_depth, max_string, max_number) mean the default.
 *
 * This file is the tokenizing machine and its drivers (dg_json_feed,
 * dg_json_finish); run() and its fast-path helpers must stay in one
 * translation unit so that they inline. Construction, reset and the
 * one-shot dg_json_parse_buffer are in tokenizer_api.c. */
#include "validate/json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "validate/tokenizer_internal.h"

#if defined(__GNUC__) && __GNUC__ >= 7 || defined(__clang__)
#define FALLTHROUGH __attribute__((fallthrough))
#else
#define FALLTHROUGH ((void)0)
#endif

/* What each S_* state expects, for error messages. */
static const char *const expect_msg[] = {
    "a JSON value", "a value or ']'", "a value after ','", "a value after ':'",
    "a string key or '}'", "a string key after ','", "':' after object key",
    "',' or '}' after object member", "',' or ']' after array element", "end of input",
};

/* String sub-states (only used by the slow string machine). */
enum { SUB_NONE, SUB_ESC, SUB_HEX, SUB_LOW_BS, SUB_LOW_U, SUB_UTF8 };

/* Number sub-states. */
enum { N_START, N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };
#define N_ACCEPTS(s) ((1u << (s)) & (1u << N_ZERO | 1u << N_INT | 1u << N_FRAC | 1u << N_EXP))

#define TOFF(t, p) ((t)->base + (uint64_t)((p) - (t)->chunk))

__attribute__((format(printf, 4, 5)))
static int tok_fail(dg_json_tok *t, int code, uint64_t off, const char *fmt, ...)
{
    va_list ap;
    memset(&t->err, 0, sizeof t->err);
    t->err.code = code;
    va_start(ap, fmt);
    vsnprintf(t->err.msg, sizeof t->err.msg, fmt, ap);
    va_end(ap);
    t->err.offset = off;
    t->err.has_offset = 1;
    t->err.line = (unsigned)t->line;
    t->err.col = (unsigned)(off - t->line_start + 1);
    t->status = code;
    return code;
}

/* Number of continuation bytes after lead byte c (0: not a valid lead) and
 * the allowed range of the first one, which excludes overlongs, UTF-16
 * surrogates and code points above U+10FFFF. */
static unsigned utf8_lead(unsigned c, unsigned *lo, unsigned *hi)
{
    *lo = 0x80, *hi = 0xBF;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0)
        return 1;
    if (c < 0xF0) {
        if (c == 0xE0)
            *lo = 0xA0;
        else if (c == 0xED)
            *hi = 0x9F;
        return 2;
    }
    if (c < 0xF5) {
        if (c == 0xF0)
            *lo = 0x90;
        else if (c == 0xF4)
            *hi = 0x8F;
        return 3;
    }
    return 0;
}

static const char *lead_reason(unsigned c)
{
    if (c < 0xC0)
        return " (unexpected continuation byte)";
    if (c < 0xC2)
        return " (overlong encoding)";
    return " (not a UTF-8 lead byte)";
}

/* Length of the complete, valid UTF-8 sequence at q (lead byte >= 0x80), or
 * 0 when it is invalid or cut by end (the slow path then sorts it out). */
static inline unsigned utf8_seq(const uint8_t *q, const uint8_t *end)
{
    unsigned lo, hi, need = utf8_lead(q[0], &lo, &hi);
    if (!need || end - q <= (ptrdiff_t)need || q[1] < lo || q[1] > hi)
        return 0;
    if (need >= 2 && (q[2] & 0xC0) != 0x80)
        return 0;
    if (need == 3 && (q[3] & 0xC0) != 0x80)
        return 0;
    return need + 1;
}

/* "'x'", "control character 0x01", "non-ASCII byte 0xC3", ... */
static const char *describe(unsigned c, char *buf, size_t n)
{
    unsigned lo, hi;
    if (c >= 0x20 && c < 0x7F)
        snprintf(buf, n, "'%c'", (int)c);
    else if (c < 0x20)
        snprintf(buf, n, "control character 0x%02X", c);
    else if (c < 0x80)
        snprintf(buf, n, "byte 0x%02X", c);
    else if (utf8_lead(c, &lo, &hi))
        snprintf(buf, n, "non-ASCII byte 0x%02X", c);
    else
        snprintf(buf, n, "invalid UTF-8 byte 0x%02X", c);
    return buf;
}

static int bad_byte(dg_json_tok *t, int st, unsigned c, uint64_t off)
{
    char what[48];
    unsigned lo, hi;
    if (c >= 0x80 && !utf8_lead(c, &lo, &hi))
        return tok_fail(t, DG_EPARSE, off, "invalid UTF-8 byte 0x%02X%s", c, lead_reason(c));
    describe(c, what, sizeof what);
    if (st == S_DONE)
        return tok_fail(t, DG_EPARSE, off, "unexpected %s after the top-level value", what);
    return tok_fail(t, DG_EPARSE, off, "expected %s, found %s", expect_msg[st], what);
}

static int limit_fail(dg_json_tok *t, int pend, int is_key, uint64_t off)
{
    if (pend == P_NUMBER)
        return tok_fail(t, DG_ELIMIT, off, "number longer than %zu bytes (max_number)",
                        t->lim.max_number);
    return tok_fail(t, DG_ELIMIT, off, "%s longer than %zu bytes (max_string)",
                    is_key ? "object key" : "string", t->lim.max_string);
}

/* Appends to the scratch buffer, enforcing the limit of the pending token. */
static int sc_put(dg_json_tok *t, const void *src, size_t n)
{
    size_t max = t->pend == P_NUMBER ? t->lim.max_number : t->lim.max_string;
    if (n == 0)
        return 0;
    if (n > max - t->sc_len)
        return limit_fail(t, t->pend, t->is_key, t->tok_off);
    if (n > t->sc_cap - t->sc_len) {
        size_t cap = t->sc_cap ? t->sc_cap : 256;
        while (cap - t->sc_len < n)
            cap = cap > max / 2 ? max : cap * 2;
        char *nb = realloc(t->sc, cap);
        if (!nb)
            return tok_fail(t, DG_ENOMEM, t->tok_off, "out of memory");
        t->sc = nb;
        t->sc_cap = cap;
    }
    memcpy(t->sc + t->sc_len, src, n);
    t->sc_len += n;
    return 0;
}

/* First byte in [p, end) that is '"', '\\', < 0x20 or >= 0x80; end if none. */
static inline const uint8_t *find_special(const uint8_t *p, const uint8_t *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* Signed compare: bytes >= 0x80 are negative, so "< 0x20" catches
         * both control characters and non-ASCII bytes. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && (uint8_t)(*p - 0x20) < 0x60 && *p != '"' && *p != '\\')
        p++;
    return p;
}

/* Skips the run of spaces that usually follows a newline (indentation). */
static inline const uint8_t *skip_indent(const uint8_t *p, const uint8_t *end)
{
#ifdef __SSE2__
    const __m128i space = _mm_set1_epi8(' ');
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, space)) ^ 0xFFFFu;
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && *p == ' ')
        p++;
    return p;
}

/* Unaligned 4-byte load (one instruction; memcmp is a call with gcc). */
static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static int hexval(unsigned c)
{
    if (c - '0' < 10)
        return (int)(c - '0');
    c |= 0x20;
    if (c - 'a' < 6)
        return (int)(c - 'a' + 10);
    return -1;
}

static int put_utf8(dg_json_tok *t, uint32_t cp)
{
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xC0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | cp >> 12), b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | cp >> 18), b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F)), b[3] = (uint8_t)(0x80 | (cp & 0x3F)), n = 4;
    }
    return sc_put(t, b, n);
}

static int lone_high(dg_json_tok *t)
{
    return tok_fail(t, DG_EPARSE, t->hi_off,
                    "lone high surrogate \\u%04X in string (expected a low surrogate "
                    "escape \\uDC00-\\uDFFF after it)", (unsigned)t->hi);
}

/* The slow string machine: the string body from *pp, copied and unescaped
 * into the scratch buffer. Returns 1 once the closing quote is consumed,
 * 0 when the input ran out (state saved), or a negative error. */
static int str_cont(dg_json_tok *t, const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp, *q;
    unsigned c;
    char what[48];
    static const char unesc[] = "\"\"\\\\//b\bf\fn\nr\rt\t";
    for (;;) {
        switch (t->sub) {
        case SUB_NONE:
            for (q = p;;) {
                q = find_special(q, end);
                if (q < end && *q >= 0x80) {
                    unsigned n = utf8_seq(q, end);
                    if (n) {
                        q += n;
                        continue;
                    }
                }
                break;
            }
            if (sc_put(t, p, (size_t)(q - p)))
                return t->status;
            p = q;
            if (p == end)
                goto more;
            c = *p;
            if (c == '"') {
                *pp = p + 1;
                return 1;
            }
            if (c == '\\') {
                t->esc_off = TOFF(t, p++);
                t->sub = SUB_ESC;
                continue;
            }
            if (c < 0x20)
                return tok_fail(t, DG_EPARSE, TOFF(t, p),
                                "invalid control character 0x%02X in string (must be escaped)", c);
            /* A non-ASCII sequence that is invalid or cut by the chunk end. */
            t->u8need = utf8_lead(c, &t->u8lo, &t->u8hi);
            if (!t->u8need)
                return tok_fail(t, DG_EPARSE, TOFF(t, p), "invalid UTF-8 byte 0x%02X%s", c,
                                lead_reason(c));
            t->u8lead = c;
            if (sc_put(t, p++, 1))
                return t->status;
            t->sub = SUB_UTF8;
            continue;
        case SUB_UTF8:
            if (p == end)
                goto more;
            c = *p;
            if (c < t->u8lo || c > t->u8hi) {
                if ((c & 0xC0) != 0x80)
                    return tok_fail(t, DG_EPARSE, TOFF(t, p),
                                    "truncated UTF-8 sequence (expected a continuation byte, "
                                    "found %s)", describe(c, what, sizeof what));
                return tok_fail(t, DG_EPARSE, TOFF(t, p), "invalid UTF-8 byte 0x%02X after 0x%02X (%s)",
                                c, t->u8lead,
                                t->u8lead == 0xED ? "UTF-16 surrogate encoded in UTF-8"
                                : t->u8lead == 0xF4 ? "code point above U+10FFFF"
                                                    : "overlong encoding");
            }
            if (sc_put(t, p++, 1))
                return t->status;
            t->u8lo = 0x80, t->u8hi = 0xBF;
            if (--t->u8need == 0)
                t->sub = SUB_NONE;
            continue;
        case SUB_ESC:
            if (p == end)
                goto more;
            c = *p;
            if (c == 'u') {
                p++;
                t->sub = SUB_HEX, t->hexn = 0, t->uval = 0;
                continue;
            }
            for (q = (const uint8_t *)unesc; *q && *q != c; q += 2)
                ;
            if (!*q || c == 0)
                return tok_fail(t, DG_EPARSE, t->esc_off, "invalid escape in string: '\\' followed by %s",
                                describe(c, what, sizeof what));
            if (sc_put(t, q + 1, 1))
                return t->status;
            p++;
            t->sub = SUB_NONE;
            continue;
        case SUB_HEX:
            for (; t->hexn < 4; t->hexn++, p++) {
                int h;
                if (p == end)
                    goto more;
                if ((h = hexval(*p)) < 0)
                    return tok_fail(t, DG_EPARSE, TOFF(t, p),
                                    "invalid \\u escape in string: expected a hex digit, found %s",
                                    describe(*p, what, sizeof what));
                t->uval = t->uval << 4 | (uint32_t)h;
            }
            if (t->hi) {
                if (t->uval < 0xDC00 || t->uval > 0xDFFF)
                    return lone_high(t);
                uint32_t cp = 0x10000 + ((t->hi - 0xD800) << 10) + (t->uval - 0xDC00);
                t->hi = 0;
                if (put_utf8(t, cp))
                    return t->status;
            } else if (t->uval >= 0xD800 && t->uval <= 0xDBFF) {
                t->hi = t->uval;
                t->hi_off = t->esc_off;
                t->sub = SUB_LOW_BS;
                continue;
            } else if (t->uval >= 0xDC00 && t->uval <= 0xDFFF) {
                return tok_fail(t, DG_EPARSE, t->esc_off, "lone low surrogate \\u%04X in string",
                                (unsigned)t->uval);
            } else if (put_utf8(t, t->uval)) {
                return t->status;
            }
            t->sub = SUB_NONE;
            continue;
        case SUB_LOW_BS:
        case SUB_LOW_U:
            if (p == end)
                goto more;
            if (*p != (t->sub == SUB_LOW_BS ? '\\' : 'u'))
                return lone_high(t);
            if (t->sub == SUB_LOW_BS) {
                t->esc_off = TOFF(t, p);
                t->sub = SUB_LOW_U;
            } else {
                t->sub = SUB_HEX, t->hexn = 0, t->uval = 0;
            }
            p++;
            continue;
        }
    }
more:
    *pp = end;
    return 0;
}

static int num_fail(dg_json_tok *t, int nst, const char *found, uint64_t off)
{
    static const char *const what[] = {
        [N_MINUS] = "a digit after '-'", [N_DOT] = "a digit after '.'",
        [N_E] = "a digit or sign in the exponent", [N_ESIGN] = "a digit in the exponent",
    };
    return tok_fail(t, DG_EPARSE, off, "invalid number: expected %s, found %s", what[nst], found);
}

/* The slow number machine: consumes number bytes from *pp into the scratch
 * buffer. Returns 1 when a byte that ends the number is reached (left
 * unconsumed at *pp), 0 when the input ran out, or a negative error. */
static int num_cont(dg_json_tok *t, const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    char what[48];
    for (; p < end; p++) {
        unsigned c = *p, d = c - '0';
        switch (t->nst) {
        case N_START:
            if (c == '-') {
                t->nflags |= DG_NUM_NEG;
                t->nst = N_MINUS;
                break;
            }
            FALLTHROUGH;
        case N_MINUS:
            if (d >= 10)
                goto bad;
            t->nst = d ? N_INT : N_ZERO;
            t->acc = d, t->nd = 1;
            break;
        case N_ZERO:
            if (d < 10)
                return tok_fail(t, DG_EPARSE, TOFF(t, p), "invalid number: leading zeros are not allowed");
            goto frac_or_exp;
        case N_INT:
            if (d < 10) {
                t->acc = t->acc * 10 + d; /* wraps harmlessly past 19 digits; nd says so */
                t->nd++;
                break;
            }
            goto frac_or_exp;
        case N_DOT:
            if (d >= 10)
                goto bad;
            t->nst = N_FRAC;
            break;
        case N_FRAC:
            if (d < 10)
                break;
        frac_or_exp:
            if (c == '.' && t->nst != N_FRAC) {
                t->nflags |= DG_NUM_FRAC;
                t->nst = N_DOT;
            } else if ((c | 0x20) == 'e') {
                t->nflags |= DG_NUM_EXP;
                t->nst = N_E;
            } else {
                *pp = p;
                return 1;
            }
            break;
        case N_E:
            if (c == '+' || c == '-') {
                t->nst = N_ESIGN;
                break;
            }
            FALLTHROUGH;
        case N_ESIGN:
            if (d >= 10)
                goto bad;
            t->nst = N_EXP;
            break;
        case N_EXP:
            if (d < 10)
                break;
            *pp = p;
            return 1;
        }
        if (sc_put(t, p, 1))
            return t->status;
    }
    *pp = p;
    return 0;
bad:
    return num_fail(t, t->nst, describe(*p, what, sizeof what), TOFF(t, p));
}

/* Fills the number facts of tok. nd = count of integer-part digits. */
static void num_facts(dg_json_token *tok, unsigned flags, uint64_t acc, size_t nd)
{
    const uint64_t lim = (uint64_t)INT64_MAX + ((flags & DG_NUM_NEG) != 0);
    tok->i = 0;
    if (!(flags & (DG_NUM_FRAC | DG_NUM_EXP)) && nd <= 19 && acc <= lim) {
        flags |= DG_NUM_I64;
        if (!(flags & DG_NUM_NEG))
            tok->i = (int64_t)acc;
        else
            tok->i = acc > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)acc;
    }
    tok->num_flags = flags;
}

static int lit_cont(dg_json_tok *t, const uint8_t **pp, const uint8_t *end)
{
    const uint8_t *p = *pp;
    char what[48];
    for (; t->lit_pos < t->lit_len; t->lit_pos++, p++) {
        if (p == end) {
            *pp = p;
            return 0;
        }
        if (*p != (uint8_t)t->lit[t->lit_pos])
            return tok_fail(t, DG_EPARSE, TOFF(t, p), "invalid literal: expected '%s', found %s",
                            t->lit, describe(*p, what, sizeof what));
    }
    *pp = p;
    return 1;
}

static int grow_stack(dg_json_tok *t, uint64_t off)
{
    if (t->cap >= t->lim.max_depth)
        return tok_fail(t, DG_ELIMIT, off, "nesting depth exceeds %u", t->lim.max_depth);
    unsigned cap = t->cap < 16 ? 32 : t->cap > t->lim.max_depth / 2 ? t->lim.max_depth : t->cap * 2;
    if (cap > t->lim.max_depth)
        cap = t->lim.max_depth;
    uint8_t *ns = realloc(t->stack, cap);
    if (!ns)
        return tok_fail(t, DG_ENOMEM, off, "out of memory");
    t->stack = ns;
    t->cap = cap;
    return 0;
}

static int after_value_state(const dg_json_tok *t)
{
    if (t->depth == 0)
        return S_DONE;
    return t->stack[t->depth - 1] ? S_OBJ_AFTER : S_ARR_AFTER;
}

/* Tokenizes [p, end) of the chunk t->chunk (at stream offset t->base). */
static int run(dg_json_tok *t, const uint8_t *p, const uint8_t *const end)
{
    const uint8_t *const chunk = t->chunk;
    const uint64_t base = t->base;
    const dg_json_sink sink = t->sink;
    void *const ctx = t->ctx;
    const size_t max_string = t->lim.max_string, max_number = t->lim.max_number;
    uint8_t *stack = t->stack;
    unsigned depth = t->depth, cap = t->cap, c = 0, flags = 0;
    uint64_t line = t->line, line_start = t->line_start, acc = 0;
    int st = t->state, r, is_key = 0;
    size_t nd = 0;
    const uint8_t *s, *q;
    dg_json_token tok = {0};

#define OFF(x) (base + (uint64_t)((x) - chunk))
#define SYNC() (t->depth = depth, t->line = line, t->line_start = line_start, t->state = st)
#define EMIT(ev, off)                                                                   \
    do {                                                                                \
        tok.offset = (off);                                                             \
        if (sink(ctx, (ev), &tok)) {                                                    \
            SYNC();                                                                     \
            return tok_fail(t, DG_ESTOP, tok.offset, "stopped by the sink");           \
        }                                                                               \
    } while (0)
    /* Skips whitespace; suspends at the chunk end in state S; leaves the
     * next byte in c. */
#define SKIP_WS(S)                                                                      \
    do {                                                                                \
        st = (S);                                                                       \
        for (;;) {                                                                      \
            if (p == end)                                                               \
                goto suspend;                                                           \
            c = *p;                                                                     \
            if (c > ' ')                                                                \
                break;                                                                  \
            if (c == ' ' || c == '\t' || c == '\r') {                                   \
                p++;                                                                    \
            } else if (c == '\n') {                                                     \
                line++;                                                                 \
                line_start = OFF(++p);                                                  \
                p = skip_indent(p, end);                                                \
            } else {                                                                    \
                break;                                                                  \
            }                                                                           \
        }                                                                               \
    } while (0)
#define PUSH(kind)                                                                      \
    do {                                                                                \
        if (depth == cap) {                                                             \
            SYNC();                                                                     \
            if ((r = grow_stack(t, OFF(p))) != 0)                                       \
                return r;                                                               \
            stack = t->stack, cap = t->cap;                                             \
        }                                                                               \
        stack[depth++] = (kind);                                                        \
        t->depth = depth;                                                               \
    } while (0)

    switch (t->pend) {
    case P_STRING: goto str_resume;
    case P_NUMBER: goto num_resume;
    case P_LITERAL: goto lit_resume;
    case P_BOM: goto bom_resume;
    default: break;
    }
    switch (st) {
    case S_VALUE_TOP: goto value_top;
    case S_ARR_FIRST: goto arr_first;
    case S_ARR_VALUE: goto arr_value;
    case S_MEMBER_VALUE: goto member_value;
    case S_OBJ_FIRST: goto obj_first;
    case S_OBJ_KEY: goto obj_key;
    case S_COLON: goto colon;
    case S_OBJ_AFTER: goto obj_after;
    case S_ARR_AFTER: goto arr_after;
    default: goto done;
    }

value_top:
    SKIP_WS(S_VALUE_TOP);
    goto value;
arr_first:
    SKIP_WS(S_ARR_FIRST);
    if (c == ']')
        goto close_arr;
    goto value;
arr_value:
    SKIP_WS(S_ARR_VALUE);
    goto value;
member_value:
    SKIP_WS(S_MEMBER_VALUE);
value:
    switch (c) {
    case '"':
        is_key = 0;
        goto string;
    case '{':
        PUSH(1);
        tok.s = NULL, tok.len = 0;
        EMIT(DG_EV_OBJ_START, OFF(p));
        p++;
        goto obj_first;
    case '[':
        PUSH(0);
        tok.s = NULL, tok.len = 0;
        EMIT(DG_EV_ARR_START, OFF(p));
        p++;
        goto arr_first;
    case '-': case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        goto number;
    case 't':
        if (end - p >= 4 && load32(p) == load32((const uint8_t *)"true")) {
            tok.s = "true", tok.len = 4;
            EMIT(DG_EV_TRUE, OFF(p));
            p += 4;
            goto after_value;
        }
        t->lit = "true", t->lit_len = 4, t->lit_ev = DG_EV_TRUE;
        goto lit_slow;
    case 'f':
        if (end - p >= 5 && load32(p + 1) == load32((const uint8_t *)"alse")) {
            tok.s = "false", tok.len = 5;
            EMIT(DG_EV_FALSE, OFF(p));
            p += 5;
            goto after_value;
        }
        t->lit = "false", t->lit_len = 5, t->lit_ev = DG_EV_FALSE;
        goto lit_slow;
    case 'n':
        if (end - p >= 4 && load32(p) == load32((const uint8_t *)"null")) {
            tok.s = "null", tok.len = 4;
            EMIT(DG_EV_NULL, OFF(p));
            p += 4;
            goto after_value;
        }
        t->lit = "null", t->lit_len = 4, t->lit_ev = DG_EV_NULL;
        goto lit_slow;
    case 0xEF:
        if (OFF(p) == 0) { /* maybe a byte order mark: EF BB BF */
            t->pend = P_BOM, t->bom_n = 1;
            p++;
            goto bom_resume;
        }
        goto bad;
    default:
        goto bad;
    }

obj_first:
    SKIP_WS(S_OBJ_FIRST);
    if (c == '"')
        goto key;
    if (c == '}')
        goto close_obj;
    goto bad;
obj_key:
    SKIP_WS(S_OBJ_KEY);
    if (c == '"')
        goto key;
    goto bad;
colon:
    SKIP_WS(S_COLON);
    if (c == ':') {
        p++;
        goto member_value;
    }
    goto bad;
obj_after:
    SKIP_WS(S_OBJ_AFTER);
    if (c == ',') {
        p++;
        goto obj_key;
    }
    if (c == '}')
        goto close_obj;
    goto bad;
arr_after:
    SKIP_WS(S_ARR_AFTER);
    if (c == ',') {
        p++;
        goto arr_value;
    }
    if (c == ']')
        goto close_arr;
    goto bad;
done:
    SKIP_WS(S_DONE);
    goto bad;

close_obj:
close_arr:
    t->depth = --depth;
    tok.s = NULL, tok.len = 0;
    EMIT(c == '}' ? DG_EV_OBJ_END : DG_EV_ARR_END, OFF(p));
    p++;
after_value:
    if (depth == 0)
        goto done;
    if (stack[depth - 1])
        goto obj_after;
    goto arr_after;

key:
    is_key = 1;
string:
    /* Fast path: the whole string in this chunk, no escapes: zero copy. */
    s = q = p + 1;
    for (;;) {
        q = find_special(q, end);
        if (q == end)
            break;
        c = *q;
        if (c == '"') {
            if ((size_t)(q - s) > max_string) {
                SYNC();
                return limit_fail(t, P_STRING, is_key, OFF(p));
            }
            tok.s = (const char *)s, tok.len = (size_t)(q - s);
            if (is_key) {
                EMIT(DG_EV_KEY, OFF(p));
                p = q + 1;
                goto colon;
            }
            EMIT(DG_EV_STRING, OFF(p));
            p = q + 1;
            goto after_value;
        }
        if (c >= 0x80) {
            unsigned n = utf8_seq(q, end);
            if (n) {
                q += n;
                continue;
            }
        }
        break;
    }
    /* Slow path: copy what was scanned, continue byte-wise from q. */
    SYNC();
    t->pend = P_STRING, t->is_key = is_key, t->tok_off = OFF(p);
    t->sc_len = 0, t->sub = SUB_NONE, t->hi = 0;
    if (sc_put(t, s, (size_t)(q - s)))
        return t->status;
    p = q;
str_resume:
    SYNC();
    if ((r = str_cont(t, &p, end)) <= 0)
        return r < 0 ? r : 0;
    t->pend = P_NONE;
    tok.s = t->sc, tok.len = t->sc_len;
    if (t->is_key) {
        EMIT(DG_EV_KEY, t->tok_off);
        goto colon;
    }
    EMIT(DG_EV_STRING, t->tok_off);
    goto after_value;

number:
    /* Fast path: a well-formed number ended by a byte inside this chunk. */
    s = q = p;
    flags = 0, acc = 0, nd = 1;
    if (*q == '-')
        flags = DG_NUM_NEG, q++;
    if (q == end)
        goto num_slow;
    c = *q;
    if (c == '0') {
        q++;
    } else if (c - '1' < 9) {
        do
            acc = acc * 10 + (c - '0');
        while (++q < end && (c = *q) - '0' < 10);
        nd = (size_t)(q - s) - (flags & DG_NUM_NEG);
    } else {
        goto num_slow;
    }
    if (q == end)
        goto num_slow;
    c = *q;
    if (c == '.') {
        flags |= DG_NUM_FRAC;
        if (++q == end || (unsigned)(*q - '0') >= 10)
            goto num_slow;
        while (++q < end && (unsigned)(*q - '0') < 10)
            ;
        if (q == end)
            goto num_slow;
        c = *q;
    }
    if ((c | 0x20) == 'e') {
        flags |= DG_NUM_EXP;
        if (++q < end && (*q == '+' || *q == '-'))
            q++;
        if (q == end || (unsigned)(*q - '0') >= 10)
            goto num_slow;
        while (++q < end && (unsigned)(*q - '0') < 10)
            ;
        if (q == end)
            goto num_slow;
        c = *q;
    }
    if (c - '0' < 10) /* only after a leading 0: an error, reported by the slow path */
        goto num_slow;
    if ((size_t)(q - s) > max_number) {
        SYNC();
        return limit_fail(t, P_NUMBER, 0, OFF(p));
    }
    tok.s = (const char *)s, tok.len = (size_t)(q - s);
    num_facts(&tok, flags, acc, nd);
    EMIT(DG_EV_NUMBER, OFF(p));
    tok.i = 0, tok.num_flags = 0;
    p = q;
    goto after_value;
num_slow:
    t->pend = P_NUMBER, t->tok_off = OFF(p), t->sc_len = 0;
    t->nst = N_START, t->nflags = 0, t->acc = 0, t->nd = 0;
num_resume:
    SYNC();
    if ((r = num_cont(t, &p, end)) <= 0)
        return r < 0 ? r : 0;
    t->pend = P_NONE;
    tok.s = t->sc, tok.len = t->sc_len;
    num_facts(&tok, t->nflags, t->acc, t->nd);
    EMIT(DG_EV_NUMBER, t->tok_off);
    tok.i = 0, tok.num_flags = 0;
    goto after_value;

lit_slow:
    t->pend = P_LITERAL, t->lit_pos = 0, t->tok_off = OFF(p);
lit_resume:
    SYNC();
    if ((r = lit_cont(t, &p, end)) <= 0)
        return r < 0 ? r : 0;
    t->pend = P_NONE;
    tok.s = t->lit, tok.len = t->lit_len;
    EMIT(t->lit_ev, t->tok_off);
    goto after_value;

bom_resume:
    for (; p < end && t->bom_n < 3; p++, t->bom_n++) {
        if (*p != (t->bom_n == 1 ? 0xBB : 0xBF)) {
            SYNC();
            return bad_byte(t, S_VALUE_TOP, 0xEF, 0);
        }
    }
    SYNC();
    if (t->bom_n == 3)
        return tok_fail(t, DG_EPARSE, 0, "byte order mark is not allowed");
    return 0;

bad:
    SYNC();
    return bad_byte(t, st, c, OFF(p));

suspend:
    SYNC();
    return 0;
#undef OFF
#undef SYNC
#undef EMIT
#undef SKIP_WS
#undef PUSH
}

static int report(const dg_json_tok *t, dg_error *err)
{
    if (err)
        *err = t->err;
    return t->status;
}

int dg_json_feed(dg_json_tok *t, const char *p, size_t n, dg_error *err)
{
    size_t take = n;
    int over = 0;
    if (t->status)
        return report(t, err);
    if (t->finished) {
        tok_fail(t, DG_EINVAL, t->base, "dg_json_feed called after dg_json_finish");
        return report(t, err);
    }
    if (t->lim.max_bytes && n > t->lim.max_bytes - t->base)
        take = (size_t)(t->lim.max_bytes - t->base), over = 1;
    t->chunk = (const uint8_t *)p;
    if (take && run(t, (const uint8_t *)p, (const uint8_t *)p + take))
        return report(t, err);
    t->base += take;
    if (over) {
        tok_fail(t, DG_ELIMIT, t->base, "input exceeds %llu bytes (max_bytes)",
                 (unsigned long long)t->lim.max_bytes);
        return report(t, err);
    }
    return 0;
}

int dg_json_finish(dg_json_tok *t, dg_error *err)
{
    const uint64_t off = t->base;
    if (t->status)
        return report(t, err);
    if (t->finished)
        return 0;
    switch (t->pend) {
    case P_STRING:
        tok_fail(t, DG_EPARSE, off, "unexpected end of input inside string%s",
                 t->is_key ? " (object key)" : "");
        return report(t, err);
    case P_NUMBER:
        if (!N_ACCEPTS(t->nst)) {
            num_fail(t, t->nst, "end of input", off);
            return report(t, err);
        }
        {
            dg_json_token tok = {t->sc, t->sc_len, 0, 0, t->tok_off};
            num_facts(&tok, t->nflags, t->acc, t->nd);
            t->pend = P_NONE;
            if (t->sink(t->ctx, DG_EV_NUMBER, &tok)) {
                tok_fail(t, DG_ESTOP, t->tok_off, "stopped by the sink");
                return report(t, err);
            }
        }
        t->state = after_value_state(t);
        break;
    case P_LITERAL:
        tok_fail(t, DG_EPARSE, off, "unexpected end of input inside literal '%s'", t->lit);
        return report(t, err);
    case P_BOM:
        bad_byte(t, S_VALUE_TOP, 0xEF, 0);
        return report(t, err);
    default:
        break;
    }
    if (t->state != S_DONE) {
        tok_fail(t, DG_EPARSE, off, "expected %s, found end of input", expect_msg[t->state]);
        return report(t, err);
    }
    t->finished = 1;
    return 0;
}
