/* test_collect_util: helpers shared by the test_collect_* integration tests (symbols, kline,
 * volume, status): an admin Redis connection, spawning `bfq <command>` as a role's ACL user,
 * the simulator's admin API, and checks of stored kline records. Header-only (static), since
 * each test is its own executable. */
#ifndef BFQ_TEST_COLLECT_UTIL_H
#define BFQ_TEST_COLLECT_UTIL_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/bars.h"
#include "tests/harness/harness.h"

static struct th_redis cu_red;
static struct th_sim cu_sim;
static redisContext *cu_adm;

static __attribute__((unused)) redisReply *cu_cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(cu_adm, fmt, ap);
    va_end(ap);
    return r;
}

/* Integer value of a command's reply (string or integer), -1 when absent. */
static __attribute__((unused)) long long cu_int(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(cu_adm, fmt, ap);
    va_end(ap);
    long long v = -1;
    if (r && r->type == REDIS_REPLY_INTEGER) v = r->integer;
    else if (r && r->type == REDIS_REPLY_STRING) v = strtoll(r->str, NULL, 10);
    if (r) freeReplyObject(r);
    return v;
}

/* A malloc'd copy of a string reply, NULL when absent. */
static __attribute__((unused)) char *cu_str(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(cu_adm, fmt, ap);
    va_end(ap);
    char *s = (r && r->type == REDIS_REPLY_STRING) ? strdup(r->str) : NULL;
    if (r) freeReplyObject(r);
    return s;
}

/* Starts redis (with the ACL users) and connects as admin. */
static __attribute__((unused)) int cu_redis_start(void)
{
    if (th_redis_start(&cu_red, 1) != 0) return -1;
    cu_adm = redisConnect("127.0.0.1", cu_red.port);
    if (!cu_adm || cu_adm->err) return -1;
    redisReply *r = redisCommand(cu_adm, "AUTH admin test-admin");
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r) freeReplyObject(r);
    return ok ? 0 : -1;
}

/* Spawns `bfq <cmd> --redis <user's url> --exchange <sim> args...` with its log in the tmpdir.
 * user NULL means cmd. */
static __attribute__((unused)) pid_t cu_spawn(const char *cmd, const char *user, const char *const *args)
{
    static int seq;
    char url[256], log[512];
    const char *argv[48];
    int n = 0;
    th_redis_url_for(&cu_red, user ? user : cmd, url, sizeof(url));
    snprintf(log, sizeof(log), "%s/%s-%d.log", th_tmpdir(), cmd, ++seq);
    argv[n++] = th_bfq_bin();
    argv[n++] = cmd;
    argv[n++] = "--redis";
    argv[n++] = url;
    argv[n++] = "--exchange";
    argv[n++] = cu_sim.url;
    for (int i = 0; args && args[i] && n < 46; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = th_spawn(argv, log);
    fprintf(stderr, "# spawned bfq %s (pid %d), log %s\n", cmd, (int)pid, log);
    return pid;
}

/* Runs `bfq <cmd> ...` to completion (stdout into *out when out != NULL). Returns the exit
 * status. */
static __attribute__((unused)) int cu_run(const char *cmd, const char *user, const char *exchange, const char *const *args,
                  char **out, int timeout_ms)
{
    char url[256];
    const char *argv[48];
    int n = 0;
    th_redis_url_for(&cu_red, user ? user : cmd, url, sizeof(url));
    argv[n++] = th_bfq_bin();
    argv[n++] = cmd;
    argv[n++] = "--redis";
    argv[n++] = url;
    if (exchange) {
        argv[n++] = "--exchange";
        argv[n++] = exchange;
    }
    for (int i = 0; args && args[i] && n < 46; i++) argv[n++] = args[i];
    argv[n] = NULL;
    return th_run(argv, out, timeout_ms);
}

/* The simulator's answer to GET path as JSON (new reference), NULL unless 200. */
static __attribute__((unused)) json_t *cu_sim_get(const char *path)
{
    char url[512], *body = NULL;
    snprintf(url, sizeof(url), "%s%s", cu_sim.url, path);
    long code = th_http("GET", url, NULL, NULL, &body);
    json_t *j = (code == 200 && body) ? json_loads(body, 0, NULL) : NULL;
    free(body);
    return j;
}

static __attribute__((unused)) long cu_sim_admin(const char *method, const char *path_and_query)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", cu_sim.url, path_and_query);
    return th_http(method, url, NULL, NULL, NULL);
}

/* The tradable symbols of an exchangeInfo, by the rule bfq symbols applies. */
static __attribute__((unused)) int cu_tradable(const json_t *sym)
{
    const char *ct = json_string_value(json_object_get(sym, "contractType"));
    const char *st = json_string_value(json_object_get(sym, "status"));
    const char *qa = json_string_value(json_object_get(sym, "quoteAsset"));
    const char *ut = json_string_value(json_object_get(sym, "underlyingType"));
    return ct && st && qa && !strcmp(ct, "PERPETUAL") && !strcmp(st, "TRADING") &&
           !strcmp(qa, "USDT") && !(ut && !strcmp(ut, "INDEX"));
}

/* The universe list as a JSON array of strings (new reference). */
static __attribute__((unused)) json_t *cu_universe(void)
{
    json_t *out = json_array();
    redisReply *r = cu_cmd("LRANGE bfq:universe 0 -1");
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++)
        json_array_append_new(out, json_string(r->element[i]->str));
    if (r) freeReplyObject(r);
    return out;
}

/* Integer member name of the heartbeat bfq:hb:<role>:<id>, -1 when absent. */
static __attribute__((unused)) long long cu_hb_int(const char *role, const char *id, const char *name)
{
    char *s = cu_str("GET bfq:hb:%s:%s", role, id);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    json_t *v = json_object_get(j, name);
    long long n = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
    json_decref(j);
    free(s);
    return n;
}

/* The newest exchange time "T" among the stored book tickers (bfq:ticks), 0 when none. */
static __attribute__((unused)) long long cu_ticks_max_t(void)
{
    redisReply *rep = cu_cmd("HVALS bfq:ticks");
    long long m = 0;
    for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements; i++) {
        json_t *j = json_loads(rep->element[i]->str, 0, NULL);
        long long t = json_integer_value(json_object_get(j, "T"));
        if (t > m) m = t;
        json_decref(j);
    }
    if (rep) freeReplyObject(rep);
    return m;
}

/* Requests on path the simulator logged in [from, to) (wall ms); when n429 is not NULL, adds
 * the 429 answers among every request logged since from to it. */
static __attribute__((unused)) int cu_sim_requests(const char *path, long long from, long long to,
                                                   int *n429)
{
    char q[160];
    snprintf(q, sizeof q, "/_sim/requests?since=%lld&limit=5000", from);
    json_t *log = cu_sim_get(q), *e;
    int n = 0;
    size_t i;
    json_array_foreach(log, i, e) {
        const char *p = json_string_value(json_object_get(e, "path"));
        long long t = json_integer_value(json_object_get(e, "t"));
        if (n429 && json_integer_value(json_object_get(e, "status")) == 429) (*n429)++;
        if (p && !strcmp(p, path) && t < to) n++;
    }
    json_decref(log);
    return n;
}

/* The newest freshness t among the stored 1m kline windows, 0 when none. */
static __attribute__((unused)) long long cu_klines_max_t(void)
{
    redisReply *keys = cu_cmd("KEYS bfq:kline:1m:*");
    long long m = 0;
    for (size_t i = 0; keys && keys->type == REDIS_REPLY_ARRAY && i < keys->elements; i++) {
        long long t = cu_int("HGET %s t", keys->element[i]->str);
        if (t > m) m = t;
    }
    if (keys) freeReplyObject(keys);
    return m;
}

/* The `seen` (local ms) of account source src of account main, 0 when absent. */
static __attribute__((unused)) long long cu_src_seen(const char *src)
{
    long long v = cu_int("HGET bfq:acct:main:src:%s seen", src);
    return v > 0 ? v : 0;
}

/* Writes a private role configuration at path for every data role against the simulator at
 * sim_url, with account main's key and secret and fast polls (the outage and failover tests). */
static __attribute__((unused)) void cu_write_roles_config(const char *path, const char *sim_url,
                                                          const char *key, const char *secret)
{
    FILE *f = th_fopen_private(path);
    if (!f) return;
    fprintf(f,
            "[exchange]\nrest_url = %s\nweight_limit = 1000000\n[account.main]\napi_key = %s\n"
            "api_secret = %s\n[account]\nevery = 300ms\n[positionrisk]\nevery = 300ms\n"
            "[volume]\nevery = 1s\n[tick]\nrate = 4\n[userstream]\norders_every = 1s\n",
            sim_url, key, secret);
    fclose(f);
}

/* Checks one stored kline record: t > 0, src set, bars a valid window of the interval.
 * Returns 1 when present and valid, 0 when absent, -1 when present and invalid. */
static __attribute__((unused)) int cu_kline_record(const char *interval, const char *sym, int64_t limit)
{
    redisReply *r = cu_cmd("HMGET bfq:kline:%s:%s t bars src", interval, sym);
    int rc = 0;
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        r->element[0]->type == REDIS_REPLY_STRING) {
        int64_t ivms = 0;
        char err[160] = "";
        json_t *bars = r->element[1]->type == REDIS_REPLY_STRING
                           ? json_loads(r->element[1]->str, 0, NULL)
                           : NULL;
        rc = (strtoll(r->element[0]->str, NULL, 10) > 0 &&
              r->element[2]->type == REDIS_REPLY_STRING && interval_ms(interval, &ivms) == 0 &&
              bars_validate(bars, ivms, (size_t)limit, err, sizeof(err)) == 0)
                 ? 1
                 : -1;
        if (rc < 0) fprintf(stderr, "# bad kline record %s: %s\n", sym, err);
        json_decref(bars);
    }
    if (r) freeReplyObject(r);
    return rc;
}

#endif
