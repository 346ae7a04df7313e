/* weight: the shared per-IP request-weight budget, kept in Redis.
 *
 * Binance limits request weight per source IP per UTC minute (2400 on mainnet, read from
 * exchangeInfo). Every instance that sends from an IP takes the weight of a request from
 * bfq:weight:<ip>:<minute> before sending it, through one atomic Lua call (bfq_weight_take):
 * the call adds the weight only if the total stays within the budget (default 90% of the
 * limit), otherwise it answers how long to wait (until the next minute). The answer header
 * X-MBX-USED-WEIGHT-1M corrects the count upward (bfq_weight_seen). A 429 or 418 stops the IP
 * for its Retry-After time for every instance (bfq:weight:<ip>:stop, with a TTL).
 *
 * If Redis is down, the budget falls back to a local count for this process (still capped), so
 * a collector never sends blind and never stalls forever on a lost Redis. Not at once: takes
 * are held (queued, not granted) while the connection has never been up yet, since a role
 * starts before its connection is ready and would otherwise log a fallback at every start, and
 * for a short grace (WEIGHT_GRACE_MS) after it went down, which a reconnect usually fits in.
 * The owner of the connection forwards its up and down events with weight_redis_state. */
#ifndef BFQ_WEIGHT_H
#define BFQ_WEIGHT_H

#include <stdint.h>

struct ev_loop;
struct rconn;
struct weight_budget;

struct weight_options {
    const char *prefix;    /* key prefix, "bfq:" by default; copied */
    const char *ip;        /* source IP this budget is for ("127.0.0.2", "default"); copied */
    int64_t limit;         /* exchange limit per minute, e.g. 2400; 1..10^9 */
    int percent;           /* budget as percent of limit, 1..100; 0 means 90 */
    int64_t grace_ms;      /* hold takes this long after Redis went down before the local
                              count; 0 means WEIGHT_GRACE_MS; negative: no hold at all (local
                              count at once, also before the first up) */
};

/* Default hold after Redis went down before takes fall back to the local count. */
#define WEIGHT_GRACE_MS 2000

/* Called once when the weight was granted (granted = 1) or the take was abandoned because the
 * budget was freed (granted = 0). */
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

/* Feeds back an answer: the X-MBX-USED-WEIGHT-1M value (or -1) and, for 429/418, the wait. */
void weight_observe(struct weight_budget *wb, int64_t used_weight_1m, int64_t retry_after_ms);

/* Changes the limit (after reading exchangeInfo); a limit <= 0 or above 10^9 is ignored. */
void weight_set_limit(struct weight_budget *wb, int64_t limit);

struct weight_stats {
    int64_t taken;         /* weight granted by this process, total */
    int64_t waits;         /* takes that had to wait */
    int64_t used_minute;   /* last known weight used by this IP in the current minute */
    int64_t stopped_until; /* wall ms until which the IP is stopped, 0 when not */
};
struct weight_stats weight_stats(const struct weight_budget *wb);

#endif
