/* convert: the maker->taker conversion of `bfq sweeper` (pure, no I/O, exact decimals).
 *
 * A maker open order (`mo`) left resting too long gives part of what it has left to a taker
 * order (class `cv`): pct percent of its remainder (origQty - executedQty), floored to the
 * step, at least minQty and the minimum notional (trader/sizing), split by maxQty. The taker
 * order is an IOC LIMIT at a bounded price: the best ask * (1 + slip/100) to buy, the best
 * bid * (1 - slip/100) to sell, snapped to the tick inside the bound (down to buy, up to
 * sell); or a MARKET order when configured (the bound is then only the notional's reference). */
#ifndef BFQ_CONVERT_H
#define BFQ_CONVERT_H

#include "core/decimal.h"
#include "trader/intent.h"
#include "trader/sizing.h"

struct convert_params {
    struct dec pct;      /* of the remainder, (0, 100] */
    struct dec slip_pct; /* the price bound, >= 0 */
    int market;          /* MARKET instead of IOC LIMIT */
};

enum convert_result {
    CONVERT_OK = 0,
    CONVERT_NOTHING_LEFT, /* the order has no remainder */
    CONVERT_NO_BOOK,      /* no bid or ask to bound the price */
    CONVERT_TOO_SMALL,    /* below minQty or the minimum notional (out->size says which) */
    CONVERT_BAD,          /* arithmetic overflow or a bad price */
};

struct convert_out {
    struct dec price;      /* the IOC LIMIT price bound (the reference price for MARKET) */
    struct size_plan plan; /* the quantities, one order each */
    enum size_result size; /* sizing's answer, for the skip reason */
};

/* Plans the conversion of an order of side with origQty orig and executedQty executed, at the
 * book (bid, ask). Returns CONVERT_OK with *out filled, or why not. */
enum convert_result convert_plan(const struct dec_filters *f, enum intent_side side,
                                 struct dec orig, struct dec executed, struct dec bid,
                                 struct dec ask, const struct convert_params *p,
                                 struct convert_out *out);

/* Short reason ("too_small", "no_book") for counters and logs. */
const char *convert_result_name(enum convert_result r);

#endif
