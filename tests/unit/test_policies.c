/* policies/: the config loader (schema errors and semantic errors located at
 * file:line:col + pointer), the example configs, tolerance presets,
 * per-operation overrides, ignore/redaction matching, the value parsers and
 * the quick-start config. Bad configs are written to temp files. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policies/policies.h"
#include "validate/spec.h"

#define EX "policies/examples/"

static char tmpdir[64];
static char pet_spec[PATH_MAX];

static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dg_policies_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    cr_assert_not_null(realpath(EX "specs/petstore.yaml", pet_spec));
}

static void teardown(void)
{
    static const char *const names[] = {"c.yaml", "c.json", "ca.pem", NULL};
    char p[256];
    for (int i = 0; names[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

TestSuite(config, .init = setup, .fini = teardown);
TestSuite(policy);
TestSuite(units);

/* Writes text to tmpdir/name; "@PET@" becomes the petstore spec's path. */
static const char *write_cfg(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (const char *s = text; *s; s++) {
        if (!strncmp(s, "@PET@", 5)) {
            fputs(pet_spec, f);
            s += 4;
        } else {
            fputc(*s, f);
        }
    }
    fclose(f);
    return path;
}

static dg_error errs[32];
static size_t n_errs;

/* Loads text expecting failure; returns the number of errors. */
static size_t load_bad(const char *text)
{
    dg_config *c = NULL;
    memset(errs, 0, sizeof errs);
    int rc = dg_config_load(write_cfg("c.yaml", text), &c, errs, 32, &n_errs);
    cr_assert_neq(rc, 0, "config should not load");
    cr_assert_null(c);
    cr_assert_gt(n_errs, 0);
    return n_errs;
}

static dg_config *load_ok(const char *path)
{
    dg_config *c = NULL;
    size_t n = 0;
    memset(errs, 0, sizeof errs);
    int rc = dg_config_load(path, &c, errs, 32, &n);
    char m[1400];
    cr_assert_eq(rc, 0, "%s: %s", path, n ? dg_error_format(&errs[0], m, sizeof m) : "?");
    cr_assert_not_null(c);
    return c;
}

/* Some error has this pointer, line:col and message part. */
static void expect_err(const char *pointer, unsigned line, unsigned col, const char *part)
{
    char all[8192] = "", m[1400];
    for (size_t i = 0; i < n_errs; i++) {
        if (!strcmp(errs[i].pointer, pointer) && errs[i].line == line && errs[i].col == col &&
            strstr(errs[i].msg, part))
            return;
        strncat(all, dg_error_format(&errs[i], m, sizeof m), sizeof all - strlen(all) - 2);
        strcat(all, "\n");
    }
    cr_assert_fail("no error at %u:%u %s containing \"%s\"; got:\n%s", line, col, pointer, part, all);
}

#define HEAD "version: 1\napis:\n  - name: pets\n    spec: @PET@\n    upstream: http://127.0.0.1:3000\n"

/* ---- the example configs ---- */

/* Loads an example and everything check-config would: specs, operations. */
static dg_config *load_example(const char *path)
{
    dg_config *c = load_ok(path);
    for (size_t i = 0; i < c->n_apis; i++) {
        const dg_api *a = &c->apis[i];
        dg_spec *specs[8] = {0};
        const struct dg_router *routers[8];
        cr_assert_leq(a->n_specs, 8);
        dg_spec_opts so = {(const char *const *)a->ref_map, a->n_ref_map, a->policy.assert_formats, 0};
        for (size_t s = 0; s < a->n_specs; s++) {
            dg_error e;
            char m[1400];
            cr_assert_eq(dg_spec_load(a->specs[s], &so, &specs[s], &e), 0, "%s: %s", path,
                         dg_error_format(&e, m, sizeof m));
            routers[s] = dg_spec_router(specs[s]);
        }
        size_t n = 0;
        cr_assert_eq(dg_config_check_operations(a, routers, a->n_specs, errs, 32, &n), 0,
                     "%s: %s", path, n ? errs[0].msg : "?");
        for (size_t s = 0; s < a->n_specs; s++)
            dg_spec_free(specs[s]);
    }
    return c;
}

Test(config, example_staging_sidecar_loads_with_enforced_operations)
{
    dg_config *c = load_example(EX "staging-sidecar.yaml");
    cr_assert_eq(c->n_apis, 1);
    const dg_api *a = &c->apis[0];
    cr_assert_str_eq(a->listen, "127.0.0.1:8081");
    cr_assert_str_eq(c->admin, "127.0.0.1:9090");
    cr_assert_eq(c->workers, 2);
    cr_assert_eq(c->limits.upstream_read_timeout_ms, 15000);
    cr_assert_eq(c->limits.max_request_body, 2u << 20);
    cr_assert_eq(a->policy.profile, DG_PROFILE_STRICT);
    cr_assert_eq(a->policy.mode, DG_MODE_MONITOR);
    cr_assert_eq(dg_policy_for_operation(a, "listPets", "listPets")->mode, DG_MODE_ENFORCE);
    cr_assert_eq(dg_policy_for_operation(a, NULL, "GET /health")->mode, DG_MODE_OFF);
    cr_assert_eq(dg_policy_for_operation(a, "deletePet", "deletePet")->mode, DG_MODE_MONITOR);
    const dg_policy *cp = dg_policy_for_operation(a, "createPet", "createPet");
    cr_assert_eq(cp->enforce_max_body, 1u << 20);
    cr_assert_eq(cp->n_owners, 1, "overrides inherit the API's owners");
    cr_assert(dg_policy_masks(cp, "/owner_email"));
    dg_config_free(c);
}

Test(config, example_third_party_loads_with_tls_ignores_and_redaction)
{
    dg_config *c = load_example(EX "third-party.yaml");
    const dg_api *a = &c->apis[0];
    cr_assert_eq(a->upstreams[0].https, 1);
    cr_assert_eq(a->upstreams[0].port, 443);
    cr_assert_eq(a->tls.verify, 1);
    cr_assert_str_eq(a->tls.server_name, "api.payments.example");
    cr_assert_eq(a->n_ref_map, 1);
    cr_assert_eq(a->ref_map[1][strlen(a->ref_map[1]) - 1], '/');
    cr_assert_eq(a->policy.profile, DG_PROFILE_THIRD_PARTY);
    cr_assert_eq(a->policy.n_info_statuses, 4);
    cr_assert_eq(a->policy.n_owners, 2);
    cr_assert(dg_policy_ignores(&a->policy, "listCharges", "listCharges", 200,
                                "/data/3/metadata/order", DG_KIND_TYPE));
    cr_assert(dg_policy_ignores(&a->policy, "getCharge", "getCharge", 503, "", DG_KIND_CONTENT_TYPE));
    cr_assert(!dg_policy_ignores(&a->policy, "getCharge", "getCharge", 200, "", DG_KIND_CONTENT_TYPE));
    cr_assert(dg_policy_masks(&a->policy, "/data/0/card/number"));
    cr_assert(dg_policy_masks(&a->policy, "/customer/Email"));
    cr_assert(a->policy.include_values);
    cr_assert(!dg_policy_for_operation(a, "getCustomer", "getCustomer")->include_values);
    dg_config_free(c);
}

Test(config, example_report_only_shares_one_listener)
{
    dg_config *c = load_example(EX "report-only.yaml");
    cr_assert_eq(c->n_apis, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_str_eq(dg_api_listener(c, &c->apis[i]), "0.0.0.0:8080");
        cr_assert_eq(c->apis[i].policy.profile, DG_PROFILE_REPORT_ONLY);
        cr_assert_eq(c->apis[i].policy.undocumented_status, DG_HANDLE_INFO);
    }
    cr_assert_str_eq(c->apis[0].match_path_prefix, "/pets-service");
    cr_assert(c->apis[0].strip_prefix);
    cr_assert_str_eq(c->apis[1].match_host, "inventory.internal");
    cr_assert_eq(c->apis[1].n_upstreams, 2);
    cr_assert_null(c->apis[2].match_host);
    cr_assert_eq(c->apis[0].policy.sample_rate, 0.25);
    cr_assert_eq(dg_policy_for_operation(&c->apis[0], "createPet", NULL)->sample_rate, 1.0);
    cr_assert_eq(c->anomaly_queue_size, 50000);
    cr_assert_eq(c->limits.keepalive_timeout_ms, 120000);
    cr_assert(dg_policy_ignores(&c->apis[1].policy, "getItem", "getItem", 409, "",
                                DG_KIND_UNDOCUMENTED_STATUS));
    dg_config_free(c);
}

/* ---- schema errors, located ---- */

Test(config, typo_key_is_located_at_the_key_with_a_suggestion)
{
    load_bad(HEAD "    upstrem: http://x\n");
    expect_err("/apis/0/upstrem", 6, 5, "unknown key \"upstrem\" (did you mean \"upstream\"?)");
}

Test(config, bad_enum_lists_the_allowed_values)
{
    load_bad(HEAD "    policy:\n      mode: enforced\n");
    expect_err("/apis/0/policy/mode", 7, 13,
               "\"enforced\" is not one of the allowed values (off, monitor, enforce)");
}

Test(config, several_schema_errors_are_reported_in_one_load)
{
    size_t n = load_bad("version: 2\nlisten: localhost\nlimits:\n  client_header_timeout: 10x\n"
                        "  drain_timeout: true\napis:\n  - name: Pets\n    spec:\n");
    cr_assert_geq(n, 5);
    expect_err("/version", 1, 10, "must be 1");
    expect_err("/listen", 2, 9, "host:port");
    expect_err("/limits/client_header_timeout", 4, 26, "duration");
    /* true has no location of its own: the key's is reported */
    expect_err("/limits/drain_timeout", 5, 3, "duration");
    expect_err("/apis/0/name", 7, 11, "lower case");
    expect_err("/apis/0/spec", 8, 5, "got null");
}

Test(config, missing_required_key_is_reported_at_the_object)
{
    load_bad("version: 1\nlisten: 127.0.0.1:8080\n");
    expect_err("", 1, 1, "missing required key \"apis\"");
}

Test(config, errors_are_capped_at_max_errs)
{
    dg_config *c = NULL;
    size_t n = 0;
    dg_error two[2];
    int rc = dg_config_load(write_cfg("c.yaml", "version: 3\nlisten: x\nadmin: y\nworkers: -1\n"),
                            &c, two, 2, &n);
    cr_assert_eq(rc, DG_EINVAL);
    cr_assert_eq(n, 2);
    rc = dg_config_load(write_cfg("c.yaml", "version: 3\n"), &c, NULL, 0, &n);
    cr_assert_eq(rc, DG_EINVAL);
    cr_assert_eq(n, 0);
}

Test(config, yaml_syntax_error_is_located)
{
    load_bad("version: 1\napis: [\n");
    cr_assert_gt(errs[0].line, 0);
    cr_assert(strstr(errs[0].file, "c.yaml"));
}

Test(config, missing_file_is_an_io_error)
{
    dg_config *c = NULL;
    size_t n = 0;
    cr_assert_eq(dg_config_load("/nonexistent/dg.yaml", &c, errs, 32, &n), DG_EIO);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(errs[0].file, "/nonexistent/dg.yaml");
}

Test(config, json_config_loads_too)
{
    const char *p = write_cfg("c.json", "{\"version\": 1, \"apis\": [{\"name\": \"pets\", "
                              "\"spec\": \"@PET@\", \"upstream\": \"http://h:81/v1/\"}]}");
    dg_config *c = load_ok(p);
    cr_assert_eq(c->apis[0].upstreams[0].port, 81);
    cr_assert_str_eq(c->apis[0].upstreams[0].base_path, "/v1");
    cr_assert_str_eq(c->listen, "127.0.0.1:8080");
    cr_assert_eq(c->limits.max_connections, 4096);
    cr_assert_eq(c->limits.drain_timeout_ms, 15000);
    dg_config_free(c);
}

/* ---- semantic errors, located ---- */

Test(config, missing_spec_file_is_located)
{
    load_bad("version: 1\napis:\n  - name: pets\n    spec: nope.yaml\n    upstream: http://h\n");
    expect_err("/apis/0/spec", 4, 11, "does not exist");
}

Test(config, spec_and_specs_together_and_neither)
{
    load_bad(HEAD "    specs: [@PET@]\n  - name: b\n    upstream: http://h\n    match: {host: b}\n");
    expect_err("/apis/0/specs", 6, 5, "not both");
    expect_err("/apis/1", 7, 5, "has no spec");
}

Test(config, bad_upstream_urls_are_located)
{
    load_bad("version: 1\napis:\n  - name: a\n    spec: @PET@\n    upstreams:\n"
             "      - http://user:pw@h/\n      - ftp://h\n      - http://h:0\n");
    expect_err("/apis/0/upstreams/0", 6, 9, "user information");
    expect_err("/apis/0/upstreams/1", 7, 9, "http:// or https://");
    expect_err("/apis/0/upstreams/2", 8, 9, "port 0");
}

Test(config, duplicate_api_names)
{
    load_bad(HEAD "  - name: pets\n    spec: @PET@\n    upstream: http://h\n    listen: 127.0.0.1:8082\n");
    expect_err("/apis/1/name", 6, 11, "already used");
}

Test(config, admin_must_differ_from_listeners)
{
    load_bad("version: 1\nadmin: 127.0.0.1:8081\n" "apis:\n  - name: pets\n    spec: @PET@\n"
             "    upstream: http://h\n    listen: 0.0.0.0:8081\n");
    expect_err("/apis/0/listen", 7, 13, "admin listener");
}

Test(config, two_catch_alls_on_one_listener)
{
    load_bad(HEAD "  - name: b\n    spec: @PET@\n    upstream: http://h\n");
    expect_err("/apis/1", 6, 5, "at most one API per listener");
}

Test(config, same_match_on_one_listener)
{
    load_bad(HEAD "    match: {path_prefix: /a/}\n  - name: b\n    spec: @PET@\n    upstream: http://h\n"
             "    match: {path_prefix: /a}\n");
    expect_err("/apis/1/match", 10, 12, "cannot be told apart");
}

Test(config, apis_apart_by_host_or_prefix_or_listener_are_fine)
{
    dg_config *c = load_ok(write_cfg("c.yaml", HEAD "  - name: b\n    spec: @PET@\n    upstream: http://h\n"
                                     "    match: {host: B.example}\n  - name: c\n    spec: @PET@\n"
                                     "    upstream: http://h\n    listen: '[::1]:8081'\n"));
    cr_assert_str_eq(c->apis[1].match_host, "b.example");
    cr_assert_str_eq(c->apis[2].listen, "[::1]:8081");
    dg_config_free(c);
}

Test(config, report_only_refuses_enforce)
{
    load_bad(HEAD "    profile: report-only\n    operations:\n      listPets: {mode: enforce}\n");
    expect_err("/apis/0/operations/listPets/mode", 8, 24, "report-only profile never enforces");
}

Test(config, option_combinations_that_make_no_sense)
{
    load_bad(HEAD "    match: {strip_prefix: true}\n    tls: {verify: false}\n"
             "  - name: b\n    spec: @PET@\n    upstream: https://h\n    listen: 127.0.0.1:8085\n"
             "    tls: {client_cert: @PET@}\n");
    expect_err("/apis/0/match/strip_prefix", 6, 13, "needs a path_prefix");
    expect_err("/apis/0/tls", 7, 5, "no upstream");
    expect_err("/apis/1/tls/client_cert", 12, 11, "go together");
}

Test(config, bad_pointer_patterns_and_operation_keys)
{
    load_bad(HEAD "    policy:\n      redact: {pointers: ['/a/**/b']}\n"
             "    operations:\n      'FETCH /pets': {}\n");
    expect_err("/apis/0/policy/redact/pointers/0", 7, 27, "only allowed as the whole last segment");
    expect_err("/apis/0/operations/FETCH ~1pets", 9, 7, "operationId, or \"METHOD /path\"");
}

Test(config, assert_formats_cannot_change_per_operation)
{
    load_bad(HEAD "    operations:\n      listPets: {assert_formats: false}\n");
    expect_err("/apis/0/operations/listPets/assert_formats", 7, 18, "whole API");
}

Test(config, limits_take_strings_and_integers)
{
    dg_config *c = load_ok(write_cfg("c.yaml", "version: 1\nlimits:\n  max_header_bytes: 16KiB\n"
                                     "  max_request_body: 1000\n  client_header_timeout: 250ms\n"
                                     "  keepalive_timeout: 2m\n  drain_timeout: 0\n"
                                     "  upstream_read_timeout: 1500\n"
                                     "apis:\n  - {name: a, spec: @PET@, upstream: 'http://h'}\n"));
    cr_assert_eq(c->limits.max_header_bytes, 16384);
    cr_assert_eq(c->limits.max_request_body, 1000);
    cr_assert_eq(c->limits.client_header_timeout_ms, 250);
    cr_assert_eq(c->limits.keepalive_timeout_ms, 120000);
    cr_assert_eq(c->limits.drain_timeout_ms, 0);
    cr_assert_eq(c->limits.upstream_read_timeout_ms, 1500);
    dg_config_free(c);
    load_bad("version: 1\nlimits:\n  client_header_timeout: 0\n"
             "apis:\n  - {name: a, spec: @PET@, upstream: 'http://h'}\n");
    expect_err("/limits/client_header_timeout", 3, 26, "greater than 0");
}

Test(config, unknown_operations_are_found_once_specs_are_loaded)
{
    dg_config *c = load_ok(write_cfg("c.yaml", HEAD "    policy:\n      ignore:\n"
                                     "        - {operation: listPet}\n    operations:\n"
                                     "      showPetByID: {}\n      'GET /pets': {}\n"
                                     "      'GET /health': {}\n"));
    dg_spec *s = NULL;
    dg_error e;
    cr_assert_eq(dg_spec_load(pet_spec, NULL, &s, &e), 0);
    const struct dg_router *r[1] = {dg_spec_router(s)};
    size_t n = 0;
    cr_assert_eq(dg_config_check_operations(&c->apis[0], r, 1, errs, 32, &n), DG_EINVAL);
    n_errs = n;
    cr_assert_eq(n, 3);
    expect_err("/apis/0/policy/ignore/0", 8, 11, "did you mean \"listPets\"");
    expect_err("/apis/0/operations/showPetByID", 10, 20, "did you mean \"showPetById\"");
    expect_err("/apis/0/operations/GET ~1pets", 11, 20, "has operationId \"listPets\"");
    cr_assert(strstr(errs[0].file, "c.yaml"));
    dg_spec_free(s);
    dg_config_free(c);
}

/* ---- profiles and overrides ---- */

Test(policy, presets)
{
    dg_policy p;
    dg_policy_preset(DG_PROFILE_STRICT, &p);
    cr_assert_eq(p.mode, DG_MODE_MONITOR);
    cr_assert_eq(p.undocumented_fields, DG_HANDLE_ERROR);
    cr_assert_eq(p.undocumented_status, DG_HANDLE_ERROR);
    cr_assert_eq(p.n_info_statuses, 0);
    cr_assert_eq(p.sample_rate, 1.0);
    cr_assert_eq(p.max_body, 64u << 20);
    cr_assert_eq(p.enforce_max_body, 8u << 20);
    cr_assert_eq(p.assert_formats, 1);
    cr_assert_eq(p.include_values, 0);
    dg_policy_preset(DG_PROFILE_THIRD_PARTY, &p);
    cr_assert_eq(p.undocumented_fields, DG_HANDLE_INFO);
    cr_assert_eq(p.undocumented_status, DG_HANDLE_ERROR);
    cr_assert_eq(p.n_info_statuses, 4);
    cr_assert_eq(p.info_statuses[0], 429);
    cr_assert_eq(p.info_statuses[3], 504);
    dg_policy_preset(DG_PROFILE_REPORT_ONLY, &p);
    cr_assert_eq(p.mode, DG_MODE_MONITOR);
    cr_assert_eq(p.undocumented_fields, DG_HANDLE_INFO);
    cr_assert_eq(p.undocumented_status, DG_HANDLE_INFO);
    cr_assert_str_eq(dg_profile_name(DG_PROFILE_THIRD_PARTY), "third-party");
    cr_assert_str_eq(dg_handling_name(DG_HANDLE_INFO), "info");
    cr_assert_str_eq(dg_mode_name(DG_MODE_ENFORCE), "enforce");
    cr_assert_eq(dg_mode_parse("off"), DG_MODE_OFF);
    cr_assert_eq(dg_mode_parse("Off"), -1);
}

Test(config, file_fields_override_the_preset)
{
    dg_config *c = load_ok(write_cfg("c.yaml", HEAD "    profile: third-party\n    policy:\n"
                                     "      info_statuses: [503]\n      undocumented_fields: error\n"
                                     "      max_body: 1MB\n      assert_formats: false\n"));
    const dg_policy *p = &c->apis[0].policy;
    cr_assert_eq(p->n_info_statuses, 1);
    cr_assert_eq(p->info_statuses[0], 503);
    cr_assert_eq(p->undocumented_fields, DG_HANDLE_ERROR);
    cr_assert_eq(p->undocumented_status, DG_HANDLE_ERROR);
    cr_assert_eq(p->max_body, 1000000);
    cr_assert_eq(p->assert_formats, 0);
    dg_config_free(c);
}

Test(config, operation_overrides_replace_fields_and_add_rules)
{
    dg_config *c = load_ok(write_cfg("c.yaml", HEAD "    policy:\n      sample_rate: 0.5\n"
                                     "      ignore: [{kind: format}]\n"
                                     "      owners: [{team: a}]\n      redact: {properties: [secret]}\n"
                                     "    operations:\n      listPets:\n        mode: enforce\n"
                                     "        ignore: [{pointer: /0/tag}]\n        owners: [{team: b, contact: x}]\n"
                                     "        redact: {pointers: [/0/name]}\n      'get /health': {sample_rate: 0}\n"));
    const dg_api *a = &c->apis[0];
    cr_assert_eq(a->n_ops, 2);
    cr_assert_str_eq(a->ops[1].operation, "GET /health", "method upper-cased");
    const dg_policy *p = dg_policy_for_operation(a, "listPets", "listPets");
    cr_assert_eq(p->mode, DG_MODE_ENFORCE);
    cr_assert_eq(p->sample_rate, 0.5, "inherited");
    cr_assert_eq(p->n_ignore, 2, "rules are added");
    cr_assert_eq(a->ops[0].n_own_ignore, 1);
    cr_assert_eq(p->n_owners, 1);
    cr_assert_str_eq(p->owners[0].team, "b", "owners are replaced");
    cr_assert(dg_policy_masks(p, "/0/name") && dg_policy_masks(p, "/x/secret"), "redaction is added");
    cr_assert(dg_policy_ignores(p, "listPets", "listPets", 200, "/3/created_at", DG_KIND_FORMAT));
    cr_assert_eq(dg_policy_for_operation(a, NULL, "GET /health")->sample_rate, 0.0);
    cr_assert_eq(dg_policy_for_operation(a, "showPetById", "showPetById"), &a->policy);
    cr_assert_eq(dg_policy_for_operation(a, NULL, NULL), &a->policy);
    dg_config_free(c);
}

/* ---- matching ---- */

Test(policy, ignore_rules_match_every_given_field)
{
    dg_ignore_rule rules[3] = {
        {.operation = "listPets", .status = 0, .pointer = NULL, .kind = -1},
        {.operation = NULL, .status = 4, .pointer = "/items/*/price", .kind = DG_KIND_TYPE},
        {.operation = "GET /x", .status = 503, .pointer = "/meta/**", .kind = -1}};
    dg_policy p;
    dg_policy_preset(DG_PROFILE_STRICT, &p);
    p.ignore = rules;
    p.n_ignore = 3;
    cr_assert(dg_policy_ignores(&p, "listPets", "listPets", 200, "/a", DG_KIND_ENUM));
    cr_assert(!dg_policy_ignores(&p, "showPet", "showPet", 200, "/a", DG_KIND_ENUM));
    cr_assert(dg_policy_ignores(&p, "a", "a", 404, "/items/2/price", DG_KIND_TYPE));
    cr_assert(dg_policy_ignores(&p, "a", "a", 499, "/items/x/price", DG_KIND_TYPE));
    cr_assert(!dg_policy_ignores(&p, "a", "a", 500, "/items/2/price", DG_KIND_TYPE), "class 4xx only");
    cr_assert(!dg_policy_ignores(&p, "a", "a", 404, "/items/2/price", DG_KIND_ENUM), "kind");
    cr_assert(!dg_policy_ignores(&p, "a", "a", 404, "/items/2/price/x", DG_KIND_TYPE), "depth");
    cr_assert(dg_policy_ignores(&p, NULL, "GET /x", 503, "/meta", DG_KIND_OTHER));
    cr_assert(dg_policy_ignores(&p, NULL, "GET /x", 503, "/meta/a/b", DG_KIND_OTHER));
    cr_assert(!dg_policy_ignores(&p, NULL, "GET /x", 502, "/meta/a", DG_KIND_OTHER), "exact status");
    cr_assert(!dg_policy_ignores(&p, NULL, "GET /x", 503, "/metadata", DG_KIND_OTHER));
}

Test(policy, pointer_patterns)
{
    cr_assert(dg_pointer_match("", ""));
    cr_assert(!dg_pointer_match("", "/a"));
    cr_assert(dg_pointer_match("/a/b", "/a/b"));
    cr_assert(!dg_pointer_match("/a/b", "/a/bc"));
    cr_assert(!dg_pointer_match("/a/b", "/a"));
    cr_assert(dg_pointer_match("/*/b", "/0/b"));
    cr_assert(!dg_pointer_match("/*", ""));
    cr_assert(dg_pointer_match("/**", ""));
    cr_assert(dg_pointer_match("/**", "/x/y"));
    cr_assert(dg_pointer_match("/a/**", "/a"));
    cr_assert(dg_pointer_match("/a/*/c/**", "/a/1/c/d/e"));
    cr_assert(!dg_pointer_match("/a/**", "/ab/c"));
    cr_assert(dg_pointer_match("/a~1b", "/a~1b"));
    cr_assert(dg_pointer_match(NULL, "/anything"));
}

Test(policy, masking_by_pointer_and_by_property_name)
{
    char *ptrs[] = {"/card/number", "/data/*/card/number"};
    char *props[] = {"email", "a/b"};
    dg_policy p;
    dg_policy_preset(DG_PROFILE_STRICT, &p);
    p.redact_pointers = ptrs;
    p.n_redact_pointers = 2;
    cr_assert(dg_policy_masks(&p, "/card/number"));
    cr_assert(dg_policy_masks(&p, "/data/7/card/number"));
    cr_assert(!dg_policy_masks(&p, "/card/last4"));
    p.redact_properties = props;
    p.n_redact_properties = 2;
    cr_assert(dg_policy_masks(&p, "/customer/email"));
    cr_assert(dg_policy_masks(&p, "/customer/EMail/0"), "case-insensitive, and below");
    cr_assert(dg_policy_masks(&p, "/x/a~1b"), "escaped segments compare unescaped");
    cr_assert(!dg_policy_masks(&p, "/customer/emails"));
    cr_assert(!dg_policy_masks(&p, ""));
}

/* ---- value parsers ---- */

Test(units, durations)
{
    uint64_t v;
    cr_assert(!dg_parse_duration_ms("10s", &v) && v == 10000);
    cr_assert(!dg_parse_duration_ms("250ms", &v) && v == 250);
    cr_assert(!dg_parse_duration_ms("2m", &v) && v == 120000);
    cr_assert(!dg_parse_duration_ms("1h", &v) && v == 3600000);
    cr_assert(!dg_parse_duration_ms("1500", &v) && v == 1500);
    cr_assert(!dg_parse_duration_ms("10 s", &v) && v == 10000);
    static const char *bad[] = {"", "s", "10x", "-1s", "1.5s", "10 ", " 10s", "10S", "10sec",
                                "99999999999999999999", "18446744073709551615h", NULL};
    for (int i = 0; bad[i]; i++)
        cr_assert_eq(dg_parse_duration_ms(bad[i], &v), DG_EINVAL, "\"%s\"", bad[i]);
    cr_assert_eq(dg_parse_duration_ms(NULL, &v), DG_EINVAL);
}

Test(units, sizes)
{
    uint64_t v;
    cr_assert(!dg_parse_size("8MiB", &v) && v == 8u << 20);
    cr_assert(!dg_parse_size("512KiB", &v) && v == 512u << 10);
    cr_assert(!dg_parse_size("1GiB", &v) && v == 1u << 30);
    cr_assert(!dg_parse_size("100kB", &v) && v == 100000);
    cr_assert(!dg_parse_size("1MB", &v) && v == 1000000);
    cr_assert(!dg_parse_size("2 TiB", &v) && v == 2ull << 40);
    cr_assert(!dg_parse_size("64B", &v) && v == 64);
    cr_assert(!dg_parse_size("4096", &v) && v == 4096);
    static const char *bad[] = {"", "MiB", "8M", "8 ", "8XB", "8MiBs", "-1", "1.5MiB",
                                "20000000TiB", NULL};
    for (int i = 0; bad[i]; i++)
        cr_assert_eq(dg_parse_size(bad[i], &v), DG_EINVAL, "\"%s\"", bad[i]);
}

Test(units, upstream_urls)
{
    dg_upstream_url u;
    cr_assert_eq(dg_upstream_parse("http://Example.COM", &u, NULL), 0);
    cr_assert_str_eq(u.host, "example.com");
    cr_assert_eq(u.port, 80);
    cr_assert_eq(u.https, 0);
    cr_assert_str_eq(u.base_path, "");
    dg_upstream_url_free(&u);
    cr_assert_eq(dg_upstream_parse("https://10.0.0.1:8443/api/v2/", &u, NULL), 0);
    cr_assert_eq(u.port, 8443);
    cr_assert(u.https);
    cr_assert_str_eq(u.base_path, "/api/v2");
    cr_assert_str_eq(u.url, "https://10.0.0.1:8443/api/v2/");
    dg_upstream_url_free(&u);
    cr_assert_eq(dg_upstream_parse("HTTPS://[::1]/", &u, NULL), 0);
    cr_assert_str_eq(u.host, "::1");
    cr_assert_eq(u.port, 443);
    dg_upstream_url_free(&u);
    static const char *bad[] = {"ftp://h", "h:80", "http://", "http://:80", "http://h:",
                                "http://h:65536", "http://h:x", "http://u@h", "http://h/?q",
                                "http://h/#f", "http://h /", "http://[::1", "http://[zz]/",
                                "http://a b", NULL};
    dg_error e;
    for (int i = 0; bad[i]; i++)
        cr_assert_eq(dg_upstream_parse(bad[i], &u, &e), DG_EINVAL, "\"%s\"", bad[i]);
    cr_assert(strstr(e.msg, "http://a b"));
}

Test(units, listen_addresses)
{
    dg_listen_addr a;
    cr_assert_eq(dg_listen_parse("127.0.0.1:8080", &a, NULL), 0);
    cr_assert_str_eq(a.canonical, "127.0.0.1:8080");
    cr_assert(!a.wildcard);
    cr_assert_eq(dg_listen_parse("LocalHost:08080", &a, NULL), 0);
    cr_assert_str_eq(a.canonical, "localhost:8080");
    cr_assert_eq(dg_listen_parse("[::]:443", &a, NULL), 0);
    cr_assert_str_eq(a.host, "::");
    cr_assert(a.wildcard);
    cr_assert_eq(dg_listen_parse("0.0.0.0:1", &a, NULL), 0);
    cr_assert(a.wildcard);
    dg_error e;
    static const char *bad[] = {"8080", ":8080", "h:", "h:0", "h:70000", "::1:80", "[::1]",
                                "[x]:80", "h h:80", NULL};
    for (int i = 0; bad[i]; i++)
        cr_assert_eq(dg_listen_parse(bad[i], &a, &e), DG_EINVAL, "\"%s\"", bad[i]);
    cr_assert(strstr(e.msg, "h h:80"));
}

Test(units, schema_kind_enum_matches_dg_kind_names)
{
    /* the config schema lists the kinds by hand; keep it in step */
    FILE *f = fopen("policies/config.schema.json", "r");
    cr_assert_not_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *k = strstr(buf, "\"kind\": {");
    cr_assert_not_null(k);
    const char *e = strstr(k, "\"enum\"");
    for (int i = 0; i < DG_KIND_COUNT; i++) {
        char q[64];
        snprintf(q, sizeof q, "\"%s\"", dg_kind_name((dg_kind)i));
        const char *hit = strstr(e, q);
        cr_assert(hit && hit < strchr(e, ']'), "kind %s missing from the schema", q);
    }
}

/* ---- quick start ---- */

Test(units, quick_config)
{
    dg_config *c = NULL;
    dg_error e;
    cr_assert_eq(dg_config_quick(EX "specs/petstore.yaml", "http://127.0.0.1:3000/base", NULL,
                                 NULL, DG_MODE_ENFORCE, &c, &e), 0, "%s", e.msg);
    cr_assert_null(c->path);
    cr_assert_str_eq(c->listen, "127.0.0.1:8080");
    cr_assert_str_eq(c->admin, "127.0.0.1:9090");
    cr_assert_eq(c->n_apis, 1);
    cr_assert_str_eq(c->apis[0].name, "petstore");
    cr_assert_eq(c->apis[0].specs[0][0], '/', "absolute");
    cr_assert_str_eq(c->apis[0].upstreams[0].base_path, "/base");
    cr_assert_eq(c->apis[0].policy.profile, DG_PROFILE_STRICT);
    cr_assert_eq(c->apis[0].policy.mode, DG_MODE_ENFORCE);
    cr_assert_eq(c->apis[0].tls.verify, 1);
    cr_assert_eq(c->limits.max_connections, 4096);
    dg_config_free(c);

    cr_assert_eq(dg_config_quick(EX "specs/inventory.json", "http://h", "[::1]:81", "127.0.0.1:82",
                                 DG_MODE_MONITOR, &c, &e), 0);
    cr_assert_str_eq(c->apis[0].name, "inventory");
    cr_assert_str_eq(c->listen, "[::1]:81");
    dg_config_free(c);

    cr_assert_neq(dg_config_quick("nope.yaml", "http://h", NULL, NULL, DG_MODE_MONITOR, &c, &e), 0);
    cr_assert(strstr(e.msg, "does not exist"));
    cr_assert_neq(dg_config_quick(EX "specs/petstore.yaml", "ftp://h", NULL, NULL, DG_MODE_MONITOR,
                                  &c, &e), 0);
    cr_assert_neq(dg_config_quick(EX "specs/petstore.yaml", "http://h", "127.0.0.1:9090", NULL,
                                  DG_MODE_MONITOR, &c, &e), 0);
    cr_assert(strstr(e.msg, "admin"));
    cr_assert_null(c);
}

Test(config, quick_config_name_is_sanitised)
{
    char p[256];
    snprintf(p, sizeof p, "%s/c.yaml", tmpdir);
    write_cfg("c.yaml", "openapi: 3.0.0\n");
    /* c.yaml -> "c"; the sanitising of odd names is checked via a copy */
    dg_config *c = NULL;
    dg_error e;
    cr_assert_eq(dg_config_quick(p, "http://h", NULL, NULL, DG_MODE_OFF, &c, &e), 0);
    cr_assert_str_eq(c->apis[0].name, "c");
    cr_assert_eq(c->apis[0].policy.mode, DG_MODE_OFF);
    dg_config_free(c);
    char q[256];
    snprintf(q, sizeof q, "%s/Pet Store!.v2.json", tmpdir);
    cr_assert_eq(rename(p, q), 0);
    cr_assert_eq(dg_config_quick(q, "http://h", NULL, NULL, DG_MODE_OFF, &c, &e), 0);
    cr_assert_str_eq(c->apis[0].name, "pet_store_.v2");
    dg_config_free(c);
    unlink(q);
}

/* ---- store: and explain: ---- */

Test(config, explain_defaults_are_the_heuristic_and_no_store)
{
    dg_config *c = load_ok(write_cfg("c.yaml", HEAD));
    cr_assert_null(c->store.url);
    cr_assert_eq(c->apis[0].explain.backend, DG_LLM_HEURISTIC);
    cr_assert_null(c->apis[0].explain.model);
    cr_assert_eq(c->apis[0].explain.batch_size, 20);
    cr_assert_eq(c->apis[0].explain.batch_interval_ms, 300000);
    cr_assert_eq(c->store.flush_interval_ms, 5000);
    cr_assert_eq(c->store.retention_days, 30);
    dg_config_free(c);
}

Test(config, explain_top_level_is_inherited_and_overridden_per_api)
{
    dg_config *c = load_ok(write_cfg(
        "c.yaml", "version: 1\nstore:\n  path: drift.db\n  flush_interval: 2s\n  retention_days: 7\n"
                  "explain:\n  backend: gemini\n  batch_size: 5\n  requests_per_minute: 3\n"
                  "apis:\n  - name: a\n    spec: @PET@\n    upstream: http://127.0.0.1:3000\n"
                  "  - name: b\n    spec: @PET@\n    upstream: http://127.0.0.1:3001\n"
                  "    listen: 127.0.0.1:8081\n    explain:\n      backend: ollama\n"
                  "      batch_interval: 30s\n"));
    char want[PATH_MAX + 16];
    char real[PATH_MAX];
    cr_assert_not_null(realpath(tmpdir, real));
    snprintf(want, sizeof want, "%s/drift.db", real);
    cr_assert_str_eq(c->store.url, want, "relative to the config file");
    cr_assert_eq(c->store.flush_interval_ms, 2000);
    cr_assert_eq(c->store.retention_days, 7);
    const dg_llm_conf *a = &c->apis[0].explain, *b = &c->apis[1].explain;
    cr_assert_eq(a->backend, DG_LLM_GEMINI);
    cr_assert_str_eq(a->model, "gemma-4-31b-it");
    cr_assert_str_eq(a->endpoint, "https://generativelanguage.googleapis.com");
    cr_assert_str_eq(a->api_key_env, "GEMINI_API_KEY");
    cr_assert_eq(a->batch_size, 5);
    cr_assert_eq(b->backend, DG_LLM_OLLAMA);
    cr_assert_str_eq(b->model, "gemma4:31b", "another backend: its own model default");
    cr_assert_str_eq(b->endpoint, "http://127.0.0.1:11434");
    cr_assert_eq(b->batch_size, 5, "inherited");
    cr_assert_eq(b->requests_per_minute, 3, "inherited");
    cr_assert_eq(b->batch_interval_ms, 30000);
    dg_config_free(c);
}

Test(config, explain_vertex_needs_a_project_and_bad_values_are_located)
{
    load_bad(HEAD "    explain:\n      backend: vertex\n");
    expect_err("/apis/0/explain", 7, 7, "needs explain.project");
    load_bad(HEAD "    explain:\n      backend: gpt\n");
    expect_err("/apis/0/explain/backend", 7, 16, "heuristic");
    load_bad(HEAD "    explain:\n      timeout: 0\n      backoff_initial: 10s\n      backoff_max: 1s\n"
                  "      api_key_file: missing.key\n");
    expect_err("/apis/0/explain/timeout", 7, 16, "greater than 0");
    expect_err("/apis/0/explain/backoff_max", 9, 20, "backoff_initial");
    expect_err("/apis/0/explain/api_key_file", 10, 21, "cannot read");
}

Test(config, explain_vertex_endpoint_follows_the_location)
{
    dg_config *c = load_ok(write_cfg("c.yaml", HEAD "    explain:\n      backend: vertex\n"
                                                    "      project: p1\n      location: europe-west4\n"));
    const dg_llm_conf *e = &c->apis[0].explain;
    cr_assert_str_eq(e->endpoint, "https://europe-west4-aiplatform.googleapis.com");
    cr_assert_str_eq(e->token_env, "VERTEX_ACCESS_TOKEN");
    dg_config_free(c);
}

Test(config, store_postgres_is_refused_with_a_reason)
{
    load_bad("version: 1\nstore:\n  path: postgresql://db/drift\napis:\n  - name: pets\n"
             "    spec: @PET@\n    upstream: http://127.0.0.1:3000\n");
    expect_err("/store/path", 3, 9, "PostgreSQL");
}

/* ---- owners ---- */

Test(policy, owner_comes_from_the_policy_then_the_spec_then_unowned)
{
    json_t *root = json_loads("{\"info\":{\"x-owner\":\"info-team\"},"
                              "\"tags\":[{\"name\":\"pets\",\"x-owner\":\"tag-team\"},{\"name\":\"misc\"}]}",
                              0, NULL);
    json_t *op_own = json_loads("{\"x-owner\":\"op-team\",\"tags\":[\"pets\"]}", 0, NULL);
    json_t *op_tag = json_loads("{\"tags\":[\"pets\"]}", 0, NULL);
    json_t *op_misc = json_loads("{\"tags\":[\"misc\"]}", 0, NULL);
    json_t *op_none = json_loads("{}", 0, NULL);
    dg_policy p;
    dg_policy_preset(DG_PROFILE_STRICT, &p);
    dg_owner o = {(char *)"policy-team", NULL};
    cr_assert_str_eq(dg_owner_resolve(&p, root, op_own), "op-team");
    cr_assert_str_eq(dg_owner_resolve(&p, root, op_tag), "tag-team");
    cr_assert_str_eq(dg_owner_resolve(&p, root, op_none), "info-team");
    json_object_del(root, "info");
    cr_assert_str_eq(dg_owner_resolve(&p, root, op_misc), "misc", "a tag without x-owner");
    cr_assert_str_eq(dg_owner_resolve(&p, root, op_none), "unowned");
    cr_assert_str_eq(dg_owner_resolve(NULL, NULL, NULL), "unowned");
    p.owners = &o;
    p.n_owners = 1;
    cr_assert_str_eq(dg_owner_resolve(&p, root, op_own), "policy-team", "the policy wins");
    json_decref(root);
    json_decref(op_own);
    json_decref(op_tag);
    json_decref(op_misc);
    json_decref(op_none);
}
