/* test_sim_stream: listen keys and the user-data WebSocket.
 *
 * POST returns the same key while it lives; with --listenkey-ttl 2 the key expires, its
 * connection receives listenKeyExpired (and stays open), PUT then answers -1125 and POST makes
 * a new key. An unknown key is refused at the handshake. /_sim/ws/drop closes connections.
 * Over TLS (self-signed certificate made with the openssl tool) https and wss both work. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/harness/harness.h"
#include "tests/harness/testws.h"
#include "tests/integration/test_sim_util.h"

#define KEY "bfq-demo-key"

static void post_key(const struct th_sim *s, const char *method, long want, char *key, size_t cap)
{
    char url[256];
    struct simresp r;
    snprintf(url, sizeof(url), "%s/fapi/v1/listenKey", s->url);
    long st = simq(method, url, NULL, KEY, NULL, 0, &r);
    CHECK(st == want);
    if (key) {
        json_t *j = json_loads(r.body, 0, NULL);
        const char *k = j ? json_string_value(json_object_get(j, "listenKey")) : NULL;
        snprintf(key, cap, "%s", k ? k : "");
        json_decref(j);
    }
    if (want != 200) CHECK(strstr(r.body, "-1125") != NULL);
    simresp_free(&r);
}

static void expiry(void)
{
    struct th_sim s;
    const char *args[] = {"--symbols", "8", "--listenkey-ttl", "2", NULL};
    CHECK(th_sim_start(&s, args) == 0);
    char k1[128], k2[128], k3[128], url[256];
    post_key(&s, "POST", 200, k1, sizeof(k1));
    post_key(&s, "POST", 200, k2, sizeof(k2));
    CHECK(strlen(k1) == 64);
    CHECK_EQ_STR(k1, k2);
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/%s", s.port, k1);
    struct testws *w = testws_connect(url, 3000);
    CHECK(w != NULL);
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/private/ws/%s", s.port, "not-a-key");
    struct testws *bad = testws_connect(url, 3000);
    CHECK(bad == NULL);
    testws_close(bad);
    char *m = w ? testws_next(w, 4000) : NULL;
    CHECK(m && strstr(m, "\"e\":\"listenKeyExpired\"") && strstr(m, k1));
    free(m);
    CHECK(w && !testws_wait_closed(w, 300)); /* Binance does not close on expiry */
    post_key(&s, "PUT", 400, NULL, 0);
    post_key(&s, "POST", 200, k3, sizeof(k3));
    CHECK(strcmp(k3, k1) != 0);
    testws_close(w);
    /* a live connection, then /_sim/ws/drop */
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/private/ws?listenKey=%s", s.port, k3);
    w = testws_connect(url, 3000);
    CHECK(w != NULL);
    struct simresp r;
    snprintf(url, sizeof(url), "%s/_sim/ws/drop", s.url);
    CHECK(simq("POST", url, NULL, NULL, NULL, 0, &r) == 200);
    CHECK(strstr(r.body, "\"dropped\":1") != NULL);
    simresp_free(&r);
    CHECK(w && testws_wait_closed(w, 2000));
    testws_close(w);
    th_sim_stop(&s);
}

/* Pings every second are answered (lws replies by itself), so the connection lives until
 * --ws-max-age closes it. */
static void ping_and_max_age(void)
{
    struct th_sim s;
    const char *args[] = {"--symbols", "8", "--ws-ping", "1", "--ws-max-age", "3", NULL};
    CHECK(th_sim_start(&s, args) == 0);
    char k[128], url[256];
    post_key(&s, "POST", 200, k, sizeof(k));
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/ws/%s", s.port, k);
    struct testws *w = testws_connect(url, 3000);
    CHECK(w != NULL);
    int64_t t0 = th_now_ms();
    CHECK(w && !testws_wait_closed(w, 2300)); /* two pings answered */
    CHECK(w && testws_wait_closed(w, 3000));
    CHECK(th_now_ms() - t0 >= 2500);
    testws_close(w);
    int st = th_stop(s.pid, 5000);
    s.pid = 0;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0); /* clean exit on SIGTERM */
}

static void tls(void)
{
    char cert[512], keyf[512], subj[] = "/CN=127.0.0.1";
    snprintf(cert, sizeof(cert), "%s/cert.pem", th_tmpdir());
    snprintf(keyf, sizeof(keyf), "%s/key.pem", th_tmpdir());
    const char *gen[] = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", subj, "-keyout", keyf, "-out", cert, NULL};
    if (th_run(gen, NULL, 30000) != 0) {
        printf("skipping TLS: the openssl tool could not make a certificate\n");
        return;
    }
    struct th_sim s;
    int port = th_free_port();
    char listen[64], url[256];
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    const char *argv[] = {th_bfq_bin(), "sim", "--listen", listen, "--symbols", "8", "--tls-cert",
                          cert, "--tls-key", keyf, NULL};
    memset(&s, 0, sizeof(s));
    s.port = port;
    snprintf(s.url, sizeof(s.url), "https://127.0.0.1:%d", port);
    s.pid = th_spawn(argv, NULL);
    CHECK(s.pid > 0);
    struct simresp r;
    snprintf(url, sizeof(url), "%s/fapi/v1/ping", s.url);
    long st = 0;
    for (int i = 0; i < 100 && st != 200; i++) {
        st = simq("GET", url, NULL, NULL, NULL, 1000, &r);
        simresp_free(&r);
        if (st != 200) th_sleep_ms(50);
    }
    CHECK(st == 200);
    char k[128];
    post_key(&s, "POST", 200, k, sizeof(k));
    snprintf(url, sizeof(url), "wss://127.0.0.1:%d/ws/%s", port, k);
    struct testws *w = testws_connect(url, 3000);
    CHECK(w != NULL);
    testws_close(w);
    th_sim_stop(&s);
}

int main(void)
{
    expiry();
    ping_and_max_age();
    tls();
    return th_done();
}
