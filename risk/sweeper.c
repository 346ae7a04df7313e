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
 *   a maker open `mo_...` older than mo_age (2.5 s) converts convert_pct (30 %) of its
 *   remainder to a taker order of class `cv` (risk/convert: IOC LIMIT at the best ask *
 *   (1 + convert_slip_pct/100) to buy, the best bid * (1 - slip) to sell, or MARKET), floored
 *   to the step, skipped (and counted) below minQty or the minimum notional; once per order:
 *   the claim <prefix>sweeper:<acct>:cv:<SYM>:<cid> (SET NX, 7 days) survives a restart, and
 *   the maker order itself is left alone.
 * Cancels go through the gateway as intents (class of the order). An order is not asked again
 * while its cancel is in flight: after retry (10 s) the outcome of the last cancel intent is
 * read (<prefix>intent:<acct>:<id>); none yet (still in the stream) or `claimed` (the gateway
 * is sending it) holds it another retry, `canceled` too (Redis has not heard yet); only a
 * cancel that failed is asked again. The ages are on the exchange's clock (the signed
 * client's synced time).
 * Redis can lag or miss an order, so one symbol per reconcile period (round robin over the
 * symbols with orders or positions) is also read over REST, GET /fapi/v1/openOrders?symbol=
 * and, the next period, GET /fapi/v1/openAlgoOrders?symbol= (weight 1 each, within the IP's
 * weight budget like every request): orders only the exchange lists are swept by the same
 * rules.
 */
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
#include "risk/convert.h"
#include "risk/risk.h"
#include "risk/riskio.h"
#include "trader/book.h"
#include "trader/intent.h"

#define SW_SEEN_MAX 1024
#define SW_SYMS_MAX 256
#define SW_CID_MAX 80
#define SW_CV_TTL_MS (7 * 86400000LL) /* the conversion claim outlives any maker order */

struct sw_seen {
    char cid[SW_CID_MAX];   /* "<what>:<SYM>:<client id>" */
    int64_t until;          /* mono ms: not again before */
    char id[INTENT_ID_MAX]; /* the last cancel intent asked for it, "" when none */
    int asking;             /* its outcome is being read */
};

struct sweeper {
    struct role r;
    int64_t every_ms, to_age_ms, mc_age_ms, retry_ms, reconcile_ms, mo_age_ms;
    int convert;
    struct convert_params cv;
    struct sw_seen seen[SW_SEEN_MAX]; /* ring of recent actions and alerts */
    int nseen;
    char held[SW_SYMS_MAX][INTENT_SYM_MAX]; /* symbols with a nonzero position */
    int nopen;
    char syms[SW_SYMS_MAX][INTENT_SYM_MAX]; /* symbols to reconcile over REST */
    int nsyms, next_sym, busy, rest_busy, rest_algo;
    int64_t rest_at;
    ev_timer timer;
    char src[ROLE_ID_MAX + 16];
    int active; /* the trading state is ACTIVE (read every `every`) */
    char *bans; /* the ban list's symbols JSON (NULL: none) */
    int64_t cancels, algo_cancels, unknown, rest_reads;
    int64_t conversions, cv_orders, cv_skipped, cv_claimed_before, in_flight;
};

/* The entry of key ("<what>:<SYM>:<cid>"), made when new (the ring forgets the oldest). */
static struct sw_seen *sw_entry(struct sweeper *w, const char *key, int *fresh)
{
    for (int i = 0; i < w->nseen && i < SW_SEEN_MAX; i++)
        if (!strcmp(w->seen[i].cid, key)) {
            *fresh = 0;
            return &w->seen[i];
        }
    struct sw_seen *s = &w->seen[w->nseen++ % SW_SEEN_MAX];
    memset(s, 0, sizeof *s);
    snprintf(s->cid, sizeof s->cid, "%s", key);
    *fresh = 1;
    return s;
}

/* Nonzero when key was acted on less than its hold ago; else starts a new hold of hold_ms. */
static int sw_recent(struct sweeper *w, const char *key, int64_t hold_ms)
{
    int64_t now = timebase_mono_ms();
    int fresh;
    struct sw_seen *s = sw_entry(w, key, &fresh);
    if (!fresh && now < s->until) return 1;
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

struct sw_ask {
    struct sweeper *w;
    char key[SW_CID_MAX]; /* the entry is found again by key: the ring may have moved on */
    char sym[INTENT_SYM_MAX], cid[INTENT_CID_MAX], cls[4];
    int algo;
    char why[64];
};

static void sw_send_cancel(struct sweeper *w, struct sw_seen *e, const char *sym, const char *cid,
                           const char *cls, int algo, const char *why)
{
    struct intent in;
    memset(&in, 0, sizeof in);
    in.op = algo ? INTENT_CANCEL_ALGO : INTENT_CANCEL;
    snprintf(in.sym, sizeof in.sym, "%s", sym);
    snprintf(in.orig, sizeof in.orig, "%s", cid);
    snprintf(in.cls, sizeof in.cls, "%s", cls);
    snprintf(in.src, sizeof in.src, "%.63s", w->src);
    risk_new_id("w", in.id);
    if (risk_intent(w->r.rc, w->r.prefix, w->r.account, &in, NULL, NULL) < 0) return;
    snprintf(e->id, sizeof e->id, "%s", in.id);
    if (algo)
        w->algo_cancels++;
    else
        w->cancels++;
    log_info("sweeping an order", "sym=%s cid=%s why=\"%s\" intent=%s", sym, cid, why, in.id);
}

/* The outcome of the last cancel: only a failed one is asked again (see the top). */
static void sw_on_cancel_outcome(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct sw_ask *a = privdata;
    struct sweeper *w = a->w;
    int fresh;
    struct sw_seen *e = sw_entry(w, a->key, &fresh);
    (void)rc;
    e->asking = 0;
    if (reply && !role_stopping(&w->r)) {
        json_t *o = reply->type == REDIS_REPLY_STRING ? json_loads(reply->str, 0, NULL) : NULL;
        const char *st = json_string_value(json_object_get(o, "status"));
        if (!st || !strcmp(st, "claimed") || !strcmp(st, "canceled") || !strcmp(st, "ok")) {
            w->in_flight++;
            log_debug("cancel still in flight or done, not asked again", "cid=%s intent=%s", a->cid,
                      e->id);
        } else {
            sw_send_cancel(w, e, a->sym, a->cid, a->cls, a->algo, a->why);
        }
        json_decref(o);
    }
    free(a);
}

static void sw_cancel(struct sweeper *w, const char *sym, const char *cid, const char *cls,
                      int algo, const char *why)
{
    char key[SW_CID_MAX], ik[256];
    snprintf(key, sizeof key, "x:%s:%s", sym, cid);
    if (sw_recent(w, key, w->retry_ms)) return;
    int fresh;
    struct sw_seen *e = sw_entry(w, key, &fresh);
    if (e->asking) return;
    if (!e->id[0]) {
        sw_send_cancel(w, e, sym, cid, cls, algo, why);
        return;
    }
    struct sw_ask *a = calloc(1, sizeof *a);
    if (!a) return;
    *a = (struct sw_ask){.w = w, .algo = algo};
    snprintf(a->key, sizeof a->key, "%s", key);
    snprintf(a->sym, sizeof a->sym, "%s", sym);
    snprintf(a->cid, sizeof a->cid, "%s", cid);
    snprintf(a->cls, sizeof a->cls, "%s", cls);
    snprintf(a->why, sizeof a->why, "%s", why);
    role_key(&w->r, ik, sizeof ik, "intent:%s:%s", w->r.account, e->id);
    e->asking = 1;
    if (rconn_command(w->r.rc, sw_on_cancel_outcome, a, "GET %s", ik) < 0) {
        e->asking = 0;
        free(a);
    }
}

/* ---- maker->taker conversion ------------------------------------------------------------------
 */

struct sw_conv {
    struct sweeper *w;
    char sym[INTENT_SYM_MAX], cid[INTENT_CID_MAX];
    enum intent_side side;
    struct dec orig, executed;
    struct dec_filters f;
    int have_filters, replies, second; /* second: the book was asked for too */
    struct convert_out plan;
};

static void sw_conv_skip(struct sweeper *w, const struct sw_conv *c, const char *why)
{
    w->cv_skipped++;
    log_info("maker order not converted", "sym=%s cid=%s why=%s", c->sym, c->cid, why);
}

static void sw_on_conv_claim(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct sw_conv *c = privdata;
    struct sweeper *w = c->w;
    char px[DEC_STR_MAX], q[DEC_STR_MAX];
    (void)rc;
    if (!reply || role_stopping(&w->r) || reply->type == REDIS_REPLY_ERROR) goto out;
    if (reply->type != REDIS_REPLY_STATUS) { /* nil: converted before (another run) */
        w->cv_claimed_before++;
        goto out;
    }
    for (int i = 0; i < c->plan.plan.parts; i++) {
        struct intent in;
        memset(&in, 0, sizeof in);
        in.op = INTENT_ORDER;
        snprintf(in.sym, sizeof in.sym, "%s", c->sym);
        in.side = c->side;
        in.type = w->cv.market ? INTENT_MARKET : INTENT_LIMIT;
        in.tif = INTENT_IOC;
        in.has_qty = 1;
        in.qty = c->plan.plan.qty[i];
        in.has_price = !w->cv.market;
        in.price = c->plan.price;
        snprintf(in.cls, sizeof in.cls, "cv");
        snprintf(in.src, sizeof in.src, "%.63s", w->src);
        risk_new_id("v", in.id);
        if (risk_intent(w->r.rc, w->r.prefix, w->r.account, &in, NULL, NULL) < 0) break;
        w->conversions++;
        if (dec_format_trim(in.qty, q, sizeof q) < 0) q[0] = '\0';
        if (dec_format_trim(in.price, px, sizeof px) < 0) px[0] = '\0';
        log_info("maker order converted", "sym=%s cid=%s qty=%s bound=%s type=%s intent=%s", c->sym,
                 c->cid, q, px, w->cv.market ? "MARKET" : "LIMIT_IOC", in.id);
    }
    w->cv_orders++;
out:
    free(c);
}

/* The filters (first reply) and the book (second), then the plan and the claim. */
static void sw_on_conv_data(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct sw_conv *c = privdata;
    struct sweeper *w = c->w;
    char err[128], key[512], v[160];
    (void)rc;
    if (c->replies++ == 0) {
        const char *kv[128];
        size_t n = reply && reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
        if (n > 128) n = 128;
        for (size_t i = 0; i < n; i++)
            kv[i] = reply->element[i]->str ? reply->element[i]->str : "";
        c->have_filters = n > 0 && book_parse_filters(kv, n, &c->f, err, sizeof err) == 0;
        if (!c->second) free(c);
        return;
    }
    if (!reply || role_stopping(&w->r)) goto out;
    json_t *j = reply->type == REDIS_REPLY_STRING ? json_loads(reply->str, 0, NULL) : NULL;
    struct dec bid = {0, 0}, ask = {0, 0};
    if (j) {
        (void)jv_get_dec(j, "b", &bid, NULL, 0);
        (void)jv_get_dec(j, "a", &ask, NULL, 0);
    }
    json_decref(j);
    if (!c->have_filters) {
        sw_conv_skip(w, c, "no_filters");
        goto out;
    }
    enum convert_result cr =
        convert_plan(&c->f, c->side, c->orig, c->executed, bid, ask, &w->cv, &c->plan);
    if (cr != CONVERT_OK) {
        sw_conv_skip(w, c,
                     cr == CONVERT_TOO_SMALL ? size_result_name(c->plan.size)
                                             : convert_result_name(cr));
        goto out;
    }
    role_key(&w->r, key, sizeof key, "sweeper:%s:cv:%s:%s", w->r.account, c->sym, c->cid);
    snprintf(v, sizeof v, "{\"t\":%lld,\"src\":\"%.100s\"}", (long long)timebase_wall_ms(), w->src);
    if (rconn_command(w->r.rc, sw_on_conv_claim, c, "SET %s %s NX PX %lld", key, v,
                      (long long)SW_CV_TTL_MS) == 0)
        return;
out:
    free(c);
}

/* Nonzero when sym (or ALL) is on the ban list last read. */
static int sw_banned(const struct sweeper *w, const char *sym)
{
    char q[INTENT_SYM_MAX + 2];
    if (!w->bans) return 0;
    snprintf(q, sizeof q, "\"%s\"", sym);
    return strstr(w->bans, q) || strstr(w->bans, "\"ALL\"");
}

/* A maker open past mo_age: its conversion, once (memory here, the Redis claim across runs).
 * Not while the state is not ACTIVE or the symbol is banned (the gateway would deny the
 * opening order): it is tried again when that has passed. */
static void sw_convert(struct sweeper *w, const char *sym, const char *cid, json_t *o)
{
    char key[SW_CID_MAX], ks[256], kt[256];
    const char *side = NULL;
    if (!w->active || sw_banned(w, sym)) return;
    snprintf(key, sizeof key, "v:%s:%s", sym, cid);
    if (sw_recent(w, key, 7 * 86400000LL)) return;
    struct sw_conv *c = calloc(1, sizeof *c);
    if (!c) return;
    c->w = w;
    snprintf(c->sym, sizeof c->sym, "%s", sym);
    snprintf(c->cid, sizeof c->cid, "%s", cid);
    if (jv_opt_str(o, "side", &side, NULL, 0) < 0 || !side ||
        jv_get_dec(o, "origQty", &c->orig, NULL, 0) < 0) {
        sw_conv_skip(w, c, "no side or origQty");
        free(c);
        return;
    }
    c->side = !strcmp(side, "SELL") ? INTENT_SELL : INTENT_BUY;
    if (jv_opt_dec(o, "executedQty", &c->executed, NULL, 0) < 0) c->executed = (struct dec){0, 0};
    role_key(&w->r, ks, sizeof ks, "symbol:%s", sym);
    role_key(&w->r, kt, sizeof kt, "ticks");
    if (rconn_command(w->r.rc, sw_on_conv_data, c, "HGETALL %s", ks) < 0) {
        free(c);
        return;
    }
    c->second = 1;
    if (rconn_command(w->r.rc, sw_on_conv_data, c, "HGET %s %s", kt, sym) < 0)
        c->second = 0; /* not sent: the first reply frees it */
}

/* One open order (regular, or algo when algo is set) by the rules at the top. */
static void sw_order(struct sweeper *w, const char *sym, const char *cid, int64_t time, int algo,
                     json_t *o, int64_t now)
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
    if (!strcmp(cls, "mo") && w->convert && o && age > w->mo_age_ms) sw_convert(w, sym, cid, o);
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
        sw_order(w, sym, cid, t, algo, j, now);
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

/* One REST answer: the symbol's open orders (algo: its open algo orders), by the same rules. */
static void sw_on_rest_list(struct sweeper *w, const struct binance_result *res, int algo)
{
    const char *what = algo ? "openAlgoOrders" : "openOrders";
    int64_t now = sw_now(w);
    size_t i;
    json_t *o;
    w->rest_busy = 0;
    if (role_stopping(&w->r) || role_count_result(&w->r, res, what) < 0) return;
    if (!json_is_array(res->json)) {
        role_count_invalid(&w->r, what, "not an array");
        return;
    }
    w->rest_reads++;
    json_array_foreach(res->json, i, o)
    {
        const char *sym = NULL, *cid = NULL;
        int64_t t = 0;
        (void)jv_opt_str(o, "symbol", &sym, NULL, 0);
        (void)jv_opt_str(o, algo ? "clientAlgoId" : "clientOrderId", &cid, NULL, 0);
        (void)jv_opt_int64(o, algo ? "createTime" : "time", &t, NULL, 0);
        if (sym && cid) sw_order(w, sym, cid, t, algo, o, now);
    }
}

static void sw_on_rest(const struct binance_result *res, void *privdata)
{
    sw_on_rest_list(privdata, res, 0);
}

static void sw_on_rest_algo(const struct binance_result *res, void *privdata)
{
    sw_on_rest_list(privdata, res, 1);
}

/* Every reconcile period one read of one symbol: its open orders, then (next period) its open
 * algo orders, then the next symbol. */
static void sw_reconcile(struct sweeper *w)
{
    char q[64];
    int64_t now = timebase_mono_ms();
    if (w->rest_busy || !w->nsyms || now < w->rest_at) return;
    w->rest_at = now + w->reconcile_ms;
    int algo = w->rest_algo;
    snprintf(q, sizeof q, "symbol=%s", w->syms[w->next_sym % w->nsyms]);
    if (algo) w->next_sym++;
    w->rest_algo = !algo;
    w->rest_busy = 1;
    if (binance_request(w->r.bc, "GET", algo ? "/fapi/v1/openAlgoOrders" : "/fapi/v1/openOrders", q,
                        NULL, BINANCE_SIGNED, 1, algo ? sw_on_rest_algo : sw_on_rest, w) < 0)
        w->rest_busy = 0;
}

static void sw_on_state(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct sweeper *w = privdata;
    (void)rc;
    /* no key is ACTIVE (gate.h); anything unreadable is not */
    w->active = reply && (reply->type == REDIS_REPLY_NIL ||
                          (reply->type == REDIS_REPLY_STRING && !strcmp(reply->str, "ACTIVE")));
}

static void sw_on_bans(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct sweeper *w = privdata;
    (void)rc;
    free(w->bans);
    w->bans = reply && reply->type == REDIS_REPLY_STRING ? strdup(reply->str) : NULL;
}

static void sw_on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct sweeper *w = t->data;
    char kp[256], ko[256], ks[256], kb[256];
    (void)loop;
    (void)revents;
    if (w->busy || !role_redis_up(&w->r) || role_stopping(&w->r)) return;
    role_key(&w->r, kp, sizeof kp, "acct:%s:pos", w->r.account);
    role_key(&w->r, ko, sizeof ko, "acct:%s:orders", w->r.account);
    role_key(&w->r, ks, sizeof ks, "risk:state:%s", w->r.account);
    role_key(&w->r, kb, sizeof kb, "risk:ban");
    /* the state, the bans and the positions first: the replies come in order, so the orders
     * see fresh ones */
    if (rconn_command(w->r.rc, sw_on_state, w, "HGET %s state", ks) < 0 ||
        rconn_command(w->r.rc, sw_on_bans, w, "HGET %s symbols", kb) < 0 ||
        rconn_command(w->r.rc, sw_on_pos, w, "HGETALL %s", kp) < 0)
        return;
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
    json_object_set_new(o, "conversions", json_integer(w->conversions));
    json_object_set_new(o, "converted_orders", json_integer(w->cv_orders));
    json_object_set_new(o, "convert_skipped", json_integer(w->cv_skipped));
    json_object_set_new(o, "convert_claimed_before", json_integer(w->cv_claimed_before));
    json_object_set_new(o, "cancel_in_flight", json_integer(w->in_flight));
}

/* A decimal of [sweeper] within [lo, hi]. */
static int sw_dec(struct config *cfg, const char *key, const char *def, struct dec lo,
                  struct dec hi, struct dec *out, char *err, size_t cap)
{
    const char *v = NULL;
    if (config_str(cfg, "sweeper", key, def, &v) < 0) return -1;
    if (dec_parse(v, (size_t)-1, out) != DEC_OK || dec_cmp(*out, lo) < 0 || dec_cmp(*out, hi) > 0) {
        snprintf(err, cap, "[sweeper] %s: a decimal within the limits, not '%s'", key, v);
        return -1;
    }
    return 0;
}

static int sw_convert_config(struct sweeper *w, struct config *cfg, char *err, size_t cap)
{
    const char *type = NULL;
    if (config_bool(cfg, "sweeper", "convert", 1, &w->convert) < 0 ||
        config_duration_ms(cfg, "sweeper", "mo_age", 2500, 0, 86400000, &w->mo_age_ms) < 0 ||
        config_str(cfg, "sweeper", "convert_type", "LIMIT", &type) < 0)
        return -1;
    if (strcmp(type, "LIMIT") && strcmp(type, "MARKET")) {
        snprintf(err, cap, "[sweeper] convert_type: LIMIT (IOC at the bound) or MARKET, not '%s'",
                 type);
        return -1;
    }
    w->cv.market = !strcmp(type, "MARKET");
    return sw_dec(cfg, "convert_pct", "30", (struct dec){1, 2}, (struct dec){100, 0}, &w->cv.pct,
                  err, cap) < 0 ||
                   sw_dec(cfg, "convert_slip_pct", "0.2", (struct dec){0, 0}, (struct dec){10, 0},
                          &w->cv.slip_pct, err, cap) < 0
               ? -1
               : 0;
}

static int sw_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct sweeper *w = state;
    if (config_duration_ms(cfg, "sweeper", "every", 1000, 100, 60000, &w->every_ms) < 0 ||
        config_duration_ms(cfg, "sweeper", "to_age", 15000, 0, 86400000, &w->to_age_ms) < 0 ||
        config_duration_ms(cfg, "sweeper", "mc_age", 60000, 0, 86400000, &w->mc_age_ms) < 0 ||
        config_duration_ms(cfg, "sweeper", "retry", 10000, 100, 3600000, &w->retry_ms) < 0 ||
        config_duration_ms(cfg, "sweeper", "reconcile", 2000, 100, 3600000, &w->reconcile_ms) < 0)
        return -1;
    return sw_convert_config(w, cfg, err, cap);
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
    {"mo-age", "DURATION", NULL, "mo_age", "convert part of `mo` orders older than this (2s500ms)",
     0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* [sweeper] keys no option sets (core/role reports any other key of the section). */
static const char *const sweeper_keys[] = {"every",        "retry",       "reconcile",
                                           "convert",      "convert_pct", "convert_slip_pct",
                                           "convert_type", NULL};

const struct cli_command sweeper_cli = {
    .name = "sweeper",
    .summary = "stale-order cancels by class and age, maker->taker conversion, orphan alerts",
    .usage = "Reads bfq:acct:<acct>:orders, reconciles one symbol at a time over REST; cancels\n"
             "through bfq gateway.\n",
    .options = sweeper_options,
    .keys = sweeper_keys,
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
    free(w->bans);
    free(w);
    return rc;
}
