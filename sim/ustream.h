/* ustream: listen keys of the user-data stream.
 *
 * One key per account, as Binance keeps it: POST returns the active key if there is one (and
 * extends it), otherwise a new 64-character key; PUT extends the active key or answers -1125
 * when it has expired or was closed; DELETE closes it. A key lives ttl_ms after its last
 * POST/PUT. ustream_expire() reports each key the moment it expires, once, so the server can
 * push listenKeyExpired to its connections. Keys are drawn from a PRNG seeded by --seed. */
#ifndef BFQ_SIM_USTREAM_H
#define BFQ_SIM_USTREAM_H

#include <stdint.h>

#include "core/sbuf.h"

#define USTREAM_KEY_LEN 64
#define USTREAM_MAX_KEYS 1024

struct ustream;

struct ustream *ustream_new(uint64_t seed, int64_t ttl_ms);
void ustream_free(struct ustream *u);

/* The account's active key (extended) or a new one; NULL when the table is full. */
const char *ustream_post(struct ustream *u, const char *account, int64_t now_ms);
/* Extends the account's active key; 0, or -1 when it has none (-1125). */
int ustream_put(struct ustream *u, const char *account, int64_t now_ms);
/* Closes the account's key; returns 0 (closing nothing is not an error, as on Binance). */
int ustream_delete(struct ustream *u, const char *account);
/* The account of a live key, or NULL when the key is unknown, expired or closed. */
const char *ustream_account(struct ustream *u, const char *key, int64_t now_ms);

typedef void ustream_expired_fn(const char *key, const char *account, void *privdata);
/* Calls fn once for each key that has expired by now_ms, then forgets the key. */
void ustream_expire(struct ustream *u, int64_t now_ms, ustream_expired_fn *fn, void *privdata);

int ustream_count(const struct ustream *u);
/* [{"account":..,"listenKey":..,"expires":ms},...] */
void ustream_json(const struct ustream *u, struct sbuf *out);

#endif
