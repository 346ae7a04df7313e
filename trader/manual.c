/* manual: `bfq order`, `bfq cancel`, `bfq close`, `bfq leverage`: an operator's orders, through
 * the same path as every other order (intents to the gateway, class `mn`).
 *
 * Each command builds its intents (`close` reads the positions and the symbol filters and
 * splits each position into reduce-only MARKET parts of at most MARKET_LOT_SIZE maxQty),
 * appends them to <prefix>intents:<acct>, then reads <prefix>intent:<acct>:<id> until each
 * has a final outcome (or --timeout passes), prints one JSON line per intent and exits 0 when
 * every one was sent (or canceled, or done), 1 when any was denied, rejected, unknown or timed
 * out. An intent no gateway claimed by the deadline is claimed by the command itself as
 * abandoned, so that no gateway sends it later. It runs one libev loop with one Redis
 * connection (core/rconn). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <hiredis/hiredis.h>

#include "cli/commands.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/timebase.h"
#include "trader/book.h"
#include "trader/intent.h"
#include "trader/sizing.h"
#include "trader/trader.h"

#define MAN_MAX 64
#define MAN_KEY_MAX 256

enum man_cmd { MAN_ORDER, MAN_CANCEL, MAN_CLOSE, MAN_LEVERAGE };

struct man {
    enum man_cmd cmd;
    const char *name;
    struct ev_loop *loop;
    struct rconn *rc;
    struct config *cfg;
    const char *prefix, *account, *sym;
    int all;
    int64_t timeout_ms;
    struct intent in[MAN_MAX];
    int n, done[MAN_MAX], failed, finished, pending;
    int exit_code, started, abandons;
    ev_timer poll, deadline;
    char err[256];
};

static void man_key(const struct man *m, char *buf, const char *fmt, const char *a, const char *b)
{
    int n = snprintf(buf, MAN_KEY_MAX, "%s", m->prefix);
    snprintf(buf + n, MAN_KEY_MAX - (size_t)n, fmt, a, b);
}

static void man_stop(struct man *m, int code)
{
    m->exit_code = code;
    ev_break(m->loop, EVBREAK_ALL);
}

static void man_fail(struct man *m, const char *why)
{
    fprintf(stderr, "bfq %s: %s\n", m->name, why);
    man_stop(m, 1);
}

/* ---- waiting for the outcomes ------------------------------------------------------------- */

static void man_on_outcome(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct man *m = privdata;
    (void)rc;
    m->pending--;
    for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        if (m->done[i] || e->type != REDIS_REPLY_STRING) continue;
        json_t *o = json_loads(e->str, 0, NULL);
        const char *st = json_string_value(json_object_get(o, "status"));
        if (st && strcmp(st, "claimed")) {
            m->done[i] = 1;
            m->finished++;
            if (strcmp(st, "sent") && strcmp(st, "canceled") && strcmp(st, "ok")) m->failed++;
            puts(e->str);
            fflush(stdout);
        }
        json_decref(o);
    }
    if (m->finished == m->n) man_stop(m, m->failed ? 1 : 0);
}

static void man_on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct man *m = w->data;
    const char *argv[MAN_MAX + 1];
    char keys[MAN_MAX][MAN_KEY_MAX];
    (void)loop;
    (void)revents;
    if (m->pending) return;
    argv[0] = "MGET";
    for (int i = 0; i < m->n; i++) {
        char acct_id[MAN_KEY_MAX];
        snprintf(acct_id, sizeof acct_id, "%s:%s", m->account, m->in[i].id);
        man_key(m, keys[i], "intent:%s%s", acct_id, "");
        argv[i + 1] = keys[i];
    }
    if (rconn_command_argv(m->rc, man_on_outcome, m, m->n + 1, argv, NULL) == 0) m->pending++;
}

static void man_on_abandon(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct man *m = privdata;
    (void)rc;
    (void)reply;
    if (--m->abandons > 0) return;
    man_fail(m, "no outcome from a gateway in time (is `bfq gateway` running?)");
}

/* Past the deadline: every intent no gateway claimed yet is claimed here as abandoned (SET
 * NX), so that a gateway starting later drops it instead of sending what the operator was
 * told had failed. One already claimed is left to its gateway. */
static void man_on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct man *m = w->data;
    char key[MAN_KEY_MAX], acct_id[MAN_KEY_MAX], val[256];
    (void)loop;
    (void)revents;
    ev_timer_stop(m->loop, &m->poll);
    for (int i = 0; i < m->n; i++) {
        if (m->done[i]) continue;
        printf("{\"id\":\"%s\",\"status\":\"timeout\"}\n", m->in[i].id);
        snprintf(acct_id, sizeof acct_id, "%s:%s", m->account, m->in[i].id);
        man_key(m, key, "intent:%s%s", acct_id, "");
        snprintf(val, sizeof val,
                 "{\"id\":\"%s\",\"status\":\"denied\",\"msg\":\"ABANDONED: no gateway "
                 "answered in time\",\"by\":\"%s\",\"t\":%lld}",
                 m->in[i].id, m->name, (long long)timebase_wall_ms());
        if (rconn_command(m->rc, man_on_abandon, m, "SET %s %s NX PX 86400000", key, val) == 0)
            m->abandons++;
    }
    if (m->abandons == 0)
        man_fail(m, "no outcome from a gateway in time (is `bfq gateway` running?)");
}

/* ---- sending the intents ------------------------------------------------------------------ */

static void man_send(struct man *m)
{
    char stream[MAN_KEY_MAX], buf[2048];
    const char *argv[4 + INTENT_FIELDS_MAX];
    if (m->n == 0) {
        fprintf(stderr, "bfq %s: nothing to do\n", m->name);
        man_stop(m, 0);
        return;
    }
    man_key(m, stream, "intents:%s%s", m->account, "");
    for (int i = 0; i < m->n; i++) {
        argv[0] = "XADD";
        argv[1] = stream;
        argv[2] = "*";
        int k = intent_to_fields(&m->in[i], argv + 3, buf, sizeof buf);
        if (k < 0 || rconn_command_argv(m->rc, NULL, NULL, 3 + k, argv, NULL) < 0) {
            man_fail(m, "cannot append the intent (Redis down?)");
            return;
        }
    }
    ev_timer_init(&m->poll, man_on_poll, 0.1, 0.1);
    m->poll.data = m;
    ev_timer_start(m->loop, &m->poll);
}

static struct intent *man_new(struct man *m, const char *sym)
{
    if (m->n >= MAN_MAX) return NULL;
    struct intent *in = &m->in[m->n];
    memset(in, 0, sizeof(*in));
    snprintf(in->id, sizeof in->id, "m%lld-%d-%d", (long long)timebase_wall_ms(), (int)getpid(),
             m->n);
    snprintf(in->sym, sizeof in->sym, "%s", sym);
    memcpy(in->cls, "mn", 3);
    snprintf(in->src, sizeof in->src, "manual");
    in->t = timebase_wall_ms();
    m->n++;
    return in;
}

/* ---- close: positions and filters --------------------------------------------------------- */

struct man_pos {
    struct man *m;
    char sym[BOOK_SYM_MAX];
    struct dec amt;
};

static void man_on_filters(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct man_pos *p = privdata;
    struct man *m = p->m;
    const char *kv[64];
    size_t n = 0;
    struct dec_filters f;
    struct size_plan plan;
    (void)rc;
    memset(&plan, 0, sizeof plan);
    m->pending--;
    for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements && n < 64;
         i++)
        kv[n++] = reply->element[i]->str ? reply->element[i]->str : "";
    if (book_parse_filters(kv, n, &f, NULL, 0) < 0 ||
        size_qty(&f, p->amt, dec_from_int(1), 1, 1, &plan) != SIZE_OK) {
        fprintf(stderr, "bfq close: %s: cannot size the close\n", p->sym);
        m->failed++;
    }
    for (int i = 0; i < plan.parts; i++) {
        struct intent *in = man_new(m, p->sym);
        if (!in) break;
        in->op = INTENT_ORDER;
        in->side = dec_sign(p->amt) > 0 ? INTENT_SELL : INTENT_BUY;
        in->type = INTENT_MARKET;
        in->reduce = 1;
        in->has_qty = 1;
        in->qty = plan.qty[i];
    }
    free(p);
    if (m->pending == 0) man_send(m);
}

static void man_on_positions(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct man *m = privdata;
    char key[MAN_KEY_MAX];
    (void)rc;
    for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements;
         i += 2) {
        const char *field = reply->element[i]->str, *colon = strchr(field, ':');
        json_t *v = json_loads(reply->element[i + 1]->str, 0, NULL);
        struct dec amt;
        size_t len = colon ? (size_t)(colon - field) : 0;
        if (colon && !strcmp(colon + 1, "BOTH") && len < BOOK_SYM_MAX &&
            jv_get_dec(v, "amt", &amt, NULL, 0) == 0 && !dec_is_zero(amt) &&
            (m->all || (strlen(m->sym) == len && !strncmp(field, m->sym, len)))) {
            struct man_pos *p = calloc(1, sizeof(*p));
            if (p) {
                p->m = m;
                memcpy(p->sym, field, len);
                p->amt = amt;
                man_key(m, key, "symbol:%s%s", p->sym, "");
                if (rconn_command(m->rc, man_on_filters, p, "HGETALL %s", key) == 0)
                    m->pending++;
                else
                    free(p);
            }
        }
        json_decref(v);
    }
    if (m->pending == 0) man_send(m);
}

/* ---- building each command's intents ------------------------------------------------------ */

static int man_dec(struct man *m, const char *key, struct dec *out, int *has)
{
    const char *v = config_get(m->cfg, m->name, key);
    *has = 0;
    if (!v) return 0;
    if (dec_parse(v, (size_t)-1, out) != DEC_OK || dec_sign(*out) <= 0) {
        snprintf(m->err, sizeof m->err, "--%s: '%s' is not a positive decimal", key, v);
        return -1;
    }
    *has = 1;
    return 0;
}

static int man_build_order(struct man *m)
{
    const char *side = NULL;
    int maker = 0, reduce = 0;
    struct intent *in = man_new(m, m->sym);
    if (config_required(m->cfg, m->name, "side", &side) < 0 ||
        config_bool(m->cfg, m->name, "maker", 0, &maker) < 0 ||
        config_bool(m->cfg, m->name, "reduce", 0, &reduce) < 0) {
        snprintf(m->err, sizeof m->err, "%s", config_errstr(m->cfg));
        return -1;
    }
    in->op = INTENT_ORDER;
    if (strcmp(side, "BUY") && strcmp(side, "SELL")) {
        snprintf(m->err, sizeof m->err, "--side: BUY or SELL");
        return -1;
    }
    in->side = strcmp(side, "BUY") ? INTENT_SELL : INTENT_BUY;
    in->reduce = reduce;
    if (man_dec(m, "qty", &in->qty, &in->has_qty) < 0 ||
        man_dec(m, "notional", &in->notional, &in->has_notional) < 0 ||
        man_dec(m, "price", &in->price, &in->has_price) < 0)
        return -1;
    if (in->has_qty == in->has_notional) {
        snprintf(m->err, sizeof m->err, "give exactly one of --qty and --notional");
        return -1;
    }
    in->type = (maker || in->has_price) ? INTENT_LIMIT : INTENT_MARKET;
    if (maker) {
        in->tif = INTENT_GTX;
        in->book = !in->has_price;
        in->reprice = 2;
        in->fallback_taker = 1;
    }
    return 0;
}

static int man_build(struct man *m)
{
    const char *v = NULL;
    if (m->cmd == MAN_ORDER) return man_build_order(m);
    if (m->cmd == MAN_CANCEL) {
        struct intent *in = man_new(m, m->sym);
        v = config_get(m->cfg, m->name, "client_id");
        in->op = v ? INTENT_CANCEL : INTENT_CANCEL_ALL;
        if (v) snprintf(in->orig, sizeof in->orig, "%s", v);
        return 0;
    }
    if (m->cmd == MAN_LEVERAGE) {
        int64_t lev = 0;
        struct intent *in = man_new(m, m->sym);
        if (config_int(m->cfg, m->name, "leverage", 0, 1, 125, &lev) < 0 || !lev) {
            snprintf(m->err, sizeof m->err, "--leverage: 1..125 required");
            return -1;
        }
        in->op = INTENT_LEVERAGE;
        in->leverage = (int)lev;
    }
    return 0;
}

static void man_on_up(struct rconn *rc, void *privdata)
{
    struct man *m = privdata;
    char key[MAN_KEY_MAX];
    if (m->started++) return; /* a reconnect: the intents are already on their way */
    if (m->cmd != MAN_CLOSE) {
        man_send(m);
        return;
    }
    man_key(m, key, "acct:%s:pos%s", m->account, "");
    if (rconn_command(rc, man_on_positions, m, "HGETALL %s", key) < 0) man_fail(m, "Redis down");
}

static int man_run(struct man *m, const struct cli_command *cmd, int argc, char **argv)
{
    const char *url = NULL;
    char err[RCONN_ERR_MAX] = "";
    enum cli_result cr = cli_parse(cmd, argc, argv, &m->cfg);
    if (cr != CLI_RUN) return cr == CLI_EXIT_OK ? 0 : 2;
    log_init(m->name, LOG_LEVEL_WARN);
    m->exit_code = 1;
    int bad =
        config_required(m->cfg, "redis", "url", &url) < 0 ||
        config_str(m->cfg, "redis", "prefix", "bfq:", &m->prefix) < 0 ||
        config_str(m->cfg, m->name, "account", "main", &m->account) < 0 ||
        config_duration_ms(m->cfg, m->name, "timeout", 20000, 100, 600000, &m->timeout_ms) < 0 ||
        config_bool(m->cfg, m->name, "all", 0, &m->all) < 0;
    if (!bad) m->sym = config_get(m->cfg, m->name, "sym");
    if (bad) {
        fprintf(stderr, "bfq %s: %s\n", m->name, config_errstr(m->cfg));
    } else if (!m->sym && !(m->cmd == MAN_CLOSE && m->all)) {
        fprintf(stderr, "bfq %s: --sym SYMBOL is required\n", m->name);
        bad = 2;
    } else if (man_build(m) < 0) {
        fprintf(stderr, "bfq %s: %s\n", m->name, m->err);
        bad = 2;
    }
    if (bad) {
        config_free(m->cfg);
        return bad == 2 ? 2 : 1;
    }
    m->loop = ev_default_loop(0);
    struct rconn_options ro = {.url = url, .name = m->name};
    struct rconn_callbacks cb = {.up = man_on_up, .privdata = m};
    m->rc = rconn_new(m->loop, &ro, &cb, err, sizeof err);
    if (m->rc) {
        ev_timer_init(&m->deadline, man_on_deadline, (double)m->timeout_ms / 1000.0, 0.0);
        m->deadline.data = m;
        ev_timer_start(m->loop, &m->deadline);
        ev_run(m->loop, 0);
        ev_timer_stop(m->loop, &m->deadline);
        ev_timer_stop(m->loop, &m->poll);
        rconn_free(m->rc);
        ev_run(m->loop, EVRUN_NOWAIT);
    } else {
        fprintf(stderr, "bfq %s: [redis] url: %s\n", m->name, err);
    }
    config_free(m->cfg);
    return m->exit_code;
}

/* ---- the four commands -------------------------------------------------------------------- */

#define MAN_COMMON                                                                                 \
    {"sym", "SYMBOL", NULL, NULL, "the symbol", 0},                                                \
    {                                                                                              \
        "timeout", "DURATION", NULL, NULL, "wait this long for the outcome (default 20s)", 0       \
    }

static const struct cli_option order_options[] = {
    MAN_COMMON,
    {"side", "SIDE", NULL, NULL, "BUY or SELL", 0},
    {"qty", "QTY", NULL, NULL, "quantity", 0},
    {"notional", "USDT", NULL, NULL, "notional, sized by the gateway at the book", 0},
    {"price", "PRICE", NULL, NULL, "LIMIT GTC at this price (default: MARKET)", 0},
    {"maker", NULL, NULL, NULL, "LIMIT GTX at the book, re-priced twice, then taker", 0},
    {"reduce", NULL, NULL, NULL, "reduce-only", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
static const struct cli_option cancel_options[] = {
    MAN_COMMON,
    {"client-id", "CID", NULL, "client_id",
     "the order's client id (default: every order of SYMBOL)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
static const struct cli_option close_options[] = {
    MAN_COMMON,
    {"all", NULL, NULL, NULL, "every position of the account", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};
static const struct cli_option leverage_options[] = {
    MAN_COMMON,
    {"leverage", "N", NULL, NULL, "1..125", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command order_cli = {
    .name = "order",
    .summary = "open or close by notional or quantity, market or maker (through the gateway)",
    .options = order_options,
    .role_options = 1,
};
const struct cli_command cancel_cli = {
    .name = "cancel",
    .summary = "cancel one order, or every order of a symbol (through the gateway)",
    .options = cancel_options,
    .role_options = 1,
};
const struct cli_command close_cli = {
    .name = "close",
    .summary = "close a symbol or every position: reduce-only MARKET split by maxQty",
    .options = close_options,
    .role_options = 1,
};
const struct cli_command leverage_cli = {
    .name = "leverage",
    .summary = "set a symbol's leverage (through the gateway)",
    .options = leverage_options,
    .role_options = 1,
};

static int man_main(enum man_cmd cmd, const struct cli_command *cli, int argc, char **argv)
{
    struct man *m = calloc(1, sizeof(*m));
    if (!m) return 1;
    m->cmd = cmd;
    m->name = cli->name;
    int rc = man_run(m, cli, argc, argv);
    free(m);
    return rc;
}

int order_main(int argc, char **argv)
{
    return man_main(MAN_ORDER, &order_cli, argc, argv);
}
int cancel_main(int argc, char **argv)
{
    return man_main(MAN_CANCEL, &cancel_cli, argc, argv);
}
int close_main(int argc, char **argv)
{
    return man_main(MAN_CLOSE, &close_cli, argc, argv);
}
int leverage_main(int argc, char **argv)
{
    return man_main(MAN_LEVERAGE, &leverage_cli, argc, argv);
}
