/* policies/policies.h: driftgate's configuration and per-API policies.
 *
 * dg_config_load reads a YAML (or JSON) config file, checks it against the
 * config's own JSON Schema (policies/config.schema.json, compiled into the
 * binary and run through our validator, so every error has file:line:col and
 * a JSON pointer), then checks what a schema cannot (files exist, URLs parse,
 * listeners do not clash, names are unique; once the specs are loaded,
 * dg_config_check_operations checks that the operations it names exist). Relative
 * paths in the file are resolved against the config file's directory.
 *
 * Policies: each API has a policy; each operation may override fields of it.
 * A policy starts from a tolerance profile (strict, third-party, report-only)
 * and then applies the fields the file sets. The result is plain immutable
 * data: after loading nothing here changes, so a dg_config may be shared by
 * threads. The loader does no I/O beyond reading the config file (spec files
 * are only checked for existence: the proxy loads them).
 *
 * Defaults (README "Configuration" documents the same table):
 *   listen 127.0.0.1:8080, admin 127.0.0.1:9090, workers 0 (= cores),
 *   max_connections 4096, max_header_bytes 32768, max_headers 100,
 *   max_request_body 10 MiB, client_header_timeout 10 s,
 *   client_body_timeout 30 s, keepalive_timeout 75 s, upstream connect 5 s,
 *   upstream read 60 s, upstream write 60 s, drain_timeout 15 s,
 *   upstream pool 64 idle connections per upstream per worker,
 *   max_response_header_bytes 65536, max_inflated_bytes 64 MiB,
 *   max_inflate_ratio 100, anomaly queue 10000, log level info. */
#ifndef DG_POLICIES_POLICIES_H
#define DG_POLICIES_POLICIES_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum dg_mode { DG_MODE_OFF = 0, DG_MODE_MONITOR, DG_MODE_ENFORCE } dg_mode;
const char *dg_mode_name(dg_mode m);
int dg_mode_parse(const char *s); /* -1 when unknown */

/* What to do with a finding that is not a plain schema violation. */
typedef enum dg_handling {
    DG_HANDLE_IGNORE = 0, /* not recorded at all */
    DG_HANDLE_INFO,       /* recorded as info-level drift; the response stays valid */
    DG_HANDLE_ERROR       /* a violation: the response is invalid (enforce: 502) */
} dg_handling;
const char *dg_handling_name(dg_handling h);

typedef enum dg_profile {
    DG_PROFILE_STRICT = 0,   /* contract tests: everything is an error */
    DG_PROFILE_THIRD_PARTY,  /* extra fields and 429/502/503/504 are info */
    DG_PROFILE_REPORT_ONLY   /* monitor, everything recorded, nothing enforced */
} dg_profile;
const char *dg_profile_name(dg_profile p);

/* Where something was written in the config file, for errors found after
 * loading (dg_config_check_operations). line 0 = unknown (quick-start
 * config); pointer is owned ("" or NULL when unknown). */
typedef struct dg_conf_loc {
    unsigned line, col;
    char *pointer;
} dg_conf_loc;

/* One ignore rule: every set field must match (NULL / 0 / -1 = any).
 * pointer matches the violation's instance pointer exactly, or as a prefix
 * when it ends in "/ **" (no space), and "*" matches one segment ("/items/ * /price"
 * written without spaces). */
typedef struct dg_ignore_rule {
    char *operation;       /* operationId or "GET /pets/{id}" */
    int status;            /* exact code, or 1..5 for a class (4 = 4xx); 0 = any */
    char *pointer;
    int kind;              /* dg_kind (validate/validate.h), -1 = any */
    dg_conf_loc loc;       /* the rule in the file */
} dg_ignore_rule;

typedef struct dg_owner {
    char *team;
    char *contact;         /* e-mail, chat channel, URL: free text */
} dg_owner;

typedef struct dg_policy {
    dg_profile profile;
    dg_mode mode;
    double sample_rate;           /* 0..1 (1 = every response) */
    uint64_t max_body;            /* bytes validated per response (monitor); beyond: skipped (limit) */
    uint64_t enforce_max_body;    /* enforce holds up to this many bytes (default 8 MiB) */
    int assert_formats;           /* 1/0 (default 1 for OpenAPI) */
    int include_values;           /* raw offending values may leave the process (default 0) */
    dg_handling undocumented_fields;  /* properties not declared where additionalProperties is absent */
    dg_handling undocumented_status;  /* status not in the spec */
    int *info_statuses;           /* statuses always treated as info when undocumented (third-party: 429 502 503 504) */
    size_t n_info_statuses;
    dg_ignore_rule *ignore;
    size_t n_ignore;
    dg_owner *owners;
    size_t n_owners;
    char **redact_pointers;       /* instance pointers (same wildcard rules as ignore) always masked */
    size_t n_redact_pointers;
    char **redact_properties;     /* property names masked wherever they appear */
    size_t n_redact_properties;
} dg_policy;

/* Per-operation override: a full policy computed at load time (the API's
 * policy with the override's fields applied). */
typedef struct dg_op_policy {
    char *operation;              /* operationId or "METHOD /template" (method upper-cased) */
    dg_policy policy;
    dg_conf_loc loc;              /* the override's key in the file */
    size_t n_own_ignore;          /* the last n_own_ignore of policy.ignore are the override's own */
} dg_op_policy;

typedef struct dg_tls_opts {
    int verify;                   /* default 1 */
    char *ca_file;                /* NULL = system CAs */
    char *client_cert;            /* PEM, optional */
    char *client_key;
    char *server_name;            /* SNI / verified name; NULL = the URL's host */
} dg_tls_opts;

typedef struct dg_upstream_url {
    char *url;                    /* as written */
    int https;
    char *host;                   /* without brackets for IPv6 */
    int port;
    char *base_path;              /* "" or "/v2" (prefixed to forwarded paths) */
} dg_upstream_url;

/* LLM backends that explain drift (analyze/llm.h). */
typedef enum dg_llm_backend {
    DG_LLM_HEURISTIC = 0,         /* no model: the deterministic heuristic explainer (default) */
    DG_LLM_GEMINI,                /* Gemini API (Google AI Studio) generateContent */
    DG_LLM_VERTEX,                /* Vertex AI generateContent (publisher model) */
    DG_LLM_OLLAMA,                /* Ollama /api/chat */
    DG_LLM_OPENAI                 /* OpenAI-compatible chat completions (vLLM, Vertex MaaS) */
} dg_llm_backend;
const char *dg_llm_backend_name(dg_llm_backend b); /* "heuristic" "gemini" "vertex" "ollama" "openai" */

typedef enum dg_json_mode {
    DG_JSON_MODE_AUTO = 0,        /* ask for schema-constrained JSON; on a "not enabled" 400 fall back to prompt-only */
    DG_JSON_MODE_SCHEMA,          /* always schema-constrained */
    DG_JSON_MODE_PROMPT           /* never: the schema goes in the prompt only */
} dg_json_mode;

/* How one API's drift is explained. Top-level `explain:` sets defaults;
 * an API's `explain:` overrides fields. Secrets are never stored here: only
 * where to read them (an environment variable, a file, a command). Defaults
 * in parentheses. */
typedef struct dg_llm_conf {
    dg_llm_backend backend;       /* (heuristic) */
    char *model;                  /* (gemini gemma-4-31b-it, vertex gemma-4-31b-it, ollama gemma4:31b,
                                   * openai google/gemma-4-31B-it) */
    char *endpoint;               /* base URL (gemini https://generativelanguage.googleapis.com,
                                   * vertex https://LOCATION-aiplatform.googleapis.com,
                                   * ollama http://127.0.0.1:11434, openai http://127.0.0.1:8000) */
    char *api_key_env;            /* gemini (GEMINI_API_KEY), openai (none) */
    char *api_key_file;           /* alternative to api_key_env */
    char *token_env;              /* vertex: OAuth access token (VERTEX_ACCESS_TOKEN) */
    char *token_command;          /* vertex: command printing a token (re-run on 401) */
    char *project, *location;     /* vertex (location us-central1) */
    char *ca_file;                /* TLS bundle (system CAs); verification is always on */
    dg_json_mode json_mode;       /* (auto) */
    unsigned batch_size;          /* fingerprints per request (20) */
    uint64_t batch_interval_ms;   /* send what is pending at least this often (5m) */
    uint64_t max_prompt_tokens;   /* estimated prompt tokens per request (24000) */
    unsigned max_output_tokens;   /* (8192) */
    unsigned requests_per_minute; /* (10; 0 = no limit) */
    uint64_t daily_token_budget;  /* prompt + output tokens per UTC day (1000000; 0 = no limit) */
    uint64_t connect_timeout_ms;  /* (5s) */
    uint64_t timeout_ms;          /* whole request (120s) */
    unsigned max_attempts;        /* per request, including the first (5) */
    uint64_t backoff_initial_ms;  /* (1s; doubled per attempt, up to backoff_max, + up to 1s jitter) */
    uint64_t backoff_max_ms;      /* (60s) */
    unsigned circuit_failures;    /* consecutive failed requests that open the circuit (5) */
    uint64_t circuit_cooldown_ms; /* how long it stays open (5m) */
    uint64_t retry_failed_after_ms; /* a failed batch's drifts are retried after (30m) */
    uint64_t num_ctx;             /* ollama options.num_ctx (32768) */
    double temperature;           /* (0) */
    int64_t seed;                 /* (42) */
} dg_llm_conf;

void dg_llm_conf_default(dg_llm_conf *c);
void dg_llm_conf_clear(dg_llm_conf *c);
int dg_llm_conf_copy(dg_llm_conf *dst, const dg_llm_conf *src); /* 0 or DG_ENOMEM */

/* The drift store and the analyzer thread (analyze/analyze.h). */
typedef struct dg_store_conf {
    char *url;                    /* "sqlite:PATH" / PATH; NULL = no store (analysis off) */
    uint64_t flush_interval_ms;   /* (5s) */
    unsigned retention_days;      /* (30) */
    uint64_t busy_timeout_ms;     /* (5s) */
    uint64_t max_pending;         /* distinct drifts held between flushes (100000) */
} dg_store_conf;

typedef struct dg_api {
    char *name;                   /* [a-z0-9_.-]+, unique */
    char **specs;                 /* absolute paths, >= 1 */
    size_t n_specs;
    char **ref_map;               /* pairs: URL prefix, absolute local path (a directory
                                   * ends in '/'); 2 * n_ref_map strings */
    size_t n_ref_map;             /* number of pairs (as dg_spec_opts.n_ref_map) */
    dg_upstream_url *upstreams;   /* >= 1, used round-robin */
    size_t n_upstreams;
    dg_tls_opts tls;
    int preserve_host;            /* forward the client's Host (default 0: the upstream's) */
    /* how requests reach it: own listener, or host and/or path prefix on a
     * shared listener (the global one unless `listen` is set) */
    char *listen;                 /* "127.0.0.1:8081" or NULL = the global listener;
                                   * canonical form (see dg_listen_parse) */
    char *match_host;             /* exact, case-insensitive, port ignored; NULL = any */
    char *match_path_prefix;      /* "/payments" (segment boundary, no trailing '/'); NULL = any */
    int strip_prefix;             /* remove match_path_prefix before routing/forwarding */
    dg_policy policy;
    dg_op_policy *ops;
    size_t n_ops;
    dg_llm_conf explain;          /* the top-level `explain:` with the API's fields applied */
    char *config_file;            /* the config file as named by the user, for errors; NULL for quick start */
    dg_conf_loc loc;              /* the API's entry in the file */
} dg_api;

typedef struct dg_limits {
    uint64_t max_connections;     /* per process */
    uint64_t max_header_bytes;    /* request head */
    uint64_t max_headers;
    uint64_t max_request_body;
    uint64_t max_response_header_bytes;
    uint64_t client_header_timeout_ms;
    uint64_t client_body_timeout_ms;
    uint64_t keepalive_timeout_ms;
    uint64_t upstream_connect_timeout_ms;
    uint64_t upstream_read_timeout_ms;
    uint64_t upstream_write_timeout_ms;
    uint64_t drain_timeout_ms;
    uint64_t upstream_pool_size;
    uint64_t max_inflated_bytes;
    uint64_t max_inflate_ratio;
} dg_limits;

typedef struct dg_config {
    char *path;                   /* absolute path of the file (NULL for a quick-start config) */
    char *listen;                 /* global listener (canonical form, see dg_listen_parse) */
    char *admin;                  /* admin listener (canonical form) */
    unsigned workers;             /* 0 = number of cores */
    char *log_file;               /* NULL = stderr */
    int log_level;                /* dg_log_level */
    char *anomaly_file;           /* JSONL consumer output, NULL = none */
    uint64_t anomaly_queue_size;
    dg_store_conf store;          /* `store:` (url NULL = no drift store) */
    dg_llm_conf explain;          /* top-level `explain:` (each API's starts from it) */
    dg_limits limits;
    dg_api *apis;
    size_t n_apis;
} dg_config;

/* Loads and checks path. On failure returns DG_EPARSE/DG_EINVAL/DG_EIO and
 * fills errs with up to max_errs errors (each with file:line:col and
 * pointer; *n_errs says how many, the first is also the return's reason).
 * errs may be NULL (then only the first error goes into err). The caller
 * owns *out (dg_config_free). */
int dg_config_load(const char *path, dg_config **out, dg_error *errs, size_t max_errs,
                   size_t *n_errs);

/* A config for `driftgate run --spec --upstream ...`: one API named after the
 * spec file's base name, the strict profile with the given mode, defaults
 * for the rest. listen/admin may be NULL for the defaults. */
int dg_config_quick(const char *spec, const char *upstream, const char *listen,
                    const char *admin, dg_mode mode, dg_config **out, dg_error *err);

void dg_config_free(dg_config *c);
/* Replaces an API's policy with a profile's preset (quick start's
 * --profile). preset_mode 1: the preset's mode; 0: keep the API's.
 * 0 or DG_ENOMEM (the API then has the preset without lists). */
int dg_api_set_profile(dg_api *api, dg_profile p, int preset_mode);

/* The spec-aware part of checking an API, once its specs are loaded (by
 * check-config, and by the proxy at load/reload): every `operations:` key
 * and every ignore rule's `operation` must name an operation of one of the
 * routers (an operationId, or "METHOD /template" of an operation that has no
 * operationId), and no two keys may name the same operation. Errors carry
 * the config file's file:line:col and pointer. Returns 0, or DG_EINVAL with
 * up to max errors in errs (may be NULL) and their count in *n_errs (may
 * be NULL). Borrows everything. */
struct dg_router;
int dg_config_check_operations(const dg_api *api, const struct dg_router *const *routers, size_t n,
                               dg_error *errs, size_t max, size_t *n_errs);

/* The listener an API is reached on: its own, else the config's global one.
 * Borrowed from c. */
const char *dg_api_listener(const dg_config *c, const dg_api *api);

/* The profile's preset policy (before file fields are applied). */
void dg_policy_preset(dg_profile p, dg_policy *out);

/* Effective policy for an operation of an API: the override whose
 * `operation` equals op_label or op_id (either may be NULL), else the API's. */
const dg_policy *dg_policy_for_operation(const dg_api *api, const char *op_id,
                                         const char *op_label);

/* 1 when the rule list ignores a violation (kind is a dg_kind). */
int dg_policy_ignores(const dg_policy *p, const char *op_id, const char *op_label, int status,
                      const char *instance_pointer, int kind);
/* 1 when the instance pointer must be masked (redact_pointers match, or any
 * of its segments is one of redact_properties). */
int dg_policy_masks(const dg_policy *p, const char *instance_pointer);
/* Pointer pattern match used by ignore and redact rules ("*" = one segment,
 * trailing "/ **" written without the space = any suffix). */
int dg_pointer_match(const char *pattern, const char *pointer);

/* Who owns an operation's drift: the policy's first owner, else the
 * spec's `x-owner` (on the operation, then on the operation's first tag's
 * entry in the root `tags`, then in `info`, then at the root), else the
 * operation's first tag, else "unowned". spec_root/operation may be NULL.
 * Borrowed from the arguments (or a literal). */
struct json_t;
const char *dg_owner_resolve(const dg_policy *p, const struct json_t *spec_root,
                             const struct json_t *operation);

/* Parses "10s", "250ms", "2m", "1h" or a plain number of milliseconds. */
int dg_parse_duration_ms(const char *s, uint64_t *out);
/* Parses "8MiB", "512KiB", "1GiB", "100kB", "1MB" or plain bytes. */
int dg_parse_size(const char *s, uint64_t *out);
/* Parses an upstream URL: http:// or https://, host (name, IPv4, [IPv6]),
 * optional port, optional base path; no userinfo, query or fragment. */
int dg_upstream_parse(const char *url, dg_upstream_url *out, dg_error *err);
void dg_upstream_url_free(dg_upstream_url *u);

/* A listen address "host:port" or "[v6]:port" (port 1..65535; host a name,
 * IPv4 or IPv6 address). canonical is host lower-cased, IPv6 in brackets,
 * port in decimal without leading zeros: the form stored in dg_config, so
 * equal listeners compare equal with strcmp. wildcard: 0.0.0.0 or ::. */
typedef struct dg_listen_addr {
    char host[256];               /* without brackets */
    int port;
    int wildcard;
    char canonical[270];
} dg_listen_addr;
int dg_listen_parse(const char *s, dg_listen_addr *out, dg_error *err);

#endif
