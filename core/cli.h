/* cli: the command-line conventions every bfq command shares.
 *
 * `bfq <command> [options]`: --help prints usage and exits 0; an unknown option, a missing
 * argument or a stray word prints one line on stderr and exits 2. Options map onto config keys
 * (an option is just the highest-priority source of a key), so a role reads everything through
 * config getters and `--interval 5m` and `[kline] interval = 5m` and BFQ_KLINE_INTERVAL=5m mean
 * the same thing. The common role options are:
 *
 *   --config FILE      INI file to load
 *   --redis URL        [redis] url
 *   --exchange URL     [exchange] rest_url
 *   --exchange-ws URL  [exchange] ws_url
 *   --account NAME     [<command>] account
 *   --source-ip ADDR   [<command>] source_ip
 *   --instance ID      [<command>] instance (default: host-pid)
 *   --log-level LEVEL  [log] level
 */
#ifndef BFQ_CLI_H
#define BFQ_CLI_H

#include "core/config.h"

/* One option of a command. An option without metavar is a flag and sets its key to "true". */
struct cli_option {
    const char *name;     /* long name without "--", e.g. "interval" */
    const char *metavar;  /* e.g. "INTERVAL", or NULL for a flag */
    const char *section;  /* config section it sets; NULL means the command's own section */
    const char *key;      /* config key it sets; NULL means name with '-' as '_' */
    const char *help;     /* one line */
    int repeatable;       /* values accumulate, separated by '\n' */
};

struct cli_command {
    const char *name;           /* "kline" */
    const char *summary;        /* one line for `bfq --help` */
    const char *usage;          /* extra usage text printed after the options, may be NULL */
    const struct cli_option *options; /* terminated by {NULL}; may be NULL */
    int role_options;           /* nonzero: accept the common role options above */
    /* Keys of the command's own section [<name>] that no option sets, NULL-terminated (NULL:
     * none). With its options' keys (and instance, source_ip, account for a role) they are all
     * its section may hold: core/role reports anything else at start as an unknown key. So a
     * new command declares its configuration here and needs no edit in core/. */
    const char *const *keys;
};

enum cli_result { CLI_RUN = 0, CLI_EXIT_OK = 1, CLI_EXIT_USAGE = 2 };

/* Parses argv (argv[0] is the command name) into a new config in *cfg (loading --config
 * first, so options override it). On CLI_EXIT_OK (help printed) or CLI_EXIT_USAGE (one line
 * printed) *cfg is NULL. */
enum cli_result cli_parse(const struct cli_command *cmd, int argc, char **argv,
                          struct config **cfg);

/* Prints the command's usage to stdout. */
void cli_usage(const struct cli_command *cmd);

/* Registers every command of the binary (cli/main.c, once, before dispatching), so that a
 * role can tell another command's section from a typo. cmds is borrowed for the process. */
void cli_register(const struct cli_command *const *cmds, int n);

/* The registered command whose section is `section`, else cmd when its name is `section`,
 * else NULL. */
const struct cli_command *cli_section_owner(const struct cli_command *cmd, const char *section);

/* A command owning sections besides [<name>] (the trader's [strategy.<name>]) says which:
 * fn(section, NULL) returns -1 when section is not the command's; fn(section, key) returns 1
 * when key is one of its keys, 0 when not (core/role then reports it). Registered once, next
 * to cli_register (cli/main.c); at most CLI_SECTIONS_MAX. */
#define CLI_SECTIONS_MAX 8
typedef int cli_section_keys_fn(const char *section, const char *key);
void cli_register_sections(const struct cli_command *cmd, cli_section_keys_fn *fn);

/* Nonzero once cli_register ran. */
int cli_registered(void);

/* Nonzero when cmd declares [section] key: an option that sets it, a key of cmd->keys (own
 * section), or a common role key (own section, role commands). */
int cli_declares(const struct cli_command *cmd, const char *section, const char *key);

/* The instance id: [<command>] instance, or "<hostname>-<pid>", into buf. */
void cli_instance(struct config *cfg, const char *command, char *buf, size_t cap);

#endif
