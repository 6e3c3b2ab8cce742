# io_uring_register_* and the probe: included by liburing.pyx. The GIL is released in the
# syscall (unregistering can wait for the ring to go idle).


cdef int _register_call(io_uring ring, unsigned opcode, const void *arg, unsigned nr) except? -1:
    cdef int ret
    ring._check()
    ring._blocking += 1
    try:
        with nogil:
            ret = c.ioring_register(&ring.ring, opcode, arg, nr)
    finally:
        ring._blocking -= 1
    return _check_ret(ret)


cdef class _IntArray:
    """A C int array copied from a sequence of ints (fds: -1 marks a sparse slot)."""
    cdef int *items
    cdef unsigned count

    def __cinit__(self, object values, object nr, str name):
        cdef list vals = list(values)
        cdef unsigned i
        self.count = _length(len(vals), nr, name)
        self.items = <int *>calloc(self.count if self.count else 1, sizeof(int))
        if self.items == NULL:
            raise MemoryError()
        for i in range(self.count):
            self.items[i] = vals[i]

    def __dealloc__(self):
        free(self.items)


def io_uring_register_buffers(io_uring ring not None, iovecs, nr_iovecs=None):
    """io_uring_register_buffers(3): register writable buffers for READ_FIXED/WRITE_FIXED.
    They stay pinned (a bytearray cannot be resized) until io_uring_unregister_buffers."""
    cdef _Iovecs v = _Iovecs(iovecs, nr_iovecs, True)
    cdef unsigned i
    _register_call(ring, _c_IORING_REGISTER_BUFFERS, v.vecs, <unsigned>v.count)
    ring._registered_buffers = [v]
    ring._registered_ranges = [(<size_t>v.vecs[i].iov_base, v.vecs[i].iov_len) for i in range(v.count)]
    return 0


def io_uring_unregister_buffers(io_uring ring not None):
    """io_uring_unregister_buffers(3). Requests in flight keep their own pins."""
    _register_call(ring, _c_IORING_UNREGISTER_BUFFERS, NULL, 0)
    ring._registered_buffers = None
    ring._registered_ranges = None
    return 0


def io_uring_register_files(io_uring ring not None, files, nr_files=None):
    """io_uring_register_files(3): ``files`` is a sequence of fds (-1 for an empty slot)."""
    cdef _IntArray fds = _IntArray(files, nr_files, "nr_files")
    return _register_call(ring, _c_IORING_REGISTER_FILES, fds.items, fds.count)


def io_uring_unregister_files(io_uring ring not None):
    """io_uring_unregister_files(3)."""
    return _register_call(ring, _c_IORING_UNREGISTER_FILES, NULL, 0)


def io_uring_register_files_update(io_uring ring not None, unsigned off, files, nr_files=None):
    """io_uring_register_files_update(3): replace slots from ``off``; returns how many were
    updated (-1 empties a slot, IORING_REGISTER_FILES_SKIP keeps it)."""
    cdef _IntArray fds = _IntArray(files, nr_files, "nr_files")
    cdef int ret
    ring._check()
    ring._blocking += 1
    try:
        with nogil:
            ret = c.ioring_register_files_update(&ring.ring, off, fds.items, fds.count)
    finally:
        ring._blocking -= 1
    return _check_ret(ret)


def io_uring_register_eventfd(io_uring ring not None, int fd):
    """io_uring_register_eventfd(3): the eventfd is signalled on every completion."""
    cdef int efd = fd
    return _register_call(ring, _c_IORING_REGISTER_EVENTFD, &efd, 1)


def io_uring_register_eventfd_async(io_uring ring not None, int fd):
    """io_uring_register_eventfd_async(3): signalled only for completions posted asynchronously."""
    cdef int efd = fd
    return _register_call(ring, _c_IORING_REGISTER_EVENTFD_ASYNC, &efd, 1)


def io_uring_unregister_eventfd(io_uring ring not None):
    """io_uring_unregister_eventfd(3)."""
    return _register_call(ring, _c_IORING_UNREGISTER_EVENTFD, NULL, 0)


def io_uring_get_probe_ring(io_uring ring not None):
    """io_uring_get_probe_ring(3): which opcodes this ring's kernel supports."""
    cdef io_uring_probe probe = io_uring_probe()
    _register_call(ring, _c_IORING_REGISTER_PROBE, probe.probe, c.IORING_PROBE_OPS)
    return probe


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
    return bool(c.ioring_opcode_supported(probe.probe, op))


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
