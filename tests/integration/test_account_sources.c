/* test_account_sources: the three account sources against `bfq sim` and a real redis-server
 * with the project's ACL users.
 *
 * A MARKET order opened through the simulator must show in bfq:acct:main:pos and in each
 * source's own view (account, positionrisk, userstream), converge, and go back to amt "0"
 * everywhere when closed; the USDT balance must equal the simulator's wallet exactly after
 * fills and commission, and its available balance must follow the fill to the simulator's
 * current availableBalance (REST times it by the request's send time, so the stream's newer
 * ACCOUNT_UPDATE, which has no available balance, does not freeze it); an order shows in bfq:acct:main:orders and leaves it when canceled; an
 * order the exchange does not have is removed by the openOrders poll; and the watchdog flags
 * silent sources and publishes stale when every source is stopped. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "tests/harness/testbinance.h"

#define KEY "h8testkey0123456789"
#define SECRET "h8testsecret0123456789abcdef"

static redisContext *rc;
static struct tb_account simacct;
static const char *const sources[] = {"account", "positionrisk", "userstream"};

static int views_amt_is(void *arg)
{
    const char *want = arg;
    char *p = tb_hget_member(rc, "bfq:acct:main:pos", "BTCUSDT:BOTH", "amt");
    int ok = p && !strcmp(p, want);
    free(p);
    for (int i = 0; ok && i < 3; i++) {
        char key[64];
        snprintf(key, sizeof key, "bfq:acct:main:view:%s", sources[i]);
        char *v = tb_hget_member(rc, key, "BTCUSDT:BOTH", "amt");
        ok = v && !strcmp(v, want);
        free(v);
    }
    return ok;
}

static int sources_seen(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        char key[64];
        snprintf(key, sizeof key, "bfq:acct:main:src:%s", sources[i]);
        char *s = tb_hget(rc, key, "seen");
        int ok = s && strtoll(s, NULL, 10) > th_now_ms() - 3000;
        free(s);
        if (!ok) return 0;
    }
    return 1;
}

/* Member `name` of the simulator's own USDT asset in GET /fapi/v2/account (malloc'd). */
static char *sim_usdt(const char *name)
{
    char *body = NULL;
    if (tb_signed(&simacct, "GET", "/fapi/v2/account", NULL, &body) != 200) {
        free(body);
        return NULL;
    }
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", name);
    const char *p = strstr(body, "\"asset\":\"USDT\"");
    const char *w = p ? strstr(p, pat) : NULL;
    char *out = NULL;
    if (w) {
        w += strlen(pat);
        size_t n = strcspn(w, "\"");
        out = strndup(w, n);
    }
    free(body);
    return out;
}

static char *sim_wallet(void)
{
    return sim_usdt("walletBalance");
}

/* bfq:acct:main:bal USDT available equals the simulator's availableBalance read right after
 * (it moves with the mark price, so th_wait_until retries). */
static int available_matches(void *arg)
{
    (void)arg;
    char *red = tb_hget_member(rc, "bfq:acct:main:bal", "USDT", "available");
    char *sim = sim_usdt("availableBalance");
    int ok = red && sim && tb_dec_eq(sim, red);
    free(sim);
    free(red);
    return ok;
}

static int wallet_matches(void *arg)
{
    (void)arg;
    char *sim = sim_wallet();
    char *red = tb_hget_member(rc, "bfq:acct:main:bal", "USDT", "wallet");
    int ok = tb_dec_eq(sim, red);
    free(sim);
    free(red);
    return ok;
}

static int field_state(const char *key, const char *field, int want_present)
{
    char *s = tb_hget(rc, key, field);
    int present = s != NULL;
    free(s);
    return present == want_present;
}

static int order_open(void *arg)
{
    return field_state("bfq:acct:main:orders", arg, 1);
}
static int order_gone(void *arg)
{
    return field_state("bfq:acct:main:orders", arg, 0);
}
static int flag_set(void *arg)
{
    return field_state("bfq:acct:main:flags", arg, 1);
}

static void write_config(const char *path, const struct th_redis *r, const struct th_sim *s)
{
    char url[256];
    th_redis_url_for(r, "account", url, sizeof url);
    FILE *f = th_fopen_private(path);
    if (!f) return;
    fprintf(f,
            "[redis]\nurl = %s\n[exchange]\nrest_url = %s\n[account.main]\napi_key = %s\n"
            "api_secret = %s\n[account]\nevery = 200ms\n[positionrisk]\nevery = 200ms\n"
            "[userstream]\norders_every = 500ms\n[watchdog]\nstale_after = 2s\n"
            "silent_after = 3s\ndisagree_after = 2s\n",
            url, s->url, KEY, SECRET);
    fclose(f);
}

static pid_t spawn_role(const char *conf, const char *role, const char *redis_url)
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", th_tmpdir(), role);
    const char *argv[] = {th_bfq_bin(), role, "--config", conf, "--instance", role,
                          redis_url ? "--redis" : NULL, redis_url, NULL};
    return th_spawn(argv, log);
}

/* Waits for a message containing needle on the subscribed connection; 1 when seen. */
static int wait_message(redisContext *sub, const char *needle, int timeout_ms)
{
    int64_t end = th_now_ms() + timeout_ms;
    while (th_now_ms() < end) {
        redisReply *r = NULL;
        if (redisGetReplyFromReader(sub, (void **)&r) != REDIS_OK) return 0;
        if (!r) {
            struct pollfd pfd = {.fd = sub->fd, .events = POLLIN};
            if (poll(&pfd, 1, 100) > 0 && redisBufferRead(sub) != REDIS_OK) return 0;
            continue;
        }
        int hit = r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
                  r->element[2]->type == REDIS_REPLY_STRING && strstr(r->element[2]->str, needle);
        freeReplyObject(r);
        if (hit) return 1;
    }
    return 0;
}

int main(void)
{
    struct th_redis r;
    struct th_sim s;
    if (th_redis_start(&r, 1) < 0) return 1;
    const char *simargs[] = {"--account", "main:" KEY ":" SECRET ":10000", "--symbols", "20",
                             NULL};
    if (th_sim_start(&s, simargs) < 0) return 1;
    simacct = (struct tb_account){s.url, KEY, SECRET};
    rc = tb_redis(r.port, 1);
    CHECK(rc != NULL);
    if (!rc) return th_done();
    char conf[512], wdurl[256];
    snprintf(conf, sizeof conf, "%s/bfq.ini", th_tmpdir());
    write_config(conf, &r, &s);
    th_redis_url_for(&r, "watchdog", wdurl, sizeof wdurl);

    pid_t pids[3];
    for (int i = 0; i < 3; i++) pids[i] = spawn_role(conf, sources[i], NULL);
    pid_t wd = spawn_role(conf, "watchdog", wdurl);
    CHECK(th_wait_until(sources_seen, NULL, 10000));

    /* before the fill: available is the simulator's */
    CHECK(th_wait_until(available_matches, NULL, 5000));
    char *avail0 = tb_hget_member(rc, "bfq:acct:main:bal", "USDT", "available");
    CHECK(avail0 != NULL);

    /* open: all three sources show the position and converge */
    char *body = NULL;
    CHECK(tb_market(&simacct, "BTCUSDT", "BUY", "0.010", "h8open1", &body) == 200);
    free(body);
    CHECK(th_wait_until(views_amt_is, "0.01", 5000));
    char *entry = tb_hget_member(rc, "bfq:acct:main:pos", "BTCUSDT:BOTH", "entry");
    CHECK(entry && strcmp(entry, "0") != 0);
    free(entry);
    CHECK(th_wait_until(wallet_matches, NULL, 5000));
    char *w = tb_hget_member(rc, "bfq:acct:main:bal", "USDT", "wallet");
    CHECK(w && !tb_dec_eq(w, "10000")); /* the commission was charged */
    free(w);
    /* available follows the fill (the margin and commission taken) although the stream's
     * ACCOUNT_UPDATE (no "available") is newer than the REST answers' updateTime: REST times
     * it by the request's send time; the wallet stays the exact stream/REST value */
    CHECK(th_wait_until(available_matches, NULL, 5000));
    char *avail = tb_hget_member(rc, "bfq:acct:main:bal", "USDT", "available");
    CHECK(avail != NULL && avail0 != NULL && !tb_dec_eq(avail, avail0));
    free(avail);
    free(avail0);
    CHECK(wallet_matches(NULL));

    /* close: amt "0" everywhere, balance still exact */
    CHECK(tb_market(&simacct, "BTCUSDT", "SELL", "0.010", "h8close1", &body) == 200);
    free(body);
    CHECK(th_wait_until(views_amt_is, "0", 5000));
    CHECK(th_wait_until(wallet_matches, NULL, 5000));
    CHECK(th_wait_until(available_matches, NULL, 5000));

    /* open orders: a resting LIMIT order appears, and leaves when canceled */
    CHECK(tb_signed(&simacct, "POST", "/fapi/v1/order",
                    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.100&"
                    "price=1000.0&newClientOrderId=h8limit1",
                    &body) == 200);
    free(body);
    CHECK(th_wait_until(order_open, "BTCUSDT:h8limit1", 5000));
    char *st = tb_hget_member(rc, "bfq:acct:main:orders", "BTCUSDT:h8limit1", "status");
    CHECK_EQ_STR(st, "NEW");
    free(st);
    CHECK(tb_signed(&simacct, "DELETE", "/fapi/v1/order",
                    "symbol=BTCUSDT&origClientOrderId=h8limit1", &body) == 200);
    free(body);
    CHECK(th_wait_until(order_gone, "BTCUSDT:h8limit1", 5000));

    /* an order the exchange does not have is removed by the openOrders poll */
    redisReply *rep = redisCommand(rc, "HSET bfq:acct:main:orders BTCUSDT:h8ghost {\"status\":\"NEW\"}");
    freeReplyObject(rep);
    CHECK(th_wait_until(order_gone, "BTCUSDT:h8ghost", 5000));

    /* watchdog: two sources stopped -> silent flags; all three -> stale published */
    CHECK(!field_state("bfq:acct:main:flags", "stale", 1));
    redisContext *sub = tb_redis(r.port, 1);
    CHECK(sub != NULL);
    rep = redisCommand(sub, "SUBSCRIBE bfq:ch:acct:main");
    freeReplyObject(rep);
    th_stop(pids[0], 5000);
    th_stop(pids[1], 5000);
    CHECK(th_wait_until(flag_set, "silent:account", 8000));
    CHECK(th_wait_until(flag_set, "silent:positionrisk", 8000));
    CHECK(!field_state("bfq:acct:main:flags", "stale", 1));
    th_stop(pids[2], 5000);
    CHECK(wait_message(sub, "\"stale\":true", 8000));
    CHECK(flag_set("stale"));
    /* a source back: stale false */
    pids[2] = spawn_role(conf, "userstream", NULL);
    CHECK(wait_message(sub, "\"stale\":false", 10000));
    CHECK(th_alive(wd));

    redisFree(sub);
    th_stop(pids[2], 5000);
    th_stop(wd, 5000);
    redisFree(rc);
    th_sim_stop(&s);
    th_redis_stop(&r);
    return th_done();
}
