# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The Pythonic layer's core: ``Ring`` (one io_uring), ``Operation`` (one queued request) and
the batch entry points that prepare, submit and reap a whole batch in one call into C.

Every request goes through the thin layer's door (``ioring/liburing.pxd``, docs/ARCHITECTURE.md):
SQEs are taken with ``door_acquire``, encoded by the door's preps (the checks and conversions of
the thin layer's ``io_uring_prep_*``, at C level, no Python-level SQE object) or by the batches in
C, and what the kernel uses stays pinned by the thin layer until the completion is reaped.
"""
cimport cython
from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyObject_CheckBuffer, PyBUF_WRITABLE,
                             PyBUF_ANY_CONTIGUOUS, PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, Py_buffer)
from cpython.bytes cimport PyBytes_Check
from cpython.bytearray cimport PyByteArray_Check
from cpython.exc cimport PyErr_CheckSignals
from cpython.pythread cimport PyThread_get_thread_ident
from libc.errno cimport EINTR, ETIME, EAGAIN, EBUSY, errno as errno_c
from ioring.includes.libc_extra cimport ECANCELED
from ioring.includes.socket cimport SOCK_CLOEXEC
from libc.stdint cimport uint64_t, int64_t, int32_t, uint32_t, uint16_t, uint8_t
from libc.stdlib cimport calloc, free, malloc
from libc.string cimport memset, memcpy

from posix.time cimport clock_gettime, timespec, CLOCK_MONOTONIC
from posix.unistd cimport read as _c_read

from ioring.includes cimport core as c
from ioring.includes.constants cimport (_c_IORING_CQE_F_MORE as IORING_CQE_F_MORE,
                                        _c_IORING_FEAT_EXT_ARG as IORING_FEAT_EXT_ARG)
cimport cpython.array as carray
from ioring.liburing cimport io_uring, io_uring_sqe, _Buffer, kernel_timespec
# The door's preps (ioring/liburing.pxd): the request methods encode their SQEs through these.
from ioring.liburing cimport (door_prep_read, door_prep_write, door_prep_rwv, door_prep_rw_fixed,
                              door_prep_timeout, door_prep_openat, door_prep_statx, door_prep_send,
                              door_prep_recv, door_prep_splice, door_prep_connect)
from ioring.includes.prep_net cimport ioring_prep_accept

import array
import collections
import errno
import fcntl
import os
import threading
import time
import warnings

from ioring import liburing as L

_RESULTS_TEMPLATE = array.array("q")     # batch results: C int64 (cqe.res)
# From the C header, not the socket module: importing socket (and selectors) would cost every
# `import ioring` ~2.5 ms, a sixtieth of unpacking a wheel.
_SOCK_CLOEXEC = SOCK_CLOEXEC
# read_files batches this large go to ioring.files' C engine (a private ring): below it, that
# ring's set-up costs more than the Python per file it saves.
_C_FILE_BATCH = 64

# user_data of batch requests: the top bit set, the batch's id in bits 32-61 (ids are unique
# among the batches running on a Ring, never 0), the index in the batch in the low 32 bits.
# File chains (_ring_files.pxi) set bit 61 and neither of the two above. Single requests use a
# counter below 2**61, so none of them meet.
cdef uint64_t _BATCH_TAG = 1ULL << 63
cdef uint64_t _CANCEL_TAG = 1ULL << 62
cdef uint64_t _BATCH_ID_MASK = (1ULL << 30) - 1
# The NOP that wakes a thread sleeping in the kernel for this Ring (see Ring._block).
cdef uint64_t _WAKE_UD = _CANCEL_TAG
# A thread waiting in the kernel re-checks at least this often (seconds): the bound for what no
# wake-up NOP can reach (completions consumed through the thin layer, a full SQ).
cdef double _SAFETY_WAIT = 1.0


cdef inline double _now() noexcept:
    cdef timespec t
    clock_gettime(CLOCK_MONOTONIC, &t)
    return t.tv_sec + t.tv_nsec * 1e-9


cdef class Operation:
    """One queued request. ``result()`` waits for it; a negative result raises OSError naming
    the request, its fd and its path."""
    cdef readonly Ring ring
    cdef readonly str kind
    cdef readonly object fd
    cdef readonly object path
    cdef readonly uint64_t user_data
    cdef object _value          # what result() returns on success (None: cqe.res)
    cdef object _res            # cqe.res once complete
    cdef readonly uint32_t flags
    cdef object _callbacks
    cdef unsigned long _thread  # the thread that queued it (completions() of that thread)
    cdef object _stream         # a multishot request: the _Stream its CQEs go to
    cdef object _job            # read_file/write_file: its _FileJob until it completes
    cdef object __weakref__

    def done(self):
        """True once the completion has been reaped."""
        return self._res is not None

    @property
    def res(self):
        """The raw cqe.res (None until done)."""
        return self._res

    def describe(self):
        parts = [] if self.fd is None else [f"fd={self.fd}"]
        if self.path is not None:
            parts.append(f"path={self.path!r}")
        return f"{self.kind}({', '.join(parts)})"

    def exception(self, timeout=None):
        """The OSError the request failed with, or None (waits like result, at most
        ``timeout`` seconds: TimeoutError)."""
        if self.ring is None:
            raise ValueError("not a queued request: Operations come from Ring methods")
        if self._res is None:
            self.ring._wait_for(self, timeout)
        if self._res >= 0:
            return None
        if isinstance(self._value, OSError):
            return self._value      # a file chain's error, made by its engine
        err = -<int>self._res
        message = f"{os.strerror(err)} [{self.describe()}]"
        if err == errno.EINVAL and self.kind in _FILE_IO_KINDS and _is_o_direct(self.fd):
            message += _O_DIRECT_RULE
        return OSError(err, message, self.path)

    def result(self, timeout=None):
        """Wait (at most ``timeout`` seconds: TimeoutError) and return the result: the byte
        count, the new fd, the statx... A negative cqe.res raises OSError."""
        if self.ring is None:
            raise ValueError("not a queued request: Operations come from Ring methods")
        if self._res is None:
            self.ring._wait_for(self, timeout)
        if self._res < 0:
            raise self.exception()
        if self._value is None:
            return self._res
        if isinstance(self._value, _Truncate):
            return bytes((<_Truncate>self._value).buf[:self._res])
        return self._value

    def cancel(self):
        """Ask the kernel to cancel the request (IORING_OP_ASYNC_CANCEL); returns False if it
        has already completed. The request then completes with -ECANCELED (or its result)."""
        if self.ring is None:
            raise ValueError("not a queued request: Operations come from Ring methods")
        if self._res is not None:
            return False
        if self._job is not None:
            return self._job.cancel()       # a file chain, a sendall: their own requests
        self.ring._cancel(self)
        return True

    def add_done_callback(self, fn):
        """Call ``fn(op)`` when the request completes (at once if it already has)."""
        if self._res is not None:
            fn(self)
        elif self._callbacks is None:
            self._callbacks = [fn]
        else:
            self._callbacks.append(fn)

    cdef void _complete(self, int res, uint32_t flags):
        self._res = res
        self.flags = flags
        if self._callbacks is not None:
            self.ring._wakes += 1
            callbacks, self._callbacks = self._callbacks, None
            for fn in callbacks:
                fn(self)

    def __repr__(self):
        state = "pending" if self._res is None else f"res={self._res}"
        return f"<Operation {self.describe()} {state}>"


# Requests whose EINVAL, on an O_DIRECT fd, almost always means misaligned I/O.
_FILE_IO_KINDS = frozenset(("read", "write", "read_fixed", "write_fixed", "readv", "writev"))
_O_DIRECT_RULE = (": the fd is open with O_DIRECT, which needs the file offset, the length and "
                  "the buffer address aligned to the device's logical block size (usually 512 or "
                  "4096 bytes; statx with STATX_DIOALIGN tells it); BufferPool buffers are "
                  "page-aligned")


def _is_o_direct(fd):
    if fd is None:
        return False
    try:
        return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT)
    except (OSError, ValueError, TypeError):
        return False        # closed since: no hint rather than a wrong one


cdef class _Linked:
    cdef Ring ring

    def __enter__(self):
        cdef Ring ring = self.ring
        if ring._chain_owner == PyThread_get_thread_ident():
            raise RuntimeError("linked() chains do not nest")
        ring.uring.door_check()
        ring._sq_gate()             # another thread's chain is being queued: after it
        # Claimed with nothing between the gate's check and here that could let another
        # thread in: two chains open at once would interleave.
        ring._chain_owner = PyThread_get_thread_ident()
        ring._link_depth = 1
        ring._link_open = False
        # Where the chain begins in the SQ: if the SQ fills while it is queued, what precedes
        # this point is submitted on its own (Ring._submit_before).
        ring._chain_start = ring.uring.door_sq_tail()
        return ring

    def __exit__(self, *exc):
        cdef Ring ring = self.ring
        cdef c.io_uring_sqe *last = NULL
        if ring._link_open:
            # (NULL: already submitted, through the thin layer, or the ring closed)
            last = ring.uring.door_queued_sqe(ring._link_last)
        ring._link_depth = 0
        ring._link_open = False
        try:
            if last != NULL:
                # The last request of a chain must not link to whatever comes next.
                last.flags = last.flags & ~<uint8_t>(L.IOSQE_IO_LINK | L.IOSQE_IO_HARDLINK)
        finally:
            ring._chain_owner = 0
            if ring._chain_waiters:
                with ring._chain_cond:
                    ring._chain_cond.notify_all()
        if ring._deferred_cancels:
            ring._run_deferred_cancels()
        return False


cdef inline c.io_uring_sqe *_blank(c.io_uring_sqe *request) noexcept:
    """``request`` zeroed: a request method encodes its SQE there, off the SQ, and Ring._queue
    copies it in once it is complete."""
    memset(request, 0, sizeof(c.io_uring_sqe))
    return request


@cython.no_gc_clear
cdef class Ring:
    """One io_uring, as a context manager.

    ``Ring(entries=256, *, sqpoll=False, flags=0, cq_entries=0, sq_thread_idle=0)``. Methods
    that queue a request return an Operation; when the SQ fills up, what is queued is
    submitted automatically. ``submit()``, ``wait()`` and ``completions()`` give explicit control.
    """
    cdef readonly io_uring uring
    cdef dict _ops                 # user_data -> Operation
    cdef uint64_t _next_ud
    cdef int _link_depth
    cdef bint _link_open           # the chain's last request so far is at SQ index _link_last
    cdef unsigned _link_last
    # A linked() chain is positional in the SQ: while one thread queues it, the others neither
    # queue (their request would join it) nor submit (the kernel would run half of it).
    cdef unsigned long _chain_owner    # thread ident of the chain's builder, 0: none
    cdef unsigned _chain_start         # SQ index of the chain's first SQE
    cdef int _chain_waiters
    cdef object _chain_cond
    cdef dict _collectors          # thread ident -> its operations reaped but not yet handed
                                   # out by the completions() it iterates
    # Threads sharing the Ring (see _block): at most one of them sleeps in the kernel (the
    # "leader"), the others wait on _cond until it has reaped.
    cdef object _cond
    cdef bint _leader              # a thread waits in io_uring_enter for this Ring
    cdef bint _woken               # a wake-up NOP was posted for that wait
    cdef int _followers            # threads waiting on _cond
    cdef uint64_t _reap_gen        # bumped whenever CQEs are consumed or a leader returns
    cdef uint64_t _ncompleted      # Operations completed so far (Ring.wait counts with it)
    cdef dict _batches             # batch id -> _Batch, for the batches running now
    cdef uint64_t _next_batch
    cdef long _issuer              # IORING_SETUP_SINGLE_ISSUER: the only thread that may use it
    cdef bint _reaping             # _reap is walking the CQ (nothing may queue meanwhile)
    cdef list _deferred_cancels    # multishot _Streams to cancel once it is safe to queue
    cdef list _buffer_rings        # BufferRings: their memory lives until the Ring is closed
    cdef BufferRing _default_buffers
    cdef int _next_bgid
    cdef _FileEngine _files        # read_file/write_file chains, made on first use
    cdef object _files_lock        # held while the engine is made: it registers the file
                                   # table outside the GIL, and a thread arriving meanwhile
                                   # must not register a second one (EBUSY)
    cdef dict _sendqs              # qid -> _SendQueue of a stream socket (ioring.asyncio streams)
    cdef uint32_t _next_qid
    cdef list _stalled_sends       # _SendQueues with data that waits for a moment to queue it
    cdef uint64_t _wakes           # callbacks, wakers and sinks called by reaps (Ring._pump)
    # The reap in progress (_reap -> door_reap -> _reap_cqe): what its CQEs produced.
    cdef list _rs_done             # (Operation, res, flags) to complete once the CQEs are consumed
    cdef list _rs_streams          # multishot _Streams that got CQEs
    cdef list _rs_sendqs           # _SendQueues whose send completed
    cdef Py_ssize_t _rs_ndone
    cdef unsigned _rs_others       # CQEs of no Operation (another thread may wait for them)
    cdef int _rs_limit
    # The batch id last looked up and its _Batch (None: not running), kept between reaps: a
    # batch's registration sets it and its end clears it, so it is never stale.
    cdef uint64_t _rs_bid
    cdef _Batch _rs_batch
    cdef object __weakref__

    def __init__(self, entries=256, *, bint sqpoll=False, unsigned flags=0,
                 cq_entries=0, unsigned sq_thread_idle=0):
        if sqpoll:
            flags |= L.IORING_SETUP_SQPOLL
        entries, cq_entries = _check_ring_sizes(entries, cq_entries, flags)
        if cq_entries:
            flags |= L.IORING_SETUP_CQSIZE
        p = L.io_uring_params(flags=flags, cq_entries=cq_entries, sq_thread_idle=sq_thread_idle)
        # Everything close() uses exists before the ring does: a signal handler may raise
        # (Ctrl-C) in the Python code below, and the half-made Ring is then closed by __del__.
        self._ops = {}
        self._next_ud = 1
        self._collectors = {}
        self._cond = threading.Condition(threading.Lock())
        self._chain_cond = threading.Condition(threading.Lock())
        self._files_lock = threading.Lock()
        self._batches = {}
        self._next_batch = 1
        self._deferred_cancels = []
        self._buffer_rings = []
        self._sendqs = {}
        self._next_qid = 1
        self._stalled_sends = []
        self.uring = L.io_uring()
        L.io_uring_queue_init_params(entries, self.uring, p)
        if flags & L.IORING_SETUP_SINGLE_ISSUER:
            self._issuer = PyThread_get_thread_ident()

    cdef int _check_thread(self) except -1:
        """A SINGLE_ISSUER ring refuses (the kernel says EEXIST) any other thread's submit."""
        if self._issuer and PyThread_get_thread_ident() != self._issuer:
            raise RuntimeError(
                "this Ring was created with IORING_SETUP_SINGLE_ISSUER: only the thread that "
                f"created it ({self._issuer}) may queue, submit or wait, not thread "
                f"{PyThread_get_thread_ident()} (share a Ring between threads without that flag)")
        return 0

    # ---- lifetime ---------------------------------------------------------------------------

    def close(self):
        """Cancel what is in flight, wait for the kernel, release everything (idempotent)."""
        if self.uring is not None and self.uring.initialized:
            L.io_uring_queue_exit(self.uring)
        if self._files is not None:
            self._files._ring_closed()
        queues, self._sendqs = self._sendqs, {}
        self._stalled_sends = []
        for q in (queues or {}).values():
            (<_SendQueue>q)._ring_closed()
        streams = []
        for op in list(self._ops.values()):
            if (<Operation>op)._stream is not None:
                (<_Stream>(<Operation>op)._stream)._final(-ECANCELED)
                streams.append((<Operation>op)._stream)
            elif (<Operation>op)._res is None:
                (<Operation>op)._complete(-ECANCELED, 0)
        self._ops = {}
        self._deferred_cancels = []
        for br in self._buffer_rings:
            (<BufferRing>br)._closed = True     # unregistered by the ring's exit
        self._buffer_rings = []
        self._default_buffers = None
        for stream in streams:
            (<_Stream>stream)._wake()
        self._reap_gen += 1
        if self._followers:
            with self._cond:
                self._cond.notify_all()

    @property
    def closed(self):
        return not self.uring.initialized

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def fd(self):
        return self.uring.ring_fd

    @property
    def sq_entries(self):
        return self.uring.sq_entries

    @property
    def cq_entries(self):
        return self.uring.cq_entries

    def __repr__(self):
        if self.closed:
            return "<Ring closed>"
        return f"<Ring fd={self.uring.ring_fd} sq={self.uring.sq_entries} in_flight={self.in_flight}>"

    # ---- queueing ---------------------------------------------------------------------------

    cdef inline bint _in_own_chain(self):
        """This thread is queueing a linked() chain."""
        return self._link_depth and self._chain_owner == PyThread_get_thread_ident()

    cdef inline int _sq_gate(self) except -1:
        """The gate of the SQ, passed by every path that queues an SQE or publishes the SQ
        tail: returns once no other thread has a linked() chain open on this Ring (or a
        request and its linked timeout, while the SQ makes room for the timeout: _link_timeout),
        waiting, the GIL released, while one has. The check is the last thing it does, so the caller
        may queue and publish until it next runs Python code or releases the GIL (either lets
        another thread open a chain): then it passes the gate again. One thread alone pays one
        comparison."""
        cdef unsigned long owner = self._chain_owner
        if owner == 0 or owner == PyThread_get_thread_ident():
            return 0
        return self._wait_chain_closed()

    cdef int _wait_chain_closed(self) except -1:
        cdef unsigned long me = PyThread_get_thread_ident()
        if self._chain_cond is None:
            raise ValueError("not an initialized Ring")
        # Re-checked once the Condition is left: leaving it runs Python code (its __exit__),
        # where yet another thread may open a chain.
        while self._chain_owner != 0 and self._chain_owner != me:
            self._chain_waiters += 1
            try:
                with self._chain_cond:
                    while self._chain_owner != 0:
                        self._chain_cond.wait()
            finally:
                self._chain_waiters -= 1
        return 0

    cdef int _gate_submit(self, str what) except -1:
        """Before publishing SQEs: refuse inside this thread's own chain, whose first part
        would go to the kernel alone; pass the SQ gate."""
        if self._in_own_chain():
            raise RuntimeError(
                f"{what} inside this thread's open linked() chain would submit the first part of "
                f"the chain alone: queue the whole chain, leave the `with ring.linked():` block, "
                f"then {what}")
        return self._sq_gate()

    cdef c.io_uring_sqe *_acquire(self) except NULL:
        """An SQE taken through the door (zeroed, its slot tracked), submitting queued ones
        first when the SQ is full (only those before this thread's chain, if one is open)."""
        cdef io_uring uring = self.uring
        cdef c.io_uring_sqe *s
        if self._issuer:
            self._check_thread()
        self._sq_gate()
        while True:
            # (closed, a fork child's copy, held by a stream: refused, also after a submit
            # whose reap ran a callback that closed the Ring)
            s = uring.door_try_acquire()
            if s != NULL:
                return s
            if self._in_own_chain():
                self._submit_before(self._chain_start)
            else:
                self._submit_some()
            self._sq_gate()     # the submit's reap may have run Python code

    cdef io_uring_sqe _sqe(self):
        """A free-standing SQE (``io_uring_sqe()``) for a prep given by the caller (Ring.queue,
        the multishot requests), bound to this Ring so that a prep that checks the ring's tables
        (registered buffers) checks this one's. The prep runs off the SQ: _queue_sqe copies the
        SQE in once it is complete (see _queue)."""
        cdef io_uring_sqe sqe = io_uring_sqe()
        sqe.ring = self.uring
        return sqe

    cdef int _submit_before(self, unsigned start) except -1:
        """The SQ is full while this thread queues a chain that begins at SQ index ``start``
        (a linked() chain, or a request and its linked timeout): submit the requests queued
        before it, and only those. The SQ tail is published up to the chain's first SQE, so no
        part of the chain reaches the kernel before it is complete (a chain cut in two runs
        its first half linked to nothing)."""
        cdef io_uring uring = self.uring
        cdef unsigned chain = uring.door_sq_tail() - start
        cdef unsigned entries = uring.door_sq_entries()
        if chain >= entries:
            raise RuntimeError(
                f"a linked() chain must fit in the submission queue: this Ring has "
                f"{entries} SQ entries and the chain needs more (a request with "
                f"timeout= takes two); use a larger Ring(entries) or split the chain")
        # (RuntimeError if part of the chain was published behind our back: io_uring_submit of
        # the thin layer on this ring; it cannot be held back any more.)
        _check_submit(uring.door_submit_before(start))
        # (A done-callback run by _make_sq_room's reap that queues a request adds it to the
        # chain, as one run by any wait of this thread would.)
        return self._make_sq_room()

    cdef void _submit_some(self) except *:
        self._sq_gate()
        _check_submit(self.uring.door_submit())
        self._make_sq_room()

    cdef int _make_sq_room(self) except -1:
        """After a submit that left the SQ full: the kernel has not consumed the SQEs yet
        (SQPOLL works asynchronously, and a CQ backlog, EBUSY, can hold submission back):
        reap, and wait for SQ space."""
        if self.uring.door_sq_space() == 0:
            self._reap(0)
            if self.uring.flags & L.IORING_SETUP_SQPOLL:
                L.io_uring_sqring_wait(self.uring)
        return 0

    cdef Operation _queue(self, const c.io_uring_sqe *request, size_t size, object pin, str kind,
                          object fd, object path, object value, unsigned flags, timeout):
        """Queue the request encoded in ``request`` (``size`` bytes, prepared off the SQ; ``pin``:
        what its door prep returned, kept alive until its completion) as a new Operation;
        ``timeout`` links a timeout to it.

        What may run Python code (a conversion; an allocation, which the garbage collector may
        follow with finalizers) is done before the SQE is taken: Python code lets another thread
        run, and its submit would publish the SQ as it is, the kernel then running an SQE half
        made (zeroed, or without its user_data and its pin) while the request itself was never
        submitted. From _acquire's return until the Operation is registered only C runs."""
        cdef Operation op
        cdef c.io_uring_sqe *s
        cdef uint64_t ud
        cdef bint in_chain
        ts = None if timeout is None else self._timeout_spec(timeout)
        op = Operation.__new__(Operation)
        op.ring = self
        op.kind = kind
        op.fd = fd
        op.path = path
        op._value = value
        op._thread = PyThread_get_thread_ident()
        s = self._acquire()
        memcpy(s, request, size)
        ud = self._next_ud
        self._next_ud += 1
        op.user_data = ud
        s.user_data = ud
        in_chain = self._in_own_chain()
        if ts is not None or in_chain:
            flags |= L.IOSQE_IO_LINK
        if flags:
            s.flags = s.flags | <uint8_t>flags
        try:
            if pin is not None:
                self.uring.door_pin(s, pin)
            self._ops[ud] = op
        except BaseException:       # (MemoryError) nothing queued, nothing left linked
            self._void(s)
            raise
        if in_chain:
            self._link_open = True
            self._link_last = self.uring.door_sqe_index(s)
        if ts is not None:
            self._link_timeout(ts, self.uring.door_sqe_index(s))
        return op

    cdef Operation _queue_sqe(self, io_uring_sqe sqe, str kind, object fd, object path, object value,
                              unsigned flags, timeout):
        """_queue for the free-standing SQE of _sqe, prepared by a prep of the thin layer: all
        of it (128 bytes on an IORING_SETUP_SQE128 ring) and what the prep pinned."""
        return self._queue(sqe._own, sizeof(c.io_uring_sqe) << c.ioring_sqe_shift(self.uring.door_own_ring()),
                           sqe._own_pins, kind, fd, path, value, flags, timeout)

    cdef void _void(self, c.io_uring_sqe *s) noexcept:
        """Turn an SQE this Ring will not track into a NOP whose completion _reap drops."""
        c.ioring_prep_nop(s)
        s.flags = 0
        s.user_data = _CANCEL_TAG | self._next_ud
        self._next_ud += 1

    cdef object _timeout_spec(self, timeout):
        """The kernel_timespec of a request's ``timeout=`` (seconds), checked before the
        request is linked to anything."""
        sec = float(timeout)
        if not 0 <= sec < 9e18:
            raise ValueError(f"timeout must be >= 0 seconds (and finite), not {timeout!r}")
        if self.uring.door_sq_entries() < 2:
            raise ValueError("a request with timeout= takes two submission queue entries (the "
                             "request and its IORING_OP_LINK_TIMEOUT) and this Ring has one: use "
                             "Ring(entries >= 2)")
        return L.kernel_timespec(int(sec), int((sec - int(sec)) * 1e9))

    cdef _link_timeout(self, kernel_timespec ts, unsigned request):
        """Queue the IORING_OP_LINK_TIMEOUT of the request at SQ index ``request`` (queued
        with IOSQE_IO_LINK) right after it. If the request took the SQ's last entry, what
        precedes it is submitted, not the request (it would run linked to nothing, without its
        timeout); meanwhile the pair is this thread's chain, which other threads stay out of."""
        cdef io_uring uring = self.uring
        cdef c.io_uring_sqe *s = NULL
        cdef bint claimed = False
        s = uring.door_try_acquire()
        if s == NULL:
            if self._chain_owner == 0:
                self._chain_owner = PyThread_get_thread_ident()
                self._chain_start = request
                claimed = True
            else:
                s = self._acquire()     # inside this thread's linked() chain: its own rules
        try:
            while s == NULL:
                self._submit_before(request)
                s = uring.door_try_acquire()    # (refused if its reap closed the Ring)
            c.ioring_prep_link_timeout(s, &ts.ts, 0)
            uring.door_pin(s, ts)
            s.user_data = _CANCEL_TAG | self._next_ud      # its CQE is dropped by _reap
            self._next_ud += 1
            if self._in_own_chain():
                s.flags = s.flags | <uint8_t>L.IOSQE_IO_LINK
                self._link_open = True
                self._link_last = uring.door_sqe_index(s)
        finally:
            if claimed:
                self._chain_owner = 0
                if self._chain_waiters:
                    with self._chain_cond:
                        self._chain_cond.notify_all()

    def queue(self, prep, *args, kind=None, fd=None, path=None, value=None, unsigned flags=0,
              timeout=None):
        """Queue any thin-layer prep: ``ring.queue(L.io_uring_prep_fallocate, fd, 0, 0, 4096)``.
        ``flags`` are IOSQE_* flags; ``timeout`` (seconds) links a timeout to the request.

        A request that posts a completion per result (multishot accept, recv, recvmsg, read,
        poll, timeout...) is refused with ValueError naming the method that hands out its
        results (``accept_multishot``..., or ``multishot(prep, ...)``): an Operation has one
        result, and the others would be lost. So is a MSG_RING to this Ring itself: the
        completion it posts belongs to no request. A zero-copy send's second completion (the
        notification) only ends the request: its result is the first one."""
        sqe = self._sqe()
        prep(sqe, *args)
        hint = _multishot_prep_hint(sqe)
        to_self = hint is None and _msg_ring_to(self, sqe)
        if hint is not None or to_self:
            name = getattr(prep, "__name__", repr(prep))
            if to_self:
                raise ValueError(f"{name} would post a completion into this same Ring that no "
                                 f"request owns: Ring would drop it (or complete the request "
                                 f"that happens to have its user_data). Send it to another ring, "
                                 f"or use ioring.liburing for a ring that messages itself")
            raise ValueError(f"{name} makes a multishot request (a completion per result) that "
                             f"Ring.queue() cannot route: its results would be lost. Use "
                             f"{hint}, which yields every result and cancels the request when "
                             f"closed")
        return self._queue_sqe(sqe, kind or prep.__name__.replace("io_uring_prep_", ""),
                               fd, path, value, flags, timeout)

    # BEGIN ops (generated by tools/gen_ops.py from ioring/_ops_table.py: edit the table)
    def nop(self, *, unsigned flags=0):
        """Queue a NOP (io_uring_prep_nop); result 0."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        c.ioring_prep_nop(s)
        return self._queue(s, sizeof(request), None, "nop", None, None, None, flags, None)

    def read(self, fd, buf, offset=-1, *, nbytes=None, unsigned flags=0, timeout=None):
        """Read into the writable ``buf`` (all of it, or ``nbytes``) at ``offset`` (-1: the
        file position). Result: bytes read. A buffer of a registered BufferPool is read with
        IORING_OP_READ_FIXED. io_uring_prep_read / io_uring_prep_read_fixed."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        cdef int index
        fd = _fileno(fd, "fd")
        index = self._registered_index(buf)
        if index >= 0:
            pin = door_prep_rw_fixed(None, self.uring, s, fd, buf, _nbytes(buf, nbytes), offset, index, True)
        else:
            pin = door_prep_read(None, s, fd, buf, _nbytes(buf, nbytes), offset)
        return self._queue(s, sizeof(request), pin, "read_fixed" if index >= 0 else "read", fd, None, None,
                           flags, timeout)

    def write(self, fd, data, offset=-1, *, nbytes=None, unsigned flags=0, timeout=None):
        """Write ``data`` (all of it, or ``nbytes``) at ``offset`` (-1: the file position);
        WRITE_FIXED for a buffer of a registered BufferPool. Result: bytes written.
        io_uring_prep_write / io_uring_prep_write_fixed."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        cdef int index
        fd = _fileno(fd, "fd")
        index = self._registered_index(data)
        if index >= 0:
            pin = door_prep_rw_fixed(None, self.uring, s, fd, data, _nbytes(data, nbytes), offset, index,
                                     False)
        else:
            pin = door_prep_write(None, s, fd, data, _nbytes(data, nbytes), offset)
        return self._queue(s, sizeof(request), pin, "write_fixed" if index >= 0 else "write", fd, None, None,
                           flags, timeout)

    def readv(self, fd, buffers, offset=-1, *, unsigned flags=0, timeout=None):
        """Scatter-read into ``buffers`` (writable buffers) at ``offset`` (-1: the file
        position); result: total bytes read. io_uring_prep_readv."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        fd = _fileno(fd, "fd")
        pin = door_prep_rwv(None, s, fd, buffers, None, offset, 0, True)
        return self._queue(s, sizeof(request), pin, "readv", fd, None, None, flags, timeout)

    def writev(self, fd, buffers, offset=-1, *, unsigned flags=0, timeout=None):
        """Gather-write ``buffers`` at ``offset`` (-1: the file position); result: total bytes
        written. io_uring_prep_writev."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        fd = _fileno(fd, "fd")
        pin = door_prep_rwv(None, s, fd, buffers, None, offset, 0, False)
        return self._queue(s, sizeof(request), pin, "writev", fd, None, None, flags, timeout)

    def read_fixed(self, fd, buf, offset, int buf_index, *, nbytes=None, unsigned flags=0, timeout=None):
        """READ_FIXED into registered buffer ``buf_index`` (``buf`` lies inside it; all of it,
        or ``nbytes``) at ``offset``; result: bytes read. io_uring_prep_read_fixed."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        fd = _fileno(fd, "fd")
        pin = door_prep_rw_fixed(None, self.uring, s, fd, buf, _nbytes(buf, nbytes), offset, buf_index, True)
        return self._queue(s, sizeof(request), pin, "read_fixed", fd, None, None, flags, timeout)

    def write_fixed(self, fd, buf, offset, int buf_index, *, nbytes=None, unsigned flags=0, timeout=None):
        """WRITE_FIXED from registered buffer ``buf_index`` (``buf`` lies inside it; all of it,
        or ``nbytes``) at ``offset``; result: bytes written. io_uring_prep_write_fixed."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        fd = _fileno(fd, "fd")
        pin = door_prep_rw_fixed(None, self.uring, s, fd, buf, _nbytes(buf, nbytes), offset, buf_index, False)
        return self._queue(s, sizeof(request), pin, "write_fixed", fd, None, None, flags, timeout)

    def fsync(self, fd, *, bint datasync=False, unsigned flags=0, timeout=None):
        """fsync(2) ``fd`` (``datasync=True``: fdatasync); result 0. io_uring_prep_fsync."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        fd = _fileno(fd, "fd")
        c.ioring_prep_fsync(s, fd, L.IORING_FSYNC_DATASYNC if datasync else 0)
        return self._queue(s, sizeof(request), None, "fsync", fd, None, None, flags, timeout)

    def openat(self, path, int oflags=os.O_RDONLY, unsigned mode=0o666, *, dir_fd=L.AT_FDCWD,
               unsigned flags=0, timeout=None):
        """Open ``path`` (relative to ``dir_fd``); result: the new fd. io_uring_prep_openat."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        dir_fd = _fileno(dir_fd, "dir_fd")
        pin = door_prep_openat(None, s, dir_fd, path, oflags, mode)
        return self._queue(s, sizeof(request), pin, "openat", None, path, None, flags, timeout)

    def close_fd(self, fd, *, unsigned flags=0):
        """Close ``fd`` (IORING_OP_CLOSE, io_uring_prep_close). (``Ring.close()`` closes the ring
        itself.)"""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        fd = _fileno(fd, "fd")
        c.ioring_prep_close(s, fd)
        return self._queue(s, sizeof(request), None, "close", fd, None, None, flags, None)

    def statx(self, path, unsigned mask=L.STATX_BASIC_STATS, int statx_flags=0, *, dir_fd=L.AT_FDCWD,
              unsigned flags=0, timeout=None):
        """statx(2) of ``path``; result: an ``ioring.liburing.statx``. io_uring_prep_statx."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        dir_fd = _fileno(dir_fd, "dir_fd")
        st = L.statx()
        pin = door_prep_statx(None, s, dir_fd, path, statx_flags, mask, st)
        return self._queue(s, sizeof(request), pin, "statx", None, path, st, flags, timeout)

    def send(self, sock, data, int msg_flags=0, *, unsigned flags=0, timeout=None):
        """send(2) ``data`` on ``sock`` (a socket or an fd); result: bytes sent.
        io_uring_prep_send."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        cdef int fd = _fileno(sock, "sock")
        pin = door_prep_send(None, s, fd, data, _nbytes(data, None), msg_flags)
        return self._queue(s, sizeof(request), pin, "send", fd, None, None, flags, timeout)

    def recv(self, sock, buf, int msg_flags=0, *, unsigned flags=0, timeout=None):
        """Receive into ``buf`` (a writable buffer) or, given an int, into a new bytearray of
        that size (the result is then the bytes received). io_uring_prep_recv."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        cdef int fd = _fileno(sock, "sock")
        value = None
        if isinstance(buf, int):
            buf = bytearray(buf)
            value = _Truncate(buf)
        pin = door_prep_recv(None, s, fd, buf, _nbytes(buf, None), msg_flags)
        return self._queue(s, sizeof(request), pin, "recv", fd, None, value, flags, timeout)

    def accept(self, sock, int accept_flags=_SOCK_CLOEXEC, *, unsigned flags=0, timeout=None):
        """Accept a connection; result: the new socket fd (close-on-exec by default, as the
        sockets of Python are: ``accept_flags=0`` makes it inheritable). io_uring_prep_accept."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        cdef int fd = _fileno(sock, "sock")
        ioring_prep_accept(s, fd, NULL, NULL, accept_flags)
        return self._queue(s, sizeof(request), None, "accept", fd, None, None, flags, timeout)

    def connect(self, sock, address, *, unsigned flags=0, timeout=None):
        """Connect ``sock`` to ``address`` (as the socket module takes it); result 0.
        io_uring_prep_connect."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        cdef int fd = _fileno(sock, "sock")
        addr = L.sockaddr(int(sock.family), address)
        pin = door_prep_connect(None, s, fd, addr, None)
        return self._queue(s, sizeof(request), pin, "connect", fd, None, None, flags, timeout)

    def splice(self, fd_in, off_in, fd_out, off_out, unsigned nbytes, unsigned splice_flags=0, *,
               unsigned flags=0, timeout=None):
        """splice(2) ``nbytes`` from ``fd_in`` (at ``off_in``, -1: its position) to ``fd_out``
        (at ``off_out``); result: bytes moved. io_uring_prep_splice."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        fd_in = _fileno(fd_in, "fd_in")
        fd_out = _fileno(fd_out, "fd_out")
        pin = door_prep_splice(None, s, fd_in, off_in, fd_out, off_out, nbytes, splice_flags)
        return self._queue(s, sizeof(request), pin, "splice", fd_in, None, None, flags, timeout)

    def timeout(self, seconds, *, unsigned count=0, unsigned flags=0):
        """A timer: completes after ``seconds`` (result() returns 0; -ETIME is success here);
        ``count``: or once that many requests completed. io_uring_prep_timeout."""
        cdef c.io_uring_sqe request
        cdef c.io_uring_sqe *s = _blank(&request)
        sec = float(seconds)
        ts = L.kernel_timespec(int(sec), int((sec - int(sec)) * 1e9))
        pin = door_prep_timeout(None, s, ts, count, 0)
        return self._queue(s, sizeof(request), pin, "timeout", None, None, 0, flags, None)

    # END ops

    def sendall(self, sock, data, int msg_flags=0, *, unsigned flags=0, timeout=None):
        """Send all of ``data`` on the stream socket ``sock`` (socket.sendall): an Operation whose
        result is ``len(data)``. Sends with MSG_WAITALL, so the kernel itself waits for room
        and sends the rest of a partial send; when an error stops it part-way, the remainder is
        sent again, which raises that error (EPIPE, ECONNRESET: BrokenPipeError,
        ConnectionResetError). ``data`` is pinned until the last send completes; ``timeout``
        applies to each send; ``cancel()`` cancels the send in the kernel. io_uring_prep_send
        with MSG_WAITALL, repeated."""
        cdef _SendAll job = _SendAll.__new__(_SendAll)
        cdef Operation op = Operation.__new__(Operation)
        job.fd = _fileno(sock, "sock")
        view = memoryview(data)
        if not view.contiguous:
            raise ValueError("sendall() needs a contiguous buffer")
        job.view = view.cast("B") if view.ndim != 1 or view.itemsize != 1 else view
        job.ring = self
        job.msg_flags = msg_flags
        job.sqe_flags = flags
        job.timeout = timeout
        job.outer = op
        op.ring = self
        op.kind = "sendall"
        op.fd = job.fd
        op._thread = PyThread_get_thread_ident()
        op._job = job
        if len(job.view) == 0:
            op._value = 0
            op._job = None
            op._complete(0, 0)
            return op
        job._send_next()
        return op

    cdef int _registered_index(self, object buf) except -2:
        """The registered buffer that holds ``buf``, or -1."""
        cdef Py_buffer view
        cdef int index
        if buf is None or self.uring.door_registered_count() < 0:
            return -1
        if PyObject_GetBuffer(buf, &view, PyBUF_ANY_CONTIGUOUS) != 0:
            return -1
        index = self.uring.door_registered_find(<const char *>view.buf, <size_t>view.len)
        PyBuffer_Release(&view)
        return index

    def linked(self):
        """``with ring.linked(): ...``: the requests queued inside run in order, each only if
        the previous succeeded (IOSQE_IO_LINK); a failure cancels the rest (-ECANCELED).

        The kernel counts a short read or write (fewer bytes than asked: end of file, a pipe
        or socket with less data ready) as a failure: ``read(fd, buf)`` then ``close_fd(fd)`` in a chain
        leaves the fd open when the file is shorter than ``buf``. Give the request whose
        failure must not stop the rest ``flags=IOSQE_IO_HARDLINK`` (the close then always
        runs), or check the results.

        A chain that fits in the SQ always runs whole: if the SQ fills while it is queued,
        what was queued before it is submitted alone, and the chain's own requests only
        reach the kernel once the block is left. A longer chain raises RuntimeError (a
        request with ``timeout=`` takes two entries). Nothing may be submitted from inside
        the block (``submit()``, ``wait()``, ``result()``, ``cancel()``: RuntimeError), and
        multishot requests cannot be linked.

        The chain belongs to the thread that opens it: other threads' requests, submits and
        batches wait until it is closed; a batch inside it raises RuntimeError."""
        cdef _Linked ctx = _Linked.__new__(_Linked)
        ctx.ring = self
        return ctx

    # ---- whole files: one request chain per file (_ring_files.pxi) ----------------------------

    cdef int _file_checks(self) except -1:
        """What every whole-file request checks first."""
        self.uring.door_check()
        if self._issuer:
            self._check_thread()
        if self._in_own_chain():
            raise RuntimeError("read_file/write_file make a chain of their own, which cannot be "
                               "part of a linked() chain: call them outside the `with "
                               "ring.linked():` block")
        return 0

    cdef _FileEngine _file_engine(self):
        """The engine of read_file/write_file, made (its slot table registered) on first use."""
        cdef _FileEngine engine
        self._file_checks()
        self._sq_gate()
        if self._files is None:
            with self._files_lock:
                if self._files is None:
                    engine = _FileEngine.__new__(_FileEngine)
                    engine._setup(self)
                    self._files = engine
        return self._files

    def _file_job(self, sink, path, data, bint writing, unsigned mode, dir_fd, unsigned flags,
                  timeout):
        """For ioring.asyncio: queue one read_file (data None) or write_file whose result goes
        to ``sink`` (an asyncio Future); returns the job (``cancel()``)."""
        cdef _FileEngine engine = self._file_engine()
        job = engine._new_job(sink, path, data, writing, mode, dir_fd, flags, timeout)
        engine._add(job)
        return job

    def _file_batch(self, sink, items, bint writing, unsigned mode, dir_fd, unsigned flags,
                    timeout):
        """For read_files/write_files: queue a job per item (a path, or a (path, data) pair),
        all checked before any is queued; returns the _FileBatch (``cancel()``) whose ``sink``
        (an asyncio Future, or None) gets the list of bytes / the bytes written."""
        cdef _FileEngine engine = self._file_engine()
        cdef _FileBatch batch = _FileBatch.__new__(_FileBatch)
        cdef _FileJob job
        cdef Py_ssize_t i
        from ioring import files as _files_mod
        jobs = []
        if writing:
            pairs = _files_mod._file_items(items)
            paths = [p for p, _ in pairs]
            for i in range(len(pairs)):
                path, data = pairs[i]
                job = engine._new_job(batch, path, data, True, mode, dir_fd, flags, timeout)
                job.index = i
                jobs.append(job)
        else:
            paths = _files_mod._path_list(items, "read_files")
            for i in range(len(paths)):
                job = engine._new_job(batch, paths[i], None, False, mode, dir_fd, flags, timeout)
                job.index = i
                jobs.append(job)
        batch.paths = paths
        batch.jobs = jobs
        batch.errors = {}
        batch.writing = writing
        batch.total = 0
        batch.results = None if writing else [None] * len(jobs)
        batch.remaining = len(jobs)
        if not jobs:
            if sink is not None:
                _resolve_future(sink, batch._outcome())
            return batch
        batch.sink = sink
        for job in jobs:
            engine._add(job)
        return batch

    def _file_cancelling(self):
        """For ioring.asyncio: file chains are being cancelled (their cancel is re-sent by the
        reaps until they end)."""
        return self._files is not None and bool(self._files.cancelling)

    def _file_active(self):
        """File jobs queued and not finished (ioring.asyncio waits for them in aclose)."""
        return self._files.active if self._files is not None else 0

    def _file_cancel_all(self):
        """For ioring.asyncio's aclose: cancel every file job."""
        if self._files is not None:
            self._files._cancel_all()

    cdef Operation _file_operation(self, str kind, path, data, bint writing, unsigned mode, dir_fd,
                                   unsigned flags, timeout):
        cdef _FileEngine engine = self._file_engine()
        cdef Operation op = Operation.__new__(Operation)
        op.ring = self
        op.kind = kind
        op.path = path
        op._thread = PyThread_get_thread_ident()
        job = engine._new_job(op, path, data, writing, mode, dir_fd, flags, timeout)
        op._job = job
        engine._add(job)
        return op

    def read_file(self, path, *, dir_fd=None, unsigned flags=0, timeout=None):
        """Read the file ``path`` whole (relative to ``dir_fd``, an fd or a file object, if
        given): an Operation whose result is its contents (``bytes``). One chain of requests
        in the kernel: ``openat`` into a direct descriptor, ``read``, ``close``. The read has
        IOSQE_IO_HARDLINK, so a short read (any file shorter than the 32 KiB the first read
        asks for) does not cancel the close; a file that fills those 32 KiB is read again
        whole: statx gives its size, and a second chain reads it into a bytes of that size (the
        result is one open's contents, even if the file grows or is replaced meanwhile). Up to
        128 files are in the kernel at once (direct descriptors of this Ring's registered file
        table, made on first use: a Ring with a table of its own raises RuntimeError); the rest
        wait in a queue and start as those finish.

        ``flags``: IOSQE_ASYNC (every request goes to io-wq) and/or IOSQE_IO_DRAIN (the open
        waits for everything queued before it). ``timeout``: seconds each request of the chain
        (the open, each read) may take before the kernel cancels it (a linked timeout: the
        result is then OSError(ECANCELED), the file closed all the same). ``cancel()`` cancels
        the open and the read in the kernel, never the close. A failure raises OSError naming
        the path and the step: ``[read_file(path='x'): open]``. Mirrors no single liburing
        function: the chain of io_uring_prep_openat_direct, io_uring_prep_read (IOSQE_FIXED_FILE)
        and io_uring_prep_close_direct."""
        return self._file_operation("read_file", path, None, False, 0, dir_fd, flags, timeout)

    def write_file(self, path, data, unsigned mode=0o644, *, dir_fd=None, unsigned flags=0,
                   timeout=None):
        """Create or truncate the file ``path`` (``O_WRONLY|O_CREAT|O_TRUNC``; a new file gets
        ``mode`` minus the umask) and write ``data`` (any contiguous buffer, pinned until the
        chain ends): an Operation whose result is the number of bytes written. One chain:
        ``openat`` into a direct descriptor, ``write`` (one per GiB), ``close``; the writes
        have IOSQE_IO_HARDLINK, so the close runs whatever they return. A short write (out of
        space or quota) raises OSError(EIO). ``dir_fd``, ``flags``, ``timeout`` and
        ``cancel()`` as read_file; the chain of io_uring_prep_openat_direct,
        io_uring_prep_write and io_uring_prep_close_direct."""
        return self._file_operation("write_file", path, data, True, mode, dir_fd, flags, timeout)

    def read_files(self, paths, *, dir_fd=None, unsigned flags=0, timeout=None):
        """Read every file of ``paths`` (a sequence of str/bytes/path-like; a single path is
        refused: pass [path]) with a read_file chain each, up to 128 in the kernel at once,
        and return their contents, a list of ``bytes`` in the order given. If any file cannot
        be read, the OSError of the first failing path (input order) is raised once every
        chain has ended; its ``errors`` lists every failure. Interrupted (Ctrl-C), the chains
        are cancelled (their files still closed by the kernel) and the exception propagates.
        ``dir_fd``, ``flags`` and ``timeout`` as read_file. A batch of at least 64 files without
        ``flags`` or ``timeout`` is read by ``ioring.files.read_files``' C engine (the same chains
        on a private ring, no Python per file: ~40% less CPU per file)."""
        from ioring import files as _files_mod
        paths, c_dir_fd, in_c = self._read_files_route(paths, dir_fd, flags, timeout)
        if in_c:
            return _files_mod._read_files_in_c(paths, c_dir_fd)
        return self._run_file_batch(paths, False, 0, dir_fd, flags, timeout)

    def _read_files_route(self, paths, dir_fd, unsigned flags, timeout):
        """For Ring/AsyncRing.read_files: ``(paths as a list, dir_fd as an int or None, True)``
        when ioring.files' C engine is to read the batch (large enough, no flags nor timeout,
        the engine built), else ``(paths as a list, None, False)``: this Ring's engine reads
        them. Checks what every whole-file request checks."""
        from ioring import files as _files_mod
        self._file_checks()
        paths = _files_mod._path_list(paths, "read_files")
        if len(paths) < _C_FILE_BATCH or flags or timeout is not None or not _files_mod._fileops:
            return paths, None, False
        return paths, None if dir_fd is None else _fileno(dir_fd, "dir_fd"), True

    def write_files(self, files, unsigned mode=0o644, *, dir_fd=None, unsigned flags=0,
                    timeout=None):
        """Write every file of ``files`` (a mapping path -> data, or (path, data) pairs) with a
        write_file chain each, up to 128 in the kernel at once; returns the number of bytes
        written. Errors as read_files (the files that succeeded are written). Interrupted, the
        chains in the kernel are cancelled: a file may then be created or truncated and not
        written. ``mode``, ``dir_fd``, ``flags`` and ``timeout`` as write_file."""
        return self._run_file_batch(files, True, mode, dir_fd, flags, timeout)

    def _run_file_batch(self, items, bint writing, unsigned mode, dir_fd, unsigned flags, timeout):
        cdef _FileBatch batch = self._file_batch(None, items, writing, mode, dir_fd, flags, timeout)
        try:
            while batch.remaining:
                self._block(-1.0, True)
        except BaseException:
            batch.cancel()
            raise
        outcome = batch._outcome()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    # ---- multishot: one request, a result per completion ------------------------------------

    def accept_multishot(self, sock, int accept_flags=_SOCK_CLOEXEC, *, unsigned flags=0):
        """Accept connections on the listening ``sock`` with one multishot request
        (io_uring_prep_multishot_accept): a Multishot that yields each new connection's fd (an
        int; ``socket.socket(fileno=fd)`` makes a socket of it). ``accept_flags``:
        SOCK_NONBLOCK, SOCK_CLOEXEC (the default, as Python's sockets: 0 makes the fds
        inheritable)."""
        cdef int fd = _fileno(sock, "sock")
        return _start_multishot(self, _MS_FD, "accept_multishot", fd, L.io_uring_prep_multishot_accept,
                                (fd, None, None, accept_flags), flags, None, True)

    def recv_multishot(self, sock, BufferRing buffers=None, int msg_flags=0, *, unsigned flags=0):
        """Receive from ``sock`` with one multishot request (io_uring_prep_recv_multishot) into
        the provided buffers of ``buffers`` (a BufferRing; None: this Ring's default one, 128 x
        16 KiB, made on first use): a Multishot that yields the bytes of each receive, and ends
        at end of stream (the peer shut down)."""
        return self._recv_multishot(sock, buffers, msg_flags, flags, None)

    def _stream_recv(self, sock, BufferRing buffers, _AsyncDriver driver not None):
        """For ioring.asyncio's StreamReader: recv_multishot's Multishot, whose idle receives
        wait for readiness in ``driver``'s loop (see _Stream.ready), armed by the first read
        (Multishot._read)."""
        return self._recv_multishot(sock, buffers, 0, 0, driver)

    cdef Multishot _recv_multishot(self, sock, BufferRing buffers, int msg_flags, unsigned flags,
                                   _AsyncDriver ready_driver):
        cdef int fd = _fileno(sock, "sock")
        buffers = self._buffers_for(buffers)
        return _start_multishot(self, _MS_DATA, "recv_multishot", fd, L.io_uring_prep_recv_multishot,
                                (fd, None, 0, msg_flags), flags, buffers, True, None, ready_driver)

    def recvmsg_multishot(self, sock, BufferRing buffers=None, int ancbufsize=0, int msg_flags=0, *,
                          unsigned flags=0):
        """recvmsg(2) on ``sock`` with one multishot request (io_uring_prep_recvmsg_multishot):
        a Multishot that yields, per datagram, what ``socket.recvmsg`` returns: ``(data,
        ancdata, msg_flags, address)``. Each provided buffer of ``buffers`` (see
        recv_multishot) holds a header, room for the address (128 bytes), ``ancbufsize``
        bytes of control messages and the payload."""
        cdef int fd = _fileno(sock, "sock")
        if ancbufsize < 0:
            raise ValueError(f"ancbufsize must be >= 0, not {ancbufsize}")
        buffers = self._buffers_for(buffers)
        msg = L.msghdr()
        msg.msg_namelen = _SOCKADDR_STORAGE
        msg.msg_controllen = ancbufsize
        return _start_multishot(self, _MS_MSG, "recvmsg_multishot", fd,
                                L.io_uring_prep_recvmsg_multishot, (fd, msg, msg_flags), flags,
                                buffers, True, msg)

    def read_multishot(self, fd, BufferRing buffers=None, *, unsigned flags=0):
        """Read a pollable ``fd`` (a pipe, a socket, an eventfd, a tty) with one multishot
        request (io_uring_prep_read_multishot, kernel 6.7) into the provided buffers of
        ``buffers`` (see recv_multishot): a Multishot that yields the bytes of each read, and
        ends at end of file."""
        fd = _fileno(fd, "fd")
        buffers = self._buffers_for(buffers)
        return _start_multishot(self, _MS_DATA, "read_multishot", fd, _prep_read_multishot,
                                (fd, buffers.bgid), flags, buffers, True)

    def poll_multishot(self, fd, unsigned poll_mask, *, unsigned flags=0):
        """Watch ``fd`` with one multishot poll (io_uring_prep_poll_multishot): a Multishot that
        yields the ready events (a POLLIN | POLLOUT... mask) each time ``fd`` becomes ready."""
        fd = _fileno(fd, "fd")
        return _start_multishot(self, _MS_POLL, "poll_multishot", fd, L.io_uring_prep_poll_multishot,
                                (fd, poll_mask), flags, None, True)

    def timeout_multishot(self, seconds, *, unsigned count=0, unsigned flags=0):
        """A periodic kernel timer (IORING_TIMEOUT_MULTISHOT): a Multishot that yields 1, 2,
        3... at each expiration, every ``seconds``; it ends after ``count`` of them (0: when
        closed)."""
        sec = float(seconds)
        if not sec >= 0:
            raise ValueError(f"seconds must be >= 0, not {seconds!r}")
        ts = L.kernel_timespec(int(sec), int((sec - int(sec)) * 1e9))
        return _start_multishot(self, _MS_TICK, "timeout_multishot", None, L.io_uring_prep_timeout,
                                (ts, count, L.IORING_TIMEOUT_MULTISHOT), flags, None, False)

    def multishot(self, prep, *args, kind=None, fd=None, BufferRing buffers=None, unsigned flags=0):
        """Any multishot prep of the thin layer, e.g. ``ring.multishot(
        L.io_uring_prep_multishot_accept_direct, sock.fileno(), None, None, 0)``: a Multishot
        that yields each completion's ``cqe.res`` (or, with ``buffers``, a BufferRing the request
        selects from, the bytes received) and ends with the request's final completion (a
        negative one raises OSError). It is not re-armed."""
        return _start_multishot(self, _MS_DATA if buffers is not None else _MS_RAW,
                                kind or getattr(prep, "__name__", "multishot").replace("io_uring_prep_", ""),
                                fd, prep, args, flags, buffers, False)

    cdef BufferRing _buffers_for(self, BufferRing buffers):
        if buffers is not None:
            if buffers.ring is not self:
                raise ValueError("the BufferRing belongs to another Ring")
            return buffers
        if self._default_buffers is None or self._default_buffers._closed:
            self._default_buffers = BufferRing(self)
        return self._default_buffers

    cdef _cancel(self, Operation op):
        cdef c.io_uring_sqe *s
        self._gate_submit("cancel()")
        s = self._acquire()
        c.ioring_prep_cancel64(s, op.user_data, 0)
        s.user_data = _CANCEL_TAG | self._next_ud
        self._next_ud += 1
        self._submit_some()

    # ---- registration -----------------------------------------------------------------------

    def register_files(self, files):
        """Register fds (IORING_REGISTER_FILES); use their index with flags=IOSQE_FIXED_FILE."""
        if self._files is not None and not self.closed:
            raise RuntimeError("read_file/write_file have registered this Ring's file table for "
                               "their direct descriptors, and the kernel keeps one table per ring: "
                               "register files on another Ring")
        return L.io_uring_register_files(self.uring, [_fileno(f, "files[]") for f in files])

    def unregister_files(self):
        return L.io_uring_unregister_files(self.uring)

    # ---- submit and reap --------------------------------------------------------------------

    def submit(self):
        """Submit what is queued; returns how many requests were submitted."""
        if self._issuer:
            self._check_thread()
        self._gate_submit("submit()")
        return L.io_uring_submit(self.uring)

    cdef int _reap(self, int limit, unsigned max_cqes=0) except -1:
        """Complete the Operations of every ready CQE (at most ``limit`` if > 0, at most
        ``max_cqes`` CQEs if > 0), hand batch CQEs to the batch they belong to, whichever thread
        runs it, and multishot CQEs to their iterator's queue. The CQEs are consumed (through
        the door: door_reap calls _reap_cqe for each) before any done-callback or multishot
        waker runs, so one that queues (and so may reap) can never see the same CQE twice."""
        cdef io_uring uring = self.uring
        cdef unsigned others
        cdef list done, streams, sendqs
        cdef Operation op
        cdef _Stream stream
        cdef _SendQueue sendq
        cdef Py_ssize_t ndone
        if uring.door_cq_ready() == 0:
            if self._deferred_cancels:
                self._run_deferred_cancels()
            if self._files is not None and (self._files.waiting or self._files.continuing
                                            or self._files.cancelling):
                self._files._refill()
            return 0
        self._reaping = True
        self._rs_limit = limit
        self._rs_ndone = 0
        self._rs_others = 0
        try:
            uring.door_reap(_reap_cqe, <void *>self, max_cqes)
        finally:
            self._reaping = False
            done, self._rs_done = self._rs_done, None
            streams, self._rs_streams = self._rs_streams, None
            sendqs, self._rs_sendqs = self._rs_sendqs, None
        ndone = self._rs_ndone
        others = self._rs_others
        self._reap_gen += 1
        self._ncompleted += ndone
        if others and self._leader and not self._woken:
            # Another thread sleeps in the kernel for this Ring, maybe for one of the CQEs just
            # consumed: it would sleep until some other completion arrives. Wake it up.
            self._wake_leader()
        if done is not None:
            for op, res, flags in done:
                op._complete(res, flags)
                if self._collectors:
                    collected = self._collectors.get(op._thread)
                    if collected is not None:
                        collected.append(op)
        if streams is not None:
            for stream in streams:
                stream.listed = False
                stream._after_reap()
        if sendqs is not None:
            for sendq in sendqs:
                sendq.listed = False
                sendq._after_reap()
        if self._files is not None:
            # Results of the chains that ended, then their next chains and waiting jobs.
            self._files._deliver()
        if self._deferred_cancels:
            self._run_deferred_cancels()
        return ndone

    cdef int _run_deferred_cancels(self) except -1:
        """Cancel the multishot requests whose iterator was closed (or paused) at a moment when
        nothing could be queued (inside _reap, inside this thread's linked() chain)."""
        cdef _Stream stream
        if self._reaping or self._in_own_chain():
            return 0
        pending, self._deferred_cancels = self._deferred_cancels, []
        for stream in pending:
            stream._send_cancel()
        return 0

    cdef void _wake_leader(self) noexcept:
        """Post a NOP (its CQE is dropped by _reap): the thread waiting in the kernel returns,
        reaps and re-checks. Best effort: without an SQE, its bounded wait is the fallback."""
        cdef io_uring uring = self.uring
        cdef c.io_uring_sqe *sqe
        if self._chain_owner != 0:
            return      # a linked() chain is being queued: submitting now would cut it
        try:
            if uring.door_sq_space() == 0:
                return
            sqe = uring.door_acquire()
            if sqe == NULL:
                return
            c.ioring_prep_nop(sqe)
            sqe.user_data = _WAKE_UD
            if uring.door_submit() >= 0:
                self._woken = True
        except BaseException:
            pass

    def wait(self, unsigned n=1, timeout=None):
        """Submit what is queued and wait until ``n`` requests completed (or ``timeout``
        seconds passed); returns how many completed meanwhile. With threads sharing the Ring,
        completions reaped by any of them count."""
        cdef uint64_t start = self._ncompleted
        cdef double deadline = -1.0
        self.uring.door_check()     # closed, or the parent's ring in a fork child: refused
        if self._issuer:
            self._check_thread()
        if timeout is not None:
            deadline = _now() + float(timeout)
        self._gate_submit("wait()")
        if n == 0:
            L.io_uring_submit(self.uring)
            self._reap(0)
            return <int>(self._ncompleted - start)
        self._reap(0)
        while self._ncompleted - start < n:
            if deadline >= 0 and _now() >= deadline:
                break
            self._block(deadline, True)
        self._sq_gate()
        if self.uring.door_sq_ready():
            L.io_uring_submit(self.uring)
        return <int>(self._ncompleted - start)

    cdef int _kick_sends(self) except -1:
        """Start the sends that waited for a moment when SQEs may be queued."""
        cdef _SendQueue q
        stalled, self._stalled_sends = self._stalled_sends, []
        for q in stalled:
            q.stalled = False
            if q.current is None and q.pending and not q.error:
                q._start_pending()
        return 0

    def _send_queue(self, sock, _AsyncDriver driver=None, Py_ssize_t high_water=65536):
        """For ioring.asyncio's stream writers: a _SendQueue for the stream socket ``sock``,
        flushed by ``driver``; its drain() waits while more than ``high_water`` bytes are not
        sent."""
        cdef _SendQueue q = _SendQueue.__new__(_SendQueue)
        q.ring = self
        q.fd = _fileno(sock, "sock")
        q.driver = driver
        q.high_water = high_water
        self.uring.door_check()
        while True:
            q.qid = self._next_qid
            self._next_qid = self._next_qid + 1 if self._next_qid != 0xFFFFFFFF else 1
            if q.qid not in self._sendqs:
                break
        q.pending = []
        self._sendqs[q.qid] = q
        return q

    def _drop_send_queue(self, _SendQueue q):
        """The stream is closed and its queue idle: forget it."""
        if self._sendqs is not None:
            self._sendqs.pop(q.qid, None)

    def _pump(self, bint defer, int max_rounds, int efd):
        """See _pump_c (for tests and tools; ioring.asyncio's driver calls _pump_c)."""
        return self._pump_c(defer, max_rounds, efd)

    cdef int _pump_c(self, bint defer, int max_rounds, int efd) except -1:
        """For ioring.asyncio, once per wake-up of the event loop: submit what is queued and
        reap what is ready, never waiting, round after round while requests keep completing
        at submission (file chains: their next ones are queued by the reap), at most
        ``max_rounds`` rounds so that the loop stays responsive. ``defer``: enter the ring
        each round (IORING_SETUP_DEFER_TASKRUN runs completions only then). When it submitted
        requests and reaped completions, the eventfd ``efd`` is drained, then the CQ checked
        once more: the kernel signalled the completions posted at submission, already reaped,
        and a completion posted after the drain signals it again. Returns flags: 1 when work
        is left (more rounds, or requests queued by the last reap: pump again on the next
        iteration), 2 when a reap called a waker, a done-callback or a file job's sink (the
        code it woke may queue requests: a pump scheduled now runs after it, in the same
        iteration), 4 when it reaped completions (the kernel signalled the eventfd for them).
        ``efd`` < 0: no drain here (ioring.asyncio's driver drains once per iteration)."""
        cdef io_uring uring = self.uring
        cdef uint64_t before, counter
        cdef int rounds = 0, ret
        cdef bint reaped = False, submitted = False
        cdef uint64_t wakes = self._wakes
        uring.door_check()
        if self._issuer:
            self._check_thread()
        self._gate_submit("wait()")
        while rounds < max_rounds:
            before = self._ncompleted
            if self._stalled_sends:
                self._kick_sends()
            self._sq_gate()         # the last round's reap may have run Python code
            if defer:
                ret = uring.door_submit_events()
            else:
                ret = uring.door_submit()
            if ret < 0:
                raise OSError(-ret, os.strerror(-ret))
            if ret > 0:
                submitted = True
            if uring.door_cq_ready() == 0:
                break
            self._reap(0)
            reaped = True
            rounds += 1
            if self._ncompleted == before:
                break           # multishot results, cancels: nothing more comes from a resubmit
        if reaped and submitted and efd >= 0:
            _c_read(efd, &counter, 8)      # non-blocking: EAGAIN when nothing is left to drain
            if uring.door_cq_ready():
                self._reap(0)
        return (1 if rounds >= max_rounds or uring.door_sq_ready() > 0 else 0) | \
            (2 if self._wakes != wakes else 0) | (4 if reaped else 0)

    cdef _wait_for(self, Operation op, timeout):
        cdef double deadline = -1.0
        if timeout is not None:
            deadline = _now() + float(timeout)
        if op._res is None and not self.uring.initialized:
            raise ValueError("the ring is closed")
        while op._res is None:
            if deadline >= 0 and _now() >= deadline:
                raise TimeoutError(f"{op.describe()} did not complete within {timeout} s")
            self._block(deadline, True)

    cdef int _block(self, double deadline, bint submit_first) except -1:
        """Submit what is queued and wait until completions may have changed what the caller
        waits for (it re-checks; ``deadline`` < 0: none). ``submit_first``: submit without
        waiting first, and return if that produced completions (requests that complete at
        submit, a NOP or a read from the page cache, then cost no wait).

        Threads sharing the Ring: one of them (the leader) sleeps in io_uring_enter, the GIL
        released, and reaps when it returns, for everybody (batch CQEs go to their batch);
        the others wait on a condition until it has. A thread that consumes CQEs while the
        leader sleeps posts a NOP to wake it (_reap), since the kernel would otherwise keep it
        asleep for a completion that is gone; and the leader never sleeps more than
        _SAFETY_WAIT without re-checking."""
        cdef io_uring uring = self.uring
        cdef uint64_t gen = self._reap_gen
        cdef c.io_uring_cqe *cqe
        cdef c.ioring_kernel_timespec ts
        cdef double left = _SAFETY_WAIT
        cdef int ret
        if self._cond is None:
            raise ValueError("not an initialized Ring")
        uring.door_check()
        if self._issuer:
            self._check_thread()
        if self._files is not None and (self._files.waiting or self._files.continuing
                                        or self._files.cancelling):
            self._files._refill()       # file jobs waiting for SQ room (Python code may run)
        # From the gate on, nothing runs Python code before a submit, and the GIL is released
        # only by a submit (its enter, once the SQ is published): the leader's wait, or a
        # submit that flushes a CQ overflow (the submit_first one re-checks after it).
        self._gate_submit("waiting for a completion")    # or cut a chain being queued
        if deadline >= 0:
            left = deadline - _now()
            if left > _SAFETY_WAIT:
                left = _SAFETY_WAIT
            elif left < 0:
                left = 0
        if not self._leader:
            if submit_first and uring.door_sq_ready():
                _check_submit(uring.door_submit())
                if uring.door_cq_ready():
                    self._reap(0)
                    return 0
                if self._leader or self._chain_owner != 0:
                    # The submit released the GIL (it flushed a CQ overflow): another thread
                    # became the leader or opened a chain meanwhile. The caller re-checks and
                    # comes back through the gate.
                    return 0
            self._leader = True
            self._woken = False
            try:
                # Bounded (a kernel without IORING_FEAT_EXT_ARG: not, the wake-up NOP only).
                ts.tv_sec = <long long>left
                ts.tv_nsec = <long long>((left - <long long>left) * 1e9)
                ret = uring.door_wait_once(&ts)
            finally:
                self._leader = False
                self._reap_gen += 1
            try:
                # A signal may have cut the wait short without EINTR: run Python's handlers
                # now (KeyboardInterrupt included; the completions stay in the CQ).
                PyErr_CheckSignals()
                if ret < 0 and ret != -EINTR and ret != -ETIME and ret != -EAGAIN:
                    raise OSError(-ret, os.strerror(-ret))
                self._reap(0)
            finally:
                if self._followers:
                    with self._cond:
                        self._cond.notify_all()
            return 0
        # Another thread waits in the kernel: publish our requests, wait until it has reaped.
        if uring.door_sq_ready():
            _check_submit(uring.door_submit())
        self._followers += 1
        uring.door_hold()
        try:
            with self._cond:
                while self._leader and self._reap_gen == gen:
                    if not self._cond.wait(left if left > 0 else 0):
                        break
        finally:
            self._followers -= 1
            uring.door_unhold()
        return 0

    def completions(self, timeout=None):
        """Iterate over the requests this thread queued as they complete, until none of them
        is in flight (or ``timeout`` seconds pass without a completion). Threads sharing the
        Ring each get their own; one iterator per thread at a time (RuntimeError)."""
        cdef unsigned long me = PyThread_get_thread_ident()
        if self._collectors is None:
            raise ValueError("not an initialized Ring")
        if me in self._collectors:
            raise RuntimeError("completions() is already iterating in this thread")
        collected = self._collectors[me] = collections.deque()
        try:
            while True:
                while collected:
                    yield collected.popleft()
                if not self._has_ops_of(me):
                    return
                if self.wait(1, timeout) == 0 and not collected:
                    return
        finally:
            self._collectors.pop(me, None)

    cdef bint _has_ops_of(self, unsigned long thread):
        cdef Operation op
        for op in self._ops.values():
            if op._thread == thread and op._stream is None:
                return True
        if self._files is not None and self._files.active:
            for job in list(self._files.waiting) + self._files.continuing + self._files.slots:
                if job is not None and type((<_FileJob>job).sink) is Operation and \
                        (<Operation>(<_FileJob>job).sink)._thread == thread:
                    return True
        return False

    @property
    def in_flight(self):
        """Requests queued or submitted whose completion has not been reaped (a read_file or
        write_file counts as one, from the call until its result is made)."""
        return len(self._ops) + (self._files.active if self._files is not None else 0)

    # ---- batches: one call into C for the whole batch -----------------------------------------

    def nop_many(self, Py_ssize_t n):
        """Prepare, submit and reap ``n`` NOPs; returns n. (The NOP benchmark's batch path.)"""
        return _run_batch(self, _BATCH_NOP, n, -1, None, None, None)

    def read_many(self, fd, buffers, offsets):
        """Read each buffer (fully) at the matching offset, all in flight at once (up to the
        SQ size), the GIL released while the kernel works. Returns array('q') of results
        (bytes read, or -errno: not raised, so one bad offset doesn't hide the others).
        ``offsets``: any sequence of ints (-1: the file position), or, fastest, a contiguous
        buffer of native 64-bit ints (array('q'), numpy int64/uint64), copied in one go."""
        return _run_batch(self, _BATCH_READ, len(buffers), _fileno(fd, "fd"), buffers, offsets, None)

    def write_many(self, fd, buffers, offsets):
        """As read_many, writing each buffer at its offset."""
        return _run_batch(self, _BATCH_WRITE, len(buffers), _fileno(fd, "fd"), buffers, offsets, None)

    def read_fixed_many(self, fd, buffers, offsets, buf_indexes):
        """As read_many with registered buffers (READ_FIXED): each buffer lies inside the
        registered buffer of the matching index (e.g. BufferPool views)."""
        return _run_batch(self, _BATCH_READ_FIXED, len(buffers), _fileno(fd, "fd"), buffers, offsets, buf_indexes)

    def write_fixed_many(self, fd, buffers, offsets, buf_indexes):
        return _run_batch(self, _BATCH_WRITE_FIXED, len(buffers), _fileno(fd, "fd"), buffers, offsets, buf_indexes)

    def run_stream(self, fd, **options):
        """Keep ``iodepth`` requests in flight on ``fd`` (fio-style), timed, with the GIL released;
        returns a ``StreamResult`` (IOPS, bandwidth, latency percentiles, errors).

        Options: ``rw`` ("randread", "randwrite", "read", "write", "randrw", "rw"), ``bs``
        (4096), ``iodepth`` (32), the range ``offset`` (0) / ``size`` (the file's) or an explicit
        ``offsets`` sequence, ``seed`` (0), the stop ``count`` and/or ``seconds``,
        ``ramp_seconds``, ``rwmixread`` (50), ``buffers`` (a BufferPool of this ring; default:
        the stream's own page-aligned buffers), ``fixed_buffers``, ``fixed_file`` (``fd`` is a
        registered index), ``verify``, ``on_error`` ("stop" or "continue"), ``record``,
        ``iodepth_batch_submit`` (at most that many requests handed over per io_uring_enter, as
        fio's option of that name; 0: a round's refills in one enter; default: 8 for an
        O_DIRECT file, a block device or a registered file, 0 for a buffered one).
        The ring must be idle, and is the stream's until it returns (see ioring._stream.run and
        the README's "Storage streams")."""
        from ioring import _stream
        if self._issuer:
            self._check_thread()
        return _stream.run(self.uring, fd, **options)

    def __del__(self):
        if self.uring is not None and self.uring.initialized and self.uring.door_in_fork_child():
            return      # the parent's ring: its io_uring drops this process's copy by itself
        if self.uring is not None and self.uring.initialized:
            try:
                warnings.warn(f"unclosed {self!r}", ResourceWarning, source=self)
            except Exception:
                pass
            self.close()


class BufferPool:
    """``count`` page-aligned buffers of ``size`` bytes (rounded up to a page: O_DIRECT-ready),
    carved from one anonymous mmap and registered with ``ring`` (IORING_REGISTER_BUFFERS).
    ``Ring.read``/``write`` on them use READ_FIXED/WRITE_FIXED automatically.

    ``with pool.buffer() as (index, view): ...`` lends a free buffer; ``pool[i]`` is buffer i.
    """

    def __init__(self, Ring ring, unsigned count, unsigned size):
        import mmap
        if count == 0 or size == 0:
            raise ValueError("count and size must be > 0")
        self.size = (size + 4095) & ~4095
        self.count = count
        self.ring = ring
        self._memory = mmap.mmap(-1, self.size * count)
        view = memoryview(self._memory)
        self._views = [view[i * self.size:(i + 1) * self.size] for i in range(count)]
        self._free = list(range(count - 1, -1, -1))
        try:
            L.io_uring_register_buffers(ring.uring, self._views)
        except BaseException as exc:
            self._views = []
            try:
                view.release()
                self._memory.close()
            except BufferError:
                pass        # still exported somewhere: the garbage collector unmaps it
            self.ring = None
            if isinstance(exc, OSError) and exc.errno == errno.EBUSY:
                raise OSError(errno.EBUSY,
                              f"{os.strerror(errno.EBUSY)}: this Ring already has a registered "
                              f"buffer table (another BufferPool, or io_uring_register_buffers), "
                              f"and the kernel keeps one per ring. Close the other pool first, or "
                              f"make a single BufferPool with every buffer you need; to grow a "
                              f"pool, close it and create a larger one (a table that grows in "
                              f"place: io_uring_register_buffers_sparse, then "
                              f"io_uring_register_buffers_update_tag, in ioring.liburing)") from None
            raise

    def __getitem__(self, i):
        return self._views[i]

    def __len__(self):
        return self.count

    def acquire(self):
        """(index, memoryview) of a free buffer; IndexError when all are lent."""
        if not self._free:
            raise IndexError("every buffer of the pool is in use")
        i = self._free.pop()
        return i, self._views[i]

    def release(self, index):
        if index in self._free or not 0 <= index < self.count:
            raise ValueError(f"buffer {index} is not lent")
        self._free.append(index)

    def buffer(self):
        import contextlib

        @contextlib.contextmanager
        def lend():
            i, v = self.acquire()
            try:
                yield i, v
            finally:
                self.release(i)
        return lend()

    def close(self):
        """Unregister (requests in flight keep their own pins) and drop the views."""
        if self.ring is not None and not self.ring.closed:
            L.io_uring_unregister_buffers(self.ring.uring)
        self.ring = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


cdef int _reap_cqe(void *ctx, uint64_t ud, int32_t res, uint32_t flags) except -1:
    """door_reap's callback for Ring._reap: one CQE to its Operation (collected in _rs_done,
    completed after the reap), batch, multishot iterator, send queue or file job. Returns 1
    once Ring._reap's limit of completed Operations is reached (the reap stops there)."""
    # The batches' hot path first: a CQE of the batch looked up last, with no reference taken
    # and no other local to release.
    if _reap_batch_cqe(<Ring>ctx, ud, res):
        return 0
    return _reap_other_cqe(ctx, ud, res, flags)


cdef inline bint _reap_batch_cqe(Ring self, uint64_t ud, int32_t res) noexcept:
    if ((ud & (_CANCEL_TAG | _BATCH_TAG | _FILE_TAG)) == _BATCH_TAG
            and ((ud >> 32) & _BATCH_ID_MASK) == self._rs_bid and self._rs_batch is not None):
        self._rs_others += 1
        self._rs_batch._record(<uint32_t>ud, res)
        return True
    return False


cdef int _reap_other_cqe(void *ctx, uint64_t ud, int32_t res, uint32_t flags) except -1:
    """_reap_cqe for every CQE but those of the batch looked up last."""
    cdef Ring self = <Ring>ctx
    cdef uint64_t bid
    cdef Operation op
    cdef _Batch batch
    cdef _Stream stream
    cdef _SendQueue sendq
    if ud & (_CANCEL_TAG | _BATCH_TAG | _FILE_TAG):
        if ud == _WAKE_UD:
            return 0
        self._rs_others += 1
        if ud & _CANCEL_TAG:
            return 0
        if not ud & _BATCH_TAG:
            if (ud & _SENDQ_TAG) == _SENDQ_TAG:
                # A stream writer's send: recorded in its queue, at C level.
                q = self._sendqs.get(<uint32_t>(ud >> 16)) if self._sendqs else None
                if q is not None:
                    sendq = <_SendQueue>q
                    sendq._on_cqe(ud, res)
                    if not sendq.listed:
                        sendq.listed = True
                        if self._rs_sendqs is None:
                            self._rs_sendqs = []
                        self._rs_sendqs.append(sendq)
            elif self._files is not None:
                # A file chain's CQE: recorded in its job, at C level.
                self._files._on_cqe(ud, res)
            return 0
        # A batch's CQE: to its batch, if it is running (a batch that was interrupted left its
        # pins with the ring (door_keep), released when door_reap consumes this CQE).
        bid = (ud >> 32) & _BATCH_ID_MASK
        if bid != self._rs_bid:
            self._rs_batch = self._batches.get(bid) if self._batches else None
            self._rs_bid = bid
        batch = self._rs_batch
        if batch is not None:
            batch._record(<uint32_t>ud, res)
        return 0
    self._rs_others += 1
    if flags & IORING_CQE_F_MORE:
        op = self._ops.get(ud)
    else:
        op = self._ops.pop(ud, None)
    if op is None:
        return 0
    if op._stream is not None:
        # A multishot request's result: queued in its iterator, no object per CQE beyond the
        # result itself.
        stream = <_Stream>op._stream
        stream._push(res, flags)
        if not stream.listed:
            stream.listed = True
            if self._rs_streams is None:
                self._rs_streams = []
            self._rs_streams.append(stream)
        return 0
    if op._res is not None or flags & IORING_CQE_F_NOTIF:
        # Its result came with an earlier CQE: this is the notification that ends a zero-copy
        # send (IORING_CQE_F_NOTIF); it only releases what the send pinned.
        return 0
    if self._rs_done is None:
        self._rs_done = []
    self._rs_done.append((op, 0 if op.kind == "timeout" and res == -ETIME else res, flags))
    self._rs_ndone += 1
    return 1 if 0 < self._rs_limit <= self._rs_ndone else 0


cdef class _Truncate:
    """recv(sock, size): the result is the bytes received, not a count."""
    cdef object buf

    def __cinit__(self, buf):
        self.buf = buf


# io_uring_setup(2)'s limits (IORING_MAX_ENTRIES, IORING_MAX_CQ_ENTRIES): checked here so that
# a bad size is a ValueError that says what the kernel takes, not a bare EINVAL.
_MAX_SQ_ENTRIES = 32768
_MAX_CQ_ENTRIES = 65536


def _pow2_at_least(n):
    return 1 << (n - 1).bit_length()


def _check_ring_sizes(entries, cq_entries, unsigned flags):
    """(entries, cq_entries) as io_uring_setup(2) takes them, or ValueError/TypeError saying the
    valid range: 1..32768 SQ entries, rounded up to a power of two; with IORING_SETUP_CLAMP a
    larger value is clamped to 32768. cq_entries (0: twice the SQ) is rounded up the same way,
    must be at least the SQ size and at most 65536 (or is clamped)."""
    import operator
    clamp = bool(flags & L.IORING_SETUP_CLAMP)
    try:
        entries = operator.index(entries)
        cq_entries = operator.index(cq_entries)
    except TypeError:
        raise TypeError(f"Ring(entries, cq_entries=) take ints, not "
                        f"{type(entries).__name__}/{type(cq_entries).__name__}") from None
    if entries < 1 or (entries > _MAX_SQ_ENTRIES and not clamp):
        raise ValueError(
            f"Ring(entries={entries}): the kernel takes 1..{_MAX_SQ_ENTRIES} submission queue "
            f"entries, rounded up to a power of two (the completion queue gets twice as many); "
            f"pass flags=IORING_SETUP_CLAMP to have larger values clamped to {_MAX_SQ_ENTRIES}")
    sq = _pow2_at_least(min(entries, _MAX_SQ_ENTRIES))
    if cq_entries:
        if cq_entries < 0 or (cq_entries > _MAX_CQ_ENTRIES and not clamp):
            raise ValueError(
                f"Ring(cq_entries={cq_entries}): the kernel takes 1..{_MAX_CQ_ENTRIES} completion "
                f"queue entries, rounded up to a power of two (0: twice the submission queue); "
                f"pass flags=IORING_SETUP_CLAMP to have larger values clamped to {_MAX_CQ_ENTRIES}")
        if _pow2_at_least(min(cq_entries, _MAX_CQ_ENTRIES)) < sq:
            raise ValueError(
                f"Ring(entries={entries}, cq_entries={cq_entries}): the completion queue cannot be "
                f"smaller than the submission queue ({sq} entries once rounded up to a power of two)")
    # What the kernel would do with IORING_SETUP_CLAMP, before a value too large for its u32.
    return min(entries, _MAX_SQ_ENTRIES), min(cq_entries, _MAX_CQ_ENTRIES)


cdef inline unsigned _nbytes(object buf, object nbytes) except? 0xFFFFFFFF:
    if nbytes is not None:
        return nbytes
    if buf is None:
        raise TypeError("a buffer is required")
    n = memoryview(buf).nbytes
    if n > 0xFFFFFFFF:
        raise ValueError("a single request moves at most 4 GiB - 1")
    return n


cdef int _fileno(object f, str name) except? -1:
    """The fd of argument ``name``: an int, or an object with fileno() (a socket, a file)."""
    if isinstance(f, int):
        fd = f
    else:
        fileno = getattr(f, "fileno", None)
        if fileno is None:
            raise TypeError(f"{name} must be a file descriptor (an int) or an object with "
                            f"fileno(), not {type(f).__name__}")
        fd = fileno()
        if not isinstance(fd, int):
            raise TypeError(f"{name}.fileno() returned {type(fd).__name__}, not an int")
    if not -0x80000000 <= fd <= 0x7FFFFFFF:
        raise ValueError(f"{name}={fd} is not a file descriptor (a C int)")
    return fd


cdef bint _msg_ring_to(Ring ring, io_uring_sqe sqe) except -1:
    """``sqe`` is a MSG_RING whose target is ``ring`` itself (by the ring file, not the fd
    number, so a dup counts)."""
    if sqe.opcode != L.IORING_OP_MSG_RING or sqe.flags & L.IOSQE_FIXED_FILE:
        return False
    try:
        target = os.fstat(sqe.fd)
        own = os.fstat(ring.uring.ring_fd)
    except (OSError, TypeError):
        return False            # a bad target fd: the kernel's answer (EBADF) is the result
    return (target.st_dev, target.st_ino) == (own.st_dev, own.st_ino)


def _prep_read_multishot(sqe, int fd, int bgid):
    L.io_uring_prep_read_multishot(sqe, fd, 0, 0, bgid)


cdef inline int _check_submit(int ret) except -1:
    """A submit's answer (io_uring_submit's, -errno not raised): -EINTR, -EAGAIN and -EBUSY
    leave the SQEs queued for the next submit (after a reap); anything else is raised."""
    if ret < 0 and ret != -EINTR and ret != -EAGAIN and ret != -EBUSY:
        raise OSError(-ret, os.strerror(-ret))
    return 0


include "_ring_multishot.pxi"
include "_ring_files.pxi"
include "_ring_sockets.pxi"
include "_ring_async.pxi"


# ---- the batch engine ----------------------------------------------------------------------------

cdef enum _BatchKind:
    _BATCH_NOP, _BATCH_READ, _BATCH_WRITE, _BATCH_READ_FIXED, _BATCH_WRITE_FIXED


cdef class _BatchPins:
    """The Py_buffer exports of one batch; released only when no request of it is in flight."""
    cdef Py_buffer *views
    cdef Py_ssize_t n
    cdef Py_ssize_t held

    def __dealloc__(self):
        cdef Py_ssize_t i
        for i in range(self.held):
            PyBuffer_Release(&self.views[i])
        free(self.views)


@cython.no_gc       # holds no container that could lead back to it: no GC tracking per batch
cdef class _Batch:
    """One running batch: where its results go. Any thread's _reap fills it in (the GIL held)."""
    cdef uint64_t id
    cdef object key             # id as the key of Ring._batches
    cdef uint64_t tag           # _BATCH_TAG | id << 32: the user_data of request 0
    cdef Py_ssize_t n
    cdef Py_ssize_t queued      # requests handed to the SQ so far
    cdef Py_ssize_t completed
    cdef char *finished         # per request: its CQE was seen
    cdef int64_t *out           # per request: cqe.res (NULL for NOPs)
    cdef object results         # the array out points into

    def __dealloc__(self):
        free(self.finished)

    cdef inline void _record(self, uint32_t index, int res) noexcept:
        # Only requests of this batch that were queued and not yet seen: a CQE with a
        # user_data that merely looks like ours (thin-layer requests can carry any) is ignored.
        if index >= self.queued or self.finished[index]:
            return
        self.finished[index] = 1
        if self.out != NULL:
            self.out[index] = res
        self.completed += 1


cdef _Batch _new_batch(Ring self, Py_ssize_t n):
    cdef _Batch batch = _Batch.__new__(_Batch)
    cdef uint64_t bid
    if <uint64_t>n > 0xFFFFFFFFULL:
        raise ValueError("a batch holds at most 2**32 - 1 requests")
    batch.finished = <char *>calloc(n if n > 0 else 1, 1)
    if batch.finished == NULL:
        raise MemoryError()
    batch.n = n
    while True:
        bid = self._next_batch
        self._next_batch = 1 if bid >= _BATCH_ID_MASK else bid + 1
        if not self._batches or bid not in self._batches:
            break
    batch.id = bid
    batch.key = bid
    batch.tag = _BATCH_TAG | (bid << 32)
    return batch


cdef bint _copy_int64_offsets(object offsets, uint64_t *offs, Py_ssize_t n) except -1:
    """Batch offsets given as a buffer of n native 64-bit ints (array('q'/'Q'), numpy int64 or
    uint64): copied in one memcpy, no Python int per request. Returns False for anything else
    (a list, other formats), which the caller converts item by item. -1 is "the current file
    position", as one item; a signed offset below -1 is refused."""
    cdef Py_buffer view
    cdef const char *fmt
    cdef char code
    cdef bint signed
    cdef Py_ssize_t i
    cdef const int64_t *values
    if not PyObject_CheckBuffer(offsets) or PyBytes_Check(offsets) or PyByteArray_Check(offsets):
        return False
    try:
        PyObject_GetBuffer(offsets, &view, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS)
    except BufferError:             # strided: item by item
        return False
    try:
        if view.format == NULL:         # plain bytes
            return False
        fmt = view.format
        if fmt[0] == b"@" or fmt[0] == b"=":
            fmt += 1
        code = fmt[0]
        if view.itemsize != 8 or fmt[1] != 0 or code not in b"qQlLnN" or view.len != 8 * n:
            return False
        signed = code in b"qln"
        values = <const int64_t *>view.buf
        if signed:
            for i in range(n):
                if values[i] < -1:
                    raise ValueError(f"offset {i} is outside 0..2**64-1 (-1: the current "
                                     f"file position): {values[i]}")
        memcpy(offs, view.buf, 8 * n)
        return True
    finally:
        PyBuffer_Release(&view)


cdef object _run_batch(Ring self, _BatchKind kind, Py_ssize_t n, int fd, object buffers,
                       object offsets, object buf_indexes):
    if n < 0:
        raise ValueError("n must be >= 0")
    if self._issuer:
        self._check_thread()
    if self._in_own_chain():
        # its SQEs would follow the chain's last request, whose link is still open
        raise RuntimeError("a batch cannot run inside a linked() chain")
    return _run_batch_inner(self, kind, n, fd, buffers, offsets, buf_indexes, _new_batch(self, n))


cdef object _run_batch_inner(Ring self, _BatchKind kind, Py_ssize_t n, int fd, object buffers,
                             object offsets, object buf_indexes, _Batch batch):
    cdef io_uring uring = self.uring
    cdef _BatchPins pins = None
    cdef Py_ssize_t i, queued = 0
    cdef unsigned space
    cdef c.io_uring_sqe *sqe
    cdef c.ioring *own
    cdef uint64_t *offs = NULL
    cdef int *idx = NULL
    cdef bint writable = kind == _BATCH_READ or kind == _BATCH_READ_FIXED
    cdef bint fast_offsets = False
    cdef carray.array results = None
    uring.door_check()          # closed, or the parent's ring in a fork child: refused
    if kind != _BATCH_NOP:
        # array.clone: one allocation (no temporary bytes, no typed memoryview to acquire)
        results = carray.clone(_RESULTS_TEMPLATE, n, True)
        if len(offsets) != n:
            raise ValueError(f"{n} buffers but {len(offsets)} offsets")
        pins = _BatchPins.__new__(_BatchPins)
        pins.views = <Py_buffer *>calloc(n if n else 1, sizeof(Py_buffer))
        offs = <uint64_t *>calloc(n if n else 1, sizeof(uint64_t))
        if pins.views == NULL or offs == NULL:
            free(offs)
            raise MemoryError()
        if kind == _BATCH_READ_FIXED or kind == _BATCH_WRITE_FIXED:
            if len(buf_indexes) != n:
                free(offs)
                raise ValueError(f"{n} buffers but {len(buf_indexes)} buffer indexes")
            idx = <int *>calloc(n if n else 1, sizeof(int))
        try:
            fast_offsets = _copy_int64_offsets(offsets, offs, n)
            for i in range(n):
                try:
                    PyObject_GetBuffer(buffers[i], &pins.views[i],
                                       PyBUF_ANY_CONTIGUOUS | (PyBUF_WRITABLE if writable else 0))
                except BufferError as exc:
                    # As the thin layer: a read-only buffer is the wrong type of argument.
                    if writable and "writ" in str(exc).lower():
                        raise TypeError(f"buffer {i} is read-only") from None
                    raise ValueError(f"buffer {i}: {exc}") from None
                pins.held += 1
                if pins.views[i].len > 0xFFFFFFFF:
                    raise ValueError(f"buffer {i} is larger than 4 GiB - 1")
                if not fast_offsets:
                    o = offsets[i]
                    if o == -1:
                        offs[i] = <uint64_t>-1
                    else:
                        try:
                            offs[i] = <uint64_t>o
                        except OverflowError:
                            raise ValueError(f"offset {i} is outside 0..2**64-1 (-1: the "
                                             f"current file position): {o!r}") from None
                if idx != NULL:
                    idx[i] = buf_indexes[i]
                    # The thin layer's check: the buffer must lie in registered buffer idx[i].
                    # TODO(door_registered, another slice of issue 15): a private method today.
                    uring.door_check_fixed(<char *>pins.views[i].buf, <size_t>pins.views[i].len, idx[i])
        except BaseException:
            free(offs)
            free(idx)
            raise
        if n:
            batch.out = <int64_t *>results.data.as_voidptr
        batch.results = results
    uring.door_own_begin()  # requests queued before the batch keep their own tracking
    uring.door_hold()
    # From here on, whichever thread reaps this Ring's CQEs (this one or another waiting on the
    # same Ring) records this batch's results in it: the batch ends when all n were recorded.
    self._batches[batch.key] = batch
    self._rs_bid = batch.id         # the lookup _reap_cqe makes first
    self._rs_batch = batch
    try:
        while batch.completed < n:
            self._sq_gate()     # batch SQEs must not land inside another thread's chain
            # Fill the SQ with the next requests.
            space = uring.door_sq_space()
            if space == 0 and queued < n:
                # Other threads' requests fill the SQ: publish them to make room, rather than
                # wait for a completion that may be slow to come.
                uring.door_submit()
                self._sq_gate()     # that submit may have released the GIL (a CQ overflow)
                space = uring.door_sq_space()
            # SQEs a signal handler or another thread queued through the thin layer keep their
            # own tracking, before the batch's are added (nothing from here to door_own_end
            # lets another thread run: it would queue SQEs that door_own_end counts as ours).
            uring.door_own_begin()
            own = uring.door_own_ring()
            while queued < n and space:
                sqe = c.ioring_get_sqe(own)     # (door_next_sqe, inline)
                if kind == _BATCH_NOP:
                    c.ioring_prep_nop(sqe)
                elif kind == _BATCH_READ:
                    c.ioring_prep_read(sqe, fd, pins.views[queued].buf, <unsigned>pins.views[queued].len, offs[queued])
                elif kind == _BATCH_WRITE:
                    c.ioring_prep_write(sqe, fd, pins.views[queued].buf, <unsigned>pins.views[queued].len, offs[queued])
                elif kind == _BATCH_READ_FIXED:
                    c.ioring_prep_read_fixed(sqe, fd, pins.views[queued].buf, <unsigned>pins.views[queued].len,
                                             offs[queued], idx[queued])
                else:
                    c.ioring_prep_write_fixed(sqe, fd, pins.views[queued].buf, <unsigned>pins.views[queued].len,
                                              offs[queued], idx[queued])
                sqe.user_data = batch.tag | <uint64_t>queued
                queued += 1
                space -= 1
            batch.queued = queued
            uring.door_own_end()        # the batch pins its own buffers
            # Submit, wait, reap (for everybody): batch results land in batch.
            self._block(-1.0, True)
    except BaseException:
        # Interrupted with requests in flight: their buffers must outlive them. Hand the
        # pins to the ring, released when the last of them completes.
        if batch.completed < batch.queued and pins is not None:
            _leave_pins(uring, pins, batch)
        raise
    finally:
        del self._batches[batch.key]
        if self._rs_bid == batch.id:
            self._rs_bid = 0
            self._rs_batch = None
        uring.door_unhold()
        free(offs)
        free(idx)
    return n if kind == _BATCH_NOP else results


cdef void _leave_pins(io_uring uring, _BatchPins pins, _Batch batch):
    """Keep a batch's buffers pinned by the ring until every batch request in flight completed:
    one door_keep per request, keyed by its user_data."""
    cdef Py_ssize_t i
    for i in range(batch.queued):
        if batch.finished[i]:
            continue
        uring.door_keep(batch.tag | <uint64_t>i, pins)
