/* ladder: the stop-loss policy of `bfq stoploss` as pure arithmetic (no I/O), exact decimals.
 *
 * A position of |amt| at entry gets K levels of reduce-only STOP_MARKET orders on the closing
 * side: level i (0-based) triggers at base + i*step percent from the entry, against the
 * position (below the entry for a long, above for a short), snapped to the tick toward the
 * entry (a stop never further than asked). Quantities are whole multiples of the lot step
 * (MARKET_LOT_SIZE, falling back to LOT_SIZE): the floored position is divided evenly over the
 * levels, the remainder going to the first (nearest) level, so the rungs sum exactly to the
 * floored position. A level over maxQty is split into several orders at the same trigger.
 * A position too small for K levels of minQty gets fewer levels (at least one).
 *
 * A re-arm (a ladder already armed for the position, some of it triggered or gone) uses only
 * the levels the mark has not passed yet: the position left is spread over them the same way,
 * and a level already passed is neither placed nor closed at market (its share of the plan
 * was the exchange's to trigger; docs/risk.md, "Re-arm").
 *
 * Also here: when a ladder must be re-armed (covered quantity off the position by more than a
 * tolerance, either way) and when the hard stop fires (the mark against the position by more
 * than a limit from the entry). */
#ifndef BFQ_LADDER_H
#define BFQ_LADDER_H

#include <stddef.h>

#include "core/decimal.h"

#define LADDER_RUNGS_MAX 64 /* orders in one ladder (levels, with their maxQty splits) */
#define LADDER_LEVELS_MAX 20

struct ladder_params {
    int levels;          /* K, 1..LADDER_LEVELS_MAX */
    struct dec base_pct; /* distance of the first level from the entry, percent (> 0, < 100) */
    struct dec step_pct; /* further distance of each next level, percent (>= 0) */
};

struct ladder_rung {
    int level;
    struct dec trigger, qty;
};

struct ladder {
    int sell; /* closing side: 1 SELL (a long), 0 BUY (a short) */
    int n;
    struct ladder_rung r[LADDER_RUNGS_MAX];
    struct dec total; /* sum of the rungs' quantities */
};

/* Builds the ladder of signed position amt at entry. Returns 0, or -1 with a reason (flat
 * position, no step, bad parameters, a trigger at or below zero, too many rungs, overflow). */
int ladder_build(const struct ladder_params *p, const struct dec_filters *f, struct dec amt,
                 struct dec entry, struct ladder *out, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* The re-arm ladder: as ladder_build over the levels mark has not reached yet (a long's level
 * is passed when mark <= its trigger, a short's when mark >= it); the levels keep their
 * entry-based triggers. Returns 0; 1 when mark is past every level (out empty); -1 with a
 * reason as ladder_build (also for a mark <= 0). */
int ladder_build_remaining(const struct ladder_params *p, const struct dec_filters *f,
                           struct dec amt, struct dec entry, struct dec mark, struct ladder *out,
                           char *err, size_t cap) __attribute__((warn_unused_result));

/* Nonzero when covered differs from |amt| by more than tol_pct percent of |amt| (either way);
 * any covered quantity of a flat position needs re-arming (cancelling). */
int ladder_needs_rearm(struct dec covered, struct dec amt, struct dec tol_pct);

/* Nonzero when mark is against the signed position amt by more than limit_pct percent of the
 * entry (long: entry - mark; short: mark - entry). 0 for a flat position or a zero entry. */
int ladder_hard_stop(struct dec amt, struct dec entry, struct dec mark, struct dec limit_pct);

#endif
