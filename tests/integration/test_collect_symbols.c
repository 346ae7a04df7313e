/* test_collect_symbols: `bfq symbols` against a real redis-server (ACL user "symbols") and a
 * real `bfq sim`.
 *
 * 1. From the simulator (200 USDT perpetuals, one with an INDEX underlying, plus the edge cases: USDC- and BUSD-quoted
 *    perpetuals, a quarterly contract, a PENDING_TRADING symbol with contractType "", an INDEX
 *    underlying): --once exits 0; bfq:universe holds exactly the tradable ones; every symbol's
 *    hash holds exchangeInfo's filter strings; bfq:exchange holds the rate limits.
 * 2. Include/exclude: excluding one symbol and including an edge-case one keeps every other
 *    symbol's index (except the last, which fills the hole), bumps the version, keeps the
 *    excluded symbol's hash with tradable 0.
 * 3. An exchange that never answers: --once --retry-for 1s exits 1.
 * 4. Replay of the real 2021 exchangeInfo (bfq sim --replay): 115 tradable symbols (117
 *    PERPETUAL/TRADING/USDT, minus the 2 INDEX underlyings DEFIUSDT-like), filters exact. */
#include <sys/stat.h>

#include "tests/integration/test_collect_util.h"

/* Checks universe == tradable symbols of info, and the hashes. Returns the tradable count. */
static int check_against(const json_t *info)
{
    const json_t *syms = json_object_get(info, "symbols"), *s;
    size_t i;
    int tradable = 0;
    json_t *uni = cu_universe();
    json_array_foreach(syms, i, s) {
        const char *name = json_string_value(json_object_get(s, "symbol"));
        int in = 0;
        for (size_t k = 0; k < json_array_size(uni); k++)
            if (!strcmp(json_string_value(json_array_get(uni, k)), name)) in = 1;
        CHECK(in == cu_tradable(s));
        if (in != cu_tradable(s)) fprintf(stderr, "# %s: in universe %d\n", name, in);
        tradable += cu_tradable(s);
        /* the hash carries the exchange's own strings */
        const json_t *f = json_array_get(json_object_get(s, "filters"), 0);
        char *tick = cu_str("HGET bfq:symbol:%s tickSize", name);
        char *status = cu_str("HGET bfq:symbol:%s status", name);
        if (f && !strcmp(json_string_value(json_object_get(f, "filterType")), "PRICE_FILTER"))
            CHECK_EQ_STR(tick, json_string_value(json_object_get(f, "tickSize")));
        CHECK_EQ_STR(status, json_string_value(json_object_get(s, "status")));
        free(tick);
        free(status);
    }
    CHECK((int)json_array_size(uni) == tradable);
    json_decref(uni);
    return tradable;
}

static void test_from_sim(void)
{
    const char *args[] = {"--once", NULL};
    CHECK(cu_run("symbols", NULL, cu_sim.url, args, NULL, 20000) == 0);
    json_t *info = cu_sim_get("/fapi/v1/exchangeInfo");
    CHECK(info != NULL);
    if (!info) return;
    int n = check_against(info);
    fprintf(stderr, "# sim: %d tradable of %zu\n", n, json_array_size(json_object_get(info, "symbols")));
    CHECK(n >= 195); /* 200 USDT perpetuals, minus the INDEX one(s) */
    CHECK(cu_int("HGET bfq:exchange requestWeight1m") == 2400);
    CHECK(cu_int("HGET bfq:exchange orders10s") == 300);
    CHECK(cu_int("HGET bfq:exchange orders1m") == 1200);
    CHECK(cu_int("GET bfq:universe:version") == 1);
    /* every field the trader and risk need is there */
    json_t *uni = cu_universe();
    const char *first = json_string_value(json_array_get(uni, 0));
    const char *fields[] = {"baseAsset", "quoteAsset", "stepSize", "minQty", "maxQty",
                            "marketMaxQty", "minNotional", "pricePrecision", "maxNumOrders",
                            "multiplierUp", NULL};
    for (int i = 0; fields[i]; i++) {
        char *v = cu_str("HGET bfq:symbol:%s %s", first, fields[i]);
        CHECK(v && v[0]);
        free(v);
    }
    json_decref(uni);
    json_decref(info);
}

/* Finds a non-tradable USDC or BUSD perpetual in the simulator's exchangeInfo. */
static const char *edge_symbol(const json_t *info)
{
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(info, "symbols"), i, s) {
        const char *qa = json_string_value(json_object_get(s, "quoteAsset"));
        const char *ct = json_string_value(json_object_get(s, "contractType"));
        if (qa && ct && strcmp(qa, "USDT") != 0 && !strcmp(ct, "PERPETUAL"))
            return json_string_value(json_object_get(s, "symbol"));
    }
    return NULL;
}

static void test_include_exclude(void)
{
    json_t *before = cu_universe(), *info = cu_sim_get("/fapi/v1/exchangeInfo");
    size_t n = json_array_size(before);
    CHECK(n > 10 && info);
    if (n <= 10 || !info) return;
    const char *gone = json_string_value(json_array_get(before, 5));
    const char *last = json_string_value(json_array_get(before, n - 1));
    const char *extra = edge_symbol(info);
    CHECK(extra != NULL);
    const char *args[] = {"--once", "--exclude", gone, "--include", extra, NULL};
    CHECK(cu_run("symbols", NULL, cu_sim.url, args, NULL, 20000) == 0);
    json_t *after = cu_universe();
    CHECK(json_array_size(after) == n); /* one out, one in */
    for (size_t i = 0; i < n; i++) {
        const char *was = json_string_value(json_array_get(before, i));
        const char *now = json_string_value(json_array_get(after, i));
        if (i == 5) CHECK_EQ_STR(now, last);        /* the last fills the hole */
        else if (i == n - 1) CHECK_EQ_STR(now, extra); /* the included one is appended */
        else CHECK_EQ_STR(now, was);                /* everyone else keeps its index */
    }
    CHECK(cu_int("GET bfq:universe:version") == 2);
    CHECK(cu_int("HGET bfq:symbol:%s tradable", gone) == 0);
    char *st = cu_str("HGET bfq:symbol:%s status", gone);
    CHECK_EQ_STR(st, "TRADING");
    free(st);
    /* the same lists again change nothing */
    CHECK(cu_run("symbols", NULL, cu_sim.url, args, NULL, 20000) == 0);
    CHECK(cu_int("GET bfq:universe:version") == 2);
    json_decref(after);
    json_decref(before);
    json_decref(info);
}

static void test_no_exchange(void)
{
    char dead[64];
    snprintf(dead, sizeof(dead), "http://127.0.0.1:%d", th_free_port());
    const char *args[] = {"--once", "--retry-for", "1s", NULL};
    int64_t t0 = th_now_ms();
    CHECK(cu_run("symbols", NULL, dead, args, NULL, 15000) == 1);
    CHECK(th_now_ms() - t0 < 8000);
}

static void test_replay(void)
{
    char dir[512], path[600];
    size_t len = 0;
    snprintf(dir, sizeof(dir), "%s/replay", th_tmpdir());
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/fapi_v1_exchangeInfo.json", dir);
    char *fx = th_read_fixture("exchangeInfo.real.cryptofeed-2021-07-22.json", &len);
    CHECK(fx != NULL);
    if (!fx) return;
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(fx, 1, len, f) == len);
    if (f) fclose(f);
    th_sim_stop(&cu_sim);
    const char *simargs[] = {"--replay", dir, NULL};
    CHECK(th_sim_start(&cu_sim, simargs) == 0);
    redisReply *r = cu_cmd("FLUSHALL");
    if (r) freeReplyObject(r);
    const char *args[] = {"--once", NULL};
    CHECK(cu_run("symbols", NULL, cu_sim.url, args, NULL, 20000) == 0);
    json_t *info = json_loadb(fx, len, 0, NULL);
    int n = check_against(info);
    fprintf(stderr, "# replay: %d tradable\n", n);
    CHECK(n == 115);
    CHECK(cu_int("LLEN bfq:universe") == 115);
    CHECK(cu_int("HGET bfq:exchange requestWeight1m") == 2400);
    char *v = cu_str("HGET bfq:symbol:BTCUSDT minPrice");
    CHECK_EQ_STR(v, "556.72");
    free(v);
    v = cu_str("HGET bfq:symbol:BTCUSDT multiplierDown");
    CHECK_EQ_STR(v, "0.8500");
    free(v);
    json_decref(info);
    free(fx);
}

int main(void)
{
    CHECK(cu_redis_start() == 0);
    CHECK(th_sim_start(&cu_sim, NULL) == 0);
    if (th_failures) return th_done();
    test_from_sim();
    test_include_exclude();
    test_no_exchange();
    test_replay();
    th_sim_stop(&cu_sim);
    th_redis_stop(&cu_red);
    return th_done();
}
