/* The spec layer on real third-party descriptions: every spec under
 * shared/testdata/openapi loads, routes resolve to compiled schemas, and
 * findings (undocumented status/media, body where none is documented) come
 * out with the right kind. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "validate/spec.h"

#define TD "../shared/testdata/openapi/"

static dg_spec *load(const char *path)
{
    dg_spec *s = NULL;
    dg_error err;
    memset(&err, 0, sizeof err);
    int rc = dg_spec_load(path, NULL, &s, &err);
    char m[1400];
    cr_assert_eq(rc, 0, "%s: %s", path, dg_error_format(&err, m, sizeof m));
    return s;
}

static const char *all_specs[] = {
    TD "oai-examples/v3.0/petstore.yaml", TD "oai-examples/v3.0/petstore.json",
    TD "oai-examples/v3.0/petstore-expanded.yaml", TD "oai-examples/v3.0/uspto.yaml",
    TD "oai-examples/v3.0/api-with-examples.yaml", TD "oai-examples/v3.0/callback-example.yaml",
    TD "oai-examples/v3.0/link-example.yaml", TD "oai-examples/v3.1/webhook-example.yaml",
    TD "oai-examples/v3.1/non-oauth-scopes.yaml",
    TD "real-world/apis-guru/xkcd.com/1.0.0/openapi.yaml",
    TD "real-world/twilio/twilio_api_v2010.json", TD "real-world/twilio/twilio_verify_v2.yaml",
    TD "real-world/box/openapi.json", TD "real-world/stripe/spec3.json",
    TD "real-world/discord/openapi.json", TD "real-world/openai/openapi.yaml",
    TD "real-world/openai/3.0.0-498c71d/openapi.yaml", TD "real-world/redocly-museum/openapi.yaml",
    NULL};

Test(spec, every_testdata_spec_loads_and_compiles, .timeout = 120)
{
    for (int i = 0; all_specs[i]; i++) {
        FILE *f = fopen(all_specs[i], "r");
        if (!f)
            continue; /* twin may not exist for every example */
        fclose(f);
        dg_spec *s = load(all_specs[i]);
        size_t nops = dg_router_count(dg_spec_router(s));
        if (strstr(all_specs[i], "webhook-example"))
            cr_assert_eq(nops, 0, "webhooks only");
        else
            cr_assert_gt(nops, 0, "%s has operations", all_specs[i]);
        dg_spec_free(s);
    }
}

Test(spec, petstore_route_status_and_media)
{
    dg_spec *s = load(TD "oai-examples/v3.0/petstore.yaml");
    const dg_router *r = dg_spec_router(s);
    const dg_route_op *op = dg_router_match(r, "GET", "/v1/pets/42", strlen("/v1/pets/42"));
    cr_assert_not_null(op);
    cr_assert_str_eq(op->label, "showPetById");
    dg_spec_target t;
    dg_error err;
    cr_assert_eq(dg_spec_target_for(s, op, 200, "application/json; charset=utf-8", 1, &t, &err), 0);
    cr_assert_eq(t.finding, DG_FIND_NONE);
    cr_assert_geq(t.schema_id, 0);
    /* default response covers 500 */
    cr_assert_eq(dg_spec_target_for(s, op, 500, "application/json", 1, &t, &err), 0);
    cr_assert_eq(t.finding, DG_FIND_NONE);
    cr_assert_str_eq(t.match.status_key, "default");
    cr_assert_eq(dg_spec_target_for(s, op, 200, "text/html", 1, &t, &err), 0);
    cr_assert_eq(t.finding, DG_FIND_UNDOCUMENTED_MEDIA);
    /* a response that documents no body */
    const dg_route_op *create = dg_router_find_operation_id(r, "createPets");
    cr_assert_not_null(create);
    cr_assert_eq(dg_spec_target_for(s, create, 201, "application/json", 1, &t, &err), 0);
    cr_assert_eq(t.finding, DG_FIND_BODY_NOT_DOCUMENTED);
    cr_assert_eq(dg_spec_target_for(s, create, 201, NULL, 0, &t, &err), 0);
    cr_assert_eq(t.finding, DG_FIND_NONE, "no body, nothing documented: fine");
    dg_spec_free(s);
}

Test(spec, validates_a_response_body_of_a_real_spec)
{
    dg_spec *s = load(TD "oai-examples/v3.0/petstore.yaml");
    const dg_route_op *op = dg_router_find_operation_id(dg_spec_router(s), "listPets");
    dg_spec_target t;
    dg_error err;
    cr_assert_eq(dg_spec_target_for(s, op, 200, "application/json", 1, &t, &err), 0);
    dg_validator *v = dg_validator_new(dg_spec_schemas(s), NULL);
    const char *ok = "[{\"id\":1,\"name\":\"rex\",\"tag\":\"dog\"}]";
    const char *bad = "[{\"id\":1,\"name\":\"rex\"},{\"id\":\"2\"}]";
    dg_result r;
    dg_validator_begin(v, t.schema_id);
    dg_validator_feed(v, ok, strlen(ok));
    cr_assert_eq(dg_validator_finish(v, &r), 0);
    cr_assert(r.valid);
    dg_validator_begin(v, t.schema_id);
    dg_validator_feed(v, bad, strlen(bad));
    cr_assert_eq(dg_validator_finish(v, &r), 0);
    cr_assert_eq(r.count, 2, "id type + missing name");
    cr_assert_str_eq(r.v[0].instance_pointer, "/1/id");
    cr_assert(strstr(r.v[0].schema_pointer, "petstore.yaml#/components/schemas/Pet/properties/id/type"),
              "%s", r.v[0].schema_pointer);
    dg_validator_free(v);
    dg_spec_free(s);
}

Test(spec, not_openapi_is_a_clear_error)
{
    dg_spec *s = NULL;
    dg_error err;
    int rc = dg_spec_load("../shared/testdata/JSON-Schema-Test-Suite/tests/draft4/type.json", NULL, &s, &err);
    cr_assert_eq(rc, DG_ESPEC);
    cr_assert(strstr(err.msg, "not an OpenAPI document"), "%s", err.msg);
    rc = dg_spec_load("/nonexistent/spec.yaml", NULL, &s, &err);
    cr_assert_eq(rc, DG_EIO);
}

Test(spec, broken_ref_is_located_and_lint_mode_collects_it)
{
    const char *path = "/tmp/dg_test_broken_ref.yaml";
    FILE *f = fopen(path, "w");
    fputs("openapi: 3.0.3\n"
          "info: {title: t, version: '1'}\n"
          "paths:\n"
          "  /a:\n"
          "    get:\n"
          "      operationId: getA\n"
          "      responses:\n"
          "        '200':\n"
          "          description: ok\n"
          "          content:\n"
          "            application/json:\n"
          "              schema:\n"
          "                $ref: '#/components/schemas/Missing'\n",
          f);
    fclose(f);
    dg_spec *s = NULL;
    dg_error err;
    memset(&err, 0, sizeof err);
    cr_assert_eq(dg_spec_load(path, NULL, &s, &err), DG_ESPEC);
    cr_assert_eq(err.line, 13, "line of the $ref: %u", err.line);
    cr_assert(strstr(err.msg, "Missing"), "%s", err.msg);
    dg_spec_opts o = {NULL, 0, -1, 1};
    cr_assert_eq(dg_spec_load(path, &o, &s, &err), 0, "lint mode keeps going");
    cr_assert_geq(dg_spec_lint_count(s), 1);
    const dg_lint_item *it = dg_spec_lint_get(s, 0);
    cr_assert(strstr(it->where, ":13:"), "%s", it->where);
    dg_spec_free(s);
    remove(path);
}

Test(spec, swagger2_spec_routes_and_validates)
{
    const char *path = "/tmp/dg_test_swagger.json";
    FILE *f = fopen(path, "w");
    fputs("{\"swagger\":\"2.0\",\"info\":{\"title\":\"t\",\"version\":\"1\"},\"basePath\":\"/api\","
          "\"paths\":{\"/things/{id}\":{\"get\":{\"operationId\":\"getThing\",\"responses\":{"
          "\"200\":{\"description\":\"ok\",\"schema\":{\"$ref\":\"#/definitions/Thing\"}}}}}},"
          "\"definitions\":{\"Thing\":{\"type\":\"object\",\"required\":[\"id\"],\"properties\":{"
          "\"id\":{\"type\":\"integer\",\"format\":\"int32\"},\"note\":{\"type\":\"string\",\"x-nullable\":true}}}}}",
          f);
    fclose(f);
    dg_spec *s = load(path);
    cr_assert_eq(dg_spec_dialect(s), DG_DIALECT_SWAGGER2);
    const dg_route_op *op = dg_router_match(dg_spec_router(s), "get", "/api/things/7", 13);
    cr_assert_not_null(op);
    dg_spec_target t;
    dg_error err;
    cr_assert_eq(dg_spec_target_for(s, op, 200, "application/json", 1, &t, &err), 0);
    dg_validator *v = dg_validator_new(dg_spec_schemas(s), NULL);
    dg_result r;
    const char *body = "{\"id\":3000000000,\"note\":null}";
    dg_validator_begin(v, t.schema_id);
    dg_validator_feed(v, body, strlen(body));
    dg_validator_finish(v, &r);
    cr_assert_eq(r.count, 1, "int32 overflow only; x-nullable honoured");
    cr_assert_eq(r.v[0].kind, DG_KIND_FORMAT);
    dg_validator_free(v);
    dg_spec_free(s);
    remove(path);
}

static const char *write_tmp(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "/tmp/dg_test_%d_%s", (int)getpid(), name);
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
    return path;
}

Test(spec, ref_cycle_without_descent_is_a_located_error)
{
    const char *path = write_tmp("cycle.yaml",
                                 "openapi: 3.0.0\n"
                                 "info: {title: t, version: '1'}\n"
                                 "paths:\n"
                                 "  /a:\n"
                                 "    get:\n"
                                 "      responses:\n"
                                 "        '200':\n"
                                 "          description: x\n"
                                 "          content: {application/json: {schema: {$ref: '#/components/schemas/A'}}}\n"
                                 "components:\n"
                                 "  schemas:\n"
                                 "    A: {allOf: [{$ref: '#/components/schemas/B'}]}\n"
                                 "    B: {$ref: '#/components/schemas/A'}\n"
                                 "    Tree: {type: object, properties: {kids: {type: array, items: {$ref: '#/components/schemas/Tree'}}}}\n");
    dg_spec *s = NULL;
    dg_error err;
    memset(&err, 0, sizeof err);
    cr_assert_eq(dg_spec_load(path, NULL, &s, &err), DG_ESPEC);
    cr_assert(strstr(err.msg, "circular reference"), "%s", err.msg);
    cr_assert_geq(err.line, 12);
    /* lint mode loads it, reports it, and refuses to validate with it */
    dg_spec_opts o = {NULL, 0, -1, 1};
    cr_assert_eq(dg_spec_load(path, &o, &s, &err), 0);
    cr_assert_geq(dg_spec_lint_count(s), 1);
    const dg_route_op *op = dg_router_match(dg_spec_router(s), "GET", "/a", 2);
    dg_spec_target t;
    cr_assert_eq(dg_spec_target_for(s, op, 200, "application/json", 1, &t, &err), DG_ESPEC);
    dg_spec_free(s);
    remove(path);
}

Test(spec, missing_referenced_file_is_a_spec_error)
{
    const char *path = write_tmp("missingref.yaml",
                                 "openapi: 3.0.0\n"
                                 "info: {title: t, version: '1'}\n"
                                 "paths:\n"
                                 "  /pets:\n"
                                 "    get:\n"
                                 "      responses:\n"
                                 "        '404': {$ref: 'missing.yaml#/NotFound'}\n");
    dg_spec *s = NULL;
    dg_error err;
    memset(&err, 0, sizeof err);
    int rc = dg_spec_load(path, NULL, &s, &err);
    cr_assert_eq(rc, DG_ESPEC);
    cr_assert_eq(err.code, rc, "the error's code is the returned code");
    cr_assert(strstr(err.file, "missing.yaml"), "located at the missing file: %s", err.file);
    cr_assert_str_eq(err.pointer, "/paths/~1pets/get/responses/404");
    remove(path);
}

/* 1 when text validates against program id of s. */
static int item_valid(const dg_spec *s, int id, const char *text)
{
    dg_validator *v = dg_validator_new(dg_spec_schemas(s), NULL);
    cr_assert_not_null(v);
    dg_result r;
    cr_assert_eq(dg_validator_begin(v, id), 0);
    dg_validator_feed(v, text, strlen(text));
    cr_assert_eq(dg_validator_finish(v, &r), 0);
    int ok = r.valid;
    dg_validator_free(v);
    return ok;
}

Test(spec, ndjson_and_json_seq_bodies_validate_item_by_item)
{
    const char *path = write_tmp("seq.yaml",
                                 "openapi: 3.0.3\n"
                                 "info: {title: t, version: '1'}\n"
                                 "paths:\n"
                                 "  /events:\n"
                                 "    get:\n"
                                 "      operationId: export\n"
                                 "      responses:\n"
                                 "        '200':\n"
                                 "          description: x\n"
                                 "          content:\n"
                                 "            application/x-ndjson: {schema: {$ref: '#/components/schemas/EventList'}}\n"
                                 "            application/json-seq: {schema: {$ref: '#/components/schemas/Event'}}\n"
                                 "            application/json: {schema: {$ref: '#/components/schemas/EventList'}}\n"
                                 "        '206':\n"
                                 "          description: inline array, any media type\n"
                                 "          content:\n"
                                 "            '*/*': {schema: {type: array, items: {type: integer, minimum: 0}}}\n"
                                 "components:\n"
                                 "  schemas:\n"
                                 "    EventList: {type: array, items: {$ref: '#/components/schemas/Event'}}\n"
                                 "    Event:\n"
                                 "      type: object\n"
                                 "      required: [id]\n"
                                 "      properties: {id: {type: integer}}\n");
    dg_spec *s = load(path);
    const dg_route_op *op = dg_router_find_operation_id(dg_spec_router(s), "export");
    cr_assert_not_null(op);
    dg_spec_target whole, nd, seq, any;
    dg_error err;
    cr_assert_eq(dg_spec_target_for(s, op, 200, "application/json", 1, &whole, &err), 0);
    cr_assert_eq(whole.item_mode, 0);
    cr_assert_geq(whole.schema_id, 0);
    cr_assert(item_valid(s, whole.schema_id, "[{\"id\":1}]"), "the documented array");

    /* ndjson documented as an array of Event: each line is an Event */
    cr_assert_eq(dg_spec_target_for(s, op, 200, "application/x-ndjson; charset=utf-8", 1, &nd, &err), 0);
    cr_assert_eq(nd.finding, DG_FIND_NONE);
    cr_assert_eq(nd.item_mode, 1);
    cr_assert_geq(nd.schema_id, 0);
    cr_assert_neq(nd.schema_id, whole.schema_id, "the items schema, not the array");
    cr_assert(item_valid(s, nd.schema_id, "{\"id\":1}"));
    cr_assert_not(item_valid(s, nd.schema_id, "{\"id\":\"x\"}"));
    cr_assert_not(item_valid(s, nd.schema_id, "[{\"id\":1}]"), "an item is not an array");

    /* json-seq documented with a non-array schema: each text is that schema */
    cr_assert_eq(dg_spec_target_for(s, op, 200, "application/json-seq", 1, &seq, &err), 0);
    cr_assert_eq(seq.item_mode, 2);
    cr_assert(item_valid(s, seq.schema_id, "{\"id\":2}"), "Event itself");
    cr_assert_not(item_valid(s, seq.schema_id, "{}"));

    /* any sequence media type matched by a wildcard entry */
    cr_assert_eq(dg_spec_target_for(s, op, 206, "application/jsonlines", 1, &any, &err), 0);
    cr_assert_eq(any.finding, DG_FIND_NONE);
    cr_assert_eq(any.item_mode, 1);
    cr_assert(item_valid(s, any.schema_id, "7"));
    cr_assert_not(item_valid(s, any.schema_id, "-1"));
    cr_assert_eq(dg_spec_target_for(s, op, 206, "application/jsonl", 1, &any, &err), 0);
    cr_assert_eq(any.item_mode, 1);
    cr_assert_eq(dg_spec_target_for(s, op, 206, "text/plain", 1, &any, &err), 0);
    cr_assert_eq(any.item_mode, 0);
    cr_assert(item_valid(s, any.schema_id, "[1,2]"));

    /* the spec is const after load: the same answers from any thread, any
     * number of times */
    dg_spec_target again;
    cr_assert_eq(dg_spec_target_for(s, op, 200, "application/x-ndjson", 1, &again, &err), 0);
    cr_assert_eq(again.schema_id, nd.schema_id);
    dg_spec_free(s);
    remove(path);
}

Test(spec, oas31_nullable_array_items_for_ndjson)
{
    const char *path = write_tmp("seq31.yaml",
                                 "openapi: 3.1.0\n"
                                 "info: {title: t, version: '1'}\n"
                                 "paths:\n"
                                 "  /rows:\n"
                                 "    get:\n"
                                 "      responses:\n"
                                 "        '200':\n"
                                 "          description: x\n"
                                 "          content:\n"
                                 "            application/x-ndjson:\n"
                                 "              schema: {type: [array, 'null'], items: {type: string}}\n");
    dg_spec *s = load(path);
    const dg_route_op *op = dg_router_match(dg_spec_router(s), "GET", "/rows", 5);
    cr_assert_not_null(op);
    dg_spec_target t;
    dg_error err;
    cr_assert_eq(dg_spec_target_for(s, op, 200, "application/x-ndjson", 1, &t, &err), 0);
    cr_assert_eq(t.item_mode, 1);
    cr_assert(item_valid(s, t.schema_id, "\"a\""));
    cr_assert_not(item_valid(s, t.schema_id, "1"));
    dg_spec_free(s);
    remove(path);
}
