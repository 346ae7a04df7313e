/* test_ccxt: a widely used third-party client, ccxt's binanceusdm, runs unchanged against
 * `bfq sim`.
 *
 * scripts/ccxt-install puts the pinned ccxt from the npm registry into a cache outside the
 * repository; tests/ccxt/binanceusdm.js points the client at the simulator through its `urls`
 * configuration and loads markets, reads balance and positions (ccxt reads leverageBracket
 * first), places a market order, places, lists and cancels a limit order and a stop (the
 * pinned ccxt sends stops of linear swaps to /fapi/v1/algoOrder) and lists the history. The
 * test passes when the script says every step passed; it is skipped only when node is absent
 * (scripts/bootstrap installs it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/harness.h"

#define TEST_SKIP 77

static int have_node(void)
{
    const char *argv[] = {"node", "--version", NULL};
    return th_run(argv, NULL, 10000) == 0;
}

int main(void)
{
    char script[1024], installer[1024], *dir = NULL, *out = NULL;
    struct th_sim sim;
    if (!have_node()) {
        fprintf(stderr, "skipped: node not installed (scripts/bootstrap installs nodejs)\n");
        return TEST_SKIP;
    }
    snprintf(installer, sizeof installer, "%s/scripts/ccxt-install", th_source_dir());
    snprintf(script, sizeof script, "%s/tests/ccxt/binanceusdm.js", th_source_dir());
    const char *inst[] = {installer, NULL};
    CHECK(th_run(inst, &dir, 240000) == 0 && dir && *dir);
    if (!dir || !*dir) return th_done();
    dir[strcspn(dir, "\n")] = '\0';
    setenv("NODE_PATH", dir, 1);
    const char *args[] = {"--symbols", "12", "--seed", "5", NULL};
    if (th_sim_start(&sim, args) != 0) {
        CHECK(!"bfq sim started");
        free(dir);
        return th_done();
    }
    const char *run[] = {"node", script, sim.url, "bfq-demo-key", "bfq-demo-secret", NULL};
    int st = th_run(run, &out, 120000);
    fprintf(stderr, "%s", out ? out : "");
    CHECK(st == 0);
    CHECK(out && strstr(out, "all steps passed"));
    th_sim_stop(&sim);
    free(out);
    free(dir);
    return th_done();
}
