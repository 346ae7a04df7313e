/* symbols: `bfq symbols`, exchangeInfo -> the tradable universe and each symbol's filters.
 *
 * Every round GETs /fapi/v1/exchangeInfo, checks every symbol (its filters must parse as exact
 * decimals, tick and step positive; a symbol that fails is skipped with a warning and never
 * written half), writes one HSET per symbol into <prefix>symbol:<SYM> (every symbol Binance
 * lists, tradable or not, so a symbol that left the universe keeps its hash with its status
 * updated; one that vanished from exchangeInfo gets status ABSENT), the rate limits into
 * <prefix>exchange, and the tradable list through bfq_universe, which keeps every existing
 * symbol's index, bumps <prefix>universe:version and publishes on <prefix>ch:universe.
 *
 * Tradable: contractType PERPETUAL, status TRADING, quoteAsset [symbols] quote (USDT),
 * underlyingType not INDEX; then [symbols] include adds listed symbols that fail the rule and
 * [symbols] exclude removes listed ones (lists separated by commas, spaces or newlines).
 *
 * --once: one round, exit 0 when written, exit 1 if it could not be done within
 * [symbols] retry_for (default 60 s; exchangeInfo is retried with backoff meanwhile).
 * Otherwise a round every [symbols] every (default 5 min). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cli/commands.h"
#include "collectors/collectors.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/role.h"
#include "reconciler/recon.h"

#define SYM_MAX 64                /* bytes of a symbol name */
#define SYM_FIELDS_MAX 40         /* fields of one symbol hash */
#define SYM_COUNT_MAX 5000        /* symbols taken from one exchangeInfo */
#define SYM_BACKOFF_MIN_MS 500
#define SYM_BACKOFF_MAX_MS 15000

struct sym_field {
    const char *name;
    char value[64];
};

/* One checked symbol, ready to write. */
struct sym_rec {
    char name[SYM_MAX];
    int tradable;
    int nf;
    struct sym_field f[SYM_FIELDS_MAX];
};

struct symbols {
    struct role r;
    int once;
    int64_t every_ms, retry_for_ms;
    const char *quote, *include, *exclude;
    ev_timer timer;    /* next round or retry */
    ev_timer deadline; /* --once: give up after retry_for */
    int64_t backoff_ms;
    int in_flight;     /* exchangeInfo request outstanding */
    int pending;       /* Redis replies outstanding in this round */
    int round_errors;  /* Redis errors in this round */
    int started;
    int exit_code;
    struct sym_rec *recs; /* this round's symbols, owned */
    int nrecs;
};

static const struct cli_option symbols_options[] = {
    {"once", NULL, NULL, NULL, "one round, then exit (1 when exchangeInfo never answered)", 0},
    {"every", "DURATION", NULL, NULL, "time between rounds (default 5m)", 0},
    {"retry-for", "DURATION", NULL, NULL, "--once: give up after this long (default 60s)", 0},
    {"quote", "ASSET", NULL, NULL, "quote asset of tradable symbols (default USDT)", 0},
    {"include", "SYMBOL", NULL, NULL, "also trade this symbol (repeatable)", 1},
    {"exclude", "SYMBOL", NULL, NULL, "never trade this symbol (repeatable)", 1},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command symbols_cli = {
    .name = "symbols",
    .summary = "exchangeInfo -> the tradable universe and each symbol's filters",
    .usage = "Writes bfq:symbol:<SYM>, bfq:exchange and bfq:universe (see docs/redis.md).\n",
    .options = symbols_options,
    .role_options = 1,
    .keys = NULL, /* every [symbols] key is an option */
};

/* ---- lists and fields --------------------------------------------------------------------- */

/* Nonzero when sym is one of the tokens of list (separated by commas, spaces or newlines). */
static int sym_in_list(const char *list, const char *sym)
{
    size_t n = strlen(sym);
    const char *p = list;
    while (p && *p) {
        size_t skip = strspn(p, ", \t\r\n");
        p += skip;
        size_t len = strcspn(p, ", \t\r\n");
        if (len == n && len > 0 && !memcmp(p, sym, n)) return 1;
        p += len;
    }
    return 0;
}

static int sym_add(struct sym_rec *s, const char *name, const char *value)
{
    if (s->nf >= SYM_FIELDS_MAX || strlen(value) >= sizeof(s->f[0].value)) return -1;
    s->f[s->nf].name = name;
    snprintf(s->f[s->nf].value, sizeof(s->f[0].value), "%s", value);
    s->nf++;
    return 0;
}

static int sym_add_int(struct sym_rec *s, const char *name, int64_t v)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%lld", (long long)v);
    return sym_add(s, name, buf);
}

/* Copies string fields of obj that must exist. */
static int sym_add_strs(struct sym_rec *s, const json_t *obj, const char *const *keys,
                        char *err, size_t cap)
{
    for (int i = 0; keys[i]; i++) {
        const char *v = NULL;
        if (jv_get_str(obj, keys[i], &v, err, cap) < 0) return -1;
        if (sym_add(s, keys[i], v) < 0) {
            snprintf(err, cap, "field '%s' too long", keys[i]);
            return -1;
        }
    }
    return 0;
}

static const json_t *sym_filter(const json_t *sym, const char *type)
{
    const json_t *filters = json_object_get(sym, "filters");
    size_t i;
    const json_t *f;
    json_array_foreach(filters, i, f) {
        const json_t *t = json_object_get(f, "filterType");
        if (json_is_string(t) && !strcmp(json_string_value(t), type)) return f;
    }
    return NULL;
}

/* Adds filter field key of type as name, a decimal string that must parse (positive when
 * positive is set). A missing optional filter writes "0" (Binance: zero disables a rule). */
static int sym_add_dec(struct sym_rec *s, const json_t *sym, const char *type, const char *key,
                       const char *name, int required, int positive, char *err, size_t cap)
{
    const json_t *f = sym_filter(sym, type);
    struct dec d;
    const char *v = NULL;
    if (!f) {
        if (required) {
            snprintf(err, cap, "filter %s missing", type);
            return -1;
        }
        return sym_add(s, name, "0");
    }
    if (jv_get_dec(f, key, &d, err, cap) < 0 || jv_get_str(f, key, &v, NULL, 0) < 0) return -1;
    if (dec_sign(d) < 0 || (positive && dec_sign(d) <= 0)) {
        snprintf(err, cap, "%s.%s must be %s", type, key, positive ? "positive" : ">= 0");
        return -1;
    }
    if (sym_add(s, name, v) < 0) {
        snprintf(err, cap, "%s.%s too long", type, key);
        return -1;
    }
    return 0;
}

static int sym_add_filters(struct sym_rec *s, const json_t *sym, char *err, size_t cap)
{
    static const struct {
        const char *type, *key, *name;
        int required, positive;
    } spec[] = {
        {"PRICE_FILTER", "tickSize", "tickSize", 1, 1},
        {"PRICE_FILTER", "minPrice", "minPrice", 1, 0},
        {"PRICE_FILTER", "maxPrice", "maxPrice", 1, 0},
        {"LOT_SIZE", "stepSize", "stepSize", 1, 1},
        {"LOT_SIZE", "minQty", "minQty", 1, 0},
        {"LOT_SIZE", "maxQty", "maxQty", 1, 0},
        {"MARKET_LOT_SIZE", "stepSize", "marketStepSize", 1, 1},
        {"MARKET_LOT_SIZE", "minQty", "marketMinQty", 1, 0},
        {"MARKET_LOT_SIZE", "maxQty", "marketMaxQty", 1, 0},
        {"MIN_NOTIONAL", "notional", "minNotional", 1, 0},
        {"PERCENT_PRICE", "multiplierUp", "multiplierUp", 0, 0},
        {"PERCENT_PRICE", "multiplierDown", "multiplierDown", 0, 0},
    };
    for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++)
        if (sym_add_dec(s, sym, spec[i].type, spec[i].key, spec[i].name, spec[i].required,
                        spec[i].positive, err, cap) < 0)
            return -1;
    const json_t *mno = sym_filter(sym, "MAX_NUM_ORDERS");
    int64_t limit = 0;
    if (mno && jv_get_int64(mno, "limit", &limit, err, cap) < 0) return -1;
    return sym_add_int(s, "maxNumOrders", limit);
}

static int sym_is_tradable(struct symbols *sy, const struct sym_rec *s, const json_t *sym)
{
    const char *ct = "", *st = "", *qa = "", *ut = "";
    (void)jv_opt_str(sym, "contractType", &ct, NULL, 0);
    (void)jv_opt_str(sym, "status", &st, NULL, 0);
    (void)jv_opt_str(sym, "quoteAsset", &qa, NULL, 0);
    (void)jv_opt_str(sym, "underlyingType", &ut, NULL, 0);
    int rule = !strcmp(ct, "PERPETUAL") && !strcmp(st, "TRADING") && !strcmp(qa, sy->quote) &&
               strcmp(ut, "INDEX") != 0;
    if (sym_in_list(sy->exclude, s->name)) return 0;
    return rule || sym_in_list(sy->include, s->name);
}

/* Checks one exchangeInfo symbol into s. Returns 0, or -1 with a reason. */
static int sym_parse(struct symbols *sy, const json_t *sym, struct sym_rec *s, char *err,
                     size_t cap)
{
    static const char *const strs[] = {"status", "baseAsset", "quoteAsset", "marginAsset",
                                       "contractType", NULL};
    const char *name = NULL, *ut = "";
    int64_t pp = 0, qp = 0;
    memset(s, 0, sizeof(*s));
    if (jv_get_str(sym, "symbol", &name, err, cap) < 0) return -1;
    if (!name[0] || strlen(name) >= sizeof(s->name) || strcspn(name, " \t\r\n:*?[]\\\"") != strlen(name)) {
        snprintf(err, cap, "symbol name unusable");
        return -1;
    }
    memcpy(s->name, name, strlen(name) + 1);
    if (sym_add_strs(s, sym, strs, err, cap) < 0) return -1;
    if (jv_opt_str(sym, "underlyingType", &ut, err, cap) < 0 || sym_add(s, "underlyingType", ut) < 0)
        return -1;
    if (jv_get_int64(sym, "pricePrecision", &pp, err, cap) < 0 ||
        jv_get_int64(sym, "quantityPrecision", &qp, err, cap) < 0)
        return -1;
    sym_add_int(s, "pricePrecision", pp);
    sym_add_int(s, "quantityPrecision", qp);
    if (sym_add_filters(s, sym, err, cap) < 0) return -1;
    s->tradable = sym_is_tradable(sy, s, sym);
    sym_add_int(s, "tradable", s->tradable);
    return sym_add_int(s, "updated", timebase_wall_ms());
}

/* ---- one round ------------------------------------------------------------------------------ */

static void symbols_schedule(struct symbols *sy, int64_t ms);

static void symbols_round_done(struct symbols *sy)
{
    free(sy->recs);
    sy->recs = NULL;
    sy->nrecs = 0;
    if (sy->round_errors) log_warn("round incomplete", "redis_errors=%d", sy->round_errors);
    if (sy->once) {
        sy->exit_code = sy->round_errors ? 1 : 0;
        role_stop(&sy->r);
        return;
    }
    symbols_schedule(sy, sy->round_errors ? SYM_BACKOFF_MAX_MS : sy->every_ms);
}

static void symbols_reply_done(struct symbols *sy)
{
    if (--sy->pending == 0) symbols_round_done(sy);
}

static void symbols_on_write(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    struct symbols *sy = privdata;
    (void)rc;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        if (sy->round_errors++ == 0)
            log_error("redis write failed", "err=\"%s\"", reply ? reply->str : "connection lost");
    }
    symbols_reply_done(sy);
}

static void symbols_send(struct symbols *sy, int argc, const char **argv, const size_t *lens,
                         rconn_reply_fn *fn)
{
    if (rconn_command_argv(sy->r.rc, fn, sy, argc, argv, lens) < 0) {
        sy->round_errors++;
        return;
    }
    sy->pending++;
}

static void symbols_write_rec(struct symbols *sy, const struct sym_rec *s)
{
    const char *argv[2 + 2 * SYM_FIELDS_MAX];
    char key[256];
    int argc = 0;
    if (role_key(&sy->r, key, sizeof(key), "symbol:%s", s->name) < 0) return;
    argv[argc++] = "HSET";
    argv[argc++] = key;
    for (int i = 0; i < s->nf; i++) {
        argv[argc++] = s->f[i].name;
        argv[argc++] = s->f[i].value;
    }
    symbols_send(sy, argc, argv, NULL, symbols_on_write);
}

static void symbols_on_universe(int64_t version, int changed, const char *err, void *privdata)
{
    struct symbols *sy = privdata;
    if (err) {
        if (sy->round_errors++ == 0) log_error("bfq_universe failed", "err=\"%s\"", err);
    } else if (changed) {
        log_info("universe changed", "version=%lld", (long long)version);
    }
    symbols_reply_done(sy);
}

static void symbols_write_universe(struct symbols *sy)
{
    char list[256], ver[256], chan[256];
    const char **syms = malloc(sizeof(*syms) * (size_t)(sy->nrecs + 1));
    int n = 0;
    if (!syms) {
        sy->round_errors++;
        return;
    }
    for (int i = 0; i < sy->nrecs; i++)
        if (sy->recs[i].tradable) syms[n++] = sy->recs[i].name;
    role_key(&sy->r, list, sizeof(list), "universe");
    role_key(&sy->r, ver, sizeof(ver), "universe:version");
    role_key(&sy->r, chan, sizeof(chan), "ch:universe");
    if (recon_universe(sy->r.rc, list, ver, chan, syms, n, symbols_on_universe, sy) == 0)
        sy->pending++;
    else
        sy->round_errors++;
    log_info("universe", "tradable=%d symbols=%d", n, sy->nrecs);
    free(syms);
}

static int symbols_has(const struct symbols *sy, const char *name)
{
    for (int i = 0; i < sy->nrecs; i++)
        if (!strcmp(sy->recs[i].name, name)) return 1;
    return 0;
}

/* The old universe: symbols that vanished from exchangeInfo get status ABSENT. */
static void symbols_on_old_universe(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    struct symbols *sy = privdata;
    (void)rc;
    if (reply && reply->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < reply->elements; i++) {
            const redisReply *e = reply->element[i];
            char key[256], now[32];
            if (e->type != REDIS_REPLY_STRING || symbols_has(sy, e->str)) continue;
            if (role_key(&sy->r, key, sizeof(key), "symbol:%s", e->str) < 0) continue;
            snprintf(now, sizeof(now), "%lld", (long long)timebase_wall_ms());
            const char *argv[] = {"HSET", key, "status", "ABSENT", "tradable", "0", "updated", now};
            symbols_send(sy, 8, argv, NULL, symbols_on_write);
            log_warn("symbol vanished from exchangeInfo", "symbol=%s", e->str);
        }
    } else if (sy->round_errors++ == 0) {
        log_error("redis read failed", "err=\"%s\"", reply ? reply->str : "connection lost");
    }
    symbols_write_universe(sy);
    symbols_reply_done(sy);
}

/* Rate limits: REQUEST_WEIGHT per minute, ORDERS per 10 s and per minute. */
static void symbols_write_exchange(struct symbols *sy, const json_t *info)
{
    const json_t *limits = json_object_get(info, "rateLimits"), *l;
    struct sym_rec ex;
    size_t i;
    char key[256];
    memset(&ex, 0, sizeof(ex));
    json_array_foreach(limits, i, l) {
        const char *type = "", *iv = "";
        int64_t num = 0, limit = 0;
        if (jv_get_str(l, "rateLimitType", &type, NULL, 0) < 0 ||
            jv_get_str(l, "interval", &iv, NULL, 0) < 0 ||
            jv_get_int64(l, "intervalNum", &num, NULL, 0) < 0 ||
            jv_get_int64(l, "limit", &limit, NULL, 0) < 0 || limit <= 0)
            continue;
        if (!strcmp(type, "REQUEST_WEIGHT") && !strcmp(iv, "MINUTE") && num == 1)
            sym_add_int(&ex, "requestWeight1m", limit);
        else if (!strcmp(type, "ORDERS") && !strcmp(iv, "SECOND") && num == 10)
            sym_add_int(&ex, "orders10s", limit);
        else if (!strcmp(type, "ORDERS") && !strcmp(iv, "MINUTE") && num == 1)
            sym_add_int(&ex, "orders1m", limit);
    }
    sym_add_int(&ex, "symbols", sy->nrecs);
    sym_add_int(&ex, "updated", timebase_wall_ms());
    const char *argv[2 + 2 * SYM_FIELDS_MAX];
    int argc = 0;
    role_key(&sy->r, key, sizeof(key), "exchange");
    argv[argc++] = "HSET";
    argv[argc++] = key;
    for (int k = 0; k < ex.nf; k++) {
        argv[argc++] = ex.f[k].name;
        argv[argc++] = ex.f[k].value;
    }
    symbols_send(sy, argc, argv, NULL, symbols_on_write);
}

/* Checks every symbol; returns the number kept, or -1 when the answer is unusable. */
static int symbols_parse(struct symbols *sy, const json_t *info, char *err, size_t cap)
{
    const json_t *list = json_object_get(info, "symbols"), *sym;
    size_t i;
    if (!json_is_array(list) || json_array_size(list) == 0 ||
        json_array_size(list) > SYM_COUNT_MAX) {
        snprintf(err, cap, "exchangeInfo: 'symbols' missing, empty or over %d", SYM_COUNT_MAX);
        return -1;
    }
    sy->recs = calloc(json_array_size(list), sizeof(*sy->recs));
    if (!sy->recs) {
        snprintf(err, cap, "out of memory");
        return -1;
    }
    sy->nrecs = 0;
    json_array_foreach(list, i, sym) {
        char why[160] = "";
        struct sym_rec *s = &sy->recs[sy->nrecs];
        if (sym_parse(sy, sym, s, why, sizeof(why)) < 0) {
            const char *name = "?";
            (void)jv_opt_str(sym, "symbol", &name, NULL, 0);
            log_warn("symbol skipped", "symbol=%s reason=\"%s\"", name, why);
            continue;
        }
        if (!symbols_has(sy, s->name)) sy->nrecs++;
    }
    return sy->nrecs;
}

static void symbols_write(struct symbols *sy, const json_t *info)
{
    char key[256];
    sy->pending = 1; /* held until every command of the round is sent */
    sy->round_errors = 0;
    for (int i = 0; i < sy->nrecs; i++) symbols_write_rec(sy, &sy->recs[i]);
    symbols_write_exchange(sy, info);
    role_key(&sy->r, key, sizeof(key), "universe");
    const char *argv[] = {"LRANGE", key, "0", "-1"};
    symbols_send(sy, 4, argv, NULL, symbols_on_old_universe);
    symbols_reply_done(sy);
}

static void symbols_on_info(const struct binance_result *res, void *privdata)
{
    struct symbols *sy = privdata;
    char err[200];
    sy->in_flight = 0;
    if (role_stopping(&sy->r)) return;
    if (role_count_result(&sy->r, res, "exchangeInfo") < 0) goto retry;
    if (symbols_parse(sy, res->json, err, sizeof(err)) <= 0) {
        if (sy->nrecs == 0 && !err[0]) snprintf(err, sizeof(err), "no usable symbol");
        role_count_invalid(&sy->r, "exchangeInfo", err);
        free(sy->recs);
        sy->recs = NULL;
        goto retry;
    }
    sy->backoff_ms = 0;
    if (!role_redis_up(&sy->r)) {
        free(sy->recs);
        sy->recs = NULL;
        goto retry;
    }
    symbols_write(sy, res->json);
    return;
retry:
    sy->backoff_ms = sy->backoff_ms ? sy->backoff_ms * 2 : SYM_BACKOFF_MIN_MS;
    if (sy->backoff_ms > SYM_BACKOFF_MAX_MS) sy->backoff_ms = SYM_BACKOFF_MAX_MS;
    symbols_schedule(sy, sy->backoff_ms);
}

static void symbols_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct symbols *sy = w->data;
    (void)loop;
    (void)revents;
    if (role_stopping(&sy->r) || sy->in_flight || sy->pending) return;
    if (!role_redis_up(&sy->r)) {
        symbols_schedule(sy, 1000);
        return;
    }
    if (binance_request(sy->r.bc, "GET", "/fapi/v1/exchangeInfo", NULL, NULL, BINANCE_PUBLIC, 1,
                        symbols_on_info, sy) < 0) {
        symbols_schedule(sy, SYM_BACKOFF_MAX_MS);
        return;
    }
    sy->in_flight = 1;
    role_count_weight(&sy->r, 1);
}

static void symbols_schedule(struct symbols *sy, int64_t ms)
{
    if (role_stopping(&sy->r)) return;
    ev_timer_stop(sy->r.loop, &sy->timer);
    ev_timer_set(&sy->timer, (double)ms / 1000.0, 0.0);
    ev_timer_start(sy->r.loop, &sy->timer);
}

static void symbols_on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct symbols *sy = w->data;
    (void)loop;
    (void)revents;
    fprintf(stderr, "bfq symbols: no complete round within %lld ms (last error: %s)\n",
            (long long)sy->retry_for_ms,
            sy->r.ctr.last_errstr[0] ? sy->r.ctr.last_errstr : "redis not reachable");
    sy->exit_code = 1;
    role_stop(&sy->r);
}

static void symbols_on_up(struct role *r, void *privdata)
{
    struct symbols *sy = privdata;
    (void)r;
    if (sy->started) return;
    sy->started = 1;
    symbols_schedule(sy, 0);
}

static void symbols_fill(struct role *r, json_t *obj, void *privdata)
{
    struct symbols *sy = privdata;
    (void)r;
    json_object_set_new(obj, "once", json_boolean(sy->once));
}

/* ---- entry point ---------------------------------------------------------------------------- */

static int symbols_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct symbols *sy = state;
    (void)err;
    (void)cap; /* the config's own error says it all */
    if (config_bool(cfg, "symbols", "once", 0, &sy->once) < 0 ||
        config_duration_ms(cfg, "symbols", "every", 300000, 1000, 86400000, &sy->every_ms) < 0 ||
        config_duration_ms(cfg, "symbols", "retry_for", 60000, 100, 86400000,
                           &sy->retry_for_ms) < 0 ||
        config_str(cfg, "symbols", "quote", "USDT", &sy->quote) < 0 ||
        config_str(cfg, "symbols", "include", "", &sy->include) < 0 ||
        config_str(cfg, "symbols", "exclude", "", &sy->exclude) < 0)
        return -1;
    return 0;
}

static int symbols_start(struct role *r, void *state, char *err, size_t cap)
{
    struct symbols *sy = state;
    (void)err;
    (void)cap;
    ev_timer_init(&sy->timer, symbols_on_timer, 0.0, 0.0);
    sy->timer.data = sy;
    ev_timer_init(&sy->deadline, symbols_on_deadline, (double)sy->retry_for_ms / 1000.0, 0.0);
    sy->deadline.data = sy;
    if (sy->once) ev_timer_start(r->loop, &sy->deadline);
    return 0;
}

static void symbols_stop(struct role *r, void *state)
{
    struct symbols *sy = state;
    ev_timer_stop(r->loop, &sy->timer);
    ev_timer_stop(r->loop, &sy->deadline);
}

static const struct role_entry symbols_entry = {
    .cmd = &symbols_cli,
    .opts = {.lua_library = bfq_lua_library, .up = symbols_on_up, .fill = symbols_fill},
    .config = symbols_config,
    .start = symbols_start,
    .stop = symbols_stop,
};

int symbols_main(int argc, char **argv)
{
    static struct symbols sy; /* one per process; static keeps it off the stack */
    memset(&sy, 0, sizeof sy);
    int rc = role_main(&symbols_entry, &sy.r, &sy, argc, argv);
    free(sy.recs);
    return rc == 0 ? sy.exit_code : rc;
}
