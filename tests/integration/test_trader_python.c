/* test_trader_python: the example strategy in Python (examples/strategy_demo.py, Debian's
 * python3-redis) against the stack: symbols, kline, tick and userstream collectors, `bfq
 * gateway`, `bfq sim` and redis-server with the ACL users (the script runs as user trader).
 * A +2 % move of ETHUSDT makes it append an open intent; the gateway sends it once and the
 * position shows in Redis, with the quantity the filters allow. Skipped (77) when python3 or
 * its redis module is missing. Debian's /usr/bin/python3 is used, not whatever python3 the PATH
 * finds first (a pyenv one lacks the Debian module). */
#include <sys/wait.h>

#include "tests/integration/test_trader_util.h"

static int log_has(void *arg)
{
    const char *const *a = arg;
    FILE *f = fopen(a[0], "r");
    char line[1024];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, a[1]) != NULL;
    if (f) fclose(f);
    return found;
}

int main(void)
{
    const char *probe[] = {"/usr/bin/python3", "-c", "import redis", NULL};
    if (th_run(probe, NULL, 10000) != 0) {
        printf("SKIP: python3 with the redis module (python3-redis) is not installed\n");
        return 77;
    }
    char url[256], script[512], log[512];
    pid_t pids[5];
    if (tt_stack(TT_KLINE | TT_USERSTREAM, pids) != 3) return 1;
    const char *gargs[] = {"--instance", "g1", NULL};
    pids[3] = cu_spawn("gateway", NULL, gargs);
    th_redis_url_for(&cu_red, "trader", url, sizeof url);
    snprintf(script, sizeof script, "%s/examples/strategy_demo.py", th_source_dir());
    snprintf(log, sizeof log, "%s/python.log", th_tmpdir());
    const char *py[] = {"/usr/bin/python3", "-u",  script, "--redis", url,
                        "--notional",       "150", NULL};
    pids[4] = th_spawn(py, log);
    const char *ready[] = {log, "ready"};
    CHECK(th_wait_until(log_has, ready, 15000));
    th_sleep_ms(3000); /* the bars catch up with the kline collector */
    for (int i = 0; i < 600 && (th_now_ms() / 1000) % 60 > 40; i++)
        th_sleep_ms(100);
    CHECK(cu_sim_admin("POST", "/_sim/price?symbol=ETHUSDT&pct=2") == 200);
    CHECK(th_wait_until(tt_long, "ETHUSDT", 20000));
    const char *sent[] = {log, "\"status\": \"sent\""};
    CHECK(th_wait_until(log_has, sent, 5000));
    int st[5];
    th_stop_all(pids, 5, 5000, st);
    for (int i = 0; i < 5; i++)
        CHECK(WIFEXITED(st[i]) && WEXITSTATUS(st[i]) == 0);
    return th_done();
}
