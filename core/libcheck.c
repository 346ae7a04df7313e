/* libcheck: SHA-256 of the loaded function library's code against the embedded one (libcheck.h).
 *
 * The RESP2 reply of FUNCTION LIST ... WITHCODE is an array of libraries, each a flat array of
 * name/value pairs: library_name, engine, functions, library_code. LIBRARYNAME is a pattern,
 * so the reply may hold other libraries; only the exact name counts. */
#include "core/libcheck.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

void libcheck_sha256_hex(const void *data, size_t len, char out[LIBCHECK_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256(data, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[LIBCHECK_HEX_LEN] = '\0';
}

int libcheck_name(const char *src, char *buf, size_t cap)
{
    static const char shebang[] = "#!lua name=";
    if (!src || strncmp(src, shebang, sizeof shebang - 1) != 0) return -1;
    const char *p = src + sizeof shebang - 1;
    size_t n = strcspn(p, " \t\r\n");
    if (n == 0 || n >= cap) return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return 0;
}

/* The value of field `key` in a library's flat name/value array, or NULL. */
static const redisReply *lib_field(const redisReply *lib, const char *key)
{
    if (lib->type != REDIS_REPLY_ARRAY) return NULL;
    for (size_t i = 0; i + 1 < lib->elements; i += 2) {
        const redisReply *k = lib->element[i];
        if (k->type == REDIS_REPLY_STRING && strcmp(k->str, key) == 0) return lib->element[i + 1];
    }
    return NULL;
}

enum libcheck_result libcheck_reply(const struct redisReply *reply, const char *name,
                                    const char *want_hex, char *why, size_t cap)
{
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        snprintf(why, cap, "FUNCTION LIST failed: %.160s", reply ? reply->str : "no answer");
        return LIBCHECK_ERROR;
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        snprintf(why, cap, "FUNCTION LIST: unexpected reply type %d", reply->type);
        return LIBCHECK_ERROR;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *n = lib_field(reply->element[i], "library_name");
        if (!n || n->type != REDIS_REPLY_STRING || strcmp(n->str, name) != 0) continue;
        const redisReply *code = lib_field(reply->element[i], "library_code");
        if (!code || code->type != REDIS_REPLY_STRING) {
            snprintf(why, cap, "FUNCTION LIST: library %s came without its code", name);
            return LIBCHECK_ERROR;
        }
        char have[LIBCHECK_HEX_LEN + 1];
        libcheck_sha256_hex(code->str, code->len, have);
        if (strcmp(have, want_hex) != 0) {
            snprintf(why, cap, "function library %s is not the one this build runs "
                     "(sha256 %.12s..., expected %.12s...)", name, have, want_hex);
            return LIBCHECK_MISMATCH;
        }
        snprintf(why, cap, "function library %s verified (sha256 %.12s...)", name, have);
        return LIBCHECK_OK;
    }
    snprintf(why, cap, "function library %s is not loaded", name);
    return LIBCHECK_ABSENT;
}
