/* test_install: scripts/install into a temporary root, systemd-analyze verify on every unit it
 * installed, and scripts/scale's choice of addresses (issue 13, item 3).
 *
 * The install must put the binary, the units (with the real binary path), the Redis, ACL and
 * Sentinel files and one private credentials directory per role in place, keep an operator's
 * files on a second run, and never write a secret into a file others can read. Every unit must
 * pass `systemd-analyze verify --root` with no message at all (a unit with a typo is checked to
 * produce one, so the check can fail). systemd itself cannot run here (no systemd as PID 1 in
 * this container), so scale is checked through --running and --dry-run: the commands it would
 * give systemctl. Every unit file in systemd/ is verified, so a new unit is checked without an
 * edit here; the trading half's units are checked for their notify, watchdog, restart-limit
 * and target settings and their own credentials, and scale for refusing N of a per-account
 * role. Skipped (77) when systemd-analyze is not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/harness/harness.h"

static char root[512];

static int sh(const char *cmd, char **out)
{
    const char *argv[] = {"sh", "-c", cmd, NULL};
    return th_run(argv, out, 60000);
}

static int mode_of(const char *rel)
{
    char p[1024];
    struct stat st;
    snprintf(p, sizeof p, "%s%s", root, rel);
    return stat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static char *slurp(const char *rel)
{
    char p[1024], *out = NULL;
    snprintf(p, sizeof p, "cat '%s%s'", root, rel);
    return sh(p, &out) == 0 ? out : (free(out), NULL);
}

static void test_files(void)
{
    CHECK(mode_of("/usr/local/bin/bfq") == 0755);
    CHECK(mode_of("/etc/bfq/bfq.ini") == 0644);
    CHECK(mode_of("/etc/bfq/credentials") == 0700);
    CHECK(mode_of("/etc/bfq/credentials/kline") == 0700);
    CHECK(mode_of("/etc/bfq/credentials/kline/redis_url") == 0600);
    CHECK(mode_of("/etc/bfq/credentials/userstream/redis_url") == 0600);
    CHECK(mode_of("/etc/bfq/redis/users.acl") == 0600);
    CHECK(mode_of("/etc/bfq/redis/sentinel.conf") == 0600);
    CHECK(mode_of("/etc/bfq/redis/replication.conf") == 0600);
    char *url = slurp("/etc/bfq/credentials/kline-hot/redis_url");
    CHECK(url && strncmp(url, "redis+sentinel://kline:", 23) == 0 &&
          strstr(url, "@127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381/bfq"));
    char *acl = slurp("/etc/bfq/redis/users.acl");
    /* no user but admin can REPLICAOF (which replaces a server's data and library): the
     * Sentinels log in as admin */
    CHECK(acl && !strstr(acl, "user sentinel ") && strstr(acl, "user replica on >") &&
          !strstr(acl, "@PASS_"));
    char *sent = slurp("/etc/bfq/redis/sentinel.conf");
    CHECK(sent && strstr(sent, "sentinel monitor bfq 127.0.0.1 6390 2") &&
          strstr(sent, "sentinel auth-user bfq admin\n") && !strstr(sent, "@PASS_"));
    char *unit = slurp("/etc/systemd/system/bfq-kline@.service");
    CHECK(unit && strstr(unit, "ExecStart=/usr/local/bin/bfq kline ") && strstr(unit, "Type=notify") &&
          strstr(unit, "WatchdogSec=") && strstr(unit, "LoadCredential=redis_url:"));
    /* the trading half: each unit with its own credentials and ACL user */
    CHECK(mode_of("/etc/bfq/credentials/gateway/redis_url") == 0600);
    CHECK(mode_of("/etc/bfq/credentials/notify/feishu_secret") == 0600);
    CHECK(mode_of("/etc/bfq/env/gateway.env") == 0600);
    static const char *const users[][2] = {
        {"trader", "trader"}, {"gateway", "gateway"}, {"stoploss", "risk"}, {"sweeper", "risk"},
        {"lossguard", "risk"}, {"notify", "risk"}, {"recorder", "recorder"}, {"dash", "status"}};
    for (size_t i = 0; i < sizeof users / sizeof users[0]; i++) {
        char rel[128], want[64];
        snprintf(rel, sizeof rel, "/etc/bfq/credentials/%s/redis_url", users[i][0]);
        snprintf(want, sizeof want, "redis+sentinel://%s:", users[i][1]);
        char *u = slurp(rel);
        /* the dash logs in as its own read-only user where users.acl.in has one */
        int ok = u && (!strncmp(u, want, strlen(want)) ||
                       (!strcmp(users[i][0], "dash") && !strncmp(u, "redis+sentinel://dash:", 22)));
        if (!ok) fprintf(stderr, "# %s: %s\n", rel, u ? u : "");
        CHECK(ok && mode_of(rel) == 0600);
        free(u);
        snprintf(rel, sizeof rel, "/etc/systemd/system/bfq-%s@.service", users[i][0]);
        u = slurp(rel);
        CHECK(u && strstr(u, "Type=notify") && strstr(u, "WatchdogSec=") &&
              strstr(u, "StartLimitBurst=") && strstr(u, "WantedBy=bfq.target") &&
              strstr(u, "PartOf=bfq.target") && strstr(u, "ExecStart=/usr/local/bin/bfq "));
        free(u);
    }
    char *ini = slurp("/etc/bfq/bfq.ini");
    CHECK(ini && strstr(ini, "api_secret_file = main.api_secret"));
    free(url);
    free(acl);
    free(sent);
    free(unit);
    free(ini);
}

/* A second install keeps the operator's files: the Redis URL an operator edited stays. */
static void test_keeps(const char *install)
{
    char cmd[2048], *url = NULL;
    snprintf(cmd, sizeof cmd, "echo redis://kline:edited@10.1.1.1:6379 > '%s/etc/bfq/credentials/kline/redis_url'",
             root);
    CHECK(sh(cmd, NULL) == 0);
    CHECK(sh(install, NULL) == 0);
    url = slurp("/etc/bfq/credentials/kline/redis_url");
    CHECK(url && strstr(url, "kline:edited@"));
    free(url);
}

/* systemd-analyze verify with the host's own units below the root (it needs sysinit.target
 * and the rest of the default dependencies) and redis-server where the units name it. */
static void test_verify(void)
{
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "mkdir -p '%1$s/usr/lib/systemd' '%1$s/usr/bin' && cp -r /lib/systemd/system '%1$s/usr/lib/systemd/' "
             "&& cp \"$(command -v redis-server)\" '%1$s/usr/bin/redis-server'", root);
    CHECK(sh(cmd, NULL) == 0);
    /* every unit file of systemd/, an instance of each template (an address where the
     * instance is the source address, else an account) */
    snprintf(cmd, sizeof cmd,
             "cd '%s/systemd' && for f in *.service *.target; do case $f in *@.service) "
             "if grep -q -- '--source-ip %%i' \"$f\"; then i=127.0.0.2; else i=main; fi; "
             "echo \"${f%%@.service}@$i.service\" ;; *) echo \"$f\" ;; esac; done",
             th_source_dir());
    char *list = NULL;
    CHECK(sh(cmd, &list) == 0 && list);
    int n = 0;
    for (char *u = list, *nl = list ? strchr(list, '\n') : NULL; nl;
         u = nl + 1, nl = strchr(u, '\n')) {
        *nl = '\0';
        n++;
        snprintf(cmd, sizeof cmd, "cd / && systemd-analyze verify --root='%s' %s 2>&1", root, u);
        int rc = sh(cmd, &out);
        if (rc != 0 || (out && out[0])) fprintf(stderr, "# %s: rc %d: %s\n", u, rc, out);
        CHECK(rc == 0 && out && !out[0]);
        free(out);
        out = NULL;
    }
    free(list);
    fprintf(stderr, "# systemd-analyze verify: %d units\n", n);
    CHECK(n >= 20); /* the data half, the trading half, redis, sentinel and the target */
    /* the check can fail: a unit with an unknown key is reported */
    snprintf(cmd, sizeof cmd,
             "sed 's/^Type=notify/Typo=notify/' '%1$s/etc/systemd/system/bfq-kline@.service' > "
             "'%1$s/etc/systemd/system/bfq-bad@.service' && cd / && "
             "systemd-analyze verify --root='%1$s' bfq-bad@127.0.0.2.service 2>&1", root);
    sh(cmd, &out);
    CHECK(out && strstr(out, "Typo"));
    free(out);
    out = NULL;
    /* and so can a unit of the trading half whose binary is not where ExecStart says */
    snprintf(cmd, sizeof cmd,
             "sed 's|/usr/local/bin/bfq|/usr/local/bin/nobfq|' "
             "'%1$s/etc/systemd/system/bfq-gateway@.service' > "
             "'%1$s/etc/systemd/system/bfq-bad@.service' && cd / && "
             "systemd-analyze verify --root='%1$s' bfq-bad@127.0.0.2.service 2>&1", root);
    int rc = sh(cmd, &out);
    CHECK(rc != 0 && out && strstr(out, "nobfq"));
    free(out);
}

/* scripts/scale with args (--dry-run): its exit status must be rc and, unless want is NULL,
 * what it prints on stdout want; with stderr, its messages are read too. Returns what it
 * printed (malloc'd). */
static char *scale_is(const char *args, int rc, const char *want, int stderr_too)
{
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s/scripts/scale' %s --dry-run %s", th_source_dir(), args,
             stderr_too ? "2>&1" : "2>/dev/null");
    CHECK(sh(cmd, &out) == rc);
    if (want) CHECK_EQ_STR(out, want);
    return out;
}

static void test_scale(void)
{
    free(scale_is("kline 3 --addresses '127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5' --running "
                  "'127.0.0.3'", 0, "systemctl enable --now bfq-kline@127.0.0.2.service\n"
                  "systemctl enable --now bfq-kline@127.0.0.4.service\n", 0));
    free(scale_is("tick 1 --addresses '127.0.0.2 127.0.0.3 127.0.0.4' --running '127.0.0.2 "
                  "127.0.0.4 127.0.0.3'", 0, "systemctl disable --now bfq-tick@127.0.0.4.service\n"
                  "systemctl disable --now bfq-tick@127.0.0.3.service\n", 0));
    free(scale_is("kline 3 --addresses '127.0.0.2' --running ''", 1, NULL, 0)); /* too few */
    free(scale_is("account 3", 2, NULL, 0));
    /* the trading half: traders and gateways scale by address, the per-account roles refuse */
    free(scale_is("gateway 2 --addresses '127.0.0.2 127.0.0.3' --running ''", 0,
                  "systemctl enable --now bfq-gateway@127.0.0.2.service\n"
                  "systemctl enable --now bfq-gateway@127.0.0.3.service\n", 0));
    free(scale_is("trader 1 --addresses '127.0.0.2 127.0.0.3' --running '127.0.0.2 127.0.0.3'",
                  0, "systemctl disable --now bfq-trader@127.0.0.3.service\n", 0));
    static const char *const single[] = {"stoploss", "sweeper", "lossguard", "recorder", "dash",
                                         "notify"};
    for (size_t i = 0; i < sizeof single / sizeof single[0]; i++) {
        char args[64];
        snprintf(args, sizeof args, "%s 2 --running ''", single[i]);
        char *out = scale_is(args, 2, NULL, 1);
        CHECK(out && strstr(out, "one instance per account"));
        free(out);
    }
}

int main(void)
{
    char install[2048];
    if (access("/usr/bin/systemd-analyze", X_OK) != 0) {
        fprintf(stderr, "systemd-analyze not installed (Debian package systemd): skipped\n");
        return 77;
    }
    snprintf(root, sizeof root, "%s/root", th_tmpdir());
    snprintf(install, sizeof install,
             "'%s/scripts/install' --root '%s' --bin '%s' --redis 127.0.0.1:6390 "
             "--sentinels 127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381 2>&1",
             th_source_dir(), root, th_bfq_bin());
    char *out = NULL;
    int rc = sh(install, &out);
    if (rc != 0) fprintf(stderr, "# install: %s\n", out ? out : "");
    CHECK(rc == 0);
    free(out);
    test_files();
    test_keeps(install);
    test_verify();
    test_scale();
    return th_done();
}
