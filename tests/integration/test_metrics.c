/* test_metrics: `bfq metrics` against a real stack (redis-server with the ACL users, `bfq sim`,
 * symbols, tick, kline, userstream, account, positionrisk and a gateway), read as the
 * read-only user `status`, and checked by Prometheus's own parser: `promtool check metrics`
 * must exit 0 and print nothing (no error, no lint warning), with an account whose name holds
 * a quote, a backslash and a newline (label escaping on the real path). The figures must be
 * Redis's: one instance per role, the records of bfq:ticks, the weight of the kline IP's
 * minute (between two reads around the run), the gateway's intent counters, a position's
 * notional |amt| * mid and uPnL amt * (mid - entry) exactly (the tick collector stopped so the
 * book holds still), the ban list, XLEN of bfq:alerts, the trading state after `bfq kill` and
 * `bfq resume`, and --account. Redis unreachable: exit 1 and one line on stderr. Skips (77)
 * when promtool (Debian's prometheus package) is missing. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dash/metrics.h"
#include "tests/integration/test_trader_util.h"

#define PROMTOOL "/usr/bin/promtool"
#define WEIRD "we\"ird\\acct\nx"

/* `bfq metrics` as the read-only user (args NULL-terminated, may be NULL); *out malloc'd. */
static int run_metrics(const char *const *args, char **out)
{
    return cu_run("metrics", "status", NULL, args, out, 20000);
}

/* promtool check metrics on text: its exit status, its whole output in *said (malloc'd). */
static int promtool(const char *text, char **said)
{
    char path[512], cmd[1100];
    snprintf(path, sizeof path, "%s/metrics.prom", th_tmpdir());
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, PROMTOOL " check metrics < '%s' 2>&1", path);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return th_run(argv, said, 20000);
}

/* The value of the sample line that starts with "name{labels} " (or "name "), or NULL. */
static const char *value_of(const char *text, const char *series, char *buf, size_t cap)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, series, n) || p[n] != ' ') continue;
        size_t l = strcspn(p + n + 1, "\n");
        snprintf(buf, cap, "%.*s", (int)l, p + n + 1);
        return buf;
    }
    fprintf(stderr, "# no sample %s\n", series);
    return NULL;
}

static long long int_of(const char *text, const char *series)
{
    char buf[64];
    const char *v = value_of(text, series, buf, sizeof buf);
    return v ? strtoll(v, NULL, 10) : -1;
}

/* Nonzero when the sample's value is exactly the decimal want. */
static int dec_of(const char *text, const char *series, struct dec want)
{
    char buf[64], w[DEC_STR_MAX];
    const char *v = value_of(text, series, buf, sizeof buf);
    struct dec got;
    if (!v || dec_parse(v, (size_t)-1, &got) != DEC_OK) return 0;
    if (dec_cmp(got, want) == 0) return 1;
    dec_format(want, w, sizeof w);
    fprintf(stderr, "# %s: got %s, want %s\n", series, v, w);
    return 0;
}

static char *metrics_now(void)
{
    char *out = NULL;
    CHECK(run_metrics(NULL, &out) == 0 && out);
    return out ? out : strdup("");
}

static void check_parser(const char *text)
{
    char *said = NULL;
    int rc = promtool(text, &said);
    CHECK(rc == 0);
    CHECK(said && said[0] == '\0');
    if (rc != 0 || (said && said[0]))
        fprintf(stderr, "# promtool (%d): %s\n", rc, said ? said : "");
    free(said);
}

static int kline_spent(void *arg)
{
    (void)arg;
    return cu_int("GET bfq:weight:127.0.0.3:%lld", th_now_ms() / 60000) > 0;
}

/* The kline IP's weight of this minute, read just before and just after a run, bounds the run's
 * figure (it only grows within a minute); a run across a minute edge is tried again, and a
 * run starts only once the collector has spent weight in the minute. */
static void check_weight(void)
{
    for (int tries = 0; tries < 3; tries++) {
        if (th_now_ms() % 60000 > 55000) usleep((useconds_t)(61000 - th_now_ms() % 60000) * 1000);
        CHECK(th_wait_until(kline_spent, NULL, 10000));
        long long m0 = th_now_ms() / 60000;
        long long before = cu_int("GET bfq:weight:127.0.0.3:%lld", m0);
        char *t = metrics_now();
        long long after = cu_int("GET bfq:weight:127.0.0.3:%lld", m0);
        long long got = int_of(t, "bfq_weight_used{ip=\"127.0.0.3\"}");
        long long budget = int_of(t, "bfq_weight_budget{ip=\"127.0.0.3\"}");
        free(t);
        if (th_now_ms() / 60000 != m0) continue;
        CHECK(before > 0 && before <= got && got <= after);
        CHECK(budget == 2400 * 90 / 100);
        return;
    }
    CHECK(!"three runs across minute edges");
}

static void check_roles(const char *t)
{
    static const char *const roles[] = {"tick",    "kline",        "userstream",
                                        "account", "positionrisk", "gateway"};
    char series[96];
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        snprintf(series, sizeof series, "bfq_instances{role=\"%s\"}", roles[i]);
        CHECK(int_of(t, series) == 1);
    }
    CHECK(int_of(t, "bfq_requests_total{role=\"kline\"}") > 0);
    CHECK(int_of(t, "bfq_requests_total{role=\"positionrisk\"}") >= 1);
    CHECK(int_of(t, "bfq_errors_total{role=\"kline\",kind=\"5xx\"}") == 0);
    CHECK(int_of(t, "bfq_data_records{kind=\"ticks\"}") == cu_int("HLEN bfq:ticks"));
    CHECK(int_of(t, "bfq_data_records{kind=\"ticks\"}") == 10);
    CHECK(int_of(t, "bfq_data_records{kind=\"kline_1m\"}") > 0);
    CHECK(int_of(t, "bfq_account_source_age_seconds{account=\"main\",source=\"userstream\"}") >= 0);
    CHECK(strstr(t, "bfq_account_source_age_seconds{account=\"main\",source=\"positionrisk\"}"));
    CHECK(int_of(t, "bfq_intents_total{account=\"main\",outcome=\"sent\"}") ==
          tt_hb("gateway", "g1", "sent"));
    CHECK(int_of(t, "bfq_intents_total{account=\"main\",outcome=\"sent\"}") >= 1);
    CHECK(int_of(t, "bfq_positions{account=\"main\"}") == 1);
}

/* A decimal member of a JSON value in a hash field (admin connection). */
static struct dec member_dec(const char *key, const char *field, const char *member)
{
    char *s = tb_hget_member(cu_adm, key, field, member);
    struct dec d = {0, 0};
    CHECK(s && dec_parse(s, (size_t)-1, &d) == DEC_OK);
    free(s);
    return d;
}

/* With the book still: notional = |amt| * (bid + ask) / 2, uPnL = amt * (mid - entry). */
static void check_money(void)
{
    struct dec amt = member_dec("bfq:acct:main:pos", "ETHUSDT:BOTH", "amt");
    struct dec entry = member_dec("bfq:acct:main:pos", "ETHUSDT:BOTH", "entry");
    struct dec b = member_dec("bfq:ticks", "ETHUSDT", "b"),
               a = member_dec("bfq:ticks", "ETHUSDT", "a");
    struct dec sum, mid, notional, diff, upnl, wallet, equity;
    CHECK(dec_add(b, a, &sum) == DEC_OK);
    CHECK(dec_div(sum, dec_from_int(2), sum.scale + 1, DEC_ROUND_DOWN, &mid) == DEC_OK);
    CHECK(dec_mul(dec_abs(amt), mid, &notional) == DEC_OK);
    CHECK(dec_sub(mid, entry, &diff) == DEC_OK && dec_mul(amt, diff, &upnl) == DEC_OK);
    wallet = member_dec("bfq:acct:main:bal", "USDT", "wallet");
    CHECK(dec_add(wallet, upnl, &equity) == DEC_OK);
    char *t = metrics_now();
    CHECK(dec_of(t, "bfq_notional_usdt{account=\"main\"}", notional));
    CHECK(dec_of(t, "bfq_upnl_usdt{account=\"main\"}", upnl));
    CHECK(dec_of(t, "bfq_wallet_usdt{account=\"main\"}", wallet));
    CHECK(dec_of(t, "bfq_equity_usdt{account=\"main\"}", equity));
    CHECK(int_of(t, "bfq_positions_unpriced{account=\"main\"}") == 0);
    free(t);
}

static void check_state(const char *cmd, const char *want)
{
    const char *args[] = {"--reason", "test_metrics", NULL};
    char series[96];
    CHECK(cu_run(cmd, "risk", NULL, args, NULL, 20000) == 0);
    char *t = metrics_now();
    for (int k = 0; k < METRICS_STATES; k++) {
        snprintf(series, sizeof series, "bfq_trading_state{account=\"main\",state=\"%s\"}",
                 metrics_state_names[k]);
        CHECK(int_of(t, series) == !strcmp(metrics_state_names[k], want));
    }
    CHECK(int_of(t, "bfq_alerts") == cu_int("XLEN bfq:alerts"));
    CHECK(int_of(t, "bfq_alerts") >= 1);
    check_parser(t);
    free(t);
}

static void check_account_option(void)
{
    const char *args[] = {"--account", "main", NULL};
    char *t = NULL;
    CHECK(run_metrics(args, &t) == 0 && t);
    if (!t) return;
    CHECK(strstr(t, "account=\"main\"") != NULL);
    CHECK(strstr(t, "ird") == NULL);
    CHECK(strstr(t, "bfq_instances{role=\"kline\"}") != NULL);
    check_parser(t);
    free(t);
}

static void check_unreachable(void)
{
    char url[64], log[512];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", th_free_port());
    snprintf(log, sizeof log, "%s/unreachable.err", th_tmpdir());
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "'%s' metrics --redis %s 2>'%s'", th_bfq_bin(), url, log);
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *out = NULL;
    CHECK(th_run(argv, &out, 10000) == 1);
    CHECK(out && out[0] == '\0');
    free(out);
    FILE *f = fopen(log, "r");
    char line[512] = "", extra[8];
    CHECK(f && fgets(line, sizeof line, f) && !fgets(extra, sizeof extra, f));
    if (f) fclose(f);
    CHECK(!strncmp(line, "bfq metrics: ", 13) && strstr(line, "127.0.0.1"));
}

static int hb_sent(void *arg)
{
    (void)arg;
    return tt_hb("gateway", "g1", "sent") >= 1;
}

/* Both polling sources have written and their heartbeats count a request. */
static int polled(void *arg)
{
    (void)arg;
    return cu_int("HEXISTS bfq:acct:main:src:account seen") == 1 &&
           cu_int("HEXISTS bfq:acct:main:src:positionrisk seen") == 1 &&
           tt_hb("account", "ac", "requests") >= 1 && tt_hb("positionrisk", "pr", "requests") >= 1;
}

int main(void)
{
    pid_t pids[8];
    if (access(PROMTOOL, X_OK) != 0) {
        printf("skipped: %s is missing (Debian package prometheus; scripts/bootstrap)\n", PROMTOOL);
        return 77;
    }
    int n = tt_stack(TT_KLINE | TT_USERSTREAM, pids);
    if (n < 0) return 1;
    const char *aargs[] = {"--instance", "ac", NULL}, *pargs[] = {"--instance", "pr", NULL};
    const char *gargs[] = {"--instance", "g1", NULL};
    pids[n++] = cu_spawn("account", "account", aargs);
    pids[n++] = cu_spawn("positionrisk", "account", pargs);
    pids[n++] = cu_spawn("gateway", NULL, gargs);
    tt_intent("id=m1", "op=order", "sym=ETHUSDT", "side=BUY", "type=MARKET", "qty=0.050",
              "class=to", "src=test", NULL);
    CHECK(tt_is("m1", "sent", NULL, 15000));
    CHECK(th_wait_until(tt_long, "ETHUSDT", 10000));
    CHECK(th_wait_until(hb_sent, NULL, 5000));
    CHECK(th_wait_until(polled, NULL, 10000));
    CHECK(cu_int("HSET bfq:acct:%s:pos BTCUSDT:BOTH %s", WEIRD,
                 "{\"amt\":\"0\",\"entry\":\"0\",\"upnl\":\"0\",\"t\":1,\"src\":\"test\"}") == 1);
    freeReplyObject(cu_cmd("HSET bfq:risk:ban symbols [\"BTCUSDT\",\"ALL\"] t 1 src test"));
    char *t = metrics_now();
    check_parser(t);
    check_roles(t);
    CHECK(int_of(t, "bfq_bans") == 2 && int_of(t, "bfq_ban_all") == 1);
    CHECK(strstr(t, "bfq_positions{account=\"we\\\"ird\\\\acct\\nx\"} 0\n") != NULL);
    free(t);
    check_weight();
    check_account_option();
    CHECK(WEXITSTATUS(th_stop(pids[0], 5000)) == 0); /* the tick collector: the book holds */
    check_money();
    check_state("kill", "HALTED");
    check_state("resume", "ACTIVE");
    check_unreachable();
    return th_done();
}
