/* tests/unit/test_llm.c: the LLM client (analyze/llm.h) against the fake
 * backends of tests/fakes/ (python3, started per test on a free port and
 * killed in the suite's fini, or by PR_SET_PDEATHSIG when a test crashes).
 * Timing asserts are lower bounds only: the machines are noisy. */
#include <criterion/criterion.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analyze/llm.h"
#include "analyze/llm_internal.h"
#include "common/buf.h"
#include "common/metrics.h"

/* ---- fakes ---- */

typedef struct fake {
    pid_t pid;
    int port;
    char base[64];
} fake;

static fake fakes[4];
static int n_fakes;

static void stop_fakes(void)
{
    for (int i = 0; i < n_fakes; i++) {
        if (fakes[i].pid > 0) {
            kill(fakes[i].pid, SIGKILL);
            waitpid(fakes[i].pid, NULL, 0);
            fakes[i].pid = 0;
        }
    }
    n_fakes = 0;
}

static const char *fakes_dir(void)
{
    const char *d = getenv("DG_FAKES_DIR");
    return d ? d : "tests/fakes";
}

static fake *fake_start(const char *name)
{
    cr_assert_lt(n_fakes, 4);
    char script[512];
    snprintf(script, sizeof script, "%s/%s.py", fakes_dir(), name);
    cr_assert_eq(access(script, R_OK), 0, "no fake %s (run from the repository root)", script);
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execlp("python3", "python3", script, "--port", "0", "--max-lifetime", "120", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    fake *f = &fakes[n_fakes++];
    f->pid = pid;
    char line[64] = {0};
    size_t n = 0;
    while (n < sizeof line - 1 && !strchr(line, '\n')) {
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        cr_assert_gt(poll(&p, 1, 15000), 0, "fake %s did not start", name);
        ssize_t r = read(fds[0], line + n, sizeof line - 1 - n);
        cr_assert_gt(r, 0, "fake %s exited", name);
        n += (size_t)r;
    }
    close(fds[0]);
    cr_assert_eq(sscanf(line, "PORT %d", &f->port), 1, "fake said %s", line);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->port);
    return f;
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    return dg_buf_append(ud, p, sz * n) ? 0 : sz * n;
}

/* A blocking request to a fake's control API; the body (owned) or NULL. */
static char *http(const char *method, const fake *f, const char *path, const char *body)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", f->base, path);
    CURL *e = curl_easy_init();
    cr_assert_not_null(e);
    dg_buf b = DG_BUF_INIT;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(e);
    long st = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(e);
    cr_assert_eq(cc, CURLE_OK, "control %s %s: %s", method, path, curl_easy_strerror(cc));
    cr_assert_eq(st, 200, "control %s %s: HTTP %ld %s", method, path, st, b.data);
    char *s = strdup(b.data ? b.data : "");
    dg_buf_free(&b);
    return s;
}

static void fake_script(const fake *f, const char *json)
{
    free(http("POST", f, "/_fake/script", json));
}

static void fake_config(const fake *f, const char *json)
{
    free(http("POST", f, "/_fake/config", json));
}

static json_t *fake_requests(const fake *f)
{
    char *s = http("GET", f, "/_fake/requests", NULL);
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    cr_assert(json_is_array(j));
    return j;
}

static json_t *req_body(json_t *reqs, size_t i)
{
    json_t *b = json_object_get(json_array_get(reqs, i), "json");
    cr_assert(json_is_object(b), "request %zu has no JSON body", i);
    return b;
}

static const char *req_header(json_t *reqs, size_t i, const char *name)
{
    return json_string_value(json_object_get(json_object_get(json_array_get(reqs, i), "headers"),
                                             name));
}

static const char *req_path(json_t *reqs, size_t i)
{
    return json_string_value(json_object_get(json_array_get(reqs, i), "path"));
}

/* Seconds between the fake receiving request i-1 and request i. */
static double req_gap(json_t *reqs, size_t i)
{
    return json_real_value(json_object_get(json_array_get(reqs, i), "time")) -
           json_real_value(json_object_get(json_array_get(reqs, i - 1), "time"));
}

/* JSON pointer-ish access: path of object keys and array indexes ("0"). */
static json_t *at(json_t *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *save, *t = strtok_r(buf, "/", &save); t && j; t = strtok_r(NULL, "/", &save))
        j = json_is_array(j) ? json_array_get(j, strtoul(t, NULL, 10)) : json_object_get(j, t);
    return j;
}

static const char *at_str(json_t *j, const char *path)
{
    return json_string_value(at(j, path));
}

TestSuite(llm, .fini = stop_fakes);

/* ---- clients ---- */

typedef struct env {
    dg_metrics *m;
    dg_llm_hub *h;
    dg_llm_conf conf;
    fake *f;
} env;

static const char SCHEMA[] =
    "{\"type\":\"object\",\"properties\":{\"cause\":{\"type\":\"string\"}},\"required\":"
    "[\"cause\"]}";

/* A hub (metrics, no jitter) and a conf for backend b pointed at a fresh
 * fake: small timeouts and backoff so the suite stays fast. */
static void env_init(env *e, dg_llm_backend b)
{
    static const char *const names[] = {NULL, "gemini", "vertex", "ollama", "openai"};
    memset(e, 0, sizeof *e);
    e->f = fake_start(names[b]);
    e->m = dg_metrics_new();
    e->h = dg_llm_hub_new(e->m);
    cr_assert_not_null(e->h);
    dg_llm_hub_set_jitter(e->h, 0);
    dg_llm_conf_default(&e->conf);
    e->conf.backend = b;
    e->conf.endpoint = strdup(e->f->base);
    e->conf.connect_timeout_ms = 2000;
    e->conf.timeout_ms = 5000;
    e->conf.backoff_initial_ms = 10;
    e->conf.backoff_max_ms = 100;
    e->conf.max_attempts = 3;
    e->conf.requests_per_minute = 0;
    e->conf.max_output_tokens = 512;
    if (b == DG_LLM_GEMINI) {
        setenv("DG_TEST_GEMINI_KEY", "test-key", 1);
        e->conf.api_key_env = strdup("DG_TEST_GEMINI_KEY");
    } else if (b == DG_LLM_VERTEX) {
        setenv("DG_TEST_VERTEX_TOKEN", "test-token", 1);
        e->conf.token_env = strdup("DG_TEST_VERTEX_TOKEN");
        e->conf.project = strdup("proj-1");
        e->conf.location = strdup("europe-west4");
    }
}

static void env_fini(env *e)
{
    dg_llm_hub_free(e->h);
    dg_metrics_free(e->m);
    dg_llm_conf_clear(&e->conf);
}

static dg_llm_client *client(env *e)
{
    dg_llm_client *c = NULL;
    dg_error err = {0};
    int rc = dg_llm_client_new(e->h, &e->conf, &c, &err);
    cr_assert_eq(rc, 0, "client: %s", err.msg);
    return c;
}

static void call(dg_llm_client *c, dg_llm_reply *r)
{
    dg_llm_request rq = {"You explain API drift.", "Why did the field change?", SCHEMA};
    cr_assert_eq(dg_llm_complete(c, &rq, r), 0);
}

static char *expose(dg_metrics *m)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg_metrics_expose(m, &b), 0);
    char *s = strdup(b.data ? b.data : "");
    dg_buf_free(&b);
    return s;
}

/* Asserts the exposition has the line `series value`. */
static void metric_is(dg_metrics *m, const char *series, unsigned long long v)
{
    char *s = expose(m);
    char want[512];
    snprintf(want, sizeof want, "\n%s %llu\n", series, v);
    cr_assert_not_null(strstr(s, want), "no line \"%s %llu\" in:\n%s", series, v, s);
    free(s);
}

static void metric_absent(dg_metrics *m, const char *series)
{
    char *s = expose(m);
    char want[512];
    snprintf(want, sizeof want, "\n%s ", series);
    cr_assert_null(strstr(s, want), "unexpected \"%s\" in:\n%s", series, s);
    free(s);
}

#define REQ(b, o) "driftgate_llm_requests_total{backend=\"" b "\",outcome=\"" o "\"}"
#define TOK(b, d) "driftgate_llm_tokens_total{backend=\"" b "\",direction=\"" d "\"}"

/* ---- pure parsing ---- */

Test(llm, parse_retry_after_delta_seconds)
{
    cr_assert_eq(dg_llm_parse_retry_after("120", 0), 120000);
    cr_assert_eq(dg_llm_parse_retry_after(" 5 ", 0), 5000);
    cr_assert_eq(dg_llm_parse_retry_after("0", 1000), 0);
}

Test(llm, parse_retry_after_http_date)
{
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
    cr_assert_eq(dg_llm_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 30),
                 30000);
    cr_assert_eq(dg_llm_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", 784111777 - 2), 2000);
    cr_assert_eq(dg_llm_parse_retry_after("Sun Nov  6 08:49:37 1994", 784111777 - 1), 1000);
    /* in the past: retry now */
    cr_assert_eq(dg_llm_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 60), 0);
}

Test(llm, parse_retry_after_garbage)
{
    cr_assert_eq(dg_llm_parse_retry_after(NULL, 0), -1);
    cr_assert_eq(dg_llm_parse_retry_after("", 0), -1);
    cr_assert_eq(dg_llm_parse_retry_after("abc", 0), -1);
    cr_assert_eq(dg_llm_parse_retry_after("-5", 0), -1);
    cr_assert_eq(dg_llm_parse_retry_after("1.5", 0), -1);
    cr_assert_eq(dg_llm_parse_retry_after("12abc", 0), -1);
    cr_assert_eq(dg_llm_parse_retry_after("99999999999999999999999", 0), -1);
    cr_assert_eq(dg_llm_parse_retry_after("Someday, never", 0), -1);
}

Test(llm, parse_duration)
{
    cr_assert_eq(dg_llm_parse_duration("53s"), 53000);
    cr_assert_eq(dg_llm_parse_duration("1.5s"), 1500);
    cr_assert_eq(dg_llm_parse_duration("0.25s"), 250);
    cr_assert_eq(dg_llm_parse_duration("0s"), 0);
    cr_assert_eq(dg_llm_parse_duration("abc"), -1);
    cr_assert_eq(dg_llm_parse_duration("53"), -1);
    cr_assert_eq(dg_llm_parse_duration("s"), -1);
    cr_assert_eq(dg_llm_parse_duration("1.s"), -1);
    cr_assert_eq(dg_llm_parse_duration("-1s"), -1);
    cr_assert_eq(dg_llm_parse_duration("5ms"), -1);
    cr_assert_eq(dg_llm_parse_duration(""), -1);
    cr_assert_eq(dg_llm_parse_duration(NULL), -1);
}

/* ---- making clients ---- */

Test(llm, missing_api_key_env_names_the_variable)
{
    dg_llm_hub *h = dg_llm_hub_new(NULL);
    dg_llm_conf k;
    dg_llm_conf_default(&k);
    k.backend = DG_LLM_GEMINI;
    unsetenv("GEMINI_API_KEY");
    dg_llm_client *c = (dg_llm_client *)1;
    dg_error err = {0};
    cr_assert_eq(dg_llm_client_new(h, &k, &c, &err), DG_EINVAL);
    cr_assert_null(c);
    cr_assert_not_null(strstr(err.msg, "GEMINI_API_KEY"), "%s", err.msg);

    k.api_key_env = strdup("DG_TEST_NO_SUCH_KEY");
    unsetenv("DG_TEST_NO_SUCH_KEY");
    cr_assert_eq(dg_llm_client_new(h, &k, &c, &err), DG_EINVAL);
    cr_assert_not_null(strstr(err.msg, "DG_TEST_NO_SUCH_KEY"), "%s", err.msg);

    /* an openai key is optional, but a configured variable must exist */
    k.backend = DG_LLM_OPENAI;
    cr_assert_eq(dg_llm_client_new(h, &k, &c, &err), DG_EINVAL);
    cr_assert_not_null(strstr(err.msg, "DG_TEST_NO_SUCH_KEY"), "%s", err.msg);
    dg_llm_conf_clear(&k);
    dg_llm_hub_free(h);
}

Test(llm, missing_vertex_token_and_project)
{
    dg_llm_hub *h = dg_llm_hub_new(NULL);
    dg_llm_conf k;
    dg_llm_conf_default(&k);
    k.backend = DG_LLM_VERTEX;
    k.project = strdup("p");
    unsetenv("VERTEX_ACCESS_TOKEN");
    dg_llm_client *c;
    dg_error err = {0};
    cr_assert_eq(dg_llm_client_new(h, &k, &c, &err), DG_EINVAL);
    cr_assert_not_null(strstr(err.msg, "VERTEX_ACCESS_TOKEN"), "%s", err.msg);

    k.token_command = strdup("exit 3");
    cr_assert_eq(dg_llm_client_new(h, &k, &c, &err), DG_EINVAL);
    cr_assert_not_null(strstr(err.msg, "token_command"), "%s", err.msg);

    free(k.project);
    k.project = NULL;
    setenv("VERTEX_ACCESS_TOKEN", "tok", 1);
    free(k.token_command);
    k.token_command = NULL;
    cr_assert_eq(dg_llm_client_new(h, &k, &c, &err), DG_EINVAL);
    cr_assert_not_null(strstr(err.msg, "project"), "%s", err.msg);
    dg_llm_conf_clear(&k);
    dg_llm_hub_free(h);
}

Test(llm, api_key_file)
{
    dg_llm_hub *h = dg_llm_hub_new(NULL);
    dg_llm_conf k;
    dg_llm_conf_default(&k);
    k.backend = DG_LLM_GEMINI;
    char path[] = "/tmp/dg_llm_keyXXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "  file-key-123\n", 15), 15);
    close(fd);
    k.api_key_file = strdup(path);
    dg_llm_client *c;
    dg_error err = {0};
    cr_assert_eq(dg_llm_client_new(h, &k, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c->secret, "file-key-123");
    cr_assert_null(dg_llm_client_conf(c)->api_key_env);
    unlink(path);
    cr_assert_eq(dg_llm_client_new(h, &k, &c, &err), DG_EINVAL);
    cr_assert_not_null(strstr(err.msg, path), "%s", err.msg);
    dg_llm_conf_clear(&k);
    dg_llm_hub_free(h);
}

Test(llm, heuristic_backend_is_not_a_client)
{
    dg_llm_hub *h = dg_llm_hub_new(NULL);
    dg_llm_conf k;
    dg_llm_conf_default(&k);
    dg_llm_client *c;
    cr_assert_eq(dg_llm_client_new(h, &k, &c, NULL), DG_EINVAL);
    dg_llm_hub_free(h);
}

Test(llm, defaults_filled_per_backend)
{
    dg_llm_hub *h = dg_llm_hub_new(NULL);
    setenv("GEMINI_API_KEY", "k1234", 1);
    setenv("VERTEX_ACCESS_TOKEN", "t1234", 1);
    struct {
        dg_llm_backend b;
        const char *model, *endpoint;
    } want[] = {
        {DG_LLM_GEMINI, "gemma-4-31b-it", "https://generativelanguage.googleapis.com"},
        {DG_LLM_VERTEX, "gemma-4-31b-it", "https://us-central1-aiplatform.googleapis.com"},
        {DG_LLM_OLLAMA, "gemma4:31b", "http://127.0.0.1:11434"},
        {DG_LLM_OPENAI, "google/gemma-4-31B-it", "http://127.0.0.1:8000"},
    };
    for (size_t i = 0; i < 4; i++) {
        dg_llm_conf k;
        dg_llm_conf_default(&k);
        k.backend = want[i].b;
        if (k.backend == DG_LLM_VERTEX)
            k.project = strdup("p");
        dg_llm_client *c;
        dg_error err = {0};
        cr_assert_eq(dg_llm_client_new(h, &k, &c, &err), 0, "%s", err.msg);
        cr_assert_str_eq(dg_llm_client_conf(c)->model, want[i].model);
        cr_assert_str_eq(dg_llm_client_conf(c)->endpoint, want[i].endpoint);
        dg_llm_conf_clear(&k);
    }
    dg_llm_hub_free(h);
}

Test(llm, render_hides_secrets)
{
    dg_llm_hub *h = dg_llm_hub_new(NULL);
    setenv("DG_TEST_SECRET", "sekret-KEY-4242", 1);
    dg_llm_request rq = {"sys", "user text", SCHEMA};
    for (dg_llm_backend b = DG_LLM_GEMINI; b <= DG_LLM_OPENAI; b++) {
        dg_llm_conf k;
        dg_llm_conf_default(&k);
        k.backend = b;
        k.project = strdup("p");
        if (b == DG_LLM_VERTEX)
            k.token_env = strdup("DG_TEST_SECRET");
        else
            k.api_key_env = strdup("DG_TEST_SECRET");
        dg_llm_client *c;
        dg_error err = {0};
        cr_assert_eq(dg_llm_client_new(h, &k, &c, &err), 0, "%s", err.msg);
        dg_buf out = DG_BUF_INIT;
        cr_assert_eq(dg_llm_render(c, &rq, &out), 0);
        cr_assert_null(strstr(out.data, "sekret"), "%s", out.data);
        cr_assert_not_null(strstr(out.data, "***"), "%s", out.data);
        cr_assert_eq(strncmp(out.data, "POST http", 9), 0, "%s", out.data);
        cr_assert_not_null(strstr(out.data, "user text"), "%s", out.data);
        if (b == DG_LLM_GEMINI)
            cr_assert_not_null(strstr(out.data, "\nx-goog-api-key: ***\n"), "%s", out.data);
        else
            cr_assert_not_null(strstr(out.data, "\nAuthorization: Bearer ***\n"), "%s", out.data);
        dg_buf_free(&out);
        dg_llm_conf_clear(&k);
    }
    dg_llm_hub_free(h);
}

Test(llm, submit_refuses_bad_schema_and_second_call)
{
    env e;
    env_init(&e, DG_LLM_OLLAMA);
    fake_script(e.f, "[{\"kind\":\"stall\",\"seconds\":0.3}]");
    dg_llm_client *c = client(&e);
    dg_llm_request bad = {NULL, "u", "{not json"};
    cr_assert_eq(dg_llm_submit(c, &bad, NULL, NULL), DG_EINVAL);
    cr_assert_not(dg_llm_busy(c));
    dg_llm_request rq = {NULL, "u", NULL};
    cr_assert_eq(dg_llm_submit(c, &rq, NULL, NULL), 0);
    cr_assert(dg_llm_busy(c));
    cr_assert_eq(dg_llm_submit(c, &rq, NULL, NULL), DG_EINVAL);
    while (dg_llm_hub_run(e.h, 100) > 0)
        ;
    cr_assert_not(dg_llm_busy(c));
    env_fini(&e);
}

/* ---- exact requests ---- */

static void assert_schema(json_t *got)
{
    json_t *want = json_loads(SCHEMA, 0, NULL);
    cr_assert(json_equal(got, want), "schema differs");
    json_decref(want);
}

Test(llm, gemini_request_exact)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    cr_assert_eq(json_array_size(reqs), 1);
    cr_assert_str_eq(req_path(reqs, 0), "/v1beta/models/gemma-4-31b-it:generateContent");
    cr_assert_str_eq(at_str(json_array_get(reqs, 0), "method"), "POST");
    cr_assert_str_eq(at_str(json_array_get(reqs, 0), "query"), "");
    cr_assert_str_eq(req_header(reqs, 0, "x-goog-api-key"), "test-key");
    cr_assert_str_eq(req_header(reqs, 0, "content-type"), "application/json");
    cr_assert_null(req_header(reqs, 0, "authorization"));
    json_t *b = req_body(reqs, 0);
    cr_assert_str_eq(at_str(b, "contents/0/role"), "user");
    cr_assert_str_eq(at_str(b, "contents/0/parts/0/text"), "Why did the field change?");
    cr_assert_eq(json_array_size(at(b, "contents")), 1);
    cr_assert_str_eq(at_str(b, "systemInstruction/parts/0/text"), "You explain API drift.");
    cr_assert(json_is_number(at(b, "generationConfig/temperature")));
    cr_assert_float_eq(json_number_value(at(b, "generationConfig/temperature")), 0.0, 1e-9);
    cr_assert_eq(json_integer_value(at(b, "generationConfig/seed")), 42);
    cr_assert_eq(json_integer_value(at(b, "generationConfig/maxOutputTokens")), 512);
    cr_assert_str_eq(at_str(b, "generationConfig/responseMimeType"), "application/json");
    assert_schema(at(b, "generationConfig/responseJsonSchema"));
    cr_assert_null(at(b, "generationConfig/responseSchema"));
    json_decref(reqs);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, gemini_free_text_has_no_json_mode)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    dg_llm_client *c = client(&e);
    dg_llm_request rq = {NULL, "hello", NULL};
    dg_llm_reply r;
    cr_assert_eq(dg_llm_complete(c, &rq, &r), 0);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    json_t *b = req_body(reqs, 0);
    cr_assert_null(at(b, "generationConfig/responseMimeType"));
    cr_assert_null(at(b, "generationConfig/responseJsonSchema"));
    cr_assert_null(at(b, "systemInstruction"));
    cr_assert_str_eq(at_str(b, "contents/0/parts/0/text"), "hello");
    json_decref(reqs);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, vertex_request_exact)
{
    env e;
    env_init(&e, DG_LLM_VERTEX);
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    cr_assert_str_eq(req_path(reqs, 0), "/v1/projects/proj-1/locations/europe-west4/publishers/"
                                        "google/models/gemma-4-31b-it:generateContent");
    cr_assert_str_eq(req_header(reqs, 0, "authorization"), "Bearer test-token");
    cr_assert_null(req_header(reqs, 0, "x-goog-api-key"));
    json_t *b = req_body(reqs, 0);
    cr_assert_str_eq(at_str(b, "contents/0/role"), "user");
    cr_assert_str_eq(at_str(b, "systemInstruction/parts/0/text"), "You explain API drift.");
    cr_assert_str_eq(at_str(b, "generationConfig/responseMimeType"), "application/json");
    assert_schema(at(b, "generationConfig/responseJsonSchema"));
    cr_assert_eq(json_integer_value(at(b, "generationConfig/seed")), 42);
    json_decref(reqs);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, ollama_request_exact)
{
    env e;
    env_init(&e, DG_LLM_OLLAMA);
    e.conf.num_ctx = 16384;
    e.conf.seed = 7;
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    cr_assert_str_eq(req_path(reqs, 0), "/api/chat");
    cr_assert_null(req_header(reqs, 0, "authorization"));
    json_t *b = req_body(reqs, 0);
    cr_assert_str_eq(at_str(b, "model"), "gemma4:31b");
    cr_assert(json_is_false(at(b, "stream")));
    assert_schema(at(b, "format"));
    cr_assert_str_eq(at_str(b, "messages/0/role"), "system");
    cr_assert_str_eq(at_str(b, "messages/0/content"), "You explain API drift.");
    cr_assert_str_eq(at_str(b, "messages/1/role"), "user");
    cr_assert_str_eq(at_str(b, "messages/1/content"), "Why did the field change?");
    cr_assert_eq(json_integer_value(at(b, "options/num_ctx")), 16384);
    cr_assert_float_eq(json_number_value(at(b, "options/temperature")), 0.0, 1e-9);
    cr_assert(json_is_number(at(b, "options/temperature")));
    cr_assert_eq(json_integer_value(at(b, "options/seed")), 7);
    cr_assert_eq(json_integer_value(at(b, "options/num_predict")), 512);
    json_decref(reqs);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, openai_request_exact_without_key)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    cr_assert_str_eq(req_path(reqs, 0), "/v1/chat/completions");
    cr_assert_null(req_header(reqs, 0, "authorization"));
    json_t *b = req_body(reqs, 0);
    cr_assert_str_eq(at_str(b, "model"), "google/gemma-4-31B-it");
    cr_assert_str_eq(at_str(b, "messages/0/role"), "system");
    cr_assert_str_eq(at_str(b, "messages/1/role"), "user");
    cr_assert_str_eq(at_str(b, "response_format/type"), "json_schema");
    cr_assert_str_eq(at_str(b, "response_format/json_schema/name"), "driftgate_answer");
    assert_schema(at(b, "response_format/json_schema/schema"));
    cr_assert(json_is_true(at(b, "response_format/json_schema/strict")));
    cr_assert(json_is_false(at(b, "chat_template_kwargs/enable_thinking")));
    cr_assert(json_is_false(at(b, "stream")));
    cr_assert_eq(json_integer_value(at(b, "seed")), 42);
    cr_assert_eq(json_integer_value(at(b, "max_tokens")), 512);
    cr_assert_float_eq(json_number_value(at(b, "temperature")), 0.0, 1e-9);
    json_decref(reqs);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, openai_bearer_only_when_key_set)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    fake_config(e.f, "{\"api_key\":\"vllm-key-77\"}");
    dg_llm_client *nokey = client(&e);
    setenv("DG_TEST_VLLM_KEY", "vllm-key-77", 1);
    e.conf.api_key_env = strdup("DG_TEST_VLLM_KEY");
    dg_llm_client *withkey = client(&e);
    dg_llm_reply r;
    call(nokey, &r);
    /* vLLM --api-key: 401 without the Bearer token, never retried */
    cr_assert_eq(r.status, DG_LLM_FAILED);
    cr_assert_str_eq(r.outcome, "auth_error");
    cr_assert_eq(r.http_status, 401);
    cr_assert_eq(r.attempts, 1);
    cr_assert_not_null(strstr(r.error, "Unauthorized"), "%s", r.error);
    dg_llm_reply_clear(&r);
    call(withkey, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    cr_assert_eq(json_array_size(reqs), 2);
    cr_assert_null(req_header(reqs, 0, "authorization"));
    cr_assert_str_eq(req_header(reqs, 1, "authorization"), "Bearer vllm-key-77");
    json_decref(reqs);
    dg_llm_reply_clear(&r);
    metric_is(e.m, REQ("openai", "auth_error"), 1);
    metric_is(e.m, REQ("openai", "ok"), 1);
    env_fini(&e);
}

Test(llm, openai_endpoint_with_v1_or_openapi_suffix)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    free(e.conf.endpoint);
    char ep[128];
    snprintf(ep, sizeof ep, "%s/v1/", e.f->base);
    e.conf.endpoint = strdup(ep);
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    dg_llm_reply_clear(&r);
    /* Vertex MaaS: .../endpoints/openapi + /chat/completions */
    fake *v = fake_start("vertex");
    fake_config(v, "{\"maas_model\":\"google/gemma-4-31B-it\"}");
    free(e.conf.endpoint);
    snprintf(ep, sizeof ep, "%s/v1/projects/p/locations/global/endpoints/openapi", v->base);
    e.conf.endpoint = strdup(ep);
    setenv("DG_TEST_MAAS_TOKEN", "test-token", 1);
    e.conf.api_key_env = strdup("DG_TEST_MAAS_TOKEN");
    c = client(&e);
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    cr_assert_str_eq(req_path(reqs, 0), "/v1/chat/completions");
    json_decref(reqs);
    reqs = fake_requests(v);
    cr_assert_str_eq(req_path(reqs, 0),
                     "/v1/projects/p/locations/global/endpoints/openapi/chat/completions");
    json_decref(reqs);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, prompt_mode_puts_schema_in_prompt)
{
    env e;
    env_init(&e, DG_LLM_OLLAMA);
    e.conf.json_mode = DG_JSON_MODE_PROMPT;
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    json_t *b = req_body(reqs, 0);
    cr_assert_null(at(b, "format"));
    cr_assert_str_eq(at_str(b, "messages/0/content"), "You explain API drift.");
    const char *u = at_str(b, "messages/1/content");
    cr_assert_not_null(strstr(u, "Why did the field change?"));
    cr_assert_not_null(strstr(u, "\"required\":[\"cause\"]"), "%s", u);
    json_decref(reqs);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

/* ---- answers ---- */

Test(llm, gemini_success_skips_thought_parts_and_counts_usage)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    fake_script(e.f, "[{\"kind\":\"success\",\"thought\":\"let me think {\",\"parts\":"
                     "[\"{\\\"cause\\\":\", \"\\\"x\\\"}\"],\"prompt_tokens\":31,"
                     "\"output_tokens\":14,\"thoughts_tokens\":6,"
                     "\"model\":\"gemma-4-31b-it-001\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_str_eq(r.text, "{\"cause\":\"x\"}");
    cr_assert_str_eq(r.outcome, "ok");
    cr_assert_eq(r.http_status, 200);
    cr_assert_eq(r.attempts, 1);
    cr_assert_eq(r.prompt_tokens, 31);
    cr_assert_eq(r.output_tokens, 20);
    cr_assert_str_eq(r.model, "gemma-4-31b-it-001");
    cr_assert_str_eq(r.error, "");
    metric_is(e.m, REQ("gemini", "ok"), 1);
    metric_is(e.m, TOK("gemini", "prompt"), 31);
    metric_is(e.m, TOK("gemini", "output"), 20);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, gemini_missing_usage_counts_zero)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    fake_script(e.f, "[{\"kind\":\"success\",\"usage\":null},"
                     "{\"kind\":\"success\",\"prompt_tokens\":9,\"output_tokens\":0}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_eq(r.prompt_tokens, 0);
    cr_assert_eq(r.output_tokens, 0);
    cr_assert_str_eq(r.model, "gemma-4-31b-it");
    dg_llm_reply_clear(&r);
    metric_absent(e.m, TOK("gemini", "prompt"));
    /* proto-JSON leaves out a zero candidatesTokenCount */
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_eq(r.prompt_tokens, 9);
    cr_assert_eq(r.output_tokens, 0);
    metric_is(e.m, TOK("gemini", "prompt"), 9);
    metric_absent(e.m, TOK("gemini", "output"));
    metric_is(e.m, REQ("gemini", "ok"), 2);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, vertex_success)
{
    env e;
    env_init(&e, DG_LLM_VERTEX);
    fake_script(e.f, "[{\"kind\":\"success\",\"text\":\"{\\\"cause\\\":\\\"v\\\"}\","
                     "\"prompt_tokens\":3,\"output_tokens\":4}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_str_eq(r.text, "{\"cause\":\"v\"}");
    metric_is(e.m, REQ("vertex", "ok"), 1);
    metric_is(e.m, TOK("vertex", "prompt"), 3);
    metric_is(e.m, TOK("vertex", "output"), 4);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, ollama_success_ignores_thinking)
{
    env e;
    env_init(&e, DG_LLM_OLLAMA);
    fake_script(e.f, "[{\"kind\":\"success\",\"text\":\"{\\\"cause\\\":\\\"o\\\"}\","
                     "\"thinking\":\"{\\\"cause\\\":\\\"wrong\\\"}\",\"prompt_tokens\":34,"
                     "\"output_tokens\":14},"
                     "{\"kind\":\"success\",\"prompt_tokens\":0,\"output_tokens\":0}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_str_eq(r.text, "{\"cause\":\"o\"}");
    cr_assert_eq(r.prompt_tokens, 34);
    cr_assert_eq(r.output_tokens, 14);
    cr_assert_str_eq(r.model, "gemma4:31b");
    dg_llm_reply_clear(&r);
    /* omitempty: no counts at all */
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_eq(r.prompt_tokens, 0);
    cr_assert_eq(r.output_tokens, 0);
    metric_is(e.m, REQ("ollama", "ok"), 2);
    metric_is(e.m, TOK("ollama", "prompt"), 34);
    metric_is(e.m, TOK("ollama", "output"), 14);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, openai_success_ignores_reasoning)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    fake_script(e.f, "[{\"kind\":\"success\",\"text\":\"{\\\"cause\\\":\\\"a\\\"}\","
                     "\"reasoning\":\"{\\\"cause\\\":\\\"no\\\"}\",\"prompt_tokens\":31,"
                     "\"output_tokens\":14},"
                     "{\"kind\":\"success\",\"reasoning\":\"r\",\"reasoning_field\":\"reasoning\","
                     "\"usage\":null}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_str_eq(r.text, "{\"cause\":\"a\"}");
    cr_assert_eq(r.prompt_tokens, 31);
    cr_assert_eq(r.output_tokens, 14);
    cr_assert_str_eq(r.model, "google/gemma-4-31B-it");
    dg_llm_reply_clear(&r);
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_str_eq(r.text, "{\"ok\":true}");
    cr_assert_eq(r.prompt_tokens, 0);
    metric_is(e.m, REQ("openai", "ok"), 2);
    metric_is(e.m, TOK("openai", "prompt"), 31);
    metric_is(e.m, TOK("openai", "output"), 14);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, non_json_answer_text_returned_as_is)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    fake_script(e.f, "[{\"kind\":\"success\",\"text\":\"Sure! The cause is a deploy.\"},"
                     "{\"kind\":\"success\",\"text\":\"{\\\"unexpected\\\":1}\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_str_eq(r.text, "Sure! The cause is a deploy.");
    dg_llm_reply_clear(&r);
    /* schema violations are the caller's to judge */
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_str_eq(r.text, "{\"unexpected\":1}");
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

/* ---- failures that are not retried ---- */

static void expect_failed(env *e, const char *script, const char *outcome, int http,
                          unsigned attempts, const char *in_error)
{
    fake_script(e->f, script);
    dg_llm_client *c = client(e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_FAILED, "%s: status %d", script, r.status);
    cr_assert_null(r.text);
    cr_assert_str_eq(r.outcome, outcome, "%s: outcome %s (%s)", script, r.outcome, r.error);
    cr_assert_eq(r.http_status, http, "%s: http %d", script, r.http_status);
    cr_assert_eq(r.attempts, attempts, "%s: attempts %u", script, r.attempts);
    cr_assert_not_null(strstr(r.error, in_error), "%s: error \"%s\" lacks \"%s\"", script,
                       r.error, in_error);
    dg_llm_reply_clear(&r);
}

Test(llm, gemini_truncated_fails_clearly)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    expect_failed(&e, "[{\"kind\":\"truncated\",\"output_tokens\":512}]", "truncated", 200, 1,
                  "MAX_TOKENS");
    metric_is(e.m, REQ("gemini", "truncated"), 1);
    metric_is(e.m, TOK("gemini", "output"), 512);
    env_fini(&e);
}

Test(llm, ollama_truncated_fails_clearly)
{
    env e;
    env_init(&e, DG_LLM_OLLAMA);
    expect_failed(&e, "[{\"kind\":\"truncated\"}]", "truncated", 200, 1, "done_reason length");
    metric_is(e.m, REQ("ollama", "truncated"), 1);
    env_fini(&e);
}

Test(llm, openai_truncated_fails_clearly)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    expect_failed(&e, "[{\"kind\":\"truncated\"}]", "truncated", 200, 1, "finish_reason length");
    metric_is(e.m, REQ("openai", "truncated"), 1);
    env_fini(&e);
}

Test(llm, gemini_safety_stop_is_blocked)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    expect_failed(&e, "[{\"kind\":\"safety\"}]", "blocked", 200, 1, "blocked: finishReason SAFETY");
    metric_is(e.m, REQ("gemini", "blocked"), 1);
    env_fini(&e);
}

Test(llm, gemini_blocked_prompt_is_blocked)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    expect_failed(&e, "[{\"kind\":\"blocked\",\"reason\":\"PROHIBITED_CONTENT\"}]", "blocked", 200,
                  1, "prompt blocked: blockReason PROHIBITED_CONTENT");
    metric_is(e.m, REQ("gemini", "blocked"), 1);
    metric_is(e.m, TOK("gemini", "prompt"), 10);
    env_fini(&e);
}

Test(llm, gemini_400_403_404_not_retried)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    expect_failed(&e, "[{\"kind\":\"400\"}]", "client_error", 400, 1, "INVALID_ARGUMENT");
    expect_failed(&e, "[{\"kind\":\"403\"}]", "auth_error", 403, 1, "PERMISSION_DENIED");
    expect_failed(&e, "[{\"kind\":\"404\"}]", "client_error", 404, 1, "NOT_FOUND");
    expect_failed(&e, "[{\"kind\":\"error\",\"status\":400,\"grpc\":\"FAILED_PRECONDITION\","
                      "\"message\":\"User location is not supported for the API use.\"}]",
                  "client_error", 400, 1, "FAILED_PRECONDITION: User location is not supported");
    metric_is(e.m, REQ("gemini", "client_error"), 3);
    metric_is(e.m, REQ("gemini", "auth_error"), 1);
    json_t *reqs = fake_requests(e.f);
    cr_assert_eq(json_array_size(reqs), 4);
    json_decref(reqs);
    env_fini(&e);
}

Test(llm, gemini_bad_key_is_auth_error)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    expect_failed(&e, "[{\"kind\":\"bad_key\"}]", "auth_error", 400, 1, "API_KEY_INVALID");
    env_fini(&e);
}

Test(llm, ollama_404_not_retried_503_busy_retried)
{
    env e;
    env_init(&e, DG_LLM_OLLAMA);
    expect_failed(&e, "[{\"kind\":\"not_found\"}]", "client_error", 404, 1,
                  "model 'gemma4:31b' not found");
    fake_script(e.f, "[{\"kind\":\"busy\"},{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_eq(r.attempts, 2);
    metric_is(e.m, REQ("ollama", "server_error"), 1);
    metric_is(e.m, REQ("ollama", "client_error"), 1);
    metric_is(e.m, REQ("ollama", "ok"), 1);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, openai_error_shapes_both_parsed)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    expect_failed(&e, "[{\"kind\":\"overflow\"}]", "client_error", 400, 1,
                  "maximum context length is");
    fake_config(e.f, "{\"error_shape\":\"legacy\"}");
    expect_failed(&e, "[{\"kind\":\"error\",\"status\":400,\"message\":\"legacy shape here\"}]",
                  "client_error", 400, 1, "BadRequestError: legacy shape here");
    env_fini(&e);
}

Test(llm, openai_tool_calls_answer_is_bad_response)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    e.conf.max_attempts = 2;
    expect_failed(&e, "[{\"kind\":\"tool_calls\"},{\"kind\":\"tool_calls\"}]", "bad_response",
                  200, 2, "finish_reason tool_calls");
    env_fini(&e);
}

Test(llm, oversized_answer_is_bad_response)
{
    env e;
    env_init(&e, DG_LLM_OLLAMA);
    /* 9 MiB of JSON string: past the 8 MiB cap */
    size_t n = 9u << 20;
    char *big = malloc(n + 64);
    strcpy(big, "[{\"kind\":\"raw\",\"status\":200,\"body\":\"");
    size_t o = strlen(big);
    memset(big + o, 'x', n);
    strcpy(big + o + n, "\"}]");
    expect_failed(&e, big, "bad_response", 200, 1, "larger than 8 MiB");
    free(big);
    env_fini(&e);
}

/* ---- retries ---- */

Test(llm, gemini_429_retryinfo_waits_at_least_2s)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    fake_script(e.f, "[{\"kind\":\"429\",\"retry_delay\":\"2s\",\"order\":[\"Help\",\"RetryInfo\","
                     "\"QuotaFailure\"]},{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_eq(r.attempts, 2);
    json_t *reqs = fake_requests(e.f);
    cr_assert_eq(json_array_size(reqs), 2);
    cr_assert_geq(req_gap(reqs, 1), 2.0, "retried after %.3f s", req_gap(reqs, 1));
    json_decref(reqs);
    metric_is(e.m, REQ("gemini", "rate_limited"), 1);
    metric_is(e.m, REQ("gemini", "ok"), 1);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, retry_after_header_honoured)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    fake_script(e.f, "[{\"kind\":\"429\",\"retry_after\":\"1\"},{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    cr_assert_geq(req_gap(reqs, 1), 1.0, "retried after %.3f s", req_gap(reqs, 1));
    json_decref(reqs);
    metric_is(e.m, REQ("openai", "rate_limited"), 1);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, retry_after_and_retryinfo_larger_wins)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    /* header 0 s, RetryInfo 1.5 s (first in details): the larger */
    fake_script(e.f, "[{\"kind\":\"429\",\"retry_after\":\"0\",\"retry_delay\":\"1.5s\","
                     "\"order\":[\"RetryInfo\",\"QuotaFailure\",\"Help\"]},"
                     "{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    cr_assert_geq(req_gap(reqs, 1), 1.5, "retried after %.3f s", req_gap(reqs, 1));
    json_decref(reqs);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, a_429_pauses_the_next_call_too)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    e.conf.max_attempts = 1;
    fake_script(e.f, "[{\"kind\":\"429\",\"retry_delay\":\"1s\"},{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_FAILED);
    cr_assert_str_eq(r.outcome, "rate_limited");
    cr_assert_not_null(strstr(r.error, "RESOURCE_EXHAUSTED"), "%s", r.error);
    dg_llm_reply_clear(&r);
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    cr_assert_geq(req_gap(reqs, 1), 1.0, "next call after %.3f s", req_gap(reqs, 1));
    json_decref(reqs);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

static void server_errors_retried(dg_llm_backend b, const char *name)
{
    env e;
    env_init(&e, b);
    e.conf.max_attempts = 4;
    e.conf.backoff_initial_ms = 50;
    e.conf.backoff_max_ms = 1000;
    fake_script(e.f, "[{\"kind\":\"500\"},{\"kind\":\"503\"},{\"kind\":\"504\"},"
                     "{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s: %s", name, r.error);
    cr_assert_eq(r.attempts, 4);
    json_t *reqs = fake_requests(e.f);
    cr_assert_eq(json_array_size(reqs), 4);
    /* backoff 50, 100, 200 ms */
    cr_assert_geq(req_gap(reqs, 1), 0.05, "%s gap 1 %.3f", name, req_gap(reqs, 1));
    cr_assert_geq(req_gap(reqs, 2), 0.1, "%s gap 2 %.3f", name, req_gap(reqs, 2));
    cr_assert_geq(req_gap(reqs, 3), 0.2, "%s gap 3 %.3f", name, req_gap(reqs, 3));
    json_decref(reqs);
    char s[128];
    snprintf(s, sizeof s, "driftgate_llm_requests_total{backend=\"%s\",outcome=\"server_error\"}",
             name);
    metric_is(e.m, s, 3);
    snprintf(s, sizeof s, "driftgate_llm_requests_total{backend=\"%s\",outcome=\"ok\"}", name);
    metric_is(e.m, s, 1);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, gemini_5xx_retried_with_backoff)
{
    server_errors_retried(DG_LLM_GEMINI, "gemini");
}

Test(llm, vertex_5xx_retried_with_backoff)
{
    server_errors_retried(DG_LLM_VERTEX, "vertex");
}

Test(llm, ollama_5xx_retried_with_backoff)
{
    server_errors_retried(DG_LLM_OLLAMA, "ollama");
}

Test(llm, openai_5xx_retried_with_backoff)
{
    server_errors_retried(DG_LLM_OPENAI, "openai");
}

Test(llm, attempts_exhausted_fail_with_last_error)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    expect_failed(&e, "[{\"kind\":\"500\"},{\"kind\":\"503\"},{\"kind\":\"503\"}]", "server_error",
                  503, 3, "HTTP 503 UNAVAILABLE: The model is overloaded");
    metric_is(e.m, REQ("gemini", "server_error"), 3);
    env_fini(&e);
}

Test(llm, timeout_is_retried)
{
    env e;
    env_init(&e, DG_LLM_OLLAMA);
    e.conf.timeout_ms = 300;
    fake_script(e.f, "[{\"kind\":\"stall\",\"seconds\":1.5},{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_eq(r.attempts, 2);
    metric_is(e.m, REQ("ollama", "timeout"), 1);
    metric_is(e.m, REQ("ollama", "ok"), 1);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, timeout_every_attempt_fails_with_timeout)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    e.conf.timeout_ms = 200;
    e.conf.max_attempts = 2;
    expect_failed(&e, "[{\"kind\":\"stall\",\"seconds\":1},{\"kind\":\"stall\",\"seconds\":1}]",
                  "timeout", 0, 2, "no complete answer within 200 ms");
    metric_is(e.m, REQ("openai", "timeout"), 2);
    env_fini(&e);
}

Test(llm, reset_mid_body_is_retried)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    fake_script(e.f, "[{\"kind\":\"reset\"},{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_eq(r.attempts, 2);
    metric_is(e.m, REQ("gemini", "transport_error"), 1);
    metric_is(e.m, REQ("gemini", "ok"), 1);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, connection_refused_is_transport_error)
{
    env e;
    env_init(&e, DG_LLM_OLLAMA);
    e.conf.max_attempts = 2;
    /* the fake's port, once the fake is gone */
    stop_fakes();
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_FAILED);
    cr_assert_str_eq(r.outcome, "transport_error");
    cr_assert_eq(r.attempts, 2);
    cr_assert_eq(r.http_status, 0);
    cr_assert_neq(r.error[0], 0);
    metric_is(e.m, REQ("ollama", "transport_error"), 2);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, html_502_is_retried_with_a_clear_error)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    e.conf.max_attempts = 2;
    expect_failed(&e, "[{\"kind\":\"html502\"},{\"kind\":\"html502\"}]", "server_error", 502, 2,
                  "HTTP 502 with a non-JSON body (text/html): <html> <head><title>502 Bad Gateway");
    fake_script(e.f, "[{\"kind\":\"html502\"},{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    metric_is(e.m, REQ("gemini", "server_error"), 3);
    metric_is(e.m, REQ("gemini", "ok"), 1);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, non_json_200_is_bad_response_and_retried)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    fake_script(e.f, "[{\"kind\":\"badjson\"},{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_eq(r.attempts, 2);
    metric_is(e.m, REQ("openai", "bad_response"), 1);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

/* ---- JSON mode fallback ---- */

static void json_mode_fallback(const char *fake_conf)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    fake_config(e.f, fake_conf);
    e.conf.max_attempts = 1;   /* the fallback retry does not need a spare attempt */
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_eq(r.attempts, 2);
    json_t *reqs = fake_requests(e.f);
    cr_assert_eq(json_array_size(reqs), 2);
    json_t *b = req_body(reqs, 1);
    cr_assert_null(at(b, "generationConfig/responseMimeType"));
    cr_assert_null(at(b, "generationConfig/responseJsonSchema"));
    cr_assert_null(at(b, "systemInstruction"));
    const char *u = at_str(b, "contents/0/parts/0/text");
    cr_assert_eq(strncmp(u, "You explain API drift.", 22), 0, "%s", u);
    cr_assert_not_null(strstr(u, "Why did the field change?"), "%s", u);
    cr_assert_not_null(strstr(u, "\"required\":[\"cause\"]"), "%s", u);
    json_decref(reqs);
    dg_llm_reply_clear(&r);
    /* for good: the next call starts prompt-only */
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_eq(r.attempts, 1);
    reqs = fake_requests(e.f);
    cr_assert_null(at(req_body(reqs, 2), "generationConfig/responseMimeType"));
    json_decref(reqs);
    metric_is(e.m, REQ("gemini", "client_error"), 1);
    metric_is(e.m, REQ("gemini", "ok"), 2);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, json_mode_not_enabled_switches_to_prompt_only)
{
    json_mode_fallback("{\"json_mode\":false}");
}

Test(llm, developer_instruction_not_enabled_switches_to_prompt_only)
{
    json_mode_fallback("{\"system_instruction\":false}");
}

Test(llm, schema_mode_never_falls_back)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    fake_config(e.f, "{\"json_mode\":false}");
    e.conf.json_mode = DG_JSON_MODE_SCHEMA;
    expect_failed(&e, "[]", "client_error", 400, 1,
                  "JSON mode is not enabled for models/gemma-4-31b-it");
    env_fini(&e);
}

/* ---- vertex token refresh ---- */

Test(llm, vertex_401_rereads_token_command)
{
    env e;
    env_init(&e, DG_LLM_VERTEX);
    fake_config(e.f, "{\"token\":\"tok-new\",\"expired_tokens\":[\"tok-old\"]}");
    char path[] = "/tmp/dg_llm_tokXXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "tok-old\n", 8), 8);
    close(fd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "cat %s", path);
    free(e.conf.token_env);
    e.conf.token_env = NULL;
    e.conf.token_command = strdup(cmd);
    dg_llm_client *c = client(&e);
    FILE *f = fopen(path, "w");
    fputs("tok-new\n", f);
    fclose(f);
    dg_llm_reply r;
    call(c, &r);
    unlink(path);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    cr_assert_eq(r.attempts, 2);
    json_t *reqs = fake_requests(e.f);
    cr_assert_str_eq(req_header(reqs, 0, "authorization"), "Bearer tok-old");
    cr_assert_str_eq(req_header(reqs, 1, "authorization"), "Bearer tok-new");
    json_decref(reqs);
    metric_is(e.m, REQ("vertex", "auth_error"), 1);
    metric_is(e.m, REQ("vertex", "ok"), 1);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, vertex_401_rereads_token_env_once)
{
    env e;
    env_init(&e, DG_LLM_VERTEX);
    e.conf.max_attempts = 5;
    fake_config(e.f, "{\"token\":\"tok-2\"}");
    setenv("DG_TEST_VERTEX_TOKEN", "tok-1", 1);
    dg_llm_client *c = client(&e);
    setenv("DG_TEST_VERTEX_TOKEN", "tok-2", 1);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    dg_llm_reply_clear(&r);
    /* still 401 with the fresh token: one re-read per call, then fail */
    setenv("DG_TEST_VERTEX_TOKEN", "tok-3", 1);
    fake_config(e.f, "{\"token\":\"tok-9\"}");
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_FAILED);
    cr_assert_str_eq(r.outcome, "auth_error");
    cr_assert_eq(r.attempts, 2);
    cr_assert_not_null(strstr(r.error, "UNAUTHENTICATED"), "%s", r.error);
    json_t *reqs = fake_requests(e.f);
    cr_assert_eq(json_array_size(reqs), 4);
    cr_assert_str_eq(req_header(reqs, 2, "authorization"), "Bearer tok-2");
    cr_assert_str_eq(req_header(reqs, 3, "authorization"), "Bearer tok-3");
    json_decref(reqs);
    metric_is(e.m, REQ("vertex", "auth_error"), 3);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, vertex_401_token_reread_failure_is_reported)
{
    env e;
    env_init(&e, DG_LLM_VERTEX);
    fake_script(e.f, "[{\"kind\":\"expired\"}]");
    dg_llm_client *c = client(&e);
    unsetenv("DG_TEST_VERTEX_TOKEN");
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_FAILED);
    cr_assert_str_eq(r.outcome, "auth_error");
    cr_assert_not_null(strstr(r.error, "DG_TEST_VERTEX_TOKEN"), "%s", r.error);
    cr_assert_eq(r.attempts, 1);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

/* ---- circuit breaker ---- */

Test(llm, circuit_opens_refuses_and_half_opens)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    e.conf.max_attempts = 1;
    e.conf.circuit_failures = 2;
    e.conf.circuit_cooldown_ms = 500;
    fake_script(e.f, "[{\"kind\":\"500\"},{\"kind\":\"500\"},{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_FAILED);
    cr_assert_not(dg_llm_circuit_open(c));
    dg_llm_reply_clear(&r);
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_FAILED);
    dg_llm_reply_clear(&r);
    cr_assert(dg_llm_circuit_open(c));
    metric_is(e.m, "driftgate_llm_circuit_open{backend=\"openai\"}", 1);

    /* refused at once, from dg_llm_submit, with nothing sent */
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_REFUSED);
    cr_assert_str_eq(r.outcome, "circuit_open");
    cr_assert_eq(r.attempts, 0);
    cr_assert_not_null(strstr(r.error, "circuit open"), "%s", r.error);
    dg_llm_reply_clear(&r);
    json_t *reqs = fake_requests(e.f);
    cr_assert_eq(json_array_size(reqs), 2);
    json_decref(reqs);
    metric_is(e.m, REQ("openai", "circuit_open"), 1);

    usleep(600 * 1000);
    cr_assert_not(dg_llm_circuit_open(c));
    call(c, &r);   /* the half-open probe */
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    dg_llm_reply_clear(&r);
    cr_assert_not(dg_llm_circuit_open(c));
    metric_is(e.m, "driftgate_llm_circuit_open{backend=\"openai\"}", 0);
    metric_is(e.m, REQ("openai", "server_error"), 2);
    metric_is(e.m, REQ("openai", "ok"), 1);
    env_fini(&e);
}

Test(llm, circuit_half_open_failure_reopens)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    e.conf.max_attempts = 1;
    e.conf.circuit_failures = 1;
    e.conf.circuit_cooldown_ms = 200;
    fake_script(e.f, "[{\"kind\":\"503\"},{\"kind\":\"503\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    dg_llm_reply_clear(&r);
    cr_assert(dg_llm_circuit_open(c));
    usleep(300 * 1000);
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_FAILED);
    dg_llm_reply_clear(&r);
    cr_assert(dg_llm_circuit_open(c));
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_REFUSED);
    dg_llm_reply_clear(&r);
    metric_is(e.m, "driftgate_llm_circuit_open{backend=\"gemini\"}", 1);
    env_fini(&e);
}

Test(llm, blocked_answers_do_not_open_the_circuit)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    e.conf.circuit_failures = 2;
    fake_script(e.f, "[{\"kind\":\"safety\"},{\"kind\":\"blocked\"},{\"kind\":\"truncated\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    for (int i = 0; i < 3; i++) {
        call(c, &r);
        cr_assert_eq(r.status, DG_LLM_FAILED);
        dg_llm_reply_clear(&r);
    }
    cr_assert_not(dg_llm_circuit_open(c));
    env_fini(&e);
}

/* ---- limits ---- */

Test(llm, requests_per_minute_spaces_attempts)
{
    env e;
    env_init(&e, DG_LLM_OLLAMA);
    e.conf.requests_per_minute = 120;   /* one every 500 ms */
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    for (int i = 0; i < 3; i++) {
        call(c, &r);
        cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
        dg_llm_reply_clear(&r);
    }
    json_t *reqs = fake_requests(e.f);
    cr_assert_geq(req_gap(reqs, 1), 0.45, "gap %.3f", req_gap(reqs, 1));
    cr_assert_geq(req_gap(reqs, 2), 0.45, "gap %.3f", req_gap(reqs, 2));
    json_decref(reqs);
    env_fini(&e);
}

Test(llm, daily_token_budget_refuses_once_exhausted)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    e.conf.daily_token_budget = 20;   /* the fake counts 10 + 5 per call */
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    dg_llm_reply_clear(&r);
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    dg_llm_reply_clear(&r);
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_REFUSED);
    cr_assert_str_eq(r.outcome, "budget");
    cr_assert_eq(r.attempts, 0);
    cr_assert_not_null(strstr(r.error, "budget"), "%s", r.error);
    dg_llm_reply_clear(&r);
    json_t *reqs = fake_requests(e.f);
    cr_assert_eq(json_array_size(reqs), 2);
    json_decref(reqs);
    metric_is(e.m, REQ("gemini", "budget"), 1);
    metric_is(e.m, TOK("gemini", "prompt"), 20);
    metric_is(e.m, TOK("gemini", "output"), 10);
    /* a new UTC day */
    dg_llm_hub_add_days(e.h, 1);
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_OK, "%s", r.error);
    dg_llm_reply_clear(&r);
    env_fini(&e);
}

Test(llm, budget_exhausted_between_attempts_stops_the_call)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    e.conf.daily_token_budget = 12;
    /* a retriable answer that still spent 15 tokens */
    fake_script(e.f, "[{\"kind\":\"tool_calls\"},{\"kind\":\"success\"}]");
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_FAILED);
    cr_assert_str_eq(r.outcome, "budget");
    cr_assert_eq(r.attempts, 1);
    cr_assert_eq(r.prompt_tokens, 10);
    cr_assert_eq(r.output_tokens, 5);
    dg_llm_reply_clear(&r);
    metric_is(e.m, REQ("openai", "bad_response"), 1);
    metric_is(e.m, REQ("openai", "budget"), 1);
    json_t *reqs = fake_requests(e.f);
    cr_assert_eq(json_array_size(reqs), 1);
    json_decref(reqs);
    env_fini(&e);
}

/* ---- secrets ---- */

Test(llm, secrets_never_in_errors_or_render)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    /* the fake echoes the key it got in its error message */
    fake_config(e.f, "{\"echo_secret_in_errors\":true}");
    setenv("DG_TEST_GEMINI_KEY", "wrong-key-SECRET-9", 1);
    dg_llm_client *c = client(&e);
    dg_llm_reply r;
    call(c, &r);
    cr_assert_eq(r.status, DG_LLM_FAILED);
    cr_assert_str_eq(r.outcome, "auth_error");
    cr_assert_null(strstr(r.error, "SECRET"), "%s", r.error);
    cr_assert_not_null(strstr(r.error, "API key not valid"), "%s", r.error);
    cr_assert_not_null(strstr(r.error, "***"), "%s", r.error);
    dg_llm_reply_clear(&r);
    dg_buf out = DG_BUF_INIT;
    dg_llm_request rq = {"s", "u", NULL};
    cr_assert_eq(dg_llm_render(c, &rq, &out), 0);
    cr_assert_null(strstr(out.data, "SECRET"), "%s", out.data);
    dg_buf_free(&out);
    char *m = expose(e.m);
    cr_assert_null(strstr(m, "SECRET"));
    free(m);
    env_fini(&e);
}

/* ---- the asynchronous interface ---- */

struct seen {
    int calls;
    dg_llm_status status;
    char text[64];
};

static void on_done(void *ctx, const dg_llm_reply *r)
{
    struct seen *s = ctx;
    s->calls++;
    s->status = r->status;
    snprintf(s->text, sizeof s->text, "%s", r->text ? r->text : "");
}

Test(llm, hub_run_drives_calls_and_reports_progress)
{
    env e;
    env_init(&e, DG_LLM_OLLAMA);
    fake_script(e.f, "[{\"kind\":\"success\",\"delay\":0.3,\"text\":\"A\"}]");
    dg_llm_client *c1 = client(&e);
    dg_llm_client *c2 = client(&e);
    struct seen s1 = {0}, s2 = {0};
    dg_llm_request rq = {NULL, "u", NULL};
    cr_assert_eq(dg_llm_submit(c1, &rq, on_done, &s1), 0);
    cr_assert_eq(dg_llm_submit(c2, &rq, on_done, &s2), 0);
    cr_assert_eq(dg_llm_hub_run(e.h, 0), 2);
    int n, rounds = 0;
    while ((n = dg_llm_hub_run(e.h, 50)) > 0)
        cr_assert_lt(++rounds, 400);
    cr_assert_eq(s1.calls, 1);
    cr_assert_eq(s2.calls, 1);
    cr_assert_eq(s1.status, DG_LLM_OK);
    cr_assert_eq(s2.status, DG_LLM_OK);
    cr_assert(!strcmp(s1.text, "A") || !strcmp(s2.text, "A"));
    cr_assert_eq(dg_llm_hub_run(e.h, 1000), 0);   /* idle: returns at once */
    env_fini(&e);
}

Test(llm, hub_free_aborts_without_callbacks)
{
    env e;
    env_init(&e, DG_LLM_OPENAI);
    fake_script(e.f, "[{\"kind\":\"stall\",\"seconds\":3}]");
    dg_llm_client *c = client(&e);
    struct seen s = {0};
    dg_llm_request rq = {NULL, "u", NULL};
    cr_assert_eq(dg_llm_submit(c, &rq, on_done, &s), 0);
    cr_assert_eq(dg_llm_hub_run(e.h, 200), 1);
    cr_assert(dg_llm_busy(c));
    dg_llm_hub_free(e.h);
    e.h = NULL;
    cr_assert_eq(s.calls, 0);
    env_fini(&e);
}

struct chain {
    dg_llm_client *c;
    int n;
    int ok;
};

static void chain_done(void *ctx, const dg_llm_reply *r)
{
    struct chain *ch = ctx;
    ch->ok += r->status == DG_LLM_OK;
    if (++ch->n < 3) {
        dg_llm_request rq = {NULL, "again", NULL};
        cr_assert_not(dg_llm_busy(ch->c));
        cr_assert_eq(dg_llm_submit(ch->c, &rq, chain_done, ch), 0);
    }
}

Test(llm, callback_may_submit_the_next_call)
{
    env e;
    env_init(&e, DG_LLM_GEMINI);
    struct chain ch = {client(&e), 0, 0};
    dg_llm_request rq = {NULL, "first", NULL};
    cr_assert_eq(dg_llm_submit(ch.c, &rq, chain_done, &ch), 0);
    int rounds = 0;
    while (dg_llm_hub_run(e.h, 100) > 0)
        cr_assert_lt(++rounds, 300);
    cr_assert_eq(ch.n, 3);
    cr_assert_eq(ch.ok, 3);
    metric_is(e.m, REQ("gemini", "ok"), 3);
    env_fini(&e);
}

/* ---- the explain pipeline across a reload (a use-after-free found by
 * ThreadSanitizer: the call's context was the API's state, freed when a
 * reload rebuilt the states while the call was in flight) ---- */

#include "analyze/analyze.h"

static dg_config *pipe_cfg(const fake *f, dg_llm_backend b, unsigned batch_size)
{
    dg_config *c = calloc(1, sizeof *c);
    c->apis = calloc(1, sizeof *c->apis);
    c->n_apis = 1;
    c->apis[0].name = strdup("pets");
    dg_llm_conf_default(&c->explain);
    dg_llm_conf *e = &c->apis[0].explain;
    dg_llm_conf_default(e);
    e->backend = b;
    e->endpoint = strdup(f->base);
    e->model = strdup(b == DG_LLM_GEMINI ? "gemma-4-31b-it" : "gemma4:31b");
    e->batch_size = batch_size;
    e->requests_per_minute = 0;
    e->timeout_ms = 10000;
    setenv("DG_TEST_GEMINI_KEY", "test-key", 1);
    e->api_key_env = strdup("DG_TEST_GEMINI_KEY");
    return c;
}

static void pipe_drift(dg_pipeline *p, const char *ptr)
{
    dg_anomaly a;
    memset(&a, 0, sizeof a);
    a.ts_ns = (int64_t)time(NULL) * 1000000000LL;
    a.api = (char *)"pets";
    a.operation = (char *)"getPet";
    a.status = 200;
    a.kind = (char *)"type";
    a.instance_pointer = (char *)ptr;
    a.schema_pointer = (char *)"/nonexistent/pets.yaml#/components/schemas/Pet/properties/id/type";
    a.shape_type = (char *)"string";
    a.spec_hash = (char *)"h1";
    cr_assert_eq(dg_pipeline_add(p, &a), 0);
    cr_assert_eq(dg_pipeline_flush(p, NULL), 0);
}

/* Drives the pipeline until no call is left (bounded). */
static void pipe_drain(dg_pipeline *p)
{
    for (int i = 0; i < 200 && dg_pipeline_explain(p, 0, 100) > 0; i++)
        ;
}

static int model_explained(dg_store *s, const char *fp)
{
    dg_explanation x;
    if (dg_store_get_explanation(s, fp, "h1", &x, NULL))
        return 0;
    int m = x.source && !strcmp(x.source, "model");
    dg_explanation_clear(&x);
    return m;
}

Test(llm, pipeline_reload_while_a_call_is_in_flight)
{
    fake *f = fake_start("gemini");
    dg_store *st = NULL;
    dg_store_opts so = {0, 0, 0};
    cr_assert_eq(dg_store_open("sqlite::memory:", &so, &st, NULL), 0);
    dg_config *c1 = pipe_cfg(f, DG_LLM_GEMINI, 5);
    dg_pipeline *p = NULL;
    cr_assert_eq(dg_pipeline_new(c1, st, NULL, &p, NULL), 0);
    pipe_drift(p, "/id");
    dg_drift *rows = NULL;
    size_t n = 0;
    dg_store_filter flt = {0};
    cr_assert_eq(dg_store_query(st, &flt, &rows, &n, NULL), 0);
    cr_assert_eq(n, 1);
    char fp[DG_FP_LEN + 1];
    memcpy(fp, rows[0].fingerprint, sizeof fp);
    dg_drifts_free(rows, n);
    char cfgjson[600];
    snprintf(cfgjson, sizeof cfgjson,
             "{\"latency\": 1.0, \"answer\": \"{\\\"explanations\\\":[{\\\"fingerprint\\\":\\\"%s\\\","
             "\\\"classification\\\":\\\"unknown\\\",\\\"cause\\\":\\\"c\\\",\\\"evidence\\\":\\\"e\\\","
             "\\\"severity\\\":\\\"low\\\",\\\"confidence\\\":0.5,\\\"patch\\\":[]}]}\"}", fp);
    fake_config(f, cfgjson);
    /* 1. same backend: the state (and the call) survive the reload */
    cr_assert_gt(dg_pipeline_explain(p, 1, 0), 0, "a call is in flight");
    dg_config *c2 = pipe_cfg(f, DG_LLM_GEMINI, 7);
    cr_assert_eq(dg_pipeline_reconfigure(p, c2, NULL), 0);
    pipe_drain(p);
    cr_assert(model_explained(st, fp), "the answer of the call begun before the reload is stored");
    /* 2. another backend: the old state is retired, its answer dropped */
    pipe_drift(p, "/name");
    cr_assert_eq(dg_store_query(st, &flt, &rows, &n, NULL), 0);
    char fp2[DG_FP_LEN + 1] = "";
    for (size_t i = 0; i < n; i++)
        if (strcmp(rows[i].fingerprint, fp))
            memcpy(fp2, rows[i].fingerprint, sizeof fp2);
    dg_drifts_free(rows, n);
    snprintf(cfgjson, sizeof cfgjson,
             "{\"latency\": 1.0, \"answer\": \"{\\\"explanations\\\":[{\\\"fingerprint\\\":\\\"%s\\\","
             "\\\"classification\\\":\\\"unknown\\\",\\\"cause\\\":\\\"c\\\",\\\"evidence\\\":\\\"e\\\","
             "\\\"severity\\\":\\\"low\\\",\\\"confidence\\\":0.5,\\\"patch\\\":[]}]}\"}", fp2);
    fake_config(f, cfgjson);
    cr_assert_gt(dg_pipeline_explain(p, 1, 0), 0);
    dg_config *c3 = pipe_cfg(f, DG_LLM_OLLAMA, 7); /* the fake is not Ollama: never used */
    dg_pipeline_limit_batches(p, 1);
    cr_assert_eq(dg_pipeline_reconfigure(p, c3, NULL), 0);
    pipe_drain(p);
    cr_assert(!model_explained(st, fp2), "a retired state's answer is not stored");
    dg_pipeline_free(p);
    dg_store_close(st);
    dg_config_free(c1);
    dg_config_free(c2);
    dg_config_free(c3);
}
