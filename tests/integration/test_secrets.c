/* test_secrets: the whole data stack runs with a recognisable API key and secret, and neither
 * (nor any listenKey the simulator issued) shows up anywhere a user or another role can see.
 *
 * symbols, kline, tick, account, positionrisk, userstream and watchdog run against the
 * simulator as their ACL users, at log level debug, with key KEYSENTINEL... and secret
 * SECRETSENTINEL...; listen keys live 4 s, so the stream rolls over to new keys while it runs.
 * After an order made positions flow, every Redis key's value (of every type, heartbeats and
 * alerts included), every role's log and `bfq status` (text and --json) are searched for the
 * key, the secret, a prefix of each, and every listenKey seen in the simulator's state.
 * `bfq status` also shows every instance's build (version and git revision). */
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "core/version.h"
#include "tests/harness/harness.h"
#include "tests/harness/testbinance.h"

#define KEY "KEYSENTINELq7Z2mW9xK4vB8nR1tY6uP3sD5fG0hJ2kL7zX9cV4bN8mQ1wE6rT3yU"
#define SECRET "SECRETSENTINELa9S8d7F6g5H4j3K2l1Z0x9C8v7B6n5M4q3W2e1R0t9Y8u7I6o"
#define NROLES 7
#define KEYS_MAX 64

static const char *const roles[NROLES] = {"symbols", "kline", "tick", "account",
                                          "positionrisk", "userstream", "watchdog"};
static const char *const users[NROLES] = {"symbols", "kline", "tick", "account",
                                          "account", "account", "watchdog"};

static struct th_redis red;
static struct th_sim sim;
static redisContext *adm;
static char *listen_keys[KEYS_MAX];
static int nkeys;

/* ---- a growing text buffer ---------------------------------------------------------------- */

struct text {
    char *p;
    size_t n, cap;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->n + n + 2 > t->cap) {
        t->cap = (t->n + n + 2) * 2;
        t->p = realloc(t->p, t->cap);
        if (!t->p) abort();
    }
    memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n++] = '\n';
    t->p[t->n] = '\0';
}

/* Every string inside a reply, recursively. */
static void text_reply(struct text *t, const redisReply *r)
{
    if (!r) return;
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
        r->type == REDIS_REPLY_ERROR)
        text_add(t, r->str, r->len);
    for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        text_reply(t, r->element[i]);
}

/* ---- what the simulator issued ------------------------------------------------------------- */

static void note_listen_keys(void)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/_sim/state", sim.url);
    if (th_http("GET", url, NULL, NULL, &body) != 200 || !body) {
        free(body);
        return;
    }
    for (const char *p = strstr(body, "\"listenKey\":\""); p;
         p = strstr(p, "\"listenKey\":\"")) {
        p += strlen("\"listenKey\":\"");
        size_t n = strcspn(p, "\"");
        int known = 0;
        for (int i = 0; i < nkeys; i++)
            known |= strlen(listen_keys[i]) == n && !strncmp(listen_keys[i], p, n);
        if (!known && nkeys < KEYS_MAX && n >= 8) listen_keys[nkeys++] = strndup(p, n);
    }
    free(body);
}

/* ---- conditions ---------------------------------------------------------------------------- */

static long long ask_int(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(adm, fmt, ap);
    va_end(ap);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer
                  : r && r->type == REDIS_REPLY_ARRAY  ? (long long)r->elements
                                                       : -1;
    if (r) freeReplyObject(r);
    return v;
}

/* Everything flowed: universe, klines, ticks, the position, heartbeats of every role. */
static int stack_busy(void *arg)
{
    (void)arg;
    note_listen_keys();
    if (ask_int("LLEN bfq:universe") < 1 || ask_int("KEYS bfq:kline:1m:*") < 2 ||
        ask_int("HLEN bfq:ticks") < 1 || ask_int("HEXISTS bfq:acct:main:pos BTCUSDT:BOTH") != 1)
        return 0;
    for (int i = 0; i < NROLES; i++)
        if (ask_int("KEYS bfq:hb:%s:*", roles[i]) < 1) return 0;
    return 1;
}

static int several_keys(void *arg)
{
    (void)arg;
    note_listen_keys();
    return nkeys >= 2;
}

/* ---- dumps --------------------------------------------------------------------------------- */

static void dump_key(struct text *t, const char *key)
{
    static const struct {
        const char *type, *cmd;
    } reads[] = {{"string", "GET %s"},        {"hash", "HGETALL %s"},
                 {"list", "LRANGE %s 0 -1"},  {"set", "SMEMBERS %s"},
                 {"zset", "ZRANGE %s 0 -1 WITHSCORES"}, {"stream", "XRANGE %s - +"}};
    redisReply *ty = redisCommand(adm, "TYPE %s", key);
    text_add(t, key, strlen(key));
    for (size_t i = 0; ty && ty->type == REDIS_REPLY_STATUS && i < 6; i++) {
        if (strcmp(ty->str, reads[i].type) != 0) continue;
        redisReply *v = redisCommand(adm, reads[i].cmd, key);
        CHECK(v && v->type != REDIS_REPLY_ERROR);
        text_reply(t, v);
        if (v) freeReplyObject(v);
    }
    if (ty) freeReplyObject(ty);
}

/* Every key and its value, of every type. Returns the number of keys. */
static int dump_redis(struct text *t)
{
    char cursor[32] = "0";
    int keys = 0;
    do {
        redisReply *r = redisCommand(adm, "SCAN %s COUNT 1000", cursor);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            CHECK(!"SCAN answered");
            if (r) freeReplyObject(r);
            return keys;
        }
        snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++, keys++)
            dump_key(t, r->element[1]->element[i]->str);
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    redisReply *c = redisCommand(adm, "CONFIG GET *"); /* nothing reached the server's config */
    text_reply(t, c);
    if (c) freeReplyObject(c);
    return keys;
}

static void add_file(struct text *t, const char *path)
{
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) text_add(t, buf, n);
    fclose(f);
}

static void add_status(struct text *t, const char *flag)
{
    char url[256], cmd[1024], *out = NULL;
    th_redis_url_for(&red, "status", url, sizeof url);
    snprintf(cmd, sizeof cmd, "'%s' status --redis '%s' %s 2>&1", th_bfq_bin(), url, flag);
    const char *argv[] = {"sh", "-c", cmd, NULL};
    CHECK(th_run(argv, &out, 10000) == 0);
    CHECK(out && strstr(out, "userstream"));
    /* which build each instance runs: "0.1.0 (revision)" on every instance's line */
    int builds = 0;
    for (const char *p = out ? strstr(out, bfq_version_text) : NULL; p;
         p = strstr(p + 1, bfq_version_text))
        builds++;
    CHECK(builds >= NROLES);
    if (out) text_add(t, out, strlen(out));
    free(out);
}

/* Neither the key, nor the secret, nor a listenKey, nor a recognisable part of them. */
static void check_clean(const struct text *t, const char *where)
{
    const char *needles[KEYS_MAX + 4] = {KEY, SECRET, "KEYSENTINEL", "SECRETSENTINEL"};
    int n = 4;
    for (int i = 0; i < nkeys; i++) needles[n++] = listen_keys[i];
    for (int i = 0; i < n; i++) {
        const char *hit = t->p ? strstr(t->p, needles[i]) : NULL;
        if (hit) fprintf(stderr, "%s holds '%s': ...%.80s...\n", where, needles[i], hit);
        CHECK(hit == NULL);
    }
}

static pid_t spawn_role(const char *conf, int i)
{
    char url[256], log[512];
    th_redis_url_for(&red, users[i], url, sizeof url);
    snprintf(log, sizeof log, "%s/%s.log", th_tmpdir(), roles[i]);
    const char *argv[] = {th_bfq_bin(), roles[i], "--config", conf, "--redis", url,
                          "--instance", roles[i], "--log-level", "debug", NULL};
    return th_spawn(argv, log);
}

int main(void)
{
    const char *simargs[] = {"--account", "main:" KEY ":" SECRET ":10000", "--symbols", "12",
                             "--listenkey-ttl", "4", NULL};
    if (th_redis_start(&red, 1) != 0 || th_sim_start(&sim, simargs) != 0) {
        CHECK(!"redis and sim started");
        return th_done();
    }
    adm = tb_redis(red.port, 1);
    char conf[512];
    snprintf(conf, sizeof conf, "%s/bfq.ini", th_tmpdir());
    FILE *f = th_fopen_private(conf);
    CHECK(f != NULL);
    if (!f || !adm) return th_done();
    fprintf(f, "[exchange]\nrest_url = %s\n[account.main]\napi_key = %s\napi_secret = %s\n"
               "[account]\nevery = 300ms\n[positionrisk]\nevery = 300ms\n"
               "[userstream]\norders_every = 1s\nkeepalive = 1h\n",
            sim.url, KEY, SECRET);
    fclose(f);

    pid_t pids[NROLES];
    for (int i = 0; i < NROLES; i++) pids[i] = spawn_role(conf, i);
    struct tb_account acct = {sim.url, KEY, SECRET};
    char *body = NULL;
    CHECK(tb_market(&acct, "BTCUSDT", "BUY", "0.010", "mn_sentinel1", &body) == 200);
    free(body);
    CHECK(th_wait_until(stack_busy, NULL, 30000));
    CHECK(th_wait_until(several_keys, NULL, 20000)); /* the stream rolled over at least once */
    CHECK(nkeys >= 2);

    struct text status = {0}, redis = {0}, logs = {0};
    add_status(&status, "");
    add_status(&status, "--json");
    CHECK(dump_redis(&redis) > 20);
    int st[NROLES];
    th_stop_all(pids, NROLES, 10000, st);
    for (int i = 0; i < NROLES; i++) {
        char log[512];
        CHECK(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
        snprintf(log, sizeof log, "%s/%s.log", th_tmpdir(), roles[i]);
        add_file(&logs, log);
    }
    CHECK(logs.p && strstr(logs.p, "user-data stream connected"));
    check_clean(&redis, "redis");
    check_clean(&status, "bfq status");
    check_clean(&logs, "a role's log");
    free(status.p);
    free(redis.p);
    free(logs.p);
    for (int i = 0; i < nkeys; i++) free(listen_keys[i]);
    redisFree(adm);
    th_sim_stop(&sim);
    th_redis_stop(&red);
    return th_done();
}
