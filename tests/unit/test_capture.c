/* tests/unit/test_capture.c: reading recorded traffic for `driftgate
 * replay`: HAR 1.2 (bodies plain, base64, absent), driftgate's JSON-lines
 * capture, anomaly lines, and every kind of broken entry with its
 * location. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/capture.h"

static char path[64];

static void cleanup(void)
{
    if (path[0])
        unlink(path);
    path[0] = 0;
}

TestSuite(capture, .fini = cleanup);

static const char *write_file(const char *text, size_t n)
{
    strcpy(path, "/tmp/dg_capture_XXXXXX");
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

static dg_capture *open_text(const char *text, uint64_t max)
{
    dg_capture *c = NULL;
    dg_error err = {0};
    int rc = dg_capture_open(write_file(text, strlen(text)), max, &c, &err);
    cr_assert_eq(rc, 0, "%s", err.msg);
    return c;
}

/* ------------------------------------------------------------ HAR */

static const char HAR[] =
    "{\n"
    "  \"log\": {\n"
    "    \"version\": \"1.2\",\n"
    "    \"creator\": {\"name\": \"test\", \"version\": \"1\"},\n"
    "    \"entries\": [\n"
    "      {\"startedDateTime\": \"2026-11-25T22:25:31.615Z\",\n"
    "       \"request\": {\"method\": \"GET\", \"url\": \"https://shop.example:8443/items/1?x=1\",\n"
    "                   \"headers\": [{\"name\": \"Host\", \"value\": \"ignored.example\"}]},\n"
    "       \"response\": {\"status\": 200,\n"
    "                    \"headers\": [{\"name\": \"content-type\", \"value\": \"application/json\"},\n"
    "                                {\"name\": \"Content-Encoding\", \"value\": \"gzip\"}],\n"
    "                    \"content\": {\"size\": 9, \"mimeType\": \"text/plain\", \"text\": \"{\\\"id\\\":1}\"}}},\n"
    "      {\"startedDateTime\": \"2026-11-25T23:25:31.5+01:00\",\n"
    "       \"request\": {\"method\": \"GET\", \"url\": \"http://shop.example/items/2\"},\n"
    "       \"response\": {\"status\": 200, \"headers\": [],\n"
    "                    \"content\": {\"size\": 8, \"mimeType\": \"application/json\",\n"
    "                                \"text\": \"eyJpZCI6Mn0=\", \"encoding\": \"base64\"}}},\n"
    "      {\"request\": {\"method\": \"GET\", \"url\": \"http://shop.example/items/3\"},\n"
    "       \"response\": {\"status\": 200, \"content\": {\"size\": 120, \"mimeType\": \"application/json\"}}},\n"
    "      {\"request\": {\"method\": \"GET\", \"url\": \"http://shop.example/ping\"},\n"
    "       \"response\": {\"status\": 204, \"content\": {\"size\": 0}}},\n"
    "      {\"request\": {\"method\": \"GET\", \"url\": \"http://shop.example/x\"},\n"
    "       \"response\": {\"headers\": []}},\n"
    "      {\"request\": {\"url\": \"http://shop.example/x\"}, \"response\": {\"status\": 200}},\n"
    "      {\"request\": {\"method\": \"GET\", \"url\": \"http://shop.example/y\"},\n"
    "       \"response\": {\"status\": 200, \"content\": {\"text\": \"!!!\", \"encoding\": \"base64\"}}},\n"
    "      {\"startedDateTime\": \"yesterday\", \"request\": {\"method\": \"GET\", \"url\": \"/z\"},\n"
    "       \"response\": {\"status\": 200}},\n"
    "      {\"request\": {\"method\": \"GET\", \"url\": \"http://shop.example/aborted\"},\n"
    "       \"response\": {\"status\": 0, \"content\": {\"size\": -1}}}\n"
    "    ]\n"
    "  }\n"
    "}\n";

Test(capture, har_detected_and_plain_body_read)
{
    dg_capture *c = open_text(HAR, 0);
    cr_assert_eq(dg_capture_format_of(c), DG_CAPTURE_HAR);
    dg_capture_entry e;
    dg_error err = {0};
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.location, "entries[0]");
    cr_assert_str_eq(e.method, "GET");
    cr_assert_str_eq(e.url, "https://shop.example:8443/items/1?x=1");
    cr_assert_str_eq(e.host, "shop.example:8443", "the URL's authority beats the Host header");
    cr_assert_eq(e.status, 200);
    cr_assert_str_eq(e.content_type, "application/json", "the header beats content.mimeType");
    cr_assert_null(e.content_encoding, "HAR text is already decoded: Content-Encoding ignored");
    cr_assert_eq(e.has_body, 1);
    cr_assert_eq(e.body_len, 8);
    cr_assert_eq(memcmp(e.body, "{\"id\":1}", 8), 0);
    cr_assert_eq(e.ts_ms, 1795645531615LL);
    cr_assert_null(e.anomaly);
    dg_capture_close(c);
}

Test(capture, har_base64_body_and_zone_offset)
{
    dg_capture *c = open_text(HAR, 0);
    dg_capture_entry e;
    dg_error err = {0};
    cr_assert_eq(dg_capture_next(c, &e, &err), 1);
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.location, "entries[1]");
    cr_assert_eq(e.body_len, 8);
    cr_assert_eq(memcmp(e.body, "{\"id\":2}", 8), 0);
    cr_assert_str_eq(e.content_type, "application/json", "content.mimeType when no header");
    cr_assert_eq(e.ts_ms, 1795645531500LL, "+01:00 is an hour ahead of UTC");
    dg_capture_close(c);
}

Test(capture, har_absent_bodies)
{
    dg_capture *c = open_text(HAR, 0);
    dg_capture_entry e;
    dg_error err = {0};
    for (int i = 0; i < 3; i++)
        cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.location, "entries[2]");
    cr_assert_eq(e.has_body, -1, "a body of 120 bytes that was not recorded");
    cr_assert_eq(e.body_len, 0);
    cr_assert_eq(e.ts_ms, 0, "no startedDateTime: unknown");
    cr_assert_eq(dg_capture_next(c, &e, &err), 1);
    cr_assert_eq(e.status, 204);
    cr_assert_eq(e.has_body, 0, "size 0: no body");
    dg_capture_close(c);
}

Test(capture, har_broken_entries_are_located_and_iteration_goes_on)
{
    dg_capture *c = open_text(HAR, 0);
    dg_capture_entry e;
    dg_error err = {0};
    for (int i = 0; i < 4; i++)
        cr_assert_eq(dg_capture_next(c, &e, &err), 1);
    cr_assert_eq(dg_capture_next(c, &e, &err), DG_EPARSE);
    cr_assert_str_eq(err.pointer, "/log/entries/4/response/status");
    cr_assert_str_eq(e.location, "entries[4]");
    cr_assert(strstr(err.file, "dg_capture_"));
    cr_assert_eq(dg_capture_next(c, &e, &err), DG_EPARSE);
    cr_assert_str_eq(err.pointer, "/log/entries/5/request/method");
    cr_assert_eq(dg_capture_next(c, &e, &err), DG_EPARSE);
    cr_assert_str_eq(err.pointer, "/log/entries/6/response/content/text");
    cr_assert(strstr(err.msg, "base64"), "%s", err.msg);
    cr_assert_eq(dg_capture_next(c, &e, &err), DG_EPARSE);
    cr_assert_str_eq(err.pointer, "/log/entries/7/startedDateTime");
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.location, "entries[8]");
    cr_assert_eq(e.status, 0, "an aborted request: no response");
    cr_assert_eq(dg_capture_next(c, &e, &err), 0);
    cr_assert_eq(dg_capture_next(c, &e, &err), 0, "the end stays the end");
    dg_capture_close(c);
}

Test(capture, har_gzip_still_encoded_keeps_its_content_encoding)
{
    /* base64 of the first bytes of a gzip stream (1f 8b 08 00) */
    const char *har =
        "{\"log\":{\"entries\":[{\"request\":{\"method\":\"GET\",\"url\":\"/a\"},"
        "\"response\":{\"status\":200,\"headers\":[{\"name\":\"Content-Encoding\",\"value\":\"gzip\"}],"
        "\"content\":{\"size\":4,\"text\":\"H4sIAA==\",\"encoding\":\"base64\"}}}]}}";
    dg_capture *c = open_text(har, 0);
    dg_capture_entry e;
    dg_error err = {0};
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.content_encoding, "gzip");
    cr_assert_eq(e.body_len, 4);
    cr_assert_null(e.host, "an origin-form URL without a Host header: unknown");
    dg_capture_close(c);
}

Test(capture, har_syntax_error_fails_open_with_line_and_column)
{
    const char *bad = "{\"log\": {\"entries\": [\n  {\"request\": }\n]}}";
    dg_capture *c = NULL;
    dg_error err = {0};
    cr_assert_eq(dg_capture_open(write_file(bad, strlen(bad)), 0, &c, &err), DG_EPARSE);
    cr_assert_null(c);
    cr_assert_eq(err.line, 2);
    cr_assert_gt(err.col, 0);
}

Test(capture, har_without_entries_is_not_a_har)
{
    const char *bad = "{\"log\": {\"version\": \"1.2\"}}";
    dg_capture *c = NULL;
    dg_error err = {0};
    cr_assert_eq(dg_capture_open(write_file(bad, strlen(bad)), 0, &c, &err), DG_EPARSE);
    cr_assert_str_eq(err.pointer, "/log/entries");
}

Test(capture, har_over_the_size_limit)
{
    dg_capture *c = NULL;
    dg_error err = {0};
    cr_assert_eq(dg_capture_open(write_file(HAR, sizeof HAR - 1), 100, &c, &err), DG_ELIMIT);
    cr_assert(strstr(err.msg, "limit"), "%s", err.msg);
}

/* ------------------------------------------------------------ JSON lines */

Test(capture, jsonl_exchange_lines)
{
    const char *t =
        "{\"ts\":\"2026-11-25T22:25:31.615Z\",\"method\":\"GET\",\"url\":\"/items/1\","
        "\"status\":200,\"headers\":{\"Content-Type\":\"application/json\",\"host\":\"a.example:81\"},"
        "\"body\":\"{\\\"id\\\":1}\"}\n"
        "{\"ts\":1795645531000,\"method\":\"GET\",\"url\":\"http://b.example/items\",\"status\":200,"
        "\"headers\":[{\"name\":\"Content-Encoding\",\"value\":\"gzip\"}],\"body_base64\":\"H4sIAA==\"}\n"
        "{\"method\":\"GET\",\"url\":\"/x\",\"status\":200,\"body\":{\"id\":3,\"tags\":[\"a\"]}}\n"
        "{\"method\":\"GET\",\"url\":\"/x\",\"status\":204,\"body\":null}\n";
    dg_capture *c = open_text(t, 0);
    cr_assert_eq(dg_capture_format_of(c), DG_CAPTURE_JSONL);
    dg_capture_entry e;
    dg_error err = {0};
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.location, "line 1");
    cr_assert_str_eq(e.url, "/items/1");
    cr_assert_str_eq(e.host, "a.example:81", "from the Host header");
    cr_assert_str_eq(e.content_type, "application/json");
    cr_assert_eq(e.ts_ms, 1795645531615LL);
    cr_assert_eq(e.has_body, 1);
    cr_assert_eq(e.body_len, 8);
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.host, "b.example");
    cr_assert_str_eq(e.content_encoding, "gzip", "JSON-lines bodies are as on the wire");
    cr_assert_eq(e.body_len, 4);
    cr_assert_eq((unsigned char)e.body[0], 0x1f);
    cr_assert_eq(e.ts_ms, 1795645531000LL);
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_eq(e.body_len, strlen("{\"id\":3,\"tags\":[\"a\"]}"));
    cr_assert_eq(memcmp(e.body, "{\"id\":3,\"tags\":[\"a\"]}", e.body_len), 0,
                 "a JSON body value is its compact text");
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_eq(e.has_body, 0);
    cr_assert_eq(dg_capture_next(c, &e, &err), 0);
    dg_capture_close(c);
}

Test(capture, jsonl_anomaly_lines)
{
    const char *t =
        "{\"ts\":\"2026-11-25T22:25:31.615Z\",\"api\":\"shop\",\"operation\":\"getItem\","
        "\"method\":\"GET\",\"path_template\":\"/items/{id}\",\"status\":200,"
        "\"media_type\":\"application/json\",\"kind\":\"type\",\"severity\":\"info\","
        "\"instance_pointer\":\"/price\",\"schema_pointer\":\"shop.yaml#/x/type\","
        "\"message\":\"expected number, got string\",\"shape\":{\"type\":\"string\",\"length\":4},"
        "\"spec_hash\":\"abc\",\"owner\":\"team\"}\n"
        "{\"api\":\"shop\",\"kind\":\"required\"}\n";
    dg_capture *c = open_text(t, 0);
    dg_capture_entry e;
    dg_error err = {0};
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_not_null(e.anomaly);
    dg_anomaly *a = e.anomaly;
    cr_assert_str_eq(a->api, "shop");
    cr_assert_str_eq(a->kind, "type");
    cr_assert_eq(a->severity, DG_SEV_INFO);
    cr_assert_eq(a->status, 200);
    cr_assert_str_eq(a->shape_type, "string");
    cr_assert_eq(a->shape_length, 4);
    cr_assert_null(a->shape_number_class);
    cr_assert_str_eq(a->owner, "team");
    cr_assert_eq(a->ts_ns, 1795645531615LL * 1000000);
    dg_anomaly_free(a);
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_eq(e.anomaly->severity, DG_SEV_ERROR, "severity defaults to error");
    cr_assert_eq(e.anomaly->ts_ns, 0, "no ts: 0");
    cr_assert_null(e.anomaly->instance_pointer);
    dg_anomaly_free(e.anomaly);
    dg_capture_close(c);
}

/* Round trip: what dg_anomaly_to_json writes is read back as an anomaly. */
Test(capture, anomaly_written_by_the_proxy_reads_back)
{
    dg_anomaly a = {0};
    a.ts_ns = 1795645531615LL * 1000000;
    a.api = "pets";
    a.operation = "getPet";
    a.status = 503;
    a.kind = "undocumented_status";
    a.message = "status 503 is not documented";
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg_anomaly_to_json(&a, &b), 0);
    dg_buf_putc(&b, '\n');
    dg_capture *c = open_text(b.data, 0);
    dg_buf_free(&b);
    dg_capture_entry e;
    dg_error err = {0};
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_not_null(e.anomaly);
    cr_assert_str_eq(e.anomaly->operation, "getPet");
    cr_assert_eq(e.anomaly->status, 503);
    cr_assert_eq(e.anomaly->ts_ns, a.ts_ns);
    dg_anomaly_free(e.anomaly);
    dg_capture_close(c);
}

Test(capture, jsonl_broken_lines_are_located)
{
    const char *t =
        "{\"method\":\"GET\",\"url\":\"/a\",\"status\":200}\n"
        "this is not json\n"
        "[1,2]\n"
        "{\"method\":\"GET\",\"url\":\"/a\"}\n"
        "{\"method\":\"GET\",\"url\":\"/a\",\"status\":200,\"body\":\"x\",\"body_base64\":\"eA==\"}\n"
        "{\"method\":\"GET\",\"url\":\"/a\",\"status\":200,\"body_base64\":\"e\"}\n"
        "{\"hello\":1}\n"
        "{\"method\":\"GET\",\"url\":\"/a\",\"status\":200,\"ts\":\"nope\"}\n"
        "{\"method\":\"GET\",\"url\":\"/a\",\"status\":200,\"headers\":{\"Content-Type\":5}}\n"
        "{\"api\":\"x\",\"kind\":\"type\",\"severity\":\"fatal\"}\n"
        "{\"method\":\"GET\",\"url\":\"/last\",\"status\":201}\n";
    dg_capture *c = open_text(t, 0);
    dg_capture_entry e;
    dg_error err = {0};
    cr_assert_eq(dg_capture_next(c, &e, &err), 1);
    struct {
        unsigned line;
        const char *pointer;
    } want[] = {{2, ""},        {3, ""},      {4, "/status"}, {5, "/body_base64"},
                {6, "/body_base64"}, {7, ""}, {8, "/ts"},     {9, "/headers/Content-Type"},
                {10, "/severity"}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        memset(&err, 0, sizeof err);
        int rc = dg_capture_next(c, &e, &err);
        cr_assert_lt(rc, 0, "line %u should be broken", want[i].line);
        cr_assert_eq(err.line, want[i].line, "got line %u: %s", err.line, err.msg);
        cr_assert_gt(err.col, 0);
        cr_assert_str_eq(err.pointer, want[i].pointer, "line %u: %s", want[i].line, err.msg);
        char loc[32];
        snprintf(loc, sizeof loc, "line %u", want[i].line);
        cr_assert_str_eq(e.location, loc);
        cr_assert(strstr(err.file, "dg_capture_"));
    }
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.url, "/last");
    cr_assert_eq(dg_capture_next(c, &e, &err), 0);
    dg_capture_close(c);
}

Test(capture, a_line_that_is_not_json_names_its_column)
{
    dg_capture *c = open_text("{\"method\": GET}\n", 0);
    dg_capture_entry e;
    dg_error err = {0};
    cr_assert_eq(dg_capture_next(c, &e, &err), DG_EPARSE);
    cr_assert_eq(err.line, 1);
    cr_assert_gt(err.col, 1, "jansson's column");
    cr_assert(strstr(err.msg, "not JSON"), "%s", err.msg);
    dg_capture_close(c);
}

Test(capture, a_pretty_printed_document_gets_a_hint)
{
    dg_capture *c = open_text("{\n  \"a\": 1\n}\n", 0);
    dg_capture_entry e;
    dg_error err = {0};
    cr_assert_eq(dg_capture_next(c, &e, &err), DG_EPARSE);
    cr_assert(strstr(err.msg, "several lines"), "%s", err.msg);
    dg_capture_close(c);
}

Test(capture, a_huge_line_over_the_cap_is_skipped_not_held)
{
    size_t big = 1 << 20;
    char *t = malloc(big + 200);
    cr_assert_not_null(t);
    size_t n = (size_t)sprintf(t, "{\"method\":\"GET\",\"url\":\"/a\",\"status\":200,\"body\":\"");
    memset(t + n, 'x', big);
    n += big;
    n += (size_t)sprintf(t + n, "\"}\n{\"method\":\"GET\",\"url\":\"/b\",\"status\":200}\n");
    dg_capture *c = NULL;
    dg_error err = {0};
    cr_assert_eq(dg_capture_open(write_file(t, n), 4096, &c, &err), 0, "%s", err.msg);
    free(t);
    dg_capture_entry e;
    cr_assert_eq(dg_capture_next(c, &e, &err), DG_ELIMIT);
    cr_assert_eq(err.line, 1);
    cr_assert(strstr(err.msg, "4096"), "%s", err.msg);
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.url, "/b");
    cr_assert_str_eq(e.location, "line 2");
    cr_assert_eq(dg_capture_next(c, &e, &err), 0);
    dg_capture_close(c);
}

Test(capture, crlf_lines_blank_lines_and_a_bom)
{
    const char *t = "\xef\xbb\xbf{\"method\":\"GET\",\"url\":\"/a\",\"status\":200,\"body\":\"{}\"}\r\n"
                    "\r\n"
                    "   \n"
                    "{\"method\":\"GET\",\"url\":\"/b\",\"status\":200}\r\n"
                    "{\"method\":\"GET\",\"url\":\"/c\",\"status\":200}";  /* no final newline */
    dg_capture *c = open_text(t, 0);
    dg_capture_entry e;
    dg_error err = {0};
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.url, "/a");
    cr_assert_eq(e.body_len, 2);
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.url, "/b");
    cr_assert_str_eq(e.location, "line 4", "blank lines are counted, not returned");
    cr_assert_eq(dg_capture_next(c, &e, &err), 1, "%s", err.msg);
    cr_assert_str_eq(e.url, "/c");
    cr_assert_eq(dg_capture_next(c, &e, &err), 0);
    dg_capture_close(c);
}

Test(capture, empty_file_has_no_entries)
{
    dg_capture *c = NULL;
    dg_error err = {0};
    cr_assert_eq(dg_capture_open(write_file("", 0), 0, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(dg_capture_format_of(c), DG_CAPTURE_JSONL);
    dg_capture_entry e;
    cr_assert_eq(dg_capture_next(c, &e, &err), 0);
    dg_capture_close(c);
}

Test(capture, missing_file_and_directory_are_io_errors)
{
    dg_capture *c = NULL;
    dg_error err = {0};
    cr_assert_eq(dg_capture_open("/nonexistent/dg.har", 0, &c, &err), DG_EIO);
    cr_assert(strstr(err.msg, "/nonexistent/dg.har"), "%s", err.msg);
    cr_assert_eq(dg_capture_open("/tmp", 0, &c, &err), DG_EIO);
    cr_assert_null(c);
}
