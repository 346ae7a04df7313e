/* setup: `bfq redis-setup`, the set-up step that loads the function library into Redis. */
#ifndef BFQ_SETUP_H
#define BFQ_SETUP_H

#include "core/cli.h"

extern const struct cli_command redis_setup_cli;
int redis_setup_main(int argc, char **argv);

#endif
