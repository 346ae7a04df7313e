/* test_trader_status: `bfq status` shows the trading half as it really is.
 *
 * A demo trader (thresholds that open on every symbol) and a gateway run against `bfq sim`
 * and redis-server with the collectors; a few intents are appended by hand (one twice, one
 * malformed, one expired). Once the collectors are stopped (every symbol goes stale, so the
 * strategy is asked no more and the figures stop moving), the text `bfq status` prints is
 * compared with what is really in Redis: the trading state of the account, the trader's
 * symbols watched (the universe), stale symbols, signals and intents (the stream entries it
 * appended), and the gateway's intents (the stream's length), sent (outcomes), duplicates
 * (entries beyond the distinct ids), denied by reason (outcomes) and pending (XPENDING). */
#include <sys/wait.h>

#include "tests/integration/test_trader_util.h"

struct real {
    long long entries, by_trader, distinct, sent, denied, rejected, unknown, pending;
    long long invalid_denials, expired_denials;
};

static int hb_has(void *arg)
{
    const char **a = arg;
    char *s = cu_str("GET bfq:hb:%s:%s", a[0], a[1]);
    free(s);
    return s != NULL;
}

static int trader_emitted(void *arg)
{
    (void)arg;
    return tt_hb("trader", "t1", "emitted") > 0;
}

/* Every distinct intent id of the stream has a final outcome; fills r. */
static int all_final(void *arg)
{
    struct real *r = arg;
    redisReply *x = cu_cmd("XRANGE bfq:intents:main - +");
    int ok = x && x->type == REDIS_REPLY_ARRAY;
    json_t *ids = json_object();
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; ok && i < x->elements; i++) {
        const redisReply *f = x->element[i]->element[1];
        const char *id = NULL, *src = NULL;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (!strcmp(f->element[k]->str, "id")) id = f->element[k + 1]->str;
            if (!strcmp(f->element[k]->str, "src")) src = f->element[k + 1]->str;
        }
        r->entries++;
        if (src && !strcmp(src, "trader:t1")) r->by_trader++;
        if (id) json_object_set_new(ids, id, json_true());
    }
    if (x) freeReplyObject(x);
    r->distinct = (long long)json_object_size(ids);
    const char *id;
    json_t *v;
    json_object_foreach(ids, id, v)
    {
        char *s = cu_str("GET bfq:intent:main:%s", id);
        json_t *o = s ? json_loads(s, 0, NULL) : NULL;
        free(s);
        const char *st = json_string_value(json_object_get(o, "status"));
        const char *msg = json_string_value(json_object_get(o, "msg"));
        if (!st || !strcmp(st, "claimed"))
            ok = 0;
        else if (!strcmp(st, "sent") || !strcmp(st, "canceled") || !strcmp(st, "ok"))
            r->sent++;
        else if (!strcmp(st, "denied")) {
            r->denied++;
            r->invalid_denials += msg && !strncmp(msg, "INVALID:", 8);
            r->expired_denials += msg && !strcmp(msg, "INTENT_EXPIRED");
        } else if (!strcmp(st, "rejected"))
            r->rejected++;
        else
            r->unknown++;
        json_decref(o);
    }
    json_decref(ids);
    redisReply *p = cu_cmd("XPENDING bfq:intents:main gateway");
    r->pending = p && p->type == REDIS_REPLY_ARRAY && p->elements > 0 ? p->element[0]->integer : -1;
    if (p) freeReplyObject(p);
    return ok && r->pending == 0;
}

/* The heartbeat says what Redis says: its counters caught up (rewritten every second). */
static int hb_caught_up(void *arg)
{
    const struct real *r = arg;
    return tt_hb("gateway", "g1", "intents") == r->entries &&
           tt_hb("gateway", "g1", "pending") == 0 && tt_hb("trader", "t1", "stale") > 0 &&
           tt_hb("trader", "t1", "stale") == tt_hb("trader", "t1", "watched");
}

/* The line of the status text that starts (after spaces) with word, or NULL. */
static const char *line_of(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        const char *q = p;
        while (*q == ' ')
            q++;
        if (!strncmp(q, word, n) && q[n] == ' ') return q;
    }
    return NULL;
}

static long long count_in(const char *line, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, " %s=", name);
    const char *eol = strchr(line, '\n'), *p = strstr(line, pat);
    return p && (!eol || p < eol) ? strtoll(p + strlen(pat), NULL, 10) : 0;
}

int main(void)
{
    pid_t pids[4];
    setenv("BFQ_STRATEGY_DEMO_OPEN_PCT", "-100", 1); /* opens on every symbol */
    setenv("BFQ_STRATEGY_DEMO_CLOSE_PCT", "-100", 1);
    setenv("BFQ_STRATEGY_DEMO_NOTIONAL", "100", 1);
    if (tt_stack(TT_KLINE, pids) != 2) return 1;
    const char *ga[] = {"--instance", "g1", NULL};
    const char *ta[] = {"--strategy", "demo", "--instance", "t1", "--max-age", "3s", NULL};
    pids[2] = cu_spawn("gateway", NULL, ga);
    pids[3] = cu_spawn("trader", NULL, ta);
    const char *g1[] = {"gateway", "g1"}, *t1[] = {"trader", "t1"};
    CHECK(th_wait_until(hb_has, g1, 5000) && th_wait_until(hb_has, t1, 5000));
    CHECK(th_wait_until(trader_emitted, NULL, 20000));

    /* by hand: one id twice (a duplicate), one malformed, one expired */
    for (int i = 0; i < 2; i++)
        tt_intent("id=hand1", "op=order", "sym=BTCUSDT", "side=BUY", "type=MARKET", "qty=0.002",
                  "class=mn", "src=test", NULL);
    tt_intent("id=hand2", "op=order", "sym=BTCUSDT", "side=UP", "qty=1", "class=mn", "src=test",
              NULL);
    char old[32];
    snprintf(old, sizeof old, "t=%lld", (long long)(th_now_ms() - 600000));
    tt_intent("id=hand3", "op=order", "sym=BTCUSDT", "side=BUY", "qty=0.002", "class=mn",
              "src=test", old, NULL);

    /* the collectors stop: every symbol goes stale and the strategy is asked no more */
    int st[2];
    th_stop_all(pids, 2, 5000, st);
    struct real r;
    CHECK(th_wait_until(all_final, &r, 40000));
    CHECK(th_wait_until(hb_caught_up, &r, 15000));
    freeReplyObject(cu_cmd("HSET bfq:risk:state:main state REDUCING reason drill src test t %lld",
                           (long long)th_now_ms()));
    CHECK(all_final(&r));
    fprintf(stderr,
            "# real: %lld entries (%lld by t1), %lld ids, %lld sent, %lld denied, %lld rejected\n",
            r.entries, r.by_trader, r.distinct, r.sent, r.denied, r.rejected);

    char *out = NULL;
    CHECK(cu_run("status", "status", NULL, NULL, &out, 10000) == 0);
    fprintf(stderr, "%s", out ? out : "");
    const char *acc = out ? line_of(out, "account") : NULL;
    char name[32] = "", state[32] = "", reason[32] = "";
    CHECK(acc && sscanf(acc, "account %31s %31s reason %31s", name, state, reason) == 3);
    CHECK(!strcmp(name, "main") && !strcmp(state, "REDUCING") && !strcmp(reason, "drill"));

    const char *tl = out ? line_of(out, "t1") : NULL;
    char acct[32], strat[32], send[32];
    long long watched = -1, stale = -1, signals = -1, intents = -1;
    CHECK(tl && sscanf(tl, "t1 %31s %31s %31s %lld %lld %lld %lld", acct, strat, send, &watched,
                       &stale, &signals, &intents) == 7);
    CHECK(!strcmp(acct, "main") && !strcmp(strat, "demo") && !strcmp(send, "gateway"));
    CHECK(watched == cu_int("LLEN bfq:universe"));
    CHECK(stale == watched);
    CHECK(intents == r.by_trader && intents > 0);
    /* every signal is an intent, a repeat of one, or a skip (by reason) */
    char *hb = cu_str("GET bfq:hb:trader:t1");
    json_t *h = hb ? json_loads(hb, 0, NULL) : NULL;
    long long skipped = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(h, "skipped"), k, v) skipped += json_integer_value(v);
    CHECK(signals == intents + json_integer_value(json_object_get(h, "repeats")) + skipped);
    json_decref(h);
    free(hb);

    const char *gl = out ? line_of(out, "g1") : NULL;
    long long gi = -1, gs = -1, gd = -1, gden = -1, grej = -1, gunk = -1, gpend = -1;
    CHECK(gl && sscanf(gl, "g1 %31s %lld %lld %lld %lld %lld %lld %lld", acct, &gi, &gs, &gd, &gden,
                       &grej, &gunk, &gpend) == 8);
    CHECK(!strcmp(acct, "main"));
    CHECK(gi == r.entries);
    CHECK(gs == r.sent);
    CHECK(gd == r.entries - r.distinct && gd >= 1);
    CHECK(gden == r.denied && gden >= 2);
    CHECK(grej == r.rejected && gunk == r.unknown);
    CHECK(gpend == r.pending);
    const char *dl = gl ? strstr(gl, "denied:") : NULL;
    CHECK(dl && count_in(dl, "INVALID") == r.invalid_denials && r.invalid_denials == 1);
    CHECK(dl && count_in(dl, "INTENT_EXPIRED") == r.expired_denials && r.expired_denials == 1);
    free(out);

    pid_t rest[2] = {pids[2], pids[3]};
    th_stop_all(rest, 2, 5000, st);
    CHECK(WIFEXITED(st[0]) && WEXITSTATUS(st[0]) == 0);
    CHECK(WIFEXITED(st[1]) && WEXITSTATUS(st[1]) == 0);
    return th_done();
}
