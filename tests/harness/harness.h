/* harness: what the tests start and check, against real processes.
 *
 * Starts a private redis-server (optionally with the project's ACL users file) or a
 * `bfq sim` on a free loopback port in a temporary directory, runs the bfq binary as users
 * run it, and stops everything it started, by pid, on exit, on a failed check and on SIGINT or
 * SIGTERM. CHECK counts failures and the test's main returns th_done(). */
#ifndef BFQ_HARNESS_H
#define BFQ_HARNESS_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/types.h>

extern int th_failures;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            th_failures++;                                                                   \
            th_report(__FILE__, __LINE__, #cond);                                            \
        }                                                                                    \
    } while (0)
#define CHECK_EQ_STR(a, b) CHECK(th_streq((a), (b)))

void th_report(const char *file, int line, const char *expr);
int th_streq(const char *a, const char *b); /* NULL-safe, prints both when different */

/* Prints "N passed, N failed"-style summary of checks for this test; returns the exit code. */
int th_done(void);

/* A TCP port on 127.0.0.1 nobody listens on now. */
int th_free_port(void);

/* A private temporary directory (removed at exit). */
const char *th_tmpdir(void);

/* Path of the bfq binary under test ($BFQ_BIN), of the source tree and of the recorded fixtures
 * (tests/fixtures/binance, or $BFQ_FIXTURES_DIR). */
const char *th_bfq_bin(void);
const char *th_source_dir(void);
const char *th_fixtures_dir(void);

struct th_redis {
    pid_t pid;
    int port;
    char url[256];         /* redis://127.0.0.1:PORT (default user, or admin with ACL) */
    char dir[512];
    int acl;               /* started with the project's ACL users */
};
/* Starts redis-server on a free port. With acl nonzero it loads redis/users.acl from the
 * source tree (passwords from the test's environment, see redis/README). Waits until it answers
 * PING, then loads the function library as users do (th_redis_setup). Returns 0 or -1. */
int th_redis_start(struct th_redis *r, int acl);
/* Runs `bfq redis-setup --redis <r->url>` (admin, or the default user without ACL): loads this
 * build's function library. Returns 0 or -1. */
int th_redis_setup(const struct th_redis *r);
void th_redis_stop(struct th_redis *r);
/* Restarts redis-server on the same port, directory and configuration (SIGKILL first when
 * crash is nonzero, so only what it had persisted comes back), and waits until it answers.
 * The function library is not loaded again: Redis brings back what it persisted. 0 or -1. */
int th_redis_restart(struct th_redis *r, int crash);
/* The URL for an ACL user of that file, e.g. th_redis_url_for(r, "kline", buf, cap). */
void th_redis_url_for(const struct th_redis *r, const char *user, char *buf, size_t cap);

/* Spawns argv (argv[0] is looked up in PATH unless it holds '/'), stdout and stderr appended
 * to logfile (may be NULL: inherit). Returns the pid, or -1. Registered for cleanup. */
pid_t th_spawn(const char *const *argv, const char *logfile);
/* Sends SIGTERM, waits up to timeout_ms, then SIGKILL. Returns the exit status as
 * waitpid reports it (use WIFEXITED/WEXITSTATUS), or -1. */
int th_stop(pid_t pid, int timeout_ms);
/* Stops n processes at once: one SIGTERM each, then waits up to timeout_ms for all of them
 * together; those still running then get SIGKILL. status[i] is what th_stop returns for
 * pids[i] (-1 when it could not be reaped). Only one SIGTERM is sent, since a process that
 * stops its signal watchers while shutting down dies of a second one. */
void th_stop_all(const pid_t *pids, int n, int timeout_ms, int *status);
/* Nonzero while pid runs (not reaped). */
int th_alive(pid_t pid);
/* Runs argv to completion, capturing stdout into out (malloc'd) if out != NULL. Returns the
 * exit status (0..255), or -1. */
int th_run(const char *const *argv, char **out, int timeout_ms);

struct th_sim {
    pid_t pid;
    int port;
    char url[128];         /* http://127.0.0.1:PORT */
    char log[512];
};
/* Starts `bfq sim --listen 127.0.0.1:PORT` plus extra args (NULL-terminated, may be NULL);
 * waits until GET /fapi/v1/ping answers. */
int th_sim_start(struct th_sim *s, const char *const *extra_args);
void th_sim_stop(struct th_sim *s);

/* Synchronous HTTP for tests (libcurl easy). Returns the HTTP status (0 on transport error);
 * *body (if body != NULL) is malloc'd and NUL-terminated. source_ip may be NULL. */
long th_http(const char *method, const char *url, const char *form_body, const char *source_ip,
             char **body);
/* The same with one extra request header ("Authorization: Bearer X"; NULL: none). */
long th_http_header(const char *method, const char *url, const char *form_body,
                    const char *source_ip, const char *header, char **body);

/* Waits until fn(arg) returns nonzero, polling every 20 ms, at most timeout_ms. Returns the
 * last value of fn. */
int th_wait_until(int (*fn)(void *arg), void *arg, int timeout_ms);

/* Opens path for writing, created or truncated with mode 0600 (a config file holding
 * api_secret must be private, or bfq refuses it). NULL on failure. */
FILE *th_fopen_private(const char *path);

/* Reads a fixture file (NAME relative to th_fixtures_dir(): tests/fixtures/binance) into a
 * malloc'd buffer. */
char *th_read_fixture(const char *name, size_t *len);

int64_t th_now_ms(void);
void th_sleep_ms(int ms);

#endif
