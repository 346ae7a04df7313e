/* brackets: the leverage and maintenance-margin brackets of every symbol, in one place.
 *
 * Binance sizes maintenance margin by notional bracket: a position of notional N in bracket k
 * needs N x maintMarginRatio_k - cum_k, where cum_k = cum_{k-1} + floor_k x (mmr_k - mmr_{k-1})
 * makes the function continuous. The engine's margin, its liquidation and
 * GET /fapi/v1/leverageBracket all read this table. Two tables, as on Binance's board: BTC and
 * ETH (deep, up to 125x) and every other symbol (up to 50x). Immutable after start-up. */
#ifndef BFQ_SIM_BRACKETS_H
#define BFQ_SIM_BRACKETS_H

#include "core/decimal.h"
#include "sim/market.h"

struct sim_bracket {
    int bracket;                       /* 1, 2, ... */
    int max_leverage;                  /* initialLeverage */
    struct dec notional_floor, notional_cap; /* USDT, [floor, cap) */
    struct dec mmr;                    /* maintMarginRatio */
    struct dec cum;                    /* maintenance amount of the bracket */
};

/* The brackets of symbol s, lowest notional first; *n gets their count. Never NULL. */
const struct sim_bracket *sim_brackets(const struct sim_symbol *s, int *n);

/* The bracket of a position of notional |notional| (the last one beyond every cap). */
const struct sim_bracket *sim_bracket_for(const struct sim_symbol *s, struct dec notional);

/* Maintenance margin of a position of notional |notional|, rounded to `scale` decimals. */
struct dec sim_bracket_maint(const struct sim_symbol *s, struct dec notional, int scale);

#endif
