# Iterating over the ready completions without consuming them: io_uring_peek_batch_cqe,
# io_uring_for_each_cqe, the io_uring_cqe_iter of liburing 2.15, io_uring_cqe_nr (the CQ slots
# one CQE takes). Included by liburing.pyx.


def io_uring_peek_batch_cqe(io_uring ring not None, unsigned count):
    """io_uring_peek_batch_cqe(3): up to ``count`` ready completions, as a list (not advanced)."""
    cdef unsigned ready, i, head
    cdef list out = []
    cdef c.io_uring_cqe *dummy
    cdef c.io_uring_cqe *cqe
    _ready(ring)
    if count == 0:
        return out
    ready = c.ioring_cq_ready(&ring.ring)
    if ready == 0 and c.ioring_cq_needs_flush(&ring.ring):
        c.ioring_peek_batch_cqe(&ring.ring, &dummy, 1)
        ready = c.ioring_cq_ready(&ring.ring)
    head = ring.ring.cq.khead[0]
    i = 0
    while i < ready and <unsigned>len(out) < count:
        cqe = c.ioring_cqe_at(&ring.ring, head + i)
        out.append(_copy_cqe(ring, cqe, head + i))
        i += c.ioring_cqe_nr(cqe)
    return out


@cython.final
@cython.freelist(8)
cdef class _CqeIterator:
    # attributes: liburing.pxd. Its copies come from _copy_cqe, which refills one
    # nobody holds any more (in ``for cqe in ...`` the loop variable holds the last one only).

    def __cinit__(self):
        self.ring = _NO_RING

    def __iter__(self):
        return self

    def __next__(self):
        cdef io_uring_cqe out
        _ready(self.ring)
        if self.head == c.ioring_cq_tail(&self.ring.ring):
            raise StopIteration
        cdef c.io_uring_cqe *cqe = c.ioring_cqe_at(&self.ring.ring, self.head)
        out = _copy_cqe(self.ring, cqe, self.head)
        self.head += c.ioring_cqe_nr(cqe)    # 2 slots for a 32-byte CQE of a CQE_MIXED ring
        return out


def io_uring_for_each_cqe(io_uring ring not None):
    """io_uring_for_each_cqe(3): iterate over the ready completions without consuming them;
    follow with io_uring_cq_advance(ring, count) (count in CQ slots: io_uring_cqe_nr(cqe) per
    CQE on IORING_SETUP_CQE_MIXED rings, where IORING_CQE_F_SKIP entries are padding)."""
    return _for_each_cqe(ring)


cdef _CqeIterator _for_each_cqe(io_uring ring):
    cdef _CqeIterator it
    _ready(ring)
    if ring._spare_iter is not None:               # parked (see ioring_park)
        it = <_CqeIterator>ring._spare_iter
        ring._spare_iter = None
    else:
        it = _CqeIterator.__new__(_CqeIterator)
    it.ring = ring
    it.head = ring.ring.cq.khead[0]
    return it


def io_uring_cqe_nr(io_uring_cqe cqe not None):
    """io_uring_cqe_nr(3): CQ slots the CQE occupies (2 for a 32-byte CQE of a CQE_MIXED ring)."""
    return 2 if cqe.flags & _c_IORING_CQE_F_32 else 1


@cython.final
cdef class io_uring_cqe_iter:
    """struct io_uring_cqe_iter: a snapshot of the ready CQEs (liburing 2.15)."""
    # (attributes in liburing.pxd)

    def __cinit__(self):
        self.ring = _NO_RING


def io_uring_cqe_iter_init(io_uring ring not None):
    """io_uring_cqe_iter_init(3): iterate over the CQEs ready now (not advanced)."""
    ring._check()
    cdef io_uring_cqe_iter it = io_uring_cqe_iter.__new__(io_uring_cqe_iter)
    it.ring = ring
    it.head = ring.ring.cq.khead[0]
    it.tail = c.ioring_cq_tail(&ring.ring)
    return it


def io_uring_cqe_iter_next(io_uring_cqe_iter it not None):
    """io_uring_cqe_iter_next(3): the next CQE of the snapshot, or None (C's false)."""
    cdef c.io_uring_cqe *cqe
    it.ring._check()
    if it.head == it.tail:
        return None
    cqe = c.ioring_cqe_at(&it.ring.ring, it.head)
    out = _copy_cqe(it.ring, cqe, it.head)
    it.head += c.ioring_cqe_nr(cqe)
    return out
