/* recorder: `bfq recorder` and `bfq report`, and the state the recorder's modules share.
 *
 * The recorder (recorder.c) reads bfq:events:<acct> as the consumer group "recorder", turns
 * each batch of events into rows (rows.h), hands them to the MariaDB worker (db.h) as one
 * transaction and acknowledges the entries only after the commit; a failed batch is kept and
 * retried with back-off (rec_backoff_ms), alerting once per outage on bfq:alerts. The REST
 * backfill (backfill.c) walks income, allOrders and userTrades from its own cursors (stored in
 * the same transactions as the rows), so it brings what the stream could not have whatever the
 * stream did. Per-minute account snapshots come from the reconciled state in Redis. */
#ifndef BFQ_RECORDER_RECORDER_H
#define BFQ_RECORDER_RECORDER_H

#include <ev.h>
#include <jansson.h>
#include <stdint.h>

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
    int attempt;                  /* failed commits in a row */
    ev_timer poll, retry, snap_timer;
    /* MariaDB health, for the one alert per outage */
    int db_down;
    wall_ms_t down_since;
    struct backfill *bf;
    int snap_busy;
    json_t *snap_bal;             /* the balances' answer, until the positions' comes */
    int wbatch_in_db;             /* wbatch is with the worker (else waiting for its retry) */
    int64_t events, skipped, rows, commits, failures, acked, snapshots;
    char last_err[DB_ERR_MAX];
    char last_read_err[128];      /* the last XREADGROUP error logged (logged once per reason) */
};

/* The back-off before retry number `attempt` (1, 2, ...): min doubling to max, with up to 25%
 * jitter. The one back-off policy of the recorder, in one function so it can be swapped for
 * core/backoff when that lands. */
int64_t rec_backoff_ms(int attempt, int64_t min_ms, int64_t max_ms);

/* Records a MariaDB failure or success of any batch (alerts once per outage, then once when it
 * is back). */
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
