/* test_risk_stoploss_algo: `bfq stoploss` against the Algo Order API's failure modes, with `bfq
 * sim`, `bfq gateway`, `bfq userstream` and redis-server (the peers' complaints, docs/risk.md):
 *
 * - started with a configuration file holding every documented [stoploss] key, it logs no
 *   unknown-key warning;
 * - with the simulator hiding a fresh algo order for 3 s (fault algo_lag: openAlgoOrders leaves
 *   it out, queries answer -2013), the ladder is placed once (5 POST algoOrder, 5 `sl_` orders
 *   on the exchange; sampled meanwhile, never more than 5 held by the user stream, which sees
 *   them during the lag, or listed) and verified after the lag;
 * - a re-arm under the same lag (the position grown 10 %) keeps the old ladder listed until the
 *   new one is (sampled: the open stop quantity never below the old cover), cancels the old
 *   one, and leaves exactly 10 `sl_` orders ever created, 5 open (never more than 10 held);
 * - a stop cancelled on the exchange by hand is replaced within seconds (the ALGO_UPDATE of
 *   the user stream, not the 60 s recheck);
 * - one adverse move through 2 of 5 levels closes exactly those 2 levels' quantity (the sum of
 *   the exchange's fills), no market close follows (-2021), and the other 3 levels still cover
 *   the rest; a re-arm there (a stop cancelled by hand) spreads the rest over the 3 levels
 *   not passed, and closes nothing at market;
 * - STOP_MARKET on /fapi/v1/order is refused -4120 by the simulator, and no request of the
 *   run but that one got a refusal there: stoploss only uses the Algo API;
 * - after the position is closed, its stops are cancelled and none is placed again. */
#include <signal.h>
#include <sys/wait.h>

#include "tests/integration/test_stoploss_util.h"

#define SYM "ETHUSDT"

/* Requests of the sim's log since `since` with that method and path; with refused set, only
 * those not answered 200. */
static int requests(const char *method, const char *path, long long since, int refused)
{
    char q[96];
    snprintf(q, sizeof q, "/_sim/requests?since=%lld", since);
    json_t *log = cu_sim_get(q), *e;
    int n = 0;
    size_t i;
    json_array_foreach(log, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "method"));
        const char *p = json_string_value(json_object_get(e, "path"));
        long long st = json_integer_value(json_object_get(e, "status"));
        if (m && p && !strcmp(m, method) && !strcmp(p, path) && (!refused || st != 200)) n++;
    }
    json_decref(log);
    return n;
}

/* Every `sl_` algo order the exchange ever had for sym (allAlgoOrders), -1 on error. */
static int stops_ever(const char *sym)
{
    char params[64];
    snprintf(params, sizeof params, "symbol=%s&limit=1000", sym);
    json_t *a = signed_array("/fapi/v1/allAlgoOrders", params);
    if (!a) return -1;
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "clientAlgoId"));
        n += c && !strncmp(c, "sl_", 3);
    }
    json_decref(a);
    return n;
}

/* The quantity sold on sym since ms (the exchange's userTrades), exact. */
static struct dec sold_since(const char *sym, long long ms)
{
    char params[96];
    struct dec t = {0, 0};
    snprintf(params, sizeof params, "symbol=%s&startTime=%lld&limit=1000", sym, ms);
    json_t *a = signed_array("/fapi/v1/userTrades", params);
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (th_streq(json_string_value(json_object_get(e, "side")), "SELL") &&
            dec_add(t, D(json_string_value(json_object_get(e, "qty"))), &t) != DEC_OK)
            break;
    }
    json_decref(a);
    return t;
}

/* The open `sl_` algo orders of SYM the user stream wrote to Redis: it sees an order the
 * algo service still hides from the REST lists. */
static int stream_stops(void)
{
    redisReply *r = cu_cmd("HKEYS bfq:acct:main:orders");
    int n = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        n += !strncmp(r->element[i]->str, SYM ":algo:sl_", strlen(SYM ":algo:sl_"));
    if (r) freeReplyObject(r);
    return n;
}

/* Samples the open stops every 100 ms until they are c, at most ms: the largest count the
 * exchange listed or the user stream held, and how often the listed sum was below floor.
 * Returns 1 when reached. */
static int watch_until(struct cover *c, struct dec floor, int ms, int *max_n, int *low)
{
    int64_t until = th_now_ms() + ms;
    int samples = 0, max_listed = 0, done = 0;
    *max_n = *low = 0;
    while (!done && th_now_ms() < until) {
        th_sleep_ms(100);
        int held = stream_stops();
        json_t *a = open_stops(c->sym);
        if (a) {
            samples++;
            if ((int)json_array_size(a) > max_listed) max_listed = (int)json_array_size(a);
            if (dec_cmp(stops_sum(a), floor) < 0) (*low)++;
        }
        if (held > *max_n) *max_n = held;
        done = cover_is(c, a);
        json_decref(a);
    }
    if (max_listed > *max_n) *max_n = max_listed;
    fprintf(stderr, "# %d samples, at most %d listed, %d held by the stream, %d below %s\n",
            samples, max_listed, *max_n, *low, fmt(floor));
    return done;
}

static int five_held(void *arg)
{
    (void)arg;
    th_sleep_ms(100);
    return stream_stops() == 5;
}

static int algo_gone_2(void *arg)
{
    (void)arg;
    th_sleep_ms(200);
    return tt_hb("stoploss", "sa", "algo_gone") >= 2;
}

static int amt_is(void *want)
{
    return tb_dec_eq(tt_amt(SYM), want);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = f ? calloc(1, 1 << 20) : NULL;
    if (buf) (void)!fread(buf, 1, (1 << 20) - 1, f);
    if (f) fclose(f);
    return buf;
}

/* Every [stoploss] key docs/risk.md documents, in a 0600 file. */
static void write_config(const char *path)
{
    FILE *f = th_fopen_private(path);
    CHECK(f != NULL);
    if (!f) return;
    fputs("[stoploss]\nlevels = 5\nbase_pct = 5\nstep_pct = 0.5\nworking_type = MARK_PRICE\n"
          "rearm_pct = 5\nhard_stop = true\nhard_stop_pct = 7\nhard_stop_hold = 10s\n"
          "every = 1s\nverify_every = 1s\nrecheck = 60s\nretry_after = 30s\naccount = main\n",
          f);
    fclose(f);
}

/* The trigger of the ladder's level k (5 + 0.5 k % against a long), unsnapped. */
static struct dec level_price(struct dec entry, int k)
{
    struct dec f, p = {0, 0};
    if (dec_sub(dec_from_int(1000), dec_from_int(50 + 5 * k), &f) != DEC_OK ||
        dec_mul(entry, f, &p) != DEC_OK ||
        dec_div(p, dec_from_int(1000), 8, DEC_ROUND_DOWN, &p) != DEC_OK)
        return (struct dec){0, 0};
    return p;
}

/* Every stop of a lies beyond the 5.5 % level (and within 7.5 %) of entry: the three levels
 * the move did not reach. */
static void check_beyond(const json_t *a, struct dec entry)
{
    size_t i;
    json_t *e;
    CHECK(a != NULL);
    json_array_foreach(a, i, e)
    {
        struct dec tp = D(json_string_value(json_object_get(e, "triggerPrice")));
        CHECK(dec_cmp(tp, level_price(entry, 1)) < 0 && dec_cmp(tp, level_price(entry, 5)) > 0);
    }
}

/* The stops cover 0.66 again with 3 orders, none of them the one cancelled (arg: the DELETE's
 * parameters, "...&clientAlgoId=<cid>"). */
static int rearmed_without(void *arg)
{
    const char *cid = strstr(arg, "clientAlgoId=");
    struct cover c = {SYM, "0.66", 3};
    th_sleep_ms(100);
    json_t *a = open_stops(SYM);
    int ok = cid && cover_is(&c, a) && !in_list(a, cid + strlen("clientAlgoId="));
    json_decref(a);
    return ok;
}

int main(void)
{
    pid_t pids[6];
    char ini[512], log[512], url[256];
    int n = tt_stack(TT_USERSTREAM, pids);
    if (n != 2) return 1;
    const char *gargs[] = {"--instance", "g1", NULL};
    pids[n++] = cu_spawn("gateway", NULL, gargs);
    snprintf(ini, sizeof ini, "%s/stoploss.ini", th_tmpdir());
    snprintf(log, sizeof log, "%s/stoploss-algo.log", th_tmpdir());
    write_config(ini);
    th_redis_url_for(&cu_red, "risk", url, sizeof url);
    const char *slargv[] = {th_bfq_bin(),  "stoploss",   "--config", ini,          "--redis",
                            url,           "--exchange", cu_sim.url, "--instance", "sa",
                            "--source-ip", "127.0.0.4",  NULL};
    long long t0 = th_now_ms();
    pid_t sl = th_spawn(slargv, log);
    pids[n++] = sl;

    /* 1. the first ladder while the algo service lags 3 s */
    CHECK(cu_sim_admin("POST", "/_sim/fault?path=/fapi/v1/algoOrder&kind=algo_lag&ms=3000") == 200);
    CHECK(tb_market(&tt_acct, SYM, "BUY", "1.000", NULL, NULL) == 200);
    CHECK(th_wait_until(tt_long, SYM, 10000));
    struct cover c1 = {SYM, "1", 5};
    int max_n = 0, low = 0;
    CHECK(watch_until(&c1, (struct dec){0, 0}, 30000, &max_n, &low));
    CHECK(max_n == 5);
    th_sleep_ms(2500); /* anything placed twice would be listed by now */
    CHECK(requests("POST", "/fapi/v1/algoOrder", t0, 0) == 5);
    CHECK(stops_ever(SYM) == 5);
    CHECK(tt_hb("stoploss", "sa", "ladders") == 1 && tt_hb("stoploss", "sa", "failures") == 0);
    char *text = slurp(log);
    CHECK(text && strstr(text, "stoploss ready") && !strstr(text, "unknown config keys"));
    free(text);

    /* 2. a re-arm under the lag: the old ladder stays listed until the new one is */
    json_t *old = open_stops(SYM);
    CHECK(tb_market(&tt_acct, SYM, "BUY", "0.100", NULL, NULL) == 200);
    struct cover c2 = {SYM, "1.1", 5};
    CHECK(watch_until(&c2, D("1"), 40000, &max_n, &low));
    CHECK(low == 0 && max_n <= 10);
    CHECK(th_wait_until(five_held, NULL, 10000)); /* the old five left the stream's hash too */
    th_sleep_ms(2500);
    CHECK(requests("POST", "/fapi/v1/algoOrder", t0, 0) == 10);
    CHECK(stops_ever(SYM) == 10);
    json_t *fresh = open_stops(SYM);
    CHECK(fresh && json_array_size(fresh) == 5);
    if (old && fresh) check_order(SYM, old, fresh);
    json_decref(old);
    CHECK(cu_sim_admin("DELETE", "/_sim/fault") == 200);

    /* 3. a stop cancelled by hand: the user stream's ALGO_UPDATE re-arms at once, long before
     * the 60 s recheck */
    const char *gone = json_string_value(json_object_get(json_array_get(fresh, 0), "clientAlgoId"));
    char params[160];
    snprintf(params, sizeof params, "symbol=%s&clientAlgoId=%s", SYM, gone ? gone : "");
    long long tc = th_now_ms();
    CHECK(tb_signed(&tt_acct, "DELETE", "/fapi/v1/algoOrder", params, NULL) == 200);
    CHECK(th_wait_until(covered, &c2, 15000));
    fprintf(stderr, "# a stop cancelled by hand replaced in %lld ms\n", th_now_ms() - tc);
    json_decref(fresh);

    /* 4. one move through 2 of the 5 levels (to 5.75 % under the entry): exactly those two
     * levels' quantity is sold, and the three further levels cover the rest */
    char *entry_s = tb_hget_member(cu_adm, "bfq:acct:main:pos", SYM ":BOTH", "entry");
    struct dec entry = D(entry_s), target, tick = D("0.01");
    free(entry_s);
    char *tick_s = tb_hget(cu_adm, "bfq:symbol:" SYM, "tickSize");
    if (tick_s) tick = D(tick_s);
    free(tick_s);
    CHECK(dec_mul(entry, (struct dec){9425, 4}, &target) == DEC_OK &&
          dec_snap_to_tick(target, tick, (struct dec){0, 0}, DEC_ROUND_DOWN, &target) == DEC_OK);
    long long tm = th_now_ms() - 1000;
    char move[128];
    snprintf(move, sizeof move, "/_sim/price?symbol=%s&price=%s", SYM, fmt(target));
    CHECK(cu_sim_admin("POST", move) == 200);
    CHECK(th_wait_until(amt_is, "0.66", 30000));
    th_sleep_ms(4000); /* a wrong re-arm would close more at market meanwhile */
    CHECK(tb_dec_eq(tt_amt(SYM), "0.66"));
    struct dec sold = sold_since(SYM, tm);
    fprintf(stderr, "# sold %s after the move through two levels\n", fmt(sold));
    CHECK(dec_cmp(sold, D("0.44")) == 0);
    struct cover c3 = {SYM, "0.66", 3};
    CHECK(th_wait_until(covered, &c3, 10000));
    json_t *rest = open_stops(SYM);
    check_beyond(rest, entry);
    CHECK(tt_hb("stoploss", "sa", "immediate") == 0);
    CHECK(th_wait_until(algo_gone_2, NULL, 5000)); /* both seen leaving through the stream */

    /* 4b. a re-arm with the mark past two levels (the 6 % stop cancelled by hand): the 0.66
     * left is spread over the 6, 6.5 and 7 % levels only; the passed 5 and 5.5 % levels are
     * neither placed (-2021) nor closed at market */
    const char *nearest = NULL;
    struct dec top = {0, 0};
    size_t i;
    json_t *e;
    json_array_foreach(rest, i, e)
    {
        struct dec tp = D(json_string_value(json_object_get(e, "triggerPrice")));
        if (!nearest || dec_cmp(tp, top) > 0) {
            nearest = json_string_value(json_object_get(e, "clientAlgoId"));
            top = tp;
        }
    }
    snprintf(params, sizeof params, "symbol=%s&clientAlgoId=%s", SYM, nearest ? nearest : "");
    CHECK(tb_signed(&tt_acct, "DELETE", "/fapi/v1/algoOrder", params, NULL) == 200);
    json_decref(rest);
    CHECK(th_wait_until(rearmed_without, (void *)params, 15000));
    th_sleep_ms(3000); /* a market close of the passed levels would show by now */
    CHECK(tb_dec_eq(tt_amt(SYM), "0.66"));
    CHECK(dec_cmp(sold_since(SYM, tm), D("0.44")) == 0);
    rest = open_stops(SYM);
    check_beyond(rest, entry);
    json_decref(rest);
    CHECK(tt_hb("stoploss", "sa", "immediate") == 0 && tt_hb("stoploss", "sa", "past_all") == 0);

    /* 5. -4120: the simulator refuses a classic STOP_MARKET, and nothing else was refused on
     * /fapi/v1/order during the run */
    char *body = NULL;
    snprintf(params, sizeof params,
             "symbol=%s&side=SELL&type=STOP_MARKET&quantity=0.1&stopPrice=%s&reduceOnly=true", SYM,
             fmt(level_price(entry, 10)));
    CHECK(tb_signed(&tt_acct, "POST", "/fapi/v1/order", params, &body) == 400);
    CHECK(body && strstr(body, "-4120"));
    free(body);
    CHECK(requests("POST", "/fapi/v1/order", t0, 1) == 1);

    /* 6. closed: the stops go, and none comes back */
    CHECK(tb_market(&tt_acct, SYM, "SELL", "0.660", NULL, NULL) == 200);
    CHECK(th_wait_until(tt_flat, SYM, 10000));
    CHECK(th_wait_until(no_stops, SYM, 20000));
    int ever = stops_ever(SYM);
    th_sleep_ms(3000);
    CHECK(stops_ever(SYM) == ever && no_stops(SYM));

    text = slurp(log);
    CHECK(text && !strstr(text, "unknown config keys"));
    free(text);
    int status[6];
    th_stop_all(pids, n, 5000, status);
    return th_done();
}
