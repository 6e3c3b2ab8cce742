/* io_uring_prep_* helpers of the net group (see prep.h for the conventions): sockets, accept,
 * connect, send/recv variants, msg_ring, uring_cmd passthrough, and liburing's helpers that
 * parse the buffer a multishot recvmsg filled (io_uring_recvmsg_*).
 *
 * Each helper encodes the SQE exactly as liburing 2.15 does (2.16-dev for zone_reset_all), after
 * ioring_prep_rw has cleared everything but flags, user_data and personality. */
#ifndef IORING_PREP_NET_H
#define IORING_PREP_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "ioring/abi.h"
#include "ioring/prep.h"

/* Block-device uring_cmd opcodes (sqe->cmd_op). A number space of their own, reusing the block
 * ioctl type 0x12; _IO() gives the architecture's encoding, as <linux/blkdev.h> does. */
#ifndef BLOCK_URING_CMD_DISCARD
#define BLOCK_URING_CMD_DISCARD _IO(0x12, 0)        /* Linux 6.12 */
#endif
#ifndef BLOCK_URING_CMD_ZONE_RESET_ALL
#define BLOCK_URING_CMD_ZONE_RESET_ALL _IO(0x12, 1) /* liburing 2.16-dev, Linux 7.x */
#endif

/* ---- sockets ---------------------------------------------------------------------------------- */

static inline void ioring_prep_socket(struct io_uring_sqe *sqe, int domain, int type, int protocol,
                                      unsigned flags)
{
    ioring_prep_rw(IORING_OP_SOCKET, sqe, domain, NULL, (unsigned)protocol, (uint64_t)(unsigned)type);
    sqe->rw_flags = flags;
}

static inline void ioring_prep_socket_direct(struct io_uring_sqe *sqe, int domain, int type,
                                             int protocol, unsigned file_index, unsigned flags)
{
    ioring_prep_socket(sqe, domain, type, protocol, flags);
    ioring_set_direct_slot(sqe, file_index);
}

static inline void ioring_prep_socket_direct_alloc(struct io_uring_sqe *sqe, int domain, int type,
                                                   int protocol, unsigned flags)
{
    ioring_prep_socket(sqe, domain, type, protocol, flags);
    ioring_set_target_fixed_file(sqe, IORING_FILE_INDEX_ALLOC - 1);
}

static inline void ioring_prep_connect(struct io_uring_sqe *sqe, int fd, const struct sockaddr *addr,
                                       socklen_t addrlen)
{
    ioring_prep_rw(IORING_OP_CONNECT, sqe, fd, addr, 0, addrlen);
}

static inline void ioring_prep_bind(struct io_uring_sqe *sqe, int fd, const struct sockaddr *addr,
                                    socklen_t addrlen)
{
    ioring_prep_rw(IORING_OP_BIND, sqe, fd, addr, 0, addrlen);
}

static inline void ioring_prep_listen(struct io_uring_sqe *sqe, int fd, int backlog)
{
    ioring_prep_rw(IORING_OP_LISTEN, sqe, fd, NULL, (unsigned)backlog, 0);
}

static inline void ioring_prep_shutdown(struct io_uring_sqe *sqe, int fd, int how)
{
    ioring_prep_rw(IORING_OP_SHUTDOWN, sqe, fd, NULL, (unsigned)how, 0);
}

/* ---- accept ----------------------------------------------------------------------------------- */

static inline void ioring_prep_accept(struct io_uring_sqe *sqe, int fd, struct sockaddr *addr,
                                      socklen_t *addrlen, int flags)
{
    ioring_prep_rw(IORING_OP_ACCEPT, sqe, fd, addr, 0, (uint64_t)(uintptr_t)addrlen);
    sqe->accept_flags = (uint32_t)flags;
}

static inline void ioring_prep_accept_direct(struct io_uring_sqe *sqe, int fd, struct sockaddr *addr,
                                             socklen_t *addrlen, int flags, unsigned file_index)
{
    ioring_prep_accept(sqe, fd, addr, addrlen, flags);
    ioring_set_direct_slot(sqe, file_index);
}

static inline void ioring_prep_multishot_accept(struct io_uring_sqe *sqe, int fd,
                                                struct sockaddr *addr, socklen_t *addrlen, int flags)
{
    ioring_prep_accept(sqe, fd, addr, addrlen, flags);
    sqe->ioprio |= IORING_ACCEPT_MULTISHOT;
}

static inline void ioring_prep_multishot_accept_direct(struct io_uring_sqe *sqe, int fd,
                                                       struct sockaddr *addr, socklen_t *addrlen,
                                                       int flags)
{
    ioring_prep_multishot_accept(sqe, fd, addr, addrlen, flags);
    ioring_set_target_fixed_file(sqe, IORING_FILE_INDEX_ALLOC - 1);
}

/* ---- send ------------------------------------------------------------------------------------- */

/* Adds a destination to an SQE already prepared as a send (it clears nothing). */
static inline void ioring_prep_send_set_addr(struct io_uring_sqe *sqe, const struct sockaddr *dest_addr,
                                             uint16_t addr_len)
{
    sqe->addr2 = (uint64_t)(uintptr_t)dest_addr;
    sqe->addr_len = addr_len;
}

static inline void ioring_prep_sendto(struct io_uring_sqe *sqe, int sockfd, const void *buf, size_t len,
                                      int flags, const struct sockaddr *addr, socklen_t addrlen)
{
    ioring_prep_send(sqe, sockfd, buf, len, flags);
    ioring_prep_send_set_addr(sqe, addr, (uint16_t)addrlen);
}

static inline void ioring_prep_send_bundle(struct io_uring_sqe *sqe, int sockfd, size_t len, int flags)
{
    ioring_prep_send(sqe, sockfd, NULL, len, flags);
    sqe->ioprio |= IORING_RECVSEND_BUNDLE;
}

static inline void ioring_prep_send_zc(struct io_uring_sqe *sqe, int sockfd, const void *buf, size_t len,
                                       int flags, unsigned zc_flags)
{
    ioring_prep_rw(IORING_OP_SEND_ZC, sqe, sockfd, buf, (uint32_t)len, 0);
    sqe->msg_flags = (uint32_t)flags;
    sqe->ioprio = (uint16_t)zc_flags;
}

static inline void ioring_prep_send_zc_fixed(struct io_uring_sqe *sqe, int sockfd, const void *buf,
                                             size_t len, int flags, unsigned zc_flags,
                                             unsigned buf_index)
{
    ioring_prep_send_zc(sqe, sockfd, buf, len, flags, zc_flags);
    sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
    sqe->buf_index = (uint16_t)buf_index;
}

static inline void ioring_prep_sendmsg(struct io_uring_sqe *sqe, int fd, const struct msghdr *msg,
                                       unsigned flags)
{
    ioring_prep_rw(IORING_OP_SENDMSG, sqe, fd, msg, 1, 0);
    sqe->msg_flags = flags;
}

static inline void ioring_prep_sendmsg_zc(struct io_uring_sqe *sqe, int fd, const struct msghdr *msg,
                                          unsigned flags)
{
    ioring_prep_sendmsg(sqe, fd, msg, flags);
    sqe->opcode = IORING_OP_SENDMSG_ZC;
}

static inline void ioring_prep_sendmsg_zc_fixed(struct io_uring_sqe *sqe, int fd,
                                                const struct msghdr *msg, unsigned flags,
                                                unsigned buf_index)
{
    ioring_prep_sendmsg_zc(sqe, fd, msg, flags);
    sqe->ioprio |= IORING_RECVSEND_FIXED_BUF;
    sqe->buf_index = (uint16_t)buf_index;
}

/* ---- receive ---------------------------------------------------------------------------------- */

static inline void ioring_prep_recv_multishot(struct io_uring_sqe *sqe, int sockfd, void *buf,
                                              size_t len, int flags)
{
    ioring_prep_recv(sqe, sockfd, buf, len, flags);
    sqe->ioprio |= IORING_RECV_MULTISHOT;
}

static inline void ioring_prep_recvmsg(struct io_uring_sqe *sqe, int fd, struct msghdr *msg,
                                       unsigned flags)
{
    ioring_prep_rw(IORING_OP_RECVMSG, sqe, fd, msg, 1, 0);
    sqe->msg_flags = flags;
}

static inline void ioring_prep_recvmsg_multishot(struct io_uring_sqe *sqe, int fd, struct msghdr *msg,
                                                 unsigned flags)
{
    ioring_prep_recvmsg(sqe, fd, msg, flags);
    sqe->ioprio |= IORING_RECV_MULTISHOT;
}

/* The layout of a multishot recvmsg buffer: struct io_uring_recvmsg_out, then msg_namelen bytes
 * for the name, msg_controllen bytes for the control messages, then the payload. */
#define IORING_CMSG_ALIGN(len) (((len) + sizeof(size_t) - 1) & ~(sizeof(size_t) - 1))

static inline struct io_uring_recvmsg_out *ioring_recvmsg_validate(void *buf, int buf_len,
                                                                   const struct msghdr *msgh)
{
    unsigned long ulen = (unsigned long)(unsigned)buf_len;
    unsigned long hdr = sizeof(struct io_uring_recvmsg_out);
    unsigned long namelen = msgh->msg_namelen;
    unsigned long controllen = msgh->msg_controllen;

    if (buf_len < 0 || ulen < hdr)
        return NULL;
    if (namelen > ulen - hdr)
        return NULL;
    if (controllen > ulen - hdr - namelen)
        return NULL;
    return (struct io_uring_recvmsg_out *)buf;
}

static inline void *ioring_recvmsg_name(struct io_uring_recvmsg_out *o)
{
    return (void *)&o[1];
}

static inline struct cmsghdr *ioring_recvmsg_cmsg_firsthdr(struct io_uring_recvmsg_out *o,
                                                           const struct msghdr *msgh)
{
    if (o->controllen < sizeof(struct cmsghdr))
        return NULL;
    return (struct cmsghdr *)((unsigned char *)ioring_recvmsg_name(o) + msgh->msg_namelen);
}

static inline struct cmsghdr *ioring_recvmsg_cmsg_nexthdr(struct io_uring_recvmsg_out *o,
                                                          const struct msghdr *msgh,
                                                          struct cmsghdr *cmsg)
{
    unsigned char *end;

    if (cmsg->cmsg_len < sizeof(struct cmsghdr))
        return NULL;
    end = (unsigned char *)ioring_recvmsg_cmsg_firsthdr(o, msgh) + o->controllen;
    cmsg = (struct cmsghdr *)((unsigned char *)cmsg + IORING_CMSG_ALIGN(cmsg->cmsg_len));
    if ((unsigned char *)(cmsg + 1) > end)
        return NULL;
    if ((unsigned char *)cmsg + IORING_CMSG_ALIGN(cmsg->cmsg_len) > end)
        return NULL;
    return cmsg;
}

static inline void *ioring_recvmsg_payload(struct io_uring_recvmsg_out *o, const struct msghdr *msgh)
{
    return (void *)((unsigned char *)ioring_recvmsg_name(o) + msgh->msg_namelen + msgh->msg_controllen);
}

static inline unsigned ioring_recvmsg_payload_length(struct io_uring_recvmsg_out *o, int buf_len,
                                                     const struct msghdr *msgh)
{
    unsigned long payload_start, payload_end;

    if (buf_len < 0)
        return 0;
    payload_start = (unsigned long)(uintptr_t)ioring_recvmsg_payload(o, msgh);
    payload_end = (unsigned long)(uintptr_t)o + (unsigned)buf_len;
    if (payload_start >= payload_end)
        return 0;
    return (unsigned)(payload_end - payload_start);
}

/* ---- msg_ring --------------------------------------------------------------------------------- */

static inline void ioring_prep_msg_ring(struct io_uring_sqe *sqe, int fd, unsigned len, uint64_t data,
                                        unsigned flags)
{
    ioring_prep_rw(IORING_OP_MSG_RING, sqe, fd, NULL, len, data);
    sqe->msg_ring_flags = flags;
}

static inline void ioring_prep_msg_ring_cqe_flags(struct io_uring_sqe *sqe, int fd, unsigned len,
                                                  uint64_t data, unsigned flags, unsigned cqe_flags)
{
    ioring_prep_rw(IORING_OP_MSG_RING, sqe, fd, NULL, len, data);
    sqe->msg_ring_flags = IORING_MSG_RING_FLAGS_PASS | flags;
    sqe->file_index = cqe_flags;
}

static inline void ioring_prep_msg_ring_fd(struct io_uring_sqe *sqe, int fd, int source_fd,
                                           int target_fd, uint64_t data, unsigned flags)
{
    ioring_prep_rw(IORING_OP_MSG_RING, sqe, fd, (void *)(uintptr_t)IORING_MSG_SEND_FD, 0, data);
    sqe->addr3 = (uint64_t)(int64_t)source_fd;
    ioring_set_direct_slot(sqe, (unsigned)target_fd);
    sqe->msg_ring_flags = flags;
}

static inline void ioring_prep_msg_ring_fd_alloc(struct io_uring_sqe *sqe, int fd, int source_fd,
                                                 uint64_t data, unsigned flags)
{
    ioring_prep_msg_ring_fd(sqe, fd, source_fd, (int)IORING_FILE_INDEX_ALLOC, data, flags);
}

/* ---- uring_cmd passthrough -------------------------------------------------------------------- */

static inline void ioring_prep_uring_cmd(struct io_uring_sqe *sqe, int cmd_op, int fd)
{
    ioring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
    sqe->cmd_op = (uint32_t)cmd_op;
}

/* Needs a ring set up with IORING_SETUP_SQE128 (or SQE_MIXED): the command has 80 bytes. */
static inline void ioring_prep_uring_cmd128(struct io_uring_sqe *sqe, int cmd_op, int fd)
{
    ioring_prep_rw(IORING_OP_URING_CMD128, sqe, fd, NULL, 0, 0);
    sqe->cmd_op = (uint32_t)cmd_op;
}

static inline void ioring_prep_cmd_sock(struct io_uring_sqe *sqe, int cmd_op, int fd, int level,
                                        int optname, void *optval, int optlen)
{
    ioring_prep_uring_cmd(sqe, cmd_op, fd);
    sqe->optval = (uint64_t)(uintptr_t)optval;
    sqe->optname = (uint32_t)optname;
    sqe->optlen = (uint32_t)optlen;
    sqe->level = (uint32_t)level;
}

static inline void ioring_prep_cmd_getsockname(struct io_uring_sqe *sqe, int fd, struct sockaddr *sockaddr,
                                               socklen_t *sockaddr_len, int peer)
{
    ioring_prep_uring_cmd(sqe, SOCKET_URING_OP_GETSOCKNAME, fd);
    sqe->addr = (uint64_t)(uintptr_t)sockaddr;
    sqe->addr3 = (uint64_t)(uintptr_t)sockaddr_len;
    sqe->optlen = (uint32_t)peer;
}

static inline void ioring_prep_cmd_discard(struct io_uring_sqe *sqe, int fd, uint64_t offset,
                                           uint64_t nbytes)
{
    ioring_prep_uring_cmd(sqe, (int)BLOCK_URING_CMD_DISCARD, fd);
    sqe->addr = offset;
    sqe->addr3 = nbytes;
}

static inline void ioring_prep_cmd_zone_reset_all(struct io_uring_sqe *sqe, int fd)
{
    ioring_prep_uring_cmd(sqe, (int)BLOCK_URING_CMD_ZONE_RESET_ALL, fd);
}

#endif /* IORING_PREP_NET_H */
