/* mariadb: a private MariaDB server per test (see mariadb.h). */
#include "tests/harness/mariadb.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness/harness.h"

#define TH_MDB_START_MS 30000

static const char *const users[][2] = {{"recorder", "rec-pass-1"}, {"reader", "read-pass-1"}};

static int spawn_server(struct th_mariadb *m)
{
    char datadir[600], sock[600], port[32], pidf[600], tmp[600];
    snprintf(datadir, sizeof datadir, "--datadir=%s/data", m->dir);
    snprintf(tmp, sizeof tmp, "--tmpdir=%s", m->dir); /* not /tmp: shared with other servers */
    snprintf(sock, sizeof sock, "--socket=%s", m->socket);
    snprintf(port, sizeof port, "--port=%d", m->port);
    snprintf(pidf, sizeof pidf, "--pid-file=%s/mariadbd.pid", m->dir);
    const char *argv[] = {"mariadbd", "--no-defaults", datadir, sock, port,
                          "--bind-address=127.0.0.1", "--user=root", pidf, "--skip-log-bin",
                          "--innodb-buffer-pool-size=16M", "--innodb-log-file-size=16M",
                          "--skip-name-resolve", tmp, NULL, NULL, NULL, NULL, NULL};
    for (size_t i = 0, k = 13; i < 4 && m->opts[i]; i++) argv[k++] = m->opts[i];
    const char *paths[] = {"/usr/sbin/mariadbd", NULL};
    argv[0] = access(paths[0], X_OK) == 0 ? paths[0] : "mariadbd";
    m->pid = th_spawn(argv, m->log);
    return m->pid > 0 ? 0 : -1;
}

static int answers(void *arg)
{
    const struct th_mariadb *m = arg;
    return th_alive(m->pid) && th_mariadb_sql(m, "SELECT 1", NULL) == 0;
}

int th_mariadb_sql(const struct th_mariadb *m, const char *sql, char **out)
{
    char sock[600];
    snprintf(sock, sizeof sock, "--socket=%s", m->socket);
    const char *argv[] = {"mariadb", "--no-defaults", sock, "-uroot", "-N", "-B", "-e", sql, NULL};
    return th_run(argv, out, 20000);
}

int th_mariadb_sql_as(const struct th_mariadb *m, const char *user, const char *sql, char **out)
{
    char port[32], pass[64] = "", u[64];
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
        if (!strcmp(users[i][0], user)) snprintf(pass, sizeof pass, "-p%s", users[i][1]);
    snprintf(port, sizeof port, "-P%d", m->port);
    snprintf(u, sizeof u, "-u%s", user);
    const char *argv[] = {"mariadb", "--no-defaults", "-h127.0.0.1", port, u, pass,
                          "-Dbfq", "-N", "-B", "-e", sql, NULL};
    return th_run(argv, out, 20000);
}

static int setup(struct th_mariadb *m, int migrate)
{
    char sql[1024];
    int n = snprintf(sql, sizeof sql, "CREATE DATABASE bfq;");
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++)
        n += snprintf(sql + n, sizeof sql - (size_t)n, "CREATE USER '%s'@'%%' IDENTIFIED BY '%s';",
                      users[i][0], users[i][1]);
    if (th_mariadb_sql(m, sql, NULL) != 0) {
        fprintf(stderr, "mariadb: set-up failed\n");
        return -1;
    }
    if (!migrate) return 0;
    const char *argv[] = {th_bfq_bin(), "recorder", "--migrate", "--mysql", m->root_url,
                          "--grant-writer", "recorder@%", "--grant-reader", "reader@%", NULL};
    char *out = NULL;
    int rc = th_run(argv, &out, 30000);
    if (rc != 0) fprintf(stderr, "mariadb: bfq recorder --migrate failed (%d): %s\n", rc, out);
    free(out);
    return rc == 0 ? 0 : -1;
}

int th_mariadb_start(struct th_mariadb *m, int migrate)
{
    char datadir[600], tmp[600];
    const char *opts[5];
    memcpy(opts, m->opts, sizeof opts);
    memset(m, 0, sizeof *m);
    memcpy(m->opts, opts, sizeof opts);
    snprintf(m->dir, sizeof m->dir, "%s/mariadb", th_tmpdir());
    mkdir(m->dir, 0700);
    snprintf(m->socket, sizeof m->socket, "%s/s.sock", m->dir);
    snprintf(m->log, sizeof m->log, "%s/mariadbd.log", m->dir);
    snprintf(datadir, sizeof datadir, "--datadir=%s/data", m->dir);
    m->port = th_free_port();
    snprintf(m->root_url, sizeof m->root_url, "mysql://root@localhost/bfq?socket=%s", m->socket);
    snprintf(m->recorder_url, sizeof m->recorder_url, "mysql://%s:%s@127.0.0.1:%d/bfq",
             users[0][0], users[0][1], m->port);
    snprintf(m->reader_url, sizeof m->reader_url, "mysql://%s:%s@127.0.0.1:%d/bfq", users[1][0],
             users[1][1], m->port);
    snprintf(tmp, sizeof tmp, "--tmpdir=%s", m->dir);
    const char *inst[] = {"mariadb-install-db", "--no-defaults", datadir, "--user=root",
                          "--auth-root-authentication-method=socket", "--skip-test-db", tmp,
                          NULL, NULL, NULL, NULL, NULL};
    for (size_t i = 0, k = 7; i < 4 && m->opts[i]; i++) inst[k++] = m->opts[i];
    if (th_run(inst, NULL, 60000) != 0) {
        fprintf(stderr, "mariadb: mariadb-install-db failed\n");
        return -1;
    }
    if (spawn_server(m) < 0 || !th_wait_until(answers, m, TH_MDB_START_MS)) {
        fprintf(stderr, "mariadb: server did not answer (log %s)\n", m->log);
        return -1;
    }
    return setup(m, migrate);
}

int th_mariadb_restart(struct th_mariadb *m)
{
    if (m->pid > 0 && th_alive(m->pid)) th_mariadb_stop(m);
    if (spawn_server(m) < 0 || !th_wait_until(answers, m, TH_MDB_START_MS)) {
        fprintf(stderr, "mariadb: restart: no answer (log %s)\n", m->log);
        return -1;
    }
    return 0;
}

void th_mariadb_stop(struct th_mariadb *m)
{
    if (m->pid <= 0) return;
    kill(m->pid, SIGCONT); /* a paused server cannot stop */
    th_stop(m->pid, 20000);
    m->pid = 0;
}
