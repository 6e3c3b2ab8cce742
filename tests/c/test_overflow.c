/* CQ overflow: a ring of 4 SQ / 8 CQ entries takes 10 x cq_entries NOPs without anyone reaping;
 * with IORING_FEAT_NODROP the kernel keeps the surplus on its overflow list and not one
 * completion may be lost, duplicated or reordered when they are finally reaped.
 * Exit status: 0 pass, 77 skip (no io_uring, or no FEAT_NODROP), 1 failure. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ioring/ioring.h"

#include "harness.h"

#define SQ_ENTRIES 4
#define CQ_ENTRIES 8
#define TOTAL (10 * CQ_ENTRIES)

struct ovf_state {
    unsigned nop_flags;    /* IORING_NOP_CQE32 on CQE32 rings when the kernel has it */
    uint64_t next;         /* next user_data expected */
    int busy;              /* times submit said -EBUSY */
    int saw_overflow_flag; /* IORING_SQ_CQ_OVERFLOW seen while submitting */
    unsigned max_ready;
};

static int check_one(struct ovf_state *s, const struct io_uring_cqe *cqe)
{
    if (cqe->user_data != s->next) {
        fprintf(stderr, "    expected user_data %llu, got %llu\n", (unsigned long long)s->next,
                (unsigned long long)cqe->user_data);
        return T_FAIL;
    }
    CHECK_EQ(cqe->res, 0);
    if (s->nop_flags & IORING_NOP_CQE32) {
        CHECK(cqe->big_cqe[0] == s->next * 3 + 1);
        CHECK(cqe->big_cqe[1] == ~s->next);
    }
    s->next++;
    return T_PASS;
}

/* Reap everything there is, flushing the overflow list as needed. mode 0: peek_batch_cqe,
 * 1: peek_cqe, 2: wait_cqe (until `until` completions were seen in all). */
static int reap(struct ioring *ring, struct ovf_state *s, int mode, uint64_t until)
{
    for (;;) {
        struct io_uring_cqe *cqes[3], *cqe;
        unsigned ready = ioring_cq_ready(ring);
        if (ready > s->max_ready)
            s->max_ready = ready;
        CHECK(ready <= ring->cq.ring_entries);
        if (mode == 0) {
            unsigned n = ioring_peek_batch_cqe(ring, cqes, 3);
            if (!n)
                break;
            for (unsigned i = 0; i < n; i++)
                if (check_one(s, cqes[i]) != T_PASS)
                    return T_FAIL;
            ioring_cq_advance(ring, n);
        } else if (mode == 1) {
            int ret = ioring_peek_cqe(ring, &cqe);
            if (ret == -EAGAIN)
                break;
            CHECK_EQ(ret, 0);
            if (check_one(s, cqe) != T_PASS)
                return T_FAIL;
            ioring_cq_advance(ring, 1);
        } else {
            if (s->next >= until)
                break;
            CHECK_EQ(ioring_wait_cqe(ring, &cqe), 0);
            if (check_one(s, cqe) != T_PASS)
                return T_FAIL;
            ioring_cq_advance(ring, 1);
        }
    }
    return T_PASS;
}

static int overflow_run(unsigned setup_flags, int mode)
{
    struct io_uring_params p;
    struct ioring ring;
    struct ovf_state s;
    uint64_t sent = 0;
    int ret;

    memset(&s, 0, sizeof(s));
    memset(&p, 0, sizeof(p));
    p.flags = setup_flags | IORING_SETUP_CQSIZE;
    p.cq_entries = CQ_ENTRIES;
    ret = ioring_queue_init_params(SQ_ENTRIES, &ring, &p);
    if (ret == -EINVAL && setup_flags)
        SKIP("kernel refuses setup flags 0x%x", setup_flags);
    CHECK_EQ(ret, 0);
    if (!(ring.features & IORING_FEAT_NODROP))
        SKIP("no IORING_FEAT_NODROP (kernel < 5.5): overflowed CQEs may be dropped");
    CHECK_EQ(ring.sq.ring_entries, SQ_ENTRIES);
    CHECK_EQ(ring.cq.ring_entries, CQ_ENTRIES);
    if (setup_flags & IORING_SETUP_CQE32) {
        /* IORING_NOP_CQE32 (6.18) fills both extra words of a 32-byte CQE from the SQE: they
         * must survive the overflow list too. Older kernels refuse the flag with -EINVAL. */
        struct io_uring_sqe *sqe = ioring_get_sqe(&ring);
        struct io_uring_cqe *cqe;
        ioring_prep_nop(sqe);
        sqe->nop_flags = IORING_NOP_CQE32;
        sqe->user_data = ~0ull;
        CHECK_EQ(ioring_submit_and_wait(&ring, 1), 1);
        CHECK_EQ(ioring_wait_cqe(&ring, &cqe), 0);
        CHECK(cqe->user_data == ~0ull);
        CHECK(cqe->res == 0 || cqe->res == -EINVAL);
        if (cqe->res == 0)
            s.nop_flags = IORING_NOP_CQE32;
        ioring_cq_advance(&ring, 1);
    }

    while (sent < TOTAL) {
        unsigned chunk = 0;
        struct io_uring_sqe *sqe;
        while (chunk < 3 && sent + chunk < TOTAL && (sqe = ioring_get_sqe(&ring)) != NULL) {
            uint64_t seq = sent + chunk;
            ioring_prep_nop(sqe);
            sqe->user_data = seq;
            if (s.nop_flags) {
                sqe->nop_flags = s.nop_flags;
                sqe->off = seq * 3 + 1;
                sqe->addr = ~seq;
            }
            chunk++;
        }
        CHECK(chunk > 0);
        ret = ioring_submit(&ring);
        if (ret == -EBUSY || ret == -EAGAIN) {
            /* Old kernels refuse to submit while the overflow list is not empty. */
            s.busy++;
            if (reap(&ring, &s, mode == 2 ? 0 : mode, 0) != T_PASS)
                return T_FAIL;
            ret = ioring_submit(&ring);
        }
        CHECK_EQ(ret, chunk);
        sent += chunk;
        if (ioring_read_once(ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW)
            s.saw_overflow_flag = 1;
        if (ioring_cq_ready(&ring) > s.max_ready)
            s.max_ready = ioring_cq_ready(&ring);
        CHECK(ioring_cq_ready(&ring) <= CQ_ENTRIES);
        CHECK_EQ(ioring_sq_ready(&ring), 0);
    }
    if (!s.busy) {
        /* Nothing was reaped: the CQ is full and the rest waits on the overflow list. */
        CHECK_EQ(ioring_cq_ready(&ring), CQ_ENTRIES);
        CHECK(s.saw_overflow_flag);
        CHECK(ioring_read_once(ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW);
    }
    if (reap(&ring, &s, mode, TOTAL) != T_PASS)
        return T_FAIL;
    CHECK_EQ(s.next, TOTAL); /* all of them, in order, none twice */
    CHECK_EQ(ioring_cq_ready(&ring), 0);
    CHECK(!(ioring_read_once(ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW));
    CHECK_EQ(*ring.cq.koverflow, 0); /* the kernel's count of dropped CQEs */
    {
        struct io_uring_cqe *cqe;
        CHECK_EQ(ioring_peek_cqe(&ring, &cqe), -EAGAIN);
    }
    /* The ring still works normally afterwards. */
    for (int i = 0; i < 2 * CQ_ENTRIES; i++) {
        struct io_uring_sqe *sqe = ioring_get_sqe(&ring);
        struct io_uring_cqe *cqe;
        ioring_prep_nop(sqe);
        sqe->user_data = 1000 + i;
        CHECK_EQ(ioring_submit_and_wait(&ring, 1), 1);
        CHECK_EQ(ioring_wait_cqe(&ring, &cqe), 0);
        CHECK_EQ(cqe->user_data, 1000 + i);
        ioring_cq_advance(&ring, 1);
    }
    printf("    %d NOPs through a %u/%u ring, %d EBUSY, max cq_ready %u, nop_flags %#x\n", TOTAL,
           ring.sq.ring_entries, ring.cq.ring_entries, s.busy, s.max_ready, s.nop_flags);
    ioring_queue_exit(&ring);
    return T_PASS;
}

#define DEFER (IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)
static int t_plain_batch(void) { return overflow_run(0, 0); }
static int t_plain_peek(void) { return overflow_run(0, 1); }
static int t_plain_wait(void) { return overflow_run(0, 2); }
static int t_defer_batch(void) { return overflow_run(DEFER, 0); }
static int t_defer_wait(void) { return overflow_run(DEFER, 2); }
static int t_cqe32_batch(void) { return overflow_run(IORING_SETUP_CQE32, 0); }
static int t_cqe32_wait(void) { return overflow_run(IORING_SETUP_CQE32, 2); }

int main(void)
{
    static const struct t_case tests[] = {
        {"overflow: plain ring, reaped by peek_batch_cqe", t_plain_batch},
        {"overflow: plain ring, reaped by peek_cqe", t_plain_peek},
        {"overflow: plain ring, reaped by wait_cqe", t_plain_wait},
        {"overflow: DEFER_TASKRUN ring, reaped by peek_batch_cqe", t_defer_batch},
        {"overflow: DEFER_TASKRUN ring, reaped by wait_cqe", t_defer_wait},
        {"overflow: CQE32 ring (NOP_CQE32 payload), peek_batch_cqe", t_cqe32_batch},
        {"overflow: CQE32 ring, wait_cqe", t_cqe32_wait},
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    require_io_uring();
    return run_tests("test_overflow", tests, sizeof(tests) / sizeof(tests[0]));
}
