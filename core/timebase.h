/* timebase: the two clocks bfq uses, and the exchange's clock derived from them.
 *
 * Intervals and timeouts use the monotonic clock (mono_ms_t); exchange timestamps and Redis
 * records use wall time (wall_ms_t, Unix milliseconds). Signed requests need the exchange's
 * clock: struct servertime keeps the offset measured by GET /fapi/v1/time (midpoint of the
 * round trip), and the request layer re-syncs it when an answer says -1021. */
#ifndef BFQ_TIMEBASE_H
#define BFQ_TIMEBASE_H

#include <stdint.h>

typedef int64_t wall_ms_t; /* Unix milliseconds, CLOCK_REALTIME */
typedef int64_t mono_ms_t; /* milliseconds since an arbitrary start, CLOCK_MONOTONIC */

wall_ms_t timebase_wall_ms(void);
mono_ms_t timebase_mono_ms(void);

/* The UTC minute a wall time falls in (ms / 60000), as used by the weight budget keys. */
int64_t timebase_utc_minute(wall_ms_t t);

/* Formats t as 2026-11-26T10:06:54.123Z into buf (at least 25 bytes). */
void timebase_format_iso(wall_ms_t t, char *buf, int cap);

struct servertime {
    int64_t offset_ms;     /* exchange time minus local wall time */
    int64_t rtt_ms;        /* round trip of the sample that set offset_ms */
    mono_ms_t synced_at;   /* monotonic time of that sample; 0 = never synced */
};

/* Records one sample: the server said server_ms for a request sent at sent_ms and answered at
 * recv_ms (local wall times). Keeps the sample unless an older one had a much shorter round
 * trip and is recent (< 10 min), so that one slow answer does not skew the clock. */
void servertime_update(struct servertime *st, wall_ms_t sent_ms, wall_ms_t recv_ms,
                       wall_ms_t server_ms);

/* Forgets the offset so the next signed request syncs first (after -1021). */
void servertime_invalidate(struct servertime *st);

/* Nonzero when a sample exists and is younger than max_age_ms. */
int servertime_valid(const struct servertime *st, int64_t max_age_ms);

/* Local wall time corrected to the exchange's clock. */
wall_ms_t servertime_now(const struct servertime *st);

#endif
