/* harness: process and check helpers for bfq's tests (see harness.h).
 *
 * Every process a test starts through th_spawn is remembered and stopped (SIGTERM, then
 * SIGKILL) at exit and on SIGINT/SIGTERM, so a failing or interrupted test never leaves a
 * redis-server or a simulator behind. The temporary directory is removed at exit. */
#include "tests/harness/harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness/redis_acl.h"

#define TH_MAX_PROCS 64

int th_failures;
static int checks_failed_reported;
static pid_t procs[TH_MAX_PROCS];
static int nprocs;
static char tmpdir[256];
static int cleanup_installed;

void th_report(const char *file, int line, const char *expr)
{
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, expr);
    checks_failed_reported++;
}

int th_streq(const char *a, const char *b)
{
    if (a && b && !strcmp(a, b)) return 1;
    fprintf(stderr, "  strings differ: '%s' vs '%s'\n", a ? a : "(null)", b ? b : "(null)");
    return 0;
}

int th_done(void)
{
    printf("%s: %s\n", th_failures ? "FAILED" : "OK",
           th_failures ? "see FAIL lines above" : "all checks passed");
    return th_failures ? 1 : 0;
}

int64_t th_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void th_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

/* ---- cleanup ---------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    for (int i = 0; i < nprocs; i++)
        if (procs[i] > 0) th_stop(procs[i], 2000);
    nprocs = 0;
    if (tmpdir[0] && !getenv("BFQ_KEEP_TMP")) nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_signal(int sig)
{
    for (int i = 0; i < nprocs; i++)
        if (procs[i] > 0) kill(procs[i], SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_cleanup(void)
{
    if (cleanup_installed) return;
    cleanup_installed = 1;
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);
}

const char *th_tmpdir(void)
{
    if (!tmpdir[0]) {
        install_cleanup();
        const char *base = getenv("TMPDIR");
        snprintf(tmpdir, sizeof tmpdir, "%s/bfq-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            exit(2);
        }
    }
    return tmpdir;
}

/* ---- paths ------------------------------------------------------------------------------ */

const char *th_bfq_bin(void)
{
    const char *b = getenv("BFQ_BIN");
    return b ? b : "bfq";
}

const char *th_source_dir(void)
{
    const char *s = getenv("BFQ_SOURCE_DIR");
    return s ? s : BFQ_SOURCE_DIR;
}

const char *th_fixtures_dir(void)
{
    static char buf[1024];
    const char *f = getenv("BFQ_FIXTURES_DIR");
    if (f) return f;
    snprintf(buf, sizeof buf, "%s/tests/fixtures/binance", th_source_dir());
    return buf;
}

char *th_read_fixture(const char *name, size_t *len)
{
    char path[1536];
    snprintf(path, sizeof path, "%s/%s", th_fixtures_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open fixture %s: %s\n", path, strerror(errno));
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (len) *len = (size_t)n;
    return buf;
}

/* ---- ports and processes ---------------------------------------------------------------- */

int th_free_port(void)
{
    /* Ask the kernel for an ephemeral port, then hand it out; a counter keeps two calls in one
     * test from returning the same port before either is bound. */
    static int last;
    for (int tries = 0; tries < 50; tries++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        if (fd < 0) return -1;
        if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
            int port = ntohs(a.sin_port);
            close(fd);
            if (port != last) {
                last = port;
                return port;
            }
            continue;
        }
        close(fd);
    }
    return -1;
}

static void remember(pid_t pid)
{
    install_cleanup();
    for (int i = 0; i < nprocs; i++)
        if (procs[i] <= 0) {
            procs[i] = pid;
            return;
        }
    if (nprocs < TH_MAX_PROCS) procs[nprocs++] = pid;
}

static void forget(pid_t pid)
{
    for (int i = 0; i < nprocs; i++)
        if (procs[i] == pid) procs[i] = 0;
}

pid_t th_spawn(const char *const *argv, const char *logfile)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (logfile) {
            int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    remember(pid);
    return pid;
}

int th_alive(pid_t pid)
{
    int status;
    if (pid <= 0) return 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == 0) return 1;
    if (r == pid) forget(pid);
    return 0;
}

static int wait_exit(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid) return 0;
        if (r < 0) return -1;
        if (mono_ms() >= deadline) return 1;
        th_sleep_ms(10);
    }
}

int th_stop(pid_t pid, int timeout_ms)
{
    int status = 0;
    if (pid <= 0) return -1;
    kill(pid, SIGTERM);
    int r = wait_exit(pid, timeout_ms, &status);
    if (r == 1) {
        fprintf(stderr, "pid %d did not stop on SIGTERM within %d ms: killing\n", (int)pid,
                timeout_ms);
        kill(pid, SIGKILL);
        r = wait_exit(pid, 5000, &status);
    }
    forget(pid);
    return r == 0 ? status : -1;
}

void th_stop_all(const pid_t *pids, int n, int timeout_ms, int *status)
{
    int left = 0, done[TH_MAX_PROCS] = {0};
    if (n > TH_MAX_PROCS) n = TH_MAX_PROCS;
    for (int i = 0; i < n; i++) {
        status[i] = -1;
        if (pids[i] <= 0) continue;
        kill(pids[i], SIGTERM);
        left++;
    }
    int64_t deadline = mono_ms() + timeout_ms;
    while (left > 0 && mono_ms() < deadline) {
        for (int i = 0; i < n; i++) {
            if (done[i] || pids[i] <= 0) continue;
            pid_t r = waitpid(pids[i], &status[i], WNOHANG);
            if (r == 0) continue;
            if (r != pids[i]) status[i] = -1;
            done[i] = 1;
            forget(pids[i]);
            left--;
        }
        if (left > 0) th_sleep_ms(20);
    }
    for (int i = 0; i < n; i++) {
        if (done[i] || pids[i] <= 0) continue;
        fprintf(stderr, "pid %d did not stop on SIGTERM within %d ms: killing\n", (int)pids[i],
                timeout_ms);
        kill(pids[i], SIGKILL);
        if (wait_exit(pids[i], 5000, &status[i]) != 0) status[i] = -1;
        forget(pids[i]);
    }
}

int th_run(const char *const *argv, char **out, int timeout_ms)
{
    int fds[2];
    if (pipe(fds) < 0) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    remember(pid);
    close(fds[1]);
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int64_t deadline = mono_ms() + timeout_ms;
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    for (;;) {
        if (len + 1024 > cap) buf = realloc(buf, cap *= 2);
        ssize_t n = read(fds[0], buf + len, cap - len - 1);
        if (n > 0) {
            len += (size_t)n;
            continue;
        }
        if (n == 0) break;
        if (mono_ms() > deadline) break;
        th_sleep_ms(5);
    }
    close(fds[0]);
    buf[len] = '\0';
    int status = 0;
    int remain = (int)(deadline - mono_ms());
    int r = wait_exit(pid, remain > 0 ? remain : 1, &status);
    if (r != 0) {
        kill(pid, SIGKILL);
        wait_exit(pid, 5000, &status);
        forget(pid);
        free(buf);
        return -1;
    }
    forget(pid);
    if (out) *out = buf;
    else free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int th_wait_until(int (*fn)(void *arg), void *arg, int timeout_ms)
{
    int64_t deadline = mono_ms() + timeout_ms;
    int v;
    while (!(v = fn(arg)) && mono_ms() < deadline) th_sleep_ms(20);
    return v;
}

/* ---- redis-server ----------------------------------------------------------------------- */

static int redis_answers(void *arg)
{
    const struct th_redis *r = arg;
    char port[16], *out = NULL;
    snprintf(port, sizeof port, "%d", r->port);
    const char *argv[] = {"redis-cli", "-p", port, "--no-auth-warning", "--user", "admin",
                          "--pass", "test-admin", "PING", NULL};
    const char *argv_noacl[] = {"redis-cli", "-p", port, "PING", NULL};
    int rc = th_run(r->acl ? argv : argv_noacl, &out, 2000);
    int ok = rc == 0 && out && strstr(out, "PONG");
    free(out);
    return ok;
}

int th_redis_start(struct th_redis *r, int acl)
{
    memset(r, 0, sizeof *r);
    r->acl = acl;
    r->port = th_free_port();
    snprintf(r->dir, sizeof r->dir, "%s/redis-%d", th_tmpdir(), r->port);
    mkdir(r->dir, 0700);
    char conf[640], aclpath[640], log[640];
    snprintf(conf, sizeof conf, "%s/redis.conf", r->dir);
    snprintf(aclpath, sizeof aclpath, "%s/users.acl", r->dir);
    snprintf(log, sizeof log, "%s/redis.log", r->dir);
    FILE *f = fopen(conf, "w");
    if (!f) return -1;
    fprintf(f, "port %d\nbind 127.0.0.1\ndir %s\nsave \"\"\nappendonly no\nlogfile %s\n"
               "daemonize no\n", r->port, r->dir, log);
    if (acl) {
        if (th_render_acl(aclpath) != 0) {
            fclose(f);
            return -1;
        }
        fprintf(f, "aclfile %s\n", aclpath);
    }
    fclose(f);
    if (acl)
        snprintf(r->url, sizeof r->url, "redis://admin:test-admin@127.0.0.1:%d", r->port);
    else
        snprintf(r->url, sizeof r->url, "redis://127.0.0.1:%d", r->port);
    const char *argv[] = {"redis-server", conf, NULL};
    r->pid = th_spawn(argv, NULL);
    if (r->pid < 0) return -1;
    if (!th_wait_until(redis_answers, r, 5000)) {
        fprintf(stderr, "redis-server on port %d did not answer; see %s\n", r->port, log);
        return -1;
    }
    return th_redis_setup(r);
}

FILE *th_fopen_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return NULL;
    fchmod(fd, 0600); /* an existing file keeps its mode through O_CREAT */
    FILE *f = fdopen(fd, "w");
    if (!f) close(fd);
    return f;
}

int th_redis_setup(const struct th_redis *r)
{
    /* roles never load the library: the admin does, with the command users run */
    const char *argv[] = {th_bfq_bin(), "redis-setup", "--redis", r->url, NULL};
    char *out = NULL;
    int rc = th_run(argv, &out, 10000);
    if (rc != 0) fprintf(stderr, "bfq redis-setup failed (%d): %s\n", rc, out ? out : "");
    free(out);
    return rc == 0 ? 0 : -1;
}

void th_redis_stop(struct th_redis *r)
{
    if (r->pid > 0) th_stop(r->pid, 5000);
    r->pid = 0;
}

int th_redis_restart(struct th_redis *r, int crash)
{
    char conf[640];
    if (r->pid > 0 && crash) kill(r->pid, SIGKILL);
    if (r->pid > 0) th_stop(r->pid, 5000);
    snprintf(conf, sizeof conf, "%s/redis.conf", r->dir);
    const char *argv[] = {"redis-server", conf, NULL};
    r->pid = th_spawn(argv, NULL);
    if (r->pid < 0) return -1;
    return th_wait_until(redis_answers, r, 10000) ? 0 : -1;
}

void th_redis_url_for(const struct th_redis *r, const char *user, char *buf, size_t cap)
{
    snprintf(buf, cap, "redis://%s:test-%s@127.0.0.1:%d", user, user, r->port);
}

/* ---- bfq sim ------------------------------------------------------------------------------ */

static int sim_answers(void *arg)
{
    const struct th_sim *s = arg;
    char url[256];
    snprintf(url, sizeof url, "%s/fapi/v1/ping", s->url);
    if (!th_alive(s->pid)) return -1;
    return th_http("GET", url, NULL, NULL, NULL) == 200;
}

int th_sim_start(struct th_sim *s, const char *const *extra_args)
{
    memset(s, 0, sizeof *s);
    s->port = th_free_port();
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    snprintf(s->log, sizeof s->log, "%s/sim-%d.log", th_tmpdir(), s->port);
    char listen[64];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", s->port);
    const char *argv[64] = {th_bfq_bin(), "sim", "--listen", listen};
    int n = 4;
    for (int i = 0; extra_args && extra_args[i] && n < 63; i++) argv[n++] = extra_args[i];
    argv[n] = NULL;
    s->pid = th_spawn(argv, s->log);
    if (s->pid < 0) return -1;
    if (th_wait_until(sim_answers, s, 10000) != 1) {
        fprintf(stderr, "bfq sim did not answer on %s; see %s\n", s->url, s->log);
        return -1;
    }
    return 0;
}

void th_sim_stop(struct th_sim *s)
{
    if (s->pid > 0) th_stop(s->pid, 5000);
    s->pid = 0;
}

/* ---- HTTP --------------------------------------------------------------------------------- */

struct membuf {
    char *p;
    size_t n;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    struct membuf *b = userp;
    size_t add = size * nmemb;
    char *p = realloc(b->p, b->n + add + 1);
    if (!p) return 0;
    memcpy(p + b->n, data, add);
    b->p = p;
    b->n += add;
    p[b->n] = '\0';
    return add;
}

long th_http(const char *method, const char *url, const char *form_body, const char *source_ip,
             char **body)
{
    return th_http_header(method, url, form_body, source_ip, NULL, body);
}

long th_http_header(const char *method, const char *url, const char *form_body,
                    const char *source_ip, const char *header, char **body)
{
    static int inited;
    struct curl_slist *h = header ? curl_slist_append(NULL, header) : NULL;
    if (!inited) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        inited = 1;
    }
    CURL *c = curl_easy_init();
    struct membuf b = {NULL, 0};
    long code = 0;
    if (!c) return 0;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    if (form_body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, form_body);
    if (h) curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    char iface[96];
    if (source_ip) {
        snprintf(iface, sizeof iface, "host!%s", source_ip);
        curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
    }
    if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    if (body) *body = b.p ? b.p : strdup("");
    else free(b.p);
    return code;
}

/* ---- LeakSanitizer ------------------------------------------------------------------------ */

/* The sanitizer build's leak check reads this hook from the test executables only (the bfq
 * binary does not link the harness, so every leak of bfq itself is still reported). The
 * tests' WebSocket client (testws.c) makes one libwebsockets context per connection, and
 * libwebsockets 4.1.6 does not free a client TLS context's OpenSSL objects when the context
 * is destroyed; bfq's own WebSocket client keeps one context per process. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libwebsockets.so\nleak:libcrypto.so\nleak:libssl.so\n";
}
