/* common/text.c: percent-decoding (see text.h). */
#include "common/text.h"

#include "common/buf.h"
#include "common/error.h"

size_t dg_pct_decode_into(char *dst, const char *src, size_t n, int *bad)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (src[i] == '%') {
            int h = i + 2 < n ? dg_hexval((unsigned char)src[i + 1]) : -1;
            int l = h >= 0 ? dg_hexval((unsigned char)src[i + 2]) : -1;
            if (l >= 0) {
                dst[o++] = (char)(h * 16 + l);
                i += 2;
                continue;
            }
            if (bad)
                *bad = 1;
        }
        dst[o++] = src[i];
    }
    return o;
}

int dg_pct_decode(const char *p, size_t n, struct dg_buf *out)
{
    dg_buf_reset(out);
    if (dg_buf_reserve(out, n))
        return DG_ENOMEM;
    out->len = dg_pct_decode_into(out->data, p, n, NULL);
    out->data[out->len] = '\0';
    return 0;
}
