/* test_tick_backoff: `bfq tick` against an exchange in maintenance (issue 8, item 11).
 *
 * One tick instance (rate 8 a second) against `bfq sim` and a real redis-server. The request
 * rate of the book ticker is measured from the simulator's request log: normally, then while
 * every answer is a 503 (the sim's 5xx fault), and while every request hangs until the
 * client's 1 s timeout (the hang fault), and again after each fault is lifted. During a fault
 * the rate must drop to a quarter of the slot rate or less (the back-off pauses the slots; the
 * slot rate, not the measured one, so that a loaded machine cannot hide it), and after it
 * requests and fresh ticks must come back within the back-off's cap. Before, tick fired one
 * request per slot whatever the exchange answered. */
#include "tests/integration/test_collect_util.h"

#define BT_PATH "/fapi/v1/ticker/bookTicker"
#define WINDOW_MS 5000
#define SLOT_RATE 8 /* --rate: slots a second */

/* Book-ticker requests the simulator logged in [from, to) (wall ms). */
static int bt_requests(long long from, long long to)
{
    return cu_sim_requests(BT_PATH, from, to, NULL);
}

/* Requests in a window of WINDOW_MS starting now. */
static int rate_window(void)
{
    long long from = th_now_ms();
    th_sleep_ms(WINDOW_MS);
    return bt_requests(from, from + WINDOW_MS);
}

static long long since_ms;
static int ticks_fresh(void *arg)
{
    (void)arg;
    return cu_ticks_max_t() > since_ms;
}

static int flowing(void *arg)
{
    (void)arg;
    return bt_requests(since_ms, since_ms + 60000) >= 5;
}

/* One fault kind: the rate during it against the normal one, and the recovery after it. */
static void fault_phase(const char *kind, int normal)
{
    char path[160];
    snprintf(path, sizeof path, "/_sim/fault?path=" BT_PATH "&kind=%s&rate=1", kind);
    CHECK(cu_sim_admin("POST", path) == 200);
    th_sleep_ms(1500); /* the first failures; the back-off grows */
    int during = rate_window();
    CHECK(cu_sim_admin("DELETE", "/_sim/fault") == 200);
    since_ms = th_now_ms();
    int resumed = th_wait_until(flowing, NULL, 8000);
    long long took = th_now_ms() - since_ms;
    CHECK(resumed);
    CHECK(th_wait_until(ticks_fresh, NULL, 8000));
    int after = rate_window();
    printf("fault %s: %d requests in %d ms (normal %d), resumed after %lld ms, then %d\n", kind,
           during, WINDOW_MS, normal, took, after);
    CHECK(during * 4 <= SLOT_RATE * WINDOW_MS / 1000); /* paused: a quarter of the slots */
    CHECK(during > 0);            /* still probing: it comes back by itself */
    CHECK(after * 2 >= normal);   /* and the rate is back */
}

int main(void)
{
    CHECK(cu_redis_start() == 0);
    const char *simargs[] = {"--symbols", "20", NULL};
    CHECK(th_sim_start(&cu_sim, simargs) == 0);
    if (th_failures) return th_done();
    const char *once[] = {"--once", NULL};
    (void)cu_run("symbols", NULL, cu_sim.url, once, NULL, 20000);
    char rate[16];
    snprintf(rate, sizeof rate, "%d", SLOT_RATE);
    const char *args[] = {"--rate", rate, "--instance", "tb1", NULL};
    pid_t pid = cu_spawn("tick", NULL, args);
    since_ms = th_now_ms();
    CHECK(th_wait_until(ticks_fresh, NULL, 10000));
    th_sleep_ms(1000);
    int normal = rate_window();
    printf("normal: %d requests in %d ms\n", normal, WINDOW_MS);
    CHECK(normal >= 20); /* rate 8: about 40 */
    fault_phase("5xx", normal);
    fault_phase("hang", normal);
    int st = th_stop(pid, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    redisFree(cu_adm);
    th_sim_stop(&cu_sim);
    th_redis_stop(&cu_red);
    return th_done();
}
