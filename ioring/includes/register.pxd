# include/ioring/register.h: the basic io_uring_register calls (buffers, files, eventfd, probe).
# The ring's types come from the ring core's declarations (ioring/_core.pxd until it is split).
from posix.uio cimport iovec

from ioring cimport _core as c


cdef extern from "ioring/register.h" nogil:
    int ioring_register(c.ioring *ring, unsigned opcode, const void *arg, unsigned nr_args)
    int ioring_register_buffers(c.ioring *ring, const iovec *iovecs, unsigned nr_iovecs)
    int ioring_unregister_buffers(c.ioring *ring)
    int ioring_register_files(c.ioring *ring, const int *files, unsigned nr_files)
    int ioring_unregister_files(c.ioring *ring)
    int ioring_register_files_update(c.ioring *ring, unsigned off, const int *files, unsigned nr_files)
    int ioring_register_eventfd(c.ioring *ring, int fd)
    int ioring_register_eventfd_async(c.ioring *ring, int fd)
    int ioring_unregister_eventfd(c.ioring *ring)
    size_t ioring_probe_size()
    int ioring_register_probe(c.ioring *ring, c.io_uring_probe *probe, unsigned nr)
    int ioring_opcode_supported(const c.io_uring_probe *probe, int op)
