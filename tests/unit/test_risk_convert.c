/* test_risk_convert: the sweeper's maker->taker plan (risk/convert.h) with exact decimals: 30 %
 * of the remainder floored to the step, the price bound on each side snapped inside it, the
 * skips (too small, no book, nothing left), MARKET; the ban list composition (risk/banlist.h):
 * a manual ban kept beside and over the loss rules' ones; and every key the [sweeper],
 * [lossguard] and [notify] blocks of docs/risk.md document is declared by its command (so
 * core/role warns about none of them), while a typo is not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "risk/banlist.h"
#include "risk/convert.h"
#include "risk/risk.h"
#include "tests/harness/harness.h"
#include "tests/harness/testdec.h"

static void test_plan(void)
{
    struct dec_filters f = th_btc_filters(); /* step 0.001, tick 0.1, minQty 0.001, min notional */
    struct convert_params p = {{30, 0}, {2, 1}, 0}; /* 30 %, 0.2 % */
    struct convert_out o;
    /* 0.100 left of which 0.020 filled: 30 % of 0.080 = 0.024; ask 60000.5 * 1.002 = 60120.501
     * -> 60120.5 (down: inside the bound) */
    CHECK(convert_plan(&f, INTENT_BUY, th_dec("0.100"), th_dec("0.020"), th_dec("60000.4"),
                       th_dec("60000.5"), &p, &o) == CONVERT_OK);
    CHECK(o.plan.parts == 1 && th_dec_eq(o.plan.qty[0], "0.024"));
    CHECK(th_dec_eq(o.price, "60120.5"));
    /* a sell: bid * 0.998 = 59880.3992 -> 59880.4 (up: inside the bound); 30 % of 0.0105 floors */
    CHECK(convert_plan(&f, INTENT_SELL, th_dec("0.0105"), th_dec("0"), th_dec("60000.4"),
                       th_dec("60000.5"), &p, &o) == CONVERT_OK);
    CHECK(th_dec_eq(o.plan.qty[0], "0.003") && th_dec_eq(o.price, "59880.4"));
    /* too small: 30 % of 0.002 is below minQty */
    CHECK(convert_plan(&f, INTENT_BUY, th_dec("0.002"), th_dec("0"), th_dec("60000"),
                       th_dec("60001"), &p, &o) == CONVERT_TOO_SMALL);
    CHECK(o.size == SIZE_BELOW_MIN_QTY);
    CHECK(convert_plan(&f, INTENT_BUY, th_dec("0.1"), th_dec("0.1"), th_dec("60000"),
                       th_dec("60001"), &p, &o) == CONVERT_NOTHING_LEFT);
    CHECK(convert_plan(&f, INTENT_BUY, th_dec("0.1"), th_dec("0"), th_dec("60000"), th_dec("0"), &p,
                       &o) == CONVERT_NO_BOOK);
    p.market = 1;
    CHECK(convert_plan(&f, INTENT_BUY, th_dec("0.1"), th_dec("0"), th_dec("60000"), th_dec("60001"),
                       &p, &o) == CONVERT_OK);
    CHECK(th_dec_eq(o.plan.qty[0], "0.03"));
    CHECK(!strcmp(convert_result_name(CONVERT_TOO_SMALL), "too_small"));
}

static void test_banlist(void)
{
    json_t *rule = json_pack("{s:{s:s,s:s},s:{s:s,s:s}}", "BTCUSDT", "why", "4h", "src",
                             "lossguard", "ETHUSDT", "why", "24h", "src", "lossguard");
    json_t *manual = json_pack("{s:{s:s,s:s}}", "ETHUSDT", "why", "by hand", "src", "manual:op");
    json_t *list = NULL, *reasons = banlist_compose(rule, manual, &list);
    char *ls = json_dumps(list, JSON_COMPACT);
    CHECK(ls && !strcmp(ls, "[\"BTCUSDT\",\"ETHUSDT\"]"));
    CHECK(banlist_is_manual(json_object_get(reasons, "ETHUSDT")));
    json_t *back = banlist_rule_reasons(reasons); /* what a manual write keeps of lossguard's */
    CHECK(json_object_size(back) == 1 && json_object_get(back, "BTCUSDT"));
    free(ls);
    json_decref(list);
    json_decref(reasons);
    json_decref(back);
    /* ALL, from either side, is the list alone */
    json_t *all = json_pack("{s:{s:s,s:s}}", "ALL", "why", "x", "src", "manual:op");
    reasons = banlist_compose(rule, all, &list);
    ls = json_dumps(list, JSON_COMPACT);
    CHECK(ls && !strcmp(ls, "[\"ALL\"]") && json_object_size(reasons) == 3);
    free(ls);
    json_decref(list);
    json_decref(reasons);
    json_decref(all);
    json_decref(rule);
    json_decref(manual);
}

static const struct cli_command *owner(const char *section)
{
    if (!strcmp(section, "sweeper")) return &sweeper_cli;
    if (!strcmp(section, "lossguard")) return &lossguard_cli;
    if (!strcmp(section, "notify")) return &notify_cli;
    return NULL;
}

/* Every `key = value` line under [sweeper], [lossguard], [notify] in the ```ini blocks. */
static void test_documented_keys(void)
{
    char path[1024], line[512], section[64] = "";
    int in_ini = 0, checked = 0;
    snprintf(path, sizeof path, "%s/docs/risk.md", th_source_dir());
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "```", 3)) {
            in_ini = !in_ini && !strncmp(line, "```ini", 6);
            continue;
        }
        if (!in_ini) continue;
        if (line[0] == '[') {
            snprintf(section, sizeof section, "%.*s", (int)strcspn(line + 1, "]"), line + 1);
            continue;
        }
        char key[64];
        size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz_0123456789");
        if (!n || n >= sizeof key || !strchr(line, '=')) continue;
        snprintf(key, sizeof key, "%.*s", (int)n, line);
        const struct cli_command *c = owner(section);
        if (!c) continue;
        if (!cli_declares(c, section, key))
            fprintf(stderr, "# [%s] %s is not declared\n", section, key);
        CHECK(cli_declares(c, section, key));
        checked++;
    }
    fclose(f);
    fprintf(stderr, "# %d documented keys declared\n", checked);
    CHECK(checked >= 30);
    CHECK(!cli_declares(&sweeper_cli, "sweeper", "mo_agee"));
    CHECK(!cli_declares(&lossguard_cli, "lossguard", "drawdown_pc"));
}

int main(void)
{
    test_plan();
    test_banlist();
    test_documented_keys();
    return th_done();
}
