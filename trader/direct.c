/* direct: a replica's 1/N share sent by the trader itself (see direct.h). */
#include "trader/direct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/binance.h"
#include "core/config.h"
#include "core/http.h"
#include "core/log.h"
#include "trader/sizing.h"

struct direct {
    struct http_client *http;
    struct binance_client *bc;
    int64_t sent, rejected, unknown, denied, skipped;
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

void direct_free(struct direct *d)
{
    if (!d) return;
    binance_client_free(d->bc);
    http_client_free(d->http);
    free(d);
}

static void direct_done(const struct binance_result *res, void *privdata)
{
    struct direct *d = privdata;
    if (res->outcome == BINANCE_OK) {
        d->sent++;
    } else if (res->outcome == BINANCE_EAPI || res->outcome == BINANCE_ERATE ||
               res->outcome == BINANCE_EBANNED) {
        d->rejected++;
        log_warn("direct order rejected", "code=%d msg=\"%s\"", res->code, res->msg);
    } else {
        d->unknown++; /* never re-sent: a share may be lost, never doubled */
        log_warn("direct order outcome unknown, not re-sent", "why=\"%s\"", res->msg);
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
    if (binance_request(d->bc, "POST", "/fapi/v1/order", q, NULL, BINANCE_SIGNED, 0, direct_done,
                        d) < 0)
        return -1;
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
}
