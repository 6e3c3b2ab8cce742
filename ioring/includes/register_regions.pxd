# include/ioring/register_regions.h: memory regions and zero-copy receive.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from posix.uio cimport iovec

from ioring.includes cimport abi
from ioring.includes.ring cimport ioring


cdef extern from "ioring/register_regions.h" nogil:
    int ioring_register_region(ioring *ring, abi._s_mem_region_reg *reg)
    int ioring_register_ifq(ioring *ring, abi._s_zcrx_ifq_reg *reg)
    int ioring_register_zcrx_ctrl(ioring *ring, abi._s_zcrx_ctrl *ctrl)
