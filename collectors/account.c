/* account: `bfq account`, the account source that polls GET /fapi/v2/account (or v3 with
 * [account] api_version = 3): every position per (symbol, side) and every asset's balances,
 * written through the reconciler as source "account" (see acctpoll.h, docs/account.md). */
#include "collectors/accounts.h"
#include "collectors/acctpoll.h"

static const struct cli_option account_options[] = {
    {"every", "DURATION", NULL, NULL, "poll interval (default 1s)", 0},
    {"api-version", "N", NULL, NULL, "2 (/fapi/v2/account, default) or 3", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct cli_command account_cli = {
    .name = "account",
    .summary = "poll /fapi/v2/account: positions and balances of one account into Redis",
    .usage = "Writes bfq:acct:<account>:pos and :bal (freshest wins), :view:account and\n"
             ":src:account. Config: [account] every, api_version, account; [account.NAME]\n"
             "api_key, api_secret.\n",
    .options = account_options,
    .role_options = 1,
    .keys = NULL, /* every [account] key is an option */
};

static const struct acctpoll_spec account_spec = {
    .name = "account",
    .endpoint = "account",
    .parse = acctrec_parse_account,
};

int account_main(int argc, char **argv)
{
    return acctpoll_main(&account_cli, &account_spec, argc, argv);
}
