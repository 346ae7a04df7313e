/* test_trader_demo: the demo strategy end to end, against `bfq sim` and redis-server with the
 * ACL users: symbols, kline, tick and userstream collectors fill Redis, `bfq trader --strategy
 * demo` keeps its book and appends intents, `bfq gateway` sends them.
 *
 * A +2 % move of ETHUSDT (POST /_sim/price) makes the strategy open a long on it; the order at
 * the exchange obeys every filter of the symbol (MARKET_LOT_SIZE step, min and max quantity,
 * minimum notional at the fill price) and the position shows in Redis. In a later minute a
 * -1 % move closes it (a reduce-only MARKET of the whole position). Three replicated traders
 * run the same strategy on the same data: each signal is one order at the exchange, of the full
 * size. The traders' heartbeats show their book ready, no stale symbol, and their intents.
 * Then two traders in direct mode ([trader] send = direct) each send their half of the next
 * signal themselves: two orders of equal size that add up to the position.
 *
 * The bars are the simulator's, on its clock: instead of waiting for the wall clock's next
 * minute (two of them, about two minutes), the test moves the simulator's clock forward to
 * just past its next minute edge (POST /_sim/clock), so the whole test takes well under a
 * minute. The first and the last move come before the processes that sign (gateway, direct
 * traders) start, so they sync to it; the one before the close comes while the gateway runs,
 * whose next signed request then gets -1021 and is sent again once after a re-sync (core/binance),
 * as after any step of the exchange's clock. */
#include <sys/wait.h>
#include <time.h>

#include "tests/integration/test_trader_util.h"

static const char *pos_amt(void)
{
    return tt_amt("ETHUSDT");
}

static int long_open(void *arg)
{
    (void)arg;
    return tt_long("ETHUSDT");
}

static int flat(void *arg)
{
    (void)arg;
    return tt_flat("ETHUSDT");
}

struct resync_want {
    const char *inst;
    long long before;
};

static int resynced(void *arg)
{
    const struct resync_want *w = arg;
    return tt_hb("trader", w->inst, "resyncs") > w->before;
}

static int emitted_two(void *arg)
{
    (void)arg;
    return tt_hb("trader", "tr1", "emitted") >= 2;
}

/* Every ETHUSDT order of the demo (client id "<class>_d..."), as a JSON array. */
static json_t *demo_orders(const char *cls)
{
    char prefix[8];
    snprintf(prefix, sizeof prefix, "%s_d", cls);
    return tt_orders_like("ETHUSDT", prefix);
}

static int two_replicas(void *arg)
{
    (void)arg;
    return tt_hb("trader", "dr1", "replicas") == 2 && tt_hb("trader", "dr2", "replicas") == 2 &&
           tt_hb("trader", "dr1", "rank") != tt_hb("trader", "dr2", "rank");
}

/* One direct share's unknown outcome resolved by a query: found once, across both replicas. */
static int one_share_found(void *arg)
{
    (void)arg;
    return tt_hb("trader", "dr1", "direct_found") + tt_hb("trader", "dr2", "direct_found") == 1;
}

static void phase_direct(const struct dec_filters *f)
{
    const char *a1[] = {"--strategy", "demo", "--send", "direct", "--instance", "dr1", NULL};
    const char *a2[] = {"--strategy", "demo", "--send", "direct", "--instance", "dr2", NULL};
    setenv("BFQ_STRATEGY_DEMO_NOTIONAL", "400", 1);
    tt_sim_next_minute_at(5); /* a bar without a signal yet; before they sync their clocks */
    pid_t p[2] = {cu_spawn("trader", NULL, a1), cu_spawn("trader", NULL, a2)};
    CHECK(th_wait_until(tt_trader_ready, "dr1", 15000) &&
          th_wait_until(tt_trader_ready, "dr2", 15000));
    CHECK(th_wait_until(two_replicas, NULL, 10000));
    json_t *before = demo_orders("to");
    /* one of the two shares executes but is answered 503: queried by its client id, found,
     * never sent again */
    CHECK(cu_sim_admin("POST", "/_sim/fault?path=/fapi/v1/order&kind=executed503&count=1") ==
          200);
    CHECK(cu_sim_admin("POST", "/_sim/price?symbol=ETHUSDT&pct=2") == 200);
    CHECK(th_wait_until(long_open, NULL, 15000));
    CHECK(th_wait_until(one_share_found, NULL, 15000));
    CHECK(cu_sim_admin("DELETE", "/_sim/fault") == 200);
    CHECK(tt_hb("trader", "dr1", "direct_unknown") == 0 &&
          tt_hb("trader", "dr2", "direct_unknown") == 0);
    json_t *after = demo_orders("to");
    CHECK(json_array_size(after) == json_array_size(before) + 2);
    struct dec sum = {0, 0}, q0 = {0, 0}, q;
    for (size_t i = json_array_size(before); i < json_array_size(after); i++) {
        const json_t *o = json_array_get(after, i);
        const char *qs = json_string_value(json_object_get(o, "origQty"));
        CHECK(tt_order_obeys(o, f, 0));
        CHECK(qs && dec_parse(qs, (size_t)-1, &q) == DEC_OK && dec_add(sum, q, &sum) == DEC_OK);
        if (i == json_array_size(before))
            q0 = q;
        else
            CHECK(dec_cmp(q, q0) == 0);
    }
    char s[DEC_STR_MAX];
    CHECK(dec_format_trim(sum, s, sizeof s) > 0 && tb_dec_eq(s, pos_amt()));
    json_decref(before);
    json_decref(after);
    int st[2];
    th_stop_all(p, 2, 5000, st);
    CHECK(WIFEXITED(st[0]) && WEXITSTATUS(st[0]) == 0 && WIFEXITED(st[1]) &&
          WEXITSTATUS(st[1]) == 0);
}

int main(void)
{
    pid_t pids[7];
    setenv("BFQ_STRATEGY_DEMO_NOTIONAL", "150", 1);
    if (tt_stack(TT_KLINE | TT_USERSTREAM, pids) != 3) return 1;
    tt_sim_next_minute_at(5); /* the first bar edge; the gateway syncs its clock after it */
    const char *gargs[] = {"--instance", "g1", NULL};
    const char *trargs[3][5] = {{"--strategy", "demo", "--instance", "tr1", NULL},
                                {"--strategy", "demo", "--instance", "tr2", NULL},
                                {"--strategy", "demo", "--instance", "tr3", NULL}};
    pids[3] = cu_spawn("gateway", NULL, gargs);
    for (int i = 0; i < 3; i++)
        pids[4 + i] = cu_spawn("trader", NULL, trargs[i]);
    CHECK(th_wait_until(tt_trader_ready, "tr1", 15000) &&
          th_wait_until(tt_trader_ready, "tr2", 15000) &&
          th_wait_until(tt_trader_ready, "tr3", 15000));
    CHECK(th_wait_until(flat, NULL, 10000));
    /* pub/sub drops messages while down: a killed subscriber connection resyncs from the keys */
    long long before = tt_hb("trader", "tr1", "resyncs");
    freeReplyObject(cu_cmd("CLIENT KILL TYPE pubsub"));
    struct resync_want rw = {"tr1", before};
    CHECK(th_wait_until(resynced, &rw, 10000));
    CHECK(th_wait_until(tt_trader_ready, "tr1", 5000));

    struct dec_filters f;
    CHECK(tt_filters("ETHUSDT", &f) == 0);
    tt_sim_wait_second(5, 40); /* the move and the open in one minute, with time to spare */
    CHECK(cu_sim_admin("POST", "/_sim/price?symbol=ETHUSDT&pct=2") == 200);
    CHECK(th_wait_until(long_open, NULL, 15000));
    json_t *opens = demo_orders("to");
    CHECK(json_array_size(opens) == 1);
    CHECK(tt_order_obeys(json_array_get(opens, 0), &f, 0));
    const char *q = json_string_value(json_object_get(json_array_get(opens, 0), "origQty"));
    CHECK(q && tb_dec_eq(q, pos_amt()));
    json_decref(opens);

    /* next minute: the previous bar closed at the moved price; -1 % is below -0.5 % */
    tt_sim_next_minute_at(0);
    th_sleep_ms(3000); /* the collectors see the new bar, as 3 s into a minute before */
    CHECK(cu_sim_admin("POST", "/_sim/price?symbol=ETHUSDT&pct=-1") == 200);
    CHECK(th_wait_until(flat, NULL, 15000));
    json_t *closes = demo_orders("tc");
    CHECK(json_array_size(closes) == 1);
    CHECK(tt_order_obeys(json_array_get(closes, 0), &f, 1));
    json_decref(closes);
    json_t *again = demo_orders("to");
    CHECK(json_array_size(again) == 1); /* no second open meanwhile */
    json_decref(again);
    CHECK(th_wait_until(emitted_two, NULL, 3000)); /* heartbeats are rewritten every second */

    CHECK(tt_hb("gateway", "g1", "duplicates") >= 2); /* the other replicas' copies */
    int st[7];
    th_stop_all(pids + 4, 3, 5000, st);
    for (int i = 0; i < 3; i++)
        CHECK(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
    phase_direct(&f);
    th_stop_all(pids, 4, 5000, st);
    for (int i = 0; i < 4; i++)
        CHECK(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
    return th_done();
}
