/* test_sentinel_trading: the trading half follows a Redis Sentinel failover, and traders do not
 * open while the account's data is stale (issue 13, item 4; issue 11, item 6).
 *
 * On loopback: a primary, a replica and three Sentinels (tests/harness/sentinel), `bfq sim`, a
 * private MariaDB, and every role on a redis+sentinel:// URL with its own ACL user: the tick,
 * kline and userstream collectors, `bfq watchdog` (sources account and positionrisk, stale
 * after 1 s), `bfq gateway`, `bfq trader --strategy demo` (open_pct -100: every flat symbol is
 * a signal to open at every change), `bfq stoploss` and `bfq recorder`. The account's polled
 * sources are not started yet, so the watchdog flags the account stale, and the trader, which
 * starts only once the flag is set, must emit nothing. SENTINEL FAILOVER then promotes the
 * replica during that activity: every role must write its heartbeat on the new primary within
 * 5 s of the Sentinels' switch, the trader must still count its signals as skipped
 * "account_stale" there and no intent may exist. Then `bfq account` and `bfq positionrisk`
 * start: the data is fresh again on the new primary (ticks, klines, both sources), the watchdog
 * clears the flag, the trader opens (the gateway's outcome "sent" on the new primary), the
 * position gets its stop ladder from stoploss through the gateway, and the recorder's trades
 * arrive in MariaDB. */
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/harness/harness.h"
#include "tests/harness/mariadb.h"
#include "tests/harness/sentinel.h"
#include "tests/harness/testbinance.h"
#include "tests/integration/test_trader_util.h"

#define KEY "sentradekey0123456789"
#define SECRET "sentradesecret0123456789abcdef"
#define FOLLOW_MS 5000 /* the bound, from the Sentinels' switch to a heartbeat */
#define FRESH_MS 10000

struct role {
    const char *name, *user;
    pid_t pid;
};

/* index 0..3: started first; 4..7: once the account is flagged stale; 8, 9: after the switch */
static struct role roles[] = {
    {"tick", "tick", 0},         {"kline", "kline", 0},        {"userstream", "account", 0},
    {"watchdog", "watchdog", 0}, {"gateway", "gateway", 0},    {"trader", "trader", 0},
    {"stoploss", "risk", 0},     {"recorder", "recorder", 0},  {"account", "account", 0},
    {"positionrisk", "account", 0},
};
#define NROLES ((int)(sizeof roles / sizeof roles[0]))
#define NFOLLOW 8 /* the roles running through the switch */

static struct th_sentinel S;
static struct th_sim sim;
static struct th_mariadb db;
static char conf[512];

static void write_config(void)
{
    snprintf(conf, sizeof conf, "%s/bfq.ini", th_tmpdir());
    cu_write_roles_config(conf, sim.url, KEY, SECRET);
    FILE *f = fopen(conf, "a");
    if (!f) return;
    fprintf(f,
            "[watchdog]\nevery = 200ms\nsources = account,positionrisk\nstale_after = 1s\n"
            "[mysql]\nurl = %s\n[recorder]\npoll = 50ms\nincome_every = 2s\n",
            db.recorder_url);
    fclose(f);
}

static void spawn_role(struct role *r)
{
    r->pid = th_sentinel_spawn(&S, r->name, r->user, conf);
}

static void use_primary(int port)
{
    if (cu_adm) redisFree(cu_adm);
    cu_adm = tb_redis(port, 1);
    CHECK(cu_adm != NULL);
}

/* ---- what the roles wrote ----------------------------------------------------------------- */

static long long since, first[NROLES];

static int all_beat(void *arg)
{
    int n = *(int *)arg, beats = 0;
    for (int i = 0; i < n; i++) {
        long long t = cu_hb_int(roles[i].name, roles[i].name, "t");
        if (t > since && !first[i]) first[i] = t;
        beats += t > since;
    }
    return beats == n;
}

static int flag_set(void *arg)
{
    (void)arg;
    redisReply *r = cu_cmd("HEXISTS bfq:acct:main:flags stale");
    int set = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
    if (r) freeReplyObject(r);
    return set;
}

static int flag_clear(void *arg)
{
    return !flag_set(arg);
}

static int trader_stale(void *arg)
{
    (void)arg;
    return tt_trader_ready("trader") && tt_account_stale("trader") == 1;
}

static long long skips_at;

static int more_skips(void *arg)
{
    (void)arg;
    return tt_skips("trader", "account_stale") > skips_at;
}

/* Outcomes "sent" by the gateway whose client id has class cls ("to", "sl"). */
static int sent_of(void *arg)
{
    const char *cls = arg;
    char want[16];
    int n = 0;
    snprintf(want, sizeof want, "\"%s_", cls);
    redisReply *keys = cu_cmd("KEYS bfq:intent:main:*");
    for (size_t i = 0; keys && keys->type == REDIS_REPLY_ARRAY && i < keys->elements; i++) {
        char *v = cu_str("GET %s", keys->element[i]->str);
        if (v && strstr(v, "\"status\":\"sent\"") && strstr(v, want)) n++;
        free(v);
    }
    if (keys) freeReplyObject(keys);
    return n;
}

static int trades_recorded(void *arg)
{
    char *out = NULL;
    (void)arg;
    int rc = th_mariadb_sql(&db, "SELECT COUNT(*) FROM bfq.trades", &out);
    long n = rc == 0 && out ? strtol(out, NULL, 10) : 0;
    free(out);
    return n > 0;
}

static int fresh_again(void *arg)
{
    (void)arg;
    return cu_ticks_max_t() > since && cu_klines_max_t() > since &&
           cu_src_seen("account") > since && cu_src_seen("positionrisk") > since;
}

int main(void)
{
    if (th_sentinel_start(&S) < 0) return 1;
    use_primary(S.prim.port);
    const char *simargs[] = {"--account", "main:" KEY ":" SECRET ":100000", "--symbols", "10",
                             "--weight-limit", "1000000", NULL};
    if (!cu_adm || th_sim_start(&sim, simargs) < 0 || th_mariadb_start(&db, 1) < 0)
        return th_done();
    write_config();
    /* the strategy's section is the trader's alone (the other roles would warn about it) */
    setenv("BFQ_STRATEGY_DEMO_OPEN_PCT", "-100", 1);
    setenv("BFQ_STRATEGY_DEMO_MAX_POSITIONS", "1", 1);
    char url[512];
    th_sentinel_url(&S, "symbols", url, sizeof url);
    const char *once[] = {th_bfq_bin(), "symbols", "--config", conf, "--redis", url, "--once",
                          NULL};
    CHECK(th_run(once, NULL, 30000) == 0);

    /* the data half, without the account's polls: the watchdog flags the account stale */
    for (int i = 0; i < 4; i++) spawn_role(&roles[i]);
    CHECK(th_wait_until(flag_set, NULL, 15000));
    for (int i = 4; i < NFOLLOW; i++) spawn_role(&roles[i]);
    since = th_now_ms();
    int n = NFOLLOW;
    CHECK(th_wait_until(all_beat, &n, 20000));
    CHECK(th_wait_until(trader_stale, NULL, 15000));
    skips_at = tt_skips("trader", "account_stale");
    CHECK(th_wait_until(more_skips, NULL, 10000)); /* the strategy does signal */
    CHECK(tt_intents() == 0);

    /* the failover, with every role at work */
    CHECK(th_sentinel_failover(&S) == 0);
    CHECK(th_sentinel_wait_master(&S, S.replica_port, 20000));
    long long switched = th_now_ms();
    use_primary(S.replica_port);
    if (!cu_adm) return th_done();
    since = switched;
    memset(first, 0, sizeof first);
    CHECK(th_wait_until(all_beat, &n, FOLLOW_MS));
    for (int i = 0; i < NFOLLOW; i++) {
        fprintf(stderr, "# %-12s first heartbeat on the new primary %lld ms after the switch\n",
                roles[i].name, first[i] ? first[i] - switched : -1);
        CHECK(first[i] > 0 && first[i] - switched <= FOLLOW_MS);
    }
    /* still stale there: signals skipped on the new primary, no intent anywhere */
    skips_at = tt_skips("trader", "account_stale");
    CHECK(th_wait_until(more_skips, NULL, 10000));
    CHECK(flag_set(NULL));
    fprintf(stderr, "# stale: %lld signals skipped, %lld intents\n",
            tt_skips("trader", "account_stale"), tt_intents());
    CHECK(tt_intents() == 0);

    /* the account's sources start: fresh again, the flag clears, the trader opens */
    for (int i = NFOLLOW; i < NROLES; i++) spawn_role(&roles[i]);
    CHECK(th_wait_until(fresh_again, NULL, FRESH_MS));
    CHECK(th_wait_until(flag_clear, NULL, FRESH_MS));
    long long fresh = th_now_ms();
    CHECK(th_wait_until(sent_of, "to", 15000));
    fprintf(stderr, "# first open sent %lld ms after the data was fresh\n", th_now_ms() - fresh);
    CHECK(th_wait_until(sent_of, "sl", 20000));  /* the stop ladder, through the gateway */
    CHECK(th_wait_until(trades_recorded, NULL, 20000)); /* the recorder's writes arrive */
    CHECK(all_beat(&(int){NROLES}));

    pid_t pids[NROLES];
    int st[NROLES];
    for (int i = 0; i < NROLES; i++) pids[i] = roles[i].pid;
    th_stop_all(pids, NROLES, 10000, st);
    for (int i = 0; i < NROLES; i++) {
        if (!(st[i] >= 0 && WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0))
            fprintf(stderr, "# %s: status %d\n", roles[i].name, st[i]);
        CHECK(st[i] >= 0 && WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
    }
    if (cu_adm) redisFree(cu_adm);
    cu_adm = NULL;
    th_mariadb_stop(&db);
    th_sim_stop(&sim);
    th_sentinel_stop(&S);
    return th_done();
}
