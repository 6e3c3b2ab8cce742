# The socket headers (<sys/socket.h>, <netinet/in.h>, <sys/un.h>, <arpa/inet.h>): the structs
# ioring.liburing embeds in its sockaddr/msghdr types, and what the Pythonic layer sends with.
# Constants exported to Python by ioring.liburing are under _c_ names.
from libc.stdint cimport uint16_t, uint32_t
from posix.uio cimport iovec

cdef extern from "<sys/socket.h>" nogil:
    ctypedef unsigned int socklen_t
    ctypedef struct c_sockaddr "struct sockaddr":
        unsigned short sa_family
    ctypedef struct c_sockaddr_storage "struct sockaddr_storage":
        unsigned short ss_family
    ctypedef struct c_msghdr "struct msghdr":
        void *msg_name
        socklen_t msg_namelen
        iovec *msg_iov
        size_t msg_iovlen
        void *msg_control
        size_t msg_controllen
        int msg_flags
    ctypedef struct c_cmsghdr "struct cmsghdr":
        size_t cmsg_len
        int cmsg_level
        int cmsg_type
    int _c_AF_UNSPEC "AF_UNSPEC"
    int _c_AF_UNIX "AF_UNIX"
    int _c_AF_INET "AF_INET"
    int _c_AF_INET6 "AF_INET6"
    enum:
        MSG_WAITALL
        MSG_NOSIGNAL
        SOCK_CLOEXEC

cdef extern from "<netinet/in.h>" nogil:
    ctypedef struct c_in_addr "struct in_addr":
        uint32_t s_addr
    ctypedef struct c_sockaddr_in "struct sockaddr_in":
        unsigned short sin_family
        uint16_t sin_port
        c_in_addr sin_addr
    ctypedef struct c_in6_addr "struct in6_addr":
        unsigned char s6_addr[16]
    ctypedef struct c_sockaddr_in6 "struct sockaddr_in6":
        unsigned short sin6_family
        uint16_t sin6_port
        uint32_t sin6_flowinfo
        c_in6_addr sin6_addr
        uint32_t sin6_scope_id
    uint32_t _c_INADDR_ANY "INADDR_ANY"
    uint32_t _c_INADDR_BROADCAST "INADDR_BROADCAST"

cdef extern from "<sys/un.h>" nogil:
    ctypedef struct c_sockaddr_un "struct sockaddr_un":
        unsigned short sun_family
        char sun_path[108]
    const size_t _c_sun_path_off "offsetof(struct sockaddr_un, sun_path)"

cdef extern from "<arpa/inet.h>" nogil:
    uint16_t htons(uint16_t)
    uint16_t ntohs(uint16_t)
    uint32_t htonl(uint32_t)
    uint32_t ntohl(uint32_t)
    int inet_pton(int af, const char *src, void *dst)
    const char *inet_ntop(int af, const void *src, char *dst, socklen_t size)
