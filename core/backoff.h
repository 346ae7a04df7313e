/* backoff: the one retry-delay policy of bfq: capped exponential growth with decorrelated
 * jitter, seeded per process.
 *
 * Every retry loop (Redis reconnects, exchange errors, WebSocket reconnects) asks a struct
 * backoff for its next delay after a failure and resets it after a success. The delay grows
 * roughly threefold per failure from min to max, each one drawn at random from [min, 3 * the
 * previous delay] and capped at max ("decorrelated jitter"), so it is always within
 * [min, max] and a fleet that failed together does not retry together. The random state of
 * each struct is derived from a per-process seed (getrandom, else pid and time) and a counter,
 * so two processes, and two structs in one process, draw different delays.
 *
 * Plain data, no allocation, no clock: the caller arms its own timer with the delay. Not
 * thread-safe (one struct per loop, like everything else). */
#ifndef BFQ_BACKOFF_H
#define BFQ_BACKOFF_H

#include <stdint.h>

struct backoff {
    int64_t min_ms, max_ms; /* bounds of every delay; 1 <= min_ms <= max_ms */
    int64_t prev_ms;        /* the last delay handed out, 0 after a reset */
    int attempts;           /* failures since the last reset */
    uint64_t rng;           /* xorshift64 state, never 0 */
};

/* Sets the bounds (min_ms < 1 becomes 1, max_ms < min_ms becomes min_ms), resets, and seeds
 * the struct from the process seed. */
void backoff_init(struct backoff *b, int64_t min_ms, int64_t max_ms);

/* Replaces the random state (tests; a seed of 0 is replaced by a fixed nonzero one). */
void backoff_seed(struct backoff *b, uint64_t seed);

/* After a failure: the delay to wait before the next attempt, in [min_ms, max_ms]. */
int64_t backoff_next(struct backoff *b);

/* After a success: the next failure starts again near min_ms. */
void backoff_reset(struct backoff *b);

/* A random value in [lo, hi] from b's state (lo <= hi), for callers that spread other
 * timings with the same seeded source. */
int64_t backoff_uniform(struct backoff *b, int64_t lo, int64_t hi);

#endif
