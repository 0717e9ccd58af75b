/* validate/regex_internal.h (private): the ECMA-262 -> PCRE2 translator's
 * state and the small emit/scan helpers, shared by regex.c (compile, match),
 * regex_translate.c (the grammar: groups, names, quantifiers, assertions) and
 * regex_class.c (escapes and character classes). regex.c's top comment
 * describes the translation. */
#ifndef DG_VALIDATE_REGEX_INTERNAL_H
#define DG_VALIDATE_REGEX_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/buf.h"

/* Translation limits. RX_EMU_DEPTH bounds the nesting of emulated
 * lookarounds (the matcher keeps one match data per level); RX_MAX_NEST the
 * group nesting (PCRE2's parens limit is derived from it). */
#define RX_EMU_DEPTH 16u
#define RX_MAX_NEST 128u
#define RX_MAX_QUANT 65535u
#define RX_MAX_SUBS 255u

enum { F_I = 1, F_M = 2, F_S = 4 };

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
    int emulate;       /* emulation mode (see regex.c) */
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

typedef struct rx_range {
    uint32_t lo, hi;
} rx_range;

/* A CharacterClassEscape: \d \w \s (ranges) or \p{...} (a property). */
typedef struct rx_set {
    const rx_range *r;  /* NULL for a property */
    size_t n;
    int negate;
    char prop[80];      /* PCRE2 property text for \p{...} */
} rx_set;

static inline int fail(rx_tr *t, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline int fail(rx_tr *t, size_t off, const char *fmt, ...)
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

static inline int nomem(rx_tr *t)
{
    t->oom = 1;
    return fail(t, t->pos, "out of memory");
}

static inline void put(rx_tr *t, const char *s)
{
    if (t->out && dg_buf_append(t->out, s, strlen(s)) != 0)
        nomem(t);
}

static inline void putf(rx_tr *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void putf(rx_tr *t, const char *fmt, ...)
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

static inline void put_cp(rx_tr *t, uint32_t cp)
{
    putf(t, "\\x{%x}", (unsigned)cp);
}

/* Decodes one UTF-8 sequence at s[*i]; 0 when malformed. */
static inline int utf8_next(const char *s, size_t len, size_t *i, uint32_t *cp)
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

static inline int peek(const rx_tr *t)
{
    return t->pos < t->len ? (unsigned char)t->src[t->pos] : -1;
}

/* ---- regex_translate.c ---------------------------------------------------- */

/* One translator pass over t->src: pass 1 checks the grammar and collects
 * groups and names, pass 2 emits into t->out (emulate selects the lookbehind
 * emulation). 0, or -1 with t->msg and t->err_off set (t->oom when out of
 * memory). */
int dg_regex__parse_pattern(rx_tr *t);
/* Drops the output of a pass 2 before the next one. */
void dg_regex__tr_reset_pass2(rx_tr *t);
/* Frees what t owns (not t, nor t->out). */
void dg_regex__tr_free(rx_tr *t);

/* ---- regex_class.c -------------------------------------------------------- */

/* \uXXXX or \u{...}, t->pos at the 'u': 0 with *cp set, or -1. */
int dg_regex__parse_u_escape(rx_tr *t, uint32_t *cp);
/* CharacterEscape after the backslash: 1 with *cp set, 0 when the escape is
 * not a character escape, -1 on a syntax error. */
int dg_regex__char_escape(rx_tr *t, uint32_t *cp);
/* CharacterClassEscape (\d \w \s \p{...} and negations) after the
 * backslash: 1 with *set filled, 0 when not one, -1 on a syntax error. */
int dg_regex__class_escape(rx_tr *t, rx_set *set);
/* Emits a class escape as a stand-alone atom. */
void dg_regex__put_set(rx_tr *t, const rx_set *set);
/* A bracket class, t->pos at the '[': 0 or -1. */
int dg_regex__parse_class(rx_tr *t);

#endif
