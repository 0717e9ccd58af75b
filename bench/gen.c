/* bench/gen.c: deterministic generator of the benchmark's response bodies.
 *
 *   gen orders [N]       array of N orders (default 5, ~7 KB), listOrders
 *   gen account          one nested account (~10 KB), getAccount
 *   gen events BYTES     array of audit events, at least BYTES long (one event
 *                        more at most), exportEvents; streamed, so 200 MB
 *                        costs no memory (tests/cli/rss_200mb.sh)
 *
 * Output is compact JSON (what APIs send) on stdout, valid against
 * bench/specs/bench.yaml. Everything comes from one seeded PRNG (-s SEED,
 * default 1), so the same command writes the same bytes on every machine.
 * Strings are built from safe characters; the few escapes and non-ASCII
 * names are written literally, on purpose, so the validator also meets
 * escapes and multi-byte UTF-8 (maxLength counts code points). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- output: a JSON emitter that tracks commas and bytes written ---- */

static uint64_t g_written;
static int g_first[64]; /* per nesting level: no member/element written yet */
static int g_depth;

static void out(const char *s, size_t n)
{
    if (fwrite(s, 1, n, stdout) != n) {
        /* EPIPE when the reader stops early (e.g. the validator failed):
         * not our error to report twice. */
        if (errno != EPIPE)
            perror("gen: write");
        exit(1);
    }
    g_written += n;
}

static void outs(const char *s) { out(s, strlen(s)); }

static void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void outf(const char *fmt, ...)
{
    char b[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof b) {
        fprintf(stderr, "gen: internal: formatted value too long\n");
        exit(1);
    }
    out(b, (size_t)n);
}

/* Separator before a new element at the current level. */
static void sep(void)
{
    if (!g_first[g_depth])
        out(",", 1);
    g_first[g_depth] = 0;
}

static void open_(char c)
{
    if (g_depth + 1 >= (int)(sizeof g_first / sizeof g_first[0])) {
        fprintf(stderr, "gen: internal: too deep\n");
        exit(1);
    }
    out(&c, 1);
    g_first[++g_depth] = 1;
}

static void close_(char c)
{
    out(&c, 1);
    g_depth--;
}

static void obj(void) { open_('{'); }
static void arr(void) { open_('['); }
static void end_obj(void) { close_('}'); }
static void end_arr(void) { close_(']'); }

/* Set between a key and its value: the value must not add a separator. */
static int g_after_key;

/* Key of the next member; the value follows with one of the v* functions. */
static void K(const char *k)
{
    sep();
    outf("\"%s\":", k);
    g_after_key = 1;
}

static void vsep(void)
{
    if (g_after_key)
        g_after_key = 0;
    else
        sep();
}

static void vraw(const char *s) { vsep(); outs(s); }
static void vstr(const char *s) { vsep(); outf("\"%s\"", s); }
static void vnull(void) { vraw("null"); }
static void vbool(int b) { vraw(b ? "true" : "false"); }
static void vint(int64_t i) { vsep(); outf("%" PRId64, i); }
static void vobj(void) { vsep(); obj(); }
static void varr(void) { vsep(); arr(); }

/* ---- randomness ---- */

static uint64_t g_rng;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned rn(unsigned n) { return (unsigned)(rnd() % n); }
static int chance(unsigned pct) { return rn(100) < pct; }
#define PICK(a) (a[rn((unsigned)(sizeof a / sizeof a[0]))])

static const char *rand_chars(char *b, size_t n, const char *set)
{
    size_t k = strlen(set);
    for (size_t i = 0; i < n; i++)
        b[i] = set[rnd() % k];
    b[n] = 0;
    return b;
}

static const char ALNUM[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static const char HEX[] = "0123456789abcdef";

static void vuuid(void)
{
    char h[33];
    rand_chars(h, 32, HEX);
    vsep();
    outf("\"%.8s-%.4s-4%.3s-%c%.3s-%.12s\"", h, h + 8, h + 13, "89ab"[rn(4)], h + 17, h + 20);
}

/* RFC 3339 timestamps in a few of the shapes servers emit. */
static void vts(void)
{
    unsigned y = 2023 + rn(3), mo = 1 + rn(12), d = 1 + rn(28), hh = rn(24), mi = rn(60),
             ss = rn(60);
    vsep();
    switch (rn(3)) {
    case 0: outf("\"%u-%02u-%02uT%02u:%02u:%02uZ\"", y, mo, d, hh, mi, ss); break;
    case 1: outf("\"%u-%02u-%02uT%02u:%02u:%02u.%03uZ\"", y, mo, d, hh, mi, ss, rn(1000)); break;
    default: outf("\"%u-%02u-%02uT%02u:%02u:%02u+0%u:00\"", y, mo, d, hh, mi, ss, rn(10)); break;
    }
}

static void vts_or_null(unsigned null_pct)
{
    if (chance(null_pct))
        vnull();
    else
        vts();
}

static void vdate(void)
{
    vsep();
    outf("\"%u-%02u-%02u\"", 2023 + rn(3), 1 + rn(12), 1 + rn(28));
}

static void vipv4(void)
{
    vsep();
    outf("\"%u.%u.%u.%u\"", 1 + rn(223), rn(256), rn(256), 1 + rn(254));
}

static const char *const FIRST[] = {"alice", "bob", "carol", "dave", "erin", "frank",
                                    "grace", "heidi", "ivan", "judy", "mallory", "oscar",
                                    "peggy", "rupert", "sybil", "trent", "victor", "wendy"};
static const char *const LAST[] = {"smith", "jones", "nguyen", "garcia", "mueller", "rossi",
                                   "kowalski", "tanaka", "okafor", "silva", "dubois", "larsen"};
/* Display names with multi-byte UTF-8 (maxLength counts code points). */
static const char *const DISPLAY[] = {"Alice Smith", "Bob Jones", "Carol Nguy\xe1\xbb\x85n",
                                      "Dave Garc\303\255a", "Erin M\xc3\xbcller", "Frank Rossi",
                                      "Grace Kowalski", "Heidi Tanaka", "Ivan Okafor",
                                      "Judy Silva", "Zo\xc3\xab Dubois", "Oscar Larsen"};
static const char *const DOMAINS[] = {"example.com", "mail.example.org", "corp.example.net",
                                      "example.co.uk"};

static void vemail(void)
{
    vsep();
    outf("\"%s.%s%u@%s\"", PICK(FIRST), PICK(LAST), rn(100), PICK(DOMAINS));
}

static void vphone(void)
{
    vsep();
    outf("\"+%u%09u\"", 1 + rn(9), rn(1000000000));
}

static void vmoney(int64_t amount, const char *cur)
{
    vobj();
    K("amount"); vint(amount);
    K("currency"); vstr(cur);
    end_obj();
}

static const char *const COUNTRIES[] = {"DE", "FR", "US", "GB", "NL", "JP", "BR", "NG"};
static const char *const CITIES[] = {"Berlin", "Paris", "New York", "London", "Amsterdam",
                                     "Tokyo", "S\xc3\xa3o Paulo", "Lagos"};
static const char *const STREETS[] = {"Main Street", "Hauptstra\303\237e", "Rue de Rivoli",
                                      "Baker Street", "Keizersgracht", "Sakura-dori"};

static void vaddress(void)
{
    unsigned c = rn(8);
    vobj();
    K("line1"); vsep(); outf("\"%u %s\"", 1 + rn(400), PICK(STREETS));
    K("line2"); if (chance(60)) vnull(); else { vsep(); outf("\"Apt %u\"", 1 + rn(90)); }
    K("city"); vstr(CITIES[c]);
    K("region"); if (chance(50)) vnull(); else vstr("Region 7");
    K("postalCode"); vsep(); outf("\"%05u\"", rn(100000));
    K("country"); vstr(COUNTRIES[c]);
    end_obj();
}

/* ---- listOrders ---- */

static const char *const CURRENCIES[] = {"EUR", "USD", "GBP", "JPY", "BRL"};
static const char *const PRODUCTS[] = {
    "Merino wool crew sock, charcoal", "Stainless steel water bottle 750 ml",
    "USB-C cable, braided, 2 m", "Ceramic pour-over coffee dripper",
    "Organic cotton t-shirt \\\"Classic\\\"", "Noise-cancelling earbuds",
    "Hardcover notebook, dotted, A5", "Caf\xc3\xa9 au lait mug, 350 ml"};
static const char *const ORDER_STATUS[] = {"pending", "paid", "fulfilled", "shipped",
                                           "delivered", "cancelled", "refunded"};
static const char *const CHANNELS[] = {"web", "ios", "android", "pos", "api"};
static const char *const TAGS[] = {"gift", "priority", "first-order", "b2b", "subscription",
                                   "marketplace", "fragile"};

static void order(unsigned seq)
{
    const char *cur = PICK(CURRENCIES);
    unsigned nlines = 1 + rn(3);
    int64_t subtotal = 0;
    vobj();
    K("id"); vuuid();
    K("number"); vsep(); outf("\"ORD-%08u\"", 10000000 + seq * 7919 % 89999999);
    K("status"); vstr(PICK(ORDER_STATUS));
    K("channel"); vstr(PICK(CHANNELS));
    K("customer"); vobj();
        K("id"); vuuid();
        K("email"); vemail();
        K("name"); vstr(PICK(DISPLAY));
        K("phone"); if (chance(30)) vnull(); else vphone();
    end_obj();
    K("createdAt"); vts();
    K("updatedAt"); vts_or_null(30);
    K("paidAt"); vts_or_null(40);
    K("currency"); vstr(cur);
    K("lines"); varr();
    for (unsigned i = 0; i < nlines; i++) {
        int64_t price = 199 + rn(20000), qty = 1 + rn(5), disc = chance(30) ? price / 10 : 0;
        int64_t total = price * qty - disc;
        char sku[16];
        snprintf(sku, sizeof sku, "%c%c%c-%05u", 'A' + rn(26), 'A' + rn(26), 'A' + rn(26),
                 rn(100000));
        subtotal += total;
        vobj();
        K("id"); vuuid();
        K("sku"); vsep(); outf("\"%s%s\"", sku, chance(30) ? "-XL" : "");
        K("name"); vstr(PICK(PRODUCTS));
        K("quantity"); vint(qty);
        K("unitPrice"); vmoney(price, cur);
        K("discount"); if (disc) vmoney(disc, cur); else vnull();
        K("taxRate"); vraw(chance(50) ? "0.19" : "0.07");
        K("total"); vmoney(total, cur);
        K("giftWrap"); vbool(chance(10));
        end_obj();
    }
    end_arr();
    int64_t tax = subtotal * 19 / 100, ship = chance(50) ? 0 : 495;
    K("subtotal"); vmoney(subtotal, cur);
    K("tax"); vmoney(tax, cur);
    K("shipping"); vmoney(ship, cur);
    K("total"); vmoney(subtotal + tax + ship, cur);
    K("shippingAddress"); vaddress();
    K("billingAddress"); if (chance(50)) vnull(); else vaddress();
    K("couponCode"); if (chance(70)) vnull(); else vstr("SPRING24");
    K("trackingUrl");
    if (chance(40)) vnull();
    else { vsep(); outf("\"https://track.example.com/p/%s?ref=dg\"", rand_chars((char[21]){0}, 20, ALNUM)); }
    K("tags"); varr();
    for (unsigned i = 0, n = rn(3), o = rn(7); i < n; i++)
        vstr(TAGS[(o + i) % 7]); /* consecutive: never a duplicate (uniqueItems) */
    end_arr();
    K("metadata"); vobj();
        K("source"); vstr("checkout-v2");
        K("cartId"); vsep(); outf("\"cart_%s\"", rand_chars((char[17]){0}, 16, ALNUM));
        if (chance(30)) { K("note"); vstr("Leave at the \\\"back door\\\"\\nthanks"); }
    end_obj();
    end_obj();
}

static void gen_orders(unsigned n)
{
    arr();
    for (unsigned i = 0; i < n; i++)
        order(i);
    end_arr();
}

/* ---- getAccount ---- */

static void resource_fields(void)
{
    char e[17];
    K("id"); vuuid();
    K("createdAt"); vts();
    K("updatedAt"); vts();
    K("etag"); vstr(rand_chars(e, 16, HEX));
}

static void person_fields(unsigned i)
{
    resource_fields();
    K("email"); vemail();
    K("displayName"); vstr(DISPLAY[i % (sizeof DISPLAY / sizeof DISPLAY[0])]);
    K("phone"); if (chance(40)) vnull(); else vphone();
    K("locale"); vstr(i % 3 ? "en-US" : "de");
    K("timeZone"); vstr(i % 2 ? "Europe/Berlin" : "America/New_York");
    K("avatarUrl");
    if (chance(30)) vnull();
    else { vsep(); outf("\"https://cdn.example.com/avatars/%u.png\"", 1000 + i); }
}

static void vpm_id(void)
{
    char b[15];
    vsep();
    outf("\"pm_%s\"", rand_chars(b, 14, ALNUM));
}

static void payment_method(unsigned kind, int is_default)
{
    static const char *const brands[] = {"visa", "mastercard", "amex", "discover", "jcb",
                                         "unionpay"};
    static const char *const providers[] = {"apple_pay", "google_pay", "paypal"};
    char b[17];
    vobj();
    switch (kind) {
    case 0:
        K("kind"); vstr("card");
        K("id"); vpm_id();
        K("brand"); vstr(PICK(brands));
        K("last4"); vsep(); outf("\"%04u\"", rn(10000));
        K("expMonth"); vint(1 + rn(12));
        K("expYear"); vint(2026 + rn(6));
        K("holderName"); vstr(PICK(DISPLAY));
        K("fingerprint"); vstr(rand_chars(b, 16, ALNUM));
        K("billingAddress"); if (chance(50)) vnull(); else vaddress();
        break;
    case 1:
        K("kind"); vstr("bank_account");
        K("id"); vpm_id();
        K("bankName"); vstr("Example Sparkasse");
        K("iban"); vsep(); outf("\"DE%02u%010u%08u\"", 10 + rn(90), rn(1000000000), rn(100000000));
        K("bic"); if (chance(30)) vnull(); else vstr("EXAMDEFFXXX");
        K("country"); vstr("DE");
        K("currency"); vstr("EUR");
        K("verified"); vbool(1);
        break;
    default:
        K("kind"); vstr("wallet");
        K("id"); vpm_id();
        K("provider"); vstr(PICK(providers));
        K("email"); if (chance(30)) vnull(); else vemail();
        break;
    }
    K("isDefault"); vbool(is_default);
    end_obj();
}

static void gen_account(void)
{
    static const char *const roles[] = {"admin", "developer", "billing", "viewer"};
    static const char *const inv_status[] = {"paid", "paid", "open", "void"};
    static const char *const scopes[] = {"read:orders", "write:orders", "read:events", "admin"};
    static const char *const evtypes[] = {"order.created", "order.paid", "order.refunded",
                                          "payment.failed", "webhook.failed"};
    char b[32];
    vobj();
    resource_fields();
    K("name"); vstr("Northwind Traders GmbH");
    K("slug"); vstr("northwind-traders");
    K("plan"); vstr("business");
    K("status"); vstr("active");
    K("trialEndsAt"); vnull();
    K("owner"); vobj(); person_fields(0); end_obj();
    K("members"); varr();
    for (unsigned i = 0; i < 9; i++) {
        vobj();
        person_fields(i + 1);
        K("role"); vstr(i == 0 ? "owner" : roles[i % 4]);
        K("joinedAt"); vts();
        K("lastLoginAt"); vts_or_null(i ? 20 : 0);
        K("lastLoginIp"); if (i && chance(20)) vnull(); else vipv4();
        K("mfaEnabled"); vbool(i % 3 != 2);
        end_obj();
    }
    end_arr();
    K("billing"); vobj();
        K("email"); vstr("billing@northwind.example.com");
        K("taxId"); vstr("DE123456789");
        K("currency"); vstr("EUR");
        K("address"); vaddress();
        K("paymentMethods"); varr();
            payment_method(0, 1);
            payment_method(1, 0);
            payment_method(2, 0);
            payment_method(0, 0);
        end_arr();
        K("defaultPaymentMethodId"); vpm_id();
        K("balance"); vmoney(-12550, "EUR");
        K("invoices"); varr();
        for (unsigned i = 0; i < 6; i++) {
            int64_t due = 49900 + rn(50000);
            const char *st = inv_status[i % 4];
            vobj();
            K("id"); vsep(); outf("\"in_%s\"", rand_chars(b, 14, ALNUM));
            K("number"); vsep(); outf("\"NWTR-2024-%05u\"", 100 + i);
            K("status"); vstr(st);
            K("amountDue"); vmoney(due, "EUR");
            K("amountPaid"); vmoney(strcmp(st, "paid") ? 0 : due, "EUR");
            K("issuedAt"); vts();
            K("dueOn"); vdate();
            K("paidAt"); if (strcmp(st, "paid")) vnull(); else vts();
            K("pdfUrl"); vsep(); outf("\"https://billing.example.com/invoices/%u.pdf\"", 7000 + i);
            end_obj();
        }
        end_arr();
    end_obj();
    K("limits"); vobj();
        K("seats"); vint(50);
        K("projects"); vint(25);
        K("requestsPerMinute"); vint(6000);
        K("storageBytes"); vint(INT64_C(1099511627776));
    end_obj();
    K("usage"); vobj();
        K("seatsUsed"); vint(10);
        K("storageBytes"); vint(INT64_C(48318382080));
        K("requestsThisMonth"); vint(INT64_C(5123456789));
    end_obj();
    K("settings"); vobj();
        K("region"); vstr("eu-central");
        K("notifications"); vobj();
            K("email"); vbool(1);
            K("weeklyDigest"); vbool(0);
            K("slackWebhook"); vstr("https://hooks.slack.example.com/services/T000/B000/XXXX");
        end_obj();
        K("security"); vobj();
            K("ssoEnforced"); vbool(1);
            K("ssoDomain"); vstr("northwind.example.com");
            K("sessionTimeoutMinutes"); vint(480);
            K("ipAllowlist"); varr(); for (int i = 0; i < 4; i++) vipv4(); end_arr();
            K("passwordPolicy"); vobj();
                K("minLength"); vint(12);
                K("requireSymbols"); vbool(1);
                K("maxAgeDays"); vnull();
            end_obj();
        end_obj();
    end_obj();
    K("apiKeys"); varr();
    for (unsigned i = 0; i < 4; i++) {
        vobj();
        K("id"); vuuid();
        K("name"); vsep(); outf("\"%s key %u\"", i % 2 ? "CI" : "Backend", i + 1);
        K("prefix"); vsep(); outf("\"dg_%s_%s\"", i % 2 ? "test" : "live", rand_chars(b, 8, ALNUM));
        K("scopes"); varr();
        for (unsigned j = 0, n = 1 + i % 3; j < n; j++)
            vstr(scopes[(i + j) % 4]);
        end_arr();
        K("createdAt"); vts();
        K("lastUsedAt"); vts_or_null(25);
        K("expiresAt"); vts_or_null(50);
        K("allowedIps"); varr(); for (unsigned j = 0; j < i; j++) vipv4(); end_arr();
        end_obj();
    }
    end_arr();
    K("webhooks"); varr();
    for (unsigned i = 0; i < 3; i++) {
        vobj();
        K("id"); vuuid();
        K("url"); vsep(); outf("\"https://hooks.northwind.example.com/driftgate/%u?v=2\"", i);
        K("events"); varr();
        for (unsigned j = 0; j < 2 + i; j++)
            vstr(evtypes[(i + j) % 5]);
        end_arr();
        K("active"); vbool(i != 2);
        K("secretLast4"); vstr(rand_chars(b, 4, ALNUM));
        K("failureCount"); vint(i * 3);
        K("lastDeliveryAt"); vts_or_null(20);
        end_obj();
    }
    end_arr();
    K("features"); vobj();
    static const char *const feats[] = {"auditLog", "sso", "scim", "customDomains", "webhooksV2",
                                        "exportApi", "betaDashboard", "ipAllowlist"};
    for (unsigned i = 0; i < 8; i++) {
        K(feats[i]);
        vbool(i % 3 != 1);
    }
    end_obj();
    K("labels"); vobj();
        K("costCenter"); vstr("CC-4711");
        K("team"); vstr("payments");
        K("tier"); vstr("gold");
        K("salesRep"); vstr("J\xc3\xb6rg W.");
    end_obj();
    end_obj();
}

/* ---- exportEvents ---- */

static const char *const EVTYPES[] = {
    "user.created", "user.updated", "user.deleted", "login.succeeded", "login.failed",
    "order.created", "order.paid", "order.refunded", "payment.failed", "apikey.created",
    "apikey.revoked", "webhook.delivered", "webhook.failed", "settings.changed"};
/* resource type for each event type above */
static const char *const EVRES[] = {"user", "user", "user", "user", "user", "order",
                                    "order", "order", "payment", "api_key", "api_key",
                                    "webhook", "webhook", "account"};
static const char *const SEVERITY[] = {"debug", "info", "info", "info", "notice", "warning",
                                       "error"};
static const char *const UAS[] = {
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "curl/8.8.0", "driftgate-sdk-go/1.4.2 (linux; amd64)", "okhttp/4.12.0"};
static const char *const METHODS[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
static const char *const PATHS[] = {"/v1/orders", "/v1/orders/ord_93kd8s7h2j", "/v1/users/me",
                                    "/v1/payments", "/v1/webhooks/wh_19cba/test",
                                    "/v1/accounts/current/settings"};
static const char *const FIELDS[] = {"status", "email", "plan", "settings.region",
                                     "limits.seats", "displayName", "mfaEnabled"};

static void event(uint64_t seq)
{
    static const char *const actor_types[] = {"user", "user", "user", "api_key", "system",
                                              "service"};
    static const char *const actor_pfx[] = {"usr", "usr", "usr", "key", "sys", "svc"};
    char b[40];
    unsigned t = rn(14), at = rn(6);
    vobj();
    K("id"); vuuid();
    K("type"); vstr(EVTYPES[t]);
    K("sequence"); vint((int64_t)(UINT64_C(4294967296) * 3 + seq));
    K("occurredAt"); vts();
    K("receivedAt"); vts();
    K("severity"); vstr(PICK(SEVERITY));
    K("actor"); vobj();
        K("type"); vstr(actor_types[at]);
        K("id"); vsep(); outf("\"%s_%s\"", actor_pfx[at], rand_chars(b, 10 + rn(15), ALNUM));
        K("email"); if (at < 3) vemail(); else vnull();
        K("ip"); if (at < 4 || chance(50)) vipv4(); else vnull();
        K("userAgent"); if (at < 4) vstr(PICK(UAS)); else vnull();
    end_obj();
    K("resource"); vobj();
        K("type"); vstr(EVRES[t]);
        K("id"); vsep(); outf("\"%.3s_%s\"", EVRES[t], rand_chars(b, 12, ALNUM));
        K("name"); if (chance(50)) vnull(); else vstr(PICK(DISPLAY));
    end_obj();
    K("request");
    if (at >= 4) {
        vnull();
    } else {
        vobj();
        K("id"); vsep(); outf("\"req_%s\"", rand_chars(b, 16, ALNUM));
        K("method"); vstr(PICK(METHODS));
        K("path"); vstr(PICK(PATHS));
        K("status"); vint(chance(90) ? 200 : 400 + rn(30));
        K("durationMs"); vsep(); outf("%u.%u", rn(900), rn(10));
        end_obj();
    }
    K("traceId"); vstr(rand_chars(b, 32, HEX));
    K("source"); vsep(); outf("\"https://api.example.com/v1/%s\"", EVRES[t]);
    K("changes"); varr();
    for (unsigned i = 0, n = t == 1 || t == 13 ? 1 + rn(3) : rn(2); i < n; i++) {
        vobj();
        K("field"); vstr(FIELDS[(t + i) % 7]);
        switch (rn(4)) {
        case 0: K("from"); vstr("pending"); K("to"); vstr("paid"); break;
        case 1: K("from"); vint(rn(100)); K("to"); vint(rn(100)); break;
        case 2: K("from"); vbool(0); K("to"); vbool(1); break;
        default: K("from"); vnull(); K("to"); vstr("line one\\nline \\\"two\\\""); break;
        }
        end_obj();
    }
    end_arr();
    K("labels"); vobj();
        K("env"); vstr(chance(90) ? "production" : "staging");
        K("region"); vstr("eu-central");
        if (chance(30)) { K("tenant"); vstr("northwind"); }
    end_obj();
    K("version"); vint(1 + rn(3));
    end_obj();
}

static void gen_events(uint64_t bytes)
{
    arr();
    for (uint64_t seq = 0; g_written < bytes; seq++)
        event(seq);
    end_arr();
}

static int usage(void)
{
    fputs("usage: gen [-s SEED] orders [N] | account | events BYTES\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    static char obuf[1 << 16];
    uint64_t seed = 1;
    int i = 1;
    if (i + 1 < argc && !strcmp(argv[i], "-s")) {
        seed = strtoull(argv[i + 1], NULL, 10);
        i += 2;
    }
    if (i >= argc)
        return usage();
    setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
    g_rng = seed;
    g_first[0] = 1;
    const char *mode = argv[i];
    if (!strcmp(mode, "orders")) {
        unsigned long n = i + 1 < argc ? strtoul(argv[i + 1], NULL, 10) : 5;
        if (!n || n > 1000000)
            return usage();
        gen_orders((unsigned)n);
    } else if (!strcmp(mode, "account")) {
        gen_account();
    } else if (!strcmp(mode, "events")) {
        char *end;
        if (i + 1 >= argc)
            return usage();
        unsigned long long n = strtoull(argv[i + 1], &end, 10);
        if (*end || !n)
            return usage();
        gen_events(n);
    } else {
        return usage();
    }
    out("\n", 1);
    if (fflush(stdout)) {
        if (errno != EPIPE)
            perror("gen: write");
        return 1;
    }
    return 0;
}
