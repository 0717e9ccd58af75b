/* tests/unit/test_drift.c: fingerprints, pointer normalisation and the
 * in-memory aggregator (analyze/drift.h). */
#include <criterion/criterion.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze/drift.h"

/* An anomaly on stack-owned strings (never freed with dg_anomaly_free). */
static dg_anomaly mk(const char *op, int status, const char *ptr, const char *schema,
                     const char *kind, const char *type, int64_t ts_ms)
{
    dg_anomaly a;
    memset(&a, 0, sizeof a);
    a.ts_ns = ts_ms * 1000000;
    a.api = (char *)"shop";
    a.operation = (char *)op;
    a.method = (char *)"GET";
    a.path_template = (char *)"/items";
    a.status = status;
    a.media_type = (char *)"application/json";
    a.kind = (char *)kind;
    a.instance_pointer = (char *)ptr;
    a.schema_pointer = (char *)schema;
    a.message = (char *)"expected number, got string";
    a.shape_type = (char *)type;
    a.shape_length = 3;
    a.spec_hash = (char *)"abc";
    a.owner = (char *)"team-shop";
    return a;
}

#define PRICE_SCHEMA "/srv/specs/shop.yaml#/components/schemas/Item/properties/price/type"

Test(drift, pointer_normalise_replaces_array_indices)
{
    struct { const char *in, *out; } c[] = {
        {"", ""},
        {"/items/3/price", "/items/*/price"},
        {"/0", "/*"},
        {"/items/0/tags/12", "/items/*/tags/*"},
        {"/a/007/b", "/a/007/b"},      /* leading zero: a member name, not an index */
        {"/a/-/b", "/a/-/b"},
        {"/a/1x", "/a/1x"},
        {"/a//b", "/a//b"},
        {"/a/", "/a/"},
        {"/999999999999999999999", "/*"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        char *n = dg_pointer_normalise(c[i].in);
        cr_assert_str_eq(n, c[i].out, "%s", c[i].in);
        free(n);
    }
}

Test(drift, schema_loc_keeps_the_base_name)
{
    char *s = dg_schema_loc(PRICE_SCHEMA);
    cr_assert_str_eq(s, "shop.yaml#/components/schemas/Item/properties/price/type");
    free(s);
    s = dg_schema_loc("file:///x/y.json#/a");
    cr_assert_str_eq(s, "y.json#/a");
    free(s);
    s = dg_schema_loc("plain.yaml#/a/b/c");   /* '/' after '#' is not a directory */
    cr_assert_str_eq(s, "plain.yaml#/a/b/c");
    free(s);
    s = dg_schema_loc(NULL);
    cr_assert_str_eq(s, "");
    free(s);
}

Test(drift, fingerprint_is_stable_and_documented)
{
    /* sha-256 of the seven fields each followed by a NUL byte, first 64 bits:
     * python3 -c "import hashlib; print(hashlib.sha256(b''.join(x.encode()+b'\0'
     * for x in [...])).hexdigest()[:16])" */
    dg_anomaly a = mk("getItem", 200, "/items/7/price", PRICE_SCHEMA, "type", "string", 1000);
    dg_drift d;
    cr_assert_eq(dg_drift_from_anomaly(&a, &d), 0);
    cr_assert_str_eq(d.fingerprint, "03ee604034607627");
    cr_assert_str_eq(d.pointer, "/items/*/price");
    cr_assert_eq(d.count, 1);
    cr_assert_eq(d.n_days, 1);
    cr_assert_str_eq(d.owner, "team-shop");
    json_t *ex = json_loads(d.example, 0, NULL);
    cr_assert_not_null(ex);
    cr_assert_str_eq(json_string_value(json_object_get(ex, "type")), "string");
    cr_assert_eq(json_integer_value(json_object_get(ex, "length")), 3);
    cr_assert_null(json_object_get(ex, "value"));
    json_decref(ex);
    dg_drift_clear(&d);
}

Test(drift, fingerprint_ignores_install_path_and_index_but_not_identity)
{
    dg_anomaly a = mk("getItem", 200, "/items/7/price", PRICE_SCHEMA, "type", "string", 1000);
    dg_anomaly b = mk("getItem", 200, "/items/0/price",
                      "/other/place/shop.yaml#/components/schemas/Item/properties/price/type",
                      "type", "string", 5000);
    dg_drift da, db;
    cr_assert_eq(dg_drift_from_anomaly(&a, &da), 0);
    cr_assert_eq(dg_drift_from_anomaly(&b, &db), 0);
    cr_assert_str_eq(da.fingerprint, db.fingerprint);
    dg_drift_clear(&db);
    /* each identity field changes it */
    dg_anomaly v[] = {
        mk("listItems", 200, "/items/7/price", PRICE_SCHEMA, "type", "string", 1),
        mk("getItem", 201, "/items/7/price", PRICE_SCHEMA, "type", "string", 1),
        mk("getItem", 200, "/items/7/cost", PRICE_SCHEMA, "type", "string", 1),
        mk("getItem", 200, "/items/7/price", PRICE_SCHEMA "x", "type", "string", 1),
        mk("getItem", 200, "/items/7/price", PRICE_SCHEMA, "format", "string", 1),
        mk("getItem", 200, "/items/7/price", PRICE_SCHEMA, "type", "null", 1),
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        cr_assert_eq(dg_drift_from_anomaly(&v[i], &db), 0);
        cr_assert_str_neq(da.fingerprint, db.fingerprint, "variant %zu", i);
        dg_drift_clear(&db);
    }
    /* context fields do not */
    dg_anomaly c = a;
    c.message = (char *)"another message";
    c.request_id = (char *)"r1";
    c.shape_length = 99;
    cr_assert_eq(dg_drift_from_anomaly(&c, &db), 0);
    cr_assert_str_eq(da.fingerprint, db.fingerprint);
    dg_drift_clear(&db);
    dg_drift_clear(&da);
}

Test(drift, day_numbers_and_format)
{
    cr_assert_eq(dg_day_of_ms(0), 0);
    cr_assert_eq(dg_day_of_ms(86399999), 0);
    cr_assert_eq(dg_day_of_ms(86400000), 1);
    cr_assert_eq(dg_day_of_ms(-1), -1);
    char s[11];
    dg_day_format(dg_day_of_ms(1795651200000LL), s); /* 2026-11-26T00:00:00Z */
    cr_assert_str_eq(s, "2026-11-26");
}

/* The counting check: 10,000 violations of 12 distinct drifts. */
Test(drift, agg_ten_thousand_violations_of_twelve_drifts)
{
    static const char *ptrs[4] = {"/items/%d/price", "/items/%d/name", "/total", "/items/%d/tags/%d"};
    static const char *kinds[3] = {"type", "format", "required"};
    dg_drift_agg *g = dg_drift_agg_new(0);
    cr_assert_not_null(g);
    int64_t day0 = 1795651200000LL;
    for (int i = 0; i < 10000; i++) {
        char p[64];
        snprintf(p, sizeof p, ptrs[i % 4], i % 50, i % 7);
        dg_anomaly a = mk("getItem", 200, p, PRICE_SCHEMA, kinds[(i / 4) % 3], "string",
                          day0 + (int64_t)(i % 5 % 3) * 86400000 + i);
        cr_assert_eq(dg_drift_agg_add(g, &a), 0);
    }
    cr_assert_eq(dg_drift_agg_pending(g), 12);
    cr_assert_eq(dg_drift_agg_anomalies(g), 10000);
    size_t n;
    dg_drift *d = dg_drift_agg_take(g, &n);
    cr_assert_eq(n, 12);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += d[i].count;
        cr_assert_eq(d[i].n_days, 3, "three days per drift");
        uint64_t per_day = 0;
        for (size_t k = 0; k < d[i].n_days; k++) {
            per_day += d[i].days[k].count;
            if (k)
                cr_assert_gt(d[i].days[k].day, d[i].days[k - 1].day, "ascending");
        }
        cr_assert_eq(per_day, d[i].count);
        cr_assert_lt(d[i].first_seen_ms, d[i].last_seen_ms);
    }
    cr_assert_eq(total, 10000);
    cr_assert_eq(dg_drift_agg_pending(g), 0);
    cr_assert_null(dg_drift_agg_take(g, &n));
    cr_assert_eq(n, 0);
    dg_drifts_free(d, 12);
    dg_drift_agg_free(g);
}

Test(drift, agg_full_drops_new_drifts_and_counts_them)
{
    dg_drift_agg *g = dg_drift_agg_new(2);
    dg_anomaly a = mk("a", 200, "/x", PRICE_SCHEMA, "type", "string", 1);
    dg_anomaly b = mk("b", 200, "/x", PRICE_SCHEMA, "type", "string", 1);
    dg_anomaly c = mk("c", 200, "/x", PRICE_SCHEMA, "type", "string", 1);
    cr_assert_eq(dg_drift_agg_add(g, &a), 0);
    cr_assert_eq(dg_drift_agg_add(g, &b), 0);
    cr_assert_eq(dg_drift_agg_add(g, &c), DG_ELIMIT);
    cr_assert_eq(dg_drift_agg_add(g, &a), 0, "a known drift still counts when full");
    cr_assert_eq(dg_drift_agg_dropped(g), 1);
    cr_assert_eq(dg_drift_agg_anomalies(g), 3);
    dg_drift_agg_free(g);
}

Test(drift, agg_restore_merges_with_what_arrived_since)
{
    dg_drift_agg *g = dg_drift_agg_new(0);
    dg_anomaly a = mk("a", 200, "/x", PRICE_SCHEMA, "type", "string", 1000);
    dg_anomaly b = mk("b", 200, "/x", PRICE_SCHEMA, "type", "string", 1000);
    cr_assert_eq(dg_drift_agg_add(g, &a), 0);
    cr_assert_eq(dg_drift_agg_add(g, &a), 0);
    size_t n;
    dg_drift *d = dg_drift_agg_take(g, &n);
    cr_assert_eq(n, 1);
    /* the write failed; meanwhile more arrived */
    dg_anomaly a2 = mk("a", 200, "/x", PRICE_SCHEMA, "type", "string", 500);
    a2.spec_hash = (char *)"new-hash";
    cr_assert_eq(dg_drift_agg_add(g, &a2), 0);
    cr_assert_eq(dg_drift_agg_add(g, &b), 0);
    dg_drift_agg_restore(g, d, n);
    d = dg_drift_agg_take(g, &n);
    cr_assert_eq(n, 2);
    const dg_drift *da = !strcmp(d[0].operation, "a") ? &d[0] : &d[1];
    cr_assert_eq(da->count, 3);
    cr_assert_eq(da->first_seen_ms, 500);
    cr_assert_eq(da->last_seen_ms, 1000);
    /* the context of the latest sighting (last_seen 1000: the restored one) */
    cr_assert_str_eq(da->spec_hash, "abc");
    dg_drifts_free(d, n);
    dg_drift_agg_free(g);
}

Test(drift, values_appear_in_the_example_only_when_given)
{
    dg_anomaly a = mk("a", 200, "/status", PRICE_SCHEMA, "enum", "string", 1);
    a.value = (char *)"\"shipped\"";
    dg_drift d;
    cr_assert_eq(dg_drift_from_anomaly(&a, &d), 0);
    json_t *ex = json_loads(d.example, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(ex, "value")), "\"shipped\"");
    json_decref(ex);
    dg_drift copy;
    cr_assert_eq(dg_drift_copy(&copy, &d), 0);
    cr_assert_str_eq(copy.example, d.example);
    cr_assert_str_eq(copy.fingerprint, d.fingerprint);
    dg_drift_clear(&copy);
    dg_drift_clear(&d);
}

Test(drift, pointer_same_drift_ignores_indices_only)
{
    cr_assert(dg_pointer_same_drift("/items/3/price", "/items/12/price"));
    cr_assert(dg_pointer_same_drift("", ""));
    cr_assert(dg_pointer_same_drift(NULL, ""));
    cr_assert(!dg_pointer_same_drift("/items/3/price", "/items/3/cost"));
    cr_assert(!dg_pointer_same_drift("/items/3", "/items/3/price"));
    cr_assert(!dg_pointer_same_drift("/items/03/price", "/items/3/price"), "03 is a name");
    cr_assert(!dg_pointer_same_drift("/a/x", "/a/1"));
}

Test(drift, agg_counts_grouped_anomalies_and_merges_restored_drifts_by_identity)
{
    dg_drift_agg *g = dg_drift_agg_new(0);
    dg_anomaly a = mk("getItem", 200, "/items/4/price", PRICE_SCHEMA, "type", "string", 1000);
    a.count = 20;
    cr_assert_eq(dg_drift_agg_add(g, &a), 0);
    cr_assert_eq(dg_drift_agg_anomalies(g), 20);
    size_t n;
    dg_drift *d = dg_drift_agg_take(g, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(d[0].count, 20);
    cr_assert_eq(d[0].days[0].count, 20);
    /* restored (normalised pointer) + a new raw anomaly of the same drift: one */
    dg_anomaly b = mk("getItem", 200, "/items/0/price", PRICE_SCHEMA, "type", "string", 2000);
    cr_assert_eq(dg_drift_agg_add(g, &b), 0);
    dg_drift_agg_restore(g, d, n);
    d = dg_drift_agg_take(g, &n);
    cr_assert_eq(n, 1, "the same identity hashes the same from an anomaly and from a drift");
    cr_assert_eq(d[0].count, 21);
    dg_drifts_free(d, n);
    dg_drift_agg_free(g);
}

Test(drift, agg_fast_path_takes_the_new_context_when_the_spec_changes)
{
    dg_drift_agg *g = dg_drift_agg_new(0);
    dg_anomaly a = mk("getItem", 200, "/items/1/price", PRICE_SCHEMA, "type", "string", 1000);
    cr_assert_eq(dg_drift_agg_add(g, &a), 0);
    a.message = (char *)"same spec: context kept";
    cr_assert_eq(dg_drift_agg_add(g, &a), 0);
    dg_anomaly b = a;
    b.spec_hash = (char *)"v2";
    b.message = (char *)"new spec";
    b.ts_ns = 3000LL * 1000000;
    cr_assert_eq(dg_drift_agg_add(g, &b), 0);
    size_t n;
    dg_drift *d = dg_drift_agg_take(g, &n);
    cr_assert_eq(n, 1);
    cr_assert_eq(d[0].count, 3);
    cr_assert_str_eq(d[0].spec_hash, "v2");
    cr_assert_str_eq(d[0].message, "new spec");
    cr_assert_eq(d[0].last_seen_ms, 3000);
    cr_assert_eq(d[0].first_seen_ms, 1000);
    dg_drifts_free(d, n);
    dg_drift_agg_free(g);
}
