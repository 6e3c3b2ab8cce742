/* The constant-depth request stream of include/ioring/stream.h (the loop behind Ring.run_stream
 * and the C reference of `python -m ioring bench randread ...`), as a C program.
 *
 *   bench_stream [--seconds S] [--size MiB] [--dir DIR] [--file PATH] [--rw RW] [--bs BYTES]
 *                [--rwmixread P] [--fixed] [--direct] [--fio-flags] [--batch-submit N] [QD ...]
 *                                                        (default queue depths: 1 8 32 128)
 *
 * RW is fio's: randread (default), randwrite, read, write, randrw, rw. The file (default
 * 64 MiB) is created in DIR (default $TMPDIR, else /tmp), filled, and deleted at exit; --file
 * uses an existing file or block device instead, which is then only read (writes refused).
 * --fixed: registered buffers and the fd registered; --direct: O_DIRECT; --fio-flags: the ring
 * is created as fio's (SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN); --batch-submit N: at most N
 * requests per io_uring_enter (default: 8 with --direct or --fixed, as Ring.run_stream, else 0). Reads check the block
 * stamps of the file this program wrote. A warm-up of S/10 (at most 0.2 s) precedes each point.
 * One line per depth, latencies from submission to reaping:
 *   stream qd=32 ops=... seconds=... ops_per_sec=... ns_per_op=... impl=ioring rw=randread
 *          bs=4096 fixed=0 direct=0 p50_us=... p90_us=... p99_us=... p99.9_us=... enters=... */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_loop.h"
#include "ioring/stream.h"

#define STREAM_USAGE                                                                            \
    "usage: bench_stream [--seconds S] [--size MiB] [--dir DIR] [--file PATH] [--rw RW]\n"      \
    "                    [--bs BYTES] [--rwmixread P] [--fixed] [--direct] [--fio-flags]\n"       \
    "                    [--batch-submit N] [QD ...]\n"                                            \
    "  QD           requests in flight (default: 1 8 32 128)\n"                                 \
    "  --seconds    measured time per queue depth (default 1)\n"                                \
    "  --size       size of the file created, MiB (default 64)\n"                               \
    "  --dir        where to create it (default $TMPDIR, else /tmp)\n"                          \
    "  --file       an existing file or block device instead (only read)\n"                     \
    "  --rw         randread (default), randwrite, read, write, randrw, rw\n"                   \
    "  --bs         bytes per request (default 4096)\n"                                         \
    "  --rwmixread  percent of reads of randrw and rw (default 50)\n"                           \
    "  --fixed      registered buffers and file\n"                                              \
    "  --direct     O_DIRECT (bypass the page cache)\n"                                         \
    "  --fio-flags  ring flags as fio's: SINGLE_ISSUER | DEFER_TASKRUN | COOP_TASKRUN\n"          \
    "  --batch-submit  requests per io_uring_enter at most (default 8 with --direct or --fixed)\n"

struct stream_opts {
    unsigned size_mib;
    const char *dir;
    const char *file;
    const char *rw;
    unsigned bs;
    unsigned rwmixread;
    int fixed;
    int direct;
    int fio_flags;
    int batch_submit;               /* -1: Ring.run_stream's default */
};

static int parse_unsigned(const char *text, unsigned long lo, unsigned long hi, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (*end || v < lo || v > hi)
        return 0;
    *out = (unsigned)v;
    return 1;
}

static int stream_flag(int argc, char **argv, int i, void *ctx)
{
    struct stream_opts *o = (struct stream_opts *)ctx;
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--fixed"))
        return o->fixed = 1;
    if (!strcmp(a, "--direct"))
        return o->direct = 1;
    if (!strcmp(a, "--fio-flags"))
        return o->fio_flags = 1;
    if (!v)
        return 0;
    if (!strcmp(a, "--dir"))
        return o->dir = v, 2;
    if (!strcmp(a, "--file"))
        return o->file = v, 2;
    if (!strcmp(a, "--rw"))
        return o->rw = v, 2;
    if (!strcmp(a, "--size"))
        return parse_unsigned(v, 1, 1u << 20, &o->size_mib) ? 2 : 0;
    if (!strcmp(a, "--bs"))
        return parse_unsigned(v, 1, 1u << 30, &o->bs) ? 2 : 0;
    if (!strcmp(a, "--rwmixread"))
        return parse_unsigned(v, 0, 100, &o->rwmixread) ? 2 : 0;
    if (!strcmp(a, "--batch-submit")) {
        unsigned n;
        return parse_unsigned(v, 0, IORING_STREAM_MAX_DEPTH, &n) ? (o->batch_submit = (int)n, 2) : 0;
    }
    return 0;
}

/* fio's rw names: the pattern and the percentage of reads. */
static int parse_rw(const char *rw, unsigned mix, int *pattern, unsigned *read_percent)
{
    static const struct { const char *name; int pattern; int reads; } modes[] = {
        {"randread", IORING_STREAM_RANDOM, 100}, {"randwrite", IORING_STREAM_RANDOM, 0},
        {"randrw", IORING_STREAM_RANDOM, -1},    {"read", IORING_STREAM_SEQUENTIAL, 100},
        {"write", IORING_STREAM_SEQUENTIAL, 0},  {"rw", IORING_STREAM_SEQUENTIAL, -1},
    };
    for (size_t k = 0; k < sizeof(modes) / sizeof(modes[0]); k++) {
        if (!strcmp(rw, modes[k].name)) {
            *pattern = modes[k].pattern;
            *read_percent = modes[k].reads < 0 ? mix : (unsigned)modes[k].reads;
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const unsigned defaults[] = {1, 8, 32, 128};
    struct stream_opts o = {64, NULL, NULL, "randread", 4096, 50, 0, 0, 0, -1};
    struct bench_args a;
    struct ioring_stream_config cfg;
    char path[4096], extra[512];
    unsigned max_qd = 0, read_percent;
    unsigned char *bufs = NULL;
    size_t stride;
    uint64_t size;
    int pattern, fd, wfd = -1, status = 0;
    unsigned setup_flags;

    bench_parse(argc, argv, &a, defaults, 4, stream_flag, &o, STREAM_USAGE);
    if (!parse_rw(o.rw, o.rwmixread, &pattern, &read_percent)) {
        fprintf(stderr, "unknown --rw %s\n%s", o.rw, STREAM_USAGE);
        return 2;
    }
    setup_flags = o.fio_flags ? IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                                    IORING_SETUP_COOP_TASKRUN
                              : 0;
    for (int k = 0; k < a.npoints; k++)
        if (a.points[k] > max_qd)
            max_qd = a.points[k];
    stride = ((size_t)o.bs + 4095) & ~(size_t)4095;
    if (posix_memalign((void **)&bufs, 4096, stride * max_qd)) {
        fprintf(stderr, "out of memory\n");
        return BENCH_EXIT_FAIL;
    }
    memset(bufs, 0, stride * max_qd);

    if (o.file) {
        if (read_percent < 100) {
            fprintf(stderr, "refusing to write into --file %s\n", o.file);
            return 2;
        }
        snprintf(path, sizeof(path), "%s", o.file);
    } else {
        wfd = bench_make_file(o.dir, path, sizeof(path), (uint64_t)o.size_mib << 8, o.direct);
        if (wfd < 0)
            return BENCH_EXIT_FAIL;
    }
    fd = open(path, (read_percent == 100 ? O_RDONLY : O_RDWR) | (o.direct ? O_DIRECT : 0));
    if (fd < 0) {
        int err = errno;
        if (wfd >= 0)
            unlink(path);
        printf("# skip: cannot open %s%s: %s\n", path, o.direct ? " with O_DIRECT" : "", strerror(err));
        return err == EINVAL ? BENCH_EXIT_SKIP : BENCH_EXIT_FAIL;
    }
    if (wfd >= 0)
        unlink(path);       /* gone when we exit, whatever happens */
    size = (uint64_t)lseek(fd, 0, SEEK_END);
    if (size < o.bs) {
        fprintf(stderr, "%s is smaller than one block of %u bytes\n", path, o.bs);
        return BENCH_EXIT_FAIL;
    }
    printf("# bench_stream impl=%s seconds=%g file=%s size=%llu rw=%s bs=%u fixed=%d direct=%d "
           "setup_flags=%#x\n", BENCH_IMPL, a.seconds, o.file ? o.file : "(created)",
           (unsigned long long)size, o.rw, o.bs, o.fixed, o.direct, setup_flags);

    for (int k = 0; k < a.npoints && !status; k++) {
        static struct ioring_stream s;
        struct ioring_lat_hist *h = &s.totals.lat[0];
        struct ioring_step_result r;
        struct ioring ring;
        unsigned qd = a.points[k];
        int ret;

        bench_ring_init(&ring, qd, setup_flags);
        memset(&cfg, 0, sizeof(cfg));
        cfg.fd = fd;
        cfg.depth = qd;
        cfg.submit_batch = o.batch_submit >= 0 ? (unsigned)o.batch_submit
                           : (o.direct || o.fixed) ? 8u : 0u;
        cfg.bs = o.bs;
        cfg.read_percent = read_percent;
        cfg.pattern = pattern;
        cfg.nblocks = size / o.bs;
        cfg.seed = qd;
        cfg.ramp_ns = (int64_t)((a.seconds / 10 < 0.2 ? a.seconds / 10 : 0.2) * 1e9);
        cfg.run_ns = (int64_t)(a.seconds * 1e9);
        cfg.bufs = bufs;
        cfg.buf_stride = stride;
        /* The stamps are only known for the file written here, at 4 KiB-aligned offsets. */
        if (!o.file && o.bs % 4096 == 0)
            cfg.flags |= IORING_STREAM_VERIFY;
        if (o.fixed) {
            ret = ioring_stream_register_buffers(&ring, bufs, stride, qd, o.bs);
            if (ret >= 0)
                ret = ioring_register_files(&ring, &fd, 1);
            if (ret < 0) {
                printf("# %s: registration: %s\n", ret == -ENOMEM ? "skip" : "error", strerror(-ret));
                ioring_queue_exit(&ring);
                return ret == -ENOMEM ? BENCH_EXIT_SKIP : BENCH_EXIT_FAIL;
            }
            cfg.fd = 0;
            cfg.flags |= IORING_STREAM_FIXED_FILE | IORING_STREAM_FIXED_BUFFERS;
        }
        ret = ioring_stream_init(&s, &ring, &cfg);
        if (ret < 0) {
            fprintf(stderr, "stream init: %s\n", strerror(-ret));
            return BENCH_EXIT_FAIL;
        }
        ret = ioring_stream_run(&s);
        if (ret < 0) {
            fprintf(stderr, "io_uring_enter: %s\n", strerror(-ret));
            status = BENCH_EXIT_FAIL;
        } else if (s.has_error) {
            fprintf(stderr, "request %llu at offset %llu: res %d (%s)\n",
                    (unsigned long long)s.first_error.index, (unsigned long long)s.first_error.offset,
                    s.first_error.res,
                    s.first_error.res < 0 ? strerror(-s.first_error.res)
                    : s.first_error.error == IORING_STREAM_ERR_VERIFY ? "wrong block stamp"
                                                                       : "short transfer");
            status = BENCH_EXIT_FAIL;
        }
        if (!status) {
            ioring_lat_hist_merge(h, &s.totals.lat[1]);
            r.ops = s.totals.ios;
            r.seconds = (double)ioring_stream_elapsed_ns(&s) / 1e9;
            snprintf(extra, sizeof(extra),
                     "rw=%s bs=%u fixed=%d direct=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f "
                     "p99.9_us=%.1f enters=%llu", o.rw, o.bs, o.fixed, o.direct,
                     ioring_lat_hist_percentile(h, 50) / 1e3, ioring_lat_hist_percentile(h, 90) / 1e3,
                     ioring_lat_hist_percentile(h, 99) / 1e3, ioring_lat_hist_percentile(h, 99.9) / 1e3,
                     (unsigned long long)s.enters);
            bench_print("stream", "qd", qd, &r, extra);
        }
        ioring_stream_free(&s);
        ioring_queue_exit(&ring);
    }
    close(fd);
    if (wfd >= 0)
        close(wfd);
    free(bufs);
    return status;
}
