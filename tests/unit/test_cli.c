/* test_cli: core/cli option parsing onto config keys, usage output and usage errors.
 *
 * stdout and stderr are captured by pointing fds 1 and 2 at files around each call. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cli.h"
#include "tests/harness/harness.h"

static const struct cli_option kline_opts[] = {
    {"interval", "INTERVAL", NULL, NULL, "kline interval", 0},
    {"hot", NULL, NULL, NULL, "walk the hot set only", 0},
    {"max-symbols", "N", NULL, NULL, "cap on symbols", 0},
    {"symbol", "SYM", "kline", "symbols", "a symbol to walk", 1},
    {"budget", "PCT", "weight", "budget_pct", "weight budget", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

static const struct cli_command kline_cmd = {
    "kline", "klines for the next symbol of a shared cursor", "Example: bfq kline --hot",
    kline_opts, 1, NULL,
};

static const struct cli_command bare_cmd = {"status", "what every instance is doing", NULL,
                                            NULL, 0, NULL};

struct captured {
    enum cli_result res;
    struct config *cfg;
    char out[8192], err[2048];
};

static void slurp(int fd, char *buf, size_t cap)
{
    off_t len = lseek(fd, 0, SEEK_END);
    if (len < 0 || (size_t)len >= cap)
        len = (off_t)cap - 1;
    ssize_t n = pread(fd, buf, (size_t)len, 0);
    buf[n > 0 ? n : 0] = '\0';
}

/* Runs cli_parse on a NULL-terminated word list, capturing stdout and stderr. */
static void run(const struct cli_command *cmd, const char *const *words, struct captured *c)
{
    char *argv[32];
    int argc = 0;
    for (; words[argc] && argc < 31; argc++)
        argv[argc] = (char *)words[argc];
    argv[argc] = NULL;
    char po[1024], pe[1024];
    snprintf(po, sizeof po, "%s/cli.out", th_tmpdir());
    snprintf(pe, sizeof pe, "%s/cli.err", th_tmpdir());
    int fo = open(po, O_CREAT | O_TRUNC | O_RDWR, 0600);
    int fe = open(pe, O_CREAT | O_TRUNC | O_RDWR, 0600);
    int so = dup(1), se = dup(2);
    fflush(stdout);
    dup2(fo, 1);
    dup2(fe, 2);
    c->res = cli_parse(cmd, argc, argv, &c->cfg);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    slurp(fo, c->out, sizeof c->out);
    slurp(fe, c->err, sizeof c->err);
    close(fo);
    close(fe);
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_options_to_keys(void)
{
    struct captured c;
    const char *const w[] = {"kline", "--interval", "5m", "--hot", "--max-symbols=7",
                             "--symbol", "BTCUSDT", "--symbol", "ETHUSDT", "--redis",
                             "redis://127.0.0.1:7/0", "--exchange", "http://127.0.0.1:9",
                             "--exchange-ws", "ws://127.0.0.1:9", "--account", "sub",
                             "--source-ip", "127.0.0.3", "--instance", "k1", "--log-level",
                             "debug", "--budget", "80", NULL};
    run(&kline_cmd, w, &c);
    CHECK(c.res == CLI_RUN && c.cfg != NULL);
    CHECK_EQ_STR(c.err, "");
    if (c.cfg == NULL)
        return;
    CHECK_EQ_STR(config_get(c.cfg, "kline", "interval"), "5m");
    CHECK_EQ_STR(config_get(c.cfg, "kline", "hot"), "true");
    CHECK_EQ_STR(config_get(c.cfg, "kline", "max_symbols"), "7");
    CHECK_EQ_STR(config_get(c.cfg, "kline", "symbols"), "BTCUSDT\nETHUSDT");
    CHECK_EQ_STR(config_get(c.cfg, "redis", "url"), "redis://127.0.0.1:7/0");
    CHECK_EQ_STR(config_get(c.cfg, "exchange", "rest_url"), "http://127.0.0.1:9");
    CHECK_EQ_STR(config_get(c.cfg, "exchange", "ws_url"), "ws://127.0.0.1:9");
    CHECK_EQ_STR(config_get(c.cfg, "kline", "account"), "sub");
    CHECK_EQ_STR(config_get(c.cfg, "kline", "source_ip"), "127.0.0.3");
    CHECK_EQ_STR(config_get(c.cfg, "kline", "instance"), "k1");
    CHECK_EQ_STR(config_get(c.cfg, "log", "level"), "debug");
    CHECK_EQ_STR(config_get(c.cfg, "weight", "budget_pct"), "80");
    int hot = 0;
    CHECK(config_bool(c.cfg, "kline", "hot", 0, &hot) == 0 && hot == 1);
    char id[128];
    cli_instance(c.cfg, "kline", id, sizeof id);
    CHECK_EQ_STR(id, "k1");
    config_free(c.cfg);

    /* No options at all: an empty config, the default instance id host-pid. */
    const char *const w2[] = {"kline", NULL};
    run(&kline_cmd, w2, &c);
    CHECK(c.res == CLI_RUN && c.cfg != NULL);
    if (c.cfg) {
        CHECK(config_get(c.cfg, "kline", "interval") == NULL);
        cli_instance(c.cfg, "kline", id, sizeof id);
        char host[256], want[300];
        gethostname(host, sizeof host);
        snprintf(want, sizeof want, "%s-%ld", host, (long)getpid());
        CHECK_EQ_STR(id, want);
        config_free(c.cfg);
    }
    /* A non-repeatable option given twice: the last wins. */
    const char *const w3[] = {"kline", "--interval", "1m", "--interval", "3m", NULL};
    run(&kline_cmd, w3, &c);
    CHECK(c.res == CLI_RUN && c.cfg && strcmp(config_get(c.cfg, "kline", "interval"), "3m") == 0);
    config_free(c.cfg);
}

static void test_config_first(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/cli.ini", th_tmpdir());
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL)
        return;
    fputs("[kline]\ninterval = 15m\nlimit = 45\n[redis]\nurl = redis://file:1\n", f);
    fclose(f);
    setenv("BFQ_KLINE_LIMIT", "60", 1);
    /* --config after the option: the option still wins over the file. */
    struct captured c;
    const char *const w[] = {"kline", "--interval", "1m", "--config", path, NULL};
    run(&kline_cmd, w, &c);
    CHECK(c.res == CLI_RUN && c.cfg != NULL);
    if (c.cfg) {
        CHECK_EQ_STR(config_get(c.cfg, "kline", "interval"), "1m");
        CHECK_EQ_STR(config_get(c.cfg, "redis", "url"), "redis://file:1");
        CHECK_EQ_STR(config_get(c.cfg, "kline", "limit"), "60"); /* env beats file */
        CHECK(config_get(c.cfg, "kline", "config") == NULL);
        config_free(c.cfg);
    }
    unsetenv("BFQ_KLINE_LIMIT");
    /* A missing config file: one line naming it, usage exit. */
    const char *const w2[] = {"kline", "--config", "/nonexistent/x.ini", NULL};
    run(&kline_cmd, w2, &c);
    CHECK(c.res == CLI_EXIT_USAGE && c.cfg == NULL);
    CHECK(strstr(c.err, "bfq kline: /nonexistent/x.ini") == c.err && count_lines(c.err) == 1);
}

static void test_help(void)
{
    struct captured c;
    const char *const w[] = {"kline", "--interval", "5m", "--help", NULL};
    run(&kline_cmd, w, &c);
    CHECK(c.res == CLI_EXIT_OK && c.cfg == NULL);
    CHECK_EQ_STR(c.err, "");
    CHECK(strncmp(c.out, "usage: bfq kline [options]\n", 27) == 0);
    CHECK(strstr(c.out, "--interval INTERVAL") != NULL);
    CHECK(strstr(c.out, "--symbol SYM") != NULL && strstr(c.out, "(repeatable)") != NULL);
    CHECK(strstr(c.out, "--redis URL") != NULL && strstr(c.out, "--source-ip ADDR") != NULL);
    CHECK(strstr(c.out, "Example: bfq kline --hot") != NULL);
    const char *const w2[] = {"status", "-h", NULL};
    run(&bare_cmd, w2, &c);
    CHECK(c.res == CLI_EXIT_OK && strstr(c.out, "usage: bfq status") != NULL);
    CHECK(strstr(c.out, "--redis") == NULL); /* no role options for this command */
}

static void expect_usage(const struct cli_command *cmd, const char *const *w, const char *line)
{
    struct captured c;
    run(cmd, w, &c);
    CHECK(c.res == CLI_EXIT_USAGE && c.cfg == NULL);
    CHECK_EQ_STR(c.err, line);
    CHECK_EQ_STR(c.out, "");
}

static void test_usage_errors(void)
{
    const char *const w1[] = {"kline", "--x", NULL};
    expect_usage(&kline_cmd, w1, "bfq kline: unknown option '--x' (see bfq kline --help)\n");
    const char *const w2[] = {"kline", "--x=5", "--interval", "1m", NULL};
    expect_usage(&kline_cmd, w2, "bfq kline: unknown option '--x' (see bfq kline --help)\n");
    const char *const w3[] = {"kline", "--interval", NULL};
    expect_usage(&kline_cmd, w3,
                 "bfq kline: option '--interval' needs an argument (see bfq kline --help)\n");
    const char *const w4[] = {"kline", "--hot", "stray", NULL};
    expect_usage(&kline_cmd, w4,
                 "bfq kline: unexpected argument 'stray' (see bfq kline --help)\n");
    const char *const w5[] = {"kline", "-q", NULL};
    expect_usage(&kline_cmd, w5, "bfq kline: unknown option '-q' (see bfq kline --help)\n");
    const char *const w6[] = {"status", "--redis", "x", NULL};
    expect_usage(&bare_cmd, w6, "bfq status: unknown option '--redis' (see bfq status --help)\n");
    const char *const w7[] = {"kline", "--hot=yes", NULL};
    expect_usage(&kline_cmd, w7, "bfq kline: unknown option '--hot' (see bfq kline --help)\n");
    const char *const w8[] = {"kline", "--", "x", NULL};
    expect_usage(&kline_cmd, w8, "bfq kline: unexpected argument 'x' (see bfq kline --help)\n");
}

int main(void)
{
    test_options_to_keys();
    test_config_first();
    test_help();
    test_usage_errors();
    return th_done();
}
