/* test_risk_breakers: the drawdown guard and the uPnL circuit breaker of `bfq lossguard`
 * (user `risk`) end to end, against `bfq sim` (a calm book moved by its admin API), the user
 * stream and redis-server.
 *
 * Drawdown from the PEAK (drawdown_pct 1, confirm 8 s, action HALTED): a long of about 50000
 * USDT, the price up 4 % raises the equity peak to about 102000; a drop to 0.8 % under the
 * entry for about 1.5 s (a bad tick, shorter than the confirmation) changes nothing; the same
 * drop held sets HALTED, no sooner than 8 s (less a second of lag), with its reason, while the
 * equity is still within 1 % of the start (a guard measured from the start would not trip: the loss
 * from the start is about 0.4 %). Then, after `bfq resume`, the uPnL breaker (limit -100, confirm 6
 * s, action REDUCING): a short bad tick to about -1000 of uPnL changes nothing; held, REDUCING. */
#include "tests/integration/test_trader_util.h"

static struct dec entry;

static const char *state_now(void)
{
    const char *s = tt_state();
    return strcmp(s, "(none)") ? s : "ACTIVE";
}

static int state_is(void *want)
{
    return !strcmp(state_now(), want);
}

/* Sets BTCUSDT's price to entry * (100 + pct) / 100, snapped to the tick. */
static void price_at(const char *pct)
{
    struct dec p, f, tick = {1, 1};
    char q[128], ps[64];
    char *ts = tb_hget(cu_adm, "bfq:symbol:BTCUSDT", "tickSize");
    if (ts && dec_parse(ts, (size_t)-1, &tick) != DEC_OK) tick = (struct dec){1, 1};
    free(ts);
    CHECK(dec_parse(pct, (size_t)-1, &f) == DEC_OK && dec_add(f, dec_from_int(100), &f) == DEC_OK &&
          dec_mul(entry, f, &p) == DEC_OK &&
          dec_div(p, dec_from_int(100), p.scale, DEC_ROUND_DOWN, &p) == DEC_OK &&
          dec_snap_to_tick(p, tick, (struct dec){0, 0}, DEC_ROUND_DOWN, &p) == DEC_OK &&
          dec_format_trim(p, ps, sizeof ps) > 0);
    snprintf(q, sizeof q, "/_sim/price?symbol=BTCUSDT&price=%s", ps);
    CHECK(cu_sim_admin("POST", q) == 200);
}

/* The mid of BTCUSDT in Redis is within 0.3 % of entry * (100 + pct) / 100: the book has
 * followed a move. */
static int book_past(void *pct)
{
    struct dec b, a, f, lim, mid2, diff, tol;
    char *bs = tb_hget_member(cu_adm, "bfq:ticks", "BTCUSDT", "b");
    char *as = tb_hget_member(cu_adm, "bfq:ticks", "BTCUSDT", "a");
    int ok = bs && as && dec_parse(bs, (size_t)-1, &b) == DEC_OK &&
             dec_parse(as, (size_t)-1, &a) == DEC_OK && dec_parse(pct, (size_t)-1, &f) == DEC_OK &&
             dec_add(f, dec_from_int(100), &f) == DEC_OK && dec_mul(entry, f, &lim) == DEC_OK &&
             dec_add(b, a, &mid2) == DEC_OK &&
             dec_mul(mid2, dec_from_int(50), &mid2) == DEC_OK && /* mid * 100 */
             dec_sub(mid2, lim, &diff) == DEC_OK &&
             dec_mul(lim, (struct dec){3, 3}, &tol) == DEC_OK;
    free(bs);
    free(as);
    th_sleep_ms(50);
    return ok && dec_cmp(dec_abs(diff), tol) <= 0;
}

static int peak_above(void *v)
{
    char *s = tb_hget(cu_adm, "bfq:risk:peak:main", "equity");
    struct dec p, want;
    int ok = s && dec_parse(s, (size_t)-1, &p) == DEC_OK &&
             dec_parse(v, (size_t)-1, &want) == DEC_OK && dec_cmp(p, want) >= 0;
    free(s);
    return ok;
}

static void stays(const char *want, int ms);

static void price_and_wait(const char *pct)
{
    price_at(pct);
    CHECK(th_wait_until(book_past, (void *)pct, 10000));
}

/* A dip to `low` for 1.5 s and back to `back` changes nothing for `quiet` ms; the same dip
 * held sets `want` after about confirm_ms (returns when, from the book's move). */
static void dip_then_hold(const char *low, const char *back, int quiet, const char *want,
                          int64_t confirm_ms)
{
    price_and_wait(low);
    th_sleep_ms(1500);
    price_and_wait(back);
    stays("ACTIVE", quiet);
    price_and_wait(low);
    int64_t t1 = th_now_ms();
    CHECK(th_wait_until(state_is, (void *)want, 20000));
    fprintf(stderr, "# %s after %lld ms\n", want, (long long)(th_now_ms() - t1));
    CHECK(th_now_ms() - t1 >= confirm_ms - 1000); /* less the book's and the poll's lag */
}

static pid_t spawn_lg(const char *inst)
{
    const char *args[] = {"--instance", inst, "--poll", "1s", "--source-ip", "127.0.0.5", NULL};
    return cu_spawn("lossguard", "risk", args);
}

/* Nothing changes for ms: the state stays want. */
static void stays(const char *want, int ms)
{
    int64_t end = th_now_ms() + ms;
    while (th_now_ms() < end) {
        if (strcmp(state_now(), want)) {
            fprintf(stderr, "# state %s, want %s still\n", state_now(), want);
            CHECK(0);
            return;
        }
        th_sleep_ms(200);
    }
}

int main(void)
{
    pid_t pids[4];
    setenv("BFQ_SIM_VOLATILITY", "0.01", 1);
    int n = tt_stack(TT_USERSTREAM, pids);
    if (n != 2) return 1;

    /* a long of about 50000 USDT */
    char *ask = tb_hget_member(cu_adm, "bfq:ticks", "BTCUSDT", "a");
    struct dec a, q;
    char qty[32];
    CHECK(ask && dec_parse(ask, (size_t)-1, &a) == DEC_OK &&
          dec_div(dec_from_int(50000), a, 3, DEC_ROUND_DOWN, &q) == DEC_OK &&
          dec_format_trim(q, qty, sizeof qty) > 0);
    free(ask);
    CHECK(tb_market(&tt_acct, "BTCUSDT", "BUY", qty, NULL, NULL) == 200);
    CHECK(th_wait_until(tt_long, "BTCUSDT", 10000));
    char *en = tb_hget_member(cu_adm, "bfq:acct:main:pos", "BTCUSDT:BOTH", "entry");
    CHECK(en && dec_parse(en, (size_t)-1, &entry) == DEC_OK);
    fprintf(stderr, "# long %s BTCUSDT at %s\n", qty, en ? en : "?");
    free(en);

    setenv("BFQ_LOSSGUARD_DRAWDOWN_PCT", "1", 1);
    setenv("BFQ_LOSSGUARD_DRAWDOWN_CONFIRM", "8s", 1);
    setenv("BFQ_LOSSGUARD_DRAWDOWN_ACTION", "HALTED", 1);
    setenv("BFQ_LOSSGUARD_UPNL_LIMIT", "-1000000", 1); /* out of the way for now */
    pid_t lg = spawn_lg("lg");
    /* its first equity is the start's: the peak must then rise with the equity */
    CHECK(th_wait_until(peak_above, "99000", 15000));
    CHECK(!peak_above("100500"));

    /* the peak: the price up 4 % */
    price_and_wait("4");
    CHECK(th_wait_until(peak_above, "101500", 10000));
    char *pk = tb_hget(cu_adm, "bfq:risk:peak:main", "equity");
    fprintf(stderr, "# peak %s\n", pk ? pk : "?");
    free(pk);

    /* one bad tick, shorter than the confirmation: nothing; held: HALTED after it */
    dip_then_hold("-0.8", "4", 10000, "HALTED", 8000);
    char *why = tb_hget(cu_adm, "bfq:risk:state:main", "reason");
    fprintf(stderr, "# reason %s\n", why ? why : "?");
    CHECK(why && strstr(why, "drawdown guard"));
    free(why);
    /* the loss from the start is under the limit: the guard is the peak's */
    char *wal = tb_hget_member(cu_adm, "bfq:acct:main:bal", "USDT", "wallet");
    struct dec w, eq, up;
    char *hb = cu_str("GET bfq:hb:lossguard:lg");
    json_t *hj = hb ? json_loads(hb, 0, NULL) : NULL;
    const char *us = json_string_value(json_object_get(hj, "upnl"));
    CHECK(wal && us && dec_parse(wal, (size_t)-1, &w) == DEC_OK &&
          dec_parse(us, (size_t)-1, &up) == DEC_OK && dec_add(w, up, &eq) == DEC_OK);
    fprintf(stderr, "# equity %s + %s\n", wal ? wal : "?", us ? us : "?");
    CHECK(dec_cmp(eq, dec_from_int(99000)) > 0 && dec_cmp(eq, dec_from_int(100000)) < 0);
    json_decref(hj);
    free(hb);
    free(wal);
    CHECK(th_stop(lg, 5000) == 0);

    /* the uPnL breaker, after resume */
    const char *rargs[] = {"--reason", "test: breakers", NULL};
    CHECK(cu_run("resume", "risk", NULL, rargs, NULL, 10000) == 0);
    CHECK(state_is("ACTIVE"));
    price_and_wait("1");
    setenv("BFQ_LOSSGUARD_DRAWDOWN_PCT", "50", 1);
    setenv("BFQ_LOSSGUARD_UPNL_LIMIT", "-100", 1);
    setenv("BFQ_LOSSGUARD_UPNL_CONFIRM", "6s", 1);
    setenv("BFQ_LOSSGUARD_UPNL_ACTION", "REDUCING", 1);
    lg = spawn_lg("lg2");
    th_sleep_ms(2000);
    dip_then_hold("-2", "1", 8000, "REDUCING", 6000); /* about -1000 of uPnL */
    why = tb_hget(cu_adm, "bfq:risk:state:main", "reason");
    CHECK(why && strstr(why, "uPnL circuit breaker"));
    free(why);

    CHECK(th_stop(lg, 5000) == 0);
    int status[4];
    th_stop_all(pids, n, 5000, status);
    return th_done();
}
