/* The client of bench/bench_echo.py: one load generator, in C with plain sockets, for every
 * echo server measured, so that the figures compare the servers and not a Python client.
 *
 *   echo_client HOST PORT pingpong  CONNS SIZE SECONDS
 *   echo_client HOST PORT pipelined CONNS SIZE SECONDS WINDOW
 *
 * pingpong: CONNS connections (TCP_NODELAY); each round sends one SIZE-byte message on every
 * connection, then reads every echo back; one operation = one message echoed.
 * pipelined: CONNS connections, each with up to WINDOW messages in flight: every message is
 * its own send() call (TCP_NODELAY: a segment each while the server keeps up), echoes are read
 * as they come; one operation = one message echoed.
 *
 * Every byte echoed is checked (message i carries i in its first 8 bytes, the rest a fixed
 * pattern), so a server that "goes fast" by dropping or mangling data fails. A warm-up of a
 * tenth of the time (at most 0.2 s) comes first. Prints "OPS SECONDS" on stdout; exits 1 with
 * a message on stderr on any error. */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 256

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "echo_client: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void fail(const char *what)
{
    fprintf(stderr, "echo_client: %s\n", what);
    exit(1);
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = {0}, *res, *ai;
    int fd = -1, one = 1;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        fail("getaddrinfo failed");
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Every message's bytes but its index: byte k = k * 7 + 3 (set_pattern, before any message). */
static unsigned char *pattern;

static void set_pattern(size_t size)
{
    pattern = malloc(size);
    if (!pattern)
        fail("out of memory");
    for (size_t k = 0; k < size; k++)
        pattern[k] = (unsigned char)(k * 7 + 3);
}

/* Message i: i (8 bytes, native order) then the pattern. */
static void make_message(unsigned char *msg, size_t size, uint64_t i)
{
    memcpy(msg, pattern, size);
    if (size >= 8)
        memcpy(msg, &i, 8);
}

/* Check the bytes at stream offset `off` of a connection against what was sent there, a
 * message's part at a time: its index bytes one by one, the rest with memcmp (a division per
 * byte made the check half of the client's time with 4 KiB messages, and the client, not the
 * server, set the pace). */
static void check(const unsigned char *got, size_t n, uint64_t off, size_t size)
{
    while (n) {
        uint64_t i = off / size;
        size_t k = (size_t)(off % size), run = size - k, j = 0;
        if (run > n)
            run = n;
        if (size >= 8)
            for (; j < run && k + j < 8; j++)
                if (got[j] != ((const unsigned char *)&i)[k + j])
                    fail("the server echoed wrong data");
        if (memcmp(got + j, pattern + k + j, run - j) != 0)
            fail("the server echoed wrong data");
        got += run;
        off += run;
        n -= run;
    }
}

static void send_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die("send");
        }
        p += w;
        n -= (size_t)w;
    }
}

static void recv_all(int fd, unsigned char *p, size_t n)
{
    while (n) {
        ssize_t r = recv(fd, p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("recv");
        }
        if (r == 0)
            fail("the server closed the connection");
        p += r;
        n -= (size_t)r;
    }
}

static void pingpong(int *fds, int conns, size_t size, double seconds)
{
    unsigned char *msg = malloc(size), *got = malloc(size);
    uint64_t *sent = calloc((size_t)conns, sizeof(uint64_t));
    unsigned long long ops = 0;
    double start = 0, end, warm = seconds / 10 > 0.2 ? 0.2 : seconds / 10, t0 = now();
    int measuring = 0;
    if (!msg || !got || !sent)
        fail("out of memory");
    for (;;) {
        for (int c = 0; c < conns; c++) {
            make_message(msg, size, sent[c]);
            send_all(fds[c], msg, size);
        }
        for (int c = 0; c < conns; c++) {
            recv_all(fds[c], got, size);
            check(got, size, sent[c] * size, size);
            sent[c]++;
        }
        if (measuring)
            ops += (unsigned long long)conns;
        if ((ops & 15) == 0 || !measuring) {
            double t = now();
            if (!measuring && t - t0 >= warm) {
                measuring = 1;
                start = t;
            } else if (measuring && t - start >= seconds)
                break;
        }
    }
    end = now();
    printf("%llu %.9f\n", ops, end - start);
    free(msg);
    free(got);
    free(sent);
}

struct pconn {
    int fd;
    uint64_t sent_msgs;         /* messages sent */
    uint64_t recv_bytes;        /* bytes echoed back */
};

static void pipelined(int *fds, int conns, size_t size, double seconds, unsigned window)
{
    struct pconn pc[MAX_CONNS];
    struct pollfd pfd[MAX_CONNS];
    unsigned char *msg = malloc(size);
    size_t bufsize = 1 << 18;
    unsigned char *buf = malloc(bufsize);
    double t0 = now(), warm = seconds / 10 > 0.2 ? 0.2 : seconds / 10, start = 0, stop_at = 0;
    uint64_t base_bytes = 0, total_bytes;
    int measuring = 0, stopping = 0;
    if (!msg || !buf)
        fail("out of memory");
    for (int c = 0; c < conns; c++) {
        pc[c].fd = fds[c];
        pc[c].sent_msgs = 0;
        pc[c].recv_bytes = 0;
    }
    for (;;) {
        int outstanding = 0;
        for (int c = 0; c < conns; c++) {
            /* Send while fewer than `window` messages are unanswered. */
            while (!stopping && pc[c].sent_msgs - pc[c].recv_bytes / size < window) {
                make_message(msg, size, pc[c].sent_msgs);
                send_all(pc[c].fd, msg, size);
                pc[c].sent_msgs++;
            }
            pfd[c].fd = pc[c].fd;
            pfd[c].events = pc[c].recv_bytes < pc[c].sent_msgs * size ? POLLIN : 0;
            if (pfd[c].events)
                outstanding = 1;
        }
        if (!outstanding)
            break;                      /* stopping, and everything came back */
        if (poll(pfd, (nfds_t)conns, 5000) <= 0)
            fail("no echo within 5 s");
        for (int c = 0; c < conns; c++) {
            if (!(pfd[c].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = recv(pc[c].fd, buf, bufsize, MSG_DONTWAIT);
            if (r < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                die("recv");
            }
            if (r == 0)
                fail("the server closed the connection");
            check(buf, (size_t)r, pc[c].recv_bytes, size);
            pc[c].recv_bytes += (uint64_t)r;
        }
        double t = now();
        if (!measuring && t - t0 >= warm) {
            measuring = 1;
            start = t;
            for (int c = 0; c < conns; c++)
                base_bytes += pc[c].recv_bytes;
        } else if (measuring && !stopping && t - start >= seconds) {
            stopping = 1;
            stop_at = t;
            total_bytes = 0;
            for (int c = 0; c < conns; c++)
                total_bytes += pc[c].recv_bytes;
            printf("%llu %.9f\n", (unsigned long long)((total_bytes - base_bytes) / size),
                   stop_at - start);
        }
    }
    free(msg);
    free(buf);
}

int main(int argc, char **argv)
{
    int fds[MAX_CONNS], conns;
    size_t size;
    double seconds;
    if (argc < 7 || (strcmp(argv[3], "pipelined") == 0 && argc < 8)) {
        fprintf(stderr, "usage: echo_client HOST PORT pingpong|pipelined CONNS SIZE SECONDS [WINDOW]\n");
        return 2;
    }
    conns = atoi(argv[4]);
    size = (size_t)atol(argv[5]);
    seconds = atof(argv[6]);
    if (conns < 1 || conns > MAX_CONNS || size < 1 || seconds <= 0)
        fail("CONNS must be 1..256, SIZE >= 1, SECONDS > 0");
    set_pattern(size);
    for (int c = 0; c < conns; c++)
        fds[c] = connect_to(argv[1], argv[2]);
    if (strcmp(argv[3], "pingpong") == 0)
        pingpong(fds, conns, size, seconds);
    else if (strcmp(argv[3], "pipelined") == 0)
        pipelined(fds, conns, size, seconds, (unsigned)atoi(argv[7]));
    else
        fail("mode must be pingpong or pipelined");
    for (int c = 0; c < conns; c++)
        close(fds[c]);
    return 0;
}
