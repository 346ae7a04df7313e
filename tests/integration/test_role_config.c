/* test_role_config: a role started as a user would, with a configuration file holding typos,
 * reports the unknown keys once at start (and keeps running), and refuses a bad value with the
 * key's name and exit status 1; keys of a role's own section are checked against what its
 * command declares (cli_command.keys and options), sections no command owns are reported, and
 * compound durations such as 23h30m are accepted. The role also ignores SIGPIPE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "tests/harness/harness.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = calloc(1, 65536);
    if (buf) (void)!fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* Nonzero when /proc says pid ignores SIGPIPE (bit 13 of SigIgn). */
static int ignores_sigpipe(pid_t pid)
{
    char path[64], line[256];
    unsigned long long mask = 0;
    int found = 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "SigIgn:", 7) == 0) found = sscanf(line + 7, "%llx", &mask) == 1;
    fclose(f);
    return found && (mask & (1ull << (13 - 1))) != 0;
}

static void unknown_keys_reported(void)
{
    char ini[512], log[512];
    snprintf(ini, sizeof ini, "%s/typos.ini", th_tmpdir());
    snprintf(log, sizeof log, "%s/typos.log", th_tmpdir());
    write_file(ini, "[exchange]\nrest_ulr = http://127.0.0.1:1\n"
                    "[redis]\nurl = redis://127.0.0.1:1\n"
                    "[kline]\nlimit = 45\n"
                    "[account.main]\napi_key = k\nap_secret = s\n");
    const char *argv[] = {th_bfq_bin(), "watchdog", "--config", ini, NULL};
    pid_t pid = th_spawn(argv, log);
    th_sleep_ms(700);
    CHECK(th_alive(pid));
    /* A Redis that closed the connection must not kill a role by SIGPIPE (th_spawn resets it
     * to the default): the role ignores it and reconnects. */
    CHECK(ignores_sigpipe(pid));
    int st = th_stop(pid, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *text = slurp(log);
    CHECK(text && strstr(text, "unknown config keys"));
    CHECK(text && strstr(text, "exchange.rest_ulr"));
    CHECK(text && strstr(text, "account.main.ap_secret"));
    CHECK(text && !strstr(text, "kline.limit"));
    free(text);
}

/* A typo in a role's own section, a section no command owns, and (from another role) a typo
 * in that role's section are reported; every key a command declares is not. A compound
 * duration (max_age = 23h30m, as docs/account.md writes it) is accepted. */
static void own_section_keys(void)
{
    char ini[512], log[512], url[64];
    snprintf(ini, sizeof ini, "%s/own.ini", th_tmpdir());
    snprintf(log, sizeof log, "%s/own.log", th_tmpdir());
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", th_free_port());
    FILE *f = th_fopen_private(ini);
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f, "[redis]\nurl = %s\nlibrary_check = 5s\n"
               "[kline]\nratee = 12\nrate = 3\ncorrect = false\nhot_max_age = 3m\n"
               "instance = k-1\nsource_ip = 127.0.0.1\n"
               "[klien]\nrate = 2\n"
               "[userstream]\nmax_age = 23h30m\nws_path = /ws/\nkeepalive = 30m\n"
               "[watchdog]\ntolerance = 1s\nsilent_aftr = 3s\n"
               "[sim]\nlisten = 127.0.0.1:1\n[status]\njson = true\n"
               "[redis-setup]\ncheck = true\n[account.main]\napi_key = k\napi_secret = s\n",
            url);
    fclose(f);
    const char *argv[] = {th_bfq_bin(), "kline", "--config", ini, NULL};
    pid_t pid = th_spawn(argv, log);
    th_sleep_ms(700);
    CHECK(th_alive(pid));
    int st = th_stop(pid, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char *text = slurp(log);
    CHECK(text && strstr(text, "unknown config keys") && strstr(text, "count=3"));
    CHECK(text && strstr(text, "kline.ratee"));
    CHECK(text && strstr(text, "klien.rate"));
    CHECK(text && strstr(text, "watchdog.silent_aftr"));
    free(text);
    /* the userstream reads its 23h30m */
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' userstream --config '%s' --exchange http://127.0.0.1:1 "
             "--max-age 23h30mx 2>&1", th_bfq_bin(), ini);
    const char *sh[] = {"sh", "-c", cmd, NULL};
    CHECK(th_run(sh, &out, 5000) == 1);
    CHECK(out && strstr(out, "max_age") && strstr(out, "23h30mx"));
    free(out);
    out = NULL;
    snprintf(log, sizeof log, "%s/us.log", th_tmpdir());
    const char *us[] = {th_bfq_bin(), "userstream", "--config", ini, "--exchange",
                        "http://127.0.0.1:1", NULL};
    pid = th_spawn(us, log);
    th_sleep_ms(700);
    CHECK(th_alive(pid)); /* the file's max_age = 23h30m was accepted */
    st = th_stop(pid, 5000);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void bad_value_refused(void)
{
    char ini[512], *out = NULL;
    snprintf(ini, sizeof ini, "%s/bad.ini", th_tmpdir());
    write_file(ini, "[redis]\nurl = redis://127.0.0.1:1\n[kline]\nlimit = many\n");
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "'%s' kline --config '%s' 2>&1", th_bfq_bin(), ini);
    const char *argv[] = {"sh", "-c", cmd, NULL};
    int rc = th_run(argv, &out, 5000);
    CHECK(rc == 1);
    CHECK(out && strstr(out, "limit") && strstr(out, "many"));
    CHECK(out && strchr(out, '\n') == out + strlen(out) - 1); /* one line */
    free(out);
}

int main(void)
{
    unknown_keys_reported();
    bad_value_refused();
    own_section_keys();
    return th_done();
}
