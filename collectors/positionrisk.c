/* positionrisk: `bfq positionrisk`, the account source that polls GET /fapi/v2/positionRisk
 * (or v3 with [positionrisk] api_version = 3): every position per (symbol, side), written
 * through the reconciler as source "positionrisk" (see acctpoll.h, docs/account.md). */
#include "collectors/accounts.h"
#include "collectors/acctpoll.h"

static const struct cli_option positionrisk_options[] = {
    {"every", "DURATION", NULL, NULL, "poll interval (default 1s)", 0},
    {"api-version", "N", NULL, NULL, "2 (/fapi/v2/positionRisk, default) or 3", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command positionrisk_cli = {
    .name = "positionrisk",
    .summary = "poll /fapi/v2/positionRisk: positions of one account into Redis",
    .usage = "Writes bfq:acct:<account>:pos (freshest wins), :view:positionrisk and\n"
             ":src:positionrisk. Config: [positionrisk] every, api_version, account.\n",
    .options = positionrisk_options,
    .role_options = 1,
    .keys = NULL, /* every [positionrisk] key is an option */
};

static const struct acctpoll_spec positionrisk_spec = {
    .name = "positionrisk",
    .endpoint = "positionRisk",
    .parse = acctrec_parse_positionrisk,
};

int positionrisk_main(int argc, char **argv)
{
    return acctpoll_main(&positionrisk_cli, &positionrisk_spec, argc, argv);
}
