/* book: the liquidity of one symbol's simulated order book and its trade flow.
 *
 * The price levels themselves follow the market's path (market.c puts the best bid at
 * floor(path) and the levels one tick apart); this module says how much rests at each level and
 * how much the market's own takers trade against each side. Sizes are hashed from (symbol,
 * side, price, 2-second block), so a level keeps its size while the path wanders around it,
 * and grow with the distance from the best. A taker fill of a user removes liquidity: the
 * level shows less (or is gone and the best moves) and refills linearly over BOOK_REFILL_MS.
 * The trade flow is hashed per 100 ms step and side: with probability BOOK_FLOW_PROB a market
 * trade of an exponentially distributed size (mean BOOK_FLOW_MEAN of the best level). Every
 * quantity is an integer number of lot steps. Single-threaded; no allocation. */
#ifndef BFQ_SIM_BOOK_H
#define BFQ_SIM_BOOK_H

#include <stdint.h>

#define BOOK_DEPL_MAX 64        /* depleted levels remembered per symbol */
#define BOOK_REFILL_MS 3000     /* a consumed level is full again after this */
#define BOOK_FLOW_PROB 0.3
#define BOOK_FLOW_MEAN 0.05

struct sim_book_depl {
    int ask;
    int64_t px, qty, t;         /* ticks, steps, when */
};

struct sim_booksym {
    uint64_t key;
    double top_steps;           /* mean size of the best level, in lot steps */
    struct sim_book_depl d[BOOK_DEPL_MAX];
    int nd;
};

void sim_book_init(struct sim_booksym *b, uint64_t key, double top_steps);

/* Steps resting at price px (ticks) on one side at t, dist levels from the path's best. */
int64_t sim_book_qty(const struct sim_booksym *b, int ask, int64_t px, int64_t dist, int64_t t);

/* A taker consumed qty steps at px on side ask at t. */
void sim_book_consume(struct sim_booksym *b, int ask, int64_t px, int64_t qty, int64_t t);

/* Steps the market's takers traded against side ask (1: buyers lifting the ask, 0: sellers
 * hitting the bid) during book step `step`. */
int64_t sim_book_flow(const struct sim_booksym *b, int ask, int64_t step);

#endif
