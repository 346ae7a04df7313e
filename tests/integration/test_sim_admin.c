/* test_sim_admin: the /_sim/ admin API and what it changes.
 *
 * Every fault kind observable on its path (and only there), DELETE /_sim/fault, the clock
 * offset on /fapi/v1/time, a price move, the request log, determinism (two simulators with the
 * same seed give the same klines for a past window), and --replay with the real recorded
 * exchangeInfo. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"
#include "tests/integration/test_sim_util.h"

static struct th_sim sim;

static long get(const char *pathq, struct simresp *r, int timeout_ms)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", sim.url, pathq);
    return simq("GET", url, NULL, NULL, NULL, timeout_ms, r);
}

static long admin(const char *method, const char *pathq)
{
    char url[512];
    struct simresp r;
    snprintf(url, sizeof(url), "%s%s", sim.url, pathq);
    long st = simq(method, url, NULL, NULL, NULL, 0, &r);
    simresp_free(&r);
    return st;
}

static int valid_json(const char *s)
{
    json_t *j = json_loads(s, 0, NULL);
    json_decref(j);
    return j != NULL;
}

static void faults(void)
{
    struct simresp r;
    const char *kl = "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=10";
    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/klines&kind=5xx&rate=1") == 200);
    CHECK(get(kl, &r, 0) == 503);
    simresp_free(&r);
    CHECK(get("/fapi/v1/ticker/bookTicker?symbol=BTCUSDT", &r, 0) == 200); /* other paths fine */
    simresp_free(&r);
    CHECK(admin("DELETE", "/_sim/fault") == 200);
    CHECK(get(kl, &r, 0) == 200 && valid_json(r.body));
    simresp_free(&r);

    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/klines&kind=disconnect") == 200);
    CHECK(get(kl, &r, 0) == 503 && strstr(r.body, "-1001"));
    simresp_free(&r);
    CHECK(admin("DELETE", "/_sim/fault") == 200);

    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/klines&kind=malformed&rate=1.0") == 200);
    CHECK(get(kl, &r, 0) == 200 && !valid_json(r.body));
    simresp_free(&r);
    CHECK(admin("DELETE", "/_sim/fault") == 200);

    CHECK(admin("POST", "/_sim/fault?path=*&kind=truncated") == 200);
    CHECK(get(kl, &r, 0) == 200 && r.len > 10 && !valid_json(r.body) && r.body[0] == '[');
    simresp_free(&r);
    CHECK(admin("DELETE", "/_sim/fault") == 200);

    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/klines&kind=latency&ms=400") == 200);
    int64_t t0 = th_now_ms();
    CHECK(get(kl, &r, 0) == 200);
    CHECK(th_now_ms() - t0 >= 380);
    simresp_free(&r);
    CHECK(admin("DELETE", "/_sim/fault") == 200);

    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/klines&kind=hang") == 200);
    t0 = th_now_ms();
    CHECK(get(kl, &r, 500) == 0); /* the client times out */
    CHECK(th_now_ms() - t0 >= 450);
    simresp_free(&r);
    CHECK(admin("DELETE", "/_sim/fault") == 200);

    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/ticker/bookTicker&kind=unsorted") == 200);
    CHECK(get("/fapi/v1/ticker/bookTicker", &r, 0) == 200);
    CHECK(strncmp(r.body, "[{\"symbol\":\"BTCUSDT\"", 20) != 0);
    simresp_free(&r);
    CHECK(admin("DELETE", "/_sim/fault") == 200);
    CHECK(get("/fapi/v1/ticker/bookTicker", &r, 0) == 200);
    CHECK(strncmp(r.body, "[{\"symbol\":\"BTCUSDT\"", 20) == 0);
    simresp_free(&r);

    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/time&kind=frozen") == 200);
    struct simresp a, b;
    CHECK(get("/fapi/v1/time", &a, 0) == 200);
    th_sleep_ms(30);
    CHECK(get("/fapi/v1/time", &b, 0) == 200);
    CHECK_EQ_STR(a.body, b.body);
    simresp_free(&a);
    simresp_free(&b);
    CHECK(admin("DELETE", "/_sim/fault") == 200);

    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/klines&kind=nonsense") == 400);
    CHECK(admin("POST", "/_sim/fault?path=/fapi/v1/klines&kind=5xx&rate=2") == 400);
}

static long long server_time(void)
{
    struct simresp r;
    long long t = 0;
    if (get("/fapi/v1/time", &r, 0) == 200) {
        json_t *j = json_loads(r.body, 0, NULL);
        t = j ? json_integer_value(json_object_get(j, "serverTime")) : 0;
        json_decref(j);
    }
    simresp_free(&r);
    return t;
}

static void clock_and_price(void)
{
    long long t0 = server_time();
    CHECK(admin("POST", "/_sim/clock?offset_ms=-600000") == 200);
    long long t1 = server_time();
    CHECK(t1 < t0 - 590000 && t1 > t0 - 610000);
    CHECK(admin("POST", "/_sim/clock?offset_ms=0") == 200);
    CHECK(llabs(server_time() - t0) < 10000);

    struct simresp r;
    CHECK(admin("POST", "/_sim/price?symbol=ETHUSDT&price=1234.56") == 200);
    CHECK(get("/fapi/v2/ticker/price?symbol=ETHUSDT", &r, 0) == 200);
    json_t *j = json_loads(r.body, 0, NULL);
    const char *px = j ? json_string_value(json_object_get(j, "price")) : NULL;
    double p = px ? strtod(px, NULL) : 0;
    CHECK(p > 1230 && p < 1240);
    json_decref(j);
    simresp_free(&r);
    CHECK(admin("POST", "/_sim/price?symbol=NOPE&pct=5") == 400);
}

static void request_log(void)
{
    struct simresp r;
    long long since = th_now_ms();
    char url[256];
    snprintf(url, sizeof(url), "%s/fapi/v1/ticker/bookTicker", sim.url);
    CHECK(simq("GET", url, NULL, NULL, "127.0.0.2", 0, &r) == 200);
    simresp_free(&r);
    snprintf(url, sizeof(url), "/_sim/requests?since=%lld", since);
    CHECK(get(url, &r, 0) == 200);
    CHECK(strstr(r.body, "{\"t\":") != NULL);
    CHECK(strstr(r.body, "\"ip\":\"127.0.0.2\",\"method\":\"GET\",\"path\":\"/fapi/v1/ticker/bookTicker\","
                         "\"weight\":5,\"status\":200}") != NULL);
    CHECK(strstr(r.body, "/_sim/") == NULL);
    simresp_free(&r);
    CHECK(get("/_sim/state", &r, 0) == 200 && valid_json(r.body));
    simresp_free(&r);
}

static char *klines_of(const char *url_base, const char *pathq)
{
    char url[512];
    struct simresp r;
    snprintf(url, sizeof(url), "%s%s", url_base, pathq);
    if (simq("GET", url, NULL, NULL, NULL, 0, &r) != 200) {
        simresp_free(&r);
        return NULL;
    }
    return r.body;
}

static void determinism(void)
{
    struct th_sim other, third;
    const char *same[] = {"--symbols", "12", "--seed", "42", NULL};
    const char *diff[] = {"--symbols", "12", "--seed", "43", NULL};
    CHECK(th_sim_start(&other, same) == 0);
    CHECK(th_sim_start(&third, diff) == 0);
    char pq[256];
    long long end = (th_now_ms() / 60000 - 5) * 60000;
    snprintf(pq, sizeof(pq), "/fapi/v1/klines?symbol=SOLUSDT&interval=1m&endTime=%lld&limit=100", end);
    char *a = klines_of(sim.url, pq), *b = klines_of(other.url, pq), *c = klines_of(third.url, pq);
    CHECK(a && b && c);
    CHECK_EQ_STR(a, b);
    CHECK(a && c && strcmp(a, c) != 0);
    json_t *j = a ? json_loads(a, 0, NULL) : NULL;
    CHECK(json_array_size(j) == 100);
    json_decref(j);
    free(a);
    free(b);
    free(c);
    th_sim_stop(&other);
    th_sim_stop(&third);
}

static void replay(void)
{
    char dir[512], path[600];
    snprintf(dir, sizeof(dir), "%s/replay", th_tmpdir());
    const char *mk[] = {"mkdir", "-p", dir, NULL};
    CHECK(th_run(mk, NULL, 5000) == 0);
    snprintf(path, sizeof(path), "%s/fapi_v1_exchangeInfo.json", dir);
    size_t len = 0;
    char *want = th_read_fixture("exchangeInfo.real.cryptofeed-2021-07-22.json", &len);
    FILE *f = fopen(path, "wb");
    CHECK(f && want);
    if (f && want) fwrite(want, 1, len, f);
    if (f) fclose(f);
    struct th_sim rs;
    const char *args[] = {"--symbols", "8", "--replay", dir, NULL};
    CHECK(th_sim_start(&rs, args) == 0);
    char *got = klines_of(rs.url, "/fapi/v1/exchangeInfo");
    CHECK(got && want && strlen(got) == len && !memcmp(got, want, len));
    free(got);
    got = klines_of(rs.url, "/fapi/v1/time"); /* not replayed: simulated */
    CHECK(got && strstr(got, "serverTime"));
    free(got);
    free(want);
    th_sim_stop(&rs);
}

int main(void)
{
    const char *args[] = {"--symbols", "12", "--seed", "42", NULL};
    if (th_sim_start(&sim, args)) {
        CHECK(!"sim started");
        return th_done();
    }
    faults();
    clock_and_price();
    request_log();
    determinism();
    replay();
    th_sim_stop(&sim);
    return th_done();
}
