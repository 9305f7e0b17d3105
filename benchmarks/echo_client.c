/* Load client of bench_echo.py: N connections, each sending a message and waiting
 * for its full echo before sending the next (one round trip in flight per
 * connection). Counts round trips completed after a warm-up, for a fixed time.
 *
 * usage: echo_client HOST PORT CONNECTIONS MSG_BYTES WARMUP_S DURATION_S
 * prints: "<round trips> <seconds>" on stdout; exits 1 on any connection error.
 *
 * Compiled by bench_echo.py with gcc at benchmark time, so the client costs
 * far less CPU per round trip than any of the Python servers it measures.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    size_t got; /* bytes of the current echo received so far */
};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void send_all(int fd, const char *buf, size_t len) {
    /* 100-byte messages fit any socket buffer; a short send would mean the
     * server stopped reading, which is a failure of the run, not a case to wait on. */
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n != (ssize_t)len) die("send");
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS MSG_BYTES WARMUP_S DURATION_S\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    int nconn = atoi(argv[3]);
    size_t msg = (size_t)atoi(argv[4]);
    double warmup = atof(argv[5]);
    double duration = atof(argv[6]);

    char *out = malloc(msg), *in = malloc(msg);
    memset(out, 'x', msg);
    struct conn *conns = calloc((size_t)nconn, sizeof *conns);
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) die("inet_pton");
    for (int i = 0; i < nconn; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) die("socket");
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) die("connect");
        conns[i].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
    }
    for (int i = 0; i < nconn; i++) send_all(conns[i].fd, out, msg);

    double start = now(), measure_from = start + warmup, end = measure_from + duration;
    long long counted = 0;
    int measuring = 0;
    struct epoll_event events[256];
    for (;;) {
        double t = now();
        if (!measuring && t >= measure_from) {
            measuring = 1;
            counted = 0;
        }
        if (t >= end) break;
        int n = epoll_wait(ep, events, 256, 100);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int k = 0; k < n; k++) {
            struct conn *c = events[k].data.ptr;
            ssize_t r = recv(c->fd, in, msg - c->got, 0);
            if (r == 0) {
                fprintf(stderr, "server closed a connection\n");
                return 1;
            }
            if (r < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                die("recv");
            }
            c->got += (size_t)r;
            if (c->got == msg) {
                c->got = 0;
                counted++;
                send_all(c->fd, out, msg);
            }
        }
    }
    double elapsed = now() - measure_from;
    printf("%lld %.6f\n", counted, elapsed);
    for (int i = 0; i < nconn; i++) close(conns[i].fd);
    return 0;
}
