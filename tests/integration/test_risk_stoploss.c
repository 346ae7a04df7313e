/* test_risk_stoploss: `bfq stoploss`, `bfq kill` and `bfq resume` against `bfq sim`, `bfq
 * gateway` and redis-server with the ACL users (stoploss and kill run as user `risk`).
 *
 * - a position opened in the simulator gets its ladder: 5 open `sl_` algo orders whose
 *   quantities sum exactly to the position, triggers 5 %, 5.5 % ... 7 % from the entry (within
 *   one tick), STOP_MARKET, MARK_PRICE, reduce-only;
 * - growing it 10 % re-arms: the new ladder covers the new position, and every new order was
 *   created before any old one was cancelled (allAlgoOrders times), and sampled meanwhile the
 *   open stop quantity never fell below the old ladder's;
 * - closing the position leaves no open algo order;
 * - started over a position already 6.2 % under water, the stops that would trigger at once
 *   (-2021) close their quantity at market and the others are placed;
 * - restarted with the ladder far away (base 50 %), an adverse move of 8 % closes the
 *   position (2.5 BTC, more than MARKET_LOT_SIZE maxQty) at market, reduce-only, in parts of
 *   at most maxQty (class `hs`, filled, summing exactly to the position), and alerts;
 * - `bfq kill --flatten` leaves no position, no open order and no algo order, the state
 *   HALTED (a later open is denied TRADING_HALTED, also by a restarted gateway), and
 *   `bfq resume` makes it ACTIVE; both changes are alerted with their reason. */
#include <signal.h>
#include <sys/wait.h>

#include "tests/integration/test_stoploss_util.h"

/* Checks the triggers of the ladder in a against the entry: level i at entry * (1 - (5 +
 * 0.5 i) / 100) within one tick, ascending distance, MARK_PRICE, reduce-only, SELL. */
static void check_triggers(json_t *a, struct dec entry, struct dec tick)
{
    int seen[5] = {0};
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        struct dec tp = D(json_string_value(json_object_get(e, "triggerPrice")));
        CHECK(th_streq(json_string_value(json_object_get(e, "workingType")), "MARK_PRICE"));
        CHECK(th_streq(json_string_value(json_object_get(e, "side")), "SELL"));
        CHECK(th_streq(json_string_value(json_object_get(e, "orderType")), "STOP_MARKET") ||
              th_streq(json_string_value(json_object_get(e, "type")), "STOP_MARKET"));
        CHECK(json_is_true(json_object_get(e, "reduceOnly")));
        int found = -1;
        for (int k = 0; k < 5; k++) {
            struct dec pct = {(int64_t)(50 + 5 * k), 1}, f, want, diff;
            if (dec_sub(dec_from_int(100), pct, &f) != DEC_OK ||
                dec_mul(entry, f, &want) != DEC_OK ||
                dec_div(want, dec_from_int(100), 12, DEC_ROUND_DOWN, &want) != DEC_OK ||
                dec_sub(tp, want, &diff) != DEC_OK)
                continue;
            if (dec_cmp(dec_abs(diff), tick) < 0) found = k;
        }
        if (found < 0)
            fprintf(stderr, "# trigger %s matches no level of entry %s\n", fmt(tp), fmt(entry));
        CHECK(found >= 0);
        if (found >= 0) seen[found]++;
    }
    for (int k = 0; k < 5; k++)
        CHECK(seen[k] == 1);
}

static int amt_is_04(void *sym)
{
    return tb_dec_eq(tt_amt(sym), "0.4");
}

static int three_immediate(void *arg)
{
    (void)arg;
    return tt_hb("stoploss", "sl2", "immediate") == 3;
}

/* The hard stop's orders of sym on the exchange (allOrders, client id `hs_`): how many, their
 * quantities' sum, whether each was a reduce-only MARKET SELL of at most max. */
static int hs_orders(const char *sym, struct dec max, struct dec *sum, int *ok)
{
    char params[96];
    snprintf(params, sizeof params, "symbol=%s&limit=1000", sym);
    json_t *a = signed_array("/fapi/v1/allOrders", params);
    int n = 0;
    size_t i;
    json_t *e;
    *sum = (struct dec){0, 0};
    *ok = json_is_array(a);
    json_array_foreach(a, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "clientOrderId"));
        if (!c || strncmp(c, "hs_", 3)) continue;
        struct dec q = D(json_string_value(json_object_get(e, "executedQty")));
        n++;
        *ok &= json_is_true(json_object_get(e, "reduceOnly")) && dec_cmp(q, max) <= 0 &&
               th_streq(json_string_value(json_object_get(e, "type")), "MARKET") &&
               th_streq(json_string_value(json_object_get(e, "side")), "SELL") &&
               th_streq(json_string_value(json_object_get(e, "status")), "FILLED");
        if (dec_add(*sum, q, sum) != DEC_OK) *ok = 0;
    }
    json_decref(a);
    return n;
}

static pid_t spawn_stoploss(const char *inst)
{
    const char *args[] = {"--instance", inst, "--source-ip", "127.0.0.4", NULL};
    return cu_spawn("stoploss", "risk", args);
}

static int open_orders_none(void *arg)
{
    char *body = NULL;
    (void)arg;
    th_sleep_ms(200);
    long code = tb_signed(&tt_acct, "GET", "/fapi/v1/openOrders", NULL, &body);
    int ok = code == 200 && body && !strcmp(body, "[]");
    free(body);
    return ok;
}

/* No algo order of any kind on either traded symbol (per symbol: weight 1, not 40). */
static int all_algo_none(void *arg)
{
    int ok = 1;
    (void)arg;
    th_sleep_ms(200); /* the test shares 127.0.0.1's weight with the gateway */
    for (int i = 0; i < 2; i++) {
        char params[64], *body = NULL;
        snprintf(params, sizeof params, "symbol=%s", i ? "BTCUSDT" : "ETHUSDT");
        long code = tb_signed(&tt_acct, "GET", "/fapi/v1/openAlgoOrders", params, &body);
        ok &= code == 200 && body && !strcmp(body, "[]");
        free(body);
    }
    return ok;
}

static int has_open_order(void *arg)
{
    (void)arg;
    return cu_int("HLEN bfq:acct:main:orders") > 0;
}

int main(void)
{
    pid_t pids[6];
    int n = tt_stack(TT_USERSTREAM, pids);
    if (n != 2) return 1;
    const char *gargs[] = {"--instance", "g1", NULL};
    pids[n++] = cu_spawn("gateway", NULL, gargs);
    setenv("BFQ_STOPLOSS_RECHECK", "3s", 1);
    pid_t sl = spawn_stoploss("sl1");

    /* 1. a position gets its ladder */
    char *tick_s = tb_hget(cu_adm, "bfq:symbol:ETHUSDT", "tickSize");
    struct dec tick = D(tick_s);
    free(tick_s);
    CHECK(tb_market(&tt_acct, "ETHUSDT", "BUY", "1.013", NULL, NULL) == 200);
    CHECK(th_wait_until(tt_long, "ETHUSDT", 10000));
    struct cover c1 = {"ETHUSDT", "1.013", 5};
    CHECK(th_wait_until(covered, &c1, 20000));
    char *entry_s = tb_hget_member(cu_adm, "bfq:acct:main:pos", "ETHUSDT:BOTH", "entry");
    struct dec entry = D(entry_s);
    free(entry_s);
    json_t *old = open_stops("ETHUSDT");
    CHECK(old && json_array_size(old) == 5);
    if (old) check_triggers(old, entry, tick);

    /* 2. grown 10 %: re-armed, new verified before old cancelled, never uncovered */
    CHECK(tb_market(&tt_acct, "ETHUSDT", "BUY", "0.101", NULL, NULL) == 200);
    struct cover c2 = {"ETHUSDT", "1.114", 5};
    int64_t until = th_now_ms() + 20000;
    int samples = 0, low = 0, done = 0;
    while (th_now_ms() < until && !done) {
        json_t *a = open_stops("ETHUSDT");
        if (a) {
            samples++;
            if (dec_cmp(stops_sum(a), D("1.013")) < 0) low++;
        }
        json_decref(a);
        done = covered(&c2);
    }
    fprintf(stderr, "# re-arm: %d samples, %d below the old cover\n", samples, low);
    CHECK(done && low == 0);
    json_t *fresh = open_stops("ETHUSDT");
    CHECK(fresh && json_array_size(fresh) == 5);
    if (old && fresh) check_order("ETHUSDT", old, fresh);
    json_decref(old);
    json_decref(fresh);

    /* 3. closed: no algo order left */
    CHECK(tb_market(&tt_acct, "ETHUSDT", "SELL", "1.114", NULL, NULL) == 200);
    CHECK(th_wait_until(tt_flat, "ETHUSDT", 10000));
    CHECK(th_wait_until(no_stops, "ETHUSDT", 20000));

    /* 4. stops that would trigger at once (-2021) close their part at market: a long opened
     * while no stoploss runs, the price 6.2 % down, then stoploss starts: the 5, 5.5 and 6 %
     * levels close 0.2 each, the 6.5 and 7 % levels are placed */
    CHECK(th_stop(sl, 5000) == 0);
    CHECK(tb_market(&tt_acct, "ETHUSDT", "BUY", "1.000", NULL, NULL) == 200);
    CHECK(th_wait_until(tt_long, "ETHUSDT", 10000));
    struct mark_at m62 = {"ETHUSDT", {0, 0}};
    CHECK(dec_mul(mark_of("ETHUSDT"), (struct dec){9385, 4}, &m62.limit) == DEC_OK);
    CHECK(cu_sim_admin("POST", "/_sim/price?symbol=ETHUSDT&pct=-6.2") == 200);
    /* the exchange triggers stops on the mark, which follows the price over up to 5 s: wait
     * until it is past the 6 % level (6.15 % down), or the ladder placed meanwhile is not refused
     * but triggers at the exchange; the book in Redis is newer by then */
    CHECK(th_wait_until(mark_at_most, &m62, 15000));
    sl = spawn_stoploss("sl2");
    struct cover c6 = {"ETHUSDT", "0.4", 2};
    CHECK(th_wait_until(covered, &c6, 30000));
    CHECK(th_wait_until(amt_is_04, "ETHUSDT", 10000));
    CHECK(th_wait_until(three_immediate, NULL, 5000)); /* the heartbeat renews every second */
    CHECK(tt_hb("stoploss", "sl2", "hard_stops") == 0);
    CHECK(tb_market(&tt_acct, "ETHUSDT", "SELL", "0.400", NULL, NULL) == 200);
    CHECK(th_wait_until(tt_flat, "ETHUSDT", 10000));
    CHECK(th_wait_until(no_stops, "ETHUSDT", 20000));

    /* 5. the hard stop: the ladder far away, an 8 % fall closes the long at market, reduce-only,
     * in parts of at most MARKET_LOT_SIZE maxQty (2.5 BTC is more than one part) */
    CHECK(th_stop(sl, 5000) == 0);
    setenv("BFQ_STOPLOSS_BASE_PCT", "50", 1);
    sl = spawn_stoploss("sl3");
    char *max_s = tb_hget(cu_adm, "bfq:symbol:BTCUSDT", "marketMaxQty");
    struct dec max_qty = D(max_s), hs_sum;
    free(max_s);
    CHECK(dec_cmp(max_qty, D("2.5")) < 0);
    CHECK(tb_market(&tt_acct, "BTCUSDT", "BUY", "1.500", NULL, NULL) == 200); /* <= maxQty each */
    CHECK(tb_market(&tt_acct, "BTCUSDT", "BUY", "1.000", NULL, NULL) == 200);
    CHECK(th_wait_until(tt_long, "BTCUSDT", 10000));
    struct cover c3 = {"BTCUSDT", "2.5", 0};
    CHECK(th_wait_until(covered, &c3, 20000));
    CHECK(cu_sim_admin("POST", "/_sim/price?symbol=BTCUSDT&pct=-8") == 200);
    CHECK(th_wait_until(tt_flat, "BTCUSDT", 20000));
    CHECK(th_wait_until(alert_with, "hard stop: BTCUSDT", 5000));
    CHECK(th_wait_until(no_stops, "BTCUSDT", 20000));
    CHECK(tt_hb("stoploss", "sl3", "hard_stops") == 1);
    int hs_ok = 0, hs_n = hs_orders("BTCUSDT", max_qty, &hs_sum, &hs_ok);
    fprintf(stderr, "# hard stop: %d orders, %s in all, max %s\n", hs_n, fmt(hs_sum), fmt(max_qty));
    CHECK(hs_n >= 2 && hs_ok && dec_cmp(hs_sum, D("2.5")) == 0);

    /* 6. the kill switch */
    CHECK(tb_market(&tt_acct, "BTCUSDT", "BUY", "0.020", NULL, NULL) == 200);
    CHECK(tb_market(&tt_acct, "ETHUSDT", "SELL", "0.500", NULL, NULL) == 200);
    CHECK(th_wait_until(tt_long, "BTCUSDT", 10000));
    struct cover c4 = {"BTCUSDT", "0.02", 0}, c5 = {"ETHUSDT", "0.5", 0};
    CHECK(th_wait_until(covered, &c4, 20000) && th_wait_until(covered, &c5, 20000));
    char *bid = tb_hget_member(cu_adm, "bfq:ticks", "ETHUSDT", "b"), price[64], params[256];
    struct dec low_price;
    CHECK(dec_mul(D(bid), (struct dec){8, 1}, &low_price) == DEC_OK &&
          dec_snap_to_tick(low_price, tick, (struct dec){0, 0}, DEC_ROUND_DOWN, &low_price) ==
              DEC_OK);
    free(bid);
    snprintf(price, sizeof price, "%s", fmt(low_price));
    snprintf(params, sizeof params,
             "symbol=ETHUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.100&price=%s", price);
    CHECK(tb_signed(&tt_acct, "POST", "/fapi/v1/order", params, NULL) == 200);
    CHECK(th_wait_until(has_open_order, NULL, 10000));
    /* stoploss stopped first: it would cancel the ladders of the flattened symbols itself, so
     * only kill's own cancel_algo can leave no algo order behind */
    CHECK(th_stop(sl, 5000) == 0);
    char *out = NULL;
    const char *kargs[] = {"--flatten", "--reason", "test kill", NULL};
    int rc = cu_run("kill", "risk", NULL, kargs, &out, 60000);
    fprintf(stderr, "# bfq kill -> %d\n%s", rc, out ? out : "");
    CHECK(rc == 0);
    free(out);
    CHECK(th_wait_until(tt_flat, "BTCUSDT", 10000) && th_wait_until(tt_flat, "ETHUSDT", 10000));
    CHECK(th_wait_until(open_orders_none, NULL, 10000));
    CHECK(th_wait_until(all_algo_none, NULL, 20000));
    char *st = tb_hget(cu_adm, "bfq:risk:state:main", "state");
    CHECK(th_streq(st, "HALTED"));
    free(st);
    CHECK(alert_with("trading state HALTED: test kill"));
    /* HALTED holds across a restart of the gateway */
    CHECK(th_stop(pids[n - 1], 5000) == 0);
    pids[n - 1] = cu_spawn("gateway", NULL, gargs);
    tt_intent("id=afterkill", "op=order", "sym=BTCUSDT", "side=BUY", "qty=0.010", "class=to", NULL);
    CHECK(tt_is("afterkill", "denied", "TRADING_HALTED", 30000));
    const char *rargs[] = {"--reason", "test over", NULL};
    CHECK(cu_run("resume", "risk", NULL, rargs, NULL, 20000) == 0);
    st = tb_hget(cu_adm, "bfq:risk:state:main", "state");
    CHECK(th_streq(st, "ACTIVE"));
    free(st);
    CHECK(alert_with("trading state ACTIVE: test over"));
    const char *noreason[] = {"--flatten", NULL};
    CHECK(cu_run("kill", "risk", NULL, noreason, NULL, 20000) == 2);

    int status[6];
    th_stop_all(pids, n, 5000, status);
    return th_done();
}
