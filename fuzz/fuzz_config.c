/* fuzz_config: the configuration reader, config_load on an INI file (libinih), then the typed
 * getters every role uses on what it read.
 *
 * The input is written to a private file and loaded. A refused file must say why; an accepted
 * one is walked: for every section the file names, the roles' keys are read with each getter
 * (string, integer, boolean, duration), each returning 0 or -1 with a reason, and the
 * unknown-key report must fit its buffer. Secrets are not read (config_secret registers them
 * for redaction, a table that only grows). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "fuzz/fuzz.h"

static char path[256];

static void setup(void)
{
    const char *dir = getenv("TMPDIR");
    fz_quiet();
    snprintf(path, sizeof path, "%s/bfq-fuzz-config-%ld.ini", dir ? dir : "/tmp", (long)getpid());
}

static void teardown(void)
{
    unlink(path);
}

/* The keys the roles read, with each getter. */
static void walk(const char *section, void *privdata)
{
    static const char *const keys[] = {"url", "every", "limit", "rate", "account", "api_key",
                                       "level", "interval", "correct", "weight_limit"};
    struct config *cfg = privdata;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const char *s;
        int64_t v;
        int b;
        if (config_str(cfg, section, keys[i], "", &s) == 0) FZ_CHECK(s != NULL);
        if (config_int(cfg, section, keys[i], 0, -1000, 1000000, &v) == 0)
            FZ_CHECK(v >= -1000 && v <= 1000000);
        else
            FZ_CHECK(config_errstr(cfg)[0] != '\0');
        if (config_bool(cfg, section, keys[i], 0, &b) == 0) FZ_CHECK(b == 0 || b == 1);
        if (config_duration_ms(cfg, section, keys[i], 1, 1, 86400000, &v) == 0)
            FZ_CHECK(v >= 1 && v <= 86400000);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const known[] = {"redis.url", "log.level", "account.*.api_key",
                                        "kline.*", NULL};
    if (!path[0]) {
        setup();
        atexit(teardown);
    }
    FILE *f = fopen(path, "wb");
    FZ_CHECK(f != NULL);
    FZ_CHECK(fwrite(data, 1, size, f) == size);
    FZ_CHECK(fclose(f) == 0);
    struct config *cfg = config_new();
    if (config_load(cfg, path) != 0) {
        FZ_CHECK(config_errstr(cfg)[0] != '\0');
    } else {
        char buf[128];
        config_sections(cfg, "", walk, cfg);
        int n = config_unknown_keys(cfg, known, buf, sizeof buf);
        FZ_CHECK(n >= 0 && memchr(buf, '\0', sizeof buf) != NULL);
    }
    config_free(cfg);
    return 0;
}
