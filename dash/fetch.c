/* fetch: the dashboard's reads on the worker thread (see fetch.h). */
#include "dash/fetch.h"

#include <hiredis/hiredis.h>
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/status.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rblock.h"
#include "core/timebase.h"
#include "dash/metrics.h"
#include "recorder/recorder.h"

#define FETCH_ERR_MAX 256

static const char *sql_curve_span =
    "SELECT COUNT(*), COALESCE(MIN(minute_ms), 0), COALESCE(MAX(minute_ms), 0)"
    " FROM account_snapshots WHERE account = ? AND asset = ? AND minute_ms >= ?";
static const char *sql_curve =
    "SELECT minute_ms, wallet, margin_balance, upnl FROM account_snapshots WHERE account = ?"
    " AND asset = ? AND minute_ms >= ? ORDER BY minute_ms";
/* the newest snapshot of each time bucket: parameters account, asset, from, lo, bucket,
 * account, asset */
static const char *sql_curve_buckets =
    "SELECT s.minute_ms, s.wallet, s.margin_balance, s.upnl FROM account_snapshots s JOIN"
    " (SELECT MAX(minute_ms) AS m FROM account_snapshots WHERE account = ? AND asset = ? AND"
    " minute_ms >= ? GROUP BY (minute_ms - ?) DIV ?) b ON s.minute_ms = b.m"
    " WHERE s.account = ? AND s.asset = ? ORDER BY s.minute_ms";
static const char *sql_losers =
    "SELECT symbol, trade_id, side, price, qty, realized_pnl, time_ms FROM trades"
    " WHERE account = ? AND time_ms >= ? AND realized_pnl < 0"
    " ORDER BY realized_pnl, time_ms DESC LIMIT ?";

/* ---- answers ------------------------------------------------------------------------------ */

/* Sets the answer to v (taken) with status; NULL v is a 500. */
static void answer(struct dash_job *j, int status, json_t *v)
{
    j->body = v ? jv_dump(v) : NULL;
    json_decref(v);
    j->status = j->body ? status : 500;
    j->type = "application/json";
    if (!j->body) j->body = strdup("{\"error\":\"out of memory\",\"part\":\"\"}");
    j->len = j->body ? strlen(j->body) : 0;
}

static void unavailable(struct dash_job *j, const char *part, const char *why)
{
    answer(j, 503, dash_error(part, why));
}

/* ---- connect gates ------------------------------------------------------------------------ */

void dash_src_init(struct dash_src *s)
{
    backoff_init(&s->redis_gate.bo, 500, 5000);
    backoff_init(&s->db_gate.bo, 500, 5000);
}

/* Nonzero (with the last error in err) while g says not to try yet. */
static int gate_closed(const struct dash_gate *g, char *err, size_t cap)
{
    if (!g->retry_at || timebase_mono_ms() >= g->retry_at) return 0;
    snprintf(err, cap, "%s (next try in %lld ms)", g->err,
             (long long)(g->retry_at - timebase_mono_ms()));
    return 1;
}

static void gate_failed(struct dash_gate *g, const char *what, const char *err)
{
    int64_t wait = backoff_next(&g->bo);
    g->retry_at = timebase_mono_ms() + wait;
    snprintf(g->err, sizeof g->err, "%.199s", err);
    log_warn("connect failed, backing off", "source=%s retry_ms=%lld err=\"%s\"", what,
             (long long)wait, g->err);
}

static void gate_ok(struct dash_gate *g)
{
    if (g->retry_at) backoff_reset(&g->bo);
    g->retry_at = 0;
}

/* ---- Redis -------------------------------------------------------------------------------- */

static void redis_drop(struct dash_src *s)
{
    if (s->rc) redisFree(s->rc);
    s->rc = NULL;
}

/* The connection, (re)opened when needed and the gate allows; NULL with err. */
static redisContext *redis_get(struct dash_src *s, char *err, size_t cap)
{
    if (s->rc && s->rc->err) redis_drop(s);
    if (s->rc || gate_closed(&s->redis_gate, err, cap)) return s->rc;
    s->rc = rblock_connect(s->redis_url, s->timeout_ms, err, cap);
    if (s->rc) gate_ok(&s->redis_gate);
    else gate_failed(&s->redis_gate, "redis", err);
    return s->rc;
}

/* After the reads: 0, or -1 (answer set, connection dropped) when Redis failed meanwhile. */
static int redis_check(struct dash_src *s, struct dash_job *j)
{
    char why[FETCH_ERR_MAX];
    if (!s->rc->err) return 0;
    snprintf(why, sizeof why, "redis: %s", s->rc->errstr);
    log_warn("redis read failed, will reconnect", "err=\"%s\"", s->rc->errstr);
    redis_drop(s);
    unavailable(j, "redis", why);
    return -1;
}

static json_t *acct_hash(const struct status_ctx *ctx, const struct dash_src *s,
                         const char *what)
{
    char key[256];
    snprintf(key, sizeof key, "%sacct:%s:%s", s->prefix, s->account, what);
    return status_hash(ctx, key);
}

static json_t *read_positions(const struct status_ctx *ctx, const struct dash_src *s)
{
    char key[256];
    json_t *pos = acct_hash(ctx, s, "pos"), *orders = acct_hash(ctx, s, "orders");
    snprintf(key, sizeof key, "%sticks", s->prefix);
    json_t *ticks = status_hash(ctx, key);
    json_t *out = json_pack("{s:s,s:I,s:o}", "account", s->account, "t",
                            (json_int_t)ctx->now, "positions", dash_positions(pos, orders, ticks));
    json_decref(pos);
    json_decref(orders);
    json_decref(ticks);
    return out;
}

static json_t *read_orders(const struct status_ctx *ctx, const struct dash_src *s)
{
    json_t *orders = acct_hash(ctx, s, "orders"), *out = dash_orders(orders);
    json_object_set_new(out, "account", json_string(s->account));
    json_decref(orders);
    return out;
}

static json_t *read_state(const struct status_ctx *ctx, const struct dash_src *s)
{
    char key[256];
    snprintf(key, sizeof key, "%srisk:state:%s", s->prefix, s->account);
    json_t *state = status_hash(ctx, key);
    snprintf(key, sizeof key, "%srisk:ban", s->prefix);
    json_t *ban = status_hash(ctx, key);
    /* no state record: nobody has ever set one, and every order path reads that as ACTIVE */
    if (!json_object_get(state, "state")) json_object_set_new(state, "state", json_string("ACTIVE"));
    return json_pack("{s:s,s:o,s:o}", "account", s->account, "state", state, "ban", ban);
}

static json_t *read_health(const struct status_ctx *ctx, const struct dash_src *s)
{
    json_t *rep = status_report(ctx), *out = dash_health(rep, &s->stale);
    json_object_set_new(out, "t", json_integer(ctx->now));
    json_decref(rep);
    return out;
}

static void fetch_redis(struct dash_src *s, struct dash_job *j)
{
    char err[FETCH_ERR_MAX], why[FETCH_ERR_MAX + 8];
    redisContext *c = redis_get(s, err, sizeof err);
    json_t *v = NULL;
    if (!c) {
        snprintf(why, sizeof why, "redis: %s", err);
        unavailable(j, "redis", why);
        return;
    }
    struct status_ctx ctx = {c, s->prefix, timebase_wall_ms()};
    switch (j->route) {
    case DASH_POSITIONS: v = read_positions(&ctx, s); break;
    case DASH_ORDERS: v = read_orders(&ctx, s); break;
    case DASH_STATE: v = read_state(&ctx, s); break;
    default: v = read_health(&ctx, s); break;
    }
    if (redis_check(s, j) < 0) {
        json_decref(v);
        return;
    }
    answer(j, 200, v);
}

/* ---- MariaDB ------------------------------------------------------------------------------ */

static void db_drop(struct dash_src *s)
{
    if (s->m) mysql_close(s->m);
    s->m = NULL;
}

/* Answers 503 for the part; a failed query (connection up) also drops the connection. */
static void db_failed(struct dash_src *s, struct dash_job *j, const char *err)
{
    char why[FETCH_ERR_MAX + 8];
    snprintf(why, sizeof why, "mysql: %s", err);
    if (s->m) log_warn("mysql read failed, will reconnect", "err=\"%s\"", err);
    db_drop(s);
    unavailable(j, "mysql", why);
}

/* Column i of a result row as an integer; -1 when NULL or absent. */
static int64_t col_int(const json_t *row, size_t i)
{
    const char *v = json_string_value(json_array_get(row, i));
    return v ? strtoll(v, NULL, 10) : -1;
}

/* The number of snapshots in the range and its first and last minute; -1 with err. */
static int64_t curve_span(struct dash_src *s, const char *from, int64_t *lo, int64_t *hi,
                          char *err, size_t cap)
{
    const char *v[] = {s->account, s->asset, from};
    json_t *rows = db_query_once(s->m, sql_curve_span, 3, v, err, cap);
    const json_t *row = json_array_get(rows, 0);
    int64_t count = col_int(row, 0);
    *lo = col_int(row, 1);
    *hi = col_int(row, 2);
    if (rows && count < 0) snprintf(err, cap, "snapshot count unreadable");
    json_decref(rows);
    return count;
}

/* A long range is bucketed by MariaDB first (the newest snapshot of each of at most
 * DASH_CURVE_MAX time buckets), so a year of minutes never travels; a short one comes whole
 * and is downsampled exactly by index (build.h). */
static json_t *read_curve(struct dash_src *s, int64_t from, const struct dash_job *j, char *err,
                          size_t cap)
{
    char f[24], l[24], b[24];
    int64_t lo = 0, hi = 0;
    json_t *rows, *out;
    snprintf(f, sizeof f, "%lld", (long long)from);
    int64_t n = curve_span(s, f, &lo, &hi, err, cap);
    if (n < 0) return NULL;
    if (n <= 2 * DASH_CURVE_MAX) {
        const char *v[] = {s->account, s->asset, f};
        rows = db_query_once(s->m, sql_curve, 3, v, err, cap);
    } else {
        snprintf(l, sizeof l, "%lld", (long long)lo);
        snprintf(b, sizeof b, "%lld", (long long)dash_bucket_ms(lo, hi, DASH_CURVE_MAX));
        const char *v[] = {s->account, s->asset, f, l, b, s->account, s->asset};
        rows = db_query_once(s->m, sql_curve_buckets, 7, v, err, cap);
    }
    if (!rows) return NULL;
    out = dash_curve(rows, j->range, from, DASH_CURVE_MAX);
    json_object_set_new(out, "points", json_integer(n));
    json_object_set_new(out, "asset", json_string(s->asset));
    json_decref(rows);
    return out;
}

static json_t *read_losers(struct dash_src *s, int64_t from, const struct dash_job *j, char *err,
                           size_t cap)
{
    char f[24], n[16];
    snprintf(f, sizeof f, "%lld", (long long)from);
    snprintf(n, sizeof n, "%d", j->limit);
    const char *v[] = {s->account, f, n};
    json_t *rows = db_query_once(s->m, sql_losers, 3, v, err, cap), *out;
    if (!rows) return NULL;
    out = json_pack("{s:s,s:o}", "range", j->range, "trades", dash_losers(rows));
    json_decref(rows);
    return out;
}

static json_t *read_group(struct dash_src *s, int64_t from, int64_t now,
                          const struct dash_job *j, char *err, size_t cap)
{
    const char *by = j->route == DASH_DAILY ? "day" : "symbol";
    json_t *rows = report_group(s->m, s->account, by, "0", from, now + 1, err, cap);
    if (!rows) return NULL;
    return json_pack("{s:s,s:s,s:I,s:o}", "range", j->range, "by", by, "from",
                     (json_int_t)from, "rows", rows);
}

static void fetch_db(struct dash_src *s, struct dash_job *j)
{
    char err[FETCH_ERR_MAX] = "";
    int64_t len = 0, now = timebase_wall_ms(), from;
    json_t *v = NULL;
    if (!s->have_db) {
        unavailable(j, "mysql", "mysql: not configured ([mysql] url)");
        return;
    }
    if (dash_range_ms(j->range, &len) < 0) {
        answer(j, 400, dash_error("range", "range: 1d, 7d, 30d or all"));
        return;
    }
    from = len ? now - len : 0;
    if (!s->m && !gate_closed(&s->db_gate, err, sizeof err)) {
        s->m = db_connect(&s->db, (s->timeout_ms + 999) / 1000, err, sizeof err);
        if (s->m) gate_ok(&s->db_gate);
        else gate_failed(&s->db_gate, "mysql", err);
    }
    if (!s->m) {
        db_failed(s, j, err);
        return;
    }
    switch (j->route) {
    case DASH_CURVE: v = read_curve(s, from, j, err, sizeof err); break;
    case DASH_LOSERS: v = read_losers(s, from, j, err, sizeof err); break;
    default: v = read_group(s, from, now, j, err, sizeof err); break;
    }
    if (!v) {
        db_failed(s, j, err[0] ? err : "query failed");
        return;
    }
    json_object_set_new(v, "account", json_string(s->account));
    answer(j, 200, v);
}

/* ---- the job ------------------------------------------------------------------------------ */

/* /metrics: dash/metrics.c's exposition over this thread's Redis context. */
static void fetch_metrics(struct dash_src *s, struct dash_job *j)
{
    char err[FETCH_ERR_MAX], why[FETCH_ERR_MAX + 8];
    size_t len = 0;
    redisContext *c = redis_get(s, err, sizeof err);
    char *text = c ? metrics_render(c, s->prefix, &len) : NULL;
    if (!text) {
        if (c && redis_check(s, j) < 0) return;
        snprintf(why, sizeof why, "redis: %s", c ? "metrics failed" : err);
        unavailable(j, "redis", why);
        return;
    }
    j->status = 200;
    j->type = "text/plain; version=0.0.4; charset=utf-8";
    j->body = text;
    j->len = len;
}

void dash_fetch(struct dash_src *s, struct dash_job *j)
{
    switch (j->route) {
    case DASH_CURVE:
    case DASH_DAILY:
    case DASH_SYMBOLS:
    case DASH_LOSERS:
        fetch_db(s, j);
        break;
    case DASH_METRICS:
        fetch_metrics(s, j);
        break;
    default:
        fetch_redis(s, j);
        break;
    }
}

void dash_src_close(struct dash_src *s)
{
    redis_drop(s);
    db_drop(s);
}
