/* test_risk_sweeper: `bfq sweeper` (user `risk`) through `bfq gateway` against `bfq sim` and
 * redis-server, with to_age 2 s and mc_age 5 s.
 *
 * Resting orders placed at the exchange with client ids of classes `to`, `mc`, an unknown
 * class, and a `sl_` algo order on a flat symbol: the `to` order is cancelled after 2 s, the
 * `mc` one after 5 s (and not before), the stop of the flat symbol is cancelled, the unknown
 * one is left open and alerted; an order placed while the user stream is down (so Redis never
 * hears of it) is found over REST and swept by the same rule, and so is a stop of the flat
 * symbol placed then (GET openAlgoOrders?symbol=).
 *
 * The maker->taker conversion (mo_age 2.5 s, convert_pct 30, convert_slip_pct 1, IOC LIMIT):
 * a `mo` BUY of 0.100 gets exactly one `cv` order at the exchange, 0.030, IOC LIMIT at the best
 * ask * 1.01 snapped down to the tick, and only once the state is ACTIVE (while HALTED it asks
 * for none); a `mo` order whose 30 % is below the minimum notional is
 * skipped (counted) and gets none; a restarted sweeper does not convert again (the claim in
 * Redis). At the end the exchange's own order lists hold exactly the orders placed here plus
 * that one conversion, each in the state the rules say: nothing else was touched. */
#include "tests/integration/test_trader_util.h"

static char low[64];

static int place_qty(const char *cid, const char *qty)
{
    return tt_rest("ETHUSDT", cid, qty);
}

static int place(const char *cid)
{
    return place_qty(cid, "0.100");
}

/* Every order of ETHUSDT at the exchange (allOrders, any status), new reference. */
static json_t *eth_orders(void)
{
    char *body = NULL;
    long code =
        tb_signed(&tt_acct, "GET", "/fapi/v1/allOrders", "symbol=ETHUSDT&limit=1000", &body);
    json_t *a = code == 200 && body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return a;
}

/* The number of `cv_` orders of ETHUSDT at the exchange; the last one into *last (new ref). */
static int cv_orders(json_t **last)
{
    json_t *a = eth_orders(), *e;
    size_t i;
    int n = 0;
    if (last) *last = NULL;
    json_array_foreach(a, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "clientOrderId"));
        if (!c || strncmp(c, "cv_", 3)) continue;
        n++;
        if (last) {
            json_decref(*last);
            *last = json_incref(e);
        }
    }
    json_decref(a);
    return n;
}

static int converted(void *arg)
{
    (void)arg;
    th_sleep_ms(100);
    return cv_orders(NULL) > 0;
}

static int hb_at_least(void *arg)
{
    const char *const *a = arg; /* instance, counter */
    return tt_hb("sweeper", a[0], a[1]) >= 1;
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

/* The open orders hash is keyed SYM:clientOrderId (docs/redis.md); every order here is ETHUSDT's.
 */
static int in_redis(void *cid)
{
    return cu_int("HEXISTS bfq:acct:main:orders ETHUSDT:%s", (const char *)cid) == 1;
}

static int algo_in_redis(void *cid)
{
    return cu_int("HEXISTS bfq:acct:main:orders BTCUSDT:algo:%s", (const char *)cid) == 1;
}

static int stream_connected(void *arg)
{
    (void)arg;
    char *s = cu_str("GET bfq:hb:userstream:us");
    json_t *o = s ? json_loads(s, 0, NULL) : NULL;
    int ok = json_is_true(json_object_get(o, "connected"));
    json_decref(o);
    free(s);
    return ok;
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
    setenv("BFQ_SIM_VOLATILITY", "0.01", 1); /* a calm book: the price bound is checked exactly */
    setenv("BFQ_SWEEPER_CONVERT_SLIP_PCT", "1", 1);
    int n = tt_stack(TT_USERSTREAM, pids);
    if (n != 2) return 1;
    pid_t us = pids[1];
    const char *gargs[] = {"--instance", "g1", NULL};
    pids[n++] = cu_spawn("gateway", NULL, gargs);
    CHECK(tt_low_price("ETHUSDT", low, sizeof low) == 0);
    char *tick = tb_hget(cu_adm, "bfq:symbol:ETHUSDT", "tickSize");
    struct dec t;
    CHECK(tick && dec_parse(tick, (size_t)-1, &t) == DEC_OK);
    free(tick);

    /* a maker open too small to convert: 30 % of it is below the minimum notional */
    char *mn = tb_hget(cu_adm, "bfq:symbol:ETHUSDT", "minNotional");
    char *step = tb_hget(cu_adm, "bfq:symbol:ETHUSDT", "stepSize");
    struct dec mnd, sd, small, lowd;
    char smallq[64];
    CHECK(mn && step && dec_parse(mn, (size_t)-1, &mnd) == DEC_OK &&
          dec_parse(step, (size_t)-1, &sd) == DEC_OK &&
          dec_parse(low, (size_t)-1, &lowd) == DEC_OK &&
          dec_div(mnd, lowd, 8, DEC_ROUND_UP, &small) == DEC_OK &&
          dec_floor_to_step(small, sd, &small) == DEC_OK && dec_add(small, sd, &small) == DEC_OK &&
          dec_format_trim(small, smallq, sizeof smallq) > 0);
    fprintf(stderr, "# minNotional %s, step %s, low %s: the small maker order is %s\n", mn, step,
            low, smallq);
    free(mn);
    free(step);

    CHECK(th_wait_until(stream_connected, NULL, 15000)); /* Redis hears of what follows */
    CHECK(place("to_s1") == 0 && place("mc_s2") == 0 && place("zz_other1") == 0);
    CHECK(place("mo_s6") == 0 && place_qty("mo_s7", smallq) == 0);
    char params[256];
    snprintf(params, sizeof params,
             "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.200"
             "&triggerPrice=1000&clientAlgoId=sl_s4");
    CHECK(tb_signed(&tt_acct, "POST", "/fapi/v1/algoOrder", params, NULL) == 200);
    CHECK(th_wait_until(in_redis, "zz_other1", 10000) && th_wait_until(in_redis, "mc_s2", 1000));
    CHECK(th_wait_until(algo_in_redis, "sl_s4", 5000));
    /* HALTED first: cancels pass, but no conversion (an opening order) is even asked for */
    freeReplyObject(cu_cmd("HSET bfq:risk:state:main state HALTED reason test t 1 src test"));
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

    /* the conversion: none while HALTED (mo_s6 is 5 s old), then one cv order once ACTIVE,
     * 30 % of 0.100, IOC LIMIT at ask * 1.01 snapped down */
    CHECK(cv_orders(NULL) == 0 && tt_hb("sweeper", "sw1", "conversions") == 0);
    freeReplyObject(cu_cmd("HSET bfq:risk:state:main state ACTIVE"));
    CHECK(th_wait_until(converted, NULL, 10000));
    char *ask = tb_hget_member(cu_adm, "bfq:ticks", "ETHUSDT", "a");
    json_t *cv = NULL;
    CHECK(cv_orders(&cv) == 1 && cv && ask);
    const char *cvp = json_string_value(json_object_get(cv, "price"));
    char *cvs = cv ? json_dumps(cv, JSON_COMPACT) : NULL;
    fprintf(stderr, "# converted: %s, the ask now %s\n", cvs ? cvs : "(none)", ask ? ask : "?");
    free(cvs);
    CHECK(tb_dec_eq(json_string_value(json_object_get(cv, "origQty")), "0.030"));
    CHECK(!strcmp(json_string_value(json_object_get(cv, "type")), "LIMIT"));
    CHECK(!strcmp(json_string_value(json_object_get(cv, "timeInForce")), "IOC"));
    CHECK(!strcmp(json_string_value(json_object_get(cv, "side")), "BUY"));
    struct dec a, want, got, diff;
    CHECK(ask && cvp && dec_parse(ask, (size_t)-1, &a) == DEC_OK &&
          dec_parse(cvp, (size_t)-1, &got) == DEC_OK &&
          dec_mul(a, (struct dec){101, 2}, &want) == DEC_OK &&
          dec_snap_to_tick(want, t, (struct dec){0, 0}, DEC_ROUND_DOWN, &want) == DEC_OK &&
          dec_sub(got, want, &diff) == DEC_OK);
    /* the calm book moves a tick or two at most meanwhile; 1 % is a hundred ticks and more */
    struct dec slack;
    CHECK(dec_mul(t, dec_from_int(3), &slack) == DEC_OK && dec_cmp(dec_abs(diff), slack) <= 0);
    CHECK(dec_cmp(got, a) > 0); /* a bound above the market: it takes */
    json_decref(cv);
    free(ask);
    const char *skipped[] = {"sw1", "convert_skipped"};
    CHECK(th_wait_until(hb_at_least, (void *)skipped, 5000));
    th_sleep_ms(3000); /* no second conversion of the same order, none of the small one */
    CHECK(cv_orders(NULL) == 1);

    /* Redis never hears of this one: the user stream is down */
    CHECK(th_stop(us, 5000) == 0);
    pids[1] = 0;
    CHECK(place("to_s5") == 0);
    snprintf(params, sizeof params,
             "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&quantity=0.200"
             "&triggerPrice=1000&clientAlgoId=sl_s8");
    CHECK(tb_signed(&tt_acct, "POST", "/fapi/v1/algoOrder", params, NULL) == 200);
    CHECK(th_wait_until(canceled, "to_s5", 20000));
    CHECK(th_wait_until(algo_canceled, "sl_s8", 20000)); /* openAlgoOrders?symbol= */
    CHECK(!in_redis("to_s5") && !algo_in_redis("sl_s8"));
    CHECK(tt_hb("sweeper", "sw1", "rest_reads") > 0);

    /* a restart does not convert again: the claim is in Redis */
    CHECK(th_stop(pids[n - 1], 5000) == 0);
    const char *sargs2[] = {"--instance", "sw2",         "--to-age",  "2s", "--mc-age",
                            "5s",         "--source-ip", "127.0.0.6", NULL};
    pids[n - 1] = cu_spawn("sweeper", "risk", sargs2);
    const char *before[] = {"sw2", "convert_claimed_before"};
    CHECK(th_wait_until(hb_at_least, (void *)before, 10000));
    th_sleep_ms(1500);
    CHECK(cv_orders(NULL) == 1);
    CHECK(tt_hb("sweeper", "sw2", "conversions") == 0);

    /* nothing else touched: the exchange's lists hold what was placed here, in the states the
     * rules say, and the one conversion */
    static const char *const want_st[][2] = {{"to_s1", "CANCELED"}, {"mc_s2", "CANCELED"},
                                             {"zz_other1", "NEW"},  {"mo_s6", "NEW"},
                                             {"mo_s7", "NEW"},      {"to_s5", "CANCELED"}};
    json_t *all = eth_orders(), *e;
    size_t i;
    int seen = 0;
    json_array_foreach(all, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "clientOrderId"));
        const char *st = json_string_value(json_object_get(e, "status"));
        int ok = c && !strncmp(c, "cv_", 3) && st && !strcmp(st, "FILLED");
        for (size_t k = 0; !ok && c && st && k < sizeof want_st / sizeof want_st[0]; k++)
            ok = !strcmp(c, want_st[k][0]) && !strcmp(st, want_st[k][1]);
        if (!ok) fprintf(stderr, "# unexpected order %s %s\n", c ? c : "?", st ? st : "?");
        CHECK(ok);
        seen++;
    }
    CHECK(seen == 7);
    json_decref(all);
    char *body = NULL;
    CHECK(tb_signed(&tt_acct, "GET", "/fapi/v1/allOrders", "symbol=BTCUSDT", &body) == 200);
    CHECK(body && !strcmp(body, "[]"));
    free(body);

    int status[5];
    th_stop_all(pids, n, 5000, status);
    return th_done();
}
