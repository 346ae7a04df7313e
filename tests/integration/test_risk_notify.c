/* test_risk_notify: `bfq notify` (user `risk`) against redis-server and a local HTTP receiver
 * standing in for a Feishu/Lark custom bot (it checks every signature: base64 of
 * HMAC-SHA256 keyed with timestamp "\n" secret over an empty message) and a generic webhook.
 *
 * 1000 alerts of one key and one of another reach each sink as few messages, never more than
 * 5 in a second (20 alerts of 20 other keys are paced by that limit), whose counts ("+N more", the
 * webhook's `count`) add up to exactly 1000 and 1; the bot's first answer is a refusal in the body
 * (code 11232, HTTP 200), which is retried, not lost; no body holds the secret. */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tests/harness/testhttp.h"
#include "tests/integration/test_collect_util.h"

#define SECRET "notify-test-secret-0123"

static struct rec {
    int bot, hook, many, bad_sign, secret_seen, refused;
    long long bot_k1, bot_k2, hook_k1, hook_k2;
    int64_t times[2000];
    int ntimes;
} rec;

static int sign_ok(const char *ts, const char *sign)
{
    char key[256];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    char want[128];
    snprintf(key, sizeof key, "%s\n%s", ts, SECRET);
    if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)"", 0, mac, &len))
        return 0;
    EVP_EncodeBlock((unsigned char *)want, mac, (int)len);
    return !strcmp(want, sign);
}

static long long folded(const char *text)
{
    const char *p = strstr(text, "(+");
    return p ? 1 + strtoll(p + 2, NULL, 10) : 1;
}

static void on_bot(const struct thttp_req *req, struct thttp_resp *resp, json_t *j)
{
    const char *ts = json_string_value(json_object_get(j, "timestamp"));
    const char *sign = json_string_value(json_object_get(j, "sign"));
    const char *text = json_string_value(json_object_get(json_object_get(j, "content"), "text"));
    (void)req;
    if (!ts || !sign || !sign_ok(ts, sign) || !text) {
        rec.bad_sign++;
        thttp_reply(resp, 200, NULL, "{\"code\":19021,\"msg\":\"sign match fail\"}");
        return;
    }
    if (!rec.refused++) { /* the first one: refused in the body */
        thttp_reply(resp, 200, NULL, "{\"code\":11232,\"msg\":\"frequency limited\"}");
        return;
    }
    rec.bot++;
    if (rec.ntimes < 2000) rec.times[rec.ntimes++] = th_now_ms();
    if (strstr(text, "k1:")) rec.bot_k1 += folded(text);
    if (strstr(text, "k2:")) rec.bot_k2 += folded(text);
    if (strstr(text, "many")) rec.many++;
    thttp_reply(resp, 200, NULL, "{\"code\":0,\"msg\":\"success\",\"data\":{}}");
}

static void handler(const struct thttp_req *req, struct thttp_resp *resp, void *arg)
{
    (void)arg;
    json_t *j = json_loads(req->body ? req->body : "", 0, NULL);
    if (req->body && strstr(req->body, SECRET)) rec.secret_seen++;
    if (!strncmp(req->target, "/bot", 4)) {
        on_bot(req, resp, j);
    } else {
        const char *key = json_string_value(json_object_get(j, "key"));
        long long count = json_integer_value(json_object_get(j, "count"));
        rec.hook++;
        if (key && !strcmp(key, "k1")) rec.hook_k1 += count;
        if (key && !strcmp(key, "k2")) rec.hook_k2 += count;
        thttp_reply(resp, 200, NULL, "{}");
    }
    json_decref(j);
}

static struct thttp *srv;

static int all_there(void *arg)
{
    (void)arg;
    thttp_lock(srv);
    int ok = rec.bot_k1 >= 1000 && rec.bot_k2 >= 1 && rec.hook_k1 >= 1000 && rec.hook_k2 >= 1 &&
             rec.many >= 20;
    thttp_unlock(srv);
    return ok;
}

static int started(void *arg)
{
    (void)arg;
    return cu_int("EXISTS bfq:hb:notify:n1") == 1;
}

int main(void)
{
    if (cu_redis_start() < 0) return 1;
    srv = thttp_start("127.0.0.1", handler, NULL);
    if (!srv) return 1;
    char bot[128], hook[128], url[256], log[512];
    snprintf(bot, sizeof bot, "%s/bot/hook/x", thttp_url(srv));
    snprintf(hook, sizeof hook, "%s/generic", thttp_url(srv));
    setenv("BFQ_NOTIFY_FEISHU_SECRET", SECRET, 1);
    th_redis_url_for(&cu_red, "risk", url, sizeof url);
    snprintf(log, sizeof log, "%s/notify.log", th_tmpdir());
    const char *argv[] = {
        th_bfq_bin(), "notify",      "--redis", url,          "--feishu-url", bot, "--webhook-url",
        hook,         "--key-every", "1s",      "--instance", "n1",           NULL};
    pid_t pid = th_spawn(argv, log);
    CHECK(th_wait_until(started, NULL, 10000));
    th_sleep_ms(500); /* its first read fixes the starting point */

    for (int i = 0; i < 1000; i++)
        redisAppendCommand(cu_adm,
                           "XADD bfq:alerts * level warn key k1 text alert-%d src test t %lld", i,
                           (long long)th_now_ms());
    redisAppendCommand(cu_adm, "XADD bfq:alerts * level error key k2 text other src test t 1");
    for (int i = 0; i < 20; i++) /* 20 more keys: the bot's 5 a second paces them */
        redisAppendCommand(cu_adm, "XADD bfq:alerts * level info key many%d text x src test t 1",
                           i);
    for (int i = 0; i < 1021; i++) {
        redisReply *r = NULL;
        if (redisGetReply(cu_adm, (void **)&r) != REDIS_OK) break;
        freeReplyObject(r);
    }
    CHECK(th_wait_until(all_there, NULL, 30000));
    th_sleep_ms(1500); /* nothing more arrives */
    thttp_lock(srv);
    fprintf(stderr,
            "# bot: %d messages, k1 %lld, k2 %lld; webhook: %d messages, k1 %lld, k2 %lld\n",
            rec.bot, rec.bot_k1, rec.bot_k2, rec.hook, rec.hook_k1, rec.hook_k2);
    CHECK(rec.bot_k1 == 1000 && rec.bot_k2 == 1 && rec.hook_k1 == 1000 && rec.hook_k2 == 1);
    CHECK(rec.bad_sign == 0 && rec.secret_seen == 0 && rec.refused >= 2);
    CHECK(rec.bot >= 22 && rec.bot <= 30 && rec.many == 20);
    for (int i = 5; i < rec.ntimes; i++)
        CHECK(rec.times[i] - rec.times[i - 5] >= 900);
    thttp_unlock(srv);
    CHECK(th_stop(pid, 5000) == 0);
    thttp_stop(srv);
    return th_done();
}
