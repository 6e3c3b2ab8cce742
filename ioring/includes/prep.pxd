# include/ioring/prep.h: the io_uring_prep_* of the core opcodes.
from libc.stdint cimport uint64_t
from posix.uio cimport iovec

from ioring.includes cimport abi

cdef extern from "ioring/prep.h" nogil:
    void ioring_sqe_set_data64(abi.io_uring_sqe *sqe, uint64_t data)
    void ioring_sqe_set_flags(abi.io_uring_sqe *sqe, unsigned flags)
    void ioring_prep_rw(int op, abi.io_uring_sqe *sqe, int fd, const void *addr, unsigned len, uint64_t offset)
    void ioring_prep_nop(abi.io_uring_sqe *sqe)
    void ioring_prep_read(abi.io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes, uint64_t offset)
    void ioring_prep_write(abi.io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes, uint64_t offset)
    void ioring_prep_readv(abi.io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs, uint64_t offset)
    void ioring_prep_readv2(abi.io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs, uint64_t offset, int flags)
    void ioring_prep_writev(abi.io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs, uint64_t offset)
    void ioring_prep_writev2(abi.io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs, uint64_t offset, int flags)
    void ioring_prep_read_fixed(abi.io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes, uint64_t offset, int buf_index)
    void ioring_prep_write_fixed(abi.io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes, uint64_t offset, int buf_index)
    void ioring_prep_fsync(abi.io_uring_sqe *sqe, int fd, unsigned fsync_flags)
    void ioring_prep_timeout(abi.io_uring_sqe *sqe, abi.ioring_kernel_timespec *ts, unsigned count, unsigned flags)
    void ioring_prep_timeout_remove(abi.io_uring_sqe *sqe, uint64_t user_data, unsigned flags)
    void ioring_prep_link_timeout(abi.io_uring_sqe *sqe, abi.ioring_kernel_timespec *ts, unsigned flags)
    void ioring_prep_cancel64(abi.io_uring_sqe *sqe, uint64_t user_data, int flags)
    void ioring_prep_cancel_fd(abi.io_uring_sqe *sqe, int fd, unsigned flags)
    void ioring_prep_openat(abi.io_uring_sqe *sqe, int dfd, const char *path, int flags, unsigned mode)
    void ioring_prep_openat2(abi.io_uring_sqe *sqe, int dfd, const char *path, abi.ioring_open_how *how)
    void ioring_prep_close(abi.io_uring_sqe *sqe, int fd)
    void ioring_prep_statx(abi.io_uring_sqe *sqe, int dfd, const char *path, int flags, unsigned mask, abi.ioring_statx *statxbuf)
    void ioring_prep_send(abi.io_uring_sqe *sqe, int sockfd, const void *buf, size_t len, int flags)
    void ioring_prep_recv(abi.io_uring_sqe *sqe, int sockfd, void *buf, size_t len, int flags)
    void ioring_prep_poll_add(abi.io_uring_sqe *sqe, int fd, unsigned poll_mask)
    void ioring_prep_poll_remove(abi.io_uring_sqe *sqe, uint64_t user_data)
    void ioring_prep_timeout_update(abi.io_uring_sqe *sqe, abi.ioring_kernel_timespec *ts,
                                    uint64_t user_data, unsigned flags)
