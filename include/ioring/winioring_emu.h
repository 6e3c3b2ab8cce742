/* winioring_emu.h -- what the io_uring emulation of ioring.winioring needs from C.
 *
 * - On Linux: the io_uring core (ioring/python.h, i.e. include/ioring/ring.h, prep.h, register.h),
 *   <sys/uio.h> and <sys/eventfd.h>. ioring/winioring.pyx declares the subset it uses (the same
 *   declarations as ioring/_core.pxd; it cannot cimport _core because that pulls POSIX headers
 *   into the Windows build).
 * - On Windows: inert stand-ins with the same names, so the one winioring.pyx compiles with MSVC.
 *   They are never reached (the .pyx takes the KernelBase path, winioring_kernelbase.h, whenever
 *   WINIORING_KERNELBASE is 1); should one be called, it fails with -ENOSYS and touches nothing.
 */
#ifndef IORING_WINIORING_EMU_H
#define IORING_WINIORING_EMU_H

#ifndef _WIN32

#include "ioring/python.h"
#include <sys/uio.h>
#include <sys/eventfd.h>

#else  /* _WIN32 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#ifndef ENOSYS
#  define ENOSYS 40
#endif
#if defined(_MSC_VER) && !defined(__cplusplus)
#  define WINIORING_EMU_INLINE __inline
#else
#  define WINIORING_EMU_INLINE inline
#endif

struct iovec { void *iov_base; size_t iov_len; };
struct io_uring_sqe { uint8_t flags; uint32_t rw_flags; uint64_t user_data; };
struct io_uring_cqe { uint64_t user_data; int32_t res; uint32_t flags; };
struct io_uring_params { uint32_t sq_entries, cq_entries, flags; };
struct ioring_kernel_timespec { int64_t tv_sec; long long tv_nsec; };
struct ioring { int ring_fd; };

enum {
    IOSQE_FIXED_FILE = 1, IOSQE_IO_DRAIN = 2, IORING_FSYNC_DATASYNC = 1, IORING_ASYNC_CANCEL_ALL = 1,
    IORING_ASYNC_CANCEL_ANY = 4, IORING_ASYNC_CANCEL_FD_FIXED = 8, IORING_SETUP_CQSIZE = 8,
    IORING_OP_SYNC_FILE_RANGE = 8, EFD_CLOEXEC = 0
};

#define WINIORING_EMU_FAIL(decl) static WINIORING_EMU_INLINE int decl { return -ENOSYS; }
#define WINIORING_EMU_VOID(decl) static WINIORING_EMU_INLINE void decl { }
WINIORING_EMU_FAIL(eventfd(unsigned initval, int flags))
WINIORING_EMU_FAIL(ioring_queue_init_params(unsigned entries, struct ioring *ring, struct io_uring_params *p))
WINIORING_EMU_FAIL(ioring_queue_init(unsigned entries, struct ioring *ring, unsigned flags))
WINIORING_EMU_VOID(ioring_queue_exit(struct ioring *ring))
static WINIORING_EMU_INLINE struct io_uring_sqe *ioring_get_sqe(struct ioring *ring) { return NULL; }
WINIORING_EMU_FAIL(ioring_submit(struct ioring *ring))
WINIORING_EMU_VOID(ioring_cq_advance(struct ioring *ring, unsigned nr))
WINIORING_EMU_FAIL(ioring_wait_cqes_timeout(struct ioring *ring, struct io_uring_cqe **cqe_ptr, unsigned submit,
                                            unsigned wait_nr, struct ioring_kernel_timespec *ts, void *sigmask))
static WINIORING_EMU_INLINE unsigned ioring_peek_batch_cqe(struct ioring *ring, struct io_uring_cqe **cqes,
                                                           unsigned count) { return 0; }
WINIORING_EMU_VOID(ioring_sqe_set_data64(struct io_uring_sqe *sqe, uint64_t data))
WINIORING_EMU_VOID(ioring_prep_rw(int op, struct io_uring_sqe *sqe, int fd, const void *addr, unsigned len,
                                  uint64_t offset))
WINIORING_EMU_VOID(ioring_prep_nop(struct io_uring_sqe *sqe))
WINIORING_EMU_VOID(ioring_prep_read(struct io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes, uint64_t offset))
WINIORING_EMU_VOID(ioring_prep_write(struct io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes,
                                     uint64_t offset))
WINIORING_EMU_VOID(ioring_prep_readv(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs, unsigned nr_vecs,
                                     uint64_t offset))
WINIORING_EMU_VOID(ioring_prep_writev(struct io_uring_sqe *sqe, int fd, const struct iovec *iovecs, unsigned nr_vecs,
                                      uint64_t offset))
WINIORING_EMU_VOID(ioring_prep_read_fixed(struct io_uring_sqe *sqe, int fd, void *buf, unsigned nbytes,
                                          uint64_t offset, int buf_index))
WINIORING_EMU_VOID(ioring_prep_write_fixed(struct io_uring_sqe *sqe, int fd, const void *buf, unsigned nbytes,
                                           uint64_t offset, int buf_index))
WINIORING_EMU_VOID(ioring_prep_fsync(struct io_uring_sqe *sqe, int fd, unsigned fsync_flags))
WINIORING_EMU_VOID(ioring_prep_cancel64(struct io_uring_sqe *sqe, uint64_t user_data, int flags))
WINIORING_EMU_VOID(ioring_prep_cancel_fd(struct io_uring_sqe *sqe, int fd, unsigned flags))
WINIORING_EMU_FAIL(ioring_register_buffers(struct ioring *ring, const struct iovec *iovecs, unsigned nr_iovecs))
WINIORING_EMU_FAIL(ioring_unregister_buffers(struct ioring *ring))
WINIORING_EMU_FAIL(ioring_register_files(struct ioring *ring, const int *files, unsigned nr_files))
WINIORING_EMU_FAIL(ioring_unregister_files(struct ioring *ring))
WINIORING_EMU_FAIL(ioring_register_eventfd(struct ioring *ring, int fd))
WINIORING_EMU_FAIL(ioring_unregister_eventfd(struct ioring *ring))
#undef WINIORING_EMU_FAIL
#undef WINIORING_EMU_VOID

#endif /* _WIN32 */
#endif /* IORING_WINIORING_EMU_H */
