/* tests/fuzz/fuzz_spec.c: libFuzzer target for the OpenAPI/Swagger layer
 * (spec loading, $ref resolution across files, schema compilation, the
 * router and response selection), with validation on top.
 *
 *   make -f tests/fuzz/Makefile FUZZ_TARGETS=spec FUZZ_SECONDS=60
 *   build/fuzz/fuzz_spec -max_len=16384 tests/fuzz/corpus/spec
 *
 * dg_spec_load only takes a path, so each input is written to a file in a
 * private directory (mkdtemp /tmp/dg-fuzz-spec-<pid>-XXXXXX, one per
 * process, removed at exit, or by a later run when the process died; the
 * file is unlinked after each input). The directory also holds two
 * fixture files that seeds reference: common.yaml and defs.json (relative
 * refs, and https://fuzz.driftgate.test/ref/ mapped there with ref_map).
 * The build wraps fopen (-Wl,--wrap=fopen, see tests/fuzz/Makefile): while
 * a spec loads, only regular files inside that directory can be opened, so
 * that an input saying `$ref: /dev/zero` or `../../etc/passwd` neither
 * hangs the fuzzer nor makes the results depend on the machine.
 *
 * The input is loaded in lint mode and in normal mode. Checks:
 *   - errors are negative codes with err.code == rc and a terminated message;
 *   - a spec that loads in normal mode loads in lint mode too, with the same
 *     operations and response-schema count;
 *   - router: dg_router_get(i)->index == i, operationId look-ups find the
 *     operation, every match returns one of the router's operations with the
 *     requested method; paths tried: each template with its variables filled
 *     in, under each base path of servers/basePath, with query strings,
 *     trailing slashes and percent-encoding, plus slices of the input;
 *   - dg_spec_target_for over a grid of statuses and content types: a
 *     DG_RESP_SCHEMA result has a compiled schema_id;
 *   - each compiled response schema validates a few bodies (fixed ones and
 *     the media type's `example`) streaming whole, streaming in 3-byte chunks
 *     and from the tree: all three agree on validity and violation count. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "validate/doc.h"
#include "validate/spec.h"

#include "fuzz_check.h"

#define MAX_OPS 24        /* operations exercised per spec (keeps inputs fast) */
#define MAX_SCHEMAS 16    /* distinct response schemas validated per spec */

static char g_dir[64];            /* the sandbox directory */
static char g_spec_path[128];     /* g_dir/openapi */
static char g_map_to[128];        /* g_dir/ (ref_map target) */
static int g_sandboxed;           /* fopen restricted to g_dir while set */

/* ---- fopen sandbox ---------------------------------------------------------- */

FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);

FILE *__wrap_fopen(const char *path, const char *mode)
{
    if (g_sandboxed) {
        char rp[PATH_MAX];
        struct stat st;
        size_t dl = strlen(g_dir);
        if (strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+') || !realpath(path, rp) ||
            strncmp(rp, g_dir, dl) != 0 || rp[dl] != '/' || stat(rp, &st) != 0 ||
            !S_ISREG(st.st_mode)) {
            errno = EACCES;
            return NULL;
        }
    }
    return __real_fopen(path, mode);
}

/* ---- fixtures ----------------------------------------------------------------- */

static const char common_yaml[] =
    "# schemas shared by the seed specs (fuzz_spec fixture)\n"
    "Error:\n"
    "  type: object\n"
    "  required: [code, message]\n"
    "  properties:\n"
    "    code: {type: integer, format: int32}\n"
    "    message: {type: string}\n"
    "    detail: {$ref: '#/Detail'}\n"
    "Detail:\n"
    "  type: object\n"
    "  nullable: true\n"
    "  properties:\n"
    "    cause: {$ref: '#/Detail'}\n"
    "    where: {$ref: 'defs.json#/definitions/Where'}\n"
    "Pet:\n"
    "  $ref: 'openapi#/components/schemas/Pet'\n"
    "Responses:\n"
    "  NotFound:\n"
    "    description: not found\n"
    "    content:\n"
    "      application/json:\n"
    "        schema: {$ref: '#/Error'}\n";

static const char defs_json[] =
    "{\"definitions\":{"
    " \"Where\":{\"type\":\"object\",\"properties\":{\"line\":{\"type\":\"integer\",\"minimum\":1},"
    "   \"file\":{\"type\":\"string\",\"pattern\":\"^[a-z./]+$\"},"
    "   \"next\":{\"$ref\":\"#/definitions/Where\"}}},"
    " \"Back\":{\"$ref\":\"common.yaml#/Error\"}}}";

static void write_file(const char *name, const char *text, size_t n)
{
    char p[192];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0);
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, text + off, n - off);
        CHECK(w > 0);
        off += (size_t)w;
    }
    close(fd);
}

static void cleanup(void)
{
    char p[192];
    if (!g_dir[0])
        return;
    static const char *const names[] = {"openapi", "common.yaml", "defs.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", g_dir, names[i]);
        unlink(p);
    }
    rmdir(g_dir);
}

/* A process that crashed or timed out never ran cleanup(): remove the
 * directories of fuzz_spec processes that no longer exist (the name carries
 * the owner's pid). */
static void remove_stale_dirs(void)
{
    DIR *d = opendir("/tmp");
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        long pid;
        char rest[32], p[512];
        if (sscanf(de->d_name, "dg-fuzz-spec-%ld-%31s", &pid, rest) != 2 || pid <= 0 ||
            pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        static const char *const names[] = {"openapi", "common.yaml", "defs.json"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            snprintf(p, sizeof p, "/tmp/%s/%s", de->d_name, names[i]);
            unlink(p);
        }
        snprintf(p, sizeof p, "/tmp/%s", de->d_name);
        rmdir(p);
    }
    closedir(d);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    remove_stale_dirs();
    char tmpl[64];
    snprintf(tmpl, sizeof tmpl, "/tmp/dg-fuzz-spec-%ld-XXXXXX", (long)getpid());
    CHECK(mkdtemp(tmpl) != NULL);
    char rp[PATH_MAX];
    CHECK(realpath(tmpl, rp) != NULL && strlen(rp) < sizeof g_dir);
    snprintf(g_dir, sizeof g_dir, "%s", rp);
    snprintf(g_spec_path, sizeof g_spec_path, "%s/openapi", g_dir);
    snprintf(g_map_to, sizeof g_map_to, "%s/", g_dir);
    write_file("common.yaml", common_yaml, strlen(common_yaml));
    write_file("defs.json", defs_json, strlen(defs_json));
    atexit(cleanup);
    /* a path that does not exist: a located I/O error */
    dg_spec *s = NULL;
    dg_error err;
    memset(&err, 0, sizeof err);
    CHECK(dg_spec_load("/nonexistent/dg-fuzz/openapi.yaml", NULL, &s, &err) == DG_EIO && !s);
    return 0;
}

/* ---- validation of bodies ------------------------------------------------------- */

typedef struct verdict {
    int valid;
    size_t total;
    int perr;
} verdict;

static void take(const dg_result *r, verdict *out)
{
    CHECK(r->valid == (r->total == 0));
    CHECK(r->truncated == (r->total > r->count));
    for (size_t i = 0; i < r->count; i++) {
        CHECK((unsigned)r->v[i].kind < DG_KIND_COUNT);
        CHECK(r->v[i].instance_pointer && r->v[i].schema_pointer && r->v[i].message);
    }
    out->valid = r->valid;
    out->total = r->total;
    out->perr = r->parse_error.code;
}

static void stream(dg_validator *v, int id, const char *body, size_t n, size_t chunk, verdict *out)
{
    dg_result r;
    CHECK(dg_validator_begin(v, id) == 0);
    size_t off = 0;
    int rc = 0;
    do {
        size_t c = chunk && chunk < n - off ? chunk : n - off;
        char *piece = malloc(c ? c : 1);
        CHECK(piece);
        memcpy(piece, body + off, c);
        rc = dg_validator_feed(v, piece, c);
        free(piece);
        off += c;
    } while (!rc && off < n);
    CHECK(dg_validator_finish(v, &r) == 0);
    take(&r, out);
}

/* Body checked three ways; they must agree. */
static void check_body(dg_validator *v, int id, const char *body, size_t n)
{
    verdict whole, chunked, tree;
    stream(v, id, body, n, 0, &whole);
    stream(v, id, body, n, 3, &chunked);
    CHECK(whole.valid == chunked.valid && whole.total == chunked.total && whole.perr == chunked.perr);
    dg_doc *doc = NULL;
    dg_error err;
    if (dg_doc_load_buffer("body.json", body, n, DG_DOC_JSON, &doc, &err) == 0) {
        dg_result r;
        CHECK(whole.perr == 0 || whole.perr == DG_ELIMIT);
        if (whole.perr == 0) {
            CHECK(dg_validator_tree(v, id, dg_doc_root(doc), doc, &r) == 0);
            take(&r, &tree);
            CHECK(tree.valid == whole.valid && tree.total == whole.total);
        }
        dg_doc_free(doc);
    }
}

static const char *const g_bodies[] = {
    "{}", "[]", "null", "\"x\"", "1.5", "-7", "true",
    "{\"id\":1,\"name\":\"Rex\",\"tag\":null,\"petType\":\"Cat\",\"code\":404,\"message\":\"m\"}",
    "[{\"id\":-1,\"name\":\"\"},{\"id\":\"2\"}]",
    "{\"code\":1,\"message\":\"m\",\"detail\":{\"cause\":{\"cause\":null},\"where\":{\"line\":0}}}",
    "{\"id\":1,",
};

static void validate_schema(const dg_spec *s, int id, const dg_resp_match *m)
{
    dg_validate_opts o;
    dg_validate_opts_default(&o);
    o.max_errors = 1000;
    dg_validator *v = dg_validator_new(dg_spec_schemas(s), &o);
    CHECK(v);
    for (size_t i = 0; i < sizeof g_bodies / sizeof g_bodies[0]; i++)
        check_body(v, id, g_bodies[i], strlen(g_bodies[i]));
    /* the documented example, if any: it often is (meant to be) valid */
    json_t *media = NULL;
    if (m->response && m->media_key[0])
        media = json_object_get(json_object_get(m->response, "content"), m->media_key);
    json_t *ex = media ? json_object_get(media, "example") : NULL;
    if (!ex && m->schema)
        ex = json_object_get(m->schema, "example");
    if (ex) {
        char *txt = json_dumps(ex, JSON_ENCODE_ANY | JSON_COMPACT);
        if (txt) {
            check_body(v, id, txt, strlen(txt));
            free(txt);
        }
    }
    dg_validator_free(v);
}

/* ---- router --------------------------------------------------------------------- */

typedef struct ctx {
    const dg_spec *s;
    const dg_router *r;
    const uint8_t *data;
    size_t size;
    int ids[MAX_SCHEMAS];
    size_t n_ids;
} ctx;

static void match(ctx *c, const char *method, const char *path, size_t len)
{
    const dg_route_op *m = dg_router_match(c->r, method, path, len);
    if (!m)
        return;
    CHECK(m->index >= 0 && (size_t)m->index < dg_router_count(c->r));
    CHECK(dg_router_get(c->r, (size_t)m->index) == m);
    CHECK(strcasecmp(m->method, method) == 0);
}

/* Template with every {var} replaced by fill. */
static void instantiate(dg_buf *b, const char *base, const char *tmpl, const char *fill)
{
    dg_buf_reset(b);
    dg_buf_append(b, base, strlen(base));
    for (const char *p = tmpl; *p; p++) {
        const char *e;
        if (*p == '{' && (e = strchr(p, '}')) != NULL) {
            dg_buf_append(b, fill, strlen(fill));
            p = e;
        } else {
            dg_buf_putc(b, *p);
        }
    }
    if (!b->data)
        dg_buf_append(b, "", 0);
}

/* Base paths the router strips: servers[].url path parts, basePath, "". */
static size_t collect_bases(json_t *root, char bases[][128], size_t max)
{
    size_t n = 0;
    snprintf(bases[n++], 128, "%s", "");
    json_t *bp = json_object_get(root, "basePath");
    if (json_is_string(bp) && n < max)
        snprintf(bases[n++], 128, "%s", json_string_value(bp));
    json_t *servers = json_object_get(root, "servers");
    size_t i;
    json_t *sv;
    json_array_foreach(servers, i, sv) {
        const char *url = json_string_value(json_object_get(sv, "url"));
        if (!url || n >= max)
            continue;
        const char *p = strstr(url, "://");
        p = p ? strchr(p + 3, '/') : url;
        snprintf(bases[n++], 128, "%s", p ? p : "");
        size_t l = strlen(bases[n - 1]);
        if (l && bases[n - 1][l - 1] == '/')
            bases[n - 1][l - 1] = '\0';
    }
    return n;
}

static void exercise_targets(ctx *c, const dg_route_op *op)
{
    static const int statuses[] = {200, 201, 204, 301, 404, 422, 500, 599, 100, 0, -1, 1000};
    static const char *const cts[] = {
        NULL, "application/json", "application/problem+json; charset=utf-8", "text/plain",
        "APPLICATION/JSON;q=1", "*/*", "application/x-ndjson", "", "application/xml",
        "text/html; charset=\"utf-8\""};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        for (size_t k = 0; k < sizeof cts / sizeof cts[0]; k++) {
            dg_spec_target t;
            dg_error err;
            memset(&err, 0, sizeof err);
            int rc = dg_spec_target_for(c->s, op, statuses[i], cts[k], (int)(k & 1), &t, &err);
            if (rc) {
                CHECK(rc < 0 && memchr(err.msg, '\0', sizeof err.msg));
                continue;
            }
            CHECK(memchr(t.message, '\0', sizeof t.message));
            CHECK(memchr(t.match.status_key, '\0', sizeof t.match.status_key));
            CHECK(memchr(t.match.media_key, '\0', sizeof t.match.media_key));
            if (t.match.result == DG_RESP_SCHEMA) {
                CHECK(t.schema_id >= 0 && (size_t)t.schema_id < dg_schemaset_node_count(dg_spec_schemas(c->s)));
            } else {
                CHECK(t.schema_id == -1);
            }
            if (t.schema_id < 0 || c->n_ids >= MAX_SCHEMAS)
                continue;
            int seen = 0;
            for (size_t j = 0; j < c->n_ids; j++)
                seen |= c->ids[j] == t.schema_id;
            if (seen)
                continue;
            c->ids[c->n_ids++] = t.schema_id;
            validate_schema(c->s, t.schema_id, &t.match);
        }
    }
}

static void exercise(const dg_spec *s, const uint8_t *data, size_t size, json_t *root)
{
    ctx c = {s, dg_spec_router(s), data, size, {0}, 0};
    CHECK(c.r);
    CHECK(dg_spec_version(s) && dg_spec_hash(s) && strlen(dg_spec_hash(s)) == 64);
    dg_dialect d = dg_spec_dialect(s);
    CHECK(d == DG_DIALECT_OAS30 || d == DG_DIALECT_OAS31 || d == DG_DIALECT_SWAGGER2);
    for (size_t i = 0; i < dg_spec_lint_count(s); i++) {
        const dg_lint_item *it = dg_spec_lint_get(s, i);
        CHECK(it);
        CHECK(memchr(it->where, '\0', sizeof it->where) && memchr(it->pointer, '\0', sizeof it->pointer) &&
              memchr(it->message, '\0', sizeof it->message));
    }

    char bases[6][128];
    size_t nb = root ? collect_bases(root, bases, 6) : (snprintf(bases[0], 128, "%s", ""), 1);
    size_t n = dg_router_count(c.r);
    dg_buf p = DG_BUF_INIT;
    for (size_t i = 0; i < n && i < MAX_OPS; i++) {
        const dg_route_op *op = dg_router_get(c.r, i);
        CHECK(op && op->index == (int)i);
        CHECK(op->label && op->method && op->path_template && op->pointer);
        if (op->operation_id) {
            const dg_route_op *f = dg_router_find_operation_id(c.r, op->operation_id);
            CHECK(f && f->operation_id && strcmp(f->operation_id, op->operation_id) == 0);
        }
        static const char *const fills[] = {"x1", "42", "a%2Fb", "%E2%82%AC", "", "{id}"};
        for (size_t b = 0; b < nb; b++) {
            for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++) {
                instantiate(&p, bases[b], op->path_template, fills[f]);
                match(&c, op->method, p.data, p.len);
            }
            instantiate(&p, bases[b], op->path_template, "v");
            dg_buf_append(&p, "?q=1&r=%2F", 10);
            match(&c, "get", p.data, p.len);
            instantiate(&p, bases[b], op->path_template, "v");
            dg_buf_putc(&p, '/');
            match(&c, op->method, p.data, p.len);
        }
        exercise_targets(&c, op);
    }
    /* slices of the input as paths */
    static const char *const methods[] = {"GET", "post", "Delete", "PATCH", "QUERY"};
    for (size_t k = 0; k < 4 && size; k++) {
        size_t off = (size * (k + 1) * 2654435761u >> 8) % size;
        size_t len = size - off < 64 ? size - off : 64;
        dg_buf_reset(&p);
        dg_buf_putc(&p, '/');
        dg_buf_append(&p, (const char *)data + off, len);
        match(&c, methods[k % 5], p.data, p.len);
        match(&c, methods[(k + 1) % 5], p.data + 1, p.len - 1);
        /* media type helpers on the same bytes (NUL-terminated by dg_buf) */
        (void)dg_media_is_json(p.data + 1);
        (void)dg_media_is_json_seq(p.data + 1);
    }
    match(&c, "GET", "", 0);
    match(&c, "GET", "/", 1);
    match(&c, "GET", "//", 2);
    match(&c, "GET", "/%", 2);
    match(&c, "GET", "?", 1);
    dg_buf_free(&p);
}

/* ---- entry point ------------------------------------------------------------------ */

static int load(int lint, dg_spec **out, dg_error *err)
{
    static const char *map[2];
    map[0] = "https://fuzz.driftgate.test/ref/";
    map[1] = g_map_to;
    dg_spec_opts o = {map, 1, -1, lint};
    memset(err, 0, sizeof *err);
    g_sandboxed = 1;
    int rc = dg_spec_load(g_spec_path, &o, out, err);
    g_sandboxed = 0;
    if (rc) {
        CHECK(rc < 0 && *out == NULL);
        CHECK(err->code == rc);
        CHECK(memchr(err->msg, '\0', sizeof err->msg) && err->msg[0]);
        CHECK(memchr(err->file, '\0', sizeof err->file) && memchr(err->pointer, '\0', sizeof err->pointer));
    } else {
        CHECK(*out != NULL);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_file("openapi", (const char *)data, size);

    dg_doc *doc = NULL;
    dg_error derr;
    json_t *root = NULL;
    if (dg_doc_load_buffer("openapi", (const char *)data, size, DG_DOC_AUTO, &doc, &derr) == 0)
        root = dg_doc_root(doc);

    dg_spec *ls = NULL, *ns = NULL;
    dg_error lerr, nerr;
    int lrc = load(1, &ls, &lerr);
    int nrc = load(0, &ns, &nerr);
    if (getenv("DG_FUZZ_VERBOSE")) {
        /* triage aid: what each mode made of the input */
        char m[1200];
        fprintf(stderr, "-- lint: %s", lrc ? dg_error_format(&lerr, m, sizeof m) : "ok");
        if (ls)
            fprintf(stderr, " (%zu operations, %zu schemas, %zu lint items)",
                    dg_router_count(dg_spec_router(ls)), dg_spec_schema_count(ls), dg_spec_lint_count(ls));
        fprintf(stderr, "\n-- normal: %s\n", nrc ? dg_error_format(&nerr, m, sizeof m) : "ok");
        for (size_t i = 0; ls && i < dg_spec_lint_count(ls); i++)
            fprintf(stderr, "   lint: %s %s %s\n", dg_spec_lint_get(ls, i)->where,
                    dg_spec_lint_get(ls, i)->pointer, dg_spec_lint_get(ls, i)->message);
    }
    if (nrc == 0) {
        /* lint mode only ever keeps going where normal mode stops */
        CHECK(lrc == 0);
        CHECK(dg_router_count(dg_spec_router(ls)) == dg_router_count(dg_spec_router(ns)));
        CHECK(dg_spec_schema_count(ls) == dg_spec_schema_count(ns));
        CHECK(strcmp(dg_spec_hash(ls), dg_spec_hash(ns)) == 0);
    }
    if (ls)
        exercise(ls, data, size, root);
    if (ns)
        exercise(ns, data, size, root);
    dg_spec_free(ls);
    dg_spec_free(ns);
    dg_doc_free(doc);

    char p[192];
    snprintf(p, sizeof p, "%s/openapi", g_dir);
    unlink(p);
    return 0;
}
