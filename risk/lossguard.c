/* lossguard: `bfq lossguard`, loss bans from the account's income history.
 *
 * Every [lossguard] poll (5 s) it reads GET /fapi/v1/income?startTime=<cursor>&limit=1000
 * (weight 30), paging on while a page is full. The cursor is the time of the last row read,
 * so the next page starts in that same millisecond (one fill writes several rows, REALIZED_PNL
 * and COMMISSION, in one ms) and every row is kept exactly once by (tranId, incomeType). A
 * full page that made no progress (all in its first ms) is asked again with a larger limit.
 * Only the income types of [lossguard] types count (REALIZED_PNL, COMMISSION, FUNDING_FEE by
 * default). Rows older than the long window are dropped. Sums are exact decimals.
 *
 * On the exchange's clock (the signed client's synced time), per symbol over the short (4 h)
 * and long (24 h) windows: a symbol at or below symbol_short (-150 USDT) or symbol_long
 * (-1800) is banned; the account at or below account_long (-3000) over the long window bans
 * ALL. Each ban carries its reason, its source ("lossguard") and the time it lifts as the
 * window rolls on (if no new loss comes); it lifts by itself when the sum rises above the
 * limit. Bans set by hand (`bfq ban`, <prefix>risk:ban:manual) are never lifted here: the list
 * is composed of both (risk/banlist) and written when it changes (and once at start) through
 * the function library: FCALL bfq_put on
 * <prefix>risk:ban (fields symbols, reasons, src, t), which publishes {"t","ban":[...],
 * "reasons":{...}} on <prefix>ch:risk; each change is alerted.
 *
 * Circuit breakers, every second from Redis (positions, book tickers, the USDT balance, the
 * trading state): the total uPnL (amt * (mid - entry), exact) at or below upnl_limit (-100),
 * and equity (wallet + uPnL) down drawdown_pct (10 %) from its peak (kept in
 * <prefix>risk:peak:<acct> across restarts), each held for its confirmation time, set
 * upnl_action (HALTED) / drawdown_action (REDUCING), never a milder state than the current one,
 * through riskio (logged, alerted, published). */
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
#include "risk/banlist.h"
#include "risk/breaker.h"
#include "risk/risk.h"
#include "risk/riskio.h"

#define LG_SYM_MAX 32
#define LG_TYPE_MAX 32
#define LG_PAGE 1000
#define LG_TYPES_MAX 16

struct lg_row {
    char sym[LG_SYM_MAX];
    char type[LG_TYPE_MAX];
    int64_t tran_id, time;
    struct dec amount;
};

struct lossguard {
    struct role r;
    int64_t poll_ms, short_ms, long_ms, page;
    int64_t limit, asked_from; /* the limit and startTime of the request in flight */
    struct dec sym_short, sym_long, acct_long;
    char types[LG_TYPES_MAX][LG_TYPE_MAX];
    int ntypes;
    struct lg_row *rows; /* by time, oldest first */
    size_t n, cap;
    int64_t cursor;
    int busy, evaluated;
    char *last_list; /* the symbols JSON last written, "|", the manual bans then */
    json_t *rule;    /* the loss rules' bans of the last evaluation (SYM -> reason) */
    ev_timer timer, live_timer;
    /* the circuit breakers (every second, from Redis: positions, book, balance, state) */
    struct dec upnl_limit, dd_pct;
    char upnl_action[16], dd_action[16];
    struct breaker upnl_b, dd_b;
    struct lg_pos {
        char sym[LG_SYM_MAX];
        struct dec amt, entry;
    } * pos;
    int npos, live_pending, live_bad, live_ok, has_wallet, has_peak;
    struct dec upnl, wallet, peak;
    char state[16];
    int64_t pages, rows_read, duplicates, writes, trips;
};

#define LG_POS_MAX 512

static int lg_type_counts(const struct lossguard *g, const char *type)
{
    for (int i = 0; i < g->ntypes; i++)
        if (!strcmp(g->types[i], type)) return 1;
    return 0;
}

/* Appends one row unless (tranId, type) is already kept (a page overlap is in the same ms). */
static void lg_add(struct lossguard *g, const struct lg_row *row)
{
    for (size_t i = g->n; i-- > 0 && g->rows[i].time >= row->time;)
        if (g->rows[i].tran_id == row->tran_id && !strcmp(g->rows[i].type, row->type)) {
            g->duplicates++;
            return;
        }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 1024;
        struct lg_row *v = realloc(g->rows, cap * sizeof *v);
        if (!v) return;
        g->rows = v;
        g->cap = cap;
    }
    size_t at = g->n; /* keep time order: rows of a page may come in any order within a ms */
    while (at > 0 && g->rows[at - 1].time > row->time)
        at--;
    memmove(&g->rows[at + 1], &g->rows[at], (g->n - at) * sizeof *g->rows);
    g->rows[at] = *row;
    g->n++;
}

static void lg_prune(struct lossguard *g, int64_t now)
{
    size_t k = 0;
    while (k < g->n && g->rows[k].time <= now - g->long_ms)
        k++;
    if (!k) return;
    memmove(g->rows, g->rows + k, (g->n - k) * sizeof *g->rows);
    g->n -= k;
}

/* Sum of the rows of sym ("" = every symbol) with time in (now - window, now]; *until (may
 * be NULL) is when the sum, losing rows as the window rolls, first rises above limit. */
static struct dec lg_sum(const struct lossguard *g, const char *sym, int64_t now, int64_t window,
                         struct dec limit, int64_t *until)
{
    struct dec sum = {0, 0}, left;
    for (size_t i = 0; i < g->n; i++)
        if (g->rows[i].time > now - window && (!*sym || !strcmp(sym, g->rows[i].sym)))
            if (dec_add(sum, g->rows[i].amount, &sum) != DEC_OK) break;
    if (!until) return sum;
    *until = now;
    left = sum;
    for (size_t i = 0; i < g->n && dec_cmp(left, limit) <= 0; i++) {
        if (g->rows[i].time <= now - window || (*sym && strcmp(sym, g->rows[i].sym))) continue;
        if (dec_sub(left, g->rows[i].amount, &left) != DEC_OK) break;
        *until = g->rows[i].time + window;
    }
    return sum;
}

static void lg_reason(json_t *reasons, const char *sym, const char *what, struct dec sum,
                      struct dec limit, int64_t until)
{
    char s[DEC_STR_MAX], l[DEC_STR_MAX], why[160];
    if (json_object_get(reasons, sym)) return; /* the first reason found stays */
    if (dec_format_trim(sum, s, sizeof s) < 0 || dec_format_trim(limit, l, sizeof l) < 0) return;
    snprintf(why, sizeof why, "%s income %s USDT at or below %s", what, s, l);
    json_object_set_new(reasons, sym,
                        json_pack("{s:s,s:I,s:s}", "why", why, "until", (json_int_t)until, "src",
                                  BANLIST_RULE_SRC));
}

/* The ban list now: symbols (JSON array, new reference) and reasons (object). */
static json_t *lg_bans(struct lossguard *g, int64_t now, json_t *reasons)
{
    json_t *list = json_array();
    int64_t until;
    struct dec all = lg_sum(g, "", now, g->long_ms, g->acct_long, &until);
    if (dec_cmp(all, g->acct_long) <= 0) {
        lg_reason(reasons, "ALL", "account 24h", all, g->acct_long, until);
        json_array_append_new(list, json_string("ALL"));
        return list;
    }
    for (size_t i = 0; i < g->n; i++) {
        const char *sym = g->rows[i].sym;
        if (!*sym || json_object_get(reasons, sym)) continue;
        struct dec s = lg_sum(g, sym, now, g->short_ms, g->sym_short, &until);
        if (dec_cmp(s, g->sym_short) <= 0) lg_reason(reasons, sym, "4h", s, g->sym_short, until);
        s = lg_sum(g, sym, now, g->long_ms, g->sym_long, &until);
        if (dec_cmp(s, g->sym_long) <= 0) lg_reason(reasons, sym, "24h", s, g->sym_long, until);
        if (json_object_get(reasons, sym)) json_array_append_new(list, json_string(sym));
    }
    return list;
}

/* Writes the list composed of the loss rules' bans (g->rule) and the manual ones (the reply of
 * HGETALL risk:ban:manual) when it changed since the last write. */
static void lg_on_manual(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct lossguard *g = privdata;
    char key[256], ch[256], t[24], src[ROLE_ID_MAX + 16];
    (void)rc;
    g->busy = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || role_stopping(&g->r)) return;
    json_t *manual = banlist_from_hash(reply), *list = NULL;
    json_t *reasons = banlist_compose(g->rule, manual, &list);
    char *ls = jv_dump(list), *rs = jv_dump(reasons), *mans = jv_dump(manual);
    json_t *msg = json_pack("{s:I,s:O,s:O}", "t", (json_int_t)timebase_wall_ms(), "ban", list,
                            "reasons", reasons);
    char *ms = msg ? jv_dump(msg) : NULL, seen[8192];
    snprintf(seen, sizeof seen, "%s|%s", ls ? ls : "", mans ? mans : "");
    if (ls && rs && ms && mans && (!g->last_list || strcmp(g->last_list, seen))) {
        role_key(&g->r, key, sizeof key, "risk:ban");
        role_key(&g->r, ch, sizeof ch, "ch:risk");
        snprintf(t, sizeof t, "%lld", (long long)timebase_wall_ms());
        snprintf(src, sizeof src, "lossguard:%s", g->r.instance);
        const char *argv[] = {"FCALL", "bfq_put", "1", key,       ch, ms,    t,
                              "0",     "symbols", ls,  "reasons", rs, "src", src};
        if (rconn_command_argv(g->r.rc, NULL, NULL, 14, argv, NULL) == 0) {
            g->writes++;
            log_info("ban list", "symbols=%s reasons=%s", ls, rs);
            if (g->last_list)
                (void)risk_alert(g->r.rc, g->r.prefix, "warn", "lossguard:ban", src,
                                 "ban list now %s: %s", ls, rs);
            free(g->last_list);
            g->last_list = strdup(seen);
        }
    }
    free(ls);
    free(rs);
    free(ms);
    free(mans);
    json_decref(msg);
    json_decref(list);
    json_decref(reasons);
    json_decref(manual);
}

/* The loss rules' bans now, then the manual ones are read and the list written (above). */
static void lg_evaluate(struct lossguard *g)
{
    int64_t now = servertime_now(binance_servertime(g->r.bc));
    char key[256];
    lg_prune(g, now);
    json_decref(g->rule);
    g->rule = json_object();
    json_decref(lg_bans(g, now, g->rule));
    role_key(&g->r, key, sizeof key, "risk:ban:manual");
    if (rconn_command(g->r.rc, lg_on_manual, g, "HGETALL %s", key) == 0) g->busy = 1;
}

static void lg_fetch(struct lossguard *g);

static void lg_on_income(const struct binance_result *res, void *privdata)
{
    struct lossguard *g = privdata;
    size_t i, n = 0;
    json_t *o;
    g->busy = 0;
    if (role_stopping(&g->r) || role_count_result(&g->r, res, "income") < 0) return;
    if (!json_is_array(res->json)) {
        role_count_invalid(&g->r, "income", "not an array");
        return;
    }
    g->pages++;
    json_array_foreach(res->json, i, o)
    {
        struct lg_row row;
        const char *sym = "", *type = "";
        memset(&row, 0, sizeof row);
        if (jv_get_str(o, "incomeType", &type, NULL, 0) < 0 ||
            jv_get_int64(o, "tranId", &row.tran_id, NULL, 0) < 0 ||
            jv_get_int64(o, "time", &row.time, NULL, 0) < 0 ||
            jv_get_dec(o, "income", &row.amount, NULL, 0) < 0) {
            role_count_invalid(&g->r, "income", "a row without incomeType, tranId, time or income");
            continue;
        }
        (void)jv_opt_str(o, "symbol", &sym, NULL, 0);
        n++;
        if (row.time > g->cursor) g->cursor = row.time;
        if (!lg_type_counts(g, type)) continue;
        snprintf(row.sym, sizeof row.sym, "%s", sym);
        snprintf(row.type, sizeof row.type, "%s", type);
        g->rows_read++;
        lg_add(g, &row);
    }
    if ((int64_t)n == g->limit) {
        /* a full page: more in the same or later ms. A page all in its first ms made no
         * progress: ask for more rows at once, and past LG_PAGE step over that ms (said) */
        if (g->cursor == g->asked_from) {
            if (g->limit < LG_PAGE) {
                g->limit = g->limit * 2 < LG_PAGE ? g->limit * 2 : LG_PAGE;
            } else {
                log_warn("more than a page of income rows in one ms, some may be missed", "t=%lld",
                         (long long)g->cursor);
                g->cursor++;
            }
        }
        lg_fetch(g);
        return;
    }
    g->limit = g->page;
    lg_evaluate(g);
}

static void lg_fetch(struct lossguard *g)
{
    char q[96];
    if (g->limit < g->page) g->limit = g->page;
    g->asked_from = g->cursor;
    snprintf(q, sizeof q, "startTime=%lld&limit=%lld", (long long)g->cursor, (long long)g->limit);
    g->busy = 1;
    if (binance_request(g->r.bc, "GET", "/fapi/v1/income", q, NULL, BINANCE_SIGNED, 30,
                        lg_on_income, g) < 0)
        g->busy = 0;
}

static void lg_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct lossguard *g = w->data;
    (void)loop;
    (void)revents;
    if (g->busy || !role_redis_up(&g->r) || role_stopping(&g->r)) return;
    if (!g->cursor) g->cursor = timebase_wall_ms() - g->long_ms;
    lg_fetch(g);
}

/* ---- the circuit breakers ------------------------------------------------------------------ */

static int lg_severity(const char *state)
{
    return !strcmp(state, "HALTED") ? 2 : !strcmp(state, "REDUCING") ? 1 : 0;
}

/* Sets the action's state unless the current one is as severe already. */
static void lg_trip(struct lossguard *g, const char *action, const char *why)
{
    char src[ROLE_ID_MAX + 16];
    g->trips++;
    log_warn("circuit breaker", "action=%s why=\"%s\" state=%s", action, why, g->state);
    if (lg_severity(action) <= lg_severity(g->state)) return;
    snprintf(src, sizeof src, "lossguard:%s", g->r.instance);
    (void)risk_set_state(g->r.rc, g->r.prefix, g->r.account, action, why, src, NULL, NULL);
}

static void lg_live_eval(struct lossguard *g)
{
    char why[200], u[DEC_STR_MAX], e[DEC_STR_MAX], p[DEC_STR_MAX];
    int64_t now = timebase_wall_ms();
    struct dec equity;
    if (!g->live_ok) return;
    if (dec_format_trim(g->upnl, u, sizeof u) < 0) u[0] = '\0';
    if (breaker_update(&g->upnl_b, dec_cmp(g->upnl, g->upnl_limit) <= 0, now)) {
        snprintf(why, sizeof why, "uPnL circuit breaker: total uPnL %s USDT at or below the limit",
                 u);
        lg_trip(g, g->upnl_action, why);
    }
    if (!g->has_wallet || dec_add(g->wallet, g->upnl, &equity) != DEC_OK) return;
    if (!g->has_peak || dec_cmp(equity, g->peak) > 0) {
        char k[256], v[DEC_STR_MAX];
        g->peak = equity;
        g->has_peak = 1;
        role_key(&g->r, k, sizeof k, "risk:peak:%s", g->r.account);
        if (dec_format_trim(equity, v, sizeof v) > 0)
            (void)rconn_command(g->r.rc, NULL, NULL, "HSET %s equity %s t %lld", k, v,
                                (long long)now);
    }
    if (breaker_update(&g->dd_b, breaker_drawdown(equity, g->peak, g->dd_pct), now)) {
        if (dec_format_trim(equity, e, sizeof e) < 0 || dec_format_trim(g->peak, p, sizeof p) < 0)
            e[0] = p[0] = '\0';
        snprintf(why, sizeof why, "drawdown guard: equity %s USDT from the peak %s", e, p);
        lg_trip(g, g->dd_action, why);
    }
}

static void lg_live_done(struct lossguard *g)
{
    if (--g->live_pending > 0) return;
    if (!g->live_bad) lg_live_eval(g);
    g->live_bad = 0;
}

static void lg_on_live_pos(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct lossguard *g = privdata;
    (void)rc;
    g->npos = 0;
    g->live_ok = reply && reply->type == REDIS_REPLY_ARRAY;
    for (size_t i = 0; g->live_ok && i + 1 < reply->elements && g->npos < LG_POS_MAX; i += 2) {
        const char *f = reply->element[i]->str, *c = f ? strchr(f, ':') : NULL;
        json_t *j = json_loads(reply->element[i + 1]->str, 0, NULL);
        struct lg_pos *q = &g->pos[g->npos];
        q->entry = (struct dec){0, 0};
        if (c && !strcmp(c, ":BOTH") && (size_t)(c - f) < sizeof q->sym && j &&
            jv_get_dec(j, "amt", &q->amt, NULL, 0) == 0 && !dec_is_zero(q->amt) &&
            jv_get_dec(j, "entry", &q->entry, NULL, 0) == 0) {
            snprintf(q->sym, sizeof q->sym, "%.*s", (int)(c - f), f);
            g->npos++;
        }
        json_decref(j);
    }
    lg_live_done(g);
}

/* uPnL of the positions read just before (the replies come in order). A position without a
 * book is left out of the sum. */
static void lg_on_live_ticks(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct lossguard *g = privdata;
    (void)rc;
    g->upnl = (struct dec){0, 0};
    for (int k = 0; g->live_ok && k < g->npos; k++) {
        for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements;
             i += 2) {
            if (!reply->element[i]->str || strcmp(reply->element[i]->str, g->pos[k].sym)) continue;
            json_t *j = json_loads(reply->element[i + 1]->str, 0, NULL);
            struct dec b, a;
            if (j && jv_get_dec(j, "b", &b, NULL, 0) == 0 && jv_get_dec(j, "a", &a, NULL, 0) == 0 &&
                breaker_add_upnl(&g->upnl, g->pos[k].amt, g->pos[k].entry, b, a) < 0)
                g->live_ok = 0;
            json_decref(j);
        }
    }
    lg_live_done(g);
}

static void lg_on_live_misc(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct lossguard *g = privdata;
    (void)rc;
    /* HGET balance USDT, HGET state, HGET peak: one reply each, in that order */
    if (g->live_pending == 3) {
        json_t *j =
            reply && reply->type == REDIS_REPLY_STRING ? json_loads(reply->str, 0, NULL) : NULL;
        g->has_wallet = j && jv_get_dec(j, "wallet", &g->wallet, NULL, 0) == 0;
        json_decref(j);
    } else if (g->live_pending == 2) {
        snprintf(g->state, sizeof g->state, "%s",
                 reply && reply->type == REDIS_REPLY_STRING ? reply->str : "ACTIVE");
    } else if (!g->has_peak && reply && reply->type == REDIS_REPLY_STRING) {
        g->has_peak = dec_parse(reply->str, (size_t)-1, &g->peak) == DEC_OK;
    }
    lg_live_done(g);
}

static void lg_on_live_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct lossguard *g = w->data;
    char kp[256], kt[256], kb[256], ks[256], kk[256];
    (void)loop;
    (void)revents;
    if (g->live_pending || !role_redis_up(&g->r) || role_stopping(&g->r)) return;
    role_key(&g->r, kp, sizeof kp, "acct:%s:pos", g->r.account);
    role_key(&g->r, kt, sizeof kt, "ticks");
    role_key(&g->r, kb, sizeof kb, "acct:%s:bal", g->r.account);
    role_key(&g->r, ks, sizeof ks, "risk:state:%s", g->r.account);
    role_key(&g->r, kk, sizeof kk, "risk:peak:%s", g->r.account);
    g->live_pending = 5;
    int sent = (rconn_command(g->r.rc, lg_on_live_pos, g, "HGETALL %s", kp) == 0) +
               (rconn_command(g->r.rc, lg_on_live_ticks, g, "HGETALL %s", kt) == 0) +
               (rconn_command(g->r.rc, lg_on_live_misc, g, "HGET %s USDT", kb) == 0) +
               (rconn_command(g->r.rc, lg_on_live_misc, g, "HGET %s state", ks) == 0) +
               (rconn_command(g->r.rc, lg_on_live_misc, g, "HGET %s equity", kk) == 0);
    if (sent < 5) { /* down meanwhile: the replies that still come are not evaluated */
        g->live_pending = sent;
        g->live_bad = sent > 0;
    }
}

static void lg_fill(struct role *r, json_t *o, void *privdata)
{
    struct lossguard *g = privdata;
    (void)r;
    json_object_set_new(o, "pages", json_integer(g->pages));
    json_object_set_new(o, "rows", json_integer((json_int_t)g->n));
    json_object_set_new(o, "rows_read", json_integer(g->rows_read));
    json_object_set_new(o, "duplicates", json_integer(g->duplicates));
    json_object_set_new(o, "writes", json_integer(g->writes));
    json_object_set_new(o, "cursor", json_integer(g->cursor));
    json_object_set_new(o, "upnl", jv_dec_string(g->upnl));
    json_object_set_new(o, "trips", json_integer(g->trips));
}

static int lg_dec(struct config *cfg, const char *key, const char *def, struct dec *out, char *err,
                  size_t cap)
{
    const char *v = NULL;
    if (config_str(cfg, "lossguard", key, def, &v) < 0) return -1;
    if (dec_parse(v, (size_t)-1, out) != DEC_OK || dec_sign(*out) >= 0) {
        snprintf(err, cap, "[lossguard] %s: a negative decimal, not '%s'", key, v);
        return -1;
    }
    return 0;
}

static int lg_action(struct config *cfg, const char *key, const char *def, char *out, char *err,
                     size_t cap)
{
    const char *v = NULL;
    if (config_str(cfg, "lossguard", key, def, &v) < 0) return -1;
    if (strcmp(v, "REDUCING") && strcmp(v, "HALTED")) {
        snprintf(err, cap, "[lossguard] %s: REDUCING or HALTED, not '%s'", key, v);
        return -1;
    }
    snprintf(out, 16, "%s", v);
    return 0;
}

static int lg_breaker_config(struct lossguard *g, struct config *cfg, char *err, size_t cap)
{
    const char *dd = NULL;
    if (lg_dec(cfg, "upnl_limit", "-100", &g->upnl_limit, err, cap) < 0 ||
        lg_action(cfg, "upnl_action", "HALTED", g->upnl_action, err, cap) < 0 ||
        lg_action(cfg, "drawdown_action", "REDUCING", g->dd_action, err, cap) < 0 ||
        config_duration_ms(cfg, "lossguard", "upnl_confirm", 10000, 0, 3600000,
                           &g->upnl_b.confirm_ms) < 0 ||
        config_duration_ms(cfg, "lossguard", "drawdown_confirm", 30000, 0, 3600000,
                           &g->dd_b.confirm_ms) < 0 ||
        config_str(cfg, "lossguard", "drawdown_pct", "10", &dd) < 0)
        return -1;
    if (dec_parse(dd, (size_t)-1, &g->dd_pct) != DEC_OK || dec_sign(g->dd_pct) <= 0) {
        snprintf(err, cap, "[lossguard] drawdown_pct: a positive decimal, not '%s'", dd);
        return -1;
    }
    return 0;
}

static int lg_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct lossguard *g = state;
    const char *types = NULL;
    if (config_duration_ms(cfg, "lossguard", "poll", 5000, 100, 3600000, &g->poll_ms) < 0 ||
        config_duration_ms(cfg, "lossguard", "short_window", 4 * 3600000LL, 60000, 7 * 86400000LL,
                           &g->short_ms) < 0 ||
        config_duration_ms(cfg, "lossguard", "long_window", 24 * 3600000LL, 60000, 7 * 86400000LL,
                           &g->long_ms) < 0 ||
        config_int(cfg, "lossguard", "page", LG_PAGE, 2, LG_PAGE, &g->page) < 0 ||
        config_str(cfg, "lossguard", "types", "REALIZED_PNL,COMMISSION,FUNDING_FEE", &types) < 0)
        return -1;
    if (lg_dec(cfg, "symbol_short", "-150", &g->sym_short, err, cap) < 0 ||
        lg_dec(cfg, "symbol_long", "-1800", &g->sym_long, err, cap) < 0 ||
        lg_dec(cfg, "account_long", "-3000", &g->acct_long, err, cap) < 0)
        return -1;
    if (lg_breaker_config(g, cfg, err, cap) < 0) return -1;
    for (const char *p = types; *p && g->ntypes < LG_TYPES_MAX;) {
        size_t len = strcspn(p, ", ");
        if (len > 0 && len < LG_TYPE_MAX)
            snprintf(g->types[g->ntypes++], LG_TYPE_MAX, "%.*s", (int)len, p);
        p += len;
        p += strspn(p, ", ");
    }
    if (!g->ntypes) {
        snprintf(err, cap, "[lossguard] types: at least one income type");
        return -1;
    }
    return 0;
}

static int lg_start(struct role *r, void *state, char *err, size_t cap)
{
    struct lossguard *g = state;
    (void)err;
    (void)cap;
    double p = (double)g->poll_ms / 1000.0;
    ev_timer_init(&g->timer, lg_on_timer, 0.2, p);
    g->timer.data = g;
    ev_timer_start(r->loop, &g->timer);
    ev_timer_init(&g->live_timer, lg_on_live_timer, 1.0, 1.0);
    g->live_timer.data = g;
    ev_timer_start(r->loop, &g->live_timer);
    log_info("lossguard ready", "account=%s types=%d", r->account, g->ntypes);
    return 0;
}

static void lg_stop(struct role *r, void *state)
{
    struct lossguard *g = state;
    ev_timer_stop(r->loop, &g->timer);
    ev_timer_stop(r->loop, &g->live_timer);
}

static const struct cli_option lossguard_options[] = {
    {"poll", "DURATION", NULL, "poll", "read the income history this often (5s)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* [lossguard] keys no option sets (core/role reports any other key of the section). */
static const char *const lossguard_keys[] = {"types",
                                             "short_window",
                                             "long_window",
                                             "symbol_short",
                                             "symbol_long",
                                             "account_long",
                                             "page",
                                             "upnl_limit",
                                             "upnl_confirm",
                                             "upnl_action",
                                             "drawdown_pct",
                                             "drawdown_confirm",
                                             "drawdown_action",
                                             NULL};

const struct cli_command lossguard_cli = {
    .name = "lossguard",
    .summary = "loss bans per symbol and for the account from the income history",
    .usage = "Writes bfq:risk:ban (through bfq_put) and publishes on bfq:ch:risk.\n",
    .options = lossguard_options,
    .keys = lossguard_keys,
    .role_options = 1,
};

int lossguard_main(int argc, char **argv)
{
    static const struct role_entry e = {
        .cmd = &lossguard_cli,
        .opts = {.lua_library = bfq_lua_library, .needs_account = 1, .fill = lg_fill},
        .config = lg_config,
        .start = lg_start,
        .stop = lg_stop,
    };
    struct lossguard *g = calloc(1, sizeof(*g));
    if (!g) return 1;
    g->pos = calloc(LG_POS_MAX, sizeof *g->pos);
    if (!g->pos) {
        free(g);
        return 1;
    }
    int rc = role_main(&e, &g->r, g, argc, argv);
    free(g->rows);
    free(g->last_list);
    json_decref(g->rule);
    free(g->pos);
    free(g);
    return rc;
}
