# include/ioring/prep_net.h: the io_uring_prep_* of sockets, msg_ring and uring_cmd, and the
# multishot recvmsg buffer helpers.
from libc.stdint cimport uint16_t, uint64_t

from ioring.includes cimport abi
from ioring.includes.socket cimport c_sockaddr, c_msghdr, socklen_t

cdef extern from "ioring/prep_net.h" nogil:
    const unsigned _c_BLOCK_URING_CMD_DISCARD "BLOCK_URING_CMD_DISCARD"
    const unsigned _c_BLOCK_URING_CMD_ZONE_RESET_ALL "BLOCK_URING_CMD_ZONE_RESET_ALL"
    size_t IORING_CMSG_ALIGN(size_t)
    abi.io_uring_recvmsg_out *ioring_recvmsg_validate(void *buf, int buf_len, const c_msghdr *msgh)

    void ioring_prep_socket(abi.io_uring_sqe *sqe, int domain, int type, int protocol, unsigned flags)
    void ioring_prep_socket_direct(abi.io_uring_sqe *sqe, int domain, int type, int protocol,
                                   unsigned file_index, unsigned flags)
    void ioring_prep_socket_direct_alloc(abi.io_uring_sqe *sqe, int domain, int type, int protocol,
                                         unsigned flags)
    void ioring_prep_connect(abi.io_uring_sqe *sqe, int fd, const c_sockaddr *addr, socklen_t addrlen)
    void ioring_prep_bind(abi.io_uring_sqe *sqe, int fd, const c_sockaddr *addr, socklen_t addrlen)
    void ioring_prep_listen(abi.io_uring_sqe *sqe, int fd, int backlog)
    void ioring_prep_shutdown(abi.io_uring_sqe *sqe, int fd, int how)
    void ioring_prep_accept(abi.io_uring_sqe *sqe, int fd, c_sockaddr *addr, socklen_t *addrlen, int flags)
    void ioring_prep_accept_direct(abi.io_uring_sqe *sqe, int fd, c_sockaddr *addr, socklen_t *addrlen,
                                   int flags, unsigned file_index)
    void ioring_prep_multishot_accept(abi.io_uring_sqe *sqe, int fd, c_sockaddr *addr,
                                      socklen_t *addrlen, int flags)
    void ioring_prep_multishot_accept_direct(abi.io_uring_sqe *sqe, int fd, c_sockaddr *addr,
                                             socklen_t *addrlen, int flags)
    void ioring_prep_send_set_addr(abi.io_uring_sqe *sqe, const c_sockaddr *dest_addr, uint16_t addr_len)
    void ioring_prep_sendto(abi.io_uring_sqe *sqe, int sockfd, const void *buf, size_t len, int flags,
                            const c_sockaddr *addr, socklen_t addrlen)
    void ioring_prep_send_bundle(abi.io_uring_sqe *sqe, int sockfd, size_t len, int flags)
    void ioring_prep_send_zc(abi.io_uring_sqe *sqe, int sockfd, const void *buf, size_t len, int flags,
                             unsigned zc_flags)
    void ioring_prep_send_zc_fixed(abi.io_uring_sqe *sqe, int sockfd, const void *buf, size_t len,
                                   int flags, unsigned zc_flags, unsigned buf_index)
    void ioring_prep_sendmsg(abi.io_uring_sqe *sqe, int fd, const c_msghdr *msg, unsigned flags)
    void ioring_prep_sendmsg_zc(abi.io_uring_sqe *sqe, int fd, const c_msghdr *msg, unsigned flags)
    void ioring_prep_sendmsg_zc_fixed(abi.io_uring_sqe *sqe, int fd, const c_msghdr *msg, unsigned flags,
                                      unsigned buf_index)
    void ioring_prep_recv_multishot(abi.io_uring_sqe *sqe, int sockfd, void *buf, size_t len, int flags)
    void ioring_prep_recvmsg(abi.io_uring_sqe *sqe, int fd, c_msghdr *msg, unsigned flags)
    void ioring_prep_recvmsg_multishot(abi.io_uring_sqe *sqe, int fd, c_msghdr *msg, unsigned flags)
    void ioring_prep_msg_ring(abi.io_uring_sqe *sqe, int fd, unsigned len, uint64_t data, unsigned flags)
    void ioring_prep_msg_ring_cqe_flags(abi.io_uring_sqe *sqe, int fd, unsigned len, uint64_t data,
                                        unsigned flags, unsigned cqe_flags)
    void ioring_prep_msg_ring_fd(abi.io_uring_sqe *sqe, int fd, int source_fd, int target_fd,
                                 uint64_t data, unsigned flags)
    void ioring_prep_msg_ring_fd_alloc(abi.io_uring_sqe *sqe, int fd, int source_fd, uint64_t data,
                                       unsigned flags)
    void ioring_prep_uring_cmd(abi.io_uring_sqe *sqe, int cmd_op, int fd)
    void ioring_prep_uring_cmd128(abi.io_uring_sqe *sqe, int cmd_op, int fd)
    void ioring_prep_cmd_sock(abi.io_uring_sqe *sqe, int cmd_op, int fd, int level, int optname,
                              void *optval, int optlen)
    void ioring_prep_cmd_getsockname(abi.io_uring_sqe *sqe, int fd, c_sockaddr *sockaddr,
                                     socklen_t *sockaddr_len, int peer)
    void ioring_prep_cmd_discard(abi.io_uring_sqe *sqe, int fd, uint64_t offset, uint64_t nbytes)
    void ioring_prep_cmd_zone_reset_all(abi.io_uring_sqe *sqe, int fd)
