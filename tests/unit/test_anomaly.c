/* tests/unit/test_anomaly.c: anomaly JSON, the drop-oldest queue and the
 * JSON-lines consumer (common/anomaly.h). */
#include <criterion/criterion.h>

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/anomaly.h"
#include "common/buf.h"
#include "common/error.h"

static char *dup_or_null(const char *s)
{
    if (!s)
        return NULL;
    char *p = strdup(s);
    cr_assert_not_null(p);
    return p;
}

/* A minimal anomaly: api and kind set, request_id = id (may be NULL). */
static dg_anomaly *mk(const char *id)
{
    dg_anomaly *a = calloc(1, sizeof *a);
    cr_assert_not_null(a);
    a->api = dup_or_null("pets");
    a->kind = dup_or_null("type");
    a->request_id = dup_or_null(id);
    return a;
}

static char *to_json(const dg_anomaly *a)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg_anomaly_to_json(a, &b), 0);
    char *s = strdup(b.data);
    dg_buf_free(&b);
    return s;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(anomaly, severity_names)
{
    cr_assert_str_eq(dg_severity_name(DG_SEV_ERROR), "error");
    cr_assert_str_eq(dg_severity_name(DG_SEV_INFO), "info");
}

Test(anomaly, to_json_has_every_field_in_order)
{
    dg_anomaly *a = mk("req-1");
    a->ts_ns = 1795644600123000000LL;
    a->operation = dup_or_null("getPet");
    a->method = dup_or_null("GET");
    a->path_template = dup_or_null("/pets/{id}");
    a->status = 200;
    a->media_type = dup_or_null("application/json");
    a->severity = DG_SEV_INFO;
    a->instance_pointer = dup_or_null("/id");
    a->schema_pointer = dup_or_null("pets.yaml#/components/schemas/Pet/properties/id/type");
    a->message = dup_or_null("expected integer, got string");
    a->shape_type = dup_or_null("string");
    a->shape_length = 3;
    a->value = dup_or_null("\"abc\"");
    a->spec_hash = dup_or_null("sha256:00ff");
    char *s = to_json(a);
    cr_assert_str_eq(
        s, "{\"ts\":\"2026-11-25T22:10:00.123Z\",\"api\":\"pets\",\"operation\":\"getPet\","
           "\"method\":\"GET\",\"path_template\":\"/pets/{id}\",\"status\":200,"
           "\"media_type\":\"application/json\",\"kind\":\"type\",\"severity\":\"info\","
           "\"instance_pointer\":\"/id\","
           "\"schema_pointer\":\"pets.yaml#/components/schemas/Pet/properties/id/type\","
           "\"message\":\"expected integer, got string\","
           "\"shape\":{\"type\":\"string\",\"length\":3},\"value\":\"\\\"abc\\\"\","
           "\"spec_hash\":\"sha256:00ff\",\"request_id\":\"req-1\"}");
    json_t *o = json_loads(s, 0, NULL);
    cr_assert_not_null(o);
    cr_assert_str_eq(json_string_value(json_object_get(o, "value")), "\"abc\"");
    json_decref(o);
    free(s);
    dg_anomaly_free(a);
}

Test(anomaly, to_json_omits_null_fields)
{
    dg_anomaly *a = mk(NULL);
    char *s = to_json(a);
    cr_assert_str_eq(s, "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"api\":\"pets\",\"kind\":\"type\","
                        "\"severity\":\"error\"}");
    free(s);
    /* A number's shape carries its class. */
    a->shape_type = dup_or_null("number");
    a->shape_number_class = dup_or_null("decimal");
    s = to_json(a);
    cr_assert_not_null(
        strstr(s, ",\"shape\":{\"type\":\"number\",\"length\":0,\"number_class\":\"decimal\"}"),
        "%s", s);
    cr_assert_null(strstr(s, "\"value\""));
    free(s);
    dg_anomaly_free(a);
    dg_anomaly_free(NULL);
}

Test(anomaly, to_json_escapes_strings)
{
    dg_anomaly *a = mk("r\"1");
    a->message = dup_or_null("line1\nline2 \"quoted\" back\\slash \x01 caf\xc3\xa9");
    a->instance_pointer = dup_or_null("/a~1b/\"c\"");
    a->value = dup_or_null("{\"k\":\"v\\n\"");   /* cut JSON text: travels as a string */
    char *s = to_json(a);
    cr_assert_null(strchr(s, '\n'));
    json_error_t e;
    json_t *o = json_loads(s, 0, &e);
    cr_assert_not_null(o, "%s: %s", e.text, s);
    cr_assert_str_eq(json_string_value(json_object_get(o, "message")), a->message);
    cr_assert_str_eq(json_string_value(json_object_get(o, "instance_pointer")),
                     a->instance_pointer);
    cr_assert_str_eq(json_string_value(json_object_get(o, "value")), a->value);
    cr_assert_str_eq(json_string_value(json_object_get(o, "request_id")), "r\"1");
    json_decref(o);
    free(s);
    dg_anomaly_free(a);
}

Test(anomaly, full_queue_drops_the_oldest_and_counts)
{
    dg_anomaly_queue *q = dg_anomaly_queue_new(3);
    cr_assert_not_null(q);
    const char *ids[] = {"1", "2", "3", "4", "5"};
    for (size_t i = 0; i < 5; i++)
        dg_anomaly_queue_push(q, mk(ids[i]));
    cr_assert_eq(dg_anomaly_queue_depth(q), 3);
    cr_assert_eq(dg_anomaly_queue_dropped(q), 2);
    for (size_t i = 2; i < 5; i++) {
        dg_anomaly *a = dg_anomaly_queue_pop(q, 0);
        cr_assert_not_null(a);
        cr_assert_str_eq(a->request_id, ids[i]);
        dg_anomaly_free(a);
    }
    cr_assert_eq(dg_anomaly_queue_depth(q), 0);
    cr_assert_null(dg_anomaly_queue_pop(q, 0));
    dg_anomaly_queue_push(q, NULL); /* ignored */
    cr_assert_eq(dg_anomaly_queue_depth(q), 0);
    /* Entries still queued are freed with the queue (checked by ASan). */
    dg_anomaly_queue_push(q, mk("left"));
    dg_anomaly_queue_free(q);
}

Test(anomaly, default_capacity_is_ten_thousand)
{
    dg_anomaly_queue *q = dg_anomaly_queue_new(0);
    for (int i = 0; i < 10001; i++)
        dg_anomaly_queue_push(q, mk(NULL));
    cr_assert_eq(dg_anomaly_queue_depth(q), 10000);
    cr_assert_eq(dg_anomaly_queue_dropped(q), 1);
    dg_anomaly_queue_free(q);
}

Test(anomaly, pop_timeout_returns_null)
{
    dg_anomaly_queue *q = dg_anomaly_queue_new(4);
    int64_t t0 = mono_ms();
    cr_assert_null(dg_anomaly_queue_pop(q, 0));
    cr_assert_lt(mono_ms() - t0, 50);
    t0 = mono_ms();
    cr_assert_null(dg_anomaly_queue_pop(q, 120));
    int64_t waited = mono_ms() - t0;
    cr_assert(waited >= 115 && waited < 5000, "waited %lld ms", (long long)waited);
    dg_anomaly_queue_free(q);
}

struct waiter {
    dg_anomaly_queue *q;
    dg_anomaly *got;
    int timeout_ms;
};

static void *wait_pop(void *arg)
{
    struct waiter *w = arg;
    w->got = dg_anomaly_queue_pop(w->q, w->timeout_ms);
    return NULL;
}

Test(anomaly, close_wakes_a_waiting_consumer)
{
    dg_anomaly_queue *q = dg_anomaly_queue_new(4);
    struct waiter w = {q, (dg_anomaly *)1, -1};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, wait_pop, &w), 0);
    usleep(50000);
    dg_anomaly_queue_close(q);
    pthread_join(t, NULL);
    cr_assert_null(w.got);
    /* Pushes after close are freed, not queued and not counted. */
    dg_anomaly_queue_push(q, mk("late"));
    cr_assert_eq(dg_anomaly_queue_depth(q), 0);
    cr_assert_eq(dg_anomaly_queue_dropped(q), 0);
    cr_assert_null(dg_anomaly_queue_pop(q, -1));
    dg_anomaly_queue_free(q);
}

Test(anomaly, push_wakes_a_waiting_consumer_and_close_drains_first)
{
    dg_anomaly_queue *q = dg_anomaly_queue_new(4);
    struct waiter w = {q, NULL, 10000};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, wait_pop, &w), 0);
    usleep(20000);
    int64_t t0 = mono_ms();
    dg_anomaly_queue_push(q, mk("x"));
    pthread_join(t, NULL);
    cr_assert_lt(mono_ms() - t0, 5000);
    cr_assert_not_null(w.got);
    cr_assert_str_eq(w.got->request_id, "x");
    dg_anomaly_free(w.got);

    /* Closed but not empty: entries still come out, then NULL. */
    dg_anomaly_queue_push(q, mk("a"));
    dg_anomaly_queue_push(q, mk("b"));
    dg_anomaly_queue_close(q);
    dg_anomaly *a = dg_anomaly_queue_pop(q, -1), *b = dg_anomaly_queue_pop(q, -1);
    cr_assert(a && b);
    cr_assert_str_eq(a->request_id, "a");
    cr_assert_str_eq(b->request_id, "b");
    cr_assert_null(dg_anomaly_queue_pop(q, -1));
    dg_anomaly_free(a);
    dg_anomaly_free(b);
    dg_anomaly_queue_free(q);
}

/* ---------------------------------------------------------------- stress */

#define PRODUCERS 4
#define PER_PRODUCER 50000

struct producer {
    dg_anomaly_queue *q;
    int id;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < PER_PRODUCER; i++) {
        dg_anomaly *a = calloc(1, sizeof *a);
        if (!a)
            abort();
        a->status = p->id;
        a->shape_length = (uint64_t)i;
        dg_anomaly_queue_push(p->q, a);
    }
    return NULL;
}

struct consumer {
    dg_anomaly_queue *q;
    uint64_t popped;
    int in_order;
};

static void *consume(void *arg)
{
    struct consumer *c = arg;
    int64_t last[PRODUCERS];
    for (int i = 0; i < PRODUCERS; i++)
        last[i] = -1;
    c->in_order = 1;
    dg_anomaly *a;
    /* -1: only close (after the producers finish) ends the loop. */
    while ((a = dg_anomaly_queue_pop(c->q, -1)) != NULL) {
        if ((int64_t)a->shape_length <= last[a->status])
            c->in_order = 0;
        last[a->status] = (int64_t)a->shape_length;
        c->popped++;
        dg_anomaly_free(a);
    }
    return NULL;
}

Test(anomaly, multi_producer_stress_accounts_for_every_push)
{
    dg_anomaly_queue *q = dg_anomaly_queue_new(64);
    struct consumer c = {q, 0, 0};
    pthread_t ct, pt[PRODUCERS];
    struct producer p[PRODUCERS];
    cr_assert_eq(pthread_create(&ct, NULL, consume, &c), 0);
    for (int i = 0; i < PRODUCERS; i++) {
        p[i] = (struct producer){q, i};
        cr_assert_eq(pthread_create(&pt[i], NULL, produce, &p[i]), 0);
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(pt[i], NULL);
    dg_anomaly_queue_close(q);
    pthread_join(ct, NULL);
    uint64_t dropped = dg_anomaly_queue_dropped(q);
    cr_assert_eq(c.popped + dropped, (uint64_t)PRODUCERS * PER_PRODUCER,
                 "popped %llu + dropped %llu", (unsigned long long)c.popped,
                 (unsigned long long)dropped);
    cr_assert(c.in_order, "a producer's anomalies came out of order");
    cr_assert_eq(dg_anomaly_queue_depth(q), 0);
    dg_anomaly_queue_free(q);
}

/* ---------------------------------------------------------------- JSONL */

static char dir[64];

static void make_dir(void)
{
    strcpy(dir, "/tmp/dg_anomaly_XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return strdup("");
    dg_buf b = DG_BUF_INIT;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        cr_assert_eq(dg_buf_append(&b, chunk, n), 0);
    fclose(f);
    char *s = strdup(b.data ? b.data : "");
    dg_buf_free(&b);
    return s;
}

/* Parses every line; returns the request_ids in an array. */
static json_t *request_ids(const char *s)
{
    json_t *ids = json_array();
    for (const char *p = s; *p;) {
        const char *nl = strchr(p, '\n');
        cr_assert_not_null(nl, "unterminated line: %s", p);
        json_error_t e;
        json_t *o = json_loadb(p, (size_t)(nl - p), 0, &e);
        cr_assert_not_null(o, "invalid JSON line (%s): %.*s", e.text, (int)(nl - p), p);
        json_array_append(ids, json_object_get(o, "request_id"));
        json_decref(o);
        p = nl + 1;
    }
    return ids;
}

static void wait_for_size(const char *path, off_t n)
{
    for (int i = 0; i < 5000; i++) {
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size >= n)
            return;
        usleep(1000);
    }
    cr_assert_fail("%s never reached %lld bytes", path, (long long)n);
}

Test(anomaly, jsonl_writes_one_valid_line_per_anomaly)
{
    make_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/anomalies.jsonl", dir);
    dg_anomaly_queue *q = dg_anomaly_queue_new(1000);
    dg_anomaly_jsonl *w = NULL;
    char err[256] = "";
    cr_assert_eq(dg_anomaly_jsonl_start(q, path, &w, err, sizeof err), 0, "%s", err);
    cr_assert_not_null(w);
    for (int i = 0; i < 500; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%d", i);
        dg_anomaly *a = mk(id);
        a->message = dup_or_null("multi\nline \"message\"");
        dg_anomaly_queue_push(q, a);
    }
    /* stop closes the queue, drains it and joins. */
    dg_anomaly_jsonl_stop(w);
    char *s = slurp(path);
    json_t *ids = request_ids(s);
    cr_assert_eq(json_array_size(ids), 500);
    for (size_t i = 0; i < 500; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%zu", i);
        cr_assert_str_eq(json_string_value(json_array_get(ids, i)), id);
    }
    json_decref(ids);
    free(s);
    dg_anomaly_queue_free(q);
    remove_dir();
}

Test(anomaly, jsonl_reopens_after_rename)
{
    make_dir();
    char path[128], rotated[128];
    snprintf(path, sizeof path, "%s/a.jsonl", dir);
    snprintf(rotated, sizeof rotated, "%s/a.jsonl.1", dir);
    dg_anomaly_queue *q = dg_anomaly_queue_new(16);
    dg_anomaly_jsonl *w = NULL;
    cr_assert_eq(dg_anomaly_jsonl_start(q, path, &w, NULL, 0), 0);
    dg_anomaly_queue_push(q, mk("before"));
    wait_for_size(path, 1);
    cr_assert_eq(rename(path, rotated), 0);
    dg_anomaly_jsonl_reopen(w);
    dg_anomaly_queue_push(q, mk("after"));
    dg_anomaly_queue_close(q);
    dg_anomaly_jsonl_stop(w);
    char *old = slurp(rotated), *cur = slurp(path);
    cr_assert(strstr(old, "\"before\"") && !strstr(old, "\"after\""), "old: %s", old);
    cr_assert(strstr(cur, "\"after\"") && !strstr(cur, "\"before\""), "new: %s", cur);
    free(old);
    free(cur);
    dg_anomaly_queue_free(q);
    remove_dir();
}

Test(anomaly, jsonl_reopen_while_idle_creates_the_new_file)
{
    make_dir();
    char path[128], rotated[128];
    snprintf(path, sizeof path, "%s/i.jsonl", dir);
    snprintf(rotated, sizeof rotated, "%s/i.jsonl.1", dir);
    dg_anomaly_queue *q = dg_anomaly_queue_new(16);
    dg_anomaly_jsonl *w = NULL;
    cr_assert_eq(dg_anomaly_jsonl_start(q, path, &w, NULL, 0), 0);
    cr_assert_eq(rename(path, rotated), 0);
    dg_anomaly_jsonl_reopen(w);
    wait_for_size(path, 0); /* exists again, within the idle poll interval */
    dg_anomaly_jsonl_stop(w);
    dg_anomaly_queue_free(q);
    remove_dir();
}

Test(anomaly, jsonl_start_reports_unopenable_file)
{
    dg_anomaly_queue *q = dg_anomaly_queue_new(4);
    dg_anomaly_jsonl *w = (dg_anomaly_jsonl *)1;
    char err[256] = "";
    cr_assert_eq(dg_anomaly_jsonl_start(q, "/nonexistent-dir/a.jsonl", &w, err, sizeof err),
                 DG_EIO);
    cr_assert_null(w);
    cr_assert_not_null(strstr(err, "/nonexistent-dir/a.jsonl"), "%s", err);
    dg_anomaly_jsonl_stop(NULL);
    dg_anomaly_queue_free(q);
}
