# Provided buffers: buffer rings (io_uring_setup_buf_ring and friends) and the legacy
# PROVIDE_BUFFERS/REMOVE_BUFFERS ops. Included by liburing.pyx.
#
# Every buffer handed to the kernel stays pinned for as long as the buffer ring is registered
# (the kernel may pick it at any time), deduplicated by (address, length) so that re-adding
# the same region after each completion does not grow anything.
from cpython.memoryview cimport PyMemoryView_FromObject
from posix.mman cimport munmap


@cython.final
cdef class io_uring_buf_ring:
    """struct io_uring_buf_ring: a ring of provided buffers for buffer group ``bgid``."""

    def __cinit__(self):
        self._pins = {}
        self._by_bid = {}
        self._generation = _fork_generation

    cdef void _detach(self):
        """The ring is gone or the group unregistered: the kernel no longer picks from it."""
        if self.mapped and self.br != NULL:
            munmap(self.br, self.nentries * sizeof(c.io_uring_buf))
        self.br = NULL
        self.mapped = False
        self._pins = {}
        self._by_bid = {}
        self.memory = None

    def __dealloc__(self):
        # Only unregistered rings are freed: a registered one is referenced by its io_uring.
        if self.mapped and self.br != NULL:
            munmap(self.br, self.nentries * sizeof(c.io_uring_buf))

    @property
    def bgid(self):
        return self.bgid

    @property
    def nentries(self):
        return self.nentries

    @property
    def tail(self):
        return self.br.tail if self.br != NULL else None

    def buffer(self, unsigned bid, nbytes=None):
        """The buffer last added under ``bid``, as a zero-copy memoryview (of ``nbytes``, e.g.
        cqe.res, or all of it): where the kernel put the data of a CQE with IORING_CQE_F_BUFFER
        and ``cqe.flags >> IORING_CQE_BUFFER_SHIFT == bid``."""
        entry = self._by_bid.get(bid)
        if entry is None:
            raise KeyError(f"no buffer was added under bid {bid}")
        b, length = entry
        view = PyMemoryView_FromObject((<_Buffer>b).view.obj).cast("B")
        if nbytes is None:
            nbytes = length
        if nbytes < 0 or nbytes > length:
            raise ValueError(f"nbytes={nbytes} is outside the {length}-byte buffer")
        return view[:nbytes]

    def __repr__(self):
        return f"io_uring_buf_ring(bgid={self.bgid}, nentries={self.nentries})"


cdef c.io_uring_buf_ring *_br(io_uring_buf_ring br) except NULL:
    if br.br == NULL:
        raise ValueError("the buffer ring was freed or its io_uring closed")
    if br._generation != _fork_generation:
        raise RuntimeError("this buffer ring belongs to the parent process: it cannot be used "
                           "after fork()")
    return br.br


cdef int _check_entries(unsigned nentries) except -1:
    if nentries == 0 or nentries > 32768 or (nentries & (nentries - 1)):
        raise ValueError(f"nentries must be a power of two in 1..32768, not {nentries}")
    return 0


@cython.final
cdef class io_uring_buf_reg:
    """struct io_uring_buf_reg. Over user memory: ``ring_addr`` is a writable, page-aligned
    buffer of at least ring_entries * 16 bytes (e.g. an mmap), and ``.br`` is the ring in it.
    With IOU_PBUF_RING_MMAP in ``flags``, ``ring_addr`` is None (C's 0): the kernel allocates
    the ring, and io_uring_register_buf_ring maps it (C mmaps the ring fd at
    IORING_OFF_PBUF_RING | bgid << IORING_OFF_PBUF_SHIFT); ``.br`` is then that mapping."""

    def __init__(self, ring_addr, unsigned ring_entries, unsigned bgid, unsigned flags=0):
        cdef _Buffer mem
        _check_entries(ring_entries)
        if bgid > 0xFFFF:
            raise ValueError(f"bgid is 16 bits, not {bgid}")
        if flags > 0xFFFF:
            raise ValueError(f"flags are 16 bits, not {flags:#x}")
        memset(&self.reg, 0, sizeof(self.reg))
        self.reg.ring_entries = ring_entries
        self.reg.bgid = <uint16_t>bgid
        self.reg.flags = <uint16_t>flags
        if flags & <unsigned>_c_IOU_PBUF_RING_MMAP:
            if ring_addr is not None and ring_addr != 0:
                raise ValueError("with IOU_PBUF_RING_MMAP the kernel allocates the ring: ring_addr "
                                 "must be None (C's 0)")
            return
        if ring_addr is None:
            raise ValueError("ring_addr None (NULL) is for IOU_PBUF_RING_MMAP, where the kernel "
                             "allocates the ring; otherwise give writable page-aligned memory")
        mem = _Buffer(ring_addr, True)
        if mem.nbytes < <Py_ssize_t>(ring_entries * sizeof(c.io_uring_buf)):
            raise ValueError(f"ring_addr holds {mem.nbytes} bytes; {ring_entries} entries need "
                             f"{ring_entries * sizeof(c.io_uring_buf)}")
        if (<size_t>mem.ptr) % 4096:
            raise ValueError("ring_addr must be page-aligned (use an mmap)")
        self.reg.ring_addr = <size_t>mem.ptr
        self._ring_view = io_uring_buf_ring.__new__(io_uring_buf_ring)
        self._ring_view.br = <c.io_uring_buf_ring *>mem.ptr
        self._ring_view.nentries = ring_entries
        self._ring_view.bgid = bgid
        self._ring_view.memory = mem

    @property
    def br(self):
        """The io_uring_buf_ring: in ring_addr's memory, or (IOU_PBUF_RING_MMAP) the kernel's
        ring as io_uring_register_buf_ring mapped it (None until then)."""
        return self._ring_view

    @property
    def ring_entries(self): return self.reg.ring_entries
    @property
    def bgid(self): return self.reg.bgid
    @property
    def flags(self): return self.reg.flags


cdef io_uring_buf_ring _mapped_buf_ring(c.io_uring_buf_ring *ptr, unsigned nentries, int bgid):
    """A ring this module mapped (unmapped when it is retired or freed)."""
    cdef io_uring_buf_ring br = io_uring_buf_ring.__new__(io_uring_buf_ring)
    br.br = ptr
    br.nentries = nentries
    br.bgid = bgid
    br.mapped = True
    return br


def io_uring_register_buf_ring(io_uring ring not None, io_uring_buf_reg reg not None, unsigned flags=0):
    """io_uring_register_buf_ring(3): register buffer group reg.bgid. Over user memory, the
    ring there and every buffer added to it stay pinned while registered. With
    IOU_PBUF_RING_MMAP (in reg.flags or ``flags``) the kernel allocates the ring and this maps
    it (kernel 6.4): reg.br is that mapping, unmapped at io_uring_unregister_buf_ring."""
    cdef int err = 0
    cdef c.io_uring_buf_ring *ptr
    ring._check()
    if flags > 0xFFFF:
        raise ValueError(f"flags are 16 bits, not {flags:#x}")
    cdef bint kernel_ring = (reg.reg.flags | flags) & <unsigned>_c_IOU_PBUF_RING_MMAP
    if kernel_ring and reg.reg.ring_addr:
        raise ValueError("with IOU_PBUF_RING_MMAP the kernel allocates the ring: make the "
                         "io_uring_buf_reg with ring_addr None")
    if not kernel_ring and not reg.reg.ring_addr:
        raise ValueError("this io_uring_buf_reg has no memory (ring_addr None): register it with "
                         "IOU_PBUF_RING_MMAP")
    _reg_begin(ring)
    _reg_end(ring, c.ioring_register_buf_ring(&ring.ring, &reg.reg, flags))
    if kernel_ring:
        ptr = c.ioring_mmap_buf_ring(&ring.ring, reg.reg.ring_entries, reg.reg.bgid, &err)
        if ptr == NULL:
            c.ioring_unregister_buf_ring(&ring.ring, reg.reg.bgid)
            _raise_errno(-err)
        reg._ring_view = _mapped_buf_ring(ptr, reg.reg.ring_entries, reg.reg.bgid)
    ring._buf_rings[reg.reg.bgid] = reg._ring_view
    return 0


def io_uring_unregister_buf_ring(io_uring ring not None, int bgid):
    """io_uring_unregister_buf_ring(3). The ring is unmapped if this module mapped it; its
    buffers stay pinned until io_uring_queue_exit (a request in flight may hold one)."""
    cdef io_uring_buf_ring br
    _reg_begin(ring)
    _reg_end(ring, c.ioring_unregister_buf_ring(&ring.ring, bgid))
    br = ring._buf_rings.pop(bgid, None)
    if br is not None:
        _retire_buf_ring(ring, br)
    return 0


cdef _retire_buf_ring(io_uring ring, io_uring_buf_ring br):
    # A request in flight may have selected one of its buffers: they stay pinned with the
    # ring until io_uring_queue_exit.
    ring._provided.append(list(br._pins.values()))
    br._detach()


def io_uring_setup_buf_ring(io_uring ring not None, unsigned nentries, int bgid, unsigned flags=0):
    """io_uring_setup_buf_ring(3): allocate (page-aligned) and register a buffer ring for
    group ``bgid``; returns it (C's ``ret`` out-parameter becomes an OSError). With
    IOU_PBUF_RING_MMAP in ``flags`` the kernel allocates the ring, mapped from the ring fd."""
    cdef int err = 0
    cdef c.io_uring_buf_ring *ptr
    cdef io_uring_buf_ring br
    ring._check()
    _check_entries(nentries)
    if bgid < 0 or bgid > 0xFFFF:
        raise ValueError(f"bgid is 16 bits, not {bgid}")
    ptr = c.ioring_setup_buf_ring(&ring.ring, nentries, bgid, flags, &err)
    if ptr == NULL:
        _raise_errno(-err)
    br = _mapped_buf_ring(ptr, nentries, bgid)
    ring._buf_rings[bgid] = br
    return br


def io_uring_free_buf_ring(io_uring ring not None, io_uring_buf_ring br not None, unsigned nentries, int bgid):
    """io_uring_free_buf_ring(3): unregister and unmap a ring from io_uring_setup_buf_ring."""
    ring._check()
    _br(br)
    if ring._buf_rings.get(bgid) is not br or nentries != br.nentries:
        raise ValueError("the buffer ring was not set up on this ring with this nentries/bgid")
    _reg_begin(ring)
    _reg_end(ring, c.ioring_unregister_buf_ring(&ring.ring, bgid))
    del ring._buf_rings[bgid]
    _retire_buf_ring(ring, br)
    return 0


def io_uring_buf_ring_init(io_uring_buf_ring br not None):
    """io_uring_buf_ring_init(3): reset the tail."""
    c.ioring_buf_ring_init(_br(br))


def io_uring_buf_ring_mask(unsigned ring_entries):
    """io_uring_buf_ring_mask(3): the index mask of a ring of ``ring_entries``."""
    return c.ioring_buf_ring_mask(ring_entries)


def io_uring_buf_ring_add(io_uring_buf_ring br not None, buf, unsigned len, unsigned short bid,
                          int mask, int buf_offset):
    """io_uring_buf_ring_add(3): stage the writable ``buf`` (``len`` bytes used) under ``bid``
    at tail + ``buf_offset``; visible to the kernel after io_uring_buf_ring_advance."""
    cdef c.io_uring_buf_ring *ring = _br(br)
    cdef _Buffer b = _buffer_for(buf, len, True)
    if mask != <int>(br.nentries - 1):
        raise ValueError(f"mask must be io_uring_buf_ring_mask({br.nentries}) = {br.nentries - 1}")
    key = (<size_t>b.ptr, len)
    if key not in br._pins:
        br._pins[key] = b
    br._by_bid[bid] = (br._pins[key], len)
    c.ioring_buf_ring_add(ring, b.ptr, len, bid, mask, buf_offset)


def io_uring_buf_ring_advance(io_uring_buf_ring br not None, int count):
    """io_uring_buf_ring_advance(3): publish ``count`` staged buffers to the kernel."""
    c.ioring_buf_ring_advance(_br(br), count)


def __io_uring_buf_ring_cq_advance(io_uring ring not None, io_uring_buf_ring br not None,
                                   int cq_count, int buf_count):
    """__io_uring_buf_ring_cq_advance(3): publish ``buf_count`` buffers and consume
    ``cq_count`` CQEs in one step."""
    _br(br)
    if cq_count < 0 or <unsigned>cq_count > c.ioring_cq_ready(&ring.ring):
        raise ValueError(f"cannot advance the CQ by {cq_count}")
    c.ioring_buf_ring_advance(br.br, buf_count)
    _retire(ring, cq_count)


def io_uring_buf_ring_cq_advance(io_uring ring not None, io_uring_buf_ring br not None, int count):
    """io_uring_buf_ring_cq_advance(3): publish ``count`` buffers and consume ``count`` CQEs."""
    __io_uring_buf_ring_cq_advance(ring, br, count, count)


def io_uring_buf_ring_head(io_uring ring not None, int buf_group):
    """io_uring_buf_ring_head(3): the kernel's head for ``buf_group`` (kernel 6.8)."""
    cdef uint16_t head = 0
    ring._check()
    _check_ret(c.ioring_buf_ring_head(&ring.ring, buf_group, &head))
    return head


def io_uring_buf_ring_available(io_uring ring not None, io_uring_buf_ring br not None, unsigned short bgid):
    """io_uring_buf_ring_available(3): buffers published but not yet consumed by the kernel."""
    cdef uint16_t head = 0
    ring._check()
    _check_ret(c.ioring_buf_ring_head(&ring.ring, bgid, &head))
    return <uint16_t>(_br(br).tail - head)


def io_uring_prep_provide_buffers(io_uring_sqe sqe not None, addr, int len, int nr, int bgid, int bid):
    """io_uring_prep_provide_buffers(3): give ``nr`` buffers of ``len`` bytes, carved from the
    writable ``addr``, to group ``bgid`` (ids from ``bid``). The kernel keeps them until it
    uses them, so they stay pinned until io_uring_queue_exit."""
    if len < 0 or nr < 0:
        raise ValueError("len and nr must be >= 0")
    cdef _Buffer b = _buffer_for(addr, <long long>len * nr, True)
    c.ioring_prep_provide_buffers(sqe._begin(), b.ptr, len, nr, bgid, bid)
    if sqe._own == NULL:
        sqe.ring._provided.append(b)
    sqe._pin(b)


def io_uring_prep_remove_buffers(io_uring_sqe sqe not None, int nr, int bgid):
    """io_uring_prep_remove_buffers(3): take back up to ``nr`` buffers of group ``bgid``."""
    c.ioring_prep_remove_buffers(sqe._begin(), nr, bgid)


def io_uring_sqe_set_buf_group(io_uring_sqe sqe not None, int bgid):
    """io_uring_sqe_set_buf_group(3): the buffer group an IOSQE_BUFFER_SELECT request picks from."""
    if bgid < 0 or bgid > 0xFFFF:
        raise ValueError(f"bgid is 16 bits, not {bgid}")
    _assign_field(sqe, "buf_group", 40, 2, bgid)
