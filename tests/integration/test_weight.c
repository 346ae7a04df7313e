/* test_weight: the per-IP weight budget against a real redis-server with the real Lua library.
 *
 * Two budgets sharing an IP share one count; another IP is independent; a stop (429/418) holds
 * every take until it ends; the answer header raises the count; with Redis unreachable the
 * local fallback still caps; takes made before the connection is first up, or within the grace
 * after it went down, wait for Redis instead of the local count. Checks read the keys back with a synchronous hiredis connection. */
#include <ev.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/binance.h"
#include "core/http.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/timebase.h"
#include "core/weight.h"
#include "reconciler/recon.h"
#include "tests/harness/harness.h"
#include "tests/harness/testloop.h"
#include "tests/harness/testhttp.h"

static struct ev_loop *loop;

struct grants {
    int granted, abandoned, order_ok, next_seq;
    int64_t first_ms, last_ms;
};

struct ticket {
    struct grants *g;
    int seq;
};

static void on_grant(int granted, void *privdata)
{
    struct ticket *t = privdata;
    if (granted) {
        t->g->granted++;
        t->g->last_ms = th_now_ms();
        if (!t->g->first_ms) t->g->first_ms = t->g->last_ms;
        if (t->seq != t->g->next_seq) t->g->order_ok = 0;
        t->g->next_seq = t->seq + 1;
    } else {
        t->g->abandoned++;
    }
}

static void run_for(int ms)
{
    th_loop_for(loop, ms);
}

static void on_up(struct rconn *rc, void *privdata)
{
    (void)rc;
    *(int *)privdata = 1;
    ev_break(loop, EVBREAK_ALL);
}

static struct rconn *connect_redis(const char *url, int *up, int wait_ms)
{
    char err[RCONN_ERR_MAX];
    struct rconn_options o = {.url = url, .name = "test_weight", .lua_library = bfq_lua_library};
    struct rconn_callbacks cb = {.up = on_up, .privdata = up};
    struct rconn *rc = rconn_new(loop, &o, &cb, err, sizeof err);
    CHECK(rc != NULL);
    if (rc) run_for(wait_ms);
    return rc;
}

static long long sync_int(redisContext *c, const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(c, fmt, arg);
    long long v = -99;
    if (r && r->type == REDIS_REPLY_INTEGER) v = r->integer;
    if (r && r->type == REDIS_REPLY_STRING) v = strtoll(r->str, NULL, 10);
    if (r && r->type == REDIS_REPLY_NIL) v = -1;
    freeReplyObject(r);
    return v;
}

static void minute_key(const char *ip, char *buf, size_t cap)
{
    snprintf(buf, cap, "bfq:weight:%s:%lld", ip,
             (long long)timebase_utc_minute(timebase_wall_ms()));
}

/* Keeps each test inside one UTC minute: waits when fewer than 8 s remain. */
static void avoid_minute_edge(void)
{
    int64_t into = timebase_wall_ms() % 60000;
    if (into > 52000) th_sleep_ms((int)(60000 - into) + 50);
}

static struct weight_budget *budget_grace(struct rconn *rc, const char *ip, int64_t limit,
                                          int pct, int64_t grace_ms)
{
    struct weight_options o = {
        .prefix = "bfq:", .ip = ip, .limit = limit, .percent = pct, .grace_ms = grace_ms};
    struct weight_budget *wb = weight_new(loop, rc, &o);
    CHECK(wb != NULL);
    return wb;
}

/* Runs the loop until wb has been told to wait n times, at most ms. */
static int loop_until_waits(struct weight_budget *wb, int64_t n, int ms)
{
    for (int waited = 0; weight_stats(wb).waits < n && waited < ms; waited += 20) run_for(20);
    return weight_stats(wb).waits >= n;
}

static struct weight_budget *budget(struct rconn *rc, const char *ip, int64_t limit, int pct)
{
    return budget_grace(rc, ip, limit, pct, 0);
}

static void test_shared_ip(struct rconn *rc, redisContext *c)
{
    enum { N = 15 };
    struct grants g = {.order_ok = 1};
    struct ticket t[N];
    char key[128];
    avoid_minute_edge();
    /* budget = 50% of 200 = 100; two instances each ask 15 x 10 on the same IP. */
    struct weight_budget *a = budget(rc, "127.0.0.2", 200, 50);
    struct weight_budget *b = budget(rc, "127.0.0.2", 200, 50);
    struct grants gb = {.order_ok = 1};
    struct ticket tb[N];
    for (int i = 0; i < N; i++) {
        t[i] = (struct ticket){&g, i};
        tb[i] = (struct ticket){&gb, i};
        weight_take(a, 10, on_grant, &t[i]);
        weight_take(b, 10, on_grant, &tb[i]);
    }
    CHECK(g.granted == 0 && gb.granted == 0); /* never from inside weight_take */
    /* Until the budget is spent and both have been told to wait (bounded: a loaded machine
     * may take longer than usual), then a little longer to see that nothing more is granted. */
    for (int waited = 0; waited < 5000; waited += 50) {
        if (g.granted + gb.granted >= 10 && weight_stats(a).waits >= 1 &&
            weight_stats(b).waits >= 1)
            break;
        run_for(50);
    }
    run_for(100);
    minute_key("127.0.0.2", key, sizeof key);
    CHECK(g.granted + gb.granted == 10);
    CHECK(g.granted > 0 && gb.granted > 0);
    CHECK(g.order_ok && gb.order_ok); /* FIFO per budget */
    CHECK(sync_int(c, "GET %s", key) == 100);
    long long ttl = sync_int(c, "TTL %s", key);
    CHECK(ttl > 100 && ttl <= 120);
    struct weight_stats st = weight_stats(a);
    CHECK(st.taken == 10LL * g.granted);
    CHECK(st.waits == 1);
    CHECK(st.used_minute >= 10LL * g.granted && st.used_minute <= 100);

    /* Another IP is independent. */
    struct weight_budget *o = budget(rc, "127.0.0.3", 200, 50);
    struct grants go = {.order_ok = 1};
    struct ticket to = {&go, 0};
    weight_take(o, 10, on_grant, &to);
    CHECK(th_loop_until(loop, &go.granted, 1, 3000));
    minute_key("127.0.0.3", key, sizeof key);
    CHECK(sync_int(c, "GET %s", key) == 10);

    /* Raising the limit lets the waiting heads through at once. */
    weight_set_limit(a, 240); /* budget 120: two more takes of a */
    run_for(200);
    CHECK(g.granted + gb.granted == 12);

    weight_free(a);
    weight_free(b);
    weight_free(o);
    CHECK(g.granted + g.abandoned == N);
    CHECK(gb.granted + gb.abandoned == N);
}

static void test_stop(struct rconn *rc, redisContext *c)
{
    struct weight_budget *a = budget(rc, "10.0.0.9", 2400, 90);
    struct weight_budget *b = budget(rc, "10.0.0.9", 2400, 90);
    struct grants g = {.order_ok = 1};
    struct ticket t = {&g, 0};
    avoid_minute_edge();
    weight_observe(a, -1, 500); /* a 429 seen by a stops b too */
    run_for(50);
    long long pttl = sync_int(c, "PTTL %s", "bfq:weight:10.0.0.9:stop");
    CHECK(pttl > 300 && pttl <= 500);
    CHECK(weight_stats(a).stopped_until > timebase_wall_ms());
    int64_t t0 = th_now_ms();
    weight_take(b, 1, on_grant, &t);
    run_for(250);
    CHECK(g.granted == 0);
    CHECK(th_loop_until(loop, &g.granted, 1, 3000));
    CHECK(g.first_ms - t0 >= 380);
    /* A shorter stop never shortens a longer one. */
    weight_observe(a, -1, 5000);
    weight_observe(b, -1, 100);
    run_for(50);
    CHECK(sync_int(c, "PTTL %s", "bfq:weight:10.0.0.9:stop") > 4000);
    weight_free(a);
    weight_free(b);
}

static void test_header_correction(struct rconn *rc, redisContext *c)
{
    char key[128];
    struct grants g = {.order_ok = 1};
    struct ticket t0 = {&g, 0}, t1 = {&g, 1};
    avoid_minute_edge();
    struct weight_budget *a = budget(rc, "10.0.0.10", 510, 100);
    weight_take(a, 1, on_grant, &t0);
    CHECK(th_loop_until(loop, &g.granted, 1, 3000)); /* bounded, not a fixed time */
    minute_key("10.0.0.10", key, sizeof key);
    CHECK(sync_int(c, "GET %s", key) == 1);
    weight_observe(a, 500, -1);
    run_for(50);
    CHECK(sync_int(c, "GET %s", key) == 500);
    weight_observe(a, 20, -1); /* lower: never lowers */
    run_for(50);
    CHECK(sync_int(c, "GET %s", key) == 500);
    weight_take(a, 20, on_grant, &t1); /* 500 + 20 > 510: waits for the next minute */
    CHECK(loop_until_waits(a, 1, 3000));
    CHECK(g.granted == 1);
    CHECK(weight_stats(a).waits == 1);
    weight_free(a);
    CHECK(g.abandoned == 1);
}

/* A take heavier than the whole budget counts as the budget: it goes through alone in its
 * minute instead of waiting forever and holding every later take behind it. */
static void test_heavier_than_budget(struct rconn *rc, redisContext *c)
{
    char key[128];
    struct grants g = {.order_ok = 1};
    struct ticket t0 = {&g, 0}, t1 = {&g, 1};
    avoid_minute_edge();
    struct weight_budget *a = budget(rc, "10.0.0.16", 100, 50); /* budget 50 */
    weight_take(a, 80, on_grant, &t0);
    weight_take(a, 1, on_grant, &t1);
    CHECK(loop_until_waits(a, 1, 3000));
    CHECK(g.granted == 1); /* the heavy one; the light one waits for the next minute */
    minute_key("10.0.0.16", key, sizeof key);
    CHECK(sync_int(c, "GET %s", key) == 50);
    weight_free(a);
    CHECK(g.abandoned == 1);
}

static void test_local_fallback(void)
{
    char url[64];
    int up = 0;
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", th_free_port());
    avoid_minute_edge();
    struct rconn *dead = connect_redis(url, &up, 300); /* never comes up */
    CHECK(!up);
    struct weight_budget *a = budget_grace(dead, "10.0.0.11", 50, 100, -1); /* no hold */
    struct grants g = {.order_ok = 1};
    struct ticket t[8];
    for (int i = 0; i < 8; i++) {
        t[i] = (struct ticket){&g, i};
        weight_take(a, 10, on_grant, &t[i]);
    }
    run_for(300);
    CHECK(g.granted == 5);
    CHECK(g.order_ok);
    /* A local stop holds the queue too. */
    struct weight_budget *b = budget(NULL, "10.0.0.12", 1000, 100);
    struct grants gb = {.order_ok = 1};
    struct ticket tb = {&gb, 0};
    weight_observe(b, -1, 300);
    weight_take(b, 1, on_grant, &tb);
    run_for(150);
    CHECK(gb.granted == 0);
    run_for(300);
    CHECK(gb.granted == 1);
    weight_free(a);
    weight_free(b);
    CHECK(g.abandoned == 3);
    rconn_free(dead);
}

/* The rconn owner forwards up and down to the budget, as role.c does. */
static struct weight_budget *fwd_wb;
static int fwd_ups, fwd_downs;
static void fwd_up(struct rconn *rc, void *privdata)
{
    (void)rc;
    (void)privdata;
    fwd_ups++;
    if (fwd_wb) weight_redis_state(fwd_wb, 1);
}

static void fwd_down(struct rconn *rc, const char *errstr, void *privdata)
{
    (void)rc;
    (void)errstr;
    (void)privdata;
    fwd_downs++;
    if (fwd_wb) weight_redis_state(fwd_wb, 0);
}

/* Start-up: takes made before the connection is first up go to Redis once it is (a role's
 * first take used to hit the local count and log "Redis unavailable" at every start); then,
 * after Redis dies, takes wait out the grace before the local count serves them. */
static void test_hold_for_redis(void)
{
    struct th_redis r2;
    char key[128], err[RCONN_ERR_MAX];
    struct grants g = {.order_ok = 1};
    struct ticket t[4];
    CHECK(th_redis_start(&r2, 0) == 0);
    avoid_minute_edge();
    struct rconn_options o = {.url = r2.url, .name = "test_weight_hold",
                              .lua_library = bfq_lua_library};
    struct rconn_callbacks cb = {.up = fwd_up, .down = fwd_down};
    struct rconn *rc = rconn_new(loop, &o, &cb, err, sizeof err);
    CHECK(rc != NULL && !rconn_is_up(rc));
    fwd_wb = budget_grace(rc, "10.0.0.15", 1000, 100, 400);
    for (int i = 0; i < 2; i++) {
        t[i] = (struct ticket){&g, i};
        weight_take(fwd_wb, 10, on_grant, &t[i]);
    }
    CHECK(th_loop_until(loop, &g.granted, 2, 5000));
    CHECK(fwd_ups == 1);
    CHECK(g.granted == 2 && g.order_ok);
    minute_key("10.0.0.15", key, sizeof key);
    redisContext *c = redisConnect("127.0.0.1", r2.port);
    CHECK(c && !c->err);
    if (c && !c->err) CHECK(sync_int(c, "GET %s", key) == 20); /* counted in Redis, not locally */
    if (c) redisFree(c);

    th_redis_stop(&r2);
    run_for(100);
    CHECK(fwd_downs >= 1);
    t[2] = (struct ticket){&g, 2};
    t[3] = (struct ticket){&g, 3};
    weight_take(fwd_wb, 10, on_grant, &t[2]);
    weight_take(fwd_wb, 10, on_grant, &t[3]);
    run_for(200);
    CHECK(g.granted == 2); /* held: inside the 400 ms grace */
    CHECK(th_loop_until(loop, &g.granted, 4, 3000));
    CHECK(g.granted == 4 && g.order_ok); /* then the local count */
    CHECK(weight_stats(fwd_wb).used_minute == 40);
    weight_free(fwd_wb);
    fwd_wb = NULL;
    rconn_free(rc);
}

/* A grant callback that frees its own budget must be safe. */
static struct weight_budget *self_free_wb;
static int self_free_calls;
static void on_grant_free(int granted, void *privdata)
{
    (void)privdata;
    self_free_calls++;
    if (granted && self_free_wb) {
        struct weight_budget *wb = self_free_wb;
        self_free_wb = NULL;
        weight_free(wb);
    }
}

static void test_free_in_callback(struct rconn *rc)
{
    self_free_wb = budget(rc, "10.0.0.13", 2400, 90);
    weight_take(self_free_wb, 1, on_grant_free, NULL);
    weight_take(self_free_wb, 1, on_grant_free, NULL);
    run_for(200);
    CHECK(self_free_calls == 2); /* one grant, one abandon from inside the first */
}

/* binance_request with a budget: weight taken before sending, the answer header raises the
 * count, a 429 stops the IP in Redis for its Retry-After. */
static void exch(const struct thttp_req *req, struct thttp_resp *resp, void *arg)
{
    (void)arg;
    if (strncmp(req->target, "/busy", 5) == 0)
        thttp_reply(resp, 429, "Retry-After: 2\r\nX-MBX-USED-WEIGHT-1M: 900\r\n",
                    "{\"code\":-1003,\"msg\":\"Too many requests.\"}");
    else
        thttp_reply(resp, 200, "X-MBX-USED-WEIGHT-1M: 700\r\n", "{}");
}

static int bdone;
static enum binance_outcome blast;
static void on_bdone(const struct binance_result *res, void *privdata)
{
    (void)privdata;
    bdone++;
    blast = res->outcome;
}

static void test_binance_budget(struct rconn *rc, redisContext *c)
{
    char key[128], err[128];
    struct thttp *srv = thttp_start("127.0.0.1", exch, NULL);
    struct http_client *hc = http_client_new(loop);
    struct weight_budget *wb = budget(rc, "10.0.0.14", 2400, 90);
    struct binance_config cfg = {.rest_url = srv ? thttp_url(srv) : "http://x"};
    struct binance_client *bc = binance_client_new(hc, &cfg, err, sizeof err);
    CHECK(srv && hc && bc);
    if (!srv || !hc || !bc) return;
    avoid_minute_edge();
    binance_set_budget(bc, wb);
    minute_key("10.0.0.14", key, sizeof key);
    CHECK(binance_request(bc, "GET", "/fapi/v1/klines", "symbol=X", NULL, BINANCE_PUBLIC, 5,
                          on_bdone, NULL) == 0);
    run_for(300);
    CHECK(bdone == 1 && blast == BINANCE_OK);
    CHECK(sync_int(c, "GET %s", key) == 700); /* 5 taken, then raised by the header */
    CHECK(binance_request(bc, "GET", "/busy", NULL, NULL, BINANCE_PUBLIC, 1, on_bdone, NULL) == 0);
    run_for(300);
    CHECK(bdone == 2 && blast == BINANCE_ERATE);
    long long pttl = sync_int(c, "PTTL %s", "bfq:weight:10.0.0.14:stop");
    CHECK(pttl > 1000 && pttl <= 2000);
    CHECK(sync_int(c, "GET %s", key) == 900);
    /* Stopped: the next request waits in the budget, then is freed with the client. */
    CHECK(binance_request(bc, "GET", "/fapi/v1/ping", NULL, NULL, BINANCE_PUBLIC, 1, on_bdone,
                          NULL) == 0);
    run_for(200);
    CHECK(bdone == 2);
    binance_client_free(bc);
    CHECK(bdone == 3 && blast == BINANCE_ELOCAL);
    weight_free(wb);
    http_client_free(hc);
    thttp_stop(srv);
}

int main(void)
{
    struct th_redis r;
    int up = 0;
    log_init("test", LOG_LEVEL_ERROR);
    loop = ev_loop_new(EVFLAG_AUTO);
    CHECK(th_redis_start(&r, 0) == 0);
    struct rconn *rc = connect_redis(r.url, &up, 3000);
    CHECK(up);
    redisContext *c = redisConnect("127.0.0.1", r.port);
    CHECK(c && !c->err);
    if (up && c && !c->err) {
        test_shared_ip(rc, c);
        test_stop(rc, c);
        test_header_correction(rc, c);
        test_heavier_than_budget(rc, c);
        test_free_in_callback(rc);
        test_binance_budget(rc, c);
    }
    test_local_fallback();
    test_hold_for_redis();
    if (c) redisFree(c);
    rconn_free(rc);
    th_redis_stop(&r);
    ev_loop_destroy(loop);
    return th_done();
}
