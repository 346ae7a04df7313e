/* test_trader_config: a strategy's own section [strategy.<name>] is checked against the keys
 * the strategy declares (struct strategy.keys): `bfq trader --strategy demo` and any other
 * role reading the same file accept every key of [strategy.demo], and report a misspelled one
 * and a section of a strategy that does not exist, by name, at start (and keep running). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/harness.h"

/* Runs bfq <role> --config ini [--strategy NAME] for a second (Redis is a closed port: it
 * keeps retrying, so timeout stops it: status 124) and returns what it logged (caller frees). */
static char *run_role(const char *role, const char *ini, const char *strategy)
{
    char cmd[1200], *out = NULL;
    snprintf(cmd, sizeof cmd, "timeout -s TERM 1 '%s' %s --config '%s' %s%s 2>&1", th_bfq_bin(),
             role, ini, strategy ? "--strategy " : "", strategy ? strategy : "");
    const char *sh[] = {"sh", "-c", cmd, NULL};
    CHECK(th_run(sh, &out, 10000) == 124);
    return out;
}

static void write_ini(const char *path, const char *demo)
{
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", th_free_port());
    FILE *f = th_fopen_private(path);
    CHECK(f != NULL);
    if (!f) return;
    fprintf(f,
            "[redis]\nurl = %s\n[trader]\nmax_age = 20s\n%s"
            "[account.main]\napi_key = k\napi_secret = s\n",
            url, demo);
    fclose(f);
}

int main(void)
{
    char ini[512];
    snprintf(ini, sizeof ini, "%s/good.ini", th_tmpdir());
    write_ini(ini, "[strategy.demo]\nopen_pct = 2\nclose_pct = -1\nnotional = 50\n"
                   "max_positions = 3\nmax_notional = 500\nmaker = false\n");
    char *t = run_role("trader", ini, "demo");
    CHECK(t && strstr(t, "role=trader") && !strstr(t, "unknown config keys"));
    free(t);
    t = run_role("gateway", ini, NULL);
    CHECK(t && strstr(t, "role=gateway") && !strstr(t, "unknown config keys"));
    free(t);

    snprintf(ini, sizeof ini, "%s/bad.ini", th_tmpdir());
    write_ini(ini, "[strategy.demo]\nopen_pct = 2\nopen_pc = 3\n[strategy.demoo]\nnotional = 5\n");
    t = run_role("trader", ini, "demo");
    CHECK(t && strstr(t, "unknown config keys") && strstr(t, "count=2"));
    CHECK(t && strstr(t, "strategy.demo.open_pc"));
    CHECK(t && strstr(t, "strategy.demoo.notional"));
    CHECK(t && !strstr(t, "strategy.demo.open_pct"));
    free(t);
    return th_done();
}
