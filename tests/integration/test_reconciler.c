/* test_reconciler: the Lua library (reconciler/bfq.lua) through the C calls (recon.c), against
 * a real redis-server, with the library loaded by rconn.
 *
 * Freshest wins: out-of-order arrivals, ties decided by uid, duplicate batches (nothing
 * changed, nothing published: checked on a SUBSCRIBE connection with a marker message), merge
 * mode (per-member times, "ft"), deletion with tombstones; bfq_put; bfq_next over an empty universe and over a universe
 * that shrinks while two "instances" call it; bfq_universe's stable indices, version and
 * message; the weight functions. */
#include <ev.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/rconn.h"
#include "reconciler/recon.h"
#include "tests/harness/harness.h"
#include "tests/harness/testloop.h"

static struct ev_loop *loop;
static struct rconn *rc;
static redisContext *cmd; /* sync connection for checks */
static redisContext *sub; /* sync SUBSCRIBE connection on channel "ch" */
static int marks;
static int port;

/* ---- plumbing ----------------------------------------------------------------------- */

struct result {
    int done;
    int64_t value, index, version;
    int changed;
    char sym[64];
    char err[256];
};

static void on_int(int64_t value, const char *err, void *p)
{
    struct result *r = p;
    r->done++;
    r->value = value;
    snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

static void on_next(const char *symbol, int64_t index, const char *err, void *p)
{
    struct result *r = p;
    r->done++;
    r->index = index;
    snprintf(r->sym, sizeof r->sym, "%s", symbol ? symbol : "");
    snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

static void on_universe(int64_t version, int changed, const char *err, void *p)
{
    struct result *r = p;
    r->done++;
    r->version = version;
    r->changed = changed;
    snprintf(r->err, sizeof r->err, "%s", err ? err : "");
}

static void on_up(struct rconn *c, void *p)
{
    (void)c;
    (*(int *)p)++;
}

/* One record of a batch. */
struct rec {
    const char *field, *json;
    int64_t t, uid;
    const char *pub;
};

/* Sends a batch of n records and waits for the count of changed records (-1 on error). */
static int64_t merge(const char *state, const char *mode_key, enum recon_mode mode,
                     const struct rec *recs, int n)
{
    char ts[128];
    snprintf(ts, sizeof ts, "%s:ts", state);
    struct recon_batch *b = recon_batch_new(state, ts, "ch", mode_key, mode);
    for (int i = 0; i < n; i++)
        if (recon_batch_add(b, recs[i].field, recs[i].json, recs[i].t, recs[i].uid,
                            recs[i].pub) < 0)
            return -2;
    CHECK(recon_batch_count(b) == (size_t)n);
    struct result r = {0};
    if (recon_batch_send(rc, b, on_int, &r) < 0) return -3;
    if (!th_loop_until(loop, &r.done, 1, 3000)) return -4;
    if (r.err[0]) fprintf(stderr, "merge: %s\n", r.err);
    return r.value;
}

static int64_t put(const char *key, const char *msg, int64_t t, int64_t uid, int n,
                   const char *const *f, const char *const *v)
{
    struct result r = {0};
    if (recon_put(rc, key, "ch", msg, t, uid, n, f, v, on_int, &r) < 0) return -3;
    if (!th_loop_until(loop, &r.done, 1, 3000)) return -4;
    return r.value;
}

static struct result next(struct rconn *c, const char *list)
{
    struct result r = {0};
    if (recon_next(c, "cur", list, on_next, &r) < 0) r.index = -3;
    else th_loop_until(loop, &r.done, 1, 3000);
    return r;
}

static struct result universe(const char *const *syms, int n)
{
    struct result r = {0};
    if (recon_universe(rc, "uni", "uni:v", "ch", syms, n, on_universe, &r) < 0) r.version = -3;
    else th_loop_until(loop, &r.done, 1, 3000);
    return r;
}

/* The messages published on "ch" since the last call, joined by '\n' (caller frees). Found
 * by publishing a marker and reading up to it, so "nothing published" is checked exactly. */
static char *published(void)
{
    char mark[32];
    snprintf(mark, sizeof mark, "#mark-%d", ++marks);
    freeReplyObject(redisCommand(cmd, "PUBLISH ch %s", mark));
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    for (;;) {
        redisReply *r = NULL;
        if (redisGetReply(sub, (void **)&r) != REDIS_OK || !r) break;
        const char *m = r->type == REDIS_REPLY_ARRAY && r->elements == 3 ? r->element[2]->str : "";
        int end = strcmp(m, mark) == 0;
        if (!end && len + strlen(m) + 2 < cap) {
            if (len) out[len++] = '\n';
            memcpy(out + len, m, strlen(m));
            len += strlen(m);
        }
        freeReplyObject(r);
        if (end) break;
    }
    return out;
}

static char *hget(const char *key, const char *field)
{
    redisReply *r = redisCommand(cmd, "HGET %s %s", key, field);
    char *v = r && r->type == REDIS_REPLY_STRING ? strdup(r->str) : NULL;
    freeReplyObject(r);
    return v;
}

static int check_hget(const char *key, const char *field, const char *want)
{
    char *v = hget(key, field);
    int ok = th_streq(v, want);
    free(v);
    return ok;
}

static int check_published(const char *want)
{
    char *got = published();
    int ok = th_streq(got, want);
    free(got);
    return ok;
}

/* ---- bfq_merge ---------------------------------------------------------------------- */

static void test_merge_order(void)
{
    struct rec first[] = {{"BTC", "{\"b\":\"1\"}", 100, 0, NULL},
                          {"ETH", "{\"b\":\"2\"}", 100, 5, "[\"2\"]"}};
    CHECK(merge("tk", "ticks", RECON_REPLACE, first, 2) == 2);
    CHECK(check_published("{\"t\":100,\"ticks\":{\"BTC\":{\"b\":\"1\"},\"ETH\":[\"2\"]}}"));
    CHECK(check_hget("tk:ts", "ETH", "100:5"));

    /* duplicate batch: nothing changes, nothing is published */
    CHECK(merge("tk", "ticks", RECON_REPLACE, first, 2) == 0);
    CHECK(check_published(""));

    /* older arrivals never overwrite */
    struct rec old[] = {{"BTC", "{\"b\":\"0\"}", 99, 999, NULL}, {"ETH", "", 50, 0, NULL}};
    CHECK(merge("tk", "ticks", RECON_REPLACE, old, 2) == 0);
    CHECK(check_hget("tk", "BTC", "{\"b\":\"1\"}"));
    CHECK(check_hget("tk", "ETH", "{\"b\":\"2\"}"));
    CHECK(check_published(""));

    /* ties: a lower or equal uid keeps the stored record, a higher one replaces it */
    struct rec lower[] = {{"ETH", "{\"b\":\"low\"}", 100, 4, NULL}};
    struct rec equal[] = {{"ETH", "{\"b\":\"eq\"}", 100, 5, NULL}};
    struct rec higher[] = {{"ETH", "{\"b\":\"hi\"}", 100, 6, NULL}};
    CHECK(merge("tk", "ticks", RECON_REPLACE, lower, 1) == 0);
    CHECK(merge("tk", "ticks", RECON_REPLACE, equal, 1) == 0);
    CHECK(check_hget("tk", "ETH", "{\"b\":\"2\"}"));
    CHECK(merge("tk", "ticks", RECON_REPLACE, higher, 1) == 1);
    CHECK(check_hget("tk", "ETH", "{\"b\":\"hi\"}"));
    CHECK(check_published("{\"t\":100,\"ticks\":{\"ETH\":{\"b\":\"hi\"}}}"));

    /* a mixed batch publishes only what changed, with the max t of the changes */
    struct rec mixed[] = {{"BTC", "{\"b\":\"3\"}", 101, 0, NULL},
                          {"ETH", "{\"b\":\"x\"}", 102, 0, NULL},
                          {"SOL", "{\"b\":\"9\"}", 100, 0, NULL},
                          {"BTC", "{\"b\":\"stale\"}", 90, 0, NULL}};
    CHECK(merge("tk", "ticks", RECON_REPLACE, mixed, 4) == 3);
    CHECK(check_published("{\"t\":102,\"ticks\":{\"BTC\":{\"b\":\"3\"},\"ETH\":{\"b\":\"x\"},"
                          "\"SOL\":{\"b\":\"9\"}}}"));
    CHECK(check_hget("tk", "BTC", "{\"b\":\"3\"}"));

    /* 64-bit times and ids compare exactly (no double rounding) */
    struct rec big1[] = {{"BIG", "{\"v\":1}", 9007199254740993LL, 9223372036854775806LL, NULL}};
    struct rec big2[] = {{"BIG", "{\"v\":2}", 9007199254740993LL, 9223372036854775807LL, NULL}};
    struct rec big0[] = {{"BIG", "{\"v\":0}", 9007199254740992LL, 9223372036854775807LL, NULL}};
    CHECK(merge("tk", "ticks", RECON_REPLACE, big1, 1) == 1);
    CHECK(merge("tk", "ticks", RECON_REPLACE, big2, 1) == 1);
    CHECK(merge("tk", "ticks", RECON_REPLACE, big0, 1) == 0);
    CHECK(check_hget("tk", "BIG", "{\"v\":2}"));
    CHECK(check_hget("tk:ts", "BIG", "9007199254740993:9223372036854775807"));
    free(published());
}

static void test_merge_mode(void)
{
    struct rec full[] = {{"USDT", "{\"wallet\":\"10\",\"cross\":\"9\",\"available\":\"8\"}", 1, 0,
                          NULL}};
    CHECK(merge("bal", "bal", RECON_MERGE, full, 1) == 1);
    /* the stream knows only the wallet: cross and available are kept */
    struct rec part[] = {{"USDT", "{\"wallet\":\"11\"}", 2, 0, NULL}};
    CHECK(merge("bal", "bal", RECON_MERGE, part, 1) == 1);
    char *v = hget("bal", "USDT");
    json_t *j = v ? json_loads(v, 0, NULL) : NULL;
    CHECK(j != NULL);
    CHECK_EQ_STR(json_string_value(json_object_get(j, "wallet")), "11");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "cross")), "9");
    CHECK_EQ_STR(json_string_value(json_object_get(j, "available")), "8");
    json_decref(j);
    free(v);
    /* the published record is the merged one */
    char *msg = published();
    CHECK(msg && strstr(msg, "\"t\":2") && strstr(msg, "\"cross\":\"9\"") &&
          strstr(msg, "\"wallet\":\"11\""));
    free(msg);
    /* an older partial record is ignored; replace mode would drop the fields */
    struct rec stale[] = {{"USDT", "{\"wallet\":\"1\"}", 1, 5, NULL}};
    CHECK(merge("bal", "bal", RECON_MERGE, stale, 1) == 0);
    struct rec repl[] = {{"USDT", "{\"wallet\":\"12\"}", 3, 0, NULL}};
    CHECK(merge("bal", "bal", RECON_REPLACE, repl, 1) == 1);
    CHECK(check_hget("bal", "USDT", "{\"wallet\":\"12\"}"));
    /* merge mode refuses a record that is not an object (nothing written) */
    struct rec bad[] = {{"USDT", "[1]", 4, 0, NULL}};
    CHECK(merge("bal", "bal", RECON_MERGE, bad, 1) == -1);
    CHECK(check_hget("bal", "USDT", "{\"wallet\":\"12\"}"));
    free(published());
}

/* A member of the JSON stored in state field f, as text ("" absent, numbers as digits). */
static int check_member(const char *state, const char *f, const char *member, const char *want)
{
    char *v = hget(state, f);
    json_t *j = v ? json_loads(v, 0, NULL) : NULL;
    free(v);
    json_t *m = json_object_get(j, member);
    char buf[64] = "";
    if (json_is_string(m)) snprintf(buf, sizeof buf, "%s", json_string_value(m));
    else if (json_is_integer(m)) snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(m));
    int ok = th_streq(buf, want);
    if (!ok) fprintf(stderr, "member %s of %s: got '%s', want '%s'\n", member, f, buf, want);
    json_decref(j);
    return ok;
}

/* Merge mode is per member: each member keeps the time it was set at ("ft" in the stored
 * record for members older than the record's newest write), an older record fills only
 * members that are missing or older still, a record may time members itself with "ft", ties
 * go by uid, a refresh of times alone is written but neither counted nor published, and
 * deletion still follows the record's newest time. */
static void test_merge_fields(void)
{
    /* REST at 100 with available read at 150; then the stream at 120 (no available) */
    struct rec rest[] = {{"USDT", "{\"wallet\":\"10\",\"available\":\"8\",\"t\":100,"
                                  "\"src\":\"account\",\"ft\":{\"available\":150}}", 100, 0, NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, rest, 1) == 1);
    free(published());
    CHECK(check_hget("pf:ts", "USDT", "150:0"));
    CHECK(check_member("pf", "USDT", "t", "150"));
    struct rec ws[] = {{"USDT", "{\"wallet\":\"11\",\"cross\":\"11\",\"t\":120,"
                                "\"src\":\"userstream\"}", 120, 7, NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, ws, 1) == 1);
    CHECK(check_member("pf", "USDT", "wallet", "11") && check_member("pf", "USDT", "cross", "11"));
    CHECK(check_member("pf", "USDT", "available", "8")); /* 150 > 120: kept */
    CHECK(check_hget("pf:ts", "USDT", "150:0"));
    CHECK(check_published("{\"t\":150,\"bal\":{\"USDT\":{\"wallet\":\"11\",\"available\":\"8\","
                          "\"t\":150,\"src\":\"userstream\",\"cross\":\"11\"}}}"));
    /* the stored record says when each member was set, and stays a plain record */
    CHECK(check_hget("pf", "USDT",
                     "{\"wallet\":\"11\",\"available\":\"8\",\"t\":150,\"src\":\"userstream\","
                     "\"cross\":\"11\",\"ft\":{\"wallet\":\"120:7\",\"src\":\"120:7\","
                     "\"cross\":\"120:7\"}}"));

    /* the next REST answer: wallet as of 100 (older than the stream's 120: not taken), a new
     * available read at 200 (taken) */
    struct rec rest2[] = {{"USDT", "{\"wallet\":\"10\",\"available\":\"6\",\"t\":100,"
                                   "\"src\":\"account\",\"ft\":{\"available\":200}}", 100, 0,
                           NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, rest2, 1) == 1);
    CHECK(check_member("pf", "USDT", "wallet", "11") && check_member("pf", "USDT", "available", "6"));
    CHECK(check_member("pf", "USDT", "src", "userstream") && check_member("pf", "USDT", "t", "200"));
    CHECK(check_hget("pf:ts", "USDT", "200:0"));
    CHECK(check_published("{\"t\":200,\"bal\":{\"USDT\":{\"wallet\":\"11\",\"available\":\"6\","
                          "\"t\":200,\"src\":\"userstream\",\"cross\":\"11\"}}}"));

    /* an older record fills a member only where the stored member is older still: wallet
     * (120) stays, a member nobody had ("margin") is filled, available (200) stays */
    struct rec old[] = {{"USDT", "{\"wallet\":\"1\",\"available\":\"1\",\"margin\":\"3\"}", 110, 9,
                         NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, old, 1) == 1);
    CHECK(check_member("pf", "USDT", "wallet", "11") && check_member("pf", "USDT", "available", "6"));
    CHECK(check_member("pf", "USDT", "margin", "3"));
    CHECK(check_published("{\"t\":200,\"bal\":{\"USDT\":{\"wallet\":\"11\",\"available\":\"6\","
                          "\"t\":200,\"src\":\"userstream\",\"cross\":\"11\",\"margin\":\"3\"}}}"));
    /* ... and a record older than every member changes nothing */
    struct rec older[] = {{"USDT", "{\"wallet\":\"1\",\"margin\":\"1\"}", 105, 0, NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, older, 1) == 0);
    CHECK(check_member("pf", "USDT", "margin", "3"));

    /* per-member times: equal (t, uid) keeps the stored member; a higher uid wins the tie */
    struct rec tie[] = {{"USDT", "{\"available\":\"5\",\"ft\":{\"available\":\"200:0\"}}", 1, 0,
                         NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, tie, 1) == 0);
    CHECK(check_published(""));
    struct rec tie_uid[] = {{"USDT", "{\"available\":\"5\",\"ft\":{\"available\":\"200:3\"}}", 1,
                             0, NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, tie_uid, 1) == 1);
    CHECK(check_member("pf", "USDT", "available", "5"));
    CHECK(check_hget("pf:ts", "USDT", "200:3"));
    free(published());
    /* a bare ft time takes the record's uid: (200, 2) < (200, 3) */
    struct rec tie_rec[] = {{"USDT", "{\"available\":\"4\",\"ft\":{\"available\":200}}", 1, 2,
                             NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, tie_rec, 1) == 0);
    CHECK(check_member("pf", "USDT", "available", "5"));

    /* newer times, same values: written (the times move on), not counted, not published */
    struct rec same[] = {{"USDT", "{\"wallet\":\"11\",\"cross\":\"11\"}", 300, 0, NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, same, 1) == 0);
    CHECK(check_published(""));
    CHECK(check_hget("pf:ts", "USDT", "300:0") && check_member("pf", "USDT", "t", "300"));
    struct rec wallet_old[] = {{"USDT", "{\"wallet\":\"2\"}", 250, 0, NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, wallet_old, 1) == 0); /* 250 < 300 now */

    /* a bad "ft" is refused whole */
    struct rec badft[] = {{"USDT", "{\"wallet\":\"9\",\"ft\":{\"wallet\":\"soon\"}}", 400, 0,
                           NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, badft, 1) == -1);
    CHECK(check_member("pf", "USDT", "wallet", "11"));

    /* deletion: decided by the record's newest time (300); a tombstone then needs newer
     * members to bring the field back, and a new record is stored as sent */
    struct rec del_old[] = {{"USDT", NULL, 299, 0, NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, del_old, 1) == 0);
    char *kept = hget("pf", "USDT");
    CHECK(kept != NULL);
    free(kept);
    struct rec del[] = {{"USDT", NULL, 301, 0, NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, del, 1) == 1);
    CHECK(hget("pf", "USDT") == NULL);
    CHECK(check_published("{\"t\":301,\"bal\":{\"USDT\":null}}"));
    struct rec late[] = {{"USDT", "{\"wallet\":\"7\",\"available\":\"7\","
                                  "\"ft\":{\"available\":301}}", 200, 0, NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, late, 1) == 0);
    CHECK(hget("pf", "USDT") == NULL);
    struct rec partly[] = {{"USDT", "{\"wallet\":\"7\",\"available\":\"7\","
                                    "\"ft\":{\"available\":302}}", 200, 0, NULL}};
    CHECK(merge("pf", "bal", RECON_MERGE, partly, 1) == 1);
    CHECK(check_hget("pf", "USDT", "{\"available\":\"7\"}"));
    CHECK(check_hget("pf:ts", "USDT", "302:0"));
    free(published());
    /* raw member texts survive: a 64-bit id and nested values are not re-encoded */
    struct rec big[] = {{"o1", "{\"orderId\":12345678901234567890,\"x\":{\"a\":[1,\"}\"]}}", 5, 0,
                         NULL}};
    CHECK(merge("pf2", "orders", RECON_MERGE, big, 1) == 1);
    CHECK(check_hget("pf2", "o1", "{\"orderId\":12345678901234567890,\"x\":{\"a\":[1,\"}\"]}}"));
    struct rec big2[] = {{"o1", "{\"s\":\"FILLED\"}", 6, 0, NULL}};
    CHECK(merge("pf2", "orders", RECON_MERGE, big2, 1) == 1);
    CHECK(check_hget("pf2", "o1", "{\"orderId\":12345678901234567890,\"x\":{\"a\":[1,\"}\"]},"
                                  "\"s\":\"FILLED\",\"ft\":{\"orderId\":\"5:0\",\"x\":\"5:0\"}}"));
    free(published());
}

static void test_merge_delete(void)
{
    struct rec add[] = {{"ord-1", "{\"s\":\"NEW\"}", 10, 0, NULL},
                        {"we\"ird\\id", "{\"s\":\"NEW\"}", 10, 0, NULL}};
    CHECK(merge("ord", "orders", RECON_REPLACE, add, 2) == 2);
    free(published());
    /* REST reconcile: the order is gone, with a newer time */
    struct rec del[] = {{"ord-1", NULL, 11, 0, NULL}, {"we\"ird\\id", "", 11, 0, NULL}};
    CHECK(merge("ord", "orders", RECON_REPLACE, del, 2) == 2);
    CHECK(check_published("{\"t\":11,\"orders\":{\"ord-1\":null,\"we\\\"ird\\\\id\":null}}"));
    redisReply *r = redisCommand(cmd, "HLEN ord");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
    freeReplyObject(r);
    /* a late, older event does not bring it back (the tombstone's time decides) */
    struct rec late[] = {{"ord-1", "{\"s\":\"PARTIALLY_FILLED\"}", 10, 7, NULL}};
    CHECK(merge("ord", "orders", RECON_REPLACE, late, 1) == 0);
    CHECK(hget("ord", "ord-1") == NULL);
    /* deleting what is not there changes nothing and publishes nothing */
    struct rec again[] = {{"ord-1", NULL, 12, 0, NULL}, {"never", NULL, 12, 0, NULL}};
    CHECK(merge("ord", "orders", RECON_REPLACE, again, 2) == 0);
    CHECK(check_published(""));
    /* a newer create after the deletion is accepted */
    struct rec re[] = {{"ord-1", "{\"s\":\"NEW\"}", 13, 0, NULL}};
    CHECK(merge("ord", "orders", RECON_REPLACE, re, 1) == 1);
    CHECK(check_hget("ord", "ord-1", "{\"s\":\"NEW\"}"));
    free(published());
}

/* A batch of 300 records (over the library's BIG_HASH, so its ts hash is moved to hashtable
 * encoding), then the same fields again half newer, half older: each winner is written, its
 * ts entry is the winner's, nothing foreign is left in either hash, and the message lists
 * exactly the winners. */
static void test_merge_big(void)
{
    enum { N = 300 };
    static struct rec recs[N];
    static char fields[N][16], json[N][32], pubs[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(fields[i], sizeof fields[i], "S%03d", i);
        snprintf(json[i], sizeof json[i], "{\"v\":%d}", i);
        recs[i] = (struct rec){fields[i], json[i], 1000 + i, 0, NULL};
    }
    CHECK(merge("big", "ticks", RECON_REPLACE, recs, N) == N);
    free(published());
    for (int i = 0; i < N; i++) {
        snprintf(json[i], sizeof json[i], "{\"v\":%d}", -i);
        snprintf(pubs[i], sizeof pubs[i], "[%d]", -i);
        recs[i] = (struct rec){fields[i], json[i], i % 2 ? 2000 : 999, 0, pubs[i]};
    }
    CHECK(merge("big", "ticks", RECON_REPLACE, recs, N) == N / 2);
    char *msg = published();
    CHECK(msg && strncmp(msg, "{\"t\":2000,\"ticks\":{\"S001\":[-1],\"S003\":[-3],", 42) == 0);
    CHECK(msg && strstr(msg, "\"S000\"") == NULL && strstr(msg, "\"S299\":[-299]}}"));
    free(msg);
    CHECK(check_hget("big", "S000", "{\"v\":0}"));
    CHECK(check_hget("big", "S001", "{\"v\":-1}"));
    CHECK(check_hget("big:ts", "S000", "1000:0"));
    CHECK(check_hget("big:ts", "S299", "2000:0"));
    redisReply *r = redisCommand(cmd, "HLEN big:ts");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == N);
    freeReplyObject(r);
    r = redisCommand(cmd, "OBJECT ENCODING big:ts");
    CHECK(r && r->type == REDIS_REPLY_STRING && strcmp(r->str, "hashtable") == 0);
    freeReplyObject(r);
}

static long long hlen(const char *key)
{
    redisReply *r = redisCommand(cmd, "HLEN %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

/* Tombstones: 450 orders created and finished (deleted) at t 2000, five finished at t 9000,
 * one still open from t 1000. Pruning before 5000 walks the ts hash in several steps (it is
 * over RECON_PRUNE_STEP, in hashtable encoding) and removes exactly the 450 old tombstones:
 * the open order's entry (older, but its field is live), the newer tombstones and an
 * unreadable entry stay. A second prune finds nothing. */
static void test_prune(void)
{
    enum { N = 450, M = 5 };
    static struct rec recs[N + M];
    static char fields[N + M][16];
    for (int i = 0; i < N + M; i++) {
        snprintf(fields[i], sizeof fields[i], "o%03d", i);
        recs[i] = (struct rec){fields[i], "{\"s\":\"NEW\"}", 1000, 0, NULL};
    }
    struct rec open[] = {{"open", "{\"s\":\"NEW\"}", 1000, 0, NULL}};
    CHECK(merge("pr", "orders", RECON_MERGE, recs, N + M) == N + M);
    CHECK(merge("pr", "orders", RECON_MERGE, open, 1) == 1);
    for (int i = 0; i < N + M; i++) recs[i] = (struct rec){fields[i], NULL, i < N ? 2000 : 9000,
                                                           0, NULL};
    CHECK(merge("pr", "orders", RECON_MERGE, recs, N + M) == N + M);
    free(published());
    freeReplyObject(redisCommand(cmd, "HSET pr:ts junk x"));
    CHECK(hlen("pr") == 1 && hlen("pr:ts") == N + M + 2);

    struct result r = {0};
    CHECK(recon_prune(rc, "pr", "pr:ts", 5000, on_int, &r) == 0);
    CHECK(th_loop_until(loop, &r.done, 1, 5000));
    CHECK(r.done == 1 && r.value == N && r.err[0] == '\0');
    CHECK(hlen("pr:ts") == M + 2);
    CHECK(check_hget("pr:ts", "open", "1000:0"));
    CHECK(check_hget("pr:ts", "o450", "9000:0"));
    CHECK(hget("pr:ts", "o000") == NULL);
    CHECK(check_hget("pr", "open", "{\"s\":\"NEW\"}"));

    r = (struct result){0};
    CHECK(recon_prune(rc, "pr", "pr:ts", 5000, on_int, &r) == 0);
    CHECK(th_loop_until(loop, &r.done, 1, 3000) && r.value == 0);
    /* a bad before is refused by the library, reported once through the callback */
    redisReply *e = redisCommand(cmd, "FCALL bfq_prune 2 pr pr:ts -5 0 10");
    CHECK(e && e->type == REDIS_REPLY_ERROR);
    freeReplyObject(e);
    CHECK(recon_prune(rc, "pr", NULL, 5000, on_int, &r) == -1);
}

/* Leading zeros are normalised; one field several times in one batch ends with the freshest
 * and is published once, at its first position, with its last value. */
static void test_merge_same_batch(void)
{
    redisReply *r = redisCommand(cmd, "FCALL bfq_merge 2 sb sb:ts ch ticks replace "
                                      "A {\"v\":1} 0070 000 %s B {\"v\":2} 5 0 %s "
                                      "A {\"v\":3} 70 1 %s A {\"v\":4} 70 0 %s",
                                 "", "", "[3]", "");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 2); /* A counts once */
    freeReplyObject(r);
    CHECK(check_hget("sb:ts", "A", "70:1"));
    CHECK(check_hget("sb", "A", "{\"v\":3}"));
    CHECK(check_published("{\"t\":70,\"ticks\":{\"A\":[3],\"B\":{\"v\":2}}}"));
    /* a create then a delete of a new field in one batch: nothing stored, one tombstone */
    r = redisCommand(cmd, "FCALL bfq_merge 2 sb sb:ts ch ticks replace C {\"v\":1} 8 0 %s "
                          "C %s 9 0 %s", "", "", "");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    freeReplyObject(r);
    CHECK(hget("sb", "C") == NULL);
    CHECK(check_hget("sb:ts", "C", "9:0"));
    CHECK(check_published("{\"t\":9,\"ticks\":{\"C\":null}}"));
    r = redisCommand(cmd, "FCALL bfq_version 0");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer >= 2);
    freeReplyObject(r);
}

/* A field replaced several times in one batch is one changed record, in both modes (the
 * count is what the collectors report as "changed"). */
static void test_count_once(void)
{
    const struct rec rep[] = {
        {"X", "{\"v\":1}", 10, 0, NULL}, {"X", "{\"v\":2}", 11, 0, NULL},
        {"X", "{\"v\":3}", 12, 0, NULL}, {"Y", "{\"v\":1}", 10, 0, NULL},
    };
    CHECK(merge("co", "k", RECON_REPLACE, rep, 4) == 2);
    CHECK(check_hget("co", "X", "{\"v\":3}"));
    CHECK(check_published("{\"t\":12,\"k\":{\"X\":{\"v\":3},\"Y\":{\"v\":1}}}"));
    const struct rec mer[] = {
        {"M", "{\"a\":\"1\"}", 10, 0, NULL}, {"M", "{\"b\":\"2\"}", 11, 0, NULL},
        {"N", "{\"a\":\"1\"}", 10, 0, NULL},
    };
    CHECK(merge("com", "k", RECON_MERGE, mer, 3) == 2);
    CHECK(check_published("{\"t\":11,\"k\":{\"M\":{\"a\":\"1\",\"b\":\"2\"},"
                          "\"N\":{\"a\":\"1\"}}}"));
}

/* ---- bfq_put ------------------------------------------------------------------------ */

/* A record with "last" (a kline window's last bar open time) is refused when the stored one's
 * "last" is greater, even with a newer t: a stale klines answer beside a fresh depth. */
static void test_put_last(void)
{
    const char *f[] = {"bars", "last"};
    const char *v1[] = {"[[120]]", "120"}, *v0[] = {"[[60]]", "60"}, *v2[] = {"[[120,2]]", "120"};
    const char *v3[] = {"[[180]]", "180"}, *bad[] = {"[[1]]", "x1"};
    CHECK(put("kll", "a", 100, 0, 2, f, v1) == 1);
    CHECK(put("kll", "b", 200, 0, 2, f, v0) == 0); /* newer t, older last bar */
    CHECK(check_hget("kll", "bars", "[[120]]"));
    CHECK(put("kll", "c", 200, 0, 2, f, v2) == 1); /* same bar, newer t */
    CHECK(put("kll", "d", 150, 0, 2, f, v3) == 0); /* newer bar, older t: t still rules */
    CHECK(put("kll", "e", 201, 0, 2, f, v3) == 1);
    CHECK(check_hget("kll", "last", "180"));
    CHECK(check_published("a\nc\ne"));
    CHECK(put("kll", "f", 300, 0, 2, f, bad) == -1); /* not an integer: an error */
    CHECK(check_hget("kll", "last", "180"));
}

static void test_put(void)
{
    const char *f2[] = {"bars", "src"}, *v2[] = {"[[1]]", "a"};
    const char *f1[] = {"bars"}, *v1[] = {"[[2]]"};
    CHECK(put("kl", "m1", 100, 0, 2, f2, v2) == 1);
    CHECK(check_published("m1"));
    CHECK(put("kl", "m2", 99, 50, 1, f1, v1) == 0);   /* older */
    CHECK(put("kl", "m3", 100, 0, 1, f1, v1) == 0);   /* equal */
    CHECK(check_published(""));
    CHECK(check_hget("kl", "bars", "[[1]]"));
    CHECK(put("kl", "m4", 100, 1, 1, f1, v1) == 1);   /* same t, higher uid */
    CHECK(check_published("m4"));
    CHECK(check_hget("kl", "bars", "[[2]]"));
    CHECK(hget("kl", "src") == NULL);                 /* the whole record was replaced */
    CHECK(check_hget("kl", "t", "100"));
    CHECK(check_hget("kl", "uid", "1"));
    /* an unreadable stored stamp (written by hand, say) is written over, not an error forever */
    redisReply *r = redisCommand(cmd, "HSET klbad t 12x uid 0 bars old");
    freeReplyObject(r);
    CHECK(put("klbad", "m5", 5, 0, 1, f1, v1) == 1);
    CHECK(check_published("m5"));
    CHECK(check_hget("klbad", "t", "5"));
    CHECK(check_hget("klbad", "bars", "[[2]]"));
    CHECK(put("klbad", "m6", 4, 0, 1, f2, v2) == 0); /* and the rule holds again */
    CHECK(check_published(""));
}

/* ---- bfq_next and bfq_universe ------------------------------------------------------- */

static void test_next_empty(void)
{
    struct result r = next(rc, "nolist");
    CHECK(r.done == 1 && r.sym[0] == 0 && r.err[0] == 0);
}

static int index_of(const char *const *syms, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(syms[i], s) == 0) return i;
    return -1;
}

static void test_universe(void)
{
    const char *a[] = {"A", "B", "C", "D", "E", "F", "G", "H", "I", "J"};
    struct result r = universe(a, 10);
    CHECK(r.done == 1 && r.version == 1 && r.changed == 1);
    CHECK(check_published("{\"version\":1,\"added\":[\"A\",\"B\",\"C\",\"D\",\"E\",\"F\",\"G\","
                          "\"H\",\"I\",\"J\"],\"removed\":[],\"moved\":{}}"));
    r = universe(a, 10); /* same set, other order of arguments would not matter either */
    CHECK(r.version == 1 && r.changed == 0);
    CHECK(check_published(""));
    /* C leaves, K arrives: J fills C's slot, K is appended, nobody else moves */
    const char *b[] = {"K", "A", "B", "D", "E", "F", "G", "H", "I", "J"};
    r = universe(b, 10);
    CHECK(r.version == 2 && r.changed == 1);
    CHECK(check_published("{\"version\":2,\"added\":[\"K\"],\"removed\":[\"C\"],"
                          "\"moved\":{\"J\":2}}"));
    redisReply *l = redisCommand(cmd, "LRANGE uni 0 -1");
    const char *want[] = {"A", "B", "J", "D", "E", "F", "G", "H", "I", "K"};
    CHECK(l && l->elements == 10);
    for (size_t i = 0; l && i < l->elements && i < 10; i++) CHECK_EQ_STR(l->element[i]->str, want[i]);
    freeReplyObject(l);
}

/* Two instances share the cursor: 40 calls over 20 symbols visit each exactly twice; then the
 * universe shrinks to 5 while both keep calling: every answer is within the list as it was at
 * that moment, and after the shrink every remaining symbol is still visited. */
static void test_next_shrinking(void)
{
    const char *big[20];
    char names[20][16];
    for (int i = 0; i < 20; i++) {
        snprintf(names[i], sizeof names[i], "S%02d", i);
        big[i] = names[i];
    }
    freeReplyObject(redisCommand(cmd, "DEL uni uni:v cur"));
    CHECK(universe(big, 20).version == 1);
    free(published());
    int up = 0;
    struct rconn_options o = {.url = NULL, .name = "inst2", .lua_library = bfq_lua_library};
    char url[128], err[RCONN_ERR_MAX];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    o.url = url;
    struct rconn_callbacks cb = {.up = on_up, .privdata = &up};
    struct rconn *rc2 = rconn_new(loop, &o, &cb, err, sizeof err);
    CHECK(rc2 && th_loop_until(loop, &up, 1, 3000));

    enum { N = 40 };
    struct result res[2 * N];
    memset(res, 0, sizeof res);
    int seen[20] = {0};
    for (int i = 0; i < N; i++) {
        CHECK(recon_next(i % 2 ? rc2 : rc, "cur", "uni", on_next, &res[i]) == 0);
    }
    int done = 0;
    for (int i = 0; i < N; i++) {
        th_loop_until(loop, &res[i].done, 1, 3000);
        done += res[i].done;
        int k = index_of(big, 20, res[i].sym);
        CHECK(k >= 0 && k == res[i].index);
        if (k >= 0) seen[k]++;
    }
    CHECK(done == N);
    for (int i = 0; i < 20; i++) CHECK(seen[i] == 2);

    /* shrink to S00..S04 while both instances have calls in flight */
    const char *small[] = {"S00", "S01", "S02", "S03", "S04"};
    memset(res, 0, sizeof res);
    for (int i = 0; i < N; i++) CHECK(recon_next(i % 2 ? rc2 : rc, "cur", "uni", on_next, &res[i]) == 0);
    struct result ur = {0};
    CHECK(recon_universe(rc, "uni", "uni:v", "ch", small, 5, on_universe, &ur) == 0);
    for (int i = N; i < 2 * N; i++)
        CHECK(recon_next(i % 2 ? rc2 : rc, "cur", "uni", on_next, &res[i]) == 0);
    CHECK(th_loop_until(loop, &ur.done, 1, 3000) && ur.version == 2);
    int small_seen[5] = {0};
    for (int i = 0; i < 2 * N; i++) {
        CHECK(th_loop_until(loop, &res[i].done, 1, 3000));
        CHECK(res[i].sym[0] != 0 && res[i].index >= 0 && res[i].index < 20);
        int k = index_of(big, 20, res[i].sym);
        CHECK(k >= 0);
        CHECK(k == res[i].index); /* S00..S04 keep their slots; others only in the old list */
    }
    /* sequential calls after the shrink: always inside the new list, all five visited */
    for (int i = 0; i < 10; i++) {
        struct result r = next(i % 2 ? rc2 : rc, "uni");
        int k = index_of(small, 5, r.sym);
        CHECK(k >= 0 && k == r.index);
        if (k >= 0) small_seen[k]++;
    }
    for (int i = 0; i < 5; i++) CHECK(small_seen[i] == 2);
    free(published());
    rconn_free(rc2);
}

/* The cursor folds back before it grows without bound, and keeps walking evenly. */
static void test_next_wrap(void)
{
    freeReplyObject(redisCommand(cmd, "SET cur 999999999998"));
    int seen[5] = {0};
    const char *small[] = {"S00", "S01", "S02", "S03", "S04"};
    for (int i = 0; i < 10; i++) {
        struct result r = next(rc, "uni");
        int k = index_of(small, 5, r.sym);
        CHECK(k >= 0);
        if (k >= 0) seen[k]++;
    }
    for (int i = 0; i < 5; i++) CHECK(seen[i] == 2);
    redisReply *r = redisCommand(cmd, "GET cur");
    CHECK(r && r->type == REDIS_REPLY_STRING && strtoll(r->str, NULL, 10) < 1000000);
    freeReplyObject(r);
}

/* ---- weight ------------------------------------------------------------------------- */

static redisReply *fcall(const char *fmt, const char *a, const char *b)
{
    return redisCommand(cmd, fmt, a, b);
}

static void test_weight(void)
{
    redisReply *r = fcall("FCALL bfq_weight_take 2 %s %s 10 25 120500", "w:m", "w:stop");
    CHECK(r && r->elements == 3 && r->element[0]->integer == 1 && r->element[1]->integer == 10);
    freeReplyObject(r);
    r = fcall("FCALL bfq_weight_take 2 %s %s 10 25 120500", "w:m", "w:stop");
    CHECK(r && r->elements == 3 && r->element[0]->integer == 1 && r->element[1]->integer == 20);
    freeReplyObject(r);
    r = fcall("FCALL bfq_weight_take 2 %s %s 10 25 120500", "w:m", "w:stop");
    CHECK(r && r->elements == 3 && r->element[0]->integer == 0 && r->element[1]->integer == 20 &&
          r->element[2]->integer == 59500);
    freeReplyObject(r);
    r = redisCommand(cmd, "PTTL w:m");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer > 100000 && r->integer <= 120000);
    freeReplyObject(r);
    r = redisCommand(cmd, "FCALL bfq_weight_seen 1 w:m 24");
    CHECK(r && r->integer == 24);
    freeReplyObject(r);
    r = redisCommand(cmd, "FCALL bfq_weight_seen 1 w:m 3");
    CHECK(r && r->integer == 24);
    freeReplyObject(r);
    r = redisCommand(cmd, "FCALL bfq_weight_stop 1 w:stop 5000");
    CHECK(r && r->integer == 5000);
    freeReplyObject(r);
    r = redisCommand(cmd, "FCALL bfq_weight_stop 1 w:stop 1000"); /* never shortens */
    CHECK(r && r->integer > 4000);
    freeReplyObject(r);
    r = fcall("FCALL bfq_weight_take 2 %s %s 1 25 120500", "w:m", "w:stop");
    CHECK(r && r->elements == 3 && r->element[0]->integer == 0 && r->element[2]->integer > 4000);
    freeReplyObject(r);
}

/* Bad arguments are refused by the C side (nothing sent) and by the Lua side. */
static void test_bad_args(void)
{
    struct recon_batch *b = recon_batch_new("x", "x:ts", NULL, "ticks", RECON_REPLACE);
    CHECK(recon_batch_add(b, "A", "{}", -1, 0, NULL) < 0);
    CHECK(recon_batch_send(rc, b, on_int, NULL) < 0); /* empty */
    redisReply *r = redisCommand(cmd, "FCALL bfq_merge 2 x x:ts ch ticks replace A {} 12a 0 %s", "");
    CHECK(r && r->type == REDIS_REPLY_ERROR);
    freeReplyObject(r);
    r = redisCommand(cmd, "FCALL bfq_merge 2 x x:ts ch ticks bogus A {} 1 0 %s", "");
    CHECK(r && r->type == REDIS_REPLY_ERROR);
    freeReplyObject(r);
    r = redisCommand(cmd, "FCALL bfq_merge 2 x x:ts ch ticks replace A {} 1");
    CHECK(r && r->type == REDIS_REPLY_ERROR);
    freeReplyObject(r);
    r = redisCommand(cmd, "EXISTS x");
    CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer == 0);
    freeReplyObject(r);
}

int main(void)
{
    log_init("test", LOG_LEVEL_WARN);
    loop = ev_default_loop(0);
    struct th_redis r;
    if (th_redis_start(&r, 0) != 0) {
        CHECK(!"redis started");
        return th_done();
    }
    int up = 0;
    struct rconn_options o = {.url = r.url, .name = "test", .lua_library = bfq_lua_library};
    struct rconn_callbacks cb = {.up = on_up, .privdata = &up};
    char err[RCONN_ERR_MAX];
    rc = rconn_new(loop, &o, &cb, err, sizeof err);
    CHECK(rc && th_loop_until(loop, &up, 1, 3000));
    port = r.port;
    cmd = redisConnect("127.0.0.1", r.port);
    sub = redisConnect("127.0.0.1", r.port);
    CHECK(cmd && !cmd->err && sub && !sub->err);
    redisReply *s = redisCommand(sub, "SUBSCRIBE ch");
    CHECK(s && s->type == REDIS_REPLY_ARRAY);
    freeReplyObject(s);

    test_merge_order();
    test_merge_mode();
    test_merge_fields();
    test_merge_delete();
    test_merge_big();
    test_prune();
    test_merge_same_batch();
    test_count_once();
    test_put();
    test_put_last();
    test_next_empty();
    test_universe();
    test_next_shrinking();
    test_next_wrap();
    test_weight();
    test_bad_args();

    redisFree(sub);
    redisFree(cmd);
    rconn_free(rc);
    th_redis_stop(&r);
    return th_done();
}
