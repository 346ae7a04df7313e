/* test_tick_limit: `bfq tick` plans its slots from the weight limit it knows NOW.
 *
 * The simulator runs with a weight limit of 1200 a minute (--weight-limit), which `bfq symbols`
 * writes into bfq:exchange requestWeight1m; the tick instance has no [exchange] weight_limit and
 * starts before `bfq symbols` ran, so it plans from the default 2400 and learns 1200 from Redis
 * afterwards (the role reads requestWeight1m again every 5 s). Its slot rate
 * must follow: floor(1200 * 90% / 60 / 5) = 3 a second, not the 7 a second of 2400 (before,
 * the plan kept the start-up limit and ran into the budget). Measured from the simulator's
 * request log over a window: the rate fits the budget, no 429, and the budget never made a
 * take wait (heartbeat weight_waits 0, no back-off skips). */
#include "tests/integration/test_collect_util.h"

#define BT_PATH "/fapi/v1/ticker/bookTicker"
#define WINDOW_MS 10000
#define SIM_LIMIT 1200
#define PLAN_RATE 3 /* floor(1200 * 0.9 / 60 / 5) */

/* Book-ticker requests logged in [from, to) (wall ms); *n429 counts every 429 since from. */
static int bt_requests(long long from, long long to, int *n429)
{
    return cu_sim_requests(BT_PATH, from, to, n429);
}

/* The tick heartbeat (new reference), NULL when absent. */
static json_t *tick_hb(void)
{
    char *s = cu_str("GET bfq:hb:tick:tl1");
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    free(s);
    return j;
}

static double slot_rate(void)
{
    json_t *hb = tick_hb();
    double r = json_number_value(json_object_get(json_object_get(hb, "slot"), "rate"));
    json_decref(hb);
    return r;
}

/* Polled: the start-up plan, from the default limit (floor(2400 * 0.9 / 60 / 5) = 7). */
static int planned_default(void *arg)
{
    (void)arg;
    double r = slot_rate();
    return r > 6.99 && r < 7.01;
}

/* Polled: the plan follows the limit from Redis. */
static int planned_low(void *arg)
{
    (void)arg;
    double r = slot_rate();
    return r > 0 && r <= PLAN_RATE + 0.01;
}

int main(void)
{
    char lim[16];
    snprintf(lim, sizeof lim, "%d", SIM_LIMIT);
    CHECK(cu_redis_start() == 0);
    const char *simargs[] = {"--symbols", "20", "--weight-limit", lim, NULL};
    CHECK(th_sim_start(&cu_sim, simargs) == 0);
    if (th_failures) return th_done();
    long long start = th_now_ms();
    const char *args[] = {"--rate", "20", "--instance", "tl1", NULL};
    pid_t pid = cu_spawn("tick", NULL, args);
    CHECK(th_wait_until(planned_default, NULL, 8000)); /* no limit in Redis yet: 2400's plan */
    const char *once[] = {"--once", NULL};
    (void)cu_run("symbols", NULL, cu_sim.url, once, NULL, 20000);
    CHECK(cu_int("HGET bfq:exchange requestWeight1m") == SIM_LIMIT);
    long long learned = th_now_ms();
    int ok = th_wait_until(planned_low, NULL, 10000); /* read again every 5 s */
    fprintf(stderr, "# re-planned %lld ms after `bfq symbols`\n", th_now_ms() - learned);
    fprintf(stderr, "# slot rate %.2f, %lld ms after the spawn\n", slot_rate(),
            th_now_ms() - start);
    CHECK(ok);
    th_sleep_ms(1000);
    long long from = th_now_ms();
    th_sleep_ms(WINDOW_MS);
    int n429 = 0, n = bt_requests(from, from + WINDOW_MS, &n429);
    n429 = 0;
    (void)bt_requests(learned, learned + 600000, &n429);
    th_sleep_ms(1200); /* a heartbeat from after the window */
    json_t *hb = tick_hb();
    long long waits = json_integer_value(json_object_get(hb, "weight_waits"));
    long long skipped = json_integer_value(json_object_get(hb, "skipped_backoff"));
    long long e429 = json_integer_value(json_object_get(json_object_get(hb, "errors"), "429"));
    json_decref(hb);
    fprintf(stderr, "# %d requests in %d ms (plan %d/s); %d answers 429; weight_waits %lld, "
                    "skipped_backoff %lld, errors.429 %lld\n",
            n, WINDOW_MS, PLAN_RATE, n429, waits, skipped, e429);
    CHECK(n <= PLAN_RATE * WINDOW_MS / 1000 + 2); /* 3 a second fit 1080 a minute */
    CHECK(n * 2 >= PLAN_RATE * WINDOW_MS / 1000); /* and it does send */
    CHECK(n429 == 0 && e429 == 0);
    CHECK(waits == 0);
    CHECK(skipped == 0);
    CHECK(th_alive(pid));
    int st = th_stop(pid, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    redisFree(cu_adm);
    th_sim_stop(&cu_sim);
    th_redis_stop(&cu_red);
    return th_done();
}
