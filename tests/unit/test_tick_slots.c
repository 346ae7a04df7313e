/* test_tick_slots: the pure parts of `bfq tick`: slot plans and fire times (collectors/slots.h)
 * and the book-ticker answer to batch step (collectors/tickparse.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/slots.h"
#include "collectors/tickparse.h"
#include "reconciler/recon.h"
#include "tests/harness/harness.h"

static void test_members(void)
{
    char buf[SLOTS_MEMBER_MAX];
    struct slots_member m;
    int n = slots_member_format(buf, sizeof buf, 42, "127.0.0.2", "host-7");
    CHECK(n > 0);
    CHECK_EQ_STR(buf, "42|127.0.0.2|host-7");
    CHECK(slots_member_parse(buf, (size_t)n, &m) == 0);
    CHECK(m.id == 42);
    CHECK_EQ_STR(m.ip, "127.0.0.2");
    CHECK_EQ_STR(m.instance, "host-7");
    CHECK(slots_member_format(buf, sizeof buf, 1, "a|b", "x") < 0);
    CHECK(slots_member_format(buf, sizeof buf, 1, "", "x") < 0);
    CHECK(slots_member_parse("x|1.2.3.4|i", 11, &m) < 0);
    CHECK(slots_member_parse("0|1.2.3.4|i", 11, &m) < 0);
    CHECK(slots_member_parse("5||i", 4, &m) < 0);
    CHECK(slots_member_parse("5|ip", 4, &m) < 0);
}

static void test_rate(void)
{
    CHECK(slots_rate(2400, 5, 1, 8) == 8.0); /* 100% of Binance's limit */
    CHECK(slots_rate(2160, 5, 1, 8) == 7.0); /* the default 90% budget */
    CHECK(slots_rate(2430, 5, 1, 8) == 8.0);
    CHECK(slots_rate(2430, 5, 2, 8) == 4.0); /* two instances share an IP */
    CHECK(slots_rate(2160, 5, 2, 8) == 3.5);
    CHECK(slots_rate(24000, 5, 1, 8) == 8.0); /* the cap */
    CHECK(slots_rate(100, 5, 3, 8) == SLOTS_RATE_MIN);
}

static void test_plan(void)
{
    struct slots_member m[4] = {{5, "127.0.0.2", "a"},
                                {9, "127.0.0.3", "b"},
                                {7, "127.0.0.2", "c"},
                                {12, "127.0.0.4", "d"}};
    struct slots_plan p;
    slots_plan_compute(m, 4, &m[2], 2430, 5, 8, &p);
    CHECK(p.k == 1 && p.n == 4 && p.ip_n == 2 && p.rate == 4.0);
    slots_plan_compute(m, 4, &m[3], 2430, 5, 8, &p);
    CHECK(p.k == 3 && p.n == 4 && p.ip_n == 1 && p.rate == 8.0);
    struct slots_member self = {8, "127.0.0.9", "new"}; /* not yet in the list */
    slots_plan_compute(m, 4, &self, 2430, 5, 8, &p);
    CHECK(p.k == 2 && p.n == 5 && p.ip_n == 1);
    struct slots_member twin = {7, "127.0.0.5", "b2"}; /* same id after a Redis reset */
    slots_plan_compute(m, 4, &twin, 2430, 5, 8, &p);
    CHECK(p.k == 1 && p.n == 5);
}

/* Four instances at 8/s: merged fire times are 31.25 ms apart. */
static void test_fire_spread(void)
{
    double t[4 * 80];
    int n = 0;
    for (int k = 0; k < 4; k++) {
        struct slots_plan p = {.k = k, .n = 4, .ip_n = 1, .rate = 8};
        double now = 1800000000.0123, last = 0;
        for (int j = 0; j < 80; j++) {
            double f = slots_next_fire(&p, now, last, 0.5 / p.rate);
            CHECK(f > now);
            t[n++] = f;
            last = now = f;
        }
    }
    for (int i = 0; i < n; i++) /* insertion sort */
        for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    int bad = 0;
    for (int i = 1; i < n; i++)
        if (fabs((t[i] - t[i - 1]) - 0.03125) > 1e-6) bad++;
    CHECK(bad == 0);
    /* instance 0 of 4 fires on whole seconds (well, 125 ms multiples) */
    struct slots_plan p0 = {.k = 0, .n = 4, .ip_n = 1, .rate = 8};
    double f = slots_next_fire(&p0, 1800000000.01, 0, 0.0625);
    CHECK(fabs(f - 1800000000.125) < 1e-6);
    /* a re-plan never fires twice within half an interval */
    struct slots_plan p3 = {.k = 3, .n = 4, .ip_n = 1, .rate = 8};
    double g = slots_next_fire(&p3, 1800000000.201, 1800000000.2, 0.0625);
    CHECK(fabs(g - 1800000000.34375) < 1e-6); /* .21875 is too close to .2 */
    g = slots_next_fire(&p3, 1800000000.126, 1800000000.125, 0.0625);
    CHECK(fabs(g - 1800000000.21875) < 1e-6);
}

static const char *ANSWER =
    "[{\"symbol\":\"ETHUSDT\",\"bidPrice\":\"2000.10\",\"bidQty\":\"3.5\",\"askPrice\":\"2000.20\","
    "\"askQty\":\"1.25\",\"time\":1700000000100,\"lastUpdateId\":77},"
    "{\"symbol\":\"XYZUSDC\",\"bidPrice\":\"1\",\"bidQty\":\"1\",\"askPrice\":\"1\","
    "\"askQty\":\"1\",\"time\":1700000000100},"
    "{\"symbol\":\"BTCUSDT\",\"bidPrice\":\"40000.0\",\"bidQty\":\"0.5\",\"askPrice\":\"40000.1\","
    "\"askQty\":\"0.25\",\"time\":1700000000200}]";

static int fill(const char *text, struct tick_universe *u, size_t *count,
                struct tickparse_stats *st)
{
    struct recon_batch *b = tickparse_batch_new("bfq:");
    int rc = tickparse_fill_body(text, strlen(text), u, b, st);
    *count = recon_batch_count(b);
    recon_batch_free(b);
    return rc;
}

static void test_parse(void)
{
    struct tick_universe u = {0};
    const char *syms[] = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "BTCUSDT"};
    CHECK(tick_universe_set(&u, syms, 4) == 0);
    CHECK(u.n == 3);
    CHECK(tick_universe_index(&u, "SOLUSDT") >= 0);
    CHECK(tick_universe_index(&u, "XYZUSDC") == -1);

    struct tickparse_stats st;
    size_t count = 0;
    CHECK(fill(ANSWER, &u, &count, &st) == 0);
    CHECK(count == 2 && st.kept == 2 && st.foreign == 1 && st.entries == 3);
    CHECK(st.max_t == 1700000000200);
    /* the same answer again: nothing newer, nothing to send */
    CHECK(fill(ANSWER, &u, &count, &st) == 0);
    CHECK(count == 0 && st.same == 2 && st.kept == 0);
    tick_universe_forget(&u);
    CHECK(fill(ANSWER, &u, &count, &st) == 0 && count == 2);
    /* one bad entry is left out alone and counted; the good one is kept */
    CHECK(fill("[{\"symbol\":\"BTCUSDT\",\"bidPrice\":\"1\",\"bidQty\":\"0.5\",\"askPrice\":\"1\","
               "\"askQty\":\"1\",\"time\":1800000000000},{\"symbol\":\"ETHUSDT\"}]",
               &u, &count, &st) == 0);
    CHECK(count == 1 && st.kept == 1 && st.dropped == 1 && strstr(st.err, "entry 1") != NULL);
    tick_universe_forget(&u);
    /* a symbol twice: the second is the one left out */
    CHECK(fill("[{\"symbol\":\"BTCUSDT\",\"bidPrice\":\"1\",\"bidQty\":\"0.5\",\"askPrice\":\"1\","
               "\"askQty\":\"1\",\"time\":1},{\"symbol\":\"BTCUSDT\",\"bidPrice\":\"1\",\"bidQty\":"
               "\"0.5\",\"askPrice\":\"1\",\"askQty\":\"1\",\"time\":2}]", &u, &count, &st) == 0);
    CHECK(count == 1 && st.dropped == 1 && st.max_t == 1);
    tick_universe_forget(&u);

    /* every refusal writes nothing (a bad shape, or not one usable entry) */
    const char *bad[] = {
        "{\"code\":-1003,\"msg\":\"Too many requests\"}",
        "[{\"symbol\":\"BTCUSDT\",\"bidPrice\":\"40000.0\",\"bidQty\":\"0.5\",\"askPrice\":\"4",
        "[{\"symbol\":\"BTCUSDT\",\"bidPrice\":40000.0,\"bidQty\":\"0.5\",\"askPrice\":\"1\","
        "\"askQty\":\"1\",\"time\":1}]",
        "[{\"symbol\":\"BTCUSDT\",\"bidPrice\":\"-1\",\"bidQty\":\"0.5\",\"askPrice\":\"1\","
        "\"askQty\":\"1\",\"time\":1}]",
        "[{\"symbol\":\"BTCUSDT\",\"bidPrice\":\"1e3\",\"bidQty\":\"0.5\",\"askPrice\":\"1\","
        "\"askQty\":\"1\",\"time\":1}]",
        "[{\"symbol\":\"BTCUSDT\",\"bidPrice\":\"1\",\"bidQty\":\"0.5\",\"askPrice\":\"1\","
        "\"askQty\":\"1\"}]",
        "[{\"symbol\":\"BTCUSDT\",\"bidPrice\":\"1\",\"bidQty\":\"0.5\",\"askPrice\":\"1\","
        "\"askQty\":\"1\",\"time\":1,\"lastUpdateId\":\"x\"}]",
        "[17]",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = fill(bad[i], &u, &count, &st);
        CHECK(rc == -1);
        if (rc != -1) printf("accepted bad answer %zu\n", i);
        CHECK(st.err[0] != '\0');
    }
    /* an empty array and an answer of foreign symbols only are fine and write nothing */
    CHECK(fill("[]", &u, &count, &st) == 0 && count == 0);
    tick_universe_free(&u);
}

/* An entry whose time is past the universe's time_limit is left out and counted with its
 * reason; the other entries are kept, and the symbol stays writable by a later honest entry. */
static void test_future(void)
{
    struct tick_universe u = {0};
    const char *syms[] = {"BTCUSDT", "ETHUSDT"};
    CHECK(tick_universe_set(&u, syms, 2) == 0);
    u.time_limit = 1700000600000; /* "now" 1700000000000 plus ten minutes */
    const char *answer =
        "[{\"symbol\":\"ETHUSDT\",\"bidPrice\":\"2000.10\",\"bidQty\":\"3.5\","
        "\"askPrice\":\"2000.20\",\"askQty\":\"1.25\",\"time\":4102444800000},"
        "{\"symbol\":\"BTCUSDT\",\"bidPrice\":\"40000.0\",\"bidQty\":\"0.5\","
        "\"askPrice\":\"40000.1\",\"askQty\":\"0.25\",\"time\":1700000000200}]";
    struct tickparse_stats st;
    size_t count = 0;
    CHECK(fill(answer, &u, &count, &st) == 0);
    CHECK(count == 1 && st.kept == 1 && st.future == 1);
    CHECK(st.max_t == 1700000000200);
    CHECK(strstr(st.err, "ETHUSDT") && strstr(st.err, "ahead of the exchange clock"));
    CHECK(u.last_t[tick_universe_index(&u, "ETHUSDT")] == 0);
    /* entries within the limit are all kept */
    tick_universe_forget(&u);
    CHECK(fill(ANSWER, &u, &count, &st) == 0 && count == 2 && st.future == 0);
    u.time_limit = 1700000000150; /* now BTCUSDT's 1700000000200 is too far ahead */
    tick_universe_forget(&u);
    CHECK(fill(ANSWER, &u, &count, &st) == 0 && count == 1 && st.future == 1);
    CHECK(strstr(st.err, "BTCUSDT") != NULL);
    /* a malformed entry beside a future one: both left out, counted apart */
    CHECK(fill("[{\"symbol\":\"ETHUSDT\",\"bidPrice\":\"1\",\"bidQty\":\"1\","
               "\"askPrice\":\"1\",\"askQty\":\"1\",\"time\":4102444800000},"
               "{\"symbol\":\"BTCUSDT\"}]", &u, &count, &st) == 0);
    CHECK(count == 0 && st.future == 1 && st.dropped == 1);
    /* no limit set (0): nothing is refused for its time */
    u.time_limit = 0;
    tick_universe_forget(&u);
    CHECK(fill(answer, &u, &count, &st) == 0 && count == 2 && st.future == 0);
    tick_universe_free(&u);
}

/* One bad entry among 200 universe symbols: 199 kept, the bad one counted; an odd entry of
 * a symbol outside the universe is only foreign. */
static void test_one_bad_of_200(void)
{
    struct tick_universe u = {0};
    char names[200][16];
    const char *syms[200];
    for (int i = 0; i < 200; i++) {
        snprintf(names[i], sizeof names[i], "S%03dUSDT", i);
        syms[i] = names[i];
    }
    CHECK(tick_universe_set(&u, syms, 200) == 0);
    json_t *arr = json_array();
    for (int i = 0; i < 200; i++) {
        json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I}", "symbol", names[i], "bidPrice", "1.5",
                              "bidQty", "2", "askPrice", "1.6", "askQty", "3", "time",
                              (json_int_t)1700000000000 + i);
        if (i == 117) json_object_set_new(e, "askQty", json_string("-3"));
        json_array_append_new(arr, e);
    }
    json_array_append_new(arr, json_pack("{s:s,s:i}", "symbol", "ODDUSDC", "bidPrice", 7));
    struct recon_batch *b = tickparse_batch_new("bfq:");
    struct tickparse_stats st;
    CHECK(tickparse_fill(arr, &u, b, &st) == 0);
    CHECK(recon_batch_count(b) == 199 && st.kept == 199 && st.dropped == 1 && st.foreign == 1);
    CHECK(strstr(st.err, "entry 117") != NULL);
    recon_batch_free(b);
    json_decref(arr);
    tick_universe_free(&u);
}

int main(void)
{
    test_members();
    test_rate();
    test_plan();
    test_fire_spread();
    test_parse();
    test_future();
    test_one_bad_of_200();
    return th_done();
}
