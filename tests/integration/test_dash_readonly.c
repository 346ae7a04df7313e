/* test_dash_readonly: the dashboard's credentials cannot write anything. The Redis ACL user
 * `dash` (redis/users.acl.in, rendered by the harness) is refused every kind of write (SET,
 * DEL, HSET, XADD even to the alerts, PUBLISH, EXPIRE), every function call (FCALL, FCALL_RO)
 * and FUNCTION LOAD, and the MariaDB user `reader` (tests/harness/mariadb, granted by
 * --grant-reader, as scripts/demo does) is refused INSERT, UPDATE, DELETE, CREATE and DROP,
 * while both can read (so no refusal below is a failed login in disguise), and nothing
 * changed afterwards. */
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "core/rblock.h"
#include "reconciler/recon.h"
#include "tests/harness/harness.h"
#include "tests/harness/mariadb.h"
#include "tests/harness/redis_acl.h"


static void test_redis(const struct th_redis *rs)
{
    char url[256], err[256];
    th_redis_url_for(rs, "dash", url, sizeof url);
    redisContext *c = rblock_connect(url, 2000, err, sizeof err);
    CHECK(c != NULL);
    if (!c) return;
    redisContext *admin = rblock_connect(rs->url, 2000, err, sizeof err);
    CHECK(admin != NULL);
    if (!admin) return;
    CHECK(th_acl_try(admin, "HSET bfq:acct:main:pos BTCUSDT:BOTH {\"amt\":\"1\"}") == 1);
    /* reads work: logged in as dash */
    CHECK(th_acl_try(c, "HGETALL bfq:acct:main:pos") == 1);
    CHECK(th_acl_try(c, "SCAN 0 MATCH bfq:hb:* COUNT 10") == 1);
    CHECK(th_acl_try(c, "GET bfq:universe:version") == 1);
    /* writes, function calls and library loads are refused */
    CHECK(th_acl_try(c, "SET bfq:x 1") == 0);
    CHECK(th_acl_try(c, "DEL bfq:acct:main:pos") == 0);
    CHECK(th_acl_try(c, "HSET bfq:acct:main:pos BTCUSDT:BOTH {}") == 0);
    CHECK(th_acl_try(c, "HDEL bfq:acct:main:pos BTCUSDT:BOTH") == 0);
    CHECK(th_acl_try(c, "EXPIRE bfq:acct:main:pos 1") == 0);
    CHECK(th_acl_try(c, "XADD bfq:alerts * level error text t") == 0);
    CHECK(th_acl_try(c, "XADD bfq:intents:main * op order sym BTCUSDT") == 0);
    CHECK(th_acl_try(c, "PUBLISH bfq:ch:risk {}") == 0);
    CHECK(th_acl_try(c, "FCALL bfq_put 1 bfq:risk:ban bfq:ch:risk m 9 0 symbols [\"ALL\"]") == 0);
    CHECK(th_acl_try(c, "FCALL_RO bfq_version 0") == 0);
    CHECK(th_acl_try(c, "FUNCTION LOAD REPLACE %s", bfq_lua_library) == 0);
    CHECK(th_acl_try(c, "FUNCTION DELETE bfq") == 0);
    CHECK(th_acl_try(c, "FLUSHALL") == 0);
    CHECK(th_acl_try(c, "CONFIG SET maxmemory 1") == 0);
    /* nothing changed */
    redisReply *r = redisCommand(admin, "HGET bfq:acct:main:pos BTCUSDT:BOTH");
    CHECK(r && r->type == REDIS_REPLY_STRING && !strcmp(r->str, "{\"amt\":\"1\"}"));
    freeReplyObject(r);
    r = redisCommand(admin, "EXISTS bfq:x bfq:alerts bfq:intents:main");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
    freeReplyObject(r);
    redisFree(c);
    redisFree(admin);
}

static void test_mariadb(const struct th_mariadb *m)
{
    static const char *const writes[] = {
        "INSERT INTO income (account, income_type, tran_id, symbol, income, asset, info,"
        " time_ms) VALUES ('main', 'REALIZED_PNL', 1, 'BTCUSDT', 1, 'USDT', '', 1)",
        "UPDATE trades SET realized_pnl = 0",
        "DELETE FROM account_snapshots",
        "CREATE TABLE bfq.evil (x INT)",
        "DROP TABLE trades",
        "CREATE OR REPLACE VIEW daily_trades AS SELECT 1",
        "TRUNCATE TABLE income",
    };
    char *out = NULL;
    CHECK(th_mariadb_sql(m, "INSERT INTO bfq.income (account, income_type, tran_id, symbol,"
                            " income, asset, info, time_ms) VALUES ('main', 'FUNDING_FEE', 7, 'ETHUSDT',"
                            " '-0.5', 'USDT', '', 5)", NULL) == 0);
    CHECK(th_mariadb_sql_as(m, "reader", "SELECT COUNT(*) FROM bfq.income", &out) == 0);
    CHECK(out && !strcmp(out, "1\n"));
    free(out);
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        int rc = th_mariadb_sql_as(m, "reader", writes[i], NULL);
        if (rc == 0) fprintf(stderr, "reader was allowed: %s\n", writes[i]);
        CHECK(rc != 0);
    }
    out = NULL;
    CHECK(th_mariadb_sql(m, "SELECT COUNT(*), SUM(income) FROM bfq.income", &out) == 0);
    CHECK(out && !strcmp(out, "1\t-0.500000000000000000\n"));
    free(out);
    out = NULL;
    CHECK(th_mariadb_sql(m, "SELECT COUNT(*) FROM information_schema.tables WHERE"
                            " table_schema = 'bfq' AND table_name = 'evil'", &out) == 0);
    CHECK(out && !strcmp(out, "0\n"));
    free(out);
}

int main(void)
{
    struct th_redis rs;
    struct th_mariadb m;
    if (th_redis_start(&rs, 1) < 0 || th_mariadb_start(&m, 1) < 0) {
        CHECK(!"servers started");
        return th_done();
    }
    test_redis(&rs);
    test_mariadb(&m);
    th_mariadb_stop(&m);
    th_redis_stop(&rs);
    return th_done();
}
