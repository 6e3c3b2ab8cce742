/* SQE preparation, one function per liburing io_uring_prep_* (same arguments, ioring_ prefix).
 * They encode exactly what liburing encodes, so that a C program and its Python transcription
 * put the same bytes in the SQ. */
#ifndef IORING_PREP_H
#define IORING_PREP_H

#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "ioring/abi.h"

/* Direct-descriptor slots (prep_fs.h, prep_net.h): sqe->file_index 0 means "a normal fd", so a
 * slot is encoded as index + 1; asking for IORING_FILE_INDEX_ALLOC (~0U) stores the all-ones
 * value, which the kernel reads as "allocate one". */
static inline void ioring_set_target_fixed_file(struct io_uring_sqe *sqe, unsigned file_index)
{
    sqe->file_index = file_index + 1;
}

static inline void ioring_set_direct_slot(struct io_uring_sqe *sqe, unsigned file_index)
{
    if (file_index == IORING_FILE_INDEX_ALLOC)
        file_index--;
    ioring_set_target_fixed_file(sqe, file_index);
}

/* Every prep starts here. Unlike liburing, all fields but flags, user_data and personality are
 * cleared, so that preparing an SQE twice never leaves a pointer from the first preparation. */
static inline void ioring_prep_rw(int op, struct io_uring_sqe *sqe, int fd, const void *addr,
                                  unsigned len, uint64_t offset)
{
    uint8_t flags = sqe->flags;
    uint64_t user_data = sqe->user_data;
    uint16_t personality = sqe->personality;

    memset(sqe, 0, sizeof(*sqe));
    sqe->flags = flags;
    sqe->user_data = user_data;
    sqe->personality = personality;
    sqe->opcode = (uint8_t)op;
    sqe->fd = fd;
    sqe->off = offset;
    sqe->addr = (uint64_t)(uintptr_t)addr;
    sqe->len = len;
}

static inline void ioring_sqe_set_data64(struct io_uring_sqe *sqe, uint64_t data)
{
    sqe->user_data = data;
}

static inline void ioring_sqe_set_flags(struct io_uring_sqe *sqe, unsigned flags)
{
    sqe->flags = (uint8_t)flags;
}

static inline void ioring_prep_nop(struct io_uring_sqe *sqe)
{
    ioring_prep_rw(IORING_OP_NOP, sqe, -1, NULL, 0, 0);
}

static inline void ioring_prep_read(struct io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes,
                                    uint64_t offset)
{
    ioring_prep_rw(IORING_OP_READ, sqe, fd, buf, nbytes, offset);
}

static inline void ioring_prep_write(struct io_uring_sqe *sqe, int fd, const void *buf,
                                     unsigned nbytes, uint64_t offset)
{
    ioring_prep_rw(IORING_OP_WRITE, sqe, fd, buf, nbytes, offset);
}

static inline void ioring_prep_readv2(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs,
                                      unsigned nr_vecs, uint64_t offset, int flags)
{
    ioring_prep_rw(IORING_OP_READV, sqe, fd, iovecs, nr_vecs, offset);
    sqe->rw_flags = flags;
}

static inline void ioring_prep_readv(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs,
                                     unsigned nr_vecs, uint64_t offset)
{
    ioring_prep_readv2(sqe, fd, iovecs, nr_vecs, offset, 0);
}

static inline void ioring_prep_writev2(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs,
                                       unsigned nr_vecs, uint64_t offset, int flags)
{
    ioring_prep_rw(IORING_OP_WRITEV, sqe, fd, iovecs, nr_vecs, offset);
    sqe->rw_flags = flags;
}

static inline void ioring_prep_writev(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs,
                                      unsigned nr_vecs, uint64_t offset)
{
    ioring_prep_writev2(sqe, fd, iovecs, nr_vecs, offset, 0);
}

static inline void ioring_prep_read_fixed(struct io_uring_sqe *sqe, int fd, void *buf,
                                          unsigned nbytes, uint64_t offset, int buf_index)
{
    ioring_prep_rw(IORING_OP_READ_FIXED, sqe, fd, buf, nbytes, offset);
    sqe->buf_index = (uint16_t)buf_index;
}

static inline void ioring_prep_write_fixed(struct io_uring_sqe *sqe, int fd, const void *buf,
                                           unsigned nbytes, uint64_t offset, int buf_index)
{
    ioring_prep_rw(IORING_OP_WRITE_FIXED, sqe, fd, buf, nbytes, offset);
    sqe->buf_index = (uint16_t)buf_index;
}

static inline void ioring_prep_fsync(struct io_uring_sqe *sqe, int fd, unsigned fsync_flags)
{
    ioring_prep_rw(IORING_OP_FSYNC, sqe, fd, NULL, 0, 0);
    sqe->fsync_flags = fsync_flags;
}

static inline void ioring_prep_timeout(struct io_uring_sqe *sqe, struct ioring_kernel_timespec *ts,
                                       unsigned count, unsigned flags)
{
    ioring_prep_rw(IORING_OP_TIMEOUT, sqe, -1, ts, 1, count);
    sqe->timeout_flags = flags;
}

static inline void ioring_prep_timeout_remove(struct io_uring_sqe *sqe, uint64_t user_data,
                                              unsigned flags)
{
    ioring_prep_rw(IORING_OP_TIMEOUT_REMOVE, sqe, -1, NULL, 0, 0);
    sqe->addr = user_data;
    sqe->timeout_flags = flags;
}

static inline void ioring_prep_timeout_update(struct io_uring_sqe *sqe,
                                              struct ioring_kernel_timespec *ts,
                                              uint64_t user_data, unsigned flags)
{
    ioring_prep_rw(IORING_OP_TIMEOUT_REMOVE, sqe, -1, NULL, 0, (uint64_t)(uintptr_t)ts);
    sqe->addr = user_data;
    sqe->timeout_flags = flags | IORING_TIMEOUT_UPDATE;
}

static inline void ioring_prep_link_timeout(struct io_uring_sqe *sqe,
                                            struct ioring_kernel_timespec *ts, unsigned flags)
{
    ioring_prep_rw(IORING_OP_LINK_TIMEOUT, sqe, -1, ts, 1, 0);
    sqe->timeout_flags = flags;
}

static inline void ioring_prep_cancel64(struct io_uring_sqe *sqe, uint64_t user_data, int flags)
{
    ioring_prep_rw(IORING_OP_ASYNC_CANCEL, sqe, -1, NULL, 0, 0);
    sqe->addr = user_data;
    sqe->cancel_flags = (uint32_t)flags;
}

static inline void ioring_prep_cancel_fd(struct io_uring_sqe *sqe, int fd, unsigned flags)
{
    ioring_prep_rw(IORING_OP_ASYNC_CANCEL, sqe, fd, NULL, 0, 0);
    sqe->cancel_flags = flags | IORING_ASYNC_CANCEL_FD;
}

static inline void ioring_prep_openat(struct io_uring_sqe *sqe, int dfd, const char *path, int flags,
                                      unsigned mode)
{
    ioring_prep_rw(IORING_OP_OPENAT, sqe, dfd, path, mode, 0);
    sqe->open_flags = (uint32_t)flags;
}

static inline void ioring_prep_openat2(struct io_uring_sqe *sqe, int dfd, const char *path,
                                       struct ioring_open_how *how)
{
    ioring_prep_rw(IORING_OP_OPENAT2, sqe, dfd, path, sizeof(*how), (uint64_t)(uintptr_t)how);
}

static inline void ioring_prep_close(struct io_uring_sqe *sqe, int fd)
{
    ioring_prep_rw(IORING_OP_CLOSE, sqe, fd, NULL, 0, 0);
}

static inline void ioring_prep_statx(struct io_uring_sqe *sqe, int dfd, const char *path, int flags,
                                     unsigned mask, struct ioring_statx *statxbuf)
{
    ioring_prep_rw(IORING_OP_STATX, sqe, dfd, path, mask, (uint64_t)(uintptr_t)statxbuf);
    sqe->statx_flags = (uint32_t)flags;
}

static inline void ioring_prep_send(struct io_uring_sqe *sqe, int sockfd, const void *buf, size_t len,
                                    int flags)
{
    ioring_prep_rw(IORING_OP_SEND, sqe, sockfd, buf, (uint32_t)len, 0);
    sqe->msg_flags = (uint32_t)flags;
}

static inline void ioring_prep_recv(struct io_uring_sqe *sqe, int sockfd, void *buf, size_t len,
                                    int flags)
{
    ioring_prep_rw(IORING_OP_RECV, sqe, sockfd, buf, (uint32_t)len, 0);
    sqe->msg_flags = (uint32_t)flags;
}

static inline void ioring_prep_poll_add(struct io_uring_sqe *sqe, int fd, unsigned poll_mask)
{
    ioring_prep_rw(IORING_OP_POLL_ADD, sqe, fd, NULL, 0, 0);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    /* The kernel reads the 32-bit mask as two swapped 16-bit halves on big-endian. */
    poll_mask = (poll_mask << 16) | (poll_mask >> 16);
#endif
    sqe->poll32_events = poll_mask;
}

static inline void ioring_prep_poll_remove(struct io_uring_sqe *sqe, uint64_t user_data)
{
    ioring_prep_rw(IORING_OP_POLL_REMOVE, sqe, -1, NULL, 0, 0);
    sqe->addr = user_data;
}

#endif /* IORING_PREP_H */
