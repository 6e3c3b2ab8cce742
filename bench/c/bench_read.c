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
 * stamped in the block), and puts a new read at a random block in its slot (the step is
 * ioring_rw_step of include/ioring/step_loop.h, as ioring._bench's).
 * One line per depth: read qd=32 ops=... seconds=... ops_per_sec=... ns_per_op=... impl=...
 * Built against our core (bench_read) or liburing (bench_read_liburing), see bench_loop.h. */
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench_loop.h"

#define BS IORING_STEP_BS
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
    static bench_ring ring;
    static uint64_t block[MAX_QD];
    static struct io_uring_cqe *cqes[MAX_QD];
    static struct ioring_rw_loop c;
    struct read_opts o = {64, NULL, 0, 0};
    struct bench_args a;
    char path[4096], extra[64];
    unsigned max_qd = 0;
    unsigned char *bufs;
    int wfd, fd, status = 0;
    uint64_t nblocks;

    bench_parse(argc, argv, &a, defaults, 4, read_flag, &o, READ_USAGE);
    for (int k = 0; k < a.npoints; k++)
        if (a.points[k] > max_qd)
            max_qd = a.points[k];
    nblocks = (uint64_t)o.size_mib * (1024 * 1024 / BS);
    if (posix_memalign((void **)&bufs, BS, (size_t)max_qd * BS)) {
        fprintf(stderr, "out of memory\n");
        return BENCH_EXIT_FAIL;
    }
    memset(bufs, 0, (size_t)max_qd * BS);

    wfd = bench_make_file(o.dir, path, sizeof(path), nblocks, o.direct);
    if (wfd < 0)
        return BENCH_EXIT_FAIL;
    fd = wfd;
    if (o.direct) {
        fd = open(path, O_RDONLY | O_DIRECT);
        if (fd < 0) {
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
        struct ioring_step_result r;
        unsigned qd = a.points[k];

        memset(&ring, 0, sizeof(ring));
        memset(&c, 0, sizeof(c));
        c.ring = &ring;
        c.fd = fd;
        c.qd = qd;
        c.fixed_buffers = o.fixed;
        c.verify = 1;
        c.nblocks = nblocks;
        c.rng = 0x9e3779b97f4a7c15ull ^ qd;
        c.bufs = bufs;
        c.block = block;
        c.cqes = cqes;
        bench_ring_init(&ring, qd, 0);
        if (o.fixed) {
            struct iovec *iov = (struct iovec *)calloc(qd, sizeof(*iov));
            int ret;
            if (!iov)
                return BENCH_EXIT_FAIL;
            for (unsigned s = 0; s < qd; s++) {
                iov[s].iov_base = bufs + (size_t)s * BS;
                iov[s].iov_len = BS;
            }
            ret = ioring_register_buffers(&ring, iov, qd);
            free(iov);
            if (ret < 0) {
                printf("# %s: register_buffers: %s\n", ret == -ENOMEM ? "skip" : "error",
                       strerror(-ret));
                ioring_queue_exit(&ring);
                return ret == -ENOMEM ? BENCH_EXIT_SKIP : BENCH_EXIT_FAIL;
            }
        }
        for (unsigned s = 0; s < qd; s++)
            if (ioring_rw_queue(&c, s) < 0) {
                fprintf(stderr, "%s\n", c.err);
                return BENCH_EXIT_FAIL;
            }
        if (ioring_step_timed(a.seconds, ioring_rw_step, &c, &r) < 0 || ioring_rw_drain(&c, qd) < 0) {
            fprintf(stderr, "%s\n", c.err);
            status = BENCH_EXIT_FAIL;
        }
        ioring_queue_exit(&ring);
        if (!status)
            bench_print("read", "qd", qd, &r, extra);
    }
    close(fd);
    if (fd != wfd)
        close(wfd);
    free(bufs);
    return status;
}
