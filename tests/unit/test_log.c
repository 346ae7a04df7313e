/* test_log: core/log line format, quoting, redaction, cutting and level filtering.
 *
 * Lines written to stderr are captured by pointing fd 2 at a temporary file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "tests/harness/harness.h"

#define SECRET "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"

/* The line without its "ts=... " prefix, after checking the timestamp's shape. */
static const char *after_ts(const char *line)
{
    /* ts=2026-11-26T10:06:54.123Z */
    CHECK(strncmp(line, "ts=", 3) == 0);
    CHECK(strlen(line) > 28 && line[7] == '-' && line[13] == 'T' && line[22] == '.' &&
          line[26] == 'Z' && line[27] == ' ');
    return strlen(line) > 28 ? line + 28 : "";
}

static void test_format(void)
{
    char buf[LOG_LINE_MAX];
    log_init("kline", LOG_LEVEL_INFO);
    int n = log_format(buf, sizeof buf, LOG_LEVEL_INFO, "symbol done", "sym=%s ms=%d",
                       "BTCUSDT", 12);
    CHECK(n == (int)strlen(buf));
    CHECK_EQ_STR(after_ts(buf), "level=info role=kline msg=\"symbol done\" sym=BTCUSDT ms=12");
    log_format(buf, sizeof buf, LOG_LEVEL_WARN, "started", NULL);
    CHECK_EQ_STR(after_ts(buf), "level=warn role=kline msg=started");
    log_format(buf, sizeof buf, LOG_LEVEL_ERROR, "", "%s", "");
    CHECK_EQ_STR(after_ts(buf), "level=error role=kline msg=\"\"");
    log_format(buf, sizeof buf, LOG_LEVEL_DEBUG, "say \"hi\"\\n\nnext\tx=1", NULL);
    CHECK_EQ_STR(after_ts(buf), "level=debug role=kline msg=\"say \\\"hi\\\"\\\\n\\nnext\\tx=1\"");
    log_format(buf, sizeof buf, LOG_LEVEL_INFO, "a=b", NULL);
    CHECK_EQ_STR(after_ts(buf), "level=info role=kline msg=\"a=b\"");
    /* A small buffer gets a cut, terminated line. */
    n = log_format(buf, 40, LOG_LEVEL_INFO, "x", "k=%s", "v");
    CHECK(n == 39 && strlen(buf) == 39 && strcmp(buf + 36, "...") == 0);

    enum log_level lv;
    CHECK(log_level_parse("debug", &lv) == 0 && lv == LOG_LEVEL_DEBUG);
    CHECK(log_level_parse("warn", &lv) == 0 && lv == LOG_LEVEL_WARN);
    CHECK(log_level_parse("error", &lv) == 0 && lv == LOG_LEVEL_ERROR);
    CHECK(log_level_parse("info", &lv) == 0 && lv == LOG_LEVEL_INFO);
    CHECK(log_level_parse("INFO", &lv) == -1);
    CHECK(log_level_parse("verbose", &lv) == -1);
}

/* Field values from the exchange or Redis cannot break the line or the field: escaped inside
 * the format's quotes, quoted and escaped when bare; numbers as printf formats them. */
static void test_field_escaping(void)
{
    char buf[LOG_LINE_MAX];
    log_init("kline", LOG_LEVEL_INFO);
    log_format(buf, sizeof buf, LOG_LEVEL_WARN, "bad answer", "reason=\"%s\" sym=%s",
               "code \"-1121\"\nlevel=error fake=1\\", "BTC USDT");
    CHECK_EQ_STR(after_ts(buf), "level=warn role=kline msg=\"bad answer\" "
                                "reason=\"code \\\"-1121\\\"\\nlevel=error fake=1\\\\\" "
                                "sym=\"BTC USDT\"");
    CHECK(strchr(buf, '\n') == NULL);
    log_format(buf, sizeof buf, LOG_LEVEL_INFO, "m", "a=%s b=%s c=%s d=%s", "", "x=y", "q\"",
               "\x01\t");
    CHECK_EQ_STR(after_ts(buf), "level=info role=kline msg=m a=\"\" b=\"x=y\" c=\"q\\\"\" "
                                "d=\"?\\t\"");
    log_format(buf, sizeof buf, LOG_LEVEL_INFO, "m", "n=%lld w=%5d f=%.3f z=%zu u=%u x=%x "
               "s=%.3s t=%.*s c=%c pct=100%%", -12LL, 42, 1.5, (size_t)7, 3u, 255u, "abcdef", 2,
               "xyz", 'k');
    CHECK_EQ_STR(after_ts(buf), "level=info role=kline msg=m n=-12 w=   42 f=1.500 z=7 u=3 x=ff "
                                "s=abc t=xy c=k pct=100%");
    /* a secret that escaping would change is redacted first */
    CHECK(log_add_secret("pw\"with\nquote") == 0);
    log_format(buf, sizeof buf, LOG_LEVEL_INFO, "m", "err=\"%s\" v=%s", "AUTH pw\"with\nquote",
               "pw\"with\nquote");
    CHECK_EQ_STR(after_ts(buf), "level=info role=kline msg=m err=\"AUTH ***\" v=***");
    log_clear_secrets();
}

/* listenKeys rotate: the most recent LOG_ROTATING_MAX stay redacted, the fixed table stays free. */
static void test_rotating(void)
{
    char buf[LOG_LINE_MAX], key[LOG_ROTATING_MAX + 3][40];
    log_clear_secrets();
    CHECK(log_add_secret("fixed-secret-1") == 0);
    for (int i = 0; i < LOG_ROTATING_MAX + 3; i++) {
        snprintf(key[i], sizeof key[i], "listenkey-%02d-abcdefghij", i);
        CHECK(log_add_rotating_secret(key[i]) == 0);
    }
    for (int i = 0; i < LOG_ROTATING_MAX + 3; i++) {
        log_format(buf, sizeof buf, LOG_LEVEL_INFO, "ws", "url=ws://h/ws/%s", key[i]);
        CHECK((strstr(buf, key[i]) == NULL) == (i >= 3));
    }
    log_format(buf, sizeof buf, LOG_LEVEL_INFO, "fixed-secret-1", NULL);
    CHECK(strstr(buf, "fixed-secret-1") == NULL);
    log_clear_secrets();
}

static void test_redaction(void)
{
    char buf[LOG_LINE_MAX];
    log_init("account", LOG_LEVEL_INFO);
    CHECK(log_add_secret(SECRET) == 0);
    CHECK(log_add_secret("abc") == 0); /* too short: ignored, not an error */
    CHECK(log_add_secret("hunter22") == 0);
    log_format(buf, sizeof buf, LOG_LEVEL_ERROR, "signing with " SECRET " failed",
               "url=\"/fapi/v1/order?signature=%s&x=1\" pw=%s key=abc", SECRET, "hunter22");
    CHECK(strstr(buf, SECRET) == NULL && strstr(buf, "hunter22") == NULL);
    CHECK_EQ_STR(after_ts(buf), "level=error role=account msg=\"signing with *** failed\" "
                                "url=\"/fapi/v1/order?signature=***&x=1\" pw=*** key=abc");
    /* A secret holding a quote is redacted before the message is escaped. */
    CHECK(log_add_secret("pa\"ss word") == 0);
    log_format(buf, sizeof buf, LOG_LEVEL_INFO, "auth pa\"ss word", NULL);
    CHECK_EQ_STR(after_ts(buf), "level=info role=account msg=\"auth ***\"");
    /* log_redact alone, several hits. */
    char t[128];
    snprintf(t, sizeof t, "a hunter22 b hunter22hunter22 c");
    log_redact(t, sizeof t);
    CHECK_EQ_STR(t, "a *** b ****** c");
    /* The table has a limit. */
    log_clear_secrets();
    int full = 0;
    for (int i = 0; i < LOG_SECRETS_MAX + 2; i++) {
        char s[32];
        snprintf(s, sizeof s, "secret-%d", i);
        full += log_add_secret(s) != 0;
    }
    CHECK(full == 2);
    log_clear_secrets();
    snprintf(t, sizeof t, "hunter22");
    log_redact(t, sizeof t);
    CHECK_EQ_STR(t, "hunter22");
}

static void test_overlong(void)
{
    char buf[LOG_LINE_MAX + 100];
    char *big = malloc(3 * LOG_LINE_MAX);
    CHECK(big != NULL);
    if (big == NULL)
        return;
    memset(big, 'x', 3 * LOG_LINE_MAX - 1);
    big[3 * LOG_LINE_MAX - 1] = '\0';
    int n = log_format(buf, sizeof buf, LOG_LEVEL_INFO, "long", "body=%s", big);
    CHECK(n == LOG_LINE_MAX - 1 && (int)strlen(buf) == n);
    CHECK(strcmp(buf + n - 3, "...") == 0);
    /* A secret straddling the cut is not half shown: place it across the visible end. */
    CHECK(log_add_secret(SECRET) == 0);
    for (int off = LOG_LINE_MAX - 120; off < LOG_LINE_MAX + 40; off += 7) {
        memset(big, 'x', 3 * LOG_LINE_MAX - 1);
        memcpy(big + off, SECRET, strlen(SECRET));
        log_format(buf, sizeof buf, LOG_LEVEL_INFO, "m", "%s", big);
        CHECK(strstr(buf, "2b5eb11e18") == NULL);
        CHECK(strstr(buf, "d82bb4d9") == NULL);
    }
    /* A secret straddling the end of the internal working buffer (fields far too long). */
    char *huge = malloc(8 * LOG_LINE_MAX);
    CHECK(huge != NULL);
    if (huge) {
        for (int off = 0; off < 8 * LOG_LINE_MAX - 80; off += 61) {
            memset(huge, 'y', 8 * LOG_LINE_MAX - 1);
            huge[8 * LOG_LINE_MAX - 1] = '\0';
            /* many secrets first, so redaction shrinks the line a lot */
            for (int k = 0; k + 64 < off; k += 64)
                memcpy(huge + k, SECRET, 64);
            memcpy(huge + off, SECRET, 64);
            log_format(buf, sizeof buf, LOG_LEVEL_INFO, "m", "%s", huge);
            if (strstr(buf, "2b5eb1") != NULL) {
                fprintf(stderr, "partial secret shown at off %d\n", off);
                CHECK(0);
                break;
            }
        }
        free(huge);
    }
    log_clear_secrets();
    free(big);
}

/* Runs fn with fd 2 pointed at a file; returns what was written (malloc'd). */
static char *capture_stderr(void (*fn)(void))
{
    char path[1024];
    snprintf(path, sizeof path, "%s/stderr.txt", th_tmpdir());
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
    int saved = dup(2);
    CHECK(fd >= 0 && saved >= 0);
    dup2(fd, 2);
    fn();
    dup2(saved, 2);
    close(saved);
    off_t len = lseek(fd, 0, SEEK_END);
    char *out = calloc(1, (size_t)len + 1);
    if (out && pread(fd, out, (size_t)len, 0) != len)
        out[0] = '\0';
    close(fd);
    return out;
}

static void emit_lines(void)
{
    log_init("trader", LOG_LEVEL_WARN);
    log_info("not shown", "k=%d", 1);
    log_debug("not shown either", "k=%d", 2);
    log_warn("shown", "k=%d", 3);
    log_error("also shown", "k=%s", "v");
    log_init("trader", LOG_LEVEL_DEBUG);
    log_debug("debug now", "%s", "");
}

static void test_write(void)
{
    char *out = capture_stderr(emit_lines);
    CHECK(out != NULL);
    if (out == NULL)
        return;
    CHECK(strstr(out, "not shown") == NULL);
    CHECK(strstr(out, "level=warn role=trader msg=shown k=3\n") != NULL);
    CHECK(strstr(out, "level=error role=trader msg=\"also shown\" k=v\n") != NULL);
    CHECK(strstr(out, "level=debug role=trader msg=\"debug now\"\n") != NULL);
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    CHECK(lines == 3);
    free(out);
}

int main(void)
{
    test_field_escaping();
    test_rotating();
    test_format();
    test_redaction();
    test_overlong();
    test_write();
    return th_done();
}
