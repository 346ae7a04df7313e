/* brackets: Binance's notional and leverage brackets, as a small static table.
 *
 * Binance sizes maintenance margin and maximum leverage by position notional in brackets
 * (GET /fapi/v1/leverageBracket). The simulator keeps two tables: one for BTCUSDT and
 * ETHUSDT (12 brackets, 125x at the first) and one for every other symbol (6 brackets, 50x),
 * with Binance's published shape: floor and cap in USDT, the maintenance margin ratio and the
 * "cum" maintenance amount (cum[i] = cum[i-1] + floor[i] x (mmr[i] - mmr[i-1])). Ratios and
 * cum are decimal strings so margin arithmetic can stay exact. Read-only, no state. */
#ifndef BFQ_SIM_BRACKETS_H
#define BFQ_SIM_BRACKETS_H

#include <stddef.h>
#include <stdint.h>

struct sim_bracket {
    int bracket;            /* 1-based level */
    int initial_leverage;   /* the highest leverage allowed in this bracket */
    int64_t notional_floor; /* USDT, inclusive */
    int64_t notional_cap;   /* USDT, exclusive */
    const char *maint_ratio; /* decimal string, e.g. "0.004" */
    const char *cum;         /* decimal string, USDT */
};

/* The brackets of symbol sym (any name; unknown names get the default table), lowest first;
 * *n receives their count. The table is static: never freed, valid for the process. */
const struct sim_bracket *sim_brackets(const char *sym, size_t *n);

#endif
