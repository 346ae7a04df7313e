/* metrics: the Prometheus exposition of bfq's state (see metrics.h), and `bfq metrics`.
 *
 * The renderer writes each family once, in a fixed order: # HELP and # TYPE before its first
 * sample (a family without samples is left out), label values escaped as the text format says
 * (backslash, double quote, newline), counters named *_total, times in seconds, figures exact:
 * integers as integers, ages as milliseconds turned into seconds by digits ("1.234"), money
 * as the trimmed decimal of a struct dec. Nothing passes through a double. The text is built in
 * a core/sbuf (the project's growable buffer, capped).
 *
 * The gatherer reuses `bfq status`'s collect functions (collectors/status.h) for the
 * heartbeats, the data's ages and the accounts, the gateway's admission rule for the trading
 * state (gate_state_parse: no state is ACTIVE) and the circuit breaker's live uPnL
 * (breaker_add_upnl: amt * (mid - entry)), so the page, the breaker and Prometheus agree. A
 * position without a book is counted in bfq_positions but left out of notional and uPnL (as the
 * breaker leaves it out). */
#include "dash/metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "collectors/status.h"
#include "collectors/status_account.h"
#include "core/cli.h"
#include "core/config.h"
#include "core/jsonval.h"
#include "core/rblock.h"
#include "core/timebase.h"
#include "risk/breaker.h"
#include "core/sbuf.h"
#include "trader/gate.h"

#define MX_KEY_MAX 256
#define MX_VAL_MAX 48
#define MX_POS_MAX 1024 /* positions of one account priced at most (one HMGET) */
#define MX_TIMEOUT_MS 2000

const char *const metrics_source_names[METRICS_SOURCES] = {"account", "positionrisk", "userstream"};
const char *const metrics_state_names[METRICS_STATES] = {"ACTIVE", "REDUCING", "HALTED"};
_Static_assert(GATE_ACTIVE == 0 && GATE_REDUCING == 1 && GATE_HALTED == 2 && METRICS_STATES == 3,
               "metrics_state_names is indexed by enum gate_state");
const char *const metrics_outcome_names[METRICS_OUTCOMES] = {"sent", "denied", "rejected",
                                                             "unknown", "duplicate"};
/* The gateway heartbeat's counter of each outcome (trader/gateway.c gw_fill). */
static const char *const mx_outcome_fields[METRICS_OUTCOMES] = {"sent", "denied", "rejected",
                                                                "unknown", "duplicates"};

/* ---- text --------------------------------------------------------------------------------- */

/* s with backslash and newline escaped, and the double quote too when quote is set: the text
 * format's rules for label values (quote set) and for HELP text. */
static void mx_escaped(struct sbuf *o, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            sbuf_add(o, "\\\\", 2);
        else if (*s == '\n')
            sbuf_add(o, "\\n", 2);
        else if (*s == '"' && quote)
            sbuf_add(o, "\\\"", 2);
        else
            sbuf_add(o, s, 1);
    }
}

/* ---- values ------------------------------------------------------------------------------ */

static const char *mx_int(char *buf, int64_t v)
{
    snprintf(buf, MX_VAL_MAX, "%lld", (long long)v);
    return buf;
}

/* Milliseconds as seconds, exactly: 1234 -> "1.234", -5 -> "-0.005". */
static const char *mx_secs(char *buf, int64_t ms)
{
    unsigned long long a = ms < 0 ? 0ULL - (unsigned long long)ms : (unsigned long long)ms;
    snprintf(buf, MX_VAL_MAX, "%s%llu.%03llu", ms < 0 ? "-" : "", a / 1000, a % 1000);
    return buf;
}

static const char *mx_money(char *buf, struct dec d)
{
    if (dec_format_trim(d, buf, MX_VAL_MAX) < 0) snprintf(buf, MX_VAL_MAX, "NaN");
    return buf;
}

/* ---- families and samples ----------------------------------------------------------------- */

struct mx_family {
    const char *name, *type, *help;
    int started; /* # HELP and # TYPE written */
};

struct mx_label {
    const char *name, *value;
};

/* One sample line; the family's header goes first, once. */
static void mx_sample(struct sbuf *o, struct mx_family *f, const struct mx_label *l, int nl,
                      const char *value)
{
    if (!f->started) {
        f->started = 1;
        sbuf_adds(o, "# HELP ");
        sbuf_adds(o, f->name);
        sbuf_adds(o, " ");
        mx_escaped(o, f->help, 0);
        sbuf_adds(o, "\n# TYPE ");
        sbuf_adds(o, f->name);
        sbuf_adds(o, " ");
        sbuf_adds(o, f->type);
        sbuf_adds(o, "\n");
    }
    sbuf_adds(o, f->name);
    for (int i = 0; i < nl; i++) {
        sbuf_adds(o, i ? "," : "{");
        sbuf_adds(o, l[i].name);
        sbuf_adds(o, "=\"");
        mx_escaped(o, l[i].value, 1);
        sbuf_adds(o, "\"");
    }
    sbuf_adds(o, nl ? "} " : " ");
    sbuf_adds(o, value);
    sbuf_adds(o, "\n");
}

/* The same family with one label. */
static void mx_one(struct sbuf *o, struct mx_family *f, const char *label, const char *lv,
                   const char *value)
{
    struct mx_label l = {label, lv};
    mx_sample(o, f, &l, 1, value);
}

/* ---- the families with one label ---------------------------------------------------------- */

/* A getter writes an item's value into buf and returns it, or NULL: no sample for that item. */
typedef const char *mx_get_fn(const void *item, char *buf);

enum mx_over { MX_ROLES, MX_IPS, MX_AGES, MX_ACCOUNTS };

struct mx_simple {
    struct mx_family f;
    enum mx_over over; /* which list of the snapshot, labelled role, ip, kind or account */
    mx_get_fn *get;
};

#define MX_ROLE(it) ((const struct metrics_role *)(it))
#define MX_IP(it) ((const struct metrics_ip *)(it))
#define MX_AGE(it) ((const struct metrics_age *)(it))
#define MX_ACCT(it) ((const struct metrics_account *)(it))

static const char *mx_opt_int(char *buf, int64_t v, int show)
{
    return show ? mx_int(buf, v) : NULL;
}

static const char *mx_opt_secs(char *buf, int64_t ms)
{
    return ms != METRICS_NONE ? mx_secs(buf, ms) : NULL;
}

static const char *mx_opt_money(char *buf, struct dec d, int show)
{
    return show ? mx_money(buf, d) : NULL;
}

static const char *mx_get_up(const void *it, char *b)
{
    return mx_int(b, MX_ROLE(it)->up);
}
static const char *mx_get_req(const void *it, char *b)
{
    return mx_opt_int(b, MX_ROLE(it)->requests, MX_ROLE(it)->requests > 0);
}
static const char *mx_get_ls(const void *it, char *b)
{
    return mx_opt_secs(b, MX_ROLE(it)->last_success_age_ms);
}
static const char *mx_get_used(const void *it, char *b)
{
    return mx_int(b, MX_IP(it)->used);
}
static const char *mx_get_budget(const void *it, char *b)
{
    return mx_opt_int(b, MX_IP(it)->budget, MX_IP(it)->budget >= 0);
}
static const char *mx_get_limit(const void *it, char *b)
{
    return mx_opt_int(b, MX_IP(it)->limit, MX_IP(it)->limit >= 0);
}
static const char *mx_get_stop(const void *it, char *b)
{
    return mx_int(b, MX_IP(it)->stopped);
}
static const char *mx_get_rec(const void *it, char *b)
{
    return mx_int(b, MX_AGE(it)->records);
}
static const char *mx_get_old(const void *it, char *b)
{
    return mx_opt_secs(b, MX_AGE(it)->oldest_ms);
}
static const char *mx_get_med(const void *it, char *b)
{
    return mx_opt_secs(b, MX_AGE(it)->median_ms);
}
static const char *mx_get_pos(const void *it, char *b)
{
    return mx_int(b, MX_ACCT(it)->positions);
}
static const char *mx_get_unpriced(const void *it, char *b)
{
    return mx_int(b, MX_ACCT(it)->positions - MX_ACCT(it)->priced);
}
static const char *mx_get_orders(const void *it, char *b)
{
    return mx_int(b, MX_ACCT(it)->open_orders);
}
static const char *mx_get_notional(const void *it, char *b)
{
    return mx_opt_money(b, MX_ACCT(it)->notional, MX_ACCT(it)->has_money);
}
static const char *mx_get_upnl(const void *it, char *b)
{
    return mx_opt_money(b, MX_ACCT(it)->upnl, MX_ACCT(it)->has_money);
}
static const char *mx_get_wallet(const void *it, char *b)
{
    return mx_opt_money(b, MX_ACCT(it)->wallet, MX_ACCT(it)->has_wallet);
}
static const char *mx_get_equity(const void *it, char *b)
{
    return mx_opt_money(b, MX_ACCT(it)->equity, MX_ACCT(it)->has_equity);
}

/* The families of one label, in the order they are written (docs/metrics.md). */
static const struct mx_simple mx_simple_families[] = {
    {{"bfq_instances", "gauge", "Live instances (heartbeats) per role.", 0}, MX_ROLES, mx_get_up},
    {{"bfq_requests_total", "counter", "Exchange answers seen by the role's live instances.", 0},
     MX_ROLES,
     mx_get_req},
    {{"bfq_last_success_age_seconds", "gauge",
      "Age of the oldest last accepted exchange answer among the role's instances.", 0},
     MX_ROLES,
     mx_get_ls},
    {{"bfq_weight_used", "gauge", "Request weight the source IP spent in this exchange minute.", 0},
     MX_IPS,
     mx_get_used},
    {{"bfq_weight_budget", "gauge", "Request weight a minute the IP's budget allows.", 0},
     MX_IPS,
     mx_get_budget},
    {{"bfq_weight_limit", "gauge", "The exchange's request weight limit a minute per IP.", 0},
     MX_IPS,
     mx_get_limit},
    {{"bfq_weight_stopped", "gauge", "1 while the IP is stopped by a 429 or 418 answer.", 0},
     MX_IPS,
     mx_get_stop},
    {{"bfq_data_records", "gauge", "Records held in Redis by kind.", 0}, MX_AGES, mx_get_rec},
    {{"bfq_data_age_seconds", "gauge",
      "Age of the kind's oldest record: local time minus the exchange time of the data.", 0},
     MX_AGES,
     mx_get_old},
    {{"bfq_data_median_age_seconds", "gauge", "Median age of the kind's records.", 0},
     MX_AGES,
     mx_get_med},
    {{"bfq_positions", "gauge", "Open positions of the account.", 0}, MX_ACCOUNTS, mx_get_pos},
    {{"bfq_positions_unpriced", "gauge",
      "Open positions without a book ticker: not in notional and uPnL.", 0},
     MX_ACCOUNTS,
     mx_get_unpriced},
    {{"bfq_open_orders", "gauge", "Open orders of the account, regular and algo.", 0},
     MX_ACCOUNTS,
     mx_get_orders},
    {{"bfq_notional_usdt", "gauge", "Sum of |amount| times the book's mid over open positions.", 0},
     MX_ACCOUNTS,
     mx_get_notional},
    {{"bfq_upnl_usdt", "gauge", "Unrealized PnL: sum of amount times (mid - entry).", 0},
     MX_ACCOUNTS,
     mx_get_upnl},
    {{"bfq_wallet_usdt", "gauge", "Wallet balance of USDT.", 0}, MX_ACCOUNTS, mx_get_wallet},
    {{"bfq_equity_usdt", "gauge", "Equity: USDT wallet plus uPnL.", 0}, MX_ACCOUNTS, mx_get_equity},
};

static int mx_count(const struct metrics_snapshot *s, enum mx_over over)
{
    const int n[] = {s->nroles, s->nips, s->nages, s->naccounts};
    return n[over];
}

/* The i-th item of the list (i < mx_count), and its label value in *name. */
static const void *mx_item(const struct metrics_snapshot *s, enum mx_over over, int i,
                           const char **name)
{
    switch (over) {
    case MX_ROLES:
        *name = s->roles[i].name;
        return &s->roles[i];
    case MX_IPS:
        *name = s->ips[i].ip;
        return &s->ips[i];
    case MX_AGES:
        *name = s->ages[i].kind;
        return &s->ages[i];
    default:
        *name = s->accounts[i].name;
        return &s->accounts[i];
    }
}

static const char *const mx_over_labels[] = {"role", "ip", "kind", "account"};

static void mx_simple(struct sbuf *o, const struct metrics_snapshot *s, const struct mx_simple *m)
{
    struct mx_family f = m->f;
    char buf[MX_VAL_MAX];
    for (int i = 0; i < mx_count(s, m->over); i++) {
        const char *name = NULL;
        const void *it = mx_item(s, m->over, i, &name);
        const char *v = m->get(it, buf);
        if (v) mx_one(o, &f, mx_over_labels[m->over], name, v);
    }
}

/* ---- the families with two labels, and the scalars ------------------------------------------ */

static void mx_errors(struct sbuf *o, const struct metrics_snapshot *s)
{
    struct mx_family f = {"bfq_errors_total", "counter",
                          "Failed exchange answers by kind, summed over the role's live "
                          "instances.",
                          0};
    char v[MX_VAL_MAX];
    for (int i = 0; i < s->nroles; i++) {
        if (s->roles[i].requests <= 0) continue; /* roles that never talk to the exchange */
        for (int k = 0; k < ROLE_ERR_COUNT; k++) {
            struct mx_label l[] = {{"role", s->roles[i].name}, {"kind", role_err_name(k)}};
            mx_sample(o, &f, l, 2, mx_int(v, s->roles[i].errors[k]));
        }
    }
}

static void mx_sources(struct sbuf *o, const struct metrics_snapshot *s)
{
    struct mx_family f = {"bfq_account_source_age_seconds", "gauge",
                          "Time since the account source last wrote.", 0};
    char v[MX_VAL_MAX];
    for (int i = 0; i < s->naccounts; i++)
        for (int k = 0; k < METRICS_SOURCES; k++) {
            if (s->accounts[i].source_age_ms[k] == METRICS_NONE) continue;
            struct mx_label l[] = {{"account", s->accounts[i].name},
                                   {"source", metrics_source_names[k]}};
            mx_sample(o, &f, l, 2, mx_secs(v, s->accounts[i].source_age_ms[k]));
        }
}

static void mx_trading(struct sbuf *o, const struct metrics_snapshot *s)
{
    struct mx_family st = {"bfq_trading_state", "gauge",
                           "1 for the account's current trading state, 0 for the others.", 0};
    struct mx_family in = {"bfq_intents_total", "counter",
                           "Order intents by outcome, summed over the account's live gateways.", 0};
    char v[MX_VAL_MAX];
    for (int i = 0; i < s->naccounts; i++)
        for (int k = 0; k < METRICS_STATES; k++) {
            struct mx_label l[] = {{"account", s->accounts[i].name},
                                   {"state", metrics_state_names[k]}};
            mx_sample(o, &st, l, 2, s->accounts[i].state == k ? "1" : "0");
        }
    for (int i = 0; i < s->naccounts; i++)
        for (int k = 0; s->accounts[i].has_intents && k < METRICS_OUTCOMES; k++) {
            struct mx_label l[] = {{"account", s->accounts[i].name},
                                   {"outcome", metrics_outcome_names[k]}};
            mx_sample(o, &in, l, 2, mx_int(v, s->accounts[i].intents[k]));
        }
}

static void mx_scalars(struct sbuf *o, const struct metrics_snapshot *s)
{
    struct mx_family bans = {"bfq_bans", "gauge", "Entries of the ban list (ALL counts as one).",
                             0};
    struct mx_family all = {"bfq_ban_all", "gauge", "1 while every symbol is banned (ALL).", 0};
    struct mx_family al = {"bfq_alerts", "gauge", "Alerts held in the capped alert stream.", 0};
    struct mx_family last = {"bfq_last_alert_timestamp_seconds", "gauge",
                             "Unix time of the newest alert.", 0};
    struct mx_family dur = {"bfq_scrape_duration_seconds", "gauge",
                            "Time this exposition took to read from Redis.", 0};
    char v[MX_VAL_MAX];
    mx_sample(o, &bans, NULL, 0, mx_int(v, s->bans));
    mx_sample(o, &all, NULL, 0, s->ban_all ? "1" : "0");
    mx_sample(o, &al, NULL, 0, mx_int(v, s->alerts));
    if (s->last_alert_ms > 0) mx_sample(o, &last, NULL, 0, mx_secs(v, s->last_alert_ms));
    mx_sample(o, &dur, NULL, 0, mx_secs(v, s->scrape_ms));
}

char *metrics_format(const struct metrics_snapshot *snap, size_t *len)
{
    struct sbuf o;
    size_t nsimple = sizeof mx_simple_families / sizeof mx_simple_families[0];
    sbuf_init(&o);
    for (size_t i = 0; i < nsimple; i++)
        mx_simple(&o, snap, &mx_simple_families[i]);
    mx_errors(&o, snap);
    mx_sources(&o, snap);
    mx_trading(&o, snap);
    mx_scalars(&o, snap); /* always writes: the text is never empty */
    if (o.failed) {
        sbuf_free(&o);
        return NULL;
    }
    return sbuf_take(&o, len);
}

/* ---- gathering ------------------------------------------------------------------------------ */

struct mg {
    struct status_ctx ctx;
    struct metrics_snapshot *s;
    const char *only; /* the one account asked for, or NULL */
    char *err;
    size_t cap;
};

static int mg_fail(struct mg *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int mg_fail(struct mg *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g->err, g->cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* A command's reply, or NULL (with the reason in g->err) on a connection error or an error
 * reply such as NOPERM. */
static redisReply *mg_cmd(struct mg *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(g->ctx.c, fmt, ap);
    va_end(ap);
    if (!r) {
        mg_fail(g, "redis: %s", g->ctx.c->errstr[0] ? g->ctx.c->errstr : "no reply");
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        mg_fail(g, "redis: %.200s", r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

static int64_t mg_int(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
}

static int mg_copy(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n >= METRICS_NAME_MAX) return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

static struct metrics_role *mg_role(struct metrics_snapshot *s, const char *name)
{
    for (int i = 0; i < s->nroles; i++)
        if (!strcmp(s->roles[i].name, name)) return &s->roles[i];
    if (s->nroles == METRICS_ROLES_MAX || mg_copy(s->roles[s->nroles].name, name) < 0) return NULL;
    s->roles[s->nroles].last_success_age_ms = METRICS_NONE;
    return &s->roles[s->nroles++];
}

static struct metrics_ip *mg_ip(struct metrics_snapshot *s, const char *ip)
{
    for (int i = 0; i < s->nips; i++)
        if (!strcmp(s->ips[i].ip, ip)) return &s->ips[i];
    if (s->nips == METRICS_IPS_MAX || mg_copy(s->ips[s->nips].ip, ip) < 0) return NULL;
    s->ips[s->nips].budget = s->ips[s->nips].limit = -1;
    return &s->ips[s->nips++];
}

/* The account's entry (added when new), or NULL when it is not the one asked for or the table
 * is full. */
static struct metrics_account *mg_account(struct mg *g, const char *name)
{
    struct metrics_snapshot *s = g->s;
    if (g->only && strcmp(g->only, name)) return NULL;
    for (int i = 0; i < s->naccounts; i++)
        if (!strcmp(s->accounts[i].name, name)) return &s->accounts[i];
    if (s->naccounts == METRICS_ACCOUNTS_MAX || mg_copy(s->accounts[s->naccounts].name, name) < 0)
        return NULL;
    struct metrics_account *a = &s->accounts[s->naccounts++];
    for (int k = 0; k < METRICS_SOURCES; k++)
        a->source_age_ms[k] = METRICS_NONE;
    a->state = GATE_ACTIVE;
    return a;
}

static int64_t mg_max(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* An age in ms from `bfq status` (null or -1 there: unknown). */
static int64_t mg_age_ms(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) == -1) return METRICS_NONE;
    return (int64_t)json_integer_value(v);
}

/* The IP figures of a heartbeat that has a weight budget (roles that talk to the exchange). */
static void mg_hb_ip(struct mg *g, const json_t *hb)
{
    const char *ip = json_string_value(json_object_get(hb, "source_ip"));
    if (!ip || !json_is_integer(json_object_get(hb, "weight_budget"))) return;
    struct metrics_ip *p = mg_ip(g->s, ip);
    if (!p) return;
    p->used = mg_max(p->used, mg_int(hb, "ip_weight_minute"));
    p->budget = mg_max(p->budget, mg_int(hb, "weight_budget"));
    p->limit = mg_max(p->limit, mg_int(hb, "weight_limit"));
    if (mg_int(hb, "stopped_until") > g->ctx.now) p->stopped = 1;
}

static void mg_hb_gateway(struct mg *g, const json_t *hb, const char *role)
{
    const char *acct = json_string_value(json_object_get(hb, "account"));
    if (strcmp(role, "gateway") || !acct) return;
    struct metrics_account *a = mg_account(g, acct);
    if (!a) return;
    a->has_intents = 1;
    for (int k = 0; k < METRICS_OUTCOMES; k++)
        a->intents[k] += mg_max(0, mg_int(hb, mx_outcome_fields[k]));
}

static void mg_heartbeat(struct mg *g, const json_t *hb)
{
    const char *role = json_string_value(json_object_get(hb, "role"));
    struct metrics_role *r = role ? mg_role(g->s, role) : NULL;
    if (!r) return;
    const json_t *errs = json_object_get(hb, "errors");
    r->up++;
    r->requests += mg_max(0, mg_int(hb, "requests"));
    for (int k = 0; k < ROLE_ERR_COUNT; k++)
        r->errors[k] += mg_max(0, mg_int(errs, role_err_name(k)));
    int64_t ls = mg_age_ms(hb, "last_success_age_ms");
    if (ls != METRICS_NONE) r->last_success_age_ms = mg_max(r->last_success_age_ms, ls);
    mg_hb_ip(g, hb);
    mg_hb_gateway(g, hb, role);
}

static int mg_instances(struct mg *g)
{
    json_t *arr = status_instances(&g->ctx, g->err, g->cap), *hb;
    size_t i;
    if (!arr) return -1;
    json_array_foreach(arr, i, hb) mg_heartbeat(g, hb);
    json_decref(arr);
    return 0;
}

static void mg_age(struct metrics_snapshot *s, const char *kind, int64_t records, int64_t oldest,
                   int64_t median)
{
    if (s->nages == METRICS_AGES_MAX) return;
    struct metrics_age *a = &s->ages[s->nages];
    if (mg_copy(a->kind, kind) < 0) return;
    a->records = mg_max(0, records);
    a->oldest_ms = oldest;
    a->median_ms = median;
    s->nages++;
}

/* One kind of `bfq status`'s {"count","oldest_ms","median_ms"}. */
static void mg_ages(struct metrics_snapshot *s, const char *kind, const json_t *ages)
{
    mg_age(s, kind, mg_int(ages, "count"), mg_age_ms(ages, "oldest_ms"),
           mg_age_ms(ages, "median_ms"));
}

static int mg_data(struct mg *g)
{
    json_t *d = status_data(&g->ctx, g->err, g->cap), *ages, *hot;
    const char *iv;
    char kind[METRICS_NAME_MAX];
    if (!d) return -1;
    mg_ages(g->s, "ticks", json_object_get(d, "ticks"));
    json_object_foreach(json_object_get(d, "kline"), iv, ages)
    {
        snprintf(kind, sizeof kind, "kline_%s", iv);
        mg_ages(g->s, kind, ages);
    }
    hot = json_object_get(d, "hot");
    mg_age(g->s, "hot", mg_int(hot, "count"), mg_age_ms(hot, "age_ms"), mg_age_ms(hot, "age_ms"));
    json_decref(d);
    return 0;
}

/* Notional and uPnL of the open positions (from `bfq status`'s accounts section) at the books of
 * <prefix>ticks, read with one HMGET. */
static int mg_money(struct mg *g, struct metrics_account *a, json_t *pos)
{
    const char *argv[MX_POS_MAX + 2], *field;
    char syms[MX_POS_MAX][32];
    json_t *rec, *recs[MX_POS_MAX];
    char key[MX_KEY_MAX];
    size_t n = 0;
    snprintf(key, sizeof key, "%sticks", g->ctx.prefix);
    argv[0] = "HMGET";
    argv[1] = key;
    json_object_foreach(pos, field, rec)
    {
        size_t sl = strcspn(field, ":");
        if (n == MX_POS_MAX || sl == 0 || sl >= sizeof syms[0]) continue;
        memcpy(syms[n], field, sl);
        syms[n][sl] = '\0';
        recs[n] = rec;
        argv[n + 2] = syms[n];
        n++;
    }
    a->has_money = 1;
    if (n == 0) return 0;
    redisReply *r = redisCommandArgv(g->ctx.c, (int)n + 2, argv, NULL);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != n) {
        if (r) freeReplyObject(r);
        return mg_fail(g, "redis: reading %s failed", key);
    }
    for (size_t i = 0; i < n; i++) {
        json_t *t = r->element[i]->type == REDIS_REPLY_STRING
                        ? jv_parse(r->element[i]->str, r->element[i]->len, NULL, 0)
                        : NULL;
        struct dec amt, entry, bid, ask;
        if (t && jv_get_dec(recs[i], "amt", &amt, NULL, 0) == 0 &&
            jv_get_dec(recs[i], "entry", &entry, NULL, 0) == 0 &&
            jv_get_dec(t, "b", &bid, NULL, 0) == 0 && jv_get_dec(t, "a", &ask, NULL, 0) == 0) {
            /* |amt| * (mid - 0) is the notional: the breaker's own arithmetic */
            if (breaker_add_upnl(&a->upnl, amt, entry, bid, ask) < 0 ||
                breaker_add_upnl(&a->notional, dec_abs(amt), (struct dec){0, 0}, bid, ask) < 0)
                a->has_money = 0;
            a->priced++;
        }
        json_decref(t);
    }
    freeReplyObject(r);
    return 0;
}

static void mg_wallet(struct metrics_account *a, const json_t *bal)
{
    if (jv_get_dec(json_object_get(bal, "USDT"), "wallet", &a->wallet, NULL, 0) < 0) return;
    a->has_wallet = 1;
    a->has_equity = a->has_money && dec_add(a->wallet, a->upnl, &a->equity) == DEC_OK;
}

static int mg_one_account(struct mg *g, const char *name, json_t *acct)
{
    struct metrics_account *a = mg_account(g, name);
    json_t *pos = json_object_get(acct, "positions"), *src = json_object_get(acct, "sources");
    if (!a) return 0;
    a->positions = (int64_t)json_object_size(pos);
    a->open_orders = mg_max(0, mg_int(acct, "open_orders"));
    for (int k = 0; k < METRICS_SOURCES; k++)
        a->source_age_ms[k] = mg_age_ms(json_object_get(src, metrics_source_names[k]), "age_ms");
    if (mg_money(g, a, pos) < 0) return -1;
    mg_wallet(a, json_object_get(acct, "balances"));
    return 0;
}

static int mg_accounts(struct mg *g)
{
    json_t *all = status_accounts_collect(&g->ctx, g->err, g->cap), *acct;
    const char *name;
    int rc = 0;
    if (!all) return -1;
    json_object_foreach(all, name, acct)
    {
        rc = mg_one_account(g, name, acct);
        if (rc < 0) break;
    }
    json_decref(all);
    return rc;
}

static void mg_state_name(const char *key, void *privdata)
{
    struct mg *g = privdata;
    size_t pl = strlen(g->ctx.prefix) + strlen("risk:state:");
    if (strlen(key) > pl && key[pl]) (void)mg_account(g, key + pl);
}

/* Accounts that have a state but nothing else yet are shown too; then each one's state. */
static int mg_states(struct mg *g)
{
    char pattern[MX_KEY_MAX];
    snprintf(pattern, sizeof pattern, "%srisk:state:*", g->ctx.prefix);
    if (status_scan(&g->ctx, pattern, mg_state_name, g) < 0)
        return mg_fail(g, "redis: scanning %s failed", pattern);
    for (int i = 0; i < g->s->naccounts; i++) {
        struct metrics_account *a = &g->s->accounts[i];
        redisReply *r = mg_cmd(g, "HGET %srisk:state:%s state", g->ctx.prefix, a->name);
        enum gate_state st;
        if (!r) return -1;
        a->state = gate_state_parse(r->type == REDIS_REPLY_STRING ? r->str : NULL, &st) == 0
                       ? (int)st
                       : -1;
        freeReplyObject(r);
    }
    return 0;
}

static int mg_bans(struct mg *g)
{
    redisReply *r = mg_cmd(g, "HGET %srisk:ban symbols", g->ctx.prefix);
    if (!r) return -1;
    json_t *a = r->type == REDIS_REPLY_STRING ? jv_parse(r->str, r->len, NULL, 0) : NULL, *v;
    size_t i;
    g->s->bans = json_is_array(a) ? (int64_t)json_array_size(a) : 0;
    json_array_foreach(a, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), "ALL"))
        g->s->ban_all = 1;
    json_decref(a);
    freeReplyObject(r);
    return 0;
}

static int mg_alerts(struct mg *g)
{
    redisReply *n = mg_cmd(g, "XLEN %salerts", g->ctx.prefix);
    if (!n) return -1;
    g->s->alerts = n->type == REDIS_REPLY_INTEGER ? n->integer : 0;
    freeReplyObject(n);
    redisReply *r = mg_cmd(g, "XREVRANGE %salerts + - COUNT 1", g->ctx.prefix);
    if (!r) return -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements >= 1 &&
        r->element[0]->element[0]->type == REDIS_REPLY_STRING)
        g->s->last_alert_ms = strtoll(r->element[0]->element[0]->str, NULL, 10); /* "ms-seq" */
    freeReplyObject(r);
    return 0;
}

int metrics_gather(struct redisContext *c, const char *prefix, const char *account,
                   struct metrics_snapshot *snap, char *err, size_t cap)
{
    struct mg g = {
        {c, prefix, timebase_wall_ms()}, snap, account && account[0] ? account : NULL, err, cap};
    mono_ms_t t0 = timebase_mono_ms();
    memset(snap, 0, sizeof *snap);
    err[0] = '\0';
    if (g.only && !mg_account(&g, g.only)) return mg_fail(&g, "account name too long");
    if (mg_instances(&g) < 0 || mg_data(&g) < 0 || mg_accounts(&g) < 0 || mg_states(&g) < 0 ||
        mg_bans(&g) < 0 || mg_alerts(&g) < 0) {
        if (!err[0]) mg_fail(&g, "redis: %s", c->errstr[0] ? c->errstr : "failed");
        return -1;
    }
    if (c->err) return mg_fail(&g, "redis: %s", c->errstr);
    snap->scrape_ms = timebase_mono_ms() - t0;
    return 0;
}

char *metrics_render(struct redisContext *c, const char *prefix, size_t *len)
{
    char err[METRICS_ERR_MAX];
    struct metrics_snapshot *s = malloc(sizeof *s);
    char *text = NULL;
    if (s && metrics_gather(c, prefix, NULL, s, err, sizeof err) == 0)
        text = metrics_format(s, len);
    free(s);
    return text;
}

/* ---- bfq metrics ---------------------------------------------------------------------------- */

const struct cli_command metrics_cli = {
    .name = "metrics",
    .summary = "bfq's state in the Prometheus text format, once, on stdout",
    .usage = "With --account, only that account's families. For node_exporter's textfile\n"
             "collector: bfq metrics > bfq.prom.tmp && mv bfq.prom.tmp DIR/bfq.prom\n",
    .options = NULL,
    .role_options = 1,
    .keys = NULL, /* account is a role option; nothing else is read from [metrics] */
};

/* Gathers and prints; 0, or 1 with one line on stderr. */
static int metrics_print(redisContext *c, const char *prefix, const char *account)
{
    char err[METRICS_ERR_MAX];
    size_t len = 0;
    struct metrics_snapshot *s = malloc(sizeof *s);
    char *text = NULL;
    if (!s) {
        fprintf(stderr, "bfq metrics: out of memory\n");
        return 1;
    }
    if (metrics_gather(c, prefix, account, s, err, sizeof err) < 0) {
        fprintf(stderr, "bfq metrics: %s\n", err);
        free(s);
        return 1;
    }
    text = metrics_format(s, &len);
    free(s);
    if (!text || fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
        fprintf(stderr, "bfq metrics: %s\n", text ? "cannot write to stdout" : "out of memory");
        free(text);
        return 1;
    }
    free(text);
    return 0;
}

int metrics_main(int argc, char **argv)
{
    struct config *cfg = NULL;
    const char *url = NULL, *prefix = NULL, *account = NULL;
    char err[METRICS_ERR_MAX];
    enum cli_result cr = cli_parse(&metrics_cli, argc, argv, &cfg);
    if (cr != CLI_RUN) return cr == CLI_EXIT_OK ? 0 : 2;
    if (config_required(cfg, "redis", "url", &url) < 0 ||
        config_str(cfg, "redis", "prefix", "bfq:", &prefix) < 0 ||
        config_str(cfg, "metrics", "account", "", &account) < 0) {
        fprintf(stderr, "bfq metrics: %s\n", config_errstr(cfg));
        config_free(cfg);
        return 1;
    }
    redisContext *c = rblock_connect(url, MX_TIMEOUT_MS, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bfq metrics: %s\n", err);
        config_free(cfg);
        return 1;
    }
    int rc = metrics_print(c, prefix, account);
    redisFree(c);
    config_free(cfg);
    return rc;
}
