/* sweeper: `bfq sweeper`, stale-order cancels by client id class and age, stop-ladder orders
 * of flat symbols, and orders nobody owns.
 *
 * Every [sweeper] every (1 s) it reads the account's open orders from Redis
 * (<prefix>acct:<acct>:orders: field SYM:clientOrderId, or SYM:algo:clientAlgoId, the order JSON
 * with `symbol` and `time`) and the positions, and applies the rules of its configuration:
 *   to_age (15 s)   a taker leftover `to_...` older than this is cancelled;
 *   mc_age (60 s)   a maker close `mc_...` older than this is cancelled;
 *   an algo order `sl_...` of a symbol whose position is flat is cancelled (op cancel_algo);
 *   an order whose client id has no known class (DESIGN.md) is somebody else's: alerted once
 *   (key sweeper:unknown) and left alone.
 * Cancels go through the gateway as intents (class of the order); one is not asked again for
 * retry (10 s). The ages are on the exchange's clock (the signed client's synced time).
 * Redis can lag or miss an order, so one symbol per reconcile period (round robin over the
 * symbols with orders or positions) is also read over REST, GET /fapi/v1/openOrders?symbol=
 * (weight 1, within the IP's weight budget like every request): orders only the exchange
 * lists are swept by the same rules.
 *
 * Not here yet: the maker-to-taker conversion of `mo` orders (class `cv`). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cli/commands.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/role.h"
#include "reconciler/recon.h"
#include "risk/risk.h"
#include "risk/riskio.h"
#include "trader/intent.h"

#define SW_SEEN_MAX 1024
#define SW_SYMS_MAX 256
#define SW_CID_MAX 48

struct sw_seen {
    char cid[SW_CID_MAX];
    int64_t until; /* mono ms: not again before */
};

struct sweeper {
    struct role r;
    int64_t every_ms, to_age_ms, mc_age_ms, retry_ms, reconcile_ms;
    struct sw_seen seen[SW_SEEN_MAX]; /* ring of recent actions and alerts */
    int nseen;
    char held[SW_SYMS_MAX][INTENT_SYM_MAX]; /* symbols with a nonzero position */
    int nopen;
    char syms[SW_SYMS_MAX][INTENT_SYM_MAX]; /* symbols to reconcile over REST */
    int nsyms, next_sym, busy, rest_busy;
    int64_t rest_at;
    ev_timer timer;
    char src[ROLE_ID_MAX + 16];
    int64_t cancels, algo_cancels, unknown, rest_reads;
};

static int sw_recent(struct sweeper *w, const char *cid, int64_t hold_ms)
{
    int64_t now = timebase_mono_ms();
    for (int i = 0; i < w->nseen && i < SW_SEEN_MAX; i++)
        if (!strcmp(w->seen[i].cid, cid)) {
            if (now < w->seen[i].until) return 1;
            w->seen[i].until = now + hold_ms;
            return 0;
        }
    struct sw_seen *s = &w->seen[w->nseen++ % SW_SEEN_MAX];
    snprintf(s->cid, sizeof s->cid, "%s", cid);
    s->until = now + hold_ms;
    return 0;
}

/* The class of a client id ("to" of "to_abc"), or "" when it has none we know. */
static void sw_class(const char *cid, char out[4])
{
    static const char *const known[] = {"mo", "to", "mc", "tc", "cv", "sl", "hs", "kl", "mn"};
    out[0] = '\0';
    if (strlen(cid) < 4 || cid[2] != '_') return;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strncmp(cid, known[i], 2)) {
            memcpy(out, known[i], 3);
            return;
        }
}

static int sw_has_pos(const struct sweeper *w, const char *sym)
{
    for (int i = 0; i < w->nopen; i++)
        if (!strcmp(w->held[i], sym)) return 1;
    return 0;
}

static void sw_note_sym(struct sweeper *w, const char *sym)
{
    for (int i = 0; i < w->nsyms; i++)
        if (!strcmp(w->syms[i], sym)) return;
    if (w->nsyms >= SW_SYMS_MAX) return;
    char copy[INTENT_SYM_MAX]; /* sym may point into w itself */
    snprintf(copy, sizeof copy, "%s", sym);
    memcpy(w->syms[w->nsyms++], copy, sizeof copy);
}

static void sw_cancel(struct sweeper *w, const char *sym, const char *cid, const char *cls,
                      int algo, const char *why)
{
    struct intent in;
    if (sw_recent(w, cid, w->retry_ms)) return;
    memset(&in, 0, sizeof in);
    in.op = algo ? INTENT_CANCEL_ALGO : INTENT_CANCEL;
    snprintf(in.sym, sizeof in.sym, "%s", sym);
    snprintf(in.orig, sizeof in.orig, "%s", cid);
    snprintf(in.cls, sizeof in.cls, "%s", cls);
    snprintf(in.src, sizeof in.src, "%.63s", w->src);
    risk_new_id("w", in.id);
    if (risk_intent(w->r.rc, w->r.prefix, w->r.account, &in, NULL, NULL) < 0) return;
    if (algo)
        w->algo_cancels++;
    else
        w->cancels++;
    log_info("sweeping an order", "sym=%s cid=%s why=\"%s\"", sym, cid, why);
}

/* One open order (regular, or algo when algo is set) by the rules at the top. */
static void sw_order(struct sweeper *w, const char *sym, const char *cid, int64_t time, int algo,
                     int64_t now)
{
    char cls[4], text[256];
    int64_t age = time > 0 ? now - time : 0;
    sw_class(cid, cls);
    if (!cls[0]) {
        if (sw_recent(w, cid, 24 * 3600000LL)) return;
        w->unknown++;
        snprintf(text, sizeof text, "open %sorder %s on %s has no known class: left alone",
                 algo ? "algo " : "", cid, sym);
        (void)risk_alert(w->r.rc, w->r.prefix, "warn", "sweeper:unknown", w->src, "%s", text);
        return;
    }
    if (algo) {
        if (!strcmp(cls, "sl") && !sw_has_pos(w, sym))
            sw_cancel(w, sym, cid, cls, 1, "stop ladder of a flat symbol");
        return;
    }
    if (!strcmp(cls, "to") && age > w->to_age_ms) sw_cancel(w, sym, cid, cls, 0, "taker leftover");
    if (!strcmp(cls, "mc") && age > w->mc_age_ms)
        sw_cancel(w, sym, cid, cls, 0, "stale maker close");
}

static int64_t sw_now(const struct sweeper *w)
{
    return servertime_now(binance_servertime(w->r.bc));
}

static void sw_on_orders(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct sweeper *w = privdata;
    int64_t now = sw_now(w);
    (void)rc;
    w->busy = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        char sym[INTENT_SYM_MAX];
        const char *cid;
        int algo;
        int64_t t = 0;
        if (risk_order_field(reply->element[i]->str, sym, &cid, &algo) < 0) continue;
        json_t *j = json_loads(reply->element[i + 1]->str, 0, NULL);
        (void)jv_opt_int64(j, "time", &t, NULL, 0);
        sw_note_sym(w, sym);
        sw_order(w, sym, cid, t, algo, now);
        json_decref(j);
    }
}

static void sw_on_pos(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct sweeper *w = privdata;
    (void)rc;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) return;
    w->nopen = 0;
    for (size_t i = 0; i + 1 < reply->elements && w->nopen < SW_SYMS_MAX; i += 2) {
        const char *f = reply->element[i]->str, *c = f ? strchr(f, ':') : NULL;
        json_t *j = json_loads(reply->element[i + 1]->str, 0, NULL);
        struct dec amt;
        if (c && (size_t)(c - f) < INTENT_SYM_MAX && j &&
            jv_get_dec(j, "amt", &amt, NULL, 0) == 0 && !dec_is_zero(amt)) {
            snprintf(w->held[w->nopen++], INTENT_SYM_MAX, "%.*s", (int)(c - f), f);
            sw_note_sym(w, w->held[w->nopen - 1]);
        }
        json_decref(j);
    }
}

/* ---- reconciling over REST ------------------------------------------------------------------- */

static void sw_on_rest(const struct binance_result *res, void *privdata)
{
    struct sweeper *w = privdata;
    int64_t now = sw_now(w);
    size_t i;
    json_t *o;
    w->rest_busy = 0;
    if (role_stopping(&w->r) || role_count_result(&w->r, res, "openOrders") < 0) return;
    if (!json_is_array(res->json)) {
        role_count_invalid(&w->r, "openOrders", "not an array");
        return;
    }
    w->rest_reads++;
    json_array_foreach(res->json, i, o)
    {
        const char *sym = NULL, *cid = NULL;
        int64_t t = 0;
        (void)jv_opt_str(o, "symbol", &sym, NULL, 0);
        (void)jv_opt_str(o, "clientOrderId", &cid, NULL, 0);
        (void)jv_opt_int64(o, "time", &t, NULL, 0);
        if (sym && cid) sw_order(w, sym, cid, t, 0, now);
    }
}

static void sw_reconcile(struct sweeper *w)
{
    char q[64];
    int64_t now = timebase_mono_ms();
    if (w->rest_busy || !w->nsyms || now < w->rest_at) return;
    w->rest_at = now + w->reconcile_ms;
    snprintf(q, sizeof q, "symbol=%s", w->syms[w->next_sym++ % w->nsyms]);
    w->rest_busy = 1;
    if (binance_request(w->r.bc, "GET", "/fapi/v1/openOrders", q, NULL, BINANCE_SIGNED, 1,
                        sw_on_rest, w) < 0)
        w->rest_busy = 0;
}

static void sw_on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct sweeper *w = t->data;
    char kp[256], ko[256];
    (void)loop;
    (void)revents;
    if (w->busy || !role_redis_up(&w->r) || role_stopping(&w->r)) return;
    role_key(&w->r, kp, sizeof kp, "acct:%s:pos", w->r.account);
    role_key(&w->r, ko, sizeof ko, "acct:%s:orders", w->r.account);
    /* the positions first: the replies come in order, so the orders see fresh ones */
    if (rconn_command(w->r.rc, sw_on_pos, w, "HGETALL %s", kp) < 0) return;
    w->busy = 1;
    if (rconn_command(w->r.rc, sw_on_orders, w, "HGETALL %s", ko) < 0) w->busy = 0;
    sw_reconcile(w);
}

static void sw_fill(struct role *r, json_t *o, void *privdata)
{
    struct sweeper *w = privdata;
    (void)r;
    json_object_set_new(o, "cancels", json_integer(w->cancels));
    json_object_set_new(o, "algo_cancels", json_integer(w->algo_cancels));
    json_object_set_new(o, "unknown", json_integer(w->unknown));
    json_object_set_new(o, "rest_reads", json_integer(w->rest_reads));
}

static int sw_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct sweeper *w = state;
    (void)err;
    (void)cap;
    return config_duration_ms(cfg, "sweeper", "every", 1000, 100, 60000, &w->every_ms) < 0 ||
                   config_duration_ms(cfg, "sweeper", "to_age", 15000, 0, 86400000, &w->to_age_ms) <
                       0 ||
                   config_duration_ms(cfg, "sweeper", "mc_age", 60000, 0, 86400000, &w->mc_age_ms) <
                       0 ||
                   config_duration_ms(cfg, "sweeper", "retry", 10000, 100, 3600000, &w->retry_ms) <
                       0 ||
                   config_duration_ms(cfg, "sweeper", "reconcile", 2000, 100, 3600000,
                                      &w->reconcile_ms) < 0
               ? -1
               : 0;
}

static int sw_start(struct role *r, void *state, char *err, size_t cap)
{
    struct sweeper *w = state;
    (void)err;
    (void)cap;
    snprintf(w->src, sizeof w->src, "sweeper:%s", r->instance);
    double e = (double)w->every_ms / 1000.0;
    ev_timer_init(&w->timer, sw_on_timer, e, e);
    w->timer.data = w;
    ev_timer_start(r->loop, &w->timer);
    log_info("sweeper ready", "to_age_ms=%lld mc_age_ms=%lld", (long long)w->to_age_ms,
             (long long)w->mc_age_ms);
    return 0;
}

static void sw_stop(struct role *r, void *state)
{
    struct sweeper *w = state;
    ev_timer_stop(r->loop, &w->timer);
}

static const struct cli_option sweeper_options[] = {
    {"to-age", "DURATION", NULL, "to_age", "cancel `to` orders older than this (15s)", 0},
    {"mc-age", "DURATION", NULL, "mc_age", "cancel `mc` orders older than this (60s)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command sweeper_cli = {
    .name = "sweeper",
    .summary = "stale-order cancels by class and age, flat symbols' stops, orphan alerts",
    .usage = "Reads bfq:acct:<acct>:orders, reconciles one symbol at a time over REST; cancels\n"
             "through bfq gateway.\n",
    .options = sweeper_options,
    .role_options = 1,
};

int sweeper_main(int argc, char **argv)
{
    static const struct role_entry e = {
        .cmd = &sweeper_cli,
        .opts = {.lua_library = bfq_lua_library, .needs_account = 1, .ready_on_redis = 1,
                 .fill = sw_fill},
        .config = sw_config,
        .start = sw_start,
        .stop = sw_stop,
    };
    struct sweeper *w = calloc(1, sizeof(*w));
    if (!w) return 1;
    int rc = role_main(&e, &w->r, w, argc, argv);
    free(w);
    return rc;
}
