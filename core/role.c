/* role: the shared runtime of long-running roles (see role.h).
 *
 * Builds the pieces in dependency order (log, names, Redis, heartbeat, HTTP, exchange client,
 * weight budget, signals) and tears them down in reverse, with the exchange requests canceled
 * first so that no callback of the caller runs after role_fini has started freeing. */
#include "core/role.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "core/cli.h"
#include "core/heartbeat.h"
#include "core/http.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/sdnotify.h"
#include "core/weight.h"

#define ROLE_LOG_MUTE_MS 5000
#define ROLE_DRAIN_MS 1000

static const char *const role_err_names[ROLE_ERR_COUNT] = {
    "5xx", "timeout", "malformed", "api", "429", "418", "transport", "local",
};

const char *role_err_name(enum role_err e)
{
    return (e >= 0 && e < ROLE_ERR_COUNT) ? role_err_names[e] : "?";
}

static int role_fail(struct role *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int role_fail(struct role *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->errstr, sizeof(r->errstr), fmt, ap);
    va_end(ap);
    return -1;
}

static int role_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* ---- configuration ---------------------------------------------------------------------- */


static int role_read_log(struct role *r)
{
    const char *level = NULL;
    enum log_level lv;
    if (config_str(r->cfg, "log", "level", "info", &level) < 0)
        return role_fail(r, "%s", config_errstr(r->cfg));
    if (log_level_parse(level, &lv) < 0)
        return role_fail(r, "[log] level: '%s' is not debug, info, warn or error", level);
    log_init(r->name, lv);
    role_report_unknown_keys(r->cfg, r->opts.cmd);
    return 0;
}

/* One file serves every role. The shared sections, which core reads, are checked against
 * this list; a command's own section against what the command declares (its options and
 * cli_command.keys, core/cli.h); a section no registered command owns is a typo too. So
 * [exchange] rest_ulr or [kline] ratee is reported at start instead of silently falling back
 * to a default, and a new role needs no edit here. */
static const char *const role_known_keys[] = {
    "exchange.rest_url", "exchange.ws_url", "exchange.timeout", "exchange.weight_limit",
    "exchange.weight_budget_percent", "exchange.ca_file", "redis.url", "redis.prefix", "log.level",
    "redis.library_check", "redis.command_timeout", "account.*.api_key", "account.*.api_secret",
    "account.*.balance", "mysql.url", NULL,
};

static int role_key_known(const char *section, const char *key, void *privdata)
{
    const struct cli_command *cmd = privdata;
    if (config_key_matches(role_known_keys, section, key)) return 1;
    const struct cli_command *owner = cli_section_owner(cmd, section);
    if (owner) return cli_declares(owner, section, key);
    /* without the command table (a test building a role by hand) another section is not ours
     * to judge */
    return !cli_registered();
}

void role_report_unknown_keys(struct config *cfg, const struct cli_command *cmd)
{
    char keys[512];
    int n = config_unknown_keys_by(cfg, role_key_known, (void *)cmd, keys, sizeof keys);
    if (n > 0) log_warn("unknown config keys, ignored", "count=%d keys=\"%s\"", n, keys);
}

static int role_read_names(struct role *r)
{
    const char *prefix = NULL, *ip = NULL, *acct = NULL;
    cli_instance(r->cfg, r->section, r->instance, sizeof(r->instance));
    if (config_str(r->cfg, "redis", "prefix", "bfq:", &prefix) < 0 ||
        config_str(r->cfg, r->section, "source_ip", "", &ip) < 0 ||
        config_str(r->cfg, r->section, "account", "main", &acct) < 0)
        return role_fail(r, "%s", config_errstr(r->cfg));
    if (role_copy(r->prefix, sizeof(r->prefix), prefix) < 0)
        return role_fail(r, "[redis] prefix: longer than %d characters", ROLE_PREFIX_MAX - 1);
    if (role_copy(r->source_ip, sizeof(r->source_ip), ip) < 0)
        return role_fail(r, "[%s] source_ip: too long", r->section);
    if (role_copy(r->account, sizeof(r->account), acct) < 0 || !acct[0])
        return role_fail(r, "[%s] account: empty or too long", r->section);
    (void)role_copy(r->weight_ip, sizeof(r->weight_ip), ip[0] ? ip : "default");
    return 0;
}

/* ---- Redis and heartbeat ---------------------------------------------------------------- */

/* The exchange's own weight limit, written by `bfq symbols` into <prefix>exchange, replaces
 * the default when [exchange] weight_limit is not configured. */
static void role_on_limit(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    struct role *r = privdata;
    char *end = NULL;
    (void)rc;
    if (!reply || reply->type != REDIS_REPLY_STRING || !r->wb || r->stopping) return;
    long long v = strtoll(reply->str, &end, 10);
    if (end == reply->str || *end || v <= 0 || v == r->weight_limit) return;
    r->weight_limit = v;
    weight_set_limit(r->wb, v);
    log_info("weight limit from exchangeInfo", "limit=%lld", v);
}

static void role_read_limit(struct role *r)
{
    char key[ROLE_PREFIX_MAX + 16];
    if (!r->wb || config_get(r->cfg, "exchange", "weight_limit")) return;
    if (role_key(r, key, sizeof(key), "exchange") < 0) return;
    (void)rconn_command(r->rc, role_on_limit, r, "HGET %s requestWeight1m", key);
}

/* Heartbeats between two reads of requestWeight1m: a `bfq symbols` run after the role started
 * (or a changed limit) is seen within that many seconds. */
#define ROLE_LIMIT_BEATS 5
/* READY=1 to systemd, once: Redis is up and (for a role that talks to the exchange, unless
 * its requests wait for work) an answer was accepted, so the role is doing its job. */
static void role_sd_ready(struct role *r)
{
    if (r->sd_ready || !role_redis_up(r) ||
        (!r->opts.no_exchange && !r->opts.ready_on_redis && !r->ctr.last_success))
        return;
    r->sd_ready = 1;
    sdnotify_ready("redis up, first success");
}

static void role_on_sd_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    sdnotify_watchdog();
}

/* WATCHDOG=1 at half the period systemd asks for (none without WatchdogSec=). */
static void role_start_sd_watchdog(struct role *r)
{
    int64_t ms = sdnotify_watchdog_ms();
    if (ms <= 0) return;
    double every = (double)ms / 2000.0;
    ev_timer_init(&r->sd_watchdog, role_on_sd_watchdog, 0.0, every);
    ev_timer_start(r->loop, &r->sd_watchdog);
}

static void role_on_up(struct rconn *rc, void *privdata)
{
    struct role *r = privdata;
    (void)rc;
    log_info("redis up", NULL);
    if (r->hb) heartbeat_beat(r->hb); /* alive again at once, not at the next period */
    if (r->wb) weight_redis_state(r->wb, 1);
    role_read_limit(r);
    role_sd_ready(r);
    if (r->opts.up && !r->stopping) r->opts.up(r, r->opts.privdata);
}

static void role_on_down(struct rconn *rc, const char *errstr, void *privdata)
{
    struct role *r = privdata;
    (void)rc;
    log_warn("redis down", "err=\"%s\"", errstr ? errstr : "");
    if (r->wb) weight_redis_state(r->wb, 0);
    if (r->opts.down && !r->stopping) r->opts.down(r, r->opts.privdata);
}

static void role_fill_errors(struct role *r, json_t *obj)
{
    json_t *errs = json_object();
    int64_t total = 0;
    for (int i = 0; i < ROLE_ERR_COUNT; i++) {
        json_object_set_new(errs, role_err_names[i], json_integer(r->ctr.errors[i]));
        total += r->ctr.errors[i];
    }
    json_object_set_new(obj, "errors", errs);
    json_object_set_new(obj, "errors_total", json_integer(total));
    if (r->ctr.last_error) {
        json_object_set_new(obj, "last_error", json_integer(r->ctr.last_error));
        json_object_set_new(obj, "last_errstr", json_string(r->ctr.last_errstr));
    }
}

static void role_fill(json_t *obj, void *privdata)
{
    struct role *r = privdata;
    if (++r->limit_beats >= ROLE_LIMIT_BEATS && rconn_is_up(r->rc)) {
        r->limit_beats = 0;
        role_read_limit(r);
    }
    json_object_set_new(obj, "source_ip", json_string(r->weight_ip));
    json_object_set_new(obj, "requests", json_integer(r->ctr.requests));
    json_object_set_new(obj, "ok", json_integer(r->ctr.ok));
    json_object_set_new(obj, "weight", json_integer(r->ctr.weight));
    json_object_set_new(obj, "last_success", json_integer(r->ctr.last_success));
    role_fill_errors(r, obj);
    if (r->opts.needs_account) json_object_set_new(obj, "account", json_string(r->account));
    if (r->wb) {
        struct weight_stats ws = weight_stats(r->wb);
        json_object_set_new(obj, "weight_used_minute", json_integer(ws.used_minute));
        json_object_set_new(obj, "weight_waits", json_integer(ws.waits));
        json_object_set_new(obj, "weight_timeouts", json_integer(ws.timeouts));
        json_object_set_new(obj, "stopped_until", json_integer(ws.stopped_until));
        json_object_set_new(obj, "weight_budget", json_integer(ws.budget));
        json_object_set_new(obj, "weight_limit", json_integer(r->weight_limit));
    }
    if (r->bc && binance_servertime(r->bc)->synced_at) /* the minute its weight keys use */
        json_object_set_new(obj, "clock_offset_ms",
                            json_integer(binance_servertime(r->bc)->offset_ms));
    if (r->opts.fill) r->opts.fill(r, obj, r->opts.privdata);
}

static int role_start_redis(struct role *r)
{
    const char *url = NULL;
    char name[ROLE_NAME_MAX + ROLE_ID_MAX + 2], err[RCONN_ERR_MAX], alerts[ROLE_PREFIX_MAX + 8];
    int64_t check_ms = 0, cmd_timeout = 0;
    if (config_required(r->cfg, "redis", "url", &url) < 0 ||
        config_duration_ms(r->cfg, "redis", "library_check", 5000, 100, 3600000, &check_ms) < 0 ||
        config_duration_ms(r->cfg, "redis", "command_timeout", RCONN_COMMAND_TIMEOUT_MS, 100,
                           60000, &cmd_timeout) < 0)
        return role_fail(r, "%s", config_errstr(r->cfg));
    snprintf(name, sizeof(name), "%s:%s", r->name, r->instance);
    if (role_key(r, alerts, sizeof alerts, "alerts") < 0) return role_fail(r, "alerts key too long");
    struct rconn_options ro = {.url = url, .name = name, .lua_library = r->opts.lua_library,
                               .alert_key = alerts, .library_check_ms = check_ms,
                               .command_timeout_ms = cmd_timeout > 0 ? cmd_timeout : -1};
    struct rconn_callbacks cb = {.up = role_on_up, .down = role_on_down, .privdata = r};
    err[0] = '\0';
    r->rc = rconn_new(r->loop, &ro, &cb, err, sizeof(err));
    if (!r->rc) return role_fail(r, "[redis] url: %s", err);
    struct heartbeat_options ho = {.prefix = r->prefix, .role = r->name, .instance = r->instance};
    r->hb = heartbeat_new(r->loop, r->rc, &ho, role_fill, r);
    if (!r->hb) return role_fail(r, "heartbeat: cannot start");
    return 0;
}

/* ---- exchange ------------------------------------------------------------------------------ */

static int role_read_keys(struct role *r, const char **key, const char **secret)
{
    char sect[ROLE_NAME_MAX + 16];
    snprintf(sect, sizeof(sect), "account.%s", r->account);
    if (config_secret(r->cfg, sect, "api_key", key) < 0 ||
        config_secret(r->cfg, sect, "api_secret", secret) < 0)
        return role_fail(r, "%s", config_errstr(r->cfg));
    return 0;
}

/* [exchange] ca_file: kept when set, refused at start when it cannot be read. */
static int role_read_ca(struct role *r, const char *ca)
{
    if (!ca[0]) return 0;
    if (role_copy(r->ca_file, sizeof(r->ca_file), ca) < 0)
        return role_fail(r, "[exchange] ca_file: longer than %d characters", ROLE_PATH_MAX - 1);
    FILE *f = fopen(ca, "r");
    if (!f) return role_fail(r, "[exchange] ca_file: cannot read '%s'", ca);
    fclose(f);
    return 0;
}

static int role_start_exchange(struct role *r)
{
    const char *url = NULL, *key = NULL, *secret = NULL, *ca = NULL;
    int64_t timeout = 0, pct = 0;
    char err[256];
    if (config_str(r->cfg, "exchange", "rest_url", "http://127.0.0.1:8080", &url) < 0 ||
        config_str(r->cfg, "exchange", "ca_file", "", &ca) < 0 ||
        config_duration_ms(r->cfg, "exchange", "timeout", 5000, 100, 60000, &timeout) < 0 ||
        config_int(r->cfg, "exchange", "weight_limit", 2400, 1, 1000000, &r->weight_limit) < 0 ||
        config_int(r->cfg, "exchange", "weight_budget_percent", 90, 1, 100, &pct) < 0)
        return role_fail(r, "%s", config_errstr(r->cfg));
    if (role_read_ca(r, ca) < 0) return -1;
    if (r->opts.needs_account && role_read_keys(r, &key, &secret) < 0) return -1;
    r->http = http_client_new(r->loop);
    if (!r->http) return role_fail(r, "http: cannot initialise libcurl");
    struct binance_config bcfg = {.rest_url = url, .api_key = key, .api_secret = secret,
                                  .source_ip = r->source_ip[0] ? r->source_ip : NULL,
                                  .timeout_ms = timeout,
                                  .ca_file = r->ca_file[0] ? r->ca_file : NULL};
    err[0] = '\0';
    r->bc = binance_client_new(r->http, &bcfg, err, sizeof(err));
    if (!r->bc) return role_fail(r, "[exchange] rest_url: %s", err);
    struct weight_options wo = {.prefix = r->prefix, .ip = r->weight_ip,
                                .limit = r->weight_limit, .percent = (int)pct};
    if (weight_options_read(&wo, r->cfg) < 0) return role_fail(r, "%s", config_errstr(r->cfg));
    r->wb = weight_new(r->loop, r->rc, &wo);
    if (!r->wb) return role_fail(r, "weight budget: cannot start");
    binance_set_budget(r->bc, r->wb);
    return 0;
}

/* ---- signals and life cycle ----------------------------------------------------------- */

static void role_on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct role *r = w->data;
    (void)revents;
    if (!r->stopping) log_info("stopping", "signal=%d", w->signum);
    r->stopping = 1;
    ev_break(loop, EVBREAK_ALL);
}

static void role_start_signals(struct role *r)
{
    ev_signal_init(&r->sigint, role_on_signal, SIGINT);
    ev_signal_init(&r->sigterm, role_on_signal, SIGTERM);
    r->sigint.data = r;
    r->sigterm.data = r;
    ev_signal_start(r->loop, &r->sigint);
    ev_signal_start(r->loop, &r->sigterm);
}

int role_init(struct role *r, const char *name, struct config *cfg, const struct role_options *o)
{
    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    if (o) r->opts = *o;
    const char *section = r->opts.section ? r->opts.section : name;
    if (role_copy(r->name, sizeof(r->name), name) < 0 ||
        role_copy(r->section, sizeof(r->section), section) < 0) {
        role_fail(r, "role name too long");
        return -1;
    }
    r->started = timebase_wall_ms();
    r->loop = ev_default_loop(0);
    if (!r->loop) {
        role_fail(r, "libev: cannot create the loop");
        return -1;
    }
    if (role_read_log(r) < 0 || role_read_names(r) < 0 || role_start_redis(r) < 0 ||
        (!r->opts.no_exchange && role_start_exchange(r) < 0)) {
        char keep[ROLE_ERR_MAX];
        memcpy(keep, r->errstr, sizeof(keep));
        role_fini(r);
        memcpy(r->errstr, keep, sizeof(keep));
        return -1;
    }
    role_start_signals(r);
    role_start_sd_watchdog(r);
    log_info("started", "instance=%s source_ip=%s", r->instance, r->weight_ip);
    return 0;
}

void role_run(struct role *r)
{
    if (!r->loop || r->stopping) return;
    ev_run(r->loop, 0);
    r->stopping = 1;
}

void role_stop(struct role *r)
{
    r->stopping = 1;
    if (r->loop) ev_break(r->loop, EVBREAK_ALL);
}

int role_stopping(const struct role *r)
{
    return r->stopping;
}

int role_redis_up(const struct role *r)
{
    return r->rc && rconn_is_up(r->rc);
}

struct role_drain {
    int done;
};

static void role_drain_reply(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    struct role_drain *d = privdata;
    (void)rc;
    (void)reply;
    d->done = 1;
}

static void role_drain_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct role_drain *d = w->data;
    (void)loop;
    (void)revents;
    d->done = 1;
}

/* Runs the loop until every command sent so far (the heartbeat DEL included) is answered, or
 * ROLE_DRAIN_MS passed. */
static void role_drain_redis(struct role *r)
{
    struct role_drain d = {0};
    ev_timer t;
    if (!r->rc || !rconn_is_up(r->rc)) return;
    if (rconn_command(r->rc, role_drain_reply, &d, "PING") < 0) return;
    ev_timer_init(&t, role_drain_timeout, ROLE_DRAIN_MS / 1000.0, 0.0);
    t.data = &d;
    ev_timer_start(r->loop, &t);
    while (!d.done) ev_run(r->loop, EVRUN_ONCE);
    ev_timer_stop(r->loop, &t);
}

void role_fini(struct role *r)
{
    r->stopping = 1;
    if (r->loop) {
        if (r->sd_ready) sdnotify_stopping();
        ev_signal_stop(r->loop, &r->sigint);
        ev_signal_stop(r->loop, &r->sigterm);
        ev_timer_stop(r->loop, &r->sd_watchdog);
    }
    if (r->bc) binance_client_free(r->bc);
    r->bc = NULL;
    if (r->http) http_client_free(r->http);
    r->http = NULL;
    if (r->hb) heartbeat_free(r->hb);
    r->hb = NULL;
    role_drain_redis(r);
    if (r->wb) weight_free(r->wb);
    r->wb = NULL;
    if (r->rc) rconn_free(r->rc);
    r->rc = NULL;
    if (r->loop) log_info("stopped", NULL);
    r->loop = NULL;
}

int role_main(const struct role_entry *e, struct role *r, void *state, int argc, char **argv)
{
    struct config *cfg = NULL;
    struct role_options ro = e->opts;
    char err[ROLE_ERR_MAX + CONFIG_ERR_MAX] = "";
    const char *name = e->cmd->name;
    int rc = 1;
    enum cli_result cr = cli_parse(e->cmd, argc, argv, &cfg);
    if (cr != CLI_RUN) return cr == CLI_EXIT_OK ? 0 : 2;
    ro.privdata = state;
    ro.cmd = e->cmd;
    if (e->config && e->config(state, cfg, err, sizeof err) < 0) {
        const char *why = err[0] ? err : config_errstr(cfg);
        fprintf(stderr, "bfq %s: %s\n", name, why[0] ? why : "bad configuration");
    } else if (role_init(r, name, cfg, &ro) < 0) {
        fprintf(stderr, "bfq %s: %s\n", name, r->errstr);
    } else {
        if (e->start(r, state, err, sizeof err) == 0) {
            role_run(r);
            rc = 0;
        } else {
            fprintf(stderr, "bfq %s: %s\n", name, err[0] ? err : "cannot start");
        }
        if (e->stop) e->stop(r, state);
        role_fini(r);
    }
    config_free(cfg);
    return rc;
}

int role_key(const struct role *r, char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(buf, cap, "%s", r->prefix);
    if (n < 0 || (size_t)n >= cap) return -1;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, cap - (size_t)n, fmt, ap);
    va_end(ap);
    if (m < 0 || (size_t)(n + m) >= cap) return -1;
    return n + m;
}

/* ---- counters ----------------------------------------------------------------------------- */

enum role_err role_err_of(enum binance_outcome o)
{
    switch (o) {
    case BINANCE_ESERVER: return ROLE_ERR_5XX;
    case BINANCE_ETIMEOUT: return ROLE_ERR_TIMEOUT;
    case BINANCE_EMALFORMED: return ROLE_ERR_MALFORMED;
    case BINANCE_ERATE: return ROLE_ERR_429;
    case BINANCE_EBANNED: return ROLE_ERR_418;
    case BINANCE_ETRANSPORT: return ROLE_ERR_TRANSPORT;
    case BINANCE_ELOCAL: return ROLE_ERR_LOCAL;
    case BINANCE_EAPI:
    case BINANCE_EHTTP:
    case BINANCE_OK:
    default: return ROLE_ERR_API;
    }
}

static void role_note_error(struct role *r, enum role_err kind, const char *what,
                            const char *reason)
{
    mono_ms_t now = timebase_mono_ms();
    r->ctr.errors[kind]++;
    r->ctr.last_error = timebase_wall_ms();
    snprintf(r->ctr.last_errstr, sizeof(r->ctr.last_errstr), "%.60s: %s: %.80s", what,
             role_err_names[kind], reason);
    if (r->stopping && kind == ROLE_ERR_LOCAL) return; /* cancellations at exit */
    if (now < r->log_muted_until[kind]) {
        r->log_muted[kind]++;
        return;
    }
    log_warn("request failed, skipped", "what=\"%s\" kind=%s reason=\"%s\" muted=%lld", what,
             role_err_names[kind], reason, (long long)r->log_muted[kind]);
    r->log_muted[kind] = 0;
    r->log_muted_until[kind] = now + ROLE_LOG_MUTE_MS;
}

int role_count_result(struct role *r, const struct binance_result *res, const char *what)
{
    if (res->outcome != BINANCE_ELOCAL) r->ctr.requests++;
    if (res->outcome == BINANCE_OK) {
        r->ctr.ok++;
        r->ctr.last_success = timebase_wall_ms();
        role_sd_ready(r);
        return 0;
    }
    char reason[BINANCE_MSG_MAX + 32];
    if (res->code)
        snprintf(reason, sizeof(reason), "http %ld code %d %s", res->http_code, res->code, res->msg);
    else
        snprintf(reason, sizeof(reason), "http %ld %s", res->http_code, res->msg);
    role_note_error(r, role_err_of(res->outcome), what, reason);
    return -1;
}

void role_count_invalid(struct role *r, const char *what, const char *reason)
{
    if (r->ctr.ok > 0) r->ctr.ok--;
    role_note_error(r, ROLE_ERR_MALFORMED, what, reason);
}

void role_count_weight(struct role *r, int weight)
{
    r->ctr.weight += weight;
}
