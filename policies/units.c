/* policies/units.c: the small value parsers of the config (durations, sizes,
 * upstream URLs, listen addresses), enum names, and JSON pointer patterns.
 * Pure functions; thread-safe. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policies/policies_internal.h"

const char *dg_mode_name(dg_mode m)
{
    switch (m) {
    case DG_MODE_OFF: return "off";
    case DG_MODE_MONITOR: return "monitor";
    case DG_MODE_ENFORCE: return "enforce";
    }
    return "?";
}

int dg_mode_parse(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "off"))
        return DG_MODE_OFF;
    if (!strcmp(s, "monitor"))
        return DG_MODE_MONITOR;
    if (!strcmp(s, "enforce"))
        return DG_MODE_ENFORCE;
    return -1;
}

const char *dg_handling_name(dg_handling h)
{
    switch (h) {
    case DG_HANDLE_IGNORE: return "ignore";
    case DG_HANDLE_INFO: return "info";
    case DG_HANDLE_ERROR: return "error";
    }
    return "?";
}

const char *dg_profile_name(dg_profile p)
{
    switch (p) {
    case DG_PROFILE_STRICT: return "strict";
    case DG_PROFILE_THIRD_PARTY: return "third-party";
    case DG_PROFILE_REPORT_ONLY: return "report-only";
    }
    return "?";
}

/* Reads 1+ decimal digits into *v; returns the first byte after them or
 * NULL (no digit, or more than UINT64_MAX). */
static const char *read_u64(const char *s, uint64_t *v)
{
    uint64_t x = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (x > (UINT64_MAX - d) / 10)
            return NULL;
        x = x * 10 + d;
    }
    if (p == s)
        return NULL;
    *v = x;
    return p;
}

static int mul_checked(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b && a > UINT64_MAX / b)
        return DG_EINVAL;
    *out = a * b;
    return 0;
}

int dg_parse_duration_ms(const char *s, uint64_t *out)
{
    uint64_t v;
    const char *p = s ? read_u64(s, &v) : NULL;
    if (!p)
        return DG_EINVAL;
    if (*p == ' ')  /* "10 s" is accepted as the schema's pattern says */
        p++;
    uint64_t mul;
    if (!*p && p[-1] != ' ')
        mul = 1; /* a bare number is milliseconds */
    else if (!strcmp(p, "ms"))
        mul = 1;
    else if (!strcmp(p, "s"))
        mul = 1000;
    else if (!strcmp(p, "m"))
        mul = 60000;
    else if (!strcmp(p, "h"))
        mul = 3600000;
    else
        return DG_EINVAL;
    return mul_checked(v, mul, out);
}

int dg_parse_size(const char *s, uint64_t *out)
{
    uint64_t v;
    const char *p = s ? read_u64(s, &v) : NULL;
    if (!p)
        return DG_EINVAL;
    if (*p == ' ')
        p++;
    if (!*p)
        return p[-1] == ' ' ? DG_EINVAL : (*out = v, 0);
    /* Units are case-insensitive ("8mib" is what someone meant by it); a
     * trailing "i" means powers of 1024, none means powers of 1000. */
    static const char scales[] = "kmgt";
    uint64_t mul = 1;
    char c = (char)tolower((unsigned char)*p);
    const char *sc = c ? strchr(scales, c) : NULL;
    if (sc) {
        int bin = tolower((unsigned char)p[1]) == 'i';
        uint64_t base = bin ? 1024 : 1000;
        for (const char *q = scales; q <= sc; q++)
            mul *= base;
        p += 1 + bin;
    }
    if (tolower((unsigned char)*p) != 'b' || p[1])
        return DG_EINVAL;
    return mul_checked(v, mul, out);
}

/* Host names: letters, digits, '-', '.', and '_' (seen in internal DNS). */
static int host_name_ok(const char *h, size_t n)
{
    if (!n || n > 253)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '-' && h[i] != '.' && h[i] != '_')
            return 0;
    return 1;
}

/* Parses "[v6]" or a name/IPv4 at s[0..n) into host (lower-cased, no
 * brackets). 0 or DG_EINVAL with err. */
static int parse_host(const char *s, size_t n, char *host, size_t hostsz, int *v6, dg_error *err)
{
    *v6 = 0;
    if (n && s[0] == '[') {
        char tmp[64];
        struct in6_addr a6;
        if (n < 3 || s[n - 1] != ']' || n - 2 >= sizeof tmp)
            return dg_error_set(err, DG_EINVAL, "malformed IPv6 address \"%.*s\"", (int)n, s);
        memcpy(tmp, s + 1, n - 2);
        tmp[n - 2] = '\0';
        if (inet_pton(AF_INET6, tmp, &a6) != 1)
            return dg_error_set(err, DG_EINVAL, "\"%s\" is not an IPv6 address", tmp);
        s++;
        n -= 2;
        *v6 = 1;
    } else if (!host_name_ok(s, n)) {
        if (!n)
            return dg_error_set(err, DG_EINVAL, "the host is missing");
        return dg_error_set(err, DG_EINVAL, "\"%.*s\" is not a host name or address", (int)(n > 200 ? 200 : n), s);
    }
    if (n >= hostsz)
        return dg_error_set(err, DG_EINVAL, "the host name is too long");
    for (size_t i = 0; i < n; i++)
        host[i] = (char)tolower((unsigned char)s[i]);
    host[n] = '\0';
    return 0;
}

static int parse_port(const char *s, size_t n, int *port, dg_error *err)
{
    uint64_t v = 0;
    if (!n || n > 5)
        return dg_error_set(err, DG_EINVAL, n ? "port \"%.*s\" is not a number 1..65535"
                                              : "the port is missing%.*s", (int)n, s);
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return dg_error_set(err, DG_EINVAL, "port \"%.*s\" is not a number 1..65535", (int)n, s);
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return dg_error_set(err, DG_EINVAL, "port %llu is not in 1..65535", (unsigned long long)v);
    *port = (int)v;
    return 0;
}

/* Prefixes err's message with what and the value it is about. */
static int wrap_err(dg_error *err, const char *what, const char *value)
{
    if (!err)
        return DG_EINVAL;
    char m[sizeof err->msg];
    memcpy(m, err->msg, sizeof m);
    return dg_error_set(err, DG_EINVAL, "%s \"%.200s\": %.250s", what, value, m);
}

int dg_upstream_parse(const char *url, dg_upstream_url *out, dg_error *err)
{
    memset(out, 0, sizeof *out);
    if (!url)
        return dg_error_set(err, DG_EINVAL, "no upstream URL");
    const char *p;
    if (!strncasecmp(url, "http://", 7)) {
        p = url + 7;
    } else if (!strncasecmp(url, "https://", 8)) {
        p = url + 8;
        out->https = 1;
    } else {
        return dg_error_set(err, DG_EINVAL,
                            "upstream URL \"%.200s\" must start with http:// or https://", url);
    }
    for (const char *q = url; *q; q++) {
        if (*q == '?' || *q == '#')
            return dg_error_set(err, DG_EINVAL, "upstream URL \"%.200s\" has a %s: give scheme, "
                                "host, port and base path only", url, *q == '?' ? "query" : "fragment");
        if ((unsigned char)*q <= ' ' || *q == 0x7f)
            return dg_error_set(err, DG_EINVAL, "upstream URL \"%.200s\" contains a space or "
                                "control character", url);
    }
    size_t alen = strcspn(p, "/");
    if (memchr(p, '@', alen))
        return dg_error_set(err, DG_EINVAL, "upstream URL \"%.200s\" has user information "
                            "(user:password@): not supported, credentials do not belong in a URL", url);
    /* The port separator is the last ':' outside brackets. */
    const char *rb = memchr(p, ']', alen);
    const char *colon = NULL;
    for (const char *q = rb ? rb : p; q < p + alen; q++)
        if (*q == ':')
            colon = q;
    char host[256];
    int v6;
    size_t hlen = colon ? (size_t)(colon - p) : alen;
    out->port = out->https ? 443 : 80;
    if (parse_host(p, hlen, host, sizeof host, &v6, err) ||
        (colon && parse_port(colon + 1, (size_t)(p + alen - colon - 1), &out->port, err)))
        return wrap_err(err, "upstream URL", url);
    /* Base path without trailing slashes: it is prefixed to paths that
     * already start with '/'. */
    const char *path = p + alen;
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    out->url = strdup(url);
    out->host = strdup(host);
    out->base_path = strndup(path, plen);
    if (!out->url || !out->host || !out->base_path) {
        dg_upstream_url_free(out);
        return dg_error_set(err, DG_ENOMEM, "out of memory");
    }
    return 0;
}

void dg_upstream_url_free(dg_upstream_url *u)
{
    if (!u)
        return;
    free(u->url);
    free(u->host);
    free(u->base_path);
    memset(u, 0, sizeof *u);
}

int dg_listen_parse(const char *s, dg_listen_addr *out, dg_error *err)
{
    memset(out, 0, sizeof *out);
    if (!s)
        return dg_error_set(err, DG_EINVAL, "no address");
    size_t n = strlen(s);
    const char *colon = strrchr(s, ':');
    const char *rb = strrchr(s, ']');
    if (!colon || (rb && colon < rb))
        return dg_error_set(err, DG_EINVAL, "\"%.200s\" is not host:port (e.g. 127.0.0.1:8080, "
                            "[::1]:8080)", s);
    if (s[0] != '[' && memchr(s, ':', (size_t)(colon - s)))
        return dg_error_set(err, DG_EINVAL, "address \"%.200s\": write IPv6 addresses in "
                            "brackets, e.g. [::1]:8080", s);
    int v6;
    if (parse_host(s, (size_t)(colon - s), out->host, sizeof out->host, &v6, err) ||
        parse_port(colon + 1, (size_t)(s + n - colon - 1), &out->port, err))
        return wrap_err(err, "address", s);
    struct in6_addr a6;
    if (v6)
        out->wildcard = inet_pton(AF_INET6, out->host, &a6) == 1 && IN6_IS_ADDR_UNSPECIFIED(&a6);
    else
        out->wildcard = !strcmp(out->host, "0.0.0.0");
    snprintf(out->canonical, sizeof out->canonical, v6 ? "[%s]:%d" : "%s:%d", out->host, out->port);
    return 0;
}

/* Length of the pointer segment starting after the '/' at s. */
static size_t seg_len(const char *s) { return strcspn(s, "/"); }

int dg_pointer_match(const char *pattern, const char *pointer)
{
    if (!pattern)
        return 1;
    if (!pointer)
        pointer = "";
    const char *a = pattern, *b = pointer;
    /* Both are "" or "/seg/seg...": walk segment by segment. */
    for (;;) {
        if (!strcmp(a, "/**"))
            return 1; /* the rest, including nothing */
        if (!*a || !*b)
            return !*a && !*b;
        if (*a != '/' || *b != '/')
            return 0;
        a++;
        b++;
        size_t la = seg_len(a), lb = seg_len(b);
        if (!(la == 1 && a[0] == '*') && (la != lb || memcmp(a, b, la)))
            return 0;
        a += la;
        b += lb;
    }
}

char *dg__path_join(const char *dir, const char *path)
{
    if (path[0] == '/' || !dir || !dir[0])
        return strdup(path);
    size_t dl = strlen(dir), pl = strlen(path);
    int slash = dir[dl - 1] != '/';
    char *r = malloc(dl + (size_t)slash + pl + 1);
    if (!r)
        return NULL;
    memcpy(r, dir, dl);
    if (slash)
        r[dl] = '/';
    memcpy(r + dl + (size_t)slash, path, pl + 1);
    return r;
}

size_t dg__edit_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return cap + 1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0], best = row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t v = diag + cost;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            if (up + 1 < v)
                v = up + 1;
            row[j] = v;
            diag = up;
            if (v < best)
                best = v;
        }
        if (best > cap)
            return cap + 1;
    }
    return row[lb] > cap ? cap + 1 : row[lb];
}
