/* validate/regex.c: ECMA-262 patterns translated to PCRE2 (see regex.h).
 *
 * The dialect is ECMA-262 with the `u` flag (unicode mode), the mode the
 * JSON Schema suite expects (\p{...} works, `\a` and lone `{` are errors) and
 * the one ajv uses. A recursive-descent parser validates the ECMA grammar
 * (including its early errors) and emits an equivalent PCRE2 pattern in which
 * every construct whose meaning differs is spelled out explicitly:
 *
 *   literals        -> \x{H} (the emitted pattern is pure ASCII)
 *   \d \w \s (+neg) -> explicit ASCII / ECMA-whitespace ranges, also in classes
 *   .               -> [^\n\r\x{2028}\x{2029}] (everything with the s modifier)
 *   ^ $             -> ^ and $ with PCRE2_DOLLAR_ENDONLY (line forms with m)
 *   [] [^]          -> (?:(?!)) / [\x{0}-\x{10ffff}]
 *   (x) (?<name>x)  -> (?<gN>x), backreferences -> \k<gN>
 *   (?ims-ims:x)    -> ES2025 modifiers; i maps to PCRE2's, m and s are
 *                      applied by this translator
 *   \p{General_Category=Letter}, \p{digit}, \p{Assigned}, ... -> PCRE2 names
 *
 * UCP is deliberately NOT set: in unicode mode without the i flag, ECMA's \w,
 * \d and \b are ASCII-only. \d \w \s are always emitted as explicit sets, so
 * the only PCRE2 constructs UCP would change are \b and \B, which must stay
 * ASCII. \p{...} and caseless matching work in UTF mode without UCP.
 *
 * Unset backreferences match the empty string as in ECMA
 * (PCRE2_MATCH_UNSET_BACKREF). Known remaining difference: ECMA clears the
 * captures inside a quantified group at each iteration, PCRE2 keeps the last
 * ones, which only matters for backreferences to such groups.
 *
 * Lookbehind: PCRE2 10.42 only supports fixed-length lookbehind, ECMA allows
 * any. When PCRE2 rejects a lookbehind, the pattern is translated again in
 * "emulation" mode: each lookbehind body is translated *reversed* (as ECMA
 * defines lookbehind: matched right to left) into its own anchored PCRE2
 * pattern that runs on the reversed subject, reached through a callout at the
 * lookbehind's position. Lookaheads nested in a reversed body become callouts
 * to forward patterns the same way. Backreferences may not cross such an
 * emulated lookaround (reported as unsupported at compile time).
 *
 * Also rejected as unsupported although ECMA accepts them: quantifier bounds
 * above 65535 and the few property names PCRE2 10.42 lacks (e.g.
 * \p{Changes_When_NFKC_Casefolded}). Under the i modifier, case folding is
 * PCRE2's (Unicode simple folding, close to ECMA's canonicalize) and \w, \b
 * do not gain U+017F / U+212A as they do in ECMA.
 *
 * Matching: JIT when available (the interpreter otherwise), match/depth/heap
 * limits on every match, match data and a JIT stack cached per thread and
 * freed when the thread exits.
 *
 * Files: this one compiles (translate, then PCRE2) and matches (limits,
 * thread-local match data, the lookaround callout); regex_translate.c holds
 * the grammar, regex_class.c escapes and character classes, and
 * regex_internal.h the translator state they share. */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "validate/regex.h"

#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "validate/regex_internal.h"

/* Matching limits: a hostile pattern/subject pair fails with DG_ELIMIT. */
#define RX_MATCH_LIMIT 1000000u
#define RX_DEPTH_LIMIT 100000u
#define RX_HEAP_LIMIT_KIB (16u * 1024u)
#define RX_JIT_STACK_MAX (4u * 1024u * 1024u)
/* Emulated lookarounds: each sub-match has its own (smaller) match limit and
 * a search may run at most RX_EMU_CALLS of them, bounding the total work. */
#define RX_SUB_MATCH_LIMIT 10000u
#define RX_EMU_CALLS 20000u

typedef struct rx_sub {
    pcre2_code *code;
    int reverse;  /* runs on the reversed subject */
    int negate;
} rx_sub;

struct dg_regex {
    pcre2_code *code;
    uint32_t pairs;  /* ovector pairs the pattern needs */
    unsigned nsubs;
    rx_sub *subs;    /* emulated lookarounds, callout number k -> subs[k-1] */
    char *source;
    int jit;         /* JIT code exists: match through pcre2_jit_match */
};

/* ---- compile ---------------------------------------------------------- */

static int is_lookbehind_error(int ec)
{
    return ec == PCRE2_ERROR_LOOKBEHIND_NOT_FIXED_LENGTH ||
           ec == PCRE2_ERROR_LOOKBEHIND_TOO_COMPLICATED ||
           ec == PCRE2_ERROR_LOOKBEHIND_TOO_LONG;
}

static pcre2_code *pcre_compile(const dg_buf *b, uint32_t extra_opts, int *ec, size_t *eo)
{
    pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
    if (!cc) {
        *ec = PCRE2_ERROR_NOMEMORY, *eo = 0;
        return NULL;
    }
    pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALLOW_SURROGATE_ESCAPES);
    pcre2_set_parens_nest_limit(cc, 4 * RX_MAX_NEST + 16);
    PCRE2_SIZE off = 0;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)(b->data ? b->data : ""), b->len,
                                  PCRE2_UTF | PCRE2_NO_UTF_CHECK | PCRE2_DOLLAR_ENDONLY |
                                      PCRE2_MATCH_UNSET_BACKREF |
                                      PCRE2_NEVER_BACKSLASH_C | extra_opts,
                                  ec, &off, cc);
    pcre2_compile_context_free(cc);
    *eo = off;
    if (c)
        pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);  /* the interpreter is the fallback */
    return c;
}

static size_t map_offset(const rx_tr *t, size_t out_off)
{
    size_t src = 0;
    for (size_t k = 0; k < t->nmap && t->map[2 * k] <= out_off; k++)
        src = t->map[2 * k + 1];
    return src;
}

static int pcre_error(dg_error *err, int ec, size_t off)
{
    char msg[160];
    if (pcre2_get_error_message(ec, (PCRE2_UCHAR *)msg, sizeof msg) < 0)
        snprintf(msg, sizeof msg, "PCRE2 error %d", ec);
    return dg_error_set(err, ec == PCRE2_ERROR_NOMEMORY ? DG_ENOMEM : DG_ESPEC,
                        "invalid regex at offset %zu: %s", off, msg);
}

void dg_regex_free(dg_regex *re)
{
    if (!re)
        return;
    pcre2_code_free(re->code);
    for (unsigned k = 0; k < re->nsubs; k++)
        pcre2_code_free(re->subs[k].code);
    free(re->subs);
    free(re->source);
    free(re);
}

int dg_regex_compile(const char *pattern, size_t len, dg_regex **out, dg_error *err)
{
    *out = NULL;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        if (!utf8_next(pattern, len, &i, &cp))
            return dg_error_set(err, DG_ESPEC, "invalid regex at offset %zu: invalid UTF-8", i);
    }
    rx_tr t;
    memset(&t, 0, sizeof t);
    t.src = pattern ? pattern : "", t.len = len, t.pass = 1;
    dg_buf main_buf = DG_BUF_INIT;
    dg_regex *re = NULL;
    int rc = DG_ESPEC;

    if (dg_regex__parse_pattern(&t) < 0)
        goto syntax;
    t.total_groups = t.ngroups, t.total_look = t.nlook, t.pass = 2;
    if (t.total_look && !(t.subs = calloc(t.total_look, sizeof *t.subs)))
        goto oom;
    if (!(t.group_scope = calloc(t.total_groups + 1, sizeof *t.group_scope)))
        goto oom;
    re = calloc(1, sizeof *re);
    if (!re || !(re->source = malloc(len + 1)))
        goto oom;
    memcpy(re->source, t.src, len);
    re->source[len] = '\0';

    int ec;
    size_t eo;
    uint32_t opts = 0;
    for (t.emulate = 0; t.emulate < 2; t.emulate++) {
        dg_buf_reset(&main_buf);
        dg_regex__tr_reset_pass2(&t);
        t.lookahead = 0;
        t.out = t.main_out = &main_buf;
        if (dg_regex__parse_pattern(&t) < 0)
            goto syntax;
        if (dg_buf_reserve(&main_buf, 0) != 0)
            goto oom;
        /* Auto-possessification ignores callouts: a+(?C1) would never
         * backtrack into a+, so emulated lookarounds need it off. PCRE2
         * 10.42's start-of-match optimizations are wrong for some positive
         * lookaheads ((?=a)[^a]?a finds no match in "xca"), so patterns
         * with one are compiled without them. */
        opts = (t.nsubs ? PCRE2_NO_AUTO_POSSESS : 0) |
               (t.lookahead ? PCRE2_NO_START_OPTIMIZE : 0);
        re->code = pcre_compile(&main_buf, opts, &ec, &eo);
        size_t jsz = 0;
        if (re->code && pcre2_pattern_info(re->code, PCRE2_INFO_JITSIZE, &jsz) == 0 && jsz > 0)
            re->jit = 1;
        if (re->code || !is_lookbehind_error(ec) || t.emulate)
            break;
    }
    if (!re->code) {
        rc = pcre_error(err, ec, map_offset(&t, eo));
        goto done;
    }
    if (t.nsubs) {
        if (!(re->subs = calloc(t.nsubs, sizeof *re->subs)))
            goto oom;
        re->nsubs = t.nsubs;
        for (unsigned k = 0; k < t.nsubs; k++) {
            re->subs[k].reverse = t.subs[k].reverse;
            re->subs[k].negate = t.subs[k].negate;
            re->subs[k].code = pcre_compile(&t.subs[k].pat, opts | PCRE2_ANCHORED, &ec, &eo);
            if (!re->subs[k].code) {
                rc = pcre_error(err, ec, t.subs[k].src_off);
                goto done;
            }
        }
    }
    uint32_t caps = 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &caps);
    re->pairs = caps + 1;
    *out = re;
    re = NULL;
    rc = DG_OK;
    goto done;
syntax:
    if (t.oom)
        goto oom;
    rc = dg_error_set(err, DG_ESPEC, "invalid regex at offset %zu: %s", t.err_off, t.msg);
    goto done;
oom:
    rc = dg_error_set(err, DG_ENOMEM, "out of memory compiling regex");
done:
    dg_regex_free(re);
    dg_buf_free(&main_buf);
    dg_regex__tr_free(&t);
    return rc;
}

const char *dg_regex_source(const dg_regex *re)
{
    return re->source;
}

/* ---- matching --------------------------------------------------------- */

/* A lookaround's result depends only on (lookaround, position), so results
 * are remembered for the current search: backtracking over the same position
 * does not re-run the sub-match. */
#define RX_MEMO 256u

typedef struct rx_memo {
    uint32_t gen, k;
    size_t pos;
    int result;
} rx_memo;

/* Per-search state of the lookaround emulation (callout data). */
typedef struct rx_emu {
    const dg_regex *re;
    const char *s;
    size_t n;
    char *rev;           /* reversed subject, built on first need */
    size_t rev_cap;
    int rev_ready;
    unsigned calls, depth;
    uint32_t gen;        /* search generation, tags valid memo entries */
    rx_memo memo[RX_MEMO];
    pcre2_match_data *md[RX_EMU_DEPTH + 1];
    pcre2_match_context *subctx;
} rx_emu;

/* Thread-local matching state: match data sized for the largest pattern
 * seen, the match context with the limits and a JIT stack. */
typedef struct rx_tls {
    pcre2_match_data *md;
    uint32_t md_pairs;
    pcre2_match_context *ctx;
    pcre2_jit_stack *jit_stack;
    rx_emu emu;
} rx_tls;

static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static int tls_key_ok;

static void tls_free(void *p)
{
    rx_tls *t = p;
    if (!t)
        return;
    pcre2_match_data_free(t->md);
    pcre2_match_context_free(t->ctx);
    pcre2_jit_stack_free(t->jit_stack);
    for (unsigned k = 0; k <= RX_EMU_DEPTH; k++)
        pcre2_match_data_free(t->emu.md[k]);
    pcre2_match_context_free(t->emu.subctx);
    free(t->emu.rev);
    free(t);
}

static void tls_init_key(void)
{
    tls_key_ok = pthread_key_create(&tls_key, tls_free) == 0;
}

static int rx_callout(pcre2_callout_block *cb, void *data);

static pcre2_match_context *new_ctx(uint32_t match_limit, rx_emu *emu)
{
    pcre2_match_context *c = pcre2_match_context_create(NULL);
    if (!c)
        return NULL;
    pcre2_set_match_limit(c, match_limit);
    pcre2_set_depth_limit(c, RX_DEPTH_LIMIT);
    pcre2_set_heap_limit(c, RX_HEAP_LIMIT_KIB);
    pcre2_set_callout(c, rx_callout, emu);
    return c;
}

static rx_tls *tls_get(void)
{
    pthread_once(&tls_once, tls_init_key);
    if (!tls_key_ok)
        return NULL;
    rx_tls *t = pthread_getspecific(tls_key);
    if (t)
        return t;
    t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->ctx = new_ctx(RX_MATCH_LIMIT, &t->emu);
    t->emu.subctx = new_ctx(RX_SUB_MATCH_LIMIT, &t->emu);
    if (!t->ctx || !t->emu.subctx || pthread_setspecific(tls_key, t) != 0) {
        tls_free(t);
        return NULL;
    }
    /* Without a JIT stack PCRE2 uses 32 KiB of machine stack; give the main
     * match more. Sub-matches (callouts) nest, so they keep the default. */
    t->jit_stack = pcre2_jit_stack_create(32 * 1024, RX_JIT_STACK_MAX, NULL);
    if (t->jit_stack)
        pcre2_jit_stack_assign(t->ctx, NULL, t->jit_stack);
    return t;
}

static int build_reversed(rx_emu *e)
{
    if (e->rev_cap < e->n + 1) {
        char *r = realloc(e->rev, e->n + 1);
        if (!r)
            return -1;
        e->rev = r, e->rev_cap = e->n + 1;
    }
    /* Code points keep their byte order, so offsets map as n - pos. */
    for (size_t i = 0; i < e->n;) {
        size_t l = 1;
        unsigned char c = (unsigned char)e->s[i];
        if (c >= 0xF0)
            l = 4;
        else if (c >= 0xE0)
            l = 3;
        else if (c >= 0xC0)
            l = 2;
        if (i + l > e->n)
            l = e->n - i;
        memcpy(e->rev + (e->n - i - l), e->s + i, l);
        i += l;
    }
    e->rev[e->n] = '\0';
    e->rev_ready = 1;
    return 0;
}

static int rx_callout(pcre2_callout_block *cb, void *data)
{
    rx_emu *e = data;
    uint32_t k = cb->callout_number;
    if (!e->re || k == 0 || k > e->re->nsubs)
        return 0;
    const rx_sub *sub = &e->re->subs[k - 1];
    size_t pos = cb->current_position;
    if (e->rev_ready && cb->subject == (PCRE2_SPTR)e->rev && e->rev != e->s)
        pos = e->n - pos;
    rx_memo *m = &e->memo[(pos * 31u + k) % RX_MEMO];
    if (m->gen == e->gen && m->k == k && m->pos == pos)
        return m->result;
    if (++e->calls > RX_EMU_CALLS)
        return PCRE2_ERROR_MATCHLIMIT;
    if (e->depth >= RX_EMU_DEPTH)
        return PCRE2_ERROR_DEPTHLIMIT;
    const char *subj = e->s;
    size_t at = pos;
    if (sub->reverse) {
        if (!e->rev_ready && build_reversed(e) < 0)
            return PCRE2_ERROR_NOMEMORY;
        subj = e->rev;
        at = e->n - pos;
    }
    if (!e->md[e->depth] && !(e->md[e->depth] = pcre2_match_data_create(1, NULL)))
        return PCRE2_ERROR_NOMEMORY;
    pcre2_match_data *md = e->md[e->depth++];
    int rc = pcre2_match(sub->code, (PCRE2_SPTR)subj, e->n, at, PCRE2_NO_UTF_CHECK, md,
                         e->subctx);
    e->depth--;
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH)
        return rc;
    /* m may have been reused by a nested callout; it is simply overwritten. */
    *m = (rx_memo){e->gen, k, pos, (rc >= 0) == (sub->negate != 0)};
    return m->result;
}

int dg_regex_search(const dg_regex *re, const char *s, size_t n)
{
    rx_tls *t = tls_get();
    if (!t)
        return DG_ENOMEM;
    if (!s)
        s = "";
    if (!t->md || t->md_pairs < re->pairs) {
        pcre2_match_data *md = pcre2_match_data_create(re->pairs, NULL);
        if (!md)
            return DG_ENOMEM;
        pcre2_match_data_free(t->md);
        t->md = md, t->md_pairs = re->pairs;
    }
    rx_emu *e = &t->emu;
    e->re = re, e->s = s, e->n = n, e->rev_ready = 0, e->calls = 0, e->depth = 0;
    if (re->nsubs && ++e->gen == 0) {
        memset(e->memo, 0, sizeof e->memo);
        e->gen = 1;
    }
    /* pcre2_jit_match skips pcre2_match's argument checks: the per-call cost
     * matters for the short strings API patterns see */
    int rc = re->jit ? pcre2_jit_match(re->code, (PCRE2_SPTR)s, n, 0, 0, t->md, t->ctx)
                     : pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, t->md, t->ctx);
    e->re = NULL;
    if (rc >= 0)
        return 1;
    switch (rc) {
    case PCRE2_ERROR_NOMATCH:
        return 0;
    case PCRE2_ERROR_MATCHLIMIT:
    case PCRE2_ERROR_DEPTHLIMIT:
    case PCRE2_ERROR_HEAPLIMIT:
    case PCRE2_ERROR_JIT_STACKLIMIT:
        return DG_ELIMIT;
    case PCRE2_ERROR_NOMEMORY:
        return DG_ENOMEM;
    default:
        return DG_EINVAL;
    }
}
