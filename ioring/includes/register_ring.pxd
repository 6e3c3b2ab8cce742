# include/ioring/register_ring.h: the ring's own settings (personalities, restrictions, enabling,
# io-wq, sync cancel/msg, NAPI, clock, BPF filters with their structs, queries), what a raw
# io_uring_register(2) may be given, and which ring an fd is.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from posix.uio cimport iovec

from ioring.includes cimport abi
from ioring.includes.ring cimport ioring


cdef extern from "ioring/register_ring.h" nogil:
    ctypedef struct _s_bpf_filter "struct io_uring_bpf_filter":
        uint32_t opcode
        uint32_t flags
        uint32_t filter_len
        uint8_t pdu_size
        uint64_t filter_ptr

    ctypedef struct _s_bpf "struct io_uring_bpf":
        uint16_t cmd_type
        uint16_t cmd_flags
        _s_bpf_filter filter

    ctypedef struct _s_sock_filter "struct ioring_sock_filter":
        uint16_t code
        uint8_t jt
        uint8_t jf
        uint32_t k

    const int _c_IO_URING_BPF_FILTER_DENY_REST "IO_URING_BPF_FILTER_DENY_REST"
    const int _c_IO_URING_BPF_FILTER_SZ_STRICT "IO_URING_BPF_FILTER_SZ_STRICT"
    const int _c_IO_URING_BPF_CMD_FILTER "IO_URING_BPF_CMD_FILTER"
    const long long IORING_RAW_REGISTER_POINTERS
    const long long IORING_RAW_REGISTER_UNKNOWN

    int ioring_register_personality(ioring *ring)
    int ioring_unregister_personality(ioring *ring, int id)
    int ioring_register_restrictions(ioring *ring, abi._s_restriction *res, unsigned nr_res)
    int ioring_enable_rings(ioring *ring)
    int ioring_register_iowq_aff(ioring *ring, size_t cpusz, const void *mask)
    int ioring_unregister_iowq_aff(ioring *ring)
    int ioring_register_iowq_max_workers(ioring *ring, unsigned *val)
    int ioring_register_sync_cancel(ioring *ring, abi._s_sync_cancel_reg *reg)
    int ioring_register_sync_msg(abi.io_uring_sqe *sqe)
    int ioring_register_napi(ioring *ring, abi._s_napi *napi)
    int ioring_unregister_napi(ioring *ring, abi._s_napi *napi)
    int ioring_register_clock(ioring *ring, abi._s_clock_register *arg)
    int ioring_register_bpf_filter(ioring *ring, _s_bpf *bpf)
    int ioring_register_bpf_filter_task(_s_bpf *bpf)
    int ioring_register_query(abi._s_query_hdr *query)
    long long ioring_raw_register_arg_size(unsigned opcode, unsigned nr_args)
    int ioring_same_file(int fd1, int fd2)
