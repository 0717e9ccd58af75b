/* tests/fuzz/fuzz_tokenizer.c: libFuzzer target for the streaming tokenizer.
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. \
 *       tests/fuzz/fuzz_tokenizer.c validate/tokenizer.c common/error.c -o fuzz_tokenizer
 *   ./fuzz_tokenizer tests/fuzz/corpus/tokenizer
 *
 * Input layout: byte 0 picks the limits, bytes 1..4 are chunk sizes (0..31,
 * used cyclically; 0 makes an empty feed), the rest is the document.
 *
 * The document is tokenized whole, in those chunks, and (when short) byte by
 * byte; all runs must agree on the result code, the error (message, offset,
 * line, column) and the event sequence (a hash over every event's type,
 * offset and payload). Every chunk is copied into its own exactly-sized
 * allocation so that ASan sees any read past a chunk's end. The sink also
 * checks what the tokenizer promises about each token: strings and keys are
 * valid UTF-8 within max_string, number flags match the text, and DG_NUM_I64
 * is set exactly when strtoll reads the text without overflow, with the same
 * value. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "validate/json.h"

#include "fuzz_check.h"

typedef struct run {
    uint64_t hash;
    size_t nev;
    const dg_json_limits *lim;
    int rc;
    dg_error err;
} run;

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 0x100000001b3ULL;
}

/* Independent UTF-8 check (decode, then range-check the code point). */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xE0) == 0xC0)
            len = 2, cp = c & 0x1F, min = 0x80;
        else if ((c & 0xF0) == 0xE0)
            len = 3, cp = c & 0x0F, min = 0x800;
        else if ((c & 0xF8) == 0xF0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if (n - i < len)
            return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

static void check_number(const dg_json_token *tok, const dg_json_limits *lim)
{
    char buf[64];
    CHECK(tok->len > 0 && tok->len <= lim->max_number);
    CHECK(!!(tok->num_flags & DG_NUM_NEG) == (tok->s[0] == '-'));
    CHECK(!!(tok->num_flags & DG_NUM_FRAC) == (memchr(tok->s, '.', tok->len) != NULL));
    CHECK(!!(tok->num_flags & DG_NUM_EXP) ==
          (memchr(tok->s, 'e', tok->len) != NULL || memchr(tok->s, 'E', tok->len) != NULL));
    int plain = !(tok->num_flags & (DG_NUM_FRAC | DG_NUM_EXP));
    if (!plain || tok->len >= sizeof buf) {
        CHECK(!(tok->num_flags & DG_NUM_I64));
        return;
    }
    memcpy(buf, tok->s, tok->len);
    buf[tok->len] = '\0';
    errno = 0;
    long long v = strtoll(buf, NULL, 10);
    int fits = errno != ERANGE;
    CHECK(!!(tok->num_flags & DG_NUM_I64) == fits);
    if (fits)
        CHECK(tok->i == v);
}

static int sink(void *ctx, dg_json_ev ev, const dg_json_token *tok)
{
    run *r = ctx;
    unsigned char e = (unsigned char)ev;
    r->nev++;
    mix(&r->hash, &e, 1);
    mix(&r->hash, &tok->offset, sizeof tok->offset);
    switch (ev) {
    case DG_EV_KEY:
    case DG_EV_STRING:
        CHECK(tok->len <= r->lim->max_string);
        CHECK(valid_utf8((const unsigned char *)tok->s, tok->len));
        mix(&r->hash, &tok->len, sizeof tok->len);
        mix(&r->hash, tok->s, tok->len);
        break;
    case DG_EV_NUMBER:
        check_number(tok, r->lim);
        mix(&r->hash, &tok->len, sizeof tok->len);
        mix(&r->hash, tok->s, tok->len);
        mix(&r->hash, &tok->num_flags, sizeof tok->num_flags);
        if (tok->num_flags & DG_NUM_I64)
            mix(&r->hash, &tok->i, sizeof tok->i);
        break;
    default:
        break;
    }
    return 0;
}

/* Tokenizes doc in chunks of sizes[i % nsizes] (nsizes == 0: whole). */
static void tokenize(const uint8_t *doc, size_t len, const uint8_t *sizes, size_t nsizes,
                     const dg_json_limits *lim, run *r)
{
    memset(r, 0, sizeof *r);
    r->hash = 0xcbf29ce484222325ULL;
    r->lim = lim;
    dg_json_tok *t = dg_json_tok_new(lim, sink, r);
    CHECK(t);
    size_t off = 0, k = 0;
    do {
        size_t n = nsizes ? sizes[k++ % nsizes] : len;
        if (n > len - off)
            n = len - off;
        char *piece = malloc(n ? n : 1);
        CHECK(piece);
        memcpy(piece, doc + off, n);
        r->rc = dg_json_feed(t, piece, n, &r->err);
        free(piece);
        off += n;
    } while (!r->rc && off < len);
    if (!r->rc)
        r->rc = dg_json_finish(t, &r->err);
    if (r->rc) {
        /* Errors are sticky. */
        dg_error again;
        CHECK(dg_json_feed(t, "]", 1, &again) == r->rc);
        CHECK(strcmp(again.msg, r->err.msg) == 0 && again.offset == r->err.offset);
        CHECK(r->err.has_offset && r->err.offset <= len && r->err.line >= 1 && r->err.col >= 1);
    } else {
        CHECK(dg_json_tok_depth(t) == 0 && dg_json_tok_offset(t) == len);
    }
    dg_json_tok_free(t);
}

static void same(const run *a, const run *b)
{
    CHECK(a->rc == b->rc);
    CHECK(a->nev == b->nev);
    CHECK(a->hash == b->hash);
    if (a->rc) {
        CHECK(strcmp(a->err.msg, b->err.msg) == 0);
        CHECK(a->err.offset == b->err.offset);
        CHECK(a->err.line == b->err.line && a->err.col == b->err.col);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dg_json_limits lim;
    uint8_t sizes[4];
    static const uint8_t one = 1;
    run whole, chunked, bytes;
    if (size < 5)
        return 0;
    dg_json_limits_default(&lim);
    switch (data[0] & 3) {
    case 1:
        lim.max_depth = 8, lim.max_string = 16, lim.max_number = 8;
        break;
    case 2:
        lim.max_depth = 3, lim.max_string = 3, lim.max_number = 3, lim.max_bytes = 48;
        break;
    case 3:
        lim.max_bytes = (uint64_t)(data[0] >> 2) * 4 + 1;
        break;
    default:
        break;
    }
    int any = 0;
    for (int i = 0; i < 4; i++)
        any |= (sizes[i] = data[1 + i] & 31);
    const uint8_t *doc = data + 5;
    size_t len = size - 5;

    tokenize(doc, len, NULL, 0, &lim, &whole);
    tokenize(doc, len, any ? sizes : &one, any ? 4 : 1, &lim, &chunked);
    same(&whole, &chunked);
    if (len <= 512) {
        tokenize(doc, len, &one, 1, &lim, &bytes);
        same(&whole, &bytes);
    }
    return 0;
}
