/* validate/regex.c: ECMA-262 patterns translated to PCRE2 (see regex.h).
 *
 * The dialect is ECMA-262 with the `u` flag (unicode mode), the mode the
 * JSON Schema suite expects (\p{...} works, `\a` and lone `{` are errors) and
 * the one ajv uses. A recursive-descent parser validates the ECMA grammar
 * (including its early errors) and emits an equivalent PCRE2 pattern in which
 * every construct whose meaning differs is spelled out explicitly:
 *
 *   literals        -> \x{H} (the emitted pattern is pure ASCII)
 *   \d \w \s (+neg) -> explicit ASCII / ECMA-whitespace ranges, also in classes
 *   .               -> [^\n\r\x{2028}\x{2029}] (everything with the s modifier)
 *   ^ $             -> ^ and $ with PCRE2_DOLLAR_ENDONLY (line forms with m)
 *   [] [^]          -> (?:(?!)) / [\x{0}-\x{10ffff}]
 *   (x) (?<name>x)  -> (?<gN>x), backreferences -> \k<gN>
 *   (?ims-ims:x)    -> ES2025 modifiers; i maps to PCRE2's, m and s are
 *                      applied by this translator
 *   \p{General_Category=Letter}, \p{digit}, \p{Assigned}, ... -> PCRE2 names
 *
 * UCP is deliberately NOT set: in unicode mode without the i flag, ECMA's \w,
 * \d and \b are ASCII-only. \d \w \s are always emitted as explicit sets, so
 * the only PCRE2 constructs UCP would change are \b and \B, which must stay
 * ASCII. \p{...} and caseless matching work in UTF mode without UCP.
 *
 * Unset backreferences match the empty string as in ECMA
 * (PCRE2_MATCH_UNSET_BACKREF). Known remaining difference: ECMA clears the
 * captures inside a quantified group at each iteration, PCRE2 keeps the last
 * ones, which only matters for backreferences to such groups.
 *
 * Lookbehind: PCRE2 10.42 only supports fixed-length lookbehind, ECMA allows
 * any. When PCRE2 rejects a lookbehind, the pattern is translated again in
 * "emulation" mode: each lookbehind body is translated *reversed* (as ECMA
 * defines lookbehind: matched right to left) into its own anchored PCRE2
 * pattern that runs on the reversed subject, reached through a callout at the
 * lookbehind's position. Lookaheads nested in a reversed body become callouts
 * to forward patterns the same way. Backreferences may not cross such an
 * emulated lookaround (reported as unsupported at compile time).
 *
 * Also rejected as unsupported although ECMA accepts them: quantifier bounds
 * above 65535 and the few property names PCRE2 10.42 lacks (e.g.
 * \p{Changes_When_NFKC_Casefolded}). Under the i modifier, case folding is
 * PCRE2's (Unicode simple folding, close to ECMA's canonicalize) and \w, \b
 * do not gain U+017F / U+212A as they do in ECMA.
 *
 * Matching: JIT when available (the interpreter otherwise), match/depth/heap
 * limits on every match, match data and a JIT stack cached per thread and
 * freed when the thread exits. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "validate/regex.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

/* Matching limits: a hostile pattern/subject pair fails with DG_ELIMIT. */
#define RX_MATCH_LIMIT 1000000u
#define RX_DEPTH_LIMIT 100000u
#define RX_HEAP_LIMIT_KIB (16u * 1024u)
#define RX_JIT_STACK_MAX (4u * 1024u * 1024u)
/* Emulated lookarounds: each sub-match has its own (smaller) match limit and
 * a search may run at most RX_EMU_CALLS of them, bounding the total work. */
#define RX_SUB_MATCH_LIMIT 10000u
#define RX_EMU_CALLS 20000u
#define RX_EMU_DEPTH 16u
#define RX_MAX_NEST 128u
#define RX_MAX_QUANT 65535u
#define RX_MAX_SUBS 255u

enum { F_I = 1, F_M = 2, F_S = 4 };

typedef struct rx_sub {
    pcre2_code *code;
    int reverse;  /* runs on the reversed subject */
    int negate;
} rx_sub;

struct dg_regex {
    pcre2_code *code;
    uint32_t pairs;  /* ovector pairs the pattern needs */
    unsigned nsubs;
    rx_sub *subs;    /* emulated lookarounds, callout number k -> subs[k-1] */
    char *source;
};

/* ---- translator ------------------------------------------------------- */

typedef struct rx_name {
    char *s;
    size_t n;
    unsigned group;
} rx_name;

typedef struct rx_tsub {
    dg_buf pat;
    int reverse, negate;
    size_t src_off;
} rx_tsub;

typedef struct rx_ref {
    unsigned scope, group;
    size_t off;
} rx_ref;

typedef struct rx_tr {
    const char *src;
    size_t len, pos;
    int pass;          /* 1: collect groups and names, 2: emit */
    int emulate;       /* emulation mode (see top of file) */
    int reverse;       /* emitting a body that runs on the reversed subject */
    unsigned flags;    /* F_I | F_M | F_S in effect */
    unsigned depth;
    unsigned ngroups, total_groups;
    unsigned nlook, total_look;
    unsigned scope;    /* 0 = main pattern, k = emulated lookaround k */
    unsigned emu_nest; /* emulated lookarounds enclosing the current body */
    int lookahead;     /* a positive lookahead was emitted */
    rx_name *names;
    size_t nnames;
    unsigned *group_scope;  /* [total_groups + 1], emulation mode */
    rx_ref *refs;
    size_t nrefs, caprefs;
    rx_tsub *subs;
    unsigned nsubs;
    dg_buf *out;       /* NULL while only checking */
    dg_buf *main_out;
    size_t *map;       /* (out offset, source offset) pairs for main_out */
    size_t nmap, capmap;
    int failed, oom;
    size_t err_off;
    char msg[200];
} rx_tr;

static int fail(rx_tr *t, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(rx_tr *t, size_t off, const char *fmt, ...)
{
    if (!t->failed) {
        t->failed = 1;
        t->err_off = off;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(t->msg, sizeof t->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int nomem(rx_tr *t)
{
    t->oom = 1;
    return fail(t, t->pos, "out of memory");
}

static void put(rx_tr *t, const char *s)
{
    if (t->out && dg_buf_append(t->out, s, strlen(s)) != 0)
        nomem(t);
}

static void putf(rx_tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(rx_tr *t, const char *fmt, ...)
{
    if (!t->out)
        return;
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= sizeof tmp || dg_buf_append(t->out, tmp, (size_t)w) != 0)
        nomem(t);
}

static void put_cp(rx_tr *t, uint32_t cp)
{
    putf(t, "\\x{%x}", (unsigned)cp);
}

/* Decodes one UTF-8 sequence at s[*i]; 0 when malformed. */
static int utf8_next(const char *s, size_t len, size_t *i, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = len - *i;
    unsigned c = p[0];
    uint32_t v, min;
    size_t n;
    if (c < 0x80) {
        *cp = c;
        *i += 1;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (p[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    *i += n;
    return 1;
}

static int peek(const rx_tr *t)
{
    return t->pos < t->len ? (unsigned char)t->src[t->pos] : -1;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_syntax_char(int c)
{
    return c > 0 && strchr("^$\\.*+?()[]{}|/", c) != NULL;
}

/* Uses PCRE2's Unicode tables for the rare non-ASCII group-name character. */
static int uprop_has(const char *prop, uint32_t cp)
{
    char pat[48], subj[4];
    snprintf(pat, sizeof pat, "\\A\\p{%s}", prop);
    int ec;
    PCRE2_SIZE eo;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo,
                                  NULL);
    if (!c)
        return 0;
    size_t n;
    if (cp < 0x80) {
        subj[0] = (char)cp, n = 1;
    } else if (cp < 0x800) {
        subj[0] = (char)(0xC0 | (cp >> 6)), subj[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
    } else if (cp < 0x10000) {
        subj[0] = (char)(0xE0 | (cp >> 12)), subj[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        subj[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
    } else {
        subj[0] = (char)(0xF0 | (cp >> 18)), subj[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        subj[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), subj[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
    }
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    int rc = md ? pcre2_match(c, (PCRE2_SPTR)subj, n, 0, 0, md, NULL) : -1;
    pcre2_match_data_free(md);
    pcre2_code_free(c);
    return rc >= 0;
}

/* \uXXXX, \u{X...} after the backslash-u (t->pos at the 'u'); surrogate
 * pairs written as two \u escapes are combined into one code point. */
static int parse_u_escape(rx_tr *t, uint32_t *cp)
{
    size_t start = t->pos - 1;
    t->pos++;  /* 'u' */
    if (peek(t) == '{') {
        uint32_t v = 0;
        size_t ndig = 0;
        t->pos++;
        while (hexval(peek(t)) >= 0) {
            v = v * 16 + (uint32_t)hexval(peek(t));
            if (v > 0x10FFFF)
                return fail(t, start, "\\u{...} escape above U+10FFFF");
            t->pos++, ndig++;
        }
        if (!ndig || peek(t) != '}')
            return fail(t, start, "invalid \\u{...} escape");
        t->pos++;
        *cp = v;
        return 0;
    }
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexval(peek(t));
        if (h < 0)
            return fail(t, start, "invalid \\u escape (needs 4 hex digits or {...})");
        v = v * 16 + (uint32_t)h;
        t->pos++;
    }
    if (v >= 0xD800 && v <= 0xDBFF && t->pos + 6 <= t->len && t->src[t->pos] == '\\' &&
        t->src[t->pos + 1] == 'u') {
        uint32_t lo = 0;
        int ok = 1;
        for (int k = 0; k < 4; k++) {
            int h = hexval((unsigned char)t->src[t->pos + 2 + (size_t)k]);
            if (h < 0) {
                ok = 0;
                break;
            }
            lo = lo * 16 + (uint32_t)h;
        }
        if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
            v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
            t->pos += 6;
        }
    }
    *cp = v;
    return 0;
}

/* CharacterEscape (unicode mode), t->pos just after the backslash. Returns 1
 * and sets *cp when the escape is a character escape, 0 when it is not one
 * (the caller decides), -1 on a syntax error. */
static int char_escape(rx_tr *t, uint32_t *cp)
{
    size_t start = t->pos - 1;
    int c = peek(t);
    switch (c) {
    case 'f': *cp = 0x0C; break;
    case 'n': *cp = 0x0A; break;
    case 'r': *cp = 0x0D; break;
    case 't': *cp = 0x09; break;
    case 'v': *cp = 0x0B; break;
    case 'c': {
        int l = t->pos + 1 < t->len ? (unsigned char)t->src[t->pos + 1] : -1;
        if (!((l >= 'a' && l <= 'z') || (l >= 'A' && l <= 'Z')))
            return fail(t, start, "\\c must be followed by an ASCII letter");
        *cp = (uint32_t)(l % 32);
        t->pos += 2;
        return 1;
    }
    case '0':
        if (t->pos + 1 < t->len && t->src[t->pos + 1] >= '0' && t->src[t->pos + 1] <= '9')
            return fail(t, start, "octal escapes are not allowed in unicode mode");
        *cp = 0;
        break;
    case 'x': {
        int h1 = t->pos + 1 < t->len ? hexval((unsigned char)t->src[t->pos + 1]) : -1;
        int h2 = t->pos + 2 < t->len ? hexval((unsigned char)t->src[t->pos + 2]) : -1;
        if (h1 < 0 || h2 < 0)
            return fail(t, start, "\\x must be followed by two hex digits");
        *cp = (uint32_t)(h1 * 16 + h2);
        t->pos += 3;
        return 1;
    }
    case 'u':
        return parse_u_escape(t, cp) < 0 ? -1 : 1;
    default:
        if (is_syntax_char(c)) {
            *cp = (uint32_t)c;
            break;
        }
        return 0;
    }
    t->pos++;
    return 1;
}

/* ---- character sets ---------------------------------------------------- */

typedef struct rx_range {
    uint32_t lo, hi;
} rx_range;

static const rx_range set_d[] = {{'0', '9'}};
static const rx_range set_w[] = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
/* ECMA WhiteSpace + LineTerminator. */
static const rx_range set_s[] = {{0x09, 0x0D},     {0x20, 0x20},     {0xA0, 0xA0},
                                 {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029},
                                 {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
                                 {0xFEFF, 0xFEFF}};

static void put_ranges(rx_tr *t, const rx_range *r, size_t n, int complement)
{
    if (!complement) {
        for (size_t k = 0; k < n; k++) {
            put_cp(t, r[k].lo);
            if (r[k].hi != r[k].lo) {
                put(t, "-");
                put_cp(t, r[k].hi);
            }
        }
        return;
    }
    uint32_t next = 0;
    for (size_t k = 0; k <= n; k++) {
        uint32_t lo = k < n ? r[k].lo : 0x110000;
        if (lo > next) {
            put_cp(t, next);
            if (lo - 1 != next) {
                put(t, "-");
                put_cp(t, lo - 1);
            }
        }
        if (k < n)
            next = r[k].hi + 1;
    }
}

typedef struct rx_set {
    const rx_range *r;  /* NULL for a property */
    size_t n;
    int negate;
    char prop[80];      /* PCRE2 property text for \p{...} */
} rx_set;

/* General_Category values: short name, long name, extra alias. */
static const char *const gc_names[][3] = {
    {"C", "Other", NULL}, {"Cc", "Control", "cntrl"}, {"Cf", "Format", NULL},
    {"Cn", "Unassigned", NULL}, {"Co", "Private_Use", NULL}, {"Cs", "Surrogate", NULL},
    {"L", "Letter", NULL}, {"LC", "Cased_Letter", NULL}, {"Ll", "Lowercase_Letter", NULL},
    {"Lm", "Modifier_Letter", NULL}, {"Lo", "Other_Letter", NULL},
    {"Lt", "Titlecase_Letter", NULL}, {"Lu", "Uppercase_Letter", NULL},
    {"M", "Mark", "Combining_Mark"}, {"Mc", "Spacing_Mark", NULL},
    {"Me", "Enclosing_Mark", NULL}, {"Mn", "Nonspacing_Mark", NULL}, {"N", "Number", NULL},
    {"Nd", "Decimal_Number", "digit"}, {"Nl", "Letter_Number", NULL},
    {"No", "Other_Number", NULL}, {"P", "Punctuation", "punct"},
    {"Pc", "Connector_Punctuation", NULL}, {"Pd", "Dash_Punctuation", NULL},
    {"Pe", "Close_Punctuation", NULL}, {"Pf", "Final_Punctuation", NULL},
    {"Pi", "Initial_Punctuation", NULL}, {"Po", "Other_Punctuation", NULL},
    {"Ps", "Open_Punctuation", NULL}, {"S", "Symbol", NULL}, {"Sc", "Currency_Symbol", NULL},
    {"Sk", "Modifier_Symbol", NULL}, {"Sm", "Math_Symbol", NULL}, {"So", "Other_Symbol", NULL},
    {"Z", "Separator", NULL}, {"Zl", "Line_Separator", NULL},
    {"Zp", "Paragraph_Separator", NULL}, {"Zs", "Space_Separator", NULL},
};

/* ECMA-262 binary properties (names and aliases, exact spelling). */
static const char binary_props[] =
    " ASCII ASCII_Hex_Digit AHex Alphabetic Alpha Any Assigned Bidi_Control Bidi_C"
    " Bidi_Mirrored Bidi_M Case_Ignorable CI Cased Changes_When_Casefolded CWCF"
    " Changes_When_Casemapped CWCM Changes_When_Lowercased CWL"
    " Changes_When_NFKC_Casefolded CWKCF Changes_When_Titlecased CWT"
    " Changes_When_Uppercased CWU Dash Default_Ignorable_Code_Point DI Deprecated Dep"
    " Diacritic Dia Emoji Emoji_Component EComp Emoji_Modifier EMod Emoji_Modifier_Base"
    " EBase Emoji_Presentation EPres Extended_Pictographic ExtPict Extender Ext"
    " Grapheme_Base Gr_Base Grapheme_Extend Gr_Ext Hex_Digit Hex IDS_Binary_Operator IDSB"
    " IDS_Trinary_Operator IDST ID_Continue IDC ID_Start IDS Ideographic Ideo Join_Control"
    " Join_C Logical_Order_Exception LOE Lowercase Lower Math Noncharacter_Code_Point NChar"
    " Pattern_Syntax Pat_Syn Pattern_White_Space Pat_WS Quotation_Mark QMark Radical"
    " Regional_Indicator RI Sentence_Terminal STerm Soft_Dotted SD Terminal_Punctuation Term"
    " Unified_Ideograph UIdeo Uppercase Upper Variation_Selector VS White_Space space"
    " XID_Continue XIDC XID_Start XIDS ";

static const char *gc_short(const char *s, size_t n)
{
    for (size_t k = 0; k < sizeof gc_names / sizeof gc_names[0]; k++)
        for (int a = 0; a < 3; a++)
            if (gc_names[k][a] && strlen(gc_names[k][a]) == n && !memcmp(gc_names[k][a], s, n))
                return gc_names[k][0];
    return NULL;
}

static int is_binary_prop(const char *s, size_t n)
{
    const char *p = binary_props;
    while ((p = strstr(p, " ")) != NULL && p[1]) {
        p++;
        size_t l = strcspn(p, " ");
        if (l == n && !memcmp(p, s, n))
            return 1;
        p += l;
    }
    return 0;
}

/* Script names: canonical (Old_Italic, SignWriting) or 4-letter codes. The
 * name's existence is checked by PCRE2. */
static int script_name_ok(const char *s, size_t n)
{
    if (!n || !(s[0] >= 'A' && s[0] <= 'Z'))
        return 0;
    for (size_t k = 1; k < n; k++) {
        char c = s[k];
        if (c == '_') {
            if (k + 1 >= n || !(s[k + 1] >= 'A' && s[k + 1] <= 'Z'))
                return 0;
        } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            return 0;
        }
    }
    return 1;
}

/* \p{...} / \P{...}; t->pos at the 'p' or 'P'. */
static int parse_property(rx_tr *t, rx_set *set)
{
    size_t start = t->pos - 1;
    set->r = NULL;
    set->negate = t->src[t->pos] == 'P';
    t->pos++;
    if (peek(t) != '{')
        return fail(t, start, "\\p and \\P need {Property} in unicode mode");
    t->pos++;
    size_t b = t->pos, eq = 0;
    while (t->pos < t->len && t->src[t->pos] != '}') {
        char c = t->src[t->pos];
        if (c == '=' && !eq)
            eq = t->pos;
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_'))
            return fail(t, start, "invalid Unicode property name");
        t->pos++;
    }
    if (peek(t) != '}')
        return fail(t, start, "unterminated \\p{...}");
    size_t e = t->pos++;
    const char *s = t->src + b;
    if (eq) {
        size_t nl = eq - b, vl = e - eq - 1;
        const char *v = t->src + eq + 1;
#define NAME_IS(lit) (nl == sizeof(lit) - 1 && !memcmp(s, lit, nl))
        if (NAME_IS("General_Category") || NAME_IS("gc")) {
            const char *g = gc_short(v, vl);
            if (!g)
                return fail(t, start, "unknown General_Category value");
            snprintf(set->prop, sizeof set->prop, "%s", g);
        } else if (NAME_IS("Script") || NAME_IS("sc") || NAME_IS("Script_Extensions") ||
                   NAME_IS("scx")) {
            if (!script_name_ok(v, vl) || vl > 60)
                return fail(t, start, "invalid Script value");
            snprintf(set->prop, sizeof set->prop, "%s=%.*s",
                     (NAME_IS("Script") || NAME_IS("sc")) ? "sc" : "scx", (int)vl, v);
        } else {
            return fail(t, start, "unknown Unicode property name");
        }
#undef NAME_IS
        return 0;
    }
    size_t n = e - b;
    const char *g = gc_short(s, n);
    if (g) {
        snprintf(set->prop, sizeof set->prop, "%s", g);
    } else if (is_binary_prop(s, n)) {
        if (n == 8 && !memcmp(s, "Assigned", 8)) {
            snprintf(set->prop, sizeof set->prop, "Cn");
            set->negate = !set->negate;
        } else {
            snprintf(set->prop, sizeof set->prop, "%.*s", (int)n, s);
        }
    } else {
        return fail(t, start, "unknown Unicode property");
    }
    return 0;
}

/* CharacterClassEscape after the backslash: 1 when it is one, 0 when not. */
static int class_escape(rx_tr *t, rx_set *set)
{
    int c = peek(t);
    set->negate = c == 'D' || c == 'W' || c == 'S';
    switch (c) {
    case 'd': case 'D': set->r = set_d, set->n = 1; break;
    case 'w': case 'W': set->r = set_w, set->n = 4; break;
    case 's': case 'S': set->r = set_s, set->n = sizeof set_s / sizeof set_s[0]; break;
    case 'p': case 'P': return parse_property(t, set) < 0 ? -1 : 1;
    default: return 0;
    }
    t->pos++;
    return 1;
}

/* Emits a set as members of an enclosing PCRE2 class. */
static void put_set_members(rx_tr *t, const rx_set *set)
{
    if (set->r)
        put_ranges(t, set->r, set->n, set->negate);
    else
        putf(t, "\\%c{%s}", set->negate ? 'P' : 'p', set->prop);
}

static void put_set(rx_tr *t, const rx_set *set)
{
    if (!set->r) {
        put_set_members(t, set);
        return;
    }
    put(t, set->negate ? "[^" : "[");
    put_ranges(t, set->r, set->n, 0);
    put(t, "]");
}

typedef struct rx_catom {
    int is_set;
    uint32_t cp;
    rx_set set;
} rx_catom;

static int class_atom(rx_tr *t, rx_catom *a)
{
    a->is_set = 0;
    if (t->src[t->pos] != '\\') {
        if (!utf8_next(t->src, t->len, &t->pos, &a->cp))
            return fail(t, t->pos, "invalid UTF-8");
        return 0;
    }
    size_t start = t->pos++;
    if (t->pos >= t->len)
        return fail(t, start, "\\ at end of pattern");
    int c = peek(t);
    if (c == 'b') {
        a->cp = 0x08;
        t->pos++;
        return 0;
    }
    if (c == '-') {
        a->cp = '-';
        t->pos++;
        return 0;
    }
    int r = class_escape(t, &a->set);
    if (r < 0)
        return -1;
    if (r) {
        a->is_set = 1;
        return 0;
    }
    r = char_escape(t, &a->cp);
    if (r < 0)
        return -1;
    if (!r)
        return fail(t, start, "invalid escape \\%c in character class",
                    c > ' ' && c < 127 ? c : '?');
    return 0;
}

static int parse_class(rx_tr *t)
{
    size_t start = t->pos++, out0 = t->out ? t->out->len : 0, members = 0;
    int neg = peek(t) == '^';
    if (neg)
        t->pos++;
    put(t, neg ? "[^" : "[");
    for (;; members++) {
        if (t->pos >= t->len)
            return fail(t, start, "unterminated character class");
        if (t->src[t->pos] == ']') {
            t->pos++;
            break;
        }
        rx_catom a, b;
        if (class_atom(t, &a) < 0)
            return -1;
        if (peek(t) == '-' && t->pos + 1 < t->len && t->src[t->pos + 1] != ']') {
            size_t dash = t->pos++;
            if (class_atom(t, &b) < 0)
                return -1;
            if (a.is_set || b.is_set)
                return fail(t, dash, "character class escape used as a range bound");
            if (a.cp > b.cp)
                return fail(t, dash, "range out of order in character class");
            put_cp(t, a.cp);
            put(t, "-");
            put_cp(t, b.cp);
        } else if (a.is_set) {
            put_set_members(t, &a.set);
        } else {
            put_cp(t, a.cp);
        }
    }
    if (!members && t->out) {
        /* PCRE2 10.42 mis-handles a quantified empty class ([]*), so the
         * empty classes are spelled out. */
        t->out->len = out0;
        put(t, neg ? "[\\x{0}-\\x{10ffff}]" : "(?:(?!))");
        return 0;
    }
    put(t, "]");
    return 0;
}

/* ---- groups, names, backreferences ------------------------------------ */

/* RegExpIdentifierName, t->pos after '<'; decoded UTF-8 into name. */
static int parse_group_name(rx_tr *t, char *name, size_t cap, size_t *nlen)
{
    size_t start = t->pos, n = 0;
    for (int first = 1;; first = 0) {
        if (t->pos >= t->len)
            return fail(t, start, "unterminated group name");
        if (t->src[t->pos] == '>') {
            if (first)
                return fail(t, start, "empty group name");
            t->pos++;
            break;
        }
        uint32_t cp;
        if (t->src[t->pos] == '\\') {
            t->pos++;
            if (peek(t) != 'u')
                return fail(t, t->pos - 1, "invalid escape in group name");
            if (parse_u_escape(t, &cp) < 0)
                return -1;
        } else if (!utf8_next(t->src, t->len, &t->pos, &cp)) {
            return fail(t, t->pos, "invalid UTF-8");
        }
        int ok;
        if (cp < 0x80)
            ok = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '$' || cp == '_' ||
                 (!first && cp >= '0' && cp <= '9');
        else if (first)
            ok = uprop_has("ID_Start", cp);
        else
            ok = cp == 0x200C || cp == 0x200D || uprop_has("ID_Continue", cp);
        if (!ok)
            return fail(t, start, "invalid character in group name");
        if (n + 4 > cap)
            return fail(t, start, "group name too long");
        if (cp < 0x80) {
            name[n++] = (char)cp;
        } else if (cp < 0x800) {
            name[n++] = (char)(0xC0 | (cp >> 6));
            name[n++] = (char)(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            name[n++] = (char)(0xE0 | (cp >> 12));
            name[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            name[n++] = (char)(0x80 | (cp & 0x3F));
        } else {
            name[n++] = (char)(0xF0 | (cp >> 18));
            name[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
            name[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
            name[n++] = (char)(0x80 | (cp & 0x3F));
        }
    }
    *nlen = n;
    return 0;
}

static const rx_name *find_name(const rx_tr *t, const char *s, size_t n)
{
    for (size_t k = 0; k < t->nnames; k++)
        if (t->names[k].n == n && !memcmp(t->names[k].s, s, n))
            return &t->names[k];
    return NULL;
}

static int add_name(rx_tr *t, size_t off, const char *s, size_t n, unsigned group)
{
    if (find_name(t, s, n))
        return fail(t, off, "duplicate group name");
    rx_name *nn = realloc(t->names, (t->nnames + 1) * sizeof *nn);
    if (!nn)
        return nomem(t);
    t->names = nn;
    char *copy = malloc(n ? n : 1);
    if (!copy)
        return nomem(t);
    memcpy(copy, s, n);
    t->names[t->nnames++] = (rx_name){copy, n, group};
    return 0;
}

static int backref(rx_tr *t, size_t off, unsigned group)
{
    /* Grouped: PCRE2 fails a quantified bare backreference to an unset group
     * ((a)*\1+ on "x") even with PCRE2_MATCH_UNSET_BACKREF. */
    putf(t, "(?:\\k<g%u>)", group);
    if (t->pass == 2 && t->emulate) {
        if (t->nrefs == t->caprefs) {
            size_t nc = t->caprefs ? t->caprefs * 2 : 8;
            rx_ref *nr = realloc(t->refs, nc * sizeof *nr);
            if (!nr)
                return nomem(t);
            t->refs = nr, t->caprefs = nc;
        }
        t->refs[t->nrefs++] = (rx_ref){t->scope, group, off};
    }
    return 0;
}

/* ---- the grammar ------------------------------------------------------ */

static int parse_disjunction(rx_tr *t);

#define RX_LT "[\\x{a}\\x{d}\\x{2028}\\x{2029}]"

static void put_line_start(rx_tr *t)
{
    put(t, (t->flags & F_M) ? "(?:^|(?<=" RX_LT "))" : "^");
}

static void put_line_end(rx_tr *t)
{
    t->lookahead |= (t->flags & F_M) != 0;
    put(t, (t->flags & F_M) ? "(?:$|(?=" RX_LT "))" : "$");
}

static int is_quant_start(const rx_tr *t)
{
    int c = peek(t);
    return c == '*' || c == '+' || c == '?' || c == '{';
}

static int parse_uint(rx_tr *t, uint32_t *v)
{
    size_t b = t->pos;
    uint64_t x = 0;
    while (peek(t) >= '0' && peek(t) <= '9') {
        x = x * 10 + (uint64_t)(peek(t) - '0');
        if (x > 0xFFFFFFFFu)
            x = 0xFFFFFFFFu;
        t->pos++;
    }
    *v = (uint32_t)x;
    return t->pos > b;
}

static int parse_quantifier(rx_tr *t)
{
    size_t start = t->pos;
    int c = peek(t);
    if (c == '*' || c == '+' || c == '?') {
        t->pos++;
        char q[2] = {(char)c, 0};
        put(t, q);
    } else if (c == '{') {
        uint32_t lo, hi = 0;
        int has_hi = 0, open = 0;
        t->pos++;
        if (!parse_uint(t, &lo))
            return fail(t, start, "lone '{' (not a quantifier)");
        if (peek(t) == ',') {
            t->pos++;
            has_hi = parse_uint(t, &hi);
            open = !has_hi;
        }
        if (peek(t) != '}')
            return fail(t, start, "lone '{' (not a quantifier)");
        t->pos++;
        if (has_hi && lo > hi)
            return fail(t, start, "numbers out of order in {} quantifier");
        if (lo > RX_MAX_QUANT || (has_hi && hi > RX_MAX_QUANT))
            return fail(t, start, "quantifier bound above %u is not supported", RX_MAX_QUANT);
        if (has_hi)
            putf(t, "{%u,%u}", (unsigned)lo, (unsigned)hi);
        else if (open)
            putf(t, "{%u,}", (unsigned)lo);
        else
            putf(t, "{%u}", (unsigned)lo);
    } else {
        return 0;
    }
    if (peek(t) == '?') {
        t->pos++;
        put(t, "?");
    }
    if (is_quant_start(t))
        return fail(t, t->pos, "nothing to repeat");
    return 0;
}

/* Modifiers after "(?": [ims]* ['-' [ims]*] ':' ; 1 when present. */
static int parse_modifiers(rx_tr *t, unsigned *add, unsigned *del)
{
    size_t start = t->pos - 2, p = t->pos;
    unsigned *cur = add;
    int dash = 0;
    *add = *del = 0;
    while (p < t->len) {
        char c = t->src[p];
        unsigned f = c == 'i' ? F_I : c == 'm' ? F_M : c == 's' ? F_S : 0;
        if (f) {
            if ((*add | *del) & f)
                return fail(t, start, "repeated flag in modifier group");
            *cur |= f;
        } else if (c == '-' && !dash) {
            dash = 1, cur = del;
        } else if (c == ':') {
            break;
        } else {
            return 0;
        }
        p++;
    }
    if (p >= t->len)
        return 0;
    if (dash && !*add && !*del)
        return fail(t, start, "empty modifier group (?-:");
    if (!*add && !*del)
        return 0;  /* plain (?: */
    t->pos = p + 1;
    return 1;
}

static int enter(rx_tr *t, size_t off)
{
    if (++t->depth > RX_MAX_NEST)
        return fail(t, off, "pattern nested too deeply");
    return 0;
}

static int close_paren(rx_tr *t, size_t start)
{
    if (peek(t) != ')')
        return fail(t, start, "unterminated group");
    t->pos++;
    t->depth--;
    put(t, ")");
    return 0;
}

static int parse_lookaround(rx_tr *t, size_t start, int behind, int negate)
{
    if (enter(t, start) < 0)
        return -1;
    t->nlook++;
    /* A lookaround that runs in the direction of the current body is native
     * lookahead; a lookbehind in a forward body is native unless emulating. */
    int same_dir = behind == t->reverse;
    if (same_dir || !t->emulate || t->pass == 1) {
        t->lookahead |= same_dir && !negate;
        put(t, same_dir ? (negate ? "(?!" : "(?=") : (negate ? "(?<!" : "(?<="));
        if (parse_disjunction(t) < 0)
            return -1;
        return close_paren(t, start);
    }
    if (t->nsubs >= t->total_look || t->nsubs >= RX_MAX_SUBS)
        return fail(t, start, "too many lookarounds");
    if (t->emu_nest >= RX_EMU_DEPTH)
        return fail(t, start, "lookarounds nested too deeply");
    unsigned k = ++t->nsubs;
    rx_tsub *s = &t->subs[k - 1];
    s->reverse = behind, s->negate = negate, s->src_off = start;
    dg_buf *saved_out = t->out;
    int saved_rev = t->reverse;
    unsigned saved_scope = t->scope;
    t->out = &s->pat, t->reverse = behind, t->scope = k;
    t->emu_nest++;
    put(t, (t->flags & F_I) ? "(?i:" : "(?:");
    int rc = parse_disjunction(t);
    t->emu_nest--;
    t->out = saved_out, t->reverse = saved_rev, t->scope = saved_scope;
    if (rc < 0)
        return -1;
    if (peek(t) != ')')
        return fail(t, start, "unterminated group");
    t->pos++;
    t->depth--;
    if (dg_buf_append(&s->pat, ")", 1) != 0)
        return nomem(t);
    putf(t, "(?C%u)", k);
    return 0;
}

static int parse_group(rx_tr *t)
{
    size_t start = t->pos;
    t->pos++;
    if (peek(t) != '?') {
        if (enter(t, start) < 0)
            return -1;
        unsigned g = ++t->ngroups;
        if (t->group_scope)
            t->group_scope[g] = t->scope;
        putf(t, "(?<g%u>", g);
        if (parse_disjunction(t) < 0)
            return -1;
        return close_paren(t, start);
    }
    t->pos++;
    int c = peek(t);
    if (c == '=' || c == '!') {
        t->pos++;
        return parse_lookaround(t, start, 0, c == '!');
    }
    int c2 = t->pos + 1 < t->len ? t->src[t->pos + 1] : 0;
    if (c == '<' && (c2 == '=' || c2 == '!')) {
        int neg = c2 == '!';
        t->pos += 2;
        return parse_lookaround(t, start, 1, neg);
    }
    if (c == '<') {
        char name[256];
        size_t nlen;
        t->pos++;
        if (parse_group_name(t, name, sizeof name, &nlen) < 0 || enter(t, start) < 0)
            return -1;
        unsigned g = ++t->ngroups;
        if (t->pass == 1 && add_name(t, start, name, nlen, g) < 0)
            return -1;
        if (t->group_scope)
            t->group_scope[g] = t->scope;
        putf(t, "(?<g%u>", g);
        if (parse_disjunction(t) < 0)
            return -1;
        return close_paren(t, start);
    }
    unsigned add, del, saved = t->flags;
    int m = parse_modifiers(t, &add, &del);
    if (m < 0)
        return -1;
    if (m == 0) {
        if (c != ':')
            return fail(t, start, "invalid group: (?%c is not ECMA-262 syntax",
                        c > ' ' && c < 127 ? c : '?');
        t->pos++;
        add = del = 0;
    }
    if (enter(t, start) < 0)
        return -1;
    put(t, (add & F_I) ? "(?i:" : (del & F_I) ? "(?-i:" : "(?:");
    t->flags = (t->flags | add) & ~del;
    int rc = parse_disjunction(t);
    t->flags = saved;
    if (rc < 0)
        return -1;
    return close_paren(t, start);
}

/* AtomEscape outside a class, t->pos at the backslash. 1 = quantifiable atom,
 * 0 = assertion (\b \B). */
static int atom_escape(rx_tr *t)
{
    size_t start = t->pos++;
    if (t->pos >= t->len)
        return fail(t, start, "\\ at end of pattern");
    int c = peek(t);
    int shown = c > ' ' && c < 127 ? c : '?';
    if (c == 'b' || c == 'B') {
        t->pos++;
        put(t, c == 'b' ? "\\b" : "\\B");
        return 0;
    }
    if (c >= '1' && c <= '9') {
        uint32_t g;
        parse_uint(t, &g);
        if (t->pass == 2 && g > t->total_groups)
            return fail(t, start, "backreference \\%u to a group that does not exist", (unsigned)g);
        return backref(t, start, g) < 0 ? -1 : 1;
    }
    if (c == 'k') {
        t->pos++;
        if (peek(t) != '<')
            return fail(t, start, "\\k must be followed by <name>");
        t->pos++;
        char name[256];
        size_t nlen;
        if (parse_group_name(t, name, sizeof name, &nlen) < 0)
            return -1;
        if (t->pass == 1)
            return 1;
        const rx_name *nm = find_name(t, name, nlen);
        if (!nm)
            return fail(t, start, "\\k<...> names a group that does not exist");
        return backref(t, start, nm->group) < 0 ? -1 : 1;
    }
    rx_set set;
    int r = class_escape(t, &set);
    if (r < 0)
        return -1;
    if (r) {
        put_set(t, &set);
        return 1;
    }
    uint32_t cp;
    r = char_escape(t, &cp);
    if (r < 0)
        return -1;
    if (!r)
        return fail(t, start, "invalid escape \\%c", shown);
    put_cp(t, cp);
    return 1;
}

static void map_mark(rx_tr *t)
{
    if (!t->out || t->out != t->main_out)
        return;
    if (t->nmap == t->capmap) {
        size_t nc = t->capmap ? t->capmap * 2 : 32;
        size_t *nm = realloc(t->map, nc * 2 * sizeof *nm);
        if (!nm) {
            nomem(t);
            return;
        }
        t->map = nm, t->capmap = nc;
    }
    t->map[2 * t->nmap] = t->out->len;
    t->map[2 * t->nmap + 1] = t->pos;
    t->nmap++;
}

static int parse_term(rx_tr *t)
{
    size_t start = t->pos;
    int c = peek(t);
    map_mark(t);
    switch (c) {
    case '^':
    case '$':
        t->pos++;
        if ((c == '^') != (t->reverse != 0))
            put_line_start(t);
        else
            put_line_end(t);
        break;
    case '(':
        if (t->pos + 2 < t->len && t->src[t->pos + 1] == '?' &&
            (t->src[t->pos + 2] == '=' || t->src[t->pos + 2] == '!' ||
             (t->src[t->pos + 2] == '<' && t->pos + 3 < t->len &&
              (t->src[t->pos + 3] == '=' || t->src[t->pos + 3] == '!')))) {
            /* Lookarounds are not quantifiable in unicode mode. */
            if (parse_group(t) < 0)
                return -1;
            break;
        }
        if (parse_group(t) < 0)
            return -1;
        return parse_quantifier(t);
    case '\\': {
        int r = atom_escape(t);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        return parse_quantifier(t);
    }
    case '.':
        t->pos++;
        put(t, (t->flags & F_S) ? "[\\x{0}-\\x{10ffff}]" : "[^\\x{a}\\x{d}\\x{2028}\\x{2029}]");
        return parse_quantifier(t);
    case '[':
        if (parse_class(t) < 0)
            return -1;
        return parse_quantifier(t);
    case '*':
    case '+':
    case '?':
        return fail(t, start, "nothing to repeat");
    case '{': {
        /* Distinguish the two messages only; both are errors. */
        size_t p = t->pos + 1;
        while (p < t->len && t->src[p] >= '0' && t->src[p] <= '9')
            p++;
        return fail(t, start, p > t->pos + 1 ? "nothing to repeat" : "lone '{' (not a quantifier)");
    }
    case '}':
        return fail(t, start, "lone '}'");
    case ']':
        return fail(t, start, "lone ']'");
    default: {
        uint32_t cp;
        if (!utf8_next(t->src, t->len, &t->pos, &cp))
            return fail(t, start, "invalid UTF-8");
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9')) {
            char ch[2] = {(char)cp, 0};
            put(t, ch);
        } else {
            put_cp(t, cp);
        }
        return parse_quantifier(t);
    }
    }
    if (is_quant_start(t))
        return fail(t, t->pos, "nothing to repeat");
    return 0;
}

static int parse_alternative(rx_tr *t)
{
    if (!t->reverse || !t->out) {
        while (t->pos < t->len && t->src[t->pos] != '|' && t->src[t->pos] != ')')
            if (parse_term(t) < 0)
                return -1;
        return 0;
    }
    /* Reversed body: the terms are emitted in reverse order. */
    dg_buf *out = t->out, acc = DG_BUF_INIT;
    int rc = 0;
    while (rc == 0 && t->pos < t->len && t->src[t->pos] != '|' && t->src[t->pos] != ')') {
        dg_buf term = DG_BUF_INIT;
        t->out = &term;
        rc = parse_term(t);
        if (rc == 0 && acc.len && dg_buf_append(&term, acc.data, acc.len) != 0)
            rc = nomem(t);
        dg_buf_free(&acc);
        acc = term;
    }
    t->out = out;
    if (rc == 0 && acc.len && dg_buf_append(out, acc.data, acc.len) != 0)
        rc = nomem(t);
    dg_buf_free(&acc);
    return rc;
}

static int parse_disjunction(rx_tr *t)
{
    for (;;) {
        if (parse_alternative(t) < 0)
            return -1;
        if (peek(t) != '|')
            return 0;
        t->pos++;
        put(t, "|");
    }
}

static int parse_pattern(rx_tr *t)
{
    t->pos = 0, t->depth = 0, t->ngroups = 0, t->nlook = 0, t->flags = 0;
    t->reverse = 0, t->scope = 0;
    if (parse_disjunction(t) < 0)
        return -1;
    if (t->pos < t->len)
        return fail(t, t->pos, "unmatched ')'");
    if (t->pass == 2 && t->emulate) {
        for (size_t k = 0; k < t->nrefs; k++)
            if (t->refs[k].group <= t->total_groups &&
                t->group_scope[t->refs[k].group] != t->refs[k].scope)
                return fail(t, t->refs[k].off,
                            "backreference across a variable-length lookbehind is not supported");
    }
    return 0;
}

static void tr_reset_pass2(rx_tr *t)
{
    for (unsigned k = 0; k < t->nsubs; k++)
        dg_buf_free(&t->subs[k].pat);
    t->nsubs = 0;
    t->nrefs = 0;
    t->nmap = 0;
}

static void tr_free(rx_tr *t)
{
    tr_reset_pass2(t);
    for (size_t k = 0; k < t->nnames; k++)
        free(t->names[k].s);
    free(t->names);
    free(t->subs);
    free(t->refs);
    free(t->map);
    free(t->group_scope);
}

/* ---- compile ---------------------------------------------------------- */

static int is_lookbehind_error(int ec)
{
    return ec == PCRE2_ERROR_LOOKBEHIND_NOT_FIXED_LENGTH ||
           ec == PCRE2_ERROR_LOOKBEHIND_TOO_COMPLICATED ||
           ec == PCRE2_ERROR_LOOKBEHIND_TOO_LONG;
}

static pcre2_code *pcre_compile(const dg_buf *b, uint32_t extra_opts, int *ec, size_t *eo)
{
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc) {
        *ec = PCRE2_ERROR_NOMEMORY, *eo = 0;
        return NULL;
    }
    pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALLOW_SURROGATE_ESCAPES);
    pcre2_set_parens_nest_limit(cc, 4 * RX_MAX_NEST + 16);
    PCRE2_SIZE off = 0;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)(b->data ? b->data : ""), b->len,
                                  PCRE2_UTF | PCRE2_NO_UTF_CHECK | PCRE2_DOLLAR_ENDONLY |
                                      PCRE2_MATCH_UNSET_BACKREF |
                                      PCRE2_NEVER_BACKSLASH_C | extra_opts,
                                  ec, &off, cc);
    pcre2_compile_context_free(cc);
    *eo = off;
    if (c)
        pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);  /* the interpreter is the fallback */
    return c;
}

static size_t map_offset(const rx_tr *t, size_t out_off)
{
    size_t src = 0;
    for (size_t k = 0; k < t->nmap && t->map[2 * k] <= out_off; k++)
        src = t->map[2 * k + 1];
    return src;
}

static int pcre_error(dg_error *err, int ec, size_t off)
{
    char msg[160];
    if (pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof msg) < 0)
        snprintf(msg, sizeof msg, "PCRE2 error %d", ec);
    return dg_error_set(err, ec == PCRE2_ERROR_NOMEMORY ? DG_ENOMEM : DG_ESPEC,
                        "invalid regex at offset %zu: %s", off, msg);
}

void dg_regex_free(dg_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    for (unsigned k = 0; k < re->nsubs; k++)
        pcre2_code_free(re->subs[k].code);
    free(re->subs);
    free(re->source);
    free(re);
}

int dg_regex_compile(const char *pattern, size_t len, dg_regex **out, dg_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        if (!utf8_next(pattern, len, &i, &cp))
            return dg_error_set(err, DG_ESPEC, "invalid regex at offset %zu: invalid UTF-8", i);
    }
    rx_tr t;
    memset(&t, 0, sizeof t);
    t.src = pattern ? pattern : "", t.len = len, t.pass = 1;
    dg_buf main_buf = DG_BUF_INIT;
    dg_regex *re = NULL;
    int rc = DG_ESPEC;

    if (parse_pattern(&t) < 0)
        goto syntax;
    t.total_groups = t.ngroups, t.total_look = t.nlook, t.pass = 2;
    if (t.total_look && !(t.subs = calloc(t.total_look, sizeof *t.subs)))
        goto oom;
    if (!(t.group_scope = calloc(t.total_groups + 1, sizeof *t.group_scope)))
        goto oom;
    re = calloc(1, sizeof *re);
    if (!re || !(re->source = malloc(len + 1)))
        goto oom;
    memcpy(re->source, t.src, len);
    re->source[len] = '\0';

    int ec;
    size_t eo;
    uint32_t opts = 0;
    for (t.emulate = 0; t.emulate < 2; t.emulate++) {
        dg_buf_reset(&main_buf);
        tr_reset_pass2(&t);
        t.lookahead = 0;
        t.out = t.main_out = &main_buf;
        if (parse_pattern(&t) < 0)
            goto syntax;
        if (dg_buf_reserve(&main_buf, 0) != 0)
            goto oom;
        /* Auto-possessification ignores callouts: a+(?C1) would never
         * backtrack into a+, so emulated lookarounds need it off. PCRE2
         * 10.42's start-of-match optimizations are wrong for some positive
         * lookaheads ((?=a)[^a]?a finds no match in "xca"), so patterns
         * with one are compiled without them. */
        opts = (t.nsubs ? PCRE2_NO_AUTO_POSSESS : 0) |
               (t.lookahead ? PCRE2_NO_START_OPTIMIZE : 0);
        re->code = pcre_compile(&main_buf, opts, &ec, &eo);
        if (re->code || !is_lookbehind_error(ec) || t.emulate)
            break;
    }
    if (!re->code) {
        rc = pcre_error(err, ec, map_offset(&t, eo));
        goto done;
    }
    if (t.nsubs) {
        if (!(re->subs = calloc(t.nsubs, sizeof *re->subs)))
            goto oom;
        re->nsubs = t.nsubs;
        for (unsigned k = 0; k < t.nsubs; k++) {
            re->subs[k].reverse = t.subs[k].reverse;
            re->subs[k].negate = t.subs[k].negate;
            re->subs[k].code = pcre_compile(&t.subs[k].pat, opts | PCRE2_ANCHORED, &ec, &eo);
            if (!re->subs[k].code) {
                rc = pcre_error(err, ec, t.subs[k].src_off);
                goto done;
            }
        }
    }
    uint32_t caps = 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &caps);
    re->pairs = caps + 1;
    *out = re;
    re = NULL;
    rc = DG_OK;
    goto done;
syntax:
    if (t.oom)
        goto oom;
    rc = dg_error_set(err, DG_ESPEC, "invalid regex at offset %zu: %s", t.err_off, t.msg);
    goto done;
oom:
    rc = dg_error_set(err, DG_ENOMEM, "out of memory compiling regex");
done:
    dg_regex_free(re);
    dg_buf_free(&main_buf);
    tr_free(&t);
    return rc;
}

const char *dg_regex_source(const dg_regex *re)
{
    return re->source;
}

/* ---- matching --------------------------------------------------------- */

/* A lookaround's result depends only on (lookaround, position), so results
 * are remembered for the current search: backtracking over the same position
 * does not re-run the sub-match. */
#define RX_MEMO 256u

typedef struct rx_memo {
    uint32_t gen, k;
    size_t pos;
    int result;
} rx_memo;

/* Per-search state of the lookaround emulation (callout data). */
typedef struct rx_emu {
    const dg_regex *re;
    const char *s;
    size_t n;
    char *rev;           /* reversed subject, built on first need */
    size_t rev_cap;
    int rev_ready;
    unsigned calls, depth;
    uint32_t gen;        /* search generation, tags valid memo entries */
    rx_memo memo[RX_MEMO];
    pcre2_match_data *md[RX_EMU_DEPTH + 1];
    pcre2_match_context *subctx;
} rx_emu;

/* Thread-local matching state: match data sized for the largest pattern
 * seen, the match context with the limits and a JIT stack. */
typedef struct rx_tls {
    pcre2_match_data *md;
    uint32_t md_pairs;
    pcre2_match_context *ctx;
    pcre2_jit_stack *jit_stack;
    rx_emu emu;
} rx_tls;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_key_ok;

static void tls_free(void *p)
{
    rx_tls *t = p;
    if (!t)
        return;
    pcre2_match_data_free(t->md);
    pcre2_match_context_free(t->ctx);
    pcre2_jit_stack_free(t->jit_stack);
    for (unsigned k = 0; k <= RX_EMU_DEPTH; k++)
        pcre2_match_data_free(t->emu.md[k]);
    pcre2_match_context_free(t->emu.subctx);
    free(t->emu.rev);
    free(t);
}

static void tls_init_key(void)
{
    tls_key_ok = pthread_key_create(&tls_key, tls_free) == 0;
}

static int rx_callout(pcre2_callout_block *cb, void *data);

static pcre2_match_context *new_ctx(uint32_t match_limit, rx_emu *emu)
{
    pcre2_match_context *c = pcre2_match_context_create(NULL);
    if (!c)
        return NULL;
    pcre2_set_match_limit(c, match_limit);
    pcre2_set_depth_limit(c, RX_DEPTH_LIMIT);
    pcre2_set_heap_limit(c, RX_HEAP_LIMIT_KIB);
    pcre2_set_callout(c, rx_callout, emu);
    return c;
}

static rx_tls *tls_get(void)
{
    pthread_once(&tls_once, tls_init_key);
    if (!tls_key_ok)
        return NULL;
    rx_tls *t = pthread_getspecific(tls_key);
    if (t)
        return t;
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ctx = new_ctx(RX_MATCH_LIMIT, &t->emu);
    t->emu.subctx = new_ctx(RX_SUB_MATCH_LIMIT, &t->emu);
    if (!t->ctx || !t->emu.subctx || pthread_setspecific(tls_key, t) != 0) {
        tls_free(t);
        return NULL;
    }
    /* Without a JIT stack PCRE2 uses 32 KiB of machine stack; give the main
     * match more. Sub-matches (callouts) nest, so they keep the default. */
    t->jit_stack = pcre2_jit_stack_create(32 * 1024, RX_JIT_STACK_MAX, NULL);
    if (t->jit_stack)
        pcre2_jit_stack_assign(t->ctx, NULL, t->jit_stack);
    return t;
}

static int build_reversed(rx_emu *e)
{
    if (e->rev_cap < e->n + 1) {
        char *r = realloc(e->rev, e->n + 1);
        if (!r)
            return -1;
        e->rev = r, e->rev_cap = e->n + 1;
    }
    /* Code points keep their byte order, so offsets map as n - pos. */
    for (size_t i = 0; i < e->n;) {
        size_t l = 1;
        unsigned char c = (unsigned char)e->s[i];
        if (c >= 0xF0)
            l = 4;
        else if (c >= 0xE0)
            l = 3;
        else if (c >= 0xC0)
            l = 2;
        if (i + l > e->n)
            l = e->n - i;
        memcpy(e->rev + (e->n - i - l), e->s + i, l);
        i += l;
    }
    e->rev[e->n] = '\0';
    e->rev_ready = 1;
    return 0;
}

static int rx_callout(pcre2_callout_block *cb, void *data)
{
    rx_emu *e = data;
    uint32_t k = cb->callout_number;
    if (!e->re || k == 0 || k > e->re->nsubs)
        return 0;
    const rx_sub *sub = &e->re->subs[k - 1];
    size_t pos = cb->current_position;
    if (e->rev_ready && cb->subject == (PCRE2_SPTR)e->rev && e->rev != e->s)
        pos = e->n - pos;
    rx_memo *m = &e->memo[(pos * 31u + k) % RX_MEMO];
    if (m->gen == e->gen && m->k == k && m->pos == pos)
        return m->result;
    if (++e->calls > RX_EMU_CALLS)
        return PCRE2_ERROR_MATCHLIMIT;
    if (e->depth >= RX_EMU_DEPTH)
        return PCRE2_ERROR_DEPTHLIMIT;
    const char *subj = e->s;
    size_t at = pos;
    if (sub->reverse) {
        if (!e->rev_ready && build_reversed(e) < 0)
            return PCRE2_ERROR_NOMEMORY;
        subj = e->rev;
        at = e->n - pos;
    }
    if (!e->md[e->depth] && !(e->md[e->depth] = pcre2_match_data_create(1, NULL)))
        return PCRE2_ERROR_NOMEMORY;
    pcre2_match_data *md = e->md[e->depth++];
    int rc = pcre2_match(sub->code, (PCRE2_SPTR)subj, e->n, at, PCRE2_NO_UTF_CHECK, md,
                         e->subctx);
    e->depth--;
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
        return rc;
    /* m may have been reused by a nested callout; it is simply overwritten. */
    *m = (rx_memo){e->gen, k, pos, (rc >= 0) == (sub->negate != 0)};
    return m->result;
}

int dg_regex_search(const dg_regex *re, const char *s, size_t n)
{
    rx_tls *t = tls_get();
    if (!t)
        return DG_ENOMEM;
    if (!s)
        s = "";
    if (!t->md || t->md_pairs < re->pairs) {
        pcre2_match_data *md = pcre2_match_data_create(re->pairs, NULL);
        if (!md)
            return DG_ENOMEM;
        pcre2_match_data_free(t->md);
        t->md = md, t->md_pairs = re->pairs;
    }
    rx_emu *e = &t->emu;
    e->re = re, e->s = s, e->n = n, e->rev_ready = 0, e->calls = 0, e->depth = 0;
    if (re->nsubs && ++e->gen == 0) {
        memset(e->memo, 0, sizeof e->memo);
        e->gen = 1;
    }
    int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, t->md, t->ctx);
    e->re = NULL;
    if (rc >= 0)
        return 1;
    switch (rc) {
    case PCRE2_ERROR_NOMATCH:
        return 0;
    case PCRE2_ERROR_MATCHLIMIT:
    case PCRE2_ERROR_DEPTHLIMIT:
    case PCRE2_ERROR_HEAPLIMIT:
    case PCRE2_ERROR_JIT_STACKLIMIT:
        return DG_ELIMIT;
    case PCRE2_ERROR_NOMEMORY:
        return DG_ENOMEM;
    default:
        return DG_EINVAL;
    }
}
