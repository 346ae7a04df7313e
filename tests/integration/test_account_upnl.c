/* test_account_upnl: a position's unrealized PnL stays live in the reconciled record, against
 * `bfq sim` and a real redis-server (ACL users), with `bfq userstream` and `bfq positionrisk`
 * (every 200 ms) running.
 *
 * A MARKET buy opens ETHUSDT; the stream's ACCOUNT_UPDATE is the newest record of the position
 * (its E is after the position's updateTime). The price then moves 5% up with no fill, so no
 * stream event and no new updateTime: the reconciled upnl must still follow the REST snapshots
 * (timed by their send time), up to the simulator's own figure. Closing the position leaves
 * amt, entry and upnl "0" (nothing of the old PnL lingers). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/harness/harness.h"
#include "tests/harness/testbinance.h"

#define KEY "h8upnlkey0123456789"
#define SECRET "h8upnlsecret0123456789abcdef"
#define POS "bfq:acct:main:pos"
#define FIELD "ETHUSDT:BOTH"

static redisContext *rc;
static struct tb_account simacct;

static char *member(const char *m)
{
    return tb_hget_member(rc, POS, FIELD, m);
}

static int member_is(const char *m, const char *want)
{
    char *v = member(m);
    int ok = tb_dec_eq(v, want);
    free(v);
    return ok;
}

static int opened(void *arg)
{
    (void)arg;
    return member_is("amt", "0.5");
}

static int flat(void *arg)
{
    (void)arg;
    return member_is("amt", "0") && member_is("upnl", "0") && member_is("entry", "0");
}

/* The simulator's own unrealized PnL of ETHUSDT (positionRisk), as a double for a bound. */
static double sim_upnl(void)
{
    char *body = NULL;
    double v = 0;
    if (tb_signed(&simacct, "GET", "/fapi/v2/positionRisk", "symbol=ETHUSDT", &body) == 200) {
        json_t *a = json_loads(body, 0, NULL);
        const char *s = json_string_value(json_object_get(json_array_get(a, 0), "unRealizedProfit"));
        v = s ? strtod(s, NULL) : 0;
        json_decref(a);
    }
    free(body);
    return v;
}

/* The reconciled upnl near the simulator's (which the move made clearly positive; the path's
 * own noise moves it a little between two polls), far from the fill's figure (about 0). */
static int upnl_live(void *arg)
{
    double *want = arg;
    char *v = member("upnl");
    double got = v ? strtod(v, NULL) : 0;
    free(v);
    return *want > 0 && got > *want * 0.5 && got < *want * 1.5;
}

int main(void)
{
    struct th_redis r;
    struct th_sim s;
    simacct = (struct tb_account){NULL, KEY, SECRET};
    rc = tb_start(&r, &s, &simacct, "main:" KEY ":" SECRET ":100000");
    CHECK(rc != NULL);
    if (!rc) return th_done();
    char conf[512];
    snprintf(conf, sizeof conf, "%s/bfq.ini", th_tmpdir());
    CHECK(tb_write_config(conf, &r, &simacct,
                          "[positionrisk]\nevery = 200ms\n[userstream]\norders_every = 0\n") == 0);
    pid_t us = tb_spawn_role(conf, "userstream", "us");
    pid_t pr = tb_spawn_role(conf, "positionrisk", "pr");
    th_sleep_ms(1500); /* both connected and polling */

    char *body = NULL;
    CHECK(tb_market(&simacct, "ETHUSDT", "BUY", "0.5", NULL, &body) == 200);
    free(body);
    CHECK(th_wait_until(opened, NULL, 5000));
    char *u0 = member("upnl");
    char path[256];
    snprintf(path, sizeof path, "%s/_sim/price?symbol=ETHUSDT&pct=5", simacct.base_url);
    CHECK(th_http("POST", path, NULL, NULL, NULL) == 200);
    th_sleep_ms(5300); /* the mark (upnl's price) averages the index over 5 s (docs/sim.md) */
    double want = sim_upnl();
    CHECK(th_wait_until(upnl_live, &want, 6000));
    char *u1 = member("upnl"), *src = member("src");
    fprintf(stderr, "# upnl after the fill %s, after a 5%% move %s (simulator %.4f), src %s\n",
            u0 ? u0 : "-", u1 ? u1 : "-", want, src ? src : "-");
    free(u0);
    free(u1);
    free(src);

    CHECK(tb_market(&simacct, "ETHUSDT", "SELL", "0.5", NULL, &body) == 200);
    free(body);
    CHECK(th_wait_until(flat, NULL, 5000));
    th_sleep_ms(1500); /* later snapshots of the flat position change nothing */
    CHECK(flat(NULL));

    int st1 = th_stop(us, 5000), st2 = th_stop(pr, 5000);
    CHECK(WIFEXITED(st1) && WEXITSTATUS(st1) == 0);
    CHECK(WIFEXITED(st2) && WEXITSTATUS(st2) == 0);
    redisFree(rc);
    th_sim_stop(&s);
    th_redis_stop(&r);
    return th_done();
}
