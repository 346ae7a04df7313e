/* router: weights, faults, auth and dispatch of one request (see router.h). */
#include "sim/router.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/timebase.h"
#include "sim/admin.h"
#include "sim/mdata.h"
#include "sim/params.h"
#include "sim/ustream.h"

#define REPLAY_MAX (64u << 20)
#define RECV_WINDOW_MAX 60000
#define RECV_WINDOW_DEFAULT 5000

enum auth { AUTH_PUBLIC, AUTH_APIKEY, AUTH_SIGNED };

struct route {
    const char *method, *path;
    int weight, weight_all; /* weight_all: without `symbol` (0 = same) */
    int orders;             /* ORDERS-10S count per request (0: not an order endpoint) */
};

/* The engine's endpoints and their IP weights (reference §5). */
static const struct route engine_routes[] = {
    {"GET", "/fapi/v2/account", 5, 0, 0},
    {"GET", "/fapi/v3/account", 5, 0, 0},
    {"GET", "/fapi/v2/positionRisk", 5, 0, 0},
    {"GET", "/fapi/v3/positionRisk", 5, 0, 0},
    {"GET", "/fapi/v2/balance", 5, 0, 0},
    {"GET", "/fapi/v3/balance", 5, 0, 0},
    {"GET", "/fapi/v1/openOrders", 1, 40, 0},
    {"GET", "/fapi/v1/openOrder", 1, 0, 0},
    {"GET", "/fapi/v1/order", 1, 0, 0},
    {"POST", "/fapi/v1/order", 0, 0, 1},
    {"DELETE", "/fapi/v1/order", 1, 0, 0},
    {"POST", "/fapi/v1/batchOrders", 5, 0, 5},
    {"DELETE", "/fapi/v1/batchOrders", 1, 0, 0},
    {"DELETE", "/fapi/v1/allOpenOrders", 1, 0, 0},
    {"GET", "/fapi/v1/allOrders", 5, 0, 0},
    {"GET", "/fapi/v1/userTrades", 5, 0, 0},
    {"GET", "/fapi/v1/income", 30, 0, 0},
    {"GET", "/fapi/v1/commissionRate", 20, 0, 0},
    {"POST", "/fapi/v1/leverage", 1, 0, 0},
    {"POST", "/fapi/v1/algoOrder", 0, 0, 1},
    {"DELETE", "/fapi/v1/algoOrder", 1, 0, 0},
    {"GET", "/fapi/v1/algoOrder", 1, 0, 0},
    {"GET", "/fapi/v1/openAlgoOrders", 1, 40, 0},
    {"GET", "/fapi/v1/allAlgoOrders", 5, 0, 0},
    {"DELETE", "/fapi/v1/algoOpenOrders", 1, 0, 0},
    {"GET", "/fapi/v1/positionSide/dual", 30, 0, 0},
    {"POST", "/fapi/v1/positionSide/dual", 1, 0, 0},
    {"GET", "/fapi/v1/multiAssetsMargin", 30, 0, 0},
    {"POST", "/fapi/v1/multiAssetsMargin", 1, 0, 0},
    {"POST", "/fapi/v1/marginType", 1, 0, 0},
    {"GET", "/fapi/v1/leverageBracket", 1, 0, 0},
    {"GET", "/fapi/v1/symbolConfig", 5, 0, 0},
    {"GET", "/fapi/v1/accountConfig", 5, 0, 0},
};

void sim_response_init(struct sim_response *r)
{
    memset(r, 0, sizeof(*r));
    sbuf_init(&r->body);
    r->status = 200;
    r->used_weight = -1;
    r->retry_after_s = -1;
}

void sim_response_free(struct sim_response *r)
{
    sbuf_free(&r->body);
}

void sim_error(struct sim_response *r, int status, int code, const char *msg)
{
    r->status = status;
    sbuf_reset(&r->body);
    sbuf_adds(&r->body, "{\"code\":");
    sbuf_addi(&r->body, code);
    sbuf_adds(&r->body, ",\"msg\":");
    sbuf_add_jstr(&r->body, msg);
    sbuf_addc(&r->body, '}');
}

int64_t sim_now(const struct sim_ctx *c)
{
    return timebase_wall_ms() + c->clock_offset_ms;
}

static const struct route *find_route(const char *method, const char *path)
{
    for (size_t i = 0; i < sizeof(engine_routes) / sizeof(engine_routes[0]); i++)
        if (!strcmp(engine_routes[i].method, method) && !strcmp(engine_routes[i].path, path))
            return &engine_routes[i];
    return NULL;
}

/* ---- replay ------------------------------------------------------------------------ */

/* Reads DIR/fapi_v1_x.json for path /fapi/v1/x into r; 0 when served, -1 when absent. */
static int replay_read(const char *dir, const char *path, struct sbuf *out)
{
    char name[512];
    int n = snprintf(name, sizeof(name), "%s/", dir);
    for (const char *s = path + 1; *s && n < (int)sizeof(name) - 8; s++)
        name[n++] = (*s == '/') ? '_' : *s;
    snprintf(name + n, sizeof(name) - (size_t)n, ".json");
    FILE *f = fopen(name, "rb");
    if (!f) return -1;
    char buf[65536];
    size_t got;
    while ((got = fread(buf, 1, sizeof(buf), f)) > 0 && out->len + got <= REPLAY_MAX)
        sbuf_add(out, buf, got);
    fclose(f);
    return 0;
}

static int replay_exists(const char *dir, const char *path)
{
    struct sbuf tmp;
    sbuf_init(&tmp);
    int rc = replay_read(dir, path, &tmp);
    sbuf_free(&tmp);
    return rc == 0;
}

/* ---- signing ----------------------------------------------------------------------- */

static void hmac_hex(const char *secret, const char *msg, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)msg, len, md, &mdlen);
    for (unsigned int i = 0; i < mdlen && i < 32; i++) snprintf(out + 2 * i, 3, "%02x", md[i]);
    out[64] = '\0';
}

/* Length of s without a trailing "signature=<hex>" parameter (and its '&'); -1 when the
 * last parameter is not the signature. */
static long strip_signature(const char *s)
{
    size_t len = strlen(s);
    const char *last = strrchr(s, '&');
    const char *param = last ? last + 1 : s;
    if (strncmp(param, "signature=", 10)) return -1;
    (void)len;
    return last ? (long)(last - s) : 0;
}

static int signature_ok(const struct sim_request *q, const char *secret, const char *sig)
{
    long qcut = -1, bcut = -1;
    if (*q->body) bcut = strip_signature(q->body);
    for (int v = 0; v < q->nvariants; v++) {
        const char *qs = q->query_variant[v];
        struct sbuf msg;
        sbuf_init(&msg);
        if (bcut >= 0) {
            sbuf_adds(&msg, qs);
            sbuf_add(&msg, q->body, (size_t)bcut);
        } else if (!*q->body) {
            qcut = strip_signature(qs);
            if (qcut < 0) {
                sbuf_free(&msg);
                continue;
            }
            sbuf_add(&msg, qs, (size_t)qcut);
        } else {
            sbuf_free(&msg);
            return 0; /* signature not last */
        }
        char want[65];
        hmac_hex(secret, msg.buf ? msg.buf : "", msg.len, want);
        sbuf_free(&msg);
        if (strlen(sig) == 64 && !strcasecmp(want, sig)) return 1;
    }
    return 0;
}

/* Authenticates an API-key or SIGNED request. Returns the account, or NULL with r filled. */
static struct sim_account *authenticate(struct sim_ctx *c, const struct sim_request *q,
                                        const struct sim_params *p, int signed_, int64_t now,
                                        struct sim_response *r)
{
    if (!q->apikey || !*q->apikey) {
        sim_error(r, 401, -2014, "API-key format invalid.");
        return NULL;
    }
    struct sim_account *a = c->engine ? sim_engine_account_by_key(c->engine, q->apikey) : NULL;
    if (!a) {
        sim_error(r, 401, -2015, "Invalid API-key, IP, or permissions for action.");
        return NULL;
    }
    if (!signed_) return a;
    const char *ts = sim_param(p, "timestamp"), *sig = sim_param(p, "signature");
    const char *rw = sim_param(p, "recvWindow");
    char *end = NULL;
    long long t = ts ? strtoll(ts, &end, 10) : 0;
    if (!ts || !*ts || *end) {
        sim_error(r, 400, -1102,
                  "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.");
        return NULL;
    }
    long long window = RECV_WINDOW_DEFAULT;
    if (rw) {
        window = strtoll(rw, &end, 10);
        if (!*rw || *end || window <= 0) {
            sim_error(r, 400, -1102,
                      "Mandatory parameter 'recvWindow' was not sent, was empty/null, or malformed.");
            return NULL;
        }
        if (window > RECV_WINDOW_MAX) {
            sim_error(r, 400, -1131, "recvWindow must be less than 60000");
            return NULL;
        }
    }
    if (!sig) {
        sim_error(r, 400, -1102,
                  "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
        return NULL;
    }
    if (t >= now + 1000) {
        sim_error(r, 400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.");
        return NULL;
    }
    if (now - t > window) {
        sim_error(r, 400, -1021, "Timestamp for this request is outside of the recvWindow.");
        return NULL;
    }
    if (!signature_ok(q, sim_account_secret(a), sig)) {
        sim_error(r, 400, -1022, "Signature for this request is not valid.");
        return NULL;
    }
    return a;
}

/* ---- listen keys ------------------------------------------------------------------- */

static void listen_key(struct sim_ctx *c, const char *method, struct sim_account *a, int64_t now,
                       struct sim_response *r)
{
    const char *name = sim_account_name(a);
    if (!strcmp(method, "POST")) {
        const char *k = ustream_post(c->us, name, now);
        if (!k) {
            sim_error(r, 503, -1000, "Too many listen keys.");
            return;
        }
        sbuf_adds(&r->body, "{\"listenKey\":");
        sbuf_add_jstr(&r->body, k);
        sbuf_addc(&r->body, '}');
    } else if (!strcmp(method, "PUT")) {
        if (ustream_put(c->us, name, now)) {
            sim_error(r, 400, -1125,
                      "This listenKey does not exist. Please use POST /fapi/v1/listenKey to recreate listenKey");
            return;
        }
        const char *k = ustream_post(c->us, name, now);
        sbuf_adds(&r->body, "{\"listenKey\":");
        sbuf_add_jstr(&r->body, k ? k : "");
        sbuf_addc(&r->body, '}');
    } else {
        ustream_delete(c->us, name);
        sbuf_adds(&r->body, "{}");
    }
}

/* ---- engine ------------------------------------------------------------------------ */

static void engine_call(struct sim_ctx *c, const struct sim_request *q, struct sim_account *a,
                        const struct sim_params *p, const struct route *rt, int64_t now,
                        struct sim_response *r)
{
    const char *acct = sim_account_name(a);
    if (rt && rt->orders) {
        const char *which = "";
        int lim = 0;
        if (limits_orders_full(c->limits, acct, rt->orders, 1, now, &which, &lim)) {
            char msg[128];
            snprintf(msg, sizeof(msg), "Too many new orders; current limit is %d orders per %s.",
                     lim, which);
            sim_error(r, 429, -1015, msg);
            return;
        }
    }
    struct sim_reply rep = {0, NULL, 0};
    if (!sim_engine_handle(c->engine, a, q->method, q->path, p, now, &rep)) {
        if (rep.body) json_decref(rep.body);
        sim_error(r, 404, -5000, "Path not found.");
        return;
    }
    r->status = rep.status ? rep.status : 200;
    /* reals (leverageBracket's ratios) as their shortest decimal, not 17 digits */
    char *text = rep.body ? json_dumps(rep.body, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    if (text) sbuf_adds(&r->body, text);
    else sbuf_adds(&r->body, "{}");
    free(text);
    if (rep.body) json_decref(rep.body);
    if (rep.order_count > 0) {
        /* a batch counts 5 on ORDERS-10S and 1 on ORDERS-1M however many it places */
        int batch = rt && rt->orders > 1;
        limits_orders_add(c->limits, acct, batch ? rt->orders : rep.order_count,
                          batch ? 1 : rep.order_count, now);
    }
    if (rt && rt->orders) {
        r->order_headers = 1;
        limits_orders_counts(c->limits, acct, now, &r->oc10, &r->oc1m);
    }
}

/* ---- the pipeline ------------------------------------------------------------------ */

static void rate_limited(struct sim_ctx *c, const struct sim_request *q, enum limits_verdict v,
                         int64_t until, struct sim_response *r)
{
    char msg[256];
    if (v == LIMITS_429)
        snprintf(msg, sizeof(msg),
                 "Too many requests; current limit of IP(%s) is %lld requests per minute. Please "
                 "use the websocket for live updates to avoid polling the API.",
                 q->ip, (long long)limits_weight_limit(c->limits));
    else
        snprintf(msg, sizeof(msg),
                 "Way too many requests; IP(%s) banned until %lld. Please use the websocket for "
                 "live updates to avoid bans.",
                 q->ip, (long long)until);
    sim_error(r, (int)v, -1003, msg);
}

/* The answer of a 429 or 418 fault: Binance's -1003 texts, Retry-After from the fault's ms. */
static void fault_limited(struct sim_ctx *c, const struct sim_request *q,
                          const struct fault_effects *fx, int64_t now, struct sim_response *r)
{
    char msg[256];
    if (fx->limited == 429)
        snprintf(msg, sizeof(msg),
                 "Too many requests; current limit of IP(%s) request weight is %lld per minute. "
                 "Please use the websocket for live updates to avoid polling the API.",
                 q->ip, (long long)limits_weight_limit(c->limits));
    else
        snprintf(msg, sizeof(msg),
                 "Way too much request weight used; IP banned until %lld. Please use WebSocket "
                 "Streams for live updates to avoid bans.",
                 (long long)(now + fx->limited_ms));
    sim_error(r, fx->limited, -1003, msg);
    r->retry_after_s = (fx->limited_ms + 999) / 1000;
}

/* Damages a finished body as the malformed/truncated faults ask. */
static void damage(const struct fault_effects *fx, struct sim_response *r)
{
    if (fx->malformed) {
        sbuf_reset(&r->body);
        sbuf_adds(&r->body, "{\"code\":0,\"msg\":<html>Bad Gateway</html>,]");
        r->status = 200;
    } else if (fx->truncated && r->body.len > 1) {
        r->body.len /= 2;
        r->body.buf[r->body.len] = '\0';
    }
}

static int is_true(const json_t *v)
{
    return json_is_true(v) || (json_is_string(v) && !strcasecmp(json_string_value(v), "true"));
}

/* A batchOrders list whose every order is reduce-only or close-position. */
static int batch_reduces(const char *list)
{
    json_t *arr = list ? json_loads(list, 0, NULL) : NULL, *o;
    size_t i;
    int all = json_is_array(arr) && json_array_size(arr) > 0;
    json_array_foreach(arr, i, o) all = all && (is_true(json_object_get(o, "reduceOnly")) ||
                                                is_true(json_object_get(o, "closePosition")));
    json_decref(arr);
    return all;
}

/* Requests Binance's -1008 overload protection lets through: cancels, and reduce-only or
 * close-position orders (a batch when all of its orders are). */
static int exempt_from_1008(const struct sim_request *q, const struct sim_params *p)
{
    const char *ro = sim_param(p, "reduceOnly"), *cp = sim_param(p, "closePosition");
    if (!strcmp(q->method, "DELETE")) return 1;
    if (!strcmp(q->path, "/fapi/v1/batchOrders")) return batch_reduces(sim_param(p, "batchOrders"));
    return (ro && !strcasecmp(ro, "true")) || (cp && !strcasecmp(cp, "true"));
}

static int classify(struct sim_ctx *c, const struct sim_request *q, const struct sim_params *p,
                    enum auth *auth, const struct route **rt, int *replay)
{
    *rt = NULL;
    *replay = 0;
    int w = mdata_weight(q->method, q->path, p);
    if (c->cfg.replay_dir && !strcmp(q->method, "GET") && replay_exists(c->cfg.replay_dir, q->path)) {
        *replay = 1;
        *auth = AUTH_PUBLIC;
        return w >= 0 ? w : 1;
    }
    if (w >= 0) {
        *auth = AUTH_PUBLIC;
        return w;
    }
    if (!strcmp(q->path, "/fapi/v1/listenKey") && strcmp(q->method, "GET")) {
        *auth = AUTH_APIKEY;
        return 1;
    }
    *auth = AUTH_SIGNED;
    *rt = find_route(q->method, q->path);
    if (*rt) return sim_param(p, "symbol") || !(*rt)->weight_all ? (*rt)->weight : (*rt)->weight_all;
    return strncmp(q->path, "/fapi/", 6) ? -1 : 1;
}

static void dispatch(struct sim_ctx *c, const struct sim_request *q, const struct sim_params *p,
                     enum auth auth, const struct route *rt, int replay, int64_t now,
                     const struct fault_effects *fx, struct sim_response *r)
{
    if (replay) {
        if (replay_read(c->cfg.replay_dir, q->path, &r->body))
            sim_error(r, 404, -5000, "Path not found.");
        return;
    }
    if (auth == AUTH_PUBLIC) {
        mdata_handle(c->md, q->path, p, now, fx->unsorted, r);
        return;
    }
    struct sim_account *a = authenticate(c, q, p, auth == AUTH_SIGNED, now, r);
    if (!a) return;
    if (auth == AUTH_APIKEY)
        listen_key(c, q->method, a, now, r);
    else
        engine_call(c, q, a, p, rt, now, r);
}

/* The order paths' faults that answer after (executed503) or instead of (code) the engine. */
static void order_faults(struct sim_ctx *c, const struct sim_request *q,
                         const struct sim_params *p, enum auth auth, const struct route *rt,
                         int replay, int64_t now, const struct fault_effects *fx,
                         struct sim_response *r)
{
    if (fx->code) {
        sim_error(r, fx->code_status, fx->code, fx->code_msg);
        return;
    }
    if (fx->algo_lag_ms && c->engine && !strcmp(q->method, "POST") &&
        !strcmp(q->path, "/fapi/v1/algoOrder"))
        sim_engine_algo_lag(c->engine, fx->algo_lag_ms);
    dispatch(c, q, p, auth, rt, replay, now, fx, r);
    if (c->engine) sim_engine_algo_lag(c->engine, 0);
    if (fx->executed503 && r->status == 200)
        sim_error(r, 503, -1007,
                  "Timeout waiting for response from backend server. Send status unknown; "
                  "execution status unknown.");
}

void sim_router_handle(struct sim_ctx *c, const struct sim_request *q, struct sim_response *r)
{
    if (!strncmp(q->path, "/_sim/", 6)) {
        admin_handle(c, q, r);
        return;
    }
    int64_t now = sim_now(c);
    struct sim_params p;
    enum auth auth = AUTH_PUBLIC;
    const struct route *rt = NULL;
    int replay = 0, weight = 1;
    int bad = sim_params_parse(&p, q->query_variant[0], q->body);
    if (!bad) weight = classify(c, q, &p, &auth, &rt, &replay);
    if (weight < 0) {
        sim_params_free(&p);
        sim_error(r, 404, -5000, "Path not found.");
        return; /* not an exchange path: neither charged nor logged */
    }
    int64_t until = 0;
    enum limits_verdict v = limits_charge(c->limits, q->ip, weight, now, &r->used_weight,
                                          &r->retry_after_s, &until);
    r->weight = weight;
    if (v != LIMITS_OK) {
        rate_limited(c, q, v, until, r);
    } else if (bad) {
        r->retry_after_s = -1;
        sim_error(r, 400, -1100, "Illegal characters found in a parameter.");
    } else {
        r->retry_after_s = -1;
        struct fault_effects fx;
        faults_apply(c->faults, q->path, now, exempt_from_1008(q, &p), &fx);
        r->latency_ms = fx.latency_ms;
        if (fx.hang) {
            r->hang = 1;
        } else if (fx.limited) {
            fault_limited(c, q, &fx, now, r);
        } else if (fx.fail_5xx) {
            sim_error(r, 503, -1000, "Service Unavailable.");
        } else if (fx.disconnect) {
            sim_error(r, 503, -1001, "Internal error; unable to process your request. Please try again.");
        } else {
            order_faults(c, q, &p, auth, rt, replay, fx.frozen_at_ms ? fx.frozen_at_ms : now,
                         &fx, r);
            damage(&fx, r);
        }
    }
    if (r->body.failed) sim_error(r, 500, -1000, "Answer too large.");
    reqlog_add(c->log, now, q->ip, q->method, q->path, weight, r->hang ? 0 : r->status);
    sim_params_free(&p);
}
