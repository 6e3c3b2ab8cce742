/* The echo server of bench/bench_echo.py --limit: the same server in C, its receives made three
 * ways, so that what each way costs the echo cases is measured without Python (issue 19: is
 * ping-pong with one connection within reach of a server that receives through io_uring?).
 *
 *   echo_server_limit epoll       epoll_wait on the sockets, recv(2) into a 256 KiB buffer,
 *                                 send(2): asyncio's selector transport
 *   echo_server_limit uring       epoll_wait on the ring's fd, then the CQEs of a multishot
 *                                 recv (provided buffers) and of a multishot accept, send(2):
 *                                 what ioring.asyncio's streams do under an event loop
 *   echo_server_limit uring-wait  the same requests, waited for in io_uring_enter (no epoll):
 *                                 a server with no event loop around its ring
 *
 * The ring is set up as AsyncRing sets its own (IORING_SETUP_COOP_TASKRUN). Listens on
 * 127.0.0.1, an ephemeral port printed on the first line of stdout; serves until killed.
 * Connections are accepted at any time and closed at end of stream or on an error. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ioring/buf_ring.h"
#include "ioring/prep_net.h"
#include "ioring/ring.h"

#define NBUFS 128                   /* AsyncRing's default BufferRing: 128 x 16 KiB */
#define BUF_SIZE 16384
#define ACCEPT_UD (~(uint64_t)0)    /* the multishot accept's user_data; a recv's is its fd */

static void die(const char *what, int err)
{
    fprintf(stderr, "echo_server_limit: %s: %s\n", what, strerror(err));
    exit(1);
}

static int listen_on_loopback(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        die("socket", errno);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128) ||
        getsockname(fd, (struct sockaddr *)&a, &len))
        die("listen", errno);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Sends all of it; false when the peer is gone (the connection is then closed). */
static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        p += w;
        n -= (size_t)w;
    }
    return 1;
}

static void serve_epoll(int lfd)
{
    static char buf[1 << 18];
    struct epoll_event ev = {.events = EPOLLIN}, evs[64];
    int ep = epoll_create1(EPOLL_CLOEXEC);
    ev.data.fd = lfd;
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev))
        die("epoll", errno);
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait", errno);
        }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (c < 0)
                    continue;
                set_nodelay(c);
                ev.data.fd = c;
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                continue;
            }
            ssize_t r = recv(fd, buf, sizeof(buf), 0);
            if (r < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (r <= 0 || !send_all(fd, buf, (size_t)r)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
        }
    }
}

static struct io_uring_sqe *next_sqe(struct ioring *ring)
{
    struct io_uring_sqe *sqe = ioring_get_sqe(ring);
    if (!sqe) {
        ioring_submit(ring);
        sqe = ioring_get_sqe(ring);
        if (!sqe)
            die("get_sqe", EBUSY);
    }
    return sqe;
}

static void arm_recv(struct ioring *ring, int fd)
{
    struct io_uring_sqe *sqe = next_sqe(ring);
    ioring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    sqe->user_data = (uint64_t)fd;
}

static void arm_accept(struct ioring *ring, int lfd)
{
    struct io_uring_sqe *sqe = next_sqe(ring);
    ioring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
    sqe->user_data = ACCEPT_UD;
}

static void serve_uring(int lfd, int use_epoll)
{
    struct ioring ring;
    struct io_uring_buf_reg reg;
    struct io_uring_buf_ring *br;
    struct epoll_event ev = {.events = EPOLLIN}, got;
    char *bufs = malloc((size_t)NBUFS * BUF_SIZE);
    int ep = -1, ret, mask = ioring_buf_ring_mask(NBUFS);

    ret = ioring_queue_init(256, &ring, IORING_SETUP_COOP_TASKRUN);
    if (ret < 0)
        die("io_uring_setup", -ret);
    br = mmap(NULL, NBUFS * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (br == MAP_FAILED || !bufs)
        die("memory", ENOMEM);
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (uint64_t)(uintptr_t)br;
    reg.ring_entries = NBUFS;
    reg.bgid = 0;
    ret = ioring_register_buf_ring(&ring, &reg, 0);
    if (ret < 0)
        die("register_buf_ring", -ret);
    ioring_buf_ring_init(br);
    for (int b = 0; b < NBUFS; b++)
        ioring_buf_ring_add(br, bufs + (size_t)b * BUF_SIZE, BUF_SIZE, (unsigned short)b, mask, b);
    ioring_buf_ring_advance(br, NBUFS);
    arm_accept(&ring, lfd);
    ioring_submit(&ring);
    if (use_epoll) {
        ep = epoll_create1(EPOLL_CLOEXEC);
        ev.data.fd = ring.ring_fd;
        if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, ring.ring_fd, &ev))
            die("epoll", errno);
    }
    for (;;) {
        struct io_uring_cqe *cqe, *cqes[64];
        unsigned n;
        if (use_epoll)
            ret = epoll_wait(ep, &got, 1, -1) < 0 ? -errno : 0;
        else
            ret = ioring_wait_cqe(&ring, &cqe);
        if (ret == -EINTR || ret == -ETIME)
            continue;
        if (ret < 0)
            die("wait", -ret);
        n = ioring_peek_batch_cqe(&ring, cqes, 64);
        for (unsigned i = 0; i < n; i++) {
            int more;
            cqe = cqes[i];
            more = cqe->flags & IORING_CQE_F_MORE;
            if (cqe->user_data == ACCEPT_UD) {
                if (cqe->res >= 0) {
                    set_nodelay(cqe->res);
                    arm_recv(&ring, cqe->res);
                }
                if (!more)
                    arm_accept(&ring, lfd);
                continue;
            }
            int fd = (int)cqe->user_data;
            if (cqe->res > 0) {
                unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
                int alive = send_all(fd, bufs + (size_t)bid * BUF_SIZE, (size_t)cqe->res);
                ioring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
                                    mask, 0);
                ioring_buf_ring_advance(br, 1);
                if (alive && !more)
                    arm_recv(&ring, fd);
            } else if (cqe->res == -ENOBUFS) {
                arm_recv(&ring, fd);
            } else if (!more) {
                close(fd);          /* end of stream, or an error (a failed send leads here) */
            }
        }
        ioring_cq_advance(&ring, n);
        if (ioring_sq_ready(&ring))
            ioring_submit(&ring);
    }
}

int main(int argc, char **argv)
{
    int lfd;
    if (argc != 2) {
        fprintf(stderr, "usage: echo_server_limit epoll|uring|uring-wait\n");
        return 2;
    }
    lfd = listen_on_loopback();
    if (strcmp(argv[1], "epoll") == 0)
        serve_epoll(lfd);
    else if (strcmp(argv[1], "uring") == 0)
        serve_uring(lfd, 1);
    else if (strcmp(argv[1], "uring-wait") == 0)
        serve_uring(lfd, 0);
    fprintf(stderr, "echo_server_limit: unknown mode %s\n", argv[1]);
    return 2;
}
