/* weight: the shared per-IP request-weight budget, kept in Redis.
 *
 * Binance limits request weight per source IP per UTC minute of ITS clock (2400 on mainnet, read
 * from exchangeInfo). Every instance that sends from an IP takes the weight of a request from
 * bfq:weight:<ip>:<minute> before sending it, through one atomic Lua call (bfq_weight_take):
 * the call adds the weight only if the total stays within the budget (default 90% of the
 * limit), otherwise it answers how long to wait (until the next minute). <minute> is the
 * exchange-clock minute (weight_set_clock: the binance client's synced clock), the one Binance
 * counts the request in; the local minute would put the weight of the first or last seconds of
 * every minute in the wrong key as soon as the clocks differ.
 *
 * The answer header X-MBX-USED-WEIGHT-1M corrects the count upward (weight_answer), in the
 * minute the exchange counted the request in: the request reached the exchange between its
 * send time and its answer time, which on the exchange clock (give or take the clock's own
 * error) either lie in one minute, and the header belongs to that minute, or straddle an edge,
 * and the header is ambiguous and ignored. A 429 or 418 stops the IP for its Retry-After time
 * for every instance (bfq:weight:<ip>:stop, with a TTL).
 *
 * A paced budget (weight_set_pace; `bfq kline` with rate = auto) takes weight only up to a line
 * rising from the start of each exchange minute to 99% of the budget at its end: a collector
 * that asks as fast as it can then spends the budget evenly over the minute, leaving room at
 * every moment for the unpaced instances on the same IP (a tick collector's slots), instead of
 * spending it in the first seconds.
 *
 * Every take has a deadline ([redis] command_timeout, default 3 s, the Redis command deadline):
 * a take that waited that long for Redis (not for the budget) fails (WEIGHT_TIMEDOUT) and the
 * request is not sent, so a hung Redis never stalls a collector silently.
 *
 * If Redis is down (or read-only, or the call fails), takes fail with WEIGHT_TIMEDOUT and the
 * request is not sent: its results could not be written (issue 8, item 10), so a collector
 * never spends weight blind and never stalls forever on a lost Redis. Not at once: takes are
 * held (queued, not granted) while the connection has never been up yet, since a role starts
 * before its connection is ready, and for a short grace (WEIGHT_GRACE_MS) after it went down,
 * which a reconnect usually fits in. Only a budget without a Redis (rc NULL) or without a hold
 * (grace_ms < 0) falls back to a local count for this process (still capped). The owner of the
 * connection forwards its up and down events with weight_redis_state. */
#ifndef BFQ_WEIGHT_H
#define BFQ_WEIGHT_H

#include <stdint.h>

#include "core/timebase.h"

struct config;
struct ev_loop;
struct rconn;
struct weight_budget;

struct weight_options {
    const char *prefix;    /* key prefix, "bfq:" by default; copied */
    const char *ip;        /* source IP this budget is for ("127.0.0.2", "default"); copied */
    int64_t limit;         /* exchange limit per minute, e.g. 2400; 1..10^9 */
    int percent;           /* budget as percent of limit, 1..100; 0 means 90 */
    int64_t grace_ms;      /* hold takes this long after Redis went down before failing
                              them; 0 means WEIGHT_GRACE_MS; negative: no hold at all and the
                              local count instead (also before the first up) */
    int64_t timeout_ms;    /* deadline of a take waiting for Redis; 0 means WEIGHT_TIMEOUT_MS */
};

/* Default hold after Redis went down before takes fail (not sent). */
#define WEIGHT_GRACE_MS 2000
/* Default deadline of a take waiting for Redis: [redis] command_timeout's default. */
#define WEIGHT_TIMEOUT_MS 3000

/* Reads [redis] command_timeout (ms or a duration, 100 ms .. 60 s, default 3 s: the deadline of
 * every Redis command, the one the connection uses too) into o->timeout_ms. Returns 0, or -1
 * with the key and the reason in config_errstr(cfg). */
int weight_options_read(struct weight_options *o, struct config *cfg)
    __attribute__((warn_unused_result));

/* What a take's callback is told. */
#define WEIGHT_GRANTED 1   /* the weight is taken: send the request now */
#define WEIGHT_FREED 0     /* the budget was freed: do not send */
#define WEIGHT_TIMEDOUT -1 /* Redis did not answer within the deadline, or is unavailable past
                              the grace: do not send, retry later */

/* Called once per take with one of the three values above. */
typedef void weight_grant_fn(int granted, void *privdata);

struct weight_budget *weight_new(struct ev_loop *loop, struct rconn *rc,
                                 const struct weight_options *opts);
/* Abandons pending takes (their callbacks run with granted = 0) and frees. */
void weight_free(struct weight_budget *wb);

/* Takes `weight` units, now or as soon as the budget allows; fn runs from the loop, never from
 * inside this call. A weight above the whole budget counts as the whole budget (it would
 * otherwise never fit and hold every later take behind it). */
void weight_take(struct weight_budget *wb, int weight, weight_grant_fn *fn, void *privdata);

/* Tells the budget that its Redis connection is now up (up = 1: held takes go to Redis at
 * once) or went down (up = 0: the grace starts now). Call from the rconn up/down callbacks. */
void weight_redis_state(struct weight_budget *wb, int up);

/* The exchange clock the minute keys follow (borrowed: it must outlive the budget, or be
 * replaced first); NULL means the local clock. binance_set_budget sets it. */
void weight_set_clock(struct weight_budget *wb, const struct servertime *clock);
/* Forgets clock if it is the one in use (its owner is going away). */
void weight_drop_clock(struct weight_budget *wb, const struct servertime *clock);

/* Paced (on = 1) or greedy (on = 0, the default) takes for this process; see the top. */
void weight_set_pace(struct weight_budget *wb, int on);

/* One answer of the exchange. */
struct weight_answer {
    int64_t used_weight_1m;     /* X-MBX-USED-WEIGHT-1M, or -1: absent or not accurate */
    int64_t retry_after_ms;     /* 429/418: how long the IP is stopped, else <= 0 */
    wall_ms_t sent_ms, done_ms; /* local wall times the request went out and the answer came
                                   in; the header is ignored when either is 0 */
};
/* Feeds back an answer: the header raises the count of the minute the exchange counted the
 * request in (when that is unambiguous), a wait stops the IP. */
void weight_answer(struct weight_budget *wb, const struct weight_answer *a);

/* A stop only (429/418 wait retry_after_ms): used_weight_1m is ignored, since without the
 * request's times the minute it belongs to is unknown (weight_answer places it). */
void weight_observe(struct weight_budget *wb, int64_t used_weight_1m, int64_t retry_after_ms);

/* Changes the limit (after reading exchangeInfo); a limit <= 0 or above 10^9 is ignored. */
void weight_set_limit(struct weight_budget *wb, int64_t limit);

struct weight_stats {
    int64_t taken;         /* weight granted by this process, total */
    int64_t waits;         /* takes that had to wait */
    int64_t timeouts;      /* takes failed as not sent (WEIGHT_TIMEDOUT): deadline or outage */
    int64_t ignored;       /* answer headers ignored: straddling a minute edge */
    int64_t used_minute;   /* last known weight used by this IP in the current minute */
    int64_t stopped_until; /* wall ms until which the IP is stopped, 0 when not */
    int64_t budget;        /* weight a minute this budget allows (limit * percent / 100) */
};
struct weight_stats weight_stats(const struct weight_budget *wb);

#endif
