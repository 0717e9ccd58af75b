/* scripts/gen_idna_table.c: generates the IDNA2008 code point table of
 * validate/format_idna.c (idna_props, idna_ck and idna_runs).
 *
 * NOT part of the build: the generated table is committed in
 * validate/format_idna.c, and driftgate itself does not use ICU. Run this
 * only to regenerate the table for a newer Unicode version.
 *
 * For every code point it derives the RFC 5892 IDNA2008 property (PVALID,
 * CONTEXTJ, CONTEXTO, or DISALLOWED/UNASSIGNED) plus the facts the U-label
 * and Bidi checks need (mark category, Bidi_Class, Joining_Type, virama,
 * script), packs them into 16 bits (layout in the comment above idna_props
 * in format_idna.c), and writes the run-length encoding the lookup there
 * decodes: one printable character per run naming its value, an optional
 * base-51 length, and a checkpoint every 32 runs for the binary search.
 *
 * Needs ICU's C headers and libraries: Debian/Ubuntu package libicu-dev
 * (the committed table came from ICU 72.1, Unicode 15.0, Debian 12).
 *
 *   cc -std=c11 -O2 -Wall -Wextra -o /tmp/gen_idna_table scripts/gen_idna_table.c \
 *       $(pkg-config --cflags --libs icu-uc)
 *   /tmp/gen_idna_table > /tmp/idna_table.inc
 *
 * Statistics go to stderr. stdout is a one-line comment followed by the
 * three tables; replace the three definitions in validate/format_idna.c with
 * them (keep that file's explanatory comment, update its Unicode/ICU
 * version) and run the format unit tests and the conformance suite. */
#include <stdio.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/uscript.h>

/* IDNA2008 derived property values (bits 0-1 of a table value). */
enum { DIS = 0, PV = 1, CJ = 2, CO = 3 };

/* RFC 5892 section 3 derivation, in its order: Exceptions, BackwardCompatible
 * (empty), Unassigned, LDH, JoinControl, Unstable, IgnorableProperties,
 * IgnorableBlocks, OldHangulJamo, LetterDigits; otherwise DISALLOWED. */
static int idna(UChar32 c)
{
    switch (c) {
    case 0xDF: case 0x3C2: case 0x6FD: case 0x6FE: case 0xF0B: case 0x3007:
        return PV;
    case 0xB7: case 0x375: case 0x5F3: case 0x5F4: case 0x30FB:
        return CO;
    case 0x640: case 0x7FA: case 0x302E: case 0x302F: case 0x3031: case 0x3032:
    case 0x3033: case 0x3034: case 0x3035: case 0x303B:
        return DIS;
    }
    if ((c >= 0x660 && c <= 0x669) || (c >= 0x6F0 && c <= 0x6F9))
        return CO;
    int gc = u_charType(c);
    if (gc == U_UNASSIGNED && !u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT))
        return DIS;
    if (c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'))
        return PV;
    if (c == 0x200C || c == 0x200D)
        return CJ;
    if (u_hasBinaryProperty(c, UCHAR_CHANGES_WHEN_NFKC_CASEFOLDED))
        return DIS;
    if (u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT) ||
        u_hasBinaryProperty(c, UCHAR_WHITE_SPACE) ||
        u_hasBinaryProperty(c, UCHAR_NONCHARACTER_CODE_POINT))
        return DIS;
    if ((c >= 0x20D0 && c <= 0x20FF) || (c >= 0x1D100 && c <= 0x1D24F))
        return DIS;
    int hst = u_getIntPropertyValue(c, UCHAR_HANGUL_SYLLABLE_TYPE);
    if (hst == U_HST_LEADING_JAMO || hst == U_HST_VOWEL_JAMO || hst == U_HST_TRAILING_JAMO)
        return DIS;
    if (gc == U_LOWERCASE_LETTER || gc == U_UPPERCASE_LETTER || gc == U_OTHER_LETTER ||
        gc == U_DECIMAL_DIGIT_NUMBER || gc == U_MODIFIER_LETTER ||
        gc == U_NON_SPACING_MARK || gc == U_COMBINING_SPACING_MARK)
        return PV;
    return DIS;
}

/* Bidi_Class: 0 other, 1 L, 2 R, 3 AL, 4 AN, 5 EN, 6 ES, 7 CS, 8 ET, 9 ON,
 * 10 BN, 11 NSM (the BIDI_* values in format_idna.c; "other" is stored as
 * 12 = BIDI_OTHER). */
static int bidi(UChar32 c)
{
    switch (u_charDirection(c)) {
    case U_LEFT_TO_RIGHT: return 1;
    case U_RIGHT_TO_LEFT: return 2;
    case U_RIGHT_TO_LEFT_ARABIC: return 3;
    case U_ARABIC_NUMBER: return 4;
    case U_EUROPEAN_NUMBER: return 5;
    case U_EUROPEAN_NUMBER_SEPARATOR: return 6;
    case U_COMMON_NUMBER_SEPARATOR: return 7;
    case U_EUROPEAN_NUMBER_TERMINATOR: return 8;
    case U_OTHER_NEUTRAL: return 9;
    case U_BOUNDARY_NEUTRAL: return 10;
    case U_DIR_NON_SPACING_MARK: return 11;
    default: return 0;
    }
}

/* Joining_Type: 0 U (stored as 6), 1 L, 2 R, 3 D, 4 T, 5 C. */
static int jt(UChar32 c)
{
    switch (u_getIntPropertyValue(c, UCHAR_JOINING_TYPE)) {
    case U_JT_LEFT_JOINING: return 1;
    case U_JT_RIGHT_JOINING: return 2;
    case U_JT_DUAL_JOINING: return 3;
    case U_JT_TRANSPARENT: return 4;
    case U_JT_JOIN_CAUSING: return 5;
    default: return 0;
    }
}

/* Script, only those the CONTEXTO rules ask about: 1 Greek, 2 Hebrew,
 * 3 Hiragana, 4 Katakana, 5 Han, 0 any other. */
static int scr(UChar32 c)
{
    UErrorCode e = U_ZERO_ERROR;
    switch (uscript_getScript(c, &e)) {
    case USCRIPT_GREEK: return 1;
    case USCRIPT_HEBREW: return 2;
    case USCRIPT_HIRAGANA: return 3;
    case USCRIPT_KATAKANA: return 4;
    case USCRIPT_HAN: return 5;
    default: return 0;
    }
}

/* General category of a mark: 1 Mn, 2 Mc, 3 Me, 0 not a mark. */
static int mark(UChar32 c)
{
    int gc = u_charType(c);
    return gc == U_NON_SPACING_MARK ? 1 : gc == U_COMBINING_SPACING_MARK ? 2
         : gc == U_ENCLOSING_MARK ? 3 : 0;
}

/* The packed table value of c; 0 for DISALLOWED and UNASSIGNED. */
static unsigned value(UChar32 c)
{
    int i = idna(c);
    if (!i)
        return 0;
    int b = bidi(c), j = jt(c);
    if (b == 0)
        b = 12;
    if (j == 0)
        j = 6;
    return (unsigned)i | (unsigned)mark(c) << 2 | (unsigned)b << 4 | (unsigned)j << 8 |
           (unsigned)(u_getCombiningClass(c) == 9) << 11 | (unsigned)scr(c) << 12;
}

/* Printable ASCII without '"', '\\' and '?' (no escapes, no trigraphs). */
static const char *alphabet(void)
{
    static char a[100];
    int n = 0;
    for (int ch = 0x21; ch < 0x7F; ch++)
        if (ch != '"' && ch != '\\' && ch != '?')
            a[n++] = (char)ch;
    a[n] = '\0';
    return a;
}

enum { NVALUES = 40, MAX_CK = 400 };  /* first NVALUES letters name values */

int main(void)
{
    const char *al = alphabet();
    int nbase = (int)strlen(al) - NVALUES;  /* the length digits' base (51) */
    unsigned props[NVALUES + 1];
    int np = 0;
    static char out[20000];
    int ol = 0;
    static unsigned cks[MAX_CK], cko[MAX_CK];
    int nck = 0, nrun = 0;
    unsigned prev = ~0u;
    UChar32 start = 0;

    /* One step past U+10FFFF with a sentinel value closes the last run. */
    for (UChar32 c = 0; c <= 0x110000; c++) {
        unsigned p = c <= 0x10FFFF ? value(c) : ~1u;
        if (p == prev)
            continue;
        if (c > 0) {  /* emit the run [start, c) of value prev */
            int k;
            for (k = 0; k < np; k++)
                if (props[k] == prev)
                    break;
            if (k == np)
                props[np++] = prev;
            if (np > NVALUES) {
                fprintf(stderr, "too many distinct values\n");
                return 1;
            }
            if (nrun % 32 == 0) {
                if (nck == MAX_CK) {
                    fprintf(stderr, "too many checkpoints\n");
                    return 1;
                }
                cks[nck] = (unsigned)start;
                cko[nck] = (unsigned)ol;
                nck++;
            }
            if (ol + 8 >= (int)sizeof out) {
                fprintf(stderr, "table too long\n");
                return 1;
            }
            out[ol++] = al[k];
            unsigned len = (unsigned)(c - start);
            if (len > 1) {
                unsigned d = len - 2;
                char tmp[8];
                int t = 0;
                do {
                    tmp[t++] = al[NVALUES + (int)(d % (unsigned)nbase)];
                    d /= (unsigned)nbase;
                } while (d);
                while (t)
                    out[ol++] = tmp[--t];
            }
            nrun++;
        }
        prev = p;
        start = c;
    }
    out[ol] = '\0';
    fprintf(stderr, "Unicode %s: runs=%d values=%d chars=%d checkpoints=%d base=%d\n",
            U_UNICODE_VERSION, nrun, np, ol, nck, nbase);

    printf("/* %d runs, %d bytes */\n", nrun, ol);
    printf("static const uint16_t idna_props[%d] = {\n", np);
    for (int k = 0; k < np; k++)
        printf("%s0x%04x,%s", k % 8 == 0 ? "    " : " ", props[k],
               (k % 8 == 7 || k == np - 1) ? "\n" : "");
    printf("};\n");
    printf("static const struct { uint32_t cp, off; } idna_ck[%d] = {\n", nck);
    for (int k = 0; k < nck; k++)
        printf("%s{0x%05x, %4u},%s", k % 5 == 0 ? "    " : " ", cks[k], cko[k],
               (k % 5 == 4 || k == nck - 1) ? "\n" : "");
    printf("};\n");
    printf("static const char idna_runs[] =\n");
    for (int i = 0; i < ol; i += 90) {
        printf("    \"");
        for (int j = i; j < i + 90 && j < ol; j++)
            putchar(out[j]);
        printf("\"%s\n", i + 90 >= ol ? ";" : "");
    }
    return 0;
}
