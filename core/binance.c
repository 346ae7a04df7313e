/* binance: the exchange's request rules on top of http (see binance.h).
 *
 * A request goes through up to three asynchronous stages, each ending in a loop callback:
 *   1. clock:  a SIGNED request, and every request when a weight budget is attached (its minute
 *              keys follow the exchange clock), waits for the server clock when it is not
 *              synced: a sync is BINANCE_SYNC_SAMPLES GET /fapi/v1/time one after the other,
 *              of which the one with the shortest round trip sets the clock (a first request
 *              also pays for DNS, TCP and TLS; the send time is curl's pre-transfer time anyway);
 *   2. weight: if a budget is attached, weight_take() grants the request's IP weight (the sync's
 *              own requests start here);
 *   3. http:   the request is built (recvWindow, timestamp and signature appended last) and
 *              sent; the answer is classified into a struct binance_result, and its weight
 *              header goes back to the budget (not for bookTicker and ticker/price, whose header
 *              Binance documents as inaccurate).
 * An answer with -1021 invalidates the clock and replays a SIGNED request from stage 1, once.
 *
 * Ownership: each struct breq is owned by its client's list until its callback ran. When the
 * client is freed, its requests get their callback (ELOCAL) at once and are "orphaned": an
 * orphan still awaiting a weight grant or an HTTP answer is freed when that arrives, so other
 * clients sharing the http_client or the budget are never touched. A callback may free the
 * client: the struct itself is released only when the outermost entry point unwinds (depth).
 *
 * The secret and the API key are copied here, registered for log redaction, and never copied
 * into a result's msg (which is redacted anyway). */
#include "core/binance.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonval.h"
#include "core/log.h"
#include "core/weight.h"

#define BINANCE_URL_MAX 16384
#define BINANCE_PARAMS_MAX 8192      /* query or body as given by the caller */
#define BINANCE_SYNC_MAX_AGE_MS (30 * 60 * 1000) /* re-sync the clock at least this often */
#define BINANCE_DEFAULT_TIMEOUT_MS 5000
#define BINANCE_DEFAULT_RETRY_MS 60000 /* 429/418 without Retry-After */
#define BINANCE_RETRY_MAX_S (3 * 24 * 3600) /* Binance's longest IP ban; caps Retry-After */
#define BINANCE_TIME_PATH "/fapi/v1/time"

enum breq_stage { STAGE_WEIGHT, STAGE_CLOCK, STAGE_HTTP };

/* One GET /fapi/v1/time answer. */
struct sync_sample {
    wall_ms_t sent_ms, done_ms, server_ms;
};

struct breq {
    struct binance_client *bc; /* NULL once orphaned */
    char *method, *path, *query, *body;
    enum binance_auth auth;
    int weight;
    binance_done_fn *done;
    void *privdata;
    int retried;  /* -1021 replay done */
    int is_sync;  /* the internal GET /fapi/v1/time */
    enum breq_stage stage;
    struct breq *prev, *next;
};

struct binance_client {
    struct http_client *hc;
    char *rest_url, *api_key, *api_secret, *source_ip, *ca_file;
    int64_t recv_window_ms, timeout_ms;
    struct servertime st;
    struct weight_budget *wb;
    struct breq *reqs; /* every request whose callback has not run, the sync one included */
    int syncing;       /* a GET /fapi/v1/time is on its way */
    int samples;       /* answers of the sync under way */
    struct sync_sample best; /* the one with the shortest round trip */
    int depth;         /* entry points on the stack */
    int freeing;       /* binance_client_free was called; struct released at depth 0 */
};

static void req_stage_weight(struct breq *r);
static int req_continue(struct breq *r);
static void on_grant(int granted, void *privdata);

static char *dup_or_null(const char *s)
{
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void req_link(struct binance_client *bc, struct breq *r)
{
    r->bc = bc;
    r->prev = NULL;
    r->next = bc->reqs;
    if (bc->reqs) bc->reqs->prev = r;
    bc->reqs = r;
}

static void req_unlink(struct breq *r)
{
    struct binance_client *bc = r->bc;
    if (!bc) return;
    if (r->prev)
        r->prev->next = r->next;
    else
        bc->reqs = r->next;
    if (r->next) r->next->prev = r->prev;
    r->prev = r->next = NULL;
}

static void req_free(struct breq *r)
{
    free(r->method);
    free(r->path);
    free(r->query);
    free(r->body);
    free(r);
}

static void result_init(struct binance_result *res, enum binance_outcome o, const char *msg)
{
    memset(res, 0, sizeof *res);
    res->outcome = o;
    res->used_weight_1m = res->order_count_10s = res->order_count_1m = -1;
    res->body = "";
    snprintf(res->msg, sizeof res->msg, "%s", msg);
    log_redact(res->msg, (int)sizeof res->msg);
}

static void client_release(struct binance_client *bc)
{
    free(bc->rest_url);
    free(bc->api_key);
    free(bc->api_secret);
    free(bc->source_ip);
    free(bc->ca_file);
    free(bc);
}

/* Entry points (loop callbacks into this module) bracket their work with enter/leave. */
static void client_enter(struct binance_client *bc) { bc->depth++; }

static void client_leave(struct binance_client *bc)
{
    if (--bc->depth == 0 && bc->freeing) client_release(bc);
}

/* Runs r's callback with res and frees r. r must be unlinked already. */
static void req_finish(struct breq *r, const struct binance_result *res)
{
    r->done(res, r->privdata);
    req_free(r);
}

static void req_fail(struct breq *r, enum binance_outcome o, const char *msg)
{
    struct binance_result res;
    result_init(&res, o, msg);
    req_unlink(r);
    r->bc = NULL;
    req_finish(r, &res);
}

/* ---- stage 3: build and send ---- */

static int append(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    if (n >= cap - *len) return -1;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
    return 0;
}

/* Appends "[&]recvWindow=..&timestamp=..&signature=.." to the signed part (the body when there
 * is one, else the query) of q/b. The signature covers query followed by body, as Binance
 * defines totalParams, and is the last parameter. */
static int sign_params(struct binance_client *bc, char *q, size_t *qlen, char *b, size_t *blen,
                       int has_body)
{
    char extra[128], sig[65];
    char *dst = has_body ? b : q;
    size_t *dlen = has_body ? blen : qlen;
    int n = snprintf(extra, sizeof extra, "%srecvWindow=%lld&timestamp=%lld",
                     *dlen ? "&" : "", (long long)bc->recv_window_ms,
                     (long long)servertime_now(&bc->st));
    if (n < 0 || append(dst, BINANCE_PARAMS_MAX + 256, dlen, extra, (size_t)n) != 0) return -1;
    /* totalParams = query || body; q and b are adjacent only logically: sign a copy. */
    size_t tlen = *qlen + *blen;
    char *total = malloc(tlen + 1);
    if (!total) return -1;
    memcpy(total, q, *qlen);
    memcpy(total + *qlen, b, *blen);
    total[tlen] = '\0';
    int rc = binance_sign(bc->api_secret, total, tlen, sig);
    free(total);
    if (rc != 0) return -1;
    n = snprintf(extra, sizeof extra, "%ssignature=%s", *dlen ? "&" : "", sig);
    if (n < 0) return -1;
    return append(dst, BINANCE_PARAMS_MAX + 256, dlen, extra, (size_t)n);
}

static void on_http_done(const struct http_response *hres, void *privdata);

static int req_send(struct breq *r)
{
    struct binance_client *bc = r->bc;
    char q[BINANCE_PARAMS_MAX + 256] = "", b[BINANCE_PARAMS_MAX + 256] = "";
    char url[BINANCE_URL_MAX], keyhdr[256];
    size_t qlen = 0, blen = 0;
    if (r->query && append(q, sizeof q, &qlen, r->query, strlen(r->query)) != 0) return -1;
    if (r->body && append(b, sizeof b, &blen, r->body, strlen(r->body)) != 0) return -1;
    if (r->auth == BINANCE_SIGNED && sign_params(bc, q, &qlen, b, &blen, r->body != NULL) != 0)
        return -1;
    int n = snprintf(url, sizeof url, "%s%s%s%s", bc->rest_url, r->path, qlen ? "?" : "", q);
    if (n < 0 || (size_t)n >= sizeof url) return -1;
    struct http_request hreq = {.method = r->method, .url = url,
                                .body = r->body ? b : NULL,
                                .timeout_ms = bc->timeout_ms, .source_ip = bc->source_ip,
                                .ca_file = bc->ca_file};
    if (r->auth != BINANCE_PUBLIC) {
        n = snprintf(keyhdr, sizeof keyhdr, "X-MBX-APIKEY: %s", bc->api_key);
        if (n < 0 || (size_t)n >= sizeof keyhdr) return -1;
        hreq.headers[0] = keyhdr;
    }
    r->stage = STAGE_HTTP;
    return http_send(bc->hc, &hreq, on_http_done, r);
}

/* ---- classification ---- */

/* Fills code/msg from an {"code":int,"msg":str} body. Returns 1 when the body is one. */
static int error_body(json_t *j, struct binance_result *res)
{
    json_t *code = json_object_get(j, "code"), *msg = json_object_get(j, "msg");
    if (!json_is_object(j) || !json_is_integer(code) || !json_is_string(msg)) return 0;
    res->code = (int)json_integer_value(code);
    snprintf(res->msg, sizeof res->msg, "%s", json_string_value(msg));
    return 1;
}

static enum binance_outcome transport_outcome(enum http_status st)
{
    switch (st) {
    case HTTP_ETIMEOUT:
        return BINANCE_ETIMEOUT;
    case HTTP_ETOOBIG:
        return BINANCE_EMALFORMED;
    case HTTP_ECANCELED:
        return BINANCE_ELOCAL;
    default:
        return BINANCE_ETRANSPORT;
    }
}

static enum binance_outcome status_outcome(long code, int has_error_body)
{
    if (code == 429) return BINANCE_ERATE;
    if (code == 418) return BINANCE_EBANNED;
    if (code >= 500) return BINANCE_ESERVER;
    return has_error_body ? BINANCE_EAPI : BINANCE_EHTTP;
}

/* Classifies hres into res; *json receives the parsed body (caller decrefs), or NULL. */
static void classify(const struct http_response *hres, struct binance_result *res, json_t **json)
{
    char err[JV_ERR_MAX] = "";
    result_init(res, BINANCE_OK, "");
    *json = NULL;
    res->http_code = hres->code;
    res->used_weight_1m = hres->used_weight_1m;
    res->order_count_10s = hres->order_count_10s;
    res->order_count_1m = hres->order_count_1m;
    res->sent_ms = hres->sent_ms;
    res->done_ms = hres->done_ms;
    res->body = hres->body ? hres->body : "";
    res->body_len = hres->body_len;
    if (hres->status != HTTP_OK) {
        res->outcome = transport_outcome(hres->status);
        snprintf(res->msg, sizeof res->msg, "%s", hres->errstr ? hres->errstr : "");
        return;
    }
    *json = jv_parse(res->body, res->body_len, err, sizeof err);
    int is_err = *json && error_body(*json, res);
    if (hres->code >= 200 && hres->code < 300) {
        if (!*json) {
            res->outcome = BINANCE_EMALFORMED;
            snprintf(res->msg, sizeof res->msg, "bad JSON: %s", err);
        } else if (is_err && res->code < 0) {
            res->outcome = BINANCE_EAPI; /* only negative codes: {"code":200,...} is success */
        } else {
            res->outcome = BINANCE_OK;
            res->code = 0;
            res->msg[0] = '\0';
            res->json = *json;
        }
        return;
    }
    res->outcome = status_outcome(hres->code, is_err);
    if (!is_err) snprintf(res->msg, sizeof res->msg, "HTTP %ld", hres->code);
    if (res->outcome == BINANCE_ERATE || res->outcome == BINANCE_EBANNED)
        res->retry_after_ms = hres->retry_after_s < 0 ? BINANCE_DEFAULT_RETRY_MS
                              : hres->retry_after_s > BINANCE_RETRY_MAX_S
                                  ? (int64_t)BINANCE_RETRY_MAX_S * 1000 /* no overflow */
                                  : hres->retry_after_s * 1000;
}

/* ---- the clock ---- */

/* Continues every request that waited for the clock: sends it, or fails it with fail_o. */
static void release_clock_waiters(struct binance_client *bc, enum binance_outcome fail_o,
                                  const char *fail_msg)
{
    int again = 1;
    while (again && !bc->freeing) {
        again = 0;
        for (struct breq *r = bc->reqs; r; r = r->next) {
            if (r->stage != STAGE_CLOCK) continue;
            if (fail_o == BINANCE_OK && req_continue(r) == 0) continue;
            /* A callback may change the list: start over after each. */
            req_fail(r, fail_o == BINANCE_OK ? BINANCE_ELOCAL : fail_o,
                     fail_o == BINANCE_OK ? "could not build or send the request" : fail_msg);
            again = 1;
            break;
        }
    }
}

static void clock_start_sync(struct binance_client *bc);

/* Ends a sync: the fastest sample sets the clock; with none, the waiters fail like the last
 * answer did. */
static void sync_end(struct binance_client *bc, const struct binance_result *res)
{
    char msg[BINANCE_MSG_MAX];
    int n = bc->samples;
    bc->samples = 0;
    if (n > 0) {
        servertime_update(&bc->st, bc->best.sent_ms, bc->best.done_ms, bc->best.server_ms);
        release_clock_waiters(bc, BINANCE_OK, "");
        return;
    }
    snprintf(msg, sizeof msg, "server time sync failed: %.*s", (int)sizeof msg - 40,
             res->outcome == BINANCE_OK ? "no serverTime" : res->msg);
    log_warn("server time sync failed", "outcome=%s code=%d", binance_outcome_name(res->outcome),
             res->code);
    release_clock_waiters(bc, res->outcome == BINANCE_OK ? BINANCE_EMALFORMED : res->outcome,
                          msg);
}

static void sync_done(const struct binance_result *res, void *privdata)
{
    struct binance_client *bc = privdata;
    json_t *t = res->outcome == BINANCE_OK ? json_object_get(res->json, "serverTime") : NULL;
    bc->syncing = 0;
    if (json_is_integer(t) && res->done_ms >= res->sent_ms) {
        struct sync_sample s = {res->sent_ms, res->done_ms, json_integer_value(t)};
        if (bc->samples == 0 ||
            s.done_ms - s.sent_ms < bc->best.done_ms - bc->best.sent_ms)
            bc->best = s;
        if (++bc->samples < BINANCE_SYNC_SAMPLES) {
            clock_start_sync(bc); /* the next sample, on the now open connection */
            return;
        }
    }
    sync_end(bc, res);
}

/* A new, linked GET /fapi/v1/time request, or NULL when out of memory. */
static struct breq *sync_new(struct binance_client *bc)
{
    struct breq *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->method = dup_or_null("GET");
    s->path = dup_or_null(BINANCE_TIME_PATH);
    if (!s->method || !s->path) {
        req_free(s);
        return NULL;
    }
    s->auth = BINANCE_PUBLIC;
    s->weight = 1;
    s->is_sync = 1;
    s->done = sync_done;
    s->privdata = bc;
    req_link(bc, s);
    return s;
}

/* From a loop callback only: failures call the waiters back. */
static void clock_start_sync(struct binance_client *bc)
{
    struct breq *s = sync_new(bc);
    if (!s) {
        release_clock_waiters(bc, BINANCE_ELOCAL, "out of memory");
        return;
    }
    bc->syncing = 1;
    req_stage_weight(s);
}

/* ---- stage 1 and 2 ---- */

/* Nonzero when r must wait for a synced clock: a SIGNED request stamps it, and with a budget
 * the weight goes to the exchange clock's minute. The sync's own requests never wait. */
static int req_needs_clock(const struct breq *r)
{
    const struct binance_client *bc = r->bc;
    if (r->is_sync || servertime_valid(&bc->st, BINANCE_SYNC_MAX_AGE_MS)) return 0;
    return r->auth == BINANCE_SIGNED || bc->wb != NULL;
}

static void req_stage_clock(struct breq *r)
{
    struct binance_client *bc = r->bc;
    if (req_needs_clock(r)) {
        r->stage = STAGE_CLOCK;
        if (!bc->syncing) clock_start_sync(bc);
        return;
    }
    req_stage_weight(r);
}

/* Moves r past the clock: to the weight budget, or sent. Never calls back; -1 when it could
 * not be sent (the caller fails it). */
static int req_continue(struct breq *r)
{
    struct binance_client *bc = r->bc;
    if (bc->wb) {
        r->stage = STAGE_WEIGHT;
        weight_take(bc->wb, r->weight, on_grant, r);
        return 0;
    }
    return req_send(r);
}

static void on_grant(int granted, void *privdata)
{
    struct breq *r = privdata;
    struct binance_client *bc = r->bc;
    if (!bc) { /* orphaned while waiting */
        req_free(r);
        return;
    }
    client_enter(bc);
    if (granted == WEIGHT_GRANTED) {
        if (req_send(r) != 0) req_fail(r, BINANCE_ELOCAL, "could not build or send the request");
    } else {
        req_fail(r, BINANCE_ELOCAL, granted == WEIGHT_TIMEDOUT
                                        ? "weight budget: Redis did not answer in time, not sent"
                                        : "weight budget freed");
    }
    client_leave(bc);
}

/* From a loop callback: the weight stage, or the send; a failure calls back. */
static void req_stage_weight(struct breq *r)
{
    if (req_continue(r) != 0) req_fail(r, BINANCE_ELOCAL, "could not build or send the request");
}

/* Binance documents X-MBX-USED-WEIGHT-1M as not accurate on these two endpoints. */
static int header_accurate(const char *path)
{
    return !strstr(path, "/ticker/bookTicker") && !strstr(path, "/ticker/price");
}

static void req_feed_budget(struct breq *r, const struct http_response *hres,
                            const struct binance_result *res)
{
    struct weight_answer wa = {.used_weight_1m = res->used_weight_1m,
                               .retry_after_ms = res->retry_after_ms,
                               .sent_ms = hres->sent_ms,
                               .done_ms = hres->done_ms};
    if (!header_accurate(r->path)) wa.used_weight_1m = -1;
    weight_answer(r->bc->wb, &wa);
}

static void on_http_done(const struct http_response *hres, void *privdata)
{
    struct breq *r = privdata;
    struct binance_client *bc = r->bc;
    struct binance_result res;
    json_t *json;
    if (!bc) { /* orphaned */
        req_free(r);
        return;
    }
    client_enter(bc);
    classify(hres, &res, &json);
    if (bc->wb && hres->status == HTTP_OK) req_feed_budget(r, hres, &res);
    if (res.outcome == BINANCE_EAPI && res.code == -1021 && r->auth == BINANCE_SIGNED &&
        !r->retried) {
        log_info("timestamp outside recvWindow, re-syncing and retrying", "path=%s", r->path);
        servertime_invalidate(&bc->st);
        r->retried = 1;
        json_decref(json);
        req_stage_clock(r);
        client_leave(bc);
        return;
    }
    req_unlink(r);
    r->bc = NULL;
    log_redact(res.msg, (int)sizeof res.msg);
    req_finish(r, &res);
    json_decref(json);
    client_leave(bc);
}

/* ---- public ---- */

static int config_check(const struct binance_config *cfg, char *err, size_t errcap)
{
    const char *why = NULL;
    if (!cfg || !cfg->rest_url || !cfg->rest_url[0])
        why = "exchange rest_url missing";
    else if (strncmp(cfg->rest_url, "http://", 7) != 0 &&
             strncmp(cfg->rest_url, "https://", 8) != 0)
        why = "exchange rest_url must start with http:// or https://";
    else if (strlen(cfg->rest_url) > 512)
        why = "exchange rest_url too long";
    else if (cfg->recv_window_ms < 0 || cfg->recv_window_ms > BINANCE_RECV_WINDOW_MS)
        why = "recv_window_ms must be between 1 and 5000";
    else if (cfg->timeout_ms < 0)
        why = "timeout_ms must not be negative";
    else if (cfg->api_key && (strlen(cfg->api_key) > 200 || strpbrk(cfg->api_key, "\r\n")))
        why = "api_key malformed";
    if (why && err && errcap) snprintf(err, errcap, "%s", why);
    return why ? -1 : 0;
}

struct binance_client *binance_client_new(struct http_client *hc, const struct binance_config *cfg,
                                          char *err, size_t errcap)
{
    if (!hc) {
        if (err && errcap) snprintf(err, errcap, "no http client");
        return NULL;
    }
    if (config_check(cfg, err, errcap) != 0) return NULL;
    struct binance_client *bc = calloc(1, sizeof *bc);
    if (!bc) goto oom;
    bc->hc = hc;
    bc->rest_url = dup_or_null(cfg->rest_url);
    bc->api_key = dup_or_null(cfg->api_key);
    bc->api_secret = dup_or_null(cfg->api_secret);
    bc->source_ip = dup_or_null(cfg->source_ip);
    bc->ca_file = dup_or_null(cfg->ca_file);
    if (!bc->rest_url || (cfg->api_key && !bc->api_key) || (cfg->api_secret && !bc->api_secret) ||
        (cfg->source_ip && !bc->source_ip) || (cfg->ca_file && !bc->ca_file))
        goto oom;
    size_t ul = strlen(bc->rest_url);
    while (ul > 0 && bc->rest_url[ul - 1] == '/') bc->rest_url[--ul] = '\0';
    bc->recv_window_ms = cfg->recv_window_ms ? cfg->recv_window_ms : BINANCE_RECV_WINDOW_MS;
    bc->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : BINANCE_DEFAULT_TIMEOUT_MS;
    if (bc->api_secret) log_add_secret(bc->api_secret);
    if (bc->api_key) log_add_secret(bc->api_key);
    return bc;
oom:
    if (bc) client_release(bc);
    if (err && errcap) snprintf(err, errcap, "out of memory");
    return NULL;
}

void binance_client_free(struct binance_client *bc)
{
    struct breq *r;
    if (!bc || bc->freeing) return;
    bc->freeing = 1;
    bc->depth++;
    if (bc->wb) weight_drop_clock(bc->wb, &bc->st);
    while ((r = bc->reqs) != NULL) {
        int awaiting = r->stage != STAGE_CLOCK; /* a weight grant or an HTTP answer will come */
        struct binance_result res;
        req_unlink(r);
        r->bc = NULL;
        result_init(&res, BINANCE_ELOCAL, "client freed");
        if (!r->is_sync) r->done(&res, r->privdata);
        if (!awaiting) req_free(r);
        /* else freed by on_grant/on_http_done when the orphan's answer arrives */
    }
    client_leave(bc);
}

void binance_set_budget(struct binance_client *bc, struct weight_budget *wb)
{
    if (bc->wb) weight_drop_clock(bc->wb, &bc->st);
    bc->wb = wb;
    if (wb) weight_set_clock(wb, &bc->st);
}

const struct servertime *binance_servertime(const struct binance_client *bc)
{
    return &bc->st;
}

int64_t binance_time_limit(const struct binance_client *bc)
{
    return servertime_now(&bc->st) + BINANCE_FUTURE_TOLERANCE_MS;
}

int binance_time_plausible(const struct binance_client *bc, int64_t t_ms)
{
    return t_ms <= binance_time_limit(bc);
}

static int request_args_ok(const struct binance_client *bc, const char *method, const char *path,
                           const char *query, const char *body, enum binance_auth auth)
{
    if (!bc || bc->freeing || !method || !path || path[0] != '/') return 0;
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 &&
        strcmp(method, "PUT") != 0 && strcmp(method, "DELETE") != 0)
        return 0;
    if (strcmp(method, "GET") == 0 && body) return 0;
    if (strlen(path) > 256 || (query && strlen(query) > BINANCE_PARAMS_MAX) ||
        (body && strlen(body) > BINANCE_PARAMS_MAX))
        return 0;
    if (auth != BINANCE_PUBLIC && !bc->api_key) return 0;
    if (auth == BINANCE_SIGNED && !bc->api_secret) return 0;
    return 1;
}

/* The first stage of a new request, from binance_request: never calls anyone back, returns -1
 * when the request could not be started (the caller frees it). */
static int request_start(struct breq *r)
{
    struct binance_client *bc = r->bc;
    if (!req_needs_clock(r)) return req_continue(r);
    r->stage = STAGE_CLOCK;
    if (bc->syncing) return 0;
    struct breq *s = sync_new(bc);
    if (!s) return -1;
    bc->syncing = 1;
    if (req_continue(s) == 0) return 0;
    bc->syncing = 0;
    req_unlink(s);
    req_free(s);
    return -1;
}

int binance_request(struct binance_client *bc, const char *method, const char *path,
                    const char *query, const char *body, enum binance_auth auth, int weight,
                    binance_done_fn *done, void *privdata)
{
    if (!done || weight < 0 || !request_args_ok(bc, method, path, query, body, auth)) return -1;
    struct breq *r = calloc(1, sizeof *r);
    if (!r) return -1;
    r->method = dup_or_null(method);
    r->path = dup_or_null(path);
    r->query = dup_or_null(query && query[0] ? query : NULL);
    r->body = dup_or_null(body);
    if (!r->method || !r->path || (query && query[0] && !r->query) || (body && !r->body)) {
        req_free(r);
        return -1;
    }
    r->auth = auth;
    r->weight = weight;
    r->done = done;
    r->privdata = privdata;
    req_link(bc, r);
    if (request_start(r) != 0) {
        req_unlink(r);
        req_free(r);
        return -1;
    }
    return 0;
}

const char *binance_outcome_name(enum binance_outcome o)
{
    switch (o) {
    case BINANCE_OK: return "ok";
    case BINANCE_EAPI: return "api";
    case BINANCE_ERATE: return "429";
    case BINANCE_EBANNED: return "418";
    case BINANCE_ESERVER: return "5xx";
    case BINANCE_EHTTP: return "http";
    case BINANCE_ETRANSPORT: return "transport";
    case BINANCE_ETIMEOUT: return "timeout";
    case BINANCE_EMALFORMED: return "malformed";
    case BINANCE_ELOCAL: return "local";
    }
    return "?";
}

int binance_outcome_unknown(const struct binance_result *res)
{
    switch (res->outcome) {
    case BINANCE_ESERVER:
    case BINANCE_ETIMEOUT:
    case BINANCE_ETRANSPORT:
    case BINANCE_EMALFORMED:
    case BINANCE_EHTTP:
        return 1;
    case BINANCE_EAPI:
        return res->code == -1000 || res->code == -1001 || res->code == -1006 ||
               res->code == -1007;
    default:
        return 0;
    }
}

int binance_sign(const char *secret, const char *msg, size_t msg_len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;

    out[0] = '\0';
    if (!secret || (!msg && msg_len > 0)) return -1;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)(msg ? msg : ""),
              msg_len, mac, &mac_len) ||
        mac_len != 32)
        return -1;
    for (unsigned int i = 0; i < mac_len; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 0x0f];
    }
    out[64] = '\0';
    return 0;
}
