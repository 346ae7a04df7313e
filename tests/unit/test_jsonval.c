/* test_jsonval: core/jsonval on Binance's real payloads.
 *
 * The 64-bit order id 8389765739703625592 (beyond 2^53) must survive parse -> int64 -> dump
 * unchanged; decimals are read only from strings; truncated, garbage, duplicate-key and
 * over-size input are refused with a clear reason; and every fixture file (real recordings and
 * Binance's documentation examples) parses. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonval.h"
#include "tests/harness/harness.h"

#define TRADE_LITE "ws_futures_trade_lite.nautilus.json"

static void test_int64_roundtrip(void)
{
    size_t len;
    char *text = th_read_fixture(TRADE_LITE, &len);
    CHECK(text != NULL);
    if (text == NULL)
        return;
    char err[JV_ERR_MAX];
    json_t *v = jv_parse(text, len, err, sizeof err);
    CHECK(v != NULL);
    int64_t id = 0, t = 0;
    CHECK(jv_get_int64(v, "i", &id, err, sizeof err) == 0);
    CHECK(id == 8389765739703625592LL);
    CHECK(jv_get_int64(v, "t", &t, err, sizeof err) == 0 && t == 4467432841LL);
    /* Through a double the id would come back as ...625600: check we did not. */
    CHECK((int64_t)(double)id != id);
    char *out = jv_dump(v);
    CHECK(out != NULL && strstr(out, "\"i\":8389765739703625592") != NULL);
    /* Dump keeps the fixture's key order, compactly. */
    CHECK(out != NULL && strncmp(out, "{\"e\":\"TRADE_LITE\",\"E\":1727683915920,", 36) == 0);
    /* And the dump parses back to the same id. */
    json_t *back = out ? jv_parse(out, strlen(out), err, sizeof err) : NULL;
    int64_t id2 = 0;
    CHECK(back != NULL && jv_get_int64(back, "i", &id2, err, sizeof err) == 0 && id2 == id);
    /* A freshly built value too, at the int64 extremes. */
    json_t *o = json_object();
    json_object_set_new(o, "max", json_integer(INT64_MAX));
    json_object_set_new(o, "min", json_integer(INT64_MIN));
    json_object_set_new(o, "id", json_integer(id));
    char *s = jv_dump(o);
    CHECK_EQ_STR(s, "{\"max\":9223372036854775807,\"min\":-9223372036854775808,"
                    "\"id\":8389765739703625592}");
    free(s);
    json_decref(o);
    free(out);
    json_decref(back);
    json_decref(v);
    free(text);
}

static void test_decimals_stay_strings(void)
{
    const char *text = "{\"p\":\"2631.90\",\"q\":\"0.037\",\"n\":2631.9,\"i\":7,\"bad\":\"1e5\","
                       "\"long\":\"0.0000000000000000001\",\"b\":true,\"z\":null}";
    char err[JV_ERR_MAX] = "";
    json_t *v = jv_parse(text, strlen(text), err, sizeof err);
    CHECK(v != NULL);
    struct dec d = {0, 0};
    char buf[DEC_STR_MAX];
    CHECK(jv_get_dec(v, "p", &d, err, sizeof err) == 0 && d.units == 263190 && d.scale == 2);
    CHECK(dec_format(d, buf, sizeof buf) > 0);
    CHECK_EQ_STR(buf, "2631.90"); /* trailing zero kept */
    CHECK(jv_get_dec(v, "n", &d, err, sizeof err) == -1);
    CHECK(strstr(err, "'n'") != NULL && strstr(err, "number") != NULL);
    CHECK(jv_get_dec(v, "i", &d, err, sizeof err) == -1);
    CHECK(jv_get_dec(v, "bad", &d, err, sizeof err) == -1 && strstr(err, "'bad'") != NULL);
    CHECK(jv_get_dec(v, "long", &d, err, sizeof err) == -1 && strstr(err, "'long'") != NULL);
    CHECK(jv_get_dec(v, "missing", &d, err, sizeof err) == -1);
    CHECK_EQ_STR(err, "field 'missing' missing");
    /* An id must be an integer: a float or a string is refused. */
    int64_t i = 0;
    CHECK(jv_get_int64(v, "n", &i, err, sizeof err) == -1);
    CHECK_EQ_STR(err, "field 'n' is not an integer");
    CHECK(jv_get_int64(v, "p", &i, err, sizeof err) == -1);
    const char *s = NULL;
    CHECK(jv_get_str(v, "q", &s, err, sizeof err) == 0);
    CHECK_EQ_STR(s, "0.037");
    CHECK(jv_get_str(v, "i", &s, err, sizeof err) == -1);
    CHECK_EQ_STR(err, "field 'i' is not a string");
    CHECK(jv_get_str(v, "z", &s, err, sizeof err) == -1); /* null is not a string */
    int b = 0;
    CHECK(jv_get_bool(v, "b", &b, err, sizeof err) == 0 && b == 1);
    CHECK(jv_get_bool(v, "i", &b, err, sizeof err) == -1);
    /* Optional getters: absent leaves the value, wrong type is still an error. */
    d = dec_from_int(5);
    CHECK(jv_opt_dec(v, "absent", &d, err, sizeof err) == 0 && d.units == 5);
    CHECK(jv_opt_dec(v, "n", &d, err, sizeof err) == -1);
    CHECK(jv_opt_dec(v, "q", &d, err, sizeof err) == 0 && d.units == 37 && d.scale == 3);
    i = 9;
    CHECK(jv_opt_int64(v, "absent", &i, err, sizeof err) == 0 && i == 9);
    CHECK(jv_opt_int64(v, "p", &i, err, sizeof err) == -1);
    s = "keep";
    CHECK(jv_opt_str(v, "absent", &s, NULL, 0) == 0 && strcmp(s, "keep") == 0);
    CHECK(jv_opt_str(v, "i", &s, NULL, 0) == -1); /* err may be NULL */
    /* Getters on a non-object. */
    json_t *arr = json_array();
    CHECK(jv_get_str(arr, "x", &s, err, sizeof err) == -1 && strstr(err, "'x'") != NULL);
    CHECK(jv_opt_str(arr, "x", &s, err, sizeof err) == -1);
    json_decref(arr);
    /* jv_dec_string writes the decimal as a JSON string, digits intact. */
    json_t *js = jv_dec_string(d);
    char *out = jv_dump(js);
    CHECK_EQ_STR(out, "\"0.037\"");
    free(out);
    json_decref(js);
    json_decref(v);
}

static void test_truncated(void)
{
    size_t len;
    char *text = th_read_fixture(TRADE_LITE, &len);
    if (text == NULL) {
        CHECK(text != NULL);
        return;
    }
    const char *last = strrchr(text, '}');
    CHECK(last != NULL);
    size_t end = last ? (size_t)(last - text) : len; /* cutting at or before here truncates */
    size_t cuts[] = {0, 1, 2, 10, 20, 57, end / 2, end - 9, end - 3, end - 1, end};
    int bad = 0;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char err[JV_ERR_MAX] = "";
        json_t *v = jv_parse(text, cuts[i], err, sizeof err);
        if (v != NULL || strstr(err, "truncated") == NULL) {
            if (bad++ < 5)
                fprintf(stderr, "cut at %zu: %s\n", cuts[i], v ? "accepted" : err);
        }
        json_decref(v);
    }
    CHECK(bad == 0);
    /* Every cut of a small document says truncated, not just a handful. */
    const char *doc = "{\"a\":[1,2,{\"b\":\"x\"}],\"c\":-12,\"d\":true,\"e\":null}";
    for (size_t n = 0; n < strlen(doc); n++) {
        char err[JV_ERR_MAX] = "";
        json_t *v = jv_parse(doc, n, err, sizeof err);
        if (v != NULL || strstr(err, "truncated") == NULL) {
            if (bad++ < 10)
                fprintf(stderr, "cut at %zu: %s\n", n, v ? "accepted" : err);
        }
        json_decref(v);
    }
    CHECK(bad == 0);
    free(text);
}

static void test_garbage(void)
{
    static const char *const bad[] = {
        "garbage", "{\"a\":1}x", "{\"a\":1} {\"b\":2}", "{'a':1}", "{\"a\":01}", "[1,]",
        "{\"a\":1,\"a\":2}", /* duplicate key */
        "\"just a string\"", "42", "{\"a\":99999999999999999999}", "{\"a\":NaN}",
        "<html>502 Bad Gateway</html>", NULL,
    };
    for (int i = 0; bad[i]; i++) {
        char err[JV_ERR_MAX] = "";
        json_t *v = jv_parse(bad[i], strlen(bad[i]), err, sizeof err);
        if (v != NULL)
            fprintf(stderr, "accepted garbage: %s\n", bad[i]);
        CHECK(v == NULL && strstr(err, "invalid JSON at line 1") != NULL);
        json_decref(v);
    }
    char err[JV_ERR_MAX] = "";
    CHECK(jv_parse("{\"a\":1,\"a\":2}", 13, err, sizeof err) == NULL &&
          strstr(err, "duplicate") != NULL);
    /* The error names the line and column. */
    const char *multi = "{\n  \"a\": 1,\n  \"b\": ?\n}";
    CHECK(jv_parse(multi, strlen(multi), err, sizeof err) == NULL &&
          strstr(err, "line 3") != NULL);
    /* An embedded NUL ends nothing: the length is what counts. */
    CHECK(jv_parse("{\"a\":1}\0xx", 10, err, sizeof err) == NULL);
    CHECK(jv_parse(NULL, 0, err, sizeof err) == NULL);
    json_t *ok = jv_parse("{}", 2, NULL, 0); /* err may be NULL */
    CHECK(ok != NULL);
    json_decref(ok);
}

static void test_oversize(void)
{
    size_t n = (size_t)JV_MAX_INPUT + 1;
    char *big = malloc(n);
    CHECK(big != NULL);
    if (big == NULL)
        return;
    /* A valid document one byte over the cap: refused before parsing. */
    memset(big, ' ', n);
    big[0] = '[';
    big[n - 1] = ']';
    char err[JV_ERR_MAX] = "";
    CHECK(jv_parse(big, n, err, sizeof err) == NULL && strstr(err, "too large") != NULL);
    /* Exactly at the cap it is accepted. */
    big[n - 2] = ']';
    json_t *v = jv_parse(big, n - 1, err, sizeof err);
    CHECK(v != NULL);
    json_decref(v);
    free(big);
}

/* Parses one file (or each line of a .jsonl file). Returns the number of failures. */
static int parse_file(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    static char buf[4 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    int jsonl = strstr(name, ".jsonl") != NULL, fails = 0;
    size_t start = 0;
    while (start < len) {
        size_t end = len;
        if (jsonl) {
            const char *nl = memchr(buf + start, '\n', len - start);
            end = nl ? (size_t)(nl - buf) : len;
        }
        if (end > start) {
            char err[JV_ERR_MAX];
            json_t *v = jv_parse(buf + start, end - start, err, sizeof err);
            if (v == NULL) {
                fprintf(stderr, "%s: %s\n", path, err);
                fails++;
            }
            json_decref(v);
        }
        start = end + 1;
    }
    return fails;
}

static int parse_dir(const char *dir, int *files)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "cannot open %s\n", dir);
        return 1;
    }
    int fails = 0;
    for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        if (strstr(e->d_name, ".json") == NULL)
            continue;
        fails += parse_file(dir, e->d_name);
        (*files)++;
    }
    closedir(d);
    return fails;
}

/* depth levels of arrays, "[[...]]", parsed. */
static json_t *nested(int depth, char *err)
{
    static char buf[4096];
    int n = 0;
    for (int i = 0; i < depth; i++) buf[n++] = '[';
    for (int i = 0; i < depth; i++) buf[n++] = ']';
    return jv_parse(buf, (size_t)n, err, JV_ERR_MAX);
}

/* Nesting is capped at 64 levels (Binance's answers have at most 5). Found by fuzz_members:
 * jansson alone takes 2048 levels, but the reconciler's Lua cjson refuses a record nested
 * deeper than 1000, so the whole bfq_merge batch holding it would fail. */
static void test_depth(void)
{
    char err[JV_ERR_MAX] = "";
    json_t *v = nested(64, err);
    CHECK(v != NULL);
    json_decref(v);
    CHECK(nested(65, err) == NULL && strstr(err, "nested deeper") != NULL);
    CHECK(nested(1100, err) == NULL && strstr(err, "nested deeper") != NULL);
    /* brackets inside strings (escaped quotes included) are text, not nesting */
    char text[400];
    int n = snprintf(text, sizeof text, "{\"a\":\"\\\"");
    for (int i = 0; i < 300; i++) text[n++] = '[';
    n += snprintf(text + n, sizeof text - (size_t)n, "\"}");
    v = jv_parse(text, (size_t)n, err, sizeof err);
    CHECK(v != NULL && strlen(json_string_value(json_object_get(v, "a"))) == 301);
    json_decref(v);
}

static void test_fixtures(void)
{
    char sub[1024];
    int files = 0;
    CHECK(parse_dir(th_fixtures_dir(), &files) == 0);
    snprintf(sub, sizeof sub, "%s/doc_examples", th_fixtures_dir());
    CHECK(parse_dir(sub, &files) == 0);
    CHECK(files >= 40);
    /* A decimal and an id from a real exchangeInfo come out exact. */
    size_t len;
    char *text = th_read_fixture("exchangeInfo.real.cryptofeed-2021-07-22.json", &len);
    char err[JV_ERR_MAX];
    json_t *v = text ? jv_parse(text, len, err, sizeof err) : NULL;
    CHECK(v != NULL);
    json_t *syms = json_object_get(v, "symbols");
    CHECK(json_array_size(syms) == 122);
    json_t *f0 = json_array_get(json_object_get(json_array_get(syms, 0), "filters"), 0);
    struct dec tick;
    CHECK(jv_get_dec(f0, "tickSize", &tick, err, sizeof err) == 0 && tick.units > 0);
    json_decref(v);
    free(text);
}

int main(void)
{
    test_int64_roundtrip();
    test_decimals_stay_strings();
    test_truncated();
    test_garbage();
    test_oversize();
    test_depth();
    test_fixtures();
    return th_done();
}
