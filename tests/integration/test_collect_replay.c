/* test_collect_replay: recorded real payloads played by `bfq sim --replay` end up in Redis
 * correctly (issue 4's acceptance), against a real redis-server with the project's ACL users.
 *
 * The replay directory holds, under the names --replay looks for (path with '/' -> '_', query
 * ignored): the real exchangeInfo of 2021-07-22 (122 symbols), Binance's documentation example
 * of klines (one bar) and of the all-symbol book ticker, and a real depth snapshot (KEEPUSDT,
 * 1000 levels, served for every symbol). Then:
 * - `bfq symbols --once`: the universe is exactly the 115 USDT perpetuals in TRADING whose
 *   underlying is not an INDEX, in the exchange's order; the edge cases (BUSD-quoted, quarterly,
 *   PENDING_TRADING with contractType "", DEFIUSDT and BTCDOMUSDT) are absent from it and
 *   marked tradable 0 in their bfq:symbol:<SYM> hash (every listed symbol keeps one), and a
 *   kept symbol's filters are the fixture's strings.
 * - `bfq kline --interval 1w`: the documentation's bar is a weekly one (closeTime = openTime +
 *   1 week - 1); its record equals the fixture's bar with the last-bar correction from the
 *   depth's best bid and ask (computed here with core/decimal), with t = the depth's T (the
 *   book's own time, never E, when the API node answered).
 *   `bfq kline` at the default 1m refuses the same bar (counted malformed, nothing written).
 * - `bfq tick`: bfq:ticks holds exactly the fixture's symbols that are in the universe, with the
 *   fixture's decimal strings and `time`. The replayed answer also carries an entry for
 *   FUTURE_SYM (a universe symbol) whose "time" is 2100-01-01: it is refused (counted malformed)
 *   and writes nothing, while the fixture's entries are written. */
#include <signal.h>
#include <sys/stat.h>

#include "core/decimal.h"
#include "tests/integration/test_collect_util.h"

#define EI_FIXTURE "exchangeInfo.real.cryptofeed-2021-07-22.json"
#define KL_FIXTURE "doc_examples/klines.json"
#define DEPTH_FIXTURE "depth_limit1000.KEEPUSDT.real.cryptofeed-2021-07-22.json"
#define BT_FIXTURE "doc_examples/bookTicker_all.json"
#define FUTURE_SYM "ETHUSDT"
#define FUTURE_TIME 4102444800000LL /* 2100-01-01 */

static json_t *fixture(const char *name)
{
    size_t len = 0;
    char *text = th_read_fixture(name, &len);
    json_t *j = text ? json_loadb(text, len, 0, NULL) : NULL;
    free(text);
    return j;
}

/* Copies fixture `name` to dir/as. */
static int replay_put(const char *dir, const char *name, const char *as)
{
    size_t len = 0;
    char *text = th_read_fixture(name, &len), path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, as);
    FILE *f = text ? fopen(path, "wb") : NULL;
    int ok = f && fwrite(text, 1, len, f) == len;
    if (f && fclose(f)) ok = 0;
    free(text);
    return ok ? 0 : -1;
}

/* Writes the book-ticker fixture plus an entry of FUTURE_SYM at FUTURE_TIME to dir/as. */
static int replay_put_future_tick(const char *dir, const char *as)
{
    json_t *bt = fixture(BT_FIXTURE);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, as);
    if (!bt) return -1;
    json_array_append_new(bt, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "symbol", FUTURE_SYM,
                                        "bidPrice", "2000.10", "bidQty", "1", "askPrice",
                                        "2000.20", "askQty", "1", "time",
                                        (json_int_t)FUTURE_TIME));
    int rc = json_dump_file(bt, path, JSON_COMPACT);
    json_decref(bt);
    return rc;
}

static json_t *hb(const char *role, const char *id)
{
    char *s = cu_str("GET bfq:hb:%s:%s", role, id);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    return j;
}

static int has_key(void *arg)
{
    return cu_int("EXISTS %s", (const char *)arg) == 1;
}

static void test_symbols(const json_t *ei, json_t **universe)
{
    const char *once[] = {"--once", NULL};
    CHECK(cu_run("symbols", NULL, cu_sim.url, once, NULL, 20000) == 0);
    *universe = cu_universe();
    json_t *want = json_array(), *s;
    size_t i;
    int edge = 0, edge_absent = 0;
    json_array_foreach(json_object_get(ei, "symbols"), i, s) {
        const char *name = json_string_value(json_object_get(s, "symbol"));
        if (cu_tradable(s)) {
            json_array_append_new(want, json_string(name));
            continue;
        }
        edge++;
        int in_uni = 0;
        size_t k;
        json_t *u;
        json_array_foreach(*universe, k, u) in_uni |= !strcmp(json_string_value(u), name);
        /* its hash stays, marked untradable (docs/redis.md) */
        if (!in_uni && cu_int("HGET bfq:symbol:%s tradable", name) == 0) edge_absent++;
        else fprintf(stderr, "# edge-case symbol %s kept\n", name);
    }
    fprintf(stderr, "# universe %zu symbols (fixture: %zu tradable, %d edge cases)\n",
            json_array_size(*universe), json_array_size(want), edge);
    CHECK(json_array_size(want) == 115);
    CHECK(edge == 7 && edge_absent == edge);
    CHECK(json_equal(*universe, want)); /* same symbols, the exchange's order */
    char *st = cu_str("HGET bfq:symbol:BTCSTUSDT status");
    CHECK_EQ_STR(st, "PENDING_TRADING");
    free(st);
    CHECK(cu_int("HGET bfq:symbol:BTCUSDT tradable") == 1);
    /* a kept symbol's filters are the exchange's strings */
    json_array_foreach(json_object_get(ei, "symbols"), i, s) {
        if (strcmp(json_string_value(json_object_get(s, "symbol")), "BTCUSDT")) continue;
        size_t k;
        json_t *f;
        json_array_foreach(json_object_get(s, "filters"), k, f) {
            const char *type = json_string_value(json_object_get(f, "filterType"));
            char *v = NULL;
            if (!strcmp(type, "PRICE_FILTER")) {
                v = cu_str("HGET bfq:symbol:BTCUSDT tickSize");
                CHECK_EQ_STR(v, json_string_value(json_object_get(f, "tickSize")));
            } else if (!strcmp(type, "LOT_SIZE")) {
                v = cu_str("HGET bfq:symbol:BTCUSDT stepSize");
                CHECK_EQ_STR(v, json_string_value(json_object_get(f, "stepSize")));
            }
            free(v);
        }
    }
    json_decref(want);
}

/* The fixture's last bar corrected as bars.h documents, from the depth's best bid and ask. */
static json_t *expected_window(const json_t *bars, const json_t *depth)
{
    json_t *out = json_deep_copy(bars);
    json_t *last = json_array_get(out, json_array_size(out) - 1);
    const char *bid_s = json_string_value(json_array_get(json_array_get(json_object_get(depth, "bids"), 0), 0));
    const char *ask_s = json_string_value(json_array_get(json_array_get(json_object_get(depth, "asks"), 0), 0));
    struct dec bid, ask, open, high, low, close;
    if (!bid_s || !ask_s || dec_parse(bid_s, strlen(bid_s), &bid) != DEC_OK ||
        dec_parse(ask_s, strlen(ask_s), &ask) != DEC_OK ||
        dec_parse(json_string_value(json_array_get(last, 1)), (size_t)-1, &open) != DEC_OK ||
        dec_parse(json_string_value(json_array_get(last, 2)), (size_t)-1, &high) != DEC_OK ||
        dec_parse(json_string_value(json_array_get(last, 3)), (size_t)-1, &low) != DEC_OK ||
        dec_parse(json_string_value(json_array_get(last, 4)), (size_t)-1, &close) != DEC_OK) {
        json_decref(out);
        return NULL;
    }
    if (dec_cmp(ask, high) > 0) json_array_set_new(last, 2, json_string(ask_s));
    if (dec_cmp(bid, low) < 0) json_array_set_new(last, 3, json_string(bid_s));
    json_array_set_new(last, 4, json_string(dec_cmp(close, open) >= 0 ? ask_s : bid_s));
    return out;
}

static void test_kline(const json_t *universe)
{
    json_t *bars = fixture(KL_FIXTURE), *depth = fixture(DEPTH_FIXTURE);
    json_t *want = bars && depth ? expected_window(bars, depth) : NULL;
    CHECK(want != NULL);
    const char *sym = json_string_value(json_array_get(universe, 0));
    char key[128];
    snprintf(key, sizeof key, "bfq:kline:1w:%s", sym ? sym : "");
    const char *args[] = {"--interval", "1w", "--rate", "20", "--instance", "rw", NULL};
    pid_t p = cu_spawn("kline", NULL, args);
    CHECK(th_wait_until(has_key, key, 8000));
    int st = th_stop(p, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *t = cu_str("HGET %s t", key), *stored = cu_str("HGET %s bars", key);
    json_t *got = stored ? json_loads(stored, 0, NULL) : NULL;
    char *want_s = want ? json_dumps(want, JSON_COMPACT) : NULL;
    fprintf(stderr, "# %s t=%s bars=%s\n# expected %s\n", key, t ? t : "-",
            stored ? stored : "-", want_s ? want_s : "-");
    CHECK(got && want && json_equal(got, want));
    char e[32];
    snprintf(e, sizeof e, "%lld", (long long)json_integer_value(json_object_get(depth, "T")));
    CHECK_EQ_STR(t, e);
    free(want_s);
    free(t);
    free(stored);
    json_decref(got);

    /* at 1m the same (weekly) bar fails validation: counted, never written */
    const char *args1m[] = {"--rate", "20", "--instance", "r1", NULL};
    p = cu_spawn("kline", NULL, args1m);
    th_sleep_ms(1500);
    json_t *h = hb("kline", "r1");
    long long bad = json_integer_value(json_object_get(json_object_get(h, "errors"), "malformed"));
    fprintf(stderr, "# kline 1m on the weekly bar: %lld refused\n", bad);
    CHECK(bad > 0);
    CHECK(cu_int("EXISTS bfq:kline:1m:%s", sym ? sym : "") == 0);
    json_decref(h);
    CHECK(th_alive(p));
    th_stop(p, 5000);
    json_decref(want);
    json_decref(bars);
    json_decref(depth);
}

static int ticks_written(void *arg)
{
    (void)arg;
    return cu_int("HLEN bfq:ticks") > 0;
}

static void test_tick(const json_t *universe)
{
    json_t *bt = fixture(BT_FIXTURE), *e;
    const char *args[] = {"--instance", "rt", NULL};
    pid_t p = cu_spawn("tick", NULL, args);
    CHECK(th_wait_until(ticks_written, NULL, 8000));
    th_sleep_ms(1500); /* a heartbeat carries the refusals (read before the stop deletes it) */
    json_t *h = hb("tick", "rt");
    long long bad = json_integer_value(json_object_get(json_object_get(h, "errors"), "malformed"));
    char *last = cu_str("HGET bfq:ticks %s", FUTURE_SYM);
    json_decref(h);
    CHECK(th_alive(p));
    th_stop(p, 5000);
    size_t i, expected = 0;
    json_array_foreach(bt, i, e) {
        const char *sym = json_string_value(json_object_get(e, "symbol"));
        size_t k;
        json_t *u;
        int in_uni = 0;
        json_array_foreach(universe, k, u) in_uni |= !strcmp(json_string_value(u), sym);
        char *v = cu_str("HGET bfq:ticks %s", sym);
        if (!in_uni) {
            CHECK(v == NULL);
            free(v);
            continue;
        }
        expected++;
        json_t *want = json_pack("{s:O,s:O,s:O,s:O,s:O}", "b", json_object_get(e, "bidPrice"),
                                 "B", json_object_get(e, "bidQty"), "a",
                                 json_object_get(e, "askPrice"), "A",
                                 json_object_get(e, "askQty"), "T", json_object_get(e, "time"));
        json_t *got = v ? json_loads(v, 0, NULL) : NULL;
        fprintf(stderr, "# tick %s: %s\n", sym, v ? v : "-");
        CHECK(got && json_equal(got, want));
        json_decref(got);
        json_decref(want);
        free(v);
    }
    CHECK(expected >= 1);
    CHECK(cu_int("HLEN bfq:ticks") == (long long)expected);
    /* the far-future entry: a universe symbol, refused and counted, nothing written */
    size_t k;
    json_t *u;
    int future_in_uni = 0;
    json_array_foreach(universe, k, u) future_in_uni |= !strcmp(json_string_value(u), FUTURE_SYM);
    CHECK(future_in_uni);
    CHECK(cu_int("HEXISTS bfq:ticks %s", FUTURE_SYM) == 0);
    fprintf(stderr, "# tick: far-future %s refused in %lld answers, stored %s\n", FUTURE_SYM,
            bad, last ? last : "nothing");
    CHECK(bad > 0 && last == NULL);
    free(last);
    json_decref(bt);
}

int main(void)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/replay", th_tmpdir());
    CHECK(mkdir(dir, 0700) == 0);
    CHECK(replay_put(dir, EI_FIXTURE, "fapi_v1_exchangeInfo.json") == 0);
    CHECK(replay_put(dir, KL_FIXTURE, "fapi_v1_klines.json") == 0);
    CHECK(replay_put(dir, DEPTH_FIXTURE, "fapi_v1_depth.json") == 0);
    CHECK(replay_put_future_tick(dir, "fapi_v1_ticker_bookTicker.json") == 0);
    json_t *ei = fixture(EI_FIXTURE);
    CHECK(ei != NULL);
    CHECK(cu_redis_start() == 0);
    const char *simargs[] = {"--replay", dir, "--symbols", "20", NULL};
    CHECK(th_sim_start(&cu_sim, simargs) == 0);
    if (th_failures) return th_done();
    json_t *universe = NULL;
    test_symbols(ei, &universe);
    test_kline(universe);
    test_tick(universe);
    json_decref(universe);
    json_decref(ei);
    th_sim_stop(&cu_sim);
    th_redis_stop(&cu_red);
    return th_done();
}
