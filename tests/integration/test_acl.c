/* test_acl: redis/users.acl.in, rendered by the harness (password "test-<user>"), loaded by a
 * real redis-server.
 *
 * The default user is off; only admin may load, delete, flush or restore the function library
 * (every role user is refused each); the kline collector's user can run its own functions (bfq_put on its kline records, bfq_next over the universe, the weight budget) but
 * can write neither bfq:risk:ban (directly or through a function) nor the universe; other
 * roles are spot-checked the same way. Function writes survive a restart from the AOF. */
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/libcheck.h"
#include "reconciler/recon.h"
#include "tests/harness/harness.h"
#include "tests/harness/redis_acl.h"

static int port;

static redisContext *as(const char *user)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) return c;
    if (user) {
        char pass[64];
        snprintf(pass, sizeof pass, "test-%s", user);
        redisReply *r = redisCommand(c, "AUTH %s %s", user, pass);
        if (!r || r->type == REDIS_REPLY_ERROR)
            fprintf(stderr, "AUTH %s: %s\n", user, r ? r->str : "no reply");
        freeReplyObject(r);
    }
    return c;
}

/* The harness's ACL probe (tests/harness/redis_acl.h): 1 allowed, 0 refused, -1 otherwise. */
#define try_cmd th_acl_try

static void test_default_off(void)
{
    redisContext *c = as(NULL);
    redisReply *r = redisCommand(c, "PING");
    CHECK(r && r->type == REDIS_REPLY_ERROR && strstr(r->str, "NOAUTH"));
    freeReplyObject(r);
    r = redisCommand(c, "AUTH default %s", "");
    CHECK(r && r->type == REDIS_REPLY_ERROR);
    freeReplyObject(r);
    r = redisCommand(c, "AUTH kline wrong-password");
    CHECK(r && r->type == REDIS_REPLY_ERROR);
    freeReplyObject(r);
    redisFree(c);
}

static void test_kline(redisContext *admin)
{
    redisContext *k = as("kline");
    CHECK(try_cmd(admin, "RPUSH bfq:universe BTCUSDT ETHUSDT") == 1);
    /* its own work */
    CHECK(try_cmd(k, "FCALL_RO bfq_version 0") == 1);
    CHECK(try_cmd(k, "FCALL bfq_put 1 bfq:kline:1m:BTCUSDT bfq:ch:kline:1m msg 5 0 bars []") == 1);
    CHECK(try_cmd(k, "FCALL bfq_next 2 bfq:cursor:kline bfq:universe") == 1);
    CHECK(try_cmd(k, "FCALL bfq_weight_take 2 bfq:weight:127.0.0.2:1 bfq:weight:127.0.0.2:stop "
                     "5 100 1000") == 1);
    CHECK(try_cmd(k, "FCALL bfq_weight_stop 1 bfq:weight:127.0.0.2:stop 10") == 1);
    CHECK(try_cmd(k, "SET bfq:hb:kline:h-1 {} PX 5000") == 1);
    CHECK(try_cmd(k, "HGETALL bfq:kline:1m:BTCUSDT") == 1);
    /* not its business */
    CHECK(try_cmd(k, "HSET bfq:risk:ban symbols [\"ALL\"]") == 0);
    CHECK(try_cmd(k, "FCALL bfq_put 1 bfq:risk:ban bfq:ch:risk m 9 0 symbols [\"ALL\"]") == 0);
    CHECK(try_cmd(k, "DEL bfq:universe") == 0);
    CHECK(try_cmd(k, "RPUSH bfq:universe EVIL") == 0);
    CHECK(try_cmd(k, "FCALL bfq_universe 2 bfq:universe bfq:cursor:klinex %s EVIL", "") == 0);
    CHECK(try_cmd(k, "FCALL bfq_put 1 bfq:kline:1m:X bfq:ch:tick msg 5 0 bars []") == 0);
    CHECK(try_cmd(k, "SET bfq:hb:tick:h-1 {} PX 5000") == 0);
    CHECK(try_cmd(k, "HGETALL bfq:acct:main:pos") == 0);
    CHECK(try_cmd(k, "FLUSHALL") == 0);
    CHECK(try_cmd(k, "CONFIG SET appendonly no") == 0);
    redisReply *r = redisCommand(admin, "HEXISTS bfq:risk:ban symbols");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
    freeReplyObject(r);
    r = redisCommand(admin, "LLEN bfq:universe");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 2);
    freeReplyObject(r);
    redisFree(k);
}

static void test_other_roles(void)
{
    redisContext *t = as("tick");
    CHECK(try_cmd(t, "FCALL bfq_merge 2 bfq:ticks bfq:ticks:ts bfq:ch:tick ticks replace "
                     "BTCUSDT {} 1 0 %s", "") == 1);
    CHECK(try_cmd(t, "FCALL bfq_tick_lease 1 bfq:tick:members 1|ip|a 2000 renew") == 1);
    CHECK(try_cmd(t, "FCALL bfq_merge 2 bfq:acct:main:pos bfq:acct:main:pos:ts bfq:ch:acct:main "
                     "pos replace BTCUSDT:BOTH {} 1 0 %s", "") == 0);
    redisFree(t);

    redisContext *a = as("account");
    CHECK(try_cmd(a, "FCALL bfq_merge 2 bfq:acct:main:bal bfq:acct:main:bal:ts bfq:ch:acct:main "
                     "bal merge USDT {} 1 0 %s", "") == 1);
    CHECK(try_cmd(a, "HSET bfq:acct:main:src:account t 1 seen 2") == 1);
    CHECK(try_cmd(a, "HSET bfq:ticks BTCUSDT {}") == 0);
    redisFree(a);

    redisContext *s = as("status");
    CHECK(try_cmd(s, "HGETALL bfq:ticks") == 1);
    CHECK(try_cmd(s, "SCAN 0 MATCH bfq:hb:* COUNT 100") == 1);
    CHECK(try_cmd(s, "HSET bfq:ticks X {}") == 0);
    CHECK(try_cmd(s, "FCALL bfq_weight_stop 1 bfq:weight:x:stop 10") == 0);
    redisFree(s);

    redisContext *k = as("risk");
    CHECK(try_cmd(k, "FCALL bfq_put 1 bfq:risk:ban bfq:ch:risk m 9 0 symbols [\"ALL\"]") == 1);
    CHECK(try_cmd(k, "HSET bfq:ticks X {}") == 0);
    redisFree(k);
}

/* The library every role runs: no role user may load, delete, flush or restore it; each may
 * read it (FUNCTION LIST WITHCODE, for its hash check) and append an alert, but not trim or
 * delete the alert stream. */
#define ACL_USERS_MAX 32

/* Every user of redis/users.acl.in but admin and default (which is off), so a role added to the
 * file is checked without editing this test. Returns the count; names are kept in names. */
static size_t acl_users(char names[][32])
{
    char path[1024], line[4096];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/redis/users.acl.in", th_source_dir());
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    while (f && n < ACL_USERS_MAX && fgets(line, sizeof line, f)) {
        char name[32];
        if (sscanf(line, "user %31s", name) != 1) continue;
        if (strcmp(name, "admin") == 0 || strcmp(name, "default") == 0) continue;
        snprintf(names[n++], 32, "%s", name);
    }
    if (f) fclose(f);
    return n;
}

static void test_library_admin_only(redisContext *admin)
{
    char roles[ACL_USERS_MAX][32];
    size_t nroles = acl_users(roles);
    CHECK(nroles >= 13); /* the role users of users.acl.in and replica */
    redisReply *dump = redisCommand(admin, "FUNCTION DUMP");
    CHECK(dump && dump->type == REDIS_REPLY_STRING);
    if (!dump || dump->type != REDIS_REPLY_STRING) return;
    static const char evil[] = "#!lua name=bfq\nredis.register_function('bfq_version', "
                               "function() return 999 end)";
    for (size_t i = 0; i < nroles; i++) {
        redisContext *c = as(roles[i]);
        /* logged in as that user: a failed AUTH (NOAUTH) would make every refusal below vacuous;
         * a role has no ACL WHOAMI permission, so NOPERM means logged in */
        redisReply *me = redisCommand(c, "ACL WHOAMI");
        int mine = me && me->type == REDIS_REPLY_STRING && strcmp(me->str, roles[i]) == 0;
        if (!mine) fprintf(stderr, "not logged in as %s\n", roles[i]);
        CHECK(mine || (me && me->type == REDIS_REPLY_ERROR && strstr(me->str, "NOPERM")));
        freeReplyObject(me);
        CHECK(try_cmd(c, "FUNCTION LOAD REPLACE %s", evil) == 0);
        CHECK(try_cmd(c, "FUNCTION LOAD %s", evil) == 0);
        CHECK(try_cmd(c, "FUNCTION DELETE bfq") == 0);
        CHECK(try_cmd(c, "FUNCTION FLUSH") == 0);
        CHECK(try_cmd(c, "FUNCTION FLUSH SYNC") == 0);
        CHECK(try_cmd(c, "FUNCTION RESTORE %b REPLACE", dump->str, dump->len) == 0);
        CHECK(try_cmd(c, "FUNCTION RESTORE %b FLUSH", dump->str, dump->len) == 0);
        CHECK(try_cmd(c, "EVAL %s 0", "return 1") == 0);
        CHECK(try_cmd(c, "SCRIPT LOAD %s", "return 1") == 0);
        /* pointing the server at another master replaces its data and its library */
        CHECK(try_cmd(c, "REPLICAOF NO ONE") == 0);
        CHECK(try_cmd(c, "SLAVEOF NO ONE") == 0);
        CHECK(try_cmd(c, "CONFIG SET appendonly yes") == 0);
        CHECK(try_cmd(c, "DEL bfq:alerts") == 0);
        CHECK(try_cmd(c, "XTRIM bfq:alerts MAXLEN 0") == 0);
        if (strcmp(roles[i], "replica") == 0) {
            CHECK(try_cmd(c, "GET bfq:universe") == 0); /* no key, read or write */
            CHECK(try_cmd(c, "SET bfq:x 1") == 0);
        } else if (strcmp(roles[i], "status") != 0 && strcmp(roles[i], "dash") != 0) {
            CHECK(try_cmd(c, "FUNCTION LIST LIBRARYNAME bfq WITHCODE") == 1);
            CHECK(try_cmd(c, "XADD bfq:alerts MAXLEN ~ 10000 * level error key k text t "
                             "src %s t 1", roles[i]) == 1);
        }
        redisFree(c);
    }
    freeReplyObject(dump);
    /* still the library admin loaded */
    redisReply *r = redisCommand(admin, "FUNCTION LIST LIBRARYNAME bfq WITHCODE");
    char want[LIBCHECK_HEX_LEN + 1], why[256];
    libcheck_sha256_hex(bfq_lua_library, strlen(bfq_lua_library), want);
    CHECK(libcheck_reply(r, "bfq", want, why, sizeof why) == LIBCHECK_OK);
    freeReplyObject(r);
    CHECK(try_cmd(admin, "FUNCTION LOAD REPLACE %s", bfq_lua_library) == 1);
}

static int answers_ping(void *arg)
{
    (void)arg;
    redisContext *c = as("admin");
    redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
    int ok = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (c) redisFree(c);
    return ok;
}

static int aof_rewritten(void *arg)
{
    redisContext *c = arg;
    redisReply *r = redisCommand(c, "INFO persistence");
    int ok = 0;
    if (r && r->str)
        ok = strstr(r->str, "aof_enabled:1") && strstr(r->str, "aof_rewrite_in_progress:0") &&
             strstr(r->str, "aof_rewrite_scheduled:0");
    freeReplyObject(r);
    return ok;
}

/* What a role writes through a function survives a restart from the AOF. Redis persists
 * function writes as MULTI/EXEC blocks and replays them as the default user, re-checking
 * ACLs: a default user without permissions loses every reconciled record (redis#14541). */
static void test_aof_restart(struct th_redis *r)
{
    redisContext *admin = as("admin");
    CHECK(try_cmd(admin, "CONFIG SET appendonly yes") == 1);
    CHECK(th_wait_until(aof_rewritten, admin, 10000));
    redisFree(admin);
    redisContext *k = as("kline");
    /* bfq_merge writes two hashes: Redis wraps the effects in MULTI/EXEC in the AOF */
    CHECK(try_cmd(k, "FCALL bfq_merge 2 bfq:kline:aof bfq:kline:aof:ts %s k replace F [] 5 0 %s",
                  "", "") == 1);
    redisFree(k);
    th_redis_stop(r);
    char conf[640], log[640];
    snprintf(conf, sizeof conf, "%s/redis.conf", r->dir);
    snprintf(log, sizeof log, "%s/redis.log", r->dir);
    FILE *f = fopen(conf, "a");
    CHECK(f != NULL);
    if (!f) return;
    fputs("appendonly yes\n", f);
    fclose(f);
    const char *argv[] = {"redis-server", conf, NULL};
    r->pid = th_spawn(argv, NULL);
    CHECK(th_wait_until(answers_ping, NULL, 5000));
    admin = as("admin");
    redisReply *rep = redisCommand(admin, "HGET bfq:kline:aof F");
    CHECK(rep && rep->type == REDIS_REPLY_STRING && !strcmp(rep->str, "[]"));
    freeReplyObject(rep);
    redisFree(admin);
    size_t n = 0;
    char *text = NULL;
    FILE *lf = fopen(log, "r");
    if (lf) {
        text = calloc(1, 1 << 20);
        n = text ? fread(text, 1, (1 << 20) - 1, lf) : 0;
        fclose(lf);
    }
    CHECK(n > 0 && !strstr(text, "NOPERM"));
    free(text);
}

int main(void)
{
    struct th_redis r;
    if (th_redis_start(&r, 1) != 0) {
        CHECK(!"redis with the ACL file started");
        return th_done();
    }
    port = r.port;
    redisContext *admin = as("admin");
    test_library_admin_only(admin); /* th_redis_start loaded it as admin (bfq redis-setup) */
    test_default_off();
    test_kline(admin);
    test_other_roles();
    redisFree(admin);
    test_aof_restart(&r);
    th_redis_stop(&r);
    return th_done();
}
