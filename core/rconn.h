/* rconn: a Redis connection that stays up, on the libev loop (hiredis async).
 *
 * Connects from a URL redis://[user:pass@]host:port[/db] (or, with Redis Sentinel,
 * redis+sentinel://[user:pass@]h1:p1,h2:p2,.../master[/db]: before every connect it asks the
 * sentinels in turn, on the loop, where the master is; so a failover is followed at the next
 * reconnect, which the old master's demotion or death forces), authenticates with the ACL user
 * (AUTH user pass), selects the db, refuses a replica (READONLY, LOADING and MASTERDOWN count as
 * down), checks that the Lua function library Redis holds is exactly
 * the one this binary embeds (SHA-256 of its code, core/libcheck.h; rconn never loads it: only
 * the admin user does, with `bfq redis-setup`), then reports "up". When the library is missing
 * or differs, the connection never comes up: it logs, appends one alert to the alert stream per
 * streak, drops and retries with the backoff below, so a role writes nothing until the right
 * library is there. While up it checks again every library_check_ms and goes down (down
 * callback) on a mismatch. When the connection drops it reconnects with capped
 * backoff (core/backoff: 100 ms growing to 5 s by default, seeded jitter). Commands issued while
 * down fail at once (rconn_command returns -1 and never calls back); a command in flight when
 * the connection drops gets a NULL reply. So callers never queue unbounded work; they learn
 * about recovery from the up callback and resync from the keys.
 *
 * A dead path is noticed even when the connection stays open (a black hole: a frozen VM, a
 * dropped route, a primary gone after a failover): TCP keepalive is on, and a command whose
 * reply is older than the command deadline (default 3 s; so no blocking commands longer than
 * that) drops the connection, which fails every command in flight (NULL replies) and
 * reconnects. A Redis that cannot take writes (a replica: READONLY or MASTERDOWN; a server
 * still LOADING) counts as down too: the handshake asks HELLO for the server's role and
 * refuses a replica, and such an error reply to any command drops the connection (the reply
 * still reaches its callback). Callers therefore send no exchange request while
 * rconn_is_up() is 0: its results could not be written.
 *
 * A connection is either a command connection or a subscriber: rconn_subscribe switches it to
 * pub/sub and re-subscribes after every reconnect, calling the up callback so the subscriber can
 * resync from state keys (pub/sub drops messages while disconnected). A subscriber has no
 * replies to time, so it re-subscribes its first channel every command deadline as a probe and
 * reconnects when a probe goes unanswered for that long. */
#ifndef BFQ_RCONN_H
#define BFQ_RCONN_H

#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct rconn;
struct redisReply;

#define RCONN_ERR_MAX 256

#define RCONN_SENTINELS_MAX 8

struct rconn_addr {
    char host[256];
    int port;
};

/* Parsed redis:// or redis+sentinel:// URL. With Sentinel, host and port are where the
 * sentinels last said the master is ("" and 0 before the first answer). */
struct rconn_url {
    char host[256];
    int port;
    char user[128];
    char pass[256];
    int db;
    char master[128];    /* Sentinel: the master's name; "" for redis:// */
    int nsentinels;      /* Sentinel: how many sentinels (0 for redis://) */
    struct rconn_addr sentinels[RCONN_SENTINELS_MAX];
};

/* Parses url into out: redis://[user:pass@]host[:port][/db] (port 6379), or
 * redis+sentinel://[user:pass@]h1[:p1],h2[:p2],.../master[/db] (port 26379, at most
 * RCONN_SENTINELS_MAX sentinels; user and password are for the Redis servers, the sentinels
 * are asked without AUTH). Returns 0, or -1 with a reason in err (which never echoes the
 * password). */
int rconn_parse_url(const char *url, struct rconn_url *out, char *err, size_t errcap);

/* Takes a SENTINEL get-master-addr-by-name reply into u->host and u->port. Returns 0, or -1
 * with a reason in err (no reply, an error, an unknown master name, a malformed answer). */
int rconn_sentinel_reply(const struct redisReply *r, struct rconn_url *u, char *err,
                         size_t errcap);

/* Called with reply == NULL when the command failed (connection down or lost before the
 * answer); a Redis error reply arrives as a reply of type REDIS_REPLY_ERROR. The reply is freed
 * by hiredis after the callback returns. */
typedef void rconn_reply_fn(struct rconn *rc, struct redisReply *reply, void *privdata);

/* up: the connection is ready (after AUTH, SELECT, the library check, and re-subscribe).
 * down: the connection was lost; errstr says why. Either may be NULL. */
struct rconn_callbacks {
    void (*up)(struct rconn *rc, void *privdata);
    void (*down)(struct rconn *rc, const char *errstr, void *privdata);
    void *privdata;
};

struct rconn_options {
    const char *url;            /* copied */
    const char *name;           /* CLIENT SETNAME, e.g. "kline:host-123"; may be NULL */
    const char *lua_library;    /* function library source Redis must hold, or NULL: no check */
    const char *alert_key;      /* stream for the library alert ("bfq:alerts"), or NULL: none */
    int64_t library_check_ms;   /* 0 means 5000: how often an up connection checks again */
    int64_t backoff_min_ms;     /* 0 means 100 */
    int64_t backoff_max_ms;     /* 0 means 5000 */
    int64_t connect_timeout_ms; /* 0 means 2000 */
    int64_t command_timeout_ms; /* reply deadline; 0 means RCONN_COMMAND_TIMEOUT_MS, <0: none */
};

/* Default deadline of a command's reply ([redis] command_timeout). */
#define RCONN_COMMAND_TIMEOUT_MS 3000

/* Creates the connection and starts connecting. Returns NULL with err on a bad URL. The
 * password is registered for log redaction. */
struct rconn *rconn_new(struct ev_loop *loop, const struct rconn_options *opts,
                        const struct rconn_callbacks *cbs, char *err, size_t errcap);

/* Disconnects (pending callbacks get NULL) and frees. Safe to call from any callback of this
 * connection: the free then happens when hiredis has returned. */
void rconn_free(struct rconn *rc);

/* Nonzero while the connection is ready for commands (not after an unavailable reply). */
int rconn_is_up(const struct rconn *rc);

/* Nonzero when a Redis error reply text means "this server takes no writes now" (READONLY,
 * LOADING, MASTERDOWN): rconn then treats the connection as down. */
int rconn_unavailable_error(const char *str);

/* Sends a command (printf-style as redisAsyncCommand, or argv form). Returns 0 when sent; -1
 * when down, in which case fn is NOT called. fn may be NULL to ignore the reply. */
int rconn_command(struct rconn *rc, rconn_reply_fn *fn, void *privdata, const char *fmt, ...);
int rconn_command_argv(struct rconn *rc, rconn_reply_fn *fn, void *privdata, int argc,
                       const char **argv, const size_t *argvlen);

/* Subscriber mode: fn receives every message of channel (or of pattern when the channel ends
 * in '*') as (channel, payload, len). Subscriptions survive reconnects. */
typedef void rconn_message_fn(struct rconn *rc, const char *channel, const char *payload,
                              size_t len, void *privdata);
int rconn_subscribe(struct rconn *rc, const char *channel, rconn_message_fn *fn, void *privdata);

/* Counters for heartbeats and status. */
struct rconn_stats {
    int64_t connects, disconnects, commands, errors;
};
struct rconn_stats rconn_stats(const struct rconn *rc);

#endif
