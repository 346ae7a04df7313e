/* limits: per-IP weight, bans and per-account order counts (see limits.h). */
#include "sim/limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ip_entry {
    char ip[LIMITS_IP_MAX];
    int64_t minute;       /* UTC minute of `used` */
    int64_t used;
    int64_t backoff_until; /* end of the 429 back-off (ms), 0 when none */
    int64_t ban_until;
    int bans;             /* bans so far: the next lasts base << bans */
    int64_t last_seen;
};

struct acct_entry {
    char name[64];
    int64_t win10, win60; /* window starts (ms / 10000, ms / 60000) */
    int64_t c10, c60;
    int64_t last_seen;
};

struct limits {
    int64_t weight_limit, ban_base_ms;
    int orders_10s, orders_1m;
    struct ip_entry ips[LIMITS_MAX_IPS];
    int nips;
    struct acct_entry accts[LIMITS_MAX_ACCOUNTS];
    int naccts;
};

struct limits *limits_new(int64_t weight_limit, int64_t ban_base_ms, int orders_10s, int orders_1m)
{
    struct limits *l = calloc(1, sizeof(*l));
    if (!l) return NULL;
    l->weight_limit = weight_limit;
    l->ban_base_ms = ban_base_ms;
    l->orders_10s = orders_10s;
    l->orders_1m = orders_1m;
    return l;
}

void limits_free(struct limits *l)
{
    free(l);
}

int64_t limits_weight_limit(const struct limits *l)
{
    return l->weight_limit;
}

static struct ip_entry *ip_find(struct limits *l, const char *ip, int64_t now_ms, int create)
{
    int stalest = 0;
    for (int i = 0; i < l->nips; i++) {
        if (!strcmp(l->ips[i].ip, ip)) return &l->ips[i];
        if (l->ips[i].last_seen < l->ips[stalest].last_seen) stalest = i;
    }
    if (!create) return NULL;
    struct ip_entry *e = l->nips < LIMITS_MAX_IPS ? &l->ips[l->nips++] : &l->ips[stalest];
    memset(e, 0, sizeof(*e));
    snprintf(e->ip, sizeof(e->ip), "%s", ip);
    e->last_seen = now_ms;
    return e;
}

static void ip_roll(struct ip_entry *e, int64_t now_ms)
{
    int64_t minute = now_ms / 60000;
    if (minute != e->minute) {
        e->minute = minute;
        e->used = 0;
    }
}

static int64_t ceil_s(int64_t ms)
{
    return ms <= 0 ? 0 : (ms + 999) / 1000;
}

enum limits_verdict limits_charge(struct limits *l, const char *ip, int weight, int64_t now_ms,
                                  int64_t *used, int64_t *retry_after_s, int64_t *until_ms)
{
    struct ip_entry *e = ip_find(l, ip, now_ms, 1);
    e->last_seen = now_ms;
    ip_roll(e, now_ms);
    *retry_after_s = 0;
    *until_ms = 0;
    if (e->ban_until > now_ms) {
        *used = e->used;
        *until_ms = e->ban_until;
        *retry_after_s = ceil_s(e->ban_until - now_ms);
        return LIMITS_418;
    }
    if (e->backoff_until > now_ms) {
        /* told to wait and sent anyway: ban, doubling each time */
        int shift = e->bans < 20 ? e->bans : 20;
        e->ban_until = now_ms + (l->ban_base_ms << shift);
        e->bans++;
        e->backoff_until = 0;
        *used = e->used;
        *until_ms = e->ban_until;
        *retry_after_s = ceil_s(e->ban_until - now_ms);
        return LIMITS_418;
    }
    e->used += weight;
    *used = e->used;
    if (e->used > l->weight_limit) {
        int64_t next_minute = (now_ms / 60000 + 1) * 60000;
        e->backoff_until = next_minute;
        *until_ms = next_minute;
        *retry_after_s = ceil_s(next_minute - now_ms);
        return LIMITS_429;
    }
    return LIMITS_OK;
}

int64_t limits_used(struct limits *l, const char *ip, int64_t now_ms)
{
    struct ip_entry *e = ip_find(l, ip, now_ms, 0);
    if (!e) return 0;
    ip_roll(e, now_ms);
    return e->used;
}

static struct acct_entry *acct_find(struct limits *l, const char *name, int64_t now_ms)
{
    int stalest = 0;
    for (int i = 0; i < l->naccts; i++) {
        if (!strcmp(l->accts[i].name, name)) return &l->accts[i];
        if (l->accts[i].last_seen < l->accts[stalest].last_seen) stalest = i;
    }
    struct acct_entry *a = l->naccts < LIMITS_MAX_ACCOUNTS ? &l->accts[l->naccts++] : &l->accts[stalest];
    memset(a, 0, sizeof(*a));
    snprintf(a->name, sizeof(a->name), "%s", name);
    a->last_seen = now_ms;
    return a;
}

static void acct_roll(struct acct_entry *a, int64_t now_ms)
{
    if (now_ms / 10000 != a->win10) {
        a->win10 = now_ms / 10000;
        a->c10 = 0;
    }
    if (now_ms / 60000 != a->win60) {
        a->win60 = now_ms / 60000;
        a->c60 = 0;
    }
    a->last_seen = now_ms;
}

int limits_orders_full(struct limits *l, const char *account, int n10, int n1m, int64_t now_ms,
                       const char **which, int *limit)
{
    struct acct_entry *a = acct_find(l, account, now_ms);
    acct_roll(a, now_ms);
    if (a->c10 + n10 > l->orders_10s) {
        *which = "10 SECOND";
        *limit = l->orders_10s;
        return 1;
    }
    if (a->c60 + n1m > l->orders_1m) {
        *which = "1 MINUTE";
        *limit = l->orders_1m;
        return 1;
    }
    return 0;
}

void limits_orders_add(struct limits *l, const char *account, int n10, int n1m, int64_t now_ms)
{
    struct acct_entry *a = acct_find(l, account, now_ms);
    acct_roll(a, now_ms);
    a->c10 += n10;
    a->c60 += n1m;
}

void limits_orders_counts(struct limits *l, const char *account, int64_t now_ms, int64_t *c10s,
                          int64_t *c1m)
{
    struct acct_entry *a = acct_find(l, account, now_ms);
    acct_roll(a, now_ms);
    *c10s = a->c10;
    *c1m = a->c60;
}

void limits_weights_json(struct limits *l, int64_t now_ms, struct sbuf *out)
{
    sbuf_addc(out, '{');
    int first = 1;
    for (int i = 0; i < l->nips; i++) {
        struct ip_entry *e = &l->ips[i];
        ip_roll(e, now_ms);
        if (!e->used) continue;
        if (!first) sbuf_addc(out, ',');
        first = 0;
        sbuf_add_jstr(out, e->ip);
        sbuf_addc(out, ':');
        sbuf_addi(out, e->used);
    }
    sbuf_addc(out, '}');
}
