/* acctrec: account records from the three sources, written through the reconciler (see
 * acctrec.h). Parsing refuses an answer as a whole when one element is malformed, so a broken
 * answer never writes half a snapshot. */
#include "collectors/acctrec.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/binance.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/role.h"
#include "reconciler/recon.h"

#define ACCTREC_CACHE_MS 60000 /* the cache is dropped this often, re-sending everything */
#define ACCTREC_KEY_MAX 256

struct acctrec_sink {
    struct role *r;
    char source[ACCTREC_SRC_MAX];
    char pos_key[ACCTREC_KEY_MAX], pos_ts[ACCTREC_KEY_MAX];
    char bal_key[ACCTREC_KEY_MAX], bal_ts[ACCTREC_KEY_MAX];
    char view_key[ACCTREC_KEY_MAX], view_ts[ACCTREC_KEY_MAX];
    char src_key[ACCTREC_KEY_MAX], channel[ACCTREC_KEY_MAX];
    json_t *cache_pos, *cache_bal; /* field -> last JSON sent */
    json_t *open;                  /* fields last sent with amt != 0 */
    mono_ms_t cache_since;
    struct acctrec_stats st;
};

/* ---- batches ---------------------------------------------------------------------------- */

void acctrec_batch_init(struct acctrec_batch *b)
{
    memset(b, 0, sizeof *b);
}

void acctrec_batch_clear(struct acctrec_batch *b)
{
    b->npos = b->nbal = 0;
    b->complete = 0;
    b->absent_t = b->uid = b->t_max = b->snap_t = 0;
}

void acctrec_batch_free(struct acctrec_batch *b)
{
    free(b->pos);
    free(b->bal);
    acctrec_batch_init(b);
}

static struct acctrec_pos *batch_new_pos(struct acctrec_batch *b)
{
    if (b->npos == b->cap_pos) {
        if (b->cap_pos >= ACCTREC_MAX_RECORDS) return NULL;
        size_t cap = b->cap_pos ? b->cap_pos * 2 : 64;
        struct acctrec_pos *p = realloc(b->pos, cap * sizeof *p);
        if (!p) return NULL;
        b->pos = p;
        b->cap_pos = cap;
    }
    struct acctrec_pos *p = &b->pos[b->npos++];
    memset(p, 0, sizeof *p);
    return p;
}

static struct acctrec_bal *batch_new_bal(struct acctrec_batch *b)
{
    if (b->nbal == b->cap_bal) {
        if (b->cap_bal >= ACCTREC_MAX_RECORDS) return NULL;
        size_t cap = b->cap_bal ? b->cap_bal * 2 : 16;
        struct acctrec_bal *p = realloc(b->bal, cap * sizeof *p);
        if (!p) return NULL;
        b->bal = p;
        b->cap_bal = cap;
    }
    struct acctrec_bal *p = &b->bal[b->nbal++];
    memset(p, 0, sizeof *p);
    return p;
}

/* Writes the refusal of time t of what into err; returns -1. */
static int acctrec_time_ahead(const char *what, int64_t t, int64_t limit, char *err, size_t cap)
{
    snprintf(err, cap, "%s: time %lld is ahead of the exchange clock (limit %lld)", what,
             (long long)t, (long long)limit);
    return -1;
}

int acctrec_batch_check_time(const struct acctrec_batch *b, int64_t limit, char *err,
                             size_t errcap)
{
    for (size_t i = 0; i < b->npos; i++)
        if (b->pos[i].t > limit) return acctrec_time_ahead(b->pos[i].field, b->pos[i].t, limit,
                                                           err, errcap);
    for (size_t i = 0; i < b->nbal; i++)
        if (b->bal[i].t > limit) return acctrec_time_ahead(b->bal[i].asset, b->bal[i].t, limit,
                                                           err, errcap);
    if (b->t_max > limit) return acctrec_time_ahead("event", b->t_max, limit, err, errcap);
    return 0;
}

int64_t acctrec_sent_exch_ms(const struct binance_client *bc, const struct binance_result *res)
{
    int64_t t = res->sent_ms + binance_servertime(bc)->offset_ms;
    return t > 0 ? t : 0;
}

int acctrec_norm_dec(const char *s, char out[DEC_STR_MAX])
{
    struct dec d;
    out[0] = '\0';
    if (!s || dec_parse(s, (size_t)-1, &d) != DEC_OK) return -1;
    return dec_format_trim(dec_normalize(d), out, DEC_STR_MAX) < 0 ? -1 : 0;
}

/* Reads decimal string member key of obj into out; absent leaves "" when optional. */
static int get_dec(const json_t *obj, const char *key, int optional, char out[DEC_STR_MAX],
                   char *err, size_t errcap)
{
    const char *s = NULL;
    if (jv_get_str(obj, key, &s, err, errcap) < 0) {
        if (optional && !json_object_get(obj, key)) {
            out[0] = '\0';
            return 0;
        }
        return -1;
    }
    if (acctrec_norm_dec(s, out) < 0) {
        snprintf(err, errcap, "field '%s' is not a decimal", key);
        return -1;
    }
    return 0;
}

static int get_name(const json_t *obj, const char *key, char *out, size_t cap, char *err,
                    size_t errcap)
{
    const char *s = NULL;
    if (jv_get_str(obj, key, &s, err, errcap) < 0) return -1;
    size_t n = strlen(s);
    if (n == 0 || n >= cap) {
        snprintf(err, errcap, "field '%s' empty or too long", key);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-')) {
            snprintf(err, errcap, "field '%s' has an unexpected character", key);
            return -1;
        }
    }
    memcpy(out, s, n + 1);
    return 0;
}

/* field = SYMBOL:SIDE, side from key (default BOTH when absent). */
static int pos_field(const json_t *obj, const char *skey, const char *sidekey, char *out,
                     char *err, size_t errcap)
{
    char sym[32], side[16] = "BOTH";
    if (get_name(obj, skey, sym, sizeof sym, err, errcap) < 0) return -1;
    if (json_object_get(obj, sidekey) &&
        get_name(obj, sidekey, side, sizeof side, err, errcap) < 0)
        return -1;
    if (strcmp(side, "BOTH") && strcmp(side, "LONG") && strcmp(side, "SHORT")) {
        snprintf(err, errcap, "field '%s' is not BOTH, LONG or SHORT", sidekey);
        return -1;
    }
    snprintf(out, ACCTREC_FIELD_MAX, "%s:%s", sym, side);
    return 0;
}

static void note_t(struct acctrec_batch *b, int64_t t)
{
    if (t > b->t_max) b->t_max = t;
}

static int get_time(const json_t *obj, const char *key, int64_t *t, char *err, size_t errcap)
{
    if (jv_get_int64(obj, key, t, err, errcap) < 0) return -1;
    if (*t < 0) {
        snprintf(err, errcap, "field '%s' is negative", key);
        return -1;
    }
    return 0;
}

/* One REST position row (account positions[] or positionRisk). */
static int parse_rest_pos(const json_t *row, const char *upnl_key, struct acctrec_batch *b,
                          char *err, size_t errcap)
{
    if (!json_is_object(row)) {
        snprintf(err, errcap, "position is not an object");
        return -1;
    }
    struct acctrec_pos *p = batch_new_pos(b);
    if (!p) {
        snprintf(err, errcap, "more than %d positions", ACCTREC_MAX_RECORDS);
        return -1;
    }
    if (pos_field(row, "symbol", "positionSide", p->field, err, errcap) < 0 ||
        get_dec(row, "positionAmt", 0, p->amt, err, errcap) < 0 ||
        get_dec(row, "entryPrice", 1, p->entry, err, errcap) < 0 ||
        get_dec(row, upnl_key, 1, p->upnl, err, errcap) < 0 ||
        get_time(row, "updateTime", &p->t, err, errcap) < 0)
        return -1;
    note_t(b, p->t);
    return 0;
}

static int parse_rest_asset(const json_t *row, struct acctrec_batch *b, char *err, size_t errcap)
{
    if (!json_is_object(row)) {
        snprintf(err, errcap, "asset is not an object");
        return -1;
    }
    struct acctrec_bal *a = batch_new_bal(b);
    if (!a) {
        snprintf(err, errcap, "more than %d assets", ACCTREC_MAX_RECORDS);
        return -1;
    }
    if (get_name(row, "asset", a->asset, sizeof a->asset, err, errcap) < 0 ||
        get_dec(row, "walletBalance", 0, a->wallet, err, errcap) < 0 ||
        get_dec(row, "crossWalletBalance", 1, a->cross, err, errcap) < 0 ||
        get_dec(row, "availableBalance", 1, a->available, err, errcap) < 0 ||
        get_time(row, "updateTime", &a->t, err, errcap) < 0)
        return -1;
    note_t(b, a->t);
    return 0;
}

static int need_array(const json_t *v, const char *what, char *err, size_t errcap)
{
    if (json_is_array(v)) return 0;
    snprintf(err, errcap, "'%s' is not an array", what);
    return -1;
}

int acctrec_parse_account(const json_t *root, int version, struct acctrec_batch *b, char *err,
                          size_t errcap)
{
    if (!json_is_object(root)) {
        snprintf(err, errcap, "account answer is not an object");
        return -1;
    }
    const json_t *assets = json_object_get(root, "assets");
    const json_t *positions = json_object_get(root, "positions");
    if (need_array(assets, "assets", err, errcap) < 0 ||
        need_array(positions, "positions", err, errcap) < 0)
        return -1;
    size_t i;
    const json_t *row;
    json_array_foreach(assets, i, row)
        if (parse_rest_asset(row, b, err, errcap) < 0) return -1;
    json_array_foreach(positions, i, row)
        if (parse_rest_pos(row, "unrealizedProfit", b, err, errcap) < 0) return -1;
    b->complete = version >= 3;
    return 0;
}

int acctrec_parse_positionrisk(const json_t *root, int version, struct acctrec_batch *b,
                               char *err, size_t errcap)
{
    if (need_array(root, "positionRisk", err, errcap) < 0) return -1;
    size_t i;
    const json_t *row;
    json_array_foreach(root, i, row)
        if (parse_rest_pos(row, "unRealizedProfit", b, err, errcap) < 0) return -1;
    b->complete = version >= 3;
    return 0;
}

static int parse_ws_bal(const json_t *row, int64_t t, struct acctrec_batch *b, char *err,
                        size_t errcap)
{
    if (!json_is_object(row)) {
        snprintf(err, errcap, "a.B element is not an object");
        return -1;
    }
    struct acctrec_bal *a = batch_new_bal(b);
    if (!a) {
        snprintf(err, errcap, "too many balances");
        return -1;
    }
    a->t = t;
    return get_name(row, "a", a->asset, sizeof a->asset, err, errcap) < 0 ||
                   get_dec(row, "wb", 0, a->wallet, err, errcap) < 0 ||
                   get_dec(row, "cw", 1, a->cross, err, errcap) < 0
               ? -1
               : 0;
}

static int parse_ws_pos(const json_t *row, int64_t t, struct acctrec_batch *b, char *err,
                        size_t errcap)
{
    if (!json_is_object(row)) {
        snprintf(err, errcap, "a.P element is not an object");
        return -1;
    }
    struct acctrec_pos *p = batch_new_pos(b);
    if (!p) {
        snprintf(err, errcap, "too many positions");
        return -1;
    }
    p->t = t;
    return pos_field(row, "s", "ps", p->field, err, errcap) < 0 ||
                   get_dec(row, "pa", 0, p->amt, err, errcap) < 0 ||
                   get_dec(row, "ep", 1, p->entry, err, errcap) < 0 ||
                   get_dec(row, "up", 1, p->upnl, err, errcap) < 0
               ? -1
               : 0;
}

int acctrec_parse_account_update(const json_t *ev, struct acctrec_batch *b, char *err,
                                 size_t errcap)
{
    int64_t t = 0;
    if (get_time(ev, "E", &t, err, errcap) < 0) return -1;
    const json_t *a = json_object_get(ev, "a");
    if (!json_is_object(a)) {
        snprintf(err, errcap, "field 'a' missing or not an object");
        return -1;
    }
    const json_t *bals = json_object_get(a, "B"), *poss = json_object_get(a, "P");
    if ((bals && need_array(bals, "a.B", err, errcap) < 0) ||
        (poss && need_array(poss, "a.P", err, errcap) < 0))
        return -1;
    size_t i;
    const json_t *row;
    if (bals)
        json_array_foreach(bals, i, row)
            if (parse_ws_bal(row, t, b, err, errcap) < 0) return -1;
    if (poss)
        json_array_foreach(poss, i, row)
            if (parse_ws_pos(row, t, b, err, errcap) < 0) return -1;
    note_t(b, t);
    return 0;
}

/* ---- record JSON ------------------------------------------------------------------------ */

static void set_dec(json_t *o, const char *k, const char *v)
{
    if (v[0]) json_object_set_new(o, k, json_string(v));
}

/* A position record. Flat means amt "0" with entry and upnl "0": members a source lacks are
 * kept in merge mode, and a flat position must never keep an old entry or PnL. With upnl_t
 * (a REST snapshot's time, see acctrec_upnl_t) an open position's upnl is timed by it in "ft",
 * since the unrealized PnL moves with the mark price without a new updateTime. */
static char *pos_json(const struct acctrec_pos *p, int64_t upnl_t, const char *src)
{
    json_t *o = json_object();
    if (!o) return NULL;
    int flat = !strcmp(p->amt, "0");
    set_dec(o, "amt", p->amt);
    set_dec(o, "entry", flat && !p->entry[0] ? "0" : p->entry);
    set_dec(o, "upnl", flat ? "0" : p->upnl);
    json_object_set_new(o, "t", json_integer(p->t));
    json_object_set_new(o, "src", json_string(src));
    if (!flat && p->upnl[0] && upnl_t > p->t) {
        json_t *ft = json_object();
        json_object_set_new(ft, "upnl", json_integer(upnl_t));
        json_object_set_new(o, "ft", ft);
    }
    char *s = jv_dump(o);
    json_decref(o);
    return s;
}

int64_t acctrec_upnl_t(int64_t snap_t)
{
    return snap_t > ACCTREC_SNAP_MARGIN_MS ? snap_t - ACCTREC_SNAP_MARGIN_MS : 0;
}

/* A REST balance: wallet and cross change only with balance events (updateTime), available
 * also with the mark price, so it is timed by the snapshot (never older than updateTime) in
 * the record's "ft" (reconciler/bfq.lua, merge mode). */
static char *bal_json(const struct acctrec_bal *a, int64_t snap_t, const char *src)
{
    json_t *o = json_object();
    if (!o) return NULL;
    set_dec(o, "wallet", a->wallet);
    set_dec(o, "cross", a->cross);
    set_dec(o, "available", a->available);
    json_object_set_new(o, "t", json_integer(a->t));
    json_object_set_new(o, "src", json_string(src));
    if (a->available[0] && snap_t > a->t) {
        json_t *ft = json_object();
        json_object_set_new(ft, "available", json_integer(snap_t));
        json_object_set_new(o, "ft", ft);
    }
    char *s = jv_dump(o);
    json_decref(o);
    return s;
}

/* ---- the sink --------------------------------------------------------------------------- */

int acctrec_key(const struct role *r, char *buf, size_t cap, const char *suffix)
{
    return role_key(r, buf, cap, "acct:%s:%s", r->account, suffix);
}

struct acctrec_sink *acctrec_sink_new(struct role *r, const char *source)
{
    struct acctrec_sink *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->r = r;
    snprintf(s->source, sizeof s->source, "%s", source);
    char view[ACCTREC_KEY_MAX], view_ts[ACCTREC_KEY_MAX], src[ACCTREC_KEY_MAX];
    snprintf(view, sizeof view, "view:%s", source);
    snprintf(view_ts, sizeof view_ts, "view:%s:ts", source);
    snprintf(src, sizeof src, "src:%s", source);
    int bad = acctrec_key(r, s->pos_key, sizeof s->pos_key, "pos") < 0 ||
              acctrec_key(r, s->pos_ts, sizeof s->pos_ts, "pos:ts") < 0 ||
              acctrec_key(r, s->bal_key, sizeof s->bal_key, "bal") < 0 ||
              acctrec_key(r, s->bal_ts, sizeof s->bal_ts, "bal:ts") < 0 ||
              acctrec_key(r, s->view_key, sizeof s->view_key, view) < 0 ||
              acctrec_key(r, s->view_ts, sizeof s->view_ts, view_ts) < 0 ||
              acctrec_key(r, s->src_key, sizeof s->src_key, src) < 0 ||
              role_key(r, s->channel, sizeof s->channel, "ch:acct:%s", r->account) < 0;
    s->cache_pos = json_object();
    s->cache_bal = json_object();
    s->open = json_object();
    if (bad || !s->cache_pos || !s->cache_bal || !s->open) {
        acctrec_sink_free(s);
        return NULL;
    }
    s->cache_since = timebase_mono_ms();
    return s;
}

void acctrec_sink_free(struct acctrec_sink *s)
{
    if (!s) return;
    json_decref(s->cache_pos);
    json_decref(s->cache_bal);
    json_decref(s->open);
    free(s);
}

void acctrec_sink_forget(struct acctrec_sink *s)
{
    json_object_clear(s->cache_pos);
    json_object_clear(s->cache_bal);
    s->cache_since = timebase_mono_ms();
}

struct acctrec_stats acctrec_sink_stats(const struct acctrec_sink *s)
{
    return s->st;
}

static void merge_done(int64_t value, const char *err, void *privdata)
{
    struct acctrec_sink *s = privdata;
    if (err) {
        s->st.errors++;
        acctrec_sink_forget(s);
        log_warn("account write failed", "source=%s err=\"%s\"", s->source, err);
        return;
    }
    s->st.changed += value;
}

/* Unchanged since the last send (and the cache is in use)? Records what is sent. */
static int cached(json_t *cache, const char *field, const char *json, int use_cache)
{
    if (use_cache) {
        const char *old = json_string_value(json_object_get(cache, field));
        if (old && !strcmp(old, json)) return 1;
    }
    json_object_set_new(cache, field, json_string(json));
    return 0;
}

/* JSON texts made during one send, freed at its end. */
struct sendset {
    char **json;
    size_t n, cap;
};

static char *keep(struct sendset *k, char *j)
{
    if (!j) return NULL;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        char **v = realloc(k->json, cap * sizeof *v);
        if (!v) {
            free(j);
            return NULL;
        }
        k->json = v;
        k->cap = cap;
    }
    k->json[k->n++] = j;
    return j;
}

static void sendset_free(struct sendset *k)
{
    for (size_t i = 0; i < k->n; i++) free(k->json[i]);
    free(k->json);
}

struct send_ctx {
    struct acctrec_sink *s;
    int use_cache;
    int64_t uid, snap_t;
    struct recon_batch *pos, *bal;
    struct recon_batch *flat; /* flat positions: replace mode (nothing in them is snapshot-
                                 timed, and replace costs a tenth of merge inside Redis) */
    struct recon_batch *view; /* this source's own view: freshest wins too, no publish */
    struct sendset keep;
    int records;
};

static int add_pos(struct send_ctx *c, const struct acctrec_pos *p)
{
    struct acctrec_sink *s = c->s;
    char *j = keep(&c->keep, pos_json(p, acctrec_upnl_t(c->snap_t), s->source));
    if (!j) return -1;
    if (strcmp(p->amt, "0"))
        json_object_set_new(s->open, p->field, json_true());
    else
        json_object_del(s->open, p->field);
    if (cached(s->cache_pos, p->field, j, c->use_cache)) return 0;
    c->records++;
    struct recon_batch *b = strcmp(p->amt, "0") ? c->pos : c->flat;
    if (recon_batch_add(b, p->field, j, p->t, c->uid, NULL) < 0) return -1;
    /* the source's own view is replace mode, timed by the position's change alone */
    char *v = c->snap_t ? keep(&c->keep, pos_json(p, 0, s->source)) : j;
    return v ? recon_batch_add(c->view, p->field, v, p->t, c->uid, NULL) : -1;
}

static int add_bal(struct send_ctx *c, const struct acctrec_bal *a)
{
    char *j = keep(&c->keep, bal_json(a, c->snap_t, c->s->source));
    if (!j) return -1;
    if (cached(c->s->cache_bal, a->asset, j, c->use_cache)) return 0;
    c->records++;
    return recon_batch_add(c->bal, a->asset, j, a->t, c->uid, NULL);
}

/* Positions this sink saw open that a complete snapshot no longer lists: flat now. */
static int add_missing(struct send_ctx *c, const struct acctrec_batch *b)
{
    json_t *listed = json_object();
    if (!listed) return -1;
    for (size_t i = 0; i < b->npos; i++) json_object_set_new(listed, b->pos[i].field, json_true());
    const char *field;
    json_t *v, *gone = json_array();
    json_object_foreach(c->s->open, field, v)
        if (!json_object_get(listed, field)) json_array_append_new(gone, json_string(field));
    int rc = 0;
    size_t i;
    json_array_foreach(gone, i, v) {
        struct acctrec_pos p;
        memset(&p, 0, sizeof p);
        snprintf(p.field, sizeof p.field, "%s", json_string_value(v));
        memcpy(p.amt, "0", 2);
        p.t = b->absent_t;
        if (add_pos(c, &p) < 0) rc = -1;
    }
    json_decref(gone);
    json_decref(listed);
    return rc;
}

static int send_all(struct send_ctx *c)
{
    struct acctrec_sink *s = c->s;
    int rc = 0;
    struct recon_batch **pos[] = {&c->pos, &c->flat};
    for (size_t i = 0; i < 2; i++) {
        if (recon_batch_count(*pos[i]) == 0) continue;
        s->st.batches++;
        if (recon_batch_send(s->r->rc, *pos[i], merge_done, s) < 0) rc = -1;
        *pos[i] = NULL;
    }
    if (rc == 0 && recon_batch_count(c->view) > 0) { /* the send consumes the batch */
        if (recon_batch_send(s->r->rc, c->view, NULL, NULL) < 0) rc = -1;
        c->view = NULL;
    }
    if (recon_batch_count(c->bal) > 0) {
        s->st.batches++;
        if (recon_batch_send(s->r->rc, c->bal, merge_done, s) < 0) rc = -1;
        c->bal = NULL;
    }
    return rc;
}

int acctrec_sink_send(struct acctrec_sink *s, const struct acctrec_batch *b, int use_cache)
{
    if (!role_redis_up(s->r)) {
        acctrec_sink_forget(s);
        return -1;
    }
    if (timebase_mono_ms() - s->cache_since > ACCTREC_CACHE_MS) acctrec_sink_forget(s);
    struct send_ctx c = {.s = s, .use_cache = use_cache, .uid = b->uid, .snap_t = b->snap_t};
    c.pos = recon_batch_new(s->pos_key, s->pos_ts, s->channel, "pos", RECON_MERGE);
    c.flat = recon_batch_new(s->pos_key, s->pos_ts, s->channel, "pos", RECON_REPLACE);
    c.bal = recon_batch_new(s->bal_key, s->bal_ts, s->channel, "bal", RECON_MERGE);
    c.view = recon_batch_new(s->view_key, s->view_ts, NULL, "pos", RECON_REPLACE);
    int rc = !c.pos || !c.flat || !c.bal || !c.view ? -1 : 0;
    for (size_t i = 0; rc == 0 && i < b->npos; i++) rc = add_pos(&c, &b->pos[i]);
    if (rc == 0 && b->complete) rc = add_missing(&c, b);
    for (size_t i = 0; rc == 0 && i < b->nbal; i++) rc = add_bal(&c, &b->bal[i]);
    if (rc == 0) rc = send_all(&c);
    recon_batch_free(c.pos);
    recon_batch_free(c.flat);
    recon_batch_free(c.bal);
    recon_batch_free(c.view);
    sendset_free(&c.keep);
    if (rc < 0) {
        s->st.errors++;
        acctrec_sink_forget(s);
        return -1;
    }
    s->st.records += c.records;
    return c.records;
}

/* ---- health ----------------------------------------------------------------------------- */

void acctrec_sink_ok(struct acctrec_sink *s, int64_t exch_t)
{
    char t[24], seen[24];
    snprintf(t, sizeof t, "%lld", (long long)exch_t);
    snprintf(seen, sizeof seen, "%lld", (long long)timebase_wall_ms());
    const char *argv[] = {"HSET", s->src_key, "t", t, "seen", seen};
    (void)rconn_command_argv(s->r->rc, NULL, NULL, 6, argv, NULL);
}

void acctrec_sink_error(struct acctrec_sink *s, const char *reason)
{
    char at[24];
    snprintf(at, sizeof at, "%lld", (long long)timebase_wall_ms());
    const char *argv[] = {"HSET", s->src_key, "err", reason ? reason : "", "err_at", at};
    (void)rconn_command_argv(s->r->rc, NULL, NULL, 6, argv, NULL);
}
