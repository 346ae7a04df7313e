/* test_risk_sweeper_dedup: `bfq sweeper` does not ask for a cancel again while the last one is
 * in flight, whatever its retry period (1 s here), and asks again only after it failed.
 *
 * A `to` order past its age (1 s) with no gateway running: one cancel intent goes on the
 * stream and stays there unclaimed; 4 s (four retry periods) later there is still only one.
 * Then a gateway starts with max_age 2 s, so that first intent is denied (too old): the
 * sweeper asks once more, and that cancel is slowed by the simulator (3 s latency on
 * /fapi/v1/order) while the gateway holds its claim: still no third intent. At the end the
 * order is cancelled, two cancel intents exist for it, and the exchange saw one DELETE. */
#include "tests/integration/test_trader_util.h"

static long long t_start;

/* Cancel intents on the stream for client id cid. */
static int cancels_for(const char *cid)
{
    redisReply *r = cu_cmd("XRANGE bfq:intents:main - +");
    int n = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *kv = r->element[i]->element[1];
        int is_cancel = 0, is_cid = 0;
        for (size_t j = 0; j + 1 < kv->elements; j += 2) {
            if (!strcmp(kv->element[j]->str, "op") && !strcmp(kv->element[j + 1]->str, "cancel"))
                is_cancel = 1;
            if (!strcmp(kv->element[j]->str, "orig") && !strcmp(kv->element[j + 1]->str, cid))
                is_cid = 1;
        }
        n += is_cancel && is_cid;
    }
    if (r) freeReplyObject(r);
    return n;
}

static int one_cancel(void *cid)
{
    return cancels_for(cid) >= 1;
}

static int two_cancels(void *cid)
{
    return cancels_for(cid) >= 2;
}

/* The order's status from allOrders (GET /fapi/v1/order would meet the latency fault). */
static int canceled(void *cid)
{
    char *body = NULL;
    th_sleep_ms(100);
    long code = tb_signed(&tt_acct, "GET", "/fapi/v1/allOrders", "symbol=ETHUSDT", &body);
    json_t *a = code == 200 && body ? json_loads(body, 0, NULL) : NULL, *e;
    free(body);
    size_t i;
    int ok = 0;
    json_array_foreach(a, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "clientOrderId"));
        const char *st = json_string_value(json_object_get(e, "status"));
        if (c && st && !strcmp(c, cid) && !strcmp(st, "CANCELED")) ok = 1;
    }
    json_decref(a);
    return ok;
}

/* DELETE /fapi/v1/order requests the simulator logged since the start. */
static int deletes(void)
{
    char q[96];
    snprintf(q, sizeof q, "/_sim/requests?since=%lld&limit=5000", t_start);
    json_t *log = cu_sim_get(q), *e;
    size_t i;
    int n = 0;
    json_array_foreach(log, i, e)
    {
        const char *m = json_string_value(json_object_get(e, "method"));
        const char *p = json_string_value(json_object_get(e, "path"));
        if (m && p && !strcmp(m, "DELETE") && !strcmp(p, "/fapi/v1/order")) n++;
    }
    json_decref(log);
    return n;
}

int main(void)
{
    pid_t pids[5];
    int n = tt_stack(TT_USERSTREAM, pids);
    if (n != 2) return 1;
    t_start = th_now_ms();
    CHECK(tt_rest("ETHUSDT", "to_d1", "0.100") == 0);

    setenv("BFQ_SWEEPER_RETRY", "1s", 1);
    const char *sargs[] = {"--instance", "sw1", "--to-age", "1s", "--source-ip", "127.0.0.6", NULL};
    pids[n++] = cu_spawn("sweeper", "risk", sargs);

    /* no gateway: the intent waits on the stream, and is not asked for again */
    CHECK(th_wait_until(one_cancel, "to_d1", 15000));
    th_sleep_ms(4000);
    CHECK(cancels_for("to_d1") == 1);
    CHECK(tt_hb("sweeper", "sw1", "cancel_in_flight") >= 1);

    /* a gateway that finds it too old denies it: asked once more, and that one is slow */
    CHECK(cu_sim_admin("POST", "/_sim/fault?path=/fapi/v1/order&kind=latency&ms=3000&count=1") ==
          200);
    const char *gargs[] = {"--instance", "g1", "--max-age", "2s", NULL};
    pids[n++] = cu_spawn("gateway", NULL, gargs);
    CHECK(th_wait_until(two_cancels, "to_d1", 15000));
    CHECK(th_wait_until(canceled, "to_d1", 20000));
    th_sleep_ms(2500); /* a third ask would come within a few retry periods */
    fprintf(stderr, "# cancel intents %d, DELETEs at the exchange %d\n", cancels_for("to_d1"),
            deletes());
    CHECK(cancels_for("to_d1") == 2);
    CHECK(deletes() == 1);

    int status[5];
    th_stop_all(pids, n, 5000, status);
    return th_done();
}
