/* sizing: how much to order, exactly (pure, no I/O).
 *
 * A strategy asks for a notional (say 100 USDT) at a price; sizing turns it into quantities
 * the exchange accepts: notional / price floored to the step (LOT_SIZE for LIMIT,
 * MARKET_LOT_SIZE for MARKET, falling back to LOT_SIZE where the market filter is absent), at
 * least minQty, at least the minimum notional (unless reduce-only), then split into parts of at
 * most maxQty of that filter. A remainder too small to be an order on its own is dropped and
 * counted in `dropped` (never rounded up: an order is never larger than asked). A quantity
 * (closing a position) goes through the same split. Never a double. */
#ifndef BFQ_SIZING_H
#define BFQ_SIZING_H

#include "core/decimal.h"

#define SIZE_PARTS_MAX 16

enum size_result {
    SIZE_OK = 0,
    SIZE_BAD_PRICE,          /* price <= 0 */
    SIZE_BELOW_MIN_QTY,      /* the floored quantity is below minQty (or zero) */
    SIZE_BELOW_MIN_NOTIONAL, /* quantity * price below the minimum notional */
    SIZE_TOO_MANY_PARTS,     /* more than SIZE_PARTS_MAX parts of maxQty */
    SIZE_OVERFLOW,           /* the arithmetic does not fit */
    SIZE_RESULT_COUNT
};

struct size_plan {
    struct dec qty[SIZE_PARTS_MAX]; /* each part, every filter obeyed */
    int parts;
    struct dec total;   /* sum of the parts */
    struct dec dropped; /* remainder left out (zero usually) */
};

/* Sizes a notional at price. market selects the MARKET_LOT_SIZE filter. */
enum size_result size_notional(const struct dec_filters *f, struct dec notional, struct dec price,
                               int market, int reduce_only, struct size_plan *out);

/* Splits a quantity (floored to the step first) as above; price is the reference for the
 * minimum notional (ignored when reduce_only). */
enum size_result size_qty(const struct dec_filters *f, struct dec qty, struct dec price, int market,
                          int reduce_only, struct size_plan *out);

/* Short reason ("below_min_qty") for counters and denials. */
const char *size_result_name(enum size_result r);

#endif
