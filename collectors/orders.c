/* orders: open orders from the stream's order and algo events, reconciled by the REST
 * openOrders poll (see orders.h). */
#include "collectors/orders.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/acctrec.h"
#include "core/binance.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/role.h"
#include "reconciler/recon.h"

#define ORDERS_KEY_MAX 256
#define ORDERS_ID_MAX 64
#define ORDERS_SYM_MAX 64
#define ORDERS_FIELD_MAX (ORDERS_SYM_MAX + ORDERS_ID_MAX + 8) /* SYM:algo:id */
#define ORDERS_MAX 10000 /* orders in one openOrders answer; more is refused */

struct orders {
    struct role *r;
    char src[ACCTREC_SRC_MAX];
    char key[ORDERS_KEY_MAX], ts[ORDERS_KEY_MAX], channel[ORDERS_KEY_MAX];
    int busy;               /* a poll (REST or its HKEYS) is in flight */
    int pruning;            /* a recon_prune walk is in flight */
    json_t *pending;        /* poll answer waiting for HKEYS: [[field, json, t], ...] */
    int64_t pending_absent_t;
    json_t *sent;           /* field -> the JSON text the poll last sent for it (owned) */
    mono_ms_t sent_since;   /* when sent was last emptied */
    struct orders_stats st;
};

struct orders *orders_new(struct role *r, const char *src)
{
    struct orders *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->sent = json_object();
    if (!o->sent) {
        free(o);
        return NULL;
    }
    o->sent_since = timebase_mono_ms();
    o->r = r;
    snprintf(o->src, sizeof o->src, "%s", src);
    if (acctrec_key(r, o->key, sizeof o->key, "orders") < 0 ||
        acctrec_key(r, o->ts, sizeof o->ts, "orders:ts") < 0 ||
        role_key(r, o->channel, sizeof o->channel, "ch:order:%s", r->account) < 0) {
        orders_free(o);
        return NULL;
    }
    return o;
}

void orders_free(struct orders *o)
{
    if (!o) return;
    json_decref(o->pending);
    json_decref(o->sent);
    free(o);
}

void orders_forget(struct orders *o)
{
    json_object_clear(o->sent);
    o->sent_since = timebase_mono_ms();
}

static void prune_done(int64_t pruned, const char *err, void *privdata)
{
    struct orders *o = privdata;
    o->pruning = 0;
    if (err) {
        log_warn("orders: tombstone prune failed, ignored", "err=\"%s\"", err);
        return;
    }
    o->st.pruned += pruned;
    if (pruned > 0) log_info("orders: tombstones pruned", "n=%lld", (long long)pruned);
}

void orders_prune(struct orders *o, int64_t before_ms)
{
    if (o->pruning || !role_redis_up(o->r)) return;
    if (recon_prune(o->r->rc, o->key, o->ts, before_ms, prune_done, o) == 0) o->pruning = 1;
}

struct orders_stats orders_stats(const struct orders *o)
{
    return o->st;
}

static int finished(const char *status, int algo)
{
    static const char *const done[] = {"FILLED", "CANCELED", "EXPIRED", "EXPIRED_IN_MATCH",
                                       "REJECTED", NULL};
    static const char *const algo_done[] = {"FINISHED", "CANCELED", "EXPIRED", "REJECTED", NULL};
    for (const char *const *d = algo ? algo_done : done; *d; d++)
        if (!strcmp(status, *d)) return 1;
    return 0;
}

static int valid_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > ORDERS_ID_MAX - 6) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr("._:/-", c)))
            return 0;
    }
    return 1;
}

/* A symbol as a field prefix: 1..ORDERS_SYM_MAX-1 bytes, no ':' (the separator) and no
 * control character (symbols may hold UTF-8 since 2025-10). */
static int valid_symbol(const char *sym)
{
    size_t n = strlen(sym);
    if (n == 0 || n >= ORDERS_SYM_MAX) return 0;
    for (size_t i = 0; i < n; i++)
        if (sym[i] == ':' || (unsigned char)sym[i] < 0x20 || sym[i] == 0x7f) return 0;
    return 1;
}

/* The field of an order: "SYM:clientOrderId", or "SYM:algo:clientAlgoId" (algo nonzero).
 * Binance names an order by its symbol and its id, and keeps a client id unique only among
 * open orders, so two symbols may hold the same one. Returns 0, or -1 with err. */
static int order_field(char *out, const char *sym, const char *id, int algo, char *err,
                       size_t errcap)
{
    if (!valid_symbol(sym) || !valid_id(id)) {
        snprintf(err, errcap, "bad symbol or client id");
        return -1;
    }
    snprintf(out, ORDERS_FIELD_MAX, "%s:%s%s", sym, algo ? "algo:" : "", id);
    return 0;
}

/* Is field an algo order's ("SYM:algo:id")? */
static int algo_field(const char *field)
{
    const char *c = strchr(field, ':');
    return c && !strncmp(c + 1, "algo:", 5);
}

/* Copies member `from` of src to `to` in dst: strings that are decimals are normalised, other
 * strings, integers and booleans as they are. Absent: nothing (or -1 when required). */
static int copy_member(json_t *dst, const char *to, const json_t *src, const char *from,
                       int required, char *err, size_t errcap)
{
    const json_t *v = json_object_get(src, from);
    if (!v) {
        if (!required) return 0;
        snprintf(err, errcap, "field '%s' missing", from);
        return -1;
    }
    if (json_is_string(v)) {
        char d[DEC_STR_MAX];
        const char *s = json_string_value(v);
        json_object_set_new(dst, to, json_string(acctrec_norm_dec(s, d) == 0 ? d : s));
    } else if (json_is_integer(v) || json_is_boolean(v)) {
        json_object_set(dst, to, (json_t *)v);
    } else {
        snprintf(err, errcap, "field '%s' has an unexpected type", from);
        return -1;
    }
    return 0;
}

struct member_map {
    const char *to, *from;
    int required;
};

static int copy_members(json_t *dst, const json_t *src, const struct member_map *m, char *err,
                        size_t errcap)
{
    for (; m->to; m++)
        if (copy_member(dst, m->to, src, m->from, m->required, err, errcap) < 0) return -1;
    return 0;
}

static int send_one(struct orders *o, const char *field, const char *json, int64_t t,
                    int64_t uid)
{
    struct recon_batch *b = recon_batch_new(o->key, o->ts, o->channel, "orders", RECON_MERGE);
    if (!b) return -1;
    if (recon_batch_add(b, field, json, t, uid, NULL) < 0) {
        recon_batch_free(b);
        return -1;
    }
    return recon_batch_send(o->r->rc, b, NULL, NULL);
}

/* Writes record rec (consumed) for field at event time e, or deletes the field when done. */
static int write_record(struct orders *o, const char *field, json_t *rec, int64_t e, int64_t uid,
                        int done)
{
    json_object_set_new(rec, "t", json_integer(e));
    json_object_set_new(rec, "src", json_string(o->src));
    char *j = done ? NULL : jv_dump(rec);
    json_decref(rec);
    if (!done && !j) return -1;
    int rc = send_one(o, field, done ? "" : j, e, uid);
    free(j);
    return rc;
}

static const struct member_map order_event_members[] = {
    {"symbol", "s", 1},       {"status", "X", 1},       {"side", "S", 1},
    {"type", "o", 1},         {"origType", "ot", 0},    {"price", "p", 1},
    {"origQty", "q", 1},      {"executedQty", "z", 1},  {"avgPrice", "ap", 0},
    {"stopPrice", "sp", 0},   {"orderId", "i", 1},      {"positionSide", "ps", 0},
    {"reduceOnly", "R", 0},   {"timeInForce", "f", 0},  {"updateTime", "T", 0},
    {NULL, NULL, 0},
};

int orders_apply_order_event(struct orders *o, const json_t *ev, int64_t uid, char *err,
                             size_t errcap)
{
    int64_t e = 0;
    const char *cid = NULL, *status = NULL, *x = NULL, *sym = NULL;
    char field[ORDERS_FIELD_MAX];
    const json_t *ob = json_object_get(ev, "o");
    if (jv_get_int64(ev, "E", &e, err, errcap) < 0) return -1;
    if (!json_is_object(ob)) {
        snprintf(err, errcap, "field 'o' missing or not an object");
        return -1;
    }
    if (jv_get_str(ob, "c", &cid, err, errcap) < 0 || jv_get_str(ob, "X", &status, err, errcap) < 0 ||
        jv_get_str(ob, "s", &sym, err, errcap) < 0)
        return -1;
    if (order_field(field, sym, cid, 0, err, errcap) < 0) return -1;
    if (e < 0) {
        snprintf(err, errcap, "bad event time");
        return -1;
    }
    json_t *rec = json_object();
    if (!rec) return -1;
    if (copy_members(rec, ob, order_event_members, err, errcap) < 0) {
        json_decref(rec);
        return -1;
    }
    if (jv_opt_str(ob, "x", &x, NULL, 0) == 0 && x && !strcmp(x, "NEW"))
        (void)copy_member(rec, "time", ob, "T", 0, err, errcap);
    o->st.events++;
    return write_record(o, field, rec, e, uid, finished(status, 0)) < 0 ? 1 : 0;
}

static const struct member_map algo_event_members[] = {
    {"symbol", "s", 1},      {"status", "X", 1},        {"side", "S", 1},
    {"type", "o", 1},        {"algoType", "at", 0},     {"origQty", "q", 1},
    {"price", "p", 0},       {"triggerPrice", "tp", 0}, {"algoId", "aid", 1},
    {"positionSide", "ps", 0}, {"reduceOnly", "R", 0},  {"timeInForce", "f", 0},
    {NULL, NULL, 0},
};

int orders_apply_algo_event(struct orders *o, const json_t *ev, int64_t uid, char *err,
                            size_t errcap)
{
    int64_t e = 0;
    const char *caid = NULL, *status = NULL, *sym = NULL;
    char field[ORDERS_FIELD_MAX];
    const json_t *ob = json_object_get(ev, "o");
    if (jv_get_int64(ev, "E", &e, err, errcap) < 0) return -1;
    if (!json_is_object(ob)) {
        snprintf(err, errcap, "field 'o' missing or not an object");
        return -1;
    }
    if (jv_get_str(ob, "caid", &caid, err, errcap) < 0 ||
        jv_get_str(ob, "X", &status, err, errcap) < 0 ||
        jv_get_str(ob, "s", &sym, err, errcap) < 0)
        return -1;
    if (order_field(field, sym, caid, 1, err, errcap) < 0) return -1;
    if (e < 0) {
        snprintf(err, errcap, "bad event time");
        return -1;
    }
    json_t *rec = json_object();
    if (!rec) return -1;
    if (copy_members(rec, ob, algo_event_members, err, errcap) < 0) {
        json_decref(rec);
        return -1;
    }
    o->st.events++;
    return write_record(o, field, rec, e, uid, finished(status, 1)) < 0 ? 1 : 0;
}

void orders_publish_lite(struct orders *o, int64_t e, const char *raw, size_t len)
{
    size_t cap = len + 64;
    char *msg = malloc(cap);
    if (!msg) return;
    int n = snprintf(msg, cap, "{\"t\":%lld,\"lite\":%.*s}", (long long)e, (int)len, raw);
    if (n > 0 && (size_t)n < cap) {
        const char *argv[] = {"PUBLISH", o->channel, msg};
        size_t lens[] = {7, strlen(o->channel), (size_t)n};
        (void)rconn_command_argv(o->r->rc, NULL, NULL, 3, argv, lens);
    }
    free(msg);
}

/* ---- the openOrders poll ---------------------------------------------------------------- */

static const struct member_map rest_order_members[] = {
    {"symbol", "symbol", 1},        {"status", "status", 1},
    {"side", "side", 1},            {"type", "type", 1},
    {"origType", "origType", 0},    {"price", "price", 1},
    {"origQty", "origQty", 1},      {"executedQty", "executedQty", 1},
    {"avgPrice", "avgPrice", 0},    {"stopPrice", "stopPrice", 0},
    {"orderId", "orderId", 1},      {"positionSide", "positionSide", 0},
    {"reduceOnly", "reduceOnly", 0}, {"timeInForce", "timeInForce", 0},
    {"time", "time", 0},            {"updateTime", "updateTime", 1},
    {NULL, NULL, 0},
};

/* One openOrders element as [field, json, t]. */
static json_t *rest_order(struct orders *o, const json_t *row, char *err, size_t errcap)
{
    const char *cid = NULL, *sym = NULL;
    char field[ORDERS_FIELD_MAX];
    int64_t t = 0;
    if (!json_is_object(row) || jv_get_str(row, "clientOrderId", &cid, err, errcap) < 0 ||
        jv_get_str(row, "symbol", &sym, err, errcap) < 0 ||
        jv_get_int64(row, "updateTime", &t, err, errcap) < 0 ||
        order_field(field, sym, cid, 0, err, errcap) < 0 || t < 0) {
        if (!err[0]) snprintf(err, errcap, "bad order element");
        return NULL;
    }
    json_t *rec = json_object();
    if (!rec || copy_members(rec, row, rest_order_members, err, errcap) < 0) {
        json_decref(rec);
        return NULL;
    }
    json_object_set_new(rec, "t", json_integer(t));
    json_object_set_new(rec, "src", json_string(o->src));
    char *j = jv_dump(rec);
    json_decref(rec);
    if (!j) return NULL;
    json_t *item = json_pack("[s,s,I]", field, j, (json_int_t)t);
    free(j);
    return item;
}

/* The batches of one poll round, sent only when all were built. */
struct poll_round {
    struct orders *o;
    struct recon_batch *b[ORDERS_MAX / ORDERS_BATCH_MAX + 2];
    int n;
};

static void round_free(struct poll_round *pr)
{
    for (int i = 0; i < pr->n; i++) recon_batch_free(pr->b[i]);
    pr->n = 0;
}

/* Adds a record to the round's last batch, opening a new one every ORDERS_BATCH_MAX. */
static int round_add(struct poll_round *pr, const char *field, const char *json, int64_t t)
{
    struct orders *o = pr->o;
    if (pr->n == 0 || recon_batch_count(pr->b[pr->n - 1]) >= ORDERS_BATCH_MAX) {
        if (pr->n == (int)(sizeof pr->b / sizeof pr->b[0])) return -1;
        pr->b[pr->n] = recon_batch_new(o->key, o->ts, o->channel, "orders", RECON_MERGE);
        if (!pr->b[pr->n]) return -1;
        pr->n++;
    }
    return recon_batch_add(pr->b[pr->n - 1], field, json, t, 0, NULL);
}

static void poll_written(int64_t value, const char *err, void *privdata)
{
    struct orders *o = privdata;
    (void)value;
    if (!err) return;
    o->st.poll_errors++;
    orders_forget(o); /* what the poll sent may be lost: send everything again */
    log_warn("orders: poll write failed", "err=\"%s\"", err);
}

/* The listed orders that differ from what the poll last sent; sent becomes the listed set. */
static int poll_changed(struct orders *o, struct poll_round *pr, json_t *listed, json_t *sent)
{
    json_t *item;
    size_t i;
    json_array_foreach(o->pending, i, item) {
        const char *f = json_string_value(json_array_get(item, 0));
        const char *j = json_string_value(json_array_get(item, 1));
        const char *old = json_string_value(json_object_get(o->sent, f));
        json_object_set_new(listed, f, json_true());
        json_object_set_new(sent, f, json_string(j));
        if (old && !strcmp(old, j)) continue;
        if (round_add(pr, f, j, json_integer_value(json_array_get(item, 2))) < 0) return -1;
    }
    return 0;
}

/* Deletes every non-algo field of Redis (keys: HKEYS) that the answer no longer lists. */
static int poll_absent(struct orders *o, struct poll_round *pr, const json_t *listed,
                       const redisReply *keys, int64_t *deleted)
{
    for (size_t k = 0; keys && k < keys->elements; k++) {
        const redisReply *e = keys->element[k];
        if (e->type != REDIS_REPLY_STRING || algo_field(e->str) || json_object_get(listed, e->str))
            continue;
        if (round_add(pr, e->str, "", o->pending_absent_t) < 0) return -1;
        (*deleted)++;
    }
    return 0;
}

/* Writes what the answer changed: the orders that differ from what the poll last sent, and
 * the deletions, in batches of ORDERS_BATCH_MAX records (one FCALL each, so Redis is never
 * held long). Built whole before anything is sent: a partial list would delete the open
 * orders it failed to name, so a failure drops the round. */
static void poll_write(struct orders *o, const redisReply *keys)
{
    struct poll_round pr = {.o = o};
    json_t *listed = json_object(), *sent = json_object();
    int64_t deleted = 0;
    if (timebase_mono_ms() - o->sent_since > ORDERS_RESEND_MS) orders_forget(o);
    if (!listed || !sent || poll_changed(o, &pr, listed, sent) < 0 ||
        poll_absent(o, &pr, listed, keys, &deleted) < 0) {
        o->st.poll_errors++;
        round_free(&pr);
        orders_forget(o);
        json_decref(listed);
        json_decref(sent);
        return;
    }
    json_decref(listed);
    json_decref(o->sent);
    o->sent = sent;
    o->st.open = (int64_t)json_array_size(o->pending);
    o->st.deleted_by_poll += deleted;
    for (int i = 0; i < pr.n; i++) {
        o->st.poll_records += (int64_t)recon_batch_count(pr.b[i]);
        o->st.poll_batches++;
        if (recon_batch_send(o->r->rc, pr.b[i], poll_written, o) < 0) orders_forget(o);
        pr.b[i] = NULL;
    }
}

static void poll_keys(struct rconn *rc, struct redisReply *reply, void *privdata)
{
    (void)rc;
    struct orders *o = privdata;
    o->busy = 0;
    if (reply && reply->type == REDIS_REPLY_ARRAY && !role_stopping(o->r)) poll_write(o, reply);
    json_decref(o->pending);
    o->pending = NULL;
}

static int poll_parse(struct orders *o, const json_t *root, char *err, size_t errcap)
{
    if (!json_is_array(root) || json_array_size(root) > ORDERS_MAX) {
        snprintf(err, errcap, "openOrders answer is not an array (or too long)");
        return -1;
    }
    json_t *list = json_array();
    size_t i;
    const json_t *row;
    json_array_foreach(root, i, row) {
        json_t *item = rest_order(o, row, err, errcap);
        if (!item) {
            json_decref(list);
            return -1;
        }
        json_array_append_new(list, item);
    }
    json_decref(o->pending);
    o->pending = list;
    return 0;
}

static void poll_done(const struct binance_result *res, void *privdata)
{
    struct orders *o = privdata;
    o->busy = 0;
    if (role_stopping(o->r)) return;
    o->st.polls++;
    if (role_count_result(o->r, res, "openOrders") < 0) {
        o->st.poll_errors++;
        return;
    }
    char err[160] = "";
    if (poll_parse(o, res->json, err, sizeof err) < 0) {
        o->st.poll_errors++;
        role_count_invalid(o->r, "openOrders", err);
        return;
    }
    o->pending_absent_t = acctrec_sent_exch_ms(o->r->bc, res) - ORDERS_ABSENT_MARGIN_MS;
    if (rconn_command(o->r->rc, poll_keys, o, "HKEYS %s", o->key) == 0) o->busy = 1;
}

void orders_poll(struct orders *o)
{
    if (o->busy || role_stopping(o->r)) return;
    if (binance_request(o->r->bc, "GET", "/fapi/v1/openOrders", NULL, NULL, BINANCE_SIGNED,
                        ORDERS_WEIGHT, poll_done, o) < 0)
        return;
    o->busy = 1;
    role_count_weight(o->r, ORDERS_WEIGHT);
}
