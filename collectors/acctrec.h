/* acctrec: account records (positions and balances) shared by the three account sources.
 *
 * `bfq account`, `bfq positionrisk` and `bfq userstream` read the same account three ways
 * (REST /fapi/v2|v3/account, REST /fapi/v2|v3/positionRisk, the user-data stream). This module
 * turns each answer or event into one batch of records and writes the batch through the
 * reconciler (bfq_merge), so "freshest wins" is decided inside Redis:
 *
 *   <p>acct:<a>:pos      field SYM:SIDE -> {"amt","entry","upnl","t","src"}  (open
 *                        positions in merge mode, per member: REST records time "upnl" with
 *                        the snapshot's time, acctrec_upnl_t, so it stays live; flat ones,
 *                        amt, entry and upnl "0", in replace mode: nothing in them is
 *                        snapshot-timed, and replace costs a tenth of merge inside Redis)
 *   <p>acct:<a>:bal      field ASSET    -> {"wallet","cross","available","t","src"} (merge mode,
 *                        per member: members a source lacks, e.g. "available" on the stream,
 *                        are kept, and each member is taken only when its own time is newer;
 *                        REST records time "available" with the request's send time, because
 *                        it moves with the mark price without a new updateTime)
 *   <p>acct:<a>:pos:ts, <p>acct:<a>:bal:ts   the reconciler's "t:uid" companions
 *   <p>ch:acct:<a>       {"t":..,"pos":{changed}} and {"t":..,"bal":{changed}}: two messages,
 *                        one per bfq_merge call (a batch with both kinds sends both)
 *   <p>acct:<a>:view:<src>  this source's latest position records (bfq_merge replace mode,
 *                        no publish, timed by the position's change alone): what the watchdog
 *                        compares to detect disagreeing sources
 *   <p>acct:<a>:src:<src>   health: t (exchange ms of the last good answer), seen (local wall
 *                        ms of it), err and err_at (last error and when)
 *
 * Decimals stay exact decimal strings; they are normalised (trailing zeros trimmed, "0.000"
 * -> "0") so that the sources' records compare equal as text. Every record carries the
 * exchange time of that position or asset (updateTime, or the event time E on the stream). A
 * flat position is written as amt "0", so nothing lingers. A snapshot that lists only open
 * positions (v3) is marked complete: positions this sink had seen open and the snapshot no
 * longer lists are written as amt "0" with the batch's absent_t.
 *
 * Single-threaded, on the role's loop. The sink borrows the role (its rconn and prefix). */
#ifndef BFQ_ACCTREC_H
#define BFQ_ACCTREC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decimal.h"

struct binance_client;
struct binance_result;
struct role;

#define ACCTREC_FIELD_MAX 64      /* "SYMBOL:SIDE" or an asset name */
#define ACCTREC_MAX_RECORDS 8192  /* positions or balances in one answer; more is refused */
#define ACCTREC_SRC_MAX 32

struct acctrec_pos {
    char field[ACCTREC_FIELD_MAX]; /* "BTCUSDT:BOTH" */
    char amt[DEC_STR_MAX];         /* signed, normalised */
    char entry[DEC_STR_MAX];       /* "" when the source has none (v3 account) */
    char upnl[DEC_STR_MAX];        /* "" when the source has none */
    int64_t t;                     /* exchange ms of this position's last change, 0 = never */
};

struct acctrec_bal {
    char asset[ACCTREC_FIELD_MAX];
    char wallet[DEC_STR_MAX];      /* "" = the source lacks it (kept from the stored record) */
    char cross[DEC_STR_MAX];
    char available[DEC_STR_MAX];
    int64_t t;                     /* exchange ms of the asset's last balance event */
};

/* A batch of records from one answer or event. Owns its arrays (acctrec_batch_free). */
struct acctrec_batch {
    struct acctrec_pos *pos;
    size_t npos, cap_pos;
    struct acctrec_bal *bal;
    size_t nbal, cap_bal;
    int complete;     /* lists every open position: those missing are flat (see top) */
    int64_t absent_t; /* t for positions written flat because they are missing */
    int64_t uid;      /* update id of every record (stream: arrival order; REST: 0) */
    int64_t t_max;    /* newest t in the batch (event E for the stream) */
    int64_t snap_t;   /* REST: the request's send time on the exchange clock (0 = none); times
                         the balance members that move with the mark price ("available")
                         instead of updateTime, see acctrec_sent_exch_ms */
};

void acctrec_batch_init(struct acctrec_batch *b);
void acctrec_batch_clear(struct acctrec_batch *b);
void acctrec_batch_free(struct acctrec_batch *b);

/* Parsers: fill b from a parsed answer or event (appending). On error return -1 with a reason
 * in err; b must then be discarded (cleared): a malformed answer is never written in part. */

/* GET /fapi/v2/account or /fapi/v3/account: assets[] and positions[]. v3 lists only open
 * positions, so it marks the batch complete (the caller sets absent_t). */
int acctrec_parse_account(const json_t *root, int version, struct acctrec_batch *b, char *err,
                          size_t errcap) __attribute__((warn_unused_result));
/* GET /fapi/v2/positionRisk or /fapi/v3/positionRisk: an array of positions. */
int acctrec_parse_positionrisk(const json_t *root, int version, struct acctrec_batch *b,
                               char *err, size_t errcap) __attribute__((warn_unused_result));
/* An ACCOUNT_UPDATE event: a.B balances (wb, cw; bc ignored) and a.P positions (pa, ep, up,
 * ps; bep, cr, mt, iw, ma ignored), every record with t = E (see docs/account.md). */
int acctrec_parse_account_update(const json_t *ev, struct acctrec_batch *b, char *err,
                                 size_t errcap) __attribute__((warn_unused_result));

/* Refuses a parsed batch holding an exchange time (a record's t or t_max) later than limit
 * (binance_time_limit of the source's client): such a record would win "freshest wins" until
 * real time caught up. Returns 0, or -1 with "time ... is ahead of the exchange clock" in err;
 * the caller then discards the whole batch as malformed, as after a parser error. */
int acctrec_batch_check_time(const struct acctrec_batch *b, int64_t limit, char *err,
                             size_t errcap) __attribute__((warn_unused_result));

/* The send time of request res on the exchange clock (its local send wall ms plus the
 * client's measured server-time offset). A REST snapshot was computed at some exchange time
 * >= this, so it is a safe freshness for values the answer does not time-stamp: any event
 * newer than it is newer than the snapshot. */
int64_t acctrec_sent_exch_ms(const struct binance_client *bc, const struct binance_result *res);

/* The time of a REST snapshot's unrealized PnL: its send time on the exchange clock
 * (snap_t, acctrec_sent_exch_ms) minus ACCTREC_SNAP_MARGIN_MS, 0 when there is no snapshot.
 * The margin covers the clock-sync error, so a position closed just after the snapshot was
 * sent (its flat record: upnl "0" at its updateTime or event time) always wins over the
 * snapshot's last PnL, and a flat position never keeps one. */
#define ACCTREC_SNAP_MARGIN_MS 1000
int64_t acctrec_upnl_t(int64_t snap_t);

/* Normalises a decimal string field into out (DEC_STR_MAX): "0.000" -> "0", "1.50" -> "1.5".
 * Returns 0 or -1 (not a decimal). */
int acctrec_norm_dec(const char *s, char out[DEC_STR_MAX]);

struct acctrec_sink;

struct acctrec_stats {
    int64_t batches;   /* batches sent */
    int64_t records;   /* records sent (after the cache) */
    int64_t changed;   /* records the reconciler accepted as newer */
    int64_t errors;    /* Redis errors */
};

/* A sink writing for source `source` ("account", "positionrisk", "userstream") of the role's
 * account. Returns NULL on allocation failure. */
struct acctrec_sink *acctrec_sink_new(struct role *r, const char *source);
void acctrec_sink_free(struct acctrec_sink *s);

/* Sends the batch: pos and bal through bfq_merge, positions into the view. With use_cache,
 * records identical to what this sink last sent are skipped (REST snapshots repeat hundreds
 * of unchanged flat positions each second); the cache is dropped on any Redis error and every
 * 60 s, so a lost write is re-sent. Returns the number of records sent, or -1 when Redis is
 * down (nothing sent). */
int acctrec_sink_send(struct acctrec_sink *s, const struct acctrec_batch *b, int use_cache);

/* Health: a good answer at exchange time exch_t (HSET t, seen). */
void acctrec_sink_ok(struct acctrec_sink *s, int64_t exch_t);
/* Health: an error (HSET err, err_at); the reason must hold no secret. */
void acctrec_sink_error(struct acctrec_sink *s, const char *reason);

/* Forgets the cache (after a Redis reconnect). */
void acctrec_sink_forget(struct acctrec_sink *s);

struct acctrec_stats acctrec_sink_stats(const struct acctrec_sink *s);

/* Key helpers shared by the account modules: "<prefix>acct:<account>:<suffix>". */
int acctrec_key(const struct role *r, char *buf, size_t cap, const char *suffix);

#endif
