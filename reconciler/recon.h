/* recon: the C calls into the reconciler (the Redis Functions library reconciler/bfq.lua).
 *
 * Each call is one FCALL on an rconn command connection; the decision "freshest wins" and the
 * publish of what changed happen inside Redis, atomically. Keys and channels are built by the
 * callers (with their configured prefix, "bfq:" by default) and passed in whole, so this module
 * knows no key layout. Times (t) are exchange milliseconds, uid the exchange's update id (0 when
 * the source has none); both must be >= 0.
 *
 * Sending follows rconn: a call returns 0 when the command was sent, and its callback then runs
 * exactly once from the loop (with err set when Redis answered an error or the connection was
 * lost); it returns -1 when the connection is down or the arguments are bad, and the callback
 * is NOT called. */
#ifndef BFQ_RECON_H
#define BFQ_RECON_H

#include <stddef.h>
#include <stdint.h>

struct rconn;

/* The library source, embedded at build time (NUL-terminated); pass it as
 * rconn_options.lua_library. */
extern const char bfq_lua_library[];
extern const size_t bfq_lua_library_len;

#define RECON_FIELD_MAX 256          /* bytes of one field name */
#define RECON_VALUE_MAX (1u << 20)   /* bytes of one JSON value or message */
#define RECON_BATCH_MAX 20000        /* records in one batch */

/* Result of bfq_merge (value = records changed; in merge mode a record whose members only got
 * newer times is written but not counted) and bfq_put (value = 1 replaced, 0 kept).
 * On failure value is -1 and err says why (a Redis error text, or "connection lost"); err is
 * NULL on success and valid only during the call. */
typedef void recon_int_fn(int64_t value, const char *err, void *privdata);

/* Result of bfq_next: symbol and its index in the universe list, or symbol == NULL with
 * err == NULL when the universe is empty, or symbol == NULL with err set on failure. symbol is
 * valid only during the call. */
typedef void recon_next_fn(const char *symbol, int64_t index, const char *err, void *privdata);

/* Result of bfq_universe: the universe version after the call and whether it changed;
 * version -1 with err on failure. */
typedef void recon_universe_fn(int64_t version, int changed, const char *err, void *privdata);

enum recon_mode {
    RECON_REPLACE, /* the newer record replaces the stored one whole */
    RECON_MERGE    /* freshest wins per JSON member: each member keeps its own time (stored
                      in the record's "ft" when older than the record's t); an incoming
                      record may time members itself with "ft":{"member":T}; members it
                      lacks, or that are newer in the stored record, are kept (bfq.lua) */
};

/* A batch of records for one bfq_merge call: state hash state_key (field -> JSON), its
 * companion ts_key (field -> "t:uid"), the channel to publish the changes on ("" or NULL: no
 * publish) under message key msg_key ("ticks", "pos", "bal", "orders"). Strings are copied.
 * Returns NULL on allocation failure or an over-long argument. Owned by the caller until
 * recon_batch_send, which consumes it. */
struct recon_batch *recon_batch_new(const char *state_key, const char *ts_key,
                                    const char *channel, const char *msg_key,
                                    enum recon_mode mode);

/* Adds one record: field, its JSON (NULL or "" deletes the field when newer), its exchange
 * time and update id, and the JSON to publish for it (NULL: json itself). Returns 0, or -1
 * (nothing added) when a cap is passed or memory runs out. */
int recon_batch_add(struct recon_batch *b, const char *field, const char *json, int64_t t,
                    int64_t uid, const char *pubjson) __attribute__((warn_unused_result));

size_t recon_batch_count(const struct recon_batch *b);

/* Sends the batch and frees it (also when it returns -1). An empty batch is not sent: it
 * returns -1 like a down connection and fn is not called (check recon_batch_count first). */
int recon_batch_send(struct rconn *rc, struct recon_batch *b, recon_int_fn *fn, void *privdata);

void recon_batch_free(struct recon_batch *b);

/* bfq_put: replaces the record hash key by fields[i] = values[i] (plus t and uid) when (t, uid)
 * is newer than the stored one, and then publishes message on channel ("" or NULL: none). */
int recon_put(struct rconn *rc, const char *key, const char *channel, const char *message,
              int64_t t, int64_t uid, int nfields, const char *const *fields,
              const char *const *values, recon_int_fn *fn, void *privdata);

/* bfq_next: the next symbol of the shared cursor cursor_key over the list list_key. */
int recon_next(struct rconn *rc, const char *cursor_key, const char *list_key, recon_next_fn *fn,
               void *privdata);

/* bfq_universe: makes list_key hold exactly symbols[0..n) keeping every existing symbol's
 * index (swap-remove for removals, appends for additions); on change bumps version_key and
 * publishes {"version","added","removed","moved"} on channel ("" or NULL: none). */
int recon_universe(struct rconn *rc, const char *list_key, const char *version_key,
                   const char *channel, const char *const *symbols, int n, recon_universe_fn *fn,
                   void *privdata);

/* Prunes the tombstones of state_key: the entries of its companion ts_key (field -> "t:uid")
 * whose field is absent from state_key and whose t < before_ms (exchange ms), that is the
 * trace bfq_merge keeps of every deleted field. Walks ts_key in steps of RECON_PRUNE_STEP
 * fields (one FCALL bfq_prune each, so Redis is never held long), then calls fn once with the
 * number pruned, or -1 and err when a step failed (what earlier steps pruned stays pruned).
 * Keys are copied. Returns 0 when the first step was sent, -1 like the other calls. */
#define RECON_PRUNE_STEP 200
int recon_prune(struct rconn *rc, const char *state_key, const char *ts_key, int64_t before_ms,
                recon_int_fn *fn, void *privdata);

#endif
