/* test_sim_gone: the simulator survives clients that go away in the middle of a request.
 *
 * A client whose timeout is shorter than the simulator's `latency` fault closes the connection
 * while the answer's delay timer is armed; a client killed (SIGKILL) while its request hangs
 * (`hang` fault). Both with GET, with a POST whose parameters are all in the query
 * (Content-Length: 0, as bfq's signed requests are sent) and with a POST with a body. The
 * simulator must keep running and answer the next requests, on the same path once the fault is
 * gone and on others meanwhile. Run in the ASan+UBSan build too. On a POST with an empty body
 * whose answer was deferred, libwebsockets delivers the body callbacks when the client closes
 * (a NULL fragment, then the completion): the simulator once copied from the NULL fragment
 * (UBSan) and handled the request a second time, re-arming the delay timer that was still
 * armed, which corrupted libev's timer heap ("(libev) cannot allocate -32 bytes, aborting"). */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/integration/test_sim_util.h"

static struct th_sim sim;

static long req(const char *method, const char *pathq, const char *body, int timeout_ms)
{
    char url[512];
    struct simresp r;
    snprintf(url, sizeof(url), "%s%s", sim.url, pathq);
    long st = simq(method, url, body, NULL, NULL, timeout_ms, &r);
    simresp_free(&r);
    return st;
}

/* How many requests for path the simulator logged. */
static int logged(const char *path)
{
    char url[256], *body = NULL;
    snprintf(url, sizeof url, "%s/_sim/requests", sim.url);
    if (th_http("GET", url, NULL, NULL, &body) != 200) {
        free(body);
        return -1;
    }
    json_t *a = json_loads(body, 0, NULL), *e;
    free(body);
    size_t i;
    int n = 0;
    json_array_foreach(a, i, e)
    {
        const char *p = json_string_value(json_object_get(e, "path"));
        n += p && !strcmp(p, path);
    }
    json_decref(a);
    return a ? n : -1;
}

static int sim_answers(void)
{
    return th_alive(sim.pid) && req("GET", "/fapi/v1/ping", NULL, 2000) == 200;
}

/* Clients time out (150 ms) during a 600 ms latency fault, several on one path at once and one
 * after the other; the simulator fires each delay timer after its client is gone. */
static void latency_then_timeout(void)
{
    const char *kl = "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=5";
    const char *ord = "/fapi/v1/order?symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1";
    CHECK(req("POST", "/_sim/fault?path=/fapi/v1/klines&kind=latency&ms=600", "", 0) == 200);
    CHECK(req("POST", "/_sim/fault?path=/fapi/v1/order&kind=latency&ms=600", "", 0) == 200);
    for (int i = 0; i < 6; i++) {
        if (i % 3 == 0)
            CHECK(req("GET", kl, NULL, 150) == 0); /* the client gives up first */
        else
            CHECK(req("POST", ord, i % 3 == 1 ? "" : "newClientOrderId=x", 150) == 0);
        th_sleep_ms(600); /* the delay timer fires with its client gone */
        CHECK(sim_answers());
    }
    CHECK(logged("/fapi/v1/order") == 4); /* each handled once */
    pid_t kids[4];
    for (int i = 0; i < 4; i++) {
        kids[i] = fork();
        if (kids[i] == 0) _exit(req("GET", kl, NULL, 100) == 0 ? 0 : 1);
    }
    for (int i = 0; i < 4; i++) {
        int st = -1;
        CHECK(kids[i] > 0 && waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) &&
              WEXITSTATUS(st) == 0);
    }
    th_sleep_ms(900); /* every delay timer has fired by now */
    CHECK(sim_answers());
    CHECK(req("GET", kl, NULL, 3000) == 200); /* the latency fault still answers, late */
    CHECK(req("DELETE", "/_sim/fault", NULL, 0) == 200);
    CHECK(req("GET", kl, NULL, 0) == 200);
}

/* A client killed while its POST (with a body) hangs; then the same with a GET. */
static void killed_while_hung(void)
{
    CHECK(req("POST", "/_sim/fault?path=/fapi/v1/order&kind=hang", "", 0) == 200);
    CHECK(req("POST", "/_sim/fault?path=/fapi/v1/klines&kind=hang", "", 0) == 200);
    for (int round = 0; round < 6; round++) {
        pid_t kid = fork();
        if (kid == 0) {
            if (round % 3 == 0)
                req("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1",
                    10000);
            else if (round % 3 == 1)
                req("POST", "/fapi/v1/order?symbol=BTCUSDT&side=BUY&type=MARKET&quantity=1", "",
                    10000);
            else
                req("GET", "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=5", NULL, 10000);
            _exit(0);
        }
        CHECK(kid > 0);
        th_sleep_ms(300); /* the request is in and hangs */
        CHECK(kill(kid, SIGKILL) == 0);
        int st = -1;
        CHECK(waitpid(kid, &st, 0) == kid && WIFSIGNALED(st));
        th_sleep_ms(200);
        CHECK(sim_answers());
    }
    /* each request handled once (one answer would have been made twice) */
    CHECK(logged("/fapi/v1/order") == 4);
    CHECK(logged("/fapi/v1/klines") == 2);
    CHECK(req("DELETE", "/_sim/fault", NULL, 0) == 200);
    CHECK(req("GET", "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=5", NULL, 0) == 200);
}

int main(void)
{
    void (*parts[])(void) = {latency_then_timeout, killed_while_hung};
    for (int i = 0; i < 2; i++) { /* a simulator each, so that each part can fail alone */
        int started = th_sim_start(&sim, NULL) == 0;
        CHECK(started);
        if (!started) return th_done();
        parts[i]();
        CHECK(sim_answers());
        th_sim_stop(&sim);
    }
    return th_done();
}
