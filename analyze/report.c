/* analyze/report.c: `driftgate report`: gathers each scope's report model
 * from the store (drifts of the window, explanations, the previous report's
 * list, spec locations), has it rendered (report_json.c, report_md.c,
 * report_html.c), writes the files, an index per format, and records what
 * each report listed so that the next one can say new / recurring /
 * resolved.
 *
 * Files are written to a temporary name in out_dir and renamed, so a reader
 * (a web server publishing the directory) never sees half a report. A
 * scope's list is saved only after its files are written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze/report_internal.h"

#ifndef DG_VERSION
#define DG_VERSION "dev"
#endif

#define GENERATOR "driftgate " DG_VERSION
#define BASE_MAX 200

void dg_report_summary_clear(dg_report_summary *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_files; i++)
        free(s->files[i]);
    free(s->files);
    memset(s, 0, sizeof *s);
}

/* ---- scopes and file names ---- */

typedef struct scope_def {
    char *id;                 /* "api:petstore", "owner:payments" */
    const char *type;         /* "api" | "owner" */
    char *name;
    const char *filter_api;   /* owner scopes restricted to one API (borrowed) */
    char *base;               /* file name without extension, unique in this run */
} scope_def;

typedef struct run {
    dg_store *s;
    const dg_report_opts *o;
    dg_report_summary *sum;
    dg_error *err;
    dg_rep_spec_cache *cache;
    scope_def *sc;
    size_t n_sc;
    dg_rep_index_entry *ix;
    /* drifts covered, with their window counts (the summary counts each
     * once: owner reports repeat the API reports' drifts) */
    struct covered {
        char fp[DG_FP_LEN + 1];
        uint64_t occ;
    } *cov;
    size_t n_cov, cap_cov;
} run;

/* name sanitised to [A-Za-z0-9._-] (no leading dot), prefixed, made unique
 * among the bases already taken and never "index". */
static char *make_base(const run *ru, const char *prefix, const char *name)
{
    char s[BASE_MAX + 16];
    size_t n = (size_t)snprintf(s, sizeof s, "%s", prefix);
    for (const char *p = name; *p && n < BASE_MAX; p++) {
        char c = *p;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        s[n++] = ok ? c : '_';
    }
    if (n == 0)
        s[n++] = '_';
    s[n] = '\0';
    if (s[0] == '.')
        s[0] = '_';
    char cand[BASE_MAX + 32];
    for (unsigned k = 1;; k++) {
        if (k == 1)
            snprintf(cand, sizeof cand, "%s", s);
        else
            snprintf(cand, sizeof cand, "%s-%u", s, k);
        int taken = !strcasecmp(cand, "index");
        for (size_t i = 0; i < ru->n_sc && !taken; i++)
            taken = ru->sc[i].base && !strcasecmp(ru->sc[i].base, cand);
        if (!taken)
            return strdup(cand);
    }
}

static int add_scope(run *ru, const char *type, const char *name, const char *filter_api)
{
    scope_def *ns = realloc(ru->sc, (ru->n_sc + 1) * sizeof *ns);
    if (!ns)
        return DG_ENOMEM;
    ru->sc = ns;
    scope_def *d = &ru->sc[ru->n_sc];
    memset(d, 0, sizeof *d);
    size_t idn = strlen(type) + strlen(name) + (filter_api ? strlen(filter_api) + 6 : 0) + 2;
    d->id = malloc(idn);
    d->name = strdup(name);
    d->base = make_base(ru, !strcmp(type, "owner") ? "owner-" : "", name);
    if (!d->id || !d->name || !d->base) {
        free(d->id);
        free(d->name);
        free(d->base);
        return DG_ENOMEM;
    }
    /* an owner report restricted to one API is its own scope, so that its
     * list never stands in for the owner's whole list next time */
    if (filter_api)
        snprintf(d->id, idn, "%s:%s,api:%s", type, name, filter_api);
    else
        snprintf(d->id, idn, "%s:%s", type, name);
    d->type = type;
    d->filter_api = filter_api;
    ru->n_sc++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Owners of the drifts the store holds for the API filter (any time, so an
 * owner whose drift all went away still gets a report saying so). */
static int owner_scopes(run *ru)
{
    dg_store_filter f = {ru->o->api, NULL, 0, NULL};
    dg_drift *rows = NULL;
    size_t n = 0;
    int rc = dg_store_query(ru->s, &f, &rows, &n, ru->err);
    if (rc)
        return rc;
    const char **owners = n ? malloc(n * sizeof *owners) : NULL;
    if (n && !owners) {
        dg_drifts_free(rows, n);
        return DG_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        owners[i] = rows[i].owner && *rows[i].owner ? rows[i].owner : "unowned";
    if (n)
        qsort(owners, n, sizeof *owners, cmp_str);
    for (size_t i = 0; i < n && !rc; i++)
        if (!i || strcmp(owners[i], owners[i - 1]))
            rc = add_scope(ru, "owner", owners[i], ru->o->api);
    free(owners);
    dg_drifts_free(rows, n);
    return rc;
}

static int plan_scopes(run *ru)
{
    const dg_report_opts *o = ru->o;
    if (o->owner)
        return add_scope(ru, "owner", o->owner, o->api);
    int rc = 0;
    if (o->api) {
        rc = add_scope(ru, "api", o->api, NULL);
    } else {
        char **apis = NULL;
        size_t n = 0;
        if ((rc = dg_store_apis(ru->s, &apis, &n, ru->err)))
            return rc;
        for (size_t i = 0; i < n && !rc; i++)
            rc = add_scope(ru, "api", apis[i], NULL);
        for (size_t i = 0; i < n; i++)
            free(apis[i]);
        free(apis);
    }
    if (!rc && o->per_owner)
        rc = owner_scopes(ru);
    return rc;
}

/* ---- gather: store -> model ---- */

typedef struct gathered {
    dg_rep r;
    dg_drift *rows;
    size_t n_rows;
    dg_explanation *x;        /* one per listed item; x_set[i]: filled */
    unsigned char *x_set;
    dg_drift *res;            /* one per resolved fingerprint; res_set[i]: filled */
    unsigned char *res_set;
    char **prev;
    size_t n_prev;
} gathered;

static void gathered_free(gathered *g)
{
    size_t listed = dg__rep_listed(&g->r);
    for (size_t i = 0; g->x && g->x_set && i < listed; i++)
        if (g->x_set[i])
            dg_explanation_clear(&g->x[i]);
    for (size_t i = 0; g->res && g->res_set && i < g->r.n_resolved; i++)
        if (g->res_set[i])
            dg_drift_clear(&g->res[i]);
    free(g->x);
    free(g->x_set);
    free(g->res);
    free(g->res_set);
    free(g->r.items);
    free(g->r.resolved);
    dg_drifts_free(g->rows, g->n_rows);
    for (size_t i = 0; i < g->n_prev; i++)
        free(g->prev[i]);
    free(g->prev);
    memset(g, 0, sizeof *g);
}

/* First day of the daily series: the window's first day, or fewer days
 * when the window is longer than DG_REP_MAX_DAYS (then from the earliest
 * day any drift has). */
static int32_t series_first(const dg_rep *r)
{
    int32_t first = dg_day_of_ms(r->since_ms > 0 ? r->since_ms : 0);
    if (first > r->last_day)
        return r->last_day;
    if (r->last_day - first + 1 <= DG_REP_MAX_DAYS)
        return first;
    int32_t earliest = r->last_day;
    for (size_t i = 0; i < r->n_items; i++)
        if (r->items[i].d->n_days && r->items[i].d->days[0].day < earliest)
            earliest = r->items[i].d->days[0].day;
    int32_t lo = r->last_day - DG_REP_MAX_DAYS + 1;
    return earliest > lo ? earliest : lo;
}

static int gather(run *ru, const scope_def *sc, gathered *g)
{
    const dg_report_opts *o = ru->o;
    dg_rep *r = &g->r;
    memset(g, 0, sizeof *g);
    r->scope = sc->id;
    r->scope_type = sc->type;
    r->scope_name = sc->name;
    r->filter_api = sc->filter_api;
    r->generator = GENERATOR;
    r->now_ms = o->now_ms;
    r->since_ms = o->since_ms;
    r->top = o->top ? o->top : 50;
    r->last_day = dg_day_of_ms(o->now_ms);

    int owner = !strcmp(sc->type, "owner");
    dg_store_filter f = {owner ? sc->filter_api : sc->name, owner ? sc->name : NULL, o->since_ms,
                         NULL};
    int rc = dg_store_query(ru->s, &f, &g->rows, &g->n_rows, ru->err);
    if (rc)
        return rc;
    if (g->n_rows && !(r->items = calloc(g->n_rows, sizeof *r->items)))
        return DG_ENOMEM;
    for (size_t i = 0; i < g->n_rows; i++)
        r->items[i].d = &g->rows[i];
    r->n_items = g->n_rows;
    r->first_day = series_first(r);
    dg__rep_window_counts(r);

    rc = dg_store_last_report(ru->s, sc->id, &r->previous_ms, &g->prev, &g->n_prev, ru->err);
    if (rc == DG_ENOTFOUND) {
        g->prev = NULL;
        g->n_prev = 0;
    } else if (rc) {
        return rc;
    } else {
        r->has_previous = 1;
    }
    if ((rc = dg__rep_classify(r, (const char *const *)g->prev, g->n_prev)))
        return rc;
    dg__rep_sort(r);
    dg__rep_totals(r);

    size_t listed = dg__rep_listed(r);
    if (listed && (!(g->x = calloc(listed, sizeof *g->x)) || !(g->x_set = calloc(listed, 1))))
        return DG_ENOMEM;
    for (size_t i = 0; i < listed; i++) {
        dg_rep_item *it = &r->items[i];
        rc = dg_store_get_explanation(ru->s, it->d->fingerprint,
                                      it->d->spec_hash ? it->d->spec_hash : "", &g->x[i], ru->err);
        if (rc == DG_ENOTFOUND) {
            memset(&g->x[i], 0, sizeof g->x[i]);
        } else if (rc) {
            return rc;
        } else {
            g->x_set[i] = 1;
            it->x = &g->x[i];
        }
        rc = dg__rep_spec_location(ru->cache, it->d->schema_pointer, it->spec_loc,
                                   sizeof it->spec_loc);
        if (rc == DG_ENOMEM)
            return rc;
        it->spec_loc_found = rc == 0;
        if (!it->spec_loc[0] && it->d->schema_loc)
            snprintf(it->spec_loc, sizeof it->spec_loc, "%s", it->d->schema_loc);
    }

    if (r->n_resolved && (!(g->res = calloc(r->n_resolved, sizeof *g->res)) ||
                          !(g->res_set = calloc(r->n_resolved, 1))))
        return DG_ENOMEM;
    for (size_t i = 0; i < r->n_resolved; i++) {
        dg_store_filter rf = {NULL, NULL, 0, r->resolved[i].fingerprint};
        dg_drift *rows = NULL;
        size_t n = 0;
        if ((rc = dg_store_query(ru->s, &rf, &rows, &n, ru->err)))
            return rc;
        if (n) {
            g->res[i] = rows[0]; /* moved: rows[0] is not cleared below */
            g->res_set[i] = 1;
            r->resolved[i].d = &g->res[i];
            memset(&rows[0], 0, sizeof rows[0]);
        }
        dg_drifts_free(rows, n);
    }
    return 0;
}

/* ---- writing ---- */

static int mkdirs(const char *dir, dg_error *err)
{
    char p[4096];
    size_t n = strlen(dir);
    if (!n || n >= sizeof p)
        return dg_error_set(err, DG_EIO, "output directory \"%.200s\": bad path", dir);
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char c = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) && errno != EEXIST)
            return dg_error_set(err, DG_EIO, "cannot create output directory \"%.200s\": %s", p,
                                strerror(errno));
        p[i] = c;
    }
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return dg_error_set(err, DG_EIO, "output directory \"%.200s\" is not a directory", dir);
    return 0;
}

static int add_file(dg_report_summary *sum, const char *path)
{
    char **nf = realloc(sum->files, (sum->n_files + 1) * sizeof *nf);
    if (!nf)
        return DG_ENOMEM;
    sum->files = nf;
    if (!(sum->files[sum->n_files] = strdup(path)))
        return DG_ENOMEM;
    sum->n_files++;
    return 0;
}

/* dir/base.ext, through a temporary file and rename. */
static int write_file(run *ru, const char *base, const char *ext, const dg_buf *b)
{
    const char *dir = ru->o->out_dir;
    char path[4096], tmp[4200];
    if ((size_t)snprintf(path, sizeof path, "%s/%s.%s", dir, base, ext) >= sizeof path)
        return dg_error_set(ru->err, DG_EIO, "output path too long in \"%.200s\"", dir);
    snprintf(tmp, sizeof tmp, "%s/.%s.%s.tmp%ld", dir, base, ext, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return dg_error_set(ru->err, DG_EIO, "cannot write \"%.300s\": %s", path, strerror(errno));
    size_t off = 0;
    int e = 0;
    while (off < b->len) {
        ssize_t k = write(fd, b->data + off, b->len - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            e = k < 0 ? errno : EIO;
            break;
        }
        off += (size_t)k;
    }
    if (close(fd) && !e)
        e = errno;
    if (!e && rename(tmp, path))
        e = errno;
    if (e) {
        unlink(tmp);
        return dg_error_set(ru->err, DG_EIO, "cannot write \"%.300s\": %s", path, strerror(e));
    }
    return add_file(ru->sum, path) ? dg_error_set(ru->err, DG_ENOMEM, "out of memory") : 0;
}

typedef int (*render_fn)(const dg_rep *, dg_buf *);
typedef int (*index_fn)(const dg_rep_index *, dg_buf *);

static const struct {
    unsigned bit;
    const char *ext;
    render_fn render;
    index_fn index;
} formats[] = {
    {DG_REPORT_JSON, "json", dg__rep_render_json, dg__rep_index_json},
    {DG_REPORT_MD, "md", dg__rep_render_md, dg__rep_index_md},
    {DG_REPORT_HTML, "html", dg__rep_render_html, dg__rep_index_html},
};

static unsigned fmt_bits(const dg_report_opts *o)
{
    unsigned f = o->formats & (DG_REPORT_JSON | DG_REPORT_MD | DG_REPORT_HTML);
    return f ? f : DG_REPORT_JSON | DG_REPORT_MD | DG_REPORT_HTML;
}

static int note_fingerprints(run *ru, const dg_rep *r)
{
    for (size_t i = 0; i < r->n_items; i++) {
        if (ru->n_cov == ru->cap_cov) {
            size_t nc = ru->cap_cov ? 2 * ru->cap_cov : 64;
            struct covered *a = realloc(ru->cov, nc * sizeof *a);
            if (!a)
                return DG_ENOMEM;
            ru->cov = a;
            ru->cap_cov = nc;
        }
        snprintf(ru->cov[ru->n_cov].fp, sizeof ru->cov[ru->n_cov].fp, "%s",
                 r->items[i].d->fingerprint);
        ru->cov[ru->n_cov++].occ = r->items[i].window_count;
    }
    return 0;
}

/* Renders and writes one scope's report in each format, then records it. */
static int one_scope(run *ru, size_t k, dg_buf *b)
{
    gathered g;
    int rc = gather(ru, &ru->sc[k], &g);
    unsigned fb = fmt_bits(ru->o);
    for (size_t i = 0; !rc && i < sizeof formats / sizeof formats[0]; i++) {
        if (!(fb & formats[i].bit))
            continue;
        dg_buf_reset(b);
        if ((rc = formats[i].render(&g.r, b)))
            break;
        rc = write_file(ru, ru->sc[k].base, formats[i].ext, b);
    }
    if (!rc && ru->o->save) {
        const char **fps = g.r.n_items ? malloc(g.r.n_items * sizeof *fps) : NULL;
        if (g.r.n_items && !fps) {
            rc = DG_ENOMEM;
        } else {
            for (size_t i = 0; i < g.r.n_items; i++)
                fps[i] = g.r.items[i].d->fingerprint;
            rc = dg_store_save_report(ru->s, ru->sc[k].id, ru->o->now_ms, fps, g.r.n_items,
                                      ru->err);
            free(fps);
        }
    }
    if (!rc) {
        dg_rep_index_entry *e = &ru->ix[k];
        *e = (dg_rep_index_entry){ru->sc[k].id, ru->sc[k].type, ru->sc[k].name, ru->sc[k].base,
                                  g.r.n_items, g.r.errors, g.r.info, g.r.n_new, g.r.n_recurring,
                                  g.r.n_resolved, g.r.occurrences};
        rc = note_fingerprints(ru, &g.r);
    }
    gathered_free(&g);
    return rc;
}

static int cmp_fp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

int dg_report_run(dg_store *s, const dg_report_opts *o, dg_report_summary *sum, dg_error *err)
{
    if (!s || !o || !o->out_dir || !*o->out_dir)
        return dg_error_set(err, DG_EINVAL, "report: a store and an output directory are needed");
    dg_report_summary local;
    if (!sum)
        sum = &local;
    memset(sum, 0, sizeof *sum);
    if (err)
        memset(err, 0, sizeof *err);
    int rc = mkdirs(o->out_dir, err);
    if (rc)
        return rc;
    run ru = {s, o, sum, err, dg__rep_spec_cache_new(), NULL, 0, NULL, NULL, 0, 0};
    dg_buf b = DG_BUF_INIT;
    if (!ru.cache) {
        rc = DG_ENOMEM;
        goto done;
    }
    if ((rc = plan_scopes(&ru)))
        goto done;
    if (ru.n_sc && !(ru.ix = calloc(ru.n_sc, sizeof *ru.ix))) {
        rc = DG_ENOMEM;
        goto done;
    }
    for (size_t k = 0; k < ru.n_sc && !rc; k++)
        rc = one_scope(&ru, k, &b);
    if (rc)
        goto done;
    dg_rep_index ix = {GENERATOR, o->now_ms, o->since_ms, fmt_bits(o), ru.ix, ru.n_sc};
    for (size_t i = 0; !rc && i < sizeof formats / sizeof formats[0]; i++) {
        if (!(ix.formats & formats[i].bit))
            continue;
        dg_buf_reset(&b);
        if (!(rc = formats[i].index(&ix, &b)))
            rc = write_file(&ru, "index", formats[i].ext, &b);
    }
    if (rc)
        goto done;
    sum->reports = ru.n_sc;
    if (ru.n_cov)
        qsort(ru.cov, ru.n_cov, sizeof *ru.cov, cmp_fp);
    for (size_t i = 0; i < ru.n_cov; i++) {
        if (i && !strcmp(ru.cov[i].fp, ru.cov[i - 1].fp))
            continue;
        sum->drifts++;
        sum->occurrences += ru.cov[i].occ;
    }
done:
    if (rc == DG_ENOMEM && err && !err->msg[0])
        dg_error_set(err, DG_ENOMEM, "out of memory");
    dg_buf_free(&b);
    dg__rep_spec_cache_free(ru.cache);
    for (size_t i = 0; i < ru.n_sc; i++) {
        free(ru.sc[i].id);
        free(ru.sc[i].name);
        free(ru.sc[i].base);
    }
    free(ru.sc);
    free(ru.ix);
    free(ru.cov);
    if (sum == &local)
        dg_report_summary_clear(&local);
    return rc;
}
