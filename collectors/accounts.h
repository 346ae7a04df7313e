/* accounts: the account-state commands of `bfq` (issue 5).
 *
 * `bfq account` and `bfq positionrisk` poll the REST account endpoints, `bfq userstream` keeps
 * the user-data WebSocket (and the open-orders reconciliation); `bfq watchdog` lives in
 * reconciler/watchdog.h. Each is a struct cli_command plus its entry point, registered in
 * cli/commands.c; see docs/account.md. */
#ifndef BFQ_ACCOUNTS_H
#define BFQ_ACCOUNTS_H

#include "core/cli.h"

extern const struct cli_command account_cli;
int account_main(int argc, char **argv);

extern const struct cli_command positionrisk_cli;
int positionrisk_main(int argc, char **argv);

extern const struct cli_command userstream_cli;
int userstream_main(int argc, char **argv);

#endif
