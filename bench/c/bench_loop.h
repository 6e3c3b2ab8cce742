/* The shared part of the C reference benchmarks: which ring implementation they run on, the
 * command line and the output line. The step loops and the timed loop themselves are
 * include/ioring/step_loop.h, which ioring._bench (the C references of `python -m ioring bench`)
 * includes too: the programs here and the package measure the same loop.
 *
 * The benchmarks are written against our core's names (ioring_*, struct ioring). Compiled with
 * -DIORING_BENCH_LIBURING the same source runs on liburing instead: the handful of ioring_*
 * names the benchmarks use map onto their io_uring_* twins (same arguments, same semantics),
 * and the ring type is bench_ring in both cases. Nothing else differs between the two builds,
 * so the difference in their figures is the difference between the two ring implementations.
 *
 * Output: one line per measured point, key=value, for example
 *   nop batch=32 ops=12345678 seconds=1.000 ops_per_sec=12345678 ns_per_op=81.0 impl=ioring
 * Lines starting with '#' are comments (parameters of the run). */
#ifndef IORING_BENCH_LOOP_H
#define IORING_BENCH_LOOP_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef IORING_BENCH_LIBURING
#include <liburing.h>
#define BENCH_IMPL "liburing"
typedef struct io_uring bench_ring;
#define ioring_queue_init_params io_uring_queue_init_params
#define ioring_queue_exit io_uring_queue_exit
#define ioring_get_sqe io_uring_get_sqe
#define ioring_prep_nop io_uring_prep_nop
#define ioring_prep_read io_uring_prep_read
#define ioring_prep_read_fixed io_uring_prep_read_fixed
#define ioring_prep_write io_uring_prep_write
#define ioring_prep_write_fixed io_uring_prep_write_fixed
#define ioring_submit io_uring_submit
#define ioring_submit_and_wait io_uring_submit_and_wait
#define ioring_wait_cqe io_uring_wait_cqe
#define ioring_peek_batch_cqe io_uring_peek_batch_cqe
#define ioring_cq_advance io_uring_cq_advance
#define ioring_register_buffers io_uring_register_buffers
#else
#include "ioring/ioring.h"
#define BENCH_IMPL "ioring"
typedef struct ioring bench_ring;
#endif

#define IORING_STEP_RING bench_ring
#include "ioring/step_loop.h"

#ifndef IORING_SETUP_SINGLE_ISSUER
#define IORING_SETUP_SINGLE_ISSUER (1U << 12)
#endif
#ifndef IORING_SETUP_DEFER_TASKRUN
#define IORING_SETUP_DEFER_TASKRUN (1U << 13)
#endif

#define BENCH_EXIT_FAIL 1
#define BENCH_EXIT_SKIP 77
#define BENCH_MAX_POINTS 32

/* Create a ring, or exit: 77 when this machine has no usable io_uring, 1 on any other error. */
static inline void bench_ring_init(bench_ring *ring, unsigned entries, unsigned flags)
{
    struct io_uring_params p;
    int ret;

    memset(&p, 0, sizeof(p));
    p.flags = flags;
    ret = ioring_queue_init_params(entries, ring, &p);
    if (ret == -ENOSYS || ret == -EPERM || ret == -EACCES) {
        printf("# skip: io_uring unavailable: %s\n", strerror(-ret));
        exit(BENCH_EXIT_SKIP);
    }
    if (ret < 0) {
        fprintf(stderr, "queue_init(%u, flags=%#x): %s\n", entries, flags, strerror(-ret));
        exit(BENCH_EXIT_FAIL);
    }
}

static inline void bench_print(const char *what, const char *param, unsigned value,
                               const struct ioring_step_result *r, const char *extra)
{
    double ops_per_sec = r->seconds > 0 ? (double)r->ops / r->seconds : 0;
    double ns_per_op = r->ops ? r->seconds * 1e9 / (double)r->ops : 0;
    printf("%s %s=%u ops=%llu seconds=%.3f ops_per_sec=%.0f ns_per_op=%.1f impl=%s%s%s\n", what,
           param, value, (unsigned long long)r->ops, r->seconds, ops_per_sec, ns_per_op,
           BENCH_IMPL, extra && *extra ? " " : "", extra ? extra : "");
    fflush(stdout);
}

/* Command line shared by the benchmarks: `--seconds S` and a list of positive integers (batch
 * sizes or queue depths); anything else goes to the benchmark's own `flag` callback, which
 * returns how many arguments it consumed (0: unknown). */
struct bench_args {
    double seconds;
    unsigned points[BENCH_MAX_POINTS];
    int npoints;
};

typedef int (*bench_flag_fn)(int argc, char **argv, int i, void *ctx);

static inline void bench_parse(int argc, char **argv, struct bench_args *a,
                               const unsigned *defaults, int ndefaults, bench_flag_fn flag,
                               void *ctx, const char *usage)
{
    a->seconds = 1.0;
    a->npoints = 0;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", usage);
            exit(0);
        }
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            a->seconds = strtod(argv[++i], &end);
            if (*end || !(a->seconds > 0) || a->seconds > 3600) {
                fprintf(stderr, "bad --seconds %s\n%s", argv[i], usage);
                exit(2);
            }
            continue;
        }
        if (argv[i][0] >= '0' && argv[i][0] <= '9') {
            unsigned long v = strtoul(argv[i], &end, 10);
            if (*end || v < 1 || v > 4096 || a->npoints == BENCH_MAX_POINTS) {
                fprintf(stderr, "bad value %s (1..4096, at most %d of them)\n%s", argv[i],
                        BENCH_MAX_POINTS, usage);
                exit(2);
            }
            a->points[a->npoints++] = (unsigned)v;
            continue;
        }
        {
            int used = flag ? flag(argc, argv, i, ctx) : 0;
            if (used <= 0) {
                fprintf(stderr, "unknown argument %s\n%s", argv[i], usage);
                exit(2);
            }
            i += used - 1;
        }
    }
    if (!a->npoints) {
        for (int i = 0; i < ndefaults; i++)
            a->points[i] = defaults[i];
        a->npoints = ndefaults;
    }
}

/* Create a file of nblocks 4 KiB blocks in dir (default $TMPDIR, else /tmp), block b starting
 * with its number b (little-endian uint64; the rest a pattern), fsync'ed if `sync` (before
 * O_DIRECT use). Returns the fd (open for reading and writing; `path` holds the name), or -1
 * after printing why. */
static inline int bench_make_file(const char *dir, char *path, size_t pathlen, uint64_t nblocks,
                                  int sync)
{
    const size_t bs = 4096;
    const unsigned per_chunk = 256; /* 1 MiB */
    unsigned char *chunk;
    int fd;

    if (!dir)
        dir = getenv("TMPDIR");
    snprintf(path, pathlen, "%s/ioring-bench-XXXXXX", dir && *dir ? dir : "/tmp");
    fd = mkstemp(path);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    chunk = (unsigned char *)malloc(per_chunk * bs);
    if (!chunk) {
        close(fd);
        unlink(path);
        return -1;
    }
    for (size_t i = 0; i < per_chunk * bs; i++)
        chunk[i] = (unsigned char)(i * 7 + 3);
    for (uint64_t b = 0; b < nblocks; b += per_chunk) {
        unsigned k = nblocks - b < per_chunk ? (unsigned)(nblocks - b) : per_chunk;
        for (unsigned j = 0; j < k; j++) {
            uint64_t stamp = b + j;
            memcpy(chunk + (size_t)j * bs, &stamp, sizeof(stamp));
        }
        if (pwrite(fd, chunk, (size_t)k * bs, (off_t)(b * bs)) != (ssize_t)((size_t)k * bs)) {
            perror("pwrite");
            free(chunk);
            close(fd);
            unlink(path);
            return -1;
        }
    }
    free(chunk);
    if (sync && fsync(fd) < 0) {
        perror("fsync");
        close(fd);
        unlink(path);
        return -1;
    }
    return fd;
}

#endif /* IORING_BENCH_LOOP_H */
