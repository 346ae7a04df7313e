/* decimal: Binance's decimal strings as exact scaled 64-bit integers.
 *
 * A struct dec is units / 10^scale, with 0 <= scale <= DEC_MAX_SCALE. Parsing keeps every
 * digit the exchange sent ("0.01000" has scale 5) and refuses what it cannot hold exactly
 * (more than 18 fractional digits, more than 18 significant digits, exponents, junk), so a
 * price or a quantity is never rounded by accident. Arithmetic widens to __int128 and reports
 * overflow instead of wrapping. Money never passes through a double anywhere in bfq.
 *
 * The filter helpers implement the rules of Binance's PRICE_FILTER, LOT_SIZE and MIN_NOTIONAL
 * for any tick or step (0.1, 0.00025, 0.005, 0.5, 10, ...). */
#ifndef BFQ_DECIMAL_H
#define BFQ_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#define DEC_MAX_SCALE 18
#define DEC_STR_MAX 48 /* enough for any formatted struct dec, with sign and NUL */

struct dec {
    int64_t units;
    int scale;
};

enum dec_status {
    DEC_OK = 0,
    DEC_ESYNTAX = -1,   /* not a decimal number */
    DEC_ERANGE = -2,    /* too many digits or overflow */
    DEC_EZERO = -3,     /* step or tick is zero or negative */
};

/* DOWN toward minus infinity, UP toward plus infinity, NEAREST with halves toward plus
 * infinity (for the positive prices and quantities of orders, DOWN is toward zero). */
enum dec_round { DEC_ROUND_DOWN, DEC_ROUND_UP, DEC_ROUND_NEAREST };

/* Parses s[0..len) ("-12.3400", "0", "-0"; ".5", "5.", "+1", "01", "1e5" and spaces are
 * DEC_ESYNTAX; more than 18 fractional or 18 significant digits are DEC_ERANGE).
 * len may be (size_t)-1 for a NUL-terminated string. */
enum dec_status dec_parse(const char *s, size_t len, struct dec *out)
    __attribute__((warn_unused_result));

/* Writes d with exactly d.scale fractional digits ("0.01000"). Returns the length, or -1 if
 * cap is too small (use DEC_STR_MAX). */
int dec_format(struct dec d, char *buf, size_t cap);

/* Writes d with trailing fractional zeros removed ("0.01", "10"). */
int dec_format_trim(struct dec d, char *buf, size_t cap);
/* The same trimming on decimal text of any length (a DECIMAL(40,18) column's "12.340000..."
 * -> "12.34", "5.000" -> "5", "-0.0" -> "0"), copied into out (cut to cap); other text is
 * copied as it is. For values wider than a struct dec, such as sums from a database. */
void dec_trim_text(const char *s, char *out, size_t cap);

/* Writes d rounded as asked to exactly `scale` fractional digits (zeros padded). */
int dec_format_scale(struct dec d, int scale, enum dec_round mode, char *buf, size_t cap);

struct dec dec_from_int(int64_t v);

/* Same value at a larger scale; DEC_ERANGE when it would overflow. */
enum dec_status dec_rescale(struct dec d, int scale, struct dec *out)
    __attribute__((warn_unused_result));

/* Removes trailing fractional zeros (1.500 -> 1.5). */
struct dec dec_normalize(struct dec d);

int dec_cmp(struct dec a, struct dec b); /* -1, 0, 1; exact across scales */
int dec_sign(struct dec d);
int dec_is_zero(struct dec d);
struct dec dec_neg(struct dec d);
struct dec dec_abs(struct dec d);

enum dec_status dec_add(struct dec a, struct dec b, struct dec *out) __attribute__((warn_unused_result));
enum dec_status dec_sub(struct dec a, struct dec b, struct dec *out) __attribute__((warn_unused_result));
/* Exact product when it fits (scale a.scale + b.scale, trimmed if over DEC_MAX_SCALE by
 * dropping zero digits only); DEC_ERANGE otherwise. */
enum dec_status dec_mul(struct dec a, struct dec b, struct dec *out) __attribute__((warn_unused_result));
/* a / b to `scale` fractional digits, rounded as asked. DEC_EZERO when b is zero. */
enum dec_status dec_div(struct dec a, struct dec b, int scale, enum dec_round mode, struct dec *out)
    __attribute__((warn_unused_result));

/* Greatest multiple of step not above |qty|, sign kept (quantities floor toward zero).
 * DEC_EZERO for a step <= 0. */
enum dec_status dec_floor_to_step(struct dec qty, struct dec step, struct dec *out)
    __attribute__((warn_unused_result));

/* price moved onto the grid min_price + k*tick (min_price may be zero), rounded as asked
 * (NEAREST rounds halves up). */
enum dec_status dec_snap_to_tick(struct dec price, struct dec tick, struct dec min_price,
                                 enum dec_round mode, struct dec *out)
    __attribute__((warn_unused_result));

/* Nonzero when (v - base) is an exact multiple of step. */
int dec_is_multiple(struct dec v, struct dec base, struct dec step);

/* A symbol's trading filters as exchangeInfo gives them. A zero field disables its rule, as
 * Binance documents for PRICE_FILTER (a zero step or tick skips the multiple check). */
struct dec_filters {
    struct dec tick, min_price, max_price;           /* PRICE_FILTER */
    struct dec step, min_qty, max_qty;               /* LOT_SIZE */
    struct dec market_step, market_min_qty, market_max_qty; /* MARKET_LOT_SIZE */
    struct dec min_notional;                          /* MIN_NOTIONAL.notional */
};

/* Why an order breaks a filter, with the Binance error code each maps to. */
enum dec_check {
    DEC_CHECK_OK = 0,
    DEC_CHECK_QTY_ZERO = -4003,        /* quantity <= 0 */
    DEC_CHECK_QTY_BELOW_MIN = -4004,
    DEC_CHECK_QTY_ABOVE_MAX = -4005,
    DEC_CHECK_PRICE_BELOW_MIN = -4013,
    DEC_CHECK_PRICE_NOT_TICK = -4014,
    DEC_CHECK_PRICE_ABOVE_MAX = -4016,
    DEC_CHECK_QTY_NOT_STEP = -4023,
    DEC_CHECK_NOTIONAL = -4164,
};

/* Checks a LIMIT order (market = 0) or a MARKET order (market = 1, using the MARKET_LOT_SIZE
 * fields and `price` as the reference price for the notional). reduce_only exempts the
 * minimum notional, as Binance does. */
enum dec_check dec_check_order(const struct dec_filters *f, struct dec price, struct dec qty,
                               int market, int reduce_only);

/* Turns a wanted quantity and price into one that passes every filter: quantity floored to
 * the step and capped at maxQty, price snapped to the tick in `mode`. Returns DEC_CHECK_OK or
 * the rule the result still breaks (e.g. below minQty or the minimum notional). */
enum dec_check dec_fit_order(const struct dec_filters *f, struct dec price, struct dec qty,
                             int market, int reduce_only, enum dec_round price_mode,
                             struct dec *price_out, struct dec *qty_out);

#endif
