/* bench_weight: request weight spent per IP against its budget, with `rate = auto` klines.
 *
 * Starts redis-server and `bfq sim` (Binance's 2400 a minute per IP; its clock set off the
 * local one, -1500 ms unless argv[1] says otherwise, since on Binance the offset is never zero),
 * then `bfq kline` (rate = auto, the default) twice on 127.0.0.2 and once on 127.0.0.3, and
 * `bfq tick` on 127.0.0.4. After a 10 s warm-up it waits for the end of the next full exchange
 * minute and prints, from the simulator's request log, for each IP and that minute: the weight
 * spent, the budget (90% of the limit), the share of it, the requests and the 429/418 answers;
 * and the klines written per second. Figures from one run; nothing is asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "tests/harness/weightlog.h"

#define LIMIT 2400
#define BUDGET (LIMIT * 90 / 100)
#define WARMUP_MS 10000

static struct th_redis redis;
static struct th_sim sim;

static pid_t spawn_role(const char *cmd, const char *ip, const char *inst)
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s-%s.log", th_tmpdir(), cmd, inst);
    const char *argv[] = {th_bfq_bin(), cmd, "--redis", redis.url, "--exchange", sim.url,
                          "--source-ip", ip, "--instance", inst, NULL};
    return th_spawn(argv, log);
}

static void report(const char *ip, const char *what, int64_t from, int64_t to)
{
    struct th_wlstats s, kl;
    if (th_wlstats(sim.url, ip, NULL, from, to, &s) != 0 || s.nminutes < 1 ||
        th_wlstats(sim.url, ip, "/klines", from, to, &kl) != 0) {
        printf("%-10s %-22s request log unreadable\n", ip, what);
        return;
    }
    printf("%-10s %-22s %6lld / %d  %5.1f%%  %6lld requests  %3lld refused  %5.1f klines/s\n", ip,
           what, (long long)s.weight[0], BUDGET, 100.0 * (double)s.weight[0] / BUDGET,
           (long long)s.requests, (long long)s.refused, (double)kl.requests / 60.0);
}

int main(int argc, char **argv)
{
    char url[256], lim[16];
    int offset = argc > 1 ? (int)strtol(argv[1], NULL, 10) : -1500;
    snprintf(lim, sizeof lim, "%d", LIMIT);
    const char *simargs[] = {"--weight-limit", lim, NULL};
    if (th_redis_start(&redis, 0) != 0 || th_sim_start(&sim, simargs) != 0) {
        fprintf(stderr, "bench_weight: cannot start redis or the simulator\n");
        return 1;
    }
    snprintf(url, sizeof url, "%s/_sim/clock?offset_ms=%d", sim.url, offset);
    const char *sym[] = {th_bfq_bin(), "symbols", "--once", "--redis", redis.url, "--exchange",
                         sim.url, NULL};
    if (th_http("POST", url, "", NULL, NULL) != 200 || th_run(sym, NULL, 30000) != 0) {
        fprintf(stderr, "bench_weight: cannot set up the simulator\n");
        return 1;
    }
    pid_t pids[4] = {spawn_role("kline", "127.0.0.2", "k1"), spawn_role("kline", "127.0.0.2", "k2"),
                     spawn_role("kline", "127.0.0.3", "k3"), spawn_role("tick", "127.0.0.4", "t1")};
    /* the first full exchange minute after the warm-up, then 1 s for the last answers */
    int64_t start = th_sim_time(sim.url) + WARMUP_MS;
    int64_t from = (start / 60000 + 1) * 60000, to = from + 60000;
    th_sleep_ms((int)(to + 1000 - th_sim_time(sim.url)));
    printf("bench_weight: exchange clock %+d ms, limit %d, budget %d (90%%), one full exchange "
           "minute\n", offset, LIMIT, BUDGET);
    printf("%-10s %-22s %15s %7s\n", "ip", "instances", "weight / budget", "share");
    report("127.0.0.2", "2 x kline rate=auto", from, to);
    report("127.0.0.3", "1 x kline rate=auto", from, to);
    report("127.0.0.4", "1 x tick", from, to);
    int st[4];
    th_stop_all(pids, 4, 10000, st);
    th_sim_stop(&sim);
    th_redis_stop(&redis);
    return 0;
}
