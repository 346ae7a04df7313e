/* test_status_clock: `bfq status` shows the weight of the exchange-clock minute.
 *
 * bfq:weight:<ip>:<minute> counts the minute of the exchange's clock (core/weight.c). The
 * simulator's clock is set (POST /_sim/clock) 5 s past the next minute edge, so that for the
 * rest of the test the exchange is one minute ahead of the local clock; a tick instance,
 * on its own source IP, started after that, spends its weight in the exchange minute's key
 * only. `bfq status --json`
 * must report that key's weight for the instance (through the heartbeat's clock_offset_ms),
 * not the local minute's, which holds only the weight of the clock sync's own time requests
 * (taken before the offset was known). Before, status read the local minute. */
#include "tests/integration/test_collect_util.h"

static int hb_synced(void *arg)
{
    (void)arg;
    char *s = cu_str("GET bfq:hb:tick:tc1");
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    int ok = json_integer_value(json_object_get(j, "weight")) > 0;
    json_decref(j);
    free(s);
    return ok;
}

static long long key_weight(long long minute)
{
    long long v = cu_int("GET bfq:weight:127.0.0.7:%lld", minute);
    return v < 0 ? 0 : v;
}

int main(void)
{
    CHECK(cu_redis_start() == 0);
    const char *simargs[] = {"--symbols", "10", NULL};
    CHECK(th_sim_start(&cu_sim, simargs) == 0);
    if (th_failures) return th_done();
    const char *once[] = {"--once", NULL};
    (void)cu_run("symbols", NULL, cu_sim.url, once, NULL, 20000);
    /* at least 25 s left before the local minute ends: the clocks then differ by a minute */
    if (th_now_ms() % 60000 > 35000) th_sleep_ms((int)(60100 - th_now_ms() % 60000));
    long long now = th_now_ms(), offset = 60000 - now % 60000 + 5000;
    char q[96];
    snprintf(q, sizeof q, "/_sim/clock?offset_ms=%lld", offset);
    CHECK(cu_sim_admin("POST", q) == 200);
    const char *args[] = {"--rate", "2", "--instance", "tc1", "--source-ip", "127.0.0.7", NULL};
    pid_t pid = cu_spawn("tick", NULL, args);
    CHECK(th_wait_until(hb_synced, NULL, 10000));
    th_sleep_ms(1500);
    long long local_min = th_now_ms() / 60000, exch_min = (th_now_ms() + offset) / 60000;
    long long before = key_weight(exch_min);
    char *out = NULL;
    const char *sargs[] = {"--json", NULL};
    CHECK(cu_run("status", NULL, NULL, sargs, &out, 10000) == 0);
    long long after = key_weight(exch_min);
    json_t *rep = out ? json_loads(out, 0, NULL) : NULL, *e;
    long long shown = -1, hb_off = -1;
    size_t i;
    json_array_foreach(json_object_get(rep, "instances"), i, e) {
        const char *inst = json_string_value(json_object_get(e, "instance"));
        if (!inst || strcmp(inst, "tc1")) continue;
        shown = json_integer_value(json_object_get(e, "ip_weight_minute"));
        hb_off = json_integer_value(json_object_get(e, "clock_offset_ms"));
    }
    fprintf(stderr, "# offset %lld (heartbeat %lld); local minute %lld: %lld; exchange minute "
                    "%lld: %lld..%lld; status shows %lld\n",
            offset, hb_off, local_min, key_weight(local_min), exch_min, before, after, shown);
    CHECK(exch_min == local_min + 1);
    /* only the clock sync's time requests (before the offset was known) count locally */
    CHECK(key_weight(local_min) < before);
    CHECK(before > 0);
    CHECK(shown >= before && shown <= after);
    CHECK(hb_off > offset - 1000 && hb_off < offset + 1000);
    json_decref(rep);
    free(out);
    int st = th_stop(pid, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    redisFree(cu_adm);
    th_sim_stop(&cu_sim);
    th_redis_stop(&cu_red);
    return th_done();
}
