# include/ioring/wait_reg.h: registered wait regions (io_uring_register_wait_reg,
# io_uring_submit_and_wait_reg). The ring's types come from includes/abi.pxd and includes/ring.pxd.
from libc.stdint cimport uint32_t, uint64_t

from ioring.includes cimport abi
from ioring.includes.ring cimport ioring


cdef extern from "ioring/wait_reg.h" nogil:
    struct c_reg_wait "io_uring_reg_wait":
        abi.ioring_kernel_timespec ts
        uint32_t min_wait_usec
        uint32_t flags
        uint64_t sigmask
        uint32_t sigmask_sz
    int ioring_register_wait_reg(ioring *ring, c_reg_wait *reg, int nr)
    int ioring_submit_and_wait_reg(ioring *ring, abi.io_uring_cqe **cqe_ptr, unsigned wait_nr, int reg_index)
