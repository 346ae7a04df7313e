/* test_valgrind_roles: every long-running role, and the simulator, under valgrind's leak check
 * while doing real work, then stopped by SIGTERM.
 *
 * The project's standard says "no leaks under valgrind in the long-running loops"; the leaks
 * that matter there grow per request, per reconnect or per error, and a leak check of
 * `bfq --help` cannot see them. So, against a real redis-server (ACL users) and a native
 * `bfq sim`, each role runs under
 *   valgrind --leak-check=full --show-leak-kinds=definite,indirect
 *            --errors-for-leak-kinds=definite,indirect --error-exitcode=9
 * (invalid reads and writes are errors too) until its heartbeat shows several answers; then
 * every /fapi path answers 503s, bodies that are not JSON or cut in half, until each role
 * counted an error; the user-data connections are dropped until userstream reconnected; every
 * Redis connection is killed and the roles must recover (more answers accepted); `bfq status`
 * runs once under valgrind; and with requests left hanging in flight, one SIGTERM each must
 * give exit status 0 (9 would be valgrind's verdict) and delete the heartbeat key. A second simulator, itself under valgrind, serves a
 * burst meanwhile: market data, signed orders, a listen key and a WebSocket user stream that
 * sees the fill, injected faults, a request left hanging, and is stopped with that connection
 * still open.
 *
 * The roles run in parallel, each from its own source address (valgrind is 20-50x slower:
 * [exchange] timeout is raised to 20 s, and the weight limit so that no budget pauses them).
 * Skipped (exit 77) when valgrind is missing or the build uses sanitizers (ASan and valgrind
 * do not mix). Each valgrind log is kept in the test's tmpdir and printed when a check fails;
 * BFQ_KEEP_TMP=1 keeps the directory. */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/harness.h"
#include "tests/harness/testbinance.h"
#include "tests/harness/testws.h"
#include "tests/integration/test_sim_util.h"

#define VG_SKIP 77
#define KEY "vgkey0123456789abcdef"
#define SECRET "vgsecret0123456789abcdef0123"
#define VG_STOP_MS 90000 /* one SIGTERM to valgrind's exit report, under load */

struct vg_role {
    const char *name;    /* instance id and log name */
    const char *user;    /* ACL user */
    const char *args[3]; /* command and its options */
    int exchange;        /* counts exchange answers in its heartbeat */
    pid_t pid;
    long long ok_mark;   /* "ok" when the faults were lifted */
};

static struct vg_role roles[] = {
    {"symbols", "symbols", {"symbols", NULL}, 1, 0, 0},
    {"kline", "kline", {"kline", NULL}, 1, 0, 0},
    {"klinehot", "kline", {"kline", "--hot", NULL}, 1, 0, 0},
    {"tick", "tick", {"tick", NULL}, 1, 0, 0},
    {"volume", "volume", {"volume", NULL}, 1, 0, 0},
    {"account", "account", {"account", NULL}, 1, 0, 0},
    {"positionrisk", "account", {"positionrisk", NULL}, 1, 0, 0},
    {"userstream", "account", {"userstream", NULL}, 1, 0, 0},
    {"watchdog", "watchdog", {"watchdog", NULL}, 0, 0, 0},
};
#define NROLES ((int)(sizeof(roles) / sizeof(roles[0])))
#define USERSTREAM (&roles[7]) /* the entry of userstream in roles[] */

static struct th_redis red;
static struct th_sim sim;    /* native: the roles' exchange */
static struct th_sim vgsim;  /* under valgrind: the burst */
static redisContext *adm;
static char conf[512];

/* ---- valgrind ------------------------------------------------------------------------- */

/* Why this run cannot use valgrind, or NULL. */
static const char *vg_skip_reason(void)
{
#ifdef BFQ_SANITIZED
    return "built with sanitizers (BFQ_SANITIZE): valgrind cannot run ASan binaries";
#else
    const char *argv[] = {"valgrind", "--version", NULL};
    if (th_run(argv, NULL, 20000) != 0) return "valgrind is not installed";
    return NULL;
#endif
}

static void vg_log_path(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/%s.vg", th_tmpdir(), name);
}

/* Spawns valgrind <checks> bfq args... (NULL-terminated), output in <tmpdir>/<name>.log. */
static pid_t vg_spawn(const char *name, const char *const *args)
{
    char vglog[512], logopt[600], log[512];
    const char *argv[40];
    int n = 0;
    vg_log_path(name, vglog, sizeof vglog);
    snprintf(logopt, sizeof logopt, "--log-file=%s", vglog);
    snprintf(log, sizeof log, "%s/%s.log", th_tmpdir(), name);
    const char *vg[] = {"valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                        "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=9",
                        "--track-fds=no", "--num-callers=30", logopt, th_bfq_bin()};
    for (size_t i = 0; i < sizeof vg / sizeof vg[0]; i++) argv[n++] = vg[i];
    for (int i = 0; args[i] && n < 39; i++) argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = th_spawn(argv, log);
    fprintf(stderr, "# valgrind bfq %s (pid %d), log %s\n", name, (int)pid, vglog);
    return pid;
}

/* Prints valgrind's report for name (the leak and error records, not the banner). */
static void vg_show(const char *name)
{
    char path[512], line[1024];
    vg_log_path(name, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "# %s: no valgrind log\n", name);
        return;
    }
    int lines = 0;
    while (fgets(line, sizeof line, f) && lines < 300) {
        if (strstr(line, "Copyright") || strstr(line, "Command:") || strstr(line, "Using Valgrind"))
            continue;
        fprintf(stderr, "# %s| %s", name, line);
        lines++;
    }
    fclose(f);
}

/* Checks a valgrind'd process's exit: 0, and says what valgrind saw when not. */
static void vg_check_exit(const char *name, int st)
{
    int ok = st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (ok) return;
    if (st >= 0 && WIFEXITED(st))
        fprintf(stderr, "# %s exited %d%s\n", name, WEXITSTATUS(st),
                WEXITSTATUS(st) == 9 ? " (valgrind: leaks or memory errors)" : "");
    else if (st >= 0 && WIFSIGNALED(st))
        fprintf(stderr, "# %s died of signal %d\n", name, WTERMSIG(st));
    else
        fprintf(stderr, "# %s could not be reaped\n", name);
    vg_show(name);
    CHECK(ok);
}

/* ---- heartbeats ----------------------------------------------------------------------- */

/* The heartbeat of a role (new reference), or NULL. */
static json_t *hb_get(const struct vg_role *r)
{
    redisReply *rep = redisCommand(adm, "GET bfq:hb:%s:%s", r->args[0], r->name);
    json_t *j = NULL;
    if (rep && rep->type == REDIS_REPLY_STRING) j = json_loads(rep->str, 0, NULL);
    if (rep) freeReplyObject(rep);
    return j;
}

static long long hb_int(const struct vg_role *r, const char *field)
{
    json_t *j = hb_get(r);
    json_t *v = json_object_get(j, field);
    long long out = json_is_integer(v) ? json_integer_value(v) : -1;
    if (json_is_true(v)) out = 1;
    if (json_is_false(v)) out = 0;
    json_decref(j);
    return out;
}

/* The counter that shows a role's loop at work: accepted exchange answers, or the
 * watchdog's checks. */
static long long work_count(const struct vg_role *r)
{
    return hb_int(r, r->exchange ? "ok" : "ticks");
}

static int all_working(void *arg)
{
    long long want = *(long long *)arg;
    for (int i = 0; i < NROLES; i++)
        if (work_count(&roles[i]) < want) return 0;
    return hb_int(USERSTREAM, "connected") == 1;
}

static int all_erred(void *arg)
{
    (void)arg;
    for (int i = 0; i < NROLES; i++)
        if (roles[i].exchange && hb_int(&roles[i], "errors_total") < 1) return 0;
    return 1;
}

static int all_recovered(void *arg)
{
    (void)arg;
    for (int i = 0; i < NROLES; i++)
        if (work_count(&roles[i]) <= roles[i].ok_mark) return 0;
    return 1;
}

static int userstream_reconnected(void *arg)
{
    long long before = *(long long *)arg;
    const struct vg_role *u = USERSTREAM;
    return hb_int(u, "connects") > before && hb_int(u, "connected") == 1;
}

static void report_counters(const char *when)
{
    for (int i = 0; i < NROLES; i++)
        fprintf(stderr, "# %s: %-12s work=%lld errors=%lld\n", when, roles[i].name,
                work_count(&roles[i]), hb_int(&roles[i], "errors_total"));
}

/* ---- set-up ----------------------------------------------------------------------------- */

static int write_config(void)
{
    snprintf(conf, sizeof conf, "%s/bfq.ini", th_tmpdir());
    FILE *f = fopen(conf, "w");
    if (!f) return -1;
    fprintf(f,
            "[exchange]\nrest_url = %s\ntimeout = 20s\nweight_limit = 1000000\n"
            "[account.main]\napi_key = %s\napi_secret = %s\n"
            "[symbols]\nevery = 2s\n[volume]\nevery = 1s\n"
            "[account]\nevery = 300ms\n[positionrisk]\nevery = 300ms\n"
            "[userstream]\norders_every = 1s\n[watchdog]\nevery = 500ms\n",
            sim.url, KEY, SECRET);
    fclose(f);
    chmod(conf, 0600);
    return 0;
}

static void start_roles(void)
{
    for (int i = 0; i < NROLES; i++) {
        char url[256], ip[32];
        const char *args[16];
        int n = 0;
        th_redis_url_for(&red, roles[i].user, url, sizeof url);
        snprintf(ip, sizeof ip, "127.0.0.%d", 2 + i);
        for (int k = 0; roles[i].args[k]; k++) args[n++] = roles[i].args[k];
        const char *common[] = {"--config", conf, "--redis", url, "--instance", roles[i].name,
                                "--source-ip", ip};
        for (size_t k = 0; k < sizeof common / sizeof common[0]; k++) args[n++] = common[k];
        args[n] = NULL;
        roles[i].pid = vg_spawn(roles[i].name, args);
        CHECK(roles[i].pid > 0);
    }
}

/* The universe, written natively so the roles start working at once. */
static void write_universe(void)
{
    char url[256];
    th_redis_url_for(&red, "symbols", url, sizeof url);
    const char *argv[] = {th_bfq_bin(), "symbols", "--once", "--config", conf,
                          "--redis", url, NULL};
    CHECK(th_run(argv, NULL, 30000) == 0);
}

/* ---- the simulator under valgrind ------------------------------------------------------- */

static int vgsim_answers(void *arg)
{
    (void)arg;
    char url[160];
    snprintf(url, sizeof url, "%s/fapi/v1/ping", vgsim.url);
    return th_http("GET", url, NULL, NULL, NULL) == 200;
}

static long vgsim_get(const char *path)
{
    char url[512];
    struct simresp r;
    snprintf(url, sizeof url, "%s%s", vgsim.url, path);
    long st = simq("GET", url, NULL, NULL, NULL, 20000, &r);
    simresp_free(&r);
    return st;
}

static long vgsim_signed(const char *method, const char *path, const char *query)
{
    struct simresp r;
    long st = simq_signed(&vgsim, method, path, query, NULL, KEY, SECRET, 0, &r);
    if (st != 200) fprintf(stderr, "# %s %s: %ld %s\n", method, path, st, r.body);
    simresp_free(&r);
    return st;
}

static void vgsim_market_data(void)
{
    static const char *const paths[] = {
        "/fapi/v1/exchangeInfo", "/fapi/v1/time", "/fapi/v1/ticker/bookTicker",
        "/fapi/v1/ticker/24hr", "/fapi/v1/premiumIndex",
        "/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=45",
        "/fapi/v1/depth?symbol=ETHUSDT&limit=5", "/fapi/v1/ticker/bookTicker?symbol=BTCUSDT"};
    for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            CHECK(vgsim_get(paths[i]) == 200);
    CHECK(vgsim_get("/fapi/v1/klines?symbol=NOSUCH&interval=1m") == 400);
}

/* A listen key and its WebSocket, which must see the MARKET order's fill. */
static struct testws *vgsim_stream(void)
{
    char url[256];
    struct simresp r;
    snprintf(url, sizeof url, "%s/fapi/v1/listenKey", vgsim.url);
    CHECK(simq("POST", url, NULL, KEY, NULL, 20000, &r) == 200);
    json_t *j = json_loads(r.body, 0, NULL);
    const char *k = json_string_value(json_object_get(j, "listenKey"));
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/%s", vgsim.port, k ? k : "none");
    json_decref(j);
    simresp_free(&r);
    struct testws *w = testws_connect(url, 20000);
    CHECK(w != NULL);
    return w;
}

static int ws_saw(struct testws *w, const char *needle)
{
    for (int i = 0; w && i < 20; i++) {
        char *m = testws_next(w, 10000);
        if (!m) return 0;
        int hit = strstr(m, needle) != NULL;
        free(m);
        if (hit) return 1;
    }
    return 0;
}

static void vgsim_orders(struct testws *w)
{
    CHECK(vgsim_signed("POST", "/fapi/v1/order",
                       "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&"
                       "newOrderRespType=RESULT") == 200);
    CHECK(ws_saw(w, "ORDER_TRADE_UPDATE"));
    CHECK(vgsim_signed("POST", "/fapi/v1/order",
                       "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.100&"
                       "price=1000.0&newClientOrderId=vglimit1") == 200);
    CHECK(vgsim_signed("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT") == 200);
    CHECK(vgsim_signed("DELETE", "/fapi/v1/order",
                       "symbol=BTCUSDT&origClientOrderId=vglimit1") == 200);
    CHECK(vgsim_signed("GET", "/fapi/v2/account", NULL) == 200);
    CHECK(vgsim_signed("GET", "/fapi/v2/positionRisk", NULL) == 200);
    CHECK(vgsim_signed("POST", "/fapi/v1/order",
                       "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.010&reduceOnly=true") ==
          200);
}

/* Faults, then a request left hanging: the simulator must free what they hold. */
static void vgsim_faults(void)
{
    char url[256];
    static const char *const kinds[] = {"malformed", "truncated", "5xx", "disconnect"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        snprintf(url, sizeof url, "%s/_sim/fault?path=/fapi/v1/depth&kind=%s", vgsim.url,
                 kinds[i]);
        CHECK(th_http("POST", url, NULL, NULL, NULL) == 200);
        (void)vgsim_get("/fapi/v1/depth?symbol=BTCUSDT&limit=5");
        snprintf(url, sizeof url, "%s/_sim/fault", vgsim.url);
        CHECK(th_http("DELETE", url, NULL, NULL, NULL) == 200);
    }
    snprintf(url, sizeof url, "%s/_sim/fault?path=/fapi/v1/time&kind=hang", vgsim.url);
    CHECK(th_http("POST", url, NULL, NULL, NULL) == 200);
    struct simresp r;
    snprintf(url, sizeof url, "%s/fapi/v1/time", vgsim.url);
    CHECK(simq("GET", url, NULL, NULL, NULL, 1500, &r) == 0); /* gave up: left hanging */
    simresp_free(&r);
}

/* The simulator under valgrind: a burst, then SIGTERM with a WebSocket still open. */
static void vgsim_burst(void)
{
    char listen[64], acct[128];
    vgsim.port = th_free_port();
    snprintf(vgsim.url, sizeof vgsim.url, "http://127.0.0.1:%d", vgsim.port);
    snprintf(listen, sizeof listen, "127.0.0.1:%d", vgsim.port);
    snprintf(acct, sizeof acct, "main:%s:%s:10000", KEY, SECRET);
    const char *args[] = {"sim", "--listen", listen, "--symbols", "20", "--account", acct, NULL};
    vgsim.pid = vg_spawn("sim", args);
    CHECK(th_wait_until(vgsim_answers, NULL, 60000));
    vgsim_market_data();
    struct testws *w = vgsim_stream();
    vgsim_orders(w);
    vgsim_faults();
    int st = th_stop(vgsim.pid, VG_STOP_MS);
    vg_check_exit("sim", st);
    testws_close(w);
}

/* ---- the roles -------------------------------------------------------------------------- */

static void run_status(void)
{
    char url[256], vglog[512], logopt[600];
    th_redis_url_for(&red, "status", url, sizeof url);
    vg_log_path("status", vglog, sizeof vglog);
    snprintf(logopt, sizeof logopt, "--log-file=%s", vglog);
    const char *argv[] = {"valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                          "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=9",
                          "--track-fds=no", logopt, th_bfq_bin(), "status", "--json",
                          "--redis", url, NULL};
    char *out = NULL;
    int st = th_run(argv, &out, 60000);
    if (st != 0) vg_show("status");
    CHECK(st == 0);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    CHECK(json_array_size(json_object_get(j, "instances")) >= (size_t)NROLES);
    json_decref(j);
    free(out);
}

static long sim_admin(const char *method, const char *fmt, const char *arg)
{
    char path[256], url[512];
    snprintf(path, sizeof path, fmt, arg);
    snprintf(url, sizeof url, "%s%s", sim.url, path);
    return th_http(method, url, NULL, NULL, NULL);
}

/* 503s, bodies that are not JSON, cut in half or refused, until every role counted an error;
 * then the user stream dropped and every Redis connection killed: all must come back. */
static void faults_and_reconnects(void)
{
    static const char *const kinds[] = {"5xx", "malformed", "truncated", "disconnect"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        CHECK(sim_admin("POST", "/_sim/fault?path=*&kind=%s&rate=0.5", kinds[i]) == 200);
        th_sleep_ms(700);
        CHECK(sim_admin("DELETE", "/_sim/fault", "") == 200);
    }
    CHECK(sim_admin("POST", "/_sim/fault?path=*&kind=%s", "5xx") == 200);
    int erred = th_wait_until(all_erred, NULL, 30000);
    CHECK(erred);
    if (!erred) report_counters("no error");
    CHECK(sim_admin("DELETE", "/_sim/fault", "") == 200);
    long long connects = hb_int(USERSTREAM, "connects");
    CHECK(sim_admin("POST", "/_sim/ws/drop", "") == 200);
    CHECK(th_wait_until(userstream_reconnected, &connects, 30000));
    redisReply *rep = redisCommand(adm, "CLIENT KILL TYPE normal SKIPME yes");
    CHECK(rep && rep->type == REDIS_REPLY_INTEGER && rep->integer >= NROLES);
    if (rep) freeReplyObject(rep);
    for (int i = 0; i < NROLES; i++) roles[i].ok_mark = work_count(&roles[i]);
    int recovered = th_wait_until(all_recovered, NULL, 30000);
    CHECK(recovered);
    if (!recovered) report_counters("not recovered");
}

static void stop_roles(void)
{
    pid_t pids[NROLES];
    int st[NROLES];
    for (int i = 0; i < NROLES; i++) pids[i] = roles[i].pid;
    /* requests in flight at SIGTERM: the roles cancel them on the way out */
    CHECK(sim_admin("POST", "/_sim/fault?path=*&kind=%s", "hang") == 200);
    th_sleep_ms(1000);
    int64_t t0 = th_now_ms();
    th_stop_all(pids, NROLES, VG_STOP_MS, st);
    fprintf(stderr, "# all roles stopped in %lld ms\n", (long long)(th_now_ms() - t0));
    for (int i = 0; i < NROLES; i++) {
        vg_check_exit(roles[i].name, st[i]);
        json_t *hb = hb_get(&roles[i]);
        CHECK(hb == NULL); /* clean shutdown deletes the heartbeat */
        json_decref(hb);
    }
}

int main(void)
{
    const char *why = vg_skip_reason();
    if (why) {
        printf("skipped: %s\n", why);
        return VG_SKIP;
    }
    int64_t t0 = th_now_ms();
    /* The roles run at full speed: no weight budget may pause them mid-test. */
    const char *simargs[] = {"--symbols", "20", "--account", "main:" KEY ":" SECRET ":10000",
                             "--weight-limit", "1000000", NULL};
    CHECK(th_redis_start(&red, 1) == 0);
    CHECK(th_sim_start(&sim, simargs) == 0);
    adm = th_failures ? NULL : tb_redis(red.port, 1);
    CHECK(adm != NULL);
    CHECK(write_config() == 0);
    if (th_failures) return th_done();
    write_universe();
    start_roles();
    vgsim_burst(); /* while the roles start */
    long long want = 3;
    int working = th_wait_until(all_working, &want, 60000);
    CHECK(working);
    if (!working) report_counters("not working");
    report_counters("working");
    faults_and_reconnects();
    report_counters("recovered");
    run_status();
    stop_roles();
    redisFree(adm);
    th_sim_stop(&sim);
    th_redis_stop(&red);
    fprintf(stderr, "# wall time %lld ms\n", (long long)(th_now_ms() - t0));
    return th_done();
}
