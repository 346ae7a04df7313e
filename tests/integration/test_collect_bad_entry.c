/* test_collect_bad_entry: one bad entry never silences the other symbols, against a real
 * redis-server (ACL users) and `bfq sim --replay` serving hand-made answers.
 *
 * - bookTicker: one entry per universe symbol (about 200); one universe entry carries its
 *   bidPrice as a JSON number, one entry has no symbol at all. `bfq tick` writes every other
 *   universe symbol, leaves the bad one out and counts the two in its heartbeat (`dropped`).
 * - ticker/24hr: one entry per universe symbol with known volumes, plus an odd entry of a
 *   symbol outside the universe (quoteVolume "n/a") and a universe entry without closeTime.
 *   `bfq volume` still writes the hot set (the top 5 by volume among the good entries) and
 *   counts the two (`dropped`). */
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/integration/test_collect_util.h"

#define BAD_IDX 57  /* the universe entry whose bidPrice is a number */
#define NOCT_IDX 3  /* the universe entry of the 24h answer without closeTime */

static json_t *universe;

static int dump(json_t *j, const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = json_dump_file(j, path, JSON_COMPACT);
    json_decref(j);
    return rc;
}

static int write_book_tickers(const char *dir)
{
    json_t *out = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(universe, i, s) {
        json_t *e = json_pack("{s:O,s:s,s:s,s:s,s:s,s:I,s:I}", "symbol", s, "bidPrice", "10.1",
                              "bidQty", "2", "askPrice", "10.2", "askQty", "3", "time",
                              (json_int_t)th_now_ms(), "lastUpdateId", (json_int_t)(1000 + i));
        if (i == BAD_IDX) json_object_set_new(e, "bidPrice", json_real(10.1));
        json_array_append_new(out, e);
    }
    json_array_append_new(out, json_pack("{s:s,s:s}", "bidPrice", "1", "askPrice", "2"));
    return dump(out, dir, "fapi_v1_ticker_bookTicker.json");
}

/* Volumes rise with the index, so the top 5 are the last five universe symbols. */
static int write_24h(const char *dir)
{
    json_t *out = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(universe, i, s) {
        char qv[32];
        snprintf(qv, sizeof qv, "%zu.5", 1000 + i);
        json_t *e = json_pack("{s:O,s:s,s:s,s:I}", "symbol", s, "quoteVolume", qv, "volume",
                              "1", "closeTime", (json_int_t)th_now_ms());
        if (i == NOCT_IDX) json_object_del(e, "closeTime");
        json_array_append_new(out, e);
    }
    json_array_append_new(out, json_pack("{s:s,s:s,s:I}", "symbol", "ODDUSDC", "quoteVolume",
                                         "n/a", "closeTime", (json_int_t)th_now_ms()));
    return dump(out, dir, "fapi_v1_ticker_24hr.json");
}

static int ticks_written(void *arg)
{
    (void)arg;
    return cu_int("HLEN bfq:ticks") >= (long long)json_array_size(universe) - 1;
}

static int tick_dropped(void *arg)
{
    (void)arg;
    return cu_hb_int("tick", "bt", "dropped") >= 2;
}

static int hot_written(void *arg)
{
    (void)arg;
    return cu_int("EXISTS bfq:hot") == 1 && cu_hb_int("volume", "bv", "dropped") >= 2;
}

static void test_tick(void)
{
    const char *args[] = {"--instance", "bt", NULL};
    pid_t p = cu_spawn("tick", NULL, args);
    CHECK(th_wait_until(ticks_written, NULL, 10000));
    CHECK(th_wait_until(tick_dropped, NULL, 5000));
    const char *bad = json_string_value(json_array_get(universe, BAD_IDX));
    fprintf(stderr, "# ticks %lld of %zu universe symbols, dropped %lld, %s absent: %lld\n",
            cu_int("HLEN bfq:ticks"), json_array_size(universe), cu_hb_int("tick", "bt", "dropped"),
            bad, cu_int("HEXISTS bfq:ticks %s", bad));
    CHECK(cu_int("HLEN bfq:ticks") == (long long)json_array_size(universe) - 1);
    CHECK(cu_int("HEXISTS bfq:ticks %s", bad) == 0);
    CHECK(cu_int("HEXISTS bfq:ticks %s", json_string_value(json_array_get(universe, 0))) == 1);
    int st = th_stop(p, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_volume(void)
{
    const char *args[] = {"--instance", "bv", "--every", "1s", "--top", "5", NULL};
    pid_t p = cu_spawn("volume", NULL, args);
    CHECK(th_wait_until(hot_written, NULL, 10000));
    char *syms = cu_str("HGET bfq:hot symbols");
    json_t *hot = syms ? json_loads(syms, 0, NULL) : NULL;
    fprintf(stderr, "# hot %s, dropped %lld\n", syms ? syms : "-",
            cu_hb_int("volume", "bv", "dropped"));
    size_t n = json_array_size(universe);
    CHECK(json_array_size(hot) >= 5);
    for (size_t k = 0; k < 5 && n > 5; k++)
        CHECK_EQ_STR(json_string_value(json_array_get(hot, k)),
                     json_string_value(json_array_get(universe, n - 1 - k)));
    json_decref(hot);
    free(syms);
    int st = th_stop(p, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
    char dir[512];
    CHECK(cu_redis_start() == 0);
    snprintf(dir, sizeof dir, "%s/replay", th_tmpdir());
    CHECK(mkdir(dir, 0700) == 0);
    const char *simargs[] = {"--replay", dir, NULL};
    CHECK(th_sim_start(&cu_sim, simargs) == 0);
    if (th_failures) return th_done();
    const char *once[] = {"--once", NULL};
    (void)cu_run("symbols", NULL, cu_sim.url, once, NULL, 20000);
    universe = cu_universe();
    CHECK(json_array_size(universe) >= 195);
    CHECK(write_book_tickers(dir) == 0);
    CHECK(write_24h(dir) == 0);
    if (th_failures) return th_done();
    test_tick();
    test_volume();
    json_decref(universe);
    th_sim_stop(&cu_sim);
    th_redis_stop(&cu_red);
    return th_done();
}
