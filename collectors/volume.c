/* volume: `bfq volume`, 24h tickers and funding rates -> the hot set.
 *
 * Every [volume] every (10 s) one round: GET /fapi/v1/ticker/24hr (all symbols, weight 40) and
 * GET /fapi/v1/premiumIndex (all, weight 10) in parallel with LRANGE <prefix>universe, then the
 * kline record of every universe symbol (<prefix>kline:<[volume] kline_interval>:<SYM>). The hot
 * set is, among universe symbols only:
 *   - the top [volume] top (20) by 24h quoteVolume, in that order, then
 *   - any symbol whose last bar moved more than [volume] move_pct percent (|close-open|/open),
 *   - or whose last bar's volume is above [volume] spike_x times the average of the window's
 *     earlier bars,
 * the last two rules only from kline records younger than [volume] kline_max_age (180 s).
 * It is written through bfq_put into <prefix>hot (t = the largest closeTime of the 24h tickers,
 * an exchange time; symbols JSON array; funding JSON object SYM -> lastFundingRate when
 * premiumIndex answered; src) and published on <prefix>ch:hot; two instances may run, the
 * fresher record wins. The instance whose record won also rewrites <prefix>hot:list (through
 * bfq_universe, so a symbol that stays hot keeps its index) for `bfq kline --hot`.
 *
 * Every 24h entry is checked (symbol, quoteVolume, closeTime not ahead of the exchange clock);
 * a bad entry is left out alone and counted (heartbeat `dropped`), so one odd entry, even of a
 * symbol outside the universe, never freezes the hot set. An answer that is not a non-empty
 * array, or has no good entry, writes nothing that round. A bad premiumIndex answer only drops
 * the funding field; a bad entry of it only that symbol's rate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "collectors/bars.h"
#include "collectors/collectors.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/role.h"
#include "reconciler/recon.h"

#define VOL_SYM_MAX 64
#define VOL_UNIVERSE_MAX 5000
#define VOL_KEY_MAX 256

struct vol_sym {
    char name[VOL_SYM_MAX];
    int has_qv;
    struct dec qv;
    int move, spike;
};

struct volume {
    struct role r;
    int64_t every_ms, top, kline_max_age_ms;
    struct dec move_pct, spike_x;
    const char *kline_interval;
    ev_timer timer;
    /* the round in progress */
    int pending, busy;
    int tickers_ok;
    json_t *tickers, *premium; /* owned */
    struct vol_sym *syms;      /* universe, owned */
    int nsyms;
    int64_t t;
    /* counters */
    int64_t rounds, written, kept, redis_errors, last_count;
    int64_t dropped; /* malformed 24h ticker and premiumIndex entries left out */
};

static const struct cli_option volume_options[] = {
    {"every", "DURATION", NULL, NULL, "time between rounds (default 10s)", 0},
    {"top", "K", NULL, NULL, "top K symbols by 24h quote volume (default 20)", 0},
    {"move-pct", "PCT", NULL, NULL, "last-bar move that makes a symbol hot (default 1.0)", 0},
    {"spike-x", "X", NULL, NULL, "last-bar volume over X times the average (default 5)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* [volume] keys no option sets (core/role reports any other key of the section). */
static const char *const volume_keys[] = {"kline_interval", "kline_max_age", NULL};

const struct cli_command volume_cli = {
    .name = "volume",
    .summary = "24h tickers and funding rates -> the hot set (run two; the fresher wins)",
    .usage = "Writes bfq:hot and bfq:hot:list and publishes on bfq:ch:hot.\n",
    .options = volume_options,
    .role_options = 1,
    .keys = volume_keys,
};

static void volume_schedule(struct volume *v, int64_t ms)
{
    if (role_stopping(&v->r)) return;
    ev_timer_stop(v->r.loop, &v->timer);
    ev_timer_set(&v->timer, (double)ms / 1000.0, 0.0);
    ev_timer_start(v->r.loop, &v->timer);
}

static void volume_round_end(struct volume *v)
{
    json_decref(v->tickers);
    json_decref(v->premium);
    v->tickers = v->premium = NULL;
    free(v->syms);
    v->syms = NULL;
    v->nsyms = 0;
    v->busy = 0;
    v->rounds++;
}

static struct vol_sym *volume_find(struct volume *v, const char *name)
{
    for (int i = 0; i < v->nsyms; i++)
        if (!strcmp(v->syms[i].name, name)) return &v->syms[i];
    return NULL;
}

/* ---- rules ------------------------------------------------------------------------------- */

/* One 24h ticker entry: its symbol, quoteVolume and closeTime (not ahead of the exchange
 * clock). Returns 0 or -1 with a reason. */
static int volume_ticker_entry(struct volume *v, const json_t *e, const char **sym,
                               struct dec *qv, int64_t *ct, char *err, size_t cap)
{
    if (jv_get_str(e, "symbol", sym, err, cap) < 0 ||
        jv_get_dec(e, "quoteVolume", qv, err, cap) < 0 ||
        jv_get_int64(e, "closeTime", ct, err, cap) < 0)
        return -1;
    if (!binance_time_plausible(v->r.bc, *ct)) {
        snprintf(err, cap, "%s closeTime %lld is ahead of the exchange clock", *sym,
                 (long long)*ct);
        return -1;
    }
    return 0;
}

/* Records each universe symbol's quoteVolume and the largest closeTime of the 24h answer. A
 * bad entry is left out alone and counted in v->dropped. Returns 0; 1 when entries were left
 * out (how many, and why the first was, in err); -1 with the reason when the answer is not a
 * non-empty array or no entry is good (nothing to write). */
static int volume_take_tickers(struct volume *v, const json_t *arr, char *err, size_t cap)
{
    size_t i, dropped = 0;
    const json_t *e;
    char why[JV_ERR_MAX + 128] = "";
    v->t = 0;
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        snprintf(err, cap, "ticker/24hr: not a non-empty array");
        return -1;
    }
    json_array_foreach(arr, i, e) {
        const char *sym = NULL;
        struct dec qv;
        int64_t ct = 0;
        char one[JV_ERR_MAX + 64] = "";
        if (volume_ticker_entry(v, e, &sym, &qv, &ct, one, sizeof one) < 0) {
            if (dropped++ == 0) snprintf(why, sizeof why, "entry %zu: %s", i, one);
            continue;
        }
        if (ct > v->t) v->t = ct;
        struct vol_sym *s = volume_find(v, sym);
        if (s) {
            s->has_qv = 1;
            s->qv = qv;
        }
    }
    v->dropped += (int64_t)dropped;
    if (v->t <= 0) {
        snprintf(err, cap, "ticker/24hr: no good entry (%s)", why[0] ? why : "no closeTime");
        return -1;
    }
    if (dropped > 0) {
        snprintf(err, cap, "ticker/24hr: %zu entries left out, first %s", dropped, why);
        return 1;
    }
    return 0;
}

/* a * b, or a sentinel failure. */
static int volume_mul(struct dec a, struct dec b, struct dec *out)
{
    return dec_mul(a, b, out) == DEC_OK ? 0 : -1;
}

static int volume_bar_dec(const json_t *bar, size_t i, struct dec *out)
{
    const json_t *s = json_array_get(bar, i);
    if (!json_is_string(s)) return -1;
    return dec_parse(json_string_value(s), json_string_length(s), out) == DEC_OK ? 0 : -1;
}

/* |close - open| * 100 > move_pct * open */
static int volume_moved(struct volume *v, const json_t *last)
{
    struct dec o, c, d, lhs, rhs;
    if (volume_bar_dec(last, 1, &o) < 0 || volume_bar_dec(last, 4, &c) < 0 || dec_sign(o) <= 0)
        return 0;
    if (dec_sub(c, o, &d) != DEC_OK) return 0;
    if (volume_mul(dec_abs(d), dec_from_int(100), &lhs) < 0 ||
        volume_mul(v->move_pct, o, &rhs) < 0)
        return 0;
    return dec_cmp(lhs, rhs) > 0;
}

/* last volume * n > spike_x * sum of the n earlier volumes */
static int volume_spiked(struct volume *v, const json_t *bars)
{
    size_t n = json_array_size(bars);
    struct dec sum = dec_from_int(0), last, x, lhs, rhs;
    if (n < 2 || volume_bar_dec(json_array_get(bars, n - 1), 5, &last) < 0) return 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (volume_bar_dec(json_array_get(bars, i), 5, &x) < 0 || dec_add(sum, x, &sum) != DEC_OK)
            return 0;
    }
    if (dec_sign(sum) <= 0) return dec_sign(last) > 0 && dec_sign(v->spike_x) <= 0;
    if (volume_mul(last, dec_from_int((int64_t)(n - 1)), &lhs) < 0 ||
        volume_mul(v->spike_x, sum, &rhs) < 0)
        return 0;
    return dec_cmp(lhs, rhs) > 0;
}

/* Applies the move and spike rules to one kline record reply (HMGET t bars). */
static void volume_take_kline(struct volume *v, struct vol_sym *s, const redisReply *reply)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return;
    const redisReply *t = reply->element[0], *b = reply->element[1];
    if (t->type != REDIS_REPLY_STRING || b->type != REDIS_REPLY_STRING) return;
    char *end = NULL;
    long long tv = strtoll(t->str, &end, 10);
    if (end == t->str || *end || timebase_wall_ms() - tv > v->kline_max_age_ms) return;
    json_t *bars = jv_parse(b->str, b->len, NULL, 0);
    if (json_is_array(bars) && json_array_size(bars) > 0) {
        s->move = volume_moved(v, json_array_get(bars, json_array_size(bars) - 1));
        s->spike = volume_spiked(v, bars);
    }
    json_decref(bars);
}

static int volume_cmp_qv(const void *a, const void *b)
{
    const struct vol_sym *x = *(const struct vol_sym *const *)a;
    const struct vol_sym *y = *(const struct vol_sym *const *)b;
    if (x->has_qv != y->has_qv) return y->has_qv - x->has_qv;
    int c = x->has_qv ? dec_cmp(y->qv, x->qv) : 0;
    return c ? c : strcmp(x->name, y->name);
}

/* The hot symbols, in order (top K by volume, then movers and spikes in universe order), as a
 * new JSON array. */
static json_t *volume_hot(struct volume *v)
{
    json_t *out = json_array();
    struct vol_sym **by = malloc(sizeof(*by) * (size_t)(v->nsyms ? v->nsyms : 1));
    char *taken = calloc((size_t)(v->nsyms ? v->nsyms : 1), 1);
    if (!out || !by || !taken) {
        free(by);
        free(taken);
        json_decref(out);
        return NULL;
    }
    for (int i = 0; i < v->nsyms; i++) by[i] = &v->syms[i];
    qsort(by, (size_t)v->nsyms, sizeof(*by), volume_cmp_qv);
    for (int i = 0; i < v->nsyms && i < v->top && by[i]->has_qv; i++) {
        json_array_append_new(out, json_string(by[i]->name));
        taken[by[i] - v->syms] = 1;
    }
    for (int i = 0; i < v->nsyms; i++)
        if (!taken[i] && (v->syms[i].move || v->syms[i].spike))
            json_array_append_new(out, json_string(v->syms[i].name));
    free(by);
    free(taken);
    return out;
}

/* SYM -> lastFundingRate for universe symbols; NULL when premiumIndex failed or is bad. */
static json_t *volume_funding(struct volume *v)
{
    size_t i;
    const json_t *e;
    size_t dropped = 0;
    if (!json_is_array(v->premium)) return NULL;
    json_t *out = json_object();
    json_array_foreach(v->premium, i, e) {
        const char *sym = NULL, *rate = NULL;
        struct dec d;
        if (jv_get_str(e, "symbol", &sym, NULL, 0) < 0 ||
            jv_get_dec(e, "lastFundingRate", &d, NULL, 0) < 0 ||
            jv_get_str(e, "lastFundingRate", &rate, NULL, 0) < 0) {
            dropped++; /* this entry alone is left out */
            continue;
        }
        if (volume_find(v, sym)) json_object_set_new(out, sym, json_string(rate));
    }
    if (dropped > 0) {
        v->dropped += (int64_t)dropped;
        role_count_invalid(&v->r, "premiumIndex", "entries without symbol or lastFundingRate");
    }
    return out;
}

/* ---- writing ------------------------------------------------------------------------------- */

static void volume_on_list(int64_t version, int changed, const char *err, void *privdata)
{
    struct volume *v = privdata;
    (void)version;
    (void)changed;
    if (err && v->redis_errors++ % 20 == 0) log_error("writing hot:list failed", "err=\"%s\"", err);
}

struct volume_put {
    struct volume *v;
    json_t *hot; /* owned */
};

static void volume_on_put(int64_t value, const char *err, void *privdata)
{
    struct volume_put *p = privdata;
    struct volume *v = p->v;
    if (err) {
        if (v->redis_errors++ % 20 == 0) log_error("bfq_put hot failed", "err=\"%s\"", err);
    } else if (value == 1) {
        v->written++;
        size_t n = json_array_size(p->hot);
        const char **syms = malloc(sizeof(*syms) * (n ? n : 1));
        char list[VOL_KEY_MAX], ver[VOL_KEY_MAX];
        if (syms && !role_stopping(&v->r)) {
            for (size_t i = 0; i < n; i++) syms[i] = json_string_value(json_array_get(p->hot, i));
            role_key(&v->r, list, sizeof(list), "hot:list");
            role_key(&v->r, ver, sizeof(ver), "hot:version");
            if (recon_universe(v->r.rc, list, ver, NULL, syms, (int)n, volume_on_list, v) < 0)
                v->redis_errors++;
        }
        free(syms);
    } else {
        v->kept++;
    }
    json_decref(p->hot);
    free(p);
}

static void volume_write(struct volume *v)
{
    char key[VOL_KEY_MAX], chan[VOL_KEY_MAX];
    json_t *hot = volume_hot(v), *funding = volume_funding(v);
    json_t *msg = json_object();
    json_object_set_new(msg, "t", json_integer(v->t));
    json_object_set_new(msg, "symbols", hot ? json_incref(hot) : json_array());
    json_object_set_new(msg, "src", json_string(v->r.instance));
    char *hot_s = hot ? jv_dump(hot) : NULL, *msg_s = jv_dump(msg);
    char *fund_s = funding ? jv_dump(funding) : NULL;
    struct volume_put *p = malloc(sizeof(*p));
    role_key(&v->r, key, sizeof(key), "hot");
    role_key(&v->r, chan, sizeof(chan), "ch:hot");
    if (hot_s && msg_s && p) {
        const char *fields[] = {"symbols", "src", "funding"};
        const char *values[] = {hot_s, v->r.instance, fund_s};
        p->v = v;
        p->hot = json_incref(hot);
        v->last_count = (int64_t)json_array_size(hot);
        if (recon_put(v->r.rc, key, chan, msg_s, v->t, 0, fund_s ? 3 : 2, fields, values,
                      volume_on_put, p) < 0) {
            v->redis_errors++;
            json_decref(p->hot);
            free(p);
        }
    } else {
        free(p);
    }
    free(hot_s);
    free(msg_s);
    free(fund_s);
    json_decref(msg);
    json_decref(hot);
    json_decref(funding);
}

/* ---- the round ------------------------------------------------------------------------------ */

static void volume_step_done(struct volume *v)
{
    if (--v->pending > 0) return;
    if (v->tickers_ok && !role_stopping(&v->r)) {
        char err[2 * JV_ERR_MAX + 160] = "";
        int rc = volume_take_tickers(v, v->tickers, err, sizeof(err));
        if (rc != 0) role_count_invalid(&v->r, "ticker/24hr", err); /* refused, or entries */
        if (rc >= 0) volume_write(v);
    }
    volume_round_end(v);
}

struct volume_kreq {
    struct volume *v;
    int idx;
};

static void volume_on_kline(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    struct volume_kreq *q = privdata;
    struct volume *v = q->v;
    (void)rc;
    if (v->syms && q->idx < v->nsyms) volume_take_kline(v, &v->syms[q->idx], reply);
    free(q);
    volume_step_done(v);
}

static void volume_ask_klines(struct volume *v)
{
    char key[VOL_KEY_MAX];
    for (int i = 0; i < v->nsyms; i++) {
        struct volume_kreq *q = malloc(sizeof(*q));
        if (!q) break;
        q->v = v;
        q->idx = i;
        if (role_key(&v->r, key, sizeof(key), "kline:%s:%s", v->kline_interval, v->syms[i].name) < 0 ||
            rconn_command(v->r.rc, volume_on_kline, q, "HMGET %s t bars", key) < 0) {
            free(q);
            continue;
        }
        v->pending++;
    }
}

static void volume_on_universe(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    struct volume *v = privdata;
    (void)rc;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements <= VOL_UNIVERSE_MAX) {
        v->syms = calloc(reply->elements ? reply->elements : 1, sizeof(*v->syms));
        for (size_t i = 0; v->syms && i < reply->elements; i++) {
            const redisReply *e = reply->element[i];
            if (e->type != REDIS_REPLY_STRING || e->len >= VOL_SYM_MAX) continue;
            memcpy(v->syms[v->nsyms].name, e->str, e->len + 1);
            v->nsyms++;
        }
        if (!role_stopping(&v->r)) volume_ask_klines(v);
    } else {
        v->tickers_ok = 0; /* no universe: nothing to rank */
        if (v->redis_errors++ % 20 == 0)
            log_error("reading the universe failed", "err=\"%s\"",
                      !reply ? "lost" : reply->type == REDIS_REPLY_ERROR ? reply->str : "too long");
    }
    volume_step_done(v);
}

static void volume_on_tickers(const struct binance_result *res, void *privdata)
{
    struct volume *v = privdata;
    if (role_count_result(&v->r, res, "ticker/24hr") == 0) v->tickers = json_incref(res->json);
    else v->tickers_ok = 0;
    volume_step_done(v);
}

static void volume_on_premium(const struct binance_result *res, void *privdata)
{
    struct volume *v = privdata;
    if (role_count_result(&v->r, res, "premiumIndex") == 0) v->premium = json_incref(res->json);
    volume_step_done(v);
}

static void volume_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct volume *v = w->data;
    char key[VOL_KEY_MAX];
    (void)loop;
    (void)revents;
    if (role_stopping(&v->r)) return;
    volume_schedule(v, v->every_ms);
    if (v->busy || !role_redis_up(&v->r)) return;
    v->busy = 1;
    v->tickers_ok = 1;
    v->pending = 1; /* held while the round's requests are sent */
    role_key(&v->r, key, sizeof(key), "universe");
    if (rconn_command(v->r.rc, volume_on_universe, v, "LRANGE %s 0 -1", key) == 0) v->pending++;
    else v->tickers_ok = 0;
    if (binance_request(v->r.bc, "GET", "/fapi/v1/ticker/24hr", NULL, NULL, BINANCE_PUBLIC, 40,
                        volume_on_tickers, v) == 0) {
        v->pending++;
        role_count_weight(&v->r, 40);
    } else {
        v->tickers_ok = 0;
    }
    if (binance_request(v->r.bc, "GET", "/fapi/v1/premiumIndex", NULL, NULL, BINANCE_PUBLIC, 10,
                        volume_on_premium, v) == 0) {
        v->pending++;
        role_count_weight(&v->r, 10);
    }
    volume_step_done(v);
}

static void volume_on_up(struct role *r, void *privdata)
{
    struct volume *v = privdata;
    (void)r;
    if (!ev_is_active(&v->timer)) volume_schedule(v, 0);
}

static void volume_fill(struct role *r, json_t *obj, void *privdata)
{
    struct volume *v = privdata;
    (void)r;
    json_object_set_new(obj, "rounds", json_integer(v->rounds));
    json_object_set_new(obj, "written", json_integer(v->written));
    json_object_set_new(obj, "kept", json_integer(v->kept));
    json_object_set_new(obj, "hot_count", json_integer(v->last_count));
    json_object_set_new(obj, "dropped", json_integer(v->dropped));
    json_object_set_new(obj, "redis_errors", json_integer(v->redis_errors));
}

/* ---- entry point ---------------------------------------------------------------------------- */

static int volume_dec_opt(struct config *cfg, const char *key, const char *def, struct dec *out,
                          char *err, size_t cap)
{
    const char *s = NULL;
    if (config_str(cfg, "volume", key, def, &s) < 0) return -1;
    if (dec_parse(s, (size_t)-1, out) != DEC_OK || dec_sign(*out) < 0) {
        snprintf(err, cap, "[volume] %s: '%s' is not a non-negative decimal", key, s);
        return -1;
    }
    return 0;
}

static int volume_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct volume *v = state;
    int64_t iv = 0;
    if (config_duration_ms(cfg, "volume", "every", 10000, 500, 3600000, &v->every_ms) < 0 ||
        config_int(cfg, "volume", "top", 20, 0, VOL_UNIVERSE_MAX, &v->top) < 0 ||
        config_str(cfg, "volume", "kline_interval", "1m", &v->kline_interval) < 0 ||
        config_duration_ms(cfg, "volume", "kline_max_age", 180000, 1000, 86400000,
                           &v->kline_max_age_ms) < 0)
        return -1;
    if (interval_ms(v->kline_interval, &iv) < 0) {
        snprintf(err, cap, "[volume] kline_interval: '%s' is not a Binance interval",
                 v->kline_interval);
        return -1;
    }
    return volume_dec_opt(cfg, "move_pct", "1.0", &v->move_pct, err, cap) < 0 ||
                   volume_dec_opt(cfg, "spike_x", "5", &v->spike_x, err, cap) < 0
               ? -1
               : 0;
}

static int volume_start(struct role *r, void *state, char *err, size_t cap)
{
    struct volume *v = state;
    (void)r;
    (void)err;
    (void)cap;
    ev_timer_init(&v->timer, volume_on_timer, 0.0, 0.0);
    v->timer.data = v;
    return 0;
}

static void volume_stop(struct role *r, void *state)
{
    struct volume *v = state;
    ev_timer_stop(r->loop, &v->timer);
}

static const struct role_entry volume_entry = {
    .cmd = &volume_cli,
    .opts = {.lua_library = bfq_lua_library, .up = volume_on_up, .fill = volume_fill},
    .config = volume_config,
    .start = volume_start,
    .stop = volume_stop,
};

int volume_main(int argc, char **argv)
{
    static struct volume v; /* one per process; static keeps it off the stack */
    memset(&v, 0, sizeof v);
    int rc = role_main(&volume_entry, &v.r, &v, argc, argv);
    volume_round_end(&v);
    return rc;
}
