/* fuzz_userstream: every user-data stream event, as `bfq userstream` reads a WebSocket message:
 * jv_parse, a combined-stream wrapper {"stream","data"} unwrapped, then by "e":
 * ACCOUNT_UPDATE through acctrec_parse_account_update and the account sink, ORDER_TRADE_UPDATE
 * and ALGO_UPDATE through orders_apply_order_event / orders_apply_algo_event, TRADE_LITE
 * through orders_publish_lite; the records go to a real redis-server through the reconciler
 * (bfq_merge), as in production.
 *
 * Promises checked: an accepted ACCOUNT_UPDATE batch holds what acctrec promises
 * (fz_check_acct_batch); a refused event says why; every record the C side built from an
 * accepted event is accepted by the reconciler too (no Redis error reply: a record the
 * collector built that Redis refuses would be lost). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "collectors/acctrec.h"
#include "collectors/orders.h"
#include "core/rconn.h"
#include "core/role.h"
#include "fuzz/fuzz.h"

static struct role role;
static struct orders *orders;
static struct acctrec_sink *sink;
static int64_t uid;

static void setup(void)
{
    role.rc = fz_redis(&role.loop);
    snprintf(role.prefix, sizeof role.prefix, "fz:");
    snprintf(role.account, sizeof role.account, "main");
    orders = orders_new(&role, "stream");
    sink = acctrec_sink_new(&role, "stream");
    FZ_CHECK(orders != NULL && sink != NULL);
}

static void account_update(const json_t *ev)
{
    struct acctrec_batch b;
    char err[256] = "";
    acctrec_batch_init(&b);
    if (acctrec_parse_account_update(ev, &b, err, sizeof err) == 0) {
        fz_check_acct_batch(&b);
        int64_t errors = acctrec_sink_stats(sink).errors;
        b.uid = ++uid;
        FZ_CHECK(acctrec_sink_send(sink, &b, 0) >= 0);
        fz_redis_sync(role.loop, role.rc);
        if (acctrec_sink_stats(sink).errors != errors)
            fz_fail("Redis refused an account record the collector built");
    } else {
        FZ_CHECK(err[0] != '\0');
    }
    acctrec_batch_free(&b);
}

static void dispatch(const json_t *ev, const uint8_t *raw, size_t len)
{
    const char *type = json_string_value(json_object_get(ev, "e"));
    char err[256] = "";
    int rc = 0;
    if (!type) return;
    if (!strcmp(type, "ACCOUNT_UPDATE")) {
        account_update(ev);
        return;
    }
    int64_t errors = rconn_stats(role.rc).errors;
    if (!strcmp(type, "ORDER_TRADE_UPDATE"))
        rc = orders_apply_order_event(orders, ev, ++uid, err, sizeof err);
    else if (!strcmp(type, "ALGO_UPDATE"))
        rc = orders_apply_algo_event(orders, ev, ++uid, err, sizeof err);
    else if (!strcmp(type, "TRADE_LITE") && raw)
        orders_publish_lite(orders, 1, (const char *)raw, len);
    else
        return;
    FZ_CHECK(rc != 1); /* Redis is up */
    if (rc < 0) FZ_CHECK(err[0] != '\0');
    fz_redis_sync(role.loop, role.rc);
    if (rconn_stats(role.rc).errors != errors)
        fz_fail("Redis refused an order record the collector built");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!orders) setup();
    json_t *root = fz_json(data, size);
    if (!root) return 0;
    if (json_is_object(root)) {
        const json_t *ev = root, *inner = json_object_get(root, "data");
        if (json_is_object(inner) && json_object_get(root, "stream")) ev = inner;
        dispatch(ev, ev == root ? data : NULL, size);
    }
    json_decref(root);
    return 0;
}
