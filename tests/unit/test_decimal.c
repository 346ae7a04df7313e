/* test_decimal: core/decimal against exact integer reference arithmetic.
 *
 * Thousands of generated cases (a fixed-seed PRNG, so every run checks the same ones) compare
 * each operation with a reference written here independently: every value is moved onto the
 * common grid 10^-18 as a 128-bit integer and the floor, snap, sum, product and comparison are
 * computed with plain integer division. Hand-written cases cover Binance's tick and step sizes,
 * the syntax the parser refuses, and the extremes (1e-18, 9.2e18 units, overflow). */
#include <stdio.h>
#include <string.h>

#include "core/decimal.h"
#include "tests/harness/harness.h"
#include "tests/harness/testdec.h"

typedef __int128 i128;

#define GRID 18 /* reference grid: units of 10^-18 */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t rng(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int64_t rng_range(int64_t lo, int64_t hi) /* inclusive */
{
    return lo + (int64_t)(rng() % (uint64_t)(hi - lo + 1));
}

static i128 p10(int n)
{
    i128 v = 1;
    while (n-- > 0)
        v *= 10;
    return v;
}

/* The value on the reference grid. */
static i128 grid(struct dec d)
{
    return (i128)d.units * p10(GRID - d.scale);
}

static i128 ref_floor(i128 n, i128 d) /* mathematical floor, d > 0 */
{
    i128 q = n / d, r = n % d;
    return (r < 0) ? q - 1 : q;
}

static i128 ref_ceil(i128 n, i128 d)
{
    i128 q = n / d, r = n % d;
    return (r > 0) ? q + 1 : q;
}

static struct dec D(const char *s)
{
    struct dec d = {0, 0};
    if (dec_parse(s, (size_t)-1, &d) != DEC_OK) {
        fprintf(stderr, "bad literal %s\n", s);
        CHECK(0);
    }
    return d;
}

static const char *fmt(struct dec d, char *buf)
{
    if (dec_format(d, buf, DEC_STR_MAX) < 0)
        snprintf(buf, DEC_STR_MAX, "<unformattable>");
    return buf;
}

static void check_str(struct dec d, const char *want)
{
    char buf[DEC_STR_MAX];
    CHECK_EQ_STR(fmt(d, buf), want);
}

/* ---- parsing and formatting ---- */

static void test_parse_accepts(void)
{
    struct dec d;
    CHECK(dec_parse("0", (size_t)-1, &d) == DEC_OK && d.units == 0 && d.scale == 0);
    CHECK(dec_parse("-12.3400", (size_t)-1, &d) == DEC_OK && d.units == -123400 && d.scale == 4);
    CHECK(dec_parse("0.01000", (size_t)-1, &d) == DEC_OK && d.units == 1000 && d.scale == 5);
    CHECK(dec_parse("-0", (size_t)-1, &d) == DEC_OK && d.units == 0);
    CHECK(dec_parse("-0.000", (size_t)-1, &d) == DEC_OK && d.units == 0 && d.scale == 3);
    check_str(d, "0.000");
    CHECK(dec_parse("0.000000000000000001", (size_t)-1, &d) == DEC_OK && d.units == 1 &&
          d.scale == 18);
    CHECK(dec_parse("999999999999999999", (size_t)-1, &d) == DEC_OK &&
          d.units == 999999999999999999LL);
    CHECK(dec_parse("-9.99999999999999999", (size_t)-1, &d) == DEC_OK && d.scale == 17);
    /* Leading zeros of the fraction are not significant digits. */
    CHECK(dec_parse("0.000000000123456789", (size_t)-1, &d) == DEC_OK && d.units == 123456789);
    /* len bounds the string. */
    CHECK(dec_parse("12.5xyz", 4, &d) == DEC_OK && d.units == 125 && d.scale == 1);
    CHECK(dec_parse("12.5xyz", 3, &d) == DEC_ESYNTAX);
}

static void test_parse_refuses(void)
{
    static const char *const junk[] = {
        "1e5", "+1", ".5", "5.", "", "1.2.3", " 1", "1 ", "-", "-.5", "00", "01", "--1",
        "0x10", "1,5", "nan", "inf", "1.-5", "１", "\t1", "1\n", NULL,
    };
    struct dec d;
    for (int i = 0; junk[i]; i++) {
        enum dec_status st = dec_parse(junk[i], (size_t)-1, &d);
        if (st != DEC_ESYNTAX)
            fprintf(stderr, "accepted junk '%s' (%d)\n", junk[i], (int)st);
        CHECK(st == DEC_ESYNTAX);
    }
    CHECK(dec_parse(NULL, 0, &d) == DEC_ESYNTAX);
    static const char *const big[] = {
        "1234567890123456789",        /* 19 digits */
        "9223372036854775807",        /* INT64_MAX: still 19 digits */
        "99999999999999999999999",    /* way over */
        "0.0000000000000000001",      /* 19 fractional digits */
        "1.0000000000000000000",      /* 19 fractional digits, even if zeros */
        "123456789.0123456789",       /* 19 significant digits */
        NULL,
    };
    for (int i = 0; big[i]; i++) {
        enum dec_status st = dec_parse(big[i], (size_t)-1, &d);
        if (st != DEC_ERANGE)
            fprintf(stderr, "'%s' gave %d, not DEC_ERANGE\n", big[i], (int)st);
        CHECK(st == DEC_ERANGE);
    }
}

static void test_format(void)
{
    char buf[DEC_STR_MAX];
    check_str(D("0.01000"), "0.01000");
    CHECK(dec_format_trim(D("0.01000"), buf, sizeof buf) == 4);
    CHECK_EQ_STR(buf, "0.01");
    CHECK(dec_format_trim(D("10.000"), buf, sizeof buf) == 2);
    CHECK_EQ_STR(buf, "10");
    CHECK(dec_format_trim(D("0.000"), buf, sizeof buf) == 1);
    CHECK_EQ_STR(buf, "0");
    CHECK(dec_format_trim(D("-100"), buf, sizeof buf) == 4);
    CHECK_EQ_STR(buf, "-100");
    check_str(D("-0.5"), "-0.5");
    struct dec big = {INT64_MAX, 0}, small = {INT64_MIN, 18}, tiny = {1, 18};
    check_str(big, "9223372036854775807");
    check_str(small, "-9.223372036854775808");
    check_str(tiny, "0.000000000000000001");
    struct dec neg_tiny = {-1, 18};
    check_str(neg_tiny, "-0.000000000000000001");
    /* A too small buffer is refused, never overrun. */
    CHECK(dec_format(D("123.45"), buf, 6) == -1);
    CHECK(dec_format(D("123.45"), buf, 7) == 6);
    struct dec bad = {1, 19};
    CHECK(dec_format(bad, buf, sizeof buf) == -1);

    CHECK(dec_format_scale(D("1.23456"), 2, DEC_ROUND_DOWN, buf, sizeof buf) == 4);
    CHECK_EQ_STR(buf, "1.23");
    CHECK(dec_format_scale(D("1.23456"), 2, DEC_ROUND_UP, buf, sizeof buf) == 4);
    CHECK_EQ_STR(buf, "1.24");
    CHECK(dec_format_scale(D("1.225"), 2, DEC_ROUND_NEAREST, buf, sizeof buf) == 4);
    CHECK_EQ_STR(buf, "1.23");
    CHECK(dec_format_scale(D("-1.225"), 2, DEC_ROUND_NEAREST, buf, sizeof buf) > 0);
    CHECK_EQ_STR(buf, "-1.22");
    CHECK(dec_format_scale(D("-1.229"), 2, DEC_ROUND_DOWN, buf, sizeof buf) > 0);
    CHECK_EQ_STR(buf, "-1.23");
    CHECK(dec_format_scale(D("7"), 3, DEC_ROUND_DOWN, buf, sizeof buf) == 5);
    CHECK_EQ_STR(buf, "7.000");
    CHECK(dec_format_scale(D("7.5"), 3, DEC_ROUND_DOWN, buf, sizeof buf) == 5);
    CHECK_EQ_STR(buf, "7.500");
    CHECK(dec_format_scale(D("7.5"), 0, DEC_ROUND_DOWN, buf, sizeof buf) == 1);
    CHECK_EQ_STR(buf, "7");
    CHECK(dec_format_scale(D("0.99"), 0, DEC_ROUND_UP, buf, sizeof buf) == 1);
    CHECK_EQ_STR(buf, "1");
}

/* A random decimal string: sign, 1-18 significant digits, 0-18 fractional digits. */
static void random_string(char *buf, size_t cap, int allow_neg)
{
    int frac = (int)rng_range(0, 18);
    int intd = (int)rng_range(0, 18 - frac); /* at most 18 significant digits */
    size_t o = 0;
    if (allow_neg && rng() % 2)
        buf[o++] = '-';
    if (intd == 0) {
        buf[o++] = '0';
    } else {
        buf[o++] = (char)('1' + rng() % 9);
        for (int i = 1; i < intd; i++)
            buf[o++] = (char)('0' + rng() % 10);
    }
    if (frac > 0) {
        buf[o++] = '.';
        for (int i = 0; i < frac; i++)
            buf[o++] = (char)('0' + rng() % 10);
    }
    buf[o] = '\0';
    (void)cap;
}

static void test_roundtrip_generated(void)
{
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        char s[64], out[DEC_STR_MAX];
        random_string(s, sizeof s, 1);
        if (strcmp(s, "-0") == 0 || (s[0] == '-' && strspn(s + 1, "0.") == strlen(s + 1)))
            continue; /* negative zero formats without its sign */
        struct dec d;
        enum dec_status st = dec_parse(s, (size_t)-1, &d);
        if (st != DEC_OK || dec_format(d, out, sizeof out) < 0 || strcmp(s, out) != 0) {
            if (bad++ < 5)
                fprintf(stderr, "round trip '%s' -> %d '%s'\n", s, (int)st, out);
        }
    }
    CHECK(bad == 0);
}

/* ---- operations against the reference ---- */

/* A random struct dec with at most `digits` significant digits. */
static struct dec random_dec(int digits, int max_scale, int allow_neg)
{
    int64_t lim = 1;
    int n = (int)rng_range(1, digits);
    for (int i = 0; i < n; i++)
        lim *= 10;
    struct dec d = {rng_range(0, lim - 1), (int)rng_range(0, max_scale)};
    if (allow_neg && rng() % 2)
        d.units = -d.units;
    return d;
}

/* Whether a grid value is exactly representable in an int64 at some scale <= max_scale. */
static int ref_fits(i128 g, int max_scale)
{
    for (int t = 0; t <= max_scale; t++) {
        i128 p = p10(GRID - t);
        if (g % p == 0 && g / p <= INT64_MAX && g / p >= -INT64_MAX)
            return 1;
    }
    return 0;
}

static void test_cmp_add_sub(void)
{
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        struct dec a = random_dec(18, 18, 1), b = random_dec(18, 18, 1), r;
        i128 ga = grid(a), gb = grid(b);
        int want = ga < gb ? -1 : (ga > gb ? 1 : 0);
        if (dec_cmp(a, b) != want)
            bad++;
        i128 sum = ga + gb;
        enum dec_status st = dec_add(a, b, &r);
        int s = a.scale > b.scale ? a.scale : b.scale;
        int fits = ref_fits(sum, s);
        if (fits ? (st != DEC_OK || grid(r) != sum) : st != DEC_ERANGE) {
            char b1[DEC_STR_MAX], b2[DEC_STR_MAX];
            if (bad++ < 5)
                fprintf(stderr, "add %s + %s: %d\n", fmt(a, b1), fmt(b, b2), (int)st);
        }
        st = dec_sub(a, b, &r);
        if (st == DEC_OK && grid(r) != ga - gb)
            bad++;
    }
    CHECK(bad == 0);
    /* Across scales, equal values compare equal. */
    CHECK(dec_cmp(D("1.5"), D("1.50000000000000000")) == 0);
    CHECK(dec_cmp(D("-0.000000000000000001"), D("0")) < 0);
    struct dec big = {INT64_MAX, 0}, r;
    CHECK(dec_add(big, D("1"), &r) == DEC_ERANGE);
    CHECK(dec_add(big, D("0.5"), &r) == DEC_ERANGE); /* would need scale 1 */
    CHECK(dec_sub(dec_neg(big), D("1"), &r) == DEC_ERANGE);
    CHECK(dec_add(big, D("-1"), &r) == DEC_OK && r.units == INT64_MAX - 1);
    /* A result that fits once trailing zeros are dropped is kept exactly. */
    struct dec a = {9000000000000000000LL, 0};
    CHECK(dec_add(a, D("0.0"), &r) == DEC_OK && r.units == a.units && r.scale == 0);
}

static void test_mul_div(void)
{
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        struct dec a = random_dec(10, 10, 1), b = random_dec(10, 10, 1), r;
        i128 prod = (i128)a.units * b.units; /* at scale a.scale + b.scale */
        enum dec_status st = dec_mul(a, b, &r);
        int ps = a.scale + b.scale, can = 0;
        for (int t = 0; t <= ps && t <= 18; t++) {
            i128 p = p10(ps - t);
            if (prod % p == 0 && prod / p <= INT64_MAX && prod / p >= -INT64_MAX)
                can = 1;
        }
        if (can ? (st != DEC_OK || r.scale > ps || (i128)r.units * p10(ps - r.scale) != prod)
                : st != DEC_ERANGE) {
            char b1[DEC_STR_MAX], b2[DEC_STR_MAX];
            if (bad++ < 5)
                fprintf(stderr, "mul %s * %s: %d\n", fmt(a, b1), fmt(b, b2), (int)st);
        }
        if (b.units == 0) {
            if (dec_div(a, b, 4, DEC_ROUND_DOWN, &r) != DEC_EZERO)
                bad++;
            continue;
        }
        int scale = (int)rng_range(0, 8);
        /* a/b at `scale`: a.units * 10^(scale + b.scale) / (b.units * 10^a.scale) */
        i128 num = (i128)a.units * p10(scale + b.scale), den = (i128)b.units * p10(a.scale);
        if (den < 0) {
            num = -num;
            den = -den;
        }
        i128 want_down = ref_floor(num, den), want_up = ref_ceil(num, den);
        i128 want_near = ref_floor(2 * num + den, 2 * den);
        int ok_fit = want_up <= INT64_MAX && want_down >= -INT64_MAX;
        if (!ok_fit)
            continue;
        if (dec_div(a, b, scale, DEC_ROUND_DOWN, &r) != DEC_OK || r.units != want_down ||
            r.scale != scale) {
            char b1[DEC_STR_MAX], b2[DEC_STR_MAX];
            if (bad++ < 5)
                fprintf(stderr, "div %s / %s at %d\n", fmt(a, b1), fmt(b, b2), scale);
        }
        if (dec_div(a, b, scale, DEC_ROUND_UP, &r) != DEC_OK || r.units != want_up)
            bad++;
        if (dec_div(a, b, scale, DEC_ROUND_NEAREST, &r) != DEC_OK || r.units != want_near)
            bad++;
    }
    CHECK(bad == 0);
    struct dec r, big = {INT64_MAX, 0};
    CHECK(dec_mul(big, D("2"), &r) == DEC_ERANGE);
    CHECK(dec_mul(big, D("1.0"), &r) == DEC_OK && r.units == INT64_MAX && r.scale == 0);
    CHECK(dec_mul(D("0.000000001"), D("0.0000000001"), &r) == DEC_ERANGE); /* 1e-19 */
    CHECK(dec_mul(D("0.0000000010"), D("0.0000000010"), &r) == DEC_OK && r.units == 1 &&
          r.scale == 18);
    CHECK(dec_div(big, D("0.5"), 0, DEC_ROUND_DOWN, &r) == DEC_ERANGE);
    CHECK(dec_div(big, D("0.000000000000000001"), 18, DEC_ROUND_DOWN, &r) == DEC_ERANGE);
    CHECK(dec_div(D("1"), D("3"), 18, DEC_ROUND_DOWN, &r) == DEC_OK &&
          r.units == 333333333333333333LL);
    CHECK(dec_div(D("2"), D("3"), 2, DEC_ROUND_NEAREST, &r) == DEC_OK && r.units == 67);
    CHECK(dec_div(D("-2"), D("3"), 2, DEC_ROUND_DOWN, &r) == DEC_OK && r.units == -67);
    CHECK(dec_div(D("1"), D("0.000"), 2, DEC_ROUND_DOWN, &r) == DEC_EZERO);
    struct dec three = {3000000000000000000LL, 18};
    CHECK(dec_div(D("9"), three, 18, DEC_ROUND_DOWN, &r) == DEC_OK &&
          r.units == 3000000000000000000LL);
}

static void test_rescale_normalize(void)
{
    struct dec r, big = {INT64_MAX / 10 + 1, 0};
    CHECK(dec_rescale(D("1.5"), 4, &r) == DEC_OK && r.units == 15000 && r.scale == 4);
    CHECK(dec_rescale(D("1.500"), 1, &r) == DEC_OK && r.units == 15 && r.scale == 1);
    CHECK(dec_rescale(D("1.55"), 1, &r) == DEC_ERANGE);
    CHECK(dec_rescale(D("1"), 19, &r) == DEC_ERANGE);
    CHECK(dec_rescale(big, 1, &r) == DEC_ERANGE);
    r = dec_normalize(D("1.500"));
    CHECK(r.units == 15 && r.scale == 1);
    r = dec_normalize(D("0.000"));
    CHECK(r.units == 0 && r.scale == 0);
    r = dec_normalize(D("100"));
    CHECK(r.units == 100 && r.scale == 0);
    CHECK(dec_sign(D("-0.1")) == -1 && dec_sign(D("0.0")) == 0 && dec_sign(D("3")) == 1);
    CHECK(dec_is_zero(D("-0.00")));
    CHECK(dec_cmp(dec_abs(D("-2.5")), D("2.5")) == 0);
    struct dec m = {INT64_MIN, 0};
    CHECK(dec_neg(m).units == INT64_MAX); /* saturates, no undefined behaviour */
    CHECK(dec_from_int(-42).units == -42 && dec_from_int(-42).scale == 0);
}

/* ---- grids ---- */

static const char *const ticks[] = {"0.1", "0.00025", "0.005", "0.5", "10", "0.00000001",
                                    "0.01", "0.0001", "0.000001", "5", NULL};
static const char *const steps[] = {"1", "10", "100", "0.001", "0.1", "0.00000001", "0.5", NULL};

static struct dec random_price_for(struct dec tick)
{
    /* Around 1..1e6 ticks, at a scale a little finer than the tick's. */
    struct dec d;
    int scale = tick.scale + (int)rng_range(0, 4);
    if (scale > 18)
        scale = 18;
    int64_t lim = 1;
    for (int i = 0; i < (int)rng_range(1, 11); i++)
        lim *= 10;
    d.units = rng_range(0, lim);
    d.scale = scale;
    return d;
}

static struct dec random_tick(void)
{
    struct dec t = {rng_range(1, 99999), (int)rng_range(0, 12)};
    return t;
}

static int snap_case(struct dec price, struct dec tick, struct dec base, enum dec_round mode)
{
    struct dec r;
    i128 p = grid(price), t = grid(tick), m = grid(base), k;
    if (mode == DEC_ROUND_DOWN)
        k = ref_floor(p - m, t);
    else if (mode == DEC_ROUND_UP)
        k = ref_ceil(p - m, t);
    else
        k = ref_floor(2 * (p - m) + t, 2 * t);
    i128 want = m + k * t;
    if (dec_snap_to_tick(price, tick, base, mode, &r) != DEC_OK || grid(r) != want)
        return 0;
    /* The answer is written at the grid's own precision, no finer. */
    struct dec tn = dec_normalize(tick), bn = dec_normalize(base);
    int so = tn.scale > bn.scale ? tn.scale : bn.scale;
    return r.scale <= so && dec_is_multiple(r, base, tick);
}

static void test_snap_generated(void)
{
    int bad = 0, n = 0;
    for (int ti = 0; ticks[ti] || n < 60000; ti = ticks[ti] ? ti + 1 : 0) {
        struct dec tick = ticks[ti] ? D(ticks[ti]) : random_tick();
        for (int i = 0; i < 300; i++, n++) {
            struct dec price = random_price_for(tick);
            struct dec base = {0, 0};
            if (rng() % 3 == 0) /* a min_price on the grid or off it */
                base = random_price_for(tick);
            for (int mode = DEC_ROUND_DOWN; mode <= DEC_ROUND_NEAREST; mode++) {
                if (!snap_case(price, tick, base, (enum dec_round)mode)) {
                    char b1[DEC_STR_MAX], b2[DEC_STR_MAX], b3[DEC_STR_MAX];
                    if (bad++ < 5)
                        fprintf(stderr, "snap %s tick %s base %s mode %d\n", fmt(price, b1),
                                fmt(tick, b2), fmt(base, b3), mode);
                }
            }
        }
    }
    CHECK(bad == 0);
    CHECK(n >= 60000);
}

static void test_floor_generated(void)
{
    int bad = 0, n = 0;
    for (int si = 0; steps[si] || n < 40000; si = steps[si] ? si + 1 : 0) {
        struct dec step = steps[si] ? D(steps[si]) : random_tick();
        for (int i = 0; i < 400; i++, n++) {
            struct dec qty = random_price_for(step), r;
            if (rng() % 4 == 0)
                qty.units = -qty.units;
            i128 q = grid(qty), s = grid(step);
            i128 want = (q / s) * s; /* C division truncates toward zero */
            if (dec_floor_to_step(qty, step, &r) != DEC_OK || grid(r) != want ||
                r.scale > dec_normalize(step).scale) {
                char b1[DEC_STR_MAX], b2[DEC_STR_MAX];
                if (bad++ < 5)
                    fprintf(stderr, "floor %s step %s\n", fmt(qty, b1), fmt(step, b2));
            }
        }
    }
    CHECK(bad == 0);
}

static void test_grid_cases(void)
{
    struct dec r;
    CHECK(dec_floor_to_step(D("1.23456"), D("0.001"), &r) == DEC_OK);
    check_str(r, "1.234");
    CHECK(dec_floor_to_step(D("1234"), D("100"), &r) == DEC_OK);
    check_str(r, "1200");
    CHECK(dec_floor_to_step(D("99"), D("100"), &r) == DEC_OK);
    check_str(r, "0");
    CHECK(dec_floor_to_step(D("-1.7"), D("0.5"), &r) == DEC_OK);
    check_str(r, "-1.5");
    CHECK(dec_floor_to_step(D("1.7"), D("0.50"), &r) == DEC_OK);
    check_str(r, "1.5"); /* written at the step's precision, trailing zeros aside */
    CHECK(dec_floor_to_step(D("1"), D("0"), &r) == DEC_EZERO);
    CHECK(dec_floor_to_step(D("1"), D("-1"), &r) == DEC_EZERO);
    CHECK(dec_snap_to_tick(D("1"), D("0.0"), D("0"), DEC_ROUND_DOWN, &r) == DEC_EZERO);

    struct dec zero = {0, 0};
    CHECK(dec_snap_to_tick(D("0.123456"), D("0.00025"), zero, DEC_ROUND_DOWN, &r) == DEC_OK);
    check_str(r, "0.12325");
    CHECK(dec_snap_to_tick(D("0.123456"), D("0.00025"), zero, DEC_ROUND_UP, &r) == DEC_OK);
    check_str(r, "0.12350");
    CHECK(dec_snap_to_tick(D("0.123375"), D("0.00025"), zero, DEC_ROUND_NEAREST, &r) == DEC_OK);
    check_str(r, "0.12350"); /* exactly halfway: up */
    CHECK(dec_snap_to_tick(D("1234.5"), D("10"), zero, DEC_ROUND_NEAREST, &r) == DEC_OK);
    check_str(r, "1230");
    CHECK(dec_snap_to_tick(D("1235"), D("10"), zero, DEC_ROUND_NEAREST, &r) == DEC_OK);
    check_str(r, "1240");
    CHECK(dec_snap_to_tick(D("3.14159"), D("0.005"), zero, DEC_ROUND_DOWN, &r) == DEC_OK);
    check_str(r, "3.140");
    /* With a min_price base off the tick grid: the grid is min + k*tick. */
    CHECK(dec_snap_to_tick(D("1.00"), D("0.5"), D("0.3"), DEC_ROUND_DOWN, &r) == DEC_OK);
    check_str(r, "0.8");
    CHECK(dec_snap_to_tick(D("1.00"), D("0.5"), D("0.3"), DEC_ROUND_UP, &r) == DEC_OK);
    check_str(r, "1.3");
    CHECK(dec_is_multiple(D("1.3"), D("0.3"), D("0.5")));
    CHECK(!dec_is_multiple(D("1.0"), D("0.3"), D("0.5")));
    CHECK(dec_is_multiple(D("0.00000002"), zero, D("0.00000001")));
    CHECK(!dec_is_multiple(D("0.000000025"), zero, D("0.00000001")));
    CHECK(!dec_is_multiple(D("1"), zero, D("0")));

    /* Extremes: 1e-18 ticks and 9.2e18 units. */
    struct dec tiny = {1, 18}, huge = {9200000000000000000LL, 0};
    CHECK(dec_snap_to_tick(D("0.123456789012345678"), tiny,
                           zero, DEC_ROUND_DOWN, &r) == DEC_OK);
    check_str(r, "0.123456789012345678");
    CHECK(dec_floor_to_step(huge, D("0.001"), &r) == DEC_OK && r.units == huge.units &&
          r.scale == 0);
    CHECK(dec_floor_to_step(huge, D("7"), &r) == DEC_OK && r.units == 9199999999999999995LL);
    struct dec maxd = {INT64_MAX, 0};
    CHECK(dec_snap_to_tick(maxd, D("10"), zero, DEC_ROUND_UP, &r) == DEC_ERANGE);
    CHECK(dec_snap_to_tick(maxd, D("10"), zero, DEC_ROUND_DOWN, &r) == DEC_OK &&
          r.units == 9223372036854775800LL);
    struct dec maxfrac = {INT64_MAX, 18};
    CHECK(dec_snap_to_tick(maxfrac, tiny, zero, DEC_ROUND_NEAREST, &r) == DEC_OK &&
          r.units == INT64_MAX && r.scale == 18);
    CHECK(dec_snap_to_tick(maxfrac, D("0.5"), zero, DEC_ROUND_UP, &r) == DEC_OK);
    check_str(r, "9.5");
}

/* ---- exchange filters ---- */

static void test_check_cases(void)
{
    struct dec_filters f = th_btc_filters();
    CHECK(dec_check_order(&f, D("30000.1"), D("0.004"), 0, 0) == DEC_CHECK_OK);
    CHECK(dec_check_order(&f, D("30000.15"), D("0.004"), 0, 0) == DEC_CHECK_PRICE_NOT_TICK);
    CHECK(dec_check_order(&f, D("500"), D("1"), 0, 0) == DEC_CHECK_PRICE_BELOW_MIN);
    CHECK(dec_check_order(&f, D("0"), D("1"), 0, 0) == DEC_CHECK_PRICE_BELOW_MIN);
    CHECK(dec_check_order(&f, D("5000000"), D("1"), 0, 0) == DEC_CHECK_PRICE_ABOVE_MAX);
    CHECK(dec_check_order(&f, D("30000"), D("0"), 0, 0) == DEC_CHECK_QTY_ZERO);
    CHECK(dec_check_order(&f, D("30000"), D("-1"), 0, 0) == DEC_CHECK_QTY_ZERO);
    CHECK(dec_check_order(&f, D("30000"), D("0.0005"), 0, 0) == DEC_CHECK_QTY_BELOW_MIN);
    CHECK(dec_check_order(&f, D("30000"), D("1000.001"), 0, 0) == DEC_CHECK_QTY_ABOVE_MAX);
    CHECK(dec_check_order(&f, D("30000"), D("0.0045"), 0, 0) == DEC_CHECK_QTY_NOT_STEP);
    /* 30000 * 0.003 = 90 < 100 */
    CHECK(dec_check_order(&f, D("30000"), D("0.003"), 0, 0) == DEC_CHECK_NOTIONAL);
    CHECK(dec_check_order(&f, D("30000"), D("0.003"), 0, 1) == DEC_CHECK_OK); /* reduce-only */
    /* Exactly the minimum notional passes: 25000 * 0.004 = 100. */
    CHECK(dec_check_order(&f, D("25000"), D("0.004"), 0, 0) == DEC_CHECK_OK);
    CHECK(dec_check_order(&f, D("24999.9"), D("0.004"), 0, 0) == DEC_CHECK_NOTIONAL);
    /* MARKET uses MARKET_LOT_SIZE and ignores the price filter. */
    CHECK(dec_check_order(&f, D("30000.15"), D("121"), 1, 0) == DEC_CHECK_QTY_ABOVE_MAX);
    CHECK(dec_check_order(&f, D("30000.15"), D("119"), 1, 0) == DEC_CHECK_OK);
    CHECK(dec_check_order(&f, D("0"), D("0.001"), 1, 0) == DEC_CHECK_OK); /* no reference */
    /* Zero disables a rule. */
    f.tick = D("0");
    f.max_price = D("0");
    f.min_notional = D("0");
    CHECK(dec_check_order(&f, D("9000000.123"), D("0.001"), 0, 0) == DEC_CHECK_OK);
    /* A min_price off the tick grid moves the grid. */
    f = th_btc_filters();
    f.min_price = D("0.05");
    CHECK(dec_check_order(&f, D("30000.05"), D("0.01"), 0, 0) == DEC_CHECK_OK);
    CHECK(dec_check_order(&f, D("30000.1"), D("0.01"), 0, 0) == DEC_CHECK_PRICE_NOT_TICK);

    struct dec p, q;
    f = th_btc_filters();
    CHECK(dec_fit_order(&f, D("30000.17"), D("0.12345"), 0, 0, DEC_ROUND_DOWN, &p, &q) ==
          DEC_CHECK_OK);
    check_str(p, "30000.1");
    check_str(q, "0.123");
    CHECK(dec_fit_order(&f, D("30000.17"), D("0.12345"), 0, 0, DEC_ROUND_UP, &p, &q) ==
          DEC_CHECK_OK);
    check_str(p, "30000.2");
    CHECK(dec_fit_order(&f, D("30000"), D("5000.7"), 0, 0, DEC_ROUND_DOWN, &p, &q) ==
          DEC_CHECK_OK);
    check_str(q, "1000.000"); /* at the step's precision */
    CHECK(dec_fit_order(&f, D("30000"), D("0.0039"), 0, 0, DEC_ROUND_DOWN, &p, &q) ==
          DEC_CHECK_NOTIONAL);
    check_str(q, "0.003");
    CHECK(dec_fit_order(&f, D("30000"), D("0.0009"), 0, 0, DEC_ROUND_DOWN, &p, &q) ==
          DEC_CHECK_QTY_BELOW_MIN);
    CHECK(dec_fit_order(&f, D("30000.123"), D("500"), 1, 0, DEC_ROUND_DOWN, &p, &q) ==
          DEC_CHECK_OK);
    check_str(q, "120.000");
    check_str(p, "30000.123"); /* MARKET: the price is only a reference */
}

/* An independent check_order on the reference grid, for generated orders. */
static int ref_check(const struct dec_filters *f, struct dec price, struct dec qty)
{
    i128 p = grid(price), q = grid(qty);
    if (q <= 0)
        return DEC_CHECK_QTY_ZERO;
    if (p <= 0 || p < grid(f->min_price))
        return DEC_CHECK_PRICE_BELOW_MIN;
    if (p > grid(f->max_price))
        return DEC_CHECK_PRICE_ABOVE_MAX;
    if ((p - grid(f->min_price)) % grid(f->tick) != 0)
        return DEC_CHECK_PRICE_NOT_TICK;
    if (q < grid(f->min_qty))
        return DEC_CHECK_QTY_BELOW_MIN;
    if (q > grid(f->max_qty))
        return DEC_CHECK_QTY_ABOVE_MAX;
    if ((q - grid(f->min_qty)) % grid(f->step) != 0)
        return DEC_CHECK_QTY_NOT_STEP;
    /* p*q on grid 36 would overflow: compare p*q/10^18 >= notional using floor and remainder */
    i128 nq = grid(f->min_notional);
    i128 pq_hi = (p / p10(9)) * (q / p10(9)); /* exact when both are multiples of 1e-9 */
    return pq_hi >= nq ? DEC_CHECK_OK : DEC_CHECK_NOTIONAL;
}

static void test_check_generated(void)
{
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        struct dec_filters f;
        memset(&f, 0, sizeof f);
        f.tick = D(ticks[rng() % 6]);
        f.step = D(steps[rng() % 4]);
        f.min_price = f.tick;
        f.max_price = dec_from_int(1000000);
        f.min_qty = f.step;
        f.max_qty = dec_from_int(100000);
        f.min_notional = dec_from_int(rng_range(1, 100));
        /* Prices and quantities with at most 9 decimals, so the reference product is exact. */
        struct dec price = {rng_range(-10, 2000000000LL), (int)rng_range(0, 9)};
        struct dec qty = {rng_range(-10, 2000000000LL), (int)rng_range(0, 9)};
        if (rng() % 2) { /* half of them on the grid, so the later rules are reached too */
            if (dec_snap_to_tick(price, f.tick, f.min_price, DEC_ROUND_NEAREST, &price) !=
                    DEC_OK ||
                dec_floor_to_step(qty, f.step, &qty) != DEC_OK)
                bad++;
        }
        int got = dec_check_order(&f, price, qty, 0, 0), want = ref_check(&f, price, qty);
        if (got != want) {
            char b1[DEC_STR_MAX], b2[DEC_STR_MAX];
            if (bad++ < 5)
                fprintf(stderr, "check %s x %s: got %d want %d\n", fmt(price, b1),
                        fmt(qty, b2), got, want);
        }
    }
    CHECK(bad == 0);
}

/* dec_trim_text: decimal text wider than a struct dec, as a DECIMAL(40,18) column gives it */
static void test_trim_text(void)
{
    static const char *const cases[][2] = {
        {"12.340000000000000000", "12.34"}, {"5.000000000000000000", "5"},
        {"-0.000000000000000000", "0"},     {"-1.250000000000000000", "-1.25"},
        {"1234567890123456789012.5", "1234567890123456789012.5"},
        {"100", "100"},                     {"0.000000000000000001", "0.000000000000000001"},
        {"", ""},                           {"abc.00", "abc.00"},
    };
    char out[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dec_trim_text(cases[i][0], out, sizeof out);
        CHECK_EQ_STR(out, cases[i][1]);
    }
    dec_trim_text("1.500", out, 4); /* cut to cap ("1.5"), then trimmed */
    CHECK_EQ_STR(out, "1.5");
}

int main(void)
{
    test_trim_text();
    test_parse_accepts();
    test_parse_refuses();
    test_format();
    test_roundtrip_generated();
    test_cmp_add_sub();
    test_mul_div();
    test_rescale_normalize();
    test_snap_generated();
    test_floor_generated();
    test_grid_cases();
    test_check_cases();
    test_check_generated();
    return th_done();
}
