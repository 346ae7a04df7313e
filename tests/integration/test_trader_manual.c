/* test_trader_manual: `bfq order`, `bfq cancel`, `bfq close` and `bfq leverage` as an operator
 * runs them, through `bfq gateway`, against `bfq sim` and redis-server with the ACL users.
 *
 * Each prints the outcome and exits 0 when the order went out (or the cancel or leverage was
 * done), 1 when the gateway denied it or the exchange rejected it, 2 on bad usage, and 1 when no
 * gateway answers in time. `bfq close` closes the whole position with reduce-only MARKET parts.
 * A gateway with a small order-rate budget denies what would pass it (RATE_LIMIT). */
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

int main(void)
{
    char *out = NULL;
    pid_t pids[3];
    if (tt_stack(TT_USERSTREAM, pids) != 2) return 1;

    /* no gateway yet: the command says so and fails */
    const char *lone[] = {"order",      "--sym", "BTCUSDT",   "--side", "BUY",
                          "--notional", "300",   "--timeout", "1s",     NULL};
    CHECK(cu_run("order", "trader", NULL, lone + 1, &out, 10000) == 1);
    CHECK(has(out, "\"status\":\"timeout\""));
    char lone_id[64] = "", lone_cid[80];
    const char *at = out ? strstr(out, "{\"id\":\"") : NULL;
    if (at) sscanf(at + 7, "%63[^\"]", lone_id);
    snprintf(lone_cid, sizeof lone_cid, "mn_%s", lone_id);
    free(out);
    out = NULL;
    const char *gargs[] = {"--instance", "g1", NULL};
    setenv("BFQ_GATEWAY_ORDERS_PERCENT", "1", 1); /* 3 orders per 10 s, 12 per minute */
    pids[2] = cu_spawn("gateway", NULL, gargs);

    const char *buy[] = {"order", "--sym", "BTCUSDT", "--side", "BUY", "--notional", "300", NULL};
    CHECK(run(buy, &out) == 0 && has(out, "\"status\":\"sent\"") &&
          has(out, "\"clientOrderId\":\"mn_m"));
    free(out);
    CHECK(th_wait_until(tt_long, "BTCUSDT", 10000));
    /* the intent of the command that timed out is never sent by the gateway that came later */
    CHECK(lone_id[0] && tt_is(lone_id, "denied", "ABANDONED: no gateway answered in time", 5000));
    CHECK(tt_orders("BTCUSDT", lone_cid, NULL, 0) == 0);
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
    CHECK(th_wait_until(tt_flat, "BTCUSDT", 10000));
    const char *none[] = {"close", "--all", NULL};
    CHECK(run(none, NULL) == 0); /* nothing to close */

    /* the account's order rate: within 8 orders in a row one is denied (the 10 s window can
     * roll over once meanwhile, which lets at most 6 through) */
    freeReplyObject(cu_cmd("HSET bfq:risk:state:main state ACTIVE"));
    int limited = 0;
    for (int i = 0; i < 8 && !limited; i++) {
        CHECK(run(buy, &out) <= 1);
        limited = has(out, "RATE_LIMIT");
        free(out);
    }
    CHECK(limited);

    int st[3];
    th_stop_all(pids, 3, 5000, st);
    for (int i = 0; i < 3; i++)
        CHECK(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
    return th_done();
}
