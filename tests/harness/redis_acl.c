/* redis_acl: renders redis/users.acl.in for tests, every user's password "test-<user>".
 *
 * The template holds placeholders @PASS_<user>@ (user names are [a-z0-9_-]); production
 * renders it with scripts/redis-acl and real secrets, tests with this function so they need no
 * shell script and no secret files. The rendered file is written with mode 0600, as Redis
 * expects of a file holding passwords. */
#include "tests/harness/redis_acl.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/harness/harness.h"

#define ACL_TEMPLATE_MAX (256u << 10)
#define ACL_USER_MAX 64

/* Reads the whole file (at most ACL_TEMPLATE_MAX) into a malloc'd NUL-terminated buffer. */
static char *acl_read(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *buf = malloc(ACL_TEMPLATE_MAX + 1);
    size_t n = buf ? fread(buf, 1, ACL_TEMPLATE_MAX + 1, f) : 0;
    fclose(f);
    if (!buf || n > ACL_TEMPLATE_MAX) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

static int acl_user_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

/* Writes line[0..n) to f with every @PASS_<user>@ replaced by test-<user>. */
static int acl_render_line(const char *line, size_t n, FILE *f)
{
    static const char mark[] = "@PASS_";
    const char *p = line, *end = line + n;
    for (;;) {
        const char *m = memmem(p, (size_t)(end - p), mark, sizeof mark - 1);
        if (!m) break;
        const char *u = m + sizeof mark - 1, *e = u;
        while (e < end && acl_user_char(*e)) e++;
        if (e == end || *e != '@' || e == u || e - u > ACL_USER_MAX) {
            fprintf(stderr, "redis_acl: bad placeholder near '%.20s'\n", m);
            return -1;
        }
        fwrite(p, 1, (size_t)(m - p), f);
        fputs("test-", f);
        fwrite(u, 1, (size_t)(e - u), f);
        p = e + 1;
    }
    fwrite(p, 1, (size_t)(end - p), f);
    fputc('\n', f);
    return 0;
}

/* Renders the template: comment lines (#) and blank lines dropped, since Redis' aclfile
 * accepts only "user" lines. */
static int acl_render(const char *tmpl, FILE *f)
{
    const char *p = tmpl;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        size_t i = 0;
        while (i < n && (p[i] == ' ' || p[i] == '\t')) i++;
        if (i < n && p[i] != '#' && acl_render_line(p, n, f) < 0) return -1;
        p += n + (nl ? 1 : 0);
    }
    return 0;
}

int th_render_acl(const char *out_path)
{
    char in[1024];
    snprintf(in, sizeof in, "%s/redis/users.acl.in", th_source_dir());
    char *tmpl = acl_read(in);
    if (!tmpl) {
        fprintf(stderr, "redis_acl: cannot read %s\n", in);
        return -1;
    }
    int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0) close(fd);
        free(tmpl);
        fprintf(stderr, "redis_acl: cannot write %s\n", out_path);
        return -1;
    }
    int rv = acl_render(tmpl, f);
    if (fclose(f) != 0) rv = -1;
    free(tmpl);
    return rv;
}

int th_acl_try(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    int rv = -1;
    if (r && r->type != REDIS_REPLY_ERROR) rv = 1;
    else if (r && (strstr(r->str, "NOPERM") || strstr(r->str, "can't access") ||
                   strstr(r->str, "can't publish") || strstr(r->str, "no permissions")))
        rv = 0;
    else fprintf(stderr, "unexpected: %s\n", r ? r->str : c->errstr);
    freeReplyObject(r);
    return rv;
}
