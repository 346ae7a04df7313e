/* riskio: alerts, intents, ids and the trading state of the risk processes (see riskio.h). */
#include "risk/riskio.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/jsonval.h"
#include "core/timebase.h"

#define RISK_KEY_MAX 256
#define RISK_TEXT_MAX 1024

int risk_alert(struct rconn *rc, const char *prefix, const char *level, const char *key,
               const char *src, const char *fmt, ...)
{
    char stream[RISK_KEY_MAX], text[RISK_TEXT_MAX], maxlen[24], t[24];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    snprintf(stream, sizeof stream, "%salerts", prefix);
    snprintf(maxlen, sizeof maxlen, "%d", RISK_ALERTS_MAXLEN);
    snprintf(t, sizeof t, "%lld", (long long)timebase_wall_ms());
    const char *argv[] = {"XADD", stream, "MAXLEN", "~",  maxlen, "*", "level", level,
                          "key",  key,    "text",   text, "src",  src, "t",     t};
    return rconn_command_argv(rc, NULL, NULL, (int)(sizeof argv / sizeof argv[0]), argv, NULL);
}

int risk_intent(struct rconn *rc, const char *prefix, const char *acct, struct intent *in,
                rconn_reply_fn *fn, void *privdata)
{
    const char *argv[INTENT_FIELDS_MAX + 3];
    char stream[RISK_KEY_MAX], buf[2048];
    if (!in->t) in->t = timebase_wall_ms();
    snprintf(stream, sizeof stream, "%sintents:%s", prefix, acct);
    argv[0] = "XADD";
    argv[1] = stream;
    argv[2] = "*";
    int n = intent_to_fields(in, argv + 3, buf, sizeof buf);
    if (n < 0) return -1;
    return rconn_command_argv(rc, fn, privdata, n + 3, argv, NULL);
}

void risk_new_id(const char *tag, char out[INTENT_ID_MAX])
{
    static unsigned counter;
    snprintf(out, INTENT_ID_MAX, "%.4s%llx%x", tag, (unsigned long long)timebase_wall_ms(),
             counter++);
}

int risk_set_state(struct rconn *rc, const char *prefix, const char *acct, const char *state,
                   const char *reason, const char *src, rconn_reply_fn *fn, void *privdata)
{
    char key[RISK_KEY_MAX], ch[RISK_KEY_MAX], t[24];
    long long now = (long long)timebase_wall_ms();
    snprintf(key, sizeof key, "%srisk:state:%s", prefix, acct);
    snprintf(ch, sizeof ch, "%sch:risk", prefix);
    snprintf(t, sizeof t, "%lld", now);
    const char *hset[] = {"HSET", key, "state", state, "reason", reason, "t", t, "src", src};
    if (rconn_command_argv(rc, NULL, NULL, 10, hset, NULL) < 0) return -1;
    char akey[RISK_KEY_MAX];
    snprintf(akey, sizeof akey, "state:%s", acct);
    (void)risk_alert(rc, prefix, strcmp(state, "ACTIVE") ? "warn" : "info", akey, src,
                     "account %s trading state %s: %s", acct, state, reason);
    json_t *m = json_pack("{s:I,s:s,s:s,s:s,s:s}", "t", (json_int_t)now, "account", acct, "state",
                          state, "reason", reason, "src", src);
    char *s = m ? jv_dump(m) : NULL;
    json_decref(m);
    if (!s) return -1;
    const char *pub[] = {"PUBLISH", ch, s};
    int rc2 = rconn_command_argv(rc, fn, privdata, 3, pub, NULL);
    free(s);
    return rc2;
}

int risk_order_field(const char *field, char sym[INTENT_SYM_MAX], const char **cid, int *algo)
{
    const char *c = field ? strchr(field, ':') : NULL;
    if (!c || c == field || (size_t)(c - field) >= INTENT_SYM_MAX) return -1;
    *algo = !strncmp(c + 1, "algo:", 5);
    *cid = c + 1 + (*algo ? 5 : 0);
    if (!**cid) return -1;
    snprintf(sym, INTENT_SYM_MAX, "%.*s", (int)(c - field), field);
    return 0;
}
