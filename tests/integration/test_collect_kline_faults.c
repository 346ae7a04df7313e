/* test_collect_kline_faults: bad answers never reach Redis and never stop a kline collector.
 *
 * 1. With the simulator answering /fapi/v1/klines with 5xx, malformed and truncated bodies
 *    (30% each), one `bfq kline` keeps running, every stored record is a valid window, and its
 *    heartbeat counts 5xx and malformed errors; after the faults are cleared it writes again.
 * 2. A simulator with a weight limit of 150 a minute, and a collector told the limit is 2400:
 *    the first 429 stops the IP (weight budget, Retry-After): the process keeps running, counts
 *    the 429, writes no bad record, and sends nothing more from that IP while it is stopped
 *    (the simulator answers 418 to what was already on the wire: it bans any request that
 *    arrives after a 429, even one sent before the 429 came back). */
#include <signal.h>

#include "tests/integration/test_collect_util.h"

static json_t *universe;

static int count_valid(int *bad)
{
    size_t i;
    json_t *s;
    int ok = 0;
    *bad = 0;
    json_array_foreach(universe, i, s) {
        int r = cu_kline_record("1m", json_string_value(s), 45);
        if (r == 1) ok++;
        if (r < 0) (*bad)++;
    }
    return ok;
}

static json_t *heartbeat(const char *id)
{
    char *s = cu_str("GET bfq:hb:kline:%s", id);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    return j;
}

static long long hb_error(const char *id, const char *kind)
{
    json_t *hb = heartbeat(id);
    long long v = json_integer_value(json_object_get(json_object_get(hb, "errors"), kind));
    json_decref(hb);
    return v;
}

static void test_bad_bodies(void)
{
    const char *args[] = {"--instance", "kf", "--rate", "20", NULL};
    CHECK(cu_sim_admin("POST", "/_sim/fault?path=/fapi/v1/klines&kind=5xx&rate=0.3") == 200);
    CHECK(cu_sim_admin("POST", "/_sim/fault?path=/fapi/v1/klines&kind=malformed&rate=0.3") == 200);
    CHECK(cu_sim_admin("POST", "/_sim/fault?path=/fapi/v1/klines&kind=truncated&rate=0.3") == 200);
    pid_t p = cu_spawn("kline", NULL, args);
    th_sleep_ms(6000);
    int bad = 0, ok = count_valid(&bad);
    fprintf(stderr, "# under faults: %d valid records, %d bad\n", ok, bad);
    CHECK(th_alive(p));
    CHECK(bad == 0);
    CHECK(hb_error("kf", "5xx") > 0);
    CHECK(hb_error("kf", "malformed") > 0);
    CHECK(cu_sim_admin("DELETE", "/_sim/fault") == 200);
    redisReply *r = cu_cmd("DEL bfq:kline:1m:%s", json_string_value(json_array_get(universe, 0)));
    if (r) freeReplyObject(r);
    th_sleep_ms(4000);
    ok = count_valid(&bad);
    fprintf(stderr, "# after faults: %d valid records, %d bad\n", ok, bad);
    CHECK(bad == 0 && ok == (int)json_array_size(universe));
    CHECK(th_alive(p));
    th_stop(p, 5000);
}

static void test_rate_limited(void)
{
    th_sim_stop(&cu_sim);
    const char *simargs[] = {"--symbols", "30", "--weight-limit", "150", NULL};
    CHECK(th_sim_start(&cu_sim, simargs) == 0);
    redisReply *r = cu_cmd("FLUSHALL");
    if (r) freeReplyObject(r);
    const char *once[] = {"--once", NULL};
    (void)cu_run("symbols", NULL, cu_sim.url, once, NULL, 20000);
    json_decref(universe);
    universe = cu_universe();
    setenv("BFQ_EXCHANGE_WEIGHT_LIMIT", "2400", 1); /* the collector believes Binance's limit */
    const char *args[] = {"--instance", "kr", "--rate", "20", "--source-ip", "127.0.0.4", NULL};
    pid_t p = cu_spawn("kline", NULL, args);
    unsetenv("BFQ_EXCHANGE_WEIGHT_LIMIT");
    th_sleep_ms(7000);
    CHECK(th_alive(p));
    CHECK(hb_error("kr", "429") >= 1);
    json_t *log = cu_sim_get("/_sim/requests?since=0");
    size_t i, n429 = 0, n418 = 0, after = 0;
    long long first = 0;
    json_t *e;
    json_array_foreach(log, i, e) {
        long long st = json_integer_value(json_object_get(e, "status"));
        long long t = json_integer_value(json_object_get(e, "t"));
        n429 += st == 429;
        n418 += st == 418;
        if ((st == 429 || st == 418) && !first) first = t;
    }
    /* the budget stops the IP at the first 429: nothing is sent after what was in flight */
    json_array_foreach(log, i, e) {
        long long t = json_integer_value(json_object_get(e, "t"));
        if (first && t > first + 300 && t < first + 2300) after++;
    }
    fprintf(stderr, "# rate limited: %zu answers 429, %zu 418 (in flight), %zu sent after\n",
            n429, n418, after);
    CHECK(n429 == 1);
    CHECK(n418 <= 3); /* the simulator bans requests already on the wire with the first 429 */
    if (first && 60000 - first % 60000 > 2500) CHECK(after == 0);
    int bad = 0;
    (void)count_valid(&bad);
    CHECK(bad == 0);
    json_decref(log);
    th_stop(p, 5000);
}

int main(void)
{
    CHECK(cu_redis_start() == 0);
    const char *simargs[] = {"--symbols", "30", NULL};
    CHECK(th_sim_start(&cu_sim, simargs) == 0);
    if (th_failures) return th_done();
    const char *once[] = {"--once", NULL};
    (void)cu_run("symbols", NULL, cu_sim.url, once, NULL, 20000);
    universe = cu_universe();
    CHECK(json_array_size(universe) >= 25);
    test_bad_bodies();
    test_rate_limited();
    json_decref(universe);
    th_sim_stop(&cu_sim);
    th_redis_stop(&cu_red);
    return th_done();
}
