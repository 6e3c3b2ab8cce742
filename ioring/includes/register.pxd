# include/ioring/register.h: the call every registration makes, eventfds, the probe.
# The ring's types come from includes/abi.pxd and includes/ring.pxd.
from ioring.includes cimport abi
from ioring.includes.ring cimport ioring


cdef extern from "ioring/register.h" nogil:
    int IORING_PROBE_OPS
    int ioring_register(ioring *ring, unsigned opcode, const void *arg, unsigned nr_args)
    int ioring_register_eventfd(ioring *ring, int fd)
    int ioring_register_eventfd_async(ioring *ring, int fd)
    int ioring_unregister_eventfd(ioring *ring)
    size_t ioring_probe_size()
    int ioring_register_probe(ioring *ring, abi.io_uring_probe *probe, unsigned nr)
    int ioring_opcode_supported(const abi.io_uring_probe *probe, int op)
