# include/ioring/step_loop.h: the NOP and 4 KiB read/write step loops of the C reference
# benchmarks, shared with bench/c (bench_nop.c, bench_read.c, bench_stream.c). A module that
# cimports this must first compile the core without its GIL hooks (see _bench.pyx's prelude).
from libc.stdint cimport uint64_t

from ioring.includes cimport abi
from ioring.includes.ring cimport ioring

cdef extern from "ioring/step_loop.h" nogil:
    # include/ioring/step_loop.h: the step loops, shared with bench/c (bench_nop.c, bench_read.c)
    struct ioring_step_result:
        unsigned long long ops
        double seconds
    ctypedef int (*ioring_step_fn)(void *ctx) noexcept nogil
    int ioring_step_timed(double seconds, ioring_step_fn step, void *ctx,
                          ioring_step_result *r) nogil
    struct ioring_nop_loop:
        ioring *ring
        unsigned batch
        uint64_t seq
        abi.io_uring_cqe **cqes
        char err[256]
    int ioring_nop_step(void *ctx) noexcept nogil
    struct ioring_rw_loop:
        ioring *ring
        int fd
        unsigned qd
        int write
        int fixed_buffers
        int verify
        unsigned sqe_flags
        uint64_t nblocks
        uint64_t rng
        unsigned char *bufs
        uint64_t *block
        abi.io_uring_cqe **cqes
        char err[256]
    int ioring_rw_queue(ioring_rw_loop *x, unsigned slot) nogil
    int ioring_rw_step(void *ctx) noexcept nogil
    int ioring_rw_drain(ioring_rw_loop *x, unsigned inflight) nogil
    enum:
        IORING_STEP_BS
