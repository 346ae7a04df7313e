/* commands: which subcommands this build of bfq has, in the order of DESIGN.md's process map
 * (the order `bfq --help` lists them). Each part registers its own here. */
#include "cli/commands.h"

#include "collectors/accounts.h"
#include "collectors/collectors.h"
#include "collectors/tick.h"
#include "dash/dash.h"
#include "dash/metrics.h"
#include "reconciler/setup.h"
#include "reconciler/watchdog.h"
#include "recorder/recorder.h"
#include "risk/risk.h"
#include "sim/sim.h"
#include "trader/trader.h"

const struct bfq_command bfq_commands[] = {
    {&sim_cli, sim_main},
    {&symbols_cli, symbols_main},
    {&kline_cli, kline_main},
    {&tick_cli, tick_main},
    {&volume_cli, volume_main},
    {&account_cli, account_main},
    {&positionrisk_cli, positionrisk_main},
    {&userstream_cli, userstream_main},
    {&trader_cli, trader_main},
    {&gateway_cli, gateway_main},
    {&order_cli, order_main},
    {&cancel_cli, cancel_main},
    {&close_cli, close_main},
    {&leverage_cli, leverage_main},
    {&stoploss_cli, stoploss_main},
    {&sweeper_cli, sweeper_main},
    {&lossguard_cli, lossguard_main},
    {&ban_cli, ban_main},
    {&unban_cli, unban_main},
    {&kill_cli, kill_main},
    {&resume_cli, resume_main},
    {&notify_cli, notify_main},
    {&watchdog_cli, watchdog_main},
    {&recorder_cli, recorder_main},
    {&report_cli, report_main},
    {&dash_cli, dash_main},
    {&status_cli, status_main},
    {&metrics_cli, metrics_main},
    {&redis_setup_cli, redis_setup_main},
};
const int bfq_commands_count = (int)(sizeof(bfq_commands) / sizeof(bfq_commands[0]));
