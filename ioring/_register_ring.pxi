# Registrations that set up the ring itself: its registered fd, personalities, restrictions
# and enabling, io-wq workers, synchronous cancel and message, NAPI busy polling, the clock,
# BPF filters and queries. Included by liburing.pyx (the idiom: _register.pxi); the structs
# these calls take are in _register_structs.pxi.
from libc.string cimport memcpy


# ---- the ring's fd and size ----------------------------------------------------------------------

def io_uring_register_ring_fd(io_uring ring not None):
    """io_uring_register_ring_fd(3): enter through a registered index; returns 1."""
    _reg_begin(ring)
    return _reg_end(ring, c.ioring_register_ring_fd(&ring.ring))


def io_uring_unregister_ring_fd(io_uring ring not None):
    """io_uring_unregister_ring_fd(3); returns 1."""
    _reg_begin(ring)
    return _reg_end(ring, c.ioring_unregister_ring_fd(&ring.ring))


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
    _track(ring)
    c.ioring_flush_sq(&ring.ring)
    _reg_begin(ring)
    _reg_end(ring, c.ioring_resize_rings(&ring.ring, &p.p))
    n = ring.ring.sq.ring_entries
    ring._size_slots(n)             # every SQE was tracked above: no slot pins are left
    return 0


# ---- personalities, restrictions ---------------------------------------------------------------

def io_uring_register_personality(io_uring ring not None):
    """io_uring_register_personality(3): register the caller's current credentials; returns
    the id to put in sqe.personality."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_personality(&ring.ring)
    return _reg_end(ring, ret)


def io_uring_unregister_personality(io_uring ring not None, int id):
    """io_uring_unregister_personality(3): forget personality ``id``."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_unregister_personality(&ring.ring, id)
    return _reg_end(ring, ret)


def io_uring_register_restrictions(io_uring ring not None, res, nr_res=None):
    """io_uring_register_restrictions(3): allow-list of register opcodes, SQE opcodes and SQE
    flags (a sequence of io_uring_restriction), on a ring created with IORING_SETUP_R_DISABLED;
    they apply once io_uring_enable_rings is called."""
    cdef list items = list(res)
    cdef unsigned n = _length(len(items), nr_res, "nr_res")
    cdef unsigned i
    cdef c._s_restriction *arr
    cdef int ret
    for i in range(n):
        if not isinstance(items[i], io_uring_restriction):
            raise TypeError(f"res[{i}] must be an io_uring_restriction, not {type(items[i]).__name__}")
    arr = <c._s_restriction *>calloc(n if n else 1, sizeof(c._s_restriction))
    if arr == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            arr[i] = (<io_uring_restriction>items[i]).res
        _reg_begin(ring)
        with nogil:
            ret = c.ioring_register_restrictions(&ring.ring, arr, n)
        return _reg_end(ring, ret)
    finally:
        free(arr)


def io_uring_enable_rings(io_uring ring not None):
    """io_uring_enable_rings(3): start a ring created with IORING_SETUP_R_DISABLED (its
    restrictions, if any, apply from now on)."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_enable_rings(&ring.ring)
    return _reg_end(ring, ret)


# ---- io-wq -------------------------------------------------------------------------------------

def io_uring_register_iowq_aff(io_uring ring not None, cpusz, mask=None):
    """io_uring_register_iowq_aff(3): run this thread's io-wq workers of the ring on the CPUs
    in ``mask``, an iterable of CPU numbers (as os.sched_setaffinity). ``cpusz`` is C's
    byte size of the mask; io_uring_register_iowq_aff(ring, mask) (``mask`` None) picks it (at
    least sizeof(cpu_set_t), 128). Workers started afterwards get the mask."""
    cdef list cpus = []
    cdef unsigned long long size, need, words, cpu
    cdef unsigned long *bits
    cdef int ret
    cdef size_t bits_per_word = 8 * sizeof(unsigned long)
    if mask is None:
        mask, cpusz = cpusz, None
    if isinstance(mask, (str, bytes)):
        raise TypeError("mask must be an iterable of CPU numbers")
    for v in mask:
        cpus.append(_uint(v, 0xFFFFFFFF, "CPU number"))
    need = ((max(cpus) // bits_per_word) + 1) * sizeof(unsigned long) if cpus else sizeof(unsigned long)
    if cpusz is None:
        size = max(need, <unsigned long long>128)
    else:
        size = _uint(cpusz, 0xFFFFFFFFFFFFFFFF, "cpusz")
        if size >= 0x80000000:
            _raise_errno(EINVAL)      # liburing refuses it before the syscall
        if cpus and (max(cpus) // 8) >= size:
            raise ValueError(f"CPU {max(cpus)} does not fit a {size}-byte mask")
    words = (size + sizeof(unsigned long) - 1) // sizeof(unsigned long)
    bits = <unsigned long *>calloc(words if words else 1, sizeof(unsigned long))
    if bits == NULL:
        raise MemoryError()
    try:
        for cpu in cpus:
            bits[cpu // bits_per_word] |= (<unsigned long>1) << (cpu % bits_per_word)
        _reg_begin(ring)
        with nogil:
            ret = c.ioring_register_iowq_aff(&ring.ring, <size_t>size, bits)
        return _reg_end(ring, ret)
    finally:
        free(bits)


def io_uring_unregister_iowq_aff(io_uring ring not None):
    """io_uring_unregister_iowq_aff(3): io-wq workers started afterwards may run on any CPU
    this thread may run on."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_unregister_iowq_aff(&ring.ring)
    return _reg_end(ring, ret)


def io_uring_register_iowq_max_workers(io_uring ring not None, values):
    """io_uring_register_iowq_max_workers(3): ``values`` = [bounded, unbounded] worker limits
    (0 leaves one unchanged). Returns the previous limits as a list (C writes them back into
    the array); [0, 0] just reads them."""
    cdef list vals = list(values)
    cdef unsigned arr[2]
    cdef int ret
    if len(vals) != 2:
        raise ValueError(f"values must hold 2 counts [bounded, unbounded], not {len(vals)}")
    arr[0] = <unsigned>_uint(vals[0], 0xFFFFFFFF, "values[0]")
    arr[1] = <unsigned>_uint(vals[1], 0xFFFFFFFF, "values[1]")
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_iowq_max_workers(&ring.ring, arr)
    _reg_end(ring, ret)
    return [arr[0], arr[1]]


# ---- synchronous cancel and message ------------------------------------------------------------


def io_uring_register_sync_cancel(io_uring ring not None, io_uring_sync_cancel_reg reg not None):
    """io_uring_register_sync_cancel(3): cancel matching requests and wait (GIL released)
    until they are done or reg.timeout expires. Returns 0 when one was found and cancelled
    (with IORING_ASYNC_CANCEL_ALL/ANY: how many); OSError ENOENT when nothing matched, ETIME
    on timeout. The cancelled requests still post their CQEs."""
    cdef c._s_sync_cancel_reg copy = reg.reg
    cdef int ret
    copy.timeout = reg._timeout.ts
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_sync_cancel(&ring.ring, &copy)
    return _reg_end(ring, ret)


def io_uring_register_sync_msg(sqe):
    """io_uring_register_sync_msg(3): send a MSG_RING data message without a source ring:
    ``sqe`` is an SQE prepared with io_uring_prep_msg_ring (or _cqe_flags): a free-standing
    ``io_uring_sqe()`` (C's ``struct io_uring_sqe sqe = {}``), an unsubmitted ring SQE (its 64
    bytes are copied; it stays in its ring's SQ, so turn it into a NOP or submit it knowingly)
    or a bytes-like struct io_uring_sqe. The target ring gets the CQE; the result comes back
    here."""
    cdef c.io_uring_sqe copy
    cdef _Buffer b
    cdef int ret
    if isinstance(sqe, io_uring_sqe):
        memcpy(&copy, (<io_uring_sqe>sqe)._ptr(), sizeof(copy))
    else:
        b = _Buffer(sqe, False)
        if b.nbytes < <Py_ssize_t>sizeof(copy):
            raise ValueError(f"a struct io_uring_sqe is {sizeof(copy)} bytes, not {b.nbytes}")
        memcpy(&copy, b.ptr, sizeof(copy))
    _announce_sync_msg(&copy)
    with nogil:
        ret = c.ioring_register_sync_msg(&copy)
    return _syscall_end(ret)


cdef int _announce_sync_msg(const c.io_uring_sqe *sqe) except -1:
    """IORING_REGISTER_SEND_MSG_RING posts a CQE (user_data sqe->off) into the ring sqe->fd is:
    if that is a ring of ours, announce it as not the completion of a request (whatever the
    SQE says, the kernel decides: announcing a CQE that never comes only delays a release)."""
    if sqe.opcode == _c_IORING_OP_MSG_RING:
        _expect_foreign_cqe(sqe.fd, sqe.off)
    return 0


# ---- NAPI, clock -------------------------------------------------------------------------------


def io_uring_register_napi(io_uring ring not None, io_uring_napi napi not None):
    """io_uring_register_napi(3): enable NAPI busy polling with ``napi``'s settings; the kernel
    writes the previous settings back into ``napi``."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_napi(&ring.ring, &napi.napi)
    return _reg_end(ring, ret)


def io_uring_unregister_napi(io_uring ring not None, io_uring_napi napi=None):
    """io_uring_unregister_napi(3): disable NAPI busy polling; the settings in force are
    written into ``napi`` if one is given (C's NULL otherwise)."""
    cdef c._s_napi *p = NULL if napi is None else &napi.napi
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_unregister_napi(&ring.ring, p)
    return _reg_end(ring, ret)


def io_uring_register_clock(io_uring ring not None, io_uring_clock_register arg not None):
    """io_uring_register_clock(3): wait timeouts of this ring (including absolute ones,
    IORING_ENTER_ABS_TIMER) are measured on arg.clockid."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_clock(&ring.ring, &arg.reg)
    return _reg_end(ring, ret)


# ---- BPF filters -------------------------------------------------------------------------------


def io_uring_register_bpf_filter(io_uring ring not None, io_uring_bpf bpf not None):
    """io_uring_register_bpf_filter(3): attach a classic BPF filter to this ring's SQEs of
    bpf.filter.opcode (denied ones complete with -EACCES). Linux 7.0; EINVAL before."""
    cdef int ret
    _reg_begin(ring)
    with nogil:
        ret = c.ioring_register_bpf_filter(&ring.ring, &bpf.bpf)
    return _reg_end(ring, ret)


def io_uring_register_bpf_filter_task(io_uring_bpf bpf not None):
    """io_uring_register_bpf_filter_task(3): attach a classic BPF filter to the rings this
    task (and its children) create from now on; it cannot be removed. Needs CAP_SYS_ADMIN or
    no_new_privs. Linux 7.0; EINVAL before."""
    cdef int ret
    with nogil:
        ret = c.ioring_register_bpf_filter_task(&bpf.bpf)
    return _syscall_end(ret)


# ---- queries -----------------------------------------------------------------------------------


def io_uring_register_query(io_uring_query_hdr query not None):
    """io_uring_register_query(3): ask the kernel (no ring needed) what it supports: every
    header of the ``query`` chain gets its ``result`` and its data filled. Returns 0; a query
    the kernel does not know shows in that header's result (-EOPNOTSUPP)."""
    cdef int ret
    with nogil:
        ret = c.ioring_register_query(&query.hdr)
    return _syscall_end(ret)
