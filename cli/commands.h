/* commands: the table of `bfq` subcommands.
 *
 * Each part of the system exposes its commands as a struct cli_command (name, summary, options)
 * and an entry point that receives argv with argv[0] = the command name and returns the exit
 * status (0 success, 1 failure with one line on stderr, 2 bad usage). */
#ifndef BFQ_COMMANDS_H
#define BFQ_COMMANDS_H

#include "core/cli.h"
#include "core/version.h"

struct bfq_command {
    const struct cli_command *cli;
    int (*main)(int argc, char **argv);
};

extern const struct bfq_command bfq_commands[];
extern const int bfq_commands_count;

#endif
