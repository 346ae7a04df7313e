/* risk: the commands of the risk part (risk/), for the command table.
 *
 *   bfq stoploss   stop ladders per position through the Algo Order API; the hard stop
 *   bfq kill       trading state HALTED (optionally flatten everything); bfq resume: ACTIVE
 *   bfq sweeper    stale-order cancels by class and age, flat symbols' stops, orphan alerts
 *   bfq lossguard  loss bans from the income history
 *   bfq ban        a ban set by hand (bfq unban lifts it), never lifted by lossguard
 *   bfq notify     alerts to a Feishu/Lark bot and a JSON webhook, folded, never dropped */
#ifndef BFQ_RISK_H
#define BFQ_RISK_H

#include "core/cli.h"

extern const struct cli_command stoploss_cli, kill_cli, resume_cli, notify_cli, lossguard_cli,
    sweeper_cli, ban_cli, unban_cli;

int stoploss_main(int argc, char **argv);
int kill_main(int argc, char **argv);
int resume_main(int argc, char **argv);
int notify_main(int argc, char **argv);
int lossguard_main(int argc, char **argv);
int sweeper_main(int argc, char **argv);
int ban_main(int argc, char **argv);
int unban_main(int argc, char **argv);

#endif
