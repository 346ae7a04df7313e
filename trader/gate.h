/* gate: what the gateway lets through (pure, no I/O).
 *
 * Given an intent and what Redis says about its symbol and account (struct gate_view, read by
 * gateway.c just before the decision), gate_check either passes the intent with the exact
 * order to send (quantity sized from a notional, price from the book) or denies it with a
 * reason, modelled on NautilusTrader's risk-engine denials:
 *   INTENT_EXPIRED        older than the gateway's max age (a trader's signal is stale)
 *   TRADING_HALTED        HALTED: only cancels and the risk processes' closes (sl hs kl) pass
 *   TRADING_REDUCING      REDUCING: only orders that shrink the position pass
 *   SYMBOL_BANNED         an order that opens or grows a position on a banned symbol
 *                         (exits are never blocked by bans)
 *   SYMBOL_UNKNOWN        no filters for the symbol; SYMBOL_NOT_TRADABLE: not in the universe
 *   NO_BOOK               a book price or a notional needs a bid and ask, and there is none
 *   SIZE_<reason>         the notional does not make an order (below minQty, minimum notional)
 *   FILTER_<code>         the order breaks a filter (Binance's code, e.g. FILTER_-4014)
 * A position "shrinks" when the order is reduce-only, or on the opposite side of the position
 * and not larger than it. */
#ifndef BFQ_GATE_H
#define BFQ_GATE_H

#include <stddef.h>
#include <stdint.h>

#include "core/decimal.h"
#include "trader/intent.h"

#define GATE_REASON_MAX 96

enum gate_state { GATE_ACTIVE, GATE_REDUCING, GATE_HALTED };

struct gate_view {
    enum gate_state state;
    int banned; /* the symbol, or ALL, is on the ban list */
    int has_filters, tradable;
    struct dec_filters filters;
    struct dec pos_amt; /* signed one-way position, zero when flat or unknown */
    int has_book;
    struct dec bid, ask;
    int64_t now_ms, max_age_ms;
};

/* The order to send once an intent passed. */
struct gate_order {
    struct dec qty, price; /* price only for LIMIT */
    int market;
    int shrinks; /* it shrinks the position (for the counters and the log) */
};

/* Returns 0 (pass, *out filled) or -1 (deny, reason in reason[GATE_REASON_MAX]). */
int gate_check(const struct intent *in, const struct gate_view *v, struct gate_order *out,
               char *reason);

/* Parses ACTIVE / REDUCING / HALTED (NULL or "" is ACTIVE: no state key means no stop).
 * Returns 0, or -1 for anything else (the gateway then treats it as HALTED: fail closed). */
int gate_state_parse(const char *s, enum gate_state *out);

/* The book price an order at the book takes: the best bid to buy, the best ask to sell (a
 * maker order at the front of its own side). */
struct dec gate_book_price(const struct gate_view *v, enum intent_side side);

#endif
