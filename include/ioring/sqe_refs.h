/* Which user memory the kernel touches through an SQE's fields, per opcode: the knowledge a
 * binding needs to let programs assign SQE fields (sqe->len = n, sqe->opcode = op) without
 * letting the kernel read or write memory the program did not hand over.
 *
 * ioring_sqe_refs() lists, for the SQE as it stands, every field whose value the kernel
 * dereferences (or that carries state the binding cannot check), with the kind of memory
 * expected there and its size as the other fields give it. A field not listed is a plain value
 * for that opcode. Facts of the kernel ABI (io_uring/ *.c prep handlers of Linux 6.18/6.19);
 * doubtful cases are described as the more restrictive kind.
 *
 * Only the first 64 bytes of an SQE are described: the second half of a 128-byte slot is
 * command payload that nothing in ioring writes (it is zeroed when the SQE is handed out). */
#ifndef IORING_SQE_REFS_H
#define IORING_SQE_REFS_H

#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/uio.h>

#include "ioring/abi.h"
#include "ioring/prep_fs.h"
#include "ioring/prep_net.h"

enum ioring_ref_kind {
    IORING_REF_BYTES = 0,   /* count bytes of plain memory (no pointers inside) */
    IORING_REF_CSTR,        /* a NUL-terminated string (a path, an xattr name) */
    IORING_REF_IOVEC,       /* an array of count struct iovec, whose buffers the kernel uses */
    IORING_REF_MSGHDR,      /* a struct msghdr and everything it points to */
    IORING_REF_WAITV,       /* an array of count struct futex_waitv (they point to futex words) */
    IORING_REF_FIXED,       /* count bytes inside registered buffer sqe->buf_index */
    IORING_REF_LOCKED,      /* a pointer (or opaque payload) that cannot be checked: NULL/zero,
                               or what the prep helper put there for this same opcode */
    IORING_REF_FROZEN,      /* state announced elsewhere when the SQE was prepared (the target
                               ring and user_data of a MSG_RING...): it cannot change at all */
};

struct ioring_sqe_ref {
    uint8_t off;            /* byte offset of the field in struct io_uring_sqe */
    uint8_t size;           /* its size: 1, 2, 4 or 8 bytes */
    uint8_t kind;           /* enum ioring_ref_kind */
    uint8_t write;          /* the kernel writes into the memory */
    uint64_t count;         /* bytes (BYTES, FIXED) or entries (IOVEC, WAITV) */
};

#define IORING_SQE_MAX_REFS 8

#define IORING_SQE_OFF(field) ((uint8_t)offsetof(struct io_uring_sqe, field))

/* The ranges the refs name (the union members sharing them are aliases). */
#define IORING_SQE_F_OPCODE 0, 1
#define IORING_SQE_F_FD     IORING_SQE_OFF(fd), 4
#define IORING_SQE_F_OFF    IORING_SQE_OFF(off), 8
#define IORING_SQE_F_ADDR   IORING_SQE_OFF(addr), 8
#define IORING_SQE_F_LEN    IORING_SQE_OFF(len), 4
#define IORING_SQE_F_RWF    IORING_SQE_OFF(rw_flags), 4
#define IORING_SQE_F_BUFIDX IORING_SQE_OFF(buf_index), 2
#define IORING_SQE_F_ADDR3  IORING_SQE_OFF(addr3), 8
#define IORING_SQE_F_PAD2   (IORING_SQE_OFF(addr3) + 8), 8

static inline int ioring_sqe_ref_add(struct ioring_sqe_ref *refs, int n, uint8_t off, uint8_t size,
                                     enum ioring_ref_kind kind, int write, uint64_t count)
{
    refs[n].off = off;
    refs[n].size = size;
    refs[n].kind = (uint8_t)kind;
    refs[n].write = (uint8_t)(write != 0);
    refs[n].count = count;
    return n + 1;
}

#define IORING_REF(field, kind, write, count) \
    (n = ioring_sqe_ref_add(refs, n, field, kind, write, count))

/* Read and write ops: protection information (attr_ptr -> struct io_uring_attr_pi, which
 * holds a user pointer) is never set by ioring. */
#define IORING_REF_PI()                                   \
    do {                                                  \
        IORING_REF(IORING_SQE_F_ADDR3, IORING_REF_LOCKED, 0, 0); \
        IORING_REF(IORING_SQE_F_PAD2, IORING_REF_LOCKED, 0, 0);  \
    } while (0)

static inline int ioring_sqe_refs(const struct io_uring_sqe *sqe, struct ioring_sqe_ref *refs)
{
    int n = 0;
    uint32_t len = sqe->len;
    uint16_t ioprio = sqe->ioprio;
    uint32_t tflags = sqe->timeout_flags;

    switch (sqe->opcode) {
    case IORING_OP_NOP:
    case IORING_OP_NOP128:
    case IORING_OP_FSYNC:
    case IORING_OP_POLL_ADD:
    case IORING_OP_POLL_REMOVE:         /* addr, off: user_data values */
    case IORING_OP_SYNC_FILE_RANGE:
    case IORING_OP_ASYNC_CANCEL:        /* addr: a user_data value */
    case IORING_OP_FALLOCATE:           /* addr: the length */
    case IORING_OP_CLOSE:
    case IORING_OP_FADVISE:             /* addr: a 64-bit length */
    case IORING_OP_SPLICE:              /* splice_off_in, off: offsets */
    case IORING_OP_REMOVE_BUFFERS:
    case IORING_OP_TEE:
    case IORING_OP_SHUTDOWN:
    case IORING_OP_SOCKET:
    case IORING_OP_FIXED_FD_INSTALL:
    case IORING_OP_FTRUNCATE:
    case IORING_OP_LISTEN:
        break;
    case IORING_OP_READV:
    case IORING_OP_WRITEV:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_IOVEC, sqe->opcode == IORING_OP_READV, len);
        IORING_REF_PI();
        break;
    case IORING_OP_READ:
    case IORING_OP_WRITE:
    case IORING_OP_READ_MULTISHOT:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES, sqe->opcode != IORING_OP_WRITE, len);
        IORING_REF_PI();
        break;
    case IORING_OP_READ_FIXED:
    case IORING_OP_WRITE_FIXED:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_FIXED, sqe->opcode == IORING_OP_READ_FIXED, len);
        IORING_REF_PI();
        break;
    case IORING_OP_READV_FIXED:
    case IORING_OP_WRITEV_FIXED:
        /* The iovecs are checked by the kernel against the registered buffer; the array is read. */
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES, 0, (uint64_t)len * sizeof(struct iovec));
        IORING_REF_PI();
        break;
    case IORING_OP_SENDMSG:
    case IORING_OP_SENDMSG_ZC:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_MSGHDR, 0, 1);
        break;
    case IORING_OP_RECVMSG:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_MSGHDR, 1, 1);
        break;
    case IORING_OP_TIMEOUT:
    case IORING_OP_LINK_TIMEOUT:
        if (!(tflags & IORING_TIMEOUT_IMMEDIATE_ARG))
            IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES, 0, sizeof(struct ioring_kernel_timespec));
        break;
    case IORING_OP_TIMEOUT_REMOVE:      /* addr: the user_data of the timeout */
        if ((tflags & IORING_TIMEOUT_UPDATE_MASK) && !(tflags & IORING_TIMEOUT_IMMEDIATE_ARG))
            IORING_REF(IORING_SQE_F_OFF, IORING_REF_BYTES, 0, sizeof(struct ioring_kernel_timespec));
        break;
    case IORING_OP_ACCEPT:
        /* The kernel writes up to *addr2 bytes of address into addr: a pair only the prep
         * helpers build (around one sockaddr). */
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_LOCKED, 1, 0);
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_LOCKED, 1, 0);
        break;
    case IORING_OP_CONNECT:
    case IORING_OP_BIND:                /* addr2 (off): the address length */
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES, 0, sqe->off);
        break;
    case IORING_OP_OPENAT:
    case IORING_OP_UNLINKAT:
    case IORING_OP_MKDIRAT:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_CSTR, 0, 0);
        break;
    case IORING_OP_OPENAT2:             /* copy_struct_from_user reads len bytes of open_how */
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_CSTR, 0, 0);
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_BYTES, 0, len);
        break;
    case IORING_OP_RENAMEAT:
    case IORING_OP_SYMLINKAT:
    case IORING_OP_LINKAT:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_CSTR, 0, 0);
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_CSTR, 0, 0);
        break;
    case IORING_OP_FILES_UPDATE:        /* IORING_FILE_INDEX_ALLOC: the picked slots are written back */
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES,
                   (uint32_t)sqe->off == IORING_FILE_INDEX_ALLOC, (uint64_t)len * sizeof(int32_t));
        break;
    case IORING_OP_STATX:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_CSTR, 0, 0);
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_BYTES, 1, sizeof(struct ioring_statx));
        break;
    case IORING_OP_MADVISE:
        /* madvise acts on whole pages around the buffer: only io_uring_prep_madvise checks that. */
        IORING_REF(IORING_SQE_F_OPCODE, IORING_REF_FROZEN, 0, 0);
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_FROZEN, 1, 0);
        IORING_REF(IORING_SQE_F_LEN, IORING_REF_FROZEN, 0, 0);
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_FROZEN, 0, 0);
        IORING_REF(IORING_SQE_F_RWF, IORING_REF_FROZEN, 0, 0);
        break;
    case IORING_OP_PROVIDE_BUFFERS:
        /* The kernel keeps fd (count) buffers of len bytes from addr after the completion. */
        IORING_REF(IORING_SQE_F_OPCODE, IORING_REF_FROZEN, 0, 0);
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_FROZEN, 1, 0);
        IORING_REF(IORING_SQE_F_LEN, IORING_REF_FROZEN, 0, 0);
        IORING_REF(IORING_SQE_F_FD, IORING_REF_FROZEN, 0, 0);
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_FROZEN, 0, 0);
        IORING_REF(IORING_SQE_F_BUFIDX, IORING_REF_FROZEN, 0, 0);
        break;
    case IORING_OP_SEND:
    case IORING_OP_SEND_ZC:
        if ((ioprio & IORING_RECVSEND_FIXED_BUF) && sqe->opcode == IORING_OP_SEND_ZC) {
            if (ioprio & IORING_SEND_VECTORIZED)
                IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES, 0, (uint64_t)len * sizeof(struct iovec));
            else
                IORING_REF(IORING_SQE_F_ADDR, IORING_REF_FIXED, 0, len);
        } else if (ioprio & IORING_SEND_VECTORIZED) {
            IORING_REF(IORING_SQE_F_ADDR, IORING_REF_IOVEC, 0, len);
        } else {
            IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES, 0, len);
        }
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_BYTES, 0, sqe->addr_len);    /* sendto's address */
        break;
    case IORING_OP_RECV:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES, 1, len);
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_LOCKED, 1, 0);
        break;
    case IORING_OP_RECV_ZC:             /* data lands in the registered zcrx area */
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_LOCKED, 1, 0);
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_LOCKED, 1, 0);
        IORING_REF(IORING_SQE_F_ADDR3, IORING_REF_LOCKED, 1, 0);
        break;
    case IORING_OP_EPOLL_CTL:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES, 0, sizeof(struct epoll_event));
        break;
    case IORING_OP_EPOLL_WAIT:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES, 1, (uint64_t)len * sizeof(struct epoll_event));
        break;
    case IORING_OP_FSETXATTR:
    case IORING_OP_FGETXATTR:
    case IORING_OP_SETXATTR:
    case IORING_OP_GETXATTR:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_CSTR, 0, 0);
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_BYTES,
                   sqe->opcode == IORING_OP_FGETXATTR || sqe->opcode == IORING_OP_GETXATTR, len);
        if (sqe->opcode == IORING_OP_SETXATTR || sqe->opcode == IORING_OP_GETXATTR)
            IORING_REF(IORING_SQE_F_ADDR3, IORING_REF_CSTR, 0, 0);
        break;
    case IORING_OP_MSG_RING:
        /* The target ring was told at prep time which user_data the CQE it gets carries. */
        IORING_REF(IORING_SQE_F_OPCODE, IORING_REF_FROZEN, 0, 0);
        IORING_REF(IORING_SQE_F_FD, IORING_REF_FROZEN, 0, 0);
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_FROZEN, 0, 0);
        break;
    case IORING_OP_URING_CMD:
    case IORING_OP_URING_CMD128:
        /* The driver of the file decides, by cmd_op. In-tree: sockets read level/optname from
         * addr and optval/optlen; block devices read values from addr and addr3; btrfs and
         * ublk read pointers from addr and the payload from addr3 on. */
        switch (sqe->cmd_op) {
        case SOCKET_URING_OP_SIOCINQ:
        case SOCKET_URING_OP_SIOCOUTQ:
        case SOCKET_URING_OP_TX_TIMESTAMP:
            IORING_REF(IORING_SQE_F_ADDR3, IORING_REF_LOCKED, 1, 0);
            IORING_REF(IORING_SQE_F_PAD2, IORING_REF_LOCKED, 1, 0);
            break;
        case SOCKET_URING_OP_GETSOCKOPT:
        case SOCKET_URING_OP_SETSOCKOPT:
            IORING_REF(IORING_SQE_F_ADDR3, IORING_REF_BYTES,
                       sqe->cmd_op == SOCKET_URING_OP_GETSOCKOPT, sqe->optlen);
            IORING_REF(IORING_SQE_F_PAD2, IORING_REF_LOCKED, 1, 0);
            break;
        case BLOCK_URING_CMD_DISCARD:
        case BLOCK_URING_CMD_ZONE_RESET_ALL:
            IORING_REF(IORING_SQE_F_PAD2, IORING_REF_LOCKED, 1, 0);
            break;
        default:                        /* incl. SOCKET_URING_OP_GETSOCKNAME: addr/addr3 pair */
            IORING_REF(IORING_SQE_F_ADDR, IORING_REF_LOCKED, 1, 0);
            IORING_REF(IORING_SQE_F_ADDR3, IORING_REF_LOCKED, 1, 0);
            IORING_REF(IORING_SQE_F_PAD2, IORING_REF_LOCKED, 1, 0);
            break;
        }
        break;
    case IORING_OP_WAITID:
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_BYTES, 1, sizeof(siginfo_t));
        break;
    case IORING_OP_FUTEX_WAIT:
    case IORING_OP_FUTEX_WAKE:          /* fd: the FUTEX2_* flags, whose size bits size the word */
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES, 1, 1u << ((uint32_t)sqe->fd & FUTEX2_SIZE_MASK));
        break;
    case IORING_OP_FUTEX_WAITV:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_WAITV, 1, len);
        break;
    case IORING_OP_PIPE:
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_BYTES, 1, 2 * sizeof(int32_t));
        break;
    default:
        /* An opcode ioring does not know (a newer kernel's): any 64-bit field may be a pointer. */
        IORING_REF(IORING_SQE_F_OFF, IORING_REF_LOCKED, 1, 0);
        IORING_REF(IORING_SQE_F_ADDR, IORING_REF_LOCKED, 1, 0);
        IORING_REF(IORING_SQE_F_ADDR3, IORING_REF_LOCKED, 1, 0);
        IORING_REF(IORING_SQE_F_PAD2, IORING_REF_LOCKED, 1, 0);
        break;
    }
    return n;
}

#undef IORING_REF
#undef IORING_REF_PI

#endif /* IORING_SQE_REFS_H */
