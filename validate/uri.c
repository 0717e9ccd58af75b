#include "validate/uri.h"

#include <string.h>

typedef struct {
    const char *scheme; size_t scheme_len; int has_scheme;
    const char *auth; size_t auth_len; int has_auth;
    const char *path; size_t path_len;
    const char *query; size_t query_len; int has_query;
    const char *frag; size_t frag_len; int has_frag;
} uri_parts;

static void split(const char *s, uri_parts *p)
{
    memset(p, 0, sizeof *p);
    const char *e = s + strlen(s);
    const char *h = strchr(s, '#');
    if (h) {
        p->has_frag = 1;
        p->frag = h + 1;
        p->frag_len = (size_t)(e - h - 1);
        e = h;
    }
    const char *q = memchr(s, '?', (size_t)(e - s));
    const char *pe = e;
    if (q) {
        p->has_query = 1;
        p->query = q + 1;
        p->query_len = (size_t)(e - q - 1);
        pe = q;
    }
    const char *c = s;
    while (c < pe && ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (c > s && ((*c >= '0' && *c <= '9') || *c == '+' || *c == '-' || *c == '.'))))
        c++;
    if (c > s && c < pe && *c == ':') {
        p->has_scheme = 1;
        p->scheme = s;
        p->scheme_len = (size_t)(c - s);
        s = c + 1;
    }
    if (pe - s >= 2 && s[0] == '/' && s[1] == '/') {
        const char *a = s + 2, *ae = a;
        while (ae < pe && *ae != '/')
            ae++;
        p->has_auth = 1;
        p->auth = a;
        p->auth_len = (size_t)(ae - a);
        s = ae;
    }
    p->path = s;
    p->path_len = (size_t)(pe - s);
}

/* RFC 3986 5.2.4 */
static int remove_dots(const char *in, size_t n, dg_buf *out)
{
    dg_buf tmp = DG_BUF_INIT;
    if (dg_buf_append(&tmp, in, n))
        return -1;
    char *s = tmp.data;
    size_t i = 0, len = tmp.len;
    size_t start = out->len;
    while (i < len) {
        if (len - i >= 3 && !strncmp(s + i, "../", 3)) { i += 3; continue; }
        if (len - i >= 2 && !strncmp(s + i, "./", 2)) { i += 2; continue; }
        if (len - i >= 3 && !strncmp(s + i, "/./", 3)) { i += 2; continue; }
        if (len - i == 2 && !strncmp(s + i, "/.", 2)) { s[i + 1] = '/'; i += 1; len = i + 1; continue; }
        if ((len - i >= 4 && !strncmp(s + i, "/../", 4)) || (len - i == 3 && !strncmp(s + i, "/..", 3))) {
            if (len - i == 3) { s[i + 1] = '/'; len = i + 2; i += 1; }
            else i += 3;
            while (out->len > start && out->data[out->len - 1] != '/')
                out->len--;
            if (out->len > start)
                out->len--;
            out->data[out->len] = '\0';
            continue;
        }
        if ((len - i == 1 && s[i] == '.') || (len - i == 2 && !strncmp(s + i, "..", 2))) break;
        size_t j = i + (s[i] == '/' ? 1 : 0);
        while (j < len && s[j] != '/')
            j++;
        if (dg_buf_append(out, s + i, j - i)) { dg_buf_free(&tmp); return -1; }
        i = j;
    }
    dg_buf_free(&tmp);
    return 0;
}

int dg_uri_resolve(const char *base, const char *ref, dg_buf *out)
{
    uri_parts b, r;
    dg_buf_reset(out);
    if (dg_buf_reserve(out, 16))
        return -1;
    split(base ? base : "", &b);
    split(ref, &r);
    int rc = 0;
#define A(p, n) rc |= dg_buf_append(out, p, n)
    if (r.has_scheme) {
        A(r.scheme, r.scheme_len); A(":", 1);
        if (r.has_auth) { A("//", 2); A(r.auth, r.auth_len); }
        rc |= remove_dots(r.path, r.path_len, out);
        if (r.has_query) { A("?", 1); A(r.query, r.query_len); }
    } else {
        if (b.has_scheme) { A(b.scheme, b.scheme_len); A(":", 1); }
        if (r.has_auth) {
            A("//", 2); A(r.auth, r.auth_len);
            rc |= remove_dots(r.path, r.path_len, out);
            if (r.has_query) { A("?", 1); A(r.query, r.query_len); }
        } else {
            if (b.has_auth) { A("//", 2); A(b.auth, b.auth_len); }
            if (r.path_len == 0) {
                A(b.path, b.path_len);
                if (r.has_query) { A("?", 1); A(r.query, r.query_len); }
                else if (b.has_query) { A("?", 1); A(b.query, b.query_len); }
            } else {
                if (r.path[0] == '/') {
                    rc |= remove_dots(r.path, r.path_len, out);
                } else {
                    dg_buf merged = DG_BUF_INIT;
                    if (b.has_auth && b.path_len == 0) {
                        rc |= dg_buf_append(&merged, "/", 1);
                    } else {
                        size_t k = b.path_len;
                        while (k > 0 && b.path[k - 1] != '/')
                            k--;
                        rc |= dg_buf_append(&merged, b.path, k);
                    }
                    rc |= dg_buf_append(&merged, r.path, r.path_len);
                    if (!rc)
                        rc |= remove_dots(merged.data, merged.len, out);
                    dg_buf_free(&merged);
                }
                if (r.has_query) { A("?", 1); A(r.query, r.query_len); }
            }
        }
    }
    if (r.has_frag) { A("#", 1); A(r.frag, r.frag_len); }
#undef A
    return rc ? -1 : 0;
}

size_t dg_uri_strip_fragment(const char *s)
{
    const char *h = strchr(s, '#');
    return h ? (size_t)(h - s) : strlen(s);
}
