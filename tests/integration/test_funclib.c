/* test_funclib: every role runs exactly the function library it was built with, or writes
 * nothing.
 *
 * Only admin loads the library (`bfq redis-setup`; role users are refused FUNCTION LOAD, see
 * test_acl). A library of the same name and functions but other code (one appended comment:
 * nothing a version number would show) loaded by admin makes an rconn with the library check
 * go down, refuse commands, and append one alert (level, key, text, src, t) to bfq:alerts per
 * streak; restoring this build's library brings it back up. The same through the binaries:
 * `bfq symbols` and `bfq kline` started against a foreign library write neither the universe,
 * nor a kline record, nor a heartbeat, and alert; they start working once `bfq redis-setup`
 * ran; a foreign library loaded while they run stops their writes again. */
#include <ev.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/log.h"
#include "core/rconn.h"
#include "reconciler/recon.h"
#include "tests/harness/testloop.h"
#include "tests/integration/test_collect_util.h"

static char foreign[1 << 17];

static int load_foreign(void)
{
    redisReply *r = cu_cmd("FUNCTION LOAD REPLACE %s", foreign);
    int ok = r && r->type == REDIS_REPLY_STRING;
    if (!ok) fprintf(stderr, "foreign load: %s\n", r && r->str ? r->str : "no reply");
    if (r) freeReplyObject(r);
    return ok;
}

static long long alerts(void)
{
    return cu_int("XLEN bfq:alerts");
}

/* Number of alerts whose src starts with prefix and whose key is the library's. */
static int alerts_from(const char *prefix)
{
    redisReply *r = cu_cmd("XRANGE bfq:alerts - +");
    int n = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *f = r->element[i]->element[1];
        int src = 0, key = 0;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            const char *name = f->element[k]->str, *v = f->element[k + 1]->str;
            if (!strcmp(name, "src") && !strncmp(v, prefix, strlen(prefix))) src = 1;
            if (!strcmp(name, "key") && !strcmp(v, "redis:function-library")) key = 1;
        }
        n += src && key;
    }
    if (r) freeReplyObject(r);
    return n;
}

static long long count_keys(const char *pattern)
{
    redisReply *r = cu_cmd("KEYS %s", pattern);
    long long n = r && r->type == REDIS_REPLY_ARRAY ? (long long)r->elements : -1;
    if (r) freeReplyObject(r);
    return n;
}

/* `bfq redis-setup [--check]` as user: its exit status. */
static int setup_as(const char *user, int check)
{
    const char *args[] = {check ? "--check" : NULL, NULL};
    return cu_run("redis-setup", user, NULL, args, NULL, 10000);
}

static void test_setup_command(void)
{
    CHECK(setup_as("admin", 1) == 0); /* the harness loaded it */
    CHECK(load_foreign());
    CHECK(setup_as("admin", 1) == 1);
    CHECK(setup_as("kline", 0) == 1); /* a role user cannot load it */
    CHECK(setup_as("admin", 1) == 1);
    CHECK(setup_as("admin", 0) == 0);
    CHECK(setup_as("admin", 1) == 0);
}

struct counts {
    int up, down;
};

static void on_up(struct rconn *rc, void *p)
{
    (void)rc;
    ((struct counts *)p)->up++;
}

static void on_down(struct rconn *rc, const char *err, void *p)
{
    (void)rc;
    (void)err;
    ((struct counts *)p)->down++;
}

static struct rconn *open_checked(struct ev_loop *loop, struct counts *c)
{
    char url[256], err[RCONN_ERR_MAX];
    th_redis_url_for(&cu_red, "kline", url, sizeof url);
    struct rconn_options o = {.url = url, .name = "funclib", .lua_library = bfq_lua_library,
                              .alert_key = "bfq:alerts", .library_check_ms = 200,
                              .backoff_min_ms = 20, .backoff_max_ms = 200};
    struct rconn_callbacks cb = {.up = on_up, .down = on_down, .privdata = c};
    struct rconn *rc = rconn_new(loop, &o, &cb, err, sizeof err);
    if (!rc) fprintf(stderr, "rconn_new: %s\n", err);
    return rc;
}

static void test_rconn_check(struct ev_loop *loop)
{
    struct counts c = {0}, c2 = {0};
    long long a0 = alerts() < 0 ? 0 : alerts();
    struct rconn *rc = open_checked(loop, &c);
    CHECK(rc && th_loop_until(loop, &c.up, 1, 3000));
    CHECK(load_foreign());
    CHECK(th_loop_until(loop, &c.down, 1, 3000));
    CHECK(!rconn_is_up(rc));
    CHECK(rconn_command(rc, NULL, NULL, "SET bfq:kline:x 1") == -1);
    th_loop_for(loop, 1000); /* several refused handshakes: still one alert */
    CHECK(alerts() == a0 + 1);
    CHECK(alerts_from("funclib") == 1);
    redisReply *r = cu_cmd("XREVRANGE bfq:alerts + - COUNT 1");
    int fields = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        const redisReply *f = r->element[0]->element[1];
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            const char *n = f->element[k]->str, *v = f->element[k + 1]->str;
            fields += !strcmp(n, "level") && !strcmp(v, "error");
            fields += !strcmp(n, "text") && strstr(v, "not the one") != NULL;
            fields += !strcmp(n, "t") && strtoll(v, NULL, 10) > 1600000000000LL;
        }
    }
    CHECK(fields == 3);
    if (r) freeReplyObject(r);
    /* absent is refused too; the right one brings it back */
    freeReplyObject(cu_cmd("FUNCTION DELETE bfq"));
    th_loop_for(loop, 500);
    CHECK(c.up == 1 && !rconn_is_up(rc));
    CHECK(th_redis_setup(&cu_red) == 0);
    CHECK(th_loop_until(loop, &c.up, 2, 3000));
    CHECK(rconn_command(rc, NULL, NULL, "PING") == 0);
    /* a connection opened against a foreign library never comes up */
    CHECK(load_foreign());
    struct rconn *rc2 = open_checked(loop, &c2);
    th_loop_for(loop, 1000);
    CHECK(c2.up == 0 && !rconn_is_up(rc2));
    CHECK(alerts_from("funclib") >= 3); /* a new streak on each connection */
    rconn_free(rc2);
    rconn_free(rc);
    CHECK(th_redis_setup(&cu_red) == 0);
}

struct want {
    const char *pattern;
    long long min;
};

static int has_keys(void *arg)
{
    const struct want *w = arg;
    return count_keys(w->pattern) >= w->min;
}

static int alerted(void *arg)
{
    const int *want = arg;
    return alerts_from("symbols:") >= want[0] && alerts_from("kline:") >= want[1];
}

static void test_roles(void)
{
    CHECK(load_foreign());
    setenv("BFQ_REDIS_LIBRARY_CHECK", "300ms", 1);
    const char *sym_args[] = {"--instance", "s1", NULL};
    const char *kl_args[] = {"--instance", "k1", NULL};
    pid_t sy = cu_spawn("symbols", NULL, sym_args);
    pid_t kl = cu_spawn("kline", NULL, kl_args);
    int want[2] = {1, 1};
    CHECK(th_wait_until(alerted, want, 10000));
    th_sleep_ms(1000);
    CHECK(count_keys("bfq:universe*") == 0);
    CHECK(count_keys("bfq:symbol:*") == 0);
    CHECK(count_keys("bfq:kline:*") == 0);
    CHECK(count_keys("bfq:hb:*") == 0);
    CHECK(count_keys("bfq:weight:*") == 0);
    CHECK(th_alive(sy) && th_alive(kl));

    CHECK(th_redis_setup(&cu_red) == 0);
    struct want uni = {"bfq:universe", 1}, kline = {"bfq:kline:1m:*", 3}, hb = {"bfq:hb:*", 2};
    CHECK(th_wait_until(has_keys, &uni, 15000));
    CHECK(th_wait_until(has_keys, &kline, 15000));
    CHECK(th_wait_until(has_keys, &hb, 5000));

    /* swapped while they run: they stop writing and alert again */
    CHECK(load_foreign());
    want[0] = want[1] = 2;
    CHECK(th_wait_until(alerted, want, 10000));
    freeReplyObject(cu_cmd("EVAL %s 0", "for _, k in ipairs(redis.call('KEYS', 'bfq:kline:*')) "
                                         "do redis.call('DEL', k) end return 1"));
    th_sleep_ms(1500);
    CHECK(count_keys("bfq:kline:*") == 0);
    CHECK(th_redis_setup(&cu_red) == 0);
    kline.min = 1;
    CHECK(th_wait_until(has_keys, &kline, 15000));

    int st[2];
    pid_t pids[2] = {sy, kl};
    th_stop_all(pids, 2, 10000, st);
    CHECK(WIFEXITED(st[0]) && WEXITSTATUS(st[0]) == 0);
    CHECK(WIFEXITED(st[1]) && WEXITSTATUS(st[1]) == 0);
}

int main(void)
{
    log_init("test", LOG_LEVEL_WARN);
    snprintf(foreign, sizeof foreign, "%s\n-- same functions, same version, other code\n",
             bfq_lua_library);
    struct ev_loop *loop = ev_default_loop(0);
    const char *sim_args[] = {"--symbols", "12", NULL};
    if (cu_redis_start() != 0 || th_sim_start(&cu_sim, sim_args) != 0) {
        CHECK(!"redis and sim started");
        return th_done();
    }
    test_setup_command();
    test_rconn_check(loop);
    test_roles();
    th_sim_stop(&cu_sim);
    th_redis_stop(&cu_red);
    return th_done();
}
