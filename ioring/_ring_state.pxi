# SQ/CQ state and waits beyond the basics: overflow, eventfd toggling, flushing events, the SQ
# head, SQPOLL waits, iowait, dontfork, waits with a minimum timeout, SQE/CQE sizes and the
# 128-byte SQE. Included by liburing.pyx.


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
    _track(ring)
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
                _track(ring)
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
    return None if cqe == NULL else _copy_cqe(ring, cqe, ring.ring.cq.khead[0])


def io_uring_submit_and_wait_min_timeout(io_uring ring not None, unsigned wait_nr, kernel_timespec ts,
                                         unsigned min_wait, sigmask=None):
    """io_uring_submit_and_wait_min_timeout(3): submit, then wait as
    io_uring_wait_cqes_min_timeout. Returns (submitted, cqe or None)."""
    cdef c.io_uring_cqe *cqe = NULL
    cdef _Sigmask m = None if sigmask is None else _Sigmask(sigmask)
    ring._check()
    _track(ring)
    cdef unsigned before = c.ioring_flush_sq(&ring.ring)
    cdef int ret = _wait_min(ring, &cqe, before, wait_nr, ts, min_wait, m)
    submitted = before if ring.ring.flags & _c_IORING_SETUP_SQPOLL else before - c.ioring_sq_ready(&ring.ring)
    if ret == -ETIME or (ret == -EAGAIN and cqe == NULL):
        return (submitted, None)
    _check_ret(ret)
    return (submitted, None if cqe == NULL else _copy_cqe(ring, cqe, ring.ring.cq.khead[0]))


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
