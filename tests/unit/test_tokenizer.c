/* tests/unit/test_tokenizer.c: the streaming JSON tokenizer (validate/json.h).
 *
 * Events are recorded as a compact text ("{@0 K\"a\"@1 N1/I64=1@5 ...") so
 * that whole-document and chunked runs can be compared as strings. Every
 * chunk is copied into its own exactly-sized allocation, so that a read past
 * a chunk's end shows up under ASan. */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "validate/json.h"

typedef struct rec {
    char *s;
    size_t len, cap;
    int nev;
    int stop_at;        /* return non-zero from the sink at this event (1-based) */
    const char *lo, *hi; /* the current chunk, to tell zero-copy tokens apart */
    int zero_copy, copied;
} rec;

static void rput(rec *r, const char *p, size_t n)
{
    if (r->len + n + 1 > r->cap) {
        r->cap = (r->len + n + 1) * 2;
        r->s = realloc(r->s, r->cap);
        cr_assert_not_null(r->s);
    }
    memcpy(r->s + r->len, p, n);
    r->len += n;
    r->s[r->len] = '\0';
}

static void rprintf(rec *r, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    rput(r, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

static void rbytes(rec *r, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"')
            rput(r, (const char *)&c, 1);
        else
            rprintf(r, "\\x%02X", c);
    }
}

static int rec_sink(void *ctx, dg_json_ev ev, const dg_json_token *tok)
{
    rec *r = ctx;
    r->nev++;
    switch (ev) {
    case DG_EV_OBJ_START: rput(r, "{", 1); break;
    case DG_EV_OBJ_END: rput(r, "}", 1); break;
    case DG_EV_ARR_START: rput(r, "[", 1); break;
    case DG_EV_ARR_END: rput(r, "]", 1); break;
    case DG_EV_TRUE: rput(r, "T", 1); break;
    case DG_EV_FALSE: rput(r, "F", 1); break;
    case DG_EV_NULL: rput(r, "Z", 1); break;
    case DG_EV_KEY:
    case DG_EV_STRING:
        rput(r, ev == DG_EV_KEY ? "K\"" : "S\"", 2);
        rbytes(r, tok->s, tok->len);
        rput(r, "\"", 1);
        if (r->lo && tok->s >= r->lo && tok->s + tok->len <= r->hi)
            r->zero_copy++;
        else
            r->copied++;
        break;
    case DG_EV_NUMBER:
        rput(r, "N", 1);
        rbytes(r, tok->s, tok->len);
        rprintf(r, "/%s%s%s", tok->num_flags & DG_NUM_NEG ? "-" : "",
                tok->num_flags & DG_NUM_FRAC ? "." : "", tok->num_flags & DG_NUM_EXP ? "e" : "");
        if (tok->num_flags & DG_NUM_I64)
            rprintf(r, "I64=%lld", (long long)tok->i);
        break;
    }
    rprintf(r, "@%llu ", (unsigned long long)tok->offset);
    return r->stop_at && r->nev == r->stop_at;
}

typedef struct res {
    int rc;
    dg_error err;
    rec ev;
} res;

static void res_free(res *r)
{
    free(r->ev.s);
    memset(r, 0, sizeof *r);
}

/* Feeds doc cut at the sorted positions cuts[0..ncut) (0 and len allowed,
 * which makes empty feeds), then finishes. */
static void run_cuts(const char *doc, size_t len, const size_t *cuts, size_t ncut,
                     const dg_json_limits *lim, res *out)
{
    memset(out, 0, sizeof *out);
    dg_json_tok *t = dg_json_tok_new(lim, rec_sink, &out->ev);
    cr_assert_not_null(t);
    size_t from = 0;
    for (size_t i = 0; i <= ncut; i++) {
        size_t to = i < ncut ? cuts[i] : len;
        char *piece = malloc(to - from ? to - from : 1);
        cr_assert_not_null(piece);
        memcpy(piece, doc + from, to - from);
        out->ev.lo = piece, out->ev.hi = piece + (to - from);
        out->rc = dg_json_feed(t, piece, to - from, &out->err);
        out->ev.lo = out->ev.hi = NULL;
        free(piece);
        from = to;
        if (out->rc)
            break;
    }
    if (!out->rc)
        out->rc = dg_json_finish(t, &out->err);
    dg_json_tok_free(t);
    if (!out->ev.s)
        rput(&out->ev, "", 0);
}

static void run_whole(const char *doc, size_t len, const dg_json_limits *lim, res *out)
{
    run_cuts(doc, len, NULL, 0, lim, out);
}

static void run_str(const char *doc, res *out)
{
    run_whole(doc, strlen(doc), NULL, out);
}

static void assert_same(const res *a, const res *b, const char *doc, const char *how)
{
    cr_assert_eq(a->rc, b->rc, "%s: rc %d vs %d (doc %s)", how, a->rc, b->rc, doc);
    cr_assert_str_eq(a->ev.s, b->ev.s, "%s: events differ (doc %s)", how, doc);
    if (a->rc) {
        cr_assert_str_eq(a->err.msg, b->err.msg, "%s (doc %s)", how, doc);
        cr_assert_eq(a->err.offset, b->err.offset, "%s (doc %s)", how, doc);
        cr_assert_eq(a->err.line, b->err.line, "%s (doc %s)", how, doc);
        cr_assert_eq(a->err.col, b->err.col, "%s (doc %s)", how, doc);
    }
}

/* Parses doc whole and expects success with exactly these events. */
static void expect_events(const char *doc, const char *events)
{
    res r;
    run_str(doc, &r);
    cr_assert_eq(r.rc, 0, "doc %s: rc %d: %s", doc, r.rc, r.err.msg);
    cr_assert_str_eq(r.ev.s, events, "doc %s", doc);
    res_free(&r);
}

/* Parses doc (length len) whole and expects code, message and offset. */
static void expect_error_n(const char *doc, size_t len, int code, const char *msg, uint64_t off)
{
    res r;
    run_whole(doc, len, NULL, &r);
    cr_assert_eq(r.rc, code, "doc %s: rc %d (%s), want %d", doc, r.rc, r.err.msg, code);
    cr_assert_str_eq(r.err.msg, msg, "doc %s", doc);
    cr_assert_eq(r.err.offset, off, "doc %s: offset %llu, want %llu", doc,
                 (unsigned long long)r.err.offset, (unsigned long long)off);
    cr_assert_eq(r.err.has_offset, 1);
    res_free(&r);
}

static void expect_error(const char *doc, int code, const char *msg, uint64_t off)
{
    expect_error_n(doc, strlen(doc), code, msg, off);
}

static void expect_valid(const char *doc)
{
    res r;
    run_str(doc, &r);
    cr_assert_eq(r.rc, 0, "doc %s: rc %d: %s", doc, r.rc, r.err.msg);
    res_free(&r);
}

static void expect_invalid(const char *doc)
{
    res r;
    run_str(doc, &r);
    cr_assert_eq(r.rc, DG_EPARSE, "doc %s should fail, rc %d", doc, r.rc);
    res_free(&r);
}

Test(tokenizer, every_event_type)
{
    expect_events("{\"a\":[1,\"s\",true,false,null,{},[]],\"b\":-2.5}",
                  "{@0 K\"a\"@1 [@5 N1/I64=1@6 S\"s\"@8 T@12 F@17 Z@23 {@28 }@29 [@31 ]@32 ]@33 "
                  "K\"b\"@35 N-2.5/-.@39 }@43 ");
}

Test(tokenizer, scalars_at_top_level)
{
    expect_events("true", "T@0 ");
    expect_events(" false ", "F@1 ");
    expect_events("null", "Z@0 ");
    expect_events("\"x\"", "S\"x\"@0 ");
    expect_events("42", "N42/I64=42@0 ");
    expect_events("\n\t\r 7 \n", "N7/I64=7@4 ");
}

Test(tokenizer, zero_copy_and_copied_strings_same_content)
{
    const char *doc = "[\"hello world, a string of some length\",\"caf\xC3\xA9\"]";
    size_t len = strlen(doc);
    res whole, split;
    run_whole(doc, len, NULL, &whole);
    cr_assert_eq(whole.rc, 0);
    cr_assert_eq(whole.ev.zero_copy, 2, "strings in one chunk are passed zero-copy");
    cr_assert_eq(whole.ev.copied, 0);
    size_t cut = 10; /* inside the first string */
    run_cuts(doc, len, &cut, 1, NULL, &split);
    cr_assert_eq(split.rc, 0);
    cr_assert_eq(split.ev.copied, 1, "a string cut by a chunk end is copied");
    cr_assert_eq(split.ev.zero_copy, 1);
    cr_assert_str_eq(whole.ev.s, split.ev.s);
    res_free(&whole);
    res_free(&split);

    /* A string with an escape is copied even inside one chunk. */
    res esc;
    run_str("{\"k\\n\":\"a\\tb\"}", &esc);
    cr_assert_eq(esc.rc, 0);
    cr_assert_eq(esc.ev.copied, 2);
    cr_assert_str_eq(esc.ev.s, "{@0 K\"k\\x0A\"@1 S\"a\\x09b\"@7 }@13 ");
    res_free(&esc);
}

Test(tokenizer, string_escapes_are_unescaped)
{
    expect_events("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"",
                  "S\"\\x22 \\x5C / \\x08 \\x0C \\x0A \\x0D \\x09\"@0 ");
    expect_events("\"\\u0041\\u00e9\\u20AC\\u0000\"", "S\"A\\xC3\\xA9\\xE2\\x82\\xAC\\x00\"@0 ");
}

Test(tokenizer, surrogate_pair_becomes_one_utf8_char)
{
    expect_events("\"\\uD83D\\uDE00\"", "S\"\\xF0\\x9F\\x98\\x80\"@0 ");
    expect_events("\"\\udbff\\udfff\"", "S\"\\xF4\\x8F\\xBF\\xBF\"@0 ");
}

Test(tokenizer, raw_multibyte_utf8_passes_through)
{
    expect_events("\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xEF\xBB\xBF\"",
                  "S\"\\xC3\\xA9\\xE2\\x82\\xAC\\xF0\\x9F\\x98\\x80\\xEF\\xBB\\xBF\"@0 ");
    expect_valid("\"\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF\xDF\xBF\xE0\xA0\x80\xF0\x90\x80\x80\"");
    expect_valid("\"\x7F\"");
}

/* ---- chunk-split torture ------------------------------------------------ */

static const char *const torture_docs[] = {
    "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}",
    "\"esc: \\\" \\\\ \\/ \\b \\f \\n \\r \\t end\"",
    "[\"\\u0041\\u00e9\\u20AC\\uD83D\\uDE00\",\"x\\u0000y\"]",
    "\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"",
    "[-0.5e+10,0,-0,1E-7,1.25,123456789012345678901,9223372036854775807,-9223372036854775808]",
    "[[],{},[[]],{\"\":{}},[{}]]",
    "  \n\t{ \"k\" : [ 1 , 2 ] ,\r\n \"l\":\"\" }\r\n ",
    "123",
    "-0.0e-0",
    "true",
    "null",
    "{\"key\\u0000with\\\"esc\":\"v\\\\u00\",\"\xE2\x82\xAC\":[false]}",
    "[\"0123456789abcdef\xC3\xA9 long string crossing 16-byte blocks \xF0\x9F\x98\x80 end\"]",
    /* errors, which must come out identical too */
    "[1,2,]",
    "{\"a\":tru}",
    "\"\\uD800x\"",
    "[\"ab\xC3(\"]",
    "[01]",
    "\"ab\x01\"",
    "[1e]",
    ("\xEF\xBB\xBF" "1"),
    "{\"a\":1}x",
    "\"\xF4\x90\x80\x80\"",
    "[1.]",
    "\"\\q\"",
    "[\"\\uDC00\"]",
    "\n\n  [1, \"\xE0\x80\x80\"]",
    "[-]",
    "{\"a\" 1}",
    "{\"a\":1",
    "12 ",
};

#define NDOCS (sizeof torture_docs / sizeof torture_docs[0])

Test(tokenizer, chunk_split_at_every_position_matches_whole)
{
    for (size_t d = 0; d < NDOCS; d++) {
        const char *doc = torture_docs[d];
        size_t len = strlen(doc);
        res whole;
        run_whole(doc, len, NULL, &whole);
        for (size_t i = 0; i <= len; i++) {
            res split;
            char how[64];
            run_cuts(doc, len, &i, 1, NULL, &split);
            snprintf(how, sizeof how, "split at %zu", i);
            assert_same(&whole, &split, doc, how);
            res_free(&split);
        }
        res_free(&whole);
    }
}

Test(tokenizer, chunk_split_at_every_pair_of_positions_matches_whole)
{
    for (size_t d = 0; d < NDOCS; d++) {
        const char *doc = torture_docs[d];
        size_t len = strlen(doc);
        if (len > 64)
            continue;
        res whole;
        run_whole(doc, len, NULL, &whole);
        for (size_t i = 0; i <= len; i++) {
            for (size_t j = i; j <= len; j++) {
                size_t cuts[2] = {i, j};
                res split;
                char how[64];
                run_cuts(doc, len, cuts, 2, NULL, &split);
                snprintf(how, sizeof how, "split at %zu and %zu", i, j);
                assert_same(&whole, &split, doc, how);
                res_free(&split);
            }
        }
        res_free(&whole);
    }
}

Test(tokenizer, byte_by_byte_matches_whole)
{
    for (size_t d = 0; d < NDOCS; d++) {
        const char *doc = torture_docs[d];
        size_t len = strlen(doc), cuts[256];
        cr_assert(len < 256);
        for (size_t i = 0; i < len; i++)
            cuts[i] = i + 1;
        res whole, bytes;
        run_whole(doc, len, NULL, &whole);
        run_cuts(doc, len, cuts, len, NULL, &bytes);
        assert_same(&whole, &bytes, doc, "byte by byte");
        res_free(&whole);
        res_free(&bytes);
    }
}

Test(tokenizer, string_split_inside_escape)
{
    const char *doc = "[\"a\\u00e9\\uD83D\\uDE00\\n\"]";
    size_t len = strlen(doc);
    for (size_t i = 3; i < len - 2; i++) {
        res r;
        run_cuts(doc, len, &i, 1, NULL, &r);
        cr_assert_eq(r.rc, 0, "split at %zu: %s", i, r.err.msg);
        cr_assert_str_eq(r.ev.s, "[@0 S\"a\\xC3\\xA9\\xF0\\x9F\\x98\\x80\\x0A\"@1 ]@24 ");
        res_free(&r);
    }
}

Test(tokenizer, top_level_number_waits_for_delimiter_or_finish)
{
    rec ev = {0};
    dg_error err;
    dg_json_tok *t = dg_json_tok_new(NULL, rec_sink, &ev);
    cr_assert_eq(dg_json_feed(t, "12", 2, &err), 0);
    cr_assert_eq(dg_json_feed(t, "3", 1, &err), 0);
    cr_assert_eq(ev.nev, 0, "1234 might still follow");
    cr_assert_eq(dg_json_finish(t, &err), 0);
    cr_assert_str_eq(ev.s, "N123/I64=123@0 ");

    dg_json_tok_reset(t);
    ev.len = 0, ev.nev = 0;
    cr_assert_eq(dg_json_feed(t, "-4", 2, &err), 0);
    cr_assert_eq(ev.nev, 0);
    cr_assert_eq(dg_json_feed(t, "5\n", 2, &err), 0);
    cr_assert_eq(ev.nev, 1, "the newline ends the number");
    cr_assert_eq(dg_json_finish(t, &err), 0);
    cr_assert_str_eq(ev.s, "N-45/-I64=-45@0 ");
    dg_json_tok_free(t);
    free(ev.s);
}

/* ---- error locations -------------------------------------------------- */

Test(tokenizer, error_location_on_line_three)
{
    const char *doc = "{\n  \"a\": 1,\n  \"b\": [tru]\n}";
    res r;
    run_str(doc, &r);
    cr_assert_eq(r.rc, DG_EPARSE);
    cr_assert_str_eq(r.err.msg, "invalid literal: expected 'true', found ']'");
    cr_assert_eq(r.err.offset, 23);
    cr_assert_eq(r.err.line, 3);
    cr_assert_eq(r.err.col, 12);
    res_free(&r);
}

Test(tokenizer, error_location_missing_comma)
{
    const char *doc = "{\r\n\"a\":1\r\n\"b\":2}";
    res r;
    run_str(doc, &r);
    cr_assert_eq(r.rc, DG_EPARSE);
    cr_assert_str_eq(r.err.msg, "expected ',' or '}' after object member, found '\"'");
    cr_assert_eq(r.err.offset, 10);
    cr_assert_eq(r.err.line, 3);
    cr_assert_eq(r.err.col, 1);
    res_free(&r);
}

Test(tokenizer, error_location_control_char_in_string_line_three)
{
    const char *doc = "[\n1,\n  \"ab\tc\"]";
    res r;
    run_str(doc, &r);
    cr_assert_eq(r.rc, DG_EPARSE);
    cr_assert_str_eq(r.err.msg, "invalid control character 0x09 in string (must be escaped)");
    cr_assert_eq(r.err.offset, 10);
    cr_assert_eq(r.err.line, 3);
    cr_assert_eq(r.err.col, 6);
    res_free(&r);
}

Test(tokenizer, error_location_at_end_of_input)
{
    res r;
    run_str("[1,\n  2", &r);
    cr_assert_eq(r.rc, DG_EPARSE);
    cr_assert_str_eq(r.err.msg, "expected ',' or ']' after array element, found end of input");
    cr_assert_eq(r.err.offset, 7);
    cr_assert_eq(r.err.line, 2);
    cr_assert_eq(r.err.col, 4);
    res_free(&r);
}

Test(tokenizer, error_location_same_when_split_across_lines)
{
    const char *doc = "[\n\"x\",\n\n   \"\xC3\xA9\xC0\"]";
    size_t len = strlen(doc);
    for (size_t i = 0; i <= len; i++) {
        res r;
        run_cuts(doc, len, &i, 1, NULL, &r);
        cr_assert_eq(r.rc, DG_EPARSE);
        cr_assert_str_eq(r.err.msg, "invalid UTF-8 byte 0xC0 (overlong encoding)");
        cr_assert_eq(r.err.offset, 14);
        cr_assert_eq(r.err.line, 4);
        cr_assert_eq(r.err.col, 7);
        res_free(&r);
    }
}

/* ---- strictness: one test per error class --------------------------- */

Test(tokenizer, trailing_garbage_is_an_error)
{
    expect_error("{\"a\":1}x", DG_EPARSE, "unexpected 'x' after the top-level value", 7);
    expect_error("1 2", DG_EPARSE, "unexpected '2' after the top-level value", 2);
    expect_error("[]]", DG_EPARSE, "unexpected ']' after the top-level value", 2);
    expect_error("{} {}", DG_EPARSE, "unexpected '{' after the top-level value", 3);
    expect_error("truex", DG_EPARSE, "unexpected 'x' after the top-level value", 4);
    expect_error("1x", DG_EPARSE, "unexpected 'x' after the top-level value", 1);
    expect_valid("{}  \n\t\r ");
}

Test(tokenizer, empty_document_is_an_error)
{
    expect_error("", DG_EPARSE, "expected a JSON value, found end of input", 0);
    expect_error(" \n ", DG_EPARSE, "expected a JSON value, found end of input", 3);
}

Test(tokenizer, byte_order_mark_is_an_error)
{
    expect_error("\xEF\xBB\xBF{}", DG_EPARSE, "byte order mark is not allowed", 0);
    expect_error("\xEF\xBB", DG_EPARSE, "expected a JSON value, found non-ASCII byte 0xEF", 0);
    expect_error("\xEF\xBB\x41", DG_EPARSE, "expected a JSON value, found non-ASCII byte 0xEF", 0);
    expect_error(" \xEF\xBB\xBF{}", DG_EPARSE, "expected a JSON value, found non-ASCII byte 0xEF", 1);
}

Test(tokenizer, invalid_utf8_overlong)
{
    expect_error("\"\xC0\x80\"", DG_EPARSE, "invalid UTF-8 byte 0xC0 (overlong encoding)", 1);
    expect_error("\"\xC1\xBF\"", DG_EPARSE, "invalid UTF-8 byte 0xC1 (overlong encoding)", 1);
    expect_error("\"\xE0\x80\x80\"", DG_EPARSE, "invalid UTF-8 byte 0x80 after 0xE0 (overlong encoding)", 2);
    expect_error("\"\xE0\x9F\xBF\"", DG_EPARSE, "invalid UTF-8 byte 0x9F after 0xE0 (overlong encoding)", 2);
    expect_error("\"\xF0\x8F\xBF\xBF\"", DG_EPARSE, "invalid UTF-8 byte 0x8F after 0xF0 (overlong encoding)", 2);
}

Test(tokenizer, invalid_utf8_encoded_surrogate)
{
    expect_error("\"\xED\xA0\x80\"", DG_EPARSE,
                 "invalid UTF-8 byte 0xA0 after 0xED (UTF-16 surrogate encoded in UTF-8)", 2);
    expect_error("[\"ok\",\"\xED\xBF\xBF\"]", DG_EPARSE,
                 "invalid UTF-8 byte 0xBF after 0xED (UTF-16 surrogate encoded in UTF-8)", 8);
}

Test(tokenizer, invalid_utf8_above_max_code_point)
{
    expect_error("\"\xF4\x90\x80\x80\"", DG_EPARSE,
                 "invalid UTF-8 byte 0x90 after 0xF4 (code point above U+10FFFF)", 2);
    expect_error("\"\xF5\x80\x80\x80\"", DG_EPARSE, "invalid UTF-8 byte 0xF5 (not a UTF-8 lead byte)", 1);
    expect_error("\"\xFF\"", DG_EPARSE, "invalid UTF-8 byte 0xFF (not a UTF-8 lead byte)", 1);
}

Test(tokenizer, invalid_utf8_truncated_or_stray)
{
    expect_error("\"\xC3\"", DG_EPARSE,
                 "truncated UTF-8 sequence (expected a continuation byte, found '\"')", 2);
    expect_error("\"\xE2\x82x\"", DG_EPARSE,
                 "truncated UTF-8 sequence (expected a continuation byte, found 'x')", 3);
    expect_error("\"\x80\"", DG_EPARSE, "invalid UTF-8 byte 0x80 (unexpected continuation byte)", 1);
    expect_error("\"\xF0\x9F\x98", DG_EPARSE, "unexpected end of input inside string", 4);
}

Test(tokenizer, invalid_utf8_outside_strings)
{
    expect_error("[\xC0]", DG_EPARSE, "invalid UTF-8 byte 0xC0 (overlong encoding)", 1);
    expect_error("[1,\x80]", DG_EPARSE, "invalid UTF-8 byte 0x80 (unexpected continuation byte)", 3);
    expect_error("{\"a\":1}\xFE", DG_EPARSE, "invalid UTF-8 byte 0xFE (not a UTF-8 lead byte)", 7);
    expect_error("[\xC3\xA9]", DG_EPARSE, "expected a value or ']', found non-ASCII byte 0xC3", 1);
}

Test(tokenizer, invalid_escapes)
{
    expect_error("\"\\x41\"", DG_EPARSE, "invalid escape in string: '\\' followed by 'x'", 1);
    expect_error("\"ab\\'\"", DG_EPARSE, "invalid escape in string: '\\' followed by '''", 3);
    expect_error("\"\\U0041\"", DG_EPARSE, "invalid escape in string: '\\' followed by 'U'", 1);
    expect_error("\"\\u00G1\"", DG_EPARSE,
                 "invalid \\u escape in string: expected a hex digit, found 'G'", 5);
    expect_error("\"\\u12\"", DG_EPARSE,
                 "invalid \\u escape in string: expected a hex digit, found '\"'", 5);
    expect_error("\"\\", DG_EPARSE, "unexpected end of input inside string", 2);
}

Test(tokenizer, lone_surrogate_escapes)
{
    expect_error("\"\\uD800\"", DG_EPARSE,
                 "lone high surrogate \\uD800 in string (expected a low surrogate escape "
                 "\\uDC00-\\uDFFF after it)", 1);
    expect_error("[\"ab\\uD83D\\u0041\"]", DG_EPARSE,
                 "lone high surrogate \\uD83D in string (expected a low surrogate escape "
                 "\\uDC00-\\uDFFF after it)", 4);
    expect_error("\"\\uD83D\\n\"", DG_EPARSE,
                 "lone high surrogate \\uD83D in string (expected a low surrogate escape "
                 "\\uDC00-\\uDFFF after it)", 1);
    expect_error("\"\\uD83D\\uD83D\"", DG_EPARSE,
                 "lone high surrogate \\uD83D in string (expected a low surrogate escape "
                 "\\uDC00-\\uDFFF after it)", 1);
    expect_error("\"x\\uDC00\"", DG_EPARSE, "lone low surrogate \\uDC00 in string", 2);
    expect_error("\"\\uDFFF\\uD800\"", DG_EPARSE, "lone low surrogate \\uDFFF in string", 1);
}

Test(tokenizer, control_chars_in_strings)
{
    expect_error("\"a\nb\"", DG_EPARSE, "invalid control character 0x0A in string (must be escaped)", 2);
    expect_error_n("\"\0\"", 3, DG_EPARSE, "invalid control character 0x00 in string (must be escaped)", 1);
    expect_error("{\"k\x1F\":1}", DG_EPARSE,
                 "invalid control character 0x1F in string (must be escaped)", 3);
    expect_valid("\"\x7F \\u001F\"");
}

Test(tokenizer, number_grammar_valid)
{
    static const char *const ok[] = {"0", "-0", "1", "-1", "10", "0.0", "0.5", "-0.5e+10", "1e5",
                                     "1E5", "1e-5", "1E+05", "123.456e789", "-0e0", "9.99"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char doc[64];
        snprintf(doc, sizeof doc, "[%s]", ok[i]);
        expect_valid(ok[i]);
        expect_valid(doc);
    }
    expect_events("[-0.5e+10,1E5,2.5]",
                  "[@0 N-0.5e+10/-.e@1 N1E5/e@10 N2.5/.@14 ]@17 ");
}

Test(tokenizer, number_grammar_errors)
{
    expect_error("01", DG_EPARSE, "invalid number: leading zeros are not allowed", 1);
    expect_error("[-01]", DG_EPARSE, "invalid number: leading zeros are not allowed", 3);
    expect_error("1.", DG_EPARSE, "invalid number: expected a digit after '.', found end of input", 2);
    expect_error("[1.]", DG_EPARSE, "invalid number: expected a digit after '.', found ']'", 3);
    expect_error("[1.e5]", DG_EPARSE, "invalid number: expected a digit after '.', found 'e'", 3);
    expect_error(".5", DG_EPARSE, "expected a JSON value, found '.'", 0);
    expect_error("+1", DG_EPARSE, "expected a JSON value, found '+'", 0);
    expect_error("-", DG_EPARSE, "invalid number: expected a digit after '-', found end of input", 1);
    expect_error("[-a]", DG_EPARSE, "invalid number: expected a digit after '-', found 'a'", 2);
    expect_error("1e", DG_EPARSE,
                 "invalid number: expected a digit or sign in the exponent, found end of input", 2);
    expect_error("[1e+]", DG_EPARSE, "invalid number: expected a digit in the exponent, found ']'", 4);
    expect_error("[1.5.]", DG_EPARSE, "expected ',' or ']' after array element, found '.'", 4);
    expect_error("0x10", DG_EPARSE, "unexpected 'x' after the top-level value", 1);
    expect_invalid("NaN");
    expect_invalid("Infinity");
    expect_invalid("-Infinity");
}

Test(tokenizer, literals_only_true_false_null)
{
    expect_error("tru", DG_EPARSE, "unexpected end of input inside literal 'true'", 3);
    expect_error("[trUe]", DG_EPARSE, "invalid literal: expected 'true', found 'U'", 3);
    expect_error("nul", DG_EPARSE, "unexpected end of input inside literal 'null'", 3);
    expect_error("[fals]", DG_EPARSE, "invalid literal: expected 'false', found ']'", 5);
    expect_error("True", DG_EPARSE, "expected a JSON value, found 'T'", 0);
    expect_error("nulll", DG_EPARSE, "unexpected 'l' after the top-level value", 4);
    expect_error("[undefined]", DG_EPARSE, "expected a value or ']', found 'u'", 1);
}

Test(tokenizer, structural_errors)
{
    expect_error("[1,]", DG_EPARSE, "expected a value after ',', found ']'", 3);
    expect_error("{\"a\":1,}", DG_EPARSE, "expected a string key after ',', found '}'", 7);
    expect_error("{\"a\" 1}", DG_EPARSE, "expected ':' after object key, found '1'", 5);
    expect_error("{1:2}", DG_EPARSE, "expected a string key or '}', found '1'", 1);
    expect_error("[1 2]", DG_EPARSE, "expected ',' or ']' after array element, found '2'", 3);
    expect_error("{\"a\":1]", DG_EPARSE, "expected ',' or '}' after object member, found ']'", 6);
    expect_error("[}", DG_EPARSE, "expected a value or ']', found '}'", 1);
    expect_error("{\"a\":}", DG_EPARSE, "expected a value after ':', found '}'", 5);
    expect_error("[", DG_EPARSE, "expected a value or ']', found end of input", 1);
    expect_error("{", DG_EPARSE, "expected a string key or '}', found end of input", 1);
    expect_error("{\"a\"", DG_EPARSE, "expected ':' after object key, found end of input", 4);
    expect_error("[\"abc", DG_EPARSE, "unexpected end of input inside string", 5);
    expect_error("{\"ab", DG_EPARSE, "unexpected end of input inside string (object key)", 4);
    expect_error("['a']", DG_EPARSE, "expected a value or ']', found '''", 1);
    expect_error("[\x01]", DG_EPARSE, "expected a value or ']', found control character 0x01", 1);
    expect_error("[\f]", DG_EPARSE, "expected a value or ']', found control character 0x0C", 1);
}

/* ---- limits ---------------------------------------------------------- */

static char *nested(size_t depth, size_t *len)
{
    char *s = malloc(2 * depth + 1);
    cr_assert_not_null(s);
    memset(s, '[', depth);
    memset(s + depth, ']', depth);
    s[2 * depth] = '\0';
    *len = 2 * depth;
    return s;
}

Test(tokenizer, depth_512_passes_and_513_fails)
{
    size_t len;
    char *doc = nested(512, &len);
    res r;
    run_whole(doc, len, NULL, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.msg);
    res_free(&r);
    free(doc);

    doc = nested(513, &len);
    run_whole(doc, len, NULL, &r);
    cr_assert_eq(r.rc, DG_ELIMIT);
    cr_assert_str_eq(r.err.msg, "nesting depth exceeds 512");
    cr_assert_eq(r.err.offset, 512);
    res_free(&r);
    free(doc);

    /* Objects count as well, and a custom limit is honoured. */
    dg_json_limits lim;
    dg_json_limits_default(&lim);
    lim.max_depth = 2;
    run_whole("{\"a\":[1]}", 9, &lim, &r);
    cr_assert_eq(r.rc, 0);
    res_free(&r);
    run_whole("{\"a\":[{}]}", 10, &lim, &r);
    cr_assert_eq(r.rc, DG_ELIMIT);
    cr_assert_str_eq(r.err.msg, "nesting depth exceeds 2");
    cr_assert_eq(r.err.offset, 6);
    res_free(&r);
}

Test(tokenizer, depth_100000_fails_fast)
{
    size_t len;
    char *doc = nested(100000, &len);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    dg_error err;
    int rc = dg_json_parse_buffer(doc, len, NULL, NULL, NULL, &err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    cr_assert_eq(rc, DG_ELIMIT);
    cr_assert_str_eq(err.msg, "nesting depth exceeds 512");
    cr_assert_eq(err.offset, 512);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
    cr_assert_lt(secs, 0.5, "took %.3f s", secs);
    free(doc);
}

Test(tokenizer, max_string_limit)
{
    dg_json_limits lim;
    dg_json_limits_default(&lim);
    lim.max_string = 5;
    res r;
    run_whole("[\"abcde\"]", 9, &lim, &r);
    cr_assert_eq(r.rc, 0);
    res_free(&r);
    run_whole("[\"abcdef\"]", 10, &lim, &r);
    cr_assert_eq(r.rc, DG_ELIMIT);
    cr_assert_str_eq(r.err.msg, "string longer than 5 bytes (max_string)");
    cr_assert_eq(r.err.offset, 1);
    res_free(&r);
    /* The limit is on the unescaped length, for copied strings too. */
    run_whole("[\"\\u00e9\\u00e9a\"]", 17, &lim, &r);
    cr_assert_eq(r.rc, 0);
    res_free(&r);
    run_whole("[\"\\u00e9\\u00e9ab\"]", 18, &lim, &r);
    cr_assert_eq(r.rc, DG_ELIMIT);
    res_free(&r);
    run_whole("{\"abcdefg\":1}", 13, &lim, &r);
    cr_assert_eq(r.rc, DG_ELIMIT);
    cr_assert_str_eq(r.err.msg, "object key longer than 5 bytes (max_string)");
    res_free(&r);
    /* Same error when the string is cut into chunks. */
    size_t cut = 4;
    run_cuts("[\"abcdef\"]", 10, &cut, 1, &lim, &r);
    cr_assert_eq(r.rc, DG_ELIMIT);
    cr_assert_str_eq(r.err.msg, "string longer than 5 bytes (max_string)");
    cr_assert_eq(r.err.offset, 1);
    res_free(&r);
}

Test(tokenizer, max_number_limit)
{
    dg_json_limits lim;
    dg_json_limits_default(&lim);
    lim.max_number = 4;
    res r;
    run_whole("[-1.5]", 6, &lim, &r);
    cr_assert_eq(r.rc, 0);
    res_free(&r);
    run_whole("[-1.55]", 7, &lim, &r);
    cr_assert_eq(r.rc, DG_ELIMIT);
    cr_assert_str_eq(r.err.msg, "number longer than 4 bytes (max_number)");
    cr_assert_eq(r.err.offset, 1);
    res_free(&r);
    for (size_t cut = 0; cut <= 7; cut++) {
        run_cuts("[-1.55]", 7, &cut, 1, &lim, &r);
        cr_assert_eq(r.rc, DG_ELIMIT, "cut %zu", cut);
        cr_assert_eq(r.err.offset, 1);
        res_free(&r);
    }
    /* The default is 4096 bytes. */
    char *big = malloc(5000);
    memset(big, '1', 5000);
    cr_assert_eq(dg_json_parse_buffer(big, 4096, NULL, NULL, NULL, NULL), 0);
    dg_error err;
    cr_assert_eq(dg_json_parse_buffer(big, 4097, NULL, NULL, NULL, &err), DG_ELIMIT);
    cr_assert_str_eq(err.msg, "number longer than 4096 bytes (max_number)");
    free(big);
}

Test(tokenizer, max_bytes_limit)
{
    dg_json_limits lim;
    dg_json_limits_default(&lim);
    lim.max_bytes = 8;
    res r;
    run_whole("[1,2,3] ", 8, &lim, &r);
    cr_assert_eq(r.rc, 0);
    res_free(&r);
    size_t cut = 5;
    run_cuts("[1,2,3,4]", 9, &cut, 1, &lim, &r);
    cr_assert_eq(r.rc, DG_ELIMIT);
    cr_assert_str_eq(r.err.msg, "input exceeds 8 bytes (max_bytes)");
    cr_assert_eq(r.err.offset, 8);
    cr_assert_str_eq(r.ev.s, "[@0 N1/I64=1@1 N2/I64=2@3 N3/I64=3@5 ");
    res_free(&r);
}

Test(tokenizer, zero_limits_mean_defaults)
{
    dg_json_limits lim = {0, 0, 0, 0};
    size_t len;
    char *doc = nested(512, &len);
    res r;
    run_whole(doc, len, &lim, &r);
    cr_assert_eq(r.rc, 0);
    res_free(&r);
    free(doc);
}

/* ---- numbers: int64 ---------------------------------------------------- */

Test(tokenizer, i64_boundaries)
{
    expect_events("[9223372036854775807,-9223372036854775808,9223372036854775808,"
                  "-9223372036854775809,0,-0,18446744073709551616,10000000000000000000,"
                  "1234567890123456789012,999999999999999999]",
                  "[@0 N9223372036854775807/I64=9223372036854775807@1 "
                  "N-9223372036854775808/-I64=-9223372036854775808@21 "
                  "N9223372036854775808/@42 "
                  "N-9223372036854775809/-@62 "
                  "N0/I64=0@83 "
                  "N-0/-I64=0@85 "
                  "N18446744073709551616/@88 "
                  "N10000000000000000000/@109 "
                  "N1234567890123456789012/@130 "
                  "N999999999999999999/I64=999999999999999999@153 ]@171 ");
    expect_events("[1.0,1e2,-5]", "[@0 N1.0/.@1 N1e2/e@5 N-5/-I64=-5@9 ]@11 ");
}

Test(tokenizer, i64_exact_when_number_is_split)
{
    const char *doc = "[-9223372036854775808]";
    size_t len = strlen(doc);
    for (size_t i = 1; i < len; i++) {
        res r;
        run_cuts(doc, len, &i, 1, NULL, &r);
        cr_assert_eq(r.rc, 0);
        cr_assert_str_eq(r.ev.s, "[@0 N-9223372036854775808/-I64=-9223372036854775808@1 ]@21 ");
        res_free(&r);
    }
}

/* ---- sink, reset, API ---------------------------------------------------- */

Test(tokenizer, sink_stop_returns_estop_and_sticks)
{
    rec ev = {0};
    ev.stop_at = 3;
    dg_error err;
    dg_json_tok *t = dg_json_tok_new(NULL, rec_sink, &ev);
    int rc = dg_json_feed(t, "[1,\"x\",2]", 9, &err);
    cr_assert_eq(rc, DG_ESTOP);
    cr_assert_eq(err.code, DG_ESTOP);
    cr_assert_eq(err.offset, 3, "the offset of the token the sink stopped at");
    cr_assert_eq(ev.nev, 3);
    cr_assert_eq(dg_json_feed(t, "]", 1, &err), DG_ESTOP);
    cr_assert_eq(dg_json_finish(t, &err), DG_ESTOP);
    cr_assert_eq(ev.nev, 3, "no event after the stop");
    dg_json_tok_free(t);
    free(ev.s);

    /* A stop at a top-level number emitted by finish. */
    rec ev2 = {0};
    ev2.stop_at = 1;
    t = dg_json_tok_new(NULL, rec_sink, &ev2);
    cr_assert_eq(dg_json_feed(t, "5", 1, &err), 0);
    cr_assert_eq(dg_json_finish(t, &err), DG_ESTOP);
    dg_json_tok_free(t);
    free(ev2.s);
}

Test(tokenizer, error_is_sticky_until_reset)
{
    dg_error err, err2;
    dg_json_tok *t = dg_json_tok_new(NULL, NULL, NULL);
    cr_assert_eq(dg_json_feed(t, "[1,,", 4, &err), DG_EPARSE);
    cr_assert_eq(dg_json_feed(t, "2]", 2, &err2), DG_EPARSE);
    cr_assert_str_eq(err.msg, err2.msg);
    cr_assert_eq(err2.offset, 3);
    cr_assert_eq(dg_json_finish(t, &err2), DG_EPARSE);
    cr_assert_str_eq(err2.msg, "expected a value after ',', found ','");
    dg_json_tok_reset(t);
    cr_assert_eq(dg_json_feed(t, "[2]", 3, &err), 0);
    cr_assert_eq(dg_json_finish(t, &err), 0);
    dg_json_tok_free(t);
}

Test(tokenizer, reset_and_reuse)
{
    rec ev = {0};
    dg_error err;
    dg_json_tok *t = dg_json_tok_new(NULL, rec_sink, &ev);
    /* Leave a document half done (inside a string), then reuse. */
    cr_assert_eq(dg_json_feed(t, "{\"a\":[\"xy", 9, &err), 0);
    cr_assert_eq(dg_json_tok_depth(t), 2);
    dg_json_tok_reset(t);
    cr_assert_eq(dg_json_tok_depth(t), 0);
    cr_assert_eq(dg_json_tok_offset(t), 0);
    ev.len = 0, ev.nev = 0;
    cr_assert_eq(dg_json_feed(t, "\n[true]", 7, &err), 0);
    cr_assert_eq(dg_json_finish(t, &err), 0);
    cr_assert_str_eq(ev.s, "[@1 T@2 ]@6 ");
    cr_assert_eq(dg_json_tok_offset(t), 7);

    /* New sink for the next document. */
    rec ev2 = {0};
    dg_json_tok_reset(t);
    dg_json_tok_set_sink(t, rec_sink, &ev2);
    cr_assert_eq(dg_json_feed(t, "null", 4, &err), 0);
    cr_assert_eq(dg_json_finish(t, &err), 0);
    cr_assert_str_eq(ev2.s, "Z@0 ");
    cr_assert_str_eq(ev.s, "[@1 T@2 ]@6 ");
    dg_json_tok_free(t);
    free(ev.s);
    free(ev2.s);
}

Test(tokenizer, error_line_and_offset_restart_after_reset)
{
    dg_error err;
    dg_json_tok *t = dg_json_tok_new(NULL, NULL, NULL);
    cr_assert_eq(dg_json_feed(t, "\n\n[1]", 5, &err), 0);
    cr_assert_eq(dg_json_finish(t, &err), 0);
    dg_json_tok_reset(t);
    cr_assert_eq(dg_json_feed(t, "[x]", 3, &err), DG_EPARSE);
    cr_assert_eq(err.line, 1);
    cr_assert_eq(err.col, 2);
    cr_assert_eq(err.offset, 1);
    dg_json_tok_free(t);
}

Test(tokenizer, feed_after_finish_is_invalid)
{
    dg_error err;
    dg_json_tok *t = dg_json_tok_new(NULL, NULL, NULL);
    cr_assert_eq(dg_json_feed(t, "1", 1, &err), 0);
    cr_assert_eq(dg_json_finish(t, &err), 0);
    cr_assert_eq(dg_json_finish(t, &err), 0, "finish is idempotent");
    cr_assert_eq(dg_json_feed(t, " ", 1, &err), DG_EINVAL);
    dg_json_tok_free(t);
}

Test(tokenizer, depth_and_offset_accessors)
{
    dg_error err;
    dg_json_tok *t = dg_json_tok_new(NULL, NULL, NULL);
    cr_assert_eq(dg_json_feed(t, "[{\"a\":[", 7, &err), 0);
    cr_assert_eq(dg_json_tok_depth(t), 3);
    cr_assert_eq(dg_json_tok_offset(t), 7);
    cr_assert_eq(dg_json_feed(t, "]}", 2, &err), 0);
    cr_assert_eq(dg_json_tok_depth(t), 1);
    cr_assert_eq(dg_json_feed(t, "]", 1, &err), 0);
    cr_assert_eq(dg_json_tok_depth(t), 0);
    cr_assert_eq(dg_json_finish(t, &err), 0);
    dg_json_tok_free(t);
}

Test(tokenizer, empty_feeds_are_harmless)
{
    dg_error err;
    rec ev = {0};
    dg_json_tok *t = dg_json_tok_new(NULL, rec_sink, &ev);
    cr_assert_eq(dg_json_feed(t, "", 0, &err), 0);
    cr_assert_eq(dg_json_feed(t, "[\"a", 3, &err), 0);
    cr_assert_eq(dg_json_feed(t, NULL, 0, &err), 0);
    cr_assert_eq(dg_json_feed(t, "\"]", 2, &err), 0);
    cr_assert_eq(dg_json_finish(t, &err), 0);
    cr_assert_str_eq(ev.s, "[@0 S\"a\"@1 ]@4 ");
    dg_json_tok_free(t);
    free(ev.s);
}

Test(tokenizer, parse_buffer_convenience)
{
    rec ev = {0};
    dg_error err;
    cr_assert_eq(dg_json_parse_buffer("{\"k\":[1,2]}", 11, NULL, rec_sink, &ev, &err), 0);
    cr_assert_str_eq(ev.s, "{@0 K\"k\"@1 [@5 N1/I64=1@6 N2/I64=2@8 ]@9 }@10 ");
    free(ev.s);
    cr_assert_eq(dg_json_parse_buffer("{\"k\":[1,2]", 10, NULL, NULL, NULL, &err), DG_EPARSE);
    cr_assert_str_eq(err.msg, "expected ',' or '}' after object member, found end of input");
    cr_assert_eq(err.offset, 10);
    cr_assert_eq(dg_json_parse_buffer("7", 1, NULL, NULL, NULL, NULL), 0, "err may be NULL");
    cr_assert_eq(dg_json_parse_buffer("[", 1, NULL, NULL, NULL, NULL), DG_EPARSE);
}

Test(tokenizer, long_strings_cross_simd_blocks)
{
    /* Specials at every position relative to a 16-byte block. */
    for (size_t pad = 0; pad < 40; pad++) {
        char doc[128], want[256];
        size_t n = 0;
        doc[n++] = '[';
        doc[n++] = '"';
        for (size_t i = 0; i < pad; i++)
            doc[n++] = 'a';
        memcpy(doc + n, "\xC3\xA9\\n\"]", 6);
        n += 6;
        doc[n] = '\0';
        snprintf(want, sizeof want, "[@0 S\"%.*s\\xC3\\xA9\\x0A\"@1 ]@%zu ", (int)pad,
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", n - 1);
        expect_events(doc, want);
        doc[2 + pad] = '\x01';
        res r;
        run_str(doc, &r);
        cr_assert_eq(r.rc, DG_EPARSE);
        cr_assert_eq(r.err.offset, 2 + pad);
        res_free(&r);
    }
}
