/* test_risk_kill: the kill switch against the two complaints users of other bots make: a kill
 * switch that stops the bot but leaves positions open, and one after which the bot keeps
 * creating orders. Everything runs as in production: collectors, `bfq gateway`, a trader
 * whose demo strategy opens a position on every flat symbol it can (open_pct -50, at most 3),
 * `bfq stoploss` (ladders on them), `bfq sweeper`, `bfq lossguard`, and redis-server with the
 * append-only file on, as redis/redis.conf has it.
 *
 * 1. `bfq kill --flatten --reason ...` with the traders running: at the exchange (its own
 *    REST answers) no position, no open order, no open algo order is left.
 * 2. Every process restarts, redis-server by SIGKILL (only what it persisted comes back):
 *    still HALTED.
 * 3. The traders keep running past a new bar: they ask again (the gateway denies their intents,
 *    TRADING_HALTED) and no order of an opening or trading class (mo to mc tc cv mn) reaches
 *    the exchange after the flatten; the account stays flat.
 * 4. Still HALTED, cancels and the risk closes pass: an outside position and an outside
 *    resting order are flattened by a second `bfq kill --flatten`.
 * 5. `bfq resume` sets ACTIVE. */
#include <signal.h>

#include "tests/integration/test_trader_util.h"

#define NPIDS 12

static pid_t pids[NPIDS];
static int npids;

/* The exchange's answer to a signed GET as JSON (new reference), NULL unless 200. */
static json_t *ex_get(const char *path, const char *params)
{
    char *body = NULL;
    long code = tb_signed(&tt_acct, "GET", path, params, &body);
    json_t *j = code == 200 && body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return j;
}

/* Nonzero when the exchange holds a position (any symbol) */
static int ex_positions(void)
{
    json_t *a = ex_get("/fapi/v2/positionRisk", ""), *e;
    size_t i;
    int n = 0;
    json_array_foreach(a, i, e)
    {
        const char *amt = json_string_value(json_object_get(e, "positionAmt"));
        if (amt && !tb_dec_eq(amt, "0")) n++;
    }
    json_decref(a);
    return a ? n : -1;
}

static int ex_count(const char *path)
{
    json_t *a = ex_get(path, "");
    if (json_is_object(a)) { /* openAlgoOrders may answer {"orders":[...]} */
        json_t *o = json_object_get(a, "orders");
        int n = json_is_array(o) ? (int)json_array_size(o) : -1;
        json_decref(a);
        return n;
    }
    int n = json_is_array(a) ? (int)json_array_size(a) : -1;
    json_decref(a);
    return n;
}

static int all_clear(void *arg)
{
    (void)arg;
    th_sleep_ms(200);
    return ex_positions() == 0 && ex_count("/fapi/v1/openOrders") == 0 &&
           ex_count("/fapi/v1/openAlgoOrders") == 0;
}

static int positions_open(void *want)
{
    th_sleep_ms(200);
    return ex_positions() >= *(int *)want;
}

static int algo_open(void *arg)
{
    (void)arg;
    th_sleep_ms(200);
    return ex_count("/fapi/v1/openAlgoOrders") > 0;
}

/* Orders of trading classes created at the exchange at or after since (every symbol). */
static int trading_orders_since(long long since)
{
    redisReply *u = cu_cmd("LRANGE bfq:universe 0 -1");
    int n = 0;
    for (size_t k = 0; u && u->type == REDIS_REPLY_ARRAY && k < u->elements; k++) {
        char params[96];
        snprintf(params, sizeof params, "symbol=%s&limit=1000", u->element[k]->str);
        json_t *a = ex_get("/fapi/v1/allOrders", params), *e;
        size_t i;
        json_array_foreach(a, i, e)
        {
            const char *c = json_string_value(json_object_get(e, "clientOrderId"));
            long long t = json_integer_value(json_object_get(e, "time"));
            if (!c || t < since) continue;
            static const char *const cls[] = {"mo_", "to_", "mc_", "tc_", "cv_", "mn_"};
            for (size_t j = 0; j < sizeof cls / sizeof cls[0]; j++)
                if (!strncmp(c, cls[j], 3)) {
                    fprintf(stderr, "# an order after the kill: %s %s\n", u->element[k]->str, c);
                    n++;
                }
        }
        json_decref(a);
    }
    if (u) freeReplyObject(u);
    return n;
}

/* Intent outcomes denied TRADING_HALTED (the trader's asks after the kill). */
static int halted_denials(void)
{
    redisReply *k = cu_cmd("KEYS bfq:intent:main:*");
    int n = 0;
    for (size_t i = 0; k && k->type == REDIS_REPLY_ARRAY && i < k->elements; i++) {
        char *v = cu_str("GET %s", k->element[i]->str);
        if (v && strstr(v, "\"denied\"") && strstr(v, "TRADING_HALTED")) n++;
        free(v);
    }
    if (k) freeReplyObject(k);
    return n;
}

static long long denied_total(void)
{
    return tt_hb("gateway", "g1", "denied");
}

static int denied_more(void *before)
{
    th_sleep_ms(200);
    return denied_total() > *(long long *)before;
}

/* The collectors and every role. */
static void spawn_all(void)
{
    const char *targs[] = {"--source-ip", "127.0.0.2", "--rate", "4", "--instance", "t0", NULL};
    const char *kargs[] = {"--source-ip", "127.0.0.3", "--rate", "8", "--instance", "k0", NULL};
    const char *uargs[] = {"--instance", "us", NULL};
    const char *gargs[] = {"--instance", "g1", NULL};
    const char *trargs[] = {"--strategy", "demo", "--instance", "tr1", NULL};
    const char *slargs[] = {"--instance", "sl1", "--source-ip", "127.0.0.4", NULL};
    const char *swargs[] = {"--instance", "sw1", "--source-ip", "127.0.0.6", NULL};
    const char *lgargs[] = {"--instance", "lg1", "--source-ip", "127.0.0.5", NULL};
    npids = 0;
    pids[npids++] = cu_spawn("tick", NULL, targs);
    pids[npids++] = cu_spawn("kline", NULL, kargs);
    pids[npids++] = cu_spawn("userstream", "account", uargs);
    pids[npids++] = cu_spawn("gateway", NULL, gargs);
    pids[npids++] = cu_spawn("trader", NULL, trargs);
    pids[npids++] = cu_spawn("stoploss", "risk", slargs);
    pids[npids++] = cu_spawn("sweeper", "risk", swargs);
    pids[npids++] = cu_spawn("lossguard", "risk", lgargs);
}

static int aof_ready(void *arg)
{
    (void)arg;
    char *info = NULL;
    redisReply *r = cu_cmd("INFO persistence");
    if (r && r->type == REDIS_REPLY_STRING) info = r->str;
    int ok = info && strstr(info, "aof_enabled:1") && strstr(info, "aof_rewrite_in_progress:0") &&
             !strstr(info, "aof_rewrite_scheduled:1");
    if (r) freeReplyObject(r);
    return ok;
}

static int kill_switch(int flatten, const char *reason)
{
    const char *fl[] = {"--reason", reason, "--flatten", "--timeout", "30s", NULL};
    const char *plain[] = {"--reason", reason, NULL};
    char *out = NULL;
    int rc = cu_run("kill", "risk", NULL, flatten ? fl : plain, &out, 40000);
    fprintf(stderr, "# bfq kill%s: %d\n%s", flatten ? " --flatten" : "", rc, out ? out : "");
    free(out);
    return rc;
}

int main(void)
{
    char acct[128];
    snprintf(acct, sizeof acct, "main:%s:%s:100000", TT_KEY, TT_SECRET);
    const char *simargs[] = {"--symbols", "10", "--account", acct, NULL};
    if (cu_redis_start() < 0 || th_sim_start(&cu_sim, simargs) < 0) return 1;
    tt_acct = (struct tb_account){cu_sim.url, TT_KEY, TT_SECRET};
    setenv("BFQ_ACCOUNT_MAIN_API_KEY", TT_KEY, 1);
    setenv("BFQ_ACCOUNT_MAIN_API_SECRET", TT_SECRET, 1);
    /* persistence as redis/redis.conf has it (the harness starts Redis without) */
    freeReplyObject(cu_cmd("CONFIG SET appendonly yes"));
    CHECK(th_wait_until(aof_ready, NULL, 10000));
    freeReplyObject(cu_cmd("CONFIG REWRITE"));
    const char *once[] = {"--once", NULL};
    CHECK(cu_run("symbols", NULL, cu_sim.url, once, NULL, 30000) == 0);

    setenv("BFQ_STRATEGY_DEMO_OPEN_PCT", "-50", 1); /* open on every flat symbol, at once */
    setenv("BFQ_STRATEGY_DEMO_MAX_POSITIONS", "3", 1);
    setenv("BFQ_STOPLOSS_RECHECK", "3s", 1);
    spawn_all();
    int want = 2;
    CHECK(th_wait_until(positions_open, &want, 60000));
    CHECK(th_wait_until(algo_open, NULL, 30000)); /* the ladders are on */

    /* 1. flatten with the traders running */
    CHECK(kill_switch(1, "test: flatten") == 0);
    CHECK(!strcmp(tt_state(), "HALTED"));
    CHECK(th_wait_until(all_clear, NULL, 30000));
    long long t_kill = th_now_ms();
    fprintf(stderr, "# flat, no open or algo order\n");

    /* 2. every process restarts, Redis by SIGKILL */
    th_sleep_ms(1500); /* appendfsync everysec */
    int st[NPIDS];
    th_stop_all(pids, npids, 10000, st);
    CHECK(th_redis_restart(&cu_red, 1) == 0);
    redisFree(cu_adm);
    cu_adm = tb_redis(cu_red.port, 1);
    CHECK(cu_adm != NULL);
    if (!cu_adm) return th_done();
    CHECK(!strcmp(tt_state(), "HALTED"));
    spawn_all();
    CHECK(tt_wait_tick("ETHUSDT", 15000));
    th_sleep_ms(5000);
    CHECK(!strcmp(tt_state(), "HALTED"));

    /* 3. the trader asks again in a new bar; nothing of it reaches the exchange */
    long long before = denied_total();
    CHECK(th_wait_until(denied_more, &before, 90000));
    fprintf(stderr, "# gateway denied %lld intents since the restart\n", denied_total() - before);
    th_sleep_ms(2000);
    fprintf(stderr, "# intents denied TRADING_HALTED: %d\n", halted_denials());
    CHECK(halted_denials() >= 1);
    CHECK(trading_orders_since(t_kill) == 0);
    CHECK(ex_positions() == 0 && ex_count("/fapi/v1/openOrders") == 0);

    /* 4. still HALTED: cancels and the risk closes pass */
    CHECK(tb_market(&tt_acct, "ETHUSDT", "BUY", "0.100", NULL, NULL) == 200);
    CHECK(tt_rest("ETHUSDT", "zz_outside", "0.100") == 0);
    CHECK(th_wait_until(tt_long, "ETHUSDT", 10000));
    char *o = cu_str("HGET bfq:acct:main:orders ETHUSDT:zz_outside");
    for (int i = 0; !o && i < 50; i++) {
        th_sleep_ms(200);
        o = cu_str("HGET bfq:acct:main:orders ETHUSDT:zz_outside");
    }
    CHECK(o != NULL);
    free(o);
    CHECK(kill_switch(1, "test: flatten again") == 0);
    CHECK(th_wait_until(all_clear, NULL, 30000));
    CHECK(!strcmp(tt_state(), "HALTED"));

    /* 5. resume */
    const char *rargs[] = {"--reason", "test: done", NULL};
    CHECK(cu_run("resume", "risk", NULL, rargs, NULL, 10000) == 0);
    CHECK(!strcmp(tt_state(), "ACTIVE"));

    th_stop_all(pids, npids, 10000, st);
    return th_done();
}
