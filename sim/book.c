/* book: level sizes, depletion by user fills, and the market's trade flow (see book.h).
 *
 * Depletion entries are few (a user's MARKET order touches a handful of levels) and short
 * lived, so a small array scanned linearly is enough; a full array forgets its oldest entry. */
#include "sim/book.h"

#include <math.h>
#include <string.h>

#include "sim/walk.h"

#define BOOK_SIZE_BLOCK_MS 2000

void sim_book_init(struct sim_booksym *b, uint64_t key, double top_steps)
{
    memset(b, 0, sizeof(*b));
    b->key = key;
    b->top_steps = top_steps < 1 ? 1 : top_steps;
}

static int64_t depleted(const struct sim_booksym *b, int ask, int64_t px, int64_t t)
{
    double gone = 0;
    for (int i = 0; i < b->nd; i++) {
        const struct sim_book_depl *d = &b->d[i];
        if (d->ask != ask || d->px != px || t < d->t || t >= d->t + BOOK_REFILL_MS) continue;
        gone += (double)d->qty * (1.0 - (double)(t - d->t) / BOOK_REFILL_MS);
    }
    return (int64_t)ceil(gone);
}

int64_t sim_book_qty(const struct sim_booksym *b, int ask, int64_t px, int64_t dist, int64_t t)
{
    uint64_t h = sim_hash2(b->key ^ (ask ? 0xa5a5a5a5ULL : 0x5a5a5a5aULL),
                           (uint64_t)px * 0x100000001b3ULL ^ (uint64_t)(t / BOOK_SIZE_BLOCK_MS));
    double size = b->top_steps * (0.4 + 1.2 * sim_hash_unit(h)) * (1.0 + (double)dist / 5.0);
    int64_t q = (int64_t)size + 1 - depleted(b, ask, px, t);
    return q > 0 ? q : 0;
}

void sim_book_consume(struct sim_booksym *b, int ask, int64_t px, int64_t qty, int64_t t)
{
    int w = 0;
    for (int i = 0; i < b->nd; i++) /* drop refilled entries */
        if (t < b->d[i].t + BOOK_REFILL_MS) b->d[w++] = b->d[i];
    b->nd = w;
    if (b->nd == BOOK_DEPL_MAX) {
        memmove(&b->d[0], &b->d[1], sizeof(b->d[0]) * (BOOK_DEPL_MAX - 1));
        b->nd--;
    }
    b->d[b->nd++] = (struct sim_book_depl){ask, px, qty, t};
}

int64_t sim_book_flow(const struct sim_booksym *b, int ask, int64_t step)
{
    uint64_t h = sim_hash2(b->key ^ (ask ? 0x3c6ef372fe94f82bULL : 0xa54ff53a5f1d36f1ULL),
                           (uint64_t)step);
    if (sim_hash_unit(h) >= BOOK_FLOW_PROB) return 0;
    double u = sim_hash_unit(sim_mix64(h));
    double q = -log(1.0 - u) * BOOK_FLOW_MEAN * b->top_steps;
    return (int64_t)q + 1;
}
