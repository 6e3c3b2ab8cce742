/* The ring core: setup and mmap, SQE allocation, flush/submit, waiting, CQ peek/advance, teardown.
 *
 * The semantics follow liburing's (return -errno, NULL SQE when full, a CQE stays valid until it
 * is advanced past) so that the thin Python layer can mirror liburing one-to-one on top of it.
 *
 * A program may define IORING_BLOCKING_BEGIN / IORING_BLOCKING_END before including this header:
 * they bracket the only syscall that can sleep (io_uring_enter with GETEVENTS), so that an
 * embedding interpreter can drop its lock there and nowhere else: all ring state is touched
 * with the lock held. */
#ifndef IORING_RING_H
#define IORING_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "ioring/abi.h"
#include "ioring/barrier.h"
#include "ioring/syscall.h"

#ifndef IORING_BLOCKING_BEGIN
#define IORING_BLOCKING_BEGIN
#define IORING_BLOCKING_END
#endif

/* ring->int_flags: state that is ours, not the kernel's. */
#define IORING_INT_FLAG_REG_RING 0x01u      /* enter_ring_fd is a registered ring index */
#define IORING_INT_FLAG_REG_REG_RING 0x02u  /* register through the registered ring index */
#define IORING_INT_FLAG_NO_IOWAIT 0x04u     /* waits don't count as iowait (io_uring_set_iowait) */
#define IORING_INT_FLAG_DONTFORK 0x08u      /* the rings are MADV_DONTFORK (absent in children) */

struct ioring_sq {
    unsigned *khead;
    unsigned *ktail;
    unsigned *kflags;
    unsigned *kdropped;
    unsigned *array;          /* NULL with IORING_SETUP_NO_SQARRAY */
    struct io_uring_sqe *sqes;
    unsigned sqe_head;        /* first SQE not yet published to the kernel */
    unsigned sqe_tail;        /* next SQE handed out by ioring_get_sqe */
    size_t ring_sz;
    void *ring_ptr;
    size_t sqes_sz;
    unsigned ring_mask;
    unsigned ring_entries;
};

struct ioring_cq {
    unsigned *khead;
    unsigned *ktail;
    unsigned *kflags;
    unsigned *koverflow;
    struct io_uring_cqe *cqes;
    size_t ring_sz;
    void *ring_ptr;
    unsigned ring_mask;
    unsigned ring_entries;
};

struct ioring {
    struct ioring_sq sq;
    struct ioring_cq cq;
    unsigned flags;           /* IORING_SETUP_* the ring was created with */
    int ring_fd;
    unsigned features;        /* IORING_FEAT_* reported by the kernel */
    int enter_ring_fd;        /* ring_fd, or its registered index */
    uint8_t int_flags;
};

/* log2 of the SQE / CQE size in units of the base struct. */
static inline unsigned ioring_sqe_shift(const struct ioring *ring)
{
    return (ring->flags & IORING_SETUP_SQE128) ? 1u : 0u;
}

static inline unsigned ioring_cqe_shift(const struct ioring *ring)
{
    return (ring->flags & IORING_SETUP_CQE32) ? 1u : 0u;
}

/* CQ slots a CQE occupies: 2 for a 32-byte CQE of an IORING_SETUP_CQE_MIXED ring. */
static inline unsigned ioring_cqe_nr(const struct io_uring_cqe *cqe)
{
    return (cqe->flags & IORING_CQE_F_32) ? 2u : 1u;
}

/* ---- setup / teardown ---------------------------------------------------------------------- */

static inline void ioring_unmap_rings(struct ioring *ring)
{
    if (ring->sq.sqes && ring->sq.sqes != MAP_FAILED && ring->sq.sqes_sz)
        munmap(ring->sq.sqes, ring->sq.sqes_sz);
    if (ring->cq.ring_ptr && ring->cq.ring_ptr != ring->sq.ring_ptr && ring->cq.ring_ptr != MAP_FAILED)
        munmap(ring->cq.ring_ptr, ring->cq.ring_sz);
    if (ring->sq.ring_ptr && ring->sq.ring_ptr != MAP_FAILED)
        munmap(ring->sq.ring_ptr, ring->sq.ring_sz);
    ring->sq.sqes = NULL;
    ring->sq.ring_ptr = NULL;
    ring->cq.ring_ptr = NULL;
}

/* Map the rings of an io_uring fd: one mapping with IORING_FEAT_SINGLE_MMAP, two otherwise. */
static inline int ioring_queue_mmap(int fd, const struct io_uring_params *p, struct ioring *ring)
{
    struct ioring_sq *sq = &ring->sq;
    struct ioring_cq *cq = &ring->cq;
    size_t cqe_size = sizeof(struct io_uring_cqe) << ((p->flags & IORING_SETUP_CQE32) ? 1 : 0);
    size_t sqe_size = sizeof(struct io_uring_sqe) << ((p->flags & IORING_SETUP_SQE128) ? 1 : 0);
    int saved = errno;

    memset(ring, 0, sizeof(*ring));
    ring->ring_fd = ring->enter_ring_fd = fd;
    ring->flags = p->flags;
    ring->features = p->features;

    sq->ring_sz = p->sq_off.array + p->sq_entries * sizeof(unsigned);
    cq->ring_sz = p->cq_off.cqes + p->cq_entries * cqe_size;
    if (p->features & IORING_FEAT_SINGLE_MMAP) {
        if (cq->ring_sz > sq->ring_sz)
            sq->ring_sz = cq->ring_sz;
        cq->ring_sz = sq->ring_sz;
    }
    sq->ring_ptr = mmap(NULL, sq->ring_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                        fd, IORING_OFF_SQ_RING);
    if (sq->ring_ptr == MAP_FAILED)
        goto fail;
    if (p->features & IORING_FEAT_SINGLE_MMAP) {
        cq->ring_ptr = sq->ring_ptr;
    } else {
        cq->ring_ptr = mmap(NULL, cq->ring_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
                            fd, IORING_OFF_CQ_RING);
        if (cq->ring_ptr == MAP_FAILED)
            goto fail;
    }
    sq->sqes_sz = sqe_size * p->sq_entries;
    sq->sqes = (struct io_uring_sqe *)mmap(NULL, sq->sqes_sz, PROT_READ | PROT_WRITE,
                                           MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
    if (sq->sqes == MAP_FAILED)
        goto fail;

    {
        char *sbase = (char *)sq->ring_ptr, *cbase = (char *)cq->ring_ptr;
        sq->khead = (unsigned *)(sbase + p->sq_off.head);
        sq->ktail = (unsigned *)(sbase + p->sq_off.tail);
        sq->kflags = (unsigned *)(sbase + p->sq_off.flags);
        sq->kdropped = (unsigned *)(sbase + p->sq_off.dropped);
        sq->array = (p->flags & IORING_SETUP_NO_SQARRAY) ? NULL
                                                          : (unsigned *)(sbase + p->sq_off.array);
        sq->ring_mask = *(unsigned *)(sbase + p->sq_off.ring_mask);
        sq->ring_entries = *(unsigned *)(sbase + p->sq_off.ring_entries);
        cq->khead = (unsigned *)(cbase + p->cq_off.head);
        cq->ktail = (unsigned *)(cbase + p->cq_off.tail);
        cq->kflags = p->cq_off.flags ? (unsigned *)(cbase + p->cq_off.flags) : NULL;
        cq->koverflow = (unsigned *)(cbase + p->cq_off.overflow);
        cq->cqes = (struct io_uring_cqe *)(cbase + p->cq_off.cqes);
        cq->ring_mask = *(unsigned *)(cbase + p->cq_off.ring_mask);
        cq->ring_entries = *(unsigned *)(cbase + p->cq_off.ring_entries);
    }
    /* The SQ index array maps ring slot i to SQE i for the life of the ring. */
    if (sq->array) {
        for (unsigned i = 0; i < sq->ring_entries; i++)
            sq->array[i] = i;
    }
    sq->sqe_head = sq->sqe_tail = ioring_load_acquire(sq->khead);
    return 0;
fail:
    {
        int err = -errno;
        ioring_unmap_rings(ring);
        errno = saved;
        return err;
    }
}

/* Create a ring. p->flags is honoured as given, except that IORING_SETUP_NO_SQARRAY is added
 * when the kernel offers it (as liburing does since 2.6): the SQ index array is pure overhead. */
static inline int ioring_queue_init_params(unsigned entries, struct ioring *ring,
                                           struct io_uring_params *p)
{
    unsigned asked = p->flags;
    int fd, ret;

    p->flags = asked | IORING_SETUP_NO_SQARRAY;
    fd = ioring_sys_setup(entries, p);
    if (fd == -EINVAL && !(asked & IORING_SETUP_NO_SQARRAY)) {
        p->flags = asked;
        fd = ioring_sys_setup(entries, p);
    }
    if (fd < 0) {
        p->flags = asked;
        return fd;
    }
    ret = ioring_queue_mmap(fd, p, ring);
    if (ret) {
        close(fd);
        return ret;
    }
    return 0;
}

static inline int ioring_queue_init(unsigned entries, struct ioring *ring, unsigned flags)
{
    struct io_uring_params p;
    memset(&p, 0, sizeof(p));
    p.flags = flags;
    return ioring_queue_init_params(entries, ring, &p);
}

static inline void ioring_queue_exit(struct ioring *ring)
{
    if (ring->int_flags & IORING_INT_FLAG_REG_RING) {
        struct io_uring_rsrc_update up;
        memset(&up, 0, sizeof(up));
        up.offset = (unsigned)ring->enter_ring_fd;
        if (ring->int_flags & IORING_INT_FLAG_REG_REG_RING)
            ioring_sys_register(ring->enter_ring_fd,
                                IORING_UNREGISTER_RING_FDS | IORING_REGISTER_USE_REGISTERED_RING, &up, 1);
        else
            ioring_sys_register(ring->ring_fd, IORING_UNREGISTER_RING_FDS, &up, 1);
    }
    ioring_unmap_rings(ring);
    if (ring->ring_fd >= 0)
        close(ring->ring_fd);
    ring->ring_fd = ring->enter_ring_fd = -1;
    ring->int_flags = 0;
}

/* ---- submission queue ------------------------------------------------------------------------ */

static inline unsigned ioring_sq_ready(const struct ioring *ring)
{
    return ring->sq.sqe_tail - ioring_load_acquire(ring->sq.khead);
}

static inline unsigned ioring_sq_space_left(const struct ioring *ring)
{
    return ring->sq.ring_entries - ioring_sq_ready(ring);
}

static inline struct io_uring_sqe *ioring_sqe_at(const struct ioring *ring, unsigned index)
{
    return &ring->sq.sqes[(index & ring->sq.ring_mask) << ioring_sqe_shift(ring)];
}

/* Next free SQE, or NULL when the SQ is full. Like liburing's, it clears only what the prep
 * helpers keep (flags, user_data, personality): every ioring_prep_* initializes the rest.
 * (The Python layer zeroes it all, so that an SQE nobody prepares is a NOP there.) */
static inline struct io_uring_sqe *ioring_get_sqe(struct ioring *ring)
{
    struct ioring_sq *sq = &ring->sq;
    unsigned tail = sq->sqe_tail;
    struct io_uring_sqe *sqe;

    if (tail - ioring_load_acquire(sq->khead) >= sq->ring_entries)
        return NULL;
    sq->sqe_tail = tail + 1;
    sqe = ioring_sqe_at(ring, tail);
    sqe->flags = 0;
    sqe->user_data = 0;
    sqe->personality = 0;
    return sqe;
}

/* As ioring_get_sqe, zeroed (all 128 bytes on SQE128 rings). */
static inline struct io_uring_sqe *ioring_get_sqe_zeroed(struct ioring *ring)
{
    struct io_uring_sqe *sqe = ioring_get_sqe(ring);
    /* (constant sizes: the compiler writes the zeros inline instead of calling memset) */
    if (sqe) {
        if (ioring_sqe_shift(ring))
            memset(sqe, 0, 2 * sizeof(*sqe));
        else
            memset(sqe, 0, sizeof(*sqe));
    }
    return sqe;
}

/* Publish every SQE handed out so far; returns how many the kernel has not consumed yet. */
static inline unsigned ioring_flush_sq(struct ioring *ring)
{
    struct ioring_sq *sq = &ring->sq;
    unsigned tail = sq->sqe_tail;

    if (sq->sqe_head != tail) {
        sq->sqe_head = tail;
        ioring_store_release(sq->ktail, tail);
    }
    return tail - ioring_load_acquire(sq->khead);
}

/* Whether submitting needs a syscall: always without SQPOLL; with SQPOLL only when the
 * poller thread sleeps (the fence orders our tail store before the flag load). */
static inline bool ioring_sq_needs_enter(const struct ioring *ring, unsigned submit, unsigned *flags)
{
    if (!submit)
        return false;
    if (!(ring->flags & IORING_SETUP_SQPOLL))
        return true;
    ioring_smp_mb();
    if (ioring_read_once(ring->sq.kflags) & IORING_SQ_NEED_WAKEUP) {
        *flags |= IORING_ENTER_SQ_WAKEUP;
        return true;
    }
    return false;
}

/* Completions held back by the kernel (overflow list, deferred task work) need an enter. */
static inline bool ioring_cq_needs_flush(const struct ioring *ring)
{
    return ioring_read_once(ring->sq.kflags) & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN);
}

static inline bool ioring_cq_needs_enter(const struct ioring *ring)
{
    return (ring->flags & IORING_SETUP_IOPOLL) || ioring_cq_needs_flush(ring);
}

static inline int ioring_enter(struct ioring *ring, unsigned submit, unsigned wait_nr,
                               unsigned flags, void *arg, size_t arg_size)
{
    int ret;
    if (ring->int_flags & IORING_INT_FLAG_REG_RING)
        flags |= IORING_ENTER_REGISTERED_RING;
    if ((ring->int_flags & IORING_INT_FLAG_NO_IOWAIT) && (flags & IORING_ENTER_GETEVENTS))
        flags |= IORING_ENTER_NO_IOWAIT;
    if (flags & IORING_ENTER_GETEVENTS) {
        IORING_BLOCKING_BEGIN
        ret = ioring_sys_enter2(ring->enter_ring_fd, submit, wait_nr, flags, arg, arg_size);
        IORING_BLOCKING_END
    } else {
        ret = ioring_sys_enter2(ring->enter_ring_fd, submit, wait_nr, flags, arg, arg_size);
    }
    return ret;
}

/* Flush the SQ and enter the kernel when needed; waits for wait_nr completions.
 * Returns the number of SQEs submitted or -errno. */
static inline int ioring_submit_and_wait(struct ioring *ring, unsigned wait_nr)
{
    unsigned submitted = ioring_flush_sq(ring);
    unsigned flags = 0;
    bool cq_enter = wait_nr || ioring_cq_needs_enter(ring);

    if (ioring_sq_needs_enter(ring, submitted, &flags) || cq_enter) {
        if (cq_enter)
            flags |= IORING_ENTER_GETEVENTS;
        return ioring_enter(ring, submitted, wait_nr, flags, NULL, IORING_SIGSET_BYTES);
    }
    return (int)submitted;
}

static inline int ioring_submit(struct ioring *ring)
{
    return ioring_submit_and_wait(ring, 0);
}

/* ---- completion queue ------------------------------------------------------------------------ */

static inline unsigned ioring_cq_ready(const struct ioring *ring)
{
    return ioring_load_acquire(ring->cq.ktail) - *ring->cq.khead;
}

static inline unsigned ioring_cq_tail(const struct ioring *ring)
{
    return ioring_load_acquire(ring->cq.ktail);
}

static inline struct io_uring_cqe *ioring_cqe_at(const struct ioring *ring, unsigned index)
{
    return &ring->cq.cqes[(index & ring->cq.ring_mask) << ioring_cqe_shift(ring)];
}

static inline void ioring_cq_advance(struct ioring *ring, unsigned nr)
{
    if (nr)
        ioring_store_release(ring->cq.khead, *ring->cq.khead + nr);
}

/* ioring_submit_and_wait in two steps, on rings where a plain submit posts the completions of
 * requests that finish inline (no DEFER_TASKRUN, IOPOLL, SQPOLL or CQE_MIXED): the SQEs are
 * submitted without GETEVENTS, which never sleeps, and the waiting enter is made only if fewer
 * than wait_nr completions are ready then (or some are held back). A caller that releases a
 * lock around the enters that may sleep (IORING_BLOCKING_BEGIN: Python's GIL) keeps it when
 * the requests completed inline (NOPs, page-cache reads). Other rings: ioring_submit_and_wait.
 * Returns the SQEs submitted or -errno; *submitted is set even when the wait fails (-EINTR). */
static inline int ioring_submit_and_wait_split(struct ioring *ring, unsigned wait_nr,
                                               unsigned *submitted)
{
    unsigned to_submit;
    int ret;

    *submitted = 0;
    if (ring->flags & (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_IOPOLL | IORING_SETUP_SQPOLL |
                       IORING_SETUP_CQE_MIXED)) {
        ret = ioring_submit_and_wait(ring, wait_nr);
        if (ret > 0)
            *submitted = (unsigned)ret;
        return ret;
    }
    to_submit = ioring_flush_sq(ring);
    if (to_submit) {
        ret = ioring_enter(ring, to_submit, 0, 0, NULL, IORING_SIGSET_BYTES);
        if (ret < 0)
            return ret;
        *submitted = (unsigned)ret;
        if ((unsigned)ret < to_submit)
            return ret;             /* the kernel stopped short (as one enter would: no wait) */
    }
    if (ioring_cq_ready(ring) < wait_nr || ioring_cq_needs_flush(ring)) {
        ret = ioring_enter(ring, 0, wait_nr, IORING_ENTER_GETEVENTS, NULL, IORING_SIGSET_BYTES);
        if (ret < 0)
            return ret;
    }
    return (int)*submitted;
}

/* The CQE at the head, without waiting: 0 and *cqe_ptr set (NULL when empty). */
static inline int ioring_peek_cqe_nowait(struct ioring *ring, struct io_uring_cqe **cqe_ptr,
                                         unsigned *nr_available)
{
    for (;;) {
        unsigned head = *ring->cq.khead;
        unsigned available = ioring_load_acquire(ring->cq.ktail) - head;
        struct io_uring_cqe *cqe = available ? ioring_cqe_at(ring, head) : NULL;

        /* A CQE_MIXED ring pads with IORING_CQE_F_SKIP entries: nobody's completion. */
        if (cqe && (cqe->flags & IORING_CQE_F_SKIP)) {
            ioring_cq_advance(ring, ioring_cqe_nr(cqe));
            continue;
        }
        *cqe_ptr = cqe;
        if (nr_available)
            *nr_available = available;
        return 0;
    }
}

/* Arguments of one wait, as liburing's get_data. */
struct ioring_wait {
    unsigned submit;          /* SQEs to submit with the first enter */
    unsigned wait_nr;         /* completions to wait for */
    unsigned get_flags;       /* extra IORING_ENTER_* (EXT_ARG) */
    size_t arg_size;
    bool has_ts;
    void *arg;                /* sigset_t* or struct io_uring_getevents_arg* */
};

/* The waiting loop of liburing's _io_uring_get_cqe. Returns 0 (or the count submitted by the
 * first enter) with *cqe_ptr set, -EAGAIN when there is nothing and no reason to wait, -ETIME
 * on timeout, or -errno. */
static inline int ioring_get_cqe(struct ioring *ring, struct io_uring_cqe **cqe_ptr,
                                 struct ioring_wait *w)
{
    struct io_uring_cqe *cqe = NULL;
    bool looped = false;
    int err = 0;

    for (;;) {
        bool need_enter = false;
        unsigned flags = 0, nr_available;
        int ret;

        ioring_peek_cqe_nowait(ring, &cqe, &nr_available);
        if (!cqe && !w->wait_nr && !w->submit) {
            /* Entered once already with nothing to submit or wait for: don't spin. */
            if (looped || !ioring_cq_needs_enter(ring)) {
                if (!err)
                    err = -EAGAIN;
                break;
            }
            need_enter = true;
        }
        if (w->wait_nr > nr_available || need_enter) {
            flags = IORING_ENTER_GETEVENTS | w->get_flags;
            need_enter = true;
        }
        if (ioring_sq_needs_enter(ring, w->submit, &flags))
            need_enter = true;
        if (!need_enter)
            break;
        if (looped && w->has_ts) {
            if (!cqe && !err)
                err = -ETIME;
            break;
        }
        ret = ioring_enter(ring, w->submit, w->wait_nr, flags, w->arg, w->arg_size);
        if (ret < 0) {
            if (!err)
                err = ret;
            break;
        }
        w->submit -= (unsigned)ret;
        if (cqe) {
            /* The enter may have released the embedding interpreter's lock: another thread
             * may have consumed the CQE peeked before it. Hand out the head as it is now
             * (liburing returns the stale pointer: a duplicate, whose cqe_seen would then
             * consume somebody else's completion). */
            ioring_peek_cqe_nowait(ring, &cqe, NULL);
            if (cqe)
                break;
        }
        if ((flags & IORING_ENTER_GETEVENTS) && w->wait_nr && !w->has_ts) {
            /* The kernel only gives up an untimed wait early for a signal; it reports the
             * SQEs it submitted instead of -EINTR then. Say EINTR, or the next enter would
             * sleep with the signal already consumed. */
            ioring_peek_cqe_nowait(ring, &cqe, NULL);
            if (!cqe) {
                err = -EINTR;
                break;
            }
        }
        if (!looped) {
            looped = true;
            err = ret;
        }
    }
    *cqe_ptr = cqe;
    return err;
}

/* Wait for wait_nr completions with an optional relative timeout (IORING_ENTER_EXT_ARG,
 * kernel 5.11) and signal mask; submit = SQEs to submit in the same enter, which must be what
 * ioring_flush_sq returned (this does not flush). */
static inline int ioring_wait_cqes_ext(struct ioring *ring, struct io_uring_cqe **cqe_ptr,
                                       unsigned submit, unsigned wait_nr,
                                       struct ioring_kernel_timespec *ts, unsigned min_wait_usec,
                                       sigset_t *sigmask)
{
    struct ioring_wait w;
    struct io_uring_getevents_arg arg;

    memset(&w, 0, sizeof(w));
    w.submit = submit;
    w.wait_nr = wait_nr;
    if (!ts && !min_wait_usec) {
        w.arg = sigmask;
        w.arg_size = IORING_SIGSET_BYTES;
        return ioring_get_cqe(ring, cqe_ptr, &w);
    }
    if (!(ring->features & IORING_FEAT_EXT_ARG))
        return -EOPNOTSUPP;
    if (min_wait_usec && !(ring->features & IORING_FEAT_MIN_TIMEOUT))
        return -EINVAL;
    memset(&arg, 0, sizeof(arg));
    arg.sigmask = (uint64_t)(uintptr_t)sigmask;
    arg.sigmask_sz = IORING_SIGSET_BYTES;
    arg.min_wait_usec = min_wait_usec;
    arg.ts = (uint64_t)(uintptr_t)ts;
    w.get_flags = IORING_ENTER_EXT_ARG;
    w.arg = &arg;
    w.arg_size = sizeof(arg);
    w.has_ts = ts != NULL;
    return ioring_get_cqe(ring, cqe_ptr, &w);
}

static inline int ioring_wait_cqes_timeout(struct ioring *ring, struct io_uring_cqe **cqe_ptr,
                                           unsigned submit, unsigned wait_nr,
                                           struct ioring_kernel_timespec *ts, sigset_t *sigmask)
{
    return ioring_wait_cqes_ext(ring, cqe_ptr, submit, wait_nr, ts, 0, sigmask);
}

static inline int ioring_wait_cqe_nr(struct ioring *ring, struct io_uring_cqe **cqe_ptr,
                                     unsigned wait_nr)
{
    return ioring_wait_cqes_timeout(ring, cqe_ptr, 0, wait_nr, NULL, NULL);
}

static inline int ioring_wait_cqe(struct ioring *ring, struct io_uring_cqe **cqe_ptr)
{
    struct io_uring_cqe *cqe;
    ioring_peek_cqe_nowait(ring, &cqe, NULL);
    if (cqe) {
        *cqe_ptr = cqe;
        return 0;
    }
    return ioring_wait_cqe_nr(ring, cqe_ptr, 1);
}

/* As liburing's io_uring_peek_cqe: 0 with a CQE, -EAGAIN without (after flushing any
 * overflowed or deferred completions into the CQ). */
static inline int ioring_peek_cqe(struct ioring *ring, struct io_uring_cqe **cqe_ptr)
{
    ioring_peek_cqe_nowait(ring, cqe_ptr, NULL);
    if (*cqe_ptr)
        return 0;
    return ioring_wait_cqe_nr(ring, cqe_ptr, 0);
}

/* Up to count CQE pointers from the head, skipping CQE_MIXED filler entries; flushes held-back
 * completions when the CQ looks empty. Does not advance: the caller advances by the sum of
 * ioring_cqe_nr() of what it consumed (plus any filler before them). */
static inline unsigned ioring_peek_batch_cqe(struct ioring *ring, struct io_uring_cqe **cqes,
                                             unsigned count)
{
    bool flushed = false;
    for (;;) {
        unsigned head = *ring->cq.khead;
        unsigned ready = ioring_load_acquire(ring->cq.ktail) - head;
        unsigned got = 0, i = 0;
        while (i < ready && got < count) {
            struct io_uring_cqe *cqe = ioring_cqe_at(ring, head + i);
            i += ioring_cqe_nr(cqe);
            if (!(cqe->flags & IORING_CQE_F_SKIP))
                cqes[got++] = cqe;
        }
        if (got || ready)
            return got;
        if (flushed || !ioring_cq_needs_flush(ring))
            return 0;
        ioring_enter(ring, 0, 0, IORING_ENTER_GETEVENTS, NULL, IORING_SIGSET_BYTES);
        flushed = true;
    }
}

/* ---- CQ state and ring control ------------------------------------------------------------- */

static inline bool ioring_cq_has_overflow(const struct ioring *ring)
{
    return ioring_read_once(ring->sq.kflags) & IORING_SQ_CQ_OVERFLOW;
}

static inline bool ioring_cq_eventfd_enabled(const struct ioring *ring)
{
    if (!ring->cq.kflags)
        return true;
    return !(ioring_read_once(ring->cq.kflags) & IORING_CQ_EVENTFD_DISABLED);
}

static inline int ioring_cq_eventfd_toggle(struct ioring *ring, bool enabled)
{
    unsigned flags;
    if (enabled == ioring_cq_eventfd_enabled(ring))
        return 0;
    if (!ring->cq.kflags)
        return -EOPNOTSUPP;
    flags = ioring_read_once(ring->cq.kflags);
    if (enabled)
        flags &= ~IORING_CQ_EVENTFD_DISABLED;
    else
        flags |= IORING_CQ_EVENTFD_DISABLED;
    ioring_write_once(ring->cq.kflags, flags);
    return 0;
}

/* Flush deferred/overflowed completions into the CQ without waiting for any. */
static inline int ioring_get_events(struct ioring *ring)
{
    return ioring_enter(ring, 0, 0, IORING_ENTER_GETEVENTS, NULL, IORING_SIGSET_BYTES);
}

static inline int ioring_submit_and_get_events(struct ioring *ring)
{
    unsigned submitted = ioring_flush_sq(ring);
    unsigned flags = IORING_ENTER_GETEVENTS;
    if (ring->flags & IORING_SETUP_SQPOLL) {
        ioring_smp_mb();
        if (ioring_read_once(ring->sq.kflags) & IORING_SQ_NEED_WAKEUP)
            flags |= IORING_ENTER_SQ_WAKEUP;
    }
    return ioring_enter(ring, submitted, 0, flags, NULL, IORING_SIGSET_BYTES);
}

/* The kernel's SQ head: acquire, since an SQPOLL thread moves it concurrently. */
static inline unsigned ioring_load_sq_head(const struct ioring *ring)
{
    return ioring_load_acquire(ring->sq.khead);
}

/* SQPOLL only: sleep until the poller has freed at least one SQ entry. */
static inline int ioring_sqring_wait(struct ioring *ring)
{
    if (!(ring->flags & IORING_SETUP_SQPOLL))
        return -EINVAL;
    if (ioring_sq_space_left(ring))
        return 0;
    return ioring_enter(ring, 0, 0, IORING_ENTER_SQ_WAIT | IORING_ENTER_GETEVENTS, NULL,
                        IORING_SIGSET_BYTES);
}

static inline int ioring_set_iowait(struct ioring *ring, bool enable_iowait)
{
    if (!(ring->features & IORING_FEAT_NO_IOWAIT))
        return -EOPNOTSUPP;
    if (enable_iowait)
        ring->int_flags &= (uint8_t)~IORING_INT_FLAG_NO_IOWAIT;
    else
        ring->int_flags |= IORING_INT_FLAG_NO_IOWAIT;
    return 0;
}

/* Keep the rings out of fork() children: their copy would alias the parent's. */
static inline int ioring_ring_dontfork(struct ioring *ring)
{
    int saved = errno, ret = 0;
    if (!ring->sq.ring_ptr || !ring->sq.sqes || !ring->cq.ring_ptr)
        return -EINVAL;
    if (madvise(ring->sq.sqes, ring->sq.sqes_sz, MADV_DONTFORK) ||
        madvise(ring->sq.ring_ptr, ring->sq.ring_sz, MADV_DONTFORK) ||
        (ring->cq.ring_ptr != ring->sq.ring_ptr &&
         madvise(ring->cq.ring_ptr, ring->cq.ring_sz, MADV_DONTFORK)))
        ret = -errno;
    else
        ring->int_flags |= IORING_INT_FLAG_DONTFORK;
    errno = saved;
    return ret;
}

/* A fork child dropping its copy of a parent's ring: close the inherited fd and unmap the
 * inherited mappings, touching nothing the kernel shares. After MADV_DONTFORK the child has no
 * such mappings, and those addresses may hold the child's own memory: leave them alone. */
static inline void ioring_queue_exit_in_child(struct ioring *ring)
{
    if (!(ring->int_flags & IORING_INT_FLAG_DONTFORK))
        ioring_unmap_rings(ring);
    if (ring->ring_fd >= 0)
        close(ring->ring_fd);
    ring->sq.sqes = NULL;
    ring->sq.ring_ptr = ring->cq.ring_ptr = NULL;
    ring->ring_fd = ring->enter_ring_fd = -1;
    ring->int_flags = 0;
}

/* Register the ring fd (IORING_REGISTER_RING_FDS, 5.18) so that enter skips the fd lookup. */
static inline int ioring_register_ring_fd(struct ioring *ring)
{
    struct io_uring_rsrc_update up;
    int ret;

    if (ring->int_flags & IORING_INT_FLAG_REG_RING)
        return -EEXIST;
    memset(&up, 0, sizeof(up));
    up.data = (uint64_t)ring->ring_fd;
    up.offset = (uint32_t)-1;
    ret = ioring_sys_register(ring->ring_fd, IORING_REGISTER_RING_FDS, &up, 1);
    if (ret == 1) {
        ring->enter_ring_fd = (int)up.offset;
        ring->int_flags |= IORING_INT_FLAG_REG_RING;
        if (ring->features & IORING_FEAT_REG_REG_RING)
            ring->int_flags |= IORING_INT_FLAG_REG_REG_RING;
    }
    return ret;
}

static inline int ioring_unregister_ring_fd(struct ioring *ring)
{
    struct io_uring_rsrc_update up;
    int ret;

    if (!(ring->int_flags & IORING_INT_FLAG_REG_RING))
        return -EINVAL;
    if (ring->ring_fd < 0)
        return -EBADF;    /* io_uring_close_ring_fd: the registered index is all there is */
    memset(&up, 0, sizeof(up));
    up.offset = (uint32_t)ring->enter_ring_fd;
    ret = ioring_sys_register(ring->ring_fd, IORING_UNREGISTER_RING_FDS, &up, 1);
    if (ret == 1) {
        ring->enter_ring_fd = ring->ring_fd;
        ring->int_flags &= (uint8_t)~(IORING_INT_FLAG_REG_RING | IORING_INT_FLAG_REG_REG_RING);
    }
    return ret;
}

static inline int ioring_close_ring_fd(struct ioring *ring)
{
    if (!(ring->features & IORING_FEAT_REG_REG_RING))
        return -EOPNOTSUPP;
    if (!(ring->int_flags & IORING_INT_FLAG_REG_RING))
        return -EINVAL;
    if (ring->ring_fd == -1)
        return -EBADF;
    close(ring->ring_fd);
    ring->ring_fd = -1;
    return 1;
}

/* IORING_REGISTER_RESIZE_RINGS (6.13): the kernel moves the rings (and their entries) to new
 * memory; we map it again and keep our SQ indices. Published SQEs are carried over by the
 * kernel, so the caller flushes first. */
static inline int ioring_resize_rings(struct ioring *ring, struct io_uring_params *p)
{
    unsigned sqe_head = ring->sq.sqe_head, sqe_tail = ring->sq.sqe_tail;
    int fd = ring->ring_fd, enter_fd = ring->enter_ring_fd;
    uint8_t int_flags = ring->int_flags;
    unsigned flags = ring->flags, features = ring->features;
    int ret;

    if (ring->flags & IORING_SETUP_NO_MMAP)
        return -EINVAL;
    if (fd < 0)
        return -EBADF;
    memset(&p->sq_off, 0, sizeof(p->sq_off));
    memset(&p->cq_off, 0, sizeof(p->cq_off));
    ret = ioring_sys_register(fd, IORING_REGISTER_RESIZE_RINGS, p, 1);
    if (ret < 0)
        return ret;
    ioring_unmap_rings(ring);
    {
        /* Map with the ring's own setup flags (CQE32, SQE128, NO_SQARRAY...), not the
         * resize request's. */
        struct io_uring_params q = *p;
        q.flags = flags;
        q.features = features;
        ret = ioring_queue_mmap(fd, &q, ring);
    }
    ring->enter_ring_fd = enter_fd;
    ring->int_flags = int_flags;
    if (ret)
        return ret;
    ring->sq.sqe_head = sqe_head;
    ring->sq.sqe_tail = sqe_tail;
    return 0;
}

/* ---- rings in caller memory (IORING_SETUP_NO_MMAP, 6.5) and memory sizing ------------------ */

static inline unsigned ioring_roundup_pow2(unsigned v)
{
    unsigned r = 1;
    while (r < v)
        r <<= 1;
    return r;
}

/* SQ and CQ sizes the kernel will pick for these parameters (io_uring_setup(2) rules). */
static inline int ioring_entries_for(unsigned entries, const struct io_uring_params *p,
                                     unsigned *sq_entries, unsigned *cq_entries)
{
    if (!entries)
        return -EINVAL;
    if (entries > 32768) {
        if (!(p->flags & IORING_SETUP_CLAMP))
            return -EINVAL;
        entries = 32768;
    }
    *sq_entries = ioring_roundup_pow2(entries);
    if (p->flags & IORING_SETUP_CQSIZE) {
        unsigned cq = p->cq_entries;
        if (!cq)
            return -EINVAL;
        if (cq > 65536) {
            if (!(p->flags & IORING_SETUP_CLAMP))
                return -EINVAL;
            cq = 65536;
        }
        *cq_entries = ioring_roundup_pow2(cq);
        if (*cq_entries < *sq_entries)
            return -EINVAL;
    } else {
        *cq_entries = 2 * *sq_entries;
    }
    return 0;
}

#define IORING_PAGE_ALIGN(x) (((x) + 4095u) & ~(size_t)4095u)
/* The kernel's struct io_rings header before the CQE array, rounded up generously. */
#define IORING_RINGS_HEADER 1024u

/* Bytes io_uring_queue_init_mem needs: the SQE array, then the rings, each page-aligned. */
static inline long ioring_memory_size_params(unsigned entries, const struct io_uring_params *p,
                                             size_t *sqes_size)
{
    unsigned sq_entries, cq_entries;
    size_t sqes, rings;
    int ret = ioring_entries_for(entries, p, &sq_entries, &cq_entries);
    if (ret)
        return ret;
    sqes = IORING_PAGE_ALIGN(sq_entries * (sizeof(struct io_uring_sqe) << ((p->flags & IORING_SETUP_SQE128) ? 1 : 0)));
    rings = IORING_RINGS_HEADER + cq_entries * (sizeof(struct io_uring_cqe) << ((p->flags & IORING_SETUP_CQE32) ? 1 : 0));
    if (!(p->flags & IORING_SETUP_NO_SQARRAY))
        rings += sq_entries * sizeof(unsigned) + 64;
    rings = IORING_PAGE_ALIGN(rings);
    if (sqes_size)
        *sqes_size = sqes;
    return (long)(sqes + rings);
}

/* Create a ring whose SQEs and rings live in buf (page-aligned, buf_size bytes). Returns the
 * bytes used, or -errno. The memory must outlive the ring. */
static inline long ioring_queue_init_mem(unsigned entries, struct ioring *ring,
                                         struct io_uring_params *p, void *buf, size_t buf_size)
{
    size_t sqes_size = 0;
    long need;
    unsigned asked = p->flags;
    int fd;

    p->flags |= IORING_SETUP_NO_MMAP | IORING_SETUP_NO_SQARRAY;
    need = ioring_memory_size_params(entries, p, &sqes_size);
    if (need < 0 || (uintptr_t)buf % 4096) {
        p->flags = asked;
        return need < 0 ? need : -EINVAL;
    }
    if ((size_t)need > buf_size) {
        p->flags = asked;
        return -ENOMEM;
    }
    memset(buf, 0, (size_t)need);
    p->sq_off.user_addr = (uint64_t)(uintptr_t)buf;
    p->cq_off.user_addr = (uint64_t)(uintptr_t)((char *)buf + sqes_size);
    fd = ioring_sys_setup(entries, p);
    if (fd < 0) {
        p->flags = asked;
        return fd;
    }
    {
        struct ioring_sq *sq = &ring->sq;
        struct ioring_cq *cq = &ring->cq;
        char *rings = (char *)buf + sqes_size;
        memset(ring, 0, sizeof(*ring));
        ring->ring_fd = ring->enter_ring_fd = fd;
        ring->flags = p->flags;
        ring->features = p->features;
        /* ring_sz 0 and ring_ptr NULL: nothing for ioring_unmap_rings to unmap. */
        sq->sqes = (struct io_uring_sqe *)buf;
        sq->khead = (unsigned *)(rings + p->sq_off.head);
        sq->ktail = (unsigned *)(rings + p->sq_off.tail);
        sq->kflags = (unsigned *)(rings + p->sq_off.flags);
        sq->kdropped = (unsigned *)(rings + p->sq_off.dropped);
        sq->array = NULL;
        sq->ring_mask = *(unsigned *)(rings + p->sq_off.ring_mask);
        sq->ring_entries = *(unsigned *)(rings + p->sq_off.ring_entries);
        cq->khead = (unsigned *)(rings + p->cq_off.head);
        cq->ktail = (unsigned *)(rings + p->cq_off.tail);
        cq->kflags = p->cq_off.flags ? (unsigned *)(rings + p->cq_off.flags) : NULL;
        cq->koverflow = (unsigned *)(rings + p->cq_off.overflow);
        cq->cqes = (struct io_uring_cqe *)(rings + p->cq_off.cqes);
        cq->ring_mask = *(unsigned *)(rings + p->cq_off.ring_mask);
        cq->ring_entries = *(unsigned *)(rings + p->cq_off.ring_entries);
        sq->sqe_head = sq->sqe_tail = ioring_load_acquire(sq->khead);
    }
    return need;
}

#endif /* IORING_RING_H */
