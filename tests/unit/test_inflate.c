/* tests/unit/test_inflate.c: bounded gzip/deflate decoding (proxy/inflate.h).
 *
 * Compressed inputs are made here with zlib (deflateInit2 window bits 31 =
 * gzip, 15 = zlib, -15 = raw), so each test states exactly what it feeds.
 * Pieces are copied into exactly-sized allocations so that ASan catches a
 * read past a piece's end. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "proxy/inflate.h"

enum { GZIP = 31, ZLIB = 15, RAW = -15 };

typedef struct bytes {
    unsigned char *p;
    size_t len, cap;
} bytes;

static void put(bytes *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        unsigned char *q = realloc(b->p, cap);
        cr_assert_not_null(q);
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* Compresses `total` bytes produced by repeating src[0..n) into *out. */
static void compress_rep(int bits, const void *src, size_t n, size_t total, bytes *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    cr_assert_eq(deflateInit2(&zs, 9, Z_DEFLATED, bits, 9, Z_DEFAULT_STRATEGY), Z_OK);
    unsigned char buf[65536];
    size_t done = 0;
    int flush;
    do {
        size_t k = total - done < n ? total - done : n;
        zs.next_in = (unsigned char *)src;
        zs.avail_in = (uInt)k;
        done += k;
        flush = done == total ? Z_FINISH : Z_NO_FLUSH;
        do {
            zs.next_out = buf;
            zs.avail_out = sizeof buf;
            cr_assert_neq(deflate(&zs, flush), Z_STREAM_ERROR);
            put(out, buf, sizeof buf - zs.avail_out);
        } while (zs.avail_out == 0);
    } while (flush != Z_FINISH);
    deflateEnd(&zs);
}

static void zcompress(int bits, const void *src, size_t n, bytes *out)
{
    compress_rep(bits, src, n, n, out);
}

/* A JSON-ish payload: compressible but not trivially so. */
static bytes payload(size_t n)
{
    bytes b = {0};
    uint32_t x = 12345;
    char line[96];
    while (b.len < n) {
        x = x * 1103515245u + 12345u;
        int k = snprintf(line, sizeof line, "{\"id\":%u,\"name\":\"pet-%u\",\"tag\":null},",
                         x >> 8, (x >> 4) & 1023);
        put(&b, line, (size_t)k);
    }
    b.len = n;
    return b;
}

typedef struct sink {
    bytes got;
    size_t calls, max_piece;
    uint64_t seen;
    int stop_after;
} sink;

static int collect(void *ctx, const char *p, size_t n)
{
    sink *s = ctx;
    cr_assert_gt(n, 0);
    s->calls++;
    if (n > s->max_piece)
        s->max_piece = n;
    s->seen += n;
    if (s->got.len < (64u << 20))
        put(&s->got, p, n);
    return s->stop_after && s->calls >= (size_t)s->stop_after ? DG_ESTOP : 0;
}

static dg_error err;

/* Feeds in[0..n) in pieces of `step` bytes (0 = whole); returns the first
 * non-zero feed result, else finish's. */
static int run(dg_inflate *z, const unsigned char *in, size_t n, size_t step, sink *s)
{
    size_t off = 0;
    do {
        size_t k = step && step < n - off ? step : n - off;
        char *piece = malloc(k ? k : 1);
        cr_assert_not_null(piece);
        memcpy(piece, in + off, k);
        int r = dg_inflate_feed(z, piece, k, collect, s, &err);
        free(piece);
        if (r)
            return r;
        off += k;
    } while (off < n);
    return dg_inflate_finish(z, &err);
}

static void roundtrip(dg_coding coding, int bits, size_t plain_len, size_t step)
{
    bytes plain = payload(plain_len), comp = {0};
    zcompress(bits, plain.p, plain.len, &comp);
    dg_inflate *z = dg_inflate_new(coding, 0, 0);
    cr_assert_not_null(z);
    sink s = {0};
    cr_assert_eq(run(z, comp.p, comp.len, step, &s), 0, "bits %d step %zu: %s", bits, step,
                 err.msg);
    cr_assert_eq(s.got.len, plain.len);
    if (plain.len)
        cr_assert_eq(memcmp(s.got.p, plain.p, plain.len), 0);
    cr_assert_eq(dg_inflate_total_out(z), plain.len);
    cr_assert_leq(s.max_piece, 65536);
    dg_inflate_free(z);
    free(plain.p);
    free(comp.p);
    free(s.got.p);
}

Test(inflate, gzip_roundtrip)
{
    roundtrip(DG_CODING_GZIP, GZIP, 300000, 0);
    roundtrip(DG_CODING_GZIP, GZIP, 300000, 4096);
}

Test(inflate, zlib_wrapped_deflate_roundtrip)
{
    roundtrip(DG_CODING_DEFLATE, ZLIB, 300000, 0);
    roundtrip(DG_CODING_DEFLATE, ZLIB, 300000, 777);
}

Test(inflate, raw_deflate_is_detected_and_decoded)
{
    roundtrip(DG_CODING_DEFLATE, RAW, 300000, 0);
    roundtrip(DG_CODING_DEFLATE, RAW, 300000, 1000);
}

Test(inflate, one_byte_at_a_time)
{
    roundtrip(DG_CODING_GZIP, GZIP, 50000, 1);
    roundtrip(DG_CODING_DEFLATE, ZLIB, 50000, 1);
    roundtrip(DG_CODING_DEFLATE, RAW, 50000, 1);
}

Test(inflate, empty_payload_streams)
{
    roundtrip(DG_CODING_GZIP, GZIP, 0, 0);
    roundtrip(DG_CODING_DEFLATE, ZLIB, 0, 1);
    roundtrip(DG_CODING_DEFLATE, RAW, 0, 1);
}

Test(inflate, output_comes_in_pieces_of_at_most_64k)
{
    bytes comp = {0};
    static const char zero[4096];
    compress_rep(GZIP, zero, sizeof zero, 1000000, &comp);
    dg_inflate *z = dg_inflate_new(DG_CODING_GZIP, 0, 1000000);
    cr_assert_not_null(z);
    sink s = {0};
    cr_assert_eq(run(z, comp.p, comp.len, 0, &s), 0, "%s", err.msg);
    cr_assert_eq(s.seen, 1000000);
    cr_assert_eq(s.max_piece, 65536);
    cr_assert_geq(s.calls, 1000000 / 65536);
    dg_inflate_free(z);
    free(comp.p);
    free(s.got.p);
}

Test(inflate, multi_member_gzip)
{
    bytes comp = {0};
    zcompress(GZIP, "[1,2,", 5, &comp);
    zcompress(GZIP, "", 0, &comp);
    zcompress(GZIP, "3]", 2, &comp);
    for (size_t step = 0; step <= 3; step++) {
        dg_inflate *z = dg_inflate_new(DG_CODING_GZIP, 0, 0);
        sink s = {0};
        cr_assert_eq(run(z, comp.p, comp.len, step, &s), 0, "step %zu: %s", step, err.msg);
        cr_assert_eq(s.got.len, 7);
        cr_assert_eq(memcmp(s.got.p, "[1,2,3]", 7), 0);
        dg_inflate_free(z);
        free(s.got.p);
    }
    free(comp.p);
}

Test(inflate, zero_padding_after_the_stream_is_accepted)
{
    static const unsigned char zeros[8];
    int kinds[][2] = {{DG_CODING_GZIP, GZIP}, {DG_CODING_DEFLATE, ZLIB}, {DG_CODING_DEFLATE, RAW}};
    for (size_t i = 0; i < 3; i++) {
        bytes comp = {0};
        zcompress(kinds[i][1], "{}", 2, &comp);
        put(&comp, zeros, sizeof zeros);
        dg_inflate *z = dg_inflate_new((dg_coding)kinds[i][0], 0, 0);
        sink s = {0};
        cr_assert_eq(run(z, comp.p, comp.len, 3, &s), 0, "%s", err.msg);
        cr_assert_eq(s.got.len, 2);
        dg_inflate_free(z);
        free(comp.p);
        free(s.got.p);
    }
}

Test(inflate, trailing_garbage_is_eparse)
{
    static const char *const junk[] = {"x", "\x1f", "\x1f\x00", "\0\0x", "{}"};
    int kinds[][2] = {{DG_CODING_GZIP, GZIP}, {DG_CODING_DEFLATE, ZLIB}, {DG_CODING_DEFLATE, RAW}};
    static const size_t junk_len[] = {1, 1, 2, 3, 2};
    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < sizeof junk / sizeof junk[0]; j++) {
            bytes comp = {0};
            zcompress(kinds[i][1], "{}", 2, &comp);
            put(&comp, junk[j], junk_len[j]);
            dg_inflate *z = dg_inflate_new((dg_coding)kinds[i][0], 0, 0);
            sink s = {0};
            /* "\x1f" alone after gzip is a truncated second member */
            cr_assert_eq(run(z, comp.p, comp.len, 0, &s), DG_EPARSE, "kind %zu junk %zu", i, j);
            if (!(i == 0 && j == 1))
                cr_assert(strstr(err.msg, "trailing garbage"), "%s", err.msg);
            dg_inflate_free(z);
            free(comp.p);
            free(s.got.p);
        }
    }
}

Test(inflate, truncated_stream_fails_at_finish)
{
    bytes plain = payload(5000), comp = {0};
    zcompress(GZIP, plain.p, plain.len, &comp);
    for (size_t cut = 0; cut < comp.len; cut++) {
        dg_inflate *z = dg_inflate_new(DG_CODING_GZIP, 0, 0);
        sink s = {0};
        int r = run(z, comp.p, cut, 0, &s);
        cr_assert_eq(r, DG_EPARSE, "cut %zu", cut);
        cr_assert(strstr(err.msg, cut ? "truncated" : "empty"), "%s", err.msg);
        dg_inflate_free(z);
        free(s.got.p);
    }
    bytes raw = {0};
    zcompress(RAW, plain.p, plain.len, &raw);
    for (size_t cut = 0; cut < raw.len; cut += 7) {
        dg_inflate *z = dg_inflate_new(DG_CODING_DEFLATE, 0, 0);
        sink s = {0};
        cr_assert_eq(run(z, raw.p, cut, 1, &s), DG_EPARSE, "raw cut %zu", cut);
        dg_inflate_free(z);
        free(s.got.p);
    }
    free(plain.p);
    free(comp.p);
    free(raw.p);
}

Test(inflate, corrupt_data_is_eparse_with_offset)
{
    bytes plain = payload(20000), comp = {0};
    zcompress(GZIP, plain.p, plain.len, &comp);
    /* a wrong CRC in the trailer */
    comp.p[comp.len - 6] ^= 0x55;
    dg_inflate *z = dg_inflate_new(DG_CODING_GZIP, 0, 0);
    sink s = {0};
    cr_assert_eq(run(z, comp.p, comp.len, 0, &s), DG_EPARSE);
    cr_assert(strstr(err.msg, "corrupt"), "%s", err.msg);
    cr_assert(err.has_offset);
    cr_assert_leq(err.offset, comp.len);
    /* sticky */
    cr_assert_eq(dg_inflate_feed(z, "x", 1, collect, &s, &err), DG_EPARSE);
    cr_assert_eq(dg_inflate_finish(z, &err), DG_EPARSE);
    dg_inflate_free(z);
    free(s.got.p);

    /* not gzip at all */
    z = dg_inflate_new(DG_CODING_GZIP, 0, 0);
    cr_assert_eq(dg_inflate_feed(z, "{\"a\":1}", 7, collect, &s, &err), DG_EPARSE);
    dg_inflate_free(z);

    /* a block type that does not exist (BTYPE 11) in raw deflate */
    z = dg_inflate_new(DG_CODING_DEFLATE, 0, 0);
    cr_assert_eq(run(z, (const unsigned char *)"\x07\x00\x00\x00", 4, 0, &s), DG_EPARSE);
    dg_inflate_free(z);
    free(plain.p);
    free(comp.p);
    free(s.got.p);
}

Test(inflate, zlib_preset_dictionary_is_refused)
{
    bytes comp = {0};
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    cr_assert_eq(deflateInit2(&zs, 9, Z_DEFLATED, ZLIB, 9, Z_DEFAULT_STRATEGY), Z_OK);
    cr_assert_eq(deflateSetDictionary(&zs, (const unsigned char *)"pets", 4), Z_OK);
    unsigned char buf[256];
    zs.next_in = (unsigned char *)"pets pets";
    zs.avail_in = 9;
    zs.next_out = buf;
    zs.avail_out = sizeof buf;
    cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
    put(&comp, buf, sizeof buf - zs.avail_out);
    deflateEnd(&zs);
    dg_inflate *z = dg_inflate_new(DG_CODING_DEFLATE, 0, 0);
    sink s = {0};
    cr_assert_eq(run(z, comp.p, comp.len, 0, &s), DG_EPARSE);
    cr_assert(strstr(err.msg, "dictionary"), "%s", err.msg);
    dg_inflate_free(z);
    free(comp.p);
}

/* 100 MB of zeros, about 100 KB compressed. */
static bytes bomb(int bits)
{
    static const char zero[65536];
    bytes comp = {0};
    compress_rep(bits, zero, sizeof zero, 100u * 1000 * 1000, &comp);
    return comp;
}

Test(inflate, bomb_stopped_by_max_out)
{
    bytes comp = bomb(GZIP);
    const uint64_t max = 10u << 20;
    dg_inflate *z = dg_inflate_new(DG_CODING_GZIP, max, 1000000);
    sink s = {0};
    cr_assert_eq(run(z, comp.p, comp.len, 0, &s), DG_ELIMIT);
    cr_assert(strstr(err.msg, "size limit"), "%s", err.msg);
    cr_assert_leq(s.seen, max);
    cr_assert_leq(dg_inflate_total_out(z), max);
    dg_inflate_free(z);
    free(comp.p);
    free(s.got.p);
}

Test(inflate, bomb_stopped_by_ratio_after_one_mib)
{
    bytes comp = bomb(ZLIB);
    dg_inflate *z = dg_inflate_new(DG_CODING_DEFLATE, 0, 0); /* 64 MiB, ratio 100 */
    sink s = {0};
    cr_assert_eq(run(z, comp.p, comp.len, 0, &s), DG_ELIMIT);
    cr_assert(strstr(err.msg, "ratio"), "%s", err.msg);
    cr_assert_leq(s.seen, (1u << 20) + 65536);
    dg_inflate_free(z);

    /* the same when fed in small pieces */
    z = dg_inflate_new(DG_CODING_DEFLATE, 0, 0);
    s.seen = 0;
    cr_assert_eq(run(z, comp.p, comp.len, 100, &s), DG_ELIMIT);
    cr_assert_leq(s.seen, (1u << 20) + 65536);
    dg_inflate_free(z);
    free(comp.p);
    free(s.got.p);
}

Test(inflate, ratio_is_not_checked_below_one_mib)
{
    static const char zero[4096];
    bytes comp = {0};
    compress_rep(GZIP, zero, sizeof zero, 1u << 20, &comp);
    dg_inflate *z = dg_inflate_new(DG_CODING_GZIP, 0, 2);
    sink s = {0};
    cr_assert_eq(run(z, comp.p, comp.len, 0, &s), 0, "%s", err.msg);
    cr_assert_eq(s.seen, 1u << 20);
    dg_inflate_free(z);
    free(comp.p);
    free(s.got.p);
}

Test(inflate, max_out_is_inclusive)
{
    bytes plain = payload(100000), comp = {0};
    zcompress(GZIP, plain.p, plain.len, &comp);
    dg_inflate *z = dg_inflate_new(DG_CODING_GZIP, 100000, 0);
    sink s = {0};
    cr_assert_eq(run(z, comp.p, comp.len, 0, &s), 0, "%s", err.msg);
    dg_inflate_free(z);
    z = dg_inflate_new(DG_CODING_GZIP, 99999, 0);
    s.seen = 0;
    cr_assert_eq(run(z, comp.p, comp.len, 0, &s), DG_ELIMIT);
    cr_assert_leq(s.seen, 99999);
    dg_inflate_free(z);
    free(plain.p);
    free(comp.p);
    free(s.got.p);
}

Test(inflate, callback_can_stop)
{
    bytes plain = payload(300000), comp = {0};
    zcompress(GZIP, plain.p, plain.len, &comp);
    dg_inflate *z = dg_inflate_new(DG_CODING_GZIP, 0, 0);
    sink s = {.stop_after = 2};
    cr_assert_eq(run(z, comp.p, comp.len, 0, &s), DG_ESTOP);
    cr_assert_eq(s.calls, 2);
    cr_assert_eq(dg_inflate_feed(z, "x", 1, collect, &s, &err), DG_ESTOP);
    dg_inflate_free(z);
    free(plain.p);
    free(comp.p);
    free(s.got.p);
}

Test(inflate, identity_passes_through_and_unsupported_is_einval)
{
    dg_inflate *z = dg_inflate_new(DG_CODING_IDENTITY, 4, 0);
    sink s = {0};
    cr_assert_eq(dg_inflate_feed(z, "{}", 2, collect, &s, &err), 0);
    cr_assert_eq(dg_inflate_feed(z, "[]", 2, collect, &s, &err), 0);
    cr_assert_eq(dg_inflate_feed(z, "x", 1, collect, &s, &err), DG_ELIMIT);
    cr_assert_eq(s.got.len, 4);
    dg_inflate_free(z);
    free(s.got.p);

    z = dg_inflate_new(DG_CODING_UNSUPPORTED, 0, 0);
    cr_assert_eq(dg_inflate_feed(z, "x", 1, collect, &s, &err), DG_EINVAL);
    dg_inflate_free(z);
    dg_inflate_free(NULL);
}

Test(inflate, content_encoding_parsing)
{
    static const struct {
        const char *v;
        dg_coding c;
    } t[] = {
        {"", DG_CODING_IDENTITY},
        {"identity", DG_CODING_IDENTITY},
        {" Identity ,", DG_CODING_IDENTITY},
        {"gzip", DG_CODING_GZIP},
        {"GZip", DG_CODING_GZIP},
        {"x-gzip", DG_CODING_GZIP},
        {" gzip\t", DG_CODING_GZIP},
        {"identity, gzip", DG_CODING_GZIP},
        {"deflate", DG_CODING_DEFLATE},
        {"Deflate,", DG_CODING_DEFLATE},
        {"br", DG_CODING_UNSUPPORTED},
        {"zstd", DG_CODING_UNSUPPORTED},
        {"compress", DG_CODING_UNSUPPORTED},
        {"gzip, gzip", DG_CODING_UNSUPPORTED},
        {"deflate, gzip", DG_CODING_UNSUPPORTED},
        {"gzip;q=1", DG_CODING_UNSUPPORTED},
        {"gzi", DG_CODING_UNSUPPORTED},
        {"gzipx", DG_CODING_UNSUPPORTED},
        {"multiple", DG_CODING_UNSUPPORTED},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        cr_assert_eq(dg_coding_parse(t[i].v, strlen(t[i].v)), t[i].c, "\"%s\"", t[i].v);
    /* the length bounds the value, not a NUL */
    cr_assert_eq(dg_coding_parse("gzipped", 4), DG_CODING_GZIP);
    cr_assert_eq(dg_coding_parse(NULL, 0), DG_CODING_IDENTITY);
}
