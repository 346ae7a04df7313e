/* testbinance: signed simulator requests and Redis reads for tests (see testbinance.h). */
#include "tests/harness/testbinance.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/binance.h"
#include "core/decimal.h"
#include "core/timebase.h"
#include "tests/harness/harness.h"

#define TB_BODY_MAX (8u << 20)

struct tb_buf {
    char *p;
    size_t n;
};

static size_t tb_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct tb_buf *b = arg;
    size_t len = size * nmemb;
    if (b->n + len > TB_BODY_MAX) return 0;
    char *p = realloc(b->p, b->n + len + 1);
    if (!p) return 0;
    memcpy(p + b->n, data, len);
    b->p = p;
    b->n += len;
    b->p[b->n] = '\0';
    return len;
}

long long tb_clock_offset_ms;

long tb_signed(const struct tb_account *a, const char *method, const char *path,
               const char *params, char **body)
{
    char query[4096], sig[65], url[5000], hdr[256];
    int n = snprintf(query, sizeof query, "%s%stimestamp=%lld", params ? params : "",
                     params && params[0] ? "&" : "",
                     (long long)timebase_wall_ms() + tb_clock_offset_ms);
    if (n < 0 || (size_t)n >= sizeof query || binance_sign(a->secret, query, (size_t)n, sig) < 0)
        return 0;
    snprintf(url, sizeof url, "%s%s?%s&signature=%s", a->base_url, path, query, sig);
    snprintf(hdr, sizeof hdr, "X-MBX-APIKEY: %s", a->key);
    CURL *c = curl_easy_init();
    if (!c) return 0;
    struct curl_slist *h = curl_slist_append(NULL, hdr);
    struct tb_buf b = {NULL, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tb_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    long code = 0;
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (body)
        *body = b.p;
    else
        free(b.p);
    return code;
}

long tb_market(const struct tb_account *a, const char *symbol, const char *side,
               const char *qty, const char *cid, char **body)
{
    char params[512];
    snprintf(params, sizeof params,
             "symbol=%s&side=%s&type=MARKET&quantity=%s&newOrderRespType=RESULT%s%s", symbol,
             side, qty, cid ? "&newClientOrderId=" : "", cid ? cid : "");
    return tb_signed(a, "POST", "/fapi/v1/order", params, body);
}

redisContext *tb_redis(int port, int acl)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err) {
        if (c) redisFree(c);
        return NULL;
    }
    if (acl) {
        redisReply *r = redisCommand(c, "AUTH admin test-admin");
        int ok = r && r->type == REDIS_REPLY_STATUS;
        if (r) freeReplyObject(r);
        if (!ok) {
            redisFree(c);
            return NULL;
        }
    }
    return c;
}

char *tb_hget(redisContext *c, const char *key, const char *field)
{
    redisReply *r = redisCommand(c, "HGET %s %s", key, field);
    char *out = NULL;
    if (r && r->type == REDIS_REPLY_STRING) out = strdup(r->str);
    if (r) freeReplyObject(r);
    return out;
}

char *tb_hget_member(redisContext *c, const char *key, const char *field, const char *member)
{
    char *s = tb_hget(c, key, field);
    if (!s) return NULL;
    json_t *j = json_loads(s, 0, NULL);
    free(s);
    char *out = NULL;
    json_t *v = json_object_get(j, member);
    if (json_is_string(v))
        out = strdup(json_string_value(v));
    else if (json_is_integer(v)) {
        char buf[32];
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        out = strdup(buf);
    }
    json_decref(j);
    return out;
}

long long tb_hlen(redisContext *c, const char *key)
{
    redisReply *r = redisCommand(c, "HLEN %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return n;
}

int tb_dec_eq(const char *a, const char *b)
{
    struct dec x, y;
    if (!a || !b || dec_parse(a, (size_t)-1, &x) != DEC_OK || dec_parse(b, (size_t)-1, &y) != DEC_OK)
        return 0;
    return dec_cmp(x, y) == 0;
}

/* ---- an account test's processes ---------------------------------------------------------- */

redisContext *tb_start(struct th_redis *r, struct th_sim *s, struct tb_account *a,
                       const char *acct_arg)
{
    const char *simargs[] = {"--account", acct_arg, "--symbols", "20", NULL};
    if (th_redis_start(r, 1) < 0 || th_sim_start(s, simargs) < 0) return NULL;
    a->base_url = s->url;
    return tb_redis(r->port, 1);
}

int tb_write_config(const char *path, const struct th_redis *r, const struct tb_account *a,
                    const char *extra)
{
    char url[256];
    th_redis_url_for(r, "account", url, sizeof url);
    FILE *f = th_fopen_private(path);
    if (!f) return -1;
    fprintf(f, "[redis]\nurl = %s\n[exchange]\nrest_url = %s\n[account.main]\napi_key = %s\n"
               "api_secret = %s\n%s", url, a->base_url, a->key, a->secret, extra ? extra : "");
    return fclose(f) == 0 ? 0 : -1;
}

pid_t tb_spawn_role(const char *conf, const char *role, const char *instance)
{
    char log[512];
    snprintf(log, sizeof log, "%s/%s-%s.log", th_tmpdir(), role, instance);
    const char *argv[] = {th_bfq_bin(), role, "--config", conf, "--instance", instance, NULL};
    return th_spawn(argv, log);
}

long long tb_hb_num(redisContext *c, const char *role, const char *instance, const char *name)
{
    redisReply *r = redisCommand(c, "GET bfq:hb:%s:%s", role, instance);
    long long v = -1;
    if (r && r->type == REDIS_REPLY_STRING) {
        json_t *j = json_loads(r->str, 0, NULL);
        json_t *x = json_object_get(j, name);
        if (json_is_integer(x)) v = json_integer_value(x);
        else if (json_is_boolean(x)) v = json_is_true(x);
        json_decref(j);
    }
    if (r) freeReplyObject(r);
    return v;
}
