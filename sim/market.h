/* market: the simulated symbols, their filters and their deterministic price paths.
 *
 * The universe is generated from the seed: mostly PERPETUAL/TRADING/USDT symbols plus the
 * edge cases a careless filter gets wrong (USDC- and BUSD-quoted perpetuals, a quarterly
 * contract, a PENDING_TRADING symbol with contractType "", an INDEX-underlying symbol) and tick
 * sizes such as 0.00025, 0.005, 0.5 and 10 and step sizes 1, 10 and 100. Prices are a function
 * of (seed, symbol, time) that can be evaluated for any past or present millisecond (walk.c:
 * a market factor plus the symbol's own walk, with clustered volatility, fat tails and jumps),
 * so klines of every interval are built from the same path; POST /_sim/price shifts a symbol's
 * path from now on. The book has sizes per level and a trade flow (book.c) that the matching
 * engine walks and queues against. Every price handed out lies on the symbol's tick grid. */
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
    double volatility;            /* scale of every volatility (0: 1.0) */
    double correlation;           /* mean correlation with the market (0: SIM_MARKET_CORRELATION) */
};

#define SIM_MARKET_CORRELATION 0.5

/* Builds the universe: `tradable` USDT perpetuals (the first ones carry the edge-case tick and
 * step sizes, the last is the INDEX symbol BTCDOMUSDT when there are at least 8) followed by the
 * extras (USDC- and BUSD-quoted perpetuals, a quarterly contract, a PENDING_TRADING symbol).
 * Returns NULL on out of memory. */
struct sim_market *sim_market_new(const struct sim_market_options *opts);
void sim_market_free(struct sim_market *m);

/* Moves a symbol's path from now_ms on so that its price at now_ms is `price` (or moves it by
 * pct percent, e.g. -5). Earlier times keep their prices. Any number of moves. Returns 0, or
 * -1 for a price <= 0 or out of memory. */
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

/* Order-book levels: the first n (at most SIM_DEPTH_MAX) non-empty levels of the bid or ask
 * side at now_ms, best first, into price[] and qty[]. Returns how many. */
#define SIM_DEPTH_MAX 1000
int sim_market_levels(struct sim_market *m, int index, int64_t now_ms, int ask, int n,
                      struct dec *price, struct dec *qty);
/* Increases whenever a fill changes the book's sizes (for caches of book answers). */
uint64_t sim_market_book_version(const struct sim_market *m);

/* A taker of qty (buy: against the asks) walks the levels not beyond limit (zero: none) and
 * gets at most n of them into out[] (price, quantity each); *filled is the total. With commit
 * the liquidity is consumed (the levels show less and refill over a few seconds); without it
 * nothing changes (a dry run for FOK and -4131). Returns the number of levels. */
struct sim_take {
    struct dec price, qty;
};
int sim_market_take(struct sim_market *m, int index, int64_t now_ms, int buy, struct dec qty,
                    struct dec limit, int commit, struct sim_take *out, int n, struct dec *filled);
/* What rests at price on one side at now_ms (0 when price is not in the book on that side):
 * the queue ahead of an order that joins the level now. */
struct dec sim_market_qty_at(struct sim_market *m, int index, int64_t now_ms, int ask,
                             struct dec price);
/* One book step (100 ms) as a resting order sees it: the path's best bid and ask and the
 * market's taker volume against each side during the step (sell_flow hits the bid). */
struct sim_step {
    struct dec bid, ask, sell_flow, buy_flow;
};
void sim_market_step(struct sim_market *m, int index, int64_t step, struct sim_step *out);
int64_t sim_market_step_of(int64_t now_ms); /* the book step containing now_ms */

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
/* Last price (the path on the tick grid), index price (the path without the futures premium)
 * and mark price (the index averaged over the last 5 s plus the premium, which follows the
 * funding rate) at now_ms, all on the tick grid. The mark lags a sudden move by a few seconds. */
struct dec sim_market_last(struct sim_market *m, int index, int64_t now_ms);
struct dec sim_market_index(struct sim_market *m, int index, int64_t now_ms);
struct dec sim_market_mark(struct sim_market *m, int index, int64_t now_ms);
/* The bar [open_ms, open_ms + interval_ms) as seen at now_ms (a still-open bar ends at now). */
void sim_market_bar(struct sim_market *m, int index, int64_t open_ms, int64_t interval_ms,
                    int64_t now_ms, struct sim_bar *out);
/* Funding rate string for a symbol at now_ms (e.g. "0.00010000"). */
struct dec sim_market_funding_rate(struct sim_market *m, int index, int64_t now_ms);

#endif
