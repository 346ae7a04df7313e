/* sim: the `bfq sim` command, a Binance USDⓈ-M futures stand-in on loopback.
 *
 * See docs/sim.md for what it models and its admin API. */
#ifndef BFQ_SIM_SIM_H
#define BFQ_SIM_SIM_H

#include "core/cli.h"

extern const struct cli_command sim_cli;
int sim_main(int argc, char **argv);

#endif
