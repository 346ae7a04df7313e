/* ustream: listen keys (see ustream.h). */
#include "sim/ustream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lkey {
    char key[USTREAM_KEY_LEN + 1];
    char account[64];
    int64_t expires_ms;
};

struct ustream {
    struct lkey v[USTREAM_MAX_KEYS];
    int n;
    int64_t ttl_ms;
    uint64_t rng;
};

struct ustream *ustream_new(uint64_t seed, int64_t ttl_ms)
{
    struct ustream *u = calloc(1, sizeof(*u));
    if (!u) return NULL;
    u->ttl_ms = ttl_ms;
    u->rng = seed ^ 0x6a09e667f3bcc909ULL;
    if (!u->rng) u->rng = 1;
    return u;
}

void ustream_free(struct ustream *u)
{
    free(u);
}

static uint64_t rnd(struct ustream *u)
{
    u->rng ^= u->rng >> 12;
    u->rng ^= u->rng << 25;
    u->rng ^= u->rng >> 27;
    return u->rng * 2685821657736338717ULL;
}

static struct lkey *by_account(struct ustream *u, const char *account)
{
    for (int i = 0; i < u->n; i++)
        if (!strcmp(u->v[i].account, account)) return &u->v[i];
    return NULL;
}

static void drop(struct ustream *u, struct lkey *k)
{
    *k = u->v[--u->n];
}

const char *ustream_post(struct ustream *u, const char *account, int64_t now_ms)
{
    struct lkey *k = by_account(u, account);
    if (k && k->expires_ms > now_ms) {
        k->expires_ms = now_ms + u->ttl_ms;
        return k->key;
    }
    if (!k) {
        if (u->n >= USTREAM_MAX_KEYS) return NULL;
        k = &u->v[u->n++];
    }
    static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < USTREAM_KEY_LEN; i++) k->key[i] = alnum[rnd(u) % 62];
    k->key[USTREAM_KEY_LEN] = '\0';
    snprintf(k->account, sizeof(k->account), "%s", account);
    k->expires_ms = now_ms + u->ttl_ms;
    return k->key;
}

int ustream_put(struct ustream *u, const char *account, int64_t now_ms)
{
    struct lkey *k = by_account(u, account);
    if (!k || k->expires_ms <= now_ms) return -1;
    k->expires_ms = now_ms + u->ttl_ms;
    return 0;
}

int ustream_delete(struct ustream *u, const char *account)
{
    struct lkey *k = by_account(u, account);
    if (k) drop(u, k);
    return 0;
}

const char *ustream_account(struct ustream *u, const char *key, int64_t now_ms)
{
    for (int i = 0; i < u->n; i++)
        if (!strcmp(u->v[i].key, key)) return u->v[i].expires_ms > now_ms ? u->v[i].account : NULL;
    return NULL;
}

void ustream_expire(struct ustream *u, int64_t now_ms, ustream_expired_fn *fn, void *privdata)
{
    for (int i = 0; i < u->n;) {
        if (u->v[i].expires_ms <= now_ms) {
            struct lkey k = u->v[i];
            drop(u, &u->v[i]);
            fn(k.key, k.account, privdata);
        } else {
            i++;
        }
    }
}

int ustream_count(const struct ustream *u)
{
    return u->n;
}

void ustream_json(const struct ustream *u, struct sbuf *out)
{
    sbuf_addc(out, '[');
    for (int i = 0; i < u->n; i++) {
        if (i) sbuf_addc(out, ',');
        sbuf_adds(out, "{\"account\":");
        sbuf_add_jstr(out, u->v[i].account);
        sbuf_adds(out, ",\"listenKey\":");
        sbuf_add_jstr(out, u->v[i].key);
        sbuf_adds(out, ",\"expires\":");
        sbuf_addi(out, u->v[i].expires_ms);
        sbuf_addc(out, '}');
    }
    sbuf_addc(out, ']');
}
