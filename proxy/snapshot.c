/* proxy/snapshot.c: one immutable config + compiled specs, reference
 * counted, published atomically. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proxy/proxy_internal.h"

static pthread_mutex_t g_snap_lock = PTHREAD_MUTEX_INITIALIZER;
static dg_snapshot *g_snap;
static atomic_uint_fast64_t g_snap_version;

int64_t dg_px_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t dg_px_wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void snapshot_free(dg_snapshot *s)
{
    if (!s)
        return;
    if (s->vpools) {
        for (size_t i = 0; i < (size_t)s->n_workers * s->n_specs; i++) {
            for (size_t j = 0; j < s->vpools[i].n; j++)
                dg_validator_free(s->vpools[i].free[j]);
            free(s->vpools[i].free);
        }
        free(s->vpools);
    }
    for (size_t i = 0; i < s->n_apis; i++) {
        dg_px_api *a = &s->apis[i];
        for (size_t j = 0; a->specs && j < a->cfg->n_specs; j++)
            dg_spec_free(a->specs[j]);
        free(a->specs);
        for (size_t j = 0; j < a->cfg->n_upstreams; j++) {
            if (a->host_hdr)
                free(a->host_hdr[j]);
            if (a->pool_key)
                free(a->pool_key[j]);
        }
        free(a->host_hdr);
        free(a->pool_key);
        if (a->ssl)
            SSL_CTX_free(a->ssl);
    }
    free(s->apis);
    for (size_t i = 0; i < s->n_listeners; i++) {
        free(s->listeners[i].addr);
        free(s->listeners[i].apis);
    }
    free(s->listeners);
    dg_config_free(s->cfg);
    free(s);
}

void dg_snapshot_ref(dg_snapshot *s) { atomic_fetch_add(&s->refs, 1); }

void dg_snapshot_unref(dg_snapshot *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        snapshot_free(s);
}

dg_snapshot *dg_snapshot_acquire(void)
{
    pthread_mutex_lock(&g_snap_lock);
    dg_snapshot *s = g_snap;
    if (s)
        dg_snapshot_ref(s);
    pthread_mutex_unlock(&g_snap_lock);
    return s;
}

uint64_t dg_snapshot_published_version(void) { return atomic_load(&g_snap_version); }

void dg_snapshot_publish(dg_snapshot *s)
{
    pthread_mutex_lock(&g_snap_lock);
    dg_snapshot *old = g_snap;
    g_snap = s;
    atomic_store(&g_snap_version, s ? s->version : 0);
    pthread_mutex_unlock(&g_snap_lock);
    dg_snapshot_unref(old);
}

dg_validator *dg_snapshot_validator_get(dg_snapshot *s, unsigned w, const dg_px_api *api,
                                        size_t i)
{
    dg_vpool *p = &s->vpools[(size_t)w * s->n_specs + api->spec_base + i];
    if (p->n)
        return p->free[--p->n];
    dg_validate_opts o;
    dg_validate_opts_default(&o);
    o.max_errors = DG_PX_MAX_VIOLATIONS;
    o.include_values = 1; /* filtered by policy before anything leaves the process */
    return dg_validator_new(dg_spec_schemas(api->specs[i]), &o);
}

/* Keeps up to DG_PX_VPOOL_MAX idle validators per spec per worker: enough
 * for the responses a worker validates at once in steady state, without
 * keeping a burst's worth forever. */
#define DG_PX_VPOOL_MAX 256

void dg_snapshot_validator_put(dg_snapshot *s, unsigned w, const dg_px_api *api, size_t i,
                               dg_validator *v)
{
    dg_vpool *p = &s->vpools[(size_t)w * s->n_specs + api->spec_base + i];
    if (p->n == p->cap && p->cap < DG_PX_VPOOL_MAX) {
        size_t nc = p->cap ? p->cap * 2 : 8;
        dg_validator **nf = realloc(p->free, nc * sizeof *nf);
        if (nf) {
            p->free = nf;
            p->cap = nc;
        }
    }
    if (p->n < p->cap)
        p->free[p->n++] = v;
    else
        dg_validator_free(v);
}

/* Listener candidates are tried most specific first: host + prefix, then
 * the longer prefix, then host only, then the catch-all. */
static int api_specificity_cmp(const void *pa, const void *pb)
{
    const dg_px_api *a = *(dg_px_api *const *)pa, *b = *(dg_px_api *const *)pb;
    int ha = a->cfg->match_host != NULL, hb = b->cfg->match_host != NULL;
    size_t la = a->cfg->match_path_prefix ? strlen(a->cfg->match_path_prefix) : 0;
    size_t lb = b->cfg->match_path_prefix ? strlen(b->cfg->match_path_prefix) : 0;
    if ((la > 0) != (lb > 0) && ha == hb)
        return la > 0 ? -1 : 1;
    if (ha != hb)
        return ha ? -1 : 1;
    if (la != lb)
        return la > lb ? -1 : 1;
    return (int)a->index - (int)b->index;
}

static int add_listener_api(dg_snapshot *s, const char *addr, dg_px_api *api)
{
    dg_px_listener *l = NULL;
    for (size_t i = 0; i < s->n_listeners; i++)
        if (!strcmp(s->listeners[i].addr, addr))
            l = &s->listeners[i];
    if (!l) {
        dg_px_listener *nl = realloc(s->listeners, (s->n_listeners + 1) * sizeof *nl);
        if (!nl)
            return DG_ENOMEM;
        s->listeners = nl;
        l = &nl[s->n_listeners];
        memset(l, 0, sizeof *l);
        if (!(l->addr = strdup(addr)))
            return DG_ENOMEM;
        s->n_listeners++;
    }
    if (!api)
        return 0;
    dg_px_api **na = realloc(l->apis, (l->n_apis + 1) * sizeof *na);
    if (!na)
        return DG_ENOMEM;
    l->apis = na;
    na[l->n_apis++] = api;
    return 0;
}

static int setup_api(dg_px_api *a, dg_error *errs, size_t max_errs, size_t *n_errs)
{
    const dg_api *c = a->cfg;
    if (!(a->specs = calloc(c->n_specs, sizeof *a->specs)) ||
        !(a->host_hdr = calloc(c->n_upstreams, sizeof *a->host_hdr)) ||
        !(a->pool_key = calloc(c->n_upstreams, sizeof *a->pool_key)))
        return DG_ENOMEM;
    int need_tls = 0;
    for (size_t u = 0; u < c->n_upstreams; u++) {
        const dg_upstream_url *up = &c->upstreams[u];
        int def = up->https ? 443 : 80;
        char buf[600];
        int v6 = strchr(up->host, ':') != NULL;
        if (up->port == def)
            snprintf(buf, sizeof buf, v6 ? "[%s]" : "%s", up->host);
        else
            snprintf(buf, sizeof buf, v6 ? "[%s]:%d" : "%s:%d", up->host, up->port);
        if (!(a->host_hdr[u] = strdup(buf)))
            return DG_ENOMEM;
        /* The pool is per API because TLS settings are per API. */
        snprintf(buf, sizeof buf, "%s|%s|%d|%d", c->name, up->host, up->port, up->https);
        if (!(a->pool_key[u] = strdup(buf)))
            return DG_ENOMEM;
        need_tls |= up->https;
    }
    if (need_tls) {
        dg_error e = {0};
        if (!(a->ssl = dg_upstream_ssl_ctx(c, &e))) {
            if (*n_errs < max_errs)
                errs[(*n_errs)++] = e;
            return e.code ? e.code : DG_EINVAL;
        }
    }
    dg_spec_opts so = {0};
    so.ref_map = (const char *const *)c->ref_map;
    so.n_ref_map = c->n_ref_map;
    so.assert_formats = c->policy.assert_formats;
    for (size_t i = 0; i < c->n_specs; i++) {
        dg_error e = {0};
        int rc = dg_spec_load(c->specs[i], &so, &a->specs[i], &e);
        if (rc) {
            char m[sizeof e.msg + 300];
            snprintf(m, sizeof m, "api \"%.200s\": %s", c->name, e.msg);
            size_t l = strlen(m) < sizeof e.msg - 1 ? strlen(m) : sizeof e.msg - 1;
            memcpy(e.msg, m, l);
            e.msg[l] = 0;
            if (*n_errs < max_errs)
                errs[(*n_errs)++] = e;
            return rc;
        }
    }
    const dg_router *routers[64];
    size_t nr = c->n_specs < 64 ? c->n_specs : 64;
    for (size_t i = 0; i < nr; i++)
        routers[i] = dg_spec_router(a->specs[i]);
    size_t k = 0;
    int rc = dg_config_check_operations(c, routers, nr, errs + *n_errs, max_errs - *n_errs, &k);
    *n_errs += k;
    return rc;
}

int dg_snapshot_build(dg_config *cfg, unsigned n_workers, uint64_t version, dg_snapshot **out,
                      dg_error *errs, size_t max_errs, size_t *n_errs)
{
    *out = NULL;
    *n_errs = 0;
    dg_snapshot *s = calloc(1, sizeof *s);
    if (!s) {
        dg_config_free(cfg);
        return DG_ENOMEM;
    }
    atomic_init(&s->refs, 1);
    s->cfg = cfg;
    s->version = version;
    s->loaded_at_ns = dg_px_wall_ns();
    s->n_workers = n_workers;
    int rc = 0;
    if (!(s->apis = calloc(cfg->n_apis ? cfg->n_apis : 1, sizeof *s->apis))) {
        rc = DG_ENOMEM;
        goto fail;
    }
    s->n_apis = cfg->n_apis;
    for (size_t i = 0; i < cfg->n_apis; i++) {
        s->apis[i].cfg = &cfg->apis[i];
        s->apis[i].index = i;
        s->apis[i].spec_base = s->n_specs;
        s->n_specs += cfg->apis[i].n_specs;
    }
    for (size_t i = 0; i < cfg->n_apis; i++) {
        const char *addr = cfg->apis[i].listen ? cfg->apis[i].listen : cfg->listen;
        if ((rc = add_listener_api(s, addr, &s->apis[i])))
            goto fail;
    }
    for (size_t i = 0; i < s->n_listeners; i++)
        qsort(s->listeners[i].apis, s->listeners[i].n_apis, sizeof(dg_px_api *),
              api_specificity_cmp);
    for (size_t i = 0; i < cfg->n_apis; i++) {
        int r = setup_api(&s->apis[i], errs, max_errs, n_errs);
        if (r && !rc)
            rc = r;
    }
    if (!rc && *n_errs)
        rc = DG_EINVAL;
    if (rc)
        goto fail;
    if (!(s->vpools = calloc((size_t)n_workers * (s->n_specs ? s->n_specs : 1),
                             sizeof *s->vpools))) {
        rc = DG_ENOMEM;
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (rc == DG_ENOMEM && *n_errs < max_errs)
        dg_error_set(&errs[(*n_errs)++], DG_ENOMEM, "out of memory building the config");
    snapshot_free(s);
    return rc;
}

int dg_snapshot_same_listeners(const dg_snapshot *a, const dg_snapshot *b, char *why, size_t n)
{
    for (size_t i = 0; i < b->n_listeners; i++) {
        int found = 0;
        for (size_t j = 0; j < a->n_listeners; j++)
            found |= !strcmp(a->listeners[j].addr, b->listeners[i].addr);
        if (!found) {
            snprintf(why, n, "listener %s is new: listeners change only on restart",
                     b->listeners[i].addr);
            return 0;
        }
    }
    if (a->n_listeners != b->n_listeners) {
        snprintf(why, n, "a listener was removed: listeners change only on restart");
        return 0;
    }
    if (strcmp(a->cfg->admin, b->cfg->admin)) {
        snprintf(why, n, "the admin listener changed: it changes only on restart");
        return 0;
    }
    return 1;
}
