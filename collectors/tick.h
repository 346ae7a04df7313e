/* tick: `bfq tick`, the all-symbol book-ticker collector fired in time slots (collectors/tick.c).
 *
 * Registered in cli/commands.c. The entry point receives argv with argv[0] = "tick" and returns
 * the exit status (0 success, 1 failure with one line on stderr, 2 bad usage). */
#ifndef BFQ_TICK_H
#define BFQ_TICK_H

#include "core/cli.h"

extern const struct cli_command tick_cli;
int tick_main(int argc, char **argv);

#endif
