/* tests/store/crash_writer.c: writes to a drift store as fast as it can
 * until it is killed (tests/store/crash.sh sends SIGKILL).
 *
 * Each batch is 200 drifts with random counts (drawn from 5,000
 * fingerprints, so most writes update rows, some insert) written with one
 * dg_store_write, i.e. one transaction. Around each write it prints, one
 * line each, flushed:
 *   next N        the store's total count if this write commits
 *   committed N   the write has committed; N is the total now
 * so after a kill the store's SUM(count) must be the last "committed" N,
 * or the N of a "next" line printed after it (the commit landed, the
 * process died before saying so). Usage: crash_writer STORE [SEED] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/drift.h"
#include "analyze/store.h"

enum { BATCH = 200, FINGERPRINTS = 5000 };

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: crash_writer STORE [SEED]\n");
        return 2;
    }
    srand(argc == 3 ? (unsigned)strtoul(argv[2], NULL, 10) : 1u);
    setvbuf(stdout, NULL, _IOLBF, 0);
    dg_store *s = NULL;
    dg_error e = {0};
    if (dg_store_open(argv[1], NULL, &s, &e)) {
        fprintf(stderr, "crash_writer: %s\n", e.msg);
        return 1;
    }
    static dg_drift d[BATCH];
    static dg_day_count days[BATCH];
    uint64_t total = 0;
    int64_t now = INT64_C(1764115200000); /* 2025-11-26 */
    for (unsigned long n = 0;; n++) {
        uint64_t add = 0;
        for (int i = 0; i < BATCH; i++) {
            dg_drift *x = &d[i];
            memset(x, 0, sizeof *x);
            snprintf(x->fingerprint, sizeof x->fingerprint, "%016x",
                     (unsigned)(rand() % FINGERPRINTS));
            x->api = (char *)(i % 3 ? "pets" : "shop");
            x->operation = (char *)"getPet";
            x->status = 200;
            x->pointer = (char *)"/items/*/price";
            x->schema_loc = (char *)"petstore.yaml#/components/schemas/Item/properties/price";
            x->kind = (char *)"type";
            x->observed_type = (char *)"string";
            x->method = (char *)"GET";
            x->path_template = (char *)"/pets/{id}";
            x->media_type = (char *)"application/json";
            x->severity = (char *)"error";
            x->message = (char *)"expected number, got string";
            x->owner = (char *)"team-a";
            x->spec_hash = (char *)"0123456789abcdef";
            x->example = (char *)"{\"type\":\"string\",\"length\":5}";
            x->count = 1 + (uint64_t)(rand() % 1000);
            x->first_seen_ms = now + (int64_t)n;
            x->last_seen_ms = now + (int64_t)n + 1;
            days[i].day = dg_day_of_ms(x->last_seen_ms) + (int32_t)(n % 7);
            days[i].count = x->count;
            x->days = &days[i];
            x->n_days = 1;
            add += x->count;
        }
        printf("next %llu\n", (unsigned long long)(total + add));
        fflush(stdout);
        if (dg_store_write(s, d, BATCH, &e)) {
            fprintf(stderr, "crash_writer: batch %lu: %s\n", n, e.msg);
            dg_store_close(s);
            return 1;
        }
        total += add;
        printf("committed %llu\n", (unsigned long long)total);
        fflush(stdout);
    }
}
