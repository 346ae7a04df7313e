/* test_trader_stale: traders stop opening while the watchdog flags the account stale (issue 11,
 * item 6; issue 13, item 4).
 *
 * Against `bfq sim` and redis-server with the ACL users: symbols, kline, tick and userstream
 * collectors, `bfq gateway` and `bfq trader --strategy demo`. The account's stale flag is set
 * as `bfq watchdog` sets it (the field `stale` of bfq:acct:main:flags, and {"stale":...} on
 * bfq:ch:acct:main: reconciler/watchdog.h) before the trader starts, so the trader must read it
 * from the key. A +2 % move of ETHUSDT is then a signal to open a long (the demo's 1 %
 * threshold): while the flag stands, no intent may reach bfq:intents:main and the signal is
 * counted as skipped "account_stale". Once the flag is cleared (HDEL and {"stale":false}, as
 * the watchdog does), the same signal opens the long within the minute. A {"stale":true}
 * message alone flags the trader again. Before, the trader ignored the flag and opened on
 * positions it could not trust. */
#include <sys/wait.h>

#include "tests/integration/test_trader_util.h"

static int flagged(void *arg)
{
    (void)arg;
    return tt_account_stale("tr1") == 1;
}

static int unflagged(void *arg)
{
    (void)arg;
    return tt_account_stale("tr1") == 0;
}

static long long skips_before;

static int skipped(void *arg)
{
    (void)arg;
    return tt_skips("tr1", "account_stale") > skips_before;
}

static int long_open(void *arg)
{
    (void)arg;
    return tt_long("ETHUSDT");
}

static void set_stale(int stale)
{
    long long now = th_now_ms();
    if (stale)
        freeReplyObject(cu_cmd("HSET bfq:acct:main:flags stale {\"since\":%lld,\"detail\":\"test\"}",
                               now));
    else
        freeReplyObject(cu_cmd("HDEL bfq:acct:main:flags stale"));
    freeReplyObject(cu_cmd("PUBLISH bfq:ch:acct:main {\"t\":%lld,\"stale\":%s}", now,
                           stale ? "true" : "false"));
}

int main(void)
{
    pid_t pids[5];
    if (tt_stack(TT_KLINE | TT_USERSTREAM, pids) != 3) return 1;
    set_stale(1); /* before the trader starts: it must read the key */
    tt_sim_next_minute_at(5); /* a bar edge now, before the gateway syncs its clock */
    const char *gargs[] = {"--instance", "g1", NULL};
    const char *targs[] = {"--strategy", "demo", "--instance", "tr1", NULL};
    pids[3] = cu_spawn("gateway", NULL, gargs);
    pids[4] = cu_spawn("trader", NULL, targs);
    CHECK(th_wait_until(tt_trader_ready, "tr1", 15000));
    CHECK(th_wait_until(flagged, NULL, 5000));
    CHECK(tt_flat("ETHUSDT"));

    tt_sim_wait_second(5, 30); /* the move, the skipped signal and the open in one minute */
    th_sleep_ms(1100);     /* a heartbeat with every skip before the move */
    skips_before = tt_skips("tr1", "account_stale");
    CHECK(cu_sim_admin("POST", "/_sim/price?symbol=ETHUSDT&pct=2") == 200);
    CHECK(th_wait_until(skipped, NULL, 10000));
    th_sleep_ms(1500); /* more ticks: the signal stands and is asked again */
    fprintf(stderr, "# stale: %lld signals skipped, %lld intents\n",
            tt_skips("tr1", "account_stale"), tt_intents());
    CHECK(tt_intents() == 0);
    CHECK(tt_flat("ETHUSDT"));

    set_stale(0);
    CHECK(th_wait_until(long_open, NULL, 15000));
    CHECK(tt_intents() >= 1);
    CHECK(th_wait_until(unflagged, NULL, 5000));

    /* the channel alone flags it again */
    freeReplyObject(cu_cmd("PUBLISH bfq:ch:acct:main {\"t\":%lld,\"stale\":true}", th_now_ms()));
    CHECK(th_wait_until(flagged, NULL, 5000));

    int st[5];
    th_stop_all(pids, 5, 5000, st);
    for (int i = 0; i < 5; i++)
        CHECK(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
    return th_done();
}
