/* The step loops of the C reference benchmarks: NOP round trips and 4 KiB random reads/writes
 * with QD in flight, and the timed loop that runs a step for a given time. Written once for the
 * C programs of bench/c (through bench/c/bench_loop.h) and for ioring._bench (the references
 * `python -m ioring bench` divides by), so both measure the same loop.
 *
 * The ring type is IORING_STEP_RING: struct ioring (this core) by default; bench/c defines it as
 * its bench_ring, and maps the ioring_* names used here onto liburing's io_uring_* under
 * -DIORING_BENCH_LIBURING. The steps never print: a failure returns -1 with the reason in the
 * context's `err` (a wrong user_data, res or stamped block is a failure, so a loop that "goes
 * fast" by losing completions fails instead). */
#ifndef IORING_STEP_LOOP_H
#define IORING_STEP_LOOP_H

#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ioring/loop_clock.h"

#ifndef IORING_STEP_RING
#include "ioring/ioring.h"
#define IORING_STEP_RING struct ioring
#endif

#define IORING_STEP_BS 4096u  /* bytes of one read or write of the rw loop */
#define IORING_STEP_ERRLEN 256

/* One step: some round trips; returns how many operations completed, or -1 (reason in ctx). */
typedef int (*ioring_step_fn)(void *ctx);

struct ioring_step_result {
    uint64_t ops;
    double seconds;
};

/* Warm up for a tenth of the time (at most 0.2 s), then run step() for `seconds` of wall
 * time. The clock is read every 16 steps so that its cost stays out of the figure. */
static inline int ioring_step_timed(double seconds, ioring_step_fn step, void *ctx,
                                    struct ioring_step_result *r)
{
    double warm = seconds / 10 < 0.2 ? seconds / 10 : 0.2;
    int64_t t0 = ioring_now_ns(), end = t0 + (int64_t)(warm * 1e9), now = t0;
    uint64_t ops = 0;
    unsigned iter = 0;

    while (now < end) {
        if (step(ctx) < 0)
            return -1;
        if (!(++iter & 15))
            now = ioring_now_ns();
    }
    t0 = ioring_now_ns();
    end = t0 + (int64_t)(seconds * 1e9);
    now = t0;
    iter = 0;
    while (now < end) {
        int n = step(ctx);
        if (n < 0)
            return -1;
        ops += (uint64_t)n;
        if (!(++iter & 15))
            now = ioring_now_ns();
    }
    now = ioring_now_ns();
    r->ops = ops;
    r->seconds = (double)(now - t0) / 1e9;
    return 0;
}

static inline const char *ioring_step_why(int res, const char *otherwise)
{
    return res < 0 ? strerror(-res) : otherwise;
}

/* ---- NOP round trips ------------------------------------------------------------------------ */

struct ioring_nop_loop {
    IORING_STEP_RING *ring;
    unsigned batch;                 /* NOPs per step (the ring has at least that many SQEs) */
    uint64_t seq;                   /* user_data of the next NOP, checked on the way back */
    struct io_uring_cqe **cqes;     /* batch entries */
    char err[IORING_STEP_ERRLEN];
};

/* Prepare `batch` NOPs, submit them with one io_uring_enter that also waits for all of them,
 * reap them with peek_batch_cqe + cq_advance, checking every user_data and res. */
static inline int ioring_nop_step(void *arg)
{
    struct ioring_nop_loop *x = (struct ioring_nop_loop *)arg;
    unsigned batch = x->batch, reaped = 0;
    uint64_t tag = x->seq;
    int ret;

    for (unsigned i = 0; i < batch; i++) {
        struct io_uring_sqe *sqe = ioring_get_sqe(x->ring);
        if (!sqe) {
            snprintf(x->err, sizeof(x->err), "get_sqe: SQ full at %u of %u", i, batch);
            return -1;
        }
        ioring_prep_nop(sqe);
        sqe->user_data = tag + i;
    }
    ret = ioring_submit_and_wait(x->ring, batch);
    if (ret != (int)batch) {
        snprintf(x->err, sizeof(x->err), "submit_and_wait: %d (%s), expected %u", ret,
                 ioring_step_why(ret, "short"), batch);
        return -1;
    }
    while (reaped < batch) {
        unsigned n = ioring_peek_batch_cqe(x->ring, x->cqes, batch - reaped);
        if (!n) {
            struct io_uring_cqe *cqe;
            ret = ioring_wait_cqe(x->ring, &cqe);
            if (ret < 0) {
                snprintf(x->err, sizeof(x->err), "wait_cqe: %s", strerror(-ret));
                return -1;
            }
            continue;
        }
        for (unsigned i = 0; i < n; i++) {
            const struct io_uring_cqe *cqe = x->cqes[i];
            if (cqe->user_data != x->seq || cqe->res != 0) {
                snprintf(x->err, sizeof(x->err),
                         "bad completion: user_data %llu res %d, expected %llu res 0",
                         (unsigned long long)cqe->user_data, cqe->res,
                         (unsigned long long)x->seq);
                return -1;
            }
            x->seq++;
        }
        ioring_cq_advance(x->ring, n);
        reaped += n;
    }
    return (int)batch;
}

/* ---- 4 KiB random reads or writes, qd in flight --------------------------------------------- */

struct ioring_rw_loop {
    IORING_STEP_RING *ring;
    int fd;                         /* the fd, or its registered index with IOSQE_FIXED_FILE */
    unsigned qd;
    int write;
    int fixed_buffers;              /* buffer `slot` is registered buffer `slot` */
    int verify;                     /* reads: check the block number stamped in the block */
    unsigned sqe_flags;             /* IOSQE_FIXED_FILE with a registered fd */
    uint64_t nblocks;               /* requests go to uniformly random blocks below this */
    uint64_t rng;                   /* ioring_xorshift64s state (not 0) */
    unsigned char *bufs;            /* qd blocks of IORING_STEP_BS, page aligned */
    uint64_t *block;                /* qd entries: block being read into / written from a slot */
    struct io_uring_cqe **cqes;     /* qd entries */
    char err[IORING_STEP_ERRLEN];
};

/* Queue the next request of `slot` at a random block. Writes first stamp the block number into
 * the buffer (little-endian uint64), so a file written stays readable with verify. */
static inline int ioring_rw_queue(struct ioring_rw_loop *x, unsigned slot)
{
    struct io_uring_sqe *sqe = ioring_get_sqe(x->ring);
    uint64_t blk = ioring_xorshift64s(&x->rng) % x->nblocks;
    unsigned char *buf = x->bufs + (size_t)slot * IORING_STEP_BS;
    uint64_t off = blk * IORING_STEP_BS;

    if (!sqe) {
        snprintf(x->err, sizeof(x->err), "get_sqe: SQ full");
        return -1;
    }
    if (x->write) {
        uint64_t stamp = htole64(blk);
        memcpy(buf, &stamp, sizeof(stamp));
        if (x->fixed_buffers)
            ioring_prep_write_fixed(sqe, x->fd, buf, IORING_STEP_BS, off, (int)slot);
        else
            ioring_prep_write(sqe, x->fd, buf, IORING_STEP_BS, off);
    } else if (x->fixed_buffers) {
        ioring_prep_read_fixed(sqe, x->fd, buf, IORING_STEP_BS, off, (int)slot);
    } else {
        ioring_prep_read(sqe, x->fd, buf, IORING_STEP_BS, off);
    }
    sqe->flags |= (uint8_t)x->sqe_flags;
    sqe->user_data = slot;
    x->block[slot] = blk;
    return 0;
}

/* One submit_and_wait(1); every available CQE is checked (res == 4096; reads with verify: the
 * stamped block number) and its slot gets a new request. The first qd requests are queued
 * with ioring_rw_queue before the loop starts. */
static inline int ioring_rw_step(void *arg)
{
    struct ioring_rw_loop *x = (struct ioring_rw_loop *)arg;
    unsigned n;
    int ret = ioring_submit_and_wait(x->ring, 1);

    if (ret < 0) {
        snprintf(x->err, sizeof(x->err), "submit_and_wait: %s", strerror(-ret));
        return -1;
    }
    n = ioring_peek_batch_cqe(x->ring, x->cqes, x->qd);
    for (unsigned i = 0; i < n; i++) {
        const struct io_uring_cqe *cqe = x->cqes[i];
        unsigned slot = (unsigned)cqe->user_data;
        if (slot >= x->qd || cqe->res != (int)IORING_STEP_BS) {
            snprintf(x->err, sizeof(x->err), "bad completion: user_data %llu res %d (%s)",
                     (unsigned long long)cqe->user_data, cqe->res,
                     ioring_step_why(cqe->res, "short transfer"));
            return -1;
        }
        if (x->verify && !x->write) {
            uint64_t stamp;
            memcpy(&stamp, x->bufs + (size_t)slot * IORING_STEP_BS, sizeof(stamp));
            stamp = le64toh(stamp);
            if (stamp != x->block[slot]) {
                snprintf(x->err, sizeof(x->err), "slot %u: read block %llu, expected %llu", slot,
                         (unsigned long long)stamp, (unsigned long long)x->block[slot]);
                return -1;
            }
        }
        if (ioring_rw_queue(x, slot) < 0)
            return -1;
    }
    ioring_cq_advance(x->ring, n);
    return (int)n;
}

/* Wait for the `inflight` requests still out, so the buffers can be freed: 0, or -1 (reason
 * in err) when the ring cannot wait (the buffers then belong to the kernel). */
static inline int ioring_rw_drain(struct ioring_rw_loop *x, unsigned inflight)
{
    while (inflight) {
        int ret = ioring_submit_and_wait(x->ring, 1);
        unsigned n;
        if (ret < 0) {
            snprintf(x->err, sizeof(x->err), "drain: %s", strerror(-ret));
            return -1;
        }
        n = ioring_peek_batch_cqe(x->ring, x->cqes, x->qd);
        ioring_cq_advance(x->ring, n);
        inflight -= n <= inflight ? n : inflight;
    }
    return 0;
}

#endif /* IORING_STEP_LOOP_H */
