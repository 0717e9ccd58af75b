/* tests/conformance/conformance.c: runs the JSON-Schema-Test-Suite (draft4
 * and draft2020-12) through both event sources: the jansson tree walker and
 * the streaming tokenizer with three seeded random chunkings per case.
 * Prints exact pass/fail/skip counts per draft and category; every skip is
 * listed with its reason (from skips.txt). Exit 1 when a required test
 * fails, or when a skip entry matches nothing (stale list). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "validate/doc.h"
#include "validate/validate.h"

typedef struct skip {
    char *key;      /* "draft/file|group|test" with '*' for any test */
    char *reason;
    int used;
} skip;

static skip *skips;
static size_t nskips;
static int verbose;

static void load_skips(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        char *r = strstr(line, " -- ");
        if (!r)
            continue;
        *r = 0;
        skips = realloc(skips, (nskips + 1) * sizeof *skips);
        skips[nskips].key = strdup(line);
        skips[nskips].reason = strdup(r + 4);
        skips[nskips].used = 0;
        nskips++;
    }
    fclose(f);
}

static const char *find_skip(const char *file, const char *group, const char *test)
{
    char k1[4096], k2[4096], k3[4096];
    snprintf(k1, sizeof k1, "%s|%s|%s", file, group, test);
    snprintf(k2, sizeof k2, "%s|%s|*", file, group);
    snprintf(k3, sizeof k3, "%s|*|*", file);
    for (size_t i = 0; i < nskips; i++)
        if (!strcmp(skips[i].key, k1) || !strcmp(skips[i].key, k2) || !strcmp(skips[i].key, k3)) {
            skips[i].used = 1;
            return skips[i].reason;
        }
    return NULL;
}

/* Serialises with the document's exact number text. */
static void dump(const json_t *j, const dg_doc *doc, dg_buf *b)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *k;
        size_t kl;
        json_t *v;
        void *t;
        int first = 1;
        dg_buf_putc(b, '{');
        json_object_keylen_foreach_safe((json_t *)j, t, k, kl, v) {
            if (!first)
                dg_buf_putc(b, ',');
            first = 0;
            dg_buf_putc(b, '"');
            dg_buf_append_json_str(b, k, kl);
            dg_buf_append(b, "\":", 2);
            dump(v, doc, b);
        }
        dg_buf_putc(b, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *v;
        dg_buf_putc(b, '[');
        json_array_foreach(j, i, v) {
            if (i)
                dg_buf_putc(b, ',');
            dump(v, doc, b);
        }
        dg_buf_putc(b, ']');
        break;
    }
    case JSON_STRING:
        dg_buf_putc(b, '"');
        dg_buf_append_json_str(b, json_string_value(j), json_string_length(j));
        dg_buf_putc(b, '"');
        break;
    case JSON_INTEGER: dg_buf_printf(b, "%lld", (long long)json_integer_value(j)); break;
    case JSON_REAL: {
        const char *t = dg_doc_number_text(doc, j);
        if (t)
            dg_buf_append(b, t, strlen(t));
        else
            dg_buf_printf(b, "%.17g", json_real_value(j));
        break;
    }
    case JSON_TRUE: dg_buf_append(b, "true", 4); break;
    case JSON_FALSE: dg_buf_append(b, "false", 5); break;
    case JSON_NULL: dg_buf_append(b, "null", 4); break;
    }
}

typedef struct counts { int pass, fail, skip; } counts;

static unsigned long long rng_state;
static unsigned rnd(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(rng_state >> 33);
}

static const char *remotes_dir;

static int run_file(const char *suite_dir, const char *draft, const char *rel, dg_dialect d,
                    int assert_formats, counts *c, int *stream_mismatch)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/tests/%s/%s", suite_dir, draft, rel);
    dg_doc *doc = NULL;
    dg_error err;
    if (dg_doc_load_file(path, DG_DOC_JSON, &doc, &err)) {
        char m[1024];
        fprintf(stderr, "conformance: cannot load %s\n", dg_error_format(&err, m, sizeof m));
        c->fail++;
        return -1;
    }
    char fkey[1600];
    snprintf(fkey, sizeof fkey, "%s/%s", draft, rel);
    json_t *groups = dg_doc_root(doc);
    size_t gi;
    json_t *g;
    json_array_foreach(groups, gi, g) {
        const char *gdesc = json_string_value(json_object_get(g, "description"));
        json_t *schema = json_object_get(g, "schema");
        json_t *tests = json_object_get(g, "tests");
        dg_compile_opts co = {d, assert_formats};
        dg_schemaset *set = dg_schemaset_new(&co);
        char remote[2048];
        snprintf(remote, sizeof remote, "%s/", remotes_dir);
        dg_schemaset_map(set, "http://localhost:1234/", remote, NULL);
        /* the suite's metaschemas, vendored under tests/conformance/metaschemas */
        dg_schemaset_map(set, "https://json-schema.org/draft/2020-12/",
                         "tests/conformance/metaschemas/draft2020-12/", NULL);
        dg_schemaset_map(set, "http://json-schema.org/draft-04/schema",
                         "tests/conformance/metaschemas/draft-04/schema", NULL);
        int id = -1;
        int crc = dg_schemaset_add_root(set, doc, schema, "urn:driftgate:conformance-root", 1, &err);
        if (!crc)
            crc = dg_schemaset_compile(set, schema, d, &id, &err);
        size_t ti;
        json_t *t;
        json_array_foreach(tests, ti, t) {
            const char *tdesc = json_string_value(json_object_get(t, "description"));
            int expect = json_is_true(json_object_get(t, "valid"));
            const char *why = find_skip(fkey, gdesc, tdesc);
            if (why) {
                c->skip++;
                continue;
            }
            if (crc) {
                char m[1024];
                c->fail++;
                printf("FAIL %s | %s | %s: schema did not compile: %s\n", fkey, gdesc, tdesc,
                       dg_error_format(&err, m, sizeof m));
                continue;
            }
            json_t *data = json_object_get(t, "data");
            dg_validate_opts vo;
            dg_validate_opts_default(&vo);
            dg_validator *v = dg_validator_new(set, &vo);
            dg_result r;
            int ok = 1;
            int tree_valid = -1;
            if (dg_validator_tree(v, id, data, doc, &r) == 0)
                tree_valid = r.valid;
            if (tree_valid != expect)
                ok = 0;
            /* streaming: whole and three random chunkings */
            dg_buf text = DG_BUF_INIT;
            dump(data, doc, &text);
            for (int round = 0; round < 4; round++) {
                dg_validator_begin(v, id);
                size_t off = 0;
                while (off < text.len) {
                    size_t n = round == 0 ? text.len : 1 + rnd() % 7;
                    if (n > text.len - off)
                        n = text.len - off;
                    dg_validator_feed(v, text.data + off, n);
                    off += n;
                }
                int sv = -1;
                if (dg_validator_finish(v, &r) == 0)
                    sv = r.valid && !r.parse_error.code;
                if (sv != tree_valid) {
                    (*stream_mismatch)++;
                    ok = 0;
                    printf("MISMATCH %s | %s | %s: tree=%d stream(round %d)=%d\n", fkey, gdesc,
                           tdesc, tree_valid, round, sv);
                }
            }
            dg_buf_free(&text);
            if (ok) {
                c->pass++;
            } else {
                c->fail++;
                printf("FAIL %s | %s | %s: expected %s\n", fkey, gdesc, tdesc,
                       expect ? "valid" : "invalid");
                if (verbose && tree_valid == 0) {
                    dg_validator_tree(v, id, data, doc, &r);
                    for (size_t k = 0; k < r.count; k++)
                        printf("    %s %s %s: %s\n", dg_kind_name(r.v[k].kind),
                               r.v[k].instance_pointer, r.v[k].schema_pointer, r.v[k].message);
                }
            }
            dg_validator_free(v);
        }
        dg_schemaset_free(set);
    }
    dg_doc_free(doc);
    return 0;
}

static int cmpstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_json(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int n = 0;
    *out = NULL;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".json")) {
            *out = realloc(*out, (size_t)(n + 1) * sizeof **out);
            (*out)[n++] = strdup(e->d_name);
        }
    }
    closedir(d);
    qsort(*out, (size_t)n, sizeof **out, cmpstr);
    return n;
}

static int run_dir(const char *suite, const char *draft, const char *sub, dg_dialect d,
                   int assert_formats, const char *label, int *mism)
{
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/tests/%s/%s", suite, draft, sub);
    char **files = NULL;
    int n = list_json(dir, &files);
    counts c = {0, 0, 0};
    for (int i = 0; i < n; i++) {
        char rel[1024];
        snprintf(rel, sizeof rel, "%s%s", sub, files[i]);
        run_file(suite, draft, rel, d, assert_formats, &c, mism);
        free(files[i]);
    }
    free(files);
    printf("%-10s %-22s pass %4d  fail %3d  skip %3d\n", draft, label, c.pass, c.fail, c.skip);
    return c.fail;
}

int main(int argc, char **argv)
{
    const char *suite = "../shared/testdata/JSON-Schema-Test-Suite";
    const char *skipf = "tests/conformance/skips.txt";
    unsigned long long seed = (unsigned long long)time(NULL);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--suite") && i + 1 < argc) suite = argv[++i];
        else if (!strcmp(argv[i], "--skips") && i + 1 < argc) skipf = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-v")) verbose = 1;
    }
    rng_state = seed;
    printf("conformance: JSON-Schema-Test-Suite at %s, chunking seed %llu (rerun with --seed %llu)\n",
           suite, seed, seed);
    static char rd[2048];
    snprintf(rd, sizeof rd, "%s/remotes", suite);
    remotes_dir = rd;
    load_skips(skipf);
    int mism = 0, required_fail = 0, optional_fail = 0;
    required_fail += run_dir(suite, "draft4", "", DG_DIALECT_DRAFT4, -1, "required", &mism);
    optional_fail += run_dir(suite, "draft4", "optional/format/", DG_DIALECT_DRAFT4, 1, "optional/format", &mism);
    optional_fail += run_dir(suite, "draft4", "optional/", DG_DIALECT_DRAFT4, 1, "optional (other)", &mism);
    required_fail += run_dir(suite, "draft2020-12", "", DG_DIALECT_2020_12, -1, "required", &mism);
    optional_fail += run_dir(suite, "draft2020-12", "optional/format/", DG_DIALECT_2020_12, 1, "optional/format", &mism);
    optional_fail += run_dir(suite, "draft2020-12", "optional/", DG_DIALECT_2020_12, -1, "optional (other)", &mism);
    printf("stream/tree mismatches: %d\n", mism);
    printf("skips (%zu):\n", nskips);
    int stale = 0;
    for (size_t i = 0; i < nskips; i++) {
        printf("  %s -- %s%s\n", skips[i].key, skips[i].reason, skips[i].used ? "" : "  [STALE: matched nothing]");
        stale += !skips[i].used;
    }
    int rc = required_fail || optional_fail || mism || stale;
    printf("conformance: %s\n", rc ? "FAILED" : "ok");
    return rc ? 1 : 0;
}
