/* heartbeat: keeps bfq:hb:<role>:<instance> alive while the process lives.
 *
 * Every period (default 1 s) the key is SET to a JSON object with PX ttl (default 5 s), so it
 * expires on its own when the process dies or loses Redis. The object always holds host, pid,
 * started (wall ms), version ("0.1.0 (git revision)", as `bfq --version` prints), role and
 * instance; the role adds its counters through the fill
 * callback (requests, weight, errors by kind, last success ...). `bfq status` reads these keys
 * and the tick collectors derive their time slots from them. */
#ifndef BFQ_HEARTBEAT_H
#define BFQ_HEARTBEAT_H

#include <jansson.h>
#include <stdint.h>

struct ev_loop;
struct rconn;
struct heartbeat;

/* Adds role-specific fields to obj (borrowed) just before each write. */
typedef void heartbeat_fill_fn(json_t *obj, void *privdata);

struct heartbeat_options {
    const char *prefix;   /* "bfq:" */
    const char *role;     /* "kline" */
    const char *instance; /* "host-1234" */
    int64_t period_ms;    /* 0 means 1000 */
    int64_t ttl_ms;       /* 0 means 5000 */
    const char *version;  /* NULL means this build's bfq_version_text (core/version.h) */
};

/* Starts beating at once and then every period. Strings are copied. */
struct heartbeat *heartbeat_new(struct ev_loop *loop, struct rconn *rc,
                                const struct heartbeat_options *opts, heartbeat_fill_fn *fill,
                                void *privdata);

/* Writes now (e.g. after a state change worth showing at once). */
void heartbeat_beat(struct heartbeat *hb);

/* Stops the timer, deletes the key if connected (clean exit), frees. */
void heartbeat_free(struct heartbeat *hb);

/* The key this heartbeat writes, e.g. "bfq:hb:kline:host-1234". */
const char *heartbeat_key(const struct heartbeat *hb);

#endif
