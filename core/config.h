/* config: one INI file (libinih), environment overrides, and typed, validated getters.
 *
 * Lookup order for [section] key: a value set from the command line (config_set), then the
 * environment variable BFQ_<SECTION>_<KEY> (upper case, '.' and '-' become '_', so
 * [account.main] api_secret is BFQ_ACCOUNT_MAIN_API_SECRET), then the file. A key `k_file`
 * stands for `k` read from that file (trailing newline dropped); for secrets the file must not
 * be readable by group or others, or the getter refuses it. Every getter that fails names the
 * key and says why in config_errstr(); nothing is guessed. A config file that holds
 * api_secret itself must be private too. config_unknown_keys() reports keys
 * in the file that no role declared, so a typo is seen at start-up. */
#ifndef BFQ_CONFIG_H
#define BFQ_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERR_MAX 256
#define CONFIG_VALUE_MAX 4096 /* longer values (or _file contents) are refused */

struct config;

/* An empty configuration (no file); never NULL (aborts on out of memory). */
struct config *config_new(void);
void config_free(struct config *cfg);

/* Reads an INI file into cfg. Returns 0, or -1 with the file, line and reason in errstr. A file
 * that holds an api_secret must be private (mode & 077 == 0): otherwise it is refused with
 * the file's name and the fix (chmod 600), as ssh refuses a readable key. */
int config_load(struct config *cfg, const char *path) __attribute__((warn_unused_result));

/* Sets a value that overrides both environment and file (command-line options). */
void config_set(struct config *cfg, const char *section, const char *key, const char *value);

/* The last error, e.g. "[redis] url: not a redis:// URL". */
const char *config_errstr(const struct config *cfg);

/* Raw lookup following the order above (including `key_file`); NULL when unset or when the
 * file cannot be read (errstr says why). The pointer stays valid until config_free. */
const char *config_get(struct config *cfg, const char *section, const char *key);

/* Typed getters: 0 with *out set (def when the key is unset and def_ok), -1 with errstr. */
int config_str(struct config *cfg, const char *section, const char *key, const char *def,
               const char **out) __attribute__((warn_unused_result));
int config_int(struct config *cfg, const char *section, const char *key, int64_t def,
               int64_t min, int64_t max, int64_t *out) __attribute__((warn_unused_result));
int config_bool(struct config *cfg, const char *section, const char *key, int def, int *out)
    __attribute__((warn_unused_result));
/* Durations: plain milliseconds, or number+unit parts (h, m, s, ms), largest unit first,
 * each at most once: "250ms", "5s", "30m", "8h", "23h30m", "1h2m3s". */
int config_duration_ms(struct config *cfg, const char *section, const char *key, int64_t def,
                       int64_t min, int64_t max, int64_t *out) __attribute__((warn_unused_result));
/* A value that must be set (no default). */
int config_required(struct config *cfg, const char *section, const char *key, const char **out)
    __attribute__((warn_unused_result));
/* A secret: like config_required, but a `key_file` must be private (mode & 077 == 0), and the
 * value is registered with log_add_secret() so it never appears in a log line. */
int config_secret(struct config *cfg, const char *section, const char *key, const char **out)
    __attribute__((warn_unused_result));

/* Calls fn for each section name of the file and of the environment whose name starts with
 * prefix (e.g. "account." lists the configured accounts, as "account.main"). */
void config_sections(struct config *cfg, const char *prefix,
                     void (*fn)(const char *section, void *privdata), void *privdata);

/* Declares the keys a role understands: patterns "section.key", where section may end in '*'
 * ("account.*.api_key"). Returns the number of keys in the file that match none, writing them
 * (comma separated, truncated to cap) into buf. */
int config_unknown_keys(struct config *cfg, const char *const *known, char *buf, size_t cap);

/* Nonzero when [section] key matches one of the patterns above ("k" also covers "k_file"). */
int config_key_matches(const char *const *known, const char *section, const char *key);

/* The same with a predicate: known(section, key) is nonzero for a key that is understood (a
 * key "k_file" is known when "k" is). */
typedef int config_known_fn(const char *section, const char *key, void *privdata);
int config_unknown_keys_by(struct config *cfg, config_known_fn *known, void *privdata,
                           char *buf, size_t cap);

#endif
