/* test_sim_shape: compares the shape of two JSON documents (keys and JSON types).
 *
 * The simulator's answer must have every key the Binance payload has, with the same JSON type
 * (string, number, bool, object, array, null), recursively; arrays compare their first
 * elements. Integers and reals both count as numbers. Keys only the simulator has are allowed
 * (Binance adds keys over time; clients must ignore unknown keys) and printed for the record. */
#ifndef BFQ_TEST_SIM_SHAPE_H
#define BFQ_TEST_SIM_SHAPE_H

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int shape_kind(const json_t *v)
{
    if (json_is_number(v)) return 'n';
    if (json_is_string(v)) return 's';
    if (json_is_boolean(v)) return 'b';
    if (json_is_object(v)) return 'o';
    if (json_is_array(v)) return 'a';
    return '0';
}

/* Keys Binance sends only for some objects (trailing-stop orders), absent elsewhere. */
static int shape_optional(const char *key)
{
    static const char *const opt[] = {"activatePrice", "priceRate", "AP", "cr", NULL};
    for (int i = 0; opt[i]; i++)
        if (!strcmp(key, opt[i])) return 1;
    return 0;
}

/* Returns the number of mismatches, printing each with its path. */
static int shape_compare(const json_t *want, const json_t *got, const char *path)
{
    char sub[512];
    if (!got) {
        fprintf(stderr, "shape: %s missing\n", path);
        return 1;
    }
    if (shape_kind(want) != shape_kind(got)) {
        if (json_is_null(want)) return 0; /* Binance sends null where a value may come */
        fprintf(stderr, "shape: %s is '%c', Binance has '%c'\n", path, shape_kind(got), shape_kind(want));
        return 1;
    }
    int bad = 0;
    if (json_is_object(want)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)want, k, v) {
            snprintf(sub, sizeof(sub), "%s.%s", path, k);
            if (!json_object_get(got, k) && shape_optional(k)) continue;
            bad += shape_compare(v, json_object_get(got, k), sub);
        }
    } else if (json_is_array(want) && json_array_size(want) && json_array_size(got)) {
        snprintf(sub, sizeof(sub), "%s[0]", path);
        bad += shape_compare(json_array_get(want, 0), json_array_get(got, 0), sub);
    }
    return bad;
}

#endif
