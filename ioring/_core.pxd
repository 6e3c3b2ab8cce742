# TRANSITIONAL: the declarations of include/ioring/register.h and the part of register_ext.h the
# other modules use, until ioring/includes/register.pxd and includes/register_ext.pxd (the
# registration slice of issue 15) replace this file; then includes/core.pxd cimports those and
# this file goes. Everything else of the ring core is declared under ioring/includes/.
from posix.uio cimport iovec

from ioring.includes cimport abi
from ioring.includes.ring cimport ioring

cdef extern from "ioring/register.h" nogil:
    int IORING_PROBE_OPS

    int ioring_register(ioring *ring, unsigned opcode, const void *arg, unsigned nr_args)
    int ioring_register_buffers(ioring *ring, const iovec *iovecs, unsigned nr_iovecs)
    int ioring_unregister_buffers(ioring *ring)
    int ioring_register_files(ioring *ring, const int *files, unsigned nr_files)
    int ioring_unregister_files(ioring *ring)
    int ioring_register_files_update(ioring *ring, unsigned off, const int *files, unsigned nr_files)
    int ioring_register_eventfd(ioring *ring, int fd)
    int ioring_register_eventfd_async(ioring *ring, int fd)
    int ioring_unregister_eventfd(ioring *ring)
    size_t ioring_probe_size()
    int ioring_register_probe(ioring *ring, abi.io_uring_probe *probe, unsigned nr)
    int ioring_opcode_supported(const abi.io_uring_probe *probe, int op)

cdef extern from "ioring/register_ext.h" nogil:
    int ioring_register_iowq_max_workers(ioring *ring, unsigned *val)
    int ioring_register_files_sparse(ioring *ring, unsigned nr)
    int ioring_same_file(int fd1, int fd2)
