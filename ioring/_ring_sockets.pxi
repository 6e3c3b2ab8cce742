# Sending on stream sockets: Ring.sendall (an Operation that completes once every byte is sent)
# and _SendQueue, the future-less send path of ioring.asyncio's stream writers. Included by
# _ring.pyx.
#
# Both send with MSG_WAITALL: on a stream socket the kernel then retries a partial send itself
# (waiting for room in the socket buffer) and completes once everything is sent, or with the
# count sent before an error; the remainder is then sent again, which reports the error (EPIPE,
# ECONNRESET). io_uring adds MSG_NOSIGNAL to every send: no SIGPIPE.
#
# A _SendQueue has at most one send in the kernel: what is written meanwhile is joined into the
# next one, so bytes go out in the order written and each reap of the Ring starts at most one
# send per connection. Its CQEs are handled at C level by Ring._reap (no Operation, no Future,
# no Python call unless someone waits on the queue).

from ioring.includes.socket cimport MSG_WAITALL, MSG_NOSIGNAL
from libc.errno cimport ENOBUFS

cdef extern from "<sys/socket.h>" nogil:
    ssize_t _c_send "send"(int fd, const void *buf, size_t n, int flags)
    int _c_MSG_DONTWAIT "MSG_DONTWAIT"

# user_data of a _SendQueue's sends: _SENDQ_TAG | qid << 16 | seq (16 bits). Bit 61 is the file
# chains' tag: the two are told apart by bit 60, which file chains never set.
cdef uint64_t _SENDQ_TAG = (1ULL << 61) | (1ULL << 60)


cdef class _SendAll:
    """Ring.sendall: the Operation it returns, the send in the kernel now and what is left."""
    cdef Ring ring
    cdef Operation outer            # what the caller holds: completes when all is sent
    cdef Operation inner            # the send in the kernel
    cdef object view                # memoryview of the data (pinned by each send in turn)
    cdef Py_ssize_t sent
    cdef int fd
    cdef int msg_flags
    cdef unsigned sqe_flags
    cdef object timeout
    cdef bint cancelled

    cdef int _send_next(self) except -1:
        cdef Ring ring = self.ring
        cdef c.io_uring_sqe request         # encoded off the SQ (Ring._queue)
        rest = self.view[self.sent:]
        pin = door_prep_send(None, _blank(&request), self.fd, rest, len(rest), self.msg_flags | MSG_WAITALL)
        self.inner = ring._queue(&request, sizeof(request), pin, "send", self.fd, None, None,
                                 self.sqe_flags, self.timeout)
        self.inner.add_done_callback(self._inner_done)
        return 0

    def _inner_done(self, Operation inner):
        cdef int res = inner._res
        cdef Py_ssize_t left = len(self.view) - self.sent
        if res >= 0:
            self.sent += res
        if res >= 0 and res >= left:
            self._finish(0)
        elif res > 0 and not self.cancelled:
            # MSG_WAITALL stopped short: an error came after part of it. Sending the rest
            # reports that error (or goes on, if the condition was transient).
            try:
                self._send_next()
            except BaseException as exc:
                self._finish(-errno.EIO, exc)
        elif res < 0:
            self._finish(res)
        else:
            # Stopped short with no error: cancelled (MSG_WAITALL then reports the count sent
            # so far), or the socket would send nothing more.
            self._finish(-ECANCELED if self.cancelled else -errno.EPIPE)

    cdef void _finish(self, int res, object exc=None) except *:
        cdef Operation outer = self.outer
        if outer._res is not None:
            return
        self.inner = None
        self.view = None
        outer._job = None
        if exc is not None:
            outer._value = OSError(-res, f"{os.strerror(-res)} [{outer.describe()}]: {exc}")
            res = -errno.EIO
        elif res >= 0:
            outer._value = self.sent
        outer._complete(res, 0)
        if self.ring._collectors:
            collected = self.ring._collectors.get(outer._thread)
            if collected is not None:
                collected.append(outer)

    def cancel(self):
        """Cancel the send in the kernel: the Operation then fails with ECANCELED (or its
        result, if the kernel had finished)."""
        if self.outer._res is not None:
            return False
        self.cancelled = True
        if self.inner is not None:
            return self.inner.cancel()
        return True


@cython.final
cdef class _SendQueue:
    """The sends of one stream socket, for ioring.asyncio's StreamWriter: ``write(data)`` queues
    a send now if none is in the kernel, else joins the data to the next one. ``buffered`` is
    what is not yet sent; ``error`` the errno that ended the queue (0: none); ``waker`` (set
    by whoever waits) is called once after a reap that changed the queue (a send completed or
    failed)."""
    cdef Ring ring
    cdef readonly int fd
    cdef uint32_t qid
    cdef uint16_t seq
    cdef object current             # the bytes in the kernel (None: nothing in flight)
    cdef Py_ssize_t offset          # where the send in flight starts in current
    cdef list pending               # bytes written while current was in flight
    cdef readonly Py_ssize_t buffered
    cdef readonly int error
    cdef int res                    # cqe.res of the send in flight, once reaped
    cdef bint completed             # that CQE was reaped, _after_reap has not run yet
    cdef bint listed
    cdef bint stalled               # data waits for a moment when SQEs may be queued
    cdef public object waker
    cdef readonly bint closed       # close(): nothing more may be written
    cdef public _AsyncDriver driver # ioring.asyncio: flushes the sends, its loop makes Futures
    cdef public Py_ssize_t high_water   # drain() waits while more than this is not sent
    cdef object drain_fut           # the Future a drain() waits on, or None
    cdef object done_fut            # a Future resolved once: what drain() returns at once

    def write(self, data):
        """Queue ``data`` (a copy is kept unless it is ``bytes``, so the caller may reuse its
        buffer). Raises the OSError that ended the queue, or ValueError once closed."""
        cdef Py_ssize_t n
        cdef _AsyncDriver driver
        if self.error:
            raise OSError(self.error, f"{os.strerror(self.error)} [send(fd={self.fd})]")
        if self.closed:
            raise ValueError("write on a closed stream")
        if type(data) is not bytes:
            data = bytes(data)
        n = len(<bytes>data)
        if n == 0:
            return
        driver = self.driver
        if self.current is None and not self.pending and driver is not None and driver.inline_ok:
            self._write_inline(<bytes>data, n, driver)
            return
        self.buffered += n
        if self.current is None and not self.pending and self._may_queue():
            self._send(<bytes>data, 0)
        else:
            self.pending.append(data)
            if self.current is None:
                self._stall()
        if self.driver is not None:
            self.driver.schedule_flush()

    cdef int _write_inline(self, bytes data, Py_ssize_t n, _AsyncDriver driver) except -1:
        """Nothing is in flight and the driver allows it (see _AsyncDriver.inline_ok): send
        now, with a non-blocking send(2), as asyncio's transports do; what the socket does not
        take now (it would block) goes out by io_uring, MSG_WAITALL. In an echo server's
        ping-pong this one system call replaces an io_uring send (its SQE, the CQE, the
        eventfd signal and the reap). A failure ends the queue, reported by the next write()
        or drain() as for a send by io_uring."""
        cdef ssize_t sent
        cdef int err
        self.ring.uring.door_check()
        driver.inline_ok = False        # one per pump: writes that follow are batched
        sent = _c_send(self.fd, PyBytes_AS_STRING(data), <size_t>n, _c_MSG_DONTWAIT | MSG_NOSIGNAL)
        if sent == n:
            return 0
        if sent < 0:
            err = errno_c
            if err != EAGAIN and err != EINTR and err != ENOBUFS:
                self.error = err
                return 0
            sent = 0
        self.buffered += n - sent
        if self._may_queue():
            self._send(data, sent)
        else:
            self.pending.append(data[sent:] if sent else data)
            self._stall()
        driver.schedule_flush()
        return 0

    def drain(self):
        """For StreamWriter.drain: an awaitable that is done once what is not sent is at most
        ``high_water`` bytes (at once if it is). Raises the OSError that ended the queue."""
        cdef _AsyncDriver driver = self.driver
        if self.error:
            raise OSError(self.error, f"{os.strerror(self.error)} [send(fd={self.fd})]")
        if self.buffered <= self.high_water:
            if self.done_fut is None:
                self.done_fut = driver.loop.create_future()
                self.done_fut.set_result(None)
            return self.done_fut
        if self.drain_fut is None or self.drain_fut.done():
            self.drain_fut = driver.loop.create_future()
        return self.drain_fut

    cdef bint _may_queue(self):
        cdef Ring ring = self.ring
        return not (ring._reaping or ring._link_depth or ring._chain_owner != 0
                    or (ring._issuer and PyThread_get_thread_ident() != ring._issuer))

    cdef void _stall(self) noexcept:
        """Data is waiting and nothing is in flight, but no SQE may be queued now (inside a
        reap, a linked() chain): Ring._kick_sends starts it later."""
        if not self.stalled:
            self.stalled = True
            self.ring._stalled_sends.append(self)

    cdef int _send(self, bytes data, Py_ssize_t offset) except -1:
        cdef Ring ring = self.ring
        cdef io_uring uring = ring.uring
        cdef c.io_uring_sqe *sqe
        cdef uint64_t ud
        uring.door_check()
        if uring.door_sq_space() == 0 or not self._may_queue():
            # (_after_reap sends the rest of a short send: a linked() chain may be open then)
            self.pending.insert(0, data[offset:] if offset else data)
            self._stall()           # the next pump submits the SQ, then starts it
            return 0
        uring.door_own_begin()      # requests queued before keep their own tracking
        self.seq = <uint16_t>(self.seq + 1)
        ud = _SENDQ_TAG | (<uint64_t>self.qid << 16) | self.seq
        sqe = uring.door_next_sqe()
        c.ioring_prep_send(sqe, self.fd, PyBytes_AS_STRING(data) + offset,
                           <size_t>(len(data) - offset), MSG_WAITALL | MSG_NOSIGNAL)
        sqe.flags = 0
        sqe.user_data = ud
        uring.door_own_end()
        # The data stays alive until the CQE is consumed, whatever happens to the Ring.
        uring.door_keep(ud, data)
        self.current = data
        self.offset = offset
        self.completed = False
        return 0

    cdef void _on_cqe(self, uint64_t ud, int res) noexcept:
        if self.current is None or <uint16_t>ud != self.seq:
            return
        self.res = res
        self.completed = True

    cdef int _after_reap(self) except -1:
        """The send in flight completed: start the next one, or record the failure; wake the
        waiter."""
        cdef bytes cur
        cdef Py_ssize_t left
        cdef int res
        if self.completed:
            self.completed = False
            res = self.res
            cur = <bytes>self.current
            left = len(cur) - self.offset
            self.current = None
            if res >= left:
                self.buffered -= left
            elif res > 0 and not self.closed_by_error():
                # MSG_WAITALL stopped short: an error came after part of it; sending the rest
                # reports it (or goes on).
                self.buffered -= res
                self._send(cur, self.offset + res)
            else:
                self.error = -res if res < 0 else errno.EPIPE
                self.pending = []
                self.buffered = 0
        if self.current is None and self.pending and not self.error:
            self._start_pending()
        fut = self.drain_fut
        if fut is not None and (self.error or self.buffered <= self.high_water):
            self.drain_fut = None
            if not fut.done():
                self.ring._wakes += 1
                try:
                    if self.error:
                        fut.set_exception(OSError(self.error, f"{os.strerror(self.error)} "
                                                              f"[send(fd={self.fd})]"))
                    else:
                        fut.set_result(None)
                except RuntimeError:
                    pass            # its loop is closed
        waker = self.waker
        if waker is not None:
            self.waker = None
            self.ring._wakes += 1
            waker()
        return 0

    cdef inline bint closed_by_error(self):
        return self.error != 0

    cdef int _start_pending(self) except -1:
        if not self._may_queue():
            self._stall()
            return 0
        if len(self.pending) == 1:
            data = self.pending[0]
        else:
            data = b"".join(self.pending)
        self.pending = []
        self._send(<bytes>data, 0)
        return 0

    def close(self):
        """No more writes; what is queued is still sent."""
        self.closed = True

    cdef void _ring_closed(self) noexcept:
        """Ring.close(): the kernel is done with the send in flight (or its data was leaked)."""
        self.current = None
        self.pending = []
        self.buffered = 0
        if not self.error:
            self.error = ECANCELED
        fut, self.drain_fut = self.drain_fut, None
        if fut is not None and not fut.done():
            try:
                fut.set_exception(OSError(ECANCELED, "the Ring was closed"))
            except RuntimeError:
                pass
        waker = self.waker
        self.waker = None
        if waker is not None:
            try:
                waker()
            except BaseException:
                pass

    @property
    def idle(self):
        """Nothing in the kernel and nothing waiting to go."""
        return self.current is None and not self.pending

    def __repr__(self):
        return (f"<_SendQueue fd={self.fd} buffered={self.buffered} "
                f"{'in flight' if self.current is not None else 'idle'}"
                f"{' error=' + str(self.error) if self.error else ''}>")
