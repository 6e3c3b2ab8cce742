/* 4 KiB random reads from a file, QD reads kept in flight.
 *
 *   bench_read [--seconds S] [--size MiB] [--dir DIR] [--fixed] [--direct] [QD ...]
 *                                                        (default queue depths: 1 8 32 128)
 *
 * The file (default 64 MiB) is created in DIR (default $TMPDIR, else /tmp), filled, and deleted
 * at exit. Without --direct it is read from the page cache (it was just written), so the figure
 * is the ring plus a 4 KiB copy; with --direct (O_DIRECT) every read goes to the device.
 * --fixed reads into registered buffers (read_fixed) instead of plain read.
 * Each step waits for at least one completion, checks it (res == 4096 and the block number
 * stamped in the block), and puts a new read at a random block in its slot.
 * One line per depth: read qd=32 ops=... seconds=... ops_per_sec=... ns_per_op=... impl=...
 * Built against our core (bench_read) or liburing (bench_read_liburing), see bench_loop.h. */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench_loop.h"

#define BS 4096u
#define MAX_QD 4096

#define READ_USAGE                                                                             \
    "usage: bench_read [--seconds S] [--size MiB] [--dir DIR] [--fixed] [--direct] [QD ...]\n" \
    "  QD         reads in flight (default: 1 8 32 128)\n"                                     \
    "  --seconds  measured time per queue depth (default 1)\n"                                 \
    "  --size     file size in MiB (default 64)\n"                                             \
    "  --dir      where to create the file (default $TMPDIR, else /tmp)\n"                     \
    "  --fixed    registered buffers (read_fixed)\n"                                           \
    "  --direct   O_DIRECT (bypass the page cache)\n"

struct read_opts {
    unsigned size_mib;
    const char *dir;
    int fixed;
    int direct;
};

struct read_ctx {
    bench_ring ring;
    int fd;
    unsigned qd;
    int fixed;
    uint64_t nblocks;
    uint64_t rng;
    unsigned char *bufs;               /* qd blocks of BS, page aligned */
    uint64_t block[MAX_QD];            /* block being read into each slot */
    struct io_uring_cqe *cqes[MAX_QD];
};

static uint64_t next_rand(uint64_t *s)
{
    /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static int queue_read(struct read_ctx *c, unsigned slot)
{
    struct io_uring_sqe *sqe = ioring_get_sqe(&c->ring);
    uint64_t blk = next_rand(&c->rng) % c->nblocks;
    void *buf = c->bufs + (size_t)slot * BS;

    if (!sqe) {
        fprintf(stderr, "get_sqe: SQ full\n");
        return -1;
    }
    if (c->fixed)
        ioring_prep_read_fixed(sqe, c->fd, buf, BS, blk * BS, (int)slot);
    else
        ioring_prep_read(sqe, c->fd, buf, BS, blk * BS);
    sqe->user_data = slot;
    c->block[slot] = blk;
    return 0;
}

static int read_step(void *arg)
{
    struct read_ctx *c = (struct read_ctx *)arg;
    unsigned n;
    int ret = ioring_submit_and_wait(&c->ring, 1);

    if (ret < 0) {
        fprintf(stderr, "submit_and_wait: %s\n", strerror(-ret));
        return -1;
    }
    n = ioring_peek_batch_cqe(&c->ring, c->cqes, c->qd);
    for (unsigned i = 0; i < n; i++) {
        const struct io_uring_cqe *cqe = c->cqes[i];
        unsigned slot = (unsigned)cqe->user_data;
        uint64_t stamp;
        if (slot >= c->qd || cqe->res != (int)BS) {
            fprintf(stderr, "bad completion: user_data %llu res %d (%s)\n",
                    (unsigned long long)cqe->user_data, cqe->res,
                    cqe->res < 0 ? strerror(-cqe->res) : "short read");
            return -1;
        }
        memcpy(&stamp, c->bufs + (size_t)slot * BS, sizeof(stamp));
        if (stamp != c->block[slot]) {
            fprintf(stderr, "slot %u: read block %llu, expected %llu\n", slot,
                    (unsigned long long)stamp, (unsigned long long)c->block[slot]);
            return -1;
        }
        if (queue_read(c, slot) < 0)
            return -1;
    }
    ioring_cq_advance(&c->ring, n);
    return (int)n;
}

/* Wait for every read still in flight so the ring can be torn down cleanly. */
static int drain(struct read_ctx *c, unsigned inflight)
{
    while (inflight) {
        int ret = ioring_submit_and_wait(&c->ring, 1);
        unsigned n;
        if (ret < 0) {
            fprintf(stderr, "drain: %s\n", strerror(-ret));
            return -1;
        }
        n = ioring_peek_batch_cqe(&c->ring, c->cqes, c->qd);
        ioring_cq_advance(&c->ring, n);
        inflight -= n;
    }
    return 0;
}

static int read_flag(int argc, char **argv, int i, void *ctx)
{
    struct read_opts *o = (struct read_opts *)ctx;
    if (!strcmp(argv[i], "--fixed")) {
        o->fixed = 1;
        return 1;
    }
    if (!strcmp(argv[i], "--direct")) {
        o->direct = 1;
        return 1;
    }
    if (!strcmp(argv[i], "--dir") && i + 1 < argc) {
        o->dir = argv[i + 1];
        return 2;
    }
    if (!strcmp(argv[i], "--size") && i + 1 < argc) {
        char *end;
        unsigned long v = strtoul(argv[i + 1], &end, 10);
        if (*end || v < 1 || v > 1u << 20)
            return 0;
        o->size_mib = (unsigned)v;
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const unsigned defaults[] = {1, 8, 32, 128};
    static struct read_ctx c;
    struct read_opts o = {64, NULL, 0, 0};
    struct bench_args a;
    char path[4096], extra[64];
    unsigned max_qd = 0;
    int wfd, status = 0;

    bench_parse(argc, argv, &a, defaults, 4, read_flag, &o, READ_USAGE);
    for (int k = 0; k < a.npoints; k++)
        if (a.points[k] > max_qd)
            max_qd = a.points[k];
    c.nblocks = (uint64_t)o.size_mib * (1024 * 1024 / BS);
    if (posix_memalign((void **)&c.bufs, BS, (size_t)max_qd * BS)) {
        fprintf(stderr, "out of memory\n");
        return BENCH_EXIT_FAIL;
    }
    memset(c.bufs, 0, (size_t)max_qd * BS);

    wfd = bench_make_file(o.dir, path, sizeof(path), c.nblocks, o.direct);
    if (wfd < 0)
        return BENCH_EXIT_FAIL;
    c.fd = wfd;
    if (o.direct) {
        c.fd = open(path, O_RDONLY | O_DIRECT);
        if (c.fd < 0) {
            int err = errno;
            unlink(path);
            printf("# skip: O_DIRECT refused in %s: %s\n", path, strerror(err));
            return err == EINVAL ? BENCH_EXIT_SKIP : BENCH_EXIT_FAIL;
        }
    }
    unlink(path); /* gone when we exit, whatever happens */
    snprintf(extra, sizeof(extra), "fixed=%d direct=%d", o.fixed, o.direct);
    printf("# bench_read impl=%s seconds=%g file=%uMiB bs=%u %s\n", BENCH_IMPL, a.seconds,
           o.size_mib, BS, extra);

    for (int k = 0; k < a.npoints && !status; k++) {
        struct bench_result r;
        unsigned qd = a.points[k];

        memset(&c.ring, 0, sizeof(c.ring));
        c.qd = qd;
        c.fixed = o.fixed;
        c.rng = 0x9e3779b97f4a7c15ull ^ qd;
        bench_ring_init(&c.ring, qd, 0);
        if (o.fixed) {
            struct iovec *iov = (struct iovec *)calloc(qd, sizeof(*iov));
            int ret;
            if (!iov)
                return BENCH_EXIT_FAIL;
            for (unsigned s = 0; s < qd; s++) {
                iov[s].iov_base = c.bufs + (size_t)s * BS;
                iov[s].iov_len = BS;
            }
            ret = ioring_register_buffers(&c.ring, iov, qd);
            free(iov);
            if (ret < 0) {
                printf("# %s: register_buffers: %s\n", ret == -ENOMEM ? "skip" : "error",
                       strerror(-ret));
                ioring_queue_exit(&c.ring);
                return ret == -ENOMEM ? BENCH_EXIT_SKIP : BENCH_EXIT_FAIL;
            }
        }
        for (unsigned s = 0; s < qd; s++)
            if (queue_read(&c, s) < 0)
                return BENCH_EXIT_FAIL;
        if (bench_timed(a.seconds, read_step, &c, &r) < 0)
            status = BENCH_EXIT_FAIL;
        else if (drain(&c, qd) < 0)
            status = BENCH_EXIT_FAIL;
        ioring_queue_exit(&c.ring);
        if (!status)
            bench_print("read", "qd", qd, &r, extra);
    }
    close(c.fd);
    if (c.fd != wfd)
        close(wfd);
    free(c.bufs);
    return status;
}
