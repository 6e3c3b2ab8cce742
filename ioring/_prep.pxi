# io_uring_prep_*: included by liburing.pyx. Each validates everything before it touches the
# SQE, then encodes it with the C core's prep helper, then pins what the kernel will use.


def io_uring_prep_nop(io_uring_sqe sqe not None):
    """io_uring_prep_nop(3)."""
    c.ioring_prep_nop(sqe._begin())


cdef _Buffer _selectable_buffer(object buf, long long nbytes):
    """A writable buffer, or None (C's NULL) for IOSQE_BUFFER_SELECT, where the kernel picks a
    provided buffer of at most ``nbytes``; without BUFFER_SELECT the kernel answers -EFAULT."""
    if buf is None:
        if nbytes < 0 or nbytes > _U32_MAX:
            raise ValueError(f"nbytes={nbytes} does not fit in 32 bits")
        return None
    return _buffer_for(buf, nbytes, True)


cdef inline void *_ptr(_Buffer b):
    return NULL if b is None else b.ptr


# The door's preps (liburing.pxd): the encoding of the preps below that convert or pin an
# argument, shared by their def (``sqe``: an io_uring_sqe, begun once the arguments passed their
# checks) and by the Pythonic layer (``sqe`` None, ``s``: an SQE it took with door_acquire).
# Each returns what must stay pinned until the completion (door_pin / io_uring_sqe._pin).

cdef inline c.io_uring_sqe *_target(io_uring_sqe sqe, c.io_uring_sqe *s) except NULL:
    return sqe._begin() if sqe is not None else s


cdef inline bint _pin_slot_free(io_uring ring, io_uring_sqe sqe, long long nbytes) noexcept:
    """_prep_rw_pinned's inline case: ``nbytes`` fits an SQE and ``sqe`` is a fresh SQE of
    ``ring`` (sqe._begin's checks) whose slot pins nothing yet."""
    return (nbytes <= _U32_MAX and _is_live(ring, sqe.seq, sqe.incarnation)
            and ring._slot_ref[sqe.seq & ring.ring.sq.ring_mask] == 0)


cdef inline void _prep_rw_at(c.io_uring_sqe *s, bint writing, int fd, void *data, long long nbytes,
                             uint64_t off) noexcept:
    if writing:
        c.ioring_prep_write(s, fd, data, <unsigned>nbytes, off)
    else:
        c.ioring_prep_read(s, fd, data, <unsigned>nbytes, off)


cdef inline int _prep_rw_pinned(io_uring_sqe sqe, bint writing, int fd, object buf, long long nbytes,
                                uint64_t off) except -1:
    """io_uring_prep_read (``writing`` False) or io_uring_prep_write on a ring's SQE: ``buf``
    exported (``nbytes`` of it used), the SQE begun, and the export pinned in the ring's pin
    table itself (io_uring._pin_put_view: no _Buffer object made and freed per request). Until
    the SQE is begun a bad argument leaves it untouched; the export is released if anything
    fails. (The def and the call door, _call_doors.pxi, share it.)"""
    cdef Py_buffer view
    cdef c.io_uring_sqe *s
    cdef io_uring ring = sqe.ring
    cdef uint32_t ref = 0
    if ioring_bytearray_holds(buf, nbytes) and _pin_slot_free(ring, sqe, nbytes):
        ref = _pin_take_free(ring)
        if ref:
            # The commonest case: an exact bytearray (its export runs no Python code and
            # cannot fail) exported straight into a freed entry of the pin table.
            ioring_export_bytearray(buf, &ring._pin_views[ref - 1])
            ring._slot_ref[sqe.seq & ring.ring.sq.ring_mask] = ref
            _prep_rw_at(c.ioring_sqe_at(&ring.ring, sqe.seq), writing, fd,
                        ring._pin_views[ref - 1].buf, nbytes, off)
            return 0
    _export_view(buf, &view, not writing)
    # (checked again: another object's export may have run Python code)
    if 0 <= nbytes <= view.len and _pin_slot_free(ring, sqe, nbytes):
        ref = _pin_take_free(ring)
    if ref:
        # A freed entry of the pin table that the export moves into.
        s = c.ioring_sqe_at(&ring.ring, sqe.seq)
        ring._slot_ref[sqe.seq & ring.ring.sq.ring_mask] = ref
        ioring_view_move(&ring._pin_views[ref - 1], &view)
    else:
        try:                        # (a try/except would save the exception state every time)
            _check_length(nbytes, view.len, "nbytes")
            s = sqe._begin()        # (drops what the slot pinned: its ref is 0 now)
            ring._slot_ref[sqe.seq & ring.ring.sq.ring_mask] = ring._pin_put_view(&view)
        finally:
            if ioring_view_held(&view):     # (not moved into the pin table: something failed)
                ioring_release_view(&view)
    _prep_rw_at(s, writing, fd, view.buf, nbytes, off)   # (the struct moved, the memory did not)
    return 0


def io_uring_prep_read(io_uring_sqe sqe not None, int fd, buf, long long nbytes, offset):
    """io_uring_prep_read(3): read ``nbytes`` into the writable buffer ``buf`` (zero-copy) at
    ``offset`` (-1: the current file position). ``buf`` None: a provided buffer is selected
    (IOSQE_BUFFER_SELECT with io_uring_sqe_set_buf_group)."""
    if buf is None or sqe._own != NULL:
        sqe._pin(door_prep_read(sqe, NULL, fd, buf, nbytes, offset))
    else:
        _prep_rw_pinned(sqe, False, fd, buf, nbytes, _offset(offset))


cdef object door_prep_read(io_uring_sqe sqe, c.io_uring_sqe *s, int fd, object buf, long long nbytes,
                           object offset):
    cdef _Buffer b = _selectable_buffer(buf, nbytes)
    cdef uint64_t off = _offset(offset)
    c.ioring_prep_read(_target(sqe, s), fd, _ptr(b), <unsigned>nbytes, off)
    return b


def io_uring_prep_write(io_uring_sqe sqe not None, int fd, buf, long long nbytes, offset):
    """io_uring_prep_write(3): write ``nbytes`` of ``buf`` at ``offset`` (-1: current position)."""
    if sqe._own != NULL:
        sqe._pin(door_prep_write(sqe, NULL, fd, buf, nbytes, offset))
    else:
        _prep_rw_pinned(sqe, True, fd, buf, nbytes, _offset(offset))


cdef object door_prep_write(io_uring_sqe sqe, c.io_uring_sqe *s, int fd, object buf, long long nbytes,
                            object offset):
    cdef _Buffer b = _buffer_for(buf, nbytes, False)
    cdef uint64_t off = _offset(offset)
    c.ioring_prep_write(_target(sqe, s), fd, b.ptr, <unsigned>nbytes, off)
    return b


def io_uring_prep_readv(io_uring_sqe sqe not None, int fd, iovecs, nr_vecs=None, offset=0):
    """io_uring_prep_readv(3): ``iovecs`` is a sequence of writable buffers."""
    io_uring_prep_readv2(sqe, fd, iovecs, nr_vecs, offset, 0)


def io_uring_prep_readv2(io_uring_sqe sqe not None, int fd, iovecs, nr_vecs=None, offset=0, int flags=0):
    """io_uring_prep_readv2(3): readv with RWF_* ``flags``."""
    sqe._pin(door_prep_rwv(sqe, NULL, fd, iovecs, nr_vecs, offset, flags, True))


cdef object door_prep_rwv(io_uring_sqe sqe, c.io_uring_sqe *s, int fd, object iovecs, object nr_vecs,
                          object offset, int flags, bint reading):
    """io_uring_prep_readv2 (``reading``) or io_uring_prep_writev2."""
    cdef _Iovecs v = _Iovecs(iovecs, nr_vecs, reading)
    cdef uint64_t off = _offset(offset)
    if reading:
        c.ioring_prep_readv2(_target(sqe, s), fd, v.vecs, <unsigned>v.count, off, flags)
    else:
        c.ioring_prep_writev2(_target(sqe, s), fd, v.vecs, <unsigned>v.count, off, flags)
    return v


def io_uring_prep_writev(io_uring_sqe sqe not None, int fd, iovecs, nr_vecs=None, offset=0):
    """io_uring_prep_writev(3): ``iovecs`` is a sequence of buffers."""
    io_uring_prep_writev2(sqe, fd, iovecs, nr_vecs, offset, 0)


def io_uring_prep_writev2(io_uring_sqe sqe not None, int fd, iovecs, nr_vecs=None, offset=0, int flags=0):
    """io_uring_prep_writev2(3): writev with RWF_* ``flags``."""
    sqe._pin(door_prep_rwv(sqe, NULL, fd, iovecs, nr_vecs, offset, flags, False))


def io_uring_prep_read_fixed(io_uring_sqe sqe not None, int fd, buf, long long nbytes, offset, int buf_index):
    """io_uring_prep_read_fixed(3): ``buf`` must lie inside registered buffer ``buf_index``
    (a memoryview slice of it, for instance)."""
    sqe._pin(door_prep_rw_fixed(sqe, sqe.ring, NULL, fd, buf, nbytes, offset, buf_index, True))


cdef object door_prep_rw_fixed(io_uring_sqe sqe, io_uring ring, c.io_uring_sqe *s, int fd, object buf,
                               long long nbytes, object offset, int buf_index, bint reading):
    """io_uring_prep_read_fixed (``reading``) or io_uring_prep_write_fixed: the memory must lie
    inside registered buffer ``buf_index`` of ``ring``."""
    cdef _Buffer b = _buffer_for(buf, nbytes, reading)
    cdef uint64_t off = _offset(offset)
    ring._check_fixed(b.ptr, <size_t>nbytes, buf_index)
    if reading:
        c.ioring_prep_read_fixed(_target(sqe, s), fd, b.ptr, <unsigned>nbytes, off, buf_index)
    else:
        c.ioring_prep_write_fixed(_target(sqe, s), fd, b.ptr, <unsigned>nbytes, off, buf_index)
    return b


def io_uring_prep_write_fixed(io_uring_sqe sqe not None, int fd, buf, long long nbytes, offset, int buf_index):
    """io_uring_prep_write_fixed(3): ``buf`` must lie inside registered buffer ``buf_index``."""
    sqe._pin(door_prep_rw_fixed(sqe, sqe.ring, NULL, fd, buf, nbytes, offset, buf_index, False))


def io_uring_prep_fsync(io_uring_sqe sqe not None, int fd, unsigned fsync_flags=0):
    """io_uring_prep_fsync(3): ``fsync_flags`` 0 or IORING_FSYNC_DATASYNC."""
    c.ioring_prep_fsync(sqe._begin(), fd, fsync_flags)


def io_uring_prep_timeout(io_uring_sqe sqe not None, kernel_timespec ts, unsigned count=0,
                          unsigned flags=0):
    """io_uring_prep_timeout(3): complete after ``ts`` or after ``count`` other completions.
    ``ts`` None is C's NULL: the kernel answers -EFAULT, unless addr then holds the timeout in
    nanoseconds with IORING_TIMEOUT_IMMEDIATE_ARG (set sqe.timeout_flags first, then sqe.addr)."""
    sqe._pin(door_prep_timeout(sqe, NULL, ts, count, flags))


cdef object door_prep_timeout(io_uring_sqe sqe, c.io_uring_sqe *s, kernel_timespec ts, unsigned count,
                              unsigned flags):
    c.ioring_prep_timeout(_target(sqe, s), _timespec_ptr(ts), count, flags)
    return ts


def io_uring_prep_timeout_remove(io_uring_sqe sqe not None, uint64_t user_data, unsigned flags=0):
    """io_uring_prep_timeout_remove(3): remove the timeout whose user_data is ``user_data``."""
    c.ioring_prep_timeout_remove(sqe._begin(), user_data, flags)


def io_uring_prep_link_timeout(io_uring_sqe sqe not None, kernel_timespec ts not None, unsigned flags=0):
    """io_uring_prep_link_timeout(3): cancel the previous linked request after ``ts``."""
    c.ioring_prep_link_timeout(sqe._begin(), &ts.ts, flags)
    sqe._pin(ts)


def io_uring_prep_cancel64(io_uring_sqe sqe not None, uint64_t user_data, int flags=0):
    """io_uring_prep_cancel64(3): cancel the request(s) with ``user_data``
    (IORING_ASYNC_CANCEL_ALL / _ANY / ... in ``flags``)."""
    c.ioring_prep_cancel64(sqe._begin(), user_data, flags)


def io_uring_prep_cancel(io_uring_sqe sqe not None, object user_data, int flags=0):
    """io_uring_prep_cancel(3): cancel the request whose io_uring_sqe_set_data was
    ``user_data``: the same object, or the same int (C passes the pointer; ints and None map to
    user_data as io_uring_sqe_set_data maps them)."""
    cdef uint64_t key = _data_key(user_data)
    c.ioring_prep_cancel64(sqe._begin(), key, flags)


def io_uring_prep_cancel_fd(io_uring_sqe sqe not None, int fd, unsigned flags=0):
    """io_uring_prep_cancel_fd(3): cancel requests on ``fd`` (IORING_ASYNC_CANCEL_ALL for all)."""
    c.ioring_prep_cancel_fd(sqe._begin(), fd, flags)


def io_uring_prep_openat(io_uring_sqe sqe not None, int dfd, path, int flags, unsigned mode=0):
    """io_uring_prep_openat(3): ``path`` is str or bytes; cqe.res is the new fd or -errno."""
    sqe._pin(door_prep_openat(sqe, NULL, dfd, path, flags, mode))


cdef object door_prep_openat(io_uring_sqe sqe, c.io_uring_sqe *s, int dfd, object path, int flags,
                             unsigned mode):
    cdef bytes raw = _path(path)
    c.ioring_prep_openat(_target(sqe, s), dfd, PyBytes_AS_STRING(raw), flags, mode)
    return raw


def io_uring_prep_openat2(io_uring_sqe sqe not None, int dfd, path, open_how how not None):
    """io_uring_prep_openat2(3): ``how`` is an open_how(flags, mode, resolve)."""
    cdef bytes raw = _path(path)
    c.ioring_prep_openat2(sqe._begin(), dfd, PyBytes_AS_STRING(raw), &how.how)
    sqe._pin((raw, how))


def io_uring_prep_close(io_uring_sqe sqe not None, int fd):
    """io_uring_prep_close(3)."""
    c.ioring_prep_close(sqe._begin(), fd)


def io_uring_prep_statx(io_uring_sqe sqe not None, int dfd, path, int flags, unsigned mask,
                        statx statxbuf not None):
    """io_uring_prep_statx(3): the kernel fills ``statxbuf`` (a statx()) in place."""
    sqe._pin(door_prep_statx(sqe, NULL, dfd, path, flags, mask, statxbuf))


cdef object door_prep_statx(io_uring_sqe sqe, c.io_uring_sqe *s, int dfd, object path, int flags,
                            unsigned mask, statx statxbuf):
    cdef bytes raw = _path(path)
    c.ioring_prep_statx(_target(sqe, s), dfd, PyBytes_AS_STRING(raw), flags, mask, &statxbuf.st)
    return (raw, statxbuf)


cdef _Iovecs _send_iovecs(object buf, long long nr):
    """The iovec array of a vectorized send (IORING_SEND_VECTORIZED): ``nr`` of the buffers."""
    if nr < 1:
        raise ValueError(f"a vectorized send needs at least one iovec, not len={nr}")
    return _Iovecs(buf, nr, False)


def io_uring_prep_send(io_uring_sqe sqe not None, int sockfd, buf, long long len, int flags=0):
    """io_uring_prep_send(3): send ``len`` bytes of ``buf`` (None: C's NULL, for a send of a
    provided buffer with IOSQE_BUFFER_SELECT; the kernel reads no user memory then). A sequence
    of buffers is a vectorized send (IORING_SEND_VECTORIZED, kernel 6.17) of its first ``len`` buffers, which
    are pinned with their iovec array until the completion; the flag is set in sqe.ioprio (C
    programs set it after the prep; doing it again changes nothing)."""
    sqe._pin(door_prep_send(sqe, NULL, sockfd, buf, len, flags))


cdef object door_prep_send(io_uring_sqe sqe, c.io_uring_sqe *s, int sockfd, object buf, long long len,
                           int flags):
    cdef _Buffer b
    cdef _Iovecs v
    if isinstance(buf, (list, tuple)):
        v = _send_iovecs(buf, len)
        s = _target(sqe, s)
        c.ioring_prep_send(s, sockfd, v.vecs, <size_t>v.count, flags)
        s.ioprio |= <uint16_t>_c_IORING_SEND_VECTORIZED
        return v
    b = _selectable_buffer(None, len) if buf is None else _buffer_for(buf, len, False)
    c.ioring_prep_send(_target(sqe, s), sockfd, _ptr(b), <size_t>len, flags)
    return b


def io_uring_prep_recv(io_uring_sqe sqe not None, int sockfd, buf, long long len, int flags=0):
    """io_uring_prep_recv(3): receive up to ``len`` bytes into the writable ``buf`` (None: a
    provided buffer is selected, as for io_uring_prep_read)."""
    sqe._pin(door_prep_recv(sqe, NULL, sockfd, buf, len, flags))


cdef object door_prep_recv(io_uring_sqe sqe, c.io_uring_sqe *s, int sockfd, object buf, long long len,
                           int flags):
    cdef _Buffer b = _selectable_buffer(buf, len)
    c.ioring_prep_recv(_target(sqe, s), sockfd, _ptr(b), <size_t>len, flags)
    return b


def io_uring_prep_poll_add(io_uring_sqe sqe not None, int fd, unsigned poll_mask):
    """io_uring_prep_poll_add(3): complete when ``fd`` has any of the POLL* events."""
    c.ioring_prep_poll_add(sqe._begin(), fd, poll_mask)


def io_uring_prep_poll_remove(io_uring_sqe sqe not None, uint64_t user_data):
    """io_uring_prep_poll_remove(3): remove the poll request with ``user_data``."""
    c.ioring_prep_poll_remove(sqe._begin(), user_data)
