# Registered wait regions: io_uring_register_wait_reg / io_uring_submit_and_wait_reg.
# Included by liburing.pyx.
from posix.mman cimport mmap as c_mmap, PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS, MAP_FAILED

from ioring.includes cimport wait_reg as wr


cdef wr.c_reg_wait _EMPTY_SLOT


@cython.final
cdef class io_uring_reg_wait:
    """One slot of a wait region (struct io_uring_reg_wait): a view into the region's memory."""

    def __cinit__(self):
        self.slot = &_EMPTY_SLOT     # until a region hands out a real one

    @property
    def ts(self):
        return kernel_timespec(self.slot.ts.tv_sec, self.slot.ts.tv_nsec)

    @ts.setter
    def ts(self, kernel_timespec value not None):
        self.slot.ts = value.ts

    @property
    def min_wait_usec(self): return self.slot.min_wait_usec
    @min_wait_usec.setter
    def min_wait_usec(self, uint32_t v): self.slot.min_wait_usec = v

    @property
    def flags(self): return self.slot.flags
    @flags.setter
    def flags(self, uint32_t v): self.slot.flags = v


@cython.final
cdef class io_uring_reg_wait_region:
    """``nentries`` struct io_uring_reg_wait slots in page-aligned memory owned by this object
    (C's ``struct io_uring_reg_wait *reg``). Index it to fill a slot."""

    def __cinit__(self, unsigned nentries):
        if nentries == 0 or nentries > 4096:
            raise ValueError(f"nentries must be in 1..4096, not {nentries}")
        self.size = ((nentries * sizeof(wr.c_reg_wait)) + 4095) & ~(<size_t>4095)
        cdef void *mem = c_mmap(NULL, self.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        if mem == MAP_FAILED:
            raise MemoryError()
        self.slots = <wr.c_reg_wait *>mem
        self.nentries = nentries

    def __dealloc__(self):
        if self.slots != NULL:
            munmap(self.slots, self.size)

    def __len__(self):
        return self.nentries

    def __getitem__(self, Py_ssize_t i):
        if i < 0 or i >= self.nentries:
            raise IndexError(f"wait region slot {i} out of range 0..{self.nentries - 1}")
        cdef io_uring_reg_wait view = io_uring_reg_wait.__new__(io_uring_reg_wait)
        view.region = self
        view.slot = &self.slots[i]
        return view


def io_uring_register_wait_reg(io_uring ring not None, io_uring_reg_wait_region reg not None, nr=None):
    """io_uring_register_wait_reg(3): register ``nr`` slots of ``reg`` as the ring's wait region
    (kernel 6.13; the ring must have been created with IORING_SETUP_R_DISABLED and not yet
    enabled). The region stays pinned until io_uring_queue_exit."""
    cdef unsigned n = _length(reg.nentries, nr, "nr")
    _reg_begin(ring)
    _reg_end(ring, wr.ioring_register_wait_reg(&ring.ring, reg.slots, <int>n))
    ring._provided.append(reg)
    return 0


def io_uring_submit_and_wait_reg(io_uring ring not None, unsigned wait_nr, int reg_index):
    """io_uring_submit_and_wait_reg(3): submit and wait with the arguments of wait-region slot
    ``reg_index``. Returns (submitted, cqe); cqe is None when the slot's timeout expired."""
    cdef c.io_uring_cqe *cqe = NULL
    cdef int ret
    ring._check()
    _track(ring)
    cdef unsigned before = c.ioring_sq_ready(&ring.ring)
    ring._blocking += 1
    try:
        while True:
            ret = wr.ioring_submit_and_wait_reg(&ring.ring, &cqe, wait_nr, reg_index)
            if ret != -EINTR:
                break
            PyErr_CheckSignals()
    finally:
        ring._blocking -= 1
    submitted = before if ring.ring.flags & _c_IORING_SETUP_SQPOLL else before - c.ioring_sq_ready(&ring.ring)
    if ret == -ETIME or (ret == -EAGAIN and cqe == NULL):
        return (submitted, None)
    _check_ret(ret)
    return (submitted, None if cqe == NULL else _copy_cqe(ring, cqe, ring.ring.cq.khead[0]))
