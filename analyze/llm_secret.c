/* analyze/llm_secret.c: what a client needs before its first call: its
 * effective configuration (the backend's defaults filled in, URL parts
 * checked) and the API key or access token, read from an environment
 * variable, a file or a command and kept out of every message (errors name
 * where the secret was looked for, never its value). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analyze/llm_internal.h"

extern char **environ;

void dg_llm_secret_free(char *s)
{
    if (!s)
        return;
    /* volatile stores so the wipe is not optimised away before free */
    for (volatile char *p = s; *p; p++)
        *p = 0;
    free(s);
}

void dg_llm_scrub(char *s, size_t cap, const char *secret)
{
    size_t sl = secret ? strlen(secret) : 0;
    if (!s || sl < 4 || cap == 0)   /* a tiny secret would mask ordinary words */
        return;
    char *p;
    while ((p = strstr(s, secret))) {
        size_t rest = strlen(p + sl);
        /* "***" is never longer than the secret (sl >= 4), so it fits */
        memcpy(p, "***", 3);
        memmove(p + 3, p + sl, rest + 1);
    }
}

/* Trims surrounding white space; takes the first line only. NULL when
 * empty. The result is a new string; src is wiped. */
static char *clean_secret(char *src, int *bad_chars)
{
    *bad_chars = 0;
    char *s = src;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    size_t n = strcspn(s, "\r\n");
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            *bad_chars = 1;
    char *out = NULL;
    if (n && !*bad_chars && (out = malloc(n + 1))) {
        memcpy(out, s, n);
        out[n] = 0;
    }
    for (volatile char *p = src; *p; p++)
        *p = 0;
    return out;
}

static int from_env(dg_llm_client *c, const char *var, dg_error *err)
{
    const char *be = dg_llm_backend_name(c->conf.backend);
    snprintf(c->secret_source, sizeof c->secret_source, "environment variable %s", var);
    const char *v = getenv(var);
    if (!v || !*v)
        return dg_error_set(err, DG_EINVAL, "%s: the environment variable %s is not set or empty",
                            be, var);
    char *copy = strdup(v);
    if (!copy)
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    int bad;
    char *s = clean_secret(copy, &bad);
    free(copy);
    if (!s)
        return bad ? dg_error_set(err, DG_EINVAL, "%s: the environment variable %s holds control "
                                  "characters", be, var)
                   : dg_error_set(err, DG_EINVAL, "%s: the environment variable %s is blank", be,
                                  var);
    c->secret = s;
    return 0;
}

static int from_file(dg_llm_client *c, const char *path, dg_error *err)
{
    const char *be = dg_llm_backend_name(c->conf.backend);
    snprintf(c->secret_source, sizeof c->secret_source, "file %s", path);
    FILE *f = fopen(path, "re");
    if (!f)
        return dg_error_set(err, DG_EINVAL, "%s: cannot read the key file %s: %s", be, path,
                            strerror(errno));
    char *buf = malloc(DG_LLM_MAX_SECRET + 1);
    if (!buf) {
        fclose(f);
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, DG_LLM_MAX_SECRET + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || n > DG_LLM_MAX_SECRET) {
        memset(buf, 0, n);
        free(buf);
        return dg_error_set(err, DG_EINVAL, "%s: the key file %s is %s", be, path,
                            rerr ? "unreadable" : "too large");
    }
    buf[n] = 0;
    int bad;
    char *s = clean_secret(buf, &bad);
    free(buf);
    if (!s)
        return dg_error_set(err, DG_EINVAL, "%s: the key file %s %s", be, path,
                            bad ? "holds control characters" : "is empty");
    c->secret = s;
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs cmd with /bin/sh, stdout captured (at most DG_LLM_MAX_SECRET bytes),
 * stdin /dev/null, stderr inherited; killed after the timeout. */
static int from_command(dg_llm_client *c, const char *cmd, dg_error *err)
{
    const char *be = dg_llm_backend_name(c->conf.backend);
    snprintf(c->secret_source, sizeof c->secret_source, "token_command");
    int fds[2];
    if (pipe2(fds, O_CLOEXEC))
        return dg_error_set(err, DG_EINVAL, "%s: token_command: pipe: %s", be, strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    char *argv[] = {"sh", "-c", (char *)cmd, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc) {
        close(fds[0]);
        return dg_error_set(err, DG_EINVAL, "%s: token_command: cannot start /bin/sh: %s", be,
                            strerror(rc));
    }
    char *buf = malloc(DG_LLM_MAX_SECRET + 1);
    size_t n = 0;
    int timed_out = 0, too_big = 0;
    int64_t deadline = mono_ms() + DG_LLM_TOKEN_COMMAND_TIMEOUT_MS;
    while (buf) {
        int64_t left = deadline - mono_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            timed_out = pr == 0;
            break;
        }
        if (n == DG_LLM_MAX_SECRET) {
            too_big = 1;
            break;
        }
        ssize_t r = read(fds[0], buf + n, DG_LLM_MAX_SECRET - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fds[0]);
    if (timed_out || too_big || !buf)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!buf)
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    buf[n] = 0;
    int bad = 0;
    char *s = clean_secret(buf, &bad);
    free(buf);
    if (timed_out || too_big || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !s) {
        dg_llm_secret_free(s);
        if (timed_out)
            return dg_error_set(err, DG_EINVAL, "%s: token_command did not finish within %d s", be,
                                DG_LLM_TOKEN_COMMAND_TIMEOUT_MS / 1000);
        if (too_big)
            return dg_error_set(err, DG_EINVAL, "%s: token_command printed too much", be);
        if (!WIFEXITED(st))
            return dg_error_set(err, DG_EINVAL, "%s: token_command was killed by signal %d", be,
                                WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        if (WEXITSTATUS(st) != 0)
            return dg_error_set(err, DG_EINVAL, "%s: token_command exited with status %d", be,
                                WEXITSTATUS(st));
        return dg_error_set(err, DG_EINVAL, "%s: token_command printed %s", be,
                            bad ? "control characters" : "no token");
    }
    c->secret = s;
    return 0;
}

static int set_default(char **f, const char *v)
{
    if (*f)
        return 0;
    return (*f = strdup(v)) ? 0 : DG_ENOMEM;
}

static int url_safe(const char *s, const char *extra)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
            return 0;
    return 1;
}

int dg_llm_conf_fill(dg_llm_conf *k, dg_error *err)
{
    static const char *const models[] = {NULL, "gemma-4-31b-it", "gemma-4-31b-it", "gemma4:31b",
                                         "google/gemma-4-31B-it"};
    static const char *const endpoints[] = {NULL, "https://generativelanguage.googleapis.com",
                                            NULL, "http://127.0.0.1:11434",
                                            "http://127.0.0.1:8000"};
    const char *be = dg_llm_backend_name(k->backend);
    int rc = set_default(&k->model, models[k->backend]);
    if (!rc && k->backend == DG_LLM_VERTEX) {
        rc = set_default(&k->location, "us-central1");
        if (!rc && !k->endpoint) {
            char ep[200];
            if (!strcmp(k->location, "global"))
                snprintf(ep, sizeof ep, "https://aiplatform.googleapis.com");
            else
                snprintf(ep, sizeof ep, "https://%.100s-aiplatform.googleapis.com", k->location);
            rc = set_default(&k->endpoint, ep);
        }
        if (!rc && !k->token_command)
            rc = set_default(&k->token_env, "VERTEX_ACCESS_TOKEN");
    } else if (!rc) {
        rc = set_default(&k->endpoint, endpoints[k->backend]);
    }
    if (!rc && k->backend == DG_LLM_GEMINI && !k->api_key_file)
        rc = set_default(&k->api_key_env, "GEMINI_API_KEY");
    if (rc)
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    if (strncmp(k->endpoint, "http://", 7) && strncmp(k->endpoint, "https://", 8))
        return dg_error_set(err, DG_EINVAL, "%s: endpoint must start with http:// or https://",
                            be);
    for (const char *p = k->endpoint; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#')
            return dg_error_set(err, DG_EINVAL, "%s: endpoint holds a space, control "
                                "character, '?' or '#'", be);
    if (k->backend == DG_LLM_GEMINI || k->backend == DG_LLM_VERTEX) {
        if (!url_safe(k->model, "._-:@/"))
            return dg_error_set(err, DG_EINVAL, "%s: model id must be letters, digits and "
                                "._-:@/", be);
    } else if (!*k->model) {
        return dg_error_set(err, DG_EINVAL, "%s: empty model id", be);
    }
    if (k->backend == DG_LLM_VERTEX) {
        if (!k->project)
            return dg_error_set(err, DG_EINVAL, "vertex: project is required");
        if (!url_safe(k->project, "._-:") || !url_safe(k->location, "._-"))
            return dg_error_set(err, DG_EINVAL, "vertex: project and location must be letters, "
                                "digits and ._-");
    }
    if (k->max_attempts == 0)
        k->max_attempts = 1;
    return 0;
}

int dg_llm_secret_load(dg_llm_client *c, dg_error *err)
{
    const dg_llm_conf *k = &c->conf;
    dg_llm_secret_free(c->secret);
    c->secret = NULL;
    c->secret_source[0] = 0;
    if (k->backend == DG_LLM_VERTEX) {
        if (k->token_command)
            return from_command(c, k->token_command, err);
        return from_env(c, k->token_env ? k->token_env : "VERTEX_ACCESS_TOKEN", err);
    }
    /* gemini needs a key (its default variable is filled in by the
     * client); ollama and openai send one only when configured */
    if (k->api_key_env)
        return from_env(c, k->api_key_env, err);
    if (k->api_key_file)
        return from_file(c, k->api_key_file, err);
    if (k->backend == DG_LLM_GEMINI)
        return dg_error_set(err, DG_EINVAL, "gemini: no API key configured (api_key_env or "
                            "api_key_file)");
    return 0;
}
