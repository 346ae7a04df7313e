/* breaker: a circuit breaker's confirmation rule and the live account figures it watches
 * (pure, no I/O, exact decimals).
 *
 * A breaker trips when its condition has held without a break for its confirmation time;
 * a condition that clears resets it (and re-arms a tripped one). The figures: the total
 * unrealized PnL of one-way positions against the book's mid (sum of amt * (mid - entry)),
 * and the drawdown of equity (wallet + uPnL) from its peak, in percent. */
#ifndef BFQ_BREAKER_H
#define BFQ_BREAKER_H

#include <stdint.h>

#include "core/decimal.h"

struct breaker {
    int64_t confirm_ms;
    int64_t since; /* when the condition began to hold, 0 when it does not */
    int tripped;
};

/* Feeds the condition at now_ms. Returns 1 exactly once per episode: when it has held for
 * confirm_ms (then tripped stays set until the condition clears), else 0. */
int breaker_update(struct breaker *b, int holds, int64_t now_ms);

/* Adds amt * (mid - entry) to *upnl, mid = (bid + ask) / 2. Returns 0, or -1 on overflow. */
int breaker_add_upnl(struct dec *upnl, struct dec amt, struct dec entry, struct dec bid,
                     struct dec ask) __attribute__((warn_unused_result));

/* Nonzero when equity is below peak by at least pct percent of the peak (peak > 0). */
int breaker_drawdown(struct dec equity, struct dec peak, struct dec pct);

#endif
