/* analyze/llm_wire.c: the four wire formats (../shared/docs/llm-backends.md):
 * building one generate request per backend, and judging what comes back
 * (answer text, finish reason, token counts, error envelopes, RetryInfo).
 * Pure functions of the client's configuration and the bytes; no I/O. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/llm_internal.h"

/* ---- building ---- */

/* A JSON string from s, with invalid UTF-8 replaced by U+FFFD (prompts carry
 * upstream data, which jansson would refuse). */
static json_t *jstr(const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (j)
        return j;
    dg_buf b = DG_BUF_INIT;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = 0;
        unsigned c = *p;
        if (c < 0x80)
            n = 1;
        else if (c >= 0xc2 && c <= 0xdf)
            n = 2;
        else if (c >= 0xe0 && c <= 0xef)
            n = 3;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 4;
        int ok = n > 0;
        for (size_t i = 1; ok && i < n; i++)
            ok = (p[i] & 0xc0) == 0x80;
        /* overlongs, surrogates and > U+10FFFF */
        if (ok && n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)))
            ok = 0;
        if (ok && n == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)))
            ok = 0;
        if (ok ? dg_buf_append(&b, p, n) : dg_buf_append(&b, "\xef\xbf\xbd", 3)) {
            dg_buf_free(&b);
            return NULL;
        }
        p += ok ? n : 1;
    }
    j = json_string(b.data ? b.data : "");
    dg_buf_free(&b);
    return j;
}

static char *strcat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, c, lc + 1);
    }
    return s;
}

/* endpoint + path, without a doubled '/'. */
static char *url_of(const char *endpoint, const char *path)
{
    size_t n = strlen(endpoint);
    while (n && endpoint[n - 1] == '/')
        n--;
    size_t lp = strlen(path);
    char *s = malloc(n + lp + 1);
    if (s) {
        memcpy(s, endpoint, n);
        memcpy(s + n, path, lp + 1);
    }
    return s;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && !memcmp(s + n - k, suffix, k);
}

static char *build_url(const dg_llm_conf *k)
{
    dg_buf p = DG_BUF_INIT;
    int rc = 0;
    const char *model = k->model;
    switch (k->backend) {
    case DG_LLM_GEMINI:
        if (!strncmp(model, "models/", 7))
            model += 7;
        rc = dg_buf_printf(&p, "/v1beta/models/%s:generateContent", model);
        break;
    case DG_LLM_VERTEX:
        if (!strncmp(model, "publishers/", 11))
            rc = dg_buf_printf(&p, "/v1/projects/%s/locations/%s/%s:generateContent", k->project,
                               k->location, model);
        else
            rc = dg_buf_printf(&p, "/v1/projects/%s/locations/%s/publishers/google/models/%s"
                               ":generateContent", k->project, k->location, model);
        break;
    case DG_LLM_OLLAMA:
        rc = dg_buf_printf(&p, "/api/chat");
        break;
    default: {
        size_t n = strlen(k->endpoint);
        while (n && k->endpoint[n - 1] == '/')
            n--;
        int short_form = ends_with(k->endpoint, n, "/v1") || ends_with(k->endpoint, n, "/openapi");
        rc = dg_buf_printf(&p, "%s/chat/completions", short_form ? "" : "/v1");
    }
    }
    char *url = rc ? NULL : url_of(k->endpoint, p.data);
    dg_buf_free(&p);
    return url;
}

static int add_hdr(dg_llm_wire *w, const char *name, const char *prefix, const char *value,
                   int secret)
{
    char *v = strcat3(prefix, value, "");
    if (!v)
        return DG_ENOMEM;
    w->hdr[w->n_hdr].name = name;
    w->hdr[w->n_hdr].value = v;
    w->hdr[w->n_hdr].secret = secret;
    w->n_hdr++;
    return 0;
}

/* json_object_set_new that reports failure (and never leaks v). */
static int put(json_t *o, const char *key, json_t *v)
{
    if (!o || !v) {
        json_decref(v);
        return DG_ENOMEM;
    }
    return json_object_set_new(o, key, v) ? DG_ENOMEM : 0;
}

static const char PROMPT_SCHEMA[] =
    "\n\nAnswer with one JSON object only (no code fence, no other text) that "
    "matches this JSON Schema:\n";

static json_t *gemini_body(const dg_llm_conf *k, const char *system, const char *user,
                           const json_t *schema, int constrained)
{
    json_t *b = json_object(), *part = json_object(), *parts = json_array(),
           *content = json_object(), *contents = json_array(), *gc = json_object();
    int rc = put(part, "text", jstr(user));
    rc = rc ? rc : json_array_append(parts, part) ? DG_ENOMEM : 0;
    rc = rc ? rc : put(content, "role", json_string("user"));
    rc = rc ? rc : put(content, "parts", json_incref(parts));
    rc = rc ? rc : json_array_append(contents, content) ? DG_ENOMEM : 0;
    rc = rc ? rc : put(b, "contents", json_incref(contents));
    if (!rc && system) {
        json_t *si = json_object(), *sp = json_array(), *t = json_object();
        rc = put(t, "text", jstr(system));
        rc = rc ? rc : json_array_append(sp, t) ? DG_ENOMEM : 0;
        rc = rc ? rc : put(si, "parts", json_incref(sp));
        rc = rc ? rc : put(b, "systemInstruction", json_incref(si));
        json_decref(si);
        json_decref(sp);
        json_decref(t);
    }
    rc = rc ? rc : put(gc, "temperature", json_real(k->temperature));
    rc = rc ? rc : put(gc, "seed", json_integer(k->seed));
    rc = rc ? rc : put(gc, "maxOutputTokens", json_integer(k->max_output_tokens));
    if (!rc && constrained) {
        rc = put(gc, "responseMimeType", json_string("application/json"));
        rc = rc ? rc : put(gc, "responseJsonSchema", json_incref((json_t *)schema));
    }
    rc = rc ? rc : put(b, "generationConfig", json_incref(gc));
    json_decref(part);
    json_decref(parts);
    json_decref(content);
    json_decref(contents);
    json_decref(gc);
    if (rc) {
        json_decref(b);
        return NULL;
    }
    return b;
}

static json_t *chat_messages(const char *system, const char *user)
{
    json_t *msgs = json_array();
    int rc = msgs ? 0 : DG_ENOMEM;
    for (int i = 0; i < 2 && !rc; i++) {
        const char *text = i ? user : system;
        if (!text)
            continue;
        json_t *m = json_object();
        rc = put(m, "role", json_string(i ? "user" : "system"));
        rc = rc ? rc : put(m, "content", jstr(text));
        rc = rc ? rc : json_array_append(msgs, m) ? DG_ENOMEM : 0;
        json_decref(m);
    }
    if (rc) {
        json_decref(msgs);
        return NULL;
    }
    return msgs;
}

static json_t *ollama_body(const dg_llm_conf *k, const char *system, const char *user,
                           const json_t *schema, int constrained)
{
    json_t *b = json_object(), *opt = json_object();
    int rc = put(b, "model", json_string(k->model));
    rc = rc ? rc : put(b, "messages", chat_messages(system, user));
    rc = rc ? rc : put(b, "stream", json_false());
    if (!rc && constrained)
        rc = put(b, "format", json_incref((json_t *)schema));
    rc = rc ? rc : put(opt, "temperature", json_real(k->temperature));
    rc = rc ? rc : put(opt, "num_ctx", json_integer((json_int_t)k->num_ctx));
    rc = rc ? rc : put(opt, "seed", json_integer(k->seed));
    rc = rc ? rc : put(opt, "num_predict", json_integer(k->max_output_tokens));
    rc = rc ? rc : put(b, "options", json_incref(opt));
    json_decref(opt);
    if (rc) {
        json_decref(b);
        return NULL;
    }
    return b;
}

static json_t *openai_body(const dg_llm_conf *k, const char *system, const char *user,
                           const json_t *schema, int constrained)
{
    json_t *b = json_object(), *kw = json_object();
    int rc = put(b, "model", json_string(k->model));
    rc = rc ? rc : put(b, "messages", chat_messages(system, user));
    rc = rc ? rc : put(b, "temperature", json_real(k->temperature));
    rc = rc ? rc : put(b, "seed", json_integer(k->seed));
    rc = rc ? rc : put(b, "max_tokens", json_integer(k->max_output_tokens));
    rc = rc ? rc : put(b, "stream", json_false());
    if (!rc && constrained) {
        json_t *rf = json_object(), *js = json_object();
        rc = put(js, "name", json_string("driftgate_answer"));
        rc = rc ? rc : put(js, "schema", json_incref((json_t *)schema));
        rc = rc ? rc : put(js, "strict", json_true());
        rc = rc ? rc : put(rf, "type", json_string("json_schema"));
        rc = rc ? rc : put(rf, "json_schema", json_incref(js));
        rc = rc ? rc : put(b, "response_format", json_incref(rf));
        json_decref(rf);
        json_decref(js);
    }
    rc = rc ? rc : put(kw, "enable_thinking", json_false());
    rc = rc ? rc : put(b, "chat_template_kwargs", json_incref(kw));
    json_decref(kw);
    if (rc) {
        json_decref(b);
        return NULL;
    }
    return b;
}

void dg_llm_wire_free(dg_llm_wire *w)
{
    free(w->url);
    for (unsigned i = 0; i < w->n_hdr; i++)
        dg_llm_secret_free(w->hdr[i].value);
    json_decref(w->body);
    memset(w, 0, sizeof *w);
}

int dg_llm_wire_build(const dg_llm_client *c, const char *system, const char *user,
                      const json_t *schema, const char *schema_text, dg_llm_wire *w)
{
    const dg_llm_conf *k = &c->conf;
    memset(w, 0, sizeof *w);
    int google = k->backend == DG_LLM_GEMINI || k->backend == DG_LLM_VERTEX;
    int constrained = schema && k->json_mode != DG_JSON_MODE_PROMPT && !c->compat;
    /* prompt-only: the schema goes into the prompt; after a gemini "not
     * enabled" 400 the system text goes into the user turn too */
    char *folded = NULL, *with_schema = NULL;
    if (google && c->compat && system) {
        if (!(folded = strcat3(system, "\n\n", user ? user : "")))
            return DG_ENOMEM;
        user = folded;
        system = NULL;
    }
    if (schema && !constrained && schema_text) {
        if (!(with_schema = strcat3(user ? user : "", PROMPT_SCHEMA, schema_text))) {
            free(folded);
            return DG_ENOMEM;
        }
        user = with_schema;
    }
    if (!user)
        user = "";
    switch (k->backend) {
    case DG_LLM_GEMINI:
    case DG_LLM_VERTEX:
        w->body = gemini_body(k, system, user, schema, constrained);
        break;
    case DG_LLM_OLLAMA:
        w->body = ollama_body(k, system, user, schema, constrained);
        break;
    default:
        w->body = openai_body(k, system, user, schema, constrained);
    }
    free(folded);
    free(with_schema);
    int rc = w->body && (w->url = build_url(k)) ? 0 : DG_ENOMEM;
    rc = rc ? rc : add_hdr(w, "Content-Type", "", "application/json", 0);
    if (!rc && c->secret) {
        if (k->backend == DG_LLM_GEMINI)
            rc = add_hdr(w, "x-goog-api-key", "", c->secret, 1);
        else
            rc = add_hdr(w, "Authorization", "Bearer ", c->secret, 1);
    }
    if (rc)
        dg_llm_wire_free(w);
    return rc;
}

int dg_llm_render(const dg_llm_client *c, const dg_llm_request *rq, dg_buf *out)
{
    if (!c || !rq || !out)
        return DG_EINVAL;
    json_t *schema = NULL;
    char *schema_text = NULL;
    if (rq->schema_json) {
        if (!(schema = json_loads(rq->schema_json, 0, NULL)))
            return DG_EINVAL;
        schema_text = json_dumps(schema, JSON_COMPACT);
    }
    dg_llm_wire w;
    int rc = dg_llm_wire_build(c, rq->system, rq->user, schema, schema_text, &w);
    free(schema_text);
    json_decref(schema);
    if (rc)
        return rc;
    char *body = json_dumps(w.body, JSON_INDENT(2));
    rc = body ? dg_buf_printf(out, "POST %s\n", w.url) : DG_ENOMEM;
    for (unsigned i = 0; !rc && i < w.n_hdr; i++) {
        const dg_llm_hdr *h = &w.hdr[i];
        if (!h->secret)
            rc = dg_buf_printf(out, "%s: %s\n", h->name, h->value);
        else
            rc = dg_buf_printf(out, "%s: %s***\n", h->name,
                               strncmp(h->value, "Bearer ", 7) ? "" : "Bearer ");
    }
    rc = rc ? rc : dg_buf_printf(out, "\n%s\n", body);
    free(body);
    dg_llm_wire_free(&w);
    return rc;
}

/* ---- judging answers ---- */

void dg_llm_result_clear(dg_llm_result *r)
{
    free(r->text);
    memset(r, 0, sizeof *r);
    r->retry_delay_ms = -1;
}

static void fail(dg_llm_result *r, const char *outcome, int retriable, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fail(dg_llm_result *r, const char *outcome, int retriable, const char *fmt, ...)
{
    r->outcome = outcome;
    r->retriable = retriable;
    free(r->text);
    r->text = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof r->error, fmt, ap);
    va_end(ap);
}

/* A token count: proto-JSON omits zeros; int64 may come as a string. */
static uint64_t count_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
    if (json_is_real(v))
        return json_real_value(v) > 0 ? (uint64_t)json_real_value(v) : 0;
    if (json_is_string(v))
        return strtoull(json_string_value(v), NULL, 10);
    return 0;
}

static const char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* Printable ASCII of body[0..len), white space collapsed, at most max. */
static void snippet(char *out, size_t cap, const char *body, size_t len, size_t max)
{
    size_t o = 0;
    int space = 1;
    for (size_t i = 0; i < len && o + 1 < cap && o < max; i++) {
        unsigned char ch = (unsigned char)body[i];
        if (isspace(ch)) {
            if (!space)
                out[o++] = ' ';
            space = 1;
            continue;
        }
        out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
        space = 0;
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = 0;
}

/* The error envelopes: Google {"error":{code,message,status,details}},
 * OpenAI {"error":{message,type,param,code}}, legacy vLLM {"object":
 * "error",...}, Ollama {"error":"..."}, and Vertex's list of one of them. */
static void read_error(json_t *j, dg_llm_result *r, char *status, size_t scap, char *msg,
                       size_t mcap, char *reason, size_t rcap)
{
    if (json_is_array(j))
        j = json_array_get(j, 0);
    json_t *e = json_object_get(j, "error");
    status[0] = msg[0] = reason[0] = 0;
    if (json_is_string(e)) {
        snprintf(msg, mcap, "%s", json_string_value(e));
        return;
    }
    if (!json_is_object(e)) {
        if (!strcmp(str_of(j, "object"), "error"))
            e = j;
        else
            return;
    }
    snprintf(msg, mcap, "%s", str_of(e, "message"));
    snprintf(status, scap, "%s", *str_of(e, "status") ? str_of(e, "status") : str_of(e, "type"));
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(e, "details"), i, d) {
        const char *type = str_of(d, "@type");
        if (strstr(type, "google.rpc.RetryInfo")) {
            int64_t ms = dg_llm_parse_duration(str_of(d, "retryDelay"));
            if (ms > r->retry_delay_ms)
                r->retry_delay_ms = ms;
        } else if (strstr(type, "google.rpc.ErrorInfo") && !reason[0]) {
            snprintf(reason, rcap, "%s", str_of(d, "reason"));
        }
    }
}

static void judge_error(const dg_llm_client *c, long st, const char *body, size_t len,
                        const char *ctype, dg_llm_result *r)
{
    const char *be = dg_llm_backend_name(c->conf.backend);
    char status[64], msg[320], reason[64];
    json_t *j = len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *outcome = "client_error";
    int retriable = 0;
    if (st == 401 || st == 403) {
        outcome = "auth_error";
    } else if (st == 408) {
        outcome = "timeout";
        retriable = 1;
    } else if (st == 429) {
        outcome = "rate_limited";
        retriable = 1;
    } else if (st >= 500) {
        outcome = "server_error";
        retriable = st == 500 || st == 502 || st == 503 || st == 504;
    } else if (st < 400) {
        outcome = "bad_response";
    }
    if (!j) {
        char snip[128];
        snippet(snip, sizeof snip, body, len, 100);
        fail(r, outcome, retriable, "%s: HTTP %ld with a non-JSON body (%s)%s%s", be, st,
             ctype && *ctype ? ctype : "no content type", snip[0] ? ": " : "", snip);
        return;
    }
    read_error(j, r, status, sizeof status, msg, sizeof msg, reason, sizeof reason);
    json_decref(j);
    if (st == 400 && !strcmp(reason, "API_KEY_INVALID"))
        outcome = "auth_error";
    if (st == 400 && (c->conf.backend == DG_LLM_GEMINI || c->conf.backend == DG_LLM_VERTEX) &&
        strstr(msg, "is not enabled for models/"))
        r->not_enabled = 1;
    fail(r, outcome, retriable, "%s: HTTP %ld%s%s%s%s%s%s", be, st, status[0] ? " " : "", status,
         reason[0] ? " " : "", reason, msg[0] ? ": " : "", msg);
}

static const char *const BLOCKING_REASONS[] = {"SAFETY", "RECITATION", "BLOCKLIST",
                                               "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
                                               "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"};

static void judge_google(const dg_llm_client *c, json_t *j, dg_llm_result *r)
{
    const char *be = dg_llm_backend_name(c->conf.backend);
    json_t *u = json_object_get(j, "usageMetadata");
    r->prompt_tokens = count_of(u, "promptTokenCount");
    r->output_tokens = count_of(u, "candidatesTokenCount") + count_of(u, "thoughtsTokenCount");
    snprintf(r->model, sizeof r->model, "%s", str_of(j, "modelVersion"));
    json_t *cand = json_array_get(json_object_get(j, "candidates"), 0);
    if (!json_is_object(cand)) {
        json_t *pf = json_object_get(j, "promptFeedback");
        if (*str_of(pf, "blockReason"))
            fail(r, "blocked", 0, "%s: prompt blocked: blockReason %s%s%s", be,
                 str_of(pf, "blockReason"), *str_of(pf, "blockReasonMessage") ? ": " : "",
                 str_of(pf, "blockReasonMessage"));
        else
            fail(r, "bad_response", 1, "%s: the answer has no candidates", be);
        return;
    }
    const char *fr = str_of(cand, "finishReason");
    for (size_t i = 0; i < sizeof BLOCKING_REASONS / sizeof BLOCKING_REASONS[0]; i++)
        if (!strcmp(fr, BLOCKING_REASONS[i])) {
            fail(r, "blocked", 0, "%s: answer blocked: finishReason %s", be, fr);
            return;
        }
    if (!strcmp(fr, "MAX_TOKENS")) {
        fail(r, "truncated", 0, "%s: answer truncated: finishReason MAX_TOKENS "
             "(max_output_tokens %u)", be, c->conf.max_output_tokens);
        return;
    }
    if (strcmp(fr, "STOP")) {
        fail(r, "bad_response", 1, "%s: the answer did not finish: finishReason %s", be,
             *fr ? fr : "missing");
        return;
    }
    dg_buf t = DG_BUF_INIT;
    size_t i;
    json_t *p;
    int any = 0;
    json_array_foreach(json_object_get(json_object_get(cand, "content"), "parts"), i, p) {
        const json_t *pt = json_object_get(p, "text");
        if (json_is_true(json_object_get(p, "thought")) || !json_is_string(pt))
            continue;   /* thinking is not the answer */
        any = 1;
        if (dg_buf_append(&t, json_string_value(pt), json_string_length(pt))) {
            dg_buf_free(&t);
            fail(r, "bad_response", 0, "%s: out of memory", be);
            return;
        }
    }
    if (!any || !t.len) {
        dg_buf_free(&t);
        fail(r, "bad_response", 1, "%s: the answer has no text", be);
        return;
    }
    r->outcome = "ok";
    r->text = t.data;
}

static void judge_ollama(const dg_llm_client *c, json_t *j, dg_llm_result *r)
{
    r->prompt_tokens = count_of(j, "prompt_eval_count");
    r->output_tokens = count_of(j, "eval_count");
    snprintf(r->model, sizeof r->model, "%s", str_of(j, "model"));
    const char *dr = str_of(j, "done_reason");
    if (!json_is_true(json_object_get(j, "done"))) {
        fail(r, "bad_response", 1, "ollama: the answer is not done (stream not disabled?)");
        return;
    }
    if (!strcmp(dr, "length")) {
        fail(r, "truncated", 0, "ollama: answer truncated: done_reason length (max_output_tokens "
             "%u, num_ctx %llu)", c->conf.max_output_tokens,
             (unsigned long long)c->conf.num_ctx);
        return;
    }
    /* done_reason appeared in Ollama 0.1.3x; before, done alone meant stop */
    if (*dr && strcmp(dr, "stop")) {
        fail(r, "bad_response", 1, "ollama: the answer did not finish: done_reason %s", dr);
        return;
    }
    const json_t *content = json_object_get(json_object_get(j, "message"), "content");
    if (!json_is_string(content) || !json_string_length(content)) {
        fail(r, "bad_response", 1, "ollama: the answer has no message.content");
        return;
    }
    if (!(r->text = strdup(json_string_value(content)))) {
        fail(r, "bad_response", 0, "ollama: out of memory");
        return;
    }
    r->outcome = "ok";
}

static void judge_openai(const dg_llm_client *c, json_t *j, dg_llm_result *r)
{
    json_t *u = json_object_get(j, "usage");
    r->prompt_tokens = count_of(u, "prompt_tokens");
    r->output_tokens = count_of(u, "completion_tokens");
    snprintf(r->model, sizeof r->model, "%s", str_of(j, "model"));
    json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
    if (!json_is_object(ch)) {
        fail(r, "bad_response", 1, "openai: the answer has no choices");
        return;
    }
    const char *fr = str_of(ch, "finish_reason");
    if (!strcmp(fr, "length")) {
        fail(r, "truncated", 0, "openai: answer truncated: finish_reason length "
             "(max_output_tokens %u)", c->conf.max_output_tokens);
        return;
    }
    if (!strcmp(fr, "content_filter")) {
        fail(r, "blocked", 0, "openai: answer blocked: finish_reason content_filter");
        return;
    }
    if (strcmp(fr, "stop")) {
        fail(r, "bad_response", 1, "openai: the answer did not finish: finish_reason %s",
             *fr ? fr : "missing");
        return;
    }
    /* never reasoning_content / reasoning: thinking is not the answer */
    const json_t *content = json_object_get(json_object_get(ch, "message"), "content");
    if (!json_is_string(content) || !json_string_length(content)) {
        fail(r, "bad_response", 1, "openai: the answer has no message.content");
        return;
    }
    if (!(r->text = strdup(json_string_value(content)))) {
        fail(r, "bad_response", 0, "openai: out of memory");
        return;
    }
    r->outcome = "ok";
}

void dg_llm_wire_parse(const dg_llm_client *c, long status, const char *body, size_t len,
                       const char *content_type, dg_llm_result *r)
{
    dg_llm_result_clear(r);
    const char *be = dg_llm_backend_name(c->conf.backend);
    if (status < 200 || status > 299) {
        judge_error(c, status, body, len, content_type, r);
        return;
    }
    json_error_t je;
    json_t *j = json_loadb(body ? body : "", len, 0, &je);
    if (!json_is_object(j)) {
        char snip[128];
        snippet(snip, sizeof snip, body, len, 100);
        fail(r, "bad_response", 1, "%s: HTTP %ld with a body that is not a JSON object (%s)%s%s",
             be, status, content_type && *content_type ? content_type : "no content type",
             snip[0] ? ": " : "", snip);
        json_decref(j);
        return;
    }
    /* an error inside a 200 (Ollama/vLLM streams, legacy vLLM) */
    json_t *e = json_object_get(j, "error");
    if (e || !strcmp(str_of(j, "object"), "error")) {
        char st[64], msg[320], reason[64];
        read_error(j, r, st, sizeof st, msg, sizeof msg, reason, sizeof reason);
        fail(r, "server_error", 1, "%s: HTTP %ld with an error: %s%s%s", be, status, st,
             st[0] ? ": " : "", msg);
        json_decref(j);
        return;
    }
    switch (c->conf.backend) {
    case DG_LLM_GEMINI:
    case DG_LLM_VERTEX:
        judge_google(c, j, r);
        break;
    case DG_LLM_OLLAMA:
        judge_ollama(c, j, r);
        break;
    default:
        judge_openai(c, j, r);
    }
    json_decref(j);
}

/* ---- header values ---- */

int64_t dg_llm_parse_retry_after(const char *v, int64_t now_s)
{
    if (!v)
        return -1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
        n--;
    if (!n || n >= 64)
        return -1;
    char s[64];
    memcpy(s, v, n);
    s[n] = 0;
    if (isdigit((unsigned char)s[0])) {
        int64_t secs = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)s[i]))
                return -1;
            if (secs > (INT64_MAX / 1000 - 9) / 10)
                return -1;
            secs = secs * 10 + (s[i] - '0');
        }
        return secs * 1000;
    }
    /* an HTTP-date (IMF-fixdate, RFC 850 or asctime): must name a weekday */
    if (!isalpha((unsigned char)s[0]))
        return -1;
    time_t t = curl_getdate(s, NULL);
    if (t == (time_t)-1)
        return -1;
    int64_t d = (int64_t)t - now_s;
    return d > 0 ? d * 1000 : 0;
}

int64_t dg_llm_parse_duration(const char *v)
{
    if (!v || !isdigit((unsigned char)*v))
        return -1;
    int64_t secs = 0, frac_ms = 0;
    const char *p = v;
    for (; isdigit((unsigned char)*p); p++) {
        if (secs > (INT64_MAX / 1000 - 9) / 10)
            return -1;
        secs = secs * 10 + (*p - '0');
    }
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        int64_t scale = 100;
        for (; isdigit((unsigned char)*p); p++) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
        }
    }
    if (p[0] != 's' || p[1])
        return -1;
    return secs * 1000 + frac_ms;
}
