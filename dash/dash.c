/* dash: the `bfq dash` command (see dash.h): configuration, the route table, the loop. */
#include "dash/dash.h"

#include <ev.h>
#include <mysql.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonval.h"
#include "core/log.h"
#include "core/role.h"
#include "core/worker.h"
#include "dash/build.h"
#include "dash/fetch.h"
#include "dash/http.h"
#include "dash/www.h"

#define DASH_PENDING_MAX 64          /* jobs queued at most; more are answered 503 at once */
#define DASH_CHART_MAX (4u << 20)    /* the chart library file, at most */
#define DASH_CHART_PATH "/chart.js/chart.min.js"

static const struct cli_option dash_options[] = {
    {"listen", "HOST:PORT", NULL, NULL, "address to serve on (default 127.0.0.1:8090)", 0},
    {"mysql", "URL", "mysql", "url", "mysql://user:pass@host:port/db (the read-only user)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

static const char *const dash_keys[] = {"token",        "asset",       "timeout",
                                        "stale_instance", "stale_ticks", "stale_klines",
                                        "stale_source", "chart_js",    NULL};

const struct cli_command dash_cli = {
    .name = "dash",
    .summary = "the read-only operator's page, its JSON API and the Prometheus /metrics",
    .usage = "Serves the page on / and the JSON API under /api/ (docs/dash.md). Reads Redis as\n"
             "the read-only user `dash` and [mysql] url as the read-only `reader`. [dash] token\n"
             "(required off loopback): every request then needs 'Authorization: Bearer TOKEN'\n"
             "or ?token=TOKEN.\n",
    .options = dash_options,
    .role_options = 1,
    .keys = dash_keys,
};

struct dash {
    struct ev_loop *loop;
    struct config *cfg;
    struct dash_http *http;
    struct worker *w;
    struct dash_src src;
    const char *token;          /* NULL: none */
    char host[128];
    int port;
    char *chart;                /* the chart library, malloc'd; NULL when missing */
    size_t chart_len;
    ev_signal sigint, sigterm;
};

/* ---- pure helpers --------------------------------------------------------------------------- */

int dash_parse_listen(const char *s, char *host, size_t cap, int *port)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    char *end = NULL;
    if (!colon || colon == s || (size_t)(colon - s) >= cap) return -1;
    long p = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || p < 1 || p > 65535) return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    *port = (int)p;
    return 0;
}

int dash_is_loopback(const char *host)
{
    return !strncmp(host, "127.", 4) || !strcmp(host, "::1") || !strcmp(host, "localhost");
}

/* ---- routes --------------------------------------------------------------------------------- */

struct dash_route_def {
    const char *path;
    enum dash_route route;
    const char *range;          /* the default range; NULL: the route takes none */
};

static const struct dash_route_def dash_routes[] = {
    {"/api/curve", DASH_CURVE, "7d"},    {"/api/daily", DASH_DAILY, "30d"},
    {"/api/symbols", DASH_SYMBOLS, "all"}, {"/api/losers", DASH_LOSERS, "all"},
    {"/api/positions", DASH_POSITIONS, NULL}, {"/api/orders", DASH_ORDERS, NULL},
    {"/api/state", DASH_STATE, NULL},    {"/api/health", DASH_HEALTH, NULL},
    {"/metrics", DASH_METRICS, NULL},
};

static void reply_json(struct dash_req *req, int status, json_t *v)
{
    char *body = jv_dump(v);
    json_decref(v);
    if (!body) {
        static const char oom[] = "{\"error\":\"out of memory\",\"part\":\"\"}";
        dash_req_reply(req, 500, "application/json", oom, sizeof oom - 1, 0);
        return;
    }
    dash_req_reply(req, status, "application/json", body, strlen(body), 1);
}

/* Serves an embedded file or the chart library; 0 when path is none of them. */
static int serve_static(struct dash *d, struct dash_req *req, const char *path)
{
    if (!strcmp(path, "/")) path = "/index.html";
    if (!strcmp(path, DASH_CHART_PATH)) {
        static const char none[] = "/* the chart library is not installed (libjs-chart.js) */\n";
        if (d->chart)
            dash_req_reply(req, 200, "text/javascript; charset=utf-8", d->chart, d->chart_len, 0);
        else
            dash_req_reply(req, 404, "text/javascript; charset=utf-8", none, sizeof none - 1, 0);
        return 1;
    }
    for (int i = 0; i < dash_www_count; i++) {
        if (strcmp(path, dash_www_files[i].path)) continue;
        dash_req_reply(req, 200, dash_www_files[i].type, (const char *)dash_www_files[i].data,
                       dash_www_files[i].len, 0);
        return 1;
    }
    return 0;
}

static void dash_job_done(void *job, void *privdata)
{
    struct dash_job *j = job;
    (void)privdata;
    if (j->body) dash_req_reply(j->req, j->status, j->type, j->body, j->len, 1);
    else reply_json(j->req, 500, dash_error("", "out of memory"));
    free(j);
}

/* Queues the route's job; the reply comes from dash_job_done. */
static void submit_route(struct dash *d, struct dash_req *req, const struct dash_route_def *rt)
{
    char arg[DASH_ARG_MAX];
    struct dash_job *j;
    if (worker_pending(d->w) >= DASH_PENDING_MAX) {
        reply_json(req, 503, dash_error("dash", "busy: too many requests waiting"));
        return;
    }
    j = calloc(1, sizeof *j);
    if (!j) abort();
    j->route = rt->route;
    j->req = req;
    if (rt->range) {
        dash_req_arg(req, "range", arg, sizeof arg);
        snprintf(j->range, sizeof j->range, "%.7s", arg[0] ? arg : rt->range);
    }
    dash_req_arg(req, "limit", arg, sizeof arg);
    j->limit = (int)strtol(arg, NULL, 10);
    if (j->limit <= 0 || j->limit > 100) j->limit = 10;
    worker_submit(d->w, j);
}

static void dash_handle(struct dash_req *req, void *privdata)
{
    struct dash *d = privdata;
    const char *path = dash_req_path(req);
    if (d->token && !dash_token_equal(d->token, dash_req_token(req))) {
        reply_json(req, 401, dash_error("auth", "a valid token is required"));
        return;
    }
    for (size_t i = 0; i < sizeof dash_routes / sizeof dash_routes[0]; i++) {
        if (strcmp(path, dash_routes[i].path)) continue;
        submit_route(d, req, &dash_routes[i]);
        return;
    }
    if (!serve_static(d, req, path)) reply_json(req, 404, dash_error("path", "no such page"));
}

/* ---- the worker's hooks ----------------------------------------------------------------------- */

static void dash_run(void *job, void *privdata)
{
    struct dash *d = privdata;
    dash_fetch(&d->src, job);
}

static void dash_thread_start(void *privdata)
{
    (void)privdata;
    mysql_thread_init();
}

static void dash_thread_end(void *privdata)
{
    struct dash *d = privdata;
    dash_src_close(&d->src);
    mysql_thread_end();
}

static void dash_discard(void *job)
{
    struct dash_job *j = job;
    /* only at exit, after the server is gone: dash_http_free freed the request */
    free(j->body);
    free(j);
}

/* ---- configuration ---------------------------------------------------------------------------- */

static int config_stale(struct dash *d, char *err, size_t cap)
{
    struct config *c = d->cfg;
    struct dash_stale *s = &d->src.stale;
    int64_t t = 0;
    if (config_duration_ms(c, "dash", "stale_instance", 60000, 1000, 86400000, &s->instance) ||
        config_duration_ms(c, "dash", "stale_ticks", 10000, 100, 86400000, &s->ticks) ||
        config_duration_ms(c, "dash", "stale_klines", 180000, 1000, 86400000, &s->klines) ||
        config_duration_ms(c, "dash", "stale_source", 120000, 1000, 86400000, &s->source) ||
        config_duration_ms(c, "dash", "timeout", 2000, 100, 60000, &t)) {
        snprintf(err, cap, "%s", config_errstr(c));
        return -1;
    }
    d->src.timeout_ms = (int)t;
    return 0;
}

static int config_sources(struct dash *d, char *err, size_t cap)
{
    struct config *c = d->cfg;
    const char *prefix, *account, *asset, *mysql = config_get(c, "mysql", "url");
    if (config_required(c, "redis", "url", &d->src.redis_url) ||
        config_str(c, "redis", "prefix", "bfq:", &prefix) ||
        config_str(c, "dash", "account", "main", &account) ||
        config_str(c, "dash", "asset", "USDT", &asset)) {
        snprintf(err, cap, "%s", config_errstr(c));
        return -1;
    }
    snprintf(d->src.prefix, sizeof d->src.prefix, "%s", prefix);
    snprintf(d->src.account, sizeof d->src.account, "%s", account);
    snprintf(d->src.asset, sizeof d->src.asset, "%s", asset);
    if (mysql && db_parse_url(mysql, &d->src.db, err, cap) < 0) return -1;
    d->src.have_db = mysql != NULL;
    if (!mysql) log_warn("no [mysql] url: the history (curves, PnL) answers 503", "%s", "");
    return 0;
}

static int config_listen(struct dash *d, char *err, size_t cap)
{
    const char *listen, *token = NULL;
    if (config_str(d->cfg, "dash", "listen", "127.0.0.1:8090", &listen) ||
        dash_parse_listen(listen, d->host, sizeof d->host, &d->port) < 0) {
        snprintf(err, cap, "[dash] listen: expected HOST:PORT");
        return -1;
    }
    /* a secret like the API's: token_file must be private, the value never logged */
    if (config_get(d->cfg, "dash", "token") && config_secret(d->cfg, "dash", "token", &token)) {
        snprintf(err, cap, "%s", config_errstr(d->cfg));
        return -1;
    }
    if (token && !token[0]) token = NULL;
    d->token = token;
    if (!token && !dash_is_loopback(d->host)) {
        snprintf(err, cap, "[dash] token is required to listen on %s, which is not loopback",
                 d->host);
        return -1;
    }
    return 0;
}

/* Reads the chart library into memory; a missing one is logged (the page then has tables
 * only). */
static void load_chart(struct dash *d)
{
    const char *path;
    if (config_str(d->cfg, "dash", "chart_js", "/usr/share/javascript/chart.js/chart.min.js",
                   &path))
        path = "";
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(DASH_CHART_MAX) : NULL;
    size_t n = buf ? fread(buf, 1, DASH_CHART_MAX, f) : 0;
    if (f) fclose(f);
    if (!buf || n == 0 || n == DASH_CHART_MAX) {
        log_warn("chart library missing or too big: the page shows no charts", "path=%s", path);
        free(buf);
        return;
    }
    d->chart = buf;
    d->chart_len = n;
}

/* ---- the command ------------------------------------------------------------------------------ */

static void dash_on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)revents;
    log_info("stopping", "signal=%d", w->signum);
    ev_break(loop, EVBREAK_ALL);
}

static int dash_start(struct dash *d, char *err, size_t cap)
{
    struct worker_options wo = {.run = dash_run, .done = dash_job_done,
                                .thread_start = dash_thread_start,
                                .thread_end = dash_thread_end, .discard = dash_discard,
                                .privdata = d};
    if (mysql_library_init(0, NULL, NULL)) {
        snprintf(err, cap, "mysql_library_init failed");
        return -1;
    }
    load_chart(d);
    dash_src_init(&d->src);
    d->w = worker_new(d->loop, &wo, err, cap);
    if (!d->w) return -1;
    d->http = dash_http_new(d->loop, d->host, d->port, dash_handle, d, err, cap);
    if (!d->http) return -1;
    ev_signal_init(&d->sigint, dash_on_signal, SIGINT);
    ev_signal_init(&d->sigterm, dash_on_signal, SIGTERM);
    ev_signal_start(d->loop, &d->sigint);
    ev_signal_start(d->loop, &d->sigterm);
    log_info("listening", "url=http://%s:%d/ token=%s mysql=%s", d->host, d->port,
             d->token ? "required" : "none", d->src.have_db ? "yes" : "no");
    return 0;
}

static void dash_stop(struct dash *d)
{
    ev_signal_stop(d->loop, &d->sigint);
    ev_signal_stop(d->loop, &d->sigterm);
    /* the server first: a job that finishes after it has no connection left to answer */
    dash_http_free(d->http);
    worker_free(d->w);
    free(d->chart);
}

int dash_main(int argc, char **argv)
{
    struct dash d;
    char err[256] = "";
    const char *level = "info";
    enum log_level lv = LOG_LEVEL_INFO;
    memset(&d, 0, sizeof d);
    enum cli_result cr = cli_parse(&dash_cli, argc, argv, &d.cfg);
    if (cr != CLI_RUN) return cr == CLI_EXIT_OK ? 0 : 2;
    if (config_str(d.cfg, "log", "level", "info", &level) == 0) (void)log_level_parse(level, &lv);
    log_init("dash", lv);
    role_report_unknown_keys(d.cfg, &dash_cli);
    d.loop = ev_default_loop(0);
    int rc = config_listen(&d, err, sizeof err) || config_sources(&d, err, sizeof err) ||
             config_stale(&d, err, sizeof err) || dash_start(&d, err, sizeof err);
    if (rc) fprintf(stderr, "bfq dash: %s\n", err);
    else ev_run(d.loop, 0);
    dash_stop(&d);
    config_free(d.cfg);
    return rc ? 1 : 0;
}
