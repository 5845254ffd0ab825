/*
 * Load generator for the echo, tls and memory benchmarks.
 *
 *     echo_client -p PORT [-c CONNS] [-s SIZE] [-w WARMUP] [-d DURATION] [-t] [-H]
 *
 * It opens CONNS connections to 127.0.0.1:PORT (with -t, TLS connections; the certificate is not
 * checked: the server is ours), then keeps exactly one SIZE-byte message in flight on each: send
 * it, wait until all SIZE bytes came back, send the next. After WARMUP seconds it counts the round
 * trips finished in the next DURATION seconds and prints one JSON object on stdout. It prints
 * "COUNTING" on a line of its own when the counted window opens, so that the harness can read the
 * server's CPU time over exactly that window.
 *
 * With -H (hold) it only sets the connections up, prints "READY <n>" and keeps them open and idle
 * until its standard input closes: the memory benchmark reads the server's resident size then.
 *
 * Why C: the point is to measure the server. A Python client would be as slow as the slowest
 * Python server and cap every toolkit at the same figure. The harness pins this process to
 * another core than the server's, so the two do not compete for one CPU.
 *
 * Set-up is sequential and blocking (with a timeout), each connection finishing with a one-byte
 * round trip: that proves the server handles it (its greenlet/task/thread is running) before the
 * next one is opened, so a slow accept loop can neither overflow the listen backlog nor leak
 * set-up time into the measurement. The run itself is non-blocking over level-triggered epoll.
 * Sockets are closed with SO_LINGER 0 (a reset) so thousands of connections per run leave no
 * TIME_WAIT entries to exhaust the ephemeral ports over many rounds.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef NO_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#else
typedef void SSL;
#endif

#define MAX_EVENTS 512
#define HIST_US 100000 /* latency histogram: 1 us buckets up to 100 ms, the rest in the last */

struct conn {
    int fd;
    SSL *ssl;
    size_t sent;      /* bytes of the current message written */
    size_t received;  /* bytes of the current message read back */
    int want_out;     /* EPOLLOUT currently in the interest set */
    double started;   /* when the current message was first written */
};

static size_t msg_size = 64;
static char *msg_out, *msg_in;
static int epfd;
static uint32_t *hist;
static long long errors;
static double t_count_from = 1e300, t_count_until = 0; /* the measured window */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(const char *what) {
    fprintf(stderr, "echo_client: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void usage(void) {
    fprintf(stderr, "usage: echo_client -p PORT [-c CONNS] [-s SIZE] [-w WARMUP] [-d DURATION] "
                    "[-t] [-H]\n");
    exit(64);
}

static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

#ifndef NO_TLS
static SSL_CTX *tls_ctx;

static void tls_init(void) {
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (tls_ctx == NULL) {
        fprintf(stderr, "echo_client: SSL_CTX_new failed\n");
        exit(2);
    }
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL);
    /* Partial writes let a large message go out as the socket accepts it, like send(). */
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
}
#endif

/* Blocking write/read of the set-up handshake byte, through TLS when there is a session. */
static int io_all(struct conn *c, char *buf, size_t len, int writing) {
    size_t done = 0;
    while (done < len) {
        long n;
#ifndef NO_TLS
        if (c->ssl)
            n = writing ? SSL_write(c->ssl, buf + done, (int)(len - done))
                        : SSL_read(c->ssl, buf + done, (int)(len - done));
        else
#endif
            n = writing ? send(c->fd, buf + done, len - done, MSG_NOSIGNAL)
                        : recv(c->fd, buf + done, len - done, 0);
        if (n <= 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

static void open_conn(struct conn *c, int port, int use_tls, double timeout) {
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) fail("socket");
    struct timeval tv = {.tv_sec = (time_t)timeout, .tv_usec = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) fail("connect");
    c->ssl = NULL;
    if (use_tls) {
#ifndef NO_TLS
        c->ssl = SSL_new(tls_ctx);
        SSL_set_fd(c->ssl, c->fd);
        if (SSL_connect(c->ssl) != 1) {
            fprintf(stderr, "echo_client: TLS handshake failed\n");
            ERR_print_errors_fp(stderr);
            exit(2);
        }
#else
        fprintf(stderr, "echo_client: built without OpenSSL (install libssl-dev)\n");
        exit(3);
#endif
    }
    char byte = 'x';
    if (io_all(c, &byte, 1, 1) < 0 || io_all(c, &byte, 1, 0) < 0) {
        fprintf(stderr, "echo_client: the server did not echo the set-up byte within %.0f s\n",
                timeout);
        exit(2);
    }
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->sent = c->received = 0;
    c->want_out = 0;
}

static void set_out_interest(struct conn *c, int want) {
    if (c->want_out == want) return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
}

static void close_conn(struct conn *c) {
    if (c->fd < 0) return;
    errors++;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

/*
 * Non-blocking send/recv. Returns bytes moved, 0 if it would block, -1 if the connection is gone.
 * *blocked_on_write is set when the operation needs the socket to become writable to progress.
 */
static long xfer(struct conn *c, char *buf, size_t len, int writing, int *blocked_on_write) {
#ifndef NO_TLS
    if (c->ssl) {
        int n = writing ? SSL_write(c->ssl, buf, (int)len) : SSL_read(c->ssl, buf, (int)len);
        if (n > 0) return n;
        int err = SSL_get_error(c->ssl, n);
        if (err == SSL_ERROR_WANT_READ) return 0;
        if (err == SSL_ERROR_WANT_WRITE) {
            *blocked_on_write = 1;
            return 0;
        }
        return -1;
    }
#endif
    ssize_t n = writing ? send(c->fd, buf, len, MSG_NOSIGNAL) : recv(c->fd, buf, len, 0);
    if (n > 0) return n;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (writing) *blocked_on_write = 1;
        return 0;
    }
    return -1;
}

/*
 * Move one connection forward as far as it goes without blocking: write what is left of its
 * message, read what came back. Reading and writing in the same pass matters for messages larger
 * than the socket buffers: the server echoes while we still send. Returns the number of round
 * trips finished inside the measured window.
 */
static int progress(struct conn *c) {
    int finished = 0;
    for (;;) {
        int blocked_on_write = 0;
        long moved = 0;
        if (c->sent < msg_size) {
            if (c->sent == 0) c->started = now();
            long n = xfer(c, msg_out + c->sent, msg_size - c->sent, 1, &blocked_on_write);
            if (n < 0) goto gone;
            c->sent += (size_t)n;
            moved += n;
        }
        if (c->received < c->sent) {
            long n = xfer(c, msg_in, msg_size - c->received, 0, &blocked_on_write);
            if (n < 0) goto gone;
            c->received += (size_t)n;
            moved += n;
        }
        if (c->received == msg_size) {
            double t = now();
            if (t >= t_count_from && t < t_count_until) {
                finished++;
                long us = (long)((t - c->started) * 1e6);
                hist[us < HIST_US ? us : HIST_US]++;
            }
            c->sent = c->received = 0;
            continue; /* start the next message right away */
        }
        set_out_interest(c, blocked_on_write);
        if (moved == 0) return finished;
    }
gone:
    close_conn(c);
    return finished;
}

static double percentile(unsigned long long total, double p) {
    unsigned long long want = (unsigned long long)(p * (double)total), seen = 0;
    for (long i = 0; i <= HIST_US; i++) {
        seen += hist[i];
        if (seen > want) return (double)i;
    }
    return (double)HIST_US;
}

int main(int argc, char **argv) {
    int port = 0, conns = 100, use_tls = 0, hold = 0;
    double warmup = 1.0, duration = 3.0, setup_timeout = 10.0;
    int opt;
    while ((opt = getopt(argc, argv, "p:c:s:w:d:tH")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'c': conns = atoi(optarg); break;
        case 's': msg_size = (size_t)atol(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 't': use_tls = 1; break;
        case 'H': hold = 1; break;
        default: usage();
        }
    }
    if (port <= 0 || conns <= 0 || msg_size == 0) usage();
    signal(SIGPIPE, SIG_IGN);
    raise_fd_limit();
#ifndef NO_TLS
    if (use_tls) tls_init();
#endif

    msg_out = malloc(msg_size);
    msg_in = malloc(msg_size);
    hist = calloc(HIST_US + 1, sizeof *hist);
    struct conn *cs = calloc((size_t)conns, sizeof *cs);
    if (!msg_out || !msg_in || !hist || !cs) fail("malloc");
    memset(msg_out, 'a', msg_size);

    double t_setup = now();
    for (int i = 0; i < conns; i++) open_conn(&cs[i], port, use_tls, setup_timeout);
    double setup_seconds = now() - t_setup;

    if (hold) {
        printf("READY %d\n", conns);
        fflush(stdout);
        char buf[64];
        while (read(0, buf, sizeof buf) > 0) {
        }
        return 0;
    }

    epfd = epoll_create1(0);
    if (epfd < 0) fail("epoll_create1");
    for (int i = 0; i < conns; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, cs[i].fd, &ev) < 0) fail("epoll_ctl");
    }

    t_count_from = now() + warmup;
    t_count_until = t_count_from + duration;
    long long roundtrips = 0;
    for (int i = 0; i < conns; i++) progress(&cs[i]); /* first messages out */
    struct epoll_event events[MAX_EVENTS];
    int announced = 0;
    double t;
    while ((t = now()) < t_count_until) {
        if (!announced && t >= t_count_from) {
            printf("COUNTING\n");
            fflush(stdout);
            announced = 1;
        }
        if (errors == conns) {
            fprintf(stderr, "echo_client: the server closed every connection\n");
            return 2;
        }
        int n = epoll_wait(epfd, events, MAX_EVENTS, 100);
        if (n < 0 && errno != EINTR) fail("epoll_wait");
        for (int i = 0; i < n; i++) roundtrips += progress(events[i].data.ptr);
    }

    unsigned long long total = 0;
    for (long i = 0; i <= HIST_US; i++) total += hist[i];
    printf("{\"conns\": %d, \"size\": %zu, \"tls\": %s, \"roundtrips\": %lld, \"seconds\": %.6f, "
           "\"rate\": %.1f, \"mib_per_s\": %.3f, \"p50_us\": %.0f, \"p99_us\": %.0f, "
           "\"errors\": %lld, \"setup_seconds\": %.3f}\n",
           conns, msg_size, use_tls ? "true" : "false", roundtrips, duration,
           (double)roundtrips / duration,
           (double)roundtrips * (double)msg_size * 2.0 / duration / (1024.0 * 1024.0),
           percentile(total, 0.50), percentile(total, 0.99), errors, setup_seconds);
    return 0;
}
