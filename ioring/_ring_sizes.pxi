# A ring's memory: mapping a ring made with io_uring_setup (io_uring_queue_mmap), rings in the
# caller's memory (io_uring_queue_init_mem), and how much memory a ring takes
# (io_uring_memory_size*, io_uring_mlock_size*). Included by liburing.pyx.


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
    ring._incarnation = _new_incarnation()
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
