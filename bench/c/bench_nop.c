/* NOP round trips: the cost of the ring itself (SQE preparation, submit, reap), no I/O.
 *
 *   bench_nop [--seconds S] [--defer] [BATCH ...]      (default batches: 1 8 32 128)
 *
 * Each step prepares BATCH NOPs, submits them with one io_uring_enter that also waits for all
 * of them, then reaps them with peek_batch_cqe and checks every user_data and res. One line per
 * batch size: nop batch=32 ops=... seconds=... ops_per_sec=... ns_per_op=... impl=...
 * Built against our core (bench_nop) or liburing (bench_nop_liburing), see bench_loop.h. */
#include "bench_loop.h"

#define NOP_USAGE                                                                              \
    "usage: bench_nop [--seconds S] [--defer] [BATCH ...]\n"                                   \
    "  BATCH      NOPs per submit (default: 1 8 32 128)\n"                                     \
    "  --seconds  measured time per batch size (default 1)\n"                                  \
    "  --defer    ring with IORING_SETUP_SINGLE_ISSUER|IORING_SETUP_DEFER_TASKRUN\n"

struct nop_ctx {
    bench_ring ring;
    unsigned batch;
    uint64_t seq; /* user_data of the next NOP, checked on the way back */
    struct io_uring_cqe *cqes[4096];
};

static int nop_step(void *arg)
{
    struct nop_ctx *c = (struct nop_ctx *)arg;
    unsigned batch = c->batch, reaped = 0;
    uint64_t tag = c->seq;
    int ret;

    for (unsigned i = 0; i < batch; i++) {
        struct io_uring_sqe *sqe = ioring_get_sqe(&c->ring);
        if (!sqe) {
            fprintf(stderr, "get_sqe: SQ full at %u of %u\n", i, batch);
            return -1;
        }
        ioring_prep_nop(sqe);
        sqe->user_data = tag + i;
    }
    ret = ioring_submit_and_wait(&c->ring, batch);
    if (ret != (int)batch) {
        fprintf(stderr, "submit_and_wait: %d (%s), expected %u\n", ret,
                ret < 0 ? strerror(-ret) : "short", batch);
        return -1;
    }
    while (reaped < batch) {
        unsigned n = ioring_peek_batch_cqe(&c->ring, c->cqes, batch - reaped);
        if (!n) {
            struct io_uring_cqe *cqe;
            ret = ioring_wait_cqe(&c->ring, &cqe);
            if (ret < 0) {
                fprintf(stderr, "wait_cqe: %s\n", strerror(-ret));
                return -1;
            }
            continue;
        }
        for (unsigned i = 0; i < n; i++) {
            const struct io_uring_cqe *cqe = c->cqes[i];
            if (cqe->user_data != c->seq || cqe->res != 0) {
                fprintf(stderr, "bad completion: user_data %llu res %d, expected %llu res 0\n",
                        (unsigned long long)cqe->user_data, cqe->res,
                        (unsigned long long)c->seq);
                return -1;
            }
            c->seq++;
        }
        ioring_cq_advance(&c->ring, n);
        reaped += n;
    }
    return (int)batch;
}

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
    static struct nop_ctx c;
    struct bench_args a;
    unsigned flags = 0;

    bench_parse(argc, argv, &a, defaults, 4, nop_flag, &flags, NOP_USAGE);
    printf("# bench_nop impl=%s seconds=%g setup_flags=%#x\n", BENCH_IMPL, a.seconds, flags);
    for (int k = 0; k < a.npoints; k++) {
        struct bench_result r;
        memset(&c.ring, 0, sizeof(c.ring));
        c.batch = a.points[k];
        c.seq = 0;
        bench_ring_init(&c.ring, c.batch, flags);
        if (bench_timed(a.seconds, nop_step, &c, &r) < 0) {
            ioring_queue_exit(&c.ring);
            return BENCH_EXIT_FAIL;
        }
        ioring_queue_exit(&c.ring);
        bench_print("nop", "batch", c.batch, &r, flags ? "defer_taskrun=1" : "");
    }
    return 0;
}
