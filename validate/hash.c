/* validate/hash.c: canonical 128-bit hashes of JSON values for enum/const
 * on structured values and uniqueItems. Objects hash order-independently
 * (a commutative sum of member hashes), numbers by value (1.0 == 1). */
#include <string.h>

#include "validate/schema_internal.h"

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static dg_hash hash_bytes(uint64_t seed, const char *p, size_t n)
{
    uint64_t a = 0x9E3779B97F4A7C15ULL ^ seed, b = 0xC2B2AE3D27D4EB4FULL + seed;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        a = mix64(a ^ w);
        b = mix64(b + w + 0x165667B19E3779F9ULL);
    }
    uint64_t t = 0;
    memcpy(&t, p + i, n - i);
    a = mix64(a ^ t ^ ((uint64_t)n << 56));
    b = mix64(b + t + n);
    return (dg_hash){a, b};
}

dg_hash dg_hash_scalar(dg_json_ev ev, const char *s, size_t len)
{
    switch (ev) {
    case DG_EV_NULL: return (dg_hash){0x1111, 0x2222};
    case DG_EV_TRUE: return (dg_hash){0x3333, 0x4444};
    case DG_EV_FALSE: return (dg_hash){0x5555, 0x6666};
    case DG_EV_STRING: case DG_EV_KEY: return hash_bytes(7, s, len);
    case DG_EV_NUMBER: {
        char buf[64], canon[96];
        dg_dec d;
        char *digits = len < sizeof buf ? buf : NULL;
        if (digits && dg_dec_parse(s, len, digits, &d) == 0) {
            size_t n = dg_dec_canonical(&d, canon, sizeof canon);
            return hash_bytes(11, canon, n);
        }
        return hash_bytes(13, s, len); /* very long numbers: by text */
    }
    default: return (dg_hash){0, 0};
    }
}

void dg_hash_mix(dg_hash *acc, dg_hash h)
{
    acc->a = mix64(acc->a * 31 + h.a);
    acc->b = mix64(acc->b * 37 + h.b);
}

dg_hash dg_hash_member(const char *k, size_t klen, dg_hash v)
{
    dg_hash kh = hash_bytes(17, k, klen);
    return (dg_hash){mix64(kh.a ^ v.a), mix64(kh.b + v.b)};
}

dg_hash dg_hash_finish(dg_hash acc, int is_object, uint64_t count)
{
    return (dg_hash){mix64(acc.a ^ (is_object ? 0xAAAAULL : 0xBBBBULL) ^ (count << 8)),
                     mix64(acc.b + (is_object ? 0xCCCCULL : 0xDDDDULL) + count)};
}

dg_hash dg_hash_json(const json_t *v, const dg_doc *doc)
{
    char tmp[64];
    switch (json_typeof(v)) {
    case JSON_NULL: return dg_hash_scalar(DG_EV_NULL, NULL, 0);
    case JSON_TRUE: return dg_hash_scalar(DG_EV_TRUE, NULL, 0);
    case JSON_FALSE: return dg_hash_scalar(DG_EV_FALSE, NULL, 0);
    case JSON_STRING: return dg_hash_scalar(DG_EV_STRING, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: {
        int n = snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
        return dg_hash_scalar(DG_EV_NUMBER, tmp, (size_t)n);
    }
    case JSON_REAL: {
        const char *t = doc ? dg_doc_number_text(doc, v) : NULL;
        if (!t) {
            snprintf(tmp, sizeof tmp, "%.17g", json_real_value(v));
            t = tmp;
        }
        return dg_hash_scalar(DG_EV_NUMBER, t, strlen(t));
    }
    case JSON_ARRAY: {
        dg_hash acc = {0, 0};
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) dg_hash_mix(&acc, dg_hash_json(e, doc));
        return dg_hash_finish(acc, 0, json_array_size(v));
    }
    case JSON_OBJECT: {
        dg_hash acc = {0, 0};
        const char *k;
        size_t kl;
        json_t *e;
        void *tmpit;
        json_object_keylen_foreach_safe((json_t *)v, tmpit, k, kl, e) {
            dg_hash m = dg_hash_member(k, kl, dg_hash_json(e, doc));
            acc.a += m.a;
            acc.b += m.b;
        }
        return dg_hash_finish(acc, 1, json_object_size(v));
    }
    }
    return (dg_hash){0, 0};
}
