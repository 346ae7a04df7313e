/* test_trader_faults: the gateway under the simulator's order-path faults (`executed503`, the
 * executed request answered 503 -1007, and `code`, a Binance error answered instead of the
 * engine), against `bfq sim` and redis-server with two gateways.
 *
 * What it shows, from the exchange's own order list (allOrders, by client order id) and the
 * simulator's request log:
 * - many intents through executed503 and -1001/-1007 answers (bounded faults, as outages are):
 *   no client order id is ever an order twice, every intent ends with a final outcome (sent
 *   with its one order, or rejected with the code when it never executed), never `unknown`,
 *   and every unknown answer was followed by a query by client id (found, or -2013 and sent
 *   again);
 * - a cancel and a leverage change executed but answered 503: the intent says what happened
 *   (canceled, ok), not "rejected";
 * - -1008 (overload) rejects an open with its code and lets a reduce-only close through, as
 *   Binance's overload protection does; -2019 (margin) and -4164 (notional) reject with their
 *   codes and make no order. */
#include <sys/wait.h>

#include "tests/integration/test_trader_util.h"

#define ORDER_PATH "/fapi/v1/order"

static void fault(const char *path, const char *what)
{
    char q[256];
    snprintf(q, sizeof q, "/_sim/fault?path=%s&%s", path, what);
    CHECK(cu_sim_admin("POST", q) == 200);
}

static void no_faults(void)
{
    CHECK(cu_sim_admin("DELETE", "/_sim/fault") == 200);
}

/* The outcome's code of intent id (0 when none), after waiting for its final outcome. */
static long long outcome_code(const char *id, char *status, size_t cap, char *msg, size_t mcap)
{
    json_t *o = tt_outcome(id, 60000);
    const char *st = json_string_value(json_object_get(o, "status"));
    const char *m = json_string_value(json_object_get(o, "msg"));
    snprintf(status, cap, "%s", st ? st : "(none)");
    snprintf(msg, mcap, "%s", m ? m : "");
    long long c = json_integer_value(json_object_get(o, "code"));
    json_decref(o);
    return c;
}

/* Requests logged since `since` with that method and path and (status >= 0) that status. */
static int logged(long long since, const char *method, const char *path, int status)
{
    char q[128];
    snprintf(q, sizeof q, "/_sim/requests?since=%lld&limit=100000", since);
    json_t *a = cu_sim_get(q), *e;
    int n = 0;
    size_t i;
    json_array_foreach(a, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "method"));
        const char *p = json_string_value(json_object_get(e, "path"));
        if (m && p && !strcmp(m, method) && !strcmp(p, path) &&
            (status < 0 || json_integer_value(json_object_get(e, "status")) == status))
            n++;
    }
    json_decref(a);
    return n;
}

static void market(const char *id, const char *sym, const char *side, const char *qty, int reduce)
{
    char fid[48], fs[48], fside[16], fq[32];
    snprintf(fid, sizeof fid, "id=%s", id);
    snprintf(fs, sizeof fs, "sym=%s", sym);
    snprintf(fside, sizeof fside, "side=%s", side);
    snprintf(fq, sizeof fq, "qty=%s", qty);
    tt_intent(fid, "op=order", fs, fside, "type=MARKET", fq, reduce ? "reduce=1" : "class=to",
              reduce ? "class=tc" : "src=test", NULL);
}

/* Three orders through executed503 on every one: each found by its client id, none twice. */
static void phase_executed503(void)
{
    long long since = th_now_ms() - 1;
    fault(ORDER_PATH, "kind=executed503&count=3");
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "ex%d", i);
        market(id, "ETHUSDT", "BUY", "0.050", 0);
    }
    for (int i = 0; i < 3; i++) {
        char id[16], cid[24];
        snprintf(id, sizeof id, "ex%d", i);
        snprintf(cid, sizeof cid, "to_%s", id);
        CHECK(tt_is(id, "sent", "found by client id after an unknown outcome", 60000));
        CHECK(tt_orders("ETHUSDT", cid, NULL, 0) == 1);
    }
    CHECK(logged(since, "POST", ORDER_PATH, 503) == 3);
    CHECK(logged(since, "POST", ORDER_PATH, -1) == 3); /* never sent again */
    CHECK(logged(since, "GET", ORDER_PATH, -1) >= 3);
}

/* Many intents through a mix of executed503 and not-executed -1001/-1007 answers, on the
 * orders and on their queries alike, until the faults are spent. */
static void phase_mixed(void)
{
    enum { N = 16 };
    long long since = th_now_ms() - 1;
    fault(ORDER_PATH, "kind=executed503&rate=0.4&count=8");
    fault(ORDER_PATH, "kind=code&code=-1001&rate=0.3&count=6");
    fault(ORDER_PATH, "kind=code&code=-1007&rate=0.3&count=6");
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "mx%d", i);
        market(id, "ETHUSDT", i % 2 ? "SELL" : "BUY", "0.050", 0);
    }
    int sent = 0, found = 0, resent = 0;
    for (int i = 0; i < N; i++) {
        char id[16], cid[24], st[32], msg[160];
        snprintf(id, sizeof id, "mx%d", i);
        snprintf(cid, sizeof cid, "to_%s", id);
        long long code = outcome_code(id, st, sizeof st, msg, sizeof msg);
        int orders = tt_orders("ETHUSDT", cid, NULL, 0);
        int ok = (!strcmp(st, "sent") && orders == 1) ||
                 (!strcmp(st, "rejected") && code == -2013 && orders == 0);
        if (!ok)
            fprintf(stderr, "# %s: %s code %lld \"%s\", %d orders\n", id, st, code, msg, orders);
        CHECK(ok);
        sent += !strcmp(st, "sent");
        found += !strcmp(msg, "found by client id after an unknown outcome");
    }
    no_faults();
    int posts = logged(since, "POST", ORDER_PATH, -1),
        unknown = logged(since, "POST", ORDER_PATH, 503);
    int gets = logged(since, "GET", ORDER_PATH, -1);
    resent = posts - N;
    fprintf(stderr, "# mixed: %d sent, %d found by query, %d posts (%d answered 503), %d queries\n",
            sent, found, posts, unknown, gets);
    CHECK(unknown > 0);                      /* the faults did hit orders */
    CHECK(gets >= unknown);                  /* each unknown answer was followed by a query */
    CHECK(resent >= 0 && resent <= unknown); /* a resend only after an unknown answer */
}

/* A cancel and a leverage change executed, answered 503: the outcome is what happened. */
static void phase_not_orders(void)
{
    char *bid = tb_hget_member(cu_adm, "bfq:ticks", "BTCUSDT", "b");
    char *tick = tb_hget(cu_adm, "bfq:symbol:BTCUSDT", "tickSize");
    struct dec b, t, f, p;
    char px[DEC_STR_MAX], fpx[64];
    CHECK(bid && tick && dec_parse(bid, (size_t)-1, &b) == DEC_OK &&
          dec_parse(tick, (size_t)-1, &t) == DEC_OK &&
          dec_parse("0.97", (size_t)-1, &f) == DEC_OK && dec_mul(b, f, &p) == DEC_OK &&
          dec_snap_to_tick(p, t, (struct dec){0, 0}, DEC_ROUND_DOWN, &p) == DEC_OK &&
          dec_format_trim(p, px, sizeof px) > 0);
    free(bid);
    free(tick);
    snprintf(fpx, sizeof fpx, "price=%s", px);
    tt_intent("id=rest1", "op=order", "sym=BTCUSDT", "side=BUY", "type=LIMIT", "tif=GTC", fpx,
              "qty=0.002", "class=mo", NULL);
    CHECK(tt_is("rest1", "sent", NULL, 15000));
    fault(ORDER_PATH, "kind=executed503&count=1");
    tt_intent("id=can1", "op=cancel", "sym=BTCUSDT", "orig=mo_rest1", "class=mn", NULL);
    CHECK(tt_is("can1", "canceled", NULL, 30000));
    no_faults();
    fault("/fapi/v1/leverage", "kind=executed503&count=1");
    tt_intent("id=lev1", "op=leverage", "sym=BTCUSDT", "leverage=7", "class=mn", NULL);
    CHECK(tt_is("lev1", "ok", NULL, 30000));
    no_faults();
}

static void expect_rejected(const char *id, long long want)
{
    char st[32], msg[160];
    long long code = outcome_code(id, st, sizeof st, msg, sizeof msg);
    if (strcmp(st, "rejected") || code != want)
        fprintf(stderr, "# %s: want rejected %lld, got %s %lld \"%s\"\n", id, want, st, code, msg);
    CHECK(!strcmp(st, "rejected") && code == want);
}

/* Codes that say the order was refused: rejected with the code, no order; -1008 spares closes. */
static void phase_codes(void)
{
    market("pos1", "BTCUSDT", "BUY", "0.004", 0);
    CHECK(tt_is("pos1", "sent", NULL, 15000));
    fault(ORDER_PATH, "kind=code&code=-1008");
    market("ov1", "BTCUSDT", "BUY", "0.002", 0);
    expect_rejected("ov1", -1008);
    CHECK(tt_orders("BTCUSDT", "to_ov1", NULL, 0) == 0);
    market("ov2", "BTCUSDT", "SELL", "0.002", 1);
    CHECK(tt_is("ov2", "sent", NULL, 15000));
    CHECK(tt_orders("BTCUSDT", "tc_ov2", NULL, 0) == 1);
    no_faults();
    fault(ORDER_PATH, "kind=code&code=-2019");
    market("mg1", "BTCUSDT", "BUY", "0.002", 0);
    expect_rejected("mg1", -2019);
    CHECK(tt_orders("BTCUSDT", "to_mg1", NULL, 0) == 0);
    no_faults();
    fault(ORDER_PATH, "kind=code&code=-4164");
    market("nt1", "BTCUSDT", "BUY", "0.002", 0);
    expect_rejected("nt1", -4164);
    CHECK(tt_orders("BTCUSDT", "to_nt1", NULL, 0) == 0);
    no_faults();
}

static int hb_up(void *arg)
{
    char *s = cu_str("GET bfq:hb:gateway:%s", (const char *)arg);
    free(s);
    return s != NULL;
}

int main(void)
{
    pid_t tick, gw[2];
    if (tt_stack(0, &tick) != 1) return 1;
    const char *a1[] = {"--instance", "g1", NULL}, *a2[] = {"--instance", "g2", NULL};
    gw[0] = cu_spawn("gateway", NULL, a1);
    gw[1] = cu_spawn("gateway", NULL, a2);
    CHECK(th_wait_until(hb_up, "g1", 5000) && th_wait_until(hb_up, "g2", 5000));
    phase_executed503();
    phase_mixed();
    phase_not_orders();
    phase_codes();
    long long unk = tt_hb("gateway", "g1", "unknown") + tt_hb("gateway", "g2", "unknown");
    CHECK(unk == 0);
    int st[3];
    pid_t all[3] = {gw[0], gw[1], tick};
    th_stop_all(all, 3, 5000, st);
    CHECK(WIFEXITED(st[0]) && WEXITSTATUS(st[0]) == 0);
    CHECK(WIFEXITED(st[1]) && WEXITSTATUS(st[1]) == 0);
    return th_done();
}
