/* test_sim_engine: the simulator's matching engine called directly (no server).
 *
 * A market from sim/market.c with a fixed seed, an engine with one or two accounts, and
 * requests given as query strings. Checks exact balances after a round trip, income rows,
 * resting orders filled when the price is moved, every rejection code, classic and algo stops
 * with their events, funding, admin events, determinism, and that every answer and event has
 * the keys and JSON types of Binance's documentation examples. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonval.h"
#include "sim/brackets.h"
#include "sim/engine.h"
#include "sim/engine_internal.h"
#include "sim/market.h"
#include "sim/params.h"
#include "tests/harness/harness.h"

#define T0 1750000000000LL
#define MAX_EVENTS 4096

struct evlog {
    char *v[MAX_EVENTS];
    int n;
};

static void on_event(const char *account, const char *json, void *privdata)
{
    struct evlog *l = privdata;
    (void)account;
    if (l->n < MAX_EVENTS) l->v[l->n++] = strdup(json);
}

static void ev_clear(struct evlog *l)
{
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    l->n = 0;
}

/* The i-th event of type e (and, for ORDER_TRADE_UPDATE / ALGO_UPDATE, with o.x or o.X ==
 * state when state != NULL), parsed; NULL when none. */
static json_t *ev_find(struct evlog *l, const char *type, const char *state, int nth)
{
    for (int i = 0; i < l->n; i++) {
        json_t *j = json_loads(l->v[i], 0, NULL);
        const char *et = json_string_value(json_object_get(j, "e"));
        int match = et && !strcmp(et, type);
        if (match && state) {
            json_t *o = json_object_get(j, "o");
            const char *x = json_string_value(json_object_get(o, "x"));
            const char *X = json_string_value(json_object_get(o, "X"));
            match = (x && !strcmp(x, state)) || (!x && X && !strcmp(X, state));
        }
        if (match && nth-- == 0) return j;
        json_decref(j);
    }
    return NULL;
}

static int ev_has(struct evlog *l, const char *type, const char *state)
{
    json_t *j = ev_find(l, type, state, 0);
    json_decref(j);
    return j != NULL;
}

struct world {
    struct sim_market *m;
    struct sim_engine *e;
    struct sim_account *a;
    struct evlog ev;
};

static double world_volatility; /* 0: the default model; tests of the queue want a calm one */

static void world_open(struct world *w, int classic, int64_t funding_ms)
{
    struct sim_market_options mo = {.seed = 42, .tradable = 12, .funding_interval_ms = 8 * 3600000LL,
                                     .start_ms = T0, .volatility = world_volatility};
    struct sim_engine_options eo;
    memset(&eo, 0, sizeof eo);
    eo.classic_stops = classic;
    eo.funding_interval_ms = funding_ms;
    memset(&w->ev, 0, sizeof w->ev);
    w->m = sim_market_new(&mo);
    w->e = sim_engine_new(w->m, &eo, on_event, &w->ev);
    CHECK(sim_engine_add_account(w->e, "main", "k1", "s1", dec_from_int(10000)) == 0);
    CHECK(sim_engine_add_account(w->e, "main", "k2", "s2", dec_from_int(1)) == -1);
    w->a = sim_engine_account_by_key(w->e, "k1");
}

static void world_close(struct world *w)
{
    ev_clear(&w->ev);
    sim_engine_free(w->e);
    sim_market_free(w->m);
}

/* Sends a request; returns the HTTP status, *body (new reference) the answer, NULL when the
 * query is refused before the engine (-1). */
static int req(struct world *w, const char *method, const char *path, const char *query,
               int64_t now, json_t **body)
{
    struct sim_params p;
    struct sim_reply r;
    memset(&p, 0, sizeof p);
    memset(&r, 0, sizeof r);
    if (body) *body = NULL; /* defined on every return, a refused query included */
    if (sim_params_parse(&p, query, "") != 0) return -1;
    if (!sim_engine_handle(w->e, w->a, method, path, &p, now, &r)) r.status = -2;
    sim_params_free(&p);
    if (body)
        *body = r.body;
    else
        json_decref(r.body);
    return r.status;
}

static int err_code(const json_t *j)
{
    return (int)json_integer_value(json_object_get(j, "code"));
}

/* Sends and returns the error code (0 when the answer is not an error object). */
static int req_code(struct world *w, const char *method, const char *path, const char *query,
                    int64_t now)
{
    json_t *b;
    int st = req(w, method, path, query, now, &b), code = 0;
    if (getenv("TEST_VERBOSE")) {
        char *t = jv_dump(b);
        fprintf(stderr, "%s %s?%s -> %d %s\n", method, path, query, st, t ? t : "");
        free(t);
    }
    if (st != 200 || (json_is_object(b) && json_object_get(b, "code") &&
                      json_object_get(b, "msg") && !json_object_get(b, "orderId")))
        code = err_code(b);
    json_decref(b);
    return code;
}

static const char *sget(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static struct dec dget(const json_t *o, const char *k)
{
    struct dec d = {0, 0};
    const char *s = sget(o, k);
    if (!s || dec_parse(s, (size_t)-1, &d) != DEC_OK) d = (struct dec){-999999, 0};
    return d;
}

static int dec_eq(struct dec a, struct dec b)
{
    return dec_cmp(a, b) == 0;
}

static void fmt(struct dec d, char *buf)
{
    dec_format(d, buf, DEC_STR_MAX);
}

/* First tradable USDT symbol whose tick and step are plain (10^-k) or, with odd, not. */
static const struct sim_symbol *pick(struct world *w, int odd_tick, int odd_step)
{
    for (int i = 0; i < sim_market_count(w->m); i++) {
        const struct sim_symbol *s = sim_market_symbol(w->m, i);
        int ot = s->filters.tick.units != 1, os = s->filters.step.units != 1;
        if (strcmp(s->status, "TRADING") || strcmp(s->quote, "USDT")) continue;
        if (odd_tick >= 0 && ot != odd_tick) continue;
        if (odd_step >= 0 && os != odd_step) continue;
        return s;
    }
    return NULL;
}

/* A quantity worth about `usdt` at price, on the step grid and >= minQty. */
static struct dec qty_for(const struct sim_symbol *s, struct dec price, int usdt)
{
    struct dec q, r, want = dec_from_int(usdt), floor2;
    if (dec_mul(s->filters.min_notional, dec_from_int(2), &floor2) == DEC_OK &&
        dec_cmp(want, floor2) < 0)
        want = floor2;
    if (dec_div(want, price, 12, DEC_ROUND_DOWN, &q) != DEC_OK) return s->filters.min_qty;
    if (dec_floor_to_step(q, s->filters.step, &r) != DEC_OK || dec_cmp(r, s->filters.min_qty) < 0)
        r = s->filters.min_qty;
    return r;
}

static struct dec tick_mul(const struct sim_symbol *s, struct dec base, int k)
{
    struct dec t, r;
    if (dec_mul(s->filters.tick, dec_from_int(k), &t) != DEC_OK || dec_add(base, t, &r) != DEC_OK)
        return base;
    return r;
}

/* ---- shape comparison against the documentation examples ---- */

static int same_type(const json_t *a, const json_t *b)
{
    if (json_is_integer(a) || json_is_integer(b)) return json_is_integer(a) && json_is_integer(b);
    if (json_is_boolean(a)) return json_is_boolean(b);
    return json_typeof(a) == json_typeof(b);
}

/* Every key of the fixture exists in ours with the same type and vice versa, except keys in
 * `optional` (comma-separated, may be absent from ours) and `extra` (may be only in ours). */
static int shape_eq(const char *what, const json_t *fix, const json_t *ours, const char *optional,
                    const char *extra)
{
    const char *k;
    json_t *v;
    int ok = 1;
    if (json_is_array(fix)) {
        if (!json_is_array(ours) || !json_array_size(ours) || !json_array_size(fix)) return 0;
        return shape_eq(what, json_array_get(fix, 0), json_array_get(ours, 0), optional, extra);
    }
    if (!json_is_object(fix) || !json_is_object(ours)) return same_type(fix, ours);
    json_object_foreach((json_t *)fix, k, v) {
        json_t *o = json_object_get(ours, k);
        char key[64];
        snprintf(key, sizeof key, ",%s,", k);
        if (!o) {
            char opt[512];
            snprintf(opt, sizeof opt, ",%s,", optional ? optional : "");
            if (!strstr(opt, key)) {
                fprintf(stderr, "%s: key '%s' missing\n", what, k);
                ok = 0;
            }
            continue;
        }
        if (json_is_object(v) || json_is_array(v)) {
            if (json_is_array(v) && json_array_size(v) && !json_array_size(o)) continue;
            if (!shape_eq(what, v, o, optional, extra)) ok = 0;
        } else if (!same_type(v, o)) {
            fprintf(stderr, "%s: key '%s' has another type\n", what, k);
            ok = 0;
        }
    }
    json_object_foreach((json_t *)ours, k, v) {
        char key[64], ex[512];
        snprintf(key, sizeof key, ",%s,", k);
        snprintf(ex, sizeof ex, ",%s,", extra ? extra : "");
        if (!json_object_get(fix, k) && !strstr(ex, key)) {
            fprintf(stderr, "%s: extra key '%s'\n", what, k);
            ok = 0;
        }
    }
    return ok;
}

static json_t *fixture(const char *name)
{
    size_t len;
    char *text = th_read_fixture(name, &len), err[JV_ERR_MAX];
    json_t *j = text ? jv_parse(text, len, err, sizeof err) : NULL;
    free(text);
    if (!j) fprintf(stderr, "fixture %s unreadable\n", name);
    return j;
}

static void check_shape(const char *name, const json_t *ours, const char *optional,
                        const char *extra)
{
    json_t *fix = fixture(name);
    if (json_is_array(fix) && json_is_object(ours)) {
        json_t *first = json_incref(json_array_get(fix, 0));
        json_decref(fix);
        fix = first;
    }
    int ok = fix && ours && shape_eq(name, fix, ours, optional, extra);
    if (!ok) fprintf(stderr, "shape of %s differs\n", name);
    CHECK(ok);
    json_decref(fix);
}

static int count_open(struct world *w)
{
    json_t *b;
    int n;
    req(w, "GET", "/fapi/v1/openOrders", "", T0, &b);
    n = (int)json_array_size(b);
    json_decref(b);
    return n;
}

/* ---- scenarios ---- */

static void test_round_trip(void)
{
    struct world w;
    struct sim_book b1, b2;
    char q[512], qs[DEC_STR_MAX];
    json_t *body, *rows, *ev;
    world_open(&w, 0, 0);
    const struct sim_symbol *s = pick(&w, -1, -1);
    CHECK(s != NULL);
    if (!s) return;
    sim_market_book(w.m, s->index, T0, &b1);
    struct dec qty = qty_for(s, b1.ask, 200);
    fmt(qty, qs);

    /* ACK (default) answers the order as accepted: NEW, nothing executed yet. */
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=MARKET&quantity=%s", s->name, qs);
    CHECK(req(&w, "POST", "/fapi/v1/order", q, T0, &body) == 200);
    CHECK_EQ_STR(sget(body, "status"), "NEW");
    int64_t oid = json_integer_value(json_object_get(body, "orderId"));
    CHECK(oid > (1LL << 53));
    check_shape("doc_examples/order_POST_response.json", body, NULL, NULL);
    json_decref(body);
    snprintf(q, sizeof q, "symbol=%s&orderId=%lld", s->name, (long long)oid);
    CHECK(req(&w, "GET", "/fapi/v1/order", q, T0, &body) == 200);
    CHECK_EQ_STR(sget(body, "status"), "FILLED");
    CHECK(dec_eq(dget(body, "avgPrice"), b1.ask));
    CHECK(dec_eq(dget(body, "executedQty"), qty));
    check_shape("doc_examples/allOrders.json", body, "activatePrice,priceRate", NULL);
    json_decref(body);

    /* position after the buy */
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req(&w, "GET", "/fapi/v2/positionRisk", q, T0, &body) == 200);
    CHECK(json_array_size(body) == 1);
    CHECK(dec_eq(dget(json_array_get(body, 0), "positionAmt"), qty));
    CHECK(dec_eq(dget(json_array_get(body, 0), "entryPrice"), b1.ask));
    CHECK(json_integer_value(json_object_get(json_array_get(body, 0), "updateTime")) == T0);
    check_shape("doc_examples/positionRisk_v2_oneway.json", body, NULL, NULL);
    json_decref(body);

    /* events of the fill */
    ev = ev_find(&w.ev, "ORDER_TRADE_UPDATE", "TRADE", 0);
    CHECK(ev != NULL);
    if (ev) {
        json_t *o = json_object_get(ev, "o");
        CHECK_EQ_STR(sget(o, "X"), "FILLED");
        CHECK(json_is_false(json_object_get(o, "m")));
        check_shape("doc_examples/ws_ORDER_TRADE_UPDATE.json", ev, "AP,cr", NULL);
    }
    json_decref(ev);
    ev = ev_find(&w.ev, "TRADE_LITE", NULL, 0);
    CHECK(ev != NULL);
    if (ev) check_shape("doc_examples/ws_TRADE_LITE.json", ev, NULL, NULL);
    json_decref(ev);
    ev = ev_find(&w.ev, "ACCOUNT_UPDATE", NULL, 0);
    CHECK(ev != NULL);
    if (ev) {
        check_shape("doc_examples/ws_ACCOUNT_UPDATE.json", ev, NULL, NULL);
        json_t *a = json_object_get(ev, "a");
        CHECK_EQ_STR(sget(a, "m"), "ORDER");
        CHECK(json_array_size(json_object_get(a, "P")) == 1);
    }
    json_decref(ev);
    ev = ev_find(&w.ev, "ORDER_TRADE_UPDATE", "NEW", 0);
    CHECK(ev != NULL);
    json_decref(ev);

    /* sell it back later, RESULT answer */
    int64_t t1 = T0 + 600000;
    sim_market_book(w.m, s->index, t1, &b2);
    snprintf(q, sizeof q, "symbol=%s&side=SELL&type=MARKET&quantity=%s&newOrderRespType=RESULT",
             s->name, qs);
    CHECK(req(&w, "POST", "/fapi/v1/order", q, t1, &body) == 200);
    CHECK_EQ_STR(sget(body, "status"), "FILLED");
    json_decref(body);

    /* exact wallet: 10000 + (bid2 - ask1) * qty - 0.0005 * (ask1 + bid2) * qty */
    struct dec pnl, c1, c2, n1, n2, fee = {5, 4}, wallet, tmp;
    CHECK(dec_sub(b2.bid, b1.ask, &tmp) == DEC_OK && dec_mul(tmp, qty, &pnl) == DEC_OK);
    CHECK(dec_mul(b1.ask, qty, &n1) == DEC_OK && dec_mul(b2.bid, qty, &n2) == DEC_OK);
    CHECK(dec_mul(n1, fee, &c1) == DEC_OK && dec_mul(n2, fee, &c2) == DEC_OK);
    CHECK(dec_div(c1, dec_from_int(1), 8, DEC_ROUND_NEAREST, &c1) == DEC_OK);
    CHECK(dec_div(c2, dec_from_int(1), 8, DEC_ROUND_NEAREST, &c2) == DEC_OK);
    CHECK(dec_div(pnl, dec_from_int(1), 8, DEC_ROUND_NEAREST, &pnl) == DEC_OK);
    CHECK(dec_add(dec_from_int(10000), pnl, &wallet) == DEC_OK);
    CHECK(dec_sub(wallet, c1, &wallet) == DEC_OK && dec_sub(wallet, c2, &wallet) == DEC_OK);
    CHECK(req(&w, "GET", "/fapi/v2/account", "", t1, &body) == 200);
    CHECK(dec_eq(dget(body, "totalWalletBalance"), wallet));
    CHECK(dec_eq(dget(body, "availableBalance"), wallet));
    CHECK(json_array_size(json_object_get(body, "positions")) == (size_t)sim_market_count(w.m));
    check_shape("doc_examples/account_v2_single_asset.json", body, NULL, NULL);
    json_decref(body);
    CHECK(req(&w, "GET", "/fapi/v3/account", "", t1, &body) == 200);
    CHECK(json_array_size(json_object_get(body, "positions")) == 0);
    CHECK(json_object_get(body, "feeTier") == NULL);
    json_decref(body);
    CHECK(req(&w, "GET", "/fapi/v2/balance", "", t1, &body) == 200);
    CHECK(dec_eq(dget(json_array_get(body, 0), "balance"), wallet));
    check_shape("doc_examples/balance_v2.json", body, NULL, NULL);
    json_decref(body);

    /* income: 2 COMMISSION, 1 REALIZED_PNL; tranIds 64-bit (> 2^53), consecutive per type */
    CHECK(req(&w, "GET", "/fapi/v1/income", "", t1, &rows) == 200);
    CHECK(json_array_size(rows) == 3);
    int ncomm = 0, npnl = 0;
    int64_t comm0 = 0;
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *r = json_array_get(rows, i);
        const char *t = sget(r, "incomeType");
        int64_t tid = json_integer_value(json_object_get(r, "tranId"));
        CHECK(tid > (1LL << 53));
        if (t && !strcmp(t, "COMMISSION")) {
            if (!ncomm++) comm0 = tid;
            else CHECK(tid == comm0 + 1);
        }
        if (t && !strcmp(t, "REALIZED_PNL")) {
            ++npnl;
            CHECK(dec_eq(dget(r, "income"), pnl));
        }
    }
    CHECK(ncomm == 2 && npnl == 1);
    check_shape("doc_examples/income.json", rows, NULL, NULL);
    json_decref(rows);
    CHECK(req(&w, "GET", "/fapi/v1/income", "incomeType=COMMISSION&limit=1", t1, &rows) == 200);
    CHECK(json_array_size(rows) == 1);
    json_decref(rows);
    /* the default 7-day window hides rows older than a week */
    CHECK(req(&w, "GET", "/fapi/v1/income", "", t1 + 8 * 86400000LL, &rows) == 200);
    CHECK(json_array_size(rows) == 0);
    json_decref(rows);

    /* trades */
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req(&w, "GET", "/fapi/v1/userTrades", q, t1, &rows) == 200);
    CHECK(json_array_size(rows) == 2);
    if (json_array_size(rows) == 2) {
        json_t *t2 = json_array_get(rows, 1);
        CHECK(dec_eq(dget(t2, "realizedPnl"), pnl));
        CHECK(dec_eq(dget(t2, "commission"), c2));
        CHECK(json_is_false(json_object_get(t2, "buyer")));
        check_shape("userTrades.ETHUSDT.real.nautilus-2022-02.json", rows, NULL, NULL);
        int64_t id0 = json_integer_value(json_object_get(json_array_get(rows, 0), "id"));
        json_decref(rows);
        snprintf(q, sizeof q, "symbol=%s&fromId=%lld", s->name, (long long)id0 + 1);
        CHECK(req(&w, "GET", "/fapi/v1/userTrades", q, t1, &rows) == 200);
        CHECK(json_array_size(rows) == 1);
    }
    json_decref(rows);
    CHECK(req_code(&w, "GET", "/fapi/v1/userTrades", "", t1) == -1102);
    snprintf(q, sizeof q, "symbol=%s&startTime=%lld&endTime=%lld", s->name, (long long)T0,
             (long long)(T0 + 8 * 86400000LL));
    CHECK(req_code(&w, "GET", "/fapi/v1/userTrades", q, t1) == -1127);
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req(&w, "GET", "/fapi/v1/commissionRate", q, t1, &body) == 200);
    CHECK_EQ_STR(sget(body, "takerCommissionRate"), "0.0005");
    json_decref(body);
    CHECK(req(&w, "GET", "/fapi/v9/nothing", "", t1, NULL) == -2);
    world_close(&w);
}

static void test_limit_resting(void)
{
    struct world w;
    struct sim_book b;
    char q[512], qs[DEC_STR_MAX], ps[DEC_STR_MAX];
    json_t *body, *ev;
    world_open(&w, 0, 0);
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    sim_market_book(w.m, s->index, T0, &b);
    /* 1 % below the bid: out of reach of the next 100 ms (BTC moves several ticks in one) */
    struct dec ticks_1pct;
    CHECK(dec_div(b.bid, eng_mul(s->filters.tick, dec_from_int(100), 8), 0, DEC_ROUND_DOWN,
                  &ticks_1pct) == DEC_OK);
    struct dec price = tick_mul(s, b.bid, -(int)ticks_1pct.units);
    struct dec qty = qty_for(s, price, 200);
    fmt(qty, qs);
    fmt(price, ps);
    snprintf(q, sizeof q,
             "symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=%s&price=%s"
             "&newClientOrderId=rest-1",
             s->name, qs, ps);
    CHECK(req(&w, "POST", "/fapi/v1/order", q, T0, &body) == 200);
    CHECK_EQ_STR(sget(body, "status"), "NEW");
    json_decref(body);
    /* duplicate client id among open orders */
    CHECK(req_code(&w, "POST", "/fapi/v1/order", q, T0) == -4116);
    CHECK(req(&w, "GET", "/fapi/v1/openOrders", "", T0, &body) == 200);
    CHECK(json_array_size(body) == 1);
    check_shape("doc_examples/openOrders.json", body, "activatePrice,priceRate", NULL);
    json_decref(body);
    snprintf(q, sizeof q, "symbol=%s&origClientOrderId=rest-1", s->name);
    CHECK(req(&w, "GET", "/fapi/v1/openOrder", q, T0, &body) == 200);
    CHECK_EQ_STR(sget(body, "clientOrderId"), "rest-1");
    json_decref(body);
    /* account v3 lists a symbol with an open order */
    CHECK(req(&w, "GET", "/fapi/v3/account", "", T0, &body) == 200);
    CHECK(json_array_size(json_object_get(body, "positions")) == 1);
    CHECK(dec_sign(dget(body, "totalOpenOrderInitialMargin")) > 0);
    json_decref(body);
    CHECK(req(&w, "GET", "/fapi/v3/positionRisk", "", T0, &body) == 200);
    CHECK(json_array_size(body) == 1);
    check_shape("doc_examples/positionRisk_v3_oneway.json", body, NULL, NULL);
    json_decref(body);
    sim_engine_tick(w.e, T0 + 100);
    CHECK(count_open(&w) == 1);

    /* move the price well below the order: it fills at its own price, as maker */
    ev_clear(&w.ev);
    CHECK(sim_market_set_price(w.m, s->index, T0 + 200, tick_mul(s, price, -20)) == 0);
    sim_engine_tick(w.e, T0 + 200);
    snprintf(q, sizeof q, "symbol=%s&origClientOrderId=rest-1", s->name);
    CHECK(req(&w, "GET", "/fapi/v1/order", q, T0 + 200, &body) == 200);
    CHECK_EQ_STR(sget(body, "status"), "FILLED");
    CHECK(dec_eq(dget(body, "avgPrice"), price));
    json_decref(body);
    ev = ev_find(&w.ev, "ORDER_TRADE_UPDATE", "TRADE", 0);
    CHECK(ev && json_is_true(json_object_get(json_object_get(ev, "o"), "m")));
    json_decref(ev);
    /* the filled order can no longer be cancelled or found open */
    CHECK(req_code(&w, "DELETE", "/fapi/v1/order", q, T0 + 300) == -2011);
    CHECK(req_code(&w, "GET", "/fapi/v1/openOrder", q, T0 + 300) == -2013);
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req(&w, "GET", "/fapi/v1/allOrders", q, T0 + 300, &body) == 200);
    CHECK(json_array_size(body) == 1);
    json_decref(body);
    world_close(&w);
}


static void test_rejects(void)
{
    struct world w;
    struct sim_book b;
    char q[512], qs[DEC_STR_MAX], ps[DEC_STR_MAX], bad[DEC_STR_MAX + 8];
    world_open(&w, 0, 0);
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    sim_market_book(w.m, s->index, T0, &b);
    struct dec qty = qty_for(s, b.ask, 200);
    fmt(qty, qs);
    fmt(b.ask, ps);
#define ORDER(...) (snprintf(q, sizeof q, __VA_ARGS__), req_code(&w, "POST", "/fapi/v1/order", q, T0))
    CHECK(ORDER("side=BUY&type=MARKET&quantity=%s", qs) == -1102);
    CHECK(ORDER("symbol=NOPEUSDT&side=BUY&type=MARKET&quantity=%s", qs) == -1121);
    CHECK(ORDER("symbol=%s&side=UP&type=MARKET&quantity=%s", s->name, qs) == -1117);
    CHECK(ORDER("symbol=%s&side=BUY&type=BEST&quantity=%s", s->name, qs) == -1116);
    CHECK(ORDER("symbol=%s&side=BUY&type=LIMIT&timeInForce=NOW&quantity=%s&price=%s", s->name, qs, ps) == -1115);
    CHECK(ORDER("symbol=%s&side=BUY&type=LIMIT&quantity=%s&price=%s", s->name, qs, ps) == -1102);
    CHECK(ORDER("symbol=%s&side=BUY&type=MARKET", s->name) == -1102);
    CHECK(ORDER("symbol=%s&side=BUY&type=MARKET&quantity=%s&positionSide=LONG", s->name, qs) == -4061);
    CHECK(ORDER("symbol=%s&side=BUY&type=STOP_MARKET&quantity=%s&stopPrice=%s", s->name, qs, ps) == -4120);
    CHECK(ORDER("symbol=%s&side=BUY&type=TRAILING_STOP_MARKET&quantity=%s&callbackRate=1", s->name, qs) == -4120);
    CHECK(ORDER("symbol=%s&side=BUY&type=MARKET&quantity=%s&newClientOrderId=bad%%20id", s->name, qs) == -4015);
    /* precision beyond the symbol's */
    snprintf(bad, sizeof bad, "%s1", qs);
    if (!strchr(qs, '.')) snprintf(bad, sizeof bad, "%s.1", qs);
    CHECK(ORDER("symbol=%s&side=BUY&type=MARKET&quantity=%s", s->name, bad) == -1111);
    /* LOT_SIZE / MARKET_LOT_SIZE */
    CHECK(ORDER("symbol=%s&side=BUY&type=MARKET&quantity=0", s->name) == -4003);
    struct dec big;
    CHECK(dec_add(s->filters.max_qty, s->filters.step, &big) == DEC_OK);
    fmt(big, bad);
    CHECK(ORDER("symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=%s&price=%s", s->name, bad, ps) == -4005);
    /* PRICE_FILTER and PERCENT_PRICE */
    CHECK(ORDER("symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=%s&price=0", s->name, qs) == -4013);
    struct dec hi;
    CHECK(dec_mul(b.ask, dec_from_int(2), &hi) == DEC_OK);
    CHECK(dec_snap_to_tick(hi, s->filters.tick, s->filters.min_price, DEC_ROUND_DOWN, &hi) == DEC_OK);
    fmt(hi, bad);
    CHECK(ORDER("symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=%s&price=%s", s->name, qs, bad) == -4016);
    struct dec lo;
    CHECK(dec_div(b.bid, dec_from_int(2), s->filters.tick.scale, DEC_ROUND_DOWN, &lo) == DEC_OK);
    CHECK(dec_snap_to_tick(lo, s->filters.tick, s->filters.min_price, DEC_ROUND_DOWN, &lo) == DEC_OK);
    fmt(lo, bad);
    struct dec qlo = qty_for(s, lo, 400);
    char qls[DEC_STR_MAX];
    fmt(qlo, qls);
    CHECK(ORDER("symbol=%s&side=SELL&type=LIMIT&timeInForce=GTC&quantity=%s&price=%s", s->name, qls, bad) == -4024);
    /* MIN_NOTIONAL, and the reduce-only exemption path (-2022 without a position) */
    fmt(s->filters.min_qty, bad);
    struct dec mn;
    CHECK(dec_mul(s->filters.min_qty, b.ask, &mn) == DEC_OK);
    if (dec_cmp(mn, s->filters.min_notional) < 0) {
        CHECK(ORDER("symbol=%s&side=BUY&type=MARKET&quantity=%s", s->name, bad) == -4164);
        CHECK(ORDER("symbol=%s&side=SELL&type=MARKET&quantity=%s&reduceOnly=true", s->name, bad) == -2022);
    }
    CHECK(ORDER("symbol=%s&side=SELL&type=MARKET&quantity=%s&reduceOnly=true", s->name, qs) == -2022);
    /* GTX that would take; FOK that cannot fill; IOC that cannot fill expires */
    CHECK(ORDER("symbol=%s&side=BUY&type=LIMIT&timeInForce=GTX&quantity=%s&price=%s", s->name, qs, ps) == -5022);
    fmt(tick_mul(s, b.bid, -3), bad);
    CHECK(ORDER("symbol=%s&side=BUY&type=LIMIT&timeInForce=FOK&quantity=%s&price=%s", s->name, qs, bad) == -5021);
    CHECK(ORDER("symbol=%s&side=BUY&type=LIMIT&timeInForce=GTX&quantity=%s&price=%s", s->name, qs, bad) == 0);
    json_t *body;
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=LIMIT&timeInForce=IOC&quantity=%s&price=%s&newOrderRespType=RESULT", s->name, qs, bad);
    CHECK(req(&w, "POST", "/fapi/v1/order", q, T0, &body) == 200);
    CHECK_EQ_STR(sget(body, "status"), "EXPIRED");
    json_decref(body);
    /* tick not respected: needs a symbol whose tick is not 10^-k */
    const struct sim_symbol *st = pick(&w, 1, -1);
    if (st) {
        struct sim_book bt;
        struct dec off, one_unit = {1, st->filters.tick.scale};
        sim_market_book(w.m, st->index, T0, &bt);
        CHECK(dec_sub(tick_mul(st, bt.bid, -2), one_unit, &off) == DEC_OK);
        fmt(off, bad);
        fmt(qty_for(st, off, 200), qs);
        CHECK(ORDER("symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=%s&price=%s", st->name, qs, bad) == -4014);
    } else {
        fprintf(stderr, "note: no symbol with an odd tick, -4014 unchecked\n");
    }
    const struct sim_symbol *ss = pick(&w, -1, 1);
    if (ss) {
        struct sim_book bs;
        struct dec q1, half = {1, ss->filters.step.scale};
        sim_market_book(w.m, ss->index, T0, &bs);
        CHECK(dec_add(qty_for(ss, bs.ask, 300), half, &q1) == DEC_OK);
        fmt(q1, bad);
        CHECK(ORDER("symbol=%s&side=BUY&type=MARKET&quantity=%s", ss->name, bad) == -4023);
    } else {
        fprintf(stderr, "note: no symbol with an odd step, -4023 unchecked\n");
    }
    /* margin: 10000 USDT at 20x cannot buy 1,000,000 USDT */
    fmt(s->filters.max_qty, qs);
    fmt(tick_mul(s, b.bid, -10), bad);
    CHECK(ORDER("symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=%s&price=%s", s->name, qs, bad) == -2019);
    /* leverage */
    snprintf(q, sizeof q, "symbol=%s&leverage=0", s->name);
    CHECK(req_code(&w, "POST", "/fapi/v1/leverage", q, T0) == -4028);
    snprintf(q, sizeof q, "symbol=%s&leverage=5", s->name);
    CHECK(req(&w, "POST", "/fapi/v1/leverage", q, T0, &body) == 200);
    CHECK(json_integer_value(json_object_get(body, "leverage")) == 5);
    json_decref(body);
    json_t *ev = ev_find(&w.ev, "ACCOUNT_CONFIG_UPDATE", NULL, 0);
    CHECK(ev != NULL);
    if (ev) check_shape("doc_examples/ws_ACCOUNT_CONFIG_UPDATE_leverage.json", ev, NULL, NULL);
    json_decref(ev);
    /* cancel / query unknown */
    snprintf(q, sizeof q, "symbol=%s&orderId=12345", s->name);
    CHECK(req_code(&w, "DELETE", "/fapi/v1/order", q, T0) == -2011);
    CHECK(req_code(&w, "GET", "/fapi/v1/order", q, T0) == -2013);
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req_code(&w, "GET", "/fapi/v1/order", q, T0) == -1102);
#undef ORDER
    world_close(&w);
}

static void test_max_orders_and_batches(void)
{
    struct world w;
    struct sim_book b;
    char q[2048], qs[DEC_STR_MAX], ps[DEC_STR_MAX];
    json_t *body;
    world_open(&w, 0, 0);
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    sim_market_book(w.m, s->index, T0, &b);
    struct dec price = tick_mul(s, b.bid, -10);
    fmt(price, ps);
    fmt(qty_for(s, price, 10), qs);
    int placed = 0;
    for (int i = 0; i < s->max_orders; i++) {
        snprintf(q, sizeof q, "symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=%s&price=%s",
                 s->name, qs, ps);
        placed += req_code(&w, "POST", "/fapi/v1/order", q, T0) == 0;
    }
    CHECK(placed == s->max_orders);
    CHECK(req_code(&w, "POST", "/fapi/v1/order", q, T0) == -2025);
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req(&w, "DELETE", "/fapi/v1/allOpenOrders", q, T0, &body) == 200);
    CHECK(json_integer_value(json_object_get(body, "code")) == 200);
    check_shape("doc_examples/allOpenOrders_DELETE_response.json", body, NULL, NULL);
    json_decref(body);
    CHECK(count_open(&w) == 0);

    /* batch: one good, one reduce-only reject, in request order */
    snprintf(q, sizeof q,
             "batchOrders=[{\"symbol\":\"%s\",\"side\":\"BUY\",\"type\":\"LIMIT\",\"timeInForce\":"
             "\"GTC\",\"quantity\":\"%s\",\"price\":\"%s\",\"newClientOrderId\":\"b1\"},"
             "{\"symbol\":\"%s\",\"side\":\"SELL\",\"type\":\"MARKET\",\"quantity\":\"%s\","
             "\"reduceOnly\":\"true\"}]",
             s->name, qs, ps, s->name, qs);
    struct sim_params p;
    struct sim_reply r;
    memset(&p, 0, sizeof p);
    memset(&r, 0, sizeof r);
    CHECK(sim_params_parse(&p, "", q) == 0);
    CHECK(sim_engine_handle(w.e, w.a, "POST", "/fapi/v1/batchOrders", &p, T0, &r) == 1);
    sim_params_free(&p);
    CHECK(r.status == 200 && json_array_size(r.body) == 2);
    CHECK(r.order_count == 1);
    check_shape("doc_examples/batchOrders_POST_response_with_error.json", json_array_get(r.body, 0),
                NULL, NULL);
    CHECK(err_code(json_array_get(r.body, 1)) == -2022);
    int64_t id = json_integer_value(json_object_get(json_array_get(r.body, 0), "orderId"));
    json_decref(r.body);
    snprintf(q, sizeof q, "symbol=%s&orderIdList=[%lld,1]", s->name, (long long)id);
    CHECK(req(&w, "DELETE", "/fapi/v1/batchOrders", q, T0, &body) == 200);
    CHECK(json_array_size(body) == 2);
    CHECK_EQ_STR(sget(json_array_get(body, 0), "status"), "CANCELED");
    check_shape("doc_examples/order_DELETE_response.json", json_array_get(body, 0),
                "activatePrice,priceRate", NULL);
    CHECK(err_code(json_array_get(body, 1)) == -2011);
    json_decref(body);
    snprintf(q, sizeof q, "batchOrders=[1,2,3,4,5,6]");
    CHECK(req_code(&w, "POST", "/fapi/v1/batchOrders", q, T0) == -1130);
    world_close(&w);
}

/* Opens a long position of about 300 USDT; returns the quantity. */
static struct dec go_long(struct world *w, const struct sim_symbol *s, int64_t now)
{
    struct sim_book b;
    char q[512], qs[DEC_STR_MAX];
    sim_market_book(w->m, s->index, now, &b);
    struct dec qty = qty_for(s, b.ask, 300);
    fmt(qty, qs);
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=MARKET&quantity=%s", s->name, qs);
    CHECK(req_code(w, "POST", "/fapi/v1/order", q, now) == 0);
    return qty;
}

static void test_algo_stop(void)
{
    struct world w;
    char q[512], qs[DEC_STR_MAX], ps[DEC_STR_MAX];
    json_t *body, *ev;
    world_open(&w, 0, 0);
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    struct dec qty = go_long(&w, s, T0);
    fmt(qty, qs);
    struct dec last = sim_market_last(w.m, s->index, T0);
    /* a SELL stop above the last price would trigger at once */
    fmt(tick_mul(s, last, 5), ps);
    snprintf(q, sizeof q, "algoType=CONDITIONAL&symbol=%s&side=SELL&type=STOP_MARKET&quantity=%s&triggerPrice=%s&reduceOnly=true",
             s->name, qs, ps);
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == -2021);
    struct dec trig = tick_mul(s, last, -30);
    fmt(trig, ps);
    snprintf(q, sizeof q, "algoType=CONDITIONAL&symbol=%s&side=SELL&type=STOP_MARKET&quantity=%s&triggerPrice=%s&reduceOnly=true&clientAlgoId=stop-1",
             s->name, qs, ps);
    CHECK(req(&w, "POST", "/fapi/v1/algoOrder", q, T0, &body) == 200);
    CHECK_EQ_STR(sget(body, "algoStatus"), "NEW");
    check_shape("doc_examples/algoOrder_POST_response.json", body, NULL, NULL);
    int64_t algo_id = json_integer_value(json_object_get(body, "algoId"));
    json_decref(body);
    CHECK(req(&w, "GET", "/fapi/v1/openAlgoOrders", "", T0, &body) == 200);
    CHECK(json_array_size(body) == 1);
    json_decref(body);
    ev = ev_find(&w.ev, "ALGO_UPDATE", "NEW", 0);
    CHECK(ev != NULL);
    if (ev) check_shape("doc_examples/ws_ALGO_UPDATE.json", ev, "rm", NULL); /* rm: with a reason */
    json_decref(ev);
    sim_engine_tick(w.e, T0 + 100);
    CHECK(!ev_has(&w.ev, "ALGO_UPDATE", "TRIGGERING"));

    /* the price falls through the trigger */
    ev_clear(&w.ev);
    CHECK(sim_market_set_price(w.m, s->index, T0 + 200, tick_mul(s, trig, -20)) == 0);
    sim_engine_tick(w.e, T0 + 200);
    json_t *trg = ev_find(&w.ev, "ALGO_UPDATE", "TRIGGERED", 0);
    json_t *fin = ev_find(&w.ev, "ALGO_UPDATE", "FINISHED", 0);
    json_t *fill = ev_find(&w.ev, "ORDER_TRADE_UPDATE", "TRADE", 0);
    json_t *acc = ev_find(&w.ev, "ACCOUNT_UPDATE", NULL, 0);
    CHECK(ev_has(&w.ev, "ALGO_UPDATE", "TRIGGERING"));
    CHECK(trg && fin && fill && acc);
    if (trg && fin && fill && acc) {
        json_t *fo = json_object_get(fill, "o");
        char ai[32];
        snprintf(ai, sizeof ai, "%lld", (long long)json_integer_value(json_object_get(fo, "i")));
        CHECK_EQ_STR(sget(json_object_get(trg, "o"), "ai"), ai);
        CHECK(dec_eq(dget(json_object_get(fin, "o"), "aq"), qty));
        CHECK_EQ_STR(sget(fo, "X"), "FILLED");
        CHECK(json_is_true(json_object_get(fo, "R")));
        json_t *nf = fixture("ws_futures_algo_update_finished.nautilus.json");
        CHECK(nf && shape_eq("algo finished", json_object_get(nf, "data"), fin, NULL, "rm"));
        json_decref(nf);
        json_t *P = json_object_get(json_object_get(acc, "a"), "P");
        CHECK(json_array_size(P) == 1 && dec_is_zero(dget(json_array_get(P, 0), "pa")));
    }
    json_decref(trg);
    json_decref(fin);
    json_decref(fill);
    json_decref(acc);
    snprintf(q, sizeof q, "algoId=%lld", (long long)algo_id);
    CHECK(req(&w, "GET", "/fapi/v1/algoOrder", q, T0 + 300, &body) == 200);
    CHECK_EQ_STR(sget(body, "algoStatus"), "FINISHED");
    json_decref(body);
    CHECK(req_code(&w, "DELETE", "/fapi/v1/algoOrder", q, T0 + 300) == -2011);
    CHECK(req_code(&w, "GET", "/fapi/v1/algoOrder", "algoId=5", T0 + 300) == -2013);

    /* cancel of an open algo order, and cancel-all */
    struct dec last2 = sim_market_last(w.m, s->index, T0 + 400);
    fmt(tick_mul(s, last2, 50), ps);
    snprintf(q, sizeof q, "algoType=CONDITIONAL&symbol=%s&side=BUY&type=STOP_MARKET&quantity=%s&triggerPrice=%s",
             s->name, qs, ps);
    CHECK(req(&w, "POST", "/fapi/v1/algoOrder", q, T0 + 400, &body) == 200);
    snprintf(q, sizeof q, "algoId=%lld", (long long)json_integer_value(json_object_get(body, "algoId")));
    json_decref(body);
    CHECK(req(&w, "DELETE", "/fapi/v1/algoOrder", q, T0 + 400, &body) == 200);
    CHECK_EQ_STR(sget(body, "code"), "200");
    json_decref(body);
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req(&w, "DELETE", "/fapi/v1/algoOpenOrders", q, T0 + 400, &body) == 200);
    json_decref(body);
    CHECK(req(&w, "GET", "/fapi/v1/allAlgoOrders", q, T0 + 400, &body) == 200);
    CHECK(json_array_size(body) == 2);
    json_decref(body);
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", "algoType=CONDITIONAL", T0) == -1102);
    world_close(&w);
}

/* Placing and cancelling algo orders for ever keeps the account's algo list bounded, and an
 * open algo order placed first survives the trimming. */
static void test_algo_history_bounded(void)
{
    struct world w;
    char q[512], qs[DEC_STR_MAX], ps[DEC_STR_MAX];
    json_t *body;
    world_open(&w, 0, 0);
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    struct dec qty = go_long(&w, s, T0);
    fmt(qty, qs);
    fmt(tick_mul(s, sim_market_last(w.m, s->index, T0), -30), ps);
    snprintf(q, sizeof q, "algoType=CONDITIONAL&symbol=%s&side=SELL&type=STOP_MARKET&quantity=%s&triggerPrice=%s&reduceOnly=true&clientAlgoId=keep",
             s->name, qs, ps);
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == 0);
    int placed = 0, cancelled = 0;
    for (int i = 0; i < 2 * ENG_ALGO_HISTORY_MAX + 100; i++) {
        snprintf(q, sizeof q, "algoType=CONDITIONAL&symbol=%s&side=SELL&type=STOP_MARKET&quantity=%s&triggerPrice=%s&reduceOnly=true",
                 s->name, qs, ps);
        if (req(&w, "POST", "/fapi/v1/algoOrder", q, T0, &body) != 200) break;
        placed++;
        snprintf(q, sizeof q, "algoId=%lld", (long long)json_integer_value(json_object_get(body, "algoId")));
        json_decref(body);
        cancelled += req_code(&w, "DELETE", "/fapi/v1/algoOrder", q, T0) == 0;
        ev_clear(&w.ev);
    }
    CHECK(placed == 2 * ENG_ALGO_HISTORY_MAX + 100 && cancelled == placed);
    CHECK(w.a->algos.n <= ENG_ALGO_HISTORY_MAX);
    CHECK(req(&w, "GET", "/fapi/v1/openAlgoOrders", "", T0, &body) == 200);
    CHECK(json_array_size(body) == 1);
    CHECK_EQ_STR(sget(json_array_get(body, 0), "clientAlgoId"), "keep");
    json_decref(body);
    world_close(&w);
}

static void test_classic_stop(void)
{
    struct world w;
    char q[512], qs[DEC_STR_MAX], ps[DEC_STR_MAX];
    json_t *body, *ev;
    world_open(&w, 1, 0);
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    struct dec qty = go_long(&w, s, T0);
    fmt(qty, qs);
    struct dec last = sim_market_last(w.m, s->index, T0);
    struct dec stop = tick_mul(s, last, -30);
    fmt(stop, ps);
    snprintf(q, sizeof q, "symbol=%s&side=SELL&type=STOP_MARKET&stopPrice=%s&closePosition=true",
             s->name, ps);
    CHECK(req(&w, "POST", "/fapi/v1/order", q, T0, &body) == 200);
    CHECK_EQ_STR(sget(body, "type"), "STOP_MARKET");
    int64_t oid = json_integer_value(json_object_get(body, "orderId"));
    json_decref(body);
    ev_clear(&w.ev);
    CHECK(sim_market_set_price(w.m, s->index, T0 + 200, tick_mul(s, stop, -20)) == 0);
    sim_engine_tick(w.e, T0 + 200);
    ev = ev_find(&w.ev, "ORDER_TRADE_UPDATE", "TRADE", 0);
    CHECK(ev != NULL);
    if (ev) {
        json_t *o = json_object_get(ev, "o");
        CHECK(json_integer_value(json_object_get(o, "i")) == oid);
        CHECK_EQ_STR(sget(o, "o"), "MARKET");
        CHECK_EQ_STR(sget(o, "ot"), "STOP_MARKET");
        CHECK(json_is_true(json_object_get(o, "cp")));
        CHECK(dec_eq(dget(o, "z"), qty));
    }
    json_decref(ev);
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req(&w, "GET", "/fapi/v2/positionRisk", q, T0 + 300, &body) == 200);
    CHECK(dec_is_zero(dget(json_array_get(body, 0), "positionAmt")));
    json_decref(body);
    world_close(&w);
}

static void test_funding_and_admin(void)
{
    struct world w;
    struct sim_params p;
    struct sim_reply r;
    json_t *rows, *ev;
    world_open(&w, 0, 1000);
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    go_long(&w, s, T0);
    sim_engine_tick(w.e, T0 + 10);
    sim_engine_tick(w.e, T0 + 500);
    ev_clear(&w.ev);
    sim_engine_tick(w.e, T0 + 1000 + 10);
    CHECK(req(&w, "GET", "/fapi/v1/income", "incomeType=FUNDING_FEE", T0 + 2000, &rows) == 200);
    struct dec rate = sim_market_funding_rate(w.m, s->index, (T0 + 1000) / 1000 * 1000);
    if (dec_is_zero(rate)) fprintf(stderr, "note: funding rate 0, FUNDING_FEE unchecked\n");
    if (!dec_is_zero(rate)) {
        CHECK(json_array_size(rows) == 1);
        ev = ev_find(&w.ev, "ACCOUNT_UPDATE", NULL, 0);
        CHECK(ev != NULL);
        if (ev) {
            json_t *a = json_object_get(ev, "a");
            CHECK_EQ_STR(sget(a, "m"), "FUNDING_FEE");
            CHECK(json_array_size(json_object_get(a, "P")) == 0);
            CHECK(json_array_size(json_object_get(a, "B")) == 1);
        }
        json_decref(ev);
    }
    json_decref(rows);

    /* admin: transfer, funding by amount, outside trade */
    ev_clear(&w.ev);
    memset(&p, 0, sizeof p);
    CHECK(sim_params_parse(&p, "asset=USDT&amount=250.5", "") == 0);
    CHECK(sim_engine_admin_event(w.e, "main", "transfer", &p, T0 + 3000, &r) == 200);
    json_decref(r.body);
    sim_params_free(&p);
    ev = ev_find(&w.ev, "ACCOUNT_UPDATE", NULL, 0);
    CHECK(ev && !strcmp(sget(json_object_get(ev, "a"), "m"), "DEPOSIT"));
    json_decref(ev);
    char q[256];
    snprintf(q, sizeof q, "symbol=%s&amount=-1.25", s->name);
    CHECK(sim_params_parse(&p, q, "") == 0);
    CHECK(sim_engine_admin_event(w.e, "main", "funding", &p, T0 + 3000, &r) == 200);
    json_decref(r.body);
    sim_params_free(&p);
    snprintf(q, sizeof q, "symbol=%s&side=SELL&qty=%s", s->name, "0");
    CHECK(sim_params_parse(&p, q, "") == 0);
    CHECK(sim_engine_admin_event(w.e, "main", "trade", &p, T0 + 3000, &r) == 400);
    json_decref(r.body);
    sim_params_free(&p);
    CHECK(sim_engine_admin_event(w.e, "nobody", "trade", &p, T0 + 3000, &r) == 404);
    json_decref(r.body);
    CHECK(req(&w, "GET", "/fapi/v1/income", "incomeType=TRANSFER", T0 + 4000, &rows) == 200);
    CHECK(json_array_size(rows) == 1);
    if (json_array_size(rows) == 1) {
        CHECK_EQ_STR(sget(json_array_get(rows, 0), "income"), "250.50000000");
        CHECK_EQ_STR(sget(json_array_get(rows, 0), "symbol"), "");
    }
    json_decref(rows);
    json_t *st = sim_engine_state(w.e, T0 + 4000);
    CHECK(json_array_size(json_object_get(st, "accounts")) == 1);
    json_decref(st);
    world_close(&w);
}

/* The same requests on the same seed give the same answers. */
static char *run_script(void)
{
    struct world w;
    struct sim_book b;
    char q[512], qs[DEC_STR_MAX], *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    world_open(&w, 0, 0);
    const struct sim_symbol *s = pick(&w, -1, -1);
    sim_market_book(w.m, s->index, T0, &b);
    fmt(qty_for(s, b.ask, 100), qs);
    for (int i = 0; i < 6; i++) {
        json_t *body = NULL;
        snprintf(q, sizeof q, "symbol=%s&side=%s&type=MARKET&quantity=%s&newOrderRespType=RESULT",
                 s->name, i % 2 ? "SELL" : "BUY", qs);
        req(&w, "POST", "/fapi/v1/order", q, T0 + i * 1000, &body);
        char *t = jv_dump(body);
        fprintf(f, "%s\n", t);
        free(t);
        json_decref(body);
    }
    for (int i = 0; i < w.ev.n; i++) fprintf(f, "%s\n", w.ev.v[i]);
    fclose(f);
    world_close(&w);
    return out;
}

static void test_determinism(void)
{
    char *a = run_script(), *b = run_script();
    CHECK(a && b && strlen(a) > 100 && !strcmp(a, b));
    free(a);
    free(b);
}

/* ---- the book: queue, partial fills, depth, mark ---- */

static json_t *order_get(struct world *w, const struct sim_symbol *s, int64_t id, int64_t now)
{
    char q[256];
    json_t *body = NULL;
    snprintf(q, sizeof q, "symbol=%s&orderId=%lld", s->name, (long long)id);
    if (req(w, "GET", "/fapi/v1/order", q, now, &body) != 200) {
        json_decref(body);
        return NULL;
    }
    return body;
}

static int64_t post_order(struct world *w, const char *q, int64_t now, json_t **body)
{
    json_t *b = NULL;
    int64_t id = 0;
    if (req(w, "POST", "/fapi/v1/order", q, now, &b) == 200)
        id = json_integer_value(json_object_get(b, "orderId"));
    if (body)
        *body = b;
    else
        json_decref(b);
    return id;
}

/* A GTX buy at the best bid waits behind the level's queue: no fill while the market's sells at
 * its price have not consumed what was ahead of it (and the price has not traded through),
 * then partial fills that stay PARTIALLY_FILLED until more flow comes, then FILLED. */
static void test_queue_and_partial(void)
{
    struct world w;
    struct sim_book b;
    char q[512], ps[DEC_STR_MAX];
    world_volatility = 0.01; /* a calm market: the bid stays put, only the flow matters */
    world_open(&w, 0, 0);
    world_volatility = 0;
    const struct sim_symbol *s = sim_market_find(w.m, "XRPUSDT");
    CHECK(s != NULL);
    if (!s) return;
    sim_market_book(w.m, s->index, T0, &b);
    fmt(b.bid, ps);
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=LIMIT&timeInForce=GTX&quantity=30000&price=%s",
             s->name, ps);
    int64_t id = post_order(&w, q, T0, NULL);
    CHECK(id > 0);
    struct dec ahead = b.bid_qty, flow_at_price = dec_from_int(0), executed = dec_from_int(0);
    int moved = 0, partial_ticks = 0, partial_held = 0, filled = 0, early = 0;
    int64_t st0 = sim_market_step_of(T0);
    for (int64_t k = 1; k <= 6000 && !filled; k++) {
        int64_t now = T0 + k * 100;
        struct sim_step st;
        sim_market_step(w.m, s->index, st0 + k, &st);
        if (dec_cmp(st.bid, b.bid) != 0 || dec_cmp(st.ask, b.bid) <= 0) moved = 1;
        if (dec_cmp(st.bid, b.bid) == 0) flow_at_price = eng_add(flow_at_price, st.sell_flow);
        sim_engine_tick(w.e, now);
        json_t *o = order_get(&w, s, id, now);
        struct dec ex = o ? dget(o, "executedQty") : dec_from_int(0);
        const char *x = o ? sget(o, "status") : NULL;
        if (dec_sign(ex) > 0 && dec_cmp(flow_at_price, ahead) <= 0 && !moved) early = 1;
        if (x && !strcmp(x, "PARTIALLY_FILLED")) {
            partial_ticks++;
            if (dec_cmp(ex, executed) == 0) partial_held++;
        }
        if (x && !strcmp(x, "FILLED")) filled = 1;
        executed = ex;
        json_decref(o);
    }
    CHECK(!early);                 /* nothing before the queue ahead was traded */
    CHECK(!moved);                 /* the calm market never left the price ... */
    CHECK(filled);                 /* ... so only the trade flow filled it */
    CHECK(dec_cmp(flow_at_price, ahead) > 0);
    CHECK(partial_ticks >= 2);     /* partial fills ... */
    CHECK(partial_held >= 1);      /* ... that last while no flow comes */
    int partial_event = 0;
    for (int n = 0; !partial_event; n++) {
        json_t *ev = ev_find(&w.ev, "ORDER_TRADE_UPDATE", "TRADE", n);
        if (!ev) break;
        partial_event = !strcmp(sget(json_object_get(ev, "o"), "X"), "PARTIALLY_FILLED");
        json_decref(ev);
    }
    CHECK(partial_event);
    world_close(&w);
}

/* A MARKET order larger than the best level walks the book: an average price worse than the
 * best, one trade per level, and the levels it took are gone from the book for a while. */
static void test_market_walks_book(void)
{
    struct world w;
    struct dec px[3], qt[3], half, want, filled_px;
    char q[512], qs[DEC_STR_MAX];
    json_t *body = NULL, *rows = NULL;
    world_open(&w, 0, 0);
    const struct sim_symbol *s = sim_market_find(w.m, "XRPUSDT");
    if (!s) return;
    CHECK(sim_market_levels(w.m, s->index, T0, 1, 3, px, qt) == 3);
    CHECK(dec_div(qt[1], dec_from_int(2), 0, DEC_ROUND_DOWN, &half) == DEC_OK);
    want = eng_add(qt[0], half);
    fmt(want, qs);
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=MARKET&quantity=%s&newOrderRespType=RESULT",
             s->name, qs);
    CHECK(post_order(&w, q, T0, &body) > 0);
    CHECK_EQ_STR(sget(body, "status"), "FILLED");
    filled_px = dget(body, "avgPrice");
    CHECK(dec_cmp(filled_px, px[0]) > 0 && dec_cmp(filled_px, px[1]) < 0);
    CHECK(dec_eq(dget(body, "executedQty"), want));
    json_decref(body);
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req(&w, "GET", "/fapi/v1/userTrades", q, T0, &rows) == 200);
    CHECK(json_array_size(rows) == 2);
    if (json_array_size(rows) == 2) {
        CHECK(dec_eq(dget(json_array_get(rows, 0), "price"), px[0]));
        CHECK(dec_eq(dget(json_array_get(rows, 1), "price"), px[1]));
    }
    json_decref(rows);
    /* the fill moved the book: the best ask is now the second level, with what is left */
    struct sim_book b;
    sim_market_book(w.m, s->index, T0, &b);
    CHECK(dec_eq(b.ask, px[1]));
    CHECK(dec_cmp(b.ask_qty, qt[1]) < 0);
    /* FOK against the depth: more than the best level holds at its price is refused, the same
     * up to the next level's price fills */
    char ps[DEC_STR_MAX];
    fmt(eng_add(b.ask_qty, s->filters.step), qs);
    fmt(b.ask, ps);
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=LIMIT&timeInForce=FOK&quantity=%s&price=%s",
             s->name, qs, ps);
    CHECK(req_code(&w, "POST", "/fapi/v1/order", q, T0) == -5021);
    fmt(px[2], ps);
    snprintf(q, sizeof q,
             "symbol=%s&side=BUY&type=LIMIT&timeInForce=FOK&quantity=%s&price=%s"
             "&newOrderRespType=RESULT",
             s->name, qs, ps);
    CHECK(post_order(&w, q, T0, &body) > 0);
    CHECK_EQ_STR(sget(body, "status"), "FILLED");
    json_decref(body);
    world_close(&w);
}

/* -4131: right after a 20 % jump the mark lags, the asks are beyond PERCENT_PRICE of it. */
static void test_market_protect(void)
{
    struct world w;
    char q[512];
    world_open(&w, 0, 0);
    const struct sim_symbol *s = sim_market_find(w.m, "XRPUSDT");
    if (!s) return;
    CHECK(sim_market_move_pct(w.m, s->index, T0, (struct dec){20, 0}) == 0);
    CHECK(dec_cmp(sim_market_mark(w.m, s->index, T0 + 100),
                  sim_market_last(w.m, s->index, T0 + 100)) < 0);
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=MARKET&quantity=100", s->name);
    CHECK(req_code(&w, "POST", "/fapi/v1/order", q, T0 + 100) == -4131);
    /* once the mark has caught up the same order goes through */
    CHECK(req_code(&w, "POST", "/fapi/v1/order", q, T0 + 6000) == 0);
    world_close(&w);
}

/* The two algo orders ids[0] (unguarded) and ids[1] (waiting for the mark) after a jump at
 * T0 + 1000: only the first has run at T0 + 1100, both at T0 + 7000 (the mark has followed). */
static void algo_states_after_jump(struct world *w, const int64_t ids[2])
{
    static const char *const want[2][2] = {{"FINISHED", "NEW"}, {"FINISHED", "FINISHED"}};
    const int64_t at[2] = {T0 + 1100, T0 + 7000};
    char q[64];
    json_t *body = NULL;
    for (int t = 0; t < 2; t++) {
        for (int64_t now = at[t] - 100; now <= at[t]; now += 100) sim_engine_tick(w->e, now);
        for (int k = 0; k < 2; k++) {
            snprintf(q, sizeof q, "algoId=%lld", (long long)ids[k]);
            CHECK(req(w, "GET", "/fapi/v1/algoOrder", q, at[t], &body) == 200);
            const char *st = sget(body, "algoStatus");
            if (!st || strcmp(st, want[t][k]))
                fprintf(stderr, "algo %d at +%lld: %s, want %s\n", k, (long long)(at[t] - T0),
                        st ? st : "?", want[t][k]);
            CHECK(st && !strcmp(st, want[t][k]));
            json_decref(body);
        }
    }
}

/* Places two STOP_MARKET algo orders of 100 on s, triggered at factor x the last price (on the
 * tick grid), differing by their extra parameters; their ids into ids[]. */
static void two_algos(struct world *w, const struct sim_symbol *s, const char *side,
                      struct dec factor, const char *const extra[2], int64_t ids[2])
{
    char q[512], ps[DEC_STR_MAX];
    json_t *body = NULL;
    struct dec trig;
    CHECK(dec_div(eng_mul(sim_market_last(w->m, s->index, T0), factor, 8), s->filters.tick, 0,
                  DEC_ROUND_DOWN, &trig) == DEC_OK);
    fmt(eng_mul(trig, s->filters.tick, s->filters.tick.scale), ps);
    for (int k = 0; k < 2; k++) {
        snprintf(q, sizeof q,
                 "algoType=CONDITIONAL&symbol=%s&side=%s&type=STOP_MARKET&quantity=100"
                 "&triggerPrice=%s&%s",
                 s->name, side, ps, extra[k]);
        CHECK(req(w, "POST", "/fapi/v1/algoOrder", q, T0, &body) == 200);
        ids[k] = json_integer_value(json_object_get(body, "algoId"));
        json_decref(body);
    }
}

/* STOP_MARKET algo orders on a sudden drop: CONTRACT_PRICE triggers on the last price at once,
 * MARK_PRICE only once the (lagging) mark reaches the trigger. */
static void test_mark_trigger(void)
{
    static const char *const extra[2] = {"workingType=CONTRACT_PRICE", "workingType=MARK_PRICE"};
    struct world w;
    int64_t ids[2];
    world_open(&w, 0, 0);
    const struct sim_symbol *s = sim_market_find(w.m, "XRPUSDT");
    if (!s) return;
    two_algos(&w, s, "SELL", (struct dec){99, 2}, extra, ids);
    CHECK(sim_market_move_pct(w.m, s->index, T0 + 1000, (struct dec){-3, 0}) == 0);
    algo_states_after_jump(&w, ids);
    world_close(&w);
}

/* priceProtect: right after a 20 % jump last and mark are more than 5 % apart; a protected
 * STOP_MARKET on the last price waits until the mark catches up, an unprotected one goes. */
static void test_price_protect(void)
{
    static const char *const extra[2] = {"priceProtect=FALSE", "priceProtect=TRUE"};
    struct world w;
    int64_t ids[2];
    world_open(&w, 0, 0);
    const struct sim_symbol *s = sim_market_find(w.m, "XRPUSDT");
    if (!s) return;
    two_algos(&w, s, "BUY", (struct dec){110, 2}, extra, ids);
    CHECK(sim_market_move_pct(w.m, s->index, T0 + 1000, (struct dec){20, 0}) == 0);
    algo_states_after_jump(&w, ids);
    world_close(&w);
}

/* A leveraged long whose margin falls below maintenance (brackets.h) is closed by the
 * exchange: an "autoclose-" order filled at the mark, its ORDER_TRADE_UPDATE, a flat position;
 * a smaller drop leaves it alone. */
static void test_liquidation(void)
{
    struct world w;
    char q[512], qs[DEC_STR_MAX];
    json_t *body = NULL;
    world_open(&w, 0, 0);
    const struct sim_symbol *s = sim_market_find(w.m, "XRPUSDT");
    if (!s) return;
    struct sim_book b;
    sim_market_book(w.m, s->index, T0, &b);
    struct dec half = qty_for(s, b.ask, 75000), qty = eng_add(half, half);
    fmt(half, qs);
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=MARKET&quantity=%s", s->name, qs);
    CHECK(req_code(&w, "POST", "/fapi/v1/order", q, T0) == 0); /* MARKET_LOT_SIZE: twice */
    CHECK(req_code(&w, "POST", "/fapi/v1/order", q, T0) == 0);
    CHECK(dec_eq(w.a->pos[s->index].amt, qty));
    /* -1 %: still above maintenance */
    CHECK(sim_market_move_pct(w.m, s->index, T0 + 1000, (struct dec){-1, 0}) == 0);
    for (int64_t t = T0 + 1000; t <= T0 + 8000; t += 100) sim_engine_tick(w.e, t);
    CHECK(dec_eq(w.a->pos[s->index].amt, qty));
    CHECK(!eng_below_maintenance(w.e, w.a, T0 + 8000));
    /* -6 % more: margin balance below maintenance once the mark follows */
    ev_clear(&w.ev);
    CHECK(sim_market_move_pct(w.m, s->index, T0 + 9000, (struct dec){-6, 0}) == 0);
    int64_t when = 0;
    for (int64_t t = T0 + 9000; t <= T0 + 20000 && !when; t += 100) {
        sim_engine_tick(w.e, t);
        if (dec_is_zero(w.a->pos[s->index].amt)) when = t;
    }
    CHECK(when > 0);
    json_t *ev = NULL;
    for (int n = 0; !ev; n++) {
        json_t *x = ev_find(&w.ev, "ORDER_TRADE_UPDATE", "TRADE", n);
        if (!x) break;
        const char *c = sget(json_object_get(x, "o"), "c");
        if (c && !strncmp(c, "autoclose-", 10)) ev = x;
        else json_decref(x);
    }
    CHECK(ev != NULL);
    if (ev) {
        json_t *o = json_object_get(ev, "o");
        CHECK_EQ_STR(sget(o, "X"), "FILLED");
        CHECK_EQ_STR(sget(o, "S"), "SELL");
        CHECK(dec_eq(dget(o, "z"), qty));
        CHECK(dec_eq(dget(o, "L"), sim_market_mark(w.m, s->index, when)));
    }
    json_decref(ev);
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req(&w, "GET", "/fapi/v1/allOrders", q, when, &body) == 200);
    CHECK(json_array_size(body) == 3);
    const char *cid = sget(json_array_get(body, 2), "clientOrderId");
    CHECK(cid && !strncmp(cid, "autoclose-", 10));
    json_decref(body);
    world_close(&w);
}

/* ---- the API side: algo event order, validation, account modes, history rules ---- */

/* Index in the event log of the first event of type (and state, as ev_find), -1 if none. */
static int ev_index(struct evlog *l, const char *type, const char *state)
{
    for (int i = 0; i < l->n; i++) {
        json_t *j = json_loads(l->v[i], 0, NULL);
        const char *et = sget(j, "e");
        json_t *o = json_object_get(j, "o");
        const char *x = sget(o, "x"), *X = sget(o, "X");
        int match = et && !strcmp(et, type) &&
                    (!state || (x && !strcmp(x, state)) || (!x && X && !strcmp(X, state)));
        json_decref(j);
        if (match) return i;
    }
    return -1;
}

/* A recorded ALGO_UPDATE (nautilus' {"stream","data"} wrapper removed). */
static json_t *recorded_algo(const char *name)
{
    json_t *f = fixture(name), *d = json_incref(json_object_get(f, "data"));
    json_decref(f);
    return d;
}

static void test_algo_event_order(void)
{
    struct world w;
    char q[512], qs[DEC_STR_MAX], ps[DEC_STR_MAX];
    json_t *body;
    world_open(&w, 0, 0);
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    struct dec qty = go_long(&w, s, T0);
    fmt(qty, qs);
    struct dec trig = tick_mul(s, sim_market_last(w.m, s->index, T0), -30);
    fmt(trig, ps);
    snprintf(q, sizeof q, "algoType=CONDITIONAL&symbol=%s&side=SELL&type=STOP_MARKET&quantity=%s"
             "&triggerPrice=%s&reduceOnly=true", s->name, qs, ps);
    CHECK(req(&w, "POST", "/fapi/v1/algoOrder", q, T0, &body) == 200);
    json_decref(body);
    ev_clear(&w.ev);
    CHECK(sim_market_set_price(w.m, s->index, T0 + 200, tick_mul(s, trig, -20)) == 0);
    sim_engine_tick(w.e, T0 + 200);
    int i_ing = ev_index(&w.ev, "ALGO_UPDATE", "TRIGGERING");
    int i_ed = ev_index(&w.ev, "ALGO_UPDATE", "TRIGGERED");
    int i_new = ev_index(&w.ev, "ORDER_TRADE_UPDATE", "NEW");
    int i_fill = ev_index(&w.ev, "ORDER_TRADE_UPDATE", "TRADE");
    int i_fin = ev_index(&w.ev, "ALGO_UPDATE", "FINISHED");
    /* Binance's order: TRIGGERING, TRIGGERED (names the order), the order's events, FINISHED */
    CHECK(i_ing >= 0 && i_ing < i_ed && i_ed < i_new && i_new < i_fill && i_fill < i_fin);
    json_t *trg = ev_find(&w.ev, "ALGO_UPDATE", "TRIGGERED", 0);
    json_t *fin = ev_find(&w.ev, "ALGO_UPDATE", "FINISHED", 0);
    json_t *fill = ev_find(&w.ev, "ORDER_TRADE_UPDATE", "TRADE", 0);
    json_t *rt = recorded_algo("ws_futures_algo_update_triggered.nautilus.json");
    json_t *rf = recorded_algo("ws_futures_algo_update_finished.nautilus.json");
    CHECK(trg && fin && fill && rt && rf);
    if (trg && fin && fill && rt && rf) {
        json_t *to = json_object_get(trg, "o"), *fo = json_object_get(fin, "o");
        char ai[32];
        snprintf(ai, sizeof ai, "%lld",
                 (long long)json_integer_value(json_object_get(json_object_get(fill, "o"), "i")));
        CHECK_EQ_STR(sget(to, "ai"), ai);
        CHECK_EQ_STR(sget(to, "ap"), "0"); /* as recorded: no fill before FINISHED */
        CHECK_EQ_STR(sget(to, "aq"), "0");
        CHECK_EQ_STR(sget(to, "act"), "MARKET");
        CHECK_EQ_STR(sget(fo, "ai"), ai);
        CHECK(dec_eq(dget(fo, "aq"), qty) && dec_sign(dget(fo, "ap")) > 0);
        /* exactly the recorded key sets and JSON types */
        CHECK(shape_eq("TRIGGERED", rt, trg, NULL, NULL));
        CHECK(shape_eq("FINISHED", rf, fin, NULL, NULL));
    }
    json_decref(trg);
    json_decref(fin);
    json_decref(fill);
    json_decref(rt);
    json_decref(rf);
    world_close(&w);
}

static void test_algo_validation(void)
{
    struct world w;
    char q[640], base[400], ps[DEC_STR_MAX], qs[DEC_STR_MAX];
    json_t *body;
    world_open(&w, 0, 0);
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    struct sim_book b;
    sim_market_book(w.m, s->index, T0, &b);
    fmt(qty_for(s, b.ask, 100), qs);
    fmt(tick_mul(s, sim_market_last(w.m, s->index, T0), 40), ps); /* a BUY stop above */
    snprintf(base, sizeof base, "algoType=CONDITIONAL&symbol=%s&side=BUY&triggerPrice=%s",
             s->name, ps);
    snprintf(q, sizeof q, "%s&type=STOP_MARKET&closePosition=true&reduceOnly=true", base);
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == -1106);
    snprintf(q, sizeof q, "%s&type=STOP_MARKET&closePosition=true&quantity=%s", base, qs);
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == -1106);
    const char *tifs[] = {"GTC", "IOC", "FOK", "GTX"};
    for (int i = 0; i < 4; i++) {
        snprintf(q, sizeof q, "%s&type=STOP&quantity=%s&price=%s&timeInForce=%s", base, qs, ps,
                 tifs[i]);
        CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == 0);
    }
    snprintf(q, sizeof q, "%s&type=STOP&quantity=%s&price=%s&timeInForce=GTD", base, qs, ps);
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == -1102);
    snprintf(q, sizeof q, "%s&type=STOP&quantity=%s&price=%s&timeInForce=GTD&goodTillDate=%lld",
             base, qs, ps, (long long)(T0 + 500000));
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == -5040);
    snprintf(q, sizeof q, "%s&type=STOP&quantity=%s&price=%s&timeInForce=GTD&goodTillDate=%lld",
             base, qs, ps, (long long)(T0 + 700000));
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == 0);
    snprintf(q, sizeof q, "%s&type=STOP_MARKET&quantity=%s&priceMatch=OPPONENT", base, qs);
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == -5038);
    snprintf(q, sizeof q, "%s&type=STOP&quantity=%s&price=%s&priceMatch=QUEUE", base, qs, ps);
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == -1106);
    snprintf(q, sizeof q, "%s&type=STOP&quantity=%s&priceMatch=BEST", base, qs);
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == -1100);
    snprintf(q, sizeof q, "%s&type=STOP&quantity=%s&priceMatch=OPPONENT&clientAlgoId=pm-1", base,
             qs);
    CHECK(req(&w, "POST", "/fapi/v1/algoOrder", q, T0, &body) == 200);
    CHECK_EQ_STR(sget(body, "priceMatch"), "OPPONENT");
    json_decref(body);
    snprintf(q, sizeof q, "%s&type=STOP&quantity=%s&priceMatch=OPPONENT&timeInForce=GTX"
             "&clientAlgoId=pm-gtx", base, qs);
    CHECK(req_code(&w, "POST", "/fapi/v1/algoOrder", q, T0) == 0);
    /* triggered: the LIMIT child is priced at the opposite best (the ask, for a BUY) */
    struct dec up = tick_mul(s, sim_market_last(w.m, s->index, T0), 80);
    CHECK(sim_market_set_price(w.m, s->index, T0 + 100, up) == 0);
    sim_engine_tick(w.e, T0 + 100);
    sim_market_book(w.m, s->index, T0 + 100, &b);
    CHECK(req(&w, "GET", "/fapi/v1/algoOrder", "clientAlgoId=pm-1", T0 + 100, &body) == 200);
    const char *aid = sget(body, "actualOrderId");
    CHECK(aid && *aid);
    if (aid && *aid) {
        char oq[128];
        json_t *o;
        snprintf(oq, sizeof oq, "symbol=%s&orderId=%s", s->name, aid);
        CHECK(req(&w, "GET", "/fapi/v1/order", oq, T0 + 100, &o) == 200);
        CHECK_EQ_STR(sget(o, "type"), "LIMIT");
        CHECK(dec_eq(dget(o, "price"), b.ask));
        json_decref(o);
    }
    json_decref(body);
    /* a post-only child at the opposite best would take: it expires instead of filling */
    CHECK(req(&w, "GET", "/fapi/v1/algoOrder", "clientAlgoId=pm-gtx", T0 + 100, &body) == 200);
    aid = sget(body, "actualOrderId");
    if (aid && *aid) {
        char oq[128];
        json_t *o;
        snprintf(oq, sizeof oq, "symbol=%s&orderId=%s", s->name, aid);
        CHECK(req(&w, "GET", "/fapi/v1/order", oq, T0 + 100, &o) == 200);
        CHECK_EQ_STR(sget(o, "status"), "EXPIRED");
        CHECK(dec_is_zero(dget(o, "executedQty")));
        json_decref(o);
    }
    CHECK(aid && *aid);
    json_decref(body);
    world_close(&w);
}

/* The brackets GET /fapi/v1/leverageBracket served for s are the margin table's (brackets.h),
 * figure by figure. */
static int brackets_served(json_t *body, const struct sim_symbol *s)
{
    int n, ok;
    const struct sim_bracket *b = sim_brackets(s, &n);
    json_t *arr = json_object_get(body, "brackets");
    ok = (int)json_array_size(arr) == n;
    for (int i = 0; ok && i < n; i++) {
        json_t *o = json_array_get(arr, (size_t)i);
        char mmr[DEC_STR_MAX], cum[DEC_STR_MAX], cap[DEC_STR_MAX];
        ok = dec_format(b[i].mmr, mmr, sizeof mmr) > 0 && dec_format(b[i].cum, cum, sizeof cum) > 0 &&
             dec_format(b[i].notional_cap, cap, sizeof cap) > 0 &&
             json_integer_value(json_object_get(o, "bracket")) == b[i].bracket &&
             json_integer_value(json_object_get(o, "initialLeverage")) == b[i].max_leverage &&
             json_integer_value(json_object_get(o, "notionalCap")) == strtoll(cap, NULL, 10) &&
             json_number_value(json_object_get(o, "maintMarginRatio")) == strtod(mmr, NULL) &&
             json_number_value(json_object_get(o, "cum")) == strtod(cum, NULL);
    }
    return ok;
}

static void test_account_modes(void)
{
    struct world w;
    char q[256];
    json_t *body;
    world_open(&w, 0, 0);
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    CHECK(req(&w, "GET", "/fapi/v1/positionSide/dual", "", T0, &body) == 200);
    CHECK(json_is_false(json_object_get(body, "dualSidePosition")));
    check_shape("doc_examples/positionSide_dual_GET.json", body, NULL, NULL);
    json_decref(body);
    CHECK(req_code(&w, "POST", "/fapi/v1/positionSide/dual", "dualSidePosition=false", T0) == -4059);
    CHECK(req_code(&w, "POST", "/fapi/v1/positionSide/dual", "dualSidePosition=true", T0) == -1000);
    CHECK(req_code(&w, "POST", "/fapi/v1/positionSide/dual", "", T0) == -1102);
    CHECK(req(&w, "GET", "/fapi/v1/multiAssetsMargin", "", T0, &body) == 200);
    CHECK(json_is_false(json_object_get(body, "multiAssetsMargin")));
    check_shape("doc_examples/multiAssetsMargin_GET.json", body, NULL, NULL);
    json_decref(body);
    snprintf(q, sizeof q, "symbol=%s&marginType=CROSSED", s->name);
    CHECK(req_code(&w, "POST", "/fapi/v1/marginType", q, T0) == -4046);
    snprintf(q, sizeof q, "symbol=%s&marginType=BOTH", s->name);
    CHECK(req_code(&w, "POST", "/fapi/v1/marginType", q, T0) == -1100);
    /* leverageBracket: an object with symbol, an array of every tradable symbol without */
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req(&w, "GET", "/fapi/v1/leverageBracket", q, T0, &body) == 200);
    CHECK_EQ_STR(sget(body, "symbol"), s->name);
    json_t *br = json_array_get(json_object_get(body, "brackets"), 0);
    CHECK(json_is_integer(json_object_get(br, "bracket")) &&
          json_is_integer(json_object_get(br, "initialLeverage")) &&
          json_is_integer(json_object_get(br, "notionalCap")) &&
          json_is_integer(json_object_get(br, "notionalFloor")) &&
          json_is_number(json_object_get(br, "maintMarginRatio")) &&
          json_is_number(json_object_get(br, "cum")));
    check_shape("doc_examples/leverageBracket.json", body, "notionalCoef", NULL); /* one element */
    CHECK(brackets_served(body, s));
    json_decref(body);
    CHECK(req(&w, "GET", "/fapi/v1/leverageBracket", "", T0, &body) == 200);
    CHECK(json_is_array(body) && json_array_size(body) >= 12);
    check_shape("doc_examples/leverageBracket.json", body, "notionalCoef", NULL);
    json_decref(body);
    CHECK(req(&w, "GET", "/fapi/v1/symbolConfig", q, T0, &body) == 200);
    json_t *sc = json_array_get(body, 0);
    CHECK(json_array_size(body) == 1 && !strcmp(sget(sc, "marginType"), "CROSSED") &&
          json_is_integer(json_object_get(sc, "leverage")) &&
          !strcmp(sget(sc, "isAutoAddMargin"), "false") && sget(sc, "maxNotionalValue"));
    check_shape("doc_examples/symbolConfig.json", body, NULL, NULL);
    json_decref(body);
    CHECK(req(&w, "GET", "/fapi/v1/accountConfig", "", T0, &body) == 200);
    CHECK(json_is_false(json_object_get(body, "dualSidePosition")) &&
          json_is_boolean(json_object_get(body, "canTrade")) &&
          json_is_integer(json_object_get(body, "feeTier")));
    check_shape("doc_examples/accountConfig.json", body, NULL, NULL);
    json_decref(body);
    /* a funded asset's updateTime is the time it last changed, never 0 */
    CHECK(req(&w, "GET", "/fapi/v2/balance", "", T0, &body) == 200);
    CHECK(json_integer_value(json_object_get(json_array_get(body, 0), "updateTime")) > 0);
    json_decref(body);
    go_long(&w, s, T0 + 5);
    CHECK(req(&w, "GET", "/fapi/v3/account", "", T0 + 6, &body) == 200);
    CHECK(json_integer_value(json_object_get(
              json_array_get(json_object_get(body, "assets"), 0), "updateTime")) == T0 + 5);
    json_decref(body);
    CHECK(req_code(&w, "POST", "/fapi/v1/positionSide/dual", "dualSidePosition=true", T0) == -4068);
    /* leverage capped by the first bracket; maxNotionalValue from the brackets */
    CHECK(req(&w, "POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=125", T0, &body) == 200);
    CHECK_EQ_STR(sget(body, "maxNotionalValue"), "50000");
    json_decref(body);
    const char *alt = NULL;
    for (int i = 0; i < sim_market_count(w.m) && !alt; i++) {
        const struct sim_symbol *y = sim_market_symbol(w.m, i);
        if (!strcmp(y->status, "TRADING") && strcmp(y->name, "BTCUSDT") && strcmp(y->name, "ETHUSDT"))
            alt = y->name;
    }
    CHECK(alt != NULL);
    snprintf(q, sizeof q, "symbol=%s", alt ? alt : "");
    CHECK(req(&w, "GET", "/fapi/v1/leverageBracket", q, T0, &body) == 200);
    CHECK(alt && json_array_size(json_object_get(body, "brackets")) == 9 &&
          brackets_served(body, sim_market_find(w.m, alt)));
    json_decref(body);
    snprintf(q, sizeof q, "symbol=%s&leverage=51", alt ? alt : "");
    CHECK(req_code(&w, "POST", "/fapi/v1/leverage", q, T0) == -4028);
    snprintf(q, sizeof q, "symbol=%s&leverage=25", alt ? alt : "");
    CHECK(req(&w, "POST", "/fapi/v1/leverage", q, T0, &body) == 200);
    CHECK_EQ_STR(sget(body, "maxNotionalValue"), "25000");
    json_decref(body);
    world_close(&w);
}

static int admin_income(struct world *w, const char *type, const char *amount, int64_t now)
{
    struct sim_params p;
    struct sim_reply r;
    char q[128];
    int st;
    memset(&p, 0, sizeof p);
    snprintf(q, sizeof q, "type=%s&amount=%s", type, amount);
    if (sim_params_parse(&p, q, "")) return -1;
    st = sim_engine_admin_event(w->e, "main", "income", &p, now, &r);
    json_decref(r.body);
    sim_params_free(&p);
    return st;
}

static void test_income_rules(void)
{
    static const char *const types[] = {
        "TRANSFER", "WELCOME_BONUS", "FUNDING_FEE", "INSURANCE_CLEAR", "REFERRAL_KICKBACK",
        "COMMISSION_REBATE", "API_REBATE", "CONTEST_REWARD", "INTERNAL_TRANSFER", "FEE_RETURN"};
    struct world w;
    json_t *rows;
    char q[128];
    world_open(&w, 0, 0);
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        CHECK(admin_income(&w, types[i], "1.5", T0 + (int64_t)i) == 200);
        snprintf(q, sizeof q, "incomeType=%s", types[i]);
        CHECK(req(&w, "GET", "/fapi/v1/income", q, T0 + 100, &rows) == 200);
        CHECK(json_array_size(rows) == 1);
        CHECK(json_integer_value(json_object_get(json_array_get(rows, 0), "tranId")) > (1LL << 53));
        json_decref(rows);
    }
    CHECK(admin_income(&w, "NO_SUCH_TYPE", "1", T0) == 400);
    CHECK(admin_income(&w, "COMMISSION", "1", T0) == 400);
    CHECK(req_code(&w, "GET", "/fapi/v1/income", "incomeType=NO_SUCH_TYPE", T0 + 100) == -1102);
    /* a valid type nothing booked: [] */
    CHECK(req(&w, "GET", "/fapi/v1/income", "incomeType=BFUSD_REWARD", T0 + 100, &rows) == 200);
    CHECK(json_array_size(rows) == 0);
    json_decref(rows);
    /* page walks forward through the window, oldest first */
    for (int i = 0; i < 5; i++) CHECK(admin_income(&w, "WELCOME_BONUS", "2", T0 + 200 + i) == 200);
    int64_t seen[6] = {0};
    int n = 0;
    for (int page = 1; page <= 3; page++) {
        snprintf(q, sizeof q, "incomeType=WELCOME_BONUS&limit=2&page=%d", page);
        CHECK(req(&w, "GET", "/fapi/v1/income", q, T0 + 1000, &rows) == 200);
        CHECK((int)json_array_size(rows) == (page < 3 ? 2 : 2)); /* 6 rows: 1 + 5 */
        for (size_t i = 0; i < json_array_size(rows) && n < 6; i++)
            seen[n++] = json_integer_value(json_object_get(json_array_get(rows, i), "time"));
        json_decref(rows);
    }
    CHECK(n == 6 && seen[0] == T0 + 1 && seen[5] == T0 + 204);
    for (int i = 1; i < n; i++) CHECK(seen[i] > seen[i - 1]);
    CHECK(req(&w, "GET", "/fapi/v1/income", "incomeType=WELCOME_BONUS&limit=2&page=4", T0 + 1000,
              &rows) == 200);
    CHECK(json_array_size(rows) == 0);
    json_decref(rows);
    /* retention: income rows go after 3 months of sim time */
    sim_engine_tick(w.e, T0 + 89 * 86400000LL);
    CHECK(req(&w, "GET", "/fapi/v1/income", "startTime=0", T0 + 89 * 86400000LL, &rows) == 200);
    CHECK(json_array_size(rows) == 15);
    json_decref(rows);
    sim_engine_tick(w.e, T0 + 91 * 86400000LL);
    CHECK(req(&w, "GET", "/fapi/v1/income", "startTime=0", T0 + 91 * 86400000LL, &rows) == 200);
    CHECK(json_array_size(rows) == 0);
    json_decref(rows);
    world_close(&w);
}

/* Places a resting BUY LIMIT far under the market; returns its orderId. */
static int64_t rest_buy(struct world *w, const struct sim_symbol *s, int64_t now)
{
    struct sim_book b;
    char q[256], qs[DEC_STR_MAX], ps[DEC_STR_MAX];
    json_t *body;
    int64_t id;
    struct dec ticks_10pct;
    sim_market_book(w->m, s->index, now, &b);
    /* 10 % below the bid (PERCENT_PRICE allows 15 %): out of reach of the trade flow and, in a
     * calm market, of the path for the 100 days the retention checks need */
    CHECK(dec_div(b.bid, eng_mul(s->filters.tick, dec_from_int(10), 8), 0, DEC_ROUND_DOWN,
                  &ticks_10pct) == DEC_OK);
    fmt(tick_mul(s, b.bid, -(int)ticks_10pct.units), ps);
    fmt(qty_for(s, b.bid, 100), qs);
    snprintf(q, sizeof q, "symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=%s&price=%s",
             s->name, qs, ps);
    CHECK(req(w, "POST", "/fapi/v1/order", q, now, &body) == 200);
    id = json_integer_value(json_object_get(body, "orderId"));
    json_decref(body);
    return id;
}

/* Funding every interval of sim time, also across a jump of the clock. */
static void test_funding_catch_up(void)
{
    struct world w;
    json_t *rows;
    int want = 0;
    world_open(&w, 0, 1000);
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    go_long(&w, s, T0);
    sim_engine_tick(w.e, T0 + 10);
    for (int k = 1; k <= 3; k++)
        want += !dec_is_zero(sim_market_funding_rate(w.m, s->index, T0 / 1000 * 1000 + k * 1000));
    sim_engine_tick(w.e, T0 + 3010); /* three funding times passed in one step */
    CHECK(req(&w, "GET", "/fapi/v1/income", "incomeType=FUNDING_FEE", T0 + 3020, &rows) == 200);
    CHECK(want > 0 && (int)json_array_size(rows) == want);
    json_decref(rows);
    world_close(&w);
}

static void test_order_history_rules(void)
{
    struct world w;
    char q[256];
    json_t *body;
    int64_t ids[5];
    const int64_t day = 86400000LL;
    world_volatility = 0.01; /* a calm market: the resting orders stay open for 100 days */
    world_open(&w, 0, 0);
    world_volatility = 0;
    const struct sim_symbol *s = pick(&w, -1, -1);
    if (!s) return;
    for (int i = 0; i < 5; i++) ids[i] = rest_buy(&w, s, T0 + i);
    /* over-full window: the most recent `limit`, oldest first */
    snprintf(q, sizeof q, "symbol=%s&limit=2", s->name);
    CHECK(req(&w, "GET", "/fapi/v1/allOrders", q, T0 + 10, &body) == 200);
    CHECK(json_array_size(body) == 2 &&
          json_integer_value(json_object_get(json_array_get(body, 0), "orderId")) == ids[3] &&
          json_integer_value(json_object_get(json_array_get(body, 1), "orderId")) == ids[4]);
    json_decref(body);
    /* orderId: the first `limit` from it */
    snprintf(q, sizeof q, "symbol=%s&limit=2&orderId=%lld", s->name, (long long)ids[1]);
    CHECK(req(&w, "GET", "/fapi/v1/allOrders", q, T0 + 10, &body) == 200);
    CHECK(json_array_size(body) == 2 &&
          json_integer_value(json_object_get(json_array_get(body, 0), "orderId")) == ids[1]);
    json_decref(body);
    snprintf(q, sizeof q, "symbol=%s&startTime=%lld&endTime=%lld", s->name, (long long)T0,
             (long long)(T0 + 8 * day));
    CHECK(req_code(&w, "GET", "/fapi/v1/allOrders", q, T0 + 10) == -1127);
    snprintf(q, sizeof q, "symbol=%s&startTime=%lld&endTime=%lld", s->name, (long long)T0,
             (long long)(T0 + 8 * day));
    CHECK(req_code(&w, "GET", "/fapi/v1/allAlgoOrders", q, T0 + 10) == -1127);
    /* default window: the last 7 days */
    snprintf(q, sizeof q, "symbol=%s", s->name);
    CHECK(req(&w, "GET", "/fapi/v1/allOrders", q, T0 + 8 * day, &body) == 200);
    CHECK(json_array_size(body) == 0);
    json_decref(body);
    snprintf(q, sizeof q, "symbol=%s&startTime=%lld", s->name, (long long)T0);
    CHECK(req(&w, "GET", "/fapi/v1/allOrders", q, T0 + 8 * day, &body) == 200);
    CHECK(json_array_size(body) == 5);
    json_decref(body);
    /* retention: a cancelled order without fill is gone after 3 days, open ones stay */
    snprintf(q, sizeof q, "symbol=%s&orderId=%lld", s->name, (long long)ids[0]);
    CHECK(req_code(&w, "DELETE", "/fapi/v1/order", q, T0 + 20) == 0);
    sim_engine_tick(w.e, T0 + 20 + 2 * day);
    CHECK(req_code(&w, "GET", "/fapi/v1/order", q, T0 + 20 + 2 * day) == 0);
    sim_engine_tick(w.e, T0 + 21 + 3 * day);
    CHECK(req_code(&w, "GET", "/fapi/v1/order", q, T0 + 21 + 3 * day) == -2013);
    snprintf(q, sizeof q, "symbol=%s&orderId=%lld", s->name, (long long)ids[1]);
    sim_engine_tick(w.e, T0 + 100 * day);
    CHECK(req_code(&w, "GET", "/fapi/v1/order", q, T0 + 100 * day) == 0); /* still open */
    world_close(&w);
}

int main(void)
{
    test_round_trip();
    test_limit_resting();
    test_rejects();
    test_max_orders_and_batches();
    test_algo_stop();
    test_algo_history_bounded();
    test_classic_stop();
    test_funding_and_admin();
    test_determinism();
    test_queue_and_partial();
    test_market_walks_book();
    test_market_protect();
    test_mark_trigger();
    test_liquidation();
    test_price_protect();
    test_algo_event_order();
    test_algo_validation();
    test_account_modes();
    test_income_rules();
    test_order_history_rules();
    test_funding_catch_up();
    return th_done();
}
