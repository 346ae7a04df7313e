/* sentinel: a primary, a replica and three Sentinels for the failover tests (see sentinel.h). */
#include "tests/harness/sentinel.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/harness/testbinance.h"

static pid_t sn_server(const char *name, int port, const char *extra, int sentinel)
{
    char dir[512], path[640];
    snprintf(dir, sizeof dir, "%s/%s-%d", th_tmpdir(), name, port);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/%s.conf", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "port %d\nbind 127.0.0.1\ndir %s\nlogfile %s/%s.log\ndaemonize no\n%s", port, dir,
            dir, name, extra);
    fclose(f);
    const char *argv[] = {"redis-server", path, sentinel ? "--sentinel" : NULL, NULL};
    return th_spawn(argv, NULL);
}

/* The admin's command on the server at port, its reply discarded. 0 when it answered OK. */
static int sn_admin(int port, const char *cmd)
{
    redisContext *c = tb_redis(port, 1);
    redisReply *r = c ? redisCommand(c, cmd) : NULL;
    int ok = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (c) redisFree(c);
    return ok ? 0 : -1;
}

static int sn_synced(void *arg)
{
    redisContext *c = tb_redis(*(int *)arg, 1);
    redisReply *r = c ? redisCommand(c, "INFO replication") : NULL;
    int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, "master_link_status:up");
    freeReplyObject(r);
    if (c) redisFree(c);
    return ok;
}

int th_sentinel_wait_synced(int port, int ms)
{
    return th_wait_until(sn_synced, &port, ms);
}

/* Every Sentinel knows the replica and the two other Sentinels. */
static int sn_ready(void *arg)
{
    const struct th_sentinel *s = arg;
    for (int i = 0; i < TH_NSENT; i++) {
        redisContext *c = redisConnect("127.0.0.1", s->sent_port[i]);
        redisReply *r = c && !c->err ? redisCommand(c, "INFO sentinel") : NULL;
        int ok = r && r->type == REDIS_REPLY_STRING && strstr(r->str, ",slaves=1,sentinels=3");
        freeReplyObject(r);
        if (c) redisFree(c);
        if (!ok) return 0;
    }
    return 1;
}

int th_sentinel_start(struct th_sentinel *s)
{
    char extra[1024];
    memset(s, 0, sizeof *s);
    if (th_redis_start(&s->prim, 1) < 0) return -1;
    /* after a failover the old primary is a replica: it logs in as `replica` too */
    if (sn_admin(s->prim.port, "CONFIG SET masteruser replica") < 0 ||
        sn_admin(s->prim.port, "CONFIG SET masterauth test-replica") < 0) {
        fprintf(stderr, "sentinel: cannot configure the primary\n");
        return -1;
    }
    s->replica_port = th_free_port();
    snprintf(extra, sizeof extra,
             "save \"\"\nappendonly no\naclfile %s/users.acl\nreplicaof 127.0.0.1 %d\n"
             "masteruser replica\nmasterauth test-replica\n",
             s->prim.dir, s->prim.port);
    s->replica_pid = sn_server("replica", s->replica_port, extra, 0);
    if (s->replica_pid < 0 || !th_sentinel_wait_synced(s->replica_port, 10000)) {
        fprintf(stderr, "sentinel: the replica did not sync\n");
        return -1;
    }
    for (int i = 0; i < TH_NSENT; i++) {
        s->sent_port[i] = th_free_port();
        snprintf(extra, sizeof extra,
                 "sentinel monitor bfq 127.0.0.1 %d 2\nsentinel auth-user bfq admin\n"
                 "sentinel auth-pass bfq test-admin\n"
                 "sentinel down-after-milliseconds bfq 1000\n"
                 "sentinel failover-timeout bfq 10000\n",
                 s->prim.port);
        s->sent_pid[i] = sn_server("sentinel", s->sent_port[i], extra, 1);
    }
    if (!th_wait_until(sn_ready, s, 20000)) {
        fprintf(stderr, "sentinel: the sentinels do not know each other\n");
        return -1;
    }
    return 0;
}

void th_sentinel_url(const struct th_sentinel *s, const char *user, char *buf, size_t cap)
{
    snprintf(buf, cap, "redis+sentinel://%s:test-%s@127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d/bfq",
             user, user, s->sent_port[0], s->sent_port[1], s->sent_port[2]);
}

pid_t th_sentinel_spawn(const struct th_sentinel *s, const char *role, const char *user,
                        const char *conf)
{
    char url[512], log[512];
    th_sentinel_url(s, user, url, sizeof url);
    snprintf(log, sizeof log, "%s/%s.log", th_tmpdir(), role);
    const char *argv[] = {th_bfq_bin(), role, "--config", conf, "--redis", url,
                          "--instance", role, NULL};
    return th_spawn(argv, log);
}

int th_sentinel_master_port(const struct th_sentinel *s, int i)
{
    redisContext *c = redisConnect("127.0.0.1", s->sent_port[i]);
    redisReply *r = c && !c->err ? redisCommand(c, "SENTINEL get-master-addr-by-name bfq") : NULL;
    int port = (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2)
                   ? (int)strtol(r->element[1]->str, NULL, 10)
                   : -1;
    freeReplyObject(r);
    if (c) redisFree(c);
    return port;
}

struct sn_want {
    const struct th_sentinel *s;
    int port;
};

static int sn_switched(void *arg)
{
    const struct sn_want *w = arg;
    for (int i = 0; i < TH_NSENT; i++)
        if (th_sentinel_master_port(w->s, i) != w->port) return 0;
    return 1;
}

int th_sentinel_wait_master(const struct th_sentinel *s, int port, int ms)
{
    struct sn_want w = {s, port};
    return th_wait_until(sn_switched, &w, ms);
}

int th_sentinel_failover(const struct th_sentinel *s)
{
    redisContext *c = redisConnect("127.0.0.1", s->sent_port[0]);
    redisReply *r = c && !c->err ? redisCommand(c, "SENTINEL FAILOVER bfq") : NULL;
    int ok = r && r->type == REDIS_REPLY_STATUS;
    freeReplyObject(r);
    if (c) redisFree(c);
    return ok ? 0 : -1;
}

void th_sentinel_stop(struct th_sentinel *s)
{
    for (int i = 0; i < TH_NSENT; i++)
        if (s->sent_pid[i] > 0) th_stop(s->sent_pid[i], 5000);
    if (s->replica_pid > 0 && th_alive(s->replica_pid)) th_stop(s->replica_pid, 5000);
    th_redis_stop(&s->prim);
}
