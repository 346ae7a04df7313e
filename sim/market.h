/* market: the simulated symbols, their filters and their deterministic price paths.
 *
 * The universe is generated from the seed: mostly PERPETUAL/TRADING/USDT symbols plus the
 * edge cases a careless filter gets wrong (USDC- and BUSD-quoted perpetuals, a quarterly
 * contract, a PENDING_TRADING symbol with contractType "", an INDEX-underlying symbol) and tick
 * sizes such as 0.00025, 0.005, 0.5 and 10 and step sizes 1, 10 and 100. Prices are a function
 * of (seed, symbol, time) that can be evaluated for any past or present millisecond, so klines of
 * every interval are built from the same path; POST /_sim/price shifts a symbol's path from now
 * on. Every price handed out lies on the symbol's tick grid. */
#ifndef BFQ_SIM_MARKET_H
#define BFQ_SIM_MARKET_H

#include <stdint.h>

#include "core/decimal.h"

struct sim_market;

struct sim_symbol {
    int index;
    char name[32];
    char pair[32];
    char base[16], quote[16];
    char contract_type[24];    /* "PERPETUAL", "CURRENT_QUARTER", "" */
    char status[24];           /* "TRADING", "PENDING_TRADING" */
    char underlying_type[16];  /* "COIN", "INDEX" */
    int price_precision, qty_precision;
    struct dec_filters filters;
    int max_orders;            /* MAX_NUM_ORDERS */
    struct dec mult_up, mult_down; /* PERCENT_PRICE */
    char margin_asset[16];
    int64_t onboard_ms, delivery_ms; /* exchangeInfo onboardDate / deliveryDate */
};

struct sim_market_options {
    uint64_t seed;
    int tradable;                 /* USDT/PERPETUAL/TRADING symbols (default 200) */
    int64_t funding_interval_ms;  /* default 8 h */
    int64_t start_ms;             /* wall time at start (quarterly contract naming) */
};

/* Builds the universe: `tradable` USDT perpetuals (the first ones carry the edge-case tick and
 * step sizes, the last is the INDEX symbol BTCDOMUSDT when there are at least 8) followed by the
 * extras (USDC- and BUSD-quoted perpetuals, a quarterly contract, a PENDING_TRADING symbol).
 * Returns NULL on out of memory. */
struct sim_market *sim_market_new(const struct sim_market_options *opts);
void sim_market_free(struct sim_market *m);

/* Moves a symbol's path from now_ms on so that its price at now_ms is `price` (or moves it by
 * pct percent, e.g. -5). Earlier times keep their prices. Returns 0, or -1 for a price <= 0 or
 * too many moves on one symbol (SIM_MARKET_MAX_SHIFTS). */
#define SIM_MARKET_MAX_SHIFTS 256
int sim_market_set_price(struct sim_market *m, int index, int64_t now_ms, struct dec price);
int sim_market_move_pct(struct sim_market *m, int index, int64_t now_ms, struct dec pct);

/* Forgets the cached closed bars (after the clock is moved back). */
void sim_market_clear_cache(struct sim_market *m);

/* The next funding time after now_ms and the funding interval. */
int64_t sim_market_next_funding(const struct sim_market *m, int64_t now_ms);
int64_t sim_market_funding_interval(const struct sim_market *m);

/* Klines intervals: parses "1s".."1M" into milliseconds (SIM_INTERVAL_MONTH for 1M).
 * Returns 0 or -1 for an unknown name. */
#define SIM_INTERVAL_MONTH (-1)
int sim_interval_parse(const char *name, int64_t *out);
/* Open time of the bar containing t; open time of the bar after the one opening at open_ms.
 * Bars align to the Unix epoch, weeks to Monday 00:00 UTC, months to the calendar. */
int64_t sim_bar_floor(int64_t t, int64_t interval);
int64_t sim_bar_next(int64_t open_ms, int64_t interval);

/* Order-book levels: level k (0 = best) of the bid or ask side at now_ms. */
void sim_market_level(struct sim_market *m, int index, int64_t now_ms, int ask, int k,
                      struct dec *price, struct dec *qty);

/* Best bid/ask and sizes at a time, on the tick grid, bid < ask. */
struct sim_book {
    struct dec bid, ask, bid_qty, ask_qty;
    int64_t update_id; /* increases with time */
};

/* Bar of `interval_ms` starting at open_ms, built from the path. Decimals on the grid. */
struct sim_bar {
    int64_t open_ms, close_ms;
    struct dec open, high, low, close, volume, quote_volume, taker_buy_volume, taker_buy_quote;
    int64_t trades;
};

int sim_market_count(const struct sim_market *m);
const struct sim_symbol *sim_market_symbol(const struct sim_market *m, int index);
const struct sim_symbol *sim_market_find(const struct sim_market *m, const char *name);

/* Book at now_ms (wall ms, the simulator's clock). */
void sim_market_book(struct sim_market *m, int index, int64_t now_ms, struct sim_book *out);
/* Mark price (mid of the book, on the tick grid) and last price at now_ms. */
struct dec sim_market_mark(struct sim_market *m, int index, int64_t now_ms);
struct dec sim_market_last(struct sim_market *m, int index, int64_t now_ms);
/* The bar [open_ms, open_ms + interval_ms) as seen at now_ms (a still-open bar ends at now). */
void sim_market_bar(struct sim_market *m, int index, int64_t open_ms, int64_t interval_ms,
                    int64_t now_ms, struct sim_bar *out);
/* Funding rate string for a symbol at now_ms (e.g. "0.00010000"). */
struct dec sim_market_funding_rate(struct sim_market *m, int index, int64_t now_ms);

#endif
