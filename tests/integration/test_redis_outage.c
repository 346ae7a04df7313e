/* test_redis_outage: every role against a Redis that stops being usable without closing the
 * connection, against `bfq sim` and a real redis-server with the project's ACL users.
 *
 * Read-only (item 10) first, then the black hole (item 9), each independent of the other's fix.
 *
 * Black hole (issue 8, item 9): every role reaches Redis through the harness's freezing
 * proxy. Once all of them write, the proxy freezes the open connections (reads and drops,
 * never forwards, never closes) while new connections pass. Every role must notice (the
 * command deadline, [redis] command_timeout, default 3 s), reconnect, and write again: its
 * heartbeat renewed, and the data fresh again (ticks, klines, account sources) within a few
 * seconds. Then the path stays dead for new connections too for 8 s (the measured
 * case): once it comes back, every role writes again within a few seconds. Before, the roles
 * waited on the dead connection forever.
 *
 * Read-only (item 10): the server is made a replica of a port with nothing (READONLY), then
 * one that serves no stale data (MASTERDOWN). After the roles noticed, the simulator's request
 * log must stay empty: no exchange request whose result could not be written. REPLICAOF NO ONE
 * brings requests and fresh data back. Before, the collectors kept polling (and spending
 * weight) while every write failed. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "tests/harness/proxy.h"
#include "tests/harness/testbinance.h"
#include "tests/integration/test_collect_util.h"

#define KEY "outagekey0123456789"
#define SECRET "outagesecret0123456789abcdef"
#define RECOVER_MS 10000 /* "within a few seconds": deadline 3 s + reconnect + a beat */

struct role {
    const char *name, *user, *args[3];
    pid_t pid;
};

static struct role roles[] = {
    {"symbols", "symbols", {"symbols", NULL}, 0},
    {"kline", "kline", {"kline", NULL}, 0},
    {"tick", "tick", {"tick", NULL}, 0},
    {"volume", "volume", {"volume", NULL}, 0},
    {"account", "account", {"account", NULL}, 0},
    {"positionrisk", "account", {"positionrisk", NULL}, 0},
    {"userstream", "account", {"userstream", NULL}, 0},
    {"watchdog", "watchdog", {"watchdog", NULL}, 0},
};
#define NROLES ((int)(sizeof roles / sizeof roles[0]))

static struct th_redis red;
static struct th_sim sim;
static struct th_proxy *px;
static char conf[512];

static void write_config(void)
{
    snprintf(conf, sizeof conf, "%s/bfq.ini", th_tmpdir());
    cu_write_roles_config(conf, sim.url, KEY, SECRET);
}

/* The role's URL: its ACL user, through the proxy. */
static void spawn_role(struct role *r)
{
    char url[256], log[512];
    snprintf(url, sizeof url, "redis://%s:test-%s@127.0.0.1:%d", r->user, r->user,
             th_proxy_port(px));
    snprintf(log, sizeof log, "%s/%s.log", th_tmpdir(), r->name);
    const char *argv[12];
    int n = 0;
    argv[n++] = th_bfq_bin();
    for (int i = 0; r->args[i]; i++) argv[n++] = r->args[i];
    const char *tail[] = {"--config", conf, "--redis", url, "--instance", r->name, NULL};
    for (int i = 0; tail[i]; i++) argv[n++] = tail[i];
    argv[n] = NULL;
    r->pid = th_spawn(argv, log);
}

/* The "t" of role r's heartbeat, 0 when absent. */
static long long hb_t(const struct role *r)
{
    char key[128];
    snprintf(key, sizeof key, "bfq:hb:%s:%s", r->args[0], r->name);
    redisReply *rep = redisCommand(cu_adm, "GET %s", key);
    long long t = 0;
    if (rep && rep->type == REDIS_REPLY_STRING) {
        json_t *j = json_loads(rep->str, 0, NULL);
        t = json_integer_value(json_object_get(j, "t"));
        json_decref(j);
    }
    freeReplyObject(rep);
    return t;
}

/* Integer field `name` of role r's heartbeat, -1 when absent. */
static long long hb_int(const struct role *r, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "bfq:hb:%s:%s", r->args[0], r->name);
    redisReply *rep = redisCommand(cu_adm, "GET %s", key);
    long long v = -1;
    if (rep && rep->type == REDIS_REPLY_STRING) {
        json_t *j = json_loads(rep->str, 0, NULL);
        json_t *f = json_object_get(j, name);
        if (json_is_integer(f)) v = json_integer_value(f);
        json_decref(j);
    }
    freeReplyObject(rep);
    return v;
}

/* Everything written after `since` (wall ms): every heartbeat and the data. first[i] is the
 * t of the first heartbeat of role i seen after since (polled every 20 ms, beats every 1 s). */
static long long fresh_since, first[NROLES];
static int all_fresh(void *arg)
{
    (void)arg;
    int beats = 0;
    for (int i = 0; i < NROLES; i++) {
        long long t = hb_t(&roles[i]);
        if (t > fresh_since && !first[i]) first[i] = t;
        beats += t > fresh_since;
    }
    return beats == NROLES && cu_ticks_max_t() > fresh_since && cu_klines_max_t() > fresh_since &&
           cu_src_seen("account") > fresh_since && cu_src_seen("positionrisk") > fresh_since;
}

static void fresh_reset(long long since)
{
    fresh_since = since;
    memset(first, 0, sizeof first);
}

/* Prints how long each role took to write its heartbeat again after `since`. */
static void report_recovery(const char *after)
{
    for (int i = 0; i < NROLES; i++)
        fprintf(stderr, "# %-12s first heartbeat %lld ms after %s\n", roles[i].name,
                first[i] ? first[i] - fresh_since : -1, after);
}

/* Exchange requests the simulator logged since wall ms `since` (capped at 100). */
static int requests_since(long long since, int show)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/_sim/requests?since=%lld&limit=100", sim.url, since);
    if (th_http("GET", url, NULL, NULL, &body) != 200) {
        free(body);
        return -1;
    }
    json_t *j = json_loads(body, 0, NULL);
    int n = json_is_array(j) ? (int)json_array_size(j) : -1;
    for (int i = 0; show && i < n; i++) {
        json_t *e = json_array_get(j, (size_t)i);
        fprintf(stderr, "# request: %s %s at +%lld ms\n",
                json_string_value(json_object_get(e, "method")),
                json_string_value(json_object_get(e, "path")),
                (long long)json_integer_value(json_object_get(e, "t")) - since);
    }
    json_decref(j);
    free(body);
    return n;
}

static int requests_flow(void *arg)
{
    return requests_since(*(long long *)arg, 0) > 10;
}

static void admin(const char *cmd)
{
    redisReply *rep = redisCommand(cu_adm, cmd);
    if (!rep || rep->type == REDIS_REPLY_ERROR)
        fprintf(stderr, "# %s: %s\n", cmd, rep ? rep->str : "no reply");
    freeReplyObject(rep);
}

static void test_blackhole(void)
{
    int accepted = th_proxy_accepted(px);
    int frozen = th_proxy_freeze(px);
    CHECK(frozen >= NROLES);
    fresh_reset(th_now_ms());
    fprintf(stderr, "# froze %d connections\n", frozen);
    int ok = th_wait_until(all_fresh, NULL, RECOVER_MS);
    CHECK(ok);
    report_recovery("the freeze");
    CHECK(th_proxy_accepted(px) >= accepted + NROLES); /* each reconnected */
    for (int i = 0; i < NROLES; i++) CHECK(th_alive(roles[i].pid));

    /* the case: the path stays dead for new connections too, for 8 s, then comes
     * back; every role must be writing again within a few seconds of that */
    th_proxy_freeze_new(px, 1);
    CHECK(th_proxy_freeze(px) >= NROLES);
    th_sleep_ms(8000);
    accepted = th_proxy_accepted(px);
    CHECK(accepted > 0);
    th_proxy_freeze_new(px, 0);
    fresh_reset(th_now_ms());
    CHECK(th_wait_until(all_fresh, NULL, RECOVER_MS));
    report_recovery("the path came back");
    for (int i = 0; i < NROLES; i++) CHECK(th_alive(roles[i].pid));
}

static void test_readonly(void)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "REPLICAOF 127.0.0.1 %d", th_free_port());
    admin(cmd);
    /* the roles notice at their next write (a heartbeat within 1 s); a weight take already
     * queued then fails as not sent at the end of its grace (2 s) instead of being served by a
     * local count, so the quiet window starts before that grace could end: only requests
     * whose weight Redis granted before the switch may still be on their way */
    th_sleep_ms(1500);
    long long quiet = th_now_ms();
    th_sleep_ms(2500);
    admin("CONFIG SET replica-serve-stale-data no"); /* MASTERDOWN from here */
    th_sleep_ms(2500);
    int n = requests_since(quiet, 1);
    fprintf(stderr, "# %d exchange requests while Redis was read-only\n", n);
    CHECK(n == 0);
    for (int i = 0; i < NROLES; i++) CHECK(th_alive(roles[i].pid));
    admin("CONFIG SET replica-serve-stale-data yes");
    admin("REPLICAOF NO ONE");
    long long back = th_now_ms();
    CHECK(th_wait_until(requests_flow, &back, RECOVER_MS));
    fresh_reset(back);
    CHECK(th_wait_until(all_fresh, NULL, RECOVER_MS));
    report_recovery("REPLICAOF NO ONE");
    /* the takes failed as not sent show in the collectors' heartbeats */
    for (int i = 0; i < NROLES; i++) {
        if (!strcmp(roles[i].name, "watchdog")) continue;
        long long to = hb_int(&roles[i], "weight_timeouts");
        fprintf(stderr, "# %-12s weight_timeouts %lld\n", roles[i].name, to);
        CHECK(to >= 0);
    }
}

int main(void)
{
    if (th_redis_start(&red, 1) < 0) return 1;
    const char *simargs[] = {"--account", "main:" KEY ":" SECRET ":10000", "--symbols", "20",
                             "--weight-limit", "1000000", NULL};
    if (th_sim_start(&sim, simargs) < 0) return 1;
    cu_adm = tb_redis(red.port, 1);
    px = th_proxy_start(red.port);
    CHECK(cu_adm != NULL && px != NULL);
    if (!cu_adm || !px) return th_done();
    write_config();
    for (int i = 0; i < NROLES; i++) spawn_role(&roles[i]);
    fresh_reset(th_now_ms());
    CHECK(th_wait_until(all_fresh, NULL, 20000)); /* every role writes */
    test_readonly();
    test_blackhole();
    pid_t pids[NROLES];
    int st[NROLES];
    for (int i = 0; i < NROLES; i++) pids[i] = roles[i].pid;
    th_stop_all(pids, NROLES, 10000, st);
    for (int i = 0; i < NROLES; i++) CHECK(st[i] >= 0 && WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
    th_proxy_stop(px);
    redisFree(cu_adm);
    th_sim_stop(&sim);
    th_redis_stop(&red);
    return th_done();
}
