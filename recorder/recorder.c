/* recorder: `bfq recorder`, the user stream's events into MariaDB, exactly once (recorder.h).
 *
 * Exactly once, whatever fails: an entry of bfq:events:<acct> is acknowledged (XACK) only after
 * the transaction holding its rows committed; a crash between the two redelivers the entry
 * (this consumer's pending entries are read first, from id 0, at every start) and the
 * idempotent statements (rows.h) turn the second write into a no-op. A failed commit keeps the
 * batch and its ids, and retries it after core/backoff's delay while the stream waits: the place in
 * the stream is the consumer group's, in Redis, so nothing is lost while MariaDB is away. */
#include "recorder/recorder.h"

#include <hiredis/hiredis.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/decimal.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "recorder/rows.h"
#include "recorder/schema.h"

#define REC_ALERTS_MAXLEN "10000"
#define REC_EVENT_MAX (1u << 20)

static void rec_poll_soon(struct rec *c, int64_t ms);

/* ---- alerts ------------------------------------------------------------------------------ */

void rec_alert(struct rec *c, const char *level, const char *key, const char *text)
{
    char t[24], src[ROLE_ID_MAX + 16];
    snprintf(t, sizeof t, "%lld", (long long)timebase_wall_ms());
    snprintf(src, sizeof src, "recorder:%s", c->r.instance);
    const char *argv[] = {"XADD",  c->alerts, "MAXLEN", "~",  REC_ALERTS_MAXLEN, "*", "level",
                          level,   "key",     key,      "text", text,            "src", src,
                          "t",     t};
    if (rconn_command_argv(c->r.rc, NULL, NULL, 16, argv, NULL) < 0)
        log_warn("alert not sent, Redis down", "key=%s", key);
}

void rec_db_result(struct rec *c, const struct db_batch *b)
{
    char key[96], text[DB_ERR_MAX + 96];
    snprintf(key, sizeof key, "recorder:mysql:%s", c->r.account);
    if (b->status == DB_OK) {
        /* an outage ends when every kind of write that failed in it (stream, backfill,
         * snapshot) has committed again: a full disk still answers reads, and writes that
         * only meet duplicates */
        if (b->query_kind < 0) c->db_failing &= ~(1u << b->tag);
        if (!c->db_down || c->db_failing) return;
        c->db_down = 0;
        snprintf(text, sizeof text, "MariaDB back after %llds; catching up",
                 (long long)((timebase_wall_ms() - c->down_since) / 1000));
        log_info("MariaDB back", "account=%s", c->r.account);
        rec_alert(c, "info", key, text);
        return;
    }
    c->failures++;
    c->db_failing |= 1u << b->tag;
    snprintf(c->last_err, sizeof c->last_err, "%s", b->errstr);
    if (c->db_down) return; /* alerted once for this outage */
    c->db_down = 1;
    c->down_since = timebase_wall_ms();
    log_error("MariaDB write failed, retrying with back-off", "account=%s err=\"%s\"",
              c->r.account, b->errstr);
    snprintf(text, sizeof text, "MariaDB unavailable (%s); events kept in the stream",
             b->errstr);
    rec_alert(c, b->status == DB_ESCHEMA ? "critical" : "error", key, text);
}

/* ---- the stream -------------------------------------------------------------------------- */

/* Whether r is an array of entries [id, x]; *entries set. */
static int rec_entry_list(const redisReply *r, const redisReply **entries)
{
    if (r->type != REDIS_REPLY_ARRAY) return 0;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING)
            return 0;
    }
    *entries = r;
    return 1;
}

static void rec_free_ids(struct rec *c)
{
    for (size_t i = 0; i < c->nids; i++) free(c->ids[i]);
    free(c->ids);
    c->ids = NULL;
    c->nids = 0;
}

static void rec_ack(struct rec *c)
{
    size_t n = c->nids + 3;
    const char **argv = malloc(n * sizeof *argv);
    if (!argv) abort();
    argv[0] = "XACK";
    argv[1] = c->stream;
    argv[2] = c->group;
    for (size_t i = 0; i < c->nids; i++) argv[3 + i] = c->ids[i];
    /* lost (Redis down): the entries come again and their rows are no-ops */
    if (rconn_command_argv(c->sc, NULL, NULL, (int)n, argv, NULL) == 0)
        c->acked += (int64_t)c->nids;
    free(argv);
    rec_free_ids(c);
}

static void rec_submit(struct rec *c)
{
    c->wbatch_in_db = 1;
    db_submit(c->db, c->wbatch);
}

/* Alerts once for each dead letter the committed batch wrote (its stream id and the reason,
 * never the event's data). */
static void rec_dead_alerts(struct rec *c, const struct db_batch *b)
{
    char key[96], text[DB_ERR_MAX + 160];
    snprintf(key, sizeof key, "recorder:dead:%s", c->r.account);
    for (size_t i = 0; i < b->n; i++) {
        const struct db_row *r = &b->rows[i];
        if (r->kind != ROW_DEAD || (r->on_fail && !r->fired)) continue;
        c->dead++;
        snprintf(text, sizeof text, "stream entry %s (%s) parked in dead_letters, error %s: %s",
                 r->v[1], r->v[2] && *r->v[2] ? r->v[2] : "no event type", r->v[DB_DEAD_ERRNO],
                 r->v[DB_DEAD_ERROR]);
        log_error("stream entry parked in dead_letters", "id=%s err=\"%s\"", r->v[1],
                  r->v[DB_DEAD_ERROR]);
        rec_alert(c, "error", key, text);
    }
}

static void rec_stream_done(struct rec *c, struct db_batch *b)
{
    c->wbatch_in_db = 0;
    if (b->status != DB_OK && b->permanent) {
        /* the server refuses these rows, not an outage: bounded retries, then event by event */
        c->refused++;
        c->failures++;
        snprintf(c->last_err, sizeof c->last_err, "%s", b->errstr);
        log_warn("MariaDB refused a batch", "account=%s refusals=%d err=\"%s\"", c->r.account,
                 c->refused, b->errstr);
        if (c->refused >= c->dead_after) b->isolate = 1;
    } else {
        rec_db_result(c, b);
    }
    if (b->status != DB_OK) {
        ev_timer_set(&c->retry, (double)backoff_next(&c->bo) / 1000.0, 0.);
        ev_timer_start(c->r.loop, &c->retry);
        return;
    }
    backoff_reset(&c->bo);
    c->refused = 0;
    c->commits++;
    for (size_t i = 0; i < b->n; i++) /* rows written: not the dead letters kept in reserve */
        c->rows += !b->rows[i].on_fail || b->rows[i].fired;
    rec_dead_alerts(c, b);
    db_batch_free(b);
    c->wbatch = NULL;
    rec_ack(c);
    rec_poll_soon(c, 0);
}

static void rec_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rec *c = w->data;
    if (c->wbatch && !role_stopping(&c->r)) rec_submit(c);
}

/* One entry [id, [field, value, ...]] into rows of its own group, with the dead letter that
 * replaces them if the server refuses them for good; an entry that is not an event becomes a
 * dead letter at once. */
static void rec_take_entry(struct rec *c, const redisReply *e)
{
    char err[JV_ERR_MAX + 64] = "";
    const redisReply *id = e->element[0], *kv = e->element[1];
    const char *data = NULL;
    size_t len = 0, before = c->wbatch->n;
    int group = (int)c->nids;
    c->ids[c->nids] = strdup(id->str);
    if (!c->ids[c->nids]) abort();
    c->nids++;
    if (kv->type == REDIS_REPLY_ARRAY)
        for (size_t i = 0; i + 1 < kv->elements; i += 2)
            if (!strcmp(kv->element[i]->str, "data")) {
                data = kv->element[i + 1]->str;
                len = kv->element[i + 1]->len;
            }
    c->events++;
    json_t *ev = data && len <= REC_EVENT_MAX ? jv_parse(data, len, err, sizeof err) : NULL;
    const json_t *et = json_object_get(ev, "e");
    const char *etype = json_is_string(et) ? json_string_value(et) : NULL;
    if (!ev || rows_from_event(c->wbatch, c->r.account, ev, err, sizeof err) < 0) {
        /* never an event: parked whole with the reason, acknowledged, counted */
        c->skipped++;
        log_warn("stream entry is not an event", "id=%s err=\"%s\"", id->str,
                 data ? err : "no data field");
        rows_dead_letter(c->wbatch, c->r.account, id->str, etype, data, len, 0,
                         data ? err : "no data field", group, 0);
    } else if (c->wbatch->n > before) {
        for (size_t i = before; i < c->wbatch->n; i++) c->wbatch->rows[i].group = group;
        rows_dead_letter(c->wbatch, c->r.account, id->str, etype, data, len, 0, NULL, group, 1);
    }
    json_decref(ev);
}

/* Whether r is [[key, [entries]]] with entries of [id, x]; *entries set. */
static int rec_entries(const redisReply *r, const redisReply **entries)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) return 0;
    const redisReply *s = r->element[0];
    if (s->type != REDIS_REPLY_ARRAY || s->elements != 2) return 0;
    return rec_entry_list(s->element[1], entries);
}

static void rec_group_created(struct rconn *rc, redisReply *reply, void *privdata)
{
    (void)rc;
    struct rec *c = privdata;
    if (reply && reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9))
        log_warn("XGROUP CREATE failed", "err=\"%s\"", reply->str);
    rec_poll_soon(c, reply ? 0 : c->poll_ms);
}

/* The entries of one read (or claim) become one batch. */
static void rec_take_batch(struct rec *c, const redisReply *entries)
{
    c->wbatch = db_batch_new();
    c->wbatch->tag = REC_TAG_STREAM;
    c->ids = calloc(entries->elements, sizeof *c->ids);
    if (!c->ids) abort();
    for (size_t i = 0; i < entries->elements; i++) rec_take_entry(c, entries->element[i]);
    if (c->wbatch->n) {
        rec_submit(c);
        return;
    }
    /* events that make no row (balances, listen key, ...): nothing to commit */
    db_batch_free(c->wbatch);
    c->wbatch = NULL;
    rec_ack(c);
    rec_poll_soon(c, 0);
}

/* XAUTOCLAIM's answer [cursor, [entries], [deleted ids]]: another consumer's entries, idle
 * longer than claim_idle (it died, or is stuck), are ours now. */
static void rec_claim_done(struct rconn *rc, redisReply *reply, void *privdata)
{
    (void)rc;
    struct rec *c = privdata;
    const redisReply *entries = NULL;
    c->reading = 0;
    if (role_stopping(&c->r)) return;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        !rec_entry_list(reply->element[1], &entries)) {
        if (reply && reply->type == REDIS_REPLY_ERROR)
            log_warn("XAUTOCLAIM failed", "err=\"%s\"", reply->str);
        snprintf(c->claim_from, sizeof c->claim_from, "0-0");
        c->next_claim = timebase_wall_ms() + c->claim_idle_ms / 2;
        rec_poll_soon(c, reply ? 0 : c->poll_ms);
        return;
    }
    snprintf(c->claim_from, sizeof c->claim_from, "%s", reply->element[0]->str);
    /* a full sweep done: look again in half the idle time; otherwise go on at once */
    c->next_claim = timebase_wall_ms() + (strcmp(c->claim_from, "0-0") ? 0 : c->claim_idle_ms / 2);
    if (!entries->elements) {
        rec_poll_soon(c, 0);
        return;
    }
    c->claimed += (int64_t)entries->elements;
    log_info("claimed pending entries of another consumer", "n=%zu first=%s",
             entries->elements, entries->element[0]->element[0]->str);
    rec_take_batch(c, entries);
}

static void rec_read_done(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct rec *c = privdata;
    const redisReply *entries = NULL;
    c->reading = 0;
    if (role_stopping(&c->r)) return;
    if (reply && reply->type == REDIS_REPLY_ERROR && !strncmp(reply->str, "NOGROUP", 7)) {
        const char *argv[] = {"XGROUP", "CREATE", c->stream, c->group, "0", "MKSTREAM"};
        if (rconn_command_argv(rc, rec_group_created, c, 6, argv, NULL) < 0)
            rec_poll_soon(c, c->poll_ms);
        return;
    }
    if (!reply || reply->type == REDIS_REPLY_NIL || !rec_entries(reply, &entries) ||
        entries->elements == 0) {
        if (reply && reply->type == REDIS_REPLY_ERROR && strcmp(reply->str, c->last_read_err)) {
            log_warn("XREADGROUP failed", "err=\"%s\"", reply->str); /* once per reason */
            snprintf(c->last_read_err, sizeof c->last_read_err, "%s", reply->str);
        }
        if (reply && !c->pending_done && reply->type != REDIS_REPLY_ERROR) {
            c->pending_done = 1; /* own pending entries done: new ones from now on */
            rec_poll_soon(c, 0);
            return;
        }
        /* an empty blocking read waited already */
        rec_poll_soon(c, reply && c->pending_done && c->block_ms > 0 ? 0 : c->poll_ms);
        return;
    }
    rec_take_batch(c, entries);
}

/* Another consumer's entries pending longer than claim_idle, from the claim cursor on. */
static int rec_claim(struct rec *c)
{
    char count[24], idle[24];
    snprintf(count, sizeof count, "%lld", (long long)c->batch_max);
    snprintf(idle, sizeof idle, "%lld", (long long)c->claim_idle_ms);
    const char *argv[] = {"XAUTOCLAIM", c->stream, c->group, c->consumer, idle,
                          c->claim_from[0] ? c->claim_from : "0-0", "COUNT", count};
    return rconn_command_argv(c->sc, rec_claim_done, c, 8, argv, NULL);
}

static void rec_read(struct rec *c)
{
    char count[24], block[24];
    if (c->reading || c->wbatch || role_stopping(&c->r)) return;
    if (c->pending_done && c->claim_idle_ms > 0 && timebase_wall_ms() >= c->next_claim) {
        if (rec_claim(c) < 0) {
            rec_poll_soon(c, c->poll_ms);
            return;
        }
        c->reading = 1;
        return;
    }
    snprintf(count, sizeof count, "%lld", (long long)c->batch_max);
    snprintf(block, sizeof block, "%lld", (long long)c->block_ms);
    /* new entries wait in Redis for up to `block` (on the recorder's own stream connection,
     * so the heartbeat and the weight budget never queue behind it) */
    int blocking = c->pending_done && c->block_ms > 0;
    const char *argv[] = {"XREADGROUP", "GROUP", c->group, c->consumer, "COUNT", count,
                          "BLOCK",      block,   "STREAMS", c->stream, c->pending_done ? ">" : "0"};
    const char *nb[] = {"XREADGROUP", "GROUP",   c->group, c->consumer, "COUNT",
                        count,        "STREAMS", c->stream, c->pending_done ? ">" : "0"};
    if (blocking ? rconn_command_argv(c->sc, rec_read_done, c, 11, argv, NULL) < 0
                 : rconn_command_argv(c->sc, rec_read_done, c, 9, nb, NULL) < 0) {
        rec_poll_soon(c, c->poll_ms); /* Redis down: the up callback polls too */
        return;
    }
    c->reading = 1;
}

static void rec_poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    rec_read(w->data);
}

static void rec_poll_soon(struct rec *c, int64_t ms)
{
    ev_timer_stop(c->r.loop, &c->poll);
    ev_timer_set(&c->poll, (double)ms / 1000.0, 0.);
    ev_timer_start(c->r.loop, &c->poll);
}

/* ---- per-minute snapshots from the reconciled state in Redis ------------------------------ */

static const char *snap_field(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    struct dec d;
    if (!json_is_string(v) || dec_parse(json_string_value(v), (size_t)-1, &d) != DEC_OK)
        return "0";
    return json_string_value(v);
}

static struct dec snap_dec(const char *s)
{
    struct dec d = {0, 0};
    if (dec_parse(s, (size_t)-1, &d) != DEC_OK) d = (struct dec){0, 0};
    return d;
}

/* Adds the position rows of one HGETALL answer, summing their uPnL into *upnl. */
static void snap_positions(struct rec *c, struct db_batch *b, const redisReply *pos,
                           const char *minute, struct dec *upnl)
{
    for (size_t i = 0; pos && pos->type == REDIS_REPLY_ARRAY && i + 1 < pos->elements; i += 2) {
        char sym[64], notional[DEC_STR_MAX];
        const char *f = pos->element[i]->str, *colon = strrchr(f, ':');
        json_t *j = json_loads(pos->element[i + 1]->str, 0, NULL);
        struct dec amt = snap_dec(snap_field(j, "amt")), entry = snap_dec(snap_field(j, "entry"));
        struct dec up = snap_dec(snap_field(j, "upnl")), n;
        if (colon && (size_t)(colon - f) < sizeof sym && !dec_is_zero(amt) &&
            dec_mul(amt, entry, &n) == DEC_OK && dec_add(n, up, &n) == DEC_OK &&
            dec_format(n, notional, sizeof notional) > 0) {
            snprintf(sym, sizeof sym, "%.*s", (int)(colon - f), f);
            const char *v[] = {c->r.account,           minute,
                               sym,                    colon + 1,
                               snap_field(j, "amt"),   snap_field(j, "entry"),
                               snap_field(j, "upnl"),  notional};
            db_batch_add(b, ROW_POS_SNAP, 8, v);
            if (dec_add(*upnl, up, &n) == DEC_OK) *upnl = n;
        }
        json_decref(j);
    }
}

static void snap_balance(struct rec *c, struct db_batch *b, const char *asset, const json_t *j,
                         const char *minute, struct dec upnl)
{
    struct dec u = strcmp(asset, "USDT") ? (struct dec){0, 0} : upnl, mb;
    char ub[DEC_STR_MAX], mbb[DEC_STR_MAX];
    if (dec_add(snap_dec(snap_field(j, "wallet")), u, &mb) != DEC_OK ||
        dec_format(u, ub, sizeof ub) < 0 || dec_format(mb, mbb, sizeof mbb) < 0)
        return;
    const char *v[] = {c->r.account, minute, asset, snap_field(j, "wallet"), mbb, ub,
                       snap_field(j, "available")};
    db_batch_add(b, ROW_BAL_SNAP, 7, v);
}

/* The balances' answer comes first (both HGETALLs are sent together, answers in order). */
static void snap_bal_done(struct rconn *rc, redisReply *reply, void *privdata)
{
    (void)rc;
    struct rec *c = privdata;
    json_decref(c->snap_bal);
    c->snap_bal = json_object();
    for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements;
         i += 2)
        json_object_set_new(c->snap_bal, reply->element[i]->str,
                            json_string(reply->element[i + 1]->str));
}

static void snap_pos_done(struct rconn *rc, redisReply *reply, void *privdata)
{
    (void)rc;
    struct rec *c = privdata;
    char minute[24];
    struct dec upnl = {0, 0};
    const char *asset;
    json_t *raw;
    c->snap_busy = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || !c->snap_bal || role_stopping(&c->r))
        return;
    snprintf(minute, sizeof minute, "%lld", (long long)(timebase_wall_ms() / 60000 * 60000));
    struct db_batch *b = db_batch_new();
    b->tag = REC_TAG_SNAPSHOT;
    snap_positions(c, b, reply, minute, &upnl);
    json_object_foreach(c->snap_bal, asset, raw) {
        json_t *j = json_loads(json_string_value(raw), 0, NULL);
        snap_balance(c, b, asset, j, minute, upnl);
        json_decref(j);
    }
    if (!b->n) {
        db_batch_free(b);
        return;
    }
    c->snap_busy = 1;
    db_submit(c->db, b);
}

static void snap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct rec *c = w->data;
    char bal[160], pos[160];
    if (c->snap_busy || role_stopping(&c->r) ||
        role_key(&c->r, bal, sizeof bal, "acct:%s:bal", c->r.account) < 0 ||
        role_key(&c->r, pos, sizeof pos, "acct:%s:pos", c->r.account) < 0)
        return;
    if (rconn_command(c->r.rc, snap_bal_done, c, "HGETALL %s", bal) == 0 &&
        rconn_command(c->r.rc, snap_pos_done, c, "HGETALL %s", pos) == 0)
        c->snap_busy = 1;
}

/* ---- the database's answers -------------------------------------------------------------- */

static void rec_db_done(struct db_batch *b, void *privdata)
{
    struct rec *c = privdata;
    if (b->tag == REC_TAG_STREAM) {
        rec_stream_done(c, b);
    } else if (b->tag == REC_TAG_BACKFILL) {
        backfill_db_done(c->bf, b);
    } else {
        rec_db_result(c, b);
        if (b->status == DB_OK) c->snapshots++;
        c->snap_busy = 0;
        db_batch_free(b);
    }
}

/* ---- the role ---------------------------------------------------------------------------- */

/* The stream connection is (again) up: read from where the group is. */
static void rec_stream_up(struct rconn *rc, void *privdata)
{
    (void)rc;
    struct rec *c = privdata;
    c->reading = 0;
    rec_poll_soon(c, 0);
}

static int rec_stream_conn(struct rec *c, char *err, size_t cap)
{
    const char *url = NULL;
    char name[ROLE_ID_MAX + 16];
    if (config_required(c->r.cfg, "redis", "url", &url) < 0) {
        snprintf(err, cap, "%s", config_errstr(c->r.cfg));
        return -1;
    }
    snprintf(name, sizeof name, "recorder-stream:%s", c->r.instance);
    struct rconn_options ro = {.url = url, .name = name};
    struct rconn_callbacks cb = {.up = rec_stream_up, .privdata = c};
    c->sc = rconn_new(c->r.loop, &ro, &cb, err, cap);
    return c->sc ? 0 : -1;
}

static void rec_fill(struct role *r, json_t *obj, void *privdata)
{
    (void)r;
    struct rec *c = privdata;
    json_object_set_new(obj, "events", json_integer(c->events));
    json_object_set_new(obj, "skipped", json_integer(c->skipped));
    json_object_set_new(obj, "rows", json_integer(c->rows));
    json_object_set_new(obj, "commits", json_integer(c->commits));
    json_object_set_new(obj, "acked", json_integer(c->acked));
    json_object_set_new(obj, "db_failures", json_integer(c->failures));
    json_object_set_new(obj, "db_up", json_boolean(!c->db_down));
    json_object_set_new(obj, "snapshots", json_integer(c->snapshots));
    json_object_set_new(obj, "dead_letters", json_integer(c->dead));
    json_object_set_new(obj, "claimed", json_integer(c->claimed));
    json_object_set_new(obj, "backfill_cycles", json_integer(backfill_cycles(c->bf)));
    if (c->last_err[0]) json_object_set_new(obj, "last_db_error", json_string(c->last_err));
}

static int rec_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct rec *c = state;
    const char *url = NULL, *s = "recorder", *consumer = NULL;
    if (config_required(cfg, "mysql", "url", &url) < 0 ||
        config_duration_ms(cfg, s, "poll", 200, 1, 60000, &c->poll_ms) < 0 ||
        config_int(cfg, s, "batch", 500, 1, 10000, &c->batch_max) < 0 ||
        config_duration_ms(cfg, s, "backoff_min", 500, 10, 600000, &c->backoff_min_ms) < 0 ||
        config_duration_ms(cfg, s, "backoff_max", 30000, 10, 3600000, &c->backoff_max_ms) < 0 ||
        config_duration_ms(cfg, s, "backfill_every", 600000, 100, 86400000,
                           &c->backfill_every_ms) < 0 ||
        config_duration_ms(cfg, s, "income_every", 60000, 100, 86400000, &c->income_every_ms) < 0 ||
        config_int(cfg, s, "backfill_days", 7, 1, 180, &c->backfill_days) < 0 ||
        config_duration_ms(cfg, s, "snapshot_every", 60000, 0, 3600000, &c->snapshot_every_ms) < 0 ||
        config_str(cfg, s, "consumer", NULL, &consumer) < 0 ||
        config_int(cfg, s, "dead_after", 3, 1, 1000, &c->dead_after) < 0 ||
        config_duration_ms(cfg, s, "claim_idle", 60000, 0, 86400000, &c->claim_idle_ms) < 0 ||
        config_str(cfg, s, "symbols", "", &c->symbols) < 0 ||
        config_duration_ms(cfg, s, "block", 1000, 0, 60000, &c->block_ms) < 0)
        return -1;
    if (db_parse_url(url, &c->url, err, cap) < 0) return -1;
    snprintf(c->consumer, sizeof c->consumer, "%s", consumer ? consumer : "");
    snprintf(c->group, sizeof c->group, "recorder");
    return 0;
}

/* At start, with a short timeout: a schema this binary does not know stops the recorder now.
 * MariaDB unreachable: go on; the worker checks again on every connect. */
static int rec_check_schema(struct rec *c, char *err, size_t cap)
{
    char why[DB_ERR_MAX];
    struct st_mysql *m = db_connect(&c->url, 3, why, sizeof why);
    if (!m) {
        log_warn("MariaDB not reachable at start, will retry", "err=\"%s\"", why);
        return 0;
    }
    int rc = schema_check(m, SCHEMA_VERSION, why, sizeof why);
    mysql_close(m);
    if (rc == -2) {
        snprintf(err, cap, "%s", why);
        return -1;
    }
    return 0;
}

static int rec_start(struct role *r, void *state, char *err, size_t cap)
{
    struct rec *c = state;
    struct db_options o = {.url = &c->url, .stmts = rows_stmts, .nstmts = ROWS_NSTMTS,
                           .timeout_s = 5, .schema_version = SCHEMA_VERSION};
    if (role_key(r, c->stream, sizeof c->stream, "events:%s", r->account) < 0 ||
        role_key(r, c->alerts, sizeof c->alerts, "alerts") < 0) {
        snprintf(err, cap, "prefix too long");
        return -1;
    }
    if (rec_check_schema(c, err, cap) < 0 || rec_stream_conn(c, err, cap) < 0) return -1;
    c->db = db_new(r->loop, &o, rec_db_done, c, err, cap);
    if (!c->db) return -1;
    /* each recorder its own consumer (default: its instance id), so several share the stream */
    if (!c->consumer[0]) snprintf(c->consumer, sizeof c->consumer, "%s", r->instance);
    backoff_init(&c->bo, c->backoff_min_ms, c->backoff_max_ms);
    c->bf = backfill_new(c);
    ev_timer_init(&c->poll, rec_poll_cb, 0., 0.);
    ev_timer_init(&c->retry, rec_retry_cb, 0., 0.);
    ev_timer_init(&c->snap_timer, snap_cb, (double)c->snapshot_every_ms / 1000.0,
                  (double)c->snapshot_every_ms / 1000.0);
    c->poll.data = c->retry.data = c->snap_timer.data = c;
    if (c->snapshot_every_ms > 0) ev_timer_start(r->loop, &c->snap_timer);
    backfill_start(c->bf);
    log_info("recorder starting", "account=%s stream=%s db=%s", r->account, c->stream,
             c->url.db);
    return 0;
}

static void rec_stop(struct role *r, void *state)
{
    struct rec *c = state;
    ev_timer_stop(r->loop, &c->poll);
    ev_timer_stop(r->loop, &c->retry);
    ev_timer_stop(r->loop, &c->snap_timer);
    if (c->bf) backfill_stop(c->bf);
    if (c->sc) rconn_free(c->sc); /* a read in flight gets NULL: nothing starts any more */
    c->sc = NULL;
    db_free(c->db); /* the batches it still holds are freed there */
    c->db = NULL;
    if (c->wbatch && !c->wbatch_in_db) db_batch_free(c->wbatch); /* waiting for its retry */
    c->wbatch = NULL;
    rec_free_ids(c);
    json_decref(c->snap_bal);
    c->snap_bal = NULL;
}

static const struct cli_option recorder_options[] = {
    {"mysql", "URL", "mysql", "url", "mysql://user:pass@host:port/db[?socket=PATH]", 0},
    {"migrate", NULL, NULL, NULL, "apply the schema migrations (as a user that may) and exit", 0},
    {"grant-writer", "USER@HOST", NULL, "grant_writer",
     "with --migrate: SELECT, INSERT, UPDATE on the recorder's tables for that user", 0},
    {"grant-reader", "USER@HOST", NULL, "grant_reader",
     "with --migrate: SELECT on the tables and views for that (dashboard) user", 0},
    {"poll", "DURATION", NULL, NULL, "stream poll period when idle (200ms)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* [recorder] keys no option sets (core/role reports any other key of the section). */
static const char *const recorder_keys[] = {"batch", "backoff_min", "backoff_max", "backfill_every",
                                            "income_every", "backfill_days", "snapshot_every",
                                            "consumer", "symbols", "block", "dead_after",
                                            "claim_idle", NULL};

const struct cli_command recorder_cli = {
    .name = "recorder",
    .summary = "orders, trades, income and account snapshots into MariaDB, exactly once",
    .usage = "Reads bfq:events:<account> (consumer group \"recorder\"), backfills from REST\n"
             "(income, allOrders, userTrades), snapshots bfq:acct:<account>:bal/:pos each minute.\n"
             "Config: [mysql] url; [recorder] poll, batch (500), backoff_min (500ms), backoff_max\n"
             "(30s), backfill_every (10m), income_every (1m), backfill_days (7), snapshot_every\n"
             "(1m, 0 = off), consumer (the instance id), symbols (always backfilled), block (1s:\n"
             "XREADGROUP BLOCK on its own connection; 0 = poll), dead_after (3 refusals, then event\n"
             "by event into dead_letters), claim_idle (1m: XAUTOCLAIM other consumers' entries\n"
             "pending that long; 0 = never), account.\n",
    .options = recorder_options,
    .keys = recorder_keys,
    .role_options = 1,
};

static const struct role_entry recorder_entry = {
    .cmd = &recorder_cli,
    .opts = {.section = "recorder", .needs_account = 1, .fill = rec_fill},
    .config = rec_config,
    .start = rec_start,
    .stop = rec_stop,
};

/* bfq recorder --migrate [--grant-writer U] [--grant-reader U]: one-shot, blocking. */
static int rec_migrate(int argc, char **argv)
{
    struct config *cfg = NULL;
    struct db_url u;
    const char *url = NULL, *w = NULL, *rd = NULL;
    char err[DB_ERR_MAX] = "";
    int rc = 1, n;
    enum cli_result cr = cli_parse(&recorder_cli, argc, argv, &cfg);
    if (cr != CLI_RUN) return cr == CLI_EXIT_OK ? 0 : 2;
    if (config_required(cfg, "mysql", "url", &url) < 0 ||
        config_str(cfg, "recorder", "grant_writer", NULL, &w) < 0 ||
        config_str(cfg, "recorder", "grant_reader", NULL, &rd) < 0) {
        fprintf(stderr, "bfq recorder: %s\n", config_errstr(cfg));
        config_free(cfg);
        return 1;
    }
    struct st_mysql *m = db_parse_url(url, &u, err, sizeof err) < 0
                             ? NULL
                             : db_connect(&u, 10, err, sizeof err);
    if (m && (n = schema_migrate(m, err, sizeof err)) >= 0 &&
        (!w || schema_grant(m, w, 0, err, sizeof err) == 0) &&
        (!rd || schema_grant(m, rd, 1, err, sizeof err) == 0)) {
        printf("schema version %d (%d migration%s applied)\n", SCHEMA_VERSION, n,
               n == 1 ? "" : "s");
        rc = 0;
    } else {
        fprintf(stderr, "bfq recorder: migrate: %s\n", err);
    }
    if (m) mysql_close(m);
    config_free(cfg);
    return rc;
}

int recorder_main(int argc, char **argv)
{
    static struct rec c; /* one per process; static keeps it off the stack */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--migrate")) return rec_migrate(argc, argv);
    memset(&c, 0, sizeof c);
    int rc = role_main(&recorder_entry, &c.r, &c, argc, argv);
    backfill_free(c.bf);
    return rc;
}
