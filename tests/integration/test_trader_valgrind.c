/* test_trader_valgrind: `bfq gateway` and `bfq trader` under valgrind's leak check while they
 * work, then stopped by SIGTERM (exit 0; 9 would be valgrind's verdict of leaks or memory
 * errors).
 *
 * Against redis-server (ACL users) and a native `bfq sim`, with native collectors: the gateway
 * takes copies of one intent, a denied and an invalid one, a notional to size, a leverage, a
 * cancel of every order, an order answered 503 (queried, then sent again) and one whose body is
 * not JSON (found by the query); the trader loads its book and follows the channels. Then every
 * Redis connection is killed: both reconnect (the trader resyncs its book, the gateway sends
 * the next intent), and an intent is left waiting for its query when SIGTERM comes. Skipped
 * (77) without valgrind or in a sanitizer build. */
#include <sys/wait.h>

#include "tests/integration/test_trader_util.h"

static pid_t vg(const char *name, const char *cmd, const char *user, const char *inst)
{
    char url[256], logopt[600], log[512];
    th_redis_url_for(&cu_red, user, url, sizeof url);
    snprintf(logopt, sizeof logopt, "--log-file=%s/vg-%s.log", th_tmpdir(), name);
    snprintf(log, sizeof log, "%s/%s.log", th_tmpdir(), name);
    const char *argv[] = {"valgrind",
                          "--leak-check=full",
                          "--show-leak-kinds=definite,indirect",
                          "--errors-for-leak-kinds=definite,indirect",
                          "--error-exitcode=9",
                          logopt,
                          th_bfq_bin(),
                          cmd,
                          "--redis",
                          url,
                          "--exchange",
                          cu_sim.url,
                          "--instance",
                          inst,
                          NULL};
    return th_spawn(argv, log);
}

static int trader_resynced(void *arg)
{
    return tt_hb("trader", "vt", "resyncs") > *(const long long *)arg;
}

static int hb_ready(void *arg)
{
    (void)arg;
    char *s = cu_str("GET bfq:hb:trader:vt");
    int ok = s && strstr(s, "\"ready\":true");
    free(s);
    return ok && tt_hb("gateway", "vg", "started") > 0;
}

int main(void)
{
#ifdef BFQ_SANITIZED
    printf("SKIP: built with sanitizers (BFQ_SANITIZE): valgrind cannot run ASan binaries\n");
    return 77;
#endif
    const char *probe[] = {"valgrind", "--version", NULL};
    if (th_run(probe, NULL, 20000) != 0) {
        printf("SKIP: valgrind is not installed\n");
        return 77;
    }
    setenv("BFQ_EXCHANGE_TIMEOUT", "20s", 1); /* valgrind is 20-50x slower */
    setenv("BFQ_GATEWAY_QUERY_DELAY", "500ms", 1);
    setenv("BFQ_EXCHANGE_WEIGHT_LIMIT", "100000", 1);
    pid_t rest[2];
    if (tt_stack(TT_KLINE, rest) != 2) return 1;
    pid_t pg = vg("gateway", "gateway", "gateway", "vg");
    pid_t pt = vg("trader", "trader", "trader", "vt");
    CHECK(th_wait_until(hb_ready, NULL, 90000));

    for (int i = 0; i < 3; i++)
        tt_intent("id=v1", "op=order", "sym=ETHUSDT", "side=BUY", "type=MARKET", "qty=0.050",
                  "class=to", NULL);
    tt_intent("id=v2", "op=order", "sym=BTCUSDT", "side=BUY", "notional=300", "class=to", NULL);
    tt_intent("id=v3", "op=order", "sym=BTCUSDT", "side=BUY", "qty=0.0001", "class=to", NULL);
    tt_intent("id=v4", "op=order", "sym=BTCUSDT", "side=NONE", "class=to", NULL);
    tt_intent("id=v5", "op=leverage", "sym=BTCUSDT", "leverage=3", "class=mn", NULL);
    tt_intent("id=v6", "op=cancel_all", "sym=BTCUSDT", "class=mn", NULL);
    CHECK(tt_is("v1", "sent", NULL, 60000) && tt_is("v2", "sent", NULL, 60000));
    CHECK(tt_is("v3", "denied", "FILTER_-4004", 60000) && tt_is("v5", "ok", NULL, 60000));
    CHECK(tt_is("v6", "ok", NULL, 60000) && tt_is("v4", "denied", NULL, 60000));
    CHECK(cu_sim_admin("POST", "/_sim/fault?path=/fapi/v1/order&kind=5xx") == 200);
    tt_intent("id=v7", "op=order", "sym=ETHUSDT", "side=BUY", "type=MARKET", "qty=0.050",
              "class=to", NULL);
    th_sleep_ms(3000);
    CHECK(cu_sim_admin("DELETE", "/_sim/fault") == 200);
    CHECK(tt_is("v7", "sent", NULL, 60000) && tt_orders("ETHUSDT", "to_v7", NULL, 0) == 1);
    CHECK(cu_sim_admin("POST", "/_sim/fault?path=/fapi/v1/order&kind=malformed") == 200);
    tt_intent("id=v8", "op=order", "sym=ETHUSDT", "side=BUY", "type=MARKET", "qty=0.050",
              "class=to", NULL);
    th_sleep_ms(3000);
    CHECK(cu_sim_admin("DELETE", "/_sim/fault") == 200);
    CHECK(tt_is("v8", "sent", NULL, 60000) && tt_orders("ETHUSDT", "to_v8", NULL, 0) == 1);

    /* every Redis connection killed: both come back */
    long long resyncs = tt_hb("trader", "vt", "resyncs");
    freeReplyObject(cu_cmd("CLIENT KILL TYPE pubsub"));
    freeReplyObject(cu_cmd("CLIENT KILL USER gateway"));
    freeReplyObject(cu_cmd("CLIENT KILL USER trader"));
    CHECK(th_wait_until(trader_resynced, &resyncs, 60000));
    tt_intent("id=v9", "op=order", "sym=ETHUSDT", "side=BUY", "type=MARKET", "qty=0.050",
              "class=to", NULL);
    CHECK(tt_is("v9", "sent", NULL, 60000));

    /* SIGTERM with an intent waiting for its query */
    CHECK(cu_sim_admin("POST", "/_sim/fault?path=/fapi/v1/order&kind=5xx") == 200);
    tt_intent("id=v10", "op=order", "sym=ETHUSDT", "side=BUY", "type=MARKET", "qty=0.050",
              "class=to", NULL);
    th_sleep_ms(3000);
    pid_t both[2] = {pg, pt};
    int st[2];
    th_stop_all(both, 2, 90000, st);
    for (int i = 0; i < 2; i++) {
        CHECK(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
        if (!(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0))
            fprintf(stderr, "# see %s/vg-%s.log\n", th_tmpdir(), i ? "trader" : "gateway");
    }
    th_stop_all(rest, 2, 5000, st);
    return th_done();
}
