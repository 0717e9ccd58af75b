/* Drift reports: the renderers from a model built in memory (JSON checked
 * against analyze/report.schema.json with driftgate's own validator,
 * escaping of untrusted text in HTML and Markdown, sparklines), spec
 * locations, new/recurring/resolved, and dg_report_run end to end over a
 * temporary store.
 *
 * REPORT_STORE_OUT=PATH: the test report_e2e.fixture_store leaves a store
 * there for tests/report/run.sh (it is skipped otherwise). */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analyze/report_internal.h"
#include "analyze/store.h"
#include "common/buf.h"
#include "validate/doc.h"
#include "validate/validate.h"

#define DAY_MS 86400000LL
/* 2026-11-26T03:00:00Z */
#define NOW_MS 1795662000000LL
#define PETSTORE "policies/examples/specs/petstore.yaml"

/* ---- building models ---- */

/* the two days before NOW_MS's day (20783) and that day */
static dg_day_count days_a[] = {{20781, 3}, {20782, 0}, {20783, 7}};

static void drift_init(dg_drift *d, const char *fp, const char *op, int status, const char *ptr,
                       const char *kind, const char *sev, uint64_t count)
{
    memset(d, 0, sizeof *d);
    snprintf(d->fingerprint, sizeof d->fingerprint, "%s", fp);
    d->api = (char *)"petstore";
    d->operation = (char *)op;
    d->status = status;
    d->pointer = (char *)ptr;
    d->schema_loc = (char *)"petstore.yaml#/components/schemas/Pet/properties/tag/type";
    d->kind = (char *)kind;
    d->observed_type = (char *)"null";
    d->method = (char *)"GET";
    d->path_template = (char *)"/pets/{petId}";
    d->media_type = (char *)"application/json";
    d->schema_pointer =
        (char *)"/nonexistent/petstore.yaml#/components/schemas/Pet/properties/tag/type";
    d->severity = (char *)sev;
    d->message = (char *)"expected string, got null";
    d->owner = (char *)"pets-team";
    d->spec_hash = (char *)"abc123";
    d->example = (char *)"{\"type\":\"null\",\"length\":0}";
    d->first_seen_ms = NOW_MS - 5 * DAY_MS;
    d->last_seen_ms = NOW_MS - 3600000;
    d->count = count;
    d->days = days_a;
    d->n_days = 3;
}

typedef struct model {
    dg_drift d[3];
    dg_explanation x[2];
    dg_rep_item items[3];
    dg_rep r;
} model;

/* Three drifts (one with a model's explanation carrying hostile text, one
 * heuristic, one unexplained), previous report listing two of them and one
 * that went away. */
static void model_init(model *m)
{
    memset(m, 0, sizeof *m);
    drift_init(&m->d[0], "00000000000000a1", "showPetById", 200, "/tag", "type", "error", 40);
    drift_init(&m->d[1], "00000000000000b2", "listPets", 200, "/*/status", "enum", "error", 12);
    drift_init(&m->d[2], "00000000000000c3", "listPets", 200, "/*/nickname", "additional", "info",
               5);
    m->d[1].example = (char *)"{\"type\":\"string\",\"length\":8,"
                              "\"value\":\"\\\"<script>alert(1)</script>\\\"\"}";
    m->d[1].days = NULL;
    m->d[1].n_days = 0;
    m->d[2].method = NULL;
    m->d[2].example = NULL;

    dg_explanation *x = &m->x[0];
    memcpy(x->fingerprint, m->d[0].fingerprint, sizeof x->fingerprint);
    x->spec_hash = (char *)"abc123";
    x->classification = (char *)"spec_outdated";
    x->cause = (char *)"The upstream sends <script>alert('x')</script> & null | `tag`.";
    x->evidence = (char *)"40 responses had null at /tag";
    x->severity = (char *)"medium";
    x->confidence = 0.85;
    x->patch = (char *)"[{\"op\":\"add\","
                       "\"path\":\"/components/schemas/Pet/properties/tag/nullable\","
                       "\"value\":true}]";
    x->source = (char *)"model";
    x->backend = (char *)"gemini";
    x->model = (char *)"gemma-4-27b-it";
    x->created_ms = NOW_MS - DAY_MS;
    x = &m->x[1];
    memcpy(x->fingerprint, m->d[1].fingerprint, sizeof x->fingerprint);
    x->classification = (char *)"upstream_bug";
    x->cause = (char *)"A new enum value.";
    x->evidence = (char *)"status is not one of the spec's values";
    x->severity = (char *)"low";
    x->confidence = 0.5;
    x->patch = (char *)"[]";
    x->source = (char *)"heuristic";
    x->created_ms = NOW_MS - DAY_MS;

    for (size_t i = 0; i < 3; i++) {
        m->items[i].d = &m->d[i];
        snprintf(m->items[i].spec_loc, sizeof m->items[i].spec_loc, "%s", m->d[i].schema_pointer);
    }
    m->items[0].x = &m->x[0];
    m->items[1].x = &m->x[1];
    snprintf(m->items[0].spec_loc, sizeof m->items[0].spec_loc, "/specs/petstore.yaml:109");
    m->items[0].spec_loc_found = 1;

    dg_rep *r = &m->r;
    r->scope = "api:petstore";
    r->scope_type = "api";
    r->scope_name = "petstore";
    r->generator = "driftgate test";
    r->now_ms = NOW_MS;
    r->since_ms = NOW_MS - 7 * DAY_MS;
    r->last_day = dg_day_of_ms(NOW_MS);
    r->first_day = dg_day_of_ms(r->since_ms);
    r->items = m->items;
    r->n_items = 3;
    r->top = 50;
    r->has_previous = 1;
    r->previous_ms = NOW_MS - DAY_MS;
    static const char *prev[] = {"00000000000000a1", "00000000000000b2", "00000000000000ff"};
    cr_assert_eq(dg__rep_classify(r, prev, 3), 0);
    dg__rep_window_counts(r);
    dg__rep_sort(r);
    dg__rep_totals(r);
}

static void model_free(model *m)
{
    free(m->r.resolved);
}

static char *render(int (*fn)(const dg_rep *, dg_buf *), const dg_rep *r)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(fn(r, &b), 0);
    cr_assert_not_null(b.data);
    return b.data;
}

/* ---- the JSON report against its schema ---- */

typedef struct checker {
    dg_schemaset *set;
    dg_validator *v;
    int id;
} checker;

static void checker_init(checker *c)
{
    dg_doc *doc = NULL;
    dg_error err;
    cr_assert_eq(dg_doc_load_file("analyze/report.schema.json", DG_DOC_AUTO, &doc, &err), 0,
                 "schema: %s", err.msg);
    dg_compile_opts co = {DG_DIALECT_2020_12, -1};
    c->set = dg_schemaset_new(&co);
    cr_assert_not_null(c->set);
    json_t *root = dg_doc_root(doc);
    cr_assert_eq(dg_schemaset_add_doc(c->set, doc, NULL, 1, &err), 0, "%s", err.msg);
    cr_assert_eq(dg_schemaset_compile(c->set, root, DG_DIALECT_AUTO, &c->id, &err), 0,
                 "compile: %s", err.msg);
    dg_validate_opts vo;
    dg_validate_opts_default(&vo);
    c->v = dg_validator_new(c->set, &vo);
    cr_assert_not_null(c->v);
}

static void checker_free(checker *c)
{
    dg_validator_free(c->v);
    dg_schemaset_free(c->set);
}

/* Parses text and validates it against the schema; fails with every violation. */
static void assert_valid_json(checker *c, const char *text)
{
    dg_doc *doc = NULL;
    dg_error err;
    cr_assert_eq(dg_doc_load_buffer("report.json", text, strlen(text), DG_DOC_JSON, &doc, &err), 0,
                 "report is not JSON: %s at %u:%u\n%s", err.msg, err.line, err.col, text);
    dg_result res;
    cr_assert_eq(dg_validator_tree(c->v, c->id, dg_doc_root(doc), doc, &res), 0);
    dg_buf why = DG_BUF_INIT;
    for (size_t i = 0; i < res.count; i++)
        dg_buf_printf(&why, "%s: %s [%s]\n", res.v[i].instance_pointer, res.v[i].message,
                      res.v[i].schema_pointer);
    cr_assert(res.valid, "report does not match analyze/report.schema.json:\n%s\n%s",
              why.data ? why.data : "", text);
    dg_buf_free(&why);
    dg_doc_free(doc);
}

Test(report_json, report_matches_schema)
{
    model m;
    model_init(&m);
    checker c;
    checker_init(&c);
    char *s = render(dg__rep_render_json, &m.r);
    assert_valid_json(&c, s);
    json_t *j = json_loads(s, 0, NULL);
    cr_assert_not_null(j);
    json_t *t = json_object_get(j, "totals");
    cr_assert_eq(json_integer_value(json_object_get(t, "drifts")), 3);
    cr_assert_eq(json_integer_value(json_object_get(t, "errors")), 2);
    cr_assert_eq(json_integer_value(json_object_get(t, "info")), 1);
    cr_assert_eq(json_integer_value(json_object_get(t, "resolved")), 1);
    json_t *d0 = json_array_get(json_object_get(j, "drifts"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(d0, "fingerprint")), "00000000000000a1");
    cr_assert_str_eq(json_string_value(json_object_get(d0, "change")), "recurring");
    cr_assert_str_eq(json_string_value(json_object_get(d0, "first_seen")), "2026-11-21T03:00:00Z");
    json_t *daily = json_object_get(d0, "daily");
    cr_assert_eq(json_array_size(daily), 8, "7 days back and today");
    json_t *ex = json_object_get(d0, "explanation");
    cr_assert_str_eq(json_string_value(json_object_get(ex, "written_by")),
                     "model gemini/gemma-4-27b-it");
    json_t *op0 = json_array_get(json_object_get(ex, "patch"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(op0, "op")), "add");
    json_t *loc = json_object_get(d0, "spec_location");
    cr_assert_str_eq(json_string_value(json_object_get(loc, "file")), "/specs/petstore.yaml");
    cr_assert_eq(json_integer_value(json_object_get(loc, "line")), 109);
    /* the value is kept only when the store has one */
    json_t *d1 = json_array_get(json_object_get(j, "drifts"), 2);
    cr_assert_str_eq(json_string_value(json_object_get(d1, "fingerprint")), "00000000000000b2");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(d1, "example"), "value")),
                     "\"<script>alert(1)</script>\"");
    cr_assert_null(json_object_get(json_object_get(d0, "example"), "value"));
    json_t *d2 = json_array_get(json_object_get(j, "drifts"), 1);
    cr_assert_str_eq(json_string_value(json_object_get(d2, "fingerprint")), "00000000000000c3");
    cr_assert(json_is_null(json_object_get(d2, "explanation")));
    cr_assert(json_is_null(json_object_get(d2, "example")));
    json_decref(j);
    free(s);
    checker_free(&c);
    model_free(&m);
}

/* The check above is not blind: a report missing a member, with a member
 * of the wrong type or an unknown one, or a wrong change value fails. */
Test(report_json, schema_rejects_malformed_reports)
{
    model m;
    model_init(&m);
    checker c;
    checker_init(&c);
    char *s = render(dg__rep_render_json, &m.r);
    static const char *const breakers[] = {"totals", "drifts/0/daily", "drifts/0/change",
                                           "drifts/0/explanation/confidence", "drifts/0/extra"};
    for (size_t k = 0; k < sizeof breakers / sizeof breakers[0]; k++) {
        json_t *j = json_loads(s, 0, NULL);
        cr_assert_not_null(j);
        json_t *d0 = json_array_get(json_object_get(j, "drifts"), 0);
        switch (k) {
        case 0: json_object_del(j, "totals"); break;
        case 1: json_object_set_new(d0, "daily", json_string("3,4")); break;
        case 2: json_object_set_new(d0, "change", json_string("fixed")); break;
        case 3:
            json_object_set_new(json_object_get(d0, "explanation"), "confidence", json_real(1.5));
            break;
        default: json_object_set_new(d0, "extra", json_true()); break;
        }
        char *t = json_dumps(j, 0);
        dg_doc *doc = NULL;
        dg_error err;
        cr_assert_eq(dg_doc_load_buffer("bad.json", t, strlen(t), DG_DOC_JSON, &doc, &err), 0);
        dg_result res;
        cr_assert_eq(dg_validator_tree(c.v, c.id, dg_doc_root(doc), doc, &res), 0);
        cr_assert_not(res.valid, "breaking %s went unnoticed", breakers[k]);
        dg_doc_free(doc);
        free(t);
        json_decref(j);
    }
    free(s);
    checker_free(&c);
    model_free(&m);
}

Test(report_json, empty_report_matches_schema_and_says_no_drift)
{
    dg_rep r = {0};
    r.scope = "owner:pets-team";
    r.scope_type = "owner";
    r.scope_name = "pets-team";
    r.now_ms = NOW_MS;
    r.since_ms = NOW_MS - DAY_MS;
    r.first_day = dg_day_of_ms(r.since_ms);
    r.last_day = dg_day_of_ms(NOW_MS);
    r.top = 50;
    checker c;
    checker_init(&c);
    char *s = render(dg__rep_render_json, &r);
    assert_valid_json(&c, s);
    cr_assert(strstr(s, "\"summary\": \"no drift in this window\""), "%s", s);
    cr_assert(strstr(s, "\"previous_report\": null"), "%s", s);
    free(s);
    char *h = render(dg__rep_render_html, &r);
    cr_assert(strstr(h, "No drift in this window."));
    cr_assert(strstr(h, "<table id=\"summary\""));
    free(h);
    char *md = render(dg__rep_render_md, &r);
    cr_assert(strstr(md, "**No drift in this window.**"), "%s", md);
    free(md);
    checker_free(&c);
}

Test(report_json, invalid_utf8_and_bad_patch_still_valid_json)
{
    model m;
    model_init(&m);
    m.d[0].pointer = (char *)"/t\xC3\x28x";     /* invalid UTF-8 */
    m.x[0].patch = (char *)"[{\"op\": not json";
    checker c;
    checker_init(&c);
    char *s = render(dg__rep_render_json, &m.r);
    assert_valid_json(&c, s);
    cr_assert(strstr(s, "\"patch\": null"), "%s", s);
    cr_assert(strstr(s, "\"patch_text\": \"[{\\\"op\\\": not json\""), "%s", s);
    cr_assert(strstr(s, "/t\xEF\xBF\xBD(x"), "invalid byte replaced by U+FFFD");
    free(s);
    checker_free(&c);
    model_free(&m);
}

Test(report_json, index_matches_schema)
{
    dg_rep_index_entry e[2] = {
        {"api:petstore", "api", "petstore", "petstore", 3, 2, 1, 1, 2, 1, 57},
        {"owner:pets-team", "owner", "pets-team", "owner-pets-team", 3, 2, 1, 3, 0, 0, 57},
    };
    dg_rep_index ix = {"driftgate test", NOW_MS, NOW_MS - DAY_MS,
                       DG_REPORT_JSON | DG_REPORT_MD | DG_REPORT_HTML, e, 2};
    checker c;
    checker_init(&c);
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg__rep_index_json(&ix, &b), 0);
    assert_valid_json(&c, b.data);
    cr_assert(strstr(b.data, "\"html\": \"owner-pets-team.html\""), "%s", b.data);
    dg_buf_reset(&b);
    cr_assert_eq(dg__rep_index_html(&ix, &b), 0);
    cr_assert(strstr(b.data, "<a href=\"petstore.html\">api:petstore</a>"), "%s", b.data);
    dg_buf_reset(&b);
    cr_assert_eq(dg__rep_index_md(&ix, &b), 0);
    cr_assert(strstr(b.data, "[api:petstore](petstore.md)"), "%s", b.data);
    ix.n = 0;
    dg_buf_reset(&b);
    cr_assert_eq(dg__rep_index_json(&ix, &b), 0);
    assert_valid_json(&c, b.data);
    dg_buf_free(&b);
    checker_free(&c);
}

/* ---- HTML ---- */

Test(report_html, untrusted_text_is_escaped)
{
    model m;
    model_init(&m);
    char *h = render(dg__rep_render_html, &m.r);
    cr_assert_null(strstr(h, "<script"), "no script element may appear");
    cr_assert_null(strstr(h, "<script>alert"), "cause must be escaped");
    cr_assert(strstr(h, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; null | `tag`."),
              "the model's cause escaped");
    cr_assert(strstr(h, "&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;"),
              "the example value escaped");
    cr_assert(strstr(h, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                        "'none'; style-src 'unsafe-inline'; img-src data:\">"));
    cr_assert_null(strstr(h, "http://"));
    cr_assert_null(strstr(h, "https://"));
    cr_assert_null(strstr(h, " src="));
    cr_assert_null(strstr(h, "<link"));
    cr_assert(strstr(h, "<table id=\"summary\""));
    cr_assert(strstr(h, "<section class=\"drift\" id=\"drift-00000000000000a1\">"));
    cr_assert(strstr(h, "written by <b>model gemini/gemma-4-27b-it</b>"));
    cr_assert(strstr(h, "written by <b>heuristic</b>"));
    cr_assert(strstr(h, "none yet"));
    cr_assert(strstr(h, "<pre class=\"patch\">[\n  {\n    &quot;op&quot;: &quot;add&quot;"),
              "patch pretty-printed and escaped");
    cr_assert(strstr(h, "<code>/specs/petstore.yaml:109</code>"));
    cr_assert(strstr(h, "(the spec file could not be read: pointer only)"));
    cr_assert(strstr(h, "<h2>Resolved since the previous report</h2>"));
    cr_assert(strstr(h, "00000000000000ff"));
    free(h);
    model_free(&m);
}

Test(report_html, escaping_function)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg__html_esc(&b, "<a href=\"x\">'&'</a>\x01\xFF ok \xC3\xA9"), 0);
    cr_assert_str_eq(b.data, "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\xEF\xBF\xBD"
                             "\xEF\xBF\xBD ok \xC3\xA9");
    dg_buf_free(&b);
}

static size_t count_of(const char *h, const char *needle)
{
    size_t n = 0;
    for (const char *p = h; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static char *spark(const uint64_t *c, size_t n)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg__rep_sparkline(&b, c, n, 20418), 0);
    return b.data;
}

Test(report_html, sparkline_one_day)
{
    uint64_t c[] = {5};
    char *s = spark(c, 1);
    cr_assert_eq(count_of(s, "<rect"), 1);
    cr_assert(strstr(s, "<title>Daily counts 2025-11-26 to 2025-11-26: 5 in total, at most 5 a "
                        "day</title>"), "%s", s);
    cr_assert(strstr(s, "<rect x=\"0\" y=\"0\" width=\"5\" height=\"24\">"
                        "<title>2025-11-26: 5</title>"),
              "%s", s);
    cr_assert(strstr(s, "width=\"24\""), "a single day is still visible: %s", s);
    free(s);
}

Test(report_html, sparkline_two_days)
{
    uint64_t c[] = {1, 4};
    char *s = spark(c, 2);
    cr_assert_eq(count_of(s, "<rect"), 2);
    cr_assert(strstr(s, "<title>2025-11-26: 1</title>"));
    cr_assert(strstr(s, "<title>2025-11-27: 4</title>"));
    cr_assert(strstr(s, "x=\"6\" y=\"0\" width=\"5\" height=\"24\""), "%s", s);
    cr_assert(strstr(s, "x=\"0\" y=\"17\" width=\"5\" height=\"7\""), "the smaller bar: %s", s);
    free(s);
}

Test(report_html, sparkline_thirty_days)
{
    uint64_t c[30] = {0};
    c[0] = 2, c[14] = 100, c[29] = 1;
    char *s = spark(c, 30);
    cr_assert_eq(count_of(s, "<rect"), 30);
    cr_assert_eq(count_of(s, "<title>"), 31);
    cr_assert_eq(count_of(s, "class=\"z\""), 27, "zero days are grey baseline marks");
    cr_assert(strstr(s, "viewBox=\"0 0 180 24\""), "%s", s);
    cr_assert(strstr(s, "<title>2025-12-25: 1</title>"), "the 30th day: %s", s);
    cr_assert(strstr(s, "<title>Daily counts 2025-11-26 to 2025-12-25: 103 in total, at most 100"),
              "%s", s);
    free(s);
}

Test(report_html, sparkline_all_zero)
{
    uint64_t c[7] = {0};
    char *s = spark(c, 7);
    cr_assert_eq(count_of(s, "<rect class=\"z\""), 7);
    cr_assert_eq(count_of(s, "height=\"1\""), 7, "a flat baseline: %s", s);
    cr_assert(strstr(s, "0 in total, at most 0 a day"));
    free(s);
}

/* ---- Markdown ---- */

Test(report_md, untrusted_text_is_escaped)
{
    model m;
    model_init(&m);
    m.d[0].operation = (char *)"show|Pet`x`";
    m.d[0].pointer = (char *)"/a|b`c";
    char *s = render(dg__rep_render_md, &m.r);
    /* every "<script" is backslash-escaped but the example value's, which
     * is inside a code span, where Markdown renders it as text */
    cr_assert_eq(count_of(s, "<script"), count_of(s, "\\<script") + 1, "%s", s);
    cr_assert(strstr(s, "\\<script\\>alert('x')\\</script\\> \\& null \\| \\`tag\\`."), "%s", s);
    cr_assert(strstr(s, "| show\\|Pet\\`x\\` |"), "pipes and backticks escaped in a cell: %s", s);
    cr_assert(strstr(s, "| ``/a\\|b`c`` |"), "code span in a cell: %s", s);
    cr_assert(strstr(s, "``/a|b`c``"), "code span outside a table: %s", s);
    cr_assert(strstr(s, "value `\"<script>alert(1)</script>\"`"), "value in a code span: %s", s);
    cr_assert(strstr(s, "```json\n[\n  {\n    \"op\": \"add\""), "patch fenced: %s", s);
    cr_assert(strstr(s, "(written by model gemini/gemma-4-27b-it)"), "%s", s);
    cr_assert(strstr(s, "## Resolved since the previous report"), "%s", s);
    free(s);
    model_free(&m);
}

Test(report_md, escaping_functions)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg__md_esc(&b, "a|b\n# c *d* <i>"), 0);
    cr_assert_str_eq(b.data, "a\\|b \\# c \\*d\\* \\<i\\>");
    dg_buf_reset(&b);
    cr_assert_eq(dg__md_code(&b, "x``y", 0), 0);
    cr_assert_str_eq(b.data, "```x``y```");
    dg_buf_reset(&b);
    cr_assert_eq(dg__md_code(&b, "`a", 1), 0);
    cr_assert_str_eq(b.data, "`` `a ``");
    dg_buf_free(&b);
}

/* ---- model bookkeeping ---- */

Test(report_model, new_recurring_resolved)
{
    dg_drift d[3];
    drift_init(&d[0], "0000000000000001", "a", 200, "/x", "type", "error", 1);
    drift_init(&d[1], "0000000000000002", "a", 200, "/y", "type", "error", 1);
    drift_init(&d[2], "0000000000000003", "a", 200, "/z", "type", "error", 1);
    dg_rep_item it[3] = {{.d = &d[0]}, {.d = &d[1]}, {.d = &d[2]}};
    dg_rep r = {.items = it, .n_items = 3};
    const char *prev[] = {"0000000000000009", "0000000000000002", "0000000000000008",
                          "0000000000000002"};
    cr_assert_eq(dg__rep_classify(&r, prev, 4), 0);
    cr_assert_eq(it[0].change, DG_REP_NEW);
    cr_assert_eq(it[1].change, DG_REP_RECURRING);
    cr_assert_eq(it[2].change, DG_REP_NEW);
    cr_assert_eq(r.n_resolved, 2);
    cr_assert_str_eq(r.resolved[0].fingerprint, "0000000000000008");
    cr_assert_str_eq(r.resolved[1].fingerprint, "0000000000000009");
    dg__rep_totals(&r);
    cr_assert_eq(r.n_new, 2);
    cr_assert_eq(r.n_recurring, 1);
    free(r.resolved);
    /* no previous report: everything new, nothing resolved */
    cr_assert_eq(dg__rep_classify(&r, NULL, 0), 0);
    cr_assert_eq(it[1].change, DG_REP_NEW);
    cr_assert_eq(r.n_resolved, 0);
    cr_assert_null(r.resolved);
}

Test(report_model, window_counts_and_order)
{
    model m;
    model_init(&m);
    /* d[1] has no days in the window: its 12 occurrences are older */
    cr_assert_str_eq(m.r.items[0].d->fingerprint, "00000000000000a1");
    cr_assert_eq(m.r.items[0].window_count, 10);
    cr_assert_str_eq(m.r.items[1].d->fingerprint, "00000000000000c3");
    cr_assert_str_eq(m.r.items[2].d->fingerprint, "00000000000000b2");
    cr_assert_eq(m.r.items[2].window_count, 0);
    cr_assert_eq(m.r.occurrences, 20);
    cr_assert_eq(m.r.error_occurrences, 10);
    cr_assert_eq(m.r.info_occurrences, 10);
    cr_assert_eq(m.r.occurrences_all_time, 57);
    model_free(&m);
}

Test(report_model, top_limits_the_listing)
{
    model m;
    model_init(&m);
    m.r.top = 1;
    char *h = render(dg__rep_render_html, &m.r);
    cr_assert_eq(count_of(h, "<section class=\"drift\""), 1);
    cr_assert(strstr(h, "2 more drifts in the window are not listed"));
    free(h);
    char *j = render(dg__rep_render_json, &m.r);
    cr_assert(strstr(j, "\"listed\": 1"));
    cr_assert(strstr(j, "\"drifts\": 3"));
    free(j);
    model_free(&m);
}

/* ---- spec locations ---- */

/* Line (1-based) of the first line of PETSTORE containing needle after
 * line `after`. */
static unsigned line_after(unsigned after, const char *needle)
{
    FILE *f = fopen(PETSTORE, "r");
    cr_assert_not_null(f);
    char line[1024];
    unsigned n = 0, found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        n++;
        if (n > after && strstr(line, needle))
            found = n;
    }
    fclose(f);
    cr_assert(found, "%s not in %s", needle, PETSTORE);
    return found;
}

static unsigned line_of(const char *needle)
{
    return line_after(0, needle);
}

Test(report_spec, location_is_file_and_line)
{
    char abs[PATH_MAX], ptr[PATH_MAX + 200], out[DG_REP_LOC_MAX], want[PATH_MAX + 32];
    cr_assert_not_null(realpath(PETSTORE, abs));
    snprintf(ptr, sizeof ptr, "%s#/components/schemas/Pet/required", abs);
    cr_assert_eq(dg_report_spec_location(ptr, out, sizeof out), 0);
    snprintf(want, sizeof want, "%s:%u", abs, line_of("required: [id, name, created_at]"));
    cr_assert_str_eq(out, want);
    /* enum: the array's line */
    snprintf(ptr, sizeof ptr, "%s#/components/schemas/Pet/properties/status/enum", abs);
    cr_assert_eq(dg_report_spec_location(ptr, out, sizeof out), 0);
    snprintf(want, sizeof want, "%s:%u", abs, line_of("enum: [available, pending, adopted]"));
    cr_assert_str_eq(out, want);
    /* a literal (true) has no location of its own: the enclosing node's,
     * Pet's tag (NewPet's comes first in the file) */
    snprintf(ptr, sizeof ptr, "%s#/components/schemas/Pet/properties/tag/nullable", abs);
    cr_assert_eq(dg_report_spec_location(ptr, out, sizeof out), 0);
    snprintf(want, sizeof want, "%s:%u", abs,
             line_after(line_of("    Pet:"), "tag: {type: string, nullable: true}"));
    cr_assert_str_eq(out, want);
    /* a URI fragment: ~1 and percent-encoding */
    snprintf(ptr, sizeof ptr, "file://%s#/paths/~1pets~1%%7BpetId%%7D/get/operationId", abs);
    cr_assert_eq(dg_report_spec_location(ptr, out, sizeof out), 0);
    snprintf(want, sizeof want, "%s:%u", abs, line_of("operationId: showPetById"));
    cr_assert_str_eq(out, want);
}

Test(report_spec, missing_file_gives_the_pointer)
{
    char out[256];
    const char *p = "/no/such/dir/petstore.yaml#/components/schemas/Pet/required";
    cr_assert_eq(dg_report_spec_location(p, out, sizeof out), DG_ENOTFOUND);
    cr_assert_str_eq(out, p);
    cr_assert_eq(dg_report_spec_location("", out, sizeof out), DG_ENOTFOUND);
    cr_assert_str_eq(out, "");
    /* a node the spec no longer has (it changed): the pointer too */
    char abs[PATH_MAX], ptr[PATH_MAX + 64], out2[PATH_MAX + 64];
    cr_assert_not_null(realpath(PETSTORE, abs));
    snprintf(ptr, sizeof ptr, "%s#/components/schemas/Gone/required", abs);
    cr_assert_eq(dg_report_spec_location(ptr, out2, sizeof out2), DG_ENOTFOUND);
    cr_assert_str_eq(out2, ptr);
}

Test(report_spec, cache_loads_each_file_once)
{
    char abs[PATH_MAX], ptr[PATH_MAX + 64], a[DG_REP_LOC_MAX], b[DG_REP_LOC_MAX];
    cr_assert_not_null(realpath(PETSTORE, abs));
    snprintf(ptr, sizeof ptr, "%s#/components/schemas/Error/required", abs);
    dg_rep_spec_cache *c = dg__rep_spec_cache_new();
    cr_assert_not_null(c);
    cr_assert_eq(dg__rep_spec_location(c, ptr, a, sizeof a), 0);
    cr_assert_eq(dg__rep_spec_location(c, ptr, b, sizeof b), 0);
    cr_assert_str_eq(a, b);
    cr_assert_eq(dg__rep_spec_location(c, "/gone.yaml#/x", b, sizeof b), DG_ENOTFOUND);
    cr_assert_eq(dg__rep_spec_location(c, "/gone.yaml#/x", b, sizeof b), DG_ENOTFOUND);
    cr_assert_str_eq(b, "/gone.yaml#/x");
    dg__rep_spec_cache_free(c);
}

/* ---- end to end over a store ---- */

typedef struct e2e {
    char dir[64];
    char store[128];
    char out[128];
    char spec[PATH_MAX];
    dg_store *s;
} e2e;

static void e2e_init(e2e *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/dg-report-XXXXXX");
    cr_assert_not_null(mkdtemp(t->dir));
    snprintf(t->store, sizeof t->store, "%s/drift.db", t->dir);
    snprintf(t->out, sizeof t->out, "%s/out/reports", t->dir);
    cr_assert_not_null(realpath(PETSTORE, t->spec));
    dg_error err;
    dg_store_opts so = {0, 0, 0};
    cr_assert_eq(dg_store_open(t->store, &so, &t->s, &err), 0, "%s", err.msg);
}

static void rm_rf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static void e2e_free(e2e *t)
{
    dg_store_close(t->s);
    rm_rf(t->dir);
}

/* One drift of api seen `count` times on the day of at_ms, identified by
 * pointer and kind (the fingerprint is computed as the pipeline does). */
static void put_drift(e2e *t, const char *api, const char *owner, const char *op, const char *ptr,
                      const char *kind, const char *sev, const char *keyword, int64_t at_ms,
                      uint64_t count, const char *example, char fp[DG_FP_LEN + 1])
{
    char sp[PATH_MAX + 256], loc[256];
    snprintf(sp, sizeof sp, "%s#/components/schemas/Pet/%s", t->spec, keyword);
    snprintf(loc, sizeof loc, "petstore.yaml#/components/schemas/Pet/%s", keyword);
    dg_day_count day = {dg_day_of_ms(at_ms), count};
    dg_drift d = {0};
    d.api = (char *)api;
    d.operation = (char *)op;
    d.status = 200;
    d.pointer = (char *)ptr;
    d.schema_loc = loc;
    d.kind = (char *)kind;
    char observed[16] = "string";
    json_t *ex = example ? json_loads(example, 0, NULL) : NULL;
    if (json_is_string(json_object_get(ex, "type")))
        snprintf(observed, sizeof observed, "%s", json_string_value(json_object_get(ex, "type")));
    json_decref(ex);
    d.observed_type = observed;
    d.method = (char *)"GET";
    d.path_template = (char *)"/pets/{petId}";
    d.media_type = (char *)"application/json";
    d.schema_pointer = sp;
    d.severity = (char *)sev;
    d.message = (char *)"value is not one of the enum's";
    d.owner = (char *)owner;
    d.spec_hash = (char *)"spec-1";
    d.example = (char *)example;
    d.first_seen_ms = d.last_seen_ms = at_ms;
    d.count = count;
    d.days = &day;
    d.n_days = 1;
    dg_drift_fingerprint(&d, d.fingerprint);
    memcpy(fp, d.fingerprint, DG_FP_LEN + 1);
    dg_error err;
    cr_assert_eq(dg_store_write(t->s, &d, 1, &err), 0, "%s", err.msg);
}

static void put_expl(e2e *t, const char *fp, const char *source, const char *cause,
                     const char *patch)
{
    dg_explanation x = {0};
    memcpy(x.fingerprint, fp, DG_FP_LEN + 1);
    x.spec_hash = (char *)"spec-1";
    x.classification = (char *)"spec_outdated";
    x.cause = (char *)cause;
    x.evidence = (char *)"seen on every response since Monday";
    x.severity = (char *)"medium";
    x.confidence = 0.8;
    x.patch = (char *)patch;
    x.source = (char *)source;
    if (!strcmp(source, "model")) {
        x.backend = (char *)"ollama";
        x.model = (char *)"gemma4:27b";
    }
    x.created_ms = NOW_MS - DAY_MS;
    dg_error err;
    cr_assert_eq(dg_store_put_explanation(t->s, &x, &err), 0, "%s", err.msg);
}

static char *slurp(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s was not written", path);
    dg_buf b = DG_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        cr_assert_eq(dg_buf_append(&b, chunk, n), 0);
    fclose(f);
    cr_assert_not_null(b.data);
    return b.data;
}

/* The drift of fingerprint fp in a JSON report (borrowed), or NULL. */
static json_t *find_fp(json_t *report, const char *member, const char *fp)
{
    json_t *a = json_object_get(report, member), *v;
    size_t i;
    json_array_foreach(a, i, v)
    {
        if (!strcmp(json_string_value(json_object_get(v, "fingerprint")), fp))
            return v;
    }
    return NULL;
}

static const char *change_of(json_t *report, const char *fp)
{
    json_t *d = find_fp(report, "drifts", fp);
    cr_assert_not_null(d, "%s not listed", fp);
    return json_string_value(json_object_get(d, "change"));
}

static dg_report_opts opts_at(e2e *t, int64_t now, int64_t window, int save)
{
    dg_report_opts o = {0};
    o.now_ms = now;
    o.since_ms = now - window;
    o.per_owner = 1;
    o.formats = DG_REPORT_JSON | DG_REPORT_MD | DG_REPORT_HTML;
    o.out_dir = t->out;
    o.save = save;
    return o;
}

Test(report_e2e, two_runs_new_recurring_resolved)
{
    e2e t;
    e2e_init(&t);
    char a[DG_FP_LEN + 1], b[DG_FP_LEN + 1], c[DG_FP_LEN + 1], d[DG_FP_LEN + 1], e[DG_FP_LEN + 1];
    put_drift(&t, "petstore", "pets-team", "showPetById", "/status", "enum", "error",
              "properties/status/enum", NOW_MS - 3600000, 30,
              "{\"type\":\"string\",\"length\":8,\"value\":\"\\\"<script>x</script>\\\"\"}", a);
    put_drift(&t, "petstore", "pets-team", "showPetById", "/tag", "type", "error",
              "properties/tag/type", NOW_MS - 7200000, 4, "{\"type\":\"null\",\"length\":0}", b);
    put_drift(&t, "petstore", "unowned", "listPets", "/*/nickname", "additional", "info",
              "properties", NOW_MS - 7200000, 9, NULL, c);
    put_drift(&t, "shop/v2", "shop", "getItem", "/price", "type", "error", "required",
              NOW_MS - 600000, 2, "{\"type\":\"string\",\"length\":3}", d);
    put_expl(&t, a, "model", "The provider added <script>alert(1)</script> as a status.",
             "[{\"op\":\"add\",\"path\":\"/components/schemas/Pet/properties/status/enum/-\","
             "\"value\":\"sold\"}]");
    put_expl(&t, b, "heuristic", "Nulls where a string is documented.", "[]");

    dg_report_opts o = opts_at(&t, NOW_MS, DAY_MS, 1);
    dg_report_summary sum;
    dg_error err;
    cr_assert_eq(dg_report_run(t.s, &o, &sum, &err), 0, "%s", err.msg);
    cr_assert_eq(sum.reports, 5, "2 APIs + 3 owners");
    cr_assert_eq(sum.drifts, 4);
    cr_assert_eq(sum.occurrences, 45);
    cr_assert_eq(sum.n_files, 18, "6 files x 3 formats");
    dg_report_summary_clear(&sum);

    checker ck;
    checker_init(&ck);
    static const char *const names[] = {"petstore", "shop_v2", "owner-pets-team", "owner-shop",
                                        "owner-unowned", "index"};
    for (size_t i = 0; i < 6; i++) {
        char n[64];
        snprintf(n, sizeof n, "%s.json", names[i]);
        char *s = slurp(t.out, n);
        assert_valid_json(&ck, s);
        free(s);
        snprintf(n, sizeof n, "%s.md", names[i]);
        free(slurp(t.out, n));
        snprintf(n, sizeof n, "%s.html", names[i]);
        s = slurp(t.out, n);
        cr_assert_null(strstr(s, "<script"), "%s: no script element", n);
        free(s);
    }
    char *s = slurp(t.out, "petstore.json");
    json_t *j = json_loads(s, 0, NULL);
    cr_assert_not_null(j);
    cr_assert(json_is_null(json_object_get(j, "previous_report")));
    cr_assert_str_eq(change_of(j, a), "new");
    cr_assert_str_eq(change_of(j, b), "new");
    cr_assert_str_eq(change_of(j, c), "new");
    cr_assert_null(find_fp(j, "drifts", d), "another API's drift");
    json_t *ja = find_fp(j, "drifts", a);
    json_t *xa = json_object_get(ja, "explanation");
    cr_assert_str_eq(json_string_value(json_object_get(xa, "written_by")),
                     "model ollama/gemma4:27b");
    json_t *loc = json_object_get(ja, "spec_location");
    cr_assert_str_eq(json_string_value(json_object_get(loc, "file")), t.spec);
    cr_assert_eq(json_integer_value(json_object_get(loc, "line")),
                 line_of("enum: [available, pending, adopted]"));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(ja, "example"), "value")),
                     "\"<script>x</script>\"");
    cr_assert(json_is_null(json_object_get(find_fp(j, "drifts", c), "explanation")));
    json_decref(j);
    free(s);
    s = slurp(t.out, "petstore.html");
    cr_assert(strstr(s, "The provider added &lt;script&gt;alert(1)&lt;/script&gt; as a status."));
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "<code>%s:%u</code>", t.spec,
             line_of("enum: [available, pending, adopted]"));
    cr_assert(strstr(s, want), "spec location in HTML");
    free(s);
    s = slurp(t.out, "owner-unowned.json");
    j = json_loads(s, 0, NULL);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(j, "totals"), "drifts")), 1);
    json_decref(j);
    free(s);

    /* a day later: a and c again, d new, b not seen (resolved) */
    int64_t now2 = NOW_MS + DAY_MS;
    char c2[DG_FP_LEN + 1];
    put_drift(&t, "petstore", "pets-team", "showPetById", "/status", "enum", "error",
              "properties/status/enum", now2 - 3600000, 5, NULL, a);
    put_drift(&t, "petstore", "unowned", "listPets", "/*/nickname", "additional", "info",
              "properties", now2 - 3600000, 1, NULL, c2);
    cr_assert_str_eq(c, c2);
    put_drift(&t, "petstore", "pets-team", "createPet", "/id", "bounds", "error",
              "properties/id/minimum", now2 - 60000, 1, NULL, e);
    o = opts_at(&t, now2, DAY_MS, 1);
    cr_assert_eq(dg_report_run(t.s, &o, &sum, &err), 0, "%s", err.msg);
    dg_report_summary_clear(&sum);
    s = slurp(t.out, "petstore.json");
    assert_valid_json(&ck, s);
    j = json_loads(s, 0, NULL);
    json_t *prev = json_object_get(j, "previous_report");
    cr_assert_str_eq(json_string_value(json_object_get(prev, "at")), "2026-11-26T03:00:00Z");
    cr_assert_str_eq(change_of(j, a), "recurring");
    cr_assert_str_eq(change_of(j, c), "recurring");
    cr_assert_str_eq(change_of(j, e), "new");
    cr_assert_null(find_fp(j, "drifts", b));
    json_t *rb = find_fp(j, "resolved", b);
    cr_assert_not_null(rb, "b is resolved");
    cr_assert_str_eq(json_string_value(json_object_get(rb, "pointer")), "/tag");
    json_t *t2 = json_object_get(j, "totals");
    cr_assert_eq(json_integer_value(json_object_get(t2, "new")), 1);
    cr_assert_eq(json_integer_value(json_object_get(t2, "recurring")), 2);
    cr_assert_eq(json_integer_value(json_object_get(t2, "resolved")), 1);
    json_decref(j);
    free(s);
    /* shop/v2 had nothing in this window: its report says so and d resolved */
    s = slurp(t.out, "shop_v2.json");
    assert_valid_json(&ck, s);
    cr_assert(strstr(s, "\"summary\": \"no drift in this window\""));
    j = json_loads(s, 0, NULL);
    cr_assert_not_null(find_fp(j, "resolved", d));
    json_decref(j);
    free(s);
    s = slurp(t.out, "shop_v2.html");
    cr_assert(strstr(s, "No drift in this window."));
    free(s);

    /* --no-save: a dry look leaves the record alone */
    o = opts_at(&t, now2 + 3600000, DAY_MS, 0);
    cr_assert_eq(dg_report_run(t.s, &o, NULL, &err), 0, "%s", err.msg);
    int64_t at = 0;
    char **fps = NULL;
    size_t n = 0;
    cr_assert_eq(dg_store_last_report(t.s, "api:petstore", &at, &fps, &n, &err), 0);
    cr_assert_eq(at, now2);
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < n; i++)
        free(fps[i]);
    free(fps);
    checker_free(&ck);
    e2e_free(&t);
}

Test(report_e2e, owner_filter_and_names)
{
    e2e t;
    e2e_init(&t);
    char a[DG_FP_LEN + 1], b[DG_FP_LEN + 1];
    put_drift(&t, "index", "pay/ments", "x", "/a", "type", "error", "required", NOW_MS - 1000, 1,
              NULL, a);
    put_drift(&t, "..", "other", "x", "/b", "type", "error", "required", NOW_MS - 1000, 1, NULL, b);
    dg_report_opts o = opts_at(&t, NOW_MS, DAY_MS, 1);
    o.per_owner = 0;
    o.formats = DG_REPORT_JSON;
    dg_report_summary sum;
    dg_error err;
    cr_assert_eq(dg_report_run(t.s, &o, &sum, &err), 0, "%s", err.msg);
    /* "index" must not overwrite the index; ".." must not escape */
    cr_assert_eq(sum.n_files, 3);
    char *s = slurp(t.out, "index-2.json");
    cr_assert(strstr(s, "\"id\": \"api:index\""), "%s", s);
    free(s);
    s = slurp(t.out, "_..json");
    free(s);
    s = slurp(t.out, "index.json");
    cr_assert(strstr(s, "\"json\": \"index-2.json\""), "%s", s);
    free(s);
    dg_report_summary_clear(&sum);

    o.owner = "pay/ments";
    cr_assert_eq(dg_report_run(t.s, &o, &sum, &err), 0, "%s", err.msg);
    cr_assert_eq(sum.reports, 1);
    cr_assert_eq(sum.drifts, 1);
    s = slurp(t.out, "owner-pay_ments.json");
    cr_assert(strstr(s, a), "%s", s);
    cr_assert_null(strstr(s, b));
    free(s);
    dg_report_summary_clear(&sum);
    e2e_free(&t);
}

Test(report_e2e, empty_store_and_unwritable_out)
{
    e2e t;
    e2e_init(&t);
    dg_report_opts o = opts_at(&t, NOW_MS, DAY_MS, 1);
    dg_report_summary sum;
    dg_error err;
    cr_assert_eq(dg_report_run(t.s, &o, &sum, &err), 0, "%s", err.msg);
    cr_assert_eq(sum.reports, 0);
    cr_assert_eq(sum.n_files, 3, "the indexes");
    char *s = slurp(t.out, "index.html");
    cr_assert(strstr(s, "No drift in this window"));
    free(s);
    dg_report_summary_clear(&sum);
    /* --api for an API the store does not know: a report saying no drift */
    o.api = "nothing-here";
    cr_assert_eq(dg_report_run(t.s, &o, &sum, &err), 0, "%s", err.msg);
    s = slurp(t.out, "nothing-here.md");
    cr_assert(strstr(s, "No drift in this window"));
    free(s);
    dg_report_summary_clear(&sum);
    /* an out dir that cannot be created */
    char bad[200];
    snprintf(bad, sizeof bad, "%s/drift.db/sub", t.dir);
    o.out_dir = bad;
    cr_assert_eq(dg_report_run(t.s, &o, &sum, &err), DG_EIO);
    cr_assert(strstr(err.msg, "drift.db"), "%s", err.msg);
    e2e_free(&t);
}

/* REPORT_STORE_OUT=PATH: writes a store for tests/report/run.sh, with drift
 * seen in the last days (relative to now) and explanations. */
Test(report_e2e, fixture_store)
{
    const char *path = getenv("REPORT_STORE_OUT");
    if (!path || !*path)
        cr_skip_test("REPORT_STORE_OUT not set");
    unlink(path);
    e2e t;
    memset(&t, 0, sizeof t);
    cr_assert_not_null(realpath(PETSTORE, t.spec));
    dg_error err;
    dg_store_opts so = {0, 0, 0};
    cr_assert_eq(dg_store_open(path, &so, &t.s, &err), 0, "%s", err.msg);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 - 60000;
    char a[DG_FP_LEN + 1], b[DG_FP_LEN + 1], c[DG_FP_LEN + 1], d[DG_FP_LEN + 1];
    for (int k = 6; k >= 0; k--) {
        put_drift(&t, "petstore", "pets-team", "showPetById", "/status", "enum", "error",
                  "properties/status/enum", now - k * DAY_MS, (uint64_t)(3 + 5 * (k % 3)),
                  "{\"type\":\"string\",\"length\":25,"
                  "\"value\":\"\\\"<script>alert(1)</script>\\\"\"}",
                  a);
        if (k % 2 == 0)
            put_drift(&t, "petstore", "pets-team", "showPetById", "/tag", "type", "error",
                      "properties/tag/type", now - k * DAY_MS, 2,
                      "{\"type\":\"null\",\"length\":0}", b);
    }
    put_drift(&t, "petstore", "unowned", "listPets", "/*/nickname", "additional", "info",
              "properties", now - 3600000, 17, "{\"type\":\"string\",\"length\":6}", c);
    put_drift(&t, "payments", "billing", "getCharge", "/amount", "type", "error", "required",
              now - 2 * DAY_MS, 1,
              "{\"type\":\"number\",\"length\":0,\"number_class\":\"decimal\"}", d);
    put_expl(&t, a, "model",
             "The upstream started sending a status the spec does not list: "
             "<script>alert('x')</script>.",
             "[{\"op\":\"add\",\"path\":\"/components/schemas/Pet/properties/status/enum/-\","
             "\"value\":\"sold\"}]");
    put_expl(&t, b, "heuristic", "Nulls where a string is documented: the spec may miss nullable.",
             "[{\"op\":\"add\",\"path\":\"/components/schemas/Pet/properties/tag/nullable\","
             "\"value\":true}]");
    dg_store_close(t.s);
}
