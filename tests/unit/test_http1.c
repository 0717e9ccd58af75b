/* tests/unit/test_http1.c: HTTP/1.1 heads, framing, hop-by-hop fields and
 * the chunked decoder (proxy/http1.h).
 *
 * Inputs are copied into exactly-sized allocations so that a read past the
 * end shows up under ASan. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proxy/http1.h"

#define MAXH 32

static dg_http_header hs[MAXH];
static dg_http_head head;
static dg_error err;

static char *dup_exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    cr_assert_not_null(p);
    memcpy(p, s, n);
    return p;
}

/* Parses s[0..n) as a request (resp = 0) or response; the buffer is freed
 * afterwards, so only the result code is returned (head fields are checked
 * by the callers that keep their own buffer via parse_keep). */
static int parse_n(int resp, const char *s, size_t n, size_t maxh)
{
    char *p = dup_exact(s, n);
    dg_http_head h;
    int r = resp ? dg_http_parse_response(p, n, hs, maxh, &h, &err)
                 : dg_http_parse_request(p, n, hs, maxh, &h, &err);
    free(p);
    return r;
}

static int req(const char *s)
{
    return parse_n(0, s, strlen(s), MAXH);
}

static int resp(const char *s)
{
    return parse_n(1, s, strlen(s), MAXH);
}

/* Parses in place (s outlives head). */
static int req_keep(const char *s)
{
    return dg_http_parse_request(s, strlen(s), hs, MAXH, &head, &err);
}

static int resp_keep(const char *s)
{
    return dg_http_parse_response(s, strlen(s), hs, MAXH, &head, &err);
}

static int span_is(const char *p, size_t n, const char *want)
{
    return n == strlen(want) && memcmp(p, want, n) == 0;
}

/* ---- request and status lines ------------------------------------------- */

Test(http1, parses_request_line_and_headers)
{
    const char *s = "GET /pets?limit=2 HTTP/1.1\r\nHost: api.example\r\n"
                    "Accept:  application/json \t\r\nX-Empty:\r\n\r\nBODY";
    int r = req_keep(s);
    cr_assert_eq(r, (int)(strlen(s) - 4));
    cr_assert_eq(head.head_len, (size_t)r);
    cr_assert(span_is(head.method, head.method_len, "GET"));
    cr_assert(span_is(head.target, head.target_len, "/pets?limit=2"));
    cr_assert_eq(head.minor_version, 1);
    cr_assert_eq(head.n_headers, 3);
    cr_assert(span_is(hs[0].name, hs[0].name_len, "Host"));
    cr_assert(span_is(hs[0].value, hs[0].value_len, "api.example"));
    cr_assert(span_is(hs[1].value, hs[1].value_len, "application/json"));
    cr_assert_eq(hs[2].value_len, 0);
    /* zero-copy: names and values point into the buffer */
    cr_assert(hs[0].name == s + strlen("GET /pets?limit=2 HTTP/1.1\r\n"));
}

Test(http1, parses_response_line_with_and_without_reason)
{
    const char *s = "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    cr_assert_eq(resp_keep(s), (int)strlen(s));
    cr_assert_eq(head.status, 404);
    cr_assert_eq(head.minor_version, 0);
    cr_assert(span_is(head.reason, head.reason_len, "Not Found"));
    cr_assert_eq(head.n_headers, 1);

    cr_assert_eq(resp_keep("HTTP/1.1 200 \r\n\r\n"), 17);
    cr_assert_eq(head.reason_len, 0);
    /* a status line ending right after the code is accepted */
    cr_assert_eq(resp_keep("HTTP/1.1 204\r\n\r\n"), 16);
    cr_assert_eq(head.status, 204);
    cr_assert_eq(head.reason_len, 0);
}

Test(http1, reason_phrase_may_contain_spaces_tabs_and_obs_text)
{
    cr_assert_gt(resp("HTTP/1.1 200 Very\tOK \xC3\xA9\r\n\r\n"), 0);
}

Test(http1, accepts_leading_empty_lines_before_a_request_only)
{
    const char *s = "\r\n\r\nGET / HTTP/1.1\r\n\r\n";
    cr_assert_eq(req_keep(s), (int)strlen(s));
    cr_assert(span_is(head.method, head.method_len, "GET"));
    cr_assert_eq(resp("\r\nHTTP/1.1 200 OK\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("\nGET / HTTP/1.1\r\n\r\n"), DG_EPARSE);
}

Test(http1, accepts_odd_but_valid_tokens_and_targets)
{
    cr_assert_gt(req("M-SEARCH * HTTP/1.1\r\n\r\n"), 0);
    cr_assert_gt(req("CONNECT api.example:443 HTTP/1.1\r\n\r\n"), 0);
    cr_assert_gt(req("GET http://a.example/x?y=%20 HTTP/1.0\r\n\r\n"), 0);
    cr_assert_gt(req("GET / HTTP/1.1\r\nX-!#$%&'*+-.^_`|~: v\r\n\r\n"), 0);
    /* raw UTF-8 in the target is tolerated (it cannot change framing) */
    cr_assert_gt(req("GET /caf\xC3\xA9 HTTP/1.1\r\n\r\n"), 0);
    cr_assert_gt(req("GET / HTTP/1.1\r\nX: a\x80\xff b\r\n\r\n"), 0);
}

Test(http1, rejects_bad_versions_with_a_clear_message)
{
    cr_assert_eq(req("GET / HTTP/2.0\r\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "unsupported HTTP version"), "%s", err.msg);
    cr_assert_eq(resp("HTTP/2 200 OK\r\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "unsupported HTTP version"), "%s", err.msg);
    cr_assert_eq(req("GET / HTTP/1.2\r\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "unsupported HTTP version"), "%s", err.msg);
    cr_assert_eq(req("GET / HTTP/0.9\r\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "unsupported HTTP version"), "%s", err.msg);
    cr_assert_eq(req("GET / http/1.1\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET / HTTP/1.10\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET / HTTP/1.x\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET /\r\n\r\n"), DG_EPARSE); /* HTTP/0.9 style */
    cr_assert_eq(resp("HTTP/1.1200 OK\r\n\r\n"), DG_EPARSE);
}

Test(http1, rejects_malformed_request_lines)
{
    cr_assert_eq(req("GET  / HTTP/1.1\r\n\r\n"), DG_EPARSE);   /* two SP */
    cr_assert_eq(req("GET /  HTTP/1.1\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req(" GET / HTTP/1.1\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET\t/ HTTP/1.1\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GE(T / HTTP/1.1\r\n\r\n"), DG_EPARSE);  /* not a tchar */
    cr_assert_eq(req("G\x80T / HTTP/1.1\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET /a\x01 HTTP/1.1\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET /a\x7f HTTP/1.1\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET / HTTP/1.1 \r\n\r\n"), DG_EPARSE);
}

Test(http1, rejects_status_that_is_not_three_digits)
{
    cr_assert_eq(resp("HTTP/1.1 20 OK\r\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "three digits"), "%s", err.msg);
    cr_assert_eq(resp("HTTP/1.1 2000 OK\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(resp("HTTP/1.1 2x0 OK\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(resp("HTTP/1.1 099 OK\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(resp("HTTP/1.1 -20 OK\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(resp("HTTP/1.1 200OK\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(resp("HTTP/1.1 200 O\x01K\r\n\r\n"), DG_EPARSE);
    cr_assert_gt(resp("HTTP/1.1 999 Whatever\r\n\r\n"), 0);
}

/* ---- line endings and field syntax --------------------------------------- */

Test(http1, rejects_bare_lf_and_bare_cr)
{
    cr_assert_eq(req("GET / HTTP/1.1\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "bare LF"), "%s", err.msg);
    cr_assert_eq(req("GET / HTTP/1.1\r\nHost: a\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET / HTTP/1.1\r\nHost: a\r\n\n"), DG_EPARSE);
    cr_assert_eq(req("GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "bare CR"), "%s", err.msg);
    cr_assert_eq(req("GET / HTTP/1.1\r\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(resp("HTTP/1.1 200 OK\n\n"), DG_EPARSE);
    cr_assert_eq(req("GET / HTTP/1.1\r\nHost: a\r\n\rX"), DG_EPARSE);
}

Test(http1, rejects_obs_fold)
{
    cr_assert_eq(req("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "folding"), "%s", err.msg);
    cr_assert_eq(resp("HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n"), DG_EPARSE);
}

Test(http1, rejects_whitespace_before_first_field)
{
    cr_assert_eq(req("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "whitespace before the first"), "%s", err.msg);
}

Test(http1, rejects_whitespace_before_colon)
{
    cr_assert_eq(req("GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "colon"), "%s", err.msg);
    cr_assert_eq(err.offset, strlen("GET / HTTP/1.1\r\nContent-Length"));
    cr_assert_eq(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding\t: chunked\r\n\r\n"), DG_EPARSE);
}

Test(http1, rejects_invalid_field_names)
{
    cr_assert_eq(req("GET / HTTP/1.1\r\n: v\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET / HTTP/1.1\r\nX(y): v\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET / HTTP/1.1\r\nX y: v\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req("GET / HTTP/1.1\r\nX\x80: v\r\n\r\n"), DG_EPARSE);
}

Test(http1, rejects_control_characters_in_values)
{
    static const char ctl[] = {0x00, 0x01, 0x08, 0x0b, 0x0c, 0x1f, 0x7f};
    for (size_t i = 0; i < sizeof ctl; i++) {
        char s[64];
        int n = snprintf(s, sizeof s, "GET / HTTP/1.1\r\nX: a%cb\r\n\r\n", 'Q');
        char *q = memchr(s, 'Q', (size_t)n);
        *q = ctl[i];
        cr_assert_eq(parse_n(0, s, (size_t)n, MAXH), DG_EPARSE, "ctl 0x%02x", ctl[i]);
        cr_assert_eq(err.offset, (uint64_t)(q - s));
    }
}

Test(http1, header_count_limit_is_elimit)
{
    const char *s = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    cr_assert_eq(parse_n(0, s, strlen(s), 3), (int)strlen(s));
    cr_assert_eq(parse_n(0, s, strlen(s), 2), DG_ELIMIT);
    cr_assert_eq(parse_n(0, s, strlen(s), 0), DG_ELIMIT);
    cr_assert_eq(parse_n(1, "HTTP/1.1 200 OK\r\n\r\n", 19, 0), 19);
}

/* Every proper prefix of a valid head is "need more"; the whole is done. */
static void all_prefixes_incomplete(int is_resp, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(parse_n(is_resp, s, i, MAXH), 0, "prefix %zu of %s: %s", i, s, err.msg);
    cr_assert_eq(parse_n(is_resp, s, n, MAXH), (int)n);
}

Test(http1, every_prefix_of_a_valid_head_needs_more)
{
    all_prefixes_incomplete(0, "POST /pets HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n"
                               "X-Empty: \r\n\r\n");
    all_prefixes_incomplete(0, "\r\nGET / HTTP/1.0\r\n\r\n");
    all_prefixes_incomplete(1, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n");
    all_prefixes_incomplete(1, "HTTP/1.1 204\r\n\r\n");
}

Test(http1, errors_are_reported_before_the_head_ends)
{
    /* garbage fails at once instead of waiting for a CRLFCRLF */
    cr_assert_eq(req("GET / HTTP/1.1\r\nX\x01"), DG_EPARSE);
    cr_assert_eq(resp("SSH-2.0-OpenSSH"), DG_EPARSE);
    cr_assert_eq(err.offset, 0);
}

/* ---- helpers -------------------------------------------------------------- */

Test(http1, find_and_list_helpers_are_case_insensitive)
{
    cr_assert_gt(req_keep("GET / HTTP/1.1\r\ncontent-TYPE: a/b\r\nConnection: Keep-Alive ,, "
                          "Upgrade\r\n\r\n"), 0);
    const dg_http_header *f = dg_http_find(&head, "Content-Type");
    cr_assert_not_null(f);
    cr_assert(dg_http_name_is(f, "CONTENT-type"));
    cr_assert_null(dg_http_find(&head, "Content-Length"));
    f = dg_http_find(&head, "connection");
    cr_assert(dg_http_list_has(f->value, f->value_len, "keep-alive"));
    cr_assert(dg_http_list_has(f->value, f->value_len, "upgrade"));
    cr_assert_not(dg_http_list_has(f->value, f->value_len, "keep"));
    cr_assert_not(dg_http_list_has(f->value, f->value_len, ""));
}

Test(http1, reason_table)
{
    cr_assert_str_eq(dg_http_reason(502), "Bad Gateway");
    cr_assert_str_eq(dg_http_reason(200), "OK");
    cr_assert_str_eq(dg_http_reason(431), "Request Header Fields Too Large");
    cr_assert_str_eq(dg_http_reason(299), "");
    cr_assert_str_eq(dg_http_reason(-1), "");
}

/* ---- framing ---------------------------------------------------------------- */

static dg_http_framing fr;

static int req_framing(const char *s)
{
    cr_assert_gt(req_keep(s), 0, "%s: %s", s, err.msg);
    return dg_http_request_framing(&head, &fr, &err);
}

static int resp_framing(const char *method, const char *s)
{
    cr_assert_gt(resp_keep(s), 0, "%s: %s", s, err.msg);
    return dg_http_response_framing(&head, method, method ? strlen(method) : 0, &fr, &err);
}

Test(http1, request_without_length_has_no_body)
{
    cr_assert_eq(req_framing("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
    cr_assert_eq(fr.body, DG_BODY_NONE);
    cr_assert_eq(fr.keep_alive, 1);
}

Test(http1, request_content_length)
{
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nContent-Length: 42\r\n\r\n"), 0);
    cr_assert_eq(fr.body, DG_BODY_LENGTH);
    cr_assert_eq(fr.length, 42);
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n"), 0);
    cr_assert_eq(fr.body, DG_BODY_LENGTH);
    cr_assert_eq(fr.length, 0);
}

Test(http1, identical_content_length_values_are_one_length)
{
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n"), 0);
    cr_assert_eq(fr.length, 5);
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 005\r\n\r\n"),
                 0);
    cr_assert_eq(fr.length, 5);
}

Test(http1, rejects_conflicting_content_lengths)
{
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "conflicting"), "%s", err.msg);
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
                 DG_EPARSE);
    cr_assert_eq(resp_framing("GET", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2"
                                     "\r\n\r\n"), DG_EPARSE);
}

Test(http1, rejects_malformed_content_length)
{
    static const char *const bad[] = {"", "-1", "+5", "5 5", "0x10", "5,", ",5", "5;q",
                                      "1.0", "99999999999999999999", "9223372036854775808"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char s[128];
        snprintf(s, sizeof s, "POST / HTTP/1.1\r\nContent-Length: %s\r\n\r\n", bad[i]);
        cr_assert_eq(req_framing(s), DG_EPARSE, "Content-Length: %s", bad[i]);
    }
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nContent-Length: 9223372036854775807\r\n\r\n"),
                 0);
    cr_assert_eq(fr.length, 9223372036854775807ull);
}

Test(http1, rejects_content_length_with_transfer_encoding)
{
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"), DG_EPARSE);
    cr_assert(strstr(err.msg, "both"), "%s", err.msg);
    cr_assert_eq(resp_framing("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                     "Content-Length: 5\r\n\r\n"), DG_EPARSE);
}

Test(http1, request_chunked)
{
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"), 0);
    cr_assert_eq(fr.body, DG_BODY_CHUNKED);
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nTransfer-Encoding: ,chunked,\r\n\r\n"), 0);
    cr_assert_eq(fr.body, DG_BODY_CHUNKED);
}

Test(http1, request_transfer_coding_other_than_chunked_is_einval)
{
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
                 DG_EINVAL);
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"), DG_EINVAL);
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n"),
                 DG_EINVAL);
}

Test(http1, request_chunked_not_last_or_twice_is_eparse)
{
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"),
                 DG_EPARSE);
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nTransfer-Encoding: chunked;x=1\r\n\r\n"),
                 DG_EPARSE);
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n"), DG_EPARSE);
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nTransfer-Encoding: chun ked\r\n\r\n"),
                 DG_EPARSE);
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nTransfer-Encoding: \"chunked\"\r\n\r\n"),
                 DG_EPARSE);
    /* HTTP/1.0 has no transfer codings: the framing is faulty */
    cr_assert_eq(req_framing("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
                 DG_EPARSE);
}

Test(http1, request_keep_alive_per_version_and_connection)
{
    cr_assert_eq(req_framing("GET / HTTP/1.1\r\nConnection: close\r\n\r\n"), 0);
    cr_assert_eq(fr.keep_alive, 0);
    cr_assert_eq(req_framing("GET / HTTP/1.0\r\n\r\n"), 0);
    cr_assert_eq(fr.keep_alive, 0);
    cr_assert_eq(req_framing("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0);
    cr_assert_eq(fr.keep_alive, 1);
    cr_assert_eq(req_framing("GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
                             "Connection: close\r\n\r\n"), 0);
    cr_assert_eq(fr.keep_alive, 0);
    cr_assert_eq(req_framing("GET / HTTP/1.1\r\nConnection: x-close\r\n\r\n"), 0);
    cr_assert_eq(fr.keep_alive, 1);
}

Test(http1, request_expect_upgrade_and_content_fields)
{
    cr_assert_eq(req_framing("POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n"
                             "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
                             "Upgrade: websocket\r\n\r\n"), 0);
    cr_assert_eq(fr.expect_continue, 1);
    cr_assert_eq(fr.has_upgrade, 1);
    cr_assert(span_is(fr.content_type, fr.content_type_len, "application/json"));
    cr_assert(span_is(fr.content_encoding, fr.content_encoding_len, "gzip"));
    /* Expect is an HTTP/1.1 feature */
    cr_assert_eq(req_framing("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), 0);
    cr_assert_eq(fr.expect_continue, 0);
    cr_assert_eq(fr.has_upgrade, 0);
    cr_assert_null(fr.content_type);
}

Test(http1, several_content_encoding_fields_are_not_one_coding)
{
    cr_assert_eq(resp_framing("GET", "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
                                     "Content-Encoding: br\r\nContent-Length: 3\r\n\r\n"), 0);
    cr_assert(span_is(fr.content_encoding, fr.content_encoding_len, "multiple"));
}

Test(http1, response_framing_table)
{
    static const struct {
        const char *method, *head;
        dg_http_body_kind body;
        uint64_t length;
        int keep_alive;
    } t[] = {
        {"GET", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", DG_BODY_LENGTH, 7, 1},
        {"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n", DG_BODY_NONE, 0, 1},
        {"HEAD", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", DG_BODY_NONE, 0, 1},
        {"GET", "HTTP/1.1 100 Continue\r\n\r\n", DG_BODY_NONE, 0, 1},
        {"GET", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: ws\r\n\r\n", DG_BODY_NONE, 0, 1},
        {"GET", "HTTP/1.1 103 Early Hints\r\n\r\n", DG_BODY_NONE, 0, 1},
        {"GET", "HTTP/1.1 204 No Content\r\n\r\n", DG_BODY_NONE, 0, 1},
        {"GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", DG_BODY_NONE, 0, 1},
        {"CONNECT", "HTTP/1.1 200 OK\r\n\r\n", DG_BODY_NONE, 0, 1},
        {"CONNECT", "HTTP/1.1 407 No\r\nContent-Length: 2\r\n\r\n", DG_BODY_LENGTH, 2, 1},
        {"GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", DG_BODY_CHUNKED, 0, 1},
        {"GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", DG_BODY_CHUNKED, 0,
         1},
        {"GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", DG_BODY_CLOSE, 0, 0},
        {"GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", DG_BODY_CLOSE, 0, 0},
        {"GET", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", DG_BODY_CLOSE, 0, 0},
        {"GET", "HTTP/1.1 200 OK\r\n\r\n", DG_BODY_CLOSE, 0, 0},
        {"GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\n",
         DG_BODY_LENGTH, 1, 0},
        {"GET", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", DG_BODY_LENGTH, 1, 0},
        {"GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n",
         DG_BODY_LENGTH, 1, 1},
        {"GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n", DG_BODY_CLOSE, 0, 0},
        {NULL, "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", DG_BODY_LENGTH, 0, 1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        cr_assert_eq(resp_framing(t[i].method, t[i].head), 0, "%s %s: %s", t[i].method,
                     t[i].head, err.msg);
        cr_assert_eq(fr.body, t[i].body, "%s %s", t[i].method, t[i].head);
        cr_assert_eq(fr.length, t[i].length, "%s %s", t[i].method, t[i].head);
        cr_assert_eq(fr.keep_alive, t[i].keep_alive, "%s %s", t[i].method, t[i].head);
    }
}

Test(http1, response_chunked_applied_twice_is_eparse)
{
    cr_assert_eq(resp_framing("GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked"
                                     "\r\n\r\n"), DG_EPARSE);
    cr_assert_eq(resp_framing("GET", "HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n"),
                 DG_EPARSE);
}

/* ---- hop-by-hop --------------------------------------------------------------- */

Test(http1, hop_by_hop_fields_including_connection_named_ones)
{
    cr_assert_gt(req_keep("GET / HTTP/1.1\r\nConnection: close, X-Trace\r\n"
                          "Connection: x-other\r\nKeep-Alive: 5\r\nProxy-Foo: 1\r\nTE: trailers\r\n"
                          "Trailer: x\r\nTransfer-Encoding: chunked\r\nUpgrade: h2c\r\n"
                          "Proxy-Authorization: x\r\nProxy-Connection: x\r\n"
                          "Proxy-Authenticate: x\r\nx-trace: 1\r\nX-Other: 2\r\n"
                          "Host: a\r\nContent-Type: t\r\nX-Traced: 3\r\nclose: 4\r\n\r\n"), 0);
    size_t hop = 0;
    for (size_t i = 0; i < head.n_headers; i++) {
        int want = !(dg_http_name_is(&hs[i], "host") || dg_http_name_is(&hs[i], "content-type") ||
                     dg_http_name_is(&hs[i], "x-traced"));
        cr_assert_eq(dg_http_is_hop_by_hop(&head, &hs[i]), want, "%.*s", (int)hs[i].name_len,
                     hs[i].name);
        hop += (size_t)want;
    }
    cr_assert_eq(hop, head.n_headers - 3);
}

/* ---- chunked decoder ------------------------------------------------------------ */

typedef struct sink {
    char data[4096];
    size_t len;
    int stop_after; /* stop (DG_ESTOP) once this many bytes arrived; 0 never */
} sink;

static int collect(void *ctx, const char *p, size_t n)
{
    sink *s = ctx;
    cr_assert_lt(n, sizeof s->data - s->len + 1);
    cr_assert_gt(n, 0);
    memcpy(s->data + s->len, p, n);
    s->len += n;
    return s->stop_after && s->len >= (size_t)s->stop_after ? DG_ESTOP : 0;
}

/* Feeds msg in pieces cut at cuts[0..ncuts) (increasing); returns the total
 * consumed or the first negative code. Every piece is its own allocation. */
static ssize_t feed_cuts(const char *msg, size_t n, const size_t *cuts, size_t ncuts,
                         dg_chunked *c, sink *s)
{
    size_t off = 0, total = 0;
    dg_chunked_init(c);
    s->len = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : n;
        char *piece = dup_exact(msg + off, end - off);
        ssize_t r = dg_chunked_feed(c, piece, end - off, collect, s, &err);
        free(piece);
        if (r < 0)
            return r;
        cr_assert_leq((size_t)r, end - off);
        if ((size_t)r < end - off)
            cr_assert(c->done, "stopped early without being done");
        total += (size_t)r;
        if (c->done)
            return (ssize_t)total;
        off = end;
    }
    return (ssize_t)total;
}

static ssize_t feed_all(const char *msg, dg_chunked *c, sink *s)
{
    return feed_cuts(msg, strlen(msg), NULL, 0, c, s);
}

static const char sample[] = "4;name=\"quoted;value\";x\r\nWiki\r\n5\r\npedia\r\n"
                             "E\r\n in\r\n\r\nchunks.\r\n0;last\r\nExpires: never\r\n"
                             "X-Trailer: a b\r\n\r\n";
static const char sample_payload[] = "Wikipedia in\r\n\r\nchunks.";

Test(http1, chunked_decodes_with_extensions_and_trailers)
{
    dg_chunked c;
    sink s = {0};
    cr_assert_eq(feed_all(sample, &c, &s), (ssize_t)strlen(sample));
    cr_assert_eq(c.done, 1);
    cr_assert_eq(s.len, strlen(sample_payload));
    cr_assert_eq(memcmp(s.data, sample_payload, s.len), 0);
    cr_assert_eq(c.payload, strlen(sample_payload));
}

Test(http1, chunked_every_split_position_gives_the_same_result)
{
    size_t n = strlen(sample);
    dg_chunked c;
    sink s = {0};
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i; j <= n; j++) {
            size_t cuts[2] = {i, j};
            cr_assert_eq(feed_cuts(sample, n, cuts, 2, &c, &s), (ssize_t)n, "cuts %zu %zu", i, j);
            cr_assert_eq(c.done, 1);
            cr_assert_eq(s.len, strlen(sample_payload));
            cr_assert_eq(memcmp(s.data, sample_payload, s.len), 0);
        }
    }
}

Test(http1, chunked_one_byte_at_a_time)
{
    size_t n = strlen(sample), cuts[sizeof sample];
    for (size_t i = 0; i + 1 < n; i++)
        cuts[i] = i + 1;
    dg_chunked c;
    sink s = {0};
    cr_assert_eq(feed_cuts(sample, n, cuts, n - 1, &c, &s), (ssize_t)n);
    cr_assert_eq(s.len, strlen(sample_payload));
}

Test(http1, chunked_does_not_consume_the_next_message)
{
    const char *two = "3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n";
    dg_chunked c;
    sink s = {0};
    cr_assert_eq(feed_all(two, &c, &s), 13);
    cr_assert_eq(c.done, 1);
    /* once done, nothing more belongs to it */
    cr_assert_eq(dg_chunked_feed(&c, "x", 1, collect, &s, &err), 0);
    /* every split: the count still ends exactly at the message end */
    size_t n = strlen(two);
    for (size_t i = 0; i <= n; i++) {
        size_t cut = i;
        cr_assert_eq(feed_cuts(two, n, &cut, 1, &c, &s), 13, "cut %zu", i);
    }
}

Test(http1, chunked_incomplete_is_not_done)
{
    dg_chunked c;
    sink s = {0};
    const char *part = "3\r\nabc\r\n0\r\nX: y\r\n";
    cr_assert_eq(feed_all(part, &c, &s), (ssize_t)strlen(part));
    cr_assert_eq(c.done, 0);
    cr_assert_eq(dg_chunked_feed(&c, "\r\n", 2, collect, &s, &err), 2);
    cr_assert_eq(c.done, 1);
}

Test(http1, chunked_size_digits_and_case)
{
    dg_chunked c;
    sink s = {0};
    cr_assert_eq(feed_all("000000000000003\r\nabc\r\n00\r\n\r\n", &c, &s), 28);
    cr_assert_eq(s.len, 3);
    cr_assert_eq(feed_all("a\r\n0123456789\r\nA\r\n0123456789\r\n0\r\n\r\n", &c, &s), 35);
    cr_assert_eq(s.len, 20);
    /* BWS before ';' is tolerated */
    cr_assert_eq(feed_all("1 \t;x\r\na\r\n0\r\n\r\n", &c, &s), 15);
}

Test(http1, chunked_rejects_malformed_sizes)
{
    static const char *const bad[] = {
        "\r\nabc\r\n0\r\n\r\n",            /* empty size */
        ";x\r\n",                          /* empty size before extension */
        "g\r\n",                           /* not hex */
        "0x3\r\nabc\r\n0\r\n\r\n",         /* 0x prefix */
        "-3\r\n", "+3\r\n",
        "0000000000000003\r\nabc\r\n",     /* 16 digits */
        "fffffffffffffffff\r\n",           /* would overflow */
        "3 \r\nabc\r\n",                   /* trailing whitespace without ';' */
        "3\nabc\r\n",                      /* bare LF */
        "3\rabc\r\n",                      /* bare CR */
        "3;a\nb\r\nabc\r\n",               /* LF inside an extension */
        "3;a\x01\r\nabc\r\n",              /* CTL inside an extension */
        "3\r\nabcd\r\n",                   /* data longer than the size */
        "3\r\nabc\n0\r\n\r\n",             /* missing CR after data */
        "3\r\nabc\rx",                     /* CR not followed by LF */
        "0\r\n\n",                         /* bare LF ending the trailers */
        "0\r\n\r\r",
        "0\r\n X: y\r\n\r\n",              /* folded trailer */
        "0\r\nX : y\r\n\r\n",              /* whitespace before colon */
        "0\r\nX\r\n\r\n",                  /* no colon */
        "0\r\nX: a\x7f\r\n\r\n",           /* DEL in a trailer value */
        "0\r\nX: a\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dg_chunked c;
        sink s = {0};
        ssize_t r = feed_all(bad[i], &c, &s);
        cr_assert_eq(r, DG_EPARSE, "case %zu: got %zd", i, r);
        cr_assert(err.has_offset);
        /* errors are sticky */
        cr_assert_eq(dg_chunked_feed(&c, "0\r\n\r\n", 5, collect, &s, &err), DG_EPARSE);
    }
}

Test(http1, chunked_error_offset_is_within_the_call)
{
    dg_chunked c;
    sink s = {0};
    dg_chunked_init(&c);
    cr_assert_eq(dg_chunked_feed(&c, "3\r\nab", 5, collect, &s, &err), 5);
    cr_assert_eq(dg_chunked_feed(&c, "cX", 2, collect, &s, &err), DG_EPARSE);
    cr_assert_eq(err.offset, 1);
    cr_assert(strstr(err.msg, "CRLF"), "%s", err.msg);
}

Test(http1, chunked_extension_line_is_bounded)
{
    size_t n = DG_CHUNKED_MAX_LINE + 16;
    char *msg = malloc(n + 1);
    cr_assert_not_null(msg);
    memset(msg, 'x', n);
    memcpy(msg, "1;", 2);
    msg[n] = '\0';
    dg_chunked c;
    sink s = {0};
    cr_assert_eq(feed_all(msg, &c, &s), DG_ELIMIT);
    /* just under the bound is fine */
    size_t ok = DG_CHUNKED_MAX_LINE - 1;
    memcpy(msg + ok, "\r\na\r\n0\r\n\r\n", 11);
    cr_assert_eq(feed_all(msg, &c, &s), (ssize_t)(ok + 10), "%s", err.msg);
    free(msg);
}

Test(http1, chunked_trailer_section_is_bounded)
{
    size_t n = DG_CHUNKED_MAX_TRAILER + 64, len = 0;
    char *msg = malloc(n + 32);
    cr_assert_not_null(msg);
    len += (size_t)sprintf(msg, "0\r\n");
    while (len < n)
        len += (size_t)sprintf(msg + len, "X-Pad: 0123456789\r\n");
    strcpy(msg + len, "\r\n");
    dg_chunked c;
    sink s = {0};
    cr_assert_eq(feed_all(msg, &c, &s), DG_ELIMIT);
    free(msg);
}

Test(http1, chunked_callback_can_stop)
{
    dg_chunked c;
    sink s = {.stop_after = 2};
    cr_assert_eq(feed_all("3\r\nabc\r\n0\r\n\r\n", &c, &s), DG_ESTOP);
    cr_assert_eq(dg_chunked_feed(&c, "0", 1, collect, &s, &err), DG_ESTOP);
}

Test(http1, chunked_without_callback_still_frames)
{
    dg_chunked c;
    dg_chunked_init(&c);
    cr_assert_eq(dg_chunked_feed(&c, "2\r\nab\r\n0\r\n\r\nGET", 15, NULL, NULL, NULL), 12);
    cr_assert_eq(c.payload, 2);
    cr_assert_eq(c.done, 1);
}
