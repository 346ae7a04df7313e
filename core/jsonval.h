/* jsonval: the project's JSON conventions on top of jansson.
 *
 * jansson is the one JSON library of bfq (see docs/json.md): its integers are json_int_t
 * (long long), so 64-bit ids such as 8389765739703625592 round-trip exactly, where cJSON would
 * pass them through a double. Decimals are Binance's strings and stay strings.
 *
 * These helpers read a field of an object with the right type or fail with a reason that names
 * the field; they never convert a string decimal through a double. Every parse of outside input
 * goes through jv_parse, which caps the size and reports truncation and garbage clearly. */
#ifndef BFQ_JSONVAL_H
#define BFQ_JSONVAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decimal.h"

#define JV_MAX_INPUT (32u << 20) /* answers larger than 32 MiB are refused */
#define JV_MAX_DEPTH 64          /* deeper nesting is refused (Binance's answers have 5 levels;
                                  * the reconciler's Lua cjson takes at most 1000) */
#define JV_ERR_MAX 160

/* Parses buf[0..len). Returns a new reference, or NULL with a one-line reason in err (which
 * includes the line and column, and says "truncated" when the input ended early, or "nested
 * deeper than" past JV_MAX_DEPTH). */
json_t *jv_parse(const char *buf, size_t len, char *err, size_t errcap);

/* Field getters: 0 on success, -1 when the key is missing or has another type. err (may be
 * NULL) receives e.g. "field 'orderId' missing" or "field 'price' is not a string". */
int jv_get_str(const json_t *obj, const char *key, const char **out, char *err, size_t errcap);
int jv_get_int64(const json_t *obj, const char *key, int64_t *out, char *err, size_t errcap);
int jv_get_bool(const json_t *obj, const char *key, int *out, char *err, size_t errcap);
/* A decimal string field ("0.01000") parsed exactly; a JSON number is refused. */
int jv_get_dec(const json_t *obj, const char *key, struct dec *out, char *err, size_t errcap);

/* Optional variants: absent key leaves *out unchanged and returns 0; a present key of the
 * wrong type is still an error. */
int jv_opt_str(const json_t *obj, const char *key, const char **out, char *err, size_t errcap);
int jv_opt_int64(const json_t *obj, const char *key, int64_t *out, char *err, size_t errcap);
int jv_opt_dec(const json_t *obj, const char *key, struct dec *out, char *err, size_t errcap);

/* Serializes compactly (no spaces, keys in insertion order). Returns malloc'd text the
 * caller frees, or NULL on allocation failure. */
char *jv_dump(const json_t *v);

/* A JSON string of a decimal ("12.50"), new reference. */
json_t *jv_dec_string(struct dec d);

#endif
