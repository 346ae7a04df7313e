/* direct: a replica's 1/N share sent by the trader itself (see direct.h).
 *
 * Each order sent is a struct dorder until its outcome is known. An answer that leaves the
 * outcome unknown (binance_outcome_unknown) arms a timer; the order is then queried by its
 * client id, again with back-off while the query itself fails or the exchange does not know
 * the fresh id yet (-2013 a few times), and it ends found (sent), not placed, or unresolved
 * after DIRECT_QUERIES. Nothing is ever re-sent: a share may be lost, never doubled. A dorder
 * is freed by the callback or timer that ends it; direct_free first cancels the requests in
 * flight (their callbacks see BINANCE_ELOCAL and leave their dorder), then frees them all. */
#include "trader/direct.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backoff.h"
#include "core/binance.h"
#include "core/config.h"
#include "core/http.h"
#include "core/log.h"
#include "trader/sizing.h"

#define DIRECT_QUERIES 8     /* queries of one unknown order before it is left unresolved */
#define DIRECT_UNKNOWN_IDS 3 /* -2013 answers before "not placed" (a fresh id can lag) */

struct direct;

struct dorder {
    struct direct *d;
    char sym[32], cid[INTENT_CID_MAX];
    int queries, not_found;
    struct backoff bo;
    ev_timer timer;
    struct dorder *prev, *next; /* d->orders: every dorder alive */
};

struct direct {
    struct ev_loop *loop;
    struct http_client *http;
    struct binance_client *bc;
    struct dorder *orders;
    int closing;
    int64_t sent, rejected, unknown, denied, skipped, found, not_placed, unresolved, queries;
};

struct direct *direct_new(struct ev_loop *loop, struct config *cfg, const char *account, char *err,
                          size_t cap)
{
    char sect[96];
    const char *url = NULL, *key = NULL, *secret = NULL;
    snprintf(sect, sizeof sect, "account.%s", account);
    if (config_str(cfg, "exchange", "rest_url", "http://127.0.0.1:8080", &url) < 0 ||
        config_secret(cfg, sect, "api_key", &key) < 0 ||
        config_secret(cfg, sect, "api_secret", &secret) < 0) {
        snprintf(err, cap, "%s", config_errstr(cfg));
        return NULL;
    }
    struct direct *d = calloc(1, sizeof(*d));
    if (d) d->loop = loop;
    if (!d || !(d->http = http_client_new(loop))) {
        free(d);
        snprintf(err, cap, "http: cannot initialise libcurl");
        return NULL;
    }
    struct binance_config bcfg = {.rest_url = url, .api_key = key, .api_secret = secret};
    d->bc = binance_client_new(d->http, &bcfg, err, cap);
    if (!d->bc) {
        http_client_free(d->http);
        free(d);
        return NULL;
    }
    return d;
}

static void dorder_free(struct dorder *o)
{
    struct direct *d = o->d;
    ev_timer_stop(d->loop, &o->timer);
    if (o->prev) o->prev->next = o->next;
    else d->orders = o->next;
    if (o->next) o->next->prev = o->prev;
    free(o);
}

void direct_free(struct direct *d)
{
    if (!d) return;
    d->closing = 1;
    binance_client_free(d->bc); /* in-flight callbacks run now, with BINANCE_ELOCAL */
    while (d->orders) {
        d->unresolved++;
        dorder_free(d->orders);
    }
    http_client_free(d->http);
    free(d);
}

static void direct_query(struct dorder *o);

static void dorder_later(struct dorder *o)
{
    ev_timer_set(&o->timer, (double)backoff_next(&o->bo) / 1000.0, 0.0);
    ev_timer_start(o->d->loop, &o->timer);
}

static void dorder_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    direct_query(w->data);
}

/* The order's outcome is known now (or will never be): it leaves the unknown count. */
static void dorder_end(struct dorder *o, int64_t *counter, const char *what)
{
    o->d->unknown--;
    (*counter)++;
    log_info(what, "cid=%s sym=%s queries=%d", o->cid, o->sym, o->queries);
    dorder_free(o);
}

static void direct_on_query(const struct binance_result *res, void *privdata)
{
    struct dorder *o = privdata;
    struct direct *d = o->d;
    if (d->closing) return; /* direct_free frees it */
    if (res->outcome == BINANCE_OK) {
        d->sent++;
        dorder_end(o, &d->found, "direct order found by client id after an unknown outcome");
    } else if (res->outcome == BINANCE_EAPI && res->code == -2013 &&
               ++o->not_found >= DIRECT_UNKNOWN_IDS) {
        dorder_end(o, &d->not_placed, "direct order never placed; its share is not re-sent");
    } else if (o->queries >= DIRECT_QUERIES) {
        log_warn("direct order outcome unresolved", "cid=%s why=\"%s\"", o->cid, res->msg);
        dorder_end(o, &d->unresolved, "direct order left unresolved");
    } else {
        dorder_later(o);
    }
}

static void direct_query(struct dorder *o)
{
    char q[128];
    o->queries++;
    o->d->queries++;
    snprintf(q, sizeof q, "symbol=%s&origClientOrderId=%s", o->sym, o->cid);
    if (binance_request(o->d->bc, "GET", "/fapi/v1/order", q, NULL, BINANCE_SIGNED, 1,
                        direct_on_query, o) < 0)
        dorder_later(o);
}

static void direct_done(const struct binance_result *res, void *privdata)
{
    struct dorder *o = privdata;
    struct direct *d = o->d;
    if (d->closing) return; /* direct_free frees it */
    if (res->outcome == BINANCE_OK) {
        d->sent++;
        dorder_free(o);
    } else if (binance_outcome_unknown(res)) {
        d->unknown++; /* queried by client id, never re-sent: a share may be lost, not doubled */
        log_warn("direct order outcome unknown, querying it", "cid=%s why=\"%s\"", o->cid,
                 res->msg);
        dorder_later(o);
    } else {
        d->rejected++;
        log_warn("direct order rejected", "cid=%s code=%d msg=\"%s\"", o->cid, res->code,
                 res->msg);
        dorder_free(o);
    }
}

int direct_send(struct direct *d, const struct intent *in, const struct gate_view *v, int rank,
                int n)
{
    struct gate_order o;
    struct size_plan plan;
    char why[GATE_REASON_MAX], q[512], qty[DEC_STR_MAX], px[DEC_STR_MAX], id[INTENT_ID_MAX],
        cid[INTENT_CID_MAX];
    struct dec share;
    if (gate_check(in, v, &o, why) < 0) {
        d->denied++;
        log_info("direct intent denied", "id=%s reason=%s", in->id, why);
        return -1;
    }
    if (n < 1 || dec_div(o.qty, dec_from_int(n), o.qty.scale, DEC_ROUND_DOWN, &share) != DEC_OK ||
        size_qty(&v->filters, share, o.market ? (v->has_book ? v->ask : o.price) : o.price,
                 o.market, in->reduce, &plan) != SIZE_OK ||
        plan.parts != 1) {
        d->skipped++;
        return -1;
    }
    snprintf(id, sizeof id, "%.29s.%d", in->id, rank);
    if (intent_client_id(in->cls, id, cid) < 0 || dec_format_trim(plan.qty[0], qty, sizeof qty) < 0)
        return -1;
    snprintf(q, sizeof q, "symbol=%s&side=%s&type=%s&quantity=%s&newClientOrderId=%s%s", in->sym,
             intent_side_name(in->side), o.market ? "MARKET" : "LIMIT", qty, cid,
             in->reduce ? "&reduceOnly=true" : "");
    if (!o.market && dec_format_trim(o.price, px, sizeof px) > 0) {
        size_t len = strlen(q);
        snprintf(q + len, sizeof q - len, "&price=%s&timeInForce=%s", px, intent_tif_name(in->tif));
    }
    struct dorder *od = calloc(1, sizeof(*od));
    if (!od) return -1;
    od->d = d;
    snprintf(od->sym, sizeof od->sym, "%s", in->sym);
    snprintf(od->cid, sizeof od->cid, "%s", cid);
    backoff_init(&od->bo, 1000, 8000);
    ev_timer_init(&od->timer, dorder_on_timer, 0.0, 0.0);
    od->timer.data = od;
    od->next = d->orders;
    if (d->orders) d->orders->prev = od;
    d->orders = od;
    if (binance_request(d->bc, "POST", "/fapi/v1/order", q, NULL, BINANCE_SIGNED, 0, direct_done,
                        od) < 0) {
        dorder_free(od);
        return -1;
    }
    log_info("direct order", "cid=%s sym=%s qty=%s share=%d/%d", cid, in->sym, qty, rank, n);
    return 0;
}

void direct_fill(const struct direct *d, json_t *o)
{
    json_object_set_new(o, "direct_sent", json_integer(d->sent));
    json_object_set_new(o, "direct_rejected", json_integer(d->rejected));
    json_object_set_new(o, "direct_unknown", json_integer(d->unknown));
    json_object_set_new(o, "direct_denied", json_integer(d->denied));
    json_object_set_new(o, "direct_skipped", json_integer(d->skipped));
    json_object_set_new(o, "direct_found", json_integer(d->found));
    json_object_set_new(o, "direct_not_placed", json_integer(d->not_placed));
    json_object_set_new(o, "direct_unresolved", json_integer(d->unresolved));
    json_object_set_new(o, "direct_queries", json_integer(d->queries));
}
