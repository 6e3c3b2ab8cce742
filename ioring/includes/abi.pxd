# include/ioring/abi.h: the kernel's io_uring structs (the constants of the header are in the
# generated constants.pxd).
from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int32_t, int64_t

cdef extern from "ioring/abi.h" nogil:
    struct io_uring_sqe:
        uint8_t opcode
        uint8_t flags
        uint16_t ioprio
        int32_t fd
        uint64_t off
        uint64_t addr2
        uint64_t addr
        uint32_t len
        uint32_t rw_flags
        uint32_t fsync_flags
        uint32_t poll32_events
        uint32_t timeout_flags
        uint32_t cancel_flags
        uint32_t open_flags
        uint32_t statx_flags
        uint32_t msg_flags
        uint64_t user_data
        uint16_t buf_index
        uint16_t buf_group
        uint16_t personality
        int32_t splice_fd_in
        uint32_t file_index
        uint64_t addr3

    struct io_uring_cqe:
        uint64_t user_data
        int32_t res
        uint32_t flags
        uint64_t big_cqe[1]

    struct io_sqring_offsets:
        uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1
        uint64_t user_addr

    struct io_cqring_offsets:
        uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1
        uint64_t user_addr

    struct io_uring_params:
        uint32_t sq_entries
        uint32_t cq_entries
        uint32_t flags
        uint32_t sq_thread_cpu
        uint32_t sq_thread_idle
        uint32_t features
        uint32_t wq_fd
        uint32_t resv[3]
        io_sqring_offsets sq_off
        io_cqring_offsets cq_off

    struct io_uring_probe_op:
        uint8_t op
        uint8_t resv
        uint16_t flags
        uint32_t resv2

    struct io_uring_probe:
        uint8_t last_op
        uint8_t ops_len
        io_uring_probe_op ops[1]

    struct ioring_kernel_timespec:
        int64_t tv_sec
        long long tv_nsec

    struct ioring_open_how:
        uint64_t flags
        uint64_t mode
        uint64_t resolve

    struct ioring_statx_timestamp:
        int64_t tv_sec
        uint32_t tv_nsec

    struct ioring_statx:
        uint32_t stx_mask
        uint32_t stx_blksize
        uint64_t stx_attributes
        uint32_t stx_nlink
        uint32_t stx_uid
        uint32_t stx_gid
        uint16_t stx_mode
        uint64_t stx_ino
        uint64_t stx_size
        uint64_t stx_blocks
        uint64_t stx_attributes_mask
        ioring_statx_timestamp stx_atime
        ioring_statx_timestamp stx_btime
        ioring_statx_timestamp stx_ctime
        ioring_statx_timestamp stx_mtime
        uint32_t stx_rdev_major
        uint32_t stx_rdev_minor
        uint32_t stx_dev_major
        uint32_t stx_dev_minor
        uint64_t stx_mnt_id
        uint32_t stx_dio_mem_align
        uint32_t stx_dio_offset_align
        uint64_t stx_subvol
        uint32_t stx_atomic_write_unit_min
        uint32_t stx_atomic_write_unit_max
        uint32_t stx_atomic_write_segments_max
        uint32_t stx_dio_read_offset_align
        uint32_t stx_atomic_write_unit_max_opt

    struct io_uring_buf:
        uint64_t addr
        uint32_t len
        uint16_t bid

    struct io_uring_buf_ring:
        uint16_t tail
        io_uring_buf bufs[1]

    struct io_uring_buf_reg:
        uint64_t ring_addr
        uint32_t ring_entries
        uint16_t bgid
        uint16_t flags

    struct ioring_futex_waitv:
        uint64_t val
        uint64_t uaddr
        uint32_t flags

    struct io_uring_recvmsg_out:
        uint32_t namelen
        uint32_t controllen
        uint32_t payloadlen
        uint32_t flags

    # The structs of the registration calls (register_ring.pxd, register_regions.pxd, wait_reg,
    # the raw syscalls); ``_s_`` names: the thin layer's classes have the C names.
    ctypedef struct _s_restriction "struct io_uring_restriction":
        uint16_t opcode
        uint8_t register_op
        uint8_t sqe_op
        uint8_t sqe_flags

    ctypedef struct _s_sync_cancel_reg "struct io_uring_sync_cancel_reg":
        uint64_t addr
        int32_t fd
        uint32_t flags
        ioring_kernel_timespec timeout
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
