/* Engine behaviour beyond the JSON-Schema-Test-Suite: violation details
 * (pointers, kinds, shapes), OpenAPI semantics, exact numbers, streaming
 * equivalence, limits. */
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

static void compile_schema(fx *f, const char *schema, dg_dialect d, int assert_formats)
{
    dg_doc *doc = NULL;
    dg_error err;
    int rc = dg_doc_load_buffer("schema.json", schema, strlen(schema), DG_DOC_AUTO, &doc, &err);
    cr_assert_eq(rc, 0, "schema load: %s", err.msg);
    dg_compile_opts co = {d, assert_formats};
    f->set = dg_schemaset_new(&co);
    cr_assert_not_null(f->set);
    cr_assert_eq(dg_schemaset_add_doc(f->set, doc, "urn:test:schema", 1, &err), 0);
    rc = dg_schemaset_compile(f->set, dg_doc_root(doc), d, &f->id, &err);
    cr_assert_eq(rc, 0, "compile: %s", err.msg);
    dg_validate_opts vo;
    dg_validate_opts_default(&vo);
    f->v = dg_validator_new(f->set, &vo);
    cr_assert_not_null(f->v);
}

static void fx_free(fx *f)
{
    dg_validator_free(f->v);
    dg_schemaset_free(f->set);
}

/* Streams text through the validator in chunks of `chunk` bytes (0 = whole). */
static dg_result run(fx *f, const char *text, size_t chunk)
{
    dg_result r;
    size_t n = strlen(text);
    dg_validator_begin(f->v, f->id);
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

static const dg_violation *find_kind(const dg_result *r, dg_kind k)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->v[i].kind == k)
            return &r->v[i];
    return NULL;
}

Test(validate, violation_has_pointer_kind_location_and_shape)
{
    fx f;
    compile_schema(&f,
                   "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":\"array\",\"items\":"
                   "{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{\"price\":"
                   "{\"type\":\"number\",\"minimum\":0}}}}}}",
                   DG_DIALECT_2020_12, -1);
    dg_result r = run(&f, "{\"items\":[{\"id\":1,\"price\":3},{\"id\":2,\"price\":-4.5}]}", 0);
    cr_assert_not(r.valid);
    cr_assert_eq(r.count, 1);
    cr_assert_str_eq(r.v[0].instance_pointer, "/items/1/price");
    cr_assert_eq(r.v[0].kind, DG_KIND_BOUNDS);
    cr_assert(strstr(r.v[0].schema_pointer, "/properties/items/items/properties/price/minimum"),
              "schema pointer %s", r.v[0].schema_pointer);
    cr_assert_str_eq(r.v[0].shape.type, "number");
    cr_assert_str_eq(r.v[0].shape.number_class, "decimal");
    cr_assert_null(r.v[0].value, "raw values are not reported by default");
    fx_free(&f);
}

Test(validate, required_missing_points_at_object)
{
    fx f;
    compile_schema(&f, "{\"type\":\"array\",\"items\":{\"required\":[\"a\",\"b\"]}}", DG_DIALECT_2020_12, -1);
    dg_result r = run(&f, "[{\"a\":1},{\"b\":2,\"a\":1},{}]", 0);
    cr_assert_eq(r.count, 3);
    cr_assert_str_eq(r.v[0].instance_pointer, "/0");
    cr_assert(strstr(r.v[0].message, "\"b\""));
    cr_assert_eq(r.v[0].kind, DG_KIND_REQUIRED);
    cr_assert_str_eq(r.v[1].instance_pointer, "/2");
    cr_assert_str_eq(r.v[2].instance_pointer, "/2");
    fx_free(&f);
}

Test(validate, pointer_escapes_tilde_and_slash)
{
    fx f;
    compile_schema(&f, "{\"additionalProperties\":{\"type\":\"string\"}}", DG_DIALECT_2020_12, -1);
    dg_result r = run(&f, "{\"a/b~c\":1}", 0);
    cr_assert_eq(r.count, 1);
    cr_assert_str_eq(r.v[0].instance_pointer, "/a~1b~0c");
    fx_free(&f);
}

Test(validate, same_violations_for_every_chunk_size)
{
    fx f;
    compile_schema(&f,
                   "{\"type\":\"object\",\"properties\":{\"s\":{\"type\":\"string\",\"maxLength\":3},"
                   "\"n\":{\"type\":\"integer\"},\"e\":{\"enum\":[\"x\",\"y\"]},"
                   "\"o\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"object\",\"required\":[\"k\"]}]}},"
                   "\"additionalProperties\":false}",
                   DG_DIALECT_2020_12, -1);
    const char *doc = "{\"s\":\"h\\u00e9llo\",\"n\":1.5,\"e\":\"z\",\"o\":{\"q\":[1,2,{\"r\":null}]},\"extra\":true}";
    dg_result whole = run(&f, doc, 0);
    size_t total = whole.total;
    char *ptrs[16];
    cr_assert(whole.count < 16);
    for (size_t i = 0; i < whole.count; i++)
        ptrs[i] = strdup(whole.v[i].instance_pointer);
    cr_assert_eq(total, 6, "s, n, e, o (anyOf + closest branch), extra: got %zu", total);
    for (size_t chunk = 1; chunk < strlen(doc); chunk++) {
        dg_result r = run(&f, doc, chunk);
        cr_assert_eq(r.total, total, "chunk %zu", chunk);
        for (size_t i = 0; i < r.count; i++)
            cr_assert_str_eq(r.v[i].instance_pointer, ptrs[i], "chunk %zu", chunk);
    }
    for (size_t i = 0; i < whole.count; i++)
        free(ptrs[i]);
    fx_free(&f);
}

Test(validate, error_cap_marks_truncated)
{
    fx f;
    compile_schema(&f, "{\"items\":{\"type\":\"string\"}}", DG_DIALECT_2020_12, -1);
    dg_buf b = DG_BUF_INIT;
    dg_buf_putc(&b, '[');
    for (int i = 0; i < 250; i++)
        dg_buf_printf(&b, "%s%d", i ? "," : "", i);
    dg_buf_putc(&b, ']');
    dg_result r = run(&f, b.data, 0);
    cr_assert_eq(r.count, 100);
    cr_assert_eq(r.total, 250);
    cr_assert(r.truncated);
    dg_buf_free(&b);
    fx_free(&f);
}

Test(validate, malformed_json_is_a_located_parse_violation)
{
    fx f;
    compile_schema(&f, "{}", DG_DIALECT_2020_12, -1);
    dg_result r = run(&f, "{\"a\": 1,\n \"b\": tru }", 3);
    cr_assert_not(r.valid);
    cr_assert_eq(r.count, 1);
    cr_assert_eq(r.v[0].kind, DG_KIND_PARSE);
    cr_assert_eq(r.parse_error.line, 2);
    cr_assert(strstr(r.v[0].message, "line 2"), "%s", r.v[0].message);
    r = run(&f, "[1, 2", 0);
    cr_assert_eq(r.v[0].kind, DG_KIND_PARSE, "truncated body");
    fx_free(&f);
}

Test(validate, deep_nesting_is_a_limit_error_not_a_crash)
{
    fx f;
    compile_schema(&f, "{\"items\":{\"items\":{}}}", DG_DIALECT_2020_12, -1);
    size_t n = 100000;
    char *s = malloc(n + 1);
    memset(s, '[', n);
    s[n] = 0;
    dg_result r = run(&f, s, 4096);
    cr_assert_not(r.valid);
    cr_assert_eq(r.v[0].kind, DG_KIND_PARSE);
    cr_assert(strstr(r.v[0].message, "depth"), "%s", r.v[0].message);
    free(s);
    fx_free(&f);
}

Test(validate, exact_big_number_bounds)
{
    fx f;
    compile_schema(&f, "{\"maximum\":18446744073709551615,\"minimum\":-9223372036854775809}",
                   DG_DIALECT_2020_12, -1);
    cr_assert(run(&f, "18446744073709551615", 0).valid);
    cr_assert_not(run(&f, "18446744073709551616", 0).valid);
    cr_assert_not(run(&f, "18446744073709551615.0000000001", 0).valid);
    cr_assert(run(&f, "-9223372036854775809", 0).valid);
    cr_assert_not(run(&f, "-9223372036854775810", 0).valid);
    fx_free(&f);
}

Test(validate, decimal_multiple_of_is_exact)
{
    fx f;
    compile_schema(&f, "{\"multipleOf\":0.01}", DG_DIALECT_2020_12, -1);
    cr_assert(run(&f, "19.99", 0).valid);
    cr_assert(run(&f, "0.07", 0).valid);
    cr_assert(run(&f, "1e300", 0).valid);
    cr_assert_not(run(&f, "19.999", 0).valid);
    fx_free(&f);
}

Test(validate, int32_int64_formats_on_exact_text)
{
    fx f;
    compile_schema(&f,
                   "{\"properties\":{\"a\":{\"type\":\"integer\",\"format\":\"int32\"},"
                   "\"b\":{\"type\":\"integer\",\"format\":\"int64\"}}}",
                   DG_DIALECT_OAS30, -1);
    cr_assert(run(&f, "{\"a\":2147483647,\"b\":9223372036854775807}", 0).valid);
    dg_result r = run(&f, "{\"a\":2147483648,\"b\":9223372036854775808}", 0);
    cr_assert_eq(r.count, 2);
    cr_assert_eq(r.v[0].kind, DG_KIND_FORMAT);
    cr_assert_str_eq(r.v[0].instance_pointer, "/a");
    cr_assert_str_eq(r.v[1].instance_pointer, "/b");
    fx_free(&f);
}

Test(validate, oas30_nullable_and_draft4_integers)
{
    fx f;
    compile_schema(&f,
                   "{\"properties\":{\"a\":{\"type\":\"string\",\"nullable\":true},"
                   "\"b\":{\"type\":\"string\"},\"c\":{\"type\":\"integer\"},"
                   "\"d\":{\"nullable\":true,\"allOf\":[{\"type\":\"object\"}]}}}",
                   DG_DIALECT_OAS30, -1);
    cr_assert(run(&f, "{\"a\":null,\"d\":null}", 0).valid);
    dg_result r = run(&f, "{\"b\":null,\"c\":1.0}", 0);
    cr_assert_eq(r.count, 2);
    cr_assert_eq(r.v[0].kind, DG_KIND_TYPE);
    cr_assert_str_eq(r.v[0].shape.type, "null");
    cr_assert_str_eq(r.v[1].instance_pointer, "/c", "OAS 3.0: 1.0 is not an integer");
    fx_free(&f);
}

Test(validate, oas31_ignores_stray_nullable_but_honours_type_arrays)
{
    fx f;
    compile_schema(&f,
                   "{\"properties\":{\"a\":{\"type\":\"string\",\"nullable\":true},"
                   "\"b\":{\"type\":[\"string\",\"null\"]},\"c\":{\"type\":\"integer\"}}}",
                   DG_DIALECT_OAS31, -1);
    dg_result r = run(&f, "{\"a\":null,\"b\":null,\"c\":1.0}", 0);
    cr_assert_eq(r.count, 1);
    cr_assert_str_eq(r.v[0].instance_pointer, "/a");
    cr_assert_gt(dg_schemaset_lint_count(f.set), 0, "stray nullable is linted");
    fx_free(&f);
}

Test(validate, write_only_required_is_not_required_in_responses)
{
    fx f;
    compile_schema(&f,
                   "{\"type\":\"object\",\"required\":[\"id\",\"password\"],\"properties\":{"
                   "\"id\":{\"type\":\"integer\",\"readOnly\":true},"
                   "\"password\":{\"type\":\"string\",\"writeOnly\":true}}}",
                   DG_DIALECT_OAS30, -1);
    cr_assert(run(&f, "{\"id\":1}", 0).valid, "password missing from a response is fine");
    dg_result r = run(&f, "{\"id\":1,\"password\":\"x\"}", 0);
    cr_assert_eq(r.count, 1);
    cr_assert_str_eq(r.v[0].instance_pointer, "/password");
    cr_assert(strstr(r.v[0].message, "writeOnly"));
    /* requests: the other way round */
    dg_validator_free(f.v);
    dg_validate_opts vo;
    dg_validate_opts_default(&vo);
    vo.direction = DG_DIR_REQUEST;
    f.v = dg_validator_new(f.set, &vo);
    cr_assert(run(&f, "{\"password\":\"x\"}", 0).valid);
    cr_assert_not(run(&f, "{\"id\":1,\"password\":\"x\"}", 0).valid);
    fx_free(&f);
}

static const char *disc_schema =
    "{\"oneOf\":[{\"$ref\":\"#/$defs/Cat\"},{\"$ref\":\"#/$defs/Dog\"}],"
    "\"discriminator\":{\"propertyName\":\"kind\",\"mapping\":{\"dog\":\"#/$defs/Dog\"}},"
    "\"$defs\":{\"Cat\":{\"type\":\"object\",\"required\":[\"kind\",\"lives\"],\"properties\":{"
    "\"kind\":{\"type\":\"string\"},\"lives\":{\"type\":\"integer\",\"maximum\":9}}},"
    "\"Dog\":{\"type\":\"object\",\"required\":[\"kind\",\"bark\"],\"properties\":{"
    "\"kind\":{\"type\":\"string\"},\"bark\":{\"type\":\"boolean\"}}}}}";

Test(validate, discriminator_selects_branch_and_reports_its_errors)
{
    fx f;
    compile_schema(&f, disc_schema, DG_DIALECT_OAS31, -1);
    cr_assert(run(&f, "{\"kind\":\"Cat\",\"lives\":3}", 0).valid, "implicit mapping by name");
    cr_assert(run(&f, "{\"kind\":\"dog\",\"bark\":true}", 0).valid, "explicit mapping");
    dg_result r = run(&f, "{\"lives\":12,\"kind\":\"Cat\"}", 0);
    cr_assert_not(r.valid);
    const dg_violation *b = find_kind(&r, DG_KIND_BOUNDS);
    cr_assert_not_null(b, "the Cat branch's own error is reported");
    cr_assert_str_eq(b->instance_pointer, "/lives");
    cr_assert_null(find_kind(&r, DG_KIND_REQUIRED), "the Dog branch's errors are not dumped");
    r = run(&f, "{\"kind\":\"Bird\"}", 0);
    cr_assert_not(r.valid, "no branch matches");
    r = run(&f, "{\"bark\":true}", 0);
    cr_assert_not(r.valid);
    cr_assert_not_null(find_kind(&r, DG_KIND_REQUIRED), "missing discriminator property");
    fx_free(&f);
}

/* OAS 3.0.4 / 3.1.1: the discriminator "MUST NOT change the validation
 * outcome". Found by the Prism false-positive check on OpenAI's spec
 * (tests/prism/repro): an unmapped value whose object matches exactly one
 * branch is valid; an object matching two branches fails oneOf even when
 * the discriminator names one of them. */
Test(validate, discriminator_never_changes_the_verdict)
{
    fx f;
    compile_schema(&f,
                   "{\"oneOf\":[{\"$ref\":\"#/$defs/Fn\"},{\"$ref\":\"#/$defs/Custom\"}],"
                   "\"discriminator\":{\"propertyName\":\"type\"},"
                   "\"$defs\":{\"Fn\":{\"type\":\"object\",\"required\":[\"type\",\"function\"],"
                   "\"properties\":{\"type\":{\"enum\":[\"function\"]}}},"
                   "\"Custom\":{\"type\":\"object\",\"required\":[\"type\",\"custom\"],"
                   "\"properties\":{\"type\":{\"enum\":[\"custom\"]}}}}}",
                   DG_DIALECT_OAS31, -1);
    cr_assert(run(&f, "{\"type\":\"custom\",\"custom\":{}}", 0).valid,
              "value maps to no component name, one branch matches");
    cr_assert(run(&f, "{\"type\":\"function\",\"function\":{}}", 0).valid);
    cr_assert_not(run(&f, "{\"type\":\"other\"}", 0).valid);
    fx_free(&f);
    compile_schema(&f,
                   "{\"oneOf\":[{\"$ref\":\"#/$defs/Cat\"},{\"$ref\":\"#/$defs/Pet\"}],"
                   "\"discriminator\":{\"propertyName\":\"kind\"},"
                   "\"$defs\":{\"Cat\":{\"type\":\"object\"},\"Pet\":{\"type\":\"object\"}}}",
                   DG_DIALECT_OAS31, -1);
    dg_result r = run(&f, "{\"kind\":\"Cat\"}", 0);
    cr_assert_not(r.valid, "matches both branches: oneOf fails whatever the discriminator says");
    cr_assert(run(&f, "{\"meow\":true}", 0).valid == 0, "missing property: still two matches");
    fx_free(&f);
}

Test(validate, failed_anyof_reports_closest_branch_only)
{
    fx f;
    compile_schema(&f,
                   "{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"object\",\"required\":[\"id\"],"
                   "\"properties\":{\"id\":{\"type\":\"string\"},\"n\":{\"type\":\"integer\"}}}]}",
                   DG_DIALECT_2020_12, -1);
    dg_result r = run(&f, "{\"id\":\"a\",\"n\":\"x\"}", 0);
    cr_assert_eq(r.count, 2, "combinator + the object branch's one error");
    cr_assert_eq(r.v[0].kind, DG_KIND_COMBINATOR);
    cr_assert(strstr(r.v[0].message, "branch 1"), "%s", r.v[0].message);
    cr_assert_str_eq(r.v[1].instance_pointer, "/n");
    cr_assert_eq(r.v[1].kind, DG_KIND_TYPE);
    fx_free(&f);
}

Test(validate, unique_items_and_enum_on_structured_values)
{
    fx f;
    compile_schema(&f,
                   "{\"type\":\"array\",\"uniqueItems\":true,\"items\":{\"enum\":[{\"a\":[1,2]},{\"b\":1.0},3]}}",
                   DG_DIALECT_2020_12, -1);
    cr_assert(run(&f, "[{\"a\":[1,2]},{\"b\":1},3]", 0).valid, "1 == 1.0, key order free");
    cr_assert_not(run(&f, "[{\"a\":[2,1]}]", 0).valid, "array order matters");
    dg_result r = run(&f, "[{\"b\":1},{\"b\":1.00}]", 1);
    cr_assert_eq(r.count, 1);
    cr_assert(strstr(r.v[0].schema_pointer, "uniqueItems"));
    fx_free(&f);
}

Test(validate, include_values_opt_in)
{
    fx f;
    compile_schema(&f, "{\"properties\":{\"card\":{\"type\":\"integer\"}}}", DG_DIALECT_2020_12, -1);
    dg_validator_free(f.v);
    dg_validate_opts vo;
    dg_validate_opts_default(&vo);
    vo.include_values = 1;
    f.v = dg_validator_new(f.set, &vo);
    dg_result r = run(&f, "{\"card\":\"4111\"}", 0);
    cr_assert_eq(r.count, 1);
    cr_assert_str_eq(r.v[0].value, "\"4111\"", "values are JSON text");
    cr_assert_eq(r.v[0].shape.length, 4);
    fx_free(&f);
}

Test(validate, tree_and_stream_agree_on_numbers_text)
{
    fx f;
    compile_schema(&f, "{\"type\":\"integer\"}", DG_DIALECT_2020_12, -1);
    dg_doc *doc = NULL;
    dg_error err;
    cr_assert_eq(dg_doc_load_buffer("i.json", "1e2", 3, DG_DOC_JSON, &doc, &err), 0);
    dg_result r;
    cr_assert_eq(dg_validator_tree(f.v, f.id, dg_doc_root(doc), doc, &r), 0);
    cr_assert(r.valid, "1e2 is an integer in 2020-12");
    cr_assert(run(&f, "1e2", 0).valid);
    cr_assert_not(run(&f, "1.5e0", 0).valid);
    dg_doc_free(doc);
    fx_free(&f);
}

Test(validate, unresolvable_ref_is_a_located_spec_error)
{
    dg_doc *doc = NULL;
    dg_error err;
    const char *s = "{\n  \"properties\": {\n    \"a\": {\"$ref\": \"#/nope\"}\n  }\n}";
    cr_assert_eq(dg_doc_load_buffer("s.json", s, strlen(s), DG_DOC_JSON, &doc, &err), 0);
    dg_schemaset *set = dg_schemaset_new(NULL);
    cr_assert_eq(dg_schemaset_add_doc(set, doc, "urn:x", 1, &err), 0);
    int id;
    int rc = dg_schemaset_compile(set, dg_doc_root(doc), DG_DIALECT_2020_12, &id, &err);
    cr_assert_eq(rc, DG_ESPEC);
    cr_assert_eq(err.line, 3, "line of the $ref");
    cr_assert(strstr(err.msg, "#/nope"), "%s", err.msg);
    cr_assert_str_eq(err.pointer, "/properties/a");
    dg_schemaset_free(set);
}

Test(validate, remote_ref_needs_ref_map)
{
    dg_doc *doc = NULL;
    dg_error err;
    const char *s = "{\"$ref\":\"https://example.com/schemas/x.json\"}";
    cr_assert_eq(dg_doc_load_buffer("s.json", s, strlen(s), DG_DOC_JSON, &doc, &err), 0);
    dg_schemaset *set = dg_schemaset_new(NULL);
    cr_assert_eq(dg_schemaset_add_doc(set, doc, "urn:x", 1, &err), 0);
    int id;
    cr_assert_eq(dg_schemaset_compile(set, dg_doc_root(doc), DG_DIALECT_2020_12, &id, &err), DG_ESPEC);
    cr_assert(strstr(err.msg, "--ref-map"), "%s", err.msg);
    dg_schemaset_free(set);
}

Test(validate, ref_cycles_compile_and_validate_recursively)
{
    fx f;
    compile_schema(&f,
                   "{\"$ref\":\"#/$defs/node\",\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{"
                   "\"v\":{\"type\":\"integer\"},\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/node\"}}}}}}",
                   DG_DIALECT_2020_12, -1);
    cr_assert(run(&f, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[]}]}", 0).valid);
    dg_result r = run(&f, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":\"x\"}]}]}", 0);
    cr_assert_eq(r.count, 1);
    cr_assert_str_eq(r.v[0].instance_pointer, "/kids/0/kids/0/v");
    fx_free(&f);
}

Test(validate, container_branch_type_mismatch_is_still_reported)
{
    fx f;
    compile_schema(&f, "{\"properties\":{\"x\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"array\"}]}}}",
                   DG_DIALECT_2020_12, -1);
    dg_result r = run(&f, "{\"x\":{\"a\":1}}", 0);
    cr_assert_eq(r.count, 2, "combinator + the closest branch's type error");
    cr_assert_eq(r.v[0].kind, DG_KIND_COMBINATOR);
    cr_assert_eq(r.v[1].kind, DG_KIND_TYPE);
    cr_assert_str_eq(r.v[1].instance_pointer, "/x");
    cr_assert(strstr(r.v[1].message, "expected"), "%s", r.v[1].message);
    cr_assert(run(&f, "{\"x\":[1]}", 0).valid);
    r = run(&f, "{\"x\":7}", 0);
    cr_assert_eq(r.count, 2, "scalar path: re-checked with details after the verdict");
    cr_assert_eq(r.v[1].kind, DG_KIND_TYPE);
    fx_free(&f);
}

Test(validate, failed_combinator_summarises_the_other_branches)
{
    fx f;
    compile_schema(&f,
                   "{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"object\",\"required\":[\"id\"]},"
                   "{\"type\":\"object\",\"properties\":{\"id\":{\"type\":\"integer\"}},\"required\":[\"id\",\"x\"]}]}",
                   DG_DIALECT_2020_12, -1);
    cr_assert(run(&f, "{\"id\":\"a\"}", 0).valid, "only branch 1 matches");
    dg_result r = run(&f, "{\"x\":1}", 0);
    cr_assert_not(r.valid);
    cr_assert_eq(r.v[0].kind, DG_KIND_COMBINATOR);
    cr_assert(strstr(r.v[0].message, "others failed on: branch 0 type"), "%s", r.v[0].message);
    dg_result s = run(&f, "7", 0);
    cr_assert(strstr(s.v[0].message, "others failed on"), "scalar path too: %s", s.v[0].message);
    fx_free(&f);
}

Test(validate, unevaluated_property_names_are_bounded_but_reported)
{
    fx f;
    compile_schema(&f, "{\"properties\":{\"a\":true},\"unevaluatedProperties\":false}",
                   DG_DIALECT_2020_12, -1);
    dg_result r = run(&f, "{\"a\":1,\"zz\":2}", 3);
    cr_assert_eq(r.count, 1);
    cr_assert(strstr(r.v[0].message, "\"zz\""), "%s", r.v[0].message);
    /* beyond 1 MiB of names the message falls back to the member's position */
    dg_buf b = DG_BUF_INIT;
    dg_buf_append(&b, "{\"a\":1", 6);
    for (int i = 0; i < 40000; i++)
        dg_buf_printf(&b, ",\"k%030d\":0", i);
    dg_buf_putc(&b, '}');
    r = run(&f, b.data, 65536);
    cr_assert_eq(r.total, 40000);
    cr_assert(strstr(r.v[0].message, "\"k000000000000000000000000000000\""), "%s", r.v[0].message);
    dg_buf_free(&b);
    fx_free(&f);
}

Test(validate, empty_strings_and_keys_split_across_chunks)
{
    fx f;
    compile_schema(&f,
                   "{\"type\":\"array\",\"uniqueItems\":true,\"items\":{\"enum\":[\"\",{\"\":\"\"}],"
                   "\"propertyNames\":{\"maxLength\":0}}}",
                   DG_DIALECT_2020_12, -1);
    for (size_t chunk = 1; chunk < 4; chunk++) {
        cr_assert(run(&f, "[\"\",{\"\":\"\"}]", chunk).valid, "chunk %zu", chunk);
        cr_assert_not(run(&f, "[\"\",\"\"]", chunk).valid, "duplicates, chunk %zu", chunk);
    }
    fx_free(&f);
}

Test(validate, float_and_double_formats_near_the_limits)
{
    fx f;
    compile_schema(&f, "{\"properties\":{\"f\":{\"type\":\"number\",\"format\":\"float\"},"
                       "\"d\":{\"type\":\"number\",\"format\":\"double\"}}}",
                   DG_DIALECT_OAS30, -1);
    cr_assert(run(&f, "{\"f\":3.4028234e38,\"d\":1.7976931348623157e308}", 1).valid);
    dg_result r = run(&f, "{\"f\":3.4028236e38,\"d\":1.8e308}", 2);
    cr_assert_eq(r.count, 2);
    cr_assert_eq(r.v[0].kind, DG_KIND_FORMAT);
    cr_assert_str_eq(r.v[1].instance_pointer, "/d");
    fx_free(&f);
}

/* No violation text ever quotes an instance value: values only reach
 * dg_violation.value, and only with include_values. Each case fails a
 * different keyword on values holding a sentinel string or number; the
 * property names never hold the sentinel (names may be quoted). */
#define SENT_S "SNTNLq7x"
#define SENT_N "918273645"
static const struct {
    const char *schema, *instance;
    dg_dialect d;
} leak_cases[] = {
    {"{\"properties\":{\"a\":{\"type\":\"integer\"}}}", "{\"a\":\"" SENT_S "\"}", DG_DIALECT_2020_12},
    {"{\"properties\":{\"a\":{\"type\":\"string\"}}}", "{\"a\":" SENT_N "}", DG_DIALECT_2020_12},
    {"{\"enum\":[\"x\",\"y\",3]}", "\"" SENT_S "\"", DG_DIALECT_2020_12},
    {"{\"enum\":[\"x\",\"y\",3]}", SENT_N, DG_DIALECT_2020_12},
    {"{\"enum\":[{\"k\":1}]}", "{\"k\":\"" SENT_S "\"}", DG_DIALECT_2020_12},
    {"{\"const\":\"x\"}", "\"" SENT_S "\"", DG_DIALECT_2020_12},
    {"{\"const\":[1]}", "[" SENT_N "]", DG_DIALECT_2020_12},
    {"{\"pattern\":\"^a\"}", "\"" SENT_S "\"", DG_DIALECT_2020_12},
    {"{\"format\":\"email\"}", "\"" SENT_S "\"", DG_DIALECT_OAS31},
    {"{\"format\":\"date-time\"}", "\"" SENT_S "\"", DG_DIALECT_OAS31},
    {"{\"type\":\"integer\",\"format\":\"int32\"}", SENT_N SENT_N, DG_DIALECT_OAS31},
    {"{\"maximum\":5}", SENT_N, DG_DIALECT_2020_12},
    {"{\"minimum\":1e12}", SENT_N ".5", DG_DIALECT_2020_12},
    {"{\"exclusiveMaximum\":5}", SENT_N, DG_DIALECT_2020_12},
    {"{\"multipleOf\":7}", SENT_N, DG_DIALECT_2020_12},
    {"{\"multipleOf\":0.01}", SENT_N ".125", DG_DIALECT_2020_12},
    {"{\"maxLength\":2}", "\"" SENT_S "\"", DG_DIALECT_2020_12},
    {"{\"minLength\":100}", "\"" SENT_S "\"", DG_DIALECT_2020_12},
    {"{\"required\":[\"b\"]}", "{\"a\":\"" SENT_S "\"}", DG_DIALECT_2020_12},
    {"{\"properties\":{\"a\":{}},\"additionalProperties\":false}",
     "{\"a\":\"" SENT_S "\",\"b\":" SENT_N "}", DG_DIALECT_2020_12},
    {"{\"properties\":{\"a\":false}}", "{\"a\":\"" SENT_S "\"}", DG_DIALECT_2020_12},
    {"{\"unevaluatedProperties\":false}", "{\"a\":\"" SENT_S "\"}", DG_DIALECT_2020_12},
    {"{\"propertyNames\":{\"maxLength\":1}}", "{\"ab\":\"" SENT_S "\"}", DG_DIALECT_2020_12},
    {"{\"maxProperties\":0}", "{\"a\":\"" SENT_S "\"}", DG_DIALECT_2020_12},
    {"{\"dependentRequired\":{\"a\":[\"b\"]}}", "{\"a\":\"" SENT_S "\"}", DG_DIALECT_2020_12},
    {"{\"contains\":{\"const\":\"z\"}}", "[\"" SENT_S "\"," SENT_N "]", DG_DIALECT_2020_12},
    {"{\"contains\":{\"type\":\"string\"},\"maxContains\":1}", "[\"" SENT_S "\",\"" SENT_S "1\"]",
     DG_DIALECT_2020_12},
    {"{\"uniqueItems\":true}", "[\"" SENT_S "\",\"" SENT_S "\"]", DG_DIALECT_2020_12},
    {"{\"uniqueItems\":true}", "[" SENT_N "," SENT_N ".0]", DG_DIALECT_2020_12},
    {"{\"maxItems\":1}", "[\"" SENT_S "\"," SENT_N "]", DG_DIALECT_2020_12},
    {"{\"prefixItems\":[{}],\"items\":false}", "[1,\"" SENT_S "\"]", DG_DIALECT_2020_12},
    {"{\"oneOf\":[{\"type\":\"string\"},{\"pattern\":\"S\"}]}", "\"" SENT_S "\"", DG_DIALECT_2020_12},
    {"{\"oneOf\":[{\"type\":\"integer\"},{\"maxLength\":1}]}", "\"" SENT_S "\"", DG_DIALECT_2020_12},
    {"{\"anyOf\":[{\"type\":\"integer\"},{\"required\":[\"q\"]}]}", "{\"a\":\"" SENT_S "\"}",
     DG_DIALECT_2020_12},
    {"{\"not\":{\"type\":\"string\"}}", "\"" SENT_S "\"", DG_DIALECT_2020_12},
    {"{\"not\":{\"type\":\"object\"}}", "{\"a\":\"" SENT_S "\"}", DG_DIALECT_2020_12},
    {"{\"if\":{\"type\":\"string\"},\"then\":{\"maxLength\":1}}", "\"" SENT_S "\"", DG_DIALECT_2020_12},
    {"{\"properties\":{\"pw\":{\"type\":\"string\",\"writeOnly\":true}}}", "{\"pw\":\"" SENT_S "\"}",
     DG_DIALECT_OAS30},
    {NULL, "{\"kind\":\"" SENT_S "\"}", DG_DIALECT_OAS31},   /* discriminator: unknown value */
    {NULL, "{\"kind\":" SENT_N "}", DG_DIALECT_OAS31},       /* discriminator: not a string */
    {NULL, "{\"kind\":\"Cat\",\"lives\":" SENT_N "}", DG_DIALECT_OAS31}, /* selected branch fails */
};

static void assert_no_sentinel(const dg_result *r, const char *what)
{
    for (size_t i = 0; i < r->count; i++) {
        const dg_violation *x = &r->v[i];
        const char *texts[] = {x->message, x->instance_pointer, x->schema_pointer};
        for (int k = 0; k < 3; k++) {
            cr_assert_null(strstr(texts[k], SENT_S), "%s: value leaked into \"%s\"", what, texts[k]);
            cr_assert_null(strstr(texts[k], "SNTNL"), "%s: value leaked into \"%s\"", what, texts[k]);
            cr_assert_null(strstr(texts[k], "918273"), "%s: value leaked into \"%s\"", what, texts[k]);
        }
    }
}

Test(validate, messages_and_pointers_never_quote_instance_values)
{
    for (size_t c = 0; c < sizeof leak_cases / sizeof *leak_cases; c++) {
        for (int with_values = 0; with_values < 2; with_values++) {
            dg_doc *doc = NULL;
            dg_error err;
            const char *schema = leak_cases[c].schema ? leak_cases[c].schema : disc_schema;
            cr_assert_eq(dg_doc_load_buffer("schema.json", schema, strlen(schema), DG_DOC_AUTO, &doc, &err), 0);
            dg_compile_opts co = {leak_cases[c].d, 1};
            dg_schemaset *set = dg_schemaset_new(&co);
            cr_assert_eq(dg_schemaset_add_doc(set, doc, "urn:test:leak", 1, &err), 0);
            int id;
            cr_assert_eq(dg_schemaset_compile(set, dg_doc_root(doc), leak_cases[c].d, &id, &err), 0,
                         "%s: %s", schema, err.msg);
            dg_validate_opts vo;
            dg_validate_opts_default(&vo);
            vo.include_values = with_values;
            vo.report_undocumented = 1;
            fx f = {set, dg_validator_new(set, &vo), id};
            const char *inst = leak_cases[c].instance;
            char what[300];
            snprintf(what, sizeof what, "%.200s on %.80s", schema, inst);
            for (size_t chunk = 0; chunk < 4; chunk += 3) {
                dg_result r = run(&f, inst, chunk);
                cr_assert_not(r.valid, "%s must fail", what);
                cr_assert_gt(r.count, 0);
                assert_no_sentinel(&r, what);
                for (size_t i = 0; i < r.count && !with_values; i++)
                    cr_assert_null(r.v[i].value, "%s: a value without include_values", what);
            }
            dg_doc *idoc = NULL;
            cr_assert_eq(dg_doc_load_buffer("i.json", inst, strlen(inst), DG_DOC_JSON, &idoc, &err), 0);
            dg_result r;
            cr_assert_eq(dg_validator_tree(f.v, f.id, dg_doc_root(idoc), idoc, &r), 0);
            cr_assert_not(r.valid);
            assert_no_sentinel(&r, what);
            dg_doc_free(idoc);
            fx_free(&f);
        }
    }
    /* the undocumented finding too (and the check above would catch a leak:
     * with include_values the raw value does carry the sentinel) */
    fx f;
    compile_schema(&f, "{\"properties\":{\"a\":{\"type\":\"integer\"}}}", DG_DIALECT_2020_12, -1);
    dg_validator_set_report_undocumented(f.v, 1);
    dg_result r = run(&f, "{\"a\":\"" SENT_S "\",\"b\":\"" SENT_S "\"}", 2);
    cr_assert_eq(r.count, 2);
    cr_assert_eq(r.undocumented, 1);
    assert_no_sentinel(&r, "undocumented");
    dg_validator_free(f.v);
    dg_validate_opts vo;
    dg_validate_opts_default(&vo);
    vo.include_values = 1;
    f.v = dg_validator_new(f.set, &vo);
    r = run(&f, "{\"a\":\"" SENT_S "\"}", 0);
    cr_assert_not_null(r.v[0].value);
    cr_assert(strstr(r.v[0].value, SENT_S), "values do reach .value when asked for");
    /* malformed bodies: the parse error names at most the one byte where
     * parsing stopped, never a value */
    static const char *bad[] = {"{\"a\": " SENT_S "}", "[" SENT_N "x]", "{\"a\":\"" SENT_S, NULL};
    for (int i = 0; bad[i]; i++) {
        r = run(&f, bad[i], 1);
        cr_assert_eq(r.count, 1);
        cr_assert_eq(r.v[0].kind, DG_KIND_PARSE);
        assert_no_sentinel(&r, bad[i]);
    }
    fx_free(&f);
}
