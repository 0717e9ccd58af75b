/* Unit tests for validate/regex.c: the JSON-Schema-Test-Suite regex files
 * (data-driven) and one test per ECMA-262 -> PCRE2 translation rule. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "suite_cases.h"
#include "validate/regex.h"


static dg_regex *compile_ok(const char *pat)
{
    dg_regex *re = NULL;
    dg_error err;
    int rc = dg_regex_compile(pat, strlen(pat), &re, &err);
    cr_assert_eq(rc, 0, "/%s/ should compile: %s", pat, err.msg);
    return re;
}

/* 1 match, 0 no match, <0 error; compiles pat each time. */
static int search(const char *pat, const char *s)
{
    dg_regex *re = compile_ok(pat);
    int rc = dg_regex_search(re, s, strlen(s));
    dg_regex_free(re);
    return rc;
}

static int compiles(const char *pat)
{
    dg_regex *re = NULL;
    int rc = dg_regex_compile(pat, strlen(pat), &re, NULL);
    dg_regex_free(re);
    return rc == 0;
}

static void invalid_at(const char *pat, size_t offset)
{
    dg_regex *re = NULL;
    dg_error err;
    int rc = dg_regex_compile(pat, strlen(pat), &re, &err);
    cr_assert_eq(rc, DG_ESPEC, "/%s/ should be invalid", pat);
    cr_assert_null(re);
    char want[64];
    snprintf(want, sizeof want, "at offset %zu:", offset);
    cr_assert(strstr(err.msg, want), "/%s/: message '%s' lacks '%s'", pat, err.msg, want);
}

/* ---- the suite ----------------------------------------------------------- */

/* Runs every case of a suite file that exercises the regex dialect:
 *   schema.pattern + string data          -> valid == search matches
 *   schema.format "regex" + string data   -> valid == compiles
 *   schema.patternProperties with additionalProperties false + object data
 *                                         -> valid == every key matches some pattern
 * Other cases (type checks, patternProperties sub-schemas) are not about
 * the regex module and are skipped. */
/* A regex case: pattern, format "regex", or closed patternProperties. */
static int judge_regex(json_t *g, json_t *tc)
{
    json_t *schema = json_object_get(g, "schema");
    json_t *pat = json_object_get(schema, "pattern");
    json_t *fmt = json_object_get(schema, "format");
    json_t *pp = json_object_get(schema, "patternProperties");
    int closed = json_is_false(json_object_get(schema, "additionalProperties"));
    json_t *data = json_object_get(tc, "data");
    int got;
    if (json_is_string(pat) && json_is_string(data)) {
        dg_regex *re = compile_ok(json_string_value(pat));
        got = dg_regex_search(re, json_string_value(data), json_string_length(data));
        dg_regex_free(re);
    } else if (json_is_string(fmt) && !strcmp(json_string_value(fmt), "regex") &&
               json_is_string(data)) {
        dg_regex *re = NULL;
        got = dg_regex_compile(json_string_value(data), json_string_length(data), &re,
                               NULL) == 0;
        dg_regex_free(re);
    } else if (json_is_object(pp) && closed && json_is_object(data)) {
        const char *key, *pk;
        json_t *v, *pv;
        got = 1;
        json_object_foreach(data, key, v) {
            int any = 0;
            json_object_foreach(pp, pk, pv) {
                dg_regex *re = compile_ok(pk);
                any |= dg_regex_search(re, key, strlen(key)) == 1;
                dg_regex_free(re);
            }
            got &= any;
        }
    } else {
        return -1;
    }
    return got;
}

Test(regex, json_schema_test_suite_regex_cases_pass)
{
    static const char *const files[] = {
        "draft2020-12/optional/ecmascript-regex.json",
        "draft4/optional/ecmascript-regex.json",
        "draft2020-12/optional/format/ecmascript-regex.json",
        "draft2020-12/optional/format/regex.json",
        "draft2020-12/optional/non-bmp-regex.json",
        "draft2020-12/pattern.json",
    };
    int cases = 0;
    int failures = suite_run_files(files, sizeof files / sizeof files[0], judge_regex, &cases);
    cr_assert_gt(cases, 170, "only %d suite cases ran", cases);
    cr_assert_eq(failures, 0, "%d of %d suite cases failed", failures, cases);
}

/* ---- translation rules --------------------------------------------------- */

Test(regex, search_is_unanchored)
{
    cr_assert_eq(search("b+", "abbbc"), 1);
    cr_assert_eq(search("^b", "ab"), 0);
    cr_assert_eq(search("", "anything"), 1);
}

Test(regex, dollar_matches_only_at_the_very_end)
{
    cr_assert_eq(search("^abc$", "abc"), 1);
    cr_assert_eq(search("^abc$", "abc\n"), 0);
    cr_assert_eq(search("c$", "abc\n"), 0);
}

Test(regex, dot_excludes_only_ecma_line_terminators)
{
    cr_assert_eq(search("^.$", "\n"), 0);
    cr_assert_eq(search("^.$", "\r"), 0);
    cr_assert_eq(search("^.$", "\xe2\x80\xa8"), 0);  /* U+2028 */
    cr_assert_eq(search("^.$", "\xe2\x80\xa9"), 0);  /* U+2029 */
    cr_assert_eq(search("^.$", "\x0b"), 1);
    cr_assert_eq(search("^.$", "\xc2\x85"), 1);      /* NEL is not a terminator */
    cr_assert_eq(search("^.$", "\xf0\x9f\x98\x80"), 1, "one code point");
}

Test(regex, digit_and_word_escapes_are_ascii)
{
    cr_assert_eq(search("^\\d$", "7"), 1);
    cr_assert_eq(search("^\\d$", "\xd9\xa3"), 0);    /* ARABIC-INDIC THREE */
    cr_assert_eq(search("^\\D$", "\xd9\xa3"), 1);
    cr_assert_eq(search("^\\w+$", "a_Z9"), 1);
    cr_assert_eq(search("^\\w$", "\xc3\xa9"), 0);
    cr_assert_eq(search("^\\W$", "\xc3\xa9"), 1);
    cr_assert_eq(search("\\bcole", "\xc3\xa9" "cole"), 1, "\\b is ASCII: é is not a word char");
    cr_assert_eq(search("a\\B", "ab"), 1);
}

Test(regex, space_escape_is_the_ecma_whitespace_set)
{
    static const char *const ws[] = {" ", "\t", "\n", "\x0b", "\x0c", "\r",
                                     "\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\x80",
                                     "\xe2\x80\x8a", "\xe2\x80\xa8", "\xe2\x80\xa9",
                                     "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80",
                                     "\xef\xbb\xbf"};
    for (size_t k = 0; k < sizeof ws / sizeof ws[0]; k++) {
        cr_assert_eq(search("^\\s$", ws[k]), 1, "case %zu", k);
        cr_assert_eq(search("^\\S$", ws[k]), 0, "case %zu", k);
        cr_assert_eq(search("^[\\s]$", ws[k]), 1, "class, case %zu", k);
        cr_assert_eq(search("^[^\\s]$", ws[k]), 0, "negated class, case %zu", k);
    }
    cr_assert_eq(search("^\\s$", "\xc2\x85"), 0, "NEL is not ECMA whitespace");
    cr_assert_eq(search("^\\s$", "\xe2\x80\x8b"), 0, "ZWSP is not whitespace");
    cr_assert_eq(search("^\\S$", "\x01"), 1);
}

Test(regex, class_escapes_inside_classes)
{
    cr_assert_eq(search("^[\\d_]+$", "12_3"), 1);
    cr_assert_eq(search("^[\\D]$", "x"), 1);
    cr_assert_eq(search("^[\\D]$", "5"), 0);
    cr_assert_eq(search("^[\\W\\d]+$", "-5 "), 1);
    cr_assert_eq(search("^[^\\W]$", "a"), 1);
    cr_assert_eq(search("^[^\\W]$", "-"), 0);
    cr_assert_eq(search("^[\\S]$", "\xe3\x80\x80"), 0);
    cr_assert_eq(search("^[\\b]$", "\b"), 1, "\\b in a class is backspace");
    cr_assert_eq(search("^[\\-a]+$", "-a"), 1);
    cr_assert_eq(search("^[\\p{Lu}\\d]+$", "A1\xc3\x89"), 1);
    cr_assert_not(compiles("[\\d-z]"), "class escape as a range bound");
    cr_assert_not(compiles("[z-a]"), "range out of order");
}

Test(regex, empty_classes)
{
    cr_assert_eq(search("[]", "abc"), 0);
    cr_assert_eq(search("^[^]$", "\n"), 1);
    cr_assert_eq(search("^a[]*b$", "ab"), 1);
}

Test(regex, control_escapes)
{
    cr_assert_eq(search("^\\cJ$", "\n"), 1);
    cr_assert_eq(search("^\\cj$", "\n"), 1);
    cr_assert_eq(search("^[\\cA-\\cC]$", "\x02"), 1);
    cr_assert_eq(search("^\\t\\n\\v\\f\\r$", "\t\n\v\f\r"), 1);
    dg_regex *re = compile_ok("^a\\0b$");
    cr_assert_eq(dg_regex_search(re, "a\0b", 3), 1);
    dg_regex_free(re);
    cr_assert_not(compiles("\\c1"));
    cr_assert_not(compiles("\\c"));
    cr_assert_not(compiles("\\01"), "octal escapes are not unicode-mode syntax");
}

Test(regex, unicode_escapes_and_surrogate_pairs)
{
    cr_assert_eq(search("^\\u0041$", "A"), 1);
    cr_assert_eq(search("^\\u00e9$", "\xc3\xa9"), 1);
    cr_assert_eq(search("^\\u{1F600}$", "\xf0\x9f\x98\x80"), 1);
    cr_assert_eq(search("^\\u{0000041}$", "A"), 1, "leading zeros allowed");
    cr_assert_eq(search("^\\uD83D\\uDE00$", "\xf0\x9f\x98\x80"), 1, "pair is one code point");
    cr_assert_eq(search("^[\\uD83D\\uDE00-\\uD83D\\uDE4F]$", "\xf0\x9f\x98\x8a"), 1);
    cr_assert_eq(search("\\uD83D", "\xf0\x9f\x98\x80"), 0, "lone surrogate never matches");
    cr_assert_eq(search("^\\x41\\x4a$", "AJ"), 1);
    cr_assert_not(compiles("\\u{110000}"));
    cr_assert_not(compiles("\\u12"));
    cr_assert_not(compiles("\\x4"));
}

Test(regex, identity_escapes_only_for_syntax_characters)
{
    cr_assert_eq(search("^\\/\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\$", "/.*+?()[]{}|^$\\"), 1);
    static const char *const bad[] = {"\\a", "\\z", "\\Z", "\\A", "\\e", "\\-", "\\_", "\\ ",
                                      "\\G", "\\K", "\\Q", "\\R", "\\h", "\\X", "\\y"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        cr_assert_not(compiles(bad[k]), "%s must be rejected", bad[k]);
    cr_assert_not(compiles("^\\S(|(.|\\n)*\\S)\\Z"));
}

Test(regex, pcre_only_syntax_is_rejected)
{
    static const char *const bad[] = {
        "(?i)abc", "(?ims)abc", "(?#c)a", "(?>a)", "(?|a)", "(?P<n>a)", "(?P=n)",
        "(?R)", "(?1)", "a++", "a*+", "a{2}+", "[[:alpha:]]", "(*FAIL)", "\\g1",
        "a{", "a{1", "a{,2}", "}", "]", "x{2,1}", "*a", "a|*", "(?=a)*", "(?<=a)+", "\\b*",
        "^*",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        cr_assert_not(compiles(bad[k]), "/%s/ must be rejected", bad[k]);
    /* No POSIX classes: [[:a] is a plain class, and the ']' after it is a
     * lone bracket. */
    cr_assert_eq(search("^[[:a]$", ":"), 1);
    cr_assert_eq(search("^[[:a]$", "b"), 0);
}

Test(regex, named_groups_and_backreferences)
{
    cr_assert_eq(search("^(?<year>\\d{4})-\\k<year>$", "2024-2024"), 1);
    cr_assert_eq(search("^(?<year>\\d{4})-\\k<year>$", "2024-2025"), 0);
    cr_assert_eq(search("^(a)(b)\\2\\1$", "abba"), 1);
    cr_assert_eq(search("^\\1(a)$", "a"), 1, "forward reference matches empty");
    cr_assert_eq(search("^(?:(a)|b)\\1c$", "bc"), 1, "unset group matches empty");
    cr_assert_eq(search("^(?<$\\u0061_>x)\\k<$a_>$", "xx"), 1, "\\u escapes in names");
    cr_assert_eq(search("^(?<\xc3\xa9>x)\\k<\xc3\xa9>$", "xx"), 1, "Unicode names");
    cr_assert_not(compiles("(a)\\2"), "group 2 does not exist");
    cr_assert_not(compiles("\\k<n>"));
    cr_assert_not(compiles("(?<n>a)\\k<m>"));
    cr_assert_not(compiles("(?<n>a)(?<n>b)"), "duplicate names");
    cr_assert_not(compiles("(?<1a>x)"));
    cr_assert_not(compiles("(?<>x)"));
    cr_assert_not(compiles("\\k"));
}

Test(regex, modifier_groups)
{
    cr_assert_eq(search("^(?i:ab)c$", "ABc"), 1);
    cr_assert_eq(search("^(?i:ab)c$", "ABC"), 0);
    cr_assert_eq(search("^(?i:a(?-i:b))$", "Ab"), 1);
    cr_assert_eq(search("^(?i:a(?-i:b))$", "AB"), 0);
    cr_assert_eq(search("(?m:^b$)", "a\nb\nc"), 1);
    cr_assert_eq(search("(?m:^b$)", "a\xe2\x80\xa8" "b"), 1, "U+2028 is a line terminator");
    cr_assert_eq(search("^b$", "a\nb\nc"), 0);
    cr_assert_eq(search("^(?s:a.b)$", "a\nb"), 1);
    cr_assert_eq(search("^a.b$", "a\nb"), 0);
    cr_assert_not(compiles("(?ii:a)"));
    cr_assert_not(compiles("(?i-i:a)"));
    cr_assert_not(compiles("(?-:a)"));
    cr_assert_not(compiles("(?x:a)"));
}

Test(regex, unicode_property_escapes)
{
    cr_assert_eq(search("^\\p{L}+$", "\xcf\x80" "a"), 1);
    cr_assert_eq(search("^\\p{Letter}+$", "\xcf\x80" "a"), 1);
    cr_assert_eq(search("^\\p{General_Category=Lowercase_Letter}+$", "ab"), 1);
    cr_assert_eq(search("^\\p{gc=Lu}$", "a"), 0);
    cr_assert_eq(search("^\\p{digit}+$", "\xe0\xa7\xaa"), 1);
    cr_assert_eq(search("^\\p{Script=Greek}+$", "\xce\xb1\xce\xb2"), 1);
    cr_assert_eq(search("^\\p{sc=Grek}$", "a"), 0);
    cr_assert_eq(search("^\\p{scx=Hira}$", "\xe3\x81\x82"), 1);
    cr_assert_eq(search("^\\p{ASCII_Hex_Digit}+$", "c0ffee"), 1);
    cr_assert_eq(search("^\\p{Any}$", "\xf0\x9f\x98\x80"), 1);
    cr_assert_eq(search("^\\p{Assigned}$", "a"), 1);
    cr_assert_eq(search("^\\P{Assigned}$", "a"), 0);
    cr_assert_eq(search("^\\P{L}$", "1"), 1);
    cr_assert_not(compiles("\\p{letter}"), "names are case-sensitive");
    cr_assert_not(compiles("\\p{Lowercase_Letter=x}"));
    cr_assert_not(compiles("\\p{sc=greek}"));
    cr_assert_not(compiles("\\p{RGI_Emoji}"), "v-flag only");
    cr_assert_not(compiles("\\p"));
    cr_assert_not(compiles("\\pL"));
    invalid_at("ab\\p{sc=Nosuchscript}", 2);
}

Test(regex, lookahead_does_not_break_start_optimization)
{
    /* PCRE2 10.42 start-of-match optimizations lose this match. */
    cr_assert_eq(search("(?=a)[^a]?a", "xca"), 1);
    cr_assert_eq(search("(?=a)(?:b?|c)?a", "xca"), 1);
    cr_assert_eq(search("(?m:x$)[^a]?a", "x\na"), 1);
}

Test(regex, fixed_length_lookbehind)
{
    cr_assert_eq(search("(?<=\\$)\\d+", "cost: $42"), 1);
    cr_assert_eq(search("(?<!\\$)\\b\\d+", "$42"), 0);
    cr_assert_eq(search("(?<=^|,)x", ",x"), 1);
}

Test(regex, variable_length_lookbehind_is_emulated)
{
    cr_assert_eq(search("(?<=a+)b", "aaab"), 1);
    cr_assert_eq(search("(?<=a+)b", "b"), 0);
    cr_assert_eq(search("(?<!a+)b", "xb"), 1);
    cr_assert_eq(search("(?<!a+)b", "ab"), 0);
    cr_assert_eq(search("(?<=^\\d+)x", "123x"), 1);
    cr_assert_eq(search("(?<=^\\d+)x", "a123x"), 0);
    /* Bodies run right to left: greedy \d+ backtracks until (?!9) holds. */
    cr_assert_eq(search("(?<=(?!9)\\d+)z", "923z"), 1);
    cr_assert_eq(search("(?<=(?!9)\\d+)z", "9z"), 0);
    /* Nested lookarounds and non-BMP text. */
    cr_assert_eq(search("(?<=(?<=x)a+)b", "xaab"), 1);
    cr_assert_eq(search("(?<=(?<=x)a+)b", "yaab"), 0);
    cr_assert_eq(search("(?<=\xc3\xa9+)\xc3\xbc", "\xc3\xa9\xc3\xa9\xc3\xbc"), 1);
    cr_assert_eq(search("(?<=(?i:A+))b", "aab"), 1);
    cr_assert_eq(search("(?m:(?<=^a+)b)", "x\naab"), 1);
    /* A backreference inside the body sees captures made right of it. */
    cr_assert_eq(search("(?<=(\\d+)-\\1)z", "12-z"), 1);
    cr_assert_not(compiles("(a)(?<=\\1+)b"), "backreference across an emulated lookbehind");
}

Test(regex, catastrophic_backtracking_hits_the_limit)
{
    dg_regex *re = compile_ok("(a+)+$");
    const char *s = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!";
    cr_assert_eq(dg_regex_search(re, s, strlen(s)), DG_ELIMIT);
    cr_assert_eq(dg_regex_search(re, "aaa", 3), 1, "the regex stays usable");
    dg_regex_free(re);
    /* The subject contains the required 'b', so PCRE2 cannot fail early. */
    re = compile_ok("^(a|a)*b");
    const char *t = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!b";
    cr_assert_eq(dg_regex_search(re, t, strlen(t)), DG_ELIMIT);
    dg_regex_free(re);
}

Test(regex, emulated_lookbehind_hits_the_limit)
{
    dg_regex *re = compile_ok("(?<=x(a+)+)b");
    char s[64];
    s[0] = 'x', s[1] = 'z';  /* an 'x', but not right before the a's */
    memset(s + 2, 'a', 40);
    s[42] = 'b';
    s[43] = '\0';
    cr_assert_eq(dg_regex_search(re, s, strlen(s)), DG_ELIMIT);
    cr_assert_eq(dg_regex_search(re, "xaab", 4), 1);
    dg_regex_free(re);
}

Test(regex, errors_name_the_offset)
{
    invalid_at("abc(", 3);
    invalid_at("ab)", 2);
    invalid_at("a{2,1}", 1);
    invalid_at("xx\\a", 2);
    invalid_at("[abc", 0);
    invalid_at("a**", 2);
    invalid_at("(?<n>a)\\k<m>", 7);
    invalid_at("x{70000}", 1);
    invalid_at("a\xff", 1);
}

Test(regex, source_is_kept)
{
    dg_regex *re = compile_ok("^[a-z]+$");
    cr_assert_str_eq(dg_regex_source(re), "^[a-z]+$");
    dg_regex_free(re);
    dg_regex_free(NULL);
}

Test(regex, match_data_grows_with_the_largest_pattern)
{
    dg_regex *small = compile_ok("a");
    dg_regex *big = compile_ok("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)(l)\\12");
    cr_assert_eq(dg_regex_search(small, "a", 1), 1);
    cr_assert_eq(dg_regex_search(big, "abcdefghijkll", 13), 1);
    cr_assert_eq(dg_regex_search(small, "b", 1), 0);
    dg_regex_free(small);
    dg_regex_free(big);
}

static void *search_thread(void *arg)
{
    const dg_regex *re = arg;
    long hits = 0;
    for (int k = 0; k < 2000; k++)
        hits += dg_regex_search(re, "id-12345-x", 10) == 1 && dg_regex_search(re, "id-x", 4) == 0;
    return (void *)hits;
}

Test(regex, compiled_regex_is_shared_between_threads)
{
    dg_regex *re = compile_ok("^id-(?<n>\\d+)-\\w$");
    pthread_t th[4];
    for (int k = 0; k < 4; k++)
        cr_assert_eq(pthread_create(&th[k], NULL, search_thread, re), 0);
    for (int k = 0; k < 4; k++) {
        void *hits;
        pthread_join(th[k], &hits);
        cr_assert_eq((long)hits, 2000);
    }
    dg_regex_free(re);
}
