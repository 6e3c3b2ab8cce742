/* The ring's own settings through io_uring_register, with liburing 2.15's argument lists and
 * results: personalities, restrictions, enabling, io-wq control, synchronous cancel and
 * message, NAPI, clock, BPF filters, queries; what a raw io_uring_register(2) may be given;
 * and which ring an fd is. */
#ifndef IORING_REGISTER_RING_H
#define IORING_REGISTER_RING_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <sys/uio.h>

#include "ioring/register.h"

/* ---- kernel ABI that abi.h does not carry yet ------------------------------------------- */

/* linux/io_uring/bpf_filter.h (7.0): IORING_REGISTER_BPF_FILTER argument. abi.h may take these
 * over; it then defines IORING_ABI_HAS_BPF_FILTER. */
#ifndef IORING_ABI_HAS_BPF_FILTER
#define IORING_ABI_HAS_BPF_FILTER 1

enum {
    IO_URING_BPF_FILTER_DENY_REST = 1, /* opcodes without a filter are denied */
    IO_URING_BPF_FILTER_SZ_STRICT = 2  /* fail if the kernel's pdu_size differs */
};

enum {
    IO_URING_BPF_CMD_FILTER = 1
};

struct io_uring_bpf_filter {
    uint32_t opcode;     /* IORING_OP_* the filter applies to */
    uint32_t flags;      /* IO_URING_BPF_FILTER_* */
    uint32_t filter_len; /* number of struct sock_filter instructions */
    uint8_t pdu_size;    /* expected size of the opcode's context payload */
    uint8_t resv[3];
    uint64_t filter_ptr; /* struct sock_filter * */
    uint64_t resv2[5];
};

struct io_uring_bpf {
    uint16_t cmd_type;  /* IO_URING_BPF_CMD_* */
    uint16_t cmd_flags;
    uint32_t resv;
    union {
        struct io_uring_bpf_filter filter;
    };
};

IORING_ABI_ASSERT(sizeof(struct io_uring_bpf_filter) == 64, "sizeof(struct io_uring_bpf_filter)");
IORING_ABI_ASSERT(sizeof(struct io_uring_bpf) == 72, "sizeof(struct io_uring_bpf)");
#endif

/* struct sock_filter (linux/filter.h): one classic BPF instruction. */
struct ioring_sock_filter {
    uint16_t code;
    uint8_t jt;
    uint8_t jf;
    uint32_t k;
};
IORING_ABI_ASSERT(sizeof(struct ioring_sock_filter) == 8, "sizeof(struct sock_filter)");

/* ---- credentials and restrictions ------------------------------------------------------- */

static inline int ioring_register_personality(struct ioring *ring)
{
    return ioring_register(ring, IORING_REGISTER_PERSONALITY, NULL, 0);
}

static inline int ioring_unregister_personality(struct ioring *ring, int id)
{
    return ioring_register(ring, IORING_UNREGISTER_PERSONALITY, NULL, (unsigned)id);
}

static inline int ioring_register_restrictions(struct ioring *ring, struct io_uring_restriction *res,
                                               unsigned nr_res)
{
    return ioring_register(ring, IORING_REGISTER_RESTRICTIONS, res, nr_res);
}

static inline int ioring_enable_rings(struct ioring *ring)
{
    return ioring_register(ring, IORING_REGISTER_ENABLE_RINGS, NULL, 0);
}

/* ---- io-wq ------------------------------------------------------------------------------ */

/* mask is a cpu_set_t-style bitmap of cpusz bytes (bit n of byte n/8 is CPU n). */
static inline int ioring_register_iowq_aff(struct ioring *ring, size_t cpusz, const void *mask)
{
    if (cpusz >= (1U << 31))
        return -EINVAL;
    return ioring_register(ring, IORING_REGISTER_IOWQ_AFF, mask, (unsigned)cpusz);
}

static inline int ioring_unregister_iowq_aff(struct ioring *ring)
{
    return ioring_register(ring, IORING_UNREGISTER_IOWQ_AFF, NULL, 0);
}

/* val[0] bounded, val[1] unbounded workers (0 = leave as is); the previous limits are
 * written back into val. */
static inline int ioring_register_iowq_max_workers(struct ioring *ring, unsigned *val)
{
    return ioring_register(ring, IORING_REGISTER_IOWQ_MAX_WORKERS, val, 2);
}

/* ---- cancel and message ----------------------------------------------------------------- */

static inline int ioring_register_sync_cancel(struct ioring *ring, struct io_uring_sync_cancel_reg *reg)
{
    return ioring_register(ring, IORING_REGISTER_SYNC_CANCEL, reg, 1);
}

/* No ring: the SQE (prepared as IORING_OP_MSG_RING) is handed to the kernel directly. */
static inline int ioring_register_sync_msg(struct io_uring_sqe *sqe)
{
    return ioring_sys_register(-1, IORING_REGISTER_SEND_MSG_RING, sqe, 1);
}

/* ---- NAPI, clock ------------------------------------------------------------------------ */

/* Both write the previous busy-poll settings back into napi (unregister: if napi is given). */
static inline int ioring_register_napi(struct ioring *ring, struct io_uring_napi *napi)
{
    return ioring_register(ring, IORING_REGISTER_NAPI, napi, 1);
}

static inline int ioring_unregister_napi(struct ioring *ring, struct io_uring_napi *napi)
{
    return ioring_register(ring, IORING_UNREGISTER_NAPI, napi, 1);
}

static inline int ioring_register_clock(struct ioring *ring, struct io_uring_clock_register *arg)
{
    return ioring_register(ring, IORING_REGISTER_CLOCK, arg, 0);
}

/* ---- BPF filters, queries --------------------------------------------------------------- */

static inline int ioring_register_bpf_filter(struct ioring *ring, struct io_uring_bpf *bpf)
{
    return ioring_register(ring, IORING_REGISTER_BPF_FILTER, bpf, 1);
}

/* On the calling task: applies to rings it creates afterwards, and to its children. */
static inline int ioring_register_bpf_filter_task(struct io_uring_bpf *bpf)
{
    return ioring_sys_register(-1, IORING_REGISTER_BPF_FILTER, bpf, 1);
}

/* No ring: a chain of io_uring_query_hdr linked through next_entry. */
static inline int ioring_register_query(struct io_uring_query_hdr *query)
{
    return ioring_sys_register(-1, IORING_REGISTER_QUERY, query, 0);
}

/* ---- the raw io_uring_register(2): how much of arg the kernel touches ------------------- */

/* What a raw io_uring_register(fd, opcode, arg, nr_args) may be given, per opcode (the
 * IORING_REGISTER_USE_REGISTERED_RING bit aside):
 *   >= 0  the bytes of arg the kernel reads or writes at most, for this nr_args (0: the kernel
 *         wants arg NULL or ignores it);
 *   IORING_RAW_REGISTER_POINTERS  arg holds user pointers the kernel follows or keeps (iovecs,
 *         fd arrays, rings, regions, programs, query chains), or the call changes resources an
 *         io_uring object tracks (cloned buffers, buffer rings, resized rings): a typed
 *         wrapper must do it, pinning the memory and updating the tracking;
 *   IORING_RAW_REGISTER_UNKNOWN   an opcode this header does not know: nothing can be said
 *         about what the kernel would do with arg.
 * Sizes come from the structs above, which are the kernel's. */
#define IORING_RAW_REGISTER_POINTERS (-1LL)
#define IORING_RAW_REGISTER_UNKNOWN (-2LL)

static inline long long ioring_raw_register_arg_size(unsigned opcode, unsigned nr_args)
{
    unsigned long long nr = nr_args;
    switch (opcode & ~IORING_REGISTER_USE_REGISTERED_RING) {
    case IORING_UNREGISTER_BUFFERS:
    case IORING_UNREGISTER_FILES:
    case IORING_UNREGISTER_EVENTFD:
    case IORING_REGISTER_PERSONALITY:
    case IORING_UNREGISTER_PERSONALITY: /* nr_args is the id */
    case IORING_REGISTER_ENABLE_RINGS:
    case IORING_UNREGISTER_IOWQ_AFF:
        return 0;
    case IORING_REGISTER_FILES: /* int fds[nr_args] */
        return (long long)(nr * sizeof(int32_t));
    case IORING_REGISTER_EVENTFD:
    case IORING_REGISTER_EVENTFD_ASYNC: /* one int fd */
        return (long long)sizeof(int32_t);
    case IORING_REGISTER_PROBE: /* read and written back; the kernel may clamp nr_args */
        return (long long)(sizeof(struct io_uring_probe) + nr * sizeof(struct io_uring_probe_op));
    case IORING_REGISTER_RESTRICTIONS:
        return (long long)(nr * sizeof(struct io_uring_restriction));
    case IORING_REGISTER_IOWQ_AFF: /* a CPU mask of nr_args bytes */
        return (long long)nr;
    case IORING_REGISTER_IOWQ_MAX_WORKERS: /* __u32[2], read and written back */
        return (long long)(nr * sizeof(uint32_t));
    case IORING_REGISTER_RING_FDS:
    case IORING_UNREGISTER_RING_FDS: /* data is an fd or nothing, not a pointer */
        return (long long)(nr * sizeof(struct io_uring_rsrc_update));
    case IORING_REGISTER_SYNC_CANCEL:
        return (long long)sizeof(struct io_uring_sync_cancel_reg);
    case IORING_REGISTER_FILE_ALLOC_RANGE:
        return (long long)sizeof(struct io_uring_file_index_range);
    case IORING_REGISTER_PBUF_STATUS:
        return (long long)sizeof(struct io_uring_buf_status);
    case IORING_REGISTER_NAPI:
    case IORING_UNREGISTER_NAPI:
        return (long long)sizeof(struct io_uring_napi);
    case IORING_REGISTER_CLOCK:
        return (long long)sizeof(struct io_uring_clock_register);
    case IORING_REGISTER_SEND_MSG_RING: /* one struct io_uring_sqe */
        return (long long)sizeof(struct io_uring_sqe);
    case IORING_REGISTER_ZCRX_CTRL:
        return (long long)sizeof(struct zcrx_ctrl);
    case IORING_REGISTER_BUFFERS:        /* struct iovec[] */
    case IORING_REGISTER_FILES_UPDATE:   /* ->fds */
    case IORING_REGISTER_FILES2:         /* ->data, ->tags */
    case IORING_REGISTER_FILES_UPDATE2:
    case IORING_REGISTER_BUFFERS2:
    case IORING_REGISTER_BUFFERS_UPDATE:
    case IORING_REGISTER_PBUF_RING:      /* ->ring_addr, kept */
    case IORING_UNREGISTER_PBUF_RING:    /* the io_uring tracks its buffer rings */
    case IORING_REGISTER_CLONE_BUFFERS:  /* shares another ring's pinned buffers */
    case IORING_REGISTER_ZCRX_IFQ:       /* ->area_ptr, ->region_ptr, kept */
    case IORING_REGISTER_RESIZE_RINGS:   /* remaps the rings under the io_uring */
    case IORING_REGISTER_MEM_REGION:     /* ->region_uptr, kept */
    case IORING_REGISTER_QUERY:          /* ->next_entry, ->query_data */
    case IORING_REGISTER_BPF_FILTER:     /* ->filter_ptr */
        return IORING_RAW_REGISTER_POINTERS;
    default:
        return IORING_RAW_REGISTER_UNKNOWN;
    }
}

/* ---- which ring an fd is ------------------------------------------------------------------- */

/* 1 if fd1 and fd2 of this process refer to the same open file (a dup, an fd passed over a
 * socket...), 0 if not, -errno when the kernel cannot tell (kcmp(2) needs CONFIG_KCMP and
 * may be denied by seccomp). An io_uring instance is one open file. */
static inline int ioring_same_file(int fd1, int fd2)
{
#ifdef SYS_kcmp
    pid_t pid = getpid();
    long ret = syscall(SYS_kcmp, (long)pid, (long)pid, 0L /* KCMP_FILE */, (long)fd1, (long)fd2);
    if (ret < 0)
        return -errno;
    return ret == 0;
#else
    (void)fd1;
    (void)fd2;
    return -ENOSYS;
#endif
}

#endif /* IORING_REGISTER_RING_H */
