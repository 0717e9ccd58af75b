/* proxy/offline.c: the offline judge behind `driftgate replay` (see the
 * last section of proxy.h). A one-worker snapshot, the proxy's routing
 * (dg_px_route) and its verdict, driven with a recorded response instead
 * of upstream bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proxy/proxy.h"
#include "proxy/verdict.h"

struct dg_offline {
    dg_snapshot *snap;
    const dg_px_api *forced;      /* --api */
    dg_listen_addr *laddr;        /* parsed listener addresses, as snap->listeners */
    dg_arena arena;               /* one exchange's verdict; freed at the next */
    uint32_t rng;
};

const char *dg_offline_result_name(dg_offline_result r)
{
    static const char *const names[] = {"valid", "invalid", "skipped", "error", "unrouted"};
    return (unsigned)r < sizeof names / sizeof *names ? names[r] : "error";
}

/* Replay judges every recorded exchange: sampling saves CPU on a live
 * proxy, while a replayed capture was recorded to be looked at. */
static void no_sampling(dg_config *cfg)
{
    for (size_t i = 0; i < cfg->n_apis; i++) {
        cfg->apis[i].policy.sample_rate = 1.0;
        for (size_t j = 0; j < cfg->apis[i].n_ops; j++)
            cfg->apis[i].ops[j].policy.sample_rate = 1.0;
    }
}

int dg_offline_new(dg_config *cfg, const char *force_api, dg_anomaly_queue *q, dg_offline **out,
                   dg_error *errs, size_t max_errs, size_t *n_errs)
{
    *out = NULL;
    *n_errs = 0;
    if (force_api) {
        size_t i = 0;
        while (i < cfg->n_apis && strcmp(cfg->apis[i].name, force_api))
            i++;
        if (i == cfg->n_apis) {
            if (max_errs) {
                char names[300] = "";
                size_t k = 0;
                for (size_t j = 0; j < cfg->n_apis && k < sizeof names; j++)
                    k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", j ? ", " : "",
                                          cfg->apis[j].name);
                dg_error_set(&errs[0], DG_EINVAL, "--api %.100s: no such API (the config has: %s)",
                             force_api, names);
                *n_errs = 1;
            }
            dg_config_free(cfg);
            return DG_EINVAL;
        }
    }
    dg_offline *o = calloc(1, sizeof *o);
    if (!o) {
        dg_config_free(cfg);
        return DG_ENOMEM;
    }
    o->rng = 1;
    no_sampling(cfg);
    int rc = dg_px_metrics_init();
    if (rc) {
        dg_config_free(cfg);
        free(o);
        return rc;
    }
    g_px.anomalies = q;
    rc = dg_snapshot_build(cfg, 1, 1, &o->snap, errs, max_errs, n_errs);
    if (rc) {
        dg_offline_free(o);
        return rc;
    }
    if (!(o->laddr = calloc(o->snap->n_listeners + 1, sizeof *o->laddr))) {
        dg_offline_free(o);
        return DG_ENOMEM;
    }
    for (size_t i = 0; i < o->snap->n_listeners; i++)
        if (dg_listen_parse(o->snap->listeners[i].addr, &o->laddr[i], NULL))
            o->laddr[i].port = 0; /* never matches */
    for (size_t i = 0; force_api && i < o->snap->n_apis; i++)
        if (!strcmp(o->snap->apis[i].cfg->name, force_api))
            o->forced = &o->snap->apis[i];
    *out = o;
    return 0;
}

const dg_config *dg_offline_config(const dg_offline *o) { return o->snap->cfg; }

void dg_offline_free(dg_offline *o)
{
    if (!o)
        return;
    dg_arena_free(&o->arena);
    dg_snapshot_unref(o->snap);
    free(o->laddr);
    dg_metrics_free(g_px.reg);
    memset(&g_px, 0, sizeof g_px);
    free(o);
}

/* The operation of a request in api's specs, as dg_exchange_start looks it
 * up (first spec that matches; HEAD falls back to GET). */
static const dg_route_op *match_op(const dg_px_api *api, const char *method, const char *path,
                                   size_t *spec_i)
{
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
    for (size_t i = 0; i < api->cfg->n_specs; i++) {
        const dg_router *r = dg_spec_router(api->specs[i]);
        const dg_route_op *op = dg_router_match(r, method, path, plen);
        if (!op && !strcmp(method, "HEAD"))
            op = dg_router_match(r, "GET", path, plen);
        if (op) {
            *spec_i = i;
            return op;
        }
    }
    return NULL;
}

/* The origin-form target of a URL (path and query, no fragment), copied
 * into the arena; NULL when there is none. As the proxy does with an
 * absolute-form request target, only the path of an absolute URL counts. */
static char *target_of(dg_arena *a, const char *url)
{
    const char *t = url;
    const char *s = strstr(url, "://");
    if (s && (size_t)(s - url) < 16 && url[0] != '/') {
        t = strchr(s + 3, '/');
        if (!t) {
            const char *qm = strchr(s + 3, '?');
            if (!qm)
                return dg_arena_strndup(a, "/", 1);
            char *r = dg_arena_alloc(a, strlen(qm) + 2);
            if (r) {
                r[0] = '/';
                strcpy(r + 1, qm);
                r[strcspn(r, "#")] = 0;
            }
            return r;
        }
    }
    if (t[0] != '/')
        return NULL;
    return dg_arena_strndup(a, t, strcspn(t, "#"));
}

/* Is host[:port] the address of listener i? */
static int is_listener(const dg_offline *o, size_t i, const dg_listen_addr *h)
{
    const dg_listen_addr *l = &o->laddr[i];
    if (!l->port || l->port != h->port)
        return 0;
    return l->wildcard || !strcmp(l->canonical, h->canonical);
}

/* Chooses the API (see proxy.h). Returns it and sets *strip, or NULL with
 * out->reason (and out->detail) set. */
static const dg_px_api *choose_api(dg_offline *o, const dg_offline_exchange *x, const char *path,
                                   size_t *strip, dg_offline_verdict *out)
{
    const dg_snapshot *s = o->snap;
    size_t hl = x->host ? strlen(x->host) : 0;
    *strip = 0;
    if (o->forced) {
        dg_px_api *const one[1] = {(dg_px_api *)o->forced};
        if (!dg_px_route(one, 1, x->host, hl, path, strip))
            *strip = 0;
        return o->forced;
    }
    dg_listen_addr h;
    if (x->host && !dg_listen_parse(x->host, &h, NULL)) {
        for (size_t i = 0; i < s->n_listeners; i++) {
            if (!is_listener(o, i, &h))
                continue;
            const dg_px_api *a = dg_px_route(s->listeners[i].apis, s->listeners[i].n_apis,
                                             x->host, hl, path, strip);
            if (!a)
                out->reason = "no_api";
            return a;
        }
    }
    /* Every listener's choice; distinct ones kept in listener order. */
    const dg_px_api *found[64];
    size_t strips[64], n = 0;
    for (size_t i = 0; i < s->n_listeners && n < 64; i++) {
        size_t st = 0;
        const dg_px_api *a = dg_px_route(s->listeners[i].apis, s->listeners[i].n_apis, x->host,
                                         hl, path, &st);
        size_t k = 0;
        while (a && k < n && found[k] != a)
            k++;
        if (a && k == n) {
            found[n] = a;
            strips[n++] = st;
        }
    }
    if (!n) {
        out->reason = "no_api";
        return NULL;
    }
    if (n == 1) {
        *strip = strips[0];
        return found[0];
    }
    /* Several listeners would take it: the one API with an operation for it. */
    const dg_px_api *pick = NULL;
    size_t with_op = 0;
    for (size_t k = 0; k < n; k++) {
        const char *p = path + strips[k];
        size_t si;
        if (p[0] == '/' && match_op(found[k], x->method, p, &si)) {
            with_op++;
            pick = found[k];
            *strip = strips[k];
        }
    }
    if (with_op == 1)
        return pick;
    size_t w = (size_t)snprintf(out->detail, sizeof out->detail, "APIs on different listeners "
                                                                 "match:");
    for (size_t k = 0; k < n && w < sizeof out->detail; k++)
        w += (size_t)snprintf(out->detail + w, sizeof out->detail - w, " %s",
                              found[k]->cfg->name);
    if (w < sizeof out->detail)
        snprintf(out->detail + w, sizeof out->detail - w, " (use --api)");
    out->reason = "ambiguous";
    *strip = 0;
    return NULL;
}

int dg_offline_judge(dg_offline *o, const dg_offline_exchange *x, dg_offline_verdict *out)
{
    dg_arena_free(&o->arena);
    memset(out, 0, sizeof *out);
    out->status = x->status;
    out->result = DG_OFFLINE_UNROUTED;
    const char *method = x->method ? x->method : "GET";
    char *target = x->url ? target_of(&o->arena, x->url) : NULL;
    if (!target) {
        out->reason = "bad_url";
        return 0;
    }
    char *shown = dg_arena_strndup(&o->arena, target, strcspn(target, "?"));
    out->path = shown ? shown : "";
    size_t strip = 0;
    const dg_px_api *api = choose_api(o, x, target, &strip, out);
    if (!api)
        return 0;
    out->api = api->cfg->name;
    const char *path = target + strip;
    if (!path[0] || path[0] == '?') { /* as server.c: "/pay" with the prefix stripped is "/" */
        char *p2 = dg_arena_alloc(&o->arena, strlen(path) + 2);
        if (!p2) {
            out->result = DG_OFFLINE_ERROR;
            out->reason = "memory";
            return 0;
        }
        p2[0] = '/';
        strcpy(p2 + 1, path);
        path = p2;
    }
    dg_verdict vd;
    memset(&vd, 0, sizeof vd);
    vd.op = match_op(api, method, path, &vd.spec_i);
    if (!vd.op) {
        out->reason = "no_operation";
        return 0;
    }
    out->operation = dg_verdict_op_label(vd.op);
    if (!x->status) {
        out->result = DG_OFFLINE_SKIPPED;
        out->reason = "no_response";
        return 0;
    }
    vd.snap = o->snap;
    vd.api = api;
    vd.worker = 0;
    vd.arena = &o->arena;
    vd.rng = &o->rng;
    vd.pol = dg_policy_for_operation(api->cfg, vd.op->operation_id, vd.op->label);
    const char *ct = x->content_type, *ce = x->content_encoding;
    dg_verdict_head(&vd, x->status, ct, ct ? strlen(ct) : 0, ce, ce ? strlen(ce) : 0,
                    x->has_body != 0, !strcmp(method, "HEAD"));
    if (x->has_body < 0 && vd.validating) {
        /* The head was judged (status, media type); the body cannot be. */
        vd.validating = 0;
        vd.skip_reason = "body_not_recorded";
    }
    if (x->has_body > 0)
        dg_verdict_body(&vd, x->body, x->body_len);
    dg_verdict_finish(&vd, 0);
    dg_verdict_ctx ctx = {method, 0, x->request_id, NULL};
    dg_verdict_report_at(&vd, &ctx, x->ts_ms * 1000000);
    dg_verdict_free(&vd);

    const char *r = dg_verdict_result(&vd);
    out->result = r[0] == 'v'   ? DG_OFFLINE_VALID
                  : r[0] == 'i' ? DG_OFFLINE_INVALID
                  : r[0] == 's' ? DG_OFFLINE_SKIPPED
                                : DG_OFFLINE_ERROR;
    out->reason = vd.error_reason ? vd.error_reason : vd.skip_reason;
    if (out->result == DG_OFFLINE_VALID)
        out->reason = NULL;
    out->n_err = vd.n_err;
    out->n_info = vd.n_info;
    out->truncated = vd.truncated;
    if (vd.n_viol) {
        dg_offline_viol *v = dg_arena_alloc(&o->arena, vd.n_viol * sizeof *v);
        if (!v) {
            out->truncated = 1;
            return 0;
        }
        for (size_t i = 0; i < vd.n_viol; i++) {
            const dg_px_viol *p = &vd.viol[i];
            v[i].pointer = p->pointer ? p->pointer : "";
            v[i].kind = dg_kind_name(p->kind);
            v[i].severity = dg_severity_name(p->sev);
            v[i].message = p->message ? p->message : "";
            v[i].schema = p->schema;
            v[i].value = p->value;
        }
        out->viol = v;
        out->n_viol = vd.n_viol;
    }
    return 0;
}
