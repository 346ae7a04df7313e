/* test_recorder_fleet: hundreds of fills over four symbols through the real order path (a
 * script of intents on bfq:intents:main, sent by `bfq gateway` to `bfq sim`), recorded by TWO
 * recorders of the same account (consumers r1 and r2 of the group "recorder"), one of them
 * killed -9 with a batch in flight:
 *
 * - the trades table equals the simulator's userTrades row for row and the income table its
 *   income history, with no duplicate (and order events are not doubled);
 * - the entries the dead recorder had read and not acknowledged are claimed by the other
 *   (XAUTOCLAIM after claim_idle): nothing stays pending, its heartbeat counts them;
 * - every fill carries the client class the intent gave its order. */
#include <signal.h>

#include <sys/wait.h>

#include "tests/integration/test_recorder_util.h"

#define NINTENTS 320

static struct rt t;

static void intent(int i)
{
    char id[32], qty[32], tb[32];
    const char *sym = rt_symbols[(i / 2) % RT_NSYM], *buy = i % 2 == 0 ? "BUY" : "SELL";
    snprintf(id, sizeof id, "fl%d", i);
    snprintf(qty, sizeof qty, "%s", rt_qty[(i / 2) % RT_NSYM]);
    snprintf(tb, sizeof tb, "%lld", (long long)th_now_ms());
    const char *argv[] = {"XADD", "bfq:intents:main", "*",     "id",   id,   "op",
                          "order", "sym",            sym,     "side", buy,  "type",
                          "MARKET", "qty",           qty,     "class", i % 2 == 0 ? "to" : "tc",
                          "src",   "test",           "t",     tb};
    redisReply *r = redisCommandArgv(t.rc, (int)(sizeof argv / sizeof argv[0]), argv, NULL);
    CHECK(r && r->type == REDIS_REPLY_STRING);
    if (r) freeReplyObject(r);
}

/* Entries pending for consumer `who` (XPENDING's summary), 0 when none. */
static long long pending_of(const char *who)
{
    redisReply *r = redisCommand(t.rc, "XPENDING bfq:events:main recorder");
    long long n = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
        r->element[3]->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i < r->element[3]->elements; i++) {
            const redisReply *c = r->element[3]->element[i];
            if (c->elements == 2 && !strcmp(c->element[0]->str, who))
                n = strtoll(c->element[1]->str, NULL, 10);
        }
    if (r) freeReplyObject(r);
    return n;
}

static int r1_has_pending(void *arg)
{
    (void)arg;
    return pending_of("r1") > 0;
}

static int has_tick(void *sym)
{
    char *v = tb_hget(t.rc, "bfq:ticks", sym);
    free(v);
    if (!v) th_sleep_ms(100);
    return v != NULL;
}

static int hb_up(void *inst)
{
    int ok = tb_hb_num(t.rc, "recorder", inst, "events") >= 0;
    if (!ok) th_sleep_ms(100);
    return ok;
}

static pid_t spawn_role(const char *user, const char *role, const char *inst, const char *ip,
                        const char *extra1, const char *extra2)
{
    char conf[512], log[512];
    snprintf(conf, sizeof conf, "%s/%s.ini", th_tmpdir(), user);
    rt_write_conf(conf, &t, user, "24h");
    snprintf(log, sizeof log, "%s/%s-%s.log", th_tmpdir(), role, inst);
    const char *argv[] = {th_bfq_bin(), role, "--config", conf, "--instance", inst,
                          "--source-ip", ip, extra1, extra2, NULL};
    return th_spawn(argv, log);
}

int main(void)
{
    if (rt_start(&t, "24h") < 0) return 1;
    char conf[512], *out = NULL;
    snprintf(conf, sizeof conf, "%s/symbols.ini", th_tmpdir());
    rt_write_conf(conf, &t, "symbols", "24h");
    const char *sym[] = {th_bfq_bin(), "symbols", "--config", conf, "--once", NULL};
    CHECK(th_run(sym, &out, 30000) == 0);
    free(out);
    pid_t tick = spawn_role("tick", "tick", "t0", "127.0.0.3", "--rate", "4");
    pid_t gw = spawn_role("gateway", "gateway", "g1", "127.0.0.4", NULL, NULL);
    pid_t us = rt_spawn(t.us_conf, "userstream", "us");
    pid_t r1 = rt_spawn(t.rec_conf, "recorder", "r1");
    pid_t r2 = rt_spawn(t.rec_conf, "recorder", "r2");
    for (int s = 0; s < RT_NSYM; s++) CHECK(th_wait_until(has_tick, (void *)rt_symbols[s], 10000));
    CHECK(th_wait_until(hb_up, "r1", 10000) && th_wait_until(hb_up, "r2", 10000));
    th_sleep_ms(500); /* the user stream connected */
    /* the script: 20 intents a second, under the gateway's order-rate limit */
    for (int i = 0; i < NINTENTS; i++) {
        intent(i);
        if (i % 10 == 9) th_sleep_ms(500);
        if (i == NINTENTS / 2) {
            /* both recorders hold a batch MariaDB does not answer; r1 dies with its own */
            kill(t.db.pid, SIGSTOP);
            for (int k = 0; k < 6; k++) intent(NINTENTS + k);
            CHECK(th_wait_until(r1_has_pending, NULL, 5000));
            kill(r1, SIGKILL);
            th_stop(r1, 5000);
            kill(t.db.pid, SIGCONT);
        }
    }
    rt_income(&t, "FUNDING_FEE", "-0.5", "BTCUSDT");
    int n = 0;
    th_sleep_ms(1500); /* the gateway's last orders */
    free(rt_sim_trades(&t, &n));
    fprintf(stderr, "fills at the exchange: %d\n", n);
    CHECK(n >= 200);
    rt_check_equal(&t, 30000, "after the run");
    CHECK(rt_pending(&t) == 0);
    CHECK(pending_of("r1") == 0);
    CHECK(tb_hb_num(t.rc, "recorder", "r2", "claimed") > 0);
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.order_events") ==
          rt_sql_num(&t, "SELECT COUNT(*) FROM (SELECT DISTINCT account, symbol, order_id,"
                         " exec_type, status, trade_id, trans_ms FROM bfq.order_events) x"));
    CHECK(rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.trades WHERE client_class NOT IN ('to', 'tc')"
                         " OR client_class IS NULL") == 0);
    CHECK(rt_sql_num(&t, "SELECT COUNT(DISTINCT symbol) FROM bfq.trades") == RT_NSYM);
    CHECK(th_alive(r2) && th_alive(gw) && th_alive(us));
    int st = th_stop(r2, 10000);
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    pid_t rest[] = {gw, us, tick};
    int sts[3];
    th_stop_all(rest, 3, 5000, sts);
    th_mariadb_stop(&t.db);
    redisFree(t.rc);
    th_sim_stop(&t.sim);
    th_redis_stop(&t.redis);
    return th_done();
}
