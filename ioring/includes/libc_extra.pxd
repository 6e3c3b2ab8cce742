# System-header declarations Cython's own libc/posix .pxd files lack (theirs are used for the
# rest): one place for each, whatever module uses it.
from libc.stdint cimport uint32_t, uint64_t

cdef extern from "<errno.h>" nogil:
    enum:
        ECANCELED
        ENOTSUP

cdef extern from "<unistd.h>" nogil:
    int unlinkat(int dirfd, const char *pathname, int flags)
    ssize_t copy_file_range(int fd_in, long long *off_in, int fd_out, long long *off_out,
                            size_t count, unsigned flags)

cdef extern from "<stdlib.h>" nogil:
    void *aligned_alloc(size_t alignment, size_t size)

cdef extern from "<sys/syscall.h>" nogil:
    long syscall(long number, ...)
    enum:
        SYS_openat2

cdef extern from "<sys/xattr.h>" nogil:
    ssize_t listxattr(const char *path, char *names, size_t size)
    ssize_t getxattr(const char *path, const char *name, void *value, size_t size)
    int setxattr(const char *path, const char *name, const void *value, size_t size, int flags)

cdef extern from "<endian.h>" nogil:
    uint64_t htole64(uint64_t v)
    uint64_t le64toh(uint64_t v)

cdef extern from "<sys/epoll.h>" nogil:
    ctypedef union _epoll_data_t "epoll_data_t":
        void *ptr
        int fd
        uint32_t u32
        uint64_t u64

    # glibc's definition: __attribute__((packed)) on x86_64 (12 bytes), 16 bytes elsewhere.
    ctypedef struct _epoll_event_t "struct epoll_event":
        uint32_t events
        _epoll_data_t data
