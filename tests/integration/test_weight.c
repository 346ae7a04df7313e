/* test_weight: the per-IP weight budget against a real redis-server with the real Lua library.
 *
 * Two budgets sharing an IP share one count; another IP is independent; a stop (429/418) holds
 * every take until it ends; the answer header raises the count; with Redis unreachable the
 * local fallback (no hold) still caps; takes made before the connection is first up, or within
 * the grace after it went down, wait for Redis, and fail as not sent after the grace. Checks read the keys back with a synchronous hiredis connection. */
#include <ev.h>
#include <hiredis/hiredis.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
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
    int granted, abandoned, timedout, order_ok, next_seq;
    int64_t first_ms, last_ms;
};

struct ticket {
    struct grants *g;
    int seq;
};

static void on_grant(int granted, void *privdata)
{
    struct ticket *t = privdata;
    if (granted == WEIGHT_TIMEDOUT) {
        t->g->timedout++;
    } else if (granted == WEIGHT_GRANTED) {
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
    wall_ms_t now = timebase_wall_ms();
    struct weight_answer wa = {.used_weight_1m = 500, .sent_ms = now - 20, .done_ms = now};
    weight_answer(a, &wa);
    run_for(50);
    CHECK(sync_int(c, "GET %s", key) == 500);
    wa.used_weight_1m = 20; /* lower: never lowers */
    weight_answer(a, &wa);
    run_for(50);
    CHECK(sync_int(c, "GET %s", key) == 500);
    weight_observe(a, 505, -1); /* no times: the minute is unknown, ignored */
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
 * after Redis dies, takes wait out the grace and then fail as not sent (item 10: no request
 * whose results cannot be written), never served by the local count. */
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
    CHECK(g.granted == 2 && g.timedout == 0); /* held: inside the 400 ms grace */
    CHECK(th_loop_until(loop, &g.timedout, 2, 3000));
    CHECK(g.granted == 2 && g.timedout == 2); /* then failed, not sent: nowhere to write */
    CHECK(weight_stats(fwd_wb).timeouts == 2);
    /* a take made later, Redis still down, fails too (no second grace) */
    struct ticket t4 = {&g, 4};
    weight_take(fwd_wb, 10, on_grant, &t4);
    run_for(100);
    CHECK(g.granted == 2 && g.timedout == 3);
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
    char body[64];
    (void)arg;
    if (strncmp(req->target, "/fapi/v1/time", 13) == 0) {
        snprintf(body, sizeof body, "{\"serverTime\":%lld}", (long long)timebase_wall_ms());
        thttp_reply(resp, 200, "X-MBX-USED-WEIGHT-1M: 700\r\n", body);
    } else if (strncmp(req->target, "/fapi/v1/ticker/bookTicker", 26) == 0)
        thttp_reply(resp, 200, "X-MBX-USED-WEIGHT-1M: 1500\r\n", "[]");
    else if (strncmp(req->target, "/busy", 5) == 0)
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
    /* bookTicker's header is not accurate (Binance says so): taken, never applied. */
    CHECK(binance_request(bc, "GET", "/fapi/v1/ticker/bookTicker", NULL, NULL, BINANCE_PUBLIC, 5,
                          on_bdone, NULL) == 0);
    run_for(300);
    CHECK(bdone == 2 && blast == BINANCE_OK);
    CHECK(sync_int(c, "GET %s", key) == 705);
    bdone = 1;
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

/* The minute keys follow the exchange clock the budget is given, and an answer's header goes
 * to the minute its request was counted in, or nowhere when that straddles a minute edge. */
static void test_exchange_minute(struct rconn *rc, redisContext *c)
{
    char key[128];
    struct grants g = {.order_ok = 1};
    struct ticket t0 = {&g, 0};
    avoid_minute_edge();
    struct servertime st = {.offset_ms = 3600000, .rtt_ms = 4, .synced_at = timebase_mono_ms()};
    struct weight_budget *a = budget(rc, "10.0.0.20", 1000, 100);
    weight_set_clock(a, &st);
    weight_take(a, 7, on_grant, &t0);
    CHECK(th_loop_until(loop, &g.granted, 1, 3000));
    wall_ms_t now = timebase_wall_ms();
    int64_t m = timebase_utc_minute(now + st.offset_ms);
    snprintf(key, sizeof key, "bfq:weight:10.0.0.20:%lld", (long long)m);
    CHECK(sync_int(c, "GET %s", key) == 7); /* the exchange's minute, an hour ahead */
    minute_key("10.0.0.20", key, sizeof key);
    CHECK(sync_int(c, "GET %s", key) == -1); /* not the local one */
    struct weight_answer wa = {.used_weight_1m = 300, .sent_ms = now - 30, .done_ms = now};
    weight_answer(a, &wa);
    run_for(50);
    snprintf(key, sizeof key, "bfq:weight:10.0.0.20:%lld", (long long)m);
    CHECK(sync_int(c, "GET %s", key) == 300);
    CHECK(weight_stats(a).used_minute == 300);
    /* Sent 5 ms before the exchange's next minute, answered 5 ms after: either minute. */
    wall_ms_t edge = (m + 1) * 60000 - st.offset_ms;
    wa = (struct weight_answer){.used_weight_1m = 999, .sent_ms = edge - 5, .done_ms = edge + 5};
    weight_answer(a, &wa);
    run_for(50);
    CHECK(sync_int(c, "GET %s", key) == 300);
    snprintf(key, sizeof key, "bfq:weight:10.0.0.20:%lld", (long long)m + 1);
    CHECK(sync_int(c, "GET %s", key) == -1);
    CHECK(weight_stats(a).ignored == 1);
    /* The same answer 40 ms away from the edge is unambiguous: the next minute's. */
    wa.sent_ms = edge + 40;
    wa.done_ms = edge + 60;
    weight_answer(a, &wa);
    run_for(50);
    CHECK(sync_int(c, "GET %s", key) == 999);
    weight_free(a);
}

/* A paced budget grants along the line over the exchange minute, not all at once. */
static void test_pace(struct rconn *rc)
{
    enum { N = 50 };
    struct grants g = {.order_ok = 1};
    struct ticket t[N];
    wall_ms_t now = timebase_wall_ms();
    /* exchange time 100 ms into a minute */
    struct servertime st = {.offset_ms = 60000 - now % 60000 + 100, .rtt_ms = 2,
                            .synced_at = timebase_mono_ms()};
    struct weight_budget *a = budget(rc, "10.0.0.21", 600, 100); /* line to 594 */
    weight_set_clock(a, &st);
    weight_set_pace(a, 1);
    mono_ms_t t0 = timebase_mono_ms();
    for (int i = 0; i < N; i++) {
        t[i] = (struct ticket){&g, i};
        weight_take(a, 1, on_grant, &t[i]);
    }
    CHECK(th_loop_until(loop, &g.granted, 10, 3000));
    run_for(400);
    int64_t into = 100 + (timebase_mono_ms() - t0);
    int64_t line = 594 * (into + 1000) / 60000;
    CHECK(g.granted >= 10 && g.granted <= line + 1);
    CHECK(g.granted < N);
    CHECK(weight_stats(a).waits >= 1);
    CHECK(g.order_ok);
    weight_free(a);
    CHECK(g.granted + g.abandoned == N);
}

/* A take that waits for Redis longer than its deadline fails, and its request is not sent; a
 * wait named by the budget itself (a stop) is not a Redis wait and never times out. */
static void test_deadline(void)
{
    struct th_redis r3;
    char err[RCONN_ERR_MAX];
    struct grants g = {.order_ok = 1};
    struct ticket t[5];
    int up = 0;
    CHECK(th_redis_start(&r3, 0) == 0);
    struct rconn *rc = connect_redis(r3.url, &up, 3000);
    CHECK(up);
    struct weight_options o = {.prefix = "bfq:", .ip = "10.0.0.22", .limit = 1000,
                               .percent = 100, .timeout_ms = 400};
    struct weight_budget *a = weight_new(loop, rc, &o);
    CHECK(a != NULL);
    if (!a || !up) return;
    for (int i = 0; i < 5; i++) t[i] = (struct ticket){&g, i};
    weight_observe(a, -1, 1000); /* stopped for 1 s: longer than the deadline */
    run_for(50);
    weight_take(a, 1, on_grant, &t[0]);
    CHECK(th_loop_until(loop, &g.granted, 1, 4000));
    CHECK(g.timedout == 0);

    kill(r3.pid, SIGSTOP); /* Redis up but silent */
    weight_take(a, 1, on_grant, &t[1]);
    weight_take(a, 1, on_grant, &t[2]);
    run_for(200);
    CHECK(g.timedout == 0 && g.granted == 1);
    CHECK(th_loop_until(loop, &g.timedout, 2, 3000));
    CHECK(g.granted == 1 && weight_stats(a).timeouts == 2);

    /* Through binance: the request (and the clock sync before it) is not sent. */
    struct thttp *srv = thttp_start("127.0.0.1", exch, NULL);
    struct http_client *hc = http_client_new(loop);
    struct binance_config cfg = {.rest_url = srv ? thttp_url(srv) : "http://x"};
    struct binance_client *bc = binance_client_new(hc, &cfg, err, sizeof err);
    CHECK(srv && hc && bc);
    if (bc) {
        binance_set_budget(bc, a);
        bdone = 0;
        CHECK(binance_request(bc, "GET", "/fapi/v1/klines", "symbol=X", NULL, BINANCE_PUBLIC, 1,
                              on_bdone, NULL) == 0);
        CHECK(th_loop_until(loop, &bdone, 1, 3000));
        CHECK(blast == BINANCE_ELOCAL);
        CHECK(thttp_requests(srv) == 0);
        binance_client_free(bc);
    }
    kill(r3.pid, SIGCONT);
    weight_take(a, 1, on_grant, &t[3]); /* Redis answers again: granted, in order */
    CHECK(th_loop_until(loop, &g.granted, 2, 3000));
    weight_free(a);
    http_client_free(hc);
    if (srv) thttp_stop(srv);
    rconn_free(rc);
    th_redis_stop(&r3);
}

/* ---- the first clock sync and the connection's set-up time ---- */

/* A TCP relay that holds every new connection for DELAY_MS before it connects upstream: the
 * TLS handshake of a new connection then takes that long, as DNS, TCP and TLS to a far exchange
 * do, while the requests on it are as fast as before. */
#define DELAY_MS 1200
struct relay {
    int lfd, upstream_port, stop;
    pthread_t th;
};

static void relay_pump(int a, int b, struct relay *rl)
{
    char buf[16384];
    struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};
    while (!rl->stop) {
        if (poll(p, 2, 100) <= 0) continue;
        for (int i = 0; i < 2; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(p[i].fd, buf, sizeof buf);
            if (n <= 0 || write(p[1 - i].fd, buf, (size_t)n) != n) return;
        }
    }
}

static void *relay_main(void *arg)
{
    struct relay *rl = arg;
    while (!rl->stop) {
        struct pollfd p = {.fd = rl->lfd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0) continue;
        int cfd = accept(rl->lfd, NULL, NULL);
        if (cfd < 0) continue;
        th_sleep_ms(DELAY_MS);
        int ufd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(rl->upstream_port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (ufd >= 0 && connect(ufd, (struct sockaddr *)&sa, sizeof sa) == 0)
            relay_pump(cfd, ufd, rl);
        if (ufd >= 0) close(ufd);
        close(cfd);
    }
    return NULL;
}

static int relay_start(struct relay *rl, int upstream_port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof sa;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rl->upstream_port = upstream_port;
    rl->lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (rl->lfd < 0 || bind(rl->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(rl->lfd, 8) != 0 || getsockname(rl->lfd, (struct sockaddr *)&sa, &len) != 0)
        return -1;
    if (pthread_create(&rl->th, NULL, relay_main, rl) != 0) return -1;
    return ntohs(sa.sin_port);
}

static int tls_sim_start(struct th_sim *sim, char *cert, size_t cap)
{
    char keyf[512], listen_at[64], url[256];
    snprintf(cert, cap, "%s/cert.pem", th_tmpdir());
    snprintf(keyf, sizeof keyf, "%s/key.pem", th_tmpdir());
    const char *gen[] = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                         "-keyout", keyf, "-out", cert, NULL};
    if (th_run(gen, NULL, 30000) != 0) return -1;
    sim->port = th_free_port();
    snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", sim->port);
    snprintf(sim->log, sizeof sim->log, "%s/sim-tls.log", th_tmpdir());
    snprintf(sim->url, sizeof sim->url, "https://127.0.0.1:%d", sim->port);
    const char *argv[] = {th_bfq_bin(), "sim", "--listen", listen_at, "--symbols", "5",
                          "--tls-cert", cert, "--tls-key", keyf, NULL};
    sim->pid = th_spawn(argv, sim->log);
    snprintf(url, sizeof url, "%s/fapi/v1/ping", sim->url);
    for (int i = 0; i < 100; i++) {
        if (th_http("GET", url, NULL, NULL, NULL) == 200) return 0;
        th_sleep_ms(50);
    }
    return -1;
}

/* The first sync must not count the connection's set-up as part of the round trip: the
 * exchange clock 5 s ahead must come out as 5 s, not 5 s plus half the set-up time. */
static void test_clock_setup(struct rconn *rc)
{
    struct th_sim sim;
    struct relay rl = {0};
    char cert[512], url[256], err[128];
    if (tls_sim_start(&sim, cert, sizeof cert) != 0) {
        CHECK(!"TLS simulator did not start");
        return;
    }
    snprintf(url, sizeof url, "%s/_sim/clock?offset_ms=5000", sim.url);
    CHECK(th_http("POST", url, "", NULL, NULL) == 200);
    int port = relay_start(&rl, sim.port);
    CHECK(port > 0);
    struct http_client *hc = http_client_new(loop);
    snprintf(url, sizeof url, "https://127.0.0.1:%d", port);
    struct binance_config cfg = {.rest_url = url, .ca_file = cert};
    struct binance_client *bc = binance_client_new(hc, &cfg, err, sizeof err);
    struct weight_budget *wb = budget(rc, "10.0.0.23", 2400, 90);
    CHECK(bc && wb);
    if (port > 0 && bc && wb) {
        binance_set_budget(bc, wb); /* with a budget, even a public request syncs first */
        bdone = 0;
        CHECK(binance_request(bc, "GET", "/fapi/v1/ping", NULL, NULL, BINANCE_PUBLIC, 1,
                              on_bdone, NULL) == 0);
        CHECK(th_loop_until(loop, &bdone, 1, 15000));
        CHECK(blast == BINANCE_OK);
        const struct servertime *st = binance_servertime(bc);
        printf("clock offset %lld ms (exchange +5000), rtt %lld ms, set-up %d ms\n",
               (long long)st->offset_ms, (long long)st->rtt_ms, DELAY_MS);
        CHECK(st->offset_ms > 5000 - 150 && st->offset_ms < 5000 + 150);
        CHECK(st->rtt_ms < DELAY_MS / 2);
    }
    binance_client_free(bc);
    weight_free(wb);
    http_client_free(hc);
    rl.stop = 1;
    if (port > 0) pthread_join(rl.th, NULL);
    close(rl.lfd);
    th_sim_stop(&sim);
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
        test_exchange_minute(rc, c);
        test_pace(rc);
        test_clock_setup(rc);
    }
    test_deadline();
    test_local_fallback();
    test_hold_for_redis();
    if (c) redisFree(c);
    rconn_free(rc);
    th_redis_stop(&r);
    ev_loop_destroy(loop);
    return th_done();
}
