/* bench_account: time from a fill in the simulator to the position in Redis, by source.
 *
 * Starts redis-server, `bfq sim` and the three account sources (REST polls every 250 ms, the
 * user-data stream), then places BENCH_FILLS MARKET orders on ETHUSDT that alternately open
 * and close 0.01. For each fill it measures, from the moment the order request is sent, when
 * the reconciled change is published on bfq:ch:acct:main and when each source's own view
 * (bfq:acct:main:view:<source>) shows the new amount. Prints p50/p99/max per path. Polls Redis
 * every millisecond, so figures are accurate to about 1-2 ms. */
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/harness/harness.h"
#include "tests/harness/testbinance.h"

#define BENCH_FILLS 40
#define KEY "benchkey0123456789"
#define SECRET "benchsecret0123456789abcdef"

enum { P_CHANNEL, P_WS, P_ACCOUNT, P_PR, P_COUNT };
static const char *const path_names[P_COUNT] = {"reconciled (pub/sub)", "userstream (WS)",
                                                "account (REST 250ms)",
                                                "positionrisk (REST 250ms)"};
static const char *const views[P_COUNT] = {NULL, "bfq:acct:main:view:userstream",
                                           "bfq:acct:main:view:account",
                                           "bfq:acct:main:view:positionrisk"};

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* A published pos message for ETHUSDT:BOTH with amt want? Drains what is buffered. */
static int channel_hit(redisContext *sub, const char *want)
{
    int hit = 0;
    struct pollfd pfd = {.fd = sub->fd, .events = POLLIN};
    if (poll(&pfd, 1, 0) > 0 && redisBufferRead(sub) != REDIS_OK) return 0;
    for (;;) {
        redisReply *r = NULL;
        if (redisGetReplyFromReader(sub, (void **)&r) != REDIS_OK || !r) break;
        char needle[96];
        snprintf(needle, sizeof needle, "\"ETHUSDT:BOTH\":{\"amt\":\"%s\"", want);
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
            r->element[2]->type == REDIS_REPLY_STRING && strstr(r->element[2]->str, needle))
            hit = 1;
        freeReplyObject(r);
    }
    return hit;
}

static int view_hit(redisContext *c, const char *key, const char *want)
{
    char *amt = tb_hget_member(c, key, "ETHUSDT:BOTH", "amt");
    int hit = amt && !strcmp(amt, want);
    free(amt);
    return hit;
}

/* One fill: returns 0 and the latencies (us) of each path, or -1. */
static int one_fill(const struct tb_account *a, redisContext *c, redisContext *sub, int i,
                    int64_t lat[P_COUNT])
{
    const char *want = (i % 2 == 0) ? "0.01" : "0";
    int64_t t0 = mono_us();
    char *body = NULL;
    long code = tb_market(a, "ETHUSDT", i % 2 == 0 ? "BUY" : "SELL", "0.010", NULL, &body);
    free(body);
    if (code != 200) return -1;
    int done = 0;
    for (int p = 0; p < P_COUNT; p++) lat[p] = -1;
    while (done < P_COUNT && mono_us() - t0 < 5000000) {
        int64_t now = mono_us();
        if (lat[P_CHANNEL] < 0 && channel_hit(sub, want)) lat[P_CHANNEL] = now - t0, done++;
        for (int p = P_WS; p < P_COUNT; p++)
            if (lat[p] < 0 && view_hit(c, views[p], want)) lat[p] = now - t0, done++;
        th_sleep_ms(1);
    }
    return done == P_COUNT ? 0 : -1;
}

static void report(int64_t lat[P_COUNT][BENCH_FILLS], int n)
{
    printf("\nfill -> Redis latency over %d fills (ms, from sending the order)\n", n);
    printf("%-28s %8s %8s %8s\n", "path", "p50", "p99", "max");
    for (int p = 0; p < P_COUNT; p++) {
        qsort(lat[p], (size_t)n, sizeof(int64_t), cmp_i64);
        int i99 = (n * 99 + 99) / 100 - 1;
        printf("%-28s %8.1f %8.1f %8.1f\n", path_names[p], lat[p][n / 2] / 1000.0,
               lat[p][i99 < n ? i99 : n - 1] / 1000.0, lat[p][n - 1] / 1000.0);
    }
}

static pid_t spawn_role(const char *conf, const char *role)
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s.log", th_tmpdir(), role);
    const char *argv[] = {th_bfq_bin(), role, "--config", conf, "--instance", role, NULL};
    return th_spawn(argv, log);
}

int main(void)
{
    struct th_redis r;
    struct th_sim s;
    const char *simargs[] = {"--account", "main:" KEY ":" SECRET ":100000", "--symbols", "20",
                             NULL};
    if (th_redis_start(&r, 0) < 0 || th_sim_start(&s, simargs) < 0) return 1;
    char conf[512];
    snprintf(conf, sizeof conf, "%s/bench.ini", th_tmpdir());
    FILE *f = th_fopen_private(conf);
    if (!f) return 1;
    fprintf(f,
            "[redis]\nurl = %s\n[exchange]\nrest_url = %s\n[account.main]\napi_key = %s\n"
            "api_secret = %s\n[account]\nevery = 250ms\n[positionrisk]\nevery = 250ms\n",
            r.url, s.url, KEY, SECRET);
    fclose(f);
    pid_t pids[3] = {spawn_role(conf, "account"), spawn_role(conf, "positionrisk"),
                     spawn_role(conf, "userstream")};
    redisContext *c = tb_redis(r.port, 0), *sub = tb_redis(r.port, 0);
    if (!c || !sub) return 1;
    redisReply *rep = redisCommand(sub, "SUBSCRIBE bfq:ch:acct:main");
    freeReplyObject(rep);
    th_sleep_ms(2000);
    struct tb_account a = {s.url, KEY, SECRET};
    static int64_t lat[P_COUNT][BENCH_FILLS];
    int n = 0;
    srandom(7);
    for (int i = 0; i < BENCH_FILLS; i++) {
        int64_t one[P_COUNT];
        if (one_fill(&a, c, sub, i, one) == 0) {
            for (int p = 0; p < P_COUNT; p++) lat[p][n] = one[p];
            n++;
        } else {
            fprintf(stderr, "fill %d: not seen on every path within 5 s\n", i);
        }
        th_sleep_ms(50 + (int)(random() % 250)); /* spread fills over the poll phase */
    }
    if (n > 0) report(lat, n);
    for (int i = 0; i < 3; i++) th_stop(pids[i], 5000);
    redisFree(sub);
    redisFree(c);
    th_sim_stop(&s);
    th_redis_stop(&r);
    return n == BENCH_FILLS ? 0 : 1;
}
