/* bench/tokenizer_bench.c: throughput of the streaming tokenizer alone.
 *
 * Generates a ~1 MB "typical API" document (an array of objects with short
 * keys, strings, integers, booleans, a null, a small nested array and
 * object), feeds it in 64 KiB chunks to a tokenizer whose sink does nothing,
 * and prints MB/s (10^6 bytes/s) of the best and the median pass.
 *
 *   cc -std=c11 -D_GNU_SOURCE -O2 -I. bench/tokenizer_bench.c \
 *      validate/tokenizer.c common/error.c -o /tmp/tokbench && /tmp/tokbench
 *
 * Options: -p also runs a pretty-printed (indented) variant; -c N chunk size. */
#include "validate/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct gen {
    char *p;
    size_t len, cap;
} gen;

static void put(gen *g, const char *s)
{
    size_t n = strlen(s);
    if (g->len + n + 1 > g->cap) {
        g->cap = (g->len + n + 1) * 2;
        g->p = realloc(g->p, g->cap);
        if (!g->p) {
            perror("realloc");
            exit(1);
        }
    }
    memcpy(g->p + g->len, s, n + 1);
    g->len += n;
}

/* Newline + indentation when pretty, nothing otherwise. */
static void nl(gen *g, int pretty, int level)
{
    if (!pretty)
        return;
    put(g, "\n");
    for (int i = 0; i < level; i++)
        put(g, "  ");
}

static void generate(gen *g, size_t target, int pretty)
{
    static const char *const names[] = {"Alice Smith", "Bob Jones", "Carol White",
                                        "Dave Brown", "Eve Black", "Frank Green"};
    static const char *const cities[] = {"Paris", "Berlin", "New York", "Tokyo", "Lagos"};
    const char *colon = pretty ? ": " : ":";
    char tmp[256];
    unsigned long long seed = 42;
    put(g, "[");
    for (int i = 0; g->len < target; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        unsigned r = (unsigned)(seed >> 33);
        if (i)
            put(g, ",");
        nl(g, pretty, 1);
        put(g, "{");
#define FIELD(first, k, fmt, ...)                                                   \
        do {                                                                        \
            if (!(first))                                                           \
                put(g, ",");                                                        \
            nl(g, pretty, 2);                                                       \
            snprintf(tmp, sizeof tmp, "\"%s\"%s" fmt, k, colon, __VA_ARGS__);       \
            put(g, tmp);                                                            \
        } while (0)
        FIELD(1, "id", "%d", 100000 + i);
        FIELD(0, "name", "\"%s\"", names[r % 6]);
        FIELD(0, "email", "\"user%d@example.com\"", i);
        FIELD(0, "age", "%u", 18 + r % 60);
        FIELD(0, "active", "%s", r & 1 ? "true" : "false");
        FIELD(0, "score", "%u.%02u", r % 1000, r % 100);
        FIELD(0, "city", "\"%s\"", cities[r % 5]);
        FIELD(0, "manager", "%s", "null");
        FIELD(0, "tags", "[\"t%u\",\"t%u\",\"t%u\"]", r % 7, r % 11, r % 13);
        FIELD(0, "address", "{\"zip\":\"%05u\",\"street\":\"%u Main Street\"}", r % 99999, r % 500);
        FIELD(0, "created_at", "\"2024-%02u-%02uT12:34:56Z\"", 1 + r % 12, 1 + r % 28);
#undef FIELD
        nl(g, pretty, 1);
        put(g, "}");
    }
    nl(g, pretty, 0);
    put(g, "]");
}

static int count_sink(void *ctx, dg_json_ev ev, const dg_json_token *tok)
{
    (void)ev, (void)tok;
    (void)ctx;
    return 0;
}

/* CPU time of this thread: the machine may be shared (other builds, other
 * tenants), and wall time would measure their load rather than this code. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Times single passes over the document (each about a millisecond) for
 * about two CPU seconds and reports the best and the median pass. */
static void bench(const char *label, const char *doc, size_t len, size_t chunk)
{
    enum { MAXPASS = 100000 };
    static double pass[MAXPASS];
    dg_json_tok *t = dg_json_tok_new(NULL, count_sink, NULL);
    dg_error err;
    size_t np = 0;
    if (!t) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    double start = now();
    while (np < MAXPASS && now() - start < 2.0) {
        double t0 = now();
        dg_json_tok_reset(t);
        for (size_t off = 0; off < len; off += chunk) {
            size_t n = len - off < chunk ? len - off : chunk;
            if (dg_json_feed(t, doc + off, n, &err)) {
                fprintf(stderr, "%s: %s\n", label, err.msg);
                exit(1);
            }
        }
        if (dg_json_finish(t, &err)) {
            fprintf(stderr, "%s: %s\n", label, err.msg);
            exit(1);
        }
        pass[np++] = now() - t0;
    }
    qsort(pass, np, sizeof pass[0], cmp_double);
    printf("%-8s %8zu bytes, %6zu-byte chunks, %5zu passes: best %5.0f MB/s, median %5.0f MB/s\n",
           label, len, chunk, np, (double)len / pass[0] / 1e6, (double)len / pass[np / 2] / 1e6);
    dg_json_tok_free(t);
}

int main(int argc, char **argv)
{
    size_t chunk = 64 * 1024;
    int pretty = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-p"))
            pretty = 1;
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            chunk = (size_t)strtoul(argv[++i], NULL, 10);
    }
    if (!chunk)
        chunk = 1;
    gen g = {0};
    generate(&g, 1 << 20, 0);
    bench("compact", g.p, g.len, chunk);
    if (pretty) {
        gen gp = {0};
        generate(&gp, 1 << 20, 1);
        bench("pretty", gp.p, gp.len, chunk);
        free(gp.p);
    }
    free(g.p);
    return 0;
}
