/* test_account_stream: the account sources under trouble, against `bfq sim` and redis-server.
 *
 * - listen keys living 3 s: the stream renews them (listenKeyExpired / -1125 -> new key, new
 *   connection opened before the old one closes) and no fill or order is lost across it;
 * - POST /_sim/ws/drop: the stream reconnects and keeps following;
 * - malformed, truncated, unknown-type and older-E events injected into the stream
 *   (POST /_sim/ws/inject): counted, never written, no rollback, the stream stays up and a
 *   following real fill is still applied;
 * - userstream stopped: the REST sources keep the position fresh; restarted, the stream
 *   catches up from its snapshot;
 * - a newer record (WebSocket) followed by older REST snapshots never rolls back;
 * - 5xx, malformed and truncated answers and 429 on /fapi/v2/account leave the poller running
 *   with the error in its health hash, and it recovers when the fault is cleared. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "tests/harness/testbinance.h"

#define KEY "h8streamkey0123456789"
#define SECRET "h8streamsecret0123456789abcdef"

static redisContext *rc;
static struct tb_account simacct;

struct amt_want {
    const char *key, *field, *amt;
};

static int amt_is(void *arg)
{
    const struct amt_want *w = arg;
    char *v = tb_hget_member(rc, w->key, w->field, "amt");
    int ok = v && !strcmp(v, w->amt);
    free(v);
    return ok;
}

static int hash_has(void *arg)
{
    const char *const *kf = arg;
    char *v = tb_hget(rc, kf[0], kf[1]);
    free(v);
    return v != NULL;
}

/* A number from the heartbeat of the userstream instance "us". */
static long long hb_num(const char *name)
{
    redisReply *r = redisCommand(rc, "GET bfq:hb:userstream:us");
    long long v = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        json_t *j = json_loads(r->str, 0, NULL);
        json_t *x = json_object_get(j, name);
        if (json_is_integer(x)) v = json_integer_value(x);
        json_decref(j);
    }
    if (r) freeReplyObject(r);
    return v;
}

static int hb_renewed(void *arg)
{
    (void)arg;
    return hb_num("key_renewals") >= 1;
}

static long long src_num(const char *src, const char *field)
{
    char key[96];
    snprintf(key, sizeof key, "bfq:acct:main:src:%s", src);
    char *v = tb_hget(rc, key, field);
    long long n = v ? strtoll(v, NULL, 10) : 0;
    free(v);
    return n;
}

static int account_fresh(void *arg)
{
    (void)arg;
    return src_num("account", "seen") > th_now_ms() - 1000;
}

static int account_erred(void *arg)
{
    (void)arg;
    return src_num("account", "err_at") > th_now_ms() - 1000;
}

static void write_config(const char *path, const struct th_redis *r, const char *sim_url,
                         const char *every)
{
    char url[256];
    th_redis_url_for(r, "account", url, sizeof url);
    FILE *f = th_fopen_private(path);
    if (!f) return;
    fprintf(f,
            "[redis]\nurl = %s\n[exchange]\nrest_url = %s\n[account.main]\napi_key = %s\n"
            "api_secret = %s\n[account]\nevery = %s\n[positionrisk]\nevery = %s\n"
            "[userstream]\norders_every = 1s\nbackoff_min = 50ms\nbackoff_max = 1s\n",
            url, sim_url, KEY, SECRET, every, every);
    fclose(f);
}

static pid_t spawn_role(const char *conf, const char *role, const char *instance)
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s-%s.log", th_tmpdir(), role, instance);
    const char *argv[] = {th_bfq_bin(), role, "--config", conf, "--instance", instance, NULL};
    return th_spawn(argv, log);
}

static void market(const char *sym, const char *side, const char *qty)
{
    char *body = NULL;
    CHECK(tb_market(&simacct, sym, side, qty, NULL, &body) == 200);
    free(body);
}

static void post_admin(const char *base, const char *path_query)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path_query);
    char *body = NULL;
    long code = th_http(strncmp(path_query, "/_sim/fault?", 12) && strcmp(path_query, "/_sim/ws/drop")
                            ? "DELETE"
                            : "POST",
                        url, NULL, NULL, &body);
    CHECK(code == 200);
    free(body);
}

/* listen keys of 3 s: renewed, nothing lost */
static void phase_listenkey(const char *conf, pid_t *us)
{
    *us = spawn_role(conf, "userstream", "us");
    struct amt_want w = {"bfq:acct:main:view:userstream", "ETHUSDT:BOTH", "0"};
    CHECK(th_wait_until(amt_is, &w, 5000));
    for (int i = 0; i < 10; i++) { /* 10 fills over ~7 s: across at least two expiries */
        market("ETHUSDT", "BUY", "0.010");
        th_sleep_ms(700);
    }
    CHECK(th_wait_until(hb_renewed, NULL, 5000));
    w.amt = "0.1";
    CHECK(th_wait_until(amt_is, &w, 5000));
    /* an order placed after the renewals shows, and its cancel too */
    char *body = NULL;
    CHECK(tb_signed(&simacct, "POST", "/fapi/v1/order",
                    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.100&"
                    "price=1000.0&newClientOrderId=h8lk1",
                    &body) == 200);
    free(body);
    const char *kf[] = {"bfq:acct:main:orders", "BTCUSDT:h8lk1"};
    CHECK(th_wait_until(hash_has, (void *)kf, 5000));
    CHECK(th_alive(*us));
}

/* the simulator drops every user-data connection: reconnect and keep following */
static void phase_drop(const char *sim_url, pid_t us)
{
    long long before = hb_num("connects");
    post_admin(sim_url, "/_sim/ws/drop");
    th_sleep_ms(1500);
    CHECK(hb_num("connects") > before);
    market("ETHUSDT", "SELL", "0.040");
    struct amt_want w = {"bfq:acct:main:view:userstream", "ETHUSDT:BOTH", "0.06"};
    CHECK(th_wait_until(amt_is, &w, 5000));
    CHECK(th_alive(us));
}

static int hb_connected(void)
{
    redisReply *r = redisCommand(rc, "GET bfq:hb:userstream:us");
    int v = 0;
    if (r && r->type == REDIS_REPLY_STRING) {
        json_t *j = json_loads(r->str, 0, NULL);
        v = json_is_true(json_object_get(j, "connected"));
        json_decref(j);
    }
    if (r) freeReplyObject(r);
    return v;
}

struct hb_at_least {
    const char *name;
    long long min;
};

static int hb_reached(void *arg)
{
    const struct hb_at_least *w = arg;
    return hb_num(w->name) >= w->min;
}

static void inject(const char *sim_url, const char *text)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof url, "%s/_sim/ws/inject?account=main", sim_url);
    long code = th_http("POST", url, text, NULL, &body);
    CHECK(code == 200 && body && !strstr(body, "\"sent\":0"));
    free(body);
}

/* bad and stale events injected into the stream: counted, never written, nothing rolls back,
 * the stream stays up, and the next real fill still lands */
static void phase_inject(const char *sim_url, pid_t us)
{
    static const char *const keys[][2] = {
        {"bfq:acct:main:pos", "ETHUSDT:BOTH"},
        {"bfq:acct:main:bal", "USDT"},
        {"bfq:acct:main:orders", "BTCUSDT:h8lk1"},
        {"bfq:acct:main:view:userstream", "ETHUSDT:BOTH"},
    };
    char *before[4];
    for (int i = 0; i < 4; i++) {
        before[i] = tb_hget(rc, keys[i][0], keys[i][1]);
        CHECK(before[i] != NULL);
    }
    long long mal = hb_num("malformed"), ign = hb_num("ignored"), evs = hb_num("events");
    long long old = th_now_ms() - 600000;
    char acct_old[1024], order_old[1024];
    snprintf(acct_old, sizeof acct_old,
             "{\"e\":\"ACCOUNT_UPDATE\",\"E\":%lld,\"T\":%lld,\"a\":{\"m\":\"ORDER\",\"B\":"
             "[{\"a\":\"USDT\",\"wb\":\"1.00000000\",\"cw\":\"1.00000000\",\"bc\":\"0\"}],"
             "\"P\":[{\"s\":\"ETHUSDT\",\"pa\":\"99\",\"ep\":\"1.0\",\"bep\":\"1.0\",\"cr\":\"0\","
             "\"up\":\"0\",\"mt\":\"cross\",\"iw\":\"0\",\"ps\":\"BOTH\"}]}}",
             old, old);
    snprintf(order_old, sizeof order_old,
             "{\"e\":\"ORDER_TRADE_UPDATE\",\"E\":%lld,\"T\":%lld,\"o\":{\"s\":\"BTCUSDT\","
             "\"c\":\"h8lk1\",\"S\":\"BUY\",\"o\":\"LIMIT\",\"f\":\"GTC\",\"q\":\"0.100\","
             "\"p\":\"1000.0\",\"ap\":\"0\",\"sp\":\"0\",\"x\":\"CANCELED\",\"X\":\"CANCELED\","
             "\"i\":1,\"l\":\"0\",\"z\":\"0\",\"L\":\"0\",\"T\":%lld,\"t\":0,\"b\":\"0\","
             "\"a\":\"0\",\"m\":false,\"R\":false,\"wt\":\"CONTRACT_PRICE\",\"ot\":\"LIMIT\","
             "\"ps\":\"BOTH\",\"cp\":false,\"rp\":\"0\",\"pP\":false,\"si\":0,\"ss\":0,"
             "\"V\":\"NONE\",\"pm\":\"NONE\",\"gtd\":0}}",
             old, old, old);
    inject(sim_url, "<html>502 Bad Gateway</html>");                       /* not JSON */
    inject(sim_url, "{\"e\":\"ACCOUNT_UPDATE\",\"E\":1,\"a\":{\"B\":[{\"a\":\"USDT\",\"wb"); /* cut */
    inject(sim_url, "{\"e\":\"ACCOUNT_UPDATE\",\"E\":\"soon\",\"a\":{}}"); /* E not a number */
    inject(sim_url, "{\"e\":\"ACCOUNT_UPDATE\",\"E\":2,\"a\":{\"B\":[{\"a\":\"USDT\"}]}}"); /* no wb */
    inject(sim_url, "{\"e\":\"STRATEGY_UPDATE\",\"E\":5,\"T\":5,\"su\":{}}"); /* unknown type */
    inject(sim_url, acct_old);
    inject(sim_url, order_old);
    struct hb_at_least m = {"malformed", mal + 4}, g = {"ignored", ign + 1}, e = {"events", evs + 2};
    CHECK(th_wait_until(hb_reached, &m, 4000));
    CHECK(th_wait_until(hb_reached, &g, 4000));
    CHECK(th_wait_until(hb_reached, &e, 4000));
    printf("injected: malformed %lld -> %lld, ignored %lld -> %lld, events %lld -> %lld\n", mal,
           hb_num("malformed"), ign, hb_num("ignored"), evs, hb_num("events"));
    th_sleep_ms(300);
    /* neither the reconciled records nor the source's own view (what the watchdog compares)
     * may be rolled back by a stale event */
    for (int i = 0; i < 4; i++) {
        char *now = tb_hget(rc, keys[i][0], keys[i][1]);
        CHECK_EQ_STR(before[i], now); /* nothing written, nothing rolled back */
        free(now);
        free(before[i]);
    }
    CHECK(th_alive(us));
    CHECK(hb_connected());
    market("ETHUSDT", "BUY", "0.010");
    struct amt_want w = {"bfq:acct:main:view:userstream", "ETHUSDT:BOTH", "0.07"};
    CHECK(th_wait_until(amt_is, &w, 5000));
    w.key = "bfq:acct:main:pos";
    CHECK(th_wait_until(amt_is, &w, 5000));
}

/* userstream stopped: REST keeps pos fresh; restarted: the stream catches up */
static void phase_restart(const char *conf, pid_t *us, pid_t *acc, pid_t *pr)
{
    *acc = spawn_role(conf, "account", "acc");
    *pr = spawn_role(conf, "positionrisk", "pr");
    th_stop(*us, 5000);
    market("ETHUSDT", "SELL", "0.070");
    struct amt_want w = {"bfq:acct:main:view:account", "ETHUSDT:BOTH", "0"};
    CHECK(th_wait_until(amt_is, &w, 5000));
    w.key = "bfq:acct:main:view:positionrisk";
    CHECK(th_wait_until(amt_is, &w, 5000));
    w.key = "bfq:acct:main:pos";
    CHECK(th_wait_until(amt_is, &w, 5000));
    market("XRPUSDT", "BUY", "20");
    *us = spawn_role(conf, "userstream", "us");
    struct amt_want u = {"bfq:acct:main:view:userstream", "XRPUSDT:BOTH", "20"};
    CHECK(th_wait_until(amt_is, &u, 8000)); /* from the snapshot after connecting */
    u.field = "ETHUSDT:BOTH";
    u.amt = "0";
    CHECK(th_wait_until(amt_is, &u, 5000));
}

/* a newer record is never rolled back by older REST snapshots */
static void phase_order(void)
{
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)(th_now_ms() + 600000));
    const char *argv[] = {"FCALL", "bfq_merge", "2", "bfq:acct:main:pos", "bfq:acct:main:pos:ts",
                          "bfq:ch:acct:main", "pos", "replace", "ADAUSDT:BOTH",
                          "{\"amt\":\"7\",\"t\":0,\"src\":\"test\"}", t, "1", ""};
    redisReply *r = redisCommandArgv(rc, 13, argv, NULL);
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    if (r) freeReplyObject(r);
    th_sleep_ms(1500); /* several REST polls later */
    struct amt_want w = {"bfq:acct:main:pos", "ADAUSDT:BOTH", "7"};
    CHECK(amt_is(&w));
    w.key = "bfq:acct:main:view:account";
    w.amt = "0";
    CHECK(amt_is(&w));
}

/* 5xx, malformed and truncated answers: the poller keeps running and recovers */
static void phase_faults(const char *sim_url, pid_t acc)
{
    static const char *const kinds[] = {"5xx", "malformed", "truncated"};
    for (int i = 0; i < 3; i++) {
        char q[256];
        snprintf(q, sizeof q, "/_sim/fault?path=/fapi/v2/account&kind=%s&rate=1", kinds[i]);
        post_admin(sim_url, q);
        CHECK(th_wait_until(account_erred, NULL, 3000));
        CHECK(th_alive(acc));
        post_admin(sim_url, "/_sim/fault");
        CHECK(th_wait_until(account_fresh, NULL, 3000));
    }
}

/* 429 from a simulator with a tiny weight limit: the poller stays up */
static void phase_429(const struct th_redis *r)
{
    struct th_sim s2;
    const char *args[] = {"--account", "main:" KEY ":" SECRET ":10000", "--symbols", "5",
                          "--weight-limit", "20", NULL};
    if (th_sim_start(&s2, args) < 0) {
        CHECK(0);
        return;
    }
    char conf[512];
    snprintf(conf, sizeof conf, "%s/bfq429.ini", th_tmpdir());
    write_config(conf, r, s2.url, "100ms");
    pid_t p = spawn_role(conf, "account", "acc429");
    th_sleep_ms(2500);
    CHECK(th_alive(p));
    char *err = tb_hget(rc, "bfq:acct:main:src:account", "err");
    CHECK(err && strstr(err, "429"));
    free(err);
    th_stop(p, 5000);
    th_sim_stop(&s2);
}

int main(void)
{
    struct th_redis r;
    struct th_sim s;
    if (th_redis_start(&r, 1) < 0) return 1;
    const char *simargs[] = {"--account", "main:" KEY ":" SECRET ":10000", "--symbols", "20",
                             "--listenkey-ttl", "3", NULL};
    if (th_sim_start(&s, simargs) < 0) return 1;
    simacct = (struct tb_account){s.url, KEY, SECRET};
    rc = tb_redis(r.port, 1);
    CHECK(rc != NULL);
    if (!rc) return th_done();
    char conf[512];
    snprintf(conf, sizeof conf, "%s/bfq.ini", th_tmpdir());
    write_config(conf, &r, s.url, "200ms");

    pid_t us = -1, acc = -1, pr = -1;
    phase_listenkey(conf, &us);
    phase_drop(s.url, us);
    phase_inject(s.url, us);
    phase_restart(conf, &us, &acc, &pr);
    phase_order();
    phase_faults(s.url, acc);
    CHECK(th_alive(us) && th_alive(acc) && th_alive(pr));
    th_stop(us, 5000);
    th_stop(acc, 5000);
    th_stop(pr, 5000);
    phase_429(&r);

    redisFree(rc);
    th_sim_stop(&s);
    th_redis_stop(&r);
    return th_done();
}
