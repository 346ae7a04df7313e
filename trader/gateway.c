/* gateway: `bfq gateway`, the one writer to the exchange for an account.
 *
 * Reads <prefix>intents:<acct> as a member of the consumer group "gateway" (run two: each
 * intent entry goes to one of them) on its own blocking connection, and for each entry:
 *   1. claims the intent id: SET <prefix>intent:<acct>:<id> {"status":"claimed","by":me} NX.
 *      A later copy of the same id (replicated traders) finds the claim and is dropped and
 *      counted. A claim whose owner's heartbeat is gone is taken over (one taker, by a second
 *      NX key) and resolved by querying the exchange by client id first;
 *   2. reads what the decision needs, fresh from Redis: the trading state, the ban list, the
 *      symbol's filters, the one-way position and the book ticker; gate_check decides (see
 *      gate.h for the denial reasons);
 *   3. checks the account's order-rate budget: INCR of <prefix>gw:orders:<acct>:10s:<n> and
 *      :1m:<n> (exchange-clock windows), within [gateway] orders_percent of the limits of
 *      <prefix>exchange (orders10s, orders1m); the X-MBX-ORDER-COUNT-* answer headers correct
 *      the counts upward, like the weight budget;
 *   4. sends it signed, client order id "<class>_<id>", and records the outcome JSON under the
 *      claim key (TTL 24 h), publishes it on <prefix>ch:intent:<acct>, then XACKs the entry.
 * Never twice blindly: an answer that leaves the outcome unknown (5xx, timeout, transport
 * failure, a broken body, -1000/-1001/-1006/-1007) is followed, once the request can no longer
 * execute (its signature's recvWindow has passed), by GET /fapi/v1/order?origClientOrderId:
 * found means sent; -2013 means it never executed and it is sent again (at most
 * [gateway] max_sends times in all). A LIMIT GTX order answered -5022 (it would take) is
 * re-priced at the exchange's book ticker up to the intent's `reprice` times, then sent as
 * MARKET when the intent says fallback=taker.
 * Entries left pending by a dead gateway are taken with XAUTOCLAIM after [gateway] min_idle.
 *
 * Jobs (one per entry in progress) are owned by the gateway list and freed once done and no
 * callback of theirs is outstanding; on stop, what is in flight is left pending (not acked) for
 * the other gateway, and every job is freed after role_fini has run every callback. */
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
#include "trader/book.h"
#include "trader/gate.h"
#include "trader/intent.h"
#include "trader/tally.h"
#include "trader/trader.h"

#define GW_KEY_MAX 256
#define GW_GROUP "gateway"
#define GW_CLAIM_TTL_MS 86400000LL
#define GW_TAKE_TTL_MS 60000LL
#define GW_QUERY_TRIES 8
#define GW_MSG_MAX 200

enum gw_phase { GW_CLAIM, GW_VIEW, GW_RATE, GW_SEND, GW_QUERY, GW_DONE };

struct gateway;

struct gw_job {
    struct gateway *g;
    struct gw_job *next;
    char entry[48]; /* stream entry id */
    int reclaimed;  /* came from XAUTOCLAIM */
    struct intent in;
    char cid[INTENT_CID_MAX];
    char key[GW_KEY_MAX]; /* the claim key */
    enum gw_phase phase;
    int refs;  /* callbacks outstanding */
    int reads; /* view replies outstanding */
    struct gate_view v;
    struct gate_order o;
    int sends, reprices, queries;
    wall_ms_t signed_at;
    int64_t rate10, rate1m;
    ev_timer timer;
    int timer_on;
    void (*later)(struct gw_job *j); /* what the timer runs */
    int outcome_nx; /* never overwrite an existing claim (refused intents) */
    int reread;     /* our own claim, with no job on it, was read again once */
};

struct gateway {
    struct role r;
    struct rconn *rd; /* blocking reader connection */
    const char *redis_url;
    int64_t max_age_ms, min_idle_ms, claim_every_ms, query_delay_ms;
    int64_t max_jobs, max_sends, orders_pct;
    int64_t limit10s, limit1m;
    char stream[GW_KEY_MAX], ch[GW_KEY_MAX];
    struct gw_job *jobs;
    int njobs;
    int reading, group_ok;
    ev_timer claim_timer, read_timer;
    /* counters */
    int64_t entries, sent, denied, rejected, duplicates, unknown, queries, found_by_query,
        resent_after_query, reprices, takeovers, rate_denied, invalid, throttled, resent_unknown;
    struct tally denied_by;         /* denials by reason: the msg up to its first ':' or ' ' */
    int64_t pending, group_pending; /* XPENDING: this consumer's entries, the group's */
};

static void gw_read(struct gateway *g);
static void gw_send(struct gw_job *j);
static void gw_query(struct gw_job *j);
static void gw_view(struct gw_job *j);

/* ---- jobs ------------------------------------------------------------------------------- */

static void gw_unlink(struct gateway *g, struct gw_job *j)
{
    for (struct gw_job **p = &g->jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            g->njobs--;
            return;
        }
}

/* Frees a finished job once nothing of it is outstanding; then reading may resume. */
static void gw_release(struct gw_job *j)
{
    struct gateway *g = j->g;
    if (j->phase != GW_DONE || j->refs > 0) return;
    if (j->timer_on) ev_timer_stop(g->r.loop, &j->timer);
    gw_unlink(g, j);
    free(j);
    if (!g->reading && !role_stopping(&g->r)) gw_read(g);
}

/* The job is finished: nothing more will be sent for it. acked says whether the entry is
 * acknowledged (0 leaves it pending for another gateway). */
static void gw_finish(struct gw_job *j, int ack)
{
    struct gateway *g = j->g;
    j->phase = GW_DONE;
    if (ack && !role_stopping(&g->r))
        (void)rconn_command(g->r.rc, NULL, NULL, "XACK %s %s %s", g->stream, GW_GROUP, j->entry);
}

static void gw_on_later(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct gw_job *j = w->data;
    (void)loop;
    (void)revents;
    j->timer_on = 0;
    if (!role_stopping(&j->g->r)) j->later(j);
    gw_release(j);
}

/* Runs fn(j) in ms (unless the gateway is stopping by then). */
static void gw_after(struct gw_job *j, int64_t ms, void (*fn)(struct gw_job *))
{
    if (j->timer_on) ev_timer_stop(j->g->r.loop, &j->timer);
    j->later = fn;
    ev_timer_init(&j->timer, gw_on_later, (double)ms / 1000.0, 0.0);
    j->timer.data = j;
    ev_timer_start(j->g->r.loop, &j->timer);
    j->timer_on = 1;
}

/* ---- outcomes --------------------------------------------------------------------------- */

/* Records the outcome under the claim key, publishes it and acks the entry. */
static void gw_outcome(struct gw_job *j, const char *status, int64_t order_id,
                       const char *order_status, int code, const char *msg)
{
    struct gateway *g = j->g;
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(j->in.id));
    json_object_set_new(o, "status", json_string(status));
    json_object_set_new(o, "clientOrderId", json_string(j->cid));
    json_object_set_new(o, "orderId", json_integer(order_id));
    if (order_status) json_object_set_new(o, "orderStatus", json_string(order_status));
    json_object_set_new(o, "code", json_integer(code));
    json_object_set_new(o, "msg", json_string(msg ? msg : ""));
    json_object_set_new(o, "sym", json_string(j->in.sym));
    json_object_set_new(o, "by", json_string(g->r.instance));
    json_object_set_new(o, "sends", json_integer(j->sends));
    json_object_set_new(o, "t", json_integer(timebase_wall_ms()));
    char *s = jv_dump(o);
    json_decref(o);
    if (s) {
        (void)rconn_command(g->r.rc, NULL, NULL,
                            j->outcome_nx ? "SET %s %s NX PX %lld" : "SET %s %s PX %lld", j->key, s,
                            (long long)GW_CLAIM_TTL_MS);
        (void)rconn_command(g->r.rc, NULL, NULL, "PUBLISH %s %s", g->ch, s);
    }
    log_info("intent done", "id=%s sym=%s status=%s order=%lld code=%d msg=\"%s\" sends=%d",
             j->in.id, j->in.sym, status, (long long)order_id, code, msg ? msg : "", j->sends);
    free(s);
    if (!strcmp(status, "sent") || !strcmp(status, "canceled") || !strcmp(status, "ok"))
        g->sent++;
    else if (!strcmp(status, "denied"))
        g->denied++;
    else if (!strcmp(status, "rejected"))
        g->rejected++;
    else
        g->unknown++;
    gw_finish(j, 1);
}

static void gw_deny(struct gw_job *j, const char *reason)
{
    tally_add(&j->g->denied_by, reason, (int)strcspn(reason, ": "));
    gw_outcome(j, "denied", 0, NULL, 0, reason);
}

/* ---- exchange answers ------------------------------------------------------------------- */

/* -1008: the node is overloaded and refused the request (failed, not counted; reduce-only
 * orders and cancels are exempt): it is sent again after a backoff. */
static int gw_throttled(const struct binance_result *res)
{
    return (res->outcome == BINANCE_ESERVER || res->outcome == BINANCE_EAPI) && res->code == -1008;
}

/* Corrects the order-rate windows upward from the answer's headers. */
static void gw_observe_counts(struct gw_job *j, const struct binance_result *res)
{
    struct gateway *g = j->g;
    int64_t now = servertime_now(binance_servertime(g->r.bc));
    char k[GW_KEY_MAX];
    if (res->order_count_10s > j->rate10 && j->rate10 > 0 &&
        role_key(&g->r, k, sizeof k, "gw:orders:%s:10s:%lld", g->r.account,
                 (long long)(now / 10000)) > 0)
        (void)rconn_command(g->r.rc, NULL, NULL, "INCRBY %s %lld", k,
                            (long long)(res->order_count_10s - j->rate10));
    if (res->order_count_1m > j->rate1m && j->rate1m > 0 &&
        role_key(&g->r, k, sizeof k, "gw:orders:%s:1m:%lld", g->r.account,
                 (long long)(now / 60000)) > 0)
        (void)rconn_command(g->r.rc, NULL, NULL, "INCRBY %s %lld", k,
                            (long long)(res->order_count_1m - j->rate1m));
}

static int64_t gw_order_id(const json_t *o, const char **status)
{
    int64_t id = 0;
    *status = NULL;
    (void)jv_opt_int64(o, "orderId", &id, NULL, 0);
    (void)jv_opt_str(o, "status", status, NULL, 0);
    if (!id) (void)jv_opt_int64(o, "algoId", &id, NULL, 0); /* an algo order's answer */
    if (!*status) (void)jv_opt_str(o, "algoStatus", status, NULL, 0);
    return id;
}

static void gw_on_book(const struct binance_result *res, void *privdata);

/* -5022: re-price at the exchange's own book ticker, or fall back to taker. */
static int gw_maker_retry(struct gw_job *j)
{
    struct gateway *g = j->g;
    char q[96];
    if (j->reprices < j->in.reprice) {
        j->reprices++;
        g->reprices++;
        snprintf(q, sizeof q, "symbol=%s", j->in.sym);
        j->refs++;
        if (binance_request(g->r.bc, "GET", "/fapi/v1/ticker/bookTicker", q, NULL, BINANCE_PUBLIC,
                            2, gw_on_book, j) == 0)
            return 1;
        j->refs--;
        return 0;
    }
    if (!j->in.fallback_taker) return 0;
    j->in.fallback_taker = 0;
    j->o.market = 1;
    j->in.type = INTENT_MARKET;
    if (!strcmp(j->in.cls, "mo")) memcpy(j->in.cls, "to", 3);
    if (!strcmp(j->in.cls, "mc")) memcpy(j->in.cls, "tc", 3);
    (void)intent_client_id(j->in.cls, j->in.id, j->cid);
    gw_send(j);
    return 1;
}

static void gw_on_book(const struct binance_result *res, void *privdata)
{
    struct gw_job *j = privdata;
    struct dec px;
    j->refs--;
    if (role_stopping(&j->g->r)) goto out;
    const char *k = j->in.side == INTENT_BUY ? "bidPrice" : "askPrice";
    if (res->outcome == BINANCE_OK && jv_get_dec(res->json, k, &px, NULL, 0) == 0 &&
        dec_sign(px) > 0) {
        j->o.price = px;
        gw_send(j);
    } else {
        gw_outcome(j, "rejected", 0, NULL, -5022, "post-only would take; no book to re-price");
    }
out:
    gw_release(j);
}

/* Schedules the query by client id for when the last signed request can no longer execute. */
static void gw_unknown(struct gw_job *j, wall_ms_t from)
{
    int64_t wait = from + j->g->query_delay_ms - timebase_wall_ms();
    j->phase = GW_QUERY;
    gw_after(j, wait > 0 ? wait : 0, gw_query);
}

/* Sends again after ms, or, when the sends are spent, ends with that status and the answer. */
static void gw_resend(struct gw_job *j, int64_t ms, const char *status,
                      const struct binance_result *res)
{
    if (j->sends >= j->g->max_sends) {
        gw_outcome(j, status, 0, NULL, res->code, res->msg);
        return;
    }
    j->phase = GW_SEND;
    gw_after(j, ms, gw_send);
}

static int gw_is_order(const struct gw_job *j)
{
    return j->in.op == INTENT_ORDER || j->in.op == INTENT_ALGO;
}

static int gw_is_cancel(const struct gw_job *j)
{
    return j->in.op == INTENT_CANCEL || j->in.op == INTENT_CANCEL_ALGO;
}

/* An answer that leaves the outcome unknown. An order or a cancel is queried by client id
 * once its request can no longer execute; cancel_all and leverage, which are idempotent, are
 * sent again. */
static void gw_unknown_answer(struct gw_job *j, const struct binance_result *res)
{
    log_warn("outcome unknown, will check before sending again", "id=%s cid=%s why=\"%s\"",
             j->in.id, j->cid, res->msg);
    if (gw_is_order(j) || gw_is_cancel(j)) {
        gw_unknown(j, res->sent_ms ? res->sent_ms : j->signed_at);
    } else {
        j->g->resent_unknown++;
        gw_resend(j, 1000, "unknown", res);
    }
}

static void gw_on_sent(const struct binance_result *res, void *privdata)
{
    struct gw_job *j = privdata;
    struct gateway *g = j->g;
    const char *st = NULL;
    j->refs--;
    if (res->outcome == BINANCE_ELOCAL && role_stopping(&g->r)) {
        gw_finish(j, 0); /* left pending: the other gateway resolves it by query */
        goto out;
    }
    (void)role_count_result(&g->r, res, "order");
    gw_observe_counts(j, res);
    if (res->outcome == BINANCE_OK) {
        int64_t id = gw_order_id(res->json, &st);
        const char *status = j->in.op == INTENT_ORDER || j->in.op == INTENT_ALGO ? "sent"
                             : j->in.op == INTENT_CANCEL || j->in.op == INTENT_CANCEL_ALGO
                                 ? "canceled"
                                 : "ok";
        gw_outcome(j, status, id, st, 0, "");
    } else if (gw_throttled(res)) {
        g->throttled++;
        gw_resend(j, 250LL << (j->sends < 4 ? j->sends : 4), "rejected", res);
    } else if (binance_outcome_unknown(res)) {
        gw_unknown_answer(j, res);
    } else if (res->outcome == BINANCE_EAPI && res->code == -5022 && gw_maker_retry(j)) {
        /* re-priced or converted: a new request is on its way */
    } else {
        gw_outcome(j, "rejected", 0, NULL, res->code, res->msg);
    }
out:
    gw_release(j);
}

/* The order a cancel with an unknown outcome was for, as the query found it: canceled (by
 * that cancel), still open (the cancel is sent again), or gone otherwise (filled, or never
 * there): nothing to cancel. */
static void gw_cancel_checked(struct gw_job *j, const struct binance_result *res)
{
    const char *st = NULL;
    int64_t id = res->outcome == BINANCE_OK ? gw_order_id(res->json, &st) : 0;
    char msg[GW_MSG_MAX];
    if (st && (!strcmp(st, "CANCELED") || !strcmp(st, "EXPIRED"))) {
        j->g->found_by_query++;
        gw_outcome(j, "canceled", id, st, 0, "found canceled after an unknown outcome");
    } else if (st && (!strcmp(st, "NEW") || !strcmp(st, "PARTIALLY_FILLED")) &&
               j->sends < j->g->max_sends) {
        j->g->resent_after_query++;
        gw_send(j);
    } else {
        snprintf(msg, sizeof msg, "after an unknown outcome the order is %s",
                 st ? st : "unknown to the exchange");
        gw_outcome(j, "rejected", id, st, res->code ? res->code : -2011, msg);
    }
}

static void gw_on_query(const struct binance_result *res, void *privdata)
{
    struct gw_job *j = privdata;
    struct gateway *g = j->g;
    const char *st = NULL;
    j->refs--;
    if (role_stopping(&g->r)) {
        gw_finish(j, 0);
        goto out;
    }
    (void)role_count_result(&g->r, res, "query order");
    if (gw_is_cancel(j) &&
        (res->outcome == BINANCE_OK || (res->outcome == BINANCE_EAPI && res->code == -2013))) {
        gw_cancel_checked(j, res);
    } else if (res->outcome == BINANCE_OK) {
        int64_t id = gw_order_id(res->json, &st);
        g->found_by_query++;
        gw_outcome(j, "sent", id, st, 0, "found by client id after an unknown outcome");
    } else if (res->outcome == BINANCE_EAPI && res->code == -2013) {
        if (j->sends >= g->max_sends) {
            gw_outcome(j, "rejected", 0, NULL, res->code, "never executed; send limit reached");
        } else {
            g->resent_after_query++;
            log_info("order never executed, sending again", "id=%s cid=%s", j->in.id, j->cid);
            if (j->sends == 0)
                gw_view(j); /* a takeover: the checks were never made here */
            else
                gw_send(j);
        }
    } else if (j->queries < GW_QUERY_TRIES) {
        gw_unknown(j, timebase_wall_ms() - g->query_delay_ms + 1000 * j->queries);
    } else {
        gw_outcome(j, "unknown", 0, NULL, res->code, "outcome unknown: query failed");
    }
out:
    gw_release(j);
}

static void gw_query(struct gw_job *j)
{
    struct gateway *g = j->g;
    char q[128];
    j->queries++;
    g->queries++;
    int algo = j->in.op == INTENT_ALGO || j->in.op == INTENT_CANCEL_ALGO;
    const char *cid = gw_is_cancel(j) ? j->in.orig : j->cid; /* a cancel: the order it cancels */
    if (algo)
        snprintf(q, sizeof q, "clientAlgoId=%s", cid);
    else
        snprintf(q, sizeof q, "symbol=%s&origClientOrderId=%s", j->in.sym, cid);
    j->refs++;
    if (binance_request(g->r.bc, "GET", algo ? "/fapi/v1/algoOrder" : "/fapi/v1/order", q, NULL,
                        BINANCE_SIGNED, 1, gw_on_query, j) < 0) {
        j->refs--;
        gw_unknown(j, timebase_wall_ms());
    }
}

/* ---- sending ------------------------------------------------------------------------------ */

static void gw_q_add(char *q, size_t cap, const char *k, const char *v)
{
    size_t n = strlen(q);
    snprintf(q + n, cap - n, "%s%s=%s", n ? "&" : "", k, v);
}

static void gw_q_dec(char *q, size_t cap, const char *k, struct dec d)
{
    char s[DEC_STR_MAX];
    if (dec_format_trim(d, s, sizeof s) > 0) gw_q_add(q, cap, k, s);
}

static void gw_send(struct gw_job *j)
{
    struct gateway *g = j->g;
    const char *method = "POST", *path = "/fapi/v1/order";
    char q[512] = "", lev[16];
    int weight = 0;
    gw_q_add(q, sizeof q, "symbol", j->in.sym);
    switch (j->in.op) {
    case INTENT_ORDER:
        gw_q_add(q, sizeof q, "side", intent_side_name(j->in.side));
        gw_q_add(q, sizeof q, "type", j->o.market ? "MARKET" : "LIMIT");
        gw_q_dec(q, sizeof q, "quantity", j->o.qty);
        if (!j->o.market) {
            gw_q_dec(q, sizeof q, "price", j->o.price);
            gw_q_add(q, sizeof q, "timeInForce", intent_tif_name(j->in.tif));
        }
        if (j->in.reduce) gw_q_add(q, sizeof q, "reduceOnly", "true");
        gw_q_add(q, sizeof q, "newClientOrderId", j->cid);
        gw_q_add(q, sizeof q, "newOrderRespType", "RESULT");
        break;
    case INTENT_CANCEL:
        method = "DELETE";
        weight = 1;
        gw_q_add(q, sizeof q, "origClientOrderId", j->in.orig);
        break;
    case INTENT_CANCEL_ALL:
        method = "DELETE";
        path = "/fapi/v1/allOpenOrders";
        weight = 1;
        break;
    case INTENT_ALGO:
        path = "/fapi/v1/algoOrder";
        gw_q_add(q, sizeof q, "algoType", "CONDITIONAL");
        gw_q_add(q, sizeof q, "side", intent_side_name(j->in.side));
        gw_q_add(q, sizeof q, "type", "STOP_MARKET");
        gw_q_dec(q, sizeof q, "quantity", j->o.qty);
        gw_q_dec(q, sizeof q, "triggerPrice", j->in.trigger);
        gw_q_add(q, sizeof q, "workingType",
                 j->in.contract_price ? "CONTRACT_PRICE" : "MARK_PRICE");
        gw_q_add(q, sizeof q, "reduceOnly", "true");
        gw_q_add(q, sizeof q, "clientAlgoId", j->cid);
        break;
    case INTENT_CANCEL_ALGO:
        method = "DELETE";
        path = "/fapi/v1/algoOrder";
        weight = 1;
        gw_q_add(q, sizeof q, "clientAlgoId", j->in.orig);
        break;
    case INTENT_LEVERAGE:
        path = "/fapi/v1/leverage";
        weight = 1;
        snprintf(lev, sizeof lev, "%d", j->in.leverage);
        gw_q_add(q, sizeof q, "leverage", lev);
        break;
    }
    j->phase = GW_SEND;
    j->sends++;
    j->signed_at = timebase_wall_ms();
    j->refs++;
    if (binance_request(g->r.bc, method, path, q, NULL, BINANCE_SIGNED, weight, gw_on_sent, j) <
        0) {
        j->refs--;
        gw_outcome(j, "rejected", 0, NULL, 0, "request could not be built");
    }
}

/* ---- the order-rate budget ---------------------------------------------------------------- */

static void gw_on_rate(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct gw_job *j = privdata;
    struct gateway *g = j->g;
    (void)rc;
    j->refs--;
    j->reads--;
    if (j->phase != GW_RATE || role_stopping(&g->r)) goto out;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        gw_finish(j, 0); /* Redis trouble: leave it pending, it comes back by XAUTOCLAIM */
        goto out;
    }
    if (j->rate10 == 0)
        j->rate10 = reply->integer;
    else
        j->rate1m = reply->integer;
    if (j->reads > 0) goto out;
    if (j->rate10 * 100 > g->limit10s * g->orders_pct ||
        j->rate1m * 100 > g->limit1m * g->orders_pct) {
        g->rate_denied++;
        gw_deny(j, "RATE_LIMIT");
    } else {
        gw_send(j);
    }
out:
    gw_release(j);
}

static void gw_rate(struct gw_job *j)
{
    struct gateway *g = j->g;
    int64_t now = servertime_now(binance_servertime(g->r.bc));
    char k10[GW_KEY_MAX], k1m[GW_KEY_MAX];
    if (j->in.op != INTENT_ORDER && j->in.op != INTENT_ALGO) {
        gw_send(j);
        return;
    }
    j->phase = GW_RATE;
    j->rate10 = j->rate1m = 0;
    role_key(&g->r, k10, sizeof k10, "gw:orders:%s:10s:%lld", g->r.account,
             (long long)(now / 10000));
    role_key(&g->r, k1m, sizeof k1m, "gw:orders:%s:1m:%lld", g->r.account,
             (long long)(now / 60000));
    j->reads = 2;
    j->refs += 2;
    int a = rconn_command(g->r.rc, gw_on_rate, j, "INCR %s", k10);
    (void)rconn_command(g->r.rc, NULL, NULL, "PEXPIRE %s 20000", k10);
    int b = rconn_command(g->r.rc, gw_on_rate, j, "INCR %s", k1m);
    (void)rconn_command(g->r.rc, NULL, NULL, "PEXPIRE %s 120000", k1m);
    if (a < 0 || b < 0) {
        j->refs -= (a < 0) + (b < 0);
        j->reads -= (a < 0) + (b < 0);
        gw_finish(j, 0);
    }
}

/* ---- the view: what the decision reads ---------------------------------------------------- */

enum gw_read_kind { GW_R_STATE, GW_R_BAN, GW_R_SYMBOL, GW_R_POS, GW_R_TICK, GW_R_COUNT };

struct gw_read_ctx {
    struct gw_job *j;
    enum gw_read_kind kind;
};

static void gw_apply_ban(struct gw_job *j, const char *s)
{
    json_t *a = s ? json_loads(s, 0, NULL) : NULL;
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        const char *v = json_string_value(e);
        if (v && (!strcmp(v, "ALL") || !strcmp(v, j->in.sym))) j->v.banned = 1;
    }
    json_decref(a);
}

static void gw_apply_symbol(struct gw_job *j, const redisReply *r)
{
    const char *kv[64];
    size_t n = 0;
    for (size_t i = 0; i < r->elements && n < 64; i++) {
        kv[n++] = r->element[i]->str ? r->element[i]->str : "";
        if (i % 2 == 1 && !strcmp(kv[n - 2], "tradable")) j->v.tradable = !strcmp(kv[n - 1], "1");
    }
    j->v.has_filters = n > 0 && book_parse_filters(kv, n, &j->v.filters, NULL, 0) == 0;
}

static void gw_apply_json(struct gw_job *j, enum gw_read_kind kind, const char *s)
{
    json_t *o = s ? json_loads(s, 0, NULL) : NULL;
    if (kind == GW_R_POS && o) {
        (void)jv_get_dec(o, "amt", &j->v.pos_amt, NULL, 0);
    } else if (kind == GW_R_TICK && o) {
        j->v.has_book = jv_get_dec(o, "b", &j->v.bid, NULL, 0) == 0 &&
                        jv_get_dec(o, "a", &j->v.ask, NULL, 0) == 0 && dec_sign(j->v.bid) > 0;
    }
    json_decref(o);
}

static void gw_decide(struct gw_job *j)
{
    char reason[GATE_REASON_MAX];
    j->v.now_ms = timebase_wall_ms();
    j->v.max_age_ms = j->sends ? 0 : j->g->max_age_ms; /* a resend is not a new decision */
    if (gate_check(&j->in, &j->v, &j->o, reason) < 0) {
        gw_deny(j, reason);
        return;
    }
    gw_rate(j);
}

static void gw_on_read(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct gw_read_ctx *c = privdata;
    struct gw_job *j = c->j;
    enum gw_read_kind kind = c->kind;
    (void)rc;
    free(c);
    j->refs--;
    j->reads--;
    if (j->phase != GW_VIEW || role_stopping(&j->g->r)) goto out;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        j->phase = GW_CLAIM; /* abandon; the entry stays pending and comes back */
        gw_finish(j, 0);
        goto out;
    }
    const char *s = reply->type == REDIS_REPLY_STRING ? reply->str : NULL;
    if (kind == GW_R_STATE && gate_state_parse(s, &j->v.state) < 0)
        j->v.state = GATE_HALTED;
    else if (kind == GW_R_BAN)
        gw_apply_ban(j, s);
    else if (kind == GW_R_SYMBOL && reply->type == REDIS_REPLY_ARRAY)
        gw_apply_symbol(j, reply);
    else if (kind == GW_R_POS || kind == GW_R_TICK)
        gw_apply_json(j, kind, s);
    if (j->reads == 0) gw_decide(j);
out:
    gw_release(j);
}

static void gw_view_cmd(struct gw_job *j, enum gw_read_kind kind, const char *fmt, const char *a,
                        const char *b)
{
    struct gw_read_ctx *c = malloc(sizeof(*c));
    if (!c) return;
    c->j = j;
    c->kind = kind;
    j->refs++;
    j->reads++;
    if (rconn_command(j->g->r.rc, gw_on_read, c, fmt, a, b) < 0) {
        j->refs--;
        j->reads--;
        free(c);
    }
}

static void gw_view(struct gw_job *j)
{
    struct gateway *g = j->g;
    char ks[GW_KEY_MAX], kb[GW_KEY_MAX], ksym[GW_KEY_MAX], kp[GW_KEY_MAX], kt[GW_KEY_MAX],
        field[64];
    memset(&j->v, 0, sizeof(j->v));
    j->phase = GW_VIEW;
    if (j->in.op != INTENT_ORDER && j->in.op != INTENT_LEVERAGE && j->in.op != INTENT_ALGO) {
        gw_decide(j);
        return;
    }
    role_key(&g->r, ks, sizeof ks, "risk:state:%s", g->r.account);
    role_key(&g->r, kb, sizeof kb, "risk:ban");
    role_key(&g->r, ksym, sizeof ksym, "symbol:%s", j->in.sym);
    role_key(&g->r, kp, sizeof kp, "acct:%s:pos", g->r.account);
    role_key(&g->r, kt, sizeof kt, "ticks");
    snprintf(field, sizeof field, "%s:BOTH", j->in.sym);
    gw_view_cmd(j, GW_R_STATE, "HGET %s %s", ks, "state");
    gw_view_cmd(j, GW_R_BAN, "HGET %s %s", kb, "symbols");
    gw_view_cmd(j, GW_R_SYMBOL, "HGETALL %s%s", ksym, "");
    gw_view_cmd(j, GW_R_POS, "HGET %s %s", kp, field);
    gw_view_cmd(j, GW_R_TICK, "HGET %s %s", kt, j->in.sym);
    if (j->reads < GW_R_COUNT) {
        j->phase = GW_CLAIM; /* Redis went down meanwhile: leave it pending */
        gw_finish(j, 0);
    }
}

/* ---- claims ------------------------------------------------------------------------------- */

static void gw_take_over(struct gw_job *j);

static void gw_on_alive(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct gw_job *j = privdata;
    (void)rc;
    j->refs--;
    if (role_stopping(&j->g->r)) goto out;
    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        gw_finish(j, 0);
    } else if (reply->integer > 0) {
        /* its owner lives and works on it: a copy is dropped, a reclaimed entry left pending */
        j->g->duplicates++;
        gw_finish(j, !j->reclaimed);
    } else {
        gw_take_over(j);
    }
out:
    gw_release(j);
}

static void gw_on_take(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct gw_job *j = privdata;
    struct gateway *g = j->g;
    (void)rc;
    j->refs--;
    if (role_stopping(&g->r)) goto out;
    if (!reply || reply->type != REDIS_REPLY_STATUS) {
        g->duplicates++; /* another gateway took it over */
        gw_finish(j, !j->reclaimed);
        goto out;
    }
    g->takeovers++;
    log_info("taking over an unfinished intent", "id=%s", j->in.id);
    char v[256]; /* the claim names its new owner, so the others see a live one */
    snprintf(v, sizeof v, "{\"status\":\"claimed\",\"by\":\"%s\",\"t\":%lld}", g->r.instance,
             (long long)timebase_wall_ms());
    (void)rconn_command(g->r.rc, NULL, NULL, "SET %s %s XX PX %lld", j->key, v,
                        (long long)GW_CLAIM_TTL_MS);
    if (j->in.op == INTENT_ORDER || j->in.op == INTENT_ALGO) {
        gw_unknown(j, timebase_wall_ms()); /* whatever it signed must expire first */
    } else {
        gw_view(j);
    }
out:
    gw_release(j);
}

static void gw_take_over(struct gw_job *j)
{
    struct gateway *g = j->g;
    char take[GW_KEY_MAX + 8];
    snprintf(take, sizeof take, "%s:take", j->key);
    j->refs++;
    if (rconn_command(g->r.rc, gw_on_take, j, "SET %s %s NX PX %lld", take, g->r.instance,
                      (long long)GW_TAKE_TTL_MS) < 0) {
        j->refs--;
        gw_finish(j, 0);
    }
}

/* Nonzero when another job of this gateway works on the same intent id as j. */
static int gw_has_intent(const struct gateway *g, const struct gw_job *j)
{
    for (const struct gw_job *k = g->jobs; k; k = k->next)
        if (k != j && k->phase != GW_DONE && !strcmp(k->in.id, j->in.id)) return 1;
    return 0;
}

/* An existing claim: final (a copy: drop it), ours, or another gateway's (alive or dead). */
static void gw_on_existing(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct gw_job *j = privdata;
    struct gateway *g = j->g;
    (void)rc;
    j->refs--;
    if (role_stopping(&g->r)) goto out;
    json_t *o = reply && reply->type == REDIS_REPLY_STRING ? json_loads(reply->str, 0, NULL) : NULL;
    const char *status = json_string_value(json_object_get(o, "status"));
    const char *by = json_string_value(json_object_get(o, "by"));
    char hb[GW_KEY_MAX];
    if (!o || !status || strcmp(status, "claimed") || !by) {
        g->duplicates++;
        gw_finish(j, o != NULL); /* gone (expired) between SET and GET: try again later */
    } else if (!strcmp(by, g->r.instance) && gw_has_intent(g, j)) {
        g->duplicates++; /* a copy of what a job of ours is doing */
        gw_finish(j, !j->reclaimed);
    } else if (!strcmp(by, g->r.instance) && !j->reread) {
        /* ours with no job on it: a job of ours may have just ended it, its outcome written on
         * this connection after our GET; read it once more before taking it over */
        j->reread = 1;
        j->refs++;
        if (rconn_command(g->r.rc, gw_on_existing, j, "GET %s", j->key) < 0) {
            j->refs--;
            gw_finish(j, 0);
        }
    } else if (!strcmp(by, g->r.instance)) {
        gw_take_over(j); /* ours, but its job was given up (Redis trouble): resolve it */
    } else if (role_key(&g->r, hb, sizeof hb, "hb:gateway:%s", by) > 0) {
        j->refs++;
        if (rconn_command(g->r.rc, gw_on_alive, j, "EXISTS %s", hb) < 0) {
            j->refs--;
            gw_finish(j, 0);
        }
    } else {
        gw_finish(j, 0);
    }
    json_decref(o);
out:
    gw_release(j);
}

static void gw_on_claim(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct gw_job *j = privdata;
    struct gateway *g = j->g;
    (void)rc;
    j->refs--;
    if (role_stopping(&g->r)) goto out;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        if (reply) log_warn("claim failed", "id=%s err=\"%s\"", j->in.id, reply->str);
        gw_finish(j, 0);
    } else if (reply->type == REDIS_REPLY_STATUS) {
        gw_view(j);
    } else {
        j->refs++;
        if (rconn_command(g->r.rc, gw_on_existing, j, "GET %s", j->key) < 0) {
            j->refs--;
            gw_finish(j, 0);
        }
    }
out:
    gw_release(j);
}

static void gw_claim(struct gw_job *j)
{
    struct gateway *g = j->g;
    char v[256];
    snprintf(v, sizeof v, "{\"status\":\"claimed\",\"by\":\"%s\",\"t\":%lld}", g->r.instance,
             (long long)timebase_wall_ms());
    j->refs++;
    if (rconn_command(g->r.rc, gw_on_claim, j, "SET %s %s NX PX %lld", j->key, v,
                      (long long)GW_CLAIM_TTL_MS) < 0) {
        j->refs--;
        gw_finish(j, 0);
    }
}

/* ---- entries ------------------------------------------------------------------------------ */

static int gw_has_entry(const struct gateway *g, const char *entry)
{
    for (const struct gw_job *j = g->jobs; j; j = j->next)
        if (!strcmp(j->entry, entry)) return 1;
    return 0;
}

/* One stream entry [id, [field, value, ...]]: a new job. */
static void gw_entry(struct gateway *g, const redisReply *e, int reclaimed)
{
    const char *kv[INTENT_FIELDS_MAX * 2];
    char err[160] = "";
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
        e->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *entry = e->element[0]->str;
    const redisReply *f = e->element[1];
    if (gw_has_entry(g, entry) || strlen(entry) >= 48) return;
    if (f->type != REDIS_REPLY_ARRAY) return; /* deleted meanwhile */
    struct gw_job *j = calloc(1, sizeof(*j));
    if (!j) return;
    j->g = g;
    j->reclaimed = reclaimed;
    memcpy(j->entry, entry, strlen(entry) + 1);
    j->next = g->jobs;
    g->jobs = j;
    g->njobs++;
    g->entries++;
    size_t n = 0;
    for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i < f->elements && n < INTENT_FIELDS_MAX * 2;
         i++)
        kv[n++] = f->element[i]->str ? f->element[i]->str : "";
    int ok = intent_parse(kv, n, &j->in, err, sizeof err) == 0 &&
             intent_client_id(j->in.cls, j->in.id, j->cid) == 0;
    if (ok && role_key(&g->r, j->key, sizeof j->key, "intent:%s:%s", g->r.account, j->in.id) < 0)
        ok = 0;
    if (!ok) {
        g->invalid++;
        log_warn("intent refused", "entry=%s reason=\"%s\"", entry, err);
        if (j->in.id[0] &&
            role_key(&g->r, j->key, sizeof j->key, "intent:%s:%s", g->r.account, j->in.id) > 0) {
            char msg[GW_MSG_MAX];
            snprintf(msg, sizeof msg, "INVALID: %s", err);
            j->outcome_nx = 1;
            gw_deny(j, msg);
        } else {
            gw_finish(j, 1);
        }
        gw_release(j);
        return;
    }
    gw_claim(j);
}

static void gw_entries(struct gateway *g, const redisReply *list, int reclaimed)
{
    for (size_t i = 0; list && list->type == REDIS_REPLY_ARRAY && i < list->elements; i++)
        gw_entry(g, list->element[i], reclaimed);
}

static void gw_on_read_entries(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct gateway *g = privdata;
    (void)rc;
    g->reading = 0;
    if (role_stopping(&g->r)) return;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        if (reply) log_warn("XREADGROUP failed", "err=\"%s\"", reply->str);
        if (reply && strstr(reply->str, "NOGROUP")) g->group_ok = 0;
        ev_timer_again(g->r.loop, &g->read_timer); /* retry in a second */
        return;
    }
    /* [[stream, [entries]]] */
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements >= 1 &&
        reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements == 2)
        gw_entries(g, reply->element[0]->element[1], 0);
    gw_read(g);
}

static void gw_on_group(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct gateway *g = privdata;
    (void)rc;
    if (role_stopping(&g->r)) return;
    g->group_ok = reply && (reply->type == REDIS_REPLY_STATUS ||
                            (reply->type == REDIS_REPLY_ERROR && strstr(reply->str, "BUSYGROUP")));
    if (!g->group_ok) {
        if (!reply) return; /* connection lost: the up callback starts again */
        if (reply) log_warn("XGROUP CREATE failed", "err=\"%s\"", reply->str);
        ev_timer_again(g->r.loop, &g->read_timer);
        return;
    }
    gw_read(g);
}

static void gw_read(struct gateway *g)
{
    /* both connections: an entry read while the command connection is still down could not
     * be claimed, and would wait for XAUTOCLAIM */
    if (g->reading || role_stopping(&g->r) || !g->rd || !rconn_is_up(g->rd) ||
        !role_redis_up(&g->r))
        return;
    if (g->group_ok == 0) { /* the group first (idempotent: BUSYGROUP is fine) */
        g->group_ok = -1;
        if (rconn_command(g->rd, gw_on_group, g, "XGROUP CREATE %s %s 0 MKSTREAM", g->stream,
                          GW_GROUP) < 0)
            g->group_ok = 0;
        return;
    }
    if (g->group_ok < 0 || g->njobs >= g->max_jobs) return;
    g->reading = 1;
    if (rconn_command(g->rd, gw_on_read_entries, g,
                      "XREADGROUP GROUP %s %s COUNT 16 BLOCK 1000 STREAMS %s >", GW_GROUP,
                      g->r.instance, g->stream) < 0)
        g->reading = 0;
}

static void gw_on_read_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct gateway *g = w->data;
    (void)loop;
    (void)revents;
    ev_timer_stop(loop, w);
    if (g->group_ok < 0) g->group_ok = 0;
    gw_read(g);
}

static void gw_on_autoclaim(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct gateway *g = privdata;
    (void)rc;
    if (role_stopping(&g->r) || !reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2)
        return;
    gw_entries(g, reply->element[1], 1);
}

/* XPENDING summary: [count, min, max, [[consumer, count], ...]]. */
static void gw_on_pending(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct gateway *g = privdata;
    (void)rc;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4) return;
    g->group_pending =
        reply->element[0]->type == REDIS_REPLY_INTEGER ? reply->element[0]->integer : 0;
    g->pending = 0;
    const redisReply *cs = reply->element[3];
    for (size_t i = 0; cs->type == REDIS_REPLY_ARRAY && i < cs->elements; i++) {
        const redisReply *e = cs->element[i];
        if (e->type == REDIS_REPLY_ARRAY && e->elements == 2 && e->element[0]->str &&
            e->element[1]->str && !strcmp(e->element[0]->str, g->r.instance))
            g->pending = strtoll(e->element[1]->str, NULL, 10);
    }
}

static void gw_on_claim_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct gateway *g = w->data;
    (void)loop;
    (void)revents;
    if (g->group_ok != 1) return;
    (void)rconn_command(g->r.rc, gw_on_pending, g, "XPENDING %s %s", g->stream, GW_GROUP);
    if (g->njobs >= g->max_jobs) return;
    (void)rconn_command(g->r.rc, gw_on_autoclaim, g, "XAUTOCLAIM %s %s %s %lld 0-0 COUNT 16",
                        g->stream, GW_GROUP, g->r.instance, (long long)g->min_idle_ms);
    if (!g->reading) gw_read(g);
}

/* ---- role hooks --------------------------------------------------------------------------- */

static void gw_on_limits(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct gateway *g = privdata;
    (void)rc;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return;
    for (int i = 0; i < 2; i++) {
        const redisReply *e = reply->element[i];
        long long v = e->type == REDIS_REPLY_STRING ? strtoll(e->str, NULL, 10) : 0;
        if (v > 0) *(i ? &g->limit1m : &g->limit10s) = v;
    }
}

static void gw_redis_up(struct role *r, void *privdata)
{
    struct gateway *g = privdata;
    char k[GW_KEY_MAX];
    if (role_key(r, k, sizeof k, "exchange") > 0)
        (void)rconn_command(r->rc, gw_on_limits, g, "HMGET %s orders10s orders1m", k);
    gw_read(g); /* when the reader was up first */
}

static void gw_rd_up(struct rconn *rc, void *privdata)
{
    struct gateway *g = privdata;
    (void)rc;
    g->reading = 0;
    g->group_ok = 0;
    gw_read(g);
}

static void gw_rd_down(struct rconn *rc, const char *errstr, void *privdata)
{
    struct gateway *g = privdata;
    (void)rc;
    g->reading = 0;
    log_warn("intent reader down", "err=\"%s\"", errstr ? errstr : "");
}

static void gw_fill(struct role *r, json_t *o, void *privdata)
{
    struct gateway *g = privdata;
    (void)r;
    json_object_set_new(o, "stream", json_string(g->stream));
    json_object_set_new(o, "in_flight", json_integer(g->njobs));
    json_object_set_new(o, "intents", json_integer(g->entries));
    json_object_set_new(o, "sent", json_integer(g->sent));
    json_object_set_new(o, "denied", json_integer(g->denied));
    json_object_set_new(o, "rejected", json_integer(g->rejected));
    json_object_set_new(o, "duplicates", json_integer(g->duplicates));
    json_object_set_new(o, "unknown", json_integer(g->unknown));
    json_object_set_new(o, "queries", json_integer(g->queries));
    json_object_set_new(o, "found_by_query", json_integer(g->found_by_query));
    json_object_set_new(o, "resent_after_query", json_integer(g->resent_after_query));
    json_object_set_new(o, "reprices", json_integer(g->reprices));
    json_object_set_new(o, "takeovers", json_integer(g->takeovers));
    json_object_set_new(o, "rate_denied", json_integer(g->rate_denied));
    json_object_set_new(o, "invalid", json_integer(g->invalid));
    json_object_set_new(o, "throttled", json_integer(g->throttled));
    json_object_set_new(o, "denied_by", tally_json(&g->denied_by));
    json_object_set_new(o, "pending", json_integer(g->pending));
    json_object_set_new(o, "group_pending", json_integer(g->group_pending));
    json_object_set_new(o, "resent_unknown", json_integer(g->resent_unknown));
}

static int gw_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct gateway *g = state;
    (void)err;
    (void)cap;
    if (config_required(cfg, "redis", "url", &g->redis_url) < 0 ||
        config_duration_ms(cfg, "gateway", "max_age", 60000, 100, 86400000, &g->max_age_ms) < 0 ||
        config_duration_ms(cfg, "gateway", "min_idle", 15000, 1000, 3600000, &g->min_idle_ms) < 0 ||
        config_duration_ms(cfg, "gateway", "claim_every", 2000, 100, 60000, &g->claim_every_ms) <
            0 ||
        config_duration_ms(cfg, "gateway", "query_delay", BINANCE_RECV_WINDOW_MS + 1000, 0, 60000,
                           &g->query_delay_ms) < 0 ||
        config_int(cfg, "gateway", "max_jobs", 64, 1, 10000, &g->max_jobs) < 0 ||
        config_int(cfg, "gateway", "max_sends", 3, 1, 10, &g->max_sends) < 0 ||
        config_int(cfg, "gateway", "orders_percent", 90, 1, 100, &g->orders_pct) < 0)
        return -1;
    g->limit10s = 300;
    g->limit1m = 1200;
    return 0;
}

static int gw_start(struct role *r, void *state, char *err, size_t cap)
{
    struct gateway *g = state;
    char name[ROLE_ID_MAX + 16], rerr[RCONN_ERR_MAX] = "";
    if (role_key(r, g->stream, sizeof g->stream, "intents:%s", r->account) < 0 ||
        role_key(r, g->ch, sizeof g->ch, "ch:intent:%s", r->account) < 0) {
        snprintf(err, cap, "[redis] prefix too long");
        return -1;
    }
    snprintf(name, sizeof name, "gateway-rd:%s", r->instance);
    struct rconn_options ro = {.url = g->redis_url, .name = name};
    struct rconn_callbacks cb = {.up = gw_rd_up, .down = gw_rd_down, .privdata = g};
    g->rd = rconn_new(r->loop, &ro, &cb, rerr, sizeof rerr);
    if (!g->rd) {
        snprintf(err, cap, "[redis] url: %s", rerr);
        return -1;
    }
    ev_timer_init(&g->claim_timer, gw_on_claim_timer, (double)g->claim_every_ms / 1000.0,
                  (double)g->claim_every_ms / 1000.0);
    g->claim_timer.data = g;
    ev_timer_start(r->loop, &g->claim_timer);
    ev_init(&g->read_timer, gw_on_read_timer);
    g->read_timer.repeat = 1.0;
    g->read_timer.data = g;
    log_info("gateway ready", "stream=%s group=%s min_idle_ms=%lld", g->stream, GW_GROUP,
             (long long)g->min_idle_ms);
    return 0;
}

static void gw_stop(struct role *r, void *state)
{
    struct gateway *g = state;
    ev_timer_stop(r->loop, &g->claim_timer);
    ev_timer_stop(r->loop, &g->read_timer);
    for (struct gw_job *j = g->jobs; j; j = j->next)
        if (j->timer_on) {
            ev_timer_stop(r->loop, &j->timer);
            j->timer_on = 0;
        }
    if (g->rd) rconn_free(g->rd);
    g->rd = NULL;
}

static const struct cli_option gateway_options[] = {
    {"max-age", "DURATION", NULL, "max_age", "deny intents older than this (default 60s)", 0},
    {"min-idle", "DURATION", NULL, "min_idle", "take over entries pending this long (default 15s)",
     0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* [gateway] keys no option sets (core/role reports any other key of the section). */
static const char *const gateway_keys[] = {"claim_every", "query_delay", "max_jobs", "max_sends",
                                           "orders_percent", NULL};

const struct cli_command gateway_cli = {
    .name = "gateway",
    .summary = "the one writer to the exchange: each order intent once, checked (run two)",
    .usage = "Reads bfq:intents:<acct> as consumer group \"gateway\"; outcomes in\n"
             "bfq:intent:<acct>:<id> and on bfq:ch:intent:<acct>.\n",
    .options = gateway_options,
    .keys = gateway_keys,
    .role_options = 1,
};

int gateway_main(int argc, char **argv)
{
    static const struct role_entry e = {
        .cmd = &gateway_cli,
        .opts = {.lua_library = bfq_lua_library,
                 .needs_account = 1,
                 .ready_on_redis = 1, /* it sends when an intent comes */
                 .up = gw_redis_up,
                 .fill = gw_fill},
        .config = gw_config,
        .start = gw_start,
        .stop = gw_stop,
    };
    struct gateway *g = calloc(1, sizeof(*g));
    if (!g) return 1;
    int rc = role_main(&e, &g->r, g, argc, argv);
    while (g->jobs) {
        struct gw_job *j = g->jobs;
        g->jobs = j->next;
        free(j);
    }
    free(g);
    return rc;
}
