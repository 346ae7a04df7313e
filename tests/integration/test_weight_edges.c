/* test_weight_edges: the weight budget across exchange-minute edges, with the exchange clock off.
 *
 * Four worlds at once, each its own simulator (Binance's weight limit, 2400: budget 2160), Redis
 * and processes, the simulator's clock set off the local one by -1500, -200, +200 and +1500 ms.
 * In each: one `bfq tick` alone on 127.0.0.2 (its slot plan spends 2100 of the 2160 a minute)
 * and two `bfq kline` with rate = auto (the default) sharing 127.0.0.3 (at the old fixed rate of
 * 4 symbols a second the two would spend 1440: 67%). The limit is not lowered: two fixed-rate
 * instances would then fill a smaller budget too and the test could not tell. Over two
 * minute edges:
 * - no gap between two bookTicker requests longer than the slot interval plus 1 s (the budget
 *   once applied the header of the exchange's previous minute to the local new one and stopped
 *   the tick collector for most of a minute);
 * - no 429 or 418 on any IP;
 * - the two kline instances spend at least 95% of 127.0.0.3's budget in every full exchange
 *   minute.
 * The old bug showed at every edge (a stall of most of a minute), so two edges prove what
 * three did; the second one closes the full exchange minute the kline check needs. It takes 1.5 to 2.5
 * minutes of wall time whatever the machine, so it runs in the release build only
 * (docs/testing.md): the ASan build would add the same minutes and nothing the release run
 * does not see. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/harness/harness.h"
#include "tests/harness/weightlog.h"

#define WORLDS 4
#define LIMIT 2400
#define BUDGET (LIMIT * 90 / 100)
#define TICK_RATE 7          /* slots_rate(2160, 5, 1 IP, cap 8) = 2160 / 60 / 5 = 7 a second */
#define WARMUP_MS 12000
#define EDGES 2

static const int offsets[WORLDS] = {-1500, -200, 200, 1500};

struct world {
    int offset;
    struct th_redis redis;
    struct th_sim sim;
    pid_t tick, kline[2];
};

static pid_t spawn_role(struct world *w, const char *cmd, const char *ip, const char *inst)
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s-%s-%d.log", th_tmpdir(), cmd, inst, w->offset);
    const char *argv[] = {th_bfq_bin(), cmd, "--redis", w->redis.url, "--exchange", w->sim.url,
                          "--source-ip", ip, "--instance", inst, NULL};
    return th_spawn(argv, log);
}

static int world_start(struct world *w, int offset)
{
    char url[256], lim[16];
    w->offset = offset;
    snprintf(lim, sizeof lim, "%d", LIMIT);
    const char *simargs[] = {"--symbols", "20", "--weight-limit", lim, NULL};
    if (th_redis_start(&w->redis, 0) != 0 || th_sim_start(&w->sim, simargs) != 0) return -1;
    snprintf(url, sizeof url, "%s/_sim/clock?offset_ms=%d", w->sim.url, offset);
    if (th_http("POST", url, "", NULL, NULL) != 200) return -1;
    const char *sym[] = {th_bfq_bin(), "symbols", "--once", "--redis", w->redis.url,
                         "--exchange", w->sim.url, NULL};
    if (th_run(sym, NULL, 30000) != 0) return -1;
    w->tick = spawn_role(w, "tick", "127.0.0.2", "t1");
    w->kline[0] = spawn_role(w, "kline", "127.0.0.3", "k1");
    w->kline[1] = spawn_role(w, "kline", "127.0.0.3", "k2");
    return w->tick > 0 && w->kline[0] > 0 && w->kline[1] > 0 ? 0 : -1;
}

static void world_check(struct world *w, int64_t from, int64_t to)
{
    struct th_wlstats tick, kl, all;
    CHECK(th_wlstats(w->sim.url, "127.0.0.2", "/ticker/bookTicker", from, to, &tick) == 0);
    CHECK(th_wlstats(w->sim.url, "127.0.0.3", NULL, from, to, &kl) == 0);
    CHECK(th_wlstats(w->sim.url, NULL, NULL, from, to, &all) == 0);
    printf("offset %+5d ms: tick %lld requests, longest gap %lld ms (limit %d); refused %lld;",
           w->offset, (long long)tick.requests, (long long)tick.max_gap_ms,
           1000 / TICK_RATE + 1000, (long long)all.refused);
    for (int i = 0; i < kl.nminutes; i++)
        printf(" kline minute %d: %lld of %d (%.1f%%)", i, (long long)kl.weight[i], BUDGET,
               100.0 * (double)kl.weight[i] / BUDGET);
    printf("\n");
    CHECK(tick.requests > 100);
    CHECK(tick.max_gap_ms <= 1000 / TICK_RATE + 1000);
    CHECK(all.refused == 0);
    CHECK(kl.nminutes >= 1);
    for (int i = 0; i < kl.nminutes; i++) {
        CHECK(kl.weight[i] * 100 >= BUDGET * 95);
        CHECK(kl.weight[i] <= BUDGET);
    }
}

int main(void)
{
#ifdef BFQ_SANITIZED
    printf("SKIP: release build only (2 minutes of wall time, see docs/testing.md)\n");
    return 77;
#endif
    struct world w[WORLDS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < WORLDS; i++) CHECK(world_start(&w[i], offsets[i]) == 0);
    if (th_failures) return th_done();
    /* From the end of the warm-up (in local time) to just past the second minute edge after it. */
    int64_t from_local = th_now_ms() + WARMUP_MS;
    int64_t to_local = (from_local / 60000 + EDGES) * 60000 + 3000;
    th_sleep_ms((int)(to_local - th_now_ms()));
    for (int i = 0; i < WORLDS; i++) {
        for (int j = 0; j < 2; j++) CHECK(th_alive(w[i].kline[j]));
        CHECK(th_alive(w[i].tick));
    }
    for (int i = 0; i < WORLDS; i++)
        world_check(&w[i], from_local + w[i].offset, to_local + w[i].offset);
    for (int i = 0; i < WORLDS; i++) {
        pid_t pids[3] = {w[i].tick, w[i].kline[0], w[i].kline[1]};
        int st[3];
        th_stop_all(pids, 3, 10000, st);
        for (int j = 0; j < 3; j++) CHECK(st[j] != -1 && WIFEXITED(st[j]) && WEXITSTATUS(st[j]) == 0);
        th_sim_stop(&w[i].sim);
        th_redis_stop(&w[i].redis);
    }
    return th_done();
}
