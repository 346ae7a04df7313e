/* test_collect_bars: the kline window checks and the last-bar correction (collectors/bars.c),
 * on hand-made windows: every way a window can be malformed is refused, and the correction
 * follows the original (high/low widened by the book, close to ask when rising, else bid). No
 * process is started. */
#include <jansson.h>
#include <string.h>

#include "collectors/bars.h"
#include "tests/harness/harness.h"

static const char *good =
    "[[1000020000,\"10.0\",\"10.5\",\"9.8\",\"10.2\",\"5\",1000079999,\"50\",3,\"1\",\"10\",\"0\"],"
    " [1000080000,\"10.2\",\"10.4\",\"10.1\",\"10.1\",\"6\",1000139999,\"60\",4,\"2\",\"20\",\"0\"]]";

static int check(const char *text)
{
    char err[BARS_ERR_MAX];
    json_t *w = json_loads(text, 0, NULL);
    int rc = bars_validate(w, 60000, 45, err, sizeof(err));
    json_decref(w);
    return rc;
}

static void test_validate(void)
{
    int64_t ms = 0;
    CHECK(interval_ms("1m", &ms) == 0 && ms == 60000);
    CHECK(interval_ms("4h", &ms) == 0 && ms == 14400000);
    CHECK(interval_ms("7m", &ms) == -1);
    CHECK(check(good) == 0);
    CHECK(check("[]") == -1);
    CHECK(check("{}") == -1);
    /* 11 elements */
    CHECK(check("[[1000020000,\"10.0\",\"10.5\",\"9.8\",\"10.2\",\"5\",1000079999,\"50\",3,\"1\",\"10\"]]") == -1);
    /* a decimal as a number */
    CHECK(check("[[1000020000,10.0,\"10.5\",\"9.8\",\"10.2\",\"5\",1000079999,\"50\",3,\"1\",\"10\",\"0\"]]") == -1);
    /* a time as a string */
    CHECK(check("[[\"1000020000\",\"10.0\",\"10.5\",\"9.8\",\"10.2\",\"5\",1000079999,\"50\",3,\"1\",\"10\",\"0\"]]") == -1);
    /* high below close */
    CHECK(check("[[1000020000,\"10.0\",\"10.1\",\"9.8\",\"10.2\",\"5\",1000079999,\"50\",3,\"1\",\"10\",\"0\"]]") == -1);
    /* wrong close time */
    CHECK(check("[[1000020000,\"10.0\",\"10.5\",\"9.8\",\"10.2\",\"5\",1000080000,\"50\",3,\"1\",\"10\",\"0\"]]") == -1);
    /* a gap between bars (an exchange halt): taken, the missing bar counted */
    const char *gap =
        "[[1000020000,\"10.0\",\"10.5\",\"9.8\",\"10.2\",\"5\",1000079999,\"50\",3,\"1\",\"10\",\"0\"],"
        " [1000140000,\"10.2\",\"10.4\",\"10.1\",\"10.1\",\"6\",1000199999,\"60\",4,\"2\",\"20\",\"0\"],"
        " [1000380000,\"10.2\",\"10.4\",\"10.1\",\"10.1\",\"6\",1000439999,\"60\",4,\"2\",\"20\",\"0\"]]";
    CHECK(check(gap) == 0);
    json_t *gw = json_loads(gap, 0, NULL), *gw0 = json_loads(good, 0, NULL);
    CHECK(bars_gaps(gw, 60000) == 4); /* 1 + 3 missing */
    CHECK(bars_gaps(gw0, 60000) == 0);
    CHECK(bars_last_open(gw) == 1000380000);
    json_decref(gw);
    json_decref(gw0);
    /* a bar off the interval's grid */
    CHECK(check("[[1000020000,\"10.0\",\"10.5\",\"9.8\",\"10.2\",\"5\",1000079999,\"50\",3,\"1\",\"10\",\"0\"],"
                " [1000110000,\"10.2\",\"10.4\",\"10.1\",\"10.1\",\"6\",1000169999,\"60\",4,\"2\",\"20\",\"0\"]]") == -1);
    /* a window shifted off the UTC minute grid, its spacing right */
    CHECK(check("[[1000050000,\"10.0\",\"10.5\",\"9.8\",\"10.2\",\"5\",1000109999,\"50\",3,\"1\",\"10\",\"0\"]]") == -1);
    /* open times going back */
    CHECK(check("[[1000080000,\"10.0\",\"10.5\",\"9.8\",\"10.2\",\"5\",1000139999,\"50\",3,\"1\",\"10\",\"0\"],"
                " [1000020000,\"10.2\",\"10.4\",\"10.1\",\"10.1\",\"6\",1000079999,\"60\",4,\"2\",\"20\",\"0\"]]") == -1);
    /* junk decimal */
    CHECK(check("[[1000020000,\"10.0\",\"10.5\",\"9.8\",\"1e1\",\"5\",1000079999,\"50\",3,\"1\",\"10\",\"0\"]]") == -1);
    /* more bars than the limit */
    char err[BARS_ERR_MAX];
    json_t *w = json_loads(good, 0, NULL);
    CHECK(bars_validate(w, 60000, 1, err, sizeof(err)) == -1);
    json_decref(w);
}

static const char *last(json_t *w, size_t i)
{
    return json_string_value(json_array_get(json_array_get(w, json_array_size(w) - 1), i));
}

static void test_correct(void)
{
    json_t *w = json_loads(good, 0, NULL);
    char err[BARS_ERR_MAX];
    struct bars_book b;
    /* falling bar (close 10.1 < open 10.2): close -> bid; ask above high widens it */
    json_t *d = json_loads("{\"E\":1000100000,\"T\":1000099990,\"bids\":[[\"10.05\",\"3\"]],"
                           "\"asks\":[[\"10.45\",\"1\"]]}", 0, NULL);
    /* t is the book's own time T, not E (when the API node answered) */
    CHECK(bars_book_from_depth(d, &b, err, sizeof(err)) == 0 && b.t == 1000099990);
    json_t *c = bars_correct(w, &b);
    CHECK_EQ_STR(last(c, 2), "10.45");
    CHECK_EQ_STR(last(c, 3), "10.05");
    CHECK_EQ_STR(last(c, 4), "10.05");
    CHECK(bars_validate(c, 60000, 45, err, sizeof(err)) == 0);
    /* the input is untouched */
    CHECK_EQ_STR(last(w, 4), "10.1");
    json_decref(c);
    json_decref(d);
    /* rising bar from a book ticker: close -> ask, high/low kept when inside */
    json_t *w2 = json_loads("[[1000020000,\"10.0\",\"10.5\",\"9.8\",\"10.2\",\"5\",1000079999,\"50\",3,\"1\",\"10\",\"0\"]]", 0, NULL);
    json_t *tk = json_loads("{\"symbol\":\"X\",\"bidPrice\":\"10.2\",\"bidQty\":\"1\",\"askPrice\":\"10.3\","
                            "\"askQty\":\"1\",\"time\":1000050000}", 0, NULL);
    CHECK(bars_book_from_ticker(tk, &b, err, sizeof(err)) == 0 && b.t == 1000050000);
    c = bars_correct(w2, &b);
    CHECK_EQ_STR(last(c, 2), "10.5");
    CHECK_EQ_STR(last(c, 3), "9.8");
    CHECK_EQ_STR(last(c, 4), "10.3");
    json_t *tail = bars_tail(c, 2);
    CHECK(json_array_size(tail) == 1);
    json_decref(tail);
    json_decref(c);
    json_decref(tk);
    json_decref(w2);
    /* bad books */
    d = json_loads("{\"E\":1,\"bids\":[],\"asks\":[[\"1\",\"1\"]]}", 0, NULL);
    CHECK(bars_book_from_depth(d, &b, err, sizeof(err)) == -1);
    json_decref(d);
    d = json_loads("{\"E\":1,\"bids\":[[\"2\",\"1\"]],\"asks\":[[\"1\",\"1\"]]}", 0, NULL);
    CHECK(bars_book_from_depth(d, &b, err, sizeof(err)) == -1); /* crossed */
    json_decref(d);
    d = json_loads("{\"bids\":[[\"1\",\"1\"]],\"asks\":[[\"2\",\"1\"]]}", 0, NULL);
    CHECK(bars_book_from_depth(d, &b, err, sizeof(err)) == -1); /* no time */
    json_decref(d);
    json_decref(w);
}

int main(void)
{
    test_validate();
    test_correct();
    return th_done();
}
