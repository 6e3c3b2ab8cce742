/* NOP round trips: the cost of the ring itself (SQE preparation, submit, reap), no I/O.
 *
 *   bench_nop [--seconds S] [--defer] [BATCH ...]      (default batches: 1 8 32 128)
 *
 * Each step prepares BATCH NOPs, submits them with one io_uring_enter that also waits for all
 * of them, then reaps them with peek_batch_cqe and checks every user_data and res (the step is
 * ioring_nop_step of include/ioring/step_loop.h, as ioring._bench's). One line per batch size:
 *   nop batch=32 ops=... seconds=... ops_per_sec=... ns_per_op=... impl=...
 * Built against our core (bench_nop) or liburing (bench_nop_liburing), see bench_loop.h. */
#include "bench_loop.h"

#define NOP_USAGE                                                                              \
    "usage: bench_nop [--seconds S] [--defer] [BATCH ...]\n"                                   \
    "  BATCH      NOPs per submit (default: 1 8 32 128)\n"                                     \
    "  --seconds  measured time per batch size (default 1)\n"                                  \
    "  --defer    ring with IORING_SETUP_SINGLE_ISSUER|IORING_SETUP_DEFER_TASKRUN\n"

static int nop_flag(int argc, char **argv, int i, void *ctx)
{
    (void)argc;
    if (!strcmp(argv[i], "--defer")) {
        *(unsigned *)ctx = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const unsigned defaults[] = {1, 8, 32, 128};
    static bench_ring ring;
    static struct io_uring_cqe *cqes[4096];
    static struct ioring_nop_loop x;
    struct bench_args a;
    unsigned flags = 0;

    bench_parse(argc, argv, &a, defaults, 4, nop_flag, &flags, NOP_USAGE);
    printf("# bench_nop impl=%s seconds=%g setup_flags=%#x\n", BENCH_IMPL, a.seconds, flags);
    for (int k = 0; k < a.npoints; k++) {
        struct ioring_step_result r;
        memset(&ring, 0, sizeof(ring));
        memset(&x, 0, sizeof(x));
        x.ring = &ring;
        x.cqes = cqes;
        x.batch = a.points[k];
        bench_ring_init(&ring, x.batch, flags);
        if (ioring_step_timed(a.seconds, ioring_nop_step, &x, &r) < 0) {
            fprintf(stderr, "%s\n", x.err);
            ioring_queue_exit(&ring);
            return BENCH_EXIT_FAIL;
        }
        ioring_queue_exit(&ring);
        bench_print("nop", "batch", x.batch, &r, flags ? "defer_taskrun=1" : "");
    }
    return 0;
}
