/* test_dash_util: what the dashboard's integration tests share (header-only, included once per
 * test, after test_recorder_util.h): starting `bfq dash` on the recorder tests' stack (as the
 * `dash` Redis user and the `reader` MariaDB user, with a token), and GETs with or without it. */
#ifndef BFQ_TEST_DASH_UTIL_H
#define BFQ_TEST_DASH_UTIL_H

#include <curl/curl.h>

#define TOKEN "tok-0123456789abcdef"

static char dash_url[128];

struct body {
    char *buf;
    size_t len;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
    struct body *b = arg;
    char *nb = realloc(b->buf, b->len + sz * n + 1);
    if (!nb) return 0;
    memcpy(nb + b->len, p, sz * n);
    b->buf = nb;
    b->len += sz * n;
    b->buf[b->len] = 0;
    return sz * n;
}

/* GET path of the dash; auth: 0 none, 1 ?token=, 2 Bearer header, 3 a wrong Bearer. Returns
 * the status; *out (if out) the parsed body. */
static long get(const char *path, int auth, json_t **out)
{
    char url[512], hdr[128];
    struct body b = {NULL, 0};
    long code = 0;
    struct curl_slist *h = NULL;
    snprintf(url, sizeof url, "%s%s%s%s", dash_url, path, auth == 1 ? (strchr(path, '?') ? "&" : "?") : "",
             auth == 1 ? "token=" TOKEN : "");
    CURL *c = curl_easy_init();
    if (auth >= 2) {
        snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", auth == 2 ? TOKEN : "tok-wrong");
        h = curl_slist_append(h, hdr);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (out) *out = b.buf ? json_loads(b.buf, 0, NULL) : NULL;
    free(b.buf);
    return code;
}

static int dash_answers(void *arg)
{
    (void)arg;
    return get("/api/health", 1, NULL) == 200;
}

static pid_t start_dash(struct rt *t, int port)
{
    char conf[512], rurl[256], log[512];
    snprintf(conf, sizeof conf, "%s/dash.ini", th_tmpdir());
    th_redis_url_for(&t->redis, "dash", rurl, sizeof rurl);
    FILE *f = th_fopen_private(conf);
    if (!f) return -1;
    fprintf(f, "[redis]\nurl = %s\n[mysql]\nurl = %s\n[dash]\nlisten = 127.0.0.1:%d\n"
               "token = %s\ntimeout = 1s\n", rurl, t->db.reader_url, port, TOKEN);
    fclose(f);
    snprintf(dash_url, sizeof dash_url, "http://127.0.0.1:%d", port);
    snprintf(log, sizeof log, "%s/dash.log", th_tmpdir());
    const char *argv[] = {th_bfq_bin(), "dash", "--config", conf, NULL};
    pid_t pid = th_spawn(argv, log);
    CHECK(th_wait_until(dash_answers, NULL, 10000));
    return pid;
}

#endif
