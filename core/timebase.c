/* timebase: wall and monotonic milliseconds, and the exchange clock offset (see timebase.h).
 *
 * The offset of one sample is server time minus the midpoint of the local round trip: the
 * server stamped its answer somewhere inside the round trip, and the midpoint bounds the error
 * by rtt/2. A sample with a much longer round trip than a recent one is less precise, so it is
 * ignored until the better one is ten minutes old. */
#include "core/timebase.h"

#include <stdio.h>
#include <time.h>

#define SERVERTIME_KEEP_MS (10 * 60 * 1000) /* a better sample is trusted this long */
#define SERVERTIME_SLACK_MS 20              /* rtt differences below this are noise */

static int64_t clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

wall_ms_t timebase_wall_ms(void)
{
    return clock_ms(CLOCK_REALTIME);
}

mono_ms_t timebase_mono_ms(void)
{
    return clock_ms(CLOCK_MONOTONIC);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t timebase_utc_minute(wall_ms_t t)
{
    return floor_div(t, 60000);
}

void timebase_format_iso(wall_ms_t t, char *buf, int cap)
{
    if (buf == NULL || cap <= 0)
        return;
    time_t secs = (time_t)floor_div(t, 1000);
    int ms = (int)(t - (int64_t)secs * 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(buf, (size_t)cap, "invalid-time");
        return;
    }
    snprintf(buf, (size_t)cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void servertime_update(struct servertime *st, wall_ms_t sent_ms, wall_ms_t recv_ms,
                       wall_ms_t server_ms)
{
    int64_t rtt = recv_ms - sent_ms;
    if (rtt < 0)
        return; /* the wall clock stepped during the request: the sample means nothing */
    mono_ms_t now = timebase_mono_ms();
    if (st->synced_at != 0 && now - st->synced_at < SERVERTIME_KEEP_MS &&
        rtt > 2 * st->rtt_ms + SERVERTIME_SLACK_MS)
        return;
    st->offset_ms = server_ms - (sent_ms + floor_div(rtt, 2));
    st->rtt_ms = rtt;
    st->synced_at = now > 0 ? now : 1;
}

void servertime_invalidate(struct servertime *st)
{
    st->synced_at = 0; /* the offset stays as the best guess until the next sample */
}

int servertime_valid(const struct servertime *st, int64_t max_age_ms)
{
    return st->synced_at != 0 && timebase_mono_ms() - st->synced_at < max_age_ms;
}

wall_ms_t servertime_now(const struct servertime *st)
{
    return timebase_wall_ms() + st->offset_ms;
}
