/* test_account_orders: the open orders of `bfq userstream`, against `bfq sim` and a real
 * redis-server (ACL users), with the openOrders poll every 300 ms.
 *
 * 1. Orders are keyed by symbol and client id: a real BTCUSDT order "dup1" and an ETHUSDT
 *    order with the same client id (injected into the stream: the simulator, like Binance for
 *    one symbol, refuses a duplicate among open orders) are two records; when the ETHUSDT one
 *    is canceled the BTCUSDT one stays, also through later polls.
 * 2. The poll sends only what changed, in capped batches. Every Redis command is logged
 *    (SLOWLOG with a 0 µs threshold), so the test sees each FCALL bfq_merge on the orders
 *    hash and its record count:
 *    - 250 resting orders placed while the poll runs: no FCALL carries more than 200 records;
 *    - then several idle polls: no FCALL on the orders hash at all;
 *    - one new order: the poll sends exactly one record for it;
 *    - the userstream's Redis connections killed (CLIENT KILL): after the reconnect the poll
 *      sends every open order again, once, 200 records per FCALL at most. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "tests/harness/harness.h"
#include "tests/harness/testbinance.h"

#define KEY "h8orderskey0123456789"
#define SECRET "h8orderssecret0123456789abcdef"
#define ORDERS "bfq:acct:main:orders"
#define N_BTC 200
#define N_ETH 50

static redisContext *rc;
static struct tb_account simacct;
static char sim_url[128];

static long long hb_num(const char *name)
{
    return tb_hb_num(rc, "userstream", "us", name);
}

struct at_least {
    const char *name;
    long long min;
};

static int hb_reached(void *arg)
{
    const struct at_least *w = arg;
    return hb_num(w->name) >= w->min;
}

/* Waits until n openOrders polls have completed after the call. The heartbeat is renewed
 * every second, so the count read now may be a second old: first a heartbeat written after
 * the call (its count is higher), then n polls more than it shows. */
static void wait_polls(int n)
{
    struct at_least w = {"order_polls", hb_num("order_polls") + 1};
    CHECK(th_wait_until(hb_reached, &w, 8000));
    w.min = hb_num("order_polls") + n;
    CHECK(th_wait_until(hb_reached, &w, 8000 + 1000 * n));
}

static int field_present(void *arg)
{
    char *v = tb_hget(rc, ORDERS, arg);
    free(v);
    return v != NULL;
}

static int field_absent(void *arg)
{
    return !field_present(arg);
}

static void inject(const char *text)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/_sim/ws/inject?account=main", sim_url);
    CHECK(th_http("POST", url, text, NULL, &body) == 200 && body && !strstr(body, "\"sent\":0"));
    free(body);
}

static void inject_eth(const char *status, long long e)
{
    char ev[1024];
    snprintf(ev, sizeof ev,
             "{\"e\":\"ORDER_TRADE_UPDATE\",\"E\":%lld,\"T\":%lld,\"o\":{\"s\":\"ETHUSDT\","
             "\"c\":\"dup1\",\"S\":\"SELL\",\"o\":\"LIMIT\",\"f\":\"GTC\",\"q\":\"1.000\","
             "\"p\":\"9000.00\",\"ap\":\"0\",\"sp\":\"0\",\"x\":\"%s\",\"X\":\"%s\","
             "\"i\":77000001,\"l\":\"0\",\"z\":\"0\",\"L\":\"0\",\"T\":%lld,\"t\":0,\"b\":\"0\","
             "\"a\":\"0\",\"m\":false,\"R\":false,\"wt\":\"CONTRACT_PRICE\",\"ot\":\"LIMIT\","
             "\"ps\":\"BOTH\",\"cp\":false,\"rp\":\"0\",\"pP\":false,\"si\":0,\"ss\":0,"
             "\"V\":\"NONE\",\"pm\":\"NONE\",\"gtd\":0}}",
             e, e, status, status, e);
    inject(ev);
}

static long place(const char *sym, const char *price, const char *qty, const char *cid)
{
    char params[256], *body = NULL;
    snprintf(params, sizeof params,
             "symbol=%s&side=BUY&type=LIMIT&timeInForce=GTC&quantity=%s&price=%s&"
             "newClientOrderId=%s",
             sym, qty, price, cid);
    long code = tb_signed(&simacct, "POST", "/fapi/v1/order", params, &body);
    if (code != 200) fprintf(stderr, "# order %s %s: %ld %s\n", sym, cid, code, body ? body : "");
    free(body);
    return code;
}

static void phase_same_cid(void)
{
    CHECK(place("BTCUSDT", "1000.0", "0.100", "dup1") == 200);
    CHECK(th_wait_until(field_present, "BTCUSDT:dup1", 5000));
    inject_eth("NEW", (long long)th_now_ms());
    CHECK(th_wait_until(field_present, "ETHUSDT:dup1", 5000));
    char *bs = tb_hget_member(rc, ORDERS, "BTCUSDT:dup1", "symbol");
    char *es = tb_hget_member(rc, ORDERS, "ETHUSDT:dup1", "symbol");
    CHECK_EQ_STR(bs, "BTCUSDT");
    CHECK_EQ_STR(es, "ETHUSDT");
    free(bs);
    free(es);
    inject_eth("CANCELED", (long long)th_now_ms());
    CHECK(th_wait_until(field_absent, "ETHUSDT:dup1", 5000));
    wait_polls(3);
    char *st = tb_hget_member(rc, ORDERS, "BTCUSDT:dup1", "status");
    bs = tb_hget_member(rc, ORDERS, "BTCUSDT:dup1", "symbol");
    CHECK_EQ_STR(st, "NEW"); /* the other symbol's order is still open */
    CHECK_EQ_STR(bs, "BTCUSDT");
    free(st);
    free(bs);
    CHECK(!field_present("dup1"));
    char *body = NULL;
    CHECK(tb_signed(&simacct, "DELETE", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=dup1",
                    &body) == 200);
    free(body);
    CHECK(th_wait_until(field_absent, "BTCUSDT:dup1", 5000));
}

/* The FCALL bfq_merge calls on the orders hash in the slow log since the last reset: their
 * count, the records of the largest and their total. */
struct merges {
    long long calls, max_records, records;
};

static struct merges orders_merges(void)
{
    struct merges m = {0, 0, 0};
    redisReply *r = redisCommand(rc, "SLOWLOG GET -1");
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 4) continue;
        const redisReply *a = e->element[3];
        if (a->type != REDIS_REPLY_ARRAY || a->elements < 8 ||
            strcasecmp(a->element[0]->str, "FCALL") || strcmp(a->element[1]->str, "bfq_merge") ||
            strcmp(a->element[3]->str, ORDERS))
            continue;
        long long argc = (long long)a->elements;
        const char *last = a->element[a->elements - 1]->str;
        long long more = 0;
        if (sscanf(last, "... (%lld more arguments)", &more) == 1) argc = 31 + more;
        long long recs = (argc - 8) / 5;
        m.calls++;
        m.records += recs;
        if (recs > m.max_records) m.max_records = recs;
    }
    if (r) freeReplyObject(r);
    return m;
}

static void slowlog_reset(void)
{
    freeReplyObject(redisCommand(rc, "SLOWLOG RESET"));
}

static struct merges want_records;
static int resent(void *arg)
{
    (void)arg;
    return orders_merges().records >= want_records.records;
}

static int all_open(void *arg)
{
    (void)arg;
    return tb_hlen(rc, ORDERS) == N_BTC + N_ETH;
}

static void phase_batches(void)
{
    freeReplyObject(redisCommand(rc, "CONFIG SET slowlog-max-len 100000"));
    freeReplyObject(redisCommand(rc, "CONFIG SET slowlog-log-slower-than 0"));
    slowlog_reset();
    char cid[32], price[32];
    long bad = 0;
    for (int i = 0; i < N_BTC + N_ETH; i++) {
        snprintf(cid, sizeof cid, "bk%03d", i);
        int btc = i < N_BTC;
        snprintf(price, sizeof price, btc ? "1%03d.0" : "5%02d.00", btc ? i : i - N_BTC);
        if (place(btc ? "BTCUSDT" : "ETHUSDT", price, btc ? "0.100" : "0.300", cid) != 200) bad++;
    }
    CHECK(bad == 0);
    CHECK(th_wait_until(all_open, NULL, 8000));
    wait_polls(3);
    CHECK(tb_hlen(rc, ORDERS) == N_BTC + N_ETH);
    struct merges m = orders_merges();
    fprintf(stderr, "# placing %d orders: %lld FCALLs on the orders hash, largest %lld records\n",
            N_BTC + N_ETH, m.calls, m.max_records);
    CHECK(m.max_records <= 200);

    slowlog_reset();
    long long rec0 = hb_num("orders_poll_records");
    wait_polls(4);
    m = orders_merges();
    fprintf(stderr, "# 4 idle polls: %lld FCALLs, %lld records\n", m.calls, m.records);
    CHECK(m.calls == 0);
    CHECK(hb_num("orders_poll_records") == rec0);

    CHECK(place("ETHUSDT", "600.00", "0.300", "bknew") == 200);
    CHECK(th_wait_until(field_present, "ETHUSDT:bknew", 5000));
    wait_polls(3);
    fprintf(stderr, "# one new order: the poll sent %lld records\n",
            hb_num("orders_poll_records") - rec0);
    CHECK(hb_num("orders_poll_records") - rec0 == 1);

    /* a Redis reconnect: everything once more */
    slowlog_reset();
    long long polls0 = hb_num("order_polls");
    freeReplyObject(redisCommand(rc, "CLIENT KILL USER account"));
    want_records.records = N_BTC + N_ETH + 1;
    CHECK(th_wait_until(resent, NULL, 8000));
    m = orders_merges();
    fprintf(stderr, "# after a reconnect: %lld FCALLs, %lld records, largest %lld (polls %lld)\n",
            m.calls, m.records, m.max_records, hb_num("order_polls") - polls0);
    CHECK(m.max_records == 200 && m.calls >= 2); /* 251 records: 200, then 51 */
    slowlog_reset();
    wait_polls(3);
    m = orders_merges();
    CHECK(m.calls == 0);
    freeReplyObject(redisCommand(rc, "CONFIG SET slowlog-log-slower-than 10000"));
}

int main(void)
{
    struct th_redis r;
    struct th_sim s;
    simacct = (struct tb_account){NULL, KEY, SECRET};
    rc = tb_start(&r, &s, &simacct, "main:" KEY ":" SECRET ":100000");
    CHECK(rc != NULL);
    if (!rc) return th_done();
    snprintf(sim_url, sizeof sim_url, "%s", s.url);
    char conf[512];
    snprintf(conf, sizeof conf, "%s/bfq.ini", th_tmpdir());
    CHECK(tb_write_config(conf, &r, &simacct, "[userstream]\norders_every = 300ms\n") == 0);
    pid_t us = tb_spawn_role(conf, "userstream", "us");
    struct at_least c = {"connected", 1};
    CHECK(th_wait_until(hb_reached, &c, 8000));

    phase_same_cid();
    phase_batches();

    CHECK(th_alive(us));
    int st = th_stop(us, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    redisFree(rc);
    th_sim_stop(&s);
    th_redis_stop(&r);
    return th_done();
}
