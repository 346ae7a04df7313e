/* xpause: the one pause policy of the REST pollers for an exchange in trouble.
 *
 * A 5xx, a timeout or a transport error (maintenance, overload, refused connections) pauses
 * the poller for a core/backoff delay, 250 ms growing to 5 s, instead of asking once per slot
 * or period; while in trouble only one probe is out at a time; any good answer ends it. Other
 * outcomes (429/418: the weight budget's stop; API errors; malformed answers) leave it alone.
 * Answers of a burst already in flight while paused do not lengthen the pause again. Used by
 * `bfq tick` (its slots) and `bfq account` / `bfq positionrisk` (collectors/acctpoll.c). */
#ifndef BFQ_XPAUSE_H
#define BFQ_XPAUSE_H

#include "core/backoff.h"
#include "core/binance.h"
#include "core/timebase.h"

#define XPAUSE_MIN_MS 250
#define XPAUSE_MAX_MS 5000

struct xpause {
    struct backoff backoff;
    mono_ms_t until; /* paused until then (monotonic ms), 0 when not */
};

/* Starts unpaused with the bounds above. */
void xpause_init(struct xpause *p);

/* Feeds one answer's outcome (see the top). */
void xpause_note(struct xpause *p, enum binance_outcome o);

/* Nonzero when the next request must not go out now: inside a pause, or in trouble with
 * in_flight requests still out (one probe at a time). */
int xpause_holds(const struct xpause *p, int in_flight);

#endif
