/* bench/bench.c: driftgate's validator throughput on the benchmark cases.
 *
 *   bench [-t SECONDS] [-n MAX_ITERS] [-k CHUNK] [-c CASE] SPEC CASES DATADIR
 *
 * Loads the OpenAPI description once (as the proxy does at start), then for
 * each case of CASES (bench/cases.txt) finds the 200 application/json schema
 * of its operation, checks that its body (DATADIR/FILE) is valid and that
 * every listed mutation of it is invalid, and then validates the body again
 * and again, fed in CHUNK-byte pieces (default 64 KiB, the proxy's read
 * size) through dg_validator_begin/feed/finish.
 *
 * Timing: a short warm-up, then 10 rounds of SECONDS/10 (default 2 s per
 * case) or MAX_ITERS/10 validations, whichever ends first. Reported: MB/s
 * (10^6 input bytes per second) of the best round by wall time
 * (CLOCK_MONOTONIC), ns per validation in that round, MB/s of the best round
 * by process CPU time, and MB/s of the median round by wall time. The
 * machine may be shared; the best round is the least disturbed one.
 * ajv_bench.js measures the Node peer the same way.
 *
 * Output: human lines, plus machine lines that run.sh reads:
 *   CHECK driftgate CASE INDEX valid|invalid WHAT   (INDEX 0: the body, k: mutation k)
 *   RESULT driftgate CASE BYTES MB_S NS_PER_OP ITERS CPU_MB_S MEDIAN_MB_S
 * Exit 1 when a valid body is rejected or a mutated body accepted. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "validate/spec.h"

#define MAX_CASES 32
#define MAX_MUTATIONS 64
#define ROUNDS 10

typedef struct mutation {
    int last;              /* 0: first occurrence of needle, 1: last */
    char *needle, *repl, *what;
} mutation;

typedef struct bench_case {
    char *name, *op, *file;
    mutation mut[MAX_MUTATIONS];
    int n_mut;
} bench_case;

typedef struct opts {
    double seconds;
    long max_iters;
    size_t chunk;
    const char *only;
} opts;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("driftgate: FAIL: ", stdout);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    exit(1);
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        die("out of memory");
    return d;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("%s: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    for (;;) {
        if (!p)
            die("out of memory");
        n += fread(p + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap > ((size_t)-1) / 2)
            die("%s: too large", path);
        cap *= 2;
        p = realloc(p, cap);
    }
    if (ferror(f))
        die("%s: read error", path);
    fclose(f);
    *len = n;
    return p;
}

/* Parses the cases file (grammar in bench/cases.txt). Fields are separated
 * by blanks; a mutation's WHAT is the rest of the line. */
static int parse_cases(const char *path, bench_case *cs)
{
    size_t len;
    char *text = read_file(path, &len);
    int n = 0, lineno = 0;
    char *buf = realloc(text, len + 1);
    if (!buf)
        die("out of memory");
    buf[len] = 0;
    for (char *line = buf, *next; line; line = next) {
        char *f[5], *rest = NULL;
        int nf = 0;
        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = 0;
        line[strcspn(line, "\r")] = 0;
        /* up to 5 blank-separated fields; what follows the 5th is WHAT */
        for (char *q = line;;) {
            q += strspn(q, " \t");
            if (!*q)
                break;
            if (nf == 5) {
                rest = q;
                break;
            }
            f[nf++] = q;
            q += strcspn(q, " \t");
            if (*q)
                *q++ = 0;
        }
        for (size_t k = rest ? strlen(rest) : 0; k && (rest[k - 1] == ' ' || rest[k - 1] == '\t'); k--)
            rest[k - 1] = 0;
        if (!nf || f[0][0] == '#')
            continue;
        if (nf == 4 && !strcmp(f[0], "case")) {
            if (n == MAX_CASES)
                die("%s: too many cases", path);
            memset(&cs[n], 0, sizeof cs[n]);
            cs[n].name = xstrdup(f[1]);
            cs[n].op = xstrdup(f[2]);
            cs[n].file = xstrdup(f[3]);
            n++;
        } else if (nf == 5 && !strcmp(f[0], "mutate") && rest &&
                   (!strcmp(f[2], "first") || !strcmp(f[2], "last"))) {
            bench_case *c = NULL;
            for (int i = 0; i < n; i++)
                if (!strcmp(cs[i].name, f[1]))
                    c = &cs[i];
            if (!c)
                die("%s: mutation for unknown case %s", path, f[1]);
            if (c->n_mut == MAX_MUTATIONS)
                die("%s: too many mutations for %s", path, f[1]);
            mutation *m = &c->mut[c->n_mut++];
            m->last = !strcmp(f[2], "last");
            m->needle = xstrdup(f[3]);
            m->repl = xstrdup(f[4]);
            m->what = xstrdup(rest);
        } else {
            die("%s:%d: cannot parse this line", path, lineno);
        }
    }
    free(buf);
    return n;
}

/* Copy of p with the first/last occurrence of m's needle replaced; NULL
 * when the needle does not occur. */
static char *apply_mutation(const char *p, size_t n, const mutation *m, size_t *out_len)
{
    size_t nl = strlen(m->needle), rl = strlen(m->repl);
    const char *at = NULL;
    for (const char *s = p; (s = memmem(s, n - (size_t)(s - p), m->needle, nl)); s++) {
        at = s;
        if (!m->last)
            break;
    }
    if (!at)
        return NULL;
    size_t off = (size_t)(at - p);
    *out_len = n - nl + rl;
    char *q = malloc(*out_len);
    if (!q)
        die("out of memory");
    memcpy(q, p, off);
    memcpy(q + off, m->repl, rl);
    memcpy(q + off + rl, at + nl, n - off - nl);
    return q;
}

/* One validation, fed in chunks as the proxy would. */
static void validate_once(dg_validator *v, int id, const char *p, size_t n, size_t chunk,
                          dg_result *r)
{
    dg_validator_begin(v, id);
    for (size_t off = 0; off < n; off += chunk)
        if (dg_validator_feed(v, p + off, n - off < chunk ? n - off : chunk))
            break; /* malformed: finish reports it */
    if (dg_validator_finish(v, r))
        die("internal error in dg_validator_finish");
}

static void describe(const dg_result *r, char *out, size_t outsz)
{
    if (r->parse_error.code) {
        snprintf(out, outsz, "parse: %s", r->parse_error.msg);
        return;
    }
    if (!r->count) {
        snprintf(out, outsz, "no violation recorded");
        return;
    }
    const dg_violation *x = &r->v[0];
    snprintf(out, outsz, "%s: %s: %s", x->instance_pointer[0] ? x->instance_pointer : "/",
             dg_kind_name(x->kind), x->message);
}

static double now(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct round_t {
    double wall, cpu;
    long iters;
} round_t;

typedef struct timing {
    double best_wall, best_cpu, median_wall;  /* seconds per validation */
    long iters;                               /* validations in the best round */
} timing;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Warm-up, then ROUNDS rounds of SECONDS/ROUNDS each. The best round is what
 * the code can do; slower rounds measure whoever else used the machine
 * meanwhile (the median is kept for reference). Not inlined, so that a
 * profiler can collect inside it alone (valgrind --toggle-collect=measure,
 * see `make profile`). */
__attribute__((noinline)) static timing measure(dg_validator *v, int id, const char *p, size_t n,
                                                const opts *o)
{
    dg_result r;
    round_t rounds[ROUNDS];
    double per[ROUNDS];
    double warm = o->seconds / 10 < 0.2 ? o->seconds / 10 : 0.2;
    long round_max = o->max_iters / ROUNDS > 0 ? o->max_iters / ROUNDS : 1;
    double t0 = now(CLOCK_MONOTONIC);
    for (long i = 0; i < round_max && now(CLOCK_MONOTONIC) - t0 < warm; i++)
        validate_once(v, id, p, n, o->chunk, &r);
    for (int k = 0; k < ROUNDS; k++) {
        double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC), w = w0;
        long it = 0;
        do {
            validate_once(v, id, p, n, o->chunk, &r);
            if (!r.valid)
                die("became invalid while timing");
            it++;
            w = now(CLOCK_MONOTONIC);
        } while (w - w0 < o->seconds / ROUNDS && it < round_max);
        rounds[k].wall = w - w0;
        rounds[k].cpu = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
        rounds[k].iters = it;
    }
    timing t = {1e300, 1e300, 0, 0};
    for (int k = 0; k < ROUNDS; k++) {
        per[k] = rounds[k].wall / (double)rounds[k].iters;
        if (per[k] < t.best_wall) {
            t.best_wall = per[k];
            t.iters = rounds[k].iters;
        }
        if (rounds[k].cpu / (double)rounds[k].iters < t.best_cpu)
            t.best_cpu = rounds[k].cpu / (double)rounds[k].iters;
    }
    qsort(per, ROUNDS, sizeof per[0], cmp_double);
    t.median_wall = per[ROUNDS / 2];
    return t;
}

static void usage(void)
{
    fputs("usage: bench [-t SECONDS] [-n MAX_ITERS] [-k CHUNK] [-c CASE] SPEC CASES DATADIR\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv)
{
    opts o = {2.0, 10000000, 65536, NULL};
    const char *pos[3];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc)
            o.seconds = strtod(argv[++i], NULL);
        else if (!strcmp(argv[i], "-n") && i + 1 < argc)
            o.max_iters = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-k") && i + 1 < argc)
            o.chunk = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-c") && i + 1 < argc)
            o.only = argv[++i];
        else if (argv[i][0] == '-' || np == 3)
            usage();
        else
            pos[np++] = argv[i];
    }
    if (np != 3 || !(o.seconds > 0) || o.max_iters < 1 || !o.chunk)
        usage();
    static bench_case cs[MAX_CASES];
    int ncases = parse_cases(pos[1], cs);

    dg_spec *spec = NULL;
    dg_error err;
    char m[1400];
    dg_spec_opts so = {NULL, 0, -1, 0};
    if (dg_spec_load(pos[0], &so, &spec, &err))
        die("%s", dg_error_format(&err, m, sizeof m));
    dg_validate_opts vo;
    dg_validate_opts_default(&vo);
    dg_validator *v = dg_validator_new(dg_spec_schemas(spec), &vo);
    if (!v)
        die("out of memory");

    int failed = 0, ran = 0;
    for (int ci = 0; ci < ncases; ci++) {
        bench_case *c = &cs[ci];
        if (o.only && strcmp(o.only, c->name))
            continue;
        ran++;
        const dg_route_op *op = dg_router_find_operation_id(dg_spec_router(spec), c->op);
        if (!op)
            die("%s: no operation with operationId %s", pos[0], c->op);
        dg_spec_target tgt;
        if (dg_spec_target_for(spec, op, 200, "application/json", 1, &tgt, &err))
            die("%s", dg_error_format(&err, m, sizeof m));
        if (tgt.finding || tgt.schema_id < 0)
            die("%s: the 200 application/json response of %s has no schema", pos[0], c->op);

        char path[4096];
        size_t n;
        snprintf(path, sizeof path, "%s/%s", pos[2], c->file);
        char *body = read_file(path, &n);
        dg_result r;
        validate_once(v, tgt.schema_id, body, n, o.chunk, &r);
        printf("CHECK driftgate %s 0 %s the body as generated\n", c->name,
               r.valid ? "valid" : "invalid");
        if (!r.valid) {
            describe(&r, m, sizeof m);
            die("%s: %s is valid but driftgate says invalid: %s", c->name, path, m);
        }
        for (int k = 0; k < c->n_mut; k++) {
            size_t bn;
            char *bad = apply_mutation(body, n, &c->mut[k], &bn);
            if (!bad)
                die("%s: mutation \"%s\": %s not found in %s", c->name, c->mut[k].what,
                    c->mut[k].needle, path);
            validate_once(v, tgt.schema_id, bad, bn, o.chunk, &r);
            printf("CHECK driftgate %s %d %s %s\n", c->name, k + 1, r.valid ? "valid" : "invalid",
                   c->mut[k].what);
            if (r.valid) {
                printf("driftgate: FAIL: %s: mutated (%s) but driftgate says valid\n", c->name,
                       c->mut[k].what);
                failed = 1;
            } else {
                describe(&r, m, sizeof m);
                printf("driftgate: %s: invalid as expected (%s): %s\n", c->name, c->mut[k].what, m);
            }
            free(bad);
        }
        fflush(stdout);

        timing tm = measure(v, tgt.schema_id, body, n, &o);
        printf("RESULT driftgate %s %zu %.1f %.0f %ld %.1f %.1f\n", c->name, n,
               (double)n / tm.best_wall / 1e6, tm.best_wall * 1e9, tm.iters,
               (double)n / tm.best_cpu / 1e6, (double)n / tm.median_wall / 1e6);
        fflush(stdout);
        free(body);
    }
    if (o.only && !ran)
        die("no case named %s", o.only);
    dg_validator_free(v);
    dg_spec_free(spec);
    for (int i = 0; i < ncases; i++) {
        for (int k = 0; k < cs[i].n_mut; k++) {
            free(cs[i].mut[k].needle);
            free(cs[i].mut[k].repl);
            free(cs[i].mut[k].what);
        }
        free(cs[i].name);
        free(cs[i].op);
        free(cs[i].file);
    }
    return failed;
}
