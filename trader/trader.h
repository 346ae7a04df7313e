/* trader: the commands of the trading part (trader/), for the command table.
 *
 *   bfq trader    a local book from Redis, a strategy, order intents (trader.c)
 *   bfq gateway   the one writer: each intent once, checked (gateway.c)
 *   bfq order / cancel / close / leverage   manual operations as intents (manual.c) */
#ifndef BFQ_TRADER_H
#define BFQ_TRADER_H

#include "core/cli.h"

extern const struct cli_command trader_cli, gateway_cli;
extern const struct cli_command order_cli, cancel_cli, close_cli, leverage_cli;

int trader_main(int argc, char **argv);
int gateway_main(int argc, char **argv);
int order_main(int argc, char **argv);
int cancel_main(int argc, char **argv);
int close_main(int argc, char **argv);
int leverage_main(int argc, char **argv);

#endif
