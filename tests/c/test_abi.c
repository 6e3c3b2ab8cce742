/* Run-time checks of ring setup: what ioring_queue_init(_params) maps and records must agree
 * with what the kernel reported, for each ring configuration a program is likely to use.
 * (The static struct layout is asserted at compile time in include/ioring/abi.h.)
 * Exit status: 0 pass, 77 skip (no io_uring here), 1 failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ioring/ioring.h"

#include "harness.h"

static int is_pow2(unsigned v)
{
    return v && !(v & (v - 1));
}

static int within(const void *p, size_t len, const void *base, size_t size)
{
    const char *c = (const char *)p, *b = (const char *)base;
    return c >= b && c + len <= b + size;
}

/* Does the kernel take IORING_SETUP_NO_SQARRAY? Asked directly, not through the core. */
static int kernel_has_no_sqarray(void)
{
    struct io_uring_params p;
    int fd;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_NO_SQARRAY;
    fd = ioring_sys_setup(4, &p);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* One NOP through the ring; checks user_data and res. */
static int nop_round_trip(struct ioring *ring, uint64_t tag)
{
    struct io_uring_sqe *sqe = ioring_get_sqe(ring);
    struct io_uring_cqe *cqe = NULL;
    CHECK(sqe != NULL);
    ioring_prep_nop(sqe);
    sqe->user_data = tag;
    if (ring->flags & IORING_SETUP_SQPOLL) {
        /* The SQ poller posts a batch's CQEs before it publishes the SQ head, so the count
         * returned (tail - head) may still include the previous, already completed, NOP. */
        int ret = ioring_submit_and_wait(ring, 1);
        CHECK(ret == 1 || ret == 2);
    } else {
        CHECK_EQ(ioring_submit_and_wait(ring, 1), 1);
    }
    CHECK_EQ(ioring_wait_cqe(ring, &cqe), 0);
    CHECK(cqe != NULL);
    CHECK_EQ(cqe->user_data, tag);
    CHECK_EQ(cqe->res, 0);
    ioring_cq_advance(ring, 1);
    CHECK_EQ(ioring_cq_ready(ring), 0);
    return T_PASS;
}

/* Everything the core derived from io_uring_params, checked against the params themselves. */
static int check_ring(struct ioring *ring, const struct io_uring_params *p, unsigned asked_flags)
{
    size_t sqe_size = sizeof(struct io_uring_sqe) << ((asked_flags & IORING_SETUP_SQE128) ? 1 : 0);
    size_t cqe_size = sizeof(struct io_uring_cqe) << ((asked_flags & IORING_SETUP_CQE32) ? 1 : 0);
    struct ioring_sq *sq = &ring->sq;
    struct ioring_cq *cq = &ring->cq;
    int fd_flags;

    CHECK(ring->ring_fd >= 0);
    CHECK_EQ(ring->enter_ring_fd, ring->ring_fd);
    fd_flags = fcntl(ring->ring_fd, F_GETFD);
    CHECK(fd_flags >= 0);
    CHECK(fd_flags & FD_CLOEXEC); /* io_uring fds are always O_CLOEXEC */
    CHECK_EQ(ring->int_flags, 0);

    /* Flags: what we asked for, plus NO_SQARRAY exactly when the kernel offers it. */
    CHECK_EQ(ring->flags & ~IORING_SETUP_NO_SQARRAY, asked_flags);
    CHECK_EQ(ring->flags, p->flags);
    CHECK_EQ(!!(ring->flags & IORING_SETUP_NO_SQARRAY), kernel_has_no_sqarray());
    CHECK_EQ(ring->features, p->features);

    /* Sizes and masks. */
    CHECK(is_pow2(sq->ring_entries));
    CHECK(is_pow2(cq->ring_entries));
    CHECK_EQ(sq->ring_entries, p->sq_entries);
    CHECK_EQ(cq->ring_entries, p->cq_entries);
    CHECK_EQ(sq->ring_mask, sq->ring_entries - 1);
    CHECK_EQ(cq->ring_mask, cq->ring_entries - 1);
    if (!(asked_flags & IORING_SETUP_CQSIZE))
        CHECK_EQ(cq->ring_entries, 2 * sq->ring_entries);
    CHECK_EQ(sq->sqes_sz, sqe_size * sq->ring_entries);

    /* Mappings: one shared with IORING_FEAT_SINGLE_MMAP, two otherwise. */
    CHECK(sq->ring_ptr != NULL && sq->ring_ptr != MAP_FAILED);
    CHECK(cq->ring_ptr != NULL && cq->ring_ptr != MAP_FAILED);
    CHECK(sq->sqes != NULL && (void *)sq->sqes != MAP_FAILED);
    if (p->features & IORING_FEAT_SINGLE_MMAP) {
        CHECK(cq->ring_ptr == sq->ring_ptr);
        CHECK_EQ(cq->ring_sz, sq->ring_sz);
    } else {
        CHECK(cq->ring_ptr != sq->ring_ptr);
    }
    CHECK(within(sq->khead, 4, sq->ring_ptr, sq->ring_sz));
    CHECK(within(sq->ktail, 4, sq->ring_ptr, sq->ring_sz));
    CHECK(within(sq->kflags, 4, sq->ring_ptr, sq->ring_sz));
    CHECK(within(sq->kdropped, 4, sq->ring_ptr, sq->ring_sz));
    CHECK(within(cq->khead, 4, cq->ring_ptr, cq->ring_sz));
    CHECK(within(cq->ktail, 4, cq->ring_ptr, cq->ring_sz));
    CHECK(within(cq->koverflow, 4, cq->ring_ptr, cq->ring_sz));
    CHECK(cq->kflags != NULL); /* cq_off.flags exists since 5.8 */
    CHECK(within(cq->kflags, 4, cq->ring_ptr, cq->ring_sz));
    CHECK(within(cq->cqes, cqe_size * cq->ring_entries, cq->ring_ptr, cq->ring_sz));
    CHECK((char *)sq->khead == (char *)sq->ring_ptr + p->sq_off.head);
    CHECK((char *)cq->cqes == (char *)cq->ring_ptr + p->cq_off.cqes);
    if (ring->flags & IORING_SETUP_NO_SQARRAY) {
        CHECK(sq->array == NULL);
    } else {
        CHECK(sq->array != NULL);
        CHECK(within(sq->array, 4 * sq->ring_entries, sq->ring_ptr, sq->ring_sz));
        for (unsigned i = 0; i < sq->ring_entries; i++)
            CHECK_EQ(sq->array[i], i);
    }

    /* A fresh ring is empty. */
    CHECK_EQ(*sq->khead, 0);
    CHECK_EQ(*sq->ktail, 0);
    CHECK_EQ(*cq->khead, 0);
    CHECK_EQ(*cq->ktail, 0);
    CHECK_EQ(*cq->koverflow, 0);
    CHECK_EQ(*sq->kdropped, 0);
    CHECK_EQ(sq->sqe_head, 0);
    CHECK_EQ(sq->sqe_tail, 0);
    CHECK_EQ(ioring_sq_ready(ring), 0);
    CHECK_EQ(ioring_sq_space_left(ring), sq->ring_entries);
    CHECK_EQ(ioring_cq_ready(ring), 0);

    /* SQE and CQE strides. */
    CHECK_EQ((char *)ioring_sqe_at(ring, 1) - (char *)ioring_sqe_at(ring, 0), sqe_size);
    CHECK(ioring_sqe_at(ring, sq->ring_entries) == ioring_sqe_at(ring, 0));
    CHECK_EQ((char *)ioring_cqe_at(ring, 1) - (char *)ioring_cqe_at(ring, 0), cqe_size);
    CHECK(ioring_cqe_at(ring, cq->ring_entries) == ioring_cqe_at(ring, 0));

    /* get_sqe_zeroed zeroes the whole slot (128 bytes with SQE128) and nothing past it. */
    memset(sq->sqes, 0xab, sq->sqes_sz);
    {
        struct io_uring_sqe *sqe = ioring_get_sqe_zeroed(ring);
        const unsigned char *b = (const unsigned char *)sqe;
        CHECK(sqe == ioring_sqe_at(ring, 0));
        for (size_t i = 0; i < sqe_size; i++)
            CHECK_EQ(b[i], 0);
        CHECK_EQ(b[sqe_size], 0xab);
        CHECK_EQ(ioring_sq_ready(ring), 1);
        /* An SQE nobody prepared is a NOP (opcode 0) with user_data 0. */
        CHECK_EQ(ioring_submit(ring), 1);
        {
            struct io_uring_cqe *cqe;
            CHECK_EQ(ioring_wait_cqe(ring, &cqe), 0);
            CHECK_EQ(cqe->user_data, 0);
            CHECK_EQ(cqe->res, 0);
            ioring_cq_advance(ring, 1);
        }
    }
    for (uint64_t tag = 1; tag <= 2 * cq->ring_entries + 3; tag++)
        if (nop_round_trip(ring, tag * 0x9e3779b97f4a7c15ull) != T_PASS)
            return T_FAIL;
    return T_PASS;
}

static int init_and_check(unsigned entries, unsigned flags, unsigned sq_thread_idle)
{
    struct io_uring_params p;
    struct ioring ring;
    int ret, fd, r;

    memset(&p, 0, sizeof(p));
    p.flags = flags;
    p.sq_thread_idle = sq_thread_idle;
    ret = ioring_queue_init_params(entries, &ring, &p);
    if (ret == -EPERM && (flags & IORING_SETUP_SQPOLL))
        SKIP("SQPOLL not permitted here (EPERM)");
    if (ret == -EINVAL && (flags & (IORING_SETUP_SQE128 | IORING_SETUP_CQE32 |
                                    IORING_SETUP_DEFER_TASKRUN)))
        SKIP("kernel refuses setup flags 0x%x", flags);
    CHECK_EQ(ret, 0);
    CHECK(p.sq_entries >= entries);
    r = check_ring(&ring, &p, flags);
    fd = ring.ring_fd;
    ioring_queue_exit(&ring);
    CHECK_EQ(ring.ring_fd, -1);
    CHECK(ring.sq.ring_ptr == NULL && ring.cq.ring_ptr == NULL && ring.sq.sqes == NULL);
    errno = 0;
    CHECK(fcntl(fd, F_GETFD) == -1 && errno == EBADF); /* the fd is closed */
    return r;
}

static int t_plain(void) { return init_and_check(8, 0, 0); }
static int t_cqe32(void) { return init_and_check(8, IORING_SETUP_CQE32, 0); }
static int t_sqe128(void) { return init_and_check(8, IORING_SETUP_SQE128, 0); }
static int t_sqe128_cqe32(void) { return init_and_check(16, IORING_SETUP_SQE128 | IORING_SETUP_CQE32, 0); }
static int t_defer_taskrun(void)
{
    return init_and_check(8, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, 0);
}
static int t_sqpoll(void) { return init_and_check(8, IORING_SETUP_SQPOLL, 100); }

static int t_entries_rounding(void)
{
    struct io_uring_params p;
    struct ioring ring;
    int saved;

    /* Not a power of two: rounded up. */
    CHECK_EQ(ioring_queue_init(5, &ring, 0), 0);
    CHECK_EQ(ring.sq.ring_entries, 8);
    CHECK_EQ(ring.cq.ring_entries, 16);
    ioring_queue_exit(&ring);

    /* CQSIZE: the CQ size is ours to choose (rounded up too). */
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 100;
    CHECK_EQ(ioring_queue_init_params(4, &ring, &p), 0);
    CHECK_EQ(ring.sq.ring_entries, 4);
    CHECK_EQ(ring.cq.ring_entries, 128);
    CHECK_EQ(p.cq_entries, 128);
    CHECK(ring.flags & IORING_SETUP_CQSIZE);
    ioring_queue_exit(&ring);

    /* Errors come back as -errno and leave errno alone. */
    saved = errno = EXDEV;
    CHECK_EQ(ioring_queue_init(0, &ring, 0), -EINVAL);
    CHECK_EQ(errno, saved);
    CHECK_EQ(ioring_queue_init(1u << 20, &ring, 0), -EINVAL); /* > 32768 without CLAMP */
    CHECK_EQ(errno, saved);
    CHECK_EQ(ioring_queue_init(4, &ring, 1u << 31), -EINVAL); /* unknown setup flag */
    CHECK_EQ(errno, saved);

    /* CLAMP: too many entries are clamped, not refused. */
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_CLAMP;
    CHECK_EQ(ioring_queue_init_params(1u << 20, &ring, &p), 0);
    CHECK_EQ(ring.sq.ring_entries, p.sq_entries);
    CHECK(is_pow2(ring.sq.ring_entries) && ring.sq.ring_entries < (1u << 20));
    CHECK_EQ(ring.cq.ring_entries, 2 * ring.sq.ring_entries);
    ioring_queue_exit(&ring);
    return T_PASS;
}

/* The core keeps the caller's params when the kernel refuses the setup. */
static int t_params_restored(void)
{
    struct io_uring_params p;
    struct ioring ring;
    memset(&p, 0, sizeof(p));
    p.flags = IORING_SETUP_SQ_AFF; /* SQ_AFF without SQPOLL is refused */
    CHECK_EQ(ioring_queue_init_params(4, &ring, &p), -EINVAL);
    CHECK_EQ(p.flags, IORING_SETUP_SQ_AFF);
    return T_PASS;
}

static int t_probe(void)
{
    struct ioring ring;
    struct io_uring_probe *probe = (struct io_uring_probe *)calloc(1, ioring_probe_size());
    int ret;

    CHECK(probe != NULL);
    CHECK_EQ(ioring_queue_init(4, &ring, 0), 0);
    ret = ioring_register_probe(&ring, probe, IORING_PROBE_OPS);
    ioring_queue_exit(&ring);
    if (ret == -EINVAL) {
        free(probe);
        SKIP("IORING_REGISTER_PROBE unsupported (kernel < 5.6)");
    }
    CHECK_EQ(ret, 0);
    CHECK(probe->last_op >= IORING_OP_NOP);
    CHECK(probe->ops_len == (unsigned)probe->last_op + 1);
    for (unsigned op = 0; op <= probe->last_op; op++)
        CHECK_EQ(probe->ops[op].op, op);
    CHECK(ioring_opcode_supported(probe, IORING_OP_NOP));
    CHECK(ioring_opcode_supported(probe, IORING_OP_READV));
    CHECK(!ioring_opcode_supported(probe, -1));
    CHECK(!ioring_opcode_supported(probe, probe->last_op + 1));
    CHECK(!ioring_opcode_supported(probe, 255));
    free(probe);
    return T_PASS;
}

int main(void)
{
    static const struct t_case tests[] = {
        {"abi: flags 0", t_plain},
        {"abi: CQE32", t_cqe32},
        {"abi: SQE128", t_sqe128},
        {"abi: SQE128|CQE32", t_sqe128_cqe32},
        {"abi: SINGLE_ISSUER|DEFER_TASKRUN", t_defer_taskrun},
        {"abi: SQPOLL", t_sqpoll},
        {"abi: entries rounding, CQSIZE, CLAMP, errors", t_entries_rounding},
        {"abi: params restored on failure", t_params_restored},
        {"abi: probe", t_probe},
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    require_io_uring();
    return run_tests("test_abi", tests, sizeof(tests) / sizeof(tests[0]));
}
