/* validate/regex.h: ECMA-262 regular expressions (JSON Schema `pattern`,
 * `patternProperties`, format "regex") on top of PCRE2.
 *
 * Patterns are translated where the dialects differ (\d \w \s and their
 * negations are ASCII/ECMA sets, \s includes the ECMA whitespace set, `$`
 * matches only at the very end (PCRE2_DOLLAR_ENDONLY), `.` excludes only line
 * terminators, \cX, \u{...}/\uXXXX escapes, named groups (?<n>), no
 * possessive/atomic PCRE extensions, forward references), compiled once in
 * UTF mode (JIT when available), and matched unanchored ("search"), as JSON
 * Schema requires. Matching has match and depth limits so that a hostile
 * pattern or input cannot stall a worker: an exceeded limit is reported as
 * DG_ELIMIT, never a hang.
 *
 * A compiled dg_regex is immutable and may be shared between threads; each
 * thread uses its own match data (kept thread-locally). */
#ifndef DG_VALIDATE_REGEX_H
#define DG_VALIDATE_REGEX_H

#include <stddef.h>

#include "common/error.h"

typedef struct dg_regex dg_regex;

/* Compiles an ECMA-262 pattern (UTF-8, len bytes). On failure returns
 * DG_ESPEC with err->msg naming the problem and its offset in the pattern.
 * The caller owns *out. */
int dg_regex_compile(const char *pattern, size_t len, dg_regex **out, dg_error *err);

/* Searches s (n bytes, valid UTF-8). 1 = match, 0 = no match, DG_ELIMIT when
 * the match/depth limit was hit, DG_ENOMEM. */
int dg_regex_search(const dg_regex *re, const char *s, size_t n);

/* The source pattern as given (borrowed). */
const char *dg_regex_source(const dg_regex *re);

void dg_regex_free(dg_regex *re);

#endif
