/* tests/unit/test_text.c: hex digits and percent-decoding (common/text.h). */
#include <criterion/criterion.h>

#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/text.h"

Test(text, hexval_digits_and_letters_both_cases)
{
    cr_assert_eq(dg_hexval('0'), 0);
    cr_assert_eq(dg_hexval('9'), 9);
    cr_assert_eq(dg_hexval('a'), 10);
    cr_assert_eq(dg_hexval('F'), 15);
}

Test(text, hexval_rejects_everything_else)
{
    const int bad[] = {'g', 'G', '/', ':', '@', '`', ' ', '%', 0, -1, 0xC3, -61};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(dg_hexval(bad[i]), -1, "c = %d", bad[i]);
}

static const char *decode_into(const char *s, int *bad)
{
    static char out[64];
    size_t n = dg_pct_decode_into(out, s, strlen(s), bad);
    out[n] = '\0';
    return out;
}

Test(text, pct_decode_into_decodes_escapes)
{
    int bad = 0;
    cr_assert_str_eq(decode_into("a%20b%2Fc%2f", &bad), "a b/c/");
    cr_assert_eq(bad, 0);
    cr_assert_str_eq(decode_into("%41%7e", NULL), "A~");
}

Test(text, pct_decode_into_keeps_malformed_escapes_and_flags_them)
{
    int bad = 0;
    cr_assert_str_eq(decode_into("100%", &bad), "100%");
    cr_assert_eq(bad, 1);
    bad = 0;
    cr_assert_str_eq(decode_into("%4", &bad), "%4");
    cr_assert_eq(bad, 1);
    bad = 0;
    cr_assert_str_eq(decode_into("%zz%41", &bad), "%zzA");
    cr_assert_eq(bad, 1);
}

Test(text, pct_decode_into_stops_at_n_not_at_nul)
{
    char out[8];
    cr_assert_eq(dg_pct_decode_into(out, "%41%42", 3, NULL), 1);
    cr_assert_eq(out[0], 'A');
    /* the escape cut by n is not decoded from the bytes after it */
    cr_assert_eq(dg_pct_decode_into(out, "x%41", 3, NULL), 3);
    cr_assert_eq(memcmp(out, "x%4", 3), 0);
    cr_assert_eq(dg_pct_decode_into(out, "a%00b", 5, NULL), 3);
    cr_assert_eq(memcmp(out, "a\0b", 3), 0);
}

Test(text, pct_decode_replaces_buffer_contents)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg_buf_append(&b, "old text", 8), 0);
    cr_assert_eq(dg_pct_decode("%7B%7d%", 7, &b), 0);
    cr_assert_str_eq(b.data, "{}%");
    cr_assert_eq(b.len, 3);
    cr_assert_eq(dg_pct_decode("", 0, &b), 0);
    cr_assert_not_null(b.data);
    cr_assert_str_eq(b.data, "");
    cr_assert_eq(b.len, 0);
    dg_buf_free(&b);
}

Test(text, pct_decode_empty_input_gives_a_string)
{
    dg_buf b = DG_BUF_INIT;
    cr_assert_eq(dg_pct_decode(NULL, 0, &b), 0);
    cr_assert_not_null(b.data);
    cr_assert_str_eq(b.data, "");
    dg_buf_free(&b);
}
