/* test_https: bfq over https and wss end to end, with [exchange] ca_file.
 *
 * `bfq sim --tls-cert C --tls-key K` serves https and wss on one port with a self-signed
 * certificate made here by the openssl tool (CN and subjectAltName 127.0.0.1). Then:
 * - `bfq symbols --once` against https://127.0.0.1:PORT with [exchange] ca_file = C writes the
 *   universe;
 * - without ca_file (the system's CAs, which do not know C) it fails: exit 1 and one line
 *   "bfq symbols: ..." on stderr that names the certificate problem;
 * - with ca_file pointing at a file that does not exist it is refused at start, naming the key;
 * - `bfq userstream` with rest_url https://, ws_url wss:// and ca_file connects (its heartbeat
 *   says connected) and applies a fill made through the simulator. */
#include <sys/wait.h>

#include "tests/harness/testbinance.h"
#include "tests/integration/test_collect_util.h"
#include "tests/integration/test_sim_util.h"

#define KEY "bfq-demo-key"
#define SECRET "bfq-demo-secret"

static char cert[512], keyf[512];
static int port;

static int make_cert(void)
{
    snprintf(cert, sizeof cert, "%s/cert.pem", th_tmpdir());
    snprintf(keyf, sizeof keyf, "%s/key.pem", th_tmpdir());
    const char *gen[] = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                         "-keyout", keyf, "-out", cert, NULL};
    return th_run(gen, NULL, 30000) == 0 ? 0 : -1;
}

static int sim_tls_start(void)
{
    char listen[64], url[256];
    port = th_free_port();
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(cu_sim.log, sizeof cu_sim.log, "%s/sim.log", th_tmpdir());
    const char *argv[] = {th_bfq_bin(), "sim", "--listen", listen, "--symbols", "12",
                          "--tls-cert", cert, "--tls-key", keyf, NULL};
    cu_sim.port = port;
    snprintf(cu_sim.url, sizeof cu_sim.url, "https://127.0.0.1:%d", port);
    cu_sim.pid = th_spawn(argv, cu_sim.log);
    snprintf(url, sizeof url, "%s/fapi/v1/ping", cu_sim.url);
    for (int i = 0; i < 100; i++) {
        if (th_http("GET", url, NULL, NULL, NULL) == 200) return 0; /* no verification */
        th_sleep_ms(50);
    }
    return -1;
}

static void write_config(const char *path, const char *ca, const char *ws_host)
{
    char url[256];
    th_redis_url_for(&cu_red, "account", url, sizeof url);
    FILE *f = th_fopen_private(path);
    if (!f) return;
    fprintf(f,
            "[redis]\nurl = %s\n[exchange]\nrest_url = https://127.0.0.1:%d\n"
            "ws_url = wss://%s:%d\nca_file = %s\n[account.main]\napi_key = %s\n"
            "api_secret = %s\n[userstream]\norders_every = 1s\nbackoff_min = 50ms\n",
            url, port, ws_host, port, ca, KEY, SECRET);
    fclose(f);
}

/* Runs `bfq symbols --once ... --retry-for 2s` with stderr into errfile; returns the status. */
static int run_symbols(const char *extra, const char *errfile)
{
    char url[256], cmd[2048];
    th_redis_url_for(&cu_red, "symbols", url, sizeof url);
    snprintf(cmd, sizeof cmd, "'%s' symbols --once --retry-for 2s --redis '%s' --exchange '%s' %s "
                              "2>'%s'",
             th_bfq_bin(), url, cu_sim.url, extra, errfile);
    const char *argv[] = {"sh", "-c", cmd, NULL};
    return th_run(argv, NULL, 20000);
}

/* The lines of errfile starting with "bfq symbols:"; the last one into line. */
static int final_lines(const char *errfile, char *line, size_t cap)
{
    FILE *f = fopen(errfile, "r");
    char buf[1024];
    int n = 0;
    line[0] = '\0';
    while (f && fgets(buf, sizeof buf, f))
        if (!strncmp(buf, "bfq symbols:", 12)) {
            snprintf(line, cap, "%s", buf);
            n++;
        }
    if (f) fclose(f);
    return n;
}

static void test_symbols(void)
{
    char errfile[600], line[1024], extra[700];
    snprintf(errfile, sizeof errfile, "%s/symbols-err.txt", th_tmpdir());

    int st = run_symbols("", errfile); /* the system's CAs: refused */
    int n = final_lines(errfile, line, sizeof line);
    fprintf(stderr, "# without ca_file: exit %d, %s", st, line);
    CHECK(st == 1);
    CHECK(n == 1 && strstr(line, "certificate"));
    CHECK(cu_int("LLEN bfq:universe") == 0);

    snprintf(extra, sizeof extra, "--config '%s/nope.ini'", th_tmpdir());
    char conf[600];
    snprintf(conf, sizeof conf, "%s/nope.ini", th_tmpdir());
    FILE *f = fopen(conf, "w");
    if (f) {
        fprintf(f, "[exchange]\nca_file = %s/missing.pem\n", th_tmpdir());
        fclose(f);
    }
    st = run_symbols(extra, errfile);
    n = final_lines(errfile, line, sizeof line);
    fprintf(stderr, "# missing ca_file: exit %d, %s", st, line);
    CHECK(st == 1);
    CHECK(n == 1 && strstr(line, "[exchange] ca_file"));

    snprintf(conf, sizeof conf, "%s/ca.ini", th_tmpdir());
    f = fopen(conf, "w");
    if (f) {
        fprintf(f, "[exchange]\nca_file = %s\n", cert);
        fclose(f);
    }
    snprintf(extra, sizeof extra, "--config '%s'", conf);
    st = run_symbols(extra, errfile);
    fprintf(stderr, "# with ca_file: exit %d, universe %lld\n", st,
            cu_int("LLEN bfq:universe"));
    CHECK(st == 0);
    CHECK(cu_int("LLEN bfq:universe") == 12);
}

static int hb_connected(void *arg)
{
    (void)arg;
    char *s = cu_str("GET bfq:hb:userstream:uss");
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    int v = json_is_true(json_object_get(j, "connected"));
    json_decref(j);
    free(s);
    return v;
}

static int filled(void *arg)
{
    (void)arg;
    char *v = tb_hget_member(cu_adm, "bfq:acct:main:view:userstream", "BTCUSDT:BOTH", "amt");
    int ok = v && tb_dec_eq(v, "0.010");
    free(v);
    return ok;
}

static long long hb_num(const char *name)
{
    char *s = cu_str("GET bfq:hb:userstream:uss");
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;
    long long v = json_integer_value(json_object_get(j, name));
    json_decref(j);
    free(s);
    return v;
}

static int hb_disconnects(void *arg)
{
    (void)arg;
    return hb_num("disconnects") >= 2;
}

static void test_userstream(void)
{
    char conf[600], log[600];
    snprintf(conf, sizeof conf, "%s/us.ini", th_tmpdir());
    snprintf(log, sizeof log, "%s/userstream.log", th_tmpdir());
    const char *argv[] = {th_bfq_bin(), "userstream", "--config", conf, "--instance", "uss", NULL};

    /* the wss certificate is checked too: "localhost" is not a name of the certificate (its
     * only name is the IP), so the stream never connects while REST (127.0.0.1) works */
    write_config(conf, cert, "localhost");
    pid_t p = th_spawn(argv, log);
    CHECK(th_wait_until(hb_disconnects, NULL, 6000));
    fprintf(stderr, "# wss to localhost: connects %lld, disconnects %lld\n", hb_num("connects"),
            hb_num("disconnects"));
    CHECK(hb_num("connects") == 0 && !hb_connected(NULL));
    CHECK(th_alive(p));
    th_stop(p, 5000);
    size_t len = 0;
    FILE *f = fopen(log, "r");
    char text[65536];
    len = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[len] = '\0';
    if (f) fclose(f);
    CHECK(strstr(text, "hostname mismatch") != NULL); /* refused for its name, not its CA */

    write_config(conf, cert, "127.0.0.1");
    p = th_spawn(argv, log);
    CHECK(th_wait_until(hb_connected, NULL, 8000));
    struct simresp r; /* the test's own client does not verify the certificate */
    CHECK(simq_signed(&cu_sim, "POST", "/fapi/v1/order", NULL,
                      "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010", KEY, SECRET, 0,
                      &r) == 200);
    simresp_free(&r);
    CHECK(th_wait_until(filled, NULL, 5000));
    CHECK(th_alive(p));
    int st = th_stop(p, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
    if (make_cert() < 0) {
        printf("skipping: the openssl tool could not make a certificate\n");
        return 77;
    }
    CHECK(cu_redis_start() == 0);
    CHECK(sim_tls_start() == 0);
    if (th_failures) return th_done();
    test_symbols();
    test_userstream();
    th_sim_stop(&cu_sim);
    th_redis_stop(&cu_red);
    return th_done();
}
