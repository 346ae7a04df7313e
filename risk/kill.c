/* kill: `bfq kill` and `bfq resume`, the kill switch of an account.
 *
 * `bfq kill --reason TEXT [--flatten]` sets <prefix>risk:state:<acct> to HALTED (riskio: the
 * state hash, an alert, a message on <prefix>ch:risk); the state lives in Redis, so it holds
 * across restarts of every process, and every order path reads it before it sends (the
 * gateway denies all but cancels and the risk processes' reduce-only closes). With --flatten
 * it then appends, as class `kl` intents for the gateway: cancel_all for every symbol with an
 * open order or a position, cancel_algo for every open algo order of <prefix>acct:<acct>:orders
 * (fields SYM:algo:<clientAlgoId>), and reduce-only MARKET closes of
 * every one-way position in parts of at most marketMaxQty (trader/sizing); it waits until each has
 * a final outcome
 * (--timeout, 30 s) and exits 0 when all went through, 1 otherwise.
 * `bfq resume --reason TEXT` sets ACTIVE.
 *
 * One libev loop, one Redis connection (core/rconn), user `risk`. */
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
#include "risk/risk.h"
#include "risk/riskio.h"
#include "trader/book.h"
#include "trader/intent.h"
#include "trader/sizing.h"

#define KL_MAX 256
#define KL_KEY_MAX 256

struct kl_pos {
    char sym[BOOK_SYM_MAX];
    struct dec amt;
};

struct kl {
    struct ev_loop *loop;
    struct rconn *rc;
    const char *name, *prefix, *account, *reason, *state;
    char src[160];
    int flatten, exit_code, started, phase, pending;
    int64_t timeout_ms;
    struct kl_pos pos[KL_MAX];
    int npos;
    char syms[KL_MAX][BOOK_SYM_MAX]; /* symbols to cancel_all */
    int nsyms;
    struct intent in[KL_MAX];
    int n, done[KL_MAX], finished, failed;
    ev_timer poll, deadline;
};

static void kl_stop(struct kl *k, int code)
{
    k->exit_code = code;
    ev_break(k->loop, EVBREAK_ALL);
}

static void kl_fail(struct kl *k, const char *why)
{
    fprintf(stderr, "bfq %s: %s\n", k->name, why);
    kl_stop(k, 1);
}

static void kl_add_sym(struct kl *k, const char *sym)
{
    for (int i = 0; i < k->nsyms; i++)
        if (!strcmp(k->syms[i], sym)) return;
    if (k->nsyms < KL_MAX) snprintf(k->syms[k->nsyms++], BOOK_SYM_MAX, "%s", sym);
}

static struct intent *kl_intent(struct kl *k, enum intent_op op, const char *sym)
{
    if (k->n == KL_MAX) return NULL;
    struct intent *in = &k->in[k->n++];
    memset(in, 0, sizeof *in);
    in->op = op;
    snprintf(in->sym, sizeof in->sym, "%s", sym);
    snprintf(in->cls, sizeof in->cls, "kl");
    snprintf(in->src, sizeof in->src, "%.63s", k->src);
    risk_new_id("k", in->id);
    return in;
}

/* ---- waiting for the outcomes ------------------------------------------------------------- */

static void kl_on_outcome(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct kl *k = privdata;
    (void)rc;
    k->pending = 0;
    for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        if (k->done[i] || e->type != REDIS_REPLY_STRING) continue;
        json_t *o = json_loads(e->str, 0, NULL);
        const char *st = json_string_value(json_object_get(o, "status"));
        if (st && strcmp(st, "claimed")) {
            k->done[i] = 1;
            k->finished++;
            /* an algo order already gone (-2011) is as good as cancelled */
            int gone = k->in[i].op == INTENT_CANCEL_ALGO &&
                       json_integer_value(json_object_get(o, "code")) == -2011;
            if (strcmp(st, "sent") && strcmp(st, "canceled") && strcmp(st, "ok") && !gone)
                k->failed++;
            puts(e->str);
            fflush(stdout);
        }
        json_decref(o);
    }
    if (k->finished == k->n) kl_stop(k, k->failed ? 1 : 0);
}

static void kl_on_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct kl *k = w->data;
    const char *argv[KL_MAX + 1];
    static char keys[KL_MAX][KL_KEY_MAX];
    (void)loop;
    (void)revents;
    if (k->pending) return;
    argv[0] = "MGET";
    for (int i = 0; i < k->n; i++) {
        snprintf(keys[i], KL_KEY_MAX, "%sintent:%s:%s", k->prefix, k->account, k->in[i].id);
        argv[i + 1] = keys[i];
    }
    if (rconn_command_argv(k->rc, kl_on_outcome, k, k->n + 1, argv, NULL) == 0) k->pending = 1;
}

static void kl_on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct kl *k = w->data;
    (void)loop;
    (void)revents;
    for (int i = 0; i < k->n; i++)
        if (!k->done[i]) printf("{\"id\":\"%s\",\"status\":\"timeout\"}\n", k->in[i].id);
    kl_fail(k, "not every flatten intent has an outcome in time (is `bfq gateway` running?)");
}

/* ---- flattening ------------------------------------------------------------------------------ */

static void kl_on_appended(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct kl *k = privdata;
    (void)rc;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        kl_fail(k, reply ? reply->str : "Redis went down");
        return;
    }
    if (--k->pending > 0) return;
    ev_timer_init(&k->poll, kl_on_poll, 0.2, 0.2);
    k->poll.data = k;
    ev_timer_start(k->loop, &k->poll);
}

/* The closes of one position, once its filters are read. */
static void kl_closes(struct kl *k, const struct kl_pos *p, const redisReply *filters)
{
    struct dec_filters f;
    struct size_plan plan;
    const char *kv[128];
    char err[128];
    size_t n = filters->elements < 128 ? filters->elements : 128;
    for (size_t i = 0; i < n; i++)
        kv[i] = filters->element[i]->str ? filters->element[i]->str : "";
    if (book_parse_filters(kv, n, &f, err, sizeof err) < 0 ||
        size_qty(&f, p->amt, dec_from_int(1), 1, 1, &plan) != SIZE_OK) {
        fprintf(stderr, "bfq %s: %s: position not closable here: %s\n", k->name, p->sym, err);
        k->failed++;
        return;
    }
    for (int i = 0; i < plan.parts; i++) {
        struct intent *in = kl_intent(k, INTENT_ORDER, p->sym);
        if (!in) return;
        in->type = INTENT_MARKET;
        in->side = dec_sign(p->amt) > 0 ? INTENT_SELL : INTENT_BUY;
        in->has_qty = 1;
        in->qty = plan.qty[i];
        in->reduce = 1;
    }
}

static void kl_send_all(struct kl *k)
{
    if (k->n == 0) {
        printf("{\"status\":\"flat\",\"msg\":\"no position and no open order\"}\n");
        kl_stop(k, k->failed ? 1 : 0);
        return;
    }
    k->pending = 0;
    for (int i = 0; i < k->n; i++)
        if (risk_intent(k->rc, k->prefix, k->account, &k->in[i], kl_on_appended, k) == 0)
            k->pending++;
    if (k->pending < k->n) {
        kl_fail(k, "Redis went down while appending intents");
        return;
    }
    double t = (double)k->timeout_ms / 1000.0;
    ev_timer_init(&k->deadline, kl_on_deadline, t, 0);
    k->deadline.data = k;
    ev_timer_start(k->loop, &k->deadline);
}

static void kl_on_filters(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct kl *k = privdata;
    (void)rc;
    int i = k->phase++;
    if (reply && reply->type == REDIS_REPLY_ARRAY) kl_closes(k, &k->pos[i], reply);
    if (k->phase == k->npos) kl_send_all(k);
}

static void kl_on_orders(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct kl *k = privdata;
    char key[KL_KEY_MAX];
    (void)rc;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        kl_fail(k, "cannot read the open orders");
        return;
    }
    for (size_t i = 0; i + 1 < reply->elements; i += 2) {
        char sym[INTENT_SYM_MAX];
        const char *cid;
        int algo;
        if (risk_order_field(reply->element[i]->str, sym, &cid, &algo) < 0) continue;
        if (algo) {
            struct intent *in = kl_intent(k, INTENT_CANCEL_ALGO, sym);
            if (in) snprintf(in->orig, sizeof in->orig, "%s", cid);
        } else {
            kl_add_sym(k, sym);
        }
    }
    for (int i = 0; i < k->npos; i++)
        kl_add_sym(k, k->pos[i].sym);
    for (int i = 0; i < k->nsyms; i++)
        (void)kl_intent(k, INTENT_CANCEL_ALL, k->syms[i]);
    k->phase = 0;
    if (k->npos == 0) {
        kl_send_all(k);
        return;
    }
    for (int i = 0; i < k->npos; i++) {
        snprintf(key, sizeof key, "%ssymbol:%s", k->prefix, k->pos[i].sym);
        if (rconn_command(k->rc, kl_on_filters, k, "HGETALL %s", key) < 0) {
            kl_fail(k, "Redis went down");
            return;
        }
    }
}

static void kl_on_positions(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct kl *k = privdata;
    char key[KL_KEY_MAX];
    (void)rc;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        kl_fail(k, "cannot read the positions");
        return;
    }
    for (size_t i = 0; i + 1 < reply->elements && k->npos < KL_MAX; i += 2) {
        const char *f = reply->element[i]->str, *c = f ? strchr(f, ':') : NULL;
        json_t *j = json_loads(reply->element[i + 1]->str, 0, NULL);
        struct kl_pos *p = &k->pos[k->npos];
        if (c && !strcmp(c, ":BOTH") && (size_t)(c - f) < sizeof p->sym && j &&
            jv_get_dec(j, "amt", &p->amt, NULL, 0) == 0 && !dec_is_zero(p->amt)) {
            snprintf(p->sym, sizeof p->sym, "%.*s", (int)(c - f), f);
            k->npos++;
        }
        json_decref(j);
    }
    snprintf(key, sizeof key, "%sacct:%s:orders", k->prefix, k->account);
    if (rconn_command(k->rc, kl_on_orders, k, "HGETALL %s", key) < 0) kl_fail(k, "Redis went down");
}

/* ---- the state ------------------------------------------------------------------------------- */

static void kl_on_state(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct kl *k = privdata;
    char key[KL_KEY_MAX];
    (void)rc;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        kl_fail(k, reply ? reply->str : "Redis went down");
        return;
    }
    printf("{\"account\":\"%s\",\"state\":\"%s\"}\n", k->account, k->state);
    fflush(stdout);
    log_info("trading state set", "account=%s state=%s reason=\"%s\"", k->account, k->state,
             k->reason);
    if (!k->flatten) {
        kl_stop(k, 0);
        return;
    }
    snprintf(key, sizeof key, "%sacct:%s:pos", k->prefix, k->account);
    if (rconn_command(k->rc, kl_on_positions, k, "HGETALL %s", key) < 0)
        kl_fail(k, "Redis went down");
}

static void kl_up(struct rconn *rc, void *privdata)
{
    struct kl *k = privdata;
    if (k->started) return;
    k->started = 1;
    if (risk_set_state(rc, k->prefix, k->account, k->state, k->reason, k->src, kl_on_state, k) < 0)
        kl_fail(k, "Redis went down");
}

static void kl_on_give_up(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct kl *k = w->data;
    (void)loop;
    (void)revents;
    if (!k->started) kl_fail(k, "Redis did not answer in time");
}

static int kl_run(const struct cli_command *cmd, const char *state, int argc, char **argv)
{
    struct config *cfg = NULL;
    enum cli_result cr = cli_parse(cmd, argc, argv, &cfg);
    if (cr != CLI_RUN) return cr == CLI_EXIT_OK ? 0 : 2;
    struct kl *k = calloc(1, sizeof *k);
    const char *url = NULL;
    char err[RCONN_ERR_MAX] = "", inst[128];
    int code = 1;
    if (!k) goto out;
    k->name = cmd->name;
    k->state = state;
    k->loop = EV_DEFAULT;
    log_init(cmd->name, LOG_LEVEL_INFO); /* every change of state is logged */
    k->prefix = config_get(cfg, "redis", "prefix");
    if (!k->prefix) k->prefix = "bfq:";
    k->account = config_get(cfg, cmd->name, "account");
    if (!k->account) k->account = "main";
    k->reason = config_get(cfg, cmd->name, "reason");
    if (config_bool(cfg, cmd->name, "flatten", 0, &k->flatten) < 0 ||
        config_duration_ms(cfg, cmd->name, "timeout", 30000, 100, 3600000, &k->timeout_ms) < 0 ||
        config_required(cfg, "redis", "url", &url) < 0) {
        fprintf(stderr, "bfq %s: %s\n", cmd->name, config_errstr(cfg));
        goto out;
    }
    if (!k->reason || !k->reason[0]) {
        fprintf(stderr, "bfq %s: --reason TEXT is required\n", cmd->name);
        code = 2;
        goto out;
    }
    cli_instance(cfg, cmd->name, inst, sizeof inst);
    snprintf(k->src, sizeof k->src, "%s:%s", cmd->name, inst);
    struct rconn_options ro = {.url = url, .name = k->src};
    struct rconn_callbacks cb = {.up = kl_up, .privdata = k};
    k->rc = rconn_new(k->loop, &ro, &cb, err, sizeof err);
    if (!k->rc) {
        fprintf(stderr, "bfq %s: [redis] url: %s\n", cmd->name, err);
        goto out;
    }
    ev_timer give_up;
    ev_timer_init(&give_up, kl_on_give_up, 10.0, 0);
    give_up.data = k;
    ev_timer_start(k->loop, &give_up);
    k->exit_code = 1;
    ev_run(k->loop, 0);
    ev_timer_stop(k->loop, &give_up);
    ev_timer_stop(k->loop, &k->poll);
    ev_timer_stop(k->loop, &k->deadline);
    code = k->exit_code;
    rconn_free(k->rc);
    ev_run(k->loop, EVRUN_NOWAIT);
out:
    free(k);
    config_free(cfg);
    return code;
}

static const struct cli_option kill_options[] = {
    {"reason", "TEXT", NULL, NULL, "why (logged, published, alerted; required)", 0},
    {"flatten", NULL, NULL, NULL, "also cancel every order and close every position", 0},
    {"timeout", "DURATION", NULL, NULL, "wait this long for the flatten outcomes (30s)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

static const struct cli_option resume_options[] = {
    {"reason", "TEXT", NULL, NULL, "why (logged, published, alerted; required)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command kill_cli = {
    .name = "kill",
    .summary = "the kill switch: trading state HALTED, optionally flatten everything",
    .usage = "Sets bfq:risk:state:<acct> HALTED (kept across restarts); --flatten cancels every\n"
             "open and algo order and closes every position reduce-only (class kl, via the "
             "gateway).\n",
    .options = kill_options,
    .keys = NULL, /* every [kill] key is an option */
    .role_options = 1,
};

const struct cli_command resume_cli = {
    .name = "resume",
    .summary = "trading state ACTIVE again after bfq kill",
    .usage = NULL,
    .options = resume_options,
    .keys = NULL, /* every [resume] key is an option */
    .role_options = 1,
};

int kill_main(int argc, char **argv)
{
    return kl_run(&kill_cli, "HALTED", argc, argv);
}

int resume_main(int argc, char **argv)
{
    return kl_run(&resume_cli, "ACTIVE", argc, argv);
}
