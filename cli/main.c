/* main: `bfq <command> [options]`, the one binary of the system.
 *
 * Dispatches to the command table (cli/commands.c); `bfq --help` lists the commands,
 * `bfq --version` prints the version and git revision, anything unknown exits 2 with one line. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "trader/strategy.h"
#include "trader/trader.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: bfq <command> [options]\n"
            "       bfq <command> --help\n"
            "       bfq --version\n\n"
            "Binance USDⓈ-M futures data, risk and trading backbone on Redis.\n\ncommands:\n");
    for (int i = 0; i < bfq_commands_count; i++)
        fprintf(out, "  %-14s %s\n", bfq_commands[i].cli->name, bfq_commands[i].cli->summary);
}

int main(int argc, char **argv)
{
    /* Every command talks to sockets: a peer that closed must be an error to handle (EPIPE),
     * never a silent death by SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    static const struct cli_command *all[64];
    int nall = bfq_commands_count < 64 ? bfq_commands_count : 64;
    for (int i = 0; i < nall; i++) all[i] = bfq_commands[i].cli;
    cli_register(all, nall); /* lets each role tell another command's section from a typo */
    cli_register_sections(&trader_cli, strategy_section_keys); /* [strategy.<name>] */
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("bfq %s\n", bfq_version_text);
        return 0;
    }
    for (int i = 0; i < bfq_commands_count; i++)
        if (!strcmp(name, bfq_commands[i].cli->name))
            return bfq_commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "bfq: unknown command '%s' (see bfq --help)\n", name);
    return 2;
}
