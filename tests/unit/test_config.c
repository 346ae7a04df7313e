/* test_config: core/config on real files, real environment variables and key files.
 *
 * Every config is freed, so running this under valgrind --leak-check=full shows no leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/config.h"
#include "core/log.h"
#include "tests/harness/harness.h"

static char *write_file(const char *name, const char *text, mode_t mode)
{
    static char paths[16][1024];
    static int next;
    char *path = paths[next++ % 16];
    snprintf(path, 1024, "%s/%s", th_tmpdir(), name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
    return path;
}

static const char *const sample =
    "; bfq test configuration\n"
    "[exchange]\n"
    "rest_url = http://127.0.0.1:9\n"
    "\n"
    "[redis]\n"
    "url = redis://127.0.0.1:6379/0   ; inline comment\n"
    "\n"
    "[kline]\n"
    "limit = 45\n"
    "interval = 5m\n"
    "hot = yes\n"
    "symbols = BTCUSDT\n"
    "symbols = ETHUSDT\n"
    "bad_int = abc\n"
    "big = 2000\n"
    "bad_bool = maybe\n"
    "bad_duration = 5x\n"
    "typo_key = 1\n"
    "\n"
    "[account.main]\n"
    "api_key = KEYMAINKEYMAIN\n"
    "\n"
    "[account.sub-1]\n"
    "api_key = KEYSUB1KEYSUB1\n";

static void test_file(void)
{
    struct config *cfg = config_new();
    const char *path = write_file("bfq.ini", sample, 0644);
    CHECK(config_load(cfg, path) == 0);
    CHECK_EQ_STR(config_get(cfg, "exchange", "rest_url"), "http://127.0.0.1:9");
    CHECK_EQ_STR(config_get(cfg, "redis", "url"), "redis://127.0.0.1:6379/0");
    CHECK(config_get(cfg, "redis", "nothing") == NULL);
    CHECK(config_get(cfg, "nosection", "url") == NULL);
    CHECK_EQ_STR(config_get(cfg, "kline", "symbols"), "BTCUSDT\nETHUSDT");

    int64_t v = 0;
    CHECK(config_int(cfg, "kline", "limit", 10, 1, 1500, &v) == 0 && v == 45);
    CHECK(config_int(cfg, "kline", "unset", 10, 1, 1500, &v) == 0 && v == 10);
    CHECK(config_int(cfg, "kline", "bad_int", 10, 1, 1500, &v) == -1);
    CHECK_EQ_STR(config_errstr(cfg), "[kline] bad_int: 'abc' is not an integer");
    CHECK(config_int(cfg, "kline", "big", 10, 1, 1500, &v) == -1);
    CHECK_EQ_STR(config_errstr(cfg), "[kline] big: 2000 is out of range 1..1500");

    int b = 0;
    CHECK(config_bool(cfg, "kline", "hot", 0, &b) == 0 && b == 1);
    CHECK(config_bool(cfg, "kline", "unset", 1, &b) == 0 && b == 1);
    CHECK(config_bool(cfg, "kline", "bad_bool", 0, &b) == -1);
    CHECK(strstr(config_errstr(cfg), "[kline] bad_bool: 'maybe' is not a boolean") != NULL);

    CHECK(config_duration_ms(cfg, "kline", "interval", 0, 0, INT64_MAX, &v) == 0 &&
          v == 300000);
    CHECK(config_duration_ms(cfg, "kline", "bad_duration", 0, 0, INT64_MAX, &v) == -1);
    CHECK(strstr(config_errstr(cfg), "[kline] bad_duration: '5x' is not a duration") != NULL);
    CHECK(config_duration_ms(cfg, "kline", "interval", 0, 0, 60000, &v) == -1);
    CHECK(strstr(config_errstr(cfg), "[kline] interval:") != NULL &&
          strstr(config_errstr(cfg), "out of range") != NULL);

    const char *s = NULL;
    CHECK(config_str(cfg, "kline", "unset", "dflt", &s) == 0);
    CHECK_EQ_STR(s, "dflt");
    CHECK(config_required(cfg, "kline", "unset", &s) == -1);
    CHECK(strstr(config_errstr(cfg), "[kline] unset: required but not set") != NULL &&
          strstr(config_errstr(cfg), "BFQ_KLINE_UNSET") != NULL);

    static const char *const known[] = {"exchange.rest_url", "redis.url", "kline.*",
                                        "account.*.api_key", "account.*.api_secret", NULL};
    char buf[256];
    CHECK(config_unknown_keys(cfg, known, buf, sizeof buf) == 0);
    static const char *const known2[] = {"exchange.rest_url", "redis.url", "kline.limit",
                                         "kline.interval", "kline.hot", "kline.symbols",
                                         "kline.bad_*", "kline.big", "account.*.api_key", NULL};
    CHECK(config_unknown_keys(cfg, known2, buf, sizeof buf) == 1);
    CHECK_EQ_STR(buf, "kline.typo_key");
    static const char *const known3[] = {"redis.url", NULL};
    CHECK(config_unknown_keys(cfg, known3, buf, 20) == 12);
    CHECK(strlen(buf) == 19); /* truncated to the buffer */
    config_free(cfg);
}

static void test_durations_bools(void)
{
    struct config *cfg = config_new();
    static const struct {
        const char *text;
        int64_t ms;
    } ok[] = {{"250ms", 250}, {"5s", 5000}, {"30m", 1800000}, {"8h", 28800000}, {"1500", 1500},
              {"0", 0}, {"0s", 0}, {"23h30m", 84600000}, {"1m30s", 90000},
              {"1h2m3s500ms", 3723500}, {"2s250ms", 2250}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t v = -1;
        config_set(cfg, "t", "d", ok[i].text);
        CHECK(config_duration_ms(cfg, "t", "d", 0, 0, INT64_MAX, &v) == 0 && v == ok[i].ms);
    }
    static const char *const bad[] = {"", "s", "ms", "-5s", "5 s", " 5s", "1.5s", "5d", "5S",
                                      "99999999999999999999h", "9223372036854775807h",
                                      "30m23h", "1h1h", "1h 30m", "h30m", "1hm", "30m5", "1h-5m",
                                      "2562047788015h2562047788015h", NULL};
    for (int i = 0; bad[i]; i++) {
        int64_t v;
        config_set(cfg, "t", "d", bad[i]);
        CHECK(config_duration_ms(cfg, "t", "d", 0, 0, INT64_MAX, &v) == -1);
    }
    static const char *const yes[] = {"true", "yes", "1", "on", "TRUE", "On", NULL};
    static const char *const no[] = {"false", "no", "0", "off", "False", "OFF", NULL};
    for (int i = 0; yes[i]; i++) {
        int b = 0;
        config_set(cfg, "t", "b", yes[i]);
        CHECK(config_bool(cfg, "t", "b", 0, &b) == 0 && b == 1);
        config_set(cfg, "t", "b", no[i]);
        CHECK(config_bool(cfg, "t", "b", 1, &b) == 0 && b == 0);
    }
    static const char *const badint[] = {"", " 1", "1 ", "0x10", "1e3", "9223372036854775808",
                                         "12abc", NULL};
    for (int i = 0; badint[i]; i++) {
        int64_t v;
        config_set(cfg, "t", "i", badint[i]);
        CHECK(config_int(cfg, "t", "i", 0, INT64_MIN, INT64_MAX, &v) == -1);
    }
    int64_t v;
    config_set(cfg, "t", "i", "-9223372036854775808");
    CHECK(config_int(cfg, "t", "i", 0, INT64_MIN, INT64_MAX, &v) == 0 && v == INT64_MIN);
    config_free(cfg);
}

static void test_env_and_cli(void)
{
    struct config *cfg = config_new();
    const char *path = write_file("bfq-env.ini", sample, 0644);
    CHECK(config_load(cfg, path) == 0);
    setenv("BFQ_REDIS_URL", "redis://env:1/1", 1);
    setenv("BFQ_KLINE_LIMIT", "99", 1);
    setenv("BFQ_ACCOUNT_SUB_1_API_KEY", "ENVSUBKEYENVSUBKEY", 1);
    CHECK_EQ_STR(config_get(cfg, "redis", "url"), "redis://env:1/1");
    CHECK_EQ_STR(config_get(cfg, "account.sub-1", "api_key"), "ENVSUBKEYENVSUBKEY");
    int64_t v = 0;
    CHECK(config_int(cfg, "kline", "limit", 10, 1, 1500, &v) == 0 && v == 99);
    /* The command line beats both. */
    config_set(cfg, "redis", "url", "redis://cli:2/2");
    CHECK_EQ_STR(config_get(cfg, "redis", "url"), "redis://cli:2/2");
    config_set(cfg, "redis", "url", "redis://cli:3/3"); /* set again: replaced */
    CHECK_EQ_STR(config_get(cfg, "redis", "url"), "redis://cli:3/3");
    /* A value read before an environment change stays valid. */
    const char *before = config_get(cfg, "kline", "limit");
    setenv("BFQ_KLINE_LIMIT", "77", 1);
    CHECK_EQ_STR(before, "99");
    CHECK_EQ_STR(config_get(cfg, "kline", "limit"), "77");
    unsetenv("BFQ_KLINE_LIMIT");
    CHECK_EQ_STR(config_get(cfg, "kline", "limit"), "45");
    /* An environment variable alone, no file entry. */
    setenv("BFQ_VOLUME_TOP_N", "12", 1);
    CHECK_EQ_STR(config_get(cfg, "volume", "top-n"), "12");
    CHECK_EQ_STR(config_get(cfg, "volume", "top_n"), "12");
    unsetenv("BFQ_VOLUME_TOP_N");
    unsetenv("BFQ_REDIS_URL");
    unsetenv("BFQ_ACCOUNT_SUB_1_API_KEY");
    config_free(cfg);
}

static void collect(const char *section, void *privdata)
{
    char *buf = privdata;
    size_t n = strlen(buf);
    snprintf(buf + n, 512 - n, "%s%s", n ? "," : "", section);
}

static void test_sections(void)
{
    struct config *cfg = config_new();
    const char *path = write_file("bfq-sec.ini", sample, 0644);
    CHECK(config_load(cfg, path) == 0);
    char buf[512] = "";
    config_sections(cfg, "account.", collect, buf);
    CHECK_EQ_STR(buf, "account.main,account.sub-1");
    /* Accounts from the environment alone, for the known keys only. */
    setenv("BFQ_ACCOUNT_ZETA_API_SECRET_FILE", "/nonexistent", 1);
    setenv("BFQ_ACCOUNT_ALPHA_API_KEY", "k", 1);
    setenv("BFQ_ACCOUNT_MAIN_API_SECRET", "s", 1);
    setenv("BFQ_ACCOUNT_OTHER_LEVERAGE", "5", 1); /* not a known account key */
    buf[0] = '\0';
    config_sections(cfg, "account.", collect, buf);
    CHECK_EQ_STR(buf, "account.main,account.sub-1,account.alpha,account.zeta");
    buf[0] = '\0';
    config_sections(cfg, "kl", collect, buf);
    CHECK_EQ_STR(buf, "kline");
    unsetenv("BFQ_ACCOUNT_ZETA_API_SECRET_FILE");
    unsetenv("BFQ_ACCOUNT_ALPHA_API_KEY");
    unsetenv("BFQ_ACCOUNT_MAIN_API_SECRET");
    unsetenv("BFQ_ACCOUNT_OTHER_LEVERAGE");
    config_free(cfg);
}

static void test_secret_files(void)
{
    log_clear_secrets();
    const char *secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
    char text[128];
    snprintf(text, sizeof text, "%s\n", secret);
    char *priv = write_file("secret-600", text, 0600);
    char *open_ = write_file("secret-644", text, 0644);
    char *group = write_file("secret-640", text, 0640);
    char ini[1024];
    snprintf(ini, sizeof ini, "[account.main]\napi_key = K\napi_secret_file = %s\n", priv);
    char *path = write_file("bfq-secret.ini", ini, 0644);
    struct config *cfg = config_new();
    CHECK(config_load(cfg, path) == 0);
    const char *s = NULL;
    CHECK(config_secret(cfg, "account.main", "api_secret", &s) == 0);
    CHECK_EQ_STR(s, secret); /* trailing newline dropped */
    /* Registered for redaction. */
    char line[256];
    snprintf(line, sizeof line, "x %s y", secret);
    log_redact(line, sizeof line);
    CHECK_EQ_STR(line, "x *** y");

    /* A readable-by-others file is refused for a secret, naming the key and the file. */
    setenv("BFQ_ACCOUNT_MAIN_API_SECRET_FILE", open_, 1);
    CHECK(config_secret(cfg, "account.main", "api_secret", &s) == -1);
    CHECK(strstr(config_errstr(cfg), "[account.main] api_secret_file") != NULL &&
          strstr(config_errstr(cfg), open_) != NULL &&
          strstr(config_errstr(cfg), "0644") != NULL);
    setenv("BFQ_ACCOUNT_MAIN_API_SECRET_FILE", group, 1);
    CHECK(config_secret(cfg, "account.main", "api_secret", &s) == -1);
    /* config_get (not a secret) reads it anyway. */
    CHECK_EQ_STR(config_get(cfg, "account.main", "api_secret"), secret);
    /* The environment's plain value beats the file layer's _file. */
    unsetenv("BFQ_ACCOUNT_MAIN_API_SECRET_FILE");
    setenv("BFQ_ACCOUNT_MAIN_API_SECRET", "from-env-secret", 1);
    CHECK(config_secret(cfg, "account.main", "api_secret", &s) == 0);
    CHECK_EQ_STR(s, "from-env-secret");
    unsetenv("BFQ_ACCOUNT_MAIN_API_SECRET");
    /* A missing key file names the path. */
    config_set(cfg, "account.main", "api_secret_file", "/nonexistent/secret");
    CHECK(config_secret(cfg, "account.main", "api_secret", &s) == -1);
    CHECK(strstr(config_errstr(cfg), "/nonexistent/secret") != NULL);
    CHECK(config_get(cfg, "account.main", "api_secret") == NULL);
    /* Too long a key file is refused. */
    char *big = malloc(CONFIG_VALUE_MAX + 2);
    if (big) {
        memset(big, 'a', CONFIG_VALUE_MAX + 1);
        big[CONFIG_VALUE_MAX + 1] = '\0';
        config_set(cfg, "account.main", "api_secret_file", write_file("big", big, 0600));
        CHECK(config_secret(cfg, "account.main", "api_secret", &s) == -1);
        CHECK(strstr(config_errstr(cfg), "longer than") != NULL);
        free(big);
    }
    /* An empty secret is refused. */
    config_set(cfg, "account.main", "api_secret_file", write_file("empty", "\n", 0600));
    CHECK(config_secret(cfg, "account.main", "api_secret", &s) == -1);
    CHECK(strstr(config_errstr(cfg), "empty") != NULL);
    config_free(cfg);
    log_clear_secrets();
}

static void test_load_errors(void)
{
    struct config *cfg = config_new();
    CHECK(config_load(cfg, "/nonexistent/bfq.ini") == -1);
    CHECK(strstr(config_errstr(cfg), "/nonexistent/bfq.ini") != NULL &&
          strstr(config_errstr(cfg), "No such file") != NULL);
    char *p = write_file("syntax.ini", "[redis]\nurl = x\nthis line is wrong\n", 0644);
    CHECK(config_load(cfg, p) == -1);
    char want[1200];
    snprintf(want, sizeof want, "%s:3:", p);
    CHECK(strncmp(config_errstr(cfg), want, strlen(want)) == 0);
    p = write_file("section.ini", "[redis\nurl = x\n", 0644);
    CHECK(config_load(cfg, p) == -1);
    snprintf(want, sizeof want, "%s:1:", p);
    CHECK(strncmp(config_errstr(cfg), want, strlen(want)) == 0);
    char longline[400];
    memset(longline, 0, sizeof longline);
    memcpy(longline, "[a]\nk = ", 8);
    memset(longline + 8, 'v', 250);
    longline[258] = '\n';
    p = write_file("long.ini", longline, 0644);
    CHECK(config_load(cfg, p) == -1);
    snprintf(want, sizeof want, "%s:2: line longer", p);
    CHECK(strncmp(config_errstr(cfg), want, strlen(want)) == 0);
    CHECK(config_load(cfg, th_tmpdir()) == -1); /* a directory */
    config_free(cfg);
}

/* A file holding api_secret itself is refused unless private, naming the file and the fix;
 * api_secret_file in a readable file is fine (the secret file itself is checked). */
static void test_private_config(void)
{
    static const char text[] = "[account.main]\napi_key = K\napi_secret = SECRETSECRET\n";
    static const mode_t open_modes[] = {0644, 0640, 0604, 0660, 0622};
    for (size_t i = 0; i < sizeof open_modes / sizeof open_modes[0]; i++) {
        struct config *cfg = config_new();
        char name[32];
        snprintf(name, sizeof name, "holds-secret-%o.ini", (unsigned)open_modes[i]);
        char *p = write_file(name, text, open_modes[i]);
        CHECK(config_load(cfg, p) == -1);
        CHECK(strstr(config_errstr(cfg), p) != NULL);
        CHECK(strstr(config_errstr(cfg), "api_secret") != NULL);
        CHECK(strstr(config_errstr(cfg), "chmod 600") != NULL);
        CHECK(strstr(config_errstr(cfg), "SECRETSECRET") == NULL);
        config_free(cfg);
    }
    struct config *cfg = config_new();
    CHECK(config_load(cfg, write_file("holds-secret-600.ini", text, 0600)) == 0);
    CHECK(config_load(cfg, write_file("holds-secret-400.ini", text, 0400)) == 0);
    CHECK(config_load(cfg, write_file("secret-by-file.ini", "[account.main]\napi_key = K\n"
                                      "api_secret_file = /x\n", 0644)) == 0);
    CHECK(config_load(cfg, write_file("no-secret.ini", "[redis]\nurl = redis://h:1\n", 0644)) ==
          0);
    config_free(cfg);
}

/* Under systemd's LoadCredential=, a relative key_file is a credential's name, read from
 * $CREDENTIALS_DIRECTORY (issue 13, item 3); without it, relative stays relative. */
static void test_credentials(void)
{
    char dir[1024], ini[256];
    snprintf(dir, sizeof dir, "%s/creds", th_tmpdir());
    mkdir(dir, 0700);
    write_file("creds/main.api_secret", "credsecret0123456789abcdef\n", 0400);
    snprintf(ini, sizeof ini, "[account.main]\napi_key = K\napi_secret_file = main.api_secret\n");
    char *path = write_file("bfq-creds.ini", ini, 0644);
    struct config *cfg = config_new();
    CHECK(config_load(cfg, path) == 0);
    const char *v = NULL;
    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    CHECK(config_secret(cfg, "account.main", "api_secret", &v) == 0);
    CHECK_EQ_STR(v, "credsecret0123456789abcdef");
    unsetenv("CREDENTIALS_DIRECTORY");
    config_free(cfg);
    cfg = config_new();
    CHECK(config_load(cfg, path) == 0);
    CHECK(config_secret(cfg, "account.main", "api_secret", &v) < 0); /* no such file here */
    config_free(cfg);
}

int main(void)
{
    test_credentials();
    test_private_config();
    test_file();
    test_durations_bools();
    test_env_and_cli();
    test_sections();
    test_secret_files();
    test_load_errors();
    return th_done();
}
