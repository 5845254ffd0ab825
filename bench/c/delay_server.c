/*
 * The server the fetch benchmark downloads from: answers every HTTP request after a fixed delay.
 *
 *     delay_server DELAY_MS      listen on 127.0.0.1, an ephemeral port
 *
 * It prints "LISTENING <port>", then for each connection reads one request (up to the blank line),
 * waits DELAY_MS milliseconds without blocking anybody else, answers "200 OK" with a two-byte body
 * and closes. In C so that 1,000 simultaneous requests cost it next to nothing: the fetch figure
 * must be the client toolkit's, and the ideal is the delay itself.
 *
 * Every request waits the same delay, so the requests come due in the order they arrived: a FIFO
 * of (fd, due time) is the whole timer structure.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define REQ_MAX 8192

static const char RESPONSE[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: text/plain\r\n"
                               "Content-Length: 2\r\n"
                               "Connection: close\r\n"
                               "\r\n"
                               "ok";

struct conn {
    int fd;
    size_t len;
    char req[REQ_MAX];
};

struct due {
    struct conn *c;
    double at;
};

static struct due *fifo;
static size_t fifo_cap, fifo_head, fifo_tail; /* ring buffer; head == tail when empty */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void push(struct conn *c, double at) {
    size_t next = (fifo_tail + 1) % fifo_cap;
    if (next == fifo_head) { /* full: double the ring, unrolling it */
        struct due *bigger = malloc(2 * fifo_cap * sizeof *bigger);
        if (bigger == NULL) die("malloc");
        size_t n = 0;
        for (size_t i = fifo_head; i != fifo_tail; i = (i + 1) % fifo_cap) bigger[n++] = fifo[i];
        free(fifo);
        fifo = bigger;
        fifo_cap *= 2;
        fifo_head = 0;
        fifo_tail = n;
        next = n + 1;
    }
    fifo[fifo_tail].c = c;
    fifo[fifo_tail].at = at;
    fifo_tail = next;
}

static void finish(struct conn *c) {
    /* The response is far smaller than a fresh socket's send buffer: one send takes it all. */
    send(c->fd, RESPONSE, sizeof RESPONSE - 1, MSG_NOSIGNAL);
    close(c->fd);
    free(c);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: delay_server DELAY_MS\n");
        return 64;
    }
    double delay = atof(argv[1]) / 1000.0;
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    fifo_cap = 1024;
    fifo = malloc(fifo_cap * sizeof *fifo);
    if (fifo == NULL) die("malloc");

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, 4096) < 0) die("listen");
    socklen_t alen = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &alen);

    int epfd = epoll_create1(0);
    if (epfd < 0) die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl");
    printf("LISTENING %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int timeout_ms = -1;
        if (fifo_head != fifo_tail) {
            double wait = fifo[fifo_head].at - now();
            timeout_ms = wait <= 0 ? 0 : (int)(wait * 1000.0) + 1;
        }
        int n = epoll_wait(epfd, events, MAX_EVENTS, timeout_ms);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    c = malloc(sizeof *c);
                    if (c == NULL) die("malloc");
                    c->fd = fd;
                    c->len = 0;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
                }
                continue;
            }
            ssize_t got = recv(c->fd, c->req + c->len, REQ_MAX - 1 - c->len, 0);
            if (got <= 0) {
                if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                close(c->fd); /* the client gave up before its answer */
                free(c);
                continue;
            }
            c->len += (size_t)got;
            c->req[c->len] = '\0';
            if (strstr(c->req, "\r\n\r\n") != NULL || c->len == REQ_MAX - 1) {
                /* The request is complete: stop watching the socket until the answer is due. */
                epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
                push(c, now() + delay);
            }
        }
        double t = now();
        while (fifo_head != fifo_tail && fifo[fifo_head].at <= t) {
            finish(fifo[fifo_head].c);
            fifo_head = (fifo_head + 1) % fifo_cap;
        }
    }
}
