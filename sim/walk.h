/* walk: a random walk of log-price that can be evaluated at any step, past or future, in
 * O(levels), and is a pure function of (key, parameters, step).
 *
 * The walk is what makes the simulator's prices realistic and reproducible at once: a
 * volatility-clustered, fat-tailed, jumping path with no bound on how far it travels, whose
 * value for yesterday's bar is the same whether it is asked for now or was served live then.
 * Construction (see walk.c): a walk over root blocks of 2^WALK_ROOT_LEVELS steps anchored at
 * WALK_ANCHOR_MS, a Brownian bridge inside each block whose variance is split between the two
 * halves of every node by a hashed multiplicative cascade (volatility clustering at every time
 * scale; the variance mixture gives the fat tails), plus compound-Poisson jumps. Doubles only:
 * the walk is a model, callers snap what they derive from it to the tick grid. */
#ifndef BFQ_SIM_WALK_H
#define BFQ_SIM_WALK_H

#include <stdint.h>

#define WALK_STEP_MS 100            /* one step: the book's 100 ms */
#define WALK_ROOT_LEVELS 25         /* root block: 2^25 steps, about 38.8 days */
#define WALK_ANCHOR_MS 1735689600000LL /* 2025-01-01T00:00:00Z: the walk is 0 there */

struct walk_params {
    double daily_vol;   /* standard deviation of a day's log return (e.g. 0.05) */
    double cascade;     /* intermittency of the variance cascade (0: constant variance) */
    double jump_rate;   /* expected jumps per day */
    double jump_size;   /* standard deviation of a jump's log size */
    uint64_t regime_key; /* seeds the variance of the slow levels (0: the walk's own key) */
    int regime_level;    /* nodes of 2^regime_level steps and more use regime_key ... */
    double regime_cascade; /* ... and this intermittency instead of cascade */
};

struct sim_walk;

/* A walk seeded by key. Returns NULL on out of memory. Free with sim_walk_free. */
struct sim_walk *sim_walk_new(uint64_t key, const struct walk_params *p);
void sim_walk_free(struct sim_walk *w);

/* The walk at step s (time s * WALK_STEP_MS since the epoch). Steps before 2019 or after 2045
 * are clamped to that range. Caches the last descent, so nearby calls are cheap. */
double sim_walk_at(struct sim_walk *w, int64_t s);

/* Shared hashing (counter-based random numbers) for the simulator's models. */
uint64_t sim_mix64(uint64_t x);
uint64_t sim_hash2(uint64_t a, uint64_t b);
double sim_hash_unit(uint64_t h);   /* [0, 1) */
double sim_hash_normal(uint64_t h); /* about N(0, 1), |z| < 3.5 */

#endif
