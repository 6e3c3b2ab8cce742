/* Raw io_uring syscalls by number: no libc wrapper exists for them, and no liburing is used.
 * Every function returns the result or -errno, as the kernel does; errno is left untouched. */
#ifndef IORING_SYSCALL_H
#define IORING_SYSCALL_H

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ioring/abi.h"

/* _NSIG/8 is what the kernel expects as sigsetsize, not sizeof(sigset_t) (128 in glibc). */
#define IORING_SIGSET_BYTES (_NSIG / 8)

static inline long ioring_syscall_result(long ret)
{
    return ret < 0 ? -errno : ret;
}

static inline int ioring_sys_setup(unsigned entries, struct io_uring_params *p)
{
    int saved = errno;
    long ret = ioring_syscall_result(syscall(IORING_NR_io_uring_setup, entries, p));
    errno = saved;
    return (int)ret;
}

static inline int ioring_sys_enter2(int fd, unsigned to_submit, unsigned min_complete,
                                    unsigned flags, void *arg, size_t arg_size)
{
    int saved = errno;
    long ret = ioring_syscall_result(syscall(IORING_NR_io_uring_enter, fd, to_submit,
                                             min_complete, flags, arg, arg_size));
    errno = saved;
    return (int)ret;
}

static inline int ioring_sys_enter(int fd, unsigned to_submit, unsigned min_complete,
                                   unsigned flags, sigset_t *sig)
{
    return ioring_sys_enter2(fd, to_submit, min_complete, flags, sig, IORING_SIGSET_BYTES);
}

static inline int ioring_sys_register(int fd, unsigned opcode, const void *arg, unsigned nr_args)
{
    int saved = errno;
    long ret = ioring_syscall_result(syscall(IORING_NR_io_uring_register, fd, opcode, arg, nr_args));
    errno = saved;
    return (int)ret;
}

#endif /* IORING_SYSCALL_H */
