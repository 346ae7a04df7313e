/* decimal: exact scaled 64-bit decimals (see decimal.h).
 *
 * Every computation widens to __int128: two int64 units multiplied, or one multiplied by 10^18,
 * always fit (|x| < 2^63 * 10^18 < 2^127), and 10^36 fits too. Results must come back inside
 * the symmetric range [-INT64_MAX, INT64_MAX]; anything else is DEC_ERANGE, never a wrap.
 * When a result would not fit at the scale asked, trailing zero digits are dropped first
 * (the value stays exact), only then is it refused.
 *
 * Rounding modes: DEC_ROUND_DOWN goes toward minus infinity, DEC_ROUND_UP toward plus infinity,
 * DEC_ROUND_NEAREST to the nearest, halves toward plus infinity. For the positive prices and
 * quantities bfq handles, DOWN is also "toward zero". dec_floor_to_step alone truncates toward
 * zero for negative quantities (a short position's size floors like a long one's). */
#include "core/decimal.h"

#include <stdio.h>
#include <string.h>

typedef __int128 i128;

#define DEC_MAX_DIGITS 18 /* significant digits a parsed string may hold */

static const int64_t pow10_tab[19] = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL,
};

/* 10^n for 0 <= n <= 36. */
static i128 pow10_128(int n)
{
    if (n <= 18)
        return pow10_tab[n];
    return (i128)pow10_tab[18] * pow10_tab[n - 18];
}

static int fits64(i128 v)
{
    return v <= (i128)INT64_MAX && v >= -(i128)INT64_MAX;
}

/* Floor division for any signs (C's / truncates). d > 0. */
static i128 div_floor(i128 n, i128 d)
{
    i128 q = n / d;
    if ((n % d != 0) && (n < 0))
        q--;
    return q;
}

/* n / d rounded as asked; d > 0. */
static i128 div_round(i128 n, i128 d, enum dec_round mode)
{
    switch (mode) {
    case DEC_ROUND_DOWN:
        return div_floor(n, d);
    case DEC_ROUND_UP:
        return -div_floor(-n, d);
    case DEC_ROUND_NEAREST:
    default: {
        /* floor(n/d + 1/2), without doubling n (which may be near 2^126). */
        i128 q = div_floor(n, d);
        i128 r = n - q * d; /* 0 <= r < d, and d < 2^124 */
        return 2 * r >= d ? q + 1 : q;
    }
    }
}

/* Stores v / 10^scale into out, dropping trailing zero digits while it does not fit. */
static enum dec_status from128(i128 v, int scale, struct dec *out)
{
    while ((scale > DEC_MAX_SCALE || !fits64(v)) && scale > 0 && v % 10 == 0) {
        v /= 10;
        scale--;
    }
    if (scale > DEC_MAX_SCALE || !fits64(v))
        return DEC_ERANGE;
    out->units = (int64_t)v;
    out->scale = scale;
    return DEC_OK;
}

/* d's units at a scale s >= d.scale (s - d.scale <= 36). */
static i128 units_at(struct dec d, int s)
{
    return (i128)d.units * pow10_128(s - d.scale);
}

static int valid_scale(int s)
{
    return s >= 0 && s <= DEC_MAX_SCALE;
}

/* Compares a / 10^sa with b / 10^sb without overflow (0 <= sa, sb <= 36). */
static int cmp_scaled(i128 a, int sa, i128 b, int sb)
{
    if (sa < sb)
        return -cmp_scaled(b, sb, a, sa);
    if (sa > sb) {
        i128 p = pow10_128(sa - sb);
        i128 q = div_floor(a, p);
        if (q != b)
            return q < b ? -1 : 1;
        return a - q * p > 0 ? 1 : 0;
    }
    return a < b ? -1 : (a > b ? 1 : 0);
}

/* ---- parsing and formatting ---- */

/* Checks the grammar -?(0|[1-9][0-9]*)(\.[0-9]+)? and finds the parts. */
static int parse_shape(const char *s, size_t len, size_t *int_start, size_t *int_len,
                       size_t *frac_len)
{
    size_t i = 0;
    if (i < len && s[i] == '-')
        i++;
    *int_start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    *int_len = i - *int_start;
    if (*int_len == 0 || (*int_len > 1 && s[*int_start] == '0'))
        return -1;
    *frac_len = 0;
    if (i < len && s[i] == '.') {
        size_t f = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        *frac_len = i - f;
        if (*frac_len == 0)
            return -1;
    }
    return i == len ? 0 : -1;
}

enum dec_status dec_parse(const char *s, size_t len, struct dec *out)
{
    size_t int_start, int_len, frac_len;
    if (s == NULL)
        return DEC_ESYNTAX;
    if (len == (size_t)-1)
        len = strlen(s);
    if (parse_shape(s, len, &int_start, &int_len, &frac_len) != 0)
        return DEC_ESYNTAX;
    if (frac_len > DEC_MAX_SCALE)
        return DEC_ERANGE;
    int64_t units = 0;
    int sig = 0;
    size_t end = int_start + int_len + (frac_len ? frac_len + 1 : 0);
    for (size_t i = int_start; i < end; i++) {
        if (s[i] == '.')
            continue;
        if (sig > 0 || s[i] != '0')
            sig++;
        if (sig > DEC_MAX_DIGITS)
            return DEC_ERANGE;
        units = units * 10 + (s[i] - '0');
    }
    out->units = s[0] == '-' ? -units : units;
    out->scale = (int)frac_len;
    return DEC_OK;
}

/* Writes the digits of mag / 10^scale with exactly `scale` fractional digits. */
static int format_mag(int neg, uint64_t mag, int scale, char *buf, size_t cap)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + mag % 10);
        mag /= 10;
    } while (mag > 0);
    while (n < scale + 1)
        digits[n++] = '0';
    size_t need = (size_t)(neg + n + (scale > 0 ? 1 : 0));
    if (need + 1 > cap)
        return -1;
    size_t o = 0;
    if (neg)
        buf[o++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        buf[o++] = digits[i];
        if (i == scale && scale > 0)
            buf[o++] = '.';
    }
    buf[o] = '\0';
    return (int)o;
}

int dec_format(struct dec d, char *buf, size_t cap)
{
    if (!valid_scale(d.scale) || buf == NULL)
        return -1;
    uint64_t mag = d.units < 0 ? (uint64_t)0 - (uint64_t)d.units : (uint64_t)d.units;
    return format_mag(d.units < 0, mag, d.scale, buf, cap);
}

int dec_format_trim(struct dec d, char *buf, size_t cap)
{
    return dec_format(dec_normalize(d), buf, cap);
}

int dec_format_scale(struct dec d, int scale, enum dec_round mode, char *buf, size_t cap)
{
    if (!valid_scale(d.scale) || !valid_scale(scale))
        return -1;
    if (scale >= d.scale) {
        /* Padding with zeros: textual, so it cannot overflow. */
        int n = dec_format(d, buf, cap);
        if (n < 0)
            return -1;
        int pad = scale - d.scale;
        size_t need = (size_t)n + (size_t)pad + (d.scale == 0 && pad > 0 ? 1 : 0);
        if (need + 1 > cap)
            return -1;
        if (d.scale == 0 && pad > 0)
            buf[n++] = '.';
        memset(buf + n, '0', (size_t)pad);
        n += pad;
        buf[n] = '\0';
        return n;
    }
    i128 q = div_round(d.units, pow10_tab[d.scale - scale], mode);
    /* |q| <= |units| rounded, so it fits in uint64 magnitude. */
    uint64_t mag = q < 0 ? (uint64_t)(-q) : (uint64_t)q;
    return format_mag(q < 0, mag, scale, buf, cap);
}

/* ---- basic operations ---- */

struct dec dec_from_int(int64_t v)
{
    struct dec d = {v, 0};
    return d;
}

enum dec_status dec_rescale(struct dec d, int scale, struct dec *out)
{
    if (!valid_scale(scale) || !valid_scale(d.scale))
        return DEC_ERANGE;
    if (scale < d.scale) {
        int64_t p = pow10_tab[d.scale - scale];
        if (d.units % p != 0)
            return DEC_ERANGE;
        out->units = d.units / p;
        out->scale = scale;
        return DEC_OK;
    }
    i128 v = units_at(d, scale);
    if (!fits64(v))
        return DEC_ERANGE;
    out->units = (int64_t)v;
    out->scale = scale;
    return DEC_OK;
}

struct dec dec_normalize(struct dec d)
{
    while (d.scale > 0 && d.units % 10 == 0) {
        d.units /= 10;
        d.scale--;
    }
    if (d.units == 0)
        d.scale = 0;
    return d;
}

int dec_cmp(struct dec a, struct dec b)
{
    return cmp_scaled(a.units, a.scale, b.units, b.scale);
}

int dec_sign(struct dec d)
{
    return d.units < 0 ? -1 : (d.units > 0 ? 1 : 0);
}

int dec_is_zero(struct dec d)
{
    return d.units == 0;
}

/* INT64_MIN has no positive counterpart: saturate rather than invoke undefined behaviour. */
struct dec dec_neg(struct dec d)
{
    d.units = d.units == INT64_MIN ? INT64_MAX : -d.units;
    return d;
}

struct dec dec_abs(struct dec d)
{
    return d.units < 0 ? dec_neg(d) : d;
}

enum dec_status dec_add(struct dec a, struct dec b, struct dec *out)
{
    if (!valid_scale(a.scale) || !valid_scale(b.scale))
        return DEC_ERANGE;
    int s = a.scale > b.scale ? a.scale : b.scale;
    return from128(units_at(a, s) + units_at(b, s), s, out);
}

enum dec_status dec_sub(struct dec a, struct dec b, struct dec *out)
{
    if (!valid_scale(a.scale) || !valid_scale(b.scale))
        return DEC_ERANGE;
    int s = a.scale > b.scale ? a.scale : b.scale;
    return from128(units_at(a, s) - units_at(b, s), s, out);
}

enum dec_status dec_mul(struct dec a, struct dec b, struct dec *out)
{
    if (!valid_scale(a.scale) || !valid_scale(b.scale))
        return DEC_ERANGE;
    return from128((i128)a.units * b.units, a.scale + b.scale, out);
}

enum dec_status dec_div(struct dec a, struct dec b, int scale, enum dec_round mode,
                        struct dec *out)
{
    if (b.units == 0)
        return DEC_EZERO;
    if (!valid_scale(a.scale) || !valid_scale(b.scale) || !valid_scale(scale))
        return DEC_ERANGE;
    /* result units = a.units * 10^(scale + b.scale - a.scale) / b.units */
    int e = scale + b.scale - a.scale;
    i128 n = a.units, d = b.units;
    if (e >= 0) {
        i128 p = pow10_128(e);
        /* A numerator beyond 2^126 would give a quotient beyond int64 anyway. */
        i128 lim = ((i128)1 << 126) / p;
        if (n > lim || n < -lim)
            return DEC_ERANGE;
        n *= p;
    } else {
        d *= pow10_128(-e);
    }
    if (d < 0) {
        n = -n;
        d = -d;
    }
    i128 q = div_round(n, d, mode);
    if (!fits64(q))
        return DEC_ERANGE;
    out->units = (int64_t)q;
    out->scale = scale;
    return DEC_OK;
}

/* ---- grids ---- */

enum dec_status dec_floor_to_step(struct dec qty, struct dec step, struct dec *out)
{
    if (step.units <= 0)
        return DEC_EZERO;
    if (!valid_scale(qty.scale) || !valid_scale(step.scale))
        return DEC_ERANGE;
    struct dec sn = dec_normalize(step);
    int s = qty.scale > sn.scale ? qty.scale : sn.scale;
    i128 q = units_at(qty, s), st = units_at(sn, s);
    i128 k = q / st; /* truncates toward zero */
    /* k * step at the step's own scale; from128 trims zeros if it must. */
    return from128(k * sn.units, sn.scale, out);
}

enum dec_status dec_snap_to_tick(struct dec price, struct dec tick, struct dec min_price,
                                 enum dec_round mode, struct dec *out)
{
    if (tick.units <= 0)
        return DEC_EZERO;
    if (!valid_scale(price.scale) || !valid_scale(tick.scale) || !valid_scale(min_price.scale))
        return DEC_ERANGE;
    struct dec tn = dec_normalize(tick), mn = dec_normalize(min_price);
    int s = price.scale;
    if (tn.scale > s)
        s = tn.scale;
    if (mn.scale > s)
        s = mn.scale;
    i128 p = units_at(price, s), t = units_at(tn, s), m = units_at(mn, s);
    i128 k = div_round(p - m, t, mode);
    /* The grid point is exact at the larger of the tick's and base's scales. */
    int so = tn.scale > mn.scale ? tn.scale : mn.scale;
    i128 r = units_at(mn, so) + k * units_at(tn, so);
    return from128(r, so, out);
}

int dec_is_multiple(struct dec v, struct dec base, struct dec step)
{
    if (step.units <= 0 || !valid_scale(v.scale) || !valid_scale(base.scale) ||
        !valid_scale(step.scale))
        return 0;
    int s = v.scale;
    if (base.scale > s)
        s = base.scale;
    if (step.scale > s)
        s = step.scale;
    return (units_at(v, s) - units_at(base, s)) % units_at(step, s) == 0;
}

/* ---- exchange filters ---- */

static enum dec_check check_price(const struct dec_filters *f, struct dec price)
{
    if (dec_sign(price) <= 0)
        return DEC_CHECK_PRICE_BELOW_MIN;
    if (dec_sign(f->min_price) > 0 && dec_cmp(price, f->min_price) < 0)
        return DEC_CHECK_PRICE_BELOW_MIN;
    if (dec_sign(f->max_price) > 0 && dec_cmp(price, f->max_price) > 0)
        return DEC_CHECK_PRICE_ABOVE_MAX;
    if (dec_sign(f->tick) > 0 && !dec_is_multiple(price, f->min_price, f->tick))
        return DEC_CHECK_PRICE_NOT_TICK;
    return DEC_CHECK_OK;
}

struct lot {
    struct dec step, min, max;
};

static struct lot lot_of(const struct dec_filters *f, int market)
{
    struct lot l = {f->step, f->min_qty, f->max_qty};
    if (market) {
        l.step = f->market_step;
        l.min = f->market_min_qty;
        l.max = f->market_max_qty;
    }
    return l;
}

static enum dec_check check_lot(const struct lot *l, struct dec qty)
{
    if (dec_sign(l->min) > 0 && dec_cmp(qty, l->min) < 0)
        return DEC_CHECK_QTY_BELOW_MIN;
    if (dec_sign(l->max) > 0 && dec_cmp(qty, l->max) > 0)
        return DEC_CHECK_QTY_ABOVE_MAX;
    if (dec_sign(l->step) > 0 && !dec_is_multiple(qty, l->min, l->step))
        return DEC_CHECK_QTY_NOT_STEP;
    return DEC_CHECK_OK;
}

/* price * qty >= notional, compared exactly (the product may need up to 36 digits of scale). */
static int notional_ok(struct dec price, struct dec qty, struct dec notional)
{
    i128 prod = (i128)price.units * qty.units;
    return cmp_scaled(prod, price.scale + qty.scale, notional.units, notional.scale) >= 0;
}

/* Order of checks: quantity sign, price (LIMIT only), lot size, notional. A MARKET order with
 * no reference price (price <= 0) skips the notional rule: nothing to compare. */
enum dec_check dec_check_order(const struct dec_filters *f, struct dec price, struct dec qty,
                               int market, int reduce_only)
{
    if (!valid_scale(price.scale) || !valid_scale(qty.scale))
        return DEC_CHECK_QTY_NOT_STEP;
    if (dec_sign(qty) <= 0)
        return DEC_CHECK_QTY_ZERO;
    enum dec_check c;
    if (!market) {
        c = check_price(f, price);
        if (c != DEC_CHECK_OK)
            return c;
    }
    struct lot l = lot_of(f, market);
    c = check_lot(&l, qty);
    if (c != DEC_CHECK_OK)
        return c;
    if (!reduce_only && dec_sign(f->min_notional) > 0 && dec_sign(price) > 0 &&
        !notional_ok(price, qty, f->min_notional))
        return DEC_CHECK_NOTIONAL;
    return DEC_CHECK_OK;
}

enum dec_check dec_fit_order(const struct dec_filters *f, struct dec price, struct dec qty,
                             int market, int reduce_only, enum dec_round price_mode,
                             struct dec *price_out, struct dec *qty_out)
{
    struct lot l = lot_of(f, market);
    struct dec q = qty, p = price;
    if (dec_sign(l.max) > 0 && dec_cmp(q, l.max) > 0)
        q = l.max;
    /* Below minQty (or not positive) there is nothing to fit: the check will say so. */
    if (dec_sign(l.step) > 0 && dec_sign(q) > 0 && dec_cmp(q, l.min) >= 0 &&
        dec_snap_to_tick(q, l.step, l.min, DEC_ROUND_DOWN, &q) != DEC_OK)
        return DEC_CHECK_QTY_NOT_STEP;
    if (!market && dec_sign(f->tick) > 0 &&
        dec_snap_to_tick(p, f->tick, f->min_price, price_mode, &p) != DEC_OK)
        return DEC_CHECK_PRICE_NOT_TICK;
    *price_out = p;
    *qty_out = q;
    return dec_check_order(f, p, q, market, reduce_only);
}

void dec_trim_text(const char *s, char *out, size_t cap)
{
    if (!cap) return;
    snprintf(out, cap, "%s", s ? s : "");
    char *dot = strchr(out, '.');
    if (dot && strspn(out + (out[0] == '-'), "0123456789.") == strlen(out + (out[0] == '-'))) {
        char *e = out + strlen(out) - 1;
        while (e > dot && *e == '0') *e-- = 0;
        if (e == dot) *e = 0;
    }
    if (!strcmp(out, "-0")) snprintf(out, cap, "0");
}
