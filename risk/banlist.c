/* banlist: composing the ban list from the loss rules' bans and the manual ones (banlist.h). */
#include "risk/banlist.h"

#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

int banlist_is_manual(const json_t *reason)
{
    const char *src = json_string_value(json_object_get(reason, "src"));
    return src && !strncmp(src, BANLIST_MANUAL_SRC, strlen(BANLIST_MANUAL_SRC));
}

static int banlist_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The keys of reasons, sorted, as a new array; ["ALL"] alone when ALL is one of them. */
static json_t *banlist_symbols(const json_t *reasons)
{
    size_t n = json_object_size(reasons), k = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    json_t *list = json_array(), *v;
    const char *key;
    if (!keys || !list) {
        free(keys);
        return list;
    }
    json_object_foreach((json_t *)reasons, key, v) keys[k++] = key;
    qsort(keys, k, sizeof *keys, banlist_cmp);
    if (json_object_get(reasons, "ALL")) {
        json_array_append_new(list, json_string("ALL"));
    } else {
        for (size_t i = 0; i < k; i++)
            json_array_append_new(list, json_string(keys[i]));
    }
    free(keys);
    return list;
}

json_t *banlist_compose(const json_t *rule, const json_t *manual, json_t **symbols)
{
    json_t *reasons = json_object(), *v;
    const char *key;
    if (rule) json_object_foreach((json_t *)rule, key, v) json_object_set(reasons, key, v);
    if (manual) json_object_foreach((json_t *)manual, key, v) json_object_set(reasons, key, v);
    *symbols = banlist_symbols(reasons);
    return reasons;
}

json_t *banlist_rule_reasons(const json_t *reasons)
{
    json_t *out = json_object(), *v;
    const char *key;
    if (json_is_object(reasons))
        json_object_foreach((json_t *)reasons, key, v) if (!banlist_is_manual(v))
            json_object_set(out, key, v);
    return out;
}

json_t *banlist_from_hash(const redisReply *reply)
{
    json_t *out = json_object();
    for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i + 1 < reply->elements;
         i += 2) {
        const redisReply *f = reply->element[i], *val = reply->element[i + 1];
        if (!f->str || !val->str) continue;
        json_t *o = json_loads(val->str, 0, NULL);
        if (json_is_object(o))
            json_object_set_new(out, f->str, o);
        else
            json_decref(o);
    }
    return out;
}
