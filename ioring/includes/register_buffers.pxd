# include/ioring/register_buffers.h: registered buffers (plain, tagged, sparse, updated, cloned).
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from posix.uio cimport iovec

from ioring.includes cimport abi
from ioring.includes.ring cimport ioring


cdef extern from "ioring/register_buffers.h" nogil:
    int ioring_register_buffers(ioring *ring, const iovec *iovecs, unsigned nr_iovecs)
    int ioring_unregister_buffers(ioring *ring)
    int ioring_register_buffers_tags(ioring *ring, const iovec *iovecs, const uint64_t *tags, unsigned nr)
    int ioring_register_buffers_sparse(ioring *ring, unsigned nr)
    int ioring_register_buffers_update_tag(ioring *ring, unsigned off, const iovec *iovecs,
                                           const uint64_t *tags, unsigned nr)
    int ioring_clone_buffers_offset(ioring *dst, ioring *src, unsigned dst_off, unsigned src_off,
                                    unsigned nr, unsigned flags)
    int ioring_clone_buffers(ioring *dst, ioring *src)
