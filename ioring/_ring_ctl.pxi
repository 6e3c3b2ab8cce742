# Ring control and CQ/SQ state beyond the basics: included by liburing.pyx.


def io_uring_cq_has_overflow(io_uring ring not None):
    """io_uring_cq_has_overflow(3): completions are waiting in the kernel's overflow list."""
    ring._check()
    return c.ioring_cq_has_overflow(&ring.ring)


def io_uring_cq_eventfd_enabled(io_uring ring not None):
    """io_uring_cq_eventfd_enabled(3): whether a registered eventfd is signalled."""
    ring._check()
    return c.ioring_cq_eventfd_enabled(&ring.ring)


def io_uring_cq_eventfd_toggle(io_uring ring not None, bint enabled):
    """io_uring_cq_eventfd_toggle(3): turn eventfd notifications on or off."""
    ring._check()
    return _check_ret(c.ioring_cq_eventfd_toggle(&ring.ring, enabled))


def io_uring_get_events(io_uring ring not None):
    """io_uring_get_events(3): flush deferred and overflowed completions into the CQ."""
    ring._check()
    return _check_ret(c.ioring_get_events(&ring.ring))


def io_uring_submit_and_get_events(io_uring ring not None):
    """io_uring_submit_and_get_events(3): submit and flush completions, without waiting."""
    ring._check()
    ring._track()
    return _check_ret(c.ioring_submit_and_get_events(&ring.ring))


def io_uring_load_sq_head(io_uring ring not None):
    """io_uring_load_sq_head(3): the kernel's SQ head (acquire load)."""
    ring._check()
    return c.ioring_load_sq_head(&ring.ring)


def io_uring_sqring_wait(io_uring ring not None):
    """io_uring_sqring_wait(3): SQPOLL rings: wait until the SQ has room (EINVAL otherwise)."""
    cdef int ret
    ring._check()
    ring._blocking += 1
    try:
        while True:
            ret = c.ioring_sqring_wait(&ring.ring)
            if ret != -EINTR:
                return _check_ret(ret)
            PyErr_CheckSignals()
    finally:
        ring._blocking -= 1


def io_uring_set_iowait(io_uring ring not None, bint enable_iowait):
    """io_uring_set_iowait(3): whether waiting on this ring counts as iowait (kernel 6.15)."""
    ring._check()
    return _check_ret(c.ioring_set_iowait(&ring.ring, enable_iowait))


def io_uring_ring_dontfork(io_uring ring not None):
    """io_uring_ring_dontfork(3): do not map the rings into fork() children."""
    ring._check()
    return _check_ret(c.ioring_ring_dontfork(&ring.ring))


def io_uring_register_ring_fd(io_uring ring not None):
    """io_uring_register_ring_fd(3): enter through a registered index; returns 1."""
    ring._check()
    return _check_ret(c.ioring_register_ring_fd(&ring.ring))


def io_uring_unregister_ring_fd(io_uring ring not None):
    """io_uring_unregister_ring_fd(3); returns 1."""
    ring._check()
    return _check_ret(c.ioring_unregister_ring_fd(&ring.ring))


def io_uring_close_ring_fd(io_uring ring not None):
    """io_uring_close_ring_fd(3): close the ring fd once it is registered (the ring keeps
    working through the registered index); returns 1."""
    ring._check()
    # The ring stays known by its file's identity (a dup of the fd still reaches it).
    return _check_ret(c.ioring_close_ring_fd(&ring.ring))


def io_uring_resize_rings(io_uring ring not None, io_uring_params p not None):
    """io_uring_resize_rings(3): resize the SQ/CQ (kernel 6.13, DEFER_TASKRUN rings).
    Prepared SQEs are published first so the kernel carries them over."""
    cdef unsigned n
    ring._check()
    if ring._blocking:
        raise RuntimeError("io_uring_resize_rings: another thread is waiting on this ring")
    ring._track()
    c.ioring_flush_sq(&ring.ring)
    _check_ret(c.ioring_resize_rings(&ring.ring, &p.p))
    n = ring.ring.sq.ring_entries
    ring._size_slots(n)             # every SQE was tracked above: no slot pins are left
    return 0


cdef int _wait_min(io_uring ring, c.io_uring_cqe **cqe, unsigned submit, unsigned wait_nr,
                   kernel_timespec ts, unsigned min_wait_usec, _Sigmask m) except? -1:
    cdef int ret
    cdef bint submitting = submit != 0
    ring._check()
    ring._blocking += 1
    try:
        while True:
            ret = c.ioring_wait_cqes_ext(&ring.ring, cqe, submit, wait_nr, _timespec_ptr(ts),
                                         min_wait_usec, <sigset_t *>_sigmask_ptr(m))
            if ret != -EINTR:
                return ret
            PyErr_CheckSignals()
            if submitting:
                ring._track()
                submit = c.ioring_flush_sq(&ring.ring)
    finally:
        ring._blocking -= 1


def io_uring_wait_cqes_min_timeout(io_uring ring not None, unsigned wait_nr, kernel_timespec ts,
                                   unsigned min_wait_usec, sigmask=None):
    """io_uring_wait_cqes_min_timeout(3): wait for ``wait_nr`` completions, but return after
    ``min_wait_usec`` if at least one arrived (IORING_FEAT_MIN_TIMEOUT); None on timeout."""
    cdef c.io_uring_cqe *cqe = NULL
    cdef _Sigmask m = None if sigmask is None else _Sigmask(sigmask)
    cdef int ret = _wait_min(ring, &cqe, 0, wait_nr, ts, min_wait_usec, m)
    if ret == -ETIME:
        return None
    _check_ret(ret)
    return None if cqe == NULL else ring._copy_cqe(cqe, ring.ring.cq.khead[0])


def io_uring_submit_and_wait_min_timeout(io_uring ring not None, unsigned wait_nr, kernel_timespec ts,
                                         unsigned min_wait, sigmask=None):
    """io_uring_submit_and_wait_min_timeout(3): submit, then wait as
    io_uring_wait_cqes_min_timeout. Returns (submitted, cqe or None)."""
    cdef c.io_uring_cqe *cqe = NULL
    cdef _Sigmask m = None if sigmask is None else _Sigmask(sigmask)
    ring._check()
    ring._track()
    cdef unsigned before = c.ioring_flush_sq(&ring.ring)
    cdef int ret = _wait_min(ring, &cqe, before, wait_nr, ts, min_wait, m)
    submitted = before if ring.ring.flags & _c_IORING_SETUP_SQPOLL else before - c.ioring_sq_ready(&ring.ring)
    if ret == -ETIME or (ret == -EAGAIN and cqe == NULL):
        return (submitted, None)
    _check_ret(ret)
    return (submitted, None if cqe == NULL else ring._copy_cqe(cqe, ring.ring.cq.khead[0]))


def io_uring_cqe_nr(io_uring_cqe cqe not None):
    """io_uring_cqe_nr(3): CQ slots the CQE occupies (2 for a 32-byte CQE of a CQE_MIXED ring)."""
    return 2 if cqe.flags & _c_IORING_CQE_F_32 else 1


def io_uring_cqe_shift(io_uring ring not None):
    """io_uring_cqe_shift(3): log2 of the CQE size in 16-byte units (1 on CQE32 rings)."""
    ring._check()
    return c.ioring_cqe_shift(&ring.ring)


def io_uring_cqe_shift_from_flags(unsigned flags):
    """io_uring_cqe_shift_from_flags(3): as io_uring_cqe_shift, from IORING_SETUP_* flags."""
    return 1 if flags & _c_IORING_SETUP_CQE32 else 0


def io_uring_sqe_shift(io_uring ring not None):
    """io_uring_sqe_shift(3): log2 of the SQE size in 64-byte units (1 on SQE128 rings)."""
    ring._check()
    return c.ioring_sqe_shift(&ring.ring)


def io_uring_sqe_shift_from_flags(unsigned flags):
    """io_uring_sqe_shift_from_flags(3): as io_uring_sqe_shift, from IORING_SETUP_* flags."""
    return 1 if flags & _c_IORING_SETUP_SQE128 else 0


def io_uring_initialize_sqe(io_uring_sqe sqe not None):
    """io_uring_initialize_sqe(3): clear the fields liburing clears when it hands out an SQE
    (flags, ioprio, rw_flags, buf_index, personality, file_index, addr3)."""
    cdef c.io_uring_sqe *s = sqe._ptr()
    cdef c.io_uring_sqe cand = s[0]
    cand.flags = 0
    cand.ioprio = 0
    cand.rw_flags = 0
    cand.buf_index = 0
    cand.personality = 0
    cand.file_index = 0
    cand.addr3 = 0
    _sqe_commit(sqe, s, &cand, None)    # e.g. clearing timeout_flags can make addr a pointer


def io_uring_get_sqe128(io_uring ring not None):
    """io_uring_get_sqe128(3): a 128-byte SQE: any SQE of an IORING_SETUP_SQE128 ring; None on
    other rings (IORING_SETUP_SQE_MIXED is refused by kernels before 6.19, so it never gets
    here) and when the SQ is full."""
    ring._check()
    if not (ring.ring.flags & _c_IORING_SETUP_SQE128):
        return None
    return io_uring_get_sqe(ring)


@cython.final
cdef class io_uring_cqe_iter:
    """struct io_uring_cqe_iter: a snapshot of the ready CQEs (liburing 2.15)."""
    cdef io_uring ring
    cdef unsigned head
    cdef unsigned tail

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
    out = it.ring._copy_cqe(cqe, it.head)
    it.head += c.ioring_cqe_nr(cqe)
    return out


def io_uring_queue_mmap(int fd, io_uring_params p not None, io_uring ring not None):
    """io_uring_queue_mmap(3): map the rings of ``fd`` (from io_uring_setup) into ``ring``,
    which then owns the fd (io_uring_queue_exit closes it)."""
    if ring.initialized:
        raise ValueError("the ring is already initialized; io_uring_queue_exit it first")
    # Two io_uring objects over one kernel ring would share the SQ and CQ with separate pin
    # tables (either could release what the other's requests pinned) and both close it. A ring
    # that cannot be told apart from one of ours (no kcmp, a shared inode) is refused too.
    owners = _rings_of_fd(fd, False)
    if owners:
        raise ValueError(f"fd {fd} is the ring of a live io_uring object ({owners[0]!r}): "
                         "one kernel ring cannot be adopted twice")
    owners = _rings_of_fd(fd, True)
    if owners:
        raise ValueError(f"fd {fd} may be the ring of a live io_uring object ({owners[0]!r}) and "
                         "this kernel cannot tell: one kernel ring cannot be adopted twice")
    _check_ret(c.ioring_queue_mmap(fd, &p.p, &ring.ring))
    _adopt(ring)
    return 0


cdef _adopt(io_uring ring):
    """Python-side state for a freshly set-up ring."""
    ring.initialized = True
    ring._size_slots(ring.ring.sq.ring_entries)
    ring._inflight = {}
    ring._forget_flight()
    ring._has_data = False
    ring._buf_rings = {}
    ring._provided = []
    ring._tracked = ring.ring.sq.sqe_tail
    ring._blocking = 0
    ring._foreign = {}
    ring._generation = _fork_generation
    ring._incarnation += 1
    _register_live_ring(ring)


def io_uring_memory_size_params(unsigned entries, io_uring_params p not None):
    """io_uring_memory_size_params(3): bytes io_uring_queue_init_mem needs for these params."""
    cdef c.io_uring_params q = p.p
    q.flags |= _c_IORING_SETUP_NO_MMAP | _c_IORING_SETUP_NO_SQARRAY
    return _check_ret(<int>c.ioring_memory_size_params(entries, &q, NULL))


def io_uring_memory_size(unsigned entries, unsigned flags):
    """io_uring_memory_size(3): as io_uring_memory_size_params with just setup flags."""
    return io_uring_memory_size_params(entries, io_uring_params(flags=flags))


def io_uring_queue_init_mem(unsigned entries, io_uring ring not None, io_uring_params p not None, buf):
    """io_uring_queue_init_mem(3): set up a ring whose SQEs and rings live in ``buf`` (a writable,
    page-aligned buffer such as an mmap, pinned until io_uring_queue_exit). Returns the bytes
    of ``buf`` used."""
    cdef _Buffer mem = _Buffer(buf, True)
    cdef long ret
    if ring.initialized:
        raise ValueError("the ring is already initialized; io_uring_queue_exit it first")
    ret = c.ioring_queue_init_mem(entries, &ring.ring, &p.p, mem.ptr, <size_t>mem.nbytes)
    if ret < 0:
        if ret == -EINVAL and (<size_t>mem.ptr) % 4096:
            raise ValueError("buf must be page-aligned (use an mmap)")
        _raise_errno(<int>-ret)
    _adopt(ring)
    ring._provided.append(mem)
    return ret


def io_uring_mlock_size_params(unsigned entries, io_uring_params p not None):
    """io_uring_mlock_size_params(3): locked memory the ring would be charged: 0 on kernels
    with IORING_FEAT_NATIVE_WORKERS (5.12+), which do not charge RLIMIT_MEMLOCK."""
    cdef io_uring probe_ring = io_uring()
    cdef long size
    io_uring_queue_init(1, probe_ring, 0)
    try:
        if probe_ring.ring.features & _c_IORING_FEAT_NATIVE_WORKERS:
            return 0
    finally:
        io_uring_queue_exit(probe_ring)
    size = c.ioring_memory_size_params(entries, &p.p, NULL)
    return _check_ret(<int>size)


def io_uring_mlock_size(unsigned entries, unsigned flags):
    """io_uring_mlock_size(3): as io_uring_mlock_size_params with just setup flags."""
    return io_uring_mlock_size_params(entries, io_uring_params(flags=flags))
