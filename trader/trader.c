/* trader: `bfq trader`, a local book from Redis, a strategy, order intents.
 *
 * At start, and again after any reconnect of either connection (pub/sub drops messages while
 * down), the book is rebuilt from the keys: the universe, every symbol's filters and
 * <prefix>kline:<interval>:<SYM> window, <prefix>ticks, the account's positions and open
 * orders, the ban list, the trading state and the hot set. Then the channels keep it: kline
 * updates (a gap reloads that symbol from its key), ticks, account and order changes, risk and
 * hot-set changes. Book rules are in book.h (pure, unit-tested); this file is the loop glue.
 *
 * After each change of a symbol the strategy (strategy.h, --strategy NAME) is asked about it,
 * unless the symbol is stale; stale symbols are counted and named in the heartbeat. While the
 * watchdog flags the account stale (the field `stale` of <prefix>acct:<acct>:flags, read at
 * every resync, and {"stale":true|false} on <prefix>ch:acct:<acct>: reconciler/watchdog.h),
 * no intent that opens or grows a position is emitted (counted as skipped "account_stale");
 * reduce-only orders, cancels and the rest still go. Intents
 * are appended to <prefix>intents:<acct> for the gateways (send = gateway, the default); an id
 * emitted in the last few minutes is not appended again (the gateway would drop it anyway).
 * Replicas are counted from the live <prefix>hb:trader:* heartbeats (N, and this one's rank
 * k among their names) and shown in the heartbeat. In direct mode ([trader] send = direct)
 * replica k of N sends its 1/N share itself (direct.h) after the gateway's decision made over
 * its own book; run direct-mode replicas of an account without gateway-mode traders beside
 * them, since every trader heartbeat counts as a replica. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cli/commands.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/role.h"
#include "trader/book.h"
#include "trader/direct.h"
#include "trader/strategy.h"
#include "trader/tally.h"
#include "trader/trader.h"

#define TR_KEY_MAX 256
#define TR_RECENT 512       /* ids remembered against re-emitting */
#define TR_RECENT_MS 300000 /* for five minutes */
#define TR_STALE_SHOWN 20

struct strategy_ctx {
    struct role r;
    struct rconn *sub;
    const char *redis_url, *interval, *strategy_name;
    int64_t max_age_ms;
    struct book book;
    const struct strategy *st;
    void *st_state;
    char stream[TR_KEY_MAX];
    unsigned gen; /* snapshot generation: replies of an older one are dropped */
    int loading;  /* replies of the snapshot outstanding */
    int ready;    /* a snapshot completed */
    ev_timer timer;
    char recent[TR_RECENT][INTENT_ID_MAX];
    int64_t recent_t[TR_RECENT];
    int recent_next;
    struct tally skips;
    int64_t signals, emitted, emit_errors, repeats, resyncs, symbol_resyncs, messages, bad_messages,
        stale_skips;
    int64_t replicas, rank;
    int direct_mode;       /* [trader] send = direct: this replica sends its share */
    struct direct *dx;     /* direct mode only */
    enum gate_state state; /* <prefix>risk:state:<acct>, for direct mode's decisions */
    int acct_stale;        /* the watchdog's stale flag on the account: no opens */
};

/* ---- the strategy API --------------------------------------------------------------------- */

const struct book *strategy_book(const struct strategy_ctx *c)
{
    return &c->book;
}

int64_t strategy_now(const struct strategy_ctx *c)
{
    return c->r.bc ? servertime_now(binance_servertime(c->r.bc)) : timebase_wall_ms();
}

int strategy_stale(const struct strategy_ctx *c, const struct book_sym *s)
{
    return book_is_stale(&c->book, s, strategy_now(c));
}

void strategy_skip(struct strategy_ctx *c, const char *reason)
{
    c->signals++;
    tally_add(&c->skips, reason, -1);
}

static int tr_recent(struct strategy_ctx *c, const char *id)
{
    int64_t now = timebase_wall_ms();
    for (int i = 0; i < TR_RECENT; i++)
        if (c->recent_t[i] > now - TR_RECENT_MS && !strcmp(c->recent[i], id)) return 1;
    snprintf(c->recent[c->recent_next], INTENT_ID_MAX, "%s", id);
    c->recent_t[c->recent_next] = now;
    c->recent_next = (c->recent_next + 1) % TR_RECENT;
    return 0;
}

/* The gateway's view of a symbol, from the trader's own book (direct mode). */
static int tr_view(const struct strategy_ctx *c, const char *sym, struct gate_view *v)
{
    const struct book_sym *s = book_find(&c->book, sym);
    memset(v, 0, sizeof(*v));
    if (!s) return -1;
    v->state = c->state;
    v->banned = book_is_banned(&c->book, s);
    v->has_filters = s->has_filters;
    v->tradable = s->in_universe;
    v->filters = s->filters;
    v->pos_amt = s->pos_amt;
    v->has_book = s->has_tick;
    v->bid = s->bid;
    v->ask = s->ask;
    v->now_ms = timebase_wall_ms();
    return 0;
}

static int tr_emit_direct(struct strategy_ctx *c, struct intent *in)
{
    struct gate_view v;
    if (tr_view(c, in->sym, &v) < 0) return -1;
    int n = c->replicas > 0 ? (int)c->replicas : 1;
    int rank = c->rank < n ? (int)c->rank : n - 1;
    if (direct_send(c->dx, in, &v, rank, n) < 0) return -1;
    c->emitted++;
    return 0;
}

/* An order that may open or grow a position (not reduce-only). */
static int tr_opens(const struct intent *in)
{
    return in->op == INTENT_ORDER && !in->reduce;
}

int strategy_emit(struct strategy_ctx *c, struct intent *in)
{
    const char *argv[8 + INTENT_FIELDS_MAX];
    char buf[2048];
    if (c->acct_stale && tr_opens(in)) { /* before tr_recent: asked again once fresh */
        strategy_skip(c, "account_stale");
        return 0;
    }
    if (c->direct_mode && c->replicas < 1) { /* N not counted yet: 1/1 could double it */
        strategy_skip(c, "replicas_unknown");
        return 0;
    }
    c->signals++;
    if (tr_recent(c, in->id)) {
        c->repeats++;
        return 0;
    }
    in->t = timebase_wall_ms();
    snprintf(in->src, sizeof in->src, "trader:%.50s", c->r.instance);
    if (c->direct_mode) return tr_emit_direct(c, in);
    int n = 0;
    argv[n++] = "XADD";
    argv[n++] = c->stream;
    argv[n++] = "MAXLEN";
    argv[n++] = "~";
    argv[n++] = "100000";
    argv[n++] = "*";
    int m = intent_to_fields(in, argv + n, buf, sizeof buf);
    if (m < 0 || rconn_command_argv(c->r.rc, NULL, NULL, n + m, argv, NULL) < 0) {
        c->emit_errors++;
        c->recent_t[(c->recent_next + TR_RECENT - 1) % TR_RECENT] = 0; /* may try again */
        return -1;
    }
    c->emitted++;
    log_info("intent", "id=%s op=%s sym=%s side=%s class=%s", in->id, intent_op_name(in->op),
             in->sym, intent_side_name(in->side), in->cls);
    return 0;
}

/* ---- asking the strategy ------------------------------------------------------------------ */

static void tr_ask(struct strategy_ctx *c, struct book_sym *s)
{
    if (!c->ready || !c->st->on_symbol) return;
    if (strategy_stale(c, s)) {
        c->stale_skips++;
        return;
    }
    c->st->on_symbol(c, c->st_state, s);
}

static void tr_ask_account(struct strategy_ctx *c)
{
    if (c->ready && c->st->on_account) c->st->on_account(c, c->st_state);
}

/* ---- snapshot ------------------------------------------------------------------------------ */

enum tr_what {
    TR_UNIVERSE,
    TR_SYMBOL,
    TR_KLINE,
    TR_TICKS,
    TR_POS,
    TR_ORDERS,
    TR_BAN,
    TR_STATE,
    TR_HOT,
    TR_FLAGS
};

struct tr_req {
    struct strategy_ctx *c;
    unsigned gen;
    enum tr_what what;
    char sym[BOOK_SYM_MAX];
};

static void tr_on_reply(struct rconn *rc, redisReply *reply, void *privdata);

static void tr_cmd(struct strategy_ctx *c, enum tr_what what, const char *sym, const char *fmt,
                   const char *a, const char *b)
{
    struct tr_req *q = calloc(1, sizeof(*q));
    if (!q) return;
    q->c = c;
    q->gen = c->gen;
    q->what = what;
    if (sym) snprintf(q->sym, sizeof q->sym, "%s", sym);
    c->loading++;
    if (rconn_command(c->r.rc, tr_on_reply, q, fmt, a, b) < 0) {
        c->loading--;
        free(q);
    }
}

static void tr_load_symbol(struct strategy_ctx *c, const char *sym)
{
    char k1[TR_KEY_MAX], k2[TR_KEY_MAX];
    role_key(&c->r, k1, sizeof k1, "symbol:%s", sym);
    role_key(&c->r, k2, sizeof k2, "kline:%s:%s", c->interval, sym);
    tr_cmd(c, TR_SYMBOL, sym, "HGETALL %s%s", k1, "");
    tr_cmd(c, TR_KLINE, sym, "HMGET %s t %s", k2, "bars");
}

static void tr_load_account(struct strategy_ctx *c)
{
    char k[TR_KEY_MAX];
    role_key(&c->r, k, sizeof k, "acct:%s:pos", c->r.account);
    tr_cmd(c, TR_POS, NULL, "HGETALL %s%s", k, "");
    role_key(&c->r, k, sizeof k, "acct:%s:orders", c->r.account);
    tr_cmd(c, TR_ORDERS, NULL, "HGETALL %s%s", k, "");
}

static void tr_load_risk(struct strategy_ctx *c)
{
    char k[TR_KEY_MAX];
    role_key(&c->r, k, sizeof k, "risk:ban");
    tr_cmd(c, TR_BAN, NULL, "HGET %s %s", k, "symbols");
    role_key(&c->r, k, sizeof k, "risk:state:%s", c->r.account);
    tr_cmd(c, TR_STATE, NULL, "HGET %s %s", k, "state");
}

static void tr_load_hot(struct strategy_ctx *c)
{
    char k[TR_KEY_MAX];
    role_key(&c->r, k, sizeof k, "hot");
    tr_cmd(c, TR_HOT, NULL, "HGET %s %s", k, "symbols");
}

/* Rebuilds everything from the keys (a new generation: older replies are ignored). */
static void tr_resync(struct strategy_ctx *c)
{
    char k[TR_KEY_MAX];
    if (!role_redis_up(&c->r)) return;
    c->gen++;
    c->loading = 0;
    c->resyncs++;
    role_key(&c->r, k, sizeof k, "universe");
    tr_cmd(c, TR_UNIVERSE, NULL, "LRANGE %s 0 %s", k, "-1");
    role_key(&c->r, k, sizeof k, "ticks");
    tr_cmd(c, TR_TICKS, NULL, "HGETALL %s%s", k, "");
    tr_load_account(c);
    tr_load_risk(c);
    tr_load_hot(c);
    role_key(&c->r, k, sizeof k, "acct:%s:flags", c->r.account);
    tr_cmd(c, TR_FLAGS, NULL, "HEXISTS %s %s", k, "stale");
}

static void tr_apply_universe(struct strategy_ctx *c, const redisReply *r)
{
    for (int i = 0; i < c->book.n; i++)
        c->book.syms[i].in_universe = 0;
    for (size_t i = 0; i < r->elements; i++) {
        if (r->element[i]->type != REDIS_REPLY_STRING) continue;
        struct book_sym *s = book_get(&c->book, r->element[i]->str);
        if (!s) continue;
        s->in_universe = 1;
        tr_load_symbol(c, s->name);
    }
}

static void tr_apply_symbol(struct strategy_ctx *c, const char *sym, const redisReply *r)
{
    const char *kv[64];
    size_t n = 0;
    char err[128];
    struct book_sym *s = book_get(&c->book, sym);
    if (!s) return;
    for (size_t i = 0; i < r->elements && n < 64; i++)
        kv[n++] = r->element[i]->str ? r->element[i]->str : "";
    s->has_filters = n > 0 && book_parse_filters(kv, n, &s->filters, err, sizeof err) == 0;
    if (n > 0 && !s->has_filters) log_warn("symbol filters refused", "sym=%s err=\"%s\"", sym, err);
}

static void tr_apply_kline(struct strategy_ctx *c, const char *sym, const redisReply *r)
{
    struct book_sym *s = book_get(&c->book, sym);
    if (!s || r->elements != 2 || r->element[1]->type != REDIS_REPLY_STRING) return;
    int64_t t =
        r->element[0]->type == REDIS_REPLY_STRING ? strtoll(r->element[0]->str, NULL, 10) : 0;
    json_t *bars = json_loads(r->element[1]->str, 0, NULL);
    if (book_load_bars(&c->book, s, bars, t) == BOOK_INVALID)
        log_warn("kline window refused", "sym=%s", sym);
    json_decref(bars);
    tr_ask(c, s);
}

/* One tick record {"b","a","T"} (the key's layout) or [bid, ask, T] (the channel's). */
static void tr_apply_tick(struct strategy_ctx *c, const char *sym, const json_t *v)
{
    struct book_sym *s = NULL;
    if (book_apply_tick_json(&c->book, sym, v, &s) != BOOK_APPLIED) return;
    if (s->resync) tr_load_symbol(c, s->name);
    tr_ask(c, s);
}

static void tr_apply_ticks_hash(struct strategy_ctx *c, const redisReply *r)
{
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        json_t *v = json_loads(r->element[i + 1]->str, 0, NULL);
        tr_apply_tick(c, r->element[i]->str, v);
        json_decref(v);
    }
}

/* One position record: field "SYM:SIDE", JSON {"amt","entry",...}; one-way (BOTH) only. */
static void tr_apply_pos(struct strategy_ctx *c, const char *field, const json_t *v)
{
    char sym[BOOK_SYM_MAX];
    const char *colon = strchr(field, ':');
    struct dec amt = {0, 0}, entry = {0, 0};
    if (!colon || strcmp(colon + 1, "BOTH") || (size_t)(colon - field) >= sizeof sym) return;
    memcpy(sym, field, (size_t)(colon - field));
    sym[colon - field] = '\0';
    struct book_sym *s = book_find(&c->book, sym);
    if (!s || jv_get_dec(v, "amt", &amt, NULL, 0) < 0) return;
    (void)jv_opt_dec(v, "entry", &entry, NULL, 0);
    s->pos_amt = amt;
    s->pos_entry = entry;
}

static void tr_apply_pos_hash(struct strategy_ctx *c, const redisReply *r)
{
    for (int i = 0; i < c->book.n; i++)
        c->book.syms[i].pos_amt = dec_from_int(0);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        json_t *v = json_loads(r->element[i + 1]->str, 0, NULL);
        tr_apply_pos(c, r->element[i]->str, v);
        json_decref(v);
    }
}

/* Open orders per symbol, from each record's "symbol" (fields are SYM:clientOrderId). */
static void tr_apply_orders_hash(struct strategy_ctx *c, const redisReply *r)
{
    for (int i = 0; i < c->book.n; i++)
        c->book.syms[i].open_orders = 0;
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        json_t *v = json_loads(r->element[i + 1]->str, 0, NULL);
        const char *sym = json_string_value(json_object_get(v, "symbol"));
        struct book_sym *s = sym ? book_find(&c->book, sym) : NULL;
        if (s) s->open_orders++;
        json_decref(v);
    }
}

static void tr_apply_list(struct strategy_ctx *c, enum tr_what what, const char *text)
{
    json_t *a = text ? json_loads(text, 0, NULL) : NULL;
    const char *v[BOOK_SYMS_MAX];
    size_t n = 0, i;
    json_t *e;
    json_array_foreach(a, i, e) if (json_is_string(e) && n < BOOK_SYMS_MAX) v[n++] =
        json_string_value(e);
    if (what == TR_BAN) {
        book_set_bans(&c->book, v, n);
    } else {
        for (int k = 0; k < c->book.n; k++)
            c->book.syms[k].hot = 0;
        for (size_t k = 0; k < n; k++) {
            struct book_sym *s = book_find(&c->book, v[k]);
            if (s) s->hot = 1;
        }
    }
    json_decref(a);
}

static void tr_set_acct_stale(struct strategy_ctx *c, int stale)
{
    if (stale == c->acct_stale) return;
    c->acct_stale = stale;
    if (stale) {
        log_warn("account stale: no opens", "account=%s", c->r.account);
        return;
    }
    log_info("account fresh again", "account=%s", c->r.account);
    for (int i = 0; i < c->book.n; i++) /* the signals skipped meanwhile are asked again */
        tr_ask(c, &c->book.syms[i]);
}

static void tr_on_reply(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct tr_req *q = privdata;
    struct strategy_ctx *c = q->c;
    (void)rc;
    if (q->gen != c->gen || role_stopping(&c->r)) goto out;
    c->loading--;
    if (!reply || reply->type == REDIS_REPLY_ERROR) goto out;
    const char *str = reply->type == REDIS_REPLY_STRING ? reply->str : NULL;
    int arr = reply->type == REDIS_REPLY_ARRAY;
    switch (q->what) {
    case TR_UNIVERSE:
        if (arr) tr_apply_universe(c, reply);
        break;
    case TR_SYMBOL:
        if (arr) tr_apply_symbol(c, q->sym, reply);
        break;
    case TR_KLINE:
        if (arr) tr_apply_kline(c, q->sym, reply);
        break;
    case TR_TICKS:
        if (arr) tr_apply_ticks_hash(c, reply);
        break;
    case TR_POS:
        if (arr) tr_apply_pos_hash(c, reply);
        tr_ask_account(c);
        break;
    case TR_ORDERS:
        if (arr) tr_apply_orders_hash(c, reply);
        tr_ask_account(c);
        break;
    case TR_BAN:
        tr_apply_list(c, TR_BAN, str);
        break;
    case TR_STATE: /* the gateway enforces it; direct mode obeys it here (unknown: HALTED) */
        if (gate_state_parse(str, &c->state) < 0) c->state = GATE_HALTED;
        break;
    case TR_HOT:
        tr_apply_list(c, TR_HOT, str);
        break;
    case TR_FLAGS:
        if (reply->type == REDIS_REPLY_INTEGER) tr_set_acct_stale(c, reply->integer != 0);
        break;
    }
    if (c->loading == 0 && !c->ready) {
        c->ready = 1;
        log_info("book loaded", "symbols=%d", c->book.n);
        for (int i = 0; i < c->book.n; i++)
            tr_ask(c, &c->book.syms[i]);
    }
out:
    free(q);
}

/* ---- channels ------------------------------------------------------------------------------ */

static void tr_on_kline_msg(struct strategy_ctx *c, json_t *m)
{
    const char *sym = json_string_value(json_object_get(m, "s"));
    struct book_sym *s = sym ? book_find(&c->book, sym) : NULL;
    if (!s) return;
    enum book_result r = book_update_bars(&c->book, s, json_object_get(m, "bars"),
                                          json_integer_value(json_object_get(m, "t")));
    if (r == BOOK_GAP) {
        c->symbol_resyncs++;
        tr_load_symbol(c, s->name);
    } else if (r == BOOK_APPLIED) {
        tr_ask(c, s);
    }
}

static void tr_on_tick_msg(struct strategy_ctx *c, json_t *m)
{
    const char *sym;
    json_t *v;
    json_object_foreach(json_object_get(m, "ticks"), sym, v) tr_apply_tick(c, sym, v);
}

static void tr_on_acct_msg(struct strategy_ctx *c, json_t *m)
{
    const char *field;
    json_t *v;
    json_t *pos = json_object_get(m, "pos"), *stale = json_object_get(m, "stale");
    if (json_is_boolean(stale)) tr_set_acct_stale(c, json_is_true(stale));
    if (!pos) return;
    json_object_foreach(pos, field, v) tr_apply_pos(c, field, v);
    tr_ask_account(c);
}

static void tr_on_message(struct rconn *rc, const char *channel, const char *payload, size_t len,
                          void *privdata)
{
    struct strategy_ctx *c = privdata;
    char err[JV_ERR_MAX];
    (void)rc;
    if (!c->ready || role_stopping(&c->r)) return;
    json_t *m = jv_parse(payload, len, err, sizeof err);
    c->messages++;
    if (!m) {
        c->bad_messages++;
        return;
    }
    const char *kind = channel + strlen(c->r.prefix) + 3; /* after "<prefix>ch:" */
    if (!strncmp(kind, "kline:", 6))
        tr_on_kline_msg(c, m);
    else if (!strcmp(kind, "tick"))
        tr_on_tick_msg(c, m);
    else if (!strncmp(kind, "acct:", 5))
        tr_on_acct_msg(c, m);
    else if (!strncmp(kind, "order:", 6))
        tr_load_account(c);
    else if (!strcmp(kind, "risk"))
        tr_load_risk(c);
    else if (!strcmp(kind, "universe"))
        tr_resync(c);
    else if (!strcmp(kind, "hot"))
        tr_load_hot(c);
    json_decref(m);
}

static void tr_sub_up(struct rconn *rc, void *privdata)
{
    struct strategy_ctx *c = privdata;
    (void)rc;
    tr_resync(c); /* whatever was published while down is in the keys */
}

static int tr_subscribe(struct strategy_ctx *c)
{
    char ch[TR_KEY_MAX];
    const char *names[] = {"ch:tick", "ch:risk", "ch:universe", "ch:hot"};
    int rc = 0;
    role_key(&c->r, ch, sizeof ch, "ch:kline:%s", c->interval);
    rc |= rconn_subscribe(c->sub, ch, tr_on_message, c);
    role_key(&c->r, ch, sizeof ch, "ch:acct:%s", c->r.account);
    rc |= rconn_subscribe(c->sub, ch, tr_on_message, c);
    role_key(&c->r, ch, sizeof ch, "ch:order:%s", c->r.account);
    rc |= rconn_subscribe(c->sub, ch, tr_on_message, c);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        role_key(&c->r, ch, sizeof ch, "%s", names[i]);
        rc |= rconn_subscribe(c->sub, ch, tr_on_message, c);
    }
    return rc;
}

/* ---- replicas and the timer --------------------------------------------------------------- */

static int tr_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* N = live trader heartbeats, rank = this one's place among their names. */
static void tr_on_replicas(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct strategy_ctx *c = privdata;
    const char *names[1024];
    char mine[TR_KEY_MAX];
    size_t n = 0;
    int found = 0;
    (void)rc;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) return;
    const redisReply *keys = reply->element[1];
    role_key(&c->r, mine, sizeof mine, "hb:trader:%s", c->r.instance);
    for (size_t i = 0; i < keys->elements && n < 1024; i++) {
        names[n++] = keys->element[i]->str;
        if (!strcmp(keys->element[i]->str, mine)) found = 1;
    }
    if (!found && n < 1024) names[n++] = mine; /* before our first beat */
    qsort(names, n, sizeof names[0], tr_cmp_str);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], mine)) c->rank = (int64_t)i;
    c->replicas = (int64_t)n;
}

static void tr_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct strategy_ctx *c = w->data;
    char pat[TR_KEY_MAX];
    (void)loop;
    (void)revents;
    if (role_stopping(&c->r)) return;
    role_key(&c->r, pat, sizeof pat, "hb:trader:*");
    (void)rconn_command(c->r.rc, tr_on_replicas, c, "SCAN 0 MATCH %s COUNT 100000", pat);
    if (c->ready && c->st->on_timer) c->st->on_timer(c, c->st_state);
}

/* ---- role hooks ---------------------------------------------------------------------------- */

static void tr_fill(struct role *r, json_t *o, void *privdata)
{
    struct strategy_ctx *c = privdata;
    json_t *stale = json_array();
    int64_t now = strategy_now(c), nstale = 0, watched = 0;
    (void)r;
    for (int i = 0; i < c->book.n; i++) {
        const struct book_sym *s = &c->book.syms[i];
        watched += s->in_universe;
        if (!s->in_universe || !book_is_stale(&c->book, s, now)) continue;
        if (nstale++ < TR_STALE_SHOWN) json_array_append_new(stale, json_string(s->name));
    }
    json_object_set_new(o, "strategy", json_string(c->st->name));
    json_object_set_new(o, "account", json_string(c->r.account));
    json_object_set_new(o, "send", json_string(c->direct_mode ? "direct" : "gateway"));
    json_object_set_new(o, "rank", json_integer(c->rank));
    if (c->dx) direct_fill(c->dx, o);
    json_object_set_new(o, "interval", json_string(c->interval));
    json_object_set_new(o, "ready", json_boolean(c->ready));
    json_object_set_new(o, "symbols", json_integer(c->book.n));
    json_object_set_new(o, "watched", json_integer(watched));
    json_object_set_new(o, "stale", json_integer(nstale));
    json_object_set_new(o, "stale_symbols", stale);
    json_object_set_new(o, "account_stale", json_boolean(c->acct_stale));
    json_object_set_new(o, "emitted", json_integer(c->emitted));
    json_object_set_new(o, "emit_errors", json_integer(c->emit_errors));
    json_object_set_new(o, "repeats", json_integer(c->repeats));
    json_object_set_new(o, "skipped", tally_json(&c->skips));
    json_object_set_new(o, "signals", json_integer(c->signals));
    json_object_set_new(o, "resyncs", json_integer(c->resyncs));
    json_object_set_new(o, "symbol_resyncs", json_integer(c->symbol_resyncs));
    json_object_set_new(o, "gaps", json_integer(c->book.gaps));
    json_object_set_new(o, "messages", json_integer(c->messages));
    json_object_set_new(o, "bad_messages", json_integer(c->bad_messages));
    json_object_set_new(o, "replicas", json_integer(c->replicas));
}

static void tr_redis_up(struct role *r, void *privdata)
{
    (void)r;
    tr_resync(privdata);
}

static int tr_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct strategy_ctx *c = state;
    const char *send = NULL;
    if (config_required(cfg, "redis", "url", &c->redis_url) < 0 ||
        config_str(cfg, "trader", "strategy", "demo", &c->strategy_name) < 0 ||
        config_str(cfg, "trader", "interval", "1m", &c->interval) < 0 ||
        config_str(cfg, "trader", "send", "gateway", &send) < 0 ||
        config_duration_ms(cfg, "trader", "max_age", 30000, 100, 86400000, &c->max_age_ms) < 0)
        return -1;
    c->st = strategy_find(c->strategy_name);
    if (!c->st) {
        snprintf(err, cap, "[trader] strategy: no strategy '%s'", c->strategy_name);
        return -1;
    }
    if (strcmp(send, "gateway") && strcmp(send, "direct")) {
        snprintf(err, cap, "[trader] send: '%s' is not gateway or direct", send);
        return -1;
    }
    c->direct_mode = !strcmp(send, "direct");
    if (book_init(&c->book, c->interval, c->max_age_ms) < 0) {
        snprintf(err, cap, "[trader] interval: '%s' is not an interval", c->interval);
        return -1;
    }
    return c->st->start(c, cfg, &c->st_state, err, cap);
}

static int tr_start(struct role *r, void *state, char *err, size_t cap)
{
    struct strategy_ctx *c = state;
    char name[ROLE_ID_MAX + 16], rerr[RCONN_ERR_MAX] = "";
    role_key(r, c->stream, sizeof c->stream, "intents:%s", r->account);
    snprintf(name, sizeof name, "trader-sub:%s", r->instance);
    struct rconn_options ro = {.url = c->redis_url, .name = name};
    struct rconn_callbacks cb = {.up = tr_sub_up, .privdata = c};
    c->sub = rconn_new(r->loop, &ro, &cb, rerr, sizeof rerr);
    if (!c->sub || tr_subscribe(c) != 0) {
        snprintf(err, cap, "[redis] url: %s", rerr[0] ? rerr : "cannot subscribe");
        return -1;
    }
    if (c->direct_mode && !(c->dx = direct_new(r->loop, r->cfg, r->account, err, cap))) return -1;
    ev_timer_init(&c->timer, tr_on_timer, 1.0, 1.0);
    c->timer.data = c;
    ev_timer_start(r->loop, &c->timer);
    log_info("trader ready", "strategy=%s interval=%s stream=%s", c->st->name, c->interval,
             c->stream);
    return 0;
}

static void tr_stop(struct role *r, void *state)
{
    struct strategy_ctx *c = state;
    ev_timer_stop(r->loop, &c->timer);
    direct_free(c->dx); /* its callbacks run now, while it is still alive */
    c->dx = NULL;
    if (c->sub) rconn_free(c->sub);
    c->sub = NULL;
}

static const struct cli_option trader_options[] = {
    {"strategy", "NAME", NULL, NULL, "the built-in strategy (default demo)", 0},
    {"interval", "INTERVAL", NULL, NULL, "bar interval of the book (default 1m)", 0},
    {"max-age", "DURATION", NULL, "max_age", "a symbol without fresher data is stale (30s)", 0},
    {"send", "gateway|direct", NULL, NULL,
     "intents to the gateway (default), or this replica's 1/N share itself", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command trader_cli = {
    .name = "trader",
    .summary = "local kline book from Redis, a strategy, order intents to the gateway",
    .usage = "Strategies: demo. Intents go to bfq:intents:<acct> (see docs/trading.md).\n",
    .options = trader_options,
    .role_options = 1,
};

int trader_main(int argc, char **argv)
{
    static const struct role_entry e = {
        .cmd = &trader_cli,
        .opts = {.no_exchange = 1, .up = tr_redis_up, .fill = tr_fill},
        .config = tr_config,
        .start = tr_start,
        .stop = tr_stop,
    };
    struct strategy_ctx *c = calloc(1, sizeof(*c));
    if (!c) return 1;
    int rc = role_main(&e, &c->r, c, argc, argv);
    if (c->st && c->st->stop) c->st->stop(c->st_state);
    book_free(&c->book);
    free(c);
    return rc;
}
