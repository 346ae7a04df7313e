/* db: the MariaDB worker thread (see db.h). */
#include "recorder/db.h"

#include <mysql.h>
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/worker.h"
#include "recorder/schema.h"

#define DB_VALUE_MAX 1024 /* a result column longer than this is cut (none of ours is) */

struct db {
    struct worker *w;
    db_done_fn *done;
    void *privdata;
    struct db_url url;
    const struct db_stmt_spec *specs;
    int nspecs, timeout_s, schema_version;
    /* worker thread only */
    MYSQL *m;
    MYSQL_STMT **stmts;
};

/* ---- URL --------------------------------------------------------------------------------- */

static int url_part(const char *s, size_t n, char *out, size_t cap, const char *what, char *err,
                    size_t ecap)
{
    if (n >= cap) {
        snprintf(err, ecap, "mysql URL: %s too long", what);
        return -1;
    }
    memcpy(out, s, n);
    out[n] = 0;
    return 0;
}

int db_parse_url(const char *url, struct db_url *out, char *err, size_t cap)
{
    memset(out, 0, sizeof *out);
    if (!url || strncmp(url, "mysql://", 8)) {
        snprintf(err, cap, "mysql URL: wants mysql://user:pass@host:port/db[?socket=PATH]");
        return -1;
    }
    const char *p = url + 8, *at = strrchr(p, '@'), *slash, *q;
    if (!at) {
        snprintf(err, cap, "mysql URL: no user@");
        return -1;
    }
    const char *colon = memchr(p, ':', (size_t)(at - p));
    size_t ulen = colon ? (size_t)(colon - p) : (size_t)(at - p);
    if (url_part(p, ulen, out->user, sizeof out->user, "user", err, cap) < 0) return -1;
    if (colon && url_part(colon + 1, (size_t)(at - colon - 1), out->pass, sizeof out->pass,
                          "password", err, cap) < 0)
        return -1;
    p = at + 1;
    slash = strchr(p, '/');
    if (!slash || !slash[1]) {
        snprintf(err, cap, "mysql URL: no /database");
        return -1;
    }
    const char *hc = memchr(p, ':', (size_t)(slash - p));
    if (url_part(p, hc ? (size_t)(hc - p) : (size_t)(slash - p), out->host, sizeof out->host,
                 "host", err, cap) < 0)
        return -1;
    out->port = 3306;
    if (hc) {
        char *end = NULL;
        long port = strtol(hc + 1, &end, 10);
        if (end != slash || port <= 0 || port > 65535) {
            snprintf(err, cap, "mysql URL: bad port");
            return -1;
        }
        out->port = (unsigned)port;
    }
    q = strchr(slash + 1, '?');
    size_t dlen = q ? (size_t)(q - slash - 1) : strlen(slash + 1);
    if (url_part(slash + 1, dlen, out->db, sizeof out->db, "database", err, cap) < 0) return -1;
    if (q) {
        if (strncmp(q + 1, "socket=", 7)) {
            snprintf(err, cap, "mysql URL: only ?socket=PATH is understood");
            return -1;
        }
        if (url_part(q + 8, strlen(q + 8), out->socket, sizeof out->socket, "socket", err,
                     cap) < 0)
            return -1;
    }
    if (out->pass[0]) log_add_secret(out->pass);
    return 0;
}

/* ---- errors ---------------------------------------------------------------------------- */

int db_err_permanent(unsigned err_no)
{
    /* the data errors of a strict sql_mode: the same rows are refused every time */
    static const unsigned data[] = {
        ER_BAD_NULL_ERROR,         ER_DUP_ENTRY,           ER_WARN_NULL_TO_NOTNULL,
        ER_WARN_DATA_OUT_OF_RANGE, WARN_DATA_TRUNCATED,    ER_TRUNCATED_WRONG_VALUE,
        ER_DIVISION_BY_ZERO,       ER_TRUNCATED_WRONG_VALUE_FOR_FIELD, ER_ILLEGAL_VALUE_FOR_TYPE,
        ER_INVALID_CHARACTER_STRING, ER_DATA_TOO_LONG,     ER_WRONG_VALUE_FOR_TYPE,
        ER_NO_REFERENCED_ROW_2,    ER_WRONG_VALUE,         ER_DATA_OUT_OF_RANGE,
        ER_CONSTRAINT_FAILED,
    };
    for (size_t i = 0; i < sizeof data / sizeof data[0]; i++)
        if (err_no == data[i]) return 1;
    return 0;
}

/* ---- batches ----------------------------------------------------------------------------- */

struct db_batch *db_batch_new(void)
{
    struct db_batch *b = calloc(1, sizeof *b);
    if (!b) abort();
    b->query_kind = -1;
    return b;
}

struct db_row *db_batch_add(struct db_batch *b, int kind, int n, const char *const *v)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct db_row *rows = realloc(b->rows, cap * sizeof *rows);
        if (!rows) abort();
        b->rows = rows;
        b->cap = cap;
    }
    struct db_row *r = &b->rows[b->n++];
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->n = n > DB_COLS_MAX ? DB_COLS_MAX : n;
    for (int i = 0; i < r->n; i++) {
        if (!v[i]) continue;
        r->v[i] = strdup(v[i]);
        if (!r->v[i]) abort();
    }
    return r;
}

void db_batch_free(struct db_batch *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->n; i++)
        for (int j = 0; j < b->rows[i].n; j++) free(b->rows[i].v[j]);
    free(b->rows);
    json_decref(b->result);
    free(b);
}

/* ---- the worker -------------------------------------------------------------------------- */

static void worker_disconnect(struct db *d)
{
    if (d->stmts)
        for (int i = 0; i < d->nspecs; i++)
            if (d->stmts[i]) mysql_stmt_close(d->stmts[i]);
    free(d->stmts);
    d->stmts = NULL;
    if (d->m) mysql_close(d->m);
    d->m = NULL;
}

static void batch_fail(struct db_batch *b, enum db_status st, unsigned no, const char *what,
                       const char *why)
{
    b->status = st;
    b->err_no = no;
    b->permanent = st == DB_EFAIL && db_err_permanent(no);
    int n = snprintf(b->errstr, sizeof b->errstr, "%s: ", what);
    if (n > 0 && (size_t)n < sizeof b->errstr)
        snprintf(b->errstr + n, sizeof b->errstr - (size_t)n, "%s", why);
}

static int worker_connect(struct db *d, struct db_batch *b)
{
    char err[DB_ERR_MAX - 32];
    int rc = 0;
    d->m = db_connect(&d->url, d->timeout_s, err, sizeof err);
    if (!d->m) {
        batch_fail(b, DB_EFAIL, 0, "connect", err);
        return -1;
    }
    rc = schema_check(d->m, d->schema_version, err, sizeof err);
    if (rc < 0) {
        batch_fail(b, rc == -2 ? DB_ESCHEMA : DB_EFAIL, mysql_errno(d->m), "schema", err);
        worker_disconnect(d);
        return -1;
    }
    d->stmts = calloc((size_t)d->nspecs, sizeof *d->stmts);
    if (!d->stmts) abort();
    for (int i = 0; i < d->nspecs; i++) {
        d->stmts[i] = mysql_stmt_init(d->m);
        if (!d->stmts[i] ||
            mysql_stmt_prepare(d->stmts[i], d->specs[i].sql, strlen(d->specs[i].sql))) {
            batch_fail(b, DB_EFAIL, mysql_errno(d->m), d->specs[i].name,
                       d->stmts[i] ? mysql_stmt_error(d->stmts[i]) : "out of memory");
            worker_disconnect(d);
            return -1;
        }
    }
    return 0;
}

/* Binds v[0..n) as strings (NULL as SQL NULL) and executes st. 0 or -1 (mysql_stmt_error). */
static int stmt_run(MYSQL_STMT *st, int n, char *const *v)
{
    MYSQL_BIND bind[DB_COLS_MAX];
    unsigned long len[DB_COLS_MAX];
    my_bool isnull[DB_COLS_MAX];
    memset(bind, 0, sizeof bind);
    for (int i = 0; i < n && i < DB_COLS_MAX; i++) {
        len[i] = v[i] ? (unsigned long)strlen(v[i]) : 0;
        isnull[i] = v[i] == NULL;
        bind[i].buffer_type = MYSQL_TYPE_STRING;
        bind[i].buffer = v[i];
        bind[i].buffer_length = len[i];
        bind[i].length = &len[i];
        bind[i].is_null = &isnull[i];
    }
    return mysql_stmt_bind_param(st, bind) || mysql_stmt_execute(st) ? -1 : 0;
}

/* The result of an executed st as a new array of arrays of strings (NULL: JSON null), or NULL
 * on a failure (mysql_stmt_error). */
static json_t *stmt_rows(MYSQL_STMT *st)
{
    unsigned ncol = mysql_stmt_field_count(st);
    MYSQL_BIND bind[DB_COLS_MAX];
    char buf[DB_COLS_MAX][DB_VALUE_MAX];
    unsigned long len[DB_COLS_MAX];
    my_bool isnull[DB_COLS_MAX];
    int rc;
    if (ncol > DB_COLS_MAX) ncol = DB_COLS_MAX;
    memset(bind, 0, sizeof bind);
    for (unsigned i = 0; i < ncol; i++) {
        bind[i].buffer_type = MYSQL_TYPE_STRING;
        bind[i].buffer = buf[i];
        bind[i].buffer_length = DB_VALUE_MAX - 1;
        bind[i].length = &len[i];
        bind[i].is_null = &isnull[i];
    }
    if (mysql_stmt_bind_result(st, bind) || mysql_stmt_store_result(st)) return NULL;
    json_t *out = json_array();
    while ((rc = mysql_stmt_fetch(st)) == 0 || rc == MYSQL_DATA_TRUNCATED) {
        json_t *row = json_array();
        for (unsigned i = 0; i < ncol; i++) {
            size_t n = len[i] < DB_VALUE_MAX - 1 ? len[i] : DB_VALUE_MAX - 1;
            json_array_append_new(row, isnull[i] ? json_null() : json_stringn(buf[i], n));
        }
        json_array_append_new(out, row);
    }
    mysql_stmt_free_result(st);
    if (rc == 1) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static int worker_exec(struct db *d, const struct db_row *r, MYSQL_STMT **out,
                       struct db_batch *b)
{
    if (r->kind < 0 || r->kind >= d->nspecs || r->n != d->specs[r->kind].nparams) {
        batch_fail(b, DB_EFAIL, 0, "row", "kind or value count does not match its statement");
        return -1;
    }
    MYSQL_STMT *st = d->stmts[r->kind];
    if (stmt_run(st, r->n, r->v) < 0) {
        batch_fail(b, DB_EFAIL, mysql_stmt_errno(st), d->specs[r->kind].name,
                   mysql_stmt_error(st));
        return -1;
    }
    *out = st;
    return 0;
}

static int worker_fetch(struct db *d, MYSQL_STMT *st, struct db_batch *b)
{
    (void)d;
    b->result = stmt_rows(st);
    if (b->result) return 0;
    batch_fail(b, DB_EFAIL, mysql_stmt_errno(st), "fetch", mysql_stmt_error(st));
    return -1;
}

json_t *db_query_once(struct st_mysql *m, const char *sql, int n, const char *const *v,
                      char *err, size_t cap)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    json_t *rows = NULL;
    if (st && !mysql_stmt_prepare(st, sql, strlen(sql)) && stmt_run(st, n, (char *const *)v) == 0)
        rows = stmt_rows(st);
    if (!rows) snprintf(err, cap, "%s", st ? mysql_stmt_error(st) : "out of memory");
    if (st) mysql_stmt_close(st);
    return rows;
}

static int worker_sql(struct db *d, struct db_batch *b, const char *sql)
{
    if (!mysql_query(d->m, sql)) return 0;
    batch_fail(b, DB_EFAIL, mysql_errno(d->m), sql, mysql_error(d->m));
    return -1;
}

/* The on_fail rows of the group starting at rows[i] (ending before *end), with the refusal of
 * its rows in their error values. */
static int worker_dead(struct db *d, struct db_batch *b, size_t i, size_t end, unsigned no,
                       const char *why)
{
    MYSQL_STMT *st;
    char num[16];
    snprintf(num, sizeof num, "%u", no);
    for (; i < end; i++) {
        struct db_row *r = &b->rows[i];
        if (!r->on_fail || r->n <= DB_DEAD_ERROR) continue;
        free(r->v[DB_DEAD_ERRNO]);
        free(r->v[DB_DEAD_ERROR]);
        r->v[DB_DEAD_ERRNO] = strdup(num);
        r->v[DB_DEAD_ERROR] = strndup(why, 255);
        if (!r->v[DB_DEAD_ERRNO] || !r->v[DB_DEAD_ERROR]) abort();
        if (worker_exec(d, r, &st, b) < 0) return -1;
        r->fired = 1;
    }
    b->ndead++;
    return 0;
}

/* One group of an isolated batch, rows [i, end): under a savepoint; refused for good, rolled
 * back to it and replaced by its on_fail rows. */
static int worker_group(struct db *d, struct db_batch *b, size_t i, size_t end)
{
    MYSQL_STMT *st;
    if (worker_sql(d, b, "SAVEPOINT bfq_group") < 0) return -1;
    for (size_t k = i; k < end; k++) {
        if (b->rows[k].on_fail || worker_exec(d, &b->rows[k], &st, b) == 0) continue;
        if (!b->permanent) return -1;
        char why[DB_ERR_MAX];
        unsigned no = b->err_no;
        snprintf(why, sizeof why, "%s", b->errstr);
        b->status = DB_OK;
        b->errstr[0] = 0;
        b->err_no = 0;
        b->permanent = 0;
        if (worker_sql(d, b, "ROLLBACK TO SAVEPOINT bfq_group") < 0) return -1;
        return worker_dead(d, b, i, end, no, why);
    }
    return 0;
}

static int worker_write(struct db *d, struct db_batch *b)
{
    MYSQL_STMT *st;
    if (mysql_autocommit(d->m, 0)) {
        batch_fail(b, DB_EFAIL, mysql_errno(d->m), "begin", mysql_error(d->m));
        return -1;
    }
    b->ndead = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->isolate) {
            size_t end = i + 1;
            while (end < b->n && b->rows[end].group == b->rows[i].group) end++;
            if (worker_group(d, b, i, end) < 0) return -1;
            i = end - 1;
        } else if (!b->rows[i].on_fail && worker_exec(d, &b->rows[i], &st, b) < 0) {
            return -1;
        }
    }
    if (mysql_commit(d->m)) {
        batch_fail(b, DB_EFAIL, mysql_errno(d->m), "commit", mysql_error(d->m));
        return -1;
    }
    return 0;
}

static void worker_run(struct db *d, struct db_batch *b)
{
    MYSQL_STMT *st;
    b->status = DB_OK;
    b->errstr[0] = 0;
    b->err_no = 0;
    b->permanent = 0;
    for (size_t i = 0; i < b->n; i++) b->rows[i].fired = 0;
    if (!d->m && worker_connect(d, b) < 0) return;
    if (b->query_kind >= 0) {
        struct db_row none = {.kind = b->query_kind};
        if (worker_exec(d, b->n ? &b->rows[0] : &none, &st, b) == 0 && worker_fetch(d, st, b) == 0)
            return;
    } else if (worker_write(d, b) == 0) {
        return;
    }
    /* any failure: the connection may be half-way through anything; start clean */
    if (d->m) (void)mysql_rollback(d->m);
    worker_disconnect(d);
}

static void db_run_cb(void *job, void *privdata)
{
    worker_run(privdata, job);
}

static void db_thread_start(void *privdata)
{
    (void)privdata;
    mysql_thread_init();
}

static void db_thread_end(void *privdata)
{
    worker_disconnect(privdata);
    mysql_thread_end();
}

/* ---- the loop side ----------------------------------------------------------------------- */

static void db_done_cb(void *job, void *privdata)
{
    struct db *d = privdata;
    d->done(job, d->privdata);
}

static void db_discard(void *job)
{
    db_batch_free(job);
}

struct db *db_new(struct ev_loop *loop, const struct db_options *o, db_done_fn *done,
                  void *privdata, char *err, size_t cap)
{
    static int lib_ready;
    if (!lib_ready && mysql_library_init(0, NULL, NULL)) {
        snprintf(err, cap, "mysql_library_init failed");
        return NULL;
    }
    lib_ready = 1;
    struct db *d = calloc(1, sizeof *d);
    if (!d) abort();
    d->done = done;
    d->privdata = privdata;
    d->url = *o->url;
    d->specs = o->stmts;
    d->nspecs = o->nstmts;
    d->timeout_s = o->timeout_s > 0 ? o->timeout_s : 5;
    d->schema_version = o->schema_version;
    struct worker_options wo = {.run = db_run_cb, .done = db_done_cb,
                                .thread_start = db_thread_start, .thread_end = db_thread_end,
                                .discard = db_discard, .privdata = d};
    d->w = worker_new(loop, &wo, err, cap);
    if (!d->w) {
        snprintf(err, cap, "cannot start the database thread");
        free(d);
        return NULL;
    }
    return d;
}

void db_submit(struct db *d, struct db_batch *b)
{
    worker_submit(d->w, b);
}

int db_pending(const struct db *d)
{
    return worker_pending(d->w);
}

void db_free(struct db *d)
{
    if (!d) return;
    worker_free(d->w);
    free(d);
}

MYSQL *db_connect(const struct db_url *u, int timeout_s, char *err, size_t cap)
{
    MYSQL *m = mysql_init(NULL);
    unsigned t = (unsigned)(timeout_s > 0 ? timeout_s : 5);
    if (!m) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &t);
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(m, u->socket[0] ? NULL : u->host, u->user, u->pass, u->db,
                            u->socket[0] ? 0 : u->port, u->socket[0] ? u->socket : NULL, 0)) {
        snprintf(err, cap, "%s", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    /* strict: a value the column cannot hold is an error, never a silent rounding */
    if (mysql_query(m, "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE', "
                       "time_zone = '+00:00'")) {
        snprintf(err, cap, "%s", mysql_error(m));
        mysql_close(m);
        return NULL;
    }
    return m;
}
