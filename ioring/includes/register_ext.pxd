# include/ioring/register_ext.h: the io_uring_register calls past the basic ones (tagged and
# sparse tables, cloning, personalities, restrictions, io-wq, sync cancel/msg, NAPI, clock,
# regions, zcrx, BPF filters, queries) and the raw syscalls, with the kernel structs they take.
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t
from posix.signal cimport sigset_t
from posix.uio cimport iovec

from ioring.includes cimport abi
from ioring.includes.ring cimport ioring


cdef extern from "ioring/register_ext.h" nogil:
    ctypedef struct _s_restriction "struct io_uring_restriction":
        uint16_t opcode
        uint8_t register_op
        uint8_t sqe_op
        uint8_t sqe_flags

    ctypedef struct _s_sync_cancel_reg "struct io_uring_sync_cancel_reg":
        uint64_t addr
        int32_t fd
        uint32_t flags
        abi.ioring_kernel_timespec timeout
        uint8_t opcode

    ctypedef struct _s_napi "struct io_uring_napi":
        uint32_t busy_poll_to
        uint8_t prefer_busy_poll
        uint8_t opcode
        uint32_t op_param

    ctypedef struct _s_clock_register "struct io_uring_clock_register":
        uint32_t clockid

    ctypedef struct _s_region_desc "struct io_uring_region_desc":
        uint64_t user_addr
        uint64_t size
        uint32_t flags
        uint32_t id
        uint64_t mmap_offset

    ctypedef struct _s_mem_region_reg "struct io_uring_mem_region_reg":
        uint64_t region_uptr
        uint64_t flags

    ctypedef struct _s_zcrx_offsets "struct io_uring_zcrx_offsets":
        uint32_t head
        uint32_t tail
        uint32_t rqes

    ctypedef struct _s_zcrx_area_reg "struct io_uring_zcrx_area_reg":
        uint64_t addr
        uint64_t len
        uint64_t rq_area_token
        uint32_t flags
        uint32_t dmabuf_fd

    ctypedef struct _s_zcrx_ifq_reg "struct io_uring_zcrx_ifq_reg":
        uint32_t if_idx
        uint32_t if_rxq
        uint32_t rq_entries
        uint32_t flags
        uint64_t area_ptr
        uint64_t region_ptr
        _s_zcrx_offsets offsets
        uint32_t zcrx_id
        uint32_t rx_buf_len

    ctypedef struct _s_zcrx_ctrl_export "struct zcrx_ctrl_export":
        uint32_t zcrx_fd

    ctypedef struct _s_zcrx_ctrl "struct zcrx_ctrl":
        uint32_t zcrx_id
        uint32_t op
        _s_zcrx_ctrl_export zc_export

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

    ctypedef struct _s_query_hdr "struct io_uring_query_hdr":
        uint64_t next_entry
        uint64_t query_data
        uint32_t query_op
        uint32_t size
        int32_t result

    ctypedef struct _s_query_opcode "struct io_uring_query_opcode":
        uint32_t nr_request_opcodes
        uint32_t nr_register_opcodes
        uint64_t feature_flags
        uint64_t ring_setup_flags
        uint64_t enter_flags
        uint64_t sqe_flags
        uint32_t nr_query_opcodes

    ctypedef struct _s_query_scq "struct io_uring_query_scq":
        uint64_t hdr_size
        uint64_t hdr_alignment

    ctypedef struct _s_getevents_arg "struct io_uring_getevents_arg":
        uint64_t sigmask
        uint32_t sigmask_sz
        uint32_t min_wait_usec
        uint64_t ts

    ctypedef struct _s_reg_wait "struct io_uring_reg_wait":
        pass

    const int _c_IO_URING_BPF_FILTER_DENY_REST "IO_URING_BPF_FILTER_DENY_REST"
    const int _c_IO_URING_BPF_FILTER_SZ_STRICT "IO_URING_BPF_FILTER_SZ_STRICT"
    const int _c_IO_URING_BPF_CMD_FILTER "IO_URING_BPF_CMD_FILTER"

    int ioring_register_buffers_tags(ioring *ring, const iovec *iovecs, const uint64_t *tags, unsigned nr)
    int ioring_register_buffers_sparse(ioring *ring, unsigned nr)
    int ioring_register_buffers_update_tag(ioring *ring, unsigned off, const iovec *iovecs,
                                           const uint64_t *tags, unsigned nr)
    int ioring_clone_buffers_offset(ioring *dst, ioring *src, unsigned dst_off, unsigned src_off,
                                    unsigned nr, unsigned flags)
    int ioring_clone_buffers(ioring *dst, ioring *src)
    int ioring_register_files_tags(ioring *ring, const int *files, const uint64_t *tags, unsigned nr)
    int ioring_register_files_update_tag(ioring *ring, unsigned off, const int *files,
                                         const uint64_t *tags, unsigned nr_files)
    int ioring_register_file_alloc_range(ioring *ring, unsigned off, unsigned len)
    int ioring_register_personality(ioring *ring)
    int ioring_unregister_personality(ioring *ring, int id)
    int ioring_register_restrictions(ioring *ring, _s_restriction *res, unsigned nr_res)
    int ioring_enable_rings(ioring *ring)
    int ioring_register_iowq_aff(ioring *ring, size_t cpusz, const void *mask)
    int ioring_unregister_iowq_aff(ioring *ring)
    int ioring_register_sync_cancel(ioring *ring, _s_sync_cancel_reg *reg)
    int ioring_register_sync_msg(abi.io_uring_sqe *sqe)
    int ioring_register_napi(ioring *ring, _s_napi *napi)
    int ioring_unregister_napi(ioring *ring, _s_napi *napi)
    int ioring_register_clock(ioring *ring, _s_clock_register *arg)
    int ioring_register_region(ioring *ring, _s_mem_region_reg *reg)
    int ioring_register_ifq(ioring *ring, _s_zcrx_ifq_reg *reg)
    int ioring_register_zcrx_ctrl(ioring *ring, _s_zcrx_ctrl *ctrl)
    int ioring_register_bpf_filter(ioring *ring, _s_bpf *bpf)
    int ioring_register_bpf_filter_task(_s_bpf *bpf)
    int ioring_register_query(_s_query_hdr *query)

    int ioring_sys_setup(unsigned entries, abi.io_uring_params *p)
    int ioring_sys_enter(int fd, unsigned to_submit, unsigned min_complete, unsigned flags, sigset_t *sig)
    int ioring_sys_enter2(int fd, unsigned to_submit, unsigned min_complete, unsigned flags,
                          void *arg, size_t arg_size)
    int ioring_sys_register(int fd, unsigned opcode, const void *arg, unsigned nr_args)

    long long ioring_raw_register_arg_size(unsigned opcode, unsigned nr_args)
    const long long IORING_RAW_REGISTER_POINTERS
    const long long IORING_RAW_REGISTER_UNKNOWN

    int ioring_register_iowq_max_workers(ioring *ring, unsigned *val)
    int ioring_register_files_sparse(ioring *ring, unsigned nr)
    int ioring_same_file(int fd1, int fd2)
