/* jsonval: typed, size-capped JSON access on top of jansson (see jsonval.h, docs/json.md).
 *
 * jv_parse is the only door for outside JSON: it refuses input over JV_MAX_INPUT, nesting
 * deeper than JV_MAX_DEPTH, keys that appear twice in one object (JSON_REJECT_DUPLICATES:
 * Binance never sends them, and a duplicate would make "which value wins" a parser detail),
 * anything after the top-level value (the EOF check stays on) and a top-level value that is
 * neither an object nor an array. The getters never coerce: an id must be a JSON integer, a
 * decimal must be a JSON string that dec_parse accepts, and every refusal names the field. */
#include "core/jsonval.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t cap, const char *fmt, ...)
{
    if (err == NULL || cap == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
}

static int is_prefix(const char *tok, size_t n, const char *word)
{
    return n < strlen(word) && strncmp(tok, word, n) == 0;
}

/* jansson says "premature end of input" only between tokens; input cut inside a token ("tru",
 * "12.", "-", "\"\\u12") is an "invalid token" at the very end instead. Those cuts are
 * truncation too: the token (quoted in the message after "near '") could still be completed. */
static int cut_inside_token(const json_error_t *e, size_t len)
{
    if (json_error_code(e) != json_error_invalid_syntax || (size_t)e->position != len)
        return 0;
    const char *tok = strstr(e->text, "near '");
    if (tok == NULL)
        return 0;
    tok += 6;
    const char *q = strrchr(tok, '\'');
    size_t n = q ? (size_t)(q - tok) : strlen(tok);
    if (n == 0)
        return 0;
    if (tok[0] == '"') /* a string cut inside an escape; a whole string is not a cut */
        return strncmp(e->text, "invalid escape", 14) == 0;
    if (is_prefix(tok, n, "true") || is_prefix(tok, n, "false") || is_prefix(tok, n, "null"))
        return 1;
    return strchr("-+.eE", tok[n - 1]) != NULL && strspn(tok, "-+.eE0123456789") >= n;
}

/* The offset where buf[0..len) opens its (JV_MAX_DEPTH + 1)th nested object or array, or -1.
 * jansson's own limit is 2048 levels, set when it is built; brackets inside strings are text. */
static long too_deep(const char *buf, size_t len)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\') i++;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > JV_MAX_DEPTH) return (long)i;
        } else if (c == ']' || c == '}') {
            depth--;
        }
    }
    return -1;
}

json_t *jv_parse(const char *buf, size_t len, char *err, size_t errcap)
{
    if (buf == NULL) {
        set_err(err, errcap, "no input");
        return NULL;
    }
    if (len > JV_MAX_INPUT) {
        set_err(err, errcap, "input too large (%zu bytes, limit %u)", len, JV_MAX_INPUT);
        return NULL;
    }
    long deep = too_deep(buf, len);
    if (deep >= 0) {
        set_err(err, errcap, "JSON nested deeper than %d levels (at byte %ld)", JV_MAX_DEPTH, deep);
        return NULL;
    }
    json_error_t e;
    json_t *v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &e);
    if (v != NULL)
        return v;
    if (json_error_code(&e) == json_error_premature_end_of_input || len == 0 ||
        cut_inside_token(&e, len))
        set_err(err, errcap, "truncated JSON (end of input at line %d column %d): %s", e.line,
                e.column, e.text);
    else
        set_err(err, errcap, "invalid JSON at line %d column %d: %s", e.line, e.column, e.text);
    return NULL;
}

/* The member `key` of obj, or NULL with the reason in err. */
static json_t *field(const json_t *obj, const char *key, char *err, size_t errcap)
{
    if (!json_is_object(obj)) {
        set_err(err, errcap, "field '%s': not inside an object", key);
        return NULL;
    }
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        set_err(err, errcap, "field '%s' missing", key);
    return v;
}

static int want_str(const json_t *v, const char *key, const char **out, char *err,
                    size_t errcap)
{
    if (!json_is_string(v)) {
        set_err(err, errcap, "field '%s' is not a string", key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int want_int64(const json_t *v, const char *key, int64_t *out, char *err, size_t errcap)
{
    if (!json_is_integer(v)) {
        set_err(err, errcap, "field '%s' is not an integer", key);
        return -1;
    }
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int want_dec(const json_t *v, const char *key, struct dec *out, char *err, size_t errcap)
{
    if (json_is_number(v)) {
        set_err(err, errcap, "field '%s' is a JSON number, not a decimal string", key);
        return -1;
    }
    if (!json_is_string(v)) {
        set_err(err, errcap, "field '%s' is not a decimal string", key);
        return -1;
    }
    const char *s = json_string_value(v);
    enum dec_status st = dec_parse(s, json_string_length(v), out);
    if (st != DEC_OK) {
        set_err(err, errcap, "field '%s': '%.40s' is %s", key, s,
                st == DEC_ERANGE ? "too long for an exact decimal" : "not a decimal");
        return -1;
    }
    return 0;
}

int jv_get_str(const json_t *obj, const char *key, const char **out, char *err, size_t errcap)
{
    json_t *v = field(obj, key, err, errcap);
    return v ? want_str(v, key, out, err, errcap) : -1;
}

int jv_get_int64(const json_t *obj, const char *key, int64_t *out, char *err, size_t errcap)
{
    json_t *v = field(obj, key, err, errcap);
    return v ? want_int64(v, key, out, err, errcap) : -1;
}

int jv_get_bool(const json_t *obj, const char *key, int *out, char *err, size_t errcap)
{
    json_t *v = field(obj, key, err, errcap);
    if (v == NULL)
        return -1;
    if (!json_is_boolean(v)) {
        set_err(err, errcap, "field '%s' is not a boolean", key);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int jv_get_dec(const json_t *obj, const char *key, struct dec *out, char *err, size_t errcap)
{
    json_t *v = field(obj, key, err, errcap);
    return v ? want_dec(v, key, out, err, errcap) : -1;
}

/* For the optional getters: the member, NULL when absent (not an error), or an error when obj
 * is not an object at all. */
static int opt_field(const json_t *obj, const char *key, json_t **v, char *err, size_t errcap)
{
    if (!json_is_object(obj)) {
        set_err(err, errcap, "field '%s': not inside an object", key);
        return -1;
    }
    *v = json_object_get(obj, key);
    return 0;
}

int jv_opt_str(const json_t *obj, const char *key, const char **out, char *err, size_t errcap)
{
    json_t *v;
    if (opt_field(obj, key, &v, err, errcap) != 0)
        return -1;
    return v ? want_str(v, key, out, err, errcap) : 0;
}

int jv_opt_int64(const json_t *obj, const char *key, int64_t *out, char *err, size_t errcap)
{
    json_t *v;
    if (opt_field(obj, key, &v, err, errcap) != 0)
        return -1;
    return v ? want_int64(v, key, out, err, errcap) : 0;
}

int jv_opt_dec(const json_t *obj, const char *key, struct dec *out, char *err, size_t errcap)
{
    json_t *v;
    if (opt_field(obj, key, &v, err, errcap) != 0)
        return -1;
    return v ? want_dec(v, key, out, err, errcap) : 0;
}

char *jv_dump(const json_t *v)
{
    if (v == NULL)
        return NULL;
    /* jansson keeps insertion order since 2.8; JSON_ENCODE_ANY lets a bare value through. */
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

json_t *jv_dec_string(struct dec d)
{
    char buf[DEC_STR_MAX];
    if (dec_format(d, buf, sizeof buf) < 0)
        return NULL;
    return json_string(buf);
}
