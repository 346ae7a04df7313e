/* test_trader_replicas: issue 10's replicated traders, literally, with real processes: three
 * `bfq trader --strategy demo` on the same data, against `bfq sim` and redis-server.
 *
 * Gateway mode: the three traders and one `bfq gateway`; a +2 % move of 20 symbols in one
 * minute (POST /_sim/price) gives 20 open signals, each emitted by all three replicas with the
 * same derived intent id (intent_derive_id of the symbol and the bar's open time) and the same
 * quantity (the gateway starts once all 60 are in the stream). The exchange holds exactly 20 demo orders, one per symbol, client id "to_<id>", each
 * of the quantity the strategy sized (the replicas' intents), which is the full notional at the
 * fill price (less than one step under it); the gateway dropped the 40 other copies.
 *
 * Direct mode: the three stopped and their heartbeats gone, three traders with --send direct
 * (N = 3 live replicas, ranks 0, 1, 2); 20 moves of 20 other symbols: exactly 3 orders per
 * signal, client ids "to_<id>.<k>" with k = 0, 1, 2, of equal quantity, each a third of the full
 * size floored to the step (together at most the full size, and less than four steps under it).
 *
 * The simulator runs at 1 % of its usual volatility (BFQ_SIM_VOLATILITY), so that no other
 * symbol moves by 1 % on its own while the test runs, and on its clock moved to just past its
 * next minute edge (as test_trader_demo), so nothing waits for the wall clock's minutes. Only
 * symbols whose step is fine enough for the size bounds to tell 1/3 from 1/2 or 1/4 are used. */
#include <sys/wait.h>

#include "tests/integration/test_trader_util.h"
#include "trader/intent.h"
#include "trader/sizing.h"

#define RP_N 20            /* signals per mode */
#define RP_NOTIONAL "300"  /* USDT per open: a third stays above every minimum notional */
#define RP_SYMBOLS "90"    /* tradable symbols in the simulator */

static char rp_sym[2 * RP_N][32];
static struct dec_filters rp_f[2 * RP_N];

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int rp_dec(const char *s, struct dec *out)
{
    return s && dec_parse(s, (size_t)-1, out) == DEC_OK ? 0 : -1;
}

/* A symbol fit for both modes at price p: the full size and its third each one MARKET order
 * that passes every filter, and one step worth at most 1 % of the notional. */
static int rp_fit(const struct dec_filters *f, struct dec p, struct dec n)
{
    struct size_plan full, third;
    struct dec share, step_value, limit;
    return size_notional(f, n, p, 1, 0, &full) == SIZE_OK && full.parts == 1 &&
           dec_div(full.qty[0], dec_from_int(3), full.qty[0].scale, DEC_ROUND_DOWN, &share) ==
               DEC_OK &&
           size_qty(f, share, p, 1, 0, &third) == SIZE_OK && third.parts == 1 &&
           dec_mul(f->market_step, p, &step_value) == DEC_OK &&
           dec_div(n, dec_from_int(100), 8, DEC_ROUND_DOWN, &limit) == DEC_OK &&
           dec_cmp(step_value, limit) <= 0;
}

/* The first 2 * RP_N symbols (by name) with a book ticker that rp_fit accepts. */
static int rp_pick(void)
{
    redisReply *r = cu_cmd("HKEYS bfq:ticks");
    const char *names[512];
    size_t n = 0;
    int got = 0;
    struct dec notional;
    CHECK(rp_dec(RP_NOTIONAL, &notional) == 0);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && n < 512; i++)
        names[n++] = r->element[i]->str;
    qsort(names, n, sizeof names[0], cmp_name);
    for (size_t i = 0; i < n && got < 2 * RP_N; i++) {
        char *ask = tb_hget_member(cu_adm, "bfq:ticks", names[i], "a");
        struct dec a, moved;
        int ok = rp_dec(ask, &a) == 0 && dec_mul(a, (struct dec){102, 2}, &moved) == DEC_OK &&
                 tt_filters(names[i], &rp_f[got]) == 0 && rp_fit(&rp_f[got], moved, notional);
        free(ask);
        if (!ok) continue;
        snprintf(rp_sym[got], sizeof rp_sym[got], "%s", names[i]);
        got++;
    }
    if (r) freeReplyObject(r);
    fprintf(stderr, "# %d symbols fit of %zu\n", got, n);
    return got;
}

/* Nonzero when qty at the fill price px is the full notional n: at most n and less than
 * `steps` steps under it, give or take 3 % (the +2 % move may come between the ask the
 * strategy sized at and the fill). */
static int rp_full(struct dec qty, struct dec px, struct dec step, int steps, struct dec n)
{
    struct dec v, slack, lo, hi;
    return dec_mul(qty, px, &v) == DEC_OK && dec_mul(n, (struct dec){103, 2}, &hi) == DEC_OK &&
           dec_mul(n, (struct dec){97, 2}, &lo) == DEC_OK &&
           dec_mul(step, px, &slack) == DEC_OK &&
           dec_mul(slack, dec_from_int(steps), &slack) == DEC_OK &&
           dec_add(v, slack, &slack) == DEC_OK && dec_cmp(v, hi) <= 0 && dec_cmp(slack, lo) > 0;
}

struct rp_range {
    int from, to;
};

static int rp_all_long(void *arg)
{
    const struct rp_range *g = arg;
    for (int i = g->from; i < g->to; i++)
        if (!tt_long(rp_sym[i])) return 0;
    return 1;
}

static int rp_hb_gone(void *arg)
{
    const char *const *inst = arg;
    for (int i = 0; inst[i]; i++) {
        char *s = cu_str("GET bfq:hb:trader:%s", inst[i]);
        free(s);
        if (s) return 0;
    }
    return 1;
}

static int rp_three_direct(void *arg)
{
    const char *const *inst = arg;
    long long ranks = 0;
    for (int i = 0; i < 3; i++) {
        long long k = tt_hb("trader", inst[i], "rank");
        if (tt_hb("trader", inst[i], "replicas") != 3 || k < 0 || k > 2) return 0;
        ranks |= 1LL << k;
    }
    return ranks == 7;
}

static int rp_gw_dups(void *arg)
{
    return tt_hb("gateway", "g1", "duplicates") >= *(const long long *)arg;
}

static int rp_direct_sent(void *arg)
{
    const char *const *inst = arg;
    long long sent = 0;
    for (int i = 0; i < 3; i++)
        sent += tt_hb("trader", inst[i], "direct_sent");
    return sent >= 3 * RP_N;
}

struct rp_pos {
    const char *sym;
    char amt[DEC_STR_MAX];
};

static int rp_pos_is(void *arg)
{
    const struct rp_pos *w = arg;
    return tb_dec_eq(tt_amt(w->sym), w->amt);
}

static int rp_stream_has(void *arg)
{
    return tt_intents() >= *(const long long *)arg;
}

static int rp_gw_sent(void *arg)
{
    return tt_hb("gateway", "g1", "sent") >= *(const long long *)arg;
}

/* The demo's open of sym in the bar opened at bar_open: its intent id and client id. */
static void rp_ids(const char *sym, int64_t bar_open, char id[INTENT_ID_MAX],
                   char cid[INTENT_CID_MAX])
{
    intent_derive_id("demo", sym, "open", bar_open, 0, id);
    CHECK(intent_client_id("to", id, cid) == 0);
}

/* The +2 % moves of rp_sym[from..to), all within the simulator's minute; its open time. */
static int64_t rp_moves(int from, int to)
{
    char q[96];
    tt_sim_wait_second(5, 30);
    int64_t bar = th_sim_time(cu_sim.url) / 60000 * 60000;
    for (int i = from; i < to; i++) {
        snprintf(q, sizeof q, "/_sim/price?symbol=%s&pct=2", rp_sym[i]);
        CHECK(cu_sim_admin("POST", q) == 200);
    }
    CHECK(th_sim_time(cu_sim.url) / 60000 * 60000 == bar);
    return bar;
}

/* The qty of every entry of bfq:intents:main with intent id `id`; their count. */
static int rp_intent_qtys(const char *id, char qty[][DEC_STR_MAX], int cap)
{
    redisReply *r = cu_cmd("XRANGE bfq:intents:main - +");
    int n = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *kv = r->element[i]->element[1];
        const char *eid = NULL, *q = NULL;
        for (size_t j = 0; j + 1 < kv->elements; j += 2) {
            if (!strcmp(kv->element[j]->str, "id")) eid = kv->element[j + 1]->str;
            if (!strcmp(kv->element[j]->str, "qty")) q = kv->element[j + 1]->str;
        }
        if (eid && !strcmp(eid, id) && n < cap) snprintf(qty[n++], DEC_STR_MAX, "%s", q ? q : "");
    }
    if (r) freeReplyObject(r);
    return n;
}

static void phase_gateway(const struct dec notional)
{
    const char *gargs[] = {"--instance", "g1", NULL};
    const char *inst[] = {"tr1", "tr2", "tr3", NULL};
    pid_t p[4];
    tt_sim_next_minute_at(3); /* a bar edge */
    for (int i = 0; i < 3; i++) {
        const char *a[] = {"--strategy", "demo", "--instance", inst[i], NULL};
        p[1 + i] = cu_spawn("trader", NULL, a);
    }
    for (int i = 0; i < 3; i++)
        CHECK(th_wait_until(tt_trader_ready, (void *)inst[i], 15000));
    int64_t bar = rp_moves(0, RP_N);
    /* the gateway starts (and syncs its clock) once every replica has emitted every signal: a
     * replica that heard of another's fill before the move itself would see a long position and
     * emit nothing (a copy fewer, the same order) */
    long long all = 3 * RP_N;
    CHECK(th_wait_until(rp_stream_has, &all, 15000));
    p[0] = cu_spawn("gateway", NULL, gargs);
    struct rp_range g = {0, RP_N};
    CHECK(th_wait_until(rp_all_long, &g, 20000));
    long long want = RP_N;
    CHECK(th_wait_until(rp_gw_sent, &want, 5000));
    for (int i = 0; i < RP_N; i++) {
        char id[INTENT_ID_MAX], cid[INTENT_CID_MAX], qty[3][DEC_STR_MAX];
        rp_ids(rp_sym[i], bar, id, cid);
        /* the three replicas emitted the same id, of the same size */
        CHECK(rp_intent_qtys(id, qty, 3) == 3);
        CHECK(tb_dec_eq(qty[0], qty[1]) && tb_dec_eq(qty[0], qty[2]));
        json_t *o = tt_orders_like(rp_sym[i], "to_");
        CHECK(json_array_size(o) == 1); /* once at the exchange */
        const json_t *e = json_array_get(o, 0);
        const char *c = json_string_value(json_object_get(e, "clientOrderId"));
        const char *q = json_string_value(json_object_get(e, "origQty"));
        struct dec dq, px;
        CHECK(c && !strcmp(c, cid));
        CHECK(tt_order_obeys(e, &rp_f[i], 0));
        CHECK(q && tb_dec_eq(q, qty[0]) && tb_dec_eq(q, tt_amt(rp_sym[i]))); /* at 100 % */
        CHECK(rp_dec(q, &dq) == 0 &&
              rp_dec(json_string_value(json_object_get(e, "avgPrice")), &px) == 0 &&
              rp_full(dq, px, rp_f[i].market_step, 1, notional));
        json_decref(o);
    }
    CHECK(tt_intents() == 3 * RP_N);
    /* every copy read (the heartbeat is rewritten every second): the other replicas' 40 */
    long long dups = 2 * RP_N;
    th_wait_until(rp_gw_dups, &dups, 5000);
    char *hb = cu_str("GET bfq:hb:gateway:g1");
    fprintf(stderr, "# gateway: %s\n", hb ? hb : "(none)");
    free(hb);
    CHECK(tt_hb("gateway", "g1", "duplicates") == 2 * RP_N);
    CHECK(tt_hb("gateway", "g1", "sent") == RP_N);
    int st[4];
    th_stop_all(p, 4, 5000, st);
    for (int i = 0; i < 4; i++)
        CHECK(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
    CHECK(th_wait_until(rp_hb_gone, inst, 10000)); /* no gateway-mode replica left */
}

static void phase_direct(const struct dec notional, pid_t *pids)
{
    const char *inst[] = {"dr1", "dr2", "dr3", NULL};
    pid_t p[3];
    tt_sim_next_minute_at(3); /* before they sync their clocks */
    for (int i = 0; i < 3; i++) {
        const char *a[] = {"--strategy", "demo", "--send", "direct", "--instance", inst[i], NULL};
        p[i] = cu_spawn("trader", NULL, a);
    }
    for (int i = 0; i < 3; i++)
        CHECK(th_wait_until(tt_trader_ready, (void *)inst[i], 15000));
    CHECK(th_wait_until(rp_three_direct, inst, 10000));
    /* The account's fills reach the replicas only after every share is answered (the user
     * stream stops for the moves, as the gateway starts late in phase_gateway): a replica that
     * hears of a sibling's fill before the move itself sees a long position and sends nothing,
     * a share lost, never doubled (docs/trading.md, Replicas). Here the three decide on the
     * same facts. */
    int st_us = th_stop(pids[2], 5000);
    CHECK(st_us >= 0 && WIFEXITED(st_us) && WEXITSTATUS(st_us) == 0);
    long long intents = tt_intents();
    int64_t bar = rp_moves(RP_N, 2 * RP_N);
    CHECK(th_wait_until(rp_direct_sent, inst, 15000)); /* every share answered */
    const char *uargs[] = {"--instance", "us", NULL};
    pids[2] = cu_spawn("userstream", "account", uargs);
    struct rp_range g = {RP_N, 2 * RP_N};
    CHECK(th_wait_until(rp_all_long, &g, 20000));
    for (int i = 0; i < 3; i++) {
        json_t *hb = tt_trader_hb(inst[i]);
        char *sk = json_dumps(json_object_get(hb, "skipped"), JSON_COMPACT);
        fprintf(stderr, "# %s: direct sent %lld denied %lld skipped %lld; strategy skipped %s\n",
                inst[i], json_integer_value(json_object_get(hb, "direct_sent")),
                json_integer_value(json_object_get(hb, "direct_denied")),
                json_integer_value(json_object_get(hb, "direct_skipped")), sk ? sk : "{}");
        free(sk);
        json_decref(hb);
    }
    for (int i = RP_N; i < 2 * RP_N; i++) {
        char id[INTENT_ID_MAX], cid[INTENT_CID_MAX];
        rp_ids(rp_sym[i], bar, id, cid);
        json_t *o = tt_orders_like(rp_sym[i], "to_");
        CHECK(json_array_size(o) == 3); /* one share per replica */
        struct dec q0 = {0, 0}, sum = {0, 0}, px = {0, 0};
        for (int k = 0; k < 3; k++) {
            char want[INTENT_CID_MAX + 8], got[DEC_STR_MAX];
            struct dec q;
            snprintf(want, sizeof want, "%s.%d", cid, k);
            CHECK(tt_orders(rp_sym[i], want, got, sizeof got) == 1);
            CHECK(rp_dec(got, &q) == 0 && dec_add(sum, q, &sum) == DEC_OK);
            if (k == 0) q0 = q;
            CHECK(dec_cmp(q, q0) == 0); /* the same third from each replica */
        }
        for (size_t j = 0; j < json_array_size(o); j++) {
            const json_t *e = json_array_get(o, j);
            CHECK(tt_order_obeys(e, &rp_f[i], 0));
            if (j == 0) CHECK(rp_dec(json_string_value(json_object_get(e, "avgPrice")), &px) == 0);
        }
        struct rp_pos want = {rp_sym[i], ""};
        CHECK(dec_format_trim(sum, want.amt, sizeof want.amt) > 0);
        CHECK(th_wait_until(rp_pos_is, &want, 5000)); /* the three fills in the position */
        /* each a third of the full size floored to the step: together at most the full size,
         * less than 4 steps under it (full floored once, each third once more) */
        CHECK(rp_full(sum, px, rp_f[i].market_step, 4, notional));
        json_decref(o);
    }
    CHECK(tt_intents() == intents); /* nothing went through the stream */
    long long sent = 0;
    for (int i = 0; i < 3; i++)
        sent += tt_hb("trader", inst[i], "direct_sent");
    CHECK(sent == 3 * RP_N);
    int st[3];
    th_stop_all(p, 3, 5000, st);
    for (int i = 0; i < 3; i++)
        CHECK(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
}

int main(void)
{
    pid_t pids[3];
    struct dec notional;
    setenv("BFQ_SIM_VOLATILITY", "0.01", 1);
    setenv("BFQ_STRATEGY_DEMO_NOTIONAL", RP_NOTIONAL, 1);
    setenv("BFQ_STRATEGY_DEMO_MAX_POSITIONS", "100", 1);
    setenv("BFQ_STRATEGY_DEMO_MAX_NOTIONAL", "100000", 1); /* 40 positions of RP_NOTIONAL */
    CHECK(rp_dec(RP_NOTIONAL, &notional) == 0);
    int n = tt_stack_n(TT_KLINE | TT_USERSTREAM, pids, RP_SYMBOLS);
    if (n != 3) return 1;
    if (rp_pick() < 2 * RP_N) {
        CHECK(0);
        return th_done();
    }
    phase_gateway(notional);
    phase_direct(notional, pids);
    int st[3];
    th_stop_all(pids, 3, 5000, st);
    for (int i = 0; i < 3; i++)
        CHECK(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
    return th_done();
}
