/* test_sdnotify: a role tells systemd when it is up and that its loop turns (issue 13, item 3).
 *
 * The test plays systemd: it listens on a unix datagram socket, passes it to `bfq symbols` as
 * $NOTIFY_SOCKET with $WATCHDOG_USEC set (400 ms), and reads what the role sends. With no Redis
 * the role must keep sending WATCHDOG=1 (its loop turns) but never READY=1 (it is not up).
 * With Redis and the simulator, READY=1 must come once exchangeInfo was accepted, WATCHDOG=1
 * keep coming after it, and SIGTERM bring STOPPING=1 and a clean exit. Without the module,
 * nothing ever arrives. The second role reads its Redis URL from a systemd credential, as the
 * units pass it. The gateway and the sweeper, idle (no intent, no open order), send no
 * exchange request at all: they must still send READY=1 once Redis is up, or systemd would
 * kill them at TimeoutStartSec= and, after StartLimitBurst=, leave them failed. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/harness.h"

#define SD_KEY "sdnotifykey0123456789"
#define SD_SECRET "sdnotifysecret0123456789abcdef"

static int sock = -1;
static char sockpath[256];

static int listen_notify(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sockpath, sizeof sockpath, "%s/notify.sock", th_tmpdir());
    if (strlen(sockpath) >= sizeof sa.sun_path) return -1;
    memcpy(sa.sun_path, sockpath, strlen(sockpath) + 1);
    sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0 || bind(sock, (struct sockaddr *)&sa, sizeof sa) < 0) return -1;
    return 0;
}

struct seen {
    int ready, watchdog, watchdog_after_ready, stopping;
};

/* Reads datagrams for ms, counting what they say. */
static void read_notify(struct seen *s, int ms)
{
    int64_t end = th_now_ms() + ms;
    for (int64_t left; (left = end - th_now_ms()) > 0;) {
        struct pollfd p = {.fd = sock, .events = POLLIN};
        if (poll(&p, 1, (int)left) <= 0) continue;
        char buf[512];
        ssize_t n = recv(sock, buf, sizeof buf - 1, 0);
        if (n <= 0) continue;
        buf[n] = '\0';
        if (strncmp(buf, "READY=1", 7) == 0) s->ready++;
        if (strstr(buf, "WATCHDOG=1")) {
            s->watchdog++;
            if (s->ready) s->watchdog_after_ready++;
        }
        if (strstr(buf, "STOPPING=1")) s->stopping++;
    }
}

/* Runs `bfq <name>` as the unit would: NOTIFY_SOCKET and WATCHDOG_USEC set (and the account's
 * key, which symbols does not read); with redis_url NULL, the URL comes from the credential
 * "redis_url" in creds (BFQ_REDIS_URL_FILE=redis_url, $CREDENTIALS_DIRECTORY), as
 * systemd/bfq-symbols@.service passes it. */
static pid_t spawn_role(const char *name, const char *redis_url, const char *creds,
                        const char *exchange, const char *log)
{
    const char *argv[] = {th_bfq_bin(), name, "--exchange", exchange, "--instance", "sd",
                          redis_url ? "--redis" : NULL, redis_url, NULL};
    setenv("NOTIFY_SOCKET", sockpath, 1);
    setenv("WATCHDOG_USEC", "400000", 1);
    setenv("BFQ_ACCOUNT_MAIN_API_KEY", SD_KEY, 1);
    setenv("BFQ_ACCOUNT_MAIN_API_SECRET", SD_SECRET, 1);
    if (creds) {
        setenv("CREDENTIALS_DIRECTORY", creds, 1);
        setenv("BFQ_REDIS_URL_FILE", "redis_url", 1);
    }
    pid_t pid = th_spawn(argv, log);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("BFQ_ACCOUNT_MAIN_API_KEY");
    unsetenv("BFQ_ACCOUNT_MAIN_API_SECRET");
    unsetenv("CREDENTIALS_DIRECTORY");
    unsetenv("BFQ_REDIS_URL_FILE");
    return pid;
}

/* The credentials directory systemd would make: redis_url, mode 0400. */
static const char *write_creds(const char *url)
{
    static char dir[512];
    char path[640];
    snprintf(dir, sizeof dir, "%s/creds", th_tmpdir());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/redis_url", dir);
    FILE *f = th_fopen_private(path);
    if (!f) return NULL;
    fprintf(f, "%s\n", url);
    fclose(f);
    chmod(path, 0400);
    return dir;
}

/* An idle role of the trading half (name), as its unit runs it, must send READY=1. */
static void check_idle_ready(const char *name, const char *user, const struct th_redis *red,
                             const char *exchange)
{
    char url[256], log[512];
    th_redis_url_for(red, user, url, sizeof url);
    snprintf(log, sizeof log, "%s/%s.log", th_tmpdir(), name);
    pid_t pid = spawn_role(name, url, NULL, exchange, log);
    struct seen s = {0};
    for (int i = 0; i < 50 && !s.ready; i++) read_notify(&s, 200);
    read_notify(&s, 600);
    fprintf(stderr, "# %s idle: ready=%d watchdog after ready=%d\n", name, s.ready,
            s.watchdog_after_ready);
    CHECK(s.ready == 1);
    CHECK(s.watchdog_after_ready >= 1);
    int st = th_stop(pid, 5000);
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    read_notify(&s, 300);
}

int main(void)
{
    struct th_redis red;
    struct th_sim sim;
    char log[512], url[256];
    CHECK(listen_notify() == 0);
    const char *simargs[] = {"--account", "main:" SD_KEY ":" SD_SECRET ":10000", NULL};
    if (sock < 0 || th_sim_start(&sim, simargs) < 0) return th_done();

    /* no Redis: the loop turns (watchdog) but the role is not up (no READY) */
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", th_free_port());
    snprintf(log, sizeof log, "%s/symbols-noredis.log", th_tmpdir());
    pid_t pid = spawn_role("symbols", url, NULL, sim.url, log);
    struct seen a = {0};
    read_notify(&a, 2500);
    fprintf(stderr, "# no redis: ready=%d watchdog=%d\n", a.ready, a.watchdog);
    CHECK(a.ready == 0);
    CHECK(a.watchdog >= 4); /* every 200 ms for 2.5 s, bounded low for a loaded machine */
    th_stop(pid, 5000);

    /* Redis and the exchange: READY once, after the first accepted answer */
    if (th_redis_start(&red, 1) < 0) return th_done();
    th_redis_url_for(&red, "symbols", url, sizeof url);
    snprintf(log, sizeof log, "%s/symbols.log", th_tmpdir());
    const char *creds = write_creds(url);
    CHECK(creds != NULL);
    pid = spawn_role("symbols", NULL, creds, sim.url, log);
    struct seen b = {0};
    for (int i = 0; i < 50 && !b.ready; i++) read_notify(&b, 200);
    read_notify(&b, 1500);
    fprintf(stderr, "# up: ready=%d watchdog=%d after ready=%d\n", b.ready, b.watchdog,
            b.watchdog_after_ready);
    CHECK(b.ready == 1);
    CHECK(b.watchdog_after_ready >= 2);
    int st = th_stop(pid, 5000);
    CHECK(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    read_notify(&b, 300);
    CHECK(b.stopping == 1);
    check_idle_ready("gateway", "gateway", &red, sim.url);
    check_idle_ready("sweeper", "risk", &red, sim.url);
    th_redis_stop(&red);
    th_sim_stop(&sim);
    close(sock);
    return th_done();
}
