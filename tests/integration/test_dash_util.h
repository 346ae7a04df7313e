/* test_dash_util: what the dashboard's integration tests share (header-only, included once per
 * test, after test_recorder_util.h): starting `bfq dash` on the recorder tests' stack (as the
 * `dash` Redis user and the `reader` MariaDB user, with a token), and GETs with or without it. */
#ifndef BFQ_TEST_DASH_UTIL_H
#define BFQ_TEST_DASH_UTIL_H

#define TOKEN "tok-0123456789abcdef"

static char dash_url[128];

/* GET path of the dash; auth: 0 none, 1 ?token=, 2 Bearer header, 3 a wrong Bearer. Returns
 * the status; *out (if out) the parsed body. */
static long get(const char *path, int auth, json_t **out)
{
    char url[512], hdr[128], *body = NULL;
    const char *sep = strchr(path, '?') ? "&" : "?";
    snprintf(url, sizeof url, "%s%s%s%s", dash_url, path, auth == 1 ? sep : "",
             auth == 1 ? "token=" TOKEN : "");
    snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", auth == 2 ? TOKEN : "tok-wrong");
    long code = th_http_header("GET", url, NULL, NULL, auth >= 2 ? hdr : NULL, &body);
    if (out) *out = body ? json_loads(body, 0, NULL) : NULL;
    free(body);
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
