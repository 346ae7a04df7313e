/* status_account: the accounts section of `bfq status` (see status_account.h). Reads with
 * plain synchronous commands: `bfq status` is a one-shot command. */
#include "collectors/status_account.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonval.h"

#define SA_KEY_MAX 256

static void sa_collect_name(const char *key, void *privdata)
{
    json_t *names = privdata;
    const char *p = strstr(key, "acct:");
    if (!p) return;
    p += 5;
    size_t n = strcspn(p, ":");
    if (n == 0 || n >= 64 || strcmp(p + n, ":pos")) return;
    char name[64];
    memcpy(name, p, n);
    name[n] = '\0';
    json_object_set_new(names, name, json_true());
}

json_t *status_hash(const struct status_ctx *ctx, const char *key)
{
    json_t *o = json_object();
    redisReply *r = redisCommand(ctx->c, "HGETALL %s", key);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING) continue;
        json_t *j = jv_parse(v->str, v->len, NULL, 0);
        json_object_set_new(o, k->str, j ? j : json_string(v->str));
    }
    if (r) freeReplyObject(r);
    return o;
}

static int64_t sa_int(const json_t *v)
{
    if (json_is_integer(v)) return json_integer_value(v);
    if (json_is_string(v)) return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

static json_t *sa_positions(const struct status_ctx *ctx, const char *acct)
{
    char key[SA_KEY_MAX];
    snprintf(key, sizeof key, "%sacct:%s:pos", ctx->prefix, acct);
    json_t *all = status_hash(ctx, key), *open = json_object(), *rec;
    const char *field;
    json_object_foreach(all, field, rec) {
        const char *amt = json_string_value(json_object_get(rec, "amt"));
        if (amt && strcmp(amt, "0")) json_object_set(open, field, rec);
    }
    json_decref(all);
    return open;
}

static json_t *sa_sources(const struct status_ctx *ctx, const char *acct)
{
    static const char *const names[] = {"account", "positionrisk", "userstream"};
    json_t *o = json_object();
    for (size_t i = 0; i < 3; i++) {
        char key[SA_KEY_MAX];
        snprintf(key, sizeof key, "%sacct:%s:src:%s", ctx->prefix, acct, names[i]);
        json_t *h = status_hash(ctx, key);
        int64_t seen = sa_int(json_object_get(h, "seen"));
        json_object_set_new(h, "age_ms", json_integer(seen ? ctx->now - seen : -1));
        json_object_set_new(o, names[i], h);
    }
    return o;
}

static json_t *sa_account(const struct status_ctx *ctx, const char *acct)
{
    char key[SA_KEY_MAX];
    json_t *a = json_object();
    json_object_set_new(a, "positions", sa_positions(ctx, acct));
    snprintf(key, sizeof key, "%sacct:%s:bal", ctx->prefix, acct);
    json_object_set_new(a, "balances", status_hash(ctx, key));
    json_object_set_new(a, "sources", sa_sources(ctx, acct));
    snprintf(key, sizeof key, "%sacct:%s:orders", ctx->prefix, acct);
    redisReply *r = redisCommand(ctx->c, "HLEN %s", key);
    json_object_set_new(a, "open_orders",
                        json_integer(r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0));
    if (r) freeReplyObject(r);
    snprintf(key, sizeof key, "%sacct:%s:flags", ctx->prefix, acct);
    json_object_set_new(a, "flags", status_hash(ctx, key));
    return a;
}

json_t *status_accounts_collect(const struct status_ctx *ctx, char *err, size_t errcap)
{
    char pattern[SA_KEY_MAX];
    snprintf(pattern, sizeof pattern, "%sacct:*:pos", ctx->prefix);
    json_t *names = json_object();
    if (status_scan(ctx, pattern, sa_collect_name, names) < 0) {
        snprintf(err, errcap, "scanning accounts failed");
        json_decref(names);
        return NULL;
    }
    json_t *out = json_object();
    const char *name;
    json_t *v;
    json_object_foreach(names, name, v) json_object_set_new(out, name, sa_account(ctx, name));
    json_decref(names);
    return out;
}

static const char *sa_str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static void sa_print_account(const char *name, const json_t *a, FILE *out)
{
    fprintf(out, "  %s: open orders %lld\n", name,
            (long long)json_integer_value(json_object_get(a, "open_orders")));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(a, "sources"), k, v) {
        char age[32];
        status_format_age(sa_int(json_object_get(v, "age_ms")), age, sizeof age);
        const char *e = json_string_value(json_object_get(v, "err"));
        fprintf(out, "    source %-13s age %-8s last error %s\n", k, age, e && e[0] ? e : "-");
    }
    json_object_foreach(json_object_get(a, "positions"), k, v)
        fprintf(out, "    pos %-20s amt %-14s entry %-14s src %s\n", k,
                sa_str(v, "amt"),
                sa_str(v, "entry"),
                sa_str(v, "src"));
    json_object_foreach(json_object_get(a, "balances"), k, v) {
        const char *w = json_string_value(json_object_get(v, "wallet"));
        if (!w || !strcmp(w, "0")) continue;
        fprintf(out, "    bal %-10s wallet %-18s available %s\n", k, w,
                sa_str(v, "available"));
    }
    json_object_foreach(json_object_get(a, "flags"), k, v)
        fprintf(out, "    FLAG %s\n", k);
}

void status_accounts_print(const json_t *value, const struct status_ctx *ctx, FILE *out)
{
    (void)ctx;
    fprintf(out, "accounts:\n");
    const char *name;
    json_t *a;
    json_object_foreach((json_t *)value, name, a) sa_print_account(name, a, out);
}
