/* A constant-depth request stream: `depth` reads and/or writes of `bs` bytes kept in flight on
 * one file, each slot refilled as soon as its completion is reaped, one io_uring_enter per round
 * (it submits the refills of the previous round and waits for at least one completion), until a
 * count or a time is reached. Every completion is checked and timed: submission (the clock read
 * just before the enter that submits it) to completion (the clock read just after the enter
 * that makes its CQE visible), in a log-bucketed histogram as fio's.
 *
 * Used by ioring._stream (Ring.run_stream), by the C reference of `python -m ioring bench`
 * (ioring._bench.storage) and by bench/c/bench_stream.c: one loop for all three.
 *
 * The caller owns the ring (nothing else may use it while the stream runs: CQEs that belong to
 * no slot are counted as foreign and skipped), the buffers (`depth` of them, `buf_stride` bytes
 * apart, page aligned for O_DIRECT) and the registrations (IORING_STREAM_FIXED_BUFFERS: slot i
 * uses registered buffer buf_index + i; IORING_STREAM_FIXED_FILE: fd is a registered index).
 * The ring needs at least `depth` SQ entries and `depth` CQ entries.
 *
 * Errors of a request (a negative res, a short transfer, a read whose block stamps are wrong
 * with IORING_STREAM_VERIFY) are counted per kind, the first one is kept, and the stream stops
 * issuing (the requests in flight complete and are counted), unless
 * IORING_STREAM_CONTINUE_ON_ERROR. An error of io_uring_enter itself ends the run.
 *
 * Write pattern (the format of ioring.bench.make_file): byte i of a buffer is i & 0xff, and the
 * first 8 bytes of each 4 KiB of it hold the number of the 4 KiB file block they land in
 * ((offset + k * 4096) / 4096, little endian). IORING_STREAM_VERIFY checks those stamps. */
#ifndef IORING_STREAM_H
#define IORING_STREAM_H

#include <endian.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "ioring/loop_clock.h"
#include "ioring/prep.h"
#include "ioring/register_buffers.h"
#include "ioring/ring.h"

/* ---- latency histogram ------------------------------------------------------------------------
 * fio's scheme: values below 2 * 2^BITS nanoseconds have a bucket each; above, every power of
 * two is split into 2^BITS buckets, so a bucket is at most 1/64 of its value wide (a percentile
 * is the middle of its bucket: within 0.8%). Values are clamped at 2^47 ns (39 hours). */
#define IORING_LAT_BITS 6
#define IORING_LAT_VAL (1u << IORING_LAT_BITS)
#define IORING_LAT_MAX_MSB 47
#define IORING_LAT_BUCKETS ((IORING_LAT_MAX_MSB - IORING_LAT_BITS + 1) * IORING_LAT_VAL)

struct ioring_lat_hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t min_ns;
    uint64_t max_ns;
    uint64_t buckets[IORING_LAT_BUCKETS];
};

static inline unsigned ioring_lat_bucket(uint64_t ns)
{
    unsigned msb, shift;
    if (ns >> (IORING_LAT_MAX_MSB + 1))
        ns = (1ull << (IORING_LAT_MAX_MSB + 1)) - 1;
    if (ns < 2 * IORING_LAT_VAL)
        return (unsigned)ns;
    msb = 63u - (unsigned)__builtin_clzll(ns);
    shift = msb - IORING_LAT_BITS;
    return ((shift + 1) << IORING_LAT_BITS) + (unsigned)((ns >> shift) & (IORING_LAT_VAL - 1));
}

/* Lowest value of a bucket, and its width. */
static inline uint64_t ioring_lat_bucket_low(unsigned idx, uint64_t *width)
{
    unsigned shift;
    if (idx < 2 * IORING_LAT_VAL) {
        *width = 1;
        return idx;
    }
    shift = (idx >> IORING_LAT_BITS) - 1;
    *width = 1ull << shift;
    return (1ull << (shift + IORING_LAT_BITS)) + ((uint64_t)(idx & (IORING_LAT_VAL - 1)) << shift);
}

static inline void ioring_lat_hist_reset(struct ioring_lat_hist *h)
{
    memset(h, 0, sizeof(*h));
}

static inline void ioring_lat_hist_add(struct ioring_lat_hist *h, uint64_t ns)
{
    if (!h->count || ns < h->min_ns)
        h->min_ns = ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
    h->count++;
    h->sum_ns += ns;
    h->buckets[ioring_lat_bucket(ns)]++;
}

static inline void ioring_lat_hist_merge(struct ioring_lat_hist *dst, const struct ioring_lat_hist *src)
{
    if (!src->count)
        return;
    if (!dst->count || src->min_ns < dst->min_ns)
        dst->min_ns = src->min_ns;
    if (src->max_ns > dst->max_ns)
        dst->max_ns = src->max_ns;
    dst->count += src->count;
    dst->sum_ns += src->sum_ns;
    for (unsigned i = 0; i < IORING_LAT_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
}

/* The p-th percentile (0 < p <= 100) in ns: the middle of the bucket holding the value of rank
 * ceil(p/100 * count), clamped to [min, max]. 0 for an empty histogram. */
static inline double ioring_lat_hist_percentile(const struct ioring_lat_hist *h, double p)
{
    uint64_t rank, seen = 0, width, low;
    double v;
    if (!h->count)
        return 0;
    if (p <= 0)
        return (double)h->min_ns;
    if (p >= 100)
        return (double)h->max_ns;
    rank = (uint64_t)(p / 100.0 * (double)h->count);
    if ((double)rank < p / 100.0 * (double)h->count)
        rank++;
    if (rank < 1)
        rank = 1;
    for (unsigned i = 0; i < IORING_LAT_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            low = ioring_lat_bucket_low(i, &width);
            v = (double)low + (double)(width - 1) / 2.0;
            if (v < (double)h->min_ns)
                v = (double)h->min_ns;
            if (v > (double)h->max_ns)
                v = (double)h->max_ns;
            return v;
        }
    }
    return (double)h->max_ns;
}

/* ---- the stream ------------------------------------------------------------------------------- */

enum ioring_stream_pattern {
    IORING_STREAM_RANDOM = 0,       /* uniformly random bs-aligned blocks of the range */
    IORING_STREAM_SEQUENTIAL = 1,   /* the blocks of the range in order, wrapping */
    IORING_STREAM_LIST = 2,         /* the given offsets in order, wrapping */
};

enum ioring_stream_op { IORING_STREAM_OP_READ = 0, IORING_STREAM_OP_WRITE = 1 };

/* Kinds of request errors. */
enum ioring_stream_error {
    IORING_STREAM_OK = 0,
    IORING_STREAM_ERR_ERRNO = 1,    /* res < 0: -errno */
    IORING_STREAM_ERR_SHORT = 2,    /* 0 <= res < bs */
    IORING_STREAM_ERR_VERIFY = 3,   /* a read's block stamps are not the blocks read */
    IORING_STREAM_ERR_KINDS = 4,
};

/* Why the run ended. */
enum ioring_stream_stop {
    IORING_STREAM_STOP_DONE = 0,        /* count or time reached */
    IORING_STREAM_STOP_ERROR = 1,       /* a request failed (without CONTINUE_ON_ERROR) */
    IORING_STREAM_STOP_INTERRUPTED = 2, /* poll() asked to stop: the rest was cancelled */
    IORING_STREAM_STOP_FAILED = 3,      /* io_uring_enter failed, or no SQE: see enter_error */
};

#define IORING_STREAM_FIXED_FILE 0x01u        /* cfg.fd is an index into the registered files */
#define IORING_STREAM_FIXED_BUFFERS 0x02u     /* slot i reads/writes registered buffer buf_index + i */
#define IORING_STREAM_VERIFY 0x04u            /* check the block stamps of every full read */
#define IORING_STREAM_CONTINUE_ON_ERROR 0x08u /* a failed request is counted, the stream goes on */
#define IORING_STREAM_RECORD 0x10u            /* keep one ioring_stream_record per measured request */

/* user_data of the stream's requests: a tag in the high 32 bits, the slot in the low ones. */
#define IORING_STREAM_TAG 0x7374726d00000000ull     /* "strm" */
#define IORING_STREAM_CANCEL_UD (IORING_STREAM_TAG | 0xffffffffull)

#define IORING_STREAM_MAX_DEPTH 65536u

struct ioring_stream_config {
    int fd;
    unsigned flags;                 /* IORING_STREAM_* */
    unsigned depth;                 /* requests in flight, 1..IORING_STREAM_MAX_DEPTH */
    unsigned bs;                    /* bytes per request */
    unsigned read_percent;          /* 100: reads only, 0: writes only, else the mix */
    int pattern;                    /* enum ioring_stream_pattern */
    uint64_t offset;                /* RANDOM, SEQUENTIAL: first byte of the range */
    uint64_t nblocks;               /* RANDOM, SEQUENTIAL: bs-sized blocks in the range (>= 1) */
    const uint64_t *offsets;        /* LIST: byte offsets (the caller keeps them alive) */
    uint64_t noffsets;
    uint64_t seed;                  /* same seed, same offsets and the same read/write mix */
    uint64_t max_ios;               /* stop issuing after this many requests (0: no limit) */
    int64_t ramp_ns;                /* completions during the first ramp_ns are not counted */
    int64_t run_ns;                 /* stop issuing run_ns after the ramp (0: no limit) */
    unsigned char *bufs;            /* slot i's buffer: bufs + i * buf_stride, >= bs bytes */
    size_t buf_stride;
    unsigned buf_index;             /* FIXED_BUFFERS: registered index of slot 0's buffer */
    /* Interruption (optional): poll(poll_ctx) returning nonzero stops the stream, cancels what is
     * in flight and waits for it. It is called every poll_ns and after every wait that returned
     * without a completion (a signal: EINTR, or the wait_timeout_ns bound, which requires
     * IORING_FEAT_EXT_ARG). */
    int (*poll)(void *poll_ctx);
    void *poll_ctx;
    int64_t poll_ns;
    int64_t wait_timeout_ns;        /* 0: waits are unbounded */
    int64_t cancel_after_ns;        /* once stopped, requests still in flight after this long are
                                       cancelled (needs wait_timeout_ns; 0: never) */
    int64_t give_up_ns;             /* and after this long once cancelled, the run ends with
                                       them still in flight: `leaked` (needs wait_timeout_ns) */
    unsigned submit_batch;          /* at most this many requests per io_uring_enter (fio's
                                       iodepth_batch_submit); 0: a round's refills in one enter */
};

struct ioring_stream_record {
    uint64_t index;                 /* the request's issue number, from 0 */
    uint64_t offset;
    int64_t lat_ns;
    int32_t res;
    uint8_t op;                     /* enum ioring_stream_op */
    uint8_t error;                  /* enum ioring_stream_error */
};

struct ioring_stream_slot {
    uint64_t offset;
    uint64_t index;
    int64_t t_submit;
    uint8_t op;
    uint8_t busy;
    uint8_t dirty;                  /* holds read data: the pattern is copied in before a write */
};

struct ioring_stream_totals {
    uint64_t ios;                   /* requests completed after the ramp (errors included) */
    uint64_t ops[2];                /* of which reads, writes */
    uint64_t bytes[2];              /* bytes transferred by them */
    struct ioring_lat_hist lat[2];  /* latencies of the full transfers, reads and writes */
};

struct ioring_stream {
    struct ioring *ring;
    struct ioring_stream_config cfg;
    struct ioring_stream_slot *slots;
    unsigned *pending;              /* slots queued since the last enter */
    unsigned npending;
    unsigned char *pattern;         /* bs bytes of the write pattern (NULL for reads only) */
    uint64_t rng, mix_rng, cursor;
    uint64_t issued;                /* requests queued so far: the index of the next one */
    unsigned inflight;              /* queued and not yet completed */
    bool stopping, measuring, cancelled, interrupted;
    unsigned cancels;               /* cancel requests whose CQE has not been reaped yet */
    int stop_reason;                /* enum ioring_stream_stop */
    int enter_error;                /* -errno of the io_uring_enter that failed */
    bool leaked;                    /* requests may still be in flight: keep the buffers */
    /* test hooks: requests in flight when entering the kernel, over the rounds in which every
     * completion of the previous round was replaced (depth by construction); and the enters */
    unsigned min_inflight, max_inflight;
    uint64_t steady_rounds;
    uint64_t enters;
    uint64_t foreign;               /* CQEs that belong to no request of the stream */
    int64_t t_begin, t_measure, t_end, t_stop_issue, t_stopped, t_cancel, t_last_poll;
    int64_t t_last_done;            /* reap time of the last measured completion */
    uint64_t errors[IORING_STREAM_ERR_KINDS];
    bool has_error;
    struct ioring_stream_record first_error;
    struct ioring_stream_totals totals;
    struct ioring_stream_record *rec; /* RECORD: the measured requests, in completion order */
    uint64_t nrec, rec_cap;
    bool rec_truncated;             /* out of memory for the record: it stops there */
};

/* The generator is loop_clock.h's xorshift64*, seeded through splitmix64 (never 0). */
static inline uint64_t ioring_stream_seed(uint64_t seed)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z ? z : 0x9e3779b97f4a7c15ull;
}

/* Fill a buffer with the write pattern (block stamps for a write at `offset`). */
static inline void ioring_stream_fill_pattern(unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)i;
}

static inline void ioring_stream_stamp(unsigned char *buf, unsigned len, uint64_t offset)
{
    for (unsigned k = 0; k + 8 <= len; k += 4096) {
        uint64_t v = htole64((offset + k) >> 12);
        memcpy(buf + k, &v, 8);
    }
}

static inline bool ioring_stream_stamps_ok(const unsigned char *buf, unsigned len, uint64_t offset)
{
    for (unsigned k = 0; k + 8 <= len; k += 4096) {
        uint64_t v;
        memcpy(&v, buf + k, 8);
        if (le64toh(v) != (offset + k) >> 12)
            return false;
    }
    return true;
}

static inline void ioring_stream_free(struct ioring_stream *s)
{
    free(s->slots);
    free(s->pending);
    free(s->pattern);
    free(s->rec);
    s->slots = NULL;
    s->pending = NULL;
    s->pattern = NULL;
    s->rec = NULL;
    s->nrec = s->rec_cap = 0;
}

/* Check the configuration and allocate the stream's state: 0, -EINVAL or -ENOMEM. */
static inline int ioring_stream_init(struct ioring_stream *s, struct ioring *ring,
                                     const struct ioring_stream_config *cfg)
{
    memset(s, 0, sizeof(*s));
    s->ring = ring;
    s->cfg = *cfg;
    if (!cfg->depth || cfg->depth > IORING_STREAM_MAX_DEPTH || !cfg->bs || !cfg->bufs ||
        cfg->buf_stride < cfg->bs || cfg->read_percent > 100 ||
        cfg->depth > ring->sq.ring_entries || cfg->depth > ring->cq.ring_entries)
        return -EINVAL;
    if (cfg->pattern == IORING_STREAM_LIST) {
        if (!cfg->offsets || !cfg->noffsets)
            return -EINVAL;
    } else if ((cfg->pattern != IORING_STREAM_RANDOM && cfg->pattern != IORING_STREAM_SEQUENTIAL) ||
               !cfg->nblocks) {
        return -EINVAL;
    }
    s->slots = (struct ioring_stream_slot *)calloc(cfg->depth, sizeof(*s->slots));
    s->pending = (unsigned *)calloc(cfg->depth, sizeof(unsigned));
    if (cfg->read_percent < 100)
        s->pattern = (unsigned char *)malloc(cfg->bs);
    if (!s->slots || !s->pending || (cfg->read_percent < 100 && !s->pattern)) {
        ioring_stream_free(s);
        return -ENOMEM;
    }
    if (s->pattern)
        ioring_stream_fill_pattern(s->pattern, cfg->bs);
    for (unsigned i = 0; i < cfg->depth; i++)
        s->slots[i].dirty = 1;      /* the buffers' contents are unknown */
    if (cfg->flags & IORING_STREAM_RECORD) {
        s->rec_cap = cfg->max_ios && cfg->max_ios < (1u << 24) ? cfg->max_ios : 1u << 16;
        s->rec = (struct ioring_stream_record *)malloc(s->rec_cap * sizeof(*s->rec));
        if (!s->rec) {
            ioring_stream_free(s);
            return -ENOMEM;
        }
    }
    s->rng = ioring_stream_seed(cfg->seed);
    s->mix_rng = ioring_stream_seed(cfg->seed ^ 0x6d69786d69786d69ull);
    s->min_inflight = UINT32_MAX;
    return 0;
}

static inline uint64_t ioring_stream_next_offset(struct ioring_stream *s)
{
    const struct ioring_stream_config *c = &s->cfg;
    uint64_t off;
    switch (c->pattern) {
    case IORING_STREAM_RANDOM:
        return c->offset + (ioring_xorshift64s(&s->rng) % c->nblocks) * c->bs;
    case IORING_STREAM_SEQUENTIAL:
        off = c->offset + s->cursor * c->bs;
        if (++s->cursor == c->nblocks)
            s->cursor = 0;
        return off;
    default:
        off = c->offsets[s->cursor];
        if (++s->cursor == c->noffsets)
            s->cursor = 0;
        return off;
    }
}

static inline void ioring_stream_stop(struct ioring_stream *s, int reason, int64_t now)
{
    if (s->stopping)
        return;
    s->stopping = true;
    s->stop_reason = reason;
    s->t_stopped = now;
}

/* Queue a request in a free slot. Returns false when no SQE is free (cannot happen with SQ
 * entries >= depth; the run then ends as FAILED). */
static inline bool ioring_stream_queue(struct ioring_stream *s, unsigned slot)
{
    const struct ioring_stream_config *c = &s->cfg;
    struct ioring_stream_slot *sl = &s->slots[slot];
    struct io_uring_sqe *sqe = ioring_get_sqe(s->ring);
    unsigned char *buf = c->bufs + (size_t)slot * c->buf_stride;
    uint64_t off;
    int op;

    if (!sqe)
        return false;
    off = ioring_stream_next_offset(s);
    if (c->read_percent == 100)
        op = IORING_STREAM_OP_READ;
    else if (c->read_percent == 0)
        op = IORING_STREAM_OP_WRITE;
    else
        op = ioring_xorshift64s(&s->mix_rng) % 100 < c->read_percent ? IORING_STREAM_OP_READ
                                                                       : IORING_STREAM_OP_WRITE;
    if (op == IORING_STREAM_OP_WRITE) {
        if (sl->dirty) {
            memcpy(buf, s->pattern, c->bs);
            sl->dirty = 0;
        }
        ioring_stream_stamp(buf, c->bs, off);
        if (c->flags & IORING_STREAM_FIXED_BUFFERS)
            ioring_prep_write_fixed(sqe, c->fd, buf, c->bs, off, (int)(c->buf_index + slot));
        else
            ioring_prep_write(sqe, c->fd, buf, c->bs, off);
    } else {
        sl->dirty = 1;
        if (c->flags & IORING_STREAM_FIXED_BUFFERS)
            ioring_prep_read_fixed(sqe, c->fd, buf, c->bs, off, (int)(c->buf_index + slot));
        else
            ioring_prep_read(sqe, c->fd, buf, c->bs, off);
    }
    if (c->flags & IORING_STREAM_FIXED_FILE)
        sqe->flags |= IOSQE_FIXED_FILE;
    sqe->user_data = IORING_STREAM_TAG | slot;
    sl->offset = off;
    sl->op = (uint8_t)op;
    sl->index = s->issued++;
    sl->busy = 1;
    s->pending[s->npending++] = slot;
    s->inflight++;
    return true;
}

/* Whether another request may be issued now. */
static inline bool ioring_stream_may_issue(struct ioring_stream *s, int64_t now)
{
    if (s->stopping)
        return false;
    if ((s->cfg.max_ios && s->issued >= s->cfg.max_ios) || now >= s->t_stop_issue) {
        ioring_stream_stop(s, IORING_STREAM_STOP_DONE, now);
        return false;
    }
    return true;
}

static inline void ioring_stream_record(struct ioring_stream *s, const struct ioring_stream_record *r)
{
    if (s->nrec == s->rec_cap) {
        uint64_t cap = s->rec_cap * 2;
        struct ioring_stream_record *grown;
        if (s->rec_truncated)
            return;
        grown = (struct ioring_stream_record *)realloc(s->rec, cap * sizeof(*grown));
        if (!grown) {
            s->rec_truncated = true;
            return;
        }
        s->rec = grown;
        s->rec_cap = cap;
    }
    s->rec[s->nrec++] = *r;
}

static inline void ioring_stream_complete(struct ioring_stream *s, unsigned slot, int res, int64_t now)
{
    const struct ioring_stream_config *c = &s->cfg;
    struct ioring_stream_slot *sl = &s->slots[slot];
    struct ioring_stream_record r;
    int kind = IORING_STREAM_OK;

    sl->busy = 0;
    s->inflight--;
    if (res == -ECANCELED && s->cancelled)
        return;                     /* cancelled by the stream itself: not an I/O */
    if (res < 0)
        kind = IORING_STREAM_ERR_ERRNO;
    else if ((unsigned)res != c->bs)
        kind = IORING_STREAM_ERR_SHORT;
    else if ((c->flags & IORING_STREAM_VERIFY) && sl->op == IORING_STREAM_OP_READ &&
             !ioring_stream_stamps_ok(c->bufs + (size_t)slot * c->buf_stride, c->bs, sl->offset))
        kind = IORING_STREAM_ERR_VERIFY;
    r.index = sl->index;
    r.offset = sl->offset;
    r.lat_ns = now - sl->t_submit;
    r.res = res;
    r.op = sl->op;
    r.error = (uint8_t)kind;
    if (kind != IORING_STREAM_OK) {
        s->errors[kind]++;
        if (!s->has_error) {
            s->has_error = true;
            s->first_error = r;
        }
        if (!(c->flags & IORING_STREAM_CONTINUE_ON_ERROR))
            ioring_stream_stop(s, IORING_STREAM_STOP_ERROR, now);
    }
    if (!s->measuring)
        return;
    s->t_last_done = now;
    s->totals.ios++;
    s->totals.ops[sl->op]++;
    if (res > 0)
        s->totals.bytes[sl->op] += (uint64_t)res;
    if (kind == IORING_STREAM_OK)
        ioring_lat_hist_add(&s->totals.lat[sl->op], (uint64_t)(r.lat_ns > 0 ? r.lat_ns : 0));
    if (c->flags & IORING_STREAM_RECORD)
        ioring_stream_record(s, &r);
}

/* Ask the kernel to cancel everything the stream has in flight (the ring is the stream's). */
static inline void ioring_stream_cancel(struct ioring_stream *s, int64_t now)
{
    struct io_uring_sqe *sqe;
    if (s->cancelled || !s->inflight)
        return;
    sqe = ioring_get_sqe(s->ring);
    if (!sqe)
        return;             /* retried at the next round */
    ioring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
    sqe->user_data = IORING_STREAM_CANCEL_UD;
    s->cancels++;
    s->cancelled = true;
    s->t_cancel = now;
}

/* The CANCEL_ANY of a kernel before 5.19 fails with EINVAL: cancel each request instead. */
static inline void ioring_stream_cancel_each(struct ioring_stream *s)
{
    for (unsigned i = 0; i < s->cfg.depth; i++) {
        struct io_uring_sqe *sqe;
        if (!s->slots[i].busy)
            continue;
        sqe = ioring_get_sqe(s->ring);
        if (!sqe)
            return;
        ioring_prep_cancel64(sqe, IORING_STREAM_TAG | i, 0);
        sqe->user_data = IORING_STREAM_CANCEL_UD;
        s->cancels++;
    }
}

/* One round's enter: submit what is queued, wait for a completion (bounded by wait_timeout_ns).
 * With cfg.submit_batch, the refills beyond it go first in enters that do not wait (each also
 * runs the ring's deferred completions): on a virtio disk here, a round of ~10 refills handed
 * over in one enter gave 0.85-0.9x the IOPS of the same requests handed over 4-8 at a time
 * (bench/RESULTS.md, "Storage workloads"). */
static inline int ioring_stream_enter(struct ioring_stream *s)
{
    struct ioring *ring = s->ring;
    unsigned submit = ioring_flush_sq(ring);
    unsigned flags = IORING_ENTER_GETEVENTS;
    unsigned batch = s->cfg.submit_batch;

    ioring_sq_needs_enter(ring, submit, &flags);    /* SQPOLL: wake the poller if it sleeps */
    if (batch && !(ring->flags & IORING_SETUP_SQPOLL)) {
        while (submit > batch) {
            int ret = ioring_enter(ring, batch, 0, flags, NULL, IORING_SIGSET_BYTES);
            s->enters++;
            if (ret < 0)
                return ret;
            submit -= (unsigned)ret;
            if ((unsigned)ret < batch)
                break;      /* the kernel took fewer (EAGAIN-like): the waiting enter retries */
        }
    }
    s->enters++;
    if (s->cfg.wait_timeout_ns > 0 && (ring->features & IORING_FEAT_EXT_ARG)) {
        struct ioring_kernel_timespec ts;
        struct io_uring_getevents_arg arg;
        ts.tv_sec = s->cfg.wait_timeout_ns / 1000000000;
        ts.tv_nsec = s->cfg.wait_timeout_ns % 1000000000;
        memset(&arg, 0, sizeof(arg));
        arg.sigmask_sz = IORING_SIGSET_BYTES;
        arg.ts = (uint64_t)(uintptr_t)&ts;
        return ioring_enter(ring, submit, 1, flags | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
    }
    return ioring_enter(ring, submit, 1, flags, NULL, IORING_SIGSET_BYTES);
}

/* Reap every CQE available: account it and refill its slot. Returns the completions reaped. */
static inline unsigned ioring_stream_reap(struct ioring_stream *s, int64_t now)
{
    struct ioring *ring = s->ring;
    unsigned head = *ring->cq.khead, tail = ioring_load_acquire(ring->cq.ktail), i = head;
    unsigned reaped = 0;

    while (i != tail) {
        struct io_uring_cqe *cqe = ioring_cqe_at(ring, i);
        uint64_t ud = cqe->user_data;
        unsigned slot = (unsigned)ud;
        i += ioring_cqe_nr(cqe);
        if (cqe->flags & IORING_CQE_F_SKIP)
            continue;
        if (ud == IORING_STREAM_CANCEL_UD) {
            if (s->cancels)
                s->cancels--;
            if (cqe->res == -EINVAL && s->inflight)
                ioring_stream_cancel_each(s);
            continue;
        }
        if ((ud & 0xffffffff00000000ull) != IORING_STREAM_TAG || slot >= s->cfg.depth ||
            !s->slots[slot].busy) {
            s->foreign++;
            continue;
        }
        ioring_stream_complete(s, slot, cqe->res, now);
        reaped++;
        if (ioring_stream_may_issue(s, now) && !ioring_stream_queue(s, slot)) {
            ioring_stream_stop(s, IORING_STREAM_STOP_FAILED, now);
            s->enter_error = -EBUSY;
        }
    }
    ioring_cq_advance(ring, i - head);
    return reaped;
}

/* Run the stream to its end. Returns 0, or the -errno of an io_uring_enter that failed (then
 * `leaked` says whether requests may still be in flight). */
static inline int ioring_stream_run(struct ioring_stream *s)
{
    const struct ioring_stream_config *c = &s->cfg;
    int64_t now = ioring_now_ns();
    bool waits_bounded = c->wait_timeout_ns > 0 && (s->ring->features & IORING_FEAT_EXT_ARG);

    s->t_begin = s->t_last_poll = now;
    s->measuring = c->ramp_ns <= 0;
    s->t_measure = now + (c->ramp_ns > 0 ? c->ramp_ns : 0);
    s->t_stop_issue = c->run_ns > 0 ? s->t_measure + c->run_ns : INT64_MAX;
    for (unsigned slot = 0; slot < c->depth && ioring_stream_may_issue(s, now); slot++) {
        if (!ioring_stream_queue(s, slot)) {
            ioring_stream_stop(s, IORING_STREAM_STOP_FAILED, now);
            s->enter_error = -EBUSY;
        }
    }
    while (s->inflight || s->cancels) {
        int ret;

        if (!s->stopping) {
            if (s->inflight < s->min_inflight)
                s->min_inflight = s->inflight;
            if (s->inflight > s->max_inflight)
                s->max_inflight = s->inflight;
            s->steady_rounds++;
        }
        if (s->npending) {
            int64_t t_submit = ioring_now_ns();
            for (unsigned k = 0; k < s->npending; k++)
                s->slots[s->pending[k]].t_submit = t_submit;
            s->npending = 0;
        }
        ret = ioring_stream_enter(s);
        now = ioring_now_ns();
        if (ret < 0 && ret != -EINTR && ret != -ETIME && ret != -EAGAIN && ret != -EBUSY &&
            ret != -ENOMEM) {
            s->enter_error = ret;
            ioring_stream_stop(s, IORING_STREAM_STOP_FAILED, now);
            s->stop_reason = IORING_STREAM_STOP_FAILED;
            s->leaked = s->inflight != 0;
            break;
        }
        if (!s->measuring && now >= s->t_measure) {
            s->measuring = true;
            s->t_measure = now;
        }
        if (now >= s->t_stop_issue)
            ioring_stream_may_issue(s, now);
        /* Before reaping, so that an interruption queues no refill. */
        if (c->poll && !s->interrupted &&
            (ret < 0 || !ioring_cq_ready(s->ring) || now - s->t_last_poll >= c->poll_ns)) {
            s->t_last_poll = now;
            if (c->poll(c->poll_ctx)) {
                s->interrupted = true;
                ioring_stream_stop(s, IORING_STREAM_STOP_INTERRUPTED, now);
                s->stop_reason = IORING_STREAM_STOP_INTERRUPTED;
            }
        }
        ioring_stream_reap(s, now);
        if (s->interrupted && !s->cancelled)
            ioring_stream_cancel(s, now);       /* no-op once nothing is in flight */
        if (s->stopping && waits_bounded && (s->inflight || s->cancels)) {
            if (!s->cancelled && c->cancel_after_ns > 0 && now - s->t_stopped >= c->cancel_after_ns)
                ioring_stream_cancel(s, now);
            else if (s->cancelled && c->give_up_ns > 0 && now - s->t_cancel >= c->give_up_ns) {
                s->leaked = s->inflight != 0;
                break;
            }
        }
    }
    /* The measured time ends at the last completion counted, not at the last cancellation. */
    s->t_end = s->totals.ios ? s->t_last_done : now;
    if (!s->measuring)
        s->t_measure = now;     /* ended within the ramp: nothing measured */
    return s->enter_error;
}

/* Nanoseconds of the measured part: from the end of the ramp to the last completion. */
static inline int64_t ioring_stream_elapsed_ns(const struct ioring_stream *s)
{
    return s->t_end > s->t_measure ? s->t_end - s->t_measure : 0;
}

/* For C callers with a private ring: register the stream's buffers (slot i at index i). */
static inline int ioring_stream_register_buffers(struct ioring *ring, unsigned char *bufs,
                                                 size_t stride, unsigned depth, unsigned bs)
{
    struct iovec *iov = (struct iovec *)calloc(depth, sizeof(*iov));
    int ret;
    if (!iov)
        return -ENOMEM;
    for (unsigned i = 0; i < depth; i++) {
        iov[i].iov_base = bufs + (size_t)i * stride;
        iov[i].iov_len = bs;
    }
    ret = ioring_register_buffers(ring, iov, depth);
    free(iov);
    return ret;
}

#endif /* IORING_STREAM_H */
