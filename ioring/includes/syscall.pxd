# include/ioring/syscall.h: the raw io_uring system calls.
from ioring.includes cimport abi

cdef extern from "ioring/syscall.h" nogil:
    int IORING_SIGSET_BYTES

    int ioring_sys_setup(unsigned entries, abi.io_uring_params *p)
