/* notify: `bfq notify`, alerts from <prefix>alerts to a Feishu/Lark custom bot and a generic
 * JSON webhook, rate-limited without loss.
 *
 * It reads the stream with XRANGE from the last id it handled (kept in
 * <prefix>risk:notify:<instance>, so a restart neither repeats nor skips; a first start begins
 * at the current time) every [notify] poll (200 ms). Each sink (the bot, the webhook) keeps,
 * per alert `key`, what is waiting: the latest alert and how many arrived since the last
 * message. A key sends at most once per key_every (10 s); alerts in between are folded into
 * its next message, which says how many it stands for ("+N more"), so nothing is dropped.
 * The bot's own limits (5 a second, 100 a minute, per bot) are kept as sliding windows; one
 * request per sink is in flight at a time; bodies stay under 20 KB (the text is cut on a UTF-8
 * boundary). A failed delivery (transport, non-2xx, or a Feishu body whose `code` is not 0)
 * keeps the message waiting and retries after the back-off of core/backoff (0.5 s .. 30 s).
 *
 * Feishu signing (custom bot "signature verification"): sign = base64(HMAC-SHA256(key =
 * timestamp + "\n" + secret, message = "")), timestamp in seconds, both in the JSON body. The
 * secret comes from [notify] feishu_secret or feishu_secret_file (registered for redaction),
 * never enters a message, a log line or Redis. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cli/commands.h"
#include "core/backoff.h"
#include "core/http.h"
#include "core/jsonval.h"
#include "core/log.h"
#include "core/rconn.h"
#include "core/role.h"
#include "reconciler/recon.h"
#include "risk/risk.h"

#define NT_KEYS_MAX 1024
#define NT_KEY_LEN 128
#define NT_TEXT_MAX 4096
#define NT_BODY_MAX (20 * 1024 - 1024) /* under Feishu's 20 KB, with room for the envelope */
#define NT_BATCH 500                   /* stream entries per XRANGE */
#define NT_RING 1000                   /* send times kept: the largest per-minute limit allowed */
#define NT_BACKOFF_MIN_MS 500
#define NT_BACKOFF_MAX_MS 30000

struct nt_key {
    char key[NT_KEY_LEN];
    char level[16], src[64];
    char text[NT_TEXT_MAX];
    int64_t waiting; /* alerts this key's next message stands for */
    int64_t t;       /* time of the latest */
    mono_ms_t next_at;
};

struct nt_sink {
    const char *name, *url, *secret;
    int feishu;
    struct nt_key *keys; /* NT_KEYS_MAX */
    int nkeys;
    int busy;
    struct backoff retry; /* core/backoff: the one retry policy */
    int cur;              /* key index in flight */
    int64_t sending;      /* the count of the message in flight */
    mono_ms_t retry_at;
    mono_ms_t ring[NT_RING]; /* send times, newest at head-1: the bot's sliding windows */
    int head;
    int64_t sent, folded, errors;
};

struct notify {
    struct role r;
    struct http_client *http;
    struct nt_sink sink[2];
    int nsinks;
    int64_t poll_ms, key_every_ms, per_sec, per_min;
    char last[48];
    int reading, have_pos;
    char poskey[ROLE_ID_MAX + 64], stream[ROLE_PREFIX_MAX + 16];
    ev_timer timer;
    int64_t alerts;
};

/* ---- signing and bodies -------------------------------------------------------------------- */

/* base64(HMAC-SHA256(timestamp "\n" secret, "")) into out. Returns 0 or -1. */
static int nt_sign(const char *secret, long long ts, char *out, size_t cap)
{
    char key[512];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int n = snprintf(key, sizeof key, "%lld\n%s", ts, secret);
    if (n < 0 || (size_t)n >= sizeof key || cap < 64) return -1;
    if (!HMAC(EVP_sha256(), key, n, (const unsigned char *)"", 0, mac, &len)) return -1;
    return EVP_EncodeBlock((unsigned char *)out, mac, (int)len) > 0 ? 0 : -1;
}

/* Cuts s to at most max bytes on a UTF-8 character boundary. */
static void nt_cut(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max) return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}

static char *nt_body(const struct nt_sink *k, const struct nt_key *e)
{
    char text[NT_TEXT_MAX + 256];
    snprintf(text, sizeof text, "[%s] %s: %s", e->level, e->key, e->text);
    if (e->waiting > 1) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, " (+%lld more like this since the last message)",
                 (long long)(e->waiting - 1));
    }
    nt_cut(text, NT_BODY_MAX);
    json_t *o;
    if (k->feishu) {
        o = json_pack("{s:s,s:{s:s}}", "msg_type", "text", "content", "text", text);
        if (o && k->secret) {
            char sig[128], ts[24];
            long long now = (long long)(timebase_wall_ms() / 1000);
            if (nt_sign(k->secret, now, sig, sizeof sig) < 0) {
                json_decref(o);
                return NULL;
            }
            snprintf(ts, sizeof ts, "%lld", now);
            json_object_set_new(o, "timestamp", json_string(ts));
            json_object_set_new(o, "sign", json_string(sig));
        }
    } else {
        o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I}", "level", e->level, "key", e->key, "text", text,
                      "src", e->src, "t", (json_int_t)e->t, "count", (json_int_t)e->waiting);
    }
    char *s = o ? jv_dump(o) : NULL;
    json_decref(o);
    return s;
}

/* ---- delivery ---------------------------------------------------------------------------- */

/* The send time `back` sends ago (1 = the last), 0 when there were fewer. */
static mono_ms_t nt_sent_ago(const struct nt_sink *k, int back)
{
    return k->ring[(k->head - back + NT_RING) % NT_RING];
}

/* Nonzero when one more message keeps both sliding windows: fewer than per_sec sends in the
 * last second and fewer than per_min in the last minute. */
static int nt_budget(struct notify *n, struct nt_sink *k, mono_ms_t now)
{
    mono_ms_t s = nt_sent_ago(k, (int)n->per_sec), m = nt_sent_ago(k, (int)n->per_min);
    return (!s || now - s >= 1000) && (!m || now - m >= 60000);
}

struct nt_req {
    struct notify *n;
    struct nt_sink *k;
};

static int nt_answer_ok(const struct nt_sink *k, const struct http_response *res)
{
    if (res->status != HTTP_OK || res->code < 200 || res->code > 299) return 0;
    if (!k->feishu) return 1;
    json_t *j = json_loads(res->body ? res->body : "", 0, NULL);
    json_int_t code = -1;
    json_t *c = json_object_get(j, "code");
    if (!c) c = json_object_get(j, "StatusCode");
    if (json_is_integer(c)) code = json_integer_value(c);
    json_decref(j);
    return code == 0;
}

static void nt_drain(struct notify *n, struct nt_sink *k, mono_ms_t now);

static void nt_on_sent(const struct http_response *res, void *privdata)
{
    struct nt_req *q = privdata;
    struct notify *n = q->n;
    struct nt_sink *k = q->k;
    struct nt_key *e = &k->keys[k->cur];
    free(q);
    k->busy = 0;
    if (nt_answer_ok(k, res)) {
        e->waiting -= k->sending; /* alerts folded in meanwhile stay waiting */
        k->sent++;
        k->folded += k->sending - 1;
        backoff_reset(&k->retry);
        if (res->status != HTTP_ECANCELED && !role_stopping(&n->r))
            nt_drain(n, k, timebase_mono_ms()); /* the next one now, if the budget allows */
        return;
    }
    k->errors++;
    int64_t wait = backoff_next(&k->retry);
    k->retry_at = timebase_mono_ms() + wait;
    e->next_at = 0; /* the retry is not held back by the key's own interval */
    log_warn("alert delivery failed, will retry", "sink=%s http=%ld status=%d wait_ms=%lld",
             k->name, res->code, (int)res->status, (long long)wait);
}

static void nt_send(struct notify *n, struct nt_sink *k, int idx, mono_ms_t now)
{
    struct nt_key *e = &k->keys[idx];
    char *body = nt_body(k, e);
    struct nt_req *q = malloc(sizeof *q);
    if (!body || !q) {
        free(body);
        free(q);
        return;
    }
    *q = (struct nt_req){n, k};
    struct http_request rq = {.method = "POST", .url = k->url, .body = body, .timeout_ms = 10000};
    rq.headers[0] = "Content-Type: application/json";
    k->cur = idx;
    k->sending = e->waiting;
    k->busy = 1;
    k->ring[k->head] = now;
    k->head = (k->head + 1) % NT_RING;
    e->next_at = now + n->key_every_ms;
    if (http_send(n->http, &rq, nt_on_sent, q) < 0) {
        k->busy = 0;
        free(q);
    }
    free(body);
}

/* Sends the longest-waiting key whose interval has passed, within the bot's budget. */
static void nt_drain(struct notify *n, struct nt_sink *k, mono_ms_t now)
{
    int best = -1;
    if (k->busy || now < k->retry_at || !nt_budget(n, k, now)) return;
    for (int i = 0; i < k->nkeys; i++) {
        struct nt_key *e = &k->keys[i];
        if (e->waiting > 0 && now >= e->next_at && (best < 0 || e->t < k->keys[best].t)) best = i;
    }
    if (best >= 0) nt_send(n, k, best, now);
}

static void nt_queue(struct notify *n, struct nt_sink *k, const char *level, const char *key,
                     const char *text, const char *src, int64_t t)
{
    int i;
    (void)n;
    for (i = 0; i < k->nkeys; i++)
        if (!strcmp(k->keys[i].key, key)) break;
    if (i == k->nkeys) {
        if (k->nkeys == NT_KEYS_MAX)
            i = NT_KEYS_MAX - 1; /* the last slot folds the rest */
        else
            memset(&k->keys[k->nkeys++], 0, sizeof k->keys[0]);
        snprintf(k->keys[i].key, NT_KEY_LEN, "%s", key);
    }
    struct nt_key *e = &k->keys[i];
    snprintf(e->level, sizeof e->level, "%s", level);
    snprintf(e->src, sizeof e->src, "%s", src);
    snprintf(e->text, sizeof e->text, "%s", text);
    e->t = t;
    e->waiting++;
}

/* ---- reading the stream ------------------------------------------------------------------ */

static const char *nt_field(const redisReply *kv, const char *name)
{
    for (size_t j = 0; j + 1 < kv->elements; j += 2)
        if (kv->element[j]->str && !strcmp(kv->element[j]->str, name))
            return kv->element[j + 1]->str ? kv->element[j + 1]->str : "";
    return "";
}

static void nt_on_range(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct notify *n = privdata;
    (void)rc;
    n->reading = 0;
    if (!reply || reply->type != REDIS_REPLY_ARRAY) return;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *e = reply->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 2 || !e->element[0]->str) continue;
        const redisReply *kv = e->element[1];
        const char *key = nt_field(kv, "key");
        char *end = NULL;
        long long t = strtoll(nt_field(kv, "t"), &end, 10);
        for (int s = 0; s < n->nsinks; s++)
            nt_queue(n, &n->sink[s], nt_field(kv, "level"), key[0] ? key : "-",
                     nt_field(kv, "text"), nt_field(kv, "src"), t);
        n->alerts++;
        snprintf(n->last, sizeof n->last, "%s", e->element[0]->str);
    }
    if (reply->elements) (void)rconn_command(n->r.rc, NULL, NULL, "SET %s %s", n->poskey, n->last);
}

static void nt_on_pos(struct rconn *rc, redisReply *reply, void *privdata)
{
    struct notify *n = privdata;
    (void)rc;
    n->reading = 0;
    if (!reply) return;
    if (reply->type == REDIS_REPLY_STRING)
        snprintf(n->last, sizeof n->last, "%s", reply->str);
    else
        snprintf(n->last, sizeof n->last, "%lld-0", (long long)timebase_wall_ms());
    n->have_pos = 1;
}

static void nt_on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct notify *n = w->data;
    mono_ms_t now = timebase_mono_ms();
    (void)loop;
    (void)revents;
    for (int s = 0; s < n->nsinks; s++)
        nt_drain(n, &n->sink[s], now);
    if (!role_redis_up(&n->r) || n->reading || role_stopping(&n->r)) return;
    char from[64];
    n->reading = 1;
    if (!n->have_pos) {
        if (rconn_command(n->r.rc, nt_on_pos, n, "GET %s", n->poskey) < 0) n->reading = 0;
        return;
    }
    snprintf(from, sizeof from, "(%s", n->last);
    if (rconn_command(n->r.rc, nt_on_range, n, "XRANGE %s %s + COUNT %d", n->stream, from,
                      NT_BATCH) < 0)
        n->reading = 0;
}

/* ---- the role ----------------------------------------------------------------------------- */

static void nt_fill(struct role *r, json_t *o, void *privdata)
{
    struct notify *n = privdata;
    (void)r;
    json_object_set_new(o, "alerts", json_integer(n->alerts));
    for (int s = 0; s < n->nsinks; s++) {
        struct nt_sink *k = &n->sink[s];
        int64_t waiting = 0;
        for (int i = 0; i < k->nkeys; i++)
            waiting += k->keys[i].waiting;
        json_object_set_new(o, k->name,
                            json_pack("{s:I,s:I,s:I,s:I,s:i}", "sent", (json_int_t)k->sent,
                                      "folded", (json_int_t)k->folded, "errors",
                                      (json_int_t)k->errors, "waiting", (json_int_t)waiting, "keys",
                                      k->nkeys));
    }
}

static int nt_add_sink(struct notify *n, const char *name, const char *url, int feishu)
{
    struct nt_sink *k = &n->sink[n->nsinks];
    memset(k, 0, sizeof *k);
    k->keys = calloc(NT_KEYS_MAX, sizeof *k->keys);
    if (!k->keys) return -1;
    k->name = name;
    k->url = url;
    k->feishu = feishu;
    backoff_init(&k->retry, NT_BACKOFF_MIN_MS, NT_BACKOFF_MAX_MS);
    n->nsinks++;
    return 0;
}

static int nt_config(void *state, struct config *cfg, char *err, size_t cap)
{
    struct notify *n = state;
    const char *feishu = config_get(cfg, "notify", "feishu_url");
    const char *hook = config_get(cfg, "notify", "webhook_url");
    if (config_duration_ms(cfg, "notify", "poll", 200, 10, 60000, &n->poll_ms) < 0 ||
        config_duration_ms(cfg, "notify", "key_every", 10000, 0, 86400000, &n->key_every_ms) < 0 ||
        config_int(cfg, "notify", "per_second", 5, 1, NT_RING, &n->per_sec) < 0 ||
        config_int(cfg, "notify", "per_minute", 100, 1, NT_RING, &n->per_min) < 0)
        return -1;
    if ((!feishu || !*feishu) && (!hook || !*hook)) {
        snprintf(err, cap, "[notify] feishu_url or webhook_url: at least one is required");
        return -1;
    }
    if (feishu && *feishu) {
        if (nt_add_sink(n, "feishu", feishu, 1) < 0) return -1;
        if ((config_get(cfg, "notify", "feishu_secret") ||
             config_get(cfg, "notify", "feishu_secret_file")) &&
            config_secret(cfg, "notify", "feishu_secret", &n->sink[0].secret) < 0)
            return -1;
    }
    if (hook && *hook && nt_add_sink(n, "webhook", hook, 0) < 0) return -1;
    return 0;
}

static int nt_start(struct role *r, void *state, char *err, size_t cap)
{
    struct notify *n = state;
    n->http = http_client_new(r->loop);
    if (!n->http) {
        snprintf(err, cap, "cannot start the HTTP client");
        return -1;
    }
    role_key(r, n->stream, sizeof n->stream, "alerts");
    role_key(r, n->poskey, sizeof n->poskey, "risk:notify:%s", r->instance);
    double p = (double)n->poll_ms / 1000.0;
    ev_timer_init(&n->timer, nt_on_timer, p, p);
    n->timer.data = n;
    ev_timer_start(r->loop, &n->timer);
    log_info("notify ready", "sinks=%d key_every_ms=%lld", n->nsinks, (long long)n->key_every_ms);
    return 0;
}

static void nt_stop(struct role *r, void *state)
{
    struct notify *n = state;
    ev_timer_stop(r->loop, &n->timer);
    if (n->http) http_client_free(n->http); /* callbacks of requests in flight run now */
    n->http = NULL;
}

static const struct cli_option notify_options[] = {
    {"feishu-url", "URL", NULL, "feishu_url", "Feishu/Lark custom bot webhook", 0},
    {"webhook-url", "URL", NULL, "webhook_url", "a generic JSON webhook", 0},
    {"key-every", "DURATION", NULL, "key_every", "one message per alert key per (10s)", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* [notify] keys no option sets (core/role reports any other key of the section). */
static const char *const notify_keys[] = {
    "feishu_secret", "feishu_secret_file", "per_second", "per_minute", "poll", NULL};

const struct cli_command notify_cli = {
    .name = "notify",
    .summary = "alerts from bfq:alerts to Feishu/Lark bots and webhooks, rate-limited without loss",
    .usage = "The bot's secret: [notify] feishu_secret or feishu_secret_file "
             "(BFQ_NOTIFY_FEISHU_SECRET).\n",
    .options = notify_options,
    .keys = notify_keys,
    .role_options = 1,
};

int notify_main(int argc, char **argv)
{
    static const struct role_entry e = {
        .cmd = &notify_cli,
        .opts = {.lua_library = bfq_lua_library, .no_exchange = 1, .fill = nt_fill},
        .config = nt_config,
        .start = nt_start,
        .stop = nt_stop,
    };
    struct notify *n = calloc(1, sizeof(*n));
    if (!n) return 1;
    int rc = role_main(&e, &n->r, n, argc, argv);
    for (int s = 0; s < n->nsinks; s++)
        free(n->sink[s].keys);
    free(n);
    return rc;
}
