/* status_trading: the trading section of `bfq status` (see status_trading.h). Reads with
 * plain synchronous commands: `bfq status` is a one-shot command. */
#include "collectors/status_trading.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonval.h"

#define ST_KEY_MAX 256

/* The members of a heartbeat a section row shows, copied (absent ones left out). */
static const char *const st_trader_keys[] = {
    "instance",      "account", "strategy", "send",    "ready",   "watched", "symbols", "stale",
    "stale_symbols", "signals", "emitted",  "repeats", "skipped", "t",       NULL};
static const char *const st_gateway_keys[] = {
    "instance", "account", "intents", "sent",          "duplicates", "denied", "denied_by",
    "rejected", "unknown", "pending", "group_pending", "in_flight",  "t",      NULL};

static void st_collect_key(const char *key, void *privdata)
{
    json_array_append_new(privdata, json_string(key));
}

static int st_cmp_instance(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "instance"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "instance"));
    return strcmp(x ? x : "", y ? y : "");
}

/* Every heartbeat of role, as rows of the listed members, sorted by instance. */
static json_t *st_rows(const struct status_ctx *ctx, const char *role, const char *const *keys)
{
    char pattern[ST_KEY_MAX];
    json_t *names = json_array(), *rows = json_array(), *k;
    size_t i;
    snprintf(pattern, sizeof pattern, "%shb:%s:*", ctx->prefix, role);
    (void)status_scan(ctx, pattern, st_collect_key, names);
    json_array_foreach(names, i, k)
    {
        redisReply *r = redisCommand(ctx->c, "GET %s", json_string_value(k));
        json_t *hb = r && r->type == REDIS_REPLY_STRING ? jv_parse(r->str, r->len, NULL, 0) : NULL;
        if (r) freeReplyObject(r);
        if (!json_is_object(hb)) {
            json_decref(hb);
            continue; /* expired between SCAN and GET */
        }
        json_t *row = json_object();
        for (const char *const *m = keys; *m; m++) {
            json_t *v = json_object_get(hb, *m);
            if (v) json_object_set(row, *m, v);
        }
        json_decref(hb);
        json_array_append_new(rows, row);
    }
    json_decref(names);
    size_t n = json_array_size(rows);
    json_t **v = malloc(sizeof(*v) * (n ? n : 1));
    if (!v) return rows;
    for (i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(rows, i));
    qsort(v, n, sizeof(*v), st_cmp_instance);
    json_array_clear(rows);
    for (i = 0; i < n; i++)
        json_array_append_new(rows, v[i]);
    free(v);
    return rows;
}

static void st_state_key(const char *key, void *privdata)
{
    json_t *names = privdata;
    const char *p = strstr(key, "risk:state:");
    if (p && p[11] && strlen(p + 11) < 64) json_object_set_new(names, p + 11, json_true());
}

/* The trading state of account name: {"state","reason","src","age_ms"}. */
static json_t *st_state(const struct status_ctx *ctx, const char *name)
{
    json_t *o = json_object();
    redisReply *r =
        redisCommand(ctx->c, "HMGET %srisk:state:%s state reason src t", ctx->prefix, name);
    const char *f[4] = {NULL, NULL, NULL, NULL};
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements && i < 4; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING) f[i] = r->element[i]->str;
    /* no key: ACTIVE (the gateways' rule); anything unparseable they treat as HALTED */
    json_object_set_new(o, "state", json_string(f[0] ? f[0] : "ACTIVE"));
    json_object_set_new(o, "reason", json_string(f[1] ? f[1] : (f[0] ? "" : "no state key")));
    json_object_set_new(o, "src", json_string(f[2] ? f[2] : ""));
    int64_t t = f[3] ? strtoll(f[3], NULL, 10) : 0;
    json_object_set_new(o, "age_ms", t > 0 ? json_integer(ctx->now - t) : json_null());
    if (r) freeReplyObject(r);
    return o;
}

static void st_add_accounts(json_t *names, const json_t *rows)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        const char *a = json_string_value(json_object_get(row, "account"));
        if (a && a[0]) json_object_set_new(names, a, json_true());
    }
}

json_t *status_trading_collect(const struct status_ctx *ctx, char *err, size_t errcap)
{
    char pattern[ST_KEY_MAX];
    json_t *names = json_object(), *accounts = json_object(), *v;
    const char *name;
    snprintf(pattern, sizeof pattern, "%srisk:state:*", ctx->prefix);
    if (status_scan(ctx, pattern, st_state_key, names) < 0) {
        snprintf(err, errcap, "scanning trading states failed");
        json_decref(names);
        json_decref(accounts);
        return NULL;
    }
    json_t *traders = st_rows(ctx, "trader", st_trader_keys);
    json_t *gateways = st_rows(ctx, "gateway", st_gateway_keys);
    st_add_accounts(names, traders);
    st_add_accounts(names, gateways);
    json_object_foreach(names, name, v) json_object_set_new(accounts, name, st_state(ctx, name));
    json_decref(names);
    json_t *o = json_object();
    json_object_set_new(o, "accounts", accounts);
    json_object_set_new(o, "traders", traders);
    json_object_set_new(o, "gateways", gateways);
    return o;
}

static long long st_int(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static const char *st_str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && s[0] ? s : "-";
}

/* "  <label> K=N K=N ..." for an object of counts, or nothing when it is empty. */
static void st_print_counts(FILE *out, const char *label, const json_t *o)
{
    const char *k;
    json_t *v;
    if (!json_object_size(o)) return;
    fprintf(out, "      %s", label);
    json_object_foreach((json_t *)o, k, v)
        fprintf(out, " %s=%lld", k, (long long)json_integer_value(v));
    fprintf(out, "\n");
}

static void st_print_traders(const json_t *rows, FILE *out)
{
    size_t i;
    json_t *t, *s;
    fprintf(out, "  traders: %zu\n", json_array_size(rows));
    if (!json_array_size(rows)) return;
    fprintf(out, "    %-20s %-8s %-10s %-7s %7s %6s %8s %8s\n", "INSTANCE", "ACCOUNT", "STRATEGY",
            "SEND", "SYMBOLS", "STALE", "SIGNALS", "INTENTS");
    json_array_foreach(rows, i, t)
    {
        long long w = st_int(t, "watched");
        fprintf(out, "    %-20s %-8s %-10s %-7s %7lld %6lld %8lld %8lld\n", st_str(t, "instance"),
                st_str(t, "account"), st_str(t, "strategy"), st_str(t, "send"),
                w >= 0 ? w : st_int(t, "symbols"), st_int(t, "stale"), st_int(t, "signals"),
                st_int(t, "emitted"));
        const json_t *stale = json_object_get(t, "stale_symbols");
        if (json_array_size(stale)) {
            size_t k;
            fprintf(out, "      stale:");
            json_array_foreach(stale, k, s) fprintf(out, " %s", json_string_value(s));
            fprintf(out, "%s\n",
                    st_int(t, "stale") > (long long)json_array_size(stale) ? " ..." : "");
        }
        st_print_counts(out, "skipped:", json_object_get(t, "skipped"));
    }
}

static void st_print_gateways(const json_t *rows, FILE *out)
{
    size_t i;
    json_t *g;
    fprintf(out, "  gateways: %zu\n", json_array_size(rows));
    if (!json_array_size(rows)) return;
    fprintf(out, "    %-20s %-8s %8s %8s %6s %7s %9s %8s %8s\n", "INSTANCE", "ACCOUNT", "INTENTS",
            "SENT", "DUPS", "DENIED", "REJECTED", "UNKNOWN", "PENDING");
    json_array_foreach(rows, i, g)
    {
        fprintf(out, "    %-20s %-8s %8lld %8lld %6lld %7lld %9lld %8lld %8lld\n",
                st_str(g, "instance"), st_str(g, "account"), st_int(g, "intents"),
                st_int(g, "sent"), st_int(g, "duplicates"), st_int(g, "denied"),
                st_int(g, "rejected"), st_int(g, "unknown"), st_int(g, "pending"));
        st_print_counts(out, "denied:", json_object_get(g, "denied_by"));
    }
}

void status_trading_print(const json_t *value, const struct status_ctx *ctx, FILE *out)
{
    const char *name;
    json_t *a;
    (void)ctx;
    fprintf(out, "trading:\n");
    json_object_foreach((json_t *)json_object_get(value, "accounts"), name, a)
    {
        char age[32];
        status_format_age(st_int(a, "age_ms"), age, sizeof age);
        fprintf(out, "  account %-10s %-9s reason %s  src %s  age %s\n", name, st_str(a, "state"),
                st_str(a, "reason"), st_str(a, "src"), age);
    }
    st_print_traders(json_object_get(value, "traders"), out);
    st_print_gateways(json_object_get(value, "gateways"), out);
}
