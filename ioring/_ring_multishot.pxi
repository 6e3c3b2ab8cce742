# Multishot requests in the Pythonic layer: one SQE, a completion per result (IORING_CQE_F_MORE
# on every one but the last), handed out by an iterator. Included by _ring.pyx.
#
# Ring._reap hands every CQE of a multishot request to its _Stream (Operation._stream) at C
# level: the result is queued (one Python object per CQE: the fd, or the bytes copied out of the
# provided buffer, which goes straight back to the kernel), and the consumer takes from that
# queue. The public Multishot wraps the _Stream, so that dropping the iterator (break, garbage
# collection) cancels the kernel request while Ring._ops still references the _Stream.

from posix.unistd cimport close as _c_close
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.bytearray cimport PyByteArray_AS_STRING

from libc.errno cimport ENOBUFS

cdef extern from "<errno.h>":
    int EWOULDBLOCK

cdef extern from "<sys/socket.h>" nogil:
    ssize_t _c_recv "recv"(int fd, void *buf, size_t n, int flags)
from ioring.includes.constants cimport (_c_IORING_CQE_F_BUFFER as IORING_CQE_F_BUFFER,
                                        _c_IORING_CQE_F_NOTIF as IORING_CQE_F_NOTIF,
                                        _c_IORING_CQE_BUFFER_SHIFT as IORING_CQE_BUFFER_SHIFT)

# What Multishot._take returns besides a result (for ioring.asyncio): nothing queued yet
# (wait for the Ring to reap), and the end of the iteration.
_EMPTY = object()
_END = object()

cdef enum _MsKind:
    _MS_RAW         # cqe.res of a generic multishot prep
    _MS_FD          # accept: the new fd (closed by us if nobody takes it)
    _MS_DATA        # recv / read: the bytes the kernel put in a provided buffer
    _MS_MSG         # recvmsg: (data, ancdata, msg_flags, address)
    _MS_TICK        # timeout: 1, 2, 3... per expiration
    _MS_POLL        # poll: the revents mask

# A consumer that falls behind pauses the request (it is cancelled, and re-armed once the
# consumer has caught up): at most this many fds wait in an accept iterator, and at most the
# BufferRing's capacity in bytes in a recv/recvmsg/read one. The rest waits in the kernel
# (the listen backlog, the socket's receive buffer), where TCP flow control applies.
cdef Py_ssize_t _MAX_QUEUED_FDS = 128

# A StreamReader's receive while the peer streams: one single-shot recv per read() into a buffer
# of the stream's own (see _Stream.single), this large (asyncio's transports read 256 KiB at
# most; a reader that asks for 64 KiB gets what fits, the rest waits for its next read).
cdef Py_ssize_t _SINGLE_RECV_SIZE = 65536

# A socket readable this soon after its reader began to wait was readable at once (see
# _Stream.at_once): the time of the rest of that loop iteration, far below a round trip.
cdef double _AT_ONCE_S = 10e-6


def _set_at_once(double seconds):
    """For tests: the time under which a readable event counts as at once (see
    _Stream.at_once); returns the one it replaces."""
    global _AT_ONCE_S
    old = _AT_ONCE_S
    _AT_ONCE_S = seconds
    return old

_SOCKADDR_STORAGE = 128     # sizeof(struct sockaddr_storage): room for any source address


@cython.final
cdef class BufferRing:
    """``count`` buffers of ``size`` bytes that the kernel picks from for multishot receives and
    reads (a provided-buffer ring, IORING_REGISTER_PBUF_RING, buffer group ``bgid``).

    ``BufferRing(ring, count=128, size=16384, bgid=None)``: ``count`` is a power of two up to
    32768; ``bgid`` (0..65535) is the first free one when None. Each buffer goes back to the
    kernel as soon as its data has been copied out (when the completion is reaped), so one
    BufferRing can serve every connection of a ring. The memory (two anonymous mmaps) stays
    alive until the Ring is closed, whatever happens to this object: a request in flight may
    hold one of its buffers. ``close()`` unregisters the group (idempotent; Ring.close() does
    it too)."""
    cdef readonly Ring ring
    cdef readonly unsigned count
    cdef readonly unsigned size
    cdef readonly int bgid
    cdef object _ring_memory, _data_memory
    cdef Py_buffer _ring_view, _data_view
    cdef bint _held
    cdef c.io_uring_buf_ring *_br
    cdef char *_base
    cdef int _mask
    cdef bint _closed

    def __init__(self, Ring ring not None, unsigned count=128, unsigned size=16384, bgid=None):
        import mmap
        if self._held:
            raise RuntimeError("this BufferRing is already set up")
        if count == 0 or count > 32768 or count & (count - 1):
            raise ValueError(f"count must be a power of two in 1..32768, not {count}")
        if size == 0 or size > 0x7FFFFFFF:
            raise ValueError(f"size must be in 1..2**31-1 bytes, not {size}")
        if bgid is not None and not 0 <= bgid <= 0xFFFF:
            raise ValueError(f"bgid is 16 bits (0..65535), not {bgid}")
        ring.uring.door_check()
        self.ring = ring
        self.count = count
        self.size = size
        self._ring_memory = mmap.mmap(-1, max(4096, count * 16))    # 16: sizeof(io_uring_buf)
        self._data_memory = mmap.mmap(-1, <size_t>count * size)
        PyObject_GetBuffer(self._ring_memory, &self._ring_view, PyBUF_WRITABLE)
        try:
            PyObject_GetBuffer(self._data_memory, &self._data_view, PyBUF_WRITABLE)
        except BaseException:
            PyBuffer_Release(&self._ring_view)
            raise
        self._held = True
        self._br = <c.io_uring_buf_ring *>self._ring_view.buf
        self._base = <char *>self._data_view.buf
        self._mask = c.ioring_buf_ring_mask(count)
        c.ioring_buf_ring_init(self._br)
        for i in range(count):
            c.ioring_buf_ring_add(self._br, self._base + <size_t>i * size, size, <unsigned short>i,
                                  self._mask, <int>i)
        c.ioring_buf_ring_advance(self._br, <int>count)
        # Registered through the thin layer (it keeps the ring memory pinned while registered);
        # the buffers are pinned by this object, which the Ring keeps until it is closed.
        self.bgid = self._register(bgid)
        ring._buffer_rings.append(self)

    cdef int _register(self, object bgid) except -1:
        candidates = [bgid] if bgid is not None else range(self.ring._next_bgid, 0x10000)
        for gid in candidates:
            reg = L.io_uring_buf_reg(self._ring_memory, self.count, gid)
            try:
                L.io_uring_register_buf_ring(self.ring.uring, reg)
            except FileExistsError:
                if bgid is not None:
                    raise FileExistsError(errno.EEXIST, f"buffer group {bgid} is already registered "
                                          f"on this ring (bgid=None picks a free one)") from None
                continue
            if bgid is None:
                self.ring._next_bgid = gid + 1
            return gid
        raise OSError(errno.ENOSPC, "every buffer group id (0..65535) is in use on this ring")

    cdef object _copy(self, unsigned bid, int nbytes):
        """The bytes the kernel put in buffer ``bid`` (one object, the only one per CQE)."""
        if bid >= self.count or nbytes > <int>self.size:
            raise RuntimeError(f"the kernel reported buffer {bid} with {nbytes} bytes, outside "
                               f"this BufferRing ({self.count} x {self.size})")
        return PyBytes_FromStringAndSize(self._base + <size_t>bid * self.size, nbytes)

    cdef void _recycle(self, unsigned bid) noexcept:
        """Give buffer ``bid`` back to the kernel."""
        if self._closed or bid >= self.count:
            return
        c.ioring_buf_ring_add(self._br, self._base + <size_t>bid * self.size, self.size,
                              <unsigned short>bid, self._mask, 0)
        c.ioring_buf_ring_advance(self._br, 1)

    @property
    def closed(self):
        return self._closed

    @property
    def available(self):
        """How many buffers the kernel can pick now (IORING_REGISTER_PBUF_STATUS, kernel 6.8):
        ``count`` whenever no completion holding one is waiting to be reaped."""
        if self._closed or self.ring is None:
            return 0
        head = L.io_uring_buf_ring_head(self.ring.uring, self.bgid)
        return <uint16_t>(self._br.tail - <uint16_t>head)

    def close(self):
        """Unregister the buffer group (the memory lives until the Ring is closed)."""
        if self._closed:
            return
        self._closed = True
        if self.ring is not None and not self.ring.closed:
            try:
                L.io_uring_unregister_buf_ring(self.ring.uring, self.bgid)
            except (OSError, ValueError):
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __dealloc__(self):
        if self._held:
            PyBuffer_Release(&self._data_view)
            PyBuffer_Release(&self._ring_view)

    def __repr__(self):
        state = " closed" if self._closed else ""
        return f"<BufferRing bgid={self.bgid} {self.count} x {self.size}{state}>"


@cython.final
cdef class _Stream:
    """The state of one multishot iterator: its queue of results and how to (re-)arm it."""
    cdef Ring ring
    cdef _MsKind kind
    cdef str name
    cdef object fd
    cdef object prep
    cdef tuple args
    cdef unsigned sqe_flags
    cdef BufferRing buffers
    cdef object msg             # recvmsg: the msghdr the request was prepared with
    cdef bint rearm             # re-arm after a final CQE that does not end the iteration
    cdef object results         # deque of results not yet taken
    cdef Py_ssize_t queued_bytes
    cdef Py_ssize_t max_bytes
    cdef unsigned long ticks
    cdef Operation op           # the request armed in the kernel, or None
    cdef bint ended             # no result will be queued any more
    cdef int error              # errno of the final CQE, raised once the queue is empty
    cdef bint stopping          # cancel(): end at the kernel's final CQE
    cdef bint closing           # close(): dispose of whatever arrives
    cdef bint pausing           # cancelled because the consumer fell behind
    cdef bint cancel_sent
    cdef bint listed            # in the list of streams _reap will call _after_reap on
    cdef object waker           # called once after a reap that queued or ended something
    cdef object read_fut        # asyncio StreamReader: the Future a read() waits on, or None
    cdef Py_ssize_t read_n      # ... and how many bytes it takes at most
    cdef Py_ssize_t parts       # how many receives the bytes _take_joined returned last came from
    # A StreamReader's recv (Multishot._read) adapts to the peer. Idle (ping-pong: a request,
    # its reply), the multishot recv is armed and a message costs no SQE. While the peer
    # streams, a multishot recv runs in the thread's task work at every system call once data
    # is there (2-3 receives per read cycle, each a tcp_recvmsg that may make TCP send the
    # peer an ACK); then ``single``: the multishot is cancelled and each read() that finds
    # nothing queued arms ONE recv into ``sbuf``, submitted with the iteration's sends in one
    # io_uring_enter, where it completes at once since the data is there (as asyncio's
    # transport makes one recv(2) per loop iteration). A recv that found nothing and had to
    # wait (completed after the pump that submitted it) means the peer paused: the multishot
    # again.
    cdef bint single            # the next request armed is a single-shot recv
    cdef bint op_single         # op is one
    cdef object sbuf            # bytearray the single-shot recvs receive into (while single)
    cdef _AsyncDriver driver    # the StreamReader's, whose pump count tells an inline recv
    cdef unsigned long arm_pump # driver.pumps when the single-shot recv was armed
    # ``ready`` (a StreamReader's stream, made by Ring._stream_recv): while the peer is idle the
    # socket is watched by the driver's event loop (loop.add_reader) instead of a multishot
    # recv, and each readable event takes one recv(2) (_on_readable), as asyncio's transports
    # do. A multishot recv is woken by io_uring's task work, which interrupts the loop's
    # epoll_wait (EINTR, then a second epoll_wait): measured in C, receiving through io_uring
    # under an epoll loop is 3 % slower per ping-pong message than epoll + recv(2) (bench/
    # RESULTS.md, session 17). While the peer streams, ``single`` as before.
    # Two peers are told apart by when the socket turns readable after the reader began to
    # wait: a peer that answers (ping-pong) takes a round trip; one that streams (pipelined
    # messages) has sent more meanwhile, and the socket is readable in the loop iteration
    # where the reader began to wait (at once). Twice in a row at once: ``single``. Several
    # sockets readable in one epoll_wait (ten connections' messages): their streams take the
    # multishot recv (ready off), whose completions come in one reap and whose replies go out
    # in one io_uring_enter.
    cdef bint ready             # idle receives wait for readiness in the loop
    cdef bint registered        # the fd is watched by driver.loop now (add_reader)
    cdef object ready_cb        # self._on_readable, bound once
    cdef double wait_t          # _now() when the reader began to wait (0: it does not wait)
    cdef int at_once            # readable events in a row that came at once (< _AT_ONCE_S)

    cdef int _arm(self) except -1:
        cdef Ring ring = self.ring
        cdef Operation op
        cdef unsigned flags = self.sqe_flags
        if ring._in_own_chain():
            raise RuntimeError("a multishot request cannot be part of a linked() chain: "
                               "start it outside the `with ring.linked():` block")
        if self.buffers is not None and self.buffers._closed:
            raise ValueError(f"{self.buffers!r} is closed")
        if self.single:
            return self._arm_single()
        if self.ready and self.driver is not None and self.driver.loop is not None:
            return self._arm_ready()    # (unwatched by the AsyncRing's close: close_streams)
        sqe = ring._sqe()
        self.prep(sqe, *self.args)
        if self.buffers is not None:
            L.io_uring_sqe_set_buf_group(sqe, self.buffers.bgid)
            flags |= L.IOSQE_BUFFER_SELECT
        op = ring._queue_sqe(sqe, self.name, self.fd, None, None, flags, None)
        op._stream = self
        self.op = op
        self.op_single = False
        self.cancel_sent = False
        self.pausing = False
        return 0

    cdef int _arm_single(self) except -1:
        """Arm one recv into sbuf (see ``single``)."""
        cdef Ring ring = self.ring
        cdef c.io_uring_sqe request         # encoded off the SQ (Ring._queue)
        if self.sbuf is None:
            self.sbuf = bytearray(_SINGLE_RECV_SIZE)
        pin = door_prep_recv(None, _blank(&request), <int>self.fd, self.sbuf, _SINGLE_RECV_SIZE,
                             <int>self.args[3])
        self.op = ring._queue(&request, sizeof(request), pin, self.name, self.fd, None, None,
                              self.sqe_flags, None)
        self.op._stream = self
        self.op_single = True
        self.arm_pump = self.driver.pumps
        self.cancel_sent = False
        self.pausing = False
        return 0

    cdef int _arm_ready(self) except -1:
        """Watch the socket in the driver's loop (see ``ready``)."""
        cdef _AsyncDriver driver = self.driver
        if self.registered:
            return 0
        if self.ready_cb is None:
            self.ready_cb = self._on_readable
        driver.loop.add_reader(<int>self.fd, self.ready_cb)
        self.registered = True
        driver.ready_streams.add(self)
        self.cancel_sent = False
        self.pausing = False
        return 0

    cdef int _unregister(self) except -1:
        """Stop watching the socket (end of stream, error, pause, close, streaming peer)."""
        cdef _AsyncDriver driver = self.driver
        if not self.registered:
            return 0
        self.registered = False
        self.ready_cb = None            # (a stream -> bound method -> stream cycle otherwise)
        driver.ready_streams.discard(self)
        loop = driver.loop
        if loop is not None and not loop.is_closed():
            loop.remove_reader(<int>self.fd)
        return 0

    def _on_readable(self):
        """The loop's reader callback while ``registered``: one recv(2) of what the socket
        holds (up to 64 KiB), queued as a multishot recv's completion would be, and the reader
        woken."""
        cdef _AsyncDriver driver = self.driver
        cdef char *buf
        cdef ssize_t res
        cdef int err
        if not self.registered:
            return                      # unregistered after the loop saw the event
        if self.ring.closed:
            self._unregister()          # the reader's next _take reports the closed Ring
            self._wake()
            return
        buf = driver._recv_buffer()
        res = _c_recv(<int>self.fd, buf, <size_t>_SINGLE_RECV_SIZE, <int>self.args[3] | _c_MSG_DONTWAIT)
        if res < 0:
            err = errno_c
            if err == EAGAIN or err == EWOULDBLOCK or err == EINTR:
                return
            self._unregister()
            if not (self.closing or self.stopping):
                self.error = err
            self.ended = True
        elif res == 0:
            self._unregister()
            self.ended = True           # the peer shut down
        else:
            if not self.closing:
                self.results.append(PyBytes_FromStringAndSize(buf, res))
                self.queued_bytes += res
            if self.wait_t > 0 and _now() - self.wait_t < _AT_ONCE_S:
                self.at_once += 1
                if self.at_once >= 2:
                    self.at_once = 0
                    self._go_single()   # the peer streams
            else:
                self.at_once = 0
            if self._behind():
                self._unregister()      # paused: watched again once the reader caught up (_take)
        self.wait_t = 0
        driver._ready_woke(self)
        self._wake()

    cdef int _leave_ready(self) except -1:
        """Its idle receives go to the multishot recv from now on (armed when the queue is
        empty: _take, Multishot._read)."""
        self.ready = False
        return self._unregister()

    cdef int _go_single(self) except -1:
        """The peer streams: cancel the multishot recv; the next read() arms a single-shot
        one (once the multishot's last completion is reaped)."""
        self.single = True
        self._unregister()
        if self.op is not None and not self.op_single and not self.cancel_sent:
            self.pausing = True         # its ECANCELED does not end the stream
            self._send_cancel()
            self.driver.schedule_flush()
        return 0

    cdef int _push(self, int res, uint32_t flags) except -1:
        """One CQE of the armed request (from Ring._reap, before the CQ head moves on)."""
        cdef unsigned bid
        obj = None
        if self.kind == _MS_DATA or self.kind == _MS_MSG:
            if flags & IORING_CQE_F_BUFFER:
                bid = flags >> IORING_CQE_BUFFER_SHIFT
                try:
                    if res > 0 and not self.closing:
                        obj = self.buffers._copy(bid, res)
                        self.queued_bytes += res
                finally:
                    self.buffers._recycle(bid)
            elif self.op_single and res > 0:
                if not self.closing:
                    obj = PyBytes_FromStringAndSize(PyByteArray_AS_STRING(self.sbuf), res)
                    self.queued_bytes += res
                if self.driver.pumps - self.arm_pump > 1:
                    self.single = False     # it waited for data: the peer paused
                    self.sbuf = None        # (the request's pin holds it until the CQE is consumed)
        elif self.kind == _MS_FD:
            if res >= 0:
                if self.closing:
                    _c_close(res)           # accepted after close(): nobody will take it
                else:
                    obj = res
        elif self.kind == _MS_TICK:
            if res == -ETIME:
                self.ticks += 1
                obj = self.ticks
        elif res >= 0:
            obj = res
        if obj is not None:
            self.results.append(obj)
        if not flags & IORING_CQE_F_MORE:
            self._final(res)
        return 0

    cdef void _final(self, int res) noexcept:
        """The armed request ended (its last CQE, or the Ring closed)."""
        self.op = None
        self.op_single = False
        if self.closing or self.stopping:
            self.ended = True
            return
        if self.pausing:
            self.pausing = False
            if res == -ECANCELED:
                return                  # paused: re-armed once the consumer has caught up
        if res < 0:
            if self.kind == _MS_TICK and res == -ETIME:
                self.ended = True       # the count-th expiration
            elif res == -ENOBUFS and self.rearm and (self.kind == _MS_DATA or self.kind == _MS_MSG):
                pass                    # a burst outran the reaping: re-armed
            elif res == -ECANCELED and self.rearm:
                # Not asked for here: the kernel cancels a request whose submitting thread has
                # exited when it would complete (another thread may have submitted this one).
                pass
            else:
                self.ended = True
                self.error = -res
        elif res == 0 and (self.kind == _MS_DATA or self.kind == _MS_MSG):
            self.ended = True           # end of file / the peer shut down
        elif not self.rearm or self.kind == _MS_TICK:
            self.ended = True
        # else: the kernel stopped it for its own reasons (a full CQ): re-armed on demand

    cdef bint _behind(self):
        """The consumer has fallen behind: pause the request."""
        if self.kind == _MS_FD:
            return len(self.results) > _MAX_QUEUED_FDS
        if self.kind == _MS_DATA or self.kind == _MS_MSG:
            return self.queued_bytes > self.max_bytes
        return False

    cdef int _after_reap(self) except -1:
        """After a reap that gave this stream CQEs: pause or cancel if asked, wake the waiter."""
        if self.op is not None and not self.cancel_sent:
            if self.closing or self.stopping:
                self._send_cancel()
            elif self._behind():
                self.pausing = True
                self._send_cancel()
        self._wake()
        return 0

    cdef void _wake(self) except *:
        waker = self.waker
        if waker is not None:
            self.waker = None
            self.ring._wakes += 1
            waker()
        if self.read_fut is not None:
            self._deliver_read()

    cdef void _deliver_read(self) except *:
        """A StreamReader waits: wake it when something is queued (data, the end, an error).
        It takes the data itself when its task runs, so that it gets what arrived meanwhile
        too (Multishot._read)."""
        fut = self.read_fut
        if fut.done():                  # cancelled: its task no longer wants the data
            self.read_fut = None
            return
        if not (self.results or self.ended or self.closing or (self.op is None and not self.registered)):
            return                      # nothing yet: keep waiting
        self.read_fut = None
        self.ring._wakes += 1
        try:
            fut.set_result(None)
        except RuntimeError:
            pass                        # its loop is closed

    cdef int _send_cancel(self) except -1:
        """IORING_OP_ASYNC_CANCEL for the armed request; later if this is no time to queue
        (inside Ring._reap, inside this thread's linked() chain, another thread of a
        SINGLE_ISSUER ring: the next reap of the Ring sends it)."""
        cdef Ring ring = self.ring
        if self.op is None or self.cancel_sent or ring.closed:
            return 0
        if ring._reaping or ring._in_own_chain():
            ring._deferred_cancels.append(self)
            return 0
        try:
            ring._cancel(self.op)
        except RuntimeError:
            ring._deferred_cancels.append(self)
            return 0
        except BaseException:
            ring._deferred_cancels.append(self)     # e.g. KeyboardInterrupt while the SQ was full
            raise
        self.cancel_sent = True
        return 0

    cdef object _take(self):
        """The next result, _EMPTY (nothing yet: the request is (re-)armed as needed) or _END."""
        cdef int err
        if self.results:
            obj = self.results.popleft()
            if self.kind == _MS_DATA:
                self.queued_bytes -= len(<bytes>obj)
            elif self.kind == _MS_MSG:
                self.queued_bytes -= len(<bytes>obj)
                obj = _parse_recvmsg(<bytes>obj, self.msg)
            return obj
        if self.ended or self.closing:
            if self.error:
                err = self.error
                self.error = 0
                raise OSError(err, f"{os.strerror(err)} [{self.name}({self._describe()})]")
            return _END
        if self.op is None and not self.registered:
            if self.ring.closed:
                self.ended = True
                raise OSError(ECANCELED, f"{os.strerror(ECANCELED)} [{self.name}({self._describe()})]: "
                              f"the Ring was closed")
            self._arm()
        return _EMPTY

    cdef str _describe(self):
        return "" if self.fd is None else f"fd={self.fd}"

    cdef void _dispose(self) noexcept:
        """close(): results nobody will take. Accepted fds are closed; data is dropped."""
        if self.kind == _MS_FD:
            while self.results:
                _c_close(<int>self.results.popleft())
        else:
            self.results.clear()
        self.queued_bytes = 0


cdef object _parse_recvmsg(bytes raw, object msg):
    """A recvmsg multishot buffer as socket.recvmsg returns it: (data, ancdata, msg_flags,
    address); the thin layer's io_uring_recvmsg_* helpers check every offset."""
    out = L.io_uring_recvmsg_validate(raw, len(raw), msg)
    if out is None:
        raise OSError(errno.EMSGSIZE, "a multishot recvmsg completion is shorter than its header: "
                      "use a BufferRing with larger buffers (size)")
    name = L.io_uring_recvmsg_name(out)
    address = L.sockaddr.from_bytes(name).to_python() if len(name) >= 2 else None
    ancdata = []
    cmsg = L.io_uring_recvmsg_cmsg_firsthdr(out, msg)
    while cmsg is not None:
        ancdata.append((cmsg.cmsg_level, cmsg.cmsg_type, bytes(cmsg.cmsg_data)))
        cmsg = L.io_uring_recvmsg_cmsg_nexthdr(out, msg, cmsg)
    return (bytes(L.io_uring_recvmsg_payload(out, msg)), ancdata, out.flags, address)


@cython.final
cdef class Multishot:
    """The results of one multishot request, as an iterator (``for fd in
    ring.accept_multishot(sock): ...``); made by Ring's ``*_multishot`` methods.

    Each ``next()`` returns the next result, waiting for the kernel as ``Operation.result()``
    does. The iteration ends when the request ends: end of file (recv, read), the count-th
    expiration (timeout), after ``cancel()``; a failure raises OSError once the results that
    came before it have been taken. When the kernel ends the request for its own reasons (out
    of provided buffers: ENOBUFS; a full completion queue; ECANCELED because the thread that
    submitted it has exited) it is re-armed, so nothing is lost.

    ``close()`` (also on leaving ``with``, breaking out of a ``for`` loop that made it, or
    garbage collection) cancels the kernel request; results nobody took are discarded, accepted
    fds closed."""
    cdef _Stream _s
    cdef object __weakref__

    cdef _Stream _stream(self):
        if self._s is None:
            raise ValueError("not a multishot request: Multishot objects come from Ring methods")
        return self._s

    def __iter__(self):
        return self

    def __next__(self):
        cdef _Stream s = self._stream()
        while True:
            obj = s._take()
            if obj is _EMPTY:
                s.ring._block(-1.0, True)
            elif obj is _END:
                raise StopIteration
            else:
                return obj

    def _take(self):
        """For ioring.asyncio: the next result, ``_EMPTY`` (wait: the waker set with
        ``_set_waker`` is called after the next reap that concerns this request) or ``_END``."""
        return self._stream()._take()

    def _read(self, _AsyncDriver driver not None, Py_ssize_t n, bint wait=True):
        """For ioring.asyncio's StreamReader: the bytes of every queued receive that fits in
        ``n`` (joined: a multishot recv posts a completion per segment that arrives, and a
        reader that took them one by one would pay a Python round each; a receive larger
        than ``n`` comes whole), b"" at end of stream, or, when nothing is queued, a Future of
        the driver's loop that a reap resolves (with None) once something is: call again
        then (``wait`` false: None instead of a Future; a single-shot recv is then submitted
        at once, see _Stream.single, and what it takes returned). Completions already posted
        are reaped first, so that a reply carries everything that has arrived. Raises the
        request's OSError. ``_parts`` then tells how many receives the bytes came from;
        several switch the stream to single-shot receives (the peer streams)."""
        cdef _Stream s = self._stream()
        cdef Ring ring = s.ring
        if s.driver is not driver:
            if s.kind != _MS_DATA or s.buffers is None:
                raise ValueError("StreamReader reads take a recv_multishot's data")
            s.driver = driver
        if not ring._reaping and ring.uring.initialized and \
                ring.uring.door_cq_ready() and not ring._in_own_chain():
            ring._reap(0)
            driver._streaming()
        data = _take_joined(s, n)
        if data is _END:
            return b""
        if data is not _EMPTY:
            if not s.single and s.parts > 1:
                s._go_single()          # several receives queued since the last read: streaming
            elif not s.single and s.op is None and not s.registered and not s.results and \
                    not (s.ended or s.closing or ring.closed) and not ring._in_own_chain():
                # Back from single-shot receives (the last one waited), or from a pause: the
                # idle receive armed again now, while the reader works, as it is between reads
                # of an idle peer.
                s._arm()
                if ring.uring.door_sq_ready():
                    driver.schedule_flush()
            driver.ready_open = False   # the wake-ups of a batch have all run (_ready_woke)
            driver.ready_first = None
            return data
        if s.single:
            driver._streaming()         # the recv goes in the next enter: the writes too
        if not wait:
            if s.op_single and driver.pumps == s.arm_pump:
                # A single-shot recv armed and not submitted yet: submit it now, it takes
                # what is there (StreamReader._more). A failing submit is the Ring's, not this
                # stream's: the flush scheduled here reports it (to the loop).
                try:
                    driver._pump()
                except OSError:
                    driver.schedule_flush()
                    return None
                data = _take_joined(s, n)
                if data is _END:
                    return b""
                if data is not _EMPTY:
                    return data
            return None
        if s.read_fut is not None and not s.read_fut.done():
            raise RuntimeError("read() called while another read() of this stream waits")
        fut = driver.loop.create_future()
        s.read_fut = fut
        s.read_n = n
        if s.registered:
            s.wait_t = _now()
        if ring.uring.door_sq_ready():
            driver.schedule_flush()     # a re-armed request is queued: submit it
        return fut

    def _idle_multishot(self):
        """For tests: a StreamReader's idle receives take the multishot recv from now on (as
        after several of the loop's sockets were readable at once: see _Stream.ready), armed
        now."""
        cdef _Stream s = self._stream()
        s._leave_ready()
        if s.op is None and not (s.ended or s.closing or s.single):
            s._arm()
            if s.driver is not None:
                s.driver.schedule_flush()

    @property
    def _ready(self):
        """For tests: a StreamReader's idle receives wait for readiness in the event loop
        (see _Stream.ready); ``_watched``: the loop watches its socket now."""
        return self._stream().ready

    @property
    def _watched(self):
        return self._stream().registered

    @property
    def _single(self):
        """For tests: a StreamReader's recv takes single-shot receives (the peer streams)
        instead of the multishot one (see _Stream.single)."""
        return self._stream().single

    @property
    def _parts(self):
        """For ioring.asyncio's StreamReader: how many receives the bytes the last ``_read``
        returned came from (more than one: the peer streams)."""
        return self._stream().parts

    def _set_waker(self, waker):
        self._stream().waker = waker

    def _wait(self, loop):
        """For ioring.asyncio: a Future of ``loop`` that the next reap concerning this request
        resolves (the waker, in C: no Python call per wake-up)."""
        fut = loop.create_future()
        self._stream().waker = _FutureWaker(fut)
        return fut

    def cancel(self):
        """Ask the kernel to stop: results that already arrived are still returned, then the
        iteration ends. Returns False if the request had already ended."""
        cdef _Stream s = self._stream()
        if s.ended or s.stopping or s.closing:
            return False
        s.stopping = True
        s._unregister()
        if s.op is None:
            s.ended = True
        else:
            s._send_cancel()
        s._wake()
        return True

    def close(self):
        """Cancel the kernel request and discard what nobody took (fds are closed). Idempotent."""
        cdef _Stream s = self._s
        if s is None or s.closing:
            return
        s.closing = True
        s._dispose()
        s._unregister()
        if s.op is None:
            s.ended = True
        else:
            s._send_cancel()
        s._wake()       # a consumer waiting for the next result (another task) sees the end

    @property
    def kind(self):
        """The request: 'accept_multishot', 'recv_multishot', ..."""
        return self._stream().name

    @property
    def fd(self):
        return self._stream().fd

    @property
    def armed(self):
        """A request of this iterator is in the kernel (its last completion not reaped yet)."""
        return self._stream().op is not None

    @property
    def pending(self):
        """Results received and not yet taken."""
        return len(self._stream().results)

    @property
    def ended(self):
        """No result will come any more (some may still be pending)."""
        cdef _Stream s = self._stream()
        return s.ended or s.closing

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        if self._s is not None:
            try:
                self.close()
            except BaseException:
                pass

    def __repr__(self):
        s = self._s
        if s is None:
            return "<Multishot (not made by a Ring)>"
        state = "armed" if s.op is not None else ("ended" if s.ended or s.closing else "idle")
        return f"<Multishot {s.name}({s._describe()}) {state} pending={len(s.results)}>"


cdef object _take_joined(_Stream s, Py_ssize_t n):
    """As _Stream._take, with the bytes of consecutive queued receives joined while they fit
    in ``n``."""
    cdef Py_ssize_t total
    cdef list parts
    s.parts = 1
    if s.kind != _MS_DATA or len(s.results) < 2:
        return s._take()
    first = s.results.popleft()
    total = len(<bytes>first)
    if total >= n or len(<bytes>s.results[0]) + total > n:
        s.queued_bytes -= total
        return first
    parts = [first]
    while s.results and total + len(<bytes>s.results[0]) <= n:
        chunk = s.results.popleft()
        total += len(<bytes>chunk)
        parts.append(chunk)
    s.queued_bytes -= total
    s.parts = len(parts)
    return b"".join(parts)


@cython.final
@cython.no_gc
cdef class _FutureWaker:
    """A waker that resolves an asyncio Future with None (unless it is done: cancelled)."""
    cdef object fut

    def __cinit__(self, fut):
        self.fut = fut

    def __call__(self):
        fut = self.fut
        if not fut.done():
            try:
                fut.set_result(None)
            except RuntimeError:
                pass        # its loop is closed


cdef Multishot _start_multishot(Ring ring, _MsKind kind, str name, object fd, object prep,
                                tuple args, unsigned sqe_flags, BufferRing buffers, bint rearm,
                                object msg=None, _AsyncDriver ready_driver=None):
    cdef _Stream s = _Stream.__new__(_Stream)
    cdef Multishot ms = Multishot.__new__(Multishot)
    s.ring = ring
    s.kind = kind
    s.name = name
    s.fd = fd
    s.prep = prep
    s.args = args
    s.sqe_flags = sqe_flags
    s.buffers = buffers
    s.msg = msg
    s.rearm = rearm
    s.results = collections.deque()
    if buffers is not None:
        s.max_bytes = <Py_ssize_t>buffers.count * buffers.size
    if ring._issuer:
        ring._check_thread()
    ring._sq_gate()
    if ready_driver is None:
        s._arm()
    else:
        s.ready = True              # armed by the reader's first read (see _Stream.ready)
        s.driver = ready_driver
    ms._s = s
    return ms


cdef str _multishot_prep_hint(io_uring_sqe sqe):
    """If ``sqe`` was prepared as a request that posts several completions, the Ring method
    that routes them; None otherwise."""
    op = sqe.opcode
    if op == L.IORING_OP_ACCEPT and sqe.ioprio & L.IORING_ACCEPT_MULTISHOT:
        return "ring.accept_multishot(sock)"
    if op == L.IORING_OP_RECV and sqe.ioprio & L.IORING_RECV_MULTISHOT:
        return "ring.recv_multishot(sock)"
    if op == L.IORING_OP_RECVMSG and sqe.ioprio & L.IORING_RECV_MULTISHOT:
        return "ring.recvmsg_multishot(sock)"
    if op == L.IORING_OP_READ_MULTISHOT:
        return "ring.read_multishot(fd)"
    if op == L.IORING_OP_POLL_ADD and sqe.len & L.IORING_POLL_ADD_MULTI:
        return "ring.poll_multishot(fd, mask)"
    if op == L.IORING_OP_POLL_REMOVE and sqe.len & L.IORING_POLL_ADD_MULTI:
        return "ring.poll_multishot(fd, mask) (a poll update cannot make a Ring request multishot)"
    if op == L.IORING_OP_TIMEOUT and sqe.rw_flags & L.IORING_TIMEOUT_MULTISHOT:
        return "ring.timeout_multishot(seconds, count=...)"
    if op == L.IORING_OP_RECV_ZC:
        return "ring.multishot(prep, ...)"
    if op == L.IORING_OP_URING_CMD and sqe.rw_flags & L.IORING_URING_CMD_MULTISHOT:
        return "ring.multishot(prep, ...)"
    return None
