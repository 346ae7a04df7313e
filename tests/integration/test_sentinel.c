/* test_sentinel: every role follows a Redis Sentinel failover (issue 13, item 4).
 *
 * On loopback: a primary and a replica with the project's ACL users (the replica logs in as
 * `replica`, the sentinels as `sentinel`: redis/users.acl.in), three sentinels watching them
 * (down-after 1 s), `bfq sim`, and the roles symbols, kline, tick, volume, account,
 * positionrisk and userstream, each given --redis redis+sentinel://USER:PASS@s1,s2,s3/bfq.
 * Once every role writes, SENTINEL FAILOVER promotes the replica: from the moment the
 * sentinels name the new primary, every role must write its heartbeat there within 5 s, and
 * ticks, klines and both polled account sources must be fresh there again. Then the new
 * primary is stopped outright (the old one, now its replica, takes over after the sentinels
 * agree it is down) and the same must hold. Before, `--redis` took one address: the roles
 * stayed on a demoted or dead server. One more kline collector runs under valgrind's leak
 * check through both failovers (the sentinel queries, the reconnects) and must exit 0 on
 * SIGTERM (skipped in a sanitizer build or without valgrind). And a subscriber rconn in this
 * process (user status, bfq:ch:tick, the same Sentinel URL) must be subscribed on the new
 * primary after each failover and receive the tick collector's messages there. */
#include <ev.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core/rconn.h"
#include "tests/harness/harness.h"
#include "tests/harness/sentinel.h"
#include "tests/harness/testloop.h"
#include "tests/harness/testbinance.h"
#include "tests/integration/test_collect_util.h"

#define KEY "sentinelkey0123456789"
#define SECRET "sentinelsecret0123456789abcdef"
#define FOLLOW_MS 5000 /* the bound, from the sentinels' switch to a heartbeat */
#define FRESH_MS 10000 /* data fresh again: a poll period or two after the heartbeat */

struct role {
    const char *name, *user;
    pid_t pid;
};

static struct role roles[] = {
    {"symbols", "symbols", 0}, {"kline", "kline", 0},     {"tick", "tick", 0},
    {"volume", "volume", 0},   {"account", "account", 0}, {"positionrisk", "account", 0},
    {"userstream", "account", 0},
};
#define NROLES ((int)(sizeof roles / sizeof roles[0]))

static struct th_sentinel S;
static struct th_sim sim;
static char conf[512];
static pid_t vg_pid;
static char vg_log[600];

/* ---- a subscriber in this process ------------------------------------------------------ */

static struct ev_loop *loop;
static struct rconn *sub;
static int sub_ups, sub_msgs;

static void on_sub_up(struct rconn *rc, void *privdata)
{
    (void)rc;
    (void)privdata;
    sub_ups++;
}

static void on_tick_msg(struct rconn *rc, const char *channel, const char *payload, size_t len,
                        void *privdata)
{
    (void)rc;
    (void)channel;
    (void)payload;
    (void)len;
    (void)privdata;
    sub_msgs++;
}

static void start_subscriber(void)
{
    char url[512], err[RCONN_ERR_MAX];
    loop = ev_default_loop(0);
    th_sentinel_url(&S, "status", url, sizeof url);
    struct rconn_options o = {.url = url, .name = "sentinel-sub"};
    struct rconn_callbacks cb = {.up = on_sub_up};
    sub = rconn_new(loop, &o, &cb, err, sizeof err);
    CHECK(sub != NULL);
    if (!sub) return;
    CHECK(rconn_subscribe(sub, "bfq:ch:tick", on_tick_msg, NULL) == 0);
    CHECK(th_loop_until(loop, &sub_ups, 1, 5000));
}

/* The subscriber is subscribed on the server at port: CLIENT LIST there names it. */
static int sub_on(int port)
{
    redisContext *c = tb_redis(port, 1);
    redisReply *r = c ? redisCommand(c, "CLIENT LIST TYPE pubsub") : NULL;
    int on = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "name=sentinel-sub");
    freeReplyObject(r);
    if (c) redisFree(c);
    return on;
}

/* The subscriber, its loop run again, came up again (ups: its up count before the switch),
 * is subscribed on the server at port and gets tick messages there. */
static void check_subscriber(int port, int ups)
{
    if (!sub) return;
    CHECK(th_loop_until(loop, &sub_ups, ups + 1, FOLLOW_MS)); /* resubscribed after a reconnect */
    sub_msgs = 0;
    CHECK(th_loop_until(loop, &sub_msgs, 1, FOLLOW_MS));
    CHECK(sub_on(port));
}

/* ---- roles and freshness --------------------------------------------------------------- */

static void write_config(void)
{
    snprintf(conf, sizeof conf, "%s/bfq.ini", th_tmpdir());
    cu_write_roles_config(conf, sim.url, KEY, SECRET);
}

static void spawn_role(struct role *r)
{
    r->pid = th_sentinel_spawn(&S, r->name, r->user, conf);
}

/* A second kline collector (instance "vg") under valgrind, when it can run. */
static void spawn_valgrind_kline(void)
{
#ifndef BFQ_SANITIZED
    const char *probe[] = {"valgrind", "--version", NULL};
    if (th_run(probe, NULL, 10000) != 0) return;
    char url[512], log[512], logopt[640];
    th_sentinel_url(&S, "kline", url, sizeof url);
    snprintf(vg_log, sizeof vg_log, "%s/kline-vg.valgrind", th_tmpdir());
    snprintf(logopt, sizeof logopt, "--log-file=%s", vg_log);
    snprintf(log, sizeof log, "%s/kline-vg.log", th_tmpdir());
    const char *argv[] = {"valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                          "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=9",
                          "--track-fds=no", "--num-callers=30", logopt, th_bfq_bin(), "kline",
                          "--config", conf, "--redis", url, "--instance", "vg", NULL};
    vg_pid = th_spawn(argv, log);
#endif
}

static long long hb_t_of(const char *role, const char *instance)
{
    return cu_hb_int(role, instance, "t");
}

static long long hb_t(const struct role *r)
{
    return hb_t_of(r->name, r->name);
}

static long long since, first[NROLES];

/* The valgrind collector writes its heartbeat on the current primary after `since`. */
static int vg_beat(void *arg)
{
    (void)arg;
    return hb_t_of("kline", "vg") > since;
}

/* Every heartbeat written after `since` (first[i] notes when role i's first one was). */
static int all_beat(void *arg)
{
    (void)arg;
    int beats = 0;
    for (int i = 0; i < NROLES; i++) {
        long long t = hb_t(&roles[i]);
        if (t > since && !first[i]) first[i] = t;
        beats += t > since;
    }
    return beats == NROLES;
}

static int all_fresh(void *arg)
{
    return all_beat(arg) && cu_ticks_max_t() > since && cu_klines_max_t() > since &&
           cu_src_seen("account") > since && cu_src_seen("positionrisk") > since;
}

static void reset_since(long long t)
{
    since = t;
    memset(first, 0, sizeof first);
}

static void use_primary(int port)
{
    if (cu_adm) redisFree(cu_adm);
    cu_adm = tb_redis(port, 1);
    CHECK(cu_adm != NULL);
}

/* Waits until every sentinel names port; then every role must beat there within FOLLOW_MS
 * and the data be fresh within FRESH_MS. */
static void check_follow(int port, const char *what)
{
    CHECK(th_sentinel_wait_master(&S, port, 20000));
    long long switched = th_now_ms();
    use_primary(port);
    if (!cu_adm) return;
    reset_since(switched);
    CHECK(th_wait_until(all_beat, NULL, FOLLOW_MS));
    for (int i = 0; i < NROLES; i++) {
        fprintf(stderr, "# %-12s first heartbeat on the new primary %lld ms after %s\n",
                roles[i].name, first[i] ? first[i] - switched : -1, what);
        CHECK(first[i] > 0 && first[i] - switched <= FOLLOW_MS);
    }
    CHECK(th_wait_until(all_fresh, NULL, FRESH_MS));
    for (int i = 0; i < NROLES; i++) CHECK(th_alive(roles[i].pid));
}

/* The one-shot commands take the Sentinel URL too: redis-setup loads the library on the
 * new primary (FUNCTION LOAD on a replica would fail READONLY), status reads it. */
static void test_oneshot_commands(void)
{
    char url[512];
    const char *who[] = {"admin", "status"};
    const char *cmd[] = {"redis-setup", "status"};
    for (int i = 0; i < 2; i++) {
        snprintf(url, sizeof url, "redis+sentinel://%s:test-%s@127.0.0.1:%d,127.0.0.1:%d/bfq",
                 who[i], who[i], S.sent_port[1], S.sent_port[2]);
        const char *argv[] = {th_bfq_bin(), cmd[i], "--redis", url, NULL};
        char *out = NULL;
        int rc = th_run(argv, &out, 10000);
        if (rc != 0) fprintf(stderr, "# bfq %s: %d: %s\n", cmd[i], rc, out ? out : "");
        CHECK(rc == 0);
        free(out);
    }
}

int main(void)
{
    if (th_sentinel_start(&S) < 0) return 1;
    use_primary(S.prim.port);
    if (!cu_adm) return th_done();
    const char *simargs[] = {"--account", "main:" KEY ":" SECRET ":10000", "--symbols", "20",
                             "--weight-limit", "1000000", NULL};
    if (th_sim_start(&sim, simargs) < 0) return 1;
    write_config();
    for (int i = 0; i < NROLES; i++) spawn_role(&roles[i]);
    spawn_valgrind_kline();
    reset_since(th_now_ms());
    CHECK(th_wait_until(all_fresh, NULL, 20000));
    start_subscriber();
    CHECK(th_loop_until(loop, &sub_msgs, 1, 5000));
    CHECK(sub_on(S.prim.port));
    int ups = sub_ups;

    /* an ordered failover: the replica becomes the primary, the old primary its replica */
    CHECK(th_sentinel_failover(&S) == 0);
    check_follow(S.replica_port, "SENTINEL FAILOVER");
    check_subscriber(S.replica_port, ups);
    ups = sub_ups;
    test_oneshot_commands();

    /* the new primary dies: once the old one is its replica (Sentinel demotes a former
     * primary that still runs some 10 s after the switch, which is why the roles must not wait
     * for that), it is promoted back */
    CHECK(th_sentinel_wait_synced(S.prim.port, 20000));
    th_stop(S.replica_pid, 5000);
    check_follow(S.prim.port, "the primary died");
    check_subscriber(S.prim.port, ups);
    if (sub) rconn_free(sub);

    if (vg_pid > 0) {
        CHECK(th_wait_until(vg_beat, NULL, 20000)); /* valgrind is 20-50x slower */
        int st = th_stop(vg_pid, 30000);
        if (!(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            char cmd[700];
            snprintf(cmd, sizeof cmd, "grep -A30 'definitely lost\\|Invalid' '%s' >&2", vg_log);
            const char *argv[] = {"sh", "-c", cmd, NULL};
            th_run(argv, NULL, 5000);
        }
        CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    pid_t pids[NROLES];
    int st[NROLES];
    for (int i = 0; i < NROLES; i++) pids[i] = roles[i].pid;
    th_stop_all(pids, NROLES, 10000, st);
    for (int i = 0; i < NROLES; i++)
        CHECK(st[i] >= 0 && WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
    if (cu_adm) redisFree(cu_adm);
    th_sim_stop(&sim);
    th_sentinel_stop(&S);
    return th_done();
}
