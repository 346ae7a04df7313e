/* test_stoploss_util: helpers shared by the `bfq stoploss` integration tests
 * (test_risk_stoploss, test_risk_stoploss_algo): the exchange's open `sl_` algo orders and
 * their sum, waits on the ladder's cover, the order of a re-arm on the exchange's own times,
 * alerts and the exchange's mark. Header-only (static); include after test_trader_util.h. */
#ifndef BFQ_TEST_STOPLOSS_UTIL_H
#define BFQ_TEST_STOPLOSS_UTIL_H

#include "tests/integration/test_trader_util.h"

static __attribute__((unused)) struct dec D(const char *s) {
    struct dec d = {0, 0};
    if (!s || dec_parse(s, (size_t)-1, &d) != DEC_OK) fprintf(stderr, "# bad decimal %s\n", s);
    return d;
}

static __attribute__((unused)) const char *
fmt(struct dec d)
{
    static char buf[4][DEC_STR_MAX];
    static int k;
    k = (k + 1) % 4;
    if (dec_format_trim(d, buf[k], sizeof buf[k]) < 0) buf[k][0] = '\0';
    return buf[k];
}

/* The JSON array a signed GET of the exchange answers (new reference), NULL on any error. */
static __attribute__((unused)) json_t *signed_array(const char *path, const char *params)
{
    char *body = NULL;
    long code = tb_signed(&tt_acct, "GET", path, params, &body);
    json_t *a = code == 200 && body ? json_loads(body, 0, NULL) : NULL;
    free(body);
    if (!json_is_array(a)) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* The exchange's open `sl_` algo orders of sym (new reference), NULL on error. */
static __attribute__((unused)) json_t *open_stops(const char *sym)
{
    char params[64];
    snprintf(params, sizeof params, "symbol=%s", sym);
    json_t *a = signed_array("/fapi/v1/openAlgoOrders", params);
    if (!a) return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "clientAlgoId"));
        if (c && !strncmp(c, "sl_", 3)) json_array_append(out, e);
    }
    json_decref(a);
    return out;
}

static __attribute__((unused)) struct dec stops_sum(const json_t *a)
{
    struct dec t = {0, 0};
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (dec_add(t, D(json_string_value(json_object_get(e, "quantity"))), &t) != DEC_OK) break;
    }
    return t;
}

struct cover {
    const char *sym;
    const char *want; /* the exact quantity the open stops must sum to */
    int n;            /* and how many (0: any) */
};

/* Nonzero when the open stops a are what c wants. */
static __attribute__((unused)) int cover_is(const struct cover *c, const json_t *a)
{
    return a && (!c->n || (int)json_array_size(a) == c->n) &&
           dec_cmp(stops_sum(a), D(c->want)) == 0;
}

static __attribute__((unused)) int covered(void *arg)
{
    struct cover *c = arg;
    th_sleep_ms(100);
    json_t *a = open_stops(c->sym);
    int ok = cover_is(c, a);
    json_decref(a);
    return ok;
}

static __attribute__((unused)) int no_stops(void *sym)
{
    th_sleep_ms(100);
    json_t *a = open_stops(sym);
    int ok = a && json_array_size(a) == 0;
    json_decref(a);
    return ok;
}

static __attribute__((unused)) int in_list(const json_t *arr, const char *cid)
{
    size_t k;
    json_t *x;
    json_array_foreach(arr, k, x)
    {
        const char *c = json_string_value(json_object_get(x, "clientAlgoId"));
        if (c && cid && !strcmp(c, cid)) return 1;
    }
    return 0;
}

/* Every order of `fresh` was created no later than the first cancel of an order of `old`
 * (allAlgoOrders: createTime, and updateTime of the CANCELED ones). */
static __attribute__((unused)) void check_order(const char *sym, json_t *old, json_t *fresh)
{
    char params[64];
    snprintf(params, sizeof params, "symbol=%s", sym);
    json_t *all = signed_array("/fapi/v1/allAlgoOrders", params);
    CHECK(all != NULL);
    long long newest_create = 0, first_cancel = -1;
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
    {
        const char *c = json_string_value(json_object_get(e, "clientAlgoId"));
        const char *st = json_string_value(json_object_get(e, "algoStatus"));
        long long ct = json_integer_value(json_object_get(e, "createTime"));
        long long ut = json_integer_value(json_object_get(e, "updateTime"));
        if (in_list(fresh, c) && ct > newest_create) newest_create = ct;
        if (in_list(old, c) && st && !strcmp(st, "CANCELED") &&
            (first_cancel < 0 || ut < first_cancel))
            first_cancel = ut;
    }
    fprintf(stderr, "# newest new stop created %lld, first old stop cancelled %lld\n",
            newest_create, first_cancel);
    CHECK(newest_create > 0 && first_cancel >= newest_create);
    json_decref(all);
}

static __attribute__((unused)) int alert_with(void *text)
{
    redisReply *r = cu_cmd("XRANGE bfq:alerts - +");
    int found = 0;
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        redisReply *kv = r->element[i]->element[1];
        for (size_t j = 0; j + 1 < kv->elements; j += 2)
            if (!strcmp(kv->element[j]->str, "text") && strstr(kv->element[j + 1]->str, text))
                found = 1;
    }
    if (r) freeReplyObject(r);
    return found;
}

/* The exchange's mark price of sym (positionRisk), zero on error. */
static __attribute__((unused)) struct dec mark_of(const char *sym)
{
    char params[64];
    struct dec m = {0, 0};
    snprintf(params, sizeof params, "symbol=%s", sym);
    json_t *a = signed_array("/fapi/v2/positionRisk", params);
    const char *v = json_string_value(json_object_get(json_array_get(a, 0), "markPrice"));
    if (!v || dec_parse(v, (size_t)-1, &m) != DEC_OK) m = (struct dec){0, 0};
    json_decref(a);
    return m;
}

struct mark_at {
    const char *sym;
    struct dec limit;
};

/* The exchange's mark of the symbol is at or below the limit (and known). */
static __attribute__((unused)) int mark_at_most(void *arg)
{
    const struct mark_at *w = arg;
    struct dec m = mark_of(w->sym);
    th_sleep_ms(100);
    return !dec_is_zero(m) && dec_cmp(m, w->limit) <= 0;
}

#endif
