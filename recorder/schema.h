/* schema: the recorder's tables, as numbered migrations, and the version check.
 *
 * Migration N is a list of DDL statements applied in order by `bfq recorder --migrate` and
 * recorded as row N of schema_version (version, name, applied_ms) when it completes. Every
 * statement is idempotent (IF NOT EXISTS, OR REPLACE), so a migration cut half-way (server
 * gone) is simply applied again. A database whose version is newer than SCHEMA_VERSION is
 * refused by --migrate and by the recorder (an older binary must not write to a schema it does
 * not know); an older one is refused by the recorder until --migrate has run.
 *
 * Columns: every money value DECIMAL(40,18) (exact for every Binance decimal and for any sum of
 * them bfq can make), every Binance id BIGINT, every time BIGINT Unix milliseconds (UTC days are
 * time_ms DIV 86400000, independent of any session time zone). */
#ifndef BFQ_RECORDER_SCHEMA_H
#define BFQ_RECORDER_SCHEMA_H

#include <stddef.h>

struct st_mysql;

#define SCHEMA_VERSION 3

/* The tables the recorder writes (NULL-terminated), for the writer's grants. */
extern const char *const schema_tables[];

/* The version stored in m's database: 0 when none (no schema_version table), -1 with err on
 * another failure. */
int schema_version_of(struct st_mysql *m, char *err, size_t cap);

/* 0 when the stored version is `known`; -2 with the reason when it differs (newer: refused;
 * older or none: run --migrate); -1 with err when it cannot be read. */
int schema_check(struct st_mysql *m, int known, char *err, size_t cap);

/* Applies the migrations after the stored version, up to SCHEMA_VERSION. Returns the number
 * applied (>= 0), -2 when the stored version is newer, -1 with err on a failure. */
int schema_migrate(struct st_mysql *m, char *err, size_t cap);

/* Grants `user` (NAME@HOST, e.g. "recorder@localhost" or "recorder@%") SELECT, INSERT, UPDATE on the
 * recorder's tables and SELECT on schema_version (writer), or SELECT on every table and view
 * (reader, for the dashboard). The user must exist. 0 or -1 with err. */
int schema_grant(struct st_mysql *m, const char *user, int reader, char *err, size_t cap);

#endif
