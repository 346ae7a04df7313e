/* stoploss: `bfq stoploss`, a stop-loss ladder for every open position of an account, verified
 * on the exchange, and the hard stop.
 *
 * Every [stoploss] every (1 s) it reads the one-way positions (<prefix>acct:<acct>:pos), the
 * filters of their symbols (cached) and their book tickers, then steps each symbol:
 *   - hard stop: the mark (the book's mid) against the position by more than hard_stop_pct
 *     from the entry closes it at market, reduce-only, in parts of at most marketMaxQty
 *     (class `hs`), and alerts; not again for that symbol within hard_stop_hold;
 *   - ladder: when the quantity the armed ladder covers differs from the position by more
 *     than rearm_pct (either way), a new ladder (risk/ladder.h) is placed through the gateway
 *     (intents op algo, class `sl`), then verified on the exchange with GET
 *     /fapi/v1/openAlgoOrders?symbol= (weight 1; the algo service is eventually consistent, so
 *     it is asked again every second, never re-placed blindly), and only once every new order
 *     is seen there are the old ones cancelled (op cancel_algo): never an instant without a
 *     stop. A rung of a first ladder the exchange refused with -2021 (it would trigger at
 *     once) becomes a reduce-only MARKET close of its quantity. Any other refusal cancels what
 *     the new ladder placed, keeps the old one, alerts, and tries again after retry_after.
 *     A re-arm is decided on the exchange's list: when the position changed since the armed
 *     ladder was last read, openAlgoOrders is read first. It covers the position left over the
 *     levels the mark has not passed (risk/ladder.h): a passed level is not closed at market
 *     (its share was the exchange's to trigger; a -2021 is dropped), so a move through some
 *     stops closes exactly what they held; past every level what is left closes at market;
 *   - a flat position's ladder is cancelled;
 *   - ALGO_UPDATE (through bfq userstream's <prefix>ch:order:<acct>): a stop of ours that
 *     triggers holds the symbol until its fill is in the position; one that left the exchange
 *     stops counting as cover and the symbol is stepped again at once;
 *   - an armed ladder is checked against the exchange every recheck (30 s) too, for what the
 *     stream missed: rungs that are no longer open stop counting as cover, so it re-arms.
 * At start the account's open algo orders are read once (GET openAlgoOrders, weight 40) and
 * every `sl_` order found is adopted as the armed ladder of its symbol, so a restart neither
 * duplicates a ladder nor forgets one; nothing is stepped before that read succeeded.
 *
 * Single-threaded, one libev loop (core/role). The symbol table is owned by the struct and
 * only grows; REST callbacks hold a symbol index, not a pointer. */
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
#include "risk/ladder.h"
#include "risk/risk.h"
#include "risk/riskio.h"
#include "trader/book.h"
#include "trader/intent.h"
#include "trader/sizing.h"

#define SL_SYMS_MAX 512
#define SL_KEY_MAX 256
#define SL_VERIFY_ALERT_TRIES 30 /* alert once after this many checks without seeing a ladder */
#define SL_FIRE_HOLD_MS 3000     /* a triggered stop's fill is awaited this long before deciding */
#define SL_KICK_S 0.05           /* an algo event is acted on this soon (its position is written) */

enum sl_phase { SL_IDLE, SL_VERIFY };

struct sl_rung {
    char id[INTENT_ID_MAX];
    char cid[INTENT_CID_MAX];
    struct dec trigger, qty;
    int seen;   /* listed open by the exchange */
    int market; /* refused with -2021 and closed at market instead */
    int firing; /* ALGO_UPDATE TRIGGERING/TRIGGERED: its fill is on the way */
    int gone;   /* left the exchange without covering (filled, cancelled, expired, refused) */
};

struct sl_ladder {
    struct sl_rung r[LADDER_RUNGS_MAX];
    int n;
    int sell;
    int rearm; /* placed over the levels not passed yet: a -2021 is dropped, not closed */
};

struct sl_sym {
    char name[BOOK_SYM_MAX];
    struct dec amt, entry, bid, ask;
    int has_pos, has_book, has_filters, filters_asked;
    struct dec_filters f;
    struct sl_ladder cur, next;
    enum sl_phase phase;
    int busy;       /* a REST or Redis step of this symbol is in flight */
    int fresh;      /* cur was read from the exchange since the position or an event changed */
    int armed_once; /* a ladder was armed for this position (a re-arm, not a first arm) */
    int tries, alerted;
    wall_ms_t check_at, recheck_at, retry_at, hs_until, hold_until;
};

struct stoploss {
    struct role r;
    struct ladder_params lp;
    struct dec rearm_pct, hs_pct;
    int hard_stop;
    int working_contract;
    int64_t every_ms, recheck_ms, retry_ms, hs_hold_ms, verify_every_ms;
    struct sl_sym *syms;
    int n;
    int adopted, adopting, reading, again;
    ev_timer timer, kick;
    const char *redis_url;
    struct rconn *sub; /* subscriber of <prefix>ch:order:<acct> (the user stream's ALGO_UPDATE) */
    char src[ROLE_ID_MAX + 16];
    /* counters */
    int64_t ladders, verified, rearms, cancels, immediate, failures, hard_stops, verify_checks,
        adopted_orders, rechecks, algo_events, algo_gone, dropped, past_all;
};

static struct sl_sym *sl_get(struct stoploss *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->syms[i].name, name)) return &s->syms[i];
    if (s->n == SL_SYMS_MAX || strlen(name) >= BOOK_SYM_MAX) return NULL;
    struct sl_sym *y = &s->syms[s->n++];
    memset(y, 0, sizeof *y);
    snprintf(y->name, sizeof y->name, "%s", name);
    return y;
}

static struct sl_sym *sl_find(struct stoploss *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->syms[i].name, name)) return &s->syms[i];
    return NULL;
}

static struct dec sl_covered(const struct sl_ladder *l)
{
    struct dec t = {0, 0};
    for (int i = 0; i < l->n; i++)
        if (!l->r[i].market && !l->r[i].gone && dec_add(t, l->r[i].qty, &t) != DEC_OK) break;
    return t;
}

/* Drops the rungs of l that keep(rung) refuses. Returns how many went. */
static int sl_keep(struct sl_ladder *l, int (*keep)(const struct sl_rung *g, const void *arg),
                   const void *arg)
{
    int w = 0, n = l->n;
    for (int i = 0; i < l->n; i++)
        if (keep(&l->r[i], arg)) l->r[w++] = l->r[i];
    l->n = w;
    return n - w;
}

/* The book's mid, the mark stoploss judges by. Returns 0, or -1 without a book. */
static int sl_mid(const struct sl_sym *y, struct dec *mid)
{
    struct dec sum;
    if (!y->has_book || dec_add(y->bid, y->ask, &sum) != DEC_OK ||
        dec_div(sum, dec_from_int(2), sum.scale + 1, DEC_ROUND_DOWN, mid) != DEC_OK)
        return -1;
    return 0;
}

static void sl_alert(struct stoploss *s, const char *level, const char *key, const char *text)
{
    (void)risk_alert(s->r.rc, s->r.prefix, level, key, s->src, "%s", text);
}

/* ---- intents -------------------------------------------------------------------------------- */

static int sl_send(struct stoploss *s, struct intent *in)
{
    snprintf(in->src, sizeof in->src, "%.63s", s->src);
    return risk_intent(s->r.rc, s->r.prefix, s->r.account, in, NULL, NULL);
}

static void sl_cancel_rung(struct stoploss *s, struct sl_sym *y, const struct sl_rung *g)
{
    struct intent in;
    memset(&in, 0, sizeof in);
    in.op = INTENT_CANCEL_ALGO;
    snprintf(in.sym, sizeof in.sym, "%s", y->name);
    snprintf(in.orig, sizeof in.orig, "%s", g->cid);
    snprintf(in.cls, sizeof in.cls, "sl");
    risk_new_id("c", in.id);
    if (sl_send(s, &in) == 0) s->cancels++;
}

/* Reduce-only MARKET closes of qty (split by marketMaxQty) on the closing side of y. */
static int sl_close(struct stoploss *s, struct sl_sym *y, struct dec qty, const char *cls)
{
    struct size_plan plan;
    struct dec ref = dec_sign(y->bid) > 0 ? y->bid : y->entry;
    enum size_result r = size_qty(&y->f, qty, ref, 1, 1, &plan);
    if (r != SIZE_OK) {
        log_warn("close not sized", "sym=%s why=%s", y->name, size_result_name(r));
        return -1;
    }
    for (int i = 0; i < plan.parts; i++) {
        struct intent in;
        memset(&in, 0, sizeof in);
        in.op = INTENT_ORDER;
        in.type = INTENT_MARKET;
        in.side = dec_sign(y->amt) > 0 ? INTENT_SELL : INTENT_BUY;
        in.has_qty = 1;
        in.qty = plan.qty[i];
        in.reduce = 1;
        snprintf(in.sym, sizeof in.sym, "%s", y->name);
        snprintf(in.cls, sizeof in.cls, "%s", cls);
        risk_new_id("m", in.id);
        if (sl_send(s, &in) < 0) return -1;
    }
    return 0;
}

/* ---- the exchange's open algo orders ------------------------------------------------------ */

struct sl_req {
    struct stoploss *s;
    int sym; /* index, -1 for the start-up read of every symbol */
};

static int sl_algo_open(const json_t *o, const char **sym, const char **cid)
{
    *sym = *cid = NULL;
    (void)jv_opt_str(o, "symbol", sym, NULL, 0);
    (void)jv_opt_str(o, "clientAlgoId", cid, NULL, 0);
    return *sym && *cid && !strncmp(*cid, "sl_", 3);
}

/* Adopts every open `sl_` order as part of its symbol's armed ladder. */
static void sl_adopt(struct stoploss *s, const json_t *arr)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        const char *sym, *cid, *side = NULL;
        struct sl_sym *y;
        if (!sl_algo_open(o, &sym, &cid) || !(y = sl_get(s, sym)) || y->cur.n == LADDER_RUNGS_MAX)
            continue;
        struct sl_rung *g = &y->cur.r[y->cur.n];
        memset(g, 0, sizeof *g);
        if (jv_get_dec(o, "quantity", &g->qty, NULL, 0) < 0) continue;
        (void)jv_opt_dec(o, "triggerPrice", &g->trigger, NULL, 0);
        (void)jv_opt_str(o, "side", &side, NULL, 0);
        snprintf(g->cid, sizeof g->cid, "%s", cid);
        snprintf(g->id, sizeof g->id, "%s", cid + 3);
        g->seen = 1;
        y->cur.sell = side && !strcmp(side, "SELL");
        y->cur.n++;
        y->armed_once = 1;
        s->adopted_orders++;
    }
}

static int sl_listed(const json_t *arr, const char *cid)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o)
    {
        const char *sym, *c;
        if (sl_algo_open(o, &sym, &c) && !strcmp(c, cid)) return 1;
    }
    return 0;
}

static void sl_verify_outcomes(struct stoploss *s, struct sl_sym *y);

static int sl_keep_listed(const struct sl_rung *g, const void *arr)
{
    return g->firing || sl_listed(arr, g->cid); /* a firing stop's fill is awaited */
}

/* Keeps only the rungs of the armed ladder the exchange still lists (or that are firing). */
static void sl_recheck_done(struct sl_sym *y, const json_t *arr)
{
    int gone = sl_keep(&y->cur, sl_keep_listed, arr);
    if (gone) log_info("ladder orders gone from the exchange", "sym=%s gone=%d", y->name, gone);
    y->fresh = 1;
}

static void sl_step(struct stoploss *s, struct sl_sym *y, wall_ms_t now);

static void sl_on_open(const struct binance_result *res, void *privdata)
{
    struct sl_req *q = privdata;
    struct stoploss *s = q->s;
    int idx = q->sym;
    free(q);
    if (idx >= 0)
        s->syms[idx].busy = 0;
    else
        s->adopting = 0;
    if (role_stopping(&s->r)) return;
    if (role_count_result(&s->r, res, "openAlgoOrders") < 0) return;
    if (!json_is_array(res->json)) {
        role_count_invalid(&s->r, "openAlgoOrders", "not an array");
        return;
    }
    if (idx < 0) {
        sl_adopt(s, res->json);
        s->adopted = 1;
        log_info("open stop ladders adopted", "orders=%lld", (long long)s->adopted_orders);
        return;
    }
    struct sl_sym *y = &s->syms[idx];
    if (y->phase == SL_IDLE) {
        sl_recheck_done(y, res->json);
        sl_step(s, y, timebase_wall_ms()); /* decide now, on the exchange's word */
        return;
    }
    for (int i = 0; i < y->next.n; i++)
        if (!y->next.r[i].seen && sl_listed(res->json, y->next.r[i].cid)) y->next.r[i].seen = 1;
    sl_verify_outcomes(s, y);
}

static void sl_ask_open(struct stoploss *s, int idx)
{
    char q[64] = "";
    struct sl_req *r = malloc(sizeof *r);
    if (!r) return;
    r->s = s;
    r->sym = idx;
    if (idx >= 0) snprintf(q, sizeof q, "symbol=%s", s->syms[idx].name);
    if (idx >= 0)
        s->syms[idx].busy = 1;
    else
        s->adopting = 1;
    if (binance_request(s->r.bc, "GET", "/fapi/v1/openAlgoOrders", q, NULL, BINANCE_SIGNED,
                        idx >= 0 ? 1 : 40, sl_on_open, r) < 0) {
        if (idx >= 0)
            s->syms[idx].busy = 0;
        else
            s->adopting = 0;
        free(r);
    }
}

/* ---- verification of a new ladder ---------------------------------------------------------- */

static int sl_keep_open(const struct sl_rung *g, const void *arg)
{
    (void)arg;
    return !g->market && !g->gone;
}

/* The new ladder is complete: it becomes the armed one and the old one is cancelled. */
static void sl_switch(struct stoploss *s, struct sl_sym *y)
{
    for (int i = 0; i < y->cur.n; i++) {
        int kept = 0;
        for (int k = 0; k < y->next.n; k++)
            kept |= !strcmp(y->next.r[k].cid, y->cur.r[i].cid);
        if (!kept) sl_cancel_rung(s, y, &y->cur.r[i]);
    }
    y->cur = y->next;
    (void)sl_keep(&y->cur, sl_keep_open, NULL);
    y->next.n = 0;
    y->phase = SL_IDLE;
    y->fresh = y->armed_once = 1;
    y->recheck_at = timebase_wall_ms() + s->recheck_ms;
    s->verified++;
    char cov[DEC_STR_MAX];
    if (dec_format_trim(sl_covered(&y->cur), cov, sizeof cov) < 0) cov[0] = '\0';
    log_info("stop ladder armed and verified", "sym=%s orders=%d covered=%s checks=%d", y->name,
             y->cur.n, cov, y->tries);
}

/* The new ladder failed: what it placed is cancelled, the old one stays. */
static void sl_fail(struct stoploss *s, struct sl_sym *y, const char *why)
{
    char text[512], key[64];
    for (int i = 0; i < y->next.n; i++)
        if (!y->next.r[i].market && !y->next.r[i].gone) sl_cancel_rung(s, y, &y->next.r[i]);
    y->next.n = 0;
    y->phase = SL_IDLE;
    y->retry_at = timebase_wall_ms() + s->retry_ms;
    s->failures++;
    snprintf(text, sizeof text, "stop ladder of %s not placed: %s; the previous one is kept",
             y->name, why);
    snprintf(key, sizeof key, "stoploss:%s", y->name);
    log_warn("stop ladder failed", "sym=%s why=\"%s\"", y->name, why);
    sl_alert(s, "error", key, text);
}

struct sl_out {
    struct stoploss *s;
    int sym;
    int idx[LADDER_RUNGS_MAX];
    int n;
};

static void sl_on_outcomes(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct sl_out *o = privdata;
    struct stoploss *s = o->s;
    struct sl_sym *y = &s->syms[o->sym];
    char why[256] = "";
    (void)rc;
    y->busy = 0;
    for (int i = 0;
         reply && reply->type == REDIS_REPLY_ARRAY && i < o->n && i < (int)reply->elements; i++) {
        const redisReply *e = reply->element[i];
        struct sl_rung *g = &y->next.r[o->idx[i]];
        json_t *j = e->type == REDIS_REPLY_STRING ? json_loads(e->str, 0, NULL) : NULL;
        const char *st = json_string_value(json_object_get(j, "status"));
        const char *msg = json_string_value(json_object_get(j, "msg"));
        int code = (int)json_integer_value(json_object_get(j, "code"));
        if (st && (!strcmp(st, "rejected") || !strcmp(st, "denied"))) {
            if (code == -2021 && y->next.rearm) {
                g->gone = 1; /* a re-arm's level passed meanwhile: the plan closes no more */
                s->dropped++;
                log_info("re-arm stop would trigger immediately, dropped", "sym=%s cid=%s", y->name,
                         g->cid);
            } else if (code == -2021) {
                g->market = 1; /* would trigger at once: close that part now */
                s->immediate++;
                log_warn("stop would trigger immediately, closing at market", "sym=%s cid=%s",
                         y->name, g->cid);
                (void)sl_close(s, y, g->qty, "sl");
            } else if (!why[0]) {
                snprintf(why, sizeof why, "%s %s: %d %.150s", g->cid, st, code, msg ? msg : "");
            }
        }
        json_decref(j);
    }
    free(o);
    if (why[0]) {
        sl_fail(s, y, why);
        return;
    }
    int done = 1;
    for (int i = 0; i < y->next.n; i++)
        done &= y->next.r[i].seen || y->next.r[i].market || y->next.r[i].gone;
    if (done) {
        sl_switch(s, y);
        return;
    }
    if (++y->tries == SL_VERIFY_ALERT_TRIES && !y->alerted) {
        char key[64];
        y->alerted = 1;
        snprintf(key, sizeof key, "stoploss:%s", y->name);
        sl_alert(s, "warn", key, "stop ladder placed but not yet listed by the exchange");
    }
    y->check_at = timebase_wall_ms() + s->verify_every_ms;
}

/* After an openAlgoOrders answer: the outcomes of the rungs not listed yet (a refusal, or
 * -2021), then either the switch or another check later. */
static void sl_verify_outcomes(struct stoploss *s, struct sl_sym *y)
{
    const char *argv[LADDER_RUNGS_MAX + 1];
    char keys[LADDER_RUNGS_MAX][SL_KEY_MAX];
    struct sl_out *o = calloc(1, sizeof *o);
    if (!o) return;
    o->s = s;
    o->sym = (int)(y - s->syms);
    argv[0] = "MGET";
    for (int i = 0; i < y->next.n; i++) {
        if (y->next.r[i].seen || y->next.r[i].market || y->next.r[i].gone) continue;
        snprintf(keys[o->n], SL_KEY_MAX, "%sintent:%s:%s", s->r.prefix, s->r.account,
                 y->next.r[i].id);
        argv[o->n + 1] = keys[o->n];
        o->idx[o->n++] = i;
    }
    if (o->n == 0) {
        free(o);
        sl_switch(s, y);
        return;
    }
    y->busy = 1;
    if (rconn_command_argv(s->r.rc, sl_on_outcomes, o, o->n + 1, argv, NULL) < 0) {
        y->busy = 0;
        free(o);
        y->check_at = timebase_wall_ms() + s->verify_every_ms;
    }
}

/* ---- placing ----------------------------------------------------------------------------------
 */

/* A re-arm with the mark past every level: the plan leaves nothing open there, so what is left
 * is closed at market (and the hard stop is held off so it does not close it twice). */
static void sl_past_all(struct stoploss *s, struct sl_sym *y, wall_ms_t now)
{
    char text[512], key[64], a[DEC_STR_MAX];
    if (dec_format_trim(y->amt, a, sizeof a) < 0) a[0] = '\0';
    snprintf(text, sizeof text,
             "stop ladder of %s: the mark is past every level, closing %s at market", y->name, a);
    snprintf(key, sizeof key, "stoploss:%s", y->name);
    log_warn("mark past every level, closing at market", "sym=%s amt=%s", y->name, a);
    sl_alert(s, "warn", key, text);
    s->past_all++;
    y->retry_at = now + s->retry_ms;
    y->hs_until = now + s->hs_hold_ms;
    (void)sl_close(s, y, y->amt, "sl");
}

/* The ladder for the position: the whole plan for a first arm (a passed level is refused
 * -2021 and closed at market: the plan says that part should be gone); for a re-arm only the
 * levels the mark has not passed (ladder_build_remaining, docs/risk.md "Re-arm"). Returns 0,
 * 1 when the mark is past every level of a re-arm, -1 with err. */
static int sl_build(struct stoploss *s, const struct sl_sym *y, struct ladder *l, char *err,
                    size_t cap)
{
    struct dec mid;
    if (y->armed_once && sl_mid(y, &mid) == 0)
        return ladder_build_remaining(&s->lp, &y->f, y->amt, y->entry, mid, l, err, cap);
    return ladder_build(&s->lp, &y->f, y->amt, y->entry, l, err, cap);
}

static void sl_place(struct stoploss *s, struct sl_sym *y)
{
    struct ladder l;
    char err[128], base[INTENT_ID_MAX];
    wall_ms_t now = timebase_wall_ms();
    int built = sl_build(s, y, &l, err, sizeof err);
    if (built == 1) {
        sl_past_all(s, y, now);
        return;
    }
    if (built < 0) {
        log_warn("no ladder for the position", "sym=%s why=\"%s\"", y->name, err);
        y->retry_at = now + s->retry_ms;
        return;
    }
    risk_new_id("", base);
    memset(&y->next, 0, sizeof y->next);
    y->next.sell = l.sell;
    y->next.rearm = y->armed_once;
    for (int i = 0; i < l.n; i++) {
        struct sl_rung *g = &y->next.r[y->next.n];
        struct intent in;
        memset(&in, 0, sizeof in);
        snprintf(g->id, sizeof g->id, "%.24s.%d", base, i & 63);
        if (intent_client_id("sl", g->id, g->cid) < 0) continue;
        g->qty = l.r[i].qty;
        g->trigger = l.r[i].trigger;
        in.op = INTENT_ALGO;
        in.type = INTENT_MARKET;
        in.side = l.sell ? INTENT_SELL : INTENT_BUY;
        in.has_qty = in.has_trigger = in.reduce = 1;
        in.qty = g->qty;
        in.trigger = g->trigger;
        in.contract_price = s->working_contract;
        snprintf(in.id, sizeof in.id, "%s", g->id);
        snprintf(in.sym, sizeof in.sym, "%s", y->name);
        snprintf(in.cls, sizeof in.cls, "sl");
        if (sl_send(s, &in) < 0) {
            sl_fail(s, y, "Redis is down");
            return;
        }
        y->next.n++;
    }
    y->phase = SL_VERIFY;
    y->tries = y->alerted = 0;
    y->check_at = timebase_wall_ms() + s->verify_every_ms / 2;
    s->ladders++;
    if (y->cur.n) s->rearms++;
    char amt[DEC_STR_MAX];
    if (dec_format_trim(y->amt, amt, sizeof amt) < 0) amt[0] = '\0';
    log_info("stop ladder placed", "sym=%s amt=%s orders=%d replaces=%d first_level=%d", y->name,
             amt, y->next.n, y->cur.n, l.n ? l.r[0].level : -1);
}

/* ---- the step of one symbol ----------------------------------------------------------------- */

static void sl_hard_stop(struct stoploss *s, struct sl_sym *y, wall_ms_t now)
{
    struct dec mid;
    char text[512], key[64], e[DEC_STR_MAX], m[DEC_STR_MAX], a[DEC_STR_MAX];
    if (!s->hard_stop || dec_is_zero(y->amt) || now < y->hs_until || sl_mid(y, &mid) < 0) return;
    if (!ladder_hard_stop(y->amt, y->entry, mid, s->hs_pct)) return;
    y->hs_until = now + s->hs_hold_ms;
    s->hard_stops++;
    if (dec_format_trim(y->entry, e, sizeof e) < 0 || dec_format_trim(mid, m, sizeof m) < 0 ||
        dec_format_trim(y->amt, a, sizeof a) < 0)
        e[0] = m[0] = a[0] = '\0';
    snprintf(text, sizeof text,
             "hard stop: %s position %s entry %s mark %s is beyond the limit; closing at market",
             y->name, a, e, m);
    snprintf(key, sizeof key, "hardstop:%s", y->name);
    log_warn("hard stop", "sym=%s amt=%s entry=%s mark=%s", y->name, a, e, m);
    sl_alert(s, "error", key, text);
    (void)sl_close(s, y, y->amt, "hs");
}

static int sl_keep_cold(const struct sl_rung *g, const void *arg)
{
    (void)arg;
    return !g->firing; /* called once the hold is over: a stop still firing is gone */
}

static void sl_step(struct stoploss *s, struct sl_sym *y, wall_ms_t now)
{
    if (y->busy) return;
    if (y->has_filters) sl_hard_stop(s, y, now);
    if (y->phase == SL_VERIFY) {
        if (now >= y->check_at) sl_ask_open(s, (int)(y - s->syms));
        return;
    }
    if (dec_is_zero(y->amt)) y->armed_once = 0; /* the next position is a new one */
    if (now < y->hold_until) return;            /* a triggered stop's fill is on its way */
    if (sl_keep(&y->cur, sl_keep_cold, NULL)) y->fresh = 0; /* no fill came: ask the exchange */
    struct dec cover = sl_covered(&y->cur);
    if (ladder_needs_rearm(cover, y->amt, s->rearm_pct)) {
        if (dec_is_zero(y->amt)) {
            log_info("position flat, cancelling its stop ladder", "sym=%s orders=%d", y->name,
                     y->cur.n);
            for (int i = 0; i < y->cur.n; i++)
                sl_cancel_rung(s, y, &y->cur.r[i]);
            y->cur.n = 0;
        } else if (y->cur.n && !y->fresh) {
            /* decide on the exchange's list, not on a cover that may be stale */
            y->recheck_at = now + s->recheck_ms;
            s->rechecks++;
            sl_ask_open(s, (int)(y - s->syms));
        } else if (y->has_filters && now >= y->retry_at) {
            sl_place(s, y);
        }
        return;
    }
    if (y->cur.n && now >= y->recheck_at) {
        y->recheck_at = now + s->recheck_ms;
        s->rechecks++;
        sl_ask_open(s, (int)(y - s->syms));
    }
}

/* ---- reading Redis ----------------------------------------------------------------------------
 */

struct sl_read {
    struct stoploss *s;
    int sym;
    int kind; /* 0 filters, 1 tick */
};

static void sl_step_all(struct stoploss *s)
{
    wall_ms_t now = timebase_wall_ms();
    for (int i = 0; i < s->n; i++)
        sl_step(s, &s->syms[i], now);
}

static void sl_kick(struct stoploss *s);

static void sl_read_done(struct stoploss *s)
{
    if (--s->reading || !s->adopted || role_stopping(&s->r)) return;
    sl_step_all(s);
    if (s->again) {
        s->again = 0;
        sl_kick(s);
    }
}

static void sl_on_sym(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct sl_read *q = privdata;
    struct stoploss *s = q->s;
    struct sl_sym *y = &s->syms[q->sym];
    (void)rc;
    if (q->kind == 0 && reply && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2) {
        const char *kv[128];
        size_t n = reply->elements < 128 ? reply->elements : 128;
        char err[128];
        for (size_t i = 0; i < n; i++)
            kv[i] = reply->element[i]->str ? reply->element[i]->str : "";
        if (book_parse_filters(kv, n, &y->f, err, sizeof err) == 0)
            y->has_filters = 1;
        else
            log_warn("bad symbol filters", "sym=%s why=\"%s\"", y->name, err);
    } else if (q->kind == 1) {
        json_t *j =
            reply && reply->type == REDIS_REPLY_STRING ? json_loads(reply->str, 0, NULL) : NULL;
        y->has_book = j && jv_get_dec(j, "b", &y->bid, NULL, 0) == 0 &&
                      jv_get_dec(j, "a", &y->ask, NULL, 0) == 0;
        json_decref(j);
    }
    free(q);
    sl_read_done(s);
}

static void sl_read_sym(struct stoploss *s, int idx, int kind)
{
    struct sl_read *q = malloc(sizeof *q);
    struct sl_sym *y = &s->syms[idx];
    char k[SL_KEY_MAX];
    if (!q) return;
    *q = (struct sl_read){s, idx, kind};
    s->reading++;
    int rc = kind == 0 ? (role_key(&s->r, k, sizeof k, "symbol:%s", y->name),
                          rconn_command(s->r.rc, sl_on_sym, q, "HGETALL %s", k))
                       : (role_key(&s->r, k, sizeof k, "ticks"),
                          rconn_command(s->r.rc, sl_on_sym, q, "HGET %s %s", k, y->name));
    if (rc < 0) {
        s->reading--;
        free(q);
    }
}

/* Applies the position hash: every listed one-way position; symbols not listed are flat. */
static void sl_apply_positions(struct stoploss *s, const redisReply *reply)
{
    for (int i = 0; i < s->n; i++)
        s->syms[i].has_pos = 0;
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        const char *f = reply->element[i]->str, *colon = f ? strchr(f, ':') : NULL;
        char name[BOOK_SYM_MAX];
        if (!colon || strcmp(colon, ":BOTH") || (size_t)(colon - f) >= sizeof name) continue;
        snprintf(name, sizeof name, "%.*s", (int)(colon - f), f);
        json_t *j = json_loads(reply->element[i + 1]->str, 0, NULL);
        struct dec amt, entry = {0, 0};
        struct sl_sym *y;
        if (j && jv_get_dec(j, "amt", &amt, NULL, 0) == 0 && (y = sl_get(s, name))) {
            (void)jv_opt_dec(j, "entry", &entry, NULL, 0);
            if (dec_cmp(y->amt, amt)) y->fresh = 0; /* the cover is to be read again */
            y->amt = amt;
            y->entry = entry;
            y->has_pos = 1;
        }
        json_decref(j);
    }
    for (int i = 0; i < s->n; i++)
        if (!s->syms[i].has_pos) {
            if (!dec_is_zero(s->syms[i].amt)) s->syms[i].fresh = 0;
            s->syms[i].amt = (struct dec){0, 0};
        }
}

static void sl_on_positions(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct stoploss *s = privdata;
    (void)rc;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        s->reading--;
        return;
    }
    sl_apply_positions(s, reply);
    for (int i = 0; i < s->n; i++) {
        struct sl_sym *y = &s->syms[i];
        if (dec_is_zero(y->amt) && !y->cur.n && !y->next.n) continue;
        if (!y->has_filters) sl_read_sym(s, i, 0);
        sl_read_sym(s, i, 1);
    }
    sl_read_done(s);
}

/* One pass: the positions, then the filters and tickers they need, then every symbol's step. */
static void sl_poll(struct stoploss *s)
{
    char k[SL_KEY_MAX];
    if (!role_redis_up(&s->r) || role_stopping(&s->r)) return;
    if (s->reading) {
        s->again = 1; /* an event came during a pass: one more pass after it */
        return;
    }
    if (!s->adopted) {
        if (!s->adopting) sl_ask_open(s, -1);
        return;
    }
    role_key(&s->r, k, sizeof k, "acct:%s:pos", s->r.account);
    s->reading = 1;
    if (rconn_command(s->r.rc, sl_on_positions, s, "HGETALL %s", k) < 0) s->reading = 0;
}

static void sl_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    sl_poll(w->data);
}

/* ---- ALGO_UPDATE from the user stream ------------------------------------------------------
 *
 * bfq userstream writes every algo order event into <prefix>acct:<acct>:orders (field
 * SYM:algo:clientAlgoId) and publishes the change on <prefix>ch:order:<acct>: the record, or
 * null once the order left (FINISHED after its fill, CANCELED, EXPIRED, REJECTED). A stop of
 * ours that triggers (TRIGGERING/TRIGGERED) holds that symbol's decisions until its fill is in
 * the position (the null comes after the fill's ACCOUNT_UPDATE), at most SL_FIRE_HOLD_MS; one
 * that left stops counting as cover at once, and the symbol is stepped again within
 * SL_KICK_S instead of at the next recheck. Pub/sub drops messages while disconnected, so a
 * reconnect makes every cover be read again from the exchange. */

static void sl_on_kick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    sl_poll(w->data);
}

static void sl_kick(struct stoploss *s)
{
    if (!ev_is_active(&s->kick)) ev_timer_start(s->r.loop, &s->kick);
}

static struct sl_rung *sl_rung_of(struct sl_ladder *l, const char *cid)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->r[i].cid, cid)) return &l->r[i];
    return NULL;
}

static int sl_keep_other(const struct sl_rung *g, const void *cid)
{
    return strcmp(g->cid, cid) != 0;
}

/* The event of our stop cid of y: rec is its record (NULL: it left the exchange). */
static void sl_algo_event(struct stoploss *s, struct sl_sym *y, const char *cid, const json_t *rec)
{
    const char *st = json_string_value(json_object_get(rec, "status"));
    struct sl_rung *cg = sl_rung_of(&y->cur, cid), *ng = sl_rung_of(&y->next, cid);
    wall_ms_t now = timebase_wall_ms();
    if (!cg && !ng) return; /* an old ladder's cancel, or somebody else's */
    s->algo_events++;
    if (rec && (!st || !strcmp(st, "NEW"))) return;
    if (rec) { /* triggering: wait for its fill before judging the cover */
        if (cg) cg->firing = 1;
        if (ng) ng->firing = 1;
        y->hold_until = now + SL_FIRE_HOLD_MS;
        log_info("stop triggered on the exchange", "sym=%s cid=%s status=%s", y->name, cid, st);
        return;
    }
    s->algo_gone++;
    if (cg) (void)sl_keep(&y->cur, sl_keep_other, cid);
    if (ng) ng->gone = 1;
    int firing = 0;
    for (int i = 0; i < y->cur.n; i++)
        firing |= y->cur.r[i].firing;
    for (int i = 0; i < y->next.n; i++)
        firing |= y->next.r[i].firing && !y->next.r[i].gone;
    if (!firing) y->hold_until = 0;
    log_info("stop left the exchange", "sym=%s cid=%s", y->name, cid);
    sl_kick(s);
}

static void sl_on_order_msg(struct rconn *rc, const char *channel, const char *payload, size_t len,
                            void *privdata)
{
    struct stoploss *s = privdata;
    char err[JV_ERR_MAX], sym[INTENT_SYM_MAX];
    const char *field, *cid;
    json_t *rec;
    int algo;
    (void)rc;
    (void)channel;
    if (role_stopping(&s->r)) return;
    json_t *m = jv_parse(payload, len, err, sizeof err);
    json_t *orders = json_object_get(m, "orders");
    json_object_foreach(orders, field, rec)
    {
        struct sl_sym *y;
        if (risk_order_field(field, sym, &cid, &algo) < 0 || !algo || strncmp(cid, "sl_", 3) ||
            !(y = sl_find(s, sym)))
            continue;
        sl_algo_event(s, y, cid, json_is_object(rec) ? rec : NULL);
    }
    json_decref(m);
}

/* Subscribed again after a reconnect: what was published meanwhile is lost, so every cover
 * is read again from the exchange before it is trusted. */
static void sl_sub_up(struct rconn *rc, void *privdata)
{
    struct stoploss *s = privdata;
    (void)rc;
    for (int i = 0; i < s->n; i++)
        s->syms[i].fresh = 0;
    sl_kick(s);
}

/* ---- the role ---------------------------------------------------------------------------------
 */

static void sl_fill(struct role *r, json_t *o, void *privdata)
{
    struct stoploss *s = privdata;
    int armed = 0, verifying = 0;
    (void)r;
    for (int i = 0; i < s->n; i++) {
        armed += s->syms[i].cur.n > 0;
        verifying += s->syms[i].phase == SL_VERIFY;
    }
    json_object_set_new(o, "adopted", json_boolean(s->adopted));
    json_object_set_new(o, "armed", json_integer(armed));
    json_object_set_new(o, "verifying", json_integer(verifying));
    json_object_set_new(o, "ladders", json_integer(s->ladders));
    json_object_set_new(o, "rearms", json_integer(s->rearms));
    json_object_set_new(o, "verified", json_integer(s->verified));
    json_object_set_new(o, "cancels", json_integer(s->cancels));
    json_object_set_new(o, "immediate", json_integer(s->immediate));
    json_object_set_new(o, "failures", json_integer(s->failures));
    json_object_set_new(o, "hard_stops", json_integer(s->hard_stops));
    json_object_set_new(o, "rechecks", json_integer(s->rechecks));
    json_object_set_new(o, "adopted_orders", json_integer(s->adopted_orders));
    json_object_set_new(o, "algo_events", json_integer(s->algo_events));
    json_object_set_new(o, "algo_gone", json_integer(s->algo_gone));
    json_object_set_new(o, "dropped", json_integer(s->dropped));
    json_object_set_new(o, "past_all", json_integer(s->past_all));
}

static int sl_dec_key(struct config *cfg, const char *key, const char *def, struct dec *out)
{
    const char *v = NULL;
    if (config_str(cfg, "stoploss", key, def, &v) < 0) return -1;
    if (dec_parse(v, (size_t)-1, out) != DEC_OK || dec_sign(*out) < 0) {
        fprintf(stderr, "bfq stoploss: [stoploss] %s: not a decimal >= 0: '%s'\n", key, v);
        return -1;
    }
    return 0;
}

static int sl_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct stoploss *s = state;
    int64_t levels = 5;
    const char *working = NULL;
    if (config_required(cfg, "redis", "url", &s->redis_url) < 0 ||
        config_int(cfg, "stoploss", "levels", 5, 1, LADDER_LEVELS_MAX, &levels) < 0 ||
        sl_dec_key(cfg, "base_pct", "5", &s->lp.base_pct) < 0 ||
        sl_dec_key(cfg, "step_pct", "0.5", &s->lp.step_pct) < 0 ||
        sl_dec_key(cfg, "rearm_pct", "5", &s->rearm_pct) < 0 ||
        sl_dec_key(cfg, "hard_stop_pct", "7", &s->hs_pct) < 0 ||
        config_bool(cfg, "stoploss", "hard_stop", 1, &s->hard_stop) < 0 ||
        config_str(cfg, "stoploss", "working_type", "MARK_PRICE", &working) < 0 ||
        config_duration_ms(cfg, "stoploss", "every", 1000, 100, 60000, &s->every_ms) < 0 ||
        config_duration_ms(cfg, "stoploss", "verify_every", 1000, 100, 60000, &s->verify_every_ms) <
            0 ||
        config_duration_ms(cfg, "stoploss", "recheck", 30000, 1000, 3600000, &s->recheck_ms) < 0 ||
        config_duration_ms(cfg, "stoploss", "retry_after", 30000, 100, 3600000, &s->retry_ms) < 0 ||
        config_duration_ms(cfg, "stoploss", "hard_stop_hold", 10000, 100, 3600000, &s->hs_hold_ms) <
            0)
        return -1;
    s->lp.levels = (int)levels;
    if (strcmp(working, "MARK_PRICE") && strcmp(working, "CONTRACT_PRICE")) {
        snprintf(err, cap, "[stoploss] working_type: MARK_PRICE or CONTRACT_PRICE");
        return -1;
    }
    s->working_contract = !strcmp(working, "CONTRACT_PRICE");
    if (dec_sign(s->lp.base_pct) <= 0 || dec_cmp(s->lp.base_pct, dec_from_int(100)) >= 0) {
        snprintf(err, cap, "[stoploss] base_pct: above 0 and below 100");
        return -1;
    }
    return 0;
}

static int sl_start(struct role *r, void *state, char *err, size_t cap)
{
    struct stoploss *s = state;
    char name[ROLE_ID_MAX + 16], ch[SL_KEY_MAX], rerr[RCONN_ERR_MAX] = "";
    snprintf(s->src, sizeof s->src, "stoploss:%s", r->instance);
    snprintf(name, sizeof name, "stoploss-sub:%s", r->instance);
    struct rconn_options ro = {.url = s->redis_url, .name = name};
    struct rconn_callbacks cb = {.up = sl_sub_up, .privdata = s};
    role_key(r, ch, sizeof ch, "ch:order:%s", r->account);
    s->sub = rconn_new(r->loop, &ro, &cb, rerr, sizeof rerr);
    if (!s->sub || rconn_subscribe(s->sub, ch, sl_on_order_msg, s) != 0) {
        snprintf(err, cap, "[redis] url: %s", rerr[0] ? rerr : "cannot subscribe");
        return -1;
    }
    ev_timer_init(&s->kick, sl_on_kick, SL_KICK_S, 0.);
    s->kick.data = s;
    double every = (double)s->every_ms / 1000.0;
    ev_timer_init(&s->timer, sl_on_timer, every, every);
    s->timer.data = s;
    ev_timer_start(r->loop, &s->timer);
    log_info("stoploss ready", "account=%s levels=%d", r->account, s->lp.levels);
    return 0;
}

static void sl_stop(struct role *r, void *state)
{
    struct stoploss *s = state;
    ev_timer_stop(r->loop, &s->timer);
    ev_timer_stop(r->loop, &s->kick);
    if (s->sub) rconn_free(s->sub);
    s->sub = NULL;
}

static const struct cli_option stoploss_options[] = {
    {"levels", "K", NULL, "levels", "orders per ladder (default 5)", 0},
    {"base-pct", "PCT", NULL, "base_pct", "first stop this far from the entry (default 5)", 0},
    {"step-pct", "PCT", NULL, "step_pct", "each next stop this much further (default 0.5)", 0},
    {"hard-stop-pct", "PCT", NULL, "hard_stop_pct", "close at market beyond this (default 7)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* The [stoploss] keys no option sets (docs/risk.md). */
static const char *const stoploss_keys[] = {"working_type",   "rearm_pct",   "hard_stop",
                                            "hard_stop_hold", "every",       "verify_every",
                                            "recheck",        "retry_after", NULL};

const struct cli_command stoploss_cli = {
    .name = "stoploss",
    .summary = "stop-loss ladders per position via the Algo Order API, verified; the hard stop",
    .usage = "Places through bfq gateway (intents op algo, class sl); needs the account's key to\n"
             "verify each ladder with GET /fapi/v1/openAlgoOrders before the old one goes.\n",
    .options = stoploss_options,
    .keys = stoploss_keys,
    .role_options = 1,
};

int stoploss_main(int argc, char **argv)
{
    static const struct role_entry e = {
        .cmd = &stoploss_cli,
        .opts = {.lua_library = bfq_lua_library, .needs_account = 1, .fill = sl_fill},
        .config = sl_config,
        .start = sl_start,
        .stop = sl_stop,
    };
    struct stoploss *s = calloc(1, sizeof(*s));
    if (!s) return 1;
    s->syms = calloc(SL_SYMS_MAX, sizeof(*s->syms));
    if (!s->syms) {
        free(s);
        return 1;
    }
    int rc = role_main(&e, &s->r, s, argc, argv);
    free(s->syms);
    free(s);
    return rc;
}
