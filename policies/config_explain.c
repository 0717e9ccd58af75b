/* policies/config_explain.c: the `store:` and `explain:` sections.
 *
 * The schema has already checked types and ranges; here durations are
 * parsed, files resolved, per-backend defaults filled in and the settings a
 * backend cannot work without are demanded (a vertex project, ...). An
 * API's `explain:` starts from the top-level one. */
#include <stdlib.h>
#include <string.h>

#include "policies/policies_internal.h"

void dg__store_conf_default(dg_store_conf *s)
{
    memset(s, 0, sizeof *s);
    s->flush_interval_ms = 5000;
    s->retention_days = 30;
    s->busy_timeout_ms = 5000;
    s->max_pending = 100000;
}

/* Reads a duration at o[key] (schema: integer ms or a string). */
static void duration(dg_cfgctx *c, json_t *o, const char *ptr, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return;
    char p[DG_CFG_PTR];
    dg__ptr_key(p, ptr, key);
    uint64_t x;
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        x = (uint64_t)json_integer_value(v);
    else if (!json_is_string(v) || dg_parse_duration_ms(json_string_value(v), &x)) {
        dg__cfg_err(c, p, 0, "must be a duration such as \"10s\" or an integer of milliseconds");
        return;
    }
    if (!x) {
        dg__cfg_err(c, p, 0, "must be greater than 0");
        return;
    }
    *out = x;
}

static void set_str(dg_cfgctx *c, char **dst, const char *v)
{
    if (!v)
        return;
    char *d = strdup(v);
    if (!d) {
        c->nomem = 1;
        return;
    }
    free(*dst);
    *dst = d;
}

void dg__cfg_store(dg_cfgctx *c, dg_config *cfg, json_t *o)
{
    if (!json_is_object(o))
        return;
    const char *path = json_string_value(json_object_get(o, "path"));
    if (path) {
        /* "sqlite:" prefix kept; a relative file is relative to the config */
        const char *file = !strncmp(path, "sqlite:", 7) ? path + 7 : path;
        if (!strncmp(file, "//", 2))
            file += 2;
        if (!strncmp(path, "postgres://", 11) || !strncmp(path, "postgresql://", 13)) {
            dg__cfg_err(c, "/store/path", 0, "PostgreSQL stores are not built into this "
                        "driftgate: use a SQLite file");
        } else {
            char *abs = dg__path_join(c->dir, file);
            if (!abs)
                c->nomem = 1;
            cfg->store.url = abs;
        }
    }
    duration(c, o, "/store", "flush_interval", &cfg->store.flush_interval_ms);
    duration(c, o, "/store", "busy_timeout", &cfg->store.busy_timeout_ms);
    json_t *v;
    if (json_is_integer(v = json_object_get(o, "retention_days")))
        cfg->store.retention_days = (unsigned)json_integer_value(v);
    if (json_is_integer(v = json_object_get(o, "max_pending")))
        cfg->store.max_pending = (uint64_t)json_integer_value(v);
}

static const struct {
    const char *key;
    size_t off;
} str_keys[] = {
    {"model", offsetof(dg_llm_conf, model)},
    {"endpoint", offsetof(dg_llm_conf, endpoint)},
    {"api_key_env", offsetof(dg_llm_conf, api_key_env)},
    {"token_env", offsetof(dg_llm_conf, token_env)},
    {"token_command", offsetof(dg_llm_conf, token_command)},
    {"project", offsetof(dg_llm_conf, project)},
    {"location", offsetof(dg_llm_conf, location)},
};

static const struct {
    const char *key;
    size_t off;
} dur_keys[] = {
    {"batch_interval", offsetof(dg_llm_conf, batch_interval_ms)},
    {"connect_timeout", offsetof(dg_llm_conf, connect_timeout_ms)},
    {"timeout", offsetof(dg_llm_conf, timeout_ms)},
    {"backoff_initial", offsetof(dg_llm_conf, backoff_initial_ms)},
    {"backoff_max", offsetof(dg_llm_conf, backoff_max_ms)},
    {"circuit_cooldown", offsetof(dg_llm_conf, circuit_cooldown_ms)},
    {"retry_failed_after", offsetof(dg_llm_conf, retry_failed_after_ms)},
};

/* A file the loader must be able to read: resolved and checked. */
static void file_key(dg_cfgctx *c, json_t *o, const char *ptr, const char *key, char **dst)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (!v)
        return;
    char p[DG_CFG_PTR];
    dg__ptr_key(p, ptr, key);
    char *abs = dg__path_join(c->dir, v);
    if (!abs) {
        c->nomem = 1;
        return;
    }
    FILE *f = fopen(abs, "r");
    if (!f)
        dg__cfg_err(c, p, 0, "cannot read \"%.200s\"", abs);
    else
        fclose(f);
    free(*dst);
    *dst = abs;
}

void dg__cfg_explain(dg_cfgctx *c, json_t *o, const char *ptr, dg_llm_conf *e)
{
    if (!json_is_object(o))
        return;
    const char *b = json_string_value(json_object_get(o, "backend"));
    if (b) {
        for (int i = DG_LLM_HEURISTIC; i <= DG_LLM_OPENAI; i++)
            if (!strcmp(b, dg_llm_backend_name((dg_llm_backend)i)) &&
                e->backend != (dg_llm_backend)i) {
                /* another backend: its own defaults, not the previous one's */
                e->backend = (dg_llm_backend)i;
                free(e->model);
                free(e->endpoint);
                e->model = e->endpoint = NULL;
            }
    }
    for (size_t i = 0; i < sizeof str_keys / sizeof *str_keys; i++)
        set_str(c, (char **)(void *)((char *)e + str_keys[i].off),
                json_string_value(json_object_get(o, str_keys[i].key)));
    file_key(c, o, ptr, "api_key_file", &e->api_key_file);
    file_key(c, o, ptr, "ca_file", &e->ca_file);
    for (size_t i = 0; i < sizeof dur_keys / sizeof *dur_keys; i++)
        duration(c, o, ptr, dur_keys[i].key, (uint64_t *)(void *)((char *)e + dur_keys[i].off));
    const char *jm = json_string_value(json_object_get(o, "json_mode"));
    if (jm)
        e->json_mode = !strcmp(jm, "schema") ? DG_JSON_MODE_SCHEMA
                       : !strcmp(jm, "prompt") ? DG_JSON_MODE_PROMPT : DG_JSON_MODE_AUTO;
    json_t *v;
#define INT_KEY(k, field, type)                                                                \
    if (json_is_integer(v = json_object_get(o, k)))                                            \
        e->field = (type)json_integer_value(v);
    INT_KEY("batch_size", batch_size, unsigned)
    INT_KEY("max_prompt_tokens", max_prompt_tokens, uint64_t)
    INT_KEY("max_output_tokens", max_output_tokens, unsigned)
    INT_KEY("requests_per_minute", requests_per_minute, unsigned)
    INT_KEY("daily_token_budget", daily_token_budget, uint64_t)
    INT_KEY("max_attempts", max_attempts, unsigned)
    INT_KEY("circuit_failures", circuit_failures, unsigned)
    INT_KEY("num_ctx", num_ctx, uint64_t)
    INT_KEY("seed", seed, int64_t)
#undef INT_KEY
    if (json_is_number(v = json_object_get(o, "temperature")))
        e->temperature = json_number_value(v);
    if (e->backoff_max_ms < e->backoff_initial_ms) {
        char p[DG_CFG_PTR];
        dg__ptr_key(p, ptr, "backoff_max");
        dg__cfg_err(c, p, 0, "must not be shorter than backoff_initial");
    }
}

/* Fills what the backend needs and was not given, and demands what it cannot
 * default. ptr: where to report (the API's explain, or its entry). */
void dg__cfg_explain_finish(dg_cfgctx *c, dg_llm_conf *e, const char *ptr)
{
    static const char *const models[] = {NULL, "gemma-4-31b-it", "gemma-4-31b-it", "gemma4:31b",
                                         "google/gemma-4-31B-it"};
    if (e->backend == DG_LLM_HEURISTIC)
        return;
    if (!e->model)
        set_str(c, &e->model, models[e->backend]);
    if (e->backend == DG_LLM_GEMINI && !e->api_key_env && !e->api_key_file)
        set_str(c, &e->api_key_env, "GEMINI_API_KEY");
    if (e->backend == DG_LLM_VERTEX) {
        if (!e->project)
            dg__cfg_err(c, ptr, 0, "the vertex backend needs explain.project (a Google Cloud "
                        "project id)");
        if (!e->location)
            set_str(c, &e->location, "us-central1");
        if (!e->token_env && !e->token_command)
            set_str(c, &e->token_env, "VERTEX_ACCESS_TOKEN");
    }
    if (!e->endpoint) {
        char buf[256];
        const char *ep = e->backend == DG_LLM_GEMINI   ? "https://generativelanguage.googleapis.com"
                         : e->backend == DG_LLM_OLLAMA ? "http://127.0.0.1:11434"
                         : e->backend == DG_LLM_OPENAI ? "http://127.0.0.1:8000"
                                                       : NULL;
        if (!ep) {
            const char *loc = e->location ? e->location : "us-central1";
            if (!strcmp(loc, "global"))
                snprintf(buf, sizeof buf, "https://aiplatform.googleapis.com");
            else
                snprintf(buf, sizeof buf, "https://%.100s-aiplatform.googleapis.com", loc);
            ep = buf;
        }
        set_str(c, &e->endpoint, ep);
    } else {
        size_t n = strlen(e->endpoint);
        while (n > 8 && e->endpoint[n - 1] == '/')
            e->endpoint[--n] = '\0';
    }
}
