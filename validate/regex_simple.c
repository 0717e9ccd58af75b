#include "validate/regex_simple.h"

#include <string.h>

static void set_add(uint64_t set[2], unsigned c)
{
    set[c >> 6] |= 1ull << (c & 63);
}

static int set_has(const uint64_t set[2], unsigned char c)
{
    return c < 128 && (set[c >> 6] >> (c & 63) & 1);
}

static void set_class(uint64_t set[2], char k)
{
    if (k == 'd' || k == 'w')
        for (unsigned c = '0'; c <= '9'; c++)
            set_add(set, c);
    if (k == 'w') {
        for (unsigned c = 'a'; c <= 'z'; c++)
            set_add(set, c);
        for (unsigned c = 'A'; c <= 'Z'; c++)
            set_add(set, c);
        set_add(set, '_');
    }
}

/* An escaped literal that means itself in ECMA-262 (u-mode identity escapes). */
static int identity_escape(char c)
{
    return c && strchr("^$\\.*+?()[]{}|/-", c) != NULL;
}

static int is_plain_literal(char c)
{
    return c > ' ' && c < 127 && !strchr("^$\\.*+?()[]{}|", c);
}

static int parse_uint(const char *p, size_t len, size_t *i, uint32_t *out)
{
    size_t k = *i;
    uint64_t v = 0;
    if (k >= len || p[k] < '0' || p[k] > '9')
        return -1;
    while (k < len && p[k] >= '0' && p[k] <= '9') {
        v = v * 10 + (uint64_t)(p[k] - '0');
        if (v > 100000)
            return -1;
        k++;
    }
    *i = k;
    *out = (uint32_t)v;
    return 0;
}

int dg_simple_re_compile(const char *p, size_t len, dg_simple_re *re)
{
    memset(re, 0, sizeof *re);
    if (len < 2 || p[0] != '^' || p[len - 1] != '$' || (len >= 3 && p[len - 2] == '\\'))
        return -1;
    size_t i = 1, end = len - 1;
    while (i < end) {
        if (re->n == DG_SIMPLE_RE_MAX)
            return -1;
        uint64_t *set = re->item[re->n].set;
        char c = p[i];
        if (c == '[') {
            i++;
            if (i < end && p[i] == '^')
                return -1; /* negated classes match non-ASCII too */
            int any = 0;
            while (i < end && p[i] != ']') {
                unsigned lo;
                if (p[i] == '\\') {
                    if (i + 1 >= end)
                        return -1;
                    char e = p[i + 1];
                    if (e == 'd' || e == 'w') {
                        set_class(set, e);
                        i += 2;
                        any = 1;
                        continue;
                    }
                    if (!identity_escape(e))
                        return -1;
                    lo = (unsigned char)e;
                    i += 2;
                } else {
                    if ((unsigned char)p[i] >= 128 || p[i] == '[')
                        return -1;
                    lo = (unsigned char)p[i++];
                }
                unsigned hi = lo;
                if (i + 1 < end && p[i] == '-' && p[i + 1] != ']') {
                    char h = p[i + 1];
                    if (h == '\\' || (unsigned char)h >= 128 || h == '[')
                        return -1;
                    hi = (unsigned char)h;
                    i += 2;
                    if (hi < lo)
                        return -1;
                }
                for (unsigned x = lo; x <= hi; x++)
                    set_add(set, x);
                any = 1;
            }
            if (i >= end || !any)
                return -1;
            i++; /* ']' */
        } else if (c == '\\') {
            if (i + 1 >= end)
                return -1;
            char e = p[i + 1];
            if (e == 'd' || e == 'w')
                set_class(set, e);
            else if (identity_escape(e))
                set_add(set, (unsigned char)e);
            else
                return -1;
            i += 2;
        } else if (is_plain_literal(c)) {
            set_add(set, (unsigned char)c);
            i++;
        } else {
            return -1;
        }
        uint32_t mn = 1, mx = 1;
        if (i < end) {
            char q = p[i];
            if (q == '*' || q == '+' || q == '?') {
                mn = q == '+';
                mx = q == '?' ? 1 : UINT32_MAX;
                i++;
            } else if (q == '{') {
                i++;
                if (parse_uint(p, end, &i, &mn))
                    return -1;
                mx = mn;
                if (i < end && p[i] == ',') {
                    i++;
                    mx = UINT32_MAX;
                    if (i < end && p[i] != '}' && parse_uint(p, end, &i, &mx))
                        return -1;
                }
                if (i >= end || p[i] != '}' || mx < mn)
                    return -1;
                i++;
            }
            if (i < end && (p[i] == '?' || p[i] == '*' || p[i] == '+' || p[i] == '{'))
                return -1; /* lazy or stacked quantifiers */
        }
        re->item[re->n].min = mn;
        re->item[re->n].max = mx;
        re->n++;
    }
    /* One greedy pass is exact only when a variable item cannot eat what a
     * later item needs: it must be disjoint from every item up to and
     * including the next one that must match at least once. */
    for (uint32_t a = 0; a < re->n; a++) {
        if (re->item[a].min == re->item[a].max)
            continue;
        for (uint32_t b = a + 1; b < re->n; b++) {
            if ((re->item[a].set[0] & re->item[b].set[0]) || (re->item[a].set[1] & re->item[b].set[1]))
                return -1;
            if (re->item[b].min > 0)
                break;
        }
    }
    return 0;
}

int dg_simple_re_match(const dg_simple_re *re, const char *s, size_t n)
{
    size_t pos = 0;
    for (uint32_t k = 0; k < re->n; k++) {
        uint32_t cnt = 0, mx = re->item[k].max;
        const uint64_t *set = re->item[k].set;
        while (pos < n && cnt < mx && set_has(set, (unsigned char)s[pos])) {
            pos++;
            cnt++;
        }
        if (cnt < re->item[k].min)
            return 0;
    }
    return pos == n;
}
