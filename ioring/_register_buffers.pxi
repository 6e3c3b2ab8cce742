# Registered buffers (io_uring_register_buffers and its tagged, sparse, updated and cloned
# variants) and _RegisteredBuffers, the table that records them. Included by liburing.pyx.
#
# Every function here that changes the kernel's buffer table changes ring._reg_buffers the same
# way, after the kernel said yes. READ_FIXED/WRITE_FIXED are checked against it (_check_fixed,
# the door's door_registered*). A fixed request in flight pins its own memory (its SQE's pins),
# so replacing or unregistering a slot never frees memory the kernel may still be using.


@cython.final
cdef class _RegisteredBuffers:
    """A ring's registered buffer table: per slot, the (address, length) the kernel was given
    (in C, for the checks of every fixed prep) and the _Buffer pinning that memory. ``count``
    is -1 while no table is registered; an empty (sparse) slot has ``filled`` 0 and pin None."""

    def __cinit__(self):
        self.slots = NULL
        self.count = -1
        self.pins = None

    def __dealloc__(self):
        free(self.slots)
        self.slots = NULL

    cdef void clear(self):
        """No table is registered."""
        free(self.slots)
        self.slots = NULL
        self.count = -1
        self.pins = None

    cdef int _grow(self, Py_ssize_t n) except -1:
        """The table has at least ``n`` slots (new ones empty); registered from now on."""
        cdef _reg_slot *slots
        if self.count < 0:
            self.count = 0
            self.pins = []
        if n <= self.count:
            return 0
        slots = <_reg_slot *>realloc(self.slots, <size_t>n * sizeof(_reg_slot) if n else 1)
        if slots == NULL:
            raise MemoryError()
        memset(slots + self.count, 0, <size_t>(n - self.count) * sizeof(_reg_slot))
        self.slots = slots
        self.pins.extend([None] * (n - self.count))
        self.count = n
        return 0

    cdef int set_slots(self, unsigned off, list pins, unsigned count) except -1:
        """Slots off .. off+count-1 now hold pins[:count] (a _Buffer, or None: empty)."""
        cdef unsigned i
        cdef _Buffer b
        self._grow(<Py_ssize_t>off + count)
        for i in range(count):
            if pins[i] is None:
                self.slots[off + i].filled = 0
                self.slots[off + i].addr = 0
                self.slots[off + i].length = 0
                self.pins[off + i] = None
            else:
                b = <_Buffer>pins[i]
                self.slots[off + i].filled = 1
                self.slots[off + i].addr = <size_t>b.ptr
                self.slots[off + i].length = <size_t>b.nbytes
                self.pins[off + i] = b
        return 0

    cdef int clone_from(self, _RegisteredBuffers src, unsigned dst_off, unsigned src_off,
                        unsigned nr) except -1:
        """This table after a successful clone from ``src``: its slots before dst_off, src's
        slots src_off..src_off+nr (nr 0: all) at dst_off, and (conservatively: kernels differ)
        its slots after. Both tables then pin the cloned memory."""
        cdef Py_ssize_t src_len = src.count if src.count > 0 else 0
        cdef Py_ssize_t n = nr if nr else src_len
        cdef Py_ssize_t i, j
        cdef list pins = [None] * n
        for j in range(n):
            i = <Py_ssize_t>src_off + j
            if i < src_len and src.slots[i].filled:
                pins[j] = src.pins[i]
        self.set_slots(dst_off, pins, <unsigned>n)
        return 0

    cdef int get(self, long long index, size_t *addr, size_t *length) except -1:
        """The address and length of slot ``index``: ValueError when it holds no buffer."""
        if self.count < 0:
            raise ValueError("no buffers are registered with this ring (io_uring_register_buffers)")
        if index < 0 or index >= self.count:
            raise ValueError(f"buf_index {index} is out of range: {self.count} buffers are registered")
        if not self.slots[index].filled:
            raise ValueError(f"registered buffer slot {index} is empty (sparse)")
        addr[0] = self.slots[index].addr
        length[0] = self.slots[index].length
        return 0

    cdef int check(self, const char *ptr, size_t nbytes, int index) except -1:
        """[ptr, ptr + nbytes) must lie inside registered buffer ``index``: ValueError otherwise."""
        cdef size_t start, length
        self.get(index, &start, &length)
        if <size_t>ptr < start or <size_t>ptr + nbytes > start + length:
            raise ValueError(f"the buffer is not inside registered buffer {index}")
        return 0

    cdef int find(self, size_t start, size_t end) noexcept:
        """The first slot whose buffer holds [start, end), or -1."""
        cdef Py_ssize_t i
        for i in range(self.count):
            if (self.slots[i].filled and self.slots[i].addr <= start
                    and end <= self.slots[i].addr + self.slots[i].length):
                return <int>i
        return -1


def io_uring_register_buffers(io_uring ring not None, iovecs, nr_iovecs=None):
    """io_uring_register_buffers(3): register writable buffers for READ_FIXED/WRITE_FIXED.
    They stay pinned (a bytearray cannot be resized) until io_uring_unregister_buffers."""
    cdef _Iovecs v = _Iovecs(iovecs, nr_iovecs, True)
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_buffers(&ring.ring, v.vecs, <unsigned>v.count)
    _reg_end(ring, ret)
    ring._reg_buffers.clear()
    ring._reg_buffers.set_slots(0, v.buffers, <unsigned>v.count)
    return 0


def io_uring_unregister_buffers(io_uring ring not None):
    """io_uring_unregister_buffers(3). Requests in flight keep their own pins."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_unregister_buffers(&ring.ring)
    _reg_end(ring, ret)
    ring._reg_buffers.clear()
    return 0


def io_uring_register_buffers_tags(io_uring ring not None, iovecs, tags, nr=None):
    """io_uring_register_buffers_tags(3): register ``iovecs`` (writable buffers; None leaves a
    slot empty) with a tag each (``tags``: ints, 0 = untagged, or None). When a tagged buffer
    is later replaced or unregistered and no longer used, the kernel posts a CQE with
    user_data = tag, res = 0. Buffers stay pinned while registered."""
    cdef _Iovecs v = _Iovecs(iovecs, nr, True, True, "nr")
    cdef _U64Array t = _U64Array(tags, <unsigned>v.count, "tags")
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_buffers_tags(&ring.ring, v.vecs, t.items, <unsigned>v.count)
    ret = _reg_end(ring, ret)
    _expect_tag_cqes(ring, t, <unsigned>v.count)
    ring._reg_buffers.clear()
    ring._reg_buffers.set_slots(0, v.buffers, <unsigned>v.count)
    return ret


def io_uring_register_buffers_sparse(io_uring ring not None, unsigned nr):
    """io_uring_register_buffers_sparse(3): a table of ``nr`` empty buffer slots, to be filled
    with io_uring_register_buffers_update_tag (READ_FIXED on an empty slot is a ValueError)."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_buffers_sparse(&ring.ring, nr)
    ret = _reg_end(ring, ret)
    ring._reg_buffers.clear()
    ring._reg_buffers.set_slots(0, [None] * nr, nr)
    return ret


def io_uring_register_buffers_update_tag(io_uring ring not None, unsigned off, iovecs, tags, nr=None):
    """io_uring_register_buffers_update_tag(3): replace slots ``off``.. with ``iovecs`` (None
    empties a slot) and their ``tags`` (or None); returns how many slots were updated. The
    replaced buffers' tags are posted as CQEs once the kernel is done with them."""
    cdef _Iovecs v = _Iovecs(iovecs, nr, True, True, "nr")
    cdef _U64Array t = _U64Array(tags, <unsigned>v.count, "tags")
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_buffers_update_tag(&ring.ring, off, v.vecs, t.items, <unsigned>v.count)
    ret = _reg_end(ring, ret)
    _expect_tag_cqes(ring, t, <unsigned>v.count)
    ring._reg_buffers.set_slots(off, v.buffers, <unsigned>ret if ret < v.count else <unsigned>v.count)
    return ret


cdef int _clone_begin(io_uring dst, io_uring src) except -1:
    dst._check()
    src._check()
    dst._blocking += 1
    src._blocking += 1
    return 0


def io_uring_clone_buffers(io_uring dst not None, io_uring src not None):
    """io_uring_clone_buffers(3): give ``dst`` (which must have no registered buffers) the
    registered buffers of ``src``; dst keeps them pinned too, whatever src does later."""
    cdef int ret
    _clone_begin(dst, src)
    with nogil:
        ret = c.ioring_clone_buffers(&dst.ring, &src.ring)
    src._blocking -= 1
    ret = _reg_end(dst, ret)
    dst._reg_buffers.clone_from(src._reg_buffers, 0, 0, 0)
    return ret


def io_uring_clone_buffers_offset(io_uring dst not None, io_uring src not None, unsigned dst_off,
                                  unsigned src_off, unsigned nr, unsigned flags=0):
    """io_uring_clone_buffers_offset(3): clone ``nr`` buffers of ``src`` from ``src_off`` into
    ``dst`` at ``dst_off`` (nr 0: all, offsets 0). ``flags``: IORING_REGISTER_DST_REPLACE to
    replace dst's existing slots in that range."""
    cdef int ret
    _clone_begin(dst, src)
    with nogil:
        ret = c.ioring_clone_buffers_offset(&dst.ring, &src.ring, dst_off, src_off, nr, flags)
    src._blocking -= 1
    ret = _reg_end(dst, ret)
    dst._reg_buffers.clone_from(src._reg_buffers, dst_off, src_off, nr)
    return ret
