/* NOP round trips: user_data and res come back in order while the SQ and CQ indices wrap many
 * times, on plain, CQE32, DEFER_TASKRUN and SQPOLL rings; a full SQ refuses SQEs and the
 * counters agree. Exit status: 0 pass, 77 skip (no io_uring here), 1 failure. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ioring/ioring.h"

#include "harness.h"

/* How the NOPs of a run are tagged. With IORING_NOP_INJECT_RESULT (6.10+) every res differs, and
 * with IORING_NOP_CQE32 (6.18+) the two extra words of a 32-byte CQE are filled from the SQE:
 * a reader that gets the CQE stride wrong cannot pass. */
struct nop_mode {
    unsigned nop_flags;
    int reap;             /* 0: peek_batch_cqe, 1: wait_cqe one by one, 2: wait_cqe_nr + cqe_at */
};

static uint64_t tag_of(uint64_t seq)
{
    return seq * 0x9e3779b97f4a7c15ull + 1;
}

static void prep_tagged_nop(struct io_uring_sqe *sqe, uint64_t seq, unsigned nop_flags)
{
    ioring_prep_nop(sqe);
    sqe->user_data = tag_of(seq);
    sqe->nop_flags = nop_flags;
    if (nop_flags & IORING_NOP_INJECT_RESULT)
        sqe->len = (uint32_t)(seq & 0x7fffffff);
    if (nop_flags & IORING_NOP_CQE32) {
        sqe->off = ~seq;
        sqe->addr = seq ^ 0x5555aaaa5555aaaaull;
    }
}

static int check_cqe(const struct io_uring_cqe *cqe, uint64_t seq, unsigned nop_flags)
{
    if (cqe->user_data != tag_of(seq)) {
        fprintf(stderr, "    seq %llu: user_data %#llx, expected %#llx\n", (unsigned long long)seq,
                (unsigned long long)cqe->user_data, (unsigned long long)tag_of(seq));
        return T_FAIL;
    }
    CHECK_EQ(cqe->res, (nop_flags & IORING_NOP_INJECT_RESULT) ? (int)(seq & 0x7fffffff) : 0);
    if (nop_flags & IORING_NOP_CQE32) {
        CHECK(cqe->big_cqe[0] == ~seq);
        CHECK(cqe->big_cqe[1] == (seq ^ 0x5555aaaa5555aaaaull));
    }
    return T_PASS;
}

/* Which of the NOP flags this kernel and ring take (an unknown nop_flags bit is -EINVAL). */
static int probe_nop_flags(struct ioring *ring, unsigned flags, unsigned *ok)
{
    struct io_uring_sqe *sqe = ioring_get_sqe(ring);
    struct io_uring_cqe *cqe;
    CHECK(sqe != NULL);
    ioring_prep_nop(sqe);
    sqe->nop_flags = flags;
    sqe->len = 7;
    sqe->user_data = 42;
    CHECK_EQ(ioring_submit_and_wait(ring, 1), 1);
    CHECK_EQ(ioring_wait_cqe(ring, &cqe), 0);
    CHECK_EQ(cqe->user_data, 42);
    *ok = cqe->res == ((flags & IORING_NOP_INJECT_RESULT) ? 7 : 0);
    if (!*ok)
        CHECK_EQ(cqe->res, -EINVAL);
    ioring_cq_advance(ring, 1);
    return T_PASS;
}

/* Reap exactly n completions, checking them in order starting at *seq. */
static int reap(struct ioring *ring, unsigned n, uint64_t *seq, const struct nop_mode *m)
{
    struct io_uring_cqe *cqes[5];
    struct io_uring_cqe *cqe;
    unsigned got = 0;

    while (got < n) {
        if (m->reap == 0) {
            unsigned k = ioring_peek_batch_cqe(ring, cqes, 5);
            if (!k) {
                CHECK_EQ(ioring_wait_cqe(ring, &cqe), 0);
                continue;
            }
            CHECK(k <= n - got);
            for (unsigned i = 0; i < k; i++) {
                if (i)
                    CHECK_EQ((char *)cqes[i] - (char *)cqes[i - 1] ==
                                 (long)(sizeof(struct io_uring_cqe) << ioring_cqe_shift(ring)) ||
                             cqes[i] == ring->cq.cqes, 1); /* consecutive, or wrapped to slot 0 */
                if (check_cqe(cqes[i], (*seq)++, m->nop_flags) != T_PASS)
                    return T_FAIL;
            }
            ioring_cq_advance(ring, k);
            got += k;
        } else if (m->reap == 1) {
            CHECK_EQ(ioring_wait_cqe(ring, &cqe), 0);
            CHECK(cqe != NULL);
            if (check_cqe(cqe, (*seq)++, m->nop_flags) != T_PASS)
                return T_FAIL;
            ioring_cq_advance(ring, 1);
            got++;
        } else {
            unsigned head = *ring->cq.khead;
            CHECK_EQ(ioring_wait_cqe_nr(ring, &cqe, n - got), 0);
            CHECK(cqe == ioring_cqe_at(ring, head));
            CHECK(ioring_cq_ready(ring) >= n - got);
            for (unsigned i = 0; i < n - got; i++)
                if (check_cqe(ioring_cqe_at(ring, head + i), (*seq)++, m->nop_flags) != T_PASS)
                    return T_FAIL;
            ioring_cq_advance(ring, n - got);
            got = n;
        }
    }
    return T_PASS;
}

/* Push rounds * cq_entries NOPs in uneven batches, letting the CQ fill completely before
 * reaping, so both rings wrap at every possible position. */
static int wrap_run(unsigned setup_flags, int reap_mode)
{
    static const unsigned batches[] = {1, 3, 8, 5, 2, 7, 8, 4, 6};
    struct io_uring_params p;
    struct ioring ring;
    struct nop_mode m = {0, reap_mode};
    uint64_t sent = 0, seq = 0, total;
    unsigned ok, pending = 0, bi = 0;
    int ret;

    memset(&p, 0, sizeof(p));
    p.flags = setup_flags;
    p.sq_thread_idle = 50;
    ret = ioring_queue_init_params(8, &ring, &p);
    if (ret == -EPERM && (setup_flags & IORING_SETUP_SQPOLL))
        SKIP("SQPOLL not permitted (EPERM)");
    if (ret == -EINVAL && setup_flags)
        SKIP("kernel refuses setup flags 0x%x", setup_flags);
    CHECK_EQ(ret, 0);
    CHECK_EQ(ring.sq.ring_entries, 8);
    CHECK_EQ(ring.cq.ring_entries, 16);

    /* Strongest tagging the kernel accepts. */
    if (setup_flags & IORING_SETUP_CQE32) {
        if (probe_nop_flags(&ring, IORING_NOP_INJECT_RESULT | IORING_NOP_CQE32, &ok) != T_PASS)
            return T_FAIL;
        if (ok)
            m.nop_flags = IORING_NOP_INJECT_RESULT | IORING_NOP_CQE32;
    }
    if (!m.nop_flags) {
        if (probe_nop_flags(&ring, IORING_NOP_INJECT_RESULT, &ok) != T_PASS)
            return T_FAIL;
        if (ok)
            m.nop_flags = IORING_NOP_INJECT_RESULT;
    }

    total = 12ull * ring.cq.ring_entries + 5;
    while (sent < total) {
        unsigned b = batches[bi++ % (sizeof(batches) / sizeof(batches[0]))];
        if (b > total - sent)
            b = (unsigned)(total - sent);
        if (pending + b > ring.cq.ring_entries) {
            /* The CQ would overflow: reap all of it (it is full or nearly so here). */
            if (reap(&ring, pending, &seq, &m) != T_PASS)
                return T_FAIL;
            CHECK_EQ(ioring_cq_ready(&ring), 0);
            pending = 0;
        }
        for (unsigned i = 0; i < b; i++) {
            struct io_uring_sqe *sqe;
            while (!(sqe = ioring_get_sqe(&ring))) {
                /* Only the SQPOLL thread can still hold SQ slots here: it posts the CQEs of a
                 * batch before it publishes the SQ head. Wait for it (IORING_ENTER_SQ_WAIT). */
                CHECK(setup_flags & IORING_SETUP_SQPOLL);
                CHECK(ioring_enter(&ring, 0, 0, IORING_ENTER_SQ_WAIT, NULL, 0) >= 0);
            }
            prep_tagged_nop(sqe, sent++, m.nop_flags);
        }
        if (!(setup_flags & IORING_SETUP_SQPOLL))
            CHECK_EQ(ioring_sq_ready(&ring), b);
        ret = ioring_submit_and_wait(&ring, b);
        if (setup_flags & IORING_SETUP_SQPOLL)
            CHECK(ret >= (int)b && ret <= (int)ring.sq.ring_entries); /* + the poller's backlog */
        else
            CHECK_EQ(ret, b);
        pending += b;
        CHECK(ioring_cq_ready(&ring) >= b);
    }
    if (reap(&ring, pending, &seq, &m) != T_PASS)
        return T_FAIL;
    CHECK_EQ(seq, total);
    CHECK_EQ(ioring_cq_ready(&ring), 0);
    CHECK_EQ(*ring.cq.koverflow, 0);
    CHECK_EQ(*ring.sq.kdropped, 0);
    /* The indices are free-running: they went around many times. */
    CHECK(*ring.cq.khead > 10 * ring.cq.ring_entries);
    CHECK(*ring.sq.khead > 10 * ring.sq.ring_entries);
    printf("    %llu NOPs, nop_flags=%#x, reap mode %d\n", (unsigned long long)total, m.nop_flags,
           reap_mode);
    ioring_queue_exit(&ring);
    return T_PASS;
}

static int t_wrap_plain_batch(void) { return wrap_run(0, 0); }
static int t_wrap_plain_single(void) { return wrap_run(0, 1); }
static int t_wrap_plain_nr(void) { return wrap_run(0, 2); }
static int t_wrap_cqe32_batch(void) { return wrap_run(IORING_SETUP_CQE32, 0); }
static int t_wrap_cqe32_single(void) { return wrap_run(IORING_SETUP_CQE32, 1); }
static int t_wrap_cqe32_nr(void) { return wrap_run(IORING_SETUP_CQE32, 2); }
static int t_wrap_sqe128(void) { return wrap_run(IORING_SETUP_SQE128 | IORING_SETUP_CQE32, 0); }
static int t_wrap_defer(void)
{
    return wrap_run(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, 0);
}
static int t_wrap_sqpoll(void) { return wrap_run(IORING_SETUP_SQPOLL, 0); }

static int t_sq_full(void)
{
    struct ioring ring;
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    unsigned n;

    CHECK_EQ(ioring_queue_init(8, &ring, 0), 0);
    CHECK_EQ(ioring_sq_space_left(&ring), 8);
    CHECK_EQ(ioring_sq_ready(&ring), 0);
    CHECK_EQ(ioring_submit(&ring), 0); /* nothing to submit */

    for (n = 0; n < 8; n++) {
        sqe = ioring_get_sqe(&ring);
        CHECK(sqe != NULL);
        CHECK(sqe == ioring_sqe_at(&ring, n));
        ioring_prep_nop(sqe);
        sqe->user_data = 100 + n;
        CHECK_EQ(ioring_sq_ready(&ring), n + 1);
        CHECK_EQ(ioring_sq_space_left(&ring), 8 - (n + 1));
    }
    CHECK(ioring_get_sqe(&ring) == NULL);
    CHECK(ioring_get_sqe(&ring) == NULL); /* a refused get_sqe changes nothing */
    CHECK_EQ(ioring_sq_ready(&ring), 8);
    CHECK_EQ(ioring_sq_space_left(&ring), 0);
    CHECK_EQ(*ring.sq.ktail, 0); /* nothing published before submit */

    CHECK_EQ(ioring_submit(&ring), 8);
    CHECK_EQ(*ring.sq.ktail, 8);
    CHECK_EQ(ioring_sq_ready(&ring), 0);
    CHECK_EQ(ioring_sq_space_left(&ring), 8);
    CHECK_EQ(ioring_cq_ready(&ring), 8);

    /* The SQ is free again although no completion was reaped. */
    for (n = 0; n < 3; n++) {
        sqe = ioring_get_sqe(&ring);
        CHECK(sqe != NULL);
        ioring_prep_nop(sqe);
        sqe->user_data = 108 + n;
    }
    CHECK_EQ(ioring_sq_ready(&ring), 3);
    CHECK_EQ(ioring_sq_space_left(&ring), 5);
    CHECK_EQ(ioring_flush_sq(&ring), 3); /* published, not yet consumed */
    CHECK_EQ(ioring_sq_ready(&ring), 3);
    CHECK_EQ(ioring_submit(&ring), 3);
    CHECK_EQ(ioring_cq_ready(&ring), 11);

    for (n = 0; n < 11; n++) {
        CHECK_EQ(ioring_peek_cqe(&ring, &cqe), 0);
        CHECK_EQ(cqe->user_data, 100 + n);
        CHECK_EQ(cqe->res, 0);
        ioring_cq_advance(&ring, 1);
    }
    CHECK_EQ(ioring_peek_cqe(&ring, &cqe), -EAGAIN);
    CHECK(cqe == NULL);

    /* submit_and_wait returns the count submitted, not the count completed. */
    for (n = 0; n < 5; n++) {
        sqe = ioring_get_sqe(&ring);
        ioring_prep_nop(sqe);
        sqe->user_data = n;
    }
    CHECK_EQ(ioring_submit_and_wait(&ring, 2), 5);
    CHECK_EQ(ioring_cq_ready(&ring), 5);
    ioring_cq_advance(&ring, 5);
    ioring_queue_exit(&ring);
    return T_PASS;
}

/* A prepared SQE's leftovers never leak into the next use of the slot. */
static int t_sqe_reuse(void)
{
    struct ioring ring;
    struct io_uring_sqe *sqe;
    struct io_uring_cqe *cqe;
    char buf[8];

    CHECK_EQ(ioring_queue_init(1, &ring, 0), 0);
    CHECK_EQ(ring.sq.ring_entries, 1);
    sqe = ioring_get_sqe(&ring);
    ioring_prep_read(sqe, 12345, buf, sizeof(buf), 0); /* bad fd */
    sqe->flags = IOSQE_ASYNC;
    sqe->user_data = 1;
    CHECK(ioring_get_sqe(&ring) == NULL);
    CHECK_EQ(ioring_submit_and_wait(&ring, 1), 1);
    CHECK_EQ(ioring_wait_cqe(&ring, &cqe), 0);
    CHECK_EQ(cqe->user_data, 1);
    CHECK_EQ(cqe->res, -EBADF);
    ioring_cq_advance(&ring, 1);

    sqe = ioring_get_sqe_zeroed(&ring); /* same slot */
    CHECK(sqe != NULL);
    CHECK_EQ(sqe->opcode, IORING_OP_NOP);
    CHECK_EQ(sqe->flags, 0);
    CHECK_EQ(sqe->fd, 0);
    CHECK_EQ(sqe->addr, 0);
    CHECK_EQ(sqe->user_data, 0);
    sqe->user_data = 2;
    CHECK_EQ(ioring_submit_and_wait(&ring, 1), 1);
    CHECK_EQ(ioring_wait_cqe(&ring, &cqe), 0);
    CHECK_EQ(cqe->user_data, 2);
    CHECK_EQ(cqe->res, 0);
    ioring_cq_advance(&ring, 1);
    ioring_queue_exit(&ring);
    return T_PASS;
}

int main(void)
{
    static const struct t_case tests[] = {
        {"nop: wrap, plain ring, peek_batch_cqe", t_wrap_plain_batch},
        {"nop: wrap, plain ring, wait_cqe", t_wrap_plain_single},
        {"nop: wrap, plain ring, wait_cqe_nr", t_wrap_plain_nr},
        {"nop: wrap, CQE32 ring, peek_batch_cqe", t_wrap_cqe32_batch},
        {"nop: wrap, CQE32 ring, wait_cqe", t_wrap_cqe32_single},
        {"nop: wrap, CQE32 ring, wait_cqe_nr", t_wrap_cqe32_nr},
        {"nop: wrap, SQE128|CQE32 ring", t_wrap_sqe128},
        {"nop: wrap, SINGLE_ISSUER|DEFER_TASKRUN ring", t_wrap_defer},
        {"nop: wrap, SQPOLL ring", t_wrap_sqpoll},
        {"nop: SQ full, space_left, sq_ready, submit count", t_sq_full},
        {"nop: SQE slot reuse starts clean", t_sqe_reuse},
    };
    setvbuf(stdout, NULL, _IOLBF, 0);
    require_io_uring();
    return run_tests("test_nop", tests, sizeof(tests) / sizeof(tests[0]));
}
