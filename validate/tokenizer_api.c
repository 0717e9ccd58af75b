/* validate/tokenizer_api.c: the tokenizer's life cycle (see json.h):
 * limits, construction, reset, accessors, free and the one-shot
 * dg_json_parse_buffer. The machine itself is in tokenizer.c. */
#include <stdlib.h>

#include "validate/json.h"
#include "validate/tokenizer_internal.h"

void dg_json_limits_default(dg_json_limits *l)
{
    l->max_depth = 512;
    l->max_string = (size_t)16 << 20;
    l->max_number = 4096;
    l->max_bytes = 0;
}

static int noop_sink(void *ctx, dg_json_ev ev, const dg_json_token *tok)
{
    (void)ctx, (void)ev, (void)tok;
    return 0;
}

dg_json_tok *dg_json_tok_new(const dg_json_limits *limits, dg_json_sink sink, void *ctx)
{
    dg_json_tok *t = calloc(1, sizeof *t);
    dg_json_limits def;
    if (!t)
        return NULL;
    dg_json_limits_default(&def);
    t->lim = limits ? *limits : def;
    if (!t->lim.max_depth)
        t->lim.max_depth = def.max_depth;
    if (!t->lim.max_string)
        t->lim.max_string = def.max_string;
    if (!t->lim.max_number)
        t->lim.max_number = def.max_number;
    dg_json_tok_set_sink(t, sink, ctx);
    dg_json_tok_reset(t);
    return t;
}

void dg_json_tok_set_sink(dg_json_tok *t, dg_json_sink sink, void *ctx)
{
    t->sink = sink ? sink : noop_sink;
    t->ctx = ctx;
}

void dg_json_tok_reset(dg_json_tok *t)
{
    t->base = 0;
    t->chunk = NULL;
    t->line = 1;
    t->line_start = 0;
    t->state = S_VALUE_TOP;
    t->pend = P_NONE;
    t->depth = 0;
    t->sc_len = 0;
    t->status = 0;
    t->finished = 0;
}

uint64_t dg_json_tok_offset(const dg_json_tok *t)
{
    return t->base;
}

unsigned dg_json_tok_depth(const dg_json_tok *t)
{
    return t->depth;
}

void dg_json_tok_free(dg_json_tok *t)
{
    if (!t)
        return;
    free(t->stack);
    free(t->sc);
    free(t);
}

int dg_json_parse_buffer(const char *p, size_t n, const dg_json_limits *limits,
                         dg_json_sink sink, void *ctx, dg_error *err)
{
    dg_json_tok *t = dg_json_tok_new(limits, sink, ctx);
    int r;
    if (!t)
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    r = dg_json_feed(t, p, n, err);
    if (r == 0)
        r = dg_json_finish(t, err);
    dg_json_tok_free(t);
    return r;
}
