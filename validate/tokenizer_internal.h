/* validate/tokenizer_internal.h (private): the tokenizer's state, shared by
 * tokenizer.c (the machine, dg_json_feed/finish) and tokenizer_api.c
 * (construction, reset, accessors, dg_json_parse_buffer). */
#ifndef DG_VALIDATE_TOKENIZER_INTERNAL_H
#define DG_VALIDATE_TOKENIZER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "validate/json.h"

/* Grammar states: what the next non-whitespace byte must be. */
enum {
    S_VALUE_TOP,    /* the top-level value */
    S_ARR_FIRST,    /* after '[': a value or ']' */
    S_ARR_VALUE,    /* after ',' in an array */
    S_MEMBER_VALUE, /* after ':' */
    S_OBJ_FIRST,    /* after '{': a key or '}' */
    S_OBJ_KEY,      /* after ',' in an object */
    S_COLON,        /* after a key */
    S_OBJ_AFTER,    /* after a member value: ',' or '}' */
    S_ARR_AFTER,    /* after an element: ',' or ']' */
    S_DONE          /* after the top-level value: whitespace only */
};

/* A token cut by the end of a chunk (or being reported by a slow machine). */
enum { P_NONE, P_STRING, P_NUMBER, P_LITERAL, P_BOM };

struct dg_json_tok {
    dg_json_sink sink;
    void *ctx;
    dg_json_limits lim;

    uint64_t base;          /* stream offset of chunk[0]; bytes consumed between feeds */
    const uint8_t *chunk;   /* the chunk being fed (valid during dg_json_feed only) */
    uint64_t line;          /* 1-based */
    uint64_t line_start;    /* stream offset of the first byte of the current line */

    int state;              /* S_* */
    int pend;               /* P_* */
    unsigned depth, cap;
    uint8_t *stack;         /* 1 = object, 0 = array; cap <= lim.max_depth */

    uint64_t tok_off;       /* first byte of the pending token */
    char *sc;               /* scratch: pending string (unescaped) or number text */
    size_t sc_len, sc_cap;

    int is_key, sub;        /* string */
    unsigned hexn, u8need, u8lo, u8hi, u8lead;
    uint32_t uval, hi;
    uint64_t esc_off, hi_off;

    int nst;                /* number */
    unsigned nflags;
    uint64_t acc;
    size_t nd;

    const char *lit;        /* literal */
    unsigned lit_len, lit_pos, bom_n;
    dg_json_ev lit_ev;

    int status;             /* 0, or the sticky error code */
    int finished;
    dg_error err;
};

#endif
