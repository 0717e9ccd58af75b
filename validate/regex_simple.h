/* validate/regex_simple.h (private): a backtracking-free matcher for the
 * anchored character-class patterns that dominate API specs
 * ("^[A-Z]{3}$", "^ORD-[0-9]{8}$", "^[a-z0-9-]{1,32}$", "^\\d{4}$").
 *
 * dg_simple_re_compile accepts only patterns it can match exactly like
 * ECMA-262 would, with one greedy pass: fully anchored (^...$), a sequence
 * of ASCII literals, ASCII classes (no negation), \d and \w with the usual
 * quantifiers, where every variable-length item is disjoint from what can
 * follow it. Anything else returns -1 and the caller uses PCRE2. Immutable
 * after compile; thread-safe. */
#ifndef DG_VALIDATE_REGEX_SIMPLE_H
#define DG_VALIDATE_REGEX_SIMPLE_H

#include <stddef.h>
#include <stdint.h>

#define DG_SIMPLE_RE_MAX 16

typedef struct dg_simple_re {
    uint32_t n;
    struct {
        uint64_t set[2];    /* ASCII bitmap */
        uint32_t min, max;  /* max UINT32_MAX = unbounded */
    } item[DG_SIMPLE_RE_MAX];
} dg_simple_re;

/* 0 when the pattern is in the simple class (re filled), -1 otherwise. */
int dg_simple_re_compile(const char *p, size_t len, dg_simple_re *re);

/* 1 match, 0 no match (s: n bytes of valid UTF-8). */
int dg_simple_re_match(const dg_simple_re *re, const char *s, size_t n);

#endif
