# include/ioring/stream.h: the constant-depth request stream, for ioring._stream (Ring.run_stream)
# and ioring._bench (the C reference of the storage workloads).
cdef extern from *:
    """
    /* The stream runs without the GIL from start to end, so the ring core must not drop and
     * retake it around io_uring_enter as it does for the other extensions (ioring/python.h
     * defines these hooks as Py_BEGIN/END_ALLOW_THREADS): the core is compiled here, first, with
     * the hooks empty; ioring/python.h, included later through ring.pxd, finds it compiled. */
    #undef IORING_BLOCKING_BEGIN
    #undef IORING_BLOCKING_END
    #define IORING_BLOCKING_BEGIN
    #define IORING_BLOCKING_END
    #include "ioring/stream.h"
    #undef IORING_BLOCKING_BEGIN
    #undef IORING_BLOCKING_END
    """

from libc.stdint cimport uint8_t, uint64_t, int64_t, int32_t

from ioring.includes cimport ring as _ring

cdef extern from "ioring/stream.h" nogil:
    enum:
        IORING_LAT_BUCKETS
        IORING_STREAM_MAX_DEPTH
        IORING_STREAM_FIXED_FILE
        IORING_STREAM_FIXED_BUFFERS
        IORING_STREAM_VERIFY
        IORING_STREAM_CONTINUE_ON_ERROR
        IORING_STREAM_RECORD

    enum:       # enum ioring_stream_pattern
        IORING_STREAM_RANDOM
        IORING_STREAM_SEQUENTIAL
        IORING_STREAM_LIST

    enum:       # enum ioring_stream_op
        IORING_STREAM_OP_READ
        IORING_STREAM_OP_WRITE

    enum:       # enum ioring_stream_error
        IORING_STREAM_OK
        IORING_STREAM_ERR_ERRNO
        IORING_STREAM_ERR_SHORT
        IORING_STREAM_ERR_VERIFY
        IORING_STREAM_ERR_KINDS

    enum:       # enum ioring_stream_stop
        IORING_STREAM_STOP_DONE
        IORING_STREAM_STOP_ERROR
        IORING_STREAM_STOP_INTERRUPTED
        IORING_STREAM_STOP_FAILED

    struct ioring_lat_hist:
        uint64_t count
        uint64_t sum_ns
        uint64_t min_ns
        uint64_t max_ns
        uint64_t buckets[1]         # IORING_LAT_BUCKETS of them

    ctypedef int (*ioring_stream_poll_fn)(void *ctx) noexcept nogil

    struct ioring_stream_config:
        int fd
        unsigned flags
        unsigned depth
        unsigned bs
        unsigned read_percent
        int pattern
        uint64_t offset
        uint64_t nblocks
        const uint64_t *offsets
        uint64_t noffsets
        uint64_t seed
        uint64_t max_ios
        int64_t ramp_ns
        int64_t run_ns
        unsigned char *bufs
        size_t buf_stride
        unsigned buf_index
        ioring_stream_poll_fn poll
        void *poll_ctx
        int64_t poll_ns
        int64_t wait_timeout_ns
        int64_t cancel_after_ns
        int64_t give_up_ns
        unsigned submit_batch

    struct ioring_stream_record:
        uint64_t index
        uint64_t offset
        int64_t lat_ns
        int32_t res
        uint8_t op
        uint8_t error

    struct ioring_stream_slot:
        uint64_t offset
        uint64_t index
        uint8_t op

    struct ioring_stream_totals:
        uint64_t ios
        uint64_t ops[2]
        uint64_t bytes[2]
        ioring_lat_hist lat[2]

    struct ioring_stream:
        ioring_stream_config cfg
        ioring_stream_slot *slots
        uint64_t issued
        unsigned inflight
        int stop_reason
        int enter_error
        bint leaked
        unsigned min_inflight
        unsigned max_inflight
        uint64_t steady_rounds
        uint64_t enters
        uint64_t foreign
        int64_t t_begin
        int64_t t_measure
        int64_t t_end
        uint64_t errors[4]          # IORING_STREAM_ERR_KINDS
        bint has_error
        ioring_stream_record first_error
        ioring_stream_totals totals
        ioring_stream_record *rec
        uint64_t nrec
        bint rec_truncated

    void ioring_lat_hist_reset(ioring_lat_hist *h)
    void ioring_lat_hist_add(ioring_lat_hist *h, uint64_t ns)
    void ioring_lat_hist_merge(ioring_lat_hist *dst, const ioring_lat_hist *src)
    double ioring_lat_hist_percentile(const ioring_lat_hist *h, double p)
    uint64_t ioring_lat_bucket_low(unsigned idx, uint64_t *width)
    void ioring_stream_fill_pattern(unsigned char *buf, size_t length)
    int ioring_stream_init(ioring_stream *s, _ring.ioring *ring, const ioring_stream_config *cfg)
    int ioring_stream_run(ioring_stream *s)
    void ioring_stream_free(ioring_stream *s)
    int64_t ioring_stream_elapsed_ns(const ioring_stream *s)
    int ioring_stream_register_buffers(_ring.ioring *ring, unsigned char *bufs, size_t stride,
                                       unsigned depth, unsigned bs)
