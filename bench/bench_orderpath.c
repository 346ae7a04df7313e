/* bench_orderpath: from a price move at the exchange to the order arriving at the exchange,
 * through the whole stack as users run it. Prints figures; it is not a test and checks nothing.
 *
 * The stack of the trading tests (tests/integration/test_trader_util.h): redis-server with
 * the ACL users, `bfq sim` with SYMBOLS symbols, `bfq symbols`, a tick collector (4 all-symbol
 * book tickers a second) and a kline collector, one `bfq gateway` and one `bfq trader
 * --strategy demo` (thresholds of the seed's demo: open above +1 % in the minute). For each
 * symbol in turn the simulator's admin API moves the price +2 % (POST /_sim/price); the demo
 * strategy opens a long and the gateway sends it. Per move:
 *   - move -> order: from just before the admin call to the POST /fapi/v1/order in the
 *     simulator's request log (its time, ms);
 *   - move -> intent: to the intent's stream entry (bfq:intents:main, Redis's clock, ms): the
 *     tick collector's wait for its next slot, the reconciler, pub/sub, the trader;
 *   - intent -> order: the time an intent spends in the gateway (claim, the five reads, the
 *     order-rate budget, signing) plus the loopback request to the simulator.
 * The moves run in PASSES passes over the symbols, each pass in a new minute (one open per
 * symbol and bar: the id is derived from the bar). Clocks are the same host's wall clock, to
 * 1 ms. Medians and the share of each part are printed.
 *
 * Usage: BFQ_BIN=build/bfq build/bench/bench_orderpath */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/test_trader_util.h"

#define SYMBOLS "30"
#define PASSES 2
#define MAX_SAMPLES 256

struct sample {
    long long move_ms, intent_ms, order_ms;
};

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* The p-th quantile (0..1) of v (n values, sorted in place). */
static long long quantile(long long *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_ll);
    int i = (int)(p * n);
    return v[i < n ? i : n - 1];
}

/* The time of the first POST /fapi/v1/order logged at or after since, 0 when none yet. */
static long long order_logged(long long since)
{
    char q[96];
    snprintf(q, sizeof q, "/_sim/requests?since=%lld&limit=1000", since);
    json_t *a = cu_sim_get(q), *e;
    long long t = 0;
    size_t i;
    json_array_foreach(a, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "method"));
        const char *p = json_string_value(json_object_get(e, "path"));
        long long et = json_integer_value(json_object_get(e, "t"));
        if (m && p && !strcmp(m, "POST") && !strcmp(p, "/fapi/v1/order") && et >= since &&
            (!t || et < t))
            t = et;
    }
    json_decref(a);
    return t;
}

/* The ms part of the newest stream entry's id, when its sym is sym; 0 otherwise. */
static long long intent_appended(const char *sym)
{
    redisReply *r = cu_cmd("XREVRANGE bfq:intents:main + - COUNT 1");
    long long t = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        const redisReply *e = r->element[0], *f = e->element[1];
        for (size_t k = 0; k + 1 < f->elements; k += 2)
            if (!strcmp(f->element[k]->str, "sym") && !strcmp(f->element[k + 1]->str, sym))
                t = strtoll(e->element[0]->str, NULL, 10);
    }
    if (r) freeReplyObject(r);
    return t;
}

/* One move of sym: 0 and the sample, or -1 when no order came within 10 s. */
static int one_move(const char *sym, struct sample *out)
{
    char q[128];
    snprintf(q, sizeof q, "/_sim/price?symbol=%s&pct=2", sym);
    long long t0 = th_now_ms();
    if (cu_sim_admin("POST", q) != 200) return -1;
    long long t = 0;
    for (int i = 0; i < 2000 && !t; i++) {
        th_sleep_ms(5);
        t = order_logged(t0);
    }
    if (!t) return -1;
    out->move_ms = t0;
    out->order_ms = t;
    out->intent_ms = intent_appended(sym);
    th_sleep_ms(100); /* let the order's answer and outcome settle before the next move */
    return out->intent_ms ? 0 : -1;
}

static int trader_ready(void *arg)
{
    (void)arg;
    char *s = cu_str("GET bfq:hb:trader:b1");
    json_t *o = s ? json_loads(s, 0, NULL) : NULL;
    int ok = json_is_true(json_object_get(o, "ready")) &&
             json_integer_value(json_object_get(o, "stale")) == 0;
    json_decref(o);
    free(s);
    return ok;
}

static void report(const char *what, long long *v, int n, long long whole_p50)
{
    long long p50 = quantile(v, n, 0.5), p99 = quantile(v, n, 0.99), max = quantile(v, n, 1.0);
    printf("| %-44s | %6lld | %6lld | %6lld | %9.2f |\n", what, p50, p99, max,
           whole_p50 > 0 ? (double)p50 / (double)whole_p50 : 0.0);
}

int main(void)
{
    pid_t pids[4];
    setenv("BFQ_STRATEGY_DEMO_MAX_POSITIONS", "10000", 1);
    setenv("BFQ_STRATEGY_DEMO_MAX_NOTIONAL", "100000000", 1);
    if (tt_stack_n(TT_KLINE, pids, SYMBOLS) != 2) return 1;
    const char *ga[] = {"--instance", "bg1", NULL};
    const char *ta[] = {"--strategy", "demo", "--instance", "b1", NULL};
    pids[2] = cu_spawn("gateway", NULL, ga);
    pids[3] = cu_spawn("trader", NULL, ta);
    if (!th_wait_until(trader_ready, NULL, 60000)) {
        fprintf(stderr, "bench_orderpath: the trader's book did not get fresh\n");
        return 1;
    }
    redisReply *u = cu_cmd("LRANGE bfq:universe 0 -1");
    static struct sample s[MAX_SAMPLES];
    int n = 0, lost = 0;
    for (int pass = 0; pass < PASSES; pass++) {
        if (pass) { /* the next minute: a new bar, so a new intent id per symbol */
            long long now = th_now_ms();
            th_sleep_ms((int)(60000 - now % 60000 + 1500));
        }
        for (size_t i = 0; u && i < u->elements && n < MAX_SAMPLES; i++) {
            if (one_move(u->element[i]->str, &s[n]) == 0)
                n++;
            else
                lost++;
        }
    }
    if (u) freeReplyObject(u);
    if (n == 0) {
        fprintf(stderr, "bench_orderpath: no order arrived\n");
        return 1;
    }
    static long long whole[MAX_SAMPLES], to_intent[MAX_SAMPLES], in_gw[MAX_SAMPLES];
    for (int i = 0; i < n; i++) {
        whole[i] = s[i].order_ms - s[i].move_ms;
        to_intent[i] = s[i].intent_ms - s[i].move_ms;
        in_gw[i] = s[i].order_ms - s[i].intent_ms;
    }
    long long w50 = quantile(whole, n, 0.5);
    printf("\nbfq order path benchmark: %d price moves of +2 %% (%d without an order), %s "
           "symbols, tick collector 4/s\n\n",
           n, lost, SYMBOLS);
    printf("| %-44s | %6s | %6s | %6s | %9s |\n", "ms", "p50", "p99", "max", "p50 / all");
    printf("|----------------------------------------------|--------|--------|--------|-----------|"
           "\n");
    report("price move (admin API) -> order at the sim", whole, n, w50);
    report("  move -> intent appended (tick, trader)", to_intent, n, w50);
    report("  intent -> order at the sim (gateway)", in_gw, n, w50);
    printf("(the tick collector polls every 250 ms: a move waits 125 ms for it on average)\n");
    int st[4];
    th_stop_all(pids, 4, 5000, st);
    return 0;
}
