/*
 * ioring/abi.h - our own declaration of the Linux io_uring kernel ABI.
 *
 * Written from the kernel UAPI facts (include/uapi/linux/io_uring.h,
 * io_uring/query.h, io_uring/zcrx.h, stat.h, openat2.h, futex.h as of
 * Linux 6.19/7.0).  It deliberately does not include <linux/io_uring.h>,
 * <linux/types.h> or any liburing header, so it builds against old or
 * missing kernel headers and can sit next to <Python.h> and the usual libc
 * headers in Cython output.
 *
 * Version comments give the kernel that introduced a value.  They are for
 * reading only: gate features on IORING_REGISTER_PROBE / params.features.
 */
#ifndef IORING_ABI_H
#define IORING_ABI_H

#include <stddef.h>
#include <stdint.h>

#if defined(__cplusplus)
#define IORING_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define IORING_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* ======================================================================
 * Syscall numbers
 * ====================================================================== */

/* 425..427 in the generic table and x86_64; alpha, MIPS and x32 offset it. */
#if defined(__alpha__)
#define IORING_NR_io_uring_setup    535
#define IORING_NR_io_uring_enter    536
#define IORING_NR_io_uring_register 537
#elif defined(__mips__) && defined(_MIPS_SIM) && defined(_ABIO32) && _MIPS_SIM == _ABIO32
#define IORING_NR_io_uring_setup    4425
#define IORING_NR_io_uring_enter    4426
#define IORING_NR_io_uring_register 4427
#elif defined(__mips__) && defined(_MIPS_SIM) && defined(_ABI64) && _MIPS_SIM == _ABI64
#define IORING_NR_io_uring_setup    5425
#define IORING_NR_io_uring_enter    5426
#define IORING_NR_io_uring_register 5427
#elif defined(__mips__) && defined(_MIPS_SIM) && defined(_ABIN32) && _MIPS_SIM == _ABIN32
#define IORING_NR_io_uring_setup    6425
#define IORING_NR_io_uring_enter    6426
#define IORING_NR_io_uring_register 6427
#elif defined(__mips__)
#error "ioring/abi.h: unknown MIPS ABI"
#elif defined(__x86_64__) && defined(__ILP32__)
/* x32: __X32_SYSCALL_BIT | nr */
#define IORING_NR_io_uring_setup    (0x40000000 + 425)
#define IORING_NR_io_uring_enter    (0x40000000 + 426)
#define IORING_NR_io_uring_register (0x40000000 + 427)
#else
#define IORING_NR_io_uring_setup    425
#define IORING_NR_io_uring_enter    426
#define IORING_NR_io_uring_register 427
#endif

/* ======================================================================
 * Helper structs with an ioring_ prefix, so they never clash with glibc's
 * struct statx / struct open_how / struct __kernel_timespec / futex_waitv.
 * ====================================================================== */

/* Layout of the kernel's struct __kernel_timespec (64-bit time everywhere). */
struct ioring_kernel_timespec {
    int64_t tv_sec;
    long long tv_nsec;
};

/* struct open_how, for IORING_OP_OPENAT2 (sqe->addr, len = sizeof). */
struct ioring_open_how {
    uint64_t flags;
    uint64_t mode;
    uint64_t resolve;
};

/* struct futex_waitv, for IORING_OP_FUTEX_WAITV. */
struct ioring_futex_waitv {
    uint64_t val;
    uint64_t uaddr;
    uint32_t flags;
    uint32_t __reserved;
};

struct ioring_statx_timestamp {
    int64_t tv_sec;
    uint32_t tv_nsec;
    int32_t __reserved;
};

/* struct statx, for IORING_OP_STATX; the kernel fills at most 256 bytes. */
struct ioring_statx {
    uint32_t stx_mask;
    uint32_t stx_blksize;
    uint64_t stx_attributes;
    uint32_t stx_nlink;
    uint32_t stx_uid;
    uint32_t stx_gid;
    uint16_t stx_mode;
    uint16_t __spare0[1];
    uint64_t stx_ino;
    uint64_t stx_size;
    uint64_t stx_blocks;
    uint64_t stx_attributes_mask;
    struct ioring_statx_timestamp stx_atime;
    struct ioring_statx_timestamp stx_btime;
    struct ioring_statx_timestamp stx_ctime;
    struct ioring_statx_timestamp stx_mtime;
    uint32_t stx_rdev_major;
    uint32_t stx_rdev_minor;
    uint32_t stx_dev_major;
    uint32_t stx_dev_minor;
    uint64_t stx_mnt_id;
    uint32_t stx_dio_mem_align;
    uint32_t stx_dio_offset_align;
    uint64_t stx_subvol;
    uint32_t stx_atomic_write_unit_min;
    uint32_t stx_atomic_write_unit_max;
    uint32_t stx_atomic_write_segments_max;
    uint32_t stx_dio_read_offset_align;
    uint32_t stx_atomic_write_unit_max_opt;
    uint32_t __spare2[1];
    uint64_t __spare3[8];
};

/* ======================================================================
 * Core io_uring structs
 * ====================================================================== */

/* Submission queue entry: 64 bytes (128 with IORING_SETUP_SQE128). */
struct io_uring_sqe {
    uint8_t opcode;
    uint8_t flags;   /* IOSQE_* */
    uint16_t ioprio; /* also recv/send/accept flags for socket ops */
    int32_t fd;
    union {
        uint64_t off;
        uint64_t addr2;
        struct {
            uint32_t cmd_op;
            uint32_t __pad1;
        };
    };
    union {
        uint64_t addr;
        uint64_t splice_off_in;
        struct {
            uint32_t level;
            uint32_t optname;
        };
    };
    uint32_t len;
    union {
        uint32_t rw_flags; /* RWF_* (the kernel's __kernel_rwf_t is an int) */
        uint32_t fsync_flags;
        uint16_t poll_events; /* legacy 16-bit form */
        uint32_t poll32_events; /* word-swapped on big-endian */
        uint32_t sync_range_flags;
        uint32_t msg_flags;
        uint32_t timeout_flags;
        uint32_t accept_flags;
        uint32_t cancel_flags;
        uint32_t open_flags;
        uint32_t statx_flags;
        uint32_t fadvise_advice;
        uint32_t splice_flags;
        uint32_t rename_flags;
        uint32_t unlink_flags;
        uint32_t hardlink_flags;
        uint32_t xattr_flags;
        uint32_t msg_ring_flags;
        uint32_t uring_cmd_flags;
        uint32_t waitid_flags;
        uint32_t futex_flags;
        uint32_t install_fd_flags;
        uint32_t nop_flags;
        uint32_t pipe_flags;
    };
    uint64_t user_data;
    /* packed like the kernel's, to avoid arm OABI padding */
    union {
        uint16_t buf_index;
        uint16_t buf_group;
    } __attribute__((packed));
    uint16_t personality;
    union {
        int32_t splice_fd_in;
        uint32_t file_index;
        uint32_t zcrx_ifq_idx;
        uint32_t optlen;
        struct {
            uint16_t addr_len;
            uint16_t __pad3[1];
        };
        struct {
            uint8_t write_stream;
            uint8_t __pad4[3];
        };
    };
    union {
        struct {
            uint64_t addr3;
            uint64_t __pad2[1];
        };
        struct {
            uint64_t attr_ptr;       /* struct io_uring_attr_pi * etc. */
            uint64_t attr_type_mask; /* IORING_RW_ATTR_FLAG_* */
        };
        uint64_t optval;
        /* 80 bytes of command data on an SQE128 slot */
        __extension__ uint8_t cmd[0];
    };
};

/* Completion queue entry: 16 bytes (32 with IORING_SETUP_CQE32). */
struct io_uring_cqe {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
    uint64_t big_cqe[];
};

struct io_sqring_offsets {
    uint32_t head;
    uint32_t tail;
    uint32_t ring_mask;
    uint32_t ring_entries;
    uint32_t flags;
    uint32_t dropped;
    uint32_t array;
    uint32_t resv1;
    uint64_t user_addr; /* IORING_SETUP_NO_MMAP (6.5) */
};

struct io_cqring_offsets {
    uint32_t head;
    uint32_t tail;
    uint32_t ring_mask;
    uint32_t ring_entries;
    uint32_t overflow;
    uint32_t cqes;
    uint32_t flags;
    uint32_t resv1;
    uint64_t user_addr; /* IORING_SETUP_NO_MMAP (6.5) */
};

/* io_uring_setup(2) argument, copied back on success. */
struct io_uring_params {
    uint32_t sq_entries;
    uint32_t cq_entries;
    uint32_t flags;
    uint32_t sq_thread_cpu;
    uint32_t sq_thread_idle;
    uint32_t features;
    uint32_t wq_fd;
    uint32_t resv[3];
    struct io_sqring_offsets sq_off;
    struct io_cqring_offsets cq_off;
};

/* PI attribute, pointed to by sqe->attr_ptr (6.14). */
struct io_uring_attr_pi {
    uint16_t flags;
    uint16_t app_tag;
    uint32_t len;
    uint64_t addr;
    uint64_t seed;
    uint64_t rsvd;
};

/* io_uring_enter(2) argument with IORING_ENTER_EXT_ARG (5.11). */
struct io_uring_getevents_arg {
    uint64_t sigmask;
    uint32_t sigmask_sz;
    uint32_t min_wait_usec; /* 6.12; was pad */
    uint64_t ts;            /* struct ioring_kernel_timespec * */
};

/* One slot of a registered wait region, IORING_ENTER_EXT_ARG_REG (6.13). */
struct io_uring_reg_wait {
    struct ioring_kernel_timespec ts;
    uint32_t min_wait_usec;
    uint32_t flags; /* IORING_REG_WAIT_* */
    uint64_t sigmask;
    uint32_t sigmask_sz;
    uint32_t pad[3];
    uint64_t pad2[2];
};

struct io_uring_probe_op {
    uint8_t op;
    uint8_t resv;
    uint16_t flags; /* IO_URING_OP_* */
    uint32_t resv2;
};

struct io_uring_probe {
    uint8_t last_op;
    uint8_t ops_len;
    uint16_t resv;
    uint32_t resv2[3];
    struct io_uring_probe_op ops[];
};

/* Deprecated form of io_uring_rsrc_update; same layout. */
struct io_uring_files_update {
    uint32_t offset;
    uint32_t resv;
    uint64_t fds __attribute__((aligned(8))); /* int32_t * */
};

struct io_uring_rsrc_register {
    uint32_t nr;
    uint32_t flags; /* IORING_RSRC_REGISTER_* */
    uint64_t resv2;
    uint64_t data __attribute__((aligned(8)));
    uint64_t tags __attribute__((aligned(8)));
};

struct io_uring_rsrc_update {
    uint32_t offset;
    uint32_t resv;
    uint64_t data __attribute__((aligned(8)));
};

struct io_uring_rsrc_update2 {
    uint32_t offset;
    uint32_t resv;
    uint64_t data __attribute__((aligned(8)));
    uint64_t tags __attribute__((aligned(8)));
    uint32_t nr;
    uint32_t resv2;
};

struct io_uring_restriction {
    uint16_t opcode; /* IORING_RESTRICTION_* */
    union {
        uint8_t register_op;
        uint8_t sqe_op;
        uint8_t sqe_flags;
    };
    uint8_t resv;
    uint32_t resv2[3];
};

/* IORING_REGISTER_SYNC_CANCEL argument (6.0). */
struct io_uring_sync_cancel_reg {
    uint64_t addr;
    int32_t fd;
    uint32_t flags; /* IORING_ASYNC_CANCEL_* */
    struct ioring_kernel_timespec timeout;
    uint8_t opcode;
    uint8_t pad[7];
    uint64_t pad2[3];
};

/* IORING_REGISTER_FILE_ALLOC_RANGE argument: [off, off + len). */
struct io_uring_file_index_range {
    uint32_t off;
    uint32_t len;
    uint64_t resv;
};

/* Header at the start of a multishot recvmsg buffer. */
struct io_uring_recvmsg_out {
    uint32_t namelen;
    uint32_t controllen;
    uint32_t payloadlen;
    uint32_t flags;
};

/* Provided-buffer ring entry. */
struct io_uring_buf {
    uint64_t addr;
    uint32_t len;
    uint16_t bid;
    uint16_t resv;
};

/* The ring tail overlays bufs[0].resv so the ring needs no extra page. */
struct io_uring_buf_ring {
    union {
        struct {
            uint64_t resv1;
            uint32_t resv2;
            uint16_t resv3;
            uint16_t tail;
        };
        __extension__ struct io_uring_buf bufs[0];
    };
};

/* IORING_(UN)REGISTER_PBUF_RING argument (5.19). */
struct io_uring_buf_reg {
    uint64_t ring_addr;
    uint32_t ring_entries;
    uint16_t bgid;
    uint16_t flags; /* IOU_PBUF_RING_* (named pad before 6.4) */
    /* Must be zero. Kernels after 7.0 read a u32 min_left from the first
     * four bytes; this header keeps the 6.19/7.0 layout. */
    uint64_t resv[3];
};

/* IORING_REGISTER_PBUF_STATUS argument (6.8). */
struct io_uring_buf_status {
    uint32_t buf_group;
    uint32_t head;
    uint32_t resv[8];
};

/* IORING_(UN)REGISTER_NAPI argument (6.9). */
struct io_uring_napi {
    uint32_t busy_poll_to;
    uint8_t prefer_busy_poll;
    uint8_t opcode; /* IO_URING_NAPI_*_OP / _ID */
    uint8_t pad[2];
    uint32_t op_param; /* tracking strategy, or a napi id */
    uint32_t resv;
};

/* IORING_REGISTER_CLOCK argument (6.12). */
struct io_uring_clock_register {
    uint32_t clockid;
    uint32_t __resv[3];
};

/* IORING_REGISTER_CLONE_BUFFERS argument (6.13). */
struct io_uring_clone_buffers {
    uint32_t src_fd;
    uint32_t flags; /* IORING_REGISTER_SRC_REGISTERED / DST_REPLACE */
    uint32_t src_off;
    uint32_t dst_off;
    uint32_t nr;
    uint32_t pad[3];
};

/* Memory region descriptor (6.13). */
struct io_uring_region_desc {
    uint64_t user_addr;
    uint64_t size;
    uint32_t flags; /* IORING_MEM_REGION_TYPE_* */
    uint32_t id;
    uint64_t mmap_offset;
    uint64_t __resv[4];
};

/* IORING_REGISTER_MEM_REGION argument (6.13). */
struct io_uring_mem_region_reg {
    uint64_t region_uptr; /* struct io_uring_region_desc * */
    uint64_t flags;       /* IORING_MEM_REGION_REG_* */
    uint64_t __resv[2];
};

/* --- Zero-copy receive (IORING_REGISTER_ZCRX_IFQ, 6.15) --- */

struct io_uring_zcrx_rqe {
    uint64_t off;
    uint32_t len;
    uint32_t __pad;
};

struct io_uring_zcrx_cqe {
    uint64_t off;
    uint64_t __pad;
};

struct io_uring_zcrx_offsets {
    uint32_t head;
    uint32_t tail;
    uint32_t rqes;
    uint32_t __resv2;
    uint64_t __resv[2];
};

struct io_uring_zcrx_area_reg {
    uint64_t addr;
    uint64_t len;
    uint64_t rq_area_token;
    uint32_t flags;     /* IORING_ZCRX_AREA_* */
    uint32_t dmabuf_fd; /* 6.16; reserved before */
    uint64_t __resv2[2];
};

struct io_uring_zcrx_ifq_reg {
    uint32_t if_idx;
    uint32_t if_rxq;
    uint32_t rq_entries;
    uint32_t flags; /* ZCRX_REG_* */
    uint64_t area_ptr;   /* struct io_uring_zcrx_area_reg * */
    uint64_t region_ptr; /* struct io_uring_region_desc * */
    struct io_uring_zcrx_offsets offsets;
    uint32_t zcrx_id;
    uint32_t rx_buf_len; /* ZCRX_FEATURE_RX_PAGE_SIZE; reserved before */
    /* Newer kernels put further fields here; keep zero. */
    uint64_t __resv[3];
};

/* IORING_REGISTER_ZCRX_CTRL payloads. */
struct zcrx_ctrl_flush_rq {
    uint64_t __resv[6];
};

struct zcrx_ctrl_export {
    uint32_t zcrx_fd;
    uint32_t __resv1[11];
};

struct zcrx_ctrl {
    uint32_t zcrx_id;
    uint32_t op; /* enum zcrx_ctrl_op */
    uint64_t __resv[2];
    union {
        struct zcrx_ctrl_export zc_export;
        struct zcrx_ctrl_flush_rq zc_flush;
    };
};

/* --- IORING_REGISTER_QUERY (linux/io_uring/query.h) --- */

/* Entries form a chain through next_entry; size lets old/new sizes mix. */
struct io_uring_query_hdr {
    uint64_t next_entry;
    uint64_t query_data;
    uint32_t query_op; /* IO_URING_QUERY_* */
    uint32_t size;
    int32_t result;
    uint32_t __resv[3];
};

struct io_uring_query_opcode {
    uint32_t nr_request_opcodes;
    uint32_t nr_register_opcodes;
    uint64_t feature_flags;
    uint64_t ring_setup_flags;
    uint64_t enter_flags;
    uint64_t sqe_flags;
    uint32_t nr_query_opcodes;
    uint32_t __pad;
};

struct io_uring_query_scq {
    uint64_t hdr_size;
    uint64_t hdr_alignment;
};

/* ======================================================================
 * Opcodes (IORING_OP_*); comment = first kernel
 * ====================================================================== */

enum io_uring_op {
    IORING_OP_NOP,              /* 5.1 */
    IORING_OP_READV,            /* 5.1 */
    IORING_OP_WRITEV,           /* 5.1 */
    IORING_OP_FSYNC,            /* 5.1 */
    IORING_OP_READ_FIXED,       /* 5.1 */
    IORING_OP_WRITE_FIXED,      /* 5.1 */
    IORING_OP_POLL_ADD,         /* 5.1 */
    IORING_OP_POLL_REMOVE,      /* 5.1 */
    IORING_OP_SYNC_FILE_RANGE,  /* 5.2 */
    IORING_OP_SENDMSG,          /* 5.3 */
    IORING_OP_RECVMSG,          /* 5.3 */
    IORING_OP_TIMEOUT,          /* 5.4 */
    IORING_OP_TIMEOUT_REMOVE,   /* 5.5 */
    IORING_OP_ACCEPT,           /* 5.5 */
    IORING_OP_ASYNC_CANCEL,     /* 5.5 */
    IORING_OP_LINK_TIMEOUT,     /* 5.5 */
    IORING_OP_CONNECT,          /* 5.5 */
    IORING_OP_FALLOCATE,        /* 5.6 */
    IORING_OP_OPENAT,           /* 5.6 */
    IORING_OP_CLOSE,            /* 5.6 */
    IORING_OP_FILES_UPDATE,     /* 5.6 */
    IORING_OP_STATX,            /* 5.6 */
    IORING_OP_READ,             /* 5.6 */
    IORING_OP_WRITE,            /* 5.6 */
    IORING_OP_FADVISE,          /* 5.6 */
    IORING_OP_MADVISE,          /* 5.6 */
    IORING_OP_SEND,             /* 5.6 */
    IORING_OP_RECV,             /* 5.6 */
    IORING_OP_OPENAT2,          /* 5.6 */
    IORING_OP_EPOLL_CTL,        /* 5.6 */
    IORING_OP_SPLICE,           /* 5.7 */
    IORING_OP_PROVIDE_BUFFERS,  /* 5.7 */
    IORING_OP_REMOVE_BUFFERS,   /* 5.7 */
    IORING_OP_TEE,              /* 5.8 */
    IORING_OP_SHUTDOWN,         /* 5.11 */
    IORING_OP_RENAMEAT,         /* 5.11 */
    IORING_OP_UNLINKAT,         /* 5.11 */
    IORING_OP_MKDIRAT,          /* 5.15 */
    IORING_OP_SYMLINKAT,        /* 5.15 */
    IORING_OP_LINKAT,           /* 5.15 */
    IORING_OP_MSG_RING,         /* 5.18 */
    IORING_OP_FSETXATTR,        /* 5.19 */
    IORING_OP_SETXATTR,         /* 5.19 */
    IORING_OP_FGETXATTR,        /* 5.19 */
    IORING_OP_GETXATTR,         /* 5.19 */
    IORING_OP_SOCKET,           /* 5.19 */
    IORING_OP_URING_CMD,        /* 5.19 */
    IORING_OP_SEND_ZC,          /* 6.0 */
    IORING_OP_SENDMSG_ZC,       /* 6.1 */
    IORING_OP_READ_MULTISHOT,   /* 6.7 */
    IORING_OP_WAITID,           /* 6.7 */
    IORING_OP_FUTEX_WAIT,       /* 6.7 */
    IORING_OP_FUTEX_WAKE,       /* 6.7 */
    IORING_OP_FUTEX_WAITV,      /* 6.7 */
    IORING_OP_FIXED_FD_INSTALL, /* 6.8 */
    IORING_OP_FTRUNCATE,        /* 6.9 */
    IORING_OP_BIND,             /* 6.11 */
    IORING_OP_LISTEN,           /* 6.11 */
    IORING_OP_RECV_ZC,          /* 6.15 */
    IORING_OP_EPOLL_WAIT,       /* 6.15 */
    IORING_OP_READV_FIXED,      /* 6.15 */
    IORING_OP_WRITEV_FIXED,     /* 6.15 */
    IORING_OP_PIPE,             /* 6.16 */
    IORING_OP_NOP128,           /* 6.19, 128-byte SQE */
    IORING_OP_URING_CMD128,     /* 6.19, 128-byte SQE */

    /* Count in this header, not in the running kernel: probe for that. */
    IORING_OP_LAST
};

/* ======================================================================
 * io_uring_setup(2) flags (IORING_SETUP_*)
 * ====================================================================== */

#define IORING_SETUP_IOPOLL             (1U << 0)  /* 5.1 */
#define IORING_SETUP_SQPOLL             (1U << 1)  /* 5.1 */
#define IORING_SETUP_SQ_AFF             (1U << 2)  /* 5.1 */
#define IORING_SETUP_CQSIZE             (1U << 3)  /* 5.5 */
#define IORING_SETUP_CLAMP              (1U << 4)  /* 5.6 */
#define IORING_SETUP_ATTACH_WQ          (1U << 5)  /* 5.6 */
#define IORING_SETUP_R_DISABLED         (1U << 6)  /* 5.10 */
#define IORING_SETUP_SUBMIT_ALL         (1U << 7)  /* 5.18 */
#define IORING_SETUP_COOP_TASKRUN       (1U << 8)  /* 5.19 */
#define IORING_SETUP_TASKRUN_FLAG       (1U << 9)  /* 5.19; needs COOP or DEFER_TASKRUN */
#define IORING_SETUP_SQE128             (1U << 10) /* 5.19 */
#define IORING_SETUP_CQE32              (1U << 11) /* 5.19 */
#define IORING_SETUP_SINGLE_ISSUER      (1U << 12) /* 6.0 */
#define IORING_SETUP_DEFER_TASKRUN      (1U << 13) /* 6.1 */
#define IORING_SETUP_NO_MMAP            (1U << 14) /* 6.5 */
#define IORING_SETUP_REGISTERED_FD_ONLY (1U << 15) /* 6.5 */
#define IORING_SETUP_NO_SQARRAY         (1U << 16) /* 6.6 */
#define IORING_SETUP_HYBRID_IOPOLL      (1U << 17) /* 6.13 */
#define IORING_SETUP_CQE_MIXED          (1U << 18) /* 6.18; 32b CQEs carry IORING_CQE_F_32 */
#define IORING_SETUP_SQE_MIXED          (1U << 19) /* 6.19; 128b SQEs use *128 opcodes */
#define IORING_SETUP_SQ_REWIND          (1U << 20) /* 7.0; needs NO_SQARRAY, not SQPOLL */

/* ======================================================================
 * io_uring_params.features (IORING_FEAT_*)
 * ====================================================================== */

#define IORING_FEAT_SINGLE_MMAP     (1U << 0)  /* 5.4 */
#define IORING_FEAT_NODROP          (1U << 1)  /* 5.5 */
#define IORING_FEAT_SUBMIT_STABLE   (1U << 2)  /* 5.5 */
#define IORING_FEAT_RW_CUR_POS      (1U << 3)  /* 5.6 */
#define IORING_FEAT_CUR_PERSONALITY (1U << 4)  /* 5.6 */
#define IORING_FEAT_FAST_POLL       (1U << 5)  /* 5.7 */
#define IORING_FEAT_POLL_32BITS     (1U << 6)  /* 5.9 */
#define IORING_FEAT_SQPOLL_NONFIXED (1U << 7)  /* 5.11 */
#define IORING_FEAT_EXT_ARG         (1U << 8)  /* 5.11 */
#define IORING_FEAT_NATIVE_WORKERS  (1U << 9)  /* 5.12 */
#define IORING_FEAT_RSRC_TAGS       (1U << 10) /* 5.13 */
#define IORING_FEAT_CQE_SKIP        (1U << 11) /* 5.17 */
#define IORING_FEAT_LINKED_FILE     (1U << 12) /* 5.17 */
#define IORING_FEAT_REG_REG_RING    (1U << 13) /* 6.3 */
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14) /* ~6.10 */
#define IORING_FEAT_MIN_TIMEOUT     (1U << 15) /* ~6.12 */
#define IORING_FEAT_RW_ATTR         (1U << 16) /* ~6.14 */
#define IORING_FEAT_NO_IOWAIT       (1U << 17) /* ~6.15 */

/* ======================================================================
 * sqe->flags (IOSQE_*)
 * ====================================================================== */

enum io_uring_sqe_flags_bit {
    IOSQE_FIXED_FILE_BIT,
    IOSQE_IO_DRAIN_BIT,
    IOSQE_IO_LINK_BIT,
    IOSQE_IO_HARDLINK_BIT,
    IOSQE_ASYNC_BIT,
    IOSQE_BUFFER_SELECT_BIT,
    IOSQE_CQE_SKIP_SUCCESS_BIT
};

#define IOSQE_FIXED_FILE       (1U << IOSQE_FIXED_FILE_BIT)       /* 5.1 */
#define IOSQE_IO_DRAIN         (1U << IOSQE_IO_DRAIN_BIT)         /* 5.2 */
#define IOSQE_IO_LINK          (1U << IOSQE_IO_LINK_BIT)          /* 5.3 */
#define IOSQE_IO_HARDLINK      (1U << IOSQE_IO_HARDLINK_BIT)      /* 5.5 */
#define IOSQE_ASYNC            (1U << IOSQE_ASYNC_BIT)            /* 5.6 */
#define IOSQE_BUFFER_SELECT    (1U << IOSQE_BUFFER_SELECT_BIT)    /* 5.7 */
#define IOSQE_CQE_SKIP_SUCCESS (1U << IOSQE_CQE_SKIP_SUCCESS_BIT) /* 5.17 */

/* sqe->file_index value asking the kernel to pick a free direct slot. */
#define IORING_FILE_INDEX_ALLOC (~0U)

/* ======================================================================
 * cqe->flags (IORING_CQE_F_*), ring flags and mmap offsets
 * ====================================================================== */

#define IORING_CQE_F_BUFFER        (1U << 0)  /* upper 16 bits hold the buffer id */
#define IORING_CQE_F_MORE          (1U << 1)  /* multishot: more CQEs will follow */
#define IORING_CQE_F_SOCK_NONEMPTY (1U << 2)
#define IORING_CQE_F_NOTIF         (1U << 3)  /* zero-copy send notification */
#define IORING_CQE_F_BUF_MORE      (1U << 4)  /* incremental buffer still in use */
#define IORING_CQE_F_SKIP          (1U << 5)  /* filler CQE: ignore (CQE_MIXED) */
#define IORING_CQE_F_32            (1U << 15) /* 32-byte CQE (CQE_MIXED) */

#define IORING_CQE_BUFFER_SHIFT 16

/* SOCKET_URING_OP_TX_TIMESTAMP: the timestamp kind lives in cqe->flags. */
#define IORING_TIMESTAMP_HW_SHIFT   16
#define IORING_TIMESTAMP_TYPE_SHIFT (IORING_TIMESTAMP_HW_SHIFT + 1)
#define IORING_CQE_F_TSTAMP_HW      ((uint32_t)1 << IORING_TIMESTAMP_HW_SHIFT)

/* sq_ring->flags */
#define IORING_SQ_NEED_WAKEUP (1U << 0) /* SQPOLL thread sleeps: enter with SQ_WAKEUP */
#define IORING_SQ_CQ_OVERFLOW (1U << 1) /* CQEs waiting in the overflow list */
#define IORING_SQ_TASKRUN     (1U << 2) /* task work pending: enter the kernel */

/* cq_ring->flags */
#define IORING_CQ_EVENTFD_DISABLED (1U << 0)

/* mmap(2) offsets on the ring fd */
#define IORING_OFF_SQ_RING    0ULL
#define IORING_OFF_CQ_RING    0x8000000ULL
#define IORING_OFF_SQES       0x10000000ULL
#define IORING_OFF_PBUF_RING  0x80000000ULL /* | (bgid << IORING_OFF_PBUF_SHIFT) */
#define IORING_OFF_PBUF_SHIFT 16
#define IORING_OFF_MMAP_MASK  0xf8000000ULL

/* ======================================================================
 * io_uring_enter(2) flags (IORING_ENTER_*)
 * ====================================================================== */

#define IORING_ENTER_GETEVENTS       (1U << 0) /* 5.1 */
#define IORING_ENTER_SQ_WAKEUP       (1U << 1) /* 5.1 */
#define IORING_ENTER_SQ_WAIT         (1U << 2) /* 5.10 */
#define IORING_ENTER_EXT_ARG         (1U << 3) /* 5.11 */
#define IORING_ENTER_REGISTERED_RING (1U << 4) /* 5.18 */
#define IORING_ENTER_ABS_TIMER       (1U << 5) /* 6.12 */
#define IORING_ENTER_EXT_ARG_REG     (1U << 6) /* 6.13 */
#define IORING_ENTER_NO_IOWAIT       (1U << 7) /* 6.15 */

/* ======================================================================
 * io_uring_register(2) opcodes (IORING_REGISTER_*)
 * ====================================================================== */

enum io_uring_register_op {
    IORING_REGISTER_BUFFERS          = 0,  /* 5.1 */
    IORING_UNREGISTER_BUFFERS        = 1,  /* 5.1 */
    IORING_REGISTER_FILES            = 2,  /* 5.1 */
    IORING_UNREGISTER_FILES          = 3,  /* 5.1 */
    IORING_REGISTER_EVENTFD          = 4,  /* 5.2 */
    IORING_UNREGISTER_EVENTFD        = 5,  /* 5.2 */
    IORING_REGISTER_FILES_UPDATE     = 6,  /* 5.5 */
    IORING_REGISTER_EVENTFD_ASYNC    = 7,  /* 5.6 */
    IORING_REGISTER_PROBE            = 8,  /* 5.6 */
    IORING_REGISTER_PERSONALITY      = 9,  /* 5.6 */
    IORING_UNREGISTER_PERSONALITY    = 10, /* 5.6 */
    IORING_REGISTER_RESTRICTIONS     = 11, /* 5.10 */
    IORING_REGISTER_ENABLE_RINGS     = 12, /* 5.10 */
    IORING_REGISTER_FILES2           = 13, /* 5.13, tagged */
    IORING_REGISTER_FILES_UPDATE2    = 14, /* 5.13 */
    IORING_REGISTER_BUFFERS2         = 15, /* 5.13 */
    IORING_REGISTER_BUFFERS_UPDATE   = 16, /* 5.13 */
    IORING_REGISTER_IOWQ_AFF         = 17, /* 5.14 */
    IORING_UNREGISTER_IOWQ_AFF       = 18, /* 5.14 */
    IORING_REGISTER_IOWQ_MAX_WORKERS = 19, /* 5.15 */
    IORING_REGISTER_RING_FDS         = 20, /* 5.18 */
    IORING_UNREGISTER_RING_FDS       = 21, /* 5.18 */
    IORING_REGISTER_PBUF_RING        = 22, /* 5.19 */
    IORING_UNREGISTER_PBUF_RING      = 23, /* 5.19 */
    IORING_REGISTER_SYNC_CANCEL      = 24, /* 6.0 */
    IORING_REGISTER_FILE_ALLOC_RANGE = 25, /* 6.0 */
    IORING_REGISTER_PBUF_STATUS      = 26, /* 6.8 */
    IORING_REGISTER_NAPI             = 27, /* 6.9 */
    IORING_UNREGISTER_NAPI           = 28, /* 6.9 */
    IORING_REGISTER_CLOCK            = 29, /* 6.12 */
    IORING_REGISTER_CLONE_BUFFERS    = 30, /* 6.13 */
    IORING_REGISTER_SEND_MSG_RING    = 31, /* 6.13, no ring needed */
    IORING_REGISTER_ZCRX_IFQ         = 32, /* 6.15 */
    IORING_REGISTER_RESIZE_RINGS     = 33, /* 6.13 */
    IORING_REGISTER_MEM_REGION       = 34, /* 6.13 */
    IORING_REGISTER_QUERY            = 35, /* ~6.18, see io_uring_query_hdr */
    IORING_REGISTER_ZCRX_CTRL        = 36, /* ~6.19, see enum zcrx_ctrl_op */
    IORING_REGISTER_BPF_FILTER       = 37, /* 7.0 */

    /* Count in this header, not in the running kernel. */
    IORING_REGISTER_LAST
};

/* OR-ed into the opcode: the fd argument is a registered ring index.
 * A #define because 1U << 31 does not fit an int enum constant. */
#define IORING_REGISTER_USE_REGISTERED_RING (1U << 31)

/* io-wq worker classes, the two counts of IORING_REGISTER_IOWQ_MAX_WORKERS */
enum io_wq_type {
    IO_WQ_BOUND,
    IO_WQ_UNBOUND
};

/* Skip this slot in IORING_REGISTER_FILES_UPDATE / FILES_UPDATE2. */
#define IORING_REGISTER_FILES_SKIP (-2)

/* io_uring_rsrc_register.flags: allocate an all-empty table (5.19) */
#define IORING_RSRC_REGISTER_SPARSE (1U << 0)

/* io_uring_probe_op.flags */
#define IO_URING_OP_SUPPORTED (1U << 0)

/* io_uring_restriction.opcode (5.10) */
enum io_uring_register_restriction_op {
    IORING_RESTRICTION_REGISTER_OP        = 0, /* allow a register opcode */
    IORING_RESTRICTION_SQE_OP             = 1, /* allow an SQE opcode */
    IORING_RESTRICTION_SQE_FLAGS_ALLOWED  = 2,
    IORING_RESTRICTION_SQE_FLAGS_REQUIRED = 3,
    IORING_RESTRICTION_LAST
};

/* io_uring_buf_reg.flags */
enum io_uring_register_pbuf_ring_flags {
    IOU_PBUF_RING_MMAP = 1, /* 6.4: kernel allocates, mmap IORING_OFF_PBUF_RING */
    IOU_PBUF_RING_INC  = 2  /* 6.12: buffers consumed incrementally */
};

/* io_uring_clone_buffers.flags */
enum {
    IORING_REGISTER_SRC_REGISTERED = (1U << 0), /* src_fd is a registered ring index */
    IORING_REGISTER_DST_REPLACE    = (1U << 1)
};

/* io_uring_region_desc.flags */
enum {
    IORING_MEM_REGION_TYPE_USER = 1 /* memory at user_addr */
};

/* io_uring_mem_region_reg.flags */
enum {
    IORING_MEM_REGION_REG_WAIT_ARG = 1 /* use as the registered wait region */
};

/* io_uring_reg_wait.flags */
enum {
    IORING_REG_WAIT_TS = (1U << 0) /* ts is valid */
};

/* io_uring_napi.opcode */
enum io_uring_napi_op {
    IO_URING_NAPI_REGISTER_OP   = 0,
    IO_URING_NAPI_STATIC_ADD_ID = 1,
    IO_URING_NAPI_STATIC_DEL_ID = 2
};

/* io_uring_napi.op_param for IO_URING_NAPI_REGISTER_OP */
enum io_uring_napi_tracking_strategy {
    IO_URING_NAPI_TRACKING_DYNAMIC  = 0,
    IO_URING_NAPI_TRACKING_STATIC   = 1,
    IO_URING_NAPI_TRACKING_INACTIVE = 255
};

/* io_uring_query_hdr.query_op */
enum {
    IO_URING_QUERY_OPCODES = 0, /* struct io_uring_query_opcode; no ring needed */
    IO_URING_QUERY_ZCRX    = 1,
    IO_URING_QUERY_SCQ     = 2  /* struct io_uring_query_scq */
};

/* zcrx */
#define IORING_ZCRX_AREA_SHIFT 48 /* area id is encoded above this bit */
#define IORING_ZCRX_AREA_MASK  (~(((uint64_t)1 << IORING_ZCRX_AREA_SHIFT) - 1))

enum io_uring_zcrx_area_flags {
    IORING_ZCRX_AREA_DMABUF = 1
};

enum zcrx_reg_flags {
    ZCRX_REG_IMPORT = 1
};

enum zcrx_features {
    ZCRX_FEATURE_RX_PAGE_SIZE = 1 << 0
};

enum zcrx_ctrl_op {
    ZCRX_CTRL_FLUSH_RQ = 0,
    ZCRX_CTRL_EXPORT   = 1
};

/* ======================================================================
 * Per-opcode flags
 * ====================================================================== */

/* IORING_OP_FSYNC: sqe->fsync_flags */
#define IORING_FSYNC_DATASYNC (1U << 0)

/* IORING_OP_TIMEOUT / TIMEOUT_REMOVE / LINK_TIMEOUT: sqe->timeout_flags */
#define IORING_TIMEOUT_ABS           (1U << 0) /* 5.5 */
#define IORING_TIMEOUT_UPDATE        (1U << 1) /* 5.11 */
#define IORING_TIMEOUT_BOOTTIME      (1U << 2) /* 5.15 */
#define IORING_TIMEOUT_REALTIME      (1U << 3) /* 5.15 */
#define IORING_LINK_TIMEOUT_UPDATE   (1U << 4) /* 5.15 */
#define IORING_TIMEOUT_ETIME_SUCCESS (1U << 5) /* 5.16 */
#define IORING_TIMEOUT_MULTISHOT     (1U << 6) /* 6.4 */
#define IORING_TIMEOUT_IMMEDIATE_ARG (1U << 7) /* 2026 (7.1?): addr is ns, not a pointer; relative only */
#define IORING_TIMEOUT_CLOCK_MASK    (IORING_TIMEOUT_BOOTTIME | IORING_TIMEOUT_REALTIME)
#define IORING_TIMEOUT_UPDATE_MASK   (IORING_TIMEOUT_UPDATE | IORING_LINK_TIMEOUT_UPDATE)

/* IORING_OP_SPLICE / TEE: sqe->splice_flags, on top of splice(2)'s */
#define SPLICE_F_FD_IN_FIXED (1U << 31)

/* IORING_OP_POLL_ADD / POLL_REMOVE: command flags live in sqe->len */
#define IORING_POLL_ADD_MULTI        (1U << 0) /* 5.13 */
#define IORING_POLL_UPDATE_EVENTS    (1U << 1) /* 5.13 */
#define IORING_POLL_UPDATE_USER_DATA (1U << 2) /* 5.13 */
#define IORING_POLL_ADD_LEVEL        (1U << 3) /* 5.19 */

/* IORING_OP_ASYNC_CANCEL and io_uring_sync_cancel_reg: sqe->cancel_flags */
#define IORING_ASYNC_CANCEL_ALL      (1U << 0)
#define IORING_ASYNC_CANCEL_FD       (1U << 1)
#define IORING_ASYNC_CANCEL_ANY      (1U << 2)
#define IORING_ASYNC_CANCEL_FD_FIXED (1U << 3)
#define IORING_ASYNC_CANCEL_USERDATA (1U << 4)
#define IORING_ASYNC_CANCEL_OP       (1U << 5)

/* send/recv family: flags live in sqe->ioprio */
#define IORING_RECVSEND_POLL_FIRST  (1U << 0)
#define IORING_RECV_MULTISHOT       (1U << 1)
#define IORING_RECVSEND_FIXED_BUF   (1U << 2)
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#define IORING_RECVSEND_BUNDLE      (1U << 4) /* with IOSQE_BUFFER_SELECT */
#define IORING_SEND_VECTORIZED      (1U << 5) /* SEND[_ZC] takes an iovec */

/* cqe->res of the NOTIF CQE with IORING_SEND_ZC_REPORT_USAGE: data was copied */
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)

/* IORING_OP_ACCEPT: flags live in sqe->ioprio */
#define IORING_ACCEPT_MULTISHOT  (1U << 0)
#define IORING_ACCEPT_DONTWAIT   (1U << 1)
#define IORING_ACCEPT_POLL_FIRST (1U << 2)

/* IORING_OP_MSG_RING: command in sqe->addr */
enum io_uring_msg_ring_flags {
    IORING_MSG_DATA,   /* post sqe->len as res and sqe->off as user_data */
    IORING_MSG_SEND_FD /* pass a direct descriptor to the target ring */
};

/* IORING_OP_MSG_RING: sqe->msg_ring_flags */
#define IORING_MSG_RING_CQE_SKIP   (1U << 0) /* no CQE in the target ring */
#define IORING_MSG_RING_FLAGS_PASS (1U << 1) /* sqe->file_index -> target cqe->flags */

/* IORING_OP_FIXED_FD_INSTALL: sqe->install_fd_flags */
#define IORING_FIXED_FD_NO_CLOEXEC (1U << 0)

/* IORING_OP_NOP: sqe->nop_flags (test hooks) */
#define IORING_NOP_INJECT_RESULT (1U << 0) /* complete with sqe->len as res */
#define IORING_NOP_FILE          (1U << 1)
#define IORING_NOP_FIXED_FILE    (1U << 2)
#define IORING_NOP_FIXED_BUFFER  (1U << 3)
#define IORING_NOP_TW            (1U << 4)
#define IORING_NOP_CQE32         (1U << 5)

/* IORING_OP_URING_CMD: sqe->uring_cmd_flags (top 8 bits are the kernel's) */
#define IORING_URING_CMD_FIXED     (1U << 0) /* registered buffer in buf_index */
#define IORING_URING_CMD_MULTISHOT (1U << 1) /* with buffer select; not with FIXED */
#define IORING_URING_CMD_MASK      (IORING_URING_CMD_FIXED | IORING_URING_CMD_MULTISHOT)

/* IORING_OP_READ/WRITE(V): sqe->attr_type_mask */
#define IORING_RW_ATTR_FLAG_PI (1U << 0) /* attr_ptr -> struct io_uring_attr_pi */

/* IORING_OP_URING_CMD on a socket: sqe->cmd_op */
enum io_uring_socket_op {
    SOCKET_URING_OP_SIOCINQ = 0,
    SOCKET_URING_OP_SIOCOUTQ,
    SOCKET_URING_OP_GETSOCKOPT,
    SOCKET_URING_OP_SETSOCKOPT,
    SOCKET_URING_OP_TX_TIMESTAMP, /* 6.17 */
    SOCKET_URING_OP_GETSOCKNAME   /* recent (liburing 2.15) */
};

/* ======================================================================
 * Layout checks (numbers from the kernel UAPI)
 * ====================================================================== */

#define IORING_ABI_SIZE(type, n) IORING_ABI_ASSERT(sizeof(type) == (n), "sizeof(" #type ") != " #n)
#define IORING_ABI_OFF(type, member, n) \
    IORING_ABI_ASSERT(offsetof(type, member) == (n), "offsetof(" #type ", " #member ") != " #n)

IORING_ABI_SIZE(struct ioring_kernel_timespec, 16);
IORING_ABI_SIZE(struct ioring_open_how, 24);
IORING_ABI_SIZE(struct ioring_futex_waitv, 24);
IORING_ABI_SIZE(struct ioring_statx_timestamp, 16);
IORING_ABI_SIZE(struct ioring_statx, 256);

IORING_ABI_SIZE(struct io_uring_sqe, 64);
IORING_ABI_SIZE(struct io_uring_cqe, 16);
IORING_ABI_SIZE(struct io_sqring_offsets, 40);
IORING_ABI_SIZE(struct io_cqring_offsets, 40);
IORING_ABI_SIZE(struct io_uring_params, 120);
IORING_ABI_SIZE(struct io_uring_attr_pi, 32);
IORING_ABI_SIZE(struct io_uring_getevents_arg, 24);
IORING_ABI_SIZE(struct io_uring_reg_wait, 64);
IORING_ABI_SIZE(struct io_uring_probe_op, 8);
IORING_ABI_SIZE(struct io_uring_probe, 16);
IORING_ABI_SIZE(struct io_uring_files_update, 16);
IORING_ABI_SIZE(struct io_uring_rsrc_register, 32);
IORING_ABI_SIZE(struct io_uring_rsrc_update, 16);
IORING_ABI_SIZE(struct io_uring_rsrc_update2, 32);
IORING_ABI_SIZE(struct io_uring_restriction, 16);
IORING_ABI_SIZE(struct io_uring_sync_cancel_reg, 64);
IORING_ABI_SIZE(struct io_uring_file_index_range, 16);
IORING_ABI_SIZE(struct io_uring_recvmsg_out, 16);
IORING_ABI_SIZE(struct io_uring_buf, 16);
IORING_ABI_SIZE(struct io_uring_buf_ring, 16);
IORING_ABI_SIZE(struct io_uring_buf_reg, 40);
IORING_ABI_SIZE(struct io_uring_buf_status, 40);
IORING_ABI_SIZE(struct io_uring_napi, 16);
IORING_ABI_SIZE(struct io_uring_clock_register, 16);
IORING_ABI_SIZE(struct io_uring_clone_buffers, 32);
IORING_ABI_SIZE(struct io_uring_region_desc, 64);
IORING_ABI_SIZE(struct io_uring_mem_region_reg, 32);
IORING_ABI_SIZE(struct io_uring_zcrx_rqe, 16);
IORING_ABI_SIZE(struct io_uring_zcrx_cqe, 16);
IORING_ABI_SIZE(struct io_uring_zcrx_offsets, 32);
IORING_ABI_SIZE(struct io_uring_zcrx_area_reg, 48);
IORING_ABI_SIZE(struct io_uring_zcrx_ifq_reg, 96);
IORING_ABI_SIZE(struct zcrx_ctrl, 72);
IORING_ABI_SIZE(struct io_uring_query_hdr, 40);
IORING_ABI_SIZE(struct io_uring_query_opcode, 48);
IORING_ABI_SIZE(struct io_uring_query_scq, 16);

IORING_ABI_OFF(struct io_uring_sqe, opcode, 0);
IORING_ABI_OFF(struct io_uring_sqe, flags, 1);
IORING_ABI_OFF(struct io_uring_sqe, ioprio, 2);
IORING_ABI_OFF(struct io_uring_sqe, fd, 4);
IORING_ABI_OFF(struct io_uring_sqe, off, 8);
IORING_ABI_OFF(struct io_uring_sqe, addr2, 8);
IORING_ABI_OFF(struct io_uring_sqe, cmd_op, 8);
IORING_ABI_OFF(struct io_uring_sqe, __pad1, 12);
IORING_ABI_OFF(struct io_uring_sqe, addr, 16);
IORING_ABI_OFF(struct io_uring_sqe, splice_off_in, 16);
IORING_ABI_OFF(struct io_uring_sqe, level, 16);
IORING_ABI_OFF(struct io_uring_sqe, optname, 20);
IORING_ABI_OFF(struct io_uring_sqe, len, 24);
IORING_ABI_OFF(struct io_uring_sqe, rw_flags, 28);
IORING_ABI_OFF(struct io_uring_sqe, poll32_events, 28);
IORING_ABI_OFF(struct io_uring_sqe, pipe_flags, 28);
IORING_ABI_OFF(struct io_uring_sqe, user_data, 32);
IORING_ABI_OFF(struct io_uring_sqe, buf_index, 40);
IORING_ABI_OFF(struct io_uring_sqe, buf_group, 40);
IORING_ABI_OFF(struct io_uring_sqe, personality, 42);
IORING_ABI_OFF(struct io_uring_sqe, splice_fd_in, 44);
IORING_ABI_OFF(struct io_uring_sqe, file_index, 44);
IORING_ABI_OFF(struct io_uring_sqe, zcrx_ifq_idx, 44);
IORING_ABI_OFF(struct io_uring_sqe, optlen, 44);
IORING_ABI_OFF(struct io_uring_sqe, addr_len, 44);
IORING_ABI_OFF(struct io_uring_sqe, write_stream, 44);
IORING_ABI_OFF(struct io_uring_sqe, addr3, 48);
IORING_ABI_OFF(struct io_uring_sqe, __pad2, 56);
IORING_ABI_OFF(struct io_uring_sqe, attr_ptr, 48);
IORING_ABI_OFF(struct io_uring_sqe, attr_type_mask, 56);
IORING_ABI_OFF(struct io_uring_sqe, optval, 48);
IORING_ABI_OFF(struct io_uring_sqe, cmd, 48);

IORING_ABI_OFF(struct io_uring_cqe, user_data, 0);
IORING_ABI_OFF(struct io_uring_cqe, res, 8);
IORING_ABI_OFF(struct io_uring_cqe, flags, 12);
IORING_ABI_OFF(struct io_uring_cqe, big_cqe, 16);

IORING_ABI_OFF(struct io_uring_params, sq_entries, 0);
IORING_ABI_OFF(struct io_uring_params, cq_entries, 4);
IORING_ABI_OFF(struct io_uring_params, flags, 8);
IORING_ABI_OFF(struct io_uring_params, sq_thread_cpu, 12);
IORING_ABI_OFF(struct io_uring_params, sq_thread_idle, 16);
IORING_ABI_OFF(struct io_uring_params, features, 20);
IORING_ABI_OFF(struct io_uring_params, wq_fd, 24);
IORING_ABI_OFF(struct io_uring_params, resv, 28);
IORING_ABI_OFF(struct io_uring_params, sq_off, 40);
IORING_ABI_OFF(struct io_uring_params, cq_off, 80);

IORING_ABI_OFF(struct io_sqring_offsets, array, 24);
IORING_ABI_OFF(struct io_sqring_offsets, user_addr, 32);
IORING_ABI_OFF(struct io_cqring_offsets, cqes, 20);
IORING_ABI_OFF(struct io_cqring_offsets, user_addr, 32);

IORING_ABI_OFF(struct io_uring_buf_ring, tail, 14);
IORING_ABI_OFF(struct io_uring_buf_ring, bufs, 0);
IORING_ABI_OFF(struct io_uring_getevents_arg, ts, 16);
IORING_ABI_OFF(struct io_uring_sync_cancel_reg, timeout, 16);
IORING_ABI_OFF(struct io_uring_sync_cancel_reg, opcode, 32);
IORING_ABI_OFF(struct io_uring_zcrx_ifq_reg, offsets, 32);
IORING_ABI_OFF(struct io_uring_zcrx_ifq_reg, zcrx_id, 64);

IORING_ABI_OFF(struct ioring_statx, stx_mask, 0);
IORING_ABI_OFF(struct ioring_statx, stx_blksize, 4);
IORING_ABI_OFF(struct ioring_statx, stx_attributes, 8);
IORING_ABI_OFF(struct ioring_statx, stx_nlink, 16);
IORING_ABI_OFF(struct ioring_statx, stx_uid, 20);
IORING_ABI_OFF(struct ioring_statx, stx_gid, 24);
IORING_ABI_OFF(struct ioring_statx, stx_mode, 28);
IORING_ABI_OFF(struct ioring_statx, stx_ino, 32);
IORING_ABI_OFF(struct ioring_statx, stx_size, 40);
IORING_ABI_OFF(struct ioring_statx, stx_blocks, 48);
IORING_ABI_OFF(struct ioring_statx, stx_attributes_mask, 56);
IORING_ABI_OFF(struct ioring_statx, stx_atime, 64);
IORING_ABI_OFF(struct ioring_statx, stx_btime, 80);
IORING_ABI_OFF(struct ioring_statx, stx_ctime, 96);
IORING_ABI_OFF(struct ioring_statx, stx_mtime, 112);
IORING_ABI_OFF(struct ioring_statx, stx_rdev_major, 128);
IORING_ABI_OFF(struct ioring_statx, stx_dev_major, 136);
IORING_ABI_OFF(struct ioring_statx, stx_mnt_id, 144);
IORING_ABI_OFF(struct ioring_statx, stx_dio_mem_align, 152);
IORING_ABI_OFF(struct ioring_statx, stx_dio_offset_align, 156);
IORING_ABI_OFF(struct ioring_statx, stx_subvol, 160);
IORING_ABI_OFF(struct ioring_statx, stx_atomic_write_unit_min, 168);
IORING_ABI_OFF(struct ioring_statx, stx_atomic_write_unit_max, 172);
IORING_ABI_OFF(struct ioring_statx, stx_atomic_write_segments_max, 176);
IORING_ABI_OFF(struct ioring_statx, stx_dio_read_offset_align, 180);
IORING_ABI_OFF(struct ioring_statx, stx_atomic_write_unit_max_opt, 184);
IORING_ABI_OFF(struct ioring_statx, __spare3, 192);

IORING_ABI_ASSERT(IORING_OP_NOP128 == 63 && IORING_OP_URING_CMD128 == 64 && IORING_OP_LAST == 65,
                  "IORING_OP_* numbering");
IORING_ABI_ASSERT(IORING_REGISTER_BPF_FILTER == 37 && IORING_REGISTER_LAST == 38,
                  "IORING_REGISTER_* numbering");

#undef IORING_ABI_SIZE
#undef IORING_ABI_OFF

#endif /* IORING_ABI_H */
