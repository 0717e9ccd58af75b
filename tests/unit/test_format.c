/* Unit tests for validate/format.c: the JSON-Schema-Test-Suite format files
 * (every string case must pass) plus hand-written OpenAPI cases. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "suite_cases.h"
#include "validate/format.h"


static int ok(dg_format f, const char *s)
{
    return dg_format_check_string(f, s, strlen(s));
}

/* A format case: the group's schema has a format; non-strings always pass. */
static int judge_format(json_t *g, json_t *tc)
{
    json_t *fmt = json_object_get(json_object_get(g, "schema"), "format");
    cr_assert(json_is_string(fmt), "group without format");
    json_t *data = json_object_get(tc, "data");
    if (!json_is_string(data))
        return -1;
    dg_format f = dg_format_lookup(json_string_value(fmt), json_string_length(fmt));
    return dg_format_check_string(f, json_string_value(data), json_string_length(data));
}

Test(format, json_schema_test_suite_all_string_cases_pass)
{
    static const char *const files[] = {
        "draft2020-12/optional/format/date-time.json",
        "draft2020-12/optional/format/date.json",
        "draft2020-12/optional/format/duration.json",
        "draft2020-12/optional/format/ecmascript-regex.json",
        "draft2020-12/optional/format/email.json",
        "draft2020-12/optional/format/hostname.json",
        "draft2020-12/optional/format/idn-email.json",
        "draft2020-12/optional/format/idn-hostname.json",
        "draft2020-12/optional/format/ipv4.json",
        "draft2020-12/optional/format/ipv6.json",
        "draft2020-12/optional/format/iri-reference.json",
        "draft2020-12/optional/format/iri.json",
        "draft2020-12/optional/format/json-pointer.json",
        "draft2020-12/optional/format/regex.json",
        "draft2020-12/optional/format/relative-json-pointer.json",
        "draft2020-12/optional/format/time.json",
        "draft2020-12/optional/format/unknown.json",
        "draft2020-12/optional/format/uri-reference.json",
        "draft2020-12/optional/format/uri-template.json",
        "draft2020-12/optional/format/uri.json",
        "draft2020-12/optional/format/uuid.json",
        "draft4/optional/format/date-time.json",
        "draft4/optional/format/email.json",
        "draft4/optional/format/hostname.json",
        "draft4/optional/format/ipv4.json",
        "draft4/optional/format/ipv6.json",
        "draft4/optional/format/unknown.json",
        "draft4/optional/format/uri.json",
    };
    int cases = 0;
    int failures = suite_run_files(files, sizeof files / sizeof files[0], judge_format, &cases);
    cr_assert_gt(cases, 800, "only %d suite cases ran", cases);
    cr_assert_eq(failures, 0, "%d of %d suite cases failed", failures, cases);
}

Test(format, lookup_is_exact_and_case_sensitive)
{
    cr_assert_eq(dg_format_lookup("date-time", 9), DG_FMT_DATE_TIME);
    cr_assert_eq(dg_format_lookup("byte", 4), DG_FMT_BYTE);
    cr_assert_eq(dg_format_lookup("relative-json-pointer", 21), DG_FMT_RELATIVE_JSON_POINTER);
    cr_assert_eq(dg_format_lookup("Date-Time", 9), DG_FMT_UNKNOWN);
    cr_assert_eq(dg_format_lookup("date-time", 4), DG_FMT_DATE);  /* length-bounded */
    cr_assert_eq(dg_format_lookup("date-times", 10), DG_FMT_UNKNOWN);
    cr_assert_eq(dg_format_lookup("", 0), DG_FMT_UNKNOWN);
    for (int f = 1; f < DG_FMT_COUNT; f++) {
        const char *name = dg_format_name((dg_format)f);
        cr_assert_eq(dg_format_lookup(name, strlen(name)), (dg_format)f, "%s", name);
    }
    cr_assert_str_eq(dg_format_name(DG_FMT_UUID), "uuid");
}

Test(format, numeric_formats_are_left_to_the_engine)
{
    cr_assert(dg_format_is_numeric(DG_FMT_INT32));
    cr_assert(dg_format_is_numeric(DG_FMT_INT64));
    cr_assert(dg_format_is_numeric(DG_FMT_FLOAT));
    cr_assert(dg_format_is_numeric(DG_FMT_DOUBLE));
    cr_assert_not(dg_format_is_numeric(DG_FMT_BYTE));
    cr_assert(ok(DG_FMT_INT32, "not a number"));
    cr_assert(ok(DG_FMT_DOUBLE, ""));
}

Test(format, unknown_binary_password_always_pass)
{
    cr_assert(ok(DG_FMT_UNKNOWN, "anything"));
    cr_assert(ok(DG_FMT_BINARY, "\x01\x02"));
    cr_assert(ok(DG_FMT_PASSWORD, ""));
}

Test(format, byte_is_padded_standard_base64)
{
    cr_assert(ok(DG_FMT_BYTE, ""));
    cr_assert(ok(DG_FMT_BYTE, "Zg=="));
    cr_assert(ok(DG_FMT_BYTE, "Zm8="));
    cr_assert(ok(DG_FMT_BYTE, "Zm9v"));
    cr_assert(ok(DG_FMT_BYTE, "U3dhZ2dlciByb2Nrcw=="));
    cr_assert(ok(DG_FMT_BYTE, "+/+/"));
    cr_assert_not(ok(DG_FMT_BYTE, "Zg"), "padding is required");
    cr_assert_not(ok(DG_FMT_BYTE, "Zg="));
    cr_assert_not(ok(DG_FMT_BYTE, "Zm9vYg"));
    cr_assert_not(ok(DG_FMT_BYTE, "-_-_"), "base64url alphabet is not base64");
    cr_assert_not(ok(DG_FMT_BYTE, "Z==="));
    cr_assert_not(ok(DG_FMT_BYTE, "=Zg="));
    cr_assert_not(ok(DG_FMT_BYTE, "Zg==Zg=="), "padding only at the end");
    cr_assert_not(ok(DG_FMT_BYTE, "Zm9v\n"));
    cr_assert_not(ok(DG_FMT_BYTE, "Zm 9v"));
}

Test(format, uuid_shapes)
{
    cr_assert(ok(DG_FMT_UUID, "123e4567-e89b-12d3-a456-426614174000"));
    cr_assert(ok(DG_FMT_UUID, "123E4567-E89B-12D3-A456-426614174000"));
    cr_assert(ok(DG_FMT_UUID, "ffffffff-ffff-ffff-ffff-ffffffffffff"));
    cr_assert_not(ok(DG_FMT_UUID, "{123e4567-e89b-12d3-a456-426614174000}"));
    cr_assert_not(ok(DG_FMT_UUID, "123e4567e89b12d3a456426614174000"));
    cr_assert_not(ok(DG_FMT_UUID, "123e4567-e89b-12d3-a456-42661417400g"));
    cr_assert_not(ok(DG_FMT_UUID, "123e4567-e89b-12d3-a456-4266141740000"));
    cr_assert_not(ok(DG_FMT_UUID, ""));
}

Test(format, date_feb_29_follows_gregorian_leap_rules)
{
    cr_assert(ok(DG_FMT_DATE, "2024-02-29"));
    cr_assert(ok(DG_FMT_DATE, "2000-02-29"), "divisible by 400");
    cr_assert_not(ok(DG_FMT_DATE, "1900-02-29"), "divisible by 100");
    cr_assert_not(ok(DG_FMT_DATE, "2023-02-29"));
    cr_assert(ok(DG_FMT_DATE, "2023-02-28"));
    cr_assert_not(ok(DG_FMT_DATE, "2024-02-30"));
    cr_assert(ok(DG_FMT_DATE, "0000-02-29"), "year 0 is a leap year");
    cr_assert(ok(DG_FMT_DATE, "9999-12-31"));
    cr_assert_not(ok(DG_FMT_DATE, "2024-04-31"));
    cr_assert_not(ok(DG_FMT_DATE, "2024-1-01"));
}

Test(format, date_time_offsets_and_leap_seconds)
{
    cr_assert(ok(DG_FMT_DATE_TIME, "2016-12-31T23:59:60Z"));
    cr_assert(ok(DG_FMT_DATE_TIME, "2016-12-31T23:59:60.5Z"));
    cr_assert(ok(DG_FMT_DATE_TIME, "2017-01-01T00:59:60+01:00"), "23:59:60 UTC");
    cr_assert(ok(DG_FMT_DATE_TIME, "2016-12-31T18:29:60-05:30"), "23:59:60 UTC");
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2016-12-31T23:59:60+01:00"), "22:59:60 UTC");
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2016-12-31T23:58:60Z"));
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2016-12-31T23:59:61Z"));
    cr_assert(ok(DG_FMT_DATE_TIME, "2024-02-29T12:00:00+14:00"));
    cr_assert(ok(DG_FMT_DATE_TIME, "2024-02-29T12:00:00-00:00"));
    cr_assert(ok(DG_FMT_DATE_TIME, "2024-02-29t12:00:00z"));
    cr_assert(ok(DG_FMT_DATE_TIME, "2024-02-29T12:00:00.123456789+05:45"));
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2023-02-29T12:00:00Z"), "calendar is checked");
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2024-02-29T12:00:00"), "offset required");
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2024-02-29 12:00:00Z"), "T required");
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2024-02-29T12:00:00.Z"), "empty fraction");
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2024-02-29T12:00:00+0100"));
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2024-02-29T12:00:00+24:00"));
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2024-02-29T12:00Z"), "seconds required");
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2024-02-29T12:00:00ZZ"));
    cr_assert_not(ok(DG_FMT_DATE_TIME, "2024-02-29"));
    cr_assert_not(ok(DG_FMT_DATE_TIME, ""));
}

Test(format, time_requires_offset_and_checks_leap_second_in_utc)
{
    cr_assert(ok(DG_FMT_TIME, "00:00:00Z"));
    cr_assert(ok(DG_FMT_TIME, "23:59:59.999+23:59"));
    cr_assert(ok(DG_FMT_TIME, "00:29:60-23:30"));
    cr_assert_not(ok(DG_FMT_TIME, "12:00:60Z"));
    cr_assert_not(ok(DG_FMT_TIME, "12:00:00"));
    cr_assert_not(ok(DG_FMT_TIME, "12:00:00+01"));
}

Test(format, duration_grammar)
{
    cr_assert(ok(DG_FMT_DURATION, "P1Y2M3DT4H5M6S"));
    cr_assert(ok(DG_FMT_DURATION, "PT0S"));
    cr_assert(ok(DG_FMT_DURATION, "P3W"));
    cr_assert_not(ok(DG_FMT_DURATION, "P1M1Y"));
    cr_assert_not(ok(DG_FMT_DURATION, "PT1H1S"));
    cr_assert_not(ok(DG_FMT_DURATION, "P1DT"));
    cr_assert_not(ok(DG_FMT_DURATION, "P1W1D"));
}

Test(format, email_local_parts_and_domains)
{
    cr_assert(ok(DG_FMT_EMAIL, "a@b"));
    cr_assert(ok(DG_FMT_EMAIL, "first.last+tag@sub.example.com"));
    cr_assert(ok(DG_FMT_EMAIL, "\"a\\\"b\"@example.com"), "quoted pair");
    cr_assert(ok(DG_FMT_EMAIL, "user@[IPv6:2001:db8::1]"));
    cr_assert(ok(DG_FMT_EMAIL, "user@xn--bcher-kva.example"), "A-label domain");
    cr_assert_not(ok(DG_FMT_EMAIL, "user@xn--bcher-kvb.example"), "bad Punycode");
    cr_assert_not(ok(DG_FMT_EMAIL, "user@[IPv6:2001:db8::g]"));
    cr_assert_not(ok(DG_FMT_EMAIL, "user@[example.com]"), "general literals rejected");
    cr_assert_not(ok(DG_FMT_EMAIL, "\"unterminated@example.com"));
    cr_assert_not(ok(DG_FMT_EMAIL, "us\xc3\xa9r@example.com"), "non-ASCII needs idn-email");
    cr_assert(ok(DG_FMT_IDN_EMAIL, "us\xc3\xa9r@example.com"));
    cr_assert(ok(DG_FMT_IDN_EMAIL, "user@b\xc3\xbc" "cher.example"));
    char local[80];
    memset(local, 'a', 65);
    strcpy(local + 65, "@example.com");
    cr_assert_not(ok(DG_FMT_EMAIL, local), "local part over 64 octets");
    cr_assert_not(ok(DG_FMT_EMAIL, "user@example.com."));
}

Test(format, hostname_a_labels_are_validated)
{
    cr_assert(ok(DG_FMT_HOSTNAME, "xn--bcher-kva.example"));   /* bücher */
    cr_assert(ok(DG_FMT_HOSTNAME, "XN--BCHER-KVA.example"), "A-labels are case-insensitive");
    cr_assert_not(ok(DG_FMT_HOSTNAME, "xn--bcher-kva-.example"));
    cr_assert_not(ok(DG_FMT_HOSTNAME, "xn--bcher.example"), "decodes to ASCII only");
    cr_assert_not(ok(DG_FMT_HOSTNAME, "xn--.example"));
    cr_assert(ok(DG_FMT_HOSTNAME, "ab--cd.example"), "RFC 1123 allows --");
    cr_assert_not(ok(DG_FMT_IDN_HOSTNAME, "ab--cd.example"), "reserved in IDNA2008");
    cr_assert(ok(DG_FMT_IDN_HOSTNAME, "b\xc3\xbc" "cher.example"));
    cr_assert_not(ok(DG_FMT_IDN_HOSTNAME, "B\xc3\xbc" "cher.example"), "U-labels are lowercase");
    cr_assert_not(ok(DG_FMT_HOSTNAME, "b\xc3\xbc" "cher.example"), "hostname is ASCII");
    char name[300];
    memset(name, 'a', 254);
    name[254] = '\0';
    for (int k = 63; k < 254; k += 64)
        name[k] = '.';
    cr_assert_not(ok(DG_FMT_HOSTNAME, name), "254 octets");
    name[253] = '\0';
    cr_assert(ok(DG_FMT_HOSTNAME, name), "253 octets");
}

Test(format, ip_addresses)
{
    cr_assert(ok(DG_FMT_IPV4, "0.0.0.0"));
    cr_assert_not(ok(DG_FMT_IPV4, "01.0.0.0"));
    cr_assert_not(ok(DG_FMT_IPV4, "1.2.3.4.5"));
    cr_assert(ok(DG_FMT_IPV6, "2001:db8:0:0:0:0:2:1"));
    cr_assert(ok(DG_FMT_IPV6, "2001:DB8::2:1"));
    cr_assert(ok(DG_FMT_IPV6, "::ffff:10.0.0.1"));
    cr_assert(ok(DG_FMT_IPV6, "1:2:3:4:5:6:7::"));
    cr_assert_not(ok(DG_FMT_IPV6, "1:2:3:4:5:6:7:8::"));
    cr_assert_not(ok(DG_FMT_IPV6, "::1.2.3.4:5"));
    cr_assert_not(ok(DG_FMT_IPV6, "1:2:3:4:5:6:7:1.2.3.4"));
}

Test(format, uri_and_iri)
{
    cr_assert(ok(DG_FMT_URI, "https://user:pw@example.com:8443/a/b?c=d#e"));
    cr_assert(ok(DG_FMT_URI, "http://[v7.fe80::a]/"));
    cr_assert(ok(DG_FMT_URI, "urn:isbn:0451450523"));
    cr_assert(ok(DG_FMT_URI, "http://example.com:/"), "empty port");
    cr_assert_not(ok(DG_FMT_URI, "http://[fe80::1%25eth0]/"), "zone ids are not RFC 3986");
    cr_assert_not(ok(DG_FMT_URI, "http://exa mple.com/"));
    cr_assert_not(ok(DG_FMT_URI, "http://example.com/#a#b"));
    cr_assert(ok(DG_FMT_URI_REFERENCE, "../a/b"));
    cr_assert(ok(DG_FMT_URI_REFERENCE, "#"));
    cr_assert_not(ok(DG_FMT_URI_REFERENCE, "1a:b"), "':' in the first segment");
    cr_assert(ok(DG_FMT_IRI, "http://r\xc3\xa9sum\xc3\xa9.example/caf\xc3\xa9?q=\xee\x80\x80"));
    cr_assert_not(ok(DG_FMT_IRI, "http://example.com/\xee\x80\x80"), "iprivate only in query");
    cr_assert_not(ok(DG_FMT_URI, "http://r\xc3\xa9sum\xc3\xa9.example/"));
}

Test(format, uri_template_and_pointers)
{
    cr_assert(ok(DG_FMT_URI_TEMPLATE, "/users/{id}{?fields*,limit:3}"));
    cr_assert_not(ok(DG_FMT_URI_TEMPLATE, "/users/{id"));
    cr_assert_not(ok(DG_FMT_URI_TEMPLATE, "/users/{i d}"));
    cr_assert(ok(DG_FMT_JSON_POINTER, "/a~1b/~0"));
    cr_assert_not(ok(DG_FMT_JSON_POINTER, "/a~"));
    cr_assert(ok(DG_FMT_RELATIVE_JSON_POINTER, "0#"));
    cr_assert_not(ok(DG_FMT_RELATIVE_JSON_POINTER, "#"));
}

Test(format, regex_format_uses_ecma_dialect)
{
    cr_assert(ok(DG_FMT_REGEX, "^[a-z]+\\d{2,}$"));
    cr_assert(ok(DG_FMT_REGEX, "(?<=a+)b"));
    cr_assert_not(ok(DG_FMT_REGEX, "\\Z"));
    cr_assert_not(ok(DG_FMT_REGEX, "(?i)a"));
    cr_assert_not(ok(DG_FMT_REGEX, "a{"));
}
