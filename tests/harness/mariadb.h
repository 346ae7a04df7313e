/* mariadb: a private MariaDB server for a test, as the harness's redis-server is.
 *
 * th_mariadb_start initialises a data directory under the test's temporary directory
 * (mariadb-install-db, root authenticated by the unix socket), starts mariadbd on a free
 * loopback port with its own socket (registered with th_spawn, so it is always stopped),
 * creates database `bfq`, applies the schema with `bfq recorder --migrate` and creates two
 * users with real passwords: `recorder` (SELECT, INSERT, UPDATE on the recorder's tables, by
 * --grant-writer) and `reader` (SELECT only, by --grant-reader). Grant tables are on: the
 * permission tests mean something. */
#ifndef BFQ_TH_MARIADB_H
#define BFQ_TH_MARIADB_H

#include <sys/types.h>

struct th_mariadb {
    pid_t pid;
    int port;
    char dir[400], socket[512], log[600];
    char root_url[768];     /* mysql://root@localhost/bfq?socket=... (migrations, checks) */
    char recorder_url[256]; /* mysql://recorder:...@127.0.0.1:PORT/bfq */
    char reader_url[256];   /* mysql://reader:...@127.0.0.1:PORT/bfq */
    /* extra server options (e.g. a small fixed InnoDB data file), set before th_mariadb_start
     * (which keeps them) and changeable before a th_mariadb_restart; NULL-terminated */
    const char *opts[5];
};

/* Starts and sets up (see the top). With migrate 0 the database is left empty (no schema,
 * no grants) for tests of the migrations themselves. Returns 0 or -1 (reason on stderr). */
int th_mariadb_start(struct th_mariadb *m, int migrate);
/* Starts mariadbd again on the same data directory and port (after th_mariadb_stop or a
 * kill); waits until it answers. 0 or -1. */
int th_mariadb_restart(struct th_mariadb *m);
void th_mariadb_stop(struct th_mariadb *m);
/* Runs sql as root through the socket (mariadb -N -B); *out (if out) gets the tab-separated
 * rows, malloc'd. Returns the client's exit status (0 = ok). */
int th_mariadb_sql(const struct th_mariadb *m, const char *sql, char **out);
/* As th_mariadb_sql, connected as `user` with its password over TCP. */
int th_mariadb_sql_as(const struct th_mariadb *m, const char *user, const char *sql, char **out);

#endif
