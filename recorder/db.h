/* db: the recorder's MariaDB connection, on a worker thread, so the loop never blocks.
 *
 * STYLE.md's documented choice (Redis bio.c): one worker thread (core/worker) owns the MYSQL
 * handle and its prepared statements; the loop hands it batches through a mutex-protected FIFO
 * and gets each one back, done or failed, through an ev_async on the loop thread. A batch is
 * either a write (rows, each executed with the prepared statement of its kind, all in one
 * transaction, committed or rolled back as a whole) or one read query whose result rows come back as a
 * jansson array of arrays of strings (NULL as JSON null). Every value travels as a string:
 * decimals stay exact (MariaDB converts a string into DECIMAL digit by digit), ids are BIGINT.
 * Prepared statements only; nothing is ever formatted into SQL text.
 *
 * The worker connects on demand (connect/read/write timeouts from the options) and, on any
 * error, rolls back, drops the connection and reports the batch failed with the reason; the
 * caller decides when to resubmit (it backs off), and the next batch reconnects first. On every
 * connect it checks the schema version (schema.h) and refuses to write to a schema it does not
 * know (DB_ESCHEMA). Threads: db_new, db_submit and db_free run on the loop thread only; the
 * done callback runs there too. */
#ifndef BFQ_RECORDER_DB_H
#define BFQ_RECORDER_DB_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct db;

#define DB_ERR_MAX 256
#define DB_COLS_MAX 32

/* A parsed mysql://user:pass@host:port/db[?socket=PATH] URL. */
struct db_url {
    char user[64], pass[128], host[128], db[64], socket[256];
    unsigned port;
};

/* Parses url. Returns 0, or -1 with a reason in err that never echoes the password (which is
 * registered for log redaction). */
int db_parse_url(const char *url, struct db_url *out, char *err, size_t cap)
    __attribute__((warn_unused_result));

/* A blocking connection for one-shot commands (--migrate, bfq report) and the worker:
 * timeouts of timeout_s, utf8mb4, strict sql_mode, UTC session. NULL with a reason in err. */
struct st_mysql;
struct st_mysql *db_connect(const struct db_url *u, int timeout_s, char *err, size_t cap);

/* A one-shot prepared read on a blocking connection (bfq report): the rows as a new array of
 * arrays of strings (NULL as JSON null), or NULL with err. */
json_t *db_query_once(struct st_mysql *m, const char *sql, int n, const char *const *v,
                      char *err, size_t cap);

/* The statements a db prepares on every connect; a row's kind indexes this table. */
struct db_stmt_spec {
    const char *name; /* for logs */
    const char *sql;  /* with ? placeholders */
    int nparams;
};

/* One row of a write batch: the kind's statement with v[0..n) bound as strings; v[i] NULL is
 * SQL NULL. Owned by the batch (the strings are malloc'd copies). */
struct db_row {
    int kind;
    int n;
    char *v[DB_COLS_MAX];
    int group;   /* isolated batches: rows of one group (one event) stand or fall together */
    int on_fail; /* run only when its group was refused for good (isolated batches): a
                  * dead-letter row whose values DB_DEAD_ERRNO and DB_DEAD_ERROR the worker
                  * fills with the refusal; otherwise skipped */
    int fired;   /* set by the worker when this on_fail row was written */
};

/* The values of an on_fail row the worker fills with the refusal. */
#define DB_DEAD_ERRNO 3
#define DB_DEAD_ERROR 4

enum db_status { DB_OK = 0, DB_EFAIL = -1, DB_ESCHEMA = -2 };

/* Whether a MariaDB error number means the server refuses the data itself, for good (a value
 * the column cannot hold, a NULL where none may be, a check or key constraint): retrying the
 * same rows can never succeed. Every other error (connection lost or refused, server gone or
 * shutting down, lock wait timeout, deadlock, table or disk full, out of resources, access
 * denied, unknown ones) is transient: the rows are kept and retried. */
int db_err_permanent(unsigned err_no);

struct db_batch {
    /* filled by the caller */
    struct db_row *rows;
    size_t n, cap;
    int query_kind;         /* >= 0: a read of that statement with rows[0] as its parameters */
    int isolate;            /* a write: each group under its own SAVEPOINT; a group refused
                             * for good (db_err_permanent) is rolled back to it and its on_fail
                             * rows written instead, the rest of the batch goes on */
    void *privdata;         /* the caller's, untouched */
    int64_t tag;            /* the caller's, untouched */
    /* filled by the worker */
    enum db_status status;
    char errstr[DB_ERR_MAX];
    json_t *result;         /* a read's rows (owned by the batch), else NULL */
    unsigned err_no;        /* the server's or the client's error number, 0 when none */
    int permanent;          /* failed with db_err_permanent(err_no) */
    int ndead;              /* isolated: groups refused and written as their on_fail rows */
};

/* A new empty write batch (query_kind -1). Never NULL (aborts on out of memory). */
struct db_batch *db_batch_new(void);
/* Appends a row of kind with n values (copied; NULL = SQL NULL), in group 0, not on_fail.
 * Returns the row (the caller may set group and on_fail). */
struct db_row *db_batch_add(struct db_batch *b, int kind, int n, const char *const *v);
/* Frees the batch, its rows and its result. NULL is fine. */
void db_batch_free(struct db_batch *b);

/* Runs on the loop thread with a batch back from the worker; the callback owns it again. */
typedef void db_done_fn(struct db_batch *b, void *privdata);

struct db_options {
    const struct db_url *url;          /* copied */
    const struct db_stmt_spec *stmts;  /* borrowed: must outlive the db */
    int nstmts;
    int timeout_s;                     /* connect, read and write timeout; 0 means 5 */
    int schema_version;                /* the version this binary knows */
};

/* Starts the worker (it connects when the first batch comes). Returns NULL with err. */
struct db *db_new(struct ev_loop *loop, const struct db_options *o, db_done_fn *done,
                  void *privdata, char *err, size_t cap);
/* Hands b to the worker (FIFO); done gets it back later. */
void db_submit(struct db *d, struct db_batch *b);
/* Batches queued or running. */
int db_pending(const struct db *d);
/* Stops the worker after the batch it is running (at most the timeout), frees the batches it
 * did not run without calling done, and frees d. */
void db_free(struct db *d);

#endif
