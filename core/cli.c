/* cli: `bfq <command> [options]` parsed with getopt_long onto config keys (see cli.h).
 *
 * Parsing runs in two passes so that the file named by --config is loaded before any option
 * is applied, wherever --config stands on the line: pass one collects (option, value) pairs,
 * then the file is loaded, then each pair becomes a config_set (the command line layer, which
 * beats environment and file). A repeatable option accumulates its values with '\n'; any other
 * option given twice keeps the last value. Every usage error is one line on stderr naming the
 * command and pointing at --help. A --config file that cannot be loaded is a usage error too
 * (exit 2), with the file, line and reason from config_load.
 *
 * getopt_long keeps global state (optind); cli_parse resets it (optind = 0, GNU's full
 * re-initialisation) so that it can run more than once per process (tests). Not thread-safe. */
#include "core/cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLI_OPTIONS_MAX 64 /* options of one command, common ones included */
#define CLI_NAME_MAX 64

static const struct cli_option role_opts[] = {
    {"config", "FILE", NULL, NULL, "INI configuration file to load", 0},
    {"redis", "URL", "redis", "url", "redis://[user:pass@]host:port[/db] or redis+sentinel://[user:pass@]h1:p1,h2:p2/master[/db]", 0},
    {"exchange", "URL", "exchange", "rest_url", "exchange REST base URL", 0},
    {"exchange-ws", "URL", "exchange", "ws_url", "exchange WebSocket base URL", 0},
    {"account", "NAME", NULL, "account", "account name (section [account.NAME])", 0},
    {"source-ip", "ADDR", NULL, "source_ip", "bind outgoing requests to this address", 0},
    {"instance", "ID", NULL, "instance", "instance id (default: host-pid)", 0},
    {"log-level", "LEVEL", "log", "level", "debug, info, warn or error", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

/* The config key an option sets ("--source-ip" -> "source_ip") into buf. */
static void option_key(const struct cli_option *o, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", o->key ? o->key : o->name);
    if (o->key == NULL)
        for (char *p = buf; *p; p++)
            *p = *p == '-' ? '_' : *p;
}

struct cli_table {
    const struct cli_option *opts[CLI_OPTIONS_MAX];
    struct option longopts[CLI_OPTIONS_MAX + 2];
    int n;
};

static void table_add(struct cli_table *t, const struct cli_option *o)
{
    if (t->n >= CLI_OPTIONS_MAX)
        return; /* a command table this large is a programming error: the option is ignored */
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->opts[i]->name, o->name) == 0)
            return; /* the command's own definition wins */
    t->opts[t->n] = o;
    t->longopts[t->n] = (struct option){o->name, o->metavar ? required_argument : no_argument,
                                        NULL, 256 + t->n};
    t->n++;
}

static void table_build(const struct cli_command *cmd, struct cli_table *t)
{
    memset(t, 0, sizeof *t);
    for (const struct cli_option *o = cmd->options; o && o->name; o++)
        table_add(t, o);
    if (cmd->role_options)
        for (const struct cli_option *o = role_opts; o->name; o++)
            table_add(t, o);
    t->longopts[t->n] = (struct option){"help", no_argument, NULL, 'h'};
    t->longopts[t->n + 1] = (struct option){NULL, 0, NULL, 0};
}

static void print_option(FILE *out, const struct cli_option *o)
{
    char left[96];
    snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
    fprintf(out, "  %-24s %s%s\n", left, o->help ? o->help : "",
            o->repeatable ? " (repeatable)" : "");
}

void cli_usage(const struct cli_command *cmd)
{
    printf("usage: bfq %s [options]\n\n%s\n", cmd->name, cmd->summary ? cmd->summary : "");
    if (cmd->options && cmd->options->name) {
        printf("\noptions:\n");
        for (const struct cli_option *o = cmd->options; o->name; o++)
            print_option(stdout, o);
    }
    printf("\ncommon options:\n");
    if (cmd->role_options)
        for (const struct cli_option *o = role_opts; o->name; o++)
            print_option(stdout, o);
    printf("  %-24s %s\n", "-h, --help", "show this help and exit");
    printf("\nEvery option is also a config key: [section] key in the --config file, or the\n"
           "environment variable BFQ_<SECTION>_<KEY>; the command line wins.\n");
    if (cmd->usage)
        printf("\n%s\n", cmd->usage);
}

/* One line: "bfq kline: unknown option '--x' (see bfq kline --help)". */
static enum cli_result usage_error(const struct cli_command *cmd, const char *what,
                                   const char *arg, const char *after)
{
    /* Only the option's name: "--x=5" is reported as '--x'. */
    int len = arg[0] == '-' ? (int)strcspn(arg, "=") : (int)strlen(arg);
    fprintf(stderr, "bfq %s: %s '%.*s'%s (see bfq %s --help)\n", cmd->name, what, len, arg,
            after, cmd->name);
    return CLI_EXIT_USAGE;
}

struct cli_pair {
    int opt;
    const char *value;
};

/* Applies the collected options onto cfg, accumulating repeatable ones. */
static void apply(const struct cli_command *cmd, const struct cli_table *t,
                  const struct cli_pair *pairs, int npairs, struct config *cfg)
{
    for (int i = 0; i < t->n; i++) {
        const struct cli_option *o = t->opts[i];
        if (o == &role_opts[0])
            continue; /* --config was loaded, it is not a key */
        char *acc = NULL;
        size_t len = 0;
        for (int k = 0; k < npairs; k++) {
            if (pairs[k].opt != i)
                continue;
            const char *v = pairs[k].value ? pairs[k].value : "true";
            size_t vl = strlen(v);
            if (acc && o->repeatable) {
                char *grown = realloc(acc, len + vl + 2);
                if (grown == NULL)
                    continue; /* out of memory: keep what we have */
                acc = grown;
                acc[len++] = '\n';
            } else {
                free(acc);
                acc = malloc(vl + 1);
                len = 0;
                if (acc == NULL)
                    continue;
            }
            memcpy(acc + len, v, vl + 1);
            len += vl;
        }
        if (acc == NULL)
            continue;
        char key[CLI_NAME_MAX];
        option_key(o, key, sizeof key);
        config_set(cfg, o->section ? o->section : cmd->name, key, acc);
        free(acc);
    }
}

enum cli_result cli_parse(const struct cli_command *cmd, int argc, char **argv,
                          struct config **cfg)
{
    struct cli_table t;
    table_build(cmd, &t);
    struct cli_pair *pairs = calloc((size_t)(argc > 0 ? argc : 1), sizeof *pairs);
    *cfg = NULL;
    if (pairs == NULL) {
        fprintf(stderr, "bfq %s: out of memory\n", cmd->name);
        return CLI_EXIT_USAGE;
    }
    int npairs = 0, c, idx;
    const char *config_path = NULL;
    enum cli_result res = CLI_RUN;
    optind = 0;
    opterr = 0;
    while (res == CLI_RUN) {
        c = getopt_long(argc, argv, "+:h", t.longopts, &idx);
        if (c == -1)
            break;
        if (c == 'h') {
            cli_usage(cmd);
            res = CLI_EXIT_OK;
        } else if (c == ':') {
            res = usage_error(cmd, "option", argv[optind - 1], " needs an argument");
        } else if (c == '?') {
            const char *arg = argv[optind - 1];
            char shortopt[3] = {'-', (char)optopt, '\0'};
            res = usage_error(cmd, "unknown option", strncmp(arg, "--", 2) == 0 ? arg : shortopt,
                              "");
        } else if (c >= 256 && c < 256 + t.n) {
            pairs[npairs++] = (struct cli_pair){c - 256, optarg};
            if (t.opts[c - 256] == &role_opts[0])
                config_path = optarg;
        }
    }
    if (res == CLI_RUN && optind < argc)
        res = usage_error(cmd, "unexpected argument", argv[optind], "");
    if (res == CLI_RUN) {
        *cfg = config_new();
        if (config_path && config_load(*cfg, config_path) != 0) {
            fprintf(stderr, "bfq %s: %s\n", cmd->name, config_errstr(*cfg));
            config_free(*cfg);
            *cfg = NULL;
            res = CLI_EXIT_USAGE;
        } else {
            apply(cmd, &t, pairs, npairs, *cfg);
        }
    }
    free(pairs);
    return res;
}

/* ---- the command registry ------------------------------------------------------------- */

static const struct cli_command *const *cli_all;
static int cli_nall;

void cli_register(const struct cli_command *const *cmds, int n)
{
    cli_all = cmds;
    cli_nall = n;
}

static struct {
    const struct cli_command *cmd;
    cli_section_keys_fn *fn;
} cli_sections[CLI_SECTIONS_MAX];
static int cli_nsections;

void cli_register_sections(const struct cli_command *cmd, cli_section_keys_fn *fn)
{
    if (cli_nsections == CLI_SECTIONS_MAX) return;
    cli_sections[cli_nsections].cmd = cmd;
    cli_sections[cli_nsections++].fn = fn;
}

/* The registered function of cmd's further sections, or NULL. */
static cli_section_keys_fn *cli_sections_of(const struct cli_command *cmd)
{
    for (int i = 0; i < cli_nsections; i++)
        if (cli_sections[i].cmd == cmd) return cli_sections[i].fn;
    return NULL;
}

int cli_registered(void)
{
    return cli_all != NULL;
}

const struct cli_command *cli_section_owner(const struct cli_command *cmd, const char *section)
{
    for (int i = 0; i < cli_nall; i++)
        if (strcmp(cli_all[i]->name, section) == 0)
            return cli_all[i];
    for (int i = 0; i < cli_nsections; i++)
        if (cli_sections[i].fn(section, NULL) >= 0) return cli_sections[i].cmd;
    return cmd && strcmp(cmd->name, section) == 0 ? cmd : NULL;
}

/* Nonzero when one of opts (terminated by {NULL}) sets [section] key for command cmd. */
static int options_set(const struct cli_command *cmd, const struct cli_option *opts,
                       const char *section, const char *key)
{
    char k[CLI_NAME_MAX];
    for (const struct cli_option *o = opts; o && o->name; o++) {
        if (o == &role_opts[0])
            continue; /* --config is not a key */
        option_key(o, k, sizeof k);
        if (strcmp(o->section ? o->section : cmd->name, section) == 0 && strcmp(k, key) == 0)
            return 1;
    }
    return 0;
}

int cli_declares(const struct cli_command *cmd, const char *section, const char *key)
{
    if (options_set(cmd, cmd->options, section, key))
        return 1;
    if (cmd->role_options && options_set(cmd, role_opts, section, key))
        return 1;
    if (strcmp(section, cmd->name) != 0) {
        cli_section_keys_fn *fn = cli_sections_of(cmd);
        return fn && fn(section, key) > 0;
    }
    for (const char *const *k = cmd->keys; k && *k; k++)
        if (strcmp(*k, key) == 0)
            return 1;
    return 0;
}

void cli_instance(struct config *cfg, const char *command, char *buf, size_t cap)
{
    const char *id = NULL;
    if (cfg && config_str(cfg, command, "instance", NULL, &id) == 0 && id && *id) {
        snprintf(buf, cap, "%s", id);
        return;
    }
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = '\0';
    snprintf(buf, cap, "%s-%ld", host, (long)getpid());
}
