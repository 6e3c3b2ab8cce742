# include/ioring/prep_fs.h: the io_uring_prep_* of files, paths, xattrs, direct descriptors,
# pipes, splice, advice, poll/epoll, waitid and futexes, and the constants it defines where the
# libc lacks them (under _c_ names: ioring.liburing exports them to Python under their C names).
from libc.stdint cimport uint32_t, uint64_t, int64_t
from posix.signal cimport siginfo_t
from posix.uio cimport iovec

from ioring.includes cimport abi
from ioring.includes.libc_extra cimport _epoll_event_t

cdef extern from "ioring/prep_fs.h" nogil:
    const long long _c_FUTEX2_SIZE_U8 "FUTEX2_SIZE_U8"
    const long long _c_FUTEX2_SIZE_U16 "FUTEX2_SIZE_U16"
    const long long _c_FUTEX2_SIZE_U32 "FUTEX2_SIZE_U32"
    const long long _c_FUTEX2_SIZE_U64 "FUTEX2_SIZE_U64"
    const long long _c_FUTEX2_SIZE_MASK "FUTEX2_SIZE_MASK"
    const long long _c_FUTEX2_NUMA "FUTEX2_NUMA"
    const long long _c_FUTEX2_PRIVATE "FUTEX2_PRIVATE"
    const long long _c_FUTEX_BITSET_MATCH_ANY "FUTEX_BITSET_MATCH_ANY"
    const long long _c_FUTEX_WAITV_MAX "FUTEX_WAITV_MAX"
    const long long _c_EPOLL_CTL_ADD "EPOLL_CTL_ADD"
    const long long _c_EPOLL_CTL_DEL "EPOLL_CTL_DEL"
    const long long _c_EPOLL_CTL_MOD "EPOLL_CTL_MOD"
    const long long _c_RENAME_NOREPLACE "RENAME_NOREPLACE"
    const long long _c_RENAME_EXCHANGE "RENAME_EXCHANGE"
    const long long _c_RENAME_WHITEOUT "RENAME_WHITEOUT"
    const long long _c_FALLOC_FL_KEEP_SIZE "FALLOC_FL_KEEP_SIZE"
    const long long _c_FALLOC_FL_PUNCH_HOLE "FALLOC_FL_PUNCH_HOLE"
    const long long _c_FALLOC_FL_COLLAPSE_RANGE "FALLOC_FL_COLLAPSE_RANGE"
    const long long _c_FALLOC_FL_ZERO_RANGE "FALLOC_FL_ZERO_RANGE"
    const long long _c_FALLOC_FL_INSERT_RANGE "FALLOC_FL_INSERT_RANGE"
    const long long _c_FALLOC_FL_UNSHARE_RANGE "FALLOC_FL_UNSHARE_RANGE"
    const long long _c_SYNC_FILE_RANGE_WAIT_BEFORE "SYNC_FILE_RANGE_WAIT_BEFORE"
    const long long _c_SYNC_FILE_RANGE_WRITE "SYNC_FILE_RANGE_WRITE"
    const long long _c_SYNC_FILE_RANGE_WAIT_AFTER "SYNC_FILE_RANGE_WAIT_AFTER"

    ctypedef int _idtype_t "idtype_t"
    ctypedef unsigned _id_t "id_t"

    void ioring_prep_splice(abi.io_uring_sqe *sqe, int fd_in, int64_t off_in, int fd_out,
                            int64_t off_out, unsigned nbytes, unsigned splice_flags)
    void ioring_prep_tee(abi.io_uring_sqe *sqe, int fd_in, int fd_out, unsigned nbytes,
                         unsigned splice_flags)
    void ioring_prep_pipe(abi.io_uring_sqe *sqe, int *fds, int pipe_flags)
    void ioring_prep_pipe_direct(abi.io_uring_sqe *sqe, int *fds, int pipe_flags, unsigned file_index)
    void ioring_prep_fallocate(abi.io_uring_sqe *sqe, int fd, int mode, uint64_t offset, uint64_t len)
    void ioring_prep_ftruncate(abi.io_uring_sqe *sqe, int fd, int64_t len)
    void ioring_prep_fadvise(abi.io_uring_sqe *sqe, int fd, uint64_t offset, uint32_t len, int advice)
    void ioring_prep_fadvise64(abi.io_uring_sqe *sqe, int fd, uint64_t offset, int64_t len, int advice)
    void ioring_prep_madvise(abi.io_uring_sqe *sqe, void *addr, uint32_t length, int advice)
    void ioring_prep_madvise64(abi.io_uring_sqe *sqe, void *addr, int64_t length, int advice)
    void ioring_prep_sync_file_range(abi.io_uring_sqe *sqe, int fd, unsigned len, uint64_t offset,
                                     int flags)
    void ioring_prep_unlinkat(abi.io_uring_sqe *sqe, int dfd, const char *path, int flags)
    void ioring_prep_unlink(abi.io_uring_sqe *sqe, const char *path, int flags)
    void ioring_prep_renameat(abi.io_uring_sqe *sqe, int olddfd, const char *oldpath, int newdfd,
                              const char *newpath, unsigned flags)
    void ioring_prep_rename(abi.io_uring_sqe *sqe, const char *oldpath, const char *newpath)
    void ioring_prep_mkdirat(abi.io_uring_sqe *sqe, int dfd, const char *path, unsigned mode)
    void ioring_prep_mkdir(abi.io_uring_sqe *sqe, const char *path, unsigned mode)
    void ioring_prep_symlinkat(abi.io_uring_sqe *sqe, const char *target, int newdirfd,
                               const char *linkpath)
    void ioring_prep_symlink(abi.io_uring_sqe *sqe, const char *target, const char *linkpath)
    void ioring_prep_linkat(abi.io_uring_sqe *sqe, int olddfd, const char *oldpath, int newdfd,
                            const char *newpath, int flags)
    void ioring_prep_link(abi.io_uring_sqe *sqe, const char *oldpath, const char *newpath, int flags)
    void ioring_prep_getxattr(abi.io_uring_sqe *sqe, const char *name, char *value, const char *path,
                              unsigned len)
    void ioring_prep_setxattr(abi.io_uring_sqe *sqe, const char *name, const char *value,
                              const char *path, int flags, unsigned len)
    void ioring_prep_fgetxattr(abi.io_uring_sqe *sqe, int fd, const char *name, char *value,
                               unsigned len)
    void ioring_prep_fsetxattr(abi.io_uring_sqe *sqe, int fd, const char *name, const char *value,
                               int flags, unsigned len)
    void ioring_prep_open(abi.io_uring_sqe *sqe, const char *path, int flags, unsigned mode)
    void ioring_prep_open_direct(abi.io_uring_sqe *sqe, const char *path, int flags, unsigned mode,
                                 unsigned file_index)
    void ioring_prep_openat2_direct(abi.io_uring_sqe *sqe, int dfd, const char *path,
                                    abi.ioring_open_how *how, unsigned file_index)
    void ioring_prep_close_direct(abi.io_uring_sqe *sqe, unsigned file_index)
    void ioring_prep_files_update(abi.io_uring_sqe *sqe, int *fds, unsigned nr_fds, int offset)
    void ioring_prep_fixed_fd_install(abi.io_uring_sqe *sqe, int fd, unsigned flags)
    void ioring_prep_readv_fixed(abi.io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs,
                                 uint64_t offset, int flags, int buf_index)
    void ioring_prep_writev_fixed(abi.io_uring_sqe *sqe, int fd, const iovec *iovecs, unsigned nr_vecs,
                                  uint64_t offset, int flags, int buf_index)
    void ioring_prep_read_multishot(abi.io_uring_sqe *sqe, int fd, unsigned nbytes, uint64_t offset,
                                    int buf_group)
    void ioring_prep_poll_multishot(abi.io_uring_sqe *sqe, int fd, unsigned poll_mask)
    void ioring_prep_poll_update(abi.io_uring_sqe *sqe, uint64_t old_user_data, uint64_t new_user_data,
                                 unsigned poll_mask, unsigned flags)
    void ioring_prep_epoll_ctl(abi.io_uring_sqe *sqe, int epfd, int fd, int op, const _epoll_event_t *ev)
    void ioring_prep_epoll_wait(abi.io_uring_sqe *sqe, int fd, _epoll_event_t *events, int maxevents,
                                unsigned flags)
    void ioring_prep_waitid(abi.io_uring_sqe *sqe, _idtype_t idtype, _id_t id, siginfo_t *infop,
                            int options, unsigned flags)
    void ioring_prep_futex_wake(abi.io_uring_sqe *sqe, const uint32_t *futex, uint64_t val,
                                uint64_t mask, uint32_t futex_flags, unsigned flags)
    void ioring_prep_futex_wait(abi.io_uring_sqe *sqe, const uint32_t *futex, uint64_t val,
                                uint64_t mask, uint32_t futex_flags, unsigned flags)
    void ioring_prep_futex_waitv(abi.io_uring_sqe *sqe, const abi.ioring_futex_waitv *futex, uint32_t nr_futex,
                                 unsigned flags)
    void ioring_prep_nop128(abi.io_uring_sqe *sqe)
    void ioring_prep_openat_direct(abi.io_uring_sqe *sqe, int dfd, const char *path, int flags,
                                   unsigned mode, unsigned file_index)
