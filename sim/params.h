/* params: the parameters of one simulated Binance request.
 *
 * Binance takes parameters from the query string and from an x-www-form-urlencoded body;
 * when a key is in both, the query string wins. Values are percent-decoded. The raw
 * "totalParams" (query + body, concatenated without '&') is kept for signature checks. */
#ifndef BFQ_SIM_PARAMS_H
#define BFQ_SIM_PARAMS_H

#include <stddef.h>

#define SIM_PARAMS_MAX 64

struct sim_param {
    char *key;   /* decoded, owned */
    char *value; /* decoded, owned */
};

struct sim_params {
    struct sim_param v[SIM_PARAMS_MAX];
    int n;
    char *query;   /* raw query string (without '?'), owned, "" when none */
    char *body;    /* raw body, owned, "" when none */
};

/* Parses query and body; returns 0, or -1 on too many parameters or bad percent-encoding. */
int sim_params_parse(struct sim_params *p, const char *query, const char *body);
void sim_params_free(struct sim_params *p);

/* The value of key, or NULL. */
const char *sim_param(const struct sim_params *p, const char *key);

#endif
