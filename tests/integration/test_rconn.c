/* test_rconn: the Redis connection (core/rconn) and the heartbeat against a real redis-server.
 *
 * URL parsing; connect, AUTH with an ACL user and with a bare password (the function library
 * check is test_funclib's); reconnect after the
 * server is killed and restarted on the same port (up twice, commands refused at once while
 * down, subscriptions restored); the heartbeat key with its TTL, gone after heartbeat_free;
 * black holes (a proxy freezes the open connections) cut by the command deadline and the
 * subscriber probe, with keepalive on; a replica (READONLY, MASTERDOWN) and a server still
 * loading its data (LOADING) treated as down. */
#include <ev.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "core/heartbeat.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/version.h"
#include "reconciler/recon.h"
#include "core/timebase.h"
#include "tests/harness/harness.h"
#include "tests/harness/proxy.h"
#include "tests/harness/testloop.h"

struct counts {
    int up, down, replies, nulls, messages;
    long long last_int;
    char last_msg[256];
};

static void on_up(struct rconn *rc, void *p)
{
    (void)rc;
    ((struct counts *)p)->up++;
}

static void on_down(struct rconn *rc, const char *err, void *p)
{
    (void)rc;
    (void)err;
    ((struct counts *)p)->down++;
}

static void on_reply(struct rconn *rc, struct redisReply *r, void *p)
{
    (void)rc;
    struct counts *c = p;
    c->replies++;
    if (!r) c->nulls++;
    else if (r->type == REDIS_REPLY_INTEGER) c->last_int = r->integer;
}

static void on_msg(struct rconn *rc, const char *ch, const char *payload, size_t len, void *p)
{
    (void)rc;
    (void)ch;
    struct counts *c = p;
    c->messages++;
    snprintf(c->last_msg, sizeof c->last_msg, "%.*s", (int)len, payload);
}

static struct rconn *open_rc(struct ev_loop *loop, const char *url, const char *lua,
                             struct counts *c)
{
    struct rconn_options o = {.url = url, .name = "test rconn", .lua_library = lua,
                              .backoff_min_ms = 20, .backoff_max_ms = 200,
                              .connect_timeout_ms = 1000};
    struct rconn_callbacks cb = {.up = on_up, .down = on_down, .privdata = c};
    char err[RCONN_ERR_MAX];
    struct rconn *rc = rconn_new(loop, &o, &cb, err, sizeof err);
    if (!rc) fprintf(stderr, "rconn_new: %s\n", err);
    return rc;
}

/* A synchronous connection for checks, as admin when the server runs the ACL file. */
static redisContext *sync_conn(const struct th_redis *r, const char *user)
{
    redisContext *c = redisConnect("127.0.0.1", r->port);
    if (!c || c->err) return c;
    if (user) {
        char pass[64];
        snprintf(pass, sizeof pass, "test-%s", user);
        redisReply *rep = redisCommand(c, "AUTH %s %s", user, pass);
        freeReplyObject(rep);
    }
    return c;
}

static long long sync_int(redisContext *c, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    long long v = (r && r->type == REDIS_REPLY_INTEGER) ? r->integer : -999;
    if (r && r->type == REDIS_REPLY_ERROR) fprintf(stderr, "%s: %s\n", cmd, r->str);
    freeReplyObject(r);
    return v;
}

/* ---- tests -------------------------------------------------------------------------- */

/* redis+sentinel://[user:pass@]h1:p1,h2:p2,.../master[/db] (issue 13, item 4). */
static void test_url_sentinel(void)
{
    struct rconn_url u;
    char err[128];
    CHECK(rconn_parse_url("redis+sentinel://kline:pw@10.0.0.1:26380,10.0.0.2,[::1]:5/mymaster/2",
                          &u, err, sizeof err) == 0);
    CHECK(u.nsentinels == 3);
    CHECK_EQ_STR(u.sentinels[0].host, "10.0.0.1");
    CHECK(u.sentinels[0].port == 26380 && u.sentinels[1].port == 26379);
    CHECK_EQ_STR(u.sentinels[2].host, "::1");
    CHECK(u.sentinels[2].port == 5);
    CHECK_EQ_STR(u.master, "mymaster");
    CHECK_EQ_STR(u.user, "kline");
    CHECK_EQ_STR(u.pass, "pw");
    CHECK(u.db == 2 && u.host[0] == 0 && u.port == 0);
    CHECK(rconn_parse_url("redis+sentinel://h1/bfq", &u, err, sizeof err) == 0);
    CHECK(u.nsentinels == 1 && u.db == 0);
    CHECK_EQ_STR(u.master, "bfq");
    CHECK(rconn_parse_url("redis://h1/bfq", &u, err, sizeof err) < 0); /* a name is no db */
    CHECK(rconn_parse_url("redis+sentinel://h1,h2", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis+sentinel://h1,h2/", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis+sentinel://h1,,h2/m", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis+sentinel://h1/m/x", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis+sentinel://h1/m y", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis+sentinel://a,b,c,d,e,f,g,h,i/m", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis+sentinel://u:topsecret%zz@h1/m", &u, err, sizeof err) < 0);
    CHECK(strstr(err, "topsecret") == NULL);
}

static void test_url(void)
{
    struct rconn_url u;
    char err[128];
    CHECK(rconn_parse_url("redis://127.0.0.1:6380", &u, err, sizeof err) == 0);
    CHECK_EQ_STR(u.host, "127.0.0.1");
    CHECK(u.port == 6380 && u.db == 0 && u.user[0] == 0 && u.pass[0] == 0);
    CHECK(rconn_parse_url("redis://kline:s3cr%40t@localhost:7000/3", &u, err, sizeof err) == 0);
    CHECK_EQ_STR(u.user, "kline");
    CHECK_EQ_STR(u.pass, "s3cr@t");
    CHECK_EQ_STR(u.host, "localhost");
    CHECK(u.port == 7000 && u.db == 3);
    CHECK(rconn_parse_url("redis://:onlypass@h", &u, err, sizeof err) == 0);
    CHECK(u.user[0] == 0);
    CHECK_EQ_STR(u.pass, "onlypass");
    CHECK(u.port == 6379);
    CHECK(rconn_parse_url("redis://[::1]:6390/", &u, err, sizeof err) == 0);
    CHECK_EQ_STR(u.host, "::1");
    CHECK(u.port == 6390 && u.db == 0);
    CHECK(rconn_parse_url("redis://u:p@w@h:1", &u, err, sizeof err) == 0);
    CHECK_EQ_STR(u.pass, "p@w");
    /* refused, and the error never shows the password */
    CHECK(rconn_parse_url("http://h:1", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis://h:0", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis://h:65536", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis://h:12x", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis://h:1/x", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis://:1", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis://user@h:1", &u, err, sizeof err) < 0);
    CHECK(rconn_parse_url("redis://user:topsecret%zz@h", &u, err, sizeof err) < 0);
    CHECK(strstr(err, "topsecret") == NULL);
    CHECK(rconn_parse_url("redis://user:@h", &u, err, sizeof err) < 0);
    test_url_sentinel();
}

/* A command on an up connection gets its reply; CLIENT SETNAME took "test rconn". */
static void test_command(struct ev_loop *loop, const struct th_redis *r)
{
    struct counts c1 = {0};
    struct rconn *a = open_rc(loop, r->url, bfq_lua_library, &c1);
    CHECK(a && th_loop_until(loop, &c1.up, 1, 3000));
    CHECK(rconn_command(a, on_reply, &c1, "CLIENT GETNAME") == 0);
    CHECK(th_loop_until(loop, &c1.replies, 1, 2000));
    CHECK(rconn_is_up(a));
    struct rconn_stats st = rconn_stats(a);
    CHECK(st.connects == 1 && st.commands == 1);
    rconn_free(a);
}

/* AUTH user pass with the ACL file; a wrong password never comes up. */
static void test_acl_auth(struct ev_loop *loop)
{
    struct th_redis r;
    if (th_redis_start(&r, 1) != 0) {
        CHECK(!"redis with ACL started");
        return;
    }
    char url[256];
    th_redis_url_for(&r, "kline", url, sizeof url);
    struct counts c = {0}, bad = {0};
    struct rconn *rc = open_rc(loop, url, bfq_lua_library, &c);
    CHECK(rc && th_loop_until(loop, &c.up, 1, 3000));
    CHECK(rconn_command(rc, on_reply, &c, "SET bfq:hb:kline:t1 x") == 0);
    CHECK(th_loop_until(loop, &c.replies, 1, 2000) && c.nulls == 0);
    char badurl[256];
    snprintf(badurl, sizeof badurl, "redis://kline:wrong@127.0.0.1:%d", r.port);
    struct rconn *rb = open_rc(loop, badurl, NULL, &bad);
    th_loop_for(loop, 400);
    CHECK(bad.up == 0 && !rconn_is_up(rb));
    CHECK(rconn_stats(rb).errors >= 2); /* it keeps retrying, and keeps failing */
    rconn_free(rb);
    rconn_free(rc);
    th_redis_stop(&r);
}

/* redis://:pass@host: AUTH with the password alone (requirepass). */
static void test_bare_password(struct ev_loop *loop, const struct th_redis *r)
{
    redisContext *sc = sync_conn(r, NULL);
    freeReplyObject(redisCommand(sc, "CONFIG SET requirepass barepass1"));
    char url[256];
    snprintf(url, sizeof url, "redis://:barepass1@127.0.0.1:%d/2", r->port);
    struct counts c = {0};
    struct rconn *rc = open_rc(loop, url, NULL, &c);
    CHECK(rc && th_loop_until(loop, &c.up, 1, 3000));
    CHECK(rconn_command(rc, on_reply, &c, "SET dbcheck 1") == 0);
    CHECK(th_loop_until(loop, &c.replies, 1, 2000));
    rconn_free(rc);
    freeReplyObject(redisCommand(sc, "AUTH barepass1"));
    freeReplyObject(redisCommand(sc, "SELECT 2"));
    CHECK(sync_int(sc, "EXISTS dbcheck") == 1); /* SELECT 2 happened */
    freeReplyObject(redisCommand(sc, "CONFIG SET requirepass %s", ""));
    redisFree(sc);
}

/* Kill the server, see commands refused, restart it on the same port, see up again. */
static void test_reconnect(struct ev_loop *loop)
{
    struct th_redis r;
    if (th_redis_start(&r, 0) != 0) {
        CHECK(!"redis started");
        return;
    }
    struct counts c = {0}, s = {0};
    /* no library check: the restarted server below starts empty */
    struct rconn *rc = open_rc(loop, r.url, NULL, &c);
    struct rconn *sub = open_rc(loop, r.url, NULL, &s);
    CHECK(rconn_subscribe(sub, "t:ch", on_msg, &s) == 0);
    CHECK(rconn_subscribe(sub, "t:pat:*", on_msg, &s) == 0);
    CHECK(th_loop_until(loop, &c.up, 1, 3000) && th_loop_until(loop, &s.up, 1, 3000));
    th_loop_for(loop, 100); /* let SUBSCRIBE land */
    CHECK(rconn_command(rc, on_reply, &c, "PUBLISH t:ch one") == 0);
    CHECK(th_loop_until(loop, &s.messages, 1, 2000));
    CHECK_EQ_STR(s.last_msg, "one");

    /* a command in flight when the server dies gets NULL */
    CHECK(rconn_command(rc, on_reply, &c, "BLPOP nothing 5") == 0);
    th_redis_stop(&r);
    CHECK(th_loop_until(loop, &c.down, 1, 3000));
    CHECK(th_loop_until(loop, &c.nulls, 1, 1000));
    CHECK(!rconn_is_up(rc));
    int before = c.replies;
    CHECK(rconn_command(rc, on_reply, &c, "PING") == -1);
    th_loop_for(loop, 300); /* a few failed attempts with backoff */
    CHECK(c.replies == before); /* the refused command's callback never ran */
    CHECK(c.up == 1);

    char conf[600];
    snprintf(conf, sizeof conf, "%s/redis.conf", r.dir);
    const char *argv[] = {"redis-server", conf, NULL};
    r.pid = th_spawn(argv, NULL);
    CHECK(r.pid > 0);
    CHECK(th_loop_until(loop, &c.up, 2, 5000));
    CHECK(th_loop_until(loop, &s.up, 2, 5000));
    th_loop_for(loop, 100);
    CHECK(rconn_command(rc, on_reply, &c, "PUBLISH t:pat:x two") == 0);
    CHECK(th_loop_until(loop, &s.messages, 2, 2000));
    CHECK_EQ_STR(s.last_msg, "two");
    CHECK(rconn_stats(rc).connects == 2 && rconn_stats(rc).disconnects == 1);
    rconn_free(sub);
    rconn_free(rc);
    th_redis_stop(&r);
}

/* TCP keepalive is on for every socket of this process connected to port. */
static int keepalive_on_port(int port)
{
    int found = 0, bad = 0;
    for (int fd = 3; fd < 1024; fd++) {
        struct sockaddr_in peer;
        socklen_t len = sizeof peer;
        int on = 0;
        socklen_t olen = sizeof on;
        if (getpeername(fd, (struct sockaddr *)&peer, &len) < 0 || peer.sin_family != AF_INET ||
            ntohs(peer.sin_port) != port)
            continue;
        found++;
        if (getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, &olen) < 0 || !on) bad++;
    }
    return found > 0 && bad == 0;
}

/* A black hole (the proxy freezes the open connections: nothing forwarded, nothing closed):
 * the command deadline drops the command connection, the probe drops the subscriber, both
 * reconnect through the proxy (new connections pass) and work again. Before the deadline the
 * command waited forever and the connection stayed "up". */
static void test_blackhole(struct ev_loop *loop)
{
    struct th_redis r;
    if (th_redis_start(&r, 0) != 0) {
        CHECK(!"redis started");
        return;
    }
    struct th_proxy *px = th_proxy_start(r.port);
    CHECK(px != NULL);
    if (!px) return;
    char url[128];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", th_proxy_port(px));
    struct counts c = {0}, s = {0};
    struct rconn_options o = {.url = url, .name = "blackhole", .backoff_min_ms = 20,
                              .backoff_max_ms = 200, .connect_timeout_ms = 1000,
                              .command_timeout_ms = 600};
    struct rconn_callbacks cb = {.up = on_up, .down = on_down, .privdata = &c};
    struct rconn_callbacks sb = {.up = on_up, .down = on_down, .privdata = &s};
    char err[RCONN_ERR_MAX];
    struct rconn *rc = rconn_new(loop, &o, &cb, err, sizeof err);
    struct rconn *sub = rconn_new(loop, &o, &sb, err, sizeof err);
    CHECK(rc && sub && rconn_subscribe(sub, "bh:ch", on_msg, &s) == 0);
    CHECK(th_loop_until(loop, &c.up, 1, 3000) && th_loop_until(loop, &s.up, 1, 3000));
    CHECK(keepalive_on_port(th_proxy_port(px)));
    th_loop_for(loop, 100);
    CHECK(rconn_command(rc, on_reply, &c, "PUBLISH bh:ch before") == 0);
    CHECK(th_loop_until(loop, &s.messages, 1, 2000));

    int accepted = th_proxy_accepted(px);
    CHECK(th_proxy_freeze(px) == 2);
    mono_ms_t t0 = timebase_mono_ms();
    CHECK(rconn_command(rc, on_reply, &c, "INCR bh:n") == 0);
    CHECK(th_loop_until(loop, &c.nulls, 1, 3000)); /* the deadline failed it */
    CHECK(timebase_mono_ms() - t0 >= 550);
    CHECK(c.down == 1);
    CHECK(th_loop_until(loop, &c.up, 2, 3000));   /* reconnected through a new connection */
    CHECK(th_loop_until(loop, &s.up, 2, 4000));   /* the subscriber's probe went unanswered */
    CHECK(s.down == 1);
    CHECK(th_proxy_accepted(px) >= accepted + 2);
    th_loop_for(loop, 100);
    c.replies = 0;
    CHECK(rconn_command(rc, on_reply, &c, "PUBLISH bh:ch after") == 0);
    CHECK(th_loop_until(loop, &c.replies, 1, 2000));
    CHECK(th_loop_until(loop, &s.messages, 2, 2000));
    CHECK_EQ_STR(s.last_msg, "after");
    /* a healthy idle subscriber is not dropped by its own probe */
    th_loop_for(loop, 1500);
    CHECK(s.up == 2 && s.down == 1);
    rconn_free(sub);
    rconn_free(rc);
    th_proxy_stop(px);
    th_redis_stop(&r);
}

static void admin(redisContext *sc, const char *cmd)
{
    redisReply *rep = redisCommand(sc, cmd);
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "%s: %s\n", cmd, rep ? rep->str : "no reply");
    freeReplyObject(rep);
}

/* A server that takes no writes (a replica of a dead primary: READONLY, then MASTERDOWN once
 * it serves no stale data) is "down": a READONLY reply drops an up connection at once, the
 * handshake refuses a replica, and the connection comes up when the server is a primary
 * again. Before, READONLY was an ordinary error on an "up" connection. */
static void test_readonly(struct ev_loop *loop)
{
    CHECK(rconn_unavailable_error("READONLY You can't write against a read only replica."));
    CHECK(rconn_unavailable_error("LOADING Redis is loading the dataset in memory"));
    CHECK(rconn_unavailable_error("MASTERDOWN Link with MASTER is down"));
    CHECK(!rconn_unavailable_error("ERR wrong number of arguments"));
    CHECK(!rconn_unavailable_error("READONLYX") && !rconn_unavailable_error(NULL));
    struct th_redis r;
    if (th_redis_start(&r, 0) != 0) {
        CHECK(!"redis started");
        return;
    }
    redisContext *sc = sync_conn(&r, NULL);
    struct counts c = {0};
    struct rconn *rc = open_rc(loop, r.url, NULL, &c);
    CHECK(th_loop_until(loop, &c.up, 1, 3000));
    char cmd[64];
    snprintf(cmd, sizeof cmd, "REPLICAOF 127.0.0.1 %d", th_free_port());
    admin(sc, cmd);
    CHECK(rconn_command(rc, on_reply, &c, "INCR ro:n") == 0);
    CHECK(th_loop_until(loop, &c.replies, 1, 2000));
    CHECK(!rconn_is_up(rc));                       /* at once, before the drop */
    CHECK(rconn_command(rc, on_reply, &c, "PING") == -1);
    CHECK(th_loop_until(loop, &c.down, 1, 1000));
    th_loop_for(loop, 600);                        /* retries meet a replica: never up */
    CHECK(c.up == 1 && !rconn_is_up(rc));
    int64_t errs = rconn_stats(rc).errors;
    CHECK(errs >= 3);
    admin(sc, "CONFIG SET replica-serve-stale-data no"); /* now MASTERDOWN */
    th_loop_for(loop, 400);
    CHECK(c.up == 1 && rconn_stats(rc).errors > errs);
    admin(sc, "CONFIG SET replica-serve-stale-data yes");
    admin(sc, "REPLICAOF NO ONE");
    CHECK(th_loop_until(loop, &c.up, 2, 3000));
    c.replies = 0;
    CHECK(rconn_command(rc, on_reply, &c, "INCR ro:n") == 0);
    CHECK(th_loop_until(loop, &c.replies, 1, 2000) && c.last_int == 1);

    /* a fresh connection to a replica never comes up */
    admin(sc, cmd);
    struct counts d = {0};
    struct rconn *rd = open_rc(loop, r.url, NULL, &d);
    th_loop_for(loop, 500);
    CHECK(d.up == 0 && !rconn_is_up(rd));
    admin(sc, "REPLICAOF NO ONE");
    CHECK(th_loop_until(loop, &d.up, 1, 3000));
    rconn_free(rd);
    rconn_free(rc);
    redisFree(sc);
    th_redis_stop(&r);
}

/* A server still loading its data (LOADING, here a restart slowed by key-load-delay) is
 * "down" until it has loaded: before, the LOADING answers to the library check and load were
 * ignored and the connection came up into a server that refused every command. */
static void test_loading(struct ev_loop *loop)
{
    struct th_redis r;
    if (th_redis_start(&r, 0) != 0) {
        CHECK(!"redis started");
        return;
    }
    redisContext *sc = sync_conn(&r, NULL);
    for (int i = 0; i < 20000; i++) redisAppendCommand(sc, "SET load:%d x", i);
    for (int i = 0; i < 20000; i++) {
        void *rep = NULL;
        if (redisGetReply(sc, &rep) != REDIS_OK) break;
        freeReplyObject(rep);
    }
    admin(sc, "SAVE");
    redisFree(sc);
    th_redis_stop(&r);
    char conf[600];
    snprintf(conf, sizeof conf, "%s/redis.conf", r.dir);
    const char *argv[] = {"redis-server", conf, "--key-load-delay", "100",
                          "--loading-process-events-interval-bytes", "1024", NULL};
    r.pid = th_spawn(argv, NULL);
    CHECK(r.pid > 0);
    struct counts c = {0};
    struct rconn *rc = open_rc(loop, r.url, bfq_lua_library, &c);
    th_loop_for(loop, 700);
    CHECK(c.up == 0 && !rconn_is_up(rc)); /* loading takes seconds: never up meanwhile */
    CHECK(rconn_stats(rc).errors >= 1);
    CHECK(th_loop_until(loop, &c.up, 1, 20000));
    CHECK(rconn_command(rc, on_reply, &c, "DBSIZE") == 0);
    CHECK(th_loop_until(loop, &c.replies, 1, 2000) && c.last_int == 20000);
    rconn_free(rc);
    th_redis_stop(&r);
}

/* A connection to a port nobody listens on: retries quietly, never up, freed cleanly. */
static void test_refused(struct ev_loop *loop)
{
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", th_free_port());
    struct counts c = {0};
    struct rconn *rc = open_rc(loop, url, NULL, &c);
    th_loop_for(loop, 300);
    CHECK(c.up == 0 && c.down == 0 && !rconn_is_up(rc));
    CHECK(rconn_command(rc, on_reply, &c, "PING") == -1);
    rconn_free(rc);
}

struct hb_ctx {
    int fills;
};

static void hb_fill(json_t *obj, void *p)
{
    ((struct hb_ctx *)p)->fills++;
    json_object_set_new(obj, "requests", json_integer(42));
}

static void test_heartbeat(struct ev_loop *loop, const struct th_redis *r)
{
    struct counts c = {0};
    struct rconn *rc = open_rc(loop, r->url, NULL, &c);
    CHECK(th_loop_until(loop, &c.up, 1, 3000));
    struct hb_ctx hc = {0};
    struct heartbeat_options o = {.prefix = "bfq:", .role = "kline", .instance = "h-1",
                                  .period_ms = 100, .ttl_ms = 1500, .version = "9.9.9"};
    struct heartbeat *hb = heartbeat_new(loop, rc, &o, hb_fill, &hc);
    CHECK(hb != NULL);
    CHECK_EQ_STR(heartbeat_key(hb), "bfq:hb:kline:h-1");
    th_loop_for(loop, 350);
    CHECK(hc.fills >= 3);
    redisContext *sc = sync_conn(r, NULL);
    long long ttl = sync_int(sc, "PTTL bfq:hb:kline:h-1");
    CHECK(ttl > 1000 && ttl <= 1500);
    redisReply *rep = redisCommand(sc, "GET bfq:hb:kline:h-1");
    json_t *j = rep && rep->type == REDIS_REPLY_STRING ? json_loads(rep->str, 0, NULL) : NULL;
    CHECK(j != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "version")), "9.9.9");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "role")), "kline");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "instance")), "h-1");
    CHECK(json_integer_value(json_object_get(j, "pid")) > 0);
    CHECK(json_integer_value(json_object_get(j, "started")) > 1600000000000LL);
    CHECK(json_string_value(json_object_get(j, "host")) != NULL);
    CHECK(json_integer_value(json_object_get(j, "requests")) == 42);
    json_decref(j);
    freeReplyObject(rep);
    heartbeat_free(hb);
    th_loop_for(loop, 100);
    CHECK(sync_int(sc, "EXISTS bfq:hb:kline:h-1") == 0);

    /* version NULL is this build's version and revision, as `bfq --version` prints them */
    o.version = NULL;
    o.instance = "h-2";
    hb = heartbeat_new(loop, rc, &o, NULL, NULL);
    th_loop_for(loop, 100);
    rep = redisCommand(sc, "GET bfq:hb:kline:h-2");
    char want[256];
    snprintf(want, sizeof want, "\"version\":\"%s\"", bfq_version_text);
    CHECK(rep && rep->type == REDIS_REPLY_STRING && strstr(rep->str, want));
    CHECK(strstr(bfq_version_text, bfq_revision) && strncmp(bfq_version_text, bfq_version,
                                                            strlen(bfq_version)) == 0);
    freeReplyObject(rep);
    heartbeat_free(hb);
    rconn_free(rc);
    redisFree(sc);
}

/* rconn_free from inside the connection's own callback is deferred, not a use-after-free. */
static struct rconn *g_self_free;
static int g_self_freed;

static void free_in_reply(struct rconn *rc, struct redisReply *r, void *p)
{
    (void)r;
    (void)p;
    rconn_free(rc);
    g_self_free = NULL;
    g_self_freed++;
}

static void test_free_in_callback(struct ev_loop *loop, const struct th_redis *r)
{
    struct counts c = {0};
    g_self_free = open_rc(loop, r->url, NULL, &c);
    CHECK(th_loop_until(loop, &c.up, 1, 3000));
    CHECK(rconn_command(g_self_free, free_in_reply, NULL, "PING") == 0);
    CHECK(th_loop_until(loop, &g_self_freed, 1, 2000));
    th_loop_for(loop, 50);
}

int main(void)
{
    log_init("test", LOG_LEVEL_WARN);
    struct ev_loop *loop = ev_default_loop(0);
    test_url();
    struct th_redis r;
    if (th_redis_start(&r, 0) != 0) {
        CHECK(!"redis started");
        return th_done();
    }
    test_command(loop, &r);
    test_bare_password(loop, &r);
    test_heartbeat(loop, &r);
    test_free_in_callback(loop, &r);
    th_redis_stop(&r);
    test_refused(loop);
    test_reconnect(loop);
    test_acl_auth(loop);
    test_blackhole(loop);
    test_readonly(loop);
    test_loading(loop);
    return th_done();
}
