/* policies/config.c: dg_config_load (read, schema-check, build, cross-check),
 * the quick-start config, and freeing.
 *
 * A load runs in three passes so the user sees every mistake at once: the
 * document must parse; it must satisfy the config schema (when it does not,
 * building is skipped: the code below may then rely on the schema's types);
 * then values are turned into the dg_config and what a schema cannot say is
 * checked (files, URLs, listeners, names), errors collected as they come. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "policies/policies_internal.h"

/* Config files are a few KiB; anything this large is a mistake. */
#define CONFIG_MAX_BYTES (4u << 20)

static void defaults(dg_config *c)
{
    c->workers = 0;
    c->log_level = DG_LOG_INFO;
    c->anomaly_queue_size = 10000;
    dg__store_conf_default(&c->store);
    dg_llm_conf_default(&c->explain);
    dg_limits *l = &c->limits;
    l->max_connections = 4096;
    l->max_header_bytes = 32768;
    l->max_headers = 100;
    l->max_request_body = 10ull << 20;
    l->max_response_header_bytes = 65536;
    l->client_header_timeout_ms = 10000;
    l->client_body_timeout_ms = 30000;
    l->keepalive_timeout_ms = 75000;
    l->upstream_connect_timeout_ms = 5000;
    l->upstream_read_timeout_ms = 60000;
    l->upstream_write_timeout_ms = 60000;
    l->drain_timeout_ms = 15000;
    l->upstream_pool_size = 64;
    l->max_inflated_bytes = 64ull << 20;
    l->max_inflate_ratio = 100;
}

const char *dg_api_listener(const dg_config *c, const dg_api *api)
{
    return api->listen ? api->listen : c->listen;
}

/* ---- limits ---- */

enum { LIM_COUNT, LIM_SIZE, LIM_DURATION };
static const struct {
    const char *key;
    size_t off;
    int type;
    int zero_ok;
} limit_keys[] = {
    {"max_connections", offsetof(dg_limits, max_connections), LIM_COUNT, 0},
    {"max_header_bytes", offsetof(dg_limits, max_header_bytes), LIM_SIZE, 0},
    {"max_headers", offsetof(dg_limits, max_headers), LIM_COUNT, 0},
    {"max_request_body", offsetof(dg_limits, max_request_body), LIM_SIZE, 1},
    {"max_response_header_bytes", offsetof(dg_limits, max_response_header_bytes), LIM_SIZE, 0},
    {"client_header_timeout", offsetof(dg_limits, client_header_timeout_ms), LIM_DURATION, 0},
    {"client_body_timeout", offsetof(dg_limits, client_body_timeout_ms), LIM_DURATION, 0},
    {"keepalive_timeout", offsetof(dg_limits, keepalive_timeout_ms), LIM_DURATION, 0},
    {"upstream_connect_timeout", offsetof(dg_limits, upstream_connect_timeout_ms), LIM_DURATION, 0},
    {"upstream_read_timeout", offsetof(dg_limits, upstream_read_timeout_ms), LIM_DURATION, 0},
    {"upstream_write_timeout", offsetof(dg_limits, upstream_write_timeout_ms), LIM_DURATION, 0},
    {"drain_timeout", offsetof(dg_limits, drain_timeout_ms), LIM_DURATION, 1},
    {"upstream_pool_size", offsetof(dg_limits, upstream_pool_size), LIM_COUNT, 1},
    {"max_inflated_bytes", offsetof(dg_limits, max_inflated_bytes), LIM_SIZE, 0},
    {"max_inflate_ratio", offsetof(dg_limits, max_inflate_ratio), LIM_COUNT, 0},
};

static void read_limits(dg_cfgctx *c, dg_limits *l, json_t *o)
{
    for (size_t i = 0; i < sizeof limit_keys / sizeof *limit_keys; i++) {
        json_t *v = json_object_get(o, limit_keys[i].key);
        if (!v)
            continue;
        char p[DG_CFG_PTR];
        dg__ptr_key(p, "/limits", limit_keys[i].key);
        uint64_t x = 0;
        int t = limit_keys[i].type, bad = 0;
        if (json_is_integer(v))
            bad = json_integer_value(v) < 0, x = (uint64_t)json_integer_value(v);
        else if (t == LIM_SIZE && json_is_string(v))
            bad = dg_parse_size(json_string_value(v), &x) != 0;
        else if (t == LIM_DURATION && json_is_string(v))
            bad = dg_parse_duration_ms(json_string_value(v), &x) != 0;
        else
            bad = 1;
        if (bad) {
            dg__cfg_err(c, p, 0, t == LIM_SIZE ? "must be a size such as \"8MiB\" or an integer of bytes"
                        : t == LIM_DURATION ? "must be a duration such as \"10s\" or an integer of "
                                              "milliseconds" : "must be a non-negative integer");
            continue;
        }
        if (!x && !limit_keys[i].zero_ok) {
            dg__cfg_err(c, p, 0, "must be greater than 0");
            continue;
        }
        *(uint64_t *)(void *)((char *)l + limit_keys[i].off) = x;
    }
}

/* ---- top level ---- */

/* A file the proxy will write: its directory must exist. */
static char *writable_path(dg_cfgctx *c, const char *path, const char *ptr)
{
    if (!path || !strcmp(path, "-"))
        return NULL;
    char *abs = dg__path_join(c->dir, path);
    if (!abs) {
        c->nomem = 1;
        return NULL;
    }
    char *slash = strrchr(abs, '/');
    struct stat st;
    if (slash && slash != abs) {
        *slash = '\0';
        int ok = !stat(abs, &st) && S_ISDIR(st.st_mode);
        if (!ok)
            dg__cfg_err(c, ptr, 0, "directory \"%.200s\" does not exist", abs);
        *slash = '/';
    }
    if (!stat(abs, &st) && S_ISDIR(st.st_mode))
        dg__cfg_err(c, ptr, 0, "\"%.200s\" is a directory, not a file", abs);
    return abs;
}

static char *read_listen(dg_cfgctx *c, json_t *v, const char *ptr, const char *def)
{
    const char *s = json_is_string(v) ? json_string_value(v) : def;
    dg_listen_addr la;
    dg_error e;
    if (dg_listen_parse(s, &la, &e)) {
        dg__cfg_err(c, ptr, 0, "%s", e.msg);
        s = def;
    } else {
        s = la.canonical;
    }
    char *r = strdup(s);
    if (!r)
        c->nomem = 1;
    return r;
}

static void read_top(dg_cfgctx *c, dg_config *cfg, json_t *root)
{
    cfg->listen = read_listen(c, json_object_get(root, "listen"), "/listen", "127.0.0.1:8080");
    cfg->admin = read_listen(c, json_object_get(root, "admin"), "/admin", "127.0.0.1:9090");
    json_t *v = json_object_get(root, "workers");
    if (json_is_integer(v))
        cfg->workers = (unsigned)json_integer_value(v);
    json_t *log = json_object_get(root, "log");
    cfg->log_file = writable_path(c, json_string_value(json_object_get(log, "file")), "/log/file");
    const char *lvl = json_string_value(json_object_get(log, "level"));
    if (lvl) {
        static const char *const names[] = {"debug", "info", "warn", "error"};
        static const int levels[] = {DG_LOG_DEBUG, DG_LOG_INFO, DG_LOG_WARN, DG_LOG_ERROR};
        int found = 0;
        for (int i = 0; i < 4; i++)
            if (!strcmp(lvl, names[i]))
                cfg->log_level = levels[i], found = 1;
        if (!found)
            dg__cfg_err(c, "/log/level", 0, "\"%.60s\" is not one of the allowed values (debug, "
                        "info, warn, error)", lvl);
    }
    json_t *an = json_object_get(root, "anomalies");
    cfg->anomaly_file = writable_path(c, json_string_value(json_object_get(an, "file")),
                                      "/anomalies/file");
    if (json_is_integer(v = json_object_get(an, "queue_size")) && json_integer_value(v) > 0)
        cfg->anomaly_queue_size = (uint64_t)json_integer_value(v);
    read_limits(c, &cfg->limits, json_object_get(root, "limits"));
    dg__cfg_store(c, cfg, json_object_get(root, "store"));
    dg__cfg_explain(c, json_object_get(root, "explain"), "/explain", &cfg->explain);
}

/* ---- listeners ---- */

/* Two listen addresses that cannot both be bound: equal, or the same port
 * with one of them a wildcard address (on Linux [::] also takes IPv4). */
static int overlaps(const char *a, const char *b)
{
    dg_listen_addr x, y;
    if (dg_listen_parse(a, &x, NULL) || dg_listen_parse(b, &y, NULL))
        return 0;
    if (!strcmp(x.canonical, y.canonical))
        return 1;
    return x.port == y.port && (x.wildcard || y.wildcard);
}

static int same_opt(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static void check_listeners(dg_cfgctx *c, const dg_config *cfg)
{
    char p[DG_CFG_PTR];
    /* The distinct listeners, first where each is set: the global one (the
     * proxy always opens it) and every API's own. */
    const char **addr = calloc(cfg->n_apis + 1, sizeof *addr);
    size_t *who = calloc(cfg->n_apis + 1, sizeof *who); /* 0 = global, i + 1 = API i */
    size_t nl = 0;
    if (!addr || !who) {
        c->nomem = 1;
        goto out;
    }
    addr[nl++] = cfg->listen;
    for (size_t i = 0; i < cfg->n_apis; i++) {
        const char *l = cfg->apis[i].listen;
        size_t j = 0;
        while (l && j < nl && strcmp(addr[j], l))
            j++;
        if (l && j == nl) {
            who[nl] = i + 1;
            addr[nl++] = l;
        }
    }
    for (size_t k = 0; k < nl; k++) {
        if (who[k])
            snprintf(p, sizeof p, "/apis/%zu/listen", who[k] - 1);
        else
            snprintf(p, sizeof p, "/listen");
        if (overlaps(cfg->admin, addr[k]))
            dg__cfg_err(c, who[k] ? p : "/admin", 0, "the admin listener %s must differ from the "
                        "proxy listener %s", cfg->admin, addr[k]);
        for (size_t j = 0; j < k; j++)
            if (overlaps(addr[j], addr[k])) {
                dg__cfg_err(c, p, 0, "listener %s overlaps listener %s (same port, one binds "
                            "every address): write the same address to share a listener",
                            addr[k], addr[j]);
                break;
            }
    }
    /* APIs sharing a listener must be told apart by match */
    for (size_t i = 0; i < cfg->n_apis; i++) {
        const dg_api *a = &cfg->apis[i];
        const char *li = dg_api_listener(cfg, a);
        for (size_t j = 0; j < i; j++) {
            const dg_api *b = &cfg->apis[j];
            if (strcmp(li, dg_api_listener(cfg, b)) || !same_opt(a->match_host, b->match_host) ||
                !same_opt(a->match_path_prefix, b->match_path_prefix))
                continue;
            json_t *ao = json_array_get(json_object_get(dg_doc_root(c->doc), "apis"), i);
            snprintf(p, sizeof p, "/apis/%zu%s", i, json_object_get(ao, "match") ? "/match" : "");
            if (!a->match_host && !a->match_path_prefix)
                dg__cfg_err(c, p, 0, "APIs \"%s\" and \"%s\" both take every request on %s: at "
                            "most one API per listener may have no match (give one a match.host "
                            "or match.path_prefix, or its own listen)",
                            b->name ? b->name : "?", a->name ? a->name : "?", li);
            else
                dg__cfg_err(c, p, 0, "API \"%s\" cannot be told apart from API \"%s\" on %s: "
                            "same match.host and match.path_prefix", a->name ? a->name : "?",
                            b->name ? b->name : "?", li);
            break;
        }
    }
out:
    free((void *)addr);
    free(who);
}

/* ---- load ---- */

/* Reads the file (bounded, regular files only). 0 or a DG_E* with err. */
static int slurp(const char *path, char **out, size_t *len, dg_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return dg_error_set(err, DG_EIO, "cannot open: %s", strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return dg_error_set(err, DG_EIO, "not a regular file");
    }
    if (st.st_size > (off_t)CONFIG_MAX_BYTES) {
        close(fd);
        return dg_error_set(err, DG_EIO, "larger than 4 MiB: not a config file");
    }
    char *b = malloc((size_t)st.st_size + 1);
    size_t n = 0;
    if (!b) {
        close(fd);
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    while (n < (size_t)st.st_size) {
        ssize_t r = read(fd, b + n, (size_t)st.st_size - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = '\0';
    *out = b;
    *len = n;
    return 0;
}

static void store_err(dg_cfgctx *c, const dg_error *e)
{
    c->total++;
    if (c->errs && c->n < c->max)
        c->errs[c->n++] = *e;
}

int dg_config_load(const char *path, dg_config **out, dg_error *errs, size_t max_errs,
                   size_t *n_errs)
{
    *out = NULL;
    dg_cfgctx c = {.file = path, .errs = errs, .max = errs ? max_errs : 0};
    dg_config *cfg = NULL;
    char *text = NULL, *abs = NULL, *dir = NULL;
    dg_error e;
    size_t len = 0;
    int rc = slurp(path, &text, &len, &e);
    if (rc) {
        dg_error_locate(&e, path, 0, 0, NULL);
        store_err(&c, &e);
        goto done;
    }
    c.text = text;
    c.text_len = len;
    if ((rc = dg_doc_load_buffer(path, text, len, DG_DOC_AUTO, &c.doc, &e))) {
        dg_error_locate(&e, path, 0, 0, NULL);
        store_err(&c, &e);
        goto done;
    }
    int nv = dg__cfg_schema_check(&c);
    if (nv < 0) {
        dg_error_set(&e, nv, "the built-in config schema cannot be used (a build defect)");
        store_err(&c, &e);
        rc = nv;
        goto done;
    }
    if (nv > 0) {
        rc = DG_EINVAL;
        goto done;
    }
    /* relative paths are relative to the config file's directory */
    if (!(abs = realpath(path, NULL)) || !(dir = strdup(abs))) {
        rc = dg_error_set(&e, abs ? DG_ENOMEM : DG_EIO, "cannot resolve the path: %s",
                          strerror(errno));
        store_err(&c, &e);
        goto done;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';
    c.dir = dir;
    if (!(cfg = calloc(1, sizeof *cfg))) {
        rc = DG_ENOMEM;
        goto done;
    }
    defaults(cfg);
    cfg->path = abs;
    abs = NULL;
    json_t *root = dg_doc_root(c.doc);
    read_top(&c, cfg, root);
    if (!c.nomem)
        dg__cfg_apis(&c, cfg, json_object_get(root, "apis"));
    if (!c.nomem && cfg->listen && cfg->admin)
        check_listeners(&c, cfg);
    rc = c.nomem ? DG_ENOMEM : c.total ? DG_EINVAL : 0;
    if (c.nomem) {
        dg_error_set(&e, DG_ENOMEM, "out of memory loading the config");
        store_err(&c, &e);
    }
done:
    if (rc) {
        dg_config_free(cfg);
        cfg = NULL;
    }
    *out = cfg;
    if (n_errs)
        *n_errs = c.n;
    dg_doc_free(c.doc);
    free(text);
    free(abs);
    free(dir);
    return rc;
}

/* ---- quick start ---- */

/* "specs/Pet Store.v2.yaml" -> "pet_store.v2" */
static char *name_from_spec(const char *spec)
{
    const char *base = strrchr(spec, '/');
    base = base ? base + 1 : spec;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (n > 64)
        n = 64;
    char *r = malloc(n + 4);
    if (!r)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char ch = base[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (char)(ch - 'A' + 'a');
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
                 ch == '-';
        r[i] = ok ? ch : '_';
    }
    r[n] = '\0';
    if (!n)
        memcpy(r, "api", 4);
    return r;
}

int dg_config_quick(const char *spec, const char *upstream, const char *listen,
                    const char *admin, dg_mode mode, dg_config **out, dg_error *err)
{
    *out = NULL;
    struct stat st;
    if (!spec || stat(spec, &st) || !S_ISREG(st.st_mode))
        return dg_error_set(err, DG_EIO, "spec \"%.200s\" %s", spec ? spec : "",
                            spec && !stat(spec, &st) ? "is not a regular file" : "does not exist");
    dg_listen_addr la, aa;
    int rc;
    if ((rc = dg_listen_parse(listen ? listen : "127.0.0.1:8080", &la, err)) ||
        (rc = dg_listen_parse(admin ? admin : "127.0.0.1:9090", &aa, err)))
        return rc;
    if (overlaps(la.canonical, aa.canonical))
        return dg_error_set(err, DG_EINVAL, "the admin listener %s must differ from the proxy "
                            "listener %s", aa.canonical, la.canonical);
    dg_config *c = calloc(1, sizeof *c);
    if (!c)
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    defaults(c);
    c->listen = strdup(la.canonical);
    c->admin = strdup(aa.canonical);
    c->apis = calloc(1, sizeof *c->apis);
    if (!c->listen || !c->admin || !c->apis)
        goto nomem;
    c->n_apis = 1;
    dg_api *a = &c->apis[0];
    a->tls.verify = 1;
    if (!(a->name = name_from_spec(spec)) || !(a->specs = calloc(1, sizeof *a->specs)) ||
        !(a->specs[0] = realpath(spec, NULL)) || !(a->upstreams = calloc(1, sizeof *a->upstreams)))
        goto nomem;
    a->n_specs = 1;
    if ((rc = dg_upstream_parse(upstream, &a->upstreams[0], err))) {
        dg_config_free(c);
        return rc;
    }
    a->n_upstreams = 1;
    dg_policy preset;
    dg_policy_preset(DG_PROFILE_STRICT, &preset);
    if (dg__policy_copy(&a->policy, &preset))
        goto nomem;
    a->policy.mode = mode;
    if (dg_llm_conf_copy(&a->explain, &c->explain))
        goto nomem;
    *out = c;
    return 0;
nomem:
    dg_config_free(c);
    return dg_error_set(err, DG_ENOMEM, "out of memory");
}

int dg_api_set_profile(dg_api *api, dg_profile p, int preset_mode)
{
    dg_mode mode = api->policy.mode;
    dg_policy preset;
    dg_policy_preset(p, &preset);
    dg__policy_free(&api->policy);
    int rc = dg__policy_copy(&api->policy, &preset);
    if (!preset_mode)
        api->policy.mode = mode;
    return rc;
}

void dg_config_free(dg_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_apis; i++)
        dg__api_free(&c->apis[i]);
    free(c->apis);
    free(c->path);
    free(c->listen);
    free(c->admin);
    free(c->log_file);
    free(c->anomaly_file);
    free(c->store.url);
    dg_llm_conf_clear(&c->explain);
    free(c);
}
