/* validate/json.h: JSON events and the streaming push tokenizer.
 *
 * The tokenizer turns bytes fed in arbitrary chunks into a stream of events
 * (dg_json_ev) delivered to a sink callback. A chunk may end anywhere: inside
 * a string, an escape, a \u sequence, a UTF-8 sequence, a number or a
 * literal. Memory is bounded by nesting depth plus the longest single token
 * that must be kept whole (a string or key that straddles chunks or contains
 * escapes, or a number that straddles chunks); the document is never kept.
 *
 * Strict RFC 8259: one top-level value (optionally surrounded by whitespace),
 * valid UTF-8 everywhere (no overlongs, no surrogates encoded in UTF-8, no
 * code points > U+10FFFF), escapes incl. \u surrogate pairs (a lone surrogate
 * escape is an error), number grammar, literals true/false/null, no trailing
 * garbage, no control characters < 0x20 inside strings.
 *
 * Not thread-safe: one tokenizer per stream. Errors carry the byte offset and
 * 1-based line:column (column counted in bytes) of the offending byte. */
#ifndef DG_VALIDATE_JSON_H
#define DG_VALIDATE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef enum dg_json_ev {
    DG_EV_OBJ_START = 0,
    DG_EV_OBJ_END,
    DG_EV_ARR_START,
    DG_EV_ARR_END,
    DG_EV_KEY,     /* tok->s/len: the unescaped key (UTF-8, may contain NUL) */
    DG_EV_STRING,  /* tok->s/len: the unescaped value */
    DG_EV_NUMBER,  /* tok->s/len: the number's text exactly as in the input */
    DG_EV_TRUE,
    DG_EV_FALSE,
    DG_EV_NULL
} dg_json_ev;

/* Number facts the tokenizer computes while scanning (cheap, no strtod). */
enum {
    DG_NUM_NEG = 1 << 0,     /* leading '-' */
    DG_NUM_FRAC = 1 << 1,    /* has a '.' fraction part */
    DG_NUM_EXP = 1 << 2,     /* has an e/E exponent */
    DG_NUM_I64 = 1 << 3,     /* plain integer (no frac/exp) that fits int64: tok->i is exact */
};

typedef struct dg_json_token {
    const char *s;       /* borrowed: valid only during the callback */
    size_t len;
    int64_t i;           /* NUMBER with DG_NUM_I64: the exact value */
    unsigned num_flags;  /* NUMBER: DG_NUM_* */
    uint64_t offset;     /* byte offset of the token's first byte in the stream */
} dg_json_token;

/* The sink returns 0 to continue; any non-zero value stops the tokenizer,
 * which then returns DG_ESTOP from dg_json_feed/finish (the sink's own
 * error, if any, is the sink's business). */
typedef int (*dg_json_sink)(void *ctx, dg_json_ev ev, const dg_json_token *tok);

typedef struct dg_json_limits {
    unsigned max_depth;     /* nesting depth of arrays+objects; default 512 */
    size_t max_string;      /* bytes of one unescaped string/key; default 16 MiB */
    size_t max_number;      /* bytes of one number's text; default 4096 */
    uint64_t max_bytes;     /* total input bytes; 0 = unlimited (default) */
} dg_json_limits;

/* Fills l with the defaults above. */
void dg_json_limits_default(dg_json_limits *l);

typedef struct dg_json_tok dg_json_tok;

/* Creates a tokenizer. limits may be NULL (defaults). The caller owns the
 * result and frees it with dg_json_tok_free. NULL on allocation failure. */
dg_json_tok *dg_json_tok_new(const dg_json_limits *limits, dg_json_sink sink, void *ctx);

/* Feeds the next n bytes (borrowed, may be reused by the caller once this
 * returns). 0 on success; DG_EPARSE / DG_ELIMIT / DG_ENOMEM / DG_ESTOP with
 * err filled (message, offset, line, col). After an error every further call
 * returns the same error until reset. */
int dg_json_feed(dg_json_tok *t, const char *p, size_t n, dg_error *err);

/* Ends the stream: errors when the document is empty or incomplete (e.g.
 * "unexpected end of input inside string"). Emits a pending top-level number. */
int dg_json_finish(dg_json_tok *t, dg_error *err);

/* Makes the tokenizer ready for a new document (keeps its buffers). */
void dg_json_tok_reset(dg_json_tok *t);

/* Changes the sink (e.g. between documents). */
void dg_json_tok_set_sink(dg_json_tok *t, dg_json_sink sink, void *ctx);

/* Bytes consumed so far, and current depth. */
uint64_t dg_json_tok_offset(const dg_json_tok *t);
unsigned dg_json_tok_depth(const dg_json_tok *t);

void dg_json_tok_free(dg_json_tok *t);

/* Convenience: tokenize a whole buffer in one go (feed + finish). */
int dg_json_parse_buffer(const char *p, size_t n, const dg_json_limits *limits,
                         dg_json_sink sink, void *ctx, dg_error *err);

#endif
