/* Undocumented properties as info-level findings (report_undocumented):
 * which members count as documented (allOf, $ref, branches, discriminator,
 * patternProperties), when nothing is judged (additionalProperties,
 * unevaluatedProperties, no properties at all, a failed oneOf), the verdict
 * and caps, and identical results for every chunking and the tree walker. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "validate/validate.h"

typedef struct fx {
    dg_schemaset *set;
    dg_validator *v;
    int id;
} fx;

static void setup_opts(fx *f, const char *schema, dg_dialect d, const dg_validate_opts *vo)
{
    dg_doc *doc = NULL;
    dg_error err;
    int rc = dg_doc_load_buffer("schema.json", schema, strlen(schema), DG_DOC_AUTO, &doc, &err);
    cr_assert_eq(rc, 0, "schema load: %s", err.msg);
    dg_compile_opts co = {d, -1};
    f->set = dg_schemaset_new(&co);
    cr_assert_not_null(f->set);
    cr_assert_eq(dg_schemaset_add_doc(f->set, doc, "urn:test:schema", 1, &err), 0);
    rc = dg_schemaset_compile(f->set, dg_doc_root(doc), d, &f->id, &err);
    cr_assert_eq(rc, 0, "compile: %s", err.msg);
    f->v = dg_validator_new(f->set, vo);
    cr_assert_not_null(f->v);
}

static void setup(fx *f, const char *schema, dg_dialect d)
{
    dg_validate_opts vo;
    dg_validate_opts_default(&vo);
    vo.report_undocumented = 1;
    setup_opts(f, schema, d, &vo);
}

static void fx_free(fx *f)
{
    dg_validator_free(f->v);
    dg_schemaset_free(f->set);
}

static dg_result feed(fx *f, const char *text, size_t chunk)
{
    dg_result r;
    size_t n = strlen(text);
    cr_assert_eq(dg_validator_begin(f->v, f->id), 0);
    for (size_t off = 0; off < n;) {
        size_t k = chunk ? chunk : n;
        if (k > n - off)
            k = n - off;
        dg_validator_feed(f->v, text + off, k);
        off += k;
    }
    cr_assert_eq(dg_validator_finish(f->v, &r), 0);
    return r;
}

/* Everything a caller can see of a result, as text. */
static char *render(const dg_result *r)
{
    dg_buf b = DG_BUF_INIT;
    dg_buf_printf(&b, "valid=%d count=%zu total=%zu undocumented=%zu truncated=%d\n", r->valid,
                  r->count, r->total, r->undocumented, r->truncated);
    for (size_t i = 0; i < r->count; i++)
        dg_buf_printf(&b, "%s %s %s [%s] %s\n", r->v[i].undocumented ? "U" : "E",
                      dg_kind_name(r->v[i].kind), r->v[i].instance_pointer,
                      r->v[i].schema_pointer, r->v[i].message);
    return b.data;
}

/* Validates text whole, in chunks of 1, 2, 3 and 7 bytes, and through the
 * jansson tree walker; all must agree. Returns the whole-body result (valid
 * until the validator's next begin). */
static dg_result run(fx *f, const char *text)
{
    dg_result r = feed(f, text, 0);
    char *want = render(&r);
    static const size_t chunks[] = {1, 2, 3, 7};
    for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
        r = feed(f, text, chunks[i]);
        char *got = render(&r);
        cr_assert_str_eq(got, want, "chunks of %zu differ", chunks[i]);
        free(got);
    }
    dg_doc *doc = NULL;
    dg_error err;
    cr_assert_eq(dg_doc_load_buffer("i.json", text, strlen(text), DG_DOC_JSON, &doc, &err), 0,
                 "instance: %s", err.msg);
    cr_assert_eq(dg_validator_tree(f->v, f->id, dg_doc_root(doc), doc, &r), 0);
    char *got = render(&r);
    cr_assert_str_eq(got, want, "tree walker differs");
    free(got);
    dg_doc_free(doc);
    free(want);
    return feed(f, text, 0);
}

/* The undocumented finding at instance pointer p, or NULL. */
static const dg_violation *undoc_at(const dg_result *r, const char *p)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->v[i].undocumented && !strcmp(r->v[i].instance_pointer, p))
            return &r->v[i];
    return NULL;
}

static size_t real_count(const dg_result *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++)
        n += !r->v[i].undocumented;
    return n;
}

Test(undocumented, extra_member_is_an_info_finding_and_result_stays_valid)
{
    fx f;
    setup(&f, "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"}}}",
          DG_DIALECT_2020_12);
    dg_result r = run(&f, "{\"id\":1,\"nickname\":\"x\"}");
    cr_assert(r.valid, "undocumented members do not make the body invalid");
    cr_assert_eq(r.count, 1);
    cr_assert_eq(r.total, 1);
    cr_assert_eq(r.undocumented, 1);
    cr_assert_not(r.truncated);
    const dg_violation *u = &r.v[0];
    cr_assert_eq(u->undocumented, 1);
    cr_assert_eq(u->kind, DG_KIND_ADDITIONAL);
    cr_assert_str_eq(u->instance_pointer, "/nickname");
    cr_assert_str_eq(u->message, "property \"nickname\" is not documented");
    cr_assert_str_eq(u->schema_pointer, "schema.json#", "the object's schema node");
    cr_assert_null(u->value);
    r = run(&f, "{\"id\":1}");
    cr_assert(r.valid);
    cr_assert_eq(r.count, 0);
    cr_assert_eq(r.undocumented, 0);
    fx_free(&f);
}

Test(undocumented, off_by_default_and_switchable_per_validation)
{
    fx f;
    setup_opts(&f, "{\"properties\":{\"a\":{}}}", DG_DIALECT_2020_12, NULL);
    dg_result r = feed(&f, "{\"a\":1,\"b\":2}", 0);
    cr_assert(r.valid);
    cr_assert_eq(r.count, 0, "off unless asked for");
    dg_validator_set_report_undocumented(f.v, 1);
    r = feed(&f, "{\"a\":1,\"b\":2}", 0);
    cr_assert_eq(r.undocumented, 1);
    cr_assert_not_null(undoc_at(&r, "/b"));
    /* a change takes effect at the next begin, not in the value in progress */
    cr_assert_eq(dg_validator_begin(f.v, f.id), 0);
    dg_validator_set_report_undocumented(f.v, 0);
    dg_validator_feed(f.v, "{\"b\":2}", 7);
    cr_assert_eq(dg_validator_finish(f.v, &r), 0);
    cr_assert_eq(r.undocumented, 1, "began with the switch on");
    r = feed(&f, "{\"b\":2}", 0);
    cr_assert_eq(r.count, 0, "now off");
    fx_free(&f);
}

Test(undocumented, key_declared_by_a_sibling_allof_member_is_documented)
{
    fx f;
    setup(&f,
          "{\"allOf\":[{\"$ref\":\"#/$defs/Resource\"},"
          "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}],"
          "\"$defs\":{\"Resource\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"},"
          "\"etag\":{\"type\":\"string\"}}}}}",
          DG_DIALECT_2020_12);
    dg_result r = run(&f, "{\"id\":1,\"name\":\"n\",\"etag\":\"e\"}");
    cr_assert(r.valid);
    cr_assert_eq(r.count, 0, "every member is declared by one of the members");
    r = run(&f, "{\"id\":1,\"name\":\"n\",\"extra\":true}");
    cr_assert(r.valid);
    cr_assert_eq(r.count, 1);
    cr_assert_not_null(undoc_at(&r, "/extra"));
    fx_free(&f);
}

Test(undocumented, refd_object_nested_objects_and_arrays_of_objects)
{
    fx f;
    setup(&f,
          "{\"type\":\"object\",\"properties\":{"
          "\"owner\":{\"$ref\":\"#/$defs/Person\"},"
          "\"pets\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/Pet\"}}},"
          "\"$defs\":{"
          "\"Person\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
          "\"address\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}},"
          "\"Pet\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}}}}}",
          DG_DIALECT_2020_12);
    dg_result r = run(&f,
                      "{\"owner\":{\"name\":\"a\",\"address\":{\"city\":\"c\",\"zip\":\"z\"},\"age\":3},"
                      "\"pets\":[{\"name\":\"p\"},{\"name\":\"q\",\"chip\":\"x\",\"a/b~c\":1}],"
                      "\"top\":0}");
    cr_assert(r.valid);
    cr_assert_eq(r.undocumented, 5, "%s", render(&r));
    const dg_violation *zip = undoc_at(&r, "/owner/address/zip");
    cr_assert_not_null(zip);
    cr_assert(strstr(zip->schema_pointer, "#/$defs/Person/properties/address"), "%s",
              zip->schema_pointer);
    const dg_violation *age = undoc_at(&r, "/owner/age");
    cr_assert_not_null(age);
    cr_assert_str_eq(age->schema_pointer, "schema.json#/$defs/Person", "the $ref target");
    cr_assert_not_null(undoc_at(&r, "/pets/1/chip"));
    const dg_violation *esc = undoc_at(&r, "/pets/1/a~1b~0c");
    cr_assert_not_null(esc, "member names are escaped in pointers");
    cr_assert_str_eq(esc->message, "property \"a/b~c\" is not documented");
    cr_assert_not_null(undoc_at(&r, "/top"));
    fx_free(&f);
}

Test(undocumented, additional_or_unevaluated_properties_mean_the_author_decided)
{
    static const char *schemas[] = {
        "{\"properties\":{\"a\":{}},\"additionalProperties\":true}",
        "{\"properties\":{\"a\":{}},\"additionalProperties\":{}}",
        "{\"properties\":{\"a\":{}},\"additionalProperties\":{\"type\":\"integer\"}}",
        "{\"properties\":{\"a\":{}},\"unevaluatedProperties\":true}",
        /* in a sibling allOf member */
        "{\"allOf\":[{\"properties\":{\"a\":{}}},{\"additionalProperties\":true}]}",
        /* on the parent of an allOf: unevaluatedProperties sees into it */
        "{\"allOf\":[{\"properties\":{\"a\":{}}}],\"unevaluatedProperties\":{\"type\":\"integer\"}}",
        NULL};
    for (int i = 0; schemas[i]; i++) {
        fx f;
        setup(&f, schemas[i], DG_DIALECT_2020_12);
        dg_result r = run(&f, "{\"a\":1,\"b\":2}");
        cr_assert(r.valid, "%s", schemas[i]);
        cr_assert_eq(r.count, 0, "%s: %s", schemas[i], render(&r));
        fx_free(&f);
    }
    /* additionalProperties: false still errs, and nothing more is added */
    fx f;
    setup(&f, "{\"properties\":{\"a\":{}},\"additionalProperties\":false}", DG_DIALECT_2020_12);
    dg_result r = run(&f, "{\"a\":1,\"b\":2}");
    cr_assert_not(r.valid);
    cr_assert_eq(r.count, 1);
    cr_assert_eq(r.undocumented, 0);
    cr_assert_eq(r.v[0].undocumented, 0);
    fx_free(&f);
}

Test(undocumented, schemas_without_properties_never_report)
{
    static const char *schemas[] = {
        "{}", "true", "{\"type\":\"object\"}", "{\"type\":\"object\",\"required\":[\"a\"]}",
        "{\"type\":\"object\",\"minProperties\":1}", "{\"items\":{\"type\":\"object\"}}", NULL};
    for (int i = 0; schemas[i]; i++) {
        fx f;
        setup(&f, schemas[i], DG_DIALECT_2020_12);
        dg_result r = run(&f, "{\"a\":{\"b\":[{\"c\":1}]}}");
        cr_assert(r.valid, "%s", schemas[i]);
        cr_assert_eq(r.count, 0, "%s: %s", schemas[i], render(&r));
        fx_free(&f);
    }
}

Test(undocumented, pattern_properties_document_matching_members)
{
    fx f;
    setup(&f, "{\"properties\":{\"id\":{}},\"patternProperties\":{\"^x-\":{}}}", DG_DIALECT_2020_12);
    dg_result r = run(&f, "{\"id\":1,\"x-trace\":2,\"y\":3}");
    cr_assert_eq(r.undocumented, 1);
    cr_assert_not_null(undoc_at(&r, "/y"));
    fx_free(&f);
    /* patternProperties alone declares too */
    setup(&f, "{\"patternProperties\":{\"^[0-9]+$\":{}}}", DG_DIALECT_2020_12);
    r = run(&f, "{\"12\":1,\"ab\":2}");
    cr_assert_eq(r.undocumented, 1);
    cr_assert_not_null(undoc_at(&r, "/ab"));
    fx_free(&f);
}

static const char *disc_schema =
    "{\"oneOf\":[{\"$ref\":\"#/$defs/Cat\"},{\"$ref\":\"#/$defs/Dog\"}],"
    "\"discriminator\":{\"propertyName\":\"kind\",\"mapping\":{\"dog\":\"#/$defs/Dog\"}},"
    "\"$defs\":{\"Cat\":{\"type\":\"object\",\"required\":[\"kind\"],\"properties\":{"
    "\"kind\":{\"enum\":[\"Cat\"]},\"meow\":{\"type\":\"boolean\"},\"lives\":{\"type\":\"integer\",\"maximum\":9}}},"
    "\"Dog\":{\"type\":\"object\",\"required\":[\"kind\"],\"properties\":{"
    "\"kind\":{\"enum\":[\"dog\"]},\"bark\":{\"type\":\"boolean\"}}}}}";

Test(undocumented, one_of_with_discriminator_counts_the_passing_branch_only)
{
    fx f;
    setup(&f, disc_schema, DG_DIALECT_OAS31);
    /* meow belongs to Cat, not to Dog, the one branch that passes (the
     * discriminator names it too); also when it comes before the
     * discriminator property */
    dg_result r = run(&f, "{\"kind\":\"dog\",\"bark\":true,\"meow\":true}");
    cr_assert(r.valid, "%s", render(&r));
    cr_assert_eq(r.undocumented, 1);
    const dg_violation *m = undoc_at(&r, "/meow");
    cr_assert_not_null(m);
    cr_assert_str_eq(m->schema_pointer, "schema.json#", "the object's schema (the oneOf)");
    r = run(&f, "{\"meow\":true,\"kind\":\"dog\",\"bark\":true}");
    cr_assert(r.valid);
    cr_assert_eq(r.undocumented, 1);
    cr_assert_not_null(undoc_at(&r, "/meow"));
    r = run(&f, "{\"kind\":\"Cat\",\"meow\":true}");
    cr_assert(r.valid);
    cr_assert_eq(r.count, 0);
    /* the selected branch fails on a real error: no undocumented pile-up */
    r = run(&f, "{\"kind\":\"Cat\",\"lives\":12,\"bark\":true}");
    cr_assert_not(r.valid);
    cr_assert_eq(r.undocumented, 0, "%s", render(&r));
    fx_free(&f);
}

Test(undocumented, any_of_counts_passing_branches_and_a_failed_one_of_is_not_judged)
{
    fx f;
    setup(&f,
          "{\"anyOf\":[{\"properties\":{\"a\":{\"type\":\"integer\"}}},"
          "{\"properties\":{\"b\":{\"type\":\"integer\"}}},"
          "{\"properties\":{\"c\":{\"type\":\"string\"}},\"required\":[\"c\"]}]}",
          DG_DIALECT_2020_12);
    /* branches 0 and 1 pass; branch 2 fails (c missing) and documents nothing */
    dg_result r = run(&f, "{\"a\":1,\"b\":2,\"d\":3}");
    cr_assert(r.valid);
    cr_assert_eq(r.undocumented, 1, "%s", render(&r));
    cr_assert_not_null(undoc_at(&r, "/d"));
    /* a's branch fails on its type: a is documented by no passing branch */
    r = run(&f, "{\"a\":\"x\",\"b\":2}");
    cr_assert(r.valid);
    cr_assert_not_null(undoc_at(&r, "/a"), "%s", render(&r));
    fx_free(&f);

    setup(&f,
          "{\"oneOf\":[{\"properties\":{\"a\":{\"type\":\"integer\"}},\"required\":[\"a\"]},"
          "{\"properties\":{\"b\":{\"type\":\"integer\"}},\"required\":[\"b\"]}]}",
          DG_DIALECT_2020_12);
    r = run(&f, "{\"a\":1,\"b\":2,\"z\":0}");
    cr_assert_not(r.valid, "both branches match");
    cr_assert_eq(r.undocumented, 0, "no variant matched: members are not judged");
    r = run(&f, "{\"a\":1,\"z\":0}");
    cr_assert(r.valid);
    cr_assert_not_null(undoc_at(&r, "/z"));
    fx_free(&f);
}

Test(undocumented, not_and_if_conditions)
{
    fx f;
    setup(&f, "{\"properties\":{\"a\":{}},\"not\":{\"properties\":{\"b\":{\"type\":\"string\"}},"
              "\"required\":[\"b\"]}}",
          DG_DIALECT_2020_12);
    dg_result r = run(&f, "{\"a\":1,\"b\":2}");
    cr_assert(r.valid);
    cr_assert_not_null(undoc_at(&r, "/b"), "what `not` names is not documented");
    fx_free(&f);
    setup(&f, "{\"properties\":{\"kind\":{}},\"if\":{\"properties\":{\"kind\":{\"const\":\"a\"}}},"
              "\"then\":{\"properties\":{\"x\":{}}},\"else\":{\"properties\":{\"y\":{}}}}",
          DG_DIALECT_2020_12);
    r = run(&f, "{\"kind\":\"a\",\"x\":1,\"y\":2}");
    cr_assert(r.valid);
    cr_assert_eq(r.undocumented, 1, "%s", render(&r));
    cr_assert_not_null(undoc_at(&r, "/y"));
    r = run(&f, "{\"kind\":\"b\",\"x\":1,\"y\":2}");
    cr_assert_eq(r.undocumented, 1);
    cr_assert_not_null(undoc_at(&r, "/x"));
    fx_free(&f);
}

Test(undocumented, mixed_with_real_errors)
{
    fx f;
    setup(&f,
          "{\"type\":\"object\",\"required\":[\"id\"],\"allOf\":[{\"properties\":{\"id\":{\"type\":\"integer\"}}},"
          "{\"properties\":{\"tags\":{\"type\":\"array\",\"items\":{\"properties\":{\"k\":{\"type\":\"string\"}}}}}}]}",
          DG_DIALECT_2020_12);
    dg_result r = run(&f, "{\"id\":\"x\",\"tags\":[{\"k\":1,\"v\":2}],\"new\":true}");
    cr_assert_not(r.valid);
    cr_assert_eq(real_count(&r), 2, "%s", render(&r));
    cr_assert_eq(r.undocumented, 2, "%s", render(&r));
    cr_assert_eq(r.total, 4);
    cr_assert_not_null(undoc_at(&r, "/tags/0/v"));
    cr_assert_not_null(undoc_at(&r, "/new"));
    cr_assert_null(undoc_at(&r, "/id"), "the failing allOf member still documents id");
    r = run(&f, "{\"tags\":[],\"x\":1}");
    cr_assert_not(r.valid, "missing id");
    cr_assert_eq(real_count(&r), 1);
    cr_assert_not_null(undoc_at(&r, "/x"));
    fx_free(&f);
}

Test(undocumented, own_cap_never_crowds_out_real_violations)
{
    fx f;
    dg_validate_opts vo;
    dg_validate_opts_default(&vo);
    vo.report_undocumented = 1;
    vo.max_errors = 5;
    setup_opts(&f, "{\"items\":{\"properties\":{\"n\":{\"type\":\"integer\"}}}}", DG_DIALECT_2020_12,
               &vo);
    dg_buf b = DG_BUF_INIT;
    dg_buf_putc(&b, '[');
    for (int i = 0; i < 40; i++)
        dg_buf_printf(&b, "%s{\"n\":%s,\"x%d\":1}", i ? "," : "", i < 30 ? "1" : "\"s\"", i);
    dg_buf_putc(&b, ']');
    dg_result r = run(&f, b.data);
    cr_assert_not(r.valid);
    cr_assert_eq(real_count(&r), 5, "%s", render(&r));
    cr_assert_eq(r.undocumented, 5);
    cr_assert_eq(r.count, 10);
    cr_assert_eq(r.total, 50, "40 undocumented + 10 type errors");
    cr_assert(r.truncated);
    dg_buf_free(&b);
    fx_free(&f);

    /* only undocumented findings past the cap: still valid */
    setup_opts(&f, "{\"properties\":{}}", DG_DIALECT_2020_12, &vo);
    r = run(&f, "{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1}");
    cr_assert(r.valid);
    cr_assert_eq(r.count, 5);
    cr_assert_eq(r.undocumented, 5);
    cr_assert_eq(r.total, 7);
    cr_assert(r.truncated);
    fx_free(&f);
}

Test(undocumented, oas30_spec_style_schema)
{
    fx f;
    setup(&f,
          "{\"type\":\"object\",\"nullable\":true,\"properties\":{\"id\":{\"type\":\"integer\"},"
          "\"meta\":{\"type\":\"object\",\"additionalProperties\":{\"type\":\"string\"}}}}",
          DG_DIALECT_OAS30);
    dg_result r = run(&f, "{\"id\":1,\"meta\":{\"anything\":\"goes\"},\"added\":[1]}");
    cr_assert(r.valid);
    cr_assert_eq(r.count, 1, "%s", render(&r));
    cr_assert_not_null(undoc_at(&r, "/added"));
    r = run(&f, "null");
    cr_assert(r.valid);
    cr_assert_eq(r.count, 0);
    fx_free(&f);
}

Test(undocumented, nested_object_reached_by_two_branches_is_judged_on_their_union)
{
    fx f;
    setup(&f,
          "{\"anyOf\":[{\"properties\":{\"o\":{\"properties\":{\"a\":{}}}}},"
          "{\"properties\":{\"o\":{\"properties\":{\"b\":{}}}}}]}",
          DG_DIALECT_2020_12);
    dg_result r = run(&f, "{\"o\":{\"a\":1,\"b\":2,\"c\":3}}");
    cr_assert(r.valid);
    cr_assert_eq(r.count, 1, "%s", render(&r));
    cr_assert_not_null(undoc_at(&r, "/o/c"));
    fx_free(&f);
}

Test(undocumented, member_names_with_nul_and_names_not_kept)
{
    fx f;
    setup(&f, "{\"properties\":{\"a\":{}}}", DG_DIALECT_2020_12);
    dg_result r = run(&f, "{\"x\\u0000y\":1,\"a\":2,\"z\":3}");
    cr_assert_eq(r.undocumented, 2, "%s", render(&r));
    cr_assert_not_null(undoc_at(&r, "/z"), "names after one with a NUL keep their positions");
    /* member names are kept up to 1 MiB per object; past that the finding
     * points at the object and names the member's position */
    size_t big = (1u << 20) + 10;
    char *body = malloc(big + 64);
    cr_assert_not_null(body);
    size_t o = 0;
    body[o++] = '{';
    body[o++] = '"';
    memset(body + o, 'k', big);
    o += big;
    o += (size_t)sprintf(body + o, "\":1,\"a\":2,\"q\":3}");
    r = feed(&f, body, 0);
    cr_assert(r.valid);
    cr_assert_eq(r.undocumented, 2, "%s", render(&r));
    cr_assert_str_eq(r.v[0].instance_pointer, "");
    cr_assert_str_eq(r.v[0].message, "property #0 (name not kept) is not documented");
    cr_assert_str_eq(r.v[1].message, "property #2 (name not kept) is not documented");
    free(body);
    fx_free(&f);
}
