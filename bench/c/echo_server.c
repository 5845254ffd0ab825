/*
 * The physical reference for the echo benchmark: a single-threaded epoll echo server in C.
 *
 *     echo_server            listen on 127.0.0.1, an ephemeral port
 *
 * It prints "LISTENING <port>" once it accepts connections, then echoes every byte it reads back to
 * its sender until the peer closes. It does the same work as the Python servers (read what is
 * there, write it back, one buffer per connection) with no interpreter in the way, so the ratio of
 * a toolkit to it says how much of the machine's loopback capacity the toolkit leaves on the table.
 *
 * Level-triggered epoll keeps it short: a connection whose write would block stops reading (its
 * EPOLLIN interest is replaced by EPOLLOUT) until its pending bytes are gone, so memory per
 * connection is bounded by one buffer.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_EVENTS 256

struct conn {
    int fd;
    size_t pending_off; /* bytes of buf already written back */
    size_t pending_len; /* bytes of buf read but not yet fully written back */
    char buf[BUF_SIZE];
};

static int epfd;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void set_interest(struct conn *c, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
}

static void drop(struct conn *c) {
    close(c->fd); /* closing removes it from the epoll set */
    free(c);
}

/* Write back what is pending; returns 0 when all of it went, 1 if the socket is full, -1 on error. */
static int flush_pending(struct conn *c) {
    while (c->pending_off < c->pending_len) {
        ssize_t n = send(c->fd, c->buf + c->pending_off, c->pending_len - c->pending_off,
                         MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
            if (errno == EINTR) continue;
            return -1;
        }
        c->pending_off += (size_t)n;
    }
    c->pending_off = c->pending_len = 0;
    return 0;
}

static void on_readable(struct conn *c) {
    for (;;) {
        ssize_t n = recv(c->fd, c->buf, BUF_SIZE, 0);
        if (n == 0) {
            drop(c);
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            if (errno == EINTR) continue;
            drop(c);
            return;
        }
        c->pending_len = (size_t)n;
        int r = flush_pending(c);
        if (r < 0) {
            drop(c);
            return;
        }
        if (r > 0) { /* socket full: stop reading until the peer drains it */
            set_interest(c, EPOLLOUT);
            return;
        }
    }
}

static void on_writable(struct conn *c) {
    int r = flush_pending(c);
    if (r < 0)
        drop(c);
    else if (r == 0)
        set_interest(c, EPOLLIN);
}

static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();

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

    epfd = epoll_create1(0);
    if (epfd < 0) die("epoll_create1");
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL marks the listener */
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl add listener");

    printf("LISTENING %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0) break; /* EAGAIN, or a transient error: the next event retries */
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = malloc(sizeof *nc);
                    if (nc == NULL) die("malloc");
                    nc->fd = fd;
                    nc->pending_off = nc->pending_len = 0;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
                }
            } else if (events[i].events & EPOLLOUT) {
                on_writable(c);
            } else {
                on_readable(c); /* EPOLLIN, EPOLLHUP or EPOLLERR: recv tells which */
            }
        }
    }
}
