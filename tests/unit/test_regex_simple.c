/* The one-pass pattern matcher must agree with the PCRE2 path on every
 * pattern it accepts, and must refuse the patterns it cannot do exactly. */
#include <criterion/criterion.h>
#include <string.h>

#include "validate/regex.h"
#include "validate/regex_simple.h"

static const char *accepted[] = {
    "^[A-Z]{3}$", "^ORD-[0-9]{8}$", "^[a-z0-9-]{1,32}$", "^\\d{4}-\\d{2}-\\d{2}$",
    "^[0-9a-f]{32}$", "^\\w+$", "^[A-Z]{2}\\d*$", "^[+]?[0-9]{6,15}$", "^a?b$",
    "^[A-Za-z_][A-Za-z0-9_]{0,63}$", "^\\$[a-z]+$", "^x{2,}$", NULL};

static const char *refused[] = {
    "[A-Z]{3}",           /* unanchored */
    "^[a-z]*[a-z]$",      /* a greedy item overlapping what follows needs backtracking */
    "^[^a-z]+$",          /* negated class: non-ASCII would match */
    "^(ab)+$",            /* groups */
    "^a|b$",              /* alternation */
    "^.{3}$",             /* dot */
    "^é+$",               /* non-ASCII literal */
    "^[a-z]+?$",          /* lazy quantifier */
    "^\\s+$",             /* ECMA whitespace is not ASCII-only */
    NULL};

static const char *subjects[] = {
    "", "A", "EUR", "EURO", "eur", "ORD-12345678", "ORD-1234567", "ord-12345678", "abc-123",
    "a", "-", "2024-01-31", "2024-1-31", "0123456789abcdef0123456789abcdef", "abc_DEF9",
    "AB", "AB123", "+123456", "123456789012345", "1234567890123456", "b", "ab", "aab",
    "_x", "9abc", "$abc", "$", "xx", "x", "xxxxx", "EU\xc3\xa9", "\xc3\xa9t\xc3\xa9", "EUR\n", NULL};

Test(regex_simple, agrees_with_pcre2_on_accepted_patterns)
{
    for (int i = 0; accepted[i]; i++) {
        dg_simple_re s;
        cr_assert_eq(dg_simple_re_compile(accepted[i], strlen(accepted[i]), &s), 0, "%s", accepted[i]);
        dg_regex *re = NULL;
        dg_error err;
        cr_assert_eq(dg_regex_compile(accepted[i], strlen(accepted[i]), &re, &err), 0, "%s", accepted[i]);
        for (int k = 0; subjects[k]; k++) {
            int a = dg_simple_re_match(&s, subjects[k], strlen(subjects[k]));
            int b = dg_regex_search(re, subjects[k], strlen(subjects[k]));
            cr_assert_eq(a, b, "pattern %s on \"%s\": simple %d, pcre2 %d", accepted[i], subjects[k], a, b);
        }
        dg_regex_free(re);
    }
}

Test(regex_simple, refuses_what_one_pass_cannot_match_exactly)
{
    for (int i = 0; refused[i]; i++) {
        dg_simple_re s;
        cr_assert_eq(dg_simple_re_compile(refused[i], strlen(refused[i]), &s), -1, "%s", refused[i]);
    }
}
