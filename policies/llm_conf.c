/* policies/llm_conf.c: the explain settings (dg_llm_conf) and owner
 * resolution. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "policies/policies.h"

const char *dg_llm_backend_name(dg_llm_backend b)
{
    static const char *n[] = {"heuristic", "gemini", "vertex", "ollama", "openai"};
    return (unsigned)b < sizeof n / sizeof n[0] ? n[b] : "heuristic";
}

void dg_llm_conf_default(dg_llm_conf *c)
{
    memset(c, 0, sizeof *c);
    c->backend = DG_LLM_HEURISTIC;
    c->json_mode = DG_JSON_MODE_AUTO;
    c->batch_size = 20;
    c->batch_interval_ms = 5 * 60 * 1000;
    c->max_prompt_tokens = 24000;
    c->max_output_tokens = 8192;
    c->requests_per_minute = 10;
    c->daily_token_budget = 1000000;
    c->connect_timeout_ms = 5000;
    c->timeout_ms = 120000;
    c->max_attempts = 5;
    c->backoff_initial_ms = 1000;
    c->backoff_max_ms = 60000;
    c->circuit_failures = 5;
    c->circuit_cooldown_ms = 5 * 60 * 1000;
    c->retry_failed_after_ms = 30 * 60 * 1000;
    c->num_ctx = 32768;
    c->temperature = 0;
    c->seed = 42;
}

/* The owned strings of a dg_llm_conf. */
static const size_t str_off[] = {
    offsetof(dg_llm_conf, model),       offsetof(dg_llm_conf, endpoint),
    offsetof(dg_llm_conf, api_key_env), offsetof(dg_llm_conf, api_key_file),
    offsetof(dg_llm_conf, token_env),   offsetof(dg_llm_conf, token_command),
    offsetof(dg_llm_conf, project),     offsetof(dg_llm_conf, location),
    offsetof(dg_llm_conf, ca_file)};
#define N_STR (sizeof str_off / sizeof str_off[0])

static char **field(dg_llm_conf *c, size_t i)
{
    return (char **)(void *)((char *)c + str_off[i]);
}

void dg_llm_conf_clear(dg_llm_conf *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < N_STR; i++)
        free(*field(c, i));
    memset(c, 0, sizeof *c);
}

int dg_llm_conf_copy(dg_llm_conf *dst, const dg_llm_conf *src)
{
    *dst = *src;
    for (size_t i = 0; i < N_STR; i++) {
        char **f = field(dst, i);
        if (*f && !(*f = strdup(*f))) {
            for (size_t j = i + 1; j < N_STR; j++)
                *field(dst, j) = NULL;
            dg_llm_conf_clear(dst);
            return DG_ENOMEM;
        }
    }
    return 0;
}

static const char *str_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) && json_string_length(v) ? json_string_value(v) : NULL;
}

const char *dg_owner_resolve(const dg_policy *p, const struct json_t *spec_root,
                             const struct json_t *operation)
{
    if (p && p->n_owners && p->owners[0].team && p->owners[0].team[0])
        return p->owners[0].team;
    const char *o = str_of(operation, "x-owner");
    if (o)
        return o;
    const json_t *tags = json_object_get(operation, "tags");
    const char *tag = json_is_array(tags) ? json_string_value(json_array_get(tags, 0)) : NULL;
    if (tag && tag[0]) {
        const json_t *defs = json_object_get(spec_root, "tags");
        size_t i;
        const json_t *d;
        json_array_foreach(defs, i, d) {
            const char *name = str_of(d, "name");
            if (name && !strcmp(name, tag) && (o = str_of(d, "x-owner")))
                return o;
        }
    }
    if ((o = str_of(json_object_get(spec_root, "info"), "x-owner")) ||
        (o = str_of(spec_root, "x-owner")))
        return o;
    return tag && tag[0] ? tag : "unowned";
}
