/* userstream: `bfq userstream`, the account source that reads Binance's user-data WebSocket.
 *
 * Life of the stream (all on the role's libev loop; lws shares it through wsclient):
 *   key      POST /fapi/v1/listenKey (API key only, weight 1) before every connect: Binance
 *            returns the active key (extended) or a new one, so a key that died while we were
 *            away is replaced without a special case.
 *   connect  [exchange] ws_url + [userstream] ws_path + key. On open: backoff resets, a REST
 *            snapshot (GET /fapi/v2/account, and the openOrders poll) covers whatever happened
 *            while no connection was listening, and the rollover timer starts.
 *   keep     PUT /fapi/v1/listenKey every [userstream] keepalive (30 min); -1125 means the key
 *            is gone: a new key is made and the connection rolls over to it.
 *   expire   a listenKeyExpired event (or -1125) rolls over to a new key.
 *   rollover before the 24 h limit ([userstream] max_age, 23h30m) and on a new key: the new
 *            connection is opened first and the old one closed only when the new one is open,
 *            so no event falls between them (duplicates are harmless: freshest wins).
 *   close    any close or error: reconnect after core/backoff's capped, seeded, jittered delay
 *            ([userstream] backoff_min 200ms .. backoff_max 30s).
 * Events: ACCOUNT_UPDATE (positions and balances, t = E), ORDER_TRADE_UPDATE and ALGO_UPDATE
 * (open orders, t = E), TRADE_LITE (published as a fast fill notice). Each event gets an update
 * id from an arrival counter, so two events of the same millisecond apply in arrival order.
 * Every accepted event is also appended as received to bfq:events:<acct> (XADD MAXLEN ~
 * [userstream] events_maxlen), the recorder's durable feed (docs/recorder.md).
 * Other event types are counted and ignored; malformed events are counted and never written.
 * While connected, the source's health hash is refreshed every second (a quiet open stream is
 * current by construction; lws pings an idle connection and hangs up a dead one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/accounts.h"
#include "collectors/acctrec.h"
#include "collectors/orders.h"
#include "core/backoff.h"
#include "core/wsclient.h"
#include "core/binance.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/role.h"
#include "reconciler/recon.h"

#define US_KEY_MAX 128
#define US_URL_MAX 512
#define US_EVENT_MAX (1u << 20)

enum us_err { US_MALFORMED, US_IGNORED, US_EVENTS, US_COUNT };

struct us {
    struct role r;
    struct wsc_ctx *wsc;
    struct acctrec_sink *sink;
    struct orders *orders;
    struct acctrec_batch batch;
    char ws_base[US_URL_MAX], ws_path[64];
    char key[US_KEY_MAX];
    struct wsc_conn *cur;      /* the connection events are taken from */
    struct wsc_conn *next;     /* a rollover connection being opened, or NULL */
    int key_busy, snap_busy;
    int rollover_wanted;       /* open a new connection as soon as a key is at hand */
    struct backoff backoff;    /* reconnects; reset when a connection opens */
    int64_t keepalive_ms, max_age_ms, backoff_min_ms, backoff_max_ms, orders_every_ms;
    int64_t prune_every_ms, retention_ms; /* tombstones of finished orders */
    int ping_secs, hangup_secs;
    int64_t uid;
    int64_t events_maxlen;     /* cap of bfq:events:<acct> (XADD MAXLEN ~), 0 = not kept */
    ev_timer reconnect, keepalive, rollover, alive, orders_timer, prune_timer;
    int64_t connects, disconnects, rollovers, keys_created, keepalives, expired;
    int64_t counts[US_COUNT];
    wall_ms_t last_event_e;
};

static void us_connect(struct us *u, int rollover);

/* ---- helpers ---------------------------------------------------------------------------- */

static int64_t us_exch_now(struct us *u)
{
    return servertime_now(binance_servertime(u->r.bc));
}

static void us_schedule_reconnect(struct us *u)
{
    if (role_stopping(&u->r) || ev_is_active(&u->reconnect)) return;
    int64_t d = backoff_next(&u->backoff);
    ev_timer_set(&u->reconnect, (double)d / 1000.0, 0.0);
    ev_timer_start(u->r.loop, &u->reconnect);
}

/* ---- REST snapshot after each (re)connect ----------------------------------------------- */

static void us_snapshot_done(const struct binance_result *res, void *privdata)
{
    struct us *u = privdata;
    u->snap_busy = 0;
    if (role_stopping(&u->r)) return;
    if (role_count_result(&u->r, res, "account snapshot") < 0) {
        acctrec_sink_error(u->sink, "account snapshot failed");
        return;
    }
    char err[160] = "";
    acctrec_batch_clear(&u->batch);
    if (acctrec_parse_account(res->json, 2, &u->batch, err, sizeof err) < 0 ||
        acctrec_batch_check_time(&u->batch, binance_time_limit(u->r.bc), err, sizeof err) < 0) {
        role_count_invalid(&u->r, "account snapshot", err);
        return;
    }
    u->batch.snap_t = acctrec_sent_exch_ms(u->r.bc, res);
    (void)acctrec_sink_send(u->sink, &u->batch, 0);
}

static void us_snapshot(struct us *u)
{
    /* Redis down or read-only: no request whose answer could not be written; the up
     * callback takes the snapshot */
    if (!role_redis_up(&u->r)) return;
    if (u->orders) orders_poll(u->orders);
    if (u->snap_busy || role_stopping(&u->r)) return;
    if (binance_request(u->r.bc, "GET", "/fapi/v2/account", NULL, NULL, BINANCE_SIGNED, 5,
                        us_snapshot_done, u) == 0) {
        u->snap_busy = 1;
        role_count_weight(&u->r, 5);
    }
}

/* ---- events ----------------------------------------------------------------------------- */

static void us_malformed(struct us *u, const char *why)
{
    u->counts[US_MALFORMED]++;
    role_count_invalid(&u->r, "user-data event", why);
}

static void us_rollover_new_key(struct us *u, const char *why)
{
    log_info("listen key renewal", "why=%s", why);
    u->expired++;
    u->key[0] = '\0';
    u->rollover_wanted = 1;
    us_connect(u, 1);
}

static int us_account_update(struct us *u, const json_t *ev, char *err, size_t errcap)
{
    acctrec_batch_clear(&u->batch);
    if (acctrec_parse_account_update(ev, &u->batch, err, errcap) < 0) return -1;
    u->batch.uid = ++u->uid;
    (void)acctrec_sink_send(u->sink, &u->batch, 0);
    return 0;
}

/* Dispatches one event by its "e"; raw is its text (NULL when it came wrapped in a combined
 * stream message). Returns 0, or -1 (malformed) with err. */
static int us_dispatch(struct us *u, const json_t *ev, const char *raw, size_t len, char *err,
                       size_t errcap)
{
    const char *type = NULL;
    int64_t e = 0;
    if (jv_get_str(ev, "e", &type, err, errcap) < 0 || jv_get_int64(ev, "E", &e, err, errcap) < 0)
        return -1;
    const json_t *tv = json_object_get(ev, "T"); /* transaction time, where the event has one */
    int64_t tt = json_is_integer(tv) ? (int64_t)json_integer_value(tv) : 0;
    if (!binance_time_plausible(u->r.bc, e) || !binance_time_plausible(u->r.bc, tt)) {
        snprintf(err, errcap, "%s time %lld is ahead of the exchange clock", type,
                 (long long)(binance_time_plausible(u->r.bc, e) ? tt : e));
        return -1;
    }
    int rc = 0;
    if (!strcmp(type, "ACCOUNT_UPDATE")) {
        rc = us_account_update(u, ev, err, errcap);
    } else if (!strcmp(type, "ORDER_TRADE_UPDATE")) {
        rc = orders_apply_order_event(u->orders, ev, ++u->uid, err, errcap) < 0 ? -1 : 0;
    } else if (!strcmp(type, "ALGO_UPDATE")) {
        rc = orders_apply_algo_event(u->orders, ev, ++u->uid, err, errcap) < 0 ? -1 : 0;
    } else if (!strcmp(type, "TRADE_LITE")) {
        if (raw) {
            orders_publish_lite(u->orders, e, raw, len);
        } else { /* combined stream: publish the event, not its wrapper */
            char *text = jv_dump(ev);
            if (text) orders_publish_lite(u->orders, e, text, strlen(text));
            free(text);
        }
    } else if (!strcmp(type, "listenKeyExpired")) {
        us_rollover_new_key(u, "listenKeyExpired");
    } else {
        u->counts[US_IGNORED]++;
    }
    if (rc == 0) {
        u->counts[US_EVENTS]++;
        if (e > u->last_event_e) u->last_event_e = e;
    }
    return rc;
}

/* Appends an accepted event, as received, to the durable feed <prefix>events:<acct> (capped,
 * XADD MAXLEN ~): what the recorder reads. Redis down: the event is not kept there (the
 * recorder's REST backfill covers the gap). */
static void us_keep_event(struct us *u, const char *raw, size_t len)
{
    char key[160], cap[24];
    if (u->events_maxlen <= 0 || role_key(&u->r, key, sizeof key, "events:%s", u->r.account) < 0)
        return;
    snprintf(cap, sizeof cap, "%lld", (long long)u->events_maxlen);
    const char *argv[] = {"XADD", key, "MAXLEN", "~", cap, "*", "data", raw};
    size_t lens[] = {4, strlen(key), 6, 1, strlen(cap), 1, 4, len};
    (void)rconn_command_argv(u->r.rc, NULL, NULL, 8, argv, lens);
}

static void us_message(struct wsc_conn *c, const char *data, size_t len, void *privdata)
{
    struct us *u = privdata;
    if (c != u->cur && c != u->next) return;
    char err[JV_ERR_MAX + 40] = "";
    if (len > US_EVENT_MAX) {
        us_malformed(u, "event too large");
        return;
    }
    json_t *root = jv_parse(data, len, err, sizeof err);
    if (!root || !json_is_object(root)) {
        us_malformed(u, root ? "event is not an object" : err);
        json_decref(root);
        return;
    }
    const json_t *ev = root, *inner = json_object_get(root, "data");
    if (json_is_object(inner) && json_object_get(root, "stream")) ev = inner; /* combined */
    const char *type = json_string_value(json_object_get(ev, "e"));
    if (us_dispatch(u, ev, ev == root ? data : NULL, len, err, sizeof err) < 0) {
        us_malformed(u, err);
    } else if (type && strcmp(type, "listenKeyExpired") == 0) {
        /* not ledger data, and it carries the listenKey (a credential): never kept */
    } else if (ev == root) {
        us_keep_event(u, data, len);
    } else {
        char *text = jv_dump(ev);
        if (text) us_keep_event(u, text, strlen(text));
        free(text);
    }
    json_decref(root);
}

/* ---- connections ------------------------------------------------------------------------ */

static void us_open(struct wsc_conn *c, void *privdata)
{
    struct us *u = privdata;
    u->connects++;
    backoff_reset(&u->backoff);
    if (c == u->next) { /* rollover complete: the new connection takes over */
        struct wsc_conn *old = u->cur;
        u->cur = c;
        u->next = NULL;
        u->rollovers++;
        if (old) wsc_close(old);
        log_info("user-data stream rolled over", NULL);
    } else {
        log_info("user-data stream connected", NULL);
    }
    ev_timer_stop(u->r.loop, &u->rollover);
    ev_timer_set(&u->rollover, (double)u->max_age_ms / 1000.0, 0.0);
    ev_timer_start(u->r.loop, &u->rollover);
    acctrec_sink_ok(u->sink, us_exch_now(u));
    us_snapshot(u);
}

static void us_closed(struct wsc_conn *c, const char *reason, void *privdata)
{
    struct us *u = privdata;
    u->disconnects++;
    if (c == u->next) {
        u->next = NULL;
        log_warn("user-data rollover connection failed", "reason=\"%s\"", reason);
        if (u->cur) { /* keep the old one; try the rollover again later */
            u->rollover_wanted = 1;
            us_schedule_reconnect(u);
            return;
        }
    } else if (c == u->cur) {
        u->cur = NULL;
        log_warn("user-data stream closed", "reason=\"%s\"", reason);
        acctrec_sink_error(u->sink, reason);
    } else {
        return;
    }
    if (!u->cur && !u->next) us_schedule_reconnect(u);
}

static void us_open_ws(struct us *u, int rollover)
{
    char url[US_URL_MAX + US_KEY_MAX + 64], err[WSC_ERR_MAX];
    snprintf(url, sizeof url, "%s%s%s", u->ws_base, u->ws_path, u->key);
    struct wsc_options wo = {.source_ip = u->r.source_ip[0] ? u->r.source_ip : NULL,
                             .ping_secs = u->ping_secs, .hangup_secs = u->hangup_secs};
    struct wsc_callbacks cb = {.open = us_open, .message = us_message, .closed = us_closed,
                               .privdata = u};
    struct wsc_conn *c = wsc_connect(u->wsc, url, &wo, &cb, err, sizeof err);
    if (!c) {
        log_warn("user-data connect failed", "err=\"%s\"", err);
        us_schedule_reconnect(u);
        return;
    }
    if (rollover && u->cur) {
        if (u->next) wsc_close(u->next);
        u->next = c;
    } else {
        if (u->cur) wsc_close(u->cur);
        u->cur = c;
    }
}

static void us_key_done(const struct binance_result *res, void *privdata)
{
    struct us *u = privdata;
    u->key_busy = 0;
    if (role_stopping(&u->r)) return;
    const char *k = NULL;
    char err[160] = "";
    if (role_count_result(&u->r, res, "listenKey POST") < 0 ||
        jv_get_str(res->json, "listenKey", &k, err, sizeof err) < 0 || !k[0] ||
        strlen(k) >= sizeof u->key) {
        if (res->outcome == BINANCE_OK) role_count_invalid(&u->r, "listenKey POST", "no key");
        acctrec_sink_error(u->sink, "listenKey POST failed");
        us_schedule_reconnect(u);
        return;
    }
    memcpy(u->key, k, strlen(k) + 1);
    (void)log_add_rotating_secret(u->key); /* a credential: the stream's URL holds it */
    u->keys_created++;
    int rollover = u->rollover_wanted && u->cur;
    u->rollover_wanted = 0;
    us_open_ws(u, rollover);
}

/* Gets a key (POST) and then opens a connection: a rollover keeps the current one until the
 * new one is open. */
static void us_connect(struct us *u, int rollover)
{
    if (rollover) u->rollover_wanted = 1;
    if (role_stopping(&u->r) || u->key_busy) return;
    if (binance_request(u->r.bc, "POST", "/fapi/v1/listenKey", NULL, NULL, BINANCE_APIKEY, 1,
                        us_key_done, u) < 0) {
        us_schedule_reconnect(u);
        return;
    }
    u->key_busy = 1;
    role_count_weight(&u->r, 1);
}

/* ---- timers ----------------------------------------------------------------------------- */

static void us_reconnect_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct us *u = w->data;
    if (u->cur && !u->rollover_wanted) return;
    us_connect(u, u->rollover_wanted);
}

static void us_keepalive_done(const struct binance_result *res, void *privdata)
{
    struct us *u = privdata;
    if (role_stopping(&u->r)) return;
    u->keepalives++;
    if (res->outcome == BINANCE_EAPI && res->code == -1125) {
        role_count_result(&u->r, res, "listenKey PUT");
        us_rollover_new_key(u, "keepalive -1125");
        return;
    }
    (void)role_count_result(&u->r, res, "listenKey PUT");
}

static void us_keepalive_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct us *u = w->data;
    if (!u->cur || !u->key[0]) return;
    if (binance_request(u->r.bc, "PUT", "/fapi/v1/listenKey", NULL, NULL, BINANCE_APIKEY, 1,
                        us_keepalive_done, u) == 0)
        role_count_weight(&u->r, 1);
}

static void us_rollover_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct us *u = w->data;
    log_info("user-data connection near its age limit: rolling over", NULL);
    us_connect(u, 1);
}

static void us_alive_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct us *u = w->data;
    if (wsc_is_open(u->cur)) acctrec_sink_ok(u->sink, us_exch_now(u));
}

static void us_orders_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct us *u = w->data;
    if (role_redis_up(&u->r)) orders_poll(u->orders);
}

static void us_prune_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct us *u = w->data;
    orders_prune(u->orders, us_exch_now(u) - u->retention_ms);
}

/* ---- role plumbing ---------------------------------------------------------------------- */

static void us_up(struct role *r, void *privdata)
{
    (void)r;
    struct us *u = privdata;
    if (!u->sink) return;
    acctrec_sink_forget(u->sink);
    if (u->orders) orders_forget(u->orders);
    if (u->cur) us_snapshot(u); /* writes made while Redis was away were lost */
}

static void us_fill(struct role *r, json_t *obj, void *privdata)
{
    (void)r;
    struct us *u = privdata;
    json_object_set_new(obj, "connected", json_boolean(wsc_is_open(u->cur)));
    json_object_set_new(obj, "connects", json_integer(u->connects));
    json_object_set_new(obj, "disconnects", json_integer(u->disconnects));
    json_object_set_new(obj, "rollovers", json_integer(u->rollovers));
    json_object_set_new(obj, "keys", json_integer(u->keys_created));
    json_object_set_new(obj, "keepalives", json_integer(u->keepalives));
    json_object_set_new(obj, "key_renewals", json_integer(u->expired));
    json_object_set_new(obj, "events", json_integer(u->counts[US_EVENTS]));
    json_object_set_new(obj, "ignored", json_integer(u->counts[US_IGNORED]));
    json_object_set_new(obj, "malformed", json_integer(u->counts[US_MALFORMED]));
    json_object_set_new(obj, "last_event", json_integer(u->last_event_e));
    struct orders_stats os = orders_stats(u->orders);
    json_object_set_new(obj, "order_polls", json_integer(os.polls));
    json_object_set_new(obj, "orders_deleted_by_poll", json_integer(os.deleted_by_poll));
    json_object_set_new(obj, "orders_poll_records", json_integer(os.poll_records));
    json_object_set_new(obj, "orders_poll_batches", json_integer(os.poll_batches));
    json_object_set_new(obj, "orders_tombstones_pruned", json_integer(os.pruned));
}

/* ws base from [exchange] ws_url, or derived from rest_url (http->ws, https->wss; Binance's
 * fapi.binance.com streams from fstream.binance.com). */
static int us_ws_base(struct us *u, struct config *cfg)
{
    const char *ws = NULL, *rest = NULL;
    if (config_str(cfg, "exchange", "ws_url", "", &ws) < 0 ||
        config_str(cfg, "exchange", "rest_url", "http://127.0.0.1:8080", &rest) < 0)
        return -1;
    if (ws[0]) {
        snprintf(u->ws_base, sizeof u->ws_base, "%s", ws);
    } else if (!strncmp(rest, "https://fapi.binance.com", 24)) {
        snprintf(u->ws_base, sizeof u->ws_base, "wss://fstream.binance.com");
    } else if (!strncmp(rest, "https://", 8)) {
        snprintf(u->ws_base, sizeof u->ws_base, "wss://%s", rest + 8);
    } else if (!strncmp(rest, "http://", 7)) {
        snprintf(u->ws_base, sizeof u->ws_base, "ws://%s", rest + 7);
    } else {
        return -1;
    }
    size_t n = strlen(u->ws_base);
    while (n > 0 && u->ws_base[n - 1] == '/') u->ws_base[--n] = '\0';
    return 0;
}

static int us_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct us *u = state;
    const char *path = NULL;
    int64_t ping = 0, hang = 0;
    const char *s = "userstream";
    if (config_duration_ms(cfg, s, "keepalive", 30 * 60000, 100, 60 * 60000, &u->keepalive_ms) < 0 ||
        config_duration_ms(cfg, s, "max_age", 23 * 3600000 + 30 * 60000, 1000, 24 * 3600000,
                           &u->max_age_ms) < 0 ||
        config_duration_ms(cfg, s, "backoff_min", 200, 10, 60000, &u->backoff_min_ms) < 0 ||
        config_duration_ms(cfg, s, "backoff_max", 30000, 10, 600000, &u->backoff_max_ms) < 0 ||
        config_duration_ms(cfg, s, "orders_every", 10000, 0, 3600000, &u->orders_every_ms) < 0 ||
        config_duration_ms(cfg, s, "prune_every", 3600000, 0, 86400000, &u->prune_every_ms) < 0 ||
        config_duration_ms(cfg, s, "tombstone_retention", 86400000, 1000, 30 * 86400000LL,
                           &u->retention_ms) < 0 ||
        config_duration_ms(cfg, s, "ping", 60000, 1000, 600000, &ping) < 0 ||
        config_duration_ms(cfg, s, "hangup", 180000, 2000, 1200000, &hang) < 0 ||
        config_int(cfg, s, "events_maxlen", 100000, 0, 100000000, &u->events_maxlen) < 0 ||
        config_str(cfg, s, "ws_path", "/private/ws/", &path) < 0)
        return -1;
    backoff_init(&u->backoff, u->backoff_min_ms, u->backoff_max_ms);
    u->ping_secs = (int)(ping / 1000);
    u->hangup_secs = (int)(hang / 1000);
    snprintf(u->ws_path, sizeof u->ws_path, "%s", path);
    if (us_ws_base(u, cfg) < 0) {
        if (!config_errstr(cfg)[0])
            snprintf(err, cap, "[exchange] rest_url: cannot derive ws_url from it");
        return -1;
    }
    return 0;
}

static void us_timer(struct us *u, ev_timer *t, void (*cb)(struct ev_loop *, ev_timer *, int),
                     int64_t after_ms, int64_t repeat_ms)
{
    ev_timer_init(t, cb, (double)after_ms / 1000.0, (double)repeat_ms / 1000.0);
    t->data = u;
    if (repeat_ms > 0) ev_timer_start(u->r.loop, t);
}

static void us_teardown(struct role *r, void *state)
{
    struct us *u = state;
    (void)r;
    ev_timer_stop(u->r.loop, &u->reconnect);
    ev_timer_stop(u->r.loop, &u->keepalive);
    ev_timer_stop(u->r.loop, &u->rollover);
    ev_timer_stop(u->r.loop, &u->alive);
    ev_timer_stop(u->r.loop, &u->orders_timer);
    ev_timer_stop(u->r.loop, &u->prune_timer);
    if (u->next) wsc_close(u->next);
    if (u->cur) wsc_close(u->cur);
    u->cur = u->next = NULL;
}

static const struct cli_option userstream_options[] = {
    {"keepalive", "DURATION", NULL, NULL, "listenKey keep-alive period (default 30m)", 0},
    {"max-age", "DURATION", NULL, NULL, "roll the connection over after this (default 23h30m)", 0},
    {"orders-every", "DURATION", NULL, NULL, "openOrders reconciliation period, 0 = off (10s)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* [userstream] keys no option sets (core/role reports any other key of the section). */
static const char *const userstream_keys[] = {"prune_every", "tombstone_retention", "ws_path", "backoff_min", "backoff_max", "ping", "hangup", "events_maxlen", NULL};

const struct cli_command userstream_cli = {
    .name = "userstream",
    .summary = "user-data WebSocket: positions, balances and open orders of one account",
    .usage = "Writes bfq:acct:<account>:pos, :bal, :orders (freshest wins), :view:userstream and\n"
             ":src:userstream; publishes on bfq:ch:acct:<account> and bfq:ch:order:<account>.\n"
             "Config: [userstream] keepalive, max_age, orders_every, prune_every (1h, 0 = off),\n"
             "tombstone_retention (24h), ws_path, backoff_min,\n"
             "backoff_max, ping, hangup, account, events_maxlen (100000: the cap of\n"
             "bfq:events:<account>, every accepted event as received; 0 = off); [exchange] ws_url (default: from rest_url).\n",
    .options = userstream_options,
    .role_options = 1,
    .keys = userstream_keys,
};

static int us_start(struct role *r, void *state, char *err, size_t cap)
{
    struct us *u = state;
    char werr[WSC_ERR_MAX] = "";
    acctrec_batch_init(&u->batch);
    u->wsc = wsc_ctx_new(r->loop, r->ca_file, werr, sizeof werr);
    u->sink = acctrec_sink_new(r, "userstream");
    u->orders = orders_new(r, "userstream");
    if (!u->wsc || !u->sink || !u->orders) {
        snprintf(err, cap, "%s", u->wsc ? "out of memory" : werr);
        return -1;
    }
    u->uid = timebase_wall_ms() * 1000;
    us_timer(u, &u->reconnect, us_reconnect_cb, 0, 0);
    us_timer(u, &u->rollover, us_rollover_cb, 0, 0);
    us_timer(u, &u->keepalive, us_keepalive_cb, u->keepalive_ms, u->keepalive_ms);
    us_timer(u, &u->alive, us_alive_cb, 1000, 1000);
    us_timer(u, &u->orders_timer, us_orders_cb, u->orders_every_ms, u->orders_every_ms);
    us_timer(u, &u->prune_timer, us_prune_cb, u->prune_every_ms, u->prune_every_ms);
    log_info("user-data stream starting", "ws=%s%s<key> account=%s", u->ws_base, u->ws_path,
             r->account);
    us_connect(u, 0);
    return 0;
}

static const struct role_entry userstream_entry = {
    .cmd = &userstream_cli,
    .opts = {.lua_library = bfq_lua_library, .needs_account = 1, .up = us_up, .fill = us_fill},
    .config = us_config,
    .start = us_start,
    .stop = us_teardown,
};

int userstream_main(int argc, char **argv)
{
    static struct us u; /* one per process; static keeps it off the stack */
    memset(&u, 0, sizeof u);
    int rc = role_main(&userstream_entry, &u.r, &u, argc, argv);
    wsc_ctx_free(u.wsc);
    orders_free(u.orders);
    acctrec_sink_free(u.sink);
    acctrec_batch_free(&u.batch);
    return rc;
}
