/* params: Binance request parameters from the query string and a form body (see params.h).
 *
 * Decoding follows application/x-www-form-urlencoded, which is what Binance accepts in both
 * places: '+' is a space, %XX a byte (either hex case), a '%' not followed by two hex digits
 * is refused. Keys that appear twice keep the first value (the query string is parsed first,
 * so its value wins over the body's, as Binance documents). */
#include "sim/params.h"

#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) into a new string; NULL on bad percent-encoding. */
static char *decode(const char *s, size_t n)
{
    char *out = malloc(n + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            if (i + 2 >= n || hexval(s[i + 1]) < 0 || hexval(s[i + 2]) < 0) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static int has_key(const struct sim_params *p, const char *key)
{
    return sim_param(p, key) != NULL;
}

/* Adds every k=v pair of s (separated by '&'). */
static int parse_part(struct sim_params *p, const char *s)
{
    while (*s) {
        const char *amp = strchr(s, '&');
        size_t n = amp ? (size_t)(amp - s) : strlen(s);
        if (n) {
            const char *eq = memchr(s, '=', n);
            size_t kn = eq ? (size_t)(eq - s) : n;
            char *k = decode(s, kn);
            char *v = eq ? decode(eq + 1, n - kn - 1) : decode("", 0);
            if (!k || !v) {
                free(k);
                free(v);
                return -1;
            }
            if (has_key(p, k)) {
                free(k);
                free(v);
            } else if (p->n >= SIM_PARAMS_MAX) {
                free(k);
                free(v);
                return -1;
            } else {
                p->v[p->n].key = k;
                p->v[p->n].value = v;
                p->n++;
            }
        }
        s += n;
        if (*s == '&') s++;
    }
    return 0;
}

int sim_params_parse(struct sim_params *p, const char *query, const char *body)
{
    memset(p, 0, sizeof(*p));
    p->query = strdup(query ? query : "");
    p->body = strdup(body ? body : "");
    if (!p->query || !p->body) return -1;
    if (parse_part(p, p->query)) return -1;
    if (parse_part(p, p->body)) return -1;
    return 0;
}

void sim_params_free(struct sim_params *p)
{
    for (int i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].value);
    }
    free(p->query);
    free(p->body);
    memset(p, 0, sizeof(*p));
}

const char *sim_param(const struct sim_params *p, const char *key)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->v[i].key, key)) return p->v[i].value;
    return NULL;
}
