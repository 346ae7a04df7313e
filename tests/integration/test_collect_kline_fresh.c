/* test_collect_kline_fresh: how fresh a kline window is, and which window wins, against a real
 * redis-server (ACL users) and `bfq sim`, with `bfq kline` on a one-symbol universe.
 *
 * 1. Freshness is the book's own time: with the depth answer frozen (E and T stop), the stored
 *    t is the depth's T, not its E (when the API node answered).
 * 2. A stale klines answer beside a fresh depth never replaces a newer window: the sim's clock
 *    is moved 3 minutes ahead and the stored window follows it; then the klines endpoint is
 *    frozen at the present (its last bar 3 minutes older than the stored one) and the clock
 *    moved 5 minutes ahead, so every depth answer is newer than the stored window. Over many
 *    rounds the stored last bar never goes back (bfq_put refuses, counted as kept).
 * 3. A halted exchange: a klines answer (served by --replay) with 10 bars missing in its middle
 *    is written, and the heartbeat counts the gap (gap_windows, gap_bars). */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tests/integration/test_collect_util.h"

#define SYM "BTCUSDT"
#define KEY "bfq:kline:1m:" SYM

static long long hb_int(const char *id, const char *what)
{
    return cu_hb_int("kline", id, what);
}

/* The stored window's last bar open time, -1 when absent. */
static long long stored_last_open(void)
{
    char *s = cu_str("HGET %s bars", KEY);
    json_t *w = s ? json_loads(s, 0, NULL) : NULL;
    long long v = w ? bars_last_open(w) : -1;
    json_decref(w);
    free(s);
    return v;
}

static long long want_t;
static int t_is_want(void *arg)
{
    (void)arg;
    return cu_int("HGET %s t", KEY) == want_t;
}

static long long want_last;
static int last_reached(void *arg)
{
    (void)arg;
    return stored_last_open() >= want_last;
}

static long long rounds_from, rounds_more;
static int rounds_done(void *arg)
{
    const char *id = arg;
    return hb_int(id, "written") + hb_int(id, "kept") >= rounds_from + rounds_more;
}

/* Waits until n windows were answered (written or kept) after the call. The heartbeat is
 * renewed every second, so first one written after the call, then n more than it shows. */
static int wait_rounds(const char *id, int n)
{
    rounds_from = hb_int(id, "written") + hb_int(id, "kept");
    rounds_more = 1;
    if (!th_wait_until(rounds_done, (void *)id, 8000)) return 0;
    rounds_from = hb_int(id, "written") + hb_int(id, "kept");
    rounds_more = n;
    return th_wait_until(rounds_done, (void *)id, 20000);
}

static int gap_counted(void *arg)
{
    return hb_int(arg, "gap_bars") >= 10;
}

static int exists(void *arg)
{
    return cu_int("EXISTS %s", (const char *)arg) == 1;
}

static void universe_one(void)
{
    freeReplyObject(cu_cmd("DEL bfq:universe"));
    freeReplyObject(cu_cmd("RPUSH bfq:universe %s", SYM));
}

static long sim_post(const char *fmt, long long v)
{
    char q[256];
    snprintf(q, sizeof q, fmt, v);
    return cu_sim_admin("POST", q);
}

static void test_fresh(void)
{
    CHECK(th_sim_start(&cu_sim, NULL) == 0);
    universe_one();
    /* 1. depth frozen: the stored t must be its T */
    CHECK(cu_sim_admin("POST", "/_sim/fault?path=/fapi/v1/depth&kind=frozen") == 200);
    json_t *d = cu_sim_get("/fapi/v1/depth?symbol=" SYM "&limit=5");
    long long e = (long long)json_integer_value(json_object_get(d, "E"));
    want_t = (long long)json_integer_value(json_object_get(d, "T"));
    json_decref(d);
    CHECK(want_t > 0 && e > want_t);
    const char *args[] = {"--instance", "kf", "--rate", "8", NULL};
    pid_t p = cu_spawn("kline", NULL, args);
    CHECK(th_wait_until(exists, KEY, 15000));
    CHECK(th_wait_until(t_is_want, NULL, 5000));
    fprintf(stderr, "# frozen depth E=%lld T=%lld, stored t=%lld\n", e, want_t,
            cu_int("HGET %s t", KEY));
    CHECK(cu_int("HGET %s t", KEY) != e);
    CHECK(cu_int("HGET %s last", KEY) == stored_last_open());
    CHECK(cu_sim_admin("DELETE", "/_sim/fault") == 200);

    /* 2. the stored window moves 3 minutes ahead with the clock */
    long long now = (long long)th_now_ms();
    CHECK(sim_post("/_sim/clock?offset_ms=%lld", 180000) == 200);
    want_last = (now + 180000) / 60000 * 60000;
    CHECK(th_wait_until(last_reached, NULL, 15000));
    long long ahead = stored_last_open();
    /* klines frozen at the present, depth 5 minutes ahead: every answer pair is "newer" by t
     * but its last bar is older than the stored one */
    CHECK(sim_post("/_sim/clock?offset_ms=%lld", 0) == 200);
    CHECK(cu_sim_admin("POST", "/_sim/fault?path=/fapi/v1/klines&kind=frozen") == 200);
    CHECK(sim_post("/_sim/clock?offset_ms=%lld", 300000) == 200);
    json_t *k = cu_sim_get("/fapi/v1/klines?symbol=" SYM "&interval=1m&limit=45");
    long long frozen_last = k ? bars_last_open(k) : -1;
    json_decref(k);
    CHECK(frozen_last > 0 && frozen_last < ahead);
    CHECK(wait_rounds("kf", 12));
    fprintf(stderr, "# stored last bar %lld (was %lld), frozen klines' last bar %lld, kept %lld\n",
            stored_last_open(), ahead, frozen_last, hb_int("kf", "kept"));
    CHECK(stored_last_open() >= ahead);
    CHECK(cu_int("HGET %s last", KEY) >= ahead);
    CHECK(cu_int("HGET %s t", KEY) > 0);
    int st = th_stop(p, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    th_sim_stop(&cu_sim);
}

/* 45 one-minute bars ending at the current minute, bars 20..29 missing (a halt). */
static int write_gap_klines(const char *path)
{
    json_t *w = json_array();
    long long last = (long long)th_now_ms() / 60000 * 60000;
    for (int i = 0, n = 0; n < 45; i++) {
        if (i >= 20 && i < 30) continue;
        long long t = last - (54 - i) * 60000LL;
        json_array_append_new(w, json_pack("[I,s,s,s,s,s,I,s,i,s,s,s]", (json_int_t)t, "100.0",
                                           "101.0", "99.0", "100.5", "3", (json_int_t)(t + 59999),
                                           "300", 7, "1", "100", "0"));
        n++;
    }
    int rc = json_dump_file(w, path, JSON_COMPACT);
    json_decref(w);
    return rc;
}

static void test_gap(void)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/replay-gap", th_tmpdir());
    CHECK(mkdir(dir, 0700) == 0);
    snprintf(path, sizeof path, "%s/fapi_v1_klines.json", dir);
    CHECK(write_gap_klines(path) == 0);
    const char *simargs[] = {"--replay", dir, NULL};
    CHECK(th_sim_start(&cu_sim, simargs) == 0);
    freeReplyObject(cu_cmd("DEL %s", KEY));
    universe_one();
    const char *args[] = {"--instance", "kg", NULL};
    pid_t p = cu_spawn("kline", NULL, args);
    CHECK(th_wait_until(exists, KEY, 15000));
    char *s = cu_str("HGET %s bars", KEY);
    json_t *w = s ? json_loads(s, 0, NULL) : NULL;
    CHECK(json_array_size(w) == 45);
    CHECK(bars_gaps(w, 60000) == 10);
    json_decref(w);
    free(s);
    CHECK(th_wait_until(gap_counted, "kg", 5000)); /* the heartbeat is renewed every second */
    fprintf(stderr, "# gap_windows %lld gap_bars %lld\n", hb_int("kg", "gap_windows"),
            hb_int("kg", "gap_bars"));
    CHECK(hb_int("kg", "gap_windows") >= 1);
    CHECK(hb_int("kg", "gap_bars") >= 10 && hb_int("kg", "gap_bars") % 10 == 0);
    int st = th_stop(p, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    th_sim_stop(&cu_sim);
}

int main(void)
{
    CHECK(cu_redis_start() == 0);
    if (th_failures) return th_done();
    test_fresh();
    test_gap();
    th_redis_stop(&cu_red);
    return th_done();
}
