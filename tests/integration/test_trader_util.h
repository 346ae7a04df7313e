/* test_trader_util: helpers shared by the test_trader_* integration tests: intents appended as
 * any strategy would (XADD), outcomes read back from bfq:intent:main:<id>, and orders counted
 * at the exchange (the simulator's allOrders) by client order id, checked against the symbol's
 * filters, and the simulator's clock moved to a bar edge. Header-only (static). */
#ifndef BFQ_TEST_TRADER_UTIL_H
#define BFQ_TEST_TRADER_UTIL_H

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/testbinance.h"
#include "tests/harness/weightlog.h"
#include "tests/integration/test_collect_util.h"
#include "trader/book.h"

#define TT_KEY "h8traderkey0123456789"
#define TT_SECRET "h8tradersecret0123456789abcdef"

static struct tb_account tt_acct;

/* Appends an intent: "k=v" strings, NULL-terminated; t (now) is added unless given. */
static __attribute__((unused)) void tt_intent(const char *first, ...)
{
    const char *argv[64];
    char kv[32][160], tbuf[32];
    int n = 0, k = 0, has_t = 0;
    argv[n++] = "XADD";
    argv[n++] = "bfq:intents:main";
    argv[n++] = "*";
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s && k < 30; s = va_arg(ap, const char *), k++) {
        snprintf(kv[k], sizeof kv[k], "%s", s);
        char *eq = strchr(kv[k], '=');
        if (!eq) continue;
        *eq = '\0';
        if (!strcmp(kv[k], "t")) has_t = 1;
        argv[n++] = kv[k];
        argv[n++] = eq + 1;
    }
    va_end(ap);
    if (!has_t) {
        snprintf(tbuf, sizeof tbuf, "%lld", (long long)th_now_ms());
        argv[n++] = "t";
        argv[n++] = tbuf;
    }
    redisReply *r = redisCommandArgv(cu_adm, n, argv, NULL);
    CHECK(r && r->type == REDIS_REPLY_STRING);
    if (r) freeReplyObject(r);
}

struct tt_wait {
    const char *id;
    json_t *out;
};

static int tt_final(void *arg)
{
    struct tt_wait *w = arg;
    char *s = cu_str("GET bfq:intent:main:%s", w->id);
    json_t *o = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    const char *st = json_string_value(json_object_get(o, "status"));
    if (st && strcmp(st, "claimed")) {
        w->out = o;
        return 1;
    }
    json_decref(o);
    return 0;
}

/* The final outcome of intent id (new reference), or NULL after ms. */
static __attribute__((unused)) json_t *tt_outcome(const char *id, int ms)
{
    struct tt_wait w = {id, NULL};
    th_wait_until(tt_final, &w, ms);
    if (!w.out) fprintf(stderr, "# no outcome for intent %s\n", id);
    return w.out;
}

/* Nonzero when intent id ended with status (and, when msg is not NULL, that msg). */
static __attribute__((unused)) int tt_is(const char *id, const char *status, const char *msg,
                                         int ms)
{
    json_t *o = tt_outcome(id, ms);
    const char *st = json_string_value(json_object_get(o, "status"));
    const char *m = json_string_value(json_object_get(o, "msg"));
    int ok = st && !strcmp(st, status) && (!msg || (m && !strcmp(m, msg)));
    if (!ok)
        fprintf(stderr, "# intent %s: want %s %s, got %s %s\n", id, status, msg ? msg : "",
                st ? st : "(none)", m ? m : "");
    json_decref(o);
    return ok;
}

/* Orders the exchange holds for symbol with that client id (any status); -1 on error.
 * qty_out (may be NULL) receives the origQty of the last one. */
static __attribute__((unused)) int tt_orders(const char *sym, const char *cid, char *qty_out,
                                             size_t cap)
{
    char params[128], *body = NULL;
    snprintf(params, sizeof params, "symbol=%s&limit=1000", sym);
    long code = tb_signed(&tt_acct, "GET", "/fapi/v1/allOrders", params, &body);
    json_t *a = code == 200 && body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    if (!json_is_array(a)) {
        json_decref(a);
        return -1;
    }
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "clientOrderId"));
        if (!c || strcmp(c, cid)) continue;
        n++;
        const char *q = json_string_value(json_object_get(e, "origQty"));
        if (qty_out && q) snprintf(qty_out, cap, "%s", q);
    }
    json_decref(a);
    return n;
}

/* A number from a heartbeat JSON (role, instance), -1 when absent. */
static __attribute__((unused)) long long tt_hb(const char *role, const char *inst, const char *name)
{
    char *s = cu_str("GET bfq:hb:%s:%s", role, inst);
    json_t *o = s ? json_loads(s, 0, NULL) : NULL;
    json_t *v = json_object_get(o, name);
    long long n = json_is_integer(v) ? json_integer_value(v) : -1;
    if (n < 0)
        fprintf(stderr, "# heartbeat %s:%s has no %s: %.300s\n", role, inst, name,
                s ? s : "(none)");
    free(s);
    json_decref(o);
    return n;
}

static int tt_has_tick(void *arg)
{
    char *s = cu_str("HGET bfq:ticks %s", (const char *)arg);
    free(s);
    return s != NULL;
}

/* Waits for a book ticker of sym in Redis. */
static __attribute__((unused)) int tt_wait_tick(const char *sym, int ms)
{
    return th_wait_until(tt_has_tick, (void *)sym, ms);
}

/* The one-way position amount of sym in bfq:acct:main:pos ("" when none), in a static
 * buffer valid until the next call. */
static __attribute__((unused)) const char *tt_amt(const char *sym)
{
    static char buf[64];
    char field[64];
    snprintf(field, sizeof field, "%s:BOTH", sym);
    char *v = tb_hget_member(cu_adm, "bfq:acct:main:pos", field, "amt");
    snprintf(buf, sizeof buf, "%s", v ? v : "");
    free(v);
    return buf;
}

/* th_wait_until predicates on the position of the symbol passed as arg. */
static __attribute__((unused)) int tt_long(void *sym)
{
    const char *a = tt_amt(sym);
    return a[0] && a[0] != '-' && !tb_dec_eq(a, "0");
}

static __attribute__((unused)) int tt_flat(void *sym)
{
    return tb_dec_eq(tt_amt(sym), "0");
}

/* The heartbeat of trader instance inst, parsed; NULL when absent. */
static __attribute__((unused)) json_t *tt_trader_hb(const char *inst)
{
    char *s = cu_str("GET bfq:hb:trader:%s", inst);
    json_t *o = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    return o;
}

/* th_wait_until predicate: trader instance arg has its book loaded and no stale symbol. */
static __attribute__((unused)) int tt_trader_ready(void *arg)
{
    json_t *o = tt_trader_hb(arg);
    int ok = json_is_true(json_object_get(o, "ready")) &&
             json_integer_value(json_object_get(o, "stale")) == 0;
    json_decref(o);
    return ok;
}

/* The trader's heartbeat flag account_stale: 1, 0, or -1 when absent. */
static __attribute__((unused)) int tt_account_stale(const char *inst)
{
    json_t *o = tt_trader_hb(inst);
    json_t *v = json_object_get(o, "account_stale");
    int r = json_is_boolean(v) ? json_is_true(v) : -1;
    json_decref(o);
    return r;
}

/* Signals the trader skipped for reason (its heartbeat's "skipped"), 0 when none. */
static __attribute__((unused)) long long tt_skips(const char *inst, const char *reason)
{
    json_t *o = tt_trader_hb(inst);
    json_t *v = json_object_get(json_object_get(o, "skipped"), reason);
    long long n = json_is_integer(v) ? json_integer_value(v) : 0;
    json_decref(o);
    return n;
}

/* Entries of bfq:intents:main, -1 on error. */
static __attribute__((unused)) long long tt_intents(void)
{
    redisReply *r = cu_cmd("XLEN bfq:intents:main");
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return n;
}

/* A price 20 % under sym's best bid, on its tick, into buf: a BUY LIMIT there rests. */
static __attribute__((unused)) int tt_low_price(const char *sym, char *buf, size_t cap)
{
    char field[64];
    snprintf(field, sizeof field, "bfq:symbol:%s", sym);
    char *bid = tb_hget_member(cu_adm, "bfq:ticks", sym, "b");
    char *tick = tb_hget(cu_adm, field, "tickSize");
    struct dec b, t, p;
    int ok = bid && tick && dec_parse(bid, (size_t)-1, &b) == DEC_OK &&
             dec_parse(tick, (size_t)-1, &t) == DEC_OK &&
             dec_mul(b, (struct dec){8, 1}, &p) == DEC_OK &&
             dec_snap_to_tick(p, t, (struct dec){0, 0}, DEC_ROUND_DOWN, &p) == DEC_OK &&
             dec_format_trim(p, buf, cap) > 0;
    free(bid);
    free(tick);
    return ok ? 0 : -1;
}

/* Places a resting BUY LIMIT of qty on sym at the exchange, 20 % under the bid, with client
 * id cid (directly, as an outside client would). Returns 0, or -1. */
static __attribute__((unused)) int tt_rest(const char *sym, const char *cid, const char *qty)
{
    char low[64], params[256];
    if (tt_low_price(sym, low, sizeof low) < 0) return -1;
    snprintf(params, sizeof params,
             "symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=%s&price=%s"
             "&newClientOrderId=%s",
             sym, qty, low, cid);
    return tb_signed(&tt_acct, "POST", "/fapi/v1/order", params, NULL) == 200 ? 0 : -1;
}

/* The trading state of account main ("(none)" without the key), in a static buffer. */
static __attribute__((unused)) const char *tt_state(void)
{
    static char st[32];
    char *s = tb_hget(cu_adm, "bfq:risk:state:main", "state");
    snprintf(st, sizeof st, "%s", s ? s : "(none)");
    free(s);
    return st;
}

/* The filters of sym as `bfq symbols` stored them. */
static __attribute__((unused)) int tt_filters(const char *sym, struct dec_filters *f)
{
    redisReply *r = cu_cmd("HGETALL bfq:symbol:%s", sym);
    const char *kv[64];
    size_t n = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && n < 64; i++)
        kv[n++] = r->element[i]->str;
    int rc = book_parse_filters(kv, n, f, NULL, 0);
    if (r) freeReplyObject(r);
    return rc;
}

/* Every order of sym at the exchange whose client id begins with prefix, as a JSON array
 * (new reference; empty on error). */
static __attribute__((unused)) json_t *tt_orders_like(const char *sym, const char *prefix)
{
    char params[128], *body = NULL;
    snprintf(params, sizeof params, "symbol=%s&limit=1000", sym);
    tb_signed(&tt_acct, "GET", "/fapi/v1/allOrders", params, &body);
    json_t *a = body ? json_loads(body, 0, NULL) : NULL, *out = json_array();
    free(body);
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "clientOrderId"));
        if (c && !strncmp(c, prefix, strlen(prefix))) json_array_append(out, e);
    }
    json_decref(a);
    return out;
}

/* Nonzero when order o (an allOrders entry) is FILLED, obeys every filter in f at its fill
 * price as a MARKET order, and is reduce-only exactly when reduce is set. */
static __attribute__((unused)) int tt_order_obeys(const json_t *o, const struct dec_filters *f,
                                                  int reduce)
{
    struct dec qty, px;
    const char *q = json_string_value(json_object_get(o, "origQty"));
    const char *p = json_string_value(json_object_get(o, "avgPrice"));
    const char *st = json_string_value(json_object_get(o, "status"));
    if (!q || !p || dec_parse(q, (size_t)-1, &qty) != DEC_OK ||
        dec_parse(p, (size_t)-1, &px) != DEC_OK)
        return 0;
    fprintf(stderr, "# order %s qty %s at %s: %s\n",
            json_string_value(json_object_get(o, "clientOrderId")), q, p, st ? st : "?");
    return st && !strcmp(st, "FILLED") && dec_check_order(f, px, qty, 1, reduce) == DEC_CHECK_OK &&
           json_is_true(json_object_get(o, "reduceOnly")) == reduce;
}

static int64_t tt_sim_offset_ms; /* the simulator's clock minus the wall clock, as set here */

/* Moves the simulator's clock forward to second `second` of its next minute: a bar edge now
 * instead of up to a minute from now. The test's own signed requests follow it. */
static __attribute__((unused)) void tt_sim_next_minute_at(int second)
{
    int64_t now = th_sim_time(cu_sim.url);
    CHECK(now > 0);
    int64_t target = (now / 60000 + 1) * 60000 + second * 1000;
    char q[96];
    tt_sim_offset_ms += target - now;
    tb_clock_offset_ms = tt_sim_offset_ms;
    snprintf(q, sizeof q, "/_sim/clock?offset_ms=%lld", (long long)tt_sim_offset_ms);
    CHECK(cu_sim_admin("POST", q) == 200);
}

/* Waits until the simulator's second within the minute is in [lo, hi]. */
static __attribute__((unused)) void tt_sim_wait_second(int lo, int hi)
{
    for (int i = 0; i < 1300; i++) {
        int s = (int)((th_sim_time(cu_sim.url) / 1000) % 60);
        if (s >= lo && s <= hi) return;
        th_sleep_ms(100);
    }
}

enum { TT_KLINE = 1, TT_USERSTREAM = 2 };

/* The stack every trading test stands on: redis-server with the ACL users, `bfq sim` with that
 * many symbols (tt_stack: 10) and account main (key TT_KEY), the symbols written once, and a
 * tick collector (source 127.0.0.2, 4 a second); with TT_KLINE a kline collector (127.0.0.3), with
 * TT_USERSTREAM the user-data stream (positions). The key and secret are put in the
 * environment of every role spawned later. The collectors' pids go to pids (up to 3); returns
 * their count, or -1 when Redis or the simulator did not start. */
static __attribute__((unused)) int tt_stack_n(unsigned what, pid_t *pids, const char *symbols)
{
    char acct[128];
    int n = 0;
    snprintf(acct, sizeof acct, "main:%s:%s:100000", TT_KEY, TT_SECRET);
    const char *simargs[] = {"--symbols", symbols, "--account", acct, NULL};
    if (cu_redis_start() < 0 || th_sim_start(&cu_sim, simargs) < 0) {
        fprintf(stderr, "cannot start redis or the simulator\n");
        return -1;
    }
    tt_acct = (struct tb_account){cu_sim.url, TT_KEY, TT_SECRET};
    setenv("BFQ_ACCOUNT_MAIN_API_KEY", TT_KEY, 1);
    setenv("BFQ_ACCOUNT_MAIN_API_SECRET", TT_SECRET, 1);
    const char *once[] = {"--once", NULL};
    CHECK(cu_run("symbols", NULL, cu_sim.url, once, NULL, 30000) == 0);
    const char *targs[] = {"--source-ip", "127.0.0.2", "--rate", "4", "--instance", "t0", NULL};
    const char *kargs[] = {"--source-ip", "127.0.0.3", "--rate", "8", "--instance", "k0", NULL};
    const char *uargs[] = {"--instance", "us", NULL};
    pids[n++] = cu_spawn("tick", NULL, targs);
    if (what & TT_KLINE) pids[n++] = cu_spawn("kline", NULL, kargs);
    if (what & TT_USERSTREAM) pids[n++] = cu_spawn("userstream", "account", uargs);
    CHECK(tt_wait_tick("ETHUSDT", 10000) && tt_wait_tick("BTCUSDT", 10000));
    return n;
}

/* tt_stack with that many symbols in the simulator (tt_stack: 10). */
static __attribute__((unused)) int tt_stack(unsigned what, pid_t *pids)
{
    return tt_stack_n(what, pids, "10");
}

#endif
