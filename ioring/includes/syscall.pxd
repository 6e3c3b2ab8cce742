# include/ioring/syscall.h: the raw io_uring system calls.
from posix.signal cimport sigset_t

from ioring.includes cimport abi

cdef extern from "ioring/syscall.h" nogil:
    int IORING_SIGSET_BYTES

    int ioring_sys_setup(unsigned entries, abi.io_uring_params *p)
    int ioring_sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags, sigset_t *sig)
    int ioring_sys_enter2(int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                          void *arg, size_t arg_size)
    int ioring_sys_register(int fd, unsigned opcode, const void *arg, unsigned nr_args)
