/* sim: `bfq sim` options, configuration and start-up (see sim.h).
 *
 * Options map onto the [sim] section of the config file (cli.h), so `--weight-limit 100`,
 * `[sim] weight_limit = 100` and BFQ_SIM_WEIGHT_LIMIT=100 are the same. Accounts come from
 * `--account NAME:KEY:SECRET[:USDT]` (repeatable) and from [account.NAME] sections with
 * api_key, api_secret and balance; with none, account `main` (bfq-demo-key / bfq-demo-secret,
 * 10000 USDT) is created. */
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/timebase.h"
#include "sim/ctx.h"
#include "sim/mdata.h"
#include "sim/server.h"
#include "sim/ustream.h"

static const struct cli_option sim_options[] = {
    {"listen", "HOST:PORT", NULL, NULL, "address to serve on (default 127.0.0.1:8080)", 0},
    {"symbols", "N", NULL, NULL, "tradable USDT perpetuals (default 200)", 0},
    {"seed", "S", NULL, NULL, "seed of the price paths and ids (default 1)", 0},
    {"account", "NAME:KEY:SECRET[:USDT]", NULL, "accounts", "an account (repeatable)", 1},
    {"tls-cert", "FILE", NULL, NULL, "PEM certificate: serve https and wss", 0},
    {"tls-key", "FILE", NULL, NULL, "PEM private key of --tls-cert", 0},
    {"replay", "DIR", NULL, NULL, "serve recorded bodies (fapi_v1_exchangeInfo.json ...)", 0},
    {"weight-limit", "W", NULL, NULL, "REQUEST_WEIGHT per IP per minute (default 2400)", 0},
    {"ban-base-ms", "MS", NULL, NULL, "first 418 ban length, doubling (default 120000)", 0},
    {"listenkey-ttl", "SECONDS", NULL, NULL, "listen key lifetime (default 3600)", 0},
    {"ws-ping", "SECONDS", NULL, NULL, "WebSocket ping interval and pong timeout (default 180)", 0},
    {"ws-max-age", "SECONDS", NULL, NULL, "WebSocket connection lifetime (default 86400)", 0},
    {"funding-interval", "SECONDS", NULL, NULL, "funding period (default 28800)", 0},
    {"classic-stops", NULL, NULL, NULL, "accept STOP*/TAKE_PROFIT* on /fapi/v1/order", 0},
    {"volatility", "X", NULL, NULL, "scale of every price volatility (default 1)", 0},
    {"correlation", "R", NULL, NULL, "mean 1-minute correlation with the market (default 0.5)", 0},
    {"log-level", "LEVEL", "log", "level", "debug, info, warn or error", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command sim_cli = {
    "sim",
    "Binance USDⓈ-M futures simulator (REST, user-data WebSocket, matching, limits, faults)",
    "Admin API under /_sim/ (state, price, fault, requests, weights, ws/drop, event, clock):\n"
    "see docs/sim.md.\n",
    sim_options,
    0,
    NULL, /* every [sim] key is an option */
};

static int get_int(struct config *cfg, const char *key, int64_t def, int64_t min, int64_t max,
                   int64_t *out)
{
    if (config_int(cfg, "sim", key, def, min, max, out)) {
        fprintf(stderr, "bfq sim: %s\n", config_errstr(cfg));
        return -1;
    }
    return 0;
}

/* A real number in [min, max] from [sim] key (def when absent). */
static int get_real(struct config *cfg, const char *key, const char *def, double min, double max,
                    double *out)
{
    const char *v = NULL;
    char *end = NULL;
    if (config_str(cfg, "sim", key, def, &v)) {
        fprintf(stderr, "bfq sim: %s\n", config_errstr(cfg));
        return -1;
    }
    *out = strtod(v, &end);
    if (end == v || *end || !(*out >= min && *out <= max)) {
        fprintf(stderr, "bfq sim: [sim] %s: expected a number in [%g, %g]\n", key, min, max);
        return -1;
    }
    return 0;
}

static int parse_listen(const char *s, struct sim_config *sc)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof(sc->listen_host)) return -1;
    memcpy(sc->listen_host, s, (size_t)(colon - s));
    sc->listen_host[colon - s] = '\0';
    char *end = NULL;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port <= 0 || port > 65535) return -1;
    sc->port = (int)port;
    return 0;
}

static int read_config(struct config *cfg, struct sim_config *sc)
{
    const char *listen = NULL;
    int64_t v, seed;
    if (config_str(cfg, "sim", "listen", "127.0.0.1:8080", &listen) || parse_listen(listen, sc)) {
        fprintf(stderr, "bfq sim: [sim] listen: expected HOST:PORT\n");
        return -1;
    }
    if (get_int(cfg, "symbols", 200, 1, 5000, &v)) return -1;
    sc->symbols = (int)v;
    if (get_int(cfg, "seed", 1, INT64_MIN, INT64_MAX, &seed)) return -1;
    sc->seed = (uint64_t)seed;
    if (get_int(cfg, "weight_limit", 2400, 1, INT64_MAX / 4, &sc->weight_limit)) return -1;
    if (get_int(cfg, "ban_base_ms", 120000, 1, 86400000LL * 3, &sc->ban_base_ms)) return -1;
    if (get_int(cfg, "listenkey_ttl", 3600, 1, 86400 * 30, &v)) return -1;
    sc->listenkey_ttl_ms = v * 1000;
    if (get_int(cfg, "ws_ping", 180, 0, 86400, &v)) return -1;
    sc->ws_ping_ms = v * 1000;
    if (get_int(cfg, "ws_max_age", 86400, 0, 86400 * 30, &v)) return -1;
    sc->ws_max_age_ms = v * 1000;
    if (get_int(cfg, "funding_interval", 28800, 1, 86400 * 30, &v)) return -1;
    sc->funding_interval_ms = v * 1000;
    if (config_bool(cfg, "sim", "classic_stops", 0, &sc->classic_stops)) {
        fprintf(stderr, "bfq sim: %s\n", config_errstr(cfg));
        return -1;
    }
    if (get_real(cfg, "volatility", "1", 0.01, 100, &sc->volatility)) return -1;
    if (get_real(cfg, "correlation", "0.5", 0.01, 0.95, &sc->correlation)) return -1;
    sc->tls_cert = config_get(cfg, "sim", "tls_cert");
    sc->tls_key = config_get(cfg, "sim", "tls_key");
    sc->replay_dir = config_get(cfg, "sim", "replay");
    if ((sc->tls_cert == NULL) != (sc->tls_key == NULL)) {
        fprintf(stderr, "bfq sim: --tls-cert and --tls-key go together\n");
        return -1;
    }
    return 0;
}

static int add_account(struct sim_ctx *c, const char *name, const char *key, const char *secret,
                       const char *usdt)
{
    struct dec bal;
    if (dec_parse(usdt, (size_t)-1, &bal) != DEC_OK || dec_sign(bal) < 0) {
        fprintf(stderr, "bfq sim: account %s: bad balance '%s'\n", name, usdt);
        return -1;
    }
    if (sim_engine_add_account(c->engine, name, key, secret, bal)) {
        fprintf(stderr, "bfq sim: account %s: duplicate name or API key\n", name);
        return -1;
    }
    return 0;
}

/* NAME:KEY:SECRET[:USDT] lines from --account. */
static int cli_accounts(struct sim_ctx *c, const char *list, int *added)
{
    char line[512];
    while (list && *list) {
        const char *nl = strchr(list, '\n');
        size_t n = nl ? (size_t)(nl - list) : strlen(list);
        if (n >= sizeof(line)) return -1;
        memcpy(line, list, n);
        line[n] = '\0';
        list += n + (nl ? 1 : 0);
        char *f[4] = {line, NULL, NULL, NULL};
        int nf = 1;
        for (char *p = line; *p && nf < 4; p++)
            if (*p == ':') {
                *p = '\0';
                f[nf++] = p + 1;
            }
        if (nf < 3 || !*f[0] || !*f[1] || !*f[2]) {
            fprintf(stderr, "bfq sim: --account wants NAME:KEY:SECRET[:USDT]\n");
            return -1;
        }
        if (add_account(c, f[0], f[1], f[2], nf == 4 ? f[3] : "10000")) return -1;
        (*added)++;
    }
    return 0;
}

struct section_walk {
    struct sim_ctx *c;
    struct config *cfg;
    int added, failed;
};

static void config_account(const char *section, void *privdata)
{
    struct section_walk *w = privdata;
    const char *key = NULL, *secret = NULL, *bal = NULL;
    if (w->failed) return;
    if (config_required(w->cfg, section, "api_key", &key) ||
        config_secret(w->cfg, section, "api_secret", &secret) ||
        config_str(w->cfg, section, "balance", "10000", &bal)) {
        fprintf(stderr, "bfq sim: %s\n", config_errstr(w->cfg));
        w->failed = 1;
        return;
    }
    if (add_account(w->c, section + strlen("account."), key, secret, bal)) w->failed = 1;
    else w->added++;
}

static int setup_accounts(struct sim_ctx *c, struct config *cfg)
{
    struct section_walk w = {c, cfg, 0, 0};
    if (cli_accounts(c, config_get(cfg, "sim", "accounts"), &w.added)) return -1;
    config_sections(cfg, "account.", config_account, &w);
    if (w.failed) return -1;
    if (!w.added) return add_account(c, "main", "bfq-demo-key", "bfq-demo-secret", "10000");
    return 0;
}

static int build(struct sim_ctx *c, struct config *cfg)
{
    struct sim_market_options mo = {c->cfg.seed, c->cfg.symbols, c->cfg.funding_interval_ms,
                                    timebase_wall_ms(), c->cfg.volatility, c->cfg.correlation};
    c->market = sim_market_new(&mo);
    c->limits = limits_new(c->cfg.weight_limit, c->cfg.ban_base_ms, 300, 1200);
    c->log = reqlog_new();
    c->faults = faults_new(c->cfg.seed);
    c->us = ustream_new(c->cfg.seed, c->cfg.listenkey_ttl_ms);
    if (!c->market || !c->limits || !c->log || !c->faults || !c->us) return -1;
    c->md = mdata_new(c);
    struct sim_engine_options eo;
    memset(&eo, 0, sizeof(eo));
    eo.classic_stops = c->cfg.classic_stops;
    eo.funding_interval_ms = c->cfg.funding_interval_ms;
    eo.maker_fee = (struct dec){2, 4};
    eo.taker_fee = (struct dec){5, 4};
    c->engine = sim_engine_new(c->market, &eo, sim_server_on_event, c);
    if (!c->md || !c->engine) return -1;
    return setup_accounts(c, cfg);
}

static void teardown(struct sim_ctx *c)
{
    if (c->engine) sim_engine_free(c->engine);
    mdata_free(c->md);
    ustream_free(c->us);
    faults_free(c->faults);
    reqlog_free(c->log);
    limits_free(c->limits);
    sim_market_free(c->market);
}

int sim_main(int argc, char **argv)
{
    struct config *cfg = NULL;
    enum cli_result cr = cli_parse(&sim_cli, argc, argv, &cfg);
    if (cr == CLI_EXIT_OK) return 0;
    if (cr == CLI_EXIT_USAGE) return 2;
    const char *lvl = config_get(cfg, "log", "level");
    enum log_level level = LOG_LEVEL_INFO;
    if (lvl && log_level_parse(lvl, &level)) {
        fprintf(stderr, "bfq sim: [log] level: expected debug, info, warn or error\n");
        config_free(cfg);
        return 2;
    }
    log_init("sim", level);
    struct sim_ctx c;
    memset(&c, 0, sizeof(c));
    int rc = 1;
    if (read_config(cfg, &c.cfg) == 0) {
        if (build(&c, cfg) == 0)
            rc = sim_server_run(&c);
        else
            fprintf(stderr, "bfq sim: start-up failed\n");
    }
    teardown(&c);
    config_free(cfg);
    return rc;
}
