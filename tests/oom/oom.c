/* tests/oom/oom.c: allocation-failure injection. Links the library with
 * -Wl,--wrap=malloc,calloc,realloc so that the k-th allocation made by
 * driftgate's own code fails, for every k in a range, and runs a whole
 * operation each time under ASan+UBSan: a config load (config FILE), or a
 * spec load + streaming validation of a body (spec SPEC BODY OPERATION_ID).
 * Passing means: no crash, no sanitizer report, whatever fails.
 * Allocations inside shared libraries (jansson, libyaml, PCRE2) are not
 * wrapped. Usage: oom config FILE FROM TO | oom spec SPEC BODY OPID FROM TO */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policies/policies.h"
#include "validate/spec.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t a, size_t b);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t a, size_t b);
void *__wrap_realloc(void *p, size_t n);

static long countdown = -1;
static long calls;

static int fail_now(void)
{
    calls++;
    if (countdown < 0)
        return 0;
    return countdown-- == 0;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t a, size_t b) { return fail_now() ? NULL : __real_calloc(a, b); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }

static int load_config(const char *path)
{
    dg_config *c = NULL;
    dg_error errs[4];
    size_t n = 0;
    int rc = dg_config_load(path, &c, errs, 4, &n);
    if (!rc)
        dg_config_free(c);
    return rc;
}

static int spec_and_body(const char *spec, const char *body, size_t bl, const char *opid)
{
    dg_spec *s = NULL;
    dg_error e;
    dg_spec_opts o = {0};
    o.assert_formats = -1;
    int rc = dg_spec_load(spec, &o, &s, &e);
    if (rc)
        return rc;
    const dg_route_op *op = dg_router_find_operation_id(dg_spec_router(s), opid);
    dg_spec_target t;
    if (op && !(rc = dg_spec_target_for(s, op, 200, "application/json", 1, &t, &e)) &&
        t.schema_id >= 0) {
        dg_validate_opts vo;
        dg_validate_opts_default(&vo);
        dg_validator *v = dg_validator_new(dg_spec_schemas(s), &vo);
        rc = DG_ENOMEM;
        if (v) {
            dg_validator_set_report_undocumented(v, 1);
            if (!(rc = dg_validator_begin(v, t.schema_id))) {
                for (size_t i = 0; i < bl; i += 97)
                    dg_validator_feed(v, body + i, bl - i < 97 ? bl - i : 97);
                dg_result r;
                rc = dg_validator_finish(v, &r);
            }
            dg_validator_free(v);
        }
    }
    dg_spec_free(s);
    return rc;
}

int main(int argc, char **argv)
{
    int is_spec = argc == 7 && !strcmp(argv[1], "spec");
    if (!is_spec && !(argc == 5 && !strcmp(argv[1], "config"))) {
        fprintf(stderr, "usage: oom config FILE FROM TO | oom spec SPEC BODY OPID FROM TO\n");
        return 2;
    }
    static char body[1 << 20];
    size_t bl = 0;
    if (is_spec) {
        FILE *fp = fopen(argv[3], "rb");
        if (!fp) {
            perror(argv[3]);
            return 2;
        }
        bl = fread(body, 1, sizeof body, fp);
        fclose(fp);
    }
    long from = atol(argv[argc - 2]), to = atol(argv[argc - 1]);
    calls = 0;
    int base = is_spec ? spec_and_body(argv[2], body, bl, argv[4]) : load_config(argv[2]);
    long total = calls;
    if (base) {
        fprintf(stderr, "oom: the operation fails even without injected failures (%d)\n", base);
        return 1;
    }
    long ok = 0;
    for (long k = from; k < to && k < total; k++) {
        countdown = k;
        int rc = is_spec ? spec_and_body(argv[2], body, bl, argv[4]) : load_config(argv[2]);
        countdown = -1;
        ok += rc == 0;
    }
    printf("oom %s %s: failed each of allocations %ld..%ld of %ld, no crash (%ld runs still succeeded)\n",
           argv[1], argv[2], from, (to < total ? to : total) - 1, total, ok);
    return 0;
}
