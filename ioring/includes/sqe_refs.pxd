# include/ioring/sqe_refs.h: the per-opcode reference model of SQE fields (which field is an
# address, which length bounds which buffer).
from libc.stdint cimport uint8_t, uint64_t

from ioring.includes cimport abi

cdef extern from "ioring/sqe_refs.h" nogil:
    struct ioring_sqe_ref:
        uint8_t off
        uint8_t size
        uint8_t kind
        uint8_t write
        uint64_t count

    const int IORING_REF_BYTES
    const int IORING_REF_CSTR
    const int IORING_REF_IOVEC
    const int IORING_REF_MSGHDR
    const int IORING_REF_WAITV
    const int IORING_REF_FIXED
    const int IORING_REF_LOCKED
    const int IORING_REF_FROZEN

    int ioring_sqe_refs(const abi.io_uring_sqe *sqe, ioring_sqe_ref *refs)
