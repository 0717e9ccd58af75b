/* Unit tests for validate/doc.c and validate/doc_yaml.c: JSON and YAML
 * loading, locations, number texts, YAML core schema, anchors/merges,
 * limits, errors and JSON pointers. Run from the repository root (paths to
 * ../shared/testdata are relative to it). */
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "validate/doc.h"

#define OAI "../shared/testdata/openapi/oai-examples/"
#define REAL "../shared/testdata/openapi/real-world/"

static dg_doc *load(const char *text, dg_doc_syntax syn)
{
    dg_doc *d = NULL;
    dg_error err;
    memset(&err, 0, sizeof err);
    int rc = dg_doc_load_buffer("t", text, strlen(text), syn, &d, &err);
    char msg[1024];
    cr_assert_eq(rc, 0, "load failed (%d): %s", rc, dg_error_format(&err, msg, sizeof msg));
    cr_assert_not_null(d);
    return d;
}

static int load_err(const char *text, dg_doc_syntax syn, dg_error *err)
{
    dg_doc *d = (dg_doc *)1;
    memset(err, 0, sizeof *err);
    int rc = dg_doc_load_buffer("t.src", text, strlen(text), syn, &d, err);
    cr_assert_neq(rc, 0, "expected failure for: %s", text);
    cr_assert_null(d);
    cr_assert_eq(err->code, rc);
    cr_assert_str_eq(err->file, "t.src");
    return rc;
}

static json_t *at(dg_doc *d, const char *ptr)
{
    json_t *v = dg_json_pointer_get(dg_doc_root(d), ptr, strlen(ptr), 0);
    cr_assert_not_null(v, "no node at %s", ptr);
    return v;
}

static void assert_loc(dg_doc *d, const json_t *node, unsigned line, unsigned col)
{
    unsigned l = 0, c = 0;
    cr_assert_eq(dg_doc_loc(d, node, &l, &c), 0, "node has no location");
    cr_assert(l == line && c == col, "location %u:%u, expected %u:%u", l, c, line, col);
}

static void assert_str(json_t *v, const char *s)
{
    cr_assert(json_is_string(v), "not a string (type %d), expected \"%s\"", json_typeof(v), s);
    cr_assert_str_eq(json_string_value(v), s);
}

static void assert_int(json_t *v, json_int_t i)
{
    cr_assert(json_is_integer(v), "not an integer (type %d)", v ? (int)json_typeof(v) : -1);
    cr_assert_eq(json_integer_value(v), i, "%lld != %lld", (long long)json_integer_value(v),
                 (long long)i);
}

static void assert_real_text(dg_doc *d, json_t *v, double x, const char *text)
{
    cr_assert(json_is_real(v), "not a real (type %d)", v ? (int)json_typeof(v) : -1);
    cr_assert_eq(json_real_value(v), x, "%.17g != %.17g", json_real_value(v), x);
    const char *t = dg_doc_number_text(d, v);
    cr_assert_not_null(t, "real has no number text");
    cr_assert_str_eq(t, text);
}

/* ---- twins and real-world specs ------------------------------------------ */

static void check_twin(const char *base)
{
    char yp[512], jp[512], msg[1024];
    snprintf(yp, sizeof yp, "%s.yaml", base);
    snprintf(jp, sizeof jp, "%s.json", base);
    dg_doc *y = NULL, *j = NULL;
    dg_error err;
    int rc = dg_doc_load_file(yp, DG_DOC_AUTO, &y, &err);
    cr_assert_eq(rc, 0, "%s", dg_error_format(&err, msg, sizeof msg));
    rc = dg_doc_load_file(jp, DG_DOC_AUTO, &j, &err);
    cr_assert_eq(rc, 0, "%s", dg_error_format(&err, msg, sizeof msg));
    cr_assert(json_equal(dg_doc_root(y), dg_doc_root(j)), "%s: YAML and JSON trees differ", base);
    cr_assert_str_eq(dg_doc_name(y), yp);
    dg_doc_free(y);
    dg_doc_free(j);
}

Test(doc, yaml_and_json_twins_give_equal_trees)
{
    static const char *const twins[] = {
        OAI "v3.0/api-with-examples", OAI "v3.0/callback-example", OAI "v3.0/link-example",
        OAI "v3.0/petstore-expanded", OAI "v3.0/petstore",         OAI "v3.0/uspto",
        OAI "v3.1/non-oauth-scopes",  OAI "v3.1/webhook-example",
    };
    for (size_t i = 0; i < sizeof twins / sizeof twins[0]; i++)
        check_twin(twins[i]);
}

Test(doc, real_world_specs_load)
{
    static const char *const files[] = {
        REAL "stripe/spec3.json",
        REAL "box/openapi.json",
        REAL "discord/openapi.json",
        REAL "twilio/twilio_api_v2010.json",
        REAL "twilio/twilio_verify_v2.yaml",
        REAL "openai/openapi.yaml",
        REAL "openai/3.0.0-498c71d/openapi.yaml",
        REAL "redocly-museum/openapi.yaml",
        REAL "apis-guru/xkcd.com/1.0.0/openapi.yaml",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        dg_doc *d = NULL;
        dg_error err;
        char msg[1024];
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = dg_doc_load_file(files[i], DG_DOC_AUTO, &d, &err);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        cr_assert_eq(rc, 0, "%s", dg_error_format(&err, msg, sizeof msg));
        json_t *root = dg_doc_root(d);
        cr_assert(json_is_object(root), "%s: root is not an object", files[i]);
        cr_assert(json_object_get(root, "openapi") || json_object_get(root, "swagger"),
                  "%s: no openapi/swagger member", files[i]);
        cr_assert_not_null(json_object_get(root, "paths"), "%s: no paths", files[i]);
        assert_loc(d, root, 1, 1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        /* Generous even under sanitizers; the real figure is in the report. */
        cr_assert_lt(secs, 10.0, "%s took %.2fs", files[i], secs);
        dg_doc_free(d);
    }
}

Test(doc, json_trees_match_janssons_own_parser)
{
    static const char *const files[] = {
        REAL "stripe/spec3.json", REAL "box/openapi.json", REAL "discord/openapi.json",
        REAL "twilio/twilio_api_v2010.json", OAI "v3.0/uspto.json",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        dg_doc *d = NULL;
        dg_error err;
        json_error_t jerr;
        cr_assert_eq(dg_doc_load_file(files[i], DG_DOC_JSON, &d, &err), 0, "%s", files[i]);
        json_t *j = json_load_file(files[i], 0, &jerr);
        cr_assert_not_null(j, "%s: %s", files[i], jerr.text);
        cr_assert(json_equal(j, dg_doc_root(d)), "%s: trees differ", files[i]);
        json_decref(j);
        dg_doc_free(d);
    }
}

Test(doc, stripe_locations_point_into_the_file)
{
    dg_doc *d = NULL;
    dg_error err;
    cr_assert_eq(dg_doc_load_file(REAL "stripe/spec3.json", DG_DOC_AUTO, &d, &err), 0);
    json_t *v = dg_json_pointer_get(dg_doc_root(d), "/openapi", 8, 0);
    cr_assert(json_is_string(v));
    unsigned l, c;
    cr_assert_eq(dg_doc_loc(d, v, &l, &c), 0);
    cr_assert(l >= 1 && c >= 1);
    dg_doc_free(d);
}

/* ---- locations ------------------------------------------------------------ */

Test(doc, json_locations_of_values_and_containers)
{
    const char *text = "{\n"                  /* 1 */
                       "  \"a\": 1,\n"        /* 2 */
                       "  \"b\": [\n"         /* 3 */
                       "    \"s\",\n"         /* 4 */
                       "    {\"c\": 7}\n"     /* 5 */
                       "  ],\n"               /* 6 */
                       "    \"key\": \"x\",\n" /* 7: key at col 5 */
                       "  \"n\": 1.5\n"       /* 8 */
                       "}\n";
    dg_doc *d = load(text, DG_DOC_JSON);
    assert_loc(d, dg_doc_root(d), 1, 1);
    assert_loc(d, at(d, "/a"), 2, 8);
    assert_loc(d, at(d, "/b"), 3, 8);
    assert_loc(d, at(d, "/b/0"), 4, 5);
    assert_loc(d, at(d, "/b/1"), 5, 5);
    assert_loc(d, at(d, "/b/1/c"), 5, 11);
    assert_loc(d, at(d, "/key"), 7, 12);
    assert_loc(d, at(d, "/n"), 8, 8);
    dg_doc_free(d);
}

Test(doc, json_value_on_line_7_col_5_reports_7_5)
{
    /* A value that begins on line 7 column 5. */
    const char *ok = "{\"paths\":\n\n\n\n\n\n"
                     "    {\"get\": {}}}\n";
    dg_doc *d = load(ok, DG_DOC_JSON);
    assert_loc(d, at(d, "/paths"), 7, 5);
    assert_loc(d, at(d, "/paths/get"), 7, 13);
    dg_doc_free(d);
}

Test(doc, yaml_locations_of_values_and_mappings)
{
    const char *text = "openapi: 3.0.0\n"   /* 1 */
                       "info:\n"            /* 2 */
                       "  title: t\n"       /* 3 */
                       "paths:\n"           /* 4 */
                       "  /pets:\n"         /* 5 */
                       "   get:\n"          /* 6 */
                       "    summary: s\n"   /* 7: mapping's first key at col 5 */
                       "    tags: [a, b]\n" /* 8 */
                       "    list:\n"        /* 9 */
                       "    - 1\n";         /* 10 */
    dg_doc *d = load(text, DG_DOC_YAML);
    assert_loc(d, dg_doc_root(d), 1, 1);
    assert_loc(d, at(d, "/openapi"), 1, 10);
    assert_loc(d, at(d, "/info"), 3, 3);
    assert_loc(d, at(d, "/info/title"), 3, 10);
    assert_loc(d, at(d, "/paths/~1pets/get"), 7, 5);
    assert_loc(d, at(d, "/paths/~1pets/get/summary"), 7, 14);
    assert_loc(d, at(d, "/paths/~1pets/get/tags"), 8, 11);
    assert_loc(d, at(d, "/paths/~1pets/get/tags/1"), 8, 15);
    assert_loc(d, at(d, "/paths/~1pets/get/list"), 10, 5);
    assert_loc(d, at(d, "/paths/~1pets/get/list/0"), 10, 7);
    dg_doc_free(d);
}

Test(doc, true_false_null_singletons_have_no_location)
{
    /* jansson shares one true/false/null node among all documents */
    dg_doc *j = load("{\"a\": true, \"b\": null, \"c\": false}", DG_DOC_JSON);
    dg_doc *y = load("a: true\nb: ~\nc: false\n", DG_DOC_YAML);
    cr_assert_eq(dg_doc_loc(j, at(j, "/a"), NULL, NULL), DG_ENOTFOUND);
    cr_assert_eq(dg_doc_loc(j, at(j, "/b"), NULL, NULL), DG_ENOTFOUND);
    cr_assert_eq(dg_doc_loc(y, at(y, "/c"), NULL, NULL), DG_ENOTFOUND);
    assert_loc(y, dg_doc_root(y), 1, 1);
    dg_doc_free(j);
    dg_doc_free(y);
}

Test(doc, foreign_node_has_no_location)
{
    dg_doc *d = load("{\"a\": 1}", DG_DOC_JSON);
    json_t *other = json_object();
    unsigned l, c;
    cr_assert_eq(dg_doc_loc(d, other, &l, &c), DG_ENOTFOUND);
    cr_assert_eq(dg_doc_loc(d, NULL, &l, &c), DG_ENOTFOUND);
    json_decref(other);
    dg_doc_free(d);
}

/* ---- JSON specifics ------------------------------------------------------- */

Test(doc, json_numbers_keep_text_when_not_int64)
{
    dg_doc *d = load("[1, -7, 1.0, 1e2, 18446744073709551616, 1e400, -1e400, 0.1, "
                     "-9223372036854775808, 9223372036854775807]",
                     DG_DOC_JSON);
    json_t *r = dg_doc_root(d);
    assert_int(json_array_get(r, 0), 1);
    cr_assert_null(dg_doc_number_text(d, json_array_get(r, 0)));
    assert_int(json_array_get(r, 1), -7);
    assert_real_text(d, json_array_get(r, 2), 1.0, "1.0");
    assert_real_text(d, json_array_get(r, 3), 100.0, "1e2");
    assert_real_text(d, json_array_get(r, 4), 18446744073709551616.0, "18446744073709551616");
    assert_real_text(d, json_array_get(r, 5), DBL_MAX, "1e400");
    assert_real_text(d, json_array_get(r, 6), -DBL_MAX, "-1e400");
    assert_real_text(d, json_array_get(r, 7), 0.1, "0.1");
    assert_int(json_array_get(r, 8), INT64_MIN);
    assert_int(json_array_get(r, 9), INT64_MAX);
    dg_doc_free(d);
}

Test(doc, json_strings_and_keys_may_hold_nul)
{
    const char text[] = "{\"a\\u0000b\": \"x\\u0000y\", \"\": 2}";
    dg_doc *d = load(text, DG_DOC_JSON);
    json_t *v = json_object_getn(dg_doc_root(d), "a\0b", 3);
    cr_assert(json_is_string(v));
    cr_assert_eq(json_string_length(v), 3);
    cr_assert_eq(memcmp(json_string_value(v), "x\0y", 3), 0);
    assert_int(json_object_get(dg_doc_root(d), ""), 2);
    dg_doc_free(d);
}

Test(doc, json_duplicate_key_is_an_error_with_location)
{
    dg_error err;
    int rc = load_err("{\n  \"a\": 1,\n  \"b\": {\"x\": 1, \"x\": 2}\n}", DG_DOC_JSON, &err);
    cr_assert_eq(rc, DG_EPARSE);
    cr_assert_str_eq(err.msg, "duplicate key \"x\"");
    cr_assert_eq(err.line, 3);
    cr_assert_eq(err.col, 17);
    rc = load_err("{\"\": 1, \"\": 2}", DG_DOC_JSON, &err);
    cr_assert_eq(rc, DG_EPARSE);
    cr_assert_str_eq(err.msg, "duplicate key \"\"");
}

Test(doc, json_parse_error_has_line_and_col)
{
    dg_error err;
    int rc = load_err("{\n  \"a\": 1,\n  \"b\": tru\n}", DG_DOC_JSON, &err);
    cr_assert_eq(rc, DG_EPARSE);
    cr_assert_eq(err.line, 3);
    cr_assert(err.col >= 8 && err.col <= 11, "col %u", err.col);
    char buf[1024];
    dg_error_format(&err, buf, sizeof buf);
    cr_assert(strncmp(buf, "t.src:3:", 8) == 0, "formatted: %s", buf);
}

Test(doc, json_empty_and_trailing_garbage_fail)
{
    dg_error err;
    cr_assert_eq(load_err("", DG_DOC_JSON, &err), DG_EPARSE);
    cr_assert_eq(load_err("  \n ", DG_DOC_JSON, &err), DG_EPARSE);
    cr_assert_eq(load_err("{} {}", DG_DOC_JSON, &err), DG_EPARSE);
}

static char *nested(int levels)
{
    dg_buf b = DG_BUF_INIT;
    for (int i = 0; i < levels; i++)
        cr_assert_eq(dg_buf_putc(&b, '['), 0);
    for (int i = 0; i < levels; i++)
        cr_assert_eq(dg_buf_putc(&b, ']'), 0);
    return b.data;  /* caller frees */
}

Test(doc, json_depth_limit)
{
    char *deep = nested(1001), *ok = nested(1000);
    dg_error err;
    cr_assert_eq(load_err(deep, DG_DOC_JSON, &err), DG_ELIMIT);
    dg_doc *d = load(ok, DG_DOC_JSON);
    dg_doc_free(d);
    free(deep);
    free(ok);
}

/* ---- syntax selection, files, wrap ---------------------------------------- */

Test(doc, auto_picks_json_by_first_byte_or_name)
{
    dg_doc *d = load("  \n[1, 2]", DG_DOC_AUTO);
    cr_assert(json_is_array(dg_doc_root(d)));
    dg_doc_free(d);
    /* "a: 1" is YAML; as JSON (name ends in .json) it is a parse error */
    dg_doc *y = NULL;
    dg_error err;
    cr_assert_eq(dg_doc_load_buffer("x.yaml", "a: 1", 4, DG_DOC_AUTO, &y, &err), 0);
    dg_doc_free(y);
    cr_assert_eq(dg_doc_load_buffer("x.json", "a: 1", 4, DG_DOC_AUTO, &y, &err), DG_EPARSE);
    cr_assert_eq(dg_doc_load_buffer("x.json", "12", 2, DG_DOC_AUTO, &y, &err), 0);
    assert_int(dg_doc_root(y), 12);
    dg_doc_free(y);
    /* a trailing comma is fine in a YAML flow sequence, not in JSON: a BOM
     * before '[' still selects JSON */
    const char bom[] = "\xef\xbb\xbf [1, 2,]";
    cr_assert_eq(dg_doc_load_buffer("x", bom, strlen(bom), DG_DOC_AUTO, &y, &err), DG_EPARSE);
    cr_assert_eq(dg_doc_load_buffer("x", bom, strlen(bom), DG_DOC_YAML, &y, &err), 0);
    cr_assert_eq(json_array_size(dg_doc_root(y)), 2);
    dg_doc_free(y);
}

Test(doc, missing_file_is_eio_with_file)
{
    dg_doc *d = NULL;
    dg_error err;
    cr_assert_eq(dg_doc_load_file("/nonexistent/x.yaml", DG_DOC_AUTO, &d, &err), DG_EIO);
    cr_assert_null(d);
    cr_assert_str_eq(err.file, "/nonexistent/x.yaml");
    cr_assert_eq(dg_doc_load_file("/nonexistent/x.yaml", DG_DOC_AUTO, &d, NULL), DG_EIO);
}

Test(doc, wrap_takes_a_reference_and_has_no_locations)
{
    json_t *root = json_pack("{s:i}", "a", 1);
    dg_doc *d = dg_doc_wrap("built", root);
    cr_assert_not_null(d);
    cr_assert_eq(root->refcount, 2);
    cr_assert_eq(dg_doc_root(d), root);
    cr_assert_str_eq(dg_doc_name(d), "built");
    cr_assert_eq(dg_doc_loc(d, root, NULL, NULL), DG_ENOTFOUND);
    cr_assert_null(dg_doc_number_text(d, root));
    dg_doc_free(d);
    cr_assert_eq(root->refcount, 1);
    json_decref(root);
    dg_doc_free(NULL);
}

/* ---- YAML core schema ------------------------------------------------------ */

Test(doc, yaml_core_schema_plain_scalars)
{
    const char *text = "yes: yes\nno: no\non: on\noff: off\ny: y\n"
                       "t1: true\nt2: True\nt3: TRUE\nf1: false\nf2: FALSE\nf3: False\n"
                       "n1: null\nn2: Null\nn3: NULL\nn4: ~\nn5:\n"
                       "i1: 42\ni2: -17\ni3: +12\ni4: 012\ni5: 0x1F\ni6: 0o17\n"
                       "i7: -9223372036854775808\ni8: 9223372036854775807\n"
                       "f4: 1.0\nf5: 1e3\nf6: .5\nf7: -1.\nf8: +1.5e-3\nf9: 00.25\n"
                       "big: 123456789012345678901234567890\n"
                       "big2: 9223372036854775808\n"
                       "bighex: 0x10000000000000000\n"
                       "inf1: .inf\ninf2: -.Inf\ninf3: +.INF\nnan: .nan\n"
                       "s1: 1_000\ns2: 0b101\ns3: 2001-12-14\ns4: 1.2.3\ns5: 0x\ns6: 0o8\n"
                       "s7: +\ns8: .\ns9: 1e\ns10: -0x1F\ns11: nULL\ns12: tRUE\n";
    dg_doc *d = load(text, DG_DOC_YAML);
    json_t *r = dg_doc_root(d);
    assert_str(json_object_get(r, "yes"), "yes");
    assert_str(json_object_get(r, "no"), "no");
    assert_str(json_object_get(r, "on"), "on");
    assert_str(json_object_get(r, "off"), "off");
    assert_str(json_object_get(r, "y"), "y");
    const char *trues[] = {"t1", "t2", "t3"}, *falses[] = {"f1", "f2", "f3"};
    for (int i = 0; i < 3; i++) {
        cr_assert(json_is_true(json_object_get(r, trues[i])));
        cr_assert(json_is_false(json_object_get(r, falses[i])));
    }
    for (int i = 1; i <= 5; i++) {
        char k[16];
        snprintf(k, sizeof k, "n%d", i);
        cr_assert(json_is_null(json_object_get(r, k)), "%s not null", k);
    }
    assert_int(json_object_get(r, "i1"), 42);
    assert_int(json_object_get(r, "i2"), -17);
    assert_int(json_object_get(r, "i3"), 12);
    assert_int(json_object_get(r, "i4"), 12);
    assert_int(json_object_get(r, "i5"), 31);
    assert_int(json_object_get(r, "i6"), 15);
    assert_int(json_object_get(r, "i7"), INT64_MIN);
    assert_int(json_object_get(r, "i8"), INT64_MAX);
    cr_assert_null(dg_doc_number_text(d, json_object_get(r, "i1")));
    assert_real_text(d, json_object_get(r, "f4"), 1.0, "1.0");
    assert_real_text(d, json_object_get(r, "f5"), 1000.0, "1e3");
    assert_real_text(d, json_object_get(r, "f6"), 0.5, "0.5");
    assert_real_text(d, json_object_get(r, "f7"), -1.0, "-1.0");
    assert_real_text(d, json_object_get(r, "f8"), 1.5e-3, "1.5e-3");
    assert_real_text(d, json_object_get(r, "f9"), 0.25, "0.25");
    assert_real_text(d, json_object_get(r, "big"), 123456789012345678901234567890.0,
                     "123456789012345678901234567890");
    assert_real_text(d, json_object_get(r, "big2"), 9223372036854775808.0,
                     "9223372036854775808");
    assert_real_text(d, json_object_get(r, "bighex"), 18446744073709551616.0,
                     "18446744073709551616");
    /* JSON has no infinities or NaN: these stay strings */
    assert_str(json_object_get(r, "inf1"), ".inf");
    assert_str(json_object_get(r, "inf2"), "-.Inf");
    assert_str(json_object_get(r, "inf3"), "+.INF");
    assert_str(json_object_get(r, "nan"), ".nan");
    assert_str(json_object_get(r, "s1"), "1_000");
    assert_str(json_object_get(r, "s2"), "0b101");
    assert_str(json_object_get(r, "s3"), "2001-12-14");
    assert_str(json_object_get(r, "s4"), "1.2.3");
    assert_str(json_object_get(r, "s5"), "0x");
    assert_str(json_object_get(r, "s6"), "0o8");
    assert_str(json_object_get(r, "s7"), "+");
    assert_str(json_object_get(r, "s8"), ".");
    assert_str(json_object_get(r, "s9"), "1e");
    assert_str(json_object_get(r, "s10"), "-0x1F");
    assert_str(json_object_get(r, "s11"), "nULL");
    assert_str(json_object_get(r, "s12"), "tRUE");
    dg_doc_free(d);
}

Test(doc, yaml_quoted_and_block_scalars_are_strings)
{
    const char *text = "a: \"123\"\nb: '1.0'\nc: \"true\"\nd: ''\ne: \"null\"\n"
                       "f: |\n  123\ng: >-\n  42\nh: \"\\u00e9\\t\"\n";
    dg_doc *d = load(text, DG_DOC_YAML);
    json_t *r = dg_doc_root(d);
    assert_str(json_object_get(r, "a"), "123");
    assert_str(json_object_get(r, "b"), "1.0");
    assert_str(json_object_get(r, "c"), "true");
    assert_str(json_object_get(r, "d"), "");
    assert_str(json_object_get(r, "e"), "null");
    assert_str(json_object_get(r, "f"), "123\n");
    assert_str(json_object_get(r, "g"), "42");
    assert_str(json_object_get(r, "h"), "\xc3\xa9\t");
    dg_doc_free(d);
}

Test(doc, yaml_explicit_tags)
{
    const char *text = "a: !!str 123\nb: !!int \"42\"\nc: !!float 1\nd: !!bool \"true\"\n"
                       "e: !!null ''\nf: ! 12\ng: !custom 7\nh: !!float .inf\ni: !!str true\n";
    dg_doc *d = load(text, DG_DOC_YAML);
    json_t *r = dg_doc_root(d);
    assert_str(json_object_get(r, "a"), "123");
    assert_int(json_object_get(r, "b"), 42);
    assert_real_text(d, json_object_get(r, "c"), 1.0, "1");
    cr_assert(json_is_true(json_object_get(r, "d")));
    cr_assert(json_is_null(json_object_get(r, "e")));
    assert_str(json_object_get(r, "f"), "12");
    assert_int(json_object_get(r, "g"), 7);
    assert_str(json_object_get(r, "h"), ".inf");
    assert_str(json_object_get(r, "i"), "true");
    dg_doc_free(d);

    dg_error err;
    cr_assert_eq(load_err("a: !!int abc\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(err.line, 1);
    cr_assert_eq(err.col, 4);
    cr_assert_eq(load_err("a: !!bool yes\n", DG_DOC_YAML, &err), DG_EPARSE);
}

Test(doc, yaml_keys_are_source_text)
{
    const char *text = "responses:\n  200:\n    description: ok\n  '404': {description: nf}\n"
                       "  1.0: x\n  true: y\n  ~: z\n  null: w\n  0x1F: v\n";
    dg_doc *d = load(text, DG_DOC_YAML);
    json_t *r = json_object_get(dg_doc_root(d), "responses");
    assert_str(at(d, "/responses/200/description"), "ok");
    assert_str(at(d, "/responses/404/description"), "nf");
    assert_str(json_object_get(r, "1.0"), "x");
    assert_str(json_object_get(r, "true"), "y");
    assert_str(json_object_get(r, "~"), "z");
    assert_str(json_object_get(r, "null"), "w");
    assert_str(json_object_get(r, "0x1F"), "v");
    cr_assert_eq(json_object_size(r), 7);
    dg_doc_free(d);
}

Test(doc, yaml_non_scalar_key_is_an_error)
{
    dg_error err;
    cr_assert_eq(load_err("a: 1\n? [x, y]\n: 2\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(err.line, 2);
    cr_assert_eq(err.col, 3);
    cr_assert(strstr(err.msg, "key") != NULL, "%s", err.msg);
    cr_assert_eq(load_err("{a: 1}: 2\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(load_err("x: &m {a: 1}\n*m : 2\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(err.line, 2);
}

/* ---- anchors, aliases, merges ---------------------------------------------- */

Test(doc, yaml_aliases_share_the_anchored_node)
{
    const char *text = "base: &b\n  type: object\n  n: 1.50\n"
                       "one: *b\ntwo: [*b, *s]\nstr: &s hello\n";
    dg_error err;
    cr_assert_eq(load_err(text, DG_DOC_YAML, &err), DG_EPARSE); /* *s before &s */
    cr_assert(strstr(err.msg, "unknown anchor") != NULL, "%s", err.msg);
    cr_assert_eq(err.line, 5);

    text = "str: &s hello\nbase: &b\n  type: object\n  n: 1.50\n"
           "one: *b\ntwo: [*b, *s]\n&k kk: 3\nthree: *k\n";
    dg_doc *d = load(text, DG_DOC_YAML);
    json_t *base = at(d, "/base");
    cr_assert_eq(at(d, "/one"), base);
    cr_assert_eq(at(d, "/two/0"), base);
    assert_str(at(d, "/two/1"), "hello");
    assert_str(at(d, "/three"), "kk");
    /* an alias has the anchored node's location, which starts at its "&b" */
    assert_loc(d, at(d, "/one"), 2, 7);
    assert_loc(d, at(d, "/one/type"), 3, 9);
    assert_real_text(d, at(d, "/one/n"), 1.5, "1.50");
    dg_doc_free(d);
}

Test(doc, yaml_alias_as_key_uses_scalar_text)
{
    dg_doc *d = load("a: &k 200\nm:\n  *k : ok\n", DG_DOC_YAML);
    assert_int(at(d, "/a"), 200);
    assert_str(at(d, "/m/200"), "ok");
    dg_doc_free(d);
}

Test(doc, yaml_recursive_alias_is_an_error)
{
    dg_error err;
    cr_assert_eq(load_err("a: &x\n  b: *x\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(err.line, 2);
    cr_assert_eq(load_err("&x [1, *x]\n", DG_DOC_YAML, &err), DG_EPARSE);
}

Test(doc, yaml_redefined_anchor_uses_latest)
{
    dg_doc *d = load("- &a 1\n- *a\n- &a 2\n- *a\n", DG_DOC_YAML);
    assert_int(at(d, "/1"), 1);
    assert_int(at(d, "/3"), 2);
    dg_doc_free(d);
}

Test(doc, yaml_merge_keys)
{
    const char *text = "base: &base\n  a: 1\n  b: 2\n"
                       "other: &other\n  b: 20\n  c: 30\n"
                       "m1:\n  <<: *base\n  b: 3\n"
                       "m2:\n  b: 4\n  <<: *base\n"
                       "m3:\n  <<: [*other, *base]\n  d: 5\n"
                       "m4:\n  <<: {x: 1, y: 2}\n  y: 3\n"
                       "m5:\n  \"<<\": literal\n"
                       "m6:\n  <<: &inner\n    <<: *base\n    z: 1\n";
    dg_doc *d = load(text, DG_DOC_YAML);
    json_t *exp1 = json_pack("{s:i,s:i}", "a", 1, "b", 3);
    json_t *exp2 = json_pack("{s:i,s:i}", "a", 1, "b", 4);
    json_t *exp3 = json_pack("{s:i,s:i,s:i,s:i}", "a", 1, "b", 20, "c", 30, "d", 5);
    json_t *exp4 = json_pack("{s:i,s:i}", "x", 1, "y", 3);
    json_t *exp5 = json_pack("{s:s}", "<<", "literal");
    json_t *exp6 = json_pack("{s:i,s:i,s:i}", "a", 1, "b", 2, "z", 1);
    cr_assert(json_equal(at(d, "/m1"), exp1));
    cr_assert(json_equal(at(d, "/m2"), exp2));
    cr_assert(json_equal(at(d, "/m3"), exp3));
    cr_assert(json_equal(at(d, "/m4"), exp4));
    cr_assert(json_equal(at(d, "/m5"), exp5));
    cr_assert(json_equal(at(d, "/m6"), exp6));
    cr_assert_eq(json_object_size(at(d, "/base")), 2, "merge must not modify the source");
    /* merged values keep their own locations */
    assert_loc(d, at(d, "/m1/a"), 2, 6);
    json_decref(exp1);
    json_decref(exp2);
    json_decref(exp3);
    json_decref(exp4);
    json_decref(exp5);
    json_decref(exp6);
    dg_doc_free(d);
}

Test(doc, yaml_nodes_freed_while_loading_leave_no_stale_entries)
{
    /* The inline merge sources (and their 1.5/2.5, which lose to the
     * explicit keys) are freed while loading. Nodes allocated afterwards,
     * outside the document, often reuse that memory and must not be taken
     * for document nodes. */
    dg_buf b = DG_BUF_INIT;
    for (int i = 0; i < 500; i++)
        cr_assert_eq(dg_buf_printf(&b, "m%d: {<<: {a: 1.5, b: 2.5}, a: 1, b: 2}\n", i), 0);
    dg_doc *d = load(b.data, DG_DOC_YAML);
    json_t *foreign = json_array();
    for (int i = 0; i < 4000; i++) {
        json_t *r = json_real(0.5), *o = json_object();
        cr_assert_null(dg_doc_number_text(d, r));
        cr_assert_eq(dg_doc_loc(d, r, NULL, NULL), DG_ENOTFOUND);
        cr_assert_eq(dg_doc_loc(d, o, NULL, NULL), DG_ENOTFOUND);
        json_array_append_new(foreign, r);
        json_array_append_new(foreign, o);
    }
    json_decref(foreign);
    assert_int(at(d, "/m7/a"), 1);
    dg_doc_free(d);
    dg_buf_free(&b);
}

Test(doc, yaml_bad_merge_values_fail)
{
    dg_error err;
    cr_assert_eq(load_err("m:\n  <<: 1\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(err.line, 2);
    cr_assert_eq(err.col, 3);
    cr_assert_eq(load_err("m:\n  <<: [1]\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(load_err("b: &b {a: 1}\nm:\n  <<: *b\n  <<: *b\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(err.line, 4);
}

Test(doc, yaml_billion_laughs_fails_quickly_with_elimit)
{
    const char *text = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                       "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                       "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                       "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    dg_error err;
    clock_t t0 = clock();
    cr_assert_eq(load_err(text, DG_DOC_YAML, &err), DG_ELIMIT);
    cr_assert_lt((double)(clock() - t0) / CLOCKS_PER_SEC, 0.5);
    cr_assert(err.line >= 2, "line %u", err.line);

    /* merge-key bombs are bounded the same way */
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg_buf_printf(&b, "k0: &k0 {a0: 0, b0: 0, c0: 0, d0: 0}\n"), 0);
    for (int i = 1; i < 40; i++)
        cr_assert_eq(dg_buf_printf(&b, "k%d: &k%d [*k%d, *k%d, *k%d, *k%d]\n", i, i, i - 1,
                                   i - 1, i - 1, i - 1),
                     0);
    cr_assert_eq(load_err(b.data, DG_DOC_YAML, &err), DG_ELIMIT);
    dg_buf_free(&b);
}

Test(doc, yaml_moderate_alias_reuse_is_fine)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg_buf_printf(&b, "defs:\n  s: &s {type: object, properties: {a: {type: string}}}\n"
                                   "paths:\n"),
                 0);
    for (int i = 0; i < 2000; i++)
        cr_assert_eq(dg_buf_printf(&b, "  /p%d: *s\n", i), 0);
    dg_doc *d = load(b.data, DG_DOC_YAML);
    cr_assert_eq(json_object_size(at(d, "/paths")), 2000);
    dg_doc_free(d);
    dg_buf_free(&b);
}

/* ---- YAML errors ----------------------------------------------------------- */

Test(doc, yaml_duplicate_key_is_an_error_with_location)
{
    dg_error err;
    int rc = load_err("a: 1\nb:\n  x: 1\n  y: 2\n  x: 3\n", DG_DOC_YAML, &err);
    cr_assert_eq(rc, DG_EPARSE);
    cr_assert_str_eq(err.msg, "duplicate key \"x\"");
    cr_assert_eq(err.line, 5);
    cr_assert_eq(err.col, 3);
    /* 200 and '200' are the same key once keys are text */
    cr_assert_eq(load_err("200: a\n'200': b\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(err.line, 2);
}

Test(doc, yaml_parse_error_has_line_and_col)
{
    dg_error err;
    int rc = load_err("a: 1\nb: [1, 2\nc: 3\n", DG_DOC_YAML, &err);
    cr_assert_eq(rc, DG_EPARSE);
    cr_assert(err.line >= 2 && err.line <= 4, "line %u", err.line);
    cr_assert(err.col >= 1);
    cr_assert(err.msg[0]);
    rc = load_err("a: 1\n  b: 2\n", DG_DOC_YAML, &err);
    cr_assert_eq(rc, DG_EPARSE);
    cr_assert_eq(err.line, 2);
    cr_assert_eq(err.col, 4);
    cr_assert(strstr(err.msg, "mapping values are not allowed") != NULL, "%s", err.msg);
}

Test(doc, yaml_invalid_utf8_is_a_parse_error_with_location)
{
    dg_error err;
    cr_assert_eq(load_err("a: 1\nb: \xff\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(err.line, 2);
    cr_assert_eq(err.col, 4);
}

Test(doc, yaml_multiple_documents_are_an_error)
{
    dg_error err;
    cr_assert_eq(load_err("a: 1\n---\nb: 2\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(err.line, 2);
    cr_assert(strstr(err.msg, "document") != NULL, "%s", err.msg);
    cr_assert_eq(load_err("---\na: 1\n...\n---\nb: 2\n", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(err.line, 4);
    /* a single explicit document is fine */
    dg_doc *d = load("---\na: 1\n...\n", DG_DOC_YAML);
    assert_int(at(d, "/a"), 1);
    dg_doc_free(d);
}

Test(doc, yaml_empty_stream_is_an_error_but_null_document_is_not)
{
    dg_error err;
    cr_assert_eq(load_err("", DG_DOC_YAML, &err), DG_EPARSE);
    cr_assert_eq(load_err("# only a comment\n", DG_DOC_YAML, &err), DG_EPARSE);
    dg_doc *d = load("--- ~\n", DG_DOC_YAML);
    cr_assert(json_is_null(dg_doc_root(d)));
    dg_doc_free(d);
}

Test(doc, yaml_depth_limit)
{
    char *deep = nested(1001), *ok = nested(1000);
    dg_error err;
    cr_assert_eq(load_err(deep, DG_DOC_YAML, &err), DG_ELIMIT);
    cr_assert_eq(err.line, 1);
    cr_assert_eq(err.col, 1001);
    dg_doc *d = load(ok, DG_DOC_YAML);
    dg_doc_free(d);
    free(deep);
    free(ok);
}

/* ---- JSON pointers ----------------------------------------------------------- */

Test(doc, json_pointer_rfc6901_examples)
{
    const char *text = "{\"foo\": [\"bar\", \"baz\"], \"\": 0, \"a/b\": 1, \"c%d\": 2, "
                       "\"e^f\": 3, \"g|h\": 4, \"i\\\\j\": 5, \"k\\\"l\": 6, \" \": 7, "
                       "\"m~n\": 8, \"~01\": 9}";
    dg_doc *d = load(text, DG_DOC_JSON);
    json_t *r = dg_doc_root(d);
    cr_assert_eq(dg_json_pointer_get(r, "", 0, 0), r);
    cr_assert(json_is_array(at(d, "/foo")));
    assert_str(at(d, "/foo/0"), "bar");
    assert_int(at(d, "/"), 0);
    assert_int(at(d, "/a~1b"), 1);
    assert_int(at(d, "/c%d"), 2);
    assert_int(at(d, "/e^f"), 3);
    assert_int(at(d, "/g|h"), 4);
    assert_int(at(d, "/i\\j"), 5);
    assert_int(at(d, "/k\"l"), 6);
    assert_int(at(d, "/ "), 7);
    assert_int(at(d, "/m~0n"), 8);
    assert_int(at(d, "/~001"), 9);  /* ~0 then 1: "~01", not "~/" */
    dg_doc_free(d);
}

Test(doc, json_pointer_uri_fragment_percent_decoding)
{
    dg_doc *d = load("{\"paths\": {\"/pets\": {\"get\": 1}}, \"c%d\": 2, \"e^f\": 3, \" \": 7, "
                     "\"\\u00e9\": 8}",
                     DG_DOC_JSON);
    json_t *r = dg_doc_root(d);
    const char *p = "#/paths/~1pets/get";
    assert_int(dg_json_pointer_get(r, p, strlen(p), 1), 1);
    p = "#/paths/%7E1pets/get";
    assert_int(dg_json_pointer_get(r, p, strlen(p), 1), 1);
    p = "/c%25d";
    assert_int(dg_json_pointer_get(r, p, strlen(p), 1), 2);
    p = "#/e%5Ef";
    assert_int(dg_json_pointer_get(r, p, strlen(p), 1), 3);
    p = "#/%20";
    assert_int(dg_json_pointer_get(r, p, strlen(p), 1), 7);
    p = "#/%C3%A9";
    assert_int(dg_json_pointer_get(r, p, strlen(p), 1), 8);
    cr_assert_eq(dg_json_pointer_get(r, "#", 1, 1), r);
    /* without decoding, %25 is literal */
    cr_assert_null(dg_json_pointer_get(r, "/c%25d", 6, 0));
    /* malformed escapes */
    cr_assert_null(dg_json_pointer_get(r, "#/c%2", 5, 1));
    cr_assert_null(dg_json_pointer_get(r, "#/c%zz", 6, 1));
    cr_assert_null(dg_json_pointer_get(r, "#/%", 3, 1));
    dg_doc_free(d);
}

Test(doc, json_pointer_array_indices_and_failures)
{
    dg_doc *d = load("{\"a\": [10, 20, 30], \"s\": \"x\", \"01\": 1}", DG_DOC_JSON);
    json_t *r = dg_doc_root(d);
    assert_int(at(d, "/a/2"), 30);
    assert_int(at(d, "/01"), 1);  /* objects take any token */
    const char *bad[] = {"/a/3", "/a/-", "/a/01", "/a/-1", "/a/1x", "/a/", "/a/99999999999999999999999",
                         "/s/0", "/nope", "a", "/a~2", "/a~", "/a/0/x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_null(dg_json_pointer_get(r, bad[i], strlen(bad[i]), 0), "%s", bad[i]);
    cr_assert_null(dg_json_pointer_get(NULL, "", 0, 0));
    /* len bounds the pointer: "/a/2" cut to "/a" */
    cr_assert(json_is_array(dg_json_pointer_get(r, "/a/2", 2, 0)));
    dg_doc_free(d);
}

Test(doc, json_pointer_long_pointer_uses_heap)
{
    dg_buf key = DG_BUF_INIT, ptr = DG_BUF_INIT, text = DG_BUF_INIT;
    for (int i = 0; i < 2000; i++)
        cr_assert_eq(dg_buf_putc(&key, (char)('a' + i % 26)), 0);
    cr_assert_eq(dg_buf_printf(&text, "{\"%s\": {\"~/\": 5}}", key.data), 0);
    dg_doc *d = load(text.data, DG_DOC_JSON);
    cr_assert_eq(dg_json_pointer_append(&ptr, key.data, key.len), 0);
    cr_assert_eq(dg_json_pointer_append(&ptr, "~/", 2), 0);
    assert_int(dg_json_pointer_get(dg_doc_root(d), ptr.data, ptr.len, 0), 5);
    assert_int(dg_json_pointer_get(dg_doc_root(d), ptr.data, ptr.len, 1), 5);
    dg_doc_free(d);
    dg_buf_free(&key);
    dg_buf_free(&ptr);
    dg_buf_free(&text);
}

Test(doc, json_pointer_append_escapes)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg_json_pointer_append(&b, "paths", 5), 0);
    cr_assert_eq(dg_json_pointer_append(&b, "/pets/{id}", 10), 0);
    cr_assert_eq(dg_json_pointer_append(&b, "a~b/~", 5), 0);
    cr_assert_eq(dg_json_pointer_append(&b, "", 0), 0);
    cr_assert_str_eq(b.data, "/paths/~1pets~1{id}/a~0b~1~0/");
    dg_buf_free(&b);
}
