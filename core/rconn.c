/* rconn: a Redis connection that stays up, on the libev loop (hiredis 0.14 async API).
 *
 * States: DOWN (waiting for the retry timer) -> [RESOLVING: with Sentinel, asking one sentinel
 * after the other where the master is, on its own hiredis context, bounded by the connect
 * timer] -> CONNECTING (TCP under way) -> HANDSHAKE
 * (AUTH, SELECT, CLIENT SETNAME, HELLO for the server's role, function library check, each
 * waiting for the previous answer) -> UP (re-subscribed, up() called). Any failure goes back to
 * DOWN and arms the retry timer with core/backoff's delay (reset at UP).
 *
 * Dead paths: user commands sit in an in-flight list (oldest first, since Redis answers in
 * order) from send to reply; one `deadline` timer runs while the list is not empty and drops
 * the connection when the head is older than cmd_timeout. A subscriber connection re-sends
 * its first SUBSCRIBE every ping_every (the `ping` timer) and drops the connection when the
 * previous one is unanswered. Keepalive and TCP_USER_TIMEOUT are set on every socket.
 *
 * hiredis ownership: a redisAsyncContext is freed by hiredis itself after the connect
 * callback reports failure and after the disconnect callback returns; we only forget our
 * pointer there. When we want to drop a connection from inside a hiredis callback (a failed
 * AUTH, rconn_free from a user callback) we set a flag and do it from a zero-delay timer
 * ("kick"), outside hiredis, so that hiredis never runs on a freed context. A connect that
 * hangs is cut by the connect timer (hiredis 0.14 has no async connect timeout); the same
 * timer bounds the handshake.
 *
 * The library check (FUNCTION LIST LIBRARYNAME <name> WITHCODE, judged by core/libcheck) is a
 * handshake step: a missing or foreign library fails the handshake like a refused AUTH, after
 * one XADD to the alert stream per streak (the alert's reply is awaited, so it is not lost
 * with the connection). An up connection repeats the check from the libcheck timer; a
 * mismatch there refuses commands at once, reports down and drops the connection, and the
 * handshake takes over from there.
 *
 * rc->depth counts the hiredis callbacks of this connection that are running; rconn_free
 * defers the real free while it is nonzero. */
#include "core/rconn.h"

#include <ev.h>
#include <hiredis/adapters/libev.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/backoff.h"
#include "core/libcheck.h"
#include "core/log.h"
#include "core/timebase.h"

#define RCONN_SUBS_MAX 256
#define RCONN_NAME_MAX 128
#define RCONN_KEEPIDLE_S 5  /* TCP keepalive: first probe after 5 s idle, */
#define RCONN_KEEPINTVL_S 2 /* then every 2 s, */
#define RCONN_SENTINEL_CHECK_MS 1000 /* while up, how often the sentinel is asked again */
#define RCONN_KEEPCNT 3     /* dead after 3 unanswered: an idle dead path is cut in ~11 s */

enum rconn_state { RC_DOWN, RC_RESOLVING, RC_CONNECTING, RC_HANDSHAKE, RC_UP };

struct rconn_sub {
    struct rconn *rc;
    char *channel;
    int pattern;
    rconn_message_fn *fn;
    void *privdata;
};

struct rconn {
    struct ev_loop *loop;
    struct rconn_url url;
    char name[RCONN_NAME_MAX];
    const char *lua;          /* library source (borrowed: static storage), or NULL */
    char lib_name[LIBCHECK_NAME_MAX];      /* from the source's "#!lua name=" line */
    char lib_hash[LIBCHECK_HEX_LEN + 1];   /* SHA-256 of the source */
    char lib_why[RCONN_ERR_MAX];           /* why the last check failed */
    char alert_key[RCONN_NAME_MAX];        /* "" when no alert stream */
    int lib_logged;           /* a failed check was logged since the last good one */
    int lib_alerted;          /* ... and alerted */
    int lib_inflight;         /* a periodic check awaits its reply */
    int64_t lib_check_ms;
    ev_timer libtimer;
    int64_t connect_timeout;
    int64_t cmd_timeout;      /* deadline of a command's reply, ms; 0: none */
    int64_t ping_every;       /* subscriber PING period, ms; 0: none */
    struct rconn_callbacks cbs;

    redisAsyncContext *ctx;
    redisAsyncContext *sctx;  /* Sentinel: the sentinel being asked (RC_RESOLVING), or NULL */
    int sidx, stried;         /* Sentinel: the one to ask next; how many failed this round */
    int scheck_pending;       /* Sentinel: a question on sctx awaits its answer */
    ev_timer stimer;          /* Sentinel: while up, asks again every RCONN_SENTINEL_CHECK_MS */
    enum rconn_state state;
    struct backoff bo;        /* reconnect delays; bo.attempts failed since the last up */
    char lasterr[RCONN_ERR_MAX];

    struct rconn_cmd *cmd_head, *cmd_tail; /* user commands awaiting a reply, oldest first */
    int ping_pending;         /* subscriber: a probe is out, its answer not seen yet */

    ev_timer retry, timeout, kick, deadline, ping;
    int kick_drop, closing, freed_pending;
    int depth;

    struct rconn_sub *subs[RCONN_SUBS_MAX];
    int nsubs;
    struct rconn_stats stats;
};

/* A user command waiting for its reply, in rc's in-flight list from send to reply. */
struct rconn_cmd {
    struct rconn *rc;
    rconn_reply_fn *fn;
    void *privdata;
    mono_ms_t sent;
    struct rconn_cmd *prev, *next;
};

static void rc_connect(struct rconn *rc);
static void rc_sentinel_forget(struct rconn *rc, int in_callback);
static void rc_sentinel_next(struct rconn *rc, const char *why);
static void rc_handshake_next(struct rconn *rc, int step);
static void rc_handshake_role(struct rconn *rc, const redisReply *r);

/* ---- URL ---------------------------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Copies s[0..n) percent-decoded into out (capacity cap). Returns 0 or -1. */
static int url_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n) return -1;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) return -1;
            c = h * 16 + l;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap) return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

static int parse_uint(const char *s, size_t n, long long max, long long *out)
{
    if (n == 0 || n > 10) return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max) return -1;
    *out = v;
    return 0;
}

/* user:pass (either may be empty, but a user needs a password). */
static int parse_userinfo(const char *s, size_t n, struct rconn_url *out, char *err, size_t ecap)
{
    const char *colon = memchr(s, ':', n);
    if (!colon) {
        snprintf(err, ecap, "redis url: user without password (use redis://user:pass@host)");
        return -1;
    }
    size_t ulen = (size_t)(colon - s);
    if (url_decode(s, ulen, out->user, sizeof out->user) < 0 ||
        url_decode(colon + 1, n - ulen - 1, out->pass, sizeof out->pass) < 0) {
        snprintf(err, ecap, "redis url: bad or too long user or password");
        return -1;
    }
    if (!out->pass[0]) {
        snprintf(err, ecap, "redis url: empty password");
        return -1;
    }
    return 0;
}

/* host[:port] with host possibly [ipv6]; port defport when absent. */
static int parse_hostport(const char *s, size_t n, struct rconn_url *out, int defport, char *err,
                          size_t ecap)
{
    const char *hs = s, *he, *rest;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close) goto bad;
        hs = s + 1;
        he = close;
        rest = close + 1;
    } else {
        const char *colon = memchr(s, ':', n);
        he = colon ? colon : s + n;
        rest = he;
    }
    size_t hlen = (size_t)(he - hs), left = (size_t)(s + n - rest);
    if (hlen == 0 || hlen >= sizeof out->host) goto bad;
    memcpy(out->host, hs, hlen);
    out->host[hlen] = '\0';
    out->port = defport;
    if (left > 0) {
        long long port;
        if (rest[0] != ':' || parse_uint(rest + 1, left - 1, 65535, &port) < 0 || port == 0) {
            snprintf(err, ecap, "redis url: bad port");
            return -1;
        }
        out->port = (int)port;
    }
    return 0;
bad:
    snprintf(err, ecap, "redis url: bad host");
    return -1;
}

/* h1[:p1],h2[:p2],... into out->sentinels (Sentinel's port 26379 by default). */
static int parse_sentinels(const char *s, size_t n, struct rconn_url *out, char *err,
                           size_t ecap)
{
    struct rconn_url one;
    for (size_t i = 0;;) {
        const char *comma = memchr(s + i, ',', n - i);
        size_t end = comma ? (size_t)(comma - s) : n;
        if (out->nsentinels >= RCONN_SENTINELS_MAX) {
            snprintf(err, ecap, "redis url: more than %d sentinels", RCONN_SENTINELS_MAX);
            return -1;
        }
        if (parse_hostport(s + i, end - i, &one, 26379, err, ecap) < 0) return -1;
        struct rconn_addr *a = &out->sentinels[out->nsentinels++];
        memcpy(a->host, one.host, sizeof a->host);
        a->port = one.port;
        if (!comma) return 0;
        i = end + 1;
    }
}

/* The master's name of a Sentinel URL: what `sentinel monitor NAME` says, [A-Za-z0-9._-]. */
static int parse_master(const char *s, size_t n, struct rconn_url *out, char *err, size_t ecap)
{
    int ok = n > 0 && n < sizeof out->master;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    }
    if (!ok) {
        snprintf(err, ecap, "redis url: missing or bad master name "
                            "(redis+sentinel://h1:p1,h2:p2/NAME[/db])");
        return -1;
    }
    memcpy(out->master, s, n);
    out->master[n] = '\0';
    return 0;
}

int rconn_parse_url(const char *url, struct rconn_url *out, char *err, size_t errcap)
{
    static const char scheme[] = "redis://", sscheme[] = "redis+sentinel://";
    memset(out, 0, sizeof *out);
    int sentinel = url && strncmp(url, sscheme, sizeof sscheme - 1) == 0;
    if (!url || (!sentinel && strncmp(url, scheme, sizeof scheme - 1) != 0)) {
        snprintf(err, errcap, "redis url must start with redis:// or redis+sentinel://");
        return -1;
    }
    const char *p = url + (sentinel ? sizeof sscheme : sizeof scheme) - 1;
    size_t n = strlen(p);
    if (n > 1024) {
        snprintf(err, errcap, "redis url too long");
        return -1;
    }
    const char *slash = memchr(p, '/', n);
    size_t auth_end = slash ? (size_t)(slash - p) : n;
    const char *at = NULL;
    for (size_t i = 0; i < auth_end; i++)
        if (p[i] == '@') at = p + i; /* the last '@': a password may hold one, encoded or not */
    if (at && parse_userinfo(p, (size_t)(at - p), out, err, errcap) < 0) return -1;
    const char *hp = at ? at + 1 : p;
    size_t hn = (size_t)(p + auth_end - hp);
    if (sentinel ? parse_sentinels(hp, hn, out, err, errcap) < 0
                 : parse_hostport(hp, hn, out, 6379, err, errcap) < 0)
        return -1;
    const char *dbs = slash && slash[1] ? slash + 1 : NULL;
    if (sentinel) {
        const char *end = dbs ? strchr(dbs, '/') : NULL;
        if (parse_master(dbs ? dbs : "", dbs ? (end ? (size_t)(end - dbs) : strlen(dbs)) : 0,
                         out, err, errcap) < 0)
            return -1;
        out->host[0] = '\0';
        out->port = 0;
        dbs = end && end[1] ? end + 1 : NULL;
    }
    if (dbs) {
        long long db;
        if (parse_uint(dbs, strlen(dbs), 100000, &db) < 0) {
            snprintf(err, errcap, "redis url: bad db number");
            return -1;
        }
        out->db = (int)db;
    }
    return 0;
}

int rconn_sentinel_reply(const redisReply *r, struct rconn_url *u, char *err, size_t errcap)
{
    long long port = 0;
    if (!r || r->type == REDIS_REPLY_ERROR) {
        snprintf(err, errcap, "%.200s", r ? r->str : "no answer");
        return -1;
    }
    if (r->type == REDIS_REPLY_NIL) {
        snprintf(err, errcap, "the sentinel knows no master named %s", u->master);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING ||
        r->element[0]->len == 0 || r->element[0]->len >= sizeof u->host ||
        parse_uint(r->element[1]->str, r->element[1]->len, 65535, &port) < 0 || port == 0) {
        snprintf(err, errcap, "malformed answer to SENTINEL get-master-addr-by-name");
        return -1;
    }
    memcpy(u->host, r->element[0]->str, r->element[0]->len + 1);
    u->port = (int)port;
    return 0;
}

/* ---- state changes ------------------------------------------------------------------ */

/* The connection is gone (ctx already forgotten): report and schedule the next attempt. */
static void rc_lost(struct rconn *rc, const char *why)
{
    int was_up = rc->state == RC_UP;
    /* a master the sentinel named failed us: ask the next sentinel first (it may be the one
     * that has not heard of the failover yet) */
    if (rc->url.nsentinels > 0 && !was_up && rc->state != RC_RESOLVING)
        rc->sidx = (rc->sidx + 1) % rc->url.nsentinels;
    rc->state = RC_DOWN;
    ev_timer_stop(rc->loop, &rc->timeout);
    ev_timer_stop(rc->loop, &rc->deadline);
    ev_timer_stop(rc->loop, &rc->ping);
    ev_timer_stop(rc->loop, &rc->stimer);
    rc->ping_pending = 0;
    snprintf(rc->lasterr, sizeof rc->lasterr, "%s", why ? why : "unknown");
    if (rc->closing) return;
    if (was_up) {
        rc->stats.disconnects++;
        log_warn("redis connection lost", "host=%s port=%d err=\"%s\"", rc->url.host,
                 rc->url.port, rc->lasterr);
    } else if (rc->bo.attempts == 0 || rc->bo.attempts % 20 == 0) {
        log_warn("redis connect failed, retrying", "host=%s port=%d err=\"%s\" attempts=%d",
                 rc->url.host, rc->url.port, rc->lasterr, rc->bo.attempts + 1);
    }
    int64_t ms = backoff_next(&rc->bo);
    ev_timer_set(&rc->retry, (double)ms / 1000.0, 0.0);
    ev_timer_start(rc->loop, &rc->retry);
    if (was_up && rc->cbs.down) rc->cbs.down(rc, rc->lasterr, rc->cbs.privdata);
}

/* Drops the current connection now; only outside hiredis callbacks. */
static void rc_drop_now(struct rconn *rc, const char *why)
{
    redisAsyncContext *ac = rc->ctx;
    if (!ac) return;
    snprintf(rc->lasterr, sizeof rc->lasterr, "%s", why);
    redisAsyncFree(ac); /* runs pending callbacks with NULL, then on_disconnect if connected */
    if (rc->ctx == ac) { /* not connected yet: hiredis called no disconnect callback */
        rc->ctx = NULL;
        rc_lost(rc, why);
    }
}

/* Asks for the connection to be dropped from the next loop turn (safe in callbacks). */
static void rc_drop_later(struct rconn *rc, const char *why)
{
    snprintf(rc->lasterr, sizeof rc->lasterr, "%s", why);
    rc->kick_drop = 1;
    ev_timer_set(&rc->kick, 0.0, 0.0);
    ev_timer_start(rc->loop, &rc->kick);
}

static void rc_really_free(struct rconn *rc);

static void on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rconn *rc = w->data;
    if (rc->freed_pending) {
        rc_really_free(rc);
        return;
    }
    if (rc->kick_drop) {
        rc->kick_drop = 0;
        char why[RCONN_ERR_MAX];
        snprintf(why, sizeof why, "%s", rc->lasterr);
        rc_drop_now(rc, why);
    }
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    rc_connect(w->data);
}

static void on_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rconn *rc = w->data;
    if (rc->state == RC_RESOLVING) {
        rc_sentinel_forget(rc, 0);
        rc_sentinel_next(rc, "no answer in time");
        return;
    }
    rc_drop_now(rc, rc->state == RC_CONNECTING ? "connect timeout" : "handshake timeout");
}

/* The oldest command in flight is older than the deadline: the path to Redis is dead, or
 * Redis hangs (a black hole never closes the connection, so hiredis would wait forever). */
static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    struct rconn *rc = w->data;
    if (!rc->cmd_head || !rc->ctx) return;
    /* A slow loop turn may run this timer before the read watcher of a reply that did come:
     * take what the socket holds first (callbacks may free rc: deferred, see depth). */
    rc->depth++;
    redisAsyncHandleRead(rc->ctx);
    rc->depth--;
    if (rc->closing || !rc->cmd_head || !rc->ctx) return;
    int64_t age = timebase_mono_ms() - rc->cmd_head->sent;
    if (age < rc->cmd_timeout) {
        ev_timer_set(w, (double)(rc->cmd_timeout - age) / 1000.0, 0.0);
        ev_timer_start(loop, w);
        return;
    }
    char why[64];
    snprintf(why, sizeof why, "no reply within %lld ms", (long long)rc->cmd_timeout);
    rc_drop_now(rc, why);
}

/* Subscriber keep-alive: a connection in pub/sub mode has no replies to time, so every
 * ping_every it probes and drops the connection when the previous probe is unanswered. */
static void rc_ping_send(struct rconn *rc);

/* Starts the probe period on a subscriber connection (no-op when running or not wanted). */
static void rc_ping_arm(struct rconn *rc)
{
    if (rc->nsubs == 0 || rc->ping_every <= 0 || ev_is_active(&rc->ping)) return;
    rc->ping_pending = 0;
    ev_timer_set(&rc->ping, (double)rc->ping_every / 1000.0, 0.0);
    ev_timer_start(rc->loop, &rc->ping);
}

static void on_ping(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rconn *rc = w->data;
    if (!rc->ctx || rc->state != RC_UP) return;
    if (rc->ping_pending) {
        char why[64];
        snprintf(why, sizeof why, "no answer to the probe within %lld ms",
                 (long long)rc->ping_every);
        rc_drop_now(rc, why);
        return;
    }
    rc_ping_send(rc);
}

/* Turns TCP keepalive on (and bounds unacknowledged data with TCP_USER_TIMEOUT), so that a
 * dead path is noticed by the kernel even on a connection with nothing to send. Best effort:
 * a failure is logged and ignored, the command deadline still applies. */
static void rc_keepalive(struct rconn *rc, int fd)
{
    int on = 1, idle = RCONN_KEEPIDLE_S, intvl = RCONN_KEEPINTVL_S, cnt = RCONN_KEEPCNT;
    unsigned int user = rc->cmd_timeout > 0 ? (unsigned int)rc->cmd_timeout : 0;
    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) < 0 ||
        (user && setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user, sizeof user) < 0))
        log_warn("redis keepalive not set, ignored", "host=%s port=%d", rc->url.host,
                 rc->url.port);
}

/* Nonzero for the error replies of a Redis that cannot take writes now: a replica (READONLY,
 * or MASTERDOWN when it serves no stale data), or a server still loading its data (LOADING).
 * The connection is healthy but useless to a writer, so rconn treats it as down. */
int rconn_unavailable_error(const char *str)
{
    static const char *const codes[] = {"READONLY", "LOADING", "MASTERDOWN"};
    if (!str) return 0;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        size_t n = strlen(codes[i]);
        if (strncmp(str, codes[i], n) == 0 && (str[n] == ' ' || str[n] == '\0')) return 1;
    }
    return 0;
}

/* ---- hiredis callbacks -------------------------------------------------------------- */

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct rconn *rc = ac->data;
    if (!rc || rc->ctx != ac) return;
    rc->depth++;
    rc->ctx = NULL;
    const char *why = status == REDIS_OK ? "closed" : (ac->errstr[0] ? ac->errstr : "error");
    if (status == REDIS_OK && rc->lasterr[0] && rc->kick_drop == 0) why = rc->lasterr;
    char buf[RCONN_ERR_MAX];
    snprintf(buf, sizeof buf, "%s", why);
    rc_lost(rc, buf);
    rc->depth--;
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct rconn *rc = ac->data;
    if (!rc || rc->ctx != ac) return;
    rc->depth++;
    if (status != REDIS_OK) {
        char buf[RCONN_ERR_MAX];
        snprintf(buf, sizeof buf, "%s", ac->errstr[0] ? ac->errstr : "connect failed");
        rc->ctx = NULL; /* hiredis frees it after we return */
        rc_lost(rc, buf);
    } else {
        rc->state = RC_HANDSHAKE;
        rc->stats.connects++;
        rc_handshake_next(rc, 0);
    }
    rc->depth--;
}

/* Connects to rc->url.host and port (the master, with Sentinel). */
static void rc_connect_addr(struct rconn *rc)
{
    if (rc->closing || rc->ctx) return;
    rc->state = RC_CONNECTING;
    rc->lasterr[0] = '\0';
    rc->kick_drop = 0;
    redisAsyncContext *ac = redisAsyncConnect(rc->url.host, rc->url.port);
    if (!ac) {
        rc_lost(rc, "out of memory");
        return;
    }
    if (ac->err) {
        char buf[RCONN_ERR_MAX];
        snprintf(buf, sizeof buf, "%s", ac->errstr);
        redisAsyncFree(ac);
        rc_lost(rc, buf);
        return;
    }
    ac->data = rc;
    rc->ctx = ac;
    rc_keepalive(rc, ac->c.fd);
    redisLibevAttach(rc->loop, ac);
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    ev_timer_set(&rc->timeout, (double)rc->connect_timeout / 1000.0, 0.0);
    ev_timer_start(rc->loop, &rc->timeout);
}

/* ---- Sentinel: where the master is ----------------------------------------------------- */

/* Two uses of one sentinel connection (rc->sctx): while RESOLVING it is asked once and closed,
 * and the answer starts the connection to the master; while UP it stays open and is asked
 * again every RCONN_SENTINEL_CHECK_MS (the stimer), and an answer naming another address drops
 * the master connection, which then resolves again. The second is needed because Sentinel
 * demotes an old primary that is still running only after several seconds: until then it
 * takes writes that the new primary never sees. */

/* Forgets the sentinel connection: its callbacks see no rconn from here. From inside one of
 * its hiredis callbacks it is closed by hiredis after the callback; otherwise freed now. */
static void rc_sentinel_forget(struct rconn *rc, int in_callback)
{
    redisAsyncContext *ac = rc->sctx;
    if (!ac) return;
    rc->sctx = NULL;
    rc->scheck_pending = 0;
    ac->data = NULL;
    if (in_callback) redisAsyncDisconnect(ac);
    else redisAsyncFree(ac);
}

static void rc_sentinel_ask(struct rconn *rc);

/* The sentinel asked failed (why): ask the next one, or back off when all failed. */
static void rc_sentinel_next(struct rconn *rc, const char *why)
{
    const struct rconn_addr *a = &rc->url.sentinels[rc->sidx];
    snprintf(rc->lasterr, sizeof rc->lasterr, "sentinel %.100s:%d: %.120s", a->host, a->port,
             why);
    rc->sidx = (rc->sidx + 1) % rc->url.nsentinels;
    rc->stried++;
    rc_sentinel_ask(rc);
}

/* An answer while RESOLVING: connect to the master it names, or ask the next sentinel. */
static void rc_sentinel_resolved(struct rconn *rc, const redisReply *r)
{
    char err[RCONN_ERR_MAX], was[sizeof rc->url.host + 8], now[sizeof was];
    snprintf(was, sizeof was, "%s:%d", rc->url.host, rc->url.port);
    int ok = rconn_sentinel_reply(r, &rc->url, err, sizeof err) == 0;
    rc_sentinel_forget(rc, 1);
    if (!ok) {
        rc_sentinel_next(rc, err);
        return;
    }
    snprintf(now, sizeof now, "%s:%d", rc->url.host, rc->url.port);
    if (strcmp(was, now) != 0)
        log_info("sentinel: master address", "master=%s addr=%s was=%s", rc->url.master, now,
                 was);
    ev_timer_stop(rc->loop, &rc->timeout);
    rc_connect_addr(rc);
}

/* An answer while UP: a master elsewhere drops the connection (it resolves again); a failed
 * answer closes the sentinel connection, and the next check asks the next sentinel. */
static void rc_sentinel_checked(struct rconn *rc, const redisReply *r)
{
    struct rconn_url u = rc->url;
    char err[RCONN_ERR_MAX];
    rc->scheck_pending = 0;
    if (rconn_sentinel_reply(r, &u, err, sizeof err) < 0) {
        rc_sentinel_forget(rc, 1);
        rc->sidx = (rc->sidx + 1) % rc->url.nsentinels;
        return;
    }
    if (rc->state != RC_UP || (u.port == rc->url.port && strcmp(u.host, rc->url.host) == 0))
        return;
    char why[RCONN_ERR_MAX];
    snprintf(why, sizeof why, "sentinel: master %.60s moved to %.100s:%d", rc->url.master, u.host,
             u.port);
    rc_sentinel_forget(rc, 1);
    rc->stats.errors++;
    rc_drop_later(rc, why);
}

static void on_sentinel_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct rconn *rc = ac->data;
    (void)privdata;
    if (!rc || !reply) return; /* forgotten, or lost: on_sentinel_disconnect handles it */
    rc->depth++;
    if (rc->state == RC_RESOLVING) rc_sentinel_resolved(rc, reply);
    else rc_sentinel_checked(rc, reply);
    rc->depth--;
}

/* Sends the question on the sentinel connection. */
static void rc_sentinel_query(struct rconn *rc)
{
    if (redisAsyncCommand(rc->sctx, on_sentinel_reply, NULL,
                          "SENTINEL get-master-addr-by-name %s", rc->url.master) == REDIS_OK)
        rc->scheck_pending = 1;
    /* else the question stays unasked: the timeout, or the next check, moves on */
}

static void on_sentinel_connect(const redisAsyncContext *ac, int status)
{
    struct rconn *rc = ac->data;
    if (!rc || rc->sctx != ac) return;
    rc->depth++;
    if (status != REDIS_OK) {
        char buf[RCONN_ERR_MAX];
        snprintf(buf, sizeof buf, "%s", ac->errstr[0] ? ac->errstr : "connect failed");
        rc->sctx = NULL; /* hiredis frees it after we return */
        rc->scheck_pending = 0;
        if (rc->state == RC_RESOLVING) rc_sentinel_next(rc, buf);
        else rc->sidx = (rc->sidx + 1) % rc->url.nsentinels;
    } else {
        rc_sentinel_query(rc);
    }
    rc->depth--;
}

static void on_sentinel_disconnect(const redisAsyncContext *ac, int status)
{
    struct rconn *rc = ac->data;
    (void)status;
    if (!rc || rc->sctx != ac) return;
    rc->depth++;
    rc->sctx = NULL;
    rc->scheck_pending = 0;
    if (rc->state == RC_RESOLVING)
        rc_sentinel_next(rc, ac->errstr[0] ? ac->errstr : "closed before answering");
    else rc->sidx = (rc->sidx + 1) % rc->url.nsentinels;
    rc->depth--;
}

/* Opens the connection to sentinel rc->sidx (its connect callback asks). 0, or -1 with why. */
static int rc_sentinel_open(struct rconn *rc, char *why, size_t cap)
{
    const struct rconn_addr *a = &rc->url.sentinels[rc->sidx];
    redisAsyncContext *ac = redisAsyncConnect(a->host, a->port);
    if (!ac || ac->err) {
        snprintf(why, cap, "%s", ac ? ac->errstr : "out of memory");
        if (ac) redisAsyncFree(ac);
        return -1;
    }
    ac->data = rc;
    rc->sctx = ac;
    rc->scheck_pending = 0;
    redisLibevAttach(rc->loop, ac);
    redisAsyncSetConnectCallback(ac, on_sentinel_connect);
    redisAsyncSetDisconnectCallback(ac, on_sentinel_disconnect);
    return 0;
}

/* Asks sentinel rc->sidx where the master is; the answer connects to it. After every
 * sentinel of the URL failed in this round, the connection is down and backs off. */
static void rc_sentinel_ask(struct rconn *rc)
{
    char why[RCONN_ERR_MAX];
    if (rc->stried >= rc->url.nsentinels) {
        snprintf(why, sizeof why, "%s", rc->lasterr);
        rc_lost(rc, why);
        return;
    }
    rc->state = RC_RESOLVING;
    if (rc_sentinel_open(rc, why, sizeof why) < 0) {
        rc_sentinel_next(rc, why);
        return;
    }
    ev_timer_stop(rc->loop, &rc->timeout);
    ev_timer_set(&rc->timeout, (double)rc->connect_timeout / 1000.0, 0.0);
    ev_timer_start(rc->loop, &rc->timeout);
}

/* While up: asks the sentinel again (a question unanswered since the last check closes that
 * sentinel connection; the next check opens one to the next sentinel). */
static void on_stimer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct rconn *rc = w->data;
    char why[RCONN_ERR_MAX];
    (void)loop;
    (void)revents;
    if (rc->state != RC_UP || rc->closing || rc->kick_drop) return;
    if (rc->sctx && rc->scheck_pending) {
        rc_sentinel_forget(rc, 0);
        rc->sidx = (rc->sidx + 1) % rc->url.nsentinels;
    }
    if (!rc->sctx) {
        if (rc_sentinel_open(rc, why, sizeof why) < 0)
            rc->sidx = (rc->sidx + 1) % rc->url.nsentinels;
        return; /* the connect callback asks */
    }
    rc_sentinel_query(rc);
}

/* Starts a connection: straight to the URL's server, or through the sentinels. */
static void rc_connect(struct rconn *rc)
{
    if (rc->closing || rc->ctx) return;
    if (rc->url.nsentinels == 0) {
        rc_connect_addr(rc);
        return;
    }
    rc_sentinel_forget(rc, 0); /* the check connection of the last up period, if any */
    rc->lasterr[0] = '\0';
    rc->kick_drop = 0;
    rc->stried = 0;
    rc_sentinel_ask(rc);
}

/* ---- handshake ---------------------------------------------------------------------- */

enum { HS_AUTH, HS_SELECT, HS_NAME, HS_ROLE, HS_LIBCHECK, HS_ALERT, HS_SUBSCRIBE, HS_DONE };

static void rc_handshake_fail(struct rconn *rc, const char *what, const redisReply *r)
{
    char buf[RCONN_ERR_MAX];
    snprintf(buf, sizeof buf, "%s: %s", what, r && r->str ? r->str : "no answer");
    rc->stats.errors++;
    rc_drop_later(rc, buf); /* rc_lost logs it, once per streak of failures */
}

/* ---- function library check ---------------------------------------------------------- */

static void on_handshake(redisAsyncContext *ac, void *reply, void *privdata);

/* Judges a FUNCTION LIST reply: 0 when the library is ours; else -1 with rc->lib_why set and
 * the failure logged once per streak. */
static int rc_lib_judge(struct rconn *rc, const redisReply *r)
{
    char why[RCONN_ERR_MAX];
    if (libcheck_reply(r, rc->lib_name, rc->lib_hash, why, sizeof why) == LIBCHECK_OK) {
        if (rc->lib_logged) log_info("redis function library verified, resuming", NULL);
        rc->lib_logged = rc->lib_alerted = 0;
        return 0;
    }
    snprintf(rc->lib_why, sizeof rc->lib_why, "%s", why);
    if (!rc->lib_logged)
        log_error("redis function library refused: writing nothing until the admin loads this "
                  "build's library (bfq redis-setup)", "why=\"%s\"", why);
    rc->lib_logged = 1;
    return -1;
}

/* Fails the handshake after a refused library; the backoff retries it. */
static void rc_lib_fail(struct rconn *rc)
{
    rc->lib_alerted = 1;
    rc->stats.errors++;
    rc_drop_later(rc, rc->lib_why);
}

/* XADD <alert_key> MAXLEN ~ 10000 * level error key ... once per streak, as a handshake step.
 * Returns 0 when sent (its reply continues the handshake), -1 when there is nothing to send. */
static int rc_lib_alert(struct rconn *rc)
{
    char t[24];
    if (rc->lib_alerted || !rc->alert_key[0]) return -1;
    snprintf(t, sizeof t, "%lld", (long long)timebase_wall_ms());
    const char *argv[] = {"XADD", rc->alert_key, "MAXLEN", "~", "10000", "*",
                          "level", "error", "key", "redis:function-library",
                          "text", rc->lib_why, "src", rc->name[0] ? rc->name : "bfq", "t", t};
    size_t lens[16];
    for (int i = 0; i < 16; i++) lens[i] = strlen(argv[i]);
    return redisAsyncCommandArgv(rc->ctx, on_handshake, (void *)(intptr_t)HS_ALERT, 16, argv,
                                 lens) == REDIS_OK ? 0 : -1;
}

/* Reply of a periodic check on an up connection. A refused library stops commands at once,
 * reports down, and drops the connection: the handshake then alerts and retries. */
static void on_libcheck(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct rconn *rc = ac->data;
    (void)privdata;
    if (!rc) return;
    rc->lib_inflight = 0;
    if (!reply || rc->ctx != ac || rc->state != RC_UP) return;
    rc->depth++;
    if (rc_lib_judge(rc, reply) < 0) {
        rc->state = RC_HANDSHAKE; /* no command passes from now on */
        rc->stats.disconnects++;
        rc_drop_later(rc, rc->lib_why);
        if (rc->cbs.down) rc->cbs.down(rc, rc->lib_why, rc->cbs.privdata);
    }
    rc->depth--;
}

static void on_libtimer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct rconn *rc = w->data;
    (void)loop;
    (void)revents;
    /* a subscriber cannot send FUNCTION LIST; its handshake checked the library */
    if (!rc->lua || rc->state != RC_UP || !rc->ctx || rc->closing || rc->nsubs > 0 ||
        rc->lib_inflight)
        return;
    const char *argv[] = {"FUNCTION", "LIST", "LIBRARYNAME", rc->lib_name, "WITHCODE"};
    size_t lens[5];
    for (int i = 0; i < 5; i++) lens[i] = strlen(argv[i]);
    if (redisAsyncCommandArgv(rc->ctx, on_libcheck, NULL, 5, argv, lens) == REDIS_OK)
        rc->lib_inflight = 1;
}

/* Reply of one handshake step; privdata carries the step number. */
static void on_handshake(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct rconn *rc = ac->data;
    const redisReply *r = reply;
    int step = (int)(intptr_t)privdata;
    if (!rc || !r || rc->ctx != ac) return; /* lost: on_disconnect handles it */
    rc->depth++;
    int err = r->type == REDIS_REPLY_ERROR;
    if (err && step != HS_ALERT && rconn_unavailable_error(r->str)) {
        rc_handshake_fail(rc, "unavailable", r); /* backs off, tries again */
    } else if (step == HS_ROLE) {
        rc_handshake_role(rc, r);
    } else if (step == HS_LIBCHECK) {
        rc_handshake_next(rc, rc_lib_judge(rc, r) == 0 ? HS_SUBSCRIBE : HS_ALERT);
    } else if (step == HS_ALERT) {
        if (err) log_warn("library alert not written, ignored", "err=\"%s\"", r->str);
        rc_lib_fail(rc);
    } else if (err) {
        static const char *const what[] = {"AUTH", "SELECT", "CLIENT SETNAME"};
        rc_handshake_fail(rc, step < HS_ROLE ? what[step] : "handshake", r);
    } else {
        rc_handshake_next(rc, step + 1);
    }
    rc->depth--;
}

/* The value of field `name` in a RESP2 HELLO answer (a flat name, value array), or NULL. */
static const redisReply *hello_field(const redisReply *r, const char *name)
{
    if (r->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < r->elements; i += 2)
        if (r->element[i]->type == REDIS_REPLY_STRING && strcmp(r->element[i]->str, name) == 0)
            return r->element[i + 1];
    return NULL;
}

/* HELLO answered: only a primary takes bfq's writes. A replica (after a failover, or a
 * misconfigured URL) is refused like a failed connect, so roles see Redis as down, back off
 * and retry, instead of spending exchange weight on results every write would refuse. A
 * server without HELLO (an error answer) is taken as it is. */
static void rc_handshake_role(struct rconn *rc, const redisReply *r)
{
    const redisReply *role = hello_field(r, "role");
    if (r->type == REDIS_REPLY_ERROR || !role || role->type != REDIS_REPLY_STRING ||
        strcmp(role->str, "master") == 0) {
        rc_handshake_next(rc, HS_ROLE + 1);
        return;
    }
    char buf[64];
    snprintf(buf, sizeof buf, "server is a %.20s: READONLY", role->str);
    rc->stats.errors++;
    rc_drop_later(rc, buf);
}

static int rc_send_step(struct rconn *rc, int step, int argc, const char **argv)
{
    size_t lens[8];
    for (int i = 0; i < argc; i++) lens[i] = strlen(argv[i]);
    return redisAsyncCommandArgv(rc->ctx, on_handshake, (void *)(intptr_t)step, argc, argv,
                                 lens);
}

static void on_message(redisAsyncContext *ac, void *reply, void *privdata);
static int rc_send_subscribe(struct rconn *rc, struct rconn_sub *s);

static void rc_up(struct rconn *rc)
{
    for (int i = 0; i < rc->nsubs; i++) rc_send_subscribe(rc, rc->subs[i]);
    ev_timer_stop(rc->loop, &rc->timeout);
    rc->state = RC_UP;
    backoff_reset(&rc->bo);
    rc_ping_arm(rc);
    if (rc->url.nsentinels > 0) ev_timer_again(rc->loop, &rc->stimer);
    log_info("redis connected", "host=%s port=%d db=%d", rc->url.host, rc->url.port, rc->url.db);
    if (rc->cbs.up) rc->cbs.up(rc, rc->cbs.privdata);
}

/* Sends the first handshake step at or after `step` that applies to this connection. */
static void rc_handshake_next(struct rconn *rc, int step)
{
    char db[16];
    for (;; step++) {
        if (step == HS_AUTH && rc->url.pass[0]) {
            const char *a[] = {"AUTH", rc->url.user, rc->url.pass};
            if (rc->url.user[0]) {
                rc_send_step(rc, step, 3, a);
            } else {
                const char *b[] = {"AUTH", rc->url.pass};
                rc_send_step(rc, step, 2, b);
            }
            return;
        } else if (step == HS_SELECT && rc->url.db != 0) {
            snprintf(db, sizeof db, "%d", rc->url.db);
            rc_send_step(rc, step, 2, (const char *[]){"SELECT", db});
            return;
        } else if (step == HS_NAME && rc->name[0]) {
            rc_send_step(rc, step, 3, (const char *[]){"CLIENT", "SETNAME", rc->name});
            return;
        } else if (step == HS_ROLE) {
            /* HELLO runs for every ACL user (it needs no permission), during LOADING too */
            rc_send_step(rc, step, 2, (const char *[]){"HELLO", "2"});
            return;
        } else if (step == HS_LIBCHECK && rc->lua) {
            rc_send_step(rc, step, 5, (const char *[]){"FUNCTION", "LIST", "LIBRARYNAME",
                                                       rc->lib_name, "WITHCODE"});
            return;
        } else if (step == HS_ALERT) {
            /* reached only from a failed HS_LIBCHECK */
            if (rc_lib_alert(rc) < 0) rc_lib_fail(rc);
            return;
        } else if (step >= HS_SUBSCRIBE) {
            rc_up(rc);
            return;
        }
        if (step == HS_LIBCHECK) step = HS_ALERT; /* no library to check: skip its alert too */
    }
}

/* ---- subscriptions ------------------------------------------------------------------ */

static void on_message(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    struct rconn_sub *s = privdata;
    const redisReply *r = reply;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3) return;
    const redisReply *kind = r->element[0];
    if (kind->type != REDIS_REPLY_STRING) return;
    const redisReply *ch = NULL, *msg = NULL;
    if (r->elements == 3 && strcmp(kind->str, "message") == 0) {
        ch = r->element[1];
        msg = r->element[2];
    } else if (r->elements == 4 && strcmp(kind->str, "pmessage") == 0) {
        ch = r->element[2];
        msg = r->element[3];
    }
    struct rconn *rc = s->rc;
    if (strcmp(kind->str, "subscribe") == 0 || strcmp(kind->str, "psubscribe") == 0) {
        rc->ping_pending = 0; /* the answer to a (re)subscribe: the path is alive */
        return;
    }
    if (!ch || !msg || ch->type != REDIS_REPLY_STRING || msg->type != REDIS_REPLY_STRING) return;
    rc->depth++;
    s->fn(rc, ch->str, msg->str, msg->len, s->privdata);
    rc->depth--;
}

static int rc_send_subscribe(struct rconn *rc, struct rconn_sub *s)
{
    const char *argv[] = {s->pattern ? "PSUBSCRIBE" : "SUBSCRIBE", s->channel};
    size_t lens[] = {strlen(argv[0]), strlen(argv[1])};
    return redisAsyncCommandArgv(rc->ctx, on_message, s, 2, argv, lens) == REDIS_OK ? 0 : -1;
}

/* The probe is a SUBSCRIBE of the first subscription again: Redis answers it even in pub/sub
 * mode and it changes nothing. (A PING would do, but hiredis 0.14 keeps the callback of every
 * non-subscribe command sent in pub/sub mode until the connection closes: a slow leak.) */
static void rc_ping_send(struct rconn *rc)
{
    if (rc->nsubs > 0 && rc_send_subscribe(rc, rc->subs[0]) == 0) rc->ping_pending = 1;
    ev_timer_set(&rc->ping, (double)rc->ping_every / 1000.0, 0.0);
    ev_timer_start(rc->loop, &rc->ping);
}

int rconn_subscribe(struct rconn *rc, const char *channel, rconn_message_fn *fn, void *privdata)
{
    size_t n = channel ? strlen(channel) : 0;
    if (!fn || n == 0 || n > 512 || rc->nsubs >= RCONN_SUBS_MAX) return -1;
    struct rconn_sub *s = calloc(1, sizeof *s);
    if (!s || !(s->channel = strdup(channel))) {
        free(s);
        return -1;
    }
    s->rc = rc;
    s->pattern = channel[n - 1] == '*';
    s->fn = fn;
    s->privdata = privdata;
    rc->subs[rc->nsubs++] = s;
    if (rc->state == RC_UP && rc->ctx) rc_send_subscribe(rc, s);
    if (rc->state == RC_UP && rc->ctx) rc_ping_arm(rc);
    return 0;
}

/* ---- commands ----------------------------------------------------------------------- */

static void rc_cmd_unlink(struct rconn *rc, struct rconn_cmd *cmd)
{
    if (cmd->prev) cmd->prev->next = cmd->next;
    else rc->cmd_head = cmd->next;
    if (cmd->next) cmd->next->prev = cmd->prev;
    else rc->cmd_tail = cmd->prev;
    cmd->prev = cmd->next = NULL;
}

/* A command went out: it joins the in-flight list, and the deadline timer runs while the
 * list is not empty (one timer for all: replies come in order, the head is the oldest). */
static void rc_cmd_sent(struct rconn *rc, struct rconn_cmd *cmd)
{
    cmd->sent = timebase_mono_ms();
    cmd->prev = rc->cmd_tail;
    if (rc->cmd_tail) rc->cmd_tail->next = cmd;
    else rc->cmd_head = cmd;
    rc->cmd_tail = cmd;
    rc->stats.commands++;
    if (rc->cmd_timeout > 0 && !ev_is_active(&rc->deadline)) {
        ev_timer_set(&rc->deadline, (double)rc->cmd_timeout / 1000.0, 0.0);
        ev_timer_start(rc->loop, &rc->deadline);
    }
}

/* A reply says this server cannot take writes now: the connection counts as down at once
 * (rconn_is_up is 0 from here) and is dropped from the loop, then retried with back-off. */
static void rc_unavailable(struct rconn *rc, const char *str)
{
    if (rc->kick_drop || rc->state != RC_UP) return;
    char why[RCONN_ERR_MAX];
    snprintf(why, sizeof why, "unavailable: %s", str);
    rc_drop_later(rc, why);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    struct rconn_cmd *cmd = privdata;
    struct rconn *rc = cmd->rc;
    redisReply *r = reply;
    rc_cmd_unlink(rc, cmd);
    rc->depth++;
    if (r && r->type == REDIS_REPLY_ERROR) {
        rc->stats.errors++;
        if (rconn_unavailable_error(r->str)) rc_unavailable(rc, r->str);
    }
    if (cmd->fn) cmd->fn(rc, r, cmd->privdata);
    rc->depth--;
    free(cmd);
}

static struct rconn_cmd *rc_cmd_new(struct rconn *rc, rconn_reply_fn *fn, void *privdata)
{
    if (!rconn_is_up(rc) || !rc->ctx) return NULL;
    struct rconn_cmd *cmd = calloc(1, sizeof *cmd);
    if (!cmd) return NULL;
    cmd->rc = rc;
    cmd->fn = fn;
    cmd->privdata = privdata;
    return cmd;
}

int rconn_command(struct rconn *rc, rconn_reply_fn *fn, void *privdata, const char *fmt, ...)
{
    struct rconn_cmd *cmd = rc_cmd_new(rc, fn, privdata);
    if (!cmd) return -1;
    va_list ap;
    va_start(ap, fmt);
    int rv = redisvAsyncCommand(rc->ctx, on_reply, cmd, fmt, ap);
    va_end(ap);
    if (rv != REDIS_OK) {
        free(cmd);
        return -1;
    }
    rc_cmd_sent(rc, cmd);
    return 0;
}

int rconn_command_argv(struct rconn *rc, rconn_reply_fn *fn, void *privdata, int argc,
                       const char **argv, const size_t *argvlen)
{
    struct rconn_cmd *cmd = rc_cmd_new(rc, fn, privdata);
    if (!cmd) return -1;
    if (redisAsyncCommandArgv(rc->ctx, on_reply, cmd, argc, argv, argvlen) != REDIS_OK) {
        free(cmd);
        return -1;
    }
    rc_cmd_sent(rc, cmd);
    return 0;
}

/* ---- life cycle --------------------------------------------------------------------- */

/* The library to check: its name, its hash, where to alert. Returns 0, or -1 with err. */
static int rc_lib_setup(struct rconn *rc, const struct rconn_options *opts, char *err,
                        size_t errcap)
{
    rc->lua = opts->lua_library;
    rc->lib_check_ms = opts->library_check_ms > 0 ? opts->library_check_ms : 5000;
    if (opts->alert_key) snprintf(rc->alert_key, sizeof rc->alert_key, "%s", opts->alert_key);
    if (!rc->lua) return 0;
    if (libcheck_name(rc->lua, rc->lib_name, sizeof rc->lib_name) < 0) {
        snprintf(err, errcap, "function library source lacks its '#!lua name=' line");
        return -1;
    }
    libcheck_sha256_hex(rc->lua, strlen(rc->lua), rc->lib_hash);
    return 0;
}

struct rconn *rconn_new(struct ev_loop *loop, const struct rconn_options *opts,
                        const struct rconn_callbacks *cbs, char *err, size_t errcap)
{
    struct rconn *rc = calloc(1, sizeof *rc);
    if (!rc) {
        snprintf(err, errcap, "out of memory");
        return NULL;
    }
    if (rconn_parse_url(opts->url, &rc->url, err, errcap) < 0) {
        free(rc);
        return NULL;
    }
    if (rc->url.pass[0]) log_add_secret(rc->url.pass);
    rc->loop = loop;
    if (opts->name) {
        snprintf(rc->name, sizeof rc->name, "%s", opts->name);
        for (char *c = rc->name; *c; c++)
            if ((unsigned char)*c <= ' ' || *c == 127) *c = '_';
    }
    if (rc_lib_setup(rc, opts, err, errcap) < 0) {
        free(rc);
        return NULL;
    }
    backoff_init(&rc->bo, opts->backoff_min_ms > 0 ? opts->backoff_min_ms : 100,
                 opts->backoff_max_ms > 0 ? opts->backoff_max_ms : 5000);
    rc->connect_timeout = opts->connect_timeout_ms > 0 ? opts->connect_timeout_ms : 2000;
    rc->cmd_timeout = opts->command_timeout_ms == 0 ? RCONN_COMMAND_TIMEOUT_MS
                      : opts->command_timeout_ms < 0 ? 0 : opts->command_timeout_ms;
    rc->ping_every = rc->cmd_timeout;
    if (cbs) rc->cbs = *cbs;
    ev_timer_init(&rc->retry, on_retry, 0.0, 0.0);
    ev_timer_init(&rc->timeout, on_timeout, 0.0, 0.0);
    ev_timer_init(&rc->kick, on_kick, 0.0, 0.0);
    ev_timer_init(&rc->deadline, on_deadline, 0.0, 0.0);
    ev_timer_init(&rc->ping, on_ping, 0.0, 0.0);
    rc->retry.data = rc->timeout.data = rc->kick.data = rc->deadline.data = rc->ping.data = rc;
    ev_timer_init(&rc->libtimer, on_libtimer, (double)rc->lib_check_ms / 1000.0,
                  (double)rc->lib_check_ms / 1000.0);
    rc->libtimer.data = rc;
    ev_timer_init(&rc->stimer, on_stimer, 0.0, RCONN_SENTINEL_CHECK_MS / 1000.0);
    rc->stimer.data = rc;
    if (rc->lua) ev_timer_start(loop, &rc->libtimer);
    rc_connect(rc);
    return rc;
}

static void rc_really_free(struct rconn *rc)
{
    ev_timer_stop(rc->loop, &rc->retry);
    ev_timer_stop(rc->loop, &rc->timeout);
    ev_timer_stop(rc->loop, &rc->kick);
    ev_timer_stop(rc->loop, &rc->libtimer);
    ev_timer_stop(rc->loop, &rc->deadline);
    ev_timer_stop(rc->loop, &rc->ping);
    ev_timer_stop(rc->loop, &rc->stimer);
    rc_sentinel_forget(rc, 0);
    if (rc->ctx) {
        redisAsyncContext *ac = rc->ctx;
        redisAsyncFree(ac); /* pending callbacks get NULL; on_disconnect sees closing */
        rc->ctx = NULL;
    }
    for (int i = 0; i < rc->nsubs; i++) {
        free(rc->subs[i]->channel);
        free(rc->subs[i]);
    }
    free(rc);
}

void rconn_free(struct rconn *rc)
{
    if (!rc || rc->freed_pending) return;
    rc->closing = 1;
    if (rc->depth > 0) {
        rc->freed_pending = 1;
        ev_timer_set(&rc->kick, 0.0, 0.0);
        ev_timer_start(rc->loop, &rc->kick);
        return;
    }
    rc->freed_pending = 1;
    rc_really_free(rc);
}

int rconn_is_up(const struct rconn *rc)
{
    return rc && rc->state == RC_UP && !rc->closing && !rc->kick_drop;
}

struct rconn_stats rconn_stats(const struct rconn *rc)
{
    return rc->stats;
}
