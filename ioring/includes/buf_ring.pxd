# include/ioring/buf_ring.h: provided-buffer rings.
from libc.stdint cimport uint16_t, uint32_t

from ioring.includes cimport abi
from ioring.includes.ring cimport ioring

cdef extern from "ioring/buf_ring.h" nogil:
    int ioring_buf_ring_mask(uint32_t ring_entries)
    void ioring_buf_ring_init(abi.io_uring_buf_ring *br)
    void ioring_buf_ring_add(abi.io_uring_buf_ring *br, void *addr, unsigned len, unsigned short bid, int mask, int buf_offset)
    void ioring_buf_ring_advance(abi.io_uring_buf_ring *br, int count)
    void ioring_buf_ring_cq_advance2(ioring *ring, abi.io_uring_buf_ring *br, int cq_count, int buf_count)
    int ioring_register_buf_ring(ioring *ring, abi.io_uring_buf_reg *reg, unsigned flags)
    int ioring_unregister_buf_ring(ioring *ring, int bgid)
    int ioring_buf_ring_head(ioring *ring, int buf_group, uint16_t *head)
    abi.io_uring_buf_ring *ioring_setup_buf_ring(ioring *ring, unsigned nentries, int bgid, unsigned flags, int *err)
    abi.io_uring_buf_ring *ioring_mmap_buf_ring(ioring *ring, unsigned nentries, int bgid, int *err)
    int ioring_free_buf_ring(ioring *ring, abi.io_uring_buf_ring *br, unsigned nentries, int bgid)
    void ioring_prep_provide_buffers(abi.io_uring_sqe *sqe, void *addr, int len, int nr, int bgid, int bid)
    void ioring_prep_remove_buffers(abi.io_uring_sqe *sqe, int nr, int bgid)
