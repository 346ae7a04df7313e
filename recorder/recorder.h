/* recorder: `bfq recorder` and `bfq report`, and the state the recorder's modules share.
 *
 * The recorder (recorder.c) reads bfq:events:<acct> as the consumer group "recorder", turns
 * each batch of events into rows (rows.h), hands them to the MariaDB worker (db.h) as one
 * transaction and acknowledges the entries only after the commit; a failed batch is kept and
 * retried with back-off (core/backoff), alerting once per outage on bfq:alerts. A batch the
 * server refuses for good (a data error) is retried dead_after times, then written event by
 * event: an event it still refuses goes whole to table dead_letters (alerted once with its
 * stream id) and the stream goes on. Several recorders may share an account: each is its own
 * consumer, and one claims (XAUTOCLAIM) the entries another left pending longer than
 * claim_idle. The REST
 * backfill (backfill.c) walks income, allOrders and userTrades from its own cursors (stored in
 * the same transactions as the rows), so it brings what the stream could not have whatever the
 * stream did. Per-minute account snapshots come from the reconciled state in Redis. */
#ifndef BFQ_RECORDER_RECORDER_H
#define BFQ_RECORDER_RECORDER_H

#include <ev.h>
#include <jansson.h>
#include <stdint.h>

#include "core/backoff.h"
#include "core/cli.h"
#include "core/rconn.h"
#include "core/role.h"
#include "recorder/db.h"

extern const struct cli_command recorder_cli;
int recorder_main(int argc, char **argv);

extern const struct cli_command report_cli;
int report_main(int argc, char **argv);

/* The rows of `bfq report` over [from, to) of account, one per UTC day (by "day", member
 * "day" YYYY-MM-DD) or per symbol (by "symbol", member "symbol"), ordered by that key: trades,
 * wins, losses (integers), volume, realized_pnl, commission, commission_net (commission *
 * (1 - rebate), rebate a decimal string), funding, net, largest_loss (trimmed decimal strings).
 * A new array, or NULL with the reason in err. Blocking: a one-shot command or a worker thread
 * (the dashboard's) calls it, never a loop. */
struct st_mysql;
json_t *report_group(struct st_mysql *m, const char *account, const char *by,
                     const char *rebate, int64_t from, int64_t to, char *err, size_t cap);

/* db batch tags: who gets the batch back */
enum rec_tag { REC_TAG_STREAM = 1, REC_TAG_BACKFILL, REC_TAG_SNAPSHOT };

struct backfill;

struct rec {
    struct role r;
    struct db *db;
    struct db_url url;
    char stream[160], group[64], consumer[128], alerts[160];
    int64_t poll_ms, batch_max, backoff_min_ms, backoff_max_ms, block_ms;
    struct rconn *sc;             /* the stream's own connection (XREADGROUP BLOCK, XACK) */
    int64_t backfill_every_ms, income_every_ms, backfill_days, snapshot_every_ms;
    const char *symbols;          /* [recorder] symbols: always backfilled (comma list) */
    /* the stream */
    int reading;                  /* XREADGROUP in flight */
    int pending_done;             /* own pending entries ("0") read through: now ">" */
    struct db_batch *wbatch;      /* the batch being committed or waiting for its retry */
    char **ids;                   /* stream ids the batch covers (acked after the commit) */
    size_t nids;
    struct backoff bo;            /* failed commits in a row */
    int refused;                  /* of those, refused for good (data errors) */
    int64_t dead_after;           /* refusals before the batch is written event by event */
    int64_t claim_idle_ms;        /* XAUTOCLAIM entries pending longer than this (0: never) */
    wall_ms_t next_claim;         /* when to look for another consumer's entries again */
    char claim_from[48];          /* XAUTOCLAIM's cursor */
    ev_timer poll, retry, snap_timer;
    /* MariaDB health, for the one alert per outage */
    int db_down;
    unsigned db_failing;          /* 1 << tag of each kind of write whose last batch failed */
    wall_ms_t down_since;
    struct backfill *bf;
    int snap_busy;
    json_t *snap_bal;             /* the balances' answer, until the positions' comes */
    int wbatch_in_db;             /* wbatch is with the worker (else waiting for its retry) */
    int64_t events, skipped, rows, commits, failures, acked, snapshots, dead, claimed;
    char last_err[DB_ERR_MAX];
    char last_read_err[128];      /* the last XREADGROUP error logged (logged once per reason) */
};

/* Records a MariaDB failure or success of any batch: alerts once per outage, then once when it
 * is back: when every kind of write (tag) that failed in it has committed again (a full disk
 * still answers reads, and writes that only meet duplicates). */
void rec_db_result(struct rec *c, const struct db_batch *b);

/* XADD <prefix>alerts level key text src t (capped). */
void rec_alert(struct rec *c, const char *level, const char *key, const char *text);

/* backfill.c */
struct backfill *backfill_new(struct rec *c);
void backfill_free(struct backfill *bf);
/* Starts the periodic cycles (the first, full one at once). */
void backfill_start(struct backfill *bf);
void backfill_stop(struct backfill *bf);
/* A db batch tagged REC_TAG_BACKFILL came back. */
void backfill_db_done(struct backfill *bf, struct db_batch *b);
/* Completed cycles, for the heartbeat. */
int64_t backfill_cycles(const struct backfill *bf);

#endif
