# include/ioring/ring.h: ring setup, mmap, SQ/CQ access, submit and wait, teardown.
from libc.stdint cimport uint8_t
from posix.signal cimport sigset_t

from ioring.includes cimport python as _gil_hooks   # before ring.h: see python.pxd
from ioring.includes cimport abi

cdef extern from "ioring/ring.h" nogil:
    struct ioring_sq:
        unsigned *khead
        unsigned *ktail
        unsigned *kflags
        unsigned *kdropped
        unsigned *array
        abi.io_uring_sqe *sqes
        unsigned sqe_head
        unsigned sqe_tail
        unsigned ring_mask
        unsigned ring_entries

    struct ioring_cq:
        unsigned *khead
        unsigned *ktail
        unsigned *kflags
        unsigned *koverflow
        abi.io_uring_cqe *cqes
        unsigned ring_mask
        unsigned ring_entries

    struct ioring:
        ioring_sq sq
        ioring_cq cq
        unsigned flags
        int ring_fd
        unsigned features
        int enter_ring_fd
        uint8_t int_flags

    unsigned ioring_sqe_shift(const ioring *ring)
    unsigned ioring_cqe_shift(const ioring *ring)
    int ioring_queue_init_params(unsigned entries, ioring *ring, abi.io_uring_params *p)
    int ioring_queue_init(unsigned entries, ioring *ring, unsigned flags)
    void ioring_queue_exit(ioring *ring)
    unsigned ioring_sq_ready(const ioring *ring)
    unsigned ioring_sq_space_left(const ioring *ring)
    abi.io_uring_sqe *ioring_sqe_at(const ioring *ring, unsigned index)
    abi.io_uring_sqe *ioring_get_sqe(ioring *ring)
    abi.io_uring_sqe *ioring_get_sqe_zeroed(ioring *ring)
    unsigned ioring_flush_sq(ioring *ring)
    bint ioring_cq_needs_flush(const ioring *ring)
    bint ioring_cq_needs_enter(const ioring *ring)
    bint ioring_sq_needs_enter(const ioring *ring, unsigned submit, unsigned *flags)
    int ioring_enter(ioring *ring, unsigned submit, unsigned wait_nr, unsigned flags, void *arg, size_t arg_size)
    int ioring_submit_and_wait(ioring *ring, unsigned wait_nr)
    int ioring_submit_and_wait_split(ioring *ring, unsigned wait_nr, unsigned *submitted)
    int ioring_submit(ioring *ring)
    unsigned ioring_cq_ready(const ioring *ring)
    unsigned ioring_cq_tail(const ioring *ring)
    abi.io_uring_cqe *ioring_cqe_at(const ioring *ring, unsigned index)
    void ioring_cq_advance(ioring *ring, unsigned nr)
    int ioring_peek_cqe_nowait(ioring *ring, abi.io_uring_cqe **cqe_ptr, unsigned *nr_available)
    unsigned ioring_cqe_nr(const abi.io_uring_cqe *cqe)
    int ioring_wait_cqes_ext(ioring *ring, abi.io_uring_cqe **cqe_ptr, unsigned submit, unsigned wait_nr,
                             abi.ioring_kernel_timespec *ts, unsigned min_wait_usec, sigset_t *sigmask)
    bint ioring_cq_has_overflow(const ioring *ring)
    bint ioring_cq_eventfd_enabled(const ioring *ring)
    int ioring_cq_eventfd_toggle(ioring *ring, bint enabled)
    int ioring_get_events(ioring *ring)
    int ioring_submit_and_get_events(ioring *ring)
    unsigned ioring_load_sq_head(const ioring *ring)
    int ioring_sqring_wait(ioring *ring)
    int ioring_set_iowait(ioring *ring, bint enable_iowait)
    int ioring_ring_dontfork(ioring *ring)
    void ioring_queue_exit_in_child(ioring *ring)
    int ioring_register_ring_fd(ioring *ring)
    int ioring_unregister_ring_fd(ioring *ring)
    int ioring_close_ring_fd(ioring *ring)
    int ioring_resize_rings(ioring *ring, abi.io_uring_params *p)
    int ioring_queue_mmap(int fd, const abi.io_uring_params *p, ioring *ring)
    long ioring_memory_size_params(unsigned entries, const abi.io_uring_params *p, size_t *sqes_size)
    long ioring_queue_init_mem(unsigned entries, ioring *ring, abi.io_uring_params *p, void *buf, size_t buf_size)
    int ioring_wait_cqes_timeout(ioring *ring, abi.io_uring_cqe **cqe_ptr, unsigned submit, unsigned wait_nr,
                                 abi.ioring_kernel_timespec *ts, sigset_t *sigmask)
    int ioring_wait_cqe_nr(ioring *ring, abi.io_uring_cqe **cqe_ptr, unsigned wait_nr)
    int ioring_wait_cqe(ioring *ring, abi.io_uring_cqe **cqe_ptr)
    int ioring_peek_cqe(ioring *ring, abi.io_uring_cqe **cqe_ptr)
    unsigned ioring_peek_batch_cqe(ioring *ring, abi.io_uring_cqe **cqes, unsigned count)
