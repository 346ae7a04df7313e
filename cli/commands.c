/* commands: which subcommands this build of bfq has. Each part registers its own here. */
#include "cli/commands.h"

const struct bfq_command bfq_commands[] = {
    {0, 0},
};
const int bfq_commands_count = 0;
