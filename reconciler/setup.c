/* setup: `bfq redis-setup [--check] --redis URL`, the only command that loads the library.
 *
 * Every role runs the Lua library reconciler/bfq.lua inside Redis, so whoever can replace it
 * can make every role write anything. Role users therefore may not run FUNCTION LOAD, DELETE,
 * FLUSH or RESTORE (redis/users.acl.in); the admin user loads the library with this command
 * (scripts/demo, the test harness, a deployment's set-up), FUNCTION LOAD REPLACE of the source
 * embedded in this binary, then verifies it the way every role does (core/libcheck: SHA-256 of
 * the code Redis returns). --check only verifies. Prints one line; exit 0 when Redis holds this
 * build's library, 1 otherwise, 2 on bad usage. Run it again after every upgrade that changes
 * bfq.lua: until then the roles of the new build refuse to write and alert. */
#include "reconciler/setup.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "core/libcheck.h"
#include "core/rblock.h"
#include "reconciler/recon.h"

#define SETUP_TIMEOUT_MS 5000
#define SETUP_ERR_MAX 320

static const struct cli_option setup_options[] = {
    {"check", NULL, NULL, NULL, "only verify that Redis holds this build's library", 0},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

static const char *const setup_keys[] = {"check", NULL};

const struct cli_command redis_setup_cli = {
    .name = "redis-setup",
    .summary = "load this build's function library into Redis (run as the admin user)",
    .usage = "Roles never load the library: they check it (SHA-256 of its code) and write\n"
             "nothing until this command, run with the admin user's URL, has loaded it.",
    .options = setup_options,
    .role_options = 1,
    .keys = setup_keys,
};

/* FUNCTION LOAD REPLACE of the embedded source. 0, or -1 with err. */
static int setup_load(redisContext *c, char *err, size_t cap)
{
    redisReply *r = redisCommand(c, "FUNCTION LOAD REPLACE %b", bfq_lua_library,
                                 strlen(bfq_lua_library));
    int ok = r && r->type == REDIS_REPLY_STRING;
    if (!ok) snprintf(err, cap, "FUNCTION LOAD failed: %.200s", r ? r->str : c->errstr);
    if (r) freeReplyObject(r);
    return ok ? 0 : -1;
}

/* The check every role makes. 0 when Redis holds this build's library; why says what holds. */
static int setup_verify(redisContext *c, char *why, size_t cap)
{
    char name[LIBCHECK_NAME_MAX], hash[LIBCHECK_HEX_LEN + 1];
    if (libcheck_name(bfq_lua_library, name, sizeof name) < 0) {
        snprintf(why, cap, "the embedded library has no name line");
        return -1;
    }
    libcheck_sha256_hex(bfq_lua_library, strlen(bfq_lua_library), hash);
    redisReply *r = redisCommand(c, "FUNCTION LIST LIBRARYNAME %s WITHCODE", name);
    enum libcheck_result res = libcheck_reply(r, name, hash, why, cap);
    if (r) freeReplyObject(r);
    return res == LIBCHECK_OK ? 0 : -1;
}

int redis_setup_main(int argc, char **argv)
{
    struct config *cfg = NULL;
    const char *url = NULL;
    int check = 0, rc = 1;
    char err[SETUP_ERR_MAX] = "";
    enum cli_result cr = cli_parse(&redis_setup_cli, argc, argv, &cfg);
    if (cr != CLI_RUN) return cr == CLI_EXIT_OK ? 0 : 2;
    if (config_required(cfg, "redis", "url", &url) < 0 ||
        config_bool(cfg, "redis-setup", "check", 0, &check) < 0) {
        fprintf(stderr, "bfq redis-setup: %s\n", config_errstr(cfg));
        config_free(cfg);
        return 1;
    }
    redisContext *c = rblock_connect(url, SETUP_TIMEOUT_MS, err, sizeof err);
    if (c && (check || setup_load(c, err, sizeof err) == 0)) {
        rc = setup_verify(c, err, sizeof err) == 0 ? 0 : 1;
        fprintf(rc == 0 ? stdout : stderr, "bfq redis-setup: %s\n", err);
    } else {
        fprintf(stderr, "bfq redis-setup: %s\n", err);
    }
    if (c) redisFree(c);
    config_free(cfg);
    return rc;
}
