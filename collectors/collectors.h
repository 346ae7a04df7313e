/* collectors: the market-data commands of `bfq` (symbols, kline, volume) and `bfq status`.
 *
 * Each command is a struct cli_command (options, help) plus its entry point, registered in
 * cli/commands.c. Entry points receive argv with argv[0] = the command name and return the exit
 * status (0 success, 1 failure with one line on stderr, 2 bad usage). */
#ifndef BFQ_COLLECTORS_H
#define BFQ_COLLECTORS_H

#include "core/cli.h"

extern const struct cli_command symbols_cli;
int symbols_main(int argc, char **argv);

extern const struct cli_command kline_cli;
int kline_main(int argc, char **argv);

extern const struct cli_command volume_cli;
int volume_main(int argc, char **argv);

extern const struct cli_command status_cli;
int status_main(int argc, char **argv);

#endif
