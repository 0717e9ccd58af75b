/* cmd/validate_cmd.c: `driftgate validate`. Bodies are streamed through the
 * validator in 64 KiB reads, so memory stays bounded for any size. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cli.h"
#include "common/buf.h"
#include "validate/spec.h"

static const char *validate_help =
    "usage: driftgate validate --spec SPEC (--operation ID | --method M --path /concrete/path)\n"
    "                          [--status N] [--content-type CT] [options] BODY...\n"
    "       driftgate validate --schema SCHEMA [--dialect D] [options] INSTANCE...\n"
    "\n"
    "Validates each BODY/INSTANCE file ('-' = stdin) and prints its violations.\n"
    "\n"
    "  --spec SPEC            OpenAPI 3.0/3.1 or Swagger 2.0 description (YAML or JSON)\n"
    "  --operation ID         the operationId whose response is validated\n"
    "  --method M --path P    or pick the operation by request method and concrete path\n"
    "  --status N             response status code (default 200)\n"
    "  --content-type CT      response Content-Type (default application/json)\n"
    "  --schema SCHEMA        validate against a JSON Schema file instead of a spec\n"
    "  --dialect D            draft4 | 2020-12 | oas3.0 | oas3.1 (default: $schema, else 2020-12)\n"
    "  --ref-map URL=PATH     resolve $refs under URL from local PATH (repeatable; never the network)\n"
    "  --format text|json     text (default), or one JSON object per violation per line\n"
    "  --max-errors N         violations kept per body (default 100)\n"
    "  --include-values       include the offending raw values (off: only their shape)\n"
    "  --request              validate as a request body (readOnly forbidden, writeOnly allowed)\n"
    "  --no-format-assert     treat format as an annotation\n"
    "\n"
    "Exit status: 0 all valid, 1 any invalid, 2 usage, spec or I/O error.\n";

typedef struct out_ctx {
    int json;
} out_ctx;

static void print_json_str(const char *s)
{
    dg_buf b = DG_BUF_INIT;
    dg_buf_append_json_str(&b, s ? s : "", s ? strlen(s) : 0);
    printf("\"%s\"", b.data ? b.data : "");
    dg_buf_free(&b);
}

static void print_result(const out_ctx *o, const char *file, const dg_result *r)
{
    if (!o->json) {
        if (r->valid) {
            printf("%s: valid\n", file);
            return;
        }
        printf("%s: invalid (%zu violation%s%s)\n", file, r->total, r->total == 1 ? "" : "s",
               r->truncated ? ", list truncated" : "");
        for (size_t i = 0; i < r->count; i++) {
            const dg_violation *v = &r->v[i];
            printf("  %s: %s: %s", v->instance_pointer[0] ? v->instance_pointer : "/",
                   dg_kind_name(v->kind), v->message);
            if (v->schema_pointer && v->schema_pointer[0])
                printf(" [%s]", v->schema_pointer);
            if (v->value)
                printf(" value=%s", v->value);
            printf("\n");
        }
        if (r->truncated)
            printf("  ... %zu more not shown (--max-errors)\n", r->total - r->count);
        return;
    }
    for (size_t i = 0; i < r->count; i++) {
        const dg_violation *v = &r->v[i];
        printf("{\"file\":");
        print_json_str(file);
        printf(",\"instance_pointer\":");
        print_json_str(v->instance_pointer);
        printf(",\"schema_pointer\":");
        print_json_str(v->schema_pointer);
        printf(",\"kind\":\"%s\",\"message\":", dg_kind_name(v->kind));
        print_json_str(v->message);
        if (v->shape.type[0]) {
            printf(",\"shape\":{\"type\":\"%s\",\"length\":%llu", v->shape.type,
                   (unsigned long long)v->shape.length);
            if (v->shape.number_class)
                printf(",\"number_class\":\"%s\"", v->shape.number_class);
            printf("}");
        }
        if (v->kind == DG_KIND_PARSE && r->parse_error.has_offset)
            printf(",\"offset\":%llu,\"line\":%u,\"column\":%u",
                   (unsigned long long)r->parse_error.offset, r->parse_error.line, r->parse_error.col);
        if (v->value) {
            printf(",\"value\":");
            print_json_str(v->value);
        }
        printf("}\n");
    }
    if (r->truncated)
        printf("{\"file\":\"%s\",\"truncated\":true,\"total\":%zu}\n", file, r->total);
}

static void print_finding(const out_ctx *o, const char *file, const char *kind, const char *msg)
{
    if (!o->json) {
        printf("%s: invalid (1 violation)\n  /: %s: %s\n", file, kind, msg);
        return;
    }
    printf("{\"file\":");
    print_json_str(file);
    printf(",\"instance_pointer\":\"\",\"schema_pointer\":\"\",\"kind\":\"%s\",\"message\":", kind);
    print_json_str(msg);
    printf("}\n");
}

/* Streams one file through v. Returns 0 valid, 1 invalid, 2 I/O error. */
static int run_body(const out_ctx *o, dg_validator *v, int id, const char *file)
{
    FILE *f = strcmp(file, "-") ? fopen(file, "rb") : stdin;
    if (!f) {
        fprintf(stderr, "driftgate: %s: %s\n", file, strerror(errno));
        return 2;
    }
    dg_validator_begin(v, id);
    static char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        if (dg_validator_feed(v, buf, n))
            break; /* malformed: finish reports it */
    int ioerr = ferror(f);
    if (f != stdin)
        fclose(f);
    if (ioerr) {
        fprintf(stderr, "driftgate: %s: read error\n", file);
        return 2;
    }
    dg_result r;
    int frc = dg_validator_finish(v, &r);
    if (frc) {
        fprintf(stderr, "driftgate: %s: %s\n", file,
                frc == DG_ELIMIT ? "the schema needs more than the validator's limit of live schema "
                                   "applications for this value (too many nested combinators)"
                                 : "out of memory");
        return 2;
    }
    print_result(o, file, &r);
    return r.valid ? 0 : 1;
}

int dg_cli_need_value(const char *cmd, int i, int argc, char **argv)
{
    if (i + 1 >= argc) {
        fprintf(stderr, "driftgate %s: %s needs a value\n", cmd, argv[i]);
        return 0;
    }
    return 1;
}

int dg_cli_add_ref_map(const char *arg, char ***pairs, size_t *npairs)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return -1;
    char **p = realloc(*pairs, (*npairs + 1) * 2 * sizeof *p);
    if (!p)
        return -1;
    *pairs = p;
    p[2 * *npairs] = strndup(arg, (size_t)(eq - arg));
    p[2 * *npairs + 1] = strdup(eq + 1);
    (*npairs)++;
    return 0;
}

static void free_pairs(char **pairs, size_t n)
{
    for (size_t i = 0; i < 2 * n; i++)
        free(pairs[i]);
    free(pairs);
}

int dg_cmd_validate(int argc, char **argv)
{
    static const struct option lo[] = {
        {"spec", 1, 0, 's'}, {"operation", 1, 0, 'o'}, {"method", 1, 0, 'm'},
        {"path", 1, 0, 'p'}, {"status", 1, 0, 'S'}, {"content-type", 1, 0, 'c'},
        {"schema", 1, 0, 'j'}, {"dialect", 1, 0, 'd'}, {"ref-map", 1, 0, 'r'},
        {"format", 1, 0, 'f'}, {"max-errors", 1, 0, 'e'}, {"include-values", 0, 0, 'V'},
        {"request", 0, 0, 'R'}, {"no-format-assert", 0, 0, 'F'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    const char *spec_path = NULL, *opid = NULL, *method = NULL, *path = NULL, *schema_path = NULL;
    const char *ct = "application/json";
    int status = 200, assert_formats = -1;
    dg_dialect dialect = DG_DIALECT_AUTO;
    char **pairs = NULL;
    size_t npairs = 0;
    out_ctx o = {0};
    dg_validate_opts vo;
    dg_validate_opts_default(&vo);
    int c, rc = 2;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 's': spec_path = optarg; break;
        case 'o': opid = optarg; break;
        case 'm': method = optarg; break;
        case 'p': path = optarg; break;
        case 'S': {
            char *end;
            long s = strtol(optarg, &end, 10);
            if (*end || s < 100 || s > 599) {
                fprintf(stderr, "driftgate validate: --status must be 100..599\n");
                goto out;
            }
            status = (int)s;
            break;
        }
        case 'c': ct = optarg; break;
        case 'j': schema_path = optarg; break;
        case 'd':
            dialect = dg_dialect_parse(optarg);
            if (dialect == DG_DIALECT_AUTO) {
                fprintf(stderr, "driftgate validate: unknown dialect \"%s\"\n", optarg);
                goto out;
            }
            break;
        case 'r':
            if (dg_cli_add_ref_map(optarg, &pairs, &npairs)) {
                fprintf(stderr, "driftgate validate: --ref-map wants URL=PATH\n");
                goto out;
            }
            break;
        case 'f':
            if (!strcmp(optarg, "json")) o.json = 1;
            else if (strcmp(optarg, "text")) {
                fprintf(stderr, "driftgate validate: --format is text or json\n");
                goto out;
            }
            break;
        case 'e': vo.max_errors = (size_t)strtoul(optarg, NULL, 10); if (!vo.max_errors) vo.max_errors = 1; break;
        case 'V': vo.include_values = 1; break;
        case 'R': vo.direction = DG_DIR_REQUEST; break;
        case 'F': assert_formats = 0; break;
        case 'h': fputs(validate_help, stdout); rc = 0; goto out;
        default: fputs(validate_help, stderr); goto out;
        }
    }
    if (optind >= argc || (!spec_path == !schema_path)) {
        fprintf(stderr, "driftgate validate: give --spec or --schema, and at least one BODY\n\n%s",
                validate_help);
        goto out;
    }
    dg_error err;
    char m[1400];
    dg_spec *spec = NULL;
    dg_schemaset *set = NULL;
    const dg_schemaset *use = NULL;
    int id = -1;
    dg_spec_target tgt;
    memset(&tgt, 0, sizeof tgt);
    if (spec_path) {
        if (!opid && !(method && path)) {
            fprintf(stderr, "driftgate validate: --spec needs --operation or --method and --path\n");
            goto out;
        }
        dg_spec_opts so = {(const char *const *)pairs, npairs, assert_formats, 0};
        if (dg_spec_load(spec_path, &so, &spec, &err)) {
            fprintf(stderr, "driftgate: %s\n", dg_error_format(&err, m, sizeof m));
            goto out;
        }
        const dg_route_op *op = opid ? dg_router_find_operation_id(dg_spec_router(spec), opid)
                                     : dg_router_match(dg_spec_router(spec), method, path, strlen(path));
        if (!op) {
            if (opid)
                fprintf(stderr, "driftgate: %s: no operation with operationId \"%s\"\n", spec_path, opid);
            else
                fprintf(stderr, "driftgate: %s: no operation matches %s %s\n", spec_path, method, path);
            dg_spec_free(spec);
            goto out;
        }
        if (dg_spec_target_for(spec, op, status, ct, 1, &tgt, &err)) {
            fprintf(stderr, "driftgate: %s\n", dg_error_format(&err, m, sizeof m));
            dg_spec_free(spec);
            goto out;
        }
        use = dg_spec_schemas(spec);
        id = tgt.schema_id;
    } else {
        dg_doc *doc = NULL;
        if (dg_doc_load_file(schema_path, DG_DOC_AUTO, &doc, &err)) {
            fprintf(stderr, "driftgate: %s\n", dg_error_format(&err, m, sizeof m));
            goto out;
        }
        dg_compile_opts co = {dialect == DG_DIALECT_AUTO ? DG_DIALECT_2020_12 : dialect, assert_formats};
        set = dg_schemaset_new(&co);
        for (size_t i = 0; set && i < npairs; i++)
            dg_schemaset_map(set, pairs[2 * i], pairs[2 * i + 1], NULL);
        json_t *root = dg_doc_root(doc);
        if (!set || dg_schemaset_add_doc(set, doc, NULL, 1, &err) ||
            dg_schemaset_compile(set, root, dialect, &id, &err)) {
            fprintf(stderr, "driftgate: %s\n", dg_error_format(&err, m, sizeof m));
            dg_schemaset_free(set);
            goto out;
        }
        use = set;
    }
    dg_validator *v = dg_validator_new(use, &vo);
    if (!v) {
        fprintf(stderr, "driftgate: out of memory\n");
        goto done;
    }
    rc = 0;
    for (int i = optind; i < argc; i++) {
        int r;
        if (tgt.finding) {
            print_finding(&o, argv[i],
                          tgt.finding == DG_FIND_UNDOCUMENTED_STATUS ? "undocumented_status" : "content_type",
                          tgt.message);
            r = 1;
        } else if (id < 0) {
            if (!o.json)
                printf("%s: valid (the response documents no schema)\n", argv[i]);
            r = 0;
        } else {
            r = run_body(&o, v, id, argv[i]);
        }
        if (r > rc)
            rc = r;
    }
    dg_validator_free(v);
done:
    dg_spec_free(spec);
    dg_schemaset_free(set);
out:
    free_pairs(pairs, npairs);
    return rc;
}
