# C declarations of the ring core (include/ioring/), shared by every Cython module.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t
from posix.signal cimport sigset_t
from posix.uio cimport iovec

cdef extern from "ioring/python.h" nogil:
    struct io_uring_sqe:
        uint8_t opcode
        uint8_t flags
        uint16_t ioprio
        int32_t fd
        uint64_t off
        uint64_t addr2
        uint64_t addr
        uint32_t len
        uint32_t rw_flags
        uint32_t fsync_flags
        uint32_t poll32_events
        uint32_t timeout_flags
        uint32_t cancel_flags
        uint32_t open_flags
        uint32_t statx_flags
        uint32_t msg_flags
        uint64_t user_data
        uint16_t buf_index
        uint16_t buf_group
        uint16_t personality
        int32_t splice_fd_in
        uint32_t file_index
        uint64_t addr3

    struct io_uring_cqe:
        uint64_t user_data
        int32_t res
        uint32_t flags
        uint64_t big_cqe[1]

    struct io_sqring_offsets:
        uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1
        uint64_t user_addr

    struct io_cqring_offsets:
        uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1
        uint64_t user_addr

    struct io_uring_params:
        uint32_t sq_entries
        uint32_t cq_entries
        uint32_t flags
        uint32_t sq_thread_cpu
        uint32_t sq_thread_idle
        uint32_t features
        uint32_t wq_fd
        uint32_t resv[3]
        io_sqring_offsets sq_off
        io_cqring_offsets cq_off

    struct io_uring_probe_op:
        uint8_t op
        uint8_t resv
        uint16_t flags
        uint32_t resv2

    struct io_uring_probe:
        uint8_t last_op
        uint8_t ops_len
        io_uring_probe_op ops[1]

    struct ioring_kernel_timespec:
        int64_t tv_sec
        long long tv_nsec

    struct ioring_open_how:
        uint64_t flags
        uint64_t mode
        uint64_t resolve

    struct ioring_statx_timestamp:
        int64_t tv_sec
        uint32_t tv_nsec

    struct ioring_statx:
        uint32_t stx_mask
        uint32_t stx_blksize
        uint64_t stx_attributes
        uint32_t stx_nlink
        uint32_t stx_uid
        uint32_t stx_gid
        uint16_t stx_mode
        uint64_t stx_ino
        uint64_t stx_size
        uint64_t stx_blocks
        uint64_t stx_attributes_mask
        ioring_statx_timestamp stx_atime
        ioring_statx_timestamp stx_btime
        ioring_statx_timestamp stx_ctime
        ioring_statx_timestamp stx_mtime
        uint32_t stx_rdev_major
        uint32_t stx_rdev_minor
        uint32_t stx_dev_major
        uint32_t stx_dev_minor
        uint64_t stx_mnt_id
        uint32_t stx_dio_mem_align
        uint32_t stx_dio_offset_align
        uint64_t stx_subvol
        uint32_t stx_atomic_write_unit_min
        uint32_t stx_atomic_write_unit_max
        uint32_t stx_atomic_write_segments_max
        uint32_t stx_dio_read_offset_align
        uint32_t stx_atomic_write_unit_max_opt

    struct ioring_sq:
        unsigned *khead
        unsigned *ktail
        unsigned *kflags
        unsigned *kdropped
        unsigned *array
        io_uring_sqe *sqes
        unsigned sqe_head
        unsigned sqe_tail
        unsigned ring_mask
        unsigned ring_entries

    struct ioring_cq:
        unsigned *khead
        unsigned *ktail
        unsigned *kflags
        unsigned *koverflow
        io_uring_cqe *cqes
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

    int IORING_SIGSET_BYTES
    int IORING_PROBE_OPS

    # ring.h
    unsigned ioring_sqe_shift(const ioring *ring)
    unsigned ioring_cqe_shift(const ioring *ring)
    int ioring_queue_init_params(unsigned entries, ioring *ring, io_uring_params *p)
    int ioring_queue_init(unsigned entries, ioring *ring, unsigned flags)
    void ioring_queue_exit(ioring *ring)
    unsigned ioring_sq_ready(const ioring *ring)
    unsigned ioring_sq_space_left(const ioring *ring)
    io_uring_sqe *ioring_sqe_at(const ioring *ring, unsigned index)
    io_uring_sqe *ioring_get_sqe(ioring *ring)
    io_uring_sqe *ioring_get_sqe_zeroed(ioring *ring)
    unsigned ioring_flush_sq(ioring *ring)
    bint ioring_cq_needs_flush(const ioring *ring)
    int ioring_enter(ioring *ring, unsigned submit, unsigned wait_nr, unsigned flags, void *arg, size_t arg_size)
    int ioring_submit_and_wait(ioring *ring, unsigned wait_nr)
    int ioring_submit_and_wait_split(ioring *ring, unsigned wait_nr, unsigned *submitted)
    int ioring_submit(ioring *ring)
    unsigned ioring_cq_ready(const ioring *ring)
    unsigned ioring_cq_tail(const ioring *ring)
    io_uring_cqe *ioring_cqe_at(const ioring *ring, unsigned index)
    void ioring_cq_advance(ioring *ring, unsigned nr)
    int ioring_peek_cqe_nowait(ioring *ring, io_uring_cqe **cqe_ptr, unsigned *nr_available)
    unsigned ioring_cqe_nr(const io_uring_cqe *cqe)
    int ioring_wait_cqes_ext(ioring *ring, io_uring_cqe **cqe_ptr, unsigned submit, unsigned wait_nr,
                             ioring_kernel_timespec *ts, unsigned min_wait_usec, sigset_t *sigmask)
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
    int ioring_resize_rings(ioring *ring, io_uring_params *p)
    int ioring_queue_mmap(int fd, const io_uring_params *p, ioring *ring)
    long ioring_memory_size_params(unsigned entries, const io_uring_params *p, size_t *sqes_size)
    long ioring_queue_init_mem(unsigned entries, ioring *ring, io_uring_params *p, void *buf, size_t buf_size)
    int ioring_sys_setup(unsigned entries, io_uring_params *p)
    int ioring_wait_cqes_timeout(ioring *ring, io_uring_cqe **cqe_ptr, unsigned submit, unsigned wait_nr,
                                 ioring_kernel_timespec *ts, sigset_t *sigmask)
    int ioring_wait_cqe_nr(ioring *ring, io_uring_cqe **cqe_ptr, unsigned wait_nr)
    int ioring_wait_cqe(ioring *ring, io_uring_cqe **cqe_ptr)
    int ioring_peek_cqe(ioring *ring, io_uring_cqe **cqe_ptr)
    unsigned ioring_peek_batch_cqe(ioring *ring, io_uring_cqe **cqes, unsigned count)

    # prep.h
    void ioring_sqe_set_data64(io_uring_sqe *sqe, uint64_t data)
    void ioring_sqe_set_flags(io_uring_sqe *sqe, unsigned flags)
    void ioring_prep_rw(int op, io_uring_sqe *sqe, int fd, const void *addr, unsigned len, uint64_t offset)
    void ioring_prep_nop(io_uring_sqe *sqe)
    void ioring_prep_read(io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes, uint64_t offset)
    void ioring_prep_write(io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes, uint64_t offset)
    void ioring_prep_readv(io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs, uint64_t offset)
    void ioring_prep_readv2(io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs, uint64_t offset, int flags)
    void ioring_prep_writev(io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs, uint64_t offset)
    void ioring_prep_writev2(io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs, uint64_t offset, int flags)
    void ioring_prep_read_fixed(io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes, uint64_t offset, int buf_index)
    void ioring_prep_write_fixed(io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes, uint64_t offset, int buf_index)
    void ioring_prep_fsync(io_uring_sqe *sqe, int fd, unsigned fsync_flags)
    void ioring_prep_timeout(io_uring_sqe *sqe, ioring_kernel_timespec *ts, unsigned count, unsigned flags)
    void ioring_prep_timeout_remove(io_uring_sqe *sqe, uint64_t user_data, unsigned flags)
    void ioring_prep_link_timeout(io_uring_sqe *sqe, ioring_kernel_timespec *ts, unsigned flags)
    void ioring_prep_cancel64(io_uring_sqe *sqe, uint64_t user_data, int flags)
    void ioring_prep_cancel_fd(io_uring_sqe *sqe, int fd, unsigned flags)
    void ioring_prep_openat(io_uring_sqe *sqe, int dfd, const char *path, int flags, unsigned mode)
    void ioring_prep_openat2(io_uring_sqe *sqe, int dfd, const char *path, ioring_open_how *how)
    void ioring_prep_close(io_uring_sqe *sqe, int fd)
    void ioring_prep_statx(io_uring_sqe *sqe, int dfd, const char *path, int flags, unsigned mask, ioring_statx *statxbuf)
    void ioring_prep_send(io_uring_sqe *sqe, int sockfd, const void *buf, size_t len, int flags)
    void ioring_prep_recv(io_uring_sqe *sqe, int sockfd, void *buf, size_t len, int flags)
    void ioring_prep_poll_add(io_uring_sqe *sqe, int fd, unsigned poll_mask)
    void ioring_prep_poll_remove(io_uring_sqe *sqe, uint64_t user_data)

    # register.h
    int ioring_register(ioring *ring, unsigned opcode, const void *arg, unsigned nr_args)
    int ioring_register_buffers(ioring *ring, const iovec *iovecs, unsigned nr_iovecs)
    int ioring_unregister_buffers(ioring *ring)
    int ioring_register_files(ioring *ring, const int *files, unsigned nr_files)
    int ioring_unregister_files(ioring *ring)
    int ioring_register_files_update(ioring *ring, unsigned off, const int *files, unsigned nr_files)
    int ioring_register_eventfd(ioring *ring, int fd)
    int ioring_register_eventfd_async(ioring *ring, int fd)
    int ioring_unregister_eventfd(ioring *ring)
    size_t ioring_probe_size()
    int ioring_register_probe(ioring *ring, io_uring_probe *probe, unsigned nr)
    int ioring_opcode_supported(const io_uring_probe *probe, int op)

    # buf_ring.h
    struct io_uring_buf:
        uint64_t addr
        uint32_t len
        uint16_t bid

    struct io_uring_buf_ring:
        uint16_t tail
        io_uring_buf bufs[1]

    struct io_uring_buf_reg:
        uint64_t ring_addr
        uint32_t ring_entries
        uint16_t bgid
        uint16_t flags

    int ioring_buf_ring_mask(uint32_t ring_entries)
    void ioring_buf_ring_init(io_uring_buf_ring *br)
    void ioring_buf_ring_add(io_uring_buf_ring *br, void *addr, unsigned len, unsigned short bid, int mask, int buf_offset)
    void ioring_buf_ring_advance(io_uring_buf_ring *br, int count)
    void ioring_buf_ring_cq_advance2(ioring *ring, io_uring_buf_ring *br, int cq_count, int buf_count)
    int ioring_register_buf_ring(ioring *ring, io_uring_buf_reg *reg, unsigned flags)
    int ioring_unregister_buf_ring(ioring *ring, int bgid)
    int ioring_buf_ring_head(ioring *ring, int buf_group, uint16_t *head)
    io_uring_buf_ring *ioring_setup_buf_ring(ioring *ring, unsigned nentries, int bgid, unsigned flags, int *err)
    io_uring_buf_ring *ioring_mmap_buf_ring(ioring *ring, unsigned nentries, int bgid, int *err)
    int ioring_free_buf_ring(ioring *ring, io_uring_buf_ring *br, unsigned nentries, int bgid)
    void ioring_prep_provide_buffers(io_uring_sqe *sqe, void *addr, int len, int nr, int bgid, int bid)
    void ioring_prep_remove_buffers(io_uring_sqe *sqe, int nr, int bgid)

cdef extern from "ioring/register_ext.h" nogil:
    int ioring_register_iowq_max_workers(ioring *ring, unsigned *val)
    int ioring_register_files_sparse(ioring *ring, unsigned nr)

cdef extern from "ioring/prep_fs.h" nogil:
    void ioring_prep_openat_direct(io_uring_sqe *sqe, int dfd, const char *path, int flags,
                                   unsigned mode, unsigned file_index)
