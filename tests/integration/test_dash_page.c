/* test_dash_page: Debian's headless Chromium loads the dashboard's page, served by `bfq dash`,
 * against a running stack with real data (redis-server, `bfq sim`, symbols, tick, kline,
 * account, positionrisk, userstream and recorder, fills and funding booked on the simulator),
 * and the DOM it dumps (after a virtual-time budget that covers the first refresh) holds what
 * the API serves: both charts drawn (Chart.js sized their canvases) from a nonzero number of
 * points, the positions, per-symbol, instances and freshness tables filled with the real
 * symbols, amounts and roles, no part showing an error, and no JavaScript error (the page's
 * window.onerror writes into the DOM, and Chromium's console log on stderr has no line).
 * A second run saves a screenshot: under the test's directory, or at $BFQ_DASH_PNG. With
 * MariaDB stopped, a third shows the history parts' 503 errors while the live parts fill. Skipped (77) with a clear message only when chromium is missing. */
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/test_recorder_util.h"
#include "tests/integration/test_dash_util.h"

static struct rt t;

/* A config for role user `user` against the simulator (account main's key included). */
static void write_role_conf(const char *path, const char *user)
{
    char url[256];
    th_redis_url_for(&t.redis, user, url, sizeof url);
    FILE *f = th_fopen_private(path);
    if (!f) return;
    fprintf(f, "[redis]\nurl = %s\n[exchange]\nrest_url = %s\n[account.main]\napi_key = %s\n"
               "api_secret = %s\n", url, t.sim.url, RT_KEY, RT_SECRET);
    fclose(f);
}

static void start_collectors(void)
{
    static const char *const roles[][2] = {{"symbols", "symbols"}, {"tick", "tick"},
                                           {"kline", "kline"}, {"account", "account"},
                                           {"positionrisk", "account"}};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        char conf[512];
        snprintf(conf, sizeof conf, "%s/%s.ini", th_tmpdir(), roles[i][0]);
        write_role_conf(conf, roles[i][1]);
        rt_spawn(conf, roles[i][0], "p1");
    }
}

/* The API's health lists fresh ticks and klines and no stale row. */
static int all_fresh(void *arg)
{
    json_t *v = NULL;
    int ok = get("/api/health", 1, &v) == 200 &&
             json_integer_value(json_object_get(v, "stale")) == 0 &&
             json_array_size(json_object_get(v, "data")) >= 5;
    (void)arg;
    json_decref(v);
    return ok;
}

static int have_snapshot(void *arg)
{
    (void)arg;
    return rt_sql_num(&t, "SELECT COUNT(*) FROM bfq.account_snapshots WHERE asset = 'USDT'") > 0;
}

/* Runs chromium on the page with args; its stdout into *out, stderr into errfile. */
static int chromium(const char *args, const char *errfile, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "exec chromium --headless --no-sandbox --disable-gpu --hide-scrollbars"
             " --user-data-dir=%s/chromium --enable-logging=stderr --v=0 --window-size=1400,2000"
             " --virtual-time-budget=15000 %s '%s/?token=" TOKEN "' 2>%s",
             th_tmpdir(), args, dash_url, errfile);
    const char *argv[] = {"sh", "-c", cmd, NULL};
    return th_run(argv, out, 90000);
}

/* Nonzero when the element with id `id`'s opening tag holds `what`. */
static int tag_has(const char *dom, const char *id, const char *what)
{
    char needle[96];
    snprintf(needle, sizeof needle, "id=\"%s\"", id);
    const char *p = strstr(dom, needle), *end = p ? strchr(p, '>') : NULL;
    if (!p || !end) return 0;
    const char *w = strstr(p, what);
    return w && w < end;
}

/* The inner text of the element with id `id` up to its closing tag (first one), as a
 * malloc'd copy; "" when absent. */
static char *section_of(const char *dom, const char *id, const char *close)
{
    char needle[96];
    snprintf(needle, sizeof needle, "id=\"%s\"", id);
    const char *p = strstr(dom, needle), *e = p ? strstr(p, close) : NULL;
    return p && e ? strndup(p, (size_t)(e - p)) : strdup("");
}

static int console_clean(const char *errfile)
{
    char line[4096];
    int bad = 0;
    FILE *f = fopen(errfile, "r");
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, ":CONSOLE")) {
            fprintf(stderr, "console: %s", line);
            bad++;
        }
    if (f) fclose(f);
    return f && !bad;
}

static void check_tables(const char *dom)
{
    char *amt = tb_hget_member(t.rc, "bfq:acct:main:pos", "BTCUSDT:BOTH", "amt"), want[64];
    char *pos = section_of(dom, "positions", "</table>");
    char *sym = section_of(dom, "symbols", "</table>");
    char *inst = section_of(dom, "instances", "</table>");
    char *fresh = section_of(dom, "freshness", "</table>");
    dec_trim_text(amt ? amt : "?", want, sizeof want);
    snprintf(want + strlen(want), sizeof want - strlen(want), "%s", "</td>");
    CHECK(strstr(pos, "<td>BTCUSDT</td>") != NULL);
    CHECK(strstr(pos, want) != NULL); /* the position's amount, as Redis holds it */
    for (int i = 0; i < RT_NSYM; i++) {
        char cell[64];
        snprintf(cell, sizeof cell, "<td>%s</td>", rt_symbols[i]);
        CHECK(strstr(sym, cell) != NULL);
    }
    CHECK(strstr(inst, "<tr class=\"fresh\"><td>recorder</td>") != NULL);
    CHECK(strstr(inst, "<tr class=\"fresh\"><td>tick</td>") != NULL);
    CHECK(strstr(fresh, "<tr class=\"fresh\"><td>ticks</td>") != NULL);
    CHECK(strstr(fresh, "<td>account main userstream</td>") != NULL);
    CHECK(strstr(inst, "class=\"stale\"") == NULL);
    free(amt);
    free(pos);
    free(sym);
    free(inst);
    free(fresh);
}

static void check_page(void)
{
    char errfile[512], *dom = NULL;
    snprintf(errfile, sizeof errfile, "%s/chromium-dom.err", th_tmpdir());
    CHECK(chromium("--dump-dom", errfile, &dom) == 0);
    if (!dom) return;
    CHECK(strstr(dom, "data-loaded=\"1\"") != NULL);   /* one refresh ran to its end */
    CHECK(strstr(dom, "data-js-error=\"1\"") == NULL); /* window.onerror never ran */
    CHECK(strstr(dom, "<pre id=\"errors\"></pre>") != NULL);
    CHECK(strstr(dom, "unavailable:") == NULL);        /* no part failed */
    /* Chart.js drew both charts: it sizes each canvas, from a nonzero number of points */
    CHECK(tag_has(dom, "curve", "box-sizing") && !tag_has(dom, "curve", "data-points=\"0\""));
    CHECK(tag_has(dom, "daily", "box-sizing") && !tag_has(dom, "daily", "data-points=\"0\""));
    CHECK(tag_has(dom, "tstate", "active"));
    check_tables(dom);
    CHECK(console_clean(errfile));
    if (th_failures) fprintf(stderr, "DOM:\n%s\n", dom);
    free(dom);
}

static void screenshot(void)
{
    char png[600], args[700], errfile[512];
    const char *want = getenv("BFQ_DASH_PNG");
    struct stat st;
    snprintf(png, sizeof png, "%s", want && want[0] ? want : "");
    if (!png[0]) snprintf(png, sizeof png, "%s/dash.png", th_tmpdir());
    snprintf(args, sizeof args, "--screenshot=%s", png);
    snprintf(errfile, sizeof errfile, "%s/chromium-png.err", th_tmpdir());
    unlink(png);
    CHECK(chromium(args, errfile, NULL) == 0);
    CHECK(stat(png, &st) == 0 && st.st_size > 20000);
    CHECK(console_clean(errfile));
    fprintf(stderr, "screenshot: %s\n", png);
}

/* MariaDB stopped: the history parts show the API's error, the live parts still fill, and
 * the page has no error of its own (the console then logs the 503s, so it is not checked). */
static void check_outage(void)
{
    char errfile[512], *dom = NULL;
    th_mariadb_stop(&t.db);
    snprintf(errfile, sizeof errfile, "%s/chromium-outage.err", th_tmpdir());
    CHECK(chromium("--dump-dom", errfile, &dom) == 0);
    if (!dom) return;
    CHECK(strstr(dom, "id=\"curve-err\">unavailable: mysql: ") != NULL);
    CHECK(strstr(dom, "id=\"symbols-err\">unavailable: mysql: ") != NULL);
    CHECK(strstr(dom, "id=\"positions-err\"></div>") != NULL);
    CHECK(strstr(dom, "<td>BTCUSDT</td>") != NULL);
    CHECK(strstr(dom, "data-js-error=\"1\"") == NULL);
    if (th_failures) fprintf(stderr, "DOM:\n%s\n", dom);
    free(dom);
}

int main(void)
{
    const char *which[] = {"sh", "-c", "command -v chromium", NULL};
    if (th_run(which, NULL, 5000) != 0) {
        printf("SKIP: chromium is missing (scripts/bootstrap installs it)\n");
        return 77;
    }
    if (rt_start(&t, "24h") < 0) return 1;
    rt_spawn(t.us_conf, "userstream", "us");
    rt_spawn(t.rec_conf, "recorder", "r1");
    start_collectors();
    th_sleep_ms(1000);
    rt_trade(&t, 8);
    rt_fill(&t, 0, "BUY"); /* BTCUSDT stays open */
    rt_fill(&t, 1, "SELL"); /* and ETHUSDT short */
    rt_income(&t, "FUNDING_FEE", "-1.25", "BTCUSDT");
    rt_check_equal(&t, 30000, "before the page shows them");
    CHECK(th_wait_until(have_snapshot, NULL, 10000)); /* the curve has a point */
    start_dash(&t, th_free_port());
    CHECK(th_wait_until(all_fresh, NULL, 20000));
    check_page();
    screenshot();
    check_outage();
    redisFree(t.rc);
    th_sim_stop(&t.sim);
    th_redis_stop(&t.redis);
    return th_done();
}
