/* test_trader_manual: `bfq order`, `bfq cancel`, `bfq close` and `bfq leverage` as an operator
 * runs them, through `bfq gateway`, against `bfq sim` and redis-server with the ACL users.
 *
 * Each prints the outcome and exits 0 when the order went out (or the cancel or leverage was
 * done), 1 when the gateway denied it or the exchange rejected it, 2 on bad usage, and 1 when no
 * gateway answers in time. `bfq close` closes the whole position with reduce-only MARKET parts. */
#include <sys/wait.h>

#include "tests/integration/test_trader_util.h"

static int run(const char *const *args, char **out)
{
    const char *argv[24];
    int n = 0;
    argv[n++] = "--timeout";
    argv[n++] = "15s";
    for (int i = 1; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    int rc = cu_run(args[0], "trader", NULL, argv, out, 30000);
    fprintf(stderr, "# bfq %s ... -> %d %s", args[0], rc, out && *out ? *out : "\n");
    return rc;
}

static int has(const char *out, const char *what)
{
    return out && strstr(out, what) != NULL;
}

static const char *btc_amt(void)
{
    static char buf[64];
    char *v = tb_hget_member(cu_adm, "bfq:acct:main:pos", "BTCUSDT:BOTH", "amt");
    snprintf(buf, sizeof buf, "%s", v ? v : "");
    free(v);
    return buf;
}

static int btc_long(void *arg)
{
    (void)arg;
    const char *a = btc_amt();
    return a[0] && a[0] != '-' && !tb_dec_eq(a, "0");
}

static int btc_flat(void *arg)
{
    (void)arg;
    return tb_dec_eq(btc_amt(), "0");
}

int main(void)
{
    char acct[128], *out = NULL;
    snprintf(acct, sizeof acct, "main:%s:%s:100000", TT_KEY, TT_SECRET);
    const char *simargs[] = {"--symbols", "10", "--account", acct, NULL};
    if (cu_redis_start() < 0 || th_sim_start(&cu_sim, simargs) < 0) {
        fprintf(stderr, "cannot start redis or the simulator\n");
        return 1;
    }
    tt_acct = (struct tb_account){cu_sim.url, TT_KEY, TT_SECRET};
    setenv("BFQ_ACCOUNT_MAIN_API_KEY", TT_KEY, 1);
    setenv("BFQ_ACCOUNT_MAIN_API_SECRET", TT_SECRET, 1);
    const char *once[] = {"--once", NULL};
    CHECK(cu_run("symbols", NULL, cu_sim.url, once, NULL, 30000) == 0);
    const char *targs[] = {"--source-ip", "127.0.0.2", "--rate", "4", "--instance", "t0", NULL};
    const char *uargs[] = {"--instance", "us", NULL};
    pid_t pids[3];
    pids[0] = cu_spawn("tick", NULL, targs);
    pids[1] = cu_spawn("userstream", "account", uargs);
    CHECK(tt_wait_tick("BTCUSDT", 10000));

    /* no gateway yet: the command says so and fails */
    const char *lone[] = {"order",      "--sym", "BTCUSDT",   "--side", "BUY",
                          "--notional", "300",   "--timeout", "1s",     NULL};
    CHECK(cu_run("order", "trader", NULL, lone + 1, &out, 10000) == 1);
    CHECK(has(out, "\"status\":\"timeout\""));
    free(out);
    out = NULL;
    const char *gargs[] = {"--instance", "g1", NULL};
    pids[2] = cu_spawn("gateway", NULL, gargs);

    const char *buy[] = {"order", "--sym", "BTCUSDT", "--side", "BUY", "--notional", "300", NULL};
    CHECK(run(buy, &out) == 0 && has(out, "\"status\":\"sent\"") &&
          has(out, "\"clientOrderId\":\"mn_m"));
    free(out);
    CHECK(th_wait_until(btc_long, NULL, 10000));
    const char *tiny[] = {"order", "--sym", "BTCUSDT", "--side", "BUY", "--qty", "0.0001", NULL};
    CHECK(run(tiny, &out) == 1 && has(out, "FILTER_-4004"));
    free(out);
    const char *badside[] = {"order", "--sym", "BTCUSDT", "--side", "UP", "--qty", "1", NULL};
    CHECK(run(badside, NULL) == 2);
    const char *lev[] = {"leverage", "--sym", "BTCUSDT", "--leverage", "7", NULL};
    CHECK(run(lev, &out) == 0 && has(out, "\"status\":\"ok\""));
    free(out);
    const char *nocid[] = {"cancel", "--sym", "ETHUSDT", "--client-id", "mn_nosuchorder", NULL};
    CHECK(run(nocid, &out) == 1 && has(out, "\"status\":\"rejected\""));
    free(out);
    const char *call[] = {"cancel", "--sym", "ETHUSDT", NULL};
    CHECK(run(call, &out) == 0);
    free(out);

    freeReplyObject(cu_cmd("HSET bfq:risk:state:main state REDUCING"));
    CHECK(run(buy, &out) == 1 && has(out, "TRADING_REDUCING"));
    free(out);
    const char *close[] = {"close", "--sym", "BTCUSDT", NULL};
    CHECK(run(close, &out) == 0 && has(out, "\"status\":\"sent\""));
    free(out);
    CHECK(th_wait_until(btc_flat, NULL, 10000));
    const char *none[] = {"close", "--all", NULL};
    CHECK(run(none, NULL) == 0); /* nothing to close */

    int st[3];
    th_stop_all(pids, 3, 5000, st);
    for (int i = 0; i < 3; i++)
        CHECK(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
    return th_done();
}
