/* test_collect_kline: THE acceptance test of the kline collectors, against a real redis-server
 * (ACL users) and a real `bfq sim` with 200 symbols.
 *
 * Two `bfq kline` instances on source addresses 127.0.0.2 and 127.0.0.3 share the universe
 * through the cursor: within 60 s every universe symbol's record bfq:kline:1m:<SYM> is written
 * and is a valid window (45 consecutive bars, decimals as strings); each IP stays under its
 * budget (GET /_sim/weights, 90% of 2400); the simulator answered no 429 (GET /_sim/requests);
 * a subscriber of bfq:ch:kline:1m receives {"s","t","bars":[two bars]}; `bfq status --json`
 * parses and lists both instances with their source IPs; SIGTERM stops each cleanly (exit 0,
 * heartbeat key deleted). */
#include <signal.h>
#include <sys/wait.h>

#include "tests/integration/test_collect_util.h"

static json_t *universe;

static int all_written(void *arg)
{
    (void)arg;
    size_t i;
    json_t *s;
    json_array_foreach(universe, i, s) {
        if (cu_kline_record("1m", json_string_value(s), 45) == 0) return 0;
    }
    return 1;
}

static void check_records(void)
{
    size_t i, bad = 0;
    json_t *s;
    json_array_foreach(universe, i, s) {
        if (cu_kline_record("1m", json_string_value(s), 45) != 1) bad++;
    }
    CHECK(bad == 0);
}

static void check_weights(void)
{
    json_t *w = cu_sim_get("/_sim/weights");
    CHECK(w != NULL);
    const char *ips[] = {"127.0.0.2", "127.0.0.3"};
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(w, ips[i]);
        fprintf(stderr, "# weight this minute from %s: %lld\n", ips[i],
                (long long)json_integer_value(v));
        CHECK(json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= 2160);
    }
    json_decref(w);
    json_t *log = cu_sim_get("/_sim/requests?since=0");
    size_t i, n429 = 0, nk = 0;
    json_t *e;
    CHECK(json_is_array(log));
    json_array_foreach(log, i, e) {
        long long st = json_integer_value(json_object_get(e, "status"));
        const char *path = json_string_value(json_object_get(e, "path"));
        if (st == 429 || st == 418) n429++;
        if (path && !strcmp(path, "/fapi/v1/klines")) nk++;
    }
    fprintf(stderr, "# simulator log: %zu klines requests, %zu 429/418\n", nk, n429);
    CHECK(n429 == 0);
    CHECK(nk >= json_array_size(universe));
    json_decref(log);
}

static void check_channel(void)
{
    redisContext *c = redisConnect("127.0.0.1", cu_red.port);
    struct timeval tv = {5, 0};
    redisReply *r = redisCommand(c, "AUTH admin test-admin");
    if (r) freeReplyObject(r);
    redisSetTimeout(c, tv);
    r = redisCommand(c, "SUBSCRIBE bfq:ch:kline:1m");
    if (r) freeReplyObject(r);
    void *m = NULL;
    CHECK(redisGetReply(c, &m) == REDIS_OK);
    r = m;
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == 3);
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
        json_t *msg = json_loads(r->element[2]->str, 0, NULL);
        CHECK(json_is_string(json_object_get(msg, "s")));
        CHECK(json_integer_value(json_object_get(msg, "t")) > 0);
        CHECK(json_array_size(json_object_get(msg, "bars")) == 2);
        json_decref(msg);
    }
    if (r) freeReplyObject(r);
    redisFree(c);
}

/* Both heartbeats are written (the first beat comes within a second of Redis being up; with
 * rate = auto the walk can be over before that). */
static int both_beating(void *arg)
{
    (void)arg;
    return cu_int("EXISTS bfq:hb:kline:k2") == 1 && cu_int("EXISTS bfq:hb:kline:k3") == 1;
}

static void check_status(void)
{
    char *out = NULL;
    const char *args[] = {"--json", NULL};
    CHECK(cu_run("status", NULL, NULL, args, &out, 10000) == 0);
    json_t *rep = out ? json_loads(out, 0, NULL) : NULL;
    CHECK(json_is_object(rep));
    json_t *inst = json_object_get(rep, "instances"), *e;
    size_t i;
    int seen2 = 0, seen3 = 0;
    json_array_foreach(inst, i, e) {
        const char *role = json_string_value(json_object_get(e, "role"));
        const char *ip = json_string_value(json_object_get(e, "source_ip"));
        if (role && ip && !strcmp(role, "kline") && !strcmp(ip, "127.0.0.2")) seen2 = 1;
        if (role && ip && !strcmp(role, "kline") && !strcmp(ip, "127.0.0.3")) seen3 = 1;
        if (role && !strcmp(role, "kline"))
            CHECK(json_integer_value(json_object_get(e, "ip_weight_minute")) > 0);
    }
    CHECK(seen2 && seen3);
    json_t *k = json_object_get(json_object_get(json_object_get(rep, "data"), "kline"), "1m");
    CHECK((size_t)json_integer_value(json_object_get(k, "count")) >= json_array_size(universe));
    json_decref(rep);
    /* the text form too */
    free(out);
    out = NULL;
    CHECK(cu_run("status", NULL, NULL, NULL, &out, 10000) == 0);
    CHECK(out && strstr(out, "127.0.0.2") && strstr(out, "kline 1m"));
    free(out);
}

int main(void)
{
    CHECK(cu_redis_start() == 0);
    CHECK(th_sim_start(&cu_sim, NULL) == 0);
    if (th_failures) return th_done();
    const char *once[] = {"--once", NULL};
    (void)cu_run("symbols", NULL, cu_sim.url, once, NULL, 20000);
    universe = cu_universe();
    CHECK(json_array_size(universe) >= 195);
    const char *a2[] = {"--source-ip", "127.0.0.2", "--instance", "k2", NULL};
    const char *a3[] = {"--source-ip", "127.0.0.3", "--instance", "k3", NULL};
    int64_t t0 = th_now_ms();
    pid_t p2 = cu_spawn("kline", NULL, a2), p3 = cu_spawn("kline", NULL, a3);
    CHECK(th_wait_until(all_written, NULL, 60000));
    fprintf(stderr, "# all %zu records written in %lld ms\n", json_array_size(universe),
            (long long)(th_now_ms() - t0));
    check_records();
    check_weights();
    check_channel();
    CHECK(th_wait_until(both_beating, NULL, 5000));
    check_status();
    CHECK(th_alive(p2) && th_alive(p3));
    CHECK(cu_int("EXISTS bfq:hb:kline:k2") == 1);
    int st2 = th_stop(p2, 5000), st3 = th_stop(p3, 5000);
    CHECK(WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
    CHECK(WIFEXITED(st3) && WEXITSTATUS(st3) == 0);
    CHECK(cu_int("EXISTS bfq:hb:kline:k2") == 0);
    CHECK(cu_int("EXISTS bfq:hb:kline:k3") == 0);
    json_decref(universe);
    th_sim_stop(&cu_sim);
    th_redis_stop(&cu_red);
    return th_done();
}
