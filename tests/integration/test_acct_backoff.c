/* test_acct_backoff: `bfq account` and `bfq positionrisk` against an exchange in maintenance.
 *
 * Both pollers (every 200 ms: 5 requests a second each) against `bfq sim` and a real
 * redis-server. The request rate of each endpoint is measured from the simulator's request
 * log: normally, then while every answer is a 503 (the sim's 5xx fault), and after the fault is
 * lifted. During the fault the rate must drop to a third of the poll rate or less (the
 * pollers pause as `bfq tick` does, collectors/xpause; its jittered delays give a median of
 * 5 requests in the 10 s window and, in 20000 simulated runs, never more than 16), while
 * still probing, and after it the
 * requests and the sources' freshness must come back within the back-off's cap. Before, both
 * kept polling every 200 ms whatever the exchange answered. */
#include "tests/integration/test_collect_util.h"

#define KEY "acctbkey0123456789"
#define SECRET "acctbsecret0123456789abcdef"
#define WINDOW_MS 10000
#define EVERY_MS 200
#define NSRC 2

static const char *const roles[NSRC] = {"account", "positionrisk"};
static const char *const paths[NSRC] = {"/fapi/v2/account", "/fapi/v2/positionRisk"};

/* Requests per source in a window of WINDOW_MS starting now. */
static void rate_window(int n[NSRC])
{
    long long from = th_now_ms();
    th_sleep_ms(WINDOW_MS);
    for (int i = 0; i < NSRC; i++) n[i] = cu_sim_requests(paths[i], from, from + WINDOW_MS, NULL);
}

static long long since_ms;
static int fresh(void *arg)
{
    (void)arg;
    for (int i = 0; i < NSRC; i++)
        if (cu_int("HGET bfq:acct:main:src:%s seen", roles[i]) <= since_ms) return 0;
    return 1;
}

static int flowing(void *arg)
{
    (void)arg;
    for (int i = 0; i < NSRC; i++)
        if (cu_sim_requests(paths[i], since_ms, since_ms + 60000, NULL) < 3) return 0;
    return 1;
}

int main(void)
{
    char conf[512];
    CHECK(cu_redis_start() == 0);
    const char *simargs[] = {"--account", "main:" KEY ":" SECRET ":10000", "--symbols", "10",
                             NULL};
    CHECK(th_sim_start(&cu_sim, simargs) == 0);
    if (th_failures) return th_done();
    snprintf(conf, sizeof conf, "%s/bfq.ini", th_tmpdir());
    FILE *f = th_fopen_private(conf);
    CHECK(f != NULL);
    if (!f) return th_done();
    fprintf(f, "[account.main]\napi_key = %s\napi_secret = %s\n[account]\nevery = %dms\n"
               "[positionrisk]\nevery = %dms\n", KEY, SECRET, EVERY_MS, EVERY_MS);
    fclose(f);
    pid_t pids[NSRC];
    for (int i = 0; i < NSRC; i++) {
        const char *args[] = {"--config", conf, "--instance", roles[i], NULL};
        pids[i] = cu_spawn(roles[i], "account", args);
    }
    since_ms = th_now_ms();
    CHECK(th_wait_until(fresh, NULL, 10000));
    int normal[NSRC], during[NSRC], after[NSRC];
    rate_window(normal);
    for (int i = 0; i < NSRC; i++) {
        char q[160];
        snprintf(q, sizeof q, "/_sim/fault?path=%s&kind=5xx&rate=1", paths[i]);
        CHECK(cu_sim_admin("POST", q) == 200);
    }
    th_sleep_ms(1500); /* the first failures; the back-off grows */
    rate_window(during);
    CHECK(cu_sim_admin("DELETE", "/_sim/fault") == 200);
    since_ms = th_now_ms();
    int resumed = th_wait_until(flowing, NULL, 8000);
    long long took = th_now_ms() - since_ms;
    CHECK(resumed);
    CHECK(th_wait_until(fresh, NULL, 8000));
    rate_window(after);
    char *hb = cu_str("GET bfq:hb:account:account");
    json_t *j = hb ? json_loads(hb, 0, NULL) : NULL;
    long long skipped = json_integer_value(json_object_get(j, "skipped_backoff"));
    json_decref(j);
    free(hb);
    for (int i = 0; i < NSRC; i++) {
        printf("%s: normal %d, during 5xx %d, after %d requests in %d ms; resumed after %lld "
               "ms\n", roles[i], normal[i], during[i], after[i], WINDOW_MS, took);
        CHECK(normal[i] >= WINDOW_MS / EVERY_MS / 2); /* about 50 */
        CHECK(during[i] * 3 <= WINDOW_MS / EVERY_MS); /* paused: a third of the polls */
        CHECK(during[i] > 0);                         /* still probing */
        CHECK(after[i] * 2 >= normal[i]);             /* and the rate is back */
    }
    CHECK(skipped > 0);
    for (int i = 0; i < NSRC; i++) {
        int st = th_stop(pids[i], 5000);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    redisFree(cu_adm);
    th_sim_stop(&cu_sim);
    th_redis_stop(&cu_red);
    return th_done();
}
