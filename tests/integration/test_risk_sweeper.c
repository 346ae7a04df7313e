/* test_risk_sweeper: `bfq sweeper` (user `risk`) through `bfq gateway` against `bfq sim` and
 * redis-server, with to_age 2 s and mc_age 5 s.
 *
 * Resting orders placed at the exchange with client ids of classes `to`, `mc`, an unknown
 * class, and a `sl_` algo order on a flat symbol: the `to` order is cancelled after 2 s, the
 * `mc` one after 5 s (and not before), the stop of the flat symbol is cancelled, the unknown
 * one is left open and alerted; an order placed while the user stream is down (so Redis never
 * hears of it) is found over REST and swept by the same rule. */
#include "tests/integration/test_trader_util.h"

static char low[64];

static int place(const char *cid)
{
    char params[256];
    snprintf(params, sizeof params,
             "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.100&price=%s"
             "&newClientOrderId=%s",
             low, cid);
    return tb_signed(&tt_acct, "POST", "/fapi/v1/order", params, NULL) == 200 ? 0 : -1;
}

static const char *status_of(const char *cid)
{
    static char st[32];
    char params[128], *body = NULL;
    snprintf(params, sizeof params, "symbol=ETHUSDT&origClientOrderId=%s", cid);
    long code = tb_signed(&tt_acct, "GET", "/fapi/v1/order", params, &body);
    json_t *j = code == 200 && body ? json_loads(body, 0, NULL) : NULL;
    snprintf(st, sizeof st, "%s", j ? json_string_value(json_object_get(j, "status")) : "?");
    json_decref(j);
    free(body);
    return st;
}

static int canceled(void *cid)
{
    th_sleep_ms(100);
    return !strcmp(status_of(cid), "CANCELED");
}

static int algo_canceled(void *cid)
{
    char params[128], *body = NULL;
    th_sleep_ms(100);
    snprintf(params, sizeof params, "clientAlgoId=%s", (const char *)cid);
    long code = tb_signed(&tt_acct, "GET", "/fapi/v1/algoOrder", params, &body);
    int ok = code == 200 && body && strstr(body, "\"algoStatus\":\"CANCELED\"");
    free(body);
    return ok;
}

/* The open orders hash is keyed SYM:clientOrderId (docs/redis.md); every order here is ETHUSDT's. */
static int in_redis(void *cid)
{
    return cu_int("HEXISTS bfq:acct:main:orders ETHUSDT:%s", (const char *)cid) == 1;
}

static int unknown_alerted(void *arg)
{
    (void)arg;
    redisReply *r = cu_cmd("XRANGE bfq:alerts - +");
    int found = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *kv = r->element[i]->element[1];
        for (size_t j = 0; j + 1 < kv->elements; j += 2)
            if (!strcmp(kv->element[j]->str, "text") &&
                strstr(kv->element[j + 1]->str, "zz_other1"))
                found = 1;
    }
    if (r) freeReplyObject(r);
    return found;
}

int main(void)
{
    pid_t pids[5];
    int n = tt_stack(TT_USERSTREAM, pids);
    if (n != 2) return 1;
    pid_t us = pids[1];
    const char *gargs[] = {"--instance", "g1", NULL};
    pids[n++] = cu_spawn("gateway", NULL, gargs);
    char *bid = tb_hget_member(cu_adm, "bfq:ticks", "ETHUSDT", "b");
    char *tick = tb_hget(cu_adm, "bfq:symbol:ETHUSDT", "tickSize");
    struct dec b, t, p;
    CHECK(bid && tick && dec_parse(bid, (size_t)-1, &b) == DEC_OK &&
          dec_parse(tick, (size_t)-1, &t) == DEC_OK &&
          dec_mul(b, (struct dec){8, 1}, &p) == DEC_OK &&
          dec_snap_to_tick(p, t, (struct dec){0, 0}, DEC_ROUND_DOWN, &p) == DEC_OK &&
          dec_format_trim(p, low, sizeof low) > 0);
    free(bid);
    free(tick);

    CHECK(place("to_s1") == 0 && place("mc_s2") == 0 && place("zz_other1") == 0);
    char params[256];
    snprintf(params, sizeof params,
             "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.200"
             "&triggerPrice=1000&clientAlgoId=sl_s4");
    CHECK(tb_signed(&tt_acct, "POST", "/fapi/v1/algoOrder", params, NULL) == 200);
    CHECK(th_wait_until(in_redis, "zz_other1", 10000) && th_wait_until(in_redis, "mc_s2", 1000));
    int64_t t0 = th_now_ms();
    const char *sargs[] = {"--instance", "sw1",         "--to-age",  "2s", "--mc-age",
                           "5s",         "--source-ip", "127.0.0.6", NULL};
    pids[n++] = cu_spawn("sweeper", "risk", sargs);

    CHECK(th_wait_until(canceled, "to_s1", 15000));
    CHECK(th_wait_until(algo_canceled, "sl_s4", 10000));
    CHECK(strcmp(status_of("mc_s2"), "CANCELED") != 0 || th_now_ms() - t0 >= 5000);
    CHECK(th_wait_until(canceled, "mc_s2", 15000));
    CHECK(th_now_ms() - t0 >= 5000);
    CHECK(th_wait_until(unknown_alerted, NULL, 5000));
    th_sleep_ms(1000);
    CHECK(!strcmp(status_of("zz_other1"), "NEW"));

    /* Redis never hears of this one: the user stream is down */
    CHECK(th_stop(us, 5000) == 0);
    pids[1] = 0;
    CHECK(place("to_s5") == 0);
    CHECK(th_wait_until(canceled, "to_s5", 20000));
    CHECK(!in_redis("to_s5"));
    CHECK(tt_hb("sweeper", "sw1", "rest_reads") > 0);

    int status[5];
    th_stop_all(pids, n, 5000, status);
    return th_done();
}
