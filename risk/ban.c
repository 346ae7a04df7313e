/* ban: `bfq ban` and `bfq unban`, bans set and lifted by hand.
 *
 * `bfq ban --sym SYMBOL --reason TEXT` (SYMBOL may be ALL) records the ban in
 * <prefix>risk:ban:manual (field SYMBOL -> {"why","t","src":"manual:<instance>"}) and writes
 * the one list <prefix>risk:ban at once (FCALL bfq_put, which publishes on <prefix>ch:risk):
 * the loss rules' bans as stored, plus every manual ban (risk/banlist). `bfq unban --sym SYMBOL
 * --reason TEXT` lifts a manual ban the same way; a ban of the loss rules is not the operator's
 * to lift (it lifts as its window rolls), so unban refuses it with exit 1. `bfq lossguard`
 * composes the list from both at every change, so a manual ban survives its passes (and a
 * lossguard write racing this one puts it back within one poll, as it reads the manual bans
 * each time). Each change is alerted (key ban:manual). One blocking connection (core/rblock),
 * Redis user `risk`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "cli/commands.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rblock.h"
#include "core/timebase.h"
#include "risk/banlist.h"
#include "risk/risk.h"
#include "risk/riskio.h"

#define BAN_KEY_MAX 256

struct ban_run {
    redisContext *c;
    const char *prefix, *sym, *reason, *name;
    char src[160];
    int lift;
};

/* One command; 0, or -1 with the reason printed. The reply goes to *out when out is set. */
static int ban_cmd(struct ban_run *b, redisReply **out, int argc, const char **argv)
{
    redisReply *r = redisCommandArgv(b->c, argc, argv, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        fprintf(stderr, "bfq %s: %s: %s\n", b->name, argv[0], r ? r->str : b->c->errstr);
        if (r) freeReplyObject(r);
        return -1;
    }
    if (out)
        *out = r;
    else
        freeReplyObject(r);
    return 0;
}

/* Records (or removes) the manual ban. Returns 0, 1 when unban found no manual ban, or -1. */
static int ban_record(struct ban_run *b, const char *mkey)
{
    redisReply *r = NULL;
    if (b->lift) {
        const char *argv[] = {"HDEL", mkey, b->sym};
        if (ban_cmd(b, &r, 3, argv) < 0) return -1;
        int gone = r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        freeReplyObject(r);
        return gone ? 0 : 1;
    }
    json_t *v = json_pack("{s:s,s:I,s:s}", "why", b->reason, "t", (json_int_t)timebase_wall_ms(),
                          "src", b->src);
    char *vs = v ? jv_dump(v) : NULL;
    json_decref(v);
    if (!vs) return -1;
    const char *argv[] = {"HSET", mkey, b->sym, vs};
    int rc = ban_cmd(b, NULL, 4, argv);
    free(vs);
    return rc;
}

/* Writes the composed list: the stored rule bans and every manual one. Prints it. */
static int ban_write(struct ban_run *b, const char *mkey)
{
    char key[BAN_KEY_MAX], ch[BAN_KEY_MAX], t[24];
    redisReply *man = NULL, *old = NULL;
    snprintf(key, sizeof key, "%srisk:ban", b->prefix);
    snprintf(ch, sizeof ch, "%sch:risk", b->prefix);
    const char *hall[] = {"HGETALL", mkey}, *hget[] = {"HGET", key, "reasons"};
    if (ban_cmd(b, &man, 2, hall) < 0) return -1;
    if (ban_cmd(b, &old, 3, hget) < 0) {
        freeReplyObject(man);
        return -1;
    }
    json_t *stored = old->type == REDIS_REPLY_STRING ? json_loads(old->str, 0, NULL) : NULL;
    json_t *rule = banlist_rule_reasons(stored), *manual = banlist_from_hash(man), *list = NULL;
    json_t *reasons = banlist_compose(rule, manual, &list);
    long long now = (long long)timebase_wall_ms();
    json_t *msg = json_pack("{s:I,s:O,s:O}", "t", (json_int_t)now, "ban", list, "reasons", reasons);
    char *ls = jv_dump(list), *rs = jv_dump(reasons), *ms = msg ? jv_dump(msg) : NULL;
    int rc = -1;
    snprintf(t, sizeof t, "%lld", now);
    if (ls && rs && ms) {
        const char *argv[] = {"FCALL", "bfq_put", "1", key,       ch, ms,    t,
                              "0",     "symbols", ls,  "reasons", rs, "src", b->src};
        rc = ban_cmd(b, NULL, 14, argv);
    }
    if (rc == 0) printf("{\"symbols\":%s,\"reasons\":%s}\n", ls, rs);
    free(ls);
    free(rs);
    free(ms);
    json_decref(msg);
    json_decref(list);
    json_decref(reasons);
    json_decref(rule);
    json_decref(manual);
    json_decref(stored);
    freeReplyObject(man);
    freeReplyObject(old);
    return rc;
}

static void ban_alert(struct ban_run *b)
{
    char stream[BAN_KEY_MAX], text[512], t[24];
    snprintf(stream, sizeof stream, "%salerts", b->prefix);
    snprintf(text, sizeof text, "%s %s by hand: %s", b->sym, b->lift ? "unbanned" : "banned",
             b->reason);
    snprintf(t, sizeof t, "%lld", (long long)timebase_wall_ms());
    const char *argv[] = {"XADD", stream,       "MAXLEN", "~",  "100000", "*",    "level", "warn",
                          "key",  "ban:manual", "text",   text, "src",    b->src, "t",     t};
    (void)ban_cmd(b, NULL, 16, argv);
}

static int ban_run(const struct cli_command *cmd, int lift, int argc, char **argv)
{
    struct config *cfg = NULL;
    enum cli_result cr = cli_parse(cmd, argc, argv, &cfg);
    if (cr != CLI_RUN) return cr == CLI_EXIT_OK ? 0 : 2;
    struct ban_run b = {.name = cmd->name, .lift = lift};
    const char *url = NULL;
    char err[256], inst[128], mkey[BAN_KEY_MAX];
    int code = 2;
    log_init(cmd->name, LOG_LEVEL_INFO);
    b.prefix = config_get(cfg, "redis", "prefix");
    if (!b.prefix) b.prefix = "bfq:";
    b.sym = config_get(cfg, cmd->name, "sym");
    b.reason = config_get(cfg, cmd->name, "reason");
    if (!b.sym || !b.sym[0] || !b.reason || !b.reason[0] || strlen(b.sym) > 31) {
        fprintf(stderr, "bfq %s: --sym SYMBOL (or ALL) and --reason TEXT are required\n",
                cmd->name);
        goto out;
    }
    code = 1;
    if (config_required(cfg, "redis", "url", &url) < 0) {
        fprintf(stderr, "bfq %s: %s\n", cmd->name, config_errstr(cfg));
        goto out;
    }
    cli_instance(cfg, cmd->name, inst, sizeof inst);
    snprintf(b.src, sizeof b.src, "%s:%s", BANLIST_MANUAL_SRC, inst);
    b.c = rblock_connect(url, 3000, err, sizeof err);
    if (!b.c) {
        fprintf(stderr, "bfq %s: [redis] url: %s\n", cmd->name, err);
        goto out;
    }
    snprintf(mkey, sizeof mkey, "%srisk:ban:manual", b.prefix);
    int rec = ban_record(&b, mkey);
    if (rec == 1)
        fprintf(stderr,
                "bfq %s: %s has no ban set by hand (a loss rule's ban lifts as its window "
                "rolls)\n",
                cmd->name, b.sym);
    if (rec == 0 && ban_write(&b, mkey) == 0) {
        ban_alert(&b);
        log_info(lift ? "manual ban lifted" : "manual ban set", "sym=%s reason=\"%s\"", b.sym,
                 b.reason);
        code = 0;
    }
    redisFree(b.c);
out:
    config_free(cfg);
    return code;
}

static const struct cli_option ban_options[] = {
    {"sym", "SYMBOL", NULL, NULL, "the symbol, or ALL", 0},
    {"reason", "TEXT", NULL, NULL, "why (kept with the ban, alerted; required)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command ban_cli = {
    .name = "ban",
    .summary = "ban a symbol (or ALL) by hand: kept until bfq unban, whatever lossguard finds",
    .usage = "Writes bfq:risk:ban:manual and bfq:risk:ban (through bfq_put); user risk.\n",
    .options = ban_options,
    .keys = NULL, /* every [ban] key is an option */
    .role_options = 1,
};

const struct cli_command unban_cli = {
    .name = "unban",
    .summary = "lift a ban set by hand with bfq ban",
    .usage = NULL,
    .options = ban_options,
    .keys = NULL, /* every [unban] key is an option */
    .role_options = 1,
};

int ban_main(int argc, char **argv)
{
    return ban_run(&ban_cli, 0, argc, argv);
}

int unban_main(int argc, char **argv)
{
    return ban_run(&unban_cli, 1, argc, argv);
}
