/* proxy: the freezing loopback TCP proxy of the tests (see proxy.h).
 *
 * One thread polls the listening socket, a wake-up pipe and both sockets of every pair. An
 * admin call (freeze, stop) takes the mutex, sets its request, writes one byte to the pipe and
 * waits on the condition variable until the thread has applied it, so when th_proxy_freeze
 * returns no byte of a frozen pair is forwarded any more. Writes are blocking: the tests move
 * little data over loopback. */
#include "tests/harness/proxy.h"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROXY_PAIRS_MAX 128
#define PROXY_BUF 16384

struct proxy_pair {
    int cfd, sfd; /* client side, server side; -1 when closed */
    int frozen;
};

struct th_proxy {
    int port, target, lfd, wake[2];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int want_freeze, want_stop, applied, nfrozen, accepted;
    int freeze_new; /* connections accepted now are frozen from the start */
    struct proxy_pair pairs[PROXY_PAIRS_MAX];
    int npairs;
};

static void pair_close(struct proxy_pair *pp)
{
    if (pp->cfd >= 0) close(pp->cfd);
    if (pp->sfd >= 0) close(pp->sfd);
    pp->cfd = pp->sfd = -1;
}

static int connect_target(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) return fd;
    if (fd >= 0) close(fd);
    return -1;
}

static void proxy_accept(struct th_proxy *p)
{
    int cfd = accept(p->lfd, NULL, NULL);
    if (cfd < 0) return;
    int sfd = connect_target(p->target), slot = 0;
    while (slot < p->npairs && (p->pairs[slot].cfd >= 0 || p->pairs[slot].sfd >= 0)) slot++;
    if (sfd < 0 || slot >= PROXY_PAIRS_MAX) {
        close(cfd);
        if (sfd >= 0) close(sfd);
        return;
    }
    if (slot == p->npairs) p->npairs++;
    pthread_mutex_lock(&p->mu);
    p->pairs[slot] = (struct proxy_pair){.cfd = cfd, .sfd = sfd, .frozen = p->freeze_new};
    p->accepted++;
    pthread_mutex_unlock(&p->mu);
}

/* Data (or EOF) on one side of a pair: forward it, or drop it when frozen. */
static void proxy_io(struct proxy_pair *pp, int from_client)
{
    char buf[PROXY_BUF];
    int src = from_client ? pp->cfd : pp->sfd, dst = from_client ? pp->sfd : pp->cfd;
    ssize_t n = read(src, buf, sizeof buf);
    if (n <= 0) {
        if (!pp->frozen) {
            pair_close(pp); /* an open path passes the close on */
        } else {
            close(src); /* a black hole tells the other side nothing */
            if (from_client) pp->cfd = -1;
            else pp->sfd = -1;
        }
        return;
    }
    if (pp->frozen || dst < 0) return;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = write(dst, buf + off, (size_t)(n - off));
        if (w <= 0) {
            pair_close(pp);
            return;
        }
        off += w;
    }
}

/* Applies the admin requests; returns nonzero when the thread must stop. */
static int proxy_admin(struct th_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->want_freeze) {
        int n = 0;
        for (int i = 0; i < p->npairs; i++)
            if (!p->pairs[i].frozen && (p->pairs[i].cfd >= 0 || p->pairs[i].sfd >= 0)) {
                p->pairs[i].frozen = 1;
                n++;
            }
        p->nfrozen = n;
        p->want_freeze = 0;
    }
    int stop = p->want_stop;
    p->applied++;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return stop;
}

static void *proxy_main(void *arg)
{
    struct th_proxy *p = arg;
    struct pollfd fds[2 + 2 * PROXY_PAIRS_MAX];
    int who[2 + 2 * PROXY_PAIRS_MAX]; /* pair index * 2 + (1 for the client side) */
    for (;;) {
        int n = 0;
        fds[n++] = (struct pollfd){.fd = p->wake[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = p->lfd, .events = POLLIN};
        for (int i = 0; i < p->npairs; i++) {
            if (p->pairs[i].cfd >= 0) {
                who[n] = i * 2 + 1;
                fds[n++] = (struct pollfd){.fd = p->pairs[i].cfd, .events = POLLIN};
            }
            if (p->pairs[i].sfd >= 0) {
                who[n] = i * 2;
                fds[n++] = (struct pollfd){.fd = p->pairs[i].sfd, .events = POLLIN};
            }
        }
        if (poll(fds, (nfds_t)n, -1) < 0) continue;
        if (fds[0].revents) {
            char c;
            if (read(p->wake[0], &c, 1) == 1 && proxy_admin(p)) return NULL;
        }
        for (int k = 2; k < n; k++)
            if (fds[k].revents) proxy_io(&p->pairs[who[k] / 2], who[k] % 2);
        if (fds[1].revents) proxy_accept(p);
    }
}

struct th_proxy *th_proxy_start(int target_port)
{
    struct th_proxy *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->target = target_port;
    p->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int one = 1;
    if (p->lfd < 0 || setsockopt(p->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(p->lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(p->lfd, 64) < 0 ||
        getsockname(p->lfd, (struct sockaddr *)&a, &len) < 0 || pipe(p->wake) < 0) {
        if (p->lfd >= 0) close(p->lfd);
        free(p);
        return NULL;
    }
    p->port = ntohs(a.sin_port);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->thread, NULL, proxy_main, p) != 0) {
        close(p->lfd);
        close(p->wake[0]);
        close(p->wake[1]);
        free(p);
        return NULL;
    }
    return p;
}

int th_proxy_port(const struct th_proxy *p)
{
    return p->port;
}

/* Posts a request (already set under the mutex by the caller) and waits until applied. */
static void proxy_request(struct th_proxy *p)
{
    int seen = p->applied;
    char c = 1;
    if (write(p->wake[1], &c, 1) != 1) return;
    while (p->applied == seen) pthread_cond_wait(&p->cv, &p->mu);
}

int th_proxy_freeze(struct th_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    p->want_freeze = 1;
    proxy_request(p);
    int n = p->nfrozen;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void th_proxy_freeze_new(struct th_proxy *p, int on)
{
    pthread_mutex_lock(&p->mu);
    p->freeze_new = on;
    pthread_mutex_unlock(&p->mu);
}

int th_proxy_accepted(struct th_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    int n = p->accepted;
    pthread_mutex_unlock(&p->mu);
    return n;
}

void th_proxy_stop(struct th_proxy *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->want_stop = 1;
    proxy_request(p);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    for (int i = 0; i < p->npairs; i++) pair_close(&p->pairs[i]);
    close(p->lfd);
    close(p->wake[0]);
    close(p->wake[1]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}
