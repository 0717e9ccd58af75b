/* validate/regex_class.c: the translator's escapes and character classes
 * (see regex.c): character escapes (\cX \xHH \uXXXX \u{...}, surrogate
 * pairs), class escapes (\d \w \s as explicit ECMA sets, \p{...} mapped to
 * PCRE2 property names) and bracket classes [...]. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/text.h"
#include "validate/regex_internal.h"

/* ---- escapes ------------------------------------------------------------ */

static int is_syntax_char(int c)
{
    return c > 0 && strchr("^$\\.*+?()[]{}|/", c) != NULL;
}

/* \uXXXX, \u{X...} after the backslash-u (t->pos at the 'u'); surrogate
 * pairs written as two \u escapes are combined into one code point. */
int dg_regex__parse_u_escape(rx_tr *t, uint32_t *cp)
{
    size_t start = t->pos - 1;
    t->pos++;  /* 'u' */
    if (peek(t) == '{') {
        uint32_t v = 0;
        size_t ndig = 0;
        t->pos++;
        while (dg_hexval(peek(t)) >= 0) {
            v = v * 16 + (uint32_t)dg_hexval(peek(t));
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
        int h = dg_hexval(peek(t));
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
            int h = dg_hexval((unsigned char)t->src[t->pos + 2 + (size_t)k]);
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
int dg_regex__char_escape(rx_tr *t, uint32_t *cp)
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
        int h1 = t->pos + 1 < t->len ? dg_hexval((unsigned char)t->src[t->pos + 1]) : -1;
        int h2 = t->pos + 2 < t->len ? dg_hexval((unsigned char)t->src[t->pos + 2]) : -1;
        if (h1 < 0 || h2 < 0)
            return fail(t, start, "\\x must be followed by two hex digits");
        *cp = (uint32_t)(h1 * 16 + h2);
        t->pos += 3;
        return 1;
    }
    case 'u':
        return dg_regex__parse_u_escape(t, cp) < 0 ? -1 : 1;
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
int dg_regex__class_escape(rx_tr *t, rx_set *set)
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

void dg_regex__put_set(rx_tr *t, const rx_set *set)
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
    int r = dg_regex__class_escape(t, &a->set);
    if (r < 0)
        return -1;
    if (r) {
        a->is_set = 1;
        return 0;
    }
    r = dg_regex__char_escape(t, &a->cp);
    if (r < 0)
        return -1;
    if (!r)
        return fail(t, start, "invalid escape \\%c in character class",
                    c > ' ' && c < 127 ? c : '?');
    return 0;
}

int dg_regex__parse_class(rx_tr *t)
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
