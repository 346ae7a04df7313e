/* test_risk_lossguard: `bfq lossguard` (user `risk`) against `bfq sim` and redis-server.
 *
 * A realized loss of about 180 USDT on BTCUSDT (bought, price down 3 %, sold) bans BTCUSDT
 * within a poll, with its reason and the time it lifts, and a small loss on ETHUSDT bans
 * nothing; every income row of the counted types is kept exactly once (the heartbeat's rows
 * equal the simulator's, read in pages of 2 that overlap in the same millisecond); the simulator's
 * clock moved 4 h on lifts the ban as the window rolls; a lossguard whose account limit is -100
 * bans ALL; a uPnL of about -150 USDT held for the confirmation time sets REDUCING with its reason.
 * A ban set by hand (`bfq ban --sym MANUSDT`) survives every lossguard pass: it stays in the
 * list when lossguard bans BTCUSDT and when lossguard lifts it; `bfq unban` refuses to lift
 * lossguard's ban, and lifts the manual one.
 */
#include "tests/integration/test_trader_util.h"

static int ban_has(void *sym)
{
    char *s = tb_hget(cu_adm, "bfq:risk:ban", "symbols");
    int ok = s && strstr(s, (const char *)sym) != NULL;
    free(s);
    return ok;
}

static int ban_empty(void *arg)
{
    char *s = tb_hget(cu_adm, "bfq:risk:ban", "symbols");
    int ok = s && !strcmp(s, "[]");
    (void)arg;
    free(s);
    return ok;
}

/* Income rows of the counted types at the simulator. */
static int sim_rows(void)
{
    char *body = NULL;
    long code = tb_signed(&tt_acct, "GET", "/fapi/v1/income", "startTime=1&limit=1000", &body);
    json_t *a = code == 200 && body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        const char *t = json_string_value(json_object_get(e, "incomeType"));
        if (t &&
            (!strcmp(t, "REALIZED_PNL") || !strcmp(t, "COMMISSION") || !strcmp(t, "FUNDING_FEE")))
            n++;
    }
    json_decref(a);
    return n;
}

static int rows_match(void *arg)
{
    (void)arg;
    return tt_hb("lossguard", "lg", "rows") == sim_rows();
}

/* Pages of 2 rows: a fill's REALIZED_PNL and COMMISSION rows (one ms) straddle pages, so
 * the next page re-reads that ms and only (tranId, type) keeps each row once. */
static int is_reducing(void *arg)
{
    char *s = tb_hget(cu_adm, "bfq:risk:state:main", "state");
    int ok = s && !strcmp(s, "REDUCING");
    (void)arg;
    free(s);
    return ok;
}

static int not_banned(void *sym)
{
    return !ban_has(sym);
}

static int run_ban(const char *cmd, const char *sym, const char *reason)
{
    const char *args[] = {"--sym", sym, "--reason", reason, "--instance", "op", NULL};
    return cu_run(cmd, "risk", NULL, args, NULL, 10000);
}

static pid_t spawn_lg(const char *inst)
{
    setenv("BFQ_LOSSGUARD_PAGE", "2", 1);
    const char *args[] = {"--instance", inst, "--poll", "1s", "--source-ip", "127.0.0.5", NULL};
    return cu_spawn("lossguard", "risk", args);
}

int main(void)
{
    pid_t pids[4];
    int n = tt_stack(TT_USERSTREAM, pids);
    if (n != 2) return 1;
    setenv("BFQ_LOSSGUARD_UPNL_ACTION", "REDUCING", 1);
    setenv("BFQ_LOSSGUARD_UPNL_CONFIRM", "2s", 1);
    pid_t lg = spawn_lg("lg");
    CHECK(th_wait_until(ban_empty, NULL, 10000));
    CHECK(run_ban("ban", "MANUSDT", "operator: news pending") == 0);
    CHECK(ban_has("MANUSDT"));

    CHECK(tb_market(&tt_acct, "ETHUSDT", "BUY", "0.100", NULL, NULL) == 200);
    CHECK(tb_market(&tt_acct, "ETHUSDT", "SELL", "0.100", NULL, NULL) == 200);
    CHECK(tb_market(&tt_acct, "BTCUSDT", "BUY", "0.100", NULL, NULL) == 200);
    CHECK(cu_sim_admin("POST", "/_sim/price?symbol=BTCUSDT&pct=-3") == 200);
    CHECK(tb_market(&tt_acct, "BTCUSDT", "SELL", "0.100", NULL, NULL) == 200);
    int64_t t0 = th_now_ms();
    CHECK(th_wait_until(ban_has, "BTCUSDT", 10000));
    fprintf(stderr, "# banned after %lld ms\n", (long long)(th_now_ms() - t0));
    CHECK(th_now_ms() - t0 < 3000); /* within a poll (1 s) and the answer */
    CHECK(!ban_has("ETHUSDT"));
    CHECK(ban_has("MANUSDT")); /* lossguard's write kept the manual ban */
    CHECK(run_ban("unban", "BTCUSDT", "not mine to lift") == 1);
    CHECK(ban_has("BTCUSDT"));
    char *reasons = tb_hget(cu_adm, "bfq:risk:ban", "reasons");
    fprintf(stderr, "# reasons %s\n", reasons ? reasons : "(none)");
    CHECK(reasons && strstr(reasons, "\"BTCUSDT\"") && strstr(reasons, "4h income -") &&
          strstr(reasons, "\"until\":"));
    free(reasons);
    CHECK(th_wait_until(rows_match, NULL, 5000));
    CHECK(tt_hb("lossguard", "lg", "duplicates") > 0); /* the overlaps were there, and dropped */

    /* the uPnL circuit breaker: a long of ~3000 USDT, the price 5 % down: about -150 USDT of
     * uPnL, below the -100 limit for the 2 s of confirmation: REDUCING (as configured) */
    CHECK(tb_market(&tt_acct, "ETHUSDT", "BUY", "1.000", NULL, NULL) == 200);
    CHECK(th_wait_until(tt_long, "ETHUSDT", 10000));
    th_sleep_ms(3000); /* not tripped while the uPnL is above the limit */
    char *st = tb_hget(cu_adm, "bfq:risk:state:main", "state");
    CHECK(!st || strcmp(st, "REDUCING"));
    free(st);
    CHECK(cu_sim_admin("POST", "/_sim/price?symbol=ETHUSDT&pct=-5") == 200);
    int64_t t1 = th_now_ms();
    CHECK(th_wait_until(is_reducing, NULL, 15000));
    fprintf(stderr, "# REDUCING after %lld ms\n", (long long)(th_now_ms() - t1));
    CHECK(th_now_ms() - t1 >= 2000); /* the confirmation time */
    char *why = tb_hget(cu_adm, "bfq:risk:state:main", "reason");
    CHECK(why && strstr(why, "uPnL circuit breaker"));
    free(why);

    /* the window rolls on: 4 h and a minute later on the exchange's clock */
    CHECK(cu_sim_admin("POST", "/_sim/clock?offset_ms=14460000") == 200);
    CHECK(th_wait_until(not_banned, "BTCUSDT", 20000));
    th_sleep_ms(2500); /* two more passes */
    CHECK(ban_has("MANUSDT"));
    char *mr = tb_hget(cu_adm, "bfq:risk:ban", "reasons");
    fprintf(stderr, "# reasons after the roll %s\n", mr ? mr : "(none)");
    CHECK(mr && strstr(mr, "\"src\":\"manual:op\"") && strstr(mr, "news pending"));
    free(mr);
    CHECK(run_ban("unban", "MANUSDT", "news out") == 0);
    CHECK(th_wait_until(ban_empty, NULL, 5000));

    /* the account's limit: ALL */
    CHECK(th_stop(lg, 5000) == 0);
    CHECK(cu_sim_admin("POST", "/_sim/clock?offset_ms=0") == 200);
    setenv("BFQ_LOSSGUARD_ACCOUNT_LONG", "-100", 1);
    lg = spawn_lg("lg2");
    CHECK(th_wait_until(ban_has, "ALL", 20000));

    CHECK(th_stop(lg, 5000) == 0);
    int status[4];
    th_stop_all(pids, n, 5000, status);
    return th_done();
}
