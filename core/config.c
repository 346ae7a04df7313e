/* config: INI file (libinih) + environment + command line, typed getters (see config.h).
 *
 * Three layers are searched in order: command line (config_set), environment
 * (BFQ_<SECTION>_<KEY>), file. Within one layer `key` beats `key_file`; a higher layer's
 * `key_file` beats a lower layer's `key`, so BFQ_ACCOUNT_MAIN_API_SECRET_FILE in the
 * environment overrides api_secret written in the file.
 *
 * The file is read whole (at most CONFIG_FILE_MAX bytes) and handed to ini_parse_string.
 * Debian's libinih is built with INI_MAX_LINE 200 and would silently split a longer line into
 * two, so such lines are refused first with their line number. A key given twice, or continued
 * on indented lines, accumulates with '\n' (a list). Inline comments start with " ;".
 *
 * Environment names lose case and dots, so config_sections() cannot invert them in general.
 * It knows one family: BFQ_ACCOUNT_<NAME>_<KEY> with KEY one of API_KEY, API_SECRET,
 * API_SECRET_FILE names the section "account.<name in lower case>" (BFQ_ACCOUNT_MAIN_API_KEY
 * gives "account.main"), so an account can be configured from the environment alone.
 *
 * Every string handed out (values, values read from a _file, copies of environment values)
 * is owned by the struct config and stays valid until config_free. */
#include "core/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

#define CONFIG_FILE_MAX (1u << 20) /* a config file above 1 MiB is refused */
#define CONFIG_INI_LINE_MAX 199    /* libinih's INI_MAX_LINE (200) less the NUL */
#define CONFIG_NAME_MAX 256        /* section and key names, and env var names */
#define CONFIG_SECRET_KEY "api_secret" /* a file holding this key must be private */

enum config_layer { LAYER_CLI, LAYER_FILE };

struct config_entry {
    char *section, *key, *value;
    enum config_layer layer;
};

struct config {
    struct config_entry *entries;
    size_t n, cap;
    char **owned; /* strings handed out by getters (env copies, file contents) */
    size_t nowned, capowned;
    char errstr[CONFIG_ERR_MAX];
    const char *loading; /* path during config_load, for handler errors */
    int load_err;
};

extern char **environ;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL) {
        fputs("bfq: out of memory\n", stderr);
        abort();
    }
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xrealloc(NULL, n);
    memcpy(d, s, n);
    return d;
}

static void set_err(struct config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_err(struct config *cfg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cfg->errstr, sizeof cfg->errstr, fmt, ap);
    va_end(ap);
}

struct config *config_new(void)
{
    struct config *cfg = xrealloc(NULL, sizeof *cfg);
    memset(cfg, 0, sizeof *cfg);
    return cfg;
}

void config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    for (size_t i = 0; i < cfg->n; i++) {
        free(cfg->entries[i].section);
        free(cfg->entries[i].key);
        free(cfg->entries[i].value);
    }
    for (size_t i = 0; i < cfg->nowned; i++)
        free(cfg->owned[i]);
    free(cfg->entries);
    free(cfg->owned);
    free(cfg);
}

const char *config_errstr(const struct config *cfg)
{
    return cfg->errstr;
}

/* Keeps s (malloc'd) until config_free and returns it. */
static const char *own(struct config *cfg, char *s)
{
    if (cfg->nowned == cfg->capowned) {
        cfg->capowned = cfg->capowned ? 2 * cfg->capowned : 8;
        cfg->owned = xrealloc(cfg->owned, cfg->capowned * sizeof *cfg->owned);
    }
    cfg->owned[cfg->nowned++] = s;
    return s;
}

static struct config_entry *find(struct config *cfg, enum config_layer layer, const char *section,
                                 const char *key)
{
    for (size_t i = 0; i < cfg->n; i++) {
        struct config_entry *e = &cfg->entries[i];
        if (e->layer == layer && strcmp(e->section, section) == 0 && strcmp(e->key, key) == 0)
            return e;
    }
    return NULL;
}

static struct config_entry *add(struct config *cfg, enum config_layer layer, const char *section,
                                const char *key, const char *value)
{
    if (cfg->n == cfg->cap) {
        cfg->cap = cfg->cap ? 2 * cfg->cap : 16;
        cfg->entries = xrealloc(cfg->entries, cfg->cap * sizeof *cfg->entries);
    }
    struct config_entry *e = &cfg->entries[cfg->n++];
    e->section = xstrdup(section);
    e->key = xstrdup(key);
    e->value = xstrdup(value);
    e->layer = layer;
    return e;
}

void config_set(struct config *cfg, const char *section, const char *key, const char *value)
{
    struct config_entry *e = find(cfg, LAYER_CLI, section, key);
    if (e == NULL) {
        add(cfg, LAYER_CLI, section, key, value);
        return;
    }
    free(e->value);
    e->value = xstrdup(value);
}

/* ---- loading ---- */

static int config_ini_entry(void *user, const char *section, const char *name, const char *value)
{
    struct config *cfg = user;
    struct config_entry *e = find(cfg, LAYER_FILE, section, name);
    if (e == NULL) {
        add(cfg, LAYER_FILE, section, name, value);
        return 1;
    }
    /* Repeated key or indented continuation line: a list, one item per line. */
    size_t a = strlen(e->value), b = strlen(value);
    if (a + 1 + b > CONFIG_VALUE_MAX) {
        cfg->load_err = 1;
        set_err(cfg, "%s: [%s] %s: value longer than %d bytes", cfg->loading, section, name,
                CONFIG_VALUE_MAX);
        return 0;
    }
    e->value = xrealloc(e->value, a + b + 2);
    e->value[a] = '\n';
    memcpy(e->value + a + 1, value, b + 1);
    return 1;
}

/* Reads a whole file of at most max bytes into a malloc'd NUL-terminated buffer. Returns NULL
 * with errno set (EFBIG when too large). st receives the file's status. */
static char *read_file(const char *path, size_t max, size_t *len, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    int e = 0;
    if (fstat(fd, st) != 0)
        e = errno;
    else if (!S_ISREG(st->st_mode))
        e = EINVAL; /* a directory, a FIFO...: never block reading one */
    else if ((size_t)st->st_size > max)
        e = EFBIG;
    if (e != 0) {
        close(fd);
        errno = e;
        return NULL;
    }
    char *buf = xrealloc(NULL, max + 1);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fd, buf + n, max + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = errno;
            free(buf);
            close(fd);
            errno = e;
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) { /* grew since fstat */
            free(buf);
            close(fd);
            errno = EFBIG;
            return NULL;
        }
    }
    close(fd);
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* The first line longer than libinih takes, or 0. */
static int overlong_line(const char *buf)
{
    int line = 1;
    for (const char *p = buf; *p; line++) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n > CONFIG_INI_LINE_MAX)
            return line;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return 0;
}

/* A file that holds a secret itself (api_secret, not api_secret_file) must be private, as
 * ssh demands of its keys: refused when group or others may read or write it. Entries from
 * index `from` on are the file's. */
static int config_check_private(struct config *cfg, const char *path, const struct stat *st,
                                size_t from)
{
    if ((st->st_mode & 077) == 0)
        return 0;
    for (size_t i = from; i < cfg->n; i++) {
        if (strcmp(cfg->entries[i].key, CONFIG_SECRET_KEY) != 0)
            continue;
        set_err(cfg, "%s: holds [%s] %s but is accessible by group or others (mode %04o): "
                     "chmod 600 %s", path, cfg->entries[i].section, CONFIG_SECRET_KEY,
                (unsigned)(st->st_mode & 07777), path);
        return -1;
    }
    return 0;
}

int config_load(struct config *cfg, const char *path)
{
    size_t len;
    struct stat st;
    char *buf = read_file(path, CONFIG_FILE_MAX, &len, &st);
    if (buf == NULL) {
        set_err(cfg, "%s: cannot read config file: %s", path,
                errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
        return -1;
    }
    if (memchr(buf, '\0', len) != NULL) {
        set_err(cfg, "%s: not a text file (NUL byte)", path);
        free(buf);
        return -1;
    }
    int bad = overlong_line(buf);
    if (bad) {
        set_err(cfg, "%s:%d: line longer than %d characters (put long values in a key_file)",
                path, bad, CONFIG_INI_LINE_MAX);
        free(buf);
        return -1;
    }
    cfg->loading = path;
    cfg->load_err = 0;
    size_t before = cfg->n;
    int rc = ini_parse_string(buf, config_ini_entry, cfg);
    cfg->loading = NULL;
    free(buf);
    if (rc != 0) {
        if (!cfg->load_err)
            set_err(cfg, "%s:%d: syntax error (expected [section], key = value or a comment)",
                    path, rc);
        return -1;
    }
    return config_check_private(cfg, path, &st, before);
}

/* ---- lookup ---- */

/* BFQ_<SECTION>_<KEY>: upper case, '.' and '-' as '_'. */
static void env_name(const char *section, const char *key, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "BFQ_%s_%s", section, key);
    if (n < 0 || (size_t)n >= cap) {
        buf[0] = '\0';
        return;
    }
    for (char *p = buf; *p; p++) {
        if (*p == '.' || *p == '-')
            *p = '_';
        else
            *p = (char)toupper((unsigned char)*p);
    }
}

/* The raw value of key in one layer (environment when layer < 0), or NULL. */
static const char *layer_value(struct config *cfg, int layer, const char *section,
                               const char *key)
{
    if (layer < 0) {
        char name[2 * CONFIG_NAME_MAX];
        env_name(section, key, name, sizeof name);
        return name[0] ? getenv(name) : NULL;
    }
    struct config_entry *e = find(cfg, (enum config_layer)layer, section, key);
    return e ? e->value : NULL;
}

/* Under systemd with LoadCredential= ($CREDENTIALS_DIRECTORY set), a relative key_file names
 * a credential: "main.api_secret" is $CREDENTIALS_DIRECTORY/main.api_secret. Elsewhere a
 * relative path is what it always was (from the working directory). buf holds the result. */
static const char *key_file_path(const char *path, char *buf, size_t cap)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (path[0] == '/' || !dir || !dir[0]) return path;
    int n = snprintf(buf, cap, "%s/%s", dir, path);
    return n > 0 && (size_t)n < cap ? buf : path;
}

/* Reads a key_file. secret: refuse group/other permissions. Returns the owned value or NULL. */
static const char *read_key_file(struct config *cfg, const char *section, const char *key,
                                 const char *path, int secret)
{
    size_t len;
    struct stat st;
    char cred[4096];
    path = key_file_path(path, cred, sizeof cred);
    char *buf = read_file(path, CONFIG_VALUE_MAX, &len, &st);
    if (buf == NULL) {
        set_err(cfg, "[%s] %s_file: cannot read '%s': %s", section, key, path,
                errno == EFBIG ? "longer than 4096 bytes" : strerror(errno));
        return NULL;
    }
    if (secret && (st.st_mode & 077) != 0) {
        set_err(cfg, "[%s] %s_file: '%s' is readable by group or others (mode %04o): "
                     "chmod 600 it", section, key, path, (unsigned)(st.st_mode & 07777));
        free(buf);
        return NULL;
    }
    if (len > 0 && buf[len - 1] == '\n')
        buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '\r')
        buf[--len] = '\0';
    if (strlen(buf) != len) {
        set_err(cfg, "[%s] %s_file: '%s' holds a NUL byte", section, key, path);
        free(buf);
        return NULL;
    }
    return own(cfg, buf);
}

/* Finds section/key through the layers. Returns 1 with *out set, 0 when unset, -1 on error. */
static int lookup(struct config *cfg, const char *section, const char *key, int secret,
                  const char **out)
{
    static const int layers[] = {LAYER_CLI, -1, LAYER_FILE};
    char fkey[CONFIG_NAME_MAX];
    int n = snprintf(fkey, sizeof fkey, "%s_file", key);
    if (n < 0 || (size_t)n >= sizeof fkey || strlen(section) >= CONFIG_NAME_MAX) {
        set_err(cfg, "[%.64s] %.64s: name too long", section, key);
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        const char *v = layer_value(cfg, layers[i], section, key);
        if (v == NULL) {
            const char *path = layer_value(cfg, layers[i], section, fkey);
            if (path == NULL)
                continue;
            v = read_key_file(cfg, section, key, path, secret);
            if (v == NULL)
                return -1;
        } else if (layers[i] < 0) {
            if (strlen(v) > CONFIG_VALUE_MAX) {
                set_err(cfg, "[%s] %s: value longer than %d bytes", section, key,
                        CONFIG_VALUE_MAX);
                return -1;
            }
            v = own(cfg, xstrdup(v)); /* the environment may change under us */
        }
        if (strlen(v) > CONFIG_VALUE_MAX) {
            set_err(cfg, "[%s] %s: value longer than %d bytes", section, key, CONFIG_VALUE_MAX);
            return -1;
        }
        *out = v;
        return 1;
    }
    return 0;
}

const char *config_get(struct config *cfg, const char *section, const char *key)
{
    const char *v = NULL;
    return lookup(cfg, section, key, 0, &v) == 1 ? v : NULL;
}

/* ---- typed getters ---- */

int config_str(struct config *cfg, const char *section, const char *key, const char *def,
               const char **out)
{
    int rc = lookup(cfg, section, key, 0, out);
    if (rc < 0)
        return -1;
    if (rc == 0)
        *out = def;
    return 0;
}

static int parse_i64(const char *s, int64_t *out)
{
    if (*s == '\0' || isspace((unsigned char)*s))
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int in_range(struct config *cfg, const char *section, const char *key, int64_t v,
                    int64_t min, int64_t max)
{
    if (v < min || v > max) {
        set_err(cfg, "[%s] %s: %lld is out of range %lld..%lld", section, key, (long long)v,
                (long long)min, (long long)max);
        return -1;
    }
    return 0;
}

int config_int(struct config *cfg, const char *section, const char *key, int64_t def,
               int64_t min, int64_t max, int64_t *out)
{
    const char *s;
    int rc = lookup(cfg, section, key, 0, &s);
    if (rc < 0)
        return -1;
    int64_t v = def;
    if (rc == 1 && parse_i64(s, &v) != 0) {
        set_err(cfg, "[%s] %s: '%.64s' is not an integer", section, key, s);
        return -1;
    }
    if (in_range(cfg, section, key, v, min, max) != 0)
        return -1;
    *out = v;
    return 0;
}

int config_bool(struct config *cfg, const char *section, const char *key, int def, int *out)
{
    static const char *const yes[] = {"true", "yes", "1", "on"};
    static const char *const no[] = {"false", "no", "0", "off"};
    const char *s;
    int rc = lookup(cfg, section, key, 0, &s);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        *out = def;
        return 0;
    }
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
            *out = strcasecmp(s, yes[i]) == 0;
            return 0;
        }
    }
    set_err(cfg, "[%s] %s: '%.64s' is not a boolean (true/false, yes/no, on/off, 1/0)",
            section, key, s);
    return -1;
}

/* Milliseconds of a unit ("h", "m", "s", "ms") of length n at u, or 0 when it is none. */
static int64_t duration_unit(const char *u, size_t n)
{
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strlen(units[i].name) == n && strncmp(units[i].name, u, n) == 0)
            return units[i].ms;
    return 0;
}

/* Plain milliseconds ("1500"), or one or more number+unit parts, largest unit first, each
 * unit at most once: "250ms", "5s", "30m", "23h30m", "1h2m3s500ms". */
static int parse_duration(const char *s, int64_t *out)
{
    int64_t total = 0, last_unit = INT64_MAX;
    if (*s != '\0' && strspn(s, "0123456789") == strlen(s))
        return strlen(s) < 19 && parse_i64(s, out) == 0 ? 0 : -1;
    if (*s == '\0')
        return -1;
    while (*s) {
        size_t nd = strspn(s, "0123456789"), nu = strspn(s + nd, "hms");
        int64_t v, unit = duration_unit(s + nd, nu);
        char num[20];
        if (nd == 0 || nd >= sizeof num || unit == 0 || unit >= last_unit)
            return -1;
        memcpy(num, s, nd);
        num[nd] = '\0';
        if (parse_i64(num, &v) != 0 || v > (INT64_MAX - total) / unit)
            return -1;
        total += v * unit;
        last_unit = unit;
        s += nd + nu;
    }
    *out = total;
    return 0;
}

int config_duration_ms(struct config *cfg, const char *section, const char *key, int64_t def,
                       int64_t min, int64_t max, int64_t *out)
{
    const char *s;
    int rc = lookup(cfg, section, key, 0, &s);
    if (rc < 0)
        return -1;
    int64_t v = def;
    if (rc == 1 && parse_duration(s, &v) != 0) {
        set_err(cfg, "[%s] %s: '%.64s' is not a duration (250ms, 5s, 30m, 8h, 23h30m or "
                     "milliseconds)",
                section, key, s);
        return -1;
    }
    if (v < min || v > max) {
        set_err(cfg, "[%s] %s: %lldms is out of range %lld..%lldms", section, key,
                (long long)v, (long long)min, (long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

static int required(struct config *cfg, const char *section, const char *key, int secret,
                    const char **out)
{
    int rc = lookup(cfg, section, key, secret, out);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        char env[2 * CONFIG_NAME_MAX];
        env_name(section, key, env, sizeof env);
        set_err(cfg, "[%s] %s: required but not set (config file, %s or %s_FILE)", section,
                key, env, env);
        return -1;
    }
    if (**out == '\0') {
        set_err(cfg, "[%s] %s: required but empty", section, key);
        return -1;
    }
    return 0;
}

int config_required(struct config *cfg, const char *section, const char *key, const char **out)
{
    return required(cfg, section, key, 0, out);
}

int config_secret(struct config *cfg, const char *section, const char *key, const char **out)
{
    if (required(cfg, section, key, 1, out) != 0)
        return -1;
    if (log_add_secret(*out) != 0) {
        set_err(cfg, "[%s] %s: cannot register the secret for log redaction", section, key);
        return -1;
    }
    return 0;
}

/* ---- sections and unknown keys ---- */

struct name_list {
    char **names;
    size_t n, cap;
};

static void names_add(struct name_list *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->names[i], name) == 0)
            return;
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 8;
        l->names = xrealloc(l->names, l->cap * sizeof *l->names);
    }
    l->names[l->n++] = xstrdup(name);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Environment BFQ_ACCOUNT_<NAME>_<KEY> for the known account keys: "account.<name>". */
static void env_account_sections(struct name_list *l)
{
    static const char *const suffixes[] = {"_API_SECRET_FILE", "_API_SECRET", "_API_KEY"};
    static const char prefix[] = "BFQ_ACCOUNT_";
    struct name_list found = {0};
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq == NULL || strncmp(*e, prefix, sizeof prefix - 1) != 0)
            continue;
        const char *name = *e + sizeof prefix - 1;
        size_t n = (size_t)(eq - name);
        for (int i = 0; i < 3; i++) {
            size_t sl = strlen(suffixes[i]);
            if (n <= sl || strncmp(name + n - sl, suffixes[i], sl) != 0)
                continue;
            char sec[CONFIG_NAME_MAX];
            if (n - sl + 8 >= sizeof sec)
                break;
            memcpy(sec, "account.", 8);
            for (size_t k = 0; k < n - sl; k++)
                sec[8 + k] = (char)tolower((unsigned char)name[k]);
            sec[8 + n - sl] = '\0';
            names_add(&found, sec);
            break;
        }
    }
    if (found.n > 1)
        qsort(found.names, found.n, sizeof *found.names, cmp_str);
    for (size_t i = 0; i < found.n; i++) {
        names_add(l, found.names[i]);
        free(found.names[i]);
    }
    free(found.names);
}

void config_sections(struct config *cfg, const char *prefix,
                     void (*fn)(const char *section, void *privdata), void *privdata)
{
    struct name_list l = {0};
    size_t pl = strlen(prefix);
    for (size_t i = 0; i < cfg->n; i++)
        if (strncmp(cfg->entries[i].section, prefix, pl) == 0)
            names_add(&l, cfg->entries[i].section);
    struct name_list env = {0};
    env_account_sections(&env);
    for (size_t i = 0; i < env.n; i++) {
        if (strncmp(env.names[i], prefix, pl) == 0)
            names_add(&l, env.names[i]);
        free(env.names[i]);
    }
    free(env.names);
    for (size_t i = 0; i < l.n; i++) {
        fn(l.names[i], privdata);
        free(l.names[i]);
    }
    free(l.names);
}

/* pat matches s: exact, or pat ends in '*' and s starts with what precedes it. */
static int glob_part(const char *pat, const char *s)
{
    size_t n = strlen(pat);
    if (n > 0 && pat[n - 1] == '*')
        return strncmp(pat, s, n - 1) == 0;
    return strcmp(pat, s) == 0;
}

/* "section.key" pattern against an entry; "k" also covers "k_file". */
static int pattern_matches(const char *pat, const char *section, const char *key)
{
    const char *dot = strrchr(pat, '.');
    if (dot == NULL)
        return 0;
    char sec[CONFIG_NAME_MAX], kp[CONFIG_NAME_MAX];
    size_t sl = (size_t)(dot - pat);
    if (sl >= sizeof sec || strlen(dot + 1) + 6 >= sizeof kp)
        return 0;
    memcpy(sec, pat, sl);
    sec[sl] = '\0';
    if (!glob_part(sec, section))
        return 0;
    if (glob_part(dot + 1, key))
        return 1;
    snprintf(kp, sizeof kp, "%s_file", dot + 1);
    return strcmp(kp, key) == 0;
}

int config_key_matches(const char *const *known, const char *section, const char *key)
{
    for (size_t k = 0; known && known[k]; k++)
        if (pattern_matches(known[k], section, key))
            return 1;
    return 0;
}

static int patterns_known(const char *section, const char *key, void *privdata)
{
    return config_key_matches(privdata, section, key);
}

int config_unknown_keys(struct config *cfg, const char *const *known, char *buf, size_t cap)
{
    return config_unknown_keys_by(cfg, patterns_known, (void *)known, buf, cap);
}

/* known() for key, and for "k" when key is "k_file". */
static int key_known(config_known_fn *known, void *privdata, const char *section,
                     const char *key)
{
    char stem[CONFIG_NAME_MAX];
    size_t n = strlen(key);
    if (known(section, key, privdata))
        return 1;
    if (n <= 5 || n - 5 >= sizeof stem || strcmp(key + n - 5, "_file") != 0)
        return 0;
    memcpy(stem, key, n - 5);
    stem[n - 5] = '\0';
    return known(section, stem, privdata);
}

int config_unknown_keys_by(struct config *cfg, config_known_fn *known, void *privdata,
                           char *buf, size_t cap)
{
    int count = 0;
    size_t o = 0;
    if (cap > 0)
        buf[0] = '\0';
    for (size_t i = 0; i < cfg->n; i++) {
        const struct config_entry *e = &cfg->entries[i];
        if (e->layer != LAYER_FILE)
            continue;
        if (key_known(known, privdata, e->section, e->key))
            continue;
        count++;
        if (cap > 0 && o < cap) {
            int n = snprintf(buf + o, cap - o, "%s%s.%s", count > 1 ? ", " : "", e->section,
                             e->key);
            o = n < 0 ? cap : o + (size_t)n;
        }
    }
    return count;
}
