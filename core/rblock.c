/* rblock: blocking connect, AUTH and SELECT from a redis:// URL, or from a
 * redis+sentinel:// URL after asking the sentinels in turn where the master is (see
 * rblock.h). */
#include "core/rblock.h"

#include <hiredis/hiredis.h>
#include <stdio.h>

#include "core/rconn.h"

/* Sends one handshake command; 0, or -1 with err naming it. Frees the reply. */
static int rblock_step(redisContext *c, redisReply *r, const char *what, char *err, size_t cap)
{
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok) snprintf(err, cap, "%s failed: %.200s", what, r ? r->str : c->errstr);
    if (r) freeReplyObject(r);
    return ok ? 0 : -1;
}

/* Sentinel URL: asks each sentinel in turn for the master's address (into u). 0, or -1. */
static int rblock_resolve(struct rconn_url *u, struct timeval tv, char *err, size_t cap)
{
    char why[200] = "no sentinel";
    for (int i = 0; i < u->nsentinels; i++) {
        const struct rconn_addr *a = &u->sentinels[i];
        redisContext *c = redisConnectWithTimeout(a->host, a->port, tv);
        if (c && !c->err) {
            redisSetTimeout(c, tv);
            redisReply *r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", u->master);
            int ok = rconn_sentinel_reply(r, u, why, sizeof why) == 0;
            if (r) freeReplyObject(r);
            redisFree(c);
            if (ok) return 0;
        } else {
            snprintf(why, sizeof why, "sentinel %.100s:%d: %.80s", a->host, a->port,
                     c ? c->errstr : "out of memory");
            if (c) redisFree(c);
        }
    }
    snprintf(err, cap, "no sentinel gave the address of master %s: %s", u->master, why);
    return -1;
}

redisContext *rblock_connect(const char *url, int timeout_ms, char *err, size_t cap)
{
    struct rconn_url u;
    if (rconn_parse_url(url, &u, err, cap) < 0) return NULL;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (u.nsentinels > 0 && rblock_resolve(&u, tv, err, cap) < 0) return NULL;
    redisContext *c = redisConnectWithTimeout(u.host, u.port, tv);
    if (!c || c->err) {
        snprintf(err, cap, "cannot connect to %.100s:%d: %.100s", u.host, u.port,
                 c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (u.pass[0] &&
        rblock_step(c, u.user[0] ? redisCommand(c, "AUTH %s %s", u.user, u.pass)
                                 : redisCommand(c, "AUTH %s", u.pass), "AUTH", err, cap) < 0)
        goto fail;
    if (u.db > 0 && rblock_step(c, redisCommand(c, "SELECT %d", u.db), "SELECT", err, cap) < 0)
        goto fail;
    return c;
fail:
    redisFree(c);
    return NULL;
}
