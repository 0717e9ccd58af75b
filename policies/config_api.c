/* policies/config_api.c: one `apis:` entry of the config file into a
 * dg_api, with the checks a schema cannot make (files exist, URLs parse,
 * options that only make sense together). Cross-API checks (unique names,
 * listeners) are in config.c. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "policies/policies_internal.h"

/* 'f' regular file, 'd' directory, 'o' something else, 0 missing. */
static int file_type(const char *path)
{
    struct stat st;
    if (stat(path, &st))
        return 0;
    return S_ISREG(st.st_mode) ? 'f' : S_ISDIR(st.st_mode) ? 'd' : 'o';
}

/* Resolves a path written in the file and checks it names a regular file.
 * Returns the absolute path (owned) or NULL (error recorded unless ENOMEM). */
static char *need_file(dg_cfgctx *c, const char *path, const char *ptr, const char *what)
{
    char *abs = dg__path_join(c->dir, path);
    if (!abs) {
        c->nomem = 1;
        return NULL;
    }
    int t = file_type(abs);
    if (t != 'f') {
        dg__cfg_err(c, ptr, 0, t ? "%s \"%.200s\" is not a regular file" :
                    "%s \"%.200s\" does not exist", what, abs);
        free(abs);
        return NULL;
    }
    return abs;
}

static char *dup_str(dg_cfgctx *c, const char *s)
{
    if (!s)
        return NULL;
    char *r = strdup(s);
    if (!r)
        c->nomem = 1;
    return r;
}

static void read_specs(dg_cfgctx *c, dg_api *a, json_t *o, const char *ap)
{
    char p[DG_CFG_PTR], ip[DG_CFG_PTR];
    json_t *one = json_object_get(o, "spec"), *many = json_object_get(o, "specs");
    if (one && many) {
        dg__ptr_key(p, ap, "specs");
        dg__cfg_err(c, p, 1, "give either spec (one file) or specs (a list), not both");
        return;
    }
    if (!one && !many) {
        dg__cfg_err(c, ap, 0, "API \"%s\" has no spec: give spec: FILE (or specs: [FILE, ...])",
                    a->name ? a->name : "?");
        return;
    }
    size_t n = one ? 1 : json_array_size(many);
    if (!(a->specs = calloc(n, sizeof *a->specs))) {
        c->nomem = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = one ? one : json_array_get(many, i);
        dg__ptr_key(p, ap, one ? "spec" : "specs");
        if (many)
            dg__ptr_idx(ip, p, i);
        if (!json_is_string(s))
            continue;
        char *abs = need_file(c, json_string_value(s), many ? ip : p, "spec file");
        if (abs)
            a->specs[a->n_specs++] = abs;
    }
}

static void read_ref_map(dg_cfgctx *c, dg_api *a, json_t *m, const char *ap)
{
    char p[DG_CFG_PTR], kp[DG_CFG_PTR];
    size_t n = json_object_size(m);
    if (!n)
        return;
    if (!(a->ref_map = calloc(2 * n, sizeof *a->ref_map))) {
        c->nomem = 1;
        return;
    }
    dg__ptr_key(p, ap, "ref_map");
    const char *url;
    json_t *v;
    json_object_foreach(m, url, v) {
        dg__ptr_key(kp, p, url);
        if (!json_is_string(v))
            continue;
        if (!strstr(url, "://") && strncmp(url, "urn:", 4)) {
            dg__cfg_err(c, kp, 1, "ref_map keys are URL prefixes such as "
                        "https://schemas.example.com/v1/ (\"%.100s\" has no scheme)", url);
            continue;
        }
        char *abs = dg__path_join(c->dir, json_string_value(v));
        if (!abs) {
            c->nomem = 1;
            return;
        }
        int t = file_type(abs);
        size_t al = strlen(abs);
        int url_dir = url[strlen(url) - 1] == '/';
        if (!t || t == 'o') {
            dg__cfg_err(c, kp, 0, "\"%.200s\" %s", abs, t ? "is neither a file nor a directory"
                                                          : "does not exist");
            free(abs);
            continue;
        }
        if (url_dir && t != 'd') {
            dg__cfg_err(c, kp, 0, "the URL prefix ends in '/', so it maps to a directory; "
                        "\"%.200s\" is a file", abs);
            free(abs);
            continue;
        }
        if (t == 'd' && url_dir && abs[al - 1] != '/') {
            /* the rest of the URL is appended to the directory */
            char *d = realloc(abs, al + 2);
            if (!d) {
                free(abs);
                c->nomem = 1;
                return;
            }
            abs = d;
            memcpy(abs + al, "/", 2);
        }
        char *u = dup_str(c, url);
        if (!u) {
            free(abs);
            return;
        }
        a->ref_map[2 * a->n_ref_map] = u;
        a->ref_map[2 * a->n_ref_map + 1] = abs;
        a->n_ref_map++;
    }
}

static void read_upstreams(dg_cfgctx *c, dg_api *a, json_t *o, const char *ap)
{
    char p[DG_CFG_PTR], ip[DG_CFG_PTR];
    json_t *one = json_object_get(o, "upstream"), *many = json_object_get(o, "upstreams");
    if (one && many) {
        dg__ptr_key(p, ap, "upstreams");
        dg__cfg_err(c, p, 1, "give either upstream (one URL) or upstreams (a list), not both");
        return;
    }
    if (!one && !many) {
        dg__cfg_err(c, ap, 0, "API \"%s\" has no upstream: give upstream: URL (or upstreams: "
                    "[URL, ...])", a->name ? a->name : "?");
        return;
    }
    size_t n = one ? 1 : json_array_size(many);
    if (!(a->upstreams = calloc(n, sizeof *a->upstreams))) {
        c->nomem = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *s = one ? one : json_array_get(many, i);
        dg__ptr_key(p, ap, one ? "upstream" : "upstreams");
        if (many)
            dg__ptr_idx(ip, p, i);
        if (!json_is_string(s))
            continue;
        dg_error e;
        int rc = dg_upstream_parse(json_string_value(s), &a->upstreams[a->n_upstreams], &e);
        if (rc == DG_ENOMEM)
            c->nomem = 1;
        else if (rc)
            dg__cfg_err(c, many ? ip : p, 0, "%s", e.msg);
        else
            a->n_upstreams++;
    }
}

static void read_tls(dg_cfgctx *c, dg_api *a, json_t *t, const char *ap)
{
    char p[DG_CFG_PTR], fp[DG_CFG_PTR];
    a->tls.verify = 1;
    if (!t)
        return;
    dg__ptr_key(p, ap, "tls");
    json_t *v = json_object_get(t, "verify");
    if (v)
        a->tls.verify = json_is_true(v);
    static const char *const files[3] = {"ca_file", "client_cert", "client_key"};
    char **dst[3] = {&a->tls.ca_file, &a->tls.client_cert, &a->tls.client_key};
    for (int i = 0; i < 3; i++) {
        const char *f = json_string_value(json_object_get(t, files[i]));
        dg__ptr_key(fp, p, files[i]);
        if (f)
            *dst[i] = need_file(c, f, fp, files[i]);
    }
    json_t *cc = json_object_get(t, "client_cert"), *ck = json_object_get(t, "client_key");
    if (!cc != !ck) {
        dg__ptr_key(fp, p, cc ? "client_cert" : "client_key");
        dg__cfg_err(c, fp, 1, "client_cert and client_key go together (mutual TLS needs both)");
    }
    a->tls.server_name = dup_str(c, json_string_value(json_object_get(t, "server_name")));
    int https = 0;
    for (size_t i = 0; i < a->n_upstreams; i++)
        https |= a->upstreams[i].https;
    if (a->n_upstreams && !https)
        dg__cfg_err(c, p, 1, "tls is set but no upstream of API \"%s\" uses https:// (did you mean "
                    "https?)", a->name ? a->name : "?");
}

static void read_match(dg_cfgctx *c, dg_api *a, json_t *m, const char *ap)
{
    char p[DG_CFG_PTR], fp[DG_CFG_PTR];
    if (!m)
        return;
    dg__ptr_key(p, ap, "match");
    const char *host = json_string_value(json_object_get(m, "host"));
    if (host) {
        if (!(a->match_host = dup_str(c, host)))
            return;
        for (char *h = a->match_host; *h; h++)
            if (*h >= 'A' && *h <= 'Z')
                *h = (char)(*h - 'A' + 'a');
    }
    const char *pre = json_string_value(json_object_get(m, "path_prefix"));
    dg__ptr_key(fp, p, "path_prefix");
    if (pre && pre[0] != '/') {
        dg__cfg_err(c, fp, 0, "\"%.100s\" must start with \"/\"", pre);
    } else if (pre) {
        size_t n = strlen(pre);
        while (n > 1 && pre[n - 1] == '/')
            n--;
        if (n > 1 && !(a->match_path_prefix = strndup(pre, n)))
            c->nomem = 1;
        if (strchr(pre, '?') || strchr(pre, '#') || strchr(pre, '{'))
            dg__cfg_err(c, fp, 0, "\"%.100s\" must be a literal path (no query, fragment or "
                        "{template})", pre);
    }
    a->strip_prefix = json_is_true(json_object_get(m, "strip_prefix"));
    if (a->strip_prefix && !a->match_path_prefix) {
        dg__ptr_key(fp, p, "strip_prefix");
        dg__cfg_err(c, fp, 1, "strip_prefix needs a path_prefix (other than \"/\") to strip");
    }
}

static int profile_parse(const char *s)
{
    for (int p = DG_PROFILE_STRICT; p <= DG_PROFILE_REPORT_ONLY; p++)
        if (!strcmp(dg_profile_name((dg_profile)p), s))
            return p;
    return -1;
}

static void read_ops(dg_cfgctx *c, dg_api *a, json_t *ops, const char *ap)
{
    char p[DG_CFG_PTR], kp[DG_CFG_PTR];
    size_t n = json_object_size(ops);
    if (!n)
        return;
    if (!(a->ops = calloc(n, sizeof *a->ops))) {
        c->nomem = 1;
        return;
    }
    dg__ptr_key(p, ap, "operations");
    const char *key;
    json_t *v;
    json_object_foreach(ops, key, v) {
        dg__ptr_key(kp, p, key);
        const char *why;
        char *norm = dg__op_key_normalize(key, &why);
        if (!norm) {
            if (why && !strcmp(why, "out of memory"))
                c->nomem = 1;
            else
                dg__cfg_err(c, kp, 1, "\"%.100s\": %s", key, why);
            continue;
        }
        int dup = 0;
        for (size_t i = 0; i < a->n_ops; i++)
            dup |= !strcmp(a->ops[i].operation, norm);
        if (dup) {
            dg__cfg_err(c, kp, 1, "operation \"%.100s\" has two overrides", norm);
            free(norm);
            continue;
        }
        dg_op_policy *op = &a->ops[a->n_ops];
        op->operation = norm;
        if (dg__policy_copy(&op->policy, &a->policy) || dg__cfg_loc(c, kp, &op->loc)) {
            c->nomem = 1;
            free(norm);
            free(op->loc.pointer);
            dg__policy_free(&op->policy);
            memset(op, 0, sizeof *op);
            return;
        }
        a->n_ops++;
        dg__policy_apply(c, v, kp, &op->policy, &op->n_own_ignore);
        /* formats are asserted or not when a spec is compiled, once per API:
         * a different per-operation value could not be honoured */
        if (op->policy.assert_formats != a->policy.assert_formats) {
            char fp[DG_CFG_PTR];
            dg__ptr_key(fp, kp, "assert_formats");
            dg__cfg_err(c, fp, 0, "assert_formats can only be set for a whole API (its specs are "
                        "compiled once): set it in the API's policy");
        }
    }
}

static void read_explain(dg_cfgctx *c, dg_api *a, const dg_config *cfg, json_t *o,
                         const char *ap)
{
    char p[DG_CFG_PTR];
    if (dg_llm_conf_copy(&a->explain, &cfg->explain)) {
        c->nomem = 1;
        return;
    }
    json_t *e = json_object_get(o, "explain");
    dg__ptr_key(p, ap, "explain");
    dg__cfg_explain(c, e, p, &a->explain);
    /* errors about a missing setting: at the API's explain, else at the top-level one */
    dg__cfg_explain_finish(c, &a->explain, e ? p : json_object_get(dg_doc_root(c->doc), "explain")
                                                       ? "/explain" : ap);
}

static void read_api(dg_cfgctx *c, dg_api *a, const dg_config *cfg, json_t *o, const char *ap)
{
    char p[DG_CFG_PTR];
    if (dg__cfg_loc(c, ap, &a->loc) || !(a->config_file = dup_str(c, c->file)))
        return;
    a->name = dup_str(c, json_string_value(json_object_get(o, "name")));
    read_specs(c, a, o, ap);
    read_ref_map(c, a, json_object_get(o, "ref_map"), ap);
    read_upstreams(c, a, o, ap);
    read_tls(c, a, json_object_get(o, "tls"), ap);
    a->preserve_host = json_is_true(json_object_get(o, "preserve_host"));
    const char *l = json_string_value(json_object_get(o, "listen"));
    if (l) {
        dg_listen_addr la;
        dg_error e;
        dg__ptr_key(p, ap, "listen");
        if (dg_listen_parse(l, &la, &e))
            dg__cfg_err(c, p, 0, "%s", e.msg);
        else
            a->listen = dup_str(c, la.canonical);
    }
    read_match(c, a, json_object_get(o, "match"), ap);
    const char *prof = json_string_value(json_object_get(o, "profile"));
    int pr = prof ? profile_parse(prof) : DG_PROFILE_STRICT;
    if (pr < 0) {
        dg__ptr_key(p, ap, "profile");
        dg__cfg_err(c, p, 0, "\"%.60s\" is not one of the allowed values (strict, third-party, "
                    "report-only)", prof);
        pr = DG_PROFILE_STRICT;
    }
    dg_policy preset;
    dg_policy_preset((dg_profile)pr, &preset);
    if (dg__policy_copy(&a->policy, &preset)) {
        c->nomem = 1;
        return;
    }
    dg__ptr_key(p, ap, "policy");
    dg__policy_apply(c, json_object_get(o, "policy"), p, &a->policy, NULL);
    read_ops(c, a, json_object_get(o, "operations"), ap);
    read_explain(c, a, cfg, o, ap);
}

int dg__cfg_apis(dg_cfgctx *c, dg_config *cfg, json_t *apis)
{
    size_t n = json_array_size(apis);
    if (!n)
        return 0;
    if (!(cfg->apis = calloc(n, sizeof *cfg->apis))) {
        c->nomem = 1;
        return DG_ENOMEM;
    }
    for (size_t i = 0; i < n && !c->nomem; i++) {
        char ap[DG_CFG_PTR];
        dg__ptr_idx(ap, "/apis", i);
        /* counted first so dg_config_free releases a partly built API */
        cfg->n_apis++;
        read_api(c, &cfg->apis[i], cfg, json_array_get(apis, i), ap);
        for (size_t j = 0; j < i; j++)
            if (cfg->apis[i].name && cfg->apis[j].name &&
                !strcmp(cfg->apis[i].name, cfg->apis[j].name)) {
                char np[DG_CFG_PTR];
                dg__ptr_key(np, ap, "name");
                dg__cfg_err(c, np, 0, "API name \"%s\" is already used by /apis/%zu (names "
                            "must be unique: they label metrics)", cfg->apis[i].name, j);
            }
    }
    return c->nomem ? DG_ENOMEM : 0;
}

void dg__api_free(dg_api *a)
{
    free(a->name);
    for (size_t i = 0; i < a->n_specs; i++)
        free(a->specs[i]);
    free(a->specs);
    for (size_t i = 0; i < 2 * a->n_ref_map; i++)
        free(a->ref_map[i]);
    free(a->ref_map);
    for (size_t i = 0; i < a->n_upstreams; i++)
        dg_upstream_url_free(&a->upstreams[i]);
    free(a->upstreams);
    free(a->tls.ca_file);
    free(a->tls.client_cert);
    free(a->tls.client_key);
    free(a->tls.server_name);
    free(a->listen);
    free(a->match_host);
    free(a->match_path_prefix);
    dg__policy_free(&a->policy);
    for (size_t i = 0; i < a->n_ops; i++) {
        free(a->ops[i].operation);
        free(a->ops[i].loc.pointer);
        dg__policy_free(&a->ops[i].policy);
    }
    free(a->ops);
    free(a->config_file);
    free(a->loc.pointer);
    dg_llm_conf_clear(&a->explain);
    memset(a, 0, sizeof *a);
}
