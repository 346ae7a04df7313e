/* fuzz_members: the reconciler's Lua member scanner (members() in reconciler/bfq.lua), fed the
 * way it is in production: a record the C side built, as jansson's compact text (jv_dump),
 * through recon_batch_add and one FCALL bfq_merge in merge mode on a real redis-server.
 *
 * The input is any JSON object. It is merged into an empty field, then again with a newer
 * time into the stored record (the scanner then reads the stored text too). Promises checked:
 * Redis accepts the record (an object jansson accepted must not be refused by Lua, or the
 * collector's record would be lost), and the stored text parses as a JSON object that holds
 * every member of the input with the same value ("t" is the record time; inputs carrying the
 * reserved member "ft", per-member times, may be refused and are not compared). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "core/jsonval.h"
#include "core/rconn.h"
#include "fuzz/fuzz.h"
#include "reconciler/recon.h"

#define STATE "fz:m"
#define TS "fz:m:ts"

static struct ev_loop *loop;
static struct rconn *rc;

static void merge(const char *json, int64_t t)
{
    struct recon_batch *b = recon_batch_new(STATE, TS, "", "m", RECON_MERGE);
    FZ_CHECK(b != NULL);
    if (recon_batch_add(b, "f", json, t, 0, NULL) < 0) { /* over the caps: never sent */
        recon_batch_free(b);
        return;
    }
    FZ_CHECK(recon_batch_send(rc, b, NULL, NULL) == 0);
}

static void on_stored(struct rconn *c, struct redisReply *reply, void *privdata)
{
    (void)c;
    char **out = privdata;
    if (reply && reply->type == REDIS_REPLY_STRING) *out = strndup(reply->str, reply->len);
}

static void compare(const json_t *in, const char *stored)
{
    char err[JV_ERR_MAX];
    json_t *s = jv_parse(stored, strlen(stored), err, sizeof err);
    if (!s || !json_is_object(s))
        fz_fail("stored record is no JSON object (%s): %.200s", err, stored);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)in, k, v) {
        if (!strcmp(k, "t")) continue;
        if (!json_equal(v, json_object_get(s, k)))
            fz_fail("member \"%.60s\" changed: stored %.200s", k, stored);
    }
    json_decref(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rc) rc = fz_redis(&loop);
    json_t *in = fz_json(data, size);
    if (!in || !json_is_object(in)) {
        json_decref(in);
        return 0;
    }
    char *text = jv_dump(in);
    FZ_CHECK(text != NULL);
    int timed = json_object_get(in, "ft") != NULL;
    int64_t errors = rconn_stats(rc).errors;
    FZ_CHECK(rconn_command(rc, NULL, NULL, "DEL %s %s", STATE, TS) == 0);
    merge(text, 1000);
    merge(text, 2000);
    char *stored = NULL;
    FZ_CHECK(rconn_command(rc, on_stored, &stored, "HGET %s f", STATE) == 0);
    fz_redis_sync(loop, rc);
    if (!timed) {
        if (rconn_stats(rc).errors != errors) fz_fail("Redis refused the record %.200s", text);
        if (stored) compare(in, stored);
    }
    free(stored);
    free(text);
    json_decref(in);
    return 0;
}
