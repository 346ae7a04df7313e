/* admin: /_sim/ test API (see admin.h). */
#include "sim/admin.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/params.h"
#include "sim/ustream.h"

static void ok(struct sim_response *r)
{
    r->status = 200;
    sbuf_adds(&r->body, "{\"ok\":true}");
}

static void bad(struct sim_response *r, const char *msg)
{
    sim_error(r, 400, -1102, msg);
}

static int get_dec(const struct sim_params *p, const char *key, struct dec *out)
{
    const char *v = sim_param(p, key);
    return v && dec_parse(v, (size_t)-1, out) == DEC_OK ? 0 : -1;
}

static int get_int(const struct sim_params *p, const char *key, int64_t *out)
{
    const char *v = sim_param(p, key);
    if (!v || !*v) return -1;
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (*end) return -1;
    *out = x;
    return 0;
}

static void state(struct sim_ctx *c, int64_t now, struct sim_response *r)
{
    struct sbuf *b = &r->body;
    sbuf_adds(b, "{\"time\":");
    sbuf_addi(b, now);
    sbuf_adds(b, ",\"clockOffsetMs\":");
    sbuf_addi(b, c->clock_offset_ms);
    sbuf_adds(b, ",\"symbols\":");
    sbuf_addi(b, sim_market_count(c->market));
    sbuf_adds(b, ",\"engine\":");
    json_t *e = c->engine ? sim_engine_state(c->engine, now) : NULL;
    char *txt = e ? json_dumps(e, JSON_COMPACT) : NULL;
    sbuf_adds(b, txt ? txt : "null");
    free(txt);
    if (e) json_decref(e);
    sbuf_adds(b, ",\"listenKeys\":");
    ustream_json(c->us, b);
    sbuf_adds(b, ",\"connections\":");
    sbuf_addi(b, sim_server_ws_count());
    sbuf_adds(b, ",\"faults\":");
    faults_json(c->faults, b);
    sbuf_addc(b, '}');
}

static void price(struct sim_ctx *c, const struct sim_params *p, int64_t now, struct sim_response *r)
{
    const char *s = sim_param(p, "symbol");
    const struct sim_symbol *sym = s ? sim_market_find(c->market, s) : NULL;
    struct dec v;
    int rc;
    if (!sym) { sim_error(r, 400, -1121, "Invalid symbol."); return; }
    if (!get_dec(p, "price", &v))
        rc = sim_market_set_price(c->market, sym->index, now, v);
    else if (!get_dec(p, "pct", &v))
        rc = sim_market_move_pct(c->market, sym->index, now, v);
    else
        { bad(r, "Mandatory parameter 'pct' or 'price' was not sent."); return; }
    if (rc) { bad(r, "Price move refused."); return; }
    struct sim_book bk;
    sim_market_book(c->market, sym->index, now, &bk);
    sbuf_adds(&r->body, "{\"symbol\":");
    sbuf_add_jstr(&r->body, sym->name);
    sbuf_adds(&r->body, ",\"bidPrice\":");
    sbuf_add_decq(&r->body, bk.bid);
    sbuf_adds(&r->body, ",\"askPrice\":");
    sbuf_add_decq(&r->body, bk.ask);
    sbuf_addc(&r->body, '}');
}

/* The code fault's own parameters: code (mandatory), status, msg. */
static int fault_code_params(const struct sim_params *p, struct fault_spec *sp, struct sim_response *r)
{
    int64_t v = 0;
    if (get_int(p, "code", &v) || v >= 0 || v < -100000) {
        bad(r, "Kind 'code' needs parameter 'code', a negative Binance error code.");
        return -1;
    }
    sp->code = (int)v;
    if (sim_param(p, "status") && (get_int(p, "status", &v) || v < 100 || v > 599)) {
        bad(r, "Parameter 'status' must be an HTTP status.");
        return -1;
    }
    if (sim_param(p, "status")) sp->status = (int)v;
    sp->msg = sim_param(p, "msg");
    return 0;
}

static void fault(struct sim_ctx *c, const char *method, const struct sim_params *p, int64_t now,
                  struct sim_response *r)
{
    if (!strcmp(method, "DELETE")) {
        faults_clear(c->faults);
        { ok(r); return; }
    }
    const char *path = sim_param(p, "path"), *kind = sim_param(p, "kind");
    enum fault_kind k;
    struct dec rate = dec_from_int(1), rate6;
    struct fault_spec sp;
    int64_t ms = 0;
    memset(&sp, 0, sizeof sp);
    if (!path || !*path) { bad(r, "Mandatory parameter 'path' was not sent."); return; }
    if (!kind || faults_kind_parse(kind, &k)) { bad(r, "Parameter 'kind' is not a fault kind."); return; }
    if (sim_param(p, "rate") && get_dec(p, "rate", &rate)) { bad(r, "Parameter 'rate' is malformed."); return; }
    if (sim_param(p, "ms") && get_int(p, "ms", &ms)) { bad(r, "Parameter 'ms' is malformed."); return; }
    if (sim_param(p, "count") && (get_int(p, "count", &sp.count) || sp.count < 0))
        { bad(r, "Parameter 'count' is malformed."); return; }
    if (sim_param(p, "for_ms") && (get_int(p, "for_ms", &sp.for_ms) || sp.for_ms < 0))
        { bad(r, "Parameter 'for_ms' is malformed."); return; }
    if (dec_sign(rate) < 0 || dec_cmp(rate, dec_from_int(1)) > 0 ||
        dec_rescale(rate, 6, &rate6) != DEC_OK)
        { bad(r, "Parameter 'rate' must lie in [0, 1] with at most 6 decimals."); return; }
    if (k == FAULT_CODE && fault_code_params(p, &sp, r)) return;
    if ((k == FAULT_LATENCY || k == FAULT_429 || k == FAULT_418) && ms <= 0) ms = 1000;
    if (k == FAULT_ALGO_LAG && ms <= 0) ms = 3000;
    sp.path = path;
    sp.kind = k;
    sp.rate_ppm = (int)rate6.units;
    sp.ms = ms;
    if (faults_add(c->faults, &sp, now)) { bad(r, "Too many faults."); return; }
    ok(r);
}

static void event(struct sim_ctx *c, const struct sim_params *p, int64_t now, struct sim_response *r)
{
    const char *acct = sim_param(p, "account"), *kind = sim_param(p, "kind");
    if (!acct || !kind) { bad(r, "Mandatory parameters 'account' and 'kind'."); return; }
    if (!c->engine) { sim_error(r, 503, -1000, "No engine."); return; }
    struct sim_reply rep = {0, NULL, 0};
    int st = sim_engine_admin_event(c->engine, acct, kind, p, now, &rep);
    r->status = st ? st : (rep.status ? rep.status : 200);
    char *txt = rep.body ? json_dumps(rep.body, JSON_COMPACT) : NULL;
    sbuf_adds(&r->body, txt ? txt : "{}");
    free(txt);
    if (rep.body) json_decref(rep.body);
}

/* POST /_sim/income?account=A&type=T&amount=X[&symbol=S]: an income row of any type. */
static void income(struct sim_ctx *c, const struct sim_params *p, int64_t now, struct sim_response *r)
{
    const char *acct = sim_param(p, "account");
    if (!acct || !*acct) { bad(r, "Mandatory parameter 'account'."); return; }
    if (!c->engine) { sim_error(r, 503, -1000, "No engine."); return; }
    struct sim_reply rep = {0, NULL, 0};
    int st = sim_engine_admin_event(c->engine, acct, "income", p, now, &rep);
    r->status = st ? st : 200;
    char *txt = rep.body ? json_dumps(rep.body, JSON_COMPACT) : NULL;
    sbuf_adds(&r->body, txt ? txt : "{}");
    free(txt);
    if (rep.body) json_decref(rep.body);
}

static void route(struct sim_ctx *c, const struct sim_request *q, const struct sim_params *p,
                  struct sim_response *r)
{
    int64_t now = sim_now(c), v;
    const char *m = q->method, *path = q->path + 5; /* after "/_sim" */
    int get = !strcmp(m, "GET"), post = !strcmp(m, "POST");
    if (get && !strcmp(path, "/state")) { state(c, now, r); return; }
    if (post && !strcmp(path, "/price")) { price(c, p, now, r); return; }
    if ((post || !strcmp(m, "DELETE")) && !strcmp(path, "/fault")) { fault(c, m, p, now, r); return; }
    if (get && !strcmp(path, "/requests")) {
        int64_t since = 0, limit = 0;
        if (sim_param(p, "since") && get_int(p, "since", &since)) { bad(r, "Bad 'since'."); return; }
        if (sim_param(p, "limit") && get_int(p, "limit", &limit)) { bad(r, "Bad 'limit'."); return; }
        { reqlog_json(c->log, since, (int)limit, &r->body); return; }
    }
    if (get && !strcmp(path, "/weights")) { limits_weights_json(c->limits, now, &r->body); return; }
    if (post && !strcmp(path, "/ws/drop")) {
        sbuf_addf(&r->body, "{\"dropped\":%d}", sim_server_ws_drop());
        return;
    }
    if (post && !strcmp(path, "/event")) { event(c, p, now, r); return; }
    if (post && !strcmp(path, "/income")) { income(c, p, now, r); return; }
    if (post && !strcmp(path, "/clock")) {
        if (get_int(p, "offset_ms", &v)) { bad(r, "Mandatory parameter 'offset_ms'."); return; }
        c->clock_offset_ms = v;
        sim_market_clear_cache(c->market);
        sbuf_addf(&r->body, "{\"offsetMs\":%lld,\"serverTime\":%lld}", (long long)v,
                  (long long)sim_now(c));
        return;
    }
    sim_error(r, 404, -5000, "Unknown admin path.");
}

/* POST /_sim/ws/inject?account=A: the body is the frame, so only the query holds parameters. */
static void ws_inject(const struct sim_request *q, struct sim_response *r)
{
    struct sim_params p;
    if (sim_params_parse(&p, q->query_variant[0], "")) {
        sim_params_free(&p);
        { sim_error(r, 400, -1100, "Illegal characters found in a parameter."); return; }
    }
    const char *acct = sim_param(&p, "account");
    if (!acct || !*acct || !*q->body)
        bad(r, "Mandatory parameter 'account' and a body were not sent.");
    else
        sbuf_addf(&r->body, "{\"sent\":%d}", sim_server_ws_inject(acct, q->body, strlen(q->body)));
    sim_params_free(&p);
}

void admin_handle(struct sim_ctx *c, const struct sim_request *q, struct sim_response *r)
{
    struct sim_params p;
    r->status = 200;
    if (!strcmp(q->method, "POST") && !strcmp(q->path, "/_sim/ws/inject")) {
        ws_inject(q, r);
        return;
    }
    if (sim_params_parse(&p, q->query_variant[0], q->body)) {
        sim_params_free(&p);
        { sim_error(r, 400, -1100, "Illegal characters found in a parameter."); return; }
    }
    route(c, q, &p, r);
    sim_params_free(&p);
}
