/* validate/regex_translate.c: the ECMA-262 grammar of the translator (see
 * regex.c): a recursive-descent parser over Disjunction / Alternative / Term
 * that checks the early errors and emits the PCRE2 pattern: groups and
 * names, backreferences, quantifiers, ^ $ . and lookarounds (native, or
 * emulated sub-patterns reached by callouts). Escapes and classes are in
 * regex_class.c. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/regex_internal.h"

/* ---- groups, names, backreferences ------------------------------------ */

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
            if (dg_regex__parse_u_escape(t, &cp) < 0)
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

/* Capturing group number g (named or not): emitted as (?<gN>...). */
static int capture_body(rx_tr *t, size_t start, unsigned g)
{
    if (t->group_scope)
        t->group_scope[g] = t->scope;
    putf(t, "(?<g%u>", g);
    if (parse_disjunction(t) < 0)
        return -1;
    return close_paren(t, start);
}

static int parse_group(rx_tr *t)
{
    size_t start = t->pos;
    t->pos++;
    if (peek(t) != '?') {
        if (enter(t, start) < 0)
            return -1;
        return capture_body(t, start, ++t->ngroups);
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
        return capture_body(t, start, g);
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
    int r = dg_regex__class_escape(t, &set);
    if (r < 0)
        return -1;
    if (r) {
        dg_regex__put_set(t, &set);
        return 1;
    }
    uint32_t cp;
    r = dg_regex__char_escape(t, &cp);
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
        if (dg_regex__parse_class(t) < 0)
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

int dg_regex__parse_pattern(rx_tr *t)
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

void dg_regex__tr_reset_pass2(rx_tr *t)
{
    for (unsigned k = 0; k < t->nsubs; k++)
        dg_buf_free(&t->subs[k].pat);
    t->nsubs = 0;
    t->nrefs = 0;
    t->nmap = 0;
}

void dg_regex__tr_free(rx_tr *t)
{
    dg_regex__tr_reset_pass2(t);
    for (size_t k = 0; k < t->nnames; k++)
        free(t->names[k].s);
    free(t->names);
    free(t->subs);
    free(t->refs);
    free(t->map);
    free(t->group_scope);
}
