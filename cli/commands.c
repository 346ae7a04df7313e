/* commands: which subcommands this build of bfq has. Each part registers its own here. */
#include "cli/commands.h"
#include "collectors/collectors.h"
#include "collectors/tick.h"
#include "collectors/accounts.h"
#include "reconciler/watchdog.h"
#include "sim/sim.h"

const struct bfq_command bfq_commands[] = {
    {&tick_cli, tick_main},
    {&account_cli, account_main},
    {&positionrisk_cli, positionrisk_main},
    {&userstream_cli, userstream_main},
    {&watchdog_cli, watchdog_main},
    {&symbols_cli, symbols_main},
    {&kline_cli, kline_main},
    {&volume_cli, volume_main},
    {&status_cli, status_main},
    {&sim_cli, sim_main},
    {0, 0},
};
const int bfq_commands_count = (int)(sizeof(bfq_commands) / sizeof(bfq_commands[0])) - 1;
