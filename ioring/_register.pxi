# io_uring_register_*: the one idiom every registration of this module goes through, and the
# registrations of the ring itself (eventfd, the probe). Included by liburing.pyx.
#
# What is registered, by subject:
#   _register_buffers.pxi   registered buffers and the table that pins them (_RegisteredBuffers)
#   _register_files.pxi     registered files
#   _register_ring.pxi      the ring's settings: its fd, personalities, restrictions, io-wq,
#                           synchronous cancel/message, NAPI, clock, BPF filters, queries
#   _register_regions.pxi   memory regions and zero-copy receive queues
#   _register_structs.pxi   the kernel structs those calls take, as small Python types
#   _buf_ring.pxi, _wait_reg.pxi   provided-buffer rings, registered wait regions
#   _raw_syscalls.pxi       io_uring_setup/io_uring_enter/io_uring_register themselves
#
# The idiom: _reg_begin(ring) (the ring is open; a close waits for the call), the C call (with
# the GIL released where the kernel may wait: unregistering waits for the ring to go idle),
# then _reg_end(ring, ret): EINTR runs the signal handlers (Ctrl-C is a KeyboardInterrupt),
# a negative ret raises OSError. Structs the kernel keeps pointing at after the call (memory
# regions, zcrx areas) are kept in ring._provided until io_uring_queue_exit.
from ioring.includes cimport register as rg


cdef inline int _reg_begin(io_uring ring) except -1:
    """Before a registration: the ring must be open, and stay open while the GIL is released."""
    ring._check()
    ring._blocking += 1
    return 0


cdef int _reg_end(io_uring ring, int ret) except? -1:
    """After the registration _reg_begin announced: signals on EINTR, OSError on failure."""
    ring._blocking -= 1
    if ret == -EINTR:
        PyErr_CheckSignals()
    return _check_ret(ret)


cdef int _syscall_end(int ret) except? -1:
    if ret == -EINTR:
        PyErr_CheckSignals()      # Ctrl-C: KeyboardInterrupt; otherwise InterruptedError
    return _check_ret(ret)


cdef void _expect_tag_cqes(io_uring ring, _U64Array tags, unsigned count):
    """Each nonzero tag will come back as a CQE with user_data = tag: tell the ring, so that
    such a CQE never passes for the completion of a request with the same user_data."""
    cdef unsigned i
    if tags.items != NULL:
        for i in range(count):
            if tags.items[i]:
                ring._expect_foreign(tags.items[i])


def io_uring_register_eventfd(io_uring ring not None, int fd):
    """io_uring_register_eventfd(3): the eventfd is signalled on every completion."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = rg.ioring_register_eventfd(&ring.ring, fd)
    return _reg_end(ring, ret)


def io_uring_register_eventfd_async(io_uring ring not None, int fd):
    """io_uring_register_eventfd_async(3): signalled only for completions posted asynchronously."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = rg.ioring_register_eventfd_async(&ring.ring, fd)
    return _reg_end(ring, ret)


def io_uring_unregister_eventfd(io_uring ring not None):
    """io_uring_unregister_eventfd(3)."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = rg.ioring_unregister_eventfd(&ring.ring)
    return _reg_end(ring, ret)


def io_uring_get_probe_ring(io_uring ring not None):
    """io_uring_get_probe_ring(3): which opcodes this ring's kernel supports."""
    cdef io_uring_probe probe = io_uring_probe()
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = rg.ioring_register_probe(&ring.ring, probe.probe, rg.IORING_PROBE_OPS)
    _reg_end(ring, ret)
    return probe


def io_uring_register_probe(io_uring ring not None, io_uring_probe probe not None, unsigned nr):
    """io_uring_register_probe(3): fill ``probe`` (a fresh, zeroed io_uring_probe: the kernel
    refuses one already filled, EINVAL) with up to ``nr`` opcodes. Returns 0."""
    cdef int ret
    if nr > <unsigned>rg.IORING_PROBE_OPS:
        raise ValueError(f"nr={nr}: an io_uring_probe holds {rg.IORING_PROBE_OPS} ops")
    _reg_begin(ring)
    with nogil:
        ret = rg.ioring_register_probe(&ring.ring, probe.probe, nr)
    return _reg_end(ring, ret)


def io_uring_get_probe():
    """io_uring_get_probe(3): as io_uring_get_probe_ring, on a temporary ring."""
    cdef io_uring ring = io_uring()
    io_uring_queue_init(2, ring, 0)
    try:
        return io_uring_get_probe_ring(ring)
    finally:
        io_uring_queue_exit(ring)


def io_uring_free_probe(io_uring_probe probe not None):
    """io_uring_free_probe(3): a no-op; the probe is freed with the Python object."""
    return None


def io_uring_opcode_supported(io_uring_probe probe not None, int op):
    """io_uring_opcode_supported(3): whether ``op`` (IORING_OP_*) is supported."""
    return bool(rg.ioring_opcode_supported(probe.probe, op))


def io_uring_major_version():
    """io_uring_major_version(3): the liburing API level this module mirrors (2)."""
    return IO_URING_VERSION_MAJOR


def io_uring_minor_version():
    """io_uring_minor_version(3): the liburing API level this module mirrors (15)."""
    return IO_URING_VERSION_MINOR


def io_uring_check_version(int major, int minor):
    """io_uring_check_version(3): False when this mirror is at least major.minor (C's 0)."""
    return not (IO_URING_VERSION_MAJOR > major or
                (IO_URING_VERSION_MAJOR == major and IO_URING_VERSION_MINOR >= minor))
