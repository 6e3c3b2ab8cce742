/* io_uring_prep_* helpers of the fs group (see prep.h for the conventions): files, paths,
 * xattrs, direct descriptors, pipes, splice, advice, poll/epoll, waitid and futexes.
 * Each encodes exactly what liburing 2.15 encodes; every one starts with ioring_prep_rw, which
 * clears the SQE except flags, user_data and personality. */
#ifndef IORING_PREP_FS_H
#define IORING_PREP_FS_H

#include <stdint.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "ioring/abi.h"
#include "ioring/prep.h"
#include "ioring/compat.h"

/* ---- userspace constants the fs ops take (kernel ABI values, identical everywhere) ---------- */

/* futex2 (include/uapi/linux/futex.h, 6.7): sizes, NUMA, private */
#ifndef FUTEX2_SIZE_U8
#define FUTEX2_SIZE_U8   0x00
#define FUTEX2_SIZE_U16  0x01
#define FUTEX2_SIZE_U32  0x02
#define FUTEX2_SIZE_U64  0x03
#endif
#ifndef FUTEX2_SIZE_MASK
#define FUTEX2_SIZE_MASK 0x03
#endif
#ifndef FUTEX2_NUMA
#define FUTEX2_NUMA      0x04
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE   128 /* FUTEX_PRIVATE_FLAG */
#endif
#ifndef FUTEX_BITSET_MATCH_ANY
#define FUTEX_BITSET_MATCH_ANY 0xffffffffU
#endif
#ifndef FUTEX_WAITV_MAX
#define FUTEX_WAITV_MAX  128
#endif

/* epoll_ctl(2) operations */
#ifndef EPOLL_CTL_ADD
#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3
#endif

/* renameat2(2) flags */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE  (1 << 1)
#endif
#ifndef RENAME_WHITEOUT
#define RENAME_WHITEOUT  (1 << 2)
#endif

/* fallocate(2) modes */
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#endif
#ifndef FALLOC_FL_PUNCH_HOLE
#define FALLOC_FL_PUNCH_HOLE 0x02
#endif
#ifndef FALLOC_FL_COLLAPSE_RANGE
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#endif
#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif
#ifndef FALLOC_FL_INSERT_RANGE
#define FALLOC_FL_INSERT_RANGE 0x20
#endif
#ifndef FALLOC_FL_UNSHARE_RANGE
#define FALLOC_FL_UNSHARE_RANGE 0x40
#endif

/* sync_file_range(2) flags */
#ifndef SYNC_FILE_RANGE_WAIT_BEFORE
#define SYNC_FILE_RANGE_WAIT_BEFORE 1
#define SYNC_FILE_RANGE_WRITE       2
#define SYNC_FILE_RANGE_WAIT_AFTER  4
#endif

struct epoll_event;

static inline unsigned ioring_fs_poll_mask(unsigned poll_mask)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    poll_mask = (poll_mask << 16) | (poll_mask >> 16);
#endif
    return poll_mask;
}

/* ---- splice, tee, pipe -------------------------------------------------------------------- */

static inline void ioring_prep_splice(struct io_uring_sqe *sqe, int fd_in, int64_t off_in,
                                      int fd_out, int64_t off_out, unsigned nbytes,
                                      unsigned splice_flags)
{
    ioring_prep_rw(IORING_OP_SPLICE, sqe, fd_out, NULL, nbytes, (uint64_t)off_out);
    sqe->splice_off_in = (uint64_t)off_in;
    sqe->splice_fd_in = fd_in;
    sqe->splice_flags = splice_flags;
}

static inline void ioring_prep_tee(struct io_uring_sqe *sqe, int fd_in, int fd_out,
                                   unsigned nbytes, unsigned splice_flags)
{
    ioring_prep_rw(IORING_OP_TEE, sqe, fd_out, NULL, nbytes, 0);
    sqe->splice_off_in = 0;
    sqe->splice_fd_in = fd_in;
    sqe->splice_flags = splice_flags;
}

static inline void ioring_prep_pipe(struct io_uring_sqe *sqe, int *fds, int pipe_flags)
{
    ioring_prep_rw(IORING_OP_PIPE, sqe, 0, fds, 0, 0);
    sqe->pipe_flags = (uint32_t)pipe_flags;
}

static inline void ioring_prep_pipe_direct(struct io_uring_sqe *sqe, int *fds, int pipe_flags,
                                           unsigned file_index)
{
    ioring_prep_pipe(sqe, fds, pipe_flags);
    ioring_set_direct_slot(sqe, file_index);
}

/* ---- space, size, advice, sync ------------------------------------------------------------ */

static inline void ioring_prep_fallocate(struct io_uring_sqe *sqe, int fd, int mode,
                                         uint64_t offset, uint64_t len)
{
    ioring_prep_rw(IORING_OP_FALLOCATE, sqe, fd, NULL, (unsigned)mode, offset);
    sqe->addr = len;
}

static inline void ioring_prep_ftruncate(struct io_uring_sqe *sqe, int fd, int64_t len)
{
    ioring_prep_rw(IORING_OP_FTRUNCATE, sqe, fd, NULL, 0, (uint64_t)len);
}

static inline void ioring_prep_fadvise(struct io_uring_sqe *sqe, int fd, uint64_t offset,
                                       uint32_t len, int advice)
{
    ioring_prep_rw(IORING_OP_FADVISE, sqe, fd, NULL, len, offset);
    sqe->fadvise_advice = (uint32_t)advice;
}

static inline void ioring_prep_fadvise64(struct io_uring_sqe *sqe, int fd, uint64_t offset,
                                         int64_t len, int advice)
{
    ioring_prep_rw(IORING_OP_FADVISE, sqe, fd, NULL, 0, offset);
    sqe->addr = (uint64_t)len;
    sqe->fadvise_advice = (uint32_t)advice;
}

static inline void ioring_prep_madvise(struct io_uring_sqe *sqe, void *addr, uint32_t length,
                                       int advice)
{
    ioring_prep_rw(IORING_OP_MADVISE, sqe, -1, addr, length, 0);
    sqe->fadvise_advice = (uint32_t)advice;
}

static inline void ioring_prep_madvise64(struct io_uring_sqe *sqe, void *addr, int64_t length,
                                         int advice)
{
    ioring_prep_rw(IORING_OP_MADVISE, sqe, -1, addr, 0, (uint64_t)length);
    sqe->fadvise_advice = (uint32_t)advice;
}

static inline void ioring_prep_sync_file_range(struct io_uring_sqe *sqe, int fd, unsigned len,
                                               uint64_t offset, int flags)
{
    ioring_prep_rw(IORING_OP_SYNC_FILE_RANGE, sqe, fd, NULL, len, offset);
    sqe->sync_range_flags = (uint32_t)flags;
}

/* ---- paths -------------------------------------------------------------------------------- */

static inline void ioring_prep_unlinkat(struct io_uring_sqe *sqe, int dfd, const char *path,
                                        int flags)
{
    ioring_prep_rw(IORING_OP_UNLINKAT, sqe, dfd, path, 0, 0);
    sqe->unlink_flags = (uint32_t)flags;
}

static inline void ioring_prep_unlink(struct io_uring_sqe *sqe, const char *path, int flags)
{
    ioring_prep_unlinkat(sqe, AT_FDCWD, path, flags);
}

static inline void ioring_prep_renameat(struct io_uring_sqe *sqe, int olddfd, const char *oldpath,
                                        int newdfd, const char *newpath, unsigned flags)
{
    ioring_prep_rw(IORING_OP_RENAMEAT, sqe, olddfd, oldpath, (uint32_t)newdfd,
                   (uint64_t)(uintptr_t)newpath);
    sqe->rename_flags = flags;
}

static inline void ioring_prep_rename(struct io_uring_sqe *sqe, const char *oldpath,
                                      const char *newpath)
{
    ioring_prep_renameat(sqe, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0);
}

static inline void ioring_prep_mkdirat(struct io_uring_sqe *sqe, int dfd, const char *path,
                                       unsigned mode)
{
    ioring_prep_rw(IORING_OP_MKDIRAT, sqe, dfd, path, mode, 0);
}

static inline void ioring_prep_mkdir(struct io_uring_sqe *sqe, const char *path, unsigned mode)
{
    ioring_prep_mkdirat(sqe, AT_FDCWD, path, mode);
}

static inline void ioring_prep_symlinkat(struct io_uring_sqe *sqe, const char *target,
                                         int newdirfd, const char *linkpath)
{
    ioring_prep_rw(IORING_OP_SYMLINKAT, sqe, newdirfd, target, 0, (uint64_t)(uintptr_t)linkpath);
}

static inline void ioring_prep_symlink(struct io_uring_sqe *sqe, const char *target,
                                       const char *linkpath)
{
    ioring_prep_symlinkat(sqe, target, AT_FDCWD, linkpath);
}

static inline void ioring_prep_linkat(struct io_uring_sqe *sqe, int olddfd, const char *oldpath,
                                      int newdfd, const char *newpath, int flags)
{
    ioring_prep_rw(IORING_OP_LINKAT, sqe, olddfd, oldpath, (uint32_t)newdfd,
                   (uint64_t)(uintptr_t)newpath);
    sqe->hardlink_flags = (uint32_t)flags;
}

static inline void ioring_prep_link(struct io_uring_sqe *sqe, const char *oldpath,
                                    const char *newpath, int flags)
{
    ioring_prep_linkat(sqe, AT_FDCWD, oldpath, AT_FDCWD, newpath, flags);
}

/* ---- extended attributes ------------------------------------------------------------------ */

static inline void ioring_prep_getxattr(struct io_uring_sqe *sqe, const char *name, char *value,
                                        const char *path, unsigned len)
{
    ioring_prep_rw(IORING_OP_GETXATTR, sqe, 0, name, len, (uint64_t)(uintptr_t)value);
    sqe->addr3 = (uint64_t)(uintptr_t)path;
    sqe->xattr_flags = 0;
}

static inline void ioring_prep_setxattr(struct io_uring_sqe *sqe, const char *name,
                                        const char *value, const char *path, int flags,
                                        unsigned len)
{
    ioring_prep_rw(IORING_OP_SETXATTR, sqe, 0, name, len, (uint64_t)(uintptr_t)value);
    sqe->addr3 = (uint64_t)(uintptr_t)path;
    sqe->xattr_flags = (uint32_t)flags;
}

static inline void ioring_prep_fgetxattr(struct io_uring_sqe *sqe, int fd, const char *name,
                                         char *value, unsigned len)
{
    ioring_prep_rw(IORING_OP_FGETXATTR, sqe, fd, name, len, (uint64_t)(uintptr_t)value);
    sqe->xattr_flags = 0;
}

static inline void ioring_prep_fsetxattr(struct io_uring_sqe *sqe, int fd, const char *name,
                                         const char *value, int flags, unsigned len)
{
    ioring_prep_rw(IORING_OP_FSETXATTR, sqe, fd, name, len, (uint64_t)(uintptr_t)value);
    sqe->xattr_flags = (uint32_t)flags;
}

/* ---- direct descriptors ------------------------------------------------------------------- */

static inline void ioring_prep_openat_direct(struct io_uring_sqe *sqe, int dfd, const char *path,
                                             int flags, unsigned mode, unsigned file_index)
{
    ioring_prep_openat(sqe, dfd, path, flags, mode);
    ioring_set_direct_slot(sqe, file_index);
}

static inline void ioring_prep_open(struct io_uring_sqe *sqe, const char *path, int flags,
                                    unsigned mode)
{
    ioring_prep_openat(sqe, AT_FDCWD, path, flags, mode);
}

static inline void ioring_prep_open_direct(struct io_uring_sqe *sqe, const char *path, int flags,
                                           unsigned mode, unsigned file_index)
{
    ioring_prep_openat_direct(sqe, AT_FDCWD, path, flags, mode, file_index);
}

static inline void ioring_prep_openat2_direct(struct io_uring_sqe *sqe, int dfd, const char *path,
                                              struct ioring_open_how *how, unsigned file_index)
{
    ioring_prep_openat2(sqe, dfd, path, how);
    ioring_set_direct_slot(sqe, file_index);
}

static inline void ioring_prep_close_direct(struct io_uring_sqe *sqe, unsigned file_index)
{
    ioring_prep_close(sqe, 0);
    ioring_set_target_fixed_file(sqe, file_index);
}

static inline void ioring_prep_files_update(struct io_uring_sqe *sqe, int *fds, unsigned nr_fds,
                                            int offset)
{
    ioring_prep_rw(IORING_OP_FILES_UPDATE, sqe, -1, fds, nr_fds, (uint64_t)offset);
}

static inline void ioring_prep_fixed_fd_install(struct io_uring_sqe *sqe, int fd, unsigned flags)
{
    ioring_prep_rw(IORING_OP_FIXED_FD_INSTALL, sqe, fd, NULL, 0, 0);
    sqe->flags = IOSQE_FIXED_FILE;
    sqe->install_fd_flags = flags;
}

/* ---- vectored I/O on registered buffers, multishot read ----------------------------------- */

static inline void ioring_prep_readv_fixed(struct io_uring_sqe *sqe, int fd,
                                           const struct iovec *iovecs, unsigned nr_vecs,
                                           uint64_t offset, int flags, int buf_index)
{
    ioring_prep_readv2(sqe, fd, iovecs, nr_vecs, offset, flags);
    sqe->opcode = IORING_OP_READV_FIXED;
    sqe->buf_index = (uint16_t)buf_index;
}

static inline void ioring_prep_writev_fixed(struct io_uring_sqe *sqe, int fd,
                                            const struct iovec *iovecs, unsigned nr_vecs,
                                            uint64_t offset, int flags, int buf_index)
{
    ioring_prep_writev2(sqe, fd, iovecs, nr_vecs, offset, flags);
    sqe->opcode = IORING_OP_WRITEV_FIXED;
    sqe->buf_index = (uint16_t)buf_index;
}

static inline void ioring_prep_read_multishot(struct io_uring_sqe *sqe, int fd, unsigned nbytes,
                                              uint64_t offset, int buf_group)
{
    ioring_prep_rw(IORING_OP_READ_MULTISHOT, sqe, fd, NULL, nbytes, offset);
    sqe->buf_group = (uint16_t)buf_group;
    sqe->flags = IOSQE_BUFFER_SELECT;
}

/* ---- poll and epoll ----------------------------------------------------------------------- */

static inline void ioring_prep_poll_multishot(struct io_uring_sqe *sqe, int fd, unsigned poll_mask)
{
    ioring_prep_poll_add(sqe, fd, poll_mask);
    sqe->len = IORING_POLL_ADD_MULTI;
}

static inline void ioring_prep_poll_update(struct io_uring_sqe *sqe, uint64_t old_user_data,
                                           uint64_t new_user_data, unsigned poll_mask,
                                           unsigned flags)
{
    ioring_prep_rw(IORING_OP_POLL_REMOVE, sqe, -1, NULL, flags, new_user_data);
    sqe->addr = old_user_data;
    sqe->poll32_events = ioring_fs_poll_mask(poll_mask);
}

static inline void ioring_prep_epoll_ctl(struct io_uring_sqe *sqe, int epfd, int fd, int op,
                                         const struct epoll_event *ev)
{
    ioring_prep_rw(IORING_OP_EPOLL_CTL, sqe, epfd, ev, (uint32_t)op, (uint32_t)fd);
}

static inline void ioring_prep_epoll_wait(struct io_uring_sqe *sqe, int fd,
                                          struct epoll_event *events, int maxevents,
                                          unsigned flags)
{
    ioring_prep_rw(IORING_OP_EPOLL_WAIT, sqe, fd, events, (unsigned)maxevents, 0);
    sqe->rw_flags = flags;
}

/* ---- processes and futexes ---------------------------------------------------------------- */

static inline void ioring_prep_waitid(struct io_uring_sqe *sqe, idtype_t idtype, id_t id,
                                      siginfo_t *infop, int options, unsigned flags)
{
    ioring_prep_rw(IORING_OP_WAITID, sqe, (int)id, NULL, (unsigned)idtype, 0);
    sqe->waitid_flags = flags;
    sqe->file_index = (uint32_t)options;
    sqe->addr2 = (uint64_t)(uintptr_t)infop;
}

static inline void ioring_prep_futex_wake(struct io_uring_sqe *sqe, const uint32_t *futex,
                                          uint64_t val, uint64_t mask, uint32_t futex_flags,
                                          unsigned flags)
{
    ioring_prep_rw(IORING_OP_FUTEX_WAKE, sqe, (int)futex_flags, futex, 0, val);
    sqe->futex_flags = flags;
    sqe->addr3 = mask;
}

static inline void ioring_prep_futex_wait(struct io_uring_sqe *sqe, const uint32_t *futex,
                                          uint64_t val, uint64_t mask, uint32_t futex_flags,
                                          unsigned flags)
{
    ioring_prep_rw(IORING_OP_FUTEX_WAIT, sqe, (int)futex_flags, futex, 0, val);
    sqe->futex_flags = flags;
    sqe->addr3 = mask;
}

static inline void ioring_prep_futex_waitv(struct io_uring_sqe *sqe,
                                           const struct ioring_futex_waitv *futex,
                                           uint32_t nr_futex, unsigned flags)
{
    ioring_prep_rw(IORING_OP_FUTEX_WAITV, sqe, 0, futex, nr_futex, 0);
    sqe->futex_flags = flags;
}

/* ---- 128-byte SQEs ------------------------------------------------------------------------ */

static inline void ioring_prep_nop128(struct io_uring_sqe *sqe)
{
    ioring_prep_rw(IORING_OP_NOP128, sqe, -1, NULL, 0, 0);
}

#endif /* IORING_PREP_FS_H */
